// nginx's rewrite module: `set`, `return`, `rewrite` (and set_by_lua) statements, run in order in
// the server rewrite phase and in a location's rewrite phase.
import type { LuaHandler, RewriteStmt } from '../conf/model.js';
import { expandTemplate } from '../conf/template.js';
import type { RequestCtx } from '../core/request.js';
import { getVar } from '../core/vars.js';

export interface RewriteHost {
  /** finish with nginx's special response for status */
  finalize(r: RequestCtx, status: number): void;
  /** `return code [text]` */
  respond(r: RequestCtx, code: number, text: string | undefined): void;
  /** false when it failed and the request was finalized */
  runSetByLua(r: RequestCtx, h: LuaHandler): boolean;
}

/**
 * nginx's rewrite module statements. 'next' continues with the phases, 'restart' re-runs
 * location matching on the new URI, 'done' means the response was finalized.
 */
export function runRewriteStmts(host: RewriteHost, r: RequestCtx, stmts: RewriteStmt[]): 'next' | 'restart' | 'done' {
  let changed = false;
  for (const s of stmts) {
    switch (s.op) {
      case 'set': {
        const v = expandTemplate(s.value, (n) => getVar(r, n));
        if (!r.vars) r.vars = new Map();
        r.vars.set(s.name, v);
        break;
      }
      case 'return': {
        const text = s.text ? expandTemplate(s.text, (n) => getVar(r, n)) : undefined;
        host.respond(r, s.code, text);
        return 'done';
      }
      case 'rewrite': {
        const m = s.regex.exec(r.uri);
        if (!m) break;
        const saved = r.captures;
        r.captures = Array.from(m, (x) => x ?? '');
        let target = expandTemplate(s.replacement, (n) => getVar(r, n));
        r.captures = saved;
        if (/^(https?:\/\/|\$scheme)/.test(target) || s.flag === 'redirect' || s.flag === 'permanent') {
          if (r.args && !target.endsWith('?')) target += (target.includes('?') ? '&' : '?') + r.args;
          else if (target.endsWith('?')) target = target.slice(0, -1);
          r.headersOut.set('Location', [target]);
          host.finalize(r, s.flag === 'permanent' ? 301 : 302);
          return 'done';
        }
        const q = target.indexOf('?');
        if (q >= 0) {
          const newArgs = target.slice(q + 1);
          r.args = newArgs.length && r.args && !target.endsWith('?') ? `${newArgs}&${r.args}` : newArgs || '';
          if (target.endsWith('?')) r.args = target.slice(q + 1, -1);
          target = target.slice(0, q);
        }
        r.uri = target;
        changed = true;
        if (s.flag === 'last') return 'restart';
        if (s.flag === 'break') return 'next';
        break;
      }
      case 'lua_set':
        // set_by_lua: run synchronously (no yielding APIs allowed there)
        if (!host.runSetByLua(r, s.handler)) return 'done';
        break;
    }
  }
  return changed ? 'restart' : 'next';
}
