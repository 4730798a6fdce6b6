// Copies of a long-lived buffer's first bytes (the addon's read buffer, the Lua scratch
// buffer) into new Buffers. `set()` from a kept view costs about half of Buffer.copy, which
// makes a view per call; runs of one length (a client's requests, a handler's output) reuse it.

const allocUnsafe = Buffer.allocUnsafe;

export class PrefixCopier {
  private view: Buffer;
  constructor(private src: Buffer) {
    this.view = src.subarray(0, 0);
  }

  /** The buffer copied from from now on (it was replaced by a bigger or smaller one). */
  setSource(src: Buffer): void {
    this.src = src;
    this.view = src.subarray(0, 0);
  }

  /** The source's first n bytes in a new Buffer, with a "\n" after them when nl. */
  copy(n: number, nl = false): Buffer {
    if (this.view.length !== n) this.view = this.src.subarray(0, n);
    const b = allocUnsafe(nl ? n + 1 : n);
    b.set(this.view);
    if (nl) b[n] = 10;
    return b;
  }
}
