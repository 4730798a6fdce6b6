// HTTP/1.x server on raw TCP sockets: one Connection per socket, one live Exchange at a time
// on it (pipelined requests wait in the input buffer until the previous response has ended).

import { rmSync } from 'node:fs';
import { ACTION_HEADERS, ACTION_LINE, HeadParser, toRequest, type InvalidHeader } from './parser.js';
import { statusLine } from './status.js';
import * as stream from './stream.js';
import type { ListenOwner, StreamOwner } from './stream.js';
import {
  errorPageBody, errorClosesConnection, errorSendsNothing, isMsie, MSIE_PADDING,
} from './errpage.js';
import type { ConnBudget, ConnLimits, HttpExchange, HttpRequest, LogCtx, ResponseHead, ServerOptions } from './types.js';
import { clearArray } from '../util/clear.js';

/** socket buffer size over which write() reports backpressure */
const HIGH_WATER = 64 * 1024;
/** queued output over which the raw socket's writer asks its caller to wait, as node:net's */
const RAW_HIGH_WATER = 16 * 1024;
/** unread input over which the socket is paused */
const MAX_INPUT = 1024 * 1024;
/** nginx's defaults for what the conf does not set */
export const DEFAULT_LIMITS: Readonly<ConnLimits> = {
  keepaliveTimeout: 75_000,
  keepaliveRequests: 1000,
  keepaliveHeader: -1,
  keepaliveTime: 3_600_000,
  sendTimeout: 60_000,
  clientBodyTimeout: 60_000,
  lingeringClose: 'on',
  lingeringTime: 30_000,
  lingeringTimeout: 5_000,
  resetTimedoutConnection: false,
};

const TIMED_OUT = 'client timed out (110: Connection timed out)';
/** a connection that closes with this much output unsent asks for its memory back (opts.reclaim) */
const RECLAIM_AT = 1 << 20;
/** ... as does a server that becomes idle after this many connections and requests */
const RECLAIM_AFTER = 500;

// what a connection's deadline is for
const T_NONE = 0; // a request is being handled (its own parts time themselves)
const T_WAIT = 1; // a new connection, no byte yet: client_header_timeout from accept
const T_HEAD = 2; // part of a request head: client_header_timeout
const T_IDLE = 3; // keep-alive between requests: keepalive_timeout
const T_BODY = 4; // ngx.req.read_body() waiting for bytes: client_body_timeout between reads
const T_DISCARD = 5; // dropping an unread body: lingering_timeout between reads, lingering_time in all
const T_LINGER = 6; // half-closed, draining input: lingering_timeout / lingering_time

/**
 * Idle connections that a worker short of slots may close (nginx's reusable queue), oldest first,
 * one per budget. Linked through the connections themselves: a request's start and end move a
 * connection out and back in without hashing or allocation.
 */
class ReuseQueue {
  head: Connection | null = null;
  tail: Connection | null = null;
  size = 0;
  push(c: Connection): void {
    c.rPrev = this.tail;
    c.rNext = null;
    if (this.tail !== null) this.tail.rNext = c;
    else this.head = c;
    this.tail = c;
    this.size++;
  }
  remove(c: Connection): void {
    if (c.rPrev !== null) c.rPrev.rNext = c.rNext;
    else this.head = c.rNext;
    if (c.rNext !== null) c.rNext.rPrev = c.rPrev;
    else this.tail = c.rPrev;
    c.rPrev = c.rNext = null;
    this.size--;
  }
}
const reuseQueues = new WeakMap<ConnBudget, ReuseQueue>();
function reuseQueueOf(b: ConnBudget): ReuseQueue {
  let q = reuseQueues.get(b);
  if (q === undefined) reuseQueues.set(b, (q = new ReuseQueue()));
  return q;
}

const EMPTY = Buffer.alloc(0);
const LAST_CHUNK = '0\r\n\r\n';
const CONTINUE_100 = 'HTTP/1.1 100 Continue\r\n\r\n';

let dateSec = -1;
let dateStr = '';
/** the Date header value, recomputed at most once a second */
export function httpDate(): string {
  const sec = Math.floor(stream.eventNow() / 1000);
  if (sec !== dateSec) {
    dateSec = sec;
    dateStr = new Date(sec * 1000).toUTCString();
  }
  return dateStr;
}

/** the first lines of a head (status line, Server, Date) by status, for the current Date */
const headStarts = new Map<number, string>();
let headStartsDate = '';
let headStartsToken = '';
function headStart(status: number, token: string): string {
  const date = httpDate();
  if (date !== headStartsDate || token !== headStartsToken) {
    headStarts.clear();
    headStartsDate = date;
    headStartsToken = token;
  }
  let s = headStarts.get(status);
  if (s === undefined) {
    s = statusLine(status) + '\r\nServer: ' + token + '\r\nDate: ' + date + '\r\n';
    headStarts.set(status, s);
  }
  return s;
}

function noop(): void { /* nothing */ }

export class HttpServer implements ListenOwner {
  readonly opts: ServerOptions;
  /** true once close() was called: no new connections, no keep-alive */
  closing = false;
  /** the listener's number in native/stream.c (-1: not listening) */
  private lid = -1;
  private onUnlisten: (() => void) | null = null;
  /** the unix socket file this server made, removed when it closes (a master's is its own) */
  private unixPath: string | null = null;
  private readonly conns = new Set<Connection>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private holdsSlot = false;
  /** connections accepted and requests started since the server was last idle and reclaimed */
  served = 0;
  private lastLocalAddr = '';
  private lastRemoteAddr = '';
  /** since when the server has had no connection (0 = it has some) */
  private emptySince = 0;
  private closePromise: Promise<void> | null = null;
  private onAllClosed: (() => void) | null = null;

  /** the settings of requests not (yet) matched to a location */
  readonly limits: ConnLimits;
  readonly headerTimeout: number;
  /** the budget's reusable connections (null without a budget) */
  readonly reuse: ReuseQueue | null;

  constructor(opts: ServerOptions) {
    this.opts = opts;
    this.reuse = opts.budget !== undefined ? reuseQueueOf(opts.budget) : null;
    const l: ConnLimits = { ...DEFAULT_LIMITS };
    for (const k of Object.keys(DEFAULT_LIMITS) as Array<keyof ConnLimits>) {
      if (opts[k] !== undefined) (l as unknown as Record<string, unknown>)[k] = opts[k];
    }
    this.limits = l;
    this.headerTimeout = opts.clientHeaderTimeout ?? 60_000;
  }

  /** number of open client connections */
  get connections(): number {
    return this.conns.size;
  }

