// ngx.shared.DICT: the lua_shared_dict zones. The store is native/shdict.c, in shared memory
// that every worker maps; lua/shdict.lua checks the arguments (as lua-resty-core's wrappers do)
// and calls the zone operations through the FFI. This side only maps the zones at start-up
// and tells Lua their names.
import type { Runtime } from '../core/runtime.js';
import { processNative, type JsLuaFn } from '../lua/vm.js';

/** fds of zones a master created, by name, when this process is one of its workers */
const inherited = new Map<string, number>();

/** A worker's view of its master's zones, fds by name (set before the first runtime starts). */
export function inheritZones(fds: Readonly<Record<string, number>>): void {
  for (const [name, fd] of Object.entries(fds)) inherited.set(name, fd);
}

export class ZoneError extends Error {}

/**
 * Map the conf's zones (creating those no process made yet); their fds by name, for a master
 * to hand to its workers. A zone of the same name and size stays the same memory across
 * reloads, as nginx keeps it.
 */
export function openZones(dicts: ReadonlyMap<string, number>): Map<string, number> {
  const fds = new Map<string, number>();
  for (const [name, size] of dicts) {
    const fd = processNative.shdOpen(name, size, inherited.get(name) ?? -1);
    if (fd < 0) throw new ZoneError(`shared memory zone "${name}" of size ${size} cannot be mapped (errno ${-fd})`);
    fds.set(name, fd);
  }
  return fds;
}

export function registerShdict(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const dicts = rt.conf.http?.sharedDicts ?? new Map<string, number>();
  openZones(dicts);
  const names = [...dicts.keys()];
  return {
    /** { name, ... } */
    shd_zones: (L) => {
      vm.createTable(L, names.length, 0);
      names.forEach((n, i) => {
        vm.pushStr(L, n);
        vm.rawSetI(L, -2, i + 1);
      });
      return 1;
    },
    /** a fresh full userdata: the zone handle kept at dict[1], as ngx_lua does */
    shd_udata: (L) => {
      vm.newUserdata(L, 8);
      return 1;
    },
  };
}
