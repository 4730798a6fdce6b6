// Incremental HTTP/1.x request-head parser.
//
// Work is split in two steps so that the hot path touches each byte as little as possible:
//  1. `scan()` looks for the end of the head with native `indexOf(LF)` and enforces the
//     line-size limits while data trickles in (it remembers where it stopped);
//  2. `parse()` runs once on the complete head: it takes one latin1 string of it and does
//     the request line and header lines with plain string operations.
// Both report errors as HTTP statuses (400, 414, 494 = "Request Header Or Cookie Too Large",
// 501, 505) with a short reason for the error log, the way nginx's parser reports them.

import type { HttpRequest } from './types.js';

export interface ParserLimits {
  clientHeaderBufferSize: number;
  largeClientHeaderBuffers: { num: number; size: number };
}

/** What parse() produces: the request fields the parser knows, plus a few helper flags. */
export interface ParsedHead {
  method: string;
  requestUri: string;
  uri: string;
  args: string;
  version: number;
  protocol: string;
  headers: Array<[string, string]>;
  rawHeader: Buffer;
  host: string;
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  /** `Expect: 100-continue` was sent (HTTP/1.1) */
  expectContinue: boolean;
  userAgent: string;
  /** header lines ignored as invalid (nginx logs each at info), with the Host value known then */
  invalidHeaders: Array<{ line: string; host: string }>;
}

const LF = 10;
const CR = 13;

export class HeadParser {
  /** status of the last error (0 when none) */
  errorStatus = 0;
  /** reason of the last error, worded like nginx's error log */
  errorMsg = '';
  /** for the error-log context of the last error: the request line ('' before it was parsed) */
  errorRequest = '';
  /** ... and the Host header value seen before the error ('' when none) */
  errorHost = '';

  private readonly lineMax: number;
  private readonly totalMax: number;
  // scan state, relative to the head's first byte
  private pos = 0;
  private lineStart = 0;
  private firstLine = true;

  constructor(limits: ParserLimits) {
    const large = limits.largeClientHeaderBuffers;
    this.lineMax = Math.max(large.size, limits.clientHeaderBufferSize);
    this.totalMax = limits.clientHeaderBufferSize + Math.max(1, large.num) * large.size;
  }

  /** Forget any partial scan (call before scanning a new request). */
  reset(): void {
    this.pos = 0;
    this.lineStart = 0;
    this.firstLine = true;
    this.errorStatus = 0;
    this.errorMsg = '';
    this.errorRequest = '';
    this.errorHost = '';
  }

