// Boots one worker: the Lua VM with the ngx API, init_by_lua, the listeners, init_worker_by_lua.
import { LuaVM, LUA_OK, processNative } from '../lua/vm.js';
import { Runtime } from './runtime.js';
import { LuaContext } from './thread.js';
import { installNgxApi } from '../api/index.js';
import { Pipeline } from '../http/phases.js';
import { HttpServer } from '../http/server.js';
import type { ConnBudget, ConnLimits, ServerOptions } from '../http/types.js';
import type { LocSettings, MainConf, ServerConf } from '../conf/model.js';
import type { ErrorLog } from '../util/errlog.js';
import type { Exposed } from '../api/js.js';

import { VERSION, SERVER_TOKEN } from './version.js';

export { VERSION, SERVER_TOKEN };

/** What an embedding application gives a worker beyond its configuration. */
export interface WorkerOptions {
  jsFunctions?: ReadonlyMap<string, Exposed>;
  /** bind no listening socket: requests come only through handle() (the embedding middleware) */
  noListen?: boolean;
  /** one of a master's workers: its slot, the slot count, and the master's listening sockets
   * (fds by `host:port`) */
  process?: { id: number; count: number; listenFds: ReadonlyMap<string, number> };
  /** a master's run: init_by_lua only (its shared-dict writes), no listening, no init_worker */
  initOnly?: boolean;
}

/** A listening socket and the options object whose onRequest it calls (swapped on reload). */
export interface Listener {
  srv: HttpServer;
  opts: ServerOptions;
}

/** The connection settings of a location, as the HTTP server takes them. */
function connLimits(s: LocSettings): ConnLimits {
  return {
    keepaliveTimeout: s.keepaliveTimeout,
    keepaliveRequests: s.keepaliveRequests,
    keepaliveHeader: s.keepaliveHeader,
    keepaliveTime: s.keepaliveTime,
    sendTimeout: s.sendTimeout,
    clientBodyTimeout: s.clientBodyTimeout,
    lingeringClose: s.lingeringClose,
    lingeringTime: s.lingeringTime,
    lingeringTimeout: s.lingeringTimeout,
    resetTimedoutConnection: s.resetTimedoutConnection,
  };
}

export class Worker {
  /** worker_connections: one count for the process, kept across reloads like the sockets */
  static readonly budget: ConnBudget = { max: 512, used: 0, warnedAt: 0 };
  /** by `host:port` */
  readonly listeners = new Map<string, Listener>();
  private readonly budget = Worker.budget;
  constructor(readonly rt: Runtime) {}

  /**
   * Boot a worker. On reload, `adopt` holds the previous worker's listeners: sockets on the same
   * address are taken over (new connections and requests go to the new configuration), so the
   * server never stops accepting.
   */
  static async start(conf: MainConf, log: ErrorLog, adopt?: Map<string, Listener>, opts: WorkerOptions = {}): Promise<Worker> {
    const vm = await LuaVM.create();
    const rt = new Runtime(vm, conf, log);
    if (opts.jsFunctions) rt.jsFunctions = opts.jsFunctions;
    if (opts.process) {
      rt.workerId = opts.process.id;
      rt.workerCount = opts.process.count;
    }
    installNgxApi(rt);
    const w = new Worker(rt);
    const http = conf.http;
    if (http && (http.luaMaxRunningTime > 0 || http.luaMaxMemory > 0)) {
      if (!vm.setLimits(http.luaMaxRunningTime, http.luaMaxMemory)) throw new InitError('lua_max_running_time: cannot start the watchdog thread');
      // the registry of compiled traces that lets the watchdog stop a hot compiled loop
      rt.runBootChunk('limits.lua', {});
    }
    if (http?.initByLua) {
      // a worker's run of init_by_lua loads its modules into this VM; the master's run made
      // the shared-dict writes, once (docs/processes.md)
      if (opts.process && !opts.initOnly) processNative.shdSuppress(true);
      try {
        if (http.luaYieldEverywhere) await w.runInitThread();
        else w.runInit();
      } finally {
        if (opts.process && !opts.initOnly) processNative.shdSuppress(false);
      }
    }
    if (opts.initOnly) return w;
    rt.runBootChunk('guard.lua', {}, '=_G write guard');
    if (http && !opts.noListen) await w.listen(adopt, opts.process?.listenFds);
    if (http?.initWorkerByLua) {
      const fn = rt.chunk(http.initWorkerByLua, true);
      if (typeof fn !== 'number') {
        // as ngx_lua words it: the run's own prefix, for a chunk that did not even load
        log.log('error', `${http.initWorkerByLua.form === 'file' ? 'init_worker_by_lua_file' : 'init_worker_by_lua'} error: ${fn.error}`);
      } else {
        const ctx = new LuaContext('init_worker', null);
        ctx.onDone = (o) => {
          if (o.kind === 'error') log.log('error', `init_worker_by_lua error: ${o.error}`, { context: "init_worker_by_lua*" });
        };
        rt.sched.spawnEntry(ctx, fn);
      }
    }
    return w;
  }

