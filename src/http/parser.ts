// Incremental HTTP/1.x request-head parser.
//
// `scan()` runs a byte-level state machine over the head as it arrives, the way nginx's
// ngx_http_parse_request_line / ngx_http_parse_header_line do, remembering its state between
// calls. It therefore rejects a request at its first bad byte, even when the rest of the head
// never comes, and it applies the checks nginx makes as each part completes: the URI and the
// request-line host when the request line ends, Host and the unique headers as each header
// line ends, the header count, and the Content-Length / Transfer-Encoding / method checks
// once the empty line arrives. It also models nginx's header buffers (one of
// client_header_buffer_size, then up to N of large_client_header_buffers, each holding whole
// lines) to find 414 / 494 exactly where nginx does.
// `scan()` only records offsets; `parse()` then builds the strings from one latin1 copy of the
// complete head, so a valid request costs one pass over its bytes plus the slicing.
// Errors are HTTP statuses (400, 405, 414, 494 = "Request Header Or Cookie Too Large", 501,
// 505) with nginx's error-log wording and the context nginx logs them with.

import { createRequire } from 'node:module';
import type { HttpRequest } from './types.js';

interface ScanAddon {
  headscaninit(out: Int32Array): void;
  headscansize(): number;
  headscan(buf: Buffer, start: number, limit: number, maxHeaders: number): number;
}
const A = createRequire(import.meta.url)('../../../build/Release/ngxlua_engine.node') as ScanAddon;
/** what native/headscan.c found in the last head it took (its O_* layout) */
const COMMON = new Int32Array(A.headscansize());
A.headscaninit(COMMON);
const O_METHOD_END = 0;
const O_TARGET_END = 1;
const O_PROTO = 2;
const O_LINE_END = 3;
const O_MINOR = 4;
const O_NHDR = 5;
const O_REFERER = 6;
const O_AGENT = 7;
const O_QUERY = 8;
const O_HOST_END = 9;
const O_UNIQUE = 10;
const O_HDR = 20;
/** NGXLUA_NOHEADSCAN=1: every head goes through the state machine (for A/B runs) */
const HEADSCAN = process.env.NGXLUA_NOHEADSCAN !== '1';

export interface ParserLimits {
  clientHeaderBufferSize: number;
  largeClientHeaderBuffers: { num: number; size: number };
  /** max_headers (Debian's nginx backports it; default 1000) */
  maxHeaders?: number;
}

/**
 * What parse() produces: the request (its time and addresses left for toRequest to fill), plus a
 * few helper flags.
 */
export interface ParsedHead extends HttpRequest {
  /** `Expect: 100-continue` was sent (HTTP/1.1) */
  expectContinue: boolean;
  userAgent: string;
  /** header lines ignored as invalid (nginx logs each at info), with the context known then */
  invalidHeaders: InvalidHeader[];
}

export interface InvalidHeader {
  line: string;
  host: string;
  referer: string;
}

const LF = 10;
const CR = 13;
const SP = 32;

/** nginx's NGX_MAX_ERROR_STR - 300: how much of a too long header line it logs */
const LOGGED_LINE_MAX = 1748;

// ---- byte classes (one table lookup per byte on the hot paths) ----
/** header-name bytes nginx folds to lower case (letters, digits, '-') */
const NAME_CH = new Uint8Array(256);
/** bytes that end a run of plain header-value bytes: SP, CR, LF, NUL */
const VALUE_STOP = new Uint8Array(256);
/** bytes of a URI past its first character: anything but controls, SP and DEL */
const URI_CH = new Uint8Array(256);
/** request-line host name bytes */
const HOST_CH = new Uint8Array(256);
/** IP-literal bytes inside [...] besides ']': unreserved and sub-delims, ':' */
const LITERAL_CH = new Uint8Array(256);
/** method bytes */
const METHOD_CH = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  const digit = c >= 48 && c <= 57;
  if (letter || digit || c === 45) NAME_CH[c] = 1;
  if (c === SP || c === CR || c === LF || c === 0) VALUE_STOP[c] = 1;
  if (c > SP && c !== 127) URI_CH[c] = 1;
  if (letter || digit || c === 46 || c === 45) HOST_CH[c] = 1;
  if (letter || digit || ":-._~!$&'()*+,;=".includes(String.fromCharCode(c))) LITERAL_CH[c] = 1;
  if ((c >= 65 && c <= 90) || c === 95 || c === 45) METHOD_CH[c] = 1;
}

// ---- states ----
// request line
const RL_START = 0;
const RL_METHOD = 1;
const RL_SP_BEFORE_URI = 2;
const RL_SCHEMA = 3;
const RL_SCHEMA_SLASH = 4;
const RL_SCHEMA_SLASH2 = 5;
const RL_HOST_START = 6;
const RL_HOST = 7;
const RL_HOST_LITERAL = 8;
const RL_HOST_END = 9;
const RL_PORT = 10;
const RL_URI = 11;
const RL_HTTP09 = 12;
const RL_H = 13;
const RL_HT = 14;
const RL_HTT = 15;
const RL_HTTP = 16;
const RL_MAJOR1 = 17;
const RL_MAJOR = 18;
const RL_MINOR1 = 19;
const RL_MINOR = 20;
const RL_SP_AFTER = 21;
const RL_ALMOST = 22;
// header lines
const H_START = 30;
const H_NAME = 31;
const H_SP_BEFORE = 32;
const H_VALUE = 33;
const H_SP_AFTER = 34;
const H_ALMOST = 35;
const H_HEAD_ALMOST = 36;

