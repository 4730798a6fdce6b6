// Builds the `ngx` table: JS primitives handed to lua/ngx.lua, which assembles the API.
import type { Runtime } from '../core/runtime.js';
import { T_STRING, strFn, type JsLuaFn } from '../lua/vm.js';
import { registerOutput } from './output.js';
import { registerControl } from './control.js';
import { registerHeader } from './header.js';
import { registerVar } from './var.js';
import { registerReq } from './req.js';
import { registerTime } from './time.js';
import { registerSleep } from './sleep.js';
import { registerLog } from './log.js';
import { registerMisc } from './misc.js';
import { registerBalancer } from './balancer.js';
import { registerString } from './string.js';
import { registerPackage } from './package.js';
import { registerArg } from './arg.js';
import { registerTimer } from './timer.js';
import { registerCoroutine } from './coroutine.js';
import { registerThread } from './thread.js';
import { registerShdict } from './shdict.js';
import { registerLocation } from './location.js';
import { registerSemaphore } from './semaphore.js';
import { registerRe } from './re.js';
import { registerSocket } from './socket/index.js';
import { registerUdp } from './socket/udp.js';
import { registerJs } from './js.js';

/** ngx's __index and __newindex: the fields that are API calls (status, ctx, ...). */
function ngxFields(rt: Runtime, prims: Record<string, JsLuaFn>): Record<string, JsLuaFn> {
  const { vm } = rt;
  const getters = new Map<string, JsLuaFn>([
    ['status', prims.get_status], ['ctx', prims.ctx_get], ['headers_sent', prims.headers_sent], ['is_subrequest', prims.is_subrequest],
  ]);
  const setters = new Map<string, JsLuaFn>([['status', prims.set_status], ['ctx', prims.ctx_set]]);
  return {
    // (t, k): a string function, the key crosses as the call's argument
    ngx_index: strFn((L, key) => {
      const f = key === undefined ? undefined : getters.get(key);
      vm.setTop(L, 0);
      return f === undefined ? null : f(L, 0);
    }),
    // (t, k, v): the setters take v as their only argument
    ngx_newindex: (L) => {
      const f = vm.type(L, 2) === T_STRING ? setters.get(vm.toStr(L, 2)!) : undefined;
      if (!f) {
        vm.rawSet(L, 1);
        return 0;
      }
      vm.remove(L, 1);
      vm.remove(L, 1);
      return f(L, 1);
    },
  };
}

export function installNgxApi(rt: Runtime): void {
  const prims: Record<string, JsLuaFn> = {};
  for (const reg of [registerOutput, registerControl, registerHeader, registerVar, registerReq, registerTime,
    registerSleep, registerLog, registerMisc, registerString, registerPackage, registerArg, registerTimer, registerCoroutine, registerThread, registerLocation, registerBalancer]) {
    Object.assign(prims, reg(rt));
  }
  Object.assign(prims, ngxFields(rt, prims));
  rt.runBootChunk('ngx.lua', prims);
  rt.runBootChunk('re.lua', registerRe(rt), '=ngx/re.lua');
  rt.runBootChunk('resty_core.lua', prims);
  rt.runBootChunk('semaphore.lua', registerSemaphore(rt), '=ngx/semaphore.lua');
  rt.runBootChunk('shdict.lua', registerShdict(rt));
  rt.runBootChunk('socket.lua', registerSocket(rt));
  rt.runBootChunk('socket_udp.lua', registerUdp(rt));
  rt.runBootChunk('js.lua', registerJs(rt), '=ngxlua/js.lua');
}
