// The Lua VM boundary (src/lua/vm.ts): byte strings crossing both ways, numbers, chunk loading
// and error text, and errors raised from JS functions registered with pushFunction.
import { test, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LuaVM, LUA_OK, LUA_ERRRUN, LUA_ERRSYNTAX, T_NUMBER, T_STRING } from '../../src/lua/vm.js';

let vm: LuaVM;
let L: number;

before(async () => {
  vm = await LuaVM.create();
  L = vm.L;
});

/** Compile and pcall `code` (chunk name `name`); returns the status and the first result or error as bytes. */
function run(code: string | Buffer, name = '=test'): { rc: number; out: Buffer | null } {
  const base = vm.top(L);
  let rc = vm.load(L, typeof code === 'string' ? Buffer.from(code, 'latin1') : code, name);
  if (rc === LUA_OK) rc = vm.pcall(L, 0, 1);
  const out = vm.toBuffer(L, -1);
  vm.setTop(L, base);
  return { rc, out };
}

/** Each test starts from an empty stack even when an earlier one failed midway. */
beforeEach(() => {
  if (vm) vm.setTop(L, 0);
});

function runStr(code: string, name?: string): string {
  const r = run(code, name);
  assert.equal(r.rc, LUA_OK, `chunk failed: ${r.out?.toString('latin1')}`);
  return r.out?.toString('latin1') ?? '(nil)';
}

test('LuaVM.create gives a fresh state with the standard libraries', async () => {
  const other = await LuaVM.create();
  assert.notEqual(other.L, 0);
  assert.equal(vm.top(L), 0);
  assert.equal(runStr('return type(string.format) .. type(table.concat) .. type(coroutine.wrap) .. _VERSION'), 'functionfunctionfunctionLua 5.1');
  // two VMs do not share globals
  other.pushStr(other.L, 'mine');
  other.setGlobal(other.L, 'shared_probe');
  assert.equal(runStr('return tostring(shared_probe)'), 'nil');
});

test('pushBytes/toBuffer round-trip all 256 byte values', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  vm.pushBytes(L, all);
  assert.equal(vm.type(L, -1), T_STRING);
  assert.deepEqual(vm.toBuffer(L, -1), all);
  assert.deepEqual(Buffer.from(vm.viewBuffer(L, -1)!), all);
  assert.equal(vm.toStr(L, -1), all.toString('latin1'));
  vm.setGlobal(L, 'bytes');
  assert.equal(vm.top(L), 0);
  // Lua sees exactly these bytes, one per position (NUL included)
  assert.equal(runStr('local n = #bytes for i = 1, n do if bytes:byte(i) ~= i - 1 then return "bad at " .. i end end return "ok " .. n'), 'ok 256');
  // and bytes built in Lua come back out unchanged
  const r = run('local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end return table.concat(t)');
  assert.equal(r.rc, LUA_OK);
  assert.deepEqual(r.out, all);
  // each byte alone, including the lone NUL
  for (let i = 0; i < 256; i++) {
    vm.pushBytes(L, Buffer.of(i));
    const b = vm.toBuffer(L, -1)!;
    vm.pop(L);
    assert.equal(b.length, 1);
    assert.equal(b[0], i);
  }
  vm.pushBytes(L, Buffer.alloc(0));
  assert.deepEqual(vm.toBuffer(L, -1), Buffer.alloc(0));
  vm.pop(L);
});

test('pushBytes/toBuffer round-trip a 1 MiB buffer, also after Lua grows memory', () => {
  const big = randomBytes(1 << 20);
  vm.pushBytes(L, big);
  const back = vm.toBuffer(L, -1)!;
  assert.equal(back.length, big.length);
  assert.ok(back.equals(big));
  vm.setGlobal(L, 'big');
  assert.equal(runStr('return tostring(#big)'), String(1 << 20));
  // a 4 MiB string made in Lua (linear memory may grow: the heap view must follow)
  const r = run('return big:rep(4)');
  assert.equal(r.rc, LUA_OK);
  assert.equal(r.out!.length, 4 << 20);
  for (let i = 0; i < 4; i++) assert.ok(r.out!.subarray(i << 20, (i + 1) << 20).equals(big), `copy ${i}`);
  // a second, larger push reuses the staging buffer after it grew
  const bigger = randomBytes((1 << 20) + 12345);
  vm.pushBytes(L, bigger);
  assert.ok(vm.toBuffer(L, -1)!.equals(bigger));
  vm.pop(L);
  vm.pushNil(L);
  vm.setGlobal(L, 'big');
});

