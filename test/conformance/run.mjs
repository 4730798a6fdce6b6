#!/usr/bin/env node
// Differential conformance runner: runs the declarative cases in ./cases/*.mjs against the
// reference (Debian nginx + lua-nginx-module) and/or ours (node bin/ngxlua.js).
// See README.md in this folder for the case format.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startPeers, substPeers } from './peers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CASES_DIR = path.join(HERE, 'cases');

const MODULES = [
  '/usr/lib/nginx/modules/ndk_http_module.so',
  '/usr/lib/nginx/modules/ngx_http_lua_module.so',
  // the echo and headers-more modules, which OpenResty's own suites load (Debian's
  // libnginx-mod-http-echo and libnginx-mod-http-headers-more-filter)
  ...['/usr/lib/nginx/modules/ngx_http_echo_module.so', '/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so'].filter((m) => fs.existsSync(m)),
];

const ENGINES = {
  ref: { name: 'ref', cmd: '/usr/sbin/nginx', args: [], binName: 'nginx' },
  ours: { name: 'ours', cmd: process.execPath, args: [path.join(ROOT, 'bin/ngxlua.js')], binName: 'ngxlua' },
};

// ---------------------------------------------------------------------------------------------
// command line

function parseArgs(argv) {
  const o = { engine: 'both', jobs: 4, filter: null, file: [], json: null, show: false, keep: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a.startsWith('--engine')) o.engine = val();
    else if (a.startsWith('--filter')) o.filter = val();
    else if (a.startsWith('--file')) o.file.push(...val().split(','));
    else if (a.startsWith('--json')) o.json = val();
    else if (a.startsWith('--jobs')) o.jobs = Number(val());
    else if (a === '--no-isolate') o.noIsolate = true;
    else if (a === '--show') o.show = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node test/conformance/run.mjs [--engine ref|ours|both] [--filter SUBSTR] ' +
        '[--file NAME[,NAME]] [--json OUT.json] [--jobs N] [--no-isolate] [--show] [--keep] [-v]');
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  if (!['ref', 'ours', 'both'].includes(o.engine)) throw new Error(`bad --engine ${o.engine}`);
  return o;
}

