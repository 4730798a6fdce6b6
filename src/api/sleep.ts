// ngx.sleep: suspend the running thread on a timer
import { CTX_YIELDABLE, type Runtime } from '../core/runtime.js';
import type { JsLuaFn } from '../lua/vm.js';

export function registerSleep(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    sleep: (L) => {
      rt.check(L, CTX_YIELDABLE);
      const nargs = vm.top(L);
      if (nargs !== 1) return vm.error(L, `attempt to pass ${nargs} arguments, but accepted 1`);
      const n = vm.toNumberOrNull(L, 1);
      if (n === null) return vm.argError(L, 1, `number expected, got ${vm.typeName(L, 1)}`);
      if (n < 0) return vm.error(L, `invalid sleep duration "${Math.trunc(n * 1000)}"`);
      const th = rt.sched.current!;
      const ms = Math.round(n * 1000);
      const debug = rt.log.debugOn;
      if (debug) rt.logCtx('debug', `lua ready to sleep for ${ms} ms`, th.ctx);
      const fire = debug
        ? () => {
          const r = th.ctx.req;
          rt.logCtx('debug', r ? `lua sleep timer expired: "${r.uri}?${r.args}"` : 'lua sleep timer expired', th.ctx);
          rt.sched.resume(th);
        }
        : () => rt.sched.resume(th);
      if (ms === 0) {
        const h = setImmediate(fire);
        return rt.sched.suspend(L, { cancel: () => clearImmediate(h) });
      }
      // libuv measures timers from the loop's cached time, which lags the clock by as much as
      // the current turn of the loop has taken: when that made the sleep more than a millisecond
      // short (which a 1 ms sleep never is), sleep for the rest
      const start = performance.now();
      const check = () => {
        const left = ms - (performance.now() - start);
        if (left > 1) h = setTimeout(check, left);
        else fire();
      };
      let h = setTimeout(check, ms);
      return rt.sched.suspend(L, {
        cancel: () => {
          // the thread went away mid-sleep (killed, or its request ended): ngx_lua's cleanup
          // says so in the cycle's log, without a request
          if (rt.log.debugOn) rt.log.log('debug', 'lua clean up the timer for pending ngx.sleep');
          clearTimeout(h);
        },
      });
    },
  };
}
