// Peer servers for cosocket cases: small deterministic TCP / UDP / unix-socket servers on
// 127.0.0.1, started once per run by run.mjs (before any engine) and stopped at the end. Both
// engines talk to the same peers. Cases reach them through placeholders in conf text and in
// expected strings: `{{PEER_ECHO}}` becomes the echo peer's port, `{{PEER_UNIX}}` a socket path,
// and so on (see PLACEHOLDERS below and README.md).
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { startHttpPeer } from './http_peer.mjs';

// Fixed payloads, exported so that case files can build their expectations from them.
// close_after: sent on connect, then the peer closes (FIN). Ends without a newline.
export const CLOSE_PAYLOAD = 'line one\r\nline two\nthree\rstill three\r\ntail';
// chunks: sent in CHUNK_SIZE-byte pieces CHUNK_GAP ms apart, then the peer closes.
export const CHUNKS_PAYLOAD = 'alpha--sep--beta--sep--gamma--se--sep--delta';
export const CHUNK_SIZE = 3;
export const CHUNK_GAP = 5;
// big: BIG_UNIT repeated BIG_REPEAT times (1 MiB), then the peer closes.
export const BIG_UNIT = '0123456789abcdef';
export const BIG_REPEAT = 65536;
// greeting: sent on connect; afterwards the peer echoes.
export const GREETING = 'hello\r\n';
// delayed: after DELAYED_MS ms of silence sends DELAYED_PAYLOAD and then echoes.
export const DELAYED_MS = 300;
export const DELAYED_PAYLOAD = 'late\r\n';

// reset_now: resets this long after accepting.
export const RESET_NOW_MS = 20;

const MAX_LIFETIME_MS = 60 * 60 * 1000; // a peer set never outlives an hour, whatever happens

// What each placeholder means (for README / --help); values are filled in by startPeers().
export const PLACEHOLDERS = {
  PEER_ECHO: 'TCP: echoes every byte; closes after the client half-closes',
  PEER_LINES: 'TCP: answers each line X (\\n-terminated, a trailing \\r dropped) with "got: X\\r\\n"; line "quit" closes',
  PEER_CLOSE_AFTER: `TCP: writes CLOSE_PAYLOAD ${JSON.stringify(CLOSE_PAYLOAD)} on connect, then closes`,
  PEER_SLOW: 'TCP: accepts and never writes (closes when the client does)',
  PEER_GREETING: 'TCP: writes "hello\\r\\n" on connect, then echoes',
  PEER_DELAYED: `TCP: silent for ${DELAYED_MS} ms, then writes ${JSON.stringify(DELAYED_PAYLOAD)}, then echoes`,
  PEER_CHUNKS: `TCP: writes CHUNKS_PAYLOAD in ${CHUNK_SIZE}-byte pieces ${CHUNK_GAP} ms apart, then closes`,
  PEER_BIG: 'TCP: writes 1 MiB (BIG_UNIT x BIG_REPEAT) on connect, then closes',
  PEER_RESET: 'TCP: resets the connection (RST) as soon as any data arrives',
  PEER_RESET_NOW: `TCP: resets the connection (RST) ${RESET_NOW_MS} ms after accepting it, whatever happens`,
  PEER_COUNTER: 'TCP: numbers its connections 1, 2, ...; answers each line with "conn N\\r\\n"',
  PEER_BLACKHOLE: 'TCP: a listener whose accept queue is full: connects to it time out',
  PORT_CLOSED: 'a TCP port nobody listens on (connection refused)',
  PEER_UDP_ECHO: 'UDP: echoes every datagram',
  PEER_UDP_SINK: 'UDP: receives and never answers',
  PEER_UDP_CLOSED: 'a UDP port nobody is bound to',
  PEER_UNIX: 'unix stream socket path: echoes every byte',
  PEER_HTTP: 'HTTP/1.1 upstream "a" (test/conformance/http_peer.mjs): echoes the raw request as its body; /_word paths for other behaviours',
  PEER_HTTP_B: 'the same HTTP upstream, named "b"',
  PEER_UNIX_MISSING: 'a unix socket path that does not exist',
};

function listenTcp(handler, opts = {}) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer({ allowHalfOpen: true, ...opts }, handler);
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

