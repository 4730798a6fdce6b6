// ngx.shared.DICT: the lua_shared_dict zones. One worker, so each zone is an in-process store;
// lua/shdict.lua owns the argument checks (as lua-resty-core's wrappers do) and calls the
// primitives below with a zone id and an already validated key.
//
// ARCHITECTURE: `ShDict` is a key → entry Map whose insertion order is the LRU queue (oldest
// first; a touch re-inserts at the newest end). Memory is accounted like nginx's slab allocator,
// approximately: the zone has the page count nginx would carve out of `size`, an entry costs
// 68 bytes of node header + key + value (8 for numbers, 1 for booleans, 16 for a list head; a
// list element costs 21 + its bytes), rounded up to a power-of-two slab class (8..2048 bytes,
// several per 4 KiB page) or whole pages above 2 KiB. Chunks of a class are assumed to pack
// perfectly into pages (nginx may keep a partly used page that we would count as freed) and
// page runs are never fragmented, so `free_space()` and the "no memory" point are close to, not
// always exactly, nginx's. Expiry, the LRU eviction loop (≤30 forced evictions, `forcible`), and
// which calls sweep up to two expired entries first follow the reference's observable behaviour.
import type { Runtime } from '../core/runtime.js';
import { T_BOOLEAN, T_NIL, T_NUMBER, T_STRING, type JsLuaFn, type LuaVM } from '../lua/vm.js';
import { nowMs } from './time.js';

export const PAGE_SIZE = 4096;
/** sizeof(ngx_slab_pool_t) + slots + stats at the start of the zone (x86_64, nginx 1.22) */
const POOL_HEADER = 704;
const PAGE_DESC = 24;
/** offsetof(ngx_rbtree_node_t, color) + offsetof(ngx_http_lua_shdict_node_t, data) */
export const NODE_OVERHEAD = 68;
/** offsetof(ngx_http_lua_shdict_list_node_t, data) */
export const LIST_NODE_OVERHEAD = 21;
const LIST_HEAD_LEN = 16;
const MAX_SMALL = PAGE_SIZE / 2;

/** usable pages nginx's slab allocator makes of a zone of `size` bytes */
export function slabPages(size: number): number {
  let pages = Math.floor((size - POOL_HEADER) / (PAGE_SIZE + PAGE_DESC));
  if (pages <= 0) return 0;
  const start = Math.ceil((POOL_HEADER + pages * PAGE_DESC) / PAGE_SIZE) * PAGE_SIZE;
  const fit = Math.floor((size - start) / PAGE_SIZE);
  if (fit < pages) pages = fit;
  return Math.max(0, pages);
}

function slabClass(n: number): number {
  let c = 8;
  while (c < n) c *= 2;
  return c;
}

function chunksPerPage(c: number): number {
  const chunks = PAGE_SIZE / c;
  // below the "exact" size (64 on 64-bit) the page's bitmap sits in its first chunks
  return c < 64 ? chunks - Math.ceil(chunks / 8 / c) : chunks;
}

/** Page-level model of ngx_slab_pool_t (see the header). An allocation is a handle: a slab class
 * (positive) or a negative page count; 0 means it failed. */
export class Slab {
  readonly pages: number;
  private inUse = 0;
  private readonly used = new Map<number, number>();

  constructor(size: number) {
    this.pages = slabPages(size);
  }

  alloc(n: number): number {
    if (n > MAX_SMALL) {
      const p = Math.ceil(n / PAGE_SIZE);
      if (this.inUse + p > this.pages) return 0;
      this.inUse += p;
      return -p;
    }
    const c = slabClass(n);
    const u = this.used.get(c) ?? 0;
    if (u % chunksPerPage(c) === 0) {
      if (this.inUse + 1 > this.pages) return 0;
      this.inUse++;
    }
    this.used.set(c, u + 1);
    return c;
  }

  free(h: number): void {
    if (h < 0) {
      this.inUse += h;
      return;
    }
    if (h === 0) return;
    const u = (this.used.get(h) ?? 0) - 1;
    if (u < 0) return;
    this.used.set(h, u);
    if (u % chunksPerPage(h) === 0) this.inUse--;
  }

  freePages(): number {
    return this.pages - this.inUse;
  }
}

