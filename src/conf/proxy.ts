// The directives of nginx's proxy and upstream modules (and ngx_lua's balancer_by_lua*, which
// lives in an upstream block): what src/http/proxy.ts and src/http/upstream.ts run. A proxy_pass
// with a fixed URL is linked to its upstream once the whole conf is read, since an upstream
// block may come after the location that names it.

import type { BlockBody, Directive, Visitor } from './parser.js';
import type { HttpConf, LocSettings, LuaHandler, ProxyPass, Template, UpstreamConf, UpstreamServer } from './model.js';
import { ConfError, type ConfPos } from './errors.js';
import { HTTP, LOC, LIF, type ModuleConfHelpers, type ModuleDirective } from './modspec.js';
import { parseNumber, parseTime } from './units.js';
import { execFileSync } from 'node:child_process';

export interface ProxyConfHelpers extends ModuleConfHelpers {
  flag: (d: Directive) => boolean;
  time: (d: Directive, v?: string) => number;
  http: (st: unknown) => HttpConf;
  /** the location a directive sits in: its name, modifier, and whether inside an `if` */
  location: (c: unknown) => { name: string; modifier: string; inIf: boolean } | null;
  /** a balancer_by_lua* handler in nginx's form (chunk name "=balancer_by_lua") */
  balancerHandler: (d: Directive, body: BlockBody | null, st: unknown, form: 'block' | 'file' | 'string') => LuaHandler;
  /** whether `name` is a directive of some other context (for "is not allowed here") */
  known: (name: string) => boolean;
}

const pendingPasses = new WeakMap<HttpConf, ProxyPass[]>();

const at = (d: Directive): ConfPos => ({ file: d.file, line: d.line });

/** `host[:port]` or `unix:/path` of a `server` line or a URL; null when the port is bad. */
export function parseServerAddr(s: string, defaultPort: number): { host: string; port: number; name: string } | null {
  if (s.toLowerCase().startsWith('unix:')) return { host: s, port: 0, name: s };
  let host = s;
  let port = defaultPort;
  let portGiven = false;
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(s);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) {
      portGiven = true;
      port = Number(v6[2]);
    }
  } else {
    const c = s.lastIndexOf(':');
    if (c >= 0) {
      host = s.slice(0, c);
      portGiven = true;
      port = Number(s.slice(c + 1));
    }
  }
  if (portGiven && (!/^\d+$/.test(String(port)) || port < 1 || port > 65535)) return null;
  if (host === '') return null;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { host, port, name: `${shown}:${port}` };
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/**
 * The addresses of a host name, as nginx gets them from getaddrinfo at start-up: through
 * getent(1), which asks the same resolver synchronously. null when the name does not resolve;
 * undefined when getent cannot be run (the name is then resolved at first use).
 */
