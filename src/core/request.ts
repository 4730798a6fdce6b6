// Per-request state shared by all phases: the exchange, the matched server and location, the
// response being built, variables set by `set` or ngx.var, and ngx.ctx.
import type { HttpExchange, HttpRequest, ResponseHead } from '../http/types.js';
import type { LocationConf, ServerConf } from '../conf/model.js';
import type { LuaPhase } from '../conf/model.js';
import type { LuaContext } from './thread.js';
import { CtxOwner, F_HSENT, F_METHOD, F_STATUS, fast, methodIndex } from './fast.js';
import { clearArray } from '../util/clear.js';

/** Response headers as ngx.header sees them: case-insensitive, `_` and `-` equal, ordered. */
export class HeadersOut {
  /** [display name, value] in the order first set */
  list: Array<[string, string]> = [];
  /** null: never set (default_type applies); '': cleared by Lua (no Content-Type) */
  contentType: string | null = null;
  contentLength = -1;

  static key(name: string): string {
    // most names are already keys: no upper case, no '_', nothing past ASCII to fold
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if ((c >= 65 && c <= 90) || c === 95 || c > 127) return name.toLowerCase().replace(/_/g, '-');
    }
    return name;
  }

  get(name: string): string[] {
    const k = HeadersOut.key(name);
    if (k === 'content-type') return this.contentType ? [this.contentType] : [];
    if (k === 'content-length') return this.contentLength < 0 ? [] : [String(this.contentLength)];
    const out: string[] = [];
    for (const [n, v] of this.list) if (HeadersOut.key(n) === k) out.push(v);
    return out;
  }

  /** Replace every value of name; an empty values list clears it. */
  set(name: string, values: string[]): void {
    const k = HeadersOut.key(name);
    if (k === 'content-type') {
      // cleared ('') is not the same as never set (null): no default_type is added then
      this.contentType = values.length ? values[values.length - 1] : '';
      return;
    }
    if (k === 'content-length') {
      this.contentLength = values.length ? Number.parseInt(values[values.length - 1], 10) : -1;
      return;
    }
    // one value for a header set at most once so far (the common case): in place
    const list = this.list;
    let first = -1;
    let more = false;
    for (let i = 0; i < list.length; i++) {
      if (HeadersOut.key(list[i][0]) !== k) continue;
      if (first >= 0) {
        more = true;
        break;
      }
      first = i;
    }
    if (!more && values.length === 1) {
      if (first < 0) list.push([name, values[0]]);
      else list[first] = [name, values[0]];
      return;
    }
    const idx = first;
    const rest = this.list.filter(([n]) => HeadersOut.key(n) !== k);
    if (values.length === 0) {
      this.list = rest;
      return;
    }
    const added = values.map((v): [string, string] => [name, v]);
    if (idx < 0) {
      this.list = rest.concat(added);
    } else {
      // keep the header's original position
      const before = this.list.slice(0, idx).filter(([n]) => HeadersOut.key(n) !== k);
      this.list = before.concat(added, rest.slice(before.length));
    }
  }
}

/**
 * Output filters installed by the pipeline when the location has Lua filters. Each calls `done`
 * when the filter has run and returns whether that already happened (a filter may wait on I/O
 * under lua_yield_everywhere).
 */
export interface OutputFilters {
  /** header_filter_by_lua; done(false) when it failed */
  /** done(ok, exit): exit is the status the filter gave ngx.exit, or null */
  header?: (r: RequestCtx, done: (ok: boolean, exit: number | null) => void) => boolean;
  /** body_filter_by_lua on one piece of output; done(null) when it failed */
  body?: (r: RequestCtx, chunk: Buffer, eof: boolean, done: (res: { data: Buffer; eof: boolean } | null) => void) => boolean;
}

/**
 * A content coding applied to the body on its way to the connection (the gzip filter, set up
 * when the head is built). It may hold bytes back until a flush or the end.
 */
export interface BodyEncoder {
  /** take body bytes; what is ready to go out, if anything */
  write(b: Buffer): Buffer | null;
  /** what the input so far encodes to, decodable up to here */
  flush(): Buffer | null;
  /** the rest and the coding's trailer */
  end(): Buffer;
}

