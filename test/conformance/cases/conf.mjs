// nginx.conf semantics: location matching, return, set, rewrite, if; configuration errors.
import { errorPage } from '../lib.mjs';

const say = (what) => `content_by_lua_block { ngx.say("${what}") }`;
const CONF = String.raw`\S+/conf/nginx\.conf:\d+`;
// Once `error_log` has been parsed, nginx reports in log format ("... [emerg] 12#12: msg"), before
// that as "nginx: [emerg] msg"; accept either.
const emerg = (msg) => new RegExp(`\\[emerg\\] (\\d+#\\d+: )?${msg} in ${CONF}`);

const matching = `
  location = /a { ${say('exact /a')} }
  location /a { ${say('prefix /a')} }
  location ^~ /static/ { ${say('prefix-stop /static/')} }
  location ~ \\.php$ { ${say('regex php')} }
  location ~* \\.(JPG|png)$ { ${say('regex image')} }
  location /docs/ { ${say('prefix /docs/')} }
  location /docs/deep/ { ${say('prefix /docs/deep/')} }
  location ~ ^/docs/.*\\.txt$ { ${say('regex docs txt')} }
  location ~ ^/docs/ { ${say('regex docs any')} }
  location /outer/ {
    location /outer/inner/ { ${say('nested inner')} }
    ${say('outer')}
  }
  location / { ${say('root')} }
`;

