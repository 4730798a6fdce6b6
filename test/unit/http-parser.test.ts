// Request-head parser tests. Expected statuses and $uri values were checked against the
// reference nginx 1.22.1 with default buffer sizes (1k, 4 x 8k).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadParser, normalizeUri, validateHost, parseLength, type ParsedHead } from '../../src/http/parser.js';
import { reasonPhrase, statusLine } from '../../src/http/status.js';
import { errorPageBody, MSIE_PADDING } from '../../src/http/errpage.js';

const limits = { clientHeaderBufferSize: 1024, largeClientHeaderBuffers: { num: 4, size: 8192 } };

function parse(raw: string): ParsedHead | number {
  const p = new HeadParser(limits);
  const buf = Buffer.from(raw, 'latin1');
  const n = p.scan(buf, 0);
  if (n === 0) return 0;
  if (n < 0) return p.errorStatus;
  const h = p.parse(buf, 0, n);
  return h === null ? p.errorStatus : h;
}

function ok(raw: string): ParsedHead {
  const r = parse(raw);
  if (typeof r === 'number') assert.fail(`expected a request, got ${r} for ${JSON.stringify(raw)}`);
  return r;
}

test('simple GET', () => {
  const h = ok('GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Foo:  bar \r\n\r\n');
  assert.equal(h.method, 'GET');
  assert.equal(h.requestUri, '/a/b?x=1&y=2');
  assert.equal(h.uri, '/a/b');
  assert.equal(h.args, 'x=1&y=2');
  assert.equal(h.version, 11);
  assert.equal(h.protocol, 'HTTP/1.1');
  assert.equal(h.host, 'example.com');
  assert.deepEqual(h.headers, [['Host', 'Example.COM:8080'], ['X-Foo', 'bar']]);
  assert.equal(h.rawHeader, 'GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Foo:  bar \r\n\r\n');
  assert.equal(h.contentLength, -1);
  assert.equal(h.chunked, false);
  assert.equal(h.keepAlive, true);
});

test('incremental scan: byte by byte', () => {
  const raw = Buffer.from('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
  const p = new HeadParser(limits);
  let n = 0;
  let i = 1;
  for (; i <= raw.length; i++) {
    n = p.scan(raw.subarray(0, i), 0);
    if (n !== 0) break;
  }
  assert.equal(n, raw.length - 5);
  const h = p.parse(raw, 0, n);
  assert.ok(h);
  assert.equal(h.contentLength, 5);
});

test('scan with an offset and bare LF line ends', () => {
  const raw = Buffer.from('xxGET / HTTP/1.0\nConnection: Keep-Alive\n\nrest');
  const p = new HeadParser(limits);
  const n = p.scan(raw, 2);
  assert.equal(n, raw.length - 2 - 4);
  const h = p.parse(raw, 2, n);
  assert.ok(h);
  assert.equal(h.version, 10);
  assert.equal(h.keepAlive, true);
  assert.equal(h.host, '');
});

test('keep-alive rules', () => {
  assert.equal(ok('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n').keepAlive, false);
  assert.equal(ok('GET / HTTP/1.0\r\n\r\n').keepAlive, false);
  assert.equal(ok('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').keepAlive, true);
  assert.equal(ok('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, Keep-Alive\r\n\r\n').keepAlive, true);
});

test('HTTP/0.9 request line ends the head', () => {
  const h = ok('GET /x\r\n');
  assert.equal(h.version, 9);
  assert.equal(h.protocol, '');
  assert.equal(h.keepAlive, false);
  assert.equal(parse('POST /x\r\n'), 400);
});

test('request line variants accepted by nginx', () => {
  assert.equal(ok('GET  /  HTTP/1.1 \r\nHost: a\r\n\r\n').uri, '/');
  assert.equal(ok('GET / HTTP/1.2\r\nHost: a\r\n\r\n').version, 11);
  assert.equal(ok('GET / HTTP/1.10\r\nHost: a\r\n\r\n').version, 11);
  assert.equal(ok('GET / HTTP/1.01\r\nHost: a\r\n\r\n').version, 11);
  assert.equal(ok('G_T / HTTP/1.1\r\nHost: a\r\n\r\n').method, 'G_T');
  assert.equal(ok('GET /a#frag?x HTTP/1.1\r\nHost: a\r\n\r\n').uri, '/a');
  const abs = ok('GET http://Foo.COM:80/x?y HTTP/1.1\r\nHost: other\r\n\r\n');
  assert.equal(abs.host, 'foo.com');
  assert.equal(abs.uri, '/x');
  assert.equal(abs.args, 'y');
  assert.equal(abs.requestUri, 'http://Foo.COM:80/x?y');
});

test('bad request lines → 400, bad versions → 505', () => {
  for (const line of [
    'get / HTTP/1.1', 'GET a HTTP/1.1', 'GET * HTTP/1.1', 'GET / http/1.1', 'GET / HTTP/1',
    'GET / HTTP/1.', 'GET / HTTP/01.1', 'GET / HTTP/1.1000', 'GET /a b HTTP/1.1',
    'GET /?a b HTTP/1.1', 'GET /a\x00b HTTP/1.1', 'garbage', ' GET / HTTP/1.1',
  ]) {
    assert.equal(parse(line + '\r\nHost: x\r\n\r\n'), 400, line);
  }
  assert.equal(parse('GET / HTTP/2.0\r\nHost: x\r\n\r\n'), 505);
  assert.equal(parse('GET / HTTP/3.0\r\nHost: x\r\n\r\n'), 505);
});

test('header line errors', () => {
  assert.equal(parse('GET / HTTP/1.1\r\n\r\n'), 400, 'missing Host');
  assert.equal(parse('GET / HTTP/1.1\r\nHost:\r\n\r\n'), 400, 'empty Host');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: a/b\r\n\r\n'), 400, 'bad Host');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: a..b\r\n\r\n'), 400, 'bad Host dots');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'), 400, 'dup Host');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n'), 400, 'no colon');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n'), 400, 'space in name');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n'), 400, 'space before colon');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n'), 400, 'empty name');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n'), 400, 'folded');
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'), 400);
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'), 400);
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n'), 400);
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'), 400);
  assert.equal(parse('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'), 400);
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n'), 501);
  assert.equal(parse('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'), 501);
});

