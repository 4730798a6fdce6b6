// ngxlua inside a Node application: start a server from a conf file or text, expose the
// application's (async) functions to its Lua code, follow its error log as records, reload it,
// stop it. `import { start } from 'ngxlua'`; docs/embedding.md has the guide.
import { EventEmitter } from 'node:events';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConf, ConfError } from './conf/index.js';
import type { MainConf } from './conf/model.js';
import { ErrorLog, LOG_LEVEL_NAMES, levelNumber, type LogContext, type LogLevelName } from './util/errlog.js';
import type { Exposed, ExposedFunction, ExposeOptions, RequestInfo } from './api/js.js';
import type { Worker as WorkerT } from './core/worker.js';
import { ENGINE_VERSION } from './lua/vm.js';
import { VERSION, SERVER_TOKEN } from './core/version.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeHttpExchange } from './http/nodehttp.js';

export type { ExposedFunction, ExposeOptions, RequestInfo, LogContext, LogLevelName };
export { VERSION, ENGINE_VERSION };

/** A configuration that nginx would refuse: its message and, where it has one, file and line. */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** the message alone, e.g. `unknown directive "foo"` */
    readonly detail: string,
    readonly file: string | null,
    readonly line: number | null,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The server could not start: a port in use, an init_by_lua error. */
export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartError';
  }
}

export interface StartOptions {
  /** nginx.conf as text (its relative `include`s resolve against the prefix's conf/) ... */
  conf?: string;
  /** ... or the path of a conf file (relative to the prefix) */
  confFile?: string;
  /** nginx's -p: where relative paths in the conf point; default: a fresh temporary directory */
  prefix?: string;
  /** nginx's -g: directives added to the main context, e.g. `'error_log stderr info;'` */
  globals?: string;
  /** nginx's -e: one more error log destination (a path, or `stderr`) */
  errorLog?: string;
  /** the most verbose level the `log` event reports (default `info`) */
  logLevel?: LogLevelName;
  /** functions Lua may call through `require "ngxlua.js"`: a function, or [function, options] */
  expose?: Record<string, ExposedFunction | [ExposedFunction, ExposeOptions]>;
  /** false: bind none of the conf's `listen` sockets (requests come through middleware()) */
  listen?: boolean;
}

/** One error-log record, as the `log` event gives it. */
export interface LogRecord {
  level: LogLevelName;
  message: string;
  context: LogContext | undefined;
}

export interface Address {
  host: string;
  port: number;
}

/**
 * A running ngxlua server. Events: `log` (a LogRecord for every error-log line at or above the
 * start options' logLevel).
 */
export class NgxluaServer extends EventEmitter {
  private stopped = false;
  /** @internal */
  constructor(
    private worker: WorkerT,
    private readonly log: ErrorLog,
    private readonly functions: Map<string, Exposed>,
    private readonly load: (text?: string) => MainConf,
    private readonly cleanup: () => void,
    private readonly noListen: boolean,
  ) {
    super();
  }

  /** The addresses the server listens on (the real port where the conf said 0). */
  addresses(): Address[] {
    return [...this.worker.listeners.values()].map((l) => {
      const a = l.srv.address();
      return { host: a.address, port: a.port };
    });
  }

  /**
   * A request handler for a node:http server (Express, Fastify's raw request hooks): it serves
   * the request with the configuration's server (the one named `server`, or matched by Host)
   * and location, all phases and the ngx API. What only the standalone server can do:
   * ngx.req.socket (the raw connection belongs to node:http), nginx's own handling of malformed
   * requests, keep-alive and connection limits.
   */
  middleware(opts: { server?: string } = {}): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => this.worker.handle(new NodeHttpExchange(req, res, SERVER_TOKEN), opts.server);
  }

  /** Expose (or replace) functions for Lua's `require "ngxlua.js"`; takes effect at once. */
  expose(fns: Record<string, ExposedFunction>, opts: ExposeOptions = {}): void {
    for (const [name, fn] of Object.entries(fns)) this.functions.set(name, { fn, opts });
  }

  /**
   * Load the configuration again (or the given text) and switch to it as nginx's HUP does: new
   * requests see the new configuration, listening sockets are kept. A bad configuration throws
   * ConfigError and the old one goes on serving.
   */
  async reload(conf?: string): Promise<void> {
    const next = wrapConfError(() => this.load(conf));
    const { Worker } = await import('./core/worker.js');
    const adopt = new Map(this.worker.listeners);
    const fresh = await startWorker(Worker, next, this.log, this.functions, this.noListen, adopt);
    this.worker.retire(adopt);
    this.worker = fresh;
  }

  /** Stop listening; graceful (the default) lets requests in flight finish first. */
  async stop(opts: { graceful?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.worker.stop(opts.graceful ?? true);
    this.log.flushSync();
    this.log.listener = null;
    this.cleanup();
  }
}

