// Lua code in files: lua_package_path with $prefix, *_by_lua_file paths holding variables, and
// nginx's "failed to load external Lua file" when one is missing.
export default [
  {
    name: 'lua_package_cpath: $prefix and ${prefix} are the server prefix',
    http: 'lua_package_cpath "$prefix/lf1/?.so;${prefix}lf1b/?.so;;";',
    server: `location /t { content_by_lua_block {
      local p = ngx.config.prefix()
      local a, b = package.cpath:find(p .. "/lf1/?.so;", 1, true), package.cpath:find(p .. "lf1b/?.so;", 1, true)
      ngx.say(a == 1, " ", b ~= nil, " ", package.cpath:find("$prefix", 1, true))
    } }`,
    body: 'true true nil\n',
  },
  {
    name: 'set_by_lua_file with a variable in its path',
    files: { 'lf2/a.lua': 'return ngx.arg[1] + ngx.arg[2]\n' },
    server: 'location /t { set $path "lf2/a.lua"; set_by_lua_file $res $path $arg_a $arg_b; echo $res; }',
    request: 'GET /t?a=5&b=2',
    body: '7\n',
  },
  {
    name: 'set_by_lua_file with a missing file: 500 and "failed to load external Lua file"',
    server: 'location /t { set_by_lua_file $res lf3/none.lua; echo $res; }',
    request: 'GET /t',
    status: 500,
    log: [/\[error\] .*failed to load external Lua file ".*lf3\/none\.lua": cannot open .*lf3\/none\.lua: No such file or directory/],
  },
];
