// ngx.socket.tcp connection pool: setkeepalive, getreusedtimes, pool names and sizes, backlog.
// Pools belong to the worker, so a case that uses a peer's default pool key ("127.0.0.1:port")
// gets an instance of its own (`http` comment) or a pool name of its own.
import { luaOut, OUT } from '../lib.mjs';

const own = (tag) => `# own instance: ${tag}`;
// connect (with optional options table text) and report
const conn = (peer, opts = '') => `local function conn() local s = ngx.socket.tcp() local ok, err = s:connect("127.0.0.1", {{${peer}}}${opts ? ', ' + opts : ''}) if not ok then ngx.say("connect: ", err) end return s end `;

export default [
  {
    name: 'getreusedtimes of a fresh connection is 0',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-fresh" }')} local s = conn() out(s:getreusedtimes())`),
    body: '0\n',
  },
  {
    name: 'getreusedtimes of a socket never connected',
    server: luaOut(`local s = ngx.socket.tcp() out(s:getreusedtimes())`),
    body: "nil closed\n",
  },
  {
    name: 'setkeepalive returns 1 and the next connect reuses',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-basic" }')} local s = conn() out(s:setkeepalive()) s = conn() out(s:getreusedtimes())`),
    body: '1\n1\n',
  },
  {
    name: 'reuse count grows',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-grow" }')} for i = 1, 4 do local s = conn() out(s:getreusedtimes()) s:setkeepalive() end`),
    body: '0\n1\n2\n3\n',
  },
  {
    name: 'the peer sees the same connection',
    server: luaOut(`${conn('PEER_COUNTER', '{ pool = "p-counter" }')} local s = conn() s:send("id\\n") local a = s:receive() s:setkeepalive()
      s = conn() s:send("id\\n") local b = s:receive() out(s:getreusedtimes(), a == b)`),
    body: '1 true\n',
  },
  {
    name: 'close does not pool',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-close" }')} local s = conn() s:close() s = conn() out(s:getreusedtimes())`),
    body: '0\n',
  },
  {
    name: 'default pool key across keep-alive requests',
    http: own('across requests'),
    server: luaOut(`${conn('PEER_LINES')} local s = conn() out(s:getreusedtimes()) s:send("r\\n") out(s:receive()) out(s:setkeepalive())`),
    steps: [
      { request: 'GET /t', body: '0\ngot: r\n1\n' },
      { request: 'GET /t', body: '1\ngot: r\n1\n' },
      { request: 'GET /t', body: '2\ngot: r\n1\n' },
    ],
  },
  {
    name: 'pooled connections outlive the client connection',
    http: own('new connections'),
    server: luaOut(`${conn('PEER_LINES')} local s = conn() out(s:getreusedtimes()) s:setkeepalive()`),
    steps: [
      { request: 'GET /t', body: '0\n' },
      { request: 'GET /t', body: '1\n', newConnection: true },
      { request: 'GET /t', body: '2\n', newConnection: true },
    ],
  },
  {
    name: 'pool names keep pools apart',
    server: luaOut(`local function c(name) local s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_ECHO}}, { pool = name }) return s end
      local a = c("p-names-a") a:setkeepalive() local b = c("p-names-b") out(b:getreusedtimes()) b:setkeepalive()
      a = c("p-names-a") out(a:getreusedtimes()) b = c("p-names-b") out(b:getreusedtimes())`),
    body: '0\n1\n1\n',
  },
  {
    name: 'a pool name is shared between peers',
    server: luaOut(`local s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_LINES}}, { pool = "p-shared" }) s:setkeepalive()
      s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_ECHO}}, { pool = "p-shared" }) out(s:getreusedtimes()) s:send("which\\n") out(s:receive())`),
    body: "1\ngot: which\n",
  },
  {
    name: 'unix socket connections are pooled',
    http: own('unix'),
    server: luaOut(`local function c() local s = ngx.socket.tcp() s:connect("unix:{{PEER_UNIX}}") return s end
      local s = c() s:send("a\\n") s:receive() out(s:setkeepalive()) s = c() out(s:getreusedtimes()) s:send("b\\n") out(s:receive())`),
    body: '1\n1\nb\n',
  },
  {
    name: 'ngx.socket.connect uses the pool',
    http: own('shortcut'),
    server: luaOut(`local s = ngx.socket.connect("127.0.0.1", {{PEER_ECHO}}) s:setkeepalive() s = ngx.socket.connect("127.0.0.1", {{PEER_ECHO}}) out(s:getreusedtimes())`),
    body: '1\n',
  },
  {
    name: 'setkeepalive with unread data',
    server: luaOut(`${conn('PEER_GREETING', '{ pool = "p-unread" }')} local s = conn() ngx.sleep(0.2) out(s:setkeepalive()) out(s:send("x"))`),
    body: "nil connection in dubious state\nnil closed\n",
    log: [/\[error\] .*attempt to send data on a closed socket/],
  },
  {
    name: 'setkeepalive with unread buffered data',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-unread2" }')} local s = conn() s:send("ab\\ncd\\n") out(s:receive()) ngx.sleep(0.05) out(s:setkeepalive())`),
    body: "ab\nnil unread data in buffer\n",
  },
  {
    name: 'setkeepalive after reading exactly what was sent',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-exact" }')} local s = conn() s:send("abcd") out(s:receive(4)) out(s:setkeepalive()) s = conn() out(s:getreusedtimes())`),
    body: 'abcd\n1\n1\n',
  },
  {
    name: 'setkeepalive twice',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-twice" }')} local s = conn() out(s:setkeepalive()) out(s:setkeepalive())`),
    body: "1\nnil closed\n",
  },
  {
    name: 'the socket is closed after setkeepalive',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-after" }')} local s = conn() s:setkeepalive() out(s:send("x")) out(s:receive()) out(s:close()) out(s:getreusedtimes())`),
    body: "nil closed\nnil closed\nnil closed\nnil closed\n",
    log: [/\[error\] .*attempt to send data on a closed socket/, /\[error\] .*attempt to receive data on a closed socket/],
  },
  {
    name: 'setkeepalive of a socket never connected',
    server: luaOut(`local s = ngx.socket.tcp() out(s:setkeepalive())`),
    body: "nil closed\n",
  },
  {
    name: 'setkeepalive after the peer closed',
    server: luaOut(`${conn('PEER_CLOSE_AFTER', '{ pool = "p-peerclosed" }')} local s = conn() s:receive("*a") out(s:setkeepalive())`),
    body: "nil closed\n",
  },
  {
    name: 'setkeepalive after a read timeout',
    server: luaOut(`${conn('PEER_SLOW', '{ pool = "p-timeout" }')} local s = conn() s:settimeout(50) out(s:receive()) out(s:setkeepalive())`),
    body: "nil timeout \n1\n",
    log: [/lua tcp socket read timed out/],
  },
  {
    name: 'a pooled connection closed by the peer is not reused',
    server: luaOut(`${conn('PEER_COUNTER', '{ pool = "p-quit" }')} local s = conn() s:send("quit\\n") out(s:setkeepalive()) ngx.sleep(0.3)
      s = conn() out(s:getreusedtimes()) s:send("id\\n") out(s:receive() ~= nil)`),
    body: '1\n0\ntrue\n',
  },
  {
    name: 'keepalive timeout expires',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-expire" }')} local s = conn() out(s:setkeepalive(50)) ngx.sleep(0.2) s = conn() out(s:getreusedtimes())`),
    body: '1\n0\n',
  },
  {
    name: 'keepalive timeout 0 keeps forever',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-forever" }')} local s = conn() out(s:setkeepalive(0)) ngx.sleep(0.1) s = conn() out(s:getreusedtimes())`),
    body: '1\n1\n',
  },
  {
    name: 'lua_socket_keepalive_timeout',
    server: `lua_socket_keepalive_timeout 50ms; ${luaOut(`${conn('PEER_ECHO', '{ pool = "p-directive-expire" }')} local s = conn() s:setkeepalive() ngx.sleep(0.2) s = conn() out(s:getreusedtimes())`)}`,
    body: '0\n',
  },
  {
    name: 'pool size from setkeepalive',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-size" }')} local a, b = conn(), conn() out(a:setkeepalive(0, 1)) out(b:setkeepalive(0, 1))
      a, b = conn(), conn() out(a:getreusedtimes(), b:getreusedtimes())`),
    body: "1\n1\n1 0\n",
  },
  {
    name: 'lua_socket_pool_size',
    server: `lua_socket_pool_size 1; ${luaOut(`${conn('PEER_ECHO', '{ pool = "p-size-directive" }')} local a, b, c = conn(), conn(), conn() a:setkeepalive() b:setkeepalive() c:setkeepalive()
      a, b = conn(), conn() out(a:getreusedtimes(), b:getreusedtimes())`)}`,
    body: "1 0\n",
  },
  {
    name: 'pool_size option on connect',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-size-opt", pool_size = 2 }')} local a, b, c = conn(), conn(), conn() a:setkeepalive() b:setkeepalive() c:setkeepalive()
      a, b, c = conn(), conn(), conn() out(a:getreusedtimes(), b:getreusedtimes(), c:getreusedtimes())`),
    body: "1 1 0\n",
  },
  {
    name: 'setkeepalive with a bad pool size',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-badsize" }')} local s = conn() out(pcall(s.setkeepalive, s, 0, 0)) out(pcall(s.setkeepalive, s, 0, -1))`),
    body: "false bad argument #3 to '?' (bad \"pool_size\" option value: 0)\nfalse bad argument #3 to '?' (bad \"pool_size\" option value: -1)\n",
  },
  {
    name: 'setkeepalive with a negative timeout',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-badtimeout" }')} local s = conn() out(pcall(s.setkeepalive, s, -1))`),
    body: "true 1\n",
  },
  {
    name: 'connect with a bad pool option',
    server: luaOut(`local s = ngx.socket.tcp() out(pcall(s.connect, s, "127.0.0.1", {{PEER_ECHO}}, { pool = {} }))`),
    body: "false bad argument #4 to '?' (bad \"pool\" option type: table)\n",
  },
  {
    name: 'connect with a bad pool_size option',
    server: luaOut(`local s = ngx.socket.tcp() out(pcall(s.connect, s, "127.0.0.1", {{PEER_ECHO}}, { pool_size = 0 }))`),
    body: "false bad argument #4 to '?' (bad \"pool_size\" option value: 0)\n",
  },
  {
    name: 'connect with backlog but no pool_size',
    server: luaOut(`local s = ngx.socket.tcp() out(pcall(s.connect, s, "127.0.0.1", {{PEER_ECHO}}, { pool = "p-bl0", backlog = 1 }))`),
    body: "true 1\n",
  },
  {
    name: 'connect with a negative backlog',
    server: luaOut(`local s = ngx.socket.tcp() out(pcall(s.connect, s, "127.0.0.1", {{PEER_ECHO}}, { pool = "p-bl1", pool_size = 1, backlog = -1 }))`),
    body: "false bad argument #4 to '?' (bad \"backlog\" option value: -1)\n",
  },
  {
    name: 'backlog 0: a second connect fails at once',
    server: luaOut(`local opts = { pool = "p-bl2", pool_size = 1, backlog = 0 }
      local a = ngx.socket.tcp() out(a:connect("127.0.0.1", {{PEER_ECHO}}, opts))
      local b = ngx.socket.tcp() out(b:connect("127.0.0.1", {{PEER_ECHO}}, opts)) a:close()`),
    body: "1\nnil too many waiting connect operations\n",
  },
  {
    name: 'backlog: a waiting connect gets the connection put back',
    server: luaOut(`local opts = { pool = "p-bl3", pool_size = 1, backlog = 1 }
      local a = ngx.socket.tcp() out(a:connect("127.0.0.1", {{PEER_ECHO}}, opts))
      local t = ngx.thread.spawn(function() local b = ngx.socket.tcp() local ok, err = b:connect("127.0.0.1", {{PEER_ECHO}}, opts) return ok, err, b:getreusedtimes() end)
      ngx.sleep(0.05) out("putting back", a:setkeepalive()) out(ngx.thread.wait(t))`),
    body: "1\nputting back 1\ntrue 1 nil 1\n",
  },
  {
    name: 'backlog: a waiting connect gets a slot on close',
    server: luaOut(`local opts = { pool = "p-bl4", pool_size = 1, backlog = 1 }
      local a = ngx.socket.tcp() a:connect("127.0.0.1", {{PEER_ECHO}}, opts)
      local t = ngx.thread.spawn(function() local b = ngx.socket.tcp() local ok, err = b:connect("127.0.0.1", {{PEER_ECHO}}, opts) return ok, err, b:getreusedtimes() end)
      ngx.sleep(0.05) out("closing", a:close()) out(ngx.thread.wait(t))`),
    body: "closing 1\ntrue 1 nil 0\n",
  },
  {
    name: 'backlog: the wait times out',
    server: luaOut(`local opts = { pool = "p-bl5", pool_size = 1, backlog = 1 }
      local a = ngx.socket.tcp() a:connect("127.0.0.1", {{PEER_ECHO}}, opts)
      local b = ngx.socket.tcp() b:settimeout(100) out(b:connect("127.0.0.1", {{PEER_ECHO}}, opts)) a:close()`),
    body: "nil timeout\n",
    log: [/\[error\] .*lua tcp socket queued connect timed out, when trying to connect to 127\.0\.0\.1:{{PEER_ECHO}},/],
  },
  {
    name: 'setkeepalive in a timer, reused by the request',
    server: luaOut(`local done
      ngx.timer.at(0, function() local s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_ECHO}}, { pool = "p-timer" }) done = s:setkeepalive() end)
      for i = 1, 500 do if done then break end ngx.sleep(0.01) end
      local s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_ECHO}}, { pool = "p-timer" }) out(done, s:getreusedtimes())`),
    body: '1 1\n',
  },
  {
    name: 'a pooled socket object cannot be used after reconnecting elsewhere',
    server: luaOut(`${conn('PEER_ECHO', '{ pool = "p-reconnect" }')} local s = conn() s:setkeepalive() out(s:connect("127.0.0.1", {{PEER_ECHO}}, { pool = "p-reconnect" })) out(s:getreusedtimes())
      s:send("z\\n") out(s:receive())`),
    body: '1\n1\nz\n',
  },
  {
    name: 'setkeepalive from another request\'s socket',
    http: own('foreign'),
    server: `location /a { content_by_lua_block {
        local s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_ECHO}}) package.loaded.pool_foreign = s ngx.say("stored") } }
      location /t { content_by_lua_block { ${OUT} local s = package.loaded.pool_foreign out(s:setkeepalive()) } }`,
    steps: [{ request: 'GET /a', body: 'stored\n' }, { request: 'GET /t', body: 'nil closed\n' }],
  },
];
