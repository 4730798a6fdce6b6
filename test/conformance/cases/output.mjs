// ngx.say / ngx.print / ngx.flush / ngx.eof: value conversion, framing, errors.
import { lua, luaErr, errorPage } from '../lib.mjs';

export default [
  {
    name: 'say a string, chunked by default',
    server: lua(`ngx.say("hello")`),
    status: 200,
    headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked', 'content-length': null },
    body: 'hello\n',
  },
  {
    name: 'print a string has no newline',
    server: lua(`ngx.print("hello")`),
    body: 'hello',
  },
  {
    name: 'say numbers uses %.14g',
    server: lua(`ngx.say(10/2, " ", 1/3, " ", 2^53)`),
    body: '5 0.33333333333333 9.007199254741e+15\n',
  },
  {
    name: 'say special numbers',
    server: lua(`ngx.say(1e15, " ", 1e16, " ", -0.5, " ", 1/0, " ", -1/0, " ", 123456789012)`),
    body: '1e+15 1e+16 -0.5 inf -inf 123456789012\n',
  },
  {
    name: 'say booleans and nil',
    server: lua(`ngx.say(true, " ", false, " ", nil)`),
    body: 'true false nil\n',
  },
  {
    name: 'say ngx.null',
    server: lua(`ngx.say(ngx.null, "|", {ngx.null, "x"})`),
    body: 'null|nullx\n',
  },
  {
    name: 'say nested array tables are flattened',
    server: lua(`ngx.say({"a", {"b", {"c", 1}}, 2.5, true})`),
    body: 'abc12.5true\n',
  },
  {
    name: 'say an array holding an empty table',
    server: lua(`ngx.say({1, {}})`),
    body: '1\n',
  },
  {
    name: 'say with no arguments is a bare newline',
    server: lua(`ngx.say()`),
    body: '\n',
  },
  {
    name: 'print several values',
    server: lua(`ngx.print(1, 2.5, "x", {"y", "z"})`),
    body: '12.5xyz',
  },
  {
    name: 'multiple say calls concatenate',
    server: lua(`ngx.say("a") ngx.print("b") ngx.say("c") for i = 1, 3 do ngx.print(i) end`),
    body: 'a\nbc\n123',
  },
  {
    name: 'say returns 1',
    server: lua(`local ok = ngx.say("x") ngx.say(ok)`),
    body: 'x\n1\n',
  },
  {
    name: 'say a hash table is an error',
    server: lua(`ngx.say({a = 1})`),
    status: 500,
    body: errorPage(500),
    headers: { 'content-type': 'text/html', connection: 'close' },
    log: [luaErr('content_by_lua', 1, `bad argument #1 to 'say' \\(non-array table found\\)`)],
  },
  {
    name: 'print a nested hash table is an error',
    server: lua(`ngx.print({1, {k = "v"}})`),
    status: 500,
    log: [luaErr('content_by_lua', 1, `bad argument #1 to 'print' \\(non-array table found\\)`)],
  },
  {
    name: 'say a function is an error',
    server: lua(`ngx.say("a", print)`),
    status: 500,
    log: [/content_by_lua\(nginx\.conf:\d+\):1: bad argument #2 to 'say' \(string, number, boolean, nil, ngx\.null, or array table expected, but got function\)/],
  },
  {
    name: 'empty content handler gives an empty 200',
    server: lua(`local x = 1`),
    status: 200,
    body: '',
  },
  {
    name: 'Content-Length set from Lua disables chunking',
    server: lua(`ngx.header["Content-Length"] = 6 ngx.say("hello")`),
    headers: { 'content-length': '6', 'transfer-encoding': null },
    body: 'hello\n',
  },
  {
    name: 'flush then more output',
    server: lua(`ngx.say("one") local ok, err = ngx.flush(true) ngx.say(ok, " ", err) ngx.flush() ngx.say("two")`),
    body: 'one\n1 nil\ntwo\n',
  },
  {
    name: 'output after eof is discarded',
    server: lua(`ngx.say("before") ngx.eof() local ok, err = ngx.say("after") ngx.log(ngx.WARN, "say after eof: ", ok, " ", err)`),
    body: 'before\n',
    log: [/\[warn\].*say after eof: nil seen eof/],
  },
  {
    name: 'eof returns 1 and ends the response',
    server: lua(`ngx.print("x") local ok = ngx.eof() ngx.log(ngx.WARN, "eof returned ", ok)`),
    body: 'x',
    log: [/eof returned 1/],
  },
  {
    name: 'HTTP/1.0 response is buffered with Content-Length',
    request: 'GET /t HTTP/1.0',
    server: lua(`ngx.say("old")`),
    statusLine: 'HTTP/1.1 200 OK',
    headers: { 'transfer-encoding': null, 'content-length': '4', connection: 'close' },
    body: 'old\n',
    closed: true,
  },
  {
    name: 'binary bytes pass through unchanged',
    server: lua(`ngx.print("\\0\\1\\255\\r\\n", string.char(200, 0, 10))`),
    body: Buffer.from([0, 1, 255, 13, 10, 200, 0, 10]),
  },
  {
    name: 'large output in many say calls',
    server: lua(`local s = string.rep("x", 1023) for i = 1, 64 do ngx.say(s) end`),
    body: (b) => b.length === 65536 && /^(x{1023}\n){64}$/.test(b),
  },
  {
    name: 'HEAD: once the head is out, ngx.say and ngx.flush return nil, "header only"',
    server: `location /t { content_by_lua_block {
      ngx.send_headers()
      local ok, err = ngx.say("x")
      local ok2, err2 = ngx.flush()
      ngx.log(ngx.WARN, "say: ", ok, " ", err, ", flush: ", ok2, " ", err2)
    } }`,
    request: 'HEAD /t',
    status: 200,
    body: '',
    log: [/\[warn\] .*say: nil header only, flush: nil header only/],
  },
  {
    name: 'HTTP/1.0 with a Content-Length Lua set: no buffering, each flushed piece leaves at once',
    // a cosocket client of the same server counts the reads the pieces arrive in
    server: `location /pieces { content_by_lua_block {
        ngx.header["Content-Length"] = 6
        for _, p in ipairs({"ab", "cd", "ef"}) do ngx.print(p) ngx.flush(true) ngx.sleep(0.15) end
      } }
      location /t { content_by_lua_block {
        local s = ngx.socket.tcp()
        s:settimeout(2000)
        assert(s:connect("127.0.0.1", ngx.var.server_port))
        s:send("GET /pieces HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
        repeat local l = s:receive() until l == ""
        local got = {}
        while true do
          local d, err = s:receiveany(100)
          if not d then break end
          got[#got + 1] = d
        end
        ngx.say(table.concat(got, "|"))
      } }`,
    body: 'ab|cd|ef\n',
  },
  {
    name: 'HTTP/1.0 and echo: no Content-Length made up for what echo writes',
    server: 'location /t { echo hi; }',
    request: 'GET /t HTTP/1.0',
    status: 200,
    headers: { 'content-length': null },
    body: 'hi\n',
  },
  {
    name: 'HEAD over HTTP/1.0: no Content-Length from the buffered output',
    server: `location /t { content_by_lua_block { ngx.print("Hello, Lua!\\n") } }`,
    request: 'HEAD /t HTTP/1.0',
    status: 200,
    headers: { 'content-length': null },
    body: '',
  },
  {
    name: 'ngx.arg[1] takes nested arrays of strings and numbers in a body filter',
    server: `location /t { content_by_lua_block { ngx.say("hello") } body_filter_by_lua_block { if ngx.arg[1] ~= "" then ngx.arg[1] = {"a", {"b", 3}, "\\n"} end } }`,
    body: 'ab3\n',
  },
];
