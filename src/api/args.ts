// ngx.encode_args, ngx.decode_args and ngx.quote_sql_str (primitives for lua/re.lua).
import type { Runtime } from '../core/runtime.js';
import { TYPE_NAMES, T_BOOLEAN, T_NIL, T_NUMBER, T_STRING, T_TABLE, type JsLuaFn } from '../lua/vm.js';
import { decodeArgs, encodeArgs, encodeArgsTypeError, ENCODE_ARGS_KEY_ERROR, type EncodeArgScalar, type EncodeArgValue } from '../util/uri.js';


/** MySQL-style quoting as ngx.quote_sql_str does it: \0 \b \n \r \t \Z \' \" \\ escaped, wrapped in ''. */
export function quoteSqlStr(b: Buffer): Buffer {
  const out: number[] = [0x27];
  for (const c of b) {
    switch (c) {
      case 0x00: out.push(0x5c, 0x30); break;
      case 0x08: out.push(0x5c, 0x62); break;
      case 0x0a: out.push(0x5c, 0x6e); break;
      case 0x0d: out.push(0x5c, 0x72); break;
      case 0x09: out.push(0x5c, 0x74); break;
      case 0x1a: out.push(0x5c, 0x5a); break;
      case 0x27: case 0x22: case 0x5c: out.push(0x5c, c); break;
      default: out.push(c);
    }
  }
  out.push(0x27);
  return Buffer.from(out);
}

export function registerArgs(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  // errors raised from the reference's FFI wrappers carry no position and name the function '?'
  const badArg = (L: number, n: number, expected: string, t: number) =>
    vm.errorRaw(L, `bad argument #${n} to '?' (${expected} expected, got ${TYPE_NAMES[t] ?? 'no value'})`);

  const scalar = (L: number, idx: number): EncodeArgScalar => {
    const t = vm.type(L, idx);
    if (t === T_STRING) return vm.toBuffer(L, idx)!;
    if (t === T_NUMBER) return vm.toNumber(L, idx);
    if (t === T_BOOLEAN) return vm.toBool(L, idx);
    return vm.errorRaw(L, encodeArgsTypeError(TYPE_NAMES[t])) as never;
  };

  return {
    encode_args: (L) => {
      const n = vm.top(L);
      if (n !== 1) return vm.errorRaw(L, `expecting 1 argument but seen ${n}`);
      if (vm.type(L, 1) !== T_TABLE) return badArg(L, 1, 'table', vm.type(L, 1));
      const entries: Array<[Buffer, EncodeArgValue]> = [];
      vm.pushNil(L);
      while (vm.next(L, 1)) {
        if (vm.type(L, -2) !== T_STRING) return vm.errorRaw(L, ENCODE_ARGS_KEY_ERROR);
        const key = vm.toBuffer(L, -2)!;
        if (vm.type(L, -1) === T_TABLE) {
          const vals: EncodeArgScalar[] = [];
          const vt = vm.top(L);
          vm.pushNil(L);
          while (vm.next(L, vt)) {
            vals.push(scalar(L, -1));
            vm.pop(L);
          }
          entries.push([key, vals]);
        } else {
          entries.push([key, scalar(L, -1)]);
        }
        vm.pop(L);
      }
      vm.pushBytes(L, encodeArgs(entries));
      return 1;
    },

    decode_args: (L) => {
      const t = vm.type(L, 1);
      if (t !== T_STRING && t !== T_NUMBER) return badArg(L, 1, 'string', t);
      const str = vm.toBuffer(L, 1)!;
      let max = 100;
      if (vm.type(L, 2) > T_NIL) {
        const m = vm.toNumberOrNull(L, 2);
        if (m !== null) max = Math.trunc(m);
      }
      const args = decodeArgs(str, max);
      const groups = new Map<string, Array<Buffer | true>>();
      for (const [k, v] of args) {
        const key = k.toString('latin1');
        const g = groups.get(key);
        if (g) g.push(v);
        else groups.set(key, [v]);
      }
      vm.createTable(L, 0, groups.size);
      const pushV = (v: Buffer | true) => (v === true ? vm.pushBool(L, true) : vm.pushBytes(L, v));
      for (const [key, vals] of groups) {
        vm.pushStr(L, key);
        if (vals.length === 1) pushV(vals[0]);
        else {
          vm.createTable(L, vals.length, 0);
          vals.forEach((v, i) => {
            pushV(v);
            vm.rawSetI(L, -2, i + 1);
          });
        }
        vm.rawSet(L, -3);
      }
      if (args.truncated) {
        vm.pushStr(L, 'truncated');
        return 2;
      }
      return 1;
    },

    quote_sql_str: (L) => {
      if (vm.top(L) !== 1) return vm.errorRaw(L, 'expecting one argument');
      const t = vm.type(L, 1);
      if (t !== T_STRING && t !== T_NUMBER) return badArg(L, 1, 'string', t);
      vm.pushBytes(L, quoteSqlStr(vm.toBuffer(L, 1)!));
      return 1;
    },
  };
}
