// Debian's lua-nginx-dns (`require "nginx.dns.resolver"`, lua-resty-dns as packaged) in handlers
// of our server: A, AAAA, CNAME and SRV queries over UDP (ngx.socket.udp) and TCP (tcp_query,
// ngx.socket.tcp) against a real dnsmasq on 127.0.0.1 that answers only from its command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupAll, ENGINE, expectOk, freePort, lines, missing, startDnsmasq, startEngine, type Engine, type Peer } from './harness.js';
import { todoOf } from './todo.js';

const skip = missing('dns', ['dnsmasq']);
const todo = todoOf(ENGINE, 'dns');
const todoTcp = todoOf(ENGINE, 'dns', 'dns.tcp');

let dns: Peer;
let ng: Engine;
let closedPort: number;

const RECORDS = [
  '--local=/test/', // names under .test that are not listed get NXDOMAIN
  '--local-ttl=300',
  '--host-record=a.test,10.1.2.3,fd00::1:2',
  '--host-record=two.test,10.0.0.1',
  '--host-record=two.test,10.0.0.2',
  '--cname=alias.test,a.test',
  '--srv-host=_http._tcp.svc.test,a.test,8080,10,20',
  '--srv-host=_http._tcp.svc.test,two.test,8081,20,5',
];

function server(dport: number, closed: number): string {
  // `query` is the UDP path (or tcp_query when ?tcp=1); answers sorted for a stable order
  return `
        location = /q {
            content_by_lua_block {
                local T = require "t"
                local resolver = require "nginx.dns.resolver"
                local r, err = resolver:new{
                    nameservers = { { "127.0.0.1", ${dport} } },
                    retrans = 3,
                    timeout = 3000,
                }
                if not r then error("resolver new: " .. tostring(err)) end
                local qtype = r["TYPE_" .. ngx.var.arg_type]
                local fn = ngx.var.arg_tcp and r.tcp_query or r.query
                local answers, err = fn(r, ngx.var.arg_name, { qtype = qtype })
                if not answers then
                    T.out("error", err)
                    return
                end
                if answers.errcode then
                    T.out("errcode", answers.errcode, answers.errstr)
                end
                table.sort(answers, function(a, b)
                    if a.type ~= b.type then return a.type < b.type end
                    return (a.address or a.target or a.cname or "") < (b.address or b.target or b.cname or "")
                end)
                for i, ans in ipairs(answers) do
                    T.out("answer" .. i, ans)
                end
                T.out("count", #answers)
            }
        }
        location = /dead {
            content_by_lua_block {
                local T = require "t"
                local resolver = require "nginx.dns.resolver"
                local r = resolver:new{ nameservers = { { "127.0.0.1", ${closed} } }, retrans = 2, timeout = 200 }
                T.out("tcp", r:tcp_query("a.test", { qtype = r.TYPE_A }))
            }
        }
        location = /helpers {
            content_by_lua_block {
                local T = require "t"
                local resolver = require "nginx.dns.resolver"
                T.out("no-opts", resolver:new())
                T.out("no-servers", resolver:new{ nameservers = {} })
                T.out("arpa", resolver.arpa_str("10.1.2.3"))
                T.out("compress", resolver.compress_ipv6_addr("fd00:0:0:0:0:0:1:2"))
            }
        }
`;
}

before(async () => {
  if (skip) return;
  dns = await startDnsmasq(RECORDS);
  closedPort = await freePort();
  ng = await startEngine(server(dns.port, closedPort));
});

after(cleanupAll);

const A = '{address="10.1.2.3",class=1,name="a.test",section=1,ttl=300,type=1}';
const AAAA = '{address="fd00:0:0:0:0:0:1:2",class=1,name="a.test",section=1,ttl=300,type=28}';
const CNAME = '{class=1,cname="a.test",name="alias.test",section=1,ttl=300,type=5}';
const SRV1 = '{class=1,name="_http._tcp.svc.test",port=8080,priority=10,section=1,target="a.test",ttl=300,type=33,weight=20}';
const SRV2 = '{class=1,name="_http._tcp.svc.test",port=8081,priority=20,section=1,target="two.test",ttl=300,type=33,weight=5}';

for (const [proto, q, todoHere] of [
  ['UDP', '', todo],
  ['TCP (tcp_query)', '&tcp=1', todoTcp],
] as const) {
  test(`A over ${proto}: one address, and a name with two`, { skip, todo: todoHere }, async () => {
    let out = lines(await expectOk(ng, `/q?type=A&name=a.test${q}`));
    assert.equal(out.answer1, A);
    assert.equal(out.count, '1');
    out = lines(await expectOk(ng, `/q?type=A&name=two.test${q}`));
    assert.equal(out.answer1, '{address="10.0.0.1",class=1,name="two.test",section=1,ttl=300,type=1}');
    assert.equal(out.answer2, '{address="10.0.0.2",class=1,name="two.test",section=1,ttl=300,type=1}');
    assert.equal(out.count, '2');
  });

  test(`AAAA over ${proto}`, { skip, todo: todoHere }, async () => {
    const out = lines(await expectOk(ng, `/q?type=AAAA&name=a.test${q}`));
    assert.equal(out.answer1, AAAA);
    assert.equal(out.count, '1');
  });

  test(`CNAME over ${proto}: the CNAME record, and an A query that follows it`, { skip, todo: todoHere }, async () => {
    let out = lines(await expectOk(ng, `/q?type=CNAME&name=alias.test${q}`));
    assert.equal(out.answer1, CNAME);
    assert.equal(out.count, '1');
    out = lines(await expectOk(ng, `/q?type=A&name=alias.test${q}`));
    assert.equal(out.answer1, A);
    assert.equal(out.answer2, CNAME);
    assert.equal(out.count, '2');
  });

  test(`SRV over ${proto}`, { skip, todo: todoHere }, async () => {
    const out = lines(await expectOk(ng, `/q?type=SRV&name=_http._tcp.svc.test${q}`));
    assert.equal(out.answer1, SRV1);
    assert.equal(out.answer2, SRV2);
    assert.equal(out.count, '2');
  });

  test(`a name that does not exist over ${proto}: errcode 3, "name error", no answers`, { skip, todo: todoHere }, async () => {
    const out = lines(await expectOk(ng, `/q?type=A&name=nonexistent.test${q}`));
    assert.equal(out.errcode, '3, "name error"');
    assert.equal(out.count, '0');
  });
}

test('tcp_query to a closed port: the library reports "connection refused"', { skip, todo: todoTcp }, async () => {
  const out = lines(await expectOk(ng, '/dead'));
  assert.equal(out.tcp, `nil, "failed to connect to TCP server 127.0.0.1:${closedPort}: connection refused"`);
});

test('argument checks and helpers that need no socket', { skip, todo: todoOf(ENGINE, 'dns.helpers') }, async () => {
  const out = lines(await expectOk(ng, '/helpers'));
  assert.equal(out['no-opts'], 'nil, "no options table specified"');
  assert.equal(out['no-servers'], 'nil, "no nameservers specified"');
  assert.equal(out.arpa, '"3.2.1.10.in-addr.arpa"');
  assert.equal(out.compress, '"fd00::1:2"');
});
