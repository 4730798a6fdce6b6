// ngx.status and ngx.header
import { lua, luaErr } from '../lib.mjs';

export default [
  {
    name: 'ngx.status read before and after it is set, in the header filter and the log phase',
    server: `location /t {
        content_by_lua_block { local a = ngx.status ngx.status = 201 local b = ngx.status ngx.say(a, " ", b) }
        header_filter_by_lua_block { ngx.log(ngx.WARN, "hf: ", ngx.status) }
        log_by_lua_block { ngx.log(ngx.WARN, "log: ", ngx.status) }
      }
      location /x {
        access_by_lua_block { ngx.exit(403) }
        log_by_lua_block { ngx.log(ngx.WARN, "xlog: ", ngx.status) }
      }`,
    steps: [
      { request: 'GET /t', status: 201, body: '0 201\n' },
      { request: 'GET /x', status: 403 },
    ],
    log: [/hf: 201/, /log: 201/, /xlog: 403/],
  },
  {
    name: 'ngx.headers_sent in each phase: before and after the head went out',
    server: `location /t {
      rewrite_by_lua_block { ngx.ctx.r = tostring(ngx.headers_sent) }
      access_by_lua_block { ngx.ctx.a = tostring(ngx.headers_sent) }
      content_by_lua_block {
        local before = ngx.headers_sent
        ngx.send_headers()
        ngx.say(ngx.ctx.r, " ", ngx.ctx.a, " ", tostring(before), " ", tostring(ngx.headers_sent))
      }
      header_filter_by_lua_block { ngx.ctx.h = tostring(ngx.headers_sent) }
      body_filter_by_lua_block { if ngx.arg[2] then ngx.ctx.b = tostring(ngx.headers_sent) end }
      log_by_lua_block { ngx.log(ngx.WARN, "sent: ", ngx.ctx.h, " ", ngx.ctx.b, " ", tostring(ngx.headers_sent)) }
    }`,
    body: 'false false false true\n',
    log: [/\[warn\] .*sent: false true true/],
  },
  {
    name: 'status defaults to 0 before headers are sent',
    server: lua(`ngx.say(ngx.status)`),
    body: '0\n',
  },
  {
    name: 'status reads back 200 after headers are sent',
    server: lua(`ngx.say("x") ngx.flush(true) ngx.say(ngx.status)`),
    body: 'x\n200\n',
  },
  {
    name: 'set status 201',
    server: lua(`ngx.status = 201 ngx.say(ngx.status)`),
    statusLine: 'HTTP/1.1 201 Created',
    body: '201\n',
  },
  {
    name: 'set an unusual status keeps a bare status line',
    server: lua(`ngx.status = 299 ngx.say("odd")`),
    statusLine: /^HTTP\/1\.1 299 ?$/,
    body: 'odd\n',
  },
  {
    name: 'set status 404 with a body',
    server: lua(`ngx.status = ngx.HTTP_NOT_FOUND ngx.say("my own 404")`),
    status: 404,
    headers: { 'content-type': 'text/plain' },
    body: 'my own 404\n',
  },
  {
    name: 'set status after headers sent logs an error',
    server: lua(`ngx.say("x") ngx.flush(true) ngx.status = 500 ngx.say(ngx.status)`),
    status: 200,
    body: 'x\n200\n',
    log: ['attempt to set ngx.status after sending out response headers'],
  },
  {
    name: 'set status to a string number',
    server: lua(`ngx.status = "202" ngx.say("s")`),
    status: 202,
  },
  {
    name: 'set a custom header',
    server: lua(`ngx.header["X-Foo"] = "bar" ngx.say("ok")`),
    headers: { 'x-foo': 'bar' },
    body: 'ok\n',
  },
  {
    name: 'underscores in header names become dashes',
    server: lua(`ngx.header.x_my_header = "v" ngx.say(ngx.header["X-My-Header"], " ", ngx.header.x_my_header)`),
    headers: { 'x-my-header': 'v' },
    body: 'v v\n',
  },
  {
    name: 'header number values become strings',
    server: lua(`ngx.header["X-Num"] = 3.5 ngx.header["X-Int"] = 42 ngx.say("ok")`),
    headers: { 'x-num': '3.5', 'x-int': '42' },
  },
  {
    name: 'multi-value header from a table',
    server: lua(`ngx.header["Set-Cookie"] = {"a=1", "b=2"} local v = ngx.header["Set-Cookie"] ngx.say(type(v), " ", v[1], " ", v[2])`),
    headers: { 'set-cookie': ['a=1', 'b=2'] },
    body: 'table a=1 b=2\n',
  },
  {
    name: 'clear a header with nil',
    server: lua(`ngx.header["X-A"] = "1" ngx.header["X-A"] = nil ngx.say(ngx.header["X-A"])`),
    headers: { 'x-a': null },
    body: 'nil\n',
  },
  {
    name: 'clear a header with an empty table',
    server: lua(`ngx.header["X-A"] = "1" ngx.header["X-A"] = {} ngx.say("ok")`),
    headers: { 'x-a': null },
  },
  {
    name: 'header overwrite replaces the value',
    server: lua(`ngx.header["X-A"] = "1" ngx.header["x-a"] = "2" ngx.say(ngx.header["X-A"])`),
    headers: { 'x-a': '2' },
    body: '2\n',
  },
  {
    name: 'header names are case-insensitive on read',
    server: lua(`ngx.header["X-Case"] = "v" ngx.say(ngx.header["x-case"], ngx.header["X-CASE"], ngx.header.x_case)`),
    body: 'vvv\n',
  },
  {
    name: 'Content-Type defaults to default_type',
    server: `default_type application/x-test; ${lua(`ngx.say(ngx.header["Content-Type"])`)}`,
    headers: { 'content-type': 'application/x-test' },
    body: 'nil\n',
  },
  {
    name: 'Content-Type set from Lua',
    server: lua(`ngx.header.content_type = "application/json" ngx.say(ngx.header.content_type)`),
    headers: { 'content-type': 'application/json' },
    body: 'application/json\n',
  },
  {
    name: 'custom headers keep their order',
    server: lua(`ngx.header["X-First"] = "1" ngx.header["X-Second"] = "2" ngx.header["X-Third"] = "3" ngx.say("ok")`),
    headerOrder: ['x-first', 'x-second', 'x-third'],
  },
  {
    name: 'setting a header after output logs an error',
    server: lua(`ngx.say("x") ngx.header["X-Late"] = "1" ngx.say("y")`),
    headers: { 'x-late': null },
    body: 'x\ny\n',
    log: ['attempt to set ngx.header.HEADER after sending out response headers'],
  },
  {
    name: 'header values with CRLF are escaped',
    server: lua(`ngx.header["X-Inj"] = "a\\r\\nX-Evil: 1" ngx.say("ok")`),
    headers: { 'x-evil': null, 'x-inj': 'a%0D%0AX-Evil: 1' },
  },
  {
    name: 'get_headers of the response',
    server: lua(`ngx.header["X-A"] = "1" ngx.header["X-B"] = {"2", "3"} local h = ngx.resp.get_headers() ngx.say(h["x-a"], " ", table.concat(h["x-b"], ","))`),
    body: '1 2,3\n',
  },
  {
    name: 'ngx.header is not a plain table',
    server: lua(`ngx.say(type(ngx.header), " ", getmetatable(ngx.header) ~= nil)`),
    body: 'table true\n',
  },
  {
    name: 'set a bad status type is an error',
    server: lua(`ngx.status = {}`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: /],
  },
  {
    name: 'header names and values are %-escaped: no header can be split or injected',
    server: lua(`ngx.header["\\rheader: value\\rfoo:bar\\nbar:foo"] = "xx" ngx.header["X-V"] = "a\\r\\nInjected: 1" ngx.header["a(b)c@d/e?f=g{h}i,j;k\\"l<m>n[o]p\\\\q\\tr\\127s\\195t"] = "v\\tw\\1x\\127y\\195z" ngx.say("ok")`),
    headers: {
      '%0dheader%3a%20value%0dfoo%3abar%0abar%3afoo': 'xx',
      'x-v': 'a%0D%0AInjected: 1',
      'a%28b%29c%40d%2fe%3ff%3dg%7bh%7di%2cj%3bk%22l%3cm%3en%5bo%5dp%5cq%09r%7fs%c3t': 'v\tw%01x%7Fy\u00c3z',
    },
    body: 'ok\n',
  },
  {
    name: 'Cache-Control takes several values, and reads back as a table',
    server: lua(`ngx.header.cache_control = { "private", "no-store" } local v = ngx.header.cache_control ngx.say(type(v), " ", table.concat(v, ","))`),
    body: 'table private,no-store\n',
  },
  {
    name: 'ngx.status set in a timer: the error is positioned at the code that set it',
    server: lua(`ngx.timer.at(0, function() local ok, e = pcall(function() ngx.status = 201 end) ngx.log(ngx.WARN, "timer status: ", e) end) ngx.sleep(0.02) ngx.say("ok")`),
    body: 'ok\n',
    log: [/\[warn\] .*timer status: content_by_lua\(nginx\.conf:\d+\):1: API disabled in the current context, context: ngx\.timer/],
  },
  {
    name: 'ngx.header.content_type reads nil until the head is out, then the default_type sent',
    server: lua(`local before = tostring(ngx.header.content_type) ngx.send_headers() ngx.say(before, " ", tostring(ngx.header.content_type))`),
    body: 'nil text/plain\n',
  },
  {
    name: 'ngx.resp.get_headers lists the Connection too (100 headers set: truncated at 100)',
    server: `location /t { content_by_lua_block {
      for i = 1, 100 do ngx.header["Foo" .. i] = "Foo" end
      local h, err = ngx.resp.get_headers()
      local n = 0 for _ in pairs(h) do n = n + 1 end
      local h2 = ngx.resp.get_headers()
      ngx.say(ngx.header.content_type, " ", err, " ", n, " ", h2.connection, " ", h2["content-type"])
    } }`,
    body: 'nil truncated 100 keep-alive nil\n',
  },
  {
    name: 'ngx.header.content_length with a value that is no number: "failed to set header"',
    server: `location /t { content_by_lua_block { ngx.header.content_length = "text/my-plain" ngx.say("Hi") } }`,
    status: 500,
    log: [/\[error\] .*runtime error: content_by_lua\(nginx\.conf:\d+\):1: failed to set header/],
  },
  {
    name: 'an error page goes through body_filter_by_lua, keeping its length',
    server: `location /t { content_by_lua_block { ngx.exit(502) }
      body_filter_by_lua_block { if ngx.arg[2] then ngx.log(ngx.WARN, "status in body filter: ", ngx.status) end } }`,
    status: 502,
    headers: { 'content-length': /^\d+$/ },
    log: [/\[warn\] .*status in body filter: 502/],
  },
  {
    name: 'ngx.status changed in a header filter over an error page: the new status, the old page',
    server: `location = /t { return 502; header_filter_by_lua_block { if ngx.status == 502 then ngx.status = 654 end } }`,
    status: 654,
    body: /502 Bad Gateway/,
  },
  {
    name: 'status 101 has its reason phrase',
    server: `location /t { content_by_lua_block { ngx.status = 101 ngx.send_headers() } }`,
    statusLine: /^HTTP\/1\.1 101 Switching Protocols$/,
    noResponse: false,
  },
  {
    name: 'a Lua 200 with Last-Modified / ETag: If-Modified-Since (exact) or If-None-Match make it a 304',
    server: `location /t { content_by_lua_block { ngx.header["ETag"] = "123456789" ngx.header.last_modified = "Thu, 10 May 2012 07:50:59 GMT" ngx.say("hello") } }`,
    steps: [
      { request: { line: 'GET /t', headers: { 'If-Modified-Since': 'Thu, 10 May 2012 07:50:59 GMT' } }, status: 304, headers: { 'content-type': null, etag: '123456789' }, body: '' },
      { request: { line: 'GET /t', headers: { 'If-None-Match': '123456789' } }, status: 304, body: '' },
      { request: { line: 'GET /t', headers: { 'If-None-Match': '12345' } }, status: 200, body: 'hello\n' },
      { request: { line: 'GET /t', headers: { 'If-Modified-Since': 'Thu, 10 May 2012 07:50:58 GMT' } }, status: 200, body: 'hello\n' },
    ],
  },
  {
    name: 'lua_use_default_type off: a Lua response without a type has none',
    server: `lua_use_default_type off; location /t { content_by_lua_block { ngx.say("x") } }`,
    headers: { 'content-type': null },
    body: 'x\n',
  },
  {
    name: 'etag off: a static file without ETag',
    files: { 'et1/a.txt': 'a' },
    server: 'location / { root et1; etag off; }',
    request: 'GET /a.txt',
    headers: { etag: null, 'last-modified': /GMT$/ },
    body: 'a',
  },
];