test('pushStr writes latin1: one byte per char', () => {
  const s = 'caf\u00e9 \u00ff\u0000\u0080 end';
  vm.pushStr(L, s);
  assert.deepEqual(vm.toBuffer(L, -1), Buffer.from(s, 'latin1'));
  assert.equal(vm.toStr(L, -1), s);
  vm.setGlobal(L, 'lat');
  assert.equal(runStr('return #lat .. ":" .. lat:byte(4) .. ":" .. lat:byte(6) .. ":" .. lat:byte(7)'), `${s.length}:233:255:0`);
  // a UTF-8 string crosses as its bytes when first encoded to latin1 form
  const utf8 = Buffer.from('\u00e9', 'utf8').toString('latin1');
  vm.pushStr(L, utf8);
  assert.deepEqual(vm.toBuffer(L, -1), Buffer.from([0xc3, 0xa9]));
  vm.pop(L);
});

test('numbers: one double type, integral values are integers', () => {
  const cases: [number, boolean][] = [
    [0, true],
    [5, true],
    [-7, true],
    [Number.MAX_SAFE_INTEGER, true],
    [2 ** 53, true],
    [0.5, false],
    [1e300, true],
    [Infinity, false],
  ];
  for (const [n, isInt] of cases) {
    vm.pushNumber(L, n);
    assert.equal(vm.type(L, -1), T_NUMBER);
    assert.equal(vm.isInteger(L, -1), isInt, `isInteger(${n})`);
    assert.ok(Object.is(vm.toNumber(L, -1), n), `toNumber(${n})`);
    vm.pop(L);
  }
  vm.pushNumber(L, -0);
  assert.ok(Object.is(vm.toNumber(L, -1), -0));
  vm.pop(L);
  vm.load(L, Buffer.from('return 7 % 2, 7 / 2, "12", "x"'), '=n');
  assert.equal(vm.pcall(L, 0, 4), LUA_OK);
  assert.equal(vm.toNumber(L, 1), 1);
  assert.equal(vm.toNumber(L, 2), 3.5);
  assert.equal(vm.toNumberOrNull(L, 3), 12);
  assert.equal(vm.toNumberOrNull(L, 4), null);
  vm.setTop(L, 0);
});

test('number formatting is LuaJIT\'s own (%.14g)', () => {
  assert.equal(runStr('return tostring(10/2)'), '5');
  assert.equal(runStr('return tostring(2^53)'), '9.007199254741e+15');
  assert.equal(runStr('return tostring(1.5)'), '1.5');
  assert.equal(runStr('return tostring(-0.0)'), '-0');
  assert.equal(runStr('return tostring(1e100)'), '1e+100');
  assert.equal(runStr('return tostring(math.huge) .. " " .. tostring(-math.huge) .. " " .. tostring(0/0)'), 'inf -inf nan');
  assert.equal(runStr('return 10/2 .. "|" .. 2^10'), '5|1024');
  assert.equal(runStr('return string.format("%.1f %g %d", 5, 5.0, 5)'), '5.0 5 5');
  // a number converted on the JS side uses the same format
  vm.pushNumber(L, 5);
  assert.equal(vm.toStr(L, -1), '5');
  vm.pop(L);
  vm.pushNumber(L, 2 ** 53);
  assert.equal(vm.toStr(L, -1), '9.007199254741e+15');
  vm.pop(L);
});

