// The coroutine scheduler: every piece of Lua runs in a LuaThread; an API that cannot finish at
// once records a pending operation and yields; the operation later calls resume() with the
// values the Lua call returns (the seed's resume helper).
import { LuaVM, LUA_OK, LUA_YIELD, YIELD, T_NUMBER, T_STRING } from '../lua/vm.js';
import type { RequestCtx } from './request.js';
import { CtxOwner, fastEnter, phaseIndex, readsHeadersSent } from './fast.js';
import { NumMap } from '../util/nummap.js';
import type { LuaPhase } from '../conf/model.js';

/** The handler kinds of nginx.conf, plus ngx.timer callbacks. */
export type CtxKind = LuaPhase | 'timer';

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
  yieldReason: 'op' | 'exit' | 'posted' | 'fatal' | null = null;
  /** 'fatal': the error that ends this thread (a coroutine.wrap error, which pcall cannot catch) */
  fatalError: string | null = null;
  /** a coroutine created by coroutine.wrap: its errors end the caller */
  wrapped = false;
  /** a user coroutine: the thread that resumed it and waits for it to stop */
  parent: LuaThread | null = null;
  /** a user coroutine: the thread that resumed it last (for the tracebacks of its errors) */
  resumer: LuaThread | null = null;
  /** suspended because a coroutine it resumed is waiting on an operation: "normal" to Lua */
  awaitingChild = false;
  /** a light thread: the thread that spawned it (the only one that may wait on or kill it) */
  owner: LuaThread | null = null;
  /** a light thread's parent blocked in ngx.thread.wait on it */
  waiter: LuaThread | null = null;
  /** ngx.thread.wait: the light threads this thread waits on */
  waitingOn: LuaThread[] | null = null;
  /** the value a posted thread's pending spawn() returns */
  postedValue: LuaThread | null = null;
  /** a finished light thread: how it ended (its values stay on its stack until reaped) */
  outcome: 'ok' | 'error' | null = null;
  reaped = false;
  /** values the last lua_resume left on the stack (yielded or returned) */
  nret = 0;
  /** registry ref of the function the first resume starts on an empty stack (0: none) */
  startRef = 0;
  private released = false;
  /** the coroutine stays anchored after this thread (it becomes a spare) */
  keep(): void {
    this.released = true;
  }
  constructor(
    readonly co: number,
    /** registry ref keeping the thread object alive (-1 for user coroutines) */
    readonly anchor: number,
    readonly kind: 'entry' | 'user' | 'timer' | 'coroutine',
    readonly ctx: LuaContext,
  ) {}

  release(vm: LuaVM): void {
    if (this.anchor >= 0 && !this.released) {
      this.released = true;
      vm.unanchor(this.anchor);
    }
  }

}

export interface RunOutcome {
  /** 'done' normal end, 'exit' ngx.exit, 'error' runtime error */
  kind: 'done' | 'exit' | 'error';
  error?: string;
  /** the handler's code could not be loaded (already logged as nginx does) */
  loadFailed?: boolean;
}

/** the outcomes without details, shared (nothing writes to an outcome) */
const DONE: RunOutcome = Object.freeze({ kind: 'done' });
const EXITED: RunOutcome = Object.freeze({ kind: 'exit' });

