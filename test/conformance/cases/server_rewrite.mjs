// server_rewrite_by_lua*: Lua in the server rewrite phase, before location matching and before
// the rewrite module's server-level statements; inherited from http by a server without one.
export default [
  {
    name: 'in http: runs for every request, ngx.ctx carries on to the content handler',
    http: 'server_rewrite_by_lua_block { ngx.ctx.a = "set in server rewrite" }',
    server: 'location /t { content_by_lua_block { ngx.say(ngx.ctx.a, " ", ngx.get_phase()) } }',
    body: 'set in server rewrite content\n',
  },
  {
    name: 'before the server-level rewrite statements; ngx.get_phase() is "server_rewrite"',
    server: `server_rewrite_by_lua_block { ngx.log(ngx.WARN, "uri is ", ngx.var.uri, ", phase ", ngx.get_phase()) }
      rewrite ^ /re;
      location /re { content_by_lua_block { ngx.say("RE") } }`,
    request: 'GET /lua',
    body: 'RE\n',
    log: [/\[warn\] .*uri is \/lua, phase server_rewrite/],
  },
  {
    name: 'ngx.exec goes back through the server rewrite phase; subrequests run it too',
    server: `server_rewrite_by_lua_block {
        ngx.log(ngx.WARN, "sr uri ", ngx.var.uri, " sub ", tostring(ngx.is_subrequest))
        if ngx.var.uri == "/a" then return ngx.exec("/b") end
      }
      location /b { content_by_lua_block { local res = ngx.location.capture("/c") ngx.say("b ", res.body) } }
      location /c { content_by_lua_block { ngx.print("c") } }`,
    request: 'GET /a',
    body: 'b c\n',
    log: [/sr uri \/a sub false/, /sr uri \/b sub false/, /sr uri \/c sub true/],
  },
  {
    name: 'ngx.req.set_uri with jump, and ngx.exit(503)',
    server: `server_rewrite_by_lua_block {
        if ngx.var.uri == "/down" then return ngx.exit(503) end
        if ngx.var.uri ~= "/bar" then ngx.req.set_uri_args("hello") ngx.req.set_uri("/bar", true) end
      }
      location /bar { echo "bar: $uri?$args"; }`,
    steps: [
      { request: 'GET /foo?world', body: 'bar: /bar?hello\n' },
      { request: 'GET /down', status: 503 },
    ],
  },
  {
    name: 'a server block\'s own replaces the http block\'s',
    http: 'server_rewrite_by_lua_block { ngx.ctx.w = "http" }',
    server: 'server_rewrite_by_lua_block { ngx.ctx.w = "server" } location /t { content_by_lua_block { ngx.say(ngx.ctx.w) } }',
    body: 'server\n',
  },
];
