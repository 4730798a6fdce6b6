// ngx.header: response headers through a proxy table with __index / __newindex
import { CTX_REQ, Ctx, type Runtime } from '../core/runtime.js';
import { strFn, T_NIL, T_NUMBER, T_STRING, T_TABLE, T_BOOLEAN, type JsLuaFn, type LuaVM } from '../lua/vm.js';
import { HeadersOut } from '../core/request.js';
import { pushMultiTable } from './tables.js';

/** Header values given to ngx.header.X = v: string, number, array of those; nil / {} clears. */
function readValues(vm: LuaVM, L: number, idx: number): string[] | null {
  const t = vm.type(L, idx);
  if (t === T_NIL) return [];
  if (t === T_STRING || t === T_NUMBER) return [vm.toStr(L, idx)!];
  if (t === T_BOOLEAN) return [vm.toBool(L, idx) ? 'true' : 'false'];
  if (t === T_TABLE) {
    const n = Number(vm.rawLen(L, idx));
    const out: string[] = [];
    for (let i = 1; i <= n; i++) {
      vm.rawGetI(L, idx, i);
      const s = vm.toStr(L, -1);
      vm.pop(L);
      if (s !== null) out.push(s);
    }
    return out;
  }
  return null;
}

const SINGLE = new Set(['content-type', 'content-length', 'location', 'last-modified', 'etag', 'expires',
  'server', 'date', 'content-encoding', 'accept-ranges', 'www-authenticate']);

// As ngx_lua does, a name byte that is not an HTTP token character, and a value's control
// characters (but tab), are sent %-escaped: no header can be split or injected.
const NAME_BAD = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/g;
const VALUE_BAD = /[\x00-\x08\x0a-\x1f\x7f]/g;
const pct = (c: string) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
/** an HTTP token character (RFC 9110 tchar), by byte */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
// the checks run first: names and values that need no escaping (nearly all) make no new string
export const escapeHeaderName = (s: string): string => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return s.replace(NAME_BAD, pct);
  }
  return s;
};
const escapeValue = (s: string): string => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return s.replace(VALUE_BAD, pct);
  }
  return s;
};

export function registerHeader(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    // a string function: the name crosses with the call, a single value comes back as the result
    header_get: strFn((L, nameKey) => {
      const r = rt.reqFfi(L, CTX_REQ & ~Ctx.SET);
      const name = nameKey ?? vm.toStr(L, 2);
      if (name === null) return null;
      const under = r.loc?.settings.luaTransformUnderscoresInResponseHeaders ?? true;
      const key = under ? name : name.replace(/_/g, '\u0000');
      let vals = r.headersOut.get(key);
      // once the head is out, nginx has filled in the default_type it sent
      if (vals.length === 0 && r.headersSent && HeadersOut.key(key) === 'content-type') {
        const dflt = r.loc?.settings.defaultType ?? r.server.settings.defaultType;
        if (dflt) vals = [dflt];
      }
      if (vals.length === 0) return null;
      if (vals.length === 1) return vals[0];
      vm.createTable(L, vals.length, 0);
      vals.forEach((v, i) => {
        vm.pushStr(L, v);
        vm.rawSetI(L, -2, i + 1);
      });
      return 1;
    }),
    resp_get_headers: (L) => {
      const r = rt.reqFfi(L, CTX_REQ & ~Ctx.SET);
      let max = vm.type(L, 1) > 0 ? vm.toNumber(L, 1) : 100;
      if (max <= 0) max = Infinity;
      const raw = vm.toBool(L, 2);
      const h = r.headersOut;
      const all: Array<[string, string]> = [];
      if (h.contentType !== null) all.push(['Content-Type', h.contentType]);
      if (h.contentLength >= 0) all.push(['Content-Length', String(h.contentLength)]);
      // ngx_lua 0.10.23 also lists the Connection the response will have, and its chunking
      all.push(['Connection', r.req.keepAlive ? 'keep-alive' : 'close']);
      if (r.headersSent && h.contentLength < 0 && r.req.version >= 11) all.push(['Transfer-Encoding', 'chunked']);
      all.push(...h.list);
      const list = all.length > max ? all.slice(0, max) : all;
      const t = pushMultiTable(vm, L, raw ? list : list.map(([n, v]) => [n.toLowerCase(), v] as const));
      if (!raw) {
        vm.getGlobal(L, '__ngx_req_headers_mt');
        vm.setMetatable(L, t);
      }
      if (all.length > max) {
        if (rt.log.debugOn) rt.logReq('debug', `lua exceeding response header limit ${all.length} > ${max}`, r);
        vm.pushStr(L, 'truncated');
        return 2;
      }
      return 1;
    },
    /** require "ngx.resp".add_header: one more value, never replacing */
    resp_add_header: (L) => {
      const r = rt.reqFfi(L, CTX_REQ & ~Ctx.SET);
      const name = vm.toStr(L, 1);
      if (name === null) return vm.argError(L, 1, 'string expected');
      if (r.headersSent) {
        rt.logReq('error', 'attempt to set ngx.header.HEADER after sending out response headers', r);
        return 0;
      }
      const vals = (readValues(vm, L, 2) ?? []).map(escapeValue);
      const key = escapeHeaderName(name);
      r.headersOut.set(key, r.headersOut.get(key).concat(vals));
      return 0;
    },
    // a string function: the header's name crosses with the call
    header_set: strFn((L, nameKey) => {
      const r = rt.reqFfi(L, CTX_REQ & ~Ctx.SET);
      let name = nameKey ?? vm.toStr(L, 2);
      if (name === null) return vm.argError(L, 2, 'string expected');
      if (r.headersSent) {
        rt.logReq('error', `attempt to set ngx.header.HEADER after sending out response headers`, r);
        return 0;
      }
      if (name.includes('_') && (r.loc?.settings.luaTransformUnderscoresInResponseHeaders ?? true)) name = name.replace(/_/g, '-');
      // a string or a number (the common case) without asking its type first
      const one = vm.toStr(L, 3);
      let vals = one !== null ? [one] : readValues(vm, L, 3);
      if (vals === null) return vm.errorRaw(L, 'bad argument #3 to \'__newindex\' (string, number, table, or nil expected)');
      name = escapeHeaderName(name);
      for (let i = 0; i < vals.length; i++) vals[i] = escapeValue(vals[i]);
      const key = HeadersOut.key(name);
      if (vals.length > 1 && SINGLE.has(key)) vals = [vals[vals.length - 1]];
      // nginx takes Content-Length as a number, and refuses anything else
      if (key === 'content-length' && vals.length && !/^\d+$/.test(vals[vals.length - 1])) return vm.error(L, 'failed to set header');
      r.headersOut.set(name, vals);
      return 0;
    }),
  };
}
