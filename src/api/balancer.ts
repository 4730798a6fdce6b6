// ngx.balancer (lua-resty-core's module, as balancer_by_lua* code requires it): the peer, extra
// tries, timeouts and the last failure of the proxy try being chosen. lua/resty_core.lua holds
// the Lua side with lua-resty-core's argument checks; these primitives answer as
// ngx_http_lua_ffi_balancer_* do (nil plus the message of the C function on refusal).
import type { Runtime } from '../core/runtime.js';
import type { JsLuaFn, LuaVM } from '../lua/vm.js';
import type { BalancerState } from '../core/request.js';
import { parseHost } from './socket/resolve.js';

export function registerBalancer(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  /** the balancer state, or false after pushing nil and the refusal (true: "no request found") */
  const state = (L: number): BalancerState | null => {
    const ctx = rt.current();
    if (!ctx || !ctx.req) {
      vm.error(L, 'no request found');
      return null;
    }
    if (!ctx.req.upstream) {
      refuse(vm, L, 'no upstream found');
      return null;
    }
    if (ctx.kind !== 'balancer' || !ctx.req.balancer) {
      refuse(vm, L, 'API disabled in the current context');
      return null;
    }
    return ctx.req.balancer;
  };
  return {
    balancer_set_current_peer: (L) => {
      const b = state(L);
      if (!b) return 2;
      const addr = vm.toStr(L, 1) ?? '';
      const port = vm.toNumberOrNull(L, 2) ?? 0;
      const p = parseHost(addr, Math.trunc(port));
      if (p.kind === 'error') return refuse(vm, L, p.message.replace(/^failed to parse host name "[^"]*": /, ''));
      if (p.kind === 'name') return refuse(vm, L, 'no host allowed');
      if (p.kind === 'unix') b.peer = { host: `unix:${p.path}`, port: 0, name: `unix:${p.path}` };
      else b.peer = { host: p.address, port: p.port, name: p.family === 6 ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}` };
      vm.pushBool(L, true);
      return 1;
    },
    balancer_set_more_tries: (L) => {
      const b = state(L);
      if (!b) return 2;
      let count = Math.trunc(vm.toNumberOrNull(L, 1) ?? 0);
      // ngx_lua caps the total at proxy_next_upstream_tries (3 when that is unlimited)
      const total = b.totalTries + b.tries - 1;
      let warning: string | null = null;
      if (b.maxTries && total + count > b.maxTries) {
        count = b.maxTries - total;
        warning = 'reduced tries due to limit';
      }
      b.moreTries = count;
      vm.pushBool(L, true);
      if (warning === null) return 1;
      vm.pushStr(L, warning);
      return 2;
    },
    balancer_get_last_failure: (L) => {
      const b = state(L);
      if (!b) return 2;
      if (b.lastState === 0) return 0;
      vm.pushStr(L, b.lastState === 4 ? 'failed' : b.lastState === 2 ? 'next' : 'unknown');
      vm.pushNumber(L, b.lastStatus);
      return 2;
    },
    balancer_set_timeouts: (L) => {
      const b = state(L);
      if (!b) return 2;
      const ms = (i: number) => Math.trunc(vm.toNumberOrNull(L, i) ?? 0);
      b.timeouts = { connect: ms(1), send: ms(2), read: ms(3) };
      vm.pushBool(L, true);
      return 1;
    },
    balancer_recreate_request: (L) => {
      const b = state(L);
      if (!b) return 2;
      // the request is built once per proxy run from the current headers and body
      vm.pushBool(L, true);
      return 1;
    },
  };
}

function refuse(vm: LuaVM, L: number, msg: string): number {
  vm.pushNil(L);
  vm.pushStr(L, msg);
  return 2;
}
