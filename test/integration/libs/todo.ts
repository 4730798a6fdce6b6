// Why a test is still marked todo on ngxlua (node:test's `todo`: it runs, its failure is
// reported but does not fail the suite). Each reason quotes what ngxlua's error log says.
// Set an entry to false as soon as the tests it covers pass; on LIBS_ENGINE=ref nothing is todo.
const NO_BIT =
  "the `bit` module (LuaJIT's BitOp: band, bor, bxor, lshift, rshift, tohex...) is missing; error.log: \"runtime error: /usr/share/lua/5.1/nginx/dns/resolver.lua:5: module 'bit' not found\"";

export const TODO: Record<string, string | false> = {
  redis: false,
  memcached: false,
  connector: false,
  dns: NO_BIT,
  'dns.helpers': NO_BIT,
  /** every websocket test, including loading the modules */
  websocket:
    "nginx.websocket.server/client need `bit` (error.log: \"websocket/server.lua:4: module 'bit' not found\") and then " +
    'nginx.websocket.protocol needs `ffi` (require "ffi"; ffi.typeof("char[?]"), ffi.new, ffi.string for its unmasking buffer)',
  /** the 101 response's headers, seen with stand-in bit and ffi modules in the prefix */
  'websocket.handshake':
    'the 101 response has "Connection: keep-alive" (reference: "Connection: upgrade") and "Content-Type: text/plain" although ' +
    'server.lua sets ngx.header["Content-Type"] = nil (reference: no Content-Type)',
};

/** The todo option for a test covered by these entries: their reasons joined, or false (also on the reference). */
export function todoOf(engine: string, ...keys: string[]): string | false {
  if (engine !== 'ours') return false;
  const reasons = keys.map((k) => TODO[k]).filter((r): r is string => !!r);
  return reasons.length ? reasons.join('; then ') : false;
}
