// The command line as nginx test harnesses drive it: -t, -v, -g, daemon on with its pid file,
// -s quit/stop, SIGTERM/SIGQUIT, and `ngxlua run`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  cleanup,
  freePort,
  makePrefix,
  runCli,
  startServer,
  request,
  waitFor,
  canConnect,
  isAlive,
  trackPid,
  untrackPid,
  readText,
} from './helpers.js';

after(cleanup);

function serverConf(port: number, opts: { daemonOff?: boolean; extraHttp?: string } = {}): string {
  return `${opts.daemonOff ? 'daemon off;\n' : ''}error_log logs/error.log info;
events {}
http {
${opts.extraHttp ?? ''}
  server {
    listen 127.0.0.1:${port};
    location = /hello { content_by_lua_block { ngx.say("hello") } }
    location = /slow {
      content_by_lua_block {
        ngx.log(ngx.WARN, "slow request started")
        ngx.sleep(0.3)
        ngx.say("slow done")
      }
    }
    location = /timer {
      content_by_lua_block {
        local ok, err = ngx.timer.at(100, function(premature, tag)
          ngx.log(ngx.WARN, "timer ran, premature: ", premature, ", tag: ", tag)
        end, "t1")
        ngx.say("timer ", ok, " ", err)
      }
    }
  }
}
`;
}

test('-t on a good conf: both lines on stderr, exit 0', async () => {
  const p = makePrefix(serverConf(await freePort()));
  const r = await runCli(['-t', '-p', p, '-c', 'conf/nginx.conf']);
  const file = path.join(p, 'conf/nginx.conf');
  assert.equal(r.code, 0);
  assert.equal(r.stdout.length, 0);
  assert.equal(r.stderr, `ngxlua: the configuration file ${file} syntax is ok\nngxlua: configuration file ${file} test is successful\n`);
  // -q keeps it quiet
  const q = await runCli(['-t', '-q', '-p', p, '-c', 'conf/nginx.conf']);
  assert.equal(q.code, 0);
  assert.equal(q.stderr, '');
  // -t does not start anything nor write the pid file
  assert.equal(existsSync(path.join(p, 'logs/nginx.pid')), false);
});

test('-t on a bad conf: [emerg] with file and line, exit 1', async () => {
  const p = makePrefix('events {}\nhttp {\n  server {\n    foo bar;\n  }\n}\n');
  const file = path.join(p, 'conf/nginx.conf');
  const r = await runCli(['-t', '-p', p, '-c', 'conf/nginx.conf']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `ngxlua: [emerg] unknown directive "foo" in ${file}:4\nngxlua: configuration file ${file} test failed\n`);
  // an unbalanced brace and a missing file
  const p2 = makePrefix('events {}\nhttp {\n');
  const r2 = await runCli(['-t', '-p', p2, '-c', 'conf/nginx.conf']);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /^ngxlua: \[emerg\] unexpected end of file, expecting "}" in .*nginx\.conf:3\n/);
  const r3 = await runCli(['-t', '-p', p2, '-c', 'conf/missing.conf']);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /\[emerg\] open\(\) ".*conf\/missing\.conf" failed \(2: No such file or directory\)/);
  // starting with the bad conf fails the same way, without -t's last line
  const s = await runCli(['-p', p, '-c', 'conf/nginx.conf', '-g', 'daemon off;']);
  assert.equal(s.code, 1);
  assert.equal(s.stderr, `ngxlua: [emerg] unknown directive "foo" in ${file}:4\n`);
  // and, as nginx does, into the start-up error log (-e), where Test::Nginx looks for it
  const e = await runCli(['-p', p, '-c', 'conf/nginx.conf', '-g', 'daemon off;', '-e', 'logs/startup.log']);
  assert.equal(e.code, 1);
  assert.match(readFileSync(path.join(p, 'logs/startup.log'), 'latin1'), new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d \\[emerg\\] \\d+#\\d+: unknown directive "foo" in ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4\n$`));
});

