// sslhandshake on a cosocket, end to end: a node TLS server on 127.0.0.1 with a certificate
// made here by openssl, and a handler that connects, upgrades, talks, pools the TLS connection
// and takes it again from the pool. The lines expected are those the reference printed for the
// same handler (its session is cdata where ours is a string, so only its presence is printed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cleanup, freePort, makePrefix, startServer, request, waitFor, type Server } from './helpers.js';

let srv: Server;
let peer: tls.Server;
let port: number;

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ngxlua-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  peer = tls.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (s) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write('echo:' + d.toString('latin1')));
  });
  const peerPort = await new Promise<number>((r) => peer.listen(0, '127.0.0.1', () => r((peer.address() as { port: number }).port)));
  port = await freePort();
  const conf = `daemon off;
error_log logs/error.log info;
events {}
http {
  server {
    listen 127.0.0.1:${port};
    location /tls { content_by_lua_block {
      local sock = ngx.socket.tcp()
      sock:settimeout(2000)
      local ok, err = sock:connect("127.0.0.1", ${peerPort})
      if not ok then ngx.say("connect: ", err) return end
      local sess, err = sock:sslhandshake(nil, "localhost", false)
      ngx.say("session: ", sess ~= nil, " ", err)
      for i = 1, 3 do
        ngx.say(sock:send("ping" .. i .. "\\n"))
        ngx.say(sock:receive())
      end
      ngx.say("keepalive: ", sock:setkeepalive())
      local again = ngx.socket.tcp()
      ngx.say(again:connect("127.0.0.1", ${peerPort}))
      ngx.say("reused: ", again:getreusedtimes())
      ngx.say(again:sslhandshake(false, "localhost", false))
      ngx.say(again:send("again\\n"))
      ngx.say(again:receive())
      ngx.say(again:close())
    } }
    location /verify { content_by_lua_block {
      local sock = ngx.socket.tcp()
      sock:settimeout(2000)
      sock:connect("127.0.0.1", ${peerPort})
      ngx.say(sock:sslhandshake(nil, "localhost", true))
    } }
  }
}
`;
  srv = await startServer(makePrefix(conf), port);
});

after(async () => {
  await srv?.stop();
  peer?.close();
  await cleanup();
});

test('sslhandshake, then send/receive, the pool and a second handshake on the pooled connection', async () => {
  const r = await request(port, '/tls');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString('latin1'), [
    'session: true nil',
    '6', 'echo:ping1', '6', 'echo:ping2', '6', 'echo:ping3',
    'keepalive: 1',
    '1', 'reused: 1', 'true', '6', 'echo:again', '1', '',
  ].join('\n'));
});

test('a self-signed peer fails verification with the reference\'s error and log line', async () => {
  const r = await request(port, '/verify');
  assert.match(r.body.toString('latin1'), /^nil18: self-signed certificate\n$/);
  // the error log is written in batches
  await waitFor(() => /lua ssl certificate verify error: \(18: self-signed certificate\)/.test(srv.errorLog()), 'the verify error in the log');
});