  /**
   * Look for the end of the head in `buf[start..]`. The bytes already scanned must still be
   * at the same offsets relative to `start` on later calls (append-only).
   * Returns the head length (> 0) once complete, 0 when more data is needed, -1 on error
   * (see errorStatus/errorMsg).
   */
  scan(buf: Buffer, start: number): number {
    const end = buf.length;
    let pos = start + this.pos;
    let lineStart = start + this.lineStart;
    for (;;) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        this.pos = end - start;
        this.lineStart = lineStart - start;
        // the line in progress may already be over the limit
        if (end - lineStart > this.lineMax) return this.tooLarge();
        if (end - start > this.totalMax) return this.fail(494, 'client sent too large request or too long header line');
        return 0;
      }
      const lineLen = lf + 1 - lineStart;
      if (lineLen > this.lineMax) return this.tooLarge();
      if (this.firstLine) {
        this.firstLine = false;
        // HTTP/0.9: a request line without a version ends the head
        if (!hasVersion(buf, lineStart, lf)) return lf + 1 - start;
      } else if (lf === lineStart || (lf === lineStart + 1 && buf[lineStart] === CR)) {
        return lf + 1 - start;
      }
      lineStart = lf + 1;
      pos = lineStart;
      if (lineStart - start > this.totalMax) return this.fail(494, 'client sent too large request or too long header line');
    }
  }

  private tooLarge(): number {
    if (this.firstLine) return this.fail(414, 'client sent too long URI');
    return this.fail(494, 'client sent too long header line');
  }

  private fail(status: number, msg: string): number {
    this.errorStatus = status;
    this.errorMsg = msg;
    return -1;
  }

  /**
   * Parse a complete head `buf[start, start+len)` (as found by scan()). Returns null on error
   * (errorStatus/errorMsg say why).
   */
  parse(buf: Buffer, start: number, len: number): ParsedHead | null {
    const rawHeader = buf.subarray(start, start + len);
    const s = rawHeader.toString('latin1');
    let eol = s.indexOf('\n');
    const lineEnd = eol > 0 && s.charCodeAt(eol - 1) === CR ? eol - 1 : eol;
    this.errorRequest = '';
    this.errorHost = '';

    // ---- request line: METHOD SP+ target [SP+ HTTP/x.y] SP* ----
    let i = 0;
    while (i < lineEnd) {
      const c = s.charCodeAt(i);
      if ((c >= 65 && c <= 90) || c === 95 || c === 45) i++;
      else break;
    }
    if (i === 0 || i >= lineEnd || s.charCodeAt(i) !== 32) return this.bad('client sent invalid method');
    const method = s.slice(0, i);
    while (i < lineEnd && s.charCodeAt(i) === 32) i++;
    const tStart = i;
    while (i < lineEnd) {
      const c = s.charCodeAt(i);
      if (c === 32) break;
      if (c < 33 || c === 127) return this.bad('client sent invalid request');
      i++;
    }
    const target = s.slice(tStart, i);
    if (target.length === 0) return this.bad('client sent invalid request');
    while (i < lineEnd && s.charCodeAt(i) === 32) i++;

    let version: number;
    let protocol: string;
    if (i === lineEnd) {
      if (method !== 'GET') return this.bad('client sent invalid request');
      version = 9;
      protocol = '';
    } else {
      if (!s.startsWith('HTTP/', i)) return this.bad('client sent invalid request');
      const pStart = i;
      i += 5;
      let major = 0;
      let digits = 0;
      let c = s.charCodeAt(i);
      if (c < 49 || c > 57) return this.bad('client sent invalid request');
      while (i < lineEnd && (c = s.charCodeAt(i)) >= 48 && c <= 57) { major = major * 10 + c - 48; i++; digits++; }
      if (digits > 2 || s.charCodeAt(i) !== 46) return this.bad('client sent invalid request');
      i++;
      let minor = 0;
      digits = 0;
      while (i < lineEnd && (c = s.charCodeAt(i)) >= 48 && c <= 57) { minor = minor * 10 + c - 48; i++; digits++; }
      if (digits === 0 || minor > 999) return this.bad('client sent invalid request');
      protocol = s.slice(pStart, i);
      while (i < lineEnd && s.charCodeAt(i) === 32) i++;
      if (i !== lineEnd) return this.bad('client sent invalid request');
      if (major > 1) {
        this.errorStatus = 505;
        this.errorMsg = 'client sent invalid version';
        return null;
      }
      version = minor === 0 ? 10 : 11;
    }

    this.errorRequest = s.slice(0, lineEnd);

    // ---- target: origin-form or absolute-form ----
    let path: string;
    let args = '';
    let lineHost = '';
    const hashAt = target.indexOf('#');
    let body = hashAt >= 0 ? target.slice(0, hashAt) : target;
    if (body.charCodeAt(0) !== 47) {
      const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?]*)/.exec(body);
      if (m === null) return this.bad('client sent invalid request');
      const h = validateHost(m[1]);
      if (h === null || h === '') return this.bad('client sent invalid host in request line');
      lineHost = h;
      body = body.slice(m[0].length);
      if (body.charCodeAt(0) !== 47) body = '/' + body;
    }
    const q = body.indexOf('?');
    if (q >= 0) {
      path = body.slice(0, q);
      args = body.slice(q + 1);
    } else {
      path = body;
    }
    const uri = normalizeUri(path);
    if (uri === null) return this.bad('client sent invalid request');

    // ---- header lines ----
    const headers: Array<[string, string]> = [];
    let host = '';
    let haveHost = false;
    let contentLength = -1;
    let haveCl = false;
    let te: string | null = null;
    let conn = '';
    let expectContinue = false;
    let userAgent = '';
    const invalidHeaders: Array<{ line: string; host: string }> = [];
    // nginx: 'client sent invalid header line: "<line up to the bad byte>\xHH..."'
    const badByte = (from: number, at: number): null =>
      this.bad(`client sent invalid header line: "${s.slice(from, at)}\\x${s.charCodeAt(at).toString(16).padStart(2, '0')}..."`);
    if (version !== 9) {
      let ls = eol + 1;
      for (;;) {
        eol = s.indexOf('\n', ls);
        if (eol < 0) break;
        let le = eol;
        if (le > ls && s.charCodeAt(le - 1) === CR) le--;
        if (le === ls) break; // the empty line
        // name
        const nameStart = ls;
        let j = ls;
        let invalid = false;
        for (; j < le; j++) {
          const c = s.charCodeAt(j);
          if (c === 58) break;
          if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45) continue;
          if (c <= 32 || c === 127) return badByte(nameStart, j);
          invalid = true; // '_' and other odd characters: the header is ignored, like nginx
        }
        if (j === ls) return badByte(nameStart, j);
        // a name running to the end of the line is a header with an empty value, as in nginx
        let vs = j === le ? le : j + 1;
        while (vs < le && (s.charCodeAt(vs) === 32 || s.charCodeAt(vs) === 9)) vs++;
        let ve = le;
        while (ve > vs && (s.charCodeAt(ve - 1) === 32 || s.charCodeAt(ve - 1) === 9)) ve--;
        for (let k = vs; k < ve; k++) {
          const c = s.charCodeAt(k);
          if (c === 0 || c === CR) return badByte(nameStart, k);
        }
        ls = eol + 1;
        if (invalid) {
          invalidHeaders.push({ line: s.slice(nameStart, ve), host: this.errorHost });
          continue;
        }
        const hname = s.slice(nameStart, j);
        const value = s.slice(vs, ve);
        headers.push([hname, value]);
        const nl = hname.length;
        if (nl === 4) {
          if (hname.toLowerCase() === 'host') {
            if (haveHost) return this.bad('client sent duplicate header line: "Host"');
            haveHost = true;
            this.errorHost = value;
            const h = validateHost(value);
            if (h === null || h === '') return this.bad('client sent invalid host header');
            host = h;
          }
        } else if (nl === 10) {
          const lower = hname.toLowerCase();
          if (lower === 'connection') conn = value.toLowerCase();
          else if (lower === 'user-agent') userAgent = value;
        } else if (nl === 14) {
          if (hname.toLowerCase() === 'content-length') {
            if (haveCl) return this.bad('client sent duplicate header line: "Content-Length"');
            haveCl = true;
            contentLength = parseLength(value);
            if (contentLength < 0) return this.bad('client sent invalid "Content-Length" header');
          }
        } else if (nl === 17) {
          if (hname.toLowerCase() === 'transfer-encoding') {
            if (te !== null) return this.bad('client sent duplicate header line: "Transfer-Encoding"');
            te = value;
          }
        } else if (nl === 6) {
          if (hname.toLowerCase() === 'expect' && value.toLowerCase() === '100-continue') expectContinue = true;
        }
      }
    }

    if (lineHost !== '') host = lineHost;
    if (!haveHost && version === 11) return this.bad('client sent HTTP/1.1 request without "Host" header');
    let chunked = false;
    if (te !== null) {
      if (version < 11) return this.bad('client sent HTTP/1.0 request with "Transfer-Encoding" header');
      if (haveCl) return this.bad('client sent "Content-Length" and "Transfer-Encoding" headers at the same time');
      if (te.length === 7 && te.toLowerCase() === 'chunked') {
        chunked = true;
      } else {
        this.errorStatus = 501;
        this.errorMsg = `client sent unknown "Transfer-Encoding": "${te}"`;
        return null;
      }
    }
    let keepAlive: boolean;
    if (version === 11) keepAlive = !conn.includes('close');
    else if (version === 10) keepAlive = !conn.includes('close') && conn.includes('keep-alive');
    else keepAlive = false;

    return {
      method,
      requestUri: target,
      uri,
      args,
      version,
      protocol,
      headers,
      rawHeader,
      host,
      contentLength,
      chunked,
      keepAlive,
      expectContinue,
      userAgent,
      invalidHeaders,
    };
  }

  private bad(msg: string): null {
    this.errorStatus = 400;
    this.errorMsg = msg;
    return null;
  }
}

