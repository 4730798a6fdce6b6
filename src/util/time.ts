/**
 * Time formatting / parsing helpers matching nginx + ngx_lua.
 *
 * - httpTime:   ngx.http_time   "Thu, 26 Nov 2026 18:48:11 GMT"
 * - cookieTime: ngx.cookie_time "Thu, 26-Nov-26 18:48:11 GMT" (4-digit year after 2037)
 * - parseHttpTime: ngx.parse_http_time (RFC 1123, RFC 850, asctime)
 * - localtime / utctime: "yyyy-mm-dd hh:mm:ss"; today: "yyyy-mm-dd" (local)
 * - errlogTime: "yyyy/mm/dd hh:mm:ss" (local), the error-log timestamp
 *
 * nginx's gmtime clamps: negative seconds print as the epoch, anything past
 * 9999-12-31 23:59:59 prints as that; fractions are truncated.
 * The hot formatters cache their result for the current second.
 */

const WEEK = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MDAY = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** 9999-12-31 23:59:59 UTC */
const MAX_TIME = 253402300799;

const P2: string[] = [];
for (let i = 0; i < 100; i++) P2.push(i < 10 ? '0' + i : String(i));

function pad4(n: number): string {
  return n >= 1000 ? String(n) : n >= 100 ? '0' + n : n >= 10 ? '00' + n : '000' + n;
}

/** Broken-down UTC time in the way ngx_gmtime computes it (clamped). */
export interface Tm {
  year: number;
  mon: number; // 1..12
  mday: number;
  hour: number;
  min: number;
  sec: number;
  wday: number; // 0 = Sunday
}

function clampSec(sec: number): number {
  if (!(sec > 0)) return 0; // negative, -0, NaN
  if (sec > MAX_TIME) return MAX_TIME;
  return Math.floor(sec);
}

/** UTC broken-down time, clamped like ngx_gmtime (pure arithmetic, no Date). */
export function gmtime(sec: number): Tm {
  const t = clampSec(sec);
  let days = Math.floor(t / 86400);
  let rem = t - days * 86400;
  const hour = Math.floor(rem / 3600);
  rem -= hour * 3600;
  const min = Math.floor(rem / 60);
  const s = rem - min * 60;
  const wday = (4 + days) % 7; // 1970-01-01 was a Thursday
  // civil-from-days, with the year shifted to start in March
  days += 719468;
  const era = Math.floor(days / 146097);
  const doe = days - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const mday = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const mon = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (mon <= 2 ? 1 : 0);
  return { year, mon, mday, hour, min, sec: s, wday };
}

let httpCacheSec = NaN;
let httpCacheStr = '';

/** ngx.http_time(sec) */
export function httpTime(sec: number): string {
  const t = clampSec(sec);
  if (t === httpCacheSec) return httpCacheStr;
  const tm = gmtime(t);
  const s = `${WEEK[tm.wday]}, ${P2[tm.mday]} ${MONTHS[tm.mon - 1]} ${pad4(tm.year)} ${P2[tm.hour]}:${P2[tm.min]}:${P2[tm.sec]} GMT`;
  httpCacheSec = t;
  httpCacheStr = s;
  return s;
}

