// Tiny wire clients the tests use from Node to look at the real servers directly (set up state,
// check what a Lua handler stored): RESP for redis, the text protocol for memcached. One
// connection per call, bounded by a timeout.
import net from 'node:net';

export type RespValue = string | number | null | Buffer | RespError | RespValue[];

export class RespError {
  constructor(public readonly message: string) {}
}

function encodeCommand(args: (string | Buffer | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'latin1');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parse one RESP2 reply at `pos`; undefined when the buffer does not hold all of it yet. */
function parseReply(buf: Buffer, pos: number): { value: RespValue; end: number } | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const kind = String.fromCharCode(buf[pos]);
  const line = buf.toString('latin1', pos + 1, eol);
  const next = eol + 2;
  switch (kind) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (buf.length < next + n + 2) return undefined;
      return { value: buf.subarray(next, next + n), end: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const vals: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return undefined;
        vals.push(r.value);
        p = r.end;
      }
      return { value: vals, end: p };
    }
    default:
      throw new Error(`bad RESP reply: ${JSON.stringify(buf.toString('latin1', pos, Math.min(buf.length, pos + 40)))}`);
  }
}

/** Send one command to redis on 127.0.0.1:port and return its reply (bulk strings as Buffers). */
export function redisCmd(port: number, ...args: (string | Buffer | number)[]): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => s.destroy(new Error(`redis ${args[0]}: no reply`)), 10000);
    s.on('connect', () => s.write(encodeCommand(args)));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      let r;
      try {
        r = parseReply(buf, 0);
      } catch (e) {
        s.destroy(e as Error);
        return;
      }
      if (r) {
        clearTimeout(t);
        s.end();
        resolve(r.value);
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * Send a text command to memcached and collect the reply until `done(reply)` says it is complete
 * (default: a line that ends a reply: END, STORED, DELETED, OK, an error, a number...).
 */
export function memcachedCmd(port: number, command: string | Buffer, done?: (reply: Buffer) => boolean): Promise<Buffer> {
  const finished =
    done ?? ((b: Buffer) => /(^|\r\n)(END|STORED|NOT_STORED|EXISTS|NOT_FOUND|DELETED|OK|ERROR|CLIENT_ERROR[^\r]*|SERVER_ERROR[^\r]*|\d+)\r\n$/.test(b.toString('latin1')));
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => s.destroy(new Error(`memcached: no complete reply to ${String(command).slice(0, 40)}`)), 10000);
    s.on('connect', () => s.write(command));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (finished(buf)) {
        clearTimeout(t);
        s.end();
        resolve(buf);
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Send several commands on one connection (e.g. SELECT then GET) and return every reply. */
export function redisCmds(port: number, cmds: (string | Buffer | number)[][]): Promise<RespValue[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf: Buffer = Buffer.alloc(0);
    const t = setTimeout(() => s.destroy(new Error('redis: not all replies arrived')), 10000);
    s.on('connect', () => s.write(Buffer.concat(cmds.map(encodeCommand))));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const vals: RespValue[] = [];
      let pos = 0;
      try {
        for (let i = 0; i < cmds.length; i++) {
          const r = parseReply(buf, pos);
          if (!r) return;
          vals.push(r.value);
          pos = r.end;
        }
      } catch (e) {
        s.destroy(e as Error);
        return;
      }
      clearTimeout(t);
      s.end();
      resolve(vals);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
