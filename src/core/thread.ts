// The coroutine scheduler: every piece of Lua runs in a LuaThread; an API that cannot finish at
// once records a pending operation and yields; the operation later calls resume() with the
// values the Lua call returns (the seed's resume helper).
import { LuaVM, LUA_OK, LUA_YIELD } from '../lua/vm.js';
import type { RequestCtx } from './request.js';

export type CtxKind =
  | 'init'
  | 'init_worker'
  | 'set'
  | 'rewrite'
  | 'access'
  | 'content'
  | 'header_filter'
  | 'body_filter'
  | 'log'
  | 'timer';

export type ThreadStatus = 'running' | 'suspended' | 'normal' | 'dead' | 'zombie';

/** Pushes the values an operation returns onto the coroutine's stack; returns how many. */
export type RetvalPusher = (vm: LuaVM, co: number) => number;

/** What a suspended thread is waiting for; cancel() undoes it (timer, socket waiter, ...). */
export interface PendingOp {
  cancel(): void;
}

export class LuaThread {
  status: ThreadStatus = 'suspended';
  pending: PendingOp | null = null;
  /** set by an API right before it yields, read by run() */
  yieldReason: 'op' | 'exit' | null = null;
  /** a user coroutine: the thread that resumed it and waits for it to stop */
  parent: LuaThread | null = null;
  /** values the last lua_resume left on the stack (yielded or returned) */
  nret = 0;
  constructor(
    readonly co: number,
    private readonly anchor: number,
    readonly kind: 'entry' | 'user' | 'timer' | 'coroutine',
    readonly ctx: LuaContext,
  ) {}

  release(vm: LuaVM): void {
    if (this.anchor >= 0) vm.unref(this.anchor);
  }
}

export interface RunOutcome {
  /** 'done' normal end, 'exit' ngx.exit, 'error' runtime error */
  kind: 'done' | 'exit' | 'error';
  error?: string;
}

/** One handler invocation: a request phase, a timer, init code. */
export class LuaContext {
  entry: LuaThread | null = null;
  current: LuaThread | null = null;
  finished = false;
  exitCode: number | null = null;
  /** called once, when the entry thread ends (normally, by ngx.exit, or by error) */
  onDone: (o: RunOutcome) => void = () => {};
  /** ngx.exec: the internal redirect to perform when the handler has ended */
  exec: { uri: string; args?: string } | null = null;
  /** body_filter_by_lua: ngx.arg[1] and ngx.arg[2] */
  arg: { chunk: Buffer; eof: boolean } | null = null;
  /** set_by_lua: ngx.arg[n] */
  setArgs: string[] | null = null;
  /** how many of the entry function's return values to keep (as strings) */
  wantResults = 0;
  results: string[] | null = null;
  /** run when a context without a request (timer, init_worker) ends */
  cleanups: Array<() => void> | null = null;
  /** user coroutines resumed in this context (forgotten when it ends) */
  coroutines: Set<LuaThread> | null = null;
  constructor(
    readonly kind: CtxKind,
    /** the request this handler serves; null for init, init_worker and timers */
    readonly req: RequestCtx | null,
  ) {}
}

export class Scheduler {
  /** the thread whose Lua code is executing right now (APIs read their context from it) */
  current: LuaThread | null = null;
  private readonly nres: number;
  private readonly coThreads = new Map<number, LuaThread>();
  /** called after every slice of Lua execution (the request's queued output is written here) */
  afterRun: (th: LuaThread) => void = () => {};

  constructor(readonly vm: LuaVM) {
    this.nres = vm.raw.malloc(4);
  }

  /**
   * Start the function at the top of the main stack (popped) as ctx's entry thread with the
   * given arguments pushed by pushArgs.
   */
  spawnEntry(ctx: LuaContext, fnRef: number, pushArgs?: (co: number) => number): void {
    const { vm } = this;
    const L = vm.L;
    const co = vm.raw.lua_newthread(L);
    const anchor = vm.ref(L);
    const th = new LuaThread(co, anchor, 'entry', ctx);
    ctx.entry = th;
    vm.pushRef(co, fnRef);
    const nargs = pushArgs ? pushArgs(co) : 0;
    this.run(th, nargs);
  }

