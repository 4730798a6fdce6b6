// The request pipeline: server rewrite -> location match -> rewrite -> access -> content -> log,
// with the rewrite module's statements and the *_by_lua* handlers, following ngx_lua's rules
// for ngx.exit in each phase.
import { rmSync } from 'node:fs';
import type { HttpExchange, HttpRequest } from './types.js';
import { SubExchange, type CaptureResult } from './subrequest.js';
import type { LocationConf, LocSettings, LuaHandler, LuaPhase, RewriteStmt, ServerConf } from '../conf/model.js';
import { findLocation, findNamedLocation, selectServer } from '../conf/match.js';
import { serveStatic, type StaticHost } from './static.js';
import { runEcho } from './echo.js';
import { runProxy, type ProxyHost } from './proxy.js';
import { applyMoreInputHeaders } from './headers_more.js';
import { limitReq } from './limit_req.js';
import { accessAllowed } from '../conf/access.js';
import { readRequestBody } from '../api/req.js';
import { expandTemplate } from '../conf/template.js';
import { RequestCtx } from '../core/request.js';
import { LuaContext, type RunOutcome } from '../core/thread.js';
import type { Runtime, SubrequestSpec } from '../core/runtime.js';
import { afterOutput, sendEof, sendHeaders, sendSpecial, output } from '../core/output.js';
import { getVar } from '../core/vars.js';
import { absoluteRedirect, runRewriteStmts, type RewriteHost } from './rewrite.js';
import { SyncRunner } from './filters.js';

const MAX_URI_CHANGES = 10;

export class Pipeline {
  /** what the rewrite module's statements may ask of the pipeline */
  private readonly rewriteHost: RewriteHost = {
    finalize: (r, status) => this.finalize(r, status),
    respond: (r, code, text) => this.doReturn(r, code, text),
    runSetByLua: (r, h) => this.runSetByLua(r, h),
  };

  private readonly sync: SyncRunner;

  constructor(private readonly rt: Runtime) {
    this.sync = new SyncRunner(rt);
    this.staticHost = this.makeStaticHost();
    this.proxyHost = {
      rt,
      finalize: (r, status) => this.finalize(r, status),
      logPhase: (r) => this.logPhase(r),
      runBalancer: (r, h) => this.sync.balancer(r, h),
    };
    rt.subrequest = (parent, spec, done) => this.subrequest(parent, spec, done);
    rt.sched.afterRun = (th) => {
      const r = th.ctx.req;
      if (r && r.headersSent && !r.eofSent) r.flushOutput(false, false);
    };
  }

  handle(ex: HttpExchange, servers: ServerConf[]): void {
    const server = selectServer(servers, ex.req.host);
    const r = new RequestCtx(ex, server);
    ex.setLimits(server.settings);
    ex.logContext = () => r.logContext();
    ex.onAbort(() => this.abort(r));
    this.serverRewrite(r);
  }

  /** ngx.location.capture: run `spec` as an internal request whose output is kept in memory. */
  private subrequest(parent: RequestCtx, spec: SubrequestSpec, done: (res: CaptureResult, sub: RequestCtx) => void): void {
    const p = parent.req;
    const req: HttpRequest = {
      ...p,
      method: spec.method,
      requestUri: spec.args ? `${spec.uri}?${spec.args}` : spec.uri,
      uri: spec.uri,
      args: spec.args,
      contentLength: spec.body ? spec.body.length : -1,
      chunked: false,
      keepAlive: false,
      startTime: Date.now(),
      headers: spec.body
        ? p.headers.filter(([n]) => !/^(content-length|transfer-encoding)$/i.test(n)).concat([['Content-Length', String(spec.body.length)]])
        : p.headers,
    };
    // the subrequest may finish before this function returns: done gets its context
    const ex: SubExchange = new SubExchange(req, spec.body, parent.ex.connectionRequests, (res) => done(res, r));
    const r: RequestCtx = new RequestCtx(ex, parent.server, parent);
    r.internal = true;
    r.isSubrequest = true;
    r.main = parent.main ?? parent;
    if (spec.shareAllVars) r.vars = parent.vars ??= new Map();
    else if (spec.copyAllVars && parent.vars) r.vars = new Map(parent.vars);
    if (spec.vars) {
      r.vars ??= new Map();
      for (const [k, v] of spec.vars) r.vars.set(k, v);
    }
    if (spec.ctxRef) r.ctxRef = spec.ctxRef;
    r.sharedCtx = spec.ctxRef !== 0;
    this.serverRewrite(r);
  }

