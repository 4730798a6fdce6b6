// Location and server selection. The URI -> location table below was captured from the
// reference nginx 1.22.1 running the same locations (each returning its label).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findLocation,
  findNamedLocation,
  loadConf,
  normalizeHost,
  selectServer,
  type LocationConf,
  type MainConf,
} from '../../src/conf/index.js';

function load(conf: string): MainConf {
  const dir = mkdtempSync(join(tmpdir(), 'ngxlua-match-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf/nginx.conf'), conf);
  return loadConf({ prefix: dir, confFile: 'conf/nginx.conf' });
}

function label(l: LocationConf): string {
  const r = l.rewrite.find((x) => x.op === 'return');
  return r && r.op === 'return' ? r.text!.raw : '?';
}

const LOCS = `events {}
http {
  server {
    listen 18998;
    location / { return 200 "root"; }
    location = /exact { return 200 "exact"; }
    location /exact { return 200 "prefix-exact"; }
    location /images/ { return 200 "images"; }
    location ^~ /static/ { return 200 "static-noregex"; }
    location ~ \\.(gif|jpg)$ { return 200 "regex-img $1"; }
    location ~* \\.PNG$ { return 200 "regex-png-ci"; }
    location /a/ {
      location /a/b/ { return 200 "a-b"; }
      location ~ \\.txt$ { return 200 "a-regex-txt"; }
      location ^~ /a/c/ { return 200 "a-c-noregex"; }
      return 200 "a";
    }
    location ~ \\.txt$ { return 200 "outer-txt"; }
    location ~ ^/a/c/.*\\.gif$ { return 200 "outer-gif-ac"; }
    location ~ /regex/ {
      location ~ \\.x$ { return 200 "regex-nested-x"; }
      return 200 "regex";
    }
    location @named { return 200 "named"; }
  }
}
`;

test('location choice matches the reference', () => {
  const s = load(LOCS).http!.servers[0];
  const table: Array<[string, string]> = [
    ['/', 'root'],
    ['/exact', 'exact'],
    ['/exact/', 'prefix-exact'],
    ['/exactly', 'prefix-exact'],
    ['/images/a', 'images'],
    ['/images/a.gif', 'regex-img $1'],
    ['/static/a.gif', 'static-noregex'],
    ['/x.PNG', 'regex-png-ci'],
    ['/x.png', 'regex-png-ci'],
    ['/a/', 'a'],
    ['/a/b/x', 'a-b'],
    ['/a/b/x.txt', 'a-regex-txt'],
    ['/a/x.txt', 'a-regex-txt'],
    // a nested ^~ stops the nested regexes but not the enclosing level's
    ['/a/c/x.txt', 'outer-txt'],
    ['/a/c/x.gif', 'regex-img $1'],
    ['/a/b/x.gif', 'regex-img $1'],
    ['/regex/y', 'regex'],
    ['/regex/y.x', 'regex-nested-x'],
    ['/b.txt', 'outer-txt'],
    ['/@named', 'root'],
  ];
  // the second round gets what the first one left in the server's cache
  for (let round = 0; round < 2; round++) {
    for (const [uri, want] of table) {
      const m = findLocation(s, uri);
      assert.ok(m, uri);
      assert.equal(label(m.loc), want, uri);
    }
  }
});

test('a regex match is made anew for each request: its captures are its own', () => {
  const s = load(`events {}
http { server {
  location ~ ^/u/(\\w+)$ { }
  location /p/ { }
} }
`).http!.servers[0];
  const a = findLocation(s, '/u/bob')!;
  a.captures![1] = 'changed';
  assert.deepEqual(findLocation(s, '/u/bob')!.captures, ['/u/bob', 'bob']);
  assert.equal(findLocation(s, '/p/x'), findLocation(s, '/p/x'));
  assert.equal(findLocation(s, '/none'), null);
  assert.equal(findLocation(s, '/none'), null);
});

