// nginx's limit_req: a leaky bucket per key in the preaccess phase (after rewrite_by_lua, before
// access_by_lua), once per main request. Rates of 1r/m make the second request over the limit
// whatever the timing; delays use a rate of 2r/s (the second request within 500 ms) and look at the status and the log line only.
import { errorPage } from '../lib.mjs';

// the excess has drained a little when the requests are more than 62 ms apart (rate 1r/m)
const REJ = (zone, units = 1) => new RegExp(`\\[error\\] .*limiting requests, excess: (?:${units}\\.000|${units - 1}\\.9\\d\\d) by zone "${zone}", client: 127\\.0\\.0\\.1, server: localhost, request: "GET /t[^"]* HTTP/1\\.1"`);
const STATUS = 'log_by_lua_block { ngx.log(ngx.WARN, "status: ", ngx.var.limit_req_status) }';

export default [
  {
    name: 'rate=1r/m by $binary_remote_addr: the second request is a 503 with nginx\'s line; $limit_req_status PASSED then REJECTED',
    http: 'limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;',
    server: `location /t { limit_req zone=one; ${STATUS} content_by_lua_block { ngx.say("ok ", ngx.var.limit_req_status) } }`,
    steps: [
      { request: 'GET /t', status: 200, body: 'ok PASSED\n' },
      { request: 'GET /t', status: 503, body: errorPage(503) },
    ],
    log: [REJ('one'), /\[warn\] .*status: PASSED while logging request/, /\[warn\] .*status: REJECTED while logging request/],
  },
  {
    name: 'limit_req_status and limit_req_log_level warn; a `return` comes first',
    http: 'limit_req_zone $arg_k zone=st:1m rate=1r/m;',
    server: 'location /t { limit_req zone=st; limit_req_status 429; limit_req_log_level warn; content_by_lua_block { ngx.say("ok") } } location /r { limit_req zone=st; return 200 "r\\n"; }',
    steps: [
      { request: 'GET /t?k=a', status: 200, body: 'ok\n' },
      { request: 'GET /t?k=a', status: 429, body: /429 Too Many Requests/ },
      { request: 'GET /t?k=b', status: 200, body: 'ok\n' },
      // `return` runs in the rewrite phase, before limit_req
      { request: 'GET /r?k=a', status: 200, body: 'r\n' },
    ],
    log: [/\[warn\] .*limiting requests, excess: (?:1\.000|0\.9\d\d) by zone "st", client/],
  },
  {
    name: 'an empty key is not counted',
    http: 'limit_req_zone $arg_k zone=empty:1m rate=1r/m;',
    server: `location /t { limit_req zone=empty; content_by_lua_block { ngx.say("ok ", ngx.var.limit_req_status) } }`,
    steps: [
      { request: 'GET /t', status: 200, body: 'ok nil\n' },
      { request: 'GET /t', status: 200, body: 'ok nil\n' },
    ],
  },
  {
    name: 'a burst delays the request (DELAYED, logged at warn), which then goes on',
    http: 'limit_req_zone $arg_k zone=two:1m rate=2r/s;',
    server: `location /t { limit_req zone=two burst=2; content_by_lua_block { ngx.say("ok ", ngx.var.limit_req_status) } }`,
    steps: [
      { request: 'GET /t?k=a', status: 200, body: 'ok PASSED\n' },
      { request: 'GET /t?k=a', status: 200, body: 'ok DELAYED\n' },
    ],
    log: [/\[warn\] .*delaying request, excess: [01]\.\d{3}, by zone "two", client: 127\.0\.0\.1/],
    noLog: [/limiting requests/],
  },
  {
    name: 'nodelay: the burst passes at once, beyond it is rejected',
    http: 'limit_req_zone $arg_k zone=nd:1m rate=1r/m;',
    server: `location /t { limit_req zone=nd burst=1 nodelay; content_by_lua_block { ngx.say("ok ", ngx.var.limit_req_status) } }`,
    steps: [
      { request: 'GET /t?k=a', status: 200, body: 'ok PASSED\n' },
      { request: 'GET /t?k=a', status: 200, body: 'ok PASSED\n' },
      { request: 'GET /t?k=a', status: 503 },
    ],
    log: [REJ('nd', 2)],
    noLog: [/delaying request/],
  },
  {
    name: 'limit_req_dry_run: nothing is refused; the line says dry run and the status REJECTED_DRY_RUN',
    http: 'limit_req_zone $arg_k zone=dry:1m rate=1r/m;',
    server: `location /t { limit_req zone=dry; limit_req_dry_run on; content_by_lua_block { ngx.say("ok ", ngx.var.limit_req_status) } }`,
    steps: [
      { request: 'GET /t?k=a', status: 200, body: 'ok PASSED\n' },
      { request: 'GET /t?k=a', status: 200, body: 'ok REJECTED_DRY_RUN\n' },
    ],
    log: [/\[error\] .*limiting requests, dry run, excess: (?:1\.000|0\.9\d\d) by zone "dry", client/],
  },
  {
    name: 'preaccess: after rewrite_by_lua and before access_by_lua; an internal redirect is not counted again',
    http: 'limit_req_zone $arg_k zone=ph:1m rate=1r/m;',
    server: 'location /t { limit_req zone=ph; rewrite_by_lua_block { ngx.log(ngx.WARN, "rewrite ", tostring(ngx.var.limit_req_status)) } access_by_lua_block { ngx.log(ngx.WARN, "access ", ngx.var.limit_req_status) } content_by_lua_block { ngx.exec("/u") } } ' +
      'location /u { limit_req zone=ph; content_by_lua_block { ngx.say("u ", ngx.var.limit_req_status) } }',
    steps: [
      { request: 'GET /t?k=a', status: 200, body: 'u PASSED\n' },
      { request: 'GET /t?k=a', status: 503 },
    ],
    log: [/\[warn\] .*rewrite nil/, /\[warn\] .*access PASSED/, REJ('ph')],
  },
  {
    name: 'two limits: the one whose key is over its rate rejects, naming its zone',
    http: 'limit_req_zone $arg_a zone=za:1m rate=1r/m; limit_req_zone $arg_b zone=zb:1m rate=1r/m;',
    server: 'location /t { limit_req zone=za; limit_req zone=zb; content_by_lua_block { ngx.say("ok") } }',
    steps: [
      { request: 'GET /t?a=1&b=1', status: 200 },
      { request: 'GET /t?a=2&b=1', status: 503 },
      { request: 'GET /t?a=2&b=2', status: 200 },
      { request: 'GET /t?a=2&b=3', status: 503 },
    ],
    log: [REJ('zb'), REJ('za')],
  },
  {
    name: 'a subrequest is limited when its main request was not, once per main request',
    http: 'limit_req_zone $arg_k zone=sub:1m rate=1r/m;',
    server: 'location /t { content_by_lua_block { local a = ngx.location.capture("/u?k=c") local b = ngx.location.capture("/u?k=c") ngx.say(a.status, " ", b.status, " ", ngx.var.limit_req_status) } } ' +
      'location /u { limit_req zone=sub; content_by_lua_block { ngx.print("u") } }',
    steps: [
      { request: 'GET /t', status: 200, body: '200 200 PASSED\n' },
      { request: 'GET /t', status: 200, body: '503 200 REJECTED\n' },
    ],
    log: [/\[error\] .*limiting requests, excess: (?:1\.000|0\.9\d\d) by zone "sub", client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", subrequest: "\/u"/],
  },
  { name: 'limit_req_zone takes three arguments (no sync in this nginx)', http: 'limit_req_zone $arg_k zone=a:1m rate=1r/m sync;', server: 'location /t { return 200; }', conf_error: /invalid number of arguments in "limit_req_zone" directive in/ },
  { name: 'a zone nobody declares', server: 'location /t { limit_req zone=nine; return 200; }', conf_error: /zero size shared memory zone "nine"/ },
  { name: 'a zone too small', http: 'limit_req_zone $arg_k zone=a:1k rate=1r/m;', server: 'location /t { return 200; }', conf_error: /zone "zone=a:1k" is too small in/ },
  { name: 'a rate of zero', http: 'limit_req_zone $arg_k zone=a:1m rate=0r/s;', server: 'location /t { return 200; }', conf_error: /invalid rate "rate=0r\/s" in/ },
  { name: 'a zone bound to two keys', http: 'limit_req_zone $arg_k zone=a:1m rate=1r/s; limit_req_zone $uri zone=a:1m rate=1r/s;', server: 'location /t { return 200; }', conf_error: /limit_req_zone "a" is already bound to key "\$arg_k" in/ },
  { name: 'the same zone twice in one location', http: 'limit_req_zone $arg_k zone=a:1m rate=1r/s;', server: 'location /t { limit_req zone=a; limit_req zone=a burst=2; return 200; }', conf_error: /"limit_req" directive is duplicate in/ },
  { name: 'limit_req_status between 400 and 599', http: 'limit_req_status 200;', server: 'location /t { return 200; }', conf_error: /value must be between 400 and 599 in/ },
  { name: 'limit_req_log_level takes info, notice, warn or error', http: 'limit_req_log_level debug;', server: 'location /t { return 200; }', conf_error: /invalid value "debug" in/ },
  { name: 'a burst of zero', http: 'limit_req_zone $arg_k zone=a:1m rate=1r/s;', server: 'location /t { limit_req zone=a burst=0; return 200; }', conf_error: /invalid burst value "burst=0" in/ },
  { name: 'limit_req without a zone', server: 'location /t { limit_req burst=2; return 200; }', conf_error: /"limit_req" must have "zone" parameter in/ },
];
