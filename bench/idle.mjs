#!/usr/bin/env node
// Memory of idle keep-alive connections, reference and ngxlua side by side: each engine serves
// one request on each of IDLE_CONNS connections (default 10,000), which then stay open and idle;
// RSS is read from /proc before and after, and for ngxlua also V8's heap (after a full GC). The
// connections come from this process, on 127.0.0.1, and are closed at the end. Reports only.
import { spawn, fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// the V8 flags ngxlua's serving processes run with
import { SERVE_V8_FLAGS } from '../dist/src/process/v8flags.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.IDLE_CONNS ?? 10000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MODULES = ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'];

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const confBody = (port) => `events { worker_connections ${N + 100}; }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 1000;
    server { listen 127.0.0.1:${port}; location / { content_by_lua_block { ngx.say("hello") } } }
}
`;

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) * 1024 : null;
}

/** n connections, each with one request answered, then held idle (pushed to socks) */
async function openIdle(port, n, socks) {
  const REQ = 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n';
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let got = '';
      const t = setTimeout(() => reject(new Error('no answer in 10 s')), 10000);
      s.on('error', reject);
      s.on('connect', () => s.write(REQ));
      s.on('data', (d) => {
        got += d;
        if (got.includes('hello\n')) { clearTimeout(t); s.removeAllListeners('data'); socks.push(s); resolve(); }
      });
    })));
  }
}

async function measure(name, startEngine) {
  const port = await freePort();
  const eng = await startEngine(port);
  try {
    // warm: a few connections opened and closed, so that start-up allocations are not counted
    for (const s of await openIdleSome(port, 50)) s.destroy();
    await sleep(300);
    const before = await eng.mem();
    const t0 = Date.now();
    // the first half pays for one-time growth (the young generation, allocator arenas); the
    // second half's cost is what each further connection holds
    const socks = [];
    await openIdle(port, N / 2, socks);
    await sleep(1000);
    const mid = await eng.mem();
    await openIdle(port, N - N / 2, socks);
    await sleep(1000);
    const after = await eng.mem();
    const ms = Date.now() - t0;
    for (const s of socks) s.destroy();
    await sleep(500);
    const closed = await eng.mem();
    return { name, before, mid, after, closed, ms };
  } finally {
    await eng.stop();
  }
}

async function openIdleSome(port, n) {
  const saved = process.env.IDLE_CONNS;
  const socks = [];
  for (let i = 0; i < n; i++) {
    socks.push(await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.once('data', () => resolve(s));
    }));
  }
  void saved;
  return socks;
}

/** a process started on a prefix of its own, measured from /proc */
function startProcess(tag, port, cmd, args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ngxlua-idle-${tag}-`));
  for (const d of ['conf', 'logs']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, 'conf/nginx.conf'), `${MODULES.map((m) => `load_module ${m};`).join('\n')}
daemon off; master_process off; worker_processes 1; error_log logs/error.log warn; pid logs/nginx.pid;
worker_rlimit_nofile ${N + 1000};
${confBody(port)}`);
  const child = spawn(cmd, [...args, '-p', dir + '/', '-c', 'conf/nginx.conf'], { stdio: 'ignore' });
  return waitPort(port).then(() => ({
    mem: async () => ({ rss: rssOf(child.pid) }),
    stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); fs.rmSync(dir, { recursive: true, force: true }); },
  }));
}

const startRef = (port) => startProcess('ref', port, '/usr/sbin/nginx', []);
// bench/floor.mjs: a bare node:net responder, the least a Node server holds per connection
const startFloor = (port) => startProcess('floor', port, process.execPath, [...SERVE_V8_FLAGS, path.join(HERE, 'floor.mjs')]);

function startOurs(port) {
  const child = fork(path.join(HERE, 'idle-server.mjs'), [confBody(port)], { execArgv: ['--expose-gc', ...SERVE_V8_FLAGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let waiting = null;
  child.on('message', (m) => { if (waiting) { const w = waiting; waiting = null; w(m); } });
  const ask = (msg) => new Promise((resolve) => { waiting = resolve; child.send(msg); });
  return new Promise((resolve) => { waiting = resolve; }).then(() => ({
    mem: () => ask('mem'),
    stop: async () => { child.send('stop'); await new Promise((r) => child.once('exit', r)); },
  }));
}

async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => { const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listens on ${port}`);
}

const mb = (b) => (b / 1048576).toFixed(1);
const per = (a, b) => ((b - a) / N).toFixed(0);
const ref = await measure('reference', startRef);
const floor = await measure('floor', startFloor);
const ours = await measure('ngxlua', startOurs);
console.log(`${N.toLocaleString('en-US')} idle keep-alive connections (one request answered on each), RSS from /proc:\n`);
console.log('| | reference | node:net floor (bench/floor.mjs) | ngxlua |\n|---|---|---|---|');
const row = (label, f) => console.log(`| ${label} | ${f(ref)} | ${f(floor)} | ${f(ours)} |`);
row('RSS before', (e) => `${mb(e.before.rss)} MB`);
row('RSS with the connections idle', (e) => `${mb(e.after.rss)} MB`);
row('bytes per idle connection (RSS)', (e) => per(e.before.rss, e.after.rss));
const half = (a, b) => ((b - a) / (N - N / 2)).toFixed(0);
row(`bytes per connection of the second ${(N - N / 2).toLocaleString('en-US')} (RSS)`, (e) => half(e.mid.rss, e.after.rss));
row('RSS after they closed', (e) => `${mb(e.closed.rss)} MB`);
console.log(`| V8 heap used, before / idle / closed | - | - | ${mb(ours.before.heapUsed)} / ${mb(ours.after.heapUsed)} / ${mb(ours.closed.heapUsed)} MB |`);
console.log(`| V8 heap bytes per idle connection (used / total) | - | - | ${per(ours.before.heapUsed, ours.after.heapUsed)} / ${per(ours.before.heapTotal, ours.after.heapTotal)} |`);
console.log(`| V8 heap bytes per connection of the second half (used / total) | - | - | ${half(ours.mid.heapUsed, ours.after.heapUsed)} / ${half(ours.mid.heapTotal, ours.after.heapTotal)} |`);
console.log(`| external + array buffers per idle connection | - | - | ${per(ours.before.external + ours.before.arrayBuffers, ours.after.external + ours.after.arrayBuffers)} |`);
console.log(`| young generation's pages, before / idle (growth not held by any connection) | - | - | ${mb(ours.before.young)} / ${mb(ours.after.young)} MB |`);
const held = (e) => (e.after.rss - e.before.rss - (e.after.young - e.before.young)) / N;
console.log(`| bytes per idle connection (RSS, less the young generation's growth) | - | - | ${held(ours).toFixed(0)} |`);
const perConn = (e) => (e.after.rss - e.before.rss) / N;
const marginal = (e) => (e.after.rss - e.mid.rss) / (N - N / 2);
console.log(`\nper idle connection, RSS: ngxlua ${(perConn(ours) / perConn(ref)).toFixed(2)}x the reference's, ` +
  `${(perConn(ours) / perConn(floor)).toFixed(2)}x the node:net floor's; the floor is ${(perConn(floor) / perConn(ref)).toFixed(2)}x the reference's`);
console.log(`per idle connection, RSS less the young generation's growth: ngxlua ${(held(ours) / perConn(ref)).toFixed(2)}x the reference's`);
console.log(`per further connection (second half), RSS: ngxlua ${(marginal(ours) / marginal(ref)).toFixed(2)}x the reference's, ` +
  `${(marginal(ours) / marginal(floor)).toFixed(2)}x the node:net floor's`);
