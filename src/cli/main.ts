// The command line: a drop-in for the nginx binary (-p -c -g -e -t -s -v -V) plus `run`, a
// script runner like OpenResty's `resty`.
import { ENGINE_VERSION } from '../lua/vm.js';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { loadConf, ConfError } from '../conf/index.js';
import type { MainConf } from '../conf/model.js';
import { ErrorLog, fakeConnId, formatErrorLine, LOG_ALERT, LOG_ERR } from '../util/errlog.js';
import { VERSION } from '../core/version.js';
import type { WorkerSpec } from '../process/master.js';
import { serveExecArgv } from '../process/v8flags.js';

const NAME = 'ngxlua';

interface Opts {
  prefix: string;
  conf: string;
  globals?: string;
  errorLog?: string;
  test: boolean;
  dump: boolean;
  quiet: boolean;
  signal?: string;
}

function usage(): void {
  process.stderr.write(
    `Usage: ${NAME} [-?hvVtTq] [-s signal] [-p prefix] [-e filename] [-c filename] [-g directives]\n` +
      `       ${NAME} run [-e 'lua code'] [script.lua [args...]]\n\n` +
      'Options:\n' +
      '  -?,-h         : this help\n' +
      '  -v            : show version and exit\n' +
      '  -V            : show version and configure options then exit\n' +
      '  -t            : test configuration and exit\n' +
      '  -T            : test configuration, dump it and exit\n' +
      '  -q            : suppress non-error messages during configuration testing\n' +
      '  -s signal     : send signal to a master process: stop, quit, reopen, reload\n' +
      '  -p prefix     : set prefix path (default: current directory)\n' +
      '  -e filename   : set error log file\n' +
      '  -c filename   : set configuration file (default: conf/nginx.conf)\n' +
      "  -g directives : set global directives out of configuration file\n",
  );
}

function parseArgs(argv: string[]): Opts | null {
  const o: Opts = { prefix: process.cwd(), conf: 'conf/nginx.conf', test: false, dump: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) {
      process.stderr.write(`${NAME}: invalid option: "${a}"\n`);
      process.exit(1);
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      const takeValue = (): string => {
        const rest = a.slice(j + 1);
        j = a.length;
        if (rest) return rest;
        const v = argv[++i];
        if (v === undefined) {
          process.stderr.write(`${NAME}: option "-${c}" requires ${c === 's' ? 'signal name' : c === 'g' ? 'directives' : c === 'p' ? 'directory name' : 'file name'}\n`);
          process.exit(1);
        }
        return v;
      };
      switch (c) {
        case '?':
        case 'h':
          usage();
          process.exit(0);
        // eslint-disable-next-line no-fallthrough
        case 'v':
          process.stderr.write(`${NAME} version: ${NAME}/${VERSION} (nginx/1.22.1 compatible, ngx_lua 0.10.23 API)\n`);
          process.exit(0);
        // eslint-disable-next-line no-fallthrough
        case 'V':
          process.stderr.write(
            `${NAME} version: ${NAME}/${VERSION} (nginx/1.22.1 compatible, ngx_lua 0.10.23 API)\n` +
              `built on Node.js ${process.version} with ${ENGINE_VERSION} (native engine, JIT on)\n` +
              // Test::Nginx reads the OpenSSL version here (cosockets' TLS is Node's OpenSSL)
              `built with OpenSSL ${process.versions.openssl}\nTLS SNI support enabled\n` +
              'configure arguments: --with-http_lua_module --with-http_ssl_module --with-http_auth_request_module\n',
          );
          process.exit(0);
        // eslint-disable-next-line no-fallthrough
        case 't':
          o.test = true;
          break;
        case 'T':
          o.test = true;
          o.dump = true;
          break;
        case 'q':
          o.quiet = true;
          break;
        case 'p':
          o.prefix = takeValue();
          break;
        case 'c':
          o.conf = takeValue();
          break;
        case 'g':
          o.globals = takeValue();
          break;
        case 'e':
          o.errorLog = takeValue();
          break;
        case 's':
          o.signal = takeValue();
          break;
        default:
          process.stderr.write(`${NAME}: invalid option: "${a.slice(1)}"\n`);
          process.exit(1);
      }
    }
  }
  return o;
}

function load(o: Opts): MainConf {
  return loadConf({ prefix: o.prefix, confFile: o.conf, globals: o.globals });
}

function fail(msg: string): never {
  process.stderr.write(msg.endsWith('\n') ? msg : msg + '\n');
  process.exit(1);
}

