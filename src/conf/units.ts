// nginx value syntaxes: times (`10s`, `500ms`, `1h 30m`, bare = seconds) and sizes (`8k`, `1m`).

const TIME_UNITS: Record<string, number> = {
  y: 365 * 86400_000,
  M: 30 * 86400_000,
  w: 7 * 86400_000,
  d: 86400_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const TIME_ORDER = ['y', 'M', 'w', 'd', 'h', 'm', 's', 'ms'];

/** Parse an nginx time into milliseconds; null when invalid. */
export function parseTime(v: string): number | null {
  const re = /\s*(\d+)(ms|[yMwdhms])?\s*/y;
  let total = 0;
  let last = -1;
  let pos = 0;
  let any = false;
  while (pos < v.length) {
    re.lastIndex = pos;
    const m = re.exec(v);
    if (!m || m[0].length === 0) return null;
    any = true;
    const unit = m[2] ?? 's';
    const rank = TIME_ORDER.indexOf(unit);
    if (rank <= last) return null; // units must decrease, as nginx wants
    if (m[2] === undefined && re.lastIndex < v.length) return null; // bare number only at the end
    last = rank;
    total += Number(m[1]) * TIME_UNITS[unit];
    pos = re.lastIndex;
  }
  if (!any || !Number.isSafeInteger(total)) return null;
  return total;
}

/** Parse an nginx size (`k`/`m`, and `g` when allowOffset) into bytes; null when invalid. */
export function parseSize(v: string, allowOffset = false): number | null {
  const m = /^(\d+)([kKmMgG]?)$/.exec(v);
  if (!m) return null;
  const u = m[2].toLowerCase();
  if (u === 'g' && !allowOffset) return null;
  const mult = u === 'k' ? 1024 : u === 'm' ? 1024 * 1024 : u === 'g' ? 1024 * 1024 * 1024 : 1;
  const n = Number(m[1]) * mult;
  return Number.isSafeInteger(n) ? n : null;
}

/** Parse a non-negative decimal integer; null when invalid. */
export function parseNumber(v: string): number | null {
  if (!/^\d+$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}
