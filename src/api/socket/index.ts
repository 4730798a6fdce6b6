// ngx.socket.*: cosockets. Primitives registered here are handed to lua/socket.lua, which
// builds ngx.socket.tcp / stream / connect and ngx.req.socket.
import type { Runtime } from '../../core/runtime.js';
import type { JsLuaFn } from '../../lua/vm.js';
import { registerTcp } from './tcp.js';
import { registerReqSocket } from './reqsock.js';

export { setResolver, resolveHost } from './tcp.js';

export function registerSocket(rt: Runtime): Record<string, JsLuaFn> {
  const tcp = registerTcp(rt);
  return { ...tcp.prims, ...registerReqSocket(rt, tcp.api) };
}