// what is being read
const P_LINE = 0; // the request line
const P_LINE_DONE = 1; // the request line is complete, its checks run
const P_HEADERS = 2; // the header lines

// methods nginx treats specially
const M_OTHER = 0;
const M_GET = 1;
const M_HEAD = 2;
const M_TRACE = 3;
const M_CONNECT = 4;

// headers nginx allows once (ngx_http_process_unique_header_line), plus Host
const U_HOST = 0;
const U_CONTENT_LENGTH = 1;
const U_TRANSFER_ENCODING = 2;
const U_EXPECT = 3;
const U_IF_MATCH = 4;
const U_IF_RANGE = 5;
const U_CONTENT_RANGE = 6;
const U_IF_NONE_MATCH = 7;
const U_AUTHORIZATION = 8;
const U_IF_MODIFIED_SINCE = 9;
const U_IF_UNMODIFIED_SINCE = 10;
const U_COUNT = 11;

/** log actions: what nginx says it was doing when the error happened */
export const ACTION_LINE = 'reading client request line';
export const ACTION_HEADERS = 'reading client request headers';

export class HeadParser {
  /** status of the last error (0 when none) */
  errorStatus = 0;
  /** reason of the last error, worded like nginx's error log */
  errorMsg = '';
  /** error-log context of the last error: what nginx was doing ... */
  errorAction = ACTION_LINE;
  /** ... the request line as nginx logs it ('' when none) */
  errorRequest = '';
  /** ... the Host header value seen before the error ('' when none) */
  errorHost = '';
  /** ... and the Referer header value ('' when none) */
  errorReferer = '';
  /** the User-Agent seen before the error, for MSIE's error-page padding */
  errorUserAgent = '';
  /** the error page goes out without status line and headers (an HTTP/0.9 request) */
  errorRaw = false;
  /** the error response has no body (a HEAD request) */
  errorHeadOnly = false;

  private readonly firstSize: number;
  private readonly largeSize: number;
  private readonly largeNum: number;
  private readonly maxHeaders: number;

  // ---- scan state; offsets are relative to the head's first byte ----
  private pos = 0;
  private state = RL_START;
  private phase = P_LINE;
  /** where nginx's current header buffer ends, and how many large ones it took */
  private bufEnd: number;
  private nbusy = 0;
  // request line
  private method = M_OTHER;
  private methodEnd = 0;
  /** the request target [tStart, tEnd) and its path part (-1: none, as in `http://host`) */
  private tStart = -1;
  private tEnd = -1;
  private pathStart = -1;
  private hostStart = -1;
  private hostEnd = -1;
  private protoStart = -1;
  /** where the request line ends (its CR or LF) */
  private reqEnd = -1;
  private major = 0;
  private minor = 0;
  private v09 = false;
  private version = 10;
  private uri = '';
  private args = '';
  private lineHost = '';
  // header lines
  private lineStart = -1;
  private nameEnd = 0;
  private valueStart = 0;
  private valueEnd = 0;
  private invalidLine = false;
  /** [nameStart, nameEnd, valueStart, valueEnd] per accepted header line */
  private hdr = new Int32Array(64);
  private nhdr = 0;
  /** index + 1 of the first header of each U_* kind (0 = none) */
  private readonly unique = new Int32Array(U_COUNT);
  private referer = -1;
  private userAgent = -1;
  private hostValue = '';
  /** [lineStart, lineEnd, host index, referer index] per ignored invalid header line */
  private invalid: number[] | null = null;
  // results of the end-of-head checks
  private contentLength = -1;
  private chunked = false;

  /** heads of the common shape go to native/headscan.c first */
  private readonly common: boolean;

  constructor(limits: ParserLimits, common = HEADSCAN) {
    this.common = common;
    const large = limits.largeClientHeaderBuffers;
    this.firstSize = Math.max(1, limits.clientHeaderBufferSize);
    this.largeSize = Math.max(1, large.size);
    this.largeNum = Math.max(0, large.num);
    this.maxHeaders = limits.maxHeaders ?? 1000;
    this.bufEnd = this.firstSize;
  }

  /** Forget any partial scan (call before scanning a new request). */
  reset(): void {
    this.errorStatus = 0;
    this.errorMsg = '';
    this.errorAction = ACTION_LINE;
    this.errorRequest = '';
    this.errorHost = '';
    this.errorReferer = '';
    this.errorUserAgent = '';
    this.errorRaw = false;
    this.errorHeadOnly = false;
    this.pos = 0;
    this.state = RL_START;
    this.phase = P_LINE;
    this.bufEnd = this.firstSize;
    this.nbusy = 0;
    this.method = M_OTHER;
    this.tStart = this.tEnd = this.pathStart = -1;
    this.hostStart = this.hostEnd = this.protoStart = this.reqEnd = -1;
    this.major = this.minor = 0;
    this.v09 = false;
    this.version = 10;
    this.uri = this.args = this.lineHost = this.hostValue = '';
    this.lineStart = -1;
    this.invalidLine = false;
    this.nhdr = 0;
    // a loop: TypedArray.prototype.fill is a runtime call, 23 ns here against 11 ns
    const u = this.unique;
    for (let i = 0; i < U_COUNT; i++) u[i] = 0;
    this.referer = this.userAgent = -1;
    this.invalid = null;
    this.contentLength = -1;
    this.chunked = false;
  }

