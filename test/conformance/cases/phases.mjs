// Phase order, ngx.ctx across phases, filters and log_by_lua.
import { lua, errorPage } from '../lib.mjs';

const track = (phase) => `ngx.ctx.order = (ngx.ctx.order or "") .. "${phase},"`;

export default [
  {
    name: 'ngx.ctx replaced, then a fresh one after ngx.exec; get_phase back to content after the header filter ran from ngx.say',
    server: `location /a { rewrite_by_lua_block { ngx.ctx.x = 1 ngx.ctx = { y = 2 } ngx.ctx.z = ngx.ctx.y ngx.exec("/b") } }
      location /b {
        header_filter_by_lua_block { ngx.ctx.hf = ngx.get_phase() }
        content_by_lua_block {
          ngx.say(tostring(ngx.ctx.x), tostring(ngx.ctx.y))
          ngx.say(ngx.get_phase(), " ", tostring(ngx.ctx.hf))
          ngx.ctx = { w = 3 }
          ngx.say(ngx.get_phase(), " ", tostring(ngx.ctx.hf), " ", ngx.ctx.w)
        }
      }`,
    request: 'GET /a',
    body: 'nilnil\ncontent header_filter\ncontent nil 3\n',
  },
  {
    name: 'a subrequest with the ctx option writes the given table; the parent keeps its own ngx.ctx',
    server: `location /t { content_by_lua_block {
          ngx.ctx.own = "parent"
          local shared = { n = 1 }
          local res = ngx.location.capture("/sub", { ctx = shared })
          ngx.say(res.body, shared.n, " ", shared.phase, " ", ngx.ctx.own, " ", tostring(ngx.ctx.n), " ", ngx.get_phase())
        } }
      location /sub { content_by_lua_block { ngx.ctx.n = ngx.ctx.n + 1 ngx.ctx.phase = ngx.get_phase() ngx.print(tostring(ngx.ctx.own), " ") } }`,
    body: 'nil 2 content parent nil content\n',
  },
  {
    name: 'a timer has its own ngx.ctx, apart from the request that created it',
    server: lua(`ngx.ctx.r = "req"
      ngx.timer.at(0, function() ngx.ctx.t = (ngx.ctx.t or 0) + 1 ngx.log(ngx.WARN, "timer ctx ", tostring(ngx.ctx.r), " ", ngx.ctx.t, " ", ngx.get_phase()) end)
      ngx.sleep(0.01)
      ngx.say(ngx.ctx.r, " ", tostring(ngx.ctx.t), " ", ngx.get_phase())`),
    body: 'req nil content\n',
    log: [/timer ctx nil 1 timer/],
  },
  {
    name: 'rewrite, access, content, log run in order',
    server: `location /t {
      log_by_lua_block { ${track('log')} ngx.log(ngx.WARN, "order: ", ngx.ctx.order) }
      content_by_lua_block { ${track('content')} ngx.say(ngx.ctx.order) }
      access_by_lua_block { ${track('access')} }
      rewrite_by_lua_block { ${track('rewrite')} }
    }`,
    body: 'rewrite,access,content,\n',
    log: [/\[warn\].*order: rewrite,access,content,log,/],
  },
  {
    name: 'header and body filters run after content',
    server: `location /t {
      content_by_lua_block { ${track('content')} ngx.say("body") }
      header_filter_by_lua_block { ${track('header_filter')} }
      body_filter_by_lua_block { if ngx.arg[2] then ${track('body_filter_eof')} end }
      log_by_lua_block { ngx.log(ngx.WARN, "order: ", ngx.ctx.order) }
    }`,
    body: 'body\n',
    log: [/order: content,header_filter,body_filter_eof,/],
  },
  {
    name: 'ngx.ctx values survive across phases',
    server: `location /t {
      rewrite_by_lua_block { ngx.ctx.user = { name = "ann", n = 1 } }
      access_by_lua_block { ngx.ctx.user.n = ngx.ctx.user.n + 1 }
      content_by_lua_block { ngx.say(ngx.ctx.user.name, " ", ngx.ctx.user.n) }
    }`,
    body: 'ann 2\n',
  },
  {
    name: 'ngx.ctx can be replaced by a new table',
    server: `location /t {
      rewrite_by_lua_block { ngx.ctx = { replaced = true } }
      content_by_lua_block { ngx.say(ngx.ctx.replaced) }
    }`,
    body: 'true\n',
  },
  {
    name: 'ngx.ctx is fresh for each request on a keep-alive connection',
    server: lua(`ngx.ctx.n = (ngx.ctx.n or 0) + 1 ngx.say(ngx.ctx.n)`),
    steps: [{ body: '1\n' }, { body: '1\n' }],
  },
  {
    name: 'log_by_lua logs at several levels',
    server: `location /t {
      content_by_lua_block { ngx.say("ok") }
      log_by_lua_block { ngx.log(ngx.NOTICE, "n-msg") ngx.log(ngx.WARN, "w-msg ", 1, " ", true, " ", nil) ngx.log(ngx.INFO, "i-msg") }
    }`,
    body: 'ok\n',
    log: [
      /\[notice\] \d+#\d+: \*\d+ \[lua\] log_by_lua\(nginx\.conf:\d+\):1: n-msg/,
      /\[warn\] .*\[lua\] log_by_lua\(nginx\.conf:\d+\):1: w-msg 1 true nil while logging request, client: 127\.0\.0\.1, server: localhost/,
      /\[info\] .*i-msg/,
    ],
  },
  {
    name: 'ngx.log at ERR level from content',
    server: lua(`ngx.log(ngx.ERR, "custom failure") ngx.say("still ok")`),
    body: 'still ok\n',
    log: [/\[error\] .*\[lua\] content_by_lua\(nginx\.conf:\d+\):1: custom failure, client: 127\.0\.0\.1/],
  },
  {
    name: 'print logs at notice level',
    server: lua(`print("printed ", 42) ngx.say("ok")`),
    log: [/\[notice\] .*\[lua\] content_by_lua\(nginx\.conf:\d+\):1: printed 42/],
  },
  {
    name: 'ngx.log below the error_log level is dropped',
    server: lua(`ngx.log(ngx.DEBUG, "debug-only-line") ngx.say("ok")`),
    noLog: ['debug-only-line'],
  },
  {
    name: 'log phase still runs after an error page',
    server: `location /t { content_by_lua_block { ngx.exit(404) } log_by_lua_block { ngx.log(ngx.WARN, "log after ", ngx.status) } }`,
    status: 404,
    log: [/log after 404/],
  },
  {
    name: 'header_filter can change headers and status',
    server: `location /t {
      content_by_lua_block { ngx.say("x") }
      header_filter_by_lua_block { ngx.header["X-Filtered"] = "yes" ngx.header.content_length = nil ngx.status = 202 }
    }`,
    status: 202,
    headers: { 'x-filtered': 'yes' },
    body: 'x\n',
  },
  {
    name: 'body_filter rewrites chunks',
    server: `location /t {
      content_by_lua_block { ngx.say("hello") ngx.say("world") }
      body_filter_by_lua_block { if ngx.arg[1] ~= "" then ngx.arg[1] = string.upper(ngx.arg[1]) end }
    }`,
    body: 'HELLO\nWORLD\n',
  },
  {
    name: 'body_filter can append at eof',
    server: `location /t {
      content_by_lua_block { ngx.print("main") }
      body_filter_by_lua_block { if ngx.arg[2] then ngx.arg[1] = ngx.arg[1] .. "+tail" end }
    }`,
    body: 'main+tail',
  },
  {
    name: 'server-level rewrite_by_lua is inherited by locations',
    server: `rewrite_by_lua_block { ngx.ctx.srv = "server-rewrite" }
      ${lua(`ngx.say(ngx.ctx.srv)`)}`,
    body: 'server-rewrite\n',
  },
  {
    name: 'location rewrite_by_lua overrides the server one',
    server: `rewrite_by_lua_block { ngx.ctx.v = "server" }
      location /t { rewrite_by_lua_block { ngx.ctx.v = (ngx.ctx.v or "none") .. "+location" } content_by_lua_block { ngx.say(ngx.ctx.v) } }`,
    body: 'none+location\n',
  },
  {
    name: 'set runs before rewrite_by_lua regardless of order',
    server: `location /t {
      rewrite_by_lua_block { ngx.ctx.a = ngx.var.a }
      set $a "from-set";
      content_by_lua_block { ngx.say(ngx.ctx.a) }
    }`,
    body: 'from-set\n',
  },
  {
    name: 'deny runs before access_by_lua',
    server: `location /t { deny all; access_by_lua_block { ngx.log(ngx.WARN, "lua access ran") } content_by_lua_block { ngx.say("no") } }`,
    status: 403,
    noLog: ['lua access ran'],
    log: [/access forbidden by rule/],
  },
  {
    name: 'set_by_lua computes a variable',
    request: 'GET /t?a=3&b=4',
    server: `location /t { set_by_lua_block $sum { return tonumber(ngx.var.arg_a) + tonumber(ngx.var.arg_b) } content_by_lua_block { ngx.say(ngx.var.sum) } }`,
    body: '7\n',
  },
  {
    name: 'set_by_lua with arguments',
    server: `location /t { set $x "left"; set_by_lua $res 'return ngx.arg[1] .. "-" .. ngx.arg[2]' $x right; content_by_lua_block { ngx.say(ngx.var.res) } }`,
    body: 'left-right\n',
  },
  {
    name: 'no matching location falls back to static files: 404',
    server: `location /other { content_by_lua_block { ngx.say("other") } }`,
    status: 404,
    log: [/open\(\) ".*\/html\/t" failed \(2: No such file or directory\)/],
  },
  {
    name: 'rewrite_by_lua_no_postpone runs the Lua handler before the set statements',
    http: 'rewrite_by_lua_no_postpone on;',
    server: `location /t { set $v "set"; rewrite_by_lua_block { ngx.var.v = (ngx.var.v or "nil") .. "+lua" } content_by_lua_block { ngx.say(ngx.var.v) } }`,
    body: 'set\n',
  },
  {
    name: 'by default rewrite_by_lua runs after the set statements',
    server: `location /t { set $v "set"; rewrite_by_lua_block { ngx.var.v = ngx.var.v .. "+lua" } content_by_lua_block { ngx.say(ngx.var.v) } }`,
    body: 'set+lua\n',
  },
  {
    name: 'access_by_lua_no_postpone runs the Lua handler before deny',
    http: 'access_by_lua_no_postpone on;',
    server: `location /t { deny all; access_by_lua_block { ngx.log(ngx.WARN, "access lua ran") } content_by_lua_block { ngx.say("x") } }`,
    status: 403,
    log: [/access lua ran/, /access forbidden by rule/],
  },
  {
    name: 'ngx.exit(403) in header_filter_by_lua: the response becomes the 403 page',
    server: `location /t { content_by_lua_block { ngx.say("hello") } header_filter_by_lua_block { ngx.exit(403) } }`,
    status: 403,
    headers: { 'content-type': 'text/html' },
    body: errorPage(403),
  },
  {
    name: 'ngx.exit(444) in header_filter_by_lua: the bare status with an empty body',
    server: `location /t { content_by_lua_block { ngx.say("hello") } header_filter_by_lua_block { ngx.exit(444) } }`,
    status: 444,
    headers: { 'content-length': '0' },
    body: '',
  },
];
