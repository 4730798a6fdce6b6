// ngx.re micro-benchmark: match, gmatch and gsub over a short subject and over 1 MiB, timed
// inside the handler (ngx.now around the loop) on the reference (nginx + lua-nginx-module) and on
// ngxlua, one engine after the other, with the same conf. Reports; never asserts.
//
//   node bench/re.mjs            # needs a build (npm run build); 3 rounds, medians
//   RE_ROUNDS=5 node bench/re.mjs
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.RE_ROUNDS ?? 3);
const MODULES = ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'];

// name -> [Lua setup, Lua body run `n` times, n]; the body's last value goes into `sink`
const CASES = {
  'match short': ['local s = "GET /api/v1/users/12345?x=1 HTTP/1.1"', 'sink = ngx.re.match(s, [[^(\\w+) /api/v(\\d+)/(\\w+)/(\\d+)]], "jo")', 100000],
  'find short': ['local s = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"', 'sink = ngx.re.find(s, [[Chrome/(\\d+)]], "jo")', 100000],
  'gsub short': ['local s = "a-b-c-d-e-f-g-h"', 'sink = ngx.re.gsub(s, "-", "+", "jo")', 100000],
  'gmatch 1 MiB (100k matches)': [
    'local s = string.rep("key=value; ", 95326)', // 1 MiB, 95,326 matches
    'local c = 0 for m in ngx.re.gmatch(s, [[(\\w+)=(\\w+)]], "jo") do c = c + 1 end sink = c', 1,
  ],
  'gsub 1 MiB': ['local s = string.rep("abc 123 ", 131072)', 'sink = ngx.re.gsub(s, [[\\d+]], "N", "jo")', 1],
  'match 1 MiB, no match': ['local s = string.rep("a", 1048576)', 'sink = ngx.re.match(s, "b", "jo")', 100],
};

function conf(port) {
  const locs = Object.entries(CASES).map(([name, [setup, body, n]], i) => `
        location = /c${i} {
            content_by_lua_block {
                ${setup}
                local sink
                ngx.update_time()
                local t0 = ngx.now()
                for _ = 1, ${n} do ${body} end
                ngx.update_time()
                ngx.say((ngx.now() - t0) * 1000, " ", type(sink))
            }
        }`).join('');
  return `${MODULES.map((m) => `load_module ${m};`).join('\n')}
daemon off;
master_process off;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen 127.0.0.1:${port};${locs}
    }
}
`;
}

const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => res(port));
  });
});

const get = (port, p) => new Promise((res, rej) => {
  const req = http.get({ host: '127.0.0.1', port, path: p, timeout: 60000 }, (r) => {
    let b = '';
    r.on('data', (d) => (b += d));
    r.on('end', () => res({ status: r.statusCode, body: b }));
  });
  req.on('error', rej);
  req.on('timeout', () => req.destroy(new Error('timeout')));
});

async function withEngine(kind, fn) {
  const port = await freePort();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), `ngxlua-rebench-${kind}-`));
  for (const d of ['conf', 'logs']) fs.mkdirSync(path.join(prefix, d));
  let text = conf(port);
  if (kind === 'ngxlua') text = text.replace(/^load_module .*\n/gm, '');
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), text);
  const [cmd, args] = kind === 'reference'
    ? ['/usr/sbin/nginx', ['-p', prefix + '/', '-c', 'conf/nginx.conf', '-e', 'logs/error.log']]
    : [process.execPath, [path.join(ROOT, 'bin/ngxlua.js'), '-p', prefix, '-c', 'conf/nginx.conf']];
  const child = spawn(cmd, args, { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      if (await new Promise((r) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); })) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return await fn(port);
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}

const names = Object.keys(CASES);
const times = { reference: names.map(() => []), ngxlua: names.map(() => []) };
const haveRef = MODULES.every((m) => fs.existsSync(m)) && fs.existsSync('/usr/sbin/nginx');
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of haveRef ? ['reference', 'ngxlua'] : ['ngxlua']) {
    await withEngine(kind, async (port) => {
      for (let i = 0; i < names.length; i++) {
        const r = await get(port, `/c${i}`);
        const ms = r.status === 200 ? Number(r.body.split(' ')[0]) : NaN;
        times[kind][i].push(ms);
      }
    });
  }
}
const med = (a) => { const s = a.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const fmt = (ms) => (Number.isNaN(ms) ? '-' : ms < 10 ? ms.toFixed(2) : ms.toFixed(0));
console.log(`ngx.re micro-benchmark, ${ROUNDS} rounds, median ms per loop (inside the handler)`);
console.log(`| case | loop | reference ms | ngxlua ms | ngxlua / reference |`);
console.log(`|---|---|---|---|---|`);
names.forEach((n, i) => {
  const r = med(times.reference[i]), o = med(times.ngxlua[i]);
  console.log(`| ${n} | ${CASES[n][2].toLocaleString('en-US')}x | ${fmt(r)} | ${fmt(o)} | ${Number.isNaN(r) ? '-' : (o / r).toFixed(2)} |`);
});
