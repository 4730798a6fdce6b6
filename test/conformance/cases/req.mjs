// ngx.req.*: method, headers, uri args, body, http version, start time.
import { lua } from '../lib.mjs';

// print a table's keys sorted, with values (tables joined by ',')
const dump = `local function dump(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "table" then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = tostring(x) end
      v = "{" .. table.concat(parts, ",") .. "}"
    end
    ngx.say(k, "=", tostring(v))
  end
end
`;

export default [
  {
    name: 'get_method for GET',
    server: lua(`ngx.say(ngx.req.get_method())`),
    body: 'GET\n',
  },
  {
    name: 'get_method for DELETE and an unknown method',
    steps: [
      { request: 'DELETE /t', body: 'DELETE\n' },
      { request: 'FOOBAR /t', body: 'FOOBAR\n' },
    ],
    server: lua(`ngx.say(ngx.req.get_method())`),
  },
  {
    name: 'get_method follows set_method, a subrequest\'s own method and the error page\'s GET; a timer has none',
    server: `location /t { content_by_lua_block {
          local m1 = ngx.req.get_method()
          ngx.req.set_method(ngx.HTTP_PUT)
          local res = ngx.location.capture("/sub", { method = ngx.HTTP_DELETE })
          ngx.say(m1, " ", ngx.req.get_method(), " ", res.body, " ", ngx.req.get_method())
          ngx.timer.at(0, function() ngx.log(ngx.WARN, "timer: ", select(2, pcall(ngx.req.get_method))) end)
          ngx.sleep(0.01)
        } }
      location /sub { content_by_lua_block { ngx.print(ngx.req.get_method()) } }`,
    request: 'POST /t',
    body: 'POST PUT DELETE PUT\n',
    log: [/timer: API disabled in the current context/],
  },
  {
    name: 'get_method in the log phase after error_page redirected a POST to a GET location',
    server: `error_page 404 = /fallback;
      location /t { return 404; }
      location /fallback { content_by_lua_block { ngx.say(ngx.req.get_method()) } log_by_lua_block { ngx.log(ngx.WARN, "log: ", ngx.req.get_method()) } }`,
    request: 'POST /t',
    body: 'GET\n',
    log: [/log: GET/],
  },
  {
    name: 'get_headers lowercases keys',
    request: { line: 'GET /t', headers: { 'X-Mixed-Case': 'v1', 'ACCEPT': '*/*' } },
    server: lua(`${dump} dump(ngx.req.get_headers())`),
    body: 'accept=*/*\nhost=localhost\nx-mixed-case=v1\n',
  },
  {
    name: 'get_headers with repeated headers gives a table',
    request: { line: 'GET /t', headers: [['X-R', 'a'], ['X-R', 'b'], ['X-R', 'c']] },
    server: lua(`local h = ngx.req.get_headers() ngx.say(type(h["x-r"]), " ", table.concat(h["x-r"], ","))`),
    body: 'table a,b,c\n',
  },
  {
    name: 'get_headers with more headers than fit a small table (60, one repeated 30 times)',
    request: { line: 'GET /t', headers: [...Array.from({ length: 30 }, (_, i) => [`X-H${i}`, `v${i}`]), ...Array.from({ length: 30 }, (_, i) => ['X-Rep', `r${i}`])] },
    server: lua(`local h, err = ngx.req.get_headers() local n = 0 for _ in pairs(h) do n = n + 1 end
      ngx.say(n, " ", tostring(err), " ", h["x-h0"], " ", h["x-h29"], " ", #h["x-rep"], " ", h["x-rep"][30])`),
    body: '32 nil v0 v29 30 r29\n',
  },
  {
    name: 'get_headers lookup is case-insensitive and underscores work',
    request: { line: 'GET /t', headers: { 'X-Some-Thing': 'v' } },
    server: lua(`local h = ngx.req.get_headers() ngx.say(h["X-Some-Thing"], " ", h.x_some_thing, " ", h["x-some-thing"])`),
    body: 'v v v\n',
  },
  {
    name: 'get_headers raw keeps the original case',
    request: { line: 'GET /t', headers: { 'X-Mixed-Case': 'v1' } },
    server: lua(`local h = ngx.req.get_headers(0, true) ngx.say(h["X-Mixed-Case"], " ", h["x-mixed-case"])`),
    body: 'v1 nil\n',
  },
  {
    name: 'get_headers max limits the count',
    request: { line: 'GET /t', headers: { A: '1', B: '2', C: '3' } },
    server: lua(`local h, err = ngx.req.get_headers(2) local n = 0 for _ in pairs(h) do n = n + 1 end ngx.say(n, " ", err)`),
    body: '2 truncated\n',
  },
  {
    name: 'get_uri_args basic',
    request: 'GET /t?a=1&b=hello%20world&c=x+y',
    server: lua(`${dump} dump(ngx.req.get_uri_args())`),
    body: 'a=1\nb=hello world\nc=x y\n',
  },
  {
    name: 'get_uri_args repeats, no value and empty value',
    request: 'GET /t?k=1&k=2&flag&empty=&k=3',
    server: lua(`${dump} dump(ngx.req.get_uri_args())`),
    body: 'empty=\nflag=true\nk={1,2,3}\n',
  },
  {
    name: 'get_uri_args: keys that decode to a space or keep a bad escape, a flag then a value under one key',
    request: 'GET /t?+=1&%=2&c&c=9&e%20f=g%2Bh',
    server: lua(`${dump} dump(ngx.req.get_uri_args())`),
    body: ' =1\n%=2\nc={true,9}\ne f=g+h\n',
  },
  {
    name: 'get_uri_args with nothing',
    server: lua(`local n = 0 for _ in pairs(ngx.req.get_uri_args()) do n = n + 1 end ngx.say(n)`),
    body: '0\n',
  },
  {
    name: 'get_uri_args ignores empty pairs and keys',
    request: 'GET /t?&&=v&a=1&',
    server: lua(`${dump} dump(ngx.req.get_uri_args())`),
    body: 'a=1\n',
  },
  {
    name: 'get_uri_args max',
    request: 'GET /t?a=1&b=2&c=3',
    server: lua(`local args, err = ngx.req.get_uri_args(2) local n = 0 for _ in pairs(args) do n = n + 1 end ngx.say(n, " ", err)`),
    body: '2 truncated\n',
  },
  {
    name: 'set_uri_args from a table then read back',
    server: lua(`ngx.req.set_uri_args({ b = "2 3" }) ngx.say(ngx.var.args, " ", ngx.req.get_uri_args().b)`),
    body: 'b=2%203 2 3\n',
  },
  {
    name: 'read_body and get_body_data with Content-Length',
    request: { line: 'POST /t', body: 'hello body' },
    server: lua(`ngx.req.read_body() ngx.say(ngx.req.get_body_data())`),
    body: 'hello body\n',
  },
  {
    name: 'read_body with a chunked request body',
    request: { line: 'POST /t', headers: { 'Transfer-Encoding': 'chunked' }, body: '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n' },
    server: lua(`ngx.req.read_body() ngx.say(ngx.req.get_body_data(), " ", ngx.var.content_length)`),
    body: 'hello world 11\n', // nginx fills in $content_length once the chunked body is read
  },
  {
    name: 'get_body_data without read_body is nil',
    request: { line: 'POST /t', body: 'abc' },
    server: lua(`ngx.say(ngx.req.get_body_data())`),
    body: 'nil\n',
  },
  {
    name: 'read_body with no body',
    server: lua(`ngx.req.read_body() ngx.say(ngx.req.get_body_data(), " ", ngx.req.get_body_file())`),
    body: 'nil nil\n',
  },
  {
    name: 'body larger than the buffer goes to a file',
    http: 'client_body_buffer_size 8k;',
    request: { line: 'POST /t', body: 'z'.repeat(20000) },
    server: lua(`ngx.req.read_body() local f = ngx.req.get_body_file() ngx.say(ngx.req.get_body_data(), " ", type(f)) local fh = io.open(f, "rb") ngx.say(#fh:read("*a")) fh:close()`),
    body: 'nil string\n20000\n',
  },
  {
    name: 'get_post_args',
    request: { line: 'POST /t', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=x%20y&a=2' },
    server: lua(`${dump} ngx.req.read_body() dump(ngx.req.get_post_args())`),
    body: 'a={1,2}\nb=x y\n',
  },
  {
    name: 'get_post_args without read_body is an error',
    request: { line: 'POST /t', body: 'a=1' },
    server: lua(`ngx.req.get_post_args()`),
    status: 500,
    log: [/content_by_lua\(nginx\.conf:\d+\):1: no request body found; maybe you should turn on lua_need_request_body\?/],
  },
  {
    name: 'discard_body then get_body_data',
    request: { line: 'POST /t', body: 'junk' },
    server: lua(`ngx.req.discard_body() ngx.say(ngx.req.get_body_data())`),
    body: 'nil\n',
  },
  {
    name: 'http_version 1.1 and 1.0',
    steps: [
      { request: 'GET /t HTTP/1.1', body: '1.1\n' },
      { request: 'GET /t HTTP/1.0', newConnection: true, body: '1\n' },
    ],
    server: lua(`ngx.say(ngx.req.http_version())`),
  },
  {
    name: 'start_time is a recent number',
    server: lua(`local t = ngx.req.start_time() ngx.say(type(t), " ", math.abs(ngx.now() - t) < 5)`),
    body: 'number true\n',
  },
  {
    name: 'raw_header returns the request head',
    request: { line: 'GET /t?x=1', headers: { 'X-A': 'b' } },
    server: lua(`ngx.print(ngx.req.raw_header())`),
    body: 'GET /t?x=1 HTTP/1.1\r\nHost: localhost\r\nX-A: b\r\n\r\n',
  },
  {
    name: 'set_header and clear_header affect get_headers',
    request: { line: 'GET /t', headers: { 'X-Old': '1' } },
    server: lua(`ngx.req.set_header("X-New", "n") ngx.req.clear_header("X-Old") local h = ngx.req.get_headers() ngx.say(h["x-new"], " ", h["x-old"], " ", ngx.var.http_x_new)`),
    body: 'n nil n\n',
  },
  {
    name: 'is_internal is false for a client request',
    server: lua(`ngx.say(ngx.req.is_internal())`),
    body: 'false\n',
  },
  {
    name: 'set_uri without jump changes $uri only',
    request: 'GET /t?a=1',
    server: lua(`ngx.req.set_uri("/x y") ngx.say(ngx.var.uri, " ", ngx.var.request_uri)`),
    body: '/x y /t?a=1\n',
  },
  {
    name: 'set_uri errors: empty, unsafe bytes, jump outside rewrite',
    server: lua(`ngx.say(pcall(ngx.req.set_uri, "")) ngx.say(pcall(ngx.req.set_uri, "/a\\nb")) ngx.say(pcall(ngx.req.set_uri, "/q", true))`),
    body: 'falseattempt to use zero-length uri\nfalseunsafe byte "0x0a" in uri "/a\\x0Ab" (maybe you want to set the \'binary\' argument?)\nfalseAPI disabled in the context of content_by_lua*\n',
  },
  {
    name: 'set_uri with jump searches the locations again with a fresh ngx.ctx',
    server: `location /t { rewrite_by_lua_block { ngx.ctx.x = 1 ngx.req.set_uri("/u", true) ngx.log(ngx.ERR, "not reached") } }
      location /u { content_by_lua_block { ngx.say("u: ", ngx.var.uri, " ", ngx.var.request_uri, " ctx=", tostring(ngx.ctx.x)) } }`,
    body: 'u: /u /t ctx=nil\n',
  },
  {
    name: 'set_method and its errors',
    server: lua(`ngx.req.set_method(ngx.HTTP_POST) ngx.say(ngx.req.get_method(), " ", ngx.var.request_method) ngx.say(pcall(ngx.req.set_method, 3)) ngx.say(pcall(ngx.req.set_method, "GET"))`),
    body: 'POST POST\nfalseunsupported HTTP method: 3\nfalsebad method number\n',
  },
  {
    name: 'set_body_data, init/append/finish_body and ngx.req.add_header',
    request: { line: 'POST /t', body: 'orig' },
    server: lua(`ngx.say(pcall(ngx.req.set_body_data, "x")) ngx.req.read_body() ngx.req.set_body_data("new body")
      ngx.say(ngx.req.get_body_data(), " ", ngx.var.content_length, " ", ngx.req.get_headers()["content-length"])
      ngx.req.init_body() ngx.req.append_body("a") ngx.req.append_body("bc") ngx.req.finish_body()
      ngx.say(ngx.req.get_body_data()) ngx.say(pcall(ngx.req.append_body, "z"))
      local r = require "ngx.req" r.add_header("X-A", "1") r.add_header("X-A", "2") ngx.say(table.concat(ngx.req.get_headers()["x-a"], ","))`),
    body: 'falserequest body not read yet\nnew body 8 8\nabc\ntrue\n1,2\n',
  },
  {
    name: 'lua_need_request_body reads the body before the handler',
    http: 'lua_need_request_body on;',
    request: { line: 'POST /t', body: 'a=1&b=2' },
    server: lua(`ngx.say(ngx.req.get_body_data()) ngx.say(ngx.req.get_post_args().b)`),
    body: 'a=1&b=2\n2\n',
  },
  {
    name: 'lua_need_request_body with a body over client_max_body_size gives 413',
    request: { line: 'POST /t', body: '0123456789' },
    server: `location /t { lua_need_request_body on; client_max_body_size 5; content_by_lua_block { ngx.say("x") } }`,
    status: 413,
    log: [/client intended to send too large body: 10 bytes/],
  },
];
