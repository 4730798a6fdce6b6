// The directives of the headers-more module (openresty/headers-more-nginx-module), which
// OpenResty's test suites load: more_set_headers, more_clear_headers, more_set_input_headers,
// more_clear_input_headers, with their -s (statuses), -t (content types) and -r (input: only
// replace) options. src/http/headers_more.ts applies them.

import type { Directive } from './parser.js';
import type { MoreHeadersCmd, Template } from './model.js';
import type { ConfPos } from './errors.js';
import type { ModuleConfHelpers, ModuleDirective } from './modspec.js';

export function headersMoreDirectives(h: ModuleConfHelpers): ModuleDirective[] {
  const parse = (d: Directive, input: boolean, clear: boolean): MoreHeadersCmd => {
    const at: ConfPos = { file: d.file, line: d.line };
    const cmd: MoreHeadersCmd = { clear, statuses: null, types: null, replaceOnly: false, headers: [] };
    for (let i = 0; i < d.args.length; i++) {
      const a = d.args[i];
      if (a === '-s' && !input) {
        const v = d.args[++i];
        if (v === undefined) h.fail(d, `${d.name}: no argument after -s`);
        cmd.statuses = v.split(/\s+/).filter(Boolean).map((x) => {
          const n = Number(x);
          if (!Number.isInteger(n)) h.fail(d, `${d.name}: invalid status code "${x}"`);
          return n;
        });
      } else if (a === '-t') {
        const v = d.args[++i];
        if (v === undefined) h.fail(d, `${d.name}: no argument after -t`);
        cmd.types = [...(cmd.types ?? []), ...v.split(/\s+/).filter(Boolean).map((x) => x.toLowerCase())];
      } else if (a === '-r' && input) {
        cmd.replaceOnly = true;
      } else if (clear) {
        cmd.headers.push({ name: a.replace(/:.*$/, ''), value: null });
      } else {
        const colon = a.indexOf(':');
        const name = (colon < 0 ? a : a.slice(0, colon)).trim();
        const value = colon < 0 ? '' : a.slice(colon + 1).trim();
        if (name === '') h.fail(d, `${d.name}: no header name in "${a}"`);
        cmd.headers.push({ name, value: value === '' ? null : h.template(value, at) });
      }
    }
    return cmd;
  };
  const spec = (name: string, input: boolean, clear: boolean): ModuleDirective => ({
    name,
    ctx: h.ctx,
    args: [1, Infinity],
    handler: (d, _b, c) => {
      const s = h.settingsOf(c);
      const list = input ? (s.moreInputHeaders ??= []) : (s.moreHeaders ??= []);
      list.push(parse(d, input, clear));
    },
  });
  return [
    spec('more_set_headers', false, false),
    spec('more_clear_headers', false, true),
    spec('more_set_input_headers', true, false),
    spec('more_clear_input_headers', true, true),
  ];
}
