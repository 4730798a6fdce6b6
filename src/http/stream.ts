// Client sockets held by the addon (native/stream.c) instead of node:net: a listener accepts in
// C, each connection is a small integer, and its events arrive here to be handed to the owner
// registered under that number. No Socket, Readable or Writable objects, no emit per read.

import { createRequire } from 'node:module';
import os from 'node:os';
import util from 'node:util';
import { PrefixCopier } from '../util/copyout.js';
import { clearArray } from '../util/clear.js';

interface StreamAddon {
  streaminit(onConn: ConnFn, onReads: (count: number) => void, onEvent: (id: number, kind: number, arg: string | undefined) => void, readBuf: Buffer, batch: Int32Array): void;
  streamlisten(fd: number, backlog: number): number;
  streamunlisten(id: number): void;
  streamaddr(id: number): [string, number] | undefined;
  streamwrite(id: number, data: Buffer | string, len: number): number;
  streamwritev(id: number, len: number, n: number, ...parts: Array<Buffer | string> | [Array<Buffer | string>]): number;
  streampending(id: number): number;
  streamwritten(id: number): number;
  streamshutdown(id: number): void;
  streamclose(id: number, reset: boolean): void;
  streamread(id: number, on: boolean): void;
  streamconnect(host: string, port: number): number;
  streamref(id: number, on: boolean): void;
  streamfd(id: number): number;
  streamnodelay(id: number, on: boolean): void;
  streamkeepalive(id: number, on: boolean): void;
  listensocket(host: string, port: number, backlog: number, reuseport: number): number;
  streamsockbufs(fd: number, sndbuf: number, rcvbuf: number): void;
}

type ConnFn = (listener: number, id: number, remoteAddr: string, remotePort: number, localAddr: string, localPort: number) => void;

/** What owns a connection: its events, in node:net's terms. */
export interface StreamOwner {
  onData(d: Buffer): void;
  /** the peer half-closed */
  onEnd(): void;
  /** every queued byte was written */
  onDrain(): void;
  /** the half-close asked for by shutdown() was sent */
  onFinish(): void;
  /** a socket error (its code, e.g. ECONNRESET); the close follows */
  onError(code: string): void;
  /** the socket is closed and its number free */
  onClose(): void;
  /** an outgoing connection is made, or failed (the error's code) */
  onConnect?(err: string | undefined): void;
  /** bytes a write reported as taken (held until the end of the loop's I/O phase) are, in
   * part, still waiting for the kernel: `pending()` says how many; onDrain follows */
  onBacklog?(): void;
}

/** What a listener's owner is told. */
export interface ListenOwner {
  accept(id: number, remoteAddr: string, remotePort: number, localAddr: string, localPort: number): void;
  closed(): void;
}

const E = createRequire(import.meta.url)('../../../build/Release/ngxlua_engine.node') as StreamAddon;

const EV_END = 1;
const EV_DRAIN = 2;
const EV_FINISH = 3;
const EV_CLOSE = 4;
const EV_ERROR = 5;
const EV_LCLOSE = 6;
const EV_CONNECT = 7;
const EV_BACKLOG = 8;

const owners: Array<StreamOwner | undefined> = [];
const listeners: Array<ListenOwner | undefined> = [];
let ready = false;

function onConn(lid: number, id: number, ra: string, rp: number, la: string, lp: number): void {
  const l = listeners[lid];
  if (l === undefined) E.streamclose(id, false);
  else l.accept(id, ra, rp, la, lp);
}

/** where the addon puts the reads of one poll of the loop, one after another (native/stream.c
 * keeps 64 KB free for each read and hands them over before it runs short) */
const RBUF = Buffer.allocUnsafeSlow(5 * 65536);
/** the reads handed over: [connection id, offset in RBUF, length (-1: closed since)] each */
const BATCH = new Int32Array(3 * 512);

/** when the read being handled arrived (0 outside one) */
let readMs = 0;
/**
 * The time, read once per read event rather than at each use on the request path, as nginx
 * reads its clock once per event-loop turn; outside a read it is the current time.
 */
export function eventNow(): number {
  return readMs !== 0 ? readMs : Date.now();
}

const reads = new PrefixCopier(RBUF);
const allocUnsafe = Buffer.allocUnsafe;

/** A read's bytes, copied out of RBUF (the first read of a batch by the prefix copier). */
function readAt(off: number, n: number): Buffer {
  if (off === 0) return reads.copy(n);
  const b = allocUnsafe(n);
  RBUF.copy(b, 0, off, off + n);
  return b;
}

// Work left for the end of the read being handled (a connection's queued output): run there
// instead of from a process.nextTick, which costs a tick object and a run of node's tick queue
// per read. The addon holds writes until the loop's check phase either way.
const laterFns: Array<(arg: unknown) => void> = [];
const laterArgs: unknown[] = [];

/** Call fn(arg) once the read being handled is done; false outside a read (nothing queued). */
export function atReadEnd<T>(fn: (arg: T) => void, arg: T): boolean {
  if (readMs === 0) return false;
  laterFns.push(fn as (arg: unknown) => void);
  laterArgs.push(arg);
  return true;
}

function runLater(): void {
  let failure: unknown = null;
  for (let i = 0; i < laterFns.length; i++) {
    try {
      laterFns[i](laterArgs[i]);
    } catch (e) {
      failure ??= e;
    }
  }
  clearArray(laterFns);
  clearArray(laterArgs);
  // as from the tick it replaces: the process's uncaught-exception handling sees it
  if (failure !== null) process.nextTick(() => { throw failure; });
}

