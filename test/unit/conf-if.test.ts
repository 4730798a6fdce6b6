// The rewrite module's `if` and `break`, the unknown-variable check and absolute redirects:
// loading (conf side) and running (src/http/rewrite.ts) them. Expected behaviour was checked
// against the reference nginx 1.22.1 + lua-nginx-module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfError, loadConf, type LocationConf, type MainConf, type RewriteStmt, type ServerConf } from '../../src/conf/index.js';
import { isBuiltinVar } from '../../src/conf/varnames.js';
import { HeadersOut, type RequestCtx } from '../../src/core/request.js';
import { absoluteRedirect, runRewriteStmts, type RewriteHost } from '../../src/http/rewrite.js';

function load(http: string): MainConf {
  const dir = mkdtempSync(join(tmpdir(), 'ngxlua-conf-if-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf/nginx.conf'), `events {}\nhttp {\n${http}\n}\n`);
  return loadConf({ prefix: dir, confFile: 'conf/nginx.conf' });
}

function loadErr(http: string): string {
  try {
    load(http);
  } catch (e) {
    assert.ok(e instanceof ConfError, String(e));
    return e.message.replace(/ in \/\S+:(\d+)$/, ' in F:$1');
  }
  return 'OK';
}

// ---- loading ------------------------------------------------------------------------

test('if: conditions as nginx parses them', () => {
  const c = load(`server { location / {
    if ($arg_a) { }
    if ( $arg_a = "x y" ) { }
    if ($arg_a != x) { }
    if ($arg_a ~ ^a(\\d)$) { }
    if ($http_x !~* B) { }
    if (!-f $request_filename) { }
    if (-d "/tmp") { }
  } }`);
  const stmts = c.http!.servers[0].locations[0].rewrite;
  const conds = stmts.map((s) => (s.op === 'if' ? s.cond : null));
  assert.deepEqual(conds[0], { kind: 'var', name: 'arg_a' });
  assert.equal(conds[1]!.kind, 'eq');
  assert.ok(conds[1]!.kind === 'eq' && conds[1]!.value.raw === 'x y' && !conds[1]!.negate);
  assert.ok(conds[2]!.kind === 'eq' && conds[2]!.negate);
  assert.ok(conds[3]!.kind === 'regex' && !conds[3]!.negate && conds[3]!.regex.test('a5') && !conds[3]!.regex.test('A5'));
  assert.ok(conds[4]!.kind === 'regex' && conds[4]!.negate && conds[4]!.regex.test('b'));
  assert.ok(conds[5]!.kind === 'file' && conds[5]!.test === 'f' && conds[5]!.negate);
  assert.ok(conds[6]!.kind === 'file' && conds[6]!.test === 'd' && conds[6]!.path.raw === '/tmp');
});

test('if: condition errors', () => {
  const at = (msg: string) => `ngxlua: [emerg] ${msg} in F:4`;
  const w = (s: string) => loadErr(`server {\nlocation / { ${s} }\n}`);
  assert.equal(w('if ($arg_a == 1) { }'), at('unexpected "==" in condition'));
  assert.equal(w('if ($arg_a = 1 { }'), at('invalid condition "1"'));
  assert.equal(w('if (-q /x) { }'), at('invalid condition "-q"'));
  assert.equal(w('if (x) { }'), at('invalid condition "x"'));
  assert.equal(w('if ($arg_a ~ "(") { }'), at('pcre2_compile() failed: missing closing parenthesis in "("'));
  assert.equal(w('if ($arg_a) { location /x { } }'), at('"location" directive is not allowed here'));
  assert.equal(w('if ($arg_a) return 200;'), at('directive "if" has no opening "{"'));
  assert.equal(loadErr('server { if ($arg_a) { content_by_lua_block { } } }'), 'ngxlua: [emerg] "content_by_lua_block" directive is not allowed here in F:3');
});

