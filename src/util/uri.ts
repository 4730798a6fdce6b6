/**
 * URI escaping and query-string handling as done by ngx.escape_uri, ngx.unescape_uri,
 * ngx.req.get_uri_args / get_post_args and ngx.encode_args. Byte strings throughout.
 */
import { formatNumber } from './numfmt.js';

/**
 * Escape tables for ngx.escape_uri(str, type), type 0..6, as observed on the reference:
 *  0 (uri):        controls, space, `#`, `%`, `?`, 0x7F-0xFF
 *  1 (args):       as 0 plus `+`
 *  2 (component):  everything except ALPHA / DIGIT / `-._~!*'()`  (the default)
 *  3 (html):       controls, space, `"`, `#`, `%`, `'`, 0x7F-0xFF
 *  4 (refresh):    controls, space, `"`, `'`, 0x7F-0xFF
 *  5 (memcached):  controls, space, `%`
 *  6 (mail_auth):  as 5
 */
function buildTable(extra: string, escapeHigh: boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c <= 0x20; c++) t[c] = 1;
  if (escapeHigh) for (let c = 0x7f; c < 256; c++) t[c] = 1;
  for (let i = 0; i < extra.length; i++) t[extra.charCodeAt(i)] = 1;
  return t;
}

function buildComponentTable(): Uint8Array {
  const t = new Uint8Array(256).fill(1);
  const keep = "-._~!*'()";
  for (let c = 0x30; c <= 0x39; c++) t[c] = 0;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 0;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 0;
  for (let i = 0; i < keep.length; i++) t[keep.charCodeAt(i)] = 0;
  return t;
}

const ESCAPE_TABLES: readonly Uint8Array[] = [
  buildTable('#%?', true),
  buildTable('#%?+', true),
  buildComponentTable(),
  buildTable('"#%\'', true),
  buildTable('"\'', true),
  buildTable('%', false),
  buildTable('%', false),
];

export const ESCAPE_URI_TYPES = ESCAPE_TABLES.length;

/** The escape tables one after another (256 bytes, 1 = escaped, per type), for lua/ngx.lua's FFI escape_uri. */
export function escapeTablesBytes(): Buffer {
  return Buffer.concat(ESCAPE_TABLES);
}

const HEX_UPPER = Buffer.from('0123456789ABCDEF', 'latin1');

/**
 * ngx.escape_uri(buf, type). Returns the input Buffer itself when nothing needs escaping.
 * Throws RangeError for a type outside 0..6 (the reference says `"type" 7 out of range`).
 */
export function escapeUri(buf: Buffer, type = 2): Buffer {
  const table = ESCAPE_TABLES[type];
  if (table === undefined || !Number.isInteger(type)) throw new RangeError(`"type" ${type} out of range`);
  const len = buf.length;
  let n = 0;
  for (let i = 0; i < len; i++) n += table[buf[i]!]!;
  if (n === 0) return buf;
  const out = Buffer.allocUnsafe(len + 2 * n);
  let j = 0;
  for (let i = 0; i < len; i++) {
    const c = buf[i]!;
    if (table[c]) {
      out[j++] = 0x25;
      out[j++] = HEX_UPPER[c >> 4]!;
      out[j++] = HEX_UPPER[c & 15]!;
    } else {
      out[j++] = c;
    }
  }
  return out;
}

/** Hex digit value, or -1. */
const HEX_VAL = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX_VAL[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX_VAL[0x41 + c] = 10 + c;
  HEX_VAL[0x61 + c] = 10 + c;
}

/**
 * Decode bytes [start, end) of `src` into `dst` at `at`; returns the new write position.
 * `+` → space, `%XX` (either case) → byte; a `%` not followed by two hex digits is kept
 * literally and decoding resumes right after it (so `%%41` → `%A`, `%4` → `%4`).
 */
function unescapeInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  let j = at;
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    if (c === 0x2b) {
      dst[j++] = 0x20;
    } else if (c === 0x25 && i + 2 < end) {
      const h = HEX_VAL[src[i + 1]!]!;
      const l = HEX_VAL[src[i + 2]!]!;
      if ((h | l) >= 0) {
        dst[j++] = (h << 4) | l;
        i += 2;
      } else {
        dst[j++] = c;
      }
    } else {
      dst[j++] = c;
    }
  }
  return j;
}

function needsUnescape(src: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = src[i];
    if (c === 0x25 || c === 0x2b) return true;
  }
  return false;
}

/** ngx.unescape_uri(buf). Returns the input Buffer itself when it holds no `%` or `+`. */
export function unescapeUri(buf: Buffer): Buffer {
  if (!needsUnescape(buf, 0, buf.length)) return buf;
  const out = Buffer.allocUnsafe(buf.length);
  const n = unescapeInto(buf, 0, buf.length, out, 0);
  return out.subarray(0, n);
}

/** Result of decodeArgs: the pairs in order; `truncated` set when more than `max` `&`-separated parts were present. */
export type DecodedArgs = Array<[Buffer, Buffer | true]> & { truncated?: boolean };

/**
 * Decode a query string / urlencoded body the way ngx.req.get_uri_args(max) and
 * ngx.req.get_post_args(max) do. Pairs are returned in order; the caller folds repeated
 * keys into arrays (`a=1&a=2` → a = {"1","2"}).
 *
 * Observed on the reference:
 *  - `b` (no `=`) gives `true`, `c=` gives "", `d==y` gives "=y";
 *  - parts with an empty key (``, `=x`, `=`) are skipped;
 *  - `+` decodes to a space in keys and values, `%XX` is decoded, bad escapes are kept;
 *  - `truncated` is reported when the number of `&`-separated parts (empty ones included,
 *    so `a&` counts 2) exceeds `max`; at most `max` non-empty pairs are returned.
 *  - max <= 0 means unlimited.
 *
 * The returned Buffers are views into one buffer of the decoded bytes (decodeArgsPacked).
 */
