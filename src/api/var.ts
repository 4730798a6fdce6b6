// ngx.var: nginx variables, read and (where nginx allows) written
import { CTX_REQ, type Runtime } from '../core/runtime.js';
import { getVar, getterOf, setVar } from '../core/vars.js';
import { keyNumber, strFn, T_NIL, T_NUMBER, type JsLuaFn } from '../lua/vm.js';

export function registerVar(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const reqOf = (L: number) => rt.reqFfi(L, CTX_REQ);
  // ngx.var.name in Lua numbers each name it meets once (lua/ngx.lua) and then reads it by number
  const compiled: Array<ReturnType<typeof getterOf>> = [];
  return {
    var_id: (L) => {
      const name = vm.toStr(L, 1) ?? '';
      compiled.push(getterOf(name.toLowerCase()));
      vm.pushNumber(L, compiled.length - 1);
      return 1;
    },
    var_get_id: strFn((L) => compiled[keyNumber()](reqOf(L))),
    var_get: strFn((L, key) => {
      const r = reqOf(L);
      if (key === undefined) {
        // ngx.var[n] reads capture n of the location's regex; there is none below 1
        if (vm.type(L, 2) === T_NUMBER && vm.toNumber(L, 2) < 1) return null;
        const k = vm.toStr(L, 2);
        if (k === null) return vm.errorRaw(L, 'bad variable name');
        key = k;
      }
      return getVar(r, key.toLowerCase());
    }),
    var_set: (L) => {
      const r = reqOf(L);
      const key = vm.toStr(L, 2);
      if (key === null) return vm.errorRaw(L, 'bad variable name');
      const name = key.toLowerCase();
      const t = vm.type(L, 3);
      const value = t === T_NIL ? null : vm.toStr(L, 3);
      if (t !== T_NIL && value === null) {
        return vm.error(L, `bad variable value`);
      }
      const res = setVar(r, rt.http.declaredVars, name, value);
      if (res === 'not_changeable') return vm.error(L, `variable "${name}" not changeable`);
      if (res === 'not_found') {
        return vm.error(L, `variable "${name}" not found for writing; maybe it is a built-in variable that is not changeable or you forgot to use "set $${name} '';" in the config file to define it first`);
      }
      return 0;
    },
  };
}
