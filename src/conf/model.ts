// The loaded configuration: what the parser and directive handlers produce and what the
// server, the request pipeline and the Lua runtime read. Inheritable settings are already
// merged (http -> server -> location) so the hot path never walks parents.

import type { LocationMatch } from './match.js';

export type LuaPhase =
  | 'init'
  | 'init_worker'
  | 'set'
  | 'rewrite'
  | 'access'
  | 'content'
  | 'header_filter'
  | 'body_filter'
  | 'log'
  | 'balancer'
  | 'server_rewrite';

/** One `*_by_lua*` directive. */
export interface LuaHandler {
  phase: LuaPhase;
  /** the directive as written, e.g. `content_by_lua_block` */
  directive: string;
  form: 'block' | 'file' | 'string';
  /** Lua source for `block` and `string` forms */
  code?: string;
  /** `file` form: the path as written (relative paths are relative to the prefix); may hold $vars */
  path?: string;
  /** ngx_lua's chunk name, e.g. `=content_by_lua(nginx.conf:12)`; for files `@<resolved path>` */
  chunkName: string;
  /** the conf file and line of the directive */
  file: string;
  line: number;
  /** set_by_lua*: the variable name (without `$`) and the argument templates */
  setVar?: string;
  setArgs?: Template[];
  /** a stable key for the compiled-chunk cache */
  cacheKey: string;
}

/** A string with `$var` / `${var}` references, compiled once. */
export type TemplatePart = string | { v: string };
export interface Template {
  raw: string;
  parts: TemplatePart[];
  /** true when the template has no variables: parts is `[raw]` */
  constant: boolean;
}

/** Statements of nginx's rewrite module, run in order in the (server) rewrite phase. */
export type RewriteStmt =
  | { op: 'set'; name: string; value: Template; file: string; line: number }
  | { op: 'return'; code: number; text?: Template; file: string; line: number }
  | { op: 'rewrite'; regex: RegExp; source: string; replacement: Template; flag: '' | 'last' | 'break' | 'redirect' | 'permanent'; file: string; line: number }
  | { op: 'lua_set'; handler: LuaHandler }
  /**
   * `if (cond) { ... }`: when the condition holds, `body` runs and then the statements after the
   * `if` go on. In a location, a true `if` also switches the request to `conf` (the location's
   * settings and handlers merged with the ones written inside the `if`); server-level `if`s have
   * no `conf`.
   */
  | { op: 'if'; cond: IfCondition; body: RewriteStmt[]; conf?: LocationConf; file: string; line: number }
  /** `break`: stop running rewrite-module statements in this phase */
  | { op: 'break'; file: string; line: number };

/** The condition of an `if`, as nginx's rewrite module compiles it. */
export type IfCondition =
  /** `($var)`: true unless the value is empty or "0" */
  | { kind: 'var'; name: string }
  /** `($var = value)` / `($var != value)` */
  | { kind: 'eq'; name: string; value: Template; negate: boolean }
  /** `($var ~ re)`, `~*`, `!~`, `!~*`; a match sets the captures `$1`... */
  | { kind: 'regex'; name: string; regex: RegExp; negate: boolean }
  /** `(-f path)`, `-d`, `-e`, `-x` and their `!` forms */
  | { kind: 'file'; test: 'f' | 'd' | 'e' | 'x'; path: Template; negate: boolean };

/** One command of the echo module's content handler (src/conf/echo.ts, src/http/echo.ts). */
export type EchoCmd =
  | { op: 'echo'; args: Template[]; nl: boolean }
  | { op: 'duplicate'; count: Template; text: Template }
  | { op: 'flush' }
  | { op: 'sleep'; seconds: Template }
  | { op: 'reset_timer' }
  | { op: 'status'; code: number }
  | { op: 'exec'; uri: Template; args: Template | null }
  | { op: 'location'; async: boolean; method: string; uri: Template; args: Template | null; body: Template | null }
  | { op: 'read_body' }
  | { op: 'request_body' };

/** One more_set_headers / more_clear_headers (input or output) of the headers-more module. */
export interface MoreHeadersCmd {
  clear: boolean;
  /** -s: only for these statuses */
  statuses: number[] | null;
  /** -t: only for these content types */
  types: string[] | null;
  /** -r (input): only replace headers that are there */
  replaceOnly: boolean;
  /** null value: remove; `Name*` in a clear: every header starting with Name */
  headers: Array<{ name: string; value: Template | null }>;
}