  /** init_by_lua runs before listening; an error refuses to start, as nginx does. */
  private runInit(): void {
    const { rt } = this;
    const h = rt.http.initByLua!;
    const fn = rt.chunk(h, true);
    if (typeof fn !== 'number') throw initFailed(h, fn.error);
    const vm = rt.vm;
    rt.initCtx = new LuaContext('init', null);
    vm.setTop(vm.L, 0);
    vm.getGlobal(vm.L, 'debug');
    vm.getField(vm.L, -1, 'traceback');
    vm.remove(vm.L, -2);
    vm.pushRef(vm.L, fn);
    const rc = vm.pcall(vm.L, 0, 0, 1);
    rt.initCtx = null;
    if (rc !== LUA_OK) {
      const msg = vm.toStr(vm.L, -1) ?? 'unknown error';
      vm.setTop(vm.L, 0);
      throw initFailed(h, msg);
    }
    vm.setTop(vm.L, 0);
  }

  /**
   * lua_yield_everywhere (our extension): init_by_lua runs as a scheduled thread, so it may
   * sleep, use cosockets and light threads; the server listens once it has finished.
   */
  private runInitThread(): Promise<void> {
    const { rt } = this;
    const h = rt.http.initByLua!;
    const fn = rt.chunk(h, true);
    if (typeof fn !== 'number') throw initFailed(h, fn.error);
    return new Promise((resolve, reject) => {
      const ctx = new LuaContext('init', null);
      ctx.onDone = (o) => {
        if (o.kind === 'error') reject(initFailed(h, o.error ?? 'unknown error'));
        else resolve();
      };
      rt.sched.spawnEntry(ctx, fn);
    });
  }

  private async listen(adopt?: Map<string, Listener>, fds?: ReadonlyMap<string, number>): Promise<void> {
    const { rt } = this;
    this.budget.max = rt.conf.workerConnections;
    const pipeline = new Pipeline(rt);
    const groups = listenGroups(rt.http.servers);
    // adopted sockets switch to this configuration only once every new socket is bound
    const swaps: Array<() => void> = [];
    for (const [key, g] of groups) {
      const first = g.servers[0];
      const servers = g.servers;
      const onRequest = (ex: Parameters<ServerOptions['onRequest']>[0]) => pipeline.handle(ex, servers);
      const old = adopt?.get(key);
      if (old) {
        swaps.push(() => {
          old.opts.onRequest = onRequest;
          adopt!.delete(key);
          this.listeners.set(key, old);
        });
        continue;
      }
      const opts: ServerOptions = {
        onRequest,
        clientHeaderBufferSize: first.clientHeaderBufferSize,
        largeClientHeaderBuffers: first.largeClientHeaderBuffers,
        ...connLimits(first.settings),
        clientHeaderTimeout: first.settings.clientHeaderTimeout,
        budget: this.budget,
        reclaim: () => this.reclaim(),
        // server_tokens off names the product without its version, as nginx does
        // server_tokens off says "nginx", as the reference does: output compared byte for byte
        // with OpenResty's (the upstream suites do) matches
        serverToken: first.settings.serverTokens ? SERVER_TOKEN : 'nginx',
        log: (level, msg, ctx) => rt.log.log(level, msg, ctx),
      };
      const srv = new HttpServer(opts);
      try {
        await srv.listen(g.host, g.port, fds?.get(key), g.sndbuf ?? -1, g.rcvbuf ?? -1);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const code = err.code === 'EADDRINUSE' ? '98: Address already in use' : err.code === 'EACCES' ? '13: Permission denied' : err.message;
        const where = g.host.startsWith('unix:') ? g.host : `${g.host.includes(':') ? `[${g.host}]` : g.host}:${g.port}`;
        throw new InitError(`bind() to ${where} failed (${code})`);
      }
      this.listeners.set(key, { srv, opts });
    }
    for (const swap of swaps) swap();
  }

