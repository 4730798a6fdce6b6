// Conf lexer/parser/loader tests. Every error message below was checked against the
// reference nginx 1.22.1 (+ lua-nginx-module) with `nginx -t`; the reference prints `nginx:`
// and a pid where we print `ngxlua:`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfError,
  DEFAULT_LUA_CPATH,
  DEFAULT_LUA_PATH,
  IGNORED_DIRECTIVES,
  compileTemplate,
  loadConf,
  parseSize,
  parseTime,
  parseTree,
  type MainConf,
} from '../../src/conf/index.js';

function prefixWith(conf: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ngxlua-conf-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf/nginx.conf'), conf);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function load(conf: string, files?: Record<string, string>, globals?: string): MainConf {
  return loadConf({ prefix: prefixWith(conf, files), confFile: 'conf/nginx.conf', globals });
}

/** The error for a conf, with the conf path replaced by F. */
function err(conf: string, files?: Record<string, string>, globals?: string): string {
  const dir = prefixWith(conf, files);
  try {
    loadConf({ prefix: dir, confFile: 'conf/nginx.conf', globals });
  } catch (e) {
    assert.ok(e instanceof ConfError, String(e));
    return e.message.split(join(dir, 'conf/nginx.conf')).join('F').split(dir).join('P');
  }
  return 'OK';
}

const E = (msg: string, line: number): string => `ngxlua: [emerg] ${msg} in F:${line}`;

// ---- lexing ---------------------------------------------------------------------------

test('words, quotes and escapes', () => {
  const t = parseTree(`a "b c" 'd\\'e' f\\ g "h\\"i" "j\\nk\\tl\\rm" "\\\\" "\\d" x#y; # comment\nz;`);
  assert.deepEqual(t[0].args, ['b c', "d'e", 'f\\ g', 'h"i', 'j\nk\tl\rm', '\\', '\\d', 'x#y']);
  assert.equal(t[1].name, 'z');
  assert.equal(t[1].line, 2);
  assert.equal(t[0].words[1].quoted, true);
  assert.equal(t[0].words[3].quoted, false);
});

test('${var} in an unquoted word does not open a block; } is part of a word', () => {
  const t = parseTree('set $a ${b}c; x a}b;');
  assert.deepEqual(t[0].args, ['$a', '${b}c']);
  assert.deepEqual(t[1].args, ['a}b']);
});

test('a directive reports the line of its terminator', () => {
  const t = parseTree('a\n b\n ;\nc {\n}\n');
  assert.equal(t[0].line, 3);
  assert.equal(t[1].line, 4);
});

test('lua blocks: braces in strings, comments, long strings and tables', () => {
  const code = `
    local t = { a = { "}" }, b = '{', c = "\\"}" }  -- }
    --[[ } ]] --[==[ { ]] } ]==]
    local s = [[ } ]] .. [=[ ]] } ]=]
    ngx.say('}', "{")
  `;
  const t = parseTree(`content_by_lua_block {${code}}\nnext 1;`);
  assert.equal(t[0].lua!.code, code);
  assert.equal(t[0].lua!.line, 1);
  assert.equal(t[1].name, 'next');
  assert.equal(t[1].line, 7);
});

test('lua block: an unterminated short string does not swallow the block', () => {
  // ngx_lua's scanner treats a quote with no closing quote on its line as a lone character
  const t = parseTree('x_by_lua_block { a = " }\ny 1;');
  assert.equal(t[0].lua!.code, ' a = " ');
  assert.equal(t[1].name, 'y');
});

