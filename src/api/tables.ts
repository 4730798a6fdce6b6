// Building Lua tables the way ngx_lua returns headers and args: one entry per key, the values of a
// repeated key gathered into an array in arrival order.
import type { LuaVM } from '../lua/vm.js';

export type Scalar = string | Buffer | true;

function pushScalar(vm: LuaVM, L: number, v: Scalar): void {
  if (v === true) vm.pushBool(L, true);
  else if (typeof v === 'string') vm.pushStr(L, v);
  else vm.pushBytes(L, v);
}

/** Push a new table from (key, value) pairs; returns its stack index. */
export function pushMultiTable(vm: LuaVM, L: number, pairs: ReadonlyArray<readonly [string | Buffer, Scalar]>): number {
  vm.createTable(L, 0, pairs.length);
  const t = vm.top(L);
  for (const [k, v] of pairs) {
    pushScalar(vm, L, k);
    vm.pushValue(L, -1);
    const prev = vm.rawGet(L, t); // stack: key, previous value
    if (prev === 0) {
      vm.pop(L);
      pushScalar(vm, L, v);
      vm.rawSet(L, t);
    } else if (prev === 5) {
      // already an array: append
      pushScalar(vm, L, v);
      vm.rawSetI(L, -2, vm.rawLen(L, -2) + 1);
      vm.pop(L, 2);
    } else {
      // second value: the scalar becomes the array {old, new}
      vm.createTable(L, 2, 0);
      vm.insert(L, -2);
      vm.rawSetI(L, -2, 1);
      pushScalar(vm, L, v);
      vm.rawSetI(L, -2, 2);
      vm.rawSet(L, t);
    }
  }
  return t;
}

/**
 * The largest key of the array table at `idx` (absolute or negative), checking as ngx_lua does
 * for its output and send functions that every key is a positive integer; raises
 * `bad argument #argn to '...' (non-array table found)` otherwise.
 */
export function arrayMax(vm: LuaVM, L: number, idx: number, argn: number): number {
  const abs = idx < 0 ? vm.top(L) + idx + 1 : idx;
  let max = 0;
  vm.pushNil(L);
  while (vm.next(L, abs)) {
    const k = vm.type(L, -2) === 3 && vm.isInteger(L, -2) ? vm.toNumber(L, -2) : 0;
    if (k < 1) {
      vm.pop(L, 2);
      vm.argError(L, argn, 'non-array table found');
    }
    if (k > max) max = k;
    vm.pop(L);
  }
  return max;
}
