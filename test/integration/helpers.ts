// Shared helpers for tests that drive bin/ngxlua.js as a child process: temporary prefixes,
// free ports, bounded waits, HTTP requests, and bookkeeping so every child is killed in after().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/test/integration/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(ROOT, 'bin/ngxlua.js');

const children = new Set<ChildProcess>();
const daemonPids = new Set<number>();
const prefixes: string[] = [];

/** Kill every child (and recorded daemon) still alive and remove temporary prefixes: call from after(). */
export async function cleanup(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      waits.push(new Promise((r) => c.once('exit', r)));
      c.kill('SIGKILL');
    }
  }
  children.clear();
  for (const pid of daemonPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  daemonPids.clear();
  await Promise.all(waits);
  for (const p of prefixes.splice(0)) rmSync(p, { recursive: true, force: true });
}

/** Remember a daemon's pid so cleanup() kills it if a test did not stop it. */
export function trackPid(pid: number): void {
  daemonPids.add(pid);
}

export function untrackPid(pid: number): void {
  daemonPids.delete(pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Run `node bin/ngxlua.js args...` to completion (killed after timeoutMs). */
export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    children.add(child);
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.setEncoding('latin1');
    child.stderr!.on('data', (d: string) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      children.delete(child);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** `ngxlua run -e code` (or other `run` arguments): stdout as text. */
export async function runLua(code: string): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runCli(['run', '-e', code]);
  return { code: r.code, out: r.stdout.toString('latin1'), err: r.stderr };
}

/** A port that was free a moment ago on 127.0.0.1. */
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

/** A temporary prefix with conf/nginx.conf, logs/ and the given extra files (paths relative to it). */
export function makePrefix(conf: string, files: Record<string, string | Buffer> = {}): string {
  const p = mkdtempSync(path.join(tmpdir(), 'ngxlua-it-'));
  prefixes.push(p);
  mkdirSync(path.join(p, 'conf'));
  mkdirSync(path.join(p, 'logs'));
  writeFileSync(path.join(p, 'conf/nginx.conf'), conf);
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(p, f)), { recursive: true });
    writeFileSync(path.join(p, f), body);
  }
  return p;
}

export function readText(file: string): string {
  return existsSync(file) ? readFileSync(file, 'latin1') : '';
}

/** Poll `check` every 20 ms, at most `tries` times; resolves with its first truthy value. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, tries = 250): Promise<NonNullable<T>> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Server {
  proc: ChildProcess;
  port: number;
  prefix: string;
  /** stderr collected so far */
  stderr(): string;
  errorLog(): string;
  /** SIGTERM (or the given signal) and wait for the exit */
  stop(sig?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `ngxlua -p prefix -c conf/nginx.conf` in the foreground (the conf must say `daemon off;`
 * or extraArgs must pass -g) and wait until the port accepts connections.
 */
export async function startServer(prefix: string, port: number, extraArgs: string[] = []): Promise<Server> {
  const proc = spawn(process.execPath, [BIN, '-p', prefix, '-c', 'conf/nginx.conf', ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let err = '';
  proc.stderr!.setEncoding('latin1');
  proc.stderr!.on('data', (d: string) => (err += d));
  proc.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      r({ code, signal });
    }),
  );
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(async () => {
    if (dead) throw new Error(`ngxlua exited before listening: ${err}`);
    return canConnect(port);
  }, `ngxlua to listen on ${port}`);
  return {
    proc,
    port,
    prefix,
    stderr: () => err,
    errorLog: () => readText(path.join(prefix, 'logs/error.log')),
    stop: async (sig: NodeJS.Signals = 'SIGTERM') => {
      if (!dead) proc.kill(sig);
      return exited;
    },
  };
}

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP/1.1 request on a fresh connection (no agent); rejects after timeoutMs. */
export function request(
  port: number,
  urlPath: string,
  opts: { method?: string; body?: Buffer | string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
        headers: { connection: 'close', ...(opts.headers ?? {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 15000, () => req.destroy(new Error(`request ${urlPath} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