/** Settings that merge http -> server -> location. */
export interface LocSettings {
  defaultType: string;
  clientMaxBodySize: number; // bytes, 0 = unlimited
  clientBodyBufferSize: number;
  keepaliveTimeout: number; // ms, 0 = keep-alive disabled
  keepaliveRequests: number;
  /** keepalive_timeout's second argument: `Keep-Alive: timeout=N` (-1 = no header) */
  keepaliveHeader: number;
  keepaliveTime: number; // ms
  sendTimeout: number; // ms
  /** client_header_timeout (server level: the default server's applies) */
  clientHeaderTimeout: number; // ms
  clientBodyTimeout: number; // ms
  lingeringClose: 'off' | 'on' | 'always';
  lingeringTime: number; // ms
  lingeringTimeout: number; // ms
  resetTimedoutConnection: boolean;
  chunkedTransferEncoding: boolean;
  serverTokens: boolean;
  luaCodeCache: boolean;
  luaNeedRequestBody: boolean;
  luaTransformUnderscoresInResponseHeaders: boolean;
  luaCheckClientAbort: boolean;
  rewriteByLuaNoPostpone: boolean;
  accessByLuaNoPostpone: boolean;
  // cosocket defaults (issue 3), ms / bytes / counts
  luaSocketConnectTimeout: number;
  luaSocketSendTimeout: number;
  luaSocketReadTimeout: number;
  luaSocketBufferSize: number;
  luaSocketPoolSize: number;
  luaSocketKeepaliveTimeout: number;
  luaSocketLogErrors: boolean;
  resolver: string[] | null;
  resolverTimeout: number;
  /** error_page code... [=[response]] uri */
  errorPages: Map<number, { uri: string; overrideStatus?: number; /** `=` with no code: the status comes from the uri's response */ useUriStatus?: boolean }>;
  /** `root` as written (relative paths are relative to the prefix); unset = `html` */
  root?: string;
  /** `index` files */
  index?: string[];
  /** headers-more commands of the innermost level that has any */
  moreHeaders?: MoreHeadersCmd[];
  moreInputHeaders?: MoreHeadersCmd[];
  /** the echo module's commands: the location's content when it has no other handler */
  echo?: EchoCmd[];
  /** echo_before_body / echo_after_body: text put around the response body */
  echoBefore?: Array<Extract<EchoCmd, { op: 'echo' }>>;
  echoAfter?: Array<Extract<EchoCmd, { op: 'echo' }>>;
  /** auth_request uri (unset or off: none) and auth_request_set's variables */
  authRequest?: string | null;
  authRequestSet?: Array<{ name: string; value: Template }>;
  /** `etag`: static files get an ETag */
  etag: boolean;
  /** lua_use_default_type: a Lua response without a Content-Type gets default_type */
  luaUseDefaultType: boolean;
  /** `charset` (unset or off: none) and `charset_types` (lowercased; unset: nginx's default list) */
  charset?: string | null;
  charsetTypes?: Set<string>;
  /** client_body_in_file_only: off, on (the file stays), clean (removed with the request) */
  clientBodyInFileOnly: 'off' | 'on' | 'clean';
  /** `add_header`s of the innermost level that has any */
  addHeaders?: Array<{ name: string; value: Template; always: boolean }>;
  /** `expires` */
  expires?: { kind: 'off' | 'time' | 'epoch' | 'max'; ms: number };
  /** `alias` path (replaces the location's prefix) */
  alias?: string;
  /** `try_files file ... uri|=code` */
  tryFiles?: string[];
  /** `types { type ext ...; }`: extension (lowercase) -> MIME type; unset = nginx's built-in three */
  types?: Map<string, string>;
  /** allow/deny rules (the innermost level that has any replaces the outer ones) */
  access?: AccessRule[];
  /** absolute_redirect (on): relative `return`/`rewrite` redirects get scheme://host[:port] */
  absoluteRedirect: boolean;
  /** server_name_in_redirect (off): the host of such redirects is the first server_name, not Host */
  serverNameInRedirect: boolean;
  /** port_in_redirect (on): add the port unless it is 80 */
  portInRedirect: boolean;
  // the proxy module (src/conf/proxy.ts, src/http/proxy.ts)
  /** `proxy_pass`: the location's content handler (not inherited by nested locations) */
  proxyPass?: ProxyPass;
  /** `proxy_set_header`s of the innermost level that has any */
  proxySetHeaders?: Array<{ name: string; value: Template }>;
  proxyHttpVersion: 10 | 11;
  proxyPassRequestHeaders: boolean;
  proxyPassRequestBody: boolean;
  /** lowercased names, added to nginx's hidden set / taken out of it */
  proxyHideHeaders?: string[];
  proxyPassHeaders?: string[];
  /** `proxy_redirect`: false = off; 'default'; or the rules in order */
  proxyRedirect: false | 'default' | Array<{ from: Template | RegExp; to: Template }>;
  proxyBuffering: boolean;
  proxyConnectTimeout: number; // ms
  proxySendTimeout: number;
  proxyReadTimeout: number;
  /** proxy_next_upstream: the failure kinds that move to the next peer (empty = off) */
  proxyNextUpstream: ReadonlySet<string>;
  proxyNextUpstreamTries: number; // 0 = unlimited
  proxyNextUpstreamTimeout: number; // ms, 0 = unlimited
  proxyMethod?: Template;
  proxySetBody?: Template;
  proxyInterceptErrors: boolean;
  proxyIgnoreClientAbort: boolean;
  // the gzip module (src/conf/gzip.ts, src/http/gzip.ts)
  gzip: boolean;
  /** lowercased MIME types (text/html among them), or '*' for any */
  gzipTypes: ReadonlySet<string> | '*';
  gzipMinLength: number;
  gzipCompLevel: number;
  /** gzip_window / gzip_hash as zlib's windowBits and memLevel */
  gzipWindowBits: number;
  gzipMemLevel: number;
  gzipVary: boolean;
  gzipHttpVersion: 10 | 11;
  /** gzip_proxied's words as GZIP_PROXIED bits */
  gzipProxied: number;
  /** gzip_disable's regexes (matched against User-Agent) and its msie6 word */
  gzipDisable?: RegExp[];
  gzipDisableMsie6?: boolean;
  // the limit_req module (src/conf/limit_req.ts, src/http/limit_req.ts)
  /** `limit_req`s of the innermost level that has any */
  limitReq?: LimitReqRule[];
  limitReqStatus: number;
  limitReqLogLevel: 'info' | 'notice' | 'warn' | 'error';
  limitReqDryRun: boolean;
}

