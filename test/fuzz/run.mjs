#!/usr/bin/env node
// Differential request-head fuzzer: sends the same seeded corpus (corpus.mjs) of raw request
// bytes to the reference (Debian nginx + lua-nginx-module) and to ours (node bin/ngxlua.js),
// one connection per request, and compares the outcomes by class:
//   2xx/3xx/4xx/5xx   the status of the first response line
//   closed            the server closed (FIN or RST) without sending a byte
//   timeout           nothing within the timeout (2 s)
//   raw               bytes that are not a status line (an HTTP/0.9-style answer)
//   partial           a status line that never finished before close/timeout
//   error             could not connect (the engine is gone)
// A difference is a request the reference answered within the timeout (anything but timeout
// or error) where ours gives another class. Requests where exactly one engine timed out are
// sent once more to both (a loaded machine can fake a timeout, nothing else) and the second
// outcomes count (`rechecked: true`); pass { recheck: false } to skip that.
//
// CLI (always exits 0, it is a report):
//   node test/fuzz/run.mjs [--count 20000] [--seed 1] [--concurrency 16] [--timeout 2000]
//                          [--engine-bin bin/ngxlua.js] [--ref-bin /usr/sbin/nginx]
//                          [--json out.json] [--diffs 40] [--keep]
// Library:
//   import { runFuzz, fuzzDiffs, referenceMissing, formatReport } from './run.mjs';
//   const diffs = await fuzzDiffs({ count: 1500, seed: 7 });
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateTagged } from './corpus.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const REF_BIN = '/usr/sbin/nginx';
export const OURS_BIN = path.join(ROOT, 'bin/ngxlua.js');
export const MODULES = [
  '/usr/lib/nginx/modules/ndk_http_module.so',
  '/usr/lib/nginx/modules/ngx_http_lua_module.so',
];
export const CLASS_ORDER = ['1xx', '2xx', '3xx', '4xx', '5xx', 'raw', 'partial', 'closed', 'timeout', 'error'];
const MAX_COUNT = 200000; // bounded: a run never sends more than this per engine
const MAX_RECHECK = 5000; // and re-sends at most this many (see recheck below)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** null when the reference and its lua modules are installed, else why not. */
export function referenceMissing(refBin = REF_BIN) {
  for (const f of [refBin, ...MODULES]) if (!fs.existsSync(f)) return `${f} is missing`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// engines

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
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

export function confText(port) {
  return `${MODULES.map((m) => `load_module ${m};`).join('\n')}
daemon off;
master_process off;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/plain;
    server {
        listen 127.0.0.1:${port};
        server_name localhost;
        location / { return 200 "ok\\n"; }
        location /lua { content_by_lua_block { ngx.say(ngx.var.host) } }
    }
}
`;
}

const live = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => { for (const st of live) { try { st.child.kill('SIGKILL'); } catch { /* gone */ } } });
}

function commandFor(bin) {
  return /\.(m?js|cjs)$/.test(bin) ? { cmd: process.execPath, args: [bin] } : { cmd: bin, args: [] };
}

/** VmRSS of a process in MB (one decimal), or null when it is gone. */
function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

async function startEngine(name, bin, port) {
  installExitHook();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), `ngxlua-fuzz-${name}-`));
  for (const d of ['conf', 'logs', 'tmp']) fs.mkdirSync(path.join(prefix, d));
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), confText(port));
  const { cmd, args } = commandFor(bin);
  const child = spawn(cmd, [...args, '-p', prefix + '/', '-c', 'conf/nginx.conf'], {
    cwd: prefix, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const st = { name, bin, port, prefix, child, stderr: '', exited: false, code: null, signal: null };
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => { if (st.stderr.length < 20000) st.stderr += d; });
  child.on('error', (e) => { st.exited = true; st.stderr += String(e.message); live.delete(st); });
  child.on('close', (code, signal) => { st.exited = true; st.code = code; st.signal = signal; live.delete(st); });
  live.add(st);
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (st.exited) break;
    if (await canConnect(port)) return st;
    await sleep(25);
  }
  await stopEngine(st);
  throw new Error(`${name} (${bin}) did not start listening on 127.0.0.1:${port}` +
    `${st.exited ? ` (exited: code ${st.code}, signal ${st.signal})` : ''}\n${st.stderr.slice(-2000)}`);
}

