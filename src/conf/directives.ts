// The directive table: for each directive the contexts it may appear in, its arity, whether
// it opens a block, and the handler that records it in the load state. Checks run in the
// order nginx runs them: unknown directive, context, block/terminator, argument count,
// then the handler's own value checks.

import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ConfError, type ConfPos } from './errors.js';
import type {
  ErrorLogConf,
  HttpConf,
  IfCondition,
  ListenConf,
  LocationConf,
  LocSettings,
  LuaHandler,
  LuaPhase,
  MainConf,
  MapDef,
  RewriteStmt,
  ServerConf,
} from './model.js';
import type { BlockBody, Directive, Visitor } from './parser.js';
import { parseAccessRule } from './access.js';
import { compileRegex } from './regex.js';
import { compileTemplate } from './template.js';
import { parseNumber, parseSize, parseTime } from './units.js';
import { echoDirectives } from './echo.js';
import { headersMoreDirectives } from './headers_more.js';
import { proxyDirectives } from './proxy.js';
import { gzipDirectives } from './gzip.js';
import { limitReqDirectives } from './limit_req.js';

// ---- contexts -------------------------------------------------------------------------

import { MAIN, EVENTS, HTTP, SRV, LOC, SIF, LIF, ANY } from './modspec.js';
export { MAIN, EVENTS, HTTP, SRV, LOC, SIF, LIF, ANY };

export type CtxType = 'main' | 'events' | 'http' | 'server' | 'location' | 'sif' | 'lif';
const CTX_BIT: Record<CtxType, number> = { main: MAIN, events: EVENTS, http: HTTP, server: SRV, location: LOC, sif: SIF, lif: LIF };

/** What one http/server/location level sets explicitly (merged afterwards). */
export interface Scope {
  settings: Partial<LocSettings>;
  /** directive names seen at this level, for "is duplicate" */
  seen: Set<string>;
  handlers: Partial<Record<LuaPhase, LuaHandler>>;
  rewrite: RewriteStmt[];
  clientHeaderBufferSize?: number;
  largeClientHeaderBuffers?: { num: number; size: number };
}

export interface LocBuild {
  conf: LocationConf;
  scope: Scope;
  children: LocBuild[];
  /** `if` blocks inside this location (nested ones too), in conf order; merged after the location */
  ifs: IfBuild[];
}

/** A location-level `if`: its own conf, what was written inside it, and what it inherits from. */
export interface IfBuild {
  conf: LocationConf;
  scope: Scope;
  /** the location, or the enclosing `if`'s conf */
  parent: LocationConf;
}

export interface ServerBuild {
  conf: ServerConf;
  scope: Scope;
  locs: LocBuild[];
  hasServerName: boolean;
  listenKeys: Set<string>;
}

export interface LoadState {
  prefix: string;
  /** the embedding API lets `listen` take port 0 (the kernel picks one) */
  portZero?: boolean;
  confDir: string;
  main: MainConf;
  mainSeen: Set<string>;
  errorLogSet: boolean;
  eventsSeen: boolean;
  eventsSeenNames: Set<string>;
  http: HttpConf | null;
  httpScope: Scope | null;
  servers: ServerBuild[];
  /** addr:port -> whether a default_server was declared */
  defaultServers: Map<string, boolean>;
  /** the visitor factory, for blocks and include */
  visitor: (ctx: Ctx) => Visitor;
  /** parse another conf file into the same context (include) */
  include: (path: string, ctx: Ctx, from: ConfPos) => void;
  /** parse another conf file with a visitor of the caller's (include inside `types`) */
  includeWith: (path: string, visit: Visitor, from: ConfPos) => void;
}

export interface Ctx {
  type: CtxType;
  scope?: Scope;
  server?: ServerBuild;
  loc?: LocBuild;
  /** inside a location-level `if`: that if's conf */
  ifConf?: LocationConf;
}

export interface DirectiveSpec {
  name: string;
  ctx: number;
  /** minimum and maximum argument count (after the name) */
  args: [number, number];
  block?: boolean;
  handler: (d: Directive, body: BlockBody | null, ctx: Ctx, st: LoadState) => void;
}

export function newScope(): Scope {
  return { settings: {}, seen: new Set(), handlers: {}, rewrite: [] };
}

// ---- helpers ------------------------------------------------------------------------

function pos(d: Directive): ConfPos {
  return { file: d.file, line: d.line };
}

function fail(d: Directive, msg: string): never {
  throw new ConfError(msg, pos(d));
}

function once(seen: Set<string>, d: Directive): void {
  if (seen.has(d.name)) fail(d, `"${d.name}" directive is duplicate`);
  seen.add(d.name);
}

function scopeOf(ctx: Ctx): Scope {
  if (!ctx.scope) throw new Error(`no scope in ${ctx.type} context`);
  return ctx.scope;
}

function flagValue(d: Directive): boolean {
  const v = d.args[0];
  if (v.toLowerCase() === 'on') return true;
  if (v.toLowerCase() === 'off') return false;
  return fail(d, `invalid value "${v}" in "${d.name}" directive, it must be "on" or "off"`);
}

function timeValue(d: Directive, v = d.args[0]): number {
  const t = parseTime(v);
  if (t === null) fail(d, `"${d.name}" directive invalid value`);
  return t;
}

function sizeValue(d: Directive, v = d.args[0], offset = false): number {
  const n = parseSize(v, offset);
  if (n === null) fail(d, `"${d.name}" directive invalid value`);
  return n;
}

function numValue(d: Directive, v = d.args[0]): number {
  const n = parseNumber(v);
  if (n === null) fail(d, `"${d.name}" directive invalid number`);
  return n;
}

/** An http-level directive with one number, set once. */
function httpNumber(name: string, key: 'luaMaxPendingTimers' | 'luaMaxRunningTimers' | 'luaRegexMatchLimit' | 'luaRegexCacheMaxEntries'): DirectiveSpec {
  return {
    name,
    ctx: HTTP,
    args: [1, 1],
    handler(d, _b, c, st) {
      once(scopeOf(c).seen, d);
      st.http![key] = numValue(d);
    },
  };
}

type SettingKey = keyof LocSettings;

/** A directive that sets one LocSettings field, with nginx's duplicate check. */
function setting(
  name: string,
  ctx: number,
  key: SettingKey,
  kind: 'flag' | 'time' | 'size' | 'offset' | 'num' | 'str',
): DirectiveSpec {
  return {
    name,
    ctx,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      let v: unknown;
      switch (kind) {
        case 'flag': v = flagValue(d); break;
        case 'time': v = timeValue(d); break;
        case 'size': v = sizeValue(d); break;
        case 'offset': v = sizeValue(d, d.args[0], true); break;
        case 'num': v = numValue(d); break;
        case 'str': v = d.args[0]; break;
      }
      (sc.settings as Record<string, unknown>)[key] = v;
    },
  };
}