/** `limit_req_zone key zone=name:size rate=...` */
export interface LimitReqZone {
  name: string;
  /** null until the limit_req_zone that declares it is read */
  key: Template | null;
  /** requests per 1000 seconds */
  rate: number;
  /** bytes; 0: named by a limit_req only */
  size: number;
}

/** One `limit_req zone=name [burst=N] [nodelay|delay=N]`: burst and delay in thousandths */
export interface LimitReqRule {
  zone: LimitReqZone;
  burst: number;
  /** Infinity for nodelay */
  delay: number;
}

/** `proxy_pass URL` as the directive wrote it. */
export interface ProxyPass {
  /** the URL with its variables; constant for a fixed URL */
  url: Template;
  /** a fixed URL: host[:port] as written (an upstream block's name, or an address) */
  hostPort?: string;
  /** a fixed URL's URI part ('' when it has none) */
  uri?: string;
  /** the upstream a fixed URL resolves to (linked once the whole conf is read) */
  upstream?: UpstreamConf;
  /** the location's name, whose matched prefix a fixed URI part replaces */
  locationName: string;
  file: string;
  line: number;
}

/** One `server` of an upstream block (or the address of a proxy_pass URL). */
export interface UpstreamServer {
  /** `127.0.0.1:8080`, `unix:/path` ($upstream_addr shows it) */
  name: string;
  host: string;
  port: number;
  /** a host name to resolve at first use (an upstream given by name) */
  resolve: boolean;
  weight: number;
  maxFails: number;
  failTimeout: number; // ms
  backup: boolean;
  down: boolean;
}

/** An `upstream` block, or the implicit one of a proxy_pass URL with a fixed address. */
export interface UpstreamConf {
  name: string;
  servers: UpstreamServer[];
  /** `keepalive N`: idle connections kept per worker (0 = none) */
  keepalive: number;
  keepaliveTimeout: number; // ms
  keepaliveRequests: number;
  balancer: LuaHandler | null;
  /** made for a proxy_pass URL, not written as a block */
  implicit: boolean;
  file: string;
  line: number;
}

/** One `allow` / `deny` rule; see src/conf/access.ts. */
export interface AccessRule {
  deny: boolean;
  /** `all` */
  all: boolean;
  /** `unix:` */
  unix?: boolean;
  family?: 4 | 6;
  /** the masked address bytes */
  addr?: number[];
  prefix?: number;
  /** as written */
  text: string;
}

export interface LocationConf {
  /** `internal;`: only internal redirects (error_page, ngx.exec, rewrite) may reach it */
  internal?: boolean;
  modifier: '=' | '^~' | '~' | '~*' | '' | '@';
  pattern: string;
  regex?: RegExp;
  /** nested locations, in conf order */
  locations: LocationConf[];
  parent: LocationConf | null;
  /** rewrite-module statements of this location (server-level ones live on ServerConf) */
  rewrite: RewriteStmt[];
  /** Lua handlers in effect here (rewrite/access/header_filter/body_filter/log inherit) */
  handlers: Partial<Record<LuaPhase, LuaHandler>>;
  settings: LocSettings;
  file: string;
  line: number;
}

