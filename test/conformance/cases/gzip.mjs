// nginx's gzip filter: which responses are compressed (status, type, length, Content-Encoding,
// the request's Accept-Encoding, HTTP version, Via, User-Agent), the head they get, and where
// the filter sits (after Lua's header and body filters and the headers module). Bodies are
// compared decompressed: the compressed bytes need not be the reference's.
import { gunzipSync } from 'node:zlib';
import { errorPage } from '../lib.mjs';

const AE = { 'Accept-Encoding': 'gzip, deflate' };
const BIG = 'x'.repeat(100);
const H = 'gzip on; gzip_vary on; gzip_types text/plain;';
const gz = (expected) => (_t, bytes) => {
  try {
    const out = gunzipSync(bytes).toString('latin1');
    return expected instanceof RegExp ? expected.test(out) : out === expected;
  } catch {
    return false;
  }
};
const ZIPPED = { 'content-encoding': 'gzip', 'content-length': null, 'transfer-encoding': 'chunked', vary: 'Accept-Encoding' };
const PLAIN = { 'content-encoding': null };

export default [
  {
    name: 'Lua output is compressed after Lua\'s filters and add_header: they see it plain, Content-Encoding comes last',
    http: H,
    server: 'location /t { add_header X-A a; header_filter_by_lua_block { ngx.header["X-CL"] = tostring(ngx.header.content_length) ngx.header["X-CE"] = tostring(ngx.header.content_encoding) } ' +
      'body_filter_by_lua_block { if ngx.arg[1] ~= "" then ngx.arg[1] = string.upper(ngx.arg[1]) end } content_by_lua_block { ngx.header.content_length = 101 ngx.say("' + BIG + '") } }',
    request: { line: 'GET /t', headers: AE },
    status: 200,
    headers: { ...ZIPPED, 'x-cl': '101', 'x-ce': 'nil', 'x-a': 'a' },
    headerOrder: ['vary', 'x-cl', 'x-a', 'content-encoding'],
    body: gz('X'.repeat(100) + '\n'),
  },
  {
    name: 'without Accept-Encoding the body is plain but Vary is still sent; gzip;q=0 is a refusal',
    http: H,
    server: `location /t { content_by_lua_block { ngx.say("${BIG}") } }`,
    steps: [
      { request: 'GET /t', status: 200, headers: { ...PLAIN, vary: 'Accept-Encoding' }, body: BIG + '\n' },
      { request: { line: 'GET /t', headers: { 'Accept-Encoding': 'deflate, gzip;q=0' } }, headers: { ...PLAIN, vary: 'Accept-Encoding' }, body: BIG + '\n' },
      { request: { line: 'GET /t', headers: { 'Accept-Encoding': 'br;q=1, GZIP; q=0.5' } }, headers: ZIPPED, body: gz(BIG + '\n') },
    ],
  },
  {
    name: 'a HEAD to Lua is left alone; a HEAD to return gets the gzip head without a body',
    http: H,
    server: `location /t { content_by_lua_block { ngx.say("${BIG}") } } location /r { return 200 "${BIG}"; }`,
    steps: [
      { request: { line: 'HEAD /t', headers: AE }, status: 200, headers: { ...PLAIN, vary: null, 'transfer-encoding': null }, body: '' },
      { request: { line: 'HEAD /r', headers: AE }, status: 200, headers: { 'content-encoding': 'gzip', vary: 'Accept-Encoding', 'content-length': null, 'transfer-encoding': null }, body: '' },
      { request: { line: 'GET /r', headers: AE }, status: 200, headers: ZIPPED, body: gz(BIG) },
    ],
  },
  {
    name: 'only 200, 403 and 404: a 500 from Lua is plain and has no Vary; a 404 error page is compressed',
    http: H,
    server: `location /t { content_by_lua_block { ngx.status = 500 ngx.say("${BIG}") } } location /n { return 404; }`,
    steps: [
      { request: { line: 'GET /t', headers: AE }, status: 500, headers: { ...PLAIN, vary: null }, body: BIG + '\n' },
      { request: { line: 'GET /n', headers: AE }, status: 404, headers: { ...ZIPPED, 'content-type': 'text/html' }, body: gz(errorPage(404)) },
      { request: { line: 'HEAD /n', headers: AE }, status: 404, headers: { 'content-encoding': 'gzip', vary: 'Accept-Encoding', 'content-length': null }, body: '' },
    ],
  },
  {
    name: 'a static file: a weak ETag, no Accept-Ranges, Last-Modified kept',
    http: H,
    files: { 'gz1/a.txt': BIG },
    server: 'location / { root gz1; }',
    request: { line: 'GET /a.txt', headers: AE },
    status: 200,
    headers: { ...ZIPPED, etag: 'W/"65937d25-64"', 'accept-ranges': null, 'last-modified': 'Tue, 02 Jan 2024 03:04:05 GMT' },
    body: gz(BIG),
  },
  {
    name: 'a byte range of a file that is compressed is not served: the whole file, compressed (a bad range too)',
    http: H,
    files: { 'gz2/a.txt': BIG },
    server: 'location / { root gz2; }',
    steps: [
      { request: { line: 'GET /a.txt', headers: { ...AE, Range: 'bytes=0-9' } }, status: 200, headers: { ...ZIPPED, 'content-range': null }, body: gz(BIG) },
      { request: { line: 'GET /a.txt', headers: { ...AE, Range: 'bytes=500-' } }, status: 200, headers: ZIPPED, body: gz(BIG) },
      { request: { line: 'GET /a.txt', headers: { Range: 'bytes=0-9' } }, status: 206, headers: { ...PLAIN, 'content-range': 'bytes 0-9/100' }, body: 'x'.repeat(10) },
    ],
  },
  {
    name: 'an ETag from Lua becomes weak, one that is not quoted is dropped, as is Accept-Ranges',
    http: H,
    server: `location /t { content_by_lua_block { ngx.header.ETag = '"abc"' ngx.say("${BIG}") } } location /u { content_by_lua_block { ngx.header.ETag = "abc" ngx.header["Accept-Ranges"] = "bytes" ngx.say("${BIG}") } }`,
    steps: [
      { request: { line: 'GET /t', headers: AE }, headers: { ...ZIPPED, etag: 'W/"abc"' }, body: gz(BIG + '\n') },
      { request: { line: 'GET /u', headers: AE }, headers: { ...ZIPPED, etag: null, 'accept-ranges': null }, body: gz(BIG + '\n') },
    ],
  },
  {
    name: 'a Content-Encoding already set (by the content handler or the header filter) stops the filter, Vary too',
    http: H,
    server: `location /t { content_by_lua_block { ngx.header["Content-Encoding"] = "br" ngx.say("${BIG}") } } location /u { header_filter_by_lua_block { ngx.header["Content-Encoding"] = "br" } content_by_lua_block { ngx.say("${BIG}") } }`,
    steps: [
      { request: { line: 'GET /t', headers: AE }, headers: { 'content-encoding': 'br', vary: null }, body: BIG + '\n' },
      { request: { line: 'GET /u', headers: AE }, headers: { 'content-encoding': 'br', vary: null }, body: BIG + '\n' },
    ],
  },
  {
    name: 'gzip_types: text/html always, other types only when named; * takes any, even none',
    http: 'gzip on;',
    server: `location /t { content_by_lua_block { ngx.say("${BIG}") } } location /h { default_type text/html; content_by_lua_block { ngx.header.content_type = "text/html; charset=utf-8" ngx.say("${BIG}") } } ` +
      `location /s { gzip_types *; content_by_lua_block { ngx.header.content_type = nil ngx.say("${BIG}") } } location /j { gzip_types application/JSON; default_type application/json; content_by_lua_block { ngx.say("${BIG}") } }`,
    steps: [
      { request: { line: 'GET /t', headers: AE }, headers: { ...PLAIN, vary: null }, body: BIG + '\n' },
      { request: { line: 'GET /h', headers: AE }, headers: { ...ZIPPED, vary: null, 'content-type': 'text/html; charset=utf-8' }, body: gz(BIG + '\n') },
      { request: { line: 'GET /s', headers: AE }, headers: { ...ZIPPED, vary: null, 'content-type': null }, body: gz(BIG + '\n') },
      { request: { line: 'GET /j', headers: AE }, headers: { ...ZIPPED, vary: null }, body: gz(BIG + '\n') },
    ],
  },
  {
    name: 'gzip_min_length compares a known Content-Length; an unknown length is compressed',
    http: 'gzip on; gzip_min_length 200; gzip_types text/plain;',
    server: `location /t { content_by_lua_block { ngx.header.content_length = 101 ngx.say("${BIG}") } } location /u { content_by_lua_block { ngx.say("${BIG}") } }`,
    steps: [
      { request: { line: 'GET /t', headers: AE }, headers: { ...PLAIN, 'content-length': '101' }, body: BIG + '\n' },
      { request: { line: 'GET /u', headers: AE }, headers: { ...ZIPPED, vary: null }, body: gz(BIG + '\n') },
    ],
  },
  {
    name: 'gzip_http_version: an HTTP/1.0 request is plain by default, compressed (and closed) under 1.0',
    http: 'gzip on; gzip_vary on; gzip_types text/plain;',
    server: `location /t { content_by_lua_block { ngx.say("${BIG}") } } location /u { gzip_http_version 1.0; content_by_lua_block { ngx.say("${BIG}") } }`,
    steps: [
      { request: { line: 'GET /t HTTP/1.0', headers: AE }, headers: { ...PLAIN, vary: 'Accept-Encoding', 'content-length': '101' }, body: BIG + '\n', newConnection: true },
      { request: { line: 'GET /u HTTP/1.0', headers: AE }, headers: { 'content-encoding': 'gzip', 'content-length': null, connection: 'close' }, body: gz(BIG + '\n'), newConnection: true },
    ],
  },
  {
    name: 'a request with Via: plain under gzip_proxied off; compressed under any; a Cache-Control response only with a word it names (auth: Authorization)',
    http: H,
    server: `location /t { content_by_lua_block { ngx.say("${BIG}") } } location /a { gzip_proxied any; content_by_lua_block { ngx.say("${BIG}") } } location /u { gzip_proxied auth no-store; content_by_lua_block { ngx.header["Cache-Control"] = ngx.var.arg_cc ngx.say("${BIG}") } }`,
    steps: [
      { request: { line: 'GET /t', headers: { ...AE, Via: '1.1 proxy' } }, headers: { ...PLAIN, vary: 'Accept-Encoding' }, body: BIG + '\n' },
      { request: { line: 'GET /a', headers: { ...AE, Via: '1.1 proxy' } }, headers: ZIPPED, body: gz(BIG + '\n') },
      { request: { line: 'GET /u?cc=private', headers: { ...AE, Via: '1.1 proxy' } }, headers: PLAIN, body: BIG + '\n' },
      { request: { line: 'GET /u?cc=private', headers: { ...AE, Via: '1.1 proxy', Authorization: 'Basic eA==' } }, headers: ZIPPED, body: gz(BIG + '\n') },
      { request: { line: 'GET /u?cc=no-store,%20max-age=0', headers: { ...AE, Via: '1.1 proxy' } }, headers: ZIPPED, body: gz(BIG + '\n') },
    ],
  },
  {
    name: 'gzip_disable: msie6 and a case-insensitive User-Agent regex',
    http: H + ' gzip_disable msie6 "^curl";',
    server: `location /t { content_by_lua_block { ngx.say("${BIG}") } }`,
    steps: [
      { request: { line: 'GET /t', headers: { ...AE, 'User-Agent': 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)' } }, headers: { ...PLAIN, vary: 'Accept-Encoding' }, body: BIG + '\n' },
      { request: { line: 'GET /t', headers: { ...AE, 'User-Agent': 'CURL/7.88' } }, headers: PLAIN, body: BIG + '\n' },
      { request: { line: 'GET /t', headers: { ...AE, 'User-Agent': 'Mozilla/5.0' } }, headers: ZIPPED, body: gz(BIG + '\n') },
    ],
  },
  {
    name: 'ngx.flush and a sleep in the middle: one gzip stream; a subrequest\'s body stays plain; an empty body is a valid member',
    http: H,
    server: `location /t { content_by_lua_block { ngx.say("${BIG}") ngx.flush(true) ngx.sleep(0.02) local r = ngx.location.capture("/s") ngx.say(#r.body, " ", tostring(r.header["Content-Encoding"])) } } ` +
      `location /s { content_by_lua_block { ngx.say("${BIG}") } } location /e { content_by_lua_block { ngx.exit(200) } }`,
    steps: [
      { request: { line: 'GET /t', headers: AE }, headers: ZIPPED, body: gz(BIG + '\n101 nil\n') },
      { request: { line: 'GET /e', headers: AE }, headers: ZIPPED, body: gz('') },
    ],
  },
  {
    name: 'a long body in many pieces, at gzip_comp_level 9',
    http: 'gzip on; gzip_comp_level 9;',
    server: 'location /t { default_type text/html; content_by_lua_block { for i = 1, 3000 do ngx.print(string.rep(string.char(65 + i % 26), 50)) if i % 1000 == 0 then ngx.flush() end end } }',
    request: { line: 'GET /t', headers: AE },
    headers: { 'content-encoding': 'gzip' },
    body: gz(new RegExp(`^(?:[A-Z]{50}){3000}$`)),
  },
  { name: 'gzip_comp_level out of range', http: 'gzip_comp_level 10;', server: 'location /t { return 200; }', conf_error: /value must be between 1 and 9 in .*nginx\.conf:\d+/ },
  { name: 'gzip is duplicate', http: 'gzip on; gzip off;', server: 'location /t { return 200; }', conf_error: /"gzip" directive is duplicate in/ },
  { name: 'gzip_http_version takes 1.0 or 1.1', http: 'gzip_http_version 2.0;', server: 'location /t { return 200; }', conf_error: /invalid value "2\.0" in/ },
  { name: 'gzip_proxied takes its words only', http: 'gzip_proxied expired foo;', server: 'location /t { return 200; }', conf_error: /invalid value "foo" in/ },
  { name: 'gzip_disable compiles its regex', http: 'gzip_disable "(";', server: 'location /t { return 200; }', conf_error: /pcre2_compile\(\) failed: missing closing parenthesis in "\(" in/ },
  { name: 'gzip_buffers needs a number and a size', http: 'gzip_buffers x 4k;', server: 'location /t { return 200; }', conf_error: /"gzip_buffers" directive invalid value in/ },
  { name: 'gzip_min_length takes a size', http: 'gzip_min_length x;', server: 'location /t { return 200; }', conf_error: /"gzip_min_length" directive invalid value in/ },
  { name: 'gzip_types is not allowed in an if', server: 'location /t { if ($uri) { gzip_types text/css; } return 200; }', conf_error: /"gzip_types" directive is not allowed here in/ },
];