/** whether the request line buf[from, lf) has a third token (the protocol version) */
function hasVersion(buf: Buffer, from: number, lf: number): boolean {
  let i = from;
  let end = lf;
  if (end > from && buf[end - 1] === CR) end--;
  while (end > i && buf[end - 1] === 32) end--;
  // method
  while (i < end && buf[i] !== 32) i++;
  while (i < end && buf[i] === 32) i++;
  // target
  while (i < end && buf[i] !== 32) i++;
  return i < end;
}

/** non-negative decimal Content-Length, -1 when invalid */
export function parseLength(v: string): number {
  const n = v.length;
  if (n === 0 || n > 15) return n > 15 && /^[0-9]+$/.test(v) ? parseBig(v) : -1;
  let r = 0;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    r = r * 10 + c;
  }
  return r;
}

function parseBig(v: string): number {
  const r = Number(v);
  return Number.isSafeInteger(r) ? r : -1;
}

/**
 * Validate a Host value the way nginx does and return it lowercased without port and
 * trailing dot; null when invalid.
 */
export function validateHost(h: string): string | null {
  let dotAt = -2;
  let portAt = -1;
  let inBracket = false;
  const n = h.length;
  for (let i = 0; i < n; i++) {
    const c = h.charCodeAt(i);
    switch (c) {
      case 46: // '.'
        if (dotAt === i - 1) return null;
        dotAt = i;
        break;
      case 58: // ':'
        if (!inBracket) portAt = i;
        break;
      case 91: // '['
        if (i === 0) inBracket = true;
        break;
      case 93: // ']'
        inBracket = false;
        portAt = -1;
        break;
      case 47: // '/'
      case 0:
        return null;
      default:
        if (c < 32 || c === 127) return null;
        break;
    }
  }
  let end = portAt >= 0 ? portAt : n;
  if (end > 0 && dotAt === end - 1) end--;
  if (end === 0) return '';
  const r = end === n ? h : h.slice(0, end);
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    if (c >= 65 && c <= 90) return r.toLowerCase();
  }
  return r;
}

