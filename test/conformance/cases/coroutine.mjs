// User coroutines (ngx_lua's coroutine.* replacement) and how they mix with yielding APIs.
import { lua, luaOut } from '../lib.mjs';

export default [
  {
    name: 'yield values both ways',
    server: luaOut(`local co = coroutine.create(function(a, b) local c = coroutine.yield(a + b, "y") local d, e = coroutine.yield(c * 2) return d .. e end)
      out(coroutine.resume(co, 1, 2)) out(coroutine.resume(co, 10)) out(coroutine.resume(co, "x", "z")) out(coroutine.resume(co))`),
    body: 'true 3 y\ntrue 20\ntrue xz\nfalse cannot resume dead coroutine\n',
  },
  {
    name: 'sleep in a nested coroutine resumes the right one',
    server: lua(`local inner = coroutine.create(function() ngx.say("inner 1") ngx.sleep(0.01) ngx.say("inner 2") coroutine.yield("iy") ngx.say("inner 3") end)
      local outer = coroutine.create(function() ngx.say("outer 1") local ok, v = coroutine.resume(inner) ngx.say("outer got ", v) ngx.sleep(0.01) coroutine.yield("oy") coroutine.resume(inner) ngx.say("outer end") end)
      local ok, v = coroutine.resume(outer) ngx.say("entry got ", v) coroutine.resume(outer) ngx.say("entry end")`),
    body: 'outer 1\ninner 1\ninner 2\nouter got iy\nentry got oy\ninner 3\nouter end\nentry end\n',
  },
  {
    name: 'thread.wait inside a coroutine is not the parent',
    server: luaOut(`local t = ngx.thread.spawn(function() ngx.sleep(0.01) return "r" end)
      local co = coroutine.create(function() return ngx.thread.wait(t) end) local ok, e = coroutine.resume(co) out(ok) out(e) out(ngx.thread.wait(t))`),
    body: 'false\nonly the parent coroutine can wait on the thread\ntrue r\n',
  },
  {
    name: 'wrap returns yielded values',
    server: luaOut(`local f = coroutine.wrap(function(a) local b = coroutine.yield(a, a * 2) return b end) out(f(4)) out(f("back"))`),
    body: '4 8\nback\n',
  },
  {
    name: 'wrap rethrows an error past pcall',
    server: luaOut(`local f = coroutine.wrap(function() error("inside wrap") end) out(pcall(f))`),
    status: 500, // the reference's pcall does not catch it: the entry thread aborts
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: inside wrap/],
  },
  {
    name: 'wrap of a dead coroutine',
    server: luaOut(`local f = coroutine.wrap(function() return 1 end) f() out(pcall(f))`),
    body: 'true false cannot resume dead coroutine\n', // returned, not raised
  },
  {
    name: 'wrap error uncaught aborts the request',
    server: lua(`local f = coroutine.wrap(function() error("wrapped boom") end) f()`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: .*wrapped boom/],
  },
  {
    name: 'errors come back as false and the message',
    server: luaOut(`local co = coroutine.create(function() local x = nil; return x.y end) out(coroutine.resume(co)) out(coroutine.status(co))`),
    body: /^false content_by_lua\(nginx\.conf:\d+\):1: attempt to index local 'x' \(a nil value\)\ndead\n$/,
  },
  {
    name: 'error with a table value',
    server: luaOut(`local co = coroutine.create(function() error({code = 7}) end) local ok, e = coroutine.resume(co) out(ok, type(e), e.code)`),
    body: 'false table 7\n',
  },
  {
    name: 'error after a sleep inside a coroutine',
    server: luaOut(`local co = coroutine.create(function() ngx.sleep(0.01) error("late", 0) end) out(coroutine.resume(co))`),
    body: 'false late\n',
  },
  {
    name: 'status values',
    server: lua(`local co, co2
      co = coroutine.create(function() ngx.say("self: ", coroutine.status(co)) coroutine.resume(co2) coroutine.yield() end)
      co2 = coroutine.create(function() ngx.say("parent from child: ", coroutine.status(co)) end)
      ngx.say("new: ", coroutine.status(co)) coroutine.resume(co) ngx.say("yielded: ", coroutine.status(co)) coroutine.resume(co) ngx.say("done: ", coroutine.status(co))`),
    body: 'new: suspended\nself: running\nparent from child: normal\nyielded: suspended\ndone: dead\n',
  },
  {
    name: 'resume a running coroutine',
    server: luaOut(`local co co = coroutine.create(function() return coroutine.resume(co) end) out(coroutine.resume(co))`),
    body: 'true false cannot resume running coroutine\n',
  },
  {
    name: 'resume a normal coroutine',
    server: luaOut(`local outer outer = coroutine.create(function() local inner = coroutine.create(function() return coroutine.resume(outer) end) return coroutine.resume(inner) end) out(coroutine.resume(outer))`),
    body: 'true true false cannot resume normal coroutine\n',
  },
  {
    name: 'resume a dead coroutine',
    server: luaOut(`local co = coroutine.create(function() end) coroutine.resume(co) out(coroutine.resume(co))`),
    body: 'false cannot resume dead coroutine\n',
  },
  {
    name: 'resume a non-coroutine',
    server: lua(`coroutine.resume(1)`),
    status: 500,
    log: [/bad argument #1 to 'resume'/],
  },
  {
    name: 'create with a non-function',
    server: lua(`coroutine.create("x")`),
    status: 500,
    log: [/bad argument #1 to 'create'/],
  },
  {
    name: 'running, and no isyieldable',
    server: luaOut(`local main = coroutine.running() out(type(main), type(coroutine.isyieldable))
      local co = coroutine.create(function() local c = coroutine.running() out(type(c), c ~= main, c == co) end) coroutine.resume(co)`),
    body: 'thread nil\nthread true false\n',
  },
  {
    name: 'the coroutine table contents',
    server: lua(`local ks = {} for k in pairs(coroutine) do if k:sub(1, 1) ~= "_" then ks[#ks + 1] = k end end table.sort(ks) ngx.say(table.concat(ks, " "))`),
    body: 'create resume running status wrap yield\n',
  },
  {
    name: 'yield from the entry thread',
    server: lua(`ngx.say("before") coroutine.yield() ngx.say("after")`),
    body: 'before\nafter\n',
  },
  {
    name: 'coroutines inside a light thread',
    server: luaOut(`local t = ngx.thread.spawn(function()
        local co = coroutine.create(function(n) for i = 1, n do ngx.sleep(0.001) coroutine.yield(i) end return "fin" end)
        local r = {} for _ = 1, 4 do local ok, v = coroutine.resume(co, 3) r[#r + 1] = tostring(v) end return table.concat(r, ",") end)
      out(ngx.thread.wait(t))`),
    body: 'true 1,2,3,fin\n',
  },
  {
    name: 'light thread spawned inside a coroutine',
    server: luaOut(`local co = coroutine.wrap(function() local t = ngx.thread.spawn(function() ngx.sleep(0.01) return "from thread" end) coroutine.yield("yielded") return select(2, ngx.thread.wait(t)) end)
      out(co()) out(co())`),
    body: 'yielded\nfrom thread\n',
  },
  {
    name: 'generator loop with a bounded count',
    server: lua(`local gen = coroutine.wrap(function() for i = 1, 5 do coroutine.yield(i * i) end end) local s = 0 for _ = 1, 5 do s = s + gen() end ngx.say(s)`),
    body: '55\n',
  },
  {
    name: 'coroutines in header_filter_by_lua',
    server: `location /t { return 200 "ok\\n"; header_filter_by_lua_block { local co = coroutine.wrap(function() coroutine.yield("hf") end) ngx.header["X-Co"] = co() .. coroutine.status(coroutine.create(function() end)) } }`,
    headers: { 'x-co': 'hfsuspended' },
    body: 'ok\n',
  },
  {
    name: 'coroutines in body_filter_by_lua',
    server: `location /t { return 200 "ok\\n"; header_filter_by_lua_block { ngx.header.content_length = nil } body_filter_by_lua_block { if ngx.arg[1] ~= "" then local co = coroutine.create(function(s) local x = coroutine.yield(s:upper()) return x end) local _, v = coroutine.resume(co, ngx.arg[1]) ngx.arg[1] = v end } }`,
    body: 'OK\n',
  },
  {
    name: 'coroutine.create in log_by_lua',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end) ngx.log(ngx.WARN, "created") } }`,
    body: 'ok\n',
    log: [/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of log_by_lua\*/],
    noLog: [/created/],
  },
  {
    name: 'coroutine.wrap in log_by_lua',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { local f = coroutine.wrap(function() end) ngx.log(ngx.WARN, "wrapped") } }`,
    body: 'ok\n',
    log: [/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of log_by_lua\*/],
    noLog: [/wrapped/],
  },
  {
    name: 'coroutine.status of the log_by_lua main thread',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { ngx.log(ngx.WARN, "log running: ", type(coroutine.running())) coroutine.status(coroutine.running()) } }`,
    body: 'ok\n',
    log: [/log running: nil/, /failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: bad argument #1 to 'status' \(coroutine expected\)/],
  },
  {
    name: 'coroutines in set_by_lua',
    server: `location /t { set_by_lua_block $v { local f = coroutine.wrap(function() coroutine.yield("set") end) return f() } return 200 "$v\\n"; }`,
    status: 500,
    log: [/failed to run set_by_lua\*: set_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of set_by_lua\*/],
  },
  {
    name: 'sleep inside a coroutine in header_filter_by_lua',
    server: `location /t { return 200 "ok\\n"; header_filter_by_lua_block { local co = coroutine.create(function() ngx.sleep(0.001) end) local ok, e = coroutine.resume(co) ngx.header["X-R"] = tostring(ok) ngx.log(ngx.WARN, "hf co sleep: ", e) } }`,
    headers: { 'x-r': 'false' },
    body: 'ok\n',
    log: [/hf co sleep: .*API disabled in the context of header_filter_by_lua\*/],
  },
  {
    name: 'coroutine.wrap in init_by_lua: the values themselves, and errors raised as they are',
    http: `init_by_lua_block {
      local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
      local x = co(1) local y = co(5) INIT_WRAP = x .. " " .. y
      local ok, e = pcall(coroutine.wrap(function() error("boom") end)) INIT_WRAP_ERR = tostring(ok) .. " " .. e
    }`,
    server: lua(`ngx.say(INIT_WRAP, " | ", INIT_WRAP_ERR)`),
    body: /^2 10 \| false init_by_lua\(nginx\.conf:\d+\):\d+: boom\n$/,
  },
  {
    name: 'the coroutine table: ngx_lua\'s functions, LuaJIT\'s kept as _create.._yield, __create.._yield',
    server: lua(`local k = {} for n in pairs(coroutine) do k[#k+1] = n end table.sort(k) ngx.say(table.concat(k, " "))`),
    body: '__create __resume __status __wrap __yield _create _resume _status _wrap _yield create resume running status wrap yield\n',
  },
  {
    name: 'a light thread whose coroutine waits on I/O is "normal"; the waiting coroutine "running"',
    server: lua(`local t = ngx.thread.spawn(function() local c = coroutine.create(function() ngx.sleep(0.05) end) coroutine.resume(c) end) ngx.say(coroutine.status(t))
      local c2 = coroutine.create(function() ngx.sleep(0.02) end) local t2 = ngx.thread.spawn(function() coroutine.resume(c2) end) ngx.say(coroutine.status(t2), " ", coroutine.status(c2))
      ngx.thread.wait(t) ngx.thread.wait(t2) ngx.say(coroutine.status(t))`),
    body: 'normal\nnormal running\ndead\n',
  },
];
