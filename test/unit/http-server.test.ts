// HTTP server tests over raw sockets. Response bytes follow what the reference nginx 1.22.1
// sends (with our server token in place of nginx/1.22.1).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { HttpServer } from '../../src/http/server.js';
import type { HttpExchange, ServerOptions } from '../../src/http/types.js';

type Handler = (ex: HttpExchange) => void;

const servers: HttpServer[] = [];
after(async () => {
  for (const s of servers) {
    s.closeIdle();
    await Promise.race([s.close(), new Promise((r) => setTimeout(r, 500))]);
  }
});

async function start(handler: Handler, over: Partial<ServerOptions> = {}): Promise<{ srv: HttpServer; port: number }> {
  const srv = new HttpServer({
    onRequest: handler,
    clientHeaderBufferSize: 1024,
    largeClientHeaderBuffers: { num: 4, size: 8192 },
    keepaliveTimeout: 5000,
    keepaliveRequests: 1000,
    serverToken: 'ngxlua/0.1.0',
    ...over,
  });
  await srv.listen('127.0.0.1', 0);
  servers.push(srv);
  return { srv, port: srv.address().port };
}

const hello: Handler = (ex) => {
  const body = Buffer.from(`hello ${ex.req.uri}\n`);
  ex.sendHead({ status: 200, contentType: 'text/plain', contentLength: body.length, headers: [] });
  ex.write(body);
  ex.end();
};