test('the *_temp_path directives Test::Nginx writes into every conf are accepted', async () => {
  const p = makePrefix('events {}\nhttp {\n  client_body_temp_path /tmp/cb 1 2;\n  proxy_temp_path /tmp/p;\n  fastcgi_temp_path /tmp/f;\n  uwsgi_temp_path /tmp/u;\n  scgi_temp_path /tmp/s;\n}\n');
  const r = await runCli(['-t', '-p', p, '-c', 'conf/nginx.conf']);
  assert.equal(r.code, 0, r.stderr);
});

test('-v prints the version on stderr and exits 0', async () => {
  const r = await runCli(['-v']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /^ngxlua version: ngxlua\/\d+\.\d+\.\d+ \(nginx\/1\.22\.1 compatible, ngx_lua 0\.10\.23 API\)\n$/);
  const bad = await runCli(['-x']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid option: "x"/);
});

test("-g 'daemon off;' keeps the server in the foreground; a duplicate daemon directive is refused", async () => {
  const port = await freePort();
  const p = makePrefix(serverConf(port));
  const srv = await startServer(p, port, ['-g', 'daemon off;']);
  assert.equal((await request(port, '/hello')).body.toString(), 'hello\n');
  // the foreground process is the server: its pid is in the pid file
  const pid = Number(readFileSync(path.join(p, 'logs/nginx.pid'), 'latin1').trim());
  assert.equal(pid, srv.proc.pid);
  const st = await srv.stop('SIGTERM');
  assert.equal(st.code, 0);
  assert.equal(existsSync(path.join(p, 'logs/nginx.pid')), false);

  const p2 = makePrefix(serverConf(await freePort(), { daemonOff: true }));
  const r = await runCli(['-p', p2, '-c', 'conf/nginx.conf', '-g', 'daemon off;']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `ngxlua: [emerg] "daemon" directive is duplicate in ${path.join(p2, 'conf/nginx.conf')}:1\n`);
});

async function startDaemon(p: string, port: number): Promise<number> {
  const r = await runCli(['-p', p, '-c', 'conf/nginx.conf']);
  const pidFile = path.join(p, 'logs/nginx.pid');
  const pid = Number(readText(pidFile).trim());
  if (pid > 0) trackPid(pid);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  // returned once listening: the port answers at once, and the pid file names a live process
  assert.ok(await canConnect(port));
  assert.ok(pid > 0 && isAlive(pid), `pid file: ${readText(pidFile)}`);
  return pid;
}

test('daemon on returns 0 once listening and writes the pid file; -s quit stops it and removes the pid file', async () => {
  const port = await freePort();
  const p = makePrefix(serverConf(port));
  const pid = await startDaemon(p, port);
  assert.equal((await request(port, '/hello')).body.toString(), 'hello\n');
  const q = await runCli(['-p', p, '-c', 'conf/nginx.conf', '-s', 'quit']);
  assert.equal(q.code, 0);
  assert.equal(q.stderr, '');
  await waitFor(() => !isAlive(pid), 'the daemon to exit');
  untrackPid(pid);
  assert.equal(existsSync(path.join(p, 'logs/nginx.pid')), false);
  assert.equal(await canConnect(port), false);
  const log = readText(path.join(p, 'logs/error.log'));
  assert.match(log, /\[notice\] \d+#\d+: gracefully shutting down/);
  assert.match(log, /\[notice\] \d+#\d+: exit/);
  // no server left: -s reports the missing pid file
  const again = await runCli(['-p', p, '-c', 'conf/nginx.conf', '-s', 'quit']);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, `ngxlua: [error] open() "${path.join(p, 'logs/nginx.pid')}" failed (2: No such file or directory)\n`);
});

test('-s stop stops a daemon at once and removes the pid file', async () => {
  const port = await freePort();
  const p = makePrefix(serverConf(port));
  const pid = await startDaemon(p, port);
  const s = await runCli(['-p', p, '-c', 'conf/nginx.conf', '-s', 'stop']);
  assert.equal(s.code, 0);
  await waitFor(() => !isAlive(pid), 'the daemon to exit');
  untrackPid(pid);
  assert.equal(existsSync(path.join(p, 'logs/nginx.pid')), false);
  assert.match(readText(path.join(p, 'logs/error.log')), /\[notice\] \d+#\d+: exiting/);
  const bad = await runCli(['-p', p, '-c', 'conf/nginx.conf', '-s', 'bogus']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid option: "-s bogus"/);
});

test('a port in use: [emerg] bind() failed, exit 1', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (blocker.address() as net.AddressInfo).port;
    const p = makePrefix(serverConf(port, { daemonOff: true }));
    const r = await runCli(['-p', p, '-c', 'conf/nginx.conf']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`ngxlua: \\[emerg\\] bind\\(\\) to 127\\.0\\.0\\.1:${port} failed \\(98: Address already in use\\)`));
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});

