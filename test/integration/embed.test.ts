// The embedding API (src/index.ts) in this test's own process: a server started from conf text
// on port 0, its log as records, reload and stop, configuration errors as ConfigError with
// file:line; and ngxlua.js, Lua calling the host's (async) functions: values both ways, errors,
// timeouts, the request context, contexts where it is refused, 1,000 concurrent calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, ConfigError, StartError, type NgxluaServer, type LogRecord } from '../../src/index.js';
import { request } from './helpers.js';

let srv: NgxluaServer;
let port: number;
const records: LogRecord[] = [];

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CONF = (marker: string) => `
events {}
http {
  server {
    listen 127.0.0.1:0;
    location = /marker { content_by_lua_block { ngx.say("${marker}") } }
    location = /echo {
      content_by_lua_block {
        local js = require "ngxlua.js"
        local t = js.call("echo", nil, ngx.null, true, 1.5, "text", { 1, 2, { x = "y" } }, { a = { b = { c = 1 } } })
        ngx.say(type(t), " ", t.n, " ", tostring(t.args[2] == ngx.null), " ", t.args[4], " ", t.args[5], " ", t.args[6][3].x, " ", t.args[7].a.b.c)
      }
    }
    location = /bytes {
      content_by_lua_block {
        local js = require "ngxlua.js"
        local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end
        local back = js.bytes.roundtrip(table.concat(t))
        ngx.print(back)
      }
    }
    location = /errors {
      content_by_lua_block {
        local js = require "ngxlua.js"
        ngx.say(js.call("fail.async"))
        ngx.say(js.call("fail.sync"))
        ngx.say(pcall(function() local v = js.call("fail.raise") return v end))
        ngx.say(js.call("slow"))
        ngx.say(pcall(function() local v = js.nothing.here() return v end))
        local cyc = {} cyc.self = cyc
        ngx.say(pcall(js.echo, cyc))
        ngx.say(js.call("cycle"))
        ngx.say(pcall(js.call, "echo", 1, print))
      }
    }
    location = /ctx {
      content_by_lua_block {
        local js = require "ngxlua.js"
        ngx.say(js.call("whoami"))
      }
      header_filter_by_lua_block {
        local ok, err = pcall(require("ngxlua.js").call, "echo", 1)
        ngx.header["X-Filter"] = err
      }
    }
    location = /wait {
      content_by_lua_block {
        local js = require "ngxlua.js"
        local id = ngx.var.arg_id
        ngx.say(js.wait(id))
      }
    }
    location = /log { content_by_lua_block { ngx.log(ngx.WARN, "hello from lua") ngx.say("ok") } }
    location = /heap { content_by_lua_block { collectgarbage() collectgarbage() ngx.say(collectgarbage("count")) } }
  }
}
`;

before(async () => {
  srv = await start({
    conf: CONF('first'),
    logLevel: 'warn',
    expose: {
      echo: (...args: unknown[]) => ({ n: args.length, args }),
      'bytes.roundtrip': (b: Buffer) => Buffer.from(b),
      'fail.async': async () => {
        await sleep(1);
        throw new Error('async failure');
      },
      'fail.sync': () => {
        throw new Error('sync failure');
      },
      'fail.raise': [async () => Promise.reject(new Error('raised failure')), { onError: 'raise' }],
      slow: [() => new Promise((r) => setTimeout(r, 1000)), { timeout: 20 }],
      cycle: () => {
        const o: Record<string, unknown> = {};
        o.o = o;
        return o;
      },
      whoami: [(info: { method: string; uri: string; var(n: string): string | undefined }) => `${info.method} ${info.uri} ${info.var('http_x_who')}`, { request: true }],
      wait: [async (id: string) => {
        await sleep(Math.floor(Math.random() * 21));
        return `done ${id}`;
      }, { utf8Strings: true }],
    },
  });
  srv.on('log', (r: LogRecord) => records.push(r));
  port = srv.addresses()[0].port;
});

