// ngx.get_phase, ngx.is_subrequest, ngx.worker.*, ngx.config.*, ngx.ctx storage
import type { Runtime } from '../core/runtime.js';
import { CTX_REQ, Ctx } from '../core/runtime.js';
import type { JsLuaFn } from '../lua/vm.js';
import { T_TABLE } from '../lua/vm.js';
import { METHODS, PHASES, fast } from '../core/fast.js';

export function registerMisc(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  // a master's worker was started by it; any other process is its own master
  const masterPid = process.env.NGXLUA_WORKER ? process.ppid : process.pid;
  return {
    get_phase: (L) => {
      const ctx = rt.current();
      vm.pushStr(L, ctx ? ctx.kind : 'init');
      return 1;
    },
    worker_pid: (L) => {
      vm.pushNumber(L, process.pid);
      return 1;
    },
    worker_id: (L) => {
      vm.pushNumber(L, rt.workerId);
      return 1;
    },
    worker_count: (L) => {
      vm.pushNumber(L, rt.workerCount);
      return 1;
    },
    process_type: (L) => {
      // one process serves: nginx calls that "single" without a master; init_by_lua runs in
      // nginx's master (and in ngxlua's, then again in each worker: docs/processes.md)
      const inInit = rt.initCtx !== null || rt.current()?.kind === 'init';
      vm.pushStr(L, rt.conf.masterProcess ? (inInit ? 'master' : 'worker') : 'single');
      return 1;
    },
    master_pid: (L) => {
      vm.pushNumber(L, masterPid);
      return 1;
    },
    worker_exiting: (L) => {
      vm.pushBool(L, rt.exiting);
      return 1;
    },
    config_prefix: (L) => {
      vm.pushStr(L, rt.conf.prefix);
      return 1;
    },
    /** the FFI-read state (core/fast.ts): its pointer, then the phase names in index order */
    fast_info: (L) => {
      vm.pushBufPtr(L, fast);
      vm.pushNumber(L, PHASES.length);
      for (const p of PHASES) vm.pushStr(L, p);
      for (const m of METHODS) vm.pushStr(L, m);
      return 2 + PHASES.length + METHODS.length;
    },
    /** ngx.ctx: the request's table, created on first use */
    ctx_get: (L) => {
      const c = rt.current();
      if (c && !c.req && c.kind !== 'init') {
        // timers and init_worker have an ngx.ctx of their own
        if (!c.ctxRef) {
          vm.createTable(L, 0, 4);
          c.ctxRef = vm.ref(L);
        }
        vm.pushRef(L, c.ctxRef);
        return 1;
      }
      const r = rt.req(L, CTX_REQ | Ctx.LOG);
      if (!r.ctxRef) {
        vm.createTable(L, 0, 4);
        r.ctxRef = vm.ref(L);
      }
      vm.pushRef(L, r.ctxRef);
      return 1;
    },
    ctx_set: (L) => {
      const r = rt.req(L, CTX_REQ | Ctx.LOG);
      if (vm.type(L, 1) !== T_TABLE) return vm.errorRaw(L, 'ctx should be a table while getting a ' + 'non-table');
      if (r.ctxRef) vm.unref(r.ctxRef);
      vm.pushValue(L, 1);
      r.ctxRef = vm.ref(L);
      return 0;
    },
  };
}