function sendSignal(o: Opts): void {
  const sigs: Record<string, NodeJS.Signals> = { stop: 'SIGTERM', quit: 'SIGQUIT', reopen: 'SIGUSR1', reload: 'SIGHUP' };
  const sig = sigs[o.signal!];
  if (!sig) fail(`${NAME}: invalid option: "-s ${o.signal}"`);
  let conf: MainConf;
  try {
    conf = load(o);
  } catch (e) {
    fail((e as Error).message);
  }
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(conf.pid, 'latin1').trim(), 10);
  } catch {
    fail(`${NAME}: [error] open() "${conf.pid}" failed (2: No such file or directory)`);
  }
  if (!Number.isFinite(pid)) fail(`${NAME}: [error] invalid PID number "" in "${conf.pid}"`);
  try {
    process.kill(pid, sig);
  } catch {
    fail(`${NAME}: [error] kill(${pid}, ${sig === 'SIGTERM' ? 15 : sig === 'SIGQUIT' ? 3 : sig === 'SIGHUP' ? 1 : 10}) failed (3: No such process)`);
  }
  process.exit(0);
}

/**
 * A configuration that cannot start is reported where nginx reports it: on stderr and in the
 * start-up error log (-e, else the prefix's logs/error.log), which test harnesses read.
 */
function failConf(o: Opts, e: ConfError): never {
  const file = o.errorLog ? path.resolve(o.prefix, o.errorLog) : path.join(o.prefix, 'logs/error.log');
  try {
    const where = e.file ? (e.file === 'command line' ? ' in command line' : ` in ${e.file}:${e.line}`) : '';
    appendFileSync(file, formatErrorLine(e.level === 'emerg' ? 1 : 4, e.detail + where));
  } catch {
    /* no log directory: stderr only, as nginx does */
  }
  fail(e.message);
}

async function serve(o: Opts): Promise<void> {
  let conf: MainConf;
  try {
    conf = load(o);
  } catch (e) {
    if (e instanceof ConfError) failConf(o, e);
    throw e;
  }
  // one of a master's workers (src/process/master.ts): the master owns the pid file, the
  // sockets, the zones and the daemon
  const spec = process.env.NGXLUA_WORKER ? (JSON.parse(process.env.NGXLUA_WORKER) as WorkerSpec) : null;
  // as nginx: -e is the error log until the configuration names its own
  if (o.errorLog && !conf.errorLogConfigured) conf.errorLogs = [{ file: o.errorLog === 'stderr' ? 'stderr' : path.resolve(conf.prefix, o.errorLog), level: 'error' }];
  if (!spec && conf.daemon && !process.env.NGXLUA_DAEMON_CHILD) return daemonize();
  const log = new ErrorLog(conf.errorLogs.map((l) => ({ path: l.file, level: l.level })));
  if (!spec) {
    for (const w of conf.warnings ?? []) log.log('warn', w);
    for (const a of conf.alerts ?? []) log.log('alert', a);
  }
  // the Lua runtime is loaded only once the configuration is known to be good
  const { Worker, InitError } = await import('../core/worker.js');
  const { inheritZones, ZoneError } = await import('../api/shdict.js');
  const startFailed = (e: unknown): never => {
    if (e instanceof InitError || e instanceof ZoneError) {
      const level = e instanceof InitError ? e.level : 'emerg';
      log.log(level, e.message);
      log.flushSync();
      // nginx prints an [error] of the start-up as its error-log line, an [emerg] as "nginx: [emerg] ..."
      if (level === 'error') fail(formatErrorLine(LOG_ERR, e.message).toString('latin1'));
      fail(`${NAME}: [emerg] ${e.message}`);
    }
    throw e;
  };
  // a bug in one request's callback must not take the server down: log it as nginx logs alerts
  process.on('uncaughtException', (e) => log.log('alert', `ngxlua internal error: ${(e as Error)?.stack ?? e}`));
  process.on('unhandledRejection', (e) => log.log('alert', `ngxlua internal error: ${(e as Error)?.stack ?? e}`));
  if (!spec && conf.masterProcess && conf.workerProcesses > 1) {
    const { Master } = await import('../process/master.js');
    const master = new Master(conf, log, () => load(o), (code) => process.exit(code));
    try {
      await master.start();
    } catch (e) {
      startFailed(e);
    }
    if (process.env.NGXLUA_DAEMON_CHILD) process.stdout.write('ready\n');
    return;
  }
  if (spec) inheritZones(spec.zones);
  let worker: InstanceType<typeof Worker>;
  try {
    worker = await Worker.start(conf, log, undefined, spec ? { process: { id: spec.id, count: spec.count, listenFds: new Map(Object.entries(spec.listen)) } } : {});
  } catch (e) {
    startFailed(e);
  }
  if (spec) {
    process.send?.({ t: 'ready' });
  } else {
    try {
      writeFileSync(conf.pid, `${process.pid}\n`);
    } catch (e) {
      fail(`${NAME}: [emerg] open() "${conf.pid}" failed (${(e as Error).message})`);
    }
    log.log('notice', `${NAME}/${VERSION} started`);
    if (process.env.NGXLUA_DAEMON_CHILD) {
      process.stdout.write('ready\n');
    }
  }
  let stopping = false;
  const stop = async (graceful: boolean) => {
    if (stopping) {
      if (!graceful) process.exit(0);
      return;
    }
    stopping = true;
    log.log('notice', graceful ? 'gracefully shutting down' : 'exiting');
    const t = setTimeout(() => finish(), graceful ? (conf.workerShutdownTimeout ?? 30000) : 200);
    t.unref();
    await worker.stop(graceful);
    finish();
  };
  const finish = () => {
    try {
      if (!spec && existsSync(conf.pid) && readFileSync(conf.pid, 'latin1').trim() === String(process.pid)) unlinkSync(conf.pid);
    } catch {
      /* already gone */
    }
    if (log.debugOn) {
      // what ngx_lua says when the worker's Lua VM goes (the upstream suites look for it)
      log.log('debug', 'lua decrementing the reference count for Lua VM: 1');
      log.log('debug', `lua close the global Lua VM ${fakeConnId(worker)}`);
    }
    log.log('notice', 'exit');
    log.flushSync();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop(false));
  process.on('SIGINT', () => void stop(false));
  process.on('SIGQUIT', () => void stop(true));
  process.on('SIGUSR1', () => log.reopen());
  if (spec) {
    // the master reloads; a worker whose master is gone finishes its requests and goes
    process.on('SIGHUP', () => {});
    process.on('disconnect', () => void stop(true));
    return;
  }
  let reloading = false;
  let reloadAgain = false;
  const onHup = (): void => {
    if (stopping) return;
    if (reloading) {
      // a HUP during a reload is acted on after it, as nginx does
      reloadAgain = true;
      return;
    }
    reloading = true;
    log.log('notice', 'signal 1 (SIGHUP) received, reconfiguring');
    void (async () => {
      try {
        let next: MainConf;
        try {
          next = load(o);
        } catch (e) {
          log.log('emerg', (e as Error).message.replace(/^ngxlua: \[emerg\] /, ''));
          return;
        }
        const adopt = new Map(worker.listeners);
        let fresh: InstanceType<typeof Worker>;
        try {
          fresh = await Worker.start(next, log, adopt);
        } catch (e) {
          log.log('emerg', (e as Error).message);
          return;
        }
        worker.retire(adopt);
        worker = fresh;
        conf = next;
        log.log('notice', 'reconfiguring done');
      } finally {
        reloading = false;
        if (reloadAgain) {
          reloadAgain = false;
          onHup();
        }
      }
    })();
  };
  process.on('SIGHUP', onHup);
}