async function stopEngine(st) {
  if (!st.exited) {
    st.child.kill('SIGTERM');
    for (let i = 0; i < 150 && !st.exited; i++) await sleep(20);
    if (!st.exited) {
      st.child.kill('SIGKILL');
      for (let i = 0; i < 100 && !st.exited; i++) await sleep(20);
    }
  }
}

function errorLogTail(st, n = 20) {
  try {
    const text = fs.readFileSync(path.join(st.prefix, 'logs/error.log'), 'latin1');
    return text.split('\n').filter((l) => /\[(alert|crit|emerg)\]/.test(l)).slice(-n);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// one request on one connection

const HTTP_PREFIX = Buffer.from('HTTP/');

function looksLikeStatusLineStart(buf) {
  const n = Math.min(buf.length, HTTP_PREFIX.length);
  return buf.subarray(0, n).equals(HTTP_PREFIX.subarray(0, n));
}

export function classify(status) {
  if (typeof status === 'number') return `${Math.floor(status / 100)}xx`;
  return status; // closed, timeout, raw, partial, error
}

function outcome(how, buf, errCode) {
  if (buf.length === 0) {
    if (how === 'timeout') return { status: 'timeout' };
    if (how === 'connect-timeout' || errCode === 'ECONNREFUSED') return { status: 'error', detail: errCode ?? how };
    return { status: 'closed', ...(errCode ? { detail: errCode } : {}) };
  }
  const text = buf.subarray(0, 256).toString('latin1');
  const m = /^HTTP\/\d+\.\d+ (\d{3})/.exec(text);
  if (m) return { status: Number(m[1]), line: text.split(/\r?\n/)[0] };
  if (looksLikeStatusLineStart(buf)) return { status: 'partial', line: text };
  // an answer without a status line (HTTP/0.9): name the page's status if it is an error page
  const t = /<title>(\d{3})/.exec(buf.toString('latin1'));
  return { status: 'raw', detail: t ? `page ${t[1]}` : JSON.stringify(text.slice(0, 40)) };
}

/** Send bytes on a fresh loopback connection; resolve with { status, ... } (see classes above). */
export function probe(port, bytes, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    let done = false;
    let timer = null;
    const sock = net.connect({ host: '127.0.0.1', port });
    const finish = (how, code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(outcome(how, Buffer.concat(chunks, size), code));
    };
    timer = setTimeout(() => finish('connect-timeout'), timeoutMs);
    sock.setNoDelay(true);
    sock.on('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish('timeout'), timeoutMs);
      sock.write(bytes);
    });
    sock.on('data', (d) => {
      chunks.push(d);
      size += d.length;
      const buf = chunks.length === 1 ? d : Buffer.concat(chunks, size);
      if (looksLikeStatusLineStart(buf)) {
        if (buf.indexOf(0x0a) >= 0) finish('line');
      } else if (size >= 4096) finish('raw'); // a raw answer: wait for its end (to see the title), within bounds
    });
    sock.on('end', () => finish('end'));
    sock.on('error', (e) => finish('error', e.code));
    sock.on('close', () => finish('close'));
  });
}

async function runAll(port, corpus, { concurrency, timeoutMs, onProgress }) {
  const out = new Array(corpus.length);
  let next = 0;
  let finished = 0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= corpus.length) return;
      out[i] = await probe(port, corpus[i].bytes, timeoutMs);
      finished++;
      if (onProgress) onProgress(finished);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, corpus.length) }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------------
// the run

