// The worker's Lua runtime: one VM, its scheduler, the compiled-chunk cache, the error log and
// the context checks every API performs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { LuaVM, LUA_OK, type JsLuaFn } from '../lua/vm.js';
import { Scheduler, type CtxKind, type LuaContext } from './thread.js';
import type { RequestCtx } from './request.js';
import type { HttpConf, LuaHandler, MainConf } from '../conf/model.js';
import { ErrorLog } from '../util/errlog.js';
import type { CaptureResult } from '../http/subrequest.js';
import type { Exposed } from '../api/js.js';

/** What ngx.location.capture asks for. */
export interface SubrequestSpec {
  method: string;
  uri: string;
  args: string;
  body: Buffer | null;
  vars: Array<[string, string]> | null;
  copyAllVars: boolean;
  shareAllVars: boolean;
  /** registry ref of the ctx option's table, 0 for a fresh ngx.ctx */
  ctxRef: number;
}

export const LUA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../lua');

/** Contexts as bit flags, for the API context checks. */
export const enum Ctx {
  INIT = 1 << 0,
  INIT_WORKER = 1 << 1,
  SET = 1 << 2,
  REWRITE = 1 << 3,
  ACCESS = 1 << 4,
  CONTENT = 1 << 5,
  HEADER_FILTER = 1 << 6,
  BODY_FILTER = 1 << 7,
  LOG = 1 << 8,
  TIMER = 1 << 9,
  BALANCER = 1 << 10,
}
export const CTX_YIELDABLE = Ctx.REWRITE | Ctx.ACCESS | Ctx.CONTENT | Ctx.TIMER;
/** our extension `lua_yield_everywhere on` makes these yieldable too */
const CTX_YIELD_EVERYWHERE = Ctx.LOG | Ctx.INIT | Ctx.INIT_WORKER | Ctx.HEADER_FILTER | Ctx.BODY_FILTER;
export const CTX_OUTPUT = Ctx.REWRITE | Ctx.ACCESS | Ctx.CONTENT;
export const CTX_REQ = Ctx.SET | Ctx.REWRITE | Ctx.ACCESS | Ctx.CONTENT | Ctx.HEADER_FILTER | Ctx.BODY_FILTER | Ctx.LOG | Ctx.BALANCER;

const CTX_BITS: Record<CtxKind, number> = {
  init: Ctx.INIT,
  init_worker: Ctx.INIT_WORKER,
  set: Ctx.SET,
  rewrite: Ctx.REWRITE,
  access: Ctx.ACCESS,
  content: Ctx.CONTENT,
  header_filter: Ctx.HEADER_FILTER,
  body_filter: Ctx.BODY_FILTER,
  log: Ctx.LOG,
  timer: Ctx.TIMER,
  balancer: Ctx.BALANCER,
  // the server rewrite phase allows what the rewrite phase does
  server_rewrite: Ctx.REWRITE,
};

export const CTX_NAMES: Record<CtxKind, string> = {
  init: 'init_by_lua*',
  init_worker: 'init_worker_by_lua*',
  set: 'set_by_lua*',
  rewrite: 'rewrite_by_lua*',
  access: 'access_by_lua*',
  content: 'content_by_lua*',
  header_filter: 'header_filter_by_lua*',
  body_filter: 'body_filter_by_lua*',
  log: 'log_by_lua*',
  timer: 'ngx.timer',
  balancer: 'balancer_by_lua*',
  server_rewrite: 'server_rewrite_by_lua*',
};

export type ApiRegistrar = (rt: Runtime) => Record<string, JsLuaFn>;

