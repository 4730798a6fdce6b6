// Handlers that run synchronously inside another step: header_filter_by_lua (when the head
// is sent), body_filter_by_lua (on each piece of output, with ngx.arg[1] / ngx.arg[2]) and
// set_by_lua (inside the rewrite module, with ngx.arg[n] and a returned value).
import type { LuaHandler } from '../conf/model.js';
import type { RequestCtx } from '../core/request.js';
import type { Runtime } from '../core/runtime.js';
import { LuaContext, type CtxKind, type RunOutcome } from '../core/thread.js';

export class SyncRunner {
  constructor(private readonly rt: Runtime) {}

  /**
   * Run h to completion in a fresh context of `kind`. Yielding APIs are disabled in these
   * contexts, so the entry thread ends before spawnEntry returns.
   */
  run(kind: CtxKind, h: LuaHandler, r: RequestCtx, setup?: (ctx: LuaContext) => void, nret = 0): { outcome: RunOutcome; ctx: LuaContext } {
    const { rt } = this;
    const fn = rt.chunk(h, (r.loc?.settings ?? r.server.settings).luaCodeCache);
    const ctx = new LuaContext(kind, r);
    if (typeof fn !== 'number') return { outcome: { kind: 'error', error: fn.error }, ctx };
    let outcome: RunOutcome | null = null;
    ctx.onDone = (o) => (outcome = o);
    ctx.wantResults = nret;
    setup?.(ctx);
    const prevPhase = r.phase;
    r.phase = kind as typeof r.phase;
    rt.sched.spawnEntry(ctx, fn);
    r.phase = prevPhase;
    if (!outcome) {
      rt.sched.abort(ctx);
      outcome = { kind: 'error', error: 'attempt to yield across a synchronous handler' };
    }
    return { outcome, ctx };
  }

  headerFilter(r: RequestCtx, h: LuaHandler): boolean {
    const { outcome } = this.run('header_filter', h, r);
    if (outcome.kind === 'error') {
      this.rt.logReq('error', `failed to run header_filter_by_lua*: ${outcome.error}`, r);
      return false;
    }
    return true;
  }

  /** Returns the filtered chunk, or null when the filter failed. */
  bodyFilter(r: RequestCtx, h: LuaHandler, chunk: Buffer, eof: boolean): { data: Buffer; eof: boolean } | null {
    const { outcome, ctx } = this.run('body_filter', h, r, (c) => {
      c.arg = { chunk, eof };
    });
    if (outcome.kind === 'error') {
      this.rt.logReq('error', `failed to run body_filter_by_lua*: ${outcome.error}`, r);
      return null;
    }
    return { data: ctx.arg!.chunk, eof: ctx.arg!.eof };
  }

  /** set_by_lua: the first returned value as a string ('' for nil), or null on error. */
  setByLua(r: RequestCtx, h: LuaHandler, args: string[]): string | null {
    const { outcome, ctx } = this.run('set', h, r, (c) => {
      c.setArgs = args;
    }, 1);
    if (outcome.kind === 'error') {
      this.rt.logReq('error', `failed to run set_by_lua*: ${outcome.error}`, r);
      return null;
    }
    return ctx.results?.[0] ?? '';
  }
}
