// nginx's proxy module: a location's content from an upstream HTTP server. The request line
// and headers are built as ngx_http_proxy_create_request builds them (the URI rules, the
// proxy_set_header list first, then the client's headers that list does not name), the body
// the client sent goes after them, and the response is parsed and handed to the output chain
// (header and body filters, Lua's included) piece by piece as it arrives. Peers come from the
// upstream block (round robin, or balancer_by_lua*); a failure before the response started
// moves to the next peer as proxy_next_upstream says. Every socket runs on the event loop; a
// slow upstream holds only its own request.
import dns from 'node:dns';
import net from 'node:net';
import { StreamConn, type Conn } from './streamconn.js';
import { readFileSync } from 'node:fs';
import type { LocSettings, LuaHandler, ProxyPass, UpstreamConf } from '../conf/model.js';
import type { BalancerState, RequestCtx, UpstreamVars } from '../core/request.js';
import type { Runtime } from '../core/runtime.js';
import { expandTemplate } from '../conf/template.js';
import { getVar } from '../core/vars.js';
import { output, sendEof, sendHeaders } from '../core/output.js';
import { readRequestBody } from '../api/req.js';
import { parseServerAddr } from '../conf/proxy.js';
import { PeerPicker, setOwner, upstreamState, type Peer, type UpstreamOwner, type UpstreamState } from './upstream.js';
import { absoluteRedirect } from './rewrite.js';
import { escapeUri as escapeUriBytes } from '../util/uri.js';
import { resolveHost } from '../api/socket/index.js';
import { sysError } from '../api/socket/errors.js';

/** What the pipeline lends the proxy module. */
export interface ProxyHost {
  rt: Runtime;
  finalize(r: RequestCtx, status: number): void;
  logPhase(r: RequestCtx): void;
  /** run balancer_by_lua* for this try; false when it failed (logged) */
  runBalancer(r: RequestCtx, h: LuaHandler): { ok: boolean; exit: number | null };
}

// the proxy's default header list (ngx_http_proxy_headers): the ones with an empty value are
// never sent, but they keep the client's header of that name out
const HIDDEN_IN = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'te', 'keep-alive', 'expect', 'upgrade']);
// response headers nginx does not pass by default (proxy_hide_header / proxy_pass_header)
const HIDDEN_OUT = ['date', 'server', 'x-pad', 'x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset'];
// hop-by-hop: never passed
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

const MAX_HEAD = 4096; // proxy_buffer_size's default (one page)

type Failure = 'error' | 'timeout' | 'invalid_header' | 'http_500' | 'http_502' | 'http_503' | 'http_504' | 'http_403' | 'http_404' | 'http_429' | 'nolive';

/** nginx's NGX_ESCAPE_URI over a latin1 string (the URI the upstream sees). */
function escapeUri(s: string): string {
  return escapeUriBytes(Buffer.from(s, 'latin1'), 0).toString('latin1');
}

/** Run proxy_pass for the request (its content phase). */
export function runProxy(host: ProxyHost, r: RequestCtx): void {
  const s = r.loc!.settings;
  const q = r.req;
  const hasBody = q.contentLength > 0 || q.chunked;
  if (s.proxyPassRequestBody && hasBody && r.body === undefined && !r.bodyFile) {
    // proxy_request_buffering on: the whole body is read before the upstream is contacted
    return readRequestBody(host.rt, r, (err) => (err !== null ? host.finalize(r, err) : new ProxyRun(host, r).start()));
  }
  new ProxyRun(host, r).start();
}

/** Whether l[0, end) has no whitespace (as /\s/ sees a latin1 string) and no control byte. */
function validName(l: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = l.charCodeAt(i);
    if (c <= 32 || c === 0xa0) return false;
  }
  return true;
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

// per location, computed at its first proxied request: the header names proxy_set_header sets,
// and the upstream's headers not passed on (proxy_hide_header, proxy_pass_header)
const namedSets = new WeakMap<LocSettings, Set<string>>();
const hiddenSets = new WeakMap<LocSettings, Set<string>>();
function namedOf(s: LocSettings): Set<string> {
  let set = namedSets.get(s);
  if (!set) namedSets.set(s, (set = new Set((s.proxySetHeaders ?? []).map((h) => h.name.toLowerCase()))));
  return set;
}
function hiddenOf(s: LocSettings): Set<string> {
  let set = hiddenSets.get(s);
  if (!set) {
    set = new Set([...HIDDEN_OUT, ...(s.proxyHideHeaders ?? [])]);
    for (const p of s.proxyPassHeaders ?? []) set.delete(p);
    hiddenSets.set(s, set);
  }
  return set;
}

