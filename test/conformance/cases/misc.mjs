// get_phase, is_subrequest, worker, config, constants, ngx.null
import { lua } from '../lib.mjs';

export default [
  {
    name: 'get_phase in each request phase',
    server: `location /t {
      set_by_lua_block $p { return ngx.get_phase() }
      rewrite_by_lua_block { ngx.ctx.p = ngx.var.p .. "," .. ngx.get_phase() }
      access_by_lua_block { ngx.ctx.p = ngx.ctx.p .. "," .. ngx.get_phase() }
      content_by_lua_block { ngx.say(ngx.ctx.p, ",", ngx.get_phase()) }
      header_filter_by_lua_block { ngx.header["X-Phase"] = ngx.get_phase() }
      body_filter_by_lua_block { if ngx.arg[2] then ngx.ctx.bf = ngx.get_phase() end }
      log_by_lua_block { ngx.log(ngx.WARN, "phases: ", ngx.ctx.bf, ",", ngx.get_phase()) }
    }`,
    body: 'set,rewrite,access,content\n',
    headers: { 'x-phase': 'header_filter' },
    log: [/phases: body_filter,log/],
  },
  {
    name: 'get_phase in init_worker',
    http: 'init_worker_by_lua_block { PHASE_SEEN_IN_INIT_WORKER = ngx.get_phase() }',
    server: lua(`ngx.say(rawget(_G, "PHASE_SEEN_IN_INIT_WORKER"))`),
    body: 'init_worker\n',
  },
  {
    name: 'get_phase in init',
    http: 'init_by_lua_block { PHASE_SEEN_IN_INIT = ngx.get_phase() }',
    server: lua(`ngx.say(rawget(_G, "PHASE_SEEN_IN_INIT"))`),
    body: 'init\n',
  },
  {
    name: 'is_subrequest false for a main request',
    server: lua(`ngx.say(ngx.is_subrequest)`),
    body: 'false\n',
  },
  {
    name: 'is_subrequest true inside capture',
    server: `location /sub { content_by_lua_block { ngx.print(ngx.is_subrequest) } }
      ${lua(`local r = ngx.location.capture("/sub") ngx.say(r.status, " ", r.body, " ", ngx.is_subrequest)`)}`,
    body: '200 true false\n',
  },
  {
    name: 'worker pid, id, count',
    server: lua(`ngx.say(ngx.worker.pid() > 0, " ", type(ngx.worker.pid()), " ", ngx.worker.id(), " ", ngx.worker.count(), " ", ngx.worker.exiting())`),
    // even with master_process off, 0.10.23 reports worker id 0
    body: 'true number 0 1 false\n',
  },
  {
    name: 'worker pid matches ngx.var.pid',
    server: lua(`ngx.say(tostring(ngx.worker.pid()) == ngx.var.pid)`),
    body: 'true\n',
  },
  {
    name: 'ngx.config fields',
    server: lua(`ngx.say(ngx.config.subsystem, " ", ngx.config.ngx_lua_version, " ", ngx.config.nginx_version, " ", ngx.config.debug, " ", ngx.config.is_console)`),
    body: 'http 10023 1022001 true nil\n',
  },
  {
    name: 'ngx.config.prefix is the -p directory',
    server: lua(`ngx.say(ngx.config.prefix())`),
    body: /^\/tmp\/ngxlua-conf-\w+-\w+\/\n$/,
  },
  {
    name: 'ngx.config.nginx_configure is a string',
    server: lua(`ngx.say(type(ngx.config.nginx_configure()))`),
    body: 'string\n',
  },
  {
    name: 'ngx.null is a lightuserdata that equals itself',
    server: lua(`ngx.say(type(ngx.null), " ", ngx.null == ngx.null, " ", tostring(ngx.null), " ", ngx.null == nil)`),
    body: 'userdata true userdata: NULL false\n',
  },
  {
    name: 'core constants',
    server: lua(`ngx.say(ngx.OK, " ", ngx.ERROR, " ", ngx.AGAIN, " ", ngx.DONE, " ", ngx.DECLINED)`),
    body: '0 -1 -2 -4 -5\n',
  },
  {
    name: 'HTTP status constants',
    server: lua(`ngx.say(ngx.HTTP_OK, " ", ngx.HTTP_CREATED, " ", ngx.HTTP_NO_CONTENT, " ", ngx.HTTP_MOVED_PERMANENTLY, " ", ngx.HTTP_MOVED_TEMPORARILY, " ", ngx.HTTP_NOT_MODIFIED, " ", ngx.HTTP_BAD_REQUEST, " ", ngx.HTTP_FORBIDDEN, " ", ngx.HTTP_NOT_FOUND, " ", ngx.HTTP_INTERNAL_SERVER_ERROR, " ", ngx.HTTP_SERVICE_UNAVAILABLE, " ", ngx.HTTP_GATEWAY_TIMEOUT)`),
    body: '200 201 204 301 302 304 400 403 404 500 503 504\n',
  },
  {
    name: 'HTTP method constants',
    server: lua(`ngx.say(ngx.HTTP_GET, " ", ngx.HTTP_HEAD, " ", ngx.HTTP_POST, " ", ngx.HTTP_PUT, " ", ngx.HTTP_DELETE, " ", ngx.HTTP_OPTIONS, " ", ngx.HTTP_PATCH)`),
    body: '2 4 8 16 32 512 16384\n',
  },
  {
    name: 'log level constants',
    server: lua(`ngx.say(ngx.STDERR, ngx.EMERG, ngx.ALERT, ngx.CRIT, ngx.ERR, ngx.WARN, ngx.NOTICE, ngx.INFO, ngx.DEBUG)`),
    body: '012345678\n',
  },
  {
    name: 'ngx.log and print at a level the error log drops: their arguments are not looked at',
    // the cases' error_log is at info: debug is dropped, a table without __tostring is no error
    server: lua(`ngx.log(ngx.DEBUG, {}) ngx.say("ok")`),
    body: 'ok\n',
  },
  {
    name: 'ngx.log: a bad message argument is numbered without the level',
    server: lua(`ngx.log(ngx.ERR, "a", {})`),
    status: 500,
    log: [/bad argument #2 to 'log' \(expected table to have __tostring metamethod\)/],
  },
  {
    name: 'ngx.log: a level out of range is a bad argument #1',
    server: lua(`ngx.log(9, "x")`),
    status: 500,
    log: [/content_by_lua\(nginx\.conf:\d+\):1: bad argument #1 to 'log' \(bad log level: 9\)/],
  },
  {
    name: 'ngx.escape_uri and unescape_uri',
    server: lua(`ngx.say(ngx.escape_uri("a b&c=d/é")) ngx.say(ngx.unescape_uri("a%20b+c%2"))`),
    body: 'a%20b%26c%3Dd%2F%C3%A9\na b c%2\n', // unescape_uri turns + into a space
  },
  {
    name: 'ngx.escape_uri and unescape_uri take any value: nil and false as "", others as tostring()',
    server: lua(`ngx.say(ngx.escape_uri(true), "|", ngx.escape_uri(nil), "|", ngx.escape_uri(false), "|", ngx.escape_uri(12), "|", ngx.unescape_uri(true), "|", ngx.unescape_uri(nil), "|", ngx.escape_uri("a b#?", 0), "|", ngx.escape_uri(string.rep("é", 40)):sub(1, 18))`),
    body: 'true|||12|true||a%20b%23%3F|%C3%A9%C3%A9%C3%A9\n',
  },
  {
    name: 'ngx.escape_uri: a fractional type is truncated as a C int',
    server: lua(`ngx.say(ngx.escape_uri("a b#", 1.5))`),
    body: 'a%20b%23\n',
  },
  {
    name: 'ngx.escape_uri: a type past 6 is out of range',
    server: lua(`ngx.say(ngx.escape_uri("a b#", 6.5))`),
    status: 500,
    log: [/runtime error: "type" 6\.5 out of range/],
  },
  {
    name: 'ngx.encode_args and decode_args',
    server: lua(`ngx.say(ngx.encode_args({ a = "1 2" })) local t = ngx.decode_args("x=1&y=&z") ngx.say(t.x, " [", t.y, "] ", t.z)`),
    body: 'a=1%202\n1 [] true\n',
  },
  {
    name: 'md5, sha1 and base64',
    server: lua(`ngx.say(ngx.md5("abc")) ngx.say(ngx.encode_base64(ngx.sha1_bin("abc"))) ngx.say(ngx.decode_base64("aGVsbG8="), " ", ngx.crc32_short("abc"))`),
    body: '900150983cd24fb0d6963f7d28e17f72\nqZk+NkcGgWq6PiVxeFDCbJzQ2J0=\nhello 891568578\n',
  },
  {
    name: 'ngx.md5, md5_bin and sha1_bin take any value: nil and false as "", others as tostring()',
    server: lua(`ngx.say(ngx.md5(nil), " ", ngx.md5(false), " ", ngx.md5(12), " ", ngx.md5(true)) ngx.say(#ngx.md5_bin(false), " ", #ngx.sha1_bin(1.5), " ", ngx.sha1_bin(true) == ngx.sha1_bin("true"))`),
    body: 'd41d8cd98f00b204e9800998ecf8427e d41d8cd98f00b204e9800998ecf8427e c20ad4d76fe97759aa27a0c99bff6710 b326b5062b2f0e69046810717534cb09\n16 20 true\n',
  },
  {
    name: 'quote_sql_str',
    server: lua(`ngx.say(ngx.quote_sql_str("it's \\"x\\"\\n"))`),
    body: `'it\\'s \\"x\\"\\n'\n`,
  },
  {
    name: 'ngx.re.match basic',
    server: lua(`local m = ngx.re.match("hello 123 world", [[(\\d+)]], "jo") ngx.say(m[0], " ", m[1])`),
    body: '123 123\n',
  },
  {
    name: 'ngx.var and ngx.req exist as tables',
    server: lua(`ngx.say(type(ngx.var), " ", type(ngx.req), " ", type(ngx.resp), " ", type(ngx.location))`),
    body: 'table table table table\n',
  },
  {
    name: 'package.loaded.ngx is ngx',
    server: lua(`ngx.say(require("ngx") == ngx, " ", package.loaded.ngx == ngx)`),
    body: 'true true\n',
  },
  {
    name: 'lua-resty-core modules: resty.core, ngx.base64, ngx.process, ngx.resp, ngx.errlog',
    server: lua(`require "resty.core" require "resty.core.regex"
      local rs = require "ngx.resp" rs.add_header("X-B", "1") rs.add_header("X-B", "2")
      local b = require "ngx.base64" ngx.say(b.encode_base64url("\\255\\254hello?"), " ", b.decode_base64url("__5oZWxsbz8") == "\\255\\254hello?")
      local p = require "ngx.process" ngx.say(p.type(), " ", type(p.get_master_pid()))
      local el = require "ngx.errlog" ngx.say(el.get_sys_filter_level()) el.raw_log(ngx.WARN, "raw msg")
      ngx.say(pcall(b.decode_base64url, 1))`),
    headers: { 'x-b': ['1', '2'] },
    body: '__5oZWxsbz8 true\nsingle number\n7\ntruenilmust provide a string\n',
    log: [/\[warn\] \d+#\d+: \*\d+ raw msg, client: /],
  },
  {
    name: 'ngx.log(ngx.STDERR, ...) is written with an empty level tag',
    server: lua(`ngx.log(ngx.STDERR, "to stderr") ngx.say("ok")`),
    body: 'ok\n',
    log: [/\d \[\] \d+#\d+: \*\d+ \[lua\] content_by_lua\(nginx\.conf:\d+\):1: to stderr, client/],
  },
  {
    name: 'argument errors: decode_base64 of a number, ngx.log of a table, ngx.status of a non-numeric string',
    server: lua(`ngx.say(pcall(ngx.decode_base64, 32)) ngx.say(pcall(ngx.log, {})) ngx.say(pcall(function() ngx.status = "abc" end))`),
    body: /^falsestring argument only\nfalsebad argument #1 to '\?' \(number expected, got table\)\nfalse\S+:\d+: bad argument #2 to 'ngx_http_lua_ffi_set_resp_status' \(cannot convert 'nil' to 'int'\)\n$/,
  },
  {
    name: 'ngx.escape_uri with a type out of range or not a number: the error has no position',
    server: `location /a { content_by_lua_block { ngx.say(ngx.escape_uri("x", 10)) } }
      location /b { content_by_lua_block { ngx.say(ngx.escape_uri("x", true)) } }`,
    steps: [
      { request: 'GET /a', status: 500 },
      { request: 'GET /b', status: 500, newConnection: true },
    ],
    log: [/runtime error: "type" 10 out of range/, /runtime error: "type" is not a number/],
  },
  {
    name: 'ngx.encode_base64 with a no_padding that is no boolean',
    server: `location /t { content_by_lua_block { ngx.say(ngx.encode_base64("w", 0)) } }`,
    status: 500,
    log: [/runtime error: content_by_lua\(nginx\.conf:\d+\):1: bad no_padding: boolean expected, got number/],
  },
  {
    name: 'ngx.redirect with a CR or LF: 500, the URI escaped in the message',
    server: `location /t { content_by_lua_block { ngx.redirect("http://x.org/foo\\rfoo:bar\\nbar") } }`,
    status: 500,
    headers: { location: null, foo: null },
    log: [/unsafe byte "0x0d" in redirect uri "http:\/\/x\.org\/foo\\x0Dfoo:bar\\x0Abar"/],
  },
  {
    name: 'ngx.exec with more than two arguments',
    server: `location /t { content_by_lua_block { ngx.exec(1, 2, 3, 4) } }`,
    status: 500,
    log: [/runtime error: content_by_lua\(nginx\.conf:\d+\):1: expecting one or two arguments, but got 4/],
  },
  {
    name: 'resty.core is loaded before any user code (package.loaded holds it already)',
    server: `location /t { content_by_lua_block { local l = package.loaded["resty.core"] ngx.say(l == require "resty.core", " ", l.version) } }`,
    body: 'true 0.1.25\n',
  },
];