function wrapConfError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfError) throw new ConfigError(e.message, e.detail, e.file, e.line);
    throw e;
  }
}

async function startWorker(
  Worker: typeof WorkerT,
  conf: MainConf,
  log: ErrorLog,
  functions: Map<string, Exposed>,
  noListen: boolean,
  adopt?: Parameters<typeof WorkerT.start>[2],
): Promise<WorkerT> {
  try {
    return await Worker.start(conf, log, adopt, { jsFunctions: functions, noListen });
  } catch (e) {
    const { InitError } = await import('./core/worker.js');
    if (e instanceof InitError) throw new StartError(e.message);
    throw e;
  }
}

/** Start a server; resolves once it listens. */
export async function start(opts: StartOptions): Promise<NgxluaServer> {
  if ((opts.conf === undefined) === (opts.confFile === undefined)) throw new TypeError('ngxlua: give exactly one of conf and confFile');
  let prefix = opts.prefix;
  let ownPrefix: string | null = null;
  if (!prefix) {
    prefix = ownPrefix = mkdtempSync(path.join(tmpdir(), 'ngxlua-'));
    mkdirSync(path.join(prefix, 'logs'));
  }
  const confDir = path.join(prefix, 'conf');
  let textFile: string | null = null;
  const load = (text?: string): MainConf => {
    let file = opts.confFile;
    if (text !== undefined || opts.conf !== undefined) {
      // the text goes to a file of our own beside the prefix's conf/ (never over the user's)
      mkdirSync(confDir, { recursive: true });
      textFile ??= path.join(confDir, `.ngxlua-embedded-${process.pid}.conf`);
      writeFileSync(textFile, text ?? opts.conf!);
      file = textFile;
    }
    const conf = loadConf({ prefix: prefix!, confFile: file!, globals: opts.globals, portZero: true });
    // as nginx's -e: the error log until the configuration names its own
    if (opts.errorLog && !conf.errorLogConfigured) conf.errorLogs = [{ file: opts.errorLog === 'stderr' ? 'stderr' : path.resolve(prefix!, opts.errorLog), level: 'error' }];
    return conf;
  };
  const cleanup = () => {
    if (textFile) rmSync(textFile, { force: true });
    if (ownPrefix) rmSync(ownPrefix, { recursive: true, force: true });
  };
  let conf: MainConf;
  try {
    conf = wrapConfError(() => load());
  } catch (e) {
    cleanup();
    throw e;
  }
  const log = new ErrorLog(conf.errorLogs.map((l) => ({ path: l.file, level: l.level })));
  const functions = new Map<string, Exposed>();
  for (const [name, v] of Object.entries(opts.expose ?? {})) {
    functions.set(name, Array.isArray(v) ? { fn: v[0], opts: v[1] } : { fn: v, opts: {} });
  }
  // records written while the server starts (init_by_lua, init_worker_by_lua) wait for a listener
  let server: NgxluaServer | null = null;
  const early: LogRecord[] = [];
  log.listenLevel = levelNumber(opts.logLevel ?? 'info');
  log.listener = (level, msg, context) => {
    const rec: LogRecord = { level: LOG_LEVEL_NAMES[level], message: typeof msg === 'string' ? msg : Buffer.from(msg).toString('latin1'), context };
    if (server) server.emit('log', rec);
    else early.push(rec);
  };
  for (const w of conf.warnings ?? []) log.log('warn', w);
  const { Worker } = await import('./core/worker.js');
  let worker: WorkerT;
  try {
    worker = await startWorker(Worker, conf, log, functions, opts.listen === false);
  } catch (e) {
    log.close();
    cleanup();
    throw e;
  }
  const srv = new NgxluaServer(worker, log, functions, load, () => {
    log.close();
    cleanup();
  }, opts.listen === false);
  setImmediate(() => {
    server = srv;
    for (const rec of early.splice(0)) srv.emit('log', rec);
  });
  return srv;
}
