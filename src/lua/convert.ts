// Lua values as JS values and back, for the host's exposed functions (ngxlua.js): nil and
// undefined, ngx.null and null, booleans, numbers, byte strings as Buffers (or UTF-8 text when
// asked), sequences as arrays, other tables as objects. A table reached twice on one path (a
// cycle) is refused; so are values that have no JS form (functions, coroutines, userdata).
import { LuaVM, T_BOOLEAN, T_LIGHTUSERDATA, T_NIL, T_NONE, T_NUMBER, T_STRING, T_TABLE, TYPE_NAMES } from './vm.js';

export class ConvertError extends Error {}

export interface ToJsOptions {
  /** Lua strings become UTF-8 decoded JS strings instead of Buffers */
  utf8Strings?: boolean;
}

/** The Lua value at idx as a JS value. Throws ConvertError. */
export function toJs(vm: LuaVM, L: number, idx: number, opts: ToJsOptions = {}, path: Set<number> = new Set(), depth = 0): unknown {
  const t = vm.type(L, idx);
  switch (t) {
    case T_NONE:
    case T_NIL:
      return undefined;
    case T_BOOLEAN:
      return vm.toBool(L, idx);
    case T_NUMBER:
      return vm.toNumber(L, idx);
    case T_STRING: {
      const b = vm.toBuffer(L, idx)!;
      return opts.utf8Strings ? b.toString('utf8') : b;
    }
    case T_LIGHTUSERDATA:
      if (vm.toUserdata(L, idx) === 0) return null;
      break;
    case T_TABLE:
      return tableToJs(vm, L, idx, opts, path, depth);
  }
  throw new ConvertError(`a ${TYPE_NAMES[t] ?? 'value'} has no JS form`);
}

function tableToJs(vm: LuaVM, L: number, idx: number, opts: ToJsOptions, path: Set<number>, depth: number): unknown {
  const abs = idx < 0 ? vm.top(L) + idx + 1 : idx;
  const id = vm.toPointer(L, abs);
  if (path.has(id)) throw new ConvertError('a table that contains itself (a cycle) cannot be passed');
  if (depth > 100) throw new ConvertError('tables nested deeper than 100 levels cannot be passed');
  path.add(id);
  const entries: Array<[unknown, unknown]> = [];
  let sequence = true;
  vm.checkStack(L, 4);
  vm.pushNil(L);
  while (vm.next(L, abs)) {
    // the key stays on the stack for next(): convert a copy so a number key is not turned into a string
    vm.pushValue(L, -2);
    const k = vm.type(L, -1) === T_NUMBER ? vm.toNumber(L, -1) : toJs(vm, L, -1, { utf8Strings: true }, path, depth + 1);
    vm.pop(L);
    const v = toJs(vm, L, -1, opts, path, depth + 1);
    vm.pop(L);
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) sequence = false;
    entries.push([k, v]);
  }
  path.delete(id);
  if (sequence && entries.length > 0) {
    const arr: unknown[] = new Array(entries.length);
    let dense = true;
    for (const [k, v] of entries) {
      if ((k as number) > entries.length) dense = false;
      else arr[(k as number) - 1] = v;
    }
    if (dense) return arr;
  }
  const obj: Record<string, unknown> = {};
  for (const [k, v] of entries) obj[String(k)] = v;
  return obj;
}

/** Push v as a Lua value. Throws ConvertError (the stack is then as it was). */
export function pushJs(vm: LuaVM, L: number, v: unknown): void {
  const top = vm.top(L);
  try {
    push(vm, L, v, new Set(), 0);
  } catch (e) {
    vm.setTop(L, top);
    throw e;
  }
}

function push(vm: LuaVM, L: number, v: unknown, path: Set<object>, depth: number): void {
  if (v === undefined) return vm.pushNil(L);
  if (v === null) return vm.pushLightUserdata(L, 0);
  switch (typeof v) {
    case 'boolean':
      return vm.pushBool(L, v);
    case 'number':
      return vm.pushNumber(L, v);
    case 'bigint':
      return vm.pushNumber(L, Number(v));
    case 'string':
      return vm.pushBytes(L, Buffer.from(v, 'utf8'));
    case 'object':
      break;
    default:
      throw new ConvertError(`a JS ${typeof v} has no Lua form`);
  }
  if (v instanceof Uint8Array) return vm.pushBytes(L, v);
  if (v instanceof Date) return vm.pushBytes(L, Buffer.from(v.toISOString()));
  const o = v as object;
  if (path.has(o)) throw new ConvertError('an object that contains itself (a cycle) cannot be returned');
  if (depth > 100) throw new ConvertError('objects nested deeper than 100 levels cannot be returned');
  path.add(o);
  vm.checkStack(L, 4);
  if (Array.isArray(o)) {
    vm.createTable(L, o.length, 0);
    for (let i = 0; i < o.length; i++) {
      if (o[i] === undefined) continue;
      push(vm, L, o[i], path, depth + 1);
      vm.rawSetI(L, -2, i + 1);
    }
  } else {
    const entries = o instanceof Map ? [...o.entries()] : Object.entries(o);
    vm.createTable(L, 0, entries.length);
    for (const [k, val] of entries) {
      if (val === undefined) continue;
      if (typeof k === 'number') vm.pushNumber(L, k);
      else vm.pushBytes(L, Buffer.from(String(k), 'utf8'));
      push(vm, L, val, path, depth + 1);
      vm.rawSet(L, -3);
    }
  }
  path.delete(o);
}
