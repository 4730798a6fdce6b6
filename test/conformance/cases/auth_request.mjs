// The auth_request module: a subrequest decides whether the request goes on (2xx), is refused
// (401 with the subrequest's WWW-Authenticate, 403), or fails (anything else: 500), before
// access_by_lua; auth_request_set reads variables in the subrequest.
const authLoc = `location = /auth { internal; content_by_lua_block {
  local t = ngx.var.http_x_token
  if t == "good" then ngx.header["X-User"] = "alice" ngx.exit(200)
  elseif t == "nope" then ngx.header["WWW-Authenticate"] = 'Basic realm="r"' ngx.exit(401)
  elseif t == "banned" then ngx.exit(403)
  else ngx.exit(404) end
} }`;

export default [
  {
    name: 'a 2xx from the subrequest lets the request on; auth_request_set reads the subrequest\'s $sent_http_*',
    server: `${authLoc} location /t { auth_request /auth; auth_request_set $user $sent_http_x_user;
      access_by_lua_block { ngx.ctx.a = "access ran" }
      content_by_lua_block { ngx.say("hello ", ngx.var.user, ", ", ngx.ctx.a) } }`,
    request: { line: 'GET /t', headers: { 'X-Token': 'good' } },
    status: 200,
    body: 'hello alice, access ran\n',
  },
  {
    name: '401 from the subrequest: 401 with its WWW-Authenticate, and access_by_lua does not run',
    server: `${authLoc} location /t { auth_request /auth; access_by_lua_block { ngx.log(ngx.ERR, "must not run") } echo ok; }`,
    request: { line: 'GET /t', headers: { 'X-Token': 'nope' } },
    status: 401,
    headers: { 'www-authenticate': 'Basic realm="r"' },
    body: /<title>401 Authorization Required<\/title>/,
    noLog: [/must not run/],
  },
  {
    name: '403 from the subrequest is a 403',
    server: `${authLoc} location /t { auth_request /auth; echo ok; }`,
    request: { line: 'GET /t', headers: { 'X-Token': 'banned' } },
    status: 403,
  },
  {
    name: 'another status is a 500 with "auth request unexpected status"',
    server: `${authLoc} location /t { auth_request /auth; echo ok; }`,
    request: 'GET /t',
    status: 500,
    log: [/\[error\] .*auth request unexpected status: 404, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1"/],
  },
  {
    name: 'auth_request off in an inner level',
    server: `${authLoc} auth_request /auth; location /t { auth_request off; echo open; }`,
    request: 'GET /t',
    status: 200,
    body: 'open\n',
  },
  {
    name: 'the subrequest can be proxied',
    server: `location = /auth { internal; proxy_pass http://127.0.0.1:{{PEER_HTTP}}/_status/204; }
      location /t { auth_request /auth; auth_request_set $st $upstream_status; echo "in after $st"; }`,
    request: 'GET /t',
    body: 'in after 204\n',
  },
];