class ProxyRun implements UpstreamOwner {
  private readonly s: LocSettings;
  private readonly pass: ProxyPass;
  private up: UpstreamState | null = null;
  private picker: PeerPicker | null = null;
  private uri = '';
  private requestHead: Buffer | null = null;
  private body: Buffer | null = null;
  private readonly vars: UpstreamVars;
  private readonly started = Date.now();
  private sock: Conn | null = null;
  private peerName = '';
  private peer: Peer | null = null;
  private balancerPeer: { host: string; port: number; name: string } | null = null;
  private cached = false;
  private connRequests = 0;
  private tryStart = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerFire: (() => void) | null = null;
  private timerMs = 0;
  private done = false;
  /** the response head started arriving / was handed to the client */
  private gotBytes = false;
  private headSent = false;
  private headBuf: Buffer[] = [];
  private headLen = 0;
  private parser: BodyReader | null = null;
  private keep = false;
  private timeouts: { connect: number; send: number; read: number };
  private bal: BalancerState | null = null;

  constructor(
    private readonly host: ProxyHost,
    private readonly r: RequestCtx,
  ) {
    this.s = r.loc!.settings;
    this.pass = this.s.proxyPass!;
    this.timeouts = { connect: this.s.proxyConnectTimeout, send: this.s.proxySendTimeout, read: this.s.proxyReadTimeout };
    this.vars = r.upstream = { addrs: [], statuses: [], times: [], connectTimes: [], headerTimes: [], lengths: [], headers: [], proxyHost: '', proxyPort: '' };
  }

  private get rt(): Runtime {
    return this.host.rt;
  }

  start(): void {
    const { r, pass } = this;
    // the request ended some other way (an error page, a filter's ngx.exit): the socket goes
    (r.cleanups ??= []).push(() => {
      this.done = true;
      this.dropSock();
    });
    // a client closing its side ends the proxied request (nginx's check_broken_connection)
    if (!this.s.proxyIgnoreClientAbort) r.ex.abortOnEnd = true;
    r.ex.onAbort(() => this.clientAbort());
    if (pass.upstream) {
      this.uri = this.fixedUri();
      return this.withUpstream(pass.upstream, pass.hostPort!);
    }
    // a URL with variables: evaluated now; its host names an upstream block or an address
    const url = expandTemplate(pass.url, (n) => getVar(r, n));
    const m = /^([a-zA-Z]+):\/\/([^/?]*)(.*)$/.exec(url);
    if (!m || m[1].toLowerCase() !== 'http') {
      this.rt.logReq('error', `invalid URL prefix in "${url}"`, r);
      return this.host.finalize(r, 500);
    }
    const hostPort = m[2];
    let uri = m[3];
    if (uri.startsWith('?')) uri = '/' + uri;
    this.uri = uri || this.unparsedUri();
    const block = this.rt.conf.http?.upstreams.get(hostPort.toLowerCase());
    if (block && !block.implicit) return this.withUpstream(block, hostPort);
    const addr = parseServerAddr(hostPort, 80);
    if (!addr) {
      this.rt.logReq('error', `invalid port in upstream "${hostPort}"`, r);
      return this.host.finalize(r, 500);
    }
    const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(addr.host);
    const literal = v4 || addr.host.includes(':') || addr.host.toLowerCase().startsWith('unix:');
    const adhoc = (ip: string): UpstreamConf => ({
      name: hostPort,
      servers: [{ name: ip.includes(':') ? `[${ip}]:${addr.port}` : `${ip}:${addr.port}`, host: ip, port: addr.port, resolve: false, weight: 1, maxFails: 1, failTimeout: 10_000, backup: false, down: false }],
      keepalive: 0, keepaliveTimeout: 60_000, keepaliveRequests: 1000, balancer: null, implicit: true, file: '', line: 0,
    });
    if (literal) return this.withUpstream(adhoc(addr.host), hostPort);
    if (!this.s.resolver) {
      this.rt.logReq('error', `no resolver defined to resolve ${addr.host}`, r);
      return this.host.finalize(r, 502);
    }
    resolveHost(addr.host, this.s).then((res) => {
      if (this.done) return;
      if ('error' in res) {
        this.rt.logReq('error', `${addr.host} could not be resolved (${res.error})`, r);
        return this.host.finalize(r, 502);
      }
      this.withUpstream(adhoc(res.address), hostPort);
    }, () => this.host.finalize(r, 502));
  }

