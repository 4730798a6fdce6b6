// Handlers that run synchronously inside another step: header_filter_by_lua (when the head
// is sent), body_filter_by_lua (on each piece of output, with ngx.arg[1] / ngx.arg[2]) and
// set_by_lua (inside the rewrite module, with ngx.arg[n] and a returned value).
import type { LuaHandler, Template } from '../conf/model.js';
import { compileTemplate, expandTemplate } from '../conf/template.js';
import { getVar } from '../core/vars.js';
import type { RequestCtx } from '../core/request.js';
import type { Runtime } from '../core/runtime.js';
import { LuaContext, type CtxKind, type RunOutcome } from '../core/thread.js';

export class SyncRunner {
  constructor(private readonly rt: Runtime) {}

  /**
   * Run h in a fresh context of `kind`; `done` gets the outcome. Without lua_yield_everywhere
   * the yielding APIs are disabled here, so the handler ends before start() returns (true);
   * with it, a filter may wait on I/O and `done` comes later (false).
   */
  start(kind: CtxKind, h: LuaHandler, r: RequestCtx, setup: ((ctx: LuaContext) => void) | null, nret: number,
    done: (o: RunOutcome, ctx: LuaContext) => void): boolean {
    const { rt } = this;
    const fn = this.load(r, h, (r.loc?.settings ?? r.server.settings).luaCodeCache);
    const ctx = new LuaContext(kind, r);
    if (typeof fn !== 'number') {
      if (fn.file === undefined) return done({ kind: 'error', error: fn.error }, ctx), true;
      rt.logReq('error', `failed to load external Lua file "${fn.file}": ${fn.error}`, r);
      done({ kind: 'error', error: fn.error, loadFailed: true }, ctx);
      return true;
    }
    let finished = false;
    ctx.onDone = (o) => {
      finished = true;
      r.filterCtxs?.delete(ctx);
      done(o, ctx);
    };
    ctx.wantResults = nret;
    setup?.(ctx);
    rt.sched.spawnEntry(ctx, fn);
    if (!finished) (r.filterCtxs ??= new Set()).add(ctx);
    return finished;
  }

  /**
   * A handler's compiled chunk. A file handler's path may hold variables, expanded for each
   * request; `file` in an error is the path that could not be loaded.
   */
  load(r: RequestCtx, h: LuaHandler, codeCache: boolean): number | { error: string; file?: string } {
    if (h.form !== 'file') return this.rt.chunk(h, codeCache);
    const file = this.rt.resolvePath(expandTemplate(compilePath(h), (n) => getVar(r, n)));
    const fn = this.rt.chunk(h, codeCache, file);
    return typeof fn === 'number' ? fn : { error: fn.error, file };
  }

  /** set_by_lua: runs to completion (it never yields); the outcome and its context. */
  private run(kind: CtxKind, h: LuaHandler, r: RequestCtx, setup: (ctx: LuaContext) => void, nret: number): { outcome: RunOutcome; ctx: LuaContext } {
    let res: { outcome: RunOutcome; ctx: LuaContext } | null = null;
    const sync = this.start(kind, h, r, setup, nret, (outcome, ctx) => (res = { outcome, ctx }));
    if (!sync || !res) {
      const ctx = [...(r.filterCtxs ?? [])].pop();
      if (ctx) this.rt.sched.abort(ctx);
      return { outcome: { kind: 'error', error: 'attempt to yield across a synchronous handler' }, ctx: ctx ?? new LuaContext(kind, r) };
    }
    return res;
  }

  /** header_filter_by_lua; done(false) when it failed. Returns whether done was already called. */
  headerFilter(r: RequestCtx, h: LuaHandler, done: (ok: boolean, exit: number | null) => void): boolean {
    if (this.rt.log.debugOn) this.rt.logReq('debug', `lua header filter for user lua code, uri "${r.uri}"`, r);
    return this.start('header_filter', h, r, null, 0, (outcome, ctx) => {
      if (outcome.kind === 'error' && !outcome.loadFailed) this.rt.logReq('error', `failed to run header_filter_by_lua*: ${outcome.error}`, r);
      done(outcome.kind !== 'error', ctx.exitCode);
    });
  }

  /** body_filter_by_lua on one piece of output; done(null) when it failed. */
  bodyFilter(r: RequestCtx, h: LuaHandler, chunk: Buffer, eof: boolean, done: (res: { data: Buffer; eof: boolean } | null) => void): boolean {
    if (this.rt.log.debugOn) this.rt.logReq('debug', `lua body filter for user lua code, uri "${r.uri}"`, r);
    return this.start('body_filter', h, r, (c) => {
      c.arg = { chunk, eof };
    }, 0, (outcome, ctx) => {
      if (outcome.kind === 'error') {
        if (!outcome.loadFailed) this.rt.logReq('error', `failed to run body_filter_by_lua*: ${outcome.error}`, r);
        done(null);
      } else {
        done({ data: ctx.arg!.chunk, eof: ctx.arg!.eof });
      }
    });
  }

  /** balancer_by_lua*: whether it ran without error, and the code it gave ngx.exit. */
  balancer(r: RequestCtx, h: LuaHandler): { ok: boolean; exit: number | null } {
    const { outcome, ctx } = this.run('balancer', h, r, () => undefined, 0);
    if (outcome.kind === 'error') {
      if (!outcome.loadFailed) this.rt.logReq('error', `failed to run balancer_by_lua*: ${outcome.error}`, r);
      return { ok: false, exit: null };
    }
    return { ok: true, exit: ctx.exitCode };
  }

  /** set_by_lua: the first returned value as a string ('' for nil), or null on error. */
  setByLua(r: RequestCtx, h: LuaHandler, args: string[]): string | null {
    const { outcome, ctx } = this.run('set', h, r, (c) => {
      c.setArgs = args;
    }, 1);
    if (outcome.kind === 'error') {
      if (!outcome.loadFailed) this.rt.logReq('error', `failed to run set_by_lua*: ${outcome.error}`, r);
      return null;
    }
    return ctx.results?.[0] ?? '';
  }
}

const pathTemplates = new WeakMap<LuaHandler, Template>();
/** A file handler's path as a template (compiled once per handler). */
export function compilePath(h: LuaHandler): Template {
  let t = pathTemplates.get(h);
  if (!t) {
    t = compileTemplate(h.path!);
    pathTemplates.set(h, t);
  }
  return t;
}
