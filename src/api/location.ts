// ngx.location.capture / capture_multi: subrequests whose responses come back as Lua tables.
import { CTX_OUTPUT, type Runtime, type SubrequestSpec } from '../core/runtime.js';
import { T_BOOLEAN, T_NIL, T_STRING, T_TABLE, type JsLuaFn, type LuaVM } from '../lua/vm.js';
import type { CaptureResult } from '../http/subrequest.js';
import { argsValue } from './control.js';
import { METHOD_NAMES } from './req.js';

function pushResult(vm: LuaVM, co: number, res: CaptureResult): void {
  vm.createTable(co, 0, 4);
  vm.pushNumber(co, res.status);
  vm.setField(co, -2, 'status');
  vm.pushBytes(co, res.body);
  vm.setField(co, -2, 'body');
  vm.pushBool(co, res.truncated);
  vm.setField(co, -2, 'truncated');
  // header: repeated names become arrays
  const byName = new Map<string, string[]>();
  for (const [n, v] of res.headers) {
    const l = byName.get(n);
    if (l) l.push(v);
    else byName.set(n, [v]);
  }
  vm.createTable(co, 0, byName.size);
  for (const [n, vs] of byName) {
    if (vs.length === 1) vm.pushStr(co, vs[0]);
    else {
      vm.createTable(co, vs.length, 0);
      vs.forEach((v, i) => {
        vm.pushStr(co, v);
        vm.rawSetI(co, -2, i + 1);
      });
    }
    vm.setField(co, -2, n);
  }
  vm.setField(co, -2, 'header');
}

export function registerLocation(rt: Runtime): Record<string, JsLuaFn> {
  const { vm, sched } = rt;

  /** Read {uri, opts} at stack index `idx` of L into a spec. */
  const readSpec = (L: number, uriIdx: number, optsIdx: number, parentBody: Buffer | null): SubrequestSpec => {
    const uriRaw = vm.toStr(L, uriIdx);
    if (uriRaw === null) {
      vm.argError(L, 1, `string expected, got ${vm.typeName(L, uriIdx)}`);
    }
    let uri = uriRaw!;
    if (uri.startsWith('@')) vm.error(L, 'named locations not supported in ngx.location.capture');
    for (let i = 0; i < uri.length; i++) {
      const c = uri.charCodeAt(i);
      if (c < 0x20 || c === 0x7f) vm.error(L, `unsafe uri in argument #1: ${uri}`);
    }
    let args = '';
    const q = uri.indexOf('?');
    if (q >= 0) {
      args = uri.slice(q + 1);
      uri = uri.slice(0, q);
    }
    const spec: SubrequestSpec = { method: 'GET', uri, args, body: null, vars: null, copyAllVars: false, shareAllVars: false, ctxRef: 0 };
    let forwardBody = false;
    if (vm.type(L, optsIdx) === T_TABLE) {
      const o = optsIdx < 0 ? vm.top(L) + optsIdx + 1 : optsIdx;
      if (vm.getField(L, o, 'method') !== T_NIL) {
        const m = METHOD_NAMES[vm.toNumber(L, -1)];
        if (!m) vm.error(L, 'Bad http request method');
        spec.method = m!;
      }
      vm.pop(L);
      if (vm.getField(L, o, 'args') !== T_NIL) {
        const a = argsValue(vm, L, vm.top(L), 'capture');
        if (a !== null) spec.args = spec.args ? `${spec.args}&${a}` : a;
      }
      vm.pop(L);
      if (vm.getField(L, o, 'body') !== T_NIL) {
        if (vm.type(L, -1) !== T_STRING) vm.error(L, 'Bad http request body');
        spec.body = vm.toBuffer(L, -1);
      }
      vm.pop(L);
      if (vm.getField(L, o, 'vars') === T_TABLE) {
        spec.vars = [];
        vm.pushNil(L);
        while (vm.next(L, -2)) {
          const k = vm.type(L, -2) === T_STRING ? vm.toStr(L, -2) : null;
          const v = vm.toStr(L, -1);
          if (k === null || v === null) vm.error(L, 'Bad vars option value');
          spec.vars.push([k!.toLowerCase(), v!]);
          vm.pop(L);
        }
      }
      vm.pop(L);
      const flag = (name: string): boolean => {
        const t = vm.getField(L, o, name);
        const b = t === T_BOOLEAN && vm.toBool(L, -1);
        vm.pop(L);
        return b;
      };
      spec.copyAllVars = flag('copy_all_vars');
      spec.shareAllVars = flag('share_all_vars');
      forwardBody = flag('always_forward_body');
      if (vm.getField(L, o, 'ctx') === T_TABLE) spec.ctxRef = vm.ref(L);
      else vm.pop(L);
    }
    if (!spec.body && parentBody && (forwardBody || spec.method === 'POST' || spec.method === 'PUT')) spec.body = parentBody;
    return spec;
  };

  const issue = (L: number, specs: SubrequestSpec[]): number => {
    const r = rt.req(L, CTX_OUTPUT);
    const th = sched.current!;
    const results: CaptureResult[] = new Array(specs.length);
    let left = specs.length;
    let cancelled = false;
    const release = () => {
      for (const s of specs) if (s.ctxRef) vm.unref(s.ctxRef);
    };
    setImmediate(() => {
      if (cancelled) return;
      specs.forEach((spec, i) =>
        rt.subrequest!(r, spec, (res) => {
          results[i] = res;
          if (--left > 0 || cancelled) return;
          release();
          sched.resume(th, (v, co) => {
            v.checkStack(co, results.length);
            for (const res of results) pushResult(v, co, res);
            return results.length;
          });
        }),
      );
    });
    return sched.suspend(L, {
      cancel: () => {
        cancelled = true;
      },
    });
  };

  return {
    capture: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      return issue(L, [readSpec(L, 1, 2, r.body ?? null)]);
    },
    capture_multi: (L) => {
      const r = rt.req(L, CTX_OUTPUT);
      if (vm.type(L, 1) !== T_TABLE) return vm.argError(L, 1, `table expected, got ${vm.typeName(L, 1)}`);
      const n = Number(vm.rawLen(L, 1));
      if (n === 0) return vm.error(L, 'at least one subrequest should be specified');
      const specs: SubrequestSpec[] = [];
      for (let i = 1; i <= n; i++) {
        if (vm.rawGetI(L, 1, i) !== T_TABLE) return vm.error(L, 'only array-like tables are allowed');
        const t = vm.top(L);
        vm.rawGetI(L, t, 1);
        vm.rawGetI(L, t, 2);
        specs.push(readSpec(L, t + 1, t + 2, r.body ?? null));
        vm.setTop(L, t - 1);
      }
      return issue(L, specs);
    },
    is_subrequest: (L) => {
      const r = rt.req(L, ~0);
      vm.pushBool(L, r.isSubrequest);
      return 1;
    },
  };
}
