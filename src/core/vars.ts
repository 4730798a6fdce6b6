// nginx variables as ngx.var and conf templates see them.
import { hostname } from 'node:os';
import { LIMIT_REQ_STATUS, type RequestCtx } from './request.js';
import { isIPv4, isIPv6 } from 'node:net';
import { errlogTime } from '../util/time.js';
import type { MapDef } from '../conf/model.js';
import { expandTemplate } from '../conf/template.js';

const HOSTNAME = hostname();
export const NGINX_VERSION = '1.22.1';

/**
 * Whether s[from, from + lname.length) is lname (lowercase, `_` for `-` when dashes is set),
 * ignoring ASCII case: nginx's comparison for $http_* and $arg_* names, without allocating.
 */
function sameName(s: string, from: number, lname: string, dashes: boolean): boolean {
  for (let i = 0; i < lname.length; i++) {
    let c = s.charCodeAt(from + i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c === 45 && dashes) c = 95;
    if (c !== lname.charCodeAt(i)) return false;
  }
  return true;
}

function headerValues(r: RequestCtx, lname: string): string[] {
  const out: string[] = [];
  for (const [n, v] of r.req.headers) {
    if (n.length === lname.length && sameName(n, 0, lname, true)) out.push(v);
  }
  return out;
}

/** The first header named lname ($http_* form), or null. */
function firstHeader(r: RequestCtx, lname: string): string | null {
  for (const [n, v] of r.req.headers) {
    if (n.length === lname.length && sameName(n, 0, lname, true)) return v;
  }
  return null;
}

function findArg(args: string, name: string): string | null {
  // $arg_ alone names no argument, even when the query has an empty key
  if (!args || !name) return null;
  let start = 0;
  while (start <= args.length) {
    let end = args.indexOf('&', start);
    if (end < 0) end = args.length;
    // nginx matches `name=` only: a bare key has no value
    const keyEnd = start + name.length;
    if (keyEnd < end && args.charCodeAt(keyEnd) === 61 && sameName(args, start, name, false)) {
      return args.slice(keyEnd + 1, end);
    }
    start = end + 1;
  }
  return null;
}

function findCookie(r: RequestCtx, name: string): string | null {
  for (const v of headerValues(r, 'cookie')) {
    for (const part of v.split(/;\s*/)) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      if (part.slice(0, eq).trim().toLowerCase() === name.toLowerCase()) return part.slice(eq + 1);
    }
  }
  return null;
}

/** A map variable: its source looked up among exact keys, then regexes, then default (cached per request unless volatile). */
function mapValue(r: RequestCtx, name: string, m: MapDef): string {
  const cached = m.volatile ? undefined : r.mapCache?.get(name);
  if (cached !== undefined) return cached;
  const get = (n: string) => getVar(r, n);
  const src = expandTemplate(m.source, get);
  let out: string;
  const exact = m.exact.get(src.toLowerCase());
  if (exact !== undefined) {
    out = expandTemplate(exact, get);
  } else {
    out = '';
    let found = false;
    for (const { re, value } of m.regexes) {
      const hit = re.exec(src);
      if (hit === null) continue;
      out = expandTemplate(value, (n) => (/^\d+$/.test(n) ? hit[Number(n)] ?? '' : hit.groups?.[n] ?? getVar(r, n)));
      found = true;
      break;
    }
    if (!found && m.default !== null) out = expandTemplate(m.default, get);
  }
  if (!m.volatile) (r.mapCache ??= new Map()).set(name, out);
  return out;
}

function requestTime(r: RequestCtx): string {
  return ((Date.now() - r.req.startTime) / 1000).toFixed(3);
}

/** an address as its 4 or 16 bytes (latin1), as $binary_remote_addr gives it */
function binaryAddr(a: string): string {
  const v4 = a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
  if (isIPv4(v4)) return String.fromCharCode(...v4.split('.').map(Number));
  if (!isIPv6(a)) return a;
  const [head, tail = ''] = a.split('::');
  const words = (x: string) => (x === '' ? [] : x.split(':'));
  const h = words(head);
  const t = a.includes('::') ? words(tail) : [];
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.map((w) => {
    const n = Number.parseInt(w, 16);
    return String.fromCharCode(n >> 8, n & 0xff);
  }).join('');
}

