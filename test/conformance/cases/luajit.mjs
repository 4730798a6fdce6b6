// LuaJIT itself, as handlers see it: 5.1 semantics and LuaJIT's extensions, the FFI (cdef,
// structs, metatypes, finalizers, callbacks from C into Lua, libc through ffi.C), module(),
// C modules from lua_package_cpath (Debian's lua-cjson), number formatting and error wording.
import { lua, luaOut, luaErr } from '../lib.mjs';

const CPATH = 'lua_package_cpath "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;";';

export default [
  {
    name: 'the VM is LuaJIT 2.1 with the JIT on',
    server: luaOut(`out(_VERSION, jit.version_num >= 20100, (jit.status()), jit.os, jit.arch, type(jit.opt))`),
    body: 'Lua 5.1 true true Linux x64 table\n',
  },
  {
    name: '5.1 globals: unpack, loadstring, setfenv/getfenv, table.getn, math.pow',
    server: luaOut(`local f = loadstring("return x") setfenv(f, { x = 42 })
      out(f(), getfenv(f).x, unpack({ 1, 2 }), table.getn({ 1, 2, 3 }), math.pow(2, 10), math.fmod(7, 3), select("#", unpack({}, 1, 3)))`),
    body: '42 42 1 3 1024 1 3\n',
  },
  {
    name: 'module() with package.seeall',
    server: luaOut(`local f = loadstring('module("ngxlua_conf_mod", package.seeall) function hello(n) return "hi " .. tostring(n) end')
      f() local m = package.loaded.ngxlua_conf_mod out(m.hello(1), m._NAME, type(m._M), ngxlua_conf_mod == m)`),
    body: 'hi 1 ngxlua_conf_mod table true\n',
  },
  {
    name: 'table.new, table.clear, table.nkeys, table.isempty, table.isarray, table.clone',
    server: luaOut(`local new, clear = require "table.new", require "table.clear"
      local t = new(4, 4) t[1], t[2], t.x = 1, 2, 3 local nkeys, isempty, isarray, clone = require "table.nkeys", require "table.isempty", require "table.isarray", require "table.clone"
      local c = clone(t) out(nkeys(t), isempty(t), isarray(t), isarray({ 1, 2 }), c.x, c ~= t) clear(t) out(nkeys(t), isempty(t), next(t), type(table.new))`),
    body: '3 false false true 3 true\n0 true nil function\n',
  },
  {
    name: 'string.buffer',
    server: luaOut(`local buf = require "string.buffer" local b = buf.new() b:put("a", 1, "b"):putf("%d-%s", 7, "x")
      out(b:tostring(), #b) local s = buf.encode({ k = "v", 1, 2 }) local t = buf.decode(s) out(t.k, t[1], t[2])`),
    body: 'a1b7-x 6\nv 1 2\n',
  },
  {
    name: 'thread.exdata is there',
    server: luaOut(`local exdata = require "thread.exdata" out(type(exdata))`),
    body: 'function\n',
  },
  {
    name: 'bit ops are LuaJIT\'s',
    server: luaOut(`out(bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(5, 3), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.tohex(255), bit.tobit(2^32 + 5), bit.bnot(0), bit.rol(1, 33), bit.bswap(1))`),
    body: '15 3 6 -2147483648 15 -16 000000ff 5 -1 2 16777216\n',
  },
  {
    name: 'numbers print as LuaJIT prints them',
    server: luaOut(`out(10 / 2, 1 / 3, 2^53, 1e15, 1e16, -0.0, 1/0, -1/0, 0.1 + 0.2, 123456789012, 2^63, 7 % -3, -7 % 3)`),
    body: '5 0.33333333333333 9.007199254741e+15 1e+15 1e+16 -0 inf -inf 0.3 123456789012 9.2233720368548e+18 -2 2\n',
  },
  {
    name: 'numbers as ngx.say, ngx.print and ngx.log write them (not tostring\'s): -0 is 0, NaN keeps its sign',
    server: lua(`ngx.say(-0.0, " ", 0/0, " ", 123456789012345, " ", 2^31, " ", -2^31, " ", 1/0) ngx.print({ -0.0, " ", 0.1, "\\n" })
      ngx.say(tostring(-0.0), " ", tostring(123456789012345)) ngx.log(ngx.WARN, "nums: ", -0.0, " ", 0/0, " ", 2.5)`),
    body: '0 -nan 1.2345678901234e+14 2147483648 -2147483648 inf\n0 0.1\n-0 1.2345678901235e+14\n',
    log: [/\[warn\] .*\[lua\] content_by_lua\(nginx\.conf:\d+\):2: nums: 0 -nan 2\.5,/],
  },
  {
    name: 'string coercion in arithmetic and concatenation',
    server: luaOut(`out("10" + 5, "3" * "4", 10 .. 20, "0x10" + 0, tonumber("  12  "), tonumber("1e2"), tonumber("0x1p4"))`),
    body: '15 12 1020 16 12 100 16\n',
  },
  {
    name: 'runtime type errors in LuaJIT\'s words',
    server: luaOut(`local t local ok, e = pcall(function() return t.x end) out(e)
      ok, e = pcall(function() return {} + 1 end) out(e)
      ok, e = pcall(function() local s = "a" return s < 1 end) out(e)
      ok, e = pcall(function() return #nil end) out(e)
      ok, e = pcall(function() undefined_fn() end) out(e)
      ok, e = pcall(function() local x = "x" .. {} end) out(e)`),
    body: /^content_by_lua\(nginx\.conf:\d+\):1: attempt to index upvalue 't' \(a nil value\)\ncontent_by_lua\(nginx\.conf:\d+\):2: attempt to perform arithmetic on a table value\ncontent_by_lua\(nginx\.conf:\d+\):3: attempt to compare string with number\ncontent_by_lua\(nginx\.conf:\d+\):4: attempt to get length of a nil value\ncontent_by_lua\(nginx\.conf:\d+\):5: attempt to call global 'undefined_fn' \(a nil value\)\ncontent_by_lua\(nginx\.conf:\d+\):6: attempt to concatenate a table value\n$/,
  },
  {
    name: 'an uncaught type error: logged with its traceback, 500',
    server: lua(`local t = nil
      local x = t.field`),
    status: 500,
    log: [luaErr('content_by_lua', 2, "attempt to index local 't' \\(a nil value\\)\\nstack traceback:\\ncoroutine 0:\\n\\tcontent_by_lua\\(nginx\\.conf:\\d+\\): in main chunk")],
  },
  {
    name: 'yield across pcall, and inside a metamethod',
    server: luaOut(`local ok, v = pcall(function() ngx.sleep(0.001) return "slept" end) out(ok, v)
      local t = setmetatable({}, { __index = function(_, k) ngx.sleep(0.001) return k .. "!" end }) out(t.key)
      local ok2, e = pcall(error, { code = 1 }) out(ok2, type(e), e.code)`),
    body: 'true slept\nkey!\nfalse table 1\n',
  },
  {
    name: 'ffi: cdef of a struct, ffi.new, fields, arrays, sizeof, offsetof',
    server: luaOut(`local ffi = require "ffi"
      ffi.cdef[[ typedef struct { int32_t x; double y; char name[8]; } conf_point_t; ]]
      local p = ffi.new("conf_point_t", { 3, 4.5, "ab" }) p.x = p.x + 1
      local arr = ffi.new("int[?]", 5, { 1, 2, 3 })
      out(p.x, p.y, ffi.string(p.name), ffi.sizeof("conf_point_t"), ffi.offsetof("conf_point_t", "y"), arr[0] + arr[2], ffi.sizeof(arr))`),
    body: '4 4.5 ab 24 8 4 20\n',
  },
  {
    name: 'ffi: cast, pointers, ffi.string with a length, ffi.copy, ffi.fill, istype, typeof',
    server: luaOut(`local ffi = require "ffi"
      local buf = ffi.new("uint8_t[16]") ffi.fill(buf, 16, 65) ffi.copy(buf, "xyz") local p = ffi.cast("uint8_t *", buf) + 1
      local u = ffi.cast("uint32_t", -1) local i64 = ffi.new("int64_t", 2) ^ 40
      out(ffi.string(buf, 5), p[0], tonumber(u), tostring(i64), ffi.istype("uint8_t[16]", buf), tostring(ffi.typeof("int *")), ffi.cast("intptr_t", ffi.cast("void *", 16)) + 0 == 16)`),
    body: 'xyz\0A 121 4294967295 1099511627776LL true ctype<int *> true\n',
  },
  {
    name: 'ffi: metatype with methods, __index, __tostring, __len, __gc',
    server: luaOut(`local ffi = require "ffi"
      ffi.cdef[[ typedef struct { double x, y; } conf_vec_t; ]]
      local freed = 0
      local V = ffi.metatype("conf_vec_t", { __index = { len = function(v) return math.sqrt(v.x * v.x + v.y * v.y) end },
        __tostring = function(v) return "vec(" .. v.x .. "," .. v.y .. ")" end, __add = function(a, b) return ffi.new("conf_vec_t", a.x + b.x, a.y + b.y) end,
        __len = function() return 2 end, __gc = function() freed = freed + 1 end })
      local v = V(3, 4) out(v:len(), tostring(v + V(1, 1)), #v)
      v = nil collectgarbage() collectgarbage() out(freed >= 1)`),
    body: '5 vec(4,5) 2\ntrue\n',
  },
  {
    name: 'ffi.gc with a Lua finalizer and with a C function (free)',
    server: luaOut(`local ffi = require "ffi" ffi.cdef "void *malloc(size_t); void free(void *);"
      local ran = false local p = ffi.gc(ffi.new("int[1]"), function() ran = true end) p = nil collectgarbage() collectgarbage()
      local m = ffi.gc(ffi.C.malloc(64), ffi.C.free) out(ran, m ~= nil) ffi.gc(m, nil) ffi.C.free(m) out("freed")`),
    body: 'true true\nfreed\n',
  },
  {
    name: 'ffi.C: libc functions (strlen, snprintf, getpid, memcmp, strtol)',
    server: luaOut(`local ffi = require "ffi"
      ffi.cdef[[ size_t strlen(const char *); int snprintf(char *, size_t, const char *, ...); int getpid(void); int memcmp(const void *, const void *, size_t); long strtol(const char *, char **, int); ]]
      local C = ffi.C local b = ffi.new("char[32]") local n = C.snprintf(b, 32, "%d-%s-%.2f", ffi.new("int", 7), "x", 1.5)
      out(tonumber(C.strlen("hello")), n, ffi.string(b), C.getpid() > 0, C.memcmp("abc", "abd", 3) < 0, tonumber(C.strtol("ff", nil, 16)))`),
    body: '5 8 7-x-1.50 true true 255\n',
  },
  {
    name: 'ffi: a Lua callback called from C (qsort)',
    server: luaOut(`local ffi = require "ffi"
      ffi.cdef[[ void qsort(void *, size_t, size_t, int (*)(const void *, const void *)); ]]
      local arr = ffi.new("int[6]", { 5, 3, 9, 1, 7, 2 })
      local cmp = ffi.cast("int (*)(const void *, const void *)", function(a, b)
        local x, y = ffi.cast("const int *", a)[0], ffi.cast("const int *", b)[0] return x < y and -1 or x > y and 1 or 0 end)
      ffi.C.qsort(arr, 6, ffi.sizeof("int"), cmp) cmp:free() local t = {} for i = 0, 5 do t[#t + 1] = arr[i] end out(table.concat(t, ","))`),
    body: '1,2,3,5,7,9\n',
  },
  {
    name: 'ffi: OpenSSL from the process (EVP_MD digests through ffi.C)',
    server: luaOut(`local ffi = require "ffi"
      ffi.cdef[[ typedef struct env_md_st EVP_MD; const EVP_MD *EVP_sha256(void); int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type, void *impl); ]]
      local md, n = ffi.new("unsigned char[32]"), ffi.new("unsigned int[1]") ffi.C.EVP_Digest("abc", 3, md, n, ffi.C.EVP_sha256(), nil)
      out(n[0], (ffi.string(md, n[0]):gsub(".", function(c) return string.format("%02x", c:byte()) end)))`),
    body: '32 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n',
  },
  {
    name: 'ffi errors: an unknown symbol, a bad declaration, a bad conversion',
    server: luaOut(`local ffi = require "ffi" local ok, e = pcall(function() return ffi.C.no_such_function_here end) out(ok, (e:gsub("^.-: ", "")))
      ok, e = pcall(ffi.cdef, "int broken(") out(ok, e) ok, e = pcall(ffi.new, "int", "x") out(ok, e)`),
    body: /^false missing declaration for symbol 'no_such_function_here'\nfalse declaration specifier expected near '<eof>'\nfalse cannot convert 'string' to 'int'\n$/,
  },
  {
    name: 'lua-cjson from lua_package_cpath: round trip, null, errors',
    http: CPATH,
    server: luaOut(`local cjson = require "cjson" local t = cjson.decode('{"a":[1,2.5,"x",null,true],"b":{}}')
      out(#t.a, t.a[2], t.a[4] == cjson.null, t.a[5], cjson.encode({ 1, "two", false }), cjson.encode({ n = 10 / 4 }))
      out(pcall(cjson.decode, '{"a":}')) local safe = require "cjson.safe" out(safe.decode("nope"))`),
    body: '5 2.5 true true [1,"two",false] {"n":2.5}\nfalse Expected value but found T_OBJ_END at character 6\nnil Expected value but found invalid token at character 1\n',
  },
  {
    name: 'a missing C module: the loader\'s message lists the cpath',
    http: CPATH,
    server: luaOut(`local ok, e = pcall(require, "no_such_cmod") out(ok, e:find("no file '/usr/lib/x86_64-linux-gnu/lua/5.1/no_such_cmod.so'", 1, true) ~= nil)`),
    body: 'false true\n',
  },
  {
    name: 'coroutine.wrap inside pcall inside a light thread, with sleeps',
    server: luaOut(`local th = ngx.thread.spawn(function() local ok, v = pcall(function()
        local gen = coroutine.wrap(function() for i = 1, 3 do ngx.sleep(0.001) coroutine.yield(i) end end)
        return gen() + gen() + gen() end) return ok, v end)
      out(ngx.thread.wait(th))`),
    body: 'true true 6\n',
  },
];