/**
 * nginx's $uri from the raw path: `%XX` decoded, `//` merged, `.` and `..` segments resolved.
 * Returns null when the path is invalid (bad escape, NUL, `..` above the root).
 */
export function normalizeUri(path: string): string | null {
  const n = path.length;
  let simple = true;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c === 37) { simple = false; break; }
    if (c === 47 && i + 1 < n) {
      const d = path.charCodeAt(i + 1);
      if (d === 47 || d === 46) { simple = false; break; }
    }
  }
  if (simple) return path;

  let decoded = path;
  if (path.indexOf('%') >= 0) {
    let out = '';
    let last = 0;
    for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i)) {
      if (i + 2 >= n) return null;
      const hi = hexVal(path.charCodeAt(i + 1));
      const lo = hexVal(path.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return null;
      const b = (hi << 4) | lo;
      if (b === 0) return null;
      out += path.slice(last, i) + String.fromCharCode(b);
      i += 3;
      last = i;
    }
    decoded = out + path.slice(last);
  }

  const segs = decoded.split('/');
  const out: string[] = [];
  let trailing = false;
  const last = segs.length - 1;
  for (let i = 1; i <= last; i++) {
    const seg = segs[i];
    if (seg === '' || seg === '.') {
      if (i === last) trailing = true;
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
      if (i === last) trailing = true;
      continue;
    }
    out.push(seg);
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailing ? '/' : '');
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 0x20;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Everything in a ParsedHead plus the connection addresses makes an HttpRequest. */
export function toRequest(
  h: ParsedHead,
  startTime: number,
  remoteAddr: string,
  remotePort: number,
  serverAddr: string,
  serverPort: number,
): HttpRequest {
  return {
    method: h.method,
    requestUri: h.requestUri,
    uri: h.uri,
    args: h.args,
    version: h.version,
    protocol: h.protocol,
    headers: h.headers,
    rawHeader: h.rawHeader,
    host: h.host,
    contentLength: h.contentLength,
    chunked: h.chunked,
    keepAlive: h.keepAlive,
    startTime,
    remoteAddr,
    remotePort,
    serverAddr,
    serverPort,
  };
}
