// Issue 3, item 5 (lifecycle): 20,000 requests over 50 keep-alive connections, spread over
// locations whose cosockets connect and close, connect and are left to the request's end, are
// refused, time out reading a silent peer, go back to the pool, are read by a light thread that
// is killed mid-read, or belong to a timer; then 1,000 more requests whose client goes away while
// the handler waits on a silent peer (lua_check_client_abort on). Before and after, the ngxlua process's descriptors
// (/proc/<pid>/fd), its pending and running timers and the idle pooled connections (counted from
// Lua by taking them out of the pool) are compared: everything returns to the baseline, except
// the pool's own idle connections, which stay bounded by the pool size. The peers count their
// open connections too, so a socket ngxlua forgot would also show up there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  fdCount, fdKinds, freePort, get, kv, load, logErrors, report, rssKb, settle, startNgx, startPeer, stopAll,
  type Ngx, type Peer,
} from './common.js';

const TOTAL = 20000;
const CONCURRENCY = 50;
const POOL = 8;
const ABORTS = 1000;
const ABORT_CONCURRENCY = 20;

let ngx: Ngx;
let echo: Peer;
let pooled: Peer;
let silent: Peer;
let abortPeer: Peer;
/** resolvers waiting for the abort peer's next connection (FIFO) */
const abortWaiters: (() => void)[] = [];
let abortArrivals = 0;
let refused: number;

const EXPECT: Record<string, string> = {
  '/ok': 'ok\n',
  '/noclose': 'ok\n',
  '/refused': 'connection refused\n',
  '/timeout?close=1': 'timeout\n',
  '/timeout?close=0': 'timeout\n',
  '/pool': 'pooled\n',
  '/kill': 'killed\n',
  '/timer': 'timer\n',
};
const PATHS = Object.keys(EXPECT);