/** One handler invocation: a request phase, a timer, init code. */
/** ctxRef (CtxOwner): the ngx.ctx of a context without a request (timers have their own) */
export class LuaContext extends CtxOwner {
  entry: LuaThread | null = null;
  finished = false;
  exitCode: number | null = null;
  /** called once, when the entry thread ends (normally, by ngx.exit, or by error) */
  onDone: (o: RunOutcome) => void = () => {};
  /** ngx.req.set_uri(uri, true): search the locations again once the handler has ended */
  uriJump = false;
  /** ngx.exec: the internal redirect to perform when the handler has ended */
  exec: { uri: string; args?: string } | null = null;
  /** body_filter_by_lua: ngx.arg[1] and ngx.arg[2] */
  arg: { chunk: Buffer; eof: boolean } | null = null;
  /** set_by_lua: ngx.arg[n] */
  setArgs: string[] | null = null;
  /** how many of the entry function's return values to keep (as strings) */
  wantResults = 0;
  results: string[] | null = null;
  /** a timer's log lines carry the client and server of the request that created it */
  origin: { client: string; server: string } | null = null;
  /** a timer's fake connection number (nginx numbers it with the client connections), 0: none */
  connNumber = 0;
  /** ngx.on_abort was called in this handler */
  onAbortSet = false;
  /** light threads spawned in this context that have not ended */
  liveThreads: Set<LuaThread> | null = null;
  /** the entry thread ended normally while light threads still ran: the outcome waits for them */
  entryOutcome: RunOutcome | null = null;
  /** run when a context without a request (timer, init_worker) ends */
  cleanups: Array<() => void> | null = null;
  /** user coroutines resumed in this context (forgotten when it ends) */
  coroutines: Set<LuaThread> | null = null;
  /** light threads of this context already waited on or killed (their coroutines) */
  reapedThreads: Set<number> | null = null;
  /** F_PHASE's value and whether F_HSENT applies, for core/fast.ts */
  readonly phaseIndex: number;
  readonly readsHeadersSent: boolean;
  constructor(
    readonly kind: CtxKind,
    /** the request this handler serves; null for init, init_worker and timers */
    readonly req: RequestCtx | null,
  ) {
    super();
    this.phaseIndex = phaseIndex(kind);
    this.readsHeadersSent = readsHeadersSent(kind);
  }
}

export class Scheduler {
  /** the thread whose Lua code is executing right now (APIs read their context from it) */
  current: LuaThread | null = null;
  private readonly coThreads = new NumMap<LuaThread>();
  /** live entry threads by coroutine (for coroutine.status) */
  private readonly entries = new NumMap<LuaThread>();
  /**
   * Coroutines of entry threads that ended normally, ready for the next handler. They stay in
   * the anchor table while idle, so reusing one costs no call into the engine.
   */
  private spareThreads: Array<{ co: number; anchor: number }> = [];
  /** called after every slice of Lua execution (the request's queued output is written here) */
  afterRun: (th: LuaThread) => void = () => {};

  constructor(readonly vm: LuaVM) {}

  /**
   * Start the function at the top of the main stack (popped) as ctx's entry thread with the
   * given arguments pushed by pushArgs.
   */
  spawnEntry(ctx: LuaContext, fnRef: number, pushArgs?: (co: number) => number): void {
    const { vm } = this;
    const L = vm.L;
    // a coroutine that ended normally is back at its base and can start another function:
    // reusing it spares a lua_newthread and an anchor per handler run
    const spare = this.spareThreads.pop();
    let th: LuaThread;
    if (spare !== undefined) {
      th = new LuaThread(spare.co, spare.anchor, 'entry', ctx);
    } else {
      const co = vm.newThread(L);
      th = new LuaThread(co, vm.anchor(L), 'entry', ctx);
    }
    ctx.entry = th;
    const co = th.co;
    this.entries.set(co, th);
    if (pushArgs === undefined) {
      th.startRef = fnRef;
      this.run(th, 0);
      return;
    }
    vm.startRef(co, fnRef);
    this.run(th, pushArgs(co));
  }

  /** Resume a suspended thread with the values an operation produced. */
  resume(th: LuaThread, push?: RetvalPusher): void {
    if (th.status !== 'suspended' || th.ctx.finished) return;
    th.pending = null;
    th.awaitingChild = false;
    const n = push ? push(this.vm, th.co) : 0;
    this.run(th, n);
  }

  /** Resume th for one slice of execution; returns lua_resume's status. */
  private step(th: LuaThread, nargs: number): number {
    const { vm } = this;
    const prev = this.current;
    this.current = th;
    th.status = 'running';
    fastEnter(th.ctx);
    // a JS exception in an API function never gets here: the dispatcher turns it into a Lua error
    // a new handler's function is put on its coroutine by the same call (startRef)
    const ref = th.startRef;
    th.startRef = 0;
    const rc = vm.resume(th.co, nargs, ref);
    th.nret = vm.resumeCount;
    this.current = prev;
    fastEnter(prev === null ? null : prev.ctx);
    return rc;
  }

  private run(th: LuaThread, nargs: number): void {
    const { vm } = this;
    const rc = this.step(th, nargs);
    this.afterRun(th);
    this.settle(th, rc);
  }