/** ngx.cookie_time(sec): two-digit year up to 2037, four digits afterwards. */
export function cookieTime(sec: number): string {
  const tm = gmtime(sec);
  const y = tm.year > 2037 ? String(tm.year) : P2[tm.year % 100];
  return `${WEEK[tm.wday]}, ${P2[tm.mday]}-${MONTHS[tm.mon - 1]}-${y} ${P2[tm.hour]}:${P2[tm.min]}:${P2[tm.sec]} GMT`;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * ngx.parse_http_time: accepts "Tue, 10 Nov 2002 23:50:13" (RFC 1123),
 * "Tuesday, 10-Nov-02 23:50:13" (RFC 850) and "Tue Nov 10 23:50:13 2002" (asctime).
 * The weekday is not checked and anything after the time (zone) is ignored.
 * Returns null where nginx returns NGX_ERROR. Input: latin1 string or Buffer.
 */
export function parseHttpTime(input: string | Uint8Array): number | null {
  const len = input.length;
  const at: (i: number) => number =
    typeof input === 'string'
      ? (i) => (i < len ? input.charCodeAt(i) & 0xff : 0)
      : (i) => (i < len ? input[i]! : 0);
  const RFC822 = 1, RFC850 = 2, ISOC = 3;
  let fmt = 0;
  let p = 0;
  for (; p < len; p++) {
    const c = at(p);
    if (c === 0x2c /* , */) break;
    if (c === 0x20) {
      fmt = ISOC;
      break;
    }
  }
  for (p++; p < len; p++) if (at(p) !== 0x20) break;
  if (len - p < 18) return null;

  let day = 0, year = 0;
  if (fmt !== ISOC) {
    if (!isDigit(at(p)) || !isDigit(at(p + 1))) return null;
    day = (at(p) - 48) * 10 + (at(p + 1) - 48);
    p += 2;
    const c = at(p);
    if (c === 0x20) {
      if (len - p < 18) return null;
      fmt = RFC822;
    } else if (c === 0x2d /* - */) {
      fmt = RFC850;
    } else {
      return null;
    }
    p++;
  }

  let month: number;
  switch (at(p)) {
    case 0x4a: /* J */ month = at(p + 1) === 0x61 /* a */ ? 0 : at(p + 2) === 0x6e /* n */ ? 5 : 6; break;
    case 0x46: /* F */ month = 1; break;
    case 0x4d: /* M */ month = at(p + 2) === 0x72 /* r */ ? 2 : 4; break;
    case 0x41: /* A */ month = at(p + 1) === 0x70 /* p */ ? 3 : 7; break;
    case 0x53: /* S */ month = 8; break;
    case 0x4f: /* O */ month = 9; break;
    case 0x4e: /* N */ month = 10; break;
    case 0x44: /* D */ month = 11; break;
    default: return null;
  }
  p += 3;
  if ((fmt === RFC822 && at(p) !== 0x20) || (fmt === RFC850 && at(p) !== 0x2d)) return null;
  p++;

  const digits = (q: number, n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const c = at(q + i);
      if (!isDigit(c)) return -1;
      v = v * 10 + (c - 48);
    }
    return v;
  };

  if (fmt === RFC822) {
    year = digits(p, 4);
    if (year < 0) return null;
    p += 4;
  } else if (fmt === RFC850) {
    year = digits(p, 2);
    if (year < 0) return null;
    year += year < 70 ? 2000 : 1900;
    p += 2;
  } else {
    if (at(p) === 0x20) p++;
    if (!isDigit(at(p))) return null;
    day = at(p++) - 48;
    if (at(p) !== 0x20) {
      if (!isDigit(at(p))) return null;
      day = day * 10 + (at(p++) - 48);
    }
    if (len - p < 14) return null;
  }

  if (at(p++) !== 0x20) return null;
  const hour = digits(p, 2);
  if (hour < 0) return null;
  p += 2;
  if (at(p++) !== 0x3a) return null;
  const min = digits(p, 2);
  if (min < 0) return null;
  p += 2;
  if (at(p++) !== 0x3a) return null;
  const sec = digits(p, 2);
  if (sec < 0) return null;
  if (fmt === ISOC) {
    p += 2;
    if (at(p++) !== 0x20) return null;
    year = digits(p, 4);
    if (year < 0) return null;
  }

  if (hour > 23 || min > 59 || sec > 59) return null;
  if (day === 29 && month === 1) {
    if ((year & 3) !== 0 || (year % 100 === 0 && year % 400 !== 0)) return null;
  } else if (day > MDAY[month]!) {
    return null;
  }
  return (daysFromCivil(year, month + 1, 1) + day - 1) * 86400 + hour * 3600 + min * 60 + sec;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y -= 1;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/* ---- local / UTC "yyyy-mm-dd hh:mm:ss" ---- */

let localCacheSec = NaN;
let localCacheStr = '';
let utcCacheSec = NaN;
let utcCacheStr = '';
let errlogCacheSec = NaN;
let errlogCacheStr = '';

function localParts(sec: number, dateSep: string, sep: string): string {
  const d = new Date(sec * 1000);
  return (
    pad4(d.getFullYear()) + dateSep + P2[d.getMonth() + 1] + dateSep + P2[d.getDate()] +
    sep + P2[d.getHours()] + ':' + P2[d.getMinutes()] + ':' + P2[d.getSeconds()]
  );
}

/** ngx.localtime(): "yyyy-mm-dd hh:mm:ss" in the local time zone. */
export function localtime(sec: number): string {
  const t = Math.floor(sec);
  if (t === localCacheSec) return localCacheStr;
  localCacheStr = localParts(t, '-', ' ');
  localCacheSec = t;
  return localCacheStr;
}

/** ngx.utctime(): "yyyy-mm-dd hh:mm:ss" in UTC. */
export function utctime(sec: number): string {
  const t = Math.floor(sec);
  if (t === utcCacheSec) return utcCacheStr;
  const tm = gmtime(t);
  utcCacheStr = `${pad4(tm.year)}-${P2[tm.mon]}-${P2[tm.mday]} ${P2[tm.hour]}:${P2[tm.min]}:${P2[tm.sec]}`;
  utcCacheSec = t;
  return utcCacheStr;
}

/** ngx.today(): "yyyy-mm-dd" in the local time zone. */
export function today(sec: number): string {
  return localtime(sec).slice(0, 10);
}

/** Error-log timestamp "yyyy/mm/dd hh:mm:ss" (local) for a time in milliseconds. */
export function errlogTime(ms: number): string {
  const t = Math.floor(ms / 1000);
  if (t === errlogCacheSec) return errlogCacheStr;
  errlogCacheStr = localParts(t, '/', ' ');
  errlogCacheSec = t;
  return errlogCacheStr;
}
