#!/usr/bin/env node
// Hostile-client report: the scenarios of test/integration/stress/hostile.test.ts at full size,
// run against BOTH the reference (nginx 1.22 + ngx_lua) and ngxlua, printed side by side:
//   lost requests  10,000 requests / 40 clients, one connection each, keepalive_timeout 0
//                  (half Connection: close), and 10,000 over 40 keep-alive connections (75s)
//   slowloris      200 connections sending a byte of a request head a second,
//                  client_header_timeout 2s, sequential normal requests meanwhile
//   held conns     2,000 idle connections opened in sequence, worker_connections 1024
//   memory         RSS baseline (after 500 requests) / while a client leaves a 20 MB response
//                  unread for 3 s (x3) / after it closes (settled, polled up to 5 s)
// Plain node ESM, no build of its own; ngxlua runs from this repository's bin/ (dist/ must be
// built). Usage: node scripts/hostile-report.mjs [--engine ref|ours|both] [--only a,b,...]
// with scenario names lost,keepalive,slowloris,held,memory. Every server is on 127.0.0.1 and
// every loop is bounded in count and time; the numbers are measured, nothing is asserted.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODULES = ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'];
const ENGINES = {
  ref: { cmd: '/usr/sbin/nginx', args: [], modules: true },
  ours: { cmd: process.execPath, args: [path.join(ROOT, 'bin/ngxlua.js')], modules: false },
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const argv = process.argv.slice(2);
const argOf = (name, dflt) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return dflt;
  return argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
};
const engineArg = argOf('--engine', 'both');
const engineNames = engineArg === 'both' ? ['ref', 'ours'] : [engineArg];
const only = new Set((argOf('--only', 'lost,keepalive,slowloris,held,memory')).split(','));

// ------------------------------------------------------------------------- engines

const live = new Set();
process.on('exit', () => { for (const c of live) try { c.kill('SIGKILL'); } catch { /* gone */ } });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function startEngine(name, httpBody, events = 'events { worker_connections 4096; }') {
  const e = ENGINES[name];
  const port = await freePort();
  const prefix = mkdtempSync(path.join(tmpdir(), `ngxlua-hostile-${name}-`));
  for (const d of ['conf', 'logs', 'tmp']) mkdirSync(path.join(prefix, d));
  const conf = `${e.modules ? MODULES.map((m) => `load_module ${m};`).join('\n') : ''}
daemon off;
master_process off;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
${events}
http {
    access_log off;
    default_type text/plain;
    lua_package_path "/usr/share/lua/5.1/?.lua;;";
${httpBody.replaceAll('{{PORT}}', String(port))}
}
`;
  writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf);
  const child = spawn(e.cmd, [...e.args, '-p', `${prefix}/`, '-c', 'conf/nginx.conf'], { cwd: prefix, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let exited = null;
  child.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20000)));
  child.on('error', (err) => (out += `spawn error: ${err.message}\n`));
  child.on('exit', (code, sig) => { exited = sig ?? code; live.delete(child); });
  const errorLog = () => {
    const f = path.join(prefix, 'logs/error.log');
    return existsSync(f) ? readFileSync(f, 'latin1') : '';
  };
  const deadline = Date.now() + 45000;
  for (;;) {
    if (exited !== null) throw new Error(`${name} exited (${exited}) before listening:\n${out}\n${errorLog()}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) throw new Error(`${name} not listening after 45 s:\n${out}`);
    await sleep(50);
  }
  return {
    name, port, pid: child.pid, errorLog, output: () => out, alive: () => exited === null, exitStatus: () => exited,
    async stop() {
      if (exited === null) {
        const w = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await w;
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

const rssKb = (pid) => {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
};

const badLogLines = (log) => log.split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));

// ------------------------------------------------------------------------- a raw HTTP/1.1 client

function parseResponse(buf, atEof) {
  const he = buf.indexOf('\r\n\r\n');
  if (he < 0) return null;
  const lines = buf.subarray(0, he).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
  const headers = {};
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
    const parts = [];
    for (let guard = 0; guard < 100000; guard++) {
      const nl = buf.indexOf('\r\n', pos);
      if (nl < 0) return null;
      const size = parseInt(buf.subarray(pos, nl).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) {
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
  if (!atEof) return null;
  return [{ status, headers, body: buf.subarray(pos).toString('latin1') }, buf.length];
}

/** requests one after another on one connection; never throws */
function exchange(port, requests, timeoutMs = 20000) {
  return new Promise((resolve) => {
    const resps = [];
    let buf = Buffer.alloc(0);
    let done = false;
    const s = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => finish(`timed out after ${timeoutMs} ms`), timeoutMs);
    function finish(error) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(error ? { resps, error: `${error} after ${resps.length}/${requests.length} responses (${buf.length} unparsed bytes)` } : { resps });
    }
    function drain(eof) {
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
        return finish(e.message);
      }
      if (eof) finish('connection closed by the server');
    }
    s.on('connect', () => s.write(requests[0]));
    s.on('data', (d) => { buf = Buffer.concat([buf, d]); drain(false); });
    s.on('end', () => drain(true));
    s.on('error', (e) => finish(e.message));
    s.on('close', () => finish('connection closed'));
  });
}

async function getOnce(port, p, timeoutMs = 10000) {
  const r = await exchange(port, [`GET ${p} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`], timeoutMs);
  return r.error ? { status: 0, body: r.error } : r.resps[0];
}

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// ------------------------------------------------------------------------- scenarios

const INCR_CONF = (keepalive) => `
    lua_shared_dict d 1m;
    keepalive_timeout ${keepalive};
    server {
      listen 127.0.0.1:{{PORT}};
      location = /incr { content_by_lua_block { ngx.say(ngx.shared.d:incr("k", 1, 0)) } }
      location = /get { content_by_lua_block { ngx.say(ngx.shared.d:get("k")) } }
    }`;

async function lost(name, total = 10000, clients = 40) {
  const eng = await startEngine(name, INCR_CONF('0'));
  try {
    const values = [];
    const failures = [];
    let next = 0;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const close = i % 2 === 0;
        const r = await exchange(eng.port, [`GET /incr HTTP/1.1\r\nHost: localhost\r\n${close ? 'Connection: close\r\n' : ''}\r\n`]);
        const m = /^(\d+)/.exec(r.resps[0]?.body ?? '');
        if (r.error || r.resps[0].status !== 200 || !m) failures.push(`#${i}${close ? ' (close)' : ''}: ${r.error ?? `${r.resps[0].status} ${JSON.stringify(r.resps[0].body)}`}`);
        else values.push(Number(m[1]));
      }
    }));
    const ms = Date.now() - t0;
    const fin = await getOnce(eng.port, '/get');
    return { failed: failures.length, distinct: new Set(values).size, counter: fin.body.trim(), ms, sample: failures.slice(0, 3), alive: eng.alive(), logErrors: badLogLines(eng.errorLog()).length };
  } finally {
    await eng.stop();
  }
}