  /** Resume a suspended thread with the values an operation produced. */
  resume(th: LuaThread, push?: RetvalPusher): void {
    if (th.status !== 'suspended' || th.ctx.finished) return;
    th.pending = null;
    const n = push ? push(this.vm, th.co) : 0;
    this.run(th, n);
  }

  /** Resume th for one slice of execution; returns lua_resume's status. */
  private step(th: LuaThread, nargs: number, from: number): number {
    const { vm } = this;
    const prev = this.current;
    this.current = th;
    th.ctx.current = th;
    th.status = 'running';
    const rc = vm.raw.lua_resume(th.co, from, nargs, this.nres);
    th.nret = vm.heap().readInt32LE(this.nres);
    this.current = prev;
    th.ctx.current = prev;
    return rc;
  }

  private run(th: LuaThread, nargs: number): void {
    const { vm } = this;
    const rc = this.step(th, nargs, vm.L);
    this.afterRun(th);
    if (rc === LUA_YIELD) {
      const reason = th.yieldReason;
      th.yieldReason = null;
      th.status = 'suspended';
      if (reason === 'op') return;
      if (reason === 'exit') {
        this.exitContext(th.ctx);
        return;
      }
    }
    if (th.kind === 'coroutine') {
      // a user coroutine resumed by an operation stopped: its parent's resume() returns now
      const parent = th.parent!;
      th.parent = null;
      if (rc !== LUA_YIELD) this.retire(th);
      this.resume(parent, (_v, dest) => this.transfer(th, rc, dest));
      return;
    }
    if (rc === LUA_YIELD) {
      {
        // A bare coroutine.yield() in an entry thread: ngx_lua resumes it at once, later.
        vm.raw.lua_settop(th.co, 0);
        setImmediate(() => this.resume(th));
      }
      return;
    }
    if (rc === LUA_OK) {
      const ctx = th.ctx;
      if (ctx.wantResults && th === ctx.entry) {
        const n = vm.top(th.co);
        ctx.results = [];
        for (let i = 1; i <= Math.min(n, ctx.wantResults); i++) ctx.results.push(vm.toStr(th.co, i) ?? '');
      }
      vm.raw.lua_settop(th.co, 0);
      this.finish(th, { kind: 'done' });
      return;
    }
    const msg = this.errorMessage(th.co);
    const tb = luajitTraceback(vm.traceback(vm.L, th.co, 0));
    this.finish(th, { kind: 'error', error: `${msg}\n${tb.replace(/^stack traceback:\n/, 'stack traceback:\ncoroutine 0:\n')}` });
  }

  /** The error value on top of co as ngx_lua renders it. */
  private errorMessage(co: number): string {
    const { vm } = this;
    const t = vm.type(co, -1);
    if (t === 4 || t === 3) return luajitWording(vm.toStr(co, -1) ?? '');
    return 'unknown reason';
  }

  /**
   * coroutine.resume(co, ...) from Lua running in `parent`: run the coroutine nested in the
   * parent's call. If it suspends on an operation (sleep, socket, ...) the parent suspends too,
   * and its resume() returns once the coroutine yields, returns or fails. The API function
   * must return this call's value.
   */
  resumeCoroutine(L: number, child: LuaThread, nargs: number): number {
    const { vm } = this;
    const parent = this.current!;
    parent.status = 'normal';
    const rc = this.step(child, nargs, L);
    parent.status = 'running';
    const reason = rc === LUA_YIELD ? child.yieldReason : null;
    child.yieldReason = null;
    if (rc === LUA_YIELD && reason !== null) {
      child.status = 'suspended';
      if (reason === 'exit') {
        parent.yieldReason = 'exit';
        return vm.raw.lua_yieldk(L, 0, 0, 0);
      }
      child.parent = parent;
      parent.pending = { cancel: () => this.kill(child) };
      parent.yieldReason = 'op';
      return vm.raw.lua_yieldk(L, 0, 0, 0);
    }
    if (rc !== LUA_YIELD) this.retire(child);
    else child.status = 'suspended';
    return this.transfer(child, rc, L);
  }

  /** The LuaThread of a coroutine object (created on first resume). */
  coroutineOf(co: number): LuaThread {
    let th = this.coThreads.get(co);
    if (!th) {
      const ctx = this.current!.ctx;
      th = new LuaThread(co, -1, 'coroutine', ctx);
      this.coThreads.set(co, th);
      (ctx.coroutines ??= new Set()).add(th);
    }
    return th;
  }

