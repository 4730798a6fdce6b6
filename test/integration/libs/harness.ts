// Harness for the library integration tests (issue 3): Debian's lua-nginx-* packages, used as
// shipped from /usr/share/lua/5.1, in handlers of our server, against real redis-server,
// memcached and dnsmasq processes started on 127.0.0.1 by the tests themselves.
//
// Run: npx tsc -p tsconfig.json && node --test dist/test/integration/libs/   (npm test includes them)
// LIBS_ENGINE=ref runs the very same confs on the reference (Debian's nginx with
// libnginx-mod-http-lua) instead of ngxlua: that is how the expectations were checked.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import dgram from 'node:dgram';
import path from 'node:path';
import { BIN, ROOT, canConnect, request, waitFor, type Resp } from '../helpers.js';

export { request, waitFor, type Resp };

export const ENGINE: 'ours' | 'ref' = process.env.LIBS_ENGINE === 'ref' ? 'ref' : 'ours';
export const LUA_DIR = '/usr/share/lua/5.1';

/** The Debian package that installs each module, and the file that proves it is there. */
export const PACKAGES = {
  redis: { pkg: 'lua-nginx-redis', file: `${LUA_DIR}/nginx/redis.lua` },
  memcached: { pkg: 'lua-nginx-memcached', file: `${LUA_DIR}/nginx/memcached.lua` },
  dns: { pkg: 'lua-nginx-dns', file: `${LUA_DIR}/nginx/dns/resolver.lua` },
  websocket: { pkg: 'lua-nginx-websocket', file: `${LUA_DIR}/nginx/websocket/server.lua` },
  connector: { pkg: 'lua-nginx-redis-connector', file: `${LUA_DIR}/nginx/redis/connector.lua` },
  cjson: { pkg: 'lua-cjson', file: '/usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so' },
  lrucache: { pkg: 'lua-resty-lrucache', file: `${LUA_DIR}/resty/lrucache/pureffi.lua` },
  string: { pkg: 'lua-nginx-string', file: `${LUA_DIR}/nginx/sha256.lua` },
  cookie: { pkg: 'lua-nginx-cookie', file: `${LUA_DIR}/nginx/cookie.lua` },
} as const;

const REF_MODULES = ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'];

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * Why a test file cannot run here (a missing package, server binary or reference), or false.
 * Used as node:test's `skip` so a machine without them says so instead of failing.
 */
export function missing(lib: keyof typeof PACKAGES, binaries: string[] = []): string | false {
  const p = PACKAGES[lib];
  if (!existsSync(p.file)) return `${p.pkg} is not installed (node scripts/test-deps.mjs as root installs it)`;
  for (const b of binaries) if (!which(b)) return `${b} is not installed (node scripts/test-deps.mjs as root installs it)`;
  if (ENGINE === 'ref' && !REF_MODULES.every((m) => existsSync(m))) return 'the reference nginx + libnginx-mod-http-lua is not installed';
  return false;
}

// ------------------------------------------------------------------------------- bookkeeping

const procs = new Set<ChildProcess>();
const dirs: string[] = [];

/** Kill every process this harness started and remove its temporary directories: call from after(). */
export async function cleanupAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      waits.push(new Promise((r) => p.once('exit', r)));
      p.kill('SIGKILL');
    }
  }
  procs.clear();
  await Promise.all(waits);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function tempDir(tag: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `ngxlua-libs-${tag}-`));
  dirs.push(d);
  return d;
}

/** A port free on 127.0.0.1 for both TCP and UDP a moment ago (dnsmasq binds both). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.unref();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free TCP+UDP port on 127.0.0.1');
}

interface Proc {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function startProc(cmd: string, args: string[], cwd?: string): Proc {
  const proc = spawn(cmd, args, { cwd: cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(proc);
  let out = '';
  proc.stdout!.setEncoding('latin1');
  proc.stderr!.setEncoding('latin1');
  proc.stdout!.on('data', (d: string) => (out += d));
  proc.stderr!.on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.on('error', (e) => (out += `spawn error: ${e.message}\n`));
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      procs.delete(proc);
    },
  };
}

async function waitListening(p: Proc, port: number, what: string): Promise<void> {
  await waitFor(async () => {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`${what} exited before listening:\n${p.output()}`);
    return canConnect(port);
  }, `${what} to listen on ${port}`);
}

// ------------------------------------------------------------------------------- the peers

export interface Peer extends Proc {
  port: number;
}

export async function startRedis(): Promise<Peer> {
  const port = await freePort();
  const dir = tempDir('redis');
  const p = startProc(which('redis-server') ?? 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--protected-mode', 'no', '--daemonize', 'no', '--logfile', '',
  ], dir);
  await waitListening(p, port, 'redis-server');
  return { ...p, port };
}

export async function startMemcached(): Promise<Peer> {
  const port = await freePort();
  const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0'];
  // memcached refuses to run as root without naming the user to run as
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('-u', 'root');
  const p = startProc(which('memcached') ?? 'memcached', args);
  await waitListening(p, port, 'memcached');
  return { ...p, port };
}

/** dnsmasq answering only from its command line (no upstream, no /etc/hosts, no conf file). */
export async function startDnsmasq(records: string[]): Promise<Peer> {
  const port = await freePort();
  const p = startProc(which('dnsmasq') ?? 'dnsmasq', [
    '--no-daemon', '--conf-file=/dev/null', '--pid-file=', `--port=${port}`, '--listen-address=127.0.0.1',
    '--bind-interfaces', '--no-resolv', '--no-hosts', '--log-facility=-', ...records,
  ]);
  await waitListening(p, port, 'dnsmasq');
  return { ...p, port };
}