test('lexer errors', () => {
  assert.equal(err('events {}\nhttp { server { listen 8080; } } }\n'), E('unexpected "}"', 2));
  assert.equal(err('events {}\nhttp { server { listen 8080; }\n'), E('unexpected end of file, expecting "}"', 3));
  assert.equal(err('events {}\nhttp { server { listen 8080 } }\n'), E('unexpected "}"', 2));
  assert.equal(err('events {}\nhttp { server { listen 8080\n'), E('unexpected end of file, expecting ";" or "}"', 3));
  assert.equal(err('events {}\nhttp { server { listen 8080 "abc\\"\n'), E('unexpected end of file, expecting ";" or "}"', 3));
  assert.equal(err('events {}\nhttp { server { listen "8080"x; } }\n'), E('unexpected "x"', 2));
  assert.equal(err('events {}\nhttp { "a"b; }\n'), E('unexpected "b"', 2));
  assert.equal(err('events {}\nhttp { ; }\n'), E('unexpected ";"', 2));
  assert.equal(err('events {}\nhttp { {} }\n'), E('unexpected "{"', 2));
  assert.equal(err('master_process on'), E('unexpected end of file, expecting ";" or "}"', 1));
});

test('lua block errors', () => {
  assert.equal(
    err('events {}\nhttp { server { location /a { content_by_lua_block { "}"\n'),
    E('unexpected end of file, expecting terminating characters for lua code block', 2),
  );
  assert.equal(
    err('events {}\nhttp { server { location /a { content_by_lua_block {\n a = [==[\n ]=]\n }\n }\n }\n'),
    E('Lua code block missing the closing long bracket "]==]", the inlined Lua code may be too long', 3),
  );
  assert.equal(
    err('events {}\nhttp { server { location /a { content_by_lua_block {\n a = "\n }\n }\n }\n'),
    E('unexpected end of file, expecting "}"', 7),
  );
  assert.equal(err('events {}\nhttp { server { location /a { content_by_lua_block { } ; } } }\n'), E('unexpected ";"', 2));
  assert.equal(err('events {}\nhttp { server { location / { content_by_lua_block x { ngx.say(1) } } } }\n'), E('invalid number of arguments in "content_by_lua_block" directive', 2));
  assert.equal(err('events {}\nhttp { server { location / { content_by_lua_block ; } } }\n'), E('directive "content_by_lua_block" has no opening "{"', 2));
  assert.equal(err('events {}\nhttp { server { location / { foo_by_lua_block { "}" } } } }\n'), E('unknown directive "foo_by_lua_block"', 2));
});

// ---- directive checks -------------------------------------------------------------------

test('generic directive errors', () => {
  assert.equal(err('events {}\nhttp { foo 1; }\n'), E('unknown directive "foo"', 2));
  assert.equal(err('events {}\nhttp { foo\n bar\n ; }\n'), E('unknown directive "foo"', 4));
  assert.equal(err('events {}\nhttp { a"b"; }\n'), E('unknown directive "a"b""', 2));
  assert.equal(err('events {}\nhttp { server { location / { listen 80; } } }\n'), E('"listen" directive is not allowed here', 2));
  assert.equal(err('events {}\nhttp { server { set $x 1; } set $y 2; }\n'), E('"set" directive is not allowed here', 2));
  assert.equal(err('events {}\nhttp { server { location / { init_by_lua_block {} } } }\n'), E('"init_by_lua_block" directive is not allowed here', 2));
  assert.equal(err('events {}\nhttp { server { content_by_lua_block { } } }\n'), E('"content_by_lua_block" directive is not allowed here', 2));
  assert.equal(err('worker_connections 10;\n'), E('"worker_connections" directive is not allowed here', 1));
  assert.equal(err('events {}\nhttp { server { listen; } }\n'), E('invalid number of arguments in "listen" directive', 2));
  assert.equal(err('worker_processes 1 2;\n'), E('invalid number of arguments in "worker_processes" directive', 1));
  assert.equal(err('events {}\nhttp { server "x" { } }\n'), E('invalid number of arguments in "server" directive', 2));
  assert.equal(err('events {}\nhttp { sendfile on { } }\n'), E('directive "sendfile" is not terminated by ";"', 2));
  assert.equal(err('events {}\nhttp { server ; }\n'), E('directive "server" has no opening "{"', 2));
  assert.equal(err('events {}\nevents {}\n'), E('"events" directive is duplicate', 2));
  assert.equal(err('events {}\nhttp {} http {}\n'), E('"http" directive is duplicate', 2));
  assert.equal(err('events { worker_connections 10; worker_connections 10; }\n'), E('"worker_connections" directive is duplicate', 1));
  assert.equal(err('events {}\nhttp { sendfile on; sendfile on; }\n'), E('"sendfile" directive is duplicate', 2));
  assert.equal(err('events {}\nhttp { lua_package_path "a"; lua_package_path "b"; }\n'), E('"lua_package_path" directive is duplicate', 2));
});

