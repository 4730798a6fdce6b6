// Debian's lua-nginx-redis (`require "nginx.redis"`, lua-resty-redis 0.27 as packaged) in
// handlers of our server, against a real redis-server on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cleanupAll, ENGINE, expectOk, freePort, lines, missing, startEngine, startRedis, type Engine, type Peer } from './harness.js';
import { redisCmd } from './wire.js';
import { todoOf } from './todo.js';

const skip = missing('redis', ['redis-server']);
const todo = todoOf(ENGINE, 'redis');

let redis: Peer;
let ng: Engine;
let closedPort: number;

const MIB = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => i & 0xff));

function server(rport: number, closed: number): string {
  const pre = `
            local T = require "t"
            local redis = require "nginx.redis"
            local red = redis:new()
            red:set_timeout(5000)
            local ok, err = red:connect("127.0.0.1", ${rport})
            if not ok then error("redis connect: " .. tostring(err)) end`;
  return `
        location = /basic {
            content_by_lua_block {${pre}
                T.out("connect", ok)
                T.out("del", red:del("k1", "n1"))
                T.out("set", red:set("k1", "v1"))
                T.out("get", red:get("k1"))
                T.out("missing", red:get("no-such-key"))
                T.out("incr", red:incr("n1"))
                T.out("incrby", red:incrby("n1", 41))
                T.out("mset", red:mset("m1", "a", "m2", "b"))
                T.out("mget", red:mget("m1", "no-such-key", "m2"))
                T.out("hmset", red:hmset("h1", { f1 = "x", f2 = "y" }))
                T.out("hgetall", red:array_to_hash(red:hgetall("h1")))
                T.out("close", red:close())
            }
        }
        location = /big {
            content_by_lua_block {${pre}
                local v = T.mib()
                T.out("set", red:set("big", v))
                local got, err = red:get("big")
                T.out("len", got and #got, err)
                T.out("same", got == v)
                local other, err = red:get("from-node")
                T.out("from-node", other and #other, other and ngx.md5(other), err)
                red:close()
            }
        }
        location = /pipeline {
            content_by_lua_block {${pre}
                red:del("pc", "p1", "p2")
                red:init_pipeline()
                T.out("queued-set", red:set("p1", "a"))
                red:incr("pc")
                red:incr("pc")
                red:get("p1")
                red:lpush("p1", "x")
                red:get("p2")
                T.out("results", red:commit_pipeline())
                T.out("no-pipeline", red:commit_pipeline())
                red:init_pipeline(2)
                red:set("p2", "b")
                red:cancel_pipeline()
                T.out("after-cancel", red:get("p2"))
                red:close()
            }
        }
        location = /multi {
            content_by_lua_block {${pre}
                red:del("t1", "tc")
                T.out("multi", red:multi())
                T.out("set", red:set("t1", "x"))
                T.out("incr", red:incr("tc"))
                T.out("incr-bad", red:incr("t1"))
                T.out("exec", red:exec())
                T.out("multi2", red:multi())
                T.out("set2", red:set("t1", "discarded"))
                T.out("discard", red:discard())
                T.out("get", red:get("t1"))
                red:close()
            }
        }
        location = /sub {
            content_by_lua_block {${pre}
                local ch = ngx.var.arg_ch
                T.out("subscribe", red:subscribe(ch))
                T.out("message", red:read_reply())
                T.out("unsubscribe", red:unsubscribe(ch))
                T.out("keepalive", red:set_keepalive(0, 10))
            }
        }
        location = /pub {
            content_by_lua_block {${pre}
                T.out("publish", red:publish(ngx.var.arg_ch, ngx.var.arg_msg))
                red:close()
            }
        }
        location = /pubsub-threads {
            content_by_lua_block {${pre}
                local sub = red
                local pub = redis:new()
                pub:set_timeout(5000)
                assert(pub:connect("127.0.0.1", ${rport}))
                local subscribed = false
                local th = ngx.thread.spawn(function()
                    local res, err = sub:subscribe("tch")
                    subscribed = res and true or err
                    local msgs = {}
                    for i = 1, 2 do
                        msgs[i] = sub:read_reply()
                    end
                    return msgs
                end)
                for i = 1, 1000 do
                    if subscribed then break end
                    ngx.sleep(0.005)
                end
                T.out("subscribed", subscribed)
                T.out("publish1", pub:publish("tch", "one"))
                T.out("publish2", pub:publish("tch", "two"))
                T.out("thread", ngx.thread.wait(th))
                sub:close()
                pub:close()
            }
        }
        location = /keepalive {
            content_by_lua_block {${pre}
                redis.add_commands("client")
                T.out("reused", red:get_reused_times())
                T.out("id", red:client("id"))
                T.out("keepalive", red:set_keepalive(10000, 10))
            }
        }
        location = /errors {
            content_by_lua_block {${pre}
                red:del("str")
                red:set("str", "x")
                T.out("wrongtype", red:lpush("str", "y"))
                T.out("notint", red:incr("str"))
                T.out("not-subscribed", red:read_reply())
                redis.add_commands("nosuchcommand")
                T.out("unknown", red:nosuchcommand("a"))
                T.out("still-ok", red:get("str"))
                red:close()
                local red2 = redis:new()
                red2:set_timeout(5000)
                T.out("refused", red2:connect("127.0.0.1", ${closed}))
                T.out("closed-get", red:get("str"))
            }
        }
`;
}

before(async () => {
  if (skip) return;
  redis = await startRedis();
  closedPort = await freePort();
  ng = await startEngine(server(redis.port, closedPort));
});

after(cleanupAll);