  /** The request URI for a fixed URL, by nginx's rules for its URI part. */
  private fixedUri(): string {
    const { r, pass } = this;
    if (!pass.uri) return this.unparsedUri();
    const locLen = r.validLocation ? pass.locationName.length : 0;
    const rest = r.uri.slice(Math.min(locLen, r.uri.length));
    let out = (r.validLocation ? pass.uri : '') + (this.needsEscape() ? escapeUri(rest) : rest);
    if (r.args) out += '?' + r.args;
    return out;
  }

  /** No URI part: the client's own request-target while nothing changed it, else $uri?$args. */
  private unparsedUri(): string {
    const { r } = this;
    const q = r.req;
    if (!r.internal && !r.isSubrequest && r.uri === q.uri && r.args === q.args) {
      const ru = getVar(r, 'request_uri');
      if (ru) return ru;
    }
    let out = this.needsEscape() ? escapeUri(r.uri) : r.uri;
    if (r.args) out += '?' + r.args;
    return out;
  }

  private needsEscape(): boolean {
    const { r } = this;
    // nginx's quoted_uri: the request-target had %-escapes (or the URI was set internally)
    return r.internal || r.isSubrequest || r.req.requestUri.includes('%') || r.uri !== r.req.uri;
  }

  private withUpstream(conf: UpstreamConf, hostPort: string): void {
    this.up = upstreamState(conf);
    this.picker = new PeerPicker(this.up);
    // $proxy_host: the URL's host, with its port unless that is 80 (a unix socket: localhost)
    const addr = parseServerAddr(hostPort, 80);
    if (hostPort.toLowerCase().startsWith('unix:')) this.vars.proxyHost = 'localhost';
    else if (addr && addr.port === 80) this.vars.proxyHost = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
    else this.vars.proxyHost = hostPort;
    this.vars.proxyPort = String(addr?.port ?? 80);
    try {
      this.buildRequest();
    } catch (e) {
      this.rt.logReq('error', `failed to build the upstream request: ${(e as Error).message}`, this.r);
      return this.host.finalize(this.r, 500);
    }
    this.connectNext();
  }

  private buildRequest(): void {
    const { r, s } = this;
    const get = (n: string) => (n === 'proxy_host' ? this.vars.proxyHost : n === 'proxy_port' ? this.vars.proxyPort : getVar(r, n));
    let body: Buffer | null = null;
    if (s.proxySetBody) body = Buffer.from(expandTemplate(s.proxySetBody, get), 'latin1');
    else if (s.proxyPassRequestBody) body = r.body ?? (r.bodyFile ? readFileSync(r.bodyFile) : null);
    const q = r.req;
    const declared = s.proxySetBody !== undefined || q.contentLength >= 0 || q.chunked || r.body !== undefined;
    const bodyLen = s.proxySetBody ? body!.length : r.body !== undefined || r.bodyFile ? (r.body?.length ?? (body?.length ?? 0)) : q.contentLength;
    this.body = body && body.length ? body : null;
    const method = s.proxyMethod ? expandTemplate(s.proxyMethod, get) : r.method;
    let head = `${method} ${this.uri} HTTP/1.${s.proxyHttpVersion === 11 ? 1 : 0}\r\n`;
    const named = namedOf(s);
    for (const { name, value } of s.proxySetHeaders ?? []) {
      const v = expandTemplate(value, get);
      if (v !== '') head += `${name}: ${v}\r\n`;
    }
    if (!named.has('host')) head += `Host: ${this.vars.proxyHost}\r\n`;
    if (!named.has('connection')) head += 'Connection: close\r\n';
    if (!named.has('content-length') && declared && bodyLen >= 0) head += `Content-Length: ${bodyLen}\r\n`;
    if (s.proxyPassRequestHeaders) {
      for (const [n, v] of q.headers) {
        const k = n.toLowerCase();
        if (named.has(k) || HIDDEN_IN.has(k)) continue;
        head += `${n}: ${v}\r\n`;
      }
    }
    head += '\r\n';
    this.requestHead = Buffer.from(head, 'latin1');
  }

  private logUp(level: 'crit' | 'error' | 'warn' | 'info', msg: string, action: string): void {
    const ctx = this.r.logContext() as Record<string, string | number | undefined>;
    ctx.action = action;
    ctx.upstream = `http://${this.peerName}${this.uri}`;
    this.rt.log.log(level, msg, ctx);
  }

