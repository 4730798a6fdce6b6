// ngx.socket.*: cosockets. Primitives registered here are handed to lua/socket.lua, which
// builds ngx.socket.tcp / stream / connect and ngx.req.socket.
import type { Runtime } from '../../core/runtime.js';
import type { JsLuaFn } from '../../lua/vm.js';
import { registerTcp, setResolver } from './tcp.js';
import { resolveHost as resolveName } from './resolve.js';
import { registerReqSocket } from './reqsock.js';

export { setResolver, resolveHost } from './tcp.js';

export function registerSocket(rt: Runtime): Record<string, JsLuaFn> {
  // TCP names resolve as nginx does: through the `resolver` directive's servers
  setResolver((host, settings) =>
    resolveName(rt, settings, host).then(
      (a) => ({ address: a.address }),
      (e: Error) => ({ error: e.message }),
    ),
  );
  const tcp = registerTcp(rt);
  return { ...tcp.prims, ...registerReqSocket(rt, tcp.api) };
}
