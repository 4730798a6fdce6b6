// Our extension under repetition: lua_max_running_time and lua_max_memory abort runaway Lua over
// and over (interpreted and compiled loops of many shapes, and unbounded allocation) while the
// worker stays up and answers a normal request after each one correctly. The stopping of
// compiled code moves the Lua thread out of machine code from a signal handler, so this is the
// test that would show a corrupted VM: a crash, a wrong answer, or a hang.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { get, settle, startNgx, stopAll } from './common.js';

after(stopAll);

const LOOPS = [
  'while true do end',
  'local x = 0 while true do x = x + 1 end',
  'local s = "" while true do s = (s .. "x"):sub(1, 100) end',
  'local t, i = {}, 0 while true do i = i + 1 t[i % 100 + 1] = { i, tostring(i) } end',
  'local n, up = 0, nil local function bump() n = n + 1 up = { n } end while true do bump() end',
  'local t = setmetatable({}, { __index = function(_, k) return k * 2 end }) local x = 0 while true do x = x + t[x % 10] end',
  'local ffi = require "ffi" local b = ffi.new("char[?]", 64) while true do ffi.fill(b, 64, 65) local _ = ffi.string(b, 64) end',
  'while true do local co = coroutine.wrap(function() coroutine.yield(1) end) co() end',
  'local t = {} while true do t[#t + 1] = string.rep("x", 4096) .. #t end',
  'while true do pcall(error, "x") end',
];

test('runaway handlers are aborted again and again; the worker answers correctly after each', async () => {
  const locs = LOOPS.map((code, k) => `location /r${k} { content_by_lua_block { ${code} } }`).join('\n');
  const ngx = await startNgx(`
    lua_max_running_time 50ms;
    lua_max_memory 48m;
    server {
      listen 127.0.0.1:{{PORT}};
      location /ok { content_by_lua_block { local t = {} for i = 1, 1000 do t[i] = i end ngx.say(#table.concat(t, ",")) } }
      ${locs}
    }`);
  const rounds = 6;
  const codes = new Map<number, number>();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < LOOPS.length; k++) {
      const res = await get(ngx.port, `/r${k}`, 10000);
      codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
      assert.equal(res.status, 500, `loop ${k} (round ${r}) should be aborted with 500`);
      const ok = await get(ngx.port, '/ok', 10000);
      assert.deepEqual([ok.status, ok.body], [200, '3892\n'], `normal request after loop ${k} (round ${r})`);
      assert.ok(ngx.alive(), `the worker died after loop ${k} (round ${r})`);
    }
  }
  // the error log is written asynchronously: wait for the last entries
  const aborts = (l: string) => (l.match(/lua entry thread aborted/g) ?? []).length;
  const log = await settle(() => ngx.errorLog(), (l) => aborts(l) >= rounds * LOOPS.length, 5000);
  const timeAborts = (log.match(/lua handler exceeded lua_max_running_time/g) ?? []).length;
  const memAborts = (log.match(/runtime error: not enough memory/g) ?? []).length;
  assert.equal(timeAborts + memAborts, rounds * LOOPS.length, `every abort is logged (${timeAborts} time, ${memAborts} memory)`);
  assert.doesNotMatch(log, /\[(alert|emerg)\]/);
});