export class Runtime {
  readonly sched: Scheduler;
  /** cacheKey -> registry ref of the compiled chunk */
  private readonly chunks = new Map<string, number>();
  /** the context of code running outside any scheduler thread (init_by_lua) */
  initCtx: LuaContext | null = null;
  readonly startedAt = Date.now();
  exiting = false;
  /** ngx.worker.id() and count(): a master's worker slot, or 0 of 1 in a single process */
  workerId = 0;
  workerCount = 1;
  /** modules require() loaded from files: dropped per request when lua_code_cache is off */
  readonly fileModules = new Set<string>();
  /** issues a subrequest (set by the HTTP pipeline) */
  subrequest: ((parent: RequestCtx, spec: SubrequestSpec, done: (res: CaptureResult) => void) => void) | null = null;
  /** the host application's functions that Lua may call (ngxlua.js; the embedding API sets them) */
  jsFunctions: ReadonlyMap<string, Exposed> = new Map();
  /** set by the timer API */
  timers: { expireAll(): void; pending: Set<unknown>; running: number } | null = null;

  constructor(
    readonly vm: LuaVM,
    readonly conf: MainConf,
    readonly log: ErrorLog,
  ) {
    this.sched = new Scheduler(vm);
    vm.onInternalError = (e) => this.log.log('alert', `ngxlua internal error: ${(e as Error)?.stack ?? e}`);
    // in Lua code a finalizer's error is raised in the running thread, as on the reference; this
    // is one that ran in a GC step during an allocation made by the API's JS side
    vm.onFinalizerError = (msg) => this.logCtx('error', `lua finalizer aborted: runtime error: ${msg}`, this.current());
  }

  /** the contexts where yielding APIs work (wider with lua_yield_everywhere) */
  get yieldMask(): number {
    return this.conf.http?.luaYieldEverywhere ? CTX_YIELDABLE | CTX_YIELD_EVERYWHERE : CTX_YIELDABLE;
  }

  /** whether a context of this kind may run yielding APIs */
  yieldableIn(kind: CtxKind): boolean {
    return (CTX_BITS[kind] & this.yieldMask) !== 0;
  }

  get http(): HttpConf {
    return this.conf.http!;
  }

  /** The running Lua context (request phase, timer or init). */
  current(): LuaContext | null {
    return this.sched.current?.ctx ?? this.initCtx;
  }

  /**
   * The running context's kind, after checking it is one of `mask`; raises the ngx_lua error
   * otherwise. Returns the context.
   */
  check(L: number, mask: number): LuaContext {
    if (mask === CTX_YIELDABLE) mask = this.yieldMask;
    const ctx = this.current();
    // init_by_lua has no (fake) request at all: request-bound APIs say so
    if (ctx && ctx.kind === 'init' && !(mask & Ctx.INIT)) this.vm.error(L, 'no request found');
    if (!ctx) {
      this.vm.error(L, 'no request object found');
      throw new Error('unreachable');
    }
    if (!(CTX_BITS[ctx.kind] & mask)) {
      this.vm.error(L, `API disabled in the context of ${CTX_NAMES[ctx.kind]}`);
    }
    return ctx;
  }

  /** Like check(), and the context must serve a request. */
  req(L: number, mask: number): RequestCtx {
    const ctx = this.current();
    if (!ctx || !ctx.req) {
      if (ctx && ctx.kind !== 'init' && !(CTX_BITS[ctx.kind] & mask)) {
        this.vm.error(L, `API disabled in the context of ${CTX_NAMES[ctx.kind]}`);
      }
      this.vm.error(L, 'no request object found');
      throw new Error('unreachable');
    }
    if (!(CTX_BITS[ctx.kind] & mask)) {
      this.vm.error(L, `API disabled in the context of ${CTX_NAMES[ctx.kind]}`);
    }
    return ctx.req;
  }

  /**
   * Run fn when the running context's owner ends: the request (all its phases), or the timer /
   * init_worker handler. Cosockets close themselves this way.
   */
  addCleanup(ctx: LuaContext, fn: () => void): void {
    if (ctx.req) (ctx.req.cleanups ??= []).push(fn);
    else (ctx.cleanups ??= []).push(fn);
  }