/** An http/server/location setting with a fixed set of words (nginx's ngx_conf_set_enum_slot). */
function oneOf<K extends 'clientBodyInFileOnly' | 'lingeringClose'>(name: string, key: K, words: Array<LocSettings[K]>): DirectiveSpec {
  return {
    name,
    ctx: HTTP | SRV | LOC,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      const v = d.args[0] as LocSettings[K];
      // nginx's enum slot names only the value (the "it must be" wording is the flag slot's)
      if (!words.includes(v)) fail(d, `invalid value "${v}"`);
      sc.settings[key] = v;
    },
  };
}

/** A directive we parse and check but which has no effect in ngxlua. */
function ignored(name: string, ctx: number, args: [number, number], kind: 'flag' | 'any' = 'any', block = false): DirectiveSpec {
  return {
    name,
    ctx,
    args,
    block,
    handler(d, _b, c, st) {
      if (kind === 'flag') {
        once(c.scope ? c.scope.seen : c.type === 'events' ? st.eventsSeenNames : st.mainSeen, d);
        flagValue(d);
      }
    },
  };
}

// ---- Lua handlers -------------------------------------------------------------------

const PHASE_TAG: Record<LuaPhase, string> = {
  init: 'init_by_lua',
  init_worker: 'init_worker_by_lua',
  set: 'set_by_lua',
  rewrite: 'rewrite_by_lua',
  access: 'access_by_lua',
  content: 'content_by_lua',
  header_filter: 'header_filter_by_lua',
  body_filter: 'body_filter_by_lua',
  log: 'log_by_lua',
  balancer: 'balancer_by_lua',
  server_rewrite: 'server_rewrite_by_lua',
};

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

/** Resolve a path against the prefix (as nginx's ngx_conf_full_name with the prefix). */
export function resolvePrefix(prefix: string, p: string): string {
  if (isAbsolute(p)) return p;
  return join(prefix, p);
}

function makeHandler(
  phase: LuaPhase,
  form: 'block' | 'file' | 'string',
  d: Directive,
  body: BlockBody | null,
  st: LoadState,
  codeArg: string | undefined,
): LuaHandler {
  const tag = PHASE_TAG[phase];
  const h: LuaHandler = { phase, directive: d.name, form, chunkName: '', file: d.file, line: d.line, cacheKey: '' };
  if (form === 'block') {
    h.code = body!.readLua().code;
  } else if (form === 'string') {
    h.code = codeArg ?? '';
  } else {
    h.path = codeArg ?? '';
  }
  const text = form === 'file' ? h.path! : h.code!;
  if (text.length === 0) throw new ConfError('invalid location config: no runnable Lua code', pos(d), 'error');
  if (form === 'file') {
    const resolved = resolvePrefix(st.prefix, h.path!);
    h.chunkName = '@' + resolved;
    h.cacheKey = 'nhlf_' + md5(resolved);
  } else {
    h.chunkName = `=${tag}(${chunkFileName(d.file, st.confDir, tag.length + String(d.line).length)}:${d.line})`;
    h.cacheKey = `${h.chunkName}#nhli_${md5(h.code!)}`;
  }
  return h;
}

function checkVarName(d: Directive, v: string): string {
  if (v.length < 2 || v[0] !== '$') fail(d, `invalid variable name "${v}"`);
  // nginx's variable names are case-insensitive
  return v.slice(1).toLowerCase();
}

/**
 * The conf file as ngx_lua names it in an inline handler's chunk name: `nginx.conf` for the main
 * file, else its path relative to the main conf's directory when it is under it, else the whole
 * path; cut from the left behind "..." so that the chunk name fits LuaJIT's 60 bytes (56 left
 * after "=(:)", `reserve` of them taken by the tag and the line number).
 */
function chunkFileName(file: string, confDir: string, reserve: number): string {
  const MAX = 56;
  if (file.endsWith('/nginx.conf')) return 'nginx.conf';
  const dir = confDir.endsWith('/') ? confDir : confDir + '/';
  const name = file.length > dir.length && file.startsWith(dir) ? file.slice(dir.length) : file;
  if (name.length + reserve <= MAX) return name;
  return '...' + name.slice(name.length - (MAX - reserve - 3));
}

function luaDirectives(): DirectiveSpec[] {
  const out: DirectiveSpec[] = [];
  const phases: Array<[LuaPhase, number]> = [
    ['server_rewrite', HTTP | SRV],
    ['rewrite', HTTP | SRV | LOC | LIF],
    ['access', HTTP | SRV | LOC | LIF],
    ['content', LOC | LIF],
    ['header_filter', HTTP | SRV | LOC | LIF],
    ['body_filter', HTTP | SRV | LOC | LIF],
    ['log', HTTP | SRV | LOC | LIF],
  ];
  for (const [phase, ctx] of phases) {
    const tag = PHASE_TAG[phase];
    for (const form of ['block', 'file', 'string'] as const) {
      const name = form === 'block' ? `${tag}_block` : form === 'file' ? `${tag}_file` : tag;
      out.push({
        name,
        ctx,
        args: form === 'block' ? [0, 0] : [1, 1],
        block: form === 'block',
        handler(d, body, c, st) {
          const sc = scopeOf(c);
          if (sc.handlers[phase]) {
            // ngx_lua reports the block form's duplicate without the directive name
            fail(d, form === 'block' ? 'is duplicate' : `"${d.name}" directive is duplicate`);
          }
          sc.handlers[phase] = makeHandler(phase, form, d, body, st, d.args[0]);
        },
      });
    }
  }
  for (const phase of ['init', 'init_worker'] as const) {
    const tag = PHASE_TAG[phase];
    for (const form of ['block', 'file', 'string'] as const) {
      const name = form === 'block' ? `${tag}_block` : form === 'file' ? `${tag}_file` : tag;
      out.push({
        name,
        ctx: HTTP,
        args: form === 'block' ? [0, 0] : [1, 1],
        block: form === 'block',
        handler(d, body, _c, st) {
          const http = st.http!;
          const key = phase === 'init' ? 'initByLua' : 'initWorkerByLua';
          if (http[key]) fail(d, form === 'block' ? 'is duplicate' : `"${d.name}" directive is duplicate`);
          http[key] = makeHandler(phase, form, d, body, st, d.args[0]);
        },
      });
    }
  }
  for (const form of ['block', 'file', 'string'] as const) {
    const name = form === 'block' ? 'set_by_lua_block' : form === 'file' ? 'set_by_lua_file' : 'set_by_lua';
    out.push({
      name,
      ctx: SRV | SIF | LOC | LIF,
      args: form === 'block' ? [1, 1] : [2, Infinity],
      block: form === 'block',
      handler(d, body, c, st) {
        const sc = scopeOf(c);
        const v = checkVarName(d, d.args[0]);
        const h = makeHandler('set', form, d, body, st, d.args[1]);
        h.setVar = v;
        h.setArgs = (form === 'block' ? [] : d.args.slice(2)).map((a) => compileTemplate(a, pos(d)));
        st.http!.declaredVars.add(v);
        sc.rewrite.push({ op: 'lua_set', handler: h });
      },
    });
  }
  return out;
}

