// Public entry point of the configuration layer.
export * from './model.js';
export { ConfError, COMMAND_LINE } from './errors.js';
export type { ConfPos, ConfErrorLevel } from './errors.js';
export { loadConf, defaultSettings, expandGlob } from './load.js';
export type { LoadOptions } from './load.js';
export { DIRECTIVES, IGNORED_DIRECTIVES, DEFAULT_LUA_PATH, DEFAULT_LUA_CPATH } from './directives.js';
export { parseString, parseFile, parseTree } from './parser.js';
export type { Directive, BlockBody, Visitor, TreeNode } from './parser.js';
export { ConfLexer, unescapeWord } from './lexer.js';
export { compileTemplate, constantTemplate, expandTemplate } from './template.js';
export { compileRegex, pcreToJs } from './regex.js';
export { parseTime, parseSize, parseNumber } from './units.js';
export { selectServer, findLocation, findNamedLocation, normalizeHost } from './match.js';
export type { LocationMatch } from './match.js';
export { accessAllowed, parseAccessRule } from './access.js';