after(async () => {
  await srv?.stop({ graceful: false });
});

test('start from conf text on port 0: addresses() gives the bound port', async () => {
  assert.ok(port > 0);
  assert.equal((await request(port, '/marker')).body.toString(), 'first\n');
});

test('values cross both ways: nil, null, booleans, numbers, strings (as Buffers), nested tables', async () => {
  const r = await request(port, '/echo');
  assert.equal(r.body.toString(), 'table 7 true 1.5 text y 1\n');
});

test('all 256 byte values cross intact, Lua -> Buffer -> Lua', async () => {
  const r = await request(port, '/bytes');
  assert.deepEqual(r.body, ALL_BYTES);
});

test('errors: rejected and thrown give nil, message; raise mode, timeouts, unknown names, cycles, functions', async () => {
  const r = await request(port, '/errors');
  assert.equal(r.status, 200, r.body.toString());
  const lines = r.body.toString().split('\n');
  assert.equal(lines[0], 'nilasync failure');
  assert.equal(lines[1], 'nilsync failure');
  assert.match(lines[2], /^falsecontent_by_lua\(.*\):\d+: raised failure$/);
  assert.equal(lines[3], 'niltimeout');
  assert.match(lines[4], /^falsecontent_by_lua\(.*\):\d+: no JS function "nothing.here" is exposed$/);
  assert.equal(lines[5], 'falsecannot pass argument 1 to "echo": a table that contains itself (a cycle) cannot be passed');
  assert.equal(lines[6], 'nilcannot convert the result: an object that contains itself (a cycle) cannot be returned');
  assert.equal(lines[7], 'falsecannot pass argument 2 to "echo": a function has no JS form');
});

test('a function declared with request: true sees the calling request; filters may not call', async () => {
  const r = await request(port, '/ctx', { headers: { 'X-Who': 'me' } });
  assert.equal(r.body.toString(), 'GET /ctx me\n');
  assert.match(String(r.headers['x-filter']), /API disabled in the context of header_filter_by_lua\*/);
});

test('1,000 concurrent requests, each awaiting a JS function that resolves after 0-20 ms: every answer is its own', async () => {
  const heap0 = Number((await request(port, '/heap')).body.toString());
  const N = 1000;
  const results = await Promise.all(Array.from({ length: N }, (_, i) => request(port, `/wait?id=${i}`, { timeoutMs: 20000 })));
  results.forEach((r, i) => assert.equal(r.body.toString(), `done ${i}\n`));
  const heap1 = Number((await request(port, '/heap')).body.toString());
  assert.ok(heap1 < heap0 * 1.1 + 64, `Lua heap ${heap0} KB before, ${heap1} KB after`);
});

test('the error log as records: level, message, request context', async () => {
  await request(port, '/log');
  await sleep(20);
  const rec = records.find((r) => r.message.includes('hello from lua'));
  assert.ok(rec, JSON.stringify(records));
  assert.equal(rec.level, 'warn');
  assert.match(rec.message, /^\[lua\] content_by_lua\(.*\):1: hello from lua$/);
  assert.equal(rec.context?.request, 'GET /log HTTP/1.1');
});

test('reload: new requests see the new conf; a bad one throws ConfigError and the old goes on', async () => {
  await srv.reload(CONF('second'));
  assert.equal((await request(port, '/marker')).body.toString(), 'second\n');
  await assert.rejects(srv.reload('events {}\nhttp {\n  no_such_directive on;\n}\n'), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.detail, 'unknown directive "no_such_directive"');
    assert.equal(e.line, 3);
    assert.match(e.message, /unknown directive "no_such_directive" in .*:3$/);
    return true;
  });
  assert.equal((await request(port, '/marker')).body.toString(), 'second\n');
});