export type ShValue =
  | { t: 'str'; b: Buffer }
  | { t: 'num'; n: number; int: boolean }
  | { t: 'bool'; v: boolean };
export type ListValue = Exclude<ShValue, { t: 'bool' }>;

interface ListItem {
  v: ListValue;
  h: number;
}

interface Entry {
  key: string;
  val: ShValue | null;
  list: ListItem[] | null;
  /** value_len as nginx stores it (decides in-place updates) */
  vlen: number;
  flags: number;
  /** absolute ms, 0 = never */
  expires: number;
  h: number;
}

export const OP_SET = 0, OP_ADD = 1, OP_REPLACE = 2;

export interface StoreResult {
  ok: boolean;
  err?: string;
  forcible: boolean;
}

export type GetResult =
  | { kind: 'missing' }
  | { kind: 'list' }
  | { kind: 'value'; val: ShValue; flags: number; stale: boolean };

export type IncrResult = { ok: true; val: ShValue & { t: 'num' }; forcible: boolean } | { ok: false; err: string };

const valueLen = (v: ShValue): number => (v.t === 'str' ? v.b.length : v.t === 'num' ? 8 : 1);

/** `int` conversion of a double as LuaJIT's FFI does it on x86_64: truncation, INT_MIN when out of range */
export function toCInt(n: number): number {
  if (!Number.isFinite(n)) return -2147483648;
  const t = Math.trunc(n);
  return t >= -2147483648 && t <= 2147483647 ? t : -2147483648;
}

