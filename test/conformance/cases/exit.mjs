// ngx.exit / ngx.redirect in rewrite, access and content.
import { lua, errorPage } from '../lib.mjs';

const page = (status) => ({ status, headers: { 'content-type': 'text/html' }, body: errorPage(status) });

export default [
  {
    name: 'exit 200 with no output',
    server: lua(`ngx.exit(200) ngx.say("not reached")`),
    status: 200,
    body: '',
  },
  {
    name: 'exit 204',
    server: lua(`ngx.exit(204)`),
    status: 204,
    headers: { 'content-length': null, 'transfer-encoding': null },
    body: '',
  },
  { name: 'exit 301 gives the error page', server: lua(`ngx.exit(301)`), ...page(301) },
  { name: 'exit 404 gives the error page', server: lua(`ngx.exit(ngx.HTTP_NOT_FOUND)`), ...page(404) },
  { name: 'exit 500 gives the error page', server: lua(`ngx.exit(500)`), ...page(500), headers: { connection: 'close' } },
  { name: 'exit 503 gives the error page', server: lua(`ngx.exit(503)`), ...page(503) },
  {
    name: 'exit 302 with a Location header',
    server: lua(`ngx.header.Location = "/elsewhere" ngx.exit(302)`),
    statusLine: 'HTTP/1.1 302 Moved Temporarily',
    headers: { location: '/elsewhere' },
    body: /<title>302 Found<\/title>/,
  },
  {
    name: 'exit in rewrite skips content',
    server: `location /t { rewrite_by_lua_block { ngx.exit(403) } content_by_lua_block { ngx.say("content") } }`,
    ...page(403),
  },
  {
    name: 'exit in access skips content',
    server: `location /t { access_by_lua_block { ngx.exit(ngx.HTTP_UNAUTHORIZED) } content_by_lua_block { ngx.say("content") } }`,
    status: 401,
    body: /<title>401 Authorization Required<\/title>/,
  },
  {
    name: 'exit OK in rewrite continues to content',
    server: `location /t { rewrite_by_lua_block { ngx.ctx.r = 1 ngx.exit(ngx.OK) ngx.ctx.r = 2 } content_by_lua_block { ngx.say("content ", ngx.ctx.r) } }`,
    status: 200,
    body: 'content 1\n',
  },
  {
    name: 'exit OK in access continues to content',
    server: `location /t { access_by_lua_block { ngx.exit(ngx.OK) } content_by_lua_block { ngx.say("content") } }`,
    body: 'content\n',
  },
  {
    name: 'exit 200 in rewrite ends the request',
    server: `location /t { rewrite_by_lua_block { ngx.say("from rewrite") ngx.exit(200) } content_by_lua_block { ngx.say("content") } }`,
    body: 'from rewrite\n',
  },
  {
    name: 'exit ERROR in content closes without a response',
    server: lua(`ngx.exit(ngx.ERROR)`),
    noResponse: true,
  },
  {
    name: 'exit 444 closes the connection',
    server: lua(`ngx.exit(444)`),
    noResponse: true,
  },
  {
    name: 'exit after output keeps the sent status',
    server: lua(`ngx.say("partial") ngx.exit(404) ngx.say("not reached")`),
    status: 200,
    body: 'partial\n',
    log: ['attempt to set status 404 via ngx.exit after sending out the response status 200'],
  },
  {
    name: 'exit after flush with an error status',
    server: lua(`ngx.say("partial") ngx.flush(true) ngx.exit(500)`),
    status: 200,
    body: 'partial\n',
    log: ['attempt to set status 500 via ngx.exit after sending out the response status 200'],
  },
  {
    name: 'code after exit in content does not run',
    server: lua(`ngx.say("a") ngx.exit(ngx.OK) ngx.say("b")`),
    body: 'a\n',
  },
  {
    name: 'exit with a status set by ngx.status',
    server: lua(`ngx.status = 201 ngx.say("made") ngx.exit(ngx.HTTP_OK)`),
    status: 201,
    body: 'made\n',
  },
  {
    name: 'exit inside pcall still exits',
    server: lua(`local ok = pcall(ngx.exit, 403) ngx.say("not reached ", ok)`),
    ...page(403),
  },
  {
    name: 'exit from a nested function',
    server: lua(`local function deny() ngx.exit(410) end deny() ngx.say("no")`),
    status: 410,
    body: /410 Gone/,
  },
  {
    name: 'exit with a non-number is an error',
    server: lua(`ngx.exit("abc")`),
    status: 500,
    log: [/bad argument/],
  },
  {
    name: 'error_page applies to exit statuses',
    server: `error_page 404 /custom404;
      location = /custom404 { internal; content_by_lua_block { ngx.say("custom not found ", ngx.status) } }
      ${lua(`ngx.exit(404)`)}`,
    status: 404,
    body: 'custom not found 404\n',
  },
  {
    name: 'redirect defaults to 302',
    server: lua(`ngx.redirect("/there")`),
    status: 302,
    headers: { location: '/there' },
    body: errorPage(302),
  },
  {
    name: 'redirect with 301 and an absolute URL',
    server: lua(`ngx.redirect("http://example.com/x?y=1", 301)`),
    status: 301,
    headers: { location: 'http://example.com/x?y=1' },
  },
  {
    name: 'redirect with a bad status is an error',
    server: lua(`ngx.redirect("/x", 200)`),
    status: 500,
    log: [/only ngx\.HTTP_MOVED_TEMPORARILY, ngx\.HTTP_MOVED_PERMANENTLY, ngx\.HTTP_PERMANENT_REDIRECT, ngx\.HTTP_SEE_OTHER, and ngx\.HTTP_TEMPORARY_REDIRECT are allowed/],
  },
  {
    name: 'ngx.exit(201) in a header filter: 201 with an empty body and no type',
    server: `location = /t { content_by_lua_block { ngx.say("hi") } header_filter_by_lua_block { return ngx.exit(201) } }`,
    status: 201,
    headers: { 'content-type': null, 'content-length': '0' },
    body: '',
  },
  {
    name: 'ngx.exit(403) after the head went out with 403: nothing logged',
    server: `location /t { rewrite_by_lua_block { ngx.status = 403 ngx.send_headers() ngx.say("Hello World") ngx.exit(403) } }`,
    status: 403,
    body: 'Hello World\n',
    noLog: [/attempt to set status/],
  },
];
