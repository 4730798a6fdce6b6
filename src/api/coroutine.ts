// coroutine.resume as ngx_lua replaces it: an operation that suspends inside a user coroutine
// (sleep, socket I/O, thread wait) suspends the whole chain, and resumes exactly the coroutine
// that made the call. create/yield/status/running stay Lua's own.
import { Ctx, type Runtime } from '../core/runtime.js';
import { LUA_OK, LUA_YIELD, T_FUNCTION, T_THREAD, type JsLuaFn } from '../lua/vm.js';

export function registerCoroutine(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const { sched } = rt;
  // ngx_lua's coroutine API works where yielding does, and plainly in the output filters
  const coMask = () => rt.yieldMask | Ctx.HEADER_FILTER | Ctx.BODY_FILTER;
  return {
    co_create: (L) => {
      if (sched.current) rt.check(L, coMask());
      if (vm.type(L, 1) !== T_FUNCTION) return vm.argError(L, 1, `function expected`);
      const co = vm.raw.lua_newthread(L);
      vm.raw.lua_pushvalue(L, 1);
      vm.raw.lua_xmove(L, co, 1);
      return 1;
    },
    co_resume: (L) => {
      if (vm.type(L, 1) !== T_THREAD) return vm.argError(L, 1, `coroutine expected`);
      const co = vm.raw.lua_tothread(L, 1);
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
      vm.raw.lua_checkstack(co, nargs);
      vm.raw.lua_xmove(L, co, nargs);
      return sched.resumeCoroutine(L, sched.coroutineOf(co), nargs);
    },
  };

  /** Why co cannot be resumed now, or null. */
  function resumable(L: number, co: number): string | null {
    if (co === L) return 'cannot resume non-suspended coroutine';
    const st = vm.raw.lua_status(co);
    if (st === LUA_YIELD) {
      const th = sched.coroutineOf(co);
      return th.status === 'suspended' && !th.pending && !th.parent ? null : 'cannot resume non-suspended coroutine';
    }
    if (st !== LUA_OK) return 'cannot resume dead coroutine';
    // LUA_OK: a fresh coroutine has its function on the stack; a finished one has nothing
    const th = sched.coroutineOf(co);
    if (th.status === 'running' || th.status === 'normal') return 'cannot resume non-suspended coroutine';
    return vm.top(co) === 0 ? 'cannot resume dead coroutine' : null;
  }

  function plainResume(L: number, co: number): number {
    const nargs = vm.top(L) - 1;
    vm.raw.lua_xmove(L, co, nargs);
    const nres = vm.raw.malloc(4);
    const rc = vm.raw.lua_resume(co, L, nargs, nres);
    const n = vm.heap().readInt32LE(nres);
    vm.raw.free(nres);
    if (rc === LUA_OK || rc === LUA_YIELD) {
      vm.raw.lua_checkstack(L, n + 1);
      vm.pushBool(L, true);
      vm.raw.lua_xmove(co, L, n);
      return n + 1;
    }
    vm.pushBool(L, false);
    vm.raw.lua_xmove(co, L, 1);
    return 2;
  }
}
