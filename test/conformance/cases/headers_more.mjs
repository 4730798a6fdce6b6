// The headers-more module (loaded in the reference's runs): output headers set and cleared
// before Lua's header filter sees them, with -s and -t filters; input headers before Lua runs.
import { errorPage } from '../lib.mjs';

export default [
  {
    name: 'more_set_headers and more_clear_headers (with a wildcard) over what Lua set',
    server: `location /t { more_set_headers 'X-A: a $uri' 'X-B: b'; more_clear_headers X-Lua-Del 'X-Pre*'; content_by_lua_block { ngx.header["X-Lua-Del"] = "1" ngx.header["X-Pre-1"] = "1" ngx.header["X-Prefix"] = "2" ngx.header["X-Keep"] = "k" ngx.header["X-B"] = "lua" ngx.say("a") } }`,
    status: 200,
    headers: { 'x-a': 'a /t', 'x-b': 'b', 'x-keep': 'k', 'x-lua-del': null, 'x-pre-1': null, 'x-prefix': null },
    headerOrder: ['x-keep', 'x-b', 'x-a'],
    body: 'a\n',
  },
  {
    name: '-s limits a command to statuses, also on an error page',
    server: `location /t { more_set_headers -s 404 'X-Only-404: yes'; more_set_headers -s '200 201' 'X-Ok: ok'; return 404; }`,
    status: 404,
    headers: { 'x-only-404': 'yes', 'x-ok': null },
    body: errorPage(404),
  },
  {
    name: '-t limits a command to content types',
    server: `location /t { more_set_headers -t 'text/html' 'X-Html: h'; more_set_headers -t 'text/plain' 'X-Plain: p'; return 200 "x"; }`,
    headers: { 'x-html': null, 'x-plain': 'p' },
  },
  {
    name: 'more_set_headers can set Content-Type',
    server: `location /t { more_set_headers 'Content-Type: application/json'; return 200 "{}"; }`,
    headers: { 'content-type': 'application/json' },
  },
  {
    name: 'header_filter_by_lua sees what more_set_headers set',
    server: `location /t { more_set_headers 'X-M: m'; header_filter_by_lua_block { ngx.header["X-Seen"] = ngx.header["X-M"] or "none" } return 200 "h"; }`,
    headers: { 'x-m': 'm', 'x-seen': 'm' },
  },
  {
    name: 'more_set_input_headers, more_clear_input_headers and -r, before Lua reads them',
    server: `location /t { more_set_input_headers 'X-In: set' 'User-Agent: more'; more_clear_input_headers X-Gone; more_set_input_headers -r 'X-Absent: no' 'Accept: replaced'; content_by_lua_block { local h = ngx.req.get_headers() ngx.say(h["x-in"], " ", h["user-agent"], " ", tostring(h["x-gone"]), " ", tostring(h["x-absent"]), " ", h["accept"]) } }`,
    request: { line: 'GET /t', headers: { 'X-Gone': '1', Accept: 'a', 'User-Agent': 'curl' } },
    body: 'set more nil nil replaced\n',
  },
  {
    name: 'more_clear_headers Date and more_set_headers Server: nginx\'s own headers changed',
    server: `location /a { more_clear_headers Date; more_set_headers "Server: mine"; return 200 "a"; }
      location /b { more_clear_headers Server Date; content_by_lua_block { ngx.say("b") } }
      location /c { more_clear_headers Date; return 404; }`,
    steps: [
      { request: 'GET /a', headers: { date: null, server: 'mine' }, body: 'a' },
      { request: 'GET /b', headers: { date: null, server: null }, body: 'b\n' },
      { request: 'GET /c', status: 404, headers: { date: null, server: /./ } },
    ],
  },
];
