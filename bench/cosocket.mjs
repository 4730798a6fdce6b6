#!/usr/bin/env node
// Cosocket micro-benchmark: 20 light threads × 1,000 iterations of
//   connect (from the pool) + send("GET k\r\n") + receive() + setkeepalive(10000, 100)
// against a local redis-server, on ngxlua (`ngxlua run`), on the reference (nginx +
// lua-nginx-module through /work/shared/tools/ref-run, when present) and on a plain node:net
// client doing the same 20k round trips over 20 connections (the floor a Node.js program can
// reach). Every engine runs in every round, in turn, so they see the same machine state; the
// table shows each one's median and its spread.
//
//   node bench/cosocket.mjs                      # 5 rounds, ./bin/ngxlua.js
//   node bench/cosocket.mjs --rounds 9
//   node bench/cosocket.mjs --ngxlua /tmp/base/bin/ngxlua.js --ngxlua bin/ngxlua.js   # A/B builds
//   node bench/cosocket.mjs --no-ref --threads 20 --iters 1000
//   node bench/cosocket.mjs --profile            # one ngxlua run under --cpu-prof (./cosocket-prof/)
//
// Needs redis-server on PATH. Reports numbers; never fails because something is slow.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = { rounds: 5, threads: 20, iters: 1000, ref: true, ngxlua: [], profile: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--rounds') opt.rounds = Number(args[++i]);
  else if (a === '--threads') opt.threads = Number(args[++i]);
  else if (a === '--iters') opt.iters = Number(args[++i]);
  else if (a === '--no-ref') opt.ref = false;
  else if (a === '--ngxlua') opt.ngxlua.push(path.resolve(args[++i]));
  else if (a === '--profile') opt.profile = true;
  else {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
}
if (opt.ngxlua.length === 0) opt.ngxlua.push(path.join(here, '..', 'bin', 'ngxlua.js'));
const REF_RUN = '/work/shared/tools/ref-run';
if (opt.ref && !existsSync(REF_RUN)) opt.ref = false;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
const stopRedis = () => { try { redis.kill('SIGTERM'); } catch { /* gone */ } };
process.on('exit', stopRedis);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
for (let i = 0; ; i++) {
  const ok = await new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
  if (ok) break;
  if (i > 100) throw new Error('redis-server did not start');
  await new Promise((r) => setTimeout(r, 50));
}

const snippet = `
local t = {}
for k = 1, ${opt.threads} do
  t[k] = ngx.thread.spawn(function()
    for i = 1, ${opt.iters} do
      local s = ngx.socket.tcp()
      assert(s:connect("127.0.0.1", ${port}))
      s:send("GET k\\r\\n")
      local l = s:receive()
      s:setkeepalive(10000, 100)
    end
  end)
end
ngx.update_time() local t0 = ngx.now()
for k = 1, ${opt.threads} do ngx.thread.wait(t[k]) end
ngx.update_time() ngx.say("ops: ", ngx.now() - t0, " s")
`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cosocket-bench-'));
const script = path.join(tmp, 'bench.lua');
writeFileSync(script, snippet);
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const parse = (out) => {
  const m = /ops: ([0-9.e+-]+) s/.exec(out);
  return m ? Number(m[1]) : NaN;
};

const runOurs = (bin, extra = []) => {
  const r = spawnSync(process.execPath, [...extra, bin, 'run', script], { encoding: 'utf8', timeout: 120_000 });
  const t = parse(r.stdout);
  if (Number.isNaN(t)) console.error(`ngxlua (${bin}) failed:\n${r.stdout}\n${r.stderr}`);
  return t;
};

const runRef = () => {
  const r = spawnSync(REF_RUN, [snippet], { encoding: 'utf8', timeout: 120_000 });
  const t = parse(r.stdout);
  if (Number.isNaN(t)) console.error(`reference failed:\n${r.stdout}\n${r.stderr}`);
  return t;
};

// the floor: a fresh node process, 20 connections each doing `iters` sequential round trips
const floorSrc = `
const net = require('node:net');
const [port, threads, iters] = process.argv.slice(-3).map(Number);
const worker = (conn) => new Promise((resolve) => {
  let left = iters, pending = '';
  conn.on('data', (d) => {
    pending += d.toString('latin1');
    const i = pending.indexOf('\\n');
    if (i < 0) return;
    pending = pending.slice(i + 1);
    if (--left === 0) resolve();
    else conn.write('GET k\\r\\n');
  });
  conn.write('GET k\\r\\n');
});
const conns = [];
let ready = 0;
for (let k = 0; k < threads; k++) {
  const c = net.connect(port, '127.0.0.1', () => {
    c.setNoDelay(true);
    if (++ready === threads) go();
  });
  conns.push(c);
}
async function go() {
  const t0 = process.hrtime.bigint();
  await Promise.all(conns.map(worker));
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log('ops: ' + dt + ' s');
  for (const c of conns) c.destroy();
}
`;
const runFloor = () => {
  const r = spawnSync(process.execPath, ['-e', floorSrc, String(port), String(opt.threads), String(opt.iters)], { encoding: 'utf8', timeout: 120_000 });
  return parse(r.stdout);
};

if (opt.profile) {
  const dir = path.resolve('cosocket-prof');
  const t = runOurs(opt.ngxlua[0], ['--cpu-prof', '--cpu-prof-dir', dir]);
  console.log(`profiled run: ${t} s; profile in ${dir}`);
  process.exit(0);
}

const engines = [];
if (opt.ref) engines.push({ name: 'reference', run: runRef, times: [] });
engines.push({ name: 'node:net floor', run: runFloor, times: [] });
for (const bin of opt.ngxlua) {
  const label = opt.ngxlua.length > 1 ? `ngxlua ${path.relative(process.cwd(), bin) || bin}` : 'ngxlua';
  engines.push({ name: label, run: () => runOurs(bin), times: [] });
}

const ops = opt.threads * opt.iters;
console.log(`${opt.threads} threads × ${opt.iters} iterations = ${ops} connect+send+receive+setkeepalive, redis on ${port}, ${opt.rounds} rounds`);
for (let r = 0; r < opt.rounds; r++) {
  const line = [];
  for (const e of engines) {
    const t = e.run();
    e.times.push(t);
    line.push(`${e.name} ${t.toFixed(3)}`);
  }
  console.log(`round ${r + 1}: ${line.join(', ')}`);
}
const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log('');
console.log('engine'.padEnd(40) + 'median s'.padStart(10) + 'min s'.padStart(10) + 'max s'.padStart(10) + '  µs/op');
for (const e of engines) {
  const ok = e.times.filter((x) => !Number.isNaN(x));
  const m = median(ok);
  console.log(e.name.padEnd(40) + m.toFixed(3).padStart(10) + Math.min(...ok).toFixed(3).padStart(10) + Math.max(...ok).toFixed(3).padStart(10) + '  ' + (m / ops * 1e6).toFixed(1));
}
const load = os.loadavg()[0];
if (load > os.cpus().length) console.log(`note: load average ${load.toFixed(2)} exceeds the ${os.cpus().length} CPUs; numbers are noisy`);
process.exit(0);
