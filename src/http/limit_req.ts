// nginx's limit_req in the preaccess phase: a leaky bucket per key in each zone, kept in
// thousandths of a request (excess) with the time of its last update, once per main request.
// Zones live in this worker's memory (nginx shares them between workers); a zone's size is
// spent at an estimated cost per key, as nginx's slab allocator would.

import type { LimitReqRule, LimitReqZone, LocSettings } from '../conf/model.js';
import type { RequestCtx } from '../core/request.js';
import type { Runtime } from '../core/runtime.js';
import { expandTemplate } from '../conf/template.js';
import { getVar } from '../core/vars.js';

// RequestCtx.limitReqStatus codes (LIMIT_REQ_STATUS names them)
const PASSED = 1;
const DELAYED = 2;
const REJECTED = 3;
const DELAYED_DRY_RUN = 4;
const REJECTED_DRY_RUN = 5;

// lookup outcomes (nginx's NGX_DECLINED, NGX_OK, NGX_AGAIN, NGX_BUSY, NGX_ERROR)
const DECLINED = 0;
const OK = 1;
const AGAIN = 2;
const BUSY = 3;
const ERROR = 4;

interface BucketNode {
  excess: number;
  last: number;
  /** requests still being accounted over several limits */
  count: number;
  cost: number;
}

/** a monotonic clock in ms with an epoch-sized base, as nginx's ngx_current_msec */
const clock = (): number => Math.floor(performance.timeOrigin + performance.now());

/** elapsed ms as nginx bounds it: a clock gone far back counts as 1 ms, a little back as 0 */
function elapsed(now: number, last: number): number {
  const ms = now - last;
  return ms < -60000 ? 1 : ms < 0 ? 0 : ms;
}

class ZoneState {
  /** by key, least recently used first (a lookup moves a key to the end) */
  private readonly nodes = new Map<string, BucketNode>();
  private used = 0;
  /** the node a lookup counted without accounting (nginx's ctx->node) */
  pending: BucketNode | null = null;

  constructor(private readonly zone: LimitReqZone) {}

  lookup(key: string, account: boolean, limit: LimitReqRule, out: { excess: number }): number {
    const now = clock();
    const rate = this.zone.rate;
    const lr = this.nodes.get(key);
    if (lr) {
      this.nodes.delete(key);
      this.nodes.set(key, lr);
      const ms = elapsed(now, lr.last);
      const excess = Math.max(0, lr.excess - Math.trunc((rate * ms) / 1000) + 1000);
      out.excess = excess;
      if (excess > limit.burst) return BUSY;
      if (account) {
        lr.excess = excess;
        if (ms) lr.last = now;
        return OK;
      }
      lr.count++;
      this.pending = lr;
      return AGAIN;
    }
    out.excess = 0;
    // a slab chunk for the node and its key: nginx's node header plus the key, a power of two
    const cost = 2 ** Math.ceil(Math.log2(72 + key.length));
    this.expire(1, now);
    if (this.used + cost > this.zone.size) {
      this.expire(0, now);
      if (this.used + cost > this.zone.size) return ERROR;
    }
    const node: BucketNode = { excess: 0, last: account ? now : 0, count: account ? 0 : 1, cost };
    this.nodes.set(key, node);
    this.used += cost;
    if (account) return OK;
    this.pending = node;
    return AGAIN;
  }

  /**
   * Drop stale keys from the least recently used end: n = 1 drops up to two that have drained
   * and sat for a minute, n = 0 drops the oldest whatever its state, then up to two more.
   */
  private expire(n: number, now: number): void {
    while (n < 3) {
      const first = this.nodes.entries().next();
      if (first.done) return;
      const [key, lr] = first.value;
      if (lr.count) return;
      if (n++ !== 0) {
        const ms = Math.abs(now - lr.last);
        if (ms < 60000) return;
        if (lr.excess - Math.trunc((this.zone.rate * ms) / 1000) > 0) return;
      }
      this.nodes.delete(key);
      this.used -= lr.cost;
    }
  }
}

const states = new WeakMap<LimitReqZone, ZoneState>();

function stateOf(zone: LimitReqZone): ZoneState {
  let st = states.get(zone);
  if (!st) {
    st = new ZoneState(zone);
    states.set(zone, st);
  }
  return st;
}