  /** Choose a peer (balancer_by_lua* or round robin) and open or reuse a connection to it. */
  private connectNext(): void {
    const { r, picker, up } = this;
    if (this.done || !picker || !up) return;
    const now = Date.now();
    this.balancerPeer = null;
    const h = up.conf.balancer;
    if (h) {
      const b: BalancerState = this.bal ??= { peer: null, moreTries: 0, totalTries: 0, tries: picker.tries, maxTries: this.s.proxyNextUpstreamTries || 3, lastState: 0, lastStatus: 0, timeouts: null };
      b.peer = null;
      b.moreTries = 0;
      b.totalTries++;
      b.tries = picker.tries;
      r.balancer = b;
      const res = this.host.runBalancer(r, h);
      r.balancer = null;
      if (b.timeouts) {
        if (b.timeouts.connect > 0) this.timeouts.connect = b.timeouts.connect;
        if (b.timeouts.send > 0) this.timeouts.send = b.timeouts.send;
        if (b.timeouts.read > 0) this.timeouts.read = b.timeouts.read;
      }
      if (!res.ok) return this.fail(500);
      const exit = res.exit;
      if (exit !== null && exit !== 0) {
        if (exit === -3) return this.noLive();
        if (exit === -5) {
          this.peerName = up.conf.name;
          return this.next('error');
        }
        return this.fail(500);
      }
      const chosen = b.peer as BalancerState['peer'];
      if (chosen) {
        this.balancerPeer = chosen;
        picker.tries += b.moreTries;
        this.peerName = chosen.name;
        return this.open(chosen.host, chosen.port);
      }
    }
    const p = picker.pick(now);
    if (!p) return this.noLive();
    this.peer = p;
    this.peerName = p.srv.name;
    if (p.srv.resolve) {
      // an upstream server given by name: resolved by the system when first used
      return void dns.promises.lookup(p.srv.host).then(
        (a) => !this.done && this.open(a.address, p.srv.port),
        () => {
          this.logUp('error', `${p.srv.host} could not be resolved (3: Host not found)`, 'connecting to upstream');
          this.next('error');
        },
      );
    }
    this.open(p.srv.host, p.srv.port);
  }

  /** A try's entries in the $upstream_* lists (the last ones), filled in as the try goes. */
  private recordTry(addr: string, status: string, time: string): void {
    const v = this.vars;
    v.addrs.push(addr);
    v.statuses.push(status);
    v.times.push(time);
    v.connectTimes.push('-');
    v.headerTimes.push('-');
    v.lengths.push('0');
  }

  private forgetTry(): void {
    const v = this.vars;
    for (const list of [v.addrs, v.statuses, v.times, v.connectTimes, v.headerTimes, v.lengths]) list.pop();
  }

  private noLive(): void {
    this.peerName = this.up!.conf.name;
    this.logUp('error', 'no live upstreams', 'connecting to upstream');
    this.recordTry(this.up!.conf.name, '502', '0.000');
    this.fail(502);
  }

  private open(hostAddr: string, port: number, useCache = true): void {
    if (this.done) return;
    this.tryStart = Date.now();
    this.recordTry(this.peerName, '', '');
    this.gotBytes = false;
    this.headBuf = [];
    this.headLen = 0;
    this.parser = null;
    const idle = useCache ? this.up!.takeIdle(this.peerName) : null;
    if (idle) {
      this.cached = true;
      this.connRequests = idle.requests;
      this.sock = idle.sock;
      this.attach(idle.sock);
      this.vars.connectTimes[this.vars.connectTimes.length - 1] = '0.000';
      return this.send();
    }
    this.cached = false;
    this.connRequests = 0;
    // an address is connected to by the addon; a name (rare: most are resolved before) by node
    const sock: Conn = hostAddr.toLowerCase().startsWith('unix:') ? new StreamConn(hostAddr.slice(5), -1)
      : net.isIP(hostAddr) ? new StreamConn(hostAddr, port) : net.connect({ host: hostAddr, port });
    this.sock = sock;
    sock.setNoDelay(true);
    this.attach(sock);
    this.arm(this.timeouts.connect, () => {
      this.logUp('error', 'upstream timed out (110: Connection timed out)', 'connecting to upstream');
      this.next('timeout');
    });
    sock.once('connect', () => {
      if (this.sock !== sock || this.done) return;
      this.vars.connectTimes[this.vars.connectTimes.length - 1] = secs(Date.now() - this.tryStart);
      this.send();
    });
  }

