// native/headscan.c against the state machine: every head, whole or fed in pieces, must give
// the same result (the request, or the error and its log context) with the scanner on and off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadParser, commonShape, type ParserLimits } from '../../src/http/parser.js';

const LIMITS: ParserLimits[] = [
  { clientHeaderBufferSize: 1024, largeClientHeaderBuffers: { num: 4, size: 8192 } },
  { clientHeaderBufferSize: 80, largeClientHeaderBuffers: { num: 2, size: 200 }, maxHeaders: 3 },
];

/** what a parser says about buf fed in pieces ending at each of `cuts` (and at its end) */
function outcome(buf: Buffer, limits: ParserLimits, common: boolean, cuts: number[]): unknown {
  const p = new HeadParser(limits, common);
  let n = 0;
  for (const end of [...cuts, buf.length]) {
    n = p.scan(buf.subarray(0, end), 0);
    if (n !== 0) break;
  }
  if (n > 0) return { n, head: p.parse(buf, 0, n) };
  if (n === 0) p.noteContext(buf, 0);
  return {
    n, status: p.errorStatus, msg: p.errorMsg, action: p.errorAction, request: p.errorRequest, host: p.errorHost,
    referer: p.errorReferer, ua: p.errorUserAgent, raw: p.errorRaw, headOnly: p.errorHeadOnly,
    invalid: p.invalidHeaders(buf, 0),
  };
}

function same(buf: Buffer, cuts: number[] = []): void {
  for (const limits of LIMITS) {
    const fast = outcome(buf, limits, true, cuts);
    const slow = outcome(buf, limits, false, cuts);
    assert.deepEqual(fast, slow, `${JSON.stringify(buf.toString('latin1'))} cut at ${cuts}`);
  }
}

const H = (s: string) => Buffer.from(s, 'latin1');
const BENCH = 'GET /hello HTTP/1.1\r\nHost: 127.0.0.1:38200\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n';

/** heads of the common shape and their near misses, each on either side of a check */
const HEADS = [
  BENCH,
  'GET / HTTP/1.0\r\n\r\n',
  'GET / HTTP/1.1\r\n\r\n',
  'POST /a?b=c&d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
  'GET /a/b/?x=/./..//%zz HTTP/1.1\r\nHost: a.b.\r\nReferer: r\r\nReferer: s\r\nUser-Agent: u\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: [::1]:80\r\nX-Empty:\r\nX-Sp:    \r\nX-Mid: a  b \t c  \r\n\r\n',
  'HEAD /%41 HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /a//b HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a/. HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /a#f HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /.. HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: X.Example\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: a..b\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: .\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost:\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: a/b\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
  'GET /a HTTP/1.1\r\nX: 1\r\n\r\n', 'GET /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n',
  'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
  'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n',
  'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
  'TRACE /a HTTP/1.1\r\nHost: x\r\n\r\n', 'CONNECT /a HTTP/1.1\r\nHost: x\r\n\r\n', 'get /a HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: x\r\nCONNECTION: Keep-Alive\r\nIf-Match: a\r\nIf-Range: b\r\nIf-None-Match: c\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: a\r\nIf-Unmodified-Since: b\r\nContent-Range: c\r\nIf-Modified-Since: d\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: x\r\nX_Under: 1\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: x\r\nX Sp: 1\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: x\nX: 1\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: x\r\r\n\r\n',
  'GET /a HTTP/1.1\nHost: x\r\n\r\n', 'GET  /a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /a  HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a HTTP/1.1 \r\nHost: x\r\n\r\n', 'GET /a HTTP/1.12\r\nHost: x\r\n\r\n', 'GET /a HTTP/2.0\r\nHost: x\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: x\r\n\n', 'GET /a HTTP/1.1\r\nHost: x\r\n\r', 'GET /a HTTP/1.1\r\nHost: x\r\n', 'GET /a',
  'GET http://h/a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /a\r\n', 'GET /\x80\xff HTTP/1.1\r\nHost: \xe9\r\nX: \x7f\xfe\r\n\r\n',
  `GET /a HTTP/1.1\r\nHost: x\r\n${'X-Long: ' + 'v'.repeat(1100)}\r\n\r\n`,
  `GET /a HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 70 }, (_, i) => `H${i}: ${i}\r\n`).join('')}\r\n`,
];

test('the common shape is what the scanner takes', () => {
  assert.equal(commonShape(H(BENCH), LIMITS[0]), true);
  assert.equal(commonShape(H('GET /a HTTP/1.1\r\nHost: x\r\nX: 1\r\n\r\n'), LIMITS[0]), true);
  // too long for the first header buffer, another target form, a duplicate Host
  assert.equal(commonShape(H(BENCH), LIMITS[1]), false);
  assert.equal(commonShape(H('GET http://h/a HTTP/1.1\r\nHost: x\r\n\r\n'), LIMITS[0]), false);
  assert.equal(commonShape(H('GET /a HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n'), LIMITS[0]), false);
});

test('heads near the common shape: same outcome with and without the scanner', () => {
  let taken = 0;
  for (const s of HEADS) {
    const buf = H(s);
    if (commonShape(buf, LIMITS[0])) taken++;
    same(buf);
    for (let cut = 1; cut < buf.length; cut += 7) same(buf, [cut]);
  }
  assert.ok(taken >= 15, `the scanner took ${taken} of the heads`);
});

test('the fuzz corpus: same outcome with and without the scanner', async () => {
  const corpus = (await import(new URL('../../../test/fuzz/corpus.mjs', import.meta.url).href)) as {
    generate(n: number, seed: number): Buffer[];
  };
  for (const seed of [1, 2, 3]) {
    for (const buf of corpus.generate(1500, seed)) {
      same(buf);
      same(buf, [Math.max(1, buf.length >> 1)]);
    }
  }
});
