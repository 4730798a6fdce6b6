// The cosocket receive buffer and the receiveuntil matcher, without sockets: chunk boundaries
// anywhere, patterns with self-overlap, sized and whole reads, inclusive mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecvBuffer, stripCR, UntilPattern, scanUntil, type UntilScan } from '../../src/api/socket/buffer.js';

function bufOf(...parts: string[]): RecvBuffer {
  const b = new RecvBuffer();
  for (const p of parts) b.push(Buffer.from(p, 'latin1'));
  return b;
}

test('take, skip and indexOf across chunks', () => {
  const b = bufOf('ab', 'cde', '', 'f');
  assert.equal(b.length, 6);
  assert.equal(b.indexOf(0x64), 3);
  assert.equal(b.indexOf(0x61, 1), -1);
  assert.equal(b.take(1).toString(), 'a');
  assert.equal(b.indexOf(0x66), 4);
  assert.equal(b.take(3).toString(), 'bcd');
  b.skip(1);
  assert.equal(b.take(5).toString(), 'f');
  assert.equal(b.length, 0);
});

test('take within one chunk is a view, not a copy', () => {
  const src = Buffer.from('hello world');
  const b = new RecvBuffer();
  b.push(src);
  const t = b.take(5);
  assert.equal(t.buffer, src.buffer);
});

test('all 256 byte values survive chunked takes', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const b = new RecvBuffer();
  for (let i = 0; i < 256; i += 7) b.push(all.subarray(i, Math.min(256, i + 7)));
  assert.deepEqual(b.take(100), all.subarray(0, 100));
  assert.deepEqual(b.take(156), all.subarray(100));
});

test('stripCR drops every CR', () => {
  assert.equal(stripCR(Buffer.from('a\rb\r\rc\r')).toString(), 'abc');
  const x = Buffer.from('plain');
  assert.equal(stripCR(x), x);
});

/** Feed `input` in pieces of `step` bytes and run whole-mode reads until the input is used. */
function readAll(input: string, pat: string, step: number, inclusive = false): string[] {
  const p = new UntilPattern(Buffer.from(pat, 'latin1'));
  const b = new RecvBuffer();
  const out: string[] = [];
  let scan: UntilScan = { pos: 0, state: 0 };
  for (let i = 0; i < input.length; i += step) {
    b.push(Buffer.from(input.slice(i, i + step), 'latin1'));
    for (;;) {
      const r = scanUntil(b, p, scan, 0);
      if (!r) break;
      const data = inclusive ? b.take(r.out + pat.length) : b.take(r.out);
      if (!inclusive) b.skip(pat.length);
      out.push(data.toString('latin1'));
      scan = { pos: 0, state: 0 };
    }
  }
  return out;
}

test('receiveuntil: patterns straddling chunk boundaries at every split', () => {
  const input = 'foo--abcbar--abc--ab--abc';
  for (let step = 1; step <= input.length; step++) {
    assert.deepEqual(readAll(input, '--abc', step), ['foo', 'bar', '--ab'], `step ${step}`);
  }
});

test('receiveuntil: self-overlapping patterns fall back correctly', () => {
  for (let step = 1; step <= 6; step++) {
    assert.deepEqual(readAll('aaab|aab|ab|b|', 'aab', step), ['a', '|'], `step ${step}`);
    assert.deepEqual(readAll('xababcabababcy', 'ababc', step), ['x', 'ab'], `step ${step}`);
    assert.deepEqual(readAll('1\r\n\r\r\n\r\n2', '\r\n\r\n', step), ['1\r\n\r'], `step ${step}`);
  }
});

test('receiveuntil: inclusive keeps the pattern', () => {
  assert.deepEqual(readAll('a--bb--b', '--b', 3, true), ['a--b', 'b--b']);
});

test('receiveuntil: sized reads return at most about n bytes and hold partial matches', () => {
  const p = new UntilPattern(Buffer.from('--ab'));
  const b = bufOf('12345678--ab');
  const scan: UntilScan = { pos: 0, state: 0 };
  let r = scanUntil(b, p, scan, 3)!;
  assert.deepEqual(r, { kind: 'size', out: 3 });
  assert.equal(b.take(r.out).toString(), '123');
  r = scanUntil(b, p, scan, 3)!;
  assert.equal(b.take(r.out).toString(), '456');
  r = scanUntil(b, p, scan, 3)!;
  // "78" then the pattern completes before a third output byte
  assert.deepEqual(r, { kind: 'match', out: 2 });
  // held pattern bytes across data arrivals
  const b2 = bufOf('ab-');
  const s2: UntilScan = { pos: 0, state: 0 };
  assert.equal(scanUntil(b2, p, s2, 0), null);
  assert.deepEqual(s2, { pos: 3, state: 1 });
  b2.push(Buffer.from('-ab'));
  assert.deepEqual(scanUntil(b2, p, s2, 0), { kind: 'match', out: 2 });
});

test('receiveuntil: 1 MiB with the pattern at the very end, one byte chunks at the seam', () => {
  const big = Buffer.alloc(1024 * 1024, 0x2d); // all '-': a prefix of the pattern everywhere
  const p = new UntilPattern(Buffer.from('-\n'));
  const b = new RecvBuffer();
  b.push(big);
  const scan: UntilScan = { pos: 0, state: 0 };
  assert.equal(scanUntil(b, p, scan, 0), null);
  b.push(Buffer.from('\n'));
  const r = scanUntil(b, p, scan, 0)!;
  assert.deepEqual(r, { kind: 'match', out: big.length - 1 });
});
