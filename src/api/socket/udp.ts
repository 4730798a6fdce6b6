// ngx.socket.udp: the UDP cosocket. lua/socket_udp.lua installs these primitives: `udp` builds
// the socket object (a table whose [1] is a handle into `socks` below and whose [2] is the
// timeout set by settimeout before any peer, as ngx_lua keeps it), the other functions are the
// methods of the one shared metatable.
//
// ARCHITECTURE: node:dgram does the I/O. A connected dgram socket receives eagerly, so
// datagrams wait in a per-socket queue until receive() takes them (the kernel buffer's role);
// an ICMP error (ECONNREFUSED) seen by node becomes the socket's pending error, which the next
// send() or receive() reports, as the kernel's sk_err is reported by the next syscall.
// setpeername and send suspend the calling thread until node reports the outcome (ngx_lua's
// send never yields; the value returned is the same, only other light threads may run first).
// Unix datagram sockets (`unix:/path`) come from the optional native addon unix-dgram
// (unixdgram.ts; node:dgram has no AF_UNIX). Without the addon, setpeername fails there with the
// errors connect() would give for a missing path (`no such file or directory`) or a non-socket
// (`connection refused`), and with `address family not supported by protocol` for a socket file.
import dgram from 'node:dgram';
import { NumMap } from '../../util/nummap.js';
import { stat } from 'node:fs';
import { CTX_YIELDABLE, type Runtime } from '../../core/runtime.js';
import type { LuaContext, LuaThread } from '../../core/thread.js';
import type { LocSettings } from '../../conf/model.js';
import { T_BOOLEAN, T_NIL, T_NUMBER, T_STRING, T_TABLE, TYPE_NAMES, type JsLuaFn, type LuaVM } from '../../lua/vm.js';
import { ctxSuffix } from '../log.js';
import { parseHost, resolveHost, settingsFor, ResolveError } from './resolve.js';
import { arrayMax } from '../tables.js';
import { connectUnixDgram, unixDgramAvailable, type UnixDgram } from './unixdgram.js';

/** receive()'s default and largest size */
export const UDP_MAX_DATAGRAM_SIZE = 65536;
/** bytes of unread datagrams kept per socket (a default Linux receive buffer) */
const QUEUE_LIMIT = 212992;

const SOCKET_CTX_INDEX = 1;
const SOCKET_TIMEOUT_INDEX = 2;

/** errno code -> [errno number, strerror text] for the errors cosockets report */
const ERRNO: Record<string, [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  EINTR: [4, 'Interrupted system call'],
  EAGAIN: [11, 'Resource temporarily unavailable'],
  ENOMEM: [12, 'Cannot allocate memory'],
  EACCES: [13, 'Permission denied'],
  EINVAL: [22, 'Invalid argument'],
  EPIPE: [32, 'Broken pipe'],
  EMSGSIZE: [90, 'Message too long'],
  EPROTOTYPE: [91, 'Protocol wrong type for socket'],
  EAFNOSUPPORT: [97, 'Address family not supported by protocol'],
  EADDRINUSE: [98, 'Address already in use'],
  EADDRNOTAVAIL: [99, 'Cannot assign requested address'],
  ENETDOWN: [100, 'Network is down'],
  ENETUNREACH: [101, 'Network is unreachable'],
  ECONNRESET: [104, 'Connection reset by peer'],
  ENOBUFS: [105, 'No buffer space available'],
  ENOTCONN: [107, 'Transport endpoint is not connected'],
  ETIMEDOUT: [110, 'Connection timed out'],
  ECONNREFUSED: [111, 'Connection refused'],
  EHOSTDOWN: [112, 'Host is down'],
  EHOSTUNREACH: [113, 'No route to host'],
};

/** `(111: Connection refused)` as nginx writes an errno in the error log */
export function errnoText(code: string | undefined): string {
  const e = code ? ERRNO[code] : undefined;
  return e ? `(${e[0]}: ${e[1]})` : `(${code ?? 'unknown error'})`;
}

/** the lower-cased strerror ngx_lua returns to Lua (LuaSocket compatible) */
export function errnoMessage(code: string | undefined): string {
  const e = code ? ERRNO[code] : undefined;
  return e ? e[1].toLowerCase() : 'error';
}

