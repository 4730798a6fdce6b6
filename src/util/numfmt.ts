/**
 * Number formatting as seen from Lua code running inside nginx.
 *
 * Two flavours exist on the reference (LuaJIT 2.1 + lua-nginx-module):
 *
 *  - `formatNumber`: LuaJIT's `tostring(n)` / `..` concatenation / `string.format("%.14g")`.
 *    LuaJIT has its own "%.14g" formatter: NaN is always `nan`, negative zero is `-0`,
 *    and exact decimal ties are rounded half away from zero
 *    (`tostring(123456789012345)` is `1.2345678901235e+14`).
 *
 *  - `formatNumberC`: what ngx.say / ngx.print / ngx.log write for a number argument.
 *    lua-nginx-module prints values that survive a round trip through a C `int` with
 *    `%d` (so `-0` prints `0`) and everything else with glibc's `%.14g`, which rounds
 *    exact ties half to even (`123456789012345` prints `1.2345678901234e+14`) and
 *    prints the sign of a NaN (`0/0` on x86 is the negative default NaN: `-nan`).
 */

const PRECISION = 14;

/** Integers with |n| below this print the same in %.14g and in JS `String(n)`. */
const FIXED_INT_LIMIT = 1e14;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian → high word at index 1

/** Is the sign bit of `n` set (works for NaN and -0 when the engine keeps the bits)? */
export function signBit(n: number): boolean {
  f64[0] = n;
  return (u32[HI]! & 0x80000000) !== 0;
}

/**
 * Exact check: does the finite positive double `x` equal `digits × 10^exp10` exactly?
 * Used only on the rare tie path, so BigInt cost does not matter.
 */
function equalsDecimal(x: number, digits: string, exp10: number): boolean {
  f64[0] = x;
  const hi = u32[HI]!;
  const lo = u32[1 - HI]!;
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (bexp === 0) {
    e2 = -1074;
  } else {
    mant |= 1n << 52n;
    e2 = bexp - 1075;
  }
  let a = mant; // x = a * 2^e2
  let b = BigInt(digits); // value = b * 10^exp10
  if (e2 > 0) a <<= BigInt(e2);
  else b <<= BigInt(-e2);
  if (exp10 > 0) b *= 10n ** BigInt(exp10);
  else a *= 10n ** BigInt(-exp10);
  return a === b;
}

/**
 * C-style `%.<precision>g` of a finite, non-zero, positive number.
 * `halfEven` selects glibc's rounding of exact ties; otherwise ties go away from zero.
 */
function formatPositiveG(x: number, precision: number, halfEven: boolean): string {
  // toExponential(p-1) yields `precision` correctly rounded significant digits (ties away from zero).
  let s = x.toExponential(precision - 1);
  if (halfEven) {
    const wide = x.toExponential(precision); // one more digit
    const ePos = wide.indexOf('e');
    // wide looks like "d.ddd…d5e±X": a potential tie
    if (wide.charCodeAt(ePos - 1) === 0x35 /* '5' */) {
      const prev = wide.charCodeAt(ePos - 2);
      // (precision 1 has no '.' before the 5, but then the previous char is the digit itself)
      const digitBefore = prev === 0x2e ? wide.charCodeAt(ePos - 3) : prev;
      if ((digitBefore & 1) === 0) {
        const exp = parseInt(wide.slice(ePos + 1), 10);
        const digits = wide.slice(0, ePos).replace('.', '');
        if (equalsDecimal(x, digits, exp - precision)) {
          // exact tie and the kept digit is even: round down, i.e. truncate.
          let mant = wide.slice(0, ePos - 1);
          if (mant.endsWith('.')) mant = mant.slice(0, -1);
          s = mant + wide.slice(ePos);
        }
      }
    }
  }
  const ePos = s.indexOf('e');
  const exp = parseInt(s.slice(ePos + 1), 10);
  // digits without the point
  const digits = ePos > 1 ? s[0] + s.slice(2, ePos) : s.slice(0, ePos);
  if (exp < -4 || exp >= precision) {
    let m = stripZeros(digits);
    m = m.length > 1 ? m[0] + '.' + m.slice(1) : m;
    const ae = exp < 0 ? -exp : exp;
    return m + (exp < 0 ? 'e-' : 'e+') + (ae < 10 ? '0' + ae : String(ae));
  }
  if (exp < 0) {
    return '0.' + '0'.repeat(-exp - 1) + stripZeros(digits);
  }
  const intPart = digits.slice(0, exp + 1);
  const frac = stripZeros(digits.slice(exp + 1), 0);
  return frac.length ? intPart + '.' + frac : intPart;
}

