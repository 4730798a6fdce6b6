// The cost of Lua calling the host's JS (ngxlua.js), in one embedded server: a loop of calls to a
// sync function and to an async one (each await yields the coroutine and resumes it), timed
// inside the handler; then requests/s with wrk of a handler making one async call, beside one
// that makes none. Reports; never asserts. Needs a build (npm run build), and wrk for the second part.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { start } from 'ngxlua';

const N = Number(process.env.JSCALL_N ?? 100000);
const server = await start({
  conf: `
    events {}
    http {
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
  for (const p of ['/none', '/one']) {
    // wrk runs beside this process, whose event loop serves it meanwhile
    const out = await new Promise((resolve) => execFile('wrk', ['-t1', '-c50', '-d5s', `http://127.0.0.1:${port}${p}`], { timeout: 20000 }, (_e, stdout) => resolve(stdout ?? '')));
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    console.log(`  wrk -t1 -c50 -d5s ${p.padEnd(5)} ${m ? Math.round(Number(m[1])).toLocaleString('en-US') : '?'} req/s  (${p === '/one' ? 'one async JS call' : 'no call'} per request)`);
  }
}
await server.stop({ graceful: false });
