// The coroutine scheduler (src/core/thread.ts) as `ngxlua run -e` drives it: operations that
// suspend (ngx.sleep) inside entry threads, user coroutines nested at any depth, timers, ngx.exit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runLua, cleanup } from '../integration/helpers.js';

after(cleanup);

test('ngx.sleep suspends and resumes the entry thread; Lua state survives the round trip', async () => {
  const r = await runLua(`
    local before = ngx.now()
    local t = {}
    for i = 1, 5 do
      local res = { ngx.sleep(0.001) }
      t[#t + 1] = i .. ":" .. #res
    end
    ngx.sleep(0)
    ngx.say(table.concat(t, ","))
    ngx.say(ngx.now() >= before)
    -- sleep inside pcall (yield across pcall) and return values through it
    ngx.say(pcall(function(a, b) ngx.sleep(0.001) return a + b, "x" end, 2, 3))
  `);
  assert.equal(r.err, '');
  assert.equal(r.out, '1:0,2:0,3:0,4:0,5:0\ntrue\ntrue5x\n');
  assert.equal(r.code, 0);
});

test('user coroutines: yield/resume values pass through ngx.sleep inside the coroutine', async () => {
  const r = await runLua(`
    local co = coroutine.create(function(x)
      ngx.sleep(0.001)
      local y, z = coroutine.yield(x + 1, "first")
      ngx.sleep(0.001)
      local w = coroutine.yield(y * z)
      ngx.sleep(0)
      return "done", w
    end)
    ngx.say(coroutine.resume(co, 1))
    ngx.say(coroutine.status(co))
    ngx.say(coroutine.resume(co, 6, 7))
    ngx.say(coroutine.resume(co, "last"))
    ngx.say(coroutine.status(co))
    ngx.say(coroutine.resume(co))
  `);
  assert.equal(r.err, '');
  assert.equal(r.out, ['true2first', 'suspended', 'true42', 'truedonelast', 'dead', 'falsecannot resume dead coroutine', ''].join('\n'));
});

test('nested user coroutines with ngx.sleep at every level', async () => {
  const r = await runLua(`
    local outer = coroutine.create(function(a)
      local inner = coroutine.create(function(b)
        ngx.sleep(0.001)
        local c = coroutine.yield(b * 10)
        ngx.sleep(0.001)
        return c + 1
      end)
      local ok1, v1 = coroutine.resume(inner, a)
      ngx.sleep(0.001)
      local z = coroutine.yield(v1)
      local ok2, v2 = coroutine.resume(inner, z)
      ngx.sleep(0)
      return ok1, ok2, v2, coroutine.status(inner)
    end)
    ngx.say(coroutine.resume(outer, 4))
    ngx.say(coroutine.resume(outer, 7))
    ngx.say(coroutine.status(outer))

    -- status of the resumer while the child sleeps, and running() inside
    local main = coroutine.running()
    local seen = {}
    local co = coroutine.create(function()
      seen[#seen + 1] = coroutine.status(main)
      ngx.sleep(0.001)
      -- ngx_lua's coroutine table: running() gives the thread only, and there is no isyieldable
      seen[#seen + 1] = coroutine.status(coroutine.running()) .. "/" .. tostring(coroutine.isyieldable)
    end)
    coroutine.resume(co)
    ngx.say(table.concat(seen, " "))

    -- recursion: each level in its own coroutine, sleeping on the way down and up
    local function nest(d)
      if d == 0 then ngx.sleep(0) return 0 end
      local ok, v = coroutine.resume(coroutine.create(nest), d - 1)
      assert(ok, v)
      ngx.sleep(0)
      return v + 1
    end
    ngx.say(nest(40))
  `);
  assert.equal(r.err, '');
  assert.equal(r.out, ['true40', 'truetruetrue8dead', 'dead', 'normal running/nil', '40', ''].join('\n'));
});