  /** Act on why a thread resumed from the event loop stopped. */
  private settle(th: LuaThread, rc: number): void {
    const { vm } = this;
    if (rc === LUA_YIELD) {
      const reason = th.yieldReason;
      th.yieldReason = null;
      th.status = 'suspended';
      if (reason === 'op') return;
      if (reason === 'exit') {
        this.completeContext(th.ctx, EXITED);
        return;
      }
      if (reason === 'posted') {
        this.post(th);
        return;
      }
      if (reason === 'fatal') {
        this.fail(th, th.fatalError ?? 'unknown reason');
        return;
      }
    }
    if (th.kind === 'coroutine') {
      // a user coroutine resumed by an operation stopped: its parent's resume() returns now
      const parent = th.parent!;
      th.parent = null;
      if (rc !== LUA_YIELD) this.retire(th);
      if (th.wrapped && rc !== LUA_YIELD && rc !== LUA_OK) {
        this.fail(parent, this.chainReport(th.co, parent));
        return;
      }
      this.resume(parent, (_v, dest) => this.transfer(th, rc, dest, th.wrapped));
      return;
    }
    if (rc === LUA_YIELD) {
      // a bare coroutine.yield() in an entry thread or light thread: resumed at once, later
      vm.setTop(th.co, 0);
      setImmediate(() => this.resume(th));
      return;
    }
    if (th.kind === 'user') {
      this.threadEnded(th, rc);
      return;
    }
    if (rc === LUA_OK) {
      const ctx = th.ctx;
      if (ctx.wantResults && th === ctx.entry) {
        const n = vm.top(th.co);
        ctx.results = [];
        for (let i = 1; i <= Math.min(n, ctx.wantResults); i++) ctx.results.push(vm.toStr(th.co, i) ?? '');
      }
      this.entryEnded(th, DONE);
      return;
    }
    const report = this.errorReport(th.co);
    // the entry's coroutine died: what its stack still holds (perhaps what ran it out of
    // memory) must not outlive the report
    vm.setTop(th.co, 0);
    this.entryEnded(th, { kind: 'error', error: report });
  }

  /** The error on top of co with its traceback, as ngx_lua logs it. */
  private errorReport(co: number): string {
    const msg = this.errorMessage(co);
    const tb = this.vm.traceback(this.vm.L, co, 0);
    return `${msg}\n${tb.replace(/^stack traceback:\n/, 'stack traceback:\ncoroutine 0:\n')}`;
  }

  /** errorReport for a failed coroutine, then (as ngx_lua does) the stacks of those that resumed it. */
  private chainReport(co: number, resumer: LuaThread | null): string {
    let report = this.errorReport(co);
    let k = 1;
    for (let t = resumer; t; t = t.kind === 'coroutine' ? t.resumer : null, k++) {
      report += `\ncoroutine ${k}:\n` + this.vm.traceback(this.vm.L, t.co, 0).replace(/^stack traceback:\n/, '');
    }
    return report;
  }

  /** th fails with `report` (message and traceback) as if it had raised an uncaught error. */
  private fail(th: LuaThread, report: string): void {
    if (th.pending) this.kill(th);
    if (th.kind === 'user') {
      th.status = 'zombie';
      th.outcome = 'error';
      this.vm.setTop(th.co, 0);
      this.vm.pushStr(th.co, report.split('\n')[0]);
      this.onThreadError(th, report);
      this.reapable(th);
      return;
    }
    if (th.kind === 'coroutine') {
      const parent = th.parent;
      th.parent = null;
      this.retire(th);
      if (parent) this.fail(parent, report);
      return;
    }
    this.entryEnded(th, { kind: 'error', error: report });
  }

  /** The entry thread ended: the context completes now, or when its last light thread ends. */
  private entryEnded(th: LuaThread, o: RunOutcome): void {
    th.status = 'dead';
    this.entries.delete(th.co);
    if (o.kind === 'done' && this.spareThreads.length < 64) {
      // its stack still holds the returned values: startRef clears it before the next use
      this.spareThreads.push({ co: th.co, anchor: th.anchor });
      th.keep();
    } else {
      th.release(this.vm);
    }
    this.compactAnchors();
    const ctx = th.ctx;
    if (o.kind === 'done' && ctx.liveThreads && ctx.liveThreads.size > 0) {
      ctx.entryOutcome = o;
      return;
    }
    this.completeContext(ctx, o);
  }

  // ---- light threads (ngx.thread.*) ----------------------------------------------------

  private readonly userThreads = new NumMap<LuaThread>();

