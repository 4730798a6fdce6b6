// Why a test is still marked todo on ngxlua (node:test's `todo`: it runs, its failure is
// reported but does not fail the suite). Each reason quotes what ngxlua's error log says.
// Set an entry to false as soon as the tests it covers pass; on LIBS_ENGINE=ref nothing is todo.
export const TODO: Record<string, string | false> = {
  redis: false,
  memcached: false,
  connector: false,
  dns: false,
  'dns.helpers': false,
  /** every websocket test, including loading the modules */
  websocket: false,
  /** the 101 response's headers, seen with stand-in bit and ffi modules in the prefix */
  'websocket.handshake': false,
};

/** The todo option for a test covered by these entries: their reasons joined, or false (also on the reference). */
export function todoOf(engine: string, ...keys: string[]): string | false {
  if (engine !== 'ours') return false;
  const reasons = keys.map((k) => TODO[k]).filter((r): r is string => !!r);
  return reasons.length ? reasons.join('; then ') : false;
}
