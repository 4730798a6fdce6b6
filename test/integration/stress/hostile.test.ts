// Hostile clients against the client timeouts and worker_connections (nginx's own defences):
//  1. lost requests: 4,000 requests from 40 concurrent clients, each on its own connection with
//     keepalive_timeout 0 (half send Connection: close), then the same count over 40 keep-alive
//     connections with keepalive_timeout 75s; every response arrives complete with 200 and the
//     shared counter the handlers increment ends at exactly 4,000 (each value seen once);
//  2. slowloris: 200 connections that send one byte of a request head a second against
//     client_header_timeout 2s are all closed by the server (within 3x the timeout) while
//     sequential normal requests keep being answered;
//  3. worker_connections 64 and 150 idle connections opened one after another: the server
//     reuses (closes) idle ones and says so in the error log, fewer than 64 stay open, and a new
//     request is still answered;
//  4. memory: a client that asks for a 20 MB body and never reads it for 3 s, three times; the
//     process's RSS is recorded (baseline / peak / settled) and must come back within 20% of the
//     baseline once the connections are closed.
// No timing assertions except "closed at all, within a generous bound"; the numbers are printed
// as test diagnostics. Every server is on 127.0.0.1; every loop is bounded in count and time.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { get, load, report, rssKb, settle, startNgx, stopAll, type Ngx } from './common.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

after(stopAll);

// ------------------------------------------------------------------------- a raw HTTP/1.1 client

interface Resp {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One complete response at the start of buf: [response, bytes used], or null if incomplete. */
function parseResponse(buf: Buffer, atEof: boolean): [Resp, number] | null {
  const he = buf.indexOf('\r\n\r\n');
  if (he < 0) return null;
  const lines = buf.subarray(0, he).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  const status = Number(m[1]);
  let pos = he + 4;
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < pos + n) return null;
    return [{ status, headers, body: buf.subarray(pos, pos + n).toString('latin1') }, pos + n];
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    for (let guard = 0; guard < 100000; guard++) {
      const nl = buf.indexOf('\r\n', pos);
      if (nl < 0) return null;
      const size = parseInt(buf.subarray(pos, nl).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) {
        // the last chunk: the (usually empty) trailer ends with an empty line
        const te = buf.indexOf('\r\n\r\n', nl);
        if (te < 0) return null;
        return [{ status, headers, body: Buffer.concat(parts).toString('latin1') }, te + 4];
      }
      if (buf.length < nl + 2 + size + 2) return null;
      parts.push(buf.subarray(nl + 2, nl + 2 + size));
      pos = nl + 2 + size + 2;
    }
    throw new Error('too many chunks');
  }
  if (status === 204 || status === 304) return [{ status, headers, body: '' }, pos];
  // no framing: the body ends with the connection
  if (!atEof) return null;
  return [{ status, headers, body: buf.subarray(pos).toString('latin1') }, buf.length];
}

/**
 * Send `requests` one after another on one fresh connection (each after the previous response
 * is complete) and collect the responses. Never throws: on a premature close, a reset or the
 * timeout, the answer says how far it got.
 */
function exchange(port: number, requests: string[], timeoutMs = 20000): Promise<{ resps: Resp[]; error?: string }> {
  return new Promise((resolve) => {
    const resps: Resp[] = [];
    let buf = Buffer.alloc(0);
    let done = false;
    const s = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => finish(`timed out after ${timeoutMs} ms`), timeoutMs);
    function finish(error?: string) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const partial = buf.length ? `; ${buf.length} unparsed bytes ${JSON.stringify(buf.subarray(0, 120).toString('latin1'))}` : '';
      resolve(error ? { resps, error: `${error} after ${resps.length}/${requests.length} responses${partial}` } : { resps });
    }
    function drain(eof: boolean) {
      try {
        for (;;) {
          const r = parseResponse(buf, eof);
          if (!r) break;
          resps.push(r[0]);
          buf = buf.subarray(r[1]);
          if (resps.length === requests.length) return finish();
          s.write(requests[resps.length]);
        }
      } catch (e) {
        return finish((e as Error).message);
      }
      if (eof) finish('connection closed by the server');
    }
    s.on('connect', () => s.write(requests[0]));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      drain(false);
    });
    s.on('end', () => drain(true));
    s.on('error', (e) => finish(e.message));
    s.on('close', () => finish('connection closed'));
  });
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// ------------------------------------------------------------------------- 1. lost requests