  private pipeline: Pipeline | null = null;
  private reclaimAt = 0;

  /**
   * A connection closed with a large response it never took, or a burst of requests ended:
   * collect the Lua heap and V8's (whose buffers hold the bytes, and whose young generation
   * grew) now, instead of keeping that memory while the process is idle. At most once a
   * second, and after the socket has released its buffers.
   */
  private reclaim(): void {
    const now = Date.now();
    if (now - this.reclaimAt < 1000) return;
    this.reclaimAt = now;
    setTimeout(() => {
      if (this.rt.exiting) return;
      this.rt.vm.collect(true);
    }, 20).unref();
  }

  /**
   * Serve a request that arrived elsewhere (a host application's node:http server): the
   * servers named `serverName` (or all of the conf's) are matched by Host as on a listener.
   */
  handle(ex: Parameters<ServerOptions['onRequest']>[0], serverName?: string): void {
    const http = this.rt.conf.http;
    if (!http) {
      ex.sendErrorPage(404);
      return;
    }
    this.pipeline ??= new Pipeline(this.rt);
    const servers = serverName ? http.servers.filter((s) => s.serverNames.includes(serverName)) : http.servers;
    if (servers.length === 0) {
      ex.sendErrorPage(404);
      return;
    }
    this.pipeline.handle(ex, servers);
  }

  /** Stop accepting; graceful waits for in-flight requests. */
  async stop(graceful: boolean): Promise<void> {
    this.rt.exiting = true;
    if (graceful) {
      if (this.rt.log.debugOn && this.rt.timers?.pending.size) this.rt.log.log('debug', 'lua abort pending timers');
      this.rt.timers?.expireAll();
    }
    const all = [...this.listeners.values()].map((l) => l.srv);
    if (graceful) await Promise.all(all.map((s) => s.close()));
    else for (const s of all) void s.close();
  }

  /** After a reload: the old configuration's pending timers fire as premature; sockets the new one did not adopt close. */
  retire(leftover: Map<string, Listener>): void {
    this.rt.exiting = true;
    this.rt.timers?.expireAll();
    for (const l of leftover.values()) void l.srv.close();
  }
}

export class InitError extends Error {
  /** nginx logs a failed init_by_lua at error (the start still fails); other start errors at emerg */
  constructor(message: string, readonly level: 'emerg' | 'error' = 'emerg') {
    super(message);
  }
}

/** `init_by_lua error:` / `init_by_lua_file error:`, as ngx_lua names the failure */
function initFailed(h: { form: string }, msg: string): InitError {
  return new InitError(`${h.form === 'file' ? 'init_by_lua_file' : 'init_by_lua'} error: ${msg}`, 'error');
}

/** The listening sockets a conf asks for, by `host:port`, each with its servers (default first). */
export interface ListenGroup {
  host: string;
  port: number;
  reuseport: boolean;
  sndbuf?: number;
  rcvbuf?: number;
  servers: ServerConf[];
}

export function listenGroups(servers: readonly ServerConf[]): Map<string, ListenGroup> {
  const groups = new Map<string, ListenGroup>();
  for (const s of servers) {
    for (const l of s.listens) {
      const key = `${l.host}:${l.port}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { host: l.host, port: l.port, reuseport: false, servers: [] }));
      if (l.reuseport) g.reuseport = true;
      if (l.sndbuf !== undefined) g.sndbuf = l.sndbuf;
      if (l.rcvbuf !== undefined) g.rcvbuf = l.rcvbuf;
      if (l.defaultServer) g.servers.unshift(s);
      else g.servers.push(s);
    }
  }
  return groups;
}
