// Tokenizer for nginx.conf text. It follows the state machine nginx uses for its own
// configuration reader: words are split on whitespace, `;` and `{`; a word that opens with a
// quote runs to the matching quote and must be followed by whitespace, `;`, `{` or `)`;
// `#` starts a comment only where a new word could start; `}` closes a block only where a
// new word could start; a backslash protects the next character. `${name}` inside an
// unquoted word does not open a block.
//
// `*_by_lua_block` directives switch to a Lua-aware scanner (readLuaBlock) right after
// their `{`, so braces inside Lua strings and comments are not seen as structure.

import { COMMAND_LINE, ConfError } from './errors.js';

export interface Word {
  /** the word with nginx's escape processing applied (\" \' \\ \n \r \t) */
  value: string;
  /** true when the word was written in single or double quotes */
  quoted: boolean;
  /** the line the word starts on */
  line: number;
}

export type StmtKind =
  /** words ended by `;` */
  | 'end'
  /** words ended by `{` */
  | 'block'
  /** a `}` where a directive could start */
  | 'close'
  /** end of input */
  | 'eof';

export interface Stmt {
  kind: StmtKind;
  words: Word[];
  /** the line of the terminator (`;`, `{`, `}`): the line nginx reports for the directive */
  line: number;
}

export interface LuaBlock {
  /** the text between the braces, verbatim */
  code: string;
  /** the line of the opening `{` */
  line: number;
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

/** nginx's escape processing when it copies a word out of the buffer. */
export function unescapeWord(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '\\' && i + 1 < raw.length) {
      const nx = raw[i + 1];
      if (nx === '"' || nx === "'" || nx === '\\') {
        out += nx;
        i++;
        continue;
      }
      if (nx === 'n') { out += '\n'; i++; continue; }
      if (nx === 't') { out += '\t'; i++; continue; }
      if (nx === 'r') { out += '\r'; i++; continue; }
    }
    out += ch;
  }
  return out;
}

export class ConfLexer {
  pos = 0;
  line = 1;

  constructor(readonly src: string, readonly file: string) {}

  private fail(msg: string, line = this.line): never {
    throw new ConfError(msg, { file: this.file, line });
  }

  /** Read the next directive's words and its terminator. */
  next(): Stmt {
    const s = this.src;
    const words: Word[] = [];
    let lastSpace = true;
    let needSpace = false;
    let sQuoted = false;
    let dQuoted = false;
    let quoted = false;
    let variable = false;
    let sharp = false;
    let start = 0;
    let startLine = this.line;
    let wordQuoted = false;

    for (;;) {
      if (this.pos >= s.length) {
        if (words.length > 0 || !lastSpace) {
          if (this.file === COMMAND_LINE) this.fail('unexpected end of parameter, expecting ";"');
          this.fail('unexpected end of file, expecting ";" or "}"');
        }
        return { kind: 'eof', words, line: this.line };
      }
      const ch = s[this.pos++];
      if (ch === '\n') {
        this.line++;
        if (sharp) sharp = false;
      }
      if (sharp) continue;
      if (quoted) {
        quoted = false;
        continue;
      }
      if (needSpace) {
        if (isSpace(ch)) {
          lastSpace = true;
          needSpace = false;
          continue;
        }
        if (ch === ';') return { kind: 'end', words, line: this.line };
        if (ch === '{') return { kind: 'block', words, line: this.line };
        if (ch === ')') {
          lastSpace = true;
          needSpace = false;
        } else {
          this.fail(`unexpected "${ch}"`);
        }
      }
      if (lastSpace) {
        start = this.pos - 1;
        startLine = this.line;
        wordQuoted = false;
        if (isSpace(ch)) continue;
        switch (ch) {
          case ';':
          case '{':
            if (words.length === 0) this.fail(`unexpected "${ch}"`);
            return { kind: ch === '{' ? 'block' : 'end', words, line: this.line };
          case '}':
            if (words.length !== 0) this.fail('unexpected "}"');
            return { kind: 'close', words, line: this.line };
          case '#':
            sharp = true;
            continue;
          case '\\':
            quoted = true;
            lastSpace = false;
            continue;
          case '"':
            start++;
            dQuoted = true;
            wordQuoted = true;
            lastSpace = false;
            continue;
          case "'":
            start++;
            sQuoted = true;
            wordQuoted = true;
            lastSpace = false;
            continue;
          case '$':
            variable = true;
            lastSpace = false;
            continue;
          default:
            lastSpace = false;
        }
      } else {
        if (ch === '{' && variable) continue;
        variable = false;
        if (ch === '\\') {
          quoted = true;
          continue;
        }
        if (ch === '$') {
          variable = true;
          continue;
        }
        let found = false;
        if (dQuoted) {
          if (ch === '"') {
            dQuoted = false;
            needSpace = true;
            found = true;
          }
        } else if (sQuoted) {
          if (ch === "'") {
            sQuoted = false;
            needSpace = true;
            found = true;
          }
        } else if (isSpace(ch) || ch === ';' || ch === '{') {
          lastSpace = true;
          found = true;
        }
        if (found) {
          words.push({ value: unescapeWord(s.slice(start, this.pos - 1)), quoted: wordQuoted, line: startLine });
          if (ch === ';') return { kind: 'end', words, line: this.line };
          if (ch === '{') return { kind: 'block', words, line: this.line };
        }
      }
    }
  }