  /**
   * auth_request: a subrequest decides; 2xx lets the request on, 401 and 403 are the answer
   * (401 with the subrequest's WWW-Authenticate), anything else is a 500. auth_request_set
   * reads its variables in the subrequest.
   */
  private authRequest(r: RequestCtx, uri: string, next: () => void): void {
    const s = r.loc!.settings;
    this.subrequest(r, { method: r.method, uri, args: '', body: null, vars: null, copyAllVars: false, shareAllVars: false, ctxRef: 0 }, (res, sub) => {
      r.authDone = true;
      for (const { name, value } of s.authRequestSet ?? []) {
        (r.vars ??= new Map()).set(name, expandTemplate(value, (n) => getVar(sub, n)));
      }
      const st = res.status;
      if (st >= 200 && st < 300) return next();
      if (st === 401) {
        const www = res.headers.filter(([n]) => n.toLowerCase() === 'www-authenticate').map(([, v]) => v);
        if (www.length) r.headersOut.set('WWW-Authenticate', www);
        return this.finalize(r, 401);
      }
      if (st === 403) return this.finalize(r, 403);
      this.rt.logReq('error', `auth request unexpected status: ${st}`, r);
      this.finalize(r, 500);
    });
  }

  private serverRewrite(r: RequestCtx): void {
    // server_rewrite_by_lua* runs first in the server rewrite phase, then the rewrite module's
    // server-level statements (the reference's order); an internal redirect runs it again
    const h = r.server.handlers.server_rewrite;
    if (h) return this.runLua(r, 'server_rewrite', h, () => this.serverRewriteStmts(r));
    this.serverRewriteStmts(r);
  }

  private serverRewriteStmts(r: RequestCtx): void {
    const st = runRewriteStmts(this.rewriteHost, r, r.server.rewrite);
    if (st === 'done') return;
    this.findLoc(r);
  }

  /**
   * nginx's internal redirect (ngx.exec, error_page): a new URI (or `@name`) goes through the
   * server rewrite phase and location matching again; ngx.ctx starts afresh.
   */
  internalRedirect(r: RequestCtx, uri: string, args?: string): void {
    r.uriChanges++;
    if (r.uriChanges > MAX_URI_CHANGES) {
      this.rt.logReq('error', `rewrite or internal redirection cycle while internally redirecting to "${uri}"`, r);
      return this.finalize(r, 500);
    }
    this.releaseCtx(r);
    r.sharedCtx = false;
    r.internal = true;
    if (uri.startsWith('@')) {
      const loc = findNamedLocation(r.server, uri);
      if (!loc) {
        this.rt.logReq('error', `named location "${uri}" not found`, r);
        return this.finalize(r, 500);
      }
      r.loc = loc;
      this.installFilters(r);
      const st = runRewriteStmts(this.rewriteHost, r, loc.rewrite);
      if (st === 'done') return;
      if (st === 'restart') return this.findLoc(r);
      return this.phase(r, 'rewrite');
    }
    const q = uri.indexOf('?');
    if (q >= 0) {
      r.args = uri.slice(q + 1);
      uri = uri.slice(0, q);
    } else if (args !== undefined) r.args = args;
    r.uri = uri;
    this.serverRewrite(r);
  }

