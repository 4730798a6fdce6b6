// AF_UNIX datagram sockets for ngx.socket.udp's setpeername("unix:/path"). node:dgram has none,
// so they come from the optional native addon `unix-dgram` (built by node-gyp at install);
// without it setpeername keeps failing as udp.ts describes.
import { createRequire } from 'node:module';
import { constants } from 'node:os';

interface AddonSocket {
  on(ev: 'error', fn: (e: Error & { errno?: number }) => void): void;
  on(ev: 'message', fn: (b: Buffer) => void): void;
  connect(path: string): void;
  send(buf: Buffer, cb: (e?: (Error & { errno?: number; code?: unknown }) | null) => void): void;
  close(): void;
  removeAllListeners(ev?: string): void;
}

let addon: { createSocket(type: string): AddonSocket } | null | undefined;

function load(): typeof addon {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('unix-dgram');
    } catch {
      addon = null;
    }
  }
  return addon;
}

export function unixDgramAvailable(): boolean {
  return load() !== null;
}

/** errno name (ENOENT, ...) of the addon's negative error numbers */
function codeOf(e: { errno?: number; code?: unknown } | null | undefined): string {
  const n = typeof e?.errno === 'number' ? -e.errno : typeof e?.code === 'number' ? -(e.code as number) : 0;
  for (const [name, v] of Object.entries(constants.errno)) if (v === n) return name;
  return 'EIO';
}

/** The part of dgram.Socket that udp.ts uses, over a connected unix datagram socket. */
export interface UnixDgram {
  send(buf: Buffer, cb: (err: NodeJS.ErrnoException | null) => void): void;
  on(ev: 'message', fn: (m: Buffer) => void): void;
  on(ev: 'error', fn: (e: NodeJS.ErrnoException) => void): void;
  removeAllListeners(ev?: string): void;
  close(): void;
}

/**
 * Connect a datagram socket to `path`; `done` gets null or an errno name, always on a later
 * tick (the addon reports synchronously; the scheduler must never resume inside a Lua call).
 */
export function connectUnixDgram(path: string, done: (err: string | null, sock: UnixDgram | null) => void): void {
  const a = load();
  if (!a) {
    process.nextTick(done, 'EAFNOSUPPORT', null);
    return;
  }
  const s = a.createSocket('unix_dgram');
  let err: string | null = null;
  s.on('error', (e) => {
    err ??= codeOf(e);
  });
  s.connect(path);
  if (err) {
    try {
      s.close();
    } catch {
      /* not open */
    }
    process.nextTick(done, err, null);
    return;
  }
  s.removeAllListeners('error');
  const wrapper: UnixDgram = {
    send(buf, cb) {
      s.send(buf, (e) => {
        const ex = e ? Object.assign(new Error(e.message), { code: e.code === 1 ? 'EAGAIN' : codeOf(e) }) : null;
        process.nextTick(cb, ex);
      });
    },
    on(ev: string, fn: (x: never) => void) {
      if (ev === 'message') s.on('message', fn as (b: Buffer) => void);
      else s.on('error', (e) => (fn as (x: NodeJS.ErrnoException) => void)(Object.assign(new Error(e.message), { code: codeOf(e) })));
    },
    removeAllListeners(ev?: string) {
      s.removeAllListeners(ev);
    },
    close() {
      s.close();
    },
  };
  process.nextTick(done, null, wrapper);
}