function listenUnix(handler, file) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer({ allowHalfOpen: true }, handler);
    srv.on('error', reject);
    srv.listen(file, () => resolve(srv));
  });
}

function bindUdp(onMessage) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', reject);
    if (onMessage) s.on('message', (msg, rinfo) => onMessage(s, msg, rinfo));
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function freeUdpPort() {
  const s = await bindUdp(null);
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// --- behaviours -------------------------------------------------------------------------------

const sockets = new Set(); // every accepted socket, destroyed on stop
const timers = new Set();
function track(sock) {
  sockets.add(sock);
  sock.on('close', () => sockets.delete(sock));
  sock.on('error', () => { /* the client may reset; nothing to do */ });
  return sock;
}
function later(ms, fn) {
  const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
  timers.add(t);
}

const echo = (sock) => {
  track(sock);
  sock.on('data', (d) => sock.write(d));
  sock.on('end', () => sock.end());
};

function lineReader(sock, onLine) {
  let buf = '';
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      let line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      onLine(line);
    }
  });
  sock.on('end', () => sock.end());
}

const lines = (sock) => {
  track(sock);
  lineReader(sock, (line) => {
    if (line === 'quit') sock.end();
    else if (!sock.writableEnded) sock.write(`got: ${line}\r\n`, 'latin1');
  });
};

const closeAfter = (sock) => {
  track(sock);
  sock.on('data', () => {});
  sock.end(CLOSE_PAYLOAD, 'latin1');
};

const slow = (sock) => {
  track(sock);
  sock.on('data', () => {});
  sock.on('end', () => sock.end());
};

const greeting = (sock) => {
  echo(sock);
  sock.write(GREETING, 'latin1');
};

const delayed = (sock) => {
  track(sock);
  let ready = false;
  const pending = [];
  sock.on('data', (d) => { if (ready) sock.write(d); else pending.push(d); });
  sock.on('end', () => { if (ready) sock.end(); else pending.push(null); });
  later(DELAYED_MS, () => {
    if (sock.destroyed) return;
    ready = true;
    sock.write(DELAYED_PAYLOAD, 'latin1');
    for (const d of pending) { if (d === null) sock.end(); else sock.write(d); }
  });
};

const chunks = (sock) => {
  track(sock);
  sock.setNoDelay(true);
  sock.on('data', () => {});
  const n = Math.ceil(CHUNKS_PAYLOAD.length / CHUNK_SIZE);
  // each piece schedules the next: timers of different lengths can fire out of order when the
  // loop runs late (node runs each length's expired timers together), which swapped pieces
  let i = 0;
  const next = () => {
    if (sock.destroyed || sock.writableEnded) return;
    const piece = CHUNKS_PAYLOAD.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
    if (i === n - 1) {
      sock.end(piece, 'latin1');
      return;
    }
    sock.write(piece, 'latin1');
    i++;
    later(CHUNK_GAP, next);
  };
  later(0, next);
};

let bigBuf = null;
const big = (sock) => {
  track(sock);
  sock.on('data', () => {});
  bigBuf ??= Buffer.from(BIG_UNIT.repeat(BIG_REPEAT), 'latin1');
  sock.end(bigBuf);
};

const reset = (sock) => {
  track(sock);
  sock.once('data', () => sock.resetAndDestroy());
};

const resetNow = (sock) => {
  track(sock);
  // not at once: the client's connect must see a completed handshake first
  later(RESET_NOW_MS, () => { if (!sock.destroyed) sock.resetAndDestroy(); });
};

let connCount = 0;
const counter = (sock) => {
  track(sock);
  const id = ++connCount;
  lineReader(sock, (line) => {
    if (line === 'quit') sock.end();
    else if (!sock.writableEnded) sock.write(`conn ${id}\r\n`, 'latin1');
  });
};