  /**
   * ngx.thread.spawn: the function and its arguments are the `n` values at slots 1..n of L.
   * The child runs at once until it yields or ends; returns the count of values pushed on L
   * (the thread object) or yields the caller when the child called ngx.exit.
   */
  spawnThread(L: number, n: number): number {
    const { vm } = this;
    const parent = this.current!;
    const ctx = parent.ctx;
    const co = vm.newThread(L);
    vm.pushValue(L, -1);
    const anchor = vm.anchor(L);
    for (let i = 1; i <= n; i++) vm.pushValue(L, i);
    vm.xmove(L, co, n);
    const th = new LuaThread(co, anchor, 'user', ctx);
    th.owner = parent;
    this.userThreads.set(co, th);
    (ctx.liveThreads ??= new Set()).add(th);
    parent.status = 'normal';
    this.spawnDepth++;
    const rc = this.step(th, n - 1);
    this.spawnDepth--;
    parent.status = 'running';
    if (rc === LUA_YIELD) {
      const reason = th.yieldReason;
      th.yieldReason = null;
      th.status = 'suspended';
      if (reason === 'exit' || reason === 'fatal') {
        parent.yieldReason = reason;
        parent.fatalError = th.fatalError;
        return YIELD;
      }
      if (reason === null) {
        vm.setTop(co, 0);
        setImmediate(() => this.resume(th));
      } else if (reason === 'posted') {
        this.post(th);
      }
    } else {
      this.threadEnded(th, rc);
    }
    if (this.spawnDepth > 0) {
      // ngx_lua posts a light thread that spawns from inside another spawn: control goes back
      // to the outer spawner, and this thread's spawn() returns on the next scheduler pass
      parent.yieldReason = 'posted';
      parent.postedValue = th;
      return YIELD;
    }
    return 1;
  }

  private spawnDepth = 0;
  private readonly postedQueue: LuaThread[] = [];

  /** Resume th once the current pass of Lua execution is over, with spawn()'s result. */
  private post(th: LuaThread): void {
    this.postedQueue.push(th);
    if (this.postedQueue.length === 1) {
      process.nextTick(() => {
        const q = this.postedQueue.splice(0);
        for (const t of q) {
          const v = t.postedValue;
          t.postedValue = null;
          this.resume(t, v ? (vm, co) => {
            vm.pushAnchored(co, v.anchor);
            return 1;
          } : undefined);
        }
      });
    }
  }

  /** Start fnRef as a light thread of ctx from outside Lua (ngx.on_abort's handler). */
  spawnDetachedThread(ctx: LuaContext, fnRef: number): void {
    const { vm } = this;
    const co = vm.newThread(vm.L);
    const anchor = vm.anchor(vm.L);
    const th = new LuaThread(co, anchor, 'user', ctx);
    th.owner = ctx.entry;
    this.userThreads.set(co, th);
    (ctx.liveThreads ??= new Set()).add(th);
    vm.pushRef(co, fnRef);
    this.run(th, 0);
  }

  /** A light thread returned or failed: it becomes a zombie until waited on. */
  private threadEnded(th: LuaThread, rc: number): void {
    const ctx = th.ctx;
    th.status = 'zombie';
    if (rc === LUA_OK) {
      th.outcome = 'ok';
    } else {
      th.outcome = 'error';
      let report = this.errorReport(th.co);
      // the spawning thread's stack follows, as "coroutine 1:"
      const owner = th.owner;
      if (owner && owner.status !== 'dead') {
        report += '\n' + this.vm.traceback(this.vm.L, owner.co, 0).replace(/^stack traceback:\n/, 'coroutine 1:\n');
      }
      this.onThreadError(th, report);
    }
    this.reapable(th);
  }

  /** A light thread became a zombie: wake its waiting parent; maybe complete the context. */
  private reapable(th: LuaThread): void {
    const ctx = th.ctx;
    ctx.liveThreads?.delete(th);
    const w = th.waiter;
    if (w) {
      this.stopWaiting(w);
      this.resume(w, (_v, dest) => this.reap(th, dest));
    }
    if (ctx.entryOutcome && ctx.liveThreads!.size === 0) this.completeContext(ctx, ctx.entryOutcome);
  }

  /** logs `lua user thread aborted: ...`; set by the runtime */
  onThreadError: (th: LuaThread, report: string) => void = () => {};