/** The proxy module's record of the upstream tries of one request. */
export interface UpstreamVars {
  addrs: string[];
  statuses: string[];
  /** seconds with ms, per try */
  times: string[];
  connectTimes: string[];
  headerTimes: string[];
  lengths: string[];
  /** the last response's headers */
  headers: Array<[string, string]>;
  proxyHost: string;
  proxyPort: string;
}

/** ngx.balancer's view of the current try (ngx_http_lua_balancer_peer_data_t). */
export interface BalancerState {
  peer: { host: string; port: number; name: string } | null;
  moreTries: number;
  /** tries run so far, this one included */
  totalTries: number;
  /** the tries the upstream still allows */
  tries: number;
  maxTries: number;
  /** 0 (first try), 2 next, 4 failed */
  lastState: number;
  lastStatus: number;
  timeouts: { connect: number; send: number; read: number } | null;
}

/** $limit_req_status by the codes RequestCtx.limitReqStatus holds (1-based) */
export const LIMIT_REQ_STATUS = ['PASSED', 'DELAYED', 'REJECTED', 'DELAYED_DRY_RUN', 'REJECTED_DRY_RUN'] as const;

let connSeq = 0;
/** nginx's connection counter: a client connection's first request and a timer's fake connection take the next */
export function nextConnNumber(): number {
  return ++connSeq;
}
const connNumbers = new WeakMap<object, number>();

