// ngx.timer.at / every / running_count / pending_count.
// Timer effects are observed by the request that created them (after a sleep clearly longer than
// the timer's delay) or through the error log. Cases that count timers get their own instance
// (a distinct `http` text), so that timers of other cases cannot change the counts.
import { lua, luaOut } from '../lib.mjs';

export default [
  {
    name: 'a timer\'s log lines carry its fake connection\'s number, as the request\'s carry theirs',
    server: lua(`ngx.log(ngx.ERR, "in request")
      ngx.timer.at(0, function() ngx.log(ngx.ERR, "in timer") error("timer boom") end)
      ngx.sleep(0.02) ngx.say("ok")`),
    body: 'ok\n',
    log: [/\[error\] \d+#\d+: \*\d+ \[lua\] content_by_lua\(nginx\.conf:\d+\):1: in request, client: /,
      /\[error\] \d+#\d+: \*\d+ \[lua\] content_by_lua\(nginx\.conf:\d+\):2: in timer, context: ngx\.timer, client: /,
      /\[error\] \d+#\d+: \*\d+ lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):2: timer boom/],
  },
  {
    name: 'at passes premature=false and the arguments',
    server: luaOut(`local got ngx.timer.at(0, function(...) got = {n = select("#", ...), ...} end, "a", 2, nil, true)
      ngx.sleep(0.05) out(got.n, got[1], got[2], got[3], got[4], got[5])`),
    body: '5 false a 2 nil true\n',
  },
  {
    name: 'at returns 1',
    server: luaOut(`out(ngx.timer.at(0.01, function() end))`),
    body: '1\n',
  },
  {
    name: 'delay 0 runs only once the handler yields',
    server: lua(`local ran = false ngx.timer.at(0, function() ran = true end) ngx.say(ran) ngx.sleep(0.02) ngx.say(ran)`),
    body: 'false\ntrue\n',
  },
  {
    name: 'timers fire in delay order',
    server: lua(`local seq = {} ngx.timer.at(0.06, function() seq[#seq + 1] = "slow" end) ngx.timer.at(0.01, function() seq[#seq + 1] = "fast" end)
      ngx.sleep(0.15) ngx.say(table.concat(seq, ","))`),
    body: 'fast,slow\n',
  },
  {
    name: 'timers create timers',
    server: lua(`local seq = {}
      local function step(premature, n) seq[#seq + 1] = n if n < 3 then ngx.timer.at(0, step, n + 1) end end
      ngx.timer.at(0, step, 1) ngx.sleep(0.1) ngx.say(table.concat(seq, ","))`),
    body: '1,2,3\n',
  },
  {
    name: 'timer runs after the request has finished',
    server: lua(`ngx.timer.at(0.02, function() ngx.log(ngx.WARN, "timer after request ran") end) ngx.say("done")`),
    body: 'done\n',
    log: [/timer after request ran/],
  },
  {
    name: 'every runs repeatedly',
    server: lua(`local n, stop = 0, false
      ngx.timer.every(0.01, function(premature, inc) if stop then return end n = n + inc end, 1)
      ngx.sleep(0.2) stop = true ngx.say(n >= 2)`),
    body: 'true\n',
  },
  {
    name: 'every passes premature=false and the arguments',
    server: luaOut(`local got, stop ngx.timer.every(0.01, function(p, a, b) if stop then return end got = {p, a, b} end, "x", 3)
      ngx.sleep(0.1) stop = true out(got[1], got[2], got[3])`),
    body: 'false x 3\n',
  },
  {
    name: 'pending_count and running_count',
    http: 'lua_max_pending_timers 1001;',
    server: luaOut(`out(ngx.timer.pending_count(), ngx.timer.running_count())
      ngx.timer.at(0.05, function() end) ngx.timer.at(0.05, function() end) out(ngx.timer.pending_count(), ngx.timer.running_count())
      ngx.sleep(0.15) out(ngx.timer.pending_count(), ngx.timer.running_count())`),
    body: '0 0\n2 0\n0 0\n',
  },
  {
    name: 'running_count counts a sleeping timer',
    http: 'lua_max_pending_timers 1002;',
    server: luaOut(`local inside ngx.timer.at(0, function() inside = ngx.timer.running_count() ngx.sleep(0.1) end)
      ngx.sleep(0.03) out(inside, ngx.timer.running_count(), ngx.timer.pending_count()) ngx.sleep(0.15) out(ngx.timer.running_count())`),
    body: '1 1 0\n0\n',
  },
  {
    name: 'too many pending timers',
    http: 'lua_max_pending_timers 2;',
    server: luaOut(`out(ngx.timer.at(0.05, function() end)) out(ngx.timer.at(0.05, function() end)) out(ngx.timer.at(0.05, function() end))
      ngx.sleep(0.15) out(ngx.timer.at(0, function() end))`),
    body: '1\n1\nnil too many pending timers\n1\n',
  },
  {
    name: 'too many pending timers for every',
    http: 'lua_max_pending_timers 1;',
    server: luaOut(`out(ngx.timer.at(0.05, function() end)) out(ngx.timer.every(0.05, function() end))`),
    body: '1\nnil too many pending timers\n',
  },
  {
    name: 'lua_max_running_timers not enough',
    http: 'lua_max_running_timers 1;',
    server: lua(`ngx.timer.at(0, function() ngx.sleep(0.1) end) ngx.timer.at(0.02, function() ngx.log(ngx.WARN, "second timer ran") end) ngx.sleep(0.05) ngx.say("ok")`),
    body: 'ok\n',
    log: [/\[alert\].*1 lua_max_running_timers are not enough/],
    noLog: [/second timer ran/],
  },
  {
    name: 'at with one argument',
    server: lua(`ngx.timer.at(0)`),
    status: 500,
    log: [/content_by_lua\(nginx\.conf:\d+\):1: expecting at least 2 arguments but got 1/],
  },
  {
    name: 'every with one argument',
    server: lua(`ngx.timer.every(1)`),
    status: 500,
    log: [/content_by_lua\(nginx\.conf:\d+\):1: expecting at least 2 arguments but got 1/],
  },
  {
    name: 'at with a negative delay runs like delay 0',
    server: luaOut(`local ran = false out(ngx.timer.at(-1, function() ran = true end)) ngx.sleep(0.05) out(ran)`),
    body: '1\ntrue\n',
  },
  {
    name: 'every with zero delay',
    server: lua(`ngx.timer.every(0, function() end)`),
    status: 500,
    log: [/content_by_lua\(nginx\.conf:\d+\):1: delay cannot be zero/],
  },
  {
    name: 'at with a non-function callback',
    server: lua(`ngx.timer.at(0, "f")`),
    status: 500,
    log: [/bad argument #2 to 'at' \(Lua function expected\)/],
  },
  {
    name: 'timer callback error is logged',
    server: lua(`ngx.timer.at(0, function() error("timer boom") end) ngx.say("scheduled")`),
    body: 'scheduled\n',
    log: [/\[error\].*lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: timer boom\nstack traceback:\ncoroutine 0:\n\t\[C\]: in function 'error'\n\tcontent_by_lua\(nginx\.conf:\d+\):1: in function <content_by_lua\(nginx\.conf:\d+\):1>, context: ngx\.timer, client: 127\.0\.0\.1, server: 127\.0\.0\.1:{{PORT}}$/],
  },
  {
    name: 'timer with sleep and light threads',
    server: lua(`local seq = {}
      ngx.timer.at(0, function()
        ngx.thread.spawn(function() ngx.sleep(0.05) seq[#seq + 1] = "slow" end)
        ngx.thread.spawn(function() ngx.sleep(0.01) seq[#seq + 1] = "fast" end)
        seq[#seq + 1] = "timer" end)
      ngx.sleep(0.15) ngx.say(table.concat(seq, ","))`),
    body: 'timer,fast,slow\n',
  },
  {
    name: 'timer user thread error is logged',
    server: lua(`ngx.timer.at(0, function() ngx.thread.spawn(function() error("uthread in timer") end) end) ngx.say("ok")`),
    body: 'ok\n',
    log: [/lua user thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: uthread in timer[\s\S]*context: ngx\.timer/],
  },
  {
    name: 'ngx.ctx is separate in a timer',
    server: luaOut(`ngx.ctx.req = "r" local seen ngx.timer.at(0, function() seen = tostring(ngx.ctx.req) ngx.ctx.timer = "t" end)
      ngx.sleep(0.05) out(seen, ngx.ctx.req, ngx.ctx.timer)`),
    body: 'nil r nil\n',
  },
  {
    name: 'ngx.exit in a timer ends only the timer',
    server: lua(`local seq = {} ngx.timer.at(0, function() seq[#seq + 1] = "a" ngx.exit(0) seq[#seq + 1] = "b" end) ngx.sleep(0.05) ngx.say(table.concat(seq, ","))`),
    body: 'a\n',
  },
  {
    name: 'ngx.req.get_headers in a timer',
    server: lua(`local r ngx.timer.at(0, function() r = {pcall(ngx.req.get_headers)} end) ngx.sleep(0.05) ngx.say(tostring(r[1]), " ", r[2])`),
    body: 'false API disabled in the current context\n',
  },
  {
    name: 'ngx.req.read_body in a timer',
    server: lua(`local r ngx.timer.at(0, function() r = {pcall(ngx.req.read_body)} end) ngx.sleep(0.05) ngx.say(tostring(r[1]), " ", r[2])`),
    body: 'false API disabled in the context of ngx.timer\n',
  },
  {
    name: 'ngx.header in a timer',
    server: lua(`local r ngx.timer.at(0, function() r = {pcall(function() ngx.header["X-T"] = "1" end)} end) ngx.sleep(0.05) ngx.say(tostring(r[1]), " ", r[2])`),
    body: /^false content_by_lua\(nginx\.conf:\d+\):1: API disabled in the current context\n$/,
  },
  {
    name: 'ngx.timer.at in log_by_lua is allowed',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { ngx.timer.at(0, function() ngx.log(ngx.WARN, "timer from log phase") end) } }`,
    body: 'ok\n',
    log: [/timer from log phase/],
  },
  {
    name: 'ngx.timer.at in set_by_lua',
    server: `location /t { set_by_lua_block $x { local ok, err = ngx.timer.at(0, function() ngx.log(ngx.WARN, "timer from set") end) return tostring(ok) } return 200 "$x\\n"; }`,
    body: '1\n',
    log: [/timer from set/],
  },
  {
    name: 'worker not exiting in a timer',
    server: lua(`local r ngx.timer.at(0, function() r = ngx.worker.exiting() end) ngx.sleep(0.05) ngx.say(r)`),
    body: 'false\n',
  },
  {
    name: 'timer created in init_worker_by_lua',
    http: 'init_worker_by_lua_block { ngx.timer.at(0, function(premature, a) IW_TIMER = a .. " " .. tostring(premature) .. " " .. ngx.get_phase() end, "from init_worker") }',
    server: lua(`ngx.sleep(0.05) ngx.say(IW_TIMER)`),
    body: 'from init_worker false timer\n',
  },
  {
    name: 'ngx.timer.at in init_by_lua',
    http: 'init_by_lua_block { INIT_TIMER = {pcall(ngx.timer.at, 0, function() end)} }',
    server: lua(`ngx.say(tostring(INIT_TIMER[1]), " ", INIT_TIMER[2])`),
    body: 'false no request\n',
  },
  {
    name: 'counts in init_worker_by_lua',
    http: 'init_worker_by_lua_block { ngx.timer.at(10, function() end) IW_COUNTS = ngx.timer.pending_count() .. " " .. ngx.timer.running_count() }',
    server: lua(`ngx.say(IW_COUNTS)`),
    body: '1 0\n',
  },
];
