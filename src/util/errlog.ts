/**
 * nginx error log: line format, level filtering, buffered appends, reopen.
 *
 * Line format (nginx 1.22 as observed on the reference):
 *   2026/11/26 18:48:11 [error] 2998#2998: *1 message, client: 127.0.0.1, server: localhost,
 *   request: "GET /t HTTP/1.1", subrequest: "/sub", host: "127.0.0.1:58761", referrer: "http://x/y"
 * (one line). Lines are capped at 2047 bytes plus "\n" (NGX_MAX_ERROR_STR = 2048): a long
 * message silently cuts off everything after it, context included. Message bytes are written
 * raw (newlines, NUL and high bytes unescaped). Level `stderr` (ngx.STDERR) prints as `[]`
 * and is always written.
 */
import * as fs from 'node:fs';
import dgram from 'node:dgram';
import os from 'node:os';
import { errlogTime } from './time.js';

/** nginx level names indexed by level number (NGX_LOG_STDERR = 0 … NGX_LOG_DEBUG = 8). */
export const LOG_LEVEL_NAMES = ['stderr', 'emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

export const LOG_STDERR = 0;
export const LOG_EMERG = 1;
export const LOG_ALERT = 2;
export const LOG_CRIT = 3;
export const LOG_ERR = 4;
export const LOG_WARN = 5;
export const LOG_NOTICE = 6;
export const LOG_INFO = 7;
export const LOG_DEBUG = 8;

/** What goes between the brackets: `[error]`, and `[]` for ngx.STDERR. */
const LEVEL_TAGS = LOG_LEVEL_NAMES.map((n) => (n === 'stderr' ? '[] ' : `[${n}] `));

/** Level number for a name (`err` accepted as an alias of `error`) or a number 0..8; -1 if unknown. */
export function levelNumber(level: string | number): number {
  if (typeof level === 'number') return Number.isInteger(level) && level >= 0 && level <= 8 ? level : -1;
  if (level === 'err') return LOG_ERR;
  return (LOG_LEVEL_NAMES as readonly string[]).indexOf(level);
}

/** Request/connection context appended after the message, in nginx's order. */
export interface LogContext {
  connection?: number;
  /** " while <action>", e.g. "reading response header from upstream" */
  action?: string;
  client?: string;
  server?: string;
  request?: string;
  subrequest?: string;
  upstream?: string;
  host?: string;
  referrer?: string;
  /** ", context: ngx.timer" outside requests (timers, init_worker) */
  context?: string;
}

/** NGX_MAX_ERROR_STR: the line (including the final newline) never exceeds this. */
export const MAX_ERROR_STR = 2048;

const WIDE = /[^\x00-\xff]/;

/** JS string → bytes: latin1 (Lua byte strings) unless it holds chars above 0xFF, then UTF-8. */
function toBytes(s: string): Buffer {
  return Buffer.from(s, WIDE.test(s) ? 'utf8' : 'latin1');
}

function contextSuffix(ctx: LogContext): string {
  let s = '';
  if (ctx.action !== undefined) s += ' while ' + ctx.action;
  // a timer's lines name their context first, then the request that created the timer
  if (ctx.context !== undefined) s += ', context: ' + ctx.context;
  if (ctx.client !== undefined) s += ', client: ' + ctx.client;
  if (ctx.server !== undefined) s += ', server: ' + ctx.server;
  if (ctx.request !== undefined) s += ', request: "' + ctx.request + '"';
  if (ctx.subrequest !== undefined) s += ', subrequest: "' + ctx.subrequest + '"';
  if (ctx.upstream !== undefined) s += ', upstream: "' + ctx.upstream + '"';
  if (ctx.host !== undefined) s += ', host: "' + ctx.host + '"';
  if (ctx.referrer !== undefined) s += ', referrer: "' + ctx.referrer + '"';
  return s;
}

/**
 * Format one error-log line (with trailing "\n"), capped at MAX_ERROR_STR bytes.
 * `level` is a level number (0..8). `pid`/`tid` default to process.pid.
 */
export function formatErrorLine(
  level: number,
  msg: string | Uint8Array,
  ctx?: LogContext,
  ms: number = Date.now(),
  pid: number = process.pid,
  tid: number = pid,
): Buffer {
  let head = errlogTime(ms) + ' ' + LEVEL_TAGS[level] + pid + '#' + tid + ': ';
  if (ctx?.connection !== undefined) head += '*' + ctx.connection + ' ';
  const tail = ctx ? contextSuffix(ctx) : '';
  if (typeof msg === 'string' && !WIDE.test(msg) && !WIDE.test(tail)) {
    // common case: everything is latin1, one allocation
    const total = head.length + msg.length + tail.length;
    const n = Math.min(total, MAX_ERROR_STR - 1);
    const out = Buffer.allocUnsafe(n + 1);
    let j = out.write(head, 0, n, 'latin1');
    if (j < n) j += out.write(msg, j, n - j, 'latin1');
    if (j < n) j += out.write(tail, j, n - j, 'latin1');
    out[j] = 0x0a;
    return out;
  }
  const parts = [toBytes(head), typeof msg === 'string' ? toBytes(msg) : msg, toBytes(tail)];
  const total = parts[0]!.length + parts[1]!.length + parts[2]!.length;
  const n = Math.min(total, MAX_ERROR_STR - 1);
  const out = Buffer.allocUnsafe(n + 1);
  let j = 0;
  for (const p of parts) {
    if (j >= n) break;
    const take = Math.min(p.length, n - j);
    out.set(take === p.length ? p : p.subarray(0, take), j);
    j += take;
  }
  out[j] = 0x0a;
  return out;
}

/**
 * LuaJIT's debug short_src for a chunk name (LUA_IDSIZE 60), as seen on the reference:
 *  "=name" → name (max 59 chars); "@path" → path, or "..." + its last 56 chars when 60+;
 *  anything else → `[string "<source up to the first control char>"]`, cut to 45 chars
 *  plus "..." when it is longer than 48 chars or contains a control char.
 */
export function luaShortSrc(chunkname: string): string {
  const c0 = chunkname.charCodeAt(0);
  if (c0 === 0x3d /* = */) return chunkname.slice(1, 60);
  if (c0 === 0x40 /* @ */) {
    const len = chunkname.length - 1;
    return len >= 60 ? '...' + chunkname.slice(chunkname.length - 56) : chunkname.slice(1);
  }
  let len = 0;
  while (len < 48 && len < chunkname.length && chunkname.charCodeAt(len) >= 0x20) len++;
  if (len < chunkname.length) return '[string "' + chunkname.slice(0, Math.min(len, 45)) + '..."]';
  return '[string "' + chunkname + '"]';
}

/**
 * The prefix ngx.log / print put before the message: `[lua] <basename of short_src>:<line>: `
 * plus `<fn>(): ` when the calling function has a name (named locals, globals, fields,
 * methods and metamethods such as `__index` all count; anonymous functions and the main
 * chunk do not). The basename is whatever follows the last `/` in short_src, even inside
 * `[string "xx/yy"]` (giving `yy"]`).
 */
export function luaLogPrefix(shortSrc: string, line: number, fnName?: string | null): string {
  const slash = shortSrc.lastIndexOf('/');
  const base = slash >= 0 ? shortSrc.slice(slash + 1) : shortSrc;
  return fnName ? `[lua] ${base}:${line}: ${fnName}(): ` : `[lua] ${base}:${line}: `;
}

interface Sink {
  path: string;
  level: number;
  fd: number;
  own: boolean; // we opened it (not stderr)
  pending: Buffer[];
  pendingBytes: number;
  /** `syslog:server=...`: each line goes out as a datagram instead */
  syslog?: SyslogTarget;
}

/** An `error_log syslog:server=addr[:port][,facility=f][,tag=t][,severity=s]` destination. */
interface SyslogTarget {
  sock: dgram.Socket;
  host: string;
  port: number;
  facility: number;
  tag: string;
}

const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'intern', 'lpr', 'news', 'uucp', 'clock', 'authpriv', 'ftp', 'ntp', 'audit', 'alert', 'cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];
const SEVERITIES: Record<string, number> = { emerg: 0, alert: 1, crit: 2, error: 3, warn: 4, notice: 5, info: 6, debug: 7 };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function openSyslog(spec: string): SyslogTarget {
  const t: SyslogTarget = { sock: dgram.createSocket('udp4'), host: '127.0.0.1', port: 514, facility: 23, tag: 'nginx' };
  for (const part of spec.slice(7).split(',')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq);
    const v = part.slice(eq + 1);
    if (k === 'server') {
      const m = /^(?:unix:.*|\[([^\]]+)\](?::(\d+))?|([^:]+)(?::(\d+))?)$/.exec(v);
      if (m) {
        t.host = m[1] ?? m[3] ?? t.host;
        t.port = Number(m[2] ?? m[4] ?? 514);
      }
    } else if (k === 'facility' && FACILITIES.includes(v)) t.facility = FACILITIES.indexOf(v);
    else if (k === 'tag') t.tag = v;
  }
  t.sock.on('error', () => { /* like nginx: a lost syslog datagram is dropped */ });
  t.sock.unref();
  return t;
}

