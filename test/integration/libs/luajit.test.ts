// Libraries that need LuaJIT itself, from Debian's packages and unmodified: lua-cjson (a C
// module on the cpath), lua-resty-lrucache (the table and the `pureffi` variants: FFI structs,
// casts, pointer arithmetic), lua-nginx-string (resty.sha1/sha256/md5/aes/random as packaged:
// FFI into the OpenSSL that the process exports) and lua-nginx-cookie. Digests and ciphertexts
// are checked against node:crypto, the rest against values the reference printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { cleanupAll, ENGINE, expectOk, lines, missing, startEngine, type Engine } from './harness.js';

const skip = missing('cjson') || missing('lrucache') || missing('string') || missing('cookie');

let ng: Engine;

/** s as T.dump quotes a string: control, quote, backslash and high bytes as \ddd */
const dq = (s: string): string =>
  '"' + s.replace(/[\x00-\x1f"\\\x80-\xff]/g, (c) => `\\${String(c.charCodeAt(0)).padStart(3, '0')}`) + '"';

const SERVER = `
        location = /cjson {
            content_by_lua_block {
                local T = require "t"
                local cjson = require "cjson"
                local safe = require "cjson.safe"
                T.out("round", cjson.encode(cjson.decode('{"a":[1,2,{"b":null}],"c":"\\\\u00e9x"}')) ~= nil)
                T.out("array", cjson.encode({ 1, 2, 3, "x", true, false }))
                T.out("numbers", cjson.encode({ 10 / 2, 1 / 3, 1e300, -0.5, 2^53 }))
                T.out("escape", cjson.encode({ "a/b\\"c\\\\d\\n\\1" }))
                T.out("null", cjson.encode({ cjson.null }), cjson.decode("[null]")[1] == cjson.null)
                T.out("empty", cjson.encode({}), cjson.encode(setmetatable({}, cjson.empty_array_mt)))
                T.out("sparse", pcall(cjson.encode, { [1] = 1, [1000] = 2 }))
                T.out("sparse-safe", safe.encode({ [1] = 1, [1000] = 2 }))
                T.out("bad-json", pcall(cjson.decode, "{bad}"))
                T.out("bad-json-safe", safe.decode("[1,"))
                T.out("func", pcall(cjson.encode, { f = print }))
                local deep = {}
                local t = deep
                for i = 1, 1100 do t[1] = {} t = t[1] end
                T.out("depth", pcall(cjson.encode, deep))
                T.out("depth-decode", pcall(cjson.decode, string.rep("[", 1100) .. string.rep("]", 1100)))
                cjson.encode_max_depth(3)
                T.out("max-depth", pcall(cjson.encode, { { { { 1 } } } }))
                cjson.encode_max_depth(1000)
                T.out("unicode", cjson.decode('"\\\\u00e9\\\\ud83d\\\\ude00"'))
                local big = {}
                for i = 1, 1000 do big[i] = { id = i, name = "n" .. i } end
                local back = cjson.decode(cjson.encode(big))
                T.out("big", #back, back[1000].name)
                T.out("version", type(cjson._VERSION))
            }
        }
        location = /lrucache {
            content_by_lua_block {
                local T = require "t"
                for _, name in ipairs({ "resty.lrucache", "resty.lrucache.pureffi" }) do
                    local lrucache = require(name)
                    local c = assert(lrucache.new(3))
                    c:set("a", 1) c:set("b", { x = 2 }) c:set("c", "three")
                    T.out(name .. " get", c:get("a"), c:get("b").x, c:get("c"))
                    c:set("d", 4)
                    -- the gets above left "a" the least recently used: it goes
                    T.out(name .. " evicted", c:get("b"), c:get("a"), c:get("d"))
                    c:delete("a")
                    T.out(name .. " deleted", c:get("a"))
                    c:set("ttl", "v", 0.05)
                    ngx.sleep(0.12)
                    T.out(name .. " expired", c:get("ttl"))
                    c:flush_all()
                    T.out(name .. " flushed", c:get("c"), c:get("d"))
                    if c.count then T.out(name .. " count", c:count(), c:capacity()) end
                    local many = lrucache.new(1000)
                    for i = 1, 5000 do many:set("k" .. i, i) end
                    local hits = 0
                    for i = 1, 5000 do if many:get("k" .. i) then hits = hits + 1 end end
                    T.out(name .. " many", hits, many:get("k5000"), many:get("k4001"), many:get("k4000"))
                end
            }
        }
        location = /string {
            content_by_lua_block {
                local T = require "t"
                local str = require "nginx.string"
                for _, alg in ipairs({ "md5", "sha1", "sha224", "sha256", "sha384", "sha512" }) do
                    local h = require("nginx." .. alg):new()
                    h:update("The quick brown fox ")
                    h:update("jumps over the lazy dog")
                    T.out(alg, str.to_hex(h:final()))
                end
                local aes = require "nginx.aes"
                local a = aes:new("secret key")
                local enc = a:encrypt("attack at dawn, with all 256 bytes")
                T.out("aes-cbc", str.to_hex(enc), a:decrypt(enc))
                local b = aes:new("0123456789abcdef0123456789abcdef", nil, aes.cipher(256, "cbc"), { iv = "fedcba9876543210" })
                T.out("aes-256-iv", str.to_hex(b:encrypt("hello")))
                local r = require "nginx.random"
                local x, y = r.bytes(16), r.bytes(16, true)
                T.out("random", #x, #y, x ~= y)
                T.out("atoi", str.atoi("12345"))
                T.out("hmac", str.to_hex(ngx.hmac_sha1("key", "The quick brown fox jumps over the lazy dog")))
            }
        }
        location = /cookie {
            content_by_lua_block {
                local T = require "t"
                local ck = require "nginx.cookie"
                local cookie = assert(ck:new())
                -- headers go out with the first output: set the cookies before it
                local set1 = { cookie:set({ key = "a", value = "1", path = "/", httponly = true }) }
                local set2 = { cookie:set({ key = "b", value = "2", max_age = 60, secure = true }) }
                local bad = { cookie:set({ key = "c" }) }
                T.out("header", ngx.header["Set-Cookie"])
                T.out("get", cookie:get("sid"), cookie:get("lang"), cookie:get("none"))
                T.out("all", cookie:get_all())
                T.out("set1", unpack(set1))
                T.out("set2", unpack(set2))
                T.out("bad", unpack(bad))
            }
        }
        location = /nocookie {
            content_by_lua_block {
                local T = require "t"
                local cookie = require("nginx.cookie"):new()
                T.out("get", cookie:get("sid"))
            }
        }
`;

before(async () => {
  if (skip) return;
  ng = await startEngine(SERVER, { http: 'lua_package_cpath "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;";' });
});

after(cleanupAll);

test(`lua-cjson: encode/decode, number formats, escaping, null, sparse arrays, errors, depth (${ENGINE})`, { skip }, async () => {
  const o = lines(await expectOk(ng, '/cjson'));
  assert.equal(o.round, 'true');
  assert.equal(o.array, dq('[1,2,3,"x",true,false]'));
  assert.equal(o.numbers, dq('[5,0.33333333333333,1e+300,-0.5,9.007199254741e+15]'));
  assert.equal(o.escape, dq('["a\\/b\\"c\\\\d\\n\\u0001"]'));
  assert.equal(o.null, `${dq('[null]')}, true`);
  // Debian's lua-cjson 2.1.0 has no empty_array_mt: both are objects
  assert.equal(o.empty, `${dq('{}')}, ${dq('{}')}`);
  assert.equal(o.sparse, 'false, "Cannot serialise table: excessively sparse array"');
  assert.equal(o['sparse-safe'], 'nil, "Cannot serialise table: excessively sparse array"');
  assert.equal(o['bad-json'], 'false, "Expected object key string but found invalid token at character 2"');
  assert.equal(o['bad-json-safe'], 'nil, "Expected value but found T_END at character 4"');
  assert.equal(o.func, 'false, "Cannot serialise function: type not supported"');
  assert.equal(o.depth, 'false, "Cannot serialise, excessive nesting (1001)"');
  assert.equal(o['depth-decode'], 'false, "Found too many nested data structures (1001) at character 1001"');
  assert.equal(o['max-depth'], 'false, "Cannot serialise, excessive nesting (4)"');
  assert.equal(o.unicode, dq(Buffer.from('\u00e9\u{1F600}', 'utf8').toString('latin1')));
  assert.equal(o.big, '1000, "n1000"');
  assert.equal(o.version, '"string"');
});

test(`lua-resty-lrucache, table and pureffi variants: LRU order, delete, TTL, flush, 5,000 keys (${ENGINE})`, { skip }, async () => {
  const o = lines(await expectOk(ng, '/lrucache'));
  for (const name of ['resty.lrucache', 'resty.lrucache.pureffi']) {
    assert.match(o[`${name} get`], /^1, 2, "three"/, name);
    assert.match(o[`${name} evicted`], /^\{x=2\}, nil, 4/, name);
    assert.equal(o[`${name} deleted`], 'nil', name);
    assert.match(o[`${name} expired`], /^nil, "v"/, name);
    assert.equal(o[`${name} flushed`], 'nil, nil', name);
    assert.match(o[`${name} many`], /^1000, 5000, 4001, nil/, name);
  }
  assert.equal(o['resty.lrucache count'], '0, 3');
});

test(`lua-nginx-string: digests, AES and random bytes over the process's OpenSSL through FFI (${ENGINE})`, { skip }, async () => {
  const o = lines(await expectOk(ng, '/string'));
  const text = 'The quick brown fox jumps over the lazy dog';
  for (const alg of ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']) {
    assert.equal(o[alg], `"${createHash(alg).update(text).digest('hex')}"`, alg);
  }
  // EVP_BytesToKey(md5, no salt, 1 round): key = md5(pass), iv = md5(key .. pass)
  const pass = Buffer.from('secret key');
  const key = createHash('md5').update(pass).digest();
  const iv = createHash('md5').update(Buffer.concat([key, pass])).digest();
  const plain = 'attack at dawn, with all 256 bytes';
  const c = createCipheriv('aes-128-cbc', key, iv);
  const want = Buffer.concat([c.update(plain), c.final()]).toString('hex');
  assert.equal(o['aes-cbc'], `"${want}", "${plain}"`);
  const c2 = createCipheriv('aes-256-cbc', Buffer.from('0123456789abcdef0123456789abcdef'), Buffer.from('fedcba9876543210'));
  assert.equal(o['aes-256-iv'], `"${Buffer.concat([c2.update('hello'), c2.final()]).toString('hex')}"`);
  assert.equal(o.random, '16, 16, true');
  assert.equal(o.atoi, '12345');
  assert.equal(o.hmac, `"${createHmac('sha1', 'key').update(text).digest('hex')}"`);
});

test(`lua-nginx-cookie: parse the Cookie header, set two Set-Cookie headers (${ENGINE})`, { skip }, async () => {
  const r = await ng.get('/cookie', { headers: { Cookie: 'sid=abc123; lang=en-US; empty=' } });
  assert.equal(r.status, 200, r.text);
  const o = lines(r.text);
  assert.equal(o.get, '"abc123", "en-US", nil');
  assert.equal(o.all, '{empty="",lang="en-US",sid="abc123"}');
  assert.equal(o.set1, 'true');
  assert.equal(o.set2, 'true');
  assert.equal(o.bad, `nil, ${dq('missing cookie field "key" or "value"')}`);
  assert.equal(o.header, `{[1]=${dq('a=1; Path=/; HttpOnly')},[2]=${dq('b=2; Max-Age=60; Secure')}}`);
  assert.deepEqual(r.resp.headers['set-cookie'], ['a=1; Path=/; HttpOnly', 'b=2; Max-Age=60; Secure']);
  const n = lines(await expectOk(ng, '/nocookie'));
  assert.equal(n.get, 'nil, "no cookie found in the current request"');
});