  /** the bound address (after listen) */
  address(): { address: string; port: number } {
    return this.lid < 0 ? { address: '', port: 0 } : stream.listenAddress(this.lid);
  }

  /** Bind host:port, or take over `fd`, a listening socket a master made and shares. */
  listen(host: string, port: number, fd?: number, sndbuf = -1, rcvbuf = -1): Promise<void> {
    try {
      // (a socket file left by an earlier run is removed before the bind)
      this.lid = stream.listen(this, host, port, fd, sndbuf, rcvbuf);
      if (fd === undefined && host.startsWith('unix:')) this.unixPath = host.slice(5);
    } catch (e) {
      return Promise.reject(e);
    }
    // a listening socket takes a slot of worker_connections, as in nginx
    if (this.opts.budget) { this.opts.budget.used++; this.holdsSlot = true; }
    this.startSweep();
    return Promise.resolve();
  }

  /** @internal the listener is closed */
  closed(): void {
    this.lid = -1;
    const f = this.onUnlisten;
    this.onUnlisten = null;
    f?.();
  }

  /** Graceful stop: no new connections, idle ones closed, in-flight requests finish. */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closing = true;
    this.closePromise = new Promise((resolve) => {
      this.onUnlisten = () => {
        if (this.holdsSlot) { this.holdsSlot = false; this.opts.budget!.used--; }
        if (this.sweepTimer) clearInterval(this.sweepTimer);
        this.sweepTimer = null;
        if (this.conns.size === 0) resolve();
        else this.onAllClosed = resolve;
      };
      // at once, as libuv does for the unix sockets it binds: an exit may follow before the close
      if (this.unixPath !== null) rmSync(this.unixPath, { force: true });
      this.unixPath = null;
      if (this.lid >= 0) stream.unlisten(this.lid);
      else this.closed();
      this.closeIdle();
      // a fresh connection gets a second for its first request, then goes too
      setTimeout(() => {
        for (const c of this.conns) if (c.ex === null && c.bufLen() === 0) c.destroy();
      }, 1000).unref();
    });
    return this.closePromise;
  }

  private readonly parsers: HeadParser[] = [];
  /** @internal a head parser for a connection that has head bytes to read */
  takeParser(): HeadParser {
    return this.parsers.pop() ?? new HeadParser(this.opts);
  }
  /** @internal */
  putParser(p: HeadParser): void {
    if (this.parsers.length < 256) this.parsers.push(p);
  }

  /** Close every connection that has no request in progress. */
  closeIdle(): void {
    for (const c of this.conns) if (c.isIdle()) c.destroy();
  }

  /** @internal */
  log(level: 'info' | 'warn' | 'error' | 'alert', msg: string, ctx?: LogCtx): void {
    const f = this.opts.log;
    if (f) {
      try { f(level, msg, ctx); } catch { /* a logger must not break the server */ }
    }
  }

  /** @internal */
  removeConn(c: Connection): void {
    this.conns.delete(c);
    if (this.conns.size === 0 && this.onAllClosed !== null) {
      const f = this.onAllClosed;
      this.onAllClosed = null;
      f();
    }
  }

  /** @internal a connection accepted by the listener */
  accept(id: number, remoteAddr: string, remotePort: number, localAddr: string, localPort: number): void {
    // a connection accepted as the server closes is served (once, without keep-alive): with a
    // listening socket shared by several workers it was a client's, queued for whichever took it
    const b = this.opts.budget;
    if (b !== undefined) {
      if (b.max - b.used <= b.max / 16) this.drain(b);
      if (b.used >= b.max) {
        this.log('alert', `${b.max} worker_connections are not enough`);
        stream.close(id, false);
        return;
      }
      b.used++;
    }
    this.served++;
    // a listener's connections share one local address, and often (behind a proxy) the peer's:
    // keep one copy of a repeated address string instead of one per connection
    if (localAddr === this.lastLocalAddr) localAddr = this.lastLocalAddr;
    else this.lastLocalAddr = localAddr;
    if (remoteAddr === this.lastRemoteAddr) remoteAddr = this.lastRemoteAddr;
    else this.lastRemoteAddr = remoteAddr;
    const c = new Connection(this, id, remoteAddr, remotePort, localAddr, localPort);
    this.conns.add(c);
  }

  /** Short of slots: close the longest-idle connections that wait for a request, as nginx does. */
  private drain(b: ConnBudget): void {
    const idle = this.reuse;
    if (idle === null || idle.size === 0) return;
    const sec = Math.floor(Date.now() / 1000);
    if (b.warnedAt !== sec) {
      b.warnedAt = sec;
      this.log('warn', `${b.max} worker_connections are not enough, reusing connections`);
    }
    let n = Math.max(Math.min(32, Math.floor(idle.size / 8)), 1);
    while (n-- > 0 && idle.head !== null) {
      const c = idle.head;
      c.setReusable(false);
      c.destroy();
    }
  }

  private startSweep(): void {
    // a fortieth of the shortest timeout keeps closures within 2.5% of the configured time
    const l = this.limits;
    let t = Math.min(this.headerTimeout, l.sendTimeout, l.clientBodyTimeout, l.lingeringTimeout);
    if (l.keepaliveTimeout > 0) t = Math.min(t, l.keepaliveTimeout);
    const every = Math.min(250, Math.max(10, Math.floor(t / 40)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.conns) c.tick(now);
    // a burst of traffic is over (no connection for a second): give back what it left for the
    // garbage collectors, rather than hold it while idle. A full collection pauses the
    // process, so a server under load, whose connections come and go, never gets here.
    if (this.conns.size > 0) this.emptySince = 0;
    else if (this.emptySince === 0) this.emptySince = now;
    else if (now - this.emptySince >= 1000 && this.served >= RECLAIM_AFTER) {
      this.served = 0;
      this.opts.reclaim?.();
    }
  }
}

/** One client socket. */
class Connection implements StreamOwner {
  readonly server: HttpServer;
  /** the socket's number in native/stream.c */
  readonly sid: number;
  readonly opts: ServerOptions;
  /** the head parser, taken from the server's pool while a head is being read */
  private parser: HeadParser | null = null;
  readonly remoteAddr: string;
  readonly remotePort: number;
  readonly serverAddr: string;
  readonly serverPort: number;
  /** nginx's number for the connection, given by core/request.ts at its first request (0: none yet) */
  connNo = 0;

