// nginx's headers module: add_header [always] and expires, after Lua's own headers.
const DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

export default [
  {
    name: 'add_header with a variable, and expires over a Cache-Control that Lua set, in nginx\'s order',
    server: 'location /t { add_header X-A "a $uri"; add_header X-B b always; expires 1h; content_by_lua_block { ngx.header["Cache-Control"] = "private" ngx.header["X-Lua"] = "1" ngx.say("a") } }',
    status: 200,
    headers: { 'x-a': 'a /t', 'x-b': 'b', 'cache-control': 'max-age=3600', expires: DATE, 'x-lua': '1' },
    headerOrder: ['cache-control', 'x-lua', 'expires', 'x-a', 'x-b'],
    body: 'a\n',
  },
  {
    name: 'an error status gets only the always headers, and no expires',
    server: 'location /t { add_header X-A a; add_header X-B b always; expires epoch; return 404; }',
    status: 404,
    headers: { 'x-a': null, 'x-b': 'b', expires: null, 'cache-control': null },
  },
  {
    name: 'expires max and epoch',
    server: 'location /t { expires max; return 200 "m"; } location /e { expires epoch; return 200 "e"; }',
    steps: [
      { request: 'GET /t', status: 200, headers: { expires: 'Thu, 31 Dec 2037 23:55:55 GMT', 'cache-control': 'max-age=315360000' }, headerOrder: ['expires', 'cache-control'] },
      { request: 'GET /e', status: 200, headers: { expires: 'Thu, 01 Jan 1970 00:00:01 GMT', 'cache-control': 'no-cache' } },
    ],
  },
  {
    name: 'a negative expires is no-cache',
    server: 'location /t { expires -1; return 200 "n"; }',
    status: 200,
    headers: { expires: DATE, 'cache-control': 'no-cache' },
  },
  {
    name: 'add_header is inherited only by a level that has none of its own; expires off overrides',
    server: 'add_header X-Srv srv; expires 10s; location /t { return 200 "i"; } location /own { add_header X-O o; expires off; return 200 "o"; }',
    steps: [
      { request: 'GET /t', status: 200, headers: { 'x-srv': 'srv', 'cache-control': 'max-age=10' } },
      { request: 'GET /own', status: 200, headers: { 'x-srv': null, 'x-o': 'o', expires: null } },
    ],
  },
  {
    name: 'add_header takes only always as its third argument',
    server: 'location /t { add_header X-A a sometimes; }',
    conf_error: /invalid parameter "sometimes"/,
  },
  {
    name: 'charset: added to text types without a charset, to error pages too, not to others',
    server: `charset GBK;
      location /x { content_by_lua_block { ngx.header.content_type = "text/xml" ngx.say("hi") } }
      location /c { content_by_lua_block { ngx.header.content_type = "text/plain; charset=latin1" ngx.say("hi") } }
      location /j { default_type application/json; return 200 "{}"; }
      location /e { return 404; }
      location /t { charset_types application/json; default_type application/json; return 200 "{}"; }`,
    steps: [
      { request: 'GET /x', headers: { 'content-type': 'text/xml; charset=GBK' } },
      { request: 'GET /c', headers: { 'content-type': 'text/plain; charset=latin1' } },
      { request: 'GET /j', headers: { 'content-type': 'application/json' } },
      { request: 'GET /e', status: 404, headers: { 'content-type': 'text/html; charset=GBK' } },
      { request: 'GET /t', headers: { 'content-type': 'application/json; charset=GBK' } },
    ],
  },
];
