// Load nginx.conf (plus `-g` directives) into the merged MainConf model.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { COMMAND_LINE, ConfError, type ConfPos } from './errors.js';
import {
  dispatch,
  listenKey,
  newScope,
  type Ctx,
  type LoadState,
  type LocBuild,
  type Scope,
} from './directives.js';
import type { HttpConf, LocationConf, LocSettings, LuaHandler, LuaPhase, MainConf, RewriteStmt, Template } from './model.js';
import { compileTemplate } from './template.js';
import { isBuiltinVar } from './varnames.js';
import { linkUpstreams } from './proxy.js';
import { GZIP_PROXIED } from './gzip.js';
import { checkLimitReqZones } from './limit_req.js';
import { parseFile, parseString, type Visitor } from './parser.js';

/** conf/mime.types of the package (dist/src/conf -> the package root) */
const SHIPPED_MIME_TYPES = fileURLToPath(new URL('../../../conf/mime.types', import.meta.url));

export interface LoadOptions {
  /** the prefix directory (`-p`); relative paths in the conf are resolved against it */
  prefix: string;
  /** the conf file (`-c`), absolute or relative to the prefix */
  confFile: string;
  /** `-g` directives, e.g. `daemon off;` */
  globals?: string;
  /** `listen` may take port 0 (only for the embedding API: nginx refuses it) */
  portZero?: boolean;
}

export function defaultSettings(): LocSettings {
  return {
    defaultType: 'text/plain',
    clientMaxBodySize: 1024 * 1024,
    clientBodyBufferSize: 16 * 1024,
    keepaliveTimeout: 75_000,
    keepaliveRequests: 1000,
    keepaliveHeader: -1,
    keepaliveTime: 3_600_000,
    sendTimeout: 60_000,
    clientHeaderTimeout: 60_000,
    clientBodyTimeout: 60_000,
    lingeringClose: 'on',
    lingeringTime: 30_000,
    lingeringTimeout: 5_000,
    resetTimedoutConnection: false,
    chunkedTransferEncoding: true,
    serverTokens: true,
    luaCodeCache: true,
    luaNeedRequestBody: false,
    luaTransformUnderscoresInResponseHeaders: true,
    luaCheckClientAbort: false,
    rewriteByLuaNoPostpone: false,
    accessByLuaNoPostpone: false,
    luaSocketConnectTimeout: 60_000,
    luaSocketSendTimeout: 60_000,
    luaSocketReadTimeout: 60_000,
    luaSocketBufferSize: 4096,
    luaSocketPoolSize: 30,
    luaSocketKeepaliveTimeout: 60_000,
    luaSocketLogErrors: true,
    resolver: null,
    resolverTimeout: 30_000,
    errorPages: new Map(),
    absoluteRedirect: true,
    serverNameInRedirect: false,
    portInRedirect: true,
    clientBodyInFileOnly: 'off',
    etag: true,
    luaUseDefaultType: true,
    proxyHttpVersion: 10,
    proxyPassRequestHeaders: true,
    proxyPassRequestBody: true,
    proxyRedirect: 'default',
    proxyBuffering: true,
    proxyConnectTimeout: 60_000,
    proxySendTimeout: 60_000,
    proxyReadTimeout: 60_000,
    proxyNextUpstream: new Set(['error', 'timeout']),
    proxyNextUpstreamTries: 0,
    proxyNextUpstreamTimeout: 0,
    proxyInterceptErrors: false,
    proxyIgnoreClientAbort: false,
    gzip: false,
    gzipTypes: new Set(['text/html']),
    gzipMinLength: 20,
    gzipCompLevel: 1,
    gzipWindowBits: 15,
    gzipMemLevel: 8,
    gzipVary: false,
    gzipHttpVersion: 11,
    gzipProxied: GZIP_PROXIED.off,
    limitReqStatus: 503,
    limitReqLogLevel: 'error',
    limitReqDryRun: false,
  };
}

const INHERITED_PHASES: LuaPhase[] = ['server_rewrite', 'rewrite', 'access', 'header_filter', 'body_filter', 'log'];