export default [
  {
    name: 'location: exact match beats prefix',
    server: matching,
    steps: [
      { request: 'GET /a', body: 'exact /a\n' },
      { request: 'GET /a/b', body: 'prefix /a\n' },
      { request: 'GET /ab', body: 'prefix /a\n' },
    ],
  },
  {
    name: 'location: ^~ prefix stops regex search',
    server: matching,
    steps: [
      { request: 'GET /static/x.php', body: 'prefix-stop /static/\n' },
      { request: 'GET /other/x.php', body: 'regex php\n' },
    ],
  },
  {
    name: 'location: regex beats the longest prefix, first regex wins',
    server: matching,
    steps: [
      { request: 'GET /docs/deep/readme.txt', body: 'regex docs txt\n' },
      { request: 'GET /docs/deep/x', body: 'regex docs any\n' },
      { request: 'GET /docs/index.php', body: 'regex php\n' },
    ],
  },
  {
    name: 'location: case-insensitive regex',
    server: matching,
    steps: [
      { request: 'GET /img/A.jpg', body: 'regex image\n' },
      { request: 'GET /img/A.PNG', body: 'regex image\n' },
    ],
  },
  {
    name: 'location: nested locations and fallback to /',
    server: matching,
    steps: [
      { request: 'GET /outer/inner/x', body: 'nested inner\n' },
      { request: 'GET /outer/x', body: 'outer\n' },
      { request: 'GET /nothing', body: 'root\n' },
    ],
  },
  {
    name: 'location: matching uses the decoded, normalised uri',
    server: matching,
    steps: [
      { request: 'GET /%61', body: 'exact /a\n' },
      { request: 'GET /x/../a', body: 'exact /a\n' },
      { request: 'GET //a', body: 'exact /a\n' },
    ],
  },
  {
    name: 'return with text',
    server: 'location /t { return 200 "plain text"; }',
    status: 200,
    headers: { 'content-type': 'text/plain', 'content-length': '10' },
    body: 'plain text',
  },
  {
    name: 'return with text and variables',
    request: 'GET /t?who=you',
    server: 'location /t { return 200 "hi $arg_who at $uri\\n"; }',
    body: 'hi you at /t\n',
  },
  {
    name: 'return a bare error status',
    server: 'location /t { return 404; }',
    status: 404,
    body: errorPage(404),
  },
  {
    name: 'return an error status with custom text',
    server: 'location /t { return 403 "go away"; }',
    status: 403,
    body: 'go away',
  },
  {
    name: 'return 204',
    server: 'location /t { return 204; }',
    status: 204,
    headers: { 'content-length': null },
    body: '',
  },
  {
    name: 'return 301 with a relative URL becomes absolute',
    server: 'location /t { return 301 /new; }',
    status: 301,
    headers: { location: 'http://localhost:{{PORT}}/new' },
    body: errorPage(301),
  },
  {
    name: 'return with only a URL is a 302',
    server: 'location /t { return http://example.com/x; }',
    statusLine: 'HTTP/1.1 302 Moved Temporarily',
    headers: { location: 'http://example.com/x' },
  },
  {
    name: 'return 444 closes the connection',
    server: 'location /t { return 444; }',
    noResponse: true,
  },
  {
    name: 'set with variables and if',
    request: 'GET /t?mode=a',
    server: `location /t {
      set $m "default";
      if ($arg_mode = "a") { set $m "mode-a"; }
      set $full "$m:$request_method";
      content_by_lua_block { ngx.say(ngx.var.full) }
    }`,
    body: 'mode-a:GET\n',
  },
  {
    name: 'if with a regex and captures',
    request: 'GET /t?id=user-42',
    server: `location /t {
      if ($arg_id ~ ^user-(\\d+)$) { return 200 "user $1\\n"; }
      return 200 "none\\n";
    }`,
    body: 'user 42\n',
  },
  {
    name: 'rewrite last reaches another location',
    request: 'GET /old/thing',
    server: `location /old/ { rewrite ^/old/(.*)$ /new/$1 last; }
      location /new/ { content_by_lua_block { ngx.say("new: ", ngx.var.uri, " ", ngx.var.request_uri) } }`,
    body: 'new: /new/thing /old/thing\n',
  },
  {
    name: 'rewrite redirect',
    request: 'GET /go',
    server: 'location /go { rewrite ^ /target redirect; }',
    status: 302,
    headers: { location: 'http://localhost:{{PORT}}/target' },
  },
  {
    name: 'rewrite permanent keeps the query string',
    request: 'GET /go?q=1',
    server: 'location /go { rewrite ^ /target permanent; }',
    status: 301,
    headers: { location: 'http://localhost:{{PORT}}/target?q=1' },
  },
  {
    name: 'error_page to a Lua location',
    server: `error_page 404 = /fallback;
      location /fallback { content_by_lua_block { ngx.say("fallback for ", ngx.var.request_uri) } }
      location /t { return 404; }`,
    status: 200,
    body: 'fallback for /t\n',
  },
  {
    name: 'conf: unknown directive',
    server: 'location /t { no_such_directive on; }',
    conf_error: emerg('unknown directive "no_such_directive"'),
  },
  {
    name: 'conf: listen with a bad sndbuf size',
    server: 'listen 127.0.0.1:38997 sndbuf=1x; location /t { return 204; }',
    conf_error: emerg('invalid sndbuf "sndbuf=1x"'),
  },
  {
    name: 'conf: unexpected closing brace',
    server: 'location /t { return 200; } }',
    conf_error: emerg('unexpected "}"'),
  },
  {
    name: 'conf: missing semicolon before a closing brace',
    server: 'location /t { return 200 }',
    conf_error: emerg('unexpected "}"'),
  },
  {
    name: 'conf: missing semicolon between directives',
    server: 'location /t { set $a 1 set $b 2; return 200; }',
    conf_error: emerg('invalid number of arguments in "set" directive'),
  },
  {
    name: 'conf: block directive given a semicolon',
    server: 'location /t;',
    conf_error: emerg('directive "location" has no opening "{"'),
  },
  {
    name: 'conf: unexpected end of file',
    server: 'location /t { return 200;',
    conf_error: /\[emerg\] (\d+#\d+: )?unexpected end of file, expecting "}" in \S+\/conf\/nginx\.conf:\d+/,
  },
  {
    name: 'conf: wrong number of arguments',
    server: 'location /t { return; }',
    conf_error: emerg('invalid number of arguments in "return" directive'),
  },
  {
    name: 'conf: directive not allowed here',
    server: 'content_by_lua_block { ngx.say(1) }',
    conf_error: emerg('"content_by_lua_block" directive is not allowed here'),
  },
  {
    name: 'conf: duplicate location',
    server: 'location /t { return 200; } location /t { return 201; }',
    conf_error: emerg('duplicate location "/t"'),
  },
  {
    name: 'conf: unknown variable',
    server: 'location /t { return 200 "$no_such_var_xyz"; }',
    conf_error: /\[emerg\] (\d+#\d+: )?unknown "no_such_var_xyz" variable$/m, // no file:line here
  },
  {
    name: 'conf: invalid return code',
    server: 'location /t { return abc def; }',
    conf_error: emerg('invalid return code "abc"'),
  },
  {
    name: 'conf: Lua syntax error in init_by_lua',
    http: 'init_by_lua_block { local = 1 }',
    server: 'location /t { return 200; }',
    conf_error: /init_by_lua/,
  },
  {
    name: 'conf: runtime error in init_by_lua',
    http: 'init_by_lua_block { error("init failed") }',
    server: 'location /t { return 200; }',
    conf_error: /init_by_lua error: init_by_lua\(nginx\.conf:\d+\):1: init failed/,
  },
  {
    name: 'init_by_lua: a coroutine resumed there sees itself as running',
    http: 'init_by_lua_block { local co = coroutine.create(function() coroutine.yield(1) ' +
      'co_seen = coroutine.status(coroutine.running()) end) coroutine.resume(co) coroutine.resume(co) }',
    server: 'location /t { content_by_lua_block { ngx.say(co_seen) } }',
    body: 'running\n',
  },
];