export interface ListenConf {
  host: string; // '127.0.0.1', '0.0.0.0', '::1', '::' ...
  port: number;
  defaultServer: boolean;
  /** `reuseport`: with workers, one SO_REUSEPORT socket per worker slot */
  reuseport?: boolean;
  /** `sndbuf=` / `rcvbuf=`: SO_SNDBUF / SO_RCVBUF of the listening socket (accepted ones inherit them) */
  sndbuf?: number;
  rcvbuf?: number;
  file: string;
  line: number;
}

/** `map $source $name { ... }` (nginx's map module) */
export interface MapDef {
  source: Template;
  /** exact keys, lowercased (nginx matches them case-insensitively) */
  exact: Map<string, Template>;
  /** `~re` / `~*re` keys, tried in conf order after the exact ones */
  regexes: Array<{ re: RegExp; value: Template }>;
  default: Template | null;
  volatile: boolean;
}

export interface ServerConf {
  /** the http block's maps, by variable name (shared by every server) */
  maps?: Map<string, MapDef>;
  listens: ListenConf[];
  /** exact names, `*.example.com` / `example.*` wildcards and `~regex` names, as written */
  serverNames: string[];
  /** server-level rewrite-module statements (run before location matching) */
  rewrite: RewriteStmt[];
  locations: LocationConf[];
  /** settings at server level (used when no location matches) */
  settings: LocSettings;
  handlers: Partial<Record<LuaPhase, LuaHandler>>;
  /** limits from client_header_buffer_size / large_client_header_buffers */
  clientHeaderBufferSize: number;
  largeClientHeaderBuffers: { num: number; size: number };
  file: string;
  line: number;
  /** conf/match.ts's answers for URIs matched without a regex (made on first use) */
  locCache?: Map<string, LocationMatch | null>;
}

export interface ErrorLogConf {
  /** absolute path, or 'stderr' */
  file: string;
  level: 'debug' | 'info' | 'notice' | 'warn' | 'error' | 'crit' | 'alert' | 'emerg';
}

export interface HttpConf {
  luaPackagePath: string | null; // with `;;` already expanded to the default
  luaPackageCpath: string | null;
  initByLua: LuaHandler | null;
  initWorkerByLua: LuaHandler | null;
  /** lua_shared_dict name size (issue 4 onward) */
  sharedDicts: Map<string, number>;
  luaMaxPendingTimers: number;
  luaMaxRunningTimers: number;
  /** lua_regex_match_limit (0: PCRE's default) and lua_regex_cache_max_entries, for ngx.re */
  luaRegexMatchLimit: number;
  luaRegexCacheMaxEntries: number;
  /** our extension: lua_yield_everywhere */
  luaYieldEverywhere: boolean;
  /** map blocks, by the variable they define */
  maps: Map<string, MapDef>;
  /** our extensions: lua_max_running_time (ms) and lua_max_memory (bytes); 0 = off */
  luaMaxRunningTime: number;
  luaMaxMemory: number;
  /** variables declared anywhere with `set` (nginx declares them at config time) */
  declaredVars: Set<string>;
  /** limit_req zones, by name */
  limitReqZones: Map<string, LimitReqZone>;
  /** `upstream` blocks and the implicit upstreams of proxy_pass URLs, by name */
  upstreams: Map<string, UpstreamConf>;
  servers: ServerConf[];
  /** settings at http level (timers and other request-less code use these) */
  settings?: LocSettings;
}

export interface MainConf {
  prefix: string; // absolute, ends with '/'
  confFile: string; // absolute
  errorLogs: ErrorLogConf[];
  /** the main context has its own error_log (else -e, or logs/error.log, is the error log) */
  errorLogConfigured?: boolean;
  pid: string; // absolute path
  daemon: boolean;
  masterProcess: boolean;
  workerProcesses: number;
  workerConnections: number;
  http: HttpConf | null;
  /** `env NAME` / `env NAME=value` directives, as written */
  env?: string[];
  /** `user` as written */
  user?: string;
  /** `worker_rlimit_nofile` */
  workerRlimitNofile?: number;
  /** ms a gracefully stopping worker waits for its connections (nginx: unlimited when unset) */
  workerShutdownTimeout?: number;
  /** non-fatal conf diagnostics nginx prints as [warn], e.g. conflicting server names */
  warnings?: string[];
  /** alert-level messages the configuration gives at every start (lua_code_cache off) */
  alerts?: string[];
}