// ---------------------------------------------------------------------------------------------
// helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Never hand out the same port twice in one run: instances start concurrently, and a port
// reused by two of them would make one engine's readiness look like the other's.
const usedPorts = new Set();
async function freePorts(n) {
  const out = [];
  while (out.length < n) {
    const p = await freePort();
    if (!usedPorts.has(p)) { usedPorts.add(p); out.push(p); }
  }
  return out;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function show(v) {
  if (v instanceof RegExp) return String(v);
  if (Buffer.isBuffer(v)) return `<Buffer ${JSON.stringify(v.toString('latin1'))}>`;
  if (typeof v === 'function') return `<fn ${v.name || 'check'}>`;
  return JSON.stringify(v);
}

function matches(expected, actual) {
  if (expected instanceof RegExp) return expected.test(actual);
  if (typeof expected === 'function') return !!expected(actual);
  return expected === actual;
}

// Peer placeholders ({{PEER_ECHO}} ...), filled once the peers run (see peers.mjs).
let PEER_VARS = null;

function subst(text, port) {
  return substPeers(String(text ?? '').replaceAll('{{PORT}}', String(port)), PEER_VARS);
}

// A RegExp whose source has placeholders gets them replaced by their (escaped) values.
function substRe(re, port) {
  if (!(re instanceof RegExp) || !re.source.includes('\\{\\{') && !re.source.includes('{{')) return re;
  const vars = { ...(PEER_VARS ?? {}), PORT: String(port) };
  const src = re.source.replace(/\\?\{\\?\{([A-Z0-9_]+)\\?\}\\?\}/g, (m, k) => (k in vars ? escapeRe(vars[k]) : m));
  return new RegExp(src, re.flags);
}

// ---------------------------------------------------------------------------------------------
// the tiny HTTP client

function buildRequest(req, port) {
  if (typeof req === 'string') req = { line: req };
  if (req.raw !== undefined) {
    // raw bytes; an array is sent as separate writes, `gap` ms apart
    const toBuf = (x) => (Buffer.isBuffer(x) ? x : Buffer.from(subst(x, port), 'latin1'));
    const parts = Array.isArray(req.raw) ? req.raw.map(toBuf) : [toBuf(req.raw)];
    const raw = Buffer.concat(parts);
    const m = /^([A-Z]+) /.exec(raw.toString('latin1'));
    return { bytes: raw, parts, gap: req.gap ?? 20, method: m ? m[1] : 'GET' };
  }
  let line = subst(req.line, port).trim();
  const parts = line.split(/ +/);
  if (parts.length === 2) line += ' HTTP/1.1';
  const method = parts[0];
  const hdrs = [];
  const given = req.headers ?? {};
  const list = Array.isArray(given) ? given : Object.entries(given).flatMap(([k, v]) =>
    (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
  const names = new Set(list.map(([k]) => k.toLowerCase()));
  if (!names.has('host') && !req.noHost) hdrs.push(['Host', 'localhost']);
  for (const [k, v] of list) hdrs.push([k, subst(v, port)]);
  let body = req.body;
  if (body !== undefined && !Buffer.isBuffer(body)) body = Buffer.from(body, 'latin1');
  if (body !== undefined && !names.has('content-length') && !names.has('transfer-encoding')) {
    hdrs.push(['Content-Length', String(body.length)]);
  }
  const head = `${line}\r\n${hdrs.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const bytes = body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
  return { bytes, method };
}

// Parse one response out of buf starting at 0. Returns { res, used } or null if incomplete.
// When `eof` is true, a close-delimited body ends at the end of buf.
function parseResponse(buf, method, eof) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const headText = buf.subarray(0, end).toString('latin1');
  const lines = headText.split('\r\n');
  const statusLine = lines.shift();
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
  const headers = lines.map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim(), l];
  });
  const status = Number(m[2]);
  const get = (n) => headers.find(([k]) => k === n)?.[1];
  let pos = end + 4;
  let body;
  const te = get('transfer-encoding');
  const cl = get('content-length');
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    body = Buffer.alloc(0);
  } else if (te && /chunked/i.test(te)) {
    const chunks = [];
    const partial = () => (eof ? { res: { version: m[1], status, reason: m[3] ?? '', statusLine, headers, body: Buffer.concat(chunks), incomplete: true }, used: buf.length } : null);
    for (;;) {
      const le = buf.indexOf('\r\n', pos);
      if (le < 0) return partial();
      const size = parseInt(buf.subarray(pos, le).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size line');
      pos = le + 2;
      if (size === 0) {
        // trailers until an empty line
        for (;;) {
          const te2 = buf.indexOf('\r\n', pos);
          if (te2 < 0) return partial();
          const empty = te2 === pos;
          pos = te2 + 2;
          if (empty) break;
        }
        break;
      }
      if (buf.length < pos + size + 2) {
        if (eof) chunks.push(buf.subarray(pos, Math.min(buf.length, pos + size)));
        return partial();
      }
      chunks.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(chunks);
  } else if (cl !== undefined) {
    const n = Number(cl);
    if (buf.length < pos + n) {
      if (!eof) return null;
      return { res: { version: m[1], status, reason: m[3] ?? '', statusLine, headers, body: Buffer.from(buf.subarray(pos)), incomplete: true }, used: buf.length };
    }
    body = buf.subarray(pos, pos + n);
    pos += n;
  } else {
    if (!eof) return null;
    body = buf.subarray(pos);
    pos = buf.length;
  }
  return {
    res: { version: m[1], status, reason: m[3] ?? '', statusLine, headers, body: Buffer.from(body) },
    used: pos,
  };
}

// Send requests on one connection. `pipeline` sends all at once; otherwise one after another.
// Resolves to { responses: [...], closed: bool, error?: string }.
function exchange(port, reqs, { pipeline = false, timeout = 3000, halfClose = false, waitClose = false, waitCloseMs = 100, abortAfter, readDelay = 0 } = {}) {
  return new Promise((resolve) => {
    const built = reqs.map((r) => buildRequest(r, port));
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const rawIn = [];
    const responses = [];
    const interim = [];
    let next = 0; // next request index to send (non-pipelined)
    let done = false;
    let closed = false;
    // when the last byte was written, and how long after it the server closed
    let lastWrite = Date.now();
    let closedMs;
    let reset = false;
    const finish = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ responses, closed, error, raw: Buffer.concat(rawIn), closedMs, reset });
    };
    const timer = setTimeout(() => finish(`timeout after ${timeout}ms waiting for response ${responses.length + 1}`), timeout);
    const sendNext = () => {
      if (pipeline) {
        sock.write(Buffer.concat(built.map((b) => b.bytes)));
        next = built.length;
      } else {
        const b = built[next];
        next++;
        if (b.parts && b.parts.length > 1) {
          b.parts.forEach((part, i) => setTimeout(() => { if (!done) { sock.write(part); lastWrite = Date.now(); } }, i * b.gap));
        } else sock.write(b.bytes);
      }
      lastWrite = Date.now();
      if (halfClose && next === built.length) sock.end();
      // the client goes away mid-request: close the connection this long after the last request
      if (abortAfter !== undefined && next === built.length) {
        setTimeout(() => { if (!done) { closed = true; finish(); } }, abortAfter);
      }
    };
    const pump = (eof) => {
      try {
        for (;;) {
          if (responses.length >= built.length) {
            // extra bytes after the last expected response: ignore until close
            if (eof) { closed = true; finish(); }
            return;
          }
          const p = parseResponse(buf, built[responses.length].method, eof);
          if (!p) break;
          buf = buf.subarray(p.used);
          if (p.res.status >= 100 && p.res.status < 200 && p.res.status !== 101) {
            interim.push(p.res.statusLine); // e.g. 100 Continue: belongs to the next final response
            continue;
          }
          p.res.interim = interim.splice(0);
          responses.push(p.res);
          if (responses.length === built.length) {
            // give the server a moment to close the connection (to observe `closed`)
            if (eof || !waitClose) finish(); else setTimeout(() => finish(), waitCloseMs);
            if (eof) closed = true;
            return;
          }
          if (!pipeline && next < built.length) sendNext();
        }
        if (eof) { closed = true; finish(buf.length ? `connection closed mid-response (${buf.length} bytes unparsed)` : `connection closed after ${responses.length} response(s)`); }
      } catch (e) {
        finish(String(e.message || e));
      }
    };
    sock.on('connect', () => {
      sendNext();
      // a client that does not read for a while (send_timeout cases)
      if (readDelay > 0) { sock.pause(); setTimeout(() => { if (!done) sock.resume(); }, readDelay); }
    });
    sock.on('data', (d) => { rawIn.push(d); buf = Buffer.concat([buf, d]); pump(false); });
    const onEof = () => { if (closedMs === undefined) closedMs = Date.now() - lastWrite; closed = true; };
    sock.on('end', () => { onEof(); pump(true); });
    sock.on('close', () => { onEof(); if (!done) pump(true); });
    sock.on('error', (e) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') { reset ||= e.code === 'ECONNRESET'; onEof(); pump(true); } else finish(String(e.message));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// error log

class LogReader {
  constructor(file) { this.file = file; this.offset = 0; }
  size() { try { return fs.statSync(this.file).size; } catch { return 0; } }
  mark() { this.offset = this.size(); }
  // text appended since mark()
  read() {
    const sz = this.size();
    if (sz <= this.offset) return '';
    const fd = fs.openSync(this.file, 'r');
    try {
      const b = Buffer.alloc(sz - this.offset);
      fs.readSync(fd, b, 0, b.length, this.offset);
      return b.toString('latin1');
    } finally { fs.closeSync(fd); }
  }
}

// Split log text into entries (an entry may span several lines, e.g. Lua tracebacks).
function logEntries(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[/.test(line) || out.length === 0) out.push(line);
    else out[out.length - 1] += '\n' + line;
  }
  return out.map((e) => e.replace(/\n+$/, '')).filter((e) => e.trim() !== '');
}

const SEVERE = /^\S+ \S+ \[(error|crit|alert|emerg)\]/;

// ---------------------------------------------------------------------------------------------
// checks

function checkResponse(exp, res, label, diffs, port) {
  const p = label ? `${label}: ` : '';
  const sub = (v) => (typeof v === 'string' ? subst(v, port) : substRe(v, port));
  if (exp.interim !== undefined && JSON.stringify(exp.interim) !== JSON.stringify(res.interim ?? [])) {
    diffs.push(`${p}interim responses: expected ${show(exp.interim)}, got ${show(res.interim ?? [])}`);
  }
  if (exp.status !== undefined && res.status !== exp.status) {
    diffs.push(`${p}status: expected ${exp.status}, got ${res.status}`);
  }
  if (exp.statusLine !== undefined && !matches(sub(exp.statusLine), res.statusLine)) {
    diffs.push(`${p}status line: expected ${show(exp.statusLine)}, got ${show(res.statusLine)}`);
  }
  if (exp.headers) {
    for (const [name, want] of Object.entries(exp.headers)) {
      const got = res.headers.filter(([k]) => k === name.toLowerCase()).map(([, v]) => v);
      if (want === null) {
        if (got.length) diffs.push(`${p}header ${name}: expected absent, got ${show(got.length === 1 ? got[0] : got)}`);
      } else if (Array.isArray(want)) {
        if (got.length !== want.length || !want.every((w, i) => matches(sub(w), got[i]))) {
          diffs.push(`${p}header ${name}: expected ${show(want.map(show))}, got ${show(got)}`);
        }
      } else if (got.length !== 1 || !matches(sub(want), got[0])) {
        diffs.push(`${p}header ${name}: expected ${show(sub(want))}, got ${got.length ? show(got.length === 1 ? got[0] : got) : 'absent'}`);
      }
    }
  }
  if (exp.headerOrder) {
    const names = res.headers.map(([k]) => k);
    const idx = exp.headerOrder.map((n) => names.indexOf(n.toLowerCase()));
    if (idx.some((i) => i < 0) || idx.some((v, i) => i > 0 && v < idx[i - 1])) {
      diffs.push(`${p}header order: expected ${show(exp.headerOrder)} in this order, got ${show(names)}`);
    }
  }
  if (!!exp.incomplete !== !!res.incomplete) {
    diffs.push(`${p}response body: expected ${exp.incomplete ? 'truncated' : 'complete'}, got ${res.incomplete ? 'truncated (connection closed early)' : 'complete'}`);
  }
  if (exp.body !== undefined) {
    const b = res.body;
    let ok;
    if (Buffer.isBuffer(exp.body)) ok = b.equals(exp.body);
    else if (exp.body instanceof RegExp) ok = substRe(exp.body, port).test(b.toString('latin1'));
    else if (typeof exp.body === 'function') ok = !!exp.body(b.toString('latin1'), b);
    else ok = b.toString('latin1') === sub(exp.body);
    if (!ok) diffs.push(`${p}body: expected ${show(sub(exp.body))}, got ${show(b.toString('latin1'))}`);
  }
}

function describeResponse(res) {
  if (!res) return '(no response)';
  const hs = res.headers.filter(([k]) => k !== 'date' && k !== 'server').map(([, , l]) => l).join('\n');
  return `${res.statusLine}\n${hs}\n\n${res.body.toString('latin1')}`;
}

// ---------------------------------------------------------------------------------------------
// engine instances

function confText(group, ports) {
  const servers = group.cases.map((c, i) => `
    # case: ${c.name.replace(/\n/g, ' ')}
    server {
        listen 127.0.0.1:${ports[i]};
        server_name localhost;
${subst(c.server ?? '', ports[i])}
    }
`).join('');
  return `${MODULES.map((m) => `load_module ${m};`).join('\n')}
daemon off;
master_process ${(group.workers ?? 1) > 1 ? 'on' : 'off'};
worker_processes ${group.workers ?? 1};
error_log logs/error.log info;
pid logs/nginx.pid;
${group.main ?? ''}
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/plain;
    lua_package_path "/usr/share/lua/5.1/?.lua;;";
${subst(group.http ?? '', ports[0])}
${servers}
}
`;
}

/** a fixed mtime for the files cases create, so that Last-Modified and ETag agree across engines */
const FILE_MTIME = new Date('2024-01-02T03:04:05Z');

/** Write the files the cases ask for (`files: { 'html/x.txt': 'text' }`) under the prefix. */
function writeFiles(prefix, cases) {
  for (const c of cases) {
    for (const [rel, content] of Object.entries(c.files ?? {})) {
      const f = path.join(prefix, rel);
      if (rel.endsWith('/')) { fs.mkdirSync(f, { recursive: true }); continue; }
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, content);
      fs.utimesSync(f, FILE_MTIME, FILE_MTIME);
    }
  }
}

function makePrefix(tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ngxlua-conf-${tag}-`));
  for (const d of ['conf', 'logs', 'tmp']) fs.mkdirSync(path.join(dir, d));
  return dir;
}