function lookupSync(name: string): string[] | null | undefined {
  try {
    const out = execFileSync('getent', ['ahosts', name], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    const addrs: string[] = [];
    for (const line of out.split('\n')) {
      const a = line.split(/\s+/)[0];
      if (a && !addrs.includes(a)) addrs.push(a);
    }
    return addrs.length ? addrs : null;
  } catch (e) {
    return (e as { status?: number }).status === 2 ? null : undefined;
  }
}

/** The servers an address stands for (one per address a host name resolves to). */
function newServers(addr: { host: string; port: number; name: string }, at: ConfPos, shown: string): UpstreamServer[] {
  const mk = (host: string, name: string, resolve: boolean): UpstreamServer => ({
    name, host, port: addr.port, resolve, weight: 1, maxFails: 1, failTimeout: 10_000, backup: false, down: false,
  });
  if (isIp(addr.host) || addr.host.toLowerCase().startsWith('unix:')) return [mk(addr.host, addr.name, false)];
  const found = lookupSync(addr.host);
  if (found === null) throw new ConfError(`host not found in upstream "${shown}"`, at);
  if (found === undefined) return [mk(addr.host, addr.name, true)];
  return found.map((a) => mk(a, a.includes(':') ? `[${a}]:${addr.port}` : `${a}:${addr.port}`, false));
}

/** Link every fixed proxy_pass URL to its upstream block, or to an implicit one of its own. */
export function linkUpstreams(http: HttpConf): void {
  for (const p of pendingPasses.get(http) ?? []) {
    const hp = p.hostPort!;
    const block = http.upstreams.get(hp.toLowerCase());
    if (block && !block.implicit) {
      p.upstream = block;
      continue;
    }
    let up = http.upstreams.get(hp.toLowerCase());
    if (!up) {
      const addr = parseServerAddr(hp, 80);
      if (!addr) throw new ConfError(`invalid port in upstream "${hp}"`, { file: p.file, line: p.line });
      up = { name: hp, servers: newServers(addr, { file: p.file, line: p.line }, hp), keepalive: 0, keepaliveTimeout: 60_000, keepaliveRequests: 1000, balancer: null, implicit: true, file: p.file, line: p.line };
      http.upstreams.set(hp.toLowerCase(), up);
    }
    p.upstream = up;
  }
  for (const up of http.upstreams.values()) {
    if (!up.implicit && up.servers.length === 0) throw new ConfError('no servers are inside upstream', { file: up.file, line: up.line });
  }
}

const NEXT_UPSTREAM = new Set(['error', 'timeout', 'invalid_header', 'http_500', 'http_502', 'http_503', 'http_504', 'http_403', 'http_404', 'http_429', 'non_idempotent', 'off']);

export function proxyDirectives(h: ProxyConfHelpers): ModuleDirective[] {
  const settings = (c: unknown): Partial<LocSettings> => h.settingsOf(c);
  const { once } = h;
  const SL = h.ctx;
  const flag = (name: string, key: 'proxyPassRequestHeaders' | 'proxyPassRequestBody' | 'proxyBuffering' | 'proxyInterceptErrors' | 'proxyIgnoreClientAbort'): ModuleDirective => ({
    name,
    ctx: SL,
    args: [1, 1],
    handler: (d, _b, c) => {
      once(c, d);
      settings(c)[key] = h.flag(d);
    },
  });
  const time = (name: string, key: 'proxyConnectTimeout' | 'proxySendTimeout' | 'proxyReadTimeout' | 'proxyNextUpstreamTimeout'): ModuleDirective => ({
    name,
    ctx: SL,
    args: [1, 1],
    handler: (d, _b, c) => {
      once(c, d);
      settings(c)[key] = h.time(d);
    },
  });
  // accepted for the confs that tune them; ngxlua streams the upstream's bytes as they come
  const tuning = (name: string, args: [number, number]): ModuleDirective => ({ name, ctx: SL, args, handler: () => undefined });

  return [
    {
      name: 'proxy_pass',
      ctx: LOC | LIF,
      args: [1, 1],
      handler: (d, _b, c, st) => {
        const s = settings(c);
        if (s.proxyPass) h.fail(d, `"${d.name}" directive is duplicate`);
        const url = d.args[0];
        const loc = h.location(c);
        const tpl = h.template(url, at(d));
        const pass: ProxyPass = { url: tpl, locationName: loc?.name ?? '', file: d.file, line: d.line };
        if (tpl.constant) {
          const m = /^([a-zA-Z]+):\/\/([^/?]*)(.*)$/.exec(url);
          if (!m) h.fail(d, 'invalid URL prefix');
          const scheme = m[1].toLowerCase();
          if (scheme === 'https') h.fail(d, `https protocol requires SSL support`);
          if (scheme !== 'http') h.fail(d, 'invalid URL prefix');
          if (m[2] === '') h.fail(d, `no host in upstream "${url.slice(m[1].length + 3)}"`);
          pass.hostPort = m[2];
          pass.uri = m[3];
          if (pass.uri && loc && (loc.modifier === '~' || loc.modifier === '~*' || loc.modifier === '@' || loc.inIf)) {
            h.fail(d, `"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block`);
          }
          const http = h.http(st);
          let list = pendingPasses.get(http);
          if (!list) pendingPasses.set(http, (list = []));
          list.push(pass);
        } else if (!/^[a-zA-Z$]/.test(url)) {
          h.fail(d, 'invalid URL prefix');
        }
        s.proxyPass = pass;
      },
    },
    {
      name: 'proxy_set_header',
      ctx: SL,
      args: [2, 2],
      handler: (d, _b, c) => {
        const s = settings(c);
        (s.proxySetHeaders ??= []).push({ name: d.args[0], value: h.template(d.args[1], at(d)) });
      },
    },
    {
      name: 'proxy_http_version',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        const v = d.args[0];
        if (v !== '1.0' && v !== '1.1') h.fail(d, `invalid value "${v}"`);
        settings(c).proxyHttpVersion = v === '1.1' ? 11 : 10;
      },
    },
    flag('proxy_pass_request_headers', 'proxyPassRequestHeaders'),
    flag('proxy_pass_request_body', 'proxyPassRequestBody'),
    flag('proxy_buffering', 'proxyBuffering'),
    flag('proxy_intercept_errors', 'proxyInterceptErrors'),
    flag('proxy_ignore_client_abort', 'proxyIgnoreClientAbort'),
    {
      name: 'proxy_hide_header',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        const s = settings(c);
        s.proxyHideHeaders = [...(s.proxyHideHeaders ?? []), d.args[0].toLowerCase()];
      },
    },
    {
      name: 'proxy_pass_header',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        const s = settings(c);
        s.proxyPassHeaders = [...(s.proxyPassHeaders ?? []), d.args[0].toLowerCase()];
      },
    },
    {
      name: 'proxy_redirect',
      ctx: SL,
      args: [1, 2],
      handler: (d, _b, c) => {
        const s = settings(c);
        const [a, b] = d.args;
        if (d.args.length === 1) {
          if (a === 'off') s.proxyRedirect = false;
          else if (a === 'default') s.proxyRedirect = 'default';
          else h.fail(d, `invalid parameter "${a}"`);
          return;
        }
        const rules = Array.isArray(s.proxyRedirect) ? s.proxyRedirect : [];
        let from: Template | RegExp;
        if (a.startsWith('~*')) from = new RegExp(a.slice(2), 'i');
        else if (a.startsWith('~')) from = new RegExp(a.slice(1));
        else from = h.template(a, at(d));
        rules.push({ from, to: h.template(b, at(d)) });
        s.proxyRedirect = rules;
      },
    },
    time('proxy_connect_timeout', 'proxyConnectTimeout'),
    time('proxy_send_timeout', 'proxySendTimeout'),
    time('proxy_read_timeout', 'proxyReadTimeout'),
    time('proxy_next_upstream_timeout', 'proxyNextUpstreamTimeout'),
    {
      name: 'proxy_next_upstream',
      ctx: SL,
      args: [1, Infinity],
      handler: (d, _b, c) => {
        once(c, d);
        for (const a of d.args) if (!NEXT_UPSTREAM.has(a)) h.fail(d, `invalid value "${a}"`);
        settings(c).proxyNextUpstream = new Set(d.args.includes('off') ? [] : d.args);
      },
    },
    {
      name: 'proxy_next_upstream_tries',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        const n = parseNumber(d.args[0]);
        if (n === null) h.fail(d, `"${d.name}" directive invalid number`);
        settings(c).proxyNextUpstreamTries = n;
      },
    },
    {
      name: 'proxy_method',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        settings(c).proxyMethod = h.template(d.args[0], at(d));
      },
    },
    {
      name: 'proxy_set_body',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        settings(c).proxySetBody = h.template(d.args[0], at(d));
      },
    },
    tuning('proxy_buffer_size', [1, 1]),
    tuning('proxy_buffers', [2, 2]),
    tuning('proxy_busy_buffers_size', [1, 1]),
    tuning('proxy_max_temp_file_size', [1, 1]),
    tuning('proxy_temp_file_write_size', [1, 1]),
    tuning('proxy_request_buffering', [1, 1]),
    tuning('proxy_headers_hash_max_size', [1, 1]),
    tuning('proxy_headers_hash_bucket_size', [1, 1]),
    tuning('proxy_socket_keepalive', [1, 1]),
    tuning('proxy_ignore_headers', [1, Infinity]),
    upstreamBlock(h),
  ];
}

