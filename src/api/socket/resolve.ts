// Host parsing and name resolution for cosockets (UDP here; the TCP code can use it too).
//
// ngx_lua hands `host` (plus the port argument) to nginx's ngx_parse_url and, for names, to the
// resolver of the `resolver` directive: A and AAAA queries to those servers, a random pick among
// the answers, and errors worded `<name> could not be resolved (<code>: <text>)`. Without a
// `resolver` directive names are refused: `no resolver defined to resolve "<name>"` (the
// reference does exactly this; `lookupWithoutResolver` switches to node's dns.lookup instead).
// Nothing here blocks the event loop: node:dns Resolver (c-ares) and dns.lookup (libuv pool).
import dns from 'node:dns';
import net from 'node:net';
import type { Runtime } from '../../core/runtime.js';
import type { LuaContext } from '../../core/thread.js';
import type { LocSettings } from '../../conf/model.js';

export interface ResolvedAddr {
  address: string;
  family: 4 | 6;
}

/** What setpeername/connect were given, after ngx_parse_url's rules. */
export type ParsedHost =
  | { kind: 'unix'; path: string }
  | { kind: 'ip'; address: string; family: 4 | 6; port: number }
  | { kind: 'name'; name: string; port: number }
  | { kind: 'error'; message: string };

/**
 * Parse `host` as ngx_parse_url does with `default_port = port`: `unix:/path`, `[v6]`,
 * `[v6]:port`, `a.b.c.d[:port]`, `name[:port]`. A port inside the host string wins over the
 * port argument. Errors come back in ngx_lua's words (`failed to parse host name "h": why`).
 */
export function parseHost(host: string, port: number): ParsedHost {
  const fail = (why: string): ParsedHost => ({ kind: 'error', message: `failed to parse host name "${host}": ${why}` });
  if (host.length >= 5 && host.slice(0, 5).toLowerCase() === 'unix:') {
    const p = host.slice(5);
    if (p.length === 0) return fail('no path in the unix domain socket');
    return { kind: 'unix', path: p };
  }
  let h = host;
  let portStr: string | null = null;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return fail('invalid host');
    const inner = h.slice(1, end);
    const rest = h.slice(end + 1);
    if (rest.length > 0) {
      if (rest[0] !== ':') return fail('invalid host');
      portStr = rest.slice(1);
    }
    if (net.isIPv6(inner) === false) return fail('invalid IPv6 address');
    h = inner;
    const p = portStr === null ? port : parsePort(portStr);
    if (p === null) return fail('invalid port');
    return { kind: 'ip', address: inner, family: 6, port: p };
  }
  // no URI part is allowed here
  if (h.includes('/')) return fail('invalid host');
  const colon = h.indexOf(":");
  if (colon >= 0) {
    portStr = h.slice(colon + 1);
    h = h.slice(0, colon);
  }
  let p = port;
  if (portStr !== null) {
    const q = parsePort(portStr);
    if (q === null) return fail('invalid port');
    p = q;
  }
  if (h.length === 0) return fail('no host');
  if (net.isIPv4(h)) return { kind: 'ip', address: h, family: 4, port: p };
  return { kind: 'name', name: h, port: p };
}