  /** unconsumed input is buf[off..] */
  buf: Buffer = EMPTY;
  off = 0;
  /** the exchange in progress */
  ex: Exchange | null = null;
  requests = 0;
  closed = false;
  /** the client sent FIN */
  peerEnded = false;
  /** response finished with close: drain input until the client goes away */
  lingering = false;
  paused = false;
  processing = false;
  /** when the connection became idle (0 = busy) */
  idleSince: number;
  /** when the first byte of the pending request head arrived (0 = none) */
  headStart = 0;
  /** accept time, for keepalive_time */
  readonly born: number;
  /** the settings of the current (or last) request */
  limits: ConnLimits;
  /** what `deadline` is for (T_*) */
  timer = T_WAIT;
  deadline: number;
  /** lingering_time / the discard's end: deadlines move up to this, never past it */
  hardEnd = 0;
  /** the socket is closed or closing: its number is not ours to use */
  sockGone = false;
  /** our half-close was asked for (node's writableEnded) */
  sockEnded = false;
  /** close once the half-close is sent */
  private closeOnFinish = false;
  /** output queued in the socket as of the last write (it only shrinks until the drain) */
  wpending = 0;
  /** bytes the kernel had taken when send progress was last seen, and when */
  private sent = 0;
  private sendSince = 0;
  /** output over RECLAIM_AT was seen waiting for the client */
  private bigOutput = false;
  private reusable = false;
  /** neighbours in the server's ReuseQueue while reusable */
  rPrev: Connection | null = null;
  rNext: Connection | null = null;
  /** the last request's error-log context, for a send timeout after it ended: taken only when
   * its output is still pending (an idle connection holds nothing of its last request) */
  lastLogContext: LogCtx | null = null;

  // output queue (flushed as one write where possible)
  out: Array<string | Buffer> = [];
  outLen = 0;
  flushQueued = false;
  /** waiting for the kernel to take the queued output; null while nothing waits (idle) */
  drainCbs: Array<() => void> | null = null;
  /** ngx.req.socket(true): every input byte goes here instead of to the parser */
  hijacked: ((data: Buffer | null, err: string | null) => void) | null = null;

  /** a unix-socket client's address is "unix:", as in nginx */
  constructor(server: HttpServer, sid: number, remoteAddr: string, remotePort: number, serverAddr: string, serverPort: number) {
    this.server = server;
    this.sid = sid;
    this.opts = server.opts;
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
    this.serverAddr = serverAddr;
    this.serverPort = serverPort;
    this.idleSince = this.born = Date.now();
    this.limits = server.limits;
    this.deadline = this.born + server.headerTimeout;
    this.setReusable(true);
    stream.own(sid, this);
  }

  onError(code: string): void {
    this.server.log('info', `client ${this.remoteAddr}:${this.remotePort} connection error: ${code}`);
  }

  onFinish(): void {
    if (this.closeOnFinish) this.destroy();
  }

  private pause(): void {
    this.paused = true;
    if (!this.sockGone) stream.setReading(this.sid, false);
  }

  resumeInput(): void {
    this.paused = false;
    if (!this.sockGone) stream.setReading(this.sid, true);
  }

  /** between requests of a keep-alive connection; a fresh one still owes its first request an
   * answer (a graceful stop that closed it would reset a client whose request is on the way) */
  isIdle(): boolean {
    return this.ex === null && this.bufLen() === 0 && this.requests > 0;
  }

  bufLen(): number {
    return this.buf.length - this.off;
  }

  /** Close the socket (with an RST when reset is true); onClose follows. */
  destroy(reset = false): void {
    if (this.sockGone) return;
    this.sockGone = true;
    stream.close(this.sid, reset);
  }

  /** A timed-out connection: reset_timedout_connection sends an RST instead of a FIN. */
  private timedOut(): void {
    const ex = this.ex;
    if (ex !== null && !ex.ended) ex.abort();
    this.destroy(this.limits.resetTimedoutConnection);
  }

  /** Idle connections waiting for a request may be closed when worker_connections run short. */
  setReusable(on: boolean): void {
    const q = this.server.reuse;
    if (q === null || on === this.reusable) return;
    this.reusable = on;
    if (on) q.push(this);
    else q.remove(this);
  }

  /** Set the deadline of what the connection waits for now. */
  arm(kind: number, ms: number, now = stream.eventNow()): void {
    this.timer = kind;
    this.deadline = now + ms;
  }

  /** Called by the sweep: enforce send_timeout and the current deadline. */
  tick(now: number): void {
    if (this.closed || this.sockGone) return;
    const pending = this.wpending > 0 ? (this.wpending = stream.pending(this.sid)) : 0;
    if (pending > RECLAIM_AT) this.bigOutput = true;
    if (pending > 0) {
      const sent = stream.written(this.sid);
      if (this.sendSince === 0 || sent !== this.sent) {
        this.sent = sent;
        this.sendSince = now;
      } else if (now - this.sendSince >= this.limits.sendTimeout) {
        const lc = this.ex?.logContext;
        this.server.log('info', TIMED_OUT, lc ? lc() : this.lastLogContext ?? { client: this.remoteAddr });
        this.timedOut();
        return;
      }
    } else {
      this.sendSince = 0;
    }
    if (this.timer === T_NONE || now < this.deadline) return;
    switch (this.timer) {
      case T_WAIT:
        this.server.log('info', `${TIMED_OUT} while waiting for request`, { client: this.remoteAddr, server: `${this.serverAddr}:${this.serverPort}` });
        this.destroy();
        break;
      case T_HEAD: {
        const lf = this.buf.indexOf(10, this.off);
        const line = lf < 0 ? '' : this.buf.toString('latin1', this.off, lf).replace(/\r$/, '');
        this.server.log('info', TIMED_OUT + this.headContext(line, ''));
        this.timedOut();
        break;
      }
      case T_BODY:
        // nginx finalizes the request with 408, which closes the connection without a response
        this.timedOut();
        break;
      default:
        this.destroy();
    }
  }

