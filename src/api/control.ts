// ngx.exit and ngx.status
import { CTX_OUTPUT, CTX_REQ, Ctx, type Runtime } from '../core/runtime.js';
import type { JsLuaFn } from '../lua/vm.js';

export function registerControl(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    exit: (L) => {
      const ctx = rt.check(L, CTX_OUTPUT | Ctx.TIMER | Ctx.HEADER_FILTER);
      const n = vm.toNumberOrNull(L, 1);
      if (n === null) return vm.argError(L, 1, `number expected, got ${vm.type(L, 1) === 0 ? 'no value' : 'string'}`);
      const status = Math.trunc(n);
      if (status === -2 || status === -4) {
        return vm.error(L, "bad argument to 'ngx.exit': does not accept NGX_AGAIN or NGX_DONE");
      }
      ctx.exitCode = status;
      if (ctx.kind === 'header_filter') return 0;
      return rt.sched.yieldExit(L);
    },
    get_status: (L) => {
      const r = rt.req(L, CTX_REQ);
      vm.raw.lua_pushinteger(L, BigInt(r.finalStatus && r.eofSent ? r.finalStatus : r.status));
      return 1;
    },
    set_status: (L) => {
      const r = rt.req(L, CTX_REQ & ~Ctx.SET);
      if (r.headersSent) {
        rt.logReq('error', 'attempt to set ngx.status after sending out response headers', r);
        return 0;
      }
      const n = vm.toNumberOrNull(L, 1);
      let st: number;
      if (n === null) {
        const s = vm.toStr(L, 1);
        st = s === null ? NaN : Number.parseInt(s, 10);
      } else st = Math.trunc(n);
      if (!(st >= 100 && st <= 999)) {
        rt.logReq('error', `invalid HTTP status code ${Number.isNaN(st) ? 0 : st}`, r);
        return 0;
      }
      r.status = st;
      return 0;
    },
  };
}