test('connect, set/get, nil bulk as ngx.null, incr, mset/mget, hmset/array_to_hash', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/basic'));
  assert.equal(out.connect, '1');
  assert.equal(out.set, '"OK"');
  assert.equal(out.get, '"v1"');
  assert.equal(out.missing, 'null');
  assert.equal(out.incr, '1');
  assert.equal(out.incrby, '42');
  assert.equal(out.mset, '"OK"');
  assert.equal(out.mget, '{[1]="a",[2]=null,[3]="b"}');
  assert.equal(out.hmset, '"OK"');
  assert.equal(out.hgetall, '{f1="x",f2="y"}');
  assert.equal(out.close, '1');
  assert.deepEqual(await redisCmd(redis.port, 'GET', 'k1'), Buffer.from('v1'));
});

test('a 1 MiB value (all 256 byte values) round-trips both ways', { skip, todo }, async () => {
  const fromNode = randomBytes(1 << 20);
  assert.equal(await redisCmd(redis.port, 'SET', 'from-node', fromNode), 'OK');
  const out = lines(await expectOk(ng, '/big'));
  assert.equal(out.set, '"OK"');
  assert.equal(out.len, `${1 << 20}, nil`);
  assert.equal(out.same, 'true');
  assert.equal(out['from-node'], `${1 << 20}, "${createHash('md5').update(fromNode).digest('hex')}", nil`);
  const stored = await redisCmd(redis.port, 'GET', 'big');
  assert.ok(Buffer.isBuffer(stored) && stored.equals(MIB), 'redis holds the exact bytes the handler sent');
});

test('pipelining: init_pipeline / commit_pipeline, error replies in place, cancel_pipeline', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/pipeline'));
  assert.equal(out['queued-set'], '', 'a queued command returns nothing');
  assert.equal(
    out.results,
    '{[1]="OK",[2]=1,[3]=2,[4]="a",[5]={[1]=false,[2]="WRONGTYPE Operation against a key holding the wrong kind of value"},[6]=null}',
  );
  assert.equal(out['no-pipeline'], 'nil, "no pipeline"');
  assert.equal(out['after-cancel'], 'null');
});

test('transactions: multi / exec (with a failing command inside) and discard', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/multi'));
  assert.equal(out.multi, '"OK"');
  assert.equal(out.set, '"QUEUED"');
  assert.equal(out.incr, '"QUEUED"');
  assert.equal(out['incr-bad'], '"QUEUED"');
  assert.equal(out.exec, '{[1]="OK",[2]=1,[3]={[1]=false,[2]="ERR value is not an integer or out of range"}}');
  assert.equal(out.discard, '"OK"');
  assert.equal(out.get, '"x"');
});

test('pub/sub across two requests: subscribe + read_reply in one, publish from another', { skip, todo }, async () => {
  const ch = `ch-${process.pid}`;
  let settled = false;
  const sub = ng.get(`/sub?ch=${ch}`).finally(() => (settled = true));
  // wait (bounded) until redis sees the subscriber, or the subscribing request has ended
  for (let i = 0; i < 500 && !settled; i++) {
    const r = (await redisCmd(redis.port, 'PUBSUB', 'NUMSUB', ch)) as [Buffer, number];
    if (r[1] === 1) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const pub = lines(await expectOk(ng, `/pub?ch=${ch}&msg=hello-there`));
  const subResp = await sub;
  assert.equal(subResp.status, 200, `${subResp.text}\n${ng.errorLog()}`);
  assert.equal(pub.publish, '1');
  const out = lines(subResp.text);
  assert.equal(out.subscribe, `{[1]="subscribe",[2]="${ch}",[3]=1}`);
  assert.equal(out.message, `{[1]="message",[2]="${ch}",[3]="hello-there"}, nil`);
  assert.equal(out.unsubscribe, `{[1]="unsubscribe",[2]="${ch}",[3]=0}, nil`);
  assert.equal(out.keepalive, '1', 'after the last unsubscribe the connection may be pooled');
});

test('pub/sub with light threads: a thread blocked in read_reply while the entry thread publishes', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/pubsub-threads'));
  assert.equal(out.subscribed, 'true');
  assert.equal(out.publish1, '1');
  assert.equal(out.publish2, '1');
  assert.equal(out.thread, 'true, {[1]={[1]="message",[2]="tch",[3]="one"},[2]={[1]="message",[2]="tch",[3]="two"}}');
});

test('set_keepalive, then get_reused_times > 0 on the same redis connection in the next request', { skip, todo }, async () => {
  const first = lines(await expectOk(ng, '/keepalive'));
  const second = lines(await expectOk(ng, '/keepalive'));
  assert.equal(first.keepalive, '1');
  assert.equal(second.keepalive, '1');
  const n1 = Number(first.reused);
  const n2 = Number(second.reused);
  assert.ok(n2 > 0, `reused times on the second request: ${second.reused}`);
  assert.equal(n2, n1 + 1);
  assert.equal(second.id, first.id, 'redis saw the same client connection');
});

test('error replies as the library returns them (false, "ERR ..."), connection refused, use after close', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/errors'));
  assert.equal(out.wrongtype, 'false, "WRONGTYPE Operation against a key holding the wrong kind of value"');
  assert.equal(out.notint, 'false, "ERR value is not an integer or out of range"');
  assert.equal(out['not-subscribed'], 'nil, "not subscribed"');
  assert.match(out.unknown, /^false, "ERR unknown command 'nosuchcommand'/);
  assert.equal(out['still-ok'], '"x"', 'the connection is still usable after error replies');
  assert.equal(out.refused, 'nil, "connection refused"');
  assert.equal(out['closed-get'], 'nil, "closed"');
});
