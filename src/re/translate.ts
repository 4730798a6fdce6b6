// PCRE (as ngx.re compiles it) → JavaScript RegExp source.
//
// The JS regex is always compiled with the `u` flag (strict syntax, \u{...} escapes, \p{...}).
// Without the `u` option the subject is decoded as latin1, so one JS character is one byte and
// a match's indices are byte offsets; with `u` the subject is decoded as UTF-8 and the caller
// maps indices back to bytes.
//
// Everything whose meaning differs between PCRE and JS is emitted explicitly instead of relying
// on JS flags: `.` (PCRE excludes only \n), `^`/`$` (PCRE's `$` also matches before a final
// newline, and `^` with `m` does not match after a newline that ends the subject), `\s` (no
// \xA0 in PCRE), case-insensitivity (ASCII-only without `u`, done by expanding letters to
// classes so `(?i)` can be scoped), `x` (whitespace/comments stripped here). Capture groups are
// all emitted as plain numbered groups (names are kept in our own table, so duplicate names
// work), and atomic groups / possessive quantifiers become `(?=(X))\N`, which has the same
// semantics. Group numbers are placeholders until the end because those helper groups shift
// JavaScript's numbering.

export class PcreError extends Error {
  /** offset into the pattern (in pattern characters) where PCRE would point; -1 / length = none */
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

export interface TranslateOptions {
  caseless?: boolean;
  multiline?: boolean;
  dotall?: boolean;
  extended?: boolean;
  utf?: boolean;
  dupnames?: boolean;
}

export interface Translated {
  source: string;
  /** extra JS flags besides `u` (only `i`, as a fallback for caseless back references) */
  flags: string;
  /** number of PCRE capture groups */
  ncap: number;
  /** JS group number of each PCRE group (index 0 = whole match → 0) */
  jsIndex: number[];
  /** named groups in pattern order */
  names: Array<{ name: string; index: number }>;
  /** pattern starts with \G: match only at the start position */
  anchoredG: boolean;
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  U: boolean;
  J: boolean;
}

type Range = [number, number];

const MAXCP = 0x10ffff;
const SPACE: Range[] = [[9, 13], [32, 32]];
const DIGIT: Range[] = [[48, 57]];
const WORD: Range[] = [[48, 57], [65, 90], [95, 95], [97, 122]];
const HSPACE_B: Range[] = [[9, 9], [32, 32], [0xa0, 0xa0]];
const HSPACE_U: Range[] = [[9, 9], [32, 32], [0xa0, 0xa0], [0x1680, 0x1680], [0x180e, 0x180e], [0x2000, 0x200a], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000]];
const VSPACE_B: Range[] = [[10, 13], [0x85, 0x85]];
const VSPACE_U: Range[] = [[10, 13], [0x85, 0x85], [0x2028, 0x2029]];

const POSIX: Record<string, Range[]> = {
  alpha: [[65, 90], [97, 122]],
  digit: DIGIT,
  alnum: [[48, 57], [65, 90], [97, 122]],
  upper: [[65, 90]],
  lower: [[97, 122]],
  space: SPACE,
  blank: [[9, 9], [32, 32]],
  xdigit: [[48, 57], [65, 70], [97, 102]],
  word: WORD,
  punct: [[33, 47], [58, 64], [91, 96], [123, 126]],
  cntrl: [[0, 31], [127, 127]],
  print: [[32, 126]],
  graph: [[33, 126]],
  ascii: [[0, 127]],
};

const GENERAL_CATEGORIES = new Set(['C', 'Cc', 'Cf', 'Cn', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'L&', 'M', 'Mc', 'Me', 'Mn',
  'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs']);

function normalize(rs: Range[]): Range[] {
  const s = rs.filter((r) => r[0] <= r[1]).map((r) => [r[0], r[1]] as Range).sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const r of s) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

function complement(rs: Range[]): Range[] {
  const n = normalize(rs);
  const out: Range[] = [];
  let next = 0;
  for (const [a, b] of n) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAXCP) out.push([next, MAXCP]);
  return out;
}

