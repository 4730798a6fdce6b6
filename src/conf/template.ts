// Compile strings holding `$var`, `${var}` and `$1`-style capture references into Template
// parts. A capture reference is a `{ v: '1' }` part: names made only of digits are captures.

import { ConfError, type ConfPos } from './errors.js';
import type { Template, TemplatePart } from './model.js';

function isNameChar(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_';
}

/** Compile a template; `pos` is used for errors. */
export function compileTemplate(raw: string, pos?: ConfPos | null): Template {
  if (raw.indexOf('$') < 0) return { raw, parts: [raw], constant: true };
  const parts: TemplatePart[] = [];
  let lit = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    if (c !== '$') {
      lit += c;
      i++;
      continue;
    }
    i++;
    let name = '';
    if (raw[i] >= '1' && raw[i] <= '9') {
      // one digit: `$12` is capture 1 followed by "2", as nginx reads it
      name = raw[i];
      i++;
    } else if (raw[i] === '{') {
      const end = raw.indexOf('}', i + 1);
      let j = i + 1;
      while (j < raw.length && isNameChar(raw[j])) j++;
      if (end < 0 || j !== end) {
        throw new ConfError(`the closing bracket in "${raw.slice(i + 1, j)}" variable is missing`, pos);
      }
      name = raw.slice(i + 1, end);
      i = end + 1;
    } else {
      let j = i;
      while (j < raw.length && isNameChar(raw[j])) j++;
      name = raw.slice(i, j);
      i = j;
    }
    if (name === '') throw new ConfError('invalid variable name', pos);
    if (lit) parts.push(lit);
    lit = '';
    parts.push({ v: name.toLowerCase() }); // nginx's variable names are case-insensitive
  }
  if (lit) parts.push(lit);
  return { raw, parts, constant: false };
}

/** A template for a string known to hold no variables. */
export function constantTemplate(raw: string): Template {
  return { raw, parts: [raw], constant: true };
}

/** Expand a template with a variable lookup (captures are looked up by their digit name). */
export function expandTemplate(t: Template, get: (name: string) => string | undefined | null): string {
  if (t.constant) return t.raw;
  let out = '';
  for (const p of t.parts) out += typeof p === 'string' ? p : (get(p.v) ?? '');
  return out;
}