/** ngx_connection_error's level: "expected" network errors are [error], others [alert] */
function errnoLevel(code: string | undefined): 'error' | 'alert' {
  switch (code) {
    case 'ECONNRESET':
    case 'ENOTCONN':
    case 'ETIMEDOUT':
    case 'ECONNREFUSED':
    case 'ENETDOWN':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'EHOSTUNREACH':
      return 'error';
    default:
      return 'alert';
  }
}

interface Waiter {
  th: LuaThread;
  size: number;
  timer: NodeJS.Timeout | null;
}

/** One socket object's state (ngx_lua's `u`). */
interface UdpSock {
  id: number;
  /** the request (or timer / init_worker context) that owns the socket */
  owner: object | null;
  ownerCtx: LuaContext | null;
  settings: LocSettings | null;
  /** ngx_lua's `u->udp_connection.connection`: a socket exists (it may have failed to connect) */
  open: boolean;
  dg: dgram.Socket | UnixDgram | null;
  /** connect() succeeded */
  connected: boolean;
  /** peer port 0: node refuses it; every datagram is answered by ICMP port unreachable */
  portZero: boolean;
  /** an IPv6 socket (larger datagram limit) */
  v6: boolean;
  readTimeout: number;
  queue: Buffer[];
  queued: number;
  /** an error node saw on the socket, reported by the next send/receive */
  pendingErr: string | null;
  /** setpeername (resolving/connecting) or receive in progress: `socket busy` */
  waiting: boolean;
  waiter: Waiter | null;
  cleanupAdded: boolean;
  /** bumped at every finalize: callbacks of an earlier connection are ignored */
  gen: number;
}

function ptr(u: UdpSock | undefined): string {
  return u ? (0x7f0000001000 + u.id * 0x200).toString(16).toUpperCase().padStart(16, '0') : '0000000000000000';
}

