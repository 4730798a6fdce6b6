// nginx regexes are PCRE; convert the common PCRE-only syntax to JavaScript RegExp:
// `(?P<name>...)` and `(?<name>...)` named groups, `(?P=name)` back references, leading
// inline flags `(?i)` / `(?s)` / `(?m)`, `\A` `\z` `\Z`, `\Q...\E` and POSIX classes
// like `[[:alpha:]]`.

import { ConfError, type ConfPos } from './errors.js';

const POSIX: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\r\\n\\v\\f',
  blank: ' \\t',
  xdigit: '0-9A-Fa-f',
  word: 'A-Za-z0-9_',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
};

function escapeLiteral(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** Convert PCRE source to a JS source and flags; throws Error with a PCRE-like message. */
export function pcreToJs(src: string, caseless = false): { source: string; flags: string } {
  let flags = caseless ? 'i' : '';
  let s = src;
  // leading inline option groups
  for (;;) {
    const m = /^\(\?([imsx]+)\)/.exec(s);
    if (!m) break;
    for (const f of m[1]) {
      if (f === 'x') throw new Error('the (?x) option is not supported');
      if (!flags.includes(f)) flags += f;
    }
    s = s.slice(m[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined) {
        out += '\\\\';
        break;
      }
      if (!inClass && n === 'A') { out += '^'; i++; continue; }
      if (!inClass && (n === 'z' || n === 'Z')) { out += '$'; i++; continue; }
      if (n === 'Q') {
        const end = s.indexOf('\\E', i + 2);
        const lit = end < 0 ? s.slice(i + 2) : s.slice(i + 2, end);
        out += escapeLiteral(lit);
        i = end < 0 ? s.length : end + 1;
        continue;
      }
      if (n === 'h') { out += inClass ? ' \\t' : '[ \\t]'; i++; continue; }
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && s[i + 1] === ':') {
        const end = s.indexOf(':]', i + 2);
        const name = end > 0 ? s.slice(i + 2, end) : '';
        if (POSIX[name] !== undefined) {
          out += POSIX[name];
          i = end + 1;
          continue;
        }
      }
      if (c === '[') { out += '\\['; continue; }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // a `]` right after `[` or `[^` is literal in PCRE
      if (s[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (s[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && s[i + 1] === '?') {
      if (s[i + 2] === 'P' && s[i + 3] === '<') {
        out += '(?<';
        i += 3;
        continue;
      }
      if (s[i + 2] === 'P' && s[i + 3] === '=') {
        const end = s.indexOf(')', i);
        out += `\\k<${s.slice(i + 4, end)}>`;
        i = end;
        continue;
      }
      if (s[i + 2] === "'") {
        const end = s.indexOf("'", i + 3);
        if (end > 0) {
          out += `(?<${s.slice(i + 3, end)}>`;
          i = end;
          continue;
        }
      }
      // inline options after the start, `(?i)` or `(?i:...)`: JS (Node 20) has no local
      // modifiers, so the option is applied to the whole pattern (an approximation)
      const opt = /^\(\?([ims]+)([:)])/.exec(s.slice(i));
      if (opt) {
        for (const f of opt[1]) if (!flags.includes(f)) flags += f;
        if (opt[2] === ':') out += '(?:';
        i += opt[0].length - 1;
        continue;
      }
      if (s[i + 2] === '>' || s[i + 2] === '|' || s[i + 2] === 'R' || /\d/.test(s[i + 2] ?? '')) {
        throw new Error('this PCRE construct is not supported');
      }
    }
    out += c;
  }
  if (inClass) throw new Error('missing terminating ] for character class');
  return { source: out, flags };
}

/** Where PCRE would point for some errors (nginx appends `at "<rest>"`). */
function errorOffset(src: string, msg: string): number {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') { i++; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') { inClass = true; continue; }
    if (msg === 'unmatched closing parenthesis') {
      if (c === '(') depth++;
      else if (c === ')' && --depth < 0) return i;
    } else if (msg === 'quantifier does not follow a repeatable item') {
      const prev = i === 0 ? '' : src[i - 1];
      if ((c === '*' || c === '+' || c === '?') && (i === 0 || prev === '(' || prev === '|')) return i;
    }
  }
  return -1;
}

function pcreMessage(jsMsg: string): string {
  if (/Unterminated group/i.test(jsMsg)) return 'missing closing parenthesis';
  if (/Unmatched '\)'/i.test(jsMsg)) return 'unmatched closing parenthesis';
  if (/Nothing to repeat/i.test(jsMsg)) return 'quantifier does not follow a repeatable item';
  if (/Unterminated character class/i.test(jsMsg)) return 'missing terminating ] for character class';
  if (/numbers out of order/i.test(jsMsg)) return 'numbers out of order in {} quantifier';
  if (/Duplicate capture group name/i.test(jsMsg)) return 'two named subpatterns have the same name (PCRE2_DUPNAMES not set)';
  if (/Invalid named capture referenced/i.test(jsMsg)) return 'reference to non-existent subpattern';
  return jsMsg.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '').toLowerCase();
}

/** Compile an nginx regex; errors are reported as nginx reports pcre2_compile() failures. */
export function compileRegex(src: string, caseless: boolean, pos?: ConfPos | null): RegExp {
  let conv: { source: string; flags: string };
  try {
    conv = pcreToJs(src, caseless);
  } catch (e) {
    throw new ConfError(`pcre2_compile() failed: ${(e as Error).message} in "${src}"`, pos);
  }
  try {
    return new RegExp(conv.source, conv.flags);
  } catch (e) {
    const msg = pcreMessage((e as Error).message);
    const at = errorOffset(src, msg);
    throw new ConfError(`pcre2_compile() failed: ${msg} in "${src}"${at >= 0 ? ` at "${src.slice(at)}"` : ''}`, pos);
  }
}