function countClasses(list) {
  const c = {};
  for (const o of list) c[o.cls] = (c[o.cls] ?? 0) + 1;
  return c;
}

export function answered(cls) {
  return cls !== 'timeout' && cls !== 'error';
}

/**
 * Run the corpus on both engines. Returns
 * { count, seed, elapsedMs, results: [{ index, bytes, ops, ref, ours }], classes: { ref, ours },
 *   cross: { refCls: { oursCls: n } }, diffs: [...], problems: [string] }
 */
export async function runFuzz(opts = {}) {
  const count = Math.min(MAX_COUNT, Math.max(0, Math.floor(opts.count ?? 2000)));
  const seed = Math.floor(opts.seed ?? 1);
  const concurrency = Math.max(1, Math.min(256, Math.floor(opts.concurrency ?? 16)));
  const timeoutMs = Math.max(50, Math.min(10000, Math.floor(opts.timeoutMs ?? 2000)));
  const refBin = opts.refBin ?? REF_BIN;
  const oursBin = opts.oursBin ?? OURS_BIN;
  const log = opts.log ?? (() => {});
  const t0 = Date.now();

  const corpus = generateTagged(count, seed);
  const [refPort, oursPort] = await (async () => {
    const a = await freePort();
    let b = await freePort();
    while (b === a) b = await freePort();
    return [a, b];
  })();

  const engines = [];
  const problems = [];
  let raw;
  try {
    engines.push(await startEngine('ref', refBin, refPort));
    engines.push(await startEngine('ours', oursBin, oursPort));
    log(`ref on 127.0.0.1:${refPort}, ours on 127.0.0.1:${oursPort}; ${count} requests, seed ${seed}, concurrency ${concurrency}, timeout ${timeoutMs} ms`);
    for (const st of engines) st.rssBefore = rssMb(st.child.pid);
    const progress = { ref: 0, ours: 0 };
    const ticker = setInterval(() => log(`  progress: ref ${progress.ref}/${count}, ours ${progress.ours}/${count} (${((Date.now() - t0) / 1000).toFixed(0)} s)`), 15000);
    try {
      raw = await Promise.all([
        runAll(refPort, corpus, { concurrency, timeoutMs, onProgress: (n) => { progress.ref = n; } }),
        runAll(oursPort, corpus, { concurrency, timeoutMs, onProgress: (n) => { progress.ours = n; } }),
      ]);
    } finally {
      clearInterval(ticker);
    }
    // A timeout is the only outcome a loaded machine can fake: where exactly one engine timed
    // out, ask both again (fresh connections, same bytes) and keep the second answers.
    if (opts.recheck !== false) {
      const again = [];
      for (let i = 0; i < count && again.length < MAX_RECHECK; i++) {
        const a = classify(raw[0][i].status);
        const b = classify(raw[1][i].status);
        if (a !== b && (a === 'timeout' || b === 'timeout')) again.push(i);
      }
      if (again.length) {
        log(`rechecking ${again.length} requests where one engine timed out`);
        const sub = again.map((i) => corpus[i]);
        const [ra, rb] = await Promise.all([
          runAll(refPort, sub, { concurrency, timeoutMs }),
          runAll(oursPort, sub, { concurrency, timeoutMs }),
        ]);
        again.forEach((i, k) => {
          raw[0][i] = { ...ra[k], rechecked: true };
          raw[1][i] = { ...rb[k], rechecked: true };
        });
      }
    }
    // RSS once the connections are gone: give the engines a moment to release them
    await sleep(2000);
    for (const st of engines) st.rssAfter = rssMb(st.child.pid);
    for (const st of engines) {
      if (st.exited) problems.push(`${st.name} exited during the run (code ${st.code}, signal ${st.signal}): ${st.stderr.slice(-1000)}`);
      const alerts = errorLogTail(st);
      if (alerts.length) problems.push(`${st.name} error.log alert/crit lines:\n  ${alerts.join('\n  ')}`);
    }
  } finally {
    await Promise.all(engines.map(stopEngine));
    for (const st of engines) {
      if (opts.keep) log(`kept ${st.name} prefix: ${st.prefix}`);
      else fs.rmSync(st.prefix, { recursive: true, force: true });
    }
  }

  const results = corpus.map((c, i) => ({
    index: i,
    bytes: c.bytes,
    ops: c.ops,
    ref: { ...raw[0][i], cls: classify(raw[0][i].status) },
    ours: { ...raw[1][i], cls: classify(raw[1][i].status) },
  }));
  const cross = {};
  for (const r of results) {
    cross[r.ref.cls] ??= {};
    cross[r.ref.cls][r.ours.cls] = (cross[r.ref.cls][r.ours.cls] ?? 0) + 1;
  }
  const diffs = results.filter((r) => answered(r.ref.cls) && r.ours.cls !== r.ref.cls);
  return {
    count, seed, concurrency, timeoutMs, elapsedMs: Date.now() - t0,
    rss: Object.fromEntries(engines.map((st) => [st.name, { before: st.rssBefore, after: st.rssAfter }])),
    results,
    classes: { ref: countClasses(results.map((r) => r.ref)), ours: countClasses(results.map((r) => r.ours)) },
    cross, diffs, problems,
  };
}

