// What lua/re.lua needs from the host besides PCRE (which it reaches through FFI, native/regex.c):
// the lua_regex_* directives, the error log for replacement-template errors (ngx_lua logs them
// without a request context), and ngx.encode_args / decode_args / quote_sql_str (args.ts).
import type { Runtime } from '../core/runtime.js';
import type { JsLuaFn } from '../lua/vm.js';
import { registerArgs } from './args.js';

export function registerRe(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    regex_match_limit: (L) => {
      vm.pushNumber(L, rt.http?.luaRegexMatchLimit ?? 0);
      return 1;
    },
    regex_cache_max_entries: (L) => {
      vm.pushNumber(L, rt.http?.luaRegexCacheMaxEntries ?? 1024);
      return 1;
    },
    log_error: (L) => {
      rt.log.log('error', vm.toStr(L, 1) ?? '');
      return 0;
    },
    /** whether debug lines are wanted (checked once per compile with the j option) */
    debug_on: (L) => {
      vm.pushBool(L, rt.log.debugOn);
      return 1;
    },
    log_debug: (L) => {
      rt.logCtx('debug', vm.toStr(L, 1) ?? '', rt.current());
      return 0;
    },
    ...registerArgs(rt),
  };
}
