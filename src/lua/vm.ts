// The Lua VM boundary: every read and write of Lua values goes through here. Lua strings are
// byte strings, so they cross as Buffers (or latin1 JS strings for names), never as UTF-8 text.
import { loadLuaModule, type LuaRaw } from './wasm.js';

export const LUA_REGISTRYINDEX = -1001000;
export const LUA_RIDX_GLOBALS = 2n;
export const T_NONE = -1, T_NIL = 0, T_BOOLEAN = 1, T_LIGHTUSERDATA = 2, T_NUMBER = 3, T_STRING = 4,
  T_TABLE = 5, T_FUNCTION = 6, T_USERDATA = 7, T_THREAD = 8;
export const LUA_OK = 0, LUA_YIELD = 1, LUA_ERRRUN = 2, LUA_ERRSYNTAX = 3, LUA_ERRMEM = 4;

export const TYPE_NAMES = ['nil', 'boolean', 'userdata', 'number', 'string', 'table', 'function', 'userdata', 'thread'];

export type JsLuaFn = (L: number) => number;

/** Thrown by emscripten's longjmp (`throw Infinity`): lua_error / lua_yield unwinding through JS frames. */
function isLongjmp(e: unknown): boolean {
  return e === Infinity;
}

export class LuaVM {
  readonly raw: LuaRaw;
  readonly L: number;
  private heapView: Buffer;
  private heapRef: ArrayBufferLike;
  private readonly getHeap: () => Uint8Array;
  private readonly addFn: (fn: (...a: number[]) => number, sig: string) => number;
  /** 16 bytes for out-parameters (string lengths, isnum flags) */
  private readonly scratch: number;
  /** growable staging buffer for strings pushed into Lua */
  private sbuf: number;
  private sbufSize: number;
  private readonly cstrs = new Map<string, number>();
  /** set by a JS function that fails with a non-Lua exception, for diagnostics */
  onInternalError: (e: unknown) => void = () => {};

  static async create(): Promise<LuaVM> {
    return new LuaVM(await loadLuaModule());
  }

  private constructor(mod: Awaited<ReturnType<typeof loadLuaModule>>) {
    this.raw = mod.raw;
    this.getHeap = mod.heap;
    this.addFn = mod.addFunction;
    const h = mod.heap();
    this.heapRef = h.buffer;
    this.heapView = Buffer.from(h.buffer, h.byteOffset, h.length);
    this.scratch = this.raw.malloc(16);
    this.sbufSize = 4096;
    this.sbuf = this.raw.malloc(this.sbufSize);
    this.L = this.raw.luaL_newstate();
    this.raw.luaL_openlibs(this.L);
  }

  /** A Buffer over all of linear memory, renewed when memory grows. */
  heap(): Buffer {
    const h = this.getHeap();
    if (h.buffer !== this.heapRef) {
      this.heapRef = h.buffer;
      this.heapView = Buffer.from(h.buffer, h.byteOffset, h.length);
    }
    return this.heapView;
  }

  /** A NUL-terminated C string that lives as long as the VM (for field names, chunk names). */
  cstr(s: string): number {
    let p = this.cstrs.get(s);
    if (p === undefined) {
      const b = Buffer.from(s + '\0', 'latin1');
      p = this.raw.malloc(b.length);
      this.heap().set(b, p);
      this.cstrs.set(s, p);
    }
    return p;
  }

  private ensureSbuf(n: number): number {
    if (n > this.sbufSize) {
      let size = this.sbufSize;
      while (size < n) size *= 2;
      this.raw.free(this.sbuf);
      this.sbuf = this.raw.malloc(size);
      if (!this.sbuf) throw new Error('ngxlua: out of WASM memory');
      this.sbufSize = size;
    }
    return this.sbuf;
  }

  // ---- pushing -------------------------------------------------------------------------

  pushBytes(L: number, b: Uint8Array): void {
    const p = this.ensureSbuf(b.length + 1);
    this.heap().set(b, p);
    this.raw.lua_pushlstring(L, p, b.length);
  }

  /** Push a latin1 JS string (one char per byte) as a Lua string. */
  pushStr(L: number, s: string): void {
    const n = s.length;
    const p = this.ensureSbuf(n + 1);
    const w = this.heap().write(s, p, n, 'latin1');
    this.raw.lua_pushlstring(L, p, w);
  }

