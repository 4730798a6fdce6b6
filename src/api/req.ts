// ngx.req.*: the request line, headers, URI args and body
import { CTX_OUTPUT, CTX_REQ, Ctx, type Runtime } from '../core/runtime.js';
import { decodeArgs } from '../util/uri.js';
import type { JsLuaFn, LuaVM } from '../lua/vm.js';
import type { RequestCtx } from '../core/request.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { argsValue } from './control.js';
import { pushMultiTable } from './tables.js';

let bodyFileSeq = 0;

/** Write a request body to `<prefix>client_body_temp/NNNNNNNNNN`, nginx's temp file naming. */
function writeBodyFile(prefix: string, body: Buffer): string {
  const dir = path.join(prefix, 'client_body_temp');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, String(process.pid * 1000 + ++bodyFileSeq).padStart(10, '0'));
  writeFileSync(file, body);
  return file;
}

/** Replace a request header (ngx.req.set_header / clear_header): `_` and case are ignored. */
function setReqHeader(r: RequestCtx, name: string, vals: string[]): void {
  const key = name.toLowerCase().replace(/_/g, '-');
  const hs = r.req.headers.filter(([n]) => n.toLowerCase() !== key);
  for (const v of vals) hs.push([name.replace(/_/g, '-'), v]);
  r.req.headers = hs;
  if (key === 'host') r.req.host = (vals[0] ?? '').toLowerCase().replace(/:\d+$/, '');
}

function maxArg(vm: LuaVM, L: number, idx: number, def: number): number {
  if (vm.type(L, idx) <= 0) return def;
  const n = vm.toNumberOrNull(L, idx);
  return n === null ? def : n;
}

export function registerReq(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  return {
    req_get_method: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      vm.pushStr(L, r.method);
      return 1;
    },
    req_http_version: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      const v = r.req.version;
      vm.pushFloat(L, v === 11 ? 1.1 : v === 10 ? 1.0 : v === 9 ? 0.9 : v === 20 ? 2.0 : 1.1);
      return 1;
    },
    req_start_time: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      vm.pushFloat(L, r.req.startTime / 1000);
      return 1;
    },
    req_is_internal: (L) => {
      const r = rt.req(L, CTX_REQ);
      vm.pushBool(L, r.uriChanges > 0);
      return 1;
    },
    req_raw_header: (L) => {
      const r = rt.req(L, CTX_REQ);
      const noReqLine = vm.toBool(L, 1);
      const raw = r.req.rawHeader;
      if (noReqLine) {
        const i = raw.indexOf('\n');
        vm.pushBytes(L, raw.subarray(i + 1));
      } else vm.pushBytes(L, raw);
      return 1;
    },
    req_get_headers: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      let max = maxArg(vm, L, 1, 100);
      const raw = vm.toBool(L, 2);
      const hs = r.req.headers;
      if (max <= 0) max = Infinity;
      const list = hs.length > max ? hs.slice(0, max) : hs;
      const t = pushMultiTable(vm, L, raw ? list : list.map(([n, v]) => [n.toLowerCase(), v] as const));
      if (!raw) {
        // lookups like h["Content-Type"] or h.content_type find the lower-case key
        vm.getGlobal(L, '__ngx_req_headers_mt');
        vm.raw.lua_setmetatable(L, t);
      }
      if (hs.length > max) {
        vm.pushStr(L, 'truncated');
        return 2;
      }
      return 1;
    },
    req_get_uri_args: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      let max = maxArg(vm, L, 1, 100);
      if (max <= 0) max = Infinity;
      const args = decodeArgs(Buffer.from(r.args, 'latin1'), max);
      pushMultiTable(vm, L, args);
      if (args.truncated) {
        vm.pushStr(L, 'truncated');
        return 2;
      }
      return 1;
    },
    req_set_uri_args: (L) => {
      const r = rt.req(L, CTX_REQ);
      r.args = argsValue(vm, L, 1, 'set_uri_args') ?? '';
      return 0;
    },
    req_set_header: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      const name = vm.toStr(L, 1);
      if (name === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      const vals: string[] = [];
      const t = vm.type(L, 2);
      if (t === 5) {
        const n = Number(vm.raw.lua_rawlen(L, 2));
        for (let i = 1; i <= n; i++) {
          vm.raw.lua_rawgeti(L, 2, BigInt(i));
          const s = vm.toStr(L, -1);
          vm.pop(L);
          if (s !== null) vals.push(s);
        }
      } else if (t > 0) {
        const s = vm.toStr(L, 2);
        if (s !== null) vals.push(s);
      }
      setReqHeader(r, name, vals);
      return 0;
    },
    req_clear_header: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      const name = vm.toStr(L, 1);
      if (name === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      setReqHeader(r, name, []);
      return 0;
    },
    req_get_post_args: (L) => {
      const r = rt.req(L, CTX_REQ);
      let max = maxArg(vm, L, 1, 100);
      if (max <= 0) max = Infinity;
      if (r.body === undefined) {
        return vm.error(L, 'no request body found; maybe you should turn on lua_need_request_body?');
      }
      if (r.bodyFile) {
        vm.raw.lua_pushnil(L);
        vm.pushStr(L, 'request body in temp file not supported');
        return 2;
      }
      const args = decodeArgs(r.body ?? Buffer.alloc(0), max);
      pushMultiTable(vm, L, args);
      if (args.truncated) {
        vm.pushStr(L, 'truncated');
        return 2;
      }
      return 1;
    },
    req_read_body: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      if (r.body !== undefined) return 0;
      const settings = r.loc?.settings ?? r.server.settings;
      const th = rt.sched.current!;
      let cancelled = false;
      let sync = true;
      let done = false;
      r.ex.readBody(settings.clientMaxBodySize, (err, body) => {
        if (cancelled) return;
        done = true;
        if (err !== null) {
          if (err === 413) rt.logReq('error', `client intended to send too large body: ${r.req.contentLength} bytes`, r);
          r.bodyError = err;
          r.body = null;
          if (th.ctx.exitCode === null) th.ctx.exitCode = err;
          if (!sync) rt.sched.finishExit(th);
          return;
        }
        if (body && body.length > settings.clientBodyBufferSize) {
          // like nginx, a body larger than the buffer is kept in a temporary file
          r.bodyFile = writeBodyFile(rt.conf.prefix, body);
          r.body = null;
        } else {
          r.body = body && body.length ? body : null;
        }
        if (!sync) rt.sched.resume(th);
      });
      sync = false;
      if (done) {
        if (r.bodyError) return rt.sched.yieldExit(L);
        return 0;
      }
      return rt.sched.suspend(L, { cancel: () => { cancelled = true; } });
    },
    req_discard_body: (L) => {
      const r = rt.req(L, CTX_REQ);
      if (r.body === undefined) {
        r.body = null;
        r.ex.discardBody();
      }
      return 0;
    },
    req_get_body_data: (L) => {
      const r = rt.req(L, CTX_REQ & ~Ctx.SET);
      if (r.body) vm.pushBytes(L, r.body);
      else vm.raw.lua_pushnil(L);
      return 1;
    },
    req_get_body_file: (L) => {
      const r = rt.req(L, CTX_REQ);
      if (r.bodyFile) vm.pushStr(L, r.bodyFile);
      else vm.raw.lua_pushnil(L);
      return 1;
    },
  };
}