// ---- http-level Lua settings ---------------------------------------------------------

// what `;;` stands for on the reference: Debian's lua module puts /usr/share/lua/5.1 before
// LuaJIT's own default path
export const DEFAULT_LUA_PATH =
  '/usr/share/lua/5.1/?.lua;;./?.lua;/usr/share/luajit-2.1.0-beta3/?.lua;/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua';
export const DEFAULT_LUA_CPATH = './?.so;/usr/local/lib/lua/5.1/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;/usr/local/lib/lua/5.1/loadall.so';

/** lua_package_(c)path: `;;` is the default path, `$prefix` / `${prefix}` the server prefix. */
function expandPath(p: string, dflt: string, prefix: string): string {
  p = p.replace(/\$\{prefix\}|\$prefix/g, prefix.endsWith('/') ? prefix : prefix + '/');
  const i = p.indexOf(';;');
  if (i < 0) return p;
  return p.slice(0, i) + ';' + dflt + ';' + p.slice(i + 2);
}

// ---- listen / server_name / location / rewrite module ---------------------------------

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseListenAddr(d: Directive, a: string, portZero = false): { host: string; port: number } {
  // a unix domain socket: its path stands for the host, with no port
  if (a.startsWith('unix:')) {
    if (a.length === 5) fail(d, `no path in the unix domain socket in "${a}" of the "listen" directive`);
    return { host: a, port: 0 };
  }
  let host = '0.0.0.0';
  let portStr: string | null = null;
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    if (end < 0) fail(d, `invalid host in "${a}" of the "listen" directive`);
    host = a.slice(1, end);
    const rest = a.slice(end + 1);
    if (rest.startsWith(':')) portStr = rest.slice(1);
    else if (rest !== '') fail(d, `invalid host in "${a}" of the "listen" directive`);
    else portStr = '80';
  } else if (/^\d+$/.test(a)) {
    portStr = a;
  } else {
    const c = a.lastIndexOf(':');
    const h = c >= 0 ? a.slice(0, c) : a;
    portStr = c >= 0 ? a.slice(c + 1) : '80';
    if (h === '*' || h === '') host = '0.0.0.0';
    else if (h.toLowerCase() === 'localhost') host = '127.0.0.1';
    else if (IPV4.test(h) && h.split('.').every((x) => Number(x) <= 255)) host = h;
    else fail(d, `host not found in "${a}" of the "listen" directive`);
  }
  const port = /^\d+$/.test(portStr) ? Number(portStr) : NaN;
  if (!((port >= 1 || (portZero && port === 0)) && port <= 65535)) fail(d, `invalid port in "${a}" of the "listen" directive`);
  return { host, port };
}