/** ctxRef (CtxOwner): registry ref of the request's ngx.ctx table, 0 until first use */
export class RequestCtx extends CtxOwner {
  readonly req: HttpRequest;
  loc: LocationConf | null = null;
  captures: string[] | undefined;
  /** variables created by `set` / written through ngx.var */
  vars: Map<string, string> | null = null;
  private status_ = 0;
  private finalStatus_ = 0;
  private eofSent_ = false;
  /** the response status (ngx.status): mirrored for Lua with finalStatus and eofSent */
  get status(): number {
    return this.status_;
  }
  set status(s: number) {
    this.status_ = s;
    this.mirror(F_STATUS, this.statusView);
  }
  /** status an error page or ngx.exit finalized with (the log phase's $status) */
  get finalStatus(): number {
    return this.finalStatus_;
  }
  set finalStatus(s: number) {
    this.finalStatus_ = s;
    this.mirror(F_STATUS, this.statusView);
  }
  get eofSent(): boolean {
    return this.eofSent_;
  }
  set eofSent(v: boolean) {
    this.eofSent_ = v;
    this.mirror(F_STATUS, this.statusView);
  }
  /** what reading ngx.status answers: the finalized status once the response is complete */
  get statusView(): number {
    return this.finalStatus_ && this.eofSent_ ? this.finalStatus_ : this.status_;
  }
  readonly headersOut = new HeadersOut();
  private headersSent_ = false;
  /** the response head went out (ngx.headers_sent): mirrored for Lua while a phase that may read it runs */
  get headersSent(): boolean {
    return this.headersSent_;
  }
  set headersSent(v: boolean) {
    this.headersSent_ = v;
    if (fast[F_HSENT] >= 0) this.mirror(F_HSENT, v ? 1 : 0);
  }
  filters: OutputFilters | null = null;
  /** while a filter waits on I/O: the output steps that come after it, in order */
  outWait: Array<() => void> | null = null;
  /** filter handlers still running (aborted with the request) */
  filterCtxs: Set<LuaContext> | null = null;
  /** a filter failed: the response is cut off */
  filterFailed = false;
  /** ngx.exit(status) in header_filter_by_lua: the response became that status's page; later body output is dropped */
  bodyReplaced = false;
  /** the head, built when Lua first sent headers, not yet written to the connection */
  pendingHead: ResponseHead | null = null;
  finalized = false;
  phase: LuaPhase | null = null;
  /** request body: undefined = not read, null = read and empty / discarded */
  body: Buffer | null | undefined = undefined;
  bodyError: number | null = null;
  /** ngx.req.init_body/append_body: the pieces of the body being built */
  newBody: Buffer[] | null = null;
  newBodyOpen = true;
  /** the request body's temporary file when it did not fit client_body_buffer_size */
  bodyFile: string | null = null;
  /** client_body_in_file_only on: the file outlives the request */
  bodyFileKept = false;
  /** reached through an internal redirect (ngx.exec, error_page) */
  internal = false;
  /** ngx.ctx is a table lent by the parent (capture's ctx option): not ours to release */
  sharedCtx = false;
  /** a subrequest of ngx.location.capture */
  isSubrequest = false;
  /** auth_request's subrequest allowed the request */
  authDone = false;
  /** Server and Date as headers-more set or cleared them (undefined: nginx's own) */
  serverHeader: string | null | undefined = undefined;
  dateHeader: string | null | undefined = undefined;
  /** echo_before_body's text went out */
  echoBeforeDone = false;
  /** headers-more's output commands ran */
  moreHeadersDone = false;
  /** map variables evaluated for this request */
  mapCache: Map<string, string> | undefined;
  /** a subrequest's main request (null for the main request itself) */
  main: RequestCtx | null = null;
  /** ngx.req.socket(true) took the connection: the output APIs refuse from then on */
  rawSocket = false;
  /** the client closed the connection */
  clientGone = false;
  /** registry ref of the ngx.on_abort callback, 0 when none */
  onAbortRef = 0;
  /** lua_code_cache off: file modules were dropped for this request */
  freshModules = false;
  errorPageDone = false;
  /** the method after an error_page redirect turned it into GET */
  private method_ = '';
  /** the request's method (ngx.req.set_method changes it; mirrored for Lua: core/fast.ts) */
  get method(): string {
    return this.method_;
  }
  set method(m: string) {
    this.method_ = m;
    this.methodIndex = methodIndex(m);
    this.mirror(F_METHOD, this.methodIndex);
  }
  /** the method as an index of core/fast.ts's METHODS (-1: another) */
  methodIndex = -1;
  /** run when the request ends (sockets it opened are closed here) */
  cleanups: Array<() => void> | null = null;
  /** the Lua handler context running for this request, if any */
  current: LuaContext | null = null;
  /** internal redirect / rewrite restarts; nginx stops at 10 */
  uriChanges = 0;
  uri: string;
  private args_ = '';
  /** `ngx.var.args = nil` was the last write: $args and $query_string are nil, not "" */
  argsNil = false;
  get args(): string {
    return this.args_;
  }
  set args(v: string) {
    this.args_ = v;
    this.argsNil = false;
  }
  /** the reason phrase of a proxied response's status line, and the status it belongs to */
  reason: { status: number; text: string } | null = null;
  /** what the proxy module recorded for $upstream_* (every peer tried, in order) */
  upstream: UpstreamVars | null = null;
  /** balancer_by_lua* running for this request: what ngx.balancer reads and sets */
  balancer: BalancerState | null = null;
  /** the proxied response's headers keep the upstream's order (Location and Last-Modified too) */
  headersInOrder = false;
  /** the upstream answered HTTP/0.9: the client gets the bytes without a head */
  bareHead = false;
  /** nginx's valid_location: false after a `rewrite ... break` changed the URI in the location */
  validLocation = true;
  /** try_files ran (an internal redirect it made must not run it again on the same request) */
  triedFiles = false;
  readonly connNumber: number;
  /** limit_req's verdict for this main request (an index into LIMIT_REQ_STATUS, 1-based; 0: none) */
  limitReqStatus = 0;
  /** the coding the body goes through (gzip), null when none */
  encoder: BodyEncoder | null = null;
  /** ngx.say or ngx.print wrote body bytes (what lua_http10_buffering applies to) */
  luaBody = false;
  /** output queued during one Lua run, written when the run yields or ends */
  private outQueue: Buffer[] = [];
  private outBytes = 0;

  constructor(
    readonly ex: HttpExchange,
    readonly server: ServerConf,
    /** a subrequest's parent: the subrequest is on its connection (nginx logs its number) */
    parent?: RequestCtx,
  ) {
    super();
    this.req = ex.req;
    this.uri = ex.req.uri;
    this.method = ex.req.method;
    this.args = ex.req.args;
    // a client connection keeps its number itself; a node:http exchange's is in the map
    const conn = (ex as unknown as { conn?: { connNo: number } }).conn;
    let n: number | undefined;
    if (parent !== undefined) {
      n = parent.connNumber;
    } else if (conn !== undefined) {
      n = conn.connNo !== 0 ? conn.connNo : (conn.connNo = nextConnNumber());
    } else {
      n = connNumbers.get(ex);
      if (n === undefined) {
        n = nextConnNumber();
        connNumbers.set(ex, n);
      }
    }
    this.connNumber = n;
  }

