// nginx's gzip filter at run time: whether a response is compressed (its status, type, length
// and Content-Encoding, then the request's Accept-Encoding, HTTP version, Via and User-Agent),
// the head it then gets (Content-Encoding: gzip last, no Content-Length, a weak ETag, no
// Accept-Ranges; Vary: Accept-Encoding under gzip_vary), and the body's encoder. It runs after
// Lua's header and body filters and the headers module, as in the reference's filter chain.

import { constants, deflateRawSync, gzipSync, type ZlibOptions } from 'node:zlib';
import type { BodyEncoder, RequestCtx } from '../core/request.js';
import type { LocSettings } from '../conf/model.js';
import type { ResponseHead } from './types.js';
import { GZIP_PROXIED } from '../conf/gzip.js';
import { crc32 } from '../util/codec.js';

/** nginx's own member header: no name, no mtime, OS unix */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
/** an empty final block (fixed Huffman, end of block): ends the deflate stream */
const FINAL_BLOCK = Buffer.from([3, 0]);
/** input held before it is compressed without a flush (bounds memory for long bodies) */
const SEGMENT = 64 * 1024;

/**
 * A gzip member built from raw deflate segments. Node's streaming zlib is asynchronous, and the
 * output chain is not; each segment is compressed at once and ends on a byte boundary without
 * the final bit (Z_SYNC_FLUSH), so the segments join into one deflate stream. A segment does
 * not refer back into the previous one, which costs a little ratio at each flush.
 */
class GzipEncoder implements BodyEncoder {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private crc = 0;
  private size = 0;
  private started = false;

  constructor(private readonly opts: ZlibOptions) {}

  write(b: Buffer): Buffer | null {
    this.pending.push(b);
    this.pendingLen += b.length;
    return this.pendingLen >= SEGMENT ? this.deflate() : null;
  }

  flush(): Buffer | null {
    return this.pendingLen > 0 ? this.deflate() : null;
  }

  end(): Buffer {
    const parts: Buffer[] = [];
    if (this.pendingLen > 0) parts.push(this.deflate());
    else if (!this.started) parts.push(HEADER);
    const trailer = Buffer.allocUnsafe(8);
    trailer.writeUInt32LE(this.crc, 0);
    trailer.writeUInt32LE(this.size, 4);
    parts.push(FINAL_BLOCK, trailer);
    return Buffer.concat(parts);
  }

  private deflate(): Buffer {
    const input = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    this.crc = crc32(input, this.crc);
    // ISIZE is the length modulo 2^32
    this.size = (this.size + input.length) >>> 0;
    const out = deflateRawSync(input, this.opts);
    if (this.started) return out;
    this.started = true;
    return Buffer.concat([HEADER, out]);
  }
}

function zlibOptions(s: LocSettings): ZlibOptions {
  return { level: s.gzipCompLevel, windowBits: s.gzipWindowBits, memLevel: s.gzipMemLevel, finishFlush: constants.Z_SYNC_FLUSH };
}

function requestHeader(r: RequestCtx, name: string): string | null {
  const hs = r.req.headers;
  for (let i = 0; i < hs.length; i++) if (hs[i][0].length === name.length && hs[i][0].toLowerCase() === name) return hs[i][1];
  return null;
}

function headIndex(head: ResponseHead, name: string): number {
  const hs = head.headers;
  for (let i = 0; i < hs.length; i++) if (hs[i][0].length === name.length && hs[i][0].toLowerCase() === name) return i;
  return -1;
}

/**
 * Accept-Encoding names gzip with a non-zero quality (nginx's reading: "gzip" at the start or
 * after a comma or space, then optional ";q=" with at most three decimals).
 */
export function acceptsGzip(ae: string): boolean {
  if (ae.length < 4) return false;
  if (ae.startsWith('gzip,')) return true;
  const low = ae.toLowerCase();
  let p = -1;
  for (let from = 0; ;) {
    p = low.indexOf('gzip', from);
    if (p < 0) return false;
    if (p === 0 || ae[p - 1] === ',' || ae[p - 1] === ' ') break;
    from = p + 4;
  }
  let i = p + 4;
  for (; i < ae.length; i++) {
    const c = ae[i];
    if (c === ',') return true;
    if (c === ';') break;
    if (c !== ' ') return false;
  }
  if (i >= ae.length) return true;
  for (i++; i < ae.length; i++) {
    const c = ae[i];
    if (c === 'q' || c === 'Q') break;
    if (c !== ' ') return false;
  }
  if (i >= ae.length) return true;
  i++;
  if (i + 2 > ae.length || ae[i] !== '=') return false;
  return quality(ae, i + 1) > 0;
}

/** the quality value at ae[i] in thousandths' digits as nginx adds them up; 0 when invalid */
function quality(ae: string, i: number): number {
  const c0 = ae[i++];
  if (c0 !== '0' && c0 !== '1') return 0;
  let q = (c0 === '1' ? 1 : 0) * 100;
  if (i === ae.length) return q;
  const c1 = ae[i++];
  if (c1 === ',' || c1 === ' ') return q;
  if (c1 !== '.') return 0;
  let n = 0;
  while (i < ae.length) {
    const c = ae[i++];
    if (c === ',' || c === ' ') break;
    if (c >= '0' && c <= '9') {
      q += c.charCodeAt(0) - 48;
      n++;
      continue;
    }
    return 0;
  }
  return q > 100 || n > 3 ? 0 : q;
}

/** nginx's msie6 flag: MSIE 4.x, 5.x, and 6.x without SV1, not Opera */
function isMsie6(ua: string): boolean {
  const m = ua.indexOf('MSIE ');
  if (m < 0 || m + 7 >= ua.length || ua.includes('Opera')) return false;
  if (ua[m + 6] !== '.') return false;
  const v = ua[m + 5];
  return v === '4' || v === '5' || (v === '6' && !ua.includes('SV1', m + 8));
}