  onData(d: Buffer): void {
    if (this.closed) return;
    if (this.hijacked !== null) {
      this.hijacked(d, null);
      return;
    }
    const t = this.timer;
    if (t !== T_NONE) {
      if (t === T_WAIT) {
        this.timer = T_HEAD;
        this.setReusable(false);
      } else if (t === T_IDLE) {
        this.arm(T_HEAD, this.server.headerTimeout);
        this.setReusable(false);
      } else if (t === T_BODY) {
        this.arm(T_BODY, this.limits.clientBodyTimeout);
      } else if (t === T_DISCARD || t === T_LINGER) {
        this.deadline = Math.min(Date.now() + this.limits.lingeringTimeout, this.hardEnd);
      }
    }
    if (this.lingering) return; // drop: we are closing
    if (this.off >= this.buf.length) {
      this.buf = d;
      this.off = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.off), d]);
      this.off = 0;
    }
    if (this.ex === null && this.headStart === 0) this.headStart = stream.eventNow();
    this.process();
  }

  onEnd(): void {
    this.peerEnded = true;
    if (this.hijacked !== null) this.hijacked(null, null);
    if (this.lingering || this.closed) {
      this.destroy();
      return;
    }
    if (this.ex === null) {
      // let any complete pipelined requests in the buffer run; otherwise close
      this.process();
      if (this.ex === null) this.closeGracefully();
    } else if (this.ex.abortOnEnd && !this.ex.ended) {
      // lua_check_client_abort: a client that closed its side has gone away
      this.ex.abort();
    } else {
      this.process();
    }
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.sockGone = true;
    this.wpending = 0;
    this.timer = T_NONE;
    this.setReusable(false);
    if (this.opts.budget !== undefined) this.opts.budget.used--;
    if (this.bigOutput) this.opts.reclaim?.();
    this.server.removeConn(this);
    if (this.hijacked !== null) {
      const h = this.hijacked;
      this.hijacked = null;
      h(null, 'closed');
    }
    const ex = this.ex;
    if (ex !== null && !ex.ended) ex.abort();
    this.ex = null;
    if (this.parser !== null) this.dropParser(this.parser);
    this.buf = EMPTY;
    this.out.length = 0;
    this.outLen = 0;
  }

  onBacklog(): void {
    if (this.sockGone) return;
    const pending = (this.wpending = stream.pending(this.sid));
    if (pending > RECLAIM_AT) this.bigOutput = true;
  }

  onDrain(): void {
    this.wpending = 0;
    const cbs = this.drainCbs;
    if (cbs === null) return;
    this.drainCbs = null;
    for (const cb of cbs) safeCall(cb);
  }

  /** Move the connection forward: feed a body being read, or parse and start the next request. */
  process(): void {
    if (this.processing || this.closed) return;
    this.processing = true;
    let failed = false;
    try {
      while (!this.closed && !this.lingering) {
        const ex = this.ex;
        if (ex !== null) {
          if (!ex.bodyComplete) {
            if (ex.ended && (ex.closeAfter || ex.bodyError)) {
              // e.g. after a 413: no need to wait for the rest of the body
              this.ex = null;
              this.closeGracefully();
              break;
            }
            if (ex.bodyState === BODY_IDLE) break; // nobody wants it yet
            if (this.bufLen() > 0) {
              const used = ex.feedBody(this.buf, this.off);
              this.off += used;
              if (ex.bodyError) {
                // framing is lost: the connection cannot be reused
                ex.closeAfter = true;
                if (ex.ended) { this.closeGracefully(); break; }
              }
              continue;
            }
            if (this.peerEnded) {
              ex.bodyTruncated();
              if (ex.ended) { this.closeGracefully(); break; }
            }
            break;
          }
          if (!ex.ended) break;
          this.finishExchange(ex);
          continue;
        }
        // no exchange: try to parse the next head
        if (this.bufLen() === 0) break;
        if (!this.startRequest()) break;
      }
    } catch (err) {
      failed = true;
      this.server.log('error', `request handler failed: ${(err as Error)?.stack ?? String(err)}`);
      const ex = this.ex;
      if (ex !== null && !ex.ended) {
        if (!ex.headSent) ex.sendErrorPage(500);
        else { ex.closeAfter = true; ex.end(); }
      }
    } finally {
      this.processing = false;
    }
    // an exchange that ended from the error path above still has to be finished
    if (failed && !this.closed && !this.lingering && this.ex !== null && this.ex.ended) {
      this.process();
      return;
    }
    if (this.out.length > 0) this.flush();
    if (!this.closed) {
      const big = this.bufLen() > MAX_INPUT;
      if (big && !this.paused) this.pause();
      else if (!big && this.paused && (this.ex === null || this.ex.bodyState !== BODY_IDLE || this.bufLen() < MAX_INPUT / 2)) {
        this.resumeInput();
      }
    }
  }

  /** Parse a head from the buffer and hand the exchange out. False when more data is needed. */
  private startRequest(): boolean {
    // skip CRLFs between requests, as nginx does
    let off = this.off;
    const buf = this.buf;
    while (off < buf.length && (buf[off] === 13 || buf[off] === 10)) off++;
    this.off = off;
    if (off === buf.length) return false;
    const p = (this.parser ??= this.server.takeParser());
    // the scan checks the head as it arrives: a bad byte is refused at once, as in nginx
    const len = p.scan(buf, off);
    if (len === 0) {
      if (this.peerEnded) {
        p.noteContext(buf, off);
        this.server.log('info', `client prematurely closed connection${this.headContext(p.errorRequest, p.errorHost, p.errorAction, p.errorReferer)}`);
        this.dropParser(p);
        this.closeGracefully();
      }
      return false;
    }
    if (len < 0) {
      this.logInvalidHeaders(p.invalidHeaders(buf, off), p.errorRequest);
      this.rejectHead(p);
      return false;
    }
    const h = p.parse(buf, off, len)!;
    if (h.invalidHeaders.length > 0) {
      this.logInvalidHeaders(h.invalidHeaders, buf.toString('latin1', off, buf.indexOf(10, off)).replace(/\r$/, ''));
    }
    this.dropParser(p);
    this.off = off + len;
    const startTime = this.headStart || stream.eventNow();
    this.headStart = 0;
    this.requests++;
    this.server.served++;
    this.idleSince = 0;
    this.timer = T_NONE;
    this.limits = this.server.limits;
    const req = toRequest(h, startTime, this.remoteAddr, this.remotePort, this.serverAddr, this.serverPort);
    const ex = new Exchange(this, req, h.expectContinue, isMsie(h.userAgent));
    this.ex = ex;
    this.opts.onRequest(ex);
    return true;
  }

  /** Back to the pool: a connection between requests holds no parser. */
  private dropParser(p: HeadParser): void {
    p.reset();
    this.parser = null;
    this.server.putParser(p);
  }

  /** nginx logs each header line it ignores as invalid, at info */
  private logInvalidHeaders(list: InvalidHeader[], reqLine: string): void {
    for (const bad of list) {
      this.server.log('info', `client sent invalid header line: "${bad.line}"${this.headContext(reqLine, bad.host, ACTION_HEADERS, bad.referer)}`);
    }
  }

  /**
   * The error-log context nginx appends while it reads a request head. (nginx also names the
   * server block between client and request; the logger we are given does not know it.)
   * Without `action`, it is the request line's until that line is known.
   */
  headContext(reqLine: string, host: string, action?: string, referer = ''): string {
    let c = ` while ${action ?? (reqLine === '' ? ACTION_LINE : ACTION_HEADERS)}, client: ${this.remoteAddr}`;
    if (reqLine !== '') c += `, request: "${reqLine}"`;
    if (host !== '') c += `, host: "${host}"`;
    if (referer !== '') c += `, referrer: "${referer}"`;
    return c;
  }

  /**
   * A head the parser refused: nginx's error page (the bare page for an HTTP/0.9 request, the
   * head alone for HEAD, MSIE's padding after it), then close.
   */
  private rejectHead(p: HeadParser): void {
    const status = p.errorStatus;
    this.server.log('info', `${p.errorMsg}${this.headContext(p.errorRequest, p.errorHost, p.errorAction, p.errorReferer)}`);
    const raw = p.errorRaw;
    const headOnly = p.errorHeadOnly;
    const msie = !raw && status >= 400 && isMsie(p.errorUserAgent);
    this.dropParser(p);
    this.off = this.buf.length;
    const page = errorPageBody(status, this.opts.serverToken);
    const pad = page !== null && msie ? MSIE_PADDING.length : 0;
    const len = page !== null ? page.length + pad : 0;
    if (!raw) {
      let head = statusLine(status) + '\r\nServer: ' + this.opts.serverToken + '\r\nDate: ' + httpDate() + '\r\n';
      if (page !== null) head += 'Content-Type: text/html\r\n';
      head += 'Content-Length: ' + len + '\r\nConnection: close\r\n\r\n';
      this.queue(head, head.length);
    }
    if (page !== null && !headOnly) {
      this.queue(page, page.length);
      if (pad > 0) this.queue(MSIE_PADDING, pad);
    }
    this.flush();
    this.closeGracefully();
  }

  /** The exchange ended and its body was consumed: keep-alive or close. */
  private finishExchange(ex: Exchange): void {
    this.ex = null;
    this.lastLogContext = ex.logContext && this.wpending > 0 ? ex.logContext() : null;
    if (ex.closeAfter || this.peerEnded && this.bufLen() === 0) {
      this.closeGracefully();
      return;
    }
    const now = this.idleSince = stream.eventNow();
    if (this.bufLen() > 0) {
      this.headStart = now;
      this.arm(T_HEAD, this.server.headerTimeout, now);
    } else {
      // nothing of the last read is kept while the connection waits
      this.buf = EMPTY;
      this.off = 0;
      this.arm(T_IDLE, this.limits.keepaliveTimeout, now);
      this.setReusable(true);
    }
  }

  /**
   * Send what is queued, then close. When the client may still be sending (unread input, an
   * unread body, or lingering_close always), half-close and drain its input first, so that the
   * kernel does not answer those bytes with a reset that destroys the response in flight.
   */
  closeGracefully(): void {
    if (this.closed || this.lingering) return;
    this.lingering = true;
    this.setReusable(false);
    this.flush();
    const lim = this.limits;
    const ex = this.ex;
    const unread = this.bufLen() > 0 || (ex !== null && !ex.bodyComplete);
    this.buf = EMPTY;
    this.off = 0;
    if (this.paused) this.resumeInput();
    if (!this.sockGone && !this.sockEnded) {
      this.sockEnded = true;
      stream.shutdown(this.sid);
    }
    if (this.peerEnded || lim.lingeringClose === 'off' || (lim.lingeringClose === 'on' && !unread)) {
      // nothing more is expected: close once our data is written
      this.timer = T_NONE;
      this.closeOnFinish = true;
      return;
    }
    const now = Date.now();
    this.hardEnd = now + lim.lingeringTime;
    this.arm(T_LINGER, Math.min(lim.lingeringTimeout, lim.lingeringTime), now);
  }

  queue(data: string | Buffer, len: number): void {
    this.out.push(data);
    this.outLen += len;
    if (!this.processing && !this.flushQueued) {
      this.flushQueued = true;
      if (!stream.atReadEnd(flushConn, this)) process.nextTick(flushConn, this);
    }
  }

  flush(): void {
    this.flushQueued = false;
    const out = this.out;
    const n = out.length;
    if (n === 0) return;
    if (this.closed || this.sockGone || this.sockEnded) {
      clearArray(out);
      this.outLen = 0;
      return;
    }
    const sid = this.sid;
    let pending: number;
    if (n === 1) {
      pending = stream.write(sid, out[0], this.outLen);
    } else if (this.outLen <= 65536) {
      // gathered into one write by the addon
      pending = stream.writev(sid, out, n, this.outLen);
    } else {
      // large output: each part goes as it is (the addon keeps their order)
      pending = 0;
      for (let i = 0; i < n && !this.sockGone; i++) {
        const d = out[i];
        pending = stream.write(sid, d, d.length);
      }
    }
    this.wpending = pending;
    if (pending > RECLAIM_AT) this.bigOutput = true;
    clearArray(out);
    this.outLen = 0;
  }

  congested(): boolean {
    return this.wpending + this.outLen >= HIGH_WATER;
  }
}

