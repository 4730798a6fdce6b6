// Lua runtime errors in handlers: status, log lines, line numbers, tracebacks.
import { lua, luaErr, errorPage } from '../lib.mjs';

export default [
  {
    name: 'runtime error on line 3 gives 500',
    server: lua(`
      local a = 1
      error("boom")
    `),
    status: 500,
    headers: { 'content-type': 'text/html' },
    body: errorPage(500),
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):3: boom\nstack traceback:\ncoroutine 0:\n\t\[C\]: in function 'error'\n\tcontent_by_lua\(nginx\.conf:\d+\):3: in main chunk, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", host: "localhost"$/],
  },
  {
    name: 'error with level 0 has no position',
    server: lua(`error("plain message", 0)`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: plain message\n/],
  },
  {
    name: 'error with a table value is an unknown reason',
    server: lua(`error({ code = 1 })`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: unknown reason\nstack traceback:/],
  },
  {
    name: 'error with nil',
    server: lua(`error(nil)`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: unknown reason\nstack traceback:/],
  },
  {
    name: 'error with a number',
    server: lua(`error(42)`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: 42\n/],
  },
  {
    name: 'calling a nil global',
    server: lua(`nofunc()`),
    status: 500,
    log: [luaErr('content_by_lua', 1, `attempt to call global 'nofunc' \\(a nil value\\)`)],
  },
  {
    name: 'indexing a nil local',
    server: lua(`local t = nil
      return t.x`),
    status: 500,
    log: [luaErr('content_by_lua', 2, `attempt to index local 't' \\(a nil value\\)`)],
  },
  {
    name: 'concatenating nil',
    server: lua(`local x ngx.say("a" .. x)`),
    status: 500,
    log: [luaErr('content_by_lua', 1, `attempt to concatenate local 'x' \\(a nil value\\)`)],
  },
  {
    name: 'arithmetic on a string that is not a number',
    server: lua(`local s = "abc" ngx.say(s + 1)`),
    status: 500,
    log: [luaErr('content_by_lua', 1, `attempt to perform arithmetic on local 's' \\(a string value\\)`)],
  },
  {
    name: 'error in a nested function reports its own line',
    server: lua(`
      local function inner()
        error("deep")
      end
      local function outer() inner() end
      outer()
    `),
    status: 500,
    log: [/runtime error: content_by_lua\(nginx\.conf:\d+\):3: deep\nstack traceback:\ncoroutine 0:\n\t\[C\]: in function 'error'\n\tcontent_by_lua\(nginx\.conf:\d+\):3: in function 'inner'/],
  },
  {
    name: 'error in rewrite_by_lua',
    server: `location /t { rewrite_by_lua_block { error("in rewrite") } content_by_lua_block { ngx.say("no") } }`,
    status: 500,
    log: [luaErr('rewrite_by_lua', 1, 'in rewrite')],
  },
  {
    name: 'error in access_by_lua',
    server: `location /t { access_by_lua_block { error("in access") } content_by_lua_block { ngx.say("no") } }`,
    status: 500,
    log: [luaErr('access_by_lua', 1, 'in access')],
  },
  {
    name: 'error in log_by_lua does not change the response',
    server: `location /t { content_by_lua_block { ngx.say("fine") } log_by_lua_block { error("in log") } }`,
    status: 200,
    body: 'fine\n',
    log: [/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: in log\nstack traceback:/],
  },
  {
    name: 'error after output truncates the response',
    server: lua(`ngx.say("partial") ngx.flush(true) error("late")`),
    status: 200,
    incomplete: true,
    body: 'partial\n',
    log: [luaErr('content_by_lua', 1, 'late')],
  },
  {
    name: 'error after buffered (unflushed) output closes with nothing sent',
    server: lua(`ngx.say("partial") error("late")`),
    noResponse: true,
    log: [luaErr('content_by_lua', 1, 'late')],
  },
  {
    name: 'pcall catches errors',
    server: lua(`local ok, err = pcall(error, "caught") ngx.say(ok, " ", err)
      local ok2, err2 = pcall(function() error("with pos") end) ngx.say(ok2, " ", err2)`),
    body: /^false caught\nfalse content_by_lua\(nginx\.conf:\d+\):2: with pos\n$/,
  },
  {
    name: 'error with a table caught by pcall keeps the table',
    server: lua(`local ok, e = pcall(error, { code = 7 }) ngx.say(ok, " ", type(e), " ", e.code)`),
    body: 'false table 7\n',
  },
  {
    name: 'xpcall with a traceback handler',
    server: lua(`local ok, tb = xpcall(function() error("x") end, debug.traceback) ngx.say(ok, " ", tb:find("stack traceback:", 1, true) ~= nil)`),
    body: 'false true\n',
  },
  {
    name: 'writing a global variable warns',
    server: lua(`foo = 1 ngx.say(foo)`),
    body: '1\n',
    log: [/\[warn\] .*\[lua\] _G write guard:\d+: __newindex\(\): writing a global Lua variable \('foo'\) which may lead to race conditions between concurrent requests, so prefer the use of 'local' variables\nstack traceback:\n\tcontent_by_lua\(nginx\.conf:\d+\):1: in main chunk/],
  },
  {
    name: 'rawset globals persist across requests in a worker',
    server: lua(`ngx.say(rawget(_G, "leaky") or "unset") rawset(_G, "leaky", "set")`),
    steps: [{ body: 'unset\n' }, { body: 'set\n' }],
  },
  {
    name: 'syntax error in inline code',
    server: lua(`local x = = 1`),
    status: 500,
    log: [/failed to load inlined Lua code: content_by_lua\(nginx\.conf:\d+\):1: unexpected symbol near '='/],
  },
  {
    name: 'error from a preloaded module',
    server: lua(`package.preload["conf_test_mod"] = function() error("mod failed") end
      require("conf_test_mod")`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: mod failed/],
  },
  {
    name: 'requiring a missing module',
    server: lua(`require("no_such_module_xyz")`),
    status: 500,
    log: [/module 'no_such_module_xyz' not found:/],
  },
  {
    name: 'error in a coroutine is returned by resume',
    server: lua(`local co = coroutine.create(function() error("in co") end) local ok, err = coroutine.resume(co) ngx.say(ok, " ", err)`),
    body: /^false content_by_lua\(nginx\.conf:\d+\):1: in co\n$/,
  },
  {
    name: 'a request after a failed one on a new connection works',
    server: lua(`if ngx.var.arg_fail then error("fail") end ngx.say("fine")`),
    steps: [
      { request: 'GET /t?fail=1', status: 500, closed: true },
      { request: 'GET /t', newConnection: true, status: 200, body: 'fine\n' },
    ],
    log: [luaErr('content_by_lua', 1, 'fail')],
  },
  {
    name: 'an error in a wrapped coroutine: its stack as coroutine 0, the resumer\'s as coroutine 1',
    server: lua(`local function f() local x = nil return x.y end
      local co = coroutine.wrap(function() f() end)
      local function g() co() end
      g()`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: attempt to index local 'x' \(a nil value\)\nstack traceback:\ncoroutine 0:\n\tcontent_by_lua\(nginx\.conf:\d+\): in function 'f'\n\tcontent_by_lua\(nginx\.conf:\d+\):2: in function <content_by_lua\(nginx\.conf:\d+\):2>\ncoroutine 1:\n\t\[C\]: in function 'co'\n\tcontent_by_lua\(nginx\.conf:\d+\):3: in function 'g'\n\tcontent_by_lua\(nginx\.conf:\d+\):4: in main chunk, client/],
  },
];
