// A minimal RFC 6455 WebSocket client on node:net, written for these tests (the `ws` package is
// not a dependency): the opening handshake with Sec-WebSocket-Accept checked by the caller, masked
// client frames with 7-, 16- and 64-bit lengths, and a frame reader that reports every frame as
// it arrives (no reassembly, no automatic pong or close reply) so tests see exactly what the
// server sent.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

export const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export interface Handshake {
  status: number;
  statusLine: string;
  /** lower-cased names; repeated headers joined with ", " */
  headers: Record<string, string>;
  key: string;
}

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

/** One client frame, masked with a random key unless mask is false. */
export function encodeFrame(opcode: number, payload: Buffer, opts: { fin?: boolean; mask?: boolean } = {}): Buffer {
  const fin = opts.fin ?? true;
  const mask = opts.mask ?? true;
  const len = payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | (opcode & 0x0f)];
  const mbit = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) head.push(mbit | len);
  else if (len < 0x10000) {
    head.push(mbit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(mbit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

/** Decode one frame at the start of buf; undefined if it is not all there yet. */
export function decodeFrame(buf: Buffer): { frame: Frame; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const b0 = buf[0];
  const b1 = buf[1];
  let len = b1 & 0x7f;
  let pos = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    pos = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('frame too large');
    len = Number(big);
    pos = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  let key: Buffer | null = null;
  if (masked) {
    if (buf.length < pos + 4) return undefined;
    key = buf.subarray(pos, pos + 4);
    pos += 4;
  }
  if (buf.length < pos + len) return undefined;
  let payload = Buffer.from(buf.subarray(pos, pos + len));
  if (key) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
  return { frame: { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0x7, opcode: b0 & 0x0f, masked, payload }, size: pos + len };
}

export class WsClient {
  private buf: Buffer = Buffer.alloc(0);
  private frames: Frame[] = [];
  private waiters: { resolve: (f: Frame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private ended = false;
  private error: Error | null = null;
  /** resolves when the TCP connection is fully closed */
  readonly closed: Promise<void>;

  private constructor(
    readonly sock: net.Socket,
    readonly handshake: Handshake,
    rest: Buffer,
  ) {
    this.closed = new Promise((r) => sock.once('close', () => r()));
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('end', () => this.finish(new Error('connection closed by the server')));
    sock.on('close', () => this.finish(new Error('connection closed')));
    sock.on('error', (e) => this.finish(e));
    if (rest.length) this.onData(rest);
  }

  /**
   * Connect to ws://127.0.0.1:port/path and do the opening handshake. Resolves once the response
   * header has arrived, whatever its status (check handshake.status); rejects on a socket error
   * or after timeoutMs.
   */
  static connect(port: number, urlPath: string, opts: { headers?: Record<string, string>; timeoutMs?: number; version?: string } = {}): Promise<WsClient> {
    const key = randomBytes(16).toString('base64');
    const headers: Record<string, string> = {
      Host: `127.0.0.1:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': opts.version ?? '13',
      ...(opts.headers ?? {}),
    };
    const req = `GET ${urlPath} HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      let buf: Buffer = Buffer.alloc(0);
      const timer = setTimeout(() => sock.destroy(new Error('websocket handshake timed out')), opts.timeoutMs ?? 10000);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('error', onError);
        sock.off('end', onEnd);
        const head = buf.toString('latin1', 0, end).split('\r\n');
        const statusLine = head[0];
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
        const hs: Record<string, string> = {};
        for (const l of head.slice(1)) {
          const i = l.indexOf(':');
          if (i <= 0) continue;
          const k = l.slice(0, i).trim().toLowerCase();
          const v = l.slice(i + 1).trim();
          hs[k] = hs[k] !== undefined ? `${hs[k]}, ${v}` : v;
        }
        resolve(new WsClient(sock, { status, statusLine, headers: hs, key }, buf.subarray(end + 4)));
      };
      const onError = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      const onEnd = () => onError(new Error(`connection closed during the handshake; got ${JSON.stringify(buf.toString('latin1'))}`));
      sock.on('data', onData);
      sock.on('error', onError);
      sock.on('end', onEnd);
      sock.on('connect', () => sock.write(req));
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      let r;
      try {
        r = decodeFrame(this.buf);
      } catch (e) {
        this.finish(e as Error);
        this.sock.destroy();
        return;
      }
      if (!r) break;
      this.buf = this.buf.subarray(r.size);
      const w = this.waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.resolve(r.frame);
      } else this.frames.push(r.frame);
    }
  }

  private finish(e: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = e;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }

  /** The next frame from the server; rejects if the connection ends first or after timeoutMs. */
  next(timeoutMs = 10000): Promise<Frame> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.ended) return Promise.reject(this.error ?? new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no websocket frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  send(opcode: number, payload: Buffer | string, opts: { fin?: boolean; mask?: boolean } = {}): void {
    this.sock.write(encodeFrame(opcode, typeof payload === 'string' ? Buffer.from(payload) : payload, opts));
  }

  sendText(s: string): void {
    this.send(OP.text, s);
  }

  sendBinary(b: Buffer): void {
    this.send(OP.binary, b);
  }

  ping(b: Buffer | string = ''): void {
    this.send(OP.ping, b);
  }

  /** Send a close frame (status code and reason, or an empty body when code is undefined). */
  close(code?: number, reason = ''): void {
    let body = Buffer.alloc(0);
    if (code !== undefined) {
      body = Buffer.alloc(2 + Buffer.byteLength(reason));
      body.writeUInt16BE(code);
      body.write(reason, 2);
    }
    this.send(OP.close, body);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** The status code and reason of a close frame's payload. */
export function closeBody(f: Frame): { code: number | null; reason: string } {
  if (f.payload.length < 2) return { code: null, reason: '' };
  return { code: f.payload.readUInt16BE(0), reason: f.payload.toString('utf8', 2) };
}