function processConn(c: Connection): void {
  c.process();
}

function flushConn(c: Connection): void {
  if (c.flushQueued) c.flush();
}

function safeCall(cb: () => void): void {
  try {
    cb();
  } catch {
    /* callbacks must not break the connection */
  }
}

// request body states
const BODY_IDLE = 0; // nobody asked for it yet
const BODY_READ = 1; // readBody() collecting
const BODY_DISCARD = 2; // dropping it

// chunked decoder states (those of nginx's ngx_http_parse_chunked)
const CH_START = 0; // the first digit of a chunk size
const CH_SIZE = 1;
const CH_EXT = 2; // chunk extension
const CH_EXT_ALMOST = 3; // CR seen after the size line
const CH_DATA = 4;
const CH_AFTER_DATA = 5;
const CH_AFTER_DATA_ALMOST = 6;
const CH_LAST_EXT = 7; // extension of the last (zero) chunk
const CH_LAST_EXT_ALMOST = 8;
const CH_TRAILER = 9; // at the start of a trailer line
const CH_TRAILER_ALMOST = 10;
const CH_TRAILER_HEADER = 11;
const CH_TRAILER_HEADER_ALMOST = 12;
/** nginx refuses a chunk size over NGX_MAX_OFF_T_VALUE / 16 before taking another digit */
const CHUNK_SIZE_MAX = 2 ** 59;