async function keepalive(name, total = 10000, clients = 40) {
  const eng = await startEngine(name, INCR_CONF('75s'));
  try {
    const per = total / clients;
    const values = [];
    const failures = [];
    const t0 = Date.now();
    await Promise.all(Array.from({ length: clients }, async (_, c) => {
      const r = await exchange(eng.port, Array.from({ length: per }, () => 'GET /incr HTTP/1.1\r\nHost: localhost\r\n\r\n'), 120000);
      r.resps.forEach((x, j) => {
        const m = /^(\d+)/.exec(x.body);
        if (x.status !== 200 || !m) failures.push(`conn ${c} #${j}: ${x.status} ${JSON.stringify(x.body)}`);
        else values.push(Number(m[1]));
      });
      if (r.error) for (let k = r.resps.length; k < per; k++) failures.push(`conn ${c} #${k}: ${r.error}`);
    }));
    const ms = Date.now() - t0;
    const fin = await getOnce(eng.port, '/get');
    return { failed: failures.length, distinct: new Set(values).size, counter: fin.body.trim(), ms, sample: failures.slice(0, 3), alive: eng.alive(), logErrors: badLogLines(eng.errorLog()).length };
  } finally {
    await eng.stop();
  }
}

async function slowloris(name, n = 200, normalCount = 30) {
  const eng = await startEngine(name, `
    client_header_timeout 2s;
    server {
      listen 127.0.0.1:{{PORT}};
      location / { content_by_lua_block { ngx.say("ok") } }
    }`);
  const head = Buffer.from(`GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`, 'latin1');
  const slow = [];
  try {
    await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: eng.port });
      const c = { s, t0: 0, sent: 0, closedMs: null, got: 0, failed: false };
      slow.push(c);
      const closed = () => { if (c.closedMs === null && c.t0) c.closedMs = Date.now() - c.t0; };
      s.on('data', (d) => (c.got += d.length));
      s.on('end', closed);
      s.on('close', closed);
      s.on('error', () => { if (!c.t0) { c.failed = true; resolve(); } });
      s.once('connect', () => { c.t0 = Date.now(); s.write(head.subarray(0, 1)); c.sent = 1; resolve(); });
    })));
    const dribble = setInterval(() => {
      for (const c of slow) if (c.closedMs === null && !c.failed && !c.s.destroyed && c.sent < head.length - 4) c.s.write(head.subarray(c.sent, ++c.sent));
    }, 1000);
    const lat = [];
    let ok = 0;
    for (let i = 0; i < normalCount; i++) {
      const t1 = Date.now();
      const g = await getOnce(eng.port, '/');
      lat.push(Date.now() - t1);
      if (g.status === 200 && g.body === 'ok\n') ok++;
      await sleep(150);
    }
    const deadline = Date.now() + 9000;
    while (slow.some((c) => c.closedMs === null && !c.failed) && Date.now() < deadline) await sleep(100);
    clearInterval(dribble);
    const closed = slow.filter((c) => c.closedMs !== null).map((c) => c.closedMs);
    return {
      closed: closed.length, total: n, min: Math.min(...closed), median: pct(closed, 50), max: Math.max(...closed),
      answeredBytes: slow.reduce((a, c) => a + c.got, 0), normalOk: ok, normal: normalCount,
      p50: pct(lat, 50), latMax: Math.max(...lat), alive: eng.alive(), logErrors: badLogLines(eng.errorLog()).length,
    };
  } finally {
    for (const c of slow) c.s.destroy();
    await eng.stop();
  }
}