  pushNumber(L: number, n: number): void {
    if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER && !Object.is(n, -0)) {
      this.raw.lua_pushinteger(L, BigInt(n));
    } else {
      this.raw.lua_pushnumber(L, n);
    }
  }

  pushFloat(L: number, n: number): void {
    this.raw.lua_pushnumber(L, n);
  }

  pushBool(L: number, b: boolean): void {
    this.raw.lua_pushboolean(L, b ? 1 : 0);
  }

  /**
   * Push a JS function as a Lua C function. The wrapper turns stray JS exceptions into Lua
   * errors; `wrap = false` skips it for the API's primitives, which run only inside scheduled
   * threads, where the scheduler's resume catches such an exception instead (the wrapper's
   * catch-and-rethrow of every yield costs about a tenth of a cosocket round trip).
   */
  pushFunction(L: number, f: JsLuaFn, wrap = true): void {
    this.raw.lua_pushcclosure(L, this.fnPtr(f, wrap), 0);
  }

  fnPtr(f: JsLuaFn, wrap = true): number {
    if (!wrap) return this.addFn(f, 'ii');
    const wrapped = (L1: number): number => {
      try {
        return f(L1);
      } catch (e) {
        if (isLongjmp(e)) throw e;
        this.onInternalError(e);
        return this.error(L1, `internal error: ${(e as Error)?.stack ?? String(e)}`);
      }
    };
    return this.addFn(wrapped, 'ii');
  }

  /** t[name] = f for each entry, t at stack index idx (absolute or negative). */
  setFuncs(L: number, idx: number, funcs: Record<string, JsLuaFn>, wrap = true): void {
    const t = idx < 0 ? this.raw.lua_gettop(L) + idx + 1 : idx;
    for (const [name, f] of Object.entries(funcs)) {
      this.pushFunction(L, f, wrap);
      this.raw.lua_setfield(L, t, this.cstr(name));
    }
  }

  setField(L: number, idx: number, name: string): void {
    this.raw.lua_setfield(L, idx, this.cstr(name));
  }

  getField(L: number, idx: number, name: string): number {
    return this.raw.lua_getfield(L, idx, this.cstr(name));
  }

  getGlobal(L: number, name: string): number {
    return this.raw.lua_getglobal(L, this.cstr(name));
  }

  setGlobal(L: number, name: string): void {
    this.raw.lua_setglobal(L, this.cstr(name));
  }

  // ---- reading -------------------------------------------------------------------------

  type(L: number, idx: number): number {
    return this.raw.lua_type(L, idx);
  }

  /** Bytes of the string (or number, converted in place) at idx, copied out; null otherwise. */
  toBuffer(L: number, idx: number): Buffer | null {
    const p = this.raw.lua_tolstring(L, idx, this.scratch);
    if (!p) return null;
    const len = this.heap().readUInt32LE(this.scratch);
    return Buffer.from(this.heapView.subarray(p, p + len));
  }

  /** A view (not a copy) of the string at idx: valid only until the next VM call. */
  viewBuffer(L: number, idx: number): Buffer | null {
    const p = this.raw.lua_tolstring(L, idx, this.scratch);
    if (!p) return null;
    const len = this.heap().readUInt32LE(this.scratch);
    return this.heapView.subarray(p, p + len);
  }

  /** The string at idx as a latin1 JS string; null when not a string or number. */
  toStr(L: number, idx: number): string | null {
    const p = this.raw.lua_tolstring(L, idx, this.scratch);
    if (!p) return null;
    const len = this.heap().readUInt32LE(this.scratch);
    return this.heapView.toString('latin1', p, p + len);
  }

  toNumber(L: number, idx: number): number {
    return this.raw.lua_tonumberx(L, idx, 0);
  }

  /** number at idx or null when the value is not convertible */
  toNumberOrNull(L: number, idx: number): number | null {
    const n = this.raw.lua_tonumberx(L, idx, this.scratch);
    return this.heap().readInt32LE(this.scratch) ? n : null;
  }

  isInteger(L: number, idx: number): boolean {
    return this.raw.lua_isinteger(L, idx) !== 0;
  }

  toBool(L: number, idx: number): boolean {
    return this.raw.lua_toboolean(L, idx) !== 0;
  }

  /** Lua's name for the type at idx (`no value` for an absent argument). */
  typeName(L: number, idx: number): string {
    const t = this.raw.lua_type(L, idx);
    return t === T_NONE ? 'no value' : TYPE_NAMES[t] ?? 'unknown';
  }

  top(L: number): number {
    return this.raw.lua_gettop(L);
  }

  pop(L: number, n = 1): void {
    this.raw.lua_settop(L, -n - 1);
  }

  // ---- references ----------------------------------------------------------------------

  /** Pops the top value into the registry and returns its reference. */
  ref(L: number): number {
    return this.raw.luaL_ref(L, LUA_REGISTRYINDEX);
  }

  unref(ref: number): void {
    this.raw.luaL_unref(this.L, LUA_REGISTRYINDEX, ref);
  }

  pushRef(L: number, ref: number): void {
    this.raw.lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(ref));
  }

  // ---- anchors -------------------------------------------------------------------------
  // Coroutines are kept alive by references in a table of their own rather than the registry:
  // a burst of 10,000 light threads grows a table that Lua never shrinks, so once every anchor
  // is gone the table is replaced and the old one (with its free list) is collected.

  private anchorTable = 0;
  /** anchors alive now (for tests and diagnostics) */
  get liveAnchors(): number {
    return this.anchorsLive;
  }
  private anchorsLive = 0;
  private anchorsMade = 0;

  /** Pops the top value into the anchor table; returns its slot. */
  anchor(L: number): number {
    if (!this.anchorTable) {
      this.raw.lua_createtable(this.L, 0, 0);
      this.anchorTable = this.ref(this.L);
    }
    this.pushRef(L, this.anchorTable);
    this.raw.lua_rotate(L, -2, 1);
    const slot = this.raw.luaL_ref(L, -2);
    this.pop(L);
    this.anchorsLive++;
    this.anchorsMade++;
    return slot;
  }

  unanchor(slot: number): void {
    const L = this.L;
    this.pushRef(L, this.anchorTable);
    this.raw.luaL_unref(L, -1, slot);
    this.pop(L);
    if (--this.anchorsLive === 0 && this.anchorsMade > 1024) {
      this.unref(this.anchorTable);
      this.anchorTable = 0;
      this.anchorsMade = 0;
    }
  }

  pushAnchored(L: number, slot: number): void {
    this.pushRef(L, this.anchorTable);
    this.raw.lua_rawgeti(L, -1, BigInt(slot));
    this.raw.lua_rotate(L, -2, 1);
    this.pop(L);
  }

  // ---- errors --------------------------------------------------------------------------

  /** Raise a Lua error with msg (position prefix added like luaL_error). Never returns. */
  error(L: number, msg: string): number {
    this.raw.luaL_where(L, 1);
    this.pushStr(L, msg);
    this.raw.lua_concat(L, 2);
    return this.raw.lua_error(L);
  }

  /** Raise a Lua error with msg exactly as given. Never returns. */
  errorRaw(L: number, msg: string): number {
    this.pushStr(L, msg);
    return this.raw.lua_error(L);
  }

  /** `bad argument #n to 'fname' (msg)`, the function name found as luaL_argerror does. */
  argError(L: number, n: number, msg: string): number {
    const b = Buffer.from(msg + '\0', 'latin1');
    const p = this.ensureSbuf(b.length);
    this.heap().set(b, p);
    return this.raw.luaL_argerror(L, n, p);
  }

  /** Pushes `msg` followed by a traceback of L1 (luaL_traceback). */
  traceback(L: number, L1: number, level: number): string {
    this.raw.luaL_traceback(L, L1, 0, level);
    const s = this.toStr(L, -1) ?? '';
    this.pop(L);
    return s;
  }

  // ---- chunks --------------------------------------------------------------------------

  /** Compile `code` under `chunkName` and leave the function (or error message) on L's stack. */
  load(L: number, code: Uint8Array, chunkName: string): number {
    const n = code.length;
    const p = this.raw.malloc(n + 1);
    this.heap().set(code, p);
    const rc = this.raw.luaL_loadbufferx(L, p, n, this.cstr(chunkName), 0);
    this.raw.free(p);
    return rc;
  }
}