type Getter = (r: RequestCtx) => string | null;

const uri: Getter = (r) => r.uri;
const args: Getter = (r) => (r.argsNil || (r.args === '' && !r.hasArgs()) ? null : r.args);
const requestBody: Getter = (r) => (r.body ? r.body.toString('latin1') : null);
const cookies: Getter = (r) => headerValues(r, 'cookie').join('; ') || null;

/** The built-in variables by name, as nginx's modules declare theirs (ngx_http_variable_t). */
const BUILTIN = new Map<string, Getter>([
  ['uri', uri],
  ['document_uri', uri],
  ['args', args],
  ['query_string', args],
  ['is_args', (r) => (r.args ? '?' : '')],
  // an absolute-form target (GET http://host/path) keeps only its path and query
  ['request_uri', (r) => {
    const t = r.req.requestUri;
    return t.charCodeAt(0) === 47 ? t : t.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/, '') || '/';
  }],
  // nginx reads the main request's method, also in a subrequest
  ['request_method', (r) => (r.main ?? r).method],
  ['request', (r) => `${r.req.method} ${r.req.requestUri} ${r.req.protocol}`],
  ['server_protocol', (r) => r.req.protocol],
  ['scheme', () => 'http'],
  ['https', () => ''],
  ['host', (r) => r.req.host || (r.server.serverNames[0] ?? '')],
  ['hostname', () => HOSTNAME],
  ['remote_addr', (r) => r.req.remoteAddr],
  ['binary_remote_addr', (r) => binaryAddr(r.req.remoteAddr)],
  ['limit_req_status', (r) => {
    const st = (r.main ?? r).limitReqStatus;
    return st ? LIMIT_REQ_STATUS[st - 1] : null;
  }],
  ['remote_port', (r) => String(r.req.remotePort)],
  ['server_addr', (r) => r.req.serverAddr],
  ['server_port', (r) => String(r.req.serverPort)],
  ['server_name', (r) => r.server.serverNames[0] ?? ''],
  ['status', (r) => String(r.finalStatus || r.status || 0).padStart(3, '0')],
  ['request_time', requestTime],
  ['msec', () => (Date.now() / 1000).toFixed(3)],
  ['time_local', () => errlogTime(Date.now())],
  ['content_type', (r) => firstHeader(r, 'content_type')],
  // once a chunked body is read nginx knows its length
  ['content_length', (r) => firstHeader(r, 'content_length') ?? (r.req.chunked && r.body !== undefined ? String(r.body?.length ?? 0) : null)],
  ['request_body', requestBody],
  ['bytes_sent', (r) => String(r.ex.bytesSent)],
  ['body_bytes_sent', (r) => String(Math.max(0, r.ex.bytesSent - r.ex.headBytes))],
  ['connection_requests', (r) => String(r.ex.connectionRequests)],
  // the head as received plus the body bytes read
  ['request_length', (r) => String(r.req.rawHeader.length + (r.body ? r.body.length : 0))],
  ['nginx_version', () => NGINX_VERSION],
  ['pid', () => String(process.pid)],
  ['connection', (r) => String(r.connNumber)],
  ['cookie', cookies],
  ['http_cookie', cookies],
  // the echo module's variables
  ['echo_request_body', requestBody],
  ['echo_request_method', (r) => r.method],
  ['echo_client_request_method', (r) => (r.main ?? r).req.method],
  // the main request's head as the client sent it (request line included)
  ['echo_client_request_headers', (r) => (r.main ?? r).req.rawHeader],
  ['echo_request_uri', (r) => (r.args ? `${r.uri}?${r.args}` : r.uri)],
  // the proxy module's
  ['upstream_addr', (r) => (r.upstream ? r.upstream.addrs.join(', ') : null)],
  ['upstream_status', (r) => (r.upstream ? r.upstream.statuses.join(', ') : null)],
  ['upstream_response_time', (r) => (r.upstream ? r.upstream.times.join(', ') : null)],
  ['upstream_connect_time', (r) => (r.upstream ? r.upstream.connectTimes.join(', ') : null)],
  ['upstream_header_time', (r) => (r.upstream ? r.upstream.headerTimes.join(', ') : null)],
  ['upstream_response_length', (r) => (r.upstream ? r.upstream.lengths.join(', ') : null)],
  ['proxy_host', (r) => (r.upstream ? r.upstream.proxyHost : null)],
  ['proxy_port', (r) => (r.upstream ? r.upstream.proxyPort : null)],
  ['proxy_add_x_forwarded_for', (r) => {
    const xff = firstHeader(r, 'x_forwarded_for');
    return xff ? `${xff}, ${r.req.remoteAddr}` : r.req.remoteAddr;
  }],
]);

