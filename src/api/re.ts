// ngx.re.* (match, find, gmatch, sub, gsub, split, opt), ngx.encode_args, ngx.decode_args and
// ngx.quote_sql_str. Primitives for lua/re.lua, which installs them on the `ngx` table.
//
// Behaviour follows the reference (nginx 1.22 + lua-nginx-module 0.10.23 + lua-resty-core):
// return conventions (nil / nil, err / nil, nil, err), `false` for unmatched captures, ctx.pos,
// the replacement-template errors (named `${name}` variables are not supported there), the
// one-byte advance after an empty match (which yields `pcre_exec() failed: -11` inside a UTF-8
// character with `u`), and split's quirks. Regex compilation and matching live in src/re/.
import type { Runtime } from '../core/runtime.js';
import { TYPE_NAMES, T_FUNCTION, T_NIL, T_NUMBER, T_STRING, T_TABLE, type JsLuaFn } from '../lua/vm.js';
import { cachedCount, capBytes, capRange, compile, execAt, parseOptions, ReCompileError, ReExecError, Subject, type ByteMatch, type Regex } from '../re/engine.js';
import { registerArgs } from './args.js';


/** A compiled replacement template: literal byte runs and capture numbers. */
type Template = Array<Buffer | number>;

export class TemplateError extends Error {}

/** Parse `$0`, `$12`, `${3}`, `$$`; named variables and stray `$` are errors (the log line is the message). */
export function parseTemplate(t: Buffer): Template {
  const out: Template = [];
  let lit: number[] = [];
  const flush = () => {
    if (lit.length) out.push(Buffer.from(lit));
    lit = [];
  };
  const isDigit = (c: number | undefined) => c !== undefined && c >= 48 && c <= 57;
  const isName = (c: number | undefined) => c !== undefined && ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || (c >= 48 && c <= 57));
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c !== 0x24) {
      lit.push(c);
      continue;
    }
    const n = t[i + 1];
    if (n === 0x24) {
      lit.push(0x24);
      i++;
      continue;
    }
    if (isDigit(n)) {
      let k = i + 1, v = 0;
      while (isDigit(t[k])) v = v * 10 + (t[k++] - 48);
      flush();
      out.push(v);
      i = k - 1;
      continue;
    }
    if (n === 0x7b) {
      let k = i + 2;
      if (isDigit(t[k])) {
        let v = 0;
        while (isDigit(t[k])) v = v * 10 + (t[k++] - 48);
        if (t[k] !== 0x7d) throw new TemplateError(`the closing bracket in "${t.subarray(i + 2).toString('latin1')}" variable is missing`);
        flush();
        out.push(v);
        i = k;
        continue;
      }
      while (isName(t[k])) k++;
      if (k > i + 2) throw new TemplateError(`attempt to use named capturing variable "${t.subarray(i + 2, k).toString('latin1')}" (named captures not supported yet)`);
      throw new TemplateError(`lua script: invalid capturing variable name found in "${t.subarray(i).toString('latin1')}"`);
    }
    if (isName(n)) {
      let k = i + 1;
      while (isName(t[k])) k++;
      throw new TemplateError(`attempt to use named capturing variable "${t.subarray(i + 1, k).toString('latin1')}" (named captures not supported yet)`);
    }
    throw new TemplateError(`lua script: invalid capturing variable name found in "${t.subarray(i).toString('latin1')}"`);
  }
  flush();
  return out;
}

