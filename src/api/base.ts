// Base-library functions whose LuaJIT behaviour OpenResty code sees: error() adds the position
// to number messages too (Lua 5.4 only does it for strings).
import type { Runtime } from '../core/runtime.js';
import { T_NUMBER, T_STRING, type JsLuaFn } from '../lua/vm.js';

export function registerBase(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    error: (L) => {
      const level = vm.type(L, 2) <= 0 ? 1 : Math.trunc(vm.toNumber(L, 2));
      vm.raw.lua_settop(L, 1);
      const t = vm.type(L, 1);
      if ((t === T_STRING || t === T_NUMBER) && level > 0) {
        vm.raw.luaL_where(L, level);
        vm.raw.lua_pushvalue(L, 1);
        vm.raw.lua_concat(L, 2);
      }
      return vm.raw.lua_error(L);
    },
  };
}