export function decodeArgs(query: Buffer, max = 100): DecodedArgs {
  const p = decodeArgsPacked(query, max);
  const out: DecodedArgs = [];
  let at = 0;
  for (let i = 0; i < p.count; i++) {
    const kn = p.lens[2 * i], vn = p.lens[2 * i + 1];
    const key = p.data.subarray(at, (at += kn));
    if (vn === ARG_TRUE) out.push([key, true]);
    else out.push([key, p.data.subarray(at, (at += vn))]);
  }
  if (p.truncated) out.truncated = true;
  return out;
}

/** a value length in PackedArgs.lens that stands for true (a part without "=") */
export const ARG_TRUE = 0xffffffff;

/** decodeArgs' pairs as pushpairs (native/engine.c) takes them: bytes one after another, lengths beside */
export interface PackedArgs {
  /** keys and values one after another, decoded */
  data: Buffer;
  /** [key length, value length (ARG_TRUE: true)] per pair; shared, valid until the next call */
  lens: Uint32Array;
  count: number;
  truncated: boolean;
}

let packedLens = new Uint32Array(256);

/** decodeArgs without an object per pair: what get_uri_args hands the engine in one call. */
export function decodeArgsPacked(query: Buffer, max = 100): PackedArgs {
  const len = query.length;
  // decoding only shrinks: the input's length is enough for all of the output
  const data = Buffer.allocUnsafe(len);
  let parts = 1;
  for (let i = 0; i < len; i++) if (query[i] === 0x26) parts++;
  if (max <= 0) max = Infinity;
  const truncated = parts > max;
  const need = 2 * Math.min(parts, max);
  if (packedLens.length < need) packedLens = new Uint32Array(need + 64);
  const lens = packedLens;
  let count = 0;
  let at = 0;
  let start = 0;
  while (len > 0 && start <= len && count < max) {
    let amp = query.indexOf(0x26, start);
    if (amp < 0) amp = len;
    if (amp > start) {
      let eq = -1;
      for (let i = start; i < amp; i++) {
        if (query[i] === 0x3d) {
          eq = i;
          break;
        }
      }
      const keyEnd = eq < 0 ? amp : eq;
      // parts with an empty key are skipped: a key that decodes to nothing is empty too
      const kn = keyEnd > start ? unescapeInto(query, start, keyEnd, data, at) - at : 0;
      if (kn > 0) {
        lens[2 * count] = kn;
        at += kn;
        if (eq < 0) lens[2 * count + 1] = ARG_TRUE;
        else {
          const vn = unescapeInto(query, eq + 1, amp, data, at) - at;
          lens[2 * count + 1] = vn;
          at += vn;
        }
        count++;
      }
    }
    start = amp + 1;
  }
  return { data, lens, count, truncated };
}

/** A single value accepted by encodeArgs (false / null / undefined are omitted). */
export type EncodeArgScalar = Buffer | string | number | boolean | null | undefined;
export type EncodeArgValue = EncodeArgScalar | readonly EncodeArgScalar[];

/**
 * ngx.encode_args(tbl). `entries` are the table's key/value pairs in iteration order
 * (string keys only; the caller raises `attempt to use a non-string key in the "args"
 * option table` for others). Strings are latin1 byte strings.
 *
 * Observed on the reference:
 *  - keys and values are escaped with escape_uri type 2 (`%20` for space, not `+`);
 *  - `true` → bare key; `false` → omitted; numbers use tostring (`1e+100` → `1e%2B100`);
 *  - array values repeat the key (`d=1&d=x%20y&d`), `false` elements are omitted,
 *    an empty array yields nothing; pairs are joined by `&` with no stray separators.
 * Other value kinds are the caller's error (`attempt to use <type> as query arg value`).
 */
export function encodeArgs(entries: Iterable<readonly [Buffer | string, EncodeArgValue]>): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  const AMP = Buffer.from('&');
  const EQ = Buffer.from('=');
  const push = (key: Buffer, v: EncodeArgScalar): void => {
    if (v === false || v === null || v === undefined) return;
    if (parts.length) {
      parts.push(AMP);
      total++;
    }
    parts.push(key);
    total += key.length;
    if (v === true) return;
    const raw = typeof v === 'number' ? Buffer.from(formatNumber(v), 'latin1') : typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
    const ev = escapeUri(raw, 2);
    parts.push(EQ, ev);
    total += 1 + ev.length;
  };
  for (const [k, v] of entries) {
    const key = escapeUri(typeof k === 'string' ? Buffer.from(k, 'latin1') : k, 2);
    if (Array.isArray(v)) {
      for (const x of v as readonly EncodeArgScalar[]) push(key, x);
    } else {
      push(key, v as EncodeArgScalar);
    }
  }
  return Buffer.concat(parts, total);
}

/** Error message ngx.encode_args raises for an unsupported value type. */
export function encodeArgsTypeError(luaType: string): string {
  return `attempt to use ${luaType} as query arg value`;
}

/** Error message ngx.encode_args raises for a non-string key. */
export const ENCODE_ARGS_KEY_ERROR = 'attempt to use a non-string key in the "args" option table';