export class ShDict {
  private readonly map = new Map<string, Entry>();
  readonly slab: Slab;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly clock: () => number = () => Math.floor(nowMs()),
  ) {
    this.slab = new Slab(size);
    // what the zone's init allocates: the shared context (rbtree, sentinel, LRU queue) and the
    // log context string " in lua_shared_dict zone \"NAME\""
    this.slab.alloc(80);
    this.slab.alloc(27 + Buffer.byteLength(name, 'latin1'));
  }

  private expired(e: Entry, now: number): boolean {
    return e.expires !== 0 && e.expires <= now;
  }

  private touch(e: Entry): void {
    this.map.delete(e.key);
    this.map.set(e.key, e);
  }

  private remove(e: Entry): void {
    if (e.list) for (const it of e.list) this.slab.free(it.h);
    this.slab.free(e.h);
    this.map.delete(e.key);
  }

  /** nginx's shdict expire(n): force = false frees up to two expired entries at the LRU tail;
   * force = true frees the tail entry whatever it is, then up to two more expired ones. */
  private sweep(force: boolean): number {
    const now = this.clock();
    let n = force ? 0 : 1;
    let freed = 0;
    while (n < 3) {
      const first = this.map.values().next();
      if (first.done) return freed;
      const e = first.value;
      if (n++ !== 0) {
        if (e.expires === 0 || e.expires - now > 0) return freed;
      }
      this.remove(e);
      freed++;
    }
    return freed;
  }

  /** allocate n bytes, evicting LRU entries (≤30 rounds) unless safe */
  private allocEvicting(n: number, safe: boolean): { h: number; forcible: boolean } {
    let h = this.slab.alloc(n);
    let forcible = false;
    if (h || safe) return { h, forcible };
    for (let i = 0; i < 30; i++) {
      if (this.sweep(true) === 0) break;
      forcible = true;
      h = this.slab.alloc(n);
      if (h) break;
    }
    return { h, forcible };
  }

  private insert(key: string, val: ShValue | null, list: ListItem[] | null, vlen: number, flags: number, expires: number, h: number): Entry {
    const e: Entry = { key, val, list, vlen, flags, expires, h };
    this.map.set(key, e);
    return e;
  }

  private expiresAt(ms: number): number {
    return ms > 0 ? this.clock() + ms : 0;
  }

  get(key: string, stale = false): GetResult {
    if (!stale) this.sweep(false);
    const e = this.map.get(key);
    if (!e) return { kind: 'missing' };
    const isStale = this.expired(e, this.clock());
    if (isStale && !stale) return { kind: 'missing' };
    if (e.list) return { kind: 'list' };
    if (!isStale) this.touch(e);
    return { kind: 'value', val: e.val!, flags: e.flags, stale: isStale };
  }

  /** set / add / replace (and their safe_ forms); val null deletes. ms: exptime in ms (≤ 0 = never) */
  store(op: number, key: string, val: ShValue | null, ms = 0, flags = 0, safe = false): StoreResult {
    if (val === null && (op === OP_ADD || op === OP_REPLACE)) {
      return { ok: false, err: 'attempt to add or replace nil values', forcible: false };
    }
    this.sweep(false);
    const old = this.map.get(key);
    const live = old !== undefined && !this.expired(old, this.clock());
    if (op === OP_REPLACE && !live) return { ok: false, err: 'not found', forcible: false };
    if (op === OP_ADD && live) return { ok: false, err: 'exists', forcible: false };
    if (old) {
      if (val !== null && !old.list && old.vlen === valueLen(val)) {
        old.val = val;
        old.flags = flags;
        old.expires = this.expiresAt(ms);
        this.touch(old);
        return { ok: true, forcible: false };
      }
      this.remove(old);
    }
    if (val === null) return { ok: true, forcible: false };
    const vlen = valueLen(val);
    const { h, forcible } = this.allocEvicting(NODE_OVERHEAD + key.length + vlen, safe);
    if (!h) return { ok: false, err: 'no memory', forcible };
    this.insert(key, val, null, vlen, flags, this.expiresAt(ms), h);
    return { ok: true, forcible };
  }

  delete(key: string): void {
    this.store(OP_SET, key, null);
  }

  /** init: null when not given; initTtlMs only applies when the entry is created */
  incr(key: string, step: number, stepInt: boolean, init: { n: number; int: boolean } | null, initTtlMs = 0): IncrResult {
    this.sweep(false);
    const e = this.map.get(key);
    if (!e || this.expired(e, this.clock())) {
      if (!init) return { ok: false, err: 'not found' };
      const val = numAdd(init.n, init.int, step, stepInt);
      if (e && e.val?.t === 'num') {
        e.val = val;
        e.flags = 0;
        e.expires = this.expiresAt(initTtlMs);
        this.touch(e);
        return { ok: true, val, forcible: false };
      }
      if (e) this.remove(e);
      const { h, forcible } = this.allocEvicting(NODE_OVERHEAD + key.length + 8, false);
      if (!h) return { ok: false, err: 'no memory' };
      this.insert(key, val, null, 8, 0, this.expiresAt(initTtlMs), h);
      return { ok: true, val, forcible };
    }
    if (e.val?.t !== 'num') return { ok: false, err: 'not a number' };
    const val = numAdd(e.val.n, e.val.int, step, stepInt);
    e.val = val;
    this.touch(e);
    return { ok: true, val, forcible: false };
  }

  /** lpush (left) / rpush: the new length, or an error string */
  push(key: string, v: ListValue, left: boolean): number | string {
    this.sweep(false);
    let e = this.map.get(key);
    if (e && this.expired(e, this.clock())) {
      this.remove(e);
      e = undefined;
    }
    if (e && !e.list) return 'value not a list';
    let created = false;
    if (!e) {
      const { h } = this.allocEvicting(NODE_OVERHEAD + key.length + LIST_HEAD_LEN, false);
      if (!h) return 'no memory';
      e = this.insert(key, null, [], LIST_HEAD_LEN, 0, 0, h);
      created = true;
    }
    const h = this.slab.alloc(LIST_NODE_OVERHEAD + (v.t === 'str' ? v.b.length : 8));
    if (!h) {
      if (created) this.remove(e);
      return 'no memory';
    }
    const list = e.list!;
    if (left) list.unshift({ v, h });
    else list.push({ v, h });
    this.touch(e);
    return list.length;
  }

  /** lpop / rpop: the value, null when missing or empty, or an error string */
  pop(key: string, left: boolean): ListValue | null | string {
    this.sweep(false);
    const e = this.map.get(key);
    if (!e || this.expired(e, this.clock())) return null;
    if (!e.list) return 'value not a list';
    const it = left ? e.list.shift() : e.list.pop();
    if (!it) return null;
    this.slab.free(it.h);
    if (e.list.length === 0) this.remove(e);
    else this.touch(e);
    return it.v;
  }

  llen(key: string): number | string {
    this.sweep(false);
    const e = this.map.get(key);
    if (!e || this.expired(e, this.clock())) return 0;
    if (!e.list) return 'value not a list';
    this.touch(e);
    return e.list.length;
  }

  /** ms left: 0 = no expiry, negative when expired but not yet freed; null = not found */
  ttl(key: string): number | null {
    const e = this.map.get(key);
    if (!e) return null;
    return e.expires === 0 ? 0 : e.expires - this.clock();
  }

  /** false = not found */
  expire(key: string, ms: number): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    e.expires = this.expiresAt(ms);
    return true;
  }

  /** marks every entry expired, then frees the oldest few (as nginx does) */
  flushAll(): void {
    for (const e of this.map.values()) e.expires = 1;
    this.sweep(true);
  }

  /** frees expired entries, oldest first, at most max of them (0 = all); returns how many */
  flushExpired(max = 0): number {
    const now = this.clock();
    let freed = 0;
    for (const e of [...this.map.values()]) {
      if (!this.expired(e, now)) continue;
      this.remove(e);
      freed++;
      if (max > 0 && freed >= max) break;
    }
    return freed;
  }

  /** live keys, oldest first, at most max (≤ 0 = all) */
  keys(max = 1024): string[] {
    const now = this.clock();
    const out: string[] = [];
    for (const e of this.map.values()) {
      if (this.expired(e, now)) continue;
      out.push(e.key);
      if (max > 0 && out.length >= max) break;
    }
    return out;
  }

  capacity(): number {
    return this.size;
  }

  /** free pages × page size, like ngx_http_lua_ffi_shdict_free_space (approximate, see above) */
  freeSpace(): number {
    return this.slab.freePages() * PAGE_SIZE;
  }

  get count(): number {
    return this.map.size;
  }
}