test('value errors', () => {
  assert.equal(err('worker_processes abc;\n'), E('"worker_processes" directive invalid value', 1));
  assert.equal(err('daemon maybe;\n'), E('invalid value "maybe" in "daemon" directive, it must be "on" or "off"', 1));
  assert.equal(err('events {}\nhttp { lua_code_cache maybe; }\n'), E('invalid value "maybe" in "lua_code_cache" directive, it must be "on" or "off"', 2));
  assert.equal(err('events {}\nhttp { keepalive_timeout abc; }\n'), E('"keepalive_timeout" directive invalid value', 2));
  assert.equal(err('events {}\nhttp { keepalive_timeout 1 2 3; }\n'), E('invalid number of arguments in "keepalive_timeout" directive', 2));
  assert.equal(err('events {}\nhttp { client_max_body_size 1x; }\n'), E('"client_max_body_size" directive invalid value', 2));
  assert.equal(err('events {}\nhttp { lua_max_pending_timers x; }\n'), E('"lua_max_pending_timers" directive invalid number', 2));
  assert.equal(err('events {}\nhttp { lua_socket_connect_timeout x; }\n'), E('"lua_socket_connect_timeout" directive invalid value', 2));
  assert.equal(err('events {}\nhttp { lua_socket_buffer_size x; }\n'), E('"lua_socket_buffer_size" directive invalid value', 2));
  assert.equal(err('events {}\nhttp { lua_socket_pool_size x; }\n'), E('"lua_socket_pool_size" directive invalid number', 2));
  assert.equal(err('events {}\nhttp { large_client_header_buffers 4 1x; }\n'), E('"large_client_header_buffers" directive invalid value', 2));
  assert.equal(err('events {}\nhttp { server_tokens x; }\n'), E('invalid value "x"', 2));
  assert.equal(err('error_log a b;\n'), E('invalid log level "b"', 1));
  assert.equal(err('events {}\nhttp { error_page 99 /x; }\n'), E('value "99" must be between 300 and 599', 2));
  assert.equal(err('events {}\nhttp { error_page 404 =x /x; }\n'), E('invalid value "=x"', 2));
  assert.equal(err('events {}\nhttp { lua_shared_dict x 1x; }\n'), E('invalid lua shared dict size "1x"', 2));
  assert.equal(err('events {}\nhttp { lua_shared_dict x 1k; }\n'), E('invalid lua shared dict size "1k"', 2));
  assert.equal(
    err('events {}\nhttp { lua_shared_dict x 8k; lua_shared_dict x 1m; }\n'),
    E('the size 1048576 of shared memory zone "x" conflicts with already declared size 8192', 2),
  );
  assert.equal(err('events {}\nhttp { lua_shared_dict x 1m; lua_shared_dict x 1m; }\n'), E('lua_shared_dict "x" is already defined as "x"', 2));
});

test('listen errors', () => {
  assert.equal(err('events {}\nhttp { server { listen abc; } }\n'), E('host not found in "abc" of the "listen" directive', 2));
  assert.equal(err('events {}\nhttp { server { listen\n abc\n ; } }\n'), E('host not found in "abc" of the "listen" directive', 4));
  assert.equal(err('events {}\nhttp { server { listen 99999; } }\n'), E('invalid port in "99999" of the "listen" directive', 2));
  assert.equal(err('events {}\nhttp { server { listen [::1]:8080 foo; } }\n'), E('invalid parameter "foo"', 2));
  assert.equal(err('events {}\nhttp { server { listen 1; listen 1; } }\n'), E('a duplicate listen 0.0.0.0:1', 2));
  assert.equal(
    err('events {}\nhttp { server { listen 8080 default_server; }\nserver { listen 8080 default_server; } }\n'),
    E('a duplicate default server for 0.0.0.0:8080', 3),
  );
});