test('coroutine.wrap yields values and rethrows errors; coroutine.resume returns false, msg', async () => {
  const r = await runLua(`
    local gen = coroutine.wrap(function(a)
      for i = 1, 3 do ngx.sleep(0.001) a = coroutine.yield(a + i) end
      return "end"
    end)
    ngx.say(gen(10), " ", gen(20), " ", gen(30), " ", gen(40))
    ngx.say(pcall(gen))

    -- as in ngx_lua, resuming a dead wrapped coroutine returns false, msg instead of raising
    local w = coroutine.wrap(function() ngx.sleep(0.001) return 1 end)
    w()
    ngx.say(w())

    local c = coroutine.create(function() ngx.sleep(0.001) error("bad") end)
    ngx.say(coroutine.resume(c))
    ngx.say(coroutine.status(c))

    -- an error deep inside nested coroutines comes back to the level that resumed it
    local a = coroutine.create(function()
      local b = coroutine.create(function() ngx.sleep(0.001) local t = nil; return t.x end)
      local ok2, e2 = coroutine.resume(b)
      ngx.sleep(0.001)
      return ok2, e2
    end)
    ngx.say(coroutine.resume(a))
    ngx.say(coroutine.resume(coroutine.create(function() error("no sleep") end)))
  `);
  assert.equal(r.err, '');
  const lines = r.out.split('\n');
  assert.deepEqual(lines, [
    '11 22 33 end',
    'truefalsecannot resume dead coroutine',
    'falsecannot resume dead coroutine',
    'false(command line -e):14: bad',
    'dead',
    // errors coming back from coroutines are worded as LuaJIT words them
    "truefalse(command line -e):20: attempt to index local 't' (a nil value)",
    'false(command line -e):26: no sleep',
    '',
  ]);
});

test('a coroutine waiting on an operation cannot be resumed from elsewhere', async () => {
  const r = await runLua(`
    local co = coroutine.create(function() ngx.sleep(0.05) return "co done" end)
    ngx.timer.at(0.005, function() ngx.say("timer: ", coroutine.resume(co)) end)
    ngx.say("main: ", coroutine.resume(co))
    ngx.say(coroutine.status(co))
  `);
  assert.equal(r.err, '');
  assert.equal(r.out, 'timer: falsecannot resume running coroutine\nmain: trueco done\ndead\n');
});

test('a bare coroutine.yield() in the entry thread resumes it later', async () => {
  const r = await runLua(`ngx.say("a") coroutine.yield() ngx.say("b") coroutine.yield(1, 2) ngx.say("c")`);
  assert.equal(r.err, '');
  assert.equal(r.out, 'a\nb\nc\n');
});

test('ngx.timer.at: arguments, premature, counts, sleeping inside the callback', async () => {
  const r = await runLua(`
    local ok, err = ngx.timer.at(0.2, function(premature, a, b, c, d)
      ngx.say("t1 ", tostring(premature), " ", a, " ", b, " ", tostring(c), " ", type(d), " ", d[1])
    end, "x", 42, nil, { "tbl" })
    ngx.say(ok, " ", tostring(err))
    ngx.timer.at(0, function(p, ...) ngx.say("t2 nargs=", select("#", ...)) end)
    ngx.timer.at(0, function(p)
      ngx.sleep(0.002)
      local co = coroutine.wrap(function() ngx.sleep(0.001) return "co in timer" end)
      ngx.say("t3 ", co())
    end)
    ngx.say("pending ", ngx.timer.pending_count(), " running ", ngx.timer.running_count())
    ngx.sleep(0.001)
    ngx.say("pending ", ngx.timer.pending_count())
    ngx.sleep(0.1)
    ngx.say("pending ", ngx.timer.pending_count(), " running ", ngx.timer.running_count())
    ngx.sleep(0.3)
    ngx.say("pending ", ngx.timer.pending_count(), " running ", ngx.timer.running_count())
  `);
  assert.equal(r.err, '');
  assert.deepEqual(r.out.split('\n'), [
    '1 nil',
    'pending 3 running 0',
    't2 nargs=0',
    'pending 1',
    't3 co in timer',
    'pending 1 running 0',
    't1 false x 42 nil table tbl',
    'pending 0 running 0',
    '',
  ]);
});

test('ngx.timer.at argument errors', async () => {
  const r = await runLua(`
    ngx.say(pcall(ngx.timer.at))
    ngx.say(pcall(ngx.timer.at, -1, print))
    ngx.say(select(2, pcall(ngx.timer.at, 0, "notfn")):match("Lua function expected") ~= nil)
    ngx.say(pcall(ngx.sleep))
    ngx.say(pcall(ngx.sleep, -1))
  `);
  assert.equal(r.err, '');
  assert.deepEqual(r.out.split('\n'), [
    'falseexpecting at least 2 arguments but got 0',
    'true1', // like the reference, a negative delay runs as delay 0
    'true',
    'falseattempt to pass 0 arguments, but accepted 1',
    'falseinvalid sleep duration "-1000"',
    '',
  ]);
});

