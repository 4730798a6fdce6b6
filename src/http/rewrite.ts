// nginx's rewrite module: `set`, `return`, `rewrite`, `if`, `break` (and set_by_lua) statements,
// run in order in the server rewrite phase and in a location's rewrite phase.
import { statSync } from 'node:fs';
import type { IfCondition, LuaHandler, RewriteStmt } from '../conf/model.js';
import { expandTemplate } from '../conf/template.js';
import type { RequestCtx } from '../core/request.js';
import { getVar } from '../core/vars.js';

export interface RewriteHost {
  /** finish with nginx's special response for status */
  finalize(r: RequestCtx, status: number): void;
  /** `return code [text]` */
  respond(r: RequestCtx, code: number, text: string | undefined): void;
  runSetByLua(r: RequestCtx, h: LuaHandler): void;
}

type Outcome = 'next' | 'restart' | 'done';

/** How a run of statements ended: fell through, `break`, a `last` restart, or a response. */
type StepResult = 'continue' | 'break' | 'restart' | 'done';

interface RunState {
  /** the URI was rewritten by a flagless `rewrite` */
  changed: boolean;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/**
 * nginx's rewrite module statements. 'next' continues with the phases, 'restart' re-runs
 * location matching on the new URI, 'done' means the response was finalized.
 * A true location-level `if` switches `r.loc` to the if's conf for the rest of the request.
 */
export function runRewriteStmts(host: RewriteHost, r: RequestCtx, stmts: RewriteStmt[]): Outcome {
  if (stmts.length === 0) return 'next';
  const st: RunState = { changed: false };
  const res = runList(host, r, stmts, st);
  if (res === 'done' || res === 'restart') return res;
  // `break` (alone or as a rewrite flag) also drops a pending re-search of locations
  if (res === 'break') return 'next';
  return st.changed ? 'restart' : 'next';
}

function runList(host: RewriteHost, r: RequestCtx, stmts: RewriteStmt[], st: RunState): StepResult {
  for (const s of stmts) {
    switch (s.op) {
      case 'set': {
        const v = expandTemplate(s.value, (n) => getVar(r, n));
        if (!r.vars) r.vars = new Map();
        r.vars.set(s.name, v);
        break;
      }
      case 'return':
        doReturn(host, r, s.code, s.text ? expandTemplate(s.text, (n) => getVar(r, n)) : undefined);
        return 'done';
      case 'rewrite': {
        const res = doRewrite(host, r, s, st);
        if (res !== 'continue') return res;
        break;
      }
      case 'if': {
        if (!testCondition(r, s.cond)) break;
        if (s.conf) r.loc = s.conf;
        const res = runList(host, r, s.body, st);
        if (res !== 'continue') return res;
        break;
      }
      case 'break':
        return 'break';
      case 'lua_set':
        // set_by_lua: run synchronously (no yielding APIs allowed there)
        host.runSetByLua(r, s.handler);
        break;
    }
  }
  return 'continue';
}

function doReturn(host: RewriteHost, r: RequestCtx, code: number, text: string | undefined): void {
  if (code === 444 && text === undefined) {
    // nginx closes the connection without sending anything
    host.finalize(r, 444);
    return;
  }
  if (text !== undefined && REDIRECT_CODES.has(code)) text = absoluteRedirect(r, text);
  host.respond(r, code, text);
}

function doRewrite(host: RewriteHost, r: RequestCtx, s: Extract<RewriteStmt, { op: 'rewrite' }>, st: RunState): StepResult {
  const m = s.regex.exec(r.uri);
  if (!m) return 'continue';
  const saved = r.captures;
  r.captures = Array.from(m, (x) => x ?? '');
  let target = expandTemplate(s.replacement, (n) => getVar(r, n));
  r.captures = saved;
  if (/^(https?:\/\/|\$scheme)/.test(target) || s.flag === 'redirect' || s.flag === 'permanent') {
    if (r.args && !target.endsWith('?')) target += (target.includes('?') ? '&' : '?') + r.args;
    else if (target.endsWith('?')) target = target.slice(0, -1);
    r.headersOut.set('Location', [absoluteRedirect(r, target)]);
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
  st.changed = true;
  if (s.flag === 'last') return 'restart';
  if (s.flag === 'break') {
    // the proxy module then passes the whole new URI, not its location-relative part
    r.validLocation = false;
    return 'break';
  }
  return 'continue';
}

/**
 * nginx's header filter turns a Location starting with `/` into `http://host[:port]/...` when
 * `absolute_redirect` is on: the host is the first `server_name` with `server_name_in_redirect
 * on`, else the Host header's name, else the local address; the port is the local one, left
 * out when it is 80 or when `port_in_redirect` is off. (Locations set from Lua stay as set.)
 */
export function absoluteRedirect(r: RequestCtx, location: string): string {
  // a subrequest's head never passes nginx's header filter: its Location stays as it is
  if (!location.startsWith('/') || r.isSubrequest) return location;
  const settings = r.loc?.settings ?? r.server.settings;
  if (!settings.absoluteRedirect) return location;
  let host: string;
  if (settings.serverNameInRedirect) host = r.server.serverNames[0] ?? '';
  else host = r.req.host || r.req.serverAddr;
  const port = settings.portInRedirect && r.req.serverPort !== 80 ? `:${r.req.serverPort}` : '';
  return `http://${host}${port}${location}`;
}

function testCondition(r: RequestCtx, c: IfCondition): boolean {
  switch (c.kind) {
    case 'var': {
      const v = getVar(r, c.name) ?? '';
      return v !== '' && v !== '0';
    }
    case 'eq': {
      const v = getVar(r, c.name) ?? '';
      const want = expandTemplate(c.value, (n) => getVar(r, n));
      return (v === want) !== c.negate;
    }
    case 'regex': {
      const v = getVar(r, c.name) ?? '';
      c.regex.lastIndex = 0;
      const m = c.regex.exec(v);
      if (m) r.captures = Array.from(m, (x) => x ?? '');
      return !!m !== c.negate;
    }
    case 'file': {
      const p = expandTemplate(c.path, (n) => getVar(r, n));
      let ok: boolean;
      try {
        const s = statSync(p);
        if (c.test === 'f') ok = s.isFile();
        else if (c.test === 'd') ok = s.isDirectory();
        else if (c.test === 'e') ok = true;
        else ok = (s.mode & 0o111) !== 0; // any execute bit, as nginx's ngx_is_exec
      } catch {
        ok = false;
      }
      return ok !== c.negate;
    }
  }
}