test('location errors', () => {
  assert.equal(err('events {}\nhttp { server { location / {}\nlocation ^~ / {}\n } }\n'), E('duplicate location "/"', 3));
  assert.equal(err('events {}\nhttp { server { location = / {} location = / {} } }\n'), E('duplicate location "/"', 2));
  assert.equal(load('events {}\nhttp { server { location ~ / {} location ~ / {} location = / {} location / {} } }\n').http!.servers[0].locations.length, 4);
  assert.equal(err('events {}\nhttp { server { location a b c {} } }\n'), E('invalid number of arguments in "location" directive', 2));
  assert.equal(err('events {}\nhttp { server { location ^^ b {} } }\n'), E('invalid location modifier "^^"', 2));
  assert.equal(err('events {}\nhttp { server { location @a; } }\n'), E('directive "location" has no opening "{"', 2));
  assert.equal(err('events {}\nhttp { server { location @a { location /x {} } } }\n'), E('location "/x" cannot be inside the named location "@a"', 2));
  assert.equal(err('events {}\nhttp { server { location = /a { location /x {} } } }\n'), E('location "/x" cannot be inside the exact location "/a"', 2));
  assert.equal(err('events {}\nhttp { server { location /a { location /x {} } } }\n'), E('location "/x" is outside location "/a"', 2));
  assert.equal(err('events {}\nhttp { server { location ~* a { location ^~ /x {} } } }\n'), E('location "/x" is outside location "a"', 2));
  assert.equal(err('events {}\nhttp { server { location /a { location @b {} } } }\n'), E('named location "@b" can be on the server level only', 2));
  assert.equal(err('events {}\nhttp { server { location ~ [a {} } }\n'), E('pcre2_compile() failed: missing terminating ] for character class in "[a"', 2));
  assert.equal(err('events {}\nhttp { server { location ~ *a {} } }\n'), E('pcre2_compile() failed: quantifier does not follow a repeatable item in "*a" at "*a"', 2));
});

test('rewrite-module errors', () => {
  assert.equal(err('events {}\nhttp { server { return abc; } }\n'), E('invalid return code "abc"', 2));
  assert.equal(err('events {}\nhttp { server { return 1000; } }\n'), E('invalid return code "1000"', 2));
  assert.equal(err('events {}\nhttp { server { location / { return 200 a b; } } }\n'), E('invalid number of arguments in "return" directive', 2));
  assert.equal(err('events {}\nhttp { server { location / { rewrite a b c; } } }\n'), E('invalid parameter "c"', 2));
  assert.equal(err('events {}\nhttp { server { location / { rewrite a b last c; } } }\n'), E('invalid number of arguments in "rewrite" directive', 2));
  assert.equal(err('events {}\nhttp { server { rewrite ^(.* /x; } }\n'), E('pcre2_compile() failed: missing closing parenthesis in "^(.*"', 2));
  assert.equal(err('events {}\nhttp { server { rewrite a) /x; } }\n'), E('pcre2_compile() failed: unmatched closing parenthesis in "a)" at ")"', 2));
  assert.equal(err('events {}\nhttp { server { set x 1; } }\n'), E('invalid variable name "x"', 2));
  assert.equal(err('events {}\nhttp { server { set $ 1; } }\n'), E('invalid variable name "$"', 2));
  assert.equal(err('events {}\nhttp { server { set $x "a${b"; } }\n'), E('the closing bracket in "b" variable is missing', 2));
  assert.equal(err('events {}\nhttp { server { set $x "a$"; } }\n'), E('invalid variable name', 2));
  assert.equal(err('events {}\nhttp { server { location / { set_by_lua_block x { return 1 } } } }\n'), E('invalid variable name "x"', 2));
  assert.equal(err('events {}\nhttp { server { location / { set_by_lua $x ; } } }\n'), E('invalid number of arguments in "set_by_lua" directive', 2));
  assert.equal(err('events {}\nhttp { server { location / { if ($arg_a == 1) { } } } }\n'), E('unexpected "==" in condition', 2));
  assert.equal(err('events {}\nhttp { server { location / { if ($arg_a = 1 { } } } }\n'), E('invalid condition "1"', 2));
  assert.equal(err('events {}\nhttp { server { location / { if (-q /x) { } } } }\n'), E('invalid condition "-q"', 2));
  assert.equal(err('events {}\nhttp { server { location / { if (x) { } } } }\n'), E('invalid condition "x"', 2));
  assert.equal(err('events {}\nhttp { server { location / { if ($arg_a) { location /x { } } } } }\n'), E('"location" directive is not allowed here', 2));
  assert.equal(err('events {}\nhttp { server { if ($arg_a) { content_by_lua_block { } } } }\n'), E('"content_by_lua_block" directive is not allowed here', 2));
  assert.equal(err('events {}\nhttp { server { location / { break x; } } }\n'), E('invalid number of arguments in "break" directive', 2));
});

