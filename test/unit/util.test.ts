// Expectations captured from the reference (nginx 1.22.1 + lua-nginx-module, LuaJIT 2.1) via ref-run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as T from '../../src/util/time.js';
import * as U from '../../src/util/uri.js';
import * as C from '../../src/util/codec.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const md5 = (x: Uint8Array): string => createHash('md5').update(x).digest('hex');

test('httpTime / cookieTime', () => {
  assert.equal(T.httpTime(0), 'Thu, 01 Jan 1970 00:00:00 GMT');
  assert.equal(T.cookieTime(0), 'Thu, 01-Jan-70 00:00:00 GMT');
  assert.equal(T.httpTime(1795719291), 'Thu, 26 Nov 2026 18:54:51 GMT');
  assert.equal(T.cookieTime(1795719291), 'Thu, 26-Nov-26 18:54:51 GMT');
  assert.equal(T.cookieTime(4102444800), 'Fri, 01-Jan-2100 00:00:00 GMT');
  // clamping and truncation like ngx_gmtime
  assert.equal(T.httpTime(-1), 'Thu, 01 Jan 1970 00:00:00 GMT');
  assert.equal(T.cookieTime(-86401), 'Thu, 01-Jan-70 00:00:00 GMT');
  assert.equal(T.httpTime(1.9), 'Thu, 01 Jan 1970 00:00:01 GMT');
  assert.equal(T.httpTime(-0.5), 'Thu, 01 Jan 1970 00:00:00 GMT');
  assert.equal(T.httpTime(2 ** 40), 'Fri, 31 Dec 9999 23:59:59 GMT');
  assert.equal(T.cookieTime(253402300800), 'Fri, 31-Dec-9999 23:59:59 GMT');
  // 2-digit cookie year through 2037, 4 digits from 2038
  assert.equal(T.cookieTime(2145916799), 'Thu, 31-Dec-37 23:59:59 GMT');
  assert.equal(T.cookieTime(2145916800), 'Fri, 01-Jan-2038 00:00:00 GMT');
  assert.equal(T.httpTime(2177452800), 'Sat, 01 Jan 2039 00:00:00 GMT');
  assert.equal(T.cookieTime(951782400), 'Tue, 29-Feb-00 00:00:00 GMT');
  assert.equal(T.httpTime(4107542400), 'Mon, 01 Mar 2100 00:00:00 GMT');
  // cache returns the right value when the second changes back and forth
  assert.equal(T.httpTime(0), 'Thu, 01 Jan 1970 00:00:00 GMT');
});

test('parseHttpTime', () => {
  const cases: [string, number | null][] = [
    ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
    ['Thursday, 10-Jun-93 01:29:59 GMT', 739675799],
    ['Thu Jun 10 01:29:59 1993', 739675799],
    ['Thu, 26-Nov-26 18:48:11 GMT', 1795718891],
    ['garbage', null],
    ['Thu, 32 Jan 1970 00:00:00 GMT', null],
    ['Thu, 01 Jan 1970 00:00:00', 0],
    ['Thu, 1 Jan 1970 00:00:00 GMT', null],
    ['Thu, 01 Jan 1969 00:00:00 GMT', -31536000],
    ['Fri, 29 Feb 2019 00:00:00 GMT', null],
    ['Fri, 31 Dec 9999 23:59:59 GMT', 253402300799],
    ['xxx, 01 Jan 1970 00:00:01 GMT', 1],
    ['Thu, 01 Jan 70 00:00:01 GMT', null],
    ['Thu, 01 Jan 1970 00:00:01 GMT  ', 1],
    ['Thu, 01 Jan 1970 00:00:01 UTC', 1],
    ['Thu, 01 Jan 1970 24:00:01 GMT', null],
    ['Thu, 01 Jan 1970 00:00:61 GMT', null],
    ['Thu Jun  1 01:29:59 1993', 738898199],
    ['Thu Jun 1 01:29:59 1993', 738898199],
    ['Thu, 00 Jan 1970 00:00:00 GMT', -86400],
    ['Sun, 06 Nov 1994 08:49:37 GMT', 784111777],
    ['Sunday, 06-Nov-94 08:49:37 GMT', 784111777],
    ['Sun Nov  6 08:49:37 1994', 784111777],
    ['Mon, 01 Mar 2100 00:00:00 GMT', 4107542400],
    ['Wed, 31 Jun 2000 00:00:00 GMT', null],
    ['Tue, 10 Nov 2002 23:50:13', 1036972213],
    [', 10 Nov 2002 23:50:13', 1036972213],
    ['Tue, 10 Xyz 2002 23:50:13 GMT', null],
    ['Tue, 10 Nov 2002 23-50-13 GMT', null],
  ];
  for (const [s, v] of cases) {
    assert.equal(T.parseHttpTime(s), v, s);
    assert.equal(T.parseHttpTime(b(s)), v, s);
  }
  assert.equal(T.parseHttpTime('Tue, 29 Feb 2000 12:00:00 GMT'), 951825600);
});

