// Configuration errors, formatted the way nginx prints them on stderr
// (`nginx: [emerg] <msg> in <file>:<line>`), with our program name.

export type ConfErrorLevel = 'emerg' | 'error';

/** Where a conf error happened: a file and line, or the `-g` command-line parameters. */
export interface ConfPos {
  file: string;
  line: number;
}

export const COMMAND_LINE = 'command line';

export class ConfError extends Error {
  /** the bare message, without prefix and position */
  readonly detail: string;
  readonly file: string | null;
  readonly line: number | null;
  readonly level: ConfErrorLevel;

  constructor(detail: string, pos?: ConfPos | null, level: ConfErrorLevel = 'emerg') {
    let where = '';
    if (pos) where = pos.file === COMMAND_LINE ? ' in command line' : ` in ${pos.file}:${pos.line}`;
    super(`ngxlua: [${level}] ${detail}${where}`);
    this.name = 'ConfError';
    this.detail = detail;
    this.file = pos ? pos.file : null;
    this.line = pos ? pos.line : null;
    this.level = level;
  }
}
