// The directives of the echo module (openresty/echo-nginx-module), which OpenResty's own test
// suites load: content built from `echo` commands run in order. The commands are kept in the
// location's settings; src/http/echo.ts runs them.

import type { Directive } from './parser.js';
import type { EchoCmd, Template } from './model.js';
import type { ConfPos } from './errors.js';
import type { ModuleConfHelpers, ModuleDirective } from './modspec.js';

export function echoDirectives(h: ModuleConfHelpers): ModuleDirective[] {
  const at = (d: Directive): ConfPos => ({ file: d.file, line: d.line });
  const add = (c: unknown, cmd: EchoCmd) => {
    const s = h.settingsOf(c);
    (s.echo ??= []).push(cmd);
  };
  const spec = (name: string, args: [number, number], make: (d: Directive) => EchoCmd): ModuleDirective => ({
    name,
    ctx: h.ctx,
    args,
    handler: (d, _b, c) => add(c, make(d)),
  });
  const echoCmd = (d: Directive): Extract<EchoCmd, { op: 'echo' }> => {
    // leading options: -n (no newline); -- ends them; anything else is text
    let i = 0;
    let nl = true;
    while (i < d.args.length) {
      if (d.args[i] === '-n') { nl = false; i++; continue; }
      if (d.args[i] === '--') { i++; break; }
      break;
    }
    return { op: 'echo', args: d.args.slice(i).map((a) => h.template(a, at(d))), nl };
  };
  // the filter forms: text around whatever the location's content is
  const around = (name: string, key: 'echoBefore' | 'echoAfter'): ModuleDirective => ({
    name,
    ctx: h.ctx,
    args: [0, Infinity],
    handler: (d, _b, c) => {
      const s = h.settingsOf(c);
      (s[key] ??= []).push(echoCmd(d));
    },
  });
  return [
    spec('echo', [0, Infinity], echoCmd),
    around('echo_before_body', 'echoBefore'),
    around('echo_after_body', 'echoAfter'),
    spec('echo_duplicate', [2, 2], (d) => ({ op: 'duplicate', count: h.template(d.args[0], at(d)), text: h.template(d.args[1], at(d)) })),
    spec('echo_flush', [0, 0], () => ({ op: 'flush' })),
    spec('echo_sleep', [1, 1], (d) => ({ op: 'sleep', seconds: h.template(d.args[0], at(d)) })),
    spec('echo_blocking_sleep', [1, 1], (d) => ({ op: 'sleep', seconds: h.template(d.args[0], at(d)) })),
    spec('echo_reset_timer', [0, 0], () => ({ op: 'reset_timer' })),
    spec('echo_status', [1, 1], (d) => {
      const code = Number(d.args[0]);
      if (!Number.isInteger(code) || code < 100 || code > 999) h.fail(d, `invalid status code "${d.args[0]}"`);
      return { op: 'status', code };
    }),
    spec('echo_exec', [1, 2], (d) => ({ op: 'exec', uri: h.template(d.args[0], at(d)), args: d.args[1] !== undefined ? h.template(d.args[1], at(d)) : null })),
    spec('echo_location', [1, 2], (d) => ({ op: 'location', async: false, method: 'GET', uri: h.template(d.args[0], at(d)), args: d.args[1] !== undefined ? h.template(d.args[1], at(d)) : null, body: null })),
    spec('echo_location_async', [1, 2], (d) => ({ op: 'location', async: true, method: 'GET', uri: h.template(d.args[0], at(d)), args: d.args[1] !== undefined ? h.template(d.args[1], at(d)) : null, body: null })),
    ...(['echo_subrequest', 'echo_subrequest_async'] as const).map((name) => spec(name, [2, Infinity], (d) => {
      // echo_subrequest METHOD uri [-q query] [-b body]
      let args: Template | null = null;
      let body: Template | null = null;
      for (let i = 2; i < d.args.length; i++) {
        if (d.args[i] === '-q' && i + 1 < d.args.length) args = h.template(d.args[++i], at(d));
        else if (d.args[i] === '-b' && i + 1 < d.args.length) body = h.template(d.args[++i], at(d));
        else h.fail(d, `unknown option for echo_subrequest: "${d.args[i]}"`);
      }
      return { op: 'location', async: name.endsWith('_async'), method: d.args[0].toUpperCase(), uri: h.template(d.args[1], at(d)), args, body };
    })),
    spec('echo_read_request_body', [0, 0], () => ({ op: 'read_body' })),
    spec('echo_request_body', [0, 0], () => ({ op: 'request_body' })),
  ];
}
