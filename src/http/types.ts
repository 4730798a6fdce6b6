// The contract between the HTTP/1.1 server (parser, connection, response writer) and the
// request pipeline that runs the phases. Strings here are latin1 ("binary") JS strings: one
// char per byte, so they convert to Lua byte strings losslessly with Buffer.from(s, 'latin1').

export interface HttpRequest {
  method: string;
  /** the request-target exactly as received, e.g. `/a%20b/../c?x=1` ($request_uri) */
  requestUri: string;
  /** decoded, normalized path ($uri): `%XX` decoded, `//` merged, `.`/`..` resolved */
  uri: string;
  /** query string without `?` ($args); '' when none */
  args: string;
  /** 9, 10 or 11 (HTTP/0.9, 1.0, 1.1) */
  version: number;
  /** `HTTP/1.1` as sent */
  protocol: string;
  /** header lines in order as received; names keep their case */
  headers: Array<[string, string]>;
  /** the request line and header lines as received, CRLFs included, without the body (one
   * char per byte: a latin1 string holds them without keeping the read buffer alive) */
  rawHeader: string;
  /** `Host` header value without port, lowercased; '' when absent */
  host: string;
  /** -1 when no Content-Length */
  contentLength: number;
  chunked: boolean;
  /** whether the client allows the connection to be reused after this request */
  keepAlive: boolean;
  /** ms since epoch, when the request line's first byte arrived */
  startTime: number;
  remoteAddr: string;
  remotePort: number;
  serverAddr: string;
  serverPort: number;
}

export interface ResponseHead {
  status: number;
  /** status line reason override; default is nginx's text for the code */
  reason?: string;
  contentType?: string | null;
  /** -1 / undefined = unknown (chunked for 1.1, close for 1.0) */
  contentLength?: number;
  location?: string;
  lastModified?: string;
  /** other headers in order */
  headers: Array<[string, string]>;
  /** no status line and no headers: an upstream's HTTP/0.9 answer passed on as it came */
  bare?: boolean;
  /** the Server and Date headers as headers-more left them: a value, or null for none */
  server?: string | null;
  date?: string | null;
  /** the default Server value where the location's server_tokens differs from the listener's */
  serverToken?: string;
}

/** One exchange on a connection: the pipeline gets it with the parsed request. */
export interface HttpExchange {
  readonly req: HttpRequest;
  /** true once sendHead was called */
  readonly headSent: boolean;
  /** true once the client went away (reset, close) */
  readonly aborted: boolean;
  /** write status line and headers (adds Server, Date, Connection, Transfer-Encoding). */
  sendHead(head: ResponseHead): void;
  /** queue body bytes (ignored for HEAD and bodiless statuses); false when the socket buffer is full */
  write(data: Buffer): boolean;
  /** called once the socket's buffer drains (for ngx.flush(true)) */
  onDrain(cb: () => void): void;
  /** finish the response (last chunk); the connection moves to the next request or closes */
  end(): void;
  /**
   * nginx's built-in error page for this status (sends head + body + end); `filter` may change
   * the head and give the page's encoded bytes (the gzip filter)
   */
  sendErrorPage(status: number, extraHeaders?: Array<[string, string]>, filter?: (head: ResponseHead, page: Buffer | null) => Buffer | null, serverToken?: string): void;
  /** read the whole request body (dechunked); cb(null, body) or cb(status) with 400/413 */
  readBody(maxSize: number, cb: (errStatus: number | null, body: Buffer | null) => void): void;
  /** body bytes are ignored (request ended without reading them); keeps keep-alive working */
  discardBody(): boolean;
  /** close the connection after this response regardless of keep-alive */
  forceClose(): void;
  /** drop whatever is not yet written and close the connection at once (no last chunk) */
  terminate(): void;
  /** treat the client closing its side (FIN) during the request as an abort */
  abortOnEnd: boolean;
  /** register a callback for client abort (connection closed/reset before end()) */
  onAbort(cb: () => void): void;
  /** bytes written to the socket for this response (for $bytes_sent) */
  readonly bytesSent: number;
  /** ... of which the status line and headers ($body_bytes_sent is the rest) */
  readonly headBytes: number;
  /** the number of this request on its connection ($connection_requests) */
  readonly connectionRequests: number;
  /** the location's keep-alive, timeout and lingering settings for this request */
  setLimits(limits: ConnLimits): void;
  /** the request's error-log context, for lines the server writes (e.g. send timeouts) */
  logContext: (() => LogCtx) | null;
}

/**
 * The connection settings a response is sent under. nginx takes them from the request's
 * location (the pipeline passes them with setLimits); until then the server's own apply.
 */
export interface ConnLimits {
  keepaliveTimeout: number; // ms, 0 = keep-alive disabled
  keepaliveRequests: number;
  /** keepalive_timeout's second argument in seconds, -1 = no `Keep-Alive` header */
  keepaliveHeader: number;
  keepaliveTime: number; // ms
  sendTimeout: number; // ms
  clientBodyTimeout: number; // ms
  lingeringClose: 'off' | 'on' | 'always';
  lingeringTime: number; // ms
  lingeringTimeout: number; // ms
  resetTimedoutConnection: boolean;
}

/** What the pipeline hands the server to log a client's request in nginx's error-log context. */
export type LogCtx = Record<string, string | number | undefined>;

export interface ServerOptions extends Partial<ConnLimits> {
  /** called for each complete request head */
  onRequest: (ex: HttpExchange) => void;
  /** the size limits for header lines */
  clientHeaderBufferSize: number;
  largeClientHeaderBuffers: { num: number; size: number };
  keepaliveTimeout: number; // ms
  keepaliveRequests: number;
  serverToken: string; // e.g. 'ngxlua/0.1.0'
  /** client_header_timeout (ms, default 60 s) */
  clientHeaderTimeout?: number;
  /** worker_connections, shared by every listener of the worker (default: unlimited) */
  budget?: ConnBudget;
  /**
   * A connection closed holding a large unsent response, or the server became idle after many
   * requests: what they left (buffers, Lua strings) is garbage now, best collected before the
   * process sits idle with it.
   */
  reclaim?: () => void;
  /** log a line to the error log (for client-side errors nginx reports at info) */
  log?: (level: 'info' | 'warn' | 'error' | 'alert', msg: string, ctx?: LogCtx) => void;
}

/** The worker's connection slots (nginx's worker_connections), counted over all listeners. */
export interface ConnBudget {
  max: number;
  /** slots in use: client connections plus one per listening socket */
  used: number;
  /** the second of the last "reusing connections" warning */
  warnedAt: number;
}
