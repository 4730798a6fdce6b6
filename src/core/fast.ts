// State that Lua reads through FFI instead of calling into JS: a call across the boundary costs
// 0.13-0.4 us, where the reference's FFI read of the same value costs a few ns. JS writes each
// slot whenever the value it mirrors changes; a slot that cannot be trusted holds its "ask JS"
// value, and lua/ngx.lua then takes the JS call, which stays the one source of truth.
import type { CtxKind, LuaContext } from './thread.js';

/** off-heap (a constructed ArrayBuffer never moves), so the pointer Lua holds stays valid */
export const fast = new Float64Array(new ArrayBuffer(64));

/** ngx.now()'s cached value in seconds; 0 when the cached clock must be refreshed by JS */
export const F_NOW = 0;
/** the running context's kind as an index of PHASES; -1 outside a thread (init: ask JS) */
export const F_PHASE = 1;
/** registry ref of the running context's ngx.ctx table; 0 when there is none yet (ask JS) */
export const F_CTX = 2;

/** the running request's method as an index of METHODS; -1: none, or another method (ask JS) */
export const F_METHOD = 3;

/** what reading ngx.status answers in the running request; -1 outside a request (ask JS) */
export const F_STATUS = 4;

/** ngx.headers_sent in the running request, 1 or 0; -1 outside the phases that may read it (ask JS) */
export const F_HSENT = 5;
/** the kinds whose Lua may read ngx.headers_sent (runtime.ts CTX_REQ) */
const HSENT_KINDS: ReadonlySet<CtxKind> = new Set<CtxKind>(['set', 'rewrite', 'access', 'content', 'header_filter', 'body_filter', 'log', 'balancer']);

/** the methods F_METHOD can name, in index order (lua/ngx.lua receives them from fast_info) */
export const METHODS: readonly string[] = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL',
  'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'TRACE',
];
const METHOD_INDEX = new Map<string, number>(METHODS.map((m, i) => [m, i]));
/** (a request's method string is new each time: comparing it costs less than hashing it) */
export const methodIndex = (m: string): number => (m === 'GET' ? 0 : m === 'POST' ? 2 : METHOD_INDEX.get(m) ?? -1);

/** ngx.get_phase() names, in index order (lua/ngx.lua receives them from fast_info) */
export const PHASES: readonly CtxKind[] = [
  'init', 'init_worker', 'set', 'rewrite', 'access', 'content', 'header_filter', 'body_filter',
  'log', 'timer', 'balancer', 'server_rewrite',
];
const PHASE_INDEX = new Map<CtxKind, number>(PHASES.map((k, i) => [k, i]));

/** the owner whose ctxRef F_CTX mirrors; its ctxRef setter keeps the slot current */
let fastCtxOwner: CtxOwner | null = null;

/** Who owns an ngx.ctx table: a request, or a context without one (timer, init_worker). */
export class CtxOwner {
  private ctxRef_ = 0;
  /** registry ref of the ngx.ctx table, 0 until first use; mirrored in F_CTX while it runs */
  get ctxRef(): number {
    return this.ctxRef_;
  }
  set ctxRef(ref: number) {
    this.ctxRef_ = ref;
    this.mirror(F_CTX, ref);
  }
  /** A value slot mirrors changed: written only while this owner's Lua is the one running. */
  protected mirror(slot: number, v: number): void {
    if (fastCtxOwner === this) fast[slot] = v;
  }
}

/** Point the slots at ctx, the context that Lua is about to run in (null: none). */
export function fastEnter(ctx: LuaContext | null): void {
  if (ctx === null) {
    fast[F_PHASE] = -1;
    fastCtxOwner = null;
    fast[F_CTX] = 0;
    fast[F_METHOD] = -1;
    fast[F_STATUS] = -1;
    fast[F_HSENT] = -1;
    return;
  }
  fast[F_PHASE] = ctx.phaseIndex;
  const owner: CtxOwner | null = ctx.req ?? (ctx.kind === 'init' ? null : ctx);
  fastCtxOwner = owner;
  fast[F_CTX] = owner === null ? 0 : owner.ctxRef;
  fast[F_METHOD] = ctx.req === null ? -1 : ctx.req.methodIndex;
  fast[F_STATUS] = ctx.req === null ? -1 : ctx.req.statusView;
  fast[F_HSENT] = ctx.req === null || !ctx.readsHeadersSent ? -1 : ctx.req.headersSent ? 1 : 0;
}

/** A context kind's slot values, found once per context rather than at each entry. */
export function phaseIndex(kind: CtxKind): number {
  return PHASE_INDEX.get(kind) ?? -1;
}
export function readsHeadersSent(kind: CtxKind): boolean {
  return HSENT_KINDS.has(kind);
}