test('an error in a timer callback is logged and does not end the run', async () => {
  const r = await runLua(`ngx.timer.at(0, function() error("tboom") end) ngx.sleep(0.01) ngx.say("ok")`);
  assert.equal(r.out, 'ok\n');
  assert.equal(r.code, 0);
  assert.match(r.err, /\[error\] \d+#\d+: \*\d+ lua entry thread aborted: runtime error: \(command line -e\):1: tboom\nstack traceback:\ncoroutine 0:\n/);
  assert.match(r.err, /context: ngx\.timer/);
});

test('ngx.exit ends the run, from the entry thread or from inside nested coroutines', async () => {
  const [a, b, c, d] = await Promise.all([
    runLua(`ngx.say("before") ngx.exit(0) ngx.say("after")`),
    runLua(`
      local co = coroutine.create(function()
        local inner = coroutine.wrap(function()
          ngx.sleep(0.001)
          ngx.say("inner before exit")
          ngx.exit(3)
          ngx.say("inner after")
        end)
        inner()
        ngx.say("co after")
      end)
      ngx.say("resume: ", coroutine.resume(co))
      ngx.say("main after")
    `),
    runLua(`
      local co = coroutine.wrap(function() ngx.say("no sleep") ngx.exit(0) ngx.say("x") end)
      co()
      ngx.say("main after")
    `),
    // ngx.exit in a timer ends only the timer
    runLua(`
      ngx.timer.at(0, function(p, x) ngx.say("timer ", x) ngx.exit(0) ngx.say("timer after") end, "a")
      ngx.sleep(0.01)
      ngx.say("main continues")
    `),
  ]);
  assert.equal(a.out, 'before\n');
  assert.equal(a.code, 0);
  assert.equal(b.out, 'inner before exit\n');
  assert.equal(b.code, 3);
  assert.equal(b.err, '');
  assert.equal(c.out, 'no sleep\n');
  assert.equal(c.code, 0);
  assert.equal(d.out, 'timer a\nmain continues\n');
  assert.equal(d.code, 0);
});

test('an uncaught error ends the run with status 1 and a traceback on stderr', async () => {
  const r = await runLua(`ngx.say("out first") ngx.sleep(0.001) local t = {} t.x.y = 1`);
  assert.equal(r.out, 'out first\n');
  assert.equal(r.code, 1);
  assert.match(r.err, /^ERROR: \(command line -e\):1: attempt to index field 'x' \(a nil value\)\nstack traceback:\ncoroutine 0:\n\t\(command line -e\): in main chunk/);
});

test('ngx.sleep where Lua cannot yield (a C-call boundary) raises an error', async () => {
  const r = await runLua(`
    local ok, e = pcall(table.sort, { 3, 1, 2 }, function(a, b) ngx.sleep(0) return a < b end)
    ngx.say(ok, " ", e)
    ngx.say(pcall(string.gsub, "ab", ".", function(c) ngx.sleep(0) return c end))
    ngx.say("still running")
  `);
  assert.equal(r.err, '');
  assert.equal(r.code, 0);
  assert.deepEqual(r.out.split('\n'), ['false attempt to yield across C-call boundary', 'falseattempt to yield across C-call boundary', 'still running', '']);
});

test(
  'a refused yield leaves no operation behind: the next ngx.sleep lasts until its own timer',
  {},
  async () => {
    const r = await runLua(`
      local fired = false
      ngx.timer.at(0.05, function() fired = true end)
      pcall(table.sort, { 3, 1, 2 }, function(a, b) ngx.sleep(0) return a < b end)
      ngx.sleep(0.3)
      ngx.say("timer fired before the sleep ended: ", fired)
    `);
    assert.equal(r.err, '');
    assert.equal(r.out, 'timer fired before the sleep ended: true\n');
  },
);

test('an error in a coroutine.wrap function ends the caller past pcall, as in ngx_lua', async () => {
  const r = await runLua(`
    local w = coroutine.wrap(function() ngx.sleep(0.001) error("boom") end)
    ngx.say(pcall(w))
    ngx.say("not reached")
  `);
  assert.equal(r.out, '');
  assert.match(r.err, /boom/);
});