function upstreamBlock(h: ProxyConfHelpers): ModuleDirective {
  return {
    name: 'upstream',
    ctx: HTTP,
    args: [1, 1],
    block: true,
    handler: (d, body, _c, st) => {
      const http = h.http(st);
      const name = d.args[0].toLowerCase();
      const prev = http.upstreams.get(name);
      if (prev && !prev.implicit) h.fail(d, `duplicate upstream "${d.args[0]}"`);
      const up: UpstreamConf = { name: d.args[0], servers: [], keepalive: 0, keepaliveTimeout: 60_000, keepaliveRequests: 1000, balancer: null, implicit: false, file: d.file, line: d.line };
      http.upstreams.set(name, up);
      const seen = new Set<string>();
      const single = (t: Directive) => {
        if (seen.has(t.name)) h.fail(t, `"${t.name}" directive is duplicate`);
        seen.add(t.name);
      };
      const nargs = (t: Directive, min: number, max: number) => {
        if (t.args.length < min || t.args.length > max) h.fail(t, `invalid number of arguments in "${t.name}" directive`);
      };
      const visit: Visitor = (t, tb) => {
        const isBlockForm = t.name === 'balancer_by_lua_block';
        if (isBlockForm !== Boolean(t.block)) {
          h.fail(t, t.block ? `directive "${t.name}" is not terminated by ";"` : `directive "${t.name}" has no opening "{"`);
        }
        switch (t.name) {
          case 'server':
            nargs(t, 1, Infinity);
            up.servers.push(...serverLine(h, t));
            return;
          case 'keepalive': {
            nargs(t, 1, 1);
            single(t);
            const n = parseNumber(t.args[0]);
            if (n === null || n === 0) h.fail(t, `invalid value "${t.args[0]}" in "${t.name}" directive`);
            up.keepalive = n;
            return;
          }
          case 'keepalive_timeout':
            nargs(t, 1, 1);
            single(t);
            up.keepaliveTimeout = h.time(t);
            return;
          case 'keepalive_requests': {
            nargs(t, 1, 1);
            single(t);
            const n = parseNumber(t.args[0]);
            if (n === null) h.fail(t, `"${t.name}" directive invalid number`);
            up.keepaliveRequests = n;
            return;
          }
          case 'balancer_by_lua_block':
          case 'balancer_by_lua_file':
          case 'balancer_by_lua':
            nargs(t, isBlockForm ? 0 : 1, isBlockForm ? 0 : 1);
            if (up.balancer) h.fail(t, isBlockForm ? 'is duplicate' : `"${t.name}" directive is duplicate`);
            up.balancer = h.balancerHandler(t, (tb as BlockBody | null) ?? null, st, isBlockForm ? 'block' : t.name.endsWith('_file') ? 'file' : 'string');
            return;
          // other balancing methods and the shared zone: peers are chosen round-robin here
          case 'least_conn':
          case 'ip_hash':
          case 'random':
          case 'hash':
          case 'zone':
            return;
        }
        if (h.known(t.name)) h.fail(t, `"${t.name}" directive is not allowed here`);
        h.fail(t, `unknown directive "${t.name}"`);
      };
      (body as BlockBody).read(visit);
    },
  };
}

