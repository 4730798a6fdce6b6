#!/usr/bin/env node
// Side-by-side load benchmark: the reference (Debian nginx + lua-nginx-module) against ngxlua,
// one scenario at a time, one engine at a time, driven by wrk. Reports; never asserts.
// Usage: node bench/run.mjs [--only hello[,vars,redis,...]] [--help]
// The redis scenario starts its own redis-server on 127.0.0.1 (a free port, no persistence) and
// needs Debian's lua-nginx-redis (/usr/share/lua/5.1/nginx/redis.lua), used as shipped.
// Env:   BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default 50), BENCH_THREADS (default 1),
//        BENCH_WARMUP (s, default 1), BENCH_ROUNDS (default 1), BENCH_KEEP=1 keeps the temp prefixes.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const RESULTS_DIR = path.join(HERE, 'results');

const REF_BIN = '/usr/sbin/nginx';
const MODULES = [
  '/usr/lib/nginx/modules/ndk_http_module.so',
  '/usr/lib/nginx/modules/ngx_http_lua_module.so',
];

// 2 KB of JSON for the json scenario's request body
const JSON_BODY = JSON.stringify({ items: Array.from({ length: 24 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b'], price: i * 1.5 })) });
const VARS_HEADERS = ['X-A: 1', 'X-B: 2', 'X-C: 3', 'User-Agent: bench', 'Accept: */*'];

const SCENARIOS = [
  { name: 'floor', path: '/', body: 'hello\n', what: 'a bare node:net responder (no nginx, no Lua): the limit of Node on this machine', only: 'floor' },
  { name: 'static', path: '/static', body: 'hello\n', what: 'return 200 "hello\\n": the HTTP layer alone, no Lua' },
  { name: 'hello', path: '/hello', body: 'hello, world\n', what: 'ngx.say of a constant string' },
  { name: 'vars', path: '/vars?a=1', body: '/vars 1\n', what: 'ngx.var.uri + ngx.var.arg_a' },
  {
    name: 'vars8', path: '/vars8?a=1&b=2', headers: VARS_HEADERS, body: '/vars8 1 2 a=1&b=2 GET 127.0.0.1 HTTP/1.1 /vars8?a=1&b=2 1 2 3 bench */*\n',
    what: 'a handler reading 8 ngx.var values and 5 request headers',
  },
  {
    name: 'json', path: '/json', post: JSON_BODY, body: `${JSON.parse(JSON_BODY).items.length} ${JSON.parse(JSON_BODY).items.reduce((a, x) => a + x.price, 0)}\n`,
    what: 'decode a 2 KB request body with cjson, encode a response',
  },
  { name: 'sleep', path: '/sleep', body: 'ok\n', what: 'ngx.sleep(0.001) then ngx.say' },
  {
    name: 'cpu', path: '/cpu', body: `${cpuExpected()}\n`,
    what: 'Lua work: 2,000 string.format, a table.concat, a gmatch over the result',
  },
  {
    name: 'redis', path: '/redis', body: 'bench-value\n', needs: 'redis',
    what: 'require "nginx.redis": connect, GET, set_keepalive(10000, 100) to a local redis-server',
  },
  { name: 'shdict', path: '/shdict', body: 'ok\n', what: 'ngx.shared.DICT incr + get of one key per request' },
  {
    name: 'proxy', path: '/proxy', body: 'hello\n', needs: 'upstream',
    what: 'proxy_pass to a return 200 upstream (a second server of the same engine) with keepalive 64 (above the 50 connections: every upstream connection is reused)',
  },
  // several workers (master_process on): the same handlers, every engine with worker_processes 2
  { name: 'hello-w2', path: '/hello', body: 'hello, world\n', workers: 2, what: 'hello with worker_processes 2 (one shared listening socket)' },
  { name: 'hello-w2rp', path: '/hello', body: 'hello, world\n', workers: 2, reuseport: true, what: 'hello with worker_processes 2 and listen ... reuseport' },
  { name: 'shdict-w2', path: '/shdict', body: 'ok\n', workers: 2, what: 'shdict with worker_processes 2: both workers incr the same key' },
];

// Shared-dict operations timed inside one handler (not through wrk): ns per operation from Lua.
const DICT_OPS = ['get', 'set', 'incr', 'get_miss', 'add_exists'];
const DICT_LOOP = 1000000;

// what /cpu answers: the total length of the 2,000 "<i>:x" words
function cpuExpected() {
  let n = 0;
  for (let i = 1; i <= 2000; i++) n += String(i).length + 2;
  return n;
}

const LUA_DIR = '/usr/share/lua/5.1';
const REDIS_LIB = `${LUA_DIR}/nginx/redis.lua`;
const REDIS_KEY = 'bench:key';
const REDIS_VALUE = 'bench-value';
let redisPort = null; // set once the redis-server this script starts is listening

const ENGINES = [
  { key: 'reference', label: 'nginx 1.22 + lua-nginx-module', cmd: REF_BIN, args: [] },
  { key: 'ngxlua', label: 'ngxlua (node)', cmd: process.execPath, args: [path.join(ROOT, 'bin/ngxlua.js')] },
];
const FLOOR = { key: 'floor', label: 'bench/floor.mjs (node:net)', cmd: process.execPath, args: [path.join(ROOT, 'bench/floor.mjs')] };
// BENCH_BASELINE=/path/to/other/checkout/bin/ngxlua.js: an older ngxlua build in the same run,
// to show what a change did (its column is ngxlua's ratio to it)
if (process.env.BENCH_BASELINE) {
  ENGINES.push({ key: 'baseline', label: `ngxlua at ${process.env.BENCH_BASELINE}`, cmd: process.execPath, args: [path.resolve(process.env.BENCH_BASELINE)] });
}

function envNum(name, dflt, { int = true, min = 1 } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (int && !Number.isInteger(n))) {
    die(`${name}=${raw} is not a valid value (want ${int ? 'an integer' : 'a number'} >= ${min})`);
  }
  return n;
}

function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// command line and settings

function parseArgs(argv) {
  const o = { only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) die('--only needs a scenario name');
      o.only = v.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (a === '-h' || a === '--help') {
      console.log(`usage: node bench/run.mjs [--only ${SCENARIOS.map((s) => s.name).join('|')}|dictops[,...]]
env: BENCH_DURATION=5 BENCH_CONNECTIONS=50 BENCH_THREADS=1 BENCH_WARMUP=1 BENCH_ROUNDS=1 BENCH_KEEP=1`);
      process.exit(0);
    } else die(`unknown argument: ${a} (try --help)`);
  }
  if (o.only) {
    const known = new Set([...SCENARIOS.map((s) => s.name), 'dictops']);
    for (const n of o.only) if (!known.has(n)) die(`unknown scenario "${n}"; known: ${[...known].join(', ')}`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const DURATION = envNum('BENCH_DURATION', 5);
const CONNECTIONS = envNum('BENCH_CONNECTIONS', 50);
const THREADS = envNum('BENCH_THREADS', 1);
const WARMUP = envNum('BENCH_WARMUP', 1, { min: 0 });
const ROUNDS = envNum('BENCH_ROUNDS', 1);
const KEEP = process.env.BENCH_KEEP === '1';

// ---------------------------------------------------------------------------------------------
// preflight: say clearly what is missing instead of failing obscurely later

function preflight() {
  const w = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (w.error && w.error.code === 'ENOENT') {
    die('wrk is not installed (or not on PATH). Install it with: apt-get install -y wrk');
  }
  const wrkVersion = `${w.stdout ?? ''}${w.stderr ?? ''}`.split('\n')[0].trim();
  if (!fs.existsSync(path.join(ROOT, 'dist'))) {
    die('dist/ is missing: run `npm run bench` (which builds first) or `npm run build`');
  }
  const missingRef = [REF_BIN, ...MODULES].filter((f) => !fs.existsSync(f));
  let refVersion = null;
  if (missingRef.length) {
    console.error(`bench: the reference is unavailable (missing ${missingRef.join(', ')}); ` +
      'install it with: apt-get install -y nginx libnginx-mod-http-lua. Running ngxlua only.');
  } else {
    const v = spawnSync(REF_BIN, ['-v'], { encoding: 'utf8' });
    refVersion = `${v.stderr ?? ''}`.trim().replace(/^nginx version:\s*/, '');
  }
  if (CONNECTIONS < THREADS) die(`BENCH_CONNECTIONS (${CONNECTIONS}) must be >= BENCH_THREADS (${THREADS})`);
  return { wrkVersion, refVersion, refAvailable: missingRef.length === 0 };
}

// ---------------------------------------------------------------------------------------------
// engine lifecycle

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

// The Debian library as shipped, from the handler; any failure answers 500 with the reason.
function redisLocation() {
  return `
        location = /redis {
            content_by_lua_block {
                local redis = require "nginx.redis"
                local red = redis:new()
                red:set_timeout(2000)
                local ok, err = red:connect("127.0.0.1", ${redisPort})
                if not ok then ngx.status = 500 ngx.say("connect: ", err) return end
                local res, err = red:get("${REDIS_KEY}")
                if not res then ngx.status = 500 ngx.say("get: ", err) return end
                local ok, err = red:set_keepalive(10000, 100)
                if not ok then ngx.status = 500 ngx.say("set_keepalive: ", err) return end
                ngx.say(res)
            }
        }`;
}

// The proxy scenario's upstream: a second server block of the same engine, so both sides of the
// proxied request are the engine under test.
function proxyConf(upPort) {
  return `
    upstream bench_upstream {
        server 127.0.0.1:${upPort};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:${upPort};
        location / { return 200 "hello\\n"; }
    }`;
}

function confText(port, scenario = {}) {
  const workers = scenario.workers ?? 1;
  const upPort = scenario.upstreamPort;
  return `${MODULES.map((m) => `load_module ${m};`).join('\n')}
daemon off;
master_process ${workers > 1 ? 'on' : 'off'};
worker_processes ${workers};
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    default_type text/plain;
${redisPort ? `    lua_package_path "${LUA_DIR}/?.lua;;";\n` : ''}    lua_shared_dict bench 10m;${upPort ? proxyConf(upPort) : ''}
    server {
        listen 127.0.0.1:${port}${scenario.reuseport ? ' reuseport' : ''};
        location = /static { return 200 "hello\n"; }${upPort ? `
        location = /proxy {
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }` : ''}
        location = /shdict {
            content_by_lua_block {
                local d = ngx.shared.bench
                d:incr("hits", 1, 0)
                if d:get("hits") then ngx.say("ok") end
            }
        }
        location = /dictops {
            content_by_lua_block {
                local d = ngx.shared.bench
                local n = ${DICT_LOOP}
                local now, update = ngx.now, ngx.update_time
                d:set("k", "value-0123456789")
                d:set("n", 0)
                local ops = {
                    get = function() for i = 1, n do d:get("k") end end,
                    set = function() for i = 1, n do d:set("k", "value-0123456789") end end,
                    incr = function() for i = 1, n do d:incr("n", 1) end end,
                    get_miss = function() for i = 1, n do d:get("missing") end end,
                    add_exists = function() for i = 1, n do d:add("k", "x") end end,
                }
                local out = {}
                for _, name in ipairs({ ${DICT_OPS.map((o) => `"${o}"`).join(', ')} }) do
                    update()
                    local t0 = now()
                    ops[name]()
                    update()
                    out[#out + 1] = string.format("%s=%.1f", name, (now() - t0) * 1e9 / n)
                end
                ngx.say(table.concat(out, " "))
            }
        }
        location = /hello { content_by_lua_block { ngx.say("hello, world") } }
        location = /vars8 {
            content_by_lua_block {
                local var, h = ngx.var, ngx.req.get_headers()
                ngx.say(var.uri, " ", var.arg_a, " ", var.arg_b, " ", var.args, " ", var.request_method, " ",
                    var.remote_addr, " ", var.server_protocol, " ", var.request_uri, " ",
                    h["x-a"], " ", h["x-b"], " ", h["x-c"], " ", h["user-agent"], " ", h["accept"])
            }
        }
        location = /json {
            content_by_lua_block {
                local cjson = require "cjson"
                ngx.req.read_body()
                local t = cjson.decode(ngx.req.get_body_data())
                local sum = 0
                for _, it in ipairs(t.items) do sum = sum + it.price end
                local out = cjson.encode({ count = #t.items, sum = sum })
                local back = cjson.decode(out)
                ngx.say(back.count, " ", back.sum)
            }
        }
        location = /vars { content_by_lua_block { ngx.say(ngx.var.uri, " ", ngx.var.arg_a) } }
        location = /sleep { content_by_lua_block { ngx.sleep(0.001) ngx.say("ok") } }
        location = /cpu {
            content_by_lua_block {
                local t = {}
                for i = 1, 2000 do t[i] = string.format("%d:%s", i, "x") end
                local s = table.concat(t, ",")
                local n = 0
                for w in s:gmatch("[^,]+") do n = n + #w end
                ngx.say(n)
            }
        }${redisPort ? redisLocation() : ''}
    }
}
`;
}

function makePrefix(engineKey, port, scenario) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ngxlua-bench-${engineKey}-`));
  for (const d of ['conf', 'logs']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, 'conf/nginx.conf'), confText(port, scenario));
  return dir;
}

const live = new Set(); // children we started and have not seen exit
function killLive() {
  for (const c of live) { try { c.kill('SIGKILL'); } catch { /* already gone */ } }
}
process.on('exit', killLive);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killLive(); process.exit(130); });

function startEngine(engine, prefix) {
  const child = spawn(engine.cmd, [...engine.args, '-p', prefix + '/', '-c', 'conf/nginx.conf'], {
    cwd: prefix, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const st = { child, out: '', exited: false, code: null, signal: null, stopping: false };
  live.add(child);
  child.stdout.on('data', (d) => { st.out += d; });
  child.stderr.on('data', (d) => { st.out += d; });
  child.on('error', (e) => { st.exited = true; st.out += `spawn error: ${e.message}\n`; live.delete(child); });
  child.on('close', (code, signal) => { st.exited = true; st.code = code; st.signal = signal; live.delete(child); });
  return st;
}

async function stopEngine(st) {
  if (st.exited) return;
  st.stopping = true;
  st.child.kill('SIGTERM');
  for (let i = 0; i < 150 && !st.exited; i++) await sleep(20);
  if (!st.exited) {
    st.child.kill('SIGKILL');
    for (let i = 0; i < 100 && !st.exited; i++) await sleep(20);
  }
}

function exitText(st) {
  return `exited with code ${st.code}${st.signal ? `, signal ${st.signal}` : ''}`;
}

function get(port, urlPath, timeoutMs = 2000, scenario = null) {
  return new Promise((resolve) => {
    const headers = Object.fromEntries((scenario?.headers ?? []).map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1).trim()]));
    const post = scenario?.post;
    if (post !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(post) });
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: post !== undefined ? 'POST' : 'GET', headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('latin1') }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end(post);
  });
}

// Wait until the engine answers the scenario's URL; returns the first response or an error text.
async function waitReady(st, port, urlPath, scenario, ms = 15000) {
  const deadline = Date.now() + ms;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    if (st.exited) return { error: `engine ${exitText(st)} before answering` };
    const r = await get(port, urlPath, 1000, scenario);
    if (!r.error) return r;
    last = r.error;
    await sleep(50);
  }
  return { error: `not answering after ${ms} ms (last: ${last})` };
}

// Error-log lines at [warn] or worse (the log level is warn, so that is every line), minus the
// notices nginx itself writes on a normal start/stop.
function readErrorLog(prefix) {
  let text = '';
  try { text = fs.readFileSync(path.join(prefix, 'logs/error.log'), 'latin1'); } catch { return []; }
  return text.split('\n').filter((l) => /\[(warn|error|crit|alert|emerg)\]/.test(l));
}

// ---------------------------------------------------------------------------------------------
// redis-server for the redis scenario

function redisMissing() {
  if (!fs.existsSync(REDIS_LIB)) return `${REDIS_LIB} is missing (apt-get install -y lua-nginx-redis)`;
  const v = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (v.error) return 'redis-server is not installed (apt-get install -y redis-server)';
  return null;
}

// One command over a fresh connection; resolves with the reply's first line, or with a bulk
// reply's whole payload.
function redisCommand(port, args) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let buf = '';
    c.setTimeout(5000, () => c.destroy(new Error('redis command timed out')));
    c.on('error', reject);
    c.on('connect', () => c.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    c.setEncoding('latin1');
    c.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      if (buf[0] !== '$') { c.destroy(); resolve(buf.slice(0, nl)); return; }
      const n = Number(buf.slice(1, nl));
      if (n < 0 || buf.length >= nl + 2 + n + 2) { c.destroy(); resolve(n < 0 ? null : buf.slice(nl + 2, nl + 2 + n)); }
    });
  });
}

// Connections redis has accepted so far (INFO stats), or null: shows whether pooling worked.
async function redisConnectionsReceived(port) {
  try {
    const info = await redisCommand(port, ['INFO', 'stats']);
    const m = /total_connections_received:(\d+)/.exec(info ?? '');
    return m ? Number(m[1]) : null;
  } catch { return null; }
}

async function startRedis() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngxlua-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--protected-mode', 'no', '--daemonize', 'no', '--logfile', ''], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let exited = false;
  child.stdout.on('data', (d) => { out = (out + d).slice(-4000); });
  child.stderr.on('data', (d) => { out = (out + d).slice(-4000); });
  child.on('close', () => { exited = true; live.delete(child); });
  const stop = async () => {
    if (!exited) child.kill('SIGKILL');
    for (let i = 0; i < 100 && !exited; i++) await sleep(20);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 250; i++) {
    if (exited) break;
    try {
      if ((await redisCommand(port, ['SET', REDIS_KEY, REDIS_VALUE])) === '+OK') {
        const v = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
        return { port, stop, version: (v.stdout ?? '').trim().split(' ').slice(0, 3).join(' ') };
      }
    } catch { /* not listening yet */ }
    await sleep(40);
  }
  await stop();
  throw new Error(`redis-server did not start on ${port}: ${out.trim()}`);
}

// ---------------------------------------------------------------------------------------------
// wrk

function runWrk(url, seconds, { latency, scenario }) {
  const args = ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '2s'];
  if (latency) args.push('--latency');
  for (const h of scenario?.headers ?? []) args.push('-H', h);
  if (scenario?.post !== undefined) args.push('-s', postScript(scenario.post));
  args.push(url);
  return new Promise((resolve) => {
    // BENCH_WRK_CPU=N pins wrk to CPU N, so that the engines' workers share what is left
    const cpu = process.env.BENCH_WRK_CPU;
    const child = cpu ? spawn('taskset', ['-c', cpu, 'wrk', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    // hard bound: wrk should end by itself after `seconds`; never let it run on
    const guard = setTimeout(() => { out += '\n[bench: wrk overran its time bound, killed]\n'; child.kill('SIGKILL'); },
      (seconds + 15) * 1000);
    child.on('error', (e) => { clearTimeout(guard); live.delete(child); resolve({ code: -1, out: `spawn error: ${e.message}` }); });
    child.on('close', (code, signal) => {
      clearTimeout(guard); live.delete(child);
      resolve({ code, signal, out, cmd: `wrk ${args.join(' ')}` });
    });
  });
}

// wrk sends a POST body through a Lua script of its own
let postScriptFile = null;
function postScript(body) {
  if (!postScriptFile) {
    postScriptFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ngxlua-bench-wrk-')), 'post.lua');
    fs.writeFileSync(postScriptFile, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`);
    process.on('exit', () => fs.rmSync(path.dirname(postScriptFile), { recursive: true, force: true }));
  }
  return postScriptFile;
}

const UNIT_MS = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
function toMs(s) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(s);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : null;
}

function parseWrk(out) {
  const r = {
    requests: null, seconds: null, rps: null, latencyAvgMs: null, latencyStdevMs: null, latencyMaxMs: null,
    p50Ms: null, p75Ms: null, p90Ms: null, p99Ms: null, non2xx: 0,
    socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 },
  };
  let m;
  if ((m = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)/m.exec(out))) {
    r.requests = Number(m[1]);
    r.seconds = toMs(m[2] + m[3]) / 1000;
  }
  if ((m = /^Requests\/sec:\s*([\d.]+)/m.exec(out))) r.rps = Number(m[1]);
  if ((m = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+/m.exec(out))) {
    r.latencyAvgMs = toMs(m[1]); r.latencyStdevMs = toMs(m[2]); r.latencyMaxMs = toMs(m[3]);
  }
  for (const [pct, key] of [['50', 'p50Ms'], ['75', 'p75Ms'], ['90', 'p90Ms'], ['99', 'p99Ms']]) {
    if ((m = new RegExp(`^\\s*${pct}%\\s+(\\S+)`, 'm').exec(out))) r[key] = toMs(m[1]);
  }
  if ((m = /Non-2xx or 3xx responses:\s*(\d+)/.exec(out))) r.non2xx = Number(m[1]);
  if ((m = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out))) {
    r.socketErrors = { connect: +m[1], read: +m[2], write: +m[3], timeout: +m[4] };
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// one engine x one scenario

async function benchOne(engine, scenario) {
  const port = await freePort();
  if (scenario.needs === 'upstream') scenario = { ...scenario, upstreamPort: await freePort() };
  const prefix = makePrefix(engine.key, port, scenario);
  const url = `http://127.0.0.1:${port}${scenario.path}`;
  const res = { engine: engine.key, scenario: scenario.name, url, prefix: KEEP ? prefix : undefined, errors: [] };
  const st = startEngine(engine, prefix);
  try {
    // sanity: the engine is up and answers the scenario correctly before we load it
    const first = await waitReady(st, port, scenario.path, scenario);
    if (first.error) {
      res.errors.push(`start-up: ${first.error}`);
      return res;
    }
    if (first.status !== 200) res.errors.push(`sanity GET ${scenario.path}: status ${first.status}`);
    if (first.body !== scenario.body) {
      res.errors.push(`sanity GET ${scenario.path}: body ${JSON.stringify(first.body)}, expected ${JSON.stringify(scenario.body)}`);
    }

    if (WARMUP > 0) {
      const w = await runWrk(url, WARMUP, { latency: false, scenario });
      const wp = parseWrk(w.out);
      if (w.code !== 0) res.errors.push(`warm-up wrk exited ${w.code}: ${w.out.trim().split('\n').slice(-3).join(' | ')}`);
      if (wp.non2xx) res.errors.push(`warm-up: ${wp.non2xx} non-2xx/3xx responses`);
      if (st.exited) { res.errors.push(`engine ${exitText(st)} during warm-up`); return res; }
    }

    const w = await runWrk(url, DURATION, { latency: true, scenario });
    res.wrkCommand = w.cmd;
    Object.assign(res, parseWrk(w.out));
    res.wrkOutput = w.out;
    if (w.code !== 0) res.errors.push(`wrk exited ${w.code}${w.signal ? ` (${w.signal})` : ''}`);
    if (res.rps === null) res.errors.push('could not parse Requests/sec from wrk output');
    if (res.non2xx) res.errors.push(`${res.non2xx} of ${res.requests} responses were not 2xx/3xx`);
    const se = res.socketErrors;
    if (se.connect + se.read + se.write + se.timeout) {
      res.errors.push(`socket errors: connect ${se.connect}, read ${se.read}, write ${se.write}, timeout ${se.timeout}`);
    }
    if (st.exited) { res.errors.push(`engine ${exitText(st)} during the run`); return res; }

    // after the load: still answering correctly?
    const after = await get(port, scenario.path, 2000, scenario);
    if (after.error) res.errors.push(`GET after the run failed: ${after.error}`);
    else if (after.status !== 200 || after.body !== scenario.body) {
      res.errors.push(`GET after the run: status ${after.status}, body ${JSON.stringify(after.body)}`);
    }
    return res;
  } finally {
    await stopEngine(st);
    if (st.exited && !st.stopping) res.crashed = exitText(st);
    res.errorLog = readErrorLog(prefix);
    const out = st.out.trim();
    if (out) res.engineOutput = out.split('\n').slice(-40);
    if (!KEEP) fs.rmSync(prefix, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// shared-dict operations timed in Lua, one engine at a time (the best of 3 runs of each loop)

async function dictOps(engine) {
  const port = await freePort();
  const scenario = { path: '/dictops' };
  const prefix = makePrefix(engine.key, port, scenario);
  const st = startEngine(engine, prefix);
  const best = {};
  try {
    const first = await waitReady(st, port, '/t-not-there', null);
    if (first.error) return { error: first.error };
    for (let i = 0; i < 3; i++) {
      const r = await get(port, '/dictops', 30000);
      if (r.error || r.status !== 200) return { error: r.error ?? `status ${r.status}` };
      for (const kv of r.body.trim().split(' ')) {
        const [k, v] = kv.split('=');
        best[k] = Math.min(best[k] ?? Infinity, Number(v));
      }
    }
    return { ns: best };
  } finally {
    await stopEngine(st);
    if (!KEEP) fs.rmSync(prefix, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// report

const fmtRps = (n) => (n == null ? '-' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n) => (n == null ? '-' : n < 1 ? `${(n * 1000).toFixed(0)}us` : `${n.toFixed(2)}ms`);

function table(rows) {
  const base = rows.some((r) => r.baseline);
  const floorRps = rows.find((r) => r.floor)?.floor?.rps ?? null;
  // with several rounds, the spread of the rounds' own ratios shows how far the medians' ratio
  // can be trusted on this machine
  const spread = (r) => {
    const rs = (r.rounds ?? []).map((x) => x.ratio).filter((x) => x != null);
    return rs.length > 1 ? `${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)}` : '-';
  };
  const perRound = rows.some((r) => spread(r) !== '-');
  const header = ['scenario', 'reference req/s', 'ngxlua req/s', 'ratio', ...(perRound ? ['rounds\' ratios'] : []), 'ref p50 / p99', 'ngxlua p50 / p99',
    ...(floorRps ? ['ngxlua / floor'] : []), ...(base ? ['baseline req/s', 'ngxlua / baseline'] : []), 'errors'];
  const body = rows.map((r) => [
    r.scenario, r.floor ? `(floor ${fmtRps(r.floor.rps)})` : fmtRps(r.reference?.rps), fmtRps(r.ngxlua?.rps),
    r.ratio == null ? '-' : r.ratio.toFixed(3),
    ...(perRound ? [spread(r)] : []),
    r.reference ? `${fmtMs(r.reference.p50Ms)} / ${fmtMs(r.reference.p99Ms)}` : r.floor ? `${fmtMs(r.floor.p50Ms)} / ${fmtMs(r.floor.p99Ms)}` : '-',
    r.ngxlua ? `${fmtMs(r.ngxlua.p50Ms)} / ${fmtMs(r.ngxlua.p99Ms)}` : '-',
    ...(floorRps ? [r.ngxlua?.rps != null ? (r.ngxlua.rps / floorRps).toFixed(3) : '-'] : []),
    ...(base ? [fmtRps(r.baseline?.rps), r.baseline?.rps && r.ngxlua?.rps != null ? (r.ngxlua.rps / r.baseline.rps).toFixed(3) : '-'] : []),
    [['ref', r.reference], ['ours', r.ngxlua], ['base', r.baseline], ['floor', r.floor]]
      .map(([k, e]) => (e && e.errors.length ? `${k}: ${e.errors.length}` : null)).filter(Boolean).join(', ') || 'none',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

function gitCommit() {
  const g = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return g.status === 0 ? g.stdout.trim() : null;
}

async function main() {
  const pre = preflight();
  // ngxlua runs as the `ngxlua` command and its workers do: with the V8 flags of a serving process
  const { SERVE_V8_FLAGS } = await import('../dist/src/process/v8flags.js');
  for (const e of [...ENGINES, FLOOR]) if (e.key !== 'reference') e.args.unshift(...SERVE_V8_FLAGS);
  const loadBefore = os.loadavg().map((x) => +x.toFixed(2));
  let scenarios = SCENARIOS.filter((s) => !opts.only || opts.only.includes(s.name));
  let redis = null;
  if (scenarios.some((s) => s.needs === 'redis')) {
    const why = redisMissing();
    if (why) {
      console.error(`bench: skipping the redis scenario: ${why}`);
      scenarios = scenarios.filter((s) => s.needs !== 'redis');
    } else {
      redis = await startRedis();
      redisPort = redis.port;
      console.log(`bench: ${redis.version} on 127.0.0.1:${redis.port} for the redis scenario (${REDIS_KEY} = ${REDIS_VALUE})`);
    }
  }
  const engines = ENGINES.filter((e) => e.key !== 'reference' || pre.refAvailable);
  console.log(`bench: wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s --latency (warm-up ${WARMUP}s)` +
    `${ROUNDS > 1 ? `, ${ROUNDS} rounds (median shown)` : ''}, ` +
    `scenarios: ${scenarios.map((s) => s.name).join(', ')}; engines run one after the other\n`);

  const rows = [];
  for (const sc of scenarios) {
    const row = { scenario: sc.name, path: sc.path, measures: sc.what, reference: null, ngxlua: null, ratio: null };
    // the floor scenario runs only the bare responder; the others every engine but it
    const scEngines = sc.only === 'floor' ? [FLOOR] : engines;
    const runs = Object.fromEntries(scEngines.map((e) => [e.key, []]));
    const rounds = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const pair = { round, loadavg: os.loadavg().map((x) => +x.toFixed(2)) };
      console.log(`  ${sc.name} round ${round}: load average ${pair.loadavg.join(' ')}`);
      for (const eng of scEngines) {
        const tag = ROUNDS > 1 ? ` #${round}` : '';
        process.stdout.write(`  ${sc.name.padEnd(6)} ${(eng.key + tag).padEnd(ROUNDS > 1 ? 13 : 9)} ... `);
        const conns0 = sc.needs === 'redis' ? await redisConnectionsReceived(redisPort) : null;
        const r = await benchOne(eng, sc);
        if (conns0 !== null) {
          const conns1 = await redisConnectionsReceived(redisPort);
          // includes the sanity GETs and the warm-up; minus our own two INFO connections
          if (conns1 !== null) r.redisConnections = conns1 - conns0 - 1;
        }
        r.round = round;
        runs[eng.key].push(r);
        pair[eng.key] = r.rps;
        console.log(r.rps == null ? 'no result' : `${fmtRps(r.rps)} req/s, avg ${fmtMs(r.latencyAvgMs)}, p99 ${fmtMs(r.p99Ms)}` +
          (r.redisConnections != null ? `, ${r.redisConnections} redis connections opened` : '') +
          (r.errors.length ? `  [${r.errors.length} error(s)]` : ''));
      }
      if (pair.reference && pair.ngxlua != null) pair.ratio = pair.ngxlua / pair.reference;
      rounds.push(pair);
    }
    // with several rounds, each engine is represented by its median-throughput run; errors and
    // error-log lines from every round are kept on it so nothing is hidden
    for (const key of Object.keys(runs)) {
      const all = runs[key];
      if (!all.length) continue;
      const sorted = all.filter((r) => r.rps != null).sort((a, b) => a.rps - b.rps);
      const pick = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : all[0];
      const rep = { ...pick };
      if (all.length > 1) {
        rep.errors = all.flatMap((r) => r.errors.map((e) => `round ${r.round}: ${e}`));
        rep.errorLog = all.flatMap((r) => r.errorLog.map((l) => `round ${r.round}: ${l}`));
        const crashed = all.filter((r) => r.crashed).map((r) => `round ${r.round}: ${r.crashed}`);
        rep.crashed = crashed.length ? crashed.join('; ') : undefined;
        rep.engineOutput = all.flatMap((r) => (r.engineOutput ?? []).map((l) => `round ${r.round}: ${l}`));
        rep.allRps = all.map((r) => r.rps);
      }
      row[key] = rep;
    }
    if (row.reference?.rps && row.ngxlua?.rps != null) row.ratio = row.ngxlua.rps / row.reference.rps;
    if (ROUNDS > 1) row.rounds = rounds;
    rows.push(row);
  }

  if (redis) await redis.stop();
  let dict = null;
  if (!opts.only || opts.only.includes('dictops')) {
    dict = {};
    for (const eng of engines) {
      process.stdout.write(`  dictops ${eng.key.padEnd(9)} ... `);
      dict[eng.key] = await dictOps(eng);
      console.log(dict[eng.key].error ?? DICT_OPS.map((o) => `${o} ${dict[eng.key].ns[o]} ns`).join(', '));
    }
  }
  console.log(`\n${table(rows)}\n`);
  if (dict?.ngxlua?.ns) {
    console.log(`shared dict, ns per operation from Lua (a loop of ${DICT_LOOP.toLocaleString('en-US')} in one handler, best of 3):`);
    console.log('| op | reference ns | ngxlua ns | ngxlua / reference |\n|---|---|---|---|');
    for (const o of DICT_OPS) {
      const a = dict.reference?.ns?.[o], b = dict.ngxlua.ns[o];
      console.log(`| ${o} | ${a ?? '-'} | ${b} | ${a ? (b / a).toFixed(2) : '-'} |`);
    }
    console.log('');
  }
  console.log('ratio = ngxlua req/s / reference req/s (1.0 = parity, 0.5 = half the throughput)\n');

  // errors and error-log lines, precisely, per engine and scenario
  let problems = 0;
  for (const row of rows) {
    for (const key of ['reference', 'ngxlua', 'baseline', 'floor']) {
      const r = row[key];
      if (!r) continue;
      const hasLog = r.errorLog.length > 0;
      if (!r.errors.length && !hasLog && !r.crashed) continue;
      problems++;
      console.log(`== ${row.scenario} / ${key}`);
      for (const e of r.errors) console.log(`   error: ${e}`);
      if (r.crashed) console.log(`   engine ${r.crashed} without being asked to stop`);
      if (hasLog) {
        console.log(`   error.log: ${r.errorLog.length} line(s) at warn or above${r.errorLog.length > 20 ? ' (first 20)' : ''}:`);
        for (const l of r.errorLog.slice(0, 20)) console.log(`     ${l}`);
      }
      if (r.engineOutput && (r.errors.length || r.crashed)) {
        console.log('   engine stdout/stderr (last lines):');
        for (const l of r.engineOutput.slice(-15)) console.log(`     ${l}`);
      }
    }
  }
  if (!problems) console.log('no errors: every response was 2xx, no socket errors, error logs clean');
  const load1 = os.loadavg()[0];
  if (Math.max(loadBefore[0], load1) > os.cpus().length) {
    console.log(`\nnote: load average was ${loadBefore[0]} before and ${load1.toFixed(2)} after the run on ` +
      `${os.cpus().length} CPUs; other work competed with the engines, so treat the figures as rough`);
  }

  const result = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    host: { loadavgBefore: loadBefore, loadavgAfter: os.loadavg().map((x) => +x.toFixed(2)), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, platform: `${os.platform()} ${os.release()}` },
    versions: { node: process.version, reference: pre.refVersion, wrk: pre.wrkVersion, redis: redis?.version ?? null },
    settings: { duration: DURATION, connections: CONNECTIONS, threads: THREADS, warmup: WARMUP, rounds: ROUNDS, wrkCpu: process.env.BENCH_WRK_CPU ?? null },
    dictOps: dict,
    scenarios: rows.map((row) => ({
      ...row,
      reference: row.reference && { ...row.reference, errorLog: row.reference.errorLog.slice(0, 200) },
      ngxlua: row.ngxlua && { ...row.ngxlua, errorLog: row.ngxlua.errorLog.slice(0, 200) },
      baseline: row.baseline && { ...row.baseline, errorLog: row.baseline.errorLog.slice(0, 200) },
      floor: row.floor && { ...row.floor, errorLog: [] },
    })),
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const out = path.join(RESULTS_DIR, 'latest.json');
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nresults written to ${path.relative(process.cwd(), out) || out}`);
}

main().catch((e) => { console.error(e); killLive(); process.exit(1); });