const live = new Set(); // engines we started and have not seen exit
function killLive() { for (const st of live) { try { st.child.kill('SIGKILL'); } catch { /* gone */ } } }
process.on('exit', killLive);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killLive(); process.exit(130); });

function startEngine(engine, prefix) {
  const child = spawn(engine.cmd, [...engine.args, '-p', prefix + '/', '-c', 'conf/nginx.conf'], {
    cwd: prefix, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const state = { child, stderr: '', stdout: '', exited: false, code: null, signal: null };
  child.stdout.on('data', (d) => { state.stdout += d; });
  child.stderr.on('data', (d) => { state.stderr += d; });
  child.on('error', (e) => { state.exited = true; state.stderr += String(e.message); });
  // 'close' (not 'exit') so that all stderr has been read
  child.on('close', (code, signal) => { state.exited = true; state.code = code; state.signal = signal; live.delete(state); });
  live.add(state);
  return state;
}

async function stopEngine(state) {
  if (state.exited) return;
  state.child.kill('SIGTERM');
  for (let i = 0; i < 100 && !state.exited; i++) await sleep(20);
  if (!state.exited) {
    state.child.kill('SIGKILL');
    for (let i = 0; i < 50 && !state.exited; i++) await sleep(20);
  }
}

async function waitPorts(state, ports, ms = 30000) { // generous: a loaded machine starts ours slowly
  const deadline = Date.now() + ms;
  const pending = new Set(ports);
  while (pending.size && Date.now() < deadline) {
    if (state.exited) return `engine exited (code ${state.code}${state.signal ? `, signal ${state.signal}` : ''}) before listening`;
    for (const p of [...pending]) if (await canConnect(p)) pending.delete(p);
    if (pending.size) await sleep(20);
  }
  return pending.size ? `ports not listening after ${ms}ms: ${[...pending].join(', ')}` : null;
}

function normalizeStartOutput(engine, text) {
  // ours says "ngxlua: [emerg] ..." where nginx says "nginx: [emerg] ..."
  return engine.name === 'ours' ? text.replace(/^ngxlua:/gm, 'nginx:') : text;
}

// ---------------------------------------------------------------------------------------------
// running one group of cases on one engine

async function runCase(c, port, log, opts) {
  if (c.distinct) return runDistinct(c, port, log, opts);
  const diffs = [];
  log.mark();
  const steps = c.steps ?? [{ ...c, request: c.request ?? 'GET /t' }];
  const pipeline = !!c.pipeline;
  const connections = [];
  // Split steps into connections: a step with `newConnection: true` starts a new one.
  for (const s of steps) {
    if (!connections.length || s.newConnection) connections.push([]);
    connections[connections.length - 1].push(s);
  }
  const observed = [];
  for (const conn of connections) {
    const reqs = conn.map((s) => s.request ?? 'GET /t');
    const lastStep = conn[conn.length - 1];
    const r = await exchange(port, reqs, {
      pipeline, timeout: c.timeout ?? 3000, halfClose: !!c.halfClose, abortAfter: c.abortAfter, readDelay: c.readDelay,
      waitClose: lastStep.closed !== undefined || lastStep.closedAfter !== undefined,
      // a case that waits for a server-side timeout gives it until the case's own timeout
      waitCloseMs: lastStep.closedAfter !== undefined ? (c.timeout ?? 3000) : 100,
    });
    conn.forEach((s, i) => {
      const res = r.responses[i];
      const label = steps.length > 1 ? `response ${observed.length + 1}` : '';
      observed.push(res);
      if (!res) {
        if (s.noResponse) {
          if (r.error && r.error.startsWith('timeout')) diffs.push(`${label ? label + ': ' : ''}expected the connection to close without a response, but it ${r.error}`);
          return;
        }
        diffs.push(`${label ? label + ': ' : ''}no response (${r.error ?? 'unknown'})`);
        return;
      }
      if (s.noResponse) { diffs.push(`${label ? label + ': ' : ''}expected the connection to close without a response, got ${res.statusLine}`); return; }
      checkResponse(s, res, label, diffs, port);
    });
    const last = conn[conn.length - 1];
    const rawWant = typeof last.rawResponse === 'string' ? subst(last.rawResponse, port) : substRe(last.rawResponse, port);
    if (last.rawResponse !== undefined && !matches(rawWant, r.raw.toString('latin1'))) {
      diffs.push(`raw bytes received: expected ${show(last.rawResponse)}, got ${show(r.raw.toString('latin1'))}`);
    }
    if (last.closed !== undefined && last.closed !== r.closed) {
      diffs.push(`connection: expected ${last.closed ? 'closed' : 'kept open'}, got ${r.closed ? 'closed' : 'open'}`);
    }
    if (last.reset !== undefined && last.reset !== r.reset) {
      diffs.push(`connection: expected ${last.reset ? 'a reset (RST)' : 'no reset'}, got ${r.reset ? 'a reset' : 'none'}`);
    }
    // a server-side timeout: the connection must close, and not before the configured time
    // (a lower bound only; the upper bound is the case's timeout)
    if (last.closedAfter !== undefined) {
      if (!r.closed) diffs.push(`connection: expected the server to close it after ${last.closedAfter} ms, still open after ${c.timeout ?? 3000} ms`);
      else if (r.closedMs < last.closedAfter) diffs.push(`connection: closed ${r.closedMs} ms after the last write, expected no earlier than ${last.closedAfter} ms`);
    }
    if (r.error && r.responses.length === conn.length && !/closed/.test(r.error)) diffs.push(r.error);
  }

  // error log
  const want = [...(c.log ?? [])];
  const allow = [...(c.allowLog ?? [])];
  let text = '';
  const deadline = Date.now() + 1000;
  const asRe = (w) => (typeof w === 'string' ? new RegExp(escapeRe(subst(w, port))) : substRe(w, port));
  const missing = () => want.filter((w) => !logEntries(text).some((e) => asRe(w).test(e)));
  for (;;) {
    text = log.read();
    if (missing().length === 0 || Date.now() > deadline) break;
    await sleep(10);
  }
  await sleep(c.logGrace ?? 30);
  text = log.read();
  const entries = logEntries(text);
  for (const w of missing()) diffs.push(`log: expected an entry matching ${show(w)}`);
  for (const w of c.noLog ?? []) {
    const hit = entries.find((e) => asRe(w).test(e));
    if (hit) diffs.push(`log: must not match ${show(w)}, found: ${hit.split('\n')[0]}`);
  }
  for (const e of entries) {
    if (!SEVERE.test(e)) continue;
    if ([...want, ...allow].some((w) => asRe(w).test(e))) continue;
    diffs.push(`log: unexpected ${e.split('\n')[0]}`);
  }
  return { diffs, observed, logText: text };
}

// A case for several workers: the request again, each time on a new connection, until the
// response header `distinct.header` took `distinct.count` values (one per worker); every
// response must meet the case's expectations.
async function runDistinct(c, port, log, opts) {
  const { header, count, max = 200 } = c.distinct;
  const seen = new Set();
  const { distinct, ...one } = c;
  void distinct;
  let last = null;
  for (let i = 0; i < max && seen.size < count; i++) {
    last = await runCase(one, port, log, opts);
    if (last.diffs.length) return last;
    const res = last.observed[0];
    const v = res?.headers.find(([k]) => k === header.toLowerCase())?.[1];
    if (v !== undefined) seen.add(v);
  }
  if (seen.size < count) last.diffs.push(`${header}: ${seen.size} distinct value(s) in ${max} requests, expected ${count}`);
  return last;
}

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

async function runGroup(engine, file, group, opts) {
  const results = [];
  const ports = await freePorts(group.cases.length);
  const prefix = makePrefix(engine.name);
  const conf = confText(group, ports);
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf);
  writeFiles(prefix, group.cases);
  const state = startEngine(engine, prefix);
  const err = await waitPorts(state, ports);
  if (err) {
    await stopEngine(state);
    if (!opts.keep) fs.rmSync(prefix, { recursive: true, force: true });
    if (group.cases.length > 1 && !opts.noIsolate) {
      // find out which cases the engine cannot start with: retry each one in its own instance
      const singles = group.cases.map((c) => ({ ...group, cases: [c] }));
      let k = 0;
      const out = new Array(singles.length);
      await Promise.all(Array.from({ length: 6 }, async () => {
        while (k < singles.length) { const j = k++; out[j] = await runGroup(engine, file, singles[j], opts); }
      }));
      return out.flat();
    }
    const why = `${err}\n${normalizeStartOutput(engine, state.stderr).trim()}`;
    for (const c of group.cases) results.push({ file, name: c.name, status: 'fail', diffs: [`engine did not start: ${why}`] });
    return results;
  }
  const log = new LogReader(path.join(prefix, 'logs/error.log'));
  for (let i = 0; i < group.cases.length; i++) {
    const c = group.cases[i];
    const t0 = Date.now();
    let r;
    try {
      r = await runCase(c, ports[i], log, opts);
    } catch (e) {
      r = { diffs: [`runner exception: ${e.stack || e}`], observed: [] };
    }
    if (state.exited) r.diffs.push(`engine exited during the case (code ${state.code}, signal ${state.signal}): ${state.stderr.trim()}`);
    const res = { file, name: c.name, status: r.diffs.length ? 'fail' : 'pass', diffs: r.diffs, ms: Date.now() - t0 };
    if (opts.show || (opts.verbose && r.diffs.length)) {
      res.shown = r.observed.map(describeResponse).join('\n----\n') + `\n---- log ----\n${r.logText ?? ''}`;
    }
    results.push(res);
    if (state.exited) {
      for (const c2 of group.cases.slice(i + 1)) results.push({ file, name: c2.name, status: 'fail', diffs: ['engine exited earlier in this group'] });
      break;
    }
  }
  await stopEngine(state);
  if (opts.keep) console.log(`# kept prefix ${prefix}`);
  else fs.rmSync(prefix, { recursive: true, force: true });
  return results;
}

async function runConfError(engine, file, c, opts) {
  const [port] = await freePorts(1);
  const prefix = makePrefix(engine.name);
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), confText({ http: c.http, main: c.main, workers: c.workers, cases: [c] }, [port]));
  const state = startEngine(engine, prefix);
  // generous: under a loaded machine, loading the Lua VM to run init_by_lua takes seconds
  const deadline = Date.now() + (c.timeout ?? 15000);
  while (!state.exited && Date.now() < deadline) await sleep(20);
  const diffs = [];
  if (!state.exited) {
    diffs.push('expected the engine to refuse the configuration, but it kept running');
    await stopEngine(state);
  } else if (state.code === 0) {
    diffs.push('expected a non-zero exit status, got 0');
  }
  let out = normalizeStartOutput(engine, state.stderr + state.stdout);
  try { out += fs.readFileSync(path.join(prefix, 'logs/error.log'), 'latin1'); } catch { /* none */ }
  if (!matches(c.conf_error, out)) diffs.push(`conf error: expected ${show(c.conf_error)}, got ${show(out.trim())}`);
  if (opts.keep) console.log(`# kept prefix ${prefix}`);
  else fs.rmSync(prefix, { recursive: true, force: true });
  const res = { file, name: c.name, status: diffs.length ? 'fail' : 'pass', diffs };
  if (opts.show) res.shown = out;
  return res;
}

