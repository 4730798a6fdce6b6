// ngx.log and print: error-log lines prefixed with the calling Lua source position
import type { Runtime } from '../core/runtime.js';
import type { LuaContext } from '../core/thread.js';
import { T_BOOLEAN, T_LIGHTUSERDATA, T_NIL, T_NUMBER, T_STRING, T_TABLE, type JsLuaFn, type LuaVM } from '../lua/vm.js';

export const LEVELS = ['stderr', 'emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const;
export type LevelName = (typeof LEVELS)[number];

/** `<short_src>:<line>: <fn>(): ` for the Lua function `level` frames up, as ngx_lua writes it. */
export function luaWhere(vm: LuaVM, L: number, level: number): string {
  return vm.logWhere(L, level);
}

/**
 * Concatenate ngx.log-style arguments from slot `from` on. A bad one is reported by its place
 * among the message arguments (ngx.log's level is not counted), as ngx_lua numbers it.
 */
export function logArgs(vm: LuaVM, L: number, from: number, fname: string): string {
  const n = vm.top(L);
  let s = '';
  for (let i = from; i <= n; i++) {
    const t = vm.type(L, i);
    if (t === T_STRING) s += vm.toStr(L, i);
    else if (t === T_NUMBER) s += vm.numStr(L, i);
    else if (t === T_NIL) s += 'nil';
    else if (t === T_BOOLEAN) s += vm.toBool(L, i) ? 'true' : 'false';
    else if (t === T_LIGHTUSERDATA && vm.toUserdata(L, i) === 0) s += 'null';
    else if (t === T_TABLE && vm.getField(L, i, '__tostring') !== -1 && hasToString(vm, L, i)) {
      vm.getGlobal(L, 'tostring');
      vm.pushValue(L, i);
      vm.call(L, 1, 1);
      s += vm.toStr(L, -1) ?? '';
      vm.pop(L);
    } else {
      vm.argError(L, i - from + 1, `expected table to have __tostring metamethod`);
    }
  }
  void fname;
  return s;
}

function hasToString(vm: LuaVM, L: number, i: number): boolean {
  vm.pop(L); // the getField result
  if (!vm.getMetatable(L, i)) return false;
  const t = vm.getField(L, -1, '__tostring');
  vm.pop(L, 2);
  return t !== 0;
}

export function registerLog(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const write = (L: number, level: number, from: number, fname: string): number => {
    const msg = logArgs(vm, L, from, fname);
    const where = luaWhere(vm, L, 1);
    const ctx = rt.current();
    // ngx.STDERR is nginx's level 0, written with an empty level tag ("[] ")
    rt.log.log(level, `[lua] ${where}${msg}`, ctx?.req ? ctx.req.logContext() : ctxSuffix(ctx));
    return 0;
  };
  return {
    // lua/ngx.lua's protected finalizers report here
    finalizer_error: (L) => {
      rt.logCtx('error', `lua finalizer aborted: runtime error: ${vm.toStr(L, 1) ?? 'unknown reason'}`, rt.current());
      return 0;
    },
    log: (L) => {
      const lv = vm.toNumberOrNull(L, 1);
      if (lv === null || vm.type(L, 1) !== T_NUMBER) return vm.argError(L, 1, `number expected, got ${vm.typeName(L, 1)}`);
      if (lv < 0 || lv > 8) return vm.argError(L, 1, `bad log level: ${lv}`);
      // as ngx_lua's log_wrapper: a level the log does not want is dropped before its
      // arguments are looked at (a table without __tostring is no error then)
      if (!rt.log.enabled(lv)) return 0;
      return write(L, lv, 2, 'log');
    },
    print_log: (L) => (rt.log.enabled(6) ? write(L, 6, 1, 'print') : 0),
    /** ngx.errlog.raw_log: the message as given, no [lua] prefix */
    raw_log: (L) => {
      const lv = vm.toNumberOrNull(L, 1);
      if (lv === null || lv < 0 || lv > 8) return vm.error(L, 'bad log level');
      const msg = vm.toStr(L, 2);
      if (msg === null) return vm.error(L, 'bad argument #2 to \'raw_log\' (must be a string)');
      const ctx = rt.current();
      const lname = LEVELS[lv] === 'stderr' ? 'emerg' : LEVELS[lv];
      rt.log.log(lname as Parameters<typeof rt.log.log>[0], msg, ctx?.req ? ctx.req.logContext() : ctxSuffix(ctx));
      return 0;
    },
    sys_filter_level: (L) => {
      vm.pushNumber(L, rt.log.maxLevel);
      return 1;
    },
  };
}

/** The `, context: ...` suffix nginx adds outside requests. */
export function ctxSuffix(c: LuaContext | string | null | undefined): { connection?: number; context?: string; client?: string; server?: string } | undefined {
  const ctx = typeof c === 'string' ? ({ kind: c, origin: null, connNumber: 0 } as Pick<LuaContext, 'kind' | 'origin' | 'connNumber'>) : c;
  if (ctx?.kind === 'timer') return { connection: ctx.connNumber || undefined, context: 'ngx.timer', client: ctx.origin?.client, server: ctx.origin?.server };
  if (ctx?.kind === 'init_worker') return { context: 'init_worker_by_lua*' };
  return undefined;
}
