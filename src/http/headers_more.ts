// The headers-more module at work: output headers changed in the header filter (this
// module's filter runs before ngx_lua's in the reference's order: it is loaded after it),
// input headers changed before the rewrite phase's Lua runs.

import type { RequestCtx } from '../core/request.js';
import type { MoreHeadersCmd } from '../conf/model.js';
import { expandTemplate } from '../conf/template.js';
import { getVar } from '../core/vars.js';

/** `Name*` matches every header that starts with Name (case-insensitively). */
function matcher(name: string): (h: string) => boolean {
  const k = name.toLowerCase();
  if (k.endsWith('*')) {
    const p = k.slice(0, -1);
    return (h) => h.toLowerCase().startsWith(p);
  }
  return (h) => h.toLowerCase() === k;
}

function typeOf(ct: string | null): string {
  return (ct ?? '').split(';')[0].trim().toLowerCase();
}

export function applyMoreHeaders(r: RequestCtx, status: number, defaultType: string): void {
  const cmds = (r.loc?.settings ?? r.server.settings).moreHeaders;
  if (cmds === undefined) return;
  const h = r.headersOut;
  for (const c of cmds) {
    if (c.statuses !== null && !c.statuses.includes(status)) continue;
    if (c.types !== null && !c.types.includes(typeOf(h.contentType ?? defaultType))) continue;
    for (const { name, value } of c.headers) {
      const v = !c.clear && value !== null ? expandTemplate(value, (n) => getVar(r, n)) : null;
      const lower = name.toLowerCase();
      if (lower === 'content-type') {
        h.contentType = v ?? '';
        continue;
      }
      if (lower === 'content-length') {
        h.contentLength = v === null ? -1 : Number.parseInt(v, 10);
        continue;
      }
      // nginx writes these two itself; headers-more replaces or drops them there
      if (lower === 'server') {
        r.serverHeader = v === null || v === '' ? null : v;
        continue;
      }
      if (lower === 'date') {
        r.dateHeader = v === null || v === '' ? null : v;
        continue;
      }
      const is = matcher(name);
      const at = h.list.findIndex(([n]) => is(n));
      h.list = h.list.filter(([n]) => !is(n));
      if (v !== null && v !== '') {
        // a replaced header keeps its place
        if (at >= 0) h.list.splice(at, 0, [name, v]);
        else h.list.push([name, v]);
      }
    }
  }
}

export function applyMoreInputHeaders(r: RequestCtx): void {
  const cmds = (r.loc?.settings ?? r.server.settings).moreInputHeaders;
  if (cmds === undefined) return;
  const ct = r.req.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? '';
  for (const c of cmds) {
    if (c.types !== null && !c.types.includes(typeOf(ct))) continue;
    for (const { name, value } of c.headers) {
      const is = matcher(name);
      const had = r.req.headers.some(([n]) => is(n));
      if (c.replaceOnly && !had) continue;
      const v = !c.clear && value !== null ? expandTemplate(value, (n) => getVar(r, n)) : null;
      const at = r.req.headers.findIndex(([n]) => is(n));
      const rest = r.req.headers.filter(([n]) => !is(n));
      if (v !== null && v !== '') {
        if (at >= 0) rest.splice(at, 0, [name, v]);
        else rest.push([name, v]);
      }
      r.req.headers = rest;
      if (name.toLowerCase() === 'host') r.req.host = (v ?? '').toLowerCase().replace(/:\d+$/, '');
    }
  }
}

export type { MoreHeadersCmd };