/** One request/response on a connection. */
class Exchange implements HttpExchange {
  readonly req: HttpRequest;
  headSent = false;
  aborted = false;
  ended = false;
  bytesSent = 0;
  /** close the connection after this response */
  closeAfter = false;
  /** treat the client's FIN during the request as an abort (lua_check_client_abort on) */
  abortOnEnd = false;
  private readonly conn: Connection;
  private readonly expectContinue: boolean;
  private continueSent = false;
  private readonly msie: boolean;
  noBody = false; // HEAD / 204 / 304 / 1xx: drop body bytes
  /** the response is one of nginx's error pages (sendErrorPage) */
  private errorPage = false;
  private chunkedOut = false;
  private abortCbs: Array<() => void> | null = null;
  /** conn.out entries before this index belong to earlier responses */
  private outMark = 0;
  logContext: (() => LogCtx) | null = null;
  headBytes = 0;
  readonly connectionRequests: number;

  // request body
  bodyState = BODY_IDLE;
  bodyComplete: boolean;
  bodyError = false;
  private bodyLeft: number; // content-length bytes left, or bytes left in current chunk
  private chState = CH_START;
  private bodyChunks: Buffer[] = [];
  private bodySize = 0;
  private bodyMax = 0;
  private bodyCb: ((errStatus: number | null, body: Buffer | null) => void) | null = null;
  /** ngx.req.socket(): body bytes as they arrive; (null, null) at the end, (null, err) on abort */
  private bodyStream: ((data: Buffer | null, err: string | null) => void) | null = null;

  constructor(conn: Connection, req: HttpRequest, expectContinue: boolean, msie: boolean) {
    this.conn = conn;
    this.req = req;
    this.expectContinue = expectContinue;
    this.msie = msie;
    this.connectionRequests = conn.requests;
    this.bodyComplete = !req.chunked && req.contentLength <= 0;
    this.bodyLeft = req.chunked ? 0 : Math.max(0, req.contentLength);
    this.outMark = conn.out.length;
  }

  // ---------------------------------------------------------------- response

  setLimits(limits: ConnLimits): void {
    this.conn.limits = limits;
  }

  sendHead(head: ResponseHead): void {
    if (this.headSent || this.ended) return;
    this.headSent = true;
    const conn = this.conn;
    const req = this.req;
    const opts = conn.opts;
    const status = head.status;
    if (req.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      this.noBody = true;
    }
    if (req.version === 9 || head.bare) {
      // HTTP/0.9: no status line, no headers; the body is delimited by close
      this.closeAfter = true;
      return;
    }
    let cl = head.contentLength ?? -1;
    const lim = conn.limits;
    let keepAlive = req.keepAlive && !this.closeAfter && !conn.server.closing &&
      lim.keepaliveTimeout > 0 && conn.requests < lim.keepaliveRequests && req.startTime - conn.born <= lim.keepaliveTime;
    if (cl < 0 && !this.noBody) {
      if (req.version === 11) this.chunkedOut = true;
      else keepAlive = false;
    }
    if (!keepAlive) this.closeAfter = true;
    let ct = head.contentType;
    let lm = head.lastModified;
    if (status === 204) {
      ct = null;
      cl = -1;
      lm = undefined;
    }
    let s: string;
    const token = head.serverToken ?? opts.serverToken;
    if (head.server === undefined && head.date === undefined && head.reason === undefined) {
      s = headStart(status, token);
    } else {
      s = head.reason !== undefined ? statusLine(status, head.reason) : statusLine(status);
      const server = head.server === undefined ? token : head.server;
      const date = head.date === undefined ? httpDate() : head.date;
      s += '\r\n';
      if (server !== null) s += 'Server: ' + server + '\r\n';
      if (date !== null) s += 'Date: ' + date + '\r\n';
    }
    if (ct) s += 'Content-Type: ' + ct + '\r\n';
    if (cl >= 0) s += 'Content-Length: ' + cl + '\r\n';
    if (lm) s += 'Last-Modified: ' + lm + '\r\n';
    if (head.location) s += 'Location: ' + head.location + '\r\n';
    if (this.chunkedOut) s += 'Transfer-Encoding: chunked\r\n';
    // 101: the connection now speaks another protocol (nginx says "upgrade")
    s += status === 101 ? 'Connection: upgrade\r\n' : keepAlive ? 'Connection: keep-alive\r\n' : 'Connection: close\r\n';
    if (keepAlive && lim.keepaliveHeader >= 0 && status !== 101) s += 'Keep-Alive: timeout=' + lim.keepaliveHeader + '\r\n';
    const hs = head.headers;
    for (let i = 0; i < hs.length; i++) s += hs[i][0] + ': ' + hs[i][1] + '\r\n';
    s += '\r\n';
    // header values are latin1 strings: one byte per char
    this.bytesSent += s.length;
    this.headBytes = s.length;
    conn.queue(s, s.length);
  }

  write(data: Buffer): boolean {
    if (this.ended || this.aborted) return !this.aborted;
    if (!this.headSent) this.sendHead({ status: 200, headers: [] });
    const conn = this.conn;
    const n = data.length;
    if (this.noBody || n === 0) return !conn.congested();
    if (this.chunkedOut) {
      const pre = n.toString(16) + '\r\n';
      conn.queue(pre, pre.length);
      conn.queue(data, n);
      conn.queue('\r\n', 2);
      this.bytesSent += pre.length + n + 2;
    } else {
      conn.queue(data, n);
      this.bytesSent += n;
    }
    if (conn.outLen >= HIGH_WATER) conn.flush();
    return !conn.congested();
  }

  onDrain(cb: () => void): void {
    const conn = this.conn;
    if (conn.out.length > 0) conn.flush();
    if (this.aborted || conn.closed || !conn.congested()) {
      process.nextTick(cb);
      return;
    }
    (conn.drainCbs ??= []).push(cb);
  }

  end(): void {
    if (this.ended) return;
    if (!this.headSent && !this.aborted) this.sendHead({ status: 200, headers: [] });
    this.ended = true;
    const conn = this.conn;
    if (this.aborted) return;
    if (!this.bodyComplete && this.req.chunked && this.bodyState === BODY_IDLE && !this.noBody && !this.errorPage &&
        conn.ex === this && conn.bufLen() > 0) {
      // ngx_lua discards an unread body before the response's last buffer goes out, reading
      // what has arrived: a broken chunked body there aborts the request, and the response
      // still held back (nginx's postpone_output) is never sent
      this.bodyState = BODY_DISCARD;
      conn.off += this.feedBody(conn.buf, conn.off);
      this.bodyState = BODY_IDLE;
      if (this.bodyError) {
        this.terminate();
        return;
      }
    }
    if (this.chunkedOut && !this.noBody) {
      conn.queue(LAST_CHUNK, 5);
      this.bytesSent += 5;
    }
    if (!this.bodyComplete) {
      // what the handler did not read is dropped (also when it gave up waiting for it)
      this.bodyCb = null;
      this.bodyStream = null;
      this.startDiscard();
    }
    if (!conn.processing) {
      conn.flush();
      conn.process();
    }
  }

