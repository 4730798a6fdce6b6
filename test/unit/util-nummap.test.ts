// NumMap against a Map driven by the same random operations: pointer-like and small keys,
// enough churn to grow, shrink back through tombstones and rehash many times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NumMap } from '../../src/util/nummap.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

for (const [name, key] of [
  ['16-byte aligned pointers', (r: number) => 0x7f3a_0000_0000 + Math.floor(r * 5000) * 16],
  ['small integers', (r: number) => 1 + Math.floor(r * 3000)],
] as const) {
  test(`NumMap agrees with Map: ${name}`, () => {
    const m = new NumMap<{ k: number }>(2);
    const ref = new Map<number, { k: number }>();
    const rand = rng(7);
    for (let i = 0; i < 200000; i++) {
      const k = key(rand());
      const op = rand();
      if (op < 0.45) {
        const v = { k };
        m.set(k, v);
        ref.set(k, v);
      } else if (op < 0.9) {
        assert.equal(m.delete(k), ref.delete(k));
      } else {
        assert.equal(m.get(k), ref.get(k));
        assert.equal(m.has(k), ref.has(k));
      }
      assert.equal(m.size, ref.size);
    }
    for (const [k, v] of ref) assert.equal(m.get(k), v);
    for (const k of [...ref.keys()]) m.delete(k);
    assert.equal(m.size, 0);
    assert.equal(m.get(key(0.5)), undefined);
  });
}

test('NumMap: a key set twice keeps one entry with the last value', () => {
  const m = new NumMap<string>();
  m.set(2 ** 40, 'a').set(2 ** 40, 'b');
  assert.equal(m.size, 1);
  assert.equal(m.get(2 ** 40), 'b');
  assert.equal(m.delete(2 ** 40), true);
  assert.equal(m.delete(2 ** 40), false);
});