test('SIGTERM stops the foreground server and removes the pid file', async () => {
  const port = await freePort();
  const p = makePrefix(serverConf(port, { daemonOff: true }));
  const srv = await startServer(p, port);
  assert.equal((await request(port, '/hello')).status, 200);
  assert.ok(existsSync(path.join(p, 'logs/nginx.pid')));
  const st = await srv.stop('SIGTERM');
  assert.equal(st.code, 0);
  assert.equal(existsSync(path.join(p, 'logs/nginx.pid')), false);
  assert.match(srv.errorLog(), /\[notice\] \d+#\d+: exiting/);
});

test('SIGQUIT stops gracefully: an in-flight request completes, pending timers run with premature = true', async () => {
  const port = await freePort();
  const p = makePrefix(serverConf(port, { daemonOff: true }));
  const srv = await startServer(p, port);
  const t = await request(port, '/timer');
  assert.equal(t.body.toString(), 'timer 1 nil\n');
  const slow = request(port, '/slow');
  await waitFor(() => srv.errorLog().includes('slow request started'), 'the slow request to start');
  srv.proc.kill('SIGQUIT');
  const r = await slow;
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'slow done\n');
  const st = await srv.stop('SIGQUIT');
  assert.equal(st.code, 0);
  const log = srv.errorLog();
  assert.match(log, /gracefully shutting down/);
  assert.match(log, /\[warn\] \d+#\d+: \*\d+ \[lua\] .*timer ran, premature: true, tag: t1, context: ngx\.timer/);
  assert.equal(existsSync(path.join(p, 'logs/nginx.pid')), false);
});

test("ngxlua run -e 'ngx.say(1)'", async () => {
  const r = await runCli(['run', '-e', 'ngx.say(1)']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.toString(), '1\n');
  assert.equal(r.stderr, '');
  const e = await runCli(['run', '-e', 'ngx.say(']);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /^ngxlua run: \(command line -e\):1: unexpected symbol near '<eof>'\n$/);
  const u = await runCli(['run']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /usage: ngxlua run/);
});

test('ngxlua run script.lua a b: the arg table', async () => {
  const p = makePrefix('');
  const script = path.join(p, 'script.lua');
  writeFileSync(script, 'ngx.say(#arg)\nfor i = 1, #arg do ngx.say(i, "=", arg[i]) end\nngx.print(arg[3] and #arg[3] or "-", "\\n")\n');
  const r = await runCli(['run', script, 'a', 'b', 'c d \u00e9']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString('utf8'), '3\n1=a\n2=b\n3=c d \u00e9\n6\n');
  const missing = await runCli(['run', path.join(p, 'nope.lua')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot open .*nope\.lua/);
});

test(
  'ngxlua run script.lua: arg[0] is the script path',
  {},
  async () => {
    const p = makePrefix('');
    const script = path.join(p, 'script.lua');
    writeFileSync(script, 'ngx.say(arg[0])\n');
    const r = await runCli(['run', script, 'a', 'b']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.toString(), `${script}\n`);
  },
);