// ------------------------------------------------------------------------------- the engine

export interface Engine {
  port: number;
  prefix: string;
  /** logs/error.log so far */
  errorLog(): string;
  /** stderr of the process so far */
  output(): string;
  /** GET (or the given method) on this server; body as latin1 text */
  get(urlPath: string, opts?: Parameters<typeof request>[2]): Promise<{ status: number; text: string; resp: Resp }>;
  stop(): Promise<void>;
}

/**
 * Start ngxlua (or, with LIBS_ENGINE=ref, the reference nginx) on a fresh prefix with one server
 * on a free port whose body is `server`; `{{PORT}}` in it becomes that port. `files` land in the
 * prefix (e.g. lua/x.lua; `${prefix}/lua/?.lua` is on the package path).
 */
export async function startEngine(server: string, opts: { http?: string; files?: Record<string, string> } = {}): Promise<Engine> {
  const port = await freePort();
  const prefix = tempDir(`${ENGINE}-prefix`);
  for (const d of ['conf', 'logs', 'lua', 'tmp']) mkdirSync(path.join(prefix, d));
  writeFileSync(path.join(prefix, 'lua/t.lua'), T_LUA);
  for (const [f, body] of Object.entries(opts.files ?? {})) {
    mkdirSync(path.dirname(path.join(prefix, f)), { recursive: true });
    writeFileSync(path.join(prefix, f), body);
  }
  const conf = `${ENGINE === 'ref' ? REF_MODULES.map((m) => `load_module ${m};`).join('\n') : ''}
daemon off;
master_process off;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/plain;
    lua_package_path "${LUA_DIR}/?.lua;${prefix}/lua/?.lua;;";
${(opts.http ?? '').replaceAll('{{PORT}}', String(port))}
    server {
        listen 127.0.0.1:${port};
        server_name localhost;
${server.replaceAll('{{PORT}}', String(port))}
    }
}
`;
  writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf);
  const [cmd, args] =
    ENGINE === 'ref'
      ? ['/usr/sbin/nginx', ['-p', prefix + '/', '-c', 'conf/nginx.conf', '-e', 'logs/error.log']]
      : [process.execPath, [BIN, '-p', prefix, '-c', 'conf/nginx.conf']];
  const p = startProc(cmd, args as string[]);
  const errorLog = () => (existsSync(path.join(prefix, 'logs/error.log')) ? readFileSync(path.join(prefix, 'logs/error.log'), 'latin1') : '');
  await waitListening(p, port, ENGINE === 'ref' ? 'nginx' : 'ngxlua').catch((e: Error) => {
    throw new Error(`${e.message}\nerror.log:\n${errorLog()}`);
  });
  return {
    port,
    prefix,
    errorLog,
    output: p.output,
    get: async (urlPath, ropts) => {
      const resp = await request(port, urlPath, ropts);
      return { status: resp.status, text: resp.body.toString('latin1'), resp };
    },
    stop: p.stop,
  };
}

/**
 * The error-log lines at [error] or worse (and Lua errors) written since `from` (a length of the
 * log), to put in assertion messages: what the implementers need to see when a test fails.
 */
export function logErrors(e: Engine, from = 0): string {
  return e
    .errorLog()
    .slice(from)
    .split('\n')
    .filter((l) => /\[(error|crit|alert|emerg)\]|runtime error|lua entry thread aborted/.test(l))
    .join('\n');
}

/** GET a location and expect 200; on anything else the message carries the body and the log's errors. */
export async function expectOk(e: Engine, urlPath: string, opts?: Parameters<typeof request>[2]): Promise<string> {
  const mark = e.errorLog().length;
  const r = await e.get(urlPath, opts);
  if (r.status !== 200) {
    const body = /^<html>/.test(r.text) ? '(the server\'s error page)' : r.text;
    throw new Error(`GET ${urlPath}: status ${r.status}\n--- body\n${body}\n--- error.log\n${logErrors(e, mark)}`);
  }
  return r.text;
}

/**
 * t.lua (next to this file's source), put in every prefix as lua/t.lua: `T.out(k, v...)` prints a
 * `k: <dump of values>` line; `T.dump` serializes any value the same way on every run
 * (tables with sorted keys, strings quoted with \ddd escapes, long strings as length + md5).
 */
export const T_LUA = readFileSync(path.join(ROOT, 'test/integration/libs/t.lua'), 'latin1');

/** Parse the `k: values` lines T.out printed into a map (the last line for a key wins). */
export function lines(text: string): Record<string, string> {
  const m: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const i = l.indexOf(': ');
    if (i > 0) m[l.slice(0, i)] = l.slice(i + 2);
  }
  return m;
}
