// ngx.now, ngx.time, ngx.today, ngx.localtime, ngx.utctime, ngx.http_time, ngx.cookie_time,
// ngx.parse_http_time, ngx.update_time. Like nginx, the cached time only moves when the event
// loop turns or ngx.update_time() is called.
import type { Runtime } from '../core/runtime.js';
import type { JsLuaFn } from '../lua/vm.js';
import { F_NOW, fast } from '../core/fast.js';
import { cookieTime, httpTime, localtime, parseHttpTime, today, utctime } from '../util/time.js';

let cachedMs = Date.now();
let scheduled = false;
function refresh(): void {
  scheduled = false;
  cachedMs = Date.now();
  // Lua's ngx.now() asks again (through JS, which reschedules) on the next turn
  fast[F_NOW] = 0;
}
/** Read the clock into the cache, which holds until the event loop turns. */
function setCached(): void {
  cachedMs = Date.now();
  fast[F_NOW] = Math.floor(cachedMs) / 1000;
  if (!scheduled) {
    scheduled = true;
    setImmediate(refresh);
  }
}
/** nginx's cached clock: refreshed once per event-loop turn. */
export function nowMs(): number {
  if (!scheduled) setCached();
  return cachedMs;
}

export function registerTime(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const secArg = (L: number, fname: string): number | null => {
    void fname;
    if (vm.type(L, 1) !== 3) {
      vm.error(L, 'number argument only');
      return null;
    }
    return Math.trunc(vm.toNumber(L, 1));
  };
  return {
    now: (L) => {
      vm.pushNumber(L, Math.floor(nowMs()) / 1000);
      return 1;
    },
    time: (L) => {
      vm.pushNumber(L, Math.floor(nowMs() / 1000));
      return 1;
    },
    update_time: () => {
      setCached();
      return 0;
    },
    today: (L) => {
      vm.pushStr(L, today(Math.floor(nowMs() / 1000)));
      return 1;
    },
    localtime: (L) => {
      vm.pushStr(L, localtime(Math.floor(nowMs() / 1000)));
      return 1;
    },
    utctime: (L) => {
      vm.pushStr(L, utctime(Math.floor(nowMs() / 1000)));
      return 1;
    },
    http_time: (L) => {
      const s = secArg(L, 'http_time');
      vm.pushStr(L, httpTime(s!));
      return 1;
    },
    cookie_time: (L) => {
      const s = secArg(L, 'cookie_time');
      vm.pushStr(L, cookieTime(s!));
      return 1;
    },
    parse_http_time: (L) => {
      const b = vm.toBuffer(L, 1);
      const t = b === null ? null : parseHttpTime(b);
      if (t === null) vm.pushNil(L);
      else vm.pushNumber(L, t);
      return 1;
    },
  };
}