export function registerUdp(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const socks = new NumMap<UdpSock>();
  let nextId = 1;
  let mtRef = -1;

  const ownerKey = (ctx: LuaContext): object => ctx.req ?? ctx;

  /** Log in a context's name: the request's suffix, or `context: ngx.timer` as ngx.log does. */
  const logIn = (ctx: LuaContext | null, level: 'error' | 'alert' | 'crit', msg: string): void => {
    if (ctx?.req) rt.logReq(level, msg, ctx.req);
    else rt.log.log(level, msg, ctxSuffix(ctx?.kind));
  };
  const log = (u: UdpSock, level: 'error' | 'alert' | 'crit', msg: string): void => logIn(u.ownerCtx, level, msg);

  /** The socket state of the table at index 1, or undefined. */
  const getSock = (L: number): UdpSock | undefined => {
    return socks.get(vm.rawNumber(L, 1, SOCKET_CTX_INDEX));
  };

  const checkTable = (L: number): void => {
    if (vm.type(L, 1) !== T_TABLE) vm.argError(L, 1, `table expected, got ${vm.typeName(L, 1)}`);
  };

  const finalize = (u: UdpSock): void => {
    u.gen++;
    if (u.waiter) {
      if (u.waiter.timer) clearTimeout(u.waiter.timer);
      u.waiter = null;
    }
    u.waiting = false;
    if (u.dg) {
      const dg = u.dg;
      u.dg = null;
      dg.removeAllListeners('message');
      try {
        dg.close();
      } catch {
        /* already closed */
      }
    }
    u.open = false;
    u.connected = false;
    u.portZero = false;
    u.queue = [];
    u.queued = 0;
    u.pendingErr = null;
  };

  const resumeWith = (th: LuaThread, push: (vm: LuaVM, co: number) => number): void => {
    rt.sched.resume(th, push);
  };
  const pushErr = (msg: string) => (v: LuaVM, co: number): number => {
    v.pushNil(co);
    v.pushStr(co, msg);
    return 2;
  };
  const pushOne = (v: LuaVM, co: number): number => {
    v.pushNumber(co, 1);
    return 1;
  };

  /** Report an errno the way ngx_udp_recv / ngx_send log it, and return ngx_lua's message. */
  const sysError = (u: UdpSock, call: 'recv' | 'send', code: string | undefined): string => {
    log(u, errnoLevel(code), `${call}() failed ${errnoText(code)}`);
    return errnoMessage(code);
  };

  const onMessage = (u: UdpSock, msg: Buffer): void => {
    const w = u.waiter;
    if (w) {
      u.waiter = null;
      u.waiting = false;
      if (w.timer) clearTimeout(w.timer);
      const data = msg.length > w.size ? msg.subarray(0, w.size) : msg;
      resumeWith(w.th, (v, co) => {
        v.pushBytes(co, data);
        return 1;
      });
      return;
    }
    if (u.queued + msg.length > QUEUE_LIMIT) return; // the kernel would drop it too
    u.queue.push(msg);
    u.queued += msg.length;
  };

  const onError = (u: UdpSock, err: NodeJS.ErrnoException): void => {
    const w = u.waiter;
    if (w) {
      u.waiter = null;
      u.waiting = false;
      if (w.timer) clearTimeout(w.timer);
      resumeWith(w.th, pushErr(sysError(u, 'recv', err.code)));
      return;
    }
    u.pendingErr = err.code ?? 'EIO';
  };

  /** Open a socket to address:port; calls done(null) or done(errno code) later. */
  const connectIp = (u: UdpSock, address: string, family: 4 | 6, port: number, done: (err: string | null) => void): void => {
    const gen = u.gen;
    const dg = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    u.dg = dg;
    u.open = true;
    u.v6 = family === 6;
    dg.on('message', (m) => {
      if (u.gen === gen) onMessage(u, m);
    });
    dg.on('error', (e) => {
      if (u.gen === gen) onError(u, e);
    });
    if (port === 0) {
      // connect(2) to port 0 works on Linux, but node refuses it: bind only, and let every
      // send() produce the ICMP error the kernel would see
      dg.bind(0, family === 6 ? '::' : '0.0.0.0', () => {
        if (u.gen !== gen) return;
        u.connected = true;
        u.portZero = true;
        done(null);
      });
      return;
    }
    dg.connect(port, address, (err?: Error) => {
      if (u.gen !== gen) return;
      if (err) {
        done((err as NodeJS.ErrnoException).code ?? 'EINVAL');
        return;
      }
      u.connected = true;
      done(null);
    });
  };

  /** setpeername's continuation once the address is known; resumes th. */
  const finishConnect = (u: UdpSock, th: LuaThread, err: string | null): void => {
    u.waiting = false;
    if (err) {
      log(u, 'crit', `connect() failed ${errnoText(err)}`);
      resumeWith(th, pushErr(errnoMessage(err)));
      return;
    }
    resumeWith(th, pushOne);
  };

  const setpeername: JsLuaFn = (L) => {
    const n = vm.top(L);
    if (n !== 2 && n !== 3) {
      return vm.error(L, `ngx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen ${n}`);
    }
    const ctx = rt.check(L, CTX_YIELDABLE);
    checkTable(L);
    const t2 = vm.type(L, 2);
    if (t2 !== T_STRING && t2 !== T_NUMBER) vm.argError(L, 2, `string expected, got ${vm.typeName(L, 2)}`);
    const host = vm.toStr(L, 2)!;
    let port = 0;
    if (n === 3) {
      const p = vm.toNumberOrNull(L, 3);
      if (p === null) return vm.argError(L, 3, `number expected, got ${vm.typeName(L, 3)}`);
      port = Math.trunc(p);
      if (!(port >= 0 && port <= 65535)) {
        vm.pushNil(L);
        vm.pushStr(L, `bad port number: ${Number.isFinite(port) ? port : 0}`);
        return 2;
      }
    }
    let u = getSock(L);
    if (u) {
      if (u.owner && u.owner !== ownerKey(ctx)) return vm.error(L, 'bad request');
      if (u.waiting) {
        vm.pushNil(L);
        vm.pushStr(L, 'socket busy');
        return 2;
      }
      if (u.open) finalize(u);
    } else {
      u = {
        id: nextId++, owner: null, ownerCtx: null, settings: null, open: false, dg: null, connected: false,
        portZero: false, v6: false, readTimeout: 0, queue: [], queued: 0, pendingErr: null, waiting: false, waiter: null,
        cleanupAdded: false, gen: 0,
      };
      socks.set(u.id, u);
      vm.pushNumber(L, u.id);
      vm.rawSetI(L, 1, SOCKET_CTX_INDEX);
    }
    const sock = u;
    sock.owner = ownerKey(ctx);
    sock.ownerCtx = ctx;
    const settings = settingsFor(rt, ctx);
    sock.settings = settings;
    vm.rawGetI(L, 1, SOCKET_TIMEOUT_INDEX);
    const tmo = Math.trunc(vm.toNumber(L, -1));
    vm.pop(L);
    sock.readTimeout = tmo > 0 ? tmo : settings.luaSocketReadTimeout;
    if (!sock.cleanupAdded) {
      sock.cleanupAdded = true;
      rt.addCleanup(ctx, () => finalize(sock));
    }

    const parsed = parseHost(host, port);
    if (parsed.kind === 'error') {
      vm.pushNil(L);
      vm.pushStr(L, parsed.message);
      return 2;
    }
    const th = rt.sched.current!;
    const gen = sock.gen;
    sock.waiting = true;
    const cancel = { cancel: () => finalize(sock) };
    if (parsed.kind === 'unix' && unixDgramAvailable()) {
      sock.open = true;
      connectUnixDgram(parsed.path, (err, ud) => {
        if (sock.gen !== gen) {
          ud?.close();
          return;
        }
        if (ud) {
          sock.dg = ud;
          ud.on('message', (m) => {
            if (sock.gen === gen) onMessage(sock, m);
          });
          ud.on('error', (e) => {
            if (sock.gen === gen) onError(sock, e);
          });
          sock.connected = true;
        }
        finishConnect(sock, th, err);
      });
      return rt.sched.suspend(L, cancel);
    }
    if (parsed.kind === 'unix') {
      sock.open = true;
      stat(parsed.path, (err, st) => {
        if (sock.gen !== gen) return;
        const code = err ? err.code ?? 'ENOENT' : st.isSocket() ? 'EAFNOSUPPORT' : 'ECONNREFUSED';
        finishConnect(sock, th, code);
      });
      return rt.sched.suspend(L, cancel);
    }
    if (parsed.kind === 'ip') {
      connectIp(sock, parsed.address, parsed.family, parsed.port, (err) => finishConnect(sock, th, err));
      return rt.sched.suspend(L, cancel);
    }
    const name = parsed.name;
    resolveHost(rt, settings, name).then(
      (a) => {
        if (sock.gen !== gen) return;
        connectIp(sock, a.address, a.family, parsed.port, (err) => finishConnect(sock, th, err));
      },
      (e: unknown) => {
        if (sock.gen !== gen) return;
        sock.waiting = false;
        resumeWith(th, pushErr(e instanceof ResolveError ? e.message : `${name} could not be resolved`));
      },
    );
    return rt.sched.suspend(L, cancel);
  };

  /** send/receive: the caller's open, idle socket, or the count of values pushed instead. */
  const usable = (L: number, ctx: LuaContext, verb: 'send' | 'receive'): UdpSock | number => {
    checkTable(L);
    const u = getSock(L);
    if (!u || !u.open) {
      if (settingsFor(rt, ctx).luaSocketLogErrors) {
        logIn(ctx, 'error', `attempt to ${verb} data on a closed socket: u:${ptr(u)}, c:0000000000000000`);
      }
      vm.pushNil(L);
      vm.pushStr(L, 'closed');
      return 2;
    }
    if (u.owner !== ownerKey(ctx)) return vm.error(L, 'bad request');
    if (u.waiting) {
      vm.pushNil(L);
      vm.pushStr(L, 'socket busy');
      return 2;
    }
    return u;
  };

  const send: JsLuaFn = (L) => {
    const n = vm.top(L);
    if (n !== 2) return vm.error(L, `expecting 2 arguments (including the object), but got ${n}`);
    const ctx = rt.current();
    if (!ctx) return vm.error(L, 'request object not found');
    const u = usable(L, ctx, 'send');
    if (typeof u === 'number') return u;
    const data = serialize(vm, L, 2);
    const fail = (code: string): number => {
      vm.pushNil(L);
      vm.pushStr(L, sysError(u, 'send', code));
      return 2;
    };
    if (u.pendingErr) {
      const code = u.pendingErr;
      u.pendingErr = null;
      return fail(code);
    }
    if (!u.connected || !u.dg) return fail('ENOTCONN');
    if (data.length > (u.v6 ? 65527 : 65507)) return fail('EMSGSIZE');
    if (u.portZero) {
      u.pendingErr = 'ECONNREFUSED';
      vm.pushNumber(L, 1);
      return 1;
    }
    // nginx's ngx_udp_send: a zero-length sendmsg() "returns zero", which it reports as an alert
    if (data.length === 0) log(u, 'alert', 'send() returned zero');
    const th = rt.sched.current!;
    const gen = u.gen;
    u.dg.send(data, (err) => {
      if (u.gen !== gen) {
        resumeWith(th, pushOne);
        return;
      }
      if (err) resumeWith(th, pushErr(sysError(u, 'send', (err as NodeJS.ErrnoException).code)));
      else resumeWith(th, pushOne);
    });
    return rt.sched.suspend(L, { cancel: () => {} });
  };

  const receive: JsLuaFn = (L) => {
    const n = vm.top(L);
    if (n !== 1 && n !== 2) return vm.error(L, `expecting 1 or 2 arguments (including the object), but got ${n}`);
    const ctx = rt.current();
    if (!ctx) return vm.error(L, 'no request found');
    const u = usable(L, ctx, 'receive');
    if (typeof u === 'number') return u;
    let size = UDP_MAX_DATAGRAM_SIZE;
    if (n === 2 && vm.type(L, 2) > T_NIL) {
      const s = vm.toNumberOrNull(L, 2);
      if (s === null) return vm.argError(L, 2, `number expected, got ${vm.typeName(L, 2)}`);
      // a size_t cast: negative sizes become huge, then capped
      if (s >= 0 && s < UDP_MAX_DATAGRAM_SIZE) size = Math.trunc(s);
    }
    if (u.queue.length > 0) {
      const m = u.queue.shift()!;
      u.queued -= m.length;
      vm.pushBytes(L, m.length > size ? m.subarray(0, size) : m);
      return 1;
    }
    if (u.pendingErr) {
      const code = u.pendingErr;
      u.pendingErr = null;
      vm.pushNil(L);
      vm.pushStr(L, sysError(u, 'recv', code));
      return 2;
    }
    const th = rt.sched.current;
    if (!th) return vm.error(L, 'no request ctx found');
    const w: Waiter = { th, size, timer: null };
    const ms = Math.min(Math.max(u.readTimeout, 1), 0x7fffffff);
    w.timer = setTimeout(() => {
      if (u.waiter !== w) return;
      u.waiter = null;
      u.waiting = false;
      if ((u.settings ?? settingsFor(rt, ctx)).luaSocketLogErrors) log(u, 'error', 'lua udp socket read timed out');
      resumeWith(th, pushErr('timeout'));
    }, ms);
    u.waiter = w;
    u.waiting = true;
    return rt.sched.suspend(L, {
      cancel: () => {
        if (u.waiter === w) {
          if (w.timer) clearTimeout(w.timer);
          u.waiter = null;
          u.waiting = false;
        }
      },
    });
  };

  const settimeout: JsLuaFn = (L) => {
    const n = vm.top(L);
    if (n !== 2) {
      return vm.error(L, `ngx.socket settimeout: expecting at least 2 arguments (including the object) but seen ${n}`);
    }
    checkTable(L);
    const timeout = Math.trunc(vm.toNumber(L, 2));
    vm.rawSetI(L, 1, SOCKET_TIMEOUT_INDEX);
    const u = getSock(L);
    if (u && u.settings) u.readTimeout = timeout > 0 ? timeout : u.settings.luaSocketReadTimeout;
    return 0;
  };

  const close: JsLuaFn = (L) => {
    const n = vm.top(L);
    if (n !== 1) return vm.error(L, `expecting 1 argument (including the object) but seen ${n}`);
    const ctx = rt.current();
    if (!ctx) return vm.error(L, 'no request found');
    checkTable(L);
    const u = getSock(L);
    if (!u || !u.open) {
      vm.pushNil(L);
      vm.pushStr(L, 'closed');
      return 2;
    }
    if (u.owner !== ownerKey(ctx)) return vm.error(L, 'bad request');
    if (u.waiting) {
      vm.pushNil(L);
      vm.pushStr(L, 'socket busy');
      return 2;
    }
    finalize(u);
    vm.pushNumber(L, 1);
    return 1;
  };

  return {
    /** boot: the methods metatable built by lua/socket_udp.lua */
    udp_set_mt: (L) => {
      vm.pushValue(L, 1);
      mtRef = vm.ref(L);
      return 0;
    },
    /** ngx.socket.udp() */
    udp: (L) => {
      const n = vm.top(L);
      if (n !== 0) return vm.error(L, `expecting zero arguments, but got ${n}`);
      rt.check(L, CTX_YIELDABLE);
      vm.createTable(L, 3, 1);
      vm.pushRef(L, mtRef);
      vm.setMetatable(L, -2);
      return 1;
    },
    udp_setpeername: setpeername,
    udp_send: send,
    udp_receive: receive,
    udp_settimeout: settimeout,
    udp_close: close,
    /**
     * __gc of a socket object: close what it holds. Runs inside whatever allocation triggered
     * the collection, so it touches no shared VM scratch memory (lua_tonumberx without isnum).
     */
    udp_gc: (L) => {
      if (vm.type(L, 1) !== T_TABLE) return 0;
      vm.rawGetI(L, 1, SOCKET_CTX_INDEX);
      const id = vm.toNumber(L, -1);
      vm.pop(L);
      const u = socks.get(id);
      if (u) {
        finalize(u);
        socks.delete(id);
      }
      return 0;
    },
  };
}

