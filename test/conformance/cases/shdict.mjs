// ngx.shared.DICT (lua_shared_dict): values, flags, expiry, add/replace/incr, lists, flushing,
// keys, capacity and the LRU "no memory" model. Every case shares one instance (one http text),
// so each uses its own keys, or a dict of its own when it looks at the whole zone.
import { luaOut, luaErr } from '../lib.mjs';

const http = 'lua_shared_dict d 1m; lua_shared_dict small 12k; lua_shared_dict fa 1m; ' +
  'lua_shared_dict gk 1m; lua_shared_dict fs 1m; lua_shared_dict ev 12k; lua_shared_dict sf 12k; ' +
  'lua_shared_dict seeded 1m; lua_shared_dict fe 1m; lua_shared_dict lp 64k; ' +
  'init_by_lua_block { ngx.shared.seeded:set("from_init", "seed", 0, 4) ngx.shared.seeded:rpush("l", "a") }';
const D = 'local d = ngx.shared.d ';
const c = (name, code, body, extra = {}) => ({ name, http, server: luaOut(D + code), body, ...extra });

export default [
  c('set returns true, nil, forcible false', `out(d:set("c1", "v"))`, 'true nil false\n'),
  c('integers and floats come back as stored', `d:set("c2i", 1) d:set("c2f", 1.5) d:set("c2n", -3) out(d:get("c2i"), d:get("c2f"), d:get("c2n"))`, '1 1.5 -3\n'),
  c('large and special numbers', `d:set("c3a", 2^53) d:set("c3b", 1e300) d:set("c3c", math.huge) d:set("c3d", -math.huge) out(d:get("c3a"), d:get("c3b"), d:get("c3c"), d:get("c3d"))`, '9.007199254741e+15 1e+300 inf -inf\n'),
  c('get of a missing key is one nil', `out(select("#", d:get("c4")), d:get("c4"))`, '1 nil\n'),
  c('flags: returned only when not 0', `d:set("c5a", "v", 0, 7) d:set("c5b", "v", 0, 0) out(d:get("c5a")) out(select("#", d:get("c5b")))`, 'v 7\n1\n'),
  c('flags are converted to a C int', `d:set("c6a", 1, 0, 1.7) d:set("c6b", 1, 0, -1) d:set("c6c", 1, 0, nil) out(d:get("c6a")) out(d:get("c6b")) out(select("#", d:get("c6c")))`, '1 1\n1 -1\n1\n'),
  c('get_stale on a live key', `d:set("c7a", "v") d:set("c7b", "w", 0, 3) out(d:get_stale("c7a")) out(d:get_stale("c7b")) out(select("#", d:get_stale("c7none")))`, 'v nil false\nw 3 false\n1\n'),
  c('expired: get is nil, get_stale gives the value and stale', `d:set("c8", "old", 0.001, 3) ngx.sleep(0.01) out(select("#", d:get("c8")), d:get("c8")) out(d:get_stale("c8"))`, '1 nil\nold 3 true\n'),
  c('booleans', `d:set("c9t", true) d:set("c9f", false) out(d:get("c9t"), d:get("c9f"), type(d:get("c9f")))`, 'true false boolean\n'),
  c('string values are bytes', `d:set("c10", "a\\0b\\255") local v = d:get("c10") out(#v, v:byte(1), v:byte(2), v:byte(3), v:byte(4))`, '4 97 0 98 255\n'),
  c('empty string value', `d:set("c11", "") out(d:get("c11") == "", type(d:get("c11")))`, 'true string\n'),
  c('binary keys', `d:set("c12\\0x", 1) out(d:get("c12\\0x"), d:get("c12"))`, '1 nil\n'),
  c('set nil deletes', `d:set("c13", 1) out(d:set("c13", nil)) out(d:get("c13"))`, 'true nil false\nnil\n'),
  c('delete returns like set and removes', `d:set("c14", 1) out(d:delete("c14")) out(d:get("c14")) out(d:delete("c14"))`, 'true nil false\nnil\ntrue nil false\n'),
  c('add: new key, then exists', `out(d:add("c15", "a")) out(d:add("c15", "b")) out(d:get("c15"))`, 'true nil false\nfalse exists false\na\n'),
  c('add over an expired key', `d:set("c16", "a", 0.001) ngx.sleep(0.01) out(d:add("c16", "b")) out(d:get("c16"))`, 'true nil false\nb\n'),
  c('safe_add and safe_set', `out(d:safe_add("c17", 1)) out(d:safe_add("c17", 2)) out(d:safe_set("c17", 3)) out(d:get("c17"))`, 'true nil false\nfalse exists false\ntrue nil false\n3\n'),
  c('replace: existing, missing, expired', `d:set("c18", 1) out(d:replace("c18", 2)) out(d:replace("c18none", 2)) d:set("c18e", 1, 0.001) ngx.sleep(0.01) out(d:replace("c18e", 2)) out(d:get("c18"))`, 'true nil false\nfalse not found false\nfalse not found false\n2\n'),
  c('add/replace with a nil value', `out(d:add("c19", nil)) out(d:replace("c19", nil)) out(d:safe_add("c19", nil))`, 'false attempt to add or replace nil values false\n'.repeat(3)),
  c('non-string keys are tostring-ed', `d:set(12, "twelve") d:set(true, "t") d:set(1.5, "x") out(d:get("12"), d:get("true"), d:get("1.5"), d:get(12))`, 'twelve t x twelve\n'),
  c('nil, empty and too long keys', `out(d:get(nil)) out(d:set("", 1)) out(d:get(string.rep("k", 65536))) out(d:set(string.rep("k", 65535), 1)) out(d:get())`, 'nil nil key\nnil empty key\nnil key too long\ntrue nil false\nnil nil key\n'),
  c('bad value types', `out(d:set("c22", {})) out(d:set("c22", print)) out(d:add("c22", coroutine.create(function() end)))`, 'nil bad value type\n'.repeat(3)),
  c('bad zone argument (pcall)', `out(pcall(d.get, nil, "k")) out(pcall(d.set, {}, "k", 1)) out(pcall(d.incr, "d", "k", 1)) out(pcall(d.capacity, {d[1] and 1}))`, 'false bad "zone" argument\n'.repeat(4)),
  { name: 'bad zone argument is raised at the caller', http, server: luaOut(`local get = ngx.shared.d.get get(nil, "k")`), status: 500, log: [luaErr('content_by_lua', 1, 'bad "zone" argument')] },
  c('methods called with a dot on the zone object', `out(pcall(d.set, ngx.shared.d, "c25", 5)) out(ngx.shared.d.get(ngx.shared.d, "c25"))`, 'true true nil false\n5\n'),
  c('negative exptime throws', `out(pcall(d.set, d, "c26", 1, -1)) out(pcall(d.expire, d, "c26"))`, 'false bad "exptime" argument\nfalse bad "exptime" argument\n'),
  c('exptime of a wrong type', `local ok, err = pcall(d.set, d, "c27", 1, "10") out(ok, err:match("attempt to compare %a+ with number"))`, 'false attempt to compare string with number\n'),
  c('ttl: never, seconds, fractions, missing', `d:set("c28a", 1) d:set("c28b", 1, 10) d:set("c28c", 1, 0.5) d:set("c28d", 1, 0.0001) out(d:ttl("c28a"), d:ttl("c28b"), d:ttl("c28c"), d:ttl("c28d")) out(d:ttl("c28none"))`, '0 10 0.5 0\nnil not found\n'),
  c('ttl of an expired key not yet freed is negative', `d:set("c29", 1, 0.001) ngx.sleep(0.01) local t = d:ttl("c29") out(type(t), t < 0)`, 'number true\n'),
  c('expire sets, clears and misses', `d:set("c30", 1) out(d:expire("c30", 20)) out(d:ttl("c30")) out(d:expire("c30", 0)) out(d:ttl("c30")) out(d:expire("c30none", 1)) out(d:expire("c30", -1)) out(d:ttl("c30"), d:get("c30"))`, 'true\n20\ntrue\n0\nnil not found\ntrue\n0 1\n'),
  c('expiry in milliseconds', `d:set("c31", "v", 0.05) ngx.sleep(0.01) out(d:get("c31")) ngx.sleep(0.1) out(d:get("c31"))`, 'v\nnil\n'),
  c('set without exptime clears the old one', `d:set("c32a", 1, 100) d:set("c32a", 2) d:set("c32b", 1, 100) d:replace("c32b", "other") out(d:ttl("c32a"), d:ttl("c32b"))`, '0 0\n'),
  c('incr: not found, init, existing', `out(d:incr("c33", 1)) out(d:incr("c33", 1, 10)) out(d:incr("c33", 1, 10)) out(d:incr("c33", 1))`, 'nil not found\n11 nil false\n12 nil false\n13\n'),
  c('incr with floats, negatives and numeric strings', `d:set("c34", 12) out(d:incr("c34", 0.5)) out(d:incr("c34", -100)) out(d:incr("c34", "2")) out(d:incr("c34n", 1, "5"))`, '12.5\n-87.5\n-85.5\n6 nil false\n'),
  c('incr on a non-number', `d:set("c35s", "12") d:set("c35b", true) d:lpush("c35l", 1) out(d:incr("c35s", 1)) out(d:incr("c35b", 1)) out(d:incr("c35l", 1))`, 'nil not a number\n'.repeat(3)),
  c('incr argument errors', `out(pcall(d.incr, d, "c36", 1, "x")) out(pcall(d.incr, d, "c36", 1, nil, 10)) out(pcall(d.incr, d, "c36", 1, 0, "x")) out(pcall(d.incr, d, "c36", 1, 0, -1)) local ok, err = pcall(d.incr, d, "c36", "x") out(ok, err:match("cannot convert 'nil' to 'double'"))`,
    'false bad init arg: number expected, got string\nfalse must provide "init" when providing "init_ttl"\nfalse bad init_ttl arg: number expected, got string\nfalse bad "init_ttl" argument\nfalse cannot convert \'nil\' to \'double\'\n'),
  c('incr init_ttl applies only on creation', `out(d:incr("c37", 1, 0, 10)) out(d:ttl("c37")) d:expire("c37", 50) d:incr("c37", 1, 0, 10) out(d:ttl("c37"), d:get("c37")) out(d:incr("c37b", 5, 1, 0), d:ttl("c37b"))`, '1 nil false\n10\n50 2\n6 0\n'),
  c('incr keeps flags and restarts an expired number', `d:set("c38", 1, 0, 3) d:incr("c38", 1) out(d:get("c38")) d:set("c38e", 100, 0.001, 9) ngx.sleep(0.01) out(d:incr("c38e", 1)) out(d:incr("c38e", 1, 0)) out(d:get("c38e"))`, '2 3\nnil not found\n1 nil false\n1\n'),
  c('incr with init false is no init', `out(d:incr("c39", 5, false))`, 'nil not found\n'),
  c('lists: push, llen, pop both ends', `out(d:lpush("c40", "a"), d:lpush("c40", 2), d:rpush("c40", 3.5), d:llen("c40")) out(d:lpop("c40"), d:rpop("c40"), d:rpop("c40"), d:lpop("c40"))`, '1 2 3 3\n2 3.5 a nil\n'),
  c('an emptied list is gone', `d:rpush("c41", 1) d:lpop("c41") out(d:llen("c41"), d:get("c41"), d:lpop("c41")) out(d:set("c41", "s")) out(d:get("c41"))`, '0 nil nil\ntrue nil false\ns\n'),
  c('lists on missing keys', `out(d:llen("c42"), d:lpop("c42"), d:rpop("c42"))`, '0 nil nil\n'),
  c('value not a list / value is a list', `d:set("c43s", "str") d:rpush("c43l", 1) out(d:lpush("c43s", 1)) out(d:rpop("c43s")) out(d:llen("c43s")) out(d:get("c43l")) out(d:get_stale("c43l"))`, 'nil value not a list\nnil value not a list\nnil value not a list\nnil value is a list\nnil value is a list\n'),
  c('list values must be strings or numbers', `out(d:lpush("c44", true)) out(d:rpush("c44", nil)) out(d:rpush("c44", {})) out(d:llen("c44"))`, 'nil bad value type\nnil bad value type\nnil bad value type\n0\n'),
  c('list key checks', `out(d:lpush(nil, 1)) out(d:rpush("", 1)) out(d:lpop(string.rep("k", 65536))) out(d:rpush(45, "x"), d:llen("45"))`, 'nil nil key\nnil empty key\nnil key too long\n1 1\n'),
  c('list argument counts and zone', `out(pcall(d.lpush, d, "k")) out(pcall(d.rpush, d, "k", 1, 2)) out(pcall(d.lpop, d, "k", 1)) out(pcall(d.llen)) out(pcall(d.llen, {}, "k")) out(pcall(d.rpush, "x", "k", 1))`,
    'false expecting 3 arguments, but only seen 2\nfalse expecting 3 arguments, but only seen 4\nfalse expecting 2 arguments, but only seen 3\nfalse expecting 2 arguments, but only seen 0\nfalse bad "zone" argument\nfalse bad "zone" argument\n'),
  c('set and replace over a list, add refuses', `d:rpush("c47", 1) out(d:add("c47", "x")) out(d:replace("c47", "y")) out(d:get("c47")) d:rpush("c47b", 1) d:set("c47b", "z") out(d:get("c47b"))`, 'false exists false\ntrue nil false\ny\nz\n'),
  c('a list keeps its ttl across pushes; expired list restarts', `d:lpush("c48", 1) d:expire("c48", 50) d:lpush("c48", 2) out(d:ttl("c48")) d:rpush("c48e", 1) d:expire("c48e", 0.001) ngx.sleep(0.01) out(d:lpush("c48e", "n"), d:lpop("c48e"))`, '50\n1 n\n'),
  { name: 'flush_all: everything expired, the oldest three freed', http, server: luaOut(`local d = ngx.shared.fa for _, k in ipairs{"a","b","c","d","e"} do d:set(k, k) end out(select("#", d:flush_all())) for _, k in ipairs{"a","b","c","d","e"} do out(k, d:get_stale(k)) end out(d:get("e"), d:ttl("a"), #d:get_keys(0)) out(d:get_stale("d"), d:get_stale("e"))`),
    body: '0\na nil\nb nil\nc nil\nd d nil true\ne e nil true\nnil nil 0\nnil nil\n' },
  { name: 'flush_expired: counts, max', http, server: luaOut(`local d = ngx.shared.fe for i = 1, 5 do d:set("x" .. i, i, 0.001) end d:set("keep", 1) ngx.sleep(0.01) out(d:flush_expired(2)) out(d:flush_expired()) out(d:flush_expired(0)) out(d:get_stale("x5"), d:get("keep"))`),
    body: '2\n3\n0\nnil 1\n' },
  { name: 'get_keys: oldest first, max, expired left out', http, server: luaOut(`local d = ngx.shared.gk d:set("a", 1) d:set("b", 2) d:set("c", 3) d:get("a") d:set("x", 1, 0.001) ngx.sleep(0.01) out(table.concat(d:get_keys(), ",")) out(#d:get_keys(2), #d:get_keys(0), #d:get_keys("1"), #d:get_keys(-1))`),
    body: 'b,c,a\n2 3 1 3\n' },
  c('flush_expired and get_keys argument errors', `out(pcall(d.get_keys, d, 1, 2)) out(pcall(d.flush_expired)) out(pcall(d.get_keys, nil)) out(pcall(d.flush_expired, {})) local ok, err = pcall(function() local r = d:get_keys("x") return r end) out(err:match("bad argument #1 to 'get_keys' %(number expected, got string%)"))`,
    "false expecting 1 or 2 argument(s), but saw 3\nfalse expecting 1 or 2 argument(s), but saw 0\nfalse bad argument #1 to '?' (table expected, got nil)\nfalse bad user data for the ngx_shm_zone_t pointer\nbad argument #1 to 'get_keys' (number expected, got string)\n"),
  c('capacity', `out(d:capacity(), ngx.shared.small:capacity())`, '1048576 12288\n'),
  { name: 'free_space: pages left', http, server: luaOut(`local d = ngx.shared.fs out(d:free_space(), ngx.shared.small:free_space()) for i = 1, 100 do d:set("x" .. i, string.rep("y", 100)) end out(d:free_space()) for i = 1, 100 do d:set("z" .. i, string.rep("y", 1000)) end out(d:free_space())`),
    body: '1032192 0\n1003520\n798720\n' },
  { name: 'full zone: set evicts the least recently used, forcible', http, server: luaOut(`local d = ngx.shared.ev local first for i = 1, 40 do local ok, err, f = d:set("k" .. i, "v") if f and not first then first = i out(ok, err, f) end end out(first, d:get("k1"), d:get("k9"), d:get("k40"), #d:get_keys(0))`),
    body: 'true nil true\n32 nil nil v 31\n' },
  { name: 'full zone: safe_set and safe_add say no memory', http, server: luaOut(`local d = ngx.shared.sf for i = 1, 31 do d:safe_set("k" .. i, "v") end out(d:safe_set("k32", "v")) out(d:safe_add("k33", "v")) out(d:get("k1"))`),
    body: 'false no memory false\nfalse no memory false\nv\n' },
  c('a value larger than the zone', `local s = ngx.shared.small out(s:set("big", string.rep("x", 5000))) out(s:set("big", string.rep("x", 2000000))) out(s:get("big"))`, 'false no memory false\nfalse no memory false\nnil\n'),
  c('the ngx.shared table', `out(ngx.shared.nope, ngx.shared["d"] == ngx.shared.d, getmetatable(ngx.shared)) local t = {} for k, v in pairs(ngx.shared) do t[#t+1] = k .. ":" .. type(v) end table.sort(t) out(table.concat(t, " "))`,
    'nil true nil\nd:table ev:table fa:table fe:table fs:table gk:table lp:table seeded:table sf:table small:table\n'),
  c('dict objects: one zone handle, shared metatable', `out(type(d[1]), #d, rawget(d, "get"), getmetatable(d) == getmetatable(ngx.shared.small)) out(pcall(d.rpush, {d[1]}, "c59", 1)) out(d:llen("c59"))`, 'userdata 1 nil true\ntrue 1\n1\n'),
  { name: 'init_by_lua seeds data', http, server: luaOut(`local s = ngx.shared.seeded out(s:get("from_init")) out(s:lpop("l"))`), body: 'seed 4\na\n' },
  { name: 'set in rewrite, read in content and in a timer', http,
    server: `location /t { rewrite_by_lua_block { ngx.shared.d:set("c61", "rw") } content_by_lua_block { local d = ngx.shared.d ngx.timer.at(0, function() d:set("c61t", d:get("c61") .. "+timer") end) ngx.sleep(0.02) ngx.say(d:get("c61"), " ", d:get("c61t")) } }`,
    body: 'rw rw+timer\n' },
  { name: 'shared between requests', http, server: luaOut(`out(ngx.shared.d:incr("c62", 1, 0))`), steps: [{ body: '1 nil false\n' }, { body: '2 nil false\n' }] },
  c('lpush into a full zone fails without evicting, and an expired list is reused',
    `local z = ngx.shared.lp local max = 0 for i = 1, 100000 do local n, err = z:lpush(string.format("%05d", i), i) ` +
    `if not n then max = i out(err) break end end out(max > 1, #z:get_keys(0) == max - 1) ` +
    `z:expire("00001", 0.001) ngx.sleep(0.01) out(z:lpush("00001", "new"), z:llen("00001"), z:lpop("00001"))`,
    'no memory\ntrue true\n1 1 new\n'),
  c('ngx_lua\'s C API for other modules: ngx_http_lua_find_zone and ngx_http_lua_shared_dict_get through ffi.C',
    `local ffi = require "ffi" pcall(ffi.cdef, [[ typedef struct { size_t len; char *data; } ngx_str_t; ` +
    `typedef struct { uint8_t type; union { int b; double n; ngx_str_t s; } value; } ngx_http_lua_value_t; ` +
    `void *ngx_http_lua_find_zone(char *data, size_t len); ` +
    `intptr_t ngx_http_lua_shared_dict_get(void *zone, char *kdata, size_t klen, ngx_http_lua_value_t *val); ]]) ` +
    `local C = ffi.C local function cs(s) local b = ffi.new("char[?]", #s + 1) ffi.copy(b, s) return b end ` +
    `d:set("capi_n", 2.5) d:set("capi_s", "hello world") d:set("capi_b", true) ` +
    `local z = C.ngx_http_lua_find_zone(cs("d"), 1) out(C.ngx_http_lua_find_zone(cs("none"), 4) == nil, z ~= nil) ` +
    `local v = ffi.new("ngx_http_lua_value_t[1]") out(tonumber(C.ngx_http_lua_shared_dict_get(z, cs("capi_n"), 6, v)), v[0].type, v[0].value.n) ` +
    `out(tonumber(C.ngx_http_lua_shared_dict_get(z, cs("capi_b"), 6, v)), v[0].type, v[0].value.b) ` +
    `local buf = ffi.new("char[5]") v[0].value.s.data = buf v[0].value.s.len = 5 ` +
    `out(tonumber(C.ngx_http_lua_shared_dict_get(z, cs("capi_s"), 6, v)), v[0].type, ffi.string(v[0].value.s.data, v[0].value.s.len)) ` +
    `out(tonumber(C.ngx_http_lua_shared_dict_get(z, cs("capi_x"), 6, v)))`,
    'true true\n0 3 2.5\n0 1 1\n0 4 hello\n-5\n'),
];