  private attach(sock: Conn): void {
    setOwner(sock, this);
  }

  /**
   * One timer per proxied request, restarted (refresh) when the next wait has the same length
   * as the last: the read timeout armed when the request went and again when the head came.
   */
  private arm(ms: number, fire: () => void): void {
    if (ms <= 0) return this.disarm();
    this.timerFire = fire;
    if (this.timer !== null && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    const fire = this.timerFire;
    this.timer = this.timerFire = null;
    fire?.();
  };

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = this.timerFire = null;
  }

  private send(): void {
    const sock = this.sock!;
    this.connRequests++;
    const data = this.body ? Buffer.concat([this.requestHead!, this.body]) : this.requestHead!;
    const flushed = sock.write(data);
    const waitHeader = () => {
      this.arm(this.timeouts.read, () => {
        this.logUp('error', 'upstream timed out (110: Connection timed out)', this.headSent ? 'reading upstream' : 'reading response header from upstream');
        if (this.headSent) return this.cut();
        this.next('timeout');
      });
    };
    if (flushed) return waitHeader();
    this.arm(this.timeouts.send, () => {
      this.logUp('error', 'upstream timed out (110: Connection timed out)', 'sending request to upstream');
      this.next('timeout');
    });
    sock.once('drain', () => this.sock === sock && !this.gotBytes && waitHeader());
  }

  /** the connection's error while this request owns it (setOwner) */
  upError(e: NodeJS.ErrnoException): void {
    if (this.done) return;
    const code = e.code ?? '';
    if (this.cached && !this.gotBytes) return this.retryFresh();
    const se = sysError(e);
    const text = `${se.errno}: ${se.text}`;
    if (this.headSent) {
      this.logUp('error', `recv() failed (${text})`, 'reading upstream');
      return this.cut();
    }
    const connecting = this.vars.connectTimes[this.vars.connectTimes.length - 1] === '-';
    // errors connect() itself returns name the peer and are critical unless the network said so;
    // the ones found once the connection was under way (refused, reset) do not
    const immediate = code === 'EACCES' || code === 'EPERM' || code === 'EADDRNOTAVAIL' || code === 'ENETUNREACH' || code === 'EHOSTUNREACH';
    if (connecting && immediate) {
      this.logUp(code === 'ENETUNREACH' || code === 'EHOSTUNREACH' ? 'error' : 'crit', `connect() to ${this.peerName} failed (${text})`, 'connecting to upstream');
    } else if (connecting) this.logUp('error', `connect() failed (${text})`, 'connecting to upstream');
    else if (code === 'EPIPE') this.logUp('error', `writev() failed (${text})`, 'sending request to upstream');
    else this.logUp('error', `recv() failed (${text})`, 'reading response header from upstream');
    this.next('error');
  }

  /** the connection's end or close while this request owns it */
  upEnd(): void {
    if (this.done || !this.sock) return;
    if (this.headSent && this.parser) {
      if (this.parser.untilClose) return this.finishBody();
      this.logUp('error', 'upstream prematurely closed connection', 'reading upstream');
      return this.cut();
    }
    if (this.cached && !this.gotBytes) return this.retryFresh();
    this.logUp('error', 'upstream prematurely closed connection', 'reading response header from upstream');
    this.next('error');
  }

  /** A cached connection the peer had closed meanwhile: nginx tries again without counting it. */
  private retryFresh(): void {
    this.dropSock();
    this.forgetTry();
    const target = this.balancerPeer ?? (this.peer ? { host: this.peer.srv.host, port: this.peer.srv.port } : null);
    if (!target) return this.next('error');
    this.open(target.host, target.port, false);
  }

  private dropSock(): void {
    this.disarm();
    const sock = this.sock;
    this.sock = null;
    if (sock) {
      setOwner(sock, null);
      sock.destroy();
    }
  }

