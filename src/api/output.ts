// ngx.say, ngx.print, ngx.flush, ngx.eof, ngx.send_headers, ngx.headers_sent
import { TYPE_NAMES, LuaVM, argsFn, type JsLuaFn, T_BOOLEAN, T_LIGHTUSERDATA, T_NIL, T_NUMBER, T_STRING, T_TABLE } from '../lua/vm.js';
import { CTX_OUTPUT, CTX_REQ, type Runtime } from '../core/runtime.js';
import { output, sendEof, sendHeaders } from '../core/output.js';
import { arrayMax } from './tables.js';
import { rawSocketAcquired } from './socket/reqsock.js';

const noop = () => {};
const NL = Buffer.from('\n');
const S_NIL = Buffer.from('nil');
const S_TRUE = Buffer.from('true');
const S_FALSE = Buffer.from('false');
const S_NULL = Buffer.from('null');

/**
 * Serialize ngx.print-style arguments (strings, numbers, booleans, nil, ngx.null, nested
 * array tables) at stack slots from..to into parts. Raises ngx_lua's argument errors.
 */
export function collectArgs(vm: LuaVM, L: number, from: number, to: number, parts: Buffer[]): void {
  for (let i = from; i <= to; i++) collectValue(vm, L, i, i, parts, 0);
}

function collectValue(vm: LuaVM, L: number, idx: number, argn: number, parts: Buffer[], depth: number): void {
  const t = vm.type(L, idx);
  switch (t) {
    case T_STRING:
      parts.push(vm.toBuffer(L, idx)!);
      return;
    case T_NUMBER:
      parts.push(Buffer.from(vm.numStr(L, idx), 'latin1'));
      return;
    case T_NIL:
      parts.push(S_NIL);
      return;
    case T_BOOLEAN:
      parts.push(vm.toBool(L, idx) ? S_TRUE : S_FALSE);
      return;
    case T_LIGHTUSERDATA:
      if (vm.toUserdata(L, idx) === 0) {
        parts.push(S_NULL);
        return;
      }
      break;
    case T_TABLE: {
      const abs = idx < 0 ? vm.top(L) + idx + 1 : idx;
      const max = arrayMax(vm, L, abs, argn);
      for (let k = 1; k <= max; k++) {
        vm.rawGetI(L, abs, k);
        collectValue(vm, L, vm.top(L), argn, parts, depth + 1);
        vm.pop(L);
      }
      return;
    }
  }
  vm.argError(L, argn, `string, number, boolean, nil, ngx.null, or array table expected, but got ${TYPE_NAMES[t] ?? 'unknown'}`);
}

export function registerOutput(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  /** ngx.req.socket(true) took the connection: output calls return nil, err (1 when so). */
  const rawRefused = (L: number, r: Parameters<typeof rawSocketAcquired>[0]): boolean => {
    if (!rawSocketAcquired(r)) return false;
    vm.pushNil(L);
    vm.pushStr(L, 'raw request socket acquired');
    return true;
  };
  /** a HEAD request whose head went out: nginx's header_only, where body output is refused */
  const headerOnly = (L: number, r: Parameters<typeof rawSocketAcquired>[0]): boolean => {
    if (!r.headersSent || r.isSubrequest || r.req.method !== 'HEAD') return false;
    vm.pushNil(L);
    vm.pushStr(L, 'header only');
    return true;
  };
  const emit = (L: number, n: number, newline: boolean): number => {
    const r = rt.req(L, CTX_OUTPUT);
    if (rawRefused(L, r) || headerOnly(L, r)) return 2;
    // strings and numbers only (the common case): the trampoline copied them all
    let data = vm.callArgs(L, n, newline);
    if (data === null) {
      const parts: Buffer[] = [];
      collectArgs(vm, L, 1, n, parts);
      if (newline) parts.push(NL);
      data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    }
    if (r.eofSent) {
      vm.pushNil(L);
      vm.pushStr(L, 'seen eof');
      return 2;
    }
    r.luaBody = true;
    output(r, data);
    // the body waits for its Content-Length (lua_http10_buffering), which ngx_lua says at debug
    if (rt.log.debugOn && r.http10Buffering()) rt.logReq('debug', 'lua buffering output bufs for the HTTP 1.0 request', r);
    return vm.retNumber(1);
  };
  return {
    say: argsFn((L, n) => emit(L, n, true)),
    print: argsFn((L, n) => emit(L, n, false)),
    flush: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      const wait = vm.toBool(L, 1);
      if (rawRefused(L, r) || headerOnly(L, r)) return 2;
      if (r.eofSent) {
        vm.pushNil(L);
        vm.pushStr(L, 'seen eof');
        return 2;
      }
      if (!r.headersSent) {
        vm.pushNil(L);
        vm.pushStr(L, 'nothing to flush');
        return 2;
      }
      if (r.req.version <= 10 && r.pendingHead !== null && r.pendingOutput === 0) {
        // HTTP/1.0 buffering holds body bytes back for a Content-Length; with none held yet, a
        // flush sends the head as it is (nginx's header filter wrote it already)
        const head = r.pendingHead;
        r.pendingHead = null;
        r.ex.sendHead(head);
      }
      r.flushOutput();
      if (!wait) {
        r.ex.onDrain(noop); // hands the queued bytes to the socket now
        return vm.retNumber(1);
      }
      let cancelled = false;
      const th = rt.sched.current!;
      r.ex.onDrain(() => {
        if (cancelled) return;
        rt.sched.resume(th, (v, co) => {
          if (r.ex.aborted) {
            v.pushNil(co);
            v.pushStr(co, 'client aborted');
            return 2;
          }
          v.pushNumber(co, 1);
          return 1;
        });
      });
      return rt.sched.suspend(L, { cancel: () => { cancelled = true; } });
    },
    eof: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      if (rawRefused(L, r)) return 2;
      if (r.eofSent) {
        vm.pushNil(L);
        vm.pushStr(L, 'seen eof');
        return 2;
      }
      sendEof(r);
      return vm.retNumber(1);
    },
    send_headers: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      sendHeaders(r);
      return vm.retNumber(1);
    },
    headers_sent: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      vm.pushBool(L, r.headersSent);
      return 1;
    },
  };
}