/** Case variants of one code point (ASCII-only without utf, Unicode simple mappings with it). */
function caseVariants(c: number, utf: boolean): number[] {
  const out: number[] = [];
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
    out.push(c ^ 0x20);
    if (utf) {
      const l = c | 0x20;
      if (l === 0x6b) out.push(0x212a); // KELVIN SIGN
      if (l === 0x73) out.push(0x17f); // LONG S
    }
    return out;
  }
  if (!utf || c < 128) return out;
  const ch = String.fromCodePoint(c);
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
    const cp = v.codePointAt(0)!;
    if (v.length === String.fromCodePoint(cp).length && cp !== c && !out.includes(cp)) out.push(cp);
  }
  if (c === 0x212a) out.push(0x6b, 0x4b);
  if (c === 0x17f) out.push(0x73, 0x53);
  return out;
}

function foldRanges(rs: Range[], utf: boolean): Range[] {
  const add: Range[] = [];
  for (const [a, b] of rs) {
    // ASCII letters: shift the intersection with A-Z / a-z
    const up: Range = [Math.max(a, 65), Math.min(b, 90)];
    if (up[0] <= up[1]) add.push([up[0] + 32, up[1] + 32]);
    const lo: Range = [Math.max(a, 97), Math.min(b, 122)];
    if (lo[0] <= lo[1]) add.push([lo[0] - 32, lo[1] - 32]);
    if (utf) {
      if ((a <= 0x6b && b >= 0x6b) || (a <= 0x4b && b >= 0x4b)) add.push([0x212a, 0x212a]);
      if ((a <= 0x73 && b >= 0x73) || (a <= 0x53 && b >= 0x53)) add.push([0x17f, 0x17f]);
      const lo2 = Math.max(a, 128);
      if (b >= lo2 && b - lo2 < 2000) {
        for (let c = lo2; c <= b; c++) for (const v of caseVariants(c, true)) add.push([v, v]);
      }
    }
  }
  return normalize(rs.concat(add));
}

function cpEsc(c: number): string {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) return String.fromCharCode(c);
  return `\\u{${c.toString(16)}}`;
}

function rangesBody(rs: Range[]): string {
  let s = '';
  for (const [a, b] of rs) s += a === b ? cpEsc(a) : b === a + 1 ? cpEsc(a) + cpEsc(b) : `${cpEsc(a)}-${cpEsc(b)}`;
  return s;
}

const SYNTAX = new Set('^$\\.*+?()[]{}|/');

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

// Placeholders for group numbers, resolved once all groups are known (never in emitted text
// otherwise: every control character of the pattern is emitted as an escape).
const G_OPEN = '\u0001', G_CLOSE = '\u0002', R_OPEN = '\u0003', R_CLOSE = '\u0004';

interface GroupFrame {
  kind: 'capture' | 'plain' | 'atomic' | 'look';
  flags: Flags;
  /** output position at the group's `(` (for its atom start) */
  outStart: number;
  helperId?: number;
  /** lookbehind groups: JS allows any, PCRE requires fixed length (not checked) */
}

