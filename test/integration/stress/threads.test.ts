// Issue 4, stress proof: one request spawns 10,000 light threads; each sleeps a random 1-20 ms,
// then does a cosocket round trip to a local line server (connections pooled: pool_size 64 with a
// backlog, so at most 64 sockets exist at once) and returns what it got; the entry thread waits
// for all of them and answers a count and a checksum. Afterwards: no leaked descriptors (the
// process's /proc/<pid>/fd, minus the pool's idle connections), no pending or running timers, no
// Lua threads alive (every spawned thread is a key of a weak table kept across requests: after a
// full collectgarbage() none may remain), and the Lua heap within 10% of the baseline after a
// full GC. The process RSS is reported, not asserted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fdCount, fdKinds, get, kv, logErrors, report, rssKb, settle, startNgx, startPeer, stopAll, type Ngx, type Peer } from './common.js';

const N = 10000;
const POOL = 64;

let ngx: Ngx;
let echo: Peer;

before(async () => {
  // answers "i" with "3i+1", so a reply that went to the wrong thread breaks the checksum
  echo = await startPeer(undefined, (l) => String(Number(l) * 3 + 1));
  ngx = await startNgx(`
    lua_socket_log_errors on;
    init_by_lua_block {
      package.loaded.stress_weak = setmetatable({}, { __mode = "k" })
    }
    server {
      listen 127.0.0.1:{{PORT}};
      location = /spawn {
        content_by_lua_block {
          local n = tonumber(ngx.var.arg_n)
          local weak = package.loaded.stress_weak
          local function work(i)
            ngx.sleep(math.random(1, 20) / 1000)
            local s = ngx.socket.tcp()
            s:settimeouts(60000, 10000, 10000)
            local ok, err = s:connect("127.0.0.1", ${echo.port}, { pool_size = ${POOL}, backlog = ${N} })
            if not ok then return nil, "connect: " .. tostring(err) end
            local sent, err = s:send(i .. "\\n")
            if not sent then return nil, "send: " .. tostring(err) end
            local line, err = s:receive()
            if not line then return nil, "receive: " .. tostring(err) end
            local ok, err = s:setkeepalive(60000, ${POOL})
            if not ok then return nil, "setkeepalive: " .. tostring(err) end
            return tonumber(line)
          end
          local t0 = ngx.now()
          local threads = {}
          for i = 1, n do
            local t, err = ngx.thread.spawn(work, i)
            if not t then ngx.say("spawn ", i, ": ", err) return end
            threads[i] = t
            weak[t] = true
          end
          local count, sum, nerr, errs = 0, 0, 0, {}
          for i = 1, n do
            local ok, v, err = ngx.thread.wait(threads[i])
            if ok and v == i * 3 + 1 then
              count = count + 1
              sum = sum + i * v
            else
              nerr = nerr + 1
              if #errs < 5 then errs[#errs + 1] = i .. ": " .. tostring(ok) .. " " .. tostring(v) .. " " .. tostring(err) end
            end
          end
          ngx.update_time()
          ngx.say("count=", count, " sum=", string.format("%d", sum), " errors=", nerr,
            " lua_kb_peak=", string.format("%.1f", collectgarbage("count")), " ms=", math.floor((ngx.now() - t0) * 1000))
          for _, e in ipairs(errs) do ngx.say(e) end
        }
      }
      location = /stats {
        content_by_lua_block {
          collectgarbage() collectgarbage()
          local alive = 0
          for _ in pairs(package.loaded.stress_weak) do alive = alive + 1 end
          -- a table keeps its size after its entries go: start a fresh one so this probe's own
          -- 10,000-key table is not counted in the heap figure
          package.loaded.stress_weak = setmetatable({}, { __mode = "k" })
          collectgarbage() collectgarbage()
          -- the registry's integer slots (luaL_ref): live references vs. freed slots on the free list
          local live, free = 0, 0
          for k, v in pairs(debug.getregistry()) do
            if type(k) == "number" then
              if type(v) == "number" then free = free + 1 else live = live + 1 end
            end
          end
          ngx.say("pending=", ngx.timer.pending_count(), " running=", ngx.timer.running_count(),
            " threads_alive=", alive, " registry_refs=", live, " registry_free=", free,
            " lua_kb=", string.format("%.1f", collectgarbage("count")))
        }
      }
    }`);
});

after(async () => {
  await stopAll();
});

async function stats(): Promise<Record<string, number>> {
  const g = await get(ngx.port, '/stats');
  assert.equal(g.status, 200, g.body);
  const o = kv(g.body);
  assert.ok('threads_alive' in o, `stats: ${g.body}`);
  return o;
}

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

function expectedSum(n: number): number {
  let s = 0;
  for (let i = 1; i <= n; i++) s += i * (3 * i + 1);
  return s; // 1.0e12 for n = 10,000: exact in a double
}

interface Run {
  v: Record<string, number>;
  raw: string;
  ms: number;
}