export function registerRe(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;

  const pushNil = (L: number, n = 1) => {
    for (let k = 0; k < n; k++) vm.pushNil(L);
  };
  /** nil × nils, then the error string */
  const fail = (L: number, nils: number, msg: string) => {
    pushNil(L, nils);
    vm.pushStr(L, msg);
    return nils + 1;
  };

  /** tostring(v) of the value at idx, as bytes */
  const tostringAt = (L: number, idx: number): Buffer => {
    const t = vm.type(L, idx);
    if (t === T_STRING) return vm.toBuffer(L, idx)!;
    vm.getGlobal(L, 'tostring');
    vm.pushValue(L, idx);
    vm.call(L, 1, 1);
    const b = vm.toBuffer(L, -1) ?? Buffer.alloc(0);
    vm.pop(L);
    return b;
  };

  const subjectArg = (L: number) => tostringAt(L, 1);

  const regexArg = (L: number, idx: number): Buffer => {
    const t = vm.type(L, idx);
    if (t !== T_STRING) vm.errorRaw(L, `attempt to get length of local 'regex' (a ${TYPE_NAMES[t] ?? 'no'} value)`);
    const b = vm.toBuffer(L, idx)!;
    // the reference hands the pattern to PCRE as a C string: it ends at the first NUL
    const z = b.indexOf(0);
    return z < 0 ? b : b.subarray(0, z);
  };

  const optsArg = (L: number, idx: number): string => {
    const t = vm.type(L, idx);
    if (t <= T_NIL) return '';
    if (t !== T_STRING) vm.errorRaw(L, `attempt to get length of local 'opts' (a ${TYPE_NAMES[t]} value)`);
    return vm.toStr(L, idx)!;
  };

  /** Compile or return the error message; an unknown flag raises a Lua error. */
  const getRegex = (L: number, regex: Buffer, opts: string): Regex | string => {
    const o = parseOptions(opts);
    if ('bad' in o) return vm.errorRaw(L, `unknown flag "${o.bad}" (flags "${opts}")`) as never;
    try {
      return compile(regex, opts, o);
    } catch (e) {
      if (e instanceof ReCompileError) return e.message;
      throw e;
    }
  };

  // gmatch steps see the same subject again and again: keep its decoding
  let lastSubj: Subject | null = null;
  const makeSubject = (re: Regex, buf: Buffer): Subject => {
    const s = lastSubj;
    if (s && s.utf === re.opts.utf && s.buf.length === buf.length && (!s.utf || s.checked === !re.opts.noUtfCheck) && s.buf.equals(buf)) return s;
    return (lastSubj = new Subject(buf, re.opts.utf, !re.opts.noUtfCheck));
  };

  /** ctx.pos (1-based) → 0-based start; null when ctx is not a table */
  const ctxStart = (L: number, idx: number): number => {
    if (vm.type(L, idx) !== T_TABLE) return 0;
    vm.getField(L, idx, 'pos');
    const t = vm.type(L, -1);
    let start = 0;
    if (t === T_NUMBER) start = Math.max(0, Math.trunc(vm.toNumber(L, -1)) - 1);
    else if (t !== T_NIL) {
      vm.pop(L);
      return vm.errorRaw(L, `attempt to compare ${TYPE_NAMES[t]} with number`);
    }
    vm.pop(L);
    return start;
  };
  const setCtxPos = (L: number, idx: number, pos: number) => {
    if (vm.type(L, idx) !== T_TABLE) return;
    vm.pushNumber(L, pos);
    vm.setField(L, idx, 'pos');
  };

  /** Push the match table (into the table at resIdx when it is a table). */
  const pushMatch = (L: number, re: Regex, subj: Subject, bm: ByteMatch, resIdx: number) => {
    const ncap = re.ncap;
    if (resIdx && vm.type(L, resIdx) === T_TABLE) vm.pushValue(L, resIdx);
    else vm.createTable(L, ncap, re.opts.dfa ? 0 : re.t.names.length);
    const t = vm.top(L);
    const caps: Array<Buffer | null> = [];
    for (let n = 0; n <= ncap; n++) {
      const b = capBytes(re, subj, bm, n);
      caps.push(b);
      if (b) vm.pushBytes(L, b);
      else vm.pushBool(L, false);
      vm.rawSetI(L, t, n);
    }
    if (ncap === 0) return;
    const names = re.t.names;
    if (!re.opts.dupnames) {
      for (const { name, index } of names) {
        const b = caps[index];
        if (b) vm.pushBytes(L, b);
        else vm.pushBool(L, false);
        vm.setField(L, t, name);
      }
      return;
    }
    const grouped = new Map<string, Buffer[]>();
    for (const { name, index } of names) {
      let arr = grouped.get(name);
      if (!arr) grouped.set(name, (arr = []));
      const b = caps[index];
      if (b) arr.push(b);
    }
    for (const [name, arr] of grouped) {
      if (!arr.length) continue;
      vm.createTable(L, arr.length, 0);
      arr.forEach((b, k) => {
        vm.pushBytes(L, b);
        vm.rawSetI(L, -2, k + 1);
      });
      vm.setField(L, t, name);
    }
  };

  const execSafe = (re: Regex, subj: Subject, from: number, indices = false): ByteMatch | null | ReExecError => {
    try {
      return execAt(re, subj, from, indices);
    } catch (e) {
      if (e instanceof ReExecError) return e;
      throw e;
    }
  };

  /**
   * Run re over sbuf from byte `pos`: the subject and the match, or the count of values pushed
   * for a failure (`nret` nils before the message) or for no match (one nil).
   */
  const matchAt = (L: number, re: Regex, sbuf: Buffer, pos: number, nret: number, caps = false): { subj: Subject; bm: ByteMatch } | number => {
    let subj: Subject;
    try {
      subj = makeSubject(re, sbuf);
    } catch (e) {
      if (e instanceof ReExecError) return fail(L, nret, e.message);
      throw e;
    }
    const bm = execSafe(re, subj, pos, caps);
    if (bm instanceof ReExecError) return fail(L, nret, bm.message);
    if (!bm) return pushNil(L), 1;
    return { subj, bm };
  };

  const prims: Record<string, JsLuaFn> = {
    // ngx.re.match(subject, regex, options?, ctx?, res_table?)
    re_match: (L) => {
      const sbuf = subjectArg(L);
      const re = getRegex(L, regexArg(L, 2), optsArg(L, 3));
      if (typeof re === 'string') return fail(L, 1, re);
      const start = ctxStart(L, 4);
      if (start > sbuf.length) return pushNil(L), 1;
      const m = matchAt(L, re, sbuf, start, 1);
      if (typeof m === 'number') return m;
      const { subj, bm } = m;
      setCtxPos(L, 4, bm.end + 1);
      pushMatch(L, re, subj, bm, 5);
      return 1;
    },

    // ngx.re.find(subject, regex, options?, ctx?, nth?) → from, to
    re_find: (L) => {
      const sbuf = subjectArg(L);
      const re = getRegex(L, regexArg(L, 2), optsArg(L, 3));
      if (typeof re === 'string') return fail(L, 2, re);
      const start = ctxStart(L, 4);
      const nth = vm.type(L, 5) > T_NIL ? Math.trunc(vm.toNumber(L, 5)) : 0;
      if (start > sbuf.length) return pushNil(L), 1;
      if (nth > re.ncap) return fail(L, 2, 'nth out of bound');
      const m = matchAt(L, re, sbuf, start, 2, nth > 0);
      if (typeof m === 'number') return m;
      const { subj, bm } = m;
      setCtxPos(L, 4, bm.end + 1);
      const r = capRange(re, subj, bm, Math.max(0, nth));
      if (!r) return pushNil(L, 2), 2;
      vm.pushNumber(L, r[0] + 1);
      vm.pushNumber(L, r[1]);
      return 2;
    },

    // compile check for gmatch: raises on a bad flag; returns true or nil, err
    re_check: (L) => {
      const re = getRegex(L, regexArg(L, 1), optsArg(L, 2));
      if (typeof re === 'string') return fail(L, 1, re);
      vm.pushBool(L, true);
      return 1;
    },

    // one gmatch step: (subject, regex, options, pos0) → match, nextpos0 | nil | nil, err
    re_gmatch_step: (L) => {
      const sbuf = vm.toBuffer(L, 1)!;
      const re = getRegex(L, regexArg(L, 2), optsArg(L, 3));
      if (typeof re === 'string') return fail(L, 1, re);
      const pos = vm.toNumber(L, 4);
      if (pos > sbuf.length) return pushNil(L), 1;
      const m = matchAt(L, re, sbuf, pos, 1);
      if (typeof m === 'number') return m;
      const { subj, bm } = m;
      pushMatch(L, re, subj, bm, 0);
      vm.pushNumber(L, bm.end > bm.start ? bm.end : bm.end + 1);
      return 2;
    },

    // ngx.re.sub / gsub(subject, regex, replace, options?) with the `global` flag as arg 5
    re_sub: (L) => {
      const global = vm.toBool(L, 5);
      const sbuf = subjectArg(L);
      const regex = regexArg(L, 2);
      const rt3 = vm.type(L, 3);
      const opts = optsArg(L, 4);
      const re = getRegex(L, regex, opts);
      if (typeof re === 'string') return fail(L, 2, re);
      let tpl: Template | null = null;
      if (rt3 !== T_FUNCTION) {
        const tb = rt3 === T_STRING || rt3 === T_NUMBER ? vm.toBuffer(L, 3)! : tostringAt(L, 3);
        try {
          tpl = parseTemplate(tb);
        } catch (e) {
          if (!(e instanceof TemplateError)) throw e;
          rt.log.log('error', e.message);
          return fail(L, 2, 'failed to compile the replacement template');
        }
      }
      let subj: Subject;
      try {
        subj = makeSubject(re, sbuf);
      } catch (e) {
        if (e instanceof ReExecError) return fail(L, 2, e.message);
        throw e;
      }
      const parts: Buffer[] = [];
      let last = 0, pos = 0, n = 0;
      while (pos <= sbuf.length) {
        const bm = execSafe(re, subj, pos);
        if (bm instanceof ReExecError) return fail(L, 2, bm.message);
        if (!bm) break;
        parts.push(sbuf.subarray(last, bm.start));
        if (tpl) {
          for (const item of tpl) {
            if (typeof item !== 'number') parts.push(item);
            else if (item <= re.ncap) {
              const b = capBytes(re, subj, bm, item);
              if (b) parts.push(b);
            }
          }
        } else {
          vm.pushValue(L, 3);
          pushMatch(L, re, subj, bm, 0);
          vm.call(L, 1, 1);
          const t = vm.type(L, -1);
          parts.push(t === T_STRING || t === T_NUMBER ? vm.toBuffer(L, -1)! : tostringAt(L, vm.top(L)));
          vm.pop(L);
        }
        n++;
        last = bm.end;
        if (!global) break;
        pos = bm.end > bm.start ? bm.end : bm.end + 1;
      }
      if (n === 0) {
        vm.pushBytes(L, sbuf);
      } else {
        parts.push(sbuf.subarray(last));
        vm.pushBytes(L, Buffer.concat(parts));
      }
      vm.pushNumber(L, n);
      return 2;
    },

    // require("ngx.re").split(subject, regex, options?, ctx?, max?, res?)
    re_split: (L) => {
      const sbuf = subjectArg(L);
      const re = getRegex(L, regexArg(L, 2), optsArg(L, 3));
      const hasRes = vm.type(L, 6) > T_NIL;
      if (hasRes && vm.type(L, 6) !== T_TABLE) return vm.errorRaw(L, 'res is not a table');
      if (typeof re === 'string') return fail(L, 1, re);
      const max = vm.type(L, 5) === T_NUMBER ? Math.trunc(vm.toNumber(L, 5)) : 0;
      const limit = max > 0 ? max : Infinity;
      const start = ctxStart(L, 4);
      const items: Buffer[] = [];
      let fields = 0;
      let matched = false;
      let last = start;
      if (start <= sbuf.length) {
        let subj: Subject;
        try {
          subj = makeSubject(re, sbuf);
        } catch (e) {
          if (e instanceof ReExecError) return fail(L, 1, e.message);
          throw e;
        }
        let pos = start;
        while (fields < limit - 1 && pos <= sbuf.length) {
          const bm = execSafe(re, subj, pos);
          if (bm instanceof ReExecError) return fail(L, 1, bm.message);
          if (!bm) break;
          if (bm.end === bm.start && bm.start === last) {
            // an empty separator right where the field starts does not end it
            pos = bm.start + 1;
            continue;
          }
          items.push(sbuf.subarray(last, bm.start));
          fields++;
          if (re.ncap > 0) items.push(capBytes(re, subj, bm, 1) ?? sbuf);
          matched = true;
          last = bm.end;
          pos = bm.end;
        }
        const rest = sbuf.subarray(Math.min(last, sbuf.length));
        if (max > 0 || rest.length) items.push(rest);
      }
      let n = items.length;
      if (hasRes) vm.pushValue(L, 6);
      else vm.createTable(L, n, 0);
      const t = vm.top(L);
      items.forEach((b, k) => {
        vm.pushBytes(L, b);
        vm.rawSetI(L, t, k + 1);
      });
      if (max <= 0) {
        while (n > 0 && items[n - 1].length === 0) {
          vm.pushNil(L);
          vm.rawSetI(L, t, n);
          n--;
        }
      }
      if (hasRes) {
        vm.pushNil(L);
        vm.rawSetI(L, t, n + 1);
      }
      if (matched) setCtxPos(L, 4, last);
      return 1;
    },

    // require("ngx.re").opt(name, value): only jit_stack_size exists; it has no effect here
    re_opt: (L) => {
      const name = vm.toStr(L, 1);
      if (name !== 'jit_stack_size') return vm.errorRaw(L, 'unrecognized option name');
      if (cachedCount() > 0) return vm.errorRaw(L, 'changing jit stack size is not allowed when some regexs have already been compiled and cached');
      return 0;
    },
  };
  return { ...prims, ...registerArgs(rt) };
}