test('invalid header names are skipped, not fatal', () => {
  const h = ok('GET / HTTP/1.1\r\nHost: x\r\nX_A: 1\r\nX@B: 2\r\nX-C:3\r\nX-D:\r\n\r\n');
  assert.deepEqual(h.headers, [['Host', 'x'], ['X-C', '3'], ['X-D', '']]);
});

test('chunked and content-length', () => {
  const c = ok('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n');
  assert.equal(c.chunked, true);
  assert.equal(c.contentLength, -1);
  assert.equal(ok('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0042\r\n\r\n').contentLength, 42);
  assert.equal(ok('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n').expectContinue, true);
});

test('size limits: 414 for the request line, 494 for header lines', () => {
  const long = 'a'.repeat(9000);
  assert.equal(parse(`GET /${long} HTTP/1.1\r\nHost: x\r\n\r\n`), 414);
  // a too-long request line is refused before its end arrives
  assert.equal(parse(`GET /${long}`), 414);
  assert.equal(parse(`GET / HTTP/1.1\r\nHost: x\r\nX-A: ${long}\r\n\r\n`), 494);
  assert.equal(parse(`GET / HTTP/1.1\r\nHost: x\r\nX-A: ${long}`), 494);
  const many = Array.from({ length: 5 }, (_, i) => `X-${i}: ${'b'.repeat(7000)}\r\n`).join('');
  assert.equal(parse(`GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`), 494);
  // within limits: fine
  const h = ok(`GET /${'a'.repeat(8000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.equal(h.uri.length, 8001);
});

test('uri normalization matches nginx', () => {
  const cases: Array<[string, string | null]> = [
    ['/', '/'],
    ['/a//b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/%2e%2e/b', '/b'],
    ['/a%2F..%2Fb', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/a/.', '/a/'],
    ['/%41%42', '/AB'],
    ['/a+b%20c', '/a+b c'],
    ['/a/..b', '/a/..b'],
    ['/a/...', '/a/...'],
    ['/a%2f%2fb', '/a/b'],
    ['/%2e', '/'],
    ['/a/.%2e/b', '/b'],
    ['/a%252e', '/a%2e'],
    ['/a/b/../', '/a/'],
    ['/\xc3\xa9', '/\xc3\xa9'],
    ['//..', null],
    ['/..', null],
    ['/a/b/../../..', null],
    ['/%zz', null],
    ['/a%00b', null],
    ['/a%2', null],
    ['/%', null],
  ];
  for (const [path, want] of cases) assert.equal(normalizeUri(path), want, path);
});

test('host validation', () => {
  assert.equal(validateHost('Ex.COM:99'), 'ex.com');
  assert.equal(validateHost('x:'), 'x');
  assert.equal(validateHost('x.'), 'x');
  assert.equal(validateHost('[::1]:80'), '[::1]');
  assert.equal(validateHost('a/b'), null);
  assert.equal(validateHost('a..b'), null);
  assert.equal(validateHost(''), null);
});

test('parseLength', () => {
  assert.equal(parseLength('0'), 0);
  assert.equal(parseLength('123'), 123);
  assert.equal(parseLength(''), -1);
  assert.equal(parseLength('+1'), -1);
  assert.equal(parseLength('1 2'), -1);
  assert.equal(parseLength('99999999999999999999999'), -1);
  // nginx's off_t: up to 2^63 - 1, leading zeros allowed
  assert.equal(parseLength('4294967296'), 4294967296);
  assert.ok(parseLength('9223372036854775807') > 9e18);
  assert.equal(parseLength('9223372036854775808'), -1);
  assert.equal(parseLength('000000000000000000000042'), 42);
});

test('status lines and reason phrases', () => {
  assert.equal(statusLine(200), 'HTTP/1.1 200 OK');
  assert.equal(statusLine(302), 'HTTP/1.1 302 Moved Temporarily');
  assert.equal(statusLine(299), 'HTTP/1.1 299 ');
  assert.equal(statusLine(555), 'HTTP/1.1 555 ');
  assert.equal(statusLine(203), 'HTTP/1.1 203 ');
  assert.equal(statusLine(494), 'HTTP/1.1 400 Bad Request');
  assert.equal(statusLine(200, 'Fine'), 'HTTP/1.1 200 Fine');
  assert.equal(reasonPhrase(405), 'Not Allowed');
  assert.equal(reasonPhrase(503), 'Service Temporarily Unavailable');
});

test('error pages, byte for byte', () => {
  const tok = 'nginx/1.22.1';
  assert.equal(errorPageBody(404, tok)?.toString('latin1'),
    '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n' +
    '<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n');
  assert.equal(errorPageBody(404, tok)?.length, 153);
  assert.equal(errorPageBody(302, tok)?.length, 145);
  assert.equal(errorPageBody(401, tok)?.length, 179);
  assert.equal(errorPageBody(413, tok)?.length, 183);
  assert.equal(errorPageBody(414, tok)?.length, 177);
  assert.equal(errorPageBody(505, tok)?.length, 187);
  assert.equal(errorPageBody(494, tok)?.length, 233);
  assert.equal(errorPageBody(497, tok)?.length, 255);
  assert.equal(errorPageBody(494, tok)?.toString('latin1'),
    '<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n' +
    '<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n' +
    '<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n');
  assert.equal(errorPageBody(418, tok), null);
  assert.equal(errorPageBody(200, tok), null);
  assert.ok(errorPageBody(500, 'ngxlua/0.1.0')?.toString().includes('<hr><center>ngxlua/0.1.0</center>'));
  assert.equal(errorPageBody(404, tok)!.length + MSIE_PADDING.length, 555);
});

test('invalid header lines: the error-log wording and context nginx uses', () => {
  const p = new HeadParser(limits);
  const bad = Buffer.from('GET /t HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n', 'latin1');
  assert.equal(p.scan(bad, 0), -1);
  assert.equal(p.errorStatus, 400);
  assert.equal(p.errorAction, 'reading client request headers');
  assert.equal(p.errorMsg, 'client sent invalid header line: "Bad\\x20..."');
  assert.equal(p.errorRequest, 'GET /t HTTP/1.1');
  assert.equal(p.errorHost, 'localhost');
  p.reset();
  const nul = Buffer.from('GET /t HTTP/1.1\r\nX-A: a\0b\r\n\r\n', 'latin1');
  assert.equal(p.scan(nul, 0), -1);
  assert.equal(p.errorMsg, 'client sent invalid header line: "X-A: a\\x00..."');
  assert.equal(p.errorHost, '');
  const h = ok('GET /t HTTP/1.1\r\nX@Bad: x  \r\nHost: h\r\nX_U: 1\r\n\r\n');
  assert.deepEqual(h.invalidHeaders, [{ line: 'X@Bad: x', host: '', referer: '' }, { line: 'X_U: 1', host: 'h', referer: '' }]);
  assert.deepEqual(h.headers, [['Host', 'h']]);
});

test('a header line without a colon is a header with an empty value (as the reference has it)', () => {
  const h = ok('GET /t HTTP/1.1\r\nHost: localhost\r\nNoColon\r\nX: y\r\n\r\n');
  assert.deepEqual(h.headers, [['Host', 'localhost'], ['NoColon', ''], ['X', 'y']]);
});

// ---- rejections as nginx makes them: at the first bad byte, with its status and log line ----

/** scan `raw` in one piece; the parser afterwards (for its error fields) */
function scanned(raw: string, lim: typeof limits & { maxHeaders?: number } = limits): { n: number; p: HeadParser } {
  const p = new HeadParser(lim);
  return { n: p.scan(Buffer.from(raw, 'latin1'), 0), p };
}

function rejects(raw: string, status: number, msg?: string | RegExp): HeadParser {
  const { n, p } = scanned(raw);
  assert.equal(n, -1, `expected a rejection for ${JSON.stringify(raw)}`);
  assert.equal(p.errorStatus, status, JSON.stringify(raw));
  if (typeof msg === 'string') assert.equal(p.errorMsg, msg, JSON.stringify(raw));
  else if (msg) assert.match(p.errorMsg, msg, JSON.stringify(raw));
  return p;
}

test('a bad byte is refused where it stands, the rest of the head need not arrive', () => {
  const badLine = 'client sent invalid request';
  rejects('HEAD /lua HTTP/1.1\rHost: example.com\r\r', 400, badLine); // bare CR ends no line
  rejects('GET /x/y/z TP/1.1\r\nHost: [', 400, badLine);
  rejects('HEAD /lua\x00x=%20 ]TTP/1.', 400, badLine);
  rejects('GET /lua H@TTP/1.1\r\nHost: loc', 400, badLine);
  rejects('GET / HTTP/1.1 x', 400, badLine);
  rejects('GET / HTTP/1.1\rX', 400, badLine);
  rejects('get / HTTP/1.1', 400, 'client sent invalid method');
  rejects('GE\tT /', 400, 'client sent invalid method');
  // absolute form: the authority takes only host-name bytes, or an IP literal's
  rejects('GET http://a@b/x HTTP/1.1', 400, badLine);
  rejects('GET http://[::1/x HTTP/1.1', 400, badLine);
  rejects('GET http://%6cocalhost/x HTTP/1.1', 400, badLine);
  rejects('GET http://localhost#x HTTP/1.0', 400, badLine);
  rejects('GET http://Example.C\nOM/x', 400, badLine); // an LF in the host does not make HTTP/0.9
  rejects('GET http://localhost:80x/', 400, badLine);
  rejects('GET h:/x HTTP/3.0', 400, badLine); // the bad byte comes before the version
  // header lines: obs-fold, controls in names, a CR not before LF
  rejects('GET / HTTP/1.1\r\n Host: x\r\n', 400, 'client sent invalid header line: "\\x20..."');
  rejects('GET / HTTP/1.1\r\nHost: x\r\n\tfolded', 400, 'client sent invalid header line: "\\x09..."');
  rejects('GET / HTTP/1.1\r\nHost: x\r\nX A', 400, 'client sent invalid header line: "X\\x20..."');
  rejects('GET / HTTP/1.1\r\nHost: x\r\n:v', 400, 'client sent invalid header line: "\\x3a..."');
  rejects('GET / HTTP/1.1\r\nHost: x\r\nA: b\rc', 400, 'client sent invalid header line: "A: b\\x0d..."');
  rejects('GET / HTTP/1.1\r\nHost: x\r\nA: b  \rc', 400, 'client sent invalid header line: "A: b\\x20..."');
  rejects('GET / HTTP/1.1\r\nHost: x\r\n\rX', 400, 'client sent invalid header line: "\\x0d..."');
  rejects('GET / HTTP/1.1\r\nHost: x\r\nA: \x00', 400, 'client sent invalid header line: "A: \\x00..."');
});

test('HTTP major versions over 1 get 505 at the digit that makes them so', () => {
  for (const v of ['HTTP/2', 'HTTP/3.0', 'HTTP/11', 'HTTP/1000.1', 'HTTP/99', 'HTTP/9.9']) {
    rejects(`GET /lua ${v}`, 505, 'client sent invalid version');
  }
  rejects('GET / HTTP/01.1\r\n', 400, 'client sent invalid request');
  rejects('GET / HTTP/1.1000\r\n', 400, 'client sent invalid request');
});

test('a complete request line is checked before any header arrives', () => {
  rejects('GET /../x HTTP/1.1\r\n', 400, 'client sent invalid request');
  rejects('GET /%zz HTTP/1.1\r\nHost', 400, 'client sent invalid request');
  const p = rejects('GET http://a..b/x HTTP/1.1\r\n', 400, 'client sent invalid host in request line');
  assert.equal(p.errorAction, 'reading client request line');
  assert.equal(p.errorRequest, 'GET http://a..b/x HTTP/1.1');
  rejects('GET http:///x HTTP/1.1\r\n', 400, 'client sent invalid host in request line');
});

test('HTTP/0.9 errors are answered with the bare page; HEAD errors without a body', () => {
  for (const [raw, msg] of [
    ['POST /lua#HTTP/1.0\r\nHost: x\r\n\r\n', 'client sent invalid method in HTTP/0.9 request'],
    ['PATCH /x.\nHTTP/1.1\r\n', 'client sent invalid method in HTTP/0.9 request'],
    ['GET /%2HTTP1.1\r\n', 'client sent invalid request'],
    ['GET http://a..b/\r\n', 'client sent invalid host in request line'],
  ]) {
    const p = rejects(raw, 400, msg);
    assert.equal(p.errorRaw, true, raw);
    assert.equal(p.errorHeadOnly, false, raw);
  }
  // an error inside the line still gets a status line
  assert.equal(rejects('GET /a\x01', 400).errorRaw, false);
  const head = rejects('HEAD / HTTP/1.1\r\n\r\n', 400, 'client sent HTTP/1.1 request without "Host" header');
  assert.equal(head.errorHeadOnly, true);
  assert.equal(head.errorRaw, false);
  assert.equal(rejects('HEAD /\x7f', 400).errorHeadOnly, true);
});

test('Host is checked as its line ends, like ngx_http_validate_host', () => {
  for (const h of ['local host', 'localhost\t', '::1', '::1]', ': [::1]:8080', 'a/b', '.', 'a..b', '']) {
    rejects(`GET / HTTP/1.1\r\nHost: ${h}\r\n`, 400, 'client sent invalid host header');
  }
  const p = rejects('GET / HTTP/1.1\r\nHost: [::1]:808Content-Length: 8\r\n', 400, 'client sent invalid host header');
  assert.equal(p.errorHost, '[::1]:808Content-Length: 8');
  rejects('GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n', 400,
    'client sent duplicate host header: "host: b", previous value: "Host: a"');
  rejects('GET / HTTP/1.1\r\nHost: a\r\nIf-Match: 1\r\nIf-Match: 2\r\n', 400,
    'client sent duplicate header line: "If-Match: 2", previous value: "If-Match: 1"');
  // what nginx accepts, and what it makes of it
  assert.equal(validateHost('[::1'), '[::1');
  assert.equal(validateHost('a:b:c'), 'a');
  assert.equal(validateHost('[::1]x:80'), '[::1]');
  assert.equal(validateHost('\xc0B.'), '\xc0b'); // only ASCII letters are lowered
  assert.equal(ok('GET / HTTP/1.1\r\nHost: [::1\r\n\r\n').host, '[::1');
  assert.equal(ok('GET http://[::1]:8080/x HTTP/1.0\r\n\r\n').host, '[::1]');
  assert.equal(ok('GET http://EX.com?a=1 HTTP/1.0\r\n\r\n').uri, '/');
});

test('more than max_headers header lines give 494; ignored lines do not count', () => {
  const lines = (n: number, prefix = 'X-') => Array.from({ length: n }, (_, i) => `${prefix}${i}: v\r\n`).join('');
  assert.equal(ok(`GET / HTTP/1.1\r\nHost: x\r\n${lines(999)}${lines(5, 'X_')}\r\n`).headers.length, 1000);
  rejects(`GET / HTTP/1.1\r\nHost: x\r\n${lines(1000)}`, 494, 'client sent too many header lines');
  const { n } = scanned(`GET / HTTP/1.1\r\nHost: x\r\n${lines(3)}`, { ...limits, maxHeaders: 3 });
  assert.equal(n, -1);
});

test('end-of-head checks come in nginx order', () => {
  rejects('TRACE / HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'client sent TRACE method');
  rejects('CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'client sent CONNECT method');
  // the method check comes last
  rejects('TRACE / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501);
  // an unknown Transfer-Encoding is 501 even with Content-Length; chunked with it is 400
  rejects('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\n', 501,
    'client sent unknown "Transfer-Encoding": "xchunked"');
  rejects('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 400,
    'client sent "Content-Length" and "Transfer-Encoding" headers at the same time');
  // a bad Host or URI is refused before the Transfer-Encoding is looked at
  rejects('POST http://[::1/x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 400);
  rejects('POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nHost: a b\r\n\r\n', 400, 'client sent invalid host header');
  // Content-Length is read once the head is complete
  rejects('POST / HTTP/1.1\r\nContent-Length: x\r\nHost: a\r\n\r\n', 400, 'client sent invalid "Content-Length" header');
  rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n', 400);
  assert.equal(ok('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4294967296\r\n\r\n').contentLength, 4294967296);
});

test('what nginx accepts in header lines', () => {
  // CRs before the LF, TABs inside the value (only spaces are trimmed)
  const h = ok('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\r\nX:\t v\t \r\nY:  a  b  \r\n\r\n');
  assert.deepEqual(h.headers, [['Host', '127.0.0.1'], ['X', '\t v\t'], ['Y', 'a  b']]);
  // the protocol keeps trailing spaces, as $server_protocol does
  assert.equal(ok('GET / HTTP/1.1  \r\nHost: a\r\n\r\n').protocol, 'HTTP/1.1  ');
  // the last Connection header that says close or keep-alive decides
  assert.equal(ok('GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: foo\r\n\r\n').keepAlive, true);
  assert.equal(ok('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: Keep-Alive\r\n\r\n').keepAlive, true);
});

test('byte-by-byte scanning finds the same errors as one piece', () => {
  for (const raw of [
    'HEAD /lua HTTP/1.1\rHost: example.com\r\r',
    'GET / HTTP/1.1\r\nHost: a\r\n folded\r\n',
    'GET / HTTP/1.1\r\nHost: local host\r\n',
    'GET /../x HTTP/1.1\r\n',
    'GET / HTTP/1000.1\r\n',
    'TRACE / HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /' + 'a'.repeat(9000),
  ]) {
    const whole = scanned(raw).p;
    const p = new HeadParser(limits);
    const buf = Buffer.from(raw, 'latin1');
    let n = 0;
    for (let i = 1; i <= buf.length && n === 0; i++) n = p.scan(buf.subarray(0, i), 0);
    assert.equal(n, -1, raw);
    assert.equal(p.errorStatus, whole.errorStatus, raw);
    assert.equal(p.errorMsg, whole.errorMsg, raw);
  }
});

test('header buffers as nginx fills them: a line takes at most one large buffer', () => {
  const pre = 'GET / HTTP/1.1\r\nHost: x\r\n';
  const line = (len: number) => `X-A: ${'a'.repeat(len - 7)}\r\n`;
  assert.equal(ok(`${pre}${line(8192)}\r\n`).headers[1][1].length, 8192 - 7);
  const p = rejects(`${pre}${line(8193)}\r\n`, 494, /^client sent too long header line: "X-A: a+\.\.\."$/);
  // nginx logs the line's first 1748 bytes
  assert.equal(p.errorMsg.length, 'client sent too long header line: "..."'.length + 1748);
  assert.equal(p.errorAction, 'reading client request headers');
  const uri = rejects(`GET /${'a'.repeat(9000)}`, 414, 'client sent too long URI');
  assert.equal(uri.errorRequest.length, 2048);
});

test('the error context: the request as received so far, Host and Referer', () => {
  const p = rejects('GET /a\x01b HTTP/1.1\r\n', 400);
  assert.equal(p.errorRequest, 'GET /a\x01b HTTP/1.1');
  assert.equal(p.errorAction, 'reading client request line');
  const q = rejects('GET / HTTP/1.1\r\nReferer: http://r/\r\nHost: h\r\nX A', 400);
  assert.equal(q.errorRequest, 'GET / HTTP/1.1');
  assert.equal(q.errorHost, 'h');
  assert.equal(q.errorReferer, 'http://r/');
  // a client closing mid-head is logged with the same context
  const r = new HeadParser(limits);
  const buf = Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nX-', 'latin1');
  assert.equal(r.scan(buf, 0), 0);
  r.noteContext(buf, 0);
  assert.equal(r.errorRequest, 'GET / HTTP/1.1');
  assert.equal(r.errorHost, 'h');
});
