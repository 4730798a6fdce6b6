// ngx.socket.tcp: the TCP cosocket. A Lua socket is a table (shared metatable, built in
// lua/socket.lua) whose [1] is a numeric handle into this module's registry of TcpSock objects.
// Every method is a JS function taking the table as `self`; an operation that cannot finish at
// once records itself as the socket's pending reader or writer and suspends the calling thread,
// and the socket's events resume it with the call's return values.
import tls from 'node:tls';
import { NumMap } from '../../util/nummap.js';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { StreamConn, type Conn } from '../../http/streamconn.js';
import dns from 'node:dns';
import { CTX_YIELDABLE, type Runtime } from '../../core/runtime.js';
import type { LuaContext, LuaThread } from '../../core/thread.js';
import type { RequestCtx } from '../../core/request.js';
import type { LocSettings } from '../../conf/model.js';
import { LUA_REGISTRYINDEX, T_BOOLEAN, T_LIGHTUSERDATA, T_NIL, T_NUMBER, T_STRING, T_TABLE, type JsLuaFn, type LuaVM } from '../../lua/vm.js';
import { RecvBuffer, stripCR, UntilPattern, scanUntil, type UntilScan } from './buffer.js';
import { luaErrText, sysError, type SysError } from './errors.js';
import { arrayMax } from '../tables.js';
import { fakeConnId, type LogContext } from '../../util/errlog.js';

// ------------------------------------------------------------------------------ host resolution

export type ResolveResult = { address: string } | { error: string };
export type Resolver = (host: string, settings: LocSettings) => Promise<ResolveResult>;

/** Resolve a host name without blocking. Replaceable (the `resolver` directive's implementation). */
export let resolveHost: Resolver = (host) =>
  new Promise((resolve) => {
    dns.lookup(host, { family: 0 }, (err, address) => {
      if (err) resolve({ error: `${host} could not be resolved (3: Host not found)` });
      else resolve({ address });
    });
  });

export function setResolver(r: Resolver): void {
  resolveHost = r;
}

// ------------------------------------------------------------------------------ the objects

/** Whose socket it is: the request, or the timer / init_worker context. */
type Owner = RequestCtx | LuaContext;

type ReadKind = 'line' | 'all' | 'size' | 'any' | 'until';

interface ReadOp {
  kind: ReadKind;
  /** size for 'size' / 'any' / sized 'until' */
  n: number;
  /** 'line': bytes already searched for LF */
  scanned: number;
  until: { pat: UntilPattern; inclusive: boolean; scan: UntilScan } | null;
  th: LuaThread | null;
  /** downstream sockets: the read timer */
  timer: NodeJS.Timeout | null;
  /** connection sockets: when the read times out (a now() time; the Wire's timer checks it) */
  deadline: number;
  done: ((r: ReadResult) => void) | null;
}

type ReadResult =
  | { ok: Buffer; matchedSized?: boolean }
  | { err: string; partial: Buffer }
  | { done: true };

interface WriteOp {
  th: LuaThread;
  bytes: number;
  timer: NodeJS.Timeout | null;
  kind: 'send' | 'connect' | 'ssl' | 'queue';
  /** connect: called on success (the socket is set up) or failure */
  finish?: (err: string | null) => void;
}

/** A connection parked in a pool; one per Wire, reused at every parking. */
interface IdleConn {
  readonly wire: Wire;
  reused: number;
  /** when the keepalive timeout closes it (a now() time), 0 = never */
  deadline: number;
  tls: boolean;
  pool: Pool | null;
}

interface Pool {
  key: string;
  size: number;
  /** most recently parked first */
  idle: IdleConn[];
  /** -1: no backlog queueing (connections are not counted) */
  backlog: number;
  connections: number;
  waiting: Array<() => void>;
}

const EMPTY = Buffer.alloc(0);
/** unread bytes over which a socket nobody reads from stops reading */
const PAUSE_AT = 1024 * 1024;

const now = (): number => performance.now();

interface WireHooks {
  /** data, eof, an error or drain on the attached socket */
  event(s: TcpSock): void;
  /** the peer spoke or closed while the connection sat in the pool */
  idleEvent(item: IdleConn): void;
  /** the Wire's timer fired at time t: act on what expired; the next deadline to wait for, or 0 */
  timeout(w: Wire, t: number): number;
}

/**
 * One connection for its whole life: its one set of listeners, whose events go to whoever holds
 * the connection now — a TcpSock, the keepalive pool (any event closes an idle connection), or
 * nobody (ignored) — and its one timer, re-armed lazily, for the read timeout while attached and
 * the keepalive timeout while idle. Pool cycles only switch the owner fields.
 */
/** The file descriptor of a socket, for ngx_lua's debug lines (-1 when unknown). */
function fdOf(c: Conn): number {
  if (c instanceof StreamConn) return c.fd;
  return (c as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
}

export class Wire {
  sock: TcpSock | null = null;
  idle: IdleConn | null = null;
  /** the IdleConn it parks as */
  parked: IdleConn | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** when the armed timer fires (a now() time) */
  private timerAt = 0;

  constructor(readonly conn: Conn, private readonly hooks: WireHooks) {
    const onData = (d: Buffer): void => {
      const s = this.sock;
      if (s !== null) s.onData(d, hooks.event);
      else if (this.idle !== null) hooks.idleEvent(this.idle);
    };
    if (conn instanceof StreamConn) conn.dataSink = onData;
    else conn.on('data', onData);
    conn.on('end', () => {
      const s = this.sock;
      if (s !== null) {
        s.eof = true;
        hooks.event(s);
      } else if (this.idle !== null) hooks.idleEvent(this.idle);
    });
    conn.on('error', (e: Error) => {
      const s = this.sock;
      if (s !== null) {
        if (s.sockErr === null) {
          s.sockSys = sysError(e);
          s.sockErr = luaErrText(s.sockSys);
        }
        hooks.event(s);
      } else if (this.idle !== null) hooks.idleEvent(this.idle);
    });
    conn.on('close', () => {
      const s = this.sock;
      if (s !== null) {
        s.eof = true;
        hooks.event(s);
      } else if (this.idle !== null) hooks.idleEvent(this.idle);
      this.stop();
    });
    conn.on('drain', () => {
      const s = this.sock;
      if (s !== null) hooks.event(s);
    });
  }

  /** Make sure the timer fires by `at` (a now() time); a later deadline waits for the next fire. */
  arm(at: number): void {
    if (this.timer !== null) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - now())));
    // the connection (reading, referenced) keeps the process alive while a read waits
    this.timer.unref();
  }

  private fire = (): void => {
    this.timer = null;
    const next = this.hooks.timeout(this, now());
    if (next > 0) this.arm(next);
  };

  stop(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Close the connection for good. */
  destroy(): void {
    this.sock = null;
    this.idle = null;
    this.stop();
    this.conn.destroy();
  }
}

export class TcpSock {
  conn: Conn | null = null;
  wire: Wire | null = null;
  tls = false;
  readonly buf = new RecvBuffer();
  eof = false;
  readClosed = false;
  writeClosed = false;
  /** a socket error not yet reported to a reader or writer (the kernel's pending sk_err) */
  sockErr: string | null = null;
  /** sockErr as errno + strerror, for the recv() / send() failed log line */
  sockSys: SysError | null = null;
  /** bytes at the end of buf that arrived while no read asked for data: nginx would not have
   * read them from the kernel yet (setkeepalive calls that "connection in dubious state") */
  unrequested = 0;
  /** a send timed out or failed: not fit for the pool */
  invalid = false;
  reader: ReadOp | null = null;
  writer: WriteOp | null = null;
  /** ms; 0 = the lua_socket_* directive */
  connectTimeout = 0;
  sendTimeout = 0;
  readTimeout = 0;
  poolKey: string | null = null;
  /** the pool counting this connection (backlog pools only) */
  counted: Pool | null = null;
  reused = 0;
  everConnected = false;
  paused = false;
  cleanupSet = false;
  /** 'body' / 'raw' for ngx.req.socket() */
  downstream: 'body' | 'raw' | null = null;
  /** raw downstream: write to the client */
  rawWrite: ((b: Buffer, cb: (err: string | null) => void) => boolean) | null = null;

