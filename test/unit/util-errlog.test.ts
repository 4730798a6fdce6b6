// Error-log format expectations taken from the reference's logs/error.log (nginx 1.22.1 + ngx_lua).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorLog, formatErrorLine, luaLogPrefix, luaShortSrc, levelNumber, LOG_ERR, LOG_STDERR, MAX_ERROR_STR } from '../../src/util/errlog.js';
import { errlogTime } from '../../src/util/time.js';

const REQ = { connection: 1, client: '127.0.0.1', server: 'localhost', request: 'GET /t HTTP/1.1', host: '127.0.0.1:43361' };

test('formatErrorLine matches the reference layout', () => {
  const ms = Date.UTC(2026, 10, 26, 18, 51, 20);
  const ts = errlogTime(ms);
  const line = formatErrorLine(LOG_ERR, luaLogPrefix('content_by_lua(nginx.conf:17)', 2) + 'a1', REQ, ms, 8334);
  assert.equal(
    line.toString('latin1'),
    `${ts} [error] 8334#8334: *1 [lua] content_by_lua(nginx.conf:17):2: a1, client: 127.0.0.1, server: localhost, request: "GET /t HTTP/1.1", host: "127.0.0.1:43361"\n`,
  );
  // subrequest and referrer placement
  const sub = formatErrorLine(LOG_ERR, 'in sub', { ...REQ, subrequest: '/sub', referrer: 'http://x/y' }, ms, 1);
  assert.match(sub.toString(), /: \*1 in sub, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", subrequest: "\/sub", host: "127\.0\.0\.1:43361", referrer: "http:\/\/x\/y"\n$/);
  // no context at all (e.g. epoll_wait() failed)
  assert.equal(formatErrorLine(7, 'epoll_wait() failed', undefined, ms, 5).toString(), `${ts} [info] 5#5: epoll_wait() failed\n`);
  // connection only
  assert.equal(formatErrorLine(7, 'client 127.0.0.1 closed keepalive connection', { connection: 1 }, ms, 5).toString(), `${ts} [info] 5#5: *1 client 127.0.0.1 closed keepalive connection\n`);
  // ngx.STDERR prints an empty level tag
  assert.equal(formatErrorLine(LOG_STDERR, 'x', undefined, ms, 5).toString(), `${ts} [] 5#5: x\n`);
  // bytes are written raw
  const raw = formatErrorLine(LOG_ERR, 'line1\nline2\0end\xff', undefined, ms, 5);
  assert.ok(raw.includes(Buffer.from('line1\nline2\0end\xff', 'latin1')));
});

test('lines are capped at 2048 bytes, context dropped', () => {
  const line = formatErrorLine(LOG_ERR, '[lua] content_by_lua(nginx.conf:17):1: ' + 'x'.repeat(1990) + 'END', REQ, Date.now(), 8440);
  assert.equal(line.length, MAX_ERROR_STR);
  assert.equal(line[line.length - 1], 0x0a);
  assert.ok(line.subarray(0, -1).toString().endsWith('xxxx'));
  assert.ok(!line.includes('client:'));
  const bin = formatErrorLine(LOG_ERR, Buffer.alloc(4000, 0x79), REQ, Date.now(), 1);
  assert.equal(bin.length, MAX_ERROR_STR);
});

test('luaLogPrefix and luaShortSrc', () => {
  assert.equal(luaLogPrefix('content_by_lua(nginx.conf:17)', 3, 'foo'), '[lua] content_by_lua(nginx.conf:17):3: foo(): ');
  assert.equal(luaLogPrefix('content_by_lua(nginx.conf:17)', 13, null), '[lua] content_by_lua(nginx.conf:17):13: ');
  assert.equal(luaLogPrefix('/tmp/lf/sub/app.lua', 2, 'handler'), '[lua] app.lua:2: handler(): ');
  assert.equal(luaLogPrefix(luaShortSrc('=my/chunk'), 1), '[lua] chunk:1: ');
  assert.equal(luaLogPrefix(luaShortSrc('ngx.log(ngx.ERR, 2)'), 1), '[lua] [string "ngx.log(ngx.ERR, 2)"]:1: ');
  assert.equal(luaLogPrefix(luaShortSrc('@a/b/c.lua'), 1), '[lua] c.lua:1: ');
  assert.equal(luaLogPrefix(luaShortSrc('xx/yy'), 2), '[lua] yy"]:2: ');
  assert.equal(luaShortSrc('return 1'), '[string "return 1"]');
  assert.equal(luaShortSrc('\nreturn 1'), '[string "..."]');
  assert.equal(luaShortSrc('--' + 'a'.repeat(98)), '[string "--' + 'a'.repeat(43) + '..."]');
  assert.equal(luaShortSrc('--' + 'b'.repeat(46)), '[string "--' + 'b'.repeat(46) + '"]');
  assert.equal(luaShortSrc('--' + 'b'.repeat(46) + '\n'), '[string "--' + 'b'.repeat(43) + '..."]');
  assert.equal(luaShortSrc('--' + 'b'.repeat(44) + '\n'), '[string "--' + 'b'.repeat(43) + '..."]');
  assert.equal(luaShortSrc('@' + 'd'.repeat(58) + '/e.lua'), '...' + 'd'.repeat(50) + '/e.lua');
  assert.equal(luaShortSrc('@' + 'd'.repeat(55) + '.lua'), 'd'.repeat(55) + '.lua');
  assert.equal(luaShortSrc('=' + 'f'.repeat(70)), 'f'.repeat(59));
  assert.equal(luaShortSrc('abc\tdef'), '[string "abc..."]');
  assert.equal(luaShortSrc('ab\ncd'), '[string "ab..."]');
});

test('levelNumber', () => {
  assert.equal(levelNumber('debug'), 8);
  assert.equal(levelNumber('err'), 4);
  assert.equal(levelNumber('error'), 4);
  assert.equal(levelNumber('emerg'), 1);
  assert.equal(levelNumber('bogus'), -1);
});

test('ErrorLog: level filtering, buffering, flush, reopen', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'utilerrlog-'));
  const a = path.join(dir, 'a.log');
  const w = path.join(dir, 'w.log');
  const log = new ErrorLog([{ path: a, level: 'info' }, { path: w, level: 'warn' }], { flushMs: 2, pid: 42 });
  assert.ok(log.enabled('info'));
  assert.ok(!log.enabled('debug'));
  log.log('debug', 'dropped');
  log.log('info', 'hello', { connection: 3, client: '10.0.0.1' });
  log.log('error', 'bad');
  log.log('stderr', 'always');
  // buffered: not yet on disk
  assert.equal(fs.readFileSync(a, 'utf8'), '');
  await new Promise((r) => setTimeout(r, 30));
  const la = fs.readFileSync(a, 'utf8').split('\n');
  assert.equal(la.length, 4);
  assert.match(la[0]!, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[info\] 42#42: \*3 hello, client: 10\.0\.0\.1$/);
  assert.match(la[1]!, /\[error\] 42#42: bad$/);
  assert.match(la[2]!, /\[\] 42#42: always$/);
  const lw = fs.readFileSync(w, 'utf8');
  assert.ok(!lw.includes('hello'));
  assert.ok(lw.includes('bad') && lw.includes('always'));
  // flushSync writes immediately
  log.log('warn', 'now');
  log.flushSync();
  assert.ok(fs.readFileSync(w, 'utf8').includes('now'));
  // reopen after rotation
  fs.renameSync(a, a + '.1');
  log.log('notice', 'before reopen');
  log.reopen();
  log.log('notice', 'after reopen');
  log.flushSync();
  assert.ok(fs.readFileSync(a + '.1', 'utf8').includes('before reopen'));
  assert.ok(fs.readFileSync(a, 'utf8').includes('after reopen'));
  log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('ErrorLog flushes pending lines at process exit', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'utilerrlog-'));
  const f = path.join(dir, 'e.log');
  const mod = new URL('../../src/util/errlog.js', import.meta.url).href;
  const code = `import { ErrorLog } from ${JSON.stringify(mod)}; const l = new ErrorLog([{ path: ${JSON.stringify(f)}, level: 'error' }], { flushMs: 10000 }); l.log('error', 'bye'); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(fs.readFileSync(f, 'utf8'), /\[error\] \d+#\d+: bye\n$/);
  fs.rmSync(dir, { recursive: true, force: true });
});