function numAdd(a: number, aInt: boolean, b: number, bInt: boolean): { t: 'num'; n: number; int: boolean } {
  const n = a + b;
  return { t: 'num', n, int: aInt && bInt && Number.isSafeInteger(n) };
}

// ---- the Lua side -------------------------------------------------------------------------

function pushValue(vm: LuaVM, L: number, v: ShValue): void {
  if (v.t === 'str') vm.pushBytes(L, v.b);
  else if (v.t === 'bool') vm.pushBool(L, v.v);
  else if (v.int) vm.pushNumber(L, v.n);
  else vm.pushNumber(L, v.n);
}

/** the number at idx, keeping Lua's integer subtype when it is exactly representable */
function readNum(vm: LuaVM, L: number, idx: number): { t: 'num'; n: number; int: boolean } {
  if (vm.isInteger(L, idx)) {
    const i = vm.toNumber(L, idx);
    const n = Number(i);
    if (Number.isSafeInteger(n)) return { t: 'num', n, int: true };
    return { t: 'num', n, int: false };
  }
  return { t: 'num', n: vm.toNumber(L, idx), int: false };
}

function readValue(vm: LuaVM, L: number, idx: number): ShValue | null | undefined {
  switch (vm.type(L, idx)) {
    case T_STRING: return { t: 'str', b: vm.toBuffer(L, idx)! };
    case T_NUMBER: return readNum(vm, L, idx);
    case T_BOOLEAN: return { t: 'bool', v: vm.toBool(L, idx) };
    case T_NIL: return null;
    default: return undefined;
  }
}