// A listener (backlog 1; node turns 0 into 511) whose accept queue is kept full: it lives in a worker thread that blocks
// in Atomics.wait right after listen(), so its event loop never accepts; one filler connection
// from here occupies the single queue slot. Further SYNs are dropped by the kernel, so a connect
// hangs until the client's own timeout — a loopback-only connect timeout.
async function blackhole() {
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads');
    const net = require('node:net');
    const flag = workerData.flag;
    const srv = net.createServer(() => {});
    srv.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      parentPort.postMessage(srv.address().port);
      // wait (in bounded slices) for the parent to say stop; no event loop turn meanwhile
      const deadline = Date.now() + ${MAX_LIFETIME_MS};
      while (Atomics.load(flag, 0) === 0 && Date.now() < deadline) Atomics.wait(flag, 0, 0, 500);
      srv.close();
      process.exit(0);
    });
  `, { eval: true, workerData: { flag } });
  worker.unref();
  const port = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // fill the accept queue (backlog 1 leaves room for two connections; more for safety: the
  // extra ones stay in SYN_SENT, their retransmissions dropped like everyone else's)
  const fillers = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    s.unref();
    fillers.push(s);
  }
  await Promise.all(fillers.slice(0, 2).map((f) => new Promise((r) => { f.once('connect', r); f.once('error', r); later(1000, r); })));
  await new Promise((r) => later(50, r));
  return {
    port,
    stop: async () => {
      for (const s of fillers) s.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await Promise.race([new Promise((r) => worker.once('exit', r)), new Promise((r) => later(2000, r))]);
      await worker.terminate().catch(() => {});
    },
  };
}

// --- start / stop ----------------------------------------------------------------------------

// Starts every peer. Returns { vars: { PEER_ECHO: '12345', ... }, dir, stop() }.
export async function startPeers() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngxlua-peers-'));
  const servers = [];
  const udps = [];
  const vars = {};
  const tcp = async (name, handler) => {
    const srv = await listenTcp(handler);
    servers.push(srv);
    vars[name] = String(srv.address().port);
  };
  await tcp('PEER_ECHO', echo);
  await tcp('PEER_LINES', lines);
  await tcp('PEER_CLOSE_AFTER', closeAfter);
  await tcp('PEER_SLOW', slow);
  await tcp('PEER_GREETING', greeting);
  await tcp('PEER_DELAYED', delayed);
  await tcp('PEER_CHUNKS', chunks);
  await tcp('PEER_BIG', big);
  await tcp('PEER_RESET', reset);
  await tcp('PEER_RESET_NOW', resetNow);
  await tcp('PEER_COUNTER', counter);
  const httpA = await startHttpPeer('a');
  const httpB = await startHttpPeer('b');
  vars.PEER_HTTP = String(httpA.port);
  vars.PEER_HTTP_B = String(httpB.port);
  const unixPath = path.join(dir, 'echo.sock');
  servers.push(await listenUnix(echo, unixPath));
  vars.PEER_UNIX = unixPath;
  vars.PEER_UNIX_MISSING = path.join(dir, 'missing.sock');
  const udpEcho = await bindUdp((s, msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  const udpSink = await bindUdp(() => {});
  udps.push(udpEcho, udpSink);
  vars.PEER_UDP_ECHO = String(udpEcho.address().port);
  vars.PEER_UDP_SINK = String(udpSink.address().port);
  vars.PEER_UDP_CLOSED = String(await freeUdpPort());
  vars.PORT_CLOSED = String(await freeTcpPort());
  const bh = await blackhole();
  vars.PEER_BLACKHOLE = String(bh.port);

  // safety net: never outlive the run
  const guard = setTimeout(() => stop(), MAX_LIFETIME_MS);
  guard.unref();
  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    clearTimeout(guard);
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((srv) => new Promise((r) => srv.close(() => r()))));
    await Promise.all(udps.map((u) => new Promise((r) => u.close(() => r()))));
    await bh.stop();
    await httpA.stop();
    await httpB.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { vars, dir, stop };
}

// Replace every {{NAME}} of `vars` in text.
export function substPeers(text, vars) {
  if (!vars || !text.includes('{{')) return text;
  return text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (m, k) => (k in vars ? vars[k] : m));
}

// `node test/conformance/peers.mjs` starts the peers, prints the placeholders, and waits for
// Ctrl-C (at most 10 minutes): handy for trying a case by hand against a running engine.
if (import.meta.url === `file://${process.argv[1]}`) {
  const p = await startPeers();
  for (const [k, v] of Object.entries(p.vars)) console.log(`${k}=${v}`);
  const done = async () => { await p.stop(); process.exit(0); };
  process.on('SIGINT', done);
  setTimeout(done, 10 * 60 * 1000);
}