const INCR_CONF = (keepalive: string) => `
    lua_shared_dict d 1m;
    keepalive_timeout ${keepalive};
    server {
      listen 127.0.0.1:{{PORT}};
      location = /incr { content_by_lua_block { ngx.say(ngx.shared.d:incr("k", 1, 0)) } }
      location = /get { content_by_lua_block { ngx.say(ngx.shared.d:get("k")) } }
    }`;

/** Check the answers of the /incr requests: every one 200 with a value, each value once, 1..total. */
function checkIncr(t: { diagnostic(m: string): void }, ngx: Ngx, total: number, values: number[], failures: string[], what: string) {
  const distinct = new Set(values);
  report(t, `${what}: ${values.length}/${total} complete 200 responses, ${failures.length} failed, ${distinct.size} distinct values`);
  assert.deepEqual(failures.slice(0, 10), [], `${what}: ${failures.length} requests lost or wrong, the first ones above\n${ngx.errorLog().slice(-3000)}`);
  assert.equal(values.length, total);
  assert.equal(distinct.size, total, 'every increment answered with its own value');
  assert.equal(Math.max(...values), total);
  assert.equal(Math.min(...values), 1);
}

const INCR_BODY = /^(\d+)/;

test('lost requests: keepalive_timeout 0, 4,000 requests from 40 clients, one connection each', { timeout: 180000 }, async (t) => {
  const TOTAL = 4000;
  const CLIENTS = 40;
  const ngx = await startNgx(INCR_CONF('0'));
  const values: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const t0 = Date.now();
  const client = async () => {
    while (next < TOTAL) {
      const i = next++;
      const close = i % 2 === 0;
      const req = `GET /incr HTTP/1.1\r\nHost: localhost\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
      const r = await exchange(ngx.port, [req]);
      const body = r.resps[0]?.body ?? '';
      const m = INCR_BODY.exec(body);
      if (r.error || r.resps[0].status !== 200 || !m) {
        failures.push(`#${i}${close ? ' (Connection: close)' : ''}: ${r.error ?? `${r.resps[0].status} ${JSON.stringify(body)}`}`);
      } else values.push(Number(m[1]));
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  report(t, `keepalive_timeout 0: ${TOTAL} requests in ${Date.now() - t0} ms`);
  const final = await get(ngx.port, '/get');
  report(t, `final counter ${JSON.stringify(final.body)}`);
  assert.ok(ngx.alive(), `ngxlua died:\n${ngx.output()}`);
  checkIncr(t, ngx, TOTAL, values, failures, 'keepalive_timeout 0');
  assert.equal(final.status, 200);
  assert.equal(final.body, `${TOTAL}\n`);
});

test('lost requests: keepalive_timeout 75s, 4,000 requests over 40 keep-alive connections', { timeout: 180000 }, async (t) => {
  const TOTAL = 4000;
  const CLIENTS = 40;
  const PER = TOTAL / CLIENTS;
  const ngx = await startNgx(INCR_CONF('75s'));
  const values: number[] = [];
  const failures: string[] = [];
  const t0 = Date.now();
  const client = async (c: number) => {
    const reqs = Array.from({ length: PER }, () => `GET /incr HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const r = await exchange(ngx.port, reqs, 60000);
    r.resps.forEach((x, j) => {
      const m = INCR_BODY.exec(x.body);
      if (x.status !== 200 || !m) failures.push(`conn ${c} #${j}: ${x.status} ${JSON.stringify(x.body)}`);
      else values.push(Number(m[1]));
      if (/close/i.test(x.headers.connection ?? '')) failures.push(`conn ${c} #${j}: Connection: close on a keep-alive connection`);
    });
    if (r.error) failures.push(`conn ${c}: ${r.error} (${PER - r.resps.length} requests unanswered)`);
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  report(t, `keepalive_timeout 75s: ${TOTAL} requests in ${Date.now() - t0} ms`);
  const final = await get(ngx.port, '/get');
  report(t, `final counter ${JSON.stringify(final.body)}`);
  assert.ok(ngx.alive(), `ngxlua died:\n${ngx.output()}`);
  checkIncr(t, ngx, TOTAL, values, failures, 'keepalive_timeout 75s');
  assert.equal(final.status, 200);
  assert.equal(final.body, `${TOTAL}\n`);
});

// ------------------------------------------------------------------------- 2. slowloris

test('slowloris: 200 connections sending a byte a second are closed by client_header_timeout 2s', { timeout: 120000 }, async (t) => {
  const SLOW = 200;
  const NORMAL = 30;
  const BOUND_MS = 6000; // 3x the timeout
  const ngx = await startNgx(`
    client_header_timeout 2s;
    server {
      listen 127.0.0.1:{{PORT}};
      location / { content_by_lua_block { ngx.say("ok") } }
    }`);
  const head = Buffer.from(`GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`, 'latin1');
  interface Slow { s: net.Socket; t0: number; sent: number; closedMs: number | null; got: number }
  const slow: Slow[] = await Promise.all(
    Array.from({ length: SLOW }, () =>
      new Promise<Slow>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: ngx.port });
        const c: Slow = { s, t0: 0, sent: 0, closedMs: null, got: 0 };
        const closed = () => {
          if (c.closedMs === null) c.closedMs = Date.now() - c.t0;
        };
        s.on('data', (d: Buffer) => (c.got += d.length));
        s.on('end', closed);
        s.on('close', closed);
        s.on('error', () => {});
        s.once('connect', () => {
          c.t0 = Date.now();
          s.write(head.subarray(0, 1));
          c.sent = 1;
          resolve(c);
        });
        s.once('error', reject);
      }),
    ),
  );
  // one more byte a second on every connection still open (bounded: the head is never finished)
  const dribble = setInterval(() => {
    for (const c of slow) {
      if (c.closedMs === null && !c.s.destroyed && c.sent < head.length - 4) c.s.write(head.subarray(c.sent, ++c.sent));
    }
  }, 1000);
  const latencies: number[] = [];
  const normal: string[] = [];
  try {
    for (let i = 0; i < NORMAL; i++) {
      const t1 = Date.now();
      try {
        const g = await get(ngx.port, '/', 10000);
        normal.push(g.status === 200 && g.body === 'ok\n' ? 'ok' : `${g.status} ${JSON.stringify(g.body)}`);
      } catch (e) {
        normal.push((e as Error).message);
      }
      latencies.push(Date.now() - t1);
      await sleep(150);
    }
    // every slow connection closed, or the bound (from the last connect) plus slack has passed
    await settle(() => slow.filter((c) => c.closedMs === null).length, (n) => n === 0, BOUND_MS + 3000);
  } finally {
    clearInterval(dribble);
  }
  const closed = slow.filter((c) => c.closedMs !== null).map((c) => c.closedMs!);
  report(t, `slow connections closed: ${closed.length}/${SLOW}; closure ms min=${Math.min(...closed)} median=${pct(closed, 50)} max=${Math.max(...closed)}; bytes sent by each at most ${Math.max(...slow.map((c) => c.sent))}; bytes answered ${slow.reduce((a, c) => a + c.got, 0)}`);
  report(t, `normal requests during slowloris: ${normal.filter((x) => x === 'ok').length}/${NORMAL} ok; latency ms p50=${pct(latencies, 50)} max=${Math.max(...latencies)}`);
  for (const c of slow) c.s.destroy();
  assert.ok(ngx.alive(), `ngxlua died:\n${ngx.output()}`);
  assert.deepEqual(normal.filter((x) => x !== 'ok'), [], 'every normal request answered 200 ok');
  assert.equal(closed.length, SLOW, `${SLOW - closed.length} slow connections still open`);
  const late = closed.filter((ms) => ms > BOUND_MS);
  assert.deepEqual(late, [], `slow connections closed later than ${BOUND_MS} ms`);
});