  /**
   * Scan the head starting at `buf[start]` (the first byte of the method: the caller skips
   * the blank lines nginx ignores before a request). The bytes already scanned must still be
   * at the same offsets relative to `start` on later calls (append-only).
   * Returns the head length (> 0) once complete and valid, 0 when more data is needed, -1 on
   * error (see errorStatus/errorMsg and the other error* fields).
   */
  scan(buf: Buffer, start: number): number {
    if (this.errorStatus !== 0) return -1;
    if (this.pos === 0 && this.common) {
      const n = this.scanCommon(buf, start);
      if (n !== 0) return n;
    }
    const end = buf.length;
    let i = start + this.pos;
    let state = this.state;
    let bufEnd = start + this.bufEnd;
    for (;;) {
      if (i >= bufEnd) {
        // nginx's buffer is full: it takes a large one (the line in progress moves along)
        this.state = state;
        if (!this.grow(buf, start, i - start)) return -1;
        bufEnd = start + this.bufEnd;
      }
      if (i >= end) break;
      const stop = bufEnd < end ? bufEnd : end;
      for (; i < stop; i++) {
        const c = buf[i];
        switch (state) {
          // ---------------------------------------------------------------- request line
          case RL_START:
            if (METHOD_CH[c] === 0) return this.fail(buf, start, 400, 'client sent invalid method');
            state = RL_METHOD;
            break;
          case RL_METHOD:
            if (METHOD_CH[c] === 1) break;
            if (c !== SP) return this.fail(buf, start, 400, 'client sent invalid method');
            this.methodEnd = i - start;
            this.method = methodKind(buf, start, i - start);
            state = RL_SP_BEFORE_URI;
            break;
          case RL_SP_BEFORE_URI:
            if (c === 47) {
              this.tStart = this.pathStart = i - start;
              state = RL_URI;
            } else if ((c | 0x20) >= 97 && (c | 0x20) <= 122) {
              this.tStart = i - start;
              state = RL_SCHEMA;
            } else if (c !== SP) {
              return this.fail(buf, start, 400, 'client sent invalid request');
            }
            break;
          case RL_SCHEMA:
            if (HOST_CH[c] === 1 || c === 43) break; // letters, digits, '+', '-', '.'
            if (c !== 58) return this.fail(buf, start, 400, 'client sent invalid request');
            state = RL_SCHEMA_SLASH;
            break;
          case RL_SCHEMA_SLASH:
            if (c !== 47) return this.fail(buf, start, 400, 'client sent invalid request');
            state = RL_SCHEMA_SLASH2;
            break;
          case RL_SCHEMA_SLASH2:
            if (c !== 47) return this.fail(buf, start, 400, 'client sent invalid request');
            this.hostStart = i + 1 - start;
            state = RL_HOST_START;
            break;
          case RL_HOST_START:
          case RL_HOST:
          case RL_HOST_END:
            if (state === RL_HOST_START) {
              if (c === 91) {
                state = RL_HOST_LITERAL;
                break;
              }
              state = RL_HOST;
            }
            if (state === RL_HOST && HOST_CH[c] === 1) break;
            // the end of the host name (or of the IP literal's "]")
            this.hostEnd = i - start;
            if (c === 58) {
              state = RL_PORT;
            } else if (c === 47 || c === 63) {
              this.pathStart = i - start;
              state = RL_URI;
            } else if (c === SP) {
              this.tEnd = i - start;
              state = RL_HTTP09;
            } else {
              return this.fail(buf, start, 400, 'client sent invalid request');
            }
            break;
          case RL_HOST_LITERAL:
            if (LITERAL_CH[c] === 1) break;
            if (c !== 93) return this.fail(buf, start, 400, 'client sent invalid request');
            state = RL_HOST_END;
            break;
          case RL_PORT:
            if (c >= 48 && c <= 57) break;
            if (c === 47 || c === 63) {
              this.pathStart = i - start;
              state = RL_URI;
            } else if (c === SP) {
              this.tEnd = i - start;
              state = RL_HTTP09;
            } else {
              return this.fail(buf, start, 400, 'client sent invalid request');
            }
            break;
          case RL_URI:
            if (URI_CH[c] === 1) {
              let j = i + 1;
              while (j < stop && URI_CH[buf[j]] === 1) j++;
              i = j - 1;
              break;
            }
            this.tEnd = i - start;
            if (c === SP) {
              state = RL_HTTP09;
            } else if (c === CR) {
              this.v09 = true;
              this.reqEnd = i - start;
              state = RL_ALMOST;
            } else if (c === LF) {
              this.v09 = true;
              this.reqEnd = i - start;
              const r = this.requestLineDone(buf, start, i);
              if (r !== 0) return r;
              state = H_START;
            } else {
              return this.fail(buf, start, 400, 'client sent invalid request');
            }
            break;
          case RL_HTTP09:
            if (c === SP) break;
            if (c === 72) {
              this.protoStart = i - start;
              state = RL_H;
            } else if (c === CR) {
              this.v09 = true;
              this.reqEnd = i - start;
              state = RL_ALMOST;
            } else if (c === LF) {
              this.v09 = true;
              this.reqEnd = i - start;
              const r = this.requestLineDone(buf, start, i);
              if (r !== 0) return r;
              state = H_START;
            } else {
              return this.fail(buf, start, 400, 'client sent invalid request');
            }
            break;
          case RL_H:
          case RL_HT:
          case RL_HTT:
          case RL_HTTP:
            // "HTTP/" after the 'H'
            if (c !== HTTP_TAIL[state - RL_H]) return this.fail(buf, start, 400, 'client sent invalid request');
            state++;
            break;
          case RL_MAJOR1:
            if (c < 49 || c > 57) return this.fail(buf, start, 400, 'client sent invalid request');
            this.major = c - 48;
            if (this.major > 1) return this.fail(buf, start, 505, 'client sent invalid version');
            state = RL_MAJOR;
            break;
          case RL_MAJOR:
            if (c === 46) {
              state = RL_MINOR1;
              break;
            }
            if (c < 48 || c > 57) return this.fail(buf, start, 400, 'client sent invalid request');
            this.major = this.major * 10 + c - 48;
            if (this.major > 1) return this.fail(buf, start, 505, 'client sent invalid version');
            break;
          case RL_MINOR1:
            if (c < 48 || c > 57) return this.fail(buf, start, 400, 'client sent invalid request');
            this.minor = c - 48;
            state = RL_MINOR;
            break;
          case RL_MINOR:
          case RL_SP_AFTER:
            if (state === RL_MINOR && c >= 48 && c <= 57) {
              if (this.minor > 99) return this.fail(buf, start, 400, 'client sent invalid request');
              this.minor = this.minor * 10 + c - 48;
              break;
            }
            if (c === SP) {
              state = RL_SP_AFTER;
            } else if (c === CR) {
              this.reqEnd = i - start;
              state = RL_ALMOST;
            } else if (c === LF) {
              this.reqEnd = i - start;
              const r = this.requestLineDone(buf, start, i);
              if (r !== 0) return r;
              state = H_START;
            } else {
              return this.fail(buf, start, 400, 'client sent invalid request');
            }
            break;
          case RL_ALMOST: {
            if (c !== LF) return this.fail(buf, start, 400, 'client sent invalid request');
            const r = this.requestLineDone(buf, start, i);
            if (r !== 0) return r;
            state = H_START;
            break;
          }

          // ---------------------------------------------------------------- header lines
          case H_START:
            this.lineStart = i - start;
            this.invalidLine = false;
            if (NAME_CH[c] === 1) {
              state = H_NAME;
            } else if (c === CR) {
              state = H_HEAD_ALMOST;
            } else if (c === LF) {
              return this.headDone(buf, start, i);
            } else if (c <= SP || c === 127 || c === 58) {
              return this.badHeader(buf, start, i);
            } else {
              // '_' and other odd bytes: nginx ignores the line (ignore_invalid_headers)
              this.invalidLine = true;
              state = H_NAME;
            }
            break;
          case H_NAME:
            if (NAME_CH[c] === 1) {
              let j = i + 1;
              while (j < stop && NAME_CH[buf[j]] === 1) j++;
              i = j - 1;
              break;
            }
            if (c === 58) {
              this.nameEnd = i - start;
              state = H_SP_BEFORE;
            } else if (c === CR || c === LF) {
              // a name without a colon: a header with an empty value, as nginx has it
              this.nameEnd = this.valueStart = this.valueEnd = i - start;
              if (c === CR) {
                state = H_ALMOST;
              } else {
                const r = this.headerLineDone(buf, start);
                if (r !== 0) return r;
                state = H_START;
              }
            } else if (c <= SP || c === 127) {
              return this.badHeader(buf, start, i);
            } else {
              this.invalidLine = true;
            }
            break;
          case H_SP_BEFORE:
            if (c === SP) break;
            if (c === CR || c === LF) {
              this.valueStart = this.valueEnd = i - start;
              if (c === CR) {
                state = H_ALMOST;
              } else {
                const r = this.headerLineDone(buf, start);
                if (r !== 0) return r;
                state = H_START;
              }
            } else if (c === 0) {
              return this.badHeader(buf, start, i);
            } else {
              this.valueStart = i - start;
              state = H_VALUE;
            }
            break;
          case H_VALUE:
            if (VALUE_STOP[c] === 0) {
              let j = i + 1;
              while (j < stop && VALUE_STOP[buf[j]] === 0) j++;
              i = j - 1;
              break;
            }
            if (c === 0) return this.badHeader(buf, start, i);
            this.valueEnd = i - start;
            if (c === SP) {
              state = H_SP_AFTER;
            } else if (c === CR) {
              state = H_ALMOST;
            } else {
              const r = this.headerLineDone(buf, start);
              if (r !== 0) return r;
              state = H_START;
            }
            break;
          case H_SP_AFTER:
            if (c === SP) break;
            if (c === CR) {
              state = H_ALMOST;
            } else if (c === LF) {
              const r = this.headerLineDone(buf, start);
              if (r !== 0) return r;
              state = H_START;
            } else if (c === 0) {
              return this.badHeader(buf, start, i);
            } else {
              state = H_VALUE;
            }
            break;
          case H_ALMOST:
            // nginx takes any number of CRs before the LF
            if (c === CR) break;
            if (c !== LF) return this.badHeader(buf, start, start + this.valueEnd);
            {
              const r = this.headerLineDone(buf, start);
              if (r !== 0) return r;
            }
            state = H_START;
            break;
          case H_HEAD_ALMOST:
            if (c !== LF) return this.badHeader(buf, start, start + this.lineStart);
            return this.headDone(buf, start, i);
        }
      }
    }
    this.pos = i - start;
    this.state = state;
    return 0;
  }

