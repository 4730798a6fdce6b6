// Our extension `lua_yield_everywhere on`: yielding APIs (sleep, light threads, semaphore waits)
// also work in log_by_lua*, init_worker_by_lua* and init_by_lua*. The reference rejects the
// directive (unknown directive "lua_yield_everywhere"), so every case with it is ours only; the
// first cases show what both engines do without it.
const YE = 'lua_yield_everywhere on;';
const inLog = (code) => `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { ${code}\n} }`;

const INIT_WORKER = `init_worker_by_lua_block {
  IW = {pcall(ngx.thread.spawn, function() end)} IW2 = {pcall(ngx.sleep, 0.01)}
  local s = require("ngx.semaphore").new(0) IW3 = {pcall(s.wait, s, 0.01)} }`;
const INIT = `init_by_lua_block {
  I1 = {pcall(ngx.thread.spawn, function() end)} I2 = {pcall(ngx.sleep, 0.01)}
  local s = require("ngx.semaphore").new(0) I3 = {pcall(s.wait, s, 0.01)} }`;
const show = (v) => `location /t { content_by_lua_block { local t = ${v} ngx.say(tostring(t[1]), " ", tostring(t[2]), " ", tostring(t[3])) } }`;

export default [
  {
    name: 'without the directive: spawn in init_worker_by_lua',
    http: INIT_WORKER,
    server: show('IW'),
    body: 'false API disabled in the context of init_worker_by_lua* nil\n',
  },
  {
    name: 'without the directive: sleep in init_worker_by_lua',
    http: INIT_WORKER,
    server: show('IW2'),
    body: 'false API disabled in the context of init_worker_by_lua* nil\n',
  },
  {
    name: 'without the directive: semaphore wait in init_worker_by_lua',
    http: INIT_WORKER,
    server: show('IW3'),
    body: 'true nil API disabled in the context of init_worker_by_lua*\n', // returned, not raised
  },
  {
    name: 'without the directive: spawn in init_by_lua',
    http: INIT,
    server: show('I1'),
    body: 'false no request found nil\n',
  },
  {
    name: 'without the directive: sleep in init_by_lua',
    http: INIT,
    server: show('I2'),
    body: 'false no request found nil\n',
  },
  {
    name: 'without the directive: semaphore wait in init_by_lua',
    http: INIT,
    server: show('I3'),
    body: /^false \S*semaphore\.lua:\d+: no request found nil\n$/,
  },
  {
    name: 'sleep in log_by_lua',
    only: 'ours',
    http: YE,
    server: inLog(`ngx.log(ngx.WARN, "log before sleep") ngx.sleep(0.01) ngx.log(ngx.WARN, "log after sleep")`),
    body: 'ok\n',
    log: [/log before sleep/, /log after sleep/],
  },
  {
    name: 'light threads in log_by_lua',
    only: 'ours',
    http: YE,
    server: inLog(`local seq = {}
      local a = ngx.thread.spawn(function() ngx.sleep(0.05) seq[#seq + 1] = "slow" return "a" end)
      local b = ngx.thread.spawn(function() ngx.sleep(0.01) seq[#seq + 1] = "fast" return "b" end)
      local _, x = ngx.thread.wait(a) local _, y = ngx.thread.wait(b)
      ngx.log(ngx.WARN, "log threads: ", table.concat(seq, ","), " ", x, y)`),
    body: 'ok\n',
    log: [/log threads: fast,slow ab/],
  },
  {
    name: 'thread kill in log_by_lua',
    only: 'ours',
    http: YE,
    server: inLog(`local t = ngx.thread.spawn(function() ngx.sleep(0.05) ngx.log(ngx.WARN, "killed thread ran") end)
      ngx.log(ngx.WARN, "log kill: ", ngx.thread.kill(t)) ngx.sleep(0.1) ngx.log(ngx.WARN, "log kill done")`),
    body: 'ok\n',
    log: [/log kill: 1/, /log kill done/],
    noLog: [/killed thread ran/],
  },
  {
    name: 'semaphore wait in log_by_lua',
    only: 'ours',
    http: YE,
    server: inLog(`local s = require("ngx.semaphore").new(0)
      ngx.thread.spawn(function() ngx.sleep(0.01) s:post(1) end)
      local ok, err = s:wait(1) ngx.log(ngx.WARN, "log sema: ", ok, " ", err)`),
    body: 'ok\n',
    log: [/log sema: true nil/],
  },
  {
    name: 'semaphore wait timeout in log_by_lua',
    only: 'ours',
    http: YE,
    server: inLog(`local s = require("ngx.semaphore").new(0) local ok, err = s:wait(0.01) ngx.log(ngx.WARN, "log sema timeout: ", ok, " ", err)`),
    body: 'ok\n',
    log: [/log sema timeout: false timeout/],
  },
  {
    name: 'sleep inside a coroutine in log_by_lua',
    only: 'ours',
    http: YE,
    server: inLog(`local co = coroutine.wrap(function() ngx.sleep(0.01) coroutine.yield("y") return "r" end)
      local a = co() local b = co() ngx.log(ngx.WARN, "log co: ", a, b)`),
    body: 'ok\n',
    log: [/log co: yr/],
  },
  {
    name: 'error after a sleep in log_by_lua',
    only: 'ours',
    http: YE,
    server: inLog(`ngx.sleep(0.01) error("log boom")`),
    body: 'ok\n',
    log: [/log_by_lua\(nginx\.conf:\d+\):1: log boom/],
  },
  {
    name: 'keep-alive requests with a sleeping log phase',
    only: 'ours',
    http: YE,
    server: inLog(`ngx.sleep(0.01) ngx.log(ngx.WARN, "log phase of ", ngx.var.arg_n)`),
    steps: [{ request: 'GET /t?n=1', body: 'ok\n' }, { request: 'GET /t?n=2', body: 'ok\n' }],
    log: [/log phase of 1/, /log phase of 2/],
  },
  {
    name: 'explicit off keeps the reference behaviour',
    only: 'ours',
    http: 'lua_yield_everywhere off;',
    server: inLog(`ngx.sleep(0.01)`),
    body: 'ok\n',
    log: [/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of log_by_lua\*/],
  },
  {
    name: 'sleep in init_worker_by_lua',
    only: 'ours',
    http: `${YE} init_worker_by_lua_block { ngx.sleep(0.01) IW_SLEPT = "init_worker slept" }`,
    server: `location /t { content_by_lua_block { ngx.sleep(0.1) ngx.say(IW_SLEPT) } }`,
    body: 'init_worker slept\n',
  },
  {
    name: 'light threads in init_worker_by_lua',
    only: 'ours',
    http: `${YE} init_worker_by_lua_block {
      local seq = {}
      local a = ngx.thread.spawn(function() ngx.sleep(0.3) seq[#seq + 1] = "a" end)
      local b = ngx.thread.spawn(function() ngx.sleep(0.01) seq[#seq + 1] = "b" end)
      ngx.thread.wait(a) ngx.thread.wait(b) IW_THREADS = table.concat(seq, ",") }`,
    server: `location /t { content_by_lua_block { ngx.sleep(0.6) ngx.say(IW_THREADS) } }`,
    body: 'b,a\n',
  },
  {
    name: 'semaphore wait in init_worker_by_lua',
    only: 'ours',
    http: `${YE} init_worker_by_lua_block {
      local s = require("ngx.semaphore").new(0)
      ngx.thread.spawn(function() ngx.sleep(0.01) s:post(1) end)
      local ok, err = s:wait(1) IW_SEMA = tostring(ok) .. " " .. tostring(err) }`,
    server: `location /t { content_by_lua_block { ngx.sleep(0.1) ngx.say(IW_SEMA) } }`,
    body: 'true nil\n',
  },
  {
    name: 'sleep in init_by_lua',
    only: 'ours',
    http: `${YE} init_by_lua_block { ngx.sleep(0.01) INIT_SLEPT = "init slept" }`,
    server: `location /t { content_by_lua_block { ngx.say(INIT_SLEPT) } }`,
    body: 'init slept\n',
  },
  {
    name: 'light threads in init_by_lua',
    only: 'ours',
    http: `${YE} init_by_lua_block {
      local seq = {}
      local a = ngx.thread.spawn(function() ngx.sleep(0.3) seq[#seq + 1] = "a" return 1 end)
      local b = ngx.thread.spawn(function() ngx.sleep(0.01) seq[#seq + 1] = "b" return 2 end)
      local _, x = ngx.thread.wait(a) local _, y = ngx.thread.wait(b) INIT_THREADS = table.concat(seq, ",") .. " " .. (x + y) }`,
    server: `location /t { content_by_lua_block { ngx.say(INIT_THREADS) } }`,
    body: 'b,a 3\n',
  },
  {
    name: 'semaphore wait in init_by_lua',
    only: 'ours',
    http: `${YE} init_by_lua_block {
      local s = require("ngx.semaphore").new(0)
      ngx.thread.spawn(function() ngx.sleep(0.01) s:post(1) end)
      local ok, err = s:wait(1) local ok2, err2 = s:wait(0.01)
      INIT_SEMA = tostring(ok) .. " " .. tostring(err) .. " " .. tostring(ok2) .. " " .. tostring(err2) }`,
    server: `location /t { content_by_lua_block { ngx.say(INIT_SEMA) } }`,
    body: 'true nil false timeout\n',
  },
  {
    name: 'sleep in header_filter_by_lua, then a header',
    only: 'ours',
    http: YE,
    server: `location /t { content_by_lua_block { ngx.say("body") } header_filter_by_lua_block { ngx.sleep(0.01) ngx.header["X-Slept"] = "yes" } }`,
    headers: { 'x-slept': 'yes' },
    body: 'body\n',
  },
  {
    name: 'sleep in body_filter_by_lua keeps the chunks in order',
    only: 'ours',
    http: YE,
    server: `location /t {
      content_by_lua_block { ngx.say("one") ngx.flush() ngx.say("two") }
      body_filter_by_lua_block { if ngx.arg[1] ~= "" then ngx.sleep(0.005) ngx.arg[1] = string.upper(ngx.arg[1]) end if ngx.arg[2] then ngx.arg[1] = ngx.arg[1] .. "END\\n" end }
    }`,
    body: 'ONE\nTWO\nEND\n',
  },
  {
    name: 'a light thread in header_filter_by_lua on an error page',
    only: 'ours',
    http: YE,
    server: `location /t {
      content_by_lua_block { ngx.exit(404) }
      header_filter_by_lua_block { local t = ngx.thread.spawn(function() ngx.sleep(0.01) return "thr" end) local _, v = ngx.thread.wait(t) ngx.header["X-T"] = v }
    }`,
    status: 404,
    headers: { 'x-t': 'thr' },
  },
  {
    name: 'a header filter that waits delays a return as well',
    only: 'ours',
    http: YE,
    server: `location /t { return 201 "made\n"; header_filter_by_lua_block { ngx.sleep(0.01) ngx.status = 202 } }`,
    status: 202,
    body: 'made\n',
  },
  {
    name: 'the log phase runs after a waiting body filter',
    only: 'ours',
    http: YE,
    server: `location /t {
      content_by_lua_block { ngx.say("x") }
      body_filter_by_lua_block { if ngx.arg[2] then ngx.sleep(0.01) ngx.ctx.bf = "done" end }
      log_by_lua_block { ngx.log(ngx.WARN, "bf in log: ", ngx.ctx.bf) }
    }`,
    body: 'x\n',
    log: [/bf in log: done/],
  },
];
