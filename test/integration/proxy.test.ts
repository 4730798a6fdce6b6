// The reverse proxy against real upstream servers the test starts on loopback (node:http):
// a slow upstream holds only its own requests, proxy_buffering off streams each upstream
// write as it comes, the keepalive pool reuses connections under concurrency, a large body
// goes through intact both ways, and an upstream reset or a client abort ends one request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { cleanup, freePort, makePrefix, request, startServer, waitFor, type Server } from './helpers.js';

let ng: Server;
let up: http.Server;
let upPort = 0;
let upConns = 0;
/** resolves the waiting /stream handler's second write */
let releaseStream: (() => void) | null = null;
let releaseSlow: (() => void)[] = [];
let abortedUpstream = 0;

function startUpstream(): Promise<void> {
  up = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = req.url ?? '/';
      if (url.startsWith('/slow')) {
        // answers only when the test says so
        releaseSlow.push(() => res.end('slow done\n'));
        res.on('close', () => {
          if (!res.writableEnded) abortedUpstream++;
        });
        return;
      }
      if (url.startsWith('/stream')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first\n');
        releaseStream = () => res.end('second\n');
        return;
      }
      if (url.startsWith('/sha')) {
        res.end(createHash('sha256').update(body).digest('hex') + ` ${body.length}\n`);
        return;
      }
      if (url.startsWith('/big')) {
        res.end(Buffer.alloc(4 << 20, 'x'));
        return;
      }
      if (url.startsWith('/resetmid')) {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setImmediate(() => req.socket.resetAndDestroy());
        return;
      }
      res.end(`hello ${url}\n`);
    });
  });
  up.on('connection', () => upConns++);
  up.keepAliveTimeout = 30000;
  return new Promise((r) => up.listen(0, '127.0.0.1', () => {
    upPort = (up.address() as net.AddressInfo).port;
    r();
  }));
}

before(async () => {
  await startUpstream();
  const port = await freePort();
  const conf = `daemon off; master_process off; error_log logs/error.log info;
events { worker_connections 1024; }
http {
  upstream pool { server 127.0.0.1:${upPort}; keepalive 8; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 16m;
    location /slow { proxy_read_timeout 30s; proxy_pass http://127.0.0.1:${upPort}; }
    location /stream { proxy_buffering off; proxy_http_version 1.1; proxy_pass http://127.0.0.1:${upPort}; }
    location /pooled/ { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://pool/; }
    location /sha { proxy_pass http://127.0.0.1:${upPort}; }
    location /big { proxy_pass http://127.0.0.1:${upPort}; }
    location /resetmid { proxy_pass http://127.0.0.1:${upPort}; }
    location /lua { content_by_lua_block { ngx.say("lua answers") } }
  }
}
`;
  ng = await startServer(makePrefix(conf), port);
});

after(async () => {
  await cleanup();
  await new Promise((r) => up.close(r));
});

test('a slow upstream holds only its own requests', { timeout: 30000 }, async () => {
  releaseSlow = [];
  const slow = [1, 2, 3].map((i) => request(ng.port, `/slow/${i}`));
  await waitFor(() => releaseSlow.length === 3, 'the three slow requests to reach the upstream');
  // while three requests wait on the upstream, others are answered
  for (let i = 0; i < 5; i++) {
    const r = await request(ng.port, '/lua');
    assert.equal(r.body.toString(), 'lua answers\n');
  }
  const fast = await request(ng.port, '/sha', { body: 'x' });
  assert.equal(fast.status, 200);
  for (const f of releaseSlow) f();
  for (const r of await Promise.all(slow)) assert.equal(r.body.toString(), 'slow done\n');
});

test('proxy_buffering off: the first upstream write reaches the client before the upstream sends the rest', { timeout: 30000 }, async () => {
  releaseStream = null;
  const got = await new Promise<string>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: ng.port, path: '/stream', agent: false }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        text += d;
        // the upstream holds its second write until the first one has come through
        if (text === 'first\n') void waitFor(() => releaseStream, 'the upstream to wait').then((f) => f());
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20000, () => req.destroy(new Error('stream timed out')));
  });
  assert.equal(got, 'first\nsecond\n');
});

test('keepalive pool: 200 requests, 8 at a time, over a few upstream connections', { timeout: 60000 }, async () => {
  const before = upConns;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const one = (i: number) => new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: ng.port, path: `/pooled/n${i}`, agent }, (res) => {
      let t = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (t += d));
      res.on('end', () => resolve(t));
    }).on('error', reject);
  });
  const all = await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
  agent.destroy();
  all.forEach((t, i) => assert.equal(t, `hello /n${i}\n`));
  const opened = upConns - before;
  assert.ok(opened <= 16, `the pool opened ${opened} upstream connections for 200 requests`);
});

test('a 3 MiB request body goes up intact and a 4 MiB answer comes back whole', { timeout: 60000 }, async () => {
  const body = Buffer.alloc(3 << 20);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
  const r = await request(ng.port, '/sha', { body });
  assert.equal(r.body.toString(), `${createHash('sha256').update(body).digest('hex')} ${body.length}\n`);
  const big = await request(ng.port, '/big');
  assert.equal(big.body.length, 4 << 20);
  assert.ok(big.body.every((b) => b === 0x78));
});

test('an upstream reset in the middle of a body ends that request only', { timeout: 30000 }, async () => {
  await assert.rejects(request(ng.port, '/resetmid'));
  await waitFor(() => /recv\(\) failed \(104: Connection reset by peer\) while reading upstream|upstream prematurely closed connection while reading upstream/.test(ng.errorLog()), 'the error line');
  const r = await request(ng.port, '/lua');
  assert.equal(r.body.toString(), 'lua answers\n');
});

test('a client that goes away closes its upstream connection', { timeout: 30000 }, async () => {
  releaseSlow = [];
  const abortedBefore = abortedUpstream;
  const s = net.connect(ng.port, '127.0.0.1');
  s.on('error', () => {});
  s.write('GET /slow/gone HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => releaseSlow.length === 1, 'the request to reach the upstream');
  s.destroy();
  await waitFor(() => abortedUpstream > abortedBefore, 'the upstream connection to close');
  const r = await request(ng.port, '/lua');
  assert.equal(r.status, 200);
});
