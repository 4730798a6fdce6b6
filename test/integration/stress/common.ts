// Shared pieces of the stress proofs (issues 3 and 4): start ngxlua and redis-server on
// 127.0.0.1 with bounded waits, count a process's descriptors and RSS through /proc, node:net
// peers that count their open connections, a bounded-concurrency keep-alive HTTP load driver,
// and a tiny RESP client to read redis directly. Everything started here is killed by stopAll().
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const BIN = path.join(ROOT, 'bin/ngxlua.js');
export const LUA_DIR = '/usr/share/lua/5.1';
export const REDIS_LIB = `${LUA_DIR}/nginx/redis.lua`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const procs = new Set<ChildProcess>();
const servers = new Set<net.Server>();
const dirs: string[] = [];

/** Kill every process and close every peer this module started; remove temp dirs. For after(). */
export async function stopAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      waits.push(new Promise((r) => p.once('exit', r)));
      p.kill('SIGKILL');
    }
  }
  procs.clear();
  for (const s of servers) {
    waits.push(new Promise((r) => s.close(r)));
    (s as net.Server & { _conns?: Set<net.Socket> })._conns?.forEach((c) => c.destroy());
  }
  servers.clear();
  await Promise.all(waits);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface Proc {
  proc: ChildProcess;
  pid: number;
  output(): string;
  exited(): boolean;
}

function startProc(cmd: string, args: string[], cwd: string): Proc {
  const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(proc);
  let out = '';
  let dead = false;
  proc.stdout!.setEncoding('latin1');
  proc.stderr!.setEncoding('latin1');
  proc.stdout!.on('data', (d: string) => (out = (out + d).slice(-20000)));
  proc.stderr!.on('data', (d: string) => (out = (out + d).slice(-20000)));
  proc.on('error', (e) => (out += `spawn error: ${e.message}\n`));
  proc.on('exit', () => {
    dead = true;
    procs.delete(proc);
  });
  return { proc, pid: proc.pid!, output: () => out, exited: () => dead };
}

