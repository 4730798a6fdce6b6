// The receive buffer every cosocket read form is served from, and the receiveuntil matcher.
//
// RecvBuffer keeps the bytes received and not yet consumed as a list of chunks plus an offset
// into the first one: appending never copies, and taking n bytes copies only when they span
// more than one chunk. Scans (for LF, for a receiveuntil pattern) walk the chunks in place and
// can be resumed where they stopped when more data arrives, so a read that waits for many
// chunks never rescans what it has seen.
const EMPTY = Buffer.alloc(0);

export class RecvBuffer {
  private chunks: Buffer[] = [];
  /** offset into chunks[0] */
  private head = 0;
  /** bytes held */
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.length = 0;
  }

  /** The byte at logical index i (0 = oldest unread). For tests and small lookups. */
  at(i: number): number {
    let j = 0;
    let off = this.head + i;
    while (j < this.chunks.length && off >= this.chunks[j].length) {
      off -= this.chunks[j].length;
      j++;
    }
    return j < this.chunks.length ? this.chunks[j][off] : -1;
  }

  /** Remove and return the first n bytes (n <= length). */
  take(n: number): Buffer {
    if (n <= 0) return EMPTY;
    if (n > this.length) n = this.length;
    const first = this.chunks[0];
    const avail = first.length - this.head;
    let out: Buffer;
    if (n <= avail) {
      out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let p = 0;
      while (p < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length - this.head, n - p);
        c.copy(out, p, this.head, this.head + k);
        p += k;
        this.head += k;
        if (this.head === c.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
    }
    this.length -= n;
    return out;
  }

  /** The chunk holding the first n bytes (from `offset` on) when one does; else null. */
  contiguous(n: number): Buffer | null {
    const c = this.chunks[0];
    return c !== undefined && c.length - this.head >= n ? c : null;
  }

  /** Where the oldest unread byte is in chunks[0]. */
  get offset(): number {
    return this.head;
  }

  /** Drop the first n bytes. */
  skip(n: number): void {
    if (n >= this.length) {
      this.clear();
      return;
    }
    this.length -= n;
    while (n > 0) {
      const c = this.chunks[0];
      const k = Math.min(c.length - this.head, n);
      n -= k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
  }

  /** Logical index of the first byte equal to `byte` at or after `from`, or -1. */
  indexOf(byte: number, from = 0): number {
    let base = 0;
    for (let j = 0; j < this.chunks.length; j++) {
      const c = this.chunks[j];
      const start = j === 0 ? this.head : 0;
      const len = c.length - start;
      if (from < base + len) {
        const k = c.indexOf(byte, start + Math.max(0, from - base));
        if (k >= 0) return base + (k - start);
      }
      base += len;
    }
    return -1;
  }

  /** Iterate the bytes from logical index `from` on as (chunk, start, end) runs. */
  forEachRun(from: number, fn: (c: Buffer, start: number, end: number, base: number) => boolean): void {
    let base = 0;
    for (let j = 0; j < this.chunks.length; j++) {
      const c = this.chunks[j];
      const start = j === 0 ? this.head : 0;
      const len = c.length - start;
      if (from < base + len) {
        const s = start + Math.max(0, from - base);
        if (!fn(c, s, c.length, base - start)) return;
      }
      base += len;
    }
  }
}

/** Remove every CR from a line (the reference drops them all, not only a trailing one). */
export function stripCR(b: Buffer): Buffer {
  let i = b.indexOf(13);
  if (i < 0) return b;
  // the usual CRLF line: only the last byte is a CR, and the line is a view without it
  if (i === b.length - 1) return b.subarray(0, i);
  const out = Buffer.allocUnsafe(b.length);
  let p = 0;
  let from = 0;
  while (i >= 0) {
    p += b.copy(out, p, from, i);
    from = i + 1;
    i = b.indexOf(13, from);
  }
  p += b.copy(out, p, from);
  return out.subarray(0, p);
}

/**
 * A receiveuntil pattern as a matcher over the stream. Bytes seen while a prefix of the pattern
 * is matching are held back; output is always "everything consumed so far minus the held bytes",
 * so a scan only needs a position and a state. Mismatches fall back along the pattern's failure
 * links (KMP), releasing the bytes that can no longer start a match.
 */
export class UntilPattern {
  readonly pat: Buffer;
  private readonly fail: Int32Array;

  constructor(pat: Buffer) {
    this.pat = Buffer.from(pat);
    const n = pat.length;
    const f = new Int32Array(n + 1);
    f[0] = -1;
    if (n > 0) f[1] = 0;
    let k = 0;
    for (let i = 1; i < n; i++) {
      while (k > 0 && pat[i] !== pat[k]) k = f[k];
      if (pat[i] === pat[k]) k++;
      f[i + 1] = k;
    }
    this.fail = f;
  }

  /**
   * The state after a mismatch of byte c in `state` (> 0): a state > 0 when c continues a
   * shorter prefix (c consumed), else 0 (c not consumed: it is examined again in state 0).
   */
  fallback(state: number, c: number): number {
    let k = this.fail[state];
    while (k > 0) {
      if (this.pat[k] === c) return k + 1;
      k = this.fail[k];
    }
    return 0;
  }
}

/** Progress of one receiveuntil call across data arrivals. */
export interface UntilScan {
  /** bytes of the buffer examined */
  pos: number;
  /** length of the pattern prefix currently matched (held bytes at the end of pos) */
  state: number;
}

/**
 * Advance a scan over buf. Returns:
 *  - { kind: 'match', out }      the pattern ends at scan.pos; out bytes precede it
 *  - { kind: 'size', out }       size mode: out (>= size) bytes are ready, held bytes stay
 *  - null                        need more data
 */
export function scanUntil(buf: RecvBuffer, p: UntilPattern, scan: UntilScan, size: number):
  { kind: 'match' | 'size'; out: number } | null {
  const pat = p.pat;
  const plen = pat.length;
  const first = pat[0];
  let pos = scan.pos;
  let state = scan.state;
  let result: { kind: 'match' | 'size'; out: number } | null = null;
  buf.forEachRun(pos, (c, start, end, base) => {
    let i = start;
    while (i < end) {
      if (state === 0) {
        // fast path: jump to the next byte that can start a match
        let k = c.indexOf(first, i);
        if (k < 0 || k >= end) k = end;
        if (size > 0 && base + k >= size) {
          // the size limit is reached inside this run of plain bytes
          result = { kind: 'size', out: size };
          return false;
        }
        i = k;
        if (i >= end) break;
        // c[i] === first
        i++;
        state = 1;
        if (state === plen) {
          result = { kind: 'match', out: base + i - plen };
          break;
        }
        continue;
      }
      const b = c[i];
      if (b === pat[state]) {
        i++;
        state++;
        if (state === plen) {
          result = { kind: 'match', out: base + i - plen };
          break;
        }
        continue;
      }
      const ns = p.fallback(state, b);
      if (ns > 0) {
        i++;
        state = ns;
      } else {
        state = 0;
      }
      if (size > 0 && base + i - state >= size) {
        result = { kind: 'size', out: base + i - state };
        break;
      }
    }
    pos = base + i;
    return result === null;
  });
  if (result !== null && (result as { kind: string }).kind === 'size') {
    // pos / state are irrelevant after a size return: the next call rescans the held bytes
    scan.pos = 0;
    scan.state = 0;
    return result;
  }
  scan.pos = pos;
  scan.state = state;
  return result;
}