test('if in a location: its conf merges the location and what is inside', () => {
  const c = load(`server { location /t {
    lua_need_request_body on;
    content_by_lua_block { ngx.say("outer") }
    if ($arg_a) { lua_need_request_body off; set $v 1; }
    if ($arg_b) { content_by_lua_block { ngx.say("inner") } if ($arg_c) { return 204; } }
  } }`);
  const loc = c.http!.servers[0].locations[0];
  const [i1, i2] = loc.rewrite as Array<Extract<RewriteStmt, { op: 'if' }>>;
  assert.equal(i1.conf!.settings.luaNeedRequestBody, false);
  assert.equal(i1.conf!.handlers.content, loc.handlers.content, 'content handler stays the location one');
  assert.deepEqual(i1.body.map((s) => s.op), ['set']);
  assert.notEqual(i2.conf!.handlers.content, loc.handlers.content);
  assert.equal(i2.conf!.settings.luaNeedRequestBody, true);
  const nested = i2.body[0];
  assert.ok(nested.op === 'if');
  assert.equal(nested.conf!.handlers.content, i2.conf!.handlers.content, 'a nested if inherits from the outer if');
  assert.deepEqual(c.http!.servers[0].locations.length, 1, 'an if is not a location to match');
});

test('server-level if has no conf of its own; break', () => {
  const c = load('server { if ($arg_a) { return 403; break; } break; }');
  const s = c.http!.servers[0];
  assert.deepEqual(s.rewrite.map((x) => x.op), ['if', 'break']);
  const i = s.rewrite[0];
  assert.ok(i.op === 'if' && i.conf === undefined);
  assert.ok(i.op === 'if' && i.body.map((x) => x.op).join() === 'return,break');
});

test('unknown variables are refused after the whole conf is read', () => {
  assert.equal(loadErr('server { location /t { return 200 "$no_such_var_xyz"; } }'), 'ngxlua: [emerg] unknown "no_such_var_xyz" variable');
  assert.equal(loadErr('server { location /t { if ($foo) { return 200; } } }'), 'ngxlua: [emerg] unknown "foo" variable');
  assert.equal(loadErr('server { location /t { rewrite ^ /$nope; } }'), 'ngxlua: [emerg] unknown "nope" variable');
  assert.equal(loadErr('server { location /t { set_by_lua $x "return 1" $zz; } }'), 'ngxlua: [emerg] unknown "zz" variable');
  // declared later in the file, by another server, or by set_by_lua: fine
  assert.equal(loadErr('server { location /t { return 200 "$later $lx"; } } server { listen 81; set $later 1; set_by_lua_block $lx { return 1 } }'), 'OK');
  // builtins, prefixes, captures, ${} and case
  assert.equal(loadErr('server { location ~ (x) { return 200 "$1 $arg_a $http_x_y $cookie_c $sent_http_x $upstream_http_x ${URI}x $Request_Uri"; } }'), 'OK');
  assert.ok(isBuiltinVar('binary_remote_addr'));
  assert.ok(!isBuiltinVar('no_such'));
});

test('absolute_redirect, server_name_in_redirect, port_in_redirect', () => {
  const c = load(`server { location / { } location /a { absolute_redirect off; } location /s { server_name_in_redirect on; port_in_redirect off; } }`);
  const [d, a, s] = c.http!.servers[0].locations;
  assert.deepEqual([d.settings.absoluteRedirect, d.settings.serverNameInRedirect, d.settings.portInRedirect], [true, false, true]);
  assert.equal(a.settings.absoluteRedirect, false);
  assert.deepEqual([s.settings.serverNameInRedirect, s.settings.portInRedirect], [true, false]);
  assert.equal(loadErr('server { absolute_redirect maybe; }'), 'ngxlua: [emerg] invalid value "maybe" in "absolute_redirect" directive, it must be "on" or "off" in F:3');
});

// ---- running --------------------------------------------------------------------------

interface Fake {
  r: RequestCtx;
  calls: string[];
  host: RewriteHost;
}

