// The Lua VM boundary: LuaJIT through our Node-API addon (native/engine.c). Every read and write
// of Lua values goes through this class; no other TypeScript knows the engine's C API. Lua strings
// are byte strings: they cross as Buffers (or latin1 JS strings for names), never as UTF-8 text.
//
// A JS function that Lua calls (pushFunction) returns how many values it left on the stack, or
// YIELD after recording why; to raise a Lua error it pushes the error value and throws LUA_THROW
// (error(), argError(), throwTop() do both). The addon's trampoline raises or yields once JS has
// returned: LuaJIT cannot unwind through V8 frames.
import { createRequire } from 'node:module';
import { PrefixCopier } from '../util/copyout.js';

export const LUA_REGISTRYINDEX = -10000;
/** luaL_ref's "no reference" */
export const LUA_NOREF = -2;
export const LUA_GLOBALSINDEX = -10002;
export const T_NONE = -1, T_NIL = 0, T_BOOLEAN = 1, T_LIGHTUSERDATA = 2, T_NUMBER = 3, T_STRING = 4,
  T_TABLE = 5, T_FUNCTION = 6, T_USERDATA = 7, T_THREAD = 8, T_CDATA = 10;
export const LUA_OK = 0, LUA_YIELD = 1, LUA_ERRRUN = 2, LUA_ERRSYNTAX = 3, LUA_ERRMEM = 4;

export const TYPE_NAMES = ['nil', 'boolean', 'userdata', 'number', 'string', 'table', 'function', 'userdata', 'thread', 'proto', 'cdata'];

/** What a JS function returns to make its Lua caller yield (with no values). */
export const YIELD = -2;
const RC_ERROR = -1;

/** Thrown by a JS function (through error(), argError(), throwTop()) once the error value is pushed. */
export const LUA_THROW: unique symbol = Symbol('lua error');

/** A JS function callable from Lua: gets the calling state and its argument count. */
export type JsLuaFn = (L: number, nargs: number) => number;
/**
 * A string function (pushStrFunction), for __index lookups: gets the key (argument 2) when it is
 * a string, else undefined; returns the one result as a string (or null for nil), or a result
 * count as a JsLuaFn does.
 */
export type JsLuaStrFn = (L: number, key: string | undefined) => string | null | number;

/** The addon's exports (native/engine.c). Lua states and pointers are numbers. */
interface Engine {
  newstate(): number;
  close(L: number): void;
  setdispatch(fn: () => number, callbuf: Float64Array, sfn: (key: string | undefined) => string | null | number): void;
  setscratch(b: Uint8Array): void;
  version(): string;
  gettop(L: number): number;
  settop(L: number, i: number): void;
  pushvalue(L: number, i: number): void;
  insert(L: number, i: number): void;
  remove(L: number, i: number): void;
  type(L: number, i: number): number;
  checkstack(L: number, n: number): number;
  pushnil(L: number): void;
  toboolean(L: number, i: number): number;
  tonumber(L: number, i: number): number;
  tonumberx(L: number, i: number): number | null;
  touserdata(L: number, i: number): number;
  tothread(L: number, i: number): number;
  topointer(L: number, i: number): number;
  objlen(L: number, i: number): number;
  createtable(L: number, narr: number, nrec: number): void;
  rawget(L: number, i: number): number;
  rawset(L: number, i: number): void;
  rawgeti(L: number, i: number, n: number): number;
  rawseti(L: number, i: number, n: number): void;
  rawsetinum(L: number, i: number, n: number, v: number): void;
  getmetatable(L: number, i: number): number;
  setmetatable(L: number, i: number): void;
  next(L: number, i: number): number;
  newthread(L: number): number;
  pushthread(L: number): number;
  status(L: number): number;
  isyieldable(L: number): number;
  newuserdata(L: number, size: number): void;
  ref(L: number, t: number): number;
  unref(L: number, t: number, ref: number): void;
  errmsg(L: number, level: number, msg: string): void;
  setfinalizerhook(fn: (msg: string) => void): void;
  resume(L: number, nargs: number, ref?: number): number;
  startref(L: number, ref: number): void;
  xmove(from: number, to: number, n: number): void;
  pushnumber(L: number, n: number): void;
  pushboolean(L: number, b: boolean): void;
  pushlightuserdata(L: number, p: number): void;
  pushbufptr(L: number, b: ArrayBufferView): void;
  pushstr(L: number, s: string): void;
  pushbytes(L: number, b: Uint8Array): void;
  pushbytesat(L: number, b: Uint8Array, off: number, n: number): void;
  tostr(L: number, i: number): string | null;
  tobuf(L: number, i: number): number;
  numstr(L: number, i: number): string;
  strargs(L: number, from: number, to: number, nl: boolean): number;
  tabbytes(L: number, idx: number): number;
  rawnum(L: number, idx: number, n: number): number;
  pushpairs(L: number, data: string | Buffer, lens: Uint32Array, count: number, lower: boolean, mtRef: number): number;
  pushsfn(L: number, id: number): void;
  getfield(L: number, i: number, k: string): number;
  setfield(L: number, i: number, k: string): void;
  pushfn(L: number, id: number, nup: number, args?: number): void;
  pcall(L: number, nargs: number, nres: number, errfunc: number): number;
  setlimits(L: number, runningMs: number, memoryBytes: number): number;
  collect(L: number, trim: boolean): void;
  load(L: number, code: Uint8Array, name: string): number;
  traceback(L: number, L1: number, level: number): string;
  argerror(L: number, narg: number, msg: string): void;
  logwhere(L: number, level: number): string;
  shdopen(name: string, size: number, fd: number): number;
  shdsuppress(on: number): void;
  listensocket(host: string, port: number, backlog: number, reuseport: number): number;
}