  /**
   * The client went away. With lua_check_client_abort off nginx does not notice until it writes,
   * so the handler runs on; with it on, an ngx.on_abort handler runs as a light thread, and
   * without one the request's threads are stopped and the request ends with 499.
   */
  private abort(r: RequestCtx): void {
    r.clientGone = true;
    const settings = r.loc?.settings ?? r.server.settings;
    if (!settings.luaCheckClientAbort || r.finalized) return;
    // ngx_lua's check of the client connection says so at info
    this.rt.logReq('info', 'client prematurely closed connection', r);
    if (r.filterCtxs) {
      // filters waiting on I/O stop too; the output steps behind them are dropped
      for (const c of r.filterCtxs) this.rt.sched.abort(c);
      r.filterCtxs = null;
      r.outWait = null;
    }
    const ctx = r.current;
    if (ctx && !ctx.finished && r.onAbortRef) {
      const ref = r.onAbortRef;
      r.onAbortRef = 0;
      this.rt.sched.spawnDetachedThread(ctx, ref);
      this.rt.vm.unref(ref);
      return;
    }
    if (ctx) this.rt.sched.abort(ctx);
    r.current = null;
    r.status = 499;
    r.finalStatus = 499;
    r.eofSent = true;
    r.ex.end();
    this.logPhase(r);
  }

  private findLoc(r: RequestCtx): void {
    if (r.uriChanges > MAX_URI_CHANGES) {
      this.rt.logReq('error', `rewrite or internal redirection cycle while processing "${r.uri}"`, r);
      return this.finalize(r, 500);
    }
    const m = findLocation(r.server, r.uri);
    if (!m) {
      r.loc = null;
      if (this.bodyTooLarge(r, r.server.settings)) return;
      return this.staticContent(r);
    }
    if (m.redirect) {
      r.headersOut.set('Location', [absoluteRedirect(r, r.uri + '/' + (r.args ? '?' + r.args : ''))]);
      return this.finalize(r, 301);
    }
    if (m.loc.internal && !r.internal) return this.finalize(r, 404);
    r.loc = m.loc;
    r.validLocation = true;
    r.ex.setLimits(m.loc.settings);
    if (this.bodyTooLarge(r, m.loc.settings)) return;
    if (m.loc.settings.luaCheckClientAbort) r.ex.abortOnEnd = true;
    r.captures = m.captures;
    applyMoreInputHeaders(r);
    if (m.named) {
      if (!r.vars) r.vars = new Map();
      for (const [k, v] of Object.entries(m.named)) r.vars.set(k, v);
    }
    this.installFilters(r);
    const h = m.loc.handlers.rewrite;
    if (h && m.loc.settings.rewriteByLuaNoPostpone) {
      // rewrite_by_lua_no_postpone: the Lua handler runs before the rewrite module's statements
      return this.runLua(r, 'rewrite', h, () => this.locationRewrite(r, m.loc, 'access'));
    }
    this.locationRewrite(r, m.loc, 'rewrite');
  }

  /** The location's rewrite-module statements, then the phases from `next` on. */
  private locationRewrite(r: RequestCtx, loc: LocationConf, next: 'rewrite' | 'access'): void {
    const st = runRewriteStmts(this.rewriteHost, r, loc.rewrite);
    if (st === 'done') return;
    // a true `if` block may have switched r.loc to its own configuration
    if (r.loc !== loc) this.installFilters(r);
    if (st === 'restart') {
      r.uriChanges++;
      return this.findLoc(r);
    }
    this.phase(r, next);
  }