function parsePort(s: string): number | null {
  if (!/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : null;
}

/** The settings in effect for a Lua context: the request's location, or the first server's. */
export function settingsFor(rt: Runtime, ctx: LuaContext | null): LocSettings {
  const r = ctx?.req;
  if (r) return r.loc?.settings ?? r.server.settings;
  // timers and init_worker use the http level (also without any server, as in `ngxlua run`)
  const s = rt.http?.settings ?? rt.http?.servers[0]?.settings;
  if (!s) throw new Error('ngxlua: no http settings');
  return s;
}

/** nginx's ngx_resolver_strerror codes */
const RESOLVER_TEXT: Record<number, string> = {
  1: 'Format error',
  2: 'Server failure',
  3: 'Host not found',
  4: 'Unimplemented',
  5: 'Operation refused',
  110: 'Operation timed out',
};

export class ResolveError extends Error {
  constructor(
    message: string,
    /** nginx resolver state, or 0 for "no resolver defined" */
    readonly code: number,
  ) {
    super(message);
  }
}

function resolverError(name: string, code: number): ResolveError {
  return new ResolveError(`${name} could not be resolved (${code}: ${RESOLVER_TEXT[code] ?? 'Unknown error'})`, code);
}

/** c-ares error code -> nginx resolver state; null: "no answers of this type" */
function aresCode(code: string | undefined): number | null {
  switch (code) {
    case 'ENODATA':
      return null;
    case 'EFORMERR':
      return 1;
    case 'ESERVFAIL':
      return 2;
    case 'ENOTFOUND':
    case 'EBADNAME':
      return 3;
    case 'ENOTIMP':
      return 4;
    case 'EREFUSED':
      return 5;
    default:
      return 110; // ETIMEOUT, ECONNREFUSED (nginx keeps retrying until resolver_timeout)
  }
}

/** Split `host[:port]` / `[v6][:port]` resolver addresses (nginx's default DNS port is 53). */
export function resolverServers(list: string[]): string[] {
  return list.map((a) => {
    if (a.startsWith('[')) return a.includes(']:') ? a : `${a}:53`;
    if (net.isIPv6(a)) return `[${a}]:53`;
    return a.includes(':') ? a : `${a}:53`;
  });
}

export interface ResolveOptions {
  /** with no `resolver` directive, use the system resolver (dns.lookup) instead of failing */
  lookupWithoutResolver?: boolean;
}

/**
 * Resolve host (a name or an IP literal) to one address as ngx_lua does: IP literals are
 * returned as they are; names go to the `resolver` servers (A and AAAA; any error answer fails
 * the whole lookup, as nginx's resolver does; a random answer is picked), bounded by
 * resolver_timeout. Rejects with a ResolveError carrying ngx_lua's message.
 */
export function resolveHost(
  rt: Runtime,
  settings: LocSettings,
  host: string,
  opts: ResolveOptions = {},
): Promise<ResolvedAddr> {
  const fam = net.isIP(host);
  if (fam === 4 || fam === 6) return Promise.resolve({ address: host, family: fam });
  const servers = settings.resolver;
  if (!servers || servers.length === 0) {
    if (!opts.lookupWithoutResolver) {
      return Promise.reject(new ResolveError(`no resolver defined to resolve "${host}"`, 0));
    }
    return new Promise((resolve, reject) => {
      dns.lookup(host, { all: true }, (err, addrs) => {
        if (err || addrs.length === 0) {
          reject(resolverError(host, err && err.code !== 'ENOTFOUND' && err.code !== 'ENODATA' ? aresCode(err.code) ?? 3 : 3));
          return;
        }
        const a = addrs[Math.floor(Math.random() * addrs.length)];
        resolve({ address: a.address, family: a.family === 6 ? 6 : 4 });
      });
    });
  }
  const timeout = Math.max(1, settings.resolverTimeout);
  const resolver = new dns.Resolver({ timeout: Math.min(timeout, 5000), tries: Math.max(1, Math.ceil(timeout / 5000)) });
  const list = resolverServers(servers);
  try {
    resolver.setServers(list);
  } catch {
    return Promise.reject(resolverError(host, 110));
  }
  return new Promise((resolve, reject) => {
    let done = false;
    let left = 2;
    let failure: number | null = null;
    const found: ResolvedAddr[] = [];
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolver.cancel();
      if (failure !== null) reject(resolverError(host, failure));
      else if (found.length === 0) reject(resolverError(host, 3));
      else resolve(found[Math.floor(Math.random() * found.length)]);
    };
    const timer = setTimeout(() => {
      failure = 110;
      finish();
    }, timeout);
    const answer = (family: 4 | 6) => (err: NodeJS.ErrnoException | null, addrs: string[]): void => {
      if (done) return;
      if (err) {
        const code = aresCode(err.code);
        if (code === 110) {
          // unreachable server: nginx retries until resolver_timeout fires
          if (err.code === 'ECONNREFUSED') {
            rt.log.log('error', `send() failed (111: Connection refused) while resolving, resolver: ${servers[0]}`);
          }
          return;
        }
        if (code !== null && failure === null) failure = code;
      } else {
        for (const a of addrs) found.push({ address: a, family });
      }
      if (--left === 0) finish();
    };
    resolver.resolve4(host, answer(4));
    resolver.resolve6(host, answer(6));
  });
}