  queue(b: Buffer): void {
    if (b.length === 0) return;
    if (this.encoder) {
      const e = this.encoder.write(b);
      if (e === null || e.length === 0) return;
      b = e;
    }
    this.outQueue.push(b);
    this.outBytes += b.length;
  }

  /**
   * Write the pending head and queued body bytes to the connection. Returns false on
   * backpressure. HTTP/1.0 responses are held until eof so they can carry Content-Length, as
   * ngx_lua's lua_http10_buffering does. `sync` (an explicit flush, not the end of a Lua
   * run) also makes an encoder give out what it holds, as a flush buffer does in nginx.
   */
  flushOutput(eof = false, sync = true): boolean {
    // HTTP/1.0: Lua's body bytes wait for eof while the head is pending without a Content-Length
    // Lua set (ngx_lua buffers only then; other modules' output goes out as it comes)
    if (!eof && this.http10Buffering()) return true;
    const enc = this.encoder;
    if (enc && (eof || sync)) {
      const e = eof ? enc.end() : enc.flush();
      if (eof) this.encoder = null;
      if (e !== null && e.length > 0) {
        this.outQueue.push(e);
        this.outBytes += e.length;
      }
    }
    if (this.pendingHead) {
      const head = this.pendingHead;
      this.pendingHead = null;
      // an encoded body's length is never known up front (nginx clears Content-Length)
      if (eof && !enc && this.luaBody && (head.contentLength === undefined || head.contentLength < 0) && this.req.version <= 10 && this.req.method !== 'HEAD') {
        head.contentLength = this.outBytes;
      }
      this.ex.sendHead(head);
    }
    if (this.outBytes === 0) return true;
    const data = this.outQueue.length === 1 ? this.outQueue[0] : Buffer.concat(this.outQueue, this.outBytes);
    clearArray(this.outQueue);
    this.outBytes = 0;
    return this.ex.write(data);
  }

  /** whether the request URI had a `?` (or ngx.var.args was set) */
  hasArgs(): boolean {
    return this.args !== '' || this.req.requestUri.includes('?');
  }

  /** ngx_lua's lua_http10_buffering holds this response's body back (for its Content-Length) */
  http10Buffering(): boolean {
    const h = this.pendingHead;
    return h !== null && this.luaBody && this.req.version <= 10 && !((h.contentLength ?? -1) >= 0);
  }

  get pendingOutput(): number {
    return this.outBytes;
  }

  /** Whether any byte of the response reached the connection. */
  get wroteAnything(): boolean {
    return this.headersSent && this.pendingHead === null;
  }

  runCleanups(): void {
    const cs = this.cleanups;
    if (!cs) return;
    this.cleanups = null;
    for (const c of cs) c();
  }

  /** Forget the head and body bytes not yet written (the raw request socket took over). */
  discardOutput(): void {
    this.pendingHead = null;
    this.encoder = null;
    this.outQueue = [];
    this.outBytes = 0;
  }

  /** Drop unsent output and close the connection now: the response cannot be completed. */
  terminate(): void {
    this.encoder = null;
    this.outQueue = [];
    this.outBytes = 0;
    this.pendingHead = null;
    this.eofSent = true;
    this.ex.terminate();
  }

  /** Error-log context suffix as nginx writes it for a request. */
  logContext(): { connection: number; client: string; server: string; request: string; subrequest?: string; host?: string; action?: string } {
    // a subrequest logs its main request's line and names its own URI
    const r = this.isSubrequest && this.main ? this.main.req : this.req;
    // balancer_by_lua runs while nginx connects to the upstream
    const action = this.phase === 'log' ? 'logging request' : this.balancer !== null ? 'connecting to upstream' : undefined;
    const hostHdr = r.headers.find(([n]) => n.length === 4 && n.toLowerCase() === 'host');
    return {
      connection: this.connNumber,
      client: r.remoteAddr,
      server: this.server.serverNames[0] ?? '',
      request: `${r.method} ${r.requestUri} ${r.protocol}`,
      subrequest: this.isSubrequest ? this.uri : undefined,
      host: hostHdr ? hostHdr[1] : undefined,
      action,
    };
  }
}