  private retire(th: LuaThread): void {
    th.status = 'dead';
    this.coThreads.delete(th.co);
    th.ctx.coroutines?.delete(th);
  }

  /** Push `true, values...` (or `false, err`) for a coroutine that stopped with rc onto dest. */
  private transfer(th: LuaThread, rc: number, dest: number): number {
    const { vm } = this;
    if (rc === LUA_OK || rc === LUA_YIELD) {
      const n = th.nret;
      vm.raw.lua_checkstack(dest, n + 1);
      vm.pushBool(dest, true);
      vm.raw.lua_xmove(th.co, dest, n);
      return n + 1;
    }
    vm.pushBool(dest, false);
    vm.raw.lua_xmove(th.co, dest, 1);
    return 2;
  }

  /** ngx.exit from any thread of ctx ends the context's entry thread. */
  private exitContext(ctx: LuaContext): void {
    const e = ctx.entry;
    if (!e || e.status === 'dead') return;
    this.finish(e, { kind: 'exit' });
  }

  /** Kill a thread's pending operation and mark it dead. */
  kill(th: LuaThread): void {
    if (th.pending) {
      const p = th.pending;
      th.pending = null;
      p.cancel();
    }
    th.status = 'dead';
  }

  private finish(th: LuaThread, o: RunOutcome): void {
    th.status = 'dead';
    if (th.pending) this.kill(th);
    th.release(this.vm);
    const ctx = th.ctx;
    if (ctx.coroutines) {
      for (const c of ctx.coroutines) this.coThreads.delete(c.co);
      ctx.coroutines = null;
    }
    if (th === ctx.entry && !ctx.finished) {
      ctx.finished = true;
      ctx.onDone(o);
      runCleanups(ctx);
    }
  }

  /** End a suspended thread as if it had called ngx.exit (its context's exitCode is set). */
  finishExit(th: LuaThread): void {
    if (th.status !== 'suspended') return;
    th.pending = null;
    this.finish(th, { kind: 'exit' });
  }

  /** Abort a context: cancel whatever its threads wait on (client gone, request ended). */
  abort(ctx: LuaContext): void {
    if (ctx.finished) return;
    ctx.finished = true;
    if (ctx.entry) {
      this.kill(ctx.entry);
      ctx.entry.release(this.vm);
    }
    runCleanups(ctx);
  }

  /**
   * Suspend the running thread on an operation. The API function must `return` the value of
   * this call: it yields the coroutine (a longjmp through the JS frame).
   */
  suspend(L: number, op: PendingOp): number {
    const th = this.current!;
    th.pending = op;
    th.yieldReason = 'op';
    return this.vm.raw.lua_yieldk(L, 0, 0, 0);
  }

  /** Yield the running thread for ngx.exit: run() ends its context. */
  yieldExit(L: number): number {
    const th = this.current!;
    th.yieldReason = 'exit';
    return this.vm.raw.lua_yieldk(L, 0, 0, 0);
  }
}

/**
 * Lua 5.4 words type errors as `attempt to index a nil value (local 'x')`; LuaJIT, whose wording
 * OpenResty users grep for, says `attempt to index local 'x' (a nil value)`.
 */
export function luajitWording(msg: string): string {
  return msg.replace(
    /attempt to (index|call|perform arithmetic on|concatenate|get length of|compare) an? (\w+) value \((local|global|field|upvalue|method|constant) '([^']*)'\)/,
    (_m, op: string, type: string, kind: string, name: string) => `attempt to ${op} ${kind === 'constant' ? 'local' : kind} '${name}' (a ${type} value)`,
  );
}

/** Lua 5.4 traceback lines in LuaJIT's words: every named function is "function 'name'". */
export function luajitTraceback(tb: string): string {
  return tb
    .replace(/in (?:local|upvalue|field|method) '([^']+)'/g, "in function '$1'")
    .replace(/in function '(?:[\w]+\.)+(\w+)'/g, "in function '$1'");
}

function runCleanups(ctx: LuaContext): void {
  const cs = ctx.cleanups;
  if (!cs) return;
  ctx.cleanups = null;
  for (const c of cs) c();
}
