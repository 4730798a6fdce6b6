// ngx.re internals: PCRE → JS translation, compile-error wording (checked against the reference,
// lua-nginx-module 0.10.23 on PCRE 8.x, via ref-run), byte offsets, templates, SQL quoting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translate, PcreError } from '../../src/re/translate.js';
import { compile, parseOptions, Subject, execAt, capBytes, capRange, ReExecError } from '../../src/re/engine.js';
import { parseTemplate, TemplateError } from '../../src/api/re.js';
import { quoteSqlStr } from '../../src/api/args.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const u8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function rx(pat: string | Buffer, opts = '') {
  const o = parseOptions(opts);
  if ('bad' in o) throw new Error('bad flag');
  return compile(typeof pat === 'string' ? (o.utf ? u8(pat) : b(pat)) : pat, opts, o);
}
/** first match: [start, end] byte offsets and capture strings (null = unmatched) */
function m(pat: string, subject: string | Buffer, opts = '', from = 0) {
  const re = rx(pat, opts);
  const buf = typeof subject === 'string' ? (opts.includes('u') ? u8(subject) : b(subject)) : subject;
  const s = new Subject(buf, re.opts.utf, true);
  const r = execAt(re, s, from);
  if (!r) return null;
  const caps: Array<string | null> = [];
  for (let n = 0; n <= re.ncap; n++) caps.push(capBytes(re, s, r, n)?.toString(opts.includes('u') ? 'utf8' : 'latin1') ?? null);
  return { at: [r.start, r.end], caps };
}
function compileError(pat: string, opts = ''): string {
  try {
    rx(pat, opts);
  } catch (e) {
    return (e as Error).message;
  }
  return 'compiled';
}

test('translation of PCRE-only syntax', () => {
  const t = (p: string, o = {}) => translate(p, o).source;
  assert.equal(t('(\\d+)'), '([0-9]+)');
  assert.equal(t('(?<first>a)(?P<second>x)?'), '(a)(x)?');
  assert.equal(t('a++b'), '(?=((?:a)+))\\1b');
  assert.equal(t('(?>a+)a'), '(?=(a+))\\1a');
  assert.equal(t('\\Qa.b*\\E'), 'a\\.b\\*');
  assert.equal(t(' a b # c\n c ', { extended: true }), 'abc');
  assert.equal(t('x{y'), 'x\\{y');
  assert.equal(t('a{,2}'), 'a\\{,2\\}');
  assert.equal(t('a]b'), 'a\\]b');
  assert.equal(t('.'), '[^\\n]');
  assert.equal(t('.', { dotall: true }), '[^]');
  assert.equal(t('$'), '(?=\\n?$)');
  assert.equal(t('$', { multiline: true }), '(?=\\n|$)');
  assert.equal(t('\\A\\z\\Z'), '^$(?=\\n?$)');
  assert.equal(t('[^A]', { caseless: true }), '[^Aa]');
  assert.equal(t('hi', { caseless: true }), '[Hh][Ii]');
  assert.equal(t('a(?i)b'), 'a[Bb]');
  assert.equal(t('(?i:a)b'), '(?:[Aa])b');
  // helper groups shift JS numbering; PCRE numbers are mapped
  const tr = translate('(?>(a))(b)\\2');
  assert.deepEqual(tr.jsIndex, [0, 2, 3]);
  assert.equal(tr.source, '(?=((a)))\\1(b)(?:\\3)');
  const named = translate('(?<x>a)(?<x>b)', { dupnames: true });
  assert.deepEqual(named.names, [{ name: 'x', index: 1 }, { name: 'x', index: 2 }]);
  assert.throws(() => translate('(?<x>a)(?<x>b)'), PcreError);
});

test('compile errors are worded like PCRE 8 through ngx_lua', () => {
  assert.equal(compileError('('), 'pcre_compile() failed: missing ) in "("');
  assert.equal(compileError('((a)'), 'pcre_compile() failed: missing ) in "((a)"');
  assert.equal(compileError('[a'), 'pcre_compile() failed: missing terminating ] for character class in "[a"');
  assert.equal(compileError('a)'), 'pcre_compile() failed: unmatched parentheses in "a)" at ")"');
  assert.equal(compileError('*a'), 'pcre_compile() failed: nothing to repeat in "*a" at "*a"');
  assert.equal(compileError('a**'), 'pcre_compile() failed: nothing to repeat in "a**" at "*"');
  assert.equal(compileError('a|*'), 'pcre_compile() failed: nothing to repeat in "a|*" at "*"');
  assert.equal(compileError('a{3,2}'), 'pcre_compile() failed: numbers out of order in {} quantifier in "a{3,2}" at "}"');
  assert.equal(compileError('x{99999}'), 'pcre_compile() failed: number too big in {} quantifier in "x{99999}" at "}"');
  assert.equal(compileError('\\'), 'pcre_compile() failed: \\ at end of pattern in "\\"');
  assert.equal(compileError('(?<n>a)(?<n>b)'), 'pcre_compile() failed: two named subpatterns have the same name in "(?<n>a)(?<n>b)" at ">b)"');
  assert.equal(compileError('(?<1a>x)'), 'pcre_compile() failed: group name must start with a non-digit in "(?<1a>x)" at "1a>x)"');
  assert.equal(compileError('\\k<zz>'), 'pcre_compile() failed: reference to non-existent subpattern in "\\k<zz>" at ">"');
  assert.equal(compileError('(a)\\2'), 'pcre_compile() failed: reference to non-existent subpattern in "(a)\\2"');
  assert.equal(compileError('[z-a]'), 'pcre_compile() failed: range out of order in character class in "[z-a]" at "a]"');
  assert.equal(compileError('(?z)'), 'pcre_compile() failed: unrecognized character after (? or (?- in "(?z)" at "z)"');
  assert.equal(compileError('[[:foo:]]'), 'pcre_compile() failed: unknown POSIX class name in "[[:foo:]]" at "foo:]]"');
  assert.equal(compileError('\\x{100}'), 'pcre_compile() failed: character value in \\x{} or \\o{} is too large in "\\x{100}" at "}"');
  assert.equal(compileError('\\x{100}', 'u'), 'compiled');
  assert.deepEqual(parseOptions('iz'), { bad: 'z' });
});