test('lua handler duplicates and empty code', () => {
  assert.equal(err('events {}\nhttp { server { location / { content_by_lua_block { ngx.say("}") } content_by_lua_block { } } } }\n'), E('is duplicate', 2));
  assert.equal(err('events {}\nhttp { server { location / { content_by_lua "a"; content_by_lua "b"; } } }\n'), E('"content_by_lua" directive is duplicate', 2));
  assert.equal(err('events {}\nhttp { init_by_lua "a" ; init_by_lua "b" ; }\n'), E('"init_by_lua" directive is duplicate', 2));
  assert.equal(
    err('events {}\nhttp { server { location / { content_by_lua ""; } } }\n'),
    'ngxlua: [error] invalid location config: no runnable Lua code in F:2',
  );
  assert.equal(
    err('events {}\nhttp { server { location / { content_by_lua_block {} } } }\n'),
    'ngxlua: [error] invalid location config: no runnable Lua code in F:2',
  );
});

test('chunk names of included files as ngx_lua makes them: relative to the conf dir, .. kept, long names cut behind ...', () => {
  const long = 'a'.repeat(50) + '45.conf';
  const c = load('events {}\nhttp { server { listen 8003; include ../html/lua.conf; include ' + long + '; } }\n', {
    'html/lua.conf': 'location /t { content_by_lua_block { ngx.say(1) } }\n',
    ['conf/' + long]: 'location /v { content_by_lua_block { ngx.say(2) } }\n',
  });
  const [t, v] = c.http!.servers[0].locations;
  // each checked against the reference's error log for the same layout
  assert.equal(t.handlers.content!.chunkName, '=content_by_lua(../html/lua.conf:1)');
  assert.equal(v.handlers.content!.chunkName, '=content_by_lua(...aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa45.conf:1)');
});

test('include: relative to the conf dir, globs, missing files', () => {
  assert.equal(err('include nothere.conf;\n'), 'ngxlua: [emerg] open() "P/conf/nothere.conf" failed (2: No such file or directory) in F:1');
  assert.equal(err('events {}\ninclude nothere*.conf;\n'), 'OK');
  const c = load('events {}\nhttp {\n include sites/*.conf;\n}\n', {
    'conf/sites/b.conf': 'server { listen 8002; }\n',
    'conf/sites/a.conf': '\nserver { listen 8001; location / { content_by_lua_block { ngx.say(1) } } }\n',
    'conf/sites/c.txt': 'junk',
  });
  const s = c.http!.servers;
  assert.deepEqual(s.map((x) => x.listens[0].port), [8001, 8002]);
  const h = s[0].locations[0].handlers.content!;
  // as the reference names it: the path relative to the main conf's directory
  assert.equal(h.chunkName, '=content_by_lua(sites/a.conf:2)');
  assert.ok(h.file.endsWith('conf/sites/a.conf'));
  assert.equal(h.line, 2);
  // an error inside an included file names that file
  const dir = prefixWith('events {}\nhttp { include x.conf; }\n', { 'conf/x.conf': '\n\nfoo;\n' });
  assert.throws(() => loadConf({ prefix: dir, confFile: 'conf/nginx.conf' }), {
    message: `ngxlua: [emerg] unknown directive "foo" in ${join(dir, 'conf/x.conf')}:3`,
  });
});