function fakeReq(server: ServerConf, loc: LocationConf | null, uri: string, args = '', host = 'example.com', port = 8080): Fake {
  const calls: string[] = [];
  const r = {
    req: { headers: [['Host', host]], host, serverAddr: '127.0.0.1', serverPort: port, method: 'GET', requestUri: uri, protocol: 'HTTP/1.1' },
    server,
    loc,
    uri,
    args,
    vars: null,
    captures: undefined,
    headersOut: new HeadersOut(),
  } as unknown as RequestCtx;
  const hostImpl: RewriteHost = {
    finalize: (_r, status) => void calls.push(`finalize ${status} ${r.headersOut.get('location').join()}`),
    respond: (_r, code, text) => void calls.push(`respond ${code} ${text ?? '-'}`),
    runSetByLua: () => void calls.push('set_by_lua'),
  };
  return { r, calls, host: hostImpl };
}

const SRV = `server { listen 8080; server_name srv.example;
  location /t {
    set $r "start";
    if ($arg_x ~* ^AB(\\d)$) { set $r "$r-cap$1"; }
    if ($arg_y) { break; }
    if ($arg_z != "") { rewrite ^ /other; }
    set $r "$r-end";
    if (-d /) { set $r "$r-dir"; }
    if (!-f /nonexistent/file) { set $r "$r-nofile"; }
    if ($arg_c = 1) { lua_need_request_body on; }
  }
  location /red { if ($arg_a) { return 302 /x?y; } rewrite ^ /z permanent; }
  location /444 { return 444; }
  location /sn { server_name_in_redirect on; port_in_redirect off; return 301 /n; }
}`;

function run(uri: string, args = '', host?: string, port?: number): { f: Fake; out: string; v: string | undefined } {
  const c = load(SRV);
  const s = c.http!.servers[0];
  const loc = s.locations.find((l) => uri.startsWith(l.pattern))!;
  const f = fakeReq(s, loc, uri, args, host, port);
  const out = runRewriteStmts(f.host, f.r, loc.rewrite);
  return { f, out, v: f.r.vars?.get('r') };
}

test('if/break/rewrite run as on the reference', () => {
  assert.deepEqual([run('/t', 'x=ab7').out, run('/t', 'x=ab7').v], ['next', 'start-cap7-end-dir-nofile']);
  assert.deepEqual([run('/t', 'x=ab7&y=1').out, run('/t', 'x=ab7&y=1').v], ['next', 'start-cap7']);
  const z = run('/t', 'z=1');
  assert.deepEqual([z.out, z.v, z.f.r.uri], ['restart', 'start-end-dir-nofile', '/other']);
  const y0 = run('/t', 'y=0');
  assert.equal(y0.v, 'start-end-dir-nofile', '"0" is false');
  const cc = run('/t', 'c=1');
  assert.equal(cc.f.r.loc!.settings.luaNeedRequestBody, true, 'a true location if switches the conf');
  assert.equal(run('/t', 'c=2').f.r.loc!.settings.luaNeedRequestBody, false);
});

test('relative redirects become absolute', () => {
  assert.deepEqual(run('/red', 'a=1').f.calls, ['respond 302 http://example.com:8080/x?y']);
  assert.deepEqual(run('/red', '', 'hx', 80).f.calls, ['finalize 301 http://hx/z']);
  assert.deepEqual(run('/red', '', '').f.calls, ['finalize 301 http://127.0.0.1:8080/z'], 'no Host: the local address');
  assert.deepEqual(run('/sn').f.calls, ['respond 301 http://srv.example/n']);
  assert.deepEqual(run('/444').f.calls, ['finalize 444 ']);
  const f = fakeReq(load(SRV).http!.servers[0], null, '/');
  assert.equal(absoluteRedirect(f.r, 'http://else/x'), 'http://else/x');
  assert.equal(absoluteRedirect(f.r, 'rel'), 'rel');
});
