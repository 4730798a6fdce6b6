// Deterministic corpus of raw HTTP/1.x request heads for the differential fuzzer (run.mjs).
//
//   import { generate, generateTagged } from './corpus.mjs';
//   generate(n, seed)        -> Buffer[]                       (n raw requests)
//   generateTagged(n, seed)  -> { bytes: Buffer, ops: string[] }[]  (same bytes, plus what was done)
//
// Every request starts from a valid one (GET/HEAD/POST/..., HTTP/1.1 or 1.0, origin- or
// absolute-form targets, Host names, IPv4/IPv6 literals, ports) and then gets structural
// mutations (method, version, target, header lines, Host, Content-Length/Transfer-Encoding,
// line ends, truncation) and/or random byte edits. The only randomness is a mulberry32 stream
// seeded by `seed`, so (n, seed) always gives the same bytes; request i does not depend on n.
//
// CLI: node test/fuzz/corpus.mjs [--count N] [--seed S]  prints one JSON string per request.

import { pathToFileURL } from 'node:url';

export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  constructor(seed) { this.next = mulberry32(seed); }
  int(n) { return Math.floor(this.next() * n); } // 0 .. n-1
  range(lo, hi) { return lo + this.int(hi - lo + 1); } // lo .. hi
  chance(p) { return this.next() < p; }
  pick(arr) { return arr[this.int(arr.length)]; }
  // weighted pick: [[weight, value], ...]
  wpick(list) {
    let total = 0;
    for (const [w] of list) total += w;
    let x = this.next() * total;
    for (const [w, v] of list) { if ((x -= w) < 0) return v; }
    return list[list.length - 1][1];
  }
}

