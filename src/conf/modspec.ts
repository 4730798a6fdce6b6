// What the directive table (directives.ts) lends a module whose directives live in a file of
// their own (echo.ts, headers_more.ts), and the shape of what such a module returns. Kept
// apart so that those files need not import directives.ts, which imports them.

import type { Directive } from './parser.js';
import type { LocSettings, Template } from './model.js';
import type { ConfPos } from './errors.js';

// the contexts a directive may appear in (bits of DirectiveSpec.ctx)
export const MAIN = 1;
export const EVENTS = 2;
export const HTTP = 4;
export const SRV = 8;
export const LOC = 16;
export const SIF = 32;
export const LIF = 64;
export const ANY = 127;

export interface ModuleConfHelpers {
  ctx: number;
  template: (s: string, at: ConfPos) => Template;
  fail: (d: Directive, msg: string) => never;
  settingsOf: (c: unknown) => Partial<LocSettings>;
  /** nginx's "is duplicate" check for a directive given twice at one level */
  once: (c: unknown, d: Directive) => void;
}

export interface ModuleDirective {
  name: string;
  ctx: number;
  args: [number, number];
  block?: boolean;
  handler: (d: Directive, body: unknown, c: unknown, st: unknown) => void;
}