  /**
   * req() for the APIs lua-resty-core implements over FFI (ngx.var, ngx.header, ngx.status,
   * ngx.req.get_headers, ...): without a request they say "API disabled in the current context".
   */
  reqFfi(L: number, mask: number): RequestCtx {
    const ctx = this.current();
    if (ctx && !ctx.req && ctx.kind !== 'init') this.vm.error(L, 'API disabled in the current context');
    return this.req(L, mask);
  }

  /** Log for a context: its request's suffix, or a timer's `context: ngx.timer, client, server`. */
  logCtx(level: Parameters<ErrorLog['log']>[0], msg: string, ctx: LuaContext | null): void {
    if (ctx?.req) return this.log.log(level, msg, ctx.req.logContext());
    if (ctx?.kind === 'timer') return this.log.log(level, msg, { connection: ctx.connNumber || undefined, context: 'ngx.timer', client: ctx.origin?.client, server: ctx.origin?.server });
    if (ctx?.kind === 'init_worker') return this.log.log(level, msg, { context: 'init_worker_by_lua*' });
    this.log.log(level, msg);
  }

  /** Log with the running request's context suffix. */
  logReq(level: Parameters<ErrorLog['log']>[0], msg: string, r: RequestCtx | null): void {
    this.log.log(level, msg, r ? r.logContext() : undefined);
  }

  // ---- chunks --------------------------------------------------------------------------

  /**
   * The compiled function for a handler as a registry ref, or an error message. Inline code
   * is compiled once when lua_code_cache is on; file code is read and compiled per use when off.
   */
  chunk(h: LuaHandler, codeCache: boolean, filePath?: string): number | { error: string } {
    const key = filePath ? `${h.cacheKey}\0${filePath}` : h.cacheKey;
    if (codeCache) {
      const ref = this.chunks.get(key);
      if (ref !== undefined) return ref;
    }
    let code: Buffer;
    let name = h.chunkName;
    if (h.form === 'file') {
      const p = filePath ?? this.resolvePath(h.path!);
      try {
        code = readFileSync(p);
      } catch (e) {
        return { error: `cannot open ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}` };
      }
      name = '@' + p;
    } else {
      // the conf parser decodes files as UTF-8; give Lua the file's own bytes back
      code = Buffer.from(h.code ?? '', 'utf8');
    }
    const { vm } = this;
    const L = vm.L;
    if (vm.load(L, code, name) !== LUA_OK) {
      const msg = vm.toStr(L, -1) ?? 'unknown error';
      vm.pop(L);
      return { error: msg };
    }
    const ref = vm.ref(L);
    if (codeCache) this.chunks.set(key, ref);
    else setImmediate(() => vm.unref(ref));
    return ref;
  }

  /** lua_code_cache off: the next require() of a file module reads it again. */
  forgetFileModules(): void {
    if (this.fileModules.size === 0) return;
    const { vm } = this;
    const L = vm.L;
    vm.getGlobal(L, 'package');
    vm.getField(L, -1, 'loaded');
    for (const name of this.fileModules) {
      vm.pushNil(L);
      vm.setField(L, -2, name);
    }
    vm.pop(L, 2);
    this.fileModules.clear();
  }

  resolvePath(p: string): string {
    return path.isAbsolute(p) ? p : path.join(this.conf.prefix, p);
  }

  /** Run a Lua file from lua/ with the primitives table as its argument (during start-up). */
  runBootChunk(file: string, prims: Record<string, JsLuaFn>, chunkName = '=' + file.replace(/\.lua$/, '')): void {
    const { vm } = this;
    const L = vm.L;
    const code = readFileSync(path.join(LUA_DIR, file));
    if (vm.load(L, code, chunkName) !== LUA_OK) {
      throw new Error(`ngxlua: cannot load ${file}: ${vm.toStr(L, -1)}`);
    }
    vm.createTable(L, 0, 64);
    vm.setFuncs(L, -1, prims);
    if (vm.pcall(L, 1, 0, 0) !== LUA_OK) {
      throw new Error(`ngxlua: cannot run ${file}: ${vm.toStr(L, -1)}`);
    }
  }
}
