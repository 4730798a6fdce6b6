// ngx.exit and ngx.status
import { CTX_OUTPUT, CTX_REQ, Ctx, type Runtime } from '../core/runtime.js';
import { T_NIL, T_NUMBER, T_STRING, T_TABLE, type JsLuaFn, type LuaVM } from '../lua/vm.js';

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/** Query args given as a string, number or table (through ngx.encode_args); null for none. */
export function argsValue(vm: LuaVM, L: number, idx: number, fname: string): string | null {
  const t = vm.type(L, idx);
  if (t === T_NIL || t < 0) return null;
  if (t === T_STRING || t === T_NUMBER) return vm.toStr(L, idx);
  if (t === T_TABLE) {
    vm.getGlobal(L, 'ngx');
    vm.getField(L, -1, 'encode_args');
    vm.pushValue(L, idx);
    vm.call(L, 1, 1);
    const s = vm.toStr(L, -1) ?? '';
    vm.pop(L, 2);
    return s;
  }
  void fname;
  vm.error(L, `string, number, or table expected, but got ${vm.typeName(L, idx)}`);
  return null;
}

/** ngx_lua's escaping of bytes it puts in a log line: controls, `"`, `\\` and non-ASCII as \xHH. */
function escapeLog(s: string): string {
  return s.replace(/[\x00-\x1f"\\\x7f-\xff]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

export function registerControl(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    exit: (L) => {
      const ctx = rt.check(L, CTX_OUTPUT | Ctx.TIMER | Ctx.HEADER_FILTER | Ctx.BALANCER);
      const n = vm.toNumberOrNull(L, 1);
      if (n === null) return vm.argError(L, 1, `number expected, got ${vm.type(L, 1) === 0 ? 'no value' : 'string'}`);
      const status = Math.trunc(n);
      if (status === -2 || status === -4) {
        return vm.error(L, "bad argument to 'ngx.exit': does not accept NGX_AGAIN or NGX_DONE");
      }
      ctx.exitCode = status;
      if (rt.log.debugOn) rt.logCtx('debug', `lua exit with code ${status}`, ctx);
      // where nothing may yield, the handler goes on and its caller reads the code afterwards
      if (ctx.kind === 'header_filter' || ctx.kind === 'balancer') return 0;
      return rt.sched.yieldExit(L);
    },
    redirect: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      const ctx = rt.current()!;
      const uri = vm.toStr(L, 1);
      if (uri === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      const status = vm.type(L, 2) > 0 ? Math.trunc(vm.toNumber(L, 2)) : 302;
      if (!REDIRECT_CODES.has(status)) {
        return vm.error(L, 'only ngx.HTTP_MOVED_TEMPORARILY, ngx.HTTP_MOVED_PERMANENTLY, ngx.HTTP_PERMANENT_REDIRECT, ngx.HTTP_SEE_OTHER, and ngx.HTTP_TEMPORARY_REDIRECT are allowed');
      }
      if (r.headersSent) return vm.error(L, 'attempt to call ngx.redirect after sending out the headers');
      for (let i = 0; i < uri.length; i++) {
        const c = uri.charCodeAt(i);
        if (c < 0x20 || c === 0x7f) return vm.error(L, `unsafe byte "0x${c.toString(16).padStart(2, '0')}" in redirect uri "${escapeLog(uri)}"`);
      }
      r.headersOut.set('Location', [uri]);
      ctx.exitCode = status;
      return rt.sched.yieldExit(L);
    },
    exec: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      const ctx = rt.current()!;
      const nargs = vm.top(L);
      if (nargs !== 1 && nargs !== 2) return vm.error(L, `expecting one or two arguments, but got ${nargs}`);
      const uri = vm.toStr(L, 1);
      if (uri === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      if (uri === '') return vm.error(L, 'The uri argument is empty');
      let args = argsValue(vm, L, 2, 'exec');
      if (r.headersSent) return vm.error(L, 'attempt to call ngx.exec after sending out response headers');
      let path = uri;
      const q = uri.indexOf('?');
      if (q >= 0) {
        path = uri.slice(0, q);
        args = args === null ? uri.slice(q + 1) : `${uri.slice(q + 1)}&${args}`;
      }
      // a named location keeps the request's own args: the ones given here are dropped
      if (path.startsWith('@')) args = null;
      ctx.exec = { uri: path, args: args ?? '' };
      ctx.exitCode = 0;
      return rt.sched.yieldExit(L);
    },
    get_status: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      vm.pushNumber(L, r.finalStatus && r.eofSent ? r.finalStatus : r.status);
      return 1;
    },
    set_status: (L) => {
      const r = rt.reqFfi(L, CTX_REQ & ~Ctx.SET);
      // lua-resty-core hands tonumber(v) to a C int first: a string that is no number fails there
      if (vm.type(L, 1) === T_STRING && vm.toNumberOrNull(L, 1) === null) {
        return vm.error(L, "bad argument #2 to 'ngx_http_lua_ffi_set_resp_status' (cannot convert 'nil' to 'int')");
      }
      if (r.headersSent) {
        rt.logReq('error', 'attempt to set ngx.status after sending out response headers', r);
        return 0;
      }
      const t = vm.type(L, 1);
      if (t !== 3 && t !== 4 && t !== 0) return vm.error(L, `bad argument #3 to '__newindex' (number expected, got ${vm.typeName(L, 1)})`);
      const n = vm.toNumberOrNull(L, 1);
      let st: number;
      if (n === null) st = NaN;
      else st = Math.trunc(n);
      if (!(st >= 100 && st <= 999)) {
        rt.logReq('error', `invalid HTTP status code ${Number.isNaN(st) ? 0 : st}`, r);
        return 0;
      }
      r.status = st;
      return 0;
    },
  };
}
