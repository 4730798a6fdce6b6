// ngx.req.socket([raw]): the client connection as a cosocket. The body reader serves receive /
// receiveuntil over the request body (its end reads as "closed"); the raw socket takes the whole
// connection over (full duplex, send writes bytes to the client as they are).
import { CTX_OUTPUT, type Runtime } from '../../core/runtime.js';
import type { JsLuaFn } from '../../lua/vm.js';
import { T_TABLE } from '../../lua/vm.js';
import type { TcpApi } from './tcp.js';

type BodyCb = (data: Buffer | null, err: string | null) => void;
interface StreamingExchange {
  streamBody?(cb: BodyCb): boolean;
  hijack?(onData: BodyCb): (data: Buffer, drained: (err: string | null) => void) => boolean;
}

export function registerReqSocket(rt: Runtime, api: TcpApi): Record<string, JsLuaFn> {
  const { vm } = rt;
  const fail = (L: number, msg: string): number => {
    vm.raw.lua_pushnil(L);
    vm.pushStr(L, msg);
    return 2;
  };
  return {
    // (sock_table, raw?) -> true | nil, err
    req_socket: (L) => {
      const n = vm.top(L) - 1;
      if (n > 1) return vm.error(L, `expecting zero arguments, but got ${n}`);
      const r = rt.req(L, CTX_OUTPUT);
      const ctx = rt.current()!;
      if (vm.type(L, 1) !== T_TABLE) return vm.argError(L, 1, `table expected, got ${vm.typeName(L, 1)}`);
      const raw = vm.toBool(L, 2);
      const ex = r.ex as unknown as StreamingExchange;
      if (raw) {
        if (!ex.hijack) return fail(L, 'not supported');
        if ((r as unknown as { rawSocket?: boolean }).rawSocket) return fail(L, 'duplicate call');
        if (r.req.version <= 10 && r.headersSent && r.pendingOutput > 0) return fail(L, 'http 1.0 buffering');
        // whatever the response already has goes out first; the rest is the handler's bytes
        if (r.headersSent) r.flushOutput();
        r.headersSent = true;
        (r as unknown as { rawSocket?: boolean }).rawSocket = true;
        const s = api.downstream(L, ctx, 'raw');
        s.rawWrite = ex.hijack((data, err) => {
          if (s.downstream !== 'raw') return;
          if (data) api.feed(s, data, null);
          else api.feed(s, null, err === null ? 'eof' : 'closed');
        });
        vm.pushBool(L, true);
        return 1;
      }
      if (r.req.chunked) return fail(L, 'chunked request bodies not supported yet');
      if (r.body !== undefined) return fail(L, r.bodyError ? 'request body discarded' : 'request body already exists');
      if (r.req.contentLength <= 0) return fail(L, 'no body');
      if (!ex.streamBody) return fail(L, 'not supported');
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
      vm.pushBool(L, true);
      return 1;
    },
  };
}
