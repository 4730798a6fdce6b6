// Sending the response from Lua: headers on first output, queued body bytes, eof.
import type { RequestCtx } from './request.js';
import type { ResponseHead } from '../http/types.js';

/** Build and send the response head from ngx.status / ngx.header (idempotent). */
export function sendHeaders(r: RequestCtx): void {
  if (r.headersSent) return;
  r.headersSent = true;
  if (r.status === 0) r.status = 200;
  const h = r.headersOut;
  const head: ResponseHead = {
    status: r.status,
    contentType: h.contentType ?? r.loc?.settings.defaultType ?? r.server.settings.defaultType,
    contentLength: h.contentLength,
    headers: [],
  };
  for (const [n, v] of h.list) {
    const k = n.toLowerCase();
    if (k === 'location') head.location = v;
    else if (k === 'last-modified') head.lastModified = v;
    else head.headers.push([n, v]);
  }
  r.finalStatus = r.status;
  r.ex.sendHead(head);
}

/** Queue body bytes, sending the head first. */
export function output(r: RequestCtx, b: Buffer): void {
  if (!r.headersSent) sendHeaders(r);
  r.queue(b);
}

/** Finish the response: flush, last chunk. */
export function sendEof(r: RequestCtx): void {
  if (r.eofSent) return;
  if (!r.headersSent) sendHeaders(r);
  r.flushOutput();
  r.eofSent = true;
  r.ex.end();
}

/** nginx's special response for `status` (error page, redirect page, or bare head). */
export function sendSpecial(r: RequestCtx, status: number): void {
  if (r.eofSent) return;
  r.finalStatus = status;
  r.headersSent = true;
  r.eofSent = true;
  const extra: Array<[string, string]> = [];
  for (const [n, v] of r.headersOut.list) extra.push([n, v]);
  r.ex.sendErrorPage(status, extra);
}