test('start: a bad conf is a ConfigError, a port in use a StartError', async () => {
  await assert.rejects(start({ conf: 'events {}\nhttp { server { listen 127.0.0.1:0; location / { bogus; } } }\n' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /unknown directive "bogus"/);
    return true;
  });
  await assert.rejects(start({ conf: `events {}\nhttp { server { listen 127.0.0.1:${port}; } }\n` }), (e: unknown) => {
    assert.ok(e instanceof StartError);
    assert.match(e.message, /bind\(\) to 127\.0\.0\.1:\d+ failed \(98: Address already in use\)/);
    return true;
  });
});

test('middleware: a node:http server hands some routes to ngxlua (phases, ngx API, cosockets, capture, JS calls)', async () => {
  const http = await import('node:http');
  const net = await import('node:net');
  // a line-echo peer for the cosocket
  const echo = net.createServer((s) => s.on('data', (d) => s.write(`echo: ${d}`)));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  const echoPort = (echo.address() as import('node:net').AddressInfo).port;
  const mw = await start({
    listen: false,
    conf: `events {}
http {
  server {
    listen 127.0.0.1:0;
    location = /lua/hello {
      rewrite_by_lua_block { ngx.ctx.seen = "rewrite" }
      access_by_lua_block { if ngx.var.arg_deny then return ngx.exit(403) end }
      content_by_lua_block {
        ngx.header["X-Lua"] = "yes"
        ngx.say("hello ", ngx.var.arg_name, " via ", ngx.ctx.seen, " ", ngx.req.get_headers()["x-test"])
      }
    }
    location = /lua/body {
      content_by_lua_block { ngx.req.read_body() ngx.say("got ", #ngx.req.get_body_data(), " bytes: ", ngx.req.get_body_data()) }
    }
    location = /lua/sock {
      content_by_lua_block {
        local s = ngx.socket.tcp()
        assert(s:connect("127.0.0.1", ${echoPort}))
        s:send("ping\\n")
        ngx.say(s:receive())
        s:close()
      }
    }
    location = /lua/inner { content_by_lua_block { ngx.print("inner:", ngx.var.arg_x) } }
    location = /lua/capture {
      content_by_lua_block { local r = ngx.location.capture("/lua/inner", { args = { x = 7 } }) ngx.say(r.status, " ", r.body) }
    }
    location = /lua/js {
      content_by_lua_block { ngx.say(require("ngxlua.js").twice(21)) }
    }
  }
}
`,
    expose: { twice: async (n: number) => n * 2 },
  });
  const host = http.createServer((req, res) => {
    if (req.url?.startsWith('/lua/')) return mw.middleware()(req, res);
    res.end('from node\n');
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
  const hp = (host.address() as import('node:net').AddressInfo).port;
  try {
    assert.equal(mw.addresses().length, 0);
    assert.equal((await request(hp, '/other')).body.toString(), 'from node\n');
    const h = await request(hp, '/lua/hello?name=ann', { headers: { 'X-Test': 't1' } });
    assert.equal(h.status, 200);
    assert.equal(h.body.toString(), 'hello ann via rewrite t1\n');
    assert.equal(h.headers['x-lua'], 'yes');
    assert.match(String(h.headers.server), /^ngxlua\//);
    const d = await request(hp, '/lua/hello?deny=1');
    assert.equal(d.status, 403);
    assert.match(d.body.toString(), /<title>403 Forbidden<\/title>/);
    const b = await request(hp, '/lua/body', { method: 'POST', body: 'abc123' });
    assert.equal(b.body.toString(), 'got 6 bytes: abc123\n');
    assert.equal((await request(hp, '/lua/sock')).body.toString(), 'echo: ping\n');
    assert.equal((await request(hp, '/lua/capture')).body.toString(), '200 inner:7\n');
    assert.equal((await request(hp, '/lua/js')).body.toString(), '42\n');
    assert.equal((await request(hp, '/lua/missing')).status, 404);
  } finally {
    await new Promise((r) => host.close(r));
    echo.close();
    await mw.stop();
  }
});
