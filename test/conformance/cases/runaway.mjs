// Our extension: lua_max_running_time and lua_max_memory. Code that runs too long without
// yielding, or allocates past the cap, fails in the handler that did it (500, logged with its
// traceback) and the worker keeps serving. The reference has no such directives: ours only.
import { errorPage, lua, luaErr } from '../lib.mjs';

const RT = 'lua_max_running_time 300ms;';
const MEM = 'lua_max_memory 32m;';
const EXCEEDED = 'lua handler exceeded lua_max_running_time';
// a 500 closes the connection (as nginx does), so the next request comes on a new one
const ok = { request: 'GET /ok', status: 200, body: 'ok\n', newConnection: true };
const withOk = (loc) => `${loc} location /ok { content_by_lua_block { ngx.say("ok") } }`;

export default [
  {
    name: 'an empty endless loop is aborted: 500, the error with its traceback, and the next request is served',
    only: 'ours',
    http: RT,
    server: withOk(lua('while true do end')),
    steps: [
      { request: 'GET /t', status: 500, body: errorPage(500) },
      ok,
    ],
    log: [new RegExp(luaErr('content_by_lua', 1, EXCEEDED).source + '\\nstack traceback:\\ncoroutine 0:\\n\\s+content_by_lua')],
  },
  {
    name: 'a hot loop that LuaJIT compiles is aborted too',
    only: 'ours',
    http: RT,
    server: withOk(lua('local x = 0 for i = 1, 1e15 do x = x + i % 7 end ngx.say(x)')),
    steps: [{ request: 'GET /t', status: 500 }, ok],
    log: [luaErr('content_by_lua', 1, EXCEEDED)],
  },
  {
    name: 'a compiled loop that allocates and calls into C is aborted',
    only: 'ours',
    http: RT,
    server: withOk(lua('local s, t = "", {} while true do s = (s .. "x"):sub(1, 64) t[#t % 50 + 1] = { s } end')),
    steps: [{ request: 'GET /t', status: 500 }, ok],
    log: [luaErr('content_by_lua', 1, EXCEEDED)],
  },
  {
    name: 'pcall cannot keep a runaway handler alive',
    only: 'ours',
    http: RT,
    server: withOk(lua('while true do pcall(function() while true do end end) end')),
    steps: [{ request: 'GET /t', status: 500 }, ok],
    log: [luaErr('content_by_lua', 1, EXCEEDED)],
  },
  {
    name: 'a runaway loop in a function called by the handler names that function in the traceback',
    only: 'ours',
    http: RT,
    server: withOk(lua('local function spin(n) while n > 0 do n = n + 1 end end\nspin(1)')),
    steps: [{ request: 'GET /t', status: 500 }, ok],
    log: [/lua handler exceeded lua_max_running_time\nstack traceback:\ncoroutine 0:\n\s+content_by_lua\(nginx\.conf:\d+\)(:1)?: in (function|upvalue|local) 'spin'\n\s+content_by_lua\(nginx\.conf:\d+\):2: in main chunk/],
  },
  {
    name: 'time spent yielding does not count: a handler that sleeps past the limit in steps completes',
    only: 'ours',
    http: RT,
    server: lua('for i = 1, 5 do ngx.sleep(0.1) end ngx.say("slept")'),
    status: 200,
    body: 'slept\n',
  },
  {
    name: 'the limit applies per resume: work between yields below the limit is fine',
    only: 'ours',
    http: RT,
    server: lua('local x = 0 for j = 1, 4 do local t0 = ngx.now() ngx.update_time() local d = ngx.now() + 0.1 while ngx.now() < d do ngx.update_time() x = x + 1 end ngx.sleep(0) end ngx.say(x > 0)'),
    status: 200,
    body: 'true\n',
  },
  {
    name: 'a runaway rewrite_by_lua is aborted with 500',
    only: 'ours',
    http: RT,
    server: withOk('location /t { rewrite_by_lua_block { while true do end } content_by_lua_block { ngx.say("unreached") } }'),
    steps: [{ request: 'GET /t', status: 500 }, ok],
    log: [luaErr('rewrite_by_lua', 1, EXCEEDED)],
  },
  {
    name: 'a runaway timer is aborted and logged in its context; requests go on',
    only: 'ours',
    http: RT,
    server: withOk(lua('ngx.timer.at(0, function() local x = 0 while true do x = x + 1 end end) ngx.say("started")')),
    steps: [{ request: 'GET /t', status: 200, body: 'started\n' }, ok],
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: lua handler exceeded lua_max_running_time[^]*context: ngx\.timer/],
  },
  {
    name: 'lua_max_memory: a handler allocating without bound fails with not enough memory, the next is served',
    only: 'ours',
    http: MEM,
    server: withOk(lua('local t = {} while true do t[#t + 1] = string.rep("x", 4096) .. #t end')),
    steps: [
      { request: 'GET /t', status: 500, body: errorPage(500) },
      ok,
      { request: 'GET /t', status: 500, newConnection: true },
      ok,
    ],
    log: [/lua entry thread aborted: runtime error: not enough memory\nstack traceback:/],
  },
  {
    name: 'lua_max_memory: a handler under the cap is not disturbed',
    only: 'ours',
    http: MEM,
    server: lua('local t = {} for i = 1, 1000 do t[i] = string.rep("y", 1000) .. i end ngx.say(#t, " ", #table.concat(t))'),
    status: 200,
    body: '1000 1002893\n',
  },
  {
    name: 'both limits off by default: a long computation runs to its end',
    only: 'ours',
    server: lua('local x = 0 local d = ngx.now() + 0.5 while ngx.now() < d do ngx.update_time() x = x + 1 end ngx.say(x > 0)'),
    status: 200,
    body: 'true\n',
  },
  {
    name: 'lua_max_running_time takes a time',
    only: 'ours',
    http: 'lua_max_running_time abc;',
    conf_error: /"lua_max_running_time" directive invalid value/,
  },
];