test('-g globals are read first and reported "in command line"', () => {
  assert.equal(load('events {}\n', undefined, 'daemon off; master_process off;').daemon, false);
  assert.equal(err('events {}\n', undefined, 'daemon off; daemon on;'), 'ngxlua: [emerg] "daemon" directive is duplicate in command line');
  assert.equal(err('events {}\n', undefined, 'foo'), 'ngxlua: [emerg] unexpected end of parameter, expecting ";" in command line');
  assert.equal(err('daemon on;\nevents {}\n', undefined, 'daemon off;'), E('"daemon" directive is duplicate', 1));
});

// ---- the model ------------------------------------------------------------------------------

test('main-level settings and defaults', () => {
  const c = load('worker_processes 3;\nerror_log stderr warn;\nerror_log logs/e.log;\npid run/n.pid;\ndaemon off;\nenv FOO;\nevents { worker_connections 77; use epoll; multi_accept on; }\n');
  assert.equal(c.workerProcesses, 3);
  assert.equal(c.workerConnections, 77);
  assert.equal(c.daemon, false);
  assert.equal(c.masterProcess, true);
  assert.deepEqual(c.errorLogs, [
    { file: 'stderr', level: 'warn' },
    { file: join(c.prefix, 'logs/e.log'), level: 'error' },
  ]);
  assert.equal(c.pid, join(c.prefix, 'run/n.pid'));
  assert.ok(c.prefix.endsWith('/'));
  assert.deepEqual(c.env, ['FOO']);
  assert.equal(c.http, null);
  const d = load('events {}\n');
  assert.deepEqual(d.errorLogs, [{ file: join(d.prefix, 'logs/error.log'), level: 'error' }]);
  assert.equal(d.pid, join(d.prefix, 'logs/nginx.pid'));
  assert.equal(d.workerConnections, 512);
});

test('http settings merge http -> server -> location', () => {
  const c = load(`events {}
http {
  default_type application/octet-stream;
  keepalive_timeout 10s;
  client_max_body_size 2m;
  lua_socket_connect_timeout 500ms;
  error_page 404 /404.html;
  resolver 8.8.8.8 valid=30s;
  server {
    listen 8080;
    client_max_body_size 0;
    send_timeout 1m30s;
    location / {
      keepalive_timeout 0;
      error_page 500 =200 /err;
      location /x { lua_code_cache off; }
    }
    location /y { }
  }
}
`);
  const s = c.http!.servers[0];
  assert.equal(s.settings.defaultType, 'application/octet-stream');
  assert.equal(s.settings.keepaliveTimeout, 10_000);
  assert.equal(s.settings.clientMaxBodySize, 0);
  assert.equal(s.settings.sendTimeout, 90_000);
  assert.equal(s.settings.luaSocketConnectTimeout, 500);
  assert.deepEqual(s.settings.resolver, ['8.8.8.8']);
  const root = s.locations[0];
  assert.equal(root.settings.keepaliveTimeout, 0);
  assert.equal(root.settings.clientMaxBodySize, 0);
  assert.equal(root.settings.sendTimeout, 90_000);
  // error_page at a level replaces the inherited set
  assert.deepEqual([...root.settings.errorPages], [[500, { uri: '/err', overrideStatus: 200 }]]);
  assert.deepEqual([...s.locations[1].settings.errorPages], [[404, { uri: '/404.html' }]]);
  const nested = root.locations[0];
  assert.equal(nested.parent, root);
  assert.equal(nested.settings.luaCodeCache, false);
  assert.equal(nested.settings.keepaliveTimeout, 0);
  assert.equal(root.settings.luaCodeCache, true);
  // defaults
  assert.equal(s.settings.keepaliveRequests, 1000);
  assert.equal(s.settings.luaSocketPoolSize, 30);
  assert.equal(s.clientHeaderBufferSize, 1024);
  assert.deepEqual(s.largeClientHeaderBuffers, { num: 4, size: 8192 });
});