test('regex captures, named captures and no match', () => {
  const c = load(`events {}
http { server {
  location ~ ^/u/(?<user>\\w+)/(\\d+)$ { }
  location ~ ^/p/(?P<name>[a-z]+)(x)?$ { }
  location /only/ { }
} }
`);
  const s = c.http!.servers[0];
  const m = findLocation(s, '/u/bob/42')!;
  assert.deepEqual(m.captures, ['/u/bob/42', 'bob', '42']);
  assert.deepEqual(m.named, { user: 'bob' });
  const p = findLocation(s, '/p/abc')!;
  assert.deepEqual(p.captures, ['/p/abc', 'abc', '']);
  assert.deepEqual(p.named, { name: 'abc' });
  assert.equal(findLocation(s, '/nothing'), null);
  assert.equal(findLocation(s, '/only/x')!.captures, undefined);
});

test('named locations', () => {
  const s = load(LOCS).http!.servers[0];
  assert.equal(label(findNamedLocation(s, '@named')!), 'named');
  assert.equal(label(findNamedLocation(s, 'named')!), 'named');
  assert.equal(findNamedLocation(s, '@nope'), null);
});

test('exact match beats everything, wherever it is declared', () => {
  const s = load(`events {}
http { server {
  location ~ ^/x$ { return 200 "regex"; }
  location ^~ /x { return 200 "noregex"; }
  location = /x { return 200 "exact"; }
  location /y { location = /y/z { return 200 "nested-exact"; } location ~ z$ { return 200 "nested-regex"; } }
} }
`).http!.servers[0];
  assert.equal(label(findLocation(s, '/x')!.loc), 'exact');
  assert.equal(label(findLocation(s, '/xy')!.loc), 'noregex');
  assert.equal(label(findLocation(s, '/y/z')!.loc), 'nested-exact');
  assert.equal(label(findLocation(s, '/y/zz')!.loc), 'nested-regex');
});

const SERVERS = `events {}
http {
  server { listen 8080; server_name first.test; return 200 "first"; }
  server { listen 8080; server_name example.com www.example.com; return 200 "exact"; }
  server { listen 8080; server_name *.example.com; return 200 "wild-short"; }
  server { listen 8080; server_name *.api.example.com; return 200 "wild-long"; }
  server { listen 8080; server_name .example.org; return 200 "dot"; }
  server { listen 8080; server_name mail.*; return 200 "trailing"; }
  server { listen 8080; server_name ~^(?<n>\\d+)\\.num$; return 200 "regex1"; }
  server { listen 8080; server_name ~\\.num$; return 200 "regex2"; }
  server { listen 8080 default_server; server_name _; return 200 "default"; }
  server { listen 8080; server_name ""; return 200 "empty"; }
}
`;

function srvLabel(s: { rewrite: Array<{ op: string; text?: { raw: string } }> }): string {
  return s.rewrite[0].text!.raw;
}

test('server selection order', () => {
  const servers = load(SERVERS).http!.servers;
  const pick = (h: string): string => srvLabel(selectServer(servers, h));
  assert.equal(pick('example.com'), 'exact');
  assert.equal(pick('WWW.Example.com:8080'), 'exact');
  assert.equal(pick('example.com.'), 'exact');
  assert.equal(pick('a.example.com'), 'wild-short');
  assert.equal(pick('v1.api.example.com'), 'wild-long');
  assert.equal(pick('example.org'), 'dot');
  assert.equal(pick('a.b.example.org'), 'dot');
  assert.equal(pick('mail.foo.net'), 'trailing');
  assert.equal(pick('12.num'), 'regex1');
  assert.equal(pick('x.num'), 'regex2');
  assert.equal(pick('unknown.test'), 'default');
  assert.equal(pick(''), 'empty');
  // without a default_server the first server is the default
  assert.equal(srvLabel(selectServer(servers.slice(0, 3), 'nope')), 'first');
});

test('default server per listen address', () => {
  const servers = load(`events {}
http {
  server { listen 8080; listen 8081 default_server; return 200 "a"; }
  server { listen 8080 default_server; listen 8081; return 200 "b"; }
}
`).http!.servers;
  assert.equal(srvLabel(selectServer(servers, 'x', { host: '0.0.0.0', port: 8080 })), 'b');
  assert.equal(srvLabel(selectServer(servers, 'x', { host: '0.0.0.0', port: 8081 })), 'a');
});

test('normalizeHost', () => {
  assert.equal(normalizeHost('Foo.COM:80'), 'foo.com');
  assert.equal(normalizeHost('[::1]:8080'), '[::1]');
  assert.equal(normalizeHost('a.b.'), 'a.b');
});
