// Compiled ngx.re regexes (with an LRU cache) and byte-offset matching over Lua byte strings.
import { PcreError, translate, type Translated } from './translate.js';

export interface ReOptions {
  caseless: boolean;
  multiline: boolean;
  dotall: boolean;
  extended: boolean;
  utf: boolean;
  /** `U`: UTF-8 without the validity check */
  noUtfCheck: boolean;
  anchored: boolean;
  dfa: boolean;
  dupnames: boolean;
}

/** Parses an ngx.re options string; returns the offending flag when one is unknown. */
export function parseOptions(s: string): ReOptions | { bad: string } {
  const o: ReOptions = { caseless: false, multiline: false, dotall: false, extended: false, utf: false, noUtfCheck: false, anchored: false, dfa: false, dupnames: false };
  for (const c of s) {
    switch (c) {
      case 'i': o.caseless = true; break;
      case 'm': o.multiline = true; break;
      case 's': o.dotall = true; break;
      case 'x': o.extended = true; break;
      case 'u': o.utf = true; break;
      case 'U': o.utf = true; o.noUtfCheck = true; break;
      case 'a': o.anchored = true; break;
      case 'd': o.dfa = true; break;
      case 'D': o.dupnames = true; break;
      case 'j': case 'o': case 'J': break;
      default: return { bad: c };
    }
  }
  return o;
}

export class Regex {
  readonly t: Translated;
  private readonly re: RegExp;
  private reLong: RegExp | null = null;
  constructor(readonly opts: ReOptions, t: Translated) {
    this.t = t;
    this.re = new RegExp(t.source, 'gu' + t.flags);
  }
  get ncap(): number {
    return this.opts.dfa ? 0 : this.t.ncap;
  }

  private variants = new Map<string, RegExp>();
  /** exec at `start` (JS index); sticky when anchored. withIndices: capture offsets needed. */
  exec(str: string, start: number, withIndices: boolean): RegExpExecArray | null {
    const sticky = this.opts.anchored || this.t.anchoredG;
    let re = this.re;
    if (withIndices || sticky) {
      const fl = (sticky ? 'y' : 'g') + (withIndices ? 'd' : '') + 'u' + this.t.flags;
      let v = this.variants.get(fl);
      if (!v) this.variants.set(fl, (v = new RegExp(this.t.source, fl)));
      re = v;
    }
    re.lastIndex = start;
    return re.exec(str);
  }

  /**
   * DFA mode (`d`): PCRE's DFA matcher reports the longest match at the leftmost position.
   * Approximated: after the leftmost(-first) match at p, try ends from the far end down for a
   * longer match anchored at p (bounded to 4096 characters of look-ahead).
   */
  longestEnd(str: string, p: number, end: number): number {
    const limit = Math.min(str.length, end + 4096);
    if (limit <= end) return end;
    this.reLong ??= new RegExp(`(?:${this.t.source})$`, 'yu' + this.t.flags);
    for (let e = limit; e > end; e--) {
      const c = str.charCodeAt(e - 1);
      if (c >= 0xdc00 && c <= 0xdfff && e - 1 > p) continue; // not a code point boundary
      this.reLong.lastIndex = p;
      if (this.reLong.test(str.slice(0, e))) return e;
    }
    return end;
  }
}

export class ReCompileError extends Error {}

const cache = new Map<string, Regex | ReCompileError>();
let oCompiled = 0;

/** How many regexes were compiled with the `o` option (the reference caches only those). */
export function cachedCount(): number {
  return oCompiled;
}
const CACHE_MAX = 512;

const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Loose = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** `pcre_compile() failed: <msg> in "<pattern>"[ at "<rest>"]`, as ngx_lua reports it. */
export function compileErrorMessage(pattern: Buffer, msg: string, offset: number, utf: boolean): string {
  const pat = pattern.toString('latin1');
  let at = '';
  if (offset >= 0) {
    const rest = utf ? Buffer.from(utf8Loose.decode(pattern).slice(offset), 'utf8').toString('latin1') : pat.slice(offset);
    if (rest.length && offset < (utf ? utf8Loose.decode(pattern).length : pat.length)) at = ` at "${rest}"`;
  }
  return `pcre_compile() failed: ${msg} in "${pat}"${at}`;
}

/** Compile (cached by pattern + options string). Throws ReCompileError with the message to return. */
export function compile(pattern: Buffer, optStr: string, opts: ReOptions): Regex {
  const key = optStr + '\0' + pattern.toString('latin1');
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    if (hit instanceof ReCompileError) throw hit;
    return hit;
  }
  let res: Regex | ReCompileError;
  try {
    let src: string;
    if (opts.utf) {
      try {
        src = utf8Fatal.decode(pattern);
      } catch {
        throw new PcreError('invalid UTF-8 string', -1);
      }
    } else {
      src = pattern.toString('latin1');
    }
    const t = translate(src, { caseless: opts.caseless, multiline: opts.multiline, dotall: opts.dotall, extended: opts.extended, utf: opts.utf, dupnames: opts.dupnames });
    try {
      res = new Regex(opts, t);
    } catch (e) {
      throw new PcreError(jsErrorToPcre((e as Error).message), -1);
    }
  } catch (e) {
    if (!(e instanceof PcreError)) throw e;
    res = new ReCompileError(compileErrorMessage(pattern, e.message, e.offset, opts.utf));
  }
  cache.set(key, res);
  if (optStr.includes('o') && !(res instanceof ReCompileError)) oCompiled++;
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  if (res instanceof ReCompileError) throw res;
  return res;
}

