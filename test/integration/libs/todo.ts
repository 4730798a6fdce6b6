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
  'websocket.load': "error.log: \"runtime error: /usr/share/lua/5.1/nginx/websocket/server.lua:4: module 'bit' not found\"",
};