  constructor(readonly id: number, readonly owner: Owner, readonly ctx: LuaContext) {}

  get connected(): boolean {
    return this.conn !== null || this.downstream !== null;
  }

  attach(wire: Wire): void {
    this.wire = wire;
    this.conn = wire.conn;
    wire.sock = this;
    wire.idle = null;
    this.everConnected = true;
    this.eof = false;
    this.readClosed = false;
    this.writeClosed = false;
    this.sockErr = null;
    this.sockSys = null;
    this.unrequested = 0;
    this.invalid = false;
    this.buf.clear();
  }

  onData(d: Buffer, onEvent: (s: TcpSock) => void): void {
    this.buf.push(d);
    if (!this.reader) {
      this.unrequested += d.length;
      if (this.buf.length >= PAUSE_AT && !this.paused) {
        this.paused = true;
        this.conn!.pause();
      }
    }
    onEvent(this);
  }

  /** Let go of the connection (its events no longer reach this socket); it is left as it is. */
  detach(): Wire | null {
    const w = this.wire;
    if (w !== null && w.sock === this) w.sock = null;
    this.wire = null;
    this.conn = null;
    this.paused = false;
    return w;
  }

  resumeReading(): void {
    if (this.paused && this.conn) {
      this.paused = false;
      this.conn.resume();
    }
  }
}

// ------------------------------------------------------------------------------ the module