  /**
   * Called right after the `{` of a `*_by_lua_block` directive: scan Lua source up to the
   * matching `}` and return the text in between. Lua strings, long strings and comments may
   * hold braces; table constructors nest.
   */
  readLuaBlock(): LuaBlock {
    const s = this.src;
    const openLine = this.line;
    const begin = this.pos;
    let depth = 0;
    let tokLine = this.line;
    const eof = (): never =>
      this.fail('unexpected end of file, expecting terminating characters for lua code block', tokLine);

    while (this.pos < s.length) {
      const ch = s[this.pos];
      if (ch === '\n') {
        this.line++;
        this.pos++;
        continue;
      }
      if (isSpace(ch)) {
        this.pos++;
        continue;
      }
      tokLine = this.line;
      if (ch === '-' && s[this.pos + 1] === '-') {
        this.pos += 2;
        const lvl = this.longBracketLevel(this.pos);
        if (lvl >= 0) {
          this.skipLong(lvl);
        } else {
          while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
        }
        continue;
      }
      if (ch === '[') {
        const lvl = this.longBracketLevel(this.pos);
        if (lvl >= 0) {
          this.skipLong(lvl);
          continue;
        }
        this.pos++;
        continue;
      }
      if (ch === '"' || ch === "'") {
        // a short string; a raw newline before the closing quote means this quote does
        // not start a string (ngx_lua's scanner then treats it as a lone character)
        let i = this.pos + 1;
        let closed = -1;
        let nl = 0;
        while (i < s.length) {
          const c = s[i];
          if (c === '\\') {
            if (s[i + 1] === '\n') nl++;
            i += 2;
            continue;
          }
          if (c === '\n') break;
          if (c === ch) {
            closed = i;
            break;
          }
          i++;
        }
        if (closed >= 0) {
          this.line += nl;
          this.pos = closed + 1;
        } else {
          this.pos++;
        }
        continue;
      }
      if (ch === '{') {
        depth++;
        this.pos++;
        continue;
      }
      if (ch === '}') {
        if (depth === 0) {
          const code = s.slice(begin, this.pos);
          this.pos++;
          return { code, line: openLine };
        }
        depth--;
        this.pos++;
        continue;
      }
      this.pos++;
    }
    return eof();
  }

  /** If a long bracket `[==[` opens at `at`, its level (number of `=`), else -1. */
  private longBracketLevel(at: number): number {
    const s = this.src;
    if (s[at] !== '[') return -1;
    let i = at + 1;
    while (s[i] === '=') i++;
    return s[i] === '[' ? i - at - 1 : -1;
  }

  /** Skip a long string or long comment opening at this.pos with the given level. */
  private skipLong(level: number): void {
    const s = this.src;
    const startLine = this.line;
    const close = ']' + '='.repeat(level) + ']';
    const from = this.pos + level + 2;
    const end = s.indexOf(close, from);
    if (end < 0) {
      this.fail(
        `Lua code block missing the closing long bracket "${close}", the inlined Lua code may be too long`,
        startLine,
      );
    }
    for (let i = this.pos; i < end; i++) if (s[i] === '\n') this.line++;
    this.pos = end + close.length;
  }
}