  /**
   * A head of the common shape, complete in `buf`, scanned by native/headscan.c: it also
   * validated the Host value and took only a path that needs no normalizing. The end-of-head
   * checks run as after the state machine. 0 leaves the head to the state machine: the scanner
   * declined it, or a check failed and the state machine is to report it.
   */
  private scanCommon(buf: Buffer, start: number): number {
    const len = A.headscan(buf, start, this.firstSize, this.maxHeaders);
    if (len < 0) return 0;
    const o = COMMON;
    const methodEnd = o[O_METHOD_END];
    this.methodEnd = methodEnd;
    this.method = methodKind(buf, start, methodEnd);
    this.tStart = this.pathStart = methodEnd + 1;
    this.tEnd = o[O_TARGET_END];
    this.protoStart = o[O_PROTO];
    this.reqEnd = o[O_LINE_END];
    this.major = 1;
    this.minor = o[O_MINOR];
    this.version = this.minor === 0 ? 10 : 11;
    this.phase = P_HEADERS;
    // requestLineDone's work: the scanner took only a path that needs no normalizing
    const q = o[O_QUERY];
    this.uri = buf.toString('latin1', start + this.pathStart, start + q);
    if (q < this.tEnd) this.args = buf.toString('latin1', start + q + 1, start + this.tEnd);
    const nh = o[O_NHDR];
    let hdr = this.hdr;
    if (nh * 4 > hdr.length) this.hdr = hdr = new Int32Array(nh * 4);
    for (let k = 0, e = nh * 4; k < e; k++) hdr[k] = o[O_HDR + k];
    this.nhdr = nh;
    const unique = this.unique;
    for (let u = 0; u < U_COUNT; u++) unique[u] = o[O_UNIQUE + u];
    this.referer = o[O_REFERER];
    this.userAgent = o[O_AGENT];
    const host = unique[U_HOST] - 1;
    // the scanner validated the host (and took none that needs lower-casing)
    if (host >= 0) this.hostValue = buf.toString('latin1', start + hdr[host * 4 + 2], start + o[O_HOST_END]);
    const r = this.headDone(buf, start, start + len - 1);
    if (r > 0) return r;
    // a check failed: the state machine reports it, with the context nginx logs it with
    this.reset();
    return 0;
  }

