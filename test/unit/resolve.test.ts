// Host parsing and name resolution for cosockets (src/api/socket/resolve.ts). Expected texts are
// the reference's (nginx + lua-nginx-module 0.10.23, via ref-run). Resolution through real DNS
// servers is covered by test/integration/udp.test.ts (dnsmasq); here only what needs no network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { parseHost, resolveHost, resolverServers, ResolveError } from '../../src/api/socket/resolve.js';
import type { Runtime } from '../../src/core/runtime.js';
import type { LocSettings } from '../../src/conf/model.js';

const logged: string[] = [];
const rt = { log: { log: (_lv: string, msg: string) => logged.push(msg) } } as unknown as Runtime;
const settings = (resolver: string[] | null, resolverTimeout = 30_000) =>
  ({ resolver, resolverTimeout }) as unknown as LocSettings;

test('parseHost: IP literals, names, ports inside the host, unix paths', () => {
  assert.deepEqual(parseHost('127.0.0.1', 53), { kind: 'ip', address: '127.0.0.1', family: 4, port: 53 });
  assert.deepEqual(parseHost('1.2.3.4:80', 53), { kind: 'ip', address: '1.2.3.4', family: 4, port: 80 });
  assert.deepEqual(parseHost('[::1]', 53), { kind: 'ip', address: '::1', family: 6, port: 53 });
  assert.deepEqual(parseHost('[::1]:99', 53), { kind: 'ip', address: '::1', family: 6, port: 99 });
  assert.deepEqual(parseHost('example.com', 0), { kind: 'name', name: 'example.com', port: 0 });
  assert.deepEqual(parseHost('Example.COM:8053', 1), { kind: 'name', name: 'Example.COM', port: 8053 });
  assert.deepEqual(parseHost('unix:/tmp/x.sock', 0), { kind: 'unix', path: '/tmp/x.sock' });
});

test('parseHost: ngx_parse_url errors in ngx_lua words', () => {
  const err = (h: string) => {
    const r = parseHost(h, 53);
    assert.equal(r.kind, 'error');
    return (r as { message: string }).message;
  };
  assert.equal(err('::1'), 'failed to parse host name "::1": invalid port');
  assert.equal(err('1.2.3.4:x'), 'failed to parse host name "1.2.3.4:x": invalid port');
  assert.equal(err('1.2.3.4:0'), 'failed to parse host name "1.2.3.4:0": invalid port');
  assert.equal(err(''), 'failed to parse host name "": no host');
  assert.equal(err('unix:'), 'failed to parse host name "unix:": no path in the unix domain socket');
  assert.equal(err('[::1'), 'failed to parse host name "[::1": invalid host');
  assert.equal(err('[zz]'), 'failed to parse host name "[zz]": invalid IPv6 address');
  assert.equal(err('a/b'), 'failed to parse host name "a/b": invalid host');
});

test('resolverServers adds the default DNS port', () => {
  assert.deepEqual(resolverServers(['127.0.0.1', '127.0.0.1:5353', '::1', '[::1]', '[::1]:5353']), [
    '127.0.0.1:53', '127.0.0.1:5353', '[::1]:53', '[::1]:53', '[::1]:5353',
  ]);
});

test('resolveHost: IP literals skip resolution', async () => {
  assert.deepEqual(await resolveHost(rt, settings(null), '10.1.2.3'), { address: '10.1.2.3', family: 4 });
  assert.deepEqual(await resolveHost(rt, settings(['127.0.0.1:9']), '::1'), { address: '::1', family: 6 });
});

test('resolveHost: names need the resolver directive, unless asked to use the system resolver', async () => {
  await assert.rejects(resolveHost(rt, settings(null), 'localhost'), (e: unknown) => {
    assert.ok(e instanceof ResolveError);
    assert.equal(e.message, 'no resolver defined to resolve "localhost"');
    return true;
  });
  const a = await resolveHost(rt, settings(null), 'localhost', { lookupWithoutResolver: true });
  assert.ok(a.address === '127.0.0.1' || a.address === '::1', a.address);
});

test('resolveHost: an unreachable resolver fails after resolver_timeout with (110: Operation timed out)', async () => {
  // a UDP port with nothing behind it: queries get ICMP port unreachable
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  await assert.rejects(resolveHost(rt, settings([`127.0.0.1:${port}`], 300), 'test.local'), {
    message: 'test.local could not be resolved (110: Operation timed out)',
  });
});