async function held(name, n = 2000, wc = 1024) {
  const eng = await startEngine(name, `
    server {
      listen 127.0.0.1:{{PORT}};
      location / { content_by_lua_block { ngx.say("ok") } }
    }`, `events { worker_connections ${wc}; }`);
  const conns = [];
  try {
    let connectErrors = 0;
    const t0 = Date.now();
    for (let i = 0; i < n && Date.now() - t0 < 60000; i++) {
      const c = { s: net.connect({ host: '127.0.0.1', port: eng.port }), open: false };
      c.s.on('error', () => {});
      c.s.on('close', () => (c.open = false));
      c.s.on('end', () => (c.open = false));
      const ok = await new Promise((resolve) => {
        const tm = setTimeout(() => resolve(false), 5000);
        c.s.once('connect', () => { clearTimeout(tm); resolve(true); });
        c.s.once('error', () => { clearTimeout(tm); resolve(false); });
      });
      if (ok) c.open = true; else connectErrors++;
      conns.push(c);
      await sleep(2);
    }
    const g = await getOnce(eng.port, '/');
    const settleEnd = Date.now() + 3000;
    while (conns.filter((c) => c.open).length >= wc && Date.now() < settleEnd) await sleep(100);
    await sleep(300);
    const log = eng.errorLog();
    const warn = `${wc} worker_connections are not enough, reusing connections`;
    return {
      opened: conns.length, open: conns.filter((c) => c.open).length, connectErrors, newReq: g.status,
      warn: log.includes(warn), warnLines: log.split('\n').filter((l) => l.includes(warn)).length,
      alertLines: log.split('\n').filter((l) => /worker_connections are not enough$/.test(l.trim())).length,
      alive: eng.alive(), logErrors: badLogLines(log).length,
    };
  } finally {
    for (const c of conns) c.s.destroy();
    await eng.stop();
  }
}

async function memory(name) {
  const eng = await startEngine(name, `
    server {
      listen 127.0.0.1:{{PORT}};
      location = /small { content_by_lua_block { ngx.say("ok") } }
      location = /big { content_by_lua_block { ngx.print(string.rep("x", 20*1024*1024)) } }
    }`);
  try {
    let warmOk = 0;
    let next = 0;
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (next < 500) {
        next++;
        const g = await getOnce(eng.port, '/small');
        if (g.status === 200) warmOk++;
      }
    }));
    await sleep(500);
    const baseline = rssKb(eng.pid);
    const peaks = [];
    for (let round = 0; round < 3; round++) {
      const s = net.connect({ host: '127.0.0.1', port: eng.port });
      s.on('error', () => {});
      await new Promise((resolve) => { s.once('connect', resolve); s.once('error', resolve); });
      s.pause();
      s.write('GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      let peak = 0;
      for (let i = 0; i < 12; i++) { await sleep(250); peak = Math.max(peak, rssKb(eng.pid)); }
      peaks.push(peak);
      s.destroy();
    }
    const samples = [];
    for (let i = 0; i < 20; i++) {
      await sleep(250);
      samples.push(rssKb(eng.pid));
      if (samples.length >= 5 && samples[samples.length - 1] >= samples[samples.length - 5]) break;
    }
    const after = await getOnce(eng.port, '/small');
    return { warmOk, baseline, peak: Math.max(...peaks), peaks, after: samples[samples.length - 1], afterMin: Math.min(...samples), newReq: after.status, alive: eng.alive(), logErrors: badLogLines(eng.errorLog()).length };
  } finally {
    await eng.stop();
  }
}

