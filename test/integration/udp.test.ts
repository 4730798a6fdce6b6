// ngx.socket.udp end to end: ngxlua serving a conf whose handlers talk to a node:dgram echo
// server on 127.0.0.1 — byte-exact datagrams, truncation, timeouts and their log lines, ICMP
// "connection refused", argument errors, timers, and names resolved through a dnsmasq started
// on a loopback port (skipped when dnsmasq is not installed). Expected texts are the reference's
// (nginx + lua-nginx-module 0.10.23).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cleanup, freePort, makePrefix, startServer, request, waitFor, type Server } from './helpers.js';

const DNSMASQ = '/usr/sbin/dnsmasq';

let srv: Server;
let echo: dgram.Socket;
let echoPort: number;
let deadPort: number;
let dnsPort = 0;
let dns: ChildProcess | null = null;

/** A UDP port nothing listens on (bound then released). */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function startDnsmasq(): Promise<void> {
  if (!existsSync(DNSMASQ)) return;
  for (let attempt = 0; attempt < 5 && !dns; attempt++) {
    const port = await freePort();
    const p = spawn(DNSMASQ, [
      '--no-daemon', '--conf-file=/dev/null', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
      '--no-resolv', '--no-hosts', '--local=/local/', '--local=/invalid/',
      '--host-record=test.local,127.0.0.1', '--host-record=v6only.local,::1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.setEncoding('utf8');
    p.stderr!.on('data', (d: string) => (err += d));
    const exited = new Promise<boolean>((r) => p.once('exit', () => r(false)));
    // dnsmasq prints "started" once it listens; give up after a bounded wait
    const ok = await Promise.race([
      waitFor(() => err.includes('started'), 'dnsmasq to start', 100).then(() => true, () => false),
      exited,
    ]);
    if (ok) {
      dns = p;
      dnsPort = port;
    } else if (p.exitCode === null) {
      p.kill('SIGKILL');
    }
  }
}

before(async () => {
  echo = dgram.createSocket('udp4');
  echo.on('message', (m, r) => {
    const s = m.toString('latin1');
    if (s === 'silent') return;
    if (s === 'twice') {
      echo.send('one', r.port, r.address);
      echo.send('two', r.port, r.address);
      return;
    }
    echo.send(m, r.port, r.address);
  });
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  echoPort = echo.address().port;
  deadPort = await freeUdpPort();
  await startDnsmasq();
  const port = await freePort();
  const conf = `daemon off;
error_log logs/error.log info;
events {}
http {
  lua_socket_read_timeout 5s;
  server {
    listen 127.0.0.1:${port};
    location = /bytes {
      content_by_lua_block {
        local t = {}
        for i = 0, 255 do t[#t + 1] = string.char(i) end
        local all = table.concat(t)
        local s = ngx.socket.udp()
        assert(s:setpeername("127.0.0.1", ${echoPort}))
        assert(s:send(all))
        local got = assert(s:receive())
        assert(s:send({ t[1], { table.concat(t, "", 2, 128), { table.concat(t, "", 129) } } }))
        local got2 = assert(s:receive())
        ngx.print(got, got2)
        s:close()
      }
    }
    location = /types {
      content_by_lua_block {
        local s = ngx.socket.udp()
        ngx.say(s:setpeername("127.0.0.1", ${echoPort}))
        for _, v in ipairs({ 42, 3.5, true, false, { "a", 1, { "b", 2.5 } } }) do
          ngx.say(s:send(v), " ", s:receive())
        end
        ngx.say(s:send(nil), " ", s:receive())
        ngx.say(s:send(string.rep("x", 1000)), " ", #s:receive(), " ", s:send("abcdef"), " ", s:receive(3))
        ngx.say(s:send("abc"), " [", s:receive(0), "] ", s:send("twice"), " ", s:receive(), " ", s:receive())
        ngx.say(s:close(), " ", select(2, s:close()))
      }
    }
    location = /timeout {
      content_by_lua_block {
        local s = ngx.socket.udp()
        s:settimeout(30)
        ngx.say(s:setpeername("127.0.0.1", ${echoPort}))
        ngx.say(s:send("silent"))
        ngx.say(s:receive())
        ngx.say(s:send("after"), " ", s:receive())
      }
    }
    location = /timeout-quiet {
      lua_socket_log_errors off;
      lua_socket_read_timeout 30ms;
      content_by_lua_block {
        local s = ngx.socket.udp()
        s:setpeername("127.0.0.1", ${echoPort})
        s:send("silent")
        ngx.say(s:receive())
        ngx.say(s:send("x"), " ", s:receive())
        ngx.log(ngx.ERR, "quiet done")
      }
    }
    location = /refused {
      content_by_lua_block {
        local s = ngx.socket.udp()
        ngx.say(s:setpeername("127.0.0.1", ${deadPort}))
        ngx.say(s:send("hello"))
        ngx.say(s:receive())
      }
    }
    location = /closed {
      content_by_lua_block {
        local s = ngx.socket.udp()
        ngx.say(s:send("x"))
        ngx.say(s:receive())
        ngx.say(s:close())
      }
    }
    location = /busy {
      content_by_lua_block {
        local s = ngx.socket.udp()
        s:settimeout(50)
        s:setpeername("127.0.0.1", ${echoPort})
        s:send("silent")
        local th = ngx.thread.spawn(function() return s:receive() end)
        ngx.say(s:receive())
        ngx.say(s:close())
        ngx.say(s:setpeername("127.0.0.1", ${echoPort}))
        ngx.say(ngx.thread.wait(th))
        ngx.say(s:close())
      }
    }
    location = /args {
      content_by_lua_block {
        local s = ngx.socket.udp()
        ngx.say(pcall(ngx.socket.udp, 1))
        ngx.say(pcall(s.setpeername, s))
        ngx.say(pcall(s.setpeername, s, "a", 1, 2))
        ngx.say(pcall(s.setpeername, s, {}, 1))
        ngx.say(pcall(s.setpeername, s, "127.0.0.1", "x"))
        ngx.say(s:setpeername("127.0.0.1", 70000))
        ngx.say(s:setpeername("127.0.0.1", -1))
        ngx.say(s:setpeername("::1", 53))
        ngx.say(s:setpeername("", 53))
        ngx.say(s:setpeername("unix:", 53))
        ngx.say(s:setpeername("[zz]", 53))
        ngx.say(s:setpeername("a/b", 53))
        ngx.say(s:setpeername("nowhere.test", 53))
        ngx.say(s:setpeername("127.0.0.1", ${echoPort}))
        ngx.say(pcall(s.send, s))
        ngx.say(pcall(s.send, s, print))
        ngx.say(pcall(s.send, s, { a = 1 }))
        ngx.say(pcall(s.send, s, { true }))
        ngx.say(pcall(s.receive, s, "a"))
        ngx.say(pcall(s.receive, s, 1, 2))
        ngx.say(pcall(s.settimeout, s))
        ngx.say(pcall(s.close, s, 1))
        local ok, err = pcall(function() return s:send(ngx.null) end)
        ngx.say((string.gsub(err, "^.-:%d+: ", "")))
      }
    }
    location = /timer {
      content_by_lua_block {
        local res
        local ok, err = ngx.timer.at(0, function()
          local s = ngx.socket.udp()
          s:setpeername("127.0.0.1", ${echoPort})
          s:send("from a timer")
          res = s:receive()
        end)
        for _ = 1, 200 do
          if res then break end
          ngx.sleep(0.01)
        end
        ngx.say(res)
      }
    }
    location = /no-resolver {
      content_by_lua_block {
        local s = ngx.socket.udp()
        ngx.say(s:setpeername("localhost", ${echoPort}))
      }
    }
    location = /resolve {
      resolver 127.0.0.1:${dnsPort || 9};
      resolver_timeout 2s;
      content_by_lua_block {
        local s = ngx.socket.udp()
        ngx.say(s:setpeername("test.local", ${echoPort}))
        ngx.say(s:send("via dns"), " ", s:receive())
        ngx.say(s:setpeername("TEST.LOCAL:${echoPort}"))
        ngx.say(s:send("port in host"), " ", s:receive())
        ngx.say(s:setpeername("missing.invalid", 53))
        ngx.say(s:setpeername("sub.test.local", 53))
      }
    }
  }
}
`;
  srv = await startServer(makePrefix(conf), port);
});

after(async () => {
  if (srv) await srv.stop();
  if (dns && dns.exitCode === null) {
    const gone = new Promise((r) => dns!.once('exit', r));
    dns.kill('SIGTERM');
    await gone;
  }
  if (echo) echo.close();
  await cleanup();
});

/** The error log is written asynchronously: wait (bounded) for a line matching re. */
const logHas = (re: RegExp) => waitFor(() => re.test(srv.errorLog()), `error log line ${re}`, 100).then(() => true, () => false);

const get = async (p: string) => {
  const r = await request(srv.port, p);
  return { status: r.status, text: r.body.toString('latin1') };
};

test('all 256 byte values make the round trip, as a string and as a nested table', async () => {
  const r = await request(srv.port, '/bytes');
  assert.equal(r.status, 200, srv.errorLog());
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.deepEqual(r.body, Buffer.concat([all, all]));
});

test('send() serialises numbers, booleans, nil and arrays; receive(size) truncates; receive(0) eats a datagram', async () => {
  const r = await get('/types');
  assert.equal(
    r.text,
    '1\n1 42\n1 3.5\n1 true\n1 false\n1 a1b2.5\n1 nil\n1 1000 1 abc\n1 [] 1 one two\n1 closed\n',
  );
});

test('read timeout returns "timeout", logs "lua udp socket read timed out", and leaves the socket usable', async () => {
  const r = await get('/timeout');
  assert.equal(r.text, '1\n1\nniltimeout\n1 after\n');
  assert.ok(await logHas(/\[error\] .*lua udp socket read timed out, client: 127\.0\.0\.1, .*request: "GET \/timeout HTTP\/1\.1"/), srv.errorLog());
});

test('lua_socket_log_errors off silences the timeout line; lua_socket_read_timeout is the default', async () => {
  const r = await get('/timeout-quiet');
  assert.equal(r.text, 'niltimeout\n1 x\n');
  assert.ok(await logHas(/quiet done/), srv.errorLog());
  assert.doesNotMatch(srv.errorLog(), /read timed out.*GET \/timeout-quiet/);
});

test('an ICMP port unreachable on the connected socket becomes "connection refused"', async () => {
  const r = await get('/refused');
  assert.equal(r.text, '1\n1\nnilconnection refused\n');
  assert.ok(await logHas(/\[error\] .*recv\(\) failed \(111: Connection refused\).*GET \/refused/), srv.errorLog());
});

test('operations on a socket with no peer return "closed" and log the attempt', async () => {
  const r = await get('/closed');
  assert.equal(r.text, 'nilclosed\nnilclosed\nnilclosed\n');
  const log = srv.errorLog();
  assert.ok(await logHas(/\[error\] .*attempt to send data on a closed socket: u:0000000000000000, c:0000000000000000, client: .*GET \/closed/), log);
  assert.ok(await logHas(/\[error\] .*attempt to receive data on a closed socket: u:0000000000000000, c:0000000000000000/), log);
});

test('a second reader, close() and setpeername() during a receive get "socket busy"', async () => {
  const r = await get('/busy');
  // the spawned thread waits first; the entry thread's calls find the socket busy, then the waiter times out
  assert.equal(r.text, 'nilsocket busy\nnilsocket busy\nnilsocket busy\ntrue' + 'nil' + 'timeout\n1\n');
});

test('argument errors use ngx_lua words', async () => {
  const r = await get('/args');
  assert.equal(r.status, 200, srv.errorLog());
  assert.equal(
    r.text,
    [
      'falseexpecting zero arguments, but got 1',
      'falsengx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen 1',
      'falsengx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen 4',
      "falsebad argument #2 to '?' (string expected, got table)",
      "falsebad argument #3 to '?' (number expected, got string)",
      'nilbad port number: 70000',
      'nilbad port number: -1',
      'nilfailed to parse host name "::1": invalid port',
      'nilfailed to parse host name "": no host',
      'nilfailed to parse host name "unix:": no path in the unix domain socket',
      'nilfailed to parse host name "[zz]": invalid IPv6 address',
      'nilfailed to parse host name "a/b": invalid host',
      'nilno resolver defined to resolve "nowhere.test"',
      '1',
      'falseexpecting 2 arguments (including the object), but got 1',
      "falsebad argument #2 to '?' (string, number, boolean, nil, or array table expected, got function)",
      "falsebad argument #2 to '?' (non-array table found)",
      "falsebad argument #2 to '?' (bad data type boolean found)",
      "falsebad argument #2 to '?' (number expected, got string)",
      'falseexpecting 1 or 2 arguments (including the object), but got 3',
      'falsengx.socket settimeout: expecting at least 2 arguments (including the object) but seen 1',
      'falseexpecting 1 argument (including the object) but seen 2',
      // a method call in tail position: LuaJIT (and so the reference) has no name for it
      "bad argument #2 to '?' (string, number, boolean, nil, or array table expected, got userdata)",
      '',
    ].join('\n'),
  );
});

test('sockets work in ngx.timer callbacks', async () => {
  const r = await get('/timer');
  assert.equal(r.text, 'from a timer\n');
});

test('names need the resolver directive', async () => {
  const r = await get('/no-resolver');
  assert.equal(r.text, 'nilno resolver defined to resolve "localhost"\n');
});

test('names resolve through the resolver directive (dnsmasq on a loopback port)', { skip: !existsSync(DNSMASQ) && 'dnsmasq not installed' }, async () => {
  assert.ok(dns, 'dnsmasq did not start');
  const r = await get('/resolve');
  assert.equal(
    r.text,
    [
      '1',
      '1 via dns',
      '1',
      '1 port in host',
      'nilmissing.invalid could not be resolved (3: Host not found)',
      'nilsub.test.local could not be resolved (3: Host not found)',
      '',
    ].join('\n'),
  );
});