  /**
   * nginx's header buffer is full at `rel` with the head unfinished: take the next large
   * buffer (ngx_http_alloc_large_header_buffer), or fail as nginx does.
   */
  private grow(buf: Buffer, start: number, rel: number): boolean {
    if (this.phase === P_LINE) {
      if (rel >= this.largeSize || this.nbusy >= this.largeNum) {
        this.fail(buf, start, 414, 'client sent too long URI');
        // nginx logs the whole buffer as the request
        this.errorRequest = buf.toString('latin1', start, start + Math.min(rel, 2048));
        return false;
      }
      this.nbusy++;
      this.bufEnd = this.largeSize;
      return true;
    }
    const inLine = this.state !== H_START;
    if ((inLine && rel - this.lineStart >= this.largeSize) || this.nbusy >= this.largeNum) {
      if (this.lineStart < 0) {
        this.fail(buf, start, 494, 'client sent too large request');
      } else {
        const from = start + this.lineStart;
        const shown = buf.toString('latin1', from, from + Math.min(rel - this.lineStart, LOGGED_LINE_MAX));
        this.fail(buf, start, 494, `client sent too long header line: "${shown}..."`);
      }
      return false;
    }
    this.nbusy++;
    this.bufEnd = (inLine ? this.lineStart : rel) + this.largeSize;
    return true;
  }

  /** The request line ended at the LF `buf[lf]`: the checks nginx makes then. */
  private requestLineDone(buf: Buffer, start: number, lf: number): number {
    const v09 = this.v09;
    this.phase = P_LINE_DONE;
    this.version = v09 ? 9 : (this.major === 1 && this.minor === 0 ? 10 : 11);
    if (v09 && this.method !== M_GET) {
      return this.fail(buf, start, 400, 'client sent invalid method in HTTP/0.9 request');
    }
    // the path: `%XX`, `.`, `..` and `//` resolved; the fragment dropped; args after '?'
    let body = this.pathStart >= 0 ? buf.toString('latin1', start + this.pathStart, start + this.tEnd) : '';
    const hashAt = body.indexOf('#');
    if (hashAt >= 0) body = body.slice(0, hashAt);
    const q = body.indexOf('?');
    let path = body;
    if (q >= 0) {
      path = body.slice(0, q);
      this.args = body.slice(q + 1);
    }
    if (path.length === 0) path = '/'; // `http://host` or `http://host?x`
    const uri = normalizeUri(path);
    if (uri === null) return this.fail(buf, start, 400, 'client sent invalid request');
    this.uri = uri;
    if (this.hostEnd >= 0) {
      const h = validateHost(buf.toString('latin1', start + this.hostStart, start + this.hostEnd));
      if (h === null) return this.fail(buf, start, 400, 'client sent invalid host in request line');
      this.lineHost = h;
    }
    // HTTP/0.9: no headers follow
    if (v09) return lf + 1 - start;
    this.phase = P_HEADERS;
    return 0;
  }

