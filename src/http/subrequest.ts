// ngx.location.capture's subrequests: an in-memory exchange runs a request through the
// pipeline and keeps its status, headers and body for the parent.
import type { HttpExchange, HttpRequest, ResponseHead, ConnLimits, LogCtx } from './types.js';
import { errorPageBody } from './errpage.js';
import { SERVER_TOKEN } from '../core/version.js';

export interface CaptureResult {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
  truncated: boolean;
}

/** The exchange of a subrequest: nothing reaches a socket; end() hands the result over. */
export class SubExchange implements HttpExchange {
  logContext: (() => LogCtx) | null = null;
  /** the connection's limits belong to the transport that carries the request */
  setLimits(_limits: ConnLimits): void { /* not a connection of ours */ }
  headSent = false;
  aborted = false;
  abortOnEnd = false;
  bytesSent = 0;
  headBytes = 0;
  private status = 200;
  private headers: Array<[string, string]> = [];
  private readonly chunks: Buffer[] = [];
  private done = false;
  private truncated = false;

  constructor(
    readonly req: HttpRequest,
    private readonly body: Buffer | null,
    /** the parent's connection's count ($connection_requests is the connection's) */
    readonly connectionRequests: number,
    private readonly onDone: (res: CaptureResult) => void,
  ) {}

  sendHead(head: ResponseHead): void {
    if (this.headSent) return;
    this.headSent = true;
    this.status = head.status;
    const hs: Array<[string, string]> = [];
    if (head.contentType) hs.push(['Content-Type', head.contentType]);
    if (head.contentLength !== undefined && head.contentLength >= 0) hs.push(['Content-Length', String(head.contentLength)]);
    if (head.location) hs.push(['Location', head.location]);
    if (head.lastModified) hs.push(['Last-Modified', head.lastModified]);
    this.headers = hs.concat(head.headers);
  }

  write(data: Buffer): boolean {
    if (!this.done && this.req.method !== 'HEAD') {
      this.chunks.push(Buffer.from(data));
      this.bytesSent += data.length;
    }
    return true;
  }

  onDrain(cb: () => void): void {
    process.nextTick(cb);
  }

  end(): void {
    if (this.done) return;
    if (!this.headSent) this.sendHead({ status: 200, headers: [] });
    this.done = true;
    const body = Buffer.concat(this.chunks);
    this.onDone({ status: this.status, headers: this.headers, body, truncated: this.truncated });
  }

  sendErrorPage(status: number, extraHeaders?: Array<[string, string]>): void {
    const page = status >= 300 ? errorPageBody(status, SERVER_TOKEN) : null;
    const location = extraHeaders?.find(([n]) => n.toLowerCase() === 'location')?.[1];
    this.sendHead({
      status,
      contentType: page ? 'text/html' : null,
      contentLength: page ? page.length : undefined,
      location,
      headers: (extraHeaders ?? []).filter(([n]) => n.toLowerCase() !== 'location'),
    });
    if (page) this.write(page);
    this.end();
  }

  readBody(_maxSize: number, cb: (errStatus: number | null, body: Buffer | null) => void): void {
    process.nextTick(cb, null, this.body);
  }

  discardBody(): boolean { return true; }

  forceClose(): void {}

  terminate(): void {
    this.truncated = true;
    this.end();
  }

  onAbort(): void {}
}
