// ngx.req.socket([raw]): the client connection as a cosocket. The body reader serves receive /
// receiveuntil over the request body (its end reads as "closed"); the raw socket takes the whole
// connection over (full duplex, send writes bytes to the client as they are).
//
// ngx.req.socket itself is this JS function (not a Lua wrapper), so the errors it raises point
// at the caller's line, as ngx_lua's C function does.
import { CTX_OUTPUT, type Runtime } from '../../core/runtime.js';
import type { RequestCtx } from '../../core/request.js';
import type { JsLuaFn } from '../../lua/vm.js';
import type { TcpApi } from './tcp.js';

type BodyCb = (data: Buffer | null, err: string | null) => void;
interface StreamingExchange {
  streamBody?(cb: BodyCb): boolean;
  hijack?(onData: BodyCb): (data: Buffer, drained: (err: string | null) => void) => boolean;
}

/** Whether ngx.req.socket(true) took this request's connection (ngx.say & co. then refuse). */
export function rawSocketAcquired(r: RequestCtx): boolean {
  return r.rawSocket;
}

export function registerReqSocket(rt: Runtime, api: TcpApi): Record<string, JsLuaFn> {
  const { vm } = rt;
  let bodyMeta = 0;
  let rawMeta = 0;
  const fail = (L: number, msg: string): number => {
    vm.pushNil(L);
    vm.pushStr(L, msg);
    return 2;
  };
  /** the socket object: a fresh table with the body or raw metatable, at stack index 1 */
  const newSock = (L: number, raw: boolean): void => {
    vm.setTop(L, 0);
    vm.createTable(L, 3, 1);
    vm.pushRef(L, raw ? rawMeta : bodyMeta);
    vm.setMetatable(L, -2);
  };
  return {
    // (body_mt, raw_mt): the method tables lua/socket.lua builds
    req_set_mts: (L) => {
      vm.pushValue(L, 1);
      bodyMeta = vm.ref(L);
      vm.pushValue(L, 2);
      rawMeta = vm.ref(L);
      return 0;
    },
    // ngx.req.socket(raw?) -> sock | nil, err
    req_socket: (L) => {
      const n = vm.top(L);
      if (n > 1) return vm.error(L, `expecting zero arguments, but got ${n}`);
      const r = rt.req(L, CTX_OUTPUT);
      const ctx = rt.current()!;
      const raw = n === 1 && vm.toBool(L, 1);
      const ex = r.ex as unknown as StreamingExchange;
      if (raw) {
        if (!ex.hijack) return fail(L, 'not supported');
        if (r.rawSocket) return fail(L, 'duplicate call');
        // HTTP/1.0 output held back for its Content-Length cannot be given up
        if (r.req.version <= 10 && r.pendingHead !== null && r.pendingOutput > 0) return fail(L, 'http 1.0 buffering');
        // what already reached the client stays; whatever is still pending is never sent
        r.discardOutput();
        r.headersSent = true;
        r.rawSocket = true;
        newSock(L, true);
        const s = api.downstream(L, ctx, 'raw');
        s.rawWrite = ex.hijack((data, err) => {
          if (s.downstream !== 'raw') return;
          if (data) api.feed(s, data, null);
          else api.feed(s, null, err === null ? 'eof' : 'closed');
        });
        return 1;
      }
      if (r.req.chunked) return fail(L, 'chunked request bodies not supported yet');
      if (r.body !== undefined) return fail(L, r.bodyError ? 'request body discarded' : 'request body already exists');
      if (r.req.contentLength <= 0) return fail(L, 'no body');
      if (!ex.streamBody) return fail(L, 'not supported');
      newSock(L, false);
      const s = api.downstream(L, ctx, 'body');
      const ok = ex.streamBody((data, err) => {
        if (s.downstream !== 'body') return;
        if (data) api.feed(s, data, null);
        else api.feed(s, null, err === null ? 'eof' : err);
      });
      if (!ok) {
        s.downstream = null;
        return fail(L, 'request body already exists');
      }
      r.body = null;
      return 1;
    },
  };
}
