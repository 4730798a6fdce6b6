// ngx.sleep: suspend the running thread on a timer
import { CTX_YIELDABLE, type Runtime } from '../core/runtime.js';
import type { JsLuaFn } from '../lua/vm.js';

export function registerSleep(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    sleep: (L) => {
      rt.check(L, CTX_YIELDABLE);
      const n = vm.toNumberOrNull(L, 1);
      if (n === null || vm.type(L, 1) !== 3 && vm.type(L, 1) !== 4) {
        return vm.argError(L, 1, 'number expected, got ' + (vm.type(L, 1) <= 0 ? 'no value' : 'string'));
      }
      if (n < 0) return vm.errorRaw(L, 'invalid sleeping time');
      const th = rt.sched.current!;
      const ms = Math.round(n * 1000);
      const fire = () => rt.sched.resume(th);
      if (ms === 0) {
        const h = setImmediate(fire);
        return rt.sched.suspend(L, { cancel: () => clearImmediate(h) });
      }
      const h = setTimeout(fire, ms);
      return rt.sched.suspend(L, { cancel: () => clearTimeout(h) });
    },
  };
}
