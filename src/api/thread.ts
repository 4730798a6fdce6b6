// ngx.thread.spawn / wait / kill: light threads scheduled alongside the entry thread.
import { CTX_OUTPUT, CTX_YIELDABLE, type Runtime } from '../core/runtime.js';
import { T_FUNCTION, T_THREAD, type JsLuaFn } from '../lua/vm.js';
import type { LuaThread } from '../core/thread.js';

export function registerThread(rt: Runtime): Record<string, JsLuaFn> {
  const { vm, sched } = rt;
  sched.onThreadError = (th, report) => {
    rt.logCtx('error', `lua user thread aborted: runtime error: ${report}`, th.ctx);
  };
  return {
    thread_spawn: (L) => {
      rt.check(L, CTX_YIELDABLE);
      if (vm.type(L, 1) !== T_FUNCTION) return vm.argError(L, 1, 'Lua function expected');
      return sched.spawnThread(L, vm.top(L));
    },
    thread_wait: (L) => {
      rt.check(L, CTX_YIELDABLE);
      const n = vm.top(L);
      if (n === 0) return vm.error(L, 'at least one coroutine should be specified');
      const me = sched.current!;
      const ths: Array<LuaThread | null> = [];
      for (let i = 1; i <= n; i++) {
        if (vm.type(L, i) !== T_THREAD) return vm.argError(L, i, 'lua thread expected');
        const co = vm.toThread(L, i);
        const th = sched.userThreadOf(co);
        if (!th) {
          // a reaped thread is forgotten: it counts as waited
          if (!sched.wasUserThread(co)) return vm.error(L, 'attempt to wait on a coroutine that is not a user thread');
          ths.push(null);
          continue;
        }
        if (th.kind !== 'user') return vm.error(L, 'attempt to wait on a coroutine that is not a user thread');
        if (th.owner !== me) return vm.error(L, 'only the parent coroutine can wait on the thread');
        ths.push(th);
      }
      return sched.waitThreads(L, ths);
    },
    on_abort: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      if (vm.type(L, 1) !== T_FUNCTION) return vm.argError(L, 1, 'function expected');
      const fail = (msg: string) => {
        vm.pushNil(L);
        vm.pushStr(L, msg);
        return 2;
      };
      if (!(r.loc?.settings ?? r.server.settings).luaCheckClientAbort) return fail('lua_check_client_abort is off');
      // each phase handler has its own on_abort slot
      const ctx = rt.current()!;
      if (ctx.onAbortSet) return fail('duplicate call');
      ctx.onAbortSet = true;
      if (r.onAbortRef) vm.unref(r.onAbortRef);
      vm.pushValue(L, 1);
      r.onAbortRef = vm.ref(L);
      vm.pushNumber(L, 1);
      return 1;
    },
    thread_kill: (L) => {
      rt.check(L, CTX_YIELDABLE);
      if (vm.type(L, 1) !== T_THREAD) return vm.argError(L, 1, 'lua thread expected');
      const co = vm.toThread(L, 1);
      const th = sched.userThreadOf(co);
      const fail = (msg: string) => {
        vm.pushNil(L);
        vm.pushStr(L, msg);
        return 2;
      };
      if (!th) return fail(sched.wasUserThread(co) ? 'already waited or killed' : 'not user thread');
      if (th.owner !== sched.current) return fail('killer not parent');
      const [ok, err] = sched.killThread(th);
      if (!ok) return fail(err);
      vm.pushNumber(L, 1);
      return 1;
    },
  };
}
