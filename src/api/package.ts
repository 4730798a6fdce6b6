// What lua/ngx.lua needs to set up require(): ngx.null, the lua_package_path/cpath directives,
// and the note of file modules that lua_code_cache off reloads.
import type { Runtime } from '../core/runtime.js';
import type { JsLuaFn } from '../lua/vm.js';

export function registerPackage(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    null: (L) => {
      vm.pushLightUserdata(L, 0);
      return 1;
    },
    package_path: (L) => {
      const p = rt.http?.luaPackagePath;
      if (p) vm.pushStr(L, p);
      else vm.pushNil(L);
      return 1;
    },
    package_cpath: (L) => {
      const p = rt.http?.luaPackageCpath;
      if (p) vm.pushStr(L, p);
      else vm.pushNil(L);
      return 1;
    },
    note_file_module: (L) => {
      const name = vm.toStr(L, 1);
      if (name !== null) rt.fileModules.add(name);
      return 0;
    },
  };
}
