// Sending the response from Lua: headers on first output (through header_filter_by_lua),
// body pieces (through body_filter_by_lua), eof, and nginx's special responses.
import type { RequestCtx } from './request.js';
import type { ResponseHead } from '../http/types.js';

function runHeaderFilter(r: RequestCtx): void {
  const f = r.filters?.header;
  if (f && !f(r)) r.filterFailed = true;
}

/** Build the response head from ngx.status / ngx.header (idempotent); written on flush. */
export function sendHeaders(r: RequestCtx): void {
  if (r.headersSent) return;
  if (r.status === 0) r.status = 200;
  runHeaderFilter(r);
  r.headersSent = true;
  const h = r.headersOut;
  const head: ResponseHead = {
    status: r.status,
    contentType: h.contentType ?? r.loc?.settings.defaultType ?? r.server.settings.defaultType,
    contentLength: r.filters?.body ? -1 : h.contentLength,
    headers: [],
  };
  for (const [n, v] of h.list) {
    const k = n.toLowerCase();
    if (k === 'location') head.location = v;
    else if (k === 'last-modified') head.lastModified = v;
    else head.headers.push([n, v]);
  }
  r.finalStatus = r.status;
  r.pendingHead = head;
}

/** Queue body bytes, sending the head first. */
export function output(r: RequestCtx, b: Buffer): void {
  if (!r.headersSent) sendHeaders(r);
  const bf = r.filters?.body;
  if (bf && !r.filterFailed) {
    const res = bf(r, b, false);
    if (!res) r.filterFailed = true;
    else b = res.data;
  }
  if (r.filterFailed) return r.terminate();
  r.queue(b);
}

/** Finish the response: flush, last chunk. */
export function sendEof(r: RequestCtx): void {
  if (r.eofSent) return;
  if (!r.headersSent) sendHeaders(r);
  const bf = r.filters?.body;
  if (bf && !r.filterFailed) {
    const res = bf(r, Buffer.alloc(0), true);
    if (!res) r.filterFailed = true;
    else r.queue(res.data);
  }
  if (r.filterFailed) return r.terminate();
  r.flushOutput(true);
  r.eofSent = true;
  r.ex.end();
}

/** nginx's special response for `status` (error page, redirect page, or bare head). */
export function sendSpecial(r: RequestCtx, status: number): void {
  if (r.eofSent) return;
  r.status = status;
  runHeaderFilter(r);
  if (r.filterFailed) return r.terminate();
  status = r.status;
  r.finalStatus = status;
  r.headersSent = true;
  r.eofSent = true;
  const extra: Array<[string, string]> = [];
  for (const [n, v] of r.headersOut.list) extra.push([n, v]);
  r.ex.sendErrorPage(status, extra);
}