  /** ngx_http_upstream_next: count the failure, then the next peer or the error response. */
  private next(ft: Failure): void {
    if (this.done) return;
    this.dropSock();
    const now = Date.now();
    const i = this.vars.statuses.length - 1;
    const status = ft === 'timeout' ? 504 : ft.startsWith('http_') ? Number(ft.slice(5)) : 502;
    if (i >= 0) {
      this.vars.statuses[i] = String(status);
      this.vars.times[i] = secs(now - this.tryStart);
    }
    const failed = ft !== 'http_403' && ft !== 'http_404';
    if (this.balancerPeer) {
      this.bal!.lastState = failed ? 4 : 2;
      this.bal!.lastStatus = status;
      if (this.picker!.tries > 0) this.picker!.tries--;
    } else if (this.picker!.free(failed, now)) {
      this.logUp('warn', 'upstream server temporarily disabled', 'connecting to upstream');
    }
    if (this.bal) this.bal.lastStatus = status;
    const t = this.s.proxyNextUpstreamTimeout;
    const method = this.r.method;
    const nonIdempotent = method === 'POST' || method === 'LOCK' || method === 'PATCH';
    const allowed = this.s.proxyNextUpstream.has(ft) && (!nonIdempotent || this.s.proxyNextUpstream.has('non_idempotent') || !this.requestSent());
    const triesLeft = this.picker!.tries > 0 && (this.s.proxyNextUpstreamTries === 0 || this.vars.addrs.length < this.s.proxyNextUpstreamTries);
    if (!triesLeft || !allowed || (t > 0 && now - this.started >= t)) return this.fail(status);
    this.connectNext();
  }

  private requestSent(): boolean {
    return this.vars.connectTimes[this.vars.connectTimes.length - 1] !== '-';
  }

  /** The request ends with nginx's error response for `status`. */
  private fail(status: number): void {
    if (this.done) return;
    this.done = true;
    this.dropSock();
    this.host.finalize(this.r, status);
  }

  /** the connection's data while this request owns it */
  upData(d: Buffer): void {
    if (this.done) return;
    this.gotBytes = true;
    if (this.parser) return this.bodyData(d);
    this.headBuf.push(d);
    this.headLen += d.length;
    const buf = this.headBuf.length === 1 ? this.headBuf[0] : Buffer.concat(this.headBuf, this.headLen);
    this.headBuf = [buf];
    if (buf.length >= 5 && buf.subarray(0, 5).toString('latin1') !== 'HTTP/') return this.badHead(buf);
    const end = buf.indexOf('\r\n\r\n');
    const lfEnd = end < 0 ? buf.indexOf('\n\n') : -1;
    if (end < 0 && lfEnd < 0) {
      if (buf.length >= MAX_HEAD) {
        this.logUp('error', 'upstream sent too big header', 'reading response header from upstream');
        return this.next('invalid_header');
      }
      return;
    }
    const headEnd = end >= 0 ? end + 4 : lfEnd + 2;
    if (headEnd > MAX_HEAD) {
      this.logUp('error', 'upstream sent too big header', 'reading response header from upstream');
      return this.next('invalid_header');
    }
    this.onHead(buf.subarray(0, headEnd).toString('latin1'), buf.subarray(headEnd));
  }

  /** A reply without a status line: nginx says so, then passes it on as an HTTP/0.9 answer. */
  private badHead(buf: Buffer): void {
    this.logUp('error', 'upstream sent no valid HTTP/1.0 header', 'reading response header from upstream');
    const i = this.vars.statuses.length - 1;
    this.vars.statuses[i] = '200';
    this.vars.headerTimes[i] = secs(Date.now() - this.tryStart);
    this.r.bareHead = true;
    this.keep = false;
    this.startResponse(200, null, [], false, { length: -1, chunked: false }, buf);
  }