function mergeSettings(parent: LocSettings, own: Partial<LocSettings>): LocSettings {
  const out: LocSettings = { ...parent };
  for (const [k, v] of Object.entries(own)) {
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}

function mergeHandlers(
  parent: Partial<Record<LuaPhase, LuaHandler>>,
  own: Partial<Record<LuaPhase, LuaHandler>>,
): Partial<Record<LuaPhase, LuaHandler>> {
  const out: Partial<Record<LuaPhase, LuaHandler>> = { ...own };
  for (const p of INHERITED_PHASES) {
    if (!out[p] && parent[p]) out[p] = parent[p];
  }
  return out;
}

// ---- include globs ------------------------------------------------------------------

function hasGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

function globToRegExp(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = seg.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += '[' + cls.replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Expand a glob pattern (absolute) into sorted matching file paths. */
export function expandGlob(pattern: string): string[] {
  const segs = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let paths = [segs[0] === '' ? '/' : segs[0]];
  for (const seg of segs.slice(1)) {
    const next: string[] = [];
    for (const base of paths) {
      if (!hasGlob(seg)) {
        next.push(join(base, seg));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      const re = globToRegExp(seg);
      for (const n of names.sort()) {
        if (n.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(n)) next.push(join(base, n));
      }
    }
    paths = next;
  }
  return paths.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

// ---- loading ------------------------------------------------------------------------

export function loadConf(opts: LoadOptions): MainConf {
  let prefix = resolve(opts.prefix);
  if (!prefix.endsWith('/')) prefix += '/';
  const confFile = isAbsolute(opts.confFile) ? opts.confFile : join(prefix, opts.confFile);
  const confDir = dirname(confFile);

  const main: MainConf = {
    prefix,
    confFile,
    errorLogs: [{ file: join(prefix, 'logs/error.log'), level: 'error' }],
    pid: join(prefix, 'logs/nginx.pid'),
    daemon: true,
    masterProcess: true,
    workerProcesses: 1,
    workerConnections: 512,
    http: null,
    warnings: [],
  };

  const st: LoadState = {
    prefix,
    portZero: opts.portZero,
    confDir,
    main,
    mainSeen: new Set(),
    errorLogSet: false,
    eventsSeen: false,
    eventsSeenNames: new Set(),
    http: null,
    httpScope: null,
    servers: [],
    defaultServers: new Map(),
    visitor: (ctx: Ctx): Visitor => (d, body) => dispatch(d, body, ctx, st),
    include(path: string, ctx: Ctx, from: ConfPos) {
      st.includeWith(path, st.visitor(ctx), from);
    },
    includeWith(path: string, visit: Visitor, from: ConfPos) {
      // as nginx's ngx_conf_full_name: the prefix and the path joined, `..` left as written
      // (error messages and chunk names show it so)
      let full = isAbsolute(path) ? path : `${confDir}/${path}`;
      // a conf written for nginx includes the mime.types nginx installs next to it; without
      // one there, ngxlua's own (conf/mime.types in the package) stands in
      if (path === 'mime.types' && !existsSync(full)) full = SHIPPED_MIME_TYPES;
      const files = hasGlob(full) ? expandGlob(full) : [full];
      for (const f of files) parseFile(f, visit, from);
    },
  };

  if (opts.globals) parseString(opts.globals, COMMAND_LINE, st.visitor({ type: 'main' }));
  parseFile(confFile, st.visitor({ type: 'main' }));

  if (st.http) finishHttp(st);
  main.http = st.http;
  return main;
}

function checkDuplicateLocations(locs: LocBuild[]): void {
  const seen = new Map<string, LocationConf>();
  for (const lb of locs) {
    const l = lb.conf;
    if (l.modifier === '~' || l.modifier === '~*' || l.modifier === '@') continue;
    const key = (l.modifier === '=' ? '=' : 'p') + l.pattern;
    if (seen.has(key)) throw new ConfError(`duplicate location "${l.pattern}"`, { file: l.file, line: l.line });
    seen.set(key, l);
  }
}

function finishLocations(locs: LocBuild[], parentSettings: LocSettings, parentHandlers: Partial<Record<LuaPhase, LuaHandler>>): void {
  checkDuplicateLocations(locs);
  for (const lb of locs) {
    const l = lb.conf;
    l.settings = mergeSettings(parentSettings, lb.scope.settings);
    l.handlers = mergeHandlers(parentHandlers, lb.scope.handlers);
    l.rewrite = lb.scope.rewrite;
    // a content handler is not inherited by nested locations (an `if` inside does inherit it)
    if (lb.scope.settings.proxyPass === undefined) l.settings.proxyPass = undefined;
    // location-level `if`s: their conf is the enclosing one's plus what is written inside; the
    // content handler stays the enclosing one's unless the `if` has its own
    for (const ib of lb.ifs) {
      ib.conf.settings = mergeSettings(ib.parent.settings, ib.scope.settings);
      ib.conf.handlers = { ...ib.parent.handlers, ...ib.scope.handlers };
    }
    finishLocations(lb.children, l.settings, l.handlers);
  }
}

function finishHttp(st: LoadState): void {
  const http = st.http!;
  const hs: Scope = st.httpScope ?? newScope();
  const httpSettings = mergeSettings(defaultSettings(), hs.settings);
  http.settings = httpSettings;
  const httpHandlers = mergeHandlers({}, hs.handlers);
  const defaultPort = typeof process.getuid === 'function' && process.getuid() === 0 ? 80 : 8000;
  const names = new Map<string, string>(); // "addr:port name" -> first server position, for warnings

  for (const sb of st.servers) {
    const s = sb.conf;
    if (http.maps.size > 0) s.maps = http.maps;
    s.settings = mergeSettings(httpSettings, sb.scope.settings);
    s.handlers = mergeHandlers(httpHandlers, sb.scope.handlers);
    s.rewrite = sb.scope.rewrite;
    s.clientHeaderBufferSize = sb.scope.clientHeaderBufferSize ?? hs.clientHeaderBufferSize ?? 1024;
    s.largeClientHeaderBuffers = sb.scope.largeClientHeaderBuffers ?? hs.largeClientHeaderBuffers ?? { num: 4, size: 8192 };
    if (s.listens.length === 0) {
      s.listens.push({ host: '0.0.0.0', port: defaultPort, defaultServer: false, file: s.file, line: s.line });
    }
    if (!sb.hasServerName) s.serverNames.push('');
    for (const l of s.listens) {
      const key = listenKey(l.host, l.port);
      for (const n of s.serverNames) {
        const k = `${key} ${n}`;
        if (names.has(k)) st.main.warnings!.push(`conflicting server name "${n}" on ${key}, ignored`);
        else names.set(k, s.file);
      }
    }
    finishLocations(sb.locs, s.settings, s.handlers);
    http.servers.push(s);
  }
  linkUpstreams(http);
  checkLimitReqZones(http);
  checkVariables(http);
}

// ---- unknown variables ----------------------------------------------------------------

function templateVars(t: Template | undefined, out: string[]): void {
  if (!t || t.constant) return;
  for (const p of t.parts) if (typeof p !== 'string') out.push(p.v.toLowerCase());
}

function handlerVars(h: LuaHandler | undefined, out: string[]): void {
  if (!h) return;
  if (h.form === 'file' && h.path) {
    try {
      templateVars(compileTemplate(h.path), out);
    } catch {
      /* a path the runtime takes literally */
    }
  }
  for (const a of h.setArgs ?? []) templateVars(a, out);
}

function stmtVars(stmts: RewriteStmt[], out: string[]): void {
  for (const s of stmts) {
    switch (s.op) {
      case 'set':
        templateVars(s.value, out);
        break;
      case 'return':
        templateVars(s.text, out);
        break;
      case 'rewrite':
        templateVars(s.replacement, out);
        break;
      case 'lua_set':
        handlerVars(s.handler, out);
        break;
      case 'if':
        if (s.cond.kind === 'file') templateVars(s.cond.path, out);
        else out.push(s.cond.name);
        if (s.cond.kind === 'eq') templateVars(s.cond.value, out);
        stmtVars(s.body, out);
        if (s.conf) for (const h of Object.values(s.conf.handlers)) handlerVars(h, out);
        break;
      case 'break':
        break;
    }
  }
}

function locationVars(locs: LocationConf[], out: string[]): void {
  for (const l of locs) {
    stmtVars(l.rewrite, out);
    for (const h of Object.values(l.handlers)) handlerVars(h, out);
    locationVars(l.locations, out);
  }
}

/**
 * nginx resolves every `$name` a conf uses once the whole conf is read, and refuses names that
 * are neither built in nor declared (by `set` or `set_by_lua*`), without a file position.
 */
function checkVariables(http: HttpConf): void {
  const used: string[] = [];
  for (const s of http.servers) {
    stmtVars(s.rewrite, used);
    for (const h of Object.values(s.handlers)) handlerVars(h, used);
    locationVars(s.locations, used);
  }
  const declared = new Set([...http.declaredVars].map((n) => n.toLowerCase()));
  for (const name of used) {
    if (!declared.has(name) && !isBuiltinVar(name)) throw new ConfError(`unknown "${name}" variable`);
  }
}
