// require() and loadfile() read Lua files from the host file system (the WASM build's own file
// system is an empty in-memory one).
import { readFileSync, statSync } from 'node:fs';
import type { Runtime } from '../core/runtime.js';
import { LUA_OK, type JsLuaFn } from '../lua/vm.js';

export function registerPackage(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    null: (L) => {
      vm.raw.lua_pushlightuserdata(L, 0);
      return 1;
    },
    package_path: (L) => {
      const p = rt.http?.luaPackagePath;
      if (p) vm.pushStr(L, p);
      else vm.raw.lua_pushnil(L);
      return 1;
    },
    package_cpath: (L) => {
      const p = rt.http?.luaPackageCpath;
      if (p) vm.pushStr(L, p);
      else vm.raw.lua_pushnil(L);
      return 1;
    },
    searchpath: (L) => {
      const name = (vm.toStr(L, 1) ?? '').replace(/\./g, '/');
      const spath = vm.toStr(L, 2) ?? '';
      let tried = '';
      for (const tpl of spath.split(';')) {
        if (!tpl) continue;
        const file = tpl.replace(/\?/g, name);
        try {
          if (statSync(file).isFile()) {
            vm.pushStr(L, rt.resolvePath(file));
            return 1;
          }
        } catch {
          /* not there */
        }
        tried += `\n\tno file '${file}'`;
      }
      vm.raw.lua_pushnil(L);
      vm.pushStr(L, tried);
      return 2;
    },
    load_file: (L) => {
      const p = vm.toStr(L, 1);
      if (p === null) return vm.argError(L, 1, 'string expected');
      let code: Buffer;
      try {
        code = readFileSync(p);
      } catch {
        vm.raw.lua_pushnil(L);
        vm.pushStr(L, `cannot open ${p}`);
        return 2;
      }
      if (code[0] === 0x23) {
        // skip a #! line as luaL_loadfile does, keeping line numbers
        code = Buffer.concat([Buffer.from('--'), code]);
      }
      const modName = vm.toStr(L, 2);
      if (modName !== null) rt.fileModules.add(modName);
      if (vm.load(L, code, '@' + p) !== LUA_OK) {
        vm.raw.lua_pushnil(L);
        vm.raw.lua_rotate(L, -2, 1);
        return 2;
      }
      return 1;
    },
  };
}