const E = createRequire(import.meta.url)('../../../build/Release/ngxlua_engine.node') as Engine;

/** The addon's process-wide parts: shared-dict zones (native/shdict.c) and listening sockets
 * for a master's workers (native/listen.c). Negative results are -errno. */
export const processNative = {
  shdOpen: (name: string, size: number, fd = -1): number => E.shdopen(name, size, fd),
  shdSuppress: (on: boolean): void => E.shdsuppress(on ? 1 : 0),
  listenSocket: (host: string, port: number, backlog: number, reuseport: boolean): number => E.listensocket(host, port, backlog, reuseport ? 1 : 0),
};

/** The engine's name and version, for `ngxlua -V`. */
export const ENGINE_VERSION = E.version();

// Strings leave Lua by a copy into this JS-owned buffer (one per thread, shared by its VMs).
const SCRATCH_SIZE = 64 * 1024;
let scratch: Buffer = Buffer.allocUnsafeSlow(SCRATCH_SIZE);
E.setscratch(scratch);
const scratchOut = new PrefixCopier(scratch);
// the last view of the scratch buffer handed out, reused while its length repeats
let scratchView: Buffer = scratch.subarray(0, 0);
function viewOfScratch(n: number): Buffer {
  if (scratchView.length !== n || scratchView.buffer !== scratch.buffer) scratchView = scratch.subarray(0, n);
  return scratchView;
}
function setScratch(b: Buffer): void {
  scratch = b;
  scratchOut.setSource(b);
  E.setscratch(b);
}
/** A scratch buffer grown past this for one big string goes back to SCRATCH_SIZE after it. */
const SCRATCH_KEEP = 1024 * 1024;

// Lua -> JS calls go through one dispatcher: functions are numbered, owners kept for diagnostics.
// The trampoline passes the call's state, function id and argument count in callbuf rather than
// as arguments: creating three JS values per call costs more than three stores.
const fns: Array<JsLuaFn | undefined> = [];
const owners: Array<LuaVM | undefined> = [];
const freeIds: number[] = [];
// slot 3: a string function's key when that is a number (the key argument is then undefined);
// slot 4: an args function's argument bytes in the scratch buffer (argsFn; -3 for other calls);
// slots 5-12: a plain call's first arguments as the trampoline found them (argType, argNum);
// slot 13: a number result (retNumber); slot 14: whether the calling state (slot 0) can yield.
// The layout is native/engine.c's CB_*. Slots 0 and 5-14 are as the innermost running call
// found them: a call made meanwhile puts them back.
const CB_KEYNUM = 3, CB_ARGSLEN = 4, CB_TYPES = 5, CB_NUMS = 9, CB_RET = 13, CB_YIELDABLE = 14;
const RC_NUMBER = -4;
const callbuf = new Float64Array(CB_YIELDABLE + 1);
/** The number a string function was called with as its key (what Lua passed as argument 2). */
export function keyNumber(): number {
  return callbuf[CB_KEYNUM];
}
const fail = (e: unknown, L: number, id: number): number => {
  if (e === LUA_THROW) return RC_ERROR;
  owners[id]?.onInternalError(e);
  E.errmsg(L, 1, `internal error: ${(e as Error)?.stack ?? String(e)}`);
  return RC_ERROR;
};
E.setdispatch(() => {
  const L = callbuf[0], id = callbuf[1], nargs = callbuf[2];
  try {
    return fns[id]!(L, nargs);
  } catch (e) {
    return fail(e, L, id);
  }
}, callbuf, (key) => {
  const L = callbuf[0], id = callbuf[1];
  try {
    return (fns[id] as unknown as JsLuaStrFn)(L, key);
  } catch (e) {
    return fail(e, L, id);
  }
});

