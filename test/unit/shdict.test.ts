// The lua_shared_dict store (src/api/shdict.ts) without a VM: TTL with a fake clock, LRU order,
// the slab-page memory model and eviction. Numbers checked against the reference with ref-run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OP_ADD, OP_REPLACE, OP_SET, ShDict, Slab, slabPages, toCInt, type ListValue } from '../../src/api/shdict.js';

const str = (s: string): ListValue => ({ t: 'str', b: Buffer.from(s, 'latin1') });
const num = (n: number): ListValue => ({ t: 'num', n, int: Number.isInteger(n) });

function dict(size = 1 << 20, name = 'd') {
  const clock = { now: 1_000_000 };
  const d = new ShDict(name, size, () => clock.now);
  return { d, clock };
}
const getStr = (d: ShDict, k: string, stale = false) => {
  const r = d.get(k, stale);
  return r.kind === 'value' && r.val.t === 'str' ? r.val.b.toString('latin1') : r.kind;
};

test('slab pages and free space match nginx for 1m and 12k zones', () => {
  assert.equal(slabPages(1 << 20), 254);
  assert.equal(slabPages(12288), 2);
  assert.equal(dict().d.freeSpace(), 1032192);
  assert.equal(dict(12288).d.freeSpace(), 0);
});

test('slab classes pack chunks per page', () => {
  const s = new Slab(1 << 20);
  const before = s.freePages();
  const hs: number[] = [];
  for (let i = 0; i < 16; i++) hs.push(s.alloc(200)); // 256-byte class: 16 per page
  assert.equal(s.freePages(), before - 1);
  hs.push(s.alloc(200));
  assert.equal(s.freePages(), before - 2);
  assert.equal(s.alloc(5000), -2); // two whole pages
  assert.equal(s.freePages(), before - 4);
  s.free(-2);
  for (const h of hs) s.free(h);
  assert.equal(s.freePages(), before);
});

test('free space follows entry sizes (key + value + 68-byte node)', () => {
  const { d } = dict();
  for (let i = 1; i <= 100; i++) d.store(OP_SET, 'x' + i, str('y'.repeat(100)));
  assert.equal(d.freeSpace(), 1003520);
  for (let i = 1; i <= 100; i++) d.store(OP_SET, 'z' + i, str('y'.repeat(1000)));
  assert.equal(d.freeSpace(), 798720);
  for (let i = 1; i <= 100; i++) d.delete('z' + i);
  assert.equal(d.freeSpace(), 1003520);
});

test('expiry, ttl and get_stale use the clock in ms', () => {
  const { d, clock } = dict();
  d.store(OP_SET, 'older', str('live')); // a live LRU tail: gets do not sweep k away
  d.store(OP_SET, 'k', str('v'), 1500, 3);
  assert.equal(d.ttl('k'), 1500);
  clock.now += 1499;
  assert.equal(getStr(d, 'k'), 'v');
  clock.now += 1;
  assert.equal(getStr(d, 'k'), 'missing');
  const r = d.get('k', true);
  assert.deepEqual(r.kind === 'value' && [r.flags, r.stale], [3, true]);
  assert.equal(d.ttl('k'), 0);
  clock.now += 10;
  assert.equal(d.ttl('k'), -10);
  assert.equal(d.ttl('nope'), null);
  assert.equal(d.expire('k', 0), true); // revives it, no expiry
  assert.equal(getStr(d, 'k'), 'v');
  assert.equal(d.ttl('k'), 0);
  assert.equal(d.expire('nope', 10), false);
  // once it is the LRU tail, a get frees it
  d.expire('k', 1);
  d.delete('older');
  clock.now += 1;
  assert.equal(getStr(d, 'other'), 'missing');
  assert.equal(d.get('k', true).kind, 'missing');
});

test('add, replace and in-place updates', () => {
  const { d, clock } = dict();
  assert.deepEqual(d.store(OP_ADD, 'a', str('1')), { ok: true, forcible: false });
  assert.deepEqual(d.store(OP_ADD, 'a', str('2')), { ok: false, err: 'exists', forcible: false });
  assert.deepEqual(d.store(OP_REPLACE, 'b', str('2')), { ok: false, err: 'not found', forcible: false });
  d.store(OP_SET, 'e', str('old'), 10);
  clock.now += 10;
  assert.equal(d.store(OP_REPLACE, 'e', str('x')).err, 'not found');
  assert.equal(d.store(OP_ADD, 'e', str('new')).ok, true);
  assert.equal(getStr(d, 'e'), 'new');
  assert.equal(d.store(OP_ADD, 'n', null).err, 'attempt to add or replace nil values');
  const free = d.freeSpace();
  d.store(OP_SET, 'a', str('9'), 5000); // same length: in place, new exptime
  assert.equal(d.ttl('a'), 5000);
  assert.equal(d.freeSpace(), free);
});