  /** Run the phases from `from` on. */
  private phase(r: RequestCtx, from: 'rewrite' | 'access' | 'content'): void {
    const loc = r.loc!;
    if (loc.settings.luaNeedRequestBody && r.body === undefined && (loc.handlers.rewrite || loc.handlers.access || loc.handlers.content)) {
      // lua_need_request_body: the body is read before the first Lua handler runs
      return readRequestBody(this.rt, r, (err) => (err !== null ? this.finalize(r, err) : this.phase(r, from)));
    }
    if (from === 'rewrite' && loc.handlers.rewrite) {
      return this.runLua(r, 'rewrite', loc.handlers.rewrite, () => this.phase(r, 'access'));
    }
    // limit_req: the preaccess phase, once per main request (a delayed request comes back here)
    if (from !== 'content' && loc.settings.limitReq) {
      const v = limitReq(this.rt, r, loc.settings);
      if (v?.status !== undefined) return this.finalize(r, v.status);
      if (v?.delay !== undefined) {
        setTimeout(() => {
          if (r.finalized) return;
          // the client left while the request waited (nginx's 499, without a response)
          if (r.clientGone) return this.finalize(r, 499);
          this.phase(r, 'access');
        }, v.delay);
        return;
      }
    }
    // nginx skips the access phase in subrequests
    if (from !== 'content' && r.isSubrequest) from = 'content';
    if (from !== 'content') {
      const deny = () => {
        this.rt.logReq('error', 'access forbidden by rule', r);
        this.finalize(r, 403);
      };
      const allowed = accessAllowed(loc.settings.access, r.req.remoteAddr);
      const h = loc.handlers.access;
      if (h && loc.settings.accessByLuaNoPostpone) {
        // access_by_lua_no_postpone: the Lua handler runs before allow/deny
        return this.runLua(r, 'access', h, () => (allowed ? this.phase(r, 'content') : deny()));
      }
      if (!allowed) return deny();
      if (loc.settings.authRequest && !r.authDone) return this.authRequest(r, loc.settings.authRequest, () => this.phase(r, 'access'));
      if (h) return this.runLua(r, 'access', h, () => this.phase(r, 'content'));
    }
    if (loc.handlers.content) {
      return this.runLua(r, 'content', loc.handlers.content, () => this.finishContent(r));
    }
    if (loc.settings.proxyPass) return runProxy(this.proxyHost, r);
    const echo = loc.settings.echo;
    if (echo && echo.length > 0) {
      return runEcho(this.rt, { finalize: (x, s) => this.finalize(x, s), internalRedirect: (x, u, a) => this.internalRedirect(x, u, a), logPhase: (x) => this.logPhase(x) }, r, echo);
    }
    this.staticContent(r);
  }

  /** No content handler: nginx's static module serves the file (src/http/static.ts). */
  private staticContent(r: RequestCtx): void {
    serveStatic(this.staticHost, r);
  }

  private readonly staticHost: StaticHost;

  private readonly proxyHost: ProxyHost;

  private makeStaticHost(): StaticHost {
    return {
      finalize: (r, status) => this.finalize(r, status),
      internalRedirect: (r, uri, args) => this.internalRedirect(r, uri, args),
      respond: (r, body) => {
        sendHeaders(r);
        if (body) output(r, body);
        sendEof(r);
        this.logPhase(r);
      },
      logError: (r, msg) => this.rt.logReq('error', msg, r),
      prefix: this.rt.conf.prefix,
    };
  }

  /**
   * nginx refuses a declared body over client_max_body_size as soon as the location is known,
   * whether or not anything would read it.
   */
  private bodyTooLarge(r: RequestCtx, s: LocSettings): boolean {
    const n = r.req.contentLength;
    if (r.internal || s.clientMaxBodySize <= 0 || n <= s.clientMaxBodySize) return false;
    this.rt.logReq('error', `client intended to send too large body: ${n} bytes`, r);
    r.ex.discardBody();
    this.finalize(r, 413);
    return true;
  }

  /** the last `return` text and its bytes: a location's text is mostly the same on every request */
  private returnText = '';
  private returnBody = Buffer.alloc(0);

  /** `return code [text]`: a body with the default type, a redirect page or an error page */
  doReturn(r: RequestCtx, code: number, text: string | undefined): void {
    if (code === 444) {
      r.terminate();
      return this.logPhase(r);
    }
    if (text !== undefined && (code === 301 || code === 302 || code === 303 || code === 307 || code === 308)) {
      r.headersOut.set('Location', [text]);
      return this.finalize(r, code);
    }
    if (text !== undefined) {
      // as ngx_http_send_response: the body is discarded first, and a broken one is a 400
      if (!r.ex.discardBody()) return this.finalize(r, 400);
      r.status = code;
      if (text !== this.returnText) {
        this.returnText = text;
        this.returnBody = Buffer.from(text, 'latin1');
      }
      const body = this.returnBody;
      r.headersOut.contentLength = body.length;
      sendHeaders(r);
      output(r, body);
      sendEof(r);
      return this.logPhase(r);
    }
    this.finalize(r, code);
  }