function serverLine(h: ProxyConfHelpers, t: Directive): UpstreamServer[] {
  const addr = parseServerAddr(t.args[0], 80);
  if (!addr) h.fail(t, `invalid port in upstream "${t.args[0]}"`);
  const s: Partial<UpstreamServer> = {};
  for (const p of t.args.slice(1)) {
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const val = eq < 0 ? '' : p.slice(eq + 1);
    const num = () => {
      const n = parseNumber(val);
      if (n === null) h.fail(t, `invalid parameter "${p}"`);
      return n;
    };
    switch (key) {
      case 'weight': {
        const n = num();
        if (n === 0) h.fail(t, `invalid parameter "${p}"`);
        s.weight = n;
        break;
      }
      case 'max_fails':
        s.maxFails = num();
        break;
      case 'fail_timeout': {
        const ms = parseTime(val);
        if (ms === null) h.fail(t, `invalid parameter "${p}"`);
        s.failTimeout = ms;
        break;
      }
      case 'max_conns':
        num();
        break;
      case 'backup':
        s.backup = true;
        break;
      case 'down':
        s.down = true;
        break;
      default:
        h.fail(t, `invalid parameter "${p}"`);
    }
  }
  return newServers(addr, at(t), t.args[0]).map((srv) => ({ ...srv, ...s }));
}
