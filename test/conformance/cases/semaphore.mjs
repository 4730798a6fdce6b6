// ngx.semaphore (lua-resty-core): new / post / wait / count.
import { lua, luaOut, OUT } from '../lib.mjs';

const SEM = 'local semaphore = require "ngx.semaphore" ';
const sem = (code) => luaOut(SEM + code);

export default [
  {
    name: 'require ngx.semaphore',
    server: sem(`out(type(semaphore), type(semaphore.new)) local s = semaphore.new() out(type(s), s:count())`),
    body: 'table function\ntable 0\n',
  },
  {
    name: 'new with resources, wait and count',
    server: sem(`local s = semaphore.new(2) out(s:count()) out(s:wait(0)) out(s:wait(1)) out(s:count())`),
    body: '2\ntrue\ntrue\n0\n', // a wait that does not block returns a single true
  },
  {
    name: 'post increments the count',
    server: sem(`local s = semaphore.new(0) s:post() s:post(3) out(s:count()) out(s:post())`),
    body: '4\ntrue\n',
  },
  {
    name: 'wait timeout',
    server: sem(`local s = semaphore.new(0) out(s:wait(0.01)) out(s:count())`),
    body: 'false timeout\n0\n', // false, not nil as documented
  },
  {
    name: 'wait(0) without resources',
    server: sem(`local s = semaphore.new() out(s:wait(0))`),
    body: 'nil timeout\n', // nil when it fails at once, false after a timed wait
  },
  {
    name: 'wait is woken by a light thread post',
    server: sem(`local s = semaphore.new(0) ngx.thread.spawn(function() ngx.sleep(0.01) s:post(1) end) out(s:wait(1)) out(s:count())`),
    body: 'true nil\n0\n',
  },
  {
    name: 'count is negative with waiters',
    server: sem(`local s = semaphore.new(0)
      for i = 1, 3 do ngx.thread.spawn(function() s:wait(1) end) end
      out(s:count()) s:post(3) ngx.sleep(0.01) out(s:count())`),
    body: '-3\n0\n',
  },
  {
    name: 'waiters wake in FIFO order',
    server: sem(`local s, order = semaphore.new(0), {}
      local ts = {} for i = 1, 4 do ts[i] = ngx.thread.spawn(function() local ok = s:wait(1) order[#order + 1] = i end) end
      for _ = 1, 4 do s:post(1) ngx.sleep(0.005) end
      for i = 1, 4 do ngx.thread.wait(ts[i]) end out(table.concat(order, ","))`),
    body: '1,2,3,4\n',
  },
  {
    name: 'post(n) wakes n waiters',
    server: sem(`local s, woke = semaphore.new(0), 0
      for i = 1, 4 do ngx.thread.spawn(function() if s:wait(1) then woke = woke + 1 end end) end
      s:post(2) ngx.sleep(0.02) out(woke, s:count()) s:post(2) ngx.sleep(0.02) out(woke, s:count())`),
    body: '2 -2\n4 0\n',
  },
  {
    name: 'post to waiters then to the count',
    server: sem(`local s, woke = semaphore.new(0), 0
      ngx.thread.spawn(function() if s:wait(1) then woke = woke + 1 end end)
      s:post(3) ngx.sleep(0.01) out(woke, s:count())`),
    body: '1 2\n',
  },
  {
    name: 'a timed-out waiter does not take a later post',
    server: sem(`local s = semaphore.new(0)
      local t = ngx.thread.spawn(function() return s:wait(0.01) end)
      ngx.sleep(0.05) out(ngx.thread.wait(t)) s:post(1) out(s:count())`),
    body: 'true false timeout\n1\n',
  },
  {
    name: 'killing a waiting thread removes its wait',
    server: sem(`local s = semaphore.new(0)
      local t = ngx.thread.spawn(function() s:wait(1) ngx.say("never") end)
      out(s:count()) out(ngx.thread.kill(t)) s:post(1) out(s:count()) out(s:wait(0))`),
    body: '-1\n1\n1\ntrue\n',
  },
  {
    name: 'a timer posts to a waiting request',
    server: sem(`local s = semaphore.new(0) ngx.timer.at(0.01, function() s:post(1) end) out(s:wait(1))`),
    body: 'true nil\n',
  },
  {
    name: 'a request posts to a waiting timer',
    server: sem(`local s, got = semaphore.new(0) ngx.timer.at(0, function() got = {s:wait(1)} end)
      ngx.sleep(0.01) s:post(1) ngx.sleep(0.02) out(got[1], got[2])`),
    body: 'true nil\n',
  },
  {
    name: 'waiters of a finished request are removed',
    http: 'init_by_lua_block { SEMA = require("ngx.semaphore").new(0) }',
    server: `location /wait { content_by_lua_block { ngx.thread.spawn(function() SEMA:wait(5) end) ngx.sleep(0.01) ngx.say(SEMA:count()) ngx.exit(200) } }
      location /post { content_by_lua_block { SEMA:post(1) ngx.say(SEMA:count()) } }`,
    steps: [{ request: 'GET /wait', body: '-1\n' }, { request: 'GET /post', body: '1\n' }],
  },
  {
    name: 'semaphore shared across requests',
    http: 'init_by_lua_block { SEMB = require("ngx.semaphore").new(0) }',
    server: `location /post { content_by_lua_block { SEMB:post(2) ngx.say(SEMB:count()) } }
      location /wait { content_by_lua_block { ngx.say(SEMB:wait(0)) ngx.say(SEMB:count()) } }`,
    steps: [{ request: 'GET /post', body: '2\n' }, { request: 'GET /wait', body: 'true\n1\n' }],
  },
  {
    name: 'wait in log_by_lua',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { local s = require("ngx.semaphore").new(0) ngx.log(ngx.WARN, "log wait: ", s:wait(0.01)) } }`,
    body: 'ok\n',
    log: [/log wait: nilAPI disabled in the context of log_by_lua\*/],
  },
  {
    name: 'wait(0) with resources in log_by_lua',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { local s = require("ngx.semaphore").new(1) local ok, err = s:wait(0) ngx.log(ngx.WARN, "log wait0: ", ok, " ", err, " ", s:count()) } }`,
    body: 'ok\n',
    log: [/log wait0: nil API disabled in the context of log_by_lua\* 1/],
  },
  {
    name: 'wait in header_filter_by_lua',
    server: `location /t { return 200 "ok\\n"; header_filter_by_lua_block { local s = require("ngx.semaphore").new(0) local ok, err = s:wait(0.01) ngx.header["X-W"] = tostring(ok) .. " " .. tostring(err) } }`,
    headers: { 'x-w': 'nil API disabled in the context of header_filter_by_lua*' },
    body: 'ok\n',
  },
  {
    name: 'post in log_by_lua is allowed',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { local s = require("ngx.semaphore").new(0) s:post(2) ngx.log(ngx.WARN, "log post: ", s:count()) } }`,
    body: 'ok\n',
    log: [/log post: 2/],
  },
  {
    name: 'new with a negative number',
    server: sem(`out(pcall(semaphore.new, -1))`),
    body: 'false no negative number\n',
  },
  {
    name: 'wait with a bad timeout',
    server: sem(`local s = semaphore.new(1) out(pcall(s.wait, s, "x"))`),
    body: /^false \S*semaphore\.lua:\d+: attempt to perform arithmetic on a nil value\n$/,
  },
  {
    name: 'wait with a negative timeout',
    server: sem(`local s = semaphore.new(1) out(pcall(s.wait, s, -1))`),
    body: 'false no negative number\n',
  },
  {
    name: 'post with a non-number argument',
    server: sem(`local s = semaphore.new(0) out(pcall(s.post, s, "x")) out(s:count())`),
    body: 'true true\n1\n',
  },
  {
    name: 'method called without self',
    server: sem(`local s = semaphore.new(0) out(pcall(s.count)) out(pcall(s.wait))`),
    body: 'false not a semaphore instance\nfalse not a semaphore instance\n',
  },
];