/** Marks a string function for setFuncs (strFn). */
const STR_FN: unique symbol = Symbol('string function');
/** A JsLuaStrFn to go in a setFuncs record: setFuncs pushes it as a string function. */
export function strFn(f: JsLuaStrFn): JsLuaFn {
  (f as unknown as { [STR_FN]: true })[STR_FN] = true;
  return f as unknown as JsLuaFn;
}

/** Marks an args function for setFuncs (argsFn). */
const ARGS_FN: unique symbol = Symbol('args function');
/**
 * A JsLuaFn whose arguments, all strings or numbers in the common case, are wanted as one byte
 * string: the trampoline copies them into the scratch buffer before the call, and callArgs
 * takes them there (one crossing instead of two).
 */
export function argsFn(f: JsLuaFn): JsLuaFn {
  (f as unknown as { [ARGS_FN]: true })[ARGS_FN] = true;
  return f;
}

// pushPairs' key and value lengths, grown as needed
let pairLens = new Uint32Array(256);

// A finalizer (__gc, ffi.gc) that raised during an allocation made from JS: the VMs' handler logs it.
let finalizerHandler: (msg: string) => void = () => {};
E.setfinalizerhook((msg) => finalizerHandler(msg));

export class LuaVM {
  readonly L: number;
  private readonly ids: number[] = [];
  private closed = false;
  /** set by a JS function that fails with a non-Lua exception, for diagnostics */
  onInternalError: (e: unknown) => void = () => {};
  /** a finalizer raised while JS allocated (in Lua code, its error is the running thread's) */
  set onFinalizerError(fn: (msg: string) => void) {
    finalizerHandler = fn;
  }

  static async create(): Promise<LuaVM> {
    return new LuaVM();
  }

  private constructor() {
    this.L = E.newstate();
  }

  /**
   * lua_max_running_time and lua_max_memory (0 = off) for every entry into this state. False
   * when the watchdog thread cannot be started.
   */
  setLimits(runningMs: number, memoryBytes: number): boolean {
    return E.setlimits(this.L, runningMs, memoryBytes) === 0;
  }

  /** A full garbage collection of the Lua heap; `trim` also returns the C heap's free pages. */
  collect(trim = false): void {
    E.collect(this.L, trim);
  }

  /** Frees the state and the JS functions registered for it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    E.close(this.L);
    for (const id of this.ids) {
      fns[id] = undefined;
      owners[id] = undefined;
      freeIds.push(id);
    }
    this.ids.length = 0;
  }

  // ---- a call's arguments, as the trampoline found them --------------------------------------
  // A function Lua calls (pushFunction) gets the types of its first four arguments, their
  // values when numbers, and its self's [1] (a socket's handle) without a crossing per question.
  // They describe the stack at entry: once the function has changed its stack, ask vm.type.

  /** The type of argument i (1..4) at entry, T_NONE past the last. */
  argType(i: number): number {
    return callbuf[CB_TYPES - 1 + i];
  }
  /** Argument i's value when argType(i) is T_NUMBER; for a table argument 1, its [1] when that
   * is a number, else 0. */
  argNum(i: number): number {
    return callbuf[CB_NUMS - 1 + i];
  }
  /** `return vm.retNumber(n)`: the function's one result is the number n (no crossing to push it).
   * Only for the value a pushFunction function returns to Lua. */
  retNumber(n: number): number {
    callbuf[CB_RET] = n;
    return RC_NUMBER;
  }

  // ---- stack -----------------------------------------------------------------------------

