// The proxy and upstream modules and balancer_by_lua*: what the upstream receives, what the
// client gets back, peers, retries and errors. The upstreams are the HTTP peers of
// ../http_peer.mjs ({{PEER_HTTP}} answers as "a", {{PEER_HTTP_B}} as "b"); without a /_word in
// its path a peer answers with the raw request it received, so a case sees the exact bytes.
import { errorPage } from '../lib.mjs';

const A = '127.0.0.1:{{PEER_HTTP}}';
const B = '127.0.0.1:{{PEER_HTTP_B}}';
const CLOSED = '127.0.0.1:{{PORT_CLOSED}}';
const CTX = (uri) => `client: 127.0.0.1, server: localhost, request: "GET ${uri} HTTP/1.1", upstream: "http://`;
const CONF = String.raw`\S+/conf/nginx\.conf:\d+`;
const emerg = (msg) => new RegExp(`\\[emerg\\] (\\d+#\\d+: )?${msg} in ${CONF}`);
const dump = (lines) => lines.join('\r\n') + '\r\n\r\n';

export default [
  // --- what the upstream receives --------------------------------------------------------
  {
    name: 'no URI part: the request line as received, Host is $proxy_host, Connection close, then the client headers',
    server: `location /p/ { proxy_pass http://${A}; }`,
    request: { line: 'GET /p/a%41b?x=1&y', headers: { 'X-A': '1', Connection: 'keep-alive', TE: 'trailers', 'Keep-Alive': '5' } },
    status: 200,
    headers: { 'content-type': 'text/x-dump', 'x-peer': 'a', 'content-length': /^\d+$/ },
    body: dump(['GET /p/a%41b?x=1&y HTTP/1.0', `Host: ${A}`, 'Connection: close', 'X-A: 1']),
  },
  {
    name: 'a URI part replaces the location prefix; the decoded URI is escaped again',
    server: `location /p/ { proxy_pass http://${A}/up/; }`,
    request: 'GET /p/a%20b/../c?q=%41',
    body: dump(['GET /up/c?q=%41 HTTP/1.0', `Host: ${A}`, 'Connection: close']),
  },
  {
    name: 'a URI part and a URI with a space and a %: escaped as NGX_ESCAPE_URI',
    server: `location /p/ { proxy_pass http://${A}/u/; }`,
    request: 'GET /p/x%20y%25z',
    body: dump(['GET /u/x%20y%25z HTTP/1.0', `Host: ${A}`, 'Connection: close']),
  },
  {
    name: 'proxy_set_header first in conf order, empty values dropped, then the defaults, then the client headers not named',
    server: `location /p { proxy_http_version 1.1; proxy_set_header X-B b; proxy_set_header Host $host:9; proxy_set_header X-Drop ''; proxy_set_header User-Agent ''; proxy_pass http://${A}; }`,
    request: { line: 'GET /p', headers: { 'User-Agent': 'ua', 'X-Drop': 'client', 'X-C': 'c' } },
    body: dump(['GET /p HTTP/1.1', 'X-B: b', 'Host: localhost:9', 'Connection: close', 'X-C: c']),
  },
  {
    name: 'a request body goes on with its length',
    server: `location /p { proxy_pass http://${A}; }`,
    request: { line: 'POST /p', headers: { 'Content-Type': 'text/plain' }, body: 'hello body' },
    body: dump(['POST /p HTTP/1.0', `Host: ${A}`, 'Connection: close', 'Content-Length: 10', 'Content-Type: text/plain']) + 'hello body',
  },
  {
    name: 'a chunked request body is read whole and sent with a Content-Length',
    server: `location /p { proxy_pass http://${A}; }`,
    request: { raw: 'POST /p HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n' },
    body: dump(['POST /p HTTP/1.0', `Host: ${A}`, 'Connection: close', 'Content-Length: 5']) + 'abcde',
  },
  {
    name: 'rewrite ... break: the whole new URI goes, not the proxy_pass URI part',
    server: `location /p/ { rewrite ^/p/(.*)$ /new/$1 break; proxy_pass http://${A}/ignored/; }`,
    request: 'GET /p/x?a=1',
    body: dump(['GET /new/x?a=1 HTTP/1.0', `Host: ${A}`, 'Connection: close']),
  },
  {
    name: 'a URL with variables: its URI is used as given, without the args',
    server: `location /p { set $up ${A}; proxy_pass http://$up/v$uri; }`,
    request: 'GET /p/q?z=1',
    body: dump(['GET /v/p/q HTTP/1.0', `Host: ${A}`, 'Connection: close']),
  },
  {
    name: 'a URL with variables and no URI: the client request line',
    server: `location /p { set $up ${A}; proxy_pass http://$up; }`,
    request: 'GET /p/q?z=1',
    body: dump(['GET /p/q?z=1 HTTP/1.0', `Host: ${A}`, 'Connection: close']),
  },
  {
    name: 'proxy_method, proxy_set_body, proxy_pass_request_headers off',
    server: `location /p { proxy_method PUT; proxy_set_body "b=$arg_v"; proxy_pass_request_headers off; proxy_pass http://${A}; }`,
    request: { line: 'GET /p?v=7', headers: { 'X-Gone': '1' } },
    body: dump(['PUT /p?v=7 HTTP/1.0', `Host: ${A}`, 'Connection: close', 'Content-Length: 3']) + 'b=7',
  },
  {
    name: 'proxy_pass_request_body off: the length is still announced, the body stays',
    server: `location /p { proxy_pass_request_body off; proxy_set_header Content-Length ""; proxy_pass http://${A}; }`,
    request: { line: 'POST /p', body: 'xyz' },
    body: dump(['POST /p HTTP/1.0', `Host: ${A}`, 'Connection: close']),
  },
  {
    name: 'HEAD goes as HEAD, and the answer has no body',
    server: `location /p { proxy_pass http://${A}; }`,
    request: 'HEAD /p',
    status: 200,
    headers: { 'content-type': 'text/x-dump', 'content-length': /^\d+$/ },
    body: '',
  },
  {
    name: 'an upstream block by name: Host is the name',
    http: `upstream back1 { server ${A}; }`,
    server: 'location /p { proxy_pass http://back1; }',
    request: 'GET /p',
    body: dump(['GET /p HTTP/1.0', 'Host: back1', 'Connection: close']),
  },

  // --- what the client gets -------------------------------------------------------------
  {
    name: 'upstream Server, Date, X-Pad, X-Accel-* hidden; Set-Cookie twice; Location in its place, left relative',
    server: `location /p { proxy_pass http://${A}; }`,
    request: 'GET /p/_headers',
    status: 200,
    headers: { server: /^nginx|^ngxlua/, 'x-pad': null, 'x-accel-expires': null, 'set-cookie': ['a=1', 'b=2'], 'x-custom': 'yes',
      'content-type': 'text/html; charset=utf-8', location: '/elsewhere', date: /GMT$/ },
    headerOrder: ['server', 'date', 'content-type', 'content-length', 'connection', 'set-cookie', 'location', 'x-custom'],
    body: 'headers\n',
  },
  {
    name: 'proxy_hide_header and proxy_pass_header',
    server: `location /p { proxy_hide_header X-Custom; proxy_pass_header X-Pad; proxy_pass http://${A}; }`,
    request: 'GET /p/_headers',
    headers: { 'x-custom': null, 'x-pad': 'pad' },
  },
  {
    name: 'a chunked upstream answer reaches an HTTP/1.1 client chunked',
    server: `location /p { proxy_http_version 1.1; proxy_pass http://${A}; }`,
    request: 'GET /p/_chunked',
    headers: { 'transfer-encoding': 'chunked', 'content-length': null },
    body: 'one\ntwo\nthree\n',
  },
  {
    name: 'an answer that ends when the upstream closes',
    server: `location /p { proxy_pass http://${A}; }`,
    request: 'GET /p/_close',
    headers: { 'transfer-encoding': 'chunked' },
    body: 'until close\n',
  },
  {
    name: 'the upstream status and reason pass through',
    server: `location /p { proxy_pass http://${A}; }`,
    request: 'GET /p/_status/404',
    status: 404,
    statusLine: 'HTTP/1.1 404 Whatever',
    body: 'status 404\n',
  },
  {
    name: 'an answer without Content-Type gets none (no default_type)',
    server: `location /p { proxy_pass http://${A}; }`,
    request: 'GET /p/_noctype',
    headers: { 'content-type': null },
    body: 'no type\n',
  },
  {
    name: 'a 256 KiB answer arrives whole',
    server: `location /p { proxy_pass http://${A}; }`,
    request: 'GET /p/_big',
    headers: { 'content-length': '262144' },
    body: (t) => t.length === 262144 && t === '0123456789abcdef'.repeat(16384),
  },
  {
    name: 'proxy_redirect default: the upstream URL prefix becomes the location',
    server: `location /r/ { proxy_pass http://${A}/up/; }`,
    request: 'GET /r/_redirect',
    status: 302,
    headers: { location: 'http://localhost:{{PORT}}/r/there' },
  },
  {
    name: 'proxy_redirect off leaves Location alone',
    server: `location /r/ { proxy_redirect off; proxy_pass http://${A}/up/; }`,
    request: 'GET /r/_redirect',
    headers: { location: `http://${A}/up/there` },
  },
  {
    name: '$upstream_addr, $upstream_status, $upstream_http_*, $proxy_host in add_header',
    server: `location /p { add_header X-Up "$upstream_addr $upstream_status $upstream_http_x_peer $proxy_host $proxy_port"; proxy_pass http://${A}; }`,
    request: 'GET /p/_name',
    headers: { 'x-up': `${A} 200 a ${A} {{PEER_HTTP}}` },
    body: 'a\n',
  },

  // --- errors -----------------------------------------------------------------------------
  {
    name: 'connection refused: 502 and the connect() error with the upstream',
    server: `location /t { proxy_pass http://${CLOSED}; }`,
    request: 'GET /t',
    status: 502,
    body: errorPage(502),
    log: [new RegExp(String.raw`\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream, ${CTX('/t')}${CLOSED}/t", host: "localhost"`)],
  },
  {
    name: 'proxy_read_timeout: 504 and "upstream timed out" while reading the response header',
    server: `location /t { proxy_read_timeout 200ms; proxy_pass http://${A}/_hang; }`,
    request: 'GET /t',
    status: 504,
    body: errorPage(504),
    log: [new RegExp(String.raw`\[error\] .*upstream timed out \(110: Connection timed out\) while reading response header from upstream, ${CTX('/t')}${A}/_hang", host: "localhost"`)],
  },
  {
    name: 'a reply without a status line: "upstream sent no valid HTTP/1.0 header", passed on as HTTP/0.9',
    server: `location /t { proxy_pass http://${A}/_badhead; }`,
    request: 'GET /t',
    noResponse: true,
    rawResponse: 'garbage\r\n\r\n',
    log: [/\[error\] .*upstream sent no valid HTTP\/1\.0 header while reading response header from upstream/],
  },
  {
    name: 'the upstream resets: 502 and recv() failed',
    server: `location /t { proxy_pass http://${A}/_reset; }`,
    request: 'GET /t',
    status: 502,
    log: [/\[error\] .*recv\(\) failed \(104: Connection reset by peer\) while reading response header from upstream/],
  },
  {
    name: 'a body cut short: the client connection is cut, "upstream prematurely closed connection while reading upstream"',
    server: `location /t { proxy_pass http://${A}/_trunc; }`,
    request: 'GET /t',
    status: 200,
    incomplete: true,
    log: [/\[error\] .*upstream prematurely closed connection while reading upstream/],
  },
  {
    name: 'a server marked down: no live upstreams, 502',
    http: `upstream down1 { server ${A} down; }`,
    server: 'location /t { proxy_pass http://down1; }',
    request: 'GET /t',
    status: 502,
    log: [/\[error\] .*no live upstreams while connecting to upstream, .*upstream: "http:\/\/down1\/t"/],
  },

  // --- peers and retries ------------------------------------------------------------------
  {
    name: 'round robin over two servers',
    http: `upstream rr1 { server ${A}; server ${B}; }`,
    server: 'location /t { proxy_pass http://rr1/_name; }',
    steps: [{ request: 'GET /t', body: 'a\n' }, { request: 'GET /t', body: 'b\n' }, { request: 'GET /t', body: 'a\n' }],
  },
  {
    name: 'smooth weighted round robin: weight=2 gives a b a a b a',
    http: `upstream rr2 { server ${A} weight=2; server ${B}; }`,
    server: 'location /t { proxy_pass http://rr2/_name; }',
    steps: ['a', 'b', 'a', 'a', 'b', 'a'].map((p) => ({ request: 'GET /t', body: `${p}\n` })),
  },
  {
    name: 'a refused server: the next one answers; the failed one is skipped while it is disabled',
    http: `upstream next1 { server ${CLOSED}; server ${A}; }`,
    server: 'location /t { add_header X-Up "$upstream_addr|$upstream_status"; proxy_pass http://next1/_name; }',
    steps: [
      { request: 'GET /t', status: 200, body: 'a\n', headers: { 'x-up': `${CLOSED}, ${A}|502, 200` } },
      { request: 'GET /t', status: 200, body: 'a\n', headers: { 'x-up': `${A}|200` } },
    ],
    log: [/\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream/, /\[warn\] .*upstream server temporarily disabled while connecting to upstream/],
  },
  {
    name: 'a backup server takes over when the primary fails',
    http: `upstream bk1 { server ${CLOSED}; server ${B} backup; }`,
    server: 'location /t { add_header X-Up $upstream_addr; proxy_pass http://bk1/_name; }',
    request: 'GET /t',
    body: 'b\n',
    headers: { 'x-up': `${CLOSED}, ${B}` },
    log: [/connect\(\) failed \(111: Connection refused\)/],
    allowLog: [/upstream server temporarily disabled/],
  },
  {
    name: 'proxy_next_upstream http_500: every server tried, the last answer passed on',
    http: `upstream n500 { server ${A}; server ${B}; }`,
    server: 'location /t { proxy_next_upstream http_500; add_header X-Up $upstream_status always; proxy_pass http://n500/_status/500; }',
    request: 'GET /t',
    status: 500,
    headers: { 'x-up': '500, 500' },
    body: 'status 500\n',
  },
  {
    name: 'proxy_next_upstream off: the first failure is the answer',
    http: `upstream noff { server ${CLOSED}; server ${A}; }`,
    server: 'location /t { proxy_next_upstream off; proxy_pass http://noff/_name; }',
    request: 'GET /t',
    status: 502,
    log: [/connect\(\) failed \(111: Connection refused\)/],
    allowLog: [/upstream server temporarily disabled/],
  },
  {
    name: 'keepalive: the upstream connection is reused with HTTP/1.1 and an empty Connection',
    http: `upstream ka1 { server ${A}; keepalive 4; }`,
    server: 'location /t { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka1/_conn; }',
    steps: [{ request: 'GET /t', body: /^conn \d+ req 1\n$/ }, { request: 'GET /t', body: /^conn \d+ req 2\n$/ }, { request: 'GET /t', body: /^conn \d+ req 3\n$/ }],
  },
  {
    name: 'keepalive_timeout closes an idle upstream connection: a request after it opens a new one',
    http: `upstream ka3 { server ${A}; keepalive 4; keepalive_timeout 200ms; }`,
    server: `location /t { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka3/_conn; }
      location /late { access_by_lua_block { ngx.sleep(0.5) } proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka3/_conn; }`,
    steps: [{ request: 'GET /t', body: /^conn \d+ req 1\n$/ }, { request: 'GET /t', body: /^conn \d+ req 2\n$/ }, { request: 'GET /late', body: /^conn \d+ req 1\n$/ }],
  },
  {
    name: 'within keepalive_timeout the idle upstream connection is still there',
    http: `upstream ka4 { server ${A}; keepalive 4; keepalive_timeout 2s; }`,
    server: `location /t { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka4/_conn; }
      location /late { access_by_lua_block { ngx.sleep(0.3) } proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka4/_conn; }`,
    steps: [{ request: 'GET /t', body: /^conn \d+ req 1\n$/ }, { request: 'GET /late', body: /^conn \d+ req 2\n$/ }],
  },
  {
    name: 'without keepalive every request opens a new upstream connection',
    http: `upstream ka2 { server ${A}; }`,
    server: 'location /t { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka2/_conn; }',
    steps: [{ request: 'GET /t', body: /^conn \d+ req 1\n$/ }, { request: 'GET /t', body: /^conn \d+ req 1\n$/ }],
  },

  // --- Lua around the proxy ---------------------------------------------------------------
  {
    name: 'access_by_lua sets a request header; header and body filters see the upstream answer',
    server: `location /p {
      access_by_lua_block { ngx.req.set_header("X-From-Lua", "yes") }
      header_filter_by_lua_block { ngx.header["X-Peer"] = "was " .. (ngx.header["X-Peer"] or "?") ngx.header.content_length = nil }
      body_filter_by_lua_block { ngx.arg[1] = string.upper(ngx.arg[1]) }
      proxy_pass http://${A};
    }`,
    request: 'GET /p',
    headers: { 'x-peer': 'was a' },
    body: dump(['GET /P HTTP/1.0', `HOST: ${A}`.toUpperCase(), 'CONNECTION: CLOSE', 'X-FROM-LUA: YES']),
  },
  {
    name: 'ngx.location.capture of a proxied location',
    server: `location /sub { proxy_pass http://${A}/_status/201; }
      location /t { content_by_lua_block {
        local res = ngx.location.capture("/sub")
        ngx.say(res.status, " ", res.header["X-Peer"], " ", res.body)
      } }`,
    request: 'GET /t',
    body: '201 a status 201\n\n',
  },
  {
    name: 'a subrequest passes its own URI, escaped, with its args',
    server: `location /sub { proxy_pass http://${A}; }
      location /t { content_by_lua_block {
        local res = ngx.location.capture("/sub/a b", { args = "k=v" })
        ngx.print(res.body)
      } }`,
    request: 'GET /t',
    body: dump(['GET /sub/a%20b?k=v HTTP/1.0', `Host: ${A}`, 'Connection: close']),
  },
  {
    name: 'proxy_intercept_errors with error_page: the upstream 404 becomes the local page',
    server: `location /p { proxy_intercept_errors on; error_page 404 = /nf; proxy_pass http://${A}; }
      location /nf { return 200 "local not found\n"; }`,
    request: 'GET /p/_status/404',
    status: 200,
    body: 'local not found\n',
  },

  // --- balancer_by_lua* -------------------------------------------------------------------
  {
    name: 'balancer_by_lua sets the peer; ngx.var and ngx.ctx are the request\'s',
    http: `upstream lb1 { server 0.0.0.1; balancer_by_lua_block {
      local b = require "ngx.balancer"
      ngx.ctx.seen = ngx.var.arg_x
      local ok, err = b.set_current_peer("127.0.0.1", {{PEER_HTTP_B}})
      if not ok then ngx.log(ngx.ERR, "set: ", err) end
    } }`,
    server: 'location /t { proxy_pass http://lb1/_name; log_by_lua_block { ngx.log(ngx.WARN, "ctx seen: ", ngx.ctx.seen, " phase ok") } }',
    request: 'GET /t?x=42',
    body: 'b\n',
    log: [/\[warn\] .*ctx seen: 42 phase ok/],
  },
  {
    name: 'balancer_by_lua retries: set_more_tries, then get_last_failure on the next try',
    http: `upstream lb2 { server 0.0.0.1; balancer_by_lua_block {
      local b = require "ngx.balancer"
      local state, code = b.get_last_failure()
      if not state then
        assert(b.set_more_tries(1))
        assert(b.set_current_peer("127.0.0.1", {{PORT_CLOSED}}))
      else
        ngx.var.fail = state .. " " .. code
        assert(b.set_current_peer("127.0.0.1:{{PEER_HTTP}}"))
      end
    } }`,
    server: 'location /t { set $fail none; add_header X-Fail $fail; add_header X-Up $upstream_addr; proxy_pass http://lb2/_name; }',
    request: 'GET /t',
    body: 'a\n',
    headers: { 'x-fail': 'failed 502', 'x-up': `${CLOSED}, ${A}` },
    log: [/connect\(\) failed \(111: Connection refused\) while connecting to upstream/],
  },
  {
    name: 'balancer_by_lua: a host name is refused, a Lua error gives 500',
    http: `upstream lb3 { server 0.0.0.1; balancer_by_lua_block {
      local b = require "ngx.balancer"
      local ok, err = b.set_current_peer("example.com", 80)
      ngx.log(ngx.WARN, "name: ", ok, " ", err)
      error("boom")
    } }`,
    server: 'location /t { proxy_pass http://lb3; }',
    request: 'GET /t',
    status: 500,
    log: [/\[warn\] .*name: nil no host allowed/, /\[error\] .*failed to run balancer_by_lua\*: balancer_by_lua\(nginx\.conf:\d+\):5: boom/],
  },
  {
    name: 'balancer_by_lua: yielding APIs are disabled, ngx.get_phase is "balancer"',
    http: `upstream lb4 { server 0.0.0.1; balancer_by_lua_block {
      ngx.log(ngx.WARN, "phase: ", ngx.get_phase(), " ", select(2, pcall(ngx.sleep, 0.01)))
      require("ngx.balancer").set_current_peer("127.0.0.1", {{PEER_HTTP}})
    } }`,
    server: 'location /t { proxy_pass http://lb4/_name; }',
    request: 'GET /t',
    body: 'a\n',
    log: [/\[warn\] .*phase: balancer API disabled in the context of balancer_by_lua\*/],
  },
  {
    name: 'ngx.balancer outside a proxied request: "no upstream found"',
    server: `location /t { content_by_lua_block {
      ngx.say(require("ngx.balancer").set_current_peer("127.0.0.1", 80))
    } }`,
    request: 'GET /t',
    body: 'nilno upstream found\n',
  },

  // --- configuration errors -----------------------------------------------------------------
  {
    name: 'conf: a URI part in a regex location',
    server: `location ~ ^/x { proxy_pass http://${A}/y; }`,
    conf_error: emerg('"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block'),
  },
  {
    name: 'conf: an unknown directive inside upstream',
    http: `upstream bad1 { server ${A}; frobnicate; }`,
    server: 'location /t { proxy_pass http://bad1; }',
    conf_error: emerg('unknown directive "frobnicate"'),
  },
  {
    name: 'conf: a bad server parameter',
    http: `upstream bad2 { server ${A} weight=x; }`,
    server: 'location /t { proxy_pass http://bad2; }',
    conf_error: emerg('invalid parameter "weight=x"'),
  },
  {
    name: 'conf: a proxy_pass URL without a scheme',
    server: `location /t { proxy_pass ${A}; }`,
    conf_error: emerg('invalid URL prefix'),
  },
  {
    name: 'conf: a host name that does not resolve',
    server: 'location /t { proxy_pass http://nosuchhost.invalid; }',
    conf_error: emerg('host not found in upstream "nosuchhost\\.invalid"'),
  },
  {
    name: 'conf: proxy_http_version and proxy_next_upstream refuse other words',
    server: 'location /t { proxy_http_version 2.0; }',
    conf_error: emerg('invalid value "2\\.0"'),
  },
  {
    name: 'conf: keepalive 0 in an upstream',
    http: `upstream bad3 { server ${A}; keepalive 0; }`,
    server: 'location /t { proxy_pass http://bad3; }',
    conf_error: emerg('invalid value "0" in "keepalive" directive'),
  },
  {
    name: 'a host name resolved at start-up: $upstream_addr is its address',
    server: 'location /t { add_header X-Up $upstream_addr; proxy_pass http://localhost:{{PEER_HTTP}}/_name; }',
    request: 'GET /t',
    headers: { 'x-up': '127.0.0.1:{{PEER_HTTP}}' },
    body: 'a\n',
  },
  {
    name: 'a proxied location named with a trailing slash: its name without the slash gets a 301 to it',
    server: `location = /t/ { proxy_pass http://${A}; } location / { return 200 "root\\n"; }`,
    steps: [
      { request: 'GET /t?a=1', status: 301, headers: { location: 'http://localhost:{{PORT}}/t/?a=1' } },
      { request: 'GET /x', status: 200, body: 'root\n' },
    ],
  },
  {
    name: 'listen on a unix socket, and an upstream server on it: $remote_addr is "unix:"',
    http: `upstream ux1 { server unix:/tmp/ngxlua-case-ux1.sock; keepalive 4; }
      server { listen unix:/tmp/ngxlua-case-ux1.sock; location / { content_by_lua_block { ngx.say("via unix: ", ngx.var.remote_addr, " ", ngx.var.uri) } } }`,
    server: 'location /t { add_header X-Up $upstream_addr; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ux1/foo; }',
    request: 'GET /t',
    headers: { 'x-up': 'unix:/tmp/ngxlua-case-ux1.sock' },
    body: 'via unix: unix: /foo\n',
  },
  {
    name: 'ngx.log in balancer_by_lua: "while connecting to upstream"',
    http: `upstream lb5 { server 0.0.0.1; balancer_by_lua_block {
      ngx.log(ngx.WARN, "hello from balancer")
      require("ngx.balancer").set_current_peer("127.0.0.1", {{PEER_HTTP}})
    } }`,
    server: 'location /t { proxy_pass http://lb5/_name; }',
    request: 'GET /t',
    body: 'a\n',
    log: [/\[warn\] .*\[lua\] balancer_by_lua\(nginx\.conf:\d+\):2: hello from balancer while connecting to upstream, client: 127\.0\.0\.1/],
  },
];