  sendErrorPage(status: number, extraHeaders?: Array<[string, string]>, filter?: (head: ResponseHead, page: Buffer | null) => Buffer | null, serverToken?: string): void {
    if (this.ended) return;
    // an error page goes out even when the unread body turns out broken (nginx then only
    // drops keep-alive)
    this.errorPage = true;
    if (errorSendsNothing(status)) {
      this.ended = true;
      this.closeAfter = true;
      this.conn.destroy();
      return;
    }
    if (errorClosesConnection(status)) this.closeAfter = true;
    if (this.headSent) {
      this.end();
      return;
    }
    let page = errorPageBody(status, serverToken ?? this.conn.opts.serverToken);
    if (page !== null && this.msie && status >= 400) page = Buffer.concat([page, Buffer.from(MSIE_PADDING, 'latin1')]);
    let location: string | undefined;
    const headers: Array<[string, string]> = [];
    if (extraHeaders) {
      for (const h of extraHeaders) {
        if (location === undefined && h[0].length === 8 && h[0].toLowerCase() === 'location') location = h[1];
        else headers.push(h);
      }
    }
    const head: ResponseHead = {
      status,
      contentType: page !== null ? 'text/html' : null,
      contentLength: page !== null ? page.length : 0,
      location,
      headers,
      serverToken,
    };
    if (filter) page = filter(head, page);
    this.sendHead(head);
    if (page !== null) this.write(page);
    this.end();
  }

  forceClose(): void {
    this.closeAfter = true;
  }

  /** Drop what this response has not yet written and close the connection at once. */
  terminate(): void {
    if (this.ended && this.conn.ex !== this) return;
    this.ended = true;
    this.closeAfter = true;
    const conn = this.conn;
    // earlier pipelined responses still queued go out; this one's pending bytes do not
    if (conn.out.length > this.outMark) {
      let drop = 0;
      for (let i = this.outMark; i < conn.out.length; i++) drop += conn.out[i].length;
      conn.out.length = this.outMark;
      conn.outLen -= drop;
    }
    conn.flush();
    conn.destroy();
  }


  onAbort(cb: () => void): void {
    if (this.aborted) {
      process.nextTick(cb);
      return;
    }
    (this.abortCbs ??= []).push(cb);
  }

  /** ngx.req.socket(): stream the request body to cb instead of collecting it. */
  streamBody(cb: (data: Buffer | null, err: string | null) => void): boolean {
    if (this.bodyState !== BODY_IDLE || this.aborted) return false;
    this.bodyState = BODY_READ;
    if (this.bodyComplete) {
      process.nextTick(cb, null, null);
      return true;
    }
    // as for ngx.req.read_body: the body socket answers an Expect: 100-continue when it is taken
    this.sendContinue();
    this.bodyStream = cb;
    process.nextTick(processConn, this.conn);
    return true;
  }

  /**
   * ngx.req.socket(true): take the connection over. Input goes to onData from now on (bytes
   * already buffered first); the response head counts as sent and the connection closes when
   * the request ends. Returns a raw writer (false = wait for the drain callback).
   */
  hijack(onData: (data: Buffer | null, err: string | null) => void): (data: Buffer, drained: (err: string | null) => void) => boolean {
    const conn = this.conn;
    this.headSent = true;
    this.noBody = true;
    this.closeAfter = true;
    this.bodyComplete = true;
    this.bodyState = BODY_DISCARD;
    conn.timer = T_NONE;
    conn.hijacked = onData;
    const rest = conn.bufLen() > 0 ? conn.buf.subarray(conn.off) : null;
    conn.buf = EMPTY;
    conn.off = 0;
    if (rest !== null) process.nextTick(() => { if (conn.hijacked === onData) onData(rest, null); });
    if (conn.peerEnded) process.nextTick(() => { if (conn.hijacked === onData) onData(null, null); });
    if (conn.paused) conn.resumeInput();
    return (data, drained) => {
      if (conn.out.length > 0) conn.flush();
      if (conn.closed || conn.sockGone || conn.sockEnded) {
        process.nextTick(drained, 'closed');
        return false;
      }
      this.bytesSent += data.length;
      if ((conn.wpending = stream.write(conn.sid, data, data.length)) < RAW_HIGH_WATER) return true;
      (conn.drainCbs ??= []).push(() => drained(null));
      return false;
    };
  }

