// coroutine.resume as ngx_lua replaces it: an operation that suspends inside a user coroutine
// (sleep, socket I/O, thread wait) suspends the whole chain, and resumes exactly the coroutine
// that made the call. create/yield/status/running stay Lua's own.
import { Ctx, type Runtime } from '../core/runtime.js';
import { LUA_OK, LUA_YIELD, T_FUNCTION, T_THREAD, type JsLuaFn } from '../lua/vm.js';
import type { CtxKind } from '../core/thread.js';

/** handlers ngx_lua runs on the VM's main thread rather than in a coroutine */
const MAIN_THREAD_KINDS = new Set<CtxKind>(['set', 'header_filter', 'body_filter', 'log', 'init', 'balancer']);

export function registerCoroutine(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const { sched } = rt;
  const wrapCall = vm.fnId((L) => wrapCallImpl(L));
  const UPVALUE1 = vm.upvalueIndex(1);
  // ngx_lua's coroutine API works where yielding does, and plainly in the output filters
  const coMask = () => rt.yieldMask | Ctx.HEADER_FILTER | Ctx.BODY_FILTER;
  return {
    co_create: (L) => {
      if (sched.current) rt.check(L, coMask());
      if (vm.type(L, 1) !== T_FUNCTION) return vm.argError(L, 1, `function expected`);
      const co = vm.newThread(L);
      vm.pushValue(L, 1);
      vm.xmove(L, co, 1);
      return 1;
    },
    co_wrap: (L) => {
      if (sched.current) rt.check(L, coMask());
      if (vm.type(L, 1) !== T_FUNCTION) return vm.argError(L, 1, `function expected`);
      const co = vm.newThread(L);
      vm.pushValue(L, 1);
      vm.xmove(L, co, 1);
      vm.pushFunctionId(L, wrapCall, 1);
      return 1;
    },
    co_status: (L) => {
      if (vm.type(L, 1) !== T_THREAD) return vm.argError(L, 1, 'coroutine expected');
      const co = vm.toThread(L, 1);
      const st = sched.current ? sched.statusOf(co) : null;
      vm.pushStr(L, st ?? luaStatus(L, co));
      return 1;
    },
    co_running: (L) => {
      // handlers ngx_lua runs on the main Lua thread see no coroutine
      const ctx = rt.current();
      // outside the scheduler (init_by_lua) a coroutine resumed there is still one
      const plainCo = !sched.current && L !== vm.L;
      if (!plainCo && (!ctx || MAIN_THREAD_KINDS.has(ctx.kind) || !sched.current)) {
        vm.pushNil(L);
        return 1;
      }
      vm.pushThread(L);
      return 1;
    },
    co_resume: (L) => {
      if (vm.type(L, 1) !== T_THREAD) return vm.argError(L, 1, `coroutine expected`);
      const co = vm.toThread(L, 1);
      if (sched.current) rt.check(L, coMask());
      if (!sched.current) {
        // outside any scheduled thread (init_by_lua): plain Lua semantics
        return plainResume(L, co);
      }
      const err = resumable(L, co);
      if (err) {
        vm.pushBool(L, false);
        vm.pushStr(L, err);
        return 2;
      }
      const nargs = vm.top(L) - 1;
      vm.checkStack(co, nargs);
      vm.xmove(L, co, nargs);
      return sched.resumeCoroutine(L, sched.coroutineOf(co), nargs);
    },
  };

  /** Lua's own status words for co seen from L. */
  function luaStatus(L: number, co: number): string {
    if (co === L) return 'running';
    const st = vm.status(co);
    if (st === LUA_YIELD) return 'suspended';
    if (st !== LUA_OK) return 'dead';
    const th = sched.current ? sched.coroutineOf(co) : null;
    if (th && (th.status === 'running' || th.status === 'normal')) return th.status;
    return vm.top(co) === 0 ? 'dead' : 'suspended';
  }

  /** Why co cannot be resumed now (`cannot resume <status> coroutine`), or null. */
  function resumable(L: number, co: number): string | null {
    const ngxSt = sched.statusOf(co);
    const st = ngxSt ?? luaStatus(L, co);
    if (st === 'suspended') {
      const th = sched.coroutineOf(co);
      if (!th.pending && !th.parent) return null;
    }
    return `cannot resume ${st === 'suspended' ? 'running' : st} coroutine`;
  }

  /** The function coroutine.wrap returns: resumes its coroutine (upvalue 1) and passes values through. */
  function wrapCallImpl(L: number): number {
    vm.pushValue(L, UPVALUE1);
    const co = vm.toThread(L, -1);
    vm.pop(L);
    if (!sched.current) {
      // outside any scheduled thread (init_by_lua): plain Lua semantics, the values themselves
      // or the coroutine's error raised in the caller
      const nargs = vm.top(L);
      vm.xmove(L, co, nargs);
      const rc = vm.resume(co, nargs);
      if (rc === LUA_OK || rc === LUA_YIELD) {
        const n = vm.resumeCount;
        vm.checkStack(L, n);
        vm.xmove(co, L, n);
        return n;
      }
      vm.xmove(co, L, 1);
      return vm.throwError();
    }
    const err = resumable(L, co);
    if (err) {
      // ngx_lua returns these instead of raising them
      vm.pushBool(L, false);
      vm.pushStr(L, err);
      return 2;
    }
    const nargs = vm.top(L);
    vm.checkStack(co, nargs);
    vm.xmove(L, co, nargs);
    const th = sched.coroutineOf(co);
    th.wrapped = true;
    return sched.resumeCoroutine(L, th, nargs);
  }

  function plainResume(L: number, co: number): number {
    const nargs = vm.top(L) - 1;
    vm.xmove(L, co, nargs);
    const rc = vm.resume(co, nargs);
    const n = vm.top(co);
    if (rc === LUA_OK || rc === LUA_YIELD) {
      vm.checkStack(L, n + 1);
      vm.pushBool(L, true);
      vm.xmove(co, L, n);
      return n + 1;
    }
    vm.pushBool(L, false);
    vm.xmove(co, L, 1);
    return 2;
  }
}
