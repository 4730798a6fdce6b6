// The echo module (openresty/echo-nginx-module, loaded in the reference's runs): content made
// of echo commands, run in order.
export default [
  {
    name: 'echo: words joined by a space, a newline unless -n, -- ends the options, variables',
    server: 'location /t { echo hello world; echo -n "no nl"; echo; echo -- -n is text; echo "uri=$uri args=$args"; }',
    request: 'GET /t?q=1',
    status: 200,
    headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
    body: 'hello world\nno nl\n-n is text\nuri=/t args=q=1\n',
  },
  {
    name: 'echo_duplicate',
    server: 'location /t { echo_duplicate 3 ab; echo_duplicate 2 "\\n"; }',
    body: 'ababab\n\n',
  },
  {
    name: 'echo_status sets the status of the echoed response',
    server: 'location /t { echo_status 404; echo "not really"; }',
    status: 404,
    body: 'not really\n',
  },
  {
    name: 'echo_flush and echo_sleep',
    server: 'location /t { echo a; echo_flush; echo_sleep 0.2; echo b; }',
    body: 'a\nb\n',
  },
  {
    name: 'echo_location inserts a subrequest\'s body, in order',
    server: 'location /t { echo before; echo_location /inner "x=1"; echo after; } location /inner { echo "inner $args"; }',
    body: 'before\ninner x=1\nafter\n',
  },
  {
    name: 'echo_location_async: started at once, bodies in command order',
    server: 'location /t { echo_location_async /slow; echo_location_async /inner; echo end; } location /inner { echo inner; } location /slow { echo_sleep 0.1; echo slow; }',
    body: 'slow\ninner\nend\n',
  },
  {
    name: 'echo_location of a Lua location',
    server: 'location /t { echo_location /lua; echo x; } location /lua { content_by_lua_block { ngx.say("lua") } }',
    body: 'lua\nx\n',
  },
  {
    name: 'echo_subrequest with a method, a query and a body; $request_method is the main request\'s',
    server: 'location /t { echo_subrequest POST /body -q a=b -b "the body"; } location /body { echo_read_request_body; echo "[$request_method $args]"; echo_request_body; echo; }',
    body: '[GET a=b]\nthe body\n',
  },
  {
    name: 'echo_read_request_body and echo_request_body',
    server: 'location /t { echo_read_request_body; echo_request_body; echo; }',
    request: { line: 'POST /t', body: 'posted' },
    body: 'posted\n',
  },
  {
    name: 'echo_exec redirects internally',
    server: 'location /t { echo_exec /inner "via=exec"; } location /inner { echo "inner $args"; }',
    body: 'inner via=exec\n',
  },
  {
    name: 'echo_before_body and echo_after_body around a return, in conf order, without Content-Length',
    server: 'location /t { echo_before_body before; echo_after_body -n after; echo_before_body "b2 $arg_x"; return 200 "ret\\n"; }',
    request: 'GET /t?x=7',
    headers: { 'content-length': null },
    body: 'before\nb2 7\nret\nafter',
  },
  {
    name: 'echo_before_body and echo_after_body around Lua output; Lua\'s body filter sees their text',
    server: `location /t { echo_before_body before; echo_after_body after;
      body_filter_by_lua_block { ngx.arg[1] = string.upper(ngx.arg[1]) }
      content_by_lua_block { ngx.say("body") } }`,
    body: 'BEFORE\nBODY\nAFTER\n',
  },
  {
    name: 'echo_after_body around a proxied answer',
    server: 'location /t { echo_after_body "the end"; proxy_pass http://127.0.0.1:{{PEER_HTTP}}/_name; }',
    body: 'a\nthe end\n',
  },
];
