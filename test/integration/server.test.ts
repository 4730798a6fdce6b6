// The server end to end: `node bin/ngxlua.js -p <prefix> -c conf/nginx.conf` with a conf written
// here, checked over HTTP — byte-exact bodies, lua_code_cache, runtime errors, the _G write
// guard, and concurrent ngx.sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, freePort, makePrefix, startServer, request, waitFor, type Server } from './helpers.js';

let srv: Server;
let port: number;
let confText: string;

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** The 1-based line of the conf that contains `marker` (chunk names carry the directive's line). */
function confLine(marker: string): number {
  const i = confText.split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, marker);
  return i + 1;
}

before(async () => {
  port = await freePort();
  confText = `daemon off;
error_log logs/error.log warn;
events {}
http {
  client_body_buffer_size 2m;
  client_max_body_size 2m;
  server {
    listen 127.0.0.1:${port};
    location = /bytes {
      content_by_lua_block {
        local t = {}
        for i = 0, 255 do t[#t + 1] = string.char(i) end
        ngx.print(table.concat(t))
      }
    }
    location = /bytes-table {
      content_by_lua_block {
        local t = {}
        for i = 0, 255 do t[#t + 1] = string.char(i) end
        ngx.print({ t[1], { table.concat(t, "", 2, 128), { table.concat(t, "", 129) } } })
      }
    }
    location = /echo {
      content_by_lua_block {
        ngx.req.read_body()
        local b = ngx.req.get_body_data()
        ngx.header["X-Len"] = b and #b or -1
        ngx.print(b)
      }
    }
    location = /cache-off {
      lua_code_cache off;
      content_by_lua_file lua/off.lua;
    }
    location = /cache-on {
      content_by_lua_file lua/on.lua;
    }
    location = /log-file {
      content_by_lua_file lua/logger.lua;
    }
    location = /err {
      content_by_lua_block { -- ERR_MARK
        local t = nil
        local y = 1
        local x = t.field
      }
    }
    location = /err-call {
      content_by_lua_block { -- ERRCALL_MARK
        local function inner() error("custom failure") end
        inner()
      }
    }
    location = /err-after-output {
      content_by_lua_block {
        ngx.say("buffered, never sent")
        error("late failure")
      }
    }
    location = /co {
      content_by_lua_block {
        local co = coroutine.wrap(function(a)
          ngx.sleep(0.01)
          local b = coroutine.yield(a .. "-yielded")
          ngx.sleep(0.01)
          if ngx.var.arg_exit then ngx.exit(tonumber(ngx.var.arg_exit)) end
          return b .. "-returned"
        end)
        ngx.say(co("first"))
        ngx.say(co("second"))
      }
    }
    location = /ok {
      content_by_lua_block { ngx.say("ok ", ngx.var.uri) }
    }
    location = /globals {
      content_by_lua_block {
        g_alpha = 1
        g_beta = 2
        g_alpha = 3
        local n = (g_counter or 0) + 1
        g_counter = n
        ngx.say("globals ", g_alpha, " ", g_beta)
      }
    }
    location = /sleep {
      content_by_lua_block {
        ngx.sleep(0.2)
        ngx.say("slept ", ngx.var.arg_i)
      }
    }
  }
}
`;
  const prefix = makePrefix(confText, {
    'lua/off.lua': 'ngx.say("off v1")\n',
    'lua/on.lua': 'ngx.say("on v1")\n',
    'lua/logger.lua': 'local function bar()\n  ngx.log(ngx.WARN, "from a file")\nend\nbar()\nngx.say("logged")\n',
  });
  srv = await startServer(prefix, port);
});

after(async () => {
  if (srv) await srv.stop('SIGKILL');
  await cleanup();
});