test('localtime / utctime / today / errlogTime', () => {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  assert.equal(T.utctime(1795719012.946), '2026-11-26 18:50:12');
  if (tz === 'UTC' || tz === 'Etc/UTC') {
    // the reference host runs in UTC: ngx.localtime() == ngx.utctime()
    assert.equal(T.localtime(1795719012), '2026-11-26 18:50:12');
    assert.equal(T.today(1795719012), '2026-11-26');
    assert.equal(T.errlogTime(1795719012946), '2026/11/26 18:50:12');
  }
  assert.match(T.errlogTime(Date.now()), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
  assert.match(T.localtime(Date.now() / 1000), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});

test('escapeUri tables for types 0..6 (md5 of escaping all 256 bytes)', () => {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const ref: [string, number][] = [
    ['1d688796f03aa9cc23fc0359bf76088e', 586],
    ['d770cd0e13ffdbb5f8ba168170cf1410', 588],
    ['80d78be650d282b47f2ea9990b7c1495', 626],
    ['d44353243c2d594c137e2779a62d1340', 588],
    ['b599a072ac0f56ce6b47be1e3a9b77c9', 584],
    ['3bacc57611338c015419b610e98adbbc', 324],
    ['3bacc57611338c015419b610e98adbbc', 324],
  ];
  ref.forEach(([h, len], ty) => {
    const out = U.escapeUri(all, ty);
    assert.equal(out.length, len, `type ${ty}`);
    assert.equal(md5(out), h, `type ${ty}`);
  });
  assert.equal(U.escapeUri(all).toString('latin1'), U.escapeUri(all, 2).toString('latin1'));
  assert.throws(() => U.escapeUri(all, 7), /"type" 7 out of range/);
  assert.equal(U.escapeUri(Buffer.from('a b/é')).toString(), 'a%20b%2F%C3%A9');
  assert.equal(
    U.escapeUri(b('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'), 2).toString(),
    "!%22%23%24%25%26'()*%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~",
  );
  assert.equal(U.escapeUri(b('a+b c?d#e%'), 0).toString(), 'a+b%20c%3Fd%23e%25');
  assert.equal(U.escapeUri(b('a+b c?d#e%'), 1).toString(), 'a%2Bb%20c%3Fd%23e%25');
  assert.equal(U.escapeUri(b('"\'#%?'), 3).toString(), '%22%27%23%25?');
  assert.equal(U.escapeUri(b('"\'#%?'), 4).toString(), '%22%27#%?');
  assert.equal(U.escapeUri(b('a b%\xff'), 5).toString('latin1'), 'a%20b%25\xff');
});

test('unescapeUri', () => {
  assert.equal(
    U.unescapeUri(b('a+b%20c%2x%zz%%41%4%e9%C3%A9%2B%2b%')).toString('latin1'),
    'a b c%2x%zz%A%4\xe9\xc3\xa9++%',
  );
  assert.equal(U.unescapeUri(b('%41%')).toString(), 'A%');
  assert.equal(U.unescapeUri(b('%4')).toString(), '%4');
  assert.deepEqual([...U.unescapeUri(b('%00z'))], [0, 0x7a]);
  assert.equal(U.unescapeUri(b('%%')).toString(), '%%');
  assert.equal(U.unescapeUri(b('%%%41')).toString(), '%%A');
  assert.equal(U.unescapeUri(b('?a%3f')).toString(), '?a?');
  const u: string[] = [];
  for (let i = 0; i < 256; i++) u.push('%' + i.toString(16).padStart(2, '0') + '%' + i.toString(16).padStart(2, '0').toUpperCase());
  const out = U.unescapeUri(b(u.join('')));
  assert.equal(out.length, 512);
  assert.equal(md5(out), '2cd18fea257e60b183324fa6d6548ad6');
  const plain = b('nothing-to-do');
  assert.equal(U.unescapeUri(plain), plain);
});

function show(args: U.DecodedArgs): string {
  return args.map(([k, v]) => k.toString('latin1') + (v === true ? '' : '=' + JSON.stringify(v.toString('latin1')))).join(' ');
}

test('decodeArgs like ngx.req.get_uri_args', () => {
  const q = b('a=1&a=2&b&c=&&=x&d==y&e=%41+%2B&f+g=h&=&a=3&b=4&h&h&%zz=%2&&i=1%26j=2;k=3&l%3Dm=n&&');
  const all = U.decodeArgs(q);
  // reference: "%zz"="%2" "a"={"1","2","3"} "b"={true,"4"} "c"="" "d"="=y" "e"="A +" "f g"="h"
  //            "h"={true,true} "i"="1&j=2;k=3" "l=m"="n"
  assert.equal(show(all), 'a="1" a="2" b c="" d="=y" e="A +" f g="h" a="3" b="4" h h %zz="%2" i="1&j=2;k=3" l=m="n"');
  assert.equal(all.truncated, undefined);
  const three = U.decodeArgs(q, 3);
  assert.equal(show(three), 'a="1" a="2" b');
  assert.equal(three.truncated, true);
  assert.equal(show(U.decodeArgs(q, 0)), show(all));
  const cases: [string, number, string, boolean][] = [
    ['=x&a=1&b=2', 2, 'a="1" b="2"', true],
    ['a=1&b=2', 2, 'a="1" b="2"', false],
    ['a=1&b=2&', 2, 'a="1" b="2"', true],
    ['a=1&b=2&=x', 2, 'a="1" b="2"', true],
    ['a=1&b=2&&', 2, 'a="1" b="2"', true],
    ['&&&a', 2, 'a', true],
    ['a=1&b=2&c', 2, 'a="1" b="2"', true],
    ['a=1&&b=2', 3, 'a="1" b="2"', false],
    ['a=1&&b=2&c=3', 3, 'a="1" b="2" c="3"', true],
    ['a&', 1, 'a', true],
    ['=&=&=&a', 2, 'a', true],
    ['=&=&a', 2, 'a', true],
    ['a&b&c&&&&&&', 3, 'a b c', true],
    ['', 1, '', false],
    ['&', 1, '', true],
    // post args, same parser
    ['a=1&a=%41+b&=x&c&d=', 100, 'a="1" a="A b" c d=""', false],
    ['a=1&a=%41+b&=x&c&d=', 1, 'a="1"', true],
  ];
  for (const [s, max, want, trunc] of cases) {
    const r = U.decodeArgs(b(s), max);
    assert.equal(show(r), want, `${s} max ${max}`);
    assert.equal(r.truncated === true, trunc, `${s} max ${max} truncated`);
  }
});

test('encodeArgs like ngx.encode_args', () => {
  const enc = (e: [string, U.EncodeArgValue][]): string => U.encodeArgs(e).toString('latin1');
  assert.equal(enc([['a', 1]]), 'a=1');
  assert.equal(enc([['b', true]]), 'b');
  assert.equal(enc([['c', false]]), '');
  assert.equal(enc([['d', [1, 'x y', true, false, Buffer.from('é')]]]), 'd=1&d=x%20y&d&d=%C3%A9');
  assert.equal(enc([[Buffer.from('k y/é').toString('latin1'), 'v&=+~!*()']]), 'k%20y%2F%C3%A9=v%26%3D%2B~!*()');
  assert.equal(enc([['e', '']]), 'e=');
  assert.equal(enc([['f', []]]), '');
  assert.equal(enc([['g', 1.5]]), 'g=1.5');
  assert.equal(enc([['l', NaN]]), 'l=nan');
  assert.equal(enc([['m', 1e100]]), 'm=1e%2B100');
  assert.equal(enc([['o', 2 ** 53]]), 'o=9.007199254741e%2B15');
  assert.equal(enc([]), '');
  assert.equal(enc([['c', false], ['a', 1], ['f', []], ['b', true]]), 'a=1&b');
  assert.equal(U.encodeArgsTypeError('function'), 'attempt to use function as query arg value');
});

test('base64', () => {
  const cases: [string, string | null][] = [
    ['', ''], ['YQ==', 'a'], ['YQ=', 'a'], ['YQ', 'a'], ['Y', null], ['YWI=', 'ab'], ['YWI', 'ab'],
    ['YWJj', 'abc'], ['YW Jj', null], ['YWJj\n', null], ['YQ==YQ==', 'a'], ['Y===', null], ['YR==', 'a'],
    ['YWJ=', 'ab'], ['=', ''], ['==', ''], ['====', ''], ['YQ==\n', 'a'], ['_-8=', null], ['+/8=', '\xfb\xff'],
    ['YWJjZA', 'abcd'], ['YQ===', 'a'], ['Y=Q=', null], ['YQ=a', 'a'],
  ];
  for (const [s, want] of cases) {
    const r = C.decodeBase64(b(s));
    assert.equal(r === null ? null : r.toString('latin1'), want, JSON.stringify(s));
  }
  assert.equal(C.encodeBase64(b('')).toString(), '');
  assert.equal(C.encodeBase64(b('a')).toString(), 'YQ==');
  assert.equal(C.encodeBase64(b('ab'), true).toString(), 'YWI');
  assert.equal(C.encodeBase64(b('\xff\xfe\xfd')).toString(), '//79');
  assert.equal(C.encodeBase64url(b('\xff\xfe\xfd\xfc')).toString(), '__79_A');
  assert.equal(C.decodeBase64url(b('__79_A'))?.toString('latin1'), '\xff\xfe\xfd\xfc');
  assert.equal(C.decodeBase64url(b('__79_A=='))?.toString('latin1'), '\xff\xfe\xfd\xfc');
  assert.equal(C.decodeBase64url(b('+/8')), null);
  assert.equal(C.decodeBase64url(b('YQ'))?.toString(), 'a');
  assert.equal(C.decodeBase64url(b('Y')), null);
});

test('digests and crc32', () => {
  assert.equal(C.md5Hex(b('abc')).toString(), '900150983cd24fb0d6963f7d28e17f72');
  assert.equal(C.md5Hex(b('')).toString(), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(C.md5Hex(b('1.5')).toString(), '6008647277c4454cecd97d33c069f0ca');
  assert.equal(C.md5Bin(b('abc')).length, 16);
  assert.equal(C.sha1Bin(b('abc')).length, 20);
  assert.equal(C.crc32Short(b('hello')), 907060870);
  assert.equal(C.crc32Long(b('hello')), 907060870);
  assert.equal(C.crc32Short(b('')), 0);
  assert.equal(C.crc32Long(b('')), 0);
  assert.equal(C.crc32Short(b('x'.repeat(100))), 1577999759);
  assert.equal(C.encodeBase64(C.hmacSha1(b('key'), b('The quick brown fox'))).toString(), 'Ivngd6POvQkkgVT4XZpWx5lB/ZY=');
});