  private installFilters(r: RequestCtx): void {
    const hs = r.loc!.handlers;
    if (!hs.header_filter && !hs.body_filter) {
      r.filters = null;
      return;
    }
    r.filters = {
      header: hs.header_filter ? (req, done) => this.sync.headerFilter(req, hs.header_filter!, done) : undefined,
      body: hs.body_filter ? (req, chunk, eof, done) => this.sync.bodyFilter(req, hs.body_filter!, chunk, eof, done) : undefined,
    };
  }

  private runSetByLua(r: RequestCtx, h: LuaHandler): boolean {
    const args = (h.setArgs ?? []).map((t) => expandTemplate(t, (n) => getVar(r, n)));
    const v = this.sync.setByLua(r, h, args);
    if (v === null) {
      this.finalize(r, 500);
      return false;
    }
    if (!r.vars) r.vars = new Map();
    r.vars.set(h.setVar!, v);
    return true;
  }

  private runLua(r: RequestCtx, phase: LuaPhase & ('server_rewrite' | 'rewrite' | 'access' | 'content'), h: LuaHandler, next: () => void): void {
    const { rt } = this;
    const settings = r.loc?.settings ?? r.server.settings;
    if (!settings.luaCodeCache && !r.freshModules) {
      // lua_code_cache off: like ngx_lua's fresh VM per request, modules are loaded anew
      r.freshModules = true;
      rt.forgetFileModules();
    }
    const fn = this.sync.load(r, h, settings.luaCodeCache);
    if (typeof fn !== 'number') {
      if (fn.file !== undefined) {
        rt.logReq('error', `failed to load external Lua file "${fn.file}": ${fn.error}`, r);
        return this.finalize(r, /No such file/.test(fn.error) && phase === 'content' ? 404 : 500);
      }
      rt.logReq('error', `failed to load inlined Lua code: ${fn.error}`, r);
      return this.finalize(r, 500);
    }
    r.phase = phase;
    const ctx = new LuaContext(phase, r);
    r.current = ctx;
    ctx.onDone = (o) => {
      r.current = null;
      if (r.finalized) return;
      this.afterLua(r, ctx, o, next);
    };
    rt.sched.spawnEntry(ctx, fn);
  }

  private afterLua(r: RequestCtx, ctx: LuaContext, o: RunOutcome, next: () => void): void {
    const { rt } = this;
    if (o.kind === 'error') {
      rt.logReq('error', `lua entry thread aborted: runtime error: ${o.error}`, r);
      if (!r.headersSent) return this.finalize(r, 500);
      // headers are out: the response cannot become an error; cut the connection
      r.terminate();
      return this.logPhase(r);
    }
    const phase = ctx.kind;
    if (o.kind === 'exit' && ctx.uriJump) {
      // ngx.req.set_uri(uri, true): like rewrite ... last, with a fresh ngx.ctx as on the reference
      this.releaseCtx(r);
      r.uriChanges++;
      return this.findLoc(r);
    }
    if (o.kind === 'exit' && ctx.exec) {
      const { uri, args } = ctx.exec;
      return this.internalRedirect(r, uri, args);
    }
    if (o.kind === 'exit') {
      const code = ctx.exitCode ?? 0;
      if (code === -1) {
        // ngx.exit(ngx.ERROR): the request is aborted without a response
        r.terminate();
        return this.logPhase(r);
      }
      if (code >= 200) {
        if (r.headersSent) {
          if (code >= 300 && code !== 408 && code !== 444 && code !== 499 && code !== r.status) {
            rt.logReq('error', `attempt to set status ${code} via ngx.exit after sending out the response status ${r.status}`, r);
          }
          sendEof(r);
          return this.logPhase(r);
        }
        if (code === 444) return this.doReturn(r, 444, undefined);
        if (code >= 300 || code === 201 || code === 204) return this.finalize(r, code);
        r.status = code;
        sendEof(r);
        return this.logPhase(r);
      }
      // ngx.exit(ngx.OK) and friends
      if (phase === 'content' || r.headersSent) {
        if (r.headersSent || phase === 'content') {
          sendEof(r);
          return this.logPhase(r);
        }
      }
      return next();
    }
    // finished normally
    if (phase !== 'content' && r.headersSent) {
      // output in rewrite/access finishes the request there
      sendEof(r);
      return this.logPhase(r);
    }
    next();
  }