// Per-request seed: request i is reproducible from (seed, i) alone.
function requestSeed(seed, i) {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// valid starting points

const HOSTS = [
  'localhost', 'localhost', 'localhost:8080', '127.0.0.1', '127.0.0.1:80', '[::1]', '[::1]:8080',
  'example.com', 'Example.COM', 'www.example.com:443', 'a.b-c.d', 'localhost.', 'xn--bcher-kva.example',
];
const PATHS = ['/x', '/', '/lua', '/lua', '/x/y/z', '/x?a=1&b=2', '/lua?x=%20', '/index.html', '/a%20b', '/x.'];
const EXTRA_HEADERS = [
  ['User-Agent', 'fuzz'], ['Accept', '*/*'], ['Connection', 'close'], ['Connection', 'keep-alive'],
  ['Accept-Encoding', 'gzip, deflate'], ['X-Fuzz', '1'], ['Cookie', 'a=b; c=d'], ['Cache-Control', 'no-cache'],
  ['Referer', 'http://localhost/'], ['Content-Type', 'text/plain'],
];

function baseRequest(r, ops) {
  const kind = r.wpick([
    [30, 'get'], [8, 'head'], [16, 'post'], [10, 'http10'], [12, 'absolute'], [6, 'other-method'],
    [6, 'lua-host'],
  ]);
  ops.push(`base:${kind}`);
  const req = {
    method: 'GET',
    target: r.pick(PATHS),
    version: 'HTTP/1.1',
    headers: [['Host', r.pick(HOSTS)]],
    body: Buffer.alloc(0),
    eol: '\r\n',
    truncate: null,
  };
  switch (kind) {
    case 'get': break;
    case 'head': req.method = 'HEAD'; break;
    case 'post': {
      req.method = r.pick(['POST', 'POST', 'PUT', 'PATCH']);
      const len = r.range(0, 24);
      let body = '';
      for (let i = 0; i < len; i++) body += String.fromCharCode(r.range(0x20, 0x7e));
      req.body = Buffer.from(body, 'latin1');
      req.headers.push(['Content-Length', String(len)]);
      if (r.chance(0.3)) req.headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
      break;
    }
    case 'http10':
      req.version = 'HTTP/1.0';
      if (r.chance(0.4)) req.headers = [];
      break;
    case 'absolute': {
      const host = r.pick(HOSTS);
      req.target = `${r.pick(['http', 'http', 'https', 'HTTP'])}://${host}${r.pick(PATHS)}`;
      if (r.chance(0.5)) req.headers[0][1] = r.pick(HOSTS);
      else if (r.chance(0.3)) req.headers = [];
      break;
    }
    case 'other-method':
      req.method = r.pick(['OPTIONS', 'DELETE', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK', 'UNLOCK', 'COPY', 'MOVE', 'PATCH']);
      break;
    case 'lua-host':
      req.target = '/lua';
      req.headers[0][1] = r.pick(HOSTS);
      break;
  }
  const extra = r.int(3);
  for (let i = 0; i < extra; i++) req.headers.splice(r.int(req.headers.length + 1), 0, [...r.pick(EXTRA_HEADERS)]);
  return req;
}

// ---------------------------------------------------------------------------------------------
// structural mutations

const SPECIAL_BYTES = [
  0x00, 0x01, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b, 0x1f, 0x20, 0x7f, 0x80, 0x9b, 0xa0, 0xc3, 0xff,
  0x3a /* : */, 0x2f /* / */, 0x40 /* @ */, 0x5b /* [ */, 0x5d /* ] */, 0x25 /* % */, 0x2e /* . */,
  0x3f /* ? */, 0x23 /* # */, 0x5c /* \ */, 0x22 /* " */, 0x3b /* ; */, 0x2c /* , */,
];

function randByte(r) {
  return r.wpick([
    [5, () => r.pick(SPECIAL_BYTES)],
    [2, () => r.range(0x00, 0x1f)],
    [2, () => r.range(0x80, 0xff)],
    [3, () => r.range(0x21, 0x7e)],
  ])();
}

function hostHeaderIndex(req) {
  return req.headers.findIndex(([k]) => k.toLowerCase() === 'host');
}

function randomToken(r, n, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-') {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)];
  return s;
}

const MUTATORS = {
  method(r, req, ops) {
    const v = r.pick([
      () => req.method.toLowerCase(), () => 'HEA@', () => 'G3T', () => '123', () => 'GE T', () => '',
      () => 'GET\t', () => '\tGET', () => 'GeT', () => 'PRI', () => 'CONNECT', () => 'X-CUSTOM', () => 'GET_',
      () => 'M'.repeat(r.pick([17, 33, 100])), () => 'G\x00T', () => 'G\xe9T', () => 'GET/', () => '-',
      () => req.method + req.method, () => 'POST ', () => 'BREW', () => 'get', () => 'head',
    ])();
    ops.push(`method:${JSON.stringify(v)}`);
    req.method = v;
  },
  version(r, req, ops) {
    const v = r.pick([
      'HTTP/2.0', 'HTTP/1.', 'HTTP/01.1', 'HTTX/1.1', 'http/1.1', 'HTTP/1.10', 'HTTP/1.01', 'HTTP/9.9',
      'HTTP/0.9', '', 'HTTP/1.1 ', 'HTTP/ 1.1', 'HTTP/1000.1', 'HTTP/1.1x', 'HTTP/1', 'HTTP/', 'HTTP',
      'HTTP/1.2', 'HTTP/3.0', 'HTTP/1.1\t', 'HTTP/1 .1', 'HTTP/1.1.1', 'HTTP/a.b', 'HTTPS/1.1', 'HTTP/1.999',
      'HTTP/001.001', 'HTTP/1.0', 'HTTP/1.1\x00', 'Http/1.1',
    ]);
    ops.push(`version:${JSON.stringify(v)}`);
    req.version = v;
  },
  uri(r, req, ops) {
    const v = r.pick([
      () => 'x', () => 'x/y', () => '%', () => '/%', () => '/%z', () => '/%zz', () => '/%2', () => '/%00',
      () => '/%0a', () => '/..', () => '/../x', () => '/a/../../x', () => '/a/b/../../../../etc/passwd',
      () => '/./x', () => '/x/.', () => '/x/..', () => '/%2e%2e/x', () => '/x%2f..%2f..%2fy', () => '/x#frag',
      () => '/#', () => '#', () => '/x?a=%', () => '/x?#', () => '*', () => '//x', () => '///', () => '/x y',
      () => '/x\ty', () => '/\\x', () => '/x\\..\\..', () => '/x\x00', () => '/x\x7f', () => '/\xc3\xa9',
      () => '/x' + '/a'.repeat(r.pick([100, 2000, 4500])), () => '/' + 'u'.repeat(r.pick([1000, 9000])),
      () => 'http://', () => 'http:///x', () => 'http://[::1/x', () => 'http://::1]/x', () => 'http://[::1]:8080/x',
      () => 'http://a@b/x', () => 'http://user:pw@localhost/x', () => 'http://localhost:99999/x',
      () => 'http://localhost:/x', () => 'http://local host/x', () => 'http://localhost?x', () => 'http://localhost',
      () => 'http://localhost#x', () => 'ftp://localhost/x', () => 'h:/x', () => 'HTTP://LOCALHOST/X',
      () => 'http://%6cocalhost/x', () => 'http://localhost/../../x', () => 'http://[v1.x]/x',
      () => 'http://-/x', () => 'http://a..b/x', () => '/x?' + 'q'.repeat(300), () => '/x;p=1', () => '',
      () => '/x%', () => '/%%30', () => '/%C0%AE%C0%AE/', () => '/lua/../x', () => '/lua%3fx',
    ])();
    ops.push(`uri:${JSON.stringify(v.length > 40 ? v.slice(0, 20) + `...(${v.length})` : v)}`);
    req.target = v;
  },
  header(r, req, ops) {
    const kind = r.pick([
      'no-colon', 'space-before-colon', 'tab-before-colon', 'bad-name-char', 'long-name', 'long-value',
      'obs-fold', 'join-next', 'empty-name', 'name-only', 'ctl-in-value', 'underscore', 'leading-space',
      'many-headers', 'nul-in-name', 'high-in-value', 'colon-only', 'dup-header',
    ]);
    ops.push(`header:${kind}`);
    const pos = r.int(req.headers.length + 1);
    switch (kind) {
      case 'no-colon': req.headers.splice(pos, 0, [`X-Fuzz ${randomToken(r, 4)}`, null]); break;
      case 'space-before-colon':
        if (req.headers.length && r.chance(0.6)) req.headers[r.int(req.headers.length)][0] += ' ';
        else req.headers.splice(pos, 0, ['X-Fuzz ', 'v']);
        break;
      case 'tab-before-colon': req.headers.splice(pos, 0, ['Host\t', 'localhost']); break;
      case 'bad-name-char': {
        const c = String.fromCharCode(r.pick([0x28, 0x29, 0x2c, 0x2f, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b,
          0x5c, 0x5d, 0x7b, 0x7d, 0x22, 0x20, 0x09, 0x01, 0x7f, 0x80, 0xff, 0x2e, 0x7e, 0x21]));
        const name = r.chance(0.5) ? `X${c}Fuzz` : `${c}Host`;
        req.headers.splice(pos, 0, [name, r.pick(['v', 'localhost'])]);
        break;
      }
      case 'long-name': req.headers.splice(pos, 0, [randomToken(r, r.pick([300, 1100, 4000, 8200, 12000])), 'v']); break;
      case 'long-value': req.headers.splice(pos, 0, ['X-Long', 'v'.repeat(r.pick([1000, 4000, 8200, 20000]))]); break;
      case 'obs-fold':
        if (req.headers.length && r.chance(0.7)) {
          const i = r.int(req.headers.length);
          req.headers.splice(i + 1, 0, [r.pick([' ', '\t', '  ']) + r.pick(['folded', 'x', '']), null]);
        } else req.headers.splice(0, 0, [' folded-first', null]);
        break;
      case 'join-next': {
        // "Host: localhos" + "User-Agent: fuzz" on one line, as if the line end went missing
        while (req.headers.length < 2) req.headers.push(['User-Agent', 'fuzz']);
        const i = r.int(req.headers.length - 1);
        const [a, b] = [req.headers[i], req.headers[i + 1]];
        const av = a[1] === null ? '' : a[1];
        const joined = `${a[0]}: ${av.slice(0, Math.max(0, av.length - r.int(2)))}${b[0]}: ${b[1] ?? ''}`;
        req.headers.splice(i, 2, [joined, null]);
        break;
      }
      case 'empty-name': req.headers.splice(pos, 0, ['', r.pick(['v', 'localhost'])]); break;
      case 'name-only': req.headers.splice(pos, 0, [r.pick(['X-Fuzz', 'Host', 'Content-Length']), '']); break;
      case 'ctl-in-value':
        req.headers.splice(pos, 0, ['X-Fuzz', `a${String.fromCharCode(r.pick([0x00, 0x01, 0x0b, 0x0c, 0x0d, 0x1f, 0x7f]))}b`]);
        break;
      case 'underscore': req.headers.splice(pos, 0, [r.pick(['X_Fuzz', 'Content_Length', 'Host_', '_']), '5']); break;
      case 'leading-space': req.headers.splice(pos, 0, [' Host', 'localhost']); break;
      case 'many-headers': {
        const n = r.pick([50, 120, 1000]);
        for (let i = 0; i < n; i++) req.headers.splice(pos, 0, [`X-H${i}`, 'v']);
        break;
      }
      case 'nul-in-name': req.headers.splice(pos, 0, ['X-F\x00uzz', 'v']); break;
      case 'high-in-value': req.headers.splice(pos, 0, ['X-Fuzz', '\xe9\xff\x80']); break;
      case 'colon-only': req.headers.splice(pos, 0, [':', null]); break;
      case 'dup-header':
        if (req.headers.length) req.headers.splice(pos, 0, [...req.headers[r.int(req.headers.length)]]);
        break;
    }
  },
  host(r, req, ops) {
    const v = r.pick([
      '', ' ', 'local host', 'localhost/', '/localhost', 'local/host', 'localhost\\x', '..', '.', 'a..b',
      '.localhost', 'localhost..', '[::1', '::1]', '[::1]x', '[::1]:', '[::1]:abc', '[', ']', '[]', '[::1]]',
      '[[::1]', '::1', 'localhost:', 'localhost:abc', 'localhost:99999', 'localhost:-1', 'localhost:8080:90',
      'user@localhost', '@', 'local%20host', 'localhost\t', '\tlocalhost', 'LOCALHOST', 'l'.repeat(300),
      'a'.repeat(5000), '-', '_', 'localhost\x00', 'localhost\x7f', 'loc\xe9lhost', 'localhost;', 'a,b',
      'localhost?x', 'localhost#x', '[v1.x]', '[fe80::1%25eth0]', '127.0.0.1:0', '0', '0x7f.1', '1.2.3.4.5',
    ]);
    const i = hostHeaderIndex(req);
    const how = r.wpick([[5, 'set'], [3, 'dup'], [1, 'dup-same'], [1, 'remove']]);
    ops.push(`host:${how}:${JSON.stringify(v.length > 40 ? v.slice(0, 10) + `...(${v.length})` : v)}`);
    if (how === 'remove') { if (i >= 0) req.headers.splice(i, 1); return; }
    if (how === 'dup-same') { req.headers.splice(r.int(req.headers.length + 1), 0, ['Host', i >= 0 ? req.headers[i][1] : 'localhost']); return; }
    if (how === 'dup' || i < 0) req.headers.splice(r.int(req.headers.length + 1), 0, [r.pick(['Host', 'host', 'HOST']), v]);
    else req.headers[i][1] = v;
  },
  clte(r, req, ops) {
    const kind = r.pick([
      'cl-neg', 'cl-nan', 'cl-dup-same', 'cl-dup-diff', 'cl-te', 'te-chunked', 'te-chunked-bad', 'te-gzip',
      'te-gzip-chunked', 'te-chunked-gzip', 'te-dup', 'te-http10', 'cl-huge', 'cl-plus', 'cl-space',
      'cl-short-body', 'cl-long-body', 'cl-empty', 'cl-get', 'te-Chunked', 'cl-hex', 'te-space', 'cl-comma',
    ]);
    ops.push(`clte:${kind}`);
    const dropCl = () => { req.headers = req.headers.filter(([k]) => k.toLowerCase() !== 'content-length'); };
    const add = (k, v) => req.headers.splice(r.int(req.headers.length + 1), 0, [k, v]);
    const chunkedBody = () => Buffer.from('5\r\nhello\r\n0\r\n\r\n', 'latin1');
    if (req.method === 'GET' || req.method === 'HEAD') req.method = r.chance(0.7) ? 'POST' : req.method;
    switch (kind) {
      case 'cl-neg': dropCl(); add('Content-Length', '-1'); break;
      case 'cl-nan': dropCl(); add('Content-Length', r.pick(['abc', '1a', '', ' ', '0x10', '1.5'])); break;
      case 'cl-dup-same': dropCl(); add('Content-Length', String(req.body.length)); add('Content-Length', String(req.body.length)); break;
      case 'cl-dup-diff': dropCl(); add('Content-Length', String(req.body.length)); add('Content-Length', String(req.body.length + 1)); break;
      case 'cl-te': req.body = chunkedBody(); dropCl(); add('Content-Length', String(req.body.length)); add('Transfer-Encoding', 'chunked'); break;
      case 'te-chunked': dropCl(); req.body = chunkedBody(); add('Transfer-Encoding', 'chunked'); break;
      case 'te-chunked-bad':
        dropCl();
        req.body = Buffer.from(r.pick(['zz\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX0\r\n\r\n', '-1\r\n\r\n', '5;ext\r\nhello\r\n0\r\n\r\n',
          'fffffffffffffffff\r\n', '0\r\n\r\n', '5\nhello\n0\n\n']), 'latin1');
        add('Transfer-Encoding', 'chunked');
        break;
      case 'te-gzip': dropCl(); add('Transfer-Encoding', 'gzip'); break;
      case 'te-gzip-chunked': dropCl(); req.body = chunkedBody(); add('Transfer-Encoding', 'gzip, chunked'); break;
      case 'te-chunked-gzip': dropCl(); req.body = chunkedBody(); add('Transfer-Encoding', 'chunked, gzip'); break;
      case 'te-dup': dropCl(); req.body = chunkedBody(); add('Transfer-Encoding', 'chunked'); add('Transfer-Encoding', 'chunked'); break;
      case 'te-http10': dropCl(); req.version = 'HTTP/1.0'; req.body = chunkedBody(); add('Transfer-Encoding', 'chunked'); break;
      case 'cl-huge': dropCl(); add('Content-Length', r.pick(['99999999999999999999', '9223372036854775807', '9223372036854775808', '4294967296'])); break;
      case 'cl-plus': dropCl(); add('Content-Length', `+${req.body.length}`); break;
      case 'cl-space': dropCl(); add('Content-Length', ` ${req.body.length} `); break;
      case 'cl-comma': dropCl(); add('Content-Length', `${req.body.length}, ${req.body.length}`); break;
      case 'cl-hex': dropCl(); add('Content-Length', '0x0'); break;
      case 'cl-short-body': dropCl(); add('Content-Length', String(req.body.length + r.range(1, 50))); break;
      case 'cl-long-body': dropCl(); add('Content-Length', String(Math.max(0, req.body.length - 1))); req.body = Buffer.concat([req.body, Buffer.from('GET / HTTP/1.1\r\n\r\n')]); break;
      case 'cl-empty': dropCl(); add('Content-Length', ''); break;
      case 'cl-get': dropCl(); req.method = 'GET'; req.body = Buffer.from('abc'); add('Content-Length', '3'); break;
      case 'te-Chunked': dropCl(); req.body = chunkedBody(); add('Transfer-Encoding', r.pick(['Chunked', 'CHUNKED', ' chunked', 'chunked ', 'xchunked', 'chunked;q=1'])); break;
      case 'te-space': dropCl(); req.body = chunkedBody(); add('Transfer-Encoding ', 'chunked'); break;
    }
  },
  eol(r, req, ops) {
    const kind = r.pick(['lf', 'lf', 'cr', 'mixed-first', 'mixed-last', 'crcr', 'lfcr', 'space-eol', 'crlf-first']);
    ops.push(`eol:${kind}`);
    req.eolKind = kind;
  },
  truncate(r, req, ops) {
    ops.push('truncate');
    req.truncate = r.next();
  },
};

function serialize(r, req) {
  const parts = [];
  const line = req.version === '' ? `${req.method} ${req.target}` : `${req.method} ${req.target} ${req.version}`;
  parts.push(line);
  for (const [k, v] of req.headers) parts.push(v === null ? k : `${k}: ${v}`);
  parts.push(''); // the empty line
  let head;
  const kind = req.eolKind;
  if (!kind) head = parts.join('\r\n') + '\r\n';
  else {
    const n = parts.length;
    const eols = parts.map((_, i) => {
      switch (kind) {
        case 'lf': return '\n';
        case 'cr': return i === 0 || i === n - 1 || r.chance(0.5) ? '\r' : '\r\n';
        case 'mixed-first': return i === 0 ? '\n' : '\r\n';
        case 'mixed-last': return i === n - 1 ? '\n' : '\r\n';
        case 'crcr': return i === r.int(n) ? '\r\r\n' : '\r\n';
        case 'lfcr': return i === r.int(n) ? '\n\r' : '\r\n';
        case 'space-eol': return i === r.int(n) ? ' \r\n' : '\r\n';
        case 'crlf-first': return '\r\n';
        default: return '\r\n';
      }
    });
    head = (kind === 'crlf-first' ? '\r\n' : '') + parts.map((p, i) => p + eols[i]).join('');
  }
  return { head: Buffer.from(head, 'latin1'), body: req.body };
}

function byteMutate(r, head, ops) {
  const n = r.wpick([[6, 1], [3, 2], [1, 3], [1, 5]]);
  let b = head;
  for (let k = 0; k < n; k++) {
    // aim mostly at the request line and the first header lines, sometimes anywhere
    const limit = r.chance(0.7) ? Math.min(b.length, 48) : b.length;
    const pos = r.int(Math.max(1, limit));
    const op = r.wpick([[4, 'replace'], [3, 'insert'], [2, 'delete'], [1, 'dup']]);
    const byte = randByte(r);
    if (op === 'replace' && pos < b.length) {
      b = Buffer.from(b);
      b[pos] = byte;
      ops.push(`byte:replace@${pos}=0x${byte.toString(16).padStart(2, '0')}`);
    } else if (op === 'delete' && pos < b.length) {
      b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + 1)]);
      ops.push(`byte:delete@${pos}`);
    } else if (op === 'dup' && pos < b.length) {
      b = Buffer.concat([b.subarray(0, pos + 1), b.subarray(pos)]);
      ops.push(`byte:dup@${pos}`);
    } else {
      b = Buffer.concat([b.subarray(0, pos), Buffer.from([byte]), b.subarray(pos)]);
      ops.push(`byte:insert@${pos}=0x${byte.toString(16).padStart(2, '0')}`);
    }
  }
  return b;
}

