// lua_check_client_abort and ngx.on_abort.
// Only the API is covered here: a client going away mid-request cannot be tested reliably yet.
// `halfClose: true` sends the FIN together with the request, and the reference only notices it
// when the FIN arrives after the content handler started (racy); a delayed close is needed.
// The handlers that must be cut short sleep far longer than the client waits, so that a client
// whose timer fires late on a loaded machine still closes while they sleep.
import { lua, luaOut } from '../lib.mjs';

const ON = 'lua_check_client_abort on;';
const onLoc = (code, loc = '/t') => `location ${loc} { lua_check_client_abort on; content_by_lua_block { ${code}\n} }`;

export default [
  {
    name: 'on_abort returns 1',
    server: onLoc(`ngx.say(ngx.on_abort(function() end))`),
    body: '1\n',
  },
  {
    name: 'on_abort twice is a duplicate call',
    server: onLoc(`ngx.say(ngx.on_abort(function() end)) local ok, err = ngx.on_abort(function() end) ngx.say(ok, " ", err)`),
    body: '1\nnil duplicate call\n',
  },
  {
    name: 'on_abort with lua_check_client_abort off',
    server: luaOut(`out(ngx.on_abort(function() end))`),
    body: 'nil lua_check_client_abort is off\n',
  },
  {
    name: 'lua_check_client_abort at http level',
    http: ON,
    server: luaOut(`out(ngx.on_abort(function() end))`),
    body: '1\n',
  },
  {
    name: 'on_abort with a non-function',
    server: onLoc(`ngx.on_abort("x")`),
    status: 500,
    log: [/bad argument #1 to 'on_abort'/],
  },
  {
    name: 'on_abort from a light thread',
    server: onLoc(`local t = ngx.thread.spawn(function() return ngx.on_abort(function() end) end) ngx.say(select(2, ngx.thread.wait(t)))`),
    body: '1\n',
  },
  {
    name: 'on_abort in rewrite_by_lua',
    server: `location /t { lua_check_client_abort on; rewrite_by_lua_block { ngx.ctx.r = ngx.on_abort(function() end) } content_by_lua_block { ngx.say(ngx.ctx.r) } }`,
    body: '1\n',
  },
  {
    name: 'on_abort in log_by_lua',
    server: `location /t { lua_check_client_abort on; content_by_lua_block { ngx.say("ok") } log_by_lua_block { ngx.on_abort(function() end) } }`,
    body: 'ok\n',
    log: [/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of log_by_lua\*/],
  },
  {
    name: 'on_abort in a timer',
    http: ON,
    server: luaOut(`local r ngx.timer.at(0, function() r = {pcall(ngx.on_abort, function() end)} end) ngx.sleep(0.05) out(r[1], r[2])`),
    body: 'false API disabled in the context of ngx.timer\n',
  },
  {
    name: 'half-close with lua_check_client_abort off',
    halfClose: true,
    server: lua(`ngx.sleep(0.05) ngx.say("not checked")`),
    body: 'not checked\n',
  },
  {
    name: 'on_abort in access_by_lua',
    server: `location /t { lua_check_client_abort on; access_by_lua_block { ngx.ctx.a = ngx.on_abort(function() end) } content_by_lua_block { ngx.say(ngx.ctx.a, " ", ngx.on_abort(function() end)) } }`,
    body: '1 1\n', // each phase handler has its own on_abort slot
  },
  {
    name: 'on_abort in header_filter_by_lua',
    server: `location /t { lua_check_client_abort on; return 200 "ok\\n"; header_filter_by_lua_block { ngx.header["X-A"] = tostring(select(2, pcall(ngx.on_abort, function() end))) } }`,
    headers: { 'x-a': 'API disabled in the context of header_filter_by_lua*' },
    body: 'ok\n',
  },
  {
    name: 'on_abort inside a user coroutine',
    server: onLoc(`local co = coroutine.wrap(function() return ngx.on_abort(function() end) end) ngx.say(co())`),
    body: '1\n',
  },
  {
    name: 'client gone with lua_check_client_abort on and no handler: the request ends with 499',
    server: `location /t {
      lua_check_client_abort on;
      content_by_lua_block { ngx.sleep(3) ngx.log(ngx.ERR, "not reached") }
      log_by_lua_block { ngx.log(ngx.WARN, "abort status ", ngx.var.status) }
    }`,
    abortAfter: 100,
    noResponse: true,
    log: [/abort status 499/, /\[info\] .*client prematurely closed connection, client: 127\.0\.0\.1/],
    noLog: [/not reached/],
  },
  {
    name: 'client gone: the ngx.on_abort handler runs and its ngx.exit(499) ends the request',
    server: `location /t {
      lua_check_client_abort on;
      content_by_lua_block {
        ngx.on_abort(function() ngx.log(ngx.WARN, "on_abort ran") ngx.exit(499) end)
        ngx.sleep(3) ngx.log(ngx.ERR, "not reached")
      }
      log_by_lua_block { ngx.log(ngx.WARN, "abort status ", ngx.var.status) }
    }`,
    abortAfter: 100,
    noResponse: true,
    log: [/on_abort ran/, /abort status 499/],
    noLog: [/not reached/],
  },
  {
    name: 'client gone with lua_check_client_abort off: the handler runs on',
    server: `location /t {
      content_by_lua_block { ngx.sleep(0.3) ngx.log(ngx.WARN, "handler finished") }
    }`,
    abortAfter: 100,
    noResponse: true,
    log: [/handler finished/],
  },
];
