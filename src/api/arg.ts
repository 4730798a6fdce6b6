// ngx.arg: set_by_lua's arguments, or body_filter_by_lua's chunk ([1]) and eof flag ([2])
import { Ctx, type Runtime } from '../core/runtime.js';
import { T_NIL, T_TABLE, type JsLuaFn } from '../lua/vm.js';
import { collectArgs } from './output.js';

export function registerArg(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    arg_get: (L) => {
      const ctx = rt.check(L, Ctx.SET | Ctx.BODY_FILTER);
      const i = vm.toNumber(L, 2);
      if (ctx.arg) {
        if (i === 1) vm.pushBytes(L, ctx.arg.chunk);
        else if (i === 2) vm.pushBool(L, ctx.arg.eof);
        else vm.pushNil(L);
        return 1;
      }
      const a = ctx.setArgs?.[i - 1];
      if (a === undefined) vm.pushNil(L);
      else vm.pushStr(L, a);
      return 1;
    },
    arg_set: (L) => {
      const ctx = rt.check(L, Ctx.BODY_FILTER);
      const i = vm.toNumber(L, 2);
      if (!ctx.arg) return 0;
      if (i === 1) {
        const t = vm.type(L, 3);
        if (t === T_NIL) ctx.arg.chunk = Buffer.alloc(0);
        else if (t === T_TABLE) {
          // an array of strings, numbers and nested arrays, as ngx.print takes it
          const parts: Buffer[] = [];
          collectArgs(vm, L, 3, 3, parts);
          ctx.arg.chunk = Buffer.concat(parts);
        } else {
          const b = vm.toBuffer(L, 3);
          if (b === null) return vm.error(L, 'bad chunk data type');
          ctx.arg.chunk = b;
        }
      } else if (i === 2) {
        ctx.arg.eof = vm.toBool(L, 3);
      }
      return 0;
    },
  };
}
