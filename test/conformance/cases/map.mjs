// nginx's map module: a variable computed from another by exact keys (case-insensitive),
// regexes in order (with their captures), or the default.
import { lua } from '../lib.mjs';

const MAP = 'map $arg_a $m { default d; Foo foo; ~^b(.*) "bee $1"; ~*^Q(?<rest>.*) "q:$rest"; }';

export default [
  {
    name: 'map: exact keys ignore case, regexes give their captures, default otherwise',
    http: MAP,
    server: lua('ngx.say(ngx.var.m)'),
    steps: [
      { request: 'GET /t?a=foo', body: 'foo\n' },
      { request: 'GET /t?a=FOO', body: 'foo\n' },
      { request: 'GET /t?a=bar', body: 'bee ar\n' },
      { request: 'GET /t?a=qux', body: 'q:ux\n' },
      { request: 'GET /t?a=zzz', body: 'd\n' },
    ],
  },
  {
    name: 'map without a default: an empty value',
    http: 'map $arg_a $m2 { x y; }',
    server: lua('ngx.say("[", ngx.var.m2, "]")'),
    request: 'GET /t?a=nothing',
    body: '[]\n',
  },
  {
    name: 'a map variable in return and in a value with variables',
    http: 'map $uri $where { default "at $uri"; /home home; }',
    server: 'location / { return 200 "$where\\n"; }',
    steps: [
      { request: 'GET /home', body: 'home\n' },
      { request: 'GET /other', body: 'at /other\n' },
    ],
  },
];