/** One error-log line as a syslog datagram: `<PRI>Mmm dd hh:mm:ss host tag: line`. */
function syslogSend(t: SyslogTarget, line: Buffer): void {
  const text = line.toString('latin1').replace(/\n$/, '');
  const lvl = /\[(\w+)\]/.exec(text)?.[1] ?? 'error';
  const d = new Date();
  const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${d.toTimeString().slice(0, 8)}`;
  t.sock.send(Buffer.from(`<${t.facility * 8 + (SEVERITIES[lvl] ?? 3)}>${stamp} ${os.hostname()} ${t.tag}: ${text}`, 'latin1'), t.port, t.host);
}

const live = new Set<ErrorLog>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const log of live) log.flushSync();
  });
}

function openSink(path: string): { fd: number; own: boolean; syslog?: SyslogTarget } {
  if (path === 'stderr' || path === '/dev/stderr') return { fd: 2, own: false };
  if (path.startsWith('syslog:')) return { fd: -1, own: false, syslog: openSyslog(path) };
  return { fd: fs.openSync(path, 'a', 0o644), own: true };
}

export interface ErrorLogOptions {
  /** max delay before buffered lines hit the file (ms), default 5 */
  flushMs?: number;
  /** flush immediately once this many bytes are pending, default 64 KiB */
  highWater?: number;
  /** clock in ms, default Date.now */
  now?: () => number;
  pid?: number;
}

/**
 * A set of error-log destinations (`error_log` directives). Each line goes to every file
 * whose level is at least as verbose as the message's. Paths open in append mode;
 * "stderr" writes to fd 2.
 */
export class ErrorLog {
  private sinks: Sink[];
  private timer: NodeJS.Timeout | null = null;
  private readonly flushMs: number;
  private readonly highWater: number;
  private readonly now: () => number;
  private readonly pid: number;
  /** most verbose level across sinks: log(level) is a no-op above it */
  maxLevel: number;

  constructor(files: { path: string; level: string }[], opts: ErrorLogOptions = {}) {
    this.flushMs = opts.flushMs ?? 5;
    this.highWater = opts.highWater ?? 65536;
    this.now = opts.now ?? Date.now;
    this.pid = opts.pid ?? process.pid;
    this.sinks = files.map((f) => {
      const level = levelNumber(f.level);
      if (level < 0) throw new Error(`invalid log level "${f.level}"`);
      const { fd, own, syslog } = openSink(f.path);
      return { path: f.path, level, fd, own, pending: [], pendingBytes: 0, syslog };
    });
    this.maxLevel = this.sinks.reduce((m, s) => Math.max(m, s.level), 0);
    live.add(this);
    hookExit();
  }

  /**
   * Whether debug lines are wanted (`error_log ... debug`): callers check this before building
   * the message, so that ngx_lua's debug lines cost nothing otherwise.
   */
  get debugOn(): boolean {
    return this.maxLevel >= LOG_DEBUG || this.listenLevel >= LOG_DEBUG;
  }

  /** Would a message at `level` be written anywhere? (cheap pre-check for callers) */
  enabled(level: string | number): boolean {
    const n = typeof level === 'number' ? level : levelNumber(level);
    return n >= 0 && n <= Math.max(this.maxLevel, this.listenLevel);
  }

  /** for an embedding application: every record at or above listenLevel, before formatting */
  listener: ((level: number, msg: string | Uint8Array, ctx: LogContext | undefined) => void) | null = null;
  listenLevel = -1;

  log(level: string | number, msg: string | Uint8Array, ctx?: LogContext): void {
    const n = typeof level === 'number' ? level : levelNumber(level);
    if (n >= 0 && n <= this.listenLevel) this.listener?.(n, msg, ctx);
    if (n < 0 || n > this.maxLevel) return;
    // nginx writes no context suffix after a debug line, only the connection number before it
    if (n === LOG_DEBUG && ctx) ctx = ctx.connection !== undefined ? { connection: ctx.connection } : undefined;
    const line = formatErrorLine(n, msg, ctx, this.now(), this.pid);
    for (const s of this.sinks) {
      if (n > s.level) continue;
      s.pending.push(line);
      s.pendingBytes += line.length;
      if (s.pendingBytes >= this.highWater) this.flushSink(s);
    }
    if (this.timer === null && this.sinks.some((s) => s.pendingBytes > 0)) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flushSync();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  private flushSink(s: Sink): void {
    if (s.pendingBytes === 0) return;
    if (s.syslog) {
      for (const line of s.pending) syslogSend(s.syslog, line);
      s.pending = [];
      s.pendingBytes = 0;
      return;
    }
    const data = s.pending.length === 1 ? s.pending[0]! : Buffer.concat(s.pending, s.pendingBytes);
    s.pending = [];
    s.pendingBytes = 0;
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(s.fd, data, off, data.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        return; // like nginx: a failed error-log write is dropped
      }
    }
  }

  /** Write everything pending now. */
  flushSync(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    for (const s of this.sinks) this.flushSink(s);
  }

  /** Reopen the files (SIGUSR1 / log rotation). A file that fails to reopen keeps its old fd. */
  reopen(): void {
    this.flushSync();
    for (const s of this.sinks) {
      if (!s.own) continue;
      let fd: number;
      try {
        fd = fs.openSync(s.path, 'a', 0o644);
      } catch {
        continue;
      }
      try {
        fs.closeSync(s.fd);
      } catch {
        /* ignore */
      }
      s.fd = fd;
    }
  }

  /** Flush and close the files; the instance must not be used afterwards. */
  close(): void {
    this.flushSync();
    for (const s of this.sinks) {
      if (s.own) {
        try {
          fs.closeSync(s.fd);
        } catch {
          /* ignore */
        }
      }
    }
    this.sinks = [];
    this.maxLevel = -1;
    live.delete(this);
  }
}

/** A stable pseudo address for an object in debug lines, where nginx prints a pointer (a fake
 * connection, a pooled socket). */
export function fakeConnId(o: object): string {
  let id = fakeIds.get(o);
  if (id === undefined) fakeIds.set(o, (id = (0x55d0c0de0000 + ++fakeSeq * 0x200).toString(16).toUpperCase().padStart(16, '0')));
  return id;
}
const fakeIds = new WeakMap<object, string>();
let fakeSeq = 0;