  private onHead(text: string, rest: Buffer): void {
    // lines end in LF or CRLF
    const n = text.length;
    let pos = 0;
    const nextLine = (): string => {
      const lf = text.indexOf('\n', pos);
      const end = lf < 0 ? n : lf;
      const l = text.slice(pos, end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
      pos = end + 1;
      return l;
    };
    const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/.exec(nextLine());
    if (!m) return this.badHead(Buffer.from(text + rest.toString('latin1'), 'latin1'));
    const version = Number(m[1]) * 10 + Number(m[2]);
    const status = Number(m[3]);
    const headers: Array<[string, string]> = [];
    while (pos < n) {
      const l = nextLine();
      if (l === '') continue;
      const c = l.indexOf(':');
      if (c <= 0 || !validName(l, c)) {
        this.logUp('error', 'upstream sent invalid header', 'reading response header from upstream');
        return this.next('invalid_header');
      }
      headers.push([l.slice(0, c), l.slice(c + 1).trim()]);
    }
    const i = this.vars.statuses.length - 1;
    this.vars.statuses[i] = String(status);
    this.vars.headerTimes[i] = secs(Date.now() - this.tryStart);
    this.vars.headers = headers;
    // proxy_next_upstream http_5xx / 403 / 404 / 429, while there is a peer left to try
    const ft = `http_${status}` as Failure;
    if (this.s.proxyNextUpstream.has(ft) && this.picker!.tries > 1) return this.next(ft);
    let length = -1;
    let chunked = false;
    let close = version < 11;
    for (const [n, v] of headers) {
      const k = n.toLowerCase();
      if (k === 'content-length') length = Number.parseInt(v, 10);
      else if (k === 'transfer-encoding' && /chunked/i.test(v) && version >= 11) chunked = true;
      else if (k === 'connection') close = /close/i.test(v) || (version < 11 && !/keep-alive/i.test(v));
    }
    if (chunked) length = -1;
    this.keep = !close;
    this.startResponse(status, m[4] ?? '', headers, true, { length, chunked }, rest);
  }

  private startResponse(status: number, reason: string | null, headers: Array<[string, string]>, parsed: boolean,
    framing: { length: number; chunked: boolean }, rest: Buffer): void {
    const { r, s } = this;
    const noBody = r.req.method === 'HEAD' || r.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (s.proxyInterceptErrors && status >= 300 && s.errorPages.has(status)) {
      this.vars.times[this.vars.times.length - 1] = secs(Date.now() - this.tryStart);
      return this.fail(status);
    }
    this.headSent = true;
    r.status = status;
    if (reason !== null) r.reason = { status, text: reason };
    const ho = r.headersOut;
    r.headersInOrder = true;
    const hidden = hiddenOf(s);
    let type: string | null = null;
    for (const [n, v] of headers) {
      const k = n.toLowerCase();
      if (HOP.has(k) || hidden.has(k)) continue;
      if (k === 'content-type') type = v;
      else if (k === 'content-length') ho.contentLength = noBody && r.req.method !== 'HEAD' ? -1 : Number.parseInt(v, 10);
      else if (k === 'location' || k === 'refresh') ho.list.push([n, this.redirect(v, k === 'refresh')]);
      else ho.list.push([n, v]);
    }
    // a proxied response without a type has none (no default_type)
    ho.contentType = type ?? '';
    if (!parsed) ho.contentLength = -1;
    this.parser = new BodyReader(noBody ? 0 : framing.length, framing.chunked && !noBody, !parsed || (!noBody && framing.length < 0 && !framing.chunked));
    if (this.parser.untilClose) this.keep = false;
    // the read timer still runs: armRead restarts it (no new timer) unless the head ended it all
    sendHeaders(r);
    if (r.finalized || this.done) return this.disarm();
    this.armRead();
    if (rest.length) this.bodyData(rest);
    else if (this.parser.complete) this.finishBody();
  }

  /** proxy_redirect: the upstream's Location (and Refresh url=) rewritten. */
  private redirect(v: string, refresh: boolean): string {
    const { s, r } = this;
    const rules = s.proxyRedirect;
    if (rules === false) return v;
    const apply = (loc: string): string => {
      if (rules === 'default') {
        if (!this.pass.upstream) return loc;
        const from = `http://${this.pass.hostPort}${this.pass.uri || '/'}`;
        const to = this.pass.uri ? this.pass.locationName : '/';
        return loc.startsWith(from) ? absoluteRedirect(r, to + loc.slice(from.length)) : loc;
      }
      for (const rule of rules) {
        if (rule.from instanceof RegExp) {
          const m = rule.from.exec(loc);
          if (!m) continue;
          const to = expandTemplate(rule.to, (n) => (/^\d$/.test(n) ? m[Number(n)] ?? '' : getVar(r, n)));
          return absoluteRedirect(r, to + loc.slice(m.index + m[0].length));
        }
        const from = expandTemplate(rule.from, (n) => getVar(r, n));
        if (loc.startsWith(from)) return absoluteRedirect(r, expandTemplate(rule.to, (n) => getVar(r, n)) + loc.slice(from.length));
      }
      return loc;
    };
    if (!refresh) return apply(v);
    const m = /^(.*?url=)(.*)$/i.exec(v);
    return m ? m[1] + apply(m[2]) : v;
  }

  private armRead(): void {
    this.arm(this.timeouts.read, () => {
      this.logUp('error', 'upstream timed out (110: Connection timed out)', 'reading upstream');
      this.cut();
    });
  }

  private bodyData(d: Buffer): void {
    const p = this.parser!;
    const pieces = p.feed(d);
    if (p.error) {
      this.logUp('error', 'upstream sent invalid chunked response', 'reading upstream');
      return this.cut();
    }
    const i = this.vars.lengths.length - 1;
    for (const piece of pieces) {
      this.vars.lengths[i] = String(Number(this.vars.lengths[i]) + piece.length);
      output(this.r, piece);
    }
    if (p.extra) this.keep = false;
    if (p.complete) return this.finishBody();
    this.armRead();
    if (pieces.length && !this.r.flushOutput()) {
      // the client reads slower than the upstream writes: stop reading until it catches up
      const sock = this.sock!;
      sock.pause();
      this.r.ex.onDrain(() => this.sock === sock && sock.resume());
    }
  }

  private finishBody(): void {
    if (this.done) return;
    this.done = true;
    this.disarm();
    const i = this.vars.times.length - 1;
    this.vars.times[i] = secs(Date.now() - this.tryStart);
    const sock = this.sock;
    this.sock = null;
    if (sock) {
      if (this.keep && this.parser && !this.parser.untilClose && this.up && !sock.destroyed) {
        setOwner(sock, null);
        sock.resume();
        this.up.keepIdle(sock, this.peerName, this.connRequests);
      } else {
        setOwner(sock, null);
        sock.destroy();
      }
    }
    sendEof(this.r);
    this.host.logPhase(this.r);
  }

  /** The response broke off after its head went out: the client's connection is cut. */
  private cut(): void {
    if (this.done) return;
    this.done = true;
    this.dropSock();
    const i = this.vars.times.length - 1;
    if (i >= 0) this.vars.times[i] = secs(Date.now() - this.tryStart);
    this.r.terminate();
    this.host.logPhase(this.r);
  }

  private clientAbort(): void {
    if (this.done || this.s.proxyIgnoreClientAbort) return;
    this.done = true;
    if (this.sock) this.logUp('info', 'client prematurely closed connection', this.headSent ? 'reading upstream' : 'reading response header from upstream');
    this.dropSock();
    this.r.status = 499;
    this.r.finalStatus = 499;
    this.r.eofSent = true;
    this.host.logPhase(this.r);
  }
}

/** The response body's framing: a length, chunked, or until the upstream closes. */
class BodyReader {
  complete: boolean;
  error = false;
  /** bytes past the end of the body (the connection cannot be reused) */
  extra = false;
  private left: number;
  private state: 'size' | 'ext' | 'data' | 'crlf' | 'trailer' = 'size';
  private size = 0;
  private sizeDigits = 0;
  private trailerLine = 0;