/**
 * The datagram for send(): strings, numbers, booleans, nil and (nested) array tables of strings
 * and numbers, with ngx_lua's cosocket argument errors (which differ from ngx.print's).
 */
function serialize(vm: LuaVM, L: number, idx: number): Buffer {
  const t = vm.type(L, idx);
  switch (t) {
    case T_STRING:
      return vm.toBuffer(L, idx)!;
    case T_NUMBER:
      return numberBytes(vm, L, idx);
    case T_NIL:
      return Buffer.from('nil');
    case T_BOOLEAN:
      return Buffer.from(vm.toBool(L, idx) ? 'true' : 'false');
    case T_TABLE: {
      const flat = vm.tableBytes(L, idx);
      if (flat !== null) return flat;
      const parts: Buffer[] = [];
      tableParts(vm, L, idx, idx, parts);
      return Buffer.concat(parts);
    }
  }
  vm.argError(L, idx, `string, number, boolean, nil, or array table expected, got ${TYPE_NAMES[t] ?? 'unknown'}`);
  throw new Error('unreachable');
}

/** A number as ngx_lua's cosockets send it: as ngx.say writes it (-0 is 0, C's "%.14g"). */
function numberBytes(vm: LuaVM, L: number, idx: number): Buffer {
  return Buffer.from(vm.numStr(L, idx), 'latin1');
}

function tableParts(vm: LuaVM, L: number, idx: number, argn: number, parts: Buffer[]): void {
  const abs = idx < 0 ? vm.top(L) + idx + 1 : idx;
  const max = arrayMax(vm, L, abs, argn);
  for (let k = 1; k <= max; k++) {
    vm.rawGetI(L, abs, k);
    const top = vm.top(L);
    const t = vm.type(L, top);
    if (t === T_STRING) parts.push(vm.toBuffer(L, top)!);
    else if (t === T_NUMBER) parts.push(numberBytes(vm, L, top));
    else if (t === T_TABLE) tableParts(vm, L, top, argn, parts);
    else {
      vm.pop(L);
      vm.argError(L, argn, `bad data type ${TYPE_NAMES[t] ?? 'unknown'} found`);
    }
    vm.pop(L);
  }
}
