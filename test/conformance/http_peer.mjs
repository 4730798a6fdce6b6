// A deterministic HTTP/1.1 upstream for proxy cases, on raw sockets so that every byte it sends
// is fixed. It answers each request on a connection in turn (keep-alive unless told otherwise).
// What it does depends on a `/_word` segment anywhere in the request path (so that it works
// behind any proxy_pass URI rewriting); without one it answers 200 with the raw request it
// received (request line, headers, body) as the body, which lets a case see exactly what the
// proxy sent. Words:
//   /_name            body "<name>\n" (which peer answered, for round-robin cases)
//   /_status/NNN      status NNN, body "status NNN\n"
//   /_chunked         chunked response: "one\n", "two\n", "three\n"
//   /_close           no Content-Length: the body ends when the peer closes
//   /_slow            the head after 500 ms
//   /_hang            never answers
//   /_conn            body "conn N req M\n": N numbers the connections, M the requests on it
//   /_big             256 KiB of "0123456789abcdef"
//   /_reset           resets the connection after reading the request
//   /_badhead         a reply without a status line
//   /_headers         Server, Date, X-Pad, X-Accel-Expires, two Set-Cookie, Location, X-Custom
//   /_redirect        302 to http://127.0.0.1:<own port>/up/there
//   /_trunc           Content-Length 100, then 5 bytes and close
//   /_noctype         200 without Content-Type
import net from 'node:net';

const BIG = Buffer.from('0123456789abcdef'.repeat(16384));

export function startHttpPeer(name, port = 0) {
  let conns = 0;
  const sockets = new Set();
  const timers = new Set();
  const later = (ms, fn) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };
  const srv = net.createServer((sock) => {
    const connNo = ++conns;
    let reqs = 0;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let busy = false;
    const pump = () => {
      if (busy) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end + 4).toString('latin1');
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let bodyLen = cl ? Number(cl[1]) : 0;
      let raw;
      if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        // dechunk just enough to find the end (the dump shows the chunked bytes as sent)
        const term = buf.indexOf('\r\n0\r\n\r\n', end);
        if (term < 0) return;
        raw = buf.subarray(0, term + 7);
      } else {
        if (buf.length < end + 4 + bodyLen) return;
        raw = buf.subarray(0, end + 4 + bodyLen);
      }
      buf = buf.subarray(raw.length);
      reqs++;
      busy = true;
      answer(sock, raw, head, () => {
        busy = false;
        pump();
      });
    };
    const answer = (s, raw, head, next) => {
      const path = head.slice(0, head.indexOf('\r\n')).split(' ')[1] ?? '/';
      const m = /\/_([a-z]+)(?:\/(\d+))?/.exec(path);
      const word = m ? m[1] : '';
      const send = (status, reason, headers, body) => {
        let h = `HTTP/1.1 ${status} ${reason}\r\n`;
        for (const [k, v] of headers) h += `${k}: ${v}\r\n`;
        if (body !== null) h += `Content-Length: ${body.length}\r\n`;
        s.write(h + '\r\n', 'latin1');
        if (body !== null && body.length) s.write(body);
        next();
      };
      const text = (t) => Buffer.from(t, 'latin1');
      const plain = [['Content-Type', 'text/plain'], ['X-Peer', name]];
      switch (word) {
        case 'name':
          return send(200, 'OK', plain, text(`${name}\n`));
        case 'status': {
          const st = Number(m[2] ?? 200);
          return send(st, 'Whatever', plain, st === 204 || st === 304 ? text('') : text(`status ${st}\n`));
        }
        case 'chunked':
          s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n4\r\none\n\r\n4\r\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n', 'latin1');
          return next();
        case 'close':
          s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil close\n', 'latin1');
          return;
        case 'slow':
          return later(500, () => send(200, 'OK', plain, text('slow\n')));
        case 'hang':
          return;
        case 'conn':
          return send(200, 'OK', plain, text(`conn ${connNo} req ${reqs}\n`));
        case 'big':
          return send(200, 'OK', plain, BIG);
        case 'reset':
          s.resetAndDestroy();
          return;
        case 'badhead':
          s.end('garbage\r\n\r\n', 'latin1');
          return;
        case 'headers':
          return send(200, 'OK', [['Server', 'peer'], ['Date', 'Thu, 01 Jan 1970 00:00:00 GMT'], ['X-Pad', 'pad'], ['X-Accel-Expires', '10'],
            ['Content-Type', 'text/html; charset=utf-8'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Location', '/elsewhere'], ['X-Custom', 'yes']], text('headers\n'));
        case 'redirect':
          return send(302, 'Found', [['Location', `http://127.0.0.1:${srv.address().port}/up/there`], ...plain], text('moved\n'));
        case 'trunc':
          s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nshort', 'latin1');
          return;
        case 'noctype':
          return send(200, 'OK', [['X-Peer', name]], text('no type\n'));
        default:
          return send(200, 'OK', [['Content-Type', 'text/x-dump'], ['X-Peer', name]], raw);
      }
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      pump();
    });
    sock.on('end', () => sock.end());
  });
  return new Promise((resolve, reject) => {
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve({
      port: srv.address().port,
      stop() {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        return new Promise((res) => srv.close(() => res()));
      },
    }));
  });
}
