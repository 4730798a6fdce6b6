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
  const ln = name.toLowerCase();
  let start = 0;
  while (start <= args.length) {
    let end = args.indexOf('&', start);
    if (end < 0) end = args.length;
    // nginx matches `name=` only: a bare key has no value
    const keyEnd = start + ln.length;
    if (keyEnd < end && args.charCodeAt(keyEnd) === 61 && sameName(args, start, ln, false)) {
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

/** The value of variable `name` (lowercase), or null when it is not found / not set. */
export function getVar(r: RequestCtx, name: string): string | null {
  if (r.vars) {
    const v = r.vars.get(name);
    if (v !== undefined) return v;
  }
  const map = r.server.maps?.get(name);
  if (map !== undefined) return mapValue(r, name, map);
  // the families first: no built-in name starts with arg_, and only http_cookie with http_
  const c0 = name.charCodeAt(0);
  if (c0 === 97 && name.startsWith('arg_')) return findArg(r.args, name.slice(4));
  if (c0 === 104 && name.startsWith('http_') && name !== 'http_cookie') {
    // nginx 1.22 keeps only the first of repeated headers (1.23 joins them)
    return firstHeader(r, name.slice(5));
  }
  const q = r.req;
  switch (name) {
    case 'uri':
    case 'document_uri':
      return r.uri;
    case 'args':
    case 'query_string':
      return r.argsNil || (r.args === '' && !r.hasArgs()) ? null : r.args;
    case 'is_args':
      return r.args ? '?' : '';
    case 'request_uri':
      // an absolute-form target (GET http://host/path) keeps only its path and query
      return q.requestUri.charCodeAt(0) === 47 ? q.requestUri : q.requestUri.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/, '') || '/';
    case 'request_method':
      // nginx reads the main request's method, also in a subrequest
      return (r.main ?? r).method;
    case 'request':
      return `${q.method} ${q.requestUri} ${q.protocol}`;
    case 'server_protocol':
      return q.protocol;
    case 'scheme':
      return 'http';
    case 'https':
      return '';
    case 'host':
      return q.host || (r.server.serverNames[0] ?? '');
    case 'hostname':
      return HOSTNAME;
    case 'remote_addr':
      return q.remoteAddr;
    case 'binary_remote_addr':
      return binaryAddr(q.remoteAddr);
    case 'limit_req_status': {
      const st = (r.main ?? r).limitReqStatus;
      return st ? LIMIT_REQ_STATUS[st - 1] : null;
    }
    case 'remote_port':
      return String(q.remotePort);
    case 'server_addr':
      return q.serverAddr;
    case 'server_port':
      return String(q.serverPort);
    case 'server_name':
      return r.server.serverNames[0] ?? '';
    case 'status':
      return String(r.finalStatus || r.status || 0).padStart(3, '0');
    case 'request_time':
      return requestTime(r);
    case 'msec':
      return (Date.now() / 1000).toFixed(3);
    case 'time_local':
      return errlogTime(Date.now());
    case 'content_type':
      return firstHeader(r, 'content_type');
    case 'content_length':
      // once a chunked body is read nginx knows its length
      return firstHeader(r, 'content_length') ?? (r.req.chunked && r.body !== undefined ? String(r.body?.length ?? 0) : null);
    case 'request_body':
    case 'echo_request_body':
      return r.body ? r.body.toString('latin1') : null;
    case 'bytes_sent':
      return String(r.ex.bytesSent);
    case 'body_bytes_sent':
      return String(Math.max(0, r.ex.bytesSent - r.ex.headBytes));
    case 'connection_requests':
      return String(r.ex.connectionRequests);
    case 'request_length':
      // the head as received plus the body bytes read
      return String(q.rawHeader.length + (r.body ? r.body.length : 0));
    case 'nginx_version':
      return NGINX_VERSION;
    case 'pid':
      return String(process.pid);
    case 'connection':
      return String(r.connNumber);
    case 'cookie':
    case 'http_cookie':
      return headerValues(r, 'cookie').join('; ') || null;
    // the echo module's variables
    case 'echo_request_method':
      return r.method;
    case 'echo_client_request_method':
      return (r.main ?? r).req.method;
    case 'echo_client_request_headers':
      // the main request's head as the client sent it (request line included)
      return (r.main ?? r).req.rawHeader.toString('latin1');
    case 'echo_request_uri':
      return r.args ? `${r.uri}?${r.args}` : r.uri;
    case 'upstream_addr':
      return r.upstream ? r.upstream.addrs.join(', ') : null;
    case 'upstream_status':
      return r.upstream ? r.upstream.statuses.join(', ') : null;
    case 'upstream_response_time':
      return r.upstream ? r.upstream.times.join(', ') : null;
    case 'upstream_connect_time':
      return r.upstream ? r.upstream.connectTimes.join(', ') : null;
    case 'upstream_header_time':
      return r.upstream ? r.upstream.headerTimes.join(', ') : null;
    case 'upstream_response_length':
      return r.upstream ? r.upstream.lengths.join(', ') : null;
    case 'proxy_host':
      return r.upstream ? r.upstream.proxyHost : null;
    case 'proxy_port':
      return r.upstream ? r.upstream.proxyPort : null;
    case 'proxy_add_x_forwarded_for': {
      const xff = firstHeader(r, 'x_forwarded_for');
      return xff ? `${xff}, ${q.remoteAddr}` : q.remoteAddr;
    }
  }
  if (name.startsWith('upstream_http_')) {
    const k = name.slice(14);
    const h = r.upstream?.headers.find(([n]) => n.toLowerCase().replace(/-/g, '_') === k);
    return h ? h[1] : null;
  }
  if (name.startsWith('cookie_')) return findCookie(r, name.slice(7));
  if (name.startsWith('sent_http_')) {
    const vals = r.headersOut.get(name.slice(10));
    return vals.length ? vals.join(', ') : null;
  }
  if (/^\d+$/.test(name)) return r.captures?.[Number(name)] ?? null;
  return null;
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