test('(a) all 256 byte values sent through ngx.print come back identical', async () => {
  const r = await request(port, '/bytes');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, ALL_BYTES);
  const t = await request(port, '/bytes-table');
  assert.equal(t.status, 200);
  assert.deepEqual(t.body, ALL_BYTES);
  // and through the request body
  const e = await request(port, '/echo', { body: ALL_BYTES, headers: { 'content-length': '256' } });
  assert.equal(e.status, 200);
  assert.equal(e.headers['x-len'], '256');
  assert.deepEqual(e.body, ALL_BYTES);
});

test('(a) a 1 MiB body round-trips through read_body, get_body_data and ngx.print', async () => {
  const big = randomBytes(1 << 20);
  const r = await request(port, '/echo', { body: big, headers: { 'content-length': String(big.length) } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-len'], String(1 << 20));
  assert.equal(r.body.length, big.length);
  assert.ok(r.body.equals(big));
});

test('(a) a chunked 1 MiB request body round-trips too', async () => {
  const big = randomBytes(1 << 20);
  const r = await request(port, '/echo', { body: big, headers: { 'transfer-encoding': 'chunked' } });
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(big));
});

test('(b) lua_code_cache off picks up an edited content_by_lua_file; on does not', async () => {
  assert.equal((await request(port, '/cache-off')).body.toString(), 'off v1\n');
  assert.equal((await request(port, '/cache-on')).body.toString(), 'on v1\n');
  writeFileSync(path.join(srv.prefix, 'lua/off.lua'), 'ngx.say("off v2, edited")\n');
  writeFileSync(path.join(srv.prefix, 'lua/on.lua'), 'ngx.say("on v2, edited")\n');
  assert.equal((await request(port, '/cache-off')).body.toString(), 'off v2, edited\n');
  assert.equal((await request(port, '/cache-on')).body.toString(), 'on v1\n');
  // again, in case the first hit after the edit was special
  assert.equal((await request(port, '/cache-off')).body.toString(), 'off v2, edited\n');
  assert.equal((await request(port, '/cache-on')).body.toString(), 'on v1\n');
});

test('(c) a runtime error answers 500, logs the abort with a traceback, and the server goes on', async () => {
  const r = await request(port, '/err');
  assert.equal(r.status, 500);
  assert.match(r.body.toString(), /<title>500 Internal Server Error<\/title>/);
  const line = confLine('ERR_MARK');
  const chunk = `content_by_lua(nginx.conf:${line})`;
  const log = await waitFor(() => {
    const t = srv.errorLog();
    return t.includes('GET /err HTTP/1.1') ? t : '';
  }, 'the error log entry');
  const esc = chunk.replace(/[()]/g, '\\$&');
  assert.match(
    log,
    new RegExp(
      `\\[error\\] \\d+#\\d+: \\*\\d+ lua entry thread aborted: runtime error: ${esc}:4: attempt to index local 't' \\(a nil value\\)\\n` +
        `stack traceback:\\ncoroutine 0:\\n\\t${esc}: in main chunk, client: 127\\.0\\.0\\.1, server: , request: "GET /err HTTP/1\\.1", host: "127\\.0\\.0\\.1:${port}"`,
    ),
  );
  // the next requests on the same server still work
  const ok = await request(port, '/ok');
  assert.equal(ok.status, 200);
  assert.equal(ok.body.toString(), 'ok /ok\n');

  const c = await request(port, '/err-call');
  assert.equal(c.status, 500);
  const cchunk = `content_by_lua(nginx.conf:${confLine('ERRCALL_MARK')})`;
  const log2 = await waitFor(() => {
    const t = srv.errorLog();
    return t.includes('GET /err-call HTTP/1.1') ? t : '';
  }, 'the second error log entry');
  const entry = log2.slice(log2.lastIndexOf('lua entry thread aborted'));
  assert.ok(entry.startsWith(`lua entry thread aborted: runtime error: ${cchunk}:2: custom failure\nstack traceback:\ncoroutine 0:\n`), entry);
  assert.match(entry, /\[C\]: in function 'error'/);
  assert.ok(entry.includes(`${cchunk}:2: in function 'inner'`), entry);
  assert.ok(entry.includes(`${cchunk}:3: in main chunk`), entry);
  assert.equal((await request(port, '/ok')).status, 200);

  // output buffered before the error is dropped: as with nginx (header and body still below
  // postpone_output when the handler fails), the connection closes with nothing sent
  await assert.rejects(request(port, '/err-after-output'), /socket hang up|ECONNRESET/);
  await waitFor(() => srv.errorLog().includes('late failure'), 'the late failure entry');
  assert.equal((await request(port, '/ok')).status, 200);
});

test('(d) globals written by a handler produce the _G write guard warning once per variable', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await request(port, '/globals');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'globals 3 2\n');
  }
  const log = await waitFor(() => {
    const t = srv.errorLog();
    return t.includes("('g_counter')") ? t : '';
  }, 'the guard warnings');
  const count = (name: string) => log.split('\n').filter((l) => l.includes(`writing a global Lua variable ('${name}')`)).length;
  assert.equal(count('g_alpha'), 1);
  assert.equal(count('g_beta'), 1);
  assert.equal(count('g_counter'), 1);
  assert.match(
    log,
    /\[warn\] \d+#\d+: \*\d+ \[lua\] _G write guard:12: __newindex\(\): writing a global Lua variable \('g_alpha'\) which may lead to race conditions between concurrent requests, so prefer the use of 'local' variables\nstack traceback:\n\tcontent_by_lua\(nginx\.conf:\d+\):2: in main chunk, client: 127\.0\.0\.1, server: , request: "GET \/globals HTTP\/1\.1"/,
  );
});