/** The differences only (requests the reference answered where ours gives another class). */
export async function fuzzDiffs(opts = {}) {
  return (await runFuzz(opts)).diffs;
}

// ---------------------------------------------------------------------------------------------
// the report

export function showBytes(buf, max = 240) {
  const s = JSON.stringify(buf.subarray(0, max).toString('latin1'));
  return buf.length > max ? `${s}...(${buf.length} bytes)` : s;
}

function showStatus(o) {
  return `${o.status}${o.detail ? ` (${o.detail})` : ''}`;
}

export function describeDiff(d) {
  return `#${d.index} ref ${showStatus(d.ref)} / ours ${showStatus(d.ours)}  ${showBytes(d.bytes)}  [${d.ops.join(' ')}]`;
}

function table(rows, cols, cell, rowHead = '') {
  const head = [rowHead, ...cols];
  const body = rows.map((r) => [r, ...cols.map((c) => String(cell(r, c) ?? 0))]);
  const w = head.map((h, i) => Math.max(String(h).length, ...body.map((b) => b[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [fmt(head), ...body.map(fmt)].join('\n');
}

function ordered(keys) {
  return [...new Set(keys)].sort((a, b) => {
    const ia = CLASS_ORDER.indexOf(a);
    const ib = CLASS_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || String(a).localeCompare(String(b));
  });
}

export function formatReport(res, { maxDiffs = 40 } = {}) {
  const out = [];
  out.push(`fuzz: ${res.count} requests, seed ${res.seed}, concurrency ${res.concurrency}, timeout ${res.timeoutMs} ms, ${(res.elapsedMs / 1000).toFixed(1)} s`);
  const classes = ordered([...Object.keys(res.classes.ref), ...Object.keys(res.classes.ours)]);
  out.push('', 'outcome classes per engine:');
  out.push(table(['ref', 'ours'], classes, (r, c) => res.classes[r][c], 'engine'));
  out.push('', 'cross table (rows: ref class, columns: ours class):');
  const rows = ordered(Object.keys(res.cross));
  const cols = ordered(Object.values(res.cross).flatMap((o) => Object.keys(o)));
  out.push(table(rows, cols, (r, c) => res.cross[r]?.[c], 'ref\\ours'));
  if (res.rss) {
    out.push('', 'RSS (MB) before the run / 2 s after it:');
    for (const [n, r] of Object.entries(res.rss)) out.push(`  ${n.padEnd(5)} ${r.before ?? '?'} / ${r.after ?? '?'}`);
  }
  out.push('', `differences (ref answered, ours in another class): ${res.diffs.length}`);
  if (res.diffs.length) {
    const pairs = {};
    for (const d of res.diffs) {
      const k = `${showStatus(d.ref)} -> ${showStatus(d.ours)}`;
      pairs[k] = (pairs[k] ?? 0) + 1;
    }
    out.push('by status (ref -> ours):');
    for (const [k, n] of Object.entries(pairs).sort((a, b) => b[1] - a[1]).slice(0, 20)) out.push(`  ${String(n).padStart(5)}  ${k}`);
    const opsCount = {};
    for (const d of res.diffs) {
      for (const op of new Set(d.ops.map((o) => o.replace(/@\d+/, '').replace(/^(byte:\w+).*/, '$1')))) {
        if (!op.startsWith('base:')) opsCount[op] = (opsCount[op] ?? 0) + 1;
      }
    }
    out.push('mutations most often involved:');
    for (const [k, n] of Object.entries(opsCount).sort((a, b) => b[1] - a[1]).slice(0, 20)) out.push(`  ${String(n).padStart(5)}  ${k}`);
    out.push(`first ${Math.min(maxDiffs, res.diffs.length)}:`);
    for (const d of res.diffs.slice(0, maxDiffs)) out.push(`  ${describeDiff(d)}`);
  }
  if (res.problems.length) out.push('', 'problems:', ...res.problems.map((p) => `  ${p}`));
  return out.join('\n');
}

function toJson(res) {
  const row = (r) => ({ index: r.index, bytes: r.bytes.toString('latin1'), ops: r.ops, ref: r.ref, ours: r.ours });
  return {
    count: res.count, seed: res.seed, concurrency: res.concurrency, timeoutMs: res.timeoutMs, elapsedMs: res.elapsedMs,
    classes: res.classes, cross: res.cross, problems: res.problems,
    diffs: res.diffs.map(row),
    results: res.results.map(row),
  };
}

// ---------------------------------------------------------------------------------------------
// command line

function parseArgs(argv) {
  const o = { count: 20000, seed: 1, concurrency: 16, timeoutMs: 2000, json: null, maxDiffs: 40, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a.startsWith('--count')) o.count = Number(val());
    else if (a.startsWith('--seed')) o.seed = Number(val());
    else if (a.startsWith('--concurrency')) o.concurrency = Number(val());
    else if (a.startsWith('--timeout')) o.timeoutMs = Number(val());
    else if (a.startsWith('--engine-bin')) o.oursBin = path.resolve(val());
    else if (a.startsWith('--ref-bin')) o.refBin = path.resolve(val());
    else if (a.startsWith('--json')) o.json = val();
    else if (a.startsWith('--diffs')) o.maxDiffs = Number(val());
    else if (a === '--keep') o.keep = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node test/fuzz/run.mjs [--count N] [--seed S] [--concurrency N] [--timeout MS] ' +
        '[--engine-bin bin/ngxlua.js] [--ref-bin /usr/sbin/nginx] [--json OUT.json] [--diffs N] [--keep]');
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  for (const k of ['count', 'seed', 'concurrency', 'timeoutMs', 'maxDiffs']) {
    if (!Number.isFinite(o[k])) throw new Error(`bad --${k}`);
  }
  return o;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(String(e.message));
    return;
  }
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130)); // the exit hook kills the engines
  const missing = referenceMissing(o.refBin);
  if (missing) {
    console.log(`fuzz: skipped, ${missing}`);
    return;
  }
  try {
    const res = await runFuzz({ ...o, log: (m) => console.error(m) });
    console.log(formatReport(res, { maxDiffs: o.maxDiffs }));
    if (o.json) {
      fs.writeFileSync(o.json, JSON.stringify(toJson(res), null, 1));
      console.log(`\nwrote ${o.json}`);
    }
  } catch (e) {
    console.log(`fuzz: could not run: ${e.stack ?? e}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(() => process.exit(0), () => process.exit(0));
}
