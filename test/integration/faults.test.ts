// Faults inside the engine that must end one request at most, never the worker: finalizers
// (__gc on a userdata, ffi.gc, an ffi.metatype __gc) that raise while the GC runs them (logged
// with their traceback; on the reference they surface in whatever code collected, and its VM
// crashes when that is a compiled trace, as the churn below does to it); a Lua error thrown
// through a coroutine that a timer resumes; runaway recursion. After each, the server answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, freePort, makePrefix, startServer, request, waitFor, type Server } from './helpers.js';

let srv: Server;
let port: number;

before(async () => {
  port = await freePort();
  const conf = `daemon off;
error_log logs/error.log warn;
events {}
http {
  server {
    listen 127.0.0.1:${port};
    location = /gc-lua {
      content_by_lua_block {
        local p = newproxy(true)
        getmetatable(p).__gc = function() error("userdata gc boom") end
        p = nil
        collectgarbage()
        collectgarbage()
        ngx.say("collected")
      }
    }
    location = /gc-churn {
      # erroring finalizers become garbage while the API allocates from JS (ngx.var, headers,
      # ngx.md5 results): some run inside those allocations, some in Lua code
      content_by_lua_block {
        local ffi = require "ffi"
        local caught = 0
        for i = 1, 3000 do
          local p = newproxy(true)
          getmetatable(p).__gc = function() error("churn gc " .. i) end
          local c = ffi.gc(ffi.new("char[64]"), function() error("churn ffi.gc " .. i) end)
          local ok = pcall(function()
            local s = ngx.var.uri .. ngx.var.request_method .. (ngx.req.get_headers()["host"] or "")
            return ngx.md5(s .. i)
          end)
          if not ok then caught = caught + 1 end
        end
        ngx.say("done ", caught > 0 or "-")
      }
    }
    location = /metatype-gc {
      content_by_lua_block {
        local ffi = require "ffi"
        pcall(ffi.cdef, "typedef struct { int v; } faults_box_t;")
        local Box = ffi.metatype("faults_box_t", { __gc = function() error("metatype gc boom") end })
        -- each finalizer's error surfaces in whatever Lua code the GC step ran in: all of it
        -- is inside pcalls here, until a full collection has nothing left to finalize
        local errs, last = 0, nil
        local ok, err = pcall(function() for i = 1, 200 do local b = Box(i) end end)
        if not ok then errs, last = errs + 1, err end
        repeat
          ok, err = pcall(collectgarbage)
          if not ok then errs, last = errs + 1, err end
        until ok
        ngx.say(errs > 0, " ", last)
      }
    }
    location = /timer-coroutine {
      content_by_lua_block {
        local ok, err = ngx.timer.at(0, function()
          local co = coroutine.wrap(function() ngx.sleep(0.001) error("inside a coroutine of a timer") end)
          co()
        end)
        ngx.sleep(0.05)
        ngx.say("timer ", ok, " ", err)
      }
    }
    location = /recursion {
      content_by_lua_block {
        local function f(n) return f(n + 1) + 1 end
        local ok, err = pcall(f, 1)
        ngx.say(ok, " ", err)
        local function g(n) if n == 0 then return 0 end return 1 + g(n - 1) end
        ngx.say(g(10000))
      }
    }
    location = /ok { content_by_lua_block { ngx.say("ok") } }
  }
}
`;
  srv = await startServer(makePrefix(conf), port);
});

after(cleanup);

async function stillServing(): Promise<void> {
  const r = await request(port, '/ok');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'ok\n');
}

test('a raising __gc is logged with its traceback; the code that collected goes on', async () => {
  const r = await request(port, '/gc-lua');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'collected\n');
  const log = await waitFor(() => (/userdata gc boom/.test(srv.errorLog()) ? srv.errorLog() : ''), 'the finalizer error in the log');
  assert.match(log, /\[error\] .*lua finalizer aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):\d+: userdata gc boom\nstack traceback:\n(.|\n)*in function 'collectgarbage'(.|\n)*request: "GET \/gc-lua HTTP\/1\.1"/);
  await stillServing();
});

test('raising finalizers under allocation churn (JS-side allocations, compiled loops): each is logged, the worker lives', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await request(port, '/gc-churn');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'done -\n');
  }
  const log = srv.errorLog();
  assert.match(log, /churn (ffi\.)?gc \d+/);
  assert.doesNotMatch(log, /\[alert\]/);
  await stillServing();
});

test('a raising ffi.metatype __gc is logged; no Lua code sees the error', async () => {
  const r = await request(port, '/metatype-gc');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'false nil\n');
  await waitFor(() => (/metatype gc boom/.test(srv.errorLog()) ? true : null), 'the metatype finalizer error in the log');
  await stillServing();
});

test('an error inside a coroutine that a timer resumed is logged with the timer context', async () => {
  const r = await request(port, '/timer-coroutine');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'timer 1 nil\n');
  const log = await waitFor(() => (/inside a coroutine of a timer/.test(srv.errorLog()) ? srv.errorLog() : ''), 'the timer error');
  assert.match(log, /\[error\] .*lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):\d+: inside a coroutine of a timer\nstack traceback:\ncoroutine 0:\n(.|\n)*, context: ngx\.timer/);
  await stillServing();
});

test('runaway recursion is a Lua error (stack overflow), deep recursion works', async () => {
  const r = await request(port, '/recursion');
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /^false .*stack overflow\n10000\n$/);
  await stillServing();
});