export function listenKey(host: string, port: number): string {
  if (host.startsWith('unix:')) return host;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const LISTEN_IGNORED = new Set(['deferred', 'bind', 'http2', 'ipv6only=on', 'ipv6only=off', 'so_keepalive=on', 'so_keepalive=off']);
const LISTEN_IGNORED_PREFIX = ['backlog=', 'so_keepalive=', 'fastopen=', 'accept_filter=', 'setfib='];

function listenDirective(d: Directive, c: Ctx, st: LoadState): void {
  const srv = c.server!;
  const { host, port } = parseListenAddr(d, d.args[0], st.portZero);
  let defaultServer = false;
  let reuseport = false;
  const bufs: { sndbuf?: number; rcvbuf?: number } = {};
  for (const p of d.args.slice(1)) {
    if (p === 'default_server' || p === 'default') defaultServer = true;
    else if (p === 'reuseport') reuseport = true;
    else if (p.startsWith('sndbuf=') || p.startsWith('rcvbuf=')) {
      const size = parseSize(p.slice(7));
      if (size === null) fail(d, `invalid ${p.slice(0, 6)} "${p}"`);
      bufs[p.slice(0, 6) as 'sndbuf' | 'rcvbuf'] = size;
    }
    else if (p === 'ssl' || p === 'quic' || p === 'proxy_protocol') fail(d, `the "${p}" parameter of the "listen" directive is not supported by ngxlua`);
    else if (LISTEN_IGNORED.has(p) || LISTEN_IGNORED_PREFIX.some((x) => p.startsWith(x))) continue;
    else fail(d, `invalid parameter "${p}"`);
  }
  const key = listenKey(host, port);
  if (srv.listenKeys.has(key)) fail(d, `a duplicate listen ${key}`);
  srv.listenKeys.add(key);
  if (defaultServer) {
    if (st.defaultServers.get(key)) fail(d, `a duplicate default server for ${key}`);
    st.defaultServers.set(key, true);
  }
  const l: ListenConf = { host, port, defaultServer, reuseport, ...bufs, file: d.file, line: d.line };
  srv.conf.listens.push(l);
}

function parseLocationHead(d: Directive): { modifier: LocationConf['modifier']; pattern: string } {
  if (d.args.length === 2) {
    const m = d.args[0];
    if (m === '=' || m === '~' || m === '~*' || m === '^~') return { modifier: m, pattern: d.args[1] };
    return fail(d, `invalid location modifier "${m}"`);
  }
  const a = d.args[0];
  if (a.startsWith('=')) return { modifier: '=', pattern: a.slice(1) };
  if (a.startsWith('^~')) return { modifier: '^~', pattern: a.slice(2) };
  if (a.startsWith('~*')) return { modifier: '~*', pattern: a.slice(2) };
  if (a.startsWith('~')) return { modifier: '~', pattern: a.slice(1) };
  if (a.startsWith('@')) return { modifier: '@', pattern: a };
  return { modifier: '', pattern: a };
}

function locationDirective(d: Directive, body: BlockBody | null, c: Ctx, st: LoadState): void {
  const { modifier, pattern } = parseLocationHead(d);
  const isRegex = modifier === '~' || modifier === '~*';
  const parent = c.loc ?? null;
  if (parent) {
    const p = parent.conf;
    if (p.modifier === '=') fail(d, `location "${pattern}" cannot be inside the exact location "${p.pattern}"`);
    if (p.modifier === '@') fail(d, `location "${pattern}" cannot be inside the named location "${p.pattern}"`);
    if (modifier === '@') fail(d, `named location "${pattern}" can be on the server level only`);
    if (!isRegex && !pattern.startsWith(p.pattern)) fail(d, `location "${pattern}" is outside location "${p.pattern}"`);
  }
  const conf: LocationConf = {
    modifier,
    pattern,
    locations: [],
    parent: parent ? parent.conf : null,
    rewrite: [],
    handlers: {},
    settings: undefined as unknown as LocSettings, // filled in by the merge
    file: d.file,
    line: d.line,
  };
  if (isRegex) conf.regex = compileRegex(pattern, modifier === '~*', pos(d));
  const lb: LocBuild = { conf, scope: newScope(), children: [], ifs: [] };
  if (parent) {
    parent.children.push(lb);
    parent.conf.locations.push(conf);
  } else {
    c.server!.locs.push(lb);
    c.server!.conf.locations.push(conf);
  }
  body!.read(st.visitor({ type: 'location', scope: lb.scope, server: c.server, loc: lb }));
}

function isRedirectUrl(s: string): boolean {
  return s.startsWith('http://') || s.startsWith('https://') || s.startsWith('$scheme');
}

function returnDirective(d: Directive, c: Ctx): void {
  const sc = scopeOf(c);
  const first = d.args[0];
  let code: number;
  let text: string | undefined;
  if (/^\d+$/.test(first)) {
    code = Number(first);
    if (code > 999) fail(d, `invalid return code "${first}"`);
    text = d.args[1];
  } else if (d.args.length === 1 && isRedirectUrl(first)) {
    code = 302;
    text = first;
  } else {
    return fail(d, `invalid return code "${first}"`);
  }
  const stmt: RewriteStmt = { op: 'return', code, file: d.file, line: d.line };
  if (text !== undefined) stmt.text = compileTemplate(text, pos(d));
  sc.rewrite.push(stmt);
}

function rewriteDirective(d: Directive, c: Ctx): void {
  const sc = scopeOf(c);
  const [source, repl, flagArg] = d.args;
  let flag: '' | 'last' | 'break' | 'redirect' | 'permanent' = '';
  if (flagArg !== undefined) {
    if (flagArg === 'last' || flagArg === 'break' || flagArg === 'redirect' || flagArg === 'permanent') flag = flagArg;
    else fail(d, `invalid parameter "${flagArg}"`);
  }
  const regex = compileRegex(source, false, pos(d));
  // a replacement that is a URL always redirects (302 unless `permanent`)
  if (isRedirectUrl(repl) && flag !== 'permanent') flag = 'redirect';
  sc.rewrite.push({ op: 'rewrite', regex, source, replacement: compileTemplate(repl, pos(d)), flag, file: d.file, line: d.line });
}

/** Parse an `if` condition the way ngx_http_rewrite_module does (same checks, same wording). */
function parseIfCondition(d: Directive): IfCondition {
  const args = d.args.slice();
  const first = args[0];
  if (first.length < 1 || first[0] !== '(') fail(d, `invalid condition "${first}"`);
  let cur = 0;
  if (first.length === 1) cur = 1;
  else args[0] = first.slice(1);
  let last = args.length - 1;
  const lastArg = args[last];
  if (lastArg === undefined || lastArg.length < 1 || lastArg[lastArg.length - 1] !== ')') {
    fail(d, `invalid condition "${lastArg ?? ''}"`);
  }
  if (lastArg.length === 1) last--;
  else args[last] = lastArg.slice(0, -1);
  if (cur > last) fail(d, 'invalid condition ""');
  const head = args[cur];
  if (head.length > 1 && head[0] === '$') {
    if (cur !== last && cur + 2 !== last) fail(d, `invalid condition "${head}"`);
    const name = varRefName(d, head);
    if (cur === last) return { kind: 'var', name };
    const op = args[cur + 1];
    const value = args[last];
    if (op === '=' || op === '!=') return { kind: 'eq', name, value: compileTemplate(value, pos(d)), negate: op === '!=' };
    if (op === '~' || op === '~*' || op === '!~' || op === '!~*') {
      const regex = compileRegex(value, op.endsWith('*'), pos(d));
      return { kind: 'regex', name, regex, negate: op[0] === '!' };
    }
    return fail(d, `unexpected "${op}" in condition`);
  }
  if ((head.length === 2 && head[0] === '-') || (head.length === 3 && head[0] === '!' && head[1] === '-')) {
    if (cur + 1 !== last) fail(d, `invalid condition "${head}"`);
    const t = head[head.length - 1];
    if (t !== 'f' && t !== 'd' && t !== 'e' && t !== 'x') fail(d, `invalid condition "${head}"`);
    return { kind: 'file', test: t, path: compileTemplate(args[last], pos(d)), negate: head[0] === '!' };
  }
  return fail(d, `invalid condition "${head}"`);
}

/** `$name` / `${name}` in an `if` head: the variable's name. */
function varRefName(d: Directive, ref: string): string {
  const t = compileTemplate(ref, pos(d));
  if (t.parts.length !== 1 || typeof t.parts[0] === 'string') fail(d, `invalid condition "${ref}"`);
  return t.parts[0].v.toLowerCase();
}

function ifDirective(d: Directive, body: BlockBody | null, c: Ctx, st: LoadState): void {
  const sc = scopeOf(c);
  const cond = parseIfCondition(d);
  const inner = newScope();
  const stmt: RewriteStmt = { op: 'if', cond, body: inner.rewrite, file: d.file, line: d.line };
  const inLocation = c.type === 'location' || c.type === 'lif';
  if (inLocation) {
    const parent = c.ifConf ?? c.loc!.conf;
    const conf: LocationConf = {
      modifier: parent.modifier,
      pattern: parent.pattern,
      regex: parent.regex,
      locations: [],
      parent,
      rewrite: [],
      handlers: {},
      settings: undefined as unknown as LocSettings, // merged after the location
      file: d.file,
      line: d.line,
    };
    stmt.conf = conf;
    c.loc!.ifs.push({ conf, scope: inner, parent });
  }
  sc.rewrite.push(stmt);
  body!.read(
    st.visitor(
      inLocation
        ? { type: 'lif', scope: inner, server: c.server, loc: c.loc, ifConf: stmt.conf }
        : { type: 'sif', scope: inner, server: c.server },
    ),
  );
}

function errorPageDirective(d: Directive, c: Ctx): void {
  const sc = scopeOf(c);
  const args = d.args;
  const uri = args[args.length - 1];
  let codesEnd = args.length - 1;
  let overrideStatus: number | undefined;
  let useUriStatus = false;
  const maybe = args[args.length - 2];
  if (maybe.startsWith('=')) {
    codesEnd--;
    if (maybe === '=') useUriStatus = true;
    else {
      const n = parseNumber(maybe.slice(1));
      if (n === null) fail(d, `invalid value "${maybe}"`);
      overrideStatus = n;
    }
  }
  if (codesEnd < 1) fail(d, `invalid number of arguments in "${d.name}" directive`);
  if (!sc.settings.errorPages) sc.settings.errorPages = new Map();
  for (let i = 0; i < codesEnd; i++) {
    const n = parseNumber(args[i]);
    if (n === null) fail(d, `invalid value "${args[i]}"`);
    if (n < 300 || n > 599) fail(d, `value "${args[i]}" must be between 300 and 599`);
    const entry: { uri: string; overrideStatus?: number; useUriStatus?: boolean } = { uri };
    if (overrideStatus !== undefined) entry.overrideStatus = overrideStatus;
    if (useUriStatus) entry.useUriStatus = true;
    sc.settings.errorPages.set(n, entry);
  }
}

const LOG_LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;

function errorLogDirective(d: Directive, c: Ctx, st: LoadState): void {
  let level: ErrorLogConf['level'] = 'error';
  for (const a of d.args.slice(1)) {
    if (!(LOG_LEVELS as readonly string[]).includes(a)) fail(d, `invalid log level "${a}"`);
    level = a as ErrorLogConf['level'];
  }
  if (c.type !== 'main') return; // http/server/location error_log: accepted, not used yet
  const f = d.args[0];
  const file = f === 'stderr' || f.startsWith('syslog:') ? f : resolvePrefix(st.prefix, f);
  if (!st.errorLogSet) {
    st.main.errorLogs = [];
    st.errorLogSet = true;
    st.main.errorLogConfigured = true;
  }
  st.main.errorLogs.push({ file, level });
}

function sharedDictDirective(d: Directive, _c: Ctx, st: LoadState): void {
  const [name, sizeStr] = d.args;
  if (name.length === 0) fail(d, `invalid lua shared dict name "${name}"`);
  const size = parseSize(sizeStr);
  if (size === null || size <= 8191) fail(d, `invalid lua shared dict size "${sizeStr}"`);
  const dicts = st.http!.sharedDicts;
  const prev = dicts.get(name);
  if (prev !== undefined) {
    if (prev !== size) fail(d, `the size ${size} of shared memory zone "${name}" conflicts with already declared size ${prev}`);
    fail(d, `lua_shared_dict "${name}" is already defined as "${name}"`);
  }
  dicts.set(name, size);
}

// ---- the table ------------------------------------------------------------------------

/** A main-context directive with one argument that may appear once. */
function mainSetting(name: string, apply: (d: Directive, st: LoadState) => unknown): DirectiveSpec {
  return {
    name,
    ctx: MAIN,
    args: [1, 1],
    handler(d, _b, _c, st) {
      once(st.mainSeen, d);
      apply(d, st);
    },
  };
}

const SL = HTTP | SRV | LOC;
const SLI = HTTP | SRV | LOC | LIF;

/** what the module files (proxy, gzip, limit_req; echo and headers-more in part) get */
const slHelpers = {
  ctx: SL,
  template: (s: string, at: ConfPos) => compileTemplate(s, at),
  fail,
  settingsOf: (c: unknown) => scopeOf(c as Ctx).settings,
  once: (c: unknown, d: Directive) => once(scopeOf(c as Ctx).seen, d),
  flag: flagValue,
};

const specs: DirectiveSpec[] = [
  // core (main)
  {
    name: 'worker_processes',
    ctx: MAIN,
    args: [1, 1],
    handler(d, _b, _c, st) {
      once(st.mainSeen, d);
      if (d.args[0] === 'auto') st.main.workerProcesses = Math.max(1, cpus().length);
      else {
        const n = parseNumber(d.args[0]);
        if (n === null) fail(d, `"${d.name}" directive invalid value`);
        st.main.workerProcesses = n;
      }
    },
  },
  { name: 'error_log', ctx: MAIN | HTTP | SRV | LOC, args: [1, Infinity], handler: (d, _b, c, st) => errorLogDirective(d, c, st) },
  mainSetting('pid', (d, st) => (st.main.pid = resolvePrefix(st.prefix, d.args[0]))),
  mainSetting('daemon', (d, st) => (st.main.daemon = flagValue(d))),
  mainSetting('master_process', (d, st) => (st.main.masterProcess = flagValue(d))),
  mainSetting('worker_rlimit_nofile', (d, st) => (st.main.workerRlimitNofile = numValue(d))),
  mainSetting('worker_shutdown_timeout', (d, st) => (st.main.workerShutdownTimeout = timeValue(d))),
  // the kernel places the workers: Node cannot pin a process (docs/processes.md)
  ignored('worker_cpu_affinity', MAIN, [1, Infinity]),
  {
    name: 'env',
    ctx: MAIN,
    args: [1, 1],
    handler(d, _b, _c, st) {
      (st.main.env ??= []).push(d.args[0]);
    },
  },
  {
    name: 'user',
    ctx: MAIN,
    args: [1, 2],
    handler(d, _b, _c, st) {
      once(st.mainSeen, d);
      st.main.user = d.args.join(' ');
    },
  },
  ignored('load_module', MAIN, [1, 1]),
  ignored('pcre_jit', MAIN, [1, 1], 'flag'),
  {
    name: 'include',
    ctx: ANY,
    args: [1, 1],
    handler(d, _b, c, st) {
      st.include(d.args[0], c, pos(d));
    },
  },
  {
    name: 'events',
    ctx: MAIN,
    args: [0, 0],
    block: true,
    handler(d, body, _c, st) {
      if (st.eventsSeen) fail(d, `"${d.name}" directive is duplicate`);
      st.eventsSeen = true;
      body!.read(st.visitor({ type: 'events' }));
    },
  },
  {
    name: 'worker_connections',
    ctx: EVENTS,
    args: [1, 1],
    handler(d, _b, _c, st) {
      once(st.eventsSeenNames, d);
      st.main.workerConnections = numValue(d);
    },
  },
  {
    name: 'use',
    ctx: EVENTS,
    args: [1, 1],
    handler(d, _b, _c, st) {
      once(st.eventsSeenNames, d);
    },
  },
  ignored('multi_accept', EVENTS, [1, 1], 'flag'),
  ignored('accept_mutex', EVENTS, [1, 1], 'flag'),

  // http core
  {
    name: 'http',
    ctx: MAIN,
    args: [0, 0],
    block: true,
    handler(d, body, _c, st) {
      if (st.http) fail(d, `"${d.name}" directive is duplicate`);
      st.http = {
        luaPackagePath: null,
        luaPackageCpath: null,
        initByLua: null,
        initWorkerByLua: null,
        sharedDicts: new Map(),
        luaMaxPendingTimers: 1024,
        luaRegexMatchLimit: 0,
        luaRegexCacheMaxEntries: 1024,
        luaMaxRunningTimers: 256,
        luaYieldEverywhere: false,
        maps: new Map(),
        luaMaxRunningTime: 0,
        luaMaxMemory: 0,
        declaredVars: new Set(),
        upstreams: new Map(),
        limitReqZones: new Map(),
        servers: [],
      };
      st.httpScope = newScope();
      body!.read(st.visitor({ type: 'http', scope: st.httpScope }));
    },
  },
  {
    name: 'server',
    ctx: HTTP,
    args: [0, 0],
    block: true,
    handler(d, body, _c, st) {
      const conf: ServerConf = {
        listens: [],
        serverNames: [],
        rewrite: [],
        locations: [],
        settings: undefined as unknown as LocSettings,
        handlers: {},
        clientHeaderBufferSize: 1024,
        largeClientHeaderBuffers: { num: 4, size: 8192 },
        file: d.file,
        line: d.line,
      };
      const sb: ServerBuild = { conf, scope: newScope(), locs: [], hasServerName: false, listenKeys: new Set() };
      st.servers.push(sb);
      body!.read(st.visitor({ type: 'server', scope: sb.scope, server: sb }));
    },
  },
  { name: 'listen', ctx: SRV, args: [1, Infinity], handler: (d, _b, c, st) => listenDirective(d, c, st) },
  {
    name: 'server_name',
    ctx: SRV,
    args: [1, Infinity],
    handler(d, _b, c) {
      const sb = c.server!;
      sb.hasServerName = true;
      for (const a of d.args) {
        if (a.startsWith('~')) {
          compileRegex(a.slice(1), false, pos(d));
          sb.conf.serverNames.push(a);
        } else {
          sb.conf.serverNames.push(a.toLowerCase());
        }
      }
    },
  },
  { name: 'location', ctx: SRV | LOC, args: [1, 2], block: true, handler: locationDirective },
  {
    name: 'types',
    ctx: SL,
    args: [0, 0],
    block: true,
    handler(d, body, c, st) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      const types = new Map<string, string>();
      // inside: `mime/type ext ...;` lines, and `include` of files made of them (mime.types)
      const visit: Visitor = (t, tb) => {
        if (t.block || tb) fail(t, `unexpected "{"`);
        if (t.name === 'include') {
          if (t.args.length !== 1) fail(t, `invalid number of arguments in "include" directive`);
          st.includeWith(t.args[0], visit, pos(t));
          return;
        }
        if (t.args.length === 0) fail(t, `invalid number of arguments in "${t.name}" directive`);
        for (const ext of t.args) types.set(ext.toLowerCase(), t.name);
      };
      body!.read(visit);
      sc.settings.types = types;
    },
  },
  {
    name: 'add_header',
    ctx: SL | LIF,
    args: [2, 3],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      if (d.args[2] !== undefined && d.args[2] !== 'always') fail(d, `invalid parameter "${d.args[2]}"`);
      const list = (sc.settings.addHeaders ??= []);
      list.push({ name: d.args[0], value: compileTemplate(d.args[1], pos(d)), always: d.args[2] === 'always' });
    },
  },
  {
    name: 'expires',
    ctx: SL | LIF,
    args: [1, 2],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      let v = d.args[0];
      if (d.args.length === 2) {
        if (v !== 'modified') fail(d, `invalid value "${v}" in "${d.name}" directive`);
        v = d.args[1];
      }
      if (v === 'off') {
        // kept as a value: an inner level's off must override an outer level's time
        sc.settings.expires = { kind: 'off', ms: 0 };
      } else if (v === 'epoch' || v === 'max') {
        sc.settings.expires = { kind: v, ms: 0 };
      } else {
        const neg = v.startsWith('-');
        const t = parseTime(neg ? v.slice(1) : v.replace(/^\+/, ''));
        if (t === null) fail(d, `invalid value "${d.args[d.args.length - 1]}" in "${d.name}" directive`);
        sc.settings.expires = { kind: 'time', ms: neg ? -t : t };
      }
    },
  },
  {
    name: 'alias',
    ctx: LOC,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      if (sc.settings.alias !== undefined) fail(d, `"alias" directive is duplicate`);
      if (sc.settings.root !== undefined) fail(d, `"alias" directive is duplicate, "root" directive was specified earlier`);
      sc.settings.alias = d.args[0];
    },
  },
  {
    name: 'try_files',
    ctx: SRV | LOC,
    args: [2, Infinity],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      sc.settings.tryFiles = d.args;
    },
  },
  setting('default_type', SL, 'defaultType', 'str'),
  setting('client_max_body_size', SL, 'clientMaxBodySize', 'offset'),
  setting('client_body_buffer_size', SL, 'clientBodyBufferSize', 'size'),
  oneOf('client_body_in_file_only', 'clientBodyInFileOnly', ['on', 'off', 'clean']),
  ignored('client_body_in_single_buffer', SL, [1, 1], 'flag'),
  setting('etag', SL, 'etag', 'flag'),
  setting('lua_use_default_type', SLI, 'luaUseDefaultType', 'flag'),
  ignored('postpone_output', SLI, [1, 1]),
  ignored('if_modified_since', SL, [1, 1]),
  ignored('lua_malloc_trim', HTTP, [1, 1]),
  ignored('lua_sa_restart', HTTP, [1, 1], 'flag'),
  {
    name: 'lua_load_resty_core',
    ctx: HTTP,
    args: [1, 1],
    handler(d, _b, c, st) {
      once(scopeOf(c).seen, d);
      flagValue(d);
      (st.main.warnings ??= []).push(`lua_load_resty_core is deprecated (the lua-resty-core library is required since ngx_lua v0.10.16) in ${d.file}:${d.line}`);
    },
  },
  // the auth_request module
  {
    name: 'auth_request',
    ctx: SL,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      sc.settings.authRequest = d.args[0] === 'off' ? null : d.args[0];
    },
  },
  {
    name: 'auth_request_set',
    ctx: SL,
    args: [2, 2],
    handler(d, _b, c, st) {
      const sc = scopeOf(c);
      const name = checkVarName(d, d.args[0]);
      st.http!.declaredVars.add(name);
      sc.settings.authRequestSet = [...(sc.settings.authRequestSet ?? []), { name, value: compileTemplate(d.args[1], pos(d)) }];
    },
  },
  {
    name: 'client_header_buffer_size',
    ctx: HTTP | SRV,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      sc.clientHeaderBufferSize = sizeValue(d);
    },
  },
  {
    name: 'large_client_header_buffers',
    ctx: HTTP | SRV,
    args: [2, 2],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      const num = parseNumber(d.args[0]);
      const size = parseSize(d.args[1]);
      if (num === null || num === 0 || size === null || size === 0) fail(d, `"${d.name}" directive invalid value`);
      sc.largeClientHeaderBuffers = { num, size };
    },
  },
  {
    name: 'keepalive_timeout',
    ctx: SL,
    args: [1, 2],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      sc.settings.keepaliveTimeout = timeValue(d);
      // the header states whole seconds, as nginx's ngx_parse_time(.., 1) reads it
      if (d.args[1] !== undefined) sc.settings.keepaliveHeader = Math.floor(timeValue(d, d.args[1]) / 1000);
    },
  },
  setting('keepalive_requests', SL, 'keepaliveRequests', 'num'),
  setting('keepalive_time', SL, 'keepaliveTime', 'time'),
  setting('send_timeout', SL, 'sendTimeout', 'time'),
  setting('client_header_timeout', HTTP | SRV, 'clientHeaderTimeout', 'time'),
  setting('client_body_timeout', SL, 'clientBodyTimeout', 'time'),
  oneOf('lingering_close', 'lingeringClose', ['off', 'on', 'always']),
  setting('lingering_time', SL, 'lingeringTime', 'time'),
  setting('lingering_timeout', SL, 'lingeringTimeout', 'time'),
  setting('reset_timedout_connection', SL, 'resetTimedoutConnection', 'flag'),
  setting('chunked_transfer_encoding', SL, 'chunkedTransferEncoding', 'flag'),
  {
    name: 'server_tokens',
    ctx: SL,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      const v = d.args[0];
      if (v === 'build') sc.settings.serverTokens = true;
      else if (v === 'on' || v === 'off') sc.settings.serverTokens = v === 'on';
      else fail(d, `invalid value "${v}"`);
    },
  },
  {
    name: 'root',
    ctx: SL | LIF,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      if (sc.settings.alias !== undefined) fail(d, `"root" directive is duplicate, "alias" directive was specified earlier`);
      sc.settings.root = d.args[0];
    },
  },
  {
    name: 'index',
    ctx: SL,
    args: [1, Infinity],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      sc.settings.index = [...(sc.settings.index ?? []), ...d.args];
    },
  },
  {
    name: 'resolver',
    ctx: SL,
    args: [1, Infinity],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      sc.settings.resolver = d.args.filter((a) => !a.includes('='));
    },
  },
  setting('resolver_timeout', SL, 'resolverTimeout', 'time'),
  {
    name: 'internal',
    ctx: LOC,
    args: [0, 0],
    handler(_d, _b, c) {
      c.loc!.conf.internal = true;
    },
  },
  ...(['allow', 'deny'] as const).map((name): DirectiveSpec => ({
    name,
    ctx: SLI,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      const rule = parseAccessRule(d.args[0], name === 'deny');
      if (!rule) fail(d, `invalid parameter "${d.args[0]}"`);
      sc.settings.access = [...(sc.settings.access ?? []), rule];
    },
  })),
  setting('absolute_redirect', SLI, 'absoluteRedirect', 'flag'),
  setting('server_name_in_redirect', SLI, 'serverNameInRedirect', 'flag'),
  setting('port_in_redirect', SLI, 'portInRedirect', 'flag'),
  { name: 'error_page', ctx: SLI, args: [2, Infinity], handler: (d, _b, c) => errorPageDirective(d, c) },
  ignored('access_log', SLI, [1, Infinity]),
  ignored('log_format', HTTP, [2, Infinity]),
  ignored('sendfile', SLI, [1, 1], 'flag'),
  ignored('tcp_nopush', SL, [1, 1], 'flag'),
  ignored('tcp_nodelay', SL, [1, 1], 'flag'),
  // the charset module: the Content-Type's charset parameter (no recoding)
  {
    name: 'charset',
    ctx: SLI,
    args: [1, 1],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      sc.settings.charset = d.args[0] === 'off' ? null : d.args[0];
    },
  },
  {
    name: 'charset_types',
    ctx: SL,
    args: [1, Infinity],
    handler(d, _b, c) {
      const sc = scopeOf(c);
      once(sc.seen, d);
      sc.settings.charsetTypes = new Set(d.args.includes('*') ? ['*'] : d.args.map((a) => a.toLowerCase()));
    },
  },
  ignored('source_charset', SLI, [1, 1]),
  ignored('override_charset', SLI, [1, 1], 'flag'),
  // where nginx keeps request bodies and upstream responses on disk: ngxlua keeps them in memory
  // (Test::Nginx writes these into every conf)
  ...['client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path']
    .map((n) => ignored(n, SLI, [1, 4])),

  // rewrite module
  {
    name: 'set',
    ctx: SRV | SIF | LOC | LIF,
    args: [2, 2],
    handler(d, _b, c, st) {
      const sc = scopeOf(c);
      const name = checkVarName(d, d.args[0]);
      sc.rewrite.push({ op: 'set', name, value: compileTemplate(d.args[1], pos(d)), file: d.file, line: d.line });
      st.http!.declaredVars.add(name);
    },
  },
  { name: 'return', ctx: SRV | SIF | LOC | LIF, args: [1, 2], handler: (d, _b, c) => returnDirective(d, c) },
  { name: 'rewrite', ctx: SRV | SIF | LOC | LIF, args: [2, 3], handler: (d, _b, c) => rewriteDirective(d, c) },
  { name: 'if', ctx: SRV | SIF | LOC | LIF, args: [1, Infinity], block: true, handler: ifDirective },
  {
    name: 'break',
    ctx: SRV | SIF | LOC | LIF,
    args: [0, 0],
    handler(d, _b, c) {
      scopeOf(c).rewrite.push({ op: 'break', file: d.file, line: d.line });
    },
  },

  // ngx_lua
  {
    name: 'lua_package_path',
    ctx: HTTP,
    args: [1, 1],
    handler(d, _b, c, st) {
      once(scopeOf(c).seen, d);
      st.http!.luaPackagePath = expandPath(d.args[0], DEFAULT_LUA_PATH, st.prefix);
    },
  },
  {
    name: 'lua_package_cpath',
    ctx: HTTP,
    args: [1, 1],
    handler(d, _b, c, st) {
      once(scopeOf(c).seen, d);
      st.http!.luaPackageCpath = expandPath(d.args[0], DEFAULT_LUA_CPATH, st.prefix);
    },
  },
  {
    ...setting('lua_code_cache', SLI, 'luaCodeCache', 'flag'),
    handler(d, b, c, st) {
      setting('lua_code_cache', SLI, 'luaCodeCache', 'flag').handler(d, b, c, st);
      // ngx_lua says so at every start
      if (d.args[0] === 'off') (st.main.alerts ??= []).push(`lua_code_cache is off; this will hurt performance in ${d.file}:${d.line}`);
    },
  },
  { name: 'lua_shared_dict', ctx: HTTP, args: [2, 2], handler: (d, _b, c, st) => sharedDictDirective(d, c, st) },
  httpNumber('lua_max_pending_timers', 'luaMaxPendingTimers'),
  httpNumber('lua_max_running_timers', 'luaMaxRunningTimers'),
  httpNumber('lua_regex_match_limit', 'luaRegexMatchLimit'),
  {
    name: 'map',
    ctx: HTTP,
    args: [2, 2],
    block: true,
    handler(d, body, _c, st) {
      const [src, dst] = d.args;
      if (!dst.startsWith('$')) fail(d, `invalid variable name "${dst}"`);
      const name = dst.slice(1).toLowerCase();
      const def: MapDef = { source: compileTemplate(src, pos(d)), exact: new Map(), regexes: [], default: null, volatile: false };
      const visit: Visitor = (m, mb) => {
        if (m.block || mb) fail(m, `unexpected "{"`);
        if (m.name === 'include' && m.args.length === 1) return st.includeWith(m.args[0], visit, pos(m));
        if (m.args.length === 0 && (m.name === 'volatile' || m.name === 'hostnames')) {
          if (m.name === 'volatile') def.volatile = true;
          return;
        }
        if (m.args.length !== 1) fail(m, `invalid number of the map parameters`);
        const value = compileTemplate(m.args[0], pos(m));
        if (m.name === 'default') {
          if (def.default !== null) fail(m, `duplicate default map parameter`);
          def.default = value;
        } else if (m.name.startsWith('~')) {
          const caseless = m.name.startsWith('~*');
          def.regexes.push({ re: compileRegex(m.name.slice(caseless ? 2 : 1), caseless, pos(m)), value });
        } else {
          const key = (m.name.startsWith('\\') ? m.name.slice(1) : m.name).toLowerCase();
          if (def.exact.has(key)) fail(m, `duplicate "${m.name}" variable`);
          def.exact.set(key, value);
        }
      };
      body!.read(visit);
      st.http!.maps.set(name, def);
      st.http!.declaredVars.add(name);
    },
  },
  {
    name: 'lua_max_running_time',
    ctx: HTTP,
    args: [1, 1],
    handler(d, _b, c, st) {
      once(scopeOf(c).seen, d);
      st.http!.luaMaxRunningTime = timeValue(d);
    },
  },
  {
    name: 'lua_max_memory',
    ctx: HTTP,
    args: [1, 1],
    handler(d, _b, c, st) {
      once(scopeOf(c).seen, d);
      st.http!.luaMaxMemory = sizeValue(d);
    },
  },
  httpNumber('lua_regex_cache_max_entries', 'luaRegexCacheMaxEntries'),
  {
    name: 'lua_yield_everywhere',
    ctx: HTTP,
    args: [1, 1],
    handler(d, _b, c, st) {
      once(scopeOf(c).seen, d);
      st.http!.luaYieldEverywhere = flagValue(d);
    },
  },
  setting('lua_socket_connect_timeout', SL, 'luaSocketConnectTimeout', 'time'),
  setting('lua_socket_send_timeout', SL, 'luaSocketSendTimeout', 'time'),
  setting('lua_socket_read_timeout', SL, 'luaSocketReadTimeout', 'time'),
  setting('lua_socket_buffer_size', SL, 'luaSocketBufferSize', 'size'),
  setting('lua_socket_pool_size', SL, 'luaSocketPoolSize', 'num'),
  setting('lua_socket_keepalive_timeout', SL, 'luaSocketKeepaliveTimeout', 'time'),
  setting('lua_socket_log_errors', SL, 'luaSocketLogErrors', 'flag'),
  setting('lua_check_client_abort', SLI, 'luaCheckClientAbort', 'flag'),
  setting('lua_need_request_body', SLI, 'luaNeedRequestBody', 'flag'),
  setting('lua_transform_underscores_in_response_headers', SLI, 'luaTransformUnderscoresInResponseHeaders', 'flag'),
  setting('rewrite_by_lua_no_postpone', HTTP, 'rewriteByLuaNoPostpone', 'flag'),
  setting('access_by_lua_no_postpone', HTTP, 'accessByLuaNoPostpone', 'flag'),
  ...luaDirectives(),
  ...(headersMoreDirectives({
    ctx: HTTP | SRV | LOC | LIF,
    template: (s, at) => compileTemplate(s, at),
    fail,
    settingsOf: (c) => scopeOf(c as Ctx).settings,
    once: slHelpers.once,
  }) as DirectiveSpec[]),
  ...(proxyDirectives({
    ...slHelpers,
    ctx: SL | LIF,
    time: (d, v) => timeValue(d, v ?? d.args[0]),
    http: (st) => (st as LoadState).http!,
    location: (c) => {
      const x = c as Ctx;
      const l = x.loc?.conf;
      return l ? { name: l.pattern, modifier: l.modifier, inIf: x.type === 'lif' } : null;
    },
    balancerHandler: (d, body, st, form) => {
      return makeHandler('balancer', form, d, body, st as LoadState, d.args[0]);
    },
    known: (name) => DIRECTIVES.has(name),
  }) as DirectiveSpec[]),
  ...(gzipDirectives({ ...slHelpers, warn: (st, msg) => (st as LoadState).main.warnings!.push(msg) }) as DirectiveSpec[]),
  ...(limitReqDirectives({ ...slHelpers, http: (st) => (st as LoadState).http! }) as DirectiveSpec[]),
  ...(echoDirectives({
    ctx: LOC | LIF,
    template: (s, at) => compileTemplate(s, at),
    fail,
    settingsOf: (c) => scopeOf(c as Ctx).settings,
    once: slHelpers.once,
  }) as DirectiveSpec[]),
];