test('lua handlers: forms, chunk names, inheritance', () => {
  const c = load(`events {}
http {
  lua_package_path "/app/?.lua;;";
  lua_package_cpath "/app/?.so";
  lua_shared_dict cache 10m;
  init_by_lua_block { require "x" }
  init_worker_by_lua_file lua/w.lua;
  rewrite_by_lua_block { ngx.ctx.a = 1 }
  log_by_lua 'ngx.log(ngx.ERR, "x")';
  server {
    listen 8080;
    access_by_lua_file /abs/a.lua;
    location / {
      content_by_lua_block
      {
        ngx.say("hi")
      }
      location /n { }
    }
    location /s {
      rewrite_by_lua_block { }
      set $a "x\${host}y";
      set_by_lua_block $res { return ngx.arg[1] }
      set_by_lua $r2 'return ngx.arg[1] .. ngx.arg[2]' $a "lit";
      content_by_lua
        'ngx.say(1)'
      ;
    }
  }
}
`);
  const h = c.http!;
  assert.equal(h.luaPackagePath, `/app/?.lua;${DEFAULT_LUA_PATH};`);
  assert.equal(h.luaPackageCpath, '/app/?.so');
  assert.deepEqual([...h.sharedDicts], [['cache', 10 * 1024 * 1024]]);
  assert.equal(h.initByLua!.code, ' require "x" ');
  assert.equal(h.initByLua!.chunkName, '=init_by_lua(nginx.conf:6)');
  assert.equal(h.initWorkerByLua!.chunkName, '@' + join(c.prefix, 'lua/w.lua'));
  assert.equal(h.initWorkerByLua!.path, 'lua/w.lua');
  const s = h.servers[0];
  assert.equal(s.handlers.rewrite!.chunkName, '=rewrite_by_lua(nginx.conf:8)');
  assert.equal(s.handlers.log!.code, 'ngx.log(ngx.ERR, "x")');
  assert.equal(s.handlers.access!.chunkName, '@/abs/a.lua');
  assert.equal(s.handlers.content, undefined);
  const root = s.locations[0];
  // the chunk line is the line of the opening brace, as ngx_lua reports it
  assert.equal(root.handlers.content!.chunkName, '=content_by_lua(nginx.conf:15)');
  assert.equal(root.handlers.content!.code, '\n        ngx.say("hi")\n      ');
  assert.equal(root.handlers.access, s.handlers.access);
  assert.equal(root.handlers.rewrite, s.handlers.rewrite);
  const nested = root.locations[0];
  assert.equal(nested.handlers.content, undefined, 'content does not inherit');
  assert.equal(nested.handlers.log, s.handlers.log);
  const sl = s.locations[1];
  assert.notEqual(sl.handlers.rewrite, s.handlers.rewrite);
  assert.equal(sl.handlers.rewrite!.code, ' ');
  assert.equal(sl.handlers.content!.chunkName, '=content_by_lua(nginx.conf:27)');
  assert.deepEqual(sl.rewrite.map((r) => r.op), ['set', 'lua_set', 'lua_set']);
  const set = sl.rewrite[0];
  assert.ok(set.op === 'set');
  assert.deepEqual(set.value.parts, ['x', { v: 'host' }, 'y']);
  const ls = sl.rewrite[2];
  assert.ok(ls.op === 'lua_set');
  assert.equal(ls.handler.setVar, 'r2');
  assert.equal(ls.handler.chunkName, '=set_by_lua(nginx.conf:24)');
  assert.deepEqual(ls.handler.setArgs!.map((t) => t.raw), ['$a', 'lit']);
  assert.deepEqual([...h.declaredVars].sort(), ['a', 'r2', 'res']);
  assert.notEqual(root.handlers.content!.cacheKey, sl.handlers.content!.cacheKey);
  assert.equal(DEFAULT_LUA_CPATH.split(';')[0], './?.so');
});