  top(L: number): number {
    return E.gettop(L);
  }
  setTop(L: number, i: number): void {
    E.settop(L, i);
  }
  pop(L: number, n = 1): void {
    E.settop(L, -n - 1);
  }
  pushValue(L: number, i: number): void {
    E.pushvalue(L, i);
  }
  /** Moves the top value into position i, shifting the values above it up. */
  insert(L: number, i: number): void {
    E.insert(L, i);
  }
  remove(L: number, i: number): void {
    E.remove(L, i);
  }
  checkStack(L: number, n: number): boolean {
    return E.checkstack(L, n) !== 0;
  }
  /** Pops n values from `from` and pushes them onto `to` (threads of one VM). */
  xmove(from: number, to: number, n: number): void {
    E.xmove(from, to, n);
  }

  // ---- pushing ---------------------------------------------------------------------------

  pushNil(L: number): void {
    E.pushnil(L);
  }
  pushBytes(L: number, b: Uint8Array): void {
    E.pushbytes(L, b);
  }
  /** Push the n bytes of b from offset off (no view of them made). */
  pushBytesAt(L: number, b: Uint8Array, off: number, n: number): void {
    E.pushbytesat(L, b, off, n);
  }
  /** Push a latin1 JS string (one char per byte) as a Lua string. */
  pushStr(L: number, s: string): void {
    E.pushstr(L, s);
  }
  pushNumber(L: number, n: number): void {
    E.pushnumber(L, n);
  }
  pushBool(L: number, b: boolean): void {
    E.pushboolean(L, b);
  }
  /** A light userdata for a pointer value (0: the NULL that ngx.null is). */
  pushLightUserdata(L: number, p: number): void {
    E.pushlightuserdata(L, p);
  }
  /** A light userdata for the bytes of b (which must outlive every use from Lua). */
  pushBufPtr(L: number, b: ArrayBufferView): void {
    E.pushbufptr(L, b);
  }
  /** Pushes L's own thread object; true when L is the main thread. */
  pushThread(L: number): boolean {
    return E.pushthread(L) !== 0;
  }
  createTable(L: number, narr = 0, nrec = 0): void {
    E.createtable(L, narr, nrec);
  }
  /** A full userdata of `size` bytes (a unique object for identity). */
  newUserdata(L: number, size: number): void {
    E.newuserdata(L, size);
  }
  /** A new coroutine, pushed onto L; returns its state. */
  newThread(L: number): number {
    return E.newthread(L);
  }

  /** Push a JS function; the `nup` values on top of the stack become its upvalues 1..nup. */
  pushFunction(L: number, f: JsLuaFn, nup = 0): void {
    E.pushfn(L, this.fnId(f), nup);
  }

  /** Push a string function (JsLuaStrFn): one boundary crossing per lookup. */
  pushStrFunction(L: number, f: JsLuaStrFn): void {
    E.pushsfn(L, this.fnId(f as unknown as JsLuaFn));
  }

  /** Registers f for pushFunctionId (functions pushed many times are registered once). */
  fnId(f: JsLuaFn): number {
    const id = freeIds.pop() ?? fns.length;
    fns[id] = f;
    owners[id] = this;
    this.ids.push(id);
    return id;
  }
  pushFunctionId(L: number, id: number, nup = 0): void {
    E.pushfn(L, id, nup);
  }

  /** The pseudo-index of a JS function's upvalue i (1-based, as given to pushFunction). */
  upvalueIndex(i: number): number {
    return LUA_GLOBALSINDEX - (i + 1);
  }

  /** t[name] = f for each entry, t at stack index idx. */
  setFuncs(L: number, idx: number, funcs: Record<string, JsLuaFn>): void {
    const t = idx < 0 ? E.gettop(L) + idx + 1 : idx;
    for (const [name, f] of Object.entries(funcs)) {
      if (STR_FN in f) this.pushStrFunction(L, f as unknown as JsLuaStrFn);
      else if (ARGS_FN in f) E.pushfn(L, this.fnId(f), 0, 1);
      else this.pushFunction(L, f);
      E.setfield(L, t, name);
    }
  }

  // ---- tables (raw access: no metamethod runs, so nothing can raise into JS) ----------------

