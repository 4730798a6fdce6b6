// Debian's lua-nginx-memcached (`require "nginx.memcached"`, lua-resty-memcached as packaged)
// in handlers of our server, against a real memcached on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupAll, ENGINE, expectOk, lines, missing, startEngine, startMemcached, type Engine, type Peer } from './harness.js';
import { memcachedCmd } from './wire.js';
import { todoOf } from './todo.js';

const skip = missing('memcached', ['memcached']);
const todo = todoOf(ENGINE, 'memcached');

let mc: Peer;
let ng: Engine;

function server(mport: number): string {
  const pre = `
            local T = require "t"
            local memcached = require "nginx.memcached"
            local memc, err = memcached:new()
            if not memc then error("memcached new: " .. tostring(err)) end
            memc:set_timeout(5000)
            local ok, err = memc:connect("127.0.0.1", ${mport})
            if not ok then error("memcached connect: " .. tostring(err)) end`;
  return `
        location = /basic {
            content_by_lua_block {${pre}
                T.out("connect", ok)
                T.out("set", memc:set("dog", "32", 0, 7))
                T.out("get", memc:get("dog"))
                T.out("missing", memc:get("no-such-key"))
                T.out("add-existing", memc:add("dog", "x"))
                T.out("replace", memc:replace("dog", "33"))
                T.out("append", memc:append("dog", "-a"))
                T.out("prepend", memc:prepend("dog", "p-"))
                T.out("get2", memc:get("dog"))
                T.out("multi", memc:get({ "dog", "no-such-key" }))
                local bin = {}
                for i = 0, 255 do bin[#bin + 1] = string.char(i) end
                bin = table.concat(bin)
                T.out("set-bin", memc:set("bin", bin))
                local got = memc:get("bin")
                T.out("bin-same", got == bin)
                T.out("close", memc:close())
            }
        }
        location = /incr {
            content_by_lua_block {${pre}
                T.out("set", memc:set("cnt", 10))
                T.out("incr", memc:incr("cnt", 5))
                T.out("decr", memc:decr("cnt", 3))
                T.out("incr-missing", memc:incr("no-such-counter", 1))
                memc:set("word", "abc")
                T.out("incr-nonnumeric", memc:incr("word", 1))
                memc:close()
            }
        }
        location = /cas {
            content_by_lua_block {${pre}
                memc:set("ck", "v1")
                local v, flags, cas, err = memc:gets("ck")
                T.out("gets", v, flags, type(cas), err)
                T.out("cas", memc:cas("ck", "v2", cas))
                T.out("cas-stale", memc:cas("ck", "v3", cas))
                T.out("get", memc:get("ck"))
                local v2, flags2, cas2 = memc:gets("ck")
                T.out("cas-changed", cas2 ~= cas)
                T.out("cas-missing", memc:cas("no-such-key", "x", cas2))
                memc:close()
            }
        }
        location = /delete {
            content_by_lua_block {${pre}
                memc:set("d1", "x")
                T.out("delete", memc:delete("d1"))
                T.out("get", memc:get("d1"))
                T.out("delete-again", memc:delete("d1"))
                memc:set("f1", "x")
                memc:set("f2", "y")
                T.out("flush_all", memc:flush_all())
                T.out("after-flush", (memc:get("f1")), (memc:get("f2")))
                memc:close()
            }
        }
        location = /keepalive {
            content_by_lua_block {${pre}
                T.out("reused", memc:get_reused_times())
                T.out("version", type(memc:version()))
                T.out("keepalive", memc:set_keepalive(10000, 10))
            }
        }
        location = /from-node {
            content_by_lua_block {${pre}
                T.out("get", memc:get("node-key"))
                T.out("set", memc:set("lua-key", "from lua", 0, 42))
                memc:close()
            }
        }
`;
}

before(async () => {
  if (skip) return;
  mc = await startMemcached();
  ng = await startEngine(server(mc.port));
});

after(cleanupAll);

test('set/get with flags, add/replace/append/prepend, multi-get, all byte values', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/basic'));
  assert.equal(out.connect, '1');
  assert.equal(out.set, '1');
  assert.equal(out.get, '"32", "7"');
  assert.equal(out.missing, 'nil, nil, nil');
  assert.equal(out['add-existing'], 'nil, "NOT_STORED"');
  assert.equal(out.replace, '1');
  assert.equal(out.append, '1');
  assert.equal(out.prepend, '1');
  assert.equal(out.get2, '"p-33-a", "0"');
  assert.equal(out.multi, '{dog={[1]="p-33-a",[2]="0"}}');
  assert.equal(out['set-bin'], '1');
  assert.equal(out['bin-same'], 'true');
  assert.equal(out.close, '1');
});

test('incr / decr, on a missing key and on a non-numeric value', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/incr'));
  assert.equal(out.set, '1');
  assert.equal(out.incr, '"15"');
  assert.equal(out.decr, '"12"');
  assert.equal(out['incr-missing'], 'nil, "NOT_FOUND"');
  assert.equal(out['incr-nonnumeric'], 'nil, "CLIENT_ERROR cannot increment or decrement non-numeric value"');
});

test('gets + cas: the first cas stores, a stale cas gets EXISTS, a missing key NOT_FOUND', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/cas'));
  assert.equal(out.gets, '"v1", "0", "string", nil');
  assert.equal(out.cas, '1');
  assert.equal(out['cas-stale'], 'nil, "EXISTS"');
  assert.equal(out.get, '"v2", "0"');
  assert.equal(out['cas-changed'], 'true');
  assert.equal(out['cas-missing'], 'nil, "NOT_FOUND"');
});

test('delete and flush_all', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/delete'));
  assert.equal(out.delete, '1');
  assert.equal(out.get, 'nil, nil, nil');
  assert.equal(out['delete-again'], 'nil, "NOT_FOUND"');
  assert.equal(out.flush_all, '1');
  assert.equal(out['after-flush'], 'nil, nil');
});

test('what the handler stores is what memcached holds, and the other way round', { skip, todo }, async () => {
  assert.equal((await memcachedCmd(mc.port, 'set node-key 5 0 9\r\nfrom node\r\n')).toString(), 'STORED\r\n');
  const out = lines(await expectOk(ng, '/from-node'));
  assert.equal(out.get, '"from node", "5"');
  assert.equal(out.set, '1');
  assert.equal((await memcachedCmd(mc.port, 'get lua-key\r\n')).toString(), 'VALUE lua-key 42 8\r\nfrom lua\r\nEND\r\n');
});

test('set_keepalive, then get_reused_times > 0 in the next request', { skip, todo }, async () => {
  const first = lines(await expectOk(ng, '/keepalive'));
  const second = lines(await expectOk(ng, '/keepalive'));
  assert.equal(first.version, '"string"');
  assert.equal(second.version, '"string"');
  assert.equal(first.keepalive, '1');
  assert.equal(second.keepalive, '1');
  assert.ok(Number(second.reused) > 0, `reused times on the second request: ${second.reused}`);
  assert.equal(Number(second.reused), Number(first.reused) + 1);
});