function ccHas(v: string, word: string): boolean {
  return new RegExp(`(?:^|[ ,;])${word}(?:$|[ ,;=])`, 'i').test(v);
}

/** gzip_proxied for a request that came through a proxy (has Via) */
function proxiedOk(r: RequestCtx, p: number, head: ResponseHead): boolean {
  if (p & GZIP_PROXIED.off) return false;
  if (p & GZIP_PROXIED.any) return true;
  if (p & GZIP_PROXIED.auth && requestHeader(r, 'authorization') !== null) return true;
  const ei = headIndex(head, 'expires');
  if (ei >= 0) {
    if (!(p & GZIP_PROXIED.expired)) return false;
    const t = Date.parse(head.headers[ei][1]);
    return !Number.isNaN(t) && t < Math.floor(Date.now() / 1000) * 1000;
  }
  const ci = headIndex(head, 'cache-control');
  if (ci >= 0) {
    const cc = head.headers.filter(([n]) => n.toLowerCase() === 'cache-control').map(([, v]) => v).join(',');
    return (!!(p & GZIP_PROXIED['no-cache']) && ccHas(cc, 'no-cache')) ||
      (!!(p & GZIP_PROXIED['no-store']) && ccHas(cc, 'no-store')) ||
      (!!(p & GZIP_PROXIED.private) && ccHas(cc, 'private'));
  }
  if (p & GZIP_PROXIED.no_last_modified && (head.lastModified !== undefined || headIndex(head, 'last-modified') >= 0)) return false;
  if (p & GZIP_PROXIED.no_etag && headIndex(head, 'etag') >= 0) return false;
  return true;
}

/** nginx's ngx_http_gzip_ok: what the request allows */
function requestOk(r: RequestCtx, s: LocSettings, head: ResponseHead): boolean {
  const ae = requestHeader(r, 'accept-encoding');
  if (ae === null || !acceptsGzip(ae)) return false;
  const ua = requestHeader(r, 'user-agent');
  if (s.gzipDisableMsie6 && ua !== null && isMsie6(ua)) return false;
  if (r.req.version < s.gzipHttpVersion) return false;
  if (requestHeader(r, 'via') !== null && !proxiedOk(r, s.gzipProxied, head)) return false;
  if (s.gzipDisable && ua !== null) {
    for (const re of s.gzipDisable) if (re.test(ua)) return false;
  }
  return true;
}

/**
 * The gzip header filter on a head about to be written: false when the body goes out as it
 * is. `headerOnly`: a HEAD request whose head ngx_lua sends (ngx_lua marks it header-only
 * before the filters run, so nginx's filter leaves it alone).
 */
function filterHead(r: RequestCtx, s: LocSettings, head: ResponseHead): boolean {
  const st = head.status;
  if (st !== 200 && st !== 403 && st !== 404) return false;
  const ce = headIndex(head, 'content-encoding');
  if (ce >= 0 && head.headers[ce][1] !== '') return false;
  const cl = head.contentLength ?? -1;
  if (cl !== -1 && cl < s.gzipMinLength) return false;
  if (s.gzipTypes !== '*') {
    const ct = head.contentType;
    if (!ct) return false;
    const semi = ct.indexOf(';');
    if (!s.gzipTypes.has((semi < 0 ? ct : ct.slice(0, semi)).toLowerCase())) return false;
  }
  // from here on the response varies with Accept-Encoding, compressed or not
  if (s.gzipVary) head.headers.unshift(['Vary', 'Accept-Encoding']);
  if (!requestOk(r, s, head)) return false;
  head.headers.push(['Content-Encoding', 'gzip']);
  head.contentLength = -1;
  const ar = headIndex(head, 'accept-ranges');
  if (ar >= 0) head.headers.splice(ar, 1);
  const et = headIndex(head, 'etag');
  if (et >= 0) {
    const v = head.headers[et][1];
    // a strong ETag becomes weak; one that is not a quoted string is dropped
    if (v.startsWith('"')) head.headers[et] = [head.headers[et][0], 'W/' + v];
    else if (!(v.length > 2 && v.startsWith('W/'))) head.headers.splice(et, 1);
  }
  return true;
}

function applies(r: RequestCtx): LocSettings | null {
  const s = r.loc?.settings ?? r.server.settings;
  // subrequests are never compressed (only the main request's output reaches the client)
  return s.gzip && !r.isSubrequest ? s : null;
}

/** The head of a response built through the output chain: may install the gzip encoder. */
export function gzipHead(r: RequestCtx, head: ResponseHead, luaHead: boolean): void {
  const s = applies(r);
  if (!s || (luaHead && r.req.method === 'HEAD')) return;
  if (filterHead(r, s, head)) r.encoder = new GzipEncoder(zlibOptions(s));
}

/** For nginx's built-in error pages: the filter their head and page go through, if any. */
export function gzipPageFilter(r: RequestCtx): ((head: ResponseHead, page: Buffer | null) => Buffer | null) | undefined {
  const s = applies(r);
  if (!s) return undefined;
  return (head, page) => (filterHead(r, s, head) ? gzipSync(page ?? Buffer.alloc(0), { level: s.gzipCompLevel, windowBits: s.gzipWindowBits, memLevel: s.gzipMemLevel }) : page);
}

/**
 * Whether a 200 with this type and length would be compressed: nginx's range filter comes
 * after gzip's, which turns ranges off for what it compresses.
 */
export function gzipWanted(r: RequestCtx, contentType: string | null, contentLength: number): boolean {
  const s = applies(r);
  return s !== null && filterHead(r, s, { status: 200, contentType, contentLength, headers: r.headersOut.list.slice() });
}
