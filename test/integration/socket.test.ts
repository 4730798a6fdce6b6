// Cosockets end to end: ngxlua with a conf whose handlers talk to small node:net peers started
// here on 127.0.0.1 (echo, close midway, silent, refused, unix socket), plus ngx.req.socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cleanup, freePort, makePrefix, startServer, request, waitFor, type Server } from './helpers.js';

let srv: Server;
let port: number;
const peers: net.Server[] = [];
const P: Record<string, number> = {};
let refused = 0;
const unixPath = path.join(tmpdir(), `ngxlua-sock-${process.pid}.sock`);

function listen(s: net.Server, where: number | string): Promise<number> {
  peers.push(s);
  return new Promise((resolve) => {
    if (typeof where === 'string') s.listen(where, () => resolve(0));
    else s.listen(where, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port));
  });
}

const ALL = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

before(async () => {
  const echo = net.createServer((c) => {
    c.on('error', () => {});
    c.on('data', (d) => c.write(d));
    c.on('end', () => c.end());
  });
  P.echo = await listen(echo, 0);
  P.closer = await listen(net.createServer((c) => { c.on('error', () => {}); c.end('hel\rlo\r\nwor'); }), 0);
  P.silent = await listen(net.createServer((c) => { c.on('error', () => {}); }), 0);
  // sends the 256 byte values then closes
  P.bytes = await listen(net.createServer((c) => { c.on('error', () => {}); c.end(ALL); }), 0);
  await listen(net.createServer((c) => { c.on('error', () => {}); c.on('data', (d) => c.write(d)); }), unixPath);
  refused = await freePort();
  port = await freePort();
  const loc = (name: string, code: string) => `location /${name} { content_by_lua_block { ${code} } }`;
  const conf = `daemon off;
error_log logs/error.log info;
events {}
http {
  lua_socket_log_errors on;
  server {
    listen 127.0.0.1:${port};
    ${loc('refused', `local s = ngx.socket.tcp() ngx.say(s:connect("127.0.0.1", ${refused})) ngx.say(s:receive()) ngx.say(s:send("x")) ngx.say(s:close())`)}
    ${loc('nounix', `local s = ngx.socket.tcp() ngx.say(s:connect("unix:/nonexistent/ngxlua.sock"))`)}
    ${loc('unix', `local s = ngx.socket.tcp() ngx.say(s:connect("unix:${unixPath}")) ngx.say(s:send("hi\\n")) ngx.say(s:receive()) s:close()`)}
    ${loc('timeout', `local s = ngx.socket.tcp() s:settimeout(100) ngx.say(s:connect("127.0.0.1", ${P.silent})) ngx.say(s:receive()) ngx.say(s:receive(3)) ngx.say(s:receiveany(3)) ngx.say(s:send("still usable")) s:close()`)}
    ${loc('closer', `local s = ngx.socket.tcp() ngx.say(s:connect("127.0.0.1", ${P.closer})) ngx.say(s:receive()) ngx.say(s:receive()) ngx.say(s:receive()) ngx.say(s:setkeepalive())`)}
    ${loc('closer5', `local s = ngx.socket.tcp() s:connect("127.0.0.1", ${P.closer}) ngx.say(s:receive(50))`)}
    ${loc('closerall', `local s = ngx.socket.tcp() s:connect("127.0.0.1", ${P.closer}) ngx.say(s:receive("*a")) ngx.say(s:receive("*a"))`)}
    ${loc('closeruntil', `local s = ngx.socket.tcp() s:connect("127.0.0.1", ${P.closer}) local it = s:receiveuntil("\\r\\n") ngx.say(it()) ngx.say(it())`)}
    ${loc('bytes', `
      local forms = { "*a", 256, "until", "any" }
      for _, f in ipairs(forms) do
        local s = ngx.socket.tcp()
        assert(s:connect("127.0.0.1", ${P.bytes}))
        local data, err, part
        if f == "until" then data, err, part = s:receiveuntil("\\255")()
        elseif f == "any" then
          local t = {}
          while true do local d = s:receiveany(1000) if not d then break end t[#t + 1] = d end
          data = table.concat(t)
        else data, err, part = s:receive(f) end
        ngx.say(f, " ", data and #data or err, " ", ngx.md5(data or ""))
        s:close()
      end`)}
    ${loc('big', `
      local s = ngx.socket.tcp()
      assert(s:connect("127.0.0.1", ${P.echo}))
      local t = {}
      for i = 0, 255 do t[#t + 1] = string.char(i) end
      local all = table.concat(t)
      local big = string.rep(all, 4096)
      ngx.say("sent ", s:send(big))
      local got = assert(s:receive(#big))
      ngx.say("size ", got == big)
      -- a line may hold any byte but LF; CRs are dropped from it
      local noeol = (big:gsub("\\n", ""))
      ngx.say("sent ", s:send({noeol, "\\n", all, "\\r\\n"}))
      local line = assert(s:receive("*l"))
      ngx.say("line ", line == (noeol:gsub("\\r", "")))
      -- the rest, "all\\r\\n", holds an LF at byte 10: read it with receiveuntil
      local it = s:receiveuntil("\\r\\n")
      ngx.say("until ", it() == all)
      s:send(big .. "--END--")
      local it2 = s:receiveuntil("--END--", { inclusive = true })
      ngx.say("until-incl ", it2() == big .. "--END--")
      s:send(big)
      local n, parts = 0, 0
      while n < #big do local d = assert(s:receiveany(65536)) n = n + #d parts = parts + 1 end
      ngx.say("any ", n)
      s:close()`)}
    ${loc('pool', `
      local out = {}
      for i = 1, 4 do
        local s = ngx.socket.tcp()
        assert(s:connect("127.0.0.1", ${P.echo}))
        out[#out + 1] = s:getreusedtimes()
        s:send("ping\\n") s:receive()
        assert(s:setkeepalive())
      end
      local s = ngx.socket.tcp()
      assert(s:connect("127.0.0.1", ${P.echo}, { pool = "other" }))
      out[#out + 1] = s:getreusedtimes()
      -- echoed back but never asked for: still in the kernel for nginx, so "dubious"
      s:send("x")
      ngx.sleep(0.05)
      out[#out + 1] = select(2, s:setkeepalive())
      s:close()
      ngx.say(table.concat(out, " "))`)}
    ${loc('gc', `
      for i = 1, 50 do
        local s = ngx.socket.tcp()
        assert(s:connect("127.0.0.1", ${P.silent}))
      end
      collectgarbage() collectgarbage()
      ngx.say("ok")`)}
    ${loc('args', `
      local s = ngx.socket.tcp()
      ngx.say(pcall(s.receive, 1))
      ngx.say(pcall(s.connect, s))
      ngx.say(pcall(s.connect, s, "127.0.0.1", 1, {pool_size = 0}))
      ngx.say(s:connect("127.0.0.1", 70000))
      ngx.say(s:connect("127.0.0.1"))
      ngx.say(pcall(s.settimeout, s, -1))
      ngx.say(s:receiveuntil(""))
      ngx.say(pcall(ngx.socket.tcp, 1))`)}
    ${loc('reqbody', `
      local sock = assert(ngx.req.socket())
      for i = 1, 3 do
        local data, err, part = sock:receive(5)
        if data then ngx.say("received: ", data) else ngx.say("failed: ", err, " [", part, "]") end
      end`)}
    ${loc('raw', `
      local sock = assert(ngx.req.socket(true))
      local line = sock:receive()
      sock:send("HTTP/1.1 200 OK\\r\\nContent-Length: " .. #line .. "\\r\\nConnection: close\\r\\n\\r\\n" .. line)`)}
    ${loc('cycle', `
      local a = ngx.var.arg_a
      local s = ngx.socket.tcp()
      s:settimeouts(200, 200, 20)
      if a == "fail" then s:connect("127.0.0.1", ${refused})
      elseif a == "timeout" then s:connect("127.0.0.1", ${P.silent}) s:receive()
      elseif a == "pool" then s:connect("127.0.0.1", ${P.echo}) s:send("a\\n") s:receive() s:setkeepalive()
      else s:connect("127.0.0.1", ${P.echo}) end
      ngx.say("ok")`)}
  }
}
`;
  srv = await startServer(makePrefix(conf), port);
});

after(async () => {
  await srv?.stop();
  for (const p of peers) p.close();
  await cleanup();
});

async function get(p: string): Promise<string> {
  const r = await request(port, p);
  return r.body.toString('latin1');
}

test('connection refused: return values and error-log lines', async () => {
  assert.equal(await get('/refused'), 'nilconnection refused\nnilclosed\nnilclosed\nnilclosed\n');
  await waitFor(() => /send data on a closed/.test(srv.errorLog()), 'the log lines');
  const log = srv.errorLog();
  assert.match(log, /\[error\] .*connect\(\) failed \(111: Connection refused\), client: 127\.0\.0\.1/);
  assert.match(log, /attempt to receive data on a closed socket: u:/);
  assert.match(log, /attempt to send data on a closed socket: u:/);
});

test('missing unix socket: no such file or directory, logged at crit', async () => {
  assert.equal(await get('/nounix'), 'nilno such file or directory\n');
  await waitFor(() => /connect\(\) to unix:/.test(srv.errorLog()), 'the log line');
  assert.match(srv.errorLog(), /\[crit\] .*connect\(\) to unix:\/nonexistent\/ngxlua\.sock failed \(2: No such file or directory\)/);
});

test('unix socket round trip', async () => {
  assert.equal(await get('/unix'), '1\n3\nhi\n');
});

test('read timeouts leave the socket usable and are logged', async () => {
  assert.equal(await get('/timeout'), '1\nniltimeout\nniltimeout\nniltimeout\n12\n');
  await waitFor(() => /read timed out/.test(srv.errorLog()), 'the log line');
  assert.match(srv.errorLog(), /\[error\] .*lua tcp socket read timed out, client: /);
});

test('peer closing midway: partial data, then closed', async () => {
  assert.equal(await get('/closer'), '1\nhello\nnilclosedwor\nnilclosed\nnilclosed\n');
  assert.equal(await get('/closer5'), 'nilclosedhel\rlo\r\nwor\n');
  assert.equal(await get('/closerall'), 'hel\rlo\r\nwor\n\n');
  assert.equal(await get('/closeruntil'), 'hel\rlo\nnilclosedwor\n');
});

test('all 256 byte values through every receive form', async () => {
  const crypto = await import('node:crypto');
  const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');
  assert.equal(await get('/bytes'), [
    `*a 256 ${md5(ALL)}`, `256 256 ${md5(ALL)}`, `until 255 ${md5(ALL.subarray(0, 255))}`, `any 256 ${md5(ALL)}`,
  ].join('\n') + '\n');
});

test('1 MiB payloads through send and every receive form', async () => {
  assert.equal(await get('/big'), 'sent 1048576\nsize true\nsent 1044739\nline true\nuntil true\nuntil-incl true\nany 1048576\n');
});

test('pool: reuse counts, named pools, unread data refused', async () => {
  assert.equal(await get('/pool'), '0 1 2 3 0 connection in dubious state\n');
});

test('argument errors and immediate failures', async () => {
  assert.equal(await get('/args'), [
    "falsebad argument #1 to '?' (table expected, got number)",
    'falsengx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen 1',
    `falsebad argument #4 to '?' (bad "pool_size" option value: 0)`,
    'nilbad port number: 70000',
    'nilmissing the port number',
    'falsebad timeout value',
    'nilpattern is empty',
    'falseexpecting zero arguments, but got 1',
  ].join('\n') + '\n');
});

test('ngx.req.socket(): body reader stops at the end of the body', async () => {
  const r = await request(port, '/reqbody', { body: 'hello world' });
  assert.equal(r.body.toString(), 'received: hello\nreceived:  worl\nfailed: closed [d]\n');
});

test('ngx.req.socket(true): raw full duplex', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write('GET /raw HTTP/1.1\r\nHost: x\r\n\r\nping-line\r\n'));
    let got = '';
    c.on('data', (d) => (got += d.toString('latin1')));
    c.on('end', () => resolve(got));
    c.on('error', reject);
    c.setTimeout(5000, () => c.destroy(new Error('raw timeout')));
  });
  assert.match(body, /^HTTP\/1\.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nping-line$/);
});

test('sockets dropped without close are collected', async () => {
  assert.equal(await get('/gc'), 'ok\n');
});

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

test('no descriptor leaks over connect / fail / timeout / pool cycles', async () => {
  const pid = srv.proc.pid!;
  for (const a of ['ok', 'fail', 'timeout', 'pool']) await get(`/cycle?a=${a}`);
  const before = fdCount(pid);
  const kinds = ['ok', 'fail', 'timeout', 'pool'];
  for (let i = 0; i < 200; i += 8) {
    await Promise.all(Array.from({ length: 8 }, (_, k) => get(`/cycle?a=${kinds[(i + k) % 4]}`)));
  }
  // the pooled connection may be parked once; allow a small slack for it and lingering clients
  let afterN = fdCount(pid);
  for (let i = 0; i < 50 && afterN > before + 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    afterN = fdCount(pid);
  }
  assert.ok(afterN <= before + 2, `fds before ${before}, after ${afterN}`);
  void readFileSync;
});
