/**
 * Binary codecs behind ngx.encode_base64 / decode_base64, ngx.base64 (url variant),
 * ngx.md5 / md5_bin / sha1_bin, ngx.crc32_short / crc32_long and ngx.hmac_sha1.
 */
import { createHash, createHmac } from 'node:crypto';
import * as zlib from 'node:zlib';

/** ngx.encode_base64(buf, noPadding) */
export function encodeBase64(buf: Buffer, noPadding = false): Buffer {
  let s = buf.toString('base64');
  if (noPadding) {
    let end = s.length;
    while (end > 0 && s.charCodeAt(end - 1) === 0x3d) end--;
    s = s.slice(0, end);
  }
  return Buffer.from(s, 'latin1');
}

/** ngx.base64.encode_base64url(buf): url alphabet, never padded. */
export function encodeBase64url(buf: Buffer): Buffer {
  return Buffer.from(buf.toString('base64url'), 'latin1');
}

function makeAlphabet(chars: string): Int8Array {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 64; i++) t[chars.charCodeAt(i)] = i;
  return t;
}
const STD = makeAlphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const URL = makeAlphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

/**
 * nginx's base64 decoding rules (observed on the reference):
 *  - the input is read up to the first `=`; everything from there on is ignored
 *    (`YQ==YQ==` → "a", `YQ=a` → "a", `YQ==\n` → "a", `====` → "");
 *  - any byte before that which is not in the alphabet (space, newline, the other
 *    alphabet's `+/` or `-_`) makes the whole input invalid → null;
 *  - padding is optional (`YQ` → "a"), but a length ≡ 1 (mod 4) is invalid (`Y`, `Y===`);
 *  - unused low bits of the last character are not checked (`YR==` → "a").
 */
function decodeWith(buf: Uint8Array, table: Int8Array): Buffer | null {
  let len = 0;
  const n = buf.length;
  for (; len < n; len++) {
    const c = buf[len]!;
    if (c === 0x3d) break;
    if (table[c]! < 0) return null;
  }
  if (len % 4 === 1) return null;
  const out = Buffer.allocUnsafe(Math.floor((len * 3) / 4));
  let j = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const v = (table[buf[i]!]! << 18) | (table[buf[i + 1]!]! << 12) | (table[buf[i + 2]!]! << 6) | table[buf[i + 3]!]!;
    out[j++] = v >>> 16;
    out[j++] = (v >>> 8) & 0xff;
    out[j++] = v & 0xff;
  }
  const rest = len - i;
  if (rest >= 2) {
    const v = (table[buf[i]!]! << 18) | (table[buf[i + 1]!]! << 12) | (rest === 3 ? table[buf[i + 2]!]! << 6 : 0);
    out[j++] = v >>> 16;
    if (rest === 3) out[j++] = (v >>> 8) & 0xff;
  }
  return j === out.length ? out : out.subarray(0, j);
}

/** ngx.decode_base64(buf): null (Lua nil) on invalid input. */
export function decodeBase64(buf: Uint8Array): Buffer | null {
  return decodeWith(buf, STD);
}

/** ngx.base64.decode_base64url(buf): null on invalid input (same rules, url alphabet). */
export function decodeBase64url(buf: Uint8Array): Buffer | null {
  return decodeWith(buf, URL);
}

/** ngx.md5(buf): 32 lowercase hex digits (as a latin1 Buffer). */
export function md5Hex(buf: Uint8Array): Buffer {
  return Buffer.from(createHash('md5').update(buf).digest('hex'), 'latin1');
}

/** ngx.md5_bin(buf): 16 raw bytes. */
export function md5Bin(buf: Uint8Array): Buffer {
  return createHash('md5').update(buf).digest();
}

/** ngx.sha1_bin(buf): 20 raw bytes. */
export function sha1Bin(buf: Uint8Array): Buffer {
  return createHash('sha1').update(buf).digest();
}

/** ngx.hmac_sha1(key, data): 20 raw bytes. */
export function hmacSha1(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha1', key).update(data).digest();
}

let CRC_TABLE: Uint32Array | undefined;

function crc32Table(buf: Uint8Array, prev: number): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let crc = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) crc = CRC_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const zcrc = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Standard CRC-32 (IEEE, as zlib) as an unsigned number; `prev` continues an earlier one. */
export function crc32(buf: Uint8Array, prev = 0): number {
  return zcrc ? zcrc(buf, prev) >>> 0 : crc32Table(buf, prev);
}

/**
 * ngx.crc32_short(buf). nginx's short/long variants differ only in their lookup table
 * size (tuned for short vs long inputs); the result is the same standard CRC-32,
 * e.g. "hello" → 907060870 for both.
 */
export function crc32Short(buf: Uint8Array): number {
  return crc32(buf);
}

/** ngx.crc32_long(buf): same value as crc32Short. */
export function crc32Long(buf: Uint8Array): number {
  return crc32(buf);
}
