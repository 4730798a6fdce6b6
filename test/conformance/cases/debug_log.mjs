// ngx_lua's debug-level error-log lines that say something a user can observe (and that the
// upstream Test::Nginx suites look for): timers firing and their fake request closing, sleeps,
// ngx.exit, ngx.ctx released, cosocket pools. The group logs at debug; lines are matched as
// substrings of nginx's format, which writes no context suffix after a debug line.
import { lua } from '../lib.mjs';

const main = 'error_log logs/error.log debug;';

export default [
  {
    name: 'a timer: "lua ngx.timer expired", then "http lua close fake http connection"',
    main,
    server: lua(`ngx.timer.at(0, function() ngx.log(ngx.WARN, "in the timer") end) ngx.say("ok")`),
    body: 'ok\n',
    log: [/\[debug\] \d+#\d+: lua ngx\.timer expired$/, /in the timer/, /\[debug\] \d+#\d+: (\*\d+ )?http lua close fake http connection [0-9A-F]{16}$/],
  },
  {
    name: 'ngx.sleep: "lua ready to sleep for N ms" and "lua sleep timer expired" with the URI and args',
    main,
    server: lua(`ngx.sleep(0.01) ngx.say("slept")`),
    request: 'GET /t?a=1',
    body: 'slept\n',
    log: [/\[debug\] \d+#\d+: \*\d+ lua ready to sleep for 10 ms$/, /\[debug\] \d+#\d+: \*\d+ lua sleep timer expired: "\/t\?a=1"$/],
  },
  {
    name: 'ngx.exit and ngx.ctx: "lua exit with code N", "lua release ngx.ctx at ref N"',
    main,
    server: lua(`ngx.ctx.x = 1 ngx.say("bye") ngx.exit(200)`),
    body: 'bye\n',
    log: [/\[debug\] .*\*\d+ lua exit with code 200$/, /\[debug\] \d+#\d+: lua release ngx\.ctx at ref \d+$/],
  },
  {
    name: 'a light thread killed while it sleeps: "lua clean up the timer for pending ngx.sleep"',
    main,
    server: lua(`local t = ngx.thread.spawn(function() ngx.sleep(5) end) ngx.sleep(0.01) ngx.say(ngx.thread.kill(t))`),
    body: '1\n',
    log: [/\[debug\] \d+#\d+: lua clean up the timer for pending ngx\.sleep$/],
  },
  {
    name: 'cosocket reads: "lua tcp socket calling receive() method", "... read line", receiveany\'s likewise',
    main,
    server: lua(`local s = ngx.socket.tcp() assert(s:connect("127.0.0.1", {{PEER_ECHO}}))
      s:send("one\\ntwo") ngx.say(s:receive()) ngx.say(s:receiveany(10)) s:close()`),
    body: 'one\ntwo\n',
    log: [/\[debug\] \d+#\d+: \*\d+ lua tcp socket calling receive\(\) method$/, /\[debug\] \d+#\d+: \*\d+ lua tcp socket read line$/,
      /\[debug\] \d+#\d+: \*\d+ lua tcp socket calling receiveany\(\) method to read at most 10 bytes$/, /\[debug\] \d+#\d+: \*\d+ lua tcp socket read any$/],
  },
  {
    name: 'ngx.ctx set before another module\'s internal redirect (echo_exec): "lua release ngx.ctx at ref N"',
    main,
    server: `location = /t { rewrite_by_lua_block { ngx.ctx.foo = "hello" } echo_exec /foo; }
      location = /foo { echo hello; }`,
    body: 'hello\n',
    log: [/\[debug\] \d+#\d+: lua release ngx\.ctx at ref \d+$/],
  },
  {
    name: 'a cosocket pool: created on setkeepalive, the idle connection taken by the next connect',
    main,
    server: lua(`local s = ngx.socket.tcp() assert(s:connect("127.0.0.1", {{PEER_ECHO}})) assert(s:setkeepalive())
      local s2 = ngx.socket.tcp() assert(s2:connect("127.0.0.1", {{PEER_ECHO}})) ngx.say(s2:getreusedtimes())`),
    body: '1\n',
    log: [/lua tcp socket connect timeout: 60000$/, /lua tcp socket connection pool size: 30, backlog: -1$/,
      /lua tcp socket keepalive create connection pool for key "127\.0\.0\.1:{{PEER_ECHO}}"$/,
      /lua tcp socket get keepalive peer: using connection [0-9A-F]{16}, fd:\d+$/],
  },
  {
    name: 'a header filter: "lua header filter for user lua code, uri ..."',
    main,
    server: 'location /t { header_filter_by_lua_block { ngx.header["X-H"] = "1" } return 200 "x"; }',
    headers: { 'x-h': '1' },
    log: [/lua header filter for user lua code, uri "\/t"$/],
  },
  {
    name: 'a j-flagged regex: "pcre JIT compiling result: 1"; HTTP/1.0 output: "lua buffering output bufs for the HTTP 1.0 request"',
    main,
    server: lua(`ngx.say(ngx.re.match("hello", "l+", "j")[0])`),
    request: 'GET /t HTTP/1.0',
    body: 'll\n',
    log: [/pcre JIT compiling result: 1$/, /lua buffering output bufs for the HTTP 1\.0 request$/],
  },
];