export const DIRECTIVES: ReadonlyMap<string, DirectiveSpec> = new Map(specs.map((s) => [s.name, s]));

/** Directives that are parsed and checked but have no effect in ngxlua (for the docs). */
export const IGNORED_DIRECTIVES: readonly string[] = [
  'load_module',
  'pcre_jit',
  'user',
  'worker_rlimit_nofile',
  'use',
  'multi_accept',
  'accept_mutex',
  'access_log',
  'log_format',
  'sendfile',
  'tcp_nopush',
  'tcp_nodelay',
  'source_charset',
  'override_charset',
  'client_body_temp_path',
  'proxy_temp_path',
  'fastcgi_temp_path',
  'uwsgi_temp_path',
  'scgi_temp_path',
  'error_log (in http, server and location)',
  'worker_cpu_affinity',
  'listen parameters: deferred, bind, http2, backlog=, rcvbuf=, sndbuf=, so_keepalive=, ipv6only=, fastopen=',
];

/** The check nginx's ngx_conf_handler does before calling a directive's handler. */
export function dispatch(d: Directive, body: BlockBody | null, ctx: Ctx, st: LoadState): void {
  const spec = DIRECTIVES.get(d.name);
  if (!spec) fail(d, `unknown directive "${d.name}"`);
  if (!(spec.ctx & CTX_BIT[ctx.type])) fail(d, `"${d.name}" directive is not allowed here`);
  if (!spec.block && d.block) fail(d, `directive "${d.name}" is not terminated by ";"`);
  if (spec.block && !d.block) fail(d, `directive "${d.name}" has no opening "{"`);
  if (d.args.length < spec.args[0] || d.args.length > spec.args[1]) {
    fail(d, `invalid number of arguments in "${d.name}" directive`);
  }
  spec.handler(d, body, ctx, st);
}