export function translate(pat: string, opts: TranslateOptions = {}): Translated {
  const utf = !!opts.utf;
  let flags: Flags = { i: !!opts.caseless, m: !!opts.multiline, s: !!opts.dotall, x: !!opts.extended, U: false, J: !!opts.dupnames };
  let out = '';
  let ncap = 0;
  let nids = 0; // ids for all JS groups (captures and helpers), in creation order
  const capId: number[] = [0]; // PCRE group number → id
  const names: Array<{ name: string; index: number }> = [];
  const refs: Array<{ n: number; off: number }> = [];
  const nameRefs: Array<{ name: string; off: number; caseless: boolean }> = [];
  const stack: GroupFrame[] = [];
  let atomStart = -1; // out position of the last quantifiable atom, -1 = none
  let needJsI = false;
  let anchoredG = false;
  const len = pat.length;
  let i = 0;

  const err = (msg: string, off: number): never => {
    throw new PcreError(msg, off);
  };
  const groupMark = (id: number) => `(${G_OPEN}${id}${G_CLOSE}`;
  const refMark = (id: number) => `(?:\\${R_OPEN}${id}${R_CLOSE})`;

  const litChar = (c: number): string => {
    if (flags.i) {
      const v = caseVariants(c, utf);
      if (v.length) return `[${rangesBody(normalize([[c, c], ...v.map((x) => [x, x] as Range)]))}]`;
    }
    if (c < 128) {
      const ch = String.fromCharCode(c);
      if (SYNTAX.has(ch)) return '\\' + ch;
      if (c > 32 && c < 127) return ch;
    }
    return cpEsc(c);
  };
  const emitAtom = (s: string) => {
    atomStart = out.length;
    out += s;
  };
  const emitSet = (rs: Range[], negate = false) => emitAtom(`[${negate ? '^' : ''}${rangesBody(normalize(rs))}]`);

  /** Reads a code point at i (the pattern is a JS string: latin1 bytes, or UTF-16 with utf). */
  const cpAt = (k: number): number => (utf ? pat.codePointAt(k)! : pat.charCodeAt(k));
  const cpLen = (c: number) => (c > 0xffff ? 2 : 1);

  const readHex = (k: number, max: number): [number, number] => {
    let v = 0, n = 0;
    while (n < max && /[0-9A-Fa-f]/.test(pat[k + n] ?? '')) v = v * 16 + parseInt(pat[k + n], 16), n++;
    return [v, n];
  };
  const readOct = (k: number, max: number): [number, number] => {
    let v = 0, n = 0;
    while (n < max && /[0-7]/.test(pat[k + n] ?? '')) v = v * 8 + (pat.charCodeAt(k + n) - 48), n++;
    return [v, n];
  };
  const checkCp = (v: number, off: number) => {
    if (v > (utf ? MAXCP : 0xff)) err('character value in \\x{} or \\o{} is too large', off);
    return v;
  };

  /**
   * Parses an escape at pat[i] === '\\'. Returns a code point (literal), a range set, or a
   * special token handled by the caller. Advances i past the escape.
   */
  type Esc = { cp: number } | { set: Range[] } | { js: string } | { special: string; arg?: string | number };
  const readEscape = (inClass: boolean): Esc => {
    const start = i;
    i++;
    if (i >= len) err('\\ at end of pattern', len);
    const c = pat[i];
    i++;
    switch (c) {
      case 'd': return { set: DIGIT };
      case 'D': return { set: complement(DIGIT) };
      case 'w': return { set: WORD };
      case 'W': return { set: complement(WORD) };
      case 's': return { set: SPACE };
      case 'S': return { set: complement(SPACE) };
      case 'h': return { set: utf ? HSPACE_U : HSPACE_B };
      case 'H': return { set: complement(utf ? HSPACE_U : HSPACE_B) };
      case 'v': return { set: utf ? VSPACE_U : VSPACE_B };
      case 'V': return { set: complement(utf ? VSPACE_U : VSPACE_B) };
      case 'n': return { cp: 10 };
      case 'r': return { cp: 13 };
      case 't': return { cp: 9 };
      case 'f': return { cp: 12 };
      case 'e': return { cp: 27 };
      case 'a': return { cp: 7 };
      case 'b': return inClass ? { cp: 8 } : { special: 'b' };
      case 'c': {
        const x = pat[i];
        if (x === undefined) err('\\c at end of pattern', len);
        i++;
        return { cp: x.toUpperCase().charCodeAt(0) ^ 0x40 };
      }
      case 'x': {
        if (pat[i] === '{') {
          const end = pat.indexOf('}', i);
          const [v, n] = readHex(i + 1, 8);
          if (end > 0 && n === end - i - 1 && n > 0) {
            i = end + 1;
            return { cp: checkCp(v, end) };
          }
          // not a valid \x{...}: PCRE reads \x with no digits as \x00 followed by "{"
          return { cp: 0 };
        }
        const [v, n] = readHex(i, 2);
        i += n;
        return { cp: v };
      }
      case 'o': {
        if (pat[i] === '{') {
          const end = pat.indexOf('}', i);
          const [v, n] = readOct(i + 1, 11);
          if (end < 0 || n !== end - i - 1 || n === 0) err('missing } after \\o{', i);
          i = end + 1;
          return { cp: checkCp(v, end) };
        }
        return { cp: 0x6f };
      }
      case '0': {
        const [v, n] = readOct(i, 2);
        i += n;
        return { cp: v };
      }
      case 'Q': {
        const end = pat.indexOf('\\E', i);
        const lit = end < 0 ? pat.slice(i) : pat.slice(i, end);
        i = end < 0 ? len : end + 2;
        return { special: 'Q', arg: lit };
      }
      case 'E': return { special: 'none' };
      case 'p':
      case 'P': {
        let name: string;
        if (pat[i] === '{') {
          const end = pat.indexOf('}', i);
          if (end < 0) err('malformed \\P or \\p sequence', i);
          name = pat.slice(i + 1, end);
          i = end + 1;
        } else {
          name = pat[i] ?? '';
          i++;
        }
        let neg = c === 'P';
        if (name.startsWith('^')) {
          neg = !neg;
          name = name.slice(1);
        }
        let js: string;
        if (name === 'Any') js = neg ? '[]' : '[^]';
        else if (name === 'L&') js = `${neg ? '\\P' : '\\p'}{LC}`;
        else if (GENERAL_CATEGORIES.has(name)) js = `${neg ? '\\P' : '\\p'}{${name}}`;
        else if (/^[A-Za-z_]+$/.test(name)) js = `${neg ? '\\P' : '\\p'}{Script=${name}}`;
        else return err('unknown property name after \\P or \\p', i - 1);
        try {
          new RegExp(js, 'u');
        } catch {
          err('unknown property name after \\P or \\p', i - 1);
        }
        return { js };
      }
    }
    if (isDigit(c)) {
      // \1-\9 are back references; \10 and up too when that many groups exist, else octal
      let k = i - 1;
      let digits = '';
      while (isDigit(pat[k])) digits += pat[k++];
      const n = parseInt(digits, 10);
      if (!inClass && (n < 10 || n <= ncap)) {
        i = k;
        return { special: 'ref', arg: n };
      }
      i--;
      const [v, m] = readOct(i, 3);
      if (m === 0) {
        // \8 or \9 with no such group: literal digit
        i++;
        return { cp: c.charCodeAt(0) };
      }
      i += m;
      return { cp: v & 0xff };
    }
    if (!inClass) {
      switch (c) {
        case 'A': return { special: 'A' };
        case 'z': return { special: 'z' };
        case 'Z': return { special: 'Z' };
        case 'G': return { special: 'G' };
        case 'B': return { special: 'B' };
        case 'R': return { special: 'R' };
        case 'X': return { js: '(?:\\P{M}\\p{M}*)' };
        case 'C': return { js: '[^]' };
        case 'N': return { set: complement([[10, 10]]) };
        case 'K': return err('\\K is not supported', i - 1);
        case 'g': {
          // \gN, \g{N}, \g{-N}, \g{name}, \g<...> (subroutine, unsupported)
          if (pat[i] === '<' || pat[i] === "'") return err('subroutine calls are not supported', i);
          let ref: string;
          if (pat[i] === '{') {
            const end = pat.indexOf('}', i);
            if (end < 0) err('a numbered reference must not be zero', i);
            ref = pat.slice(i + 1, end);
            i = end + 1;
          } else {
            const m = /^-?\d+/.exec(pat.slice(i));
            if (!m) return err('a numbered reference must not be zero', i);
            ref = m[0];
            i += m[0].length;
          }
          if (/^-?\d+$/.test(ref)) {
            let n = parseInt(ref, 10);
            if (n < 0) n = ncap + 1 + n;
            if (n <= 0) err('a numbered reference must not be zero', i - 1);
            return { special: 'ref', arg: n };
          }
          return { special: 'nref', arg: ref };
        }
        case 'k': {
          const open = pat[i];
          const close = open === '<' ? '>' : open === "'" ? "'" : open === '{' ? '}' : '';
          if (!close) return err('\\k is not followed by a braced, angle-bracketed, or quoted name', i);
          const end = pat.indexOf(close, i + 1);
          if (end < 0) err('syntax error in subpattern name (missing terminator)', len);
          const name = pat.slice(i + 1, end);
          i = end + 1;
          return { special: 'nref', arg: name, ...{ off: end } } as Esc;
        }
      }
    }
    void start;
    // any other escaped character is itself
    const cp = cpAt(i - 1);
    i += cpLen(cp) - 1;
    return { cp };
  };

  const emitRef = (n: number, off: number) => {
    refs.push({ n, off });
    if (flags.i) needJsI = true;
    // resolved to an id at the end (the group may be defined later)
    emitAtom(`\u0005${n}\u0006`);
  };

  const parseClass = () => {
    // pat[i] === '['
    const classStart = i;
    i++;
    let negate = false;
    if (pat[i] === '^') {
      negate = true;
      i++;
    }
    const ranges: Range[] = [];
    const jsParts: string[] = [];
    let first = true;
    let prev: number | null = null; // last single code point (candidate range start)
    for (;;) {
      if (i >= len) err('missing terminating ] for character class', len);
      const c = pat[i];
      if (c === ']' && !first) {
        i++;
        break;
      }
      first = false;
      if (c === '[' && (pat[i + 1] === ':' || pat[i + 1] === '.' || pat[i + 1] === '=')) {
        const term = pat[i + 1];
        const end = pat.indexOf(term + ']', i + 2);
        if (end > 0 && /^\^?[a-z]*$/i.test(pat.slice(i + 2, end))) {
          if (term !== ':') err('POSIX collating elements are not supported', i);
          let name = pat.slice(i + 2, end);
          const neg = name.startsWith('^');
          if (neg) name = name.slice(1);
          const set = POSIX[name];
          if (!set) err('unknown POSIX class name', i + 2);
          ranges.push(...(neg ? complement(set) : set));
          i = end + 2;
          prev = null;
          continue;
        }
      }
      let cp: number;
      if (c === '\\') {
        const e = readEscape(true);
        if ('set' in e) {
          ranges.push(...e.set);
          prev = null;
          continue;
        }
        if ('js' in e) {
          jsParts.push(e.js.startsWith('(') || e.js.startsWith('[') ? '' : e.js);
          prev = null;
          continue;
        }
        if ('special' in e) {
          if (e.special === 'Q') {
            for (const ch of String(e.arg)) {
              const x = ch.codePointAt(0)!;
              ranges.push([x, x]);
              prev = x;
            }
          }
          continue;
        }
        cp = e.cp;
      } else {
        cp = cpAt(i);
        i += cpLen(cp);
      }
      // a range?
      if (pat[i] === '-' && pat[i + 1] !== ']' && i + 1 < len) {
        const save = i;
        i++;
        let hi: number | null = null;
        const hiOff = i;
        if (pat[i] === '\\') {
          const e = readEscape(true);
          if ('cp' in e) hi = e.cp;
          else {
            // `[a-\d]`: the `-` is literal
            ranges.push([cp, cp], [45, 45]);
            if ('set' in e) ranges.push(...e.set);
            else if ('js' in e) jsParts.push(e.js);
            prev = null;
            continue;
          }
        } else if (pat[i] === '[' && pat[i + 1] === ':') {
          i = save;
          ranges.push([cp, cp]);
          prev = cp;
          continue;
        } else {
          hi = cpAt(i);
          i += cpLen(hi);
        }
        if (hi < cp) err('range out of order in character class', hiOff);
        ranges.push([cp, hi]);
        prev = null;
        continue;
      }
      ranges.push([cp, cp]);
      prev = cp;
    }
    void prev;
    void classStart;
    let rs = normalize(ranges);
    if (flags.i) rs = foldRanges(rs, utf);
    const body = rangesBody(rs) + jsParts.join('');
    if (!body) emitAtom(negate ? '[^]' : '[]');
    else emitAtom(`[${negate ? '^' : ''}${body}]`);
  };

  const parseName = (term: string, nameStart: number): string => {
    const end = pat.indexOf(term, nameStart);
    if (end < 0) err('syntax error in subpattern name (missing terminator)', len);
    const name = pat.slice(nameStart, end);
    if (isDigit(name[0])) err('group name must start with a non-digit', nameStart);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      const bad = name.search(/[^A-Za-z0-9_]/);
      err('syntax error in subpattern name (missing terminator)', nameStart + (bad < 0 ? name.length : bad));
    }
    if (name.length > 32) err('subpattern name is too long (maximum 32 characters)', end);
    return name;
  };

  const openCapture = (name: string | null, nameEnd: number) => {
    ncap++;
    const id = nids++;
    capId[ncap] = id;
    if (name !== null) {
      if (!flags.J && names.some((n) => n.name === name)) err('two named subpatterns have the same name', nameEnd);
      names.push({ name, index: ncap });
    }
    stack.push({ kind: 'capture', flags: { ...flags }, outStart: out.length });
    out += groupMark(id);
  };

  const parseFlags = (k: number): { f: Flags; end: number } => {
    const f = { ...flags };
    let on = true;
    for (;;) {
      const c = pat[k];
      if (c === ')' || c === ':') return { f, end: k };
      if (c === '-') on = false;
      else if (c === 'i' || c === 'm' || c === 's' || c === 'x' || c === 'U' || c === 'J') f[c] = on;
      else if (c === 'X') { /* PCRE_EXTRA: no effect here */ } else err('unrecognized character after (? or (?-', k);
      k++;
    }
  };

  const quantifierAt = (k: number): { q: string; end: number } | null => {
    const c = pat[k];
    if (c === '*' || c === '+' || c === '?') return { q: c, end: k + 1 };
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pat.slice(k, k + 40));
      if (!m) return null;
      const lo = parseInt(m[1], 10);
      const hi = m[3] ? parseInt(m[3], 10) : null;
      const close = k + m[0].length - 1;
      if (lo > 65535 || (hi !== null && hi > 65535)) err('number too big in {} quantifier', close);
      if (hi !== null && hi < lo) err('numbers out of order in {} quantifier', close);
      return { q: m[0], end: k + m[0].length };
    }
    return null;
  };

  const skipExtended = () => {
    if (!flags.x) return;
    for (;;) {
      const c = pat[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') i++;
      else if (c === '#') {
        while (i < len && pat[i] !== '\n') i++;
      } else return;
    }
  };

  if (pat.startsWith('\\G')) {
    anchoredG = true;
    i = 2;
  }

  while (i < len) {
    skipExtended();
    if (i >= len) break;
    const c = pat[i];
    const q = quantifierAt(i);
    if (q) {
      if (atomStart < 0) err('nothing to repeat', i);
      i = q.end;
      let quant = q.q;
      let lazy = flags.U;
      let possessive = false;
      if (pat[i] === '?') {
        lazy = !lazy;
        i++;
      } else if (pat[i] === '+') {
        possessive = true;
        i++;
      }
      if (possessive) {
        const id = nids++;
        out = out.slice(0, atomStart) + `(?=${groupMark(id)}(?:` + out.slice(atomStart) + `)${quant}))\\${R_OPEN}${id}${R_CLOSE}`;
      } else {
        out += quant + (lazy ? '?' : '');
      }
      atomStart = -1;
      continue;
    }
    switch (c) {
      case '\\': {
        const escOff = i;
        const e = readEscape(false);
        if ('cp' in e) emitAtom(litChar(e.cp));
        else if ('set' in e) {
          emitSet(e.set);
        } else if ('js' in e) emitAtom(e.js);
        else {
          switch (e.special) {
            case 'A': out += '^'; atomStart = -1; break;
            case 'z': out += '$'; atomStart = -1; break;
            case 'Z': out += '(?=\\n?$)'; atomStart = -1; break;
            case 'G': out += ''; atomStart = -1; break;
            case 'b': out += '\\b'; atomStart = -1; break;
            case 'B': out += '\\B'; atomStart = -1; break;
            case 'R': emitAtom(utf ? '(?:\\r\\n|[\\n\\v\\f\\r\\u{85}\\u{2028}\\u{2029}])' : '(?:\\r\\n|[\\n\\v\\f\\r\\u{85}])'); break;
            case 'Q': {
              const s = String(e.arg);
              let k = 0;
              while (k < s.length) {
                const cp = utf ? s.codePointAt(k)! : s.charCodeAt(k);
                emitAtom(litChar(cp));
                k += utf ? cpLen(cp) : 1;
              }
              break;
            }
            case 'ref': emitRef(e.arg as number, escOff); break;
            case 'nref': {
              nameRefs.push({ name: String(e.arg), off: (e as { off?: number }).off ?? i - 1, caseless: flags.i });
              if (flags.i) needJsI = true;
              emitAtom(`\u0007${nameRefs.length - 1}\u0008`);
              break;
            }
            default: break;
          }
        }
        break;
      }
      case '[':
        parseClass();
        break;
      case '(': {
        const open = i;
        if (pat[i + 1] === '*') err('(*VERB) and option settings at the pattern start are not supported', i + 1);
        if (pat[i + 1] !== '?') {
          i++;
          openCapture(null, i);
          atomStart = -1;
          break;
        }
        const k = i + 2;
        const t = pat[k];
        if (t === '#') {
          const end = pat.indexOf(')', k);
          if (end < 0) err('missing ) after comment', len);
          i = end + 1;
          break;
        }
        if (t === ':' || t === '=' || t === '!' || (t === '<' && (pat[k + 1] === '=' || pat[k + 1] === '!'))) {
          const head = t === '<' ? `(?<${pat[k + 1]}` : `(?${t}`;
          i = t === '<' ? k + 2 : k + 1;
          stack.push({ kind: t === ':' ? 'plain' : 'look', flags: { ...flags }, outStart: out.length });
          out += head;
          atomStart = -1;
          break;
        }
        if (t === '>') {
          const id = nids++;
          stack.push({ kind: 'atomic', flags: { ...flags }, outStart: out.length, helperId: id });
          out += `(?=${groupMark(id)}`;
          i = k + 1;
          atomStart = -1;
          break;
        }
        if (t === '<' || t === "'" || (t === 'P' && pat[k + 1] === '<')) {
          const nameStart = t === 'P' ? k + 2 : k + 1;
          const term = t === "'" ? "'" : '>';
          const name = parseName(term, nameStart);
          const nameEnd = nameStart + name.length;
          i = nameEnd + 1;
          openCapture(name, nameEnd);
          atomStart = -1;
          break;
        }
        if (t === 'P' && pat[k + 1] === '=') {
          const end = pat.indexOf(')', k);
          if (end < 0) err('syntax error in subpattern name (missing terminator)', len);
          nameRefs.push({ name: pat.slice(k + 2, end), off: end, caseless: flags.i });
          if (flags.i) needJsI = true;
          i = end + 1;
          emitAtom(`\u0007${nameRefs.length - 1}\u0008`);
          break;
        }
        if (t === '|') err('branch reset groups (?| are not supported', k);
        if (t === 'R' || t === '&' || t === '+' || isDigit(t) || (t === '-' && isDigit(pat[k + 1])) || (t === 'P' && pat[k + 1] === '>')) {
          err('recursion and subroutine calls are not supported', k);
        }
        if (t === '(') err('conditional groups are not supported', k);
        if (t === 'C') err('callouts are not supported', k);
        const { f, end } = parseFlags(k);
        if (pat[end] === ')') {
          // option setting for the rest of the current group
          flags = f;
          i = end + 1;
        } else {
          stack.push({ kind: 'plain', flags: { ...flags }, outStart: out.length });
          flags = f;
          out += '(?:';
          i = end + 1;
          atomStart = -1;
        }
        void open;
        break;
      }
      case ')': {
        const g = stack.pop();
        if (!g) err('unmatched parentheses', i);
        i++;
        flags = g!.flags;
        if (g!.kind === 'atomic') {
          out += `))\\${R_OPEN}${g!.helperId}${R_CLOSE}`;
        } else {
          out += ')';
        }
        // lookarounds are not quantifiable in JS; PCRE allows it but it is meaningless
        atomStart = g!.kind === 'look' ? -1 : g!.outStart;
        break;
      }
      case '|':
        out += '|';
        atomStart = -1;
        i++;
        break;
      case '^':
        out += flags.m ? '(?:^|(?<=\\n)(?!$))' : '^';
        atomStart = -1;
        i++;
        break;
      case '$':
        out += flags.m ? '(?=\\n|$)' : '(?=\\n?$)';
        atomStart = -1;
        i++;
        break;
      case '.':
        emitAtom(flags.s ? '[^]' : '[^\\n]');
        i++;
        break;
      default: {
        const cp = cpAt(i);
        i += cpLen(cp);
        emitAtom(litChar(cp));
      }
    }
  }
  if (stack.length) err('missing )', len);

  // resolve back references (numbers and names) to ids, then ids to JS group numbers
  for (const r of refs) if (r.n > ncap) err('reference to non-existent subpattern', len);
  out = out.replace(/\u0005(\d+)\u0006/g, (_, n) => `(?:\\${R_OPEN}${capId[+n]}${R_CLOSE})`);
  out = out.replace(/\u0007(\d+)\u0008/g, (_, k) => {
    const ref = nameRefs[+k];
    const g = names.find((n) => n.name === ref.name);
    if (!g) err('reference to non-existent subpattern', ref.off);
    return `(?:\\${R_OPEN}${capId[g!.index]}${R_CLOSE})`;
  });
  const idToJs = new Map<number, number>();
  let js = 0;
  out = out.replace(/\u0001(\d+)\u0002/g, (_, id) => {
    idToJs.set(+id, ++js);
    return '';
  });
  out = out.replace(/\u0003(\d+)\u0004/g, (_, id) => String(idToJs.get(+id)));
  const jsIndex = [0];
  for (let n = 1; n <= ncap; n++) jsIndex[n] = idToJs.get(capId[n])!;
  void refMark;
  return { source: out, flags: needJsI ? 'i' : '', ncap, jsIndex, names, anchoredG };
}