// ------------------------------------------------------------------------- 3. worker_connections

test('worker_connections 64: 150 idle connections, idle ones reused, a new request still served', { timeout: 120000 }, async (t) => {
  const WC = 64;
  const IDLE = 150;
  const ngx = await startNgx(
    `server {
      listen 127.0.0.1:{{PORT}};
      location / { content_by_lua_block { ngx.say("ok") } }
    }`,
    '',
    `events { worker_connections ${WC}; }`,
  );
  const idle: { s: net.Socket; open: boolean }[] = [];
  let connectErrors = 0;
  for (let i = 0; i < IDLE; i++) {
    const c = { s: net.connect({ host: '127.0.0.1', port: ngx.port }), open: false };
    c.s.on('error', () => {});
    c.s.on('close', () => (c.open = false));
    c.s.on('end', () => (c.open = false));
    const ok = await new Promise<boolean>((resolve) => {
      const tm = setTimeout(() => resolve(false), 5000);
      c.s.once('connect', () => {
        clearTimeout(tm);
        resolve(true);
      });
      c.s.once('error', () => {
        clearTimeout(tm);
        resolve(false);
      });
    });
    if (ok) c.open = true;
    else connectErrors++;
    idle.push(c);
    await sleep(5); // let the server accept it before the next one
  }
  const g = await get(ngx.port, '/', 10000).catch((e: Error) => ({ status: 0, body: e.message }));
  const stillOpen = await settle(() => idle.filter((c) => c.open).length, (n) => n < WC, 3000);
  const warn = `${WC} worker_connections are not enough, reusing connections`;
  const log = await settle(() => ngx.errorLog(), (l) => l.includes(warn), 3000);
  const warns = log.split('\n').filter((l) => l.includes('worker_connections are not enough'));
  report(t, `${stillOpen}/${IDLE} idle connections still open (${connectErrors} connect errors); new request: ${g.status} ${JSON.stringify(g.body)}; log lines: ${warns.length}, first: ${warns[0] ?? '(none)'}`);
  for (const c of idle) c.s.destroy();
  assert.ok(ngx.alive(), `ngxlua died:\n${ngx.output()}`);
  assert.equal(g.status, 200, `a new request with ${IDLE} idle connections held: ${g.body}`);
  assert.ok(stillOpen < WC, `${stillOpen} idle connections still open, not fewer than worker_connections ${WC}`);
  assert.ok(log.includes(warn), `error log lacks "${warn}":\n${log.slice(-2000)}`);
});