  /** A header line ended (its offsets are in lineStart/nameEnd/valueStart/valueEnd). */
  private headerLineDone(buf: Buffer, start: number): number {
    if (this.invalidLine) {
      (this.invalid ??= []).push(this.lineStart, this.valueEnd, this.unique[U_HOST] - 1, this.referer);
      return 0;
    }
    const n = this.nhdr;
    if (n >= this.maxHeaders) return this.fail(buf, start, 494, 'client sent too many header lines');
    let hdr = this.hdr;
    if (n * 4 + 4 > hdr.length) {
      const bigger = new Int32Array(hdr.length * 2);
      bigger.set(hdr);
      this.hdr = hdr = bigger;
    }
    const k = n * 4;
    const ns = this.lineStart;
    hdr[k] = ns;
    hdr[k + 1] = this.nameEnd;
    hdr[k + 2] = this.valueStart;
    hdr[k + 3] = this.valueEnd;
    this.nhdr = n + 1;
    // the headers nginx acts on while reading (ngx_http_headers_in handlers)
    let u = -1;
    const from = start + ns;
    switch (this.nameEnd - ns) {
      case 4:
        if (nameIs(buf, from, 'host')) u = U_HOST;
        break;
      case 6:
        if (nameIs(buf, from, 'expect')) u = U_EXPECT;
        break;
      case 7:
        if (this.referer < 0 && nameIs(buf, from, 'referer')) this.referer = n;
        break;
      case 8:
        if (nameIs(buf, from, 'if-match')) u = U_IF_MATCH;
        else if (nameIs(buf, from, 'if-range')) u = U_IF_RANGE;
        break;
      case 10:
        if (this.userAgent < 0 && nameIs(buf, from, 'user-agent')) this.userAgent = n;
        break;
      case 13:
        if (nameIs(buf, from, 'content-range')) u = U_CONTENT_RANGE;
        else if (nameIs(buf, from, 'if-none-match')) u = U_IF_NONE_MATCH;
        else if (nameIs(buf, from, 'authorization')) u = U_AUTHORIZATION;
        break;
      case 14:
        if (nameIs(buf, from, 'content-length')) u = U_CONTENT_LENGTH;
        break;
      case 17:
        if (nameIs(buf, from, 'transfer-encoding')) u = U_TRANSFER_ENCODING;
        else if (nameIs(buf, from, 'if-modified-since')) u = U_IF_MODIFIED_SINCE;
        break;
      case 19:
        if (nameIs(buf, from, 'if-unmodified-since')) u = U_IF_UNMODIFIED_SINCE;
        break;
    }
    if (u < 0) return 0;
    const first = this.unique[u];
    if (first !== 0) {
      const cur = `${this.headerName(buf, start, n)}: ${this.headerValue(buf, start, n)}`;
      const prev = `${this.headerName(buf, start, first - 1)}: ${this.headerValue(buf, start, first - 1)}`;
      const what = u === U_HOST ? 'duplicate host header' : 'duplicate header line';
      return this.fail(buf, start, 400, `client sent ${what}: "${cur}", previous value: "${prev}"`);
    }
    this.unique[u] = n + 1;
    if (u === U_HOST) {
      const h = validateHost(this.headerValue(buf, start, n));
      if (h === null) return this.fail(buf, start, 400, 'client sent invalid host header');
      this.hostValue = h;
    }
    return 0;
  }

  /** The empty line ended the head at `buf[lf]`: ngx_http_process_request_header's checks. */
  private headDone(buf: Buffer, start: number, lf: number): number {
    const hdr = this.hdr;
    if (this.version === 11 && this.unique[U_HOST] === 0) {
      return this.fail(buf, start, 400, 'client sent HTTP/1.1 request without "Host" header');
    }
    const cl = this.unique[U_CONTENT_LENGTH] - 1;
    if (cl >= 0) {
      const k = cl * 4;
      this.contentLength = parseLengthBytes(buf, start + hdr[k + 2], start + hdr[k + 3]);
      if (this.contentLength < 0) return this.fail(buf, start, 400, 'client sent invalid "Content-Length" header');
    }
    const te = this.unique[U_TRANSFER_ENCODING] - 1;
    if (te >= 0) {
      if (this.version < 11) {
        return this.fail(buf, start, 400, 'client sent HTTP/1.0 request with "Transfer-Encoding" header');
      }
      const k = te * 4;
      if (hdr[k + 3] - hdr[k + 2] === 7 && nameIs(buf, start + hdr[k + 2], 'chunked')) {
        if (cl >= 0) {
          return this.fail(buf, start, 400, 'client sent "Content-Length" and "Transfer-Encoding" headers at the same time');
        }
        this.chunked = true;
      } else {
        return this.fail(buf, start, 501, `client sent unknown "Transfer-Encoding": "${this.headerValue(buf, start, te)}"`);
      }
    }
    if (this.method === M_CONNECT) return this.fail(buf, start, 405, 'client sent CONNECT method');
    if (this.method === M_TRACE) return this.fail(buf, start, 405, 'client sent TRACE method');
    return lf + 1 - start;
  }

