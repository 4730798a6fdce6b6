// errno texts as the reference prints them: lower-case strerror() for Lua return values,
// "(111: Connection refused)" in error-log lines.
import { getSystemErrorMap } from 'node:util';
import { constants } from 'node:os';

/** glibc strerror() texts for the errors sockets meet (libuv's differ in a few words). */
const GLIBC: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  EPIPE: 'Broken pipe',
  ENOENT: 'No such file or directory',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ENETDOWN: 'Network is down',
  EHOSTDOWN: 'Host is down',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  ENOTSOCK: 'Socket operation on non-socket',
  ENOTDIR: 'Not a directory',
  EINVAL: 'Invalid argument',
  EAGAIN: 'Resource temporarily unavailable',
  EPROTOTYPE: 'Protocol wrong type for socket',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  ENOBUFS: 'No buffer space available',
  ENOTCONN: 'Transport endpoint is not connected',
};

export interface SysError {
  /** positive errno, 0 when unknown */
  errno: number;
  /** strerror text, capitalised as glibc has it */
  text: string;
}

export function sysError(e: unknown): SysError {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? '';
  let errno = typeof err?.errno === 'number' ? Math.abs(err.errno) : 0;
  if (!errno && code && code in constants.errno) errno = (constants.errno as Record<string, number>)[code];
  let text = GLIBC[code];
  if (!text) {
    const m = errno ? getSystemErrorMap().get(-errno) : undefined;
    text = m ? m[1].charAt(0).toUpperCase() + m[1].slice(1) : (err?.message ?? 'error');
  }
  return { errno, text };
}

/** The Lua-facing error string: strerror in lower case, "error" when there is no errno. */
export function luaErrText(e: SysError): string {
  return e.errno ? e.text.toLowerCase() : 'error';
}