test('listen, server_name, return and rewrite', () => {
  const c = load(`events {}
http {
  server {
    listen 127.0.0.1:8080 default_server reuseport;
    listen [::1]:8081;
    listen *:8082;
    listen localhost:8083;
    server_name Example.COM *.example.com ~^(?<sub>.+)\\.example\\.net$;
    return 301 https://example.com$request_uri;
    rewrite ^/old/(.*)$ /new/$1 last;
    rewrite ^/x http://y/;
    location = /r { return 204; }
    location = /u { return http://x/; }
    location = /t { return 200 "hi $host\\n"; }
  }
  server { }
}
`);
  const s = c.http!.servers[0];
  assert.deepEqual(
    s.listens.map((l) => [l.host, l.port, l.defaultServer]),
    [['127.0.0.1', 8080, true], ['::1', 8081, false], ['0.0.0.0', 8082, false], ['127.0.0.1', 8083, false]],
  );
  assert.deepEqual(s.serverNames, ['example.com', '*.example.com', '~^(?<sub>.+)\\.example\\.net$']);
  const [ret, rw1, rw2] = s.rewrite;
  assert.ok(ret.op === 'return' && rw1.op === 'rewrite' && rw2.op === 'rewrite');
  assert.equal(ret.code, 301);
  assert.deepEqual(ret.text!.parts, ['https://example.com', { v: 'request_uri' }]);
  assert.equal(rw1.flag, 'last');
  assert.deepEqual(rw1.replacement.parts, ['/new/', { v: '1' }]);
  assert.equal(rw1.regex.exec('/old/a/b')![1], 'a/b');
  assert.equal(rw2.flag, 'redirect');
  const codes = s.locations.map((l) => {
    const r = l.rewrite[0];
    return r.op === 'return' ? [r.code, r.text?.raw] : null;
  });
  assert.deepEqual(codes, [[204, undefined], [302, 'http://x/'], [200, 'hi $host\n']]);
  const other = c.http!.servers[1];
  assert.deepEqual(other.serverNames, ['']);
  assert.equal(other.listens.length, 1);
});

test('templates', () => {
  assert.deepEqual(compileTemplate('plain'), { raw: 'plain', parts: ['plain'], constant: true });
  assert.deepEqual(compileTemplate('$a-${b}c$12$_x').parts, [{ v: 'a' }, '-', { v: 'b' }, 'c', { v: '1' }, '2', { v: '_x' }]);
  assert.deepEqual(compileTemplate('/p/$uri?').parts, ['/p/', { v: 'uri' }, '?']);
});

test('times and sizes', () => {
  assert.equal(parseTime('10'), 10_000);
  assert.equal(parseTime('10s'), 10_000);
  assert.equal(parseTime('500ms'), 500);
  assert.equal(parseTime('1m'), 60_000);
  assert.equal(parseTime('1h 30m'), 5_400_000);
  assert.equal(parseTime('1d'), 86_400_000);
  assert.equal(parseTime('10x'), null);
  assert.equal(parseTime('1s1m'), null);
  assert.equal(parseTime(''), null);
  assert.equal(parseSize('8k'), 8192);
  assert.equal(parseSize('1M'), 1048576);
  assert.equal(parseSize('1g'), null);
  assert.equal(parseSize('1g', true), 1073741824);
  assert.equal(parseSize('x'), null);
});

test('accepted-and-ignored directives load', () => {
  assert.ok(IGNORED_DIRECTIVES.includes('access_log'));
  const c = load(`user nobody;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_rlimit_nofile 1024;
events { use epoll; }
http {
  types { text/html html htm; }
  log_format main '$remote_addr "$request"';
  access_log logs/access.log main;
  sendfile on; tcp_nopush on; tcp_nodelay on; gzip off; charset utf-8;
  root html; index index.html index.htm;
  lua_yield_everywhere on;
  lua_max_pending_timers 10; lua_max_running_timers 5;
}
`);
  assert.equal(c.http!.luaYieldEverywhere, true);
  assert.equal(c.http!.luaMaxPendingTimers, 10);
  assert.equal(c.http!.luaMaxRunningTimers, 5);
  assert.equal(c.workerRlimitNofile, 1024);
});