  private headerName(buf: Buffer, start: number, n: number): string {
    const k = n * 4;
    return buf.toString('latin1', start + this.hdr[k], start + this.hdr[k + 1]);
  }

  private headerValue(buf: Buffer, start: number, n: number): string {
    const k = n * 4;
    return buf.toString('latin1', start + this.hdr[k + 2], start + this.hdr[k + 3]);
  }

  /** nginx: 'client sent invalid header line: "<line up to the bad byte>\xHH..."' */
  private badHeader(buf: Buffer, start: number, at: number): number {
    const line = buf.toString('latin1', start + this.lineStart, at);
    const hex = buf[at].toString(16).padStart(2, '0');
    return this.fail(buf, start, 400, `client sent invalid header line: "${line}\\x${hex}..."`);
  }

  /** Record an error with the context nginx logs it with. */
  private fail(buf: Buffer, start: number, status: number, msg: string): number {
    this.errorStatus = status;
    this.errorMsg = msg;
    this.noteContext(buf, start);
    return -1;
  }

  /**
   * Fill the error* context fields from what has been scanned of the head at `buf[start..]`
   * (also for a client that closes mid-head: nginx logs that with the same context).
   */
  noteContext(buf: Buffer, start: number): void {
    const lineDone = this.phase !== P_LINE;
    if (lineDone) {
      this.errorRequest = buf.toString('latin1', start, start + this.reqEnd);
    } else {
      // what has arrived of the request line, up to the current buffer's end
      const last = Math.min(buf.length, start + this.bufEnd);
      let e = start;
      while (e < last && buf[e] !== CR && buf[e] !== LF) e++;
      this.errorRequest = buf.toString('latin1', start, e);
    }
    // nginx reads the header lines (and says so) from the end of the request line on;
    // HTTP/0.9 requests never get there
    this.errorAction = this.phase === P_HEADERS ? ACTION_HEADERS : ACTION_LINE;
    const host = this.unique[U_HOST] - 1;
    this.errorHost = host >= 0 ? this.headerValue(buf, start, host) : '';
    this.errorReferer = this.referer >= 0 ? this.headerValue(buf, start, this.referer) : '';
    this.errorUserAgent = this.userAgent >= 0 ? this.headerValue(buf, start, this.userAgent) : '';
    // the status line and headers are skipped for HTTP/0.9, the body for HEAD
    this.errorRaw = lineDone && this.v09;
    this.errorHeadOnly = !this.errorRaw && this.method === M_HEAD;
  }

  /** The header lines ignored so far as invalid, with the context of each (for the log). */
  invalidHeaders(buf: Buffer, start: number): InvalidHeader[] {
    const inv = this.invalid;
    if (inv === null) return NO_INVALID;
    const out: InvalidHeader[] = [];
    for (let k = 0; k < inv.length; k += 4) {
      out.push({
        line: buf.toString('latin1', start + inv[k], start + inv[k + 1]),
        host: inv[k + 2] >= 0 ? this.headerValue(buf, start, inv[k + 2]) : '',
        referer: inv[k + 3] >= 0 ? this.headerValue(buf, start, inv[k + 3]) : '',
      });
    }
    return out;
  }

  /**
   * Build the request from a complete head `buf[start, start+len)` as found by scan() (which
   * did every check). Returns null only when `len` is not a head length.
   */
  parse(buf: Buffer, start: number, len: number): ParsedHead | null {
    if (len <= 0) return null;
    const s = buf.toString('latin1', start, start + len);
    const version = this.version;
    const headers: Array<[string, string]> = new Array(this.nhdr);
    const hdr = this.hdr;
    // nginx: each Connection header containing "close" or else "keep-alive" decides
    let conn = 0; // 0 = none, 1 = close, 2 = keep-alive
    for (let n = 0, k = 0; n < this.nhdr; n++, k += 4) {
      const name = s.slice(hdr[k], hdr[k + 1]);
      const value = s.slice(hdr[k + 2], hdr[k + 3]);
      headers[n] = [name, value];
      if (name.length === 10 && (name.charCodeAt(0) | 0x20) === 99 && name.toLowerCase() === 'connection') {
        const v = value.toLowerCase();
        if (v.includes('close')) conn = 1;
        else if (v.includes('keep-alive')) conn = 2;
      }
    }
    const expect = this.unique[U_EXPECT] - 1;
    const expectContinue = expect >= 0 && headers[expect][1].length === 12 && headers[expect][1].toLowerCase() === '100-continue';
    let keepAlive: boolean;
    if (version === 9) keepAlive = false;
    else if (conn === 0) keepAlive = version === 11;
    else keepAlive = conn === 2;
    return {
      method: s.slice(0, this.methodEnd),
      requestUri: s.slice(this.tStart, this.tEnd),
      uri: this.uri,
      args: this.args,
      version,
      protocol: this.protoStart >= 0 ? s.slice(this.protoStart, this.reqEnd) : '',
      headers,
      rawHeader: s,
      host: this.lineHost !== '' ? this.lineHost : this.hostValue,
      contentLength: this.contentLength,
      chunked: this.chunked,
      keepAlive,
      startTime: 0,
      remoteAddr: '',
      remotePort: 0,
      serverAddr: '',
      serverPort: 0,
      expectContinue,
      userAgent: this.userAgent >= 0 ? headers[this.userAgent][1] : '',
      invalidHeaders: this.invalidHeaders(buf, start),
    };
  }
}