// ---------------------------------------------------------------------------------------------
// main

async function loadCases(opts) {
  const files = fs.readdirSync(CASES_DIR).filter((f) => f.endsWith('.mjs') && !f.startsWith('_')).sort();
  const out = [];
  for (const f of files) {
    const base = f.replace(/\.mjs$/, '');
    if (opts.file.length && !opts.file.includes(base) && !opts.file.includes(f)) continue;
    const mod = await import(pathToFileURL(path.join(CASES_DIR, f)).href);
    const list = mod.default ?? mod.cases;
    if (!Array.isArray(list)) throw new Error(`${f}: must export an array (default export)`);
    const names = new Set();
    for (const c of list) {
      if (!c.name) throw new Error(`${f}: a case has no name`);
      if (names.has(c.name)) throw new Error(`${f}: duplicate case name ${c.name}`);
      names.add(c.name);
    }
    out.push({ file: base, cases: list.filter((c) => !opts.filter || c.name.includes(opts.filter) || `${base}/${c.name}`.includes(opts.filter)) });
  }
  return out;
}

async function runEngine(engine, files, opts) {
  // files run concurrently (each in its own instance(s)), results reported in file order
  const perFile = new Array(files.length);
  let nextFile = 0;
  const worker = async () => {
    while (nextFile < files.length) {
      const i = nextFile++;
      perFile[i] = await runFile(engine, files[i], opts);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.jobs) }, worker));
  return perFile.flat();
}

