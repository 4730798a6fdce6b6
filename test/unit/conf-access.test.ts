// allow/deny rules and `internal` (conf side); error wording checked against nginx 1.22.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessAllowed, loadConf, parseAccessRule, type AccessRule, type MainConf } from '../../src/conf/index.js';

function load(http: string): MainConf {
  const dir = mkdtempSync(join(tmpdir(), 'ngxlua-conf-access-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf/nginx.conf'), `events {}\nhttp {\n${http}\n}\n`);
  return loadConf({ prefix: dir, confFile: 'conf/nginx.conf' });
}

const rules = (...r: Array<[string, boolean]>): AccessRule[] => r.map(([a, deny]) => parseAccessRule(a, deny)!);

test('access rules: first match wins, no match allows', () => {
  const r = rules(['127.0.0.1', false], ['10.0.0.0/8', true], ['2001:db8::/32', true], ['all', false]);
  assert.equal(accessAllowed(r, '127.0.0.1'), true);
  assert.equal(accessAllowed(r, '10.200.3.4'), false);
  assert.equal(accessAllowed(r, '11.0.0.1'), true);
  assert.equal(accessAllowed(r, '2001:db8:1::5'), false);
  assert.equal(accessAllowed(r, '::ffff:10.1.1.1'), false, 'mapped IPv4 meets IPv4 rules');
  assert.equal(accessAllowed(rules(['all', true]), '127.0.0.1'), false);
  assert.equal(accessAllowed(rules(['10.1.2.3/8', true]), '10.9.9.9'), false, 'low bits are dropped');
  assert.equal(accessAllowed(rules(['::1', true]), '::1'), false);
  assert.equal(accessAllowed(rules(['::1', true]), '127.0.0.1'), true);
  assert.equal(accessAllowed([], '1.2.3.4'), true);
  for (const bad of ['foo', '10.0.0.1/33', '::1/129', '1.2.3', '10.0.0.0/x']) assert.equal(parseAccessRule(bad, true), null, bad);
});

test('allow/deny merge by level; internal', () => {
  const c = load(`deny 10.0.0.0/8;
    server { location /a { internal; } location /b { allow 1.2.3.4; deny all; } location /c { } }`);
  const [a, b, cl] = c.http!.servers[0].locations;
  assert.equal(a.internal, true);
  assert.equal(b.internal, undefined);
  assert.deepEqual(b.settings.access!.map((r) => r.text), ['1.2.3.4', 'all']);
  assert.deepEqual(cl.settings.access!.map((r) => r.text), ['10.0.0.0/8']);
  assert.throws(() => load('server { location /t { deny foo; } }'), /invalid parameter "foo" in \S+:3/);
  assert.throws(() => load('server { internal; }'), /"internal" directive is not allowed here/);
});
