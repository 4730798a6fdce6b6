// io.* and the os.* functions that touch the host: the WASM build's own file system is an empty
// in-memory one, so Lua's io library is replaced by one over node:fs (blocking, like Lua's own).
import { closeSync, openSync, readSync, writeSync, fstatSync, renameSync, unlinkSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Runtime } from '../core/runtime.js';
import { T_NUMBER, T_STRING, type JsLuaFn } from '../lua/vm.js';

interface Handle {
  fd: number;
  pos: number;
  /** read-ahead bytes not yet consumed, starting at file offset `pos` */
  buf: Buffer;
  append: boolean;
  std: boolean;
}

const CHUNK = 65536;
const ERRNO: Record<string, number> = { ENOENT: 2, EACCES: 13, EEXIST: 17, EISDIR: 21, ENOTDIR: 20, EINVAL: 22 };
const STRERR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EEXIST: 'File exists',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EINVAL: 'Invalid argument',
};

export function registerIo(rt: Runtime): Record<string, JsLuaFn> {
  const { vm } = rt;
  const handles = new Map<number, Handle>();
  let nextId = 3;
  handles.set(0, { fd: 0, pos: 0, buf: Buffer.alloc(0), append: false, std: true });
  handles.set(1, { fd: 1, pos: 0, buf: Buffer.alloc(0), append: true, std: true });
  handles.set(2, { fd: 2, pos: 0, buf: Buffer.alloc(0), append: true, std: true });

  const fail = (L: number, what: string, e: unknown): number => {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    vm.raw.lua_pushnil(L);
    vm.pushStr(L, `${what}: ${STRERR[code] ?? (e as Error).message}`);
    vm.raw.lua_pushinteger(L, BigInt(ERRNO[code] ?? 5));
    return 3;
  };
  const handle = (L: number): Handle => {
    const h = handles.get(vm.toNumber(L, 1));
    if (!h) vm.error(L, 'attempt to use a closed file');
    return h as Handle;
  };
  /** more bytes into h.buf; false at end of file */
  const fill = (h: Handle): boolean => {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let n = 0;
    try {
      n = readSync(h.fd, chunk, 0, CHUNK, h.std ? null : h.pos + h.buf.length);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return false;
      throw e;
    }
    if (n === 0) return false;
    h.buf = h.buf.length ? Buffer.concat([h.buf, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    return true;
  };
  const take = (h: Handle, n: number): Buffer => {
    const out = h.buf.subarray(0, n);
    h.buf = h.buf.subarray(n);
    h.pos += n;
    return Buffer.from(out);
  };

  return {
    io_open: (L) => {
      const p = vm.toStr(L, 1);
      if (p === null) return vm.argError(L, 1, `string expected, got ${vm.typeName(L, 1)}`);
      const mode = (vm.toStr(L, 2) ?? 'r').replace('b', '');
      const flags = ({ r: 'r', w: 'w', a: 'a', 'r+': 'r+', 'w+': 'w+', 'a+': 'a+' } as Record<string, string>)[mode];
      if (!flags) return vm.argError(L, 2, 'invalid mode');
      try {
        const fd = openSync(p, flags);
        if (fstatSync(fd).isDirectory() && flags !== 'r') throw Object.assign(new Error('dir'), { code: 'EISDIR' });
        const id = nextId++;
        handles.set(id, { fd, pos: 0, buf: Buffer.alloc(0), append: mode.startsWith('a'), std: false });
        vm.raw.lua_pushinteger(L, BigInt(id));
        return 1;
      } catch (e) {
        return fail(L, p, e);
      }
    },
    io_close: (L) => {
      const id = vm.toNumber(L, 1);
      const h = handles.get(id);
      if (h && !h.std) {
        closeSync(h.fd);
        handles.delete(id);
      }
      vm.pushBool(L, true);
      return 1;
    },
    /** read(id, fmt): one format per call; nil at end of file */
    io_read: (L) => {
      const h = handle(L);
      try {
        if (vm.type(L, 2) === T_NUMBER) {
          const n = vm.toNumber(L, 2);
          while (h.buf.length < n && fill(h));
          if (h.buf.length === 0 && n > 0) vm.raw.lua_pushnil(L);
          else vm.pushBytes(L, take(h, Math.min(n, h.buf.length)));
          return 1;
        }
        const fmt = (vm.toStr(L, 2) ?? 'l').replace(/^\*/, '')[0];
        if (fmt === 'a') {
          while (fill(h));
          vm.pushBytes(L, take(h, h.buf.length));
          return 1;
        }
        if (fmt === 'l' || fmt === 'L') {
          let nl = h.buf.indexOf(10);
          while (nl < 0 && fill(h)) nl = h.buf.indexOf(10);
          if (nl < 0) {
            if (h.buf.length === 0) vm.raw.lua_pushnil(L);
            else vm.pushBytes(L, take(h, h.buf.length));
            return 1;
          }
          const line = take(h, nl + 1);
          vm.pushBytes(L, fmt === 'L' ? line : line.subarray(0, nl));
          return 1;
        }
        if (fmt === 'n') {
          while (h.buf.length < 64 && fill(h));
          const m = /^\s*[-+]?(0[xX][0-9a-fA-F.]+([pP][-+]?\d+)?|\d*\.?\d+([eE][-+]?\d+)?)/.exec(h.buf.toString('latin1', 0, 200));
          if (!m) {
            vm.raw.lua_pushnil(L);
            return 1;
          }
          take(h, m[0].length);
          vm.pushNumber(L, Number(m[0].trim()));
          return 1;
        }
        return vm.argError(L, 2, 'invalid format');
      } catch (e) {
        return fail(L, 'read', e);
      }
    },
    io_write: (L) => {
      const h = handle(L);
      const n = vm.top(L);
      try {
        for (let i = 2; i <= n; i++) {
          const t = vm.type(L, i);
          if (t !== T_STRING && t !== T_NUMBER) return vm.argError(L, i - 1, `string expected, got ${vm.typeName(L, i)}`);
          const b = vm.toBuffer(L, i)!;
          if (h.std) writeSync(h.fd, b);
          else {
            // writes land at the logical position; read-ahead is dropped
            const at = h.append ? fstatSync(h.fd).size : h.pos;
            writeSync(h.fd, b, 0, b.length, at);
            h.pos = at + b.length;
            h.buf = Buffer.alloc(0);
          }
        }
      } catch (e) {
        return fail(L, 'write', e);
      }
      vm.pushBool(L, true);
      return 1;
    },
    io_seek: (L) => {
      const h = handle(L);
      const whence = vm.toStr(L, 2) ?? 'cur';
      const off = vm.type(L, 3) > 0 ? vm.toNumber(L, 3) : 0;
      const size = h.std ? 0 : fstatSync(h.fd).size;
      const base = whence === 'set' ? 0 : whence === 'end' ? size : h.pos;
      h.pos = base + off;
      h.buf = Buffer.alloc(0);
      vm.raw.lua_pushinteger(L, BigInt(h.pos));
      return 1;
    },
    os_getenv: (L) => {
      const v = process.env[vm.toStr(L, 1) ?? ''];
      if (v === undefined) vm.raw.lua_pushnil(L);
      else vm.pushStr(L, v);
      return 1;
    },
    os_remove: (L) => {
      const p = vm.toStr(L, 1) ?? '';
      try {
        if (statSync(p).isDirectory()) rmdirSync(p);
        else unlinkSync(p);
        vm.pushBool(L, true);
        return 1;
      } catch (e) {
        return fail(L, p, e);
      }
    },
    os_rename: (L) => {
      const a = vm.toStr(L, 1) ?? '';
      try {
        renameSync(a, vm.toStr(L, 2) ?? '');
        vm.pushBool(L, true);
        return 1;
      } catch (e) {
        return fail(L, a, e);
      }
    },
    os_tmpname: (L) => {
      vm.pushStr(L, path.join(tmpdir(), `lua_${process.pid}_${Math.random().toString(36).slice(2, 10)}`));
      return 1;
    },
  };
}