  /** Pushes t[name] for the table at idx; returns the value's type. */
  getField(L: number, idx: number, name: string): number {
    return E.getfield(L, idx, name);
  }
  /** t[name] = the top value (popped), t at idx. */
  setField(L: number, idx: number, name: string): void {
    E.setfield(L, idx, name);
  }
  getGlobal(L: number, name: string): number {
    return E.getfield(L, LUA_GLOBALSINDEX, name);
  }
  setGlobal(L: number, name: string): void {
    E.setfield(L, LUA_GLOBALSINDEX, name);
  }
  /** Pushes t[k] (k popped) for the table at idx; returns its type. */
  rawGet(L: number, idx: number): number {
    return E.rawget(L, idx);
  }
  /** t[k] = v with k and v popped. */
  rawSet(L: number, idx: number): void {
    E.rawset(L, idx);
  }
  rawGetI(L: number, idx: number, n: number): number {
    return E.rawgeti(L, idx, n);
  }
  rawSetI(L: number, idx: number, n: number): void {
    E.rawseti(L, idx, n);
  }
  /** t[n] = v for the table t at idx (one call instead of a push and a rawSetI). */
  rawSetINumber(L: number, idx: number, n: number, v: number): void {
    E.rawsetinum(L, idx, n, v);
  }
  rawLen(L: number, idx: number): number {
    return E.objlen(L, idx);
  }
  /** lua_next: pops a key, pushes the next key and value; false at the end. */
  next(L: number, idx: number): boolean {
    return E.next(L, idx) !== 0;
  }
  /** Pushes the metatable of the value at idx; false (nothing pushed) when it has none. */
  getMetatable(L: number, idx: number): boolean {
    return E.getmetatable(L, idx) !== 0;
  }
  setMetatable(L: number, idx: number): void {
    E.setmetatable(L, idx);
  }

  // ---- reading ---------------------------------------------------------------------------

  type(L: number, idx: number): number {
    return E.type(L, idx);
  }

  /** Bytes of the string (or number, converted in place) at idx, copied out; null otherwise. */
  toBuffer(L: number, idx: number): Buffer | null {
    const n = this.scratchCopy(L, idx);
    if (n < 0) return null;
    const b = scratchOut.copy(n);
    this.shrinkScratch();
    return b;
  }

  /**
   * The arguments from..to concatenated (and a newline when nl), when all are strings or numbers
   * (numbers as ngx.say writes them, numStr); null when one is of another type.
   */
  argsBuffer(L: number, from: number, to: number, nl: boolean): Buffer | null {
    let n = E.strargs(L, from, to, nl);
    if (n === -1) return null;
    if (n < -1) {
      this.growScratch(-n - 2);
      n = E.strargs(L, from, to, nl);
    }
    const b = scratchOut.copy(n);
    this.shrinkScratch();
    return b;
  }

  /**
   * In an args function (argsFn) called with n arguments: argsBuffer(L, 1, n, nl), from what
   * the trampoline already copied.
   */
  callArgs(L: number, n: number, nl: boolean): Buffer | null {
    const len = callbuf[CB_ARGSLEN];
    if (len === -1) return null;
    // past the scratch buffer's size (the copy is made again once it has grown), or not
    // called through the args trampoline
    if (len < -1) return this.argsBuffer(L, 1, n, nl);
    return scratchOut.copy(len, nl);
  }

  /** t[n] of the table at idx when it is a number, else 0 (raw access, one call). */
  rawNumber(L: number, idx: number, n: number): number {
    return E.rawnum(L, idx, n);
  }

  /**
   * The array table at idx (nested arrays of strings and integers) as one buffer, in one call;
   * null for anything else (holes, other keys or types, a fraction), which the caller walks itself.
   */
  tableBytes(L: number, idx: number): Buffer | null {
    const n = E.tabbytes(L, idx);
    if (n < 0) return null;
    const b = scratchOut.copy(n);
    return b;
  }
  /** tableBytes as a view (not a copy): valid only until the next VM call. */
  tableView(L: number, idx: number): Buffer | null {
    const n = E.tabbytes(L, idx);
    return n < 0 ? null : viewOfScratch(n);
  }