export function registerTcp(rt: Runtime): { prims: Record<string, JsLuaFn>; sockets: NumMap<TcpSock>; api: TcpApi } {
  const { vm } = rt;
  const sockets = new NumMap<TcpSock>();
  const pools = new Map<string, Pool>();
  let nextId = 1;

  // ---------------------------------------------------------------- helpers

  const ownerOf = (ctx: LuaContext): Owner => ctx.req ?? ctx;

  const settingsOf = (ctx: LuaContext | null): LocSettings => {
    const r = ctx?.req;
    if (r) return r.loc?.settings ?? r.server.settings;
    return rt.http.settings ?? rt.http.servers[0]?.settings;
  };

  const logCtx = (ctx: LuaContext): LogContext | undefined =>
    ctx.req ? ctx.req.logContext() : { context: ctx.kind === 'timer' ? 'ngx.timer' : ctx.kind === 'init_worker' ? 'init_worker_by_lua*' : undefined };

  const logErr = (s: TcpSock | null, ctx: LuaContext, level: 'error' | 'crit', msg: string): void => {
    void s;
    if (!settingsOf(ctx).luaSocketLogErrors) return;
    rt.log.log(level, msg, logCtx(ctx));
  };

  /**
   * The pending socket error was just reported by a recv or send: nginx core logs it (whatever
   * lua_socket_log_errors says), and the kernel reports it once, so later reads see eof.
   */
  const consumeErr = (s: TcpSock, call: 'recv' | 'send'): void => {
    const se = s.sockSys;
    if (se && se.errno) rt.log.log('error', `${call}() failed (${se.errno}: ${se.text})`, logCtx(s.ctx));
    s.sockErr = null;
    s.sockSys = null;
    s.eof = true;
  };

  const hex16 = (n: number): string => n.toString(16).toUpperCase().padStart(16, '0');

  const pushNilErr = (L: number, err: string): number => {
    vm.pushNil(L);
    vm.pushStr(L, err);
    return 2;
  };

  /** self must be a table: luaL_checktype's message. Called by the methods Lua calls, with self
   * still at 1 as the call found it. */
  const checkSelf = (L: number): void => {
    if (vm.argType(1) !== T_TABLE) vm.argError(L, 1, `table expected, got ${vm.typeName(L, 1)}`);
  };

  const handleOf = (L: number): number => vm.rawNumber(L, 1, 1);

  const lookup = (L: number): TcpSock | null => {
    const id = handleOf(L);
    return id ? sockets.get(id) ?? null : null;
  };

  /** lookup() at the entry of a method (after checkSelf): the handle the trampoline read. */
  const entrySock = (): TcpSock | null => {
    const id = vm.argNum(1);
    return id ? sockets.get(id) ?? null : null;
  };

  /** The socket object for self, created on first use; "bad request" when it is another's. */
  const own = (L: number, ctx: LuaContext, found: TcpSock | null = lookup(L)): TcpSock => {
    let s = found;
    if (s && s.owner !== ownerOf(ctx)) {
      if (!s.connected) {
        // an unconnected object handed to another request starts afresh there
        sockets.delete(s.id);
        s = null;
      } else {
        vm.error(L, 'bad request');
      }
    }
    if (!s) {
      s = new TcpSock(nextId++, ownerOf(ctx), ctx);
      sockets.set(s.id, s);
      vm.rawSetINumber(L, 1, 1, s.id);
    }
    return s;
  };

  /** The connected socket for self, or null (the caller returns nil, "closed"). */
  const connectedSock = (L: number, ctx: LuaContext): TcpSock | null => {
    const s = lookup(L);
    if (!s || !s.connected) return null;
    if (s.owner !== ownerOf(ctx)) vm.error(L, 'bad request');
    return s;
  };

  const busy = (s: TcpSock, read: boolean, write: boolean): string | null => {
    if (s.writer && s.writer.kind !== 'send') return 'socket busy connecting';
    if (read && s.reader) return 'socket busy reading';
    if (write && s.writer) return 'socket busy writing';
    return null;
  };

  const timeoutOf = (s: TcpSock, which: 'connect' | 'send' | 'read'): number => {
    const st = settingsOf(s.ctx);
    if (which === 'connect') return s.connectTimeout || st.luaSocketConnectTimeout;
    if (which === 'send') return s.sendTimeout || st.luaSocketSendTimeout;
    return s.readTimeout || st.luaSocketReadTimeout;
  };

  const ensureCleanup = (s: TcpSock): void => {
    if (s.cleanupSet) return;
    s.cleanupSet = true;
    rt.addCleanup(s.ctx, () => {
      finalize(s);
      sockets.delete(s.id);
    });
  };

  /** Close the connection and fail nothing (the owner is gone or the object collected). */
  const finalize = (s: TcpSock): void => {
    cancelRead(s);
    if (s.writer) {
      const w = s.writer;
      s.writer = null;
      if (w.timer) clearTimeout(w.timer);
    }
    if (s.downstream) {
      s.downstream = null;
      s.rawWrite = null;
      s.buf.clear();
      return;
    }
    const w = s.detach();
    if (w) {
      w.destroy();
      releaseSlot(s);
    }
    s.buf.clear();
  };

  const cancelRead = (s: TcpSock): void => {
    const r = s.reader;
    if (!r) return;
    s.reader = null;
    if (r.timer) clearTimeout(r.timer);
  };

  // ---------------------------------------------------------------- reading

  /** Try to complete a read from what is buffered (and the eof/error state). */
  const serve = (s: TcpSock, op: ReadOp, final: string | null): ReadResult | null => {
    const buf = s.buf;
    switch (op.kind) {
      case 'line': {
        if (buf.length > 0) readDebug(s, 'line');
        const i = buf.indexOf(10, op.scanned);
        if (i >= 0) {
          const line = stripCR(buf.take(i));
          buf.skip(1);
          return { ok: line };
        }
        op.scanned = buf.length;
        if (final !== null) return { err: final, partial: stripCR(buf.take(buf.length)) };
        return null;
      }
      case 'all':
        if (buf.length > 0) readDebug(s, 'all');
        if (final === 'closed') return { ok: buf.take(buf.length) };
        if (final !== null) return { err: final, partial: buf.take(buf.length) };
        return null;
      case 'size':
        if (buf.length >= op.n) return { ok: buf.take(op.n) };
        if (final !== null) return { err: final, partial: buf.take(buf.length) };
        return null;
      case 'any':
        if (buf.length > 0) {
          readDebug(s, 'any');
          return { ok: buf.take(Math.min(op.n, buf.length, settingsOf(s.ctx).luaSocketBufferSize)) };
        }
        if (final !== null) return { err: final, partial: EMPTY };
        return null;
      case 'until': {
        const u = op.until!;
        const r = scanUntil(buf, u.pat, u.scan, op.n);
        if (r !== null) {
          if (r.kind === 'size') return { ok: buf.take(r.out) };
          const plen = u.pat.pat.length;
          let data: Buffer;
          if (u.inclusive) data = buf.take(r.out + plen);
          else {
            data = buf.take(r.out);
            buf.skip(plen);
          }
          u.scan.pos = 0;
          u.scan.state = 0;
          return { ok: data, matchedSized: op.n > 0 };
        }
        if (final !== null) {
          const out = u.scan.pos - u.scan.state;
          u.scan.pos = 0;
          u.scan.state = 0;
          return { err: final, partial: buf.take(out) };
        }
        return null;
      }
    }
  };

  /** ngx_lua's debug line as a read form's input filter takes bytes ("lua tcp socket read any") */
  const readDebug = (s: TcpSock, what: 'line' | 'all' | 'any'): void => {
    if (rt.log.debugOn) rt.logCtx('debug', `lua tcp socket read ${what}`, s.ctx);
  };

  /** eof / socket error as the reason a read cannot wait for more. */
  const finalState = (s: TcpSock): string | null => {
    if (s.sockErr !== null) return s.sockErr;
    if (s.eof) return 'closed';
    return null;
  };

  const afterResult = (s: TcpSock, res: ReadResult): void => {
    if ('err' in res && res.err !== 'timeout') {
      s.readClosed = true;
      if (s.sockErr !== null && res.err === s.sockErr) consumeErr(s, 'recv');
    }
    if (s.buf.length < PAUSE_AT) s.resumeReading();
  };

  const pushResult = (v: LuaVM, L: number, res: ReadResult, st: number): number => {
    if ('ok' in res) {
      v.pushBytes(L, res.ok);
      if (res.matchedSized && st) {
        v.pushBool(L, true);
        v.rawSetI(L, st, 3);
      }
      return 1;
    }
    if ('err' in res) {
      v.pushNil(L);
      v.pushStr(L, res.err);
      v.pushBytes(L, res.partial);
      return 3;
    }
    v.pushNil(L);
    v.pushNil(L);
    v.pushNil(L);
    return 3;
  };

  /** Run a read: at once when possible, else suspend the thread until data, eof or timeout. */
  const startRead = (L: number, s: TcpSock, op: ReadOp, stIdx: number): number => {
    // a read makes nginx recv() what the kernel holds: buffered bytes count as read from now on
    readStarts(s);
    const res = serve(s, op, finalState(s));
    if (res !== null) {
      afterResult(s, res);
      return pushResult(vm, L, res, stIdx);
    }
    const th = rt.sched.current!;
    op.th = th;
    s.reader = op;
    s.resumeReading();
    // the state table of a receiveuntil iterator is kept for the resume
    let stRef = 0;
    if (stIdx) {
      vm.pushValue(L, stIdx);
      stRef = vm.ref(L);
    }
    const done = (res: ReadResult) => {
      if (op.timer) clearTimeout(op.timer);
      s.reader = null;
      afterResult(s, res);
      rt.sched.resume(th, (v, co) => {
        let n: number;
        if (stRef) {
          v.pushRef(co, stRef);
          const t = v.top(co);
          n = pushResult(v, co, res, t);
          v.remove(co, t);
          v.unref(stRef);
          stRef = 0;
        } else n = pushResult(v, co, res, 0);
        return n;
      });
    };
    op.done = done;
    const wire = s.wire;
    if (wire !== null) {
      op.deadline = now() + timeoutOf(s, 'read');
      wire.arm(op.deadline);
    } else {
      op.timer = setTimeout(() => {
        op.timer = null;
        if (s.reader === op) readTimedOut(s, op);
      }, timeoutOf(s, 'read'));
    }
    return rt.sched.suspend(L, {
      cancel: () => {
        if (s.reader === op) cancelRead(s);
        if (op.timer) clearTimeout(op.timer);
        if (stRef) {
          vm.unref(stRef);
          stRef = 0;
        }
        // a thread killed (or ended) in the middle of a read closes the socket, as ngx_lua's
        // pending-operation cleanup does
        if (!s.downstream) finalize(s);
      },
    });
  };

  const readTimedOut = (s: TcpSock, op: ReadOp): void => {
    logErr(s, s.ctx, 'error', 'lua tcp socket read timed out');
    const r = serve(s, op, 'timeout')!;
    op.done!(r);
  };

  /** A connection's timer fired: time out its reader, or close it if idle too long. */
  const wireTimeout = (w: Wire, t: number): number => {
    const s = w.sock;
    if (s !== null) {
      const op = s.reader;
      if (op === null || op.deadline <= 0) return 0;
      if (t < op.deadline) return op.deadline;
      readTimedOut(s, op);
      return 0;
    }
    const item = w.idle;
    if (item === null || item.deadline <= 0) return 0;
    if (t < item.deadline) return item.deadline;
    idleEvent(item);
    return 0;
  };

  /** Socket events: move the pending reader / writer forward. */
  const onEvent = (s: TcpSock): void => {
    const op = s.reader;
    if (op) {
      const at = op.th !== null ? readyNow(s, op.kind, op.n) : -1;
      if (at >= 0) quickFinish(s, op, at);
      else {
        const res = serve(s, op, finalState(s));
        if (res !== null) op.done!(res);
      }
    }
    const w = s.writer;
    if (w && w.kind === 'send') {
      if (s.sockErr !== null) {
        const err = s.sockErr;
        consumeErr(s, 'send');
        finishWrite(s, w, err);
      }
      else if (s.conn && !s.conn.writableNeedDrain) finishWrite(s, w, null);
    }
  };

  const finishWrite = (s: TcpSock, w: WriteOp, err: string | null): void => {
    if (s.writer !== w) return;
    s.writer = null;
    if (w.timer) clearTimeout(w.timer);
    if (err !== null) {
      s.writeClosed = true;
      s.invalid = true;
    }
    rt.sched.resume(w.th, (v, co) => {
      if (err !== null) {
        v.pushNil(co);
        v.pushStr(co, err);
        return 2;
      }
      v.pushNumber(co, w.bytes);
      return 1;
    });
  };

  /** receive / receiveany / until: the common checks. Returns the socket or pushes results. */
  const readable = (L: number, ctx: LuaContext, s: TcpSock | null): TcpSock | number => {
    if (!s || !s.connected || s.readClosed) {
      if (s && s.connected && s.owner !== ownerOf(ctx)) return vm.error(L, 'bad request');
      logErr(s, ctx, 'error', `attempt to receive data on a closed socket: u:${hex16(s ? s.id : 0)}, c:${hex16(s?.connected ? s.id : 0)}, ft:0 eof:${s?.eof ? 1 : 0}`);
      return pushNilErr(L, 'closed');
    }
    if (s.owner !== ownerOf(ctx)) return vm.error(L, 'bad request');
    const b = busy(s, true, false);
    if (b) return pushNilErr(L, b);
    return s;
  };

  const newRead = (kind: ReadKind, n: number): ReadOp => ({ kind, n, scanned: 0, until: null, th: null, timer: null, deadline: 0, done: null });
  const idleEvent = (item: IdleConn): void => {
    if (rt.log.debugOn) rt.log.log('debug', `lua tcp socket keepalive close handler: fd:${fdOf(item.wire.conn)}`);
    dropIdle(item.pool!, item);
  };
  const hooks: WireHooks = { event: (s) => onEvent(s), idleEvent: (item) => idleEvent(item), timeout: wireTimeout };

  // ---------------------------------------------------------------- writing

  /** Serialize send()'s argument: strings, numbers, booleans, nil, nested arrays of strings/numbers. */
  const sendData = (L: number, idx: number, t: number): Buffer => {
    switch (t) {
      case T_STRING:
        return vm.toBuffer(L, idx)!;
      case T_NUMBER:
        // ngx_lua writes numbers as ngx.say does (-0 is 0, C's "%.14g" rounding)
        return Buffer.from(vm.numStr(L, idx), 'latin1');
      case T_BOOLEAN:
        return Buffer.from(vm.toBool(L, idx) ? 'true' : 'false');
      case T_NIL:
        return Buffer.from('nil');
      case T_TABLE: {
        const flat = vm.tableBytes(L, idx);
        if (flat !== null) return flat;
        const parts: Buffer[] = [];
        collectTable(L, idx, parts);
        return parts.length === 1 ? parts[0] : Buffer.concat(parts);
      }
    }
    vm.argError(L, 2, `string, number, boolean, nil, or array table expected, got ${vm.typeName(L, idx)}`);
    return EMPTY;
  };

  const collectTable = (L: number, idx: number, parts: Buffer[]): void => {
    const abs = idx < 0 ? vm.top(L) + idx + 1 : idx;
    const max = arrayMax(vm, L, abs, 2);
    for (let k = 1; k <= max; k++) {
      const t = vm.rawGetI(L, abs, k);
      if (t === T_STRING) parts.push(vm.toBuffer(L, -1)!);
      else if (t === T_NUMBER) parts.push(Buffer.from(vm.numStr(L, -1), 'latin1'));
      else if (t === T_TABLE) collectTable(L, vm.top(L), parts);
      else {
        const name = t === T_LIGHTUSERDATA ? 'userdata' : vm.typeName(L, -1);
        vm.pop(L);
        vm.argError(L, 2, `bad data type ${name} found`);
      }
      vm.pop(L);
    }
  };

  // ---------------------------------------------------------------- the pool

  const releaseSlot = (s: TcpSock): void => {
    const p = s.counted;
    if (!p) return;
    s.counted = null;
    p.connections--;
    wakeWaiter(p);
  };

  const wakeWaiter = (p: Pool): void => {
    if (p.waiting.length === 0) return;
    if (p.connections < p.size || p.idle.length > 0) {
      const w = p.waiting.shift()!;
      setImmediate(w);
    }
  };

  const dropIdle = (p: Pool, item: IdleConn): void => {
    const i = p.idle.lastIndexOf(item);
    if (i >= 0) p.idle.splice(i, 1);
    item.wire.destroy();
    if (p.backlog >= 0) {
      p.connections--;
      wakeWaiter(p);
    }
  };

  /** An idle connection for key, detached from the pool, or null. */
  const fromPool = (key: string, p = pools.get(key)): IdleConn | null => {
    if (!p) return null;
    // the most recently parked is at the end
    while (p.idle.length > 0) {
      const item = p.idle.pop()!;
      const w = item.wire;
      w.idle = null;
      const c = w.conn;
      if (c.destroyed || c.readableEnded || c.readableLength > 0) {
        w.destroy();
        if (p.backlog >= 0) p.connections--;
        continue;
      }
      c.ref();
      return item;
    }
    return null;
  };

  /** s takes over an idle connection fromPool just handed out. */
  const takeIdle = (s: TcpSock, item: IdleConn, key: string, pool: Pool | undefined): void => {
    if (rt.log.debugOn) rt.logCtx('debug', `lua tcp socket get keepalive peer: using connection ${fakeConnId(item.wire)}, fd:${fdOf(item.wire.conn)}`, s.ctx);
    s.attach(item.wire);
    s.tls = item.tls;
    s.reused = item.reused + 1;
    s.poolKey = key;
    if (pool && pool.backlog >= 0) s.counted = pool;
  };

  const newPool = (key: string, size: number, backlog: number): Pool => {
    if (rt.log.debugOn) {
      const ctx = rt.current();
      rt.logCtx('debug', `lua tcp socket connection pool size: ${size}, backlog: ${backlog}`, ctx);
      rt.logCtx('debug', `lua tcp socket keepalive create connection pool for key "${key}"`, ctx);
    }
    const p: Pool = { key, size, idle: [], backlog, connections: 0, waiting: [] };
    pools.set(key, p);
    return p;
  };

  // ---------------------------------------------------------------- connect

  interface ConnectReq {
    host: string;
    port: number;
    path: string | null;
    key: string;
    poolSize: number;
    backlog: number;
    ctx: LuaContext;
  }

  /**
   * Continue a connect after the pool checks (from the Lua call or from a backlog wake-up).
   * Calls finish(null) when s is connected, finish(err) otherwise. Returns 'reused' when an idle
   * connection was taken synchronously.
   */
  const proceedConnect = (s: TcpSock, cr: ConnectReq, finish: (err: string | null) => void, queueWait: (() => void) | null): 'reused' | 'pending' | string => {
    const item = fromPool(cr.key);
    const pool = pools.get(cr.key);
    if (item) {
      takeIdle(s, item, cr.key, pool);
      return 'reused';
    }
    if (pool && pool.backlog >= 0) {
      if (pool.connections >= pool.size) {
        if (queueWait === null) return 'queued-again';
        if (pool.waiting.length >= pool.backlog) return 'too many waiting connect operations';
        pool.waiting.push(queueWait);
        return 'queued';
      }
      pool.connections++;
      s.counted = pool;
    }
    s.reused = 0;
    s.poolKey = cr.key;
    const go = (addr: string) => {
      if (s.writer === null || s.writer.kind !== 'connect') return; // cancelled
      if (rt.log.debugOn) rt.logCtx('debug', `lua tcp socket connect timeout: ${timeoutOf(s, 'connect')}`, cr.ctx);
      const conn = cr.path !== null ? new StreamConn(cr.path, -1) : new StreamConn(addr, cr.port);
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        conn.destroy();
        const se = sysError(e);
        if (cr.path !== null) {
          const lvl = se.errno === 2 || se.errno === 13 ? 'crit' : 'error';
          logErr(s, cr.ctx, lvl, `connect() to unix:${cr.path} failed (${se.errno}: ${se.text})`);
        } else {
          logErr(s, cr.ctx, 'error', `connect() failed (${se.errno}: ${se.text})`);
        }
        releaseSlot(s);
        finish(luaErrText(se));
      };
      conn.once('error', fail);
      conn.once('connect', () => {
        if (settled) return;
        settled = true;
        conn.removeListener('error', fail);
        conn.setNoDelay(true);
        s.attach(new Wire(conn, hooks));
        s.tls = false;
        finish(null);
      });
      const w = s.writer;
      if (w) {
        w.timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          conn.destroy();
          logErr(s, cr.ctx, 'error', `lua tcp socket connect timed out, when connecting to ${cr.path !== null ? 'unix:' + cr.path : addr}:${cr.path !== null ? 0 : cr.port}`);
          releaseSlot(s);
          finish('timeout');
        }, timeoutOf(s, 'connect'));
        const prevCancel = cancelConnect.get(s);
        void prevCancel;
        cancelConnect.set(s, () => {
          if (!settled) {
            settled = true;
            conn.destroy();
            releaseSlot(s);
          }
        });
      }
    };
    if (cr.path !== null || isIP(cr.host)) {
      go(cr.host);
    } else {
      resolveHost(cr.host, settingsOf(cr.ctx)).then((r) => {
        if ('error' in r) {
          releaseSlot(s);
          finish(r.error);
        } else go(r.address);
      }, (e) => {
        releaseSlot(s);
        finish(`${cr.host} could not be resolved (${String(e)})`);
      });
    }
    return 'pending';
  };

  const cancelConnect = new WeakMap<TcpSock, () => void>();

  // the last host:port pool key: the same string again, its hash already known to the pool map
  let keyHost = '';
  let keyPort = -1;
  let keyText = '';
  const hostKey = (host: string, port: number): string => {
    if (host !== keyHost || port !== keyPort) {
      keyHost = host;
      keyPort = port;
      keyText = `${host}:${port}`;
    }
    return keyText;
  };

  const optNumber = (L: number, idx: number): number | null => {
    const t = vm.type(L, idx);
    return t === T_NUMBER ? vm.toNumber(L, idx) : null;
  };

  const connect: JsLuaFn = (L, n) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    if (n < 2 || n > 4) return vm.error(L, `ngx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen ${n}`);
    checkSelf(L);
    const s = own(L, ctx, entrySock());
    if (s.downstream) return vm.error(L, 'attempt to re-connect a request socket');
    const hostB = vm.toStr(L, 2);
    if (hostB === null) return vm.argError(L, 2, `string expected, got ${vm.typeName(L, 2)}`);
    let host = hostB;
    let port = 0;
    let path: string | null = null;
    let optIdx = 0;
    if (host.startsWith('unix:')) {
      path = host.slice(5);
      if (n >= 3 && vm.type(L, 3) === T_TABLE) optIdx = 3;
      else if (n === 4 && vm.type(L, 4) === T_TABLE) optIdx = 4;
    } else {
      if (n >= 4 && vm.argType(4) === T_TABLE) optIdx = 4;
    }
    // options
    let poolName: string | null = null;
    let poolSize = 0;
    let backlog = -1;
    if (optIdx) {
      vm.getField(L, optIdx, 'pool_size');
      const pst = vm.type(L, -1);
      if (pst === T_NUMBER) {
        poolSize = Math.trunc(vm.toNumber(L, -1));
        if (poolSize <= 0) return vm.argError(L, optIdx, `bad "pool_size" option value: ${poolSize}`);
      } else if (pst !== T_NIL) return vm.argError(L, optIdx, `bad "pool_size" option type: ${vm.typeName(L, -1)}`);
      vm.pop(L);
      vm.getField(L, optIdx, 'backlog');
      const bt = vm.type(L, -1);
      if (bt === T_NUMBER) {
        backlog = Math.trunc(vm.toNumber(L, -1));
        if (backlog < 0) return vm.argError(L, optIdx, `bad "backlog" option value: ${backlog}`);
      } else if (bt !== T_NIL) return vm.argError(L, optIdx, `bad "backlog" option type: ${vm.typeName(L, -1)}`);
      vm.pop(L);
      vm.getField(L, optIdx, 'pool');
      const pt = vm.type(L, -1);
      if (pt === T_STRING || pt === T_NUMBER) poolName = vm.toStr(L, -1);
      else if (pt !== T_NIL) return vm.argError(L, optIdx, `bad "pool" option type: ${vm.typeName(L, -1)}`);
      vm.pop(L);
    }
    if (path === null) {
      const pt = vm.argType(3);
      if (pt === T_NIL || pt === -1 || pt === T_TABLE) return pushNilErr(L, 'missing the port number');
      const pn = pt === T_NUMBER ? vm.argNum(3) : vm.toNumberOrNull(L, 3);
      if (pn === null) return vm.argError(L, 3, `number expected, got ${vm.typeName(L, 3)}`);
      port = Math.trunc(pn);
      if (port < 0 || port > 65535) return pushNilErr(L, `bad port number: ${port}`);
    }
    const b = busy(s, true, true);
    if (b === 'socket busy connecting') return pushNilErr(L, b);
    // an existing connection is closed first
    if (s.conn) finalize(s);
    const key = poolName ?? (path !== null ? `unix:${path}` : hostKey(host, port));
    if ((poolSize > 0 || backlog >= 0) && !pools.has(key)) {
      newPool(key, poolSize || settingsOf(ctx).luaSocketPoolSize, backlog);
    }
    ensureCleanup(s);
    // the common case, an idle connection at hand: taken synchronously, nothing to set up for a wait
    const idlePool = pools.get(key);
    if (idlePool !== undefined && idlePool.idle.length > 0) {
      const item = fromPool(key, idlePool);
      if (item !== null) {
        takeIdle(s, item, key, idlePool);
        return vm.retNumber(1);
      }
    }
    const cr: ConnectReq = { host, port, path, key, poolSize, backlog, ctx };
    const th = rt.sched.current!;
    const w: WriteOp = { th, bytes: 0, timer: null, kind: 'connect' };
    const finish = (err: string | null) => {
      if (s.writer !== w) return;
      s.writer = null;
      if (w.timer) clearTimeout(w.timer);
      cancelConnect.delete(s);
      rt.sched.resume(th, (v, co) => {
        if (err !== null) {
          v.pushNil(co);
          v.pushStr(co, err);
          return 2;
        }
        v.pushNumber(co, 1);
        return 1;
      });
    };
    let queuedTimer: NodeJS.Timeout | null = null;
    const onWake = () => {
      if (s.writer !== w) return;
      if (queuedTimer) clearTimeout(queuedTimer);
      w.kind = 'connect';
      const r = proceedConnect(s, cr, finish, onWake);
      if (r === 'reused') finish(null);
      else if (r === 'queued') armQueueTimer();
      else if (r !== 'pending') finish(r);
    };
    const armQueueTimer = () => {
      w.kind = 'queue';
      queuedTimer = setTimeout(() => {
        const p = pools.get(key);
        if (p) {
          const i = p.waiting.indexOf(onWake);
          if (i >= 0) p.waiting.splice(i, 1);
        }
        logErr(s, ctx, 'error', `lua tcp socket queued connect timed out, when trying to connect to ${path !== null ? 'unix:' + path : host}:${port}`);
        finish('timeout');
      }, timeoutOf(s, 'connect'));
    };
    s.writer = w;
    const r = proceedConnect(s, cr, finish, onWake);
    if (r === 'reused') {
      s.writer = null;
      return vm.retNumber(1);
    }
    if (r === 'queued') armQueueTimer();
    else if (r !== 'pending') {
      s.writer = null;
      return pushNilErr(L, r);
    }
    return rt.sched.suspend(L, {
      cancel: () => {
        if (s.writer === w) s.writer = null;
        if (w.timer) clearTimeout(w.timer);
        if (queuedTimer) clearTimeout(queuedTimer);
        const p = pools.get(key);
        if (p) {
          const i = p.waiting.indexOf(onWake);
          if (i >= 0) p.waiting.splice(i, 1);
        }
        cancelConnect.get(s)?.();
        cancelConnect.delete(s);
      },
    });
  };

  // ---------------------------------------------------------------- methods

  const receive: JsLuaFn = (L, n) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    if (n !== 1 && n !== 2) return vm.error(L, `expecting 1 or 2 arguments (including the object), but got ${n}`);
    if (rt.log.debugOn) rt.logCtx('debug', 'lua tcp socket calling receive() method', ctx);
    checkSelf(L);
    const sr = readable(L, ctx, entrySock());
    if (typeof sr === 'number') return sr;
    const s = sr;
    let kind: ReadKind = 'line';
    let bytes = 0;
    if (n === 2) {
      const t = vm.argType(2);
      const num = t === T_NUMBER ? vm.argNum(2) : t === T_STRING ? vm.toNumberOrNull(L, 2) : null;
      if (num !== null) {
        bytes = Math.trunc(num);
        if (bytes < 0) return vm.argError(L, 2, 'bad pattern argument');
        if (bytes === 0) {
          vm.pushStr(L, '');
          return 1;
        }
        kind = 'size';
      } else if (t === T_STRING) {
        const p = vm.toStr(L, 2)!;
        if (p.length !== 2 || p[0] !== '*') return vm.argError(L, 2, `bad pattern argument: ${p}`);
        if (p[1] === 'a') kind = 'all';
        else if (p[1] !== 'l') return vm.argError(L, 2, 'bad pattern argument');
      } else {
        return vm.argError(L, 2, 'bad pattern argument');
      }
    }
    const at = readyNow(s, kind, bytes);
    if (at >= 0) {
      readStarts(s);
      pushNow(L, s, kind, at);
      return readServed(s);
    }
    return startRead(L, s, newRead(kind, bytes), 0);
  };

  // A line or a size that the buffer already holds, the usual case after the first read of a
  // reply (and the read a waiting receive() was missing): the bytes go to Lua from the buffer,
  // with no read objects made. The other forms take serve()'s general path.

  /** Where a read of kind (a size of n) could be served from at once: the size, or the LF of a
   * short line in one chunk with no CR but the last; -1 when it cannot. */
  const readyNow = (s: TcpSock, kind: ReadKind, n: number): number => {
    if (s.sockErr !== null) return -1;
    if (kind === 'size') return s.buf.length >= n ? n : -1;
    return kind === 'line' ? plainLine(s.buf) : -1;
  };

  /** Push and consume what readyNow found at `at`. */
  const pushNow = (L: number, s: TcpSock, kind: ReadKind, at: number): void => {
    const buf = s.buf;
    if (kind === 'size') {
      const c = buf.contiguous(at);
      if (c !== null) {
        vm.pushBytesAt(L, c, buf.offset, at);
        buf.skip(at);
      } else {
        vm.pushBytes(L, buf.take(at));
      }
      return;
    }
    readDebug(s, 'line');
    const c = buf.contiguous(at + 1)!;
    const off = buf.offset;
    vm.pushBytesAt(L, c, off, at > 0 && c[off + at - 1] === 13 ? at - 1 : at);
    buf.skip(at + 1);
  };

  const plainLine = (buf: RecvBuffer): number => {
    const i = buf.indexOf(10, 0);
    if (i < 0 || i > 256) return -1;
    const c = buf.contiguous(i + 1);
    if (c === null) return -1;
    const off = buf.offset;
    const len = i > 0 && c[off + i - 1] === 13 ? i - 1 : i;
    for (let k = off; k < off + len; k++) if (c[k] === 13) return -1;
    return i;
  };

  // A waiting read that readyNow can serve: the thread resumes with the bytes pushed by one
  // shared pusher, which finds what to push here.
  let quickSock: TcpSock | null = null;
  let quickOp: ReadOp | null = null;
  let quickAt = 0;
  const quickPush = (_v: LuaVM, co: number): number => {
    pushNow(co, quickSock!, quickOp!.kind, quickAt);
    return 1;
  };
  const quickFinish = (s: TcpSock, op: ReadOp, at: number): void => {
    if (op.timer) clearTimeout(op.timer);
    s.reader = null;
    quickSock = s;
    quickOp = op;
    quickAt = at;
    rt.sched.resume(op.th!, quickPush);
    quickSock = null;
    quickOp = null;
    readServed(s);
  };

  const readStarts = (s: TcpSock): void => {
    if (rt.log.debugOn) rt.logCtx('debug', `lua tcp socket read timeout: ${timeoutOf(s, 'read')}`, s.ctx);
    s.unrequested = 0;
  };

  const readServed = (s: TcpSock): number => {
    if (s.buf.length < PAUSE_AT) s.resumeReading();
    return 1;
  };

  const receiveany: JsLuaFn = (L, n) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    if (n !== 2) return vm.error(L, `expecting 2 arguments (including the object), but got ${n}`);
    checkSelf(L);
    const sr = readable(L, ctx, entrySock());
    if (typeof sr === 'number') return sr;
    const t = vm.type(L, 2);
    const max = t === T_NUMBER || t === T_STRING ? vm.toNumberOrNull(L, 2) : null;
    if (max === null || Math.trunc(max) <= 0) return vm.argError(L, 2, 'bad max argument');
    if (rt.log.debugOn) rt.logCtx('debug', `lua tcp socket calling receiveany() method to read at most ${Math.trunc(max)} bytes`, ctx);
    return startRead(L, sr, newRead('any', Math.trunc(max)), 0);
  };

  /** receiveuntil's iterator: (self, state, size?) with state = {pattern, inclusive, matched}. */
  const untilRead: JsLuaFn = (L) => {
    const n = vm.top(L) - 2;
    if (n > 1) return vm.error(L, `expecting 0 or 1 arguments, but seen ${n}`);
    let size = 0;
    if (n === 1) {
      const v = vm.toNumberOrNull(L, 3);
      if (v === null) return vm.argError(L, 1, `number expected, got ${vm.typeName(L, 3)}`);
      size = Math.max(0, Math.trunc(v));
    }
    const ctx = rt.check(L, CTX_YIELDABLE);
    const s = lookup(L);
    if (!s || !s.connected || s.readClosed) return pushNilErr(L, 'closed');
    if (s.owner !== ownerOf(ctx)) return vm.error(L, 'bad request');
    const b = busy(s, true, false);
    if (b) return pushNilErr(L, b);
    vm.rawGetI(L, 2, 3);
    const matched = vm.toBool(L, -1);
    vm.pop(L);
    if (matched) {
      vm.pushBool(L, false);
      vm.rawSetI(L, 2, 3);
      vm.pushNil(L);
      vm.pushNil(L);
      vm.pushNil(L);
      return 3;
    }
    vm.rawGetI(L, 2, 1);
    const pat = vm.toBuffer(L, -1)!;
    vm.pop(L);
    vm.rawGetI(L, 2, 2);
    const inclusive = vm.toBool(L, -1);
    vm.pop(L);
    const op = newRead('until', size);
    op.until = { pat: patternCache(pat), inclusive, scan: { pos: 0, state: 0 } };
    return startRead(L, s, op, 2);
  };

  const patCache = new Map<string, UntilPattern>();
  const patternCache = (pat: Buffer): UntilPattern => {
    const k = pat.toString('latin1');
    let p = patCache.get(k);
    if (!p) {
      if (patCache.size > 256) patCache.clear();
      p = new UntilPattern(pat);
      patCache.set(k, p);
    }
    return p;
  };

  const send: JsLuaFn = (L, n) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    if (n !== 2) return vm.error(L, `expecting 2 arguments (including the object), but got ${n}`);
    checkSelf(L);
    const s = entrySock();
    if (!s || !s.connected || s.writeClosed) {
      if (s && s.connected && s.owner !== ownerOf(ctx)) return vm.error(L, 'bad request');
      logErr(s, ctx, 'error', `attempt to send data on a closed socket: u:${hex16(s ? s.id : 0)}, c:${hex16(s?.connected ? s.id : 0)}, ft:0 eof:${s?.eof ? 1 : 0}`);
      return pushNilErr(L, 'closed');
    }
    if (s.owner !== ownerOf(ctx)) return vm.error(L, 'bad request');
    if (s.downstream === 'body') return vm.error(L, 'attempt to write to request sockets');
    const b = busy(s, false, true);
    if (b) return pushNilErr(L, b);
    if (rt.log.debugOn) rt.logCtx('debug', `lua tcp socket send timeout: ${timeoutOf(s, 'send')}`, ctx);
    const t = vm.argType(2);
    // the addon's streams copy what they are given: a view of the VM's bytes will do for them
    let data: Buffer | null = null;
    if (s.rawWrite === null && s.conn instanceof StreamConn) {
      if (t === T_STRING) data = vm.viewBuffer(L, 2);
      else if (t === T_TABLE) data = vm.tableView(L, 2);
    }
    if (data === null) data = sendData(L, 2, t);
    if (data.length === 0) return vm.retNumber(0);
    if (s.sockErr !== null) {
      const err = s.sockErr;
      s.writeClosed = true;
      consumeErr(s, 'send');
      return pushNilErr(L, err);
    }
    const th = rt.sched.current!;
    const w: WriteOp = { th, bytes: data.length, timer: null, kind: 'send' };
    let flushed: boolean;
    if (s.rawWrite) {
      flushed = s.rawWrite(data, (err) => {
        if (s.writer === w) finishWrite(s, w, err);
      });
    } else {
      flushed = s.conn!.write(data);
    }
    if (flushed) return vm.retNumber(data.length);
    s.writer = w;
    w.timer = setTimeout(() => {
      w.timer = null;
      if (s.writer !== w) return;
      logErr(s, ctx, 'error', 'lua tcp socket write timed out');
      finishWrite(s, w, 'timeout');
    }, timeoutOf(s, 'send'));
    return rt.sched.suspend(L, {
      cancel: () => {
        if (s.writer === w) s.writer = null;
        if (w.timer) clearTimeout(w.timer);
        if (!s.downstream) finalize(s);
      },
    });
  };

  const close: JsLuaFn = (L) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    const n = vm.top(L);
    if (n !== 1) return vm.error(L, `expecting 1 argument (including the object) but seen ${n}`);
    checkSelf(L);
    const s = connectedSock(L, ctx);
    if (!s) return pushNilErr(L, 'closed');
    if (s.downstream) return pushNilErr(L, 'attempt to close a request socket');
    const b = busy(s, true, true);
    if (b) return pushNilErr(L, b);
    finalize(s);
    return vm.retNumber(1);
  };

  const timeoutArg = (L: number, idx: number): number => {
    const v = vm.argType(idx) === T_NUMBER ? vm.argNum(idx) : vm.toNumber(L, idx);
    const t = Math.trunc(v);
    if (!Number.isFinite(v) || t < 0 || t >= 2 ** 31) {
      vm.error(L, 'bad timeout value');
    }
    return t;
  };

  const settimeout: JsLuaFn = (L, n) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    if (n !== 2) return vm.error(L, `ngx.socket settimeout: expecting 2 arguments (including the object) but seen ${n}`);
    checkSelf(L);
    const t = timeoutArg(L, 2);
    const s = own(L, ctx, entrySock());
    s.connectTimeout = s.sendTimeout = s.readTimeout = t;
    return 0;
  };

  const settimeouts: JsLuaFn = (L, n) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    if (n !== 4) return vm.error(L, `ngx.socket settimeout: expecting 4 arguments (including the object) but seen ${n}`);
    checkSelf(L);
    const c = timeoutArg(L, 2), sd = timeoutArg(L, 3), r = timeoutArg(L, 4);
    const s = own(L, ctx, entrySock());
    s.connectTimeout = c;
    s.sendTimeout = sd;
    s.readTimeout = r;
    return 0;
  };

  const setoption: JsLuaFn = (L) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    checkSelf(L);
    const s = lookup(L);
    if (!s || (!s.connected && !s.everConnected)) return vm.error(L, 'socket is never created nor connected');
    if (vm.type(L, 2) <= T_NIL) return pushNilErr(L, 'missing the "option" argument');
    if (vm.type(L, 3) <= T_NIL) return pushNilErr(L, 'missing the "value" argument');
    const name = vm.toStr(L, 2) ?? '';
    const known = ['keepalive', 'reuseaddr', 'tcp-nodelay', 'sndbuf', 'rcvbuf'];
    if (!known.includes(name)) return pushNilErr(L, `unsupported option ${name}`);
    if (!s.connected) return pushNilErr(L, 'closed');
    if (s.owner !== ownerOf(ctx)) return vm.error(L, 'bad request');
    const t = vm.type(L, 3);
    const on = t === T_BOOLEAN ? vm.toBool(L, 3) : vm.toNumber(L, 3) !== 0;
    if (s.conn) {
      if (name === 'keepalive') s.conn.setKeepAlive(on);
      else if (name === 'tcp-nodelay') s.conn.setNoDelay(on);
    }
    // reuseaddr, sndbuf, rcvbuf: node has no setter for a connected socket; accepted
    vm.pushBool(L, true);
    return 1;
  };

  /** An optional number argument at a method's entry: its value, def when nil or absent. */
  const optNumArg = (L: number, i: number, def: number): number => {
    const t = vm.argType(i);
    if (t === T_NUMBER) return Math.trunc(vm.argNum(i));
    if (t === T_NIL || t === -1) return def;
    const v = vm.toNumberOrNull(L, i);
    if (v === null) return vm.argError(L, i, `number expected, got ${vm.typeName(L, i)}`);
    return Math.trunc(v);
  };

  const setkeepalive: JsLuaFn = (L, n) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    if (n < 1 || n > 3) return vm.error(L, `expecting 1 to 3 arguments (including the object), but got ${n}`);
    checkSelf(L);
    const st = settingsOf(ctx);
    const timeout = optNumArg(L, 2, st.luaSocketKeepaliveTimeout);
    const size = optNumArg(L, 3, st.luaSocketPoolSize);
    const s = entrySock();
    if (!s || !s.conn || s.readClosed || s.writeClosed || s.eof || s.downstream) return pushNilErr(L, 'closed');
    if (s.owner !== ownerOf(ctx)) return vm.error(L, 'bad request');
    const b = busy(s, true, true);
    if (b) return pushNilErr(L, b);
    if (s.buf.length > s.unrequested) return pushNilErr(L, 'unread data in buffer');
    if (s.unrequested > 0) {
      // bytes the script never asked for: nginx finds them with a peek and gives up the connection
      finalize(s);
      return pushNilErr(L, 'connection in dubious state');
    }
    if (s.invalid || s.sockErr !== null) return pushNilErr(L, 'invalid connection');
    if (rt.exiting) {
      finalize(s);
      return vm.retNumber(1);
    }
    const key = s.poolKey;
    if (key === null) return pushNilErr(L, 'key not found');
    let pool = pools.get(key);
    if (!pool) {
      if (size <= 0) return vm.argError(L, n, `bad "pool_size" option value: ${size}`);
      pool = newPool(key, size, -1);
    }
    const counted = s.counted;
    const wire = s.detach()!;
    const conn = wire.conn;
    s.counted = null;
    if (conn.readableLength > 0 || conn.destroyed || conn.readableEnded) {
      wire.destroy();
      if (counted) {
        counted.connections--;
        wakeWaiter(counted);
      }
      return pushNilErr(L, 'connection in dubious state');
    }
    if (pool.idle.length >= pool.size) {
      // the least recently parked goes
      dropIdle(pool, pool.idle[0]);
    }
    if (pool.backlog >= 0 && !counted) pool.connections++;
    const item = wire.parked ??= { wire, reused: 0, deadline: 0, tls: false, pool: null };
    item.reused = s.reused;
    item.deadline = 0;
    item.tls = s.tls;
    item.pool = pool;
    wire.idle = item;
    conn.resume();
    conn.unref();
    if (timeout > 0) {
      item.deadline = now() + timeout;
      wire.arm(item.deadline);
    }
    pool.idle.push(item);
    s.buf.clear();
    wakeWaiter(pool);
    return vm.retNumber(1);
  };

  const getreusedtimes: JsLuaFn = (L) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    const n = vm.top(L);
    if (n !== 1) return vm.error(L, `expecting 1 argument (including the object), but got ${n}`);
    checkSelf(L);
    const s = connectedSock(L, ctx);
    if (!s) return pushNilErr(L, 'closed');
    vm.pushNumber(L, s.reused);
    return 1;
  };

  const sslhandshake: JsLuaFn = (L) => {
    const ctx = rt.check(L, CTX_YIELDABLE);
    const n = vm.top(L);
    if (n < 1 || n > 5) return vm.error(L, `ngx.socket sslhandshake: expecting 1 ~ 5 arguments (including the object), but seen ${n}`);
    checkSelf(L);
    const s = connectedSock(L, ctx);
    if (!s || !s.conn || s.readClosed || s.writeClosed) return pushNilErr(L, 'closed');
    if (s.downstream) return pushNilErr(L, 'not supported for downstream sockets');
    const b = busy(s, true, true);
    if (b) return pushNilErr(L, b);
    const st = vm.type(L, 2);
    const wantSession = !(st === T_BOOLEAN && !vm.toBool(L, 2));
    const session = st === T_STRING ? vm.toBuffer(L, 2)! : undefined;
    let servername: string | undefined;
    const nt = vm.type(L, 3);
    if (nt === T_STRING) servername = vm.toStr(L, 3)!;
    else if (nt !== T_NIL && nt !== -1) return vm.argError(L, 3, `string expected, got ${vm.typeName(L, 3)}`);
    const verify = vm.toBool(L, 4);
    const pushOk = (v: LuaVM, co: number, sess: Buffer | undefined): number => {
      if (!wantSession) v.pushBool(co, true);
      else if (sess) v.pushBytes(co, sess);
      else v.pushBool(co, true);
      return 1;
    };
    if (s.tls) {
      return pushOk(vm, L, (s.conn as unknown as tls.TLSSocket).getSession?.());
    }
    const rawWire = s.detach()!;
    rawWire.stop();
    const raw = rawWire.conn;
    const counted = s.counted;
    const th = rt.sched.current!;
    const w: WriteOp = { th, bytes: 0, timer: null, kind: 'ssl' };
    s.writer = w;
    const tsock = tls.connect({
      socket: raw instanceof StreamConn ? raw.asDuplex() : raw as unknown as Duplex,
      servername: servername && !isIP(servername) ? servername : undefined,
      rejectUnauthorized: verify,
      session,
      checkServerIdentity: verify && servername ? tls.checkServerIdentity : () => undefined,
    });
    let settled = false;
    const done = (err: string | null) => {
      if (settled) return;
      settled = true;
      if (w.timer) clearTimeout(w.timer);
      if (s.writer !== w) {
        tsock.destroy();
        return;
      }
      s.writer = null;
      tsock.removeListener('error', onErr);
      if (err !== null) {
        tsock.destroy();
        s.counted = counted;
        releaseSlot(s);
        s.readClosed = s.writeClosed = true;
        s.conn = null;
        rt.sched.resume(th, (v, co) => {
          v.pushNil(co);
          v.pushStr(co, err);
          return 2;
        });
        return;
      }
      s.attach(new Wire(tsock, hooks));
      s.counted = counted;
      s.tls = true;
      const sess = tsock.getSession();
      rt.sched.resume(th, (v, co) => pushOk(v, co, sess));
    };
    const onErr = (e: Error & { code?: string }) => {
      const code = e.code ?? '';
      let msg = 'handshake failed';
      const map: Record<string, string> = {
        UNABLE_TO_GET_ISSUER_CERT_LOCALLY: '20: unable to get local issuer certificate',
        UNABLE_TO_VERIFY_LEAF_SIGNATURE: '21: unable to verify the first certificate',
        DEPTH_ZERO_SELF_SIGNED_CERT: '18: self-signed certificate',
        SELF_SIGNED_CERT_IN_CHAIN: '19: self-signed certificate in certificate chain',
        CERT_HAS_EXPIRED: '10: certificate has expired',
        CERT_NOT_YET_VALID: '9: certificate is not yet valid',
        ERR_TLS_CERT_ALTNAME_INVALID: 'certificate host mismatch',
      };
      if (map[code]) {
        msg = map[code];
        if (code !== 'ERR_TLS_CERT_ALTNAME_INVALID') logErr(s, ctx, 'error', `lua ssl certificate verify error: (${msg})`);
        else logErr(s, ctx, 'error', `lua ssl certificate does not match host "${servername ?? ''}"`);
      }
      done(msg);
    };
    tsock.once('error', onErr);
    tsock.once('secureConnect', () => done(null));
    w.timer = setTimeout(() => {
      logErr(s, ctx, 'error', 'lua ssl handshake timed out');
      done('timeout');
    }, timeoutOf(s, 'connect'));
    return rt.sched.suspend(L, {
      cancel: () => {
        if (s.writer === w) s.writer = null;
        if (w.timer) clearTimeout(w.timer);
        if (!settled) {
          settled = true;
          tsock.destroy();
          s.counted = counted;
          releaseSlot(s);
        }
      },
    });
  };

  const gc: JsLuaFn = (L) => {
    if (vm.type(L, 1) !== T_TABLE) return 0;
    const s = lookup(L);
    if (s) {
      finalize(s);
      sockets.delete(s.id);
    }
    return 0;
  };

  let tcpMeta = 0;
  const tcpCreate: JsLuaFn = (L) => {
    const n = vm.top(L);
    if (n !== 0) return vm.error(L, `expecting zero arguments, but got ${n}`);
    rt.check(L, CTX_YIELDABLE);
    vm.createTable(L, 3, 1);
    vm.pushRef(L, tcpMeta);
    vm.setMetatable(L, -2);
    return 1;
  };
  const setTcpMeta: JsLuaFn = (L) => {
    vm.pushValue(L, 1);
    tcpMeta = vm.ref(L);
    return 0;
  };

  const untilCheck: JsLuaFn = (L) => {
    // (self, pattern, opts?) -> true | nil, err ; raises the argument errors
    const n = vm.top(L);
    if (n !== 2 && n !== 3) return vm.error(L, `expecting 2 or 3 arguments (including the object), but got ${n}`);
    let inclusive = false;
    if (n === 3) {
      if (vm.type(L, 3) !== T_TABLE) return vm.argError(L, 3, `table expected, got ${vm.typeName(L, 3)}`);
      const t = vm.getField(L, 3, 'inclusive');
      if (t === T_BOOLEAN) inclusive = vm.toBool(L, -1);
      else if (t !== T_NIL) return vm.error(L, `bad "inclusive" option value type: ${vm.typeName(L, -1)}`);
      vm.pop(L);
    }
    const ctx = rt.check(L, CTX_YIELDABLE);
    if (rt.log.debugOn) rt.logCtx('debug', 'lua tcp socket calling receiveuntil() method', ctx);
    checkSelf(L);
    const t2 = vm.type(L, 2);
    if (t2 !== T_STRING && t2 !== T_NUMBER) return vm.argError(L, 2, `string expected, got ${vm.typeName(L, 2)}`);
    const pat = vm.toBuffer(L, 2)!;
    if (pat.length === 0) return pushNilErr(L, 'pattern is empty');
    vm.createTable(L, 3, 0);
    vm.pushBytes(L, pat);
    vm.rawSetI(L, -2, 1);
    vm.pushBool(L, inclusive);
    vm.rawSetI(L, -2, 2);
    vm.pushBool(L, false);
    vm.rawSetI(L, -2, 3);
    // the iterator: a C closure over (self, state), as ngx_lua makes it
    vm.pushValue(L, 1);
    vm.insert(L, -2);
    untilId ||= vm.fnId(untilIter);
    vm.pushFunctionId(L, untilId, 2);
    return 1;
  };
  let untilId = 0;
  /** the iterator's body: its upvalues become arguments 1 and 2 of untilRead */
  const untilIter: JsLuaFn = (L) => {
    vm.pushValue(L, vm.upvalueIndex(1));
    vm.insert(L, 1);
    vm.pushValue(L, vm.upvalueIndex(2));
    vm.insert(L, 2);
    return untilRead(L, vm.top(L));
  };

  const api: TcpApi = {
    /** A socket object for a downstream (ngx.req.socket) reader/writer. */
    downstream(L, ctx, kind) {
      const s = own(L, ctx);
      s.downstream = kind;
      s.everConnected = true;
      s.eof = false;
      s.readClosed = false;
      s.writeClosed = kind === 'body';
      s.sockErr = null;
      s.buf.clear();
      ensureCleanup(s);
      return s;
    },
    feed(s, data, err) {
      if (data) s.buf.push(data);
      if (err === 'eof') s.eof = true;
      else if (err) s.sockErr = err;
      onEvent(s);
    },
    drained(s) {
      const w = s.writer;
      if (w && w.kind === 'send') finishWrite(s, w, null);
    },
    pools,
  };

  return {
    sockets,
    api,
    prims: {
      tcp_create: tcpCreate,
      tcp_set_mt: setTcpMeta,
      tcp_connect: connect,
      tcp_sslhandshake: sslhandshake,
      tcp_receive: receive,
      tcp_receiveany: receiveany,
      tcp_receiveuntil: untilCheck,
      tcp_send: send,
      tcp_close: close,
      tcp_settimeout: settimeout,
      tcp_settimeouts: settimeouts,
      tcp_setoption: setoption,
      tcp_setkeepalive: setkeepalive,
      tcp_getreusedtimes: getreusedtimes,
      tcp_gc: gc,
    },
  };
}

export interface TcpApi {
  downstream(L: number, ctx: LuaContext, kind: 'body' | 'raw'): TcpSock;
  /** downstream data (null + 'eof' at the end, or an error text) */
  feed(s: TcpSock, data: Buffer | null, err?: string | null): void;
  drained(s: TcpSock): void;
  pools: Map<string, unknown>;
}
