// ngx.req.socket(): the downstream request body as a cosocket, and ngx.req.socket(true): the raw
// client connection.
import { lua, luaOut, OUT } from '../lib.mjs';

const post = (body, extra = {}) => ({ line: 'POST /t', body, ...extra });
const readTimeoutLog = /\[error\] .*lua tcp socket read timed out/;
// the head nginx sends for a text/plain response without a length (Server and Date any value)
const head = (extra = 'Connection: close\r\n', proto = 'HTTP/1.1') => `${proto} 200 OK\r\nServer: [^\r]*\r\nDate: [^\r]*\r\nContent-Type: text/plain\r\n${extra}\r\n`;
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// all bytes on the connection: that head, then exactly `rest`
const rawIs = (rest, extra) => new RegExp(`^${head(extra)}${esc(rest)}$`);
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

export default [
  // --- ngx.req.socket() -------------------------------------------------------------------
  {
    name: 'read a Content-Length body with receive(n)',
    request: post('hello world'),
    server: luaOut(`local sock, err = ngx.req.socket() out(type(sock), err) out(sock:receive(5)) out(sock:receive(6))`),
    body: "table nil\nhello\n world\n",
  },
  {
    name: 'receive *a reads the rest of the body',
    request: post('all of it'),
    server: luaOut(`local sock = ngx.req.socket() out(sock:receive(4)) out(sock:receive("*a")) out(sock:receive("*a"))`),
    body: "all \nof it\n\n",
  },
  {
    name: 'receive lines from the body',
    request: post('l1\r\nl2\nl3'),
    server: luaOut(`local sock = ngx.req.socket() for i = 1, 4 do out(sock:receive()) end`),
    body: "l1\nl2\nnil closed l3\nnil closed\n",
    log: [/\[error\] .*attempt to receive data on a closed socket: u:[0-9A-F]+, c:[0-9A-F]+, ft:0 eof:1/],
  },
  {
    name: 'receive more than the body',
    request: post('short'),
    server: luaOut(`local sock = ngx.req.socket() out(sock:receive(100)) out(sock:receive(1))`),
    body: "nil closed short\nnil closed\n",
    log: [/\[error\] .*attempt to receive data on a closed socket/],
  },
  {
    name: 'receiveuntil over the body',
    request: post('a=1&b=2&c=3'),
    server: luaOut(`local sock = ngx.req.socket() local r = sock:receiveuntil("&") for i = 1, 4 do out(r()) end`),
    body: "a=1\nb=2\nnil closed c=3\nnil closed\n",
  },
  {
    name: 'receiveany over the body',
    request: post('0123456789'),
    server: luaOut(`local sock = ngx.req.socket() out(sock:receiveany(4)) out(sock:receiveany(100)) out(sock:receiveany(1))`),
    body: "0123\n456789\nnil closed \n",
  },
  {
    name: 'a body arriving in pieces',
    request: { raw: ['POST /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 12\r\n\r\n', 'abcd', 'efgh', 'ijkl'], gap: 30 },
    server: luaOut(`local sock = ngx.req.socket() out(sock:receive(6)) out(sock:receive(6))`),
    body: 'abcdef\nghijkl\n',
  },
  {
    name: 'a read timeout while the client is slow',
    request: { raw: 'POST /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc' },
    server: luaOut(`local sock = ngx.req.socket() sock:settimeout(100) out(sock:receive(10))`),
    body: "nil timeout abc\n",
    log: [readTimeoutLog],
  },
  {
    name: 'the whole body at once with lines',
    request: post('line\n'),
    server: luaOut(`local sock = ngx.req.socket() out(sock:receive()) out(sock:receive())`),
    body: "line\nnil closed \n",
  },
  {
    name: 'all 256 byte values in the body',
    request: post(ALL_BYTES),
    server: luaOut(`local sock = ngx.req.socket() local d = sock:receive(256) local ok = #d == 256 for i = 1, 256 do if d:byte(i) ~= i - 1 then ok = false end end out(ok)`),
    body: 'true\n',
  },
  {
    name: 'a 1 MiB body',
    request: post(Buffer.alloc(1048576, 'b')),
    server: luaOut(`local sock = ngx.req.socket() local n = 0 for i = 1, 2000 do local d, err, p = sock:receive(4096) if not d then n = n + #p break end n = n + #d end out(n)`),
    body: '1048576\n',
    timeout: 10000,
  },
  {
    name: 'no request body',
    server: luaOut(`out(ngx.req.socket())`),
    body: "nil no body\n",
  },
  {
    name: 'Content-Length 0',
    request: post(''),
    server: luaOut(`out(ngx.req.socket())`),
    body: "nil no body\n",
  },
  {
    name: 'a chunked request body',
    request: { line: 'POST /t', headers: { 'Transfer-Encoding': 'chunked' }, body: '5\r\nhello\r\n0\r\n\r\n' },
    server: luaOut(`local sock, err = ngx.req.socket() out(type(sock), err) if sock then out(sock:receive(5)) end`),
    body: 'nil chunked request bodies not supported yet\n',
  },
  {
    name: 'after ngx.req.read_body',
    request: post('read already'),
    server: luaOut(`ngx.req.read_body() out(ngx.req.socket())`),
    body: "nil request body already exists\n",
  },
  {
    name: 'ngx.req.read_body after reading through the socket',
    request: post('abcdef'),
    server: luaOut(`local sock = ngx.req.socket() out(sock:receive(6)) out(pcall(ngx.req.read_body)) out(ngx.req.get_body_data())`),
    body: "abcdef\ntrue\nnil\n",
  },
  {
    name: 'ngx.req.socket twice',
    request: post('abcdef'),
    server: luaOut(`local a = ngx.req.socket() out(a:receive(2)) local b, err = ngx.req.socket() out(type(b), err, a == b) if b then out(b:receive(2)) end`),
    body: "ab\nnil request body already exists false\n",
  },
  {
    name: 'the body socket has no send',
    request: post('x'),
    server: luaOut(`local sock = ngx.req.socket() out(type(sock.send), type(sock.receive), type(sock.receiveuntil), type(sock.close), type(sock.setkeepalive), type(sock.settimeout))`),
    body: "nil function function nil nil function\n",
  },
  {
    name: 'ngx.req.socket in rewrite_by_lua',
    request: post('from rewrite'),
    server: `location /t {
      rewrite_by_lua_block { local sock = ngx.req.socket() ngx.ctx.b = sock:receive(4) }
      content_by_lua_block { ngx.say(ngx.ctx.b) }
    }`,
    body: 'from\n',
  },
  {
    name: 'ngx.req.socket disabled in log_by_lua',
    request: post('x'),
    server: `location /t {
      content_by_lua_block { ngx.say("ok") }
      log_by_lua_block { local ok, err = pcall(ngx.req.socket) ngx.log(ngx.WARN, "rs: ", ok, " ", err) }
    }`,
    body: 'ok\n',
    log: [/rs: false API disabled in the context of log_by_lua\*/],
  },
  {
    name: 'ngx.req.socket in a timer',
    server: luaOut(`local res
      ngx.timer.at(0, function() res = { pcall(ngx.req.socket) } end)
      for i = 1, 500 do if res then break end ngx.sleep(0.01) end out(res[1], res[2])`),
    body: "false API disabled in the context of ngx.timer\n",
  },
  {
    name: 'keep-alive after reading the body through the socket',
    server: luaOut(`local sock = ngx.req.socket() out(sock:receive(3))`),
    steps: [
      { request: post('one'), body: 'one\n' },
      { request: post('two'), body: 'two\n' },
    ],
  },
  {
    name: 'keep-alive after reading part of the body through the socket',
    server: luaOut(`local sock = ngx.req.socket() out(sock:receive(2))`),
    steps: [
      { request: post('abcdef'), body: 'ab\n' },
      { request: post('xyz'), body: 'xy\n' },
    ],
  },
  {
    name: 'Expect: 100-continue',
    request: post('continued', { headers: { Expect: '100-continue' } }),
    server: luaOut(`local sock = ngx.req.socket() out(sock:receive(9))`),
    interim: ['HTTP/1.1 100 Continue'],
    body: 'continued\n',
  },

  // --- ngx.req.socket(true) ---------------------------------------------------------------
  {
    name: 'raw socket writes the whole response',
    request: 'GET /t HTTP/1.0',
    server: lua(`local sock, err = ngx.req.socket(true) if not sock then ngx.log(ngx.ERR, err) return end
      sock:send("HTTP/1.1 200 OK\\r\\nContent-Length: 3\\r\\nX-Raw: yes\\r\\n\\r\\nraw")`),
    rawResponse: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Raw: yes\r\n\r\nraw",
  },
  {
    name: 'raw socket echo after send_headers and flush',
    request: { raw: ['GET /t HTTP/1.0\r\n\r\n', 'first line\n', 'second line\nquit\n'], gap: 30 },
    server: lua(`ngx.send_headers() ngx.flush(true) local sock, err = ngx.req.socket(true) if not sock then ngx.log(ngx.ERR, "raw: ", err) return end
      for i = 1, 10 do local l, err = sock:receive() if not l or l == "quit" then break end sock:send("echo: " .. l .. "\\n") end`),
    rawResponse: rawIs('echo: first line\necho: second line\n'),
  },
  {
    name: 'raw socket on HTTP/1.1 after send_headers and flush',
    request: { raw: ['GET /t HTTP/1.1\r\nHost: localhost\r\n\r\n', 'ping\n'], gap: 30 },
    server: lua(`ngx.send_headers() ngx.flush(true) local sock, err = ngx.req.socket(true) if not sock then ngx.log(ngx.ERR, "raw: ", err) return end
      local l = sock:receive() sock:send("pong " .. tostring(l) .. "\\n")`),
    rawResponse: rawIs('pong ping\n', 'Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n'),
    incomplete: true,
  },
  {
    name: 'raw socket with the headers not flushed',
    request: 'GET /t HTTP/1.0',
    server: lua(`ngx.send_headers() ${OUT} local sock, err = ngx.req.socket(true) ngx.log(ngx.WARN, "raw: ", tostring(sock), " ", err)`),
    rawResponse: '',
    noResponse: true,
    log: [/raw: table: /],
  },
  {
    name: 'raw socket with output pending',
    request: 'GET /t HTTP/1.0',
    server: lua(`ngx.say("pending") local sock, err = ngx.req.socket(true) ngx.log(ngx.WARN, "raw: ", tostring(sock), " ", err)`),
    rawResponse: rawIs('pending\n', 'Content-Length: 8\r\nConnection: close\r\n'),
    log: [/raw: nil http 1\.0 buffering/],
  },
  {
    name: 'raw socket with output pending on HTTP/1.1',
    request: 'GET /t',
    server: lua(`ngx.say("pending") local sock, err = ngx.req.socket(true) ngx.log(ngx.WARN, "raw: ", tostring(sock), " ", err)`),
    // the reference: a socket, and the pending output (headers included) is never sent
    rawResponse: '',
    noResponse: true,
    log: [/raw: table: /],
  },
  {
    name: 'raw socket reads the unread request body first',
    request: { raw: ['POST /t HTTP/1.0\r\nContent-Length: 4\r\n\r\nbody', 'more\n'], gap: 30 },
    server: lua(`ngx.send_headers() ngx.flush(true) local sock = ngx.req.socket(true) local a = sock:receive(4) local b = sock:receive() sock:send(a .. "|" .. tostring(b) .. "\\n")`),
    rawResponse: rawIs('body|more\n'),
  },
  {
    name: 'raw socket: the client half-closes',
    halfClose: true,
    request: { raw: 'GET /t HTTP/1.0\r\n\r\nleft over' },
    server: lua(`ngx.send_headers() ngx.flush(true) local sock = ngx.req.socket(true) local d, err, p = sock:receive("*a") sock:send(tostring(d) .. "|" .. tostring(err) .. "|" .. tostring(p) .. "\\n")`),
    rawResponse: rawIs('left over|nil|nil\n'),
  },
  {
    name: 'raw socket echo of all 256 byte values',
    request: { raw: [Buffer.from('GET /t HTTP/1.0\r\n\r\n'), ALL_BYTES], gap: 30 },
    server: lua(`ngx.send_headers() ngx.flush(true) local sock = ngx.req.socket(true) local d = sock:receive(256) sock:send(d)`),
    rawResponse: (text) => text.endsWith(ALL_BYTES.toString('latin1')),
  },
  {
    name: 'raw socket read timeout',
    request: 'GET /t HTTP/1.0',
    server: lua(`ngx.send_headers() ngx.flush(true) local sock = ngx.req.socket(true) sock:settimeout(100) local d, err = sock:receive() sock:send(tostring(d) .. " " .. tostring(err) .. "\\n")`),
    rawResponse: rawIs('nil timeout\n'),
    log: [readTimeoutLog],
  },
  {
    name: 'raw socket methods',
    request: 'GET /t HTTP/1.0',
    server: lua(`local sock = ngx.req.socket(true) local t = {} for _, m in ipairs({"send", "receive", "receiveuntil", "receiveany", "close", "setkeepalive", "settimeout", "settimeouts", "connect"}) do t[#t + 1] = m .. "=" .. type(sock[m]) end
      sock:send("HTTP/1.0 200 OK\\r\\n\\r\\n" .. table.concat(t, " ") .. "\\n")`),
    rawResponse: "HTTP/1.0 200 OK\r\n\r\nsend=function receive=function receiveuntil=function receiveany=function close=nil setkeepalive=nil settimeout=function settimeouts=function connect=nil\n",
  },
  {
    name: 'the raw connection closes when the handler ends',
    request: { raw: 'GET /t HTTP/1.1\r\nHost: localhost\r\n\r\n' },
    server: lua(`ngx.send_headers() ngx.flush(true) local sock = ngx.req.socket(true) sock:send("bye")`),
    rawResponse: rawIs('bye', 'Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n'),
    incomplete: true,
    closed: true,
  },
  {
    name: 'raw socket twice',
    request: 'GET /t HTTP/1.0',
    server: lua(`ngx.send_headers() ngx.flush(true) local a = ngx.req.socket(true) local b, err = ngx.req.socket(true) a:send(tostring(a == b) .. " " .. tostring(b and "sock" or err) .. "\\n")`),
    rawResponse: rawIs('false duplicate call\n'),
  },
  {
    name: 'ngx.say after taking the raw socket',
    request: 'GET /t HTTP/1.0',
    server: lua(`ngx.send_headers() ngx.flush(true) local sock = ngx.req.socket(true) local ok, err = pcall(ngx.say, "x") sock:send(tostring(ok) .. " " .. tostring(err) .. "\\n")`),
    rawResponse: rawIs('true nil\n'),
  },
];