before(async () => {
  echo = await startPeer();
  pooled = await startPeer();
  silent = await startPeer((c) => c.resume()); // reads, never answers
  abortPeer = await startPeer((c) => {
    c.resume();
    abortArrivals++;
    abortWaiters.shift()?.();
  });
  refused = await freePort();
  const loc = (name: string, code: string) => `location = ${name} { content_by_lua_block { ${code} } }`;
  const roundTrip = (port: number) => `
      local s = ngx.socket.tcp()
      s:settimeout(10000)
      local ok, err = s:connect("127.0.0.1", ${port})
      if not ok then ngx.say("connect: ", err) return end
      local n, err = s:send("ping\\n")
      if not n then ngx.say("send: ", err) return end
      local line, err = s:receive()
      if line ~= "ping" then ngx.say("receive: ", line, " ", err) return end`;
  ngx = await startNgx(`
    lua_socket_log_errors off;
    lua_check_client_abort on;
    lua_shared_dict stress 1m;
    server {
      listen 127.0.0.1:{{PORT}};
      ${loc('/ok', `${roundTrip(echo.port)} s:close() ngx.say("ok")`)}
      ${loc('/noclose', `${roundTrip(echo.port)} ngx.say("ok")`)}
      ${loc('/refused', `local s = ngx.socket.tcp() local ok, err = s:connect("127.0.0.1", ${refused}) ngx.say(ok and "connected?!" or err)`)}
      ${loc('/timeout', `
        local s = ngx.socket.tcp()
        s:settimeouts(10000, 10000, 20) -- only the read is meant to time out
        local ok, err = s:connect("127.0.0.1", ${silent.port})
        if not ok then ngx.say("connect: ", err) return end
        local data, err = s:receive()
        if ngx.var.arg_close == "1" then s:close() end
        ngx.say(data or err)`)}
      ${loc('/pool', `${roundTrip(pooled.port)}
        local ok, err = s:setkeepalive(60000, ${POOL})
        ngx.say(ok and "pooled" or ("setkeepalive: " .. tostring(err)))`)}
      ${loc('/kill', `
        local t = ngx.thread.spawn(function()
          local s = ngx.socket.tcp()
          s:settimeout(10000)
          local ok, err = s:connect("127.0.0.1", ${silent.port})
          if not ok then return "connect: " .. err end
          return s:receive()
        end)
        ngx.sleep(0.002)
        local ok, err = ngx.thread.kill(t)
        ngx.say(ok and "killed" or ("kill: " .. tostring(err)))`)}
      ${loc('/timer', `
        local ok, err = ngx.timer.at(0, function(premature)
          local s = ngx.socket.tcp()
          s:settimeout(10000)
          local ok = s:connect("127.0.0.1", ${echo.port})
          local line = ok and s:send("ping\\n") and s:receive()
          s:close()
          ngx.shared.stress:incr(line == "ping" and "timer_ok" or "timer_err", 1, 0)
        end)
        ngx.say(ok and "timer" or ("timer.at: " .. tostring(err)))`)}
      ${loc('/abort', `
        local s = ngx.socket.tcp()
        s:settimeout(60000) -- far longer than the test waits: only the abort can end it early
        local ok, err = s:connect("127.0.0.1", ${abortPeer.port})
        if not ok then ngx.say("connect: ", err) return end
        ngx.say(s:receive())`)}
      ${loc('/stats', `
        collectgarbage() collectgarbage()
        -- idle pooled connections: take them out of the pool until a fresh one comes, then put them back
        local idle, held = 0, {}
        for i = 1, ${POOL} + 1 do
          local s = ngx.socket.tcp()
          local ok, err = s:connect("127.0.0.1", ${pooled.port})
          if not ok then ngx.say("probe connect: ", err) return end
          if s:getreusedtimes() > 0 then idle = idle + 1 held[#held + 1] = s else s:close() break end
        end
        for _, s in ipairs(held) do s:setkeepalive(60000, ${POOL}) end
        local d = ngx.shared.stress
        ngx.say("pending=", ngx.timer.pending_count(), " running=", ngx.timer.running_count(), " idle=", idle,
          " timer_ok=", d:get("timer_ok") or 0, " timer_err=", d:get("timer_err") or 0,
          " lua_kb=", string.format("%.1f", collectgarbage("count")))`)}
    }`);
});

after(async () => {
  await stopAll();
});

/** The descriptor count once two readings 200 ms apart agree (at most 5 s). */
async function stableFd(pid: number): Promise<number> {
  let prev = -1;
  let cur = fdCount(pid);
  for (let i = 0; i < 25 && cur !== prev; i++) {
    await new Promise((r) => setTimeout(r, 200));
    prev = cur;
    cur = fdCount(pid);
  }
  return cur;
}

async function stats(): Promise<Record<string, number>> {
  const g = await get(ngx.port, '/stats');
  assert.equal(g.status, 200, g.body);
  const o = kv(g.body);
  assert.ok('pending' in o && 'idle' in o, `stats: ${g.body}`);
  return o;
}

/**
 * `n` requests to /abort, `concurrency` at a time: each client sends its request, waits until the
 * handler's socket has reached the abort peer, then closes its connection.
 */
async function aborts(n: number, concurrency: number): Promise<{ ms: number; missed: number }> {
  let next = 0;
  let missed = 0;
  const t0 = Date.now();
  const one = () =>
    new Promise<void>((resolve) => {
      const arrived = new Promise<boolean>((r) => {
        const guard = setTimeout(() => r(false), 30000);
        abortWaiters.push(() => {
          clearTimeout(guard);
          r(true);
        });
      });
      const c = net.connect(ngx.port, '127.0.0.1', () => c.write('GET /abort HTTP/1.1\r\nHost: x\r\n\r\n'));
      c.on('error', () => {});
      void arrived.then((ok) => {
        if (!ok) missed++;
        c.destroy();
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        await one();
      }
    }),
  );
  abortWaiters.splice(0);
  return { ms: Date.now() - t0, missed };
}

test('20,000 connect / refused / timeout / pool / kill / timer requests and 1,000 client aborts leave no descriptors or timers behind', { timeout: 180000 }, async (t) => {
  const pid = ngx.pid;
  // warm up every path once so lazily created process state is part of the baseline
  for (const p of PATHS) {
    const g = await get(ngx.port, p);
    assert.equal(g.body, EXPECT[p], `warm-up ${p}: ${g.status} ${g.body}\n${logErrors(ngx.errorLog()).join('\n')}`);
  }
  const s0 = await settle(stats, (s) => s.pending === 0 && s.running === 0);
  const fd0 = await stableFd(pid);
  const kinds0 = fdKinds(pid);
  const rss0 = rssKb(pid);
  report(t, `baseline: fds=${fd0} ${JSON.stringify(kinds0)} pending=${s0.pending} running=${s0.running} idle_pooled=${s0.idle} lua_kb=${s0.lua_kb} rss_kb=${rss0}`);

  const r = await load(ngx.port, TOTAL, CONCURRENCY, PATHS, (p, g) => g.status === 200 && g.body === EXPECT[p]);
  const peak = fdCount(pid);
  report(t, `load: ${r.done} requests over ${CONCURRENCY} keep-alive connections in ${r.ms} ms (${Math.round((r.done * 1000) / r.ms)} req/s); fds right after: ${peak}`);
  report(t, `per path: ${JSON.stringify(r.byPath)}`);
  assert.equal(r.done, TOTAL);
  assert.deepEqual(r.problems, [], `unexpected answers:\n${r.problems.join('\n')}\n${logErrors(ngx.errorLog()).join('\n')}`);

  // clients that go away mid-request: their handlers' sockets must close (not wait 60 s for a read)
  const ab = await aborts(ABORTS, ABORT_CONCURRENCY);
  report(t, `aborts: ${ABORTS} requests whose client closed while the handler read a silent peer, in ${ab.ms} ms; ` +
    `the peer saw ${abortArrivals} connections (${ab.missed} clients gave up waiting for theirs)`);
  assert.equal(abortArrivals, ABORTS, 'every aborted request had reached its socket read');
  const abortOpen = await settle(() => abortPeer.open(), (v) => v === 0, 15000);
  report(t, `abort peer: ${abortOpen} connections still open after the clients went away`);
  assert.equal(abortOpen, 0, 'aborted requests closed their cosockets');

  // timers finish, client connections close, killed threads' sockets close
  const s1 = await settle(stats, (s) => s.pending === 0 && s.running === 0, 20000);
  const after1 = await settle(
    async () => ({ fd: fdCount(pid), idle: (await stats()).idle }),
    (v) => v.fd - v.idle <= fd0 - s0.idle,
    15000,
  );
  const s2 = await stats();
  const kinds1 = fdKinds(pid);
  const rss1 = rssKb(pid);
  report(t, `after: fds=${after1.fd} ${JSON.stringify(kinds1)} pending=${s2.pending} running=${s2.running} idle_pooled=${after1.idle} ` +
    `timer_ok=${s2.timer_ok} timer_err=${s2.timer_err} lua_kb=${s2.lua_kb} rss_kb=${rss1}`);
  report(t, `peers: echo open=${echo.open()} accepted=${echo.accepted()}; pool peer open=${pooled.open()} accepted=${pooled.accepted()}; ` +
    `silent open=${silent.open()} accepted=${silent.accepted()}`);

  assert.equal(s1.pending, 0, 'pending timers back to 0');
  assert.equal(s1.running, 0, 'running timers back to 0');
  assert.ok(after1.idle <= POOL, `idle pooled connections ${after1.idle} > pool size ${POOL}`);
  assert.ok(after1.fd - after1.idle <= fd0 - s0.idle,
    `descriptors: baseline ${fd0} (${s0.idle} idle pooled) ${JSON.stringify(kinds0)}, after ${after1.fd} (${after1.idle} idle pooled) ${JSON.stringify(kinds1)}`);
  const timerRuns = TOTAL / PATHS.length + 1; // every path gets TOTAL / 8 requests, + the warm-up
  assert.equal(s2.timer_ok, timerRuns, `timer round trips: ${s2.timer_ok} ok, ${s2.timer_err} failed`);
  // the peers saw every ngxlua socket closed, except the pooled ones
  const peersOpen = await settle(() => [echo.open(), silent.open(), pooled.open()], (v) => v[0] === 0 && v[1] === 0 && v[2] <= POOL, 5000);
  assert.deepEqual([peersOpen[0], peersOpen[1]], [0, 0], `echo/silent peers still have open connections: ${peersOpen}`);
  assert.ok(peersOpen[2] <= POOL, `pool peer has ${peersOpen[2]} open connections`);

  // still serving
  for (const p of ['/ok', '/pool', '/refused']) assert.equal((await get(ngx.port, p)).body, EXPECT[p]);
  assert.ok(ngx.alive(), 'ngxlua is running');
  const errs = logErrors(ngx.errorLog());
  assert.deepEqual(errs, [], `error log:\n${errs.join('\n')}`);
});