async function runFile(engine, { file, cases }, opts) {
  const results = [];
  {
    const skipped = [];
    const runnable = [];
    for (const c of cases) {
      if (engine.name === 'ref' && c.only === 'ours') skipped.push({ file, name: c.name, status: 'skip', reason: 'only ours' });
      else if (engine.name === 'ours' && c.skipOurs) skipped.push({ file, name: c.name, status: 'skip', reason: c.skipOurs });
      else runnable.push(c);
    }
    results.push(...skipped);
    // conf-error cases: each on its own, in parallel
    const confErr = runnable.filter((c) => c.conf_error);
    const normal = runnable.filter((c) => !c.conf_error);
    const groups = new Map();
    for (const c of normal) {
      const key = `${c.main ?? ''}\u0000${c.http ?? ''}\u0000${c.workers ?? 1}`;
      if (!groups.has(key)) groups.set(key, { main: c.main, http: c.http, workers: c.workers, cases: [] });
      groups.get(key).cases.push(c);
    }
    const jobs = [
      ...[...groups.values()].map((g) => runGroup(engine, file, g, opts)),
      Promise.all(confErr.map((c) => runConfError(engine, file, c, opts))),
    ];
    for (const r of await Promise.all(jobs)) results.push(...r);
  }
  return results;
}


