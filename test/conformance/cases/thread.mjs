// Light threads: ngx.thread.spawn / wait / kill.
import { lua, luaOut, OUT } from '../lib.mjs';

const userErr = (phase, line, msg) =>
  new RegExp(`lua user thread aborted: runtime error: ${phase}\\(nginx\\.conf:\\d+\\):${line}: ${msg}`);

export default [
  {
    name: 'spawn runs the child first',
    server: lua(`ngx.thread.spawn(function() ngx.say("child") end) ngx.say("parent")`),
    body: 'child\nparent\n',
  },
  {
    name: 'child runs until its first yield',
    server: lua(`ngx.thread.spawn(function() ngx.say("c1") ngx.sleep(0.01) ngx.say("c2") end) ngx.say("p1") ngx.sleep(0.1) ngx.say("p2")`),
    body: 'c1\np1\nc2\np2\n',
  },
  {
    name: 'spawn passes arguments to the child',
    server: luaOut(`local t = ngx.thread.spawn(function(a, b, c) return c, b, a end, 1, "two", nil) out(ngx.thread.wait(t))`),
    body: 'true nil two 1\n',
  },
  {
    name: 'spawn returns a thread object',
    server: lua(`local t = ngx.thread.spawn(function() end) ngx.say(type(t)) ngx.say(coroutine.status(t))`),
    body: 'thread\nzombie\n', // a finished, not yet waited thread
  },
  {
    name: 'wait returns the results of a sleeping child',
    server: luaOut(`local t = ngx.thread.spawn(function() ngx.sleep(0.01) return "a", 2, false end) out(ngx.thread.wait(t))`),
    body: 'true a 2 false\n',
  },
  {
    name: 'wait on a thread that already finished',
    server: luaOut(`local t = ngx.thread.spawn(function() return "done" end) ngx.sleep(0.01) out(ngx.thread.wait(t))`),
    body: 'true done\n',
  },
  {
    name: 'wait returns the first of several to finish',
    server: luaOut(`local slow = ngx.thread.spawn(function() ngx.sleep(0.1) return "slow" end)
      local fast = ngx.thread.spawn(function() ngx.sleep(0.01) return "fast" end)
      out(ngx.thread.wait(slow, fast)) out(ngx.thread.wait(slow))`),
    body: 'true fast\ntrue slow\n',
  },
  {
    name: 'wait on several picks an already finished one',
    server: luaOut(`local a = ngx.thread.spawn(function() ngx.sleep(0.1) return "a" end)
      local b = ngx.thread.spawn(function() return "b" end)
      out(ngx.thread.wait(a, b))`),
    body: 'true b\n',
  },
  {
    name: 'waiting twice',
    server: luaOut(`local t = ngx.thread.spawn(function() return 1 end) out(ngx.thread.wait(t)) out(ngx.thread.wait(t))`),
    body: 'true 1\nnil already waited or killed\n',
  },
  {
    name: 'wait on a thread that raised an error',
    server: luaOut(`local t = ngx.thread.spawn(function() error("oops") end) out(ngx.thread.wait(t))`),
    body: /^false oops content_by_lua\(nginx\.conf:\d+\):1: oops\n$/, // three values: false, the raw error value, the message
    log: [userErr('content_by_lua', 1, 'oops')],
  },
  {
    name: 'wait on a thread that raised a table',
    server: luaOut(`local t = ngx.thread.spawn(function() error({}) end) local ok, e = ngx.thread.wait(t) out(ok, type(e))`),
    body: 'false table\n',
    allowLog: [/lua user thread aborted/],
  },
  {
    name: 'wait with no arguments',
    server: lua(`ngx.thread.wait()`),
    status: 500,
    log: [/content_by_lua\(nginx\.conf:\d+\):1: at least one coroutine should be specified/],
  },
  {
    name: 'wait on a non-thread',
    server: lua(`ngx.thread.wait("x")`),
    status: 500,
    log: [/bad argument #1 to 'wait' \(lua thread expected\)/],
  },
  {
    name: 'only the parent can wait',
    server: luaOut(`local t1 = ngx.thread.spawn(function() ngx.sleep(0.1) return 1 end)
      local t2 = ngx.thread.spawn(function() return pcall(ngx.thread.wait, t1) end)
      out(ngx.thread.wait(t2)) out(ngx.thread.wait(t1))`),
    body: 'true false only the parent coroutine can wait on the thread\ntrue 1\n',
  },
  {
    name: 'spawn of a non-function',
    server: lua(`ngx.thread.spawn(42)`),
    status: 500,
    log: [/bad argument #1 to 'spawn' \(Lua function expected\)/],
  },
  {
    name: 'spawn with no arguments',
    server: lua(`ngx.thread.spawn()`),
    status: 500,
    log: [/bad argument #1 to 'spawn'/],
  },
  {
    name: 'kill a sleeping thread cancels the sleep',
    server: luaOut(`local t = ngx.thread.spawn(function() ngx.sleep(0.05) ngx.say("never") end) out(ngx.thread.kill(t)) ngx.sleep(0.1) out("after")`),
    body: '1\nafter\n', // kill returns 1
  },
  {
    name: 'kill then wait',
    server: luaOut(`local t = ngx.thread.spawn(function() ngx.sleep(1) end) out(ngx.thread.kill(t)) out(ngx.thread.wait(t))`),
    body: '1\nnil already waited or killed\n',
  },
  {
    name: 'kill twice',
    server: luaOut(`local t = ngx.thread.spawn(function() ngx.sleep(1) end) out(ngx.thread.kill(t)) out(ngx.thread.kill(t))`),
    body: '1\nnil already waited or killed\n',
  },
  {
    name: 'kill a finished thread that was waited',
    server: luaOut(`local t = ngx.thread.spawn(function() return 1 end) ngx.thread.wait(t) out(ngx.thread.kill(t))`),
    body: 'nil already waited or killed\n',
  },
  {
    name: 'kill a finished thread not yet waited',
    server: luaOut(`local t = ngx.thread.spawn(function() return 1 end) out(ngx.thread.kill(t)) out(ngx.thread.wait(t))`),
    body: 'nil already terminated\nnil already waited or killed\n', // the failed kill still reaps it
  },
  {
    name: 'kill from a sibling',
    server: luaOut(`local t1 = ngx.thread.spawn(function() ngx.sleep(0.1) return "alive" end)
      local t2 = ngx.thread.spawn(function() return ngx.thread.kill(t1) end)
      out(ngx.thread.wait(t2)) out(ngx.thread.wait(t1))`),
    body: 'true nil killer not parent\ntrue alive\n',
  },
  {
    name: 'kill the entry thread',
    server: luaOut(`local t = ngx.thread.spawn(function() return ngx.thread.kill(coroutine.running()) end) out(ngx.thread.wait(t))`),
    body: 'true nil killer not parent\n',
  },
  {
    name: 'kill a non-thread',
    server: lua(`ngx.thread.kill({})`),
    status: 500,
    log: [/bad argument #1 to 'kill' \(lua thread expected\)/],
  },
  {
    name: 'threads of threads',
    server: luaOut(`local t = ngx.thread.spawn(function()
        local g = ngx.thread.spawn(function() ngx.sleep(0.01) return "grandchild" end)
        local ok, v = ngx.thread.wait(g) return "child+" .. v end)
      out(ngx.thread.wait(t))`),
    body: 'true child+grandchild\n',
  },
  {
    name: 'grandchild output ordering',
    server: lua(`ngx.thread.spawn(function() ngx.say("c") ngx.thread.spawn(function() ngx.say("g1") ngx.sleep(0.01) ngx.say("g2") end) ngx.say("c2") end) ngx.say("p") ngx.sleep(0.1) ngx.say("p2")`),
    body: 'c\ng1\np\nc2\ng2\np2\n', // the entry runs before the child gets its spawn result
  },
  {
    name: 'grandparent cannot wait on a grandchild',
    server: luaOut(`local g
      local t = ngx.thread.spawn(function() g = ngx.thread.spawn(function() ngx.sleep(0.1) return 1 end) end)
      ngx.sleep(0.005) out(type(g)) out(pcall(ngx.thread.wait, g))`),
    body: 'thread\nfalse only the parent coroutine can wait on the thread\n',
  },
  {
    name: 'interleaved output of two sleeping threads',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.1) ngx.say("slow") end) ngx.thread.spawn(function() ngx.sleep(0.01) ngx.say("fast") end) ngx.say("entry")`),
    body: 'entry\nfast\nslow\n',
  },
  {
    name: 'entry returns while children still run',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.05) ngx.say("late child") end) ngx.say("entry done")`),
    body: 'entry done\nlate child\n',
  },
  {
    name: 'entry returns while a grandchild still runs',
    server: lua(`ngx.thread.spawn(function() ngx.thread.spawn(function() ngx.sleep(0.05) ngx.say("grandchild") end) end) ngx.say("entry")`),
    body: 'entry\ngrandchild\n',
  },
  {
    name: 'ngx.exit from a child kills the others',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.1) ngx.say("never") end)
      ngx.thread.spawn(function() ngx.sleep(0.01) ngx.say("exiting") ngx.exit(200) end)
      ngx.say("entry") ngx.sleep(0.2) ngx.say("never either")`),
    body: 'entry\nexiting\n',
  },
  {
    name: 'ngx.exit with an error status from a child before output',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.1) ngx.say("never") end)
      ngx.thread.spawn(function() ngx.sleep(0.01) ngx.exit(403) end)
      ngx.sleep(0.2) ngx.say("never either")`),
    status: 403,
  },
  {
    name: 'ngx.exit in the entry kills pending children',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.05) ngx.say("never") end) ngx.say("entry") ngx.exit(200)`),
    body: 'entry\n',
  },
  {
    name: 'child error is logged and the request continues',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.01) error("child boom") end) ngx.sleep(0.1) ngx.say("still here")`),
    body: 'still here\n',
    log: [userErr('content_by_lua', 1, 'child boom')],
  },
  {
    name: 'child error before its first yield',
    server: lua(`ngx.thread.spawn(function() ngx.say("c") error("early") end) ngx.say("p")`),
    body: 'c\np\n',
    log: [userErr('content_by_lua', 1, 'early')],
  },
  {
    name: 'entry error while a child runs',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.05) ngx.log(ngx.WARN, "child woke") end) error("entry boom")`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: entry boom/],
    noLog: [/child woke/],
  },
  {
    name: 'entry error after output while a child runs',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.05) ngx.say("child") end) ngx.say("entry") ngx.flush(true) ngx.sleep(0.01) error("entry boom")`),
    status: 200,
    body: 'entry\n',
    incomplete: true,
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: entry boom/],
  },
  {
    name: 'threads in rewrite and access',
    server: `location /t {
      rewrite_by_lua_block { local t = ngx.thread.spawn(function() ngx.sleep(0.01) return "rw" end) local _, v = ngx.thread.wait(t) ngx.ctx.r = v }
      access_by_lua_block { local t = ngx.thread.spawn(function() return "ac" end) local _, v = ngx.thread.wait(t) ngx.ctx.a = v }
      content_by_lua_block { ngx.say(ngx.ctx.r, " ", ngx.ctx.a) } }`,
    body: 'rw ac\n',
  },
  {
    name: 'rewrite phase waits for its children before access',
    server: `location /t {
      rewrite_by_lua_block { ngx.thread.spawn(function() ngx.sleep(0.02) ngx.ctx.order = (ngx.ctx.order or "") .. "child," end) ngx.ctx.order = "entry," }
      access_by_lua_block { ngx.ctx.order = ngx.ctx.order .. "access" }
      content_by_lua_block { ngx.say(ngx.ctx.order) } }`,
    body: 'entry,child,access\n',
  },
  {
    name: 'threads in a timer',
    server: lua(`local res = {}
      ngx.timer.at(0, function()
        local t1 = ngx.thread.spawn(function() ngx.sleep(0.02) return "b" end)
        local t2 = ngx.thread.spawn(function() return "a" end)
        local _, x = ngx.thread.wait(t1, t2) local _, y = ngx.thread.wait(t1) res[1] = x .. y end)
      ngx.sleep(0.1) ngx.say(res[1])`),
    body: 'ab\n',
  },
  {
    name: 'ngx.thread.spawn in log_by_lua',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { ngx.thread.spawn(function() end) } }`,
    body: 'ok\n',
    log: [/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of log_by_lua\*/],
  },
  {
    name: 'ngx.thread.spawn in header_filter_by_lua',
    server: `location /t { return 200 "ok\\n"; header_filter_by_lua_block { ngx.thread.spawn(function() end) } }`,
    noResponse: true,
    log: [/failed to run header_filter_by_lua\*: header_filter_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of header_filter_by_lua\*/],
  },
  {
    name: 'ngx.thread.spawn in set_by_lua',
    server: `location /t { set_by_lua_block $x { ngx.thread.spawn(function() end) return 1 } content_by_lua_block { ngx.say("no") } }`,
    status: 500,
    log: [/failed to run set_by_lua\*: set_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of set_by_lua\*/],
  },
  {
    name: 'ngx.thread.wait in log_by_lua',
    server: `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { ngx.thread.wait(coroutine.running()) } }`,
    body: 'ok\n',
    log: [/API disabled in the context of log_by_lua\*/],
  },
  {
    name: 'many threads finish in sleep order',
    server: lua(`local ts, seen = {}, {} for i = 1, 5 do ts[i] = ngx.thread.spawn(function() ngx.sleep(0.02 * (6 - i)) seen[#seen + 1] = i end) end
      for i = 1, 5 do ngx.thread.wait(ts[i]) end
      ngx.say(table.concat(seen, ","))`),
    body: '5,4,3,2,1\n',
  },
  {
    name: 'wait on several with a waited thread first, then last',
    server: luaOut(`local a = ngx.thread.spawn(function() return "a" end) local b = ngx.thread.spawn(function() ngx.sleep(0.01) return "b" end)
      out(ngx.thread.wait(a)) out(ngx.thread.wait(a, b)) out(ngx.thread.wait(b, a))`),
    body: 'true a\ntrue b\nnil already waited or killed\n',
  },
  {
    name: 'wait on a killed thread among others',
    server: luaOut(`local a = ngx.thread.spawn(function() ngx.sleep(1) end) local b = ngx.thread.spawn(function() ngx.sleep(0.01) return "b" end)
      ngx.thread.kill(a) out(ngx.thread.wait(a, b))`),
    body: 'true b\n',
  },
  {
    name: 'coroutine.status of a sleeping thread',
    server: lua(`local t = ngx.thread.spawn(function() ngx.sleep(0.01) end) ngx.say(coroutine.status(t)) ngx.thread.wait(t) ngx.say(coroutine.status(t))`),
    body: 'running\ndead\n', // the reference reports a sleeping light thread as running
  },
  {
    name: 'coroutine.yield in a light thread yields to the scheduler',
    server: lua(`ngx.thread.spawn(function() ngx.say("a") coroutine.yield() ngx.say("b") end) ngx.say("p") ngx.sleep(0.01) ngx.say("p2")`),
    body: 'a\np\nb\np2\n',
  },
  {
    name: 'ngx.exit(403) from a child in access',
    server: `location /t { access_by_lua_block { ngx.thread.spawn(function() ngx.sleep(0.01) ngx.exit(403) end) ngx.sleep(0.1) } content_by_lua_block { ngx.say("content") } }`,
    status: 403,
  },
  {
    name: 'ngx.exit from a child after the entry returned',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.02) ngx.say("child exits") ngx.exit(200) end) ngx.say("entry returns")`),
    body: 'entry returns\nchild exits\n',
  },
  {
    name: 'ngx.exit with a status after a child sent output',
    server: lua(`ngx.thread.spawn(function() ngx.say("child") ngx.exit(404) end) ngx.say("never")`),
    status: 200,
    body: 'child\n',
    log: [/attempt to set status 404 via ngx\.exit after sending out the response status 200/],
  },
  {
    name: 'ngx.exec from a child in rewrite',
    server: `location /t { rewrite_by_lua_block { ngx.thread.spawn(function() ngx.sleep(0.01) ngx.exec("/other") end) ngx.sleep(0.1) } content_by_lua_block { ngx.say("t") } }
      location /other { content_by_lua_block { ngx.say("other") } }`,
    body: 'other\n',
  },
  {
    name: 'ngx.redirect from a child',
    server: lua(`ngx.thread.spawn(function() ngx.sleep(0.01) ngx.redirect("/x") end) ngx.sleep(0.1) ngx.say("no")`),
    status: 302,
    headers: { location: '/x' },
  },
  {
    name: 'wait then ngx.exit from the entry',
    server: lua(`local t = ngx.thread.spawn(function() ngx.sleep(0.01) ngx.say("child") end) ngx.thread.wait(t) ngx.exit(ngx.HTTP_OK)`),
    body: 'child\n',
  },
  {
    name: 'ngx.thread.spawn in body_filter_by_lua',
    server: `location /t { content_by_lua_block { ngx.say("ok") } body_filter_by_lua_block { ngx.thread.spawn(function() end) } }`,
    noResponse: true,
    log: [/failed to run body_filter_by_lua\*: body_filter_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of body_filter_by_lua\*/],
  },
  {
    name: 'ngx.thread.wait on a plain coroutine, ngx.thread.kill on the entry thread',
    server: luaOut(`local co = coroutine.create(function() end) out(pcall(ngx.thread.wait, co)) out(ngx.thread.kill(coroutine.running()))`),
    body: /^false content_by_lua\(nginx\.conf:\d+\):1: attempt to wait on a coroutine that is not a user thread\nnil not user thread\n$|^false attempt to wait on a coroutine that is not a user thread\nnil not user thread\n$/,
  },
];