/** Drop trailing '0' digits, keeping at least `min` characters. */
function stripZeros(d: string, min = 1): string {
  let end = d.length;
  while (end > min && d.charCodeAt(end - 1) === 0x30) end--;
  return end === d.length ? d : d.slice(0, end);
}

/**
 * Generic C `%.<precision>g` (precision 1..17 is meaningful; 0 is treated as 1).
 * `halfEven` = glibc tie rounding, otherwise ties round away from zero (LuaJIT).
 * NaN is rendered `nan` / `-nan` according to `negativeNan`.
 */
export function formatG(n: number, precision = PRECISION, halfEven = true, negativeNan = false): string {
  if (precision < 1) precision = 1;
  if (n !== n) return negativeNan ? '-nan' : 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  if (n < 0) return '-' + formatPositiveG(-n, precision, halfEven);
  return formatPositiveG(n, precision, halfEven);
}

/**
 * Fast path: for 1e-4 <= |n| < 1e14 JS prints fixed notation; when that shortest
 * round-trip form has at most 14 significant digits it is exactly what %.14g prints
 * (the exact value is within half an ulp of it, far below half a 14-digit step, so no
 * rounding or tie can differ). Returns null when the slow path is needed.
 */
function shortFixed(n: number): string | null {
  const a = n < 0 ? -n : n;
  if (!(a >= 1e-4 && a < FIXED_INT_LIMIT)) return null;
  const s = String(n);
  let i = n < 0 ? 1 : 0;
  // skip leading "0." and zeros: they are not significant
  if (s.charCodeAt(i) === 0x30) {
    i += 2;
    while (s.charCodeAt(i) === 0x30) i++;
  }
  let sig = 0;
  for (; i < s.length; i++) if (s.charCodeAt(i) !== 0x2e) sig++;
  return sig <= PRECISION ? s : null;
}

/** LuaJIT `tostring(n)` for a Lua number. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n) && n < FIXED_INT_LIMIT && n > -FIXED_INT_LIMIT) {
    return n === 0 && Object.is(n, -0) ? '-0' : String(n);
  }
  if (n !== n) return 'nan';
  return shortFixed(n) ?? formatG(n, PRECISION, false);
}

/**
 * What ngx.say / ngx.print / ngx.log / ngx.location.capture bodies etc. write for a Lua number.
 * `negativeNan` defaults to the sign bit of `n`; pass it explicitly when the NaN came through
 * a path that loses the bit (JS engines canonicalise NaN). On the reference `0/0` is `-nan`
 * and `-(0/0)` is `nan`.
 */
export function formatNumberC(n: number, negativeNan?: boolean): string {
  if ((n | 0) === n) return String(n | 0); // int32 path: `%d`, -0 → "0"
  if (n !== n) return (negativeNan ?? signBit(n)) ? '-nan' : 'nan';
  return shortFixed(n) ?? formatG(n, PRECISION, true);
}

/**
 * Integer formatting (`%d` style) for integral numbers or bigints.
 * Non-integral numbers are truncated toward zero like a C cast; non-finite → "0".
 */
export function formatInteger(n: number | bigint): string {
  if (typeof n === 'bigint') return n.toString();
  if (!Number.isFinite(n)) return '0';
  const t = Math.trunc(n);
  if (t === 0) return '0';
  if (t <= Number.MAX_SAFE_INTEGER && t >= -Number.MAX_SAFE_INTEGER) return String(t);
  return BigInt(t).toString();
}