function summary(results) {
  const n = (s) => results.filter((r) => r.status === s).length;
  const skipped = n('skip');
  return `${n('pass')} passed, ${n('fail')} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const files = await loadCases(opts);
  const engines = opts.engine === 'both' ? [ENGINES.ref, ENGINES.ours] : [ENGINES[opts.engine]];
  // peer servers for cosocket cases: started once, shared by both engines, stopped at the end
  const peers = await startPeers();
  process.on('exit', () => { try { fs.rmSync(peers.dir, { recursive: true, force: true }); } catch { /* gone */ } });
  PEER_VARS = peers.vars;
  for (const k of ['PORT_CLOSED', 'PEER_UDP_CLOSED']) usedPorts.add(Number(peers.vars[k]));
  try {
    await runAll(opts, files, engines);
  } finally {
    await peers.stop();
  }
}

async function runAll(opts, files, engines) {
  const all = {};
  const t0 = Date.now();
  for (const engine of engines) {
    const te = Date.now();
    const results = await runEngine(engine, files, opts);
    all[engine.name] = results;
    for (const r of results) {
      if (r.status === 'fail') {
        console.log(`FAIL [${engine.name}] ${r.file}/${r.name}`);
        for (const d of r.diffs) console.log(`    ${d.replace(/\n/g, '\n    ')}`);
      } else if (opts.verbose && r.status === 'skip') {
        console.log(`skip [${engine.name}] ${r.file}/${r.name}: ${r.reason}`);
      }
      if (r.shown !== undefined) console.log(`==== [${engine.name}] ${r.file}/${r.name}\n${r.shown}\n====`);
    }
    console.log(`${engine.name}: ${summary(results)} (${((Date.now() - te) / 1000).toFixed(1)}s)`);
  }
  const flat = Object.values(all).flat();
  console.log(`overall: ${summary(flat)} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  if (opts.json) {
    const clean = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.map(({ shown, ...r }) => r)]));
    fs.writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), summary: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, summary(v)])), results: clean }, null, 2));
  }
  process.exitCode = flat.some((r) => r.status === 'fail') ? 1 : 0;
}

main().catch((e) => { console.error(e.stack || e); process.exit(2); });
