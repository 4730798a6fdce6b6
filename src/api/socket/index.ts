// ngx.socket.*: cosockets. Primitives registered here are handed to lua/socket.lua, which
// builds ngx.socket.tcp / udp / connect and ngx.req.socket.
import type { Runtime } from '../../core/runtime.js';
import type { JsLuaFn } from '../../lua/vm.js';

export function registerSocket(rt: Runtime): Record<string, JsLuaFn> {
  void rt;
  return {};
}