test('matching semantics that differ between PCRE and JS', () => {
  assert.deepEqual(m('$', 'a\nb\n')?.at, [3, 3]); // before the final newline
  assert.deepEqual(m('^b', 'a\nb', 'm')?.at, [2, 3]);
  assert.equal(m('^', 'a\n', 'm', 1), null); // not after a newline that ends the subject
  assert.deepEqual(m('.', '\r')?.at, [0, 1]); // `.` only excludes \n
  assert.equal(m('a\\sb', 'a\xa0b'), null); // \s is ASCII
  assert.equal(m('\\w', '\xe9'), null);
  assert.equal(m('\xe9', '\xc9', 'i'), null); // caseless is ASCII-only without u
  assert.deepEqual(m('é', 'É', 'iu')?.at, [0, 2]);
  assert.equal(m('a++a', 'aaa'), null);
  assert.equal(m('(?>a+)a', 'aaa'), null);
  assert.deepEqual(m('[[:^alpha:] ]+', 'x a1')?.caps, [' ']);
  assert.deepEqual(m('[[:upper:]]+', 'Ab', 'i')?.caps, ['Ab']);
  assert.deepEqual(m('(a)(x)?(b)', 'ab')?.caps, ['ab', 'a', null, 'b']);
  assert.deepEqual(m('a(?i)b(?-i)C', 'AbC'), null);
  assert.deepEqual(m('a(?i:b)c', 'aBc')?.caps, ['aBc']);
  assert.deepEqual(m('b\\Rc', 'ab\r\ncd')?.caps, ['b\r\nc']);
  assert.deepEqual(m('a|ab|abc', 'abcd', 'd')?.caps, ['abc']); // DFA: longest
  assert.deepEqual(m('(a)(b)?', 'xabcd', 'd')?.caps, ['ab']); // DFA: no captures
  assert.equal(m('l', 'hello', 'a'), null);
  assert.deepEqual(m('l', 'hello', 'a', 2)?.at, [2, 3]);
});

test('byte offsets with u', () => {
  const re = rx('w(.)', 'u');
  const s = new Subject(u8('héllo wörld'), true, true);
  const r = execAt(re, s, 0, true)!;
  assert.deepEqual([r.start, r.end], [7, 10]);
  assert.deepEqual(capRange(re, s, r, 1), [8, 10]);
  assert.equal(capBytes(re, s, r, 1)!.toString('utf8'), 'ö');
  // without u the same subject is bytes
  const re2 = rx('w(.)');
  const s2 = new Subject(u8('héllo wörld'), false, true);
  const r2 = execAt(re2, s2, 0)!;
  assert.deepEqual([r2.start, r2.end], [7, 9]);
  // starting inside a character, invalid UTF-8
  assert.throws(() => execAt(rx('a', 'u'), new Subject(u8('éa'), true, true), 1), (e: Error) => e instanceof ReExecError && e.message === 'pcre_exec() failed: -11');
  assert.throws(() => new Subject(b('h\xffllo'), true, true), (e: Error) => e.message === 'pcre_exec() failed: -10');
  // a supplementary-plane character is 4 bytes, 2 JS units
  const s3 = new Subject(u8('😀x😀y'), true, true);
  const r3 = execAt(rx('y', 'u'), s3, 0)!;
  assert.deepEqual([r3.start, r3.end], [9, 10]);
  assert.deepEqual(execAt(rx('😀', 'u'), s3, 4)?.start, 5);
});

test('replacement templates', () => {
  assert.deepEqual(parseTemplate(b('[$1]$$${2}x$10')), [b('['), 1, b(']$'), 2, b('x'), 10]);
  assert.throws(() => parseTemplate(b('$')), (e: Error) => e instanceof TemplateError && e.message === 'lua script: invalid capturing variable name found in "$"');
  assert.throws(() => parseTemplate(b('a$-x')), /invalid capturing variable name found in "\$-x"/);
  assert.throws(() => parseTemplate(b('${1')), /the closing bracket in "1" variable is missing/);
  assert.throws(() => parseTemplate(b('${zz}')), /named capturing variable "zz" \(named captures not supported yet\)/);
  assert.throws(() => parseTemplate(b('$a')), /named capturing variable "a"/);
});

test('quote_sql_str', () => {
  assert.equal(quoteSqlStr(b('a\0b\bc\nd\re\tf\x1ag\'h"i\\j')).toString('latin1'), "'a\\0b\\bc\\nd\\re\\tf\\Zg\\'h\\\"i\\\\j'");
  assert.equal(quoteSqlStr(b('\xe9%_')).toString('latin1'), "'\xe9%_'");
});