  /** Push a zombie's results (`true, ...` or `false, err`) onto dest and forget it. */
  private reap(th: LuaThread, dest: number): number {
    const { vm } = this;
    th.reaped = true;
    th.status = 'dead';
    let n: number;
    if (th.outcome === 'ok') {
      const k = vm.top(th.co);
      vm.checkStack(dest, k + 1);
      vm.pushBool(dest, true);
      vm.xmove(th.co, dest, k);
      n = k + 1;
    } else {
      // as ngx_lua: everything left on the failed thread's stack (for error(msg): msg, then
      // the positioned message)
      const k = vm.top(th.co);
      vm.checkStack(dest, k + 1);
      vm.pushBool(dest, false);
      vm.xmove(th.co, dest, k);
      n = k + 1;
    }
    this.forgetThread(th);
    return n;
  }

  private forgetThread(th: LuaThread): void {
    this.userThreads.delete(th.co);
    if (!th.ctx.finished) (th.ctx.reapedThreads ??= new Set()).add(th.co);
    th.release(this.vm);
    this.compactAnchors();
  }

  /** After a burst of light threads, once only the spares hold anchors, let the grown table go. */
  private compactAnchors(): void {
    // checked first: this runs at the end of every handler
    if (!this.vm.anchorsOnly(this.spareThreads.length)) return;
    const moved = this.vm.compactAnchors(this.spareThreads.map((s) => s.anchor));
    if (moved) this.spareThreads = this.spareThreads.map((s, i) => ({ co: s.co, anchor: moved[i] }));
  }

  private stopWaiting(w: LuaThread): void {
    for (const t of w.waitingOn ?? []) if (t.waiter === w) t.waiter = null;
    w.waitingOn = null;
  }

  /** The light thread for a thread object, or null when it is not one. */
  userThreadOf(co: number): LuaThread | null {
    return this.userThreads.get(co) ?? null;
  }

  /** Whether co was a light thread of the running context that has been waited on or killed. */
  wasUserThread(co: number): boolean {
    return this.current?.ctx.reapedThreads?.has(co) ?? false;
  }

  /**
   * ngx.thread.wait(t1, ...): the first of them to end. Returns the count of values pushed on
   * L, or suspends the caller. Errors are thrown by the API layer before calling this.
   */
  waitThreads(L: number, ths: Array<LuaThread | null>): number {
    const { vm } = this;
    // in argument order, as ngx_lua: a zombie is reaped, a waited/killed one ends the call
    const live: LuaThread[] = [];
    for (let i = 0; i < ths.length; i++) {
      const t = ths[i];
      if (t && t.status === 'zombie' && !t.reaped) return this.reap(t, L);
      if (!t || t.reaped || t.status === 'dead') {
        // a waited or killed thread is skipped, unless it is the last argument
        if (i < ths.length - 1) continue;
        vm.pushNil(L);
        vm.pushStr(L, 'already waited or killed');
        return 2;
      }
      live.push(t);
    }
    const me = this.current!;
    me.waitingOn = live;
    for (const t of live) t.waiter = me;
    return this.suspend(L, { cancel: () => this.stopWaiting(me) });
  }

  /** ngx.thread.kill(t): [ok, err] */
  killThread(t: LuaThread): [boolean, string] {
    if (t.reaped || t.status === 'dead') return [false, 'already waited or killed'];
    if (t.status === 'zombie') {
      t.reaped = true;
      t.status = 'dead';
      this.forgetThread(t);
      return [false, 'already terminated'];
    }
    this.kill(t);
    t.reaped = true;
    this.forgetThread(t);
    const ctx = t.ctx;
    ctx.liveThreads?.delete(t);
    if (ctx.entryOutcome && ctx.liveThreads!.size === 0) setImmediate(() => this.completeContext(ctx, ctx.entryOutcome!));
    return [true, ''];
  }