  private finishContent(r: RequestCtx): void {
    sendEof(r);
    this.logPhase(r);
  }

  /** Finish with nginx's special response for status. */
  finalize(r: RequestCtx, status: number): void {
    if (r.finalized) return;
    const ep = status >= 300 && !r.errorPageDone && !r.headersSent ? (r.loc?.settings ?? r.server.settings).errorPages.get(status) : undefined;
    if (ep) {
      // error_page: an internal redirect that keeps the error status unless `=[code]` says otherwise
      r.errorPageDone = true;
      r.status = ep.useUriStatus ? 0 : ep.overrideStatus ?? status;
      if (r.req.method !== 'GET' && r.req.method !== 'HEAD') r.method = 'GET';
      return this.internalRedirect(r, ep.uri);
    }
    if (r.body === undefined) {
      r.body = null;
      r.ex.discardBody();
    }
    sendSpecial(r, status);
    this.logPhase(r);
  }

  private logPhase(r: RequestCtx): void {
    if (r.finalized) return;
    // a filter still waiting on I/O (lua_yield_everywhere): log once the response is out
    if (r.outWait) return afterOutput(r, () => this.logPhase(r));
    r.finalized = true;
    if (r.body === undefined) {
      r.body = null;
      r.ex.discardBody();
    }
    // only the main request runs the log phase
    const h = r.isSubrequest ? undefined : r.loc?.handlers.log ?? r.server.handlers.log;
    if (h) {
      const { rt } = this;
      const fn = rt.chunk(h, (r.loc?.settings ?? r.server.settings).luaCodeCache);
      if (typeof fn !== 'number') {
        rt.logReq('error', `failed to load inlined Lua code: ${fn.error}`, r);
      } else {
        r.phase = 'log';
        const ctx = new LuaContext('log', r);
        ctx.onDone = (o) => {
          if (o.kind === 'error') rt.logReq('error', `failed to run log_by_lua*: ${o.error}`, r);
          this.releaseReq(r);
        };
        rt.sched.spawnEntry(ctx, fn);
        return;
      }
    }
    this.releaseReq(r);
  }

  private releaseReq(r: RequestCtx): void {
    r.runCleanups();
    if (r.onAbortRef) {
      this.rt.vm.unref(r.onAbortRef);
      r.onAbortRef = 0;
    }
    if (r.bodyFile && !r.bodyFileKept) {
      rmSync(r.bodyFile, { force: true });
      r.bodyFile = null;
    }
    this.releaseCtx(r);
  }

  /**
   * Let go of the request's ngx.ctx table: at its end, and when an internal redirect or a
   * jump starts the request afresh (ngx_lua releases that table with the request's pool and
   * says so then; here it goes at once, with the same line).
   */
  private releaseCtx(r: RequestCtx): void {
    if (!r.ctxRef) return;
    // ngx_lua says it on the cycle's log: no connection number
    if (this.rt.log.debugOn) this.rt.log.log('debug', `lua release ngx.ctx at ref ${r.ctxRef}`);
    // a ctx table lent by ngx.location.capture's ctx option belongs to the caller
    if (!r.sharedCtx) this.rt.vm.unref(r.ctxRef);
    r.ctxRef = 0;
  }
}