  /**
   * Push a new table of (key, value) string pairs, a repeated key's values gathered into an array
   * in order (ngx_lua's header tables); lower lower-cases the keys (ASCII). Returns the table's
   * stack index, or -1 when nothing could be pushed.
   */
  pushPairs(L: number, pairs: ReadonlyArray<readonly [string, string]>, count: number, lower: boolean, mtRef = LUA_NOREF): number {
    if (pairLens.length < count * 2) pairLens = new Uint32Array(count * 2 + 64);
    let data = '';
    for (let i = 0; i < count; i++) {
      const [k, v] = pairs[i];
      pairLens[2 * i] = k.length;
      pairLens[2 * i + 1] = v.length;
      data += k + v;
    }
    return E.pushpairs(L, data, pairLens, count, lower, mtRef);
  }

  /**
   * pushPairs for pairs already packed: names and values one after another in data, their
   * lengths in lens (a value's 0xffffffff: true), as util/uri.ts decodeArgsPacked gives them.
   */
  pushPackedPairs(L: number, data: Buffer, lens: Uint32Array, count: number): number {
    return E.pushpairs(L, data, lens, count, false, LUA_NOREF);
  }

  /** The number at idx as ngx.say, ngx.print and ngx.log write it: -0 is 0, NaN keeps its sign. */
  numStr(L: number, idx: number): string {
    return E.numstr(L, idx);
  }

  /** A view (not a copy) of the string at idx: valid only until the next VM call. */
  viewBuffer(L: number, idx: number): Buffer | null {
    const n = this.scratchCopy(L, idx);
    if (n < 0) return null;
    const v = viewOfScratch(n);
    // the view keeps a grown buffer alive for as long as the caller holds it
    this.shrinkScratch();
    return v;
  }

  private scratchCopy(L: number, idx: number): number {
    let n = E.tobuf(L, idx);
    if (n > scratch.length) {
      this.growScratch(n);
      n = E.tobuf(L, idx);
    }
    return n;
  }

  /** One big string must not keep a buffer of its size for the life of the process. */
  private shrinkScratch(): void {
    if (scratch.length <= SCRATCH_KEEP) return;
    setScratch(Buffer.allocUnsafeSlow(SCRATCH_SIZE));
  }

  private growScratch(n: number): void {
    let size = scratch.length;
    while (size < n) size *= 2;
    setScratch(Buffer.allocUnsafeSlow(size));
  }

  /** The string at idx as a latin1 JS string; null when not a string or number. */
  toStr(L: number, idx: number): string | null {
    return E.tostr(L, idx);
  }

  toNumber(L: number, idx: number): number {
    return E.tonumber(L, idx);
  }

  /** number at idx or null when the value is not convertible */
  toNumberOrNull(L: number, idx: number): number | null {
    return E.tonumberx(L, idx);
  }

  /** A number with an integral value (LuaJIT has one number type). */
  isInteger(L: number, idx: number): boolean {
    return E.type(L, idx) === T_NUMBER && Number.isInteger(E.tonumber(L, idx));
  }

  toBool(L: number, idx: number): boolean {
    return E.toboolean(L, idx) !== 0;
  }

  toUserdata(L: number, idx: number): number {
    return E.touserdata(L, idx);
  }
  toThread(L: number, idx: number): number {
    return E.tothread(L, idx);
  }
  toPointer(L: number, idx: number): number {
    return E.topointer(L, idx);
  }

  /** Lua's name for the type at idx (`no value` for an absent argument). */
  typeName(L: number, idx: number): string {
    const t = E.type(L, idx);
    return t === T_NONE ? 'no value' : TYPE_NAMES[t] ?? 'unknown';
  }

  // ---- threads ---------------------------------------------------------------------------

  /**
   * lua_resume(co, nargs): the yielded/returned values (or the error) are left on co; their
   * count is in resumeCount until the next resume. With ref (> 0), co first starts the registry
   * value ref on an empty stack, as startRef does, in the same call.
   */
  resume(co: number, nargs: number, ref = 0): number {
    const r = E.resume(co, nargs, ref);
    this.resumeCount = r >> 3;
    return r & 7;
  }
  resumeCount = 0;

  /** Empties co's stack and pushes the registry value `ref` (the function a coroutine will run). */
  startRef(co: number, ref: number): void {
    E.startref(co, ref);
  }
  status(co: number): number {
    return E.status(co);
  }
  isYieldable(L: number): boolean {
    // inside a call from L (the usual case: an operation about to wait), the trampoline knows
    if (callbuf[0] === L) return callbuf[CB_YIELDABLE] !== 0;
    return E.isyieldable(L) !== 0;
  }

