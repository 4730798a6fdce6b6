// The floor scenario's server: the least an HTTP responder on node:net can do (find the end of
// each request head, write a fixed response), as the physical limit of Node on this machine.
// Started by bench/run.mjs like an engine: `node bench/floor.mjs -p PREFIX -c conf/nginx.conf`,
// listening on the port of the conf's first `listen`.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const args = process.argv.slice(2);
const prefix = args[args.indexOf('-p') + 1];
const conf = fs.readFileSync(path.join(prefix, args[args.indexOf('-c') + 1]), 'latin1');
const port = Number(/listen\s+127\.0\.0\.1:(\d+)/.exec(conf)[1]);
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nhello\n');
const END = Buffer.from('\r\n\r\n');

net.createServer({ noDelay: true }, (sock) => {
  let pending = Buffer.alloc(0);
  sock.on('data', (d) => {
    let buf = pending.length ? Buffer.concat([pending, d]) : d;
    let n = 0;
    for (let i = buf.indexOf(END); i >= 0; i = buf.indexOf(END)) {
      n++;
      buf = buf.subarray(i + 4);
    }
    pending = buf;
    if (n === 1) sock.write(RESPONSE);
    else if (n > 1) sock.write(Buffer.concat(Array(n).fill(RESPONSE)));
  });
  sock.on('error', () => {});
}).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
