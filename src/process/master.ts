// The master of `worker_processes N` (N > 1, master_process on): it owns what must outlive a
// worker (the shared-dict zones, the listening sockets, the pid file), starts N worker
// processes, replaces one that dies, and turns nginx's signals into worker generations:
// HUP starts a new generation on the new conf and retires the old one once the new one
// listens; QUIT retires every worker and exits; TERM/INT stop them at once.
//
// Node cannot fork a running process, so a worker is a fresh `node` running this same command
// line with NGXLUA_WORKER set; the zones and sockets reach it as inherited fds (stdio slots).
// See docs/processes.md for init_by_lua, which runs here for its shared-dict writes and again
// in each worker for its Lua state.
import { spawn, type ChildProcess } from 'node:child_process';
import { getSystemErrorName } from 'node:util';
import { closeSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import type { MainConf } from '../conf/model.js';
import type { ErrorLog } from '../util/errlog.js';
import { processNative } from '../lua/vm.js';
import { openZones } from '../api/shdict.js';
import { sysError } from '../api/socket/errors.js';
import { listenGroups, Worker, InitError } from '../core/worker.js';
import { VERSION } from '../core/version.js';
import { serveExecArgv } from './v8flags.js';

/** What a worker process gets from its master, as JSON in NGXLUA_WORKER. */
export interface WorkerSpec {
  id: number;
  count: number;
  /** fd numbers in the worker, by `host:port` and by zone name */
  listen: Record<string, number>;
  zones: Record<string, number>;
}

interface Child {
  proc: ChildProcess;
  slot: number;
  gen: number;
  ready: boolean;
  /** told to quit (reload, stop): its exit is expected */
  retiring: boolean;
}

/** A listening socket of the master: one fd, or one per worker slot with reuseport. */
interface Sock {
  host: string;
  port: number;
  reuseport: boolean;
  fds: number[];
}

function where(host: string, port: number): string {
  if (host.startsWith('unix:')) return host;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export class Master {
  private gen = 0;
  private readonly children = new Set<Child>();
  private sockets = new Map<string, Sock>();
  private zoneFds = new Map<string, number>();
  private stopping = false;
  private reloading = false;
  private reloadAgain = false;
  /** the master's own VM: init_by_lua's run for the current conf */
  private initWorker: Worker | null = null;

  constructor(
    private conf: MainConf,
    private readonly log: ErrorLog,
    private readonly load: () => MainConf,
    private readonly onExit: (code: number) => never,
  ) {}

  /** Zones, init_by_lua, sockets, then the first generation; resolves once every worker listens. */
  async start(): Promise<void> {
    await this.prepare(this.conf);
    try {
      writeFileSync(this.conf.pid, `${process.pid}\n`);
    } catch (e) {
      throw new InitError(`open() "${this.conf.pid}" failed (${(e as Error).message})`);
    }
    this.log.log('notice', `ngxlua/${VERSION}`);
    this.log.log('notice', 'start worker processes');
    await this.startGeneration();
    process.on('SIGHUP', () => void this.reload());
    process.on('SIGQUIT', () => this.stop(true));
    process.on('SIGTERM', () => this.stop(false));
    process.on('SIGINT', () => this.stop(false));
    process.on('SIGUSR1', () => {
      this.log.log('notice', 'signal 10 (SIGUSR1) received, reopening logs');
      this.log.reopen();
      for (const c of this.children) c.proc.kill('SIGUSR1');
    });
  }

  /** The parts of a conf the master owns: zones (kept by name and size), init_by_lua, sockets. */
  private async prepare(conf: MainConf): Promise<void> {
    const zones = openZones(conf.http?.sharedDicts ?? new Map());
    const init = conf.http?.initByLua ? await Worker.start(conf, this.log, undefined, { initOnly: true, process: { id: 0, count: conf.workerProcesses, listenFds: new Map() } }) : null;
    const sockets = this.openSockets(conf);
    if (this.initWorker) this.initWorker.rt.vm.close();
    this.initWorker = init;
    this.zoneFds = zones;
    for (const [key, s] of this.sockets) if (sockets.get(key) !== s) for (const fd of s.fds) closeSync(fd);
    this.sockets = sockets;
  }

  /** The conf's listening sockets: the current ones where address and kind agree, else new. */
  private openSockets(conf: MainConf): Map<string, Sock> {
    const out = new Map<string, Sock>();
    const made: number[] = [];
    const n = conf.workerProcesses;
    try {
      for (const [key, g] of listenGroups(conf.http?.servers ?? [])) {
        const old = this.sockets.get(key);
        if (old && old.reuseport === g.reuseport && (!g.reuseport || old.fds.length === n)) {
          out.set(key, old);
          continue;
        }
        const fds: number[] = [];
        for (let i = 0; i < (g.reuseport ? n : 1); i++) {
          const fd = processNative.listenSocket(g.host, g.port, -1, g.reuseport);
          if (fd < 0) {
            const e = sysError({ errno: fd, code: getSystemErrorName(fd) });
            throw new InitError(`bind() to ${where(g.host, g.port)} failed (${e.errno}: ${e.text})`);
          }
          fds.push(fd);
          made.push(fd);
        }
        out.set(key, { host: g.host, port: g.port, reuseport: g.reuseport, fds });
      }
    } catch (e) {
      for (const fd of made) closeSync(fd);
      throw e;
    }
    return out;
  }

  /** Start one worker per slot on the current conf; resolves when each listens (or died). */
  private startGeneration(): Promise<void> {
    const gen = ++this.gen;
    const waits: Array<Promise<void>> = [];
    for (let slot = 0; slot < this.conf.workerProcesses; slot++) waits.push(this.spawnWorker(slot, gen));
    return Promise.all(waits).then(() => undefined);
  }

  private spawnWorker(slot: number, gen: number): Promise<void> {
    const stdio: Array<'ignore' | 'inherit' | 'ipc' | number> = ['ignore', 'ignore', 'inherit', 'ipc'];
    const spec: WorkerSpec = { id: slot, count: this.conf.workerProcesses, listen: {}, zones: {} };
    for (const [key, s] of this.sockets) {
      spec.listen[key] = stdio.length;
      stdio.push(s.fds[s.reuseport ? slot : 0]);
    }
    for (const [name, fd] of this.zoneFds) {
      spec.zones[name] = stdio.length;
      stdio.push(fd);
    }
    const proc = spawn(process.execPath, [...serveExecArgv(process.execArgv), ...process.argv.slice(1)], {
      stdio,
      env: { ...process.env, NGXLUA_WORKER: JSON.stringify(spec), NGXLUA_DAEMON_CHILD: '' },
    });
    const child: Child = { proc, slot, gen, ready: false, retiring: false };
    this.children.add(child);
    this.log.log('notice', `start worker process ${proc.pid}`);
    return new Promise((resolve) => {
      // a worker that never says it listens must not hold a reload (or the start) forever
      const slow = setTimeout(() => {
        this.log.log('alert', `worker process ${proc.pid} did not start serving in 60 s`);
        resolve();
      }, 60000);
      slow.unref();
      proc.on('message', (m: { t?: string }) => {
        if (m?.t !== 'ready' || child.ready) return;
        child.ready = true;
        clearTimeout(slow);
        resolve();
      });
      proc.on('error', (e) => this.log.log('alert', `worker process could not be started: ${e.message}`));
      proc.on('exit', (code, signal) => {
        this.children.delete(child);
        clearTimeout(slow);
        resolve();
        this.exited(child, code, signal);
      });
    });
  }

  private exited(c: Child, code: number | null, signal: NodeJS.Signals | null): void {
    const pid = c.proc.pid;
    this.log.log('notice', `signal 17 (SIGCHLD) received from ${pid}`);
    if (signal) this.log.log('alert', `worker process ${pid} exited on signal ${signalNumber(signal)}`);
    else this.log.log('notice', `worker process ${pid} exited with code ${code}`);
    if (this.stopping) {
      if (this.children.size === 0) this.finish();
      return;
    }
    if (c.retiring || c.gen !== this.gen) return;
    if (code === 2) {
      this.log.log('alert', `worker process ${pid} exited with fatal code 2 and cannot be respawned`);
      return;
    }
    if (!c.ready) {
      // it never listened: starting it again would fail the same way, in a loop
      this.log.log('alert', `worker process ${pid} exited before it started serving, not respawned`);
      return;
    }
    void this.spawnWorker(c.slot, c.gen);
  }

  private async reload(): Promise<void> {
    if (this.stopping) return;
    if (this.reloading) {
      // as nginx's master does, a HUP that arrives during a reload is acted on after it
      this.reloadAgain = true;
      return;
    }
    this.reloading = true;
    this.log.log('notice', 'signal 1 (SIGHUP) received, reconfiguring');
    try {
      let next: MainConf;
      try {
        next = this.load();
      } catch (e) {
        this.log.log('emerg', (e as Error).message.replace(/^ngxlua: \[emerg\] /, ''));
        return;
      }
      try {
        await this.prepare(next);
      } catch (e) {
        this.log.log('emerg', (e as Error).message);
        return;
      }
      this.log.log('notice', 'reconfiguring');
      const old = [...this.children];
      this.conf = next;
      try {
        writeFileSync(next.pid, `${process.pid}\n`);
      } catch {
        /* the old pid file stays */
      }
      this.log.log('notice', 'start worker processes');
      await this.startGeneration();
      // the old generation stops accepting only now that the new one accepts: the shared
      // sockets' queues are never without a reader
      for (const c of old) this.retire(c, 'SIGQUIT');
    } finally {
      this.reloading = false;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload();
      }
    }
  }

  private retire(c: Child, sig: NodeJS.Signals): void {
    c.retiring = true;
    try {
      c.proc.kill(sig);
    } catch {
      /* already gone */
    }
  }

  private stop(graceful: boolean): void {
    if (this.stopping) {
      if (!graceful) for (const c of this.children) this.retire(c, 'SIGTERM');
      return;
    }
    this.stopping = true;
    this.log.log('notice', graceful ? 'signal 3 (SIGQUIT) received, shutting down' : 'signal 15 (SIGTERM) received, exiting');
    if (this.children.size === 0) return this.finish();
    for (const c of this.children) this.retire(c, graceful ? 'SIGQUIT' : 'SIGTERM');
    if (!graceful) {
      // a worker that does not go within a second is killed, as nginx's master escalates
      setTimeout(() => {
        for (const c of this.children) c.proc.kill('SIGKILL');
      }, 1000).unref();
    }
  }

  private finish(): never {
    const pidFile = this.conf.pid;
    try {
      if (existsSync(pidFile) && readFileSync(pidFile, 'latin1').trim() === String(process.pid)) unlinkSync(pidFile);
    } catch {
      /* already gone */
    }
    for (const s of this.sockets.values()) {
      if (s.host.startsWith('unix:')) {
        try {
          unlinkSync(s.host.slice(5));
        } catch {
          /* gone */
        }
      }
    }
    this.log.log('notice', 'exit');
    this.log.flushSync();
    return this.onExit(0);
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

function signalNumber(sig: NodeJS.Signals): number | string {
  return SIGNALS[sig] ?? sig;
}
