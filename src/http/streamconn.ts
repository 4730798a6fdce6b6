// An outgoing connection on the addon's streams (./stream.ts) with the part of net.Socket's
// face that the cosockets use: its events, write() with node's backpressure answer, pause,
// resume, end, destroy, ref. Reads are not buffered here: a paused connection leaves the bytes
// in the kernel. For TLS, asDuplex() gives node's tls module the stream it wraps.

import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import * as stream from './stream.js';
import type { StreamOwner } from './stream.js';

/** what node:net's write() compares the queued bytes with */
const HIGH_WATER = 16 * 1024;

/** The part of net.Socket a cosocket uses; net.Socket (and TLSSocket) have it too. */
export interface Conn extends EventEmitter {
  readonly destroyed: boolean;
  readonly readableEnded: boolean;
  readonly readableLength: number;
  /** a write() answered false and the drain has not come */
  readonly writableNeedDrain: boolean;
  write(data: Buffer | string): boolean;
  end(): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  ref(): unknown;
  unref(): unknown;
  setNoDelay(on?: boolean): unknown;
  setKeepAlive(on?: boolean): unknown;
}

export class StreamConn extends EventEmitter implements StreamOwner, Conn {
  private id = -1;
  destroyed = false;
  readableEnded = false;
  readonly readableLength = 0;
  private closed = false;
  private wpending = 0;
  // what the addon was last told (it reads and is referenced from the connect on): a pool cycle
  // asks for both every time, and only a change needs the call
  private reading = true;
  private refed = true;
  /** when set, reads go here instead of to 'data' listeners (a cosocket's Wire: no emit per read) */
  dataSink: ((d: Buffer) => void) | null = null;

  /** Connect to `host` (an IP address) and `port`, or to the unix socket `path` when port is -1. */
  constructor(host: string, port: number) {
    super();
    const id = stream.connect(this, host, port);
    if (id < 0) {
      this.destroyed = this.closed = true;
      process.nextTick(() => {
        this.emit('error', stream.sysErr('connect', id, `${host}:${port}`));
        this.emit('close', true);
      });
      return;
    }
    this.id = id;
  }

  get writableNeedDrain(): boolean {
    return this.wpending >= HIGH_WATER;
  }

  get fd(): number {
    return this.closed ? -1 : stream.fdOf(this.id);
  }

  onConnect(err: string | undefined): void {
    if (err === undefined) this.emit('connect');
    else {
      this.emit('error', stream.sysErr('connect', err, ''));
      this.destroy();
    }
  }

  onData(d: Buffer): void {
    if (this.dataSink !== null) this.dataSink(d);
    else this.emit('data', d);
  }

  onEnd(): void {
    this.readableEnded = true;
    this.emit('end');
  }

  onDrain(): void {
    this.wpending = 0;
    this.emit('drain');
  }

  onBacklog(): void {
    if (!this.closed) this.wpending = stream.pending(this.id);
  }

  onFinish(): void {
    this.emit('finish');
  }

  onError(code: string): void {
    this.emit('error', stream.sysErr('read', code, ''));
  }

  onClose(): void {
    this.closed = this.destroyed = true;
    this.emit('close', false);
  }

  write(data: Buffer | string): boolean {
    if (this.destroyed) return false;
    this.wpending = stream.write(this.id, data, data.length);
    return this.wpending < HIGH_WATER;
  }

  end(): this {
    if (!this.destroyed) stream.shutdown(this.id);
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    stream.close(this.id, false);
    return this;
  }

  pause(): this {
    if (!this.destroyed && this.reading) {
      this.reading = false;
      stream.setReading(this.id, false);
    }
    return this;
  }

  resume(): this {
    if (!this.destroyed && !this.reading) {
      this.reading = true;
      stream.setReading(this.id, true);
    }
    return this;
  }

  ref(): this {
    if (!this.destroyed && !this.refed) {
      this.refed = true;
      stream.setRef(this.id, true);
    }
    return this;
  }

  unref(): this {
    if (!this.destroyed && this.refed) {
      this.refed = false;
      stream.setRef(this.id, false);
    }
    return this;
  }

  setNoDelay(on = true): this {
    if (!this.destroyed) stream.setNoDelay(this.id, on);
    return this;
  }

  setKeepAlive(on = false): this {
    if (!this.destroyed) stream.setKeepAlive(this.id, on);
    return this;
  }

  /** The connection as a Duplex, for tls.connect({ socket }): from now on it belongs to that. */
  asDuplex(): Duplex {
    this.removeAllListeners();
    this.dataSink = null;
    const d = new Duplex({
      read: () => { this.resume(); },
      write: (chunk: Buffer, _enc, cb) => {
        if (this.write(chunk)) cb();
        else this.once('drain', () => cb());
      },
      final: (cb) => { this.end(); cb(); },
      destroy: (err, cb) => { this.destroy(); cb(err); },
    });
    this.on('data', (b: Buffer) => { if (!d.push(b)) this.pause(); });
    this.on('end', () => d.push(null));
    this.on('error', (e: Error) => d.destroy(e));
    this.on('close', () => d.destroy());
    return d;
  }
}