test('incr: init, init_ttl, integer subtype, errors', () => {
  const { d, clock } = dict();
  assert.deepEqual(d.incr('n', 1, true, null), { ok: false, err: 'not found' });
  const r1 = d.incr('n', 1, true, { n: 10, int: true }, 2000);
  assert.deepEqual(r1, { ok: true, val: { t: 'num', n: 11, int: true }, forcible: false });
  assert.equal(d.ttl('n'), 2000);
  const r2 = d.incr('n', 0.5, false, null);
  assert.ok(r2.ok && r2.val.n === 11.5 && !r2.val.int);
  assert.equal(d.ttl('n'), 2000); // unchanged
  d.store(OP_SET, 's', str('12'));
  assert.deepEqual(d.incr('s', 1, true, null), { ok: false, err: 'not a number' });
  clock.now += 2000;
  assert.deepEqual(d.incr('n', 1, true, null), { ok: false, err: 'not found' });
  const r3 = d.incr('n', 1, true, { n: 0, int: true });
  assert.ok(r3.ok && r3.val.n === 1);
  assert.equal(d.ttl('n'), 0);
});

test('lists', () => {
  const { d } = dict();
  assert.equal(d.push('l', str('a'), true), 1);
  assert.equal(d.push('l', num(2), true), 2);
  assert.equal(d.push('l', num(3.5), false), 3);
  assert.equal(d.llen('l'), 3);
  assert.equal(d.get('l').kind, 'list');
  assert.deepEqual(d.pop('l', true), num(2));
  assert.deepEqual(d.pop('l', false), num(3.5));
  assert.deepEqual(d.pop('l', false), str('a'));
  assert.equal(d.pop('l', true), null);
  assert.equal(d.count, 0);
  d.store(OP_SET, 's', str('x'));
  assert.equal(d.push('s', str('v'), true), 'value not a list');
  assert.equal(d.pop('s', true), 'value not a list');
  assert.equal(d.llen('s'), 'value not a list');
  assert.equal(d.llen('none'), 0);
  assert.deepEqual(d.incr('l2', 1, true, null), { ok: false, err: 'not found' });
});

test('LRU: gets refresh, keys come oldest first', () => {
  const { d, clock } = dict();
  d.store(OP_SET, 'a', num(1));
  d.store(OP_SET, 'b', num(2));
  d.store(OP_SET, 'c', num(3));
  d.get('a');
  d.store(OP_SET, 'x', num(1), 1);
  clock.now += 5;
  assert.deepEqual(d.keys(), ['b', 'c', 'a']);
  assert.deepEqual(d.keys(2), ['b', 'c']);
});

test('a full zone evicts the least recently used entries, forcible', () => {
  const { d } = dict(12288, 'small');
  for (let i = 1; i <= 31; i++) assert.deepEqual(d.store(OP_SET, 'k' + i, str('v')), { ok: true, forcible: false });
  assert.deepEqual(d.store(OP_SET, 'k32', str('v'), 0, 0, true), { ok: false, err: 'no memory', forcible: false });
  d.get('k1'); // now k2 is the oldest
  assert.deepEqual(d.store(OP_SET, 'k32', str('v')), { ok: true, forcible: true });
  assert.equal(getStr(d, 'k2'), 'missing');
  assert.equal(getStr(d, 'k1'), 'v');
  assert.equal(d.count, 31);
  // bigger than the zone: evicts all it can, still fails
  const r = d.store(OP_SET, 'big', str('x'.repeat(5000)));
  assert.deepEqual(r, { ok: false, err: 'no memory', forcible: true });
});

test('stores sweep up to two expired entries at the LRU tail', () => {
  const { d, clock } = dict();
  for (const k of ['e1', 'e2', 'e3']) d.store(OP_SET, k, num(1), 1);
  d.store(OP_SET, 'keep', num(1));
  clock.now += 2;
  d.store(OP_SET, 'new', num(1));
  assert.equal(d.get('e1', true).kind, 'missing');
  assert.equal(d.get('e2', true).kind, 'missing');
  assert.equal(d.get('e3', true).kind, 'value');
  assert.equal(d.ttl('e3'), -1); // ttl does not sweep
});

test('flush_all frees the oldest three, flush_expired the rest', () => {
  const { d } = dict();
  for (const k of ['a', 'b', 'c', 'd', 'e']) d.store(OP_SET, k, str(k));
  d.flushAll();
  assert.equal(d.count, 2);
  assert.deepEqual(d.keys(0), []);
  assert.equal(d.get('e', true).kind, 'value');
  assert.equal(d.flushExpired(1), 1);
  assert.equal(d.flushExpired(0), 1);
  assert.equal(d.count, 0);
  assert.equal(d.freeSpace(), 1032192);
});

test('C int conversion of flags and exptimes', () => {
  assert.equal(toCInt(1.7), 1);
  assert.equal(toCInt(-1), -1);
  assert.equal(toCInt(2 ** 31), -2147483648);
  assert.equal(toCInt(2 ** 32 + 5), -2147483648);
  assert.equal(toCInt(NaN), -2147483648);
});
