// ngx.timer.at / every / running_count / pending_count: callbacks run later as entry threads of
// their own 'timer' context (no request), with premature = true when the worker is exiting.
import { Ctx, type Runtime } from '../core/runtime.js';
import { LuaContext } from '../core/thread.js';
import { nextConnNumber } from '../core/request.js';
import { T_FUNCTION, type JsLuaFn } from '../lua/vm.js';
import { fakeConnId } from '../util/errlog.js';

const ALL_BUT_INIT = ~Ctx.INIT;

interface Timer {
  /** registry ref of { fn, arg1, ... } */
  ref: number;
  nargs: number;
  handle: NodeJS.Timeout | null;
  every: number; // ms, 0 for a one-shot timer
  /** client and server of the request that created the timer, for its log lines */
  origin: { client: string; server: string } | null;
}

export class Timers {
  readonly pending = new Set<Timer>();
  running = 0;

  constructor(private readonly rt: Runtime) {}

  /** Fire every pending timer now with premature = true (graceful stop). */
  expireAll(): void {
    for (const t of [...this.pending]) {
      if (t.handle) clearTimeout(t.handle);
      this.fire(t, true);
    }
  }

  schedule(t: Timer, ms: number): void {
    this.pending.add(t);
    t.handle = setTimeout(() => this.fire(t, false), ms);
  }

  private fire(t: Timer, premature: boolean): void {
    const { rt } = this;
    const { vm } = rt;
    this.pending.delete(t);
    t.handle = null;
    if (this.running >= rt.http.luaMaxRunningTimers) {
      rt.log.log('alert', `${rt.http.luaMaxRunningTimers} lua_max_running_timers are not enough`);
      this.release(t);
      return;
    }
    const again = t.every > 0 && !premature && !rt.exiting;
    if (again) this.schedule(t, t.every);
    const ctx = new LuaContext('timer', null);
    ctx.connNumber = nextConnNumber();
    this.running++;
    // ngx_lua's debug lines around a timer's fake request, which the upstream suites look for
    if (rt.log.debugOn) rt.log.log('debug', 'lua ngx.timer expired');
    ctx.onDone = (o) => {
      this.running--;
      if (o.kind === 'error') rt.logCtx('error', `lua entry thread aborted: runtime error: ${o.error}`, ctx);
      if (rt.log.debugOn) rt.logCtx('debug', `http lua close fake http connection ${fakeConnId(ctx)}`, ctx);
      if (!again) this.release(t);
      if (ctx.ctxRef) vm.unref(ctx.ctxRef);
    };
    ctx.origin = t.origin;
    // the callback is the table's first element; it gets premature and the saved arguments
    vm.pushRef(vm.L, t.ref);
    vm.rawGetI(vm.L, -1, 1);
    const fnRef = vm.ref(vm.L);
    vm.pop(vm.L);
    rt.sched.spawnEntry(ctx, fnRef, (co) => {
      vm.pushBool(co, premature);
      vm.pushRef(co, t.ref);
      for (let i = 2; i <= t.nargs + 1; i++) vm.rawGetI(co, -1 - (i - 2), i);
      vm.remove(co, -(t.nargs + 1));
      return t.nargs + 1;
    });
    vm.unref(fnRef);
  }

  private release(t: Timer): void {
    this.rt.vm.unref(t.ref);
  }
}

export function registerTimer(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const timers = new Timers(rt);
  rt.timers = timers;
  const create = (L: number, every: boolean): number => {
    if (rt.current()?.kind === 'init') return vm.error(L, 'no request');
    rt.check(L, ALL_BUT_INIT);
    const n = vm.top(L);
    if (n < 2) return vm.error(L, `expecting at least 2 arguments but got ${n}`);
    const delay = vm.toNumberOrNull(L, 1);
    if (delay === null) return vm.argError(L, 1, `number expected, got ${vm.typeName(L, 1)}`);
    if (vm.type(L, 2) !== T_FUNCTION) return vm.argError(L, 2, 'Lua function expected');
    if (every && delay === 0) return vm.error(L, 'delay cannot be zero');
    const delayMs = Math.max(0, delay);
    if (rt.exiting && delay > 0) {
      vm.pushNil(L);
      vm.pushStr(L, 'process exiting');
      return 2;
    }
    if (timers.pending.size >= rt.http.luaMaxPendingTimers) {
      vm.pushNil(L);
      vm.pushStr(L, 'too many pending timers');
      return 2;
    }
    vm.createTable(L, n - 1, 0);
    for (let i = 2; i <= n; i++) {
      vm.pushValue(L, i);
      vm.rawSetI(L, -2, i - 1);
    }
    const ref = vm.ref(L);
    const ms = Math.round(delayMs * 1000);
    const r = rt.current()?.req;
    // a timer's log lines name the creating connection's client and listening address
    const origin = r ? { client: r.req.remoteAddr, server: `${r.req.serverAddr}:${r.req.serverPort}` } : null;
    timers.schedule({ ref, nargs: n - 2, handle: null, every: every ? ms : 0, origin }, ms);
    vm.pushNumber(L, 1);
    return 1;
  };
  return {
    timer_at: (L) => create(L, false),
    timer_every: (L) => create(L, true),
    timer_running_count: (L) => {
      vm.pushNumber(L, timers.running);
      return 1;
    },
    timer_pending_count: (L) => {
      vm.pushNumber(L, timers.pending.size);
      return 1;
    },
  };
}
