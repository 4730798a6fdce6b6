// ngx.say / ngx.print / ngx.flush / ngx.eof
const lua = (code) => `location /t { content_by_lua_block { ${code} } }`;

export default [
  {
    name: 'say a string',
    server: lua(`ngx.say("hello")`),
    status: 200,
    headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked', 'content-length': null },
    body: 'hello\n',
  },
  {
    name: 'print a string has no newline',
    server: lua(`ngx.print("hello")`),
    status: 200,
    body: 'hello',
  },
  {
    name: 'say numbers',
    server: lua(`ngx.say(10/2, " ", 1/3, " ", 2^53)`),
    body: '5 0.33333333333333 9.007199254741e+15\n',
  },
  {
    name: 'say a nested array table',
    server: lua(`ngx.say({1, {}})`),
    body: '1\n',
  },
  {
    name: 'say a hash table is an error',
    server: lua(`ngx.say({a = 1})`),
    status: 500,
    log: [/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):1: bad argument #1 to 'say' \(non-array table found\)/],
  },
];
