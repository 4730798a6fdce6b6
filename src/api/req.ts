// ngx.req.*: the request line, headers, URI args and body
import { CTX_NAMES, CTX_OUTPUT, CTX_REQ, Ctx, type Runtime } from '../core/runtime.js';
import { decodeArgsPacked } from '../util/uri.js';
import { LUA_NOREF, type JsLuaFn, type LuaVM } from '../lua/vm.js';
import type { RequestCtx } from '../core/request.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { argsValue } from './control.js';

/** ngx.HTTP_GET ... as method names */
export const METHOD_NAMES: Record<number, string> = {
  2: 'GET', 4: 'HEAD', 8: 'POST', 16: 'PUT', 32: 'DELETE', 64: 'MKCOL', 128: 'COPY', 256: 'MOVE',
  512: 'OPTIONS', 1024: 'PROPFIND', 2048: 'PROPPATCH', 4096: 'LOCK', 8192: 'UNLOCK', 16384: 'PATCH', 32768: 'TRACE',
};

/** A new request body (set_body_data/_file): Content-Length follows it. */
function setBody(r: RequestCtx, b: Buffer): void {
  r.body = b.length ? b : null;
  r.bodyFile = null;
  r.newBody = null;
  setReqHeader(r, 'Content-Length', [String(b.length)]);
}

let bodyFileSeq = 0;

/** Write a request body to `<prefix>client_body_temp/NNNNNNNNNN`, nginx's temp file naming. */
function writeBodyFile(prefix: string, body: Buffer): string {
  const dir = path.join(prefix, 'client_body_temp');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, String(process.pid * 1000 + ++bodyFileSeq).padStart(10, '0'));
  writeFileSync(file, body);
  return file;
}

/**
 * Read the whole request body into r (memory, or a temporary file past client_body_buffer_size);
 * done(null), or done(status) after logging as nginx does (413 and the like).
 */