/** The reads of one poll, in the order they came: each to its connection's owner. */
function onReads(count: number): void {
  readMs = Date.now();
  let failure: unknown = null;
  try {
    for (let i = 0, k = 0; i < count; i++, k += 3) {
      const id = BATCH[k], n = BATCH[k + 2];
      const o = owners[id];
      if (n < 0 || o === undefined || closing[id] === 1) continue;
      // a read of a request head fits in node's pool of small buffers: no allocation of its own
      const d = readAt(BATCH[k + 1], n);
      try {
        o.onData(d);
      } catch (e) {
        // the others' reads still go to them; the first failure is raised after
        failure ??= e;
      }
    }
  } finally {
    readMs = 0;
    if (laterFns.length > 0) runLater();
  }
  if (failure !== null) throw failure;
}

/** ids closed from JS whose close the addon has not reported yet: their held reads are dropped,
 * as the addon drops reads once a close is asked for */
const closing: number[] = [];

function onEvent(id: number, kind: number, arg: string | undefined): void {
  if (kind === EV_LCLOSE) {
    const l = listeners[id];
    listeners[id] = undefined;
    l?.closed();
    return;
  }
  const o = owners[id];
  if (o === undefined) return;
  switch (kind) {
    case EV_END: o.onEnd(); break;
    case EV_DRAIN: o.onDrain(); break;
    case EV_FINISH: o.onFinish(); break;
    case EV_ERROR: o.onError(arg ?? 'EIO'); break;
    case EV_CONNECT: o.onConnect?.(arg); break;
    case EV_BACKLOG: o.onBacklog?.(); break;
    case EV_CLOSE:
      owners[id] = undefined;
      closing[id] = 0;
      o.onClose();
      break;
  }
}

function init(): void {
  if (ready) return;
  ready = true;
  E.streaminit(onConn, onReads, onEvent, RBUF, BATCH);
}

/** An error with node's errno and code, as node:net raises them. */
export function sysErr(syscall: string, rc: number | string, what: string): NodeJS.ErrnoException {
  const code = typeof rc === 'string' ? rc : util.getSystemErrorName(rc);
  const err = new Error(`${syscall} ${code} ${what}`) as NodeJS.ErrnoException;
  err.code = code;
  err.syscall = syscall;
  const errno = (os.constants.errno as Record<string, number>)[code];
  if (errno !== undefined) err.errno = -errno;
  return err;
}

/**
 * Listen on `fd` (a socket the master bound), or bind host:port / unix:path here. Returns the
 * listener's number; throws node's EADDRINUSE & co.
 */
export function listen(owner: ListenOwner, host: string, port: number, fd?: number, sndbuf = -1, rcvbuf = -1): number {
  init();
  let sock = fd;
  if (sock === undefined) {
    sock = E.listensocket(host, port, 511, 0);
    if (sock < 0) throw sysErr('listen', sock, host.startsWith('unix:') ? host.slice(5) : `${host}:${port}`);
  }
  // listen's sndbuf= and rcvbuf=: set on the listening socket, as nginx does (a failure is
  // logged there at alert; here the socket keeps the kernel's sizes)
  if (sndbuf >= 0 || rcvbuf >= 0) E.streamsockbufs(sock, sndbuf, rcvbuf);
  const id = E.streamlisten(sock, 511);
  if (id < 0) throw sysErr('listen', id, `fd ${sock}`);
  listeners[id] = owner;
  return id;
}

export function unlisten(id: number): void {
  E.streamunlisten(id);
}

export function listenAddress(id: number): { address: string; port: number } {
  const a = E.streamaddr(id);
  return a === undefined ? { address: '', port: 0 } : { address: a[0], port: a[1] };
}

/** Take the connection's events from now on. */
export function own(id: number, o: StreamOwner): void {
  owners[id] = o;
}

/** Write `data` (a string is written as latin1, `len` its length); returns what is still queued. */
export const write: (id: number, data: Buffer | string, len: number) => number = E.streamwrite;
/** Write parts[0..n) (latin1 strings and Buffers, len bytes in all) as one; returns what is
 * still queued. Up to 6 parts cross as arguments, more as the array. */
export function writev(id: number, parts: Array<Buffer | string>, n: number, len: number): number {
  switch (n) {
    case 2: return E.streamwritev(id, len, 2, parts[0], parts[1]);
    case 3: return E.streamwritev(id, len, 3, parts[0], parts[1], parts[2]);
    case 4: return E.streamwritev(id, len, 4, parts[0], parts[1], parts[2], parts[3]);
    case 5: return E.streamwritev(id, len, 5, parts[0], parts[1], parts[2], parts[3], parts[4]);
    case 6: return E.streamwritev(id, len, 6, parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]);
    default: return E.streamwritev(id, len, n, parts);
  }
}
export const pending: (id: number) => number = E.streampending;
export const written: (id: number) => number = E.streamwritten;
/** half-close once the queue is written; onFinish follows */
export const shutdown: (id: number) => void = E.streamshutdown;
/** close now (an RST with reset); onClose follows */
export function close(id: number, reset: boolean): void {
  closing[id] = 1;
  E.streamclose(id, reset);
}
export const setReading: (id: number, on: boolean) => void = E.streamread;
/** Connect to an IP address and port, or to a unix socket's path (port -1); -errno on a bad
 * address. The owner's onConnect follows. */
export function connect(o: StreamOwner, host: string, port: number): number {
  init();
  const id = E.streamconnect(host, port);
  if (id >= 0) owners[id] = o;
  return id;
}
export const setRef: (id: number, on: boolean) => void = E.streamref;
export const fdOf: (id: number) => number = E.streamfd;
export const setNoDelay: (id: number, on: boolean) => void = E.streamnodelay;
export const setKeepAlive: (id: number, on: boolean) => void = E.streamkeepalive;