  constructor(length: number, private readonly chunked: boolean, readonly untilClose: boolean) {
    this.left = length;
    this.complete = !chunked && !untilClose && length <= 0;
  }

  feed(d: Buffer): Buffer[] {
    if (this.complete) {
      if (d.length) this.extra = true;
      return [];
    }
    if (this.untilClose) return [d];
    if (!this.chunked) {
      if (d.length <= this.left) {
        this.left -= d.length;
        if (this.left === 0) this.complete = true;
        return [d];
      }
      const piece = d.subarray(0, this.left);
      this.left = 0;
      this.complete = true;
      this.extra = true;
      return [piece];
    }
    const out: Buffer[] = [];
    let i = 0;
    while (i < d.length && !this.complete && !this.error) {
      const c = d[i];
      switch (this.state) {
        case 'size': {
          const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (h >= 0) {
            this.size = this.size * 16 + h;
            if (++this.sizeDigits > 15) this.error = true;
            i++;
          } else if (this.sizeDigits > 0 && (c === 13 || c === 10 || c === 59 || c === 32 || c === 9)) {
            this.state = 'ext';
          } else this.error = true;
          break;
        }
        case 'ext':
          i++;
          if (c === 10) {
            if (this.size === 0) {
              this.state = 'trailer';
              this.trailerLine = 0;
            } else this.state = 'data';
          }
          break;
        case 'data': {
          const n = Math.min(this.size, d.length - i);
          out.push(d.subarray(i, i + n));
          i += n;
          this.size -= n;
          if (this.size === 0) this.state = 'crlf';
          break;
        }
        case 'crlf':
          i++;
          if (c === 10) {
            this.state = 'size';
            this.size = 0;
            this.sizeDigits = 0;
          } else if (c !== 13) this.error = true;
          break;
        case 'trailer':
          i++;
          if (c === 10) {
            if (this.trailerLine === 0) this.complete = true;
            this.trailerLine = 0;
          } else if (c !== 13) this.trailerLine++;
          break;
      }
    }
    if (this.complete && i < d.length) this.extra = true;
    return out;
  }
}
