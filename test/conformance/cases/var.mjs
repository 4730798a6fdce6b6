// ngx.var: built-in variables, set/interpolation, writes.
import { lua } from '../lib.mjs';

export default [
  {
    name: 'uri, args and request_uri',
    request: 'GET /t/sub?a=1&b=two',
    server: lua(`ngx.say(ngx.var.uri, "|", ngx.var.args, "|", ngx.var.request_uri, "|", ngx.var.is_args)`, '/t'),
    body: '/t/sub|a=1&b=two|/t/sub?a=1&b=two|?\n',
  },
  {
    name: 'args absent is nil',
    server: lua(`ngx.say(ngx.var.args, " [", ngx.var.is_args, "] ", ngx.var.query_string)`),
    body: 'nil [] nil\n',
  },
  {
    name: 'uri is decoded and normalised, request_uri is raw',
    request: 'GET /t/a/../b%20c?x=%41',
    server: lua(`ngx.say(ngx.var.uri, "|", ngx.var.request_uri, "|", ngx.var.arg_x)`, '/t'),
    body: '/t/b c|/t/a/../b%20c?x=%41|%41\n',
  },
  {
    name: 'arg_ variables',
    request: 'GET /t?foo=bar&Foo=second&empty=&flag',
    server: lua(`ngx.say(ngx.var.arg_foo, " ", ngx.var.arg_FOO, " [", ngx.var.arg_empty, "] ", ngx.var.arg_flag, " ", ngx.var.arg_missing)`),
    body: 'bar bar [] nil nil\n',
  },
  {
    name: 'arg_ names: a key that only starts like the name, a name in capitals, an empty key, a value with =',
    request: 'GET /t?fooo=1&FOO=up&=x&foo=late&eq=a=b&a%3Db=enc',
    server: lua(`ngx.say(ngx.var.arg_foo, " ", ngx.var.arg_fo, " ", ngx.var.arg_eq, " ", ngx.var["arg_a%3Db"], " ", tostring(ngx.var.arg_))`),
    body: 'up nil a=b enc nil\n',
  },
  {
    name: 'variable values around the 255-byte mark and far above it cross intact',
    request: `GET /t?a=${'x'.repeat(252)}&b=${'y'.repeat(253)}&c=${'z'.repeat(254)}&d=${'w'.repeat(3000)}`,
    server: lua(`local v = ngx.var ngx.say(#v.arg_a, " ", #v.arg_b, " ", #v.arg_c, " ", #v.arg_d, " ", v.arg_c == string.rep("z", 254), " ", v.arg_d == string.rep("w", 3000), " ", #v.args, " ", #v.request_uri)`),
    body: '252 253 254 3000 true true 3770 3773\n',
  },
  {
    name: 'http_ names: dashes and underscores, capitals in the header name, a longer header sharing the prefix',
    request: { line: 'GET /t', headers: [['X-Long-Name-Plus', 'no'], ['x-LONG-name', 'yes'], ['X_Under', 'u']] },
    server: lua(`ngx.say(ngx.var.http_x_long_name, " ", ngx.var.HTTP_X_LONG_NAME, " ", tostring(ngx.var.http_x_long))`),
    body: 'yes yes nil\n',
  },
  {
    name: 'ngx.var.args = nil makes $args and $query_string nil; "" and a value read back as written',
    request: 'GET /t?hello=world',
    server: lua(`ngx.var.args = nil
      ngx.say(tostring(ngx.var.args), "|", tostring(ngx.var.query_string), "|", ngx.var.is_args, "|", ngx.var.request_uri, "|", tostring(ngx.var.arg_hello))
      ngx.var.args = "" ngx.say(tostring(ngx.var.args), "|", tostring(ngx.var.query_string))
      ngx.var.args = "a=1" ngx.say(ngx.var.args, "|", ngx.var.arg_a)`),
    body: 'nil|nil||/t?hello=world|nil\n|\na=1|1\n',
  },
  {
    name: 'http_ variables',
    request: { line: 'GET /t', headers: { 'X-Custom-Thing': 'abc', 'User-Agent': 'conf-test/1.0' } },
    server: lua(`ngx.say(ngx.var.http_x_custom_thing, " ", ngx.var.http_user_agent, " ", ngx.var.http_host, " ", ngx.var.http_missing)`),
    body: 'abc conf-test/1.0 localhost nil\n',
  },
  {
    name: 'repeated request header: http_ var holds only the first (nginx 1.22)',
    request: { line: 'GET /t', headers: [['X-Rep', 'one'], ['X-Rep', 'two']] },
    server: lua(`ngx.say(ngx.var.http_x_rep)`),
    body: 'one\n',
  },
  {
    name: 'cookie_ variables',
    request: { line: 'GET /t', headers: { Cookie: 'a=1; session=xyz; b=' } },
    server: lua(`ngx.say(ngx.var.cookie_session, " ", ngx.var.cookie_a, " [", ngx.var.cookie_b, "] ", ngx.var.cookie_none, " ", ngx.var.http_cookie)`),
    body: 'xyz 1 [] nil a=1; session=xyz; b=\n',
  },
  {
    name: 'request_method, scheme, server_protocol',
    request: 'POST /t',
    server: lua(`ngx.say(ngx.var.request_method, " ", ngx.var.scheme, " ", ngx.var.server_protocol)`),
    body: 'POST http HTTP/1.1\n',
  },
  {
    name: 'host, server_name, server_addr, server_port, remote_addr',
    request: { line: 'GET /t', headers: { Host: 'Example.COM:8080' } },
    server: lua(`ngx.say(ngx.var.host, " ", ngx.var.server_name, " ", ngx.var.server_addr, " ", ngx.var.server_port == "{{PORT}}", " ", ngx.var.remote_addr, " ", type(tonumber(ngx.var.remote_port)))`),
    body: 'example.com localhost 127.0.0.1 true 127.0.0.1 number\n',
  },
  {
    name: 'host falls back to server_name',
    request: { line: 'GET /t HTTP/1.0', noHost: true },
    server: lua(`ngx.say(ngx.var.host, " ", ngx.var.http_host)`),
    body: 'localhost nil\n',
  },
  {
    name: 'content_length and content_type',
    request: { line: 'POST /t', headers: { 'Content-Type': 'text/x-foo' }, body: 'hello' },
    server: lua(`ngx.say(ngx.var.content_length, " ", ngx.var.content_type)`),
    body: '5 text/x-foo\n',
  },
  {
    name: 'set variable with interpolation',
    request: 'GET /t?name=world',
    server: `location /t { set $greet "hello, $arg_name!"; content_by_lua_block { ngx.say(ngx.var.greet) } }`,
    body: 'hello, world!\n',
  },
  {
    name: 'set variable with braces',
    server: `location /t { set $a "x"; set $b "\${a}y$a"; content_by_lua_block { ngx.say(ngx.var.b) } }`,
    body: 'xyx\n',
  },
  {
    name: 'write a declared variable',
    server: `location /t { set $foo "old"; content_by_lua_block { ngx.var.foo = "new" ngx.say(ngx.var.foo) ngx.var.foo = 42 ngx.say(ngx.var.foo) } }`,
    body: 'new\n42\n',
  },
  {
    name: 'write nil to a declared variable makes it not found',
    server: `location /t { set $foo "old"; content_by_lua_block { ngx.var.foo = nil ngx.say("[", ngx.var.foo, "]") } }`,
    body: '[nil]\n',
  },
  {
    name: 'variable written in rewrite is seen in content',
    server: `location /t { set $v ""; rewrite_by_lua_block { ngx.var.v = "from-rewrite" } content_by_lua_block { ngx.say(ngx.var.v) } }`,
    body: 'from-rewrite\n',
  },
  {
    name: 'writing an undeclared variable is an error',
    server: lua(`ngx.var.nosuchvar = "x"`),
    status: 500,
    log: [/variable "nosuchvar" not found for writing; maybe it is a built-in variable that is not changeable or you forgot to use "set \$nosuchvar '';" in the config file to define it first/],
  },
  {
    name: 'reading an undeclared variable is nil',
    server: lua(`ngx.say(ngx.var.nosuchvar)`),
    body: 'nil\n',
  },
  {
    name: 'writing a read-only built-in is an error',
    server: lua(`ngx.var.remote_addr = "1.2.3.4"`),
    status: 500,
    log: [/variable "remote_addr" not changeable/],
  },
  {
    name: 'writing args changes the query string',
    request: 'GET /t?a=1',
    server: lua(`ngx.var.args = "b=2" ngx.say(ngx.var.args, " ", ngx.var.arg_b, " ", ngx.var.arg_a)`),
    body: 'b=2 2 nil\n',
  },
  {
    name: 'status variable in log phase',
    server: `location /t { content_by_lua_block { ngx.exit(403) } log_by_lua_block { ngx.log(ngx.WARN, "logged status ", ngx.var.status) } }`,
    status: 403,
    log: [/\[warn\].*logged status 403/],
  },
  {
    name: 'variable values are strings',
    server: `location /t { set $n 5; content_by_lua_block { ngx.say(type(ngx.var.n), " ", type(ngx.var.server_port)) } }`,
    body: 'string string\n',
  },
  {
    name: 'request_body variable after read_body',
    request: { line: 'POST /t', body: 'abc=1' },
    server: lua(`ngx.req.read_body() ngx.say(ngx.var.request_body)`),
    body: 'abc=1\n',
  },
  {
    name: 'numbered captures from a regex location',
    request: 'GET /items/42/edit',
    server: `location ~ ^/items/(\\d+)/(\\w+)$ { content_by_lua_block { ngx.say(ngx.var[1], " ", ngx.var[2], " ", ngx.var[3]) } }`,
    body: '42 edit nil\n',
  },
  {
    name: 'named captures from a regex location',
    request: 'GET /u/alice',
    server: `location ~ ^/u/(?<user>\\w+)$ { content_by_lua_block { ngx.say(ngx.var.user) } }`,
    body: 'alice\n',
  },
  {
    name: 'variable names are case-insensitive (set $Var, ngx.var.VAR and ngx.var.var)',
    server: `location /t { set $Var 32; content_by_lua_block { ngx.say(ngx.var.VAR, " ", ngx.var.var, " ", ngx.var.Var) } }`,
    body: '32 32 32\n',
  },
  {
    name: 'ngx.var[n]: the location regex captures from 1; 0 and below are nil',
    server: `location ~ '^/lua/(.*)/(.*)' { content_by_lua_block {
      ngx.say(ngx.var[-1], " ", ngx.var[0], " ", ngx.var[1], " ", ngx.var[2], " ", ngx.var[3])
    } }`,
    request: 'GET /lua/hello/world',
    body: 'nil nil hello world nil\n',
  },
  {
    name: 'a redirect made in a subrequest keeps its relative Location',
    server: `rewrite ^/foo$ /foo/ permanent;
      location = /foo/ { return 200 "x"; }
      location /t { content_by_lua_block { local res = ngx.location.capture("/foo") ngx.say(res.status, " ", res.header["Location"]) } }`,
    request: 'GET /t',
    body: '301 /foo/\n',
  },
  {
    name: 'ngx.req.set_uri_args with a string: control bytes and spaces %-escaped',
    server: `location /t { rewrite_by_lua_block { ngx.req.set_uri_args("a\\rb c") } content_by_lua_block { ngx.say(ngx.var.args) } }`,
    request: 'GET /t?x',
    body: 'a%0Db%20c\n',
  },
  {
    name: 'ngx.exec to a named location drops the args it was given',
    server: `location /t { content_by_lua_block { ngx.exec("@hi?a=1", "b=2") } } location @hi { echo "args [$query_string]"; }`,
    request: 'GET /t?orig=1',
    body: 'args [orig=1]\n',
  },
  {
    name: 'the echo module\'s $echo_client_request_headers and $echo_request_method, in a proxied location',
    server: `location /bar { access_by_lua_block { ngx.req.set_header("Foo", {"a", "abc"}) } proxy_set_header Host foo; proxy_pass http://127.0.0.1:{{PORT}}/foo; }
      location = /foo { echo -n "$echo_request_method|$echo_client_request_headers"; }`,
    request: { line: 'GET /bar', headers: { 'X-A': '1' } },
    body: 'GET|GET /foo HTTP/1.0\r\nHost: foo\r\nConnection: close\r\nX-A: 1\r\nFoo: a\r\nFoo: abc\r\n\r\n',
  },
  {
    name: 'ngx.var.query_string is not changeable (ngx.var.args is)',
    server: `location /t { content_by_lua_block { ngx.var.args = "b=2"
      local ok, err = pcall(function() ngx.var.query_string = "a=1" end)
      ngx.say(ngx.var.args, " ", ok, " ", err:match("variable .*")) } }`,
    request: 'GET /t?x=1',
    body: 'b=2 false variable "query_string" not changeable\n',
  },
];
