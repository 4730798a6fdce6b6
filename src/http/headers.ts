// nginx's headers module: `add_header name value [always]` and `expires`, applied to the
// response head after Lua's header filter (ngx_lua's filter runs before this one in the
// reference's filter chain, so Lua never sees these headers).

import type { RequestCtx } from '../core/request.js';
import { expandTemplate } from '../conf/template.js';
import { getVar } from '../core/vars.js';

/** the statuses add_header (without `always`) and expires apply to */
const APPLIES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);
const EPOCH = 'Thu, 01 Jan 1970 00:00:01 GMT';
const MAX = 'Thu, 31 Dec 2037 23:55:55 GMT';

export function applyHeaders(r: RequestCtx, status: number): void {
  const s = r.loc?.settings ?? r.server.settings;
  const adds = s.addHeaders;
  const exp = s.expires;
  if (adds === undefined && exp === undefined) return;
  const h = r.headersOut;
  const applies = APPLIES.has(status);
  if (exp !== undefined && exp.kind !== 'off' && applies) {
    let expires: string;
    let cc: string;
    if (exp.kind === 'epoch') {
      expires = EPOCH;
      cc = 'no-cache';
    } else if (exp.kind === 'max') {
      expires = MAX;
      cc = 'max-age=315360000';
    } else {
      const sec = Math.trunc(exp.ms / 1000);
      expires = new Date(Math.floor(Date.now() / 1000) * 1000 + sec * 1000).toUTCString();
      cc = sec < 0 ? 'no-cache' : `max-age=${sec}`;
    }
    // an existing header keeps its place and gets the new value, as nginx overwrites it
    setInPlace(r, 'Expires', expires);
    setInPlace(r, 'Cache-Control', cc);
  }
  if (adds !== undefined) {
    for (const a of adds) {
      if (!a.always && !applies) continue;
      const v = expandTemplate(a.value, (n) => getVar(r, n));
      // an empty value adds nothing
      if (v !== '') h.list.push([a.name, v]);
    }
  }
}

function setInPlace(r: RequestCtx, name: string, value: string): void {
  const list = r.headersOut.list;
  const k = name.toLowerCase();
  let found = false;
  for (let i = 0; i < list.length; i++) {
    if (list[i][0].toLowerCase() !== k) continue;
    if (!found) {
      list[i] = [list[i][0], value];
      found = true;
    } else {
      list.splice(i--, 1);
    }
  }
  if (!found) list.push([name, value]);
}