/** A raw client: collects everything; `until` resolves on a predicate or on close. */
class Client {
  sock: net.Socket;
  data = Buffer.alloc(0);
  closed = false;
  private waiters: Array<() => void> = [];
  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('data', (d) => { this.data = Buffer.concat([this.data, d]); this.wake(); });
    this.sock.on('close', () => { this.closed = true; this.wake(); });
    this.sock.on('error', () => { /* resets are expected in some tests */ });
  }
  ready(): Promise<void> {
    return new Promise((r) => (this.sock.connecting ? this.sock.once('connect', () => r()) : r()));
  }
  send(s: string | Buffer): void {
    this.sock.write(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  }
  text(): string {
    return this.data.toString('latin1').replace(/^Date: .*\r\n/gm, 'Date: X\r\n');
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  async until(pred: (t: string) => boolean, ms = 2000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!pred(this.text())) {
      if (this.closed) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; got ${JSON.stringify(this.text())}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
    return this.text();
  }
  untilClosed(ms = 2000): Promise<string> {
    return this.until(() => this.closed, ms);
  }
  /** count of complete responses seen so far (by status lines) */
  count(): number {
    return (this.text().match(/HTTP\/1\.1 \d\d\d /g) ?? []).length;
  }
  close(): void {
    this.sock.destroy();
  }
}

async function once(port: number, req: string): Promise<string> {
  const c = new Client(port);
  c.send(req);
  return c.untilClosed();
}

test('GET: nginx header order, Date format, keep-alive', async () => {
  const { port } = await start(hello);
  const c = new Client(port);
  c.send('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.until((t) => t.endsWith('hello /x\n'));
  assert.match(c.data.toString('latin1'), /\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
  assert.equal(c.text(),
    'HTTP/1.1 200 OK\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n' +
    'Connection: keep-alive\r\n\r\nhello /x\n');
  c.close();
});

test('header order with Last-Modified, Location and extra headers', async () => {
  const { port } = await start((ex) => {
    ex.sendHead({
      status: 302, contentType: 'text/html', contentLength: 0, location: 'http://a/b',
      lastModified: 'Thu, 01 Jan 1970 00:00:00 GMT', headers: [['X-A', '1'], ['Set-Cookie', 'k=v']],
    });
    ex.end();
  });
  const t = await once(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(t,
    'HTTP/1.1 302 Moved Temporarily\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Type: text/html\r\n' +
    'Content-Length: 0\r\nLast-Modified: Thu, 01 Jan 1970 00:00:00 GMT\r\nLocation: http://a/b\r\n' +
    'Connection: close\r\nX-A: 1\r\nSet-Cookie: k=v\r\n\r\n');
});

test('unknown status codes have an empty reason', async () => {
  const { port } = await start((ex) => { ex.sendHead({ status: 555, contentLength: 0, headers: [] }); ex.end(); });
  const t = await once(port, 'GET / HTTP/1.0\r\n\r\n');
  assert.ok(t.startsWith('HTTP/1.1 555 \r\nServer: ngxlua/0.1.0\r\n'), t);
});

test('pipelining: three requests in one write are answered in order', async () => {
  const order: string[] = [];
  const { port } = await start((ex) => {
    order.push(ex.req.uri);
    // the first one answers late: the others must wait for it
    if (ex.req.uri === '/1') setTimeout(() => hello(ex), 50);
    else hello(ex);
  });
  const c = new Client(port);
  c.send('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const t = await c.untilClosed();
  assert.deepEqual(order, ['/1', '/2', '/3']);
  const bodies = t.match(/hello \/\d/g);
  assert.deepEqual(bodies, ['hello /1', 'hello /2', 'hello /3']);
  assert.equal((t.match(/Connection: keep-alive/g) ?? []).length, 2);
  assert.ok(t.includes('Connection: close'));
});

test('keep-alive: the same connection serves several requests', async () => {
  const { srv, port } = await start(hello);
  const c = new Client(port);
  for (let i = 1; i <= 3; i++) {
    c.send(`GET /k${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
    await c.until((t) => t.endsWith(`hello /k${i}\n`));
  }
  assert.equal(srv.connections, 1);
  assert.equal(c.closed, false);
  c.close();
});

test('keepalive_requests: the last allowed request gets Connection: close', async () => {
  const { port } = await start(hello, { keepaliveRequests: 2 });
  const c = new Client(port);
  c.send('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n');
  const t = await c.untilClosed();
  assert.equal(c.count(), 2);
  assert.ok(t.includes('Connection: keep-alive'));
  assert.ok(t.endsWith('Connection: close\r\n\r\nhello /2\n'), t);
});

test('keepalive_timeout closes an idle connection', async () => {
  const { srv, port } = await start(hello, { keepaliveTimeout: 100 });
  const c = new Client(port);
  c.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.until((t) => t.endsWith('hello /\n'));
  const t0 = Date.now();
  await c.untilClosed(3000);
  assert.ok(Date.now() - t0 >= 60);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(srv.connections, 0);
});

test('HTTP/1.0: keep-alive only on request; no length means close-delimited body', async () => {
  const { port } = await start((ex) => {
    ex.sendHead({ status: 200, contentType: 'text/plain', headers: [] });
    ex.write(Buffer.from('abc'));
    ex.write(Buffer.from('def'));
    ex.end();
  });
  const t = await once(port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  assert.equal(t, 'HTTP/1.1 200 OK\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nabcdef');
  const { port: p2 } = await start(hello);
  const c = new Client(p2);
  c.send('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const t2 = await c.until((x) => x.endsWith('hello /\n'));
  assert.ok(t2.includes('Connection: keep-alive'));
  c.close();
  const t3 = await once(p2, 'GET / HTTP/1.0\r\n\r\n');
  assert.ok(t3.includes('Connection: close') && t3.endsWith('hello /\n'));
});

test('HTTP/0.9: body only', async () => {
  const { port } = await start(hello);
  assert.equal(await once(port, 'GET /nine\r\n'), 'hello /nine\n');
});

test('chunked response: every write is a chunk, end() writes the last chunk', async () => {
  const { port } = await start((ex) => {
    ex.sendHead({ status: 200, contentType: 'text/plain', headers: [['X-Y', 'z']] });
    ex.write(Buffer.from('hello '));
    ex.write(Buffer.alloc(0)); // must not end the body
    setTimeout(() => { ex.write(Buffer.from('world, and more')); ex.end(); }, 10);
  });
  const c = new Client(port);
  c.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const t = await c.until((x) => x.endsWith('0\r\n\r\n'));
  assert.equal(t,
    'HTTP/1.1 200 OK\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n' +
    'Connection: keep-alive\r\nX-Y: z\r\n\r\n6\r\nhello \r\nf\r\nworld, and more\r\n0\r\n\r\n');
  c.close();
});

test('HEAD: headers only even when the handler writes a body', async () => {
  const { port } = await start((ex) => {
    ex.sendHead({ status: 200, contentType: 'text/plain', contentLength: 5, headers: [] });
    ex.write(Buffer.from('hello'));
    ex.end();
  });
  const c = new Client(port);
  c.send('HEAD / HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const t = await c.untilClosed();
  const one = 'HTTP/1.1 200 OK\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n';
  assert.equal(t, one + 'Connection: keep-alive\r\n\r\n' + one + 'Connection: close\r\n\r\n');
  // without a length: no chunking for HEAD either
  const { port: p2 } = await start((ex) => { ex.sendHead({ status: 200, headers: [] }); ex.write(Buffer.from('x')); ex.end(); });
  const t2 = await once(p2, 'HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(t2, 'HTTP/1.1 200 OK\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nConnection: close\r\n\r\n');
});

test('204 and 304 carry no body', async () => {
  const { port } = await start((ex) => {
    const status = ex.req.uri === '/204' ? 204 : 304;
    ex.sendHead({ status, contentType: 'text/plain', headers: [] });
    ex.write(Buffer.from('nope'));
    ex.end();
  });
  const c = new Client(port);
  c.send('GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const t = await c.untilClosed();
  assert.equal(t,
    'HTTP/1.1 204 No Content\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nConnection: keep-alive\r\n\r\n' +
    'HTTP/1.1 304 Not Modified\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n');
});

const echoBody = (max: number): Handler => (ex) => {
  ex.readBody(max, (err, body) => {
    if (err !== null) return ex.sendErrorPage(err);
    ex.sendHead({ status: 200, contentType: 'text/plain', contentLength: body!.length, headers: [] });
    ex.write(body!);
    ex.end();
  });
};

test('request body: Content-Length, then the next request on the same connection', async () => {
  const { port } = await start(echoBody(0));
  const c = new Client(port);
  c.send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello');
  await new Promise((r) => setTimeout(r, 20));
  c.send(' worldGET /after HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok');
  const t = await c.until((x) => x.endsWith('hello worldok') || x.endsWith('ok'));
  assert.ok(t.includes('Content-Length: 11\r\nConnection: keep-alive\r\n\r\nhello world'), t);
  await c.until((x) => x.endsWith('\r\n\r\nok'));
  c.close();
});

test('request body: chunked, split across writes, with extensions and trailers', async () => {
  const { port } = await start(echoBody(0));
  const c = new Client(port);
  c.send('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel');
  await new Promise((r) => setTimeout(r, 20));
  c.send('lo\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
  const t = await c.until((x) => x.split('HTTP/1.1 ').length === 3 && x.endsWith('\r\n\r\n'));
  assert.ok(t.includes('Content-Length: 21\r\nConnection: keep-alive\r\n\r\nhello world0123456789'), t);
  c.close();
});

test('request body: bad chunk framing → 400', async () => {
  const { port } = await start(echoBody(0));
  const t = await once(port, 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n');
  assert.ok(t.startsWith('HTTP/1.1 400 Bad Request\r\n'), t);
  assert.ok(t.includes('Connection: close'));
});

test('request body: 413 when larger than maxSize (length known or chunked)', async () => {
  const { port } = await start(echoBody(10));
  const t = await once(port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n01234567890123456789');
  assert.equal(t,
    'HTTP/1.1 413 Request Entity Too Large\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Type: text/html\r\n' +
    'Content-Length: 183\r\nConnection: close\r\n\r\n<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n' +
    '<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>ngxlua/0.1.0</center>\r\n</body>\r\n</html>\r\n');
  const t2 = await once(port, 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n');
  assert.ok(t2.startsWith('HTTP/1.1 413 '), t2);
});

test('unread and discarded bodies do not break keep-alive', async () => {
  const { port } = await start((ex) => {
    if (ex.req.uri === '/discard') ex.discardBody();
    hello(ex);
  });
  const c = new Client(port);
  c.send('POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde' +
    'POST /discard HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
    'GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const t = await c.untilClosed();
  assert.deepEqual(t.match(/hello \/\w+/g), ['hello /ignore', 'hello /discard', 'hello /last']);
});

test('Expect: 100-continue is answered when the body is read', async () => {
  const { port } = await start(echoBody(0));
  const c = new Client(port);
  c.send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
  await c.until((x) => x === 'HTTP/1.1 100 Continue\r\n\r\n');
  c.send('abc');
  await c.until((x) => x.endsWith('\r\n\r\nabc'));
  c.close();
});

const errPage = (status: number, title: string, h1 = title, extra = ''): string => {
  const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${h1}</h1></center>\r\n${extra}` +
    '<hr><center>ngxlua/0.1.0</center>\r\n</body>\r\n</html>\r\n';
  const line = status === 494 ? '400 Bad Request' : title;
  return `HTTP/1.1 ${line}\r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
};

test('malformed requests: nginx error pages, then close', async () => {
  const { port } = await start(hello);
  const long = 'a'.repeat(9000);
  const cases: Array<[string, string]> = [
    ['GET / HTTP/1.1\r\n\r\n', errPage(400, '400 Bad Request')],
    ['garbage\r\n\r\n', errPage(400, '400 Bad Request')],
    ['GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n', errPage(400, '400 Bad Request')],
    ['GET /../a HTTP/1.1\r\nHost: x\r\n\r\n', errPage(400, '400 Bad Request')],
    ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', errPage(400, '400 Bad Request')],
    ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', errPage(400, '400 Bad Request')],
    ['GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', errPage(501, '501 Not Implemented')],
    ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', errPage(505, '505 HTTP Version Not Supported')],
    [`GET /${long} HTTP/1.1\r\nHost: x\r\n\r\n`, errPage(414, '414 Request-URI Too Large')],
    [`GET / HTTP/1.1\r\nHost: x\r\nX-A: ${long}\r\n\r\n`,
      errPage(494, '400 Request Header Or Cookie Too Large', '400 Bad Request', '<center>Request Header Or Cookie Too Large</center>\r\n')],
  ];
  for (const [req, want] of cases) {
    assert.equal(await once(port, req), want, JSON.stringify(req.slice(0, 60)));
  }
});

test('a good request before a bad one in the same packet is still answered', async () => {
  const { port } = await start(hello);
  const t = await once(port, 'GET /ok HTTP/1.1\r\nHost: a\r\n\r\nBAD\r\n\r\n');
  assert.ok(t.includes('hello /ok\n'));
  assert.ok(t.endsWith('</html>\r\n') && t.includes('HTTP/1.1 400 Bad Request'));
});

test('sendErrorPage: keep-alive for 404, close for 500, no page for 418, MSIE padding', async () => {
  const { port } = await start((ex) => ex.sendErrorPage(Number(ex.req.uri.slice(1))));
  const c = new Client(port);
  c.send('GET /404 HTTP/1.1\r\nHost: a\r\n\r\n');
  const t = await c.until((x) => x.endsWith('</html>\r\n'));
  assert.ok(t.includes('Content-Length: 153\r\nConnection: keep-alive\r\n'), t);
  c.send('GET /418 HTTP/1.1\r\nHost: a\r\n\r\n');
  const t2 = await c.until((x) => x.endsWith('HTTP/1.1 418 \r\nServer: ngxlua/0.1.0\r\nDate: X\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n'));
  assert.ok(t2);
  c.send('GET /500 HTTP/1.1\r\nHost: a\r\n\r\n');
  const t3 = await c.untilClosed();
  assert.ok(t3.endsWith(errPage(500, '500 Internal Server Error')), t3);
  const t4 = await once(port, 'GET /404 HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0)\r\nConnection: close\r\n\r\n');
  assert.ok(t4.includes('Content-Length: 555\r\n') && t4.endsWith('friendly error page -->\r\n'));
  const t5 = await once(port, 'GET /408 HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(t5, '');
});

test('client reset mid-response: abort callback, no crash, server keeps serving', async () => {
  let abortedSeen = false;
  let writesAfterAbort = 0;
  const { port, srv } = await start((ex) => {
    if (ex.req.uri !== '/slow') return hello(ex);
    ex.onAbort(() => { abortedSeen = true; });
    ex.sendHead({ status: 200, contentType: 'text/plain', headers: [] });
    const chunk = Buffer.alloc(64 * 1024, 97);
    const timer = setInterval(() => {
      if (ex.aborted) {
        writesAfterAbort++;
        ex.write(chunk); // must be harmless
        ex.end();
        clearInterval(timer);
        return;
      }
      ex.write(chunk);
    }, 5);
  });
  const c = new Client(port);
  c.send('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.until((x) => x.length > 1000);
  c.sock.resetAndDestroy();
  const deadline = Date.now() + 2000;
  while (!(abortedSeen && writesAfterAbort > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(abortedSeen, true);
  const t = await once(port, 'GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.ok(t.endsWith('hello /fine\n'));
  assert.ok(srv.connections <= 1);
});

test('backpressure: write() returns false, onDrain fires once the client reads', async () => {
  let sawFalse = false;
  let drained = false;
  const { port } = await start((ex) => {
    ex.sendHead({ status: 200, contentType: 'text/plain', headers: [] });
    const chunk = Buffer.alloc(256 * 1024, 98);
    const pump = (): void => {
      for (let i = 0; i < 64; i++) {
        if (!ex.write(chunk)) {
          sawFalse = true;
          ex.onDrain(() => { drained = true; ex.end(); });
          return;
        }
      }
      ex.end();
    };
    pump();
  });
  const c = new Client(port);
  c.sock.pause();
  c.send('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sawFalse, true);
  assert.equal(drained, false);
  c.sock.resume();
  await c.untilClosed(5000);
  assert.equal(drained, true);
  assert.ok(c.text().endsWith('0\r\n\r\n'));
});

test('close(): graceful — in-flight request finishes, then the server stops', async () => {
  const { srv, port } = await start((ex) => setTimeout(() => hello(ex), 100));
  const idle = new Client(port);
  await idle.ready();
  const c = new Client(port);
  c.send('GET /inflight HTTP/1.1\r\nHost: a\r\n\r\n');
  await new Promise((r) => setTimeout(r, 30));
  const closing = srv.close();
  const t = await c.untilClosed();
  assert.ok(t.endsWith('hello /inflight\n'), t);
  assert.ok(t.includes('Connection: close'));
  await idle.untilClosed();
  await closing;
  assert.equal(srv.connections, 0);
});

test('a throwing handler gets a 500 and the process survives', async () => {
  const { port } = await start(() => { throw new Error('boom'); }, { log: () => {} });
  const t = await once(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.ok(t.startsWith('HTTP/1.1 500 Internal Server Error\r\n'), t);
});

test('request fields: addresses, rawHeader, startTime', async () => {
  let seen: HttpExchange | null = null;
  const { port } = await start((ex) => { seen = ex; hello(ex); });
  await once(port, 'GET /f?a=b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
  const ex = seen as HttpExchange | null;
  assert.ok(ex);
  assert.equal(ex.req.remoteAddr, '127.0.0.1');
  assert.equal(ex.req.serverPort, port);
  assert.ok(ex.req.remotePort > 0);
  assert.equal(ex.req.rawHeader, 'GET /f?a=b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
  assert.ok(Math.abs(ex.req.startTime - Date.now()) < 5000);
  assert.ok(ex.bytesSent > 100);
});

test('413 is sent without waiting for the rest of a large body', async () => {
  const { port } = await start(echoBody(10));
  const c = new Client(port);
  c.send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n' + 'x'.repeat(100));
  const t = await c.until((x) => x.endsWith('</html>\r\n'));
  assert.ok(t.startsWith('HTTP/1.1 413 Request Entity Too Large\r\n'));
  assert.ok(t.includes('Connection: close'));
  c.close();
});

test('terminate(): drops the unfinished response and closes at once', async () => {
  const { port } = await start((ex) => {
    if (ex.req.uri !== '/t') return hello(ex);
    ex.sendHead({ status: 200, contentType: 'text/plain', headers: [] });
    ex.write(Buffer.from('partial'));
    (ex as HttpExchange & { terminate(): void }).terminate();
  });
  const t = await once(port, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /t HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.ok(t.endsWith('hello /a\n'), t);
  assert.ok(!t.includes('partial'));
});
