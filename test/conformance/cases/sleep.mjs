// ngx.sleep
import { lua } from '../lib.mjs';

export default [
  {
    name: 'sleep 0 yields and returns',
    server: lua(`ngx.say("a") ngx.sleep(0) ngx.say("b")`),
    body: 'a\nb\n',
  },
  {
    name: 'sleep 0.01 waits at least that long',
    server: lua(`ngx.update_time() local t0 = ngx.now() ngx.sleep(0.01) ngx.update_time() local dt = ngx.now() - t0 ngx.say(dt >= 0.009, " ", dt < 1)`),
    body: 'true true\n',
  },
  {
    name: 'sleep returns nothing',
    server: lua(`local r = ngx.sleep(0.001) ngx.say(r, " ", select("#", ngx.sleep(0)))`),
    body: 'nil 0\n',
  },
  {
    name: 'sleep with a string number',
    server: lua(`ngx.sleep("0.001") ngx.say("ok")`),
    body: 'ok\n',
  },
  {
    name: 'sleep with a non-number is an error',
    server: lua(`ngx.sleep("abc")`),
    status: 500,
    log: [/bad argument #1 to 'sleep'/],
  },
  {
    name: 'sleep with a negative delay is an error',
    server: lua(`ngx.sleep(-1)`),
    status: 500,
    log: [/content_by_lua\(nginx\.conf:\d+\):1: invalid sleep duration "-1000"/], // reported in milliseconds
  },
  {
    name: 'sleep with no argument is an error',
    server: lua(`ngx.sleep()`),
    status: 500,
    log: [/attempt to pass 0 arguments, but accepted 1/],
  },
  {
    name: 'sleep in rewrite and access',
    server: `location /t { rewrite_by_lua_block { ngx.sleep(0.001) ngx.ctx.a = 1 } access_by_lua_block { ngx.sleep(0) ngx.ctx.a = ngx.ctx.a + 1 } content_by_lua_block { ngx.say(ngx.ctx.a) } }`,
    body: '2\n',
  },
  {
    name: 'sleep inside a user coroutine',
    server: lua(`local co = coroutine.wrap(function() ngx.sleep(0.001) coroutine.yield("y1") ngx.sleep(0) return "done" end) ngx.say(co()) ngx.say(co())`),
    body: 'y1\ndone\n',
  },
  {
    name: 'sleep inside pcall',
    server: lua(`local ok, err = pcall(function() ngx.sleep(0.001) return "fine" end) ngx.say(ok, " ", err)`),
    body: 'true fine\n',
  },
  {
    name: 'sleep between flushed outputs',
    server: lua(`ngx.say("first") ngx.flush(true) ngx.sleep(0.02) ngx.say("second")`),
    body: 'first\nsecond\n',
  },
  {
    name: 'sleep on consecutive keep-alive requests',
    server: lua(`ngx.sleep(0.05) ngx.say("woke")`),
    steps: [{ body: 'woke\n' }, { body: 'woke\n' }],
  },
];