test('LuaJIT: the JIT is on, 5.1 semantics and its extensions, FFI into libc and C modules', () => {
  assert.equal(runStr('return _VERSION .. " " .. jit.version .. " " .. tostring((jit.status()))'), 'Lua 5.1 LuaJIT 2.1.0-beta3 true');
  assert.equal(runStr('return type(setfenv) .. type(unpack) .. type(bit.band) .. type(require("table.new")) .. type(require("string.buffer").new)'), 'functionfunctionfunctionfunctionfunction');
  assert.equal(runStr('local ffi = require "ffi" ffi.cdef "size_t strlen(const char *s);" return tostring(tonumber(ffi.C.strlen("hello")))'), '5');
  assert.equal(runStr('return require("cjson").encode({ 1, 2, "x" })'), '[1,2,"x"]');
  // a yield across pcall and a metamethod, which Lua 5.1 itself cannot do
  assert.equal(runStr(`local co = coroutine.wrap(function()
    local ok, v = pcall(function() return coroutine.yield(1) end)
    local t = setmetatable({}, { __index = function(_, k) return coroutine.yield(k) end })
    return tostring(ok) .. v .. t.key
  end)
  co() co("A") return co("B")`), 'trueAB');
});

test('load: chunk names and the text of syntax errors', () => {
  const nm = '=content_by_lua(nginx.conf:12)';
  assert.equal(vm.load(L, Buffer.from('x = = 1'), nm), LUA_ERRSYNTAX);
  assert.equal(vm.toStr(L, -1), "content_by_lua(nginx.conf:12):1: unexpected symbol near '='");
  vm.pop(L);
  assert.equal(vm.load(L, Buffer.from('local a = 1\nlocal b = (\n'), nm), LUA_ERRSYNTAX);
  assert.match(vm.toStr(L, -1)!, /^content_by_lua\(nginx\.conf:12\):3: unexpected symbol near '<eof>'$/);
  vm.pop(L);
  // '@file' chunk names print as the path
  assert.equal(vm.load(L, Buffer.from('return +'), '@/srv/app/handler.lua'), LUA_ERRSYNTAX);
  assert.equal(vm.toStr(L, -1), "/srv/app/handler.lua:1: unexpected symbol near '+'");
  vm.pop(L);
  // a runtime error carries the chunk name and line
  const r = run('local x = 1\nerror("boom")', nm);
  assert.equal(r.rc, LUA_ERRRUN);
  assert.equal(r.out!.toString('latin1'), 'content_by_lua(nginx.conf:12):2: boom');
  // the chunk name shows in debug info
  assert.equal(runStr('return debug.getinfo(1, "S").short_src', nm), 'content_by_lua(nginx.conf:12)');
  // binary chunk text bytes (a non-UTF-8 literal) load unchanged
  const code = Buffer.concat([Buffer.from('return "'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('"')]);
  const b = run(code);
  assert.equal(b.rc, LUA_OK);
  assert.deepEqual(b.out, Buffer.from([0xff, 0xfe, 0x80]));
  assert.equal(vm.top(L), 0);
});

test('error() and argError from a JS function registered with pushFunction', () => {
  vm.pushFunction(L, (L1) => vm.error(L1, 'plain failure'));
  vm.setGlobal(L, 'jsfail');
  vm.pushFunction(L, (L1) => {
    const n = vm.toNumberOrNull(L1, 1);
    if (n === null) return vm.argError(L1, 1, `number expected, got ${vm.typeName(L1, 1)}`);
    vm.pushNumber(L1, n * 2);
    return 1;
  });
  vm.setGlobal(L, 'double');
  vm.pushFunction(L, (L1) => vm.errorRaw(L1, 'no position'));
  vm.setGlobal(L, 'rawfail');

  assert.equal(runStr('return double(21)'), '42');
  // error() prefixes the position of the Lua caller, as luaL_error does
  assert.equal(runStr('local ok, e = pcall(function()\n  jsfail()\nend)\nreturn tostring(ok) .. " " .. e'), 'false test:2: plain failure');
  assert.equal(runStr('local ok, e = pcall(function() double("x") end) return e'), "test:1: bad argument #1 to 'double' (number expected, got string)");
  assert.equal(runStr('local ok, e = pcall(function() double() end) return e'), "test:1: bad argument #1 to 'double' (number expected, got no value)");
  assert.equal(runStr('local ok, e = pcall(function() local t = {m = double} t:m() end) return e'), "test:1: calling 'm' on bad self (number expected, got table)");
  assert.equal(runStr('local ok, e = pcall(rawfail) return e'), 'no position');
  // uncaught: the pcall from JS sees LUA_ERRRUN and the message
  const r = run('jsfail()', '=content_by_lua(nginx.conf:3)');
  assert.equal(r.rc, LUA_ERRRUN);
  assert.equal(r.out!.toString(), 'content_by_lua(nginx.conf:3):1: plain failure');
  // the error crosses coroutine boundaries like any Lua error
  assert.equal(runStr('local co = coroutine.create(function() double({}) end) local ok, e = coroutine.resume(co) return tostring(ok) .. " " .. e'), "false test:1: bad argument #1 to 'double' (number expected, got table)");
  assert.equal(vm.top(L), 0);
});

test('argType, argNum and retNumber: the arguments as the call found them, a number result', () => {
  // describe(a, b, c, d, e): the four slots' types and numbers, read after a nested call
  vm.pushFunction(L, (L1, n) => {
    const before = [1, 2, 3, 4].map((i) => `${vm.argType(i)}:${vm.argNum(i)}`).join(' ');
    // a nested call into Lua that calls a JS function overwrites the slots; they come back
    vm.getGlobal(L1, 'inner');
    vm.pushNumber(L1, 99);
    vm.pcall(L1, 1, 0);
    const after = [1, 2, 3, 4].map((i) => `${vm.argType(i)}:${vm.argNum(i)}`).join(' ');
    vm.pushStr(L1, `${n} ${before}${before === after ? '' : ' CHANGED ' + after}`);
    return 1;
  });
  vm.setGlobal(L, 'describe');
  vm.pushFunction(L, () => vm.retNumber(vm.argNum(1) + 1));
  vm.setGlobal(L, 'inner');
  // a table's [1] when a number (a socket's handle), else 0; strings and nil are not numbers
  assert.equal(runStr('return describe({7}, 2.5, "3", nil, 5)'), '5 5:7 3:2.5 4:0 0:0');
  assert.equal(runStr('return describe({"x"}, -1)'), '2 5:0 3:-1 -1:0 -1:0');
  assert.equal(runStr('return describe(true)'), '1 1:0 -1:0 -1:0 -1:0');
  // retNumber's result is one number, as pushNumber and `return 1` would give
  assert.equal(runStr('local a, b = inner(41) return tostring(a) .. " " .. tostring(b) .. " " .. select("#", inner(1))'), '42 nil 1');
  assert.equal(vm.top(L), 0);
});

test('a JS exception inside a registered function becomes a Lua error, not a crash', () => {
  const seen: unknown[] = [];
  const prev = vm.onInternalError;
  vm.onInternalError = (e) => seen.push(e);
  try {
    vm.pushFunction(L, () => {
      throw new TypeError('kaboom');
    });
    vm.setGlobal(L, 'jsthrow');
    const r = runStr('local ok, e = pcall(jsthrow) return tostring(ok) .. "|" .. e');
    assert.match(r, /^false\|internal error: TypeError: kaboom\n/);
    assert.equal(seen.length, 1);
    assert.equal((seen[0] as Error).message, 'kaboom');
    // uncaught, it fails the pcall from JS the same way
    const u = run('jsthrow()');
    assert.equal(u.rc, LUA_ERRRUN);
    assert.match(u.out!.toString(), /^test:1: internal error: TypeError: kaboom/);
    // inside a coroutine
    const c = runStr('local ok, e = coroutine.resume(coroutine.create(jsthrow)) return tostring(ok) .. "|" .. tostring(e):sub(1, 30)');
    assert.equal(c, 'false|internal error: TypeError: kab');
    // a thrown non-Error value
    vm.pushFunction(L, () => {
      throw 'just a string';
    });
    vm.setGlobal(L, 'jsthrowstr');
    assert.equal(runStr('local ok, e = pcall(jsthrowstr) return tostring(ok) .. "|" .. e'), 'false|internal error: just a string');
    // the VM keeps working
    assert.equal(runStr('return "alive " .. (1 + 1)'), 'alive 2');
    assert.equal(vm.top(L), 0);
  } finally {
    vm.onInternalError = prev;
  }
});

test('a JS function that throws a number raises a Lua error too', () => {
  vm.pushFunction(L, () => {
    throw 42;
  });
  vm.setGlobal(L, 'jsthrownum');
  const r = runStr('local ok, e = pcall(jsthrownum) return tostring(ok) .. "|" .. tostring(e)');
  assert.match(r, /^false\|internal error: 42/);
  assert.equal(runStr('return "alive"'), 'alive');
});