  /** @internal the socket closed before end() */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const bs = this.bodyStream;
    if (bs !== null) {
      this.bodyStream = null;
      safeCall(() => bs(null, 'client aborted'));
    }
    const cbs = this.abortCbs;
    this.abortCbs = null;
    if (cbs) for (const cb of cbs) safeCall(cb);
    const bcb = this.bodyCb;
    if (bcb !== null && !this.bodyComplete) {
      this.bodyCb = null;
      safeCall(() => bcb(400, null));
    }
  }

  // ---------------------------------------------------------------- request body

  readBody(maxSize: number, cb: (errStatus: number | null, body: Buffer | null) => void): void {
    if (this.bodyState !== BODY_IDLE || this.aborted) {
      process.nextTick(cb, 400, null);
      return;
    }
    this.bodyMax = maxSize;
    if (this.bodyComplete) {
      this.bodyState = BODY_READ;
      process.nextTick(cb, null, EMPTY);
      return;
    }
    if (maxSize > 0 && this.req.contentLength > maxSize) {
      this.bodyState = BODY_DISCARD;
      this.closeAfter = true;
      process.nextTick(cb, 413, null);
      this.conn.process();
      return;
    }
    this.bodyState = BODY_READ;
    this.bodyCb = cb;
    this.conn.arm(T_BODY, this.conn.limits.clientBodyTimeout);
    this.sendContinue();
    process.nextTick(processConn, this.conn);
  }

  /** nginx answers an Expect: 100-continue when the body is first read, even if it already arrived */
  private sendContinue(): void {
    if (this.expectContinue && this.req.version === 11 && !this.continueSent) {
      this.continueSent = true;
      this.conn.queue(CONTINUE_100, CONTINUE_100.length);
      this.conn.flush();
    }
  }

  discardBody(): boolean {
    if (this.bodyState === BODY_IDLE) {
      this.startDiscard();
      // what already arrived is checked now (this may run inside the connection's own
      // processing, which would not feed it): a broken chunked body is known at once
      const conn = this.conn;
      if (!this.bodyComplete && conn.bufLen() > 0) conn.off += this.feedBody(conn.buf, conn.off);
      conn.process();
    }
    return !this.bodyError;
  }

  /** Drop the rest of the body, reading it for at most lingering_time, lingering_timeout apart. */
  private startDiscard(): void {
    if (this.bodyState === BODY_DISCARD) return;
    this.bodyState = BODY_DISCARD;
    if (this.bodyComplete || this.bodyError) return;
    const conn = this.conn;
    const now = Date.now();
    conn.hardEnd = now + conn.limits.lingeringTime;
    conn.arm(T_DISCARD, Math.min(conn.limits.lingeringTimeout, conn.limits.lingeringTime), now);
  }

  /** @internal consume body bytes from buf[off..]; returns how many were used */
  feedBody(buf: Buffer, off: number): number {
    const end = buf.length;
    if (!this.req.chunked) {
      const take = Math.min(this.bodyLeft, end - off);
      this.bodyLeft -= take;
      this.deliver(buf, off, off + take);
      if (this.bodyLeft === 0) this.completeBody();
      return take;
    }
    let p = off;
    while (p < end && !this.bodyComplete && !this.bodyError) {
      if (this.chState === CH_DATA) {
        const take = Math.min(this.bodyLeft, end - p);
        this.deliver(buf, p, p + take);
        p += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) this.chState = CH_AFTER_DATA;
        continue;
      }
      const c = buf[p++];
      switch (this.chState) {
        case CH_START: {
          const v = hex(c);
          if (v < 0) return this.badChunk();
          this.bodyLeft = v;
          this.chState = CH_SIZE;
          break;
        }
        case CH_SIZE: {
          if (this.bodyLeft >= CHUNK_SIZE_MAX) return this.badChunk();
          const v = hex(c);
          if (v >= 0) {
            this.bodyLeft = this.bodyLeft * 16 + v;
          } else if (c === 13) {
            this.chState = this.bodyLeft === 0 ? CH_LAST_EXT_ALMOST : CH_EXT_ALMOST;
          } else if (c === 10) {
            this.chState = this.bodyLeft === 0 ? CH_TRAILER : CH_DATA;
          } else if (c === 59 || c === 32 || c === 9) {
            this.chState = this.bodyLeft === 0 ? CH_LAST_EXT : CH_EXT;
          } else {
            return this.badChunk();
          }
          break;
        }
        case CH_EXT:
        case CH_LAST_EXT: {
          // an extension runs to the end of the line; a CR must come right before the LF
          const last = this.chState === CH_LAST_EXT;
          if (c === 13) this.chState = last ? CH_LAST_EXT_ALMOST : CH_EXT_ALMOST;
          else if (c === 10) this.chState = last ? CH_TRAILER : CH_DATA;
          break;
        }
        case CH_EXT_ALMOST:
          if (c !== 10) return this.badChunk();
          this.chState = CH_DATA;
          break;
        case CH_LAST_EXT_ALMOST:
          if (c !== 10) return this.badChunk();
          this.chState = CH_TRAILER;
          break;
        case CH_AFTER_DATA:
          if (c === 13) this.chState = CH_AFTER_DATA_ALMOST;
          else if (c === 10) this.chState = CH_START;
          else return this.badChunk();
          break;
        case CH_AFTER_DATA_ALMOST:
          if (c !== 10) return this.badChunk();
          this.chState = CH_START;
          break;
        case CH_TRAILER:
          if (c === 13) this.chState = CH_TRAILER_ALMOST;
          else if (c === 10) this.completeBody();
          else this.chState = CH_TRAILER_HEADER;
          break;
        case CH_TRAILER_ALMOST:
          if (c !== 10) return this.badChunk();
          this.completeBody();
          break;
        case CH_TRAILER_HEADER:
          if (c === 13) this.chState = CH_TRAILER_HEADER_ALMOST;
          else if (c === 10) this.chState = CH_TRAILER;
          break;
        case CH_TRAILER_HEADER_ALMOST:
          if (c !== 10) return this.badChunk();
          this.chState = CH_TRAILER;
          break;
      }
    }
    return p - off;
  }

  private badChunk(): number {
    this.bodyError = true;
    const lc = this.logContext;
    this.conn.server.log('error', 'client sent invalid chunked body', lc ? lc() : { client: this.conn.remoteAddr });
    const cb = this.bodyCb;
    this.bodyCb = null;
    this.bodyChunks = [];
    if (cb !== null) safeCall(() => cb(400, null));
    // nothing after a framing error can be trusted: swallow the rest of the input
    return this.conn.bufLen();
  }

  private deliver(buf: Buffer, from: number, to: number): void {
    if (to <= from || this.bodyState !== BODY_READ) return;
    const n = to - from;
    if (this.bodyStream !== null) {
      const bs = this.bodyStream;
      safeCall(() => bs(buf.subarray(from, to), null));
      return;
    }
    this.bodySize += n;
    if (this.bodyMax > 0 && this.bodySize > this.bodyMax) {
      const cb = this.bodyCb;
      this.bodyCb = null;
      this.bodyChunks = [];
      this.bodyState = BODY_DISCARD;
      this.closeAfter = true;
      if (cb !== null) safeCall(() => cb(413, null));
      return;
    }
    this.bodyChunks.push(buf.subarray(from, to));
  }

  private completeBody(): void {
    this.bodyComplete = true;
    const conn = this.conn;
    if (conn.timer === T_BODY || conn.timer === T_DISCARD) conn.timer = T_NONE;
    const bs = this.bodyStream;
    if (bs !== null) {
      this.bodyStream = null;
      safeCall(() => bs(null, null));
    }
    const cb = this.bodyCb;
    this.bodyCb = null;
    if (cb !== null) {
      const chunks = this.bodyChunks;
      this.bodyChunks = [];
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.bodySize);
      safeCall(() => cb(null, body));
    }
  }

  /** @internal the client closed its side before the whole body arrived */
  bodyTruncated(): void {
    if (this.bodyError) return;
    this.bodyError = true;
    this.closeAfter = true;
    const bs = this.bodyStream;
    if (bs !== null) {
      this.bodyStream = null;
      safeCall(() => bs(null, 'client aborted'));
    }
    const cb = this.bodyCb;
    this.bodyCb = null;
    if (cb !== null) safeCall(() => cb(400, null));
  }
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

export type { Exchange };
