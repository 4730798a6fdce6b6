// ngx.socket.tcp: connect, send, receive, receiveany, receiveuntil, timeouts, close, errors,
// contexts. Peers ({{PEER_*}}) are the servers of ../peers.mjs.
import { lua, luaOut, OUT, luaErr } from '../lib.mjs';
import { CLOSE_PAYLOAD, CHUNKS_PAYLOAD, BIG_UNIT, BIG_REPEAT } from '../peers.mjs';

// connect to a peer port (the socket is `sock`), then run `code`
const withSock = (peer, code, pre = '') => luaOut(`local sock = ngx.socket.tcp() ${pre} ` +
  `local ok, err = sock:connect("127.0.0.1", {{${peer}}}) if not ok then out("connect", ok, err) return end ${code}`);

const readTimeoutLog = /\[error\] .*lua tcp socket read timed out/;
const connectTimeoutLog = /\[error\] .*lua tcp socket connect timed out/;

export default [
  // --- connect ------------------------------------------------------------------------------
  {
    name: 'connect ok returns 1',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:connect("127.0.0.1", {{PEER_ECHO}})) sock:close()`),
    body: '1\n',
  },
  {
    name: 'connect refused',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:connect("127.0.0.1", {{PORT_CLOSED}}))`),
    body: 'nil connection refused\n',
    log: [/\[error\] .*connect\(\) failed \(111: Connection refused\)/],
  },
  {
    name: 'connect refused is not logged with lua_socket_log_errors off',
    server: `lua_socket_log_errors off; ${luaOut(`local sock = ngx.socket.tcp() out(sock:connect("127.0.0.1", {{PORT_CLOSED}}))`)}`,
    body: 'nil connection refused\n',
    noLog: [/connect\(\) failed/],
  },
  {
    name: 'connect timeout with settimeout',
    server: luaOut(`local sock = ngx.socket.tcp() sock:settimeout(100) local t = ngx.now()
      out(sock:connect("127.0.0.1", {{PEER_BLACKHOLE}}))`),
    body: 'nil timeout\n',
    log: [connectTimeoutLog],
  },
  {
    name: 'connect timeout with settimeouts',
    server: luaOut(`local sock = ngx.socket.tcp() sock:settimeouts(100, 5000, 5000)
      out(sock:connect("127.0.0.1", {{PEER_BLACKHOLE}}))`),
    body: 'nil timeout\n',
    log: [connectTimeoutLog],
  },
  {
    name: 'connect timeout with lua_socket_connect_timeout',
    server: `lua_socket_connect_timeout 100ms; ${luaOut(`local sock = ngx.socket.tcp()
      out(sock:connect("127.0.0.1", {{PEER_BLACKHOLE}}))`)}`,
    body: 'nil timeout\n',
    log: [connectTimeoutLog],
  },
  {
    name: 'connect timeout not logged with lua_socket_log_errors off',
    server: `lua_socket_log_errors off; ${luaOut(`local sock = ngx.socket.tcp() sock:settimeout(100)
      out(sock:connect("127.0.0.1", {{PEER_BLACKHOLE}}))`)}`,
    body: 'nil timeout\n',
    noLog: [/timed out/],
  },
  {
    name: 'ngx.socket.connect shortcut',
    server: luaOut(`local sock, err = ngx.socket.connect("127.0.0.1", {{PEER_ECHO}}) out(type(sock), err)
      out(sock:send("hi\\n")) out(sock:receive()) out(sock:close())`),
    body: "table nil\n3\nhi\n1\n",
  },
  {
    name: 'ngx.socket.connect shortcut refused',
    server: luaOut(`out(ngx.socket.connect("127.0.0.1", {{PORT_CLOSED}}))`),
    body: 'nil connection refused\n',
    log: [/connect\(\) failed \(111: Connection refused\)/],
  },
  {
    name: 'ngx.socket.connect to a unix socket',
    server: luaOut(`local sock, err = ngx.socket.connect("unix:{{PEER_UNIX}}") out(type(sock), err)
      sock:send("u\\n") out(sock:receive())`),
    body: "table nil\nu\n",
  },
  {
    name: 'ngx.socket.stream is ngx.socket.tcp',
    server: luaOut(`out(ngx.socket.stream == ngx.socket.tcp)`),
    body: 'true\n',
  },
  {
    name: 'unix socket echo',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:connect("unix:{{PEER_UNIX}}"))
      out(sock:send("over unix\\r\\n")) out(sock:receive("*l")) out(sock:close())`),
    body: '1\n11\nover unix\n1\n',
  },
  {
    name: 'missing unix socket path',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:connect("unix:{{PEER_UNIX_MISSING}}"))`),
    body: 'nil no such file or directory\n',
    log: [/connect\(\) to unix:.*missing\.sock failed \(2: No such file or directory\)/],
  },
  {
    name: 'connect to a host name without a resolver',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:connect("localhost", {{PEER_ECHO}}))`),
    body: /^nil no resolver defined to resolve "localhost"\n$/,
  },
  {
    name: 'connect with a port out of range',
    server: luaOut(`local sock = ngx.socket.tcp() out(pcall(sock.connect, sock, "127.0.0.1", 70000))`),
    body: "true nil bad port number: 70000\n",
  },
  {
    name: 'connect with a port number as a string',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:connect("127.0.0.1", "{{PEER_ECHO}}"))`),
    body: "1\n",
  },
  {
    name: 'connect without a port',
    server: luaOut(`local sock = ngx.socket.tcp() out(pcall(sock.connect, sock, "127.0.0.1"))`),
    body: "true nil missing the port number\n",
  },
  {
    name: 'connect called without the object',
    server: luaOut(`local sock = ngx.socket.tcp() out(pcall(sock.connect, "127.0.0.1", {{PEER_ECHO}}))`),
    body: "false bad argument #1 to '?' (table expected, got string)\n",
  },
  {
    name: 'connect again on a connected socket',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:connect("127.0.0.1", {{PEER_GREETING}}))
      out(sock:connect("127.0.0.1", {{PEER_LINES}})) sock:send("x\\n") out(sock:receive())`),
    body: "1\n1\ngot: x\n",
  },

  // --- send ---------------------------------------------------------------------------------
  {
    name: 'send returns the byte count',
    server: withSock('PEER_ECHO', `out(sock:send("hello")) out(sock:send("")) out(sock:receive(5))`),
    body: "5\n0\nhello\n",
  },
  {
    name: 'send a nested array table',
    server: withSock('PEER_ECHO', `out(sock:send({"ab", {"c", {"d", 1, 2.5}}, "\\n"})) out(sock:receive())`),
    body: "9\nabcd12.5\n",
  },
  {
    name: 'send a number and a boolean',
    server: withSock('PEER_ECHO', `out(sock:send(42)) out(sock:send(1.5)) out(pcall(sock.send, sock, true)) out(sock:receive(5))`),
    body: "2\n3\ntrue 4\n421.5\n",
  },
  {
    name: 'send nil sends "nil"',
    server: withSock('PEER_ECHO', `out(pcall(sock.send, sock, nil)) out(sock:receive(3))`),
    body: "true 3\nnil\n",
  },
  {
    name: 'send without an argument is an error',
    server: withSock('PEER_ECHO', `out(pcall(sock.send, sock))`),
    body: "false expecting 2 arguments (including the object), but got 1\n",
  },
  {
    name: 'send writes numbers as ngx.say does, alone and in tables',
    server: withSock('PEER_ECHO', `local n = 0
      for _, v in ipairs({-0, 0/0, 123456789012345, 2^31, -7, 0.1}) do n = n + sock:send(v) + sock:send({v, {v}}) end
      out(sock:receive(n))`),
    body: "000-nan-nan-nan1.2345678901234e+141.2345678901234e+141.2345678901234e+14214748364821474836482147483648-7-7-70.10.10.1\n",
  },
  {
    name: 'send a table with a boolean element is an error',
    server: withSock('PEER_ECHO', `out(pcall(sock.send, sock, {"a", true}))`),
    body: "false bad argument #2 to '?' (bad data type boolean found)\n",
  },
  {
    name: 'send a hash table is an error',
    server: withSock('PEER_ECHO', `out(pcall(sock.send, sock, {a = 1}))`),
    body: "false bad argument #2 to '?' (non-array table found)\n",
  },
  {
    name: 'send a function is an error',
    server: withSock('PEER_ECHO', `out(pcall(sock.send, sock, print))`),
    body: "false bad argument #2 to '?' (string, number, boolean, nil, or array table expected, got function)\n",
  },
  {
    name: 'send on a socket never connected',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:send("x"))`),
    body: 'nil closed\n',
    log: [/\[error\] .*attempt to send data on a closed socket: u:0+, c:0+, ft:0 eof:0/],
  },
  {
    name: 'send to a peer that reset the connection',
    server: withSock('PEER_RESET_NOW', `ngx.sleep(0.3) out(sock:send("x")) out(sock:receive())`),
    body: "nil connection reset by peer\nnil closed \n",
    log: [/\[error\] .*send\(\) failed \(104: Connection reset by peer\)/],
  },

  // --- receive ------------------------------------------------------------------------------
  {
    name: 'receive *l strips \\r\\n',
    server: withSock('PEER_ECHO', `sock:send("one\\r\\ntwo\\r\\n") out(sock:receive("*l")) out(sock:receive("*l"))`),
    body: "one\ntwo\n",
  },
  {
    name: 'receive *l with a bare \\n',
    server: withSock('PEER_ECHO', `sock:send("one\\ntwo\\n") out(sock:receive("*l")) out(sock:receive("*l"))`),
    body: "one\ntwo\n",
  },
  {
    name: 'receive *l drops every \\r in the line',
    server: withSock('PEER_ECHO', `sock:send("a\\rb\\r\\r\\n") local l = sock:receive("*l") out(#l, (l:gsub("\\r", "<CR>")))`),
    body: "2 ab\n",
  },
  {
    name: 'receive of lines already buffered: CRs inside, CRLF, bare LF, one split across reads',
    server: withSock('PEER_ECHO', `sock:send("a\\rb\\r\\r\\nx\\r\\ny\\nsp") ngx.sleep(0.1) sock:send("lit\\r\\n")
      for i = 1, 3 do local l = sock:receive() out(#l, (l:gsub("\\r", "<CR>"))) end
      ngx.sleep(0.1) out(sock:receive("*l"))`),
    body: "2 ab\n1 x\n1 y\nsplit\n",
  },
  {
    name: 'receive(n) of bytes already buffered, within one read and across two',
    server: withSock('PEER_ECHO', `sock:send("abcdef") ngx.sleep(0.1) sock:send("ghij") ngx.sleep(0.1)
      out(sock:receive(2)) out(sock:receive(2)) out(sock:receive(4)) out(sock:receive(2))`),
    body: "ab\ncd\nefgh\nij\n",
  },
  {
    name: 'receive *l of an empty line',
    server: withSock('PEER_ECHO', `sock:send("\\r\\n\\nx\\n") out("[" .. sock:receive() .. "]") out("[" .. sock:receive() .. "]") out(sock:receive())`),
    body: "[]\n[]\nx\n",
  },
  {
    name: 'receive default pattern is a line',
    server: withSock('PEER_ECHO', `sock:send("abc\\ndef\\n") out(sock:receive()) out(pcall(sock.receive, sock, nil))`),
    body: "abc\nfalse bad argument #2 to '?' (bad pattern argument)\n",
  },
  {
    name: 'receive l without the star',
    server: withSock('PEER_ECHO', `sock:send("abc\\n") out(pcall(sock.receive, sock, "l"))`),
    body: "false bad argument #2 to '?' (bad pattern argument: l)\n",
  },
  {
    name: 'receive with a bad pattern',
    server: withSock('PEER_ECHO', `out(pcall(sock.receive, sock, "*x"))`),
    body: "false bad argument #2 to '?' (bad pattern argument)\n",
  },
  {
    name: 'receive with a table pattern',
    server: withSock('PEER_ECHO', `out(pcall(sock.receive, sock, {}))`),
    body: "false bad argument #2 to '?' (bad pattern argument)\n",
  },
  {
    name: 'receive *a reads until the peer closes',
    server: withSock('PEER_CLOSE_AFTER', `local d, err = sock:receive("*a") out(d == ${JSON.stringify(CLOSE_PAYLOAD)}, #d, err)`),
    body: `true ${CLOSE_PAYLOAD.length} nil\n`,
  },
  {
    name: 'receive *a again after the close gives an empty string',
    server: withSock('PEER_CLOSE_AFTER', `sock:receive("*a") out(sock:receive("*a")) out(sock:receive())`),
    body: "\nnil closed \n",
  },
  {
    name: 'receive(n) reads exactly n bytes',
    server: withSock('PEER_ECHO', `sock:send("abcdefgh") out(sock:receive(3)) out(sock:receive(5))`),
    body: "abc\ndefgh\n",
  },
  {
    name: 'receive(n) with n as a numeric string',
    server: withSock('PEER_ECHO', `sock:send("abcdefgh") out(sock:receive("3"))`),
    body: "abc\n",
  },
  {
    name: 'receive(0) returns an empty string',
    server: withSock('PEER_ECHO', `out("[" .. tostring(sock:receive(0)) .. "]")`),
    body: '[]\n',
  },
  {
    name: 'receive a negative size',
    server: withSock('PEER_ECHO', `out(pcall(sock.receive, sock, -1))`),
    body: "false bad argument #2 to '?' (bad pattern argument)\n",
  },
  {
    name: 'receive a fractional size',
    server: withSock('PEER_ECHO', `sock:send("abcdef") out(sock:receive(2.7))`),
    body: "ab\n",
  },
  {
    name: 'mixing *l and receive(n)',
    server: withSock('PEER_ECHO', `sock:send("head\\r\\nbodybytesnext\\n") out(sock:receive()) out(sock:receive(9)) out(sock:receive())`),
    body: "head\nbodybytes\nnext\n",
  },
  {
    name: 'partial line when the peer closes',
    server: withSock('PEER_CLOSE_AFTER', `for i = 1, 5 do local l, err, p = sock:receive() out(l and (l:gsub("\\r", "<CR>")), err, p) if not l then break end end`),
    body: "line one nil nil\nline two nil nil\nthreestill three nil nil\nnil closed tail\n",
  },
  {
    name: 'receive(n) beyond the data when the peer closes',
    server: withSock('PEER_CLOSE_AFTER', `local d, err, p = sock:receive(1000) out(d, err, p == ${JSON.stringify(CLOSE_PAYLOAD)})`),
    body: 'nil closed true\n',
  },
  {
    name: 'receive after the peer closed and everything was read',
    server: withSock('PEER_CLOSE_AFTER', `sock:receive("*a") out(sock:receive(1)) out(sock:receive())`),
    body: "nil closed \nnil closed\n",
    log: [/\[error\] .*attempt to receive data on a closed socket: u:[0-9A-F]+, c:[0-9A-F]+, ft:0 eof:1/],
  },
  {
    name: 'receive from a peer that resets',
    server: withSock('PEER_RESET', `out(sock:send("x")) out(sock:receive())`),
    body: "1\nnil connection reset by peer \n",
    log: [/recv\(\) failed \(104: Connection reset by peer\)/],
  },
  {
    name: 'greeting peer then echo',
    server: withSock('PEER_GREETING', `out(sock:receive()) sock:send("again\\n") out(sock:receive())`),
    body: "hello\nagain\n",
  },
  {
    name: 'several lines through the lines peer',
    server: withSock('PEER_LINES', `for i = 1, 3 do sock:send("n" .. i .. "\\n") end for i = 1, 3 do out(sock:receive()) end`),
    body: "got: n1\ngot: n2\ngot: n3\n",
  },

  // --- receiveany ---------------------------------------------------------------------------
  {
    name: 'receiveany returns what is there, up to max',
    server: withSock('PEER_ECHO', `sock:send("0123456789") ngx.sleep(0.2) out(sock:receiveany(4)) out(sock:receiveany(100))`),
    body: "0123\n456789\n",
  },
  {
    name: 'receiveany with a bad max',
    server: withSock('PEER_ECHO', `out(pcall(sock.receiveany, sock, 0)) out(pcall(sock.receiveany, sock, "x"))`),
    body: "false bad argument #2 to '?' (bad max argument)\nfalse bad argument #2 to '?' (bad max argument)\n",
  },
  {
    name: 'receiveany without an argument',
    server: withSock('PEER_ECHO', `out(pcall(sock.receiveany, sock))`),
    body: "false expecting 2 arguments (including the object), but got 1\n",
  },
  {
    name: 'receiveany after the peer closed',
    server: withSock('PEER_CLOSE_AFTER', `sock:receive("*a") out(sock:receiveany(10))`),
    body: "nil closed \n",
  },
  {
    name: 'receiveany timeout',
    server: withSock('PEER_SLOW', `sock:settimeout(50) out(sock:receiveany(10))`),
    body: "nil timeout \n",
    log: [readTimeoutLog],
  },

  // --- read timeouts ------------------------------------------------------------------------
  {
    name: 'read timeout with settimeout',
    server: withSock('PEER_SLOW', `sock:settimeout(100) out(sock:receive())`),
    body: "nil timeout \n",
    log: [readTimeoutLog],
  },
  {
    name: 'read timeout with settimeouts',
    server: withSock('PEER_SLOW', `sock:settimeouts(1000, 1000, 100) out(sock:receive(5))`),
    body: "nil timeout \n",
    log: [readTimeoutLog],
  },
  {
    name: 'read timeout with lua_socket_read_timeout',
    server: `lua_socket_read_timeout 100ms; ${withSock('PEER_SLOW', `out(sock:receive("*a"))`)}`,
    body: "nil timeout \n",
    log: [readTimeoutLog],
  },
  {
    name: 'read timeout not logged with lua_socket_log_errors off',
    server: `lua_socket_log_errors off; ${withSock('PEER_SLOW', `sock:settimeout(100) out(sock:receive())`)}`,
    body: "nil timeout \n",
    noLog: [/timed out/],
  },
  {
    name: 'read timeout keeps the socket usable',
    server: withSock('PEER_DELAYED', `sock:settimeout(50) out(sock:receive()) sock:settimeout(2000) out(sock:receive())
      sock:send("after\\n") out(sock:receive())`),
    body: "nil timeout \nlate\nafter\n",
    log: [readTimeoutLog],
  },
  {
    name: 'read timeout returns partial data',
    server: withSock('PEER_GREETING', `sock:settimeout(500) sock:send("abc") ngx.sleep(0.1) out(sock:receive(20))`),
    body: "nil timeout hello\r\nabc\n",
    log: [readTimeoutLog],
  },
  {
    name: 'read timeout in a partial line',
    server: withSock('PEER_ECHO', `sock:settimeout(100) sock:send("no newline") out(sock:receive())`),
    body: 'nil timeout no newline\n',
    log: [readTimeoutLog],
  },
  {
    name: 'settimeout after settimeouts overrides all three',
    server: withSock('PEER_SLOW', `sock:settimeouts(5000, 5000, 5000) sock:settimeout(80) out(sock:receive())`),
    body: "nil timeout \n",
    log: [readTimeoutLog],
  },

  // --- receiveuntil -------------------------------------------------------------------------
  {
    name: 'receiveuntil simple',
    server: withSock('PEER_ECHO', `sock:send("first--END--second--END--") local r = sock:receiveuntil("--END--")
      out(r()) out(r()) `),
    body: "first\nsecond\n",
  },
  {
    name: 'receiveuntil inclusive',
    server: withSock('PEER_ECHO', `sock:send("ab|cd|") local r = sock:receiveuntil("|", { inclusive = true }) out(r()) out(r())`),
    body: "ab|\ncd|\n",
  },
  {
    name: 'receiveuntil with a size argument',
    server: withSock('PEER_ECHO', `sock:send("0123456789--b--rest") local r = sock:receiveuntil("--b--")
      for i = 1, 6 do local d, err, p = r(4) out(d, err, p) if not d then break end end out(sock:receive(4))`),
    body: "0123 nil nil\n4567 nil nil\n89 nil nil\nnil nil nil\nrest\n",
  },
  {
    name: 'receiveuntil pattern straddling the peer\'s chunks',
    server: withSock('PEER_CHUNKS', `local r = sock:receiveuntil("--sep--")
      for i = 1, 6 do local d, err, p = r() out(d, err, p) if not d then break end end`),
    body: "alpha nil nil\nbeta nil nil\ngamma--se nil nil\nnil closed delta\n",
  },
  {
    name: 'receiveuntil with size over chunked data',
    server: withSock('PEER_CHUNKS', `local r = sock:receiveuntil("--sep--") local parts = {}
      for i = 1, 60 do local d, err, p = r(2) if d then if d ~= "" then parts[#parts + 1] = d end elseif err then out(err, p) break else parts[#parts + 1] = "|" end end
      out(table.concat(parts, ","))`),
    body: "closed a\nal,ph,a,|,be,ta,|,ga,mm,a--se,|,de,lt\n",
  },
  {
    name: 'receiveuntil pattern at the end of the stream',
    server: withSock('PEER_CLOSE_AFTER', `local r = sock:receiveuntil("tail") local d, err, p = r() out(#d, err, p) out(r())`),
    body: "38 nil nil\nnil closed \n",
  },
  {
    name: 'receiveuntil closed before the pattern',
    server: withSock('PEER_CLOSE_AFTER', `local r = sock:receiveuntil("nope") local d, err, p = r() out(d, err, p == ${JSON.stringify(CLOSE_PAYLOAD)})`),
    body: 'nil closed true\n',
  },
  {
    name: 'receiveuntil with a repeated-prefix pattern',
    server: withSock('PEER_ECHO', `sock:send("xaaab--aab--") local r = sock:receiveuntil("aab") out(r()) out(r()) out(r(1))`),
    body: "xa\n--\n-\n",
  },
  {
    name: 'receiveuntil empty pattern is an error',
    server: withSock('PEER_ECHO', `out(pcall(sock.receiveuntil, sock, ""))`),
    body: "true nil pattern is empty\n",
  },
  {
    name: 'receiveuntil with a bad options table',
    server: withSock('PEER_ECHO', `out(pcall(sock.receiveuntil, sock, "x", { inclusive = 1 }))`),
    body: "false bad \"inclusive\" option value type: number\n",
  },
  {
    name: 'receiveuntil timeout with partial data',
    server: withSock('PEER_ECHO', `sock:settimeout(100) sock:send("no end here") local r = sock:receiveuntil("END") out(r())`),
    body: "nil timeout no end here\n",
    log: [readTimeoutLog],
  },
  {
    name: 'receiveuntil then receive the rest',
    server: withSock('PEER_ECHO', `sock:send("key: value\\r\\n\\r\\nbody") local r = sock:receiveuntil("\\r\\n\\r\\n") out(r()) out(sock:receive(4))`),
    body: "key: value\nbody\n",
  },

  // --- close and closed sockets -------------------------------------------------------------
  {
    name: 'close twice',
    server: withSock('PEER_ECHO', `out(sock:close()) out(sock:close())`),
    body: '1\nnil closed\n',
  },
  {
    name: 'close a socket never connected',
    server: luaOut(`local sock = ngx.socket.tcp() out(sock:close())`),
    body: 'nil closed\n',
  },
  {
    name: 'operations on a closed socket',
    server: withSock('PEER_ECHO', `sock:close() out(sock:send("x")) out(sock:receive()) out(sock:receive(2)) out(sock:receiveany(2))
      out(sock:getreusedtimes()) out(sock:setkeepalive())`),
    body: "nil closed\nnil closed\nnil closed\nnil closed\nnil closed\nnil closed\n",
    log: [/\[error\] .*attempt to send data on a closed socket/, /\[error\] .*attempt to receive data on a closed socket: u:[0-9A-F]+, c:0+, ft:0 eof:0/],
  },
  {
    name: 'receiveuntil iterator on a closed socket',
    server: withSock('PEER_ECHO', `local r = sock:receiveuntil("x") sock:close() out(r())`),
    body: "nil closed\n",
  },
  {
    name: 'a closed socket can connect again',
    server: withSock('PEER_ECHO', `sock:close() out(sock:connect("127.0.0.1", {{PEER_LINES}})) sock:send("re\\n") out(sock:receive())`),
    body: "1\ngot: re\n",
  },
  {
    name: 'a read timeout does not close the socket',
    server: withSock('PEER_ECHO', `sock:settimeout(50) out(sock:receive()) out(sock:send("y\\n")) sock:settimeout(1000) out(sock:receive())`),
    body: "nil timeout \n2\ny\n",
    log: [readTimeoutLog],
  },

  // --- concurrency --------------------------------------------------------------------------
  {
    name: 'two light threads reading one socket',
    server: withSock('PEER_DELAYED', `local t1 = ngx.thread.spawn(function() return sock:receive() end)
      local t2 = ngx.thread.spawn(function() return sock:receive() end)
      out(ngx.thread.wait(t1)) out(ngx.thread.wait(t2))`),
    body: "true late\ntrue nil socket busy reading\n",
  },
  {
    name: 'a light thread writes while another reads',
    server: withSock('PEER_LINES', `local t1 = ngx.thread.spawn(function() return sock:receive() end)
      local t2 = ngx.thread.spawn(function() return sock:send("ping\\n") end)
      out(ngx.thread.wait(t1)) out(ngx.thread.wait(t2))`),
    body: "true got: ping\ntrue 5\n",
  },
  {
    name: 'killing a thread blocked on receive',
    server: withSock('PEER_DELAYED', `local t = ngx.thread.spawn(function() return sock:receive() end)
      ngx.sleep(0.01) out(ngx.thread.kill(t)) sock:settimeout(1000) out(sock:receive())`),
    body: "1\nnil closed\n",
    log: [/\[error\] .*attempt to receive data on a closed socket/],
  },
  {
    name: 'sockets of two requests at once',
    server: withSock('PEER_LINES', `local s2 = ngx.socket.tcp() s2:connect("127.0.0.1", {{PEER_LINES}})
      sock:send("a\\n") s2:send("b\\n") out(s2:receive()) out(sock:receive())`),
    body: "got: b\ngot: a\n",
  },

  // --- bytes and sizes ----------------------------------------------------------------------
  {
    name: 'all 256 byte values round-trip through echo',
    server: withSock('PEER_ECHO', `local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end local s = table.concat(t)
      out(sock:send(s)) local d = sock:receive(256) out(d == s, #d)`),
    body: "256\ntrue 256\n",
  },
  {
    name: '1 MiB from the big peer with *a',
    server: withSock('PEER_BIG', `local d, err = sock:receive("*a") out(#d, err, d == string.rep("${BIG_UNIT}", ${BIG_REPEAT}))`),
    body: '1048576 nil true\n',
  },
  {
    name: '1 MiB from the big peer with receive(n)',
    server: withSock('PEER_BIG', `local d, err = sock:receive(1048576) out(#d, err, d:sub(-16)) out(sock:receive(1))`),
    body: `1048576 nil ${BIG_UNIT}\nnil closed \n`,
  },
  {
    name: '1 MiB round trip through echo',
    server: withSock('PEER_ECHO', `local s = string.rep("x", 1048576) out(sock:send(s)) local d = sock:receive(#s) out(d == s)`),
    body: "1048576\ntrue\n",
  },
  {
    name: '1 MiB in lines from the big peer via receiveuntil',
    server: withSock('PEER_BIG', `local r = sock:receiveuntil("f0") local n = 0 local last
      for i = 1, 70000 do local d, err, p = r() if not d then last = err .. " " .. #p break end n = n + 1 end out(n, last)`),
    body: "65535 closed 14\n",
  },

  // --- contexts -----------------------------------------------------------------------------
  {
    name: 'cosocket in a timer',
    server: luaOut(`local res = {}
      local ok, err = ngx.timer.at(0, function()
        local sock = ngx.socket.tcp() res[1] = tostring(sock:connect("127.0.0.1", {{PEER_LINES}}))
        sock:send("from timer\\n") res[2] = sock:receive() sock:close()
      end)
      for i = 1, 500 do if res[2] then break end ngx.sleep(0.01) end out(res[1], res[2])`),
    body: '1 got: from timer\n',
  },
  {
    name: 'cosocket in init_worker through a timer',
    // the result travels through package.loaded (one Lua VM per worker), not ngx.shared
    http: `init_worker_by_lua_block {
      ngx.timer.at(0, function()
        local sock = ngx.socket.tcp()
        local ok, err = sock:connect("127.0.0.1", {{PEER_LINES}})
        if not ok then package.loaded.sock_iw = "connect: " .. err return end
        sock:send("init worker\\n")
        local l, err = sock:receive()
        package.loaded.sock_iw = l or err
        sock:close()
      end)
    }`,
    server: luaOut(`for i = 1, 500 do if package.loaded.sock_iw then break end ngx.sleep(0.01) end out(package.loaded.sock_iw)`),
    body: 'got: init worker\n',
  },
  {
    name: 'cosocket directly in init_worker is disabled',
    http: `init_worker_by_lua_block {
      local ok, err = pcall(function() local s = ngx.socket.tcp() return s:connect("127.0.0.1", {{PEER_ECHO}}) end)
      package.loaded.sock_iw2 = tostring(ok) .. " " .. tostring(err)
    }`,
    server: luaOut(`out(package.loaded.sock_iw2)`),
    body: /^false init_worker_by_lua\(nginx\.conf:\d+\):2: API disabled in the context of init_worker_by_lua\*\n$/,
  },
  {
    name: 'cosocket in rewrite and access',
    server: `location /t {
      rewrite_by_lua_block { local s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_LINES}}) s:send("rw\\n") ngx.ctx.rw = s:receive() }
      access_by_lua_block { local s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_LINES}}) s:send("ac\\n") ngx.ctx.ac = s:receive() }
      content_by_lua_block { ngx.say(ngx.ctx.rw, "|", ngx.ctx.ac) }
    }`,
    body: 'got: rw|got: ac\n',
  },
  {
    name: 'cosocket disabled in log_by_lua',
    server: `location /t {
      content_by_lua_block { ngx.say("ok") }
      log_by_lua_block { local ok, err = pcall(ngx.socket.tcp) ngx.log(ngx.WARN, "tcp: ", ok, " ", err) }
    }`,
    body: 'ok\n',
    log: [/tcp: false API disabled in the context of log_by_lua\*/],
  },
  {
    name: 'connect disabled in log_by_lua with a socket from content',
    server: `location /t {
      content_by_lua_block { ngx.ctx.s = ngx.socket.tcp() ngx.say("ok") }
      log_by_lua_block { local ok, err = pcall(ngx.ctx.s.connect, ngx.ctx.s, "127.0.0.1", {{PEER_ECHO}}) ngx.log(ngx.WARN, "connect: ", ok, " ", err) }
    }`,
    body: 'ok\n',
    log: [/connect: false/],
  },
  {
    name: 'cosocket disabled in header_filter_by_lua',
    server: `location /t {
      content_by_lua_block { ngx.say("ok") }
      header_filter_by_lua_block { local ok, err = pcall(ngx.socket.tcp) ngx.header["X-Err"] = tostring(ok) .. " " .. err }
    }`,
    headers: { 'x-err': 'false API disabled in the context of header_filter_by_lua*' },
    body: 'ok\n',
  },
  {
    name: 'cosocket disabled in body_filter_by_lua',
    server: `location /t {
      content_by_lua_block { ngx.say("ok") }
      body_filter_by_lua_block { if ngx.arg[2] then local ok, err = pcall(ngx.socket.tcp) ngx.arg[1] = tostring(ok) .. " " .. err .. "\\n" end }
    }`,
    body: "ok\nfalse API disabled in the context of body_filter_by_lua*\n",
  },
  {
    name: 'cosocket disabled in set_by_lua',
    server: `location /t {
      set_by_lua_block $r { local ok, err = pcall(ngx.socket.tcp) return tostring(ok) .. " " .. err }
      content_by_lua_block { ngx.say(ngx.var.r) }
    }`,
    body: 'false API disabled in the context of set_by_lua*\n',
  },
  {
    name: 'ngx.socket.connect disabled in log_by_lua',
    server: `location /t {
      content_by_lua_block { ngx.say("ok") }
      log_by_lua_block { local ok, err = pcall(ngx.socket.connect, "127.0.0.1", {{PEER_ECHO}}) ngx.log(ngx.WARN, "sc: ", ok, " ", err) }
    }`,
    body: 'ok\n',
    log: [/sc: false ngx\.socket\.connect:1: API disabled in the context of log_by_lua\* while logging request/],
  },
  {
    name: 'a socket used by another request',
    server: `location /a { content_by_lua_block {
        local s = ngx.socket.tcp() s:connect("127.0.0.1", {{PEER_LINES}}) package.loaded.shared_sock = s ngx.say("stored") } }
      location /t { content_by_lua_block {
        local s = package.loaded.shared_sock ${OUT} out(pcall(s.send, s, "x\\n")) } }`,
    steps: [{ request: 'GET /a', body: 'stored\n' }, { request: 'GET /t', body: 'true nil closed\n' }],
    log: [/\[error\] .*attempt to send data on a closed socket/],
  },
  {
    name: 'unhandled error in the handler after connect',
    server: withSock('PEER_ECHO', `error("boom")`),
    status: 500,
    log: [luaErr('content_by_lua', 1, 'boom')],
  },
];