export function readRequestBody(rt: Runtime, r: RequestCtx, done: (err: number | null) => void): void {
  const settings = r.loc?.settings ?? r.server.settings;
  r.ex.readBody(settings.clientMaxBodySize, (err, body) => {
    if (err !== null) {
      if (err === 413) rt.logReq('error', `client intended to send too large body: ${r.req.contentLength} bytes`, r);
      r.bodyError = err;
      r.body = null;
      return done(err);
    }
    const fileOnly = settings.clientBodyInFileOnly !== 'off';
    if (body && body.length > 0 && (fileOnly || body.length > settings.clientBodyBufferSize)) {
      r.bodyFile = writeBodyFile(rt.conf.prefix, body);
      r.bodyFileKept = settings.clientBodyInFileOnly === 'on';
      // nginx says so at warn, or at notice when the conf asked for the file
      rt.logReq(fileOnly ? 'notice' : 'warn', `a client request body is buffered to a temporary file ${r.bodyFile}`, r);
      r.body = null;
    } else {
      r.body = body && body.length ? body : null;
    }
    done(null);
  });
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
  // the metatable of get_headers() tables (lua/ngx.lua), referenced once it is first needed
  let mtRef = LUA_NOREF;
  const headersMt = (L: number): number => {
    if (mtRef === LUA_NOREF) {
      vm.getGlobal(L, '__ngx_req_headers_mt');
      mtRef = vm.ref(L);
    }
    return mtRef;
  };
  return {
    req_get_method: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      vm.pushStr(L, r.method);
      return 1;
    },
    req_http_version: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      const v = r.req.version;
      vm.pushNumber(L, v === 11 ? 1.1 : v === 10 ? 1.0 : v === 9 ? 0.9 : v === 20 ? 2.0 : 1.1);
      return 1;
    },
    req_start_time: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      vm.pushNumber(L, r.req.startTime / 1000);
      return 1;
    },
    req_is_internal: (L) => {
      const r = rt.req(L, CTX_REQ);
      vm.pushBool(L, r.uriChanges > 0);
      return 1;
    },
    req_raw_header: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      const noReqLine = vm.toBool(L, 1);
      const raw = r.req.rawHeader;
      vm.pushStr(L, noReqLine ? raw.slice(raw.indexOf('\n') + 1) : raw);
      return 1;
    },
    req_get_headers: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      let max = maxArg(vm, L, 1, 100);
      const raw = vm.toBool(L, 2);
      const hs = r.req.headers;
      if (max <= 0) max = Infinity;
      // lookups like h["Content-Type"] or h.content_type find the lower-case key
      const t = vm.pushPairs(L, hs, hs.length > max ? max : hs.length, !raw, raw ? LUA_NOREF : headersMt(L));
      if (t < 0) return vm.errorRaw(L, 'not enough memory');
      if (hs.length > max) {
        if (rt.log.debugOn) rt.logReq('debug', `lua exceeding request header limit ${hs.length} > ${max}`, r);
        vm.pushStr(L, 'truncated');
        return 2;
      }
      return 1;
    },
    req_get_uri_args: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      let max = maxArg(vm, L, 1, 100);
      if (max <= 0) max = Infinity;
      // one crossing builds the table (repeated names collect their values in an array)
      const args = decodeArgsPacked(Buffer.from(r.args, 'latin1'), max);
      if (vm.pushPackedPairs(L, args.data, args.lens, args.count) < 0) return vm.errorRaw(L, 'not enough memory');
      if (args.truncated) {
        if (rt.log.debugOn) rt.logReq('debug', `lua hit query args limit ${max}`, r);
        vm.pushStr(L, 'truncated');
        return 2;
      }
      return 1;
    },
    req_set_uri_args: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      // a string goes in as given, but with control bytes, spaces and DEL %-escaped, as ngx_lua does
      r.args = (argsValue(vm, L, 1, 'set_uri_args') ?? '').replace(/[\x00-\x20\x7f]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
      return 0;
    },
    req_set_header: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      const name = vm.toStr(L, 1);
      if (name === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      const vals: string[] = [];
      const t = vm.type(L, 2);
      if (t === 5) {
        const n = Number(vm.rawLen(L, 2));
        for (let i = 1; i <= n; i++) {
          vm.rawGetI(L, 2, i);
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
      const r = rt.reqFfi(L, CTX_REQ);
      let max = maxArg(vm, L, 1, 100);
      if (max <= 0) max = Infinity;
      if (r.body === undefined) {
        return vm.error(L, 'no request body found; maybe you should turn on lua_need_request_body?');
      }
      if (r.bodyFile) {
        vm.pushNil(L);
        vm.pushStr(L, 'request body in temp file not supported');
        return 2;
      }
      const args = decodeArgsPacked(r.body ?? Buffer.alloc(0), max);
      if (vm.pushPackedPairs(L, args.data, args.lens, args.count) < 0) return vm.errorRaw(L, 'not enough memory');
      if (args.truncated) {
        if (rt.log.debugOn) rt.logReq('debug', `lua hit query args limit ${max}`, r);
        vm.pushStr(L, 'truncated');
        return 2;
      }
      return 1;
    },
    req_read_body: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      if (r.body !== undefined) return 0;
      const th = rt.sched.current!;
      let cancelled = false;
      let sync = true;
      let done = false;
      readRequestBody(rt, r, (err) => {
        if (cancelled) return;
        done = true;
        if (err !== null) {
          if (th.ctx.exitCode === null) th.ctx.exitCode = err;
          if (!sync) rt.sched.finishExit(th);
          return;
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
      const r = rt.reqFfi(L, CTX_REQ);
      if (r.body === undefined) {
        r.body = null;
        r.ex.discardBody();
      }
      return 0;
    },
    req_get_body_data: (L) => {
      const r = rt.reqFfi(L, CTX_REQ & ~Ctx.SET);
      if (r.body) vm.pushBytes(L, r.body);
      else vm.pushNil(L);
      return 1;
    },
    req_set_method: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      if (vm.type(L, 1) !== 3) return vm.error(L, 'bad method number');
      const id = vm.toNumber(L, 1);
      const m = METHOD_NAMES[id];
      if (!m) return vm.error(L, `unsupported HTTP method: ${id}`);
      r.method = m;
      return 0;
    },
    req_set_uri: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      const ctx = rt.current()!;
      const uri = vm.toStr(L, 1);
      if (uri === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      const jump = vm.toBool(L, 2);
      const binary = vm.toBool(L, 3);
      if (jump && ctx.kind !== 'rewrite' && ctx.kind !== 'server_rewrite') return vm.error(L, `API disabled in the context of ${CTX_NAMES[ctx.kind]}`);
      if (uri === '') return vm.error(L, 'attempt to use zero-length uri');
      if (!binary) {
        for (let i = 0; i < uri.length; i++) {
          const c = uri.charCodeAt(i);
          if ((c <= 0x08 || (c >= 0x0a && c <= 0x1f) || c === 0x7f)) {
            const shown = uri.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (ch) => '\\x' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
            return vm.error(L, `unsafe byte "0x${c.toString(16).padStart(2, '0')}" in uri "${shown}" (maybe you want to set the 'binary' argument?)`);
          }
        }
      }
      r.uri = uri;
      if (!jump) return 0;
      // like `rewrite ... last`: the rewrite phase ends and locations are searched again
      ctx.uriJump = true;
      return rt.sched.yieldExit(L);
    },
    req_set_body_data: (L) => {
      const r = rt.reqFfi(L, CTX_OUTPUT);
      const b = vm.toBuffer(L, 1);
      if (b === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      if (r.body === undefined) return vm.error(L, 'request body not read yet');
      setBody(r, b);
      return 0;
    },
    req_set_body_file: (L) => {
      const r = rt.reqFfi(L, CTX_OUTPUT);
      const p = vm.toStr(L, 1);
      if (p === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      if (r.body === undefined) return vm.error(L, 'request body not read yet');
      let data: Buffer;
      try {
        data = readFileSync(p);
      } catch {
        return vm.error(L, `failed to open file ${p}`);
      }
      setBody(r, data);
      r.body = null;
      r.bodyFile = p;
      return 0;
    },
    req_init_body: (L) => {
      const r = rt.reqFfi(L, CTX_OUTPUT);
      if (vm.type(L, 1) > 0) {
        const n = vm.toNumber(L, 1);
        if (!(n > 0)) return vm.error(L, `bad size argument: ${n}`);
      }
      r.newBody = [];
      r.newBodyOpen = true;
      return 0;
    },
    req_append_body: (L) => {
      const r = rt.reqFfi(L, CTX_OUTPUT);
      const b = vm.toBuffer(L, 1);
      if (b === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      if (!r.newBody) return vm.error(L, 'request_body not initialized');
      r.newBody.push(b);
      // after finish_body the reference keeps accepting appends to the finished body
      if (!r.newBodyOpen) r.body = Buffer.concat(r.newBody);
      return 0;
    },
    req_finish_body: (L) => {
      const r = rt.reqFfi(L, CTX_OUTPUT);
      if (!r.newBody) return vm.error(L, 'request_body not initialized');
      const body = Buffer.concat(r.newBody);
      r.body = body.length ? body : null;
      r.bodyFile = null;
      r.newBodyOpen = false;
      return 0;
    },
    req_add_header: (L) => {
      const r = rt.req(L, CTX_REQ);
      const name = vm.toStr(L, 1);
      if (name === null) return vm.error(L, `bad 'name' argument: string expected, got ${vm.typeName(L, 1)}`);
      const v = vm.toStr(L, 2);
      if (v !== null) r.req.headers = r.req.headers.concat([[name.replace(/_/g, '-'), v]]);
      return 0;
    },
    req_get_body_file: (L) => {
      const r = rt.reqFfi(L, CTX_REQ);
      if (r.bodyFile) vm.pushStr(L, r.bodyFile);
      else vm.pushNil(L);
      return 1;
    },
  };
}