  /** A protected call; the status, with the error value on top when it failed. */
  pcall(L: number, nargs: number, nres: number, errfunc = 0): number {
    return E.pcall(L, nargs, nres, errfunc);
  }

  /** Call from inside a JS function: an error in the callee is raised in the caller. */
  call(L: number, nargs: number, nres: number): void {
    if (E.pcall(L, nargs, nres, 0) !== LUA_OK) throw LUA_THROW;
  }

  // ---- references ------------------------------------------------------------------------

  /** Pops the top value into the registry and returns its reference. */
  ref(L: number): number {
    return E.ref(L, LUA_REGISTRYINDEX);
  }

  unref(ref: number): void {
    E.unref(this.L, LUA_REGISTRYINDEX, ref);
  }

  pushRef(L: number, ref: number): void {
    E.rawgeti(L, LUA_REGISTRYINDEX, ref);
  }

  // ---- anchors ---------------------------------------------------------------------------
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
      E.createtable(this.L, 0, 0);
      this.anchorTable = this.ref(this.L);
    }
    this.pushRef(L, this.anchorTable);
    E.insert(L, -2);
    const slot = E.ref(L, -2);
    E.settop(L, -2);
    this.anchorsLive++;
    this.anchorsMade++;
    return slot;
  }

  unanchor(slot: number): void {
    const L = this.L;
    this.pushRef(L, this.anchorTable);
    E.unref(L, -1, slot);
    E.settop(L, -2);
    if (--this.anchorsLive === 0 && this.anchorsMade > 1024) {
      this.unref(this.anchorTable);
      this.anchorTable = 0;
      this.anchorsMade = 0;
    }
  }

  /** Whether only `n` anchors are left after a burst of more than 1,024 (see compactAnchors). */
  anchorsOnly(n: number): boolean {
    return n > 0 && this.anchorsLive === n && this.anchorsMade > 1024;
  }

  /**
   * When the only anchors left are `keep` (slots still wanted) after a burst, move them into a
   * fresh table so that the grown one is collected; returns their new slots (or null: not now).
   */
  compactAnchors(keep: number[]): number[] | null {
    if (!this.anchorsOnly(keep.length)) return null;
    const L = this.L;
    const old = this.anchorTable;
    E.createtable(L, keep.length, 0);
    this.anchorTable = this.ref(L);
    const slots = keep.map((slot) => {
      this.pushRef(L, old);
      E.rawgeti(L, -1, slot);
      E.remove(L, -2);
      this.pushRef(L, this.anchorTable);
      E.insert(L, -2);
      const s = E.ref(L, -2);
      E.settop(L, -2);
      return s;
    });
    this.unref(old);
    this.anchorsMade = keep.length;
    return slots;
  }

  pushAnchored(L: number, slot: number): void {
    this.pushRef(L, this.anchorTable);
    E.rawgeti(L, -1, slot);
    E.remove(L, -2);
  }

  // ---- errors (from inside a JS function called by Lua) ---------------------------------

  /** Raise a Lua error with msg, prefixed with the caller's position as luaL_error does. */
  error(L: number, msg: string): never {
    E.errmsg(L, 1, msg);
    throw LUA_THROW;
  }

  /** Raise a Lua error with msg exactly as given. */
  errorRaw(L: number, msg: string): never {
    E.pushstr(L, msg);
    throw LUA_THROW;
  }

  /** Raise the value on top of the stack as the error, as it is. */
  throwError(): never {
    throw LUA_THROW;
  }

  /** `bad argument #n to 'fname' (msg)`, the function name found as luaL_argerror does. */
  argError(L: number, n: number, msg: string): never {
    E.argerror(L, n, msg);
    throw LUA_THROW;
  }

  /** `<short_src>:<line>: <fn>(): ` for the Lua function `level` frames up, as ngx.log writes it. */
  logWhere(L: number, level: number): string {
    return E.logwhere(L, level);
  }

  /** luaL_traceback of L1 (`stack traceback:\n\t...`). */
  traceback(L: number, L1: number, level: number): string {
    return E.traceback(L, L1, level);
  }

  // ---- chunks ------------------------------------------------------------------------------

  /** Compile `code` under `chunkName` and leave the function (or error message) on L's stack. */
  load(L: number, code: Uint8Array, chunkName: string): number {
    return E.load(L, code, chunkName);
  }
}