// ------------------------------------------------------------------------- run + table

const SCENARIOS = { lost, keepalive, slowloris, held, memory };
const results = {};
for (const sc of Object.keys(SCENARIOS)) {
  if (!only.has(sc)) continue;
  results[sc] = {};
  for (const en of engineNames) {
    process.stderr.write(`# ${sc} on ${en} ...\n`);
    try {
      results[sc][en] = await SCENARIOS[sc](en);
    } catch (e) {
      results[sc][en] = { error: e.message.split('\n').slice(0, 5).join(' | ') };
    }
    process.stderr.write(`#   ${JSON.stringify(results[sc][en])}\n`);
  }
}

const mb = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : '?');
const rows = [];
const row = (label, f) => rows.push([label, ...engineNames.map((en) => {
  const r = results[label.split(':')[0]]?.[en];
  if (!r) return '-';
  if (r.error) return `ERROR ${r.error.slice(0, 60)}`;
  try { return String(f(r)); } catch { return '?'; }
})]);
const sc = (name) => only.has(name);
if (sc('lost')) {
  row('lost: failed requests (10,000, ka 0)', (r) => `${r.failed}`);
  row('lost: distinct values / final counter', (r) => `${r.distinct} / ${r.counter}`);
  row('lost: wall ms, alive, error-log lines', (r) => `${r.ms}, ${r.alive}, ${r.logErrors}`);
}
if (sc('keepalive')) {
  row('keepalive: failed requests (10,000, ka 75s)', (r) => `${r.failed}`);
  row('keepalive: distinct / final counter', (r) => `${r.distinct} / ${r.counter}`);
  row('keepalive: wall ms, alive, error-log lines', (r) => `${r.ms}, ${r.alive}, ${r.logErrors}`);
}
if (sc('slowloris')) {
  row('slowloris: closed / 200', (r) => `${r.closed}/${r.total}`);
  row('slowloris: closure ms min/median/max', (r) => `${r.min}/${r.median}/${r.max}`);
  row('slowloris: bytes answered to slow conns', (r) => r.answeredBytes);
  row('slowloris: normal ok, latency p50/max ms', (r) => `${r.normalOk}/${r.normal}, ${r.p50}/${r.latMax}`);
}
if (sc('held')) {
  row('held: still open of 2,000 (wc 1024)', (r) => `${r.open}/${r.opened} (${r.connectErrors} connect err)`);
  row('held: reusing warn present (lines), alerts', (r) => `${r.warn} (${r.warnLines}), ${r.alertLines}`);
  row('held: new request status, alive', (r) => `${r.newReq}, ${r.alive}`);
}
if (sc('memory')) {
  row('memory: RSS MB baseline', (r) => mb(r.baseline));
  row('memory: RSS MB peak while 20 MB unread', (r) => `${mb(r.peak)} (${r.peaks.map(mb).join('/')})`);
  row('memory: RSS MB after close (settled, min)', (r) => `${mb(r.after)} (${mb(r.afterMin)})`);
  row('memory: new request, alive', (r) => `${r.newReq}, ${r.alive}`);
}
const widths = [0, ...engineNames.map(() => 0)];
const header = ['scenario', ...engineNames.map((n) => (n === 'ref' ? 'reference nginx' : 'ngxlua'))];
for (const r of [header, ...rows]) r.forEach((c, i) => (widths[i] = Math.max(widths[i], c.length)));
const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) console.log(line(r));
for (const [s, byEng] of Object.entries(results)) {
  for (const [en, r] of Object.entries(byEng)) if (r.sample?.length) console.log(`${s} ${en} first failures: ${r.sample.join(' ; ')}`);
}
process.exit(0);