/** the limits before `n` that counted a request without accounting it: let it go */
function unlock(limits: LimitReqRule[], n: number): void {
  while (n--) {
    const st = stateOf(limits[n].zone);
    if (st.pending) st.pending.count--;
    st.pending = null;
  }
}

/**
 * Account the request in the limits before `n` that counted it; the longest delay any limit
 * asks for, with the excess and limit behind it (nginx's ngx_http_limit_req_account).
 */
function account(limits: LimitReqRule[], n: number, first: { excess: number; limit: LimitReqRule }): number {
  let max = first.excess <= first.limit.delay ? 0 : Math.trunc(((first.excess - first.limit.delay) * 1000) / first.limit.zone.rate);
  while (n--) {
    const limit = limits[n];
    const st = stateOf(limit.zone);
    const lr = st.pending;
    if (!lr) continue;
    const now = clock();
    const ms = elapsed(now, lr.last);
    const excess = Math.max(0, lr.excess - Math.trunc((limit.zone.rate * ms) / 1000) + 1000);
    if (ms) lr.last = now;
    lr.excess = excess;
    lr.count--;
    st.pending = null;
    if (excess <= limit.delay) continue;
    const delay = Math.trunc(((excess - limit.delay) * 1000) / limit.zone.rate);
    if (delay > max) {
      max = delay;
      first.excess = excess;
      first.limit = limit;
    }
  }
  return max;
}

const thousandths = (x: number): string => `${Math.trunc(x / 1000)}.${String(x % 1000).padStart(3, '0')}`;

/** one level less severe, as nginx logs delays (info stays info) */
function delayLevel(level: LocSettings['limitReqLogLevel']): LocSettings['limitReqLogLevel'] {
  return level === 'error' ? 'warn' : level === 'warn' ? 'notice' : 'info';
}

export type LimitReqVerdict = { status: number; delay?: undefined } | { delay: number; status?: undefined };

/**
 * The limit_req check for a request entering preaccess: null to go on now, a status to
 * finalize with, or a delay (ms) after which the phases go on. Runs once per main request.
 */
export function limitReq(rt: Runtime, r: RequestCtx, s: LocSettings): LimitReqVerdict | null {
  const main = r.main ?? r;
  const limits = s.limitReq;
  if (main.limitReqStatus || !limits) return null;
  let rc = DECLINED;
  const found = { excess: 0, limit: limits[0] };
  let n = 0;
  for (; n < limits.length; n++) {
    const limit = limits[n];
    found.limit = limit;
    const key = expandTemplate(limit.zone.key!, (v) => getVar(r, v));
    if (key === '') continue;
    if (key.length > 65535) {
      rt.logReq('error', `the value of the "${limit.zone.key!.raw}" key is more than 65535 bytes: "${key}"`, r);
      continue;
    }
    rc = stateOf(limit.zone).lookup(key, n === limits.length - 1, limit, found);
    if (rc !== AGAIN) break;
  }
  if (rc === DECLINED) return null;
  const dry = s.limitReqDryRun ? ', dry run' : '';
  if (rc === BUSY || rc === ERROR) {
    if (rc === BUSY) {
      rt.logReq(s.limitReqLogLevel, `limiting requests${dry}, excess: ${thousandths(found.excess)} by zone "${found.limit.zone.name}"`, r);
    } else {
      rt.logReq('alert', `could not allocate node in limit_req zone "${found.limit.zone.name}"`, null);
    }
    unlock(limits, n);
    if (s.limitReqDryRun) {
      main.limitReqStatus = REJECTED_DRY_RUN;
      return null;
    }
    main.limitReqStatus = REJECTED;
    return { status: s.limitReqStatus };
  }
  if (rc === AGAIN) found.excess = 0;
  const delay = account(limits, n, found);
  if (!delay) {
    main.limitReqStatus = PASSED;
    return null;
  }
  rt.logReq(delayLevel(s.limitReqLogLevel), `delaying request${dry}, excess: ${thousandths(found.excess)}, by zone "${found.limit.zone.name}"`, r);
  if (s.limitReqDryRun) {
    main.limitReqStatus = DELAYED_DRY_RUN;
    return null;
  }
  main.limitReqStatus = DELAYED;
  return { delay };
}