/** How a built-in or family variable named `name` (lowercase) is read, or null: none is. */
function builtinGetter(name: string): Getter | null {
  const f = BUILTIN.get(name);
  if (f !== undefined) return f;
  // no built-in name starts with arg_, and only http_cookie with http_
  if (name.startsWith('arg_')) {
    const a = name.slice(4);
    return (r) => findArg(r.args, a);
  }
  // nginx 1.22 keeps only the first of repeated headers (1.23 joins them)
  if (name.startsWith('http_')) {
    const h = name.slice(5);
    return (r) => firstHeader(r, h);
  }
  if (name.startsWith('upstream_http_')) {
    const k = name.slice(14);
    return (r) => r.upstream?.headers.find(([n]) => n.toLowerCase().replace(/-/g, '_') === k)?.[1] ?? null;
  }
  if (name.startsWith('cookie_')) {
    const c = name.slice(7);
    return (r) => findCookie(r, c);
  }
  if (name.startsWith('sent_http_')) {
    const h = name.slice(10);
    return (r) => {
      const vals = r.headersOut.get(h);
      return vals.length ? vals.join(', ') : null;
    };
  }
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    return (r) => r.captures?.[n] ?? null;
  }
  return null;
}

/**
 * A reader of variable `name` (lowercase) compiled once, as nginx indexes the variables its
 * conf names: a variable `set` declares or a map (per request and per server) comes first.
 */
function varGetter(name: string): Getter {
  const builtin = builtinGetter(name);
  return (r) => {
    if (r.vars !== null) {
      const v = r.vars.get(name);
      if (v !== undefined) return v;
    }
    const maps = r.server.maps;
    if (maps) {
      const m = maps.get(name);
      if (m !== undefined) return mapValue(r, name, m);
    }
    return builtin === null ? null : builtin(r);
  };
}

const getters = new Map<string, Getter>();

/** The reader of variable `name` (lowercase), compiled on its first use. */
export function getterOf(name: string): Getter {
  let g = getters.get(name);
  if (g === undefined) {
    g = varGetter(name);
    // names come from conf and code; a program that makes them up is not allowed to grow this
    if (getters.size < 4096) getters.set(name, g);
  }
  return g;
}

/** The value of variable `name` (lowercase), or null when it is not found / not set. */
export function getVar(r: RequestCtx, name: string): string | null {
  return getterOf(name)(r);
}

export type SetVarResult = 'ok' | 'not_found' | 'not_changeable';

export function setVar(r: RequestCtx, declared: Set<string>, name: string, value: string | null): SetVarResult {
  if (name === 'args') {
    r.args = value ?? '';
    r.argsNil = value === null;
    return 'ok';
  }
  if (declared.has(name)) {
    if (!r.vars) r.vars = new Map();
    if (value === null) r.vars.delete(name);
    else r.vars.set(name, value);
    return 'ok';
  }
  if (name === 'limit_rate') return 'ok';
  if (['uri', 'request_uri', 'request_method', 'host', 'remote_addr', 'status', 'scheme', 'server_port', 'query_string'].includes(name)) {
    return 'not_changeable';
  }
  return 'not_found';
}
