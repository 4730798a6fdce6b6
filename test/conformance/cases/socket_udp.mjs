// ngx.socket.udp: setpeername, send, receive, timeouts, close, errors, contexts.
import { luaOut } from '../lib.mjs';

const withUdp = (peer, code) => luaOut(`local u = ngx.socket.udp() ` +
  `local ok, err = u:setpeername("127.0.0.1", {{${peer}}}) if not ok then out("setpeername", ok, err) return end ${code}`);

const udpTimeoutLog = /\[error\] .*lua udp socket read timed out/;

export default [
  {
    name: 'setpeername returns 1',
    server: luaOut(`local u = ngx.socket.udp() out(u:setpeername("127.0.0.1", {{PEER_UDP_ECHO}})) out(u:close())`),
    body: '1\n1\n',
  },
  {
    name: 'send and receive a datagram',
    server: withUdp('PEER_UDP_ECHO', `out(u:send("ping")) out(u:receive())`),
    body: "1\nping\n",
  },
  {
    name: 'send writes numbers as ngx.say does, alone and in tables',
    server: withUdp('PEER_UDP_ECHO', `for _, v in ipairs({-0, 0/0, 123456789012345, {1, -0, {0/0, 2^31}, "x"}}) do u:send(v) out(u:receive()) end`),
    body: "0\n-nan\n1.2345678901234e+14\n10-nan2147483648x\n",
  },
  {
    name: 'datagrams keep their boundaries',
    server: withUdp('PEER_UDP_ECHO', `u:send("one") u:send("two") u:send("three") out(u:receive()) out(u:receive()) out(u:receive())`),
    body: 'one\ntwo\nthree\n',
  },
  {
    name: 'receive with a size truncates the datagram',
    server: withUdp('PEER_UDP_ECHO', `u:send("0123456789") out(u:receive(4)) u:send("x") out(u:receive())`),
    body: "0123\nx\n",
  },
  {
    name: 'receive with a bad size',
    server: withUdp('PEER_UDP_ECHO', `u:settimeout(100) out(pcall(u.receive, u, -5)) out(pcall(u.receive, u, "x"))`),
    body: "true nil timeout\nfalse bad argument #2 to '?' (number expected, got string)\n",
    log: [udpTimeoutLog],
  },
  {
    name: 'receive(0)',
    server: withUdp('PEER_UDP_ECHO', `u:settimeout(100) u:send("abc") out(pcall(u.receive, u, 0))`),
    body: "true \n",
  },
  {
    name: 'receive with a size over the maximum',
    server: withUdp('PEER_UDP_ECHO', `u:send("big") out(pcall(u.receive, u, 100000))`),
    body: "true big\n",
  },
  {
    name: 'send an array table',
    server: withUdp('PEER_UDP_ECHO', `out(u:send({"a", {"b", 3}, 4.5})) out(u:receive())`),
    body: "1\nab34.5\n",
  },
  {
    name: 'send a number and a boolean',
    server: withUdp('PEER_UDP_ECHO', `out(u:send(12)) out(u:receive()) out(u:send(false)) out(u:receive())`),
    body: "1\n12\n1\nfalse\n",
  },
  {
    name: 'send nil',
    server: withUdp('PEER_UDP_ECHO', `out(pcall(u.send, u, nil))`),
    body: "true 1\n",
  },
  {
    name: 'send a hash table is an error',
    server: withUdp('PEER_UDP_ECHO', `out(pcall(u.send, u, {x = 1}))`),
    body: "false bad argument #2 to '?' (non-array table found)\n",
  },
  {
    name: 'send an empty datagram',
    server: withUdp('PEER_UDP_ECHO', `out(u:send("")) u:settimeout(200) out(u:receive())`),
    body: "1\n\n",
    log: [/\[alert\] .*send\(\) returned zero/],
  },
  {
    name: 'all 256 byte values in one datagram',
    server: withUdp('PEER_UDP_ECHO', `local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end local s = table.concat(t)
      out(u:send(s)) local d = u:receive() out(d == s, #d)`),
    body: '1\ntrue 256\n',
  },
  {
    name: 'an 8 KiB datagram',
    server: withUdp('PEER_UDP_ECHO', `local s = string.rep("u", 8192) out(u:send(s)) local d = u:receive() out(#d, d == s)`),
    body: "1\n8192 true\n",
  },
  {
    name: 'receive timeout',
    server: withUdp('PEER_UDP_SINK', `u:settimeout(100) out(u:send("hello")) out(u:receive())`),
    body: '1\nnil timeout\n',
    log: [udpTimeoutLog],
  },
  {
    name: 'receive timeout with lua_socket_read_timeout',
    server: `lua_socket_read_timeout 100ms; ${withUdp('PEER_UDP_SINK', `u:send("hello") out(u:receive())`)}`,
    body: 'nil timeout\n',
    log: [udpTimeoutLog],
  },
  {
    name: 'receive timeout not logged with lua_socket_log_errors off',
    server: `lua_socket_log_errors off; ${withUdp('PEER_UDP_SINK', `u:settimeout(100) u:send("hello") out(u:receive())`)}`,
    body: 'nil timeout\n',
    noLog: [/timed out/],
  },
  {
    name: 'a timeout keeps the socket usable',
    server: luaOut(`local u = ngx.socket.udp() u:setpeername("127.0.0.1", {{PEER_UDP_SINK}}) u:settimeout(50) out(u:receive())
      out(u:setpeername("127.0.0.1", {{PEER_UDP_ECHO}})) u:settimeout(2000) u:send("again") out(u:receive())`),
    body: 'nil timeout\n1\nagain\n',
    log: [udpTimeoutLog],
  },
  {
    name: 'a port nobody is bound to',
    server: withUdp('PEER_UDP_CLOSED', `u:settimeout(500) out(u:send("anyone?")) out(u:receive())`),
    body: "1\nnil connection refused\n",
    log: [/\[error\] .*recv\(\) failed \(111: Connection refused\)/],
  },
  {
    name: 'send on a socket without a peer',
    server: luaOut(`local u = ngx.socket.udp() out(u:send("x"))`),
    body: "nil closed\n",
    log: [/\[error\] .*attempt to send data on a closed socket: u:0+, c:0+,/],
  },
  {
    name: 'receive on a socket without a peer',
    server: luaOut(`local u = ngx.socket.udp() out(u:receive())`),
    body: "nil closed\n",
    log: [/\[error\] .*attempt to receive data on a closed socket: u:0+, c:0+,/],
  },
  {
    name: 'close twice',
    server: withUdp('PEER_UDP_ECHO', `out(u:close()) out(u:close())`),
    body: "1\nnil closed\n",
  },
  {
    name: 'send and receive after close',
    server: withUdp('PEER_UDP_ECHO', `u:close() out(u:send("x")) out(u:receive())`),
    body: "nil closed\nnil closed\n",
    log: [/\[error\] .*attempt to send data on a closed socket: u:[0-9A-F]+, c:0+,/, /\[error\] .*attempt to receive data on a closed socket: u:[0-9A-F]+, c:0+,/],
  },
  {
    name: 'close a socket without a peer',
    server: luaOut(`local u = ngx.socket.udp() out(u:close())`),
    body: "nil closed\n",
  },
  {
    name: 'setpeername again switches the peer',
    server: luaOut(`local u = ngx.socket.udp() u:setpeername("127.0.0.1", {{PEER_UDP_SINK}}) u:send("lost")
      out(u:setpeername("127.0.0.1", {{PEER_UDP_ECHO}})) u:send("found") out(u:receive())`),
    body: '1\nfound\n',
  },
  {
    name: 'setpeername to a host name without a resolver',
    server: luaOut(`local u = ngx.socket.udp() out(u:setpeername("localhost", {{PEER_UDP_ECHO}}))`),
    body: "nil no resolver defined to resolve \"localhost\"\n",
  },
  {
    name: 'setpeername with a bad port',
    server: luaOut(`local u = ngx.socket.udp() out(pcall(u.setpeername, u, "127.0.0.1", 70000)) out(pcall(u.setpeername, u, "127.0.0.1"))`),
    body: "true nil bad port number: 70000\ntrue 1\n",
  },
  {
    name: 'setpeername to a missing unix socket',
    server: luaOut(`local u = ngx.socket.udp() out(u:setpeername("unix:{{PEER_UNIX_MISSING}}"))`),
    body: "nil no such file or directory\n",
    log: [/\[crit\] .*connect\(\) failed \(2: No such file or directory\)/],
  },
  {
    // the reference: the second receive fails with "socket busy", and the first one then never
    // sees the echoed datagram (it times out)
    name: 'two light threads receiving on one socket',
    server: withUdp('PEER_UDP_ECHO', `u:settimeout(200) local t1 = ngx.thread.spawn(function() return u:receive() end)
      local t2 = ngx.thread.spawn(function() return u:receive() end)
      u:send("only one") out(ngx.thread.wait(t1)) out(ngx.thread.wait(t2))`),
    body: "true nil timeout\ntrue nil socket busy\n",
    log: [udpTimeoutLog],
  },
  {
    name: 'udp in a timer',
    server: luaOut(`local res
      ngx.timer.at(0, function() local u = ngx.socket.udp() u:setpeername("127.0.0.1", {{PEER_UDP_ECHO}}) u:send("from timer") res = u:receive() end)
      for i = 1, 500 do if res then break end ngx.sleep(0.01) end out(res)`),
    body: 'from timer\n',
  },
  {
    name: 'udp disabled in log_by_lua',
    server: `location /t {
      content_by_lua_block { ngx.say("ok") }
      log_by_lua_block { local ok, err = pcall(ngx.socket.udp) ngx.log(ngx.WARN, "udp: ", ok, " ", err) }
    }`,
    body: 'ok\n',
    log: [/udp: false API disabled in the context of log_by_lua\*/],
  },
  {
    name: 'udp disabled in set_by_lua',
    server: `location /t {
      set_by_lua_block $r { local ok, err = pcall(ngx.socket.udp) return tostring(ok) .. " " .. err }
      content_by_lua_block { ngx.say(ngx.var.r) }
    }`,
    body: 'false API disabled in the context of set_by_lua*\n',
  },
  {
    name: 'udp in rewrite_by_lua',
    server: `location /t {
      rewrite_by_lua_block { local u = ngx.socket.udp() u:setpeername("127.0.0.1", {{PEER_UDP_ECHO}}) u:send("rw") ngx.ctx.r = u:receive() }
      content_by_lua_block { ngx.say(ngx.ctx.r) }
    }`,
    body: 'rw\n',
  },
  {
    name: 'settimeout with a bad value',
    server: luaOut(`local u = ngx.socket.udp() out(pcall(u.settimeout, u, "x")) out(pcall(u.settimeout, u))`),
    body: "true\nfalse ngx.socket settimeout: expecting at least 2 arguments (including the object) but seen 1\n",
  },
  {
    name: 'udp socket methods',
    server: luaOut(`local u = ngx.socket.udp() local t = {} for _, m in ipairs({"setpeername", "send", "receive", "settimeout", "close", "bind", "settimeouts", "connect", "receiveuntil"}) do t[#t + 1] = m .. "=" .. type(u[m]) end out(table.concat(t, " "))`),
    body: "setpeername=function send=function receive=function settimeout=function close=function bind=nil settimeouts=nil connect=nil receiveuntil=nil\n",
  },
];
