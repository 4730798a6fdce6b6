// An exchange over node:http's request and response, so that the phase pipeline can serve a
// request that a host application's own http.Server (Express, Fastify's raw hooks) received:
// the embedding API's middleware. node:http owns the connection (keep-alive, chunked framing,
// the Date header); what the raw socket gives the standalone server is not available here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpExchange, HttpRequest, ResponseHead, ConnLimits, LogCtx } from './types.js';
import { normalizeUri, parseLength } from './parser.js';
import { errorPageBody, errorSendsNothing } from './errpage.js';
import { reasonPhrase } from './status.js';

const v4mapped = (a: string | undefined) => (a && a.startsWith('::ffff:') ? a.slice(7) : a ?? '');

function toRequest(ireq: IncomingMessage): HttpRequest {
  // behind Express's app.use('/mount', ...) req.url lost the mount path; originalUrl has it
  const target = (ireq as IncomingMessage & { originalUrl?: string }).originalUrl ?? ireq.url ?? '/';
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const headers: Array<[string, string]> = [];
  const raw = ireq.rawHeaders;
  let head = `${ireq.method} ${target} HTTP/${ireq.httpVersion}\r\n`;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    headers.push([raw[i], raw[i + 1]]);
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  head += '\r\n';
  const hostHeader = ireq.headers.host ?? '';
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d*$/, '');
  const te = ireq.headers['transfer-encoding'];
  const sock = ireq.socket;
  return {
    method: ireq.method ?? 'GET',
    requestUri: target,
    uri: normalizeUri(path) ?? path,
    args: q < 0 ? '' : target.slice(q + 1),
    version: ireq.httpVersionMajor * 10 + ireq.httpVersionMinor,
    protocol: `HTTP/${ireq.httpVersion}`,
    headers,
    rawHeader: head,
    host: host.toLowerCase(),
    contentLength: ireq.headers['content-length'] !== undefined ? parseLength(ireq.headers['content-length']) : -1,
    chunked: te !== undefined && /chunked/i.test(te),
    keepAlive: ireq.headers.connection === undefined || !/close/i.test(ireq.headers.connection),
    startTime: Date.now(),
    remoteAddr: v4mapped(sock?.remoteAddress),
    remotePort: sock?.remotePort ?? 0,
    serverAddr: v4mapped(sock?.localAddress),
    serverPort: sock?.localPort ?? 0,
  };
}

export class NodeHttpExchange implements HttpExchange {
  logContext: (() => LogCtx) | null = null;
  /** the connection's limits belong to the transport that carries the request */
  setLimits(_limits: ConnLimits): void { /* not a connection of ours */ }
  readonly req: HttpRequest;
  headSent = false;
  aborted = false;
  bytesSent = 0;
  headBytes = 0;
  readonly connectionRequests = 1;
  abortOnEnd = false;
  private ended = false;
  private noBody = false;
  private closeAfter = false;
  private abortCbs: Array<() => void> = [];

  constructor(
    private readonly ireq: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly serverToken: string,
  ) {
    this.req = toRequest(ireq);
    res.once('close', () => {
      if (this.ended && res.writableFinished) return;
      this.aborted = true;
      for (const cb of this.abortCbs.splice(0)) cb();
    });
  }

  sendHead(head: ResponseHead): void {
    if (this.headSent || this.ended) return;
    this.headSent = true;
    const status = head.status;
    if (this.req.method === 'HEAD' || status === 204 || status === 304) this.noBody = true;
    const server = head.server === undefined ? head.serverToken ?? this.serverToken : head.server;
    const flat: string[] = server === null ? [] : ['Server', server];
    if (head.date !== undefined && head.date !== null) flat.push('Date', head.date);
    if (head.contentType && status !== 204) flat.push('Content-Type', head.contentType);
    if (head.contentLength !== undefined && head.contentLength >= 0 && status !== 204) flat.push('Content-Length', String(head.contentLength));
    if (head.lastModified && status !== 204) flat.push('Last-Modified', head.lastModified);
    if (head.location) flat.push('Location', head.location);
    if (this.closeAfter) flat.push('Connection', 'close');
    for (const [k, v] of head.headers) flat.push(k, v);
    this.res.writeHead(status, head.reason ?? reasonPhrase(status), flat);
  }

  write(data: Buffer): boolean {
    if (this.ended || this.aborted) return !this.aborted;
    if (!this.headSent) this.sendHead({ status: 200, headers: [] });
    if (this.noBody || data.length === 0) return true;
    this.bytesSent += data.length;
    return this.res.write(data);
  }

  onDrain(cb: () => void): void {
    if (this.aborted || !this.res.writableNeedDrain) process.nextTick(cb);
    else this.res.once('drain', cb);
  }

  end(): void {
    if (this.ended) return;
    if (!this.headSent && !this.aborted) this.sendHead({ status: 200, headers: [] });
    this.ended = true;
    if (!this.aborted) this.res.end();
  }

  sendErrorPage(status: number, extraHeaders?: Array<[string, string]>, filter?: (head: ResponseHead, page: Buffer | null) => Buffer | null, serverToken?: string): void {
    if (this.ended) return;
    if (errorSendsNothing(status)) {
      // 444: close without a response
      this.ended = true;
      this.res.destroy();
      return;
    }
    if (this.headSent) return this.end();
    let page = errorPageBody(status, serverToken ?? this.serverToken);
    let location: string | undefined;
    const headers: Array<[string, string]> = [];
    for (const h of extraHeaders ?? []) {
      if (location === undefined && h[0].toLowerCase() === 'location') location = h[1];
      else headers.push(h);
    }
    const head: ResponseHead = { status, contentType: page ? 'text/html' : null, contentLength: page ? page.length : 0, location, headers, serverToken };
    if (filter) page = filter(head, page);
    this.sendHead(head);
    if (page) this.write(page);
    this.end();
  }

  readBody(maxSize: number, cb: (errStatus: number | null, body: Buffer | null) => void): void {
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: number | null, body: Buffer | null) => {
      if (done) return;
      done = true;
      cb(err, body);
    };
    if (maxSize > 0 && this.req.contentLength > maxSize) {
      this.ireq.resume();
      return finish(413, null);
    }
    this.ireq.on('data', (d: Buffer) => {
      size += d.length;
      if (maxSize > 0 && size > maxSize) {
        this.ireq.removeAllListeners('data');
        this.ireq.resume();
        return finish(413, null);
      }
      parts.push(d);
    });
    this.ireq.once('end', () => finish(null, Buffer.concat(parts, size)));
    this.ireq.once('error', () => finish(400, null));
  }

  discardBody(): boolean {
    this.ireq.resume();
    return true;
  }

  forceClose(): void {
    this.closeAfter = true;
    this.res.shouldKeepAlive = false;
  }

  terminate(): void {
    this.ended = true;
    this.res.destroy();
  }

  onAbort(cb: () => void): void {
    this.abortCbs.push(cb);
  }
}
