// The cost of Lua calling the host's JS (ngxlua.js), in one embedded server: a loop of calls to a
// sync function and to an async one (each await yields the coroutine and resumes it), timed
// inside the handler; then requests/s with wrk of a handler making one async call, beside one
// that makes none and one making a redis GET over a pooled cosocket (lua-nginx-redis). Reports;
// never asserts. Needs a build (npm run build); wrk and redis-server for the second part.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { start } from 'ngxlua';

const N = Number(process.env.JSCALL_N ?? 100000);
const server = await start({
  conf: `
    events {}
    http {
      lua_package_path "/usr/share/lua/5.1/?.lua;;";
      server {
        listen 127.0.0.1:0;
        location = /loop {
          content_by_lua_block {
            local js = require "ngxlua.js"
            local name, n = ngx.var.arg_f, tonumber(ngx.var.arg_n)
            local f = js[name]
            ngx.update_time()
            local t0 = ngx.now()
            for i = 1, n do f(i) end
            ngx.update_time()
            ngx.say((ngx.now() - t0) * 1e6 / n)
          }
        }
        location = /one { content_by_lua_block { ngx.say(require("ngxlua.js").inc(1)) } }
        location = /none { content_by_lua_block { ngx.say(2) } }
        location = /redis {
          content_by_lua_block {
            local redis = require "nginx.redis"
            local red = redis:new()
            assert(red:connect("127.0.0.1", tonumber(ngx.var.arg_port)))
            local v = red:get("k")
            red:set_keepalive(10000, 100)
            ngx.say(v)
          }
        }
      }
    }`,
  expose: { sync: (i) => i + 1, async: async (i) => i + 1, inc: async (i) => i + 1 },
});
const { port } = server.addresses()[0];
const get = async (p) => (await fetch(`http://127.0.0.1:${port}${p}`)).text();
const rounds = 5;
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
const res = {};
for (const f of ['sync', 'async']) {
  const v = [];
  for (let r = 0; r < rounds; r++) v.push(Number(await get(`/loop?f=${f}&n=${N}`)));
  res[f] = med(v);
}
console.log(`ngxlua.js: Lua -> JS -> Lua, median of ${rounds} loops, us per call`);
console.log(`  sync function   ${res.sync.toFixed(2)} us`);
console.log(`  async function  ${res.async.toFixed(2)} us  (a yield and a resume per call)`);
if (existsSync('/usr/bin/wrk')) {
  // a redis-server of our own for the cosocket comparison, when there is one
  let redis = null, rport = 0;
  if (existsSync('/usr/bin/redis-server')) {
    const net = await import('node:net');
    rport = await new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
    const { spawn } = await import('node:child_process');
    redis = spawn('redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
  }
  for (const p of ['/none', '/one', ...(redis ? [`/redis?port=${rport}`] : [])]) {
    // wrk runs beside this process, whose event loop serves it meanwhile
    const out = await new Promise((resolve) => execFile('wrk', ['-t1', '-c50', '-d5s', `http://127.0.0.1:${port}${p}`], { timeout: 20000 }, (_e, stdout) => resolve(stdout ?? '')));
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const what = p === '/one' ? 'one async JS call' : p === '/none' ? 'no call' : 'one redis GET over a pooled cosocket';
    console.log(`  wrk -t1 -c50 -d5s ${p.split('?')[0].padEnd(6)} ${m ? Math.round(Number(m[1])).toLocaleString('en-US') : '?'} req/s  (${what} per request)`);
  }
  redis?.kill();
}
await server.stop({ graceful: false });