/** Whether native/headscan.c takes this head (for tests: what it declines costs nothing else). */
export function commonShape(buf: Buffer, limits: ParserLimits): boolean {
  return A.headscan(buf, 0, limits.clientHeaderBufferSize, limits.maxHeaders ?? 1000) > 0;
}

/** what invalidHeaders() answers for a head without invalid lines (read only) */
const NO_INVALID: InvalidHeader[] = [];

/** "TTP/" as bytes, indexed by state - RL_H */
const HTTP_TAIL = [84, 84, 80, 47];

/** the method kinds nginx checks for, from buf[start, start+len) */
function methodKind(buf: Buffer, start: number, len: number): number {
  const b = start;
  switch (len) {
    case 3:
      return buf[b] === 71 && buf[b + 1] === 69 && buf[b + 2] === 84 ? M_GET : M_OTHER;
    case 4:
      return buf[b] === 72 && buf[b + 1] === 69 && buf[b + 2] === 65 && buf[b + 3] === 68 ? M_HEAD : M_OTHER;
    case 5:
      return bytesAre(buf, b, 'TRACE') ? M_TRACE : M_OTHER;
    case 7:
      return bytesAre(buf, b, 'CONNECT') ? M_CONNECT : M_OTHER;
    default:
      return M_OTHER;
  }
}

function bytesAre(buf: Buffer, from: number, str: string): boolean {
  for (let i = 0; i < str.length; i++) if (buf[from + i] !== str.charCodeAt(i)) return false;
  return true;
}

/**
 * Whether buf[from, from + lower.length) is `lower` ignoring ASCII case. Only for bytes that
 * are letters, digits or '-' (a valid header name, "chunked"): `| 0x20` folds just the letters.
 */
function nameIs(buf: Buffer, from: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((buf[from + i] | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** max value of nginx's off_t, as digits */
const OFF_T_MAX = '9223372036854775807';

/**
 * Content-Length as nginx's ngx_atoof reads it: decimal digits only, at most 2^63 - 1;
 * -1 when invalid. (Past 2^53 the value is approximate, which only limits compare against.)
 */
export function parseLength(v: string): number {
  const n = v.length;
  if (n === 0) return -1;
  let r = 0;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    r = r * 10 + c;
  }
  if (n <= 15) return r;
  let z = 0;
  while (z < n - 1 && v.charCodeAt(z) === 48) z++;
  const digits = n - z;
  if (digits > 19 || (digits === 19 && v.slice(z) > OFF_T_MAX)) return -1;
  return r;
}

function parseLengthBytes(buf: Buffer, from: number, to: number): number {
  if (to - from > 15) return parseLength(buf.toString('latin1', from, to));
  if (to === from) return -1;
  let r = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return -1;
    r = r * 10 + c;
  }
  return r;
}

/**
 * Validate a Host value the way nginx's ngx_http_validate_host does and return it lowercased
 * (ASCII only) without port and trailing dot; null when nginx refuses it (including empty).
 */
export function validateHost(h: string): string | null {
  const n = h.length;
  let dotAt = -2;
  let hostLen = n;
  // 0: name, 1: inside an IP literal, 2: past the name (port and whatever follows)
  let state = 0;
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = h.charCodeAt(i);
    switch (c) {
      case 46: // '.'
        if (dotAt === i - 1) return null;
        dotAt = i;
        break;
      case 58: // ':'
        if (state === 0) {
          hostLen = i;
          state = 2;
        }
        break;
      case 91: // '['
        if (i === 0) state = 1;
        break;
      case 93: // ']'
        if (state === 1) {
          hostLen = i + 1;
          state = 2;
        }
        break;
      default:
        if (c <= SP || c === 127 || c === 47) return null;
        if (c >= 65 && c <= 90) upper = true;
        break;
    }
  }
  if (dotAt === hostLen - 1) hostLen--;
  if (hostLen <= 0) return null;
  const r = hostLen === n ? h : h.slice(0, hostLen);
  return upper ? asciiLower(r) : r;
}

/** lowercase A-Z only (nginx's ngx_strlow), leaving other latin1 letters alone */
function asciiLower(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      out += s.slice(last, i) + String.fromCharCode(c + 32);
      last = i + 1;
    }
  }
  return out + s.slice(last);
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

/** The request a parsed head is, with the time its first byte came and its addresses. */
export function toRequest(
  h: ParsedHead,
  startTime: number,
  remoteAddr: string,
  remotePort: number,
  serverAddr: string,
  serverPort: number,
): HttpRequest {
  h.startTime = startTime;
  h.remoteAddr = remoteAddr;
  h.remotePort = remotePort;
  h.serverAddr = serverAddr;
  h.serverPort = serverPort;
  return h;
}