// ------------------------------------------------------------------------- 4. memory

test('memory: a client that never reads a 20 MB response, three times; RSS comes back', { timeout: 120000 }, async (t) => {
  const ngx = await startNgx(`
    server {
      listen 127.0.0.1:{{PORT}};
      location = /small { content_by_lua_block { ngx.say("ok") } }
      location = /big { content_by_lua_block { ngx.print(string.rep("x", 20*1024*1024)) } }
    }`);
  const warm = await load(ngx.port, 500, 10, ['/small'], (_p, g) => g.status === 200 && g.body === 'ok\n');
  assert.equal(warm.byPath['/small'].ok, 500, warm.problems.join('\n'));
  await sleep(500);
  const baseline = rssKb(ngx.pid);
  const peaks: number[] = [];
  for (let round = 0; round < 3; round++) {
    const s = net.connect({ host: '127.0.0.1', port: ngx.port });
    s.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
    s.pause(); // never read
    s.write('GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    let peak = 0;
    for (let i = 0; i < 12; i++) {
      await sleep(250);
      peak = Math.max(peak, rssKb(ngx.pid));
    }
    peaks.push(peak);
    s.destroy();
  }
  // settle: poll up to 10 s, until RSS is back within 20% of the baseline
  const samples: number[] = [];
  for (let i = 0; i < 40; i++) {
    await sleep(250);
    samples.push(rssKb(ngx.pid));
    if (samples[samples.length - 1] <= baseline * 1.2) break;
  }
  const final = samples[samples.length - 1];
  const after = await get(ngx.port, '/small', 10000);
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  report(t, `RSS MB: baseline ${mb(baseline)}; peak while unread ${peaks.map(mb).join(' / ')}; after close ${mb(final)} (min ${mb(Math.min(...samples))} over ${samples.length} samples); final-baseline ${mb(final - baseline)}`);
  assert.ok(ngx.alive(), `ngxlua died:\n${ngx.output()}`);
  assert.equal(after.status, 200);
  assert.ok(final <= baseline * 1.2, `RSS after close ${mb(final)} MB, more than 20% over the baseline ${mb(baseline)} MB`);
});
