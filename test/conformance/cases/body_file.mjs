// Request bodies in temporary files: client_body_in_file_only (on keeps the file, clean removes
// it with the request), and bodies past client_body_buffer_size, with ngx.req.get_body_file.
const read = `local f = ngx.req.get_body_file() local h = f and io.open(f) local d = h and h:read("*a")`;

export default [
  {
    name: 'client_body_in_file_only on: no body data, a file that holds the body and stays',
    server: `client_body_in_file_only on; location /t { content_by_lua_block {
      ngx.req.read_body() ${read}
      ngx.say(ngx.req.get_body_data(), " ", d, " ", f ~= nil)
    } log_by_lua_block { local f = ngx.req.get_body_file() ngx.log(ngx.WARN, "kept: ", io.open(f) ~= nil) } }`,
    request: { line: 'POST /t', body: 'in a file' },
    body: 'nil in a file true\n',
    log: [/\[warn\] .*kept: true/],
  },
  {
    name: 'client_body_in_file_only clean: the file is there while the request runs',
    server: `client_body_in_file_only clean; location /t { content_by_lua_block {
      ngx.req.read_body() ${read}
      ngx.say(d)
    } }`,
    request: { line: 'POST /t', body: 'clean one' },
    body: 'clean one\n',
  },
  {
    name: 'client_body_in_file_only with no body: no file',
    server: `client_body_in_file_only on; location /t { content_by_lua_block {
      ngx.req.read_body() ngx.say(ngx.req.get_body_file())
    } }`,
    request: 'GET /t',
    body: 'nil\n',
  },
  {
    name: 'a body past client_body_buffer_size goes to a file, with nginx\'s warning',
    server: `client_body_buffer_size 1k; location /t { content_by_lua_block {
      ngx.req.read_body() ${read}
      ngx.say(ngx.req.get_body_data(), " ", #d)
    } }`,
    request: { line: 'POST /t', body: 'x'.repeat(3000) },
    body: 'nil 3000\n',
    log: [/\[warn\] .*a client request body is buffered to a temporary file \S+\/\d{10}, client: 127\.0\.0\.1/],
  },
  {
    name: 'conf: client_body_in_file_only takes on, off or clean',
    server: 'location /t { client_body_in_file_only sometimes; }',
    conf_error: /\[emerg\] (\d+#\d+: )?invalid value "sometimes" in \S+\/conf\/nginx\.conf:\d+/,
  },
];