export function registerShdict(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const dicts: ShDict[] = [];
  for (const [name, size] of rt.conf.http?.sharedDicts ?? []) dicts.push(new ShDict(name, size));

  // every primitive gets (zone id, key, ...) from lua/shdict.lua, which validated both
  const dict = (L: number): ShDict => dicts[vm.toNumber(L, 1) - 1]!;
  const key = (L: number): string => vm.toStr(L, 2) ?? '';
  const nilErr = (L: number, err: string): number => {
    vm.pushNil(L);
    vm.pushStr(L, err);
    return 2;
  };

  return {
    /** { name = id, ... } */
    shd_zones: (L) => {
      vm.createTable(L, 0, dicts.length);
      dicts.forEach((d, i) => {
        vm.pushNumber(L, i + 1);
        vm.setField(L, -2, d.name);
      });
      return 1;
    },
    /** a fresh full userdata: the zone handle kept at dict[1], as ngx_lua does */
    shd_udata: (L) => {
      vm.newUserdata(L, 8);
      return 1;
    },
    shd_get: (L) => {
      const stale = vm.toBool(L, 3);
      const r = dict(L).get(key(L), stale);
      if (r.kind === 'missing') {
        vm.pushNil(L);
        return 1;
      }
      if (r.kind === 'list') return nilErr(L, 'value is a list');
      pushValue(vm, L, r.val);
      if (stale) {
        if (r.flags) vm.pushNumber(L, r.flags);
        else vm.pushNil(L);
        vm.pushBool(L, r.stale);
        return 3;
      }
      if (r.flags) {
        vm.pushNumber(L, r.flags);
        return 2;
      }
      return 1;
    },
    /** (id, key, value, op, safe, exptime, flags) → ok, err, forcible; value type already checked */
    shd_store: (L) => {
      const val = readValue(vm, L, 3) ?? null;
      const op = vm.toNumber(L, 4);
      const safe = vm.toBool(L, 5);
      const ms = toCInt(vm.toNumber(L, 6) * 1000);
      const flags = toCInt(vm.toNumber(L, 7));
      const r = dict(L).store(op, key(L), val, ms, flags, safe);
      vm.pushBool(L, r.ok);
      if (r.err === undefined) vm.pushNil(L);
      else vm.pushStr(L, r.err);
      vm.pushBool(L, r.forcible);
      return 3;
    },
    /** (id, key, step, init|nil, init_ttl) */
    shd_incr: (L) => {
      const step = readNum(vm, L, 3);
      const hasInit = vm.type(L, 4) === T_NUMBER;
      const init = hasInit ? readNum(vm, L, 4) : null;
      const ttlMs = toCInt(vm.toNumber(L, 5) * 1000);
      const r = dict(L).incr(key(L), step.n, step.int, init, ttlMs);
      if (!r.ok) return nilErr(L, r.err);
      pushValue(vm, L, r.val);
      if (!hasInit) return 1;
      vm.pushNil(L);
      vm.pushBool(L, r.forcible);
      return 3;
    },
    /** (id, key, value, left) */
    shd_push: (L) => {
      const v = readValue(vm, L, 3) as ListValue;
      const r = dict(L).push(key(L), v, vm.toBool(L, 4));
      if (typeof r === 'string') return nilErr(L, r);
      vm.pushNumber(L, r);
      return 1;
    },
    shd_pop: (L) => {
      const r = dict(L).pop(key(L), vm.toBool(L, 3));
      if (typeof r === 'string') return nilErr(L, r);
      if (r === null) vm.pushNil(L);
      else pushValue(vm, L, r);
      return 1;
    },
    shd_llen: (L) => {
      const r = dict(L).llen(key(L));
      if (typeof r === 'string') return nilErr(L, r);
      vm.pushNumber(L, r);
      return 1;
    },
    shd_ttl: (L) => {
      const r = dict(L).ttl(key(L));
      if (r === null) return nilErr(L, 'not found');
      vm.pushNumber(L, r / 1000);
      return 1;
    },
    shd_expire: (L) => {
      const ok = dict(L).expire(key(L), toCInt(vm.toNumber(L, 3) * 1000));
      if (!ok) return nilErr(L, 'not found');
      vm.pushBool(L, true);
      return 1;
    },
    shd_flush_all: (L) => {
      dict(L).flushAll();
      return 0;
    },
    shd_flush_expired: (L) => {
      vm.pushNumber(L, dict(L).flushExpired(vm.toNumber(L, 2)));
      return 1;
    },
    shd_get_keys: (L) => {
      const keys = dict(L).keys(vm.toNumber(L, 2));
      vm.createTable(L, keys.length, 0);
      keys.forEach((k, i) => {
        vm.pushStr(L, k);
        vm.rawSetI(L, -2, i + 1);
      });
      return 1;
    },
    shd_capacity: (L) => {
      vm.pushNumber(L, dict(L).capacity());
      return 1;
    },
    shd_free_space: (L) => {
      vm.pushNumber(L, dict(L).freeSpace());
      return 1;
    },
  };
}