test('(e) ngx.sleep in 50 concurrent requests: all complete and the server stays up', async () => {
  const n = 50;
  const rs = await Promise.all(Array.from({ length: n }, (_, i) => request(port, `/sleep?i=${i}`)));
  for (let i = 0; i < n; i++) {
    assert.equal(rs[i].status, 200);
    assert.equal(rs[i].body.toString(), `slept ${i}\n`);
  }
  const ok = await request(port, '/ok');
  assert.equal(ok.status, 200);
  assert.equal(srv.proc.exitCode, null);
});

test('user coroutines sleeping inside a request; ngx.exit from one ends the request', async () => {
  const r = await request(port, '/co');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'first-yielded\nsecond-returned\n');
  // ngx.exit from inside the coroutine ends the whole request; the first ngx.say has already
  // sent the header (as in ngx_lua), so a 404 cannot replace the 200 and is logged
  const e = await request(port, '/co?exit=404');
  assert.equal(e.status, 200);
  assert.equal(e.body.toString(), 'first-yielded\n');
  await waitFor(
    () => srv.errorLog().includes('attempt to set status 404 via ngx.exit after sending out the response status 200'),
    'the late-status entry',
  );
  const e2 = await request(port, '/co?exit=200');
  assert.equal(e2.status, 200);
  assert.equal(e2.body.toString(), 'first-yielded\n');
});

test('no [alert] or internal errors were logged', async () => {
  const log = srv.errorLog();
  assert.doesNotMatch(log, /internal error/);
  assert.doesNotMatch(log, /\[alert\](?!.*lua_code_cache is off)/);
  assert.equal(readFileSync(path.join(srv.prefix, 'conf/nginx.conf'), 'latin1'), confText);
});

test('ngx.log from a file handler names the file by its base name, as ngx_lua does (test.lua:2: bar():)', async () => {
  const r = await request(port, '/log-file');
  assert.equal(r.body.toString(), 'logged\n');
  const log = await waitFor(() => (srv.errorLog().includes('from a file') ? srv.errorLog() : ''), 'the log line');
  assert.match(log, /\[warn\] \d+#\d+: \*\d+ \[lua\] logger\.lua:2: bar\(\): from a file, client/);
});
