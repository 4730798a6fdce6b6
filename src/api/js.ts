// ngxlua.js (our extension): Lua calling the host application's JS functions. An async function
// is awaited as a cosocket operation is: the calling coroutine yields until the promise settles,
// other requests run meanwhile, and the settled value becomes the call's return value.
// lua/js.lua builds the module (js.call(name, ...) and js.db.query(...)) over js_call.
import { CTX_YIELDABLE, type Runtime } from '../core/runtime.js';
import { getVar } from '../core/vars.js';
import type { RequestCtx } from '../core/request.js';
import { ConvertError, pushJs, toJs } from '../lua/convert.js';
import type { JsLuaFn, LuaVM } from '../lua/vm.js';

/** How the host exposes a function to Lua. */
export interface ExposeOptions {
  /** a rejected promise or thrown error: `nil, message` (return, the default) or a Lua error (raise) */
  onError?: 'return' | 'raise';
  /** milliseconds before the call gives up with `nil, "timeout"` (0: never) */
  timeout?: number;
  /** Lua strings arrive as UTF-8 JS strings instead of Buffers */
  utf8Strings?: boolean;
  /** the function gets one more, last argument: the calling request (see RequestInfo) */
  request?: boolean;
}

export type ExposedFunction = (...args: any[]) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Exposed {
  fn: ExposedFunction;
  opts: ExposeOptions;
}

/** What an exposed function declared with `request: true` gets about the request calling it. */
export interface RequestInfo {
  method: string;
  uri: string;
  args: string;
  headers: Array<[string, string]>;
  /** an nginx variable, as ngx.var reads it (`undefined` when it has no value) */
  var(name: string): string | undefined;
}

function requestInfo(r: RequestCtx): RequestInfo {
  return {
    method: r.req.method,
    uri: r.req.uri,
    args: r.req.args,
    headers: r.req.headers,
    var: (name: string) => getVar(r, name) ?? undefined,
  };
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function registerJs(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;

  // js_call returns (true, value) or (false, message, raise): lua/js.lua turns the last into
  // `nil, message` or a Lua error
  const pushOutcome = (v: LuaVM, L: number, f: Exposed, ok: boolean, value: unknown): number => {
    if (ok) {
      try {
        v.pushBool(L, true);
        pushJs(v, L, value);
        return 2;
      } catch (e) {
        if (!(e instanceof ConvertError)) throw e;
        v.pop(L);
        value = `cannot convert the result: ${e.message}`;
      }
    }
    v.pushBool(L, false);
    v.pushBytes(L, Buffer.from(typeof value === 'string' ? value : message(value), 'utf8'));
    v.pushBool(L, f.opts.onError === 'raise');
    return 3;
  };

  return {
    js_call: (L, nargs) => {
      const ctx = rt.check(L, CTX_YIELDABLE);
      const name = vm.toStr(L, 1);
      if (name === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      // mistakes in the call are raised (at the Lua caller, by lua/js.lua), whatever the mode
      const raise = (msg: string): number => {
        vm.pushBool(L, false);
        vm.pushBytes(L, Buffer.from(msg, 'utf8'));
        vm.pushBool(L, true);
        return 3;
      };
      const f = rt.jsFunctions.get(name);
      if (!f) return raise(`no JS function "${name}" is exposed`);
      const args: unknown[] = [];
      for (let i = 2; i <= nargs; i++) {
        try {
          args.push(toJs(vm, L, i, { utf8Strings: f.opts.utf8Strings }));
        } catch (e) {
          if (!(e instanceof ConvertError)) throw e;
          return raise(`cannot pass argument ${i - 1} to "${name}": ${e.message}`);
        }
      }
      if (f.opts.request && ctx.req) args.push(requestInfo(ctx.req));
      let res: unknown;
      try {
        res = f.fn(...args);
      } catch (e) {
        return pushOutcome(vm, L, f, false, e);
      }
      if (!isThenable(res)) return pushOutcome(vm, L, f, true, res);
      const th = rt.sched.current!;
      let settled = false;
      let timer: NodeJS.Timeout | null = null;
      const settle = (ok: boolean, value: unknown) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        rt.sched.resume(th, (v, co) => pushOutcome(v, co, f, ok, value));
      };
      res.then((v) => settle(true, v), (e) => settle(false, e));
      if (f.opts.timeout) timer = setTimeout(() => settle(false, 'timeout'), f.opts.timeout);
      return rt.sched.suspend(L, {
        cancel: () => {
          // the request ended first: whatever the promise does later is dropped
          settled = true;
          if (timer) clearTimeout(timer);
        },
      });
    },
  };
}
