// APIs called where they are not allowed.
import { lua } from '../lib.mjs';

const inLog = (code) => `location /t { content_by_lua_block { ngx.say("ok") } log_by_lua_block { ${code}\n} }`;
// (with a Lua content handler the reference leaves the request hanging after a header filter
// error, so these use a static `return`)
const inHeaderFilter = (code) => `location /t { return 200 "ok\\n"; header_filter_by_lua_block { ${code}\n} }`;
const inBodyFilter = (code) => `location /t { content_by_lua_block { ngx.say("ok") } body_filter_by_lua_block { ${code}\n} }`;
const disabled = (phase, line = 1) =>
  new RegExp(`failed to run ${phase}_by_lua\\*: ${phase}_by_lua\\(nginx\\.conf:\\d+\\):${line}: API disabled in the context of ${phase}_by_lua\\*`);

export default [
  {
    name: 'ngx.say in log_by_lua',
    server: inLog(`ngx.say("late")`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.print in log_by_lua',
    server: inLog(`ngx.print("late")`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.sleep in log_by_lua',
    server: inLog(`ngx.sleep(0.001)`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.exit in log_by_lua',
    server: inLog(`ngx.exit(500)`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.req.read_body in log_by_lua',
    server: inLog(`ngx.req.read_body()`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.flush in log_by_lua',
    server: inLog(`ngx.flush()`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.redirect in log_by_lua',
    server: inLog(`ngx.redirect("/x")`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.exec in log_by_lua',
    server: inLog(`ngx.exec("/x")`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.socket.tcp in log_by_lua',
    server: inLog(`local s = ngx.socket.tcp()`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.location.capture in log_by_lua',
    server: inLog(`ngx.location.capture("/x")`),
    body: 'ok\n',
    log: [disabled('log')],
  },
  {
    name: 'ngx.say in header_filter_by_lua',
    server: inHeaderFilter(`ngx.say("no")`),
    noResponse: true,
    log: [disabled('header_filter')],
  },
  {
    name: 'ngx.sleep in header_filter_by_lua',
    server: inHeaderFilter(`ngx.sleep(0)`),
    noResponse: true,
    log: [disabled('header_filter')],
  },
  {
    name: 'ngx.req.read_body in header_filter_by_lua',
    server: inHeaderFilter(`ngx.req.read_body()`),
    noResponse: true,
    log: [disabled('header_filter')],
  },
  {
    name: 'ngx.exit in header_filter_by_lua is allowed',
    server: inHeaderFilter(`ngx.status = 403 ngx.header["X-HF"] = "1" ngx.exit(ngx.OK)`),
    status: 403,
    headers: { 'x-hf': '1' },
  },
  {
    name: 'ngx.say in body_filter_by_lua',
    server: inBodyFilter(`ngx.say("no")`),
    noResponse: true,
    log: [disabled('body_filter')],
  },
  {
    name: 'ngx.sleep in set_by_lua',
    server: `location /t { set_by_lua_block $x { ngx.sleep(0.001) return 1 } content_by_lua_block { ngx.say("no") } }`,
    status: 500,
    log: [/failed to run set_by_lua\*: set_by_lua\(nginx\.conf:\d+\):1: API disabled in the context of set_by_lua\*/],
  },
  {
    name: 'ngx.say in set_by_lua',
    server: `location /t { set_by_lua_block $x { ngx.say("x") return 1 } content_by_lua_block { ngx.say("no") } }`,
    status: 500,
    log: [/API disabled in the context of set_by_lua\*/],
  },
  {
    name: 'ngx.say in a timer',
    server: lua(`ngx.timer.at(0, function() local ok, err = pcall(ngx.say, "x") ngx.log(ngx.WARN, "timer say: ", ok, " ", err) end) ngx.say("scheduled")`),
    body: 'scheduled\n',
    log: [/timer say: false API disabled in the context of ngx\.timer/],
  },
  {
    name: 'ngx.var in a timer',
    server: lua(`ngx.timer.at(0, function() local ok, err = pcall(function() return ngx.var.uri end) ngx.log(ngx.WARN, "timer var: ", ok, " ", err) end) ngx.say("scheduled")`),
    body: 'scheduled\n',
    log: [/timer var: false content_by_lua\(nginx\.conf:\d+\):1: API disabled in the current context, context: ngx\.timer/],
  },
  {
    name: 'ngx.get_phase inside a timer',
    server: lua(`ngx.timer.at(0, function() ngx.log(ngx.WARN, "timer phase: ", ngx.get_phase()) end) ngx.say("scheduled")`),
    log: [/timer phase: timer/],
  },
  {
    name: 'ngx.sleep in content is allowed',
    server: lua(`ngx.sleep(0) ngx.say("slept")`),
    body: 'slept\n',
  },
  {
    name: 'ngx.log and ngx.var work in log_by_lua',
    server: inLog(`ngx.log(ngx.WARN, "uri in log: ", ngx.var.uri, " status ", ngx.status)`),
    log: [/uri in log: \/t status 200/],
  },
  {
    name: 'in a timer, the request APIs lua-resty-core implements over FFI say "API disabled in the current context"',
    server: `location /t { content_by_lua_block {
      ngx.timer.at(0, function()
        local out = {}
        local with = { set_uri = "/x", set_uri_args = "a=1", set_method = ngx.HTTP_GET, set_body_data = "x", set_body_file = "/x", append_body = "x" }
        for _, name in ipairs({ "raw_header", "set_uri", "set_uri_args", "discard_body", "init_body", "set_method",
            "get_post_args", "get_body_data", "get_body_file", "set_body_data", "set_body_file", "append_body", "finish_body" }) do
          local ok, err
          if with[name] then ok, err = pcall(ngx.req[name], with[name]) else ok, err = pcall(ngx.req[name]) end
          out[#out + 1] = name .. "=" .. tostring(err):gsub("^.-:%d+: ", "")
        end
        local ok, err = pcall(function() return ngx.headers_sent end)
        out[#out + 1] = "headers_sent=" .. tostring(err):gsub("^.-:%d+: ", "")
        ngx.log(ngx.WARN, table.concat(out, "; "))
      end)
      ngx.say("ok")
    } }`,
    body: 'ok\n',
    log: [/\[warn\] .*raw_header=API disabled in the current context; set_uri=API disabled in the current context; set_uri_args=API disabled in the current context; discard_body=API disabled in the current context; init_body=API disabled in the current context; set_method=API disabled in the current context; get_post_args=API disabled in the current context; get_body_data=API disabled in the current context; get_body_file=API disabled in the current context; set_body_data=API disabled in the current context; set_body_file=API disabled in the current context; append_body=API disabled in the current context; finish_body=API disabled in the current context; headers_sent=API disabled in the current context/],
  },
];
