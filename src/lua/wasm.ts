// Loads wasmoon's Lua 5.4 WASM build and hands out its raw C exports. We bypass wasmoon's
// own wrappers (cwrap + assertion shims) because every call across the VM boundary is on the
// hot path: the raw exports are plain WebAssembly functions.
import { LuaWasm } from 'wasmoon';

/** The raw C API subset we call; pointers and lua_State* are numbers, lua_Integer is a bigint. */
export interface LuaRaw {
  luaL_newstate(): number;
  luaL_openlibs(L: number): void;
  luaL_loadbufferx(L: number, buf: number, size: number, name: number, mode: number): number;
  luaL_traceback(L: number, L1: number, msg: number, level: number): void;
  luaL_ref(L: number, t: number): number;
  luaL_unref(L: number, t: number, ref: number): void;
  luaL_where(L: number, lvl: number): void;
  luaL_argerror(L: number, arg: number, msg: number): number;
  luaL_len(L: number, idx: number): bigint;
  lua_newthread(L: number): number;
  lua_resetthread(L: number): number;
  lua_gettop(L: number): number;
  lua_settop(L: number, idx: number): void;
  lua_pushvalue(L: number, idx: number): void;
  lua_rotate(L: number, idx: number, n: number): void;
  lua_copy(L: number, from: number, to: number): void;
  lua_checkstack(L: number, n: number): number;
  lua_xmove(from: number, to: number, n: number): void;
  lua_isinteger(L: number, idx: number): number;
  lua_isstring(L: number, idx: number): number;
  lua_type(L: number, idx: number): number;
  lua_tonumberx(L: number, idx: number, isnum: number): number;
  lua_tointegerx(L: number, idx: number, isnum: number): bigint;
  lua_toboolean(L: number, idx: number): number;
  lua_tolstring(L: number, idx: number, len: number): number;
  lua_rawlen(L: number, idx: number): bigint;
  lua_touserdata(L: number, idx: number): number;
  lua_tothread(L: number, idx: number): number;
  lua_topointer(L: number, idx: number): number;
  lua_rawequal(L: number, a: number, b: number): number;
  lua_pushnil(L: number): void;
  lua_pushnumber(L: number, n: number): void;
  lua_pushinteger(L: number, n: bigint): void;
  lua_pushlstring(L: number, s: number, len: number): number;
  lua_pushstring(L: number, s: number): number;
  lua_pushcclosure(L: number, fn: number, n: number): void;
  lua_pushboolean(L: number, b: number): void;
  lua_pushlightuserdata(L: number, p: number): void;
  lua_pushthread(L: number): number;
  lua_getglobal(L: number, name: number): number;
  lua_gettable(L: number, idx: number): number;
  lua_getfield(L: number, idx: number, k: number): number;
  lua_geti(L: number, idx: number, i: bigint): number;
  lua_rawget(L: number, idx: number): number;
  lua_rawgeti(L: number, idx: number, n: bigint): number;
  lua_createtable(L: number, narr: number, nrec: number): void;
  lua_newuserdatauv(L: number, size: number, nuv: number): number;
  lua_getmetatable(L: number, idx: number): number;
  lua_setglobal(L: number, name: number): void;
  lua_settable(L: number, idx: number): void;
  lua_setfield(L: number, idx: number, k: number): void;
  lua_seti(L: number, idx: number, i: bigint): void;
  lua_rawset(L: number, idx: number): void;
  lua_rawseti(L: number, idx: number, i: bigint): void;
  lua_setmetatable(L: number, idx: number): number;
  lua_callk(L: number, nargs: number, nres: number, ctx: number, k: number): void;
  lua_pcallk(L: number, nargs: number, nres: number, errfunc: number, ctx: number, k: number): number;
  lua_yieldk(L: number, nres: number, ctx: number, k: number): number;
  lua_resume(L: number, from: number, nargs: number, nres: number): number;
  lua_status(L: number): number;
  lua_isyieldable(L: number): number;
  lua_error(L: number): number;
  lua_next(L: number, idx: number): number;
  lua_concat(L: number, n: number): void;
  lua_getstack(L: number, level: number, ar: number): number;
  lua_getinfo(L: number, what: number, ar: number): number;
  lua_gc?(L: number, what: number, ...args: number[]): number;
  stackSave(): number;
  stackRestore(p: number): void;
  malloc(n: number): number;
  free(p: number): void;
  realloc(p: number, n: number): number;
}

export interface LuaModule {
  raw: LuaRaw;
  /** current view of linear memory; re-read after any call that may grow it */
  heap(): Uint8Array;
  addFunction(fn: (...a: number[]) => number, sig: string): number;
}

let cached: Promise<LuaModule> | null = null;

export function loadLuaModule(): Promise<LuaModule> {
  if (!cached) cached = load();
  return cached;
}

async function load(): Promise<LuaModule> {
  // Capture the instance's exports as emscripten instantiates it.
  let exports: Record<string, unknown> | null = null;
  const origInstantiate = WebAssembly.instantiate;
  (WebAssembly as { instantiate: unknown }).instantiate = async (...args: unknown[]) => {
    const res = await (origInstantiate as (...a: unknown[]) => Promise<unknown>)(...args);
    const inst = (res as { instance?: WebAssembly.Instance }).instance ?? (res as WebAssembly.Instance);
    exports = inst.exports as Record<string, unknown>;
    return res;
  };
  let lw: LuaWasm;
  try {
    lw = await LuaWasm.initialize();
  } finally {
    (WebAssembly as { instantiate: unknown }).instantiate = origInstantiate;
  }
  if (!exports) throw new Error('ngxlua: could not capture the Lua WASM exports');
  const ex = exports as Record<string, unknown>;
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ex)) raw[k] = v;
  const mod = lw.module as unknown as {
    HEAPU8: Uint8Array;
    addFunction(fn: (...a: number[]) => number, sig: string): number;
  };
  patchNumberFormat(mod.HEAPU8);
  return {
    raw: raw as unknown as LuaRaw,
    heap: () => mod.HEAPU8,
    addFunction: (fn, sig) => mod.addFunction(fn, sig),
  };
}

// Lua 5.4 appends ".0" to integral floats (tostring(10/2) == "5.0"); LuaJIT, which OpenResty
// code is written against, prints "5". The check is `buff[strspn(buff, "-0123456789")] == 0`
// on the "%.14g" output; emptying that set makes strspn return 0, so ".0" is never added.
// The set string occurs once in the data segment.
function patchNumberFormat(heap: Uint8Array): void {
  const b = Buffer.from(heap.buffer, heap.byteOffset, heap.length);
  const pat = Buffer.from('\0-0123456789\0', 'latin1');
  const at = b.indexOf(pat);
  if (at < 0 || b.indexOf(pat, at + 1) >= 0) throw new Error('ngxlua: unexpected Lua WASM build');
  heap[at + 1] = 0;
}