async function spawn(n: number): Promise<Run> {
  const t0 = Date.now();
  const g = await get(ngx.port, `/spawn?n=${n}`, 120000);
  const ms = Date.now() - t0;
  assert.equal(g.status, 200, `${g.body}\n${logErrors(ngx.errorLog()).join('\n')}`);
  return { v: kv(g.body.split('\n')[0]), raw: g.body, ms };
}

function checkRun(r: Run, n: number): void {
  assert.equal(r.v.errors, 0, r.raw);
  assert.equal(r.v.count, n, r.raw);
  assert.equal(r.v.sum, expectedSum(n), r.raw);
}

const fmtStats = (s: Record<string, number>) =>
  `pending=${s.pending} running=${s.running} threads_alive=${s.threads_alive} registry_refs=${s.registry_refs} ` +
  `registry_free=${s.registry_free} lua_kb=${s.lua_kb}`;
const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)}%`;

// The Lua heap is compared after a full GC, against the baseline after a small warm-up: within
// 10% after each 10,000-thread request. (Running coroutines are anchored in a table of their own
// that is replaced once it empties, so the slots a burst needed are given back.)
test('10,000 light threads in one request, each sleeping 1-20 ms and doing a pooled cosocket round trip; nothing leaks', { timeout: 170000 }, async (t) => {
  const pid = ngx.pid;
  const cold = await stats();
  const rssCold = rssKb(pid);
  // warm-up: the pool fills, lazily created state exists
  const w = await spawn(200);
  checkRun(w, 200);
  const s0 = await settle(stats, (s) => s.pending === 0 && s.running === 0 && s.threads_alive === 0, 10000);
  const fd0 = await stableFd(pid);
  const idle0 = echo.open();
  const kinds0 = fdKinds(pid);
  const rss0 = rssKb(pid);
  report(t, `cold: lua_kb=${cold.lua_kb} rss_kb=${rssCold}`);
  report(t, `baseline (after a 200-thread warm-up): fds=${fd0} ${JSON.stringify(kinds0)} pooled=${idle0} ${fmtStats(s0)} rss_kb=${rss0}`);

  const after = async (label: string, base: Record<string, number>) => {
    const s = await settle(stats, (v) => v.pending === 0 && v.running === 0 && v.threads_alive === 0, 15000);
    const fd = await settle(() => fdCount(pid), (v) => v - echo.open() <= fd0 - idle0, 15000);
    const idle = echo.open();
    const kinds = fdKinds(pid);
    const rss = rssKb(pid);
    report(t, `${label}: fds=${fd} ${JSON.stringify(kinds)} pooled=${idle} ${fmtStats(s)} ` +
      `(heap ${pct(s.lua_kb, base.lua_kb)} vs ${base === s0 ? 'baseline' : 'after run 1'}) rss_kb=${rss} (baseline ${rss0})`);
    assert.equal(s.threads_alive, 0, `${label}: every light thread was collected`);
    assert.equal(s.pending, 0, `${label}: no pending timers`);
    assert.equal(s.running, 0, `${label}: no running timers`);
    assert.equal(s.registry_refs, s0.registry_refs, `${label}: live registry references back to the baseline`);
    assert.ok(idle <= POOL, `${label}: idle pooled connections ${idle} > ${POOL}`);
    assert.ok(fd - idle <= fd0 - idle0,
      `${label}: descriptors: baseline ${fd0} (${idle0} pooled) ${JSON.stringify(kinds0)}, after ${fd} (${idle} pooled) ${JSON.stringify(kinds)}`);
    return s;
  };

  let s1: Record<string, number> | null = null;
  for (const run of [1, 2]) {
    const acc0 = echo.accepted();
    const r = await spawn(N);
    report(t, `run ${run}: count=${r.v.count} sum=${r.v.sum} (expected ${expectedSum(N)}) errors=${r.v.errors} in ${r.ms} ms ` +
      `(Lua side ${r.v.ms} ms); heap at the end of the request, before GC: ${r.v.lua_kb_peak} KB; rss ${rssKb(pid)} KB; ` +
      `echo peer: ${echo.accepted() - acc0} new connections, ${echo.open()} open`);
    checkRun(r, N);
    assert.ok(echo.accepted() - acc0 <= POOL, `the pool bounded the connections: ${echo.accepted() - acc0} new`);
    const sN = await after(`after run ${run} (full GC)`, s0);
    assert.ok(sN.lua_kb <= s0.lua_kb * 1.1, `Lua heap after a full GC ${sN.lua_kb} KB, baseline ${s0.lua_kb} KB (more than 10% above)`);
    if (run === 1) s1 = sN;
  }

  // still serving
  checkRun(await spawn(50), 50);
  assert.ok(ngx.alive());
  const errs = logErrors(ngx.errorLog());
  assert.deepEqual(errs, [], `error log:\n${errs.join('\n')}`);
});