const STRUCTURAL = [
  [8, 'method'], [8, 'version'], [12, 'uri'], [16, 'header'], [14, 'host'], [10, 'clte'], [7, 'eol'],
  [3, 'truncate'],
];

/** One request (deterministic in seed and index). */
export function generateOne(seed, index) {
  const r = new Rng(requestSeed(seed, index));
  const ops = [];
  const req = baseRequest(r, ops);
  const mode = r.wpick([[10, 'valid'], [50, 'struct'], [22, 'bytes'], [18, 'both']]);
  if (mode === 'struct' || mode === 'both') {
    const k = r.wpick([[7, 1], [2, 2], [1, 3]]);
    for (let i = 0; i < k; i++) {
      const m = r.wpick(STRUCTURAL);
      if (m === 'truncate' && req.truncate !== null) continue;
      MUTATORS[m](r, req, ops);
    }
  }
  let { head, body } = serialize(r, req);
  if (mode === 'bytes' || mode === 'both') head = byteMutate(r, head, ops);
  let bytes = Buffer.concat([head, body]);
  if (req.truncate !== null) {
    // cut inside the head: the empty line never comes
    bytes = head.subarray(0, Math.max(1, Math.floor(req.truncate * (head.length - 2))));
  }
  if (mode === 'valid') ops.push('valid');
  return { bytes, ops };
}

/** n requests with the operations that made each one. */
export function generateTagged(n, seed = 1) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(generateOne(seed, i));
  return out;
}

/** n raw requests (Buffers), deterministic in (n, seed). */
export function generate(n, seed = 1) {
  return generateTagged(n, seed).map((x) => x.bytes);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let count = 20;
  let seed = 1;
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--count') count = Number(argv[++i]);
    else if (argv[i] === '--seed') seed = Number(argv[++i]);
  }
  for (const { bytes, ops } of generateTagged(count, seed)) {
    process.stdout.write(`${JSON.stringify(bytes.toString('latin1'))} ${ops.join(' ')}\n`);
  }
}
