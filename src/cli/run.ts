// `ngxlua run`: run Lua with the ngx API in a timer-like context, as OpenResty's `resty` does:
// ngx.say writes to stdout; ngx.sleep, light threads and cosockets work.
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConf } from '../conf/index.js';
import { ErrorLog } from '../util/errlog.js';
import { LuaVM } from '../lua/vm.js';
import { Runtime } from '../core/runtime.js';
import { LuaContext } from '../core/thread.js';
import { installNgxApi } from '../api/index.js';
import { collectArgs } from '../api/output.js';

export async function runScript(argv: string[]): Promise<number> {
  let code: Buffer | null = null;
  let chunkName = '=(command line -e)';
  let scriptArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-e') {
      code = Buffer.from(argv[++i] ?? '', 'utf8');
    } else {
      const file = argv[i];
      try {
        code = readFileSync(file);
      } catch {
        process.stderr.write(`ngxlua run: cannot open ${file}\n`);
        return 2;
      }
      chunkName = '@' + file;
      scriptArgs = argv.slice(i + 1);
      break;
    }
  }
  if (!code) {
    process.stderr.write("usage: ngxlua run [-e 'lua code'] [script.lua [args...]]\n");
    return 2;
  }
  const prefix = mkdtempSync(path.join(tmpdir(), 'ngxlua-run-'));
  mkdirSync(path.join(prefix, 'conf'));
  mkdirSync(path.join(prefix, 'logs'));
  writeFileSync(path.join(prefix, 'conf/nginx.conf'), 'error_log stderr warn;\nevents {}\nhttp {\n}\n');
  const conf = loadConf({ prefix, confFile: 'conf/nginx.conf' });
  rmSync(prefix, { recursive: true, force: true });
  const log = new ErrorLog([{ path: 'stderr', level: 'warn' }]);
  const vm = await LuaVM.create();
  const rt = new Runtime(vm, conf, log);
  installNgxApi(rt);
  const out: Buffer[] = [];
  const flushOut = () => {
    if (out.length) process.stdout.write(Buffer.concat(out.splice(0)));
  };
  let exitCode = 0;
  rt.runBootChunk('resty.lua', {
    write: (L) => {
      collectArgs(vm, L, 1, vm.top(L), out);
      vm.pushNumber(L, 1);
      return 1;
    },
    flush: (L) => {
      flushOut();
      vm.pushNumber(L, 1);
      return 1;
    },
    exit: (L) => {
      const ctx = rt.check(L, ~0);
      ctx.exitCode = vm.toNumber(L, 1);
      return rt.sched.yieldExit(L);
    },
  });
  // arg table as the standalone interpreter sets it
  vm.createTable(vm.L, scriptArgs.length, 1);
  vm.pushStr(vm.L, chunkName.startsWith('@') ? chunkName.slice(1) : '-e');
  vm.rawSetI(vm.L, -2, 0);
  scriptArgs.forEach((a, i) => {
    vm.pushStr(vm.L, Buffer.from(a, 'utf8').toString('latin1'));
    vm.rawSetI(vm.L, -2, i + 1);
  });
  vm.setGlobal(vm.L, 'arg');
  if (vm.load(vm.L, code, chunkName) !== 0) {
    process.stderr.write(`ngxlua run: ${vm.toStr(vm.L, -1)}\n`);
    return 1;
  }
  const ref = vm.ref(vm.L);
  rt.runBootChunk('guard.lua', {}, '=_G write guard');
  return new Promise((resolve) => {
    const ctx = new LuaContext('timer', null);
    ctx.onDone = (o) => {
      flushOut();
      if (o.kind === 'error') {
        process.stderr.write(`ERROR: ${o.error}\n`);
        exitCode = 1;
      } else if (o.kind === 'exit') {
        const c = ctx.exitCode ?? 0;
        exitCode = c >= 200 ? 0 : c;
      }
      log.flushSync();
      resolve(exitCode);
    };
    rt.sched.afterRun = () => flushOut();
    rt.sched.spawnEntry(ctx, ref);
  });
}
