// Streaming parser: reads directives one at a time and hands each to a visitor, the way
// nginx drives its directive handlers while reading. A visitor decides what a block's body
// means (nested directives or raw Lua) by calling the body reader it is given; a body the
// visitor leaves unread is skipped (still checked for syntax).

import { readFileSync } from 'node:fs';
import { ConfError } from './errors.js';
import { ConfLexer, type LuaBlock, type Word } from './lexer.js';

export interface Directive {
  name: string;
  /** arguments after the name, unescaped */
  args: string[];
  /** all words including the name, with quoting info */
  words: Word[];
  file: string;
  /** the line nginx reports: where the terminating `;` or `{` was read */
  line: number;
  /** true when the directive ended with `{` */
  block: boolean;
}

export interface BlockBody {
  /** Parse the block's contents as directives, handing each to `visit`. */
  read(visit: Visitor): void;
  /** Take the block's contents as raw Lua code (for `*_by_lua_block`). */
  readLua(): LuaBlock;
  readonly consumed: boolean;
}

export type Visitor = (d: Directive, body: BlockBody | null) => void;

function skipVisitor(d: Directive, body: BlockBody | null): void {
  if (body && d.name.endsWith('_by_lua_block')) body.readLua();
}

class Body implements BlockBody {
  consumed = false;
  constructor(private readonly lexer: ConfLexer) {}
  read(visit: Visitor): void {
    this.take();
    parseLevel(this.lexer, visit, true);
  }
  readLua(): LuaBlock {
    this.take();
    return this.lexer.readLuaBlock();
  }
  private take(): void {
    if (this.consumed) throw new Error('block body read twice');
    this.consumed = true;
  }
}

function parseLevel(lexer: ConfLexer, visit: Visitor, inBlock: boolean): void {
  for (;;) {
    const st = lexer.next();
    if (st.kind === 'eof') {
      if (inBlock) throw new ConfError('unexpected end of file, expecting "}"', { file: lexer.file, line: lexer.line });
      return;
    }
    if (st.kind === 'close') {
      if (!inBlock) throw new ConfError('unexpected "}"', { file: lexer.file, line: st.line });
      return;
    }
    const d: Directive = {
      name: st.words[0].value,
      args: st.words.slice(1).map((w) => w.value),
      words: st.words,
      file: lexer.file,
      line: st.line,
      block: st.kind === 'block',
    };
    if (d.block) {
      const body = new Body(lexer);
      visit(d, body);
      if (!body.consumed) parseLevel(lexer, skipVisitor, true);
    } else {
      visit(d, null);
    }
  }
}

/** Parse conf text. `file` is used for positions in errors and directives. */
export function parseString(src: string, file: string, visit: Visitor): void {
  parseLevel(new ConfLexer(src, file), visit, false);
}

/** Parse a conf file (absolute path). */
export function parseFile(path: string, visit: Visitor, from?: { file: string; line: number }): void {
  let src: string;
  try {
    src = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const errno = err.code === 'ENOENT' ? '2: No such file or directory' : err.code === 'EACCES' ? '13: Permission denied' : String(err.code ?? err.message);
    throw new ConfError(`open() "${path}" failed (${errno})`, from ?? null);
  }
  parseString(src, path, visit);
}

/** A parsed directive with its nested directives or Lua code (for tools and tests). */
export interface TreeNode extends Directive {
  children?: TreeNode[];
  lua?: LuaBlock;
}

/** Parse text into a tree, without interpreting anything (includes are not followed). */
export function parseTree(src: string, file = 'nginx.conf'): TreeNode[] {
  const build = (out: TreeNode[]): Visitor => (d, body) => {
    const node: TreeNode = { ...d };
    out.push(node);
    if (!body) return;
    if (d.name.endsWith('_by_lua_block')) {
      node.lua = body.readLua();
    } else {
      node.children = [];
      body.read(build(node.children));
    }
  };
  const top: TreeNode[] = [];
  parseString(src, file, build(top));
  return top;
}
