// ngx.semaphore (as lua-resty-core ships it): counting semaphores shared by every request and
// timer of the worker; waiters are woken in FIFO order once the poster yields.
import { CTX_NAMES, type Runtime } from '../core/runtime.js';
import type { JsLuaFn } from '../lua/vm.js';
import type { LuaThread } from '../core/thread.js';

interface Waiter {
  th: LuaThread;
  timer: NodeJS.Timeout | null;
  done: boolean;
}

interface Sema {
  count: number;
  waiters: Waiter[];
  wakeScheduled: boolean;
}

export function registerSemaphore(rt: Runtime): Record<string, JsLuaFn> {
  const { vm, sched } = rt;
  const semas = new Map<number, Sema>();
  let nextId = 1;

  const get = (L: number): Sema => {
    const s = semas.get(vm.toNumber(L, 1));
    if (!s) vm.error(L, 'not a semaphore instance');
    return s as Sema;
  };
  const wake = (s: Sema) => {
    s.wakeScheduled = false;
    while (s.count > 0 && s.waiters.length) {
      const w = s.waiters.shift()!;
      if (w.done) continue;
      w.done = true;
      if (w.timer) clearTimeout(w.timer);
      s.count--;
      sched.resume(w.th, (v, co) => {
        v.pushBool(co, true);
        v.pushNil(co);
        return 2;
      });
    }
  };

  return {
    sema_new: (L) => {
      const n = vm.type(L, 1) > 0 ? vm.toNumber(L, 1) : 0;
      if (n < 0) return vm.error(L, 'no negative number');
      const id = nextId++;
      semas.set(id, { count: Math.trunc(n), waiters: [], wakeScheduled: false });
      vm.pushNumber(L, id);
      return 1;
    },
    sema_free: (L) => {
      semas.delete(vm.toNumber(L, 1));
      return 0;
    },
    sema_post: (L) => {
      const s = get(L);
      s.count += Math.trunc(vm.toNumber(L, 2));
      if (s.waiters.length && !s.wakeScheduled) {
        s.wakeScheduled = true;
        setImmediate(() => wake(s));
      }
      vm.pushBool(L, true);
      return 1;
    },
    sema_count: (L) => {
      const s = get(L);
      const waiting = s.waiters.filter((w) => !w.done).length;
      vm.pushNumber(L, waiting > 0 ? -waiting : s.count);
      return 1;
    },
    sema_wait: (L) => {
      const s = get(L);
      const ctx = rt.current();
      if (ctx?.kind === 'init' && !rt.yieldableIn('init')) return vm.error(L, 'no request found');
      if (!ctx || !rt.yieldableIn(ctx.kind)) {
        vm.pushNil(L);
        vm.pushStr(L, `API disabled in the context of ${ctx ? CTX_NAMES[ctx.kind] : 'init_by_lua*'}`);
        return 2;
      }
      const ms = vm.toNumber(L, 2);
      if (s.count > 0 && !s.waiters.some((w) => !w.done)) {
        s.count--;
        vm.pushBool(L, true);
        return 1;
      }
      if (ms <= 0) {
        vm.pushNil(L);
        vm.pushStr(L, 'timeout');
        return 2;
      }
      const w: Waiter = { th: sched.current!, timer: null, done: false };
      w.timer = setTimeout(() => {
        if (w.done) return;
        w.done = true;
        s.waiters.splice(s.waiters.indexOf(w), 1);
        // after a real wait a timeout is `false, "timeout"` (lua-resty-core returns what the wake-up passes)
        sched.resume(w.th, (v, co) => {
          v.pushBool(co, false);
          v.pushStr(co, 'timeout');
          return 2;
        });
      }, Math.round(ms));
      s.waiters.push(w);
      return sched.suspend(L, {
        cancel: () => {
          // the waiter's thread was killed or its request ended
          if (w.done) return;
          w.done = true;
          if (w.timer) clearTimeout(w.timer);
          const i = s.waiters.indexOf(w);
          if (i >= 0) s.waiters.splice(i, 1);
        },
      });
    },
  };
}