function jsErrorToPcre(m: string): string {
  const s = m.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
  if (/Nothing to repeat/i.test(s)) return 'nothing to repeat';
  if (/Invalid group/i.test(s)) return 'unrecognized character after (? or (?-';
  return s.toLowerCase();
}

export class ReExecError extends Error {}

/**
 * A subject prepared for matching: the JS string the regex runs on and byte ↔ index mapping.
 * Without utf the string is latin1 (index = byte offset).
 */
export class Subject {
  readonly str: string;
  readonly utf: boolean;
  private lastIdx = 0;
  private lastByte = 0;
  constructor(readonly buf: Buffer, utf: boolean, readonly checked: boolean) {
    this.utf = utf;
    const check = checked;
    if (!utf) {
      this.str = buf.toString('latin1');
      return;
    }
    if (check) {
      try {
        this.str = utf8Fatal.decode(buf);
      } catch {
        throw new ReExecError('pcre_exec() failed: -10');
      }
    } else {
      this.str = utf8Loose.decode(buf);
    }
  }

  get byteLength(): number {
    return this.buf.length;
  }

  /** Byte offset of JS index idx. */
  byteOf(idx: number): number {
    if (!this.utf) return idx;
    let i = this.lastIdx, b = this.lastByte;
    const s = this.str;
    if (idx < i) {
      if (idx < i - idx) i = b = 0;
      else {
        while (i > idx) {
          const c = s.charCodeAt(i - 1);
          if (c < 0x80) b -= 1, i -= 1;
          else if (c < 0x800) b -= 2, i -= 1;
          else if (c >= 0xdc00 && c <= 0xdfff && i >= 2) b -= 4, i -= 2;
          else b -= 3, i -= 1;
        }
      }
    }
    while (i < idx) {
      const c = s.charCodeAt(i);
      if (c < 0x80) b += 1, i += 1;
      else if (c < 0x800) b += 2, i += 1;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) b += 4, i += 2;
      else b += 3, i += 1;
    }
    this.lastIdx = i;
    this.lastByte = b;
    return b;
  }

  /** JS index of byte offset b; throws -11 (bad UTF-8 offset) when b is inside a character. */
  indexOf(b: number): number {
    if (!this.utf) return b;
    if (b < this.buf.length && (this.buf[b] & 0xc0) === 0x80) throw new ReExecError('pcre_exec() failed: -11');
    let i = this.lastIdx, cur = this.lastByte;
    if (b < cur) i = cur = 0;
    const s = this.str;
    while (cur < b && i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 0x80) cur += 1, i += 1;
      else if (c < 0x800) cur += 2, i += 1;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) cur += 4, i += 2;
      else cur += 3, i += 1;
    }
    this.lastIdx = i;
    this.lastByte = cur;
    return i;
  }
}

/** A match: byte offsets of the whole match plus the JS exec result for the captures. */
export interface ByteMatch {
  start: number;
  end: number;
  m: RegExpExecArray;
}

/** Find the first match at or after byte offset `from`; `indices`: exact capture offsets wanted. */
export function execAt(re: Regex, subj: Subject, from: number, indices = false): ByteMatch | null {
  const idx = subj.indexOf(from);
  const m = re.exec(subj.str, idx, indices && re.ncap > 0);
  if (!m) return null;
  let endIdx = m.index + m[0].length;
  if (re.opts.dfa) endIdx = re.longestEnd(subj.str, m.index, endIdx);
  return { start: subj.byteOf(m.index), end: subj.byteOf(endIdx), m };
}

/** Bytes of capture n (0 = whole match) or null when it did not participate. */
export function capBytes(re: Regex, subj: Subject, bm: ByteMatch, n: number): Buffer | null {
  if (n === 0) return subj.buf.subarray(bm.start, bm.end);
  const s = bm.m[re.t.jsIndex[n]];
  if (s === undefined) return null;
  return Buffer.from(s, subj.utf ? 'utf8' : 'latin1');
}

/** Byte range of capture n (needs a match made with indices) or null. */
export function capRange(re: Regex, subj: Subject, bm: ByteMatch, n: number): [number, number] | null {
  if (n === 0) return [bm.start, bm.end];
  const ind = (bm.m as RegExpExecArray & { indices?: Array<[number, number] | undefined> }).indices;
  const r = ind?.[re.t.jsIndex[n]];
  return r ? [subj.byteOf(r[0]), subj.byteOf(r[1])] : null;
}
