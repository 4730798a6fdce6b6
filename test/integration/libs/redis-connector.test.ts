// Debian's lua-nginx-redis-connector (`require "nginx.redis.connector"`, lua-resty-redis-connector
// 0.06 as packaged, on top of `nginx.redis`) in handlers of our server, against a real
// redis-server on 127.0.0.1: connect by DSN url, database selection, set_keepalive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupAll, ENGINE, expectOk, freePort, lines, missing, startEngine, startRedis, type Engine, type Peer } from './harness.js';
import { redisCmds } from './wire.js';
import { todoOf } from './todo.js';

const skip = missing('connector', ['redis-server']);
const todo = todoOf(ENGINE, 'connector');

let redis: Peer;
let ng: Engine;
let closedPort: number;

function server(rport: number, closed: number): string {
  return `
        location = /url {
            content_by_lua_block {
                local T = require "t"
                local rc = require("nginx.redis.connector").new()
                local redis, err = rc:connect{ url = "redis://127.0.0.1:${rport}/" .. ngx.var.arg_db }
                T.out("connect", redis ~= nil, err)
                if not redis then return end
                T.out("set", redis:set("rc-key", "db" .. ngx.var.arg_db))
                T.out("get", redis:get("rc-key"))
                T.out("reused", redis:get_reused_times())
                T.out("keepalive", rc:set_keepalive(redis))
            }
        }
        location = /params {
            content_by_lua_block {
                local T = require "t"
                local rc = require("nginx.redis.connector").new{ connect_timeout = 2000, read_timeout = 2000 }
                local redis, err = rc:connect{ host = "127.0.0.1", port = ${rport}, db = 3 }
                T.out("connect", redis ~= nil, err)
                if not redis then return end
                T.out("get", redis:get("rc-key"))
                redis:close()
            }
        }
        location = /refused {
            content_by_lua_block {
                local T = require "t"
                local rc = require("nginx.redis.connector").new()
                T.out("refused", rc:connect{ url = "redis://127.0.0.1:${closed}/0" })
                T.out("bad-field", pcall(rc.connect, rc, { no_such_field = 1 }))
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

test('connect{ url = "redis://127.0.0.1:N/0" }: set/get, then set_keepalive through the connector', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/url?db=0'));
  assert.equal(out.connect, 'true, nil');
  assert.equal(out.set, '"OK"');
  assert.equal(out.get, '"db0"');
  assert.equal(out.keepalive, '1');
  const second = lines(await expectOk(ng, '/url?db=0'));
  assert.ok(Number(second.reused) > 0, `reused times on the second request: ${second.reused}`);
});

test('the db in the url is selected (redis sees the key in that database only)', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/url?db=3'));
  assert.equal(out.connect, 'true, nil');
  assert.equal(out.get, '"db3"');
  const [sel3, get3, sel5, get5] = await redisCmds(redis.port, [['SELECT', 3], ['GET', 'rc-key'], ['SELECT', 5], ['GET', 'rc-key']]);
  assert.equal(sel3, 'OK');
  assert.deepEqual(get3, Buffer.from('db3'));
  assert.equal(sel5, 'OK');
  assert.equal(get5, null);
  const p = lines(await expectOk(ng, '/params'));
  assert.equal(p.connect, 'true, nil');
  assert.equal(p.get, '"db3"');
});

test('errors: connection refused, and an unknown config field', { skip, todo }, async () => {
  const out = lines(await expectOk(ng, '/refused'));
  assert.equal(out.refused, 'nil, "connection refused"');
  assert.match(out['bad-field'], /^false, ".*field no_such_field does not exist"$/);
});