/** Wait (at most ms) until the port accepts connections; throws if the process died. */
async function waitListening(p: Proc, port: number, what: string, ms = 45000, log?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (p.exited()) throw new Error(`${what} exited before listening:\n${p.output()}\n${log ? log() : ''}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`${what} not listening on ${port} after ${ms} ms:\n${p.output()}\n${log ? log() : ''}`);
}

export function tempDir(tag: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `ngxlua-stress-${tag}-`));
  dirs.push(d);
  return d;
}

export interface Ngx {
  port: number;
  pid: number;
  prefix: string;
  errorLog(): string;
  output(): string;
  alive(): boolean;
}

/**
 * ngxlua on a fresh prefix: `conf` is the text inside `http { }` (without it); the server block
 * must `listen 127.0.0.1:{{PORT}}`. error_log at info, daemon off, lua_package_path has LUA_DIR.
 * `events` replaces the whole events block (default: worker_connections 4096).
 */
export async function startNgx(httpBody: string, main = '', events = 'events { worker_connections 4096; }'): Promise<Ngx> {
  const port = await freePort();
  const prefix = tempDir('prefix');
  for (const d of ['conf', 'logs']) mkdirSync(path.join(prefix, d));
  const conf = `daemon off;
master_process off;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
${main}
${events}
http {
    access_log off;
    default_type text/plain;
    lua_package_path "${LUA_DIR}/?.lua;;";
${httpBody.replaceAll('{{PORT}}', String(port))}
}
`;
  writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf);
  const errorLog = () => {
    const f = path.join(prefix, 'logs/error.log');
    return existsSync(f) ? readFileSync(f, 'latin1') : '';
  };
  const p = startProc(process.execPath, [BIN, '-p', prefix, '-c', 'conf/nginx.conf'], ROOT);
  await waitListening(p, port, 'ngxlua', 45000, errorLog);
  return { port, pid: p.pid, prefix, errorLog, output: p.output, alive: () => !p.exited() };
}

export interface Redis {
  port: number;
  pid: number;
}

export async function startRedis(): Promise<Redis> {
  const port = await freePort();
  const dir = tempDir('redis');
  const p = startProc('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--protected-mode', 'no', '--daemonize', 'no', '--logfile', '', '--maxclients', '4000',
  ], dir);
  await waitListening(p, port, 'redis-server');
  return { port, pid: p.pid };
}

/** One redis command over a fresh connection (RESP arrays out, the reply's first line parsed). */
export function redisCmd(port: number, ...args: string[]): Promise<string | number | null> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let buf = '';
    c.setTimeout(10000, () => c.destroy(new Error('redis command timed out')));
    c.on('error', reject);
    c.on('connect', () => c.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    c.on('data', (d) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const head = buf.slice(0, nl);
      if (head[0] === ':') return done(Number(head.slice(1)));
      if (head[0] === '+') return done(head.slice(1));
      if (head[0] === '-') return fail(head);
      if (head[0] === '$') {
        const n = Number(head.slice(1));
        if (n < 0) return done(null);
        if (buf.length >= nl + 2 + n + 2) return done(buf.slice(nl + 2, nl + 2 + n));
      }
    });
    function done(v: string | number | null) {
      c.destroy();
      resolve(v);
    }
    function fail(e: string) {
      c.destroy();
      reject(new Error(e));
    }
  });
}

/** Open descriptors of a process (/proc/pid/fd entries). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What the descriptors are: sockets, files, anon inodes... (for messages). */
export function fdKinds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of readdirSync(`/proc/${pid}/fd`)) {
    let k = '?';
    try {
      k = (readlinkSafe(`/proc/${pid}/fd/${f}`) ?? '?').replace(/\[\d+\]$/, '').replace(/^\/.*/, 'file');
    } catch {
      /* raced with a close */
    }
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function readlinkSafe(p: string): string | null {
  try {
    return readlinkSync(p);
  } catch {
    return null;
  }
}

/** Resident set size of a process in KiB (VmRSS). */
export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) : -1;
}

/**
 * Poll `value` until `ok(v)` or `ms` elapse (every 100 ms); returns the last value. For settling
 * counts (descriptors closing, timers finishing) without asserting on time.
 */
export async function settle<T>(value: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await value();
  while (!ok(v) && Date.now() < deadline) {
    await sleep(100);
    v = await value();
  }
  return v;
}

// ----------------------------------------------------------------------------------- peers

export interface Peer {
  port: number;
  /** connections currently open at the peer */
  open(): number;
  /** connections accepted so far */
  accepted(): number;
}

/**
 * A node:net peer on 127.0.0.1 that counts its connections. `onConn` handles each one; by default
 * a line echo that answers every "x\n" with `reply(x)\n`.
 */
export async function startPeer(onConn?: (c: net.Socket) => void, reply: (line: string) => string = (l) => l): Promise<Peer> {
  let open = 0;
  let accepted = 0;
  const conns = new Set<net.Socket>();
  const handler =
    onConn ??
    ((c: net.Socket) => {
      let buf = '';
      c.setEncoding('latin1');
      c.on('data', (d: string) => {
        buf += d;
        let nl: number;
        let out = '';
        while ((nl = buf.indexOf('\n')) >= 0) {
          out += reply(buf.slice(0, nl)) + '\n';
          buf = buf.slice(nl + 1);
        }
        if (out) c.write(out);
      });
      c.on('end', () => c.end());
    });
  const s = net.createServer((c) => {
    open++;
    accepted++;
    conns.add(c);
    c.on('error', () => {});
    c.on('close', () => {
      open--;
      conns.delete(c);
    });
    handler(c);
  });
  (s as net.Server & { _conns?: Set<net.Socket> })._conns = conns;
  servers.add(s);
  const port = await new Promise<number>((resolve, reject) => {
    s.on('error', reject);
    s.listen(0, '127.0.0.1', 4096, () => resolve((s.address() as net.AddressInfo).port));
  });
  return { port, open: () => open, accepted: () => accepted };
}

// ----------------------------------------------------------------------------------- HTTP

export interface Got {
  status: number;
  body: string;
}

/** One GET on a fresh connection (Connection: close). */
export function get(port: number, urlPath: string, timeoutMs = 60000): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('latin1') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${urlPath} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export interface LoadResult {
  done: number;
  byPath: Record<string, { ok: number; bad: number }>;
  /** the first few unexpected answers or errors, for messages */
  problems: string[];
  ms: number;
}

/**
 * `total` GETs over at most `concurrency` keep-alive connections; request i goes to paths[i % n];
 * `check(path, got)` says whether an answer is right. Never more than `total` requests; each has
 * a timeout; the agent is destroyed at the end so no client connection lingers.
 */
export async function load(
  port: number,
  total: number,
  concurrency: number,
  paths: string[],
  check: (p: string, g: Got) => boolean,
  timeoutMs = 30000,
): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const res: LoadResult = { done: 0, byPath: {}, problems: [], ms: 0 };
  for (const p of paths) res.byPath[p] = { ok: 0, bad: 0 };
  let next = 0;
  const t0 = Date.now();
  const one = (p: string) =>
    new Promise<Got>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (d: Buffer) => chunks.push(d));
        r.on('end', () => resolve({ status: r.statusCode!, body: Buffer.concat(chunks).toString('latin1') }));
        r.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const p = paths[i % paths.length];
      let g: Got | null = null;
      let err = '';
      // a keep-alive connection the server closed between requests gives ECONNRESET: retry once
      for (let attempt = 0; attempt < 2 && !g; attempt++) {
        try {
          g = await one(p);
        } catch (e) {
          err = (e as Error).message;
          if (!/ECONNRESET|socket hang up/.test(err)) break;
        }
      }
      res.done++;
      if (g && check(p, g)) res.byPath[p].ok++;
      else {
        res.byPath[p].bad++;
        if (res.problems.length < 10) res.problems.push(`${p}: ${g ? `${g.status} ${JSON.stringify(g.body.slice(0, 200))}` : err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  res.ms = Date.now() - t0;
  agent.destroy();
  return res;
}

/** The error-log lines at [error] or worse, and Lua errors (first `max`). */
export function logErrors(log: string, max = 20): string[] {
  return log
    .split('\n')
    .filter((l) => /\[(error|crit|alert|emerg)\]|runtime error|thread aborted/.test(l))
    .slice(0, max);
}

/** `k=v k=v` → record of numbers (the report lines our stats locations print). */
export function kv(line: string): Record<string, number> {
  const o: Record<string, number> = {};
  for (const m of line.matchAll(/(\w+)=(-?[\d.]+)/g)) o[m[1]] = Number(m[2]);
  return o;
}

/** A report line in the test output (a node:test diagnostic: the spec reporter prints it). */
export function report(t: { diagnostic(msg: string): void }, msg: string): void {
  t.diagnostic(msg);
}
