// Connection and size variables: $connection_requests, $request_length, $bytes_sent and
// $body_bytes_sent (read in the log phase, once the response is out).
import { lua } from '../lib.mjs';

export default [
  {
    name: '$connection_requests counts the requests of a keep-alive connection',
    server: lua('ngx.say(ngx.var.connection_requests)'),
    steps: [
      { request: 'GET /t', body: '1\n' },
      { request: 'GET /t', body: '2\n' },
      { request: 'GET /t', body: '3\n' },
    ],
  },
  {
    name: 'a subrequest is on its parent\'s connection: $connection and $connection_requests',
    server: `location /sub { content_by_lua_block { ngx.print(ngx.var.connection, " ", ngx.var.connection_requests) } }
      location /t { content_by_lua_block {
        local r = ngx.location.capture("/sub")
        ngx.say(r.body == ngx.var.connection .. " " .. ngx.var.connection_requests, " ", ngx.var.connection_requests)
      } }`,
    steps: [
      { request: 'GET /t', body: 'true 1\n' },
      { request: 'GET /t', body: 'true 2\n' },
    ],
  },
  {
    name: 'a subrequest logs with its connection\'s number',
    server: `location /sub { content_by_lua_block { ngx.log(ngx.ERR, "sub conn ", ngx.var.connection) } }
      location /t { content_by_lua_block { ngx.location.capture("/sub") ngx.say("ok") } }`,
    body: 'ok\n',
    log: [/\*(\d+) \[lua\] .*sub conn \1, client: 127\.0\.0\.1, .*subrequest: "\/sub"/],
  },
  {
    name: '$request_length is the head as received plus the body read',
    server: lua('ngx.req.read_body() ngx.say(ngx.var.request_length)'),
    request: { raw: 'POST /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello' },
    body: '61\n',
  },
  {
    name: '$bytes_sent and $body_bytes_sent in the log phase',
    server: 'location /t { return 200 "0123456789"; log_by_lua_block { ngx.log(ngx.WARN, "sent ", ngx.var.body_bytes_sent, " ", tonumber(ngx.var.bytes_sent) > 10) } }',
    status: 200,
    log: [/\[warn\] .*sent 10 true/],
  },
];