/** `daemon on`: start a detached copy of ourselves and return once it listens. */
function daemonize(): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...serveExecArgv(process.execArgv), process.argv[1], ...process.argv.slice(2)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NGXLUA_DAEMON_CHILD: '1' },
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) {
        child.unref();
        child.stdout!.destroy();
        child.stderr!.destroy();
        resolve();
        process.exit(0);
      }
    });
    child.on('exit', (code) => {
      process.stderr.write(err);
      process.exit(code || 1);
    });
  });
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'run') {
    const { runScript } = await import('./run.js');
    process.exitCode = await runScript(argv.slice(1));
    return;
  }
  const o = parseArgs(argv);
  if (!o) return;
  if (o.signal) return sendSignal(o);
  if (o.test) {
    try {
      const conf = load(o);
      // nginx -t prints these in the error log's format on stderr
      for (const a of conf.alerts ?? []) process.stderr.write(formatErrorLine(LOG_ALERT, a));
      if (o.dump) process.stdout.write(`# configuration file ${conf.confFile}:\n${readFileSync(conf.confFile, 'latin1')}\n`);
      if (!o.quiet) {
        process.stderr.write(`${NAME}: the configuration file ${conf.confFile} syntax is ok\n`);
        process.stderr.write(`${NAME}: configuration file ${conf.confFile} test is successful\n`);
      }
      process.exit(0);
    } catch (e) {
      if (!(e instanceof ConfError)) throw e;
      process.stderr.write(e.message + '\n');
      process.stderr.write(`${NAME}: configuration file ${path.resolve(o.prefix, o.conf)} test failed\n`);
      process.exit(1);
    }
  }
  await serve(o);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`${NAME}: [alert] ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