  /** The error value on top of co as ngx_lua renders it. */
  private errorMessage(co: number): string {
    const { vm } = this;
    const t = vm.type(co, -1);
    if (t === T_STRING || t === T_NUMBER) return vm.toStr(co, -1) ?? '';
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
    child.resumer = parent;
    const rc = this.step(child, nargs);
    parent.status = 'running';
    const reason = rc === LUA_YIELD ? child.yieldReason : null;
    child.yieldReason = null;
    if (rc === LUA_YIELD && reason !== null) {
      child.status = 'suspended';
      if (reason === 'exit' || reason === 'fatal') {
        parent.yieldReason = reason;
        parent.fatalError = child.fatalError;
        return YIELD;
      }
      child.parent = parent;
      parent.awaitingChild = true;
      parent.pending = { cancel: () => this.kill(child) };
      parent.yieldReason = 'op';
      return YIELD;
    }
    if (rc !== LUA_YIELD) this.retire(child);
    else child.status = 'suspended';
    if (child.wrapped && rc !== LUA_YIELD && rc !== LUA_OK) {
      // coroutine.wrap: the error ends the caller, past any pcall, as in ngx_lua
      parent.yieldReason = 'fatal';
      parent.fatalError = this.chainReport(child.co, parent);
      return YIELD;
    }
    return this.transfer(child, rc, L, child.wrapped);
  }

  /** ngx_lua's view of a thread's status, or null to use Lua's own. */
  statusOf(co: number): string | null {
    const e = this.entries.get(co);
    // an entry thread waiting on I/O is "running" to ngx_lua; one resuming a coroutine is "normal"
    if (e) return e === this.current ? 'running' : e.status === 'normal' || e.awaitingChild ? 'normal' : e.status === 'dead' ? 'dead' : 'running';
    const u = this.userThreads.get(co);
    if (u) return u.status === 'zombie' ? 'zombie' : u.status === 'dead' ? 'dead' : u.status === 'normal' || u.awaitingChild ? 'normal' : 'running';
    const c = this.coThreads.get(co);
    if (c && c.status === 'suspended' && c.awaitingChild) return 'normal';
    if (c && c.status === 'suspended' && (c.pending || c.parent)) return 'running';
    return null;
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
  private transfer(th: LuaThread, rc: number, dest: number, bare = false): number {
    const { vm } = this;
    if (rc === LUA_OK || rc === LUA_YIELD) {
      const n = th.nret;
      vm.checkStack(dest, n + 1);
      if (!bare) vm.pushBool(dest, true);
      vm.xmove(th.co, dest, n);
      return bare ? n : n + 1;
    }
    vm.pushBool(dest, false);
    vm.xmove(th.co, dest, 1);
    return 2;
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

  /**
   * The context is over (entry and light threads done, ngx.exit anywhere, entry error, abort):
   * every thread still suspended is killed, then onDone and the cleanups run.
   */
  completeContext(ctx: LuaContext, o: RunOutcome | null): void {
    if (ctx.finished) return;
    ctx.finished = true;
    const e = ctx.entry;
    if (e && e.status !== 'dead') {
      this.kill(e);
      e.release(this.vm);
    }
    if (e) this.entries.delete(e.co);
    if (ctx.liveThreads) {
      for (const t of ctx.liveThreads) {
        this.kill(t);
        this.forgetThread(t);
      }
      ctx.liveThreads = null;
    }
    if (ctx.coroutines) {
      for (const c of ctx.coroutines) this.coThreads.delete(c.co);
      ctx.coroutines = null;
    }
    if (o) ctx.onDone(o);
    runCleanups(ctx);
  }

  /** End a suspended entry thread as if it had called ngx.exit (its context's exitCode is set). */
  finishExit(th: LuaThread): void {
    if (th.status !== 'suspended') return;
    th.pending = null;
    this.completeContext(th.ctx, EXITED);
  }

  /** Abort a context: cancel whatever its threads wait on (client gone, request ended). */
  abort(ctx: LuaContext): void {
    this.completeContext(ctx, null);
  }

  /**
   * Suspend the running thread on an operation. The API function must `return` the value of
   * this call (YIELD): the trampoline yields the coroutine once JS has returned.
   */
  suspend(L: number, op: PendingOp): number {
    if (!this.vm.isYieldable(L)) {
      // inside a metamethod, sort comparator, gsub callback...: the operation must not fire later
      op.cancel();
      return this.vm.errorRaw(L, 'attempt to yield across C-call boundary');
    }
    const th = this.current!;
    th.pending = op;
    th.yieldReason = 'op';
    return YIELD;
  }

  /** Yield the running thread for ngx.exit: run() ends its context. */
  yieldExit(L: number): number {
    const th = this.current!;
    th.yieldReason = 'exit';
    return YIELD;
  }
}

function runCleanups(ctx: LuaContext): void {
  const cs = ctx.cleanups;
  if (!cs) return;
  ctx.cleanups = null;
  for (const c of cs) c();
}
