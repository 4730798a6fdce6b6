// Sending the response from Lua: headers on first output (through header_filter_by_lua),
// body pieces (through body_filter_by_lua), eof, and nginx's special responses. Filters run
// at once; only under lua_yield_everywhere may one wait on I/O, and then every later output
// step of the request waits in r.outWait and runs, in order, once the filter is done.
import type { RequestCtx } from './request.js';
import type { ResponseHead } from '../http/types.js';
import { errorPageBody } from '../http/errpage.js';
import { SERVER_TOKEN } from './version.js';
import { applyHeaders } from '../http/headers.js';
import { applyMoreHeaders } from '../http/headers_more.js';
import { echoText } from '../http/echo.js';
import { gzipHead, gzipPageFilter } from '../http/gzip.js';
import { charsetPageFilter, withCharset } from '../http/charset.js';

const EMPTY = Buffer.alloc(0);

/**
 * echo_before_body / echo_after_body: their text joins the body before Lua's body filter sees
 * it (the order of the reference's filters with the lua module loaded before echo's).
 */
function around(r: RequestCtx, b: Buffer, eof: boolean): Buffer {
  const s = r.loc?.settings;
  if (!s || (!s.echoBefore && !s.echoAfter)) return b;
  const parts: Buffer[] = [];
  if (!r.echoBeforeDone) {
    r.echoBeforeDone = true;
    if (s.echoBefore) parts.push(echoText(r, s.echoBefore));
  }
  parts.push(b);
  if (eof && s.echoAfter) parts.push(echoText(r, s.echoAfter));
  return parts.length === 1 ? b : Buffer.concat(parts);
}

/** headers-more's filter, once per response, before Lua's header filter (the reference's order) */
function moreHeaders(r: RequestCtx, status: number): void {
  if (r.moreHeadersDone) return;
  r.moreHeadersDone = true;
  applyMoreHeaders(r, status, r.loc?.settings.defaultType ?? r.server.settings.defaultType);
}

/** Queue `step` behind a filter that is still running; false when nothing is waiting. */
function waitBehind(r: RequestCtx, step: () => void): boolean {
  if (!r.outWait) return false;
  r.outWait.push(step);
  return true;
}

/** A filter finished after waiting: run the steps queued behind it (until one waits again). */
function resumeOutput(r: RequestCtx): void {
  const steps = r.outWait ?? [];
  r.outWait = null;
  for (let i = 0; i < steps.length; i++) {
    if (r.outWait) {
      (r.outWait as Array<() => void>).push(...steps.slice(i));
      return;
    }
    steps[i]();
  }
  if (!r.outWait && r.headersSent && !r.eofSent) r.flushOutput(false, false);
}

/**
 * Run a filter given as `start(done)`; `after` runs when it is done. Returns false when the
 * filter is still running (later steps then queue behind it).
 */
function throughFilter<T>(r: RequestCtx, start: (done: (v: T) => void) => boolean, after: (v: T) => void): boolean {
  let sync = true;
  const finished = start((v) => {
    after(v);
    if (!sync) resumeOutput(r);
  });
  sync = false;
  if (!finished) r.outWait = [];
  return finished;
}

/**
 * nginx's not-modified filter over a 200 that carries Last-Modified or ETag (set by Lua, say):
 * an If-Modified-Since naming that exact time, or an If-None-Match naming that tag, turns it
 * into a 304 without type or length (the body then never goes out).
 */
function notModified(r: RequestCtx): void {
  if (r.status !== 200 || r.isSubrequest) return;
  // the request's conditions first: most requests have none, and then nothing else is looked at
  let ims: string | undefined;
  let inm: string | undefined;
  const hs = r.req.headers;
  for (let i = 0; i < hs.length; i++) {
    const n = hs[i][0];
    if (n.length !== 13 && n.length !== 17) continue;
    const k = n.toLowerCase();
    if (k === 'if-modified-since') ims ??= hs[i][1];
    else if (k === 'if-none-match') inm ??= hs[i][1];
  }
  if (ims === undefined && inm === undefined) return;
  const h = r.headersOut;
  const lm = h.get('last-modified')[0];
  const etag = h.get('etag')[0];
  if (lm === undefined && etag === undefined) return;
  if (ims !== undefined && (lm === undefined || Date.parse(ims) !== Date.parse(lm))) return;
  if (inm !== undefined) {
    const bare = (t: string) => t.trim().replace(/^W\//, '');
    if (etag === undefined || !(inm.trim() === '*' || inm.split(',').some((t) => bare(t) === bare(etag)))) return;
  }
  r.status = 304;
  h.contentType = '';
  h.contentLength = -1;
  h.set('Accept-Ranges', []);
}

/** What nginx names itself as in the Server header and error pages: the location's server_tokens. */
function serverTokenOf(r: RequestCtx): string {
  return (r.loc?.settings ?? r.server.settings).serverTokens ? SERVER_TOKEN : 'nginx';
}

function buildHead(r: RequestCtx): void {
  r.headersSent = true;
  notModified(r);
  applyHeaders(r, r.status);
  const h = r.headersOut;
  const head: ResponseHead = {
    status: r.status,
    // lua_use_default_type off: a head Lua sends without a type has none
    contentType: withCharset(r, h.contentType ?? (r.current !== null && !(r.loc?.settings ?? r.server.settings).luaUseDefaultType ? null : r.loc?.settings.defaultType ?? r.server.settings.defaultType)),
    contentLength: r.filters?.body || r.loc?.settings.echoBefore || r.loc?.settings.echoAfter ? -1 : h.contentLength,
    headers: [],
  };
  if (r.reason && r.reason.status === r.status) head.reason = r.reason.text;
  if (r.serverHeader !== undefined) head.server = r.serverHeader;
  // server_tokens is a location setting: the default Server value follows the location's, as
  // nginx's header filter reads it there (the listener's is for what comes before a location)
  else head.serverToken = serverTokenOf(r);
  if (r.dateHeader !== undefined) head.date = r.dateHeader;
  if (r.bareHead) head.bare = true;
  for (const [n, v] of h.list) {
    const k = n.toLowerCase();
    if (k === 'location' && !r.headersInOrder) head.location = v;
    else if (k === 'last-modified' && !r.headersInOrder) head.lastModified = v;
    else head.headers.push([n, v]);
  }
  r.finalStatus = r.status;
  // the gzip filter comes after the headers module; a head Lua sends is Lua's (r.current)
  gzipHead(r, head, r.current !== null);
  r.pendingHead = head;
}

/**
 * ngx.exit(status) in a header filter, as ngx_lua finalizes the request there: the response is
 * that status's error page (444: the bare status with an empty body), whatever was produced.
 */
function replaceWithStatus(r: RequestCtx, status: number): void {
  const page = status === 444 ? null : errorPageBody(status, serverTokenOf(r));
  r.status = status;
  const h = r.headersOut;
  h.list = [];
  h.contentType = page ? 'text/html' : '';
  h.contentLength = page ? page.length : 0;
  buildHead(r);
  r.bodyReplaced = true;
  if (page) r.queue(page);
}

/**
 * Build the response head from ngx.status / ngx.header (idempotent); written on flush.
 * Returns false while a header filter is still running.
 */
export function sendHeaders(r: RequestCtx): boolean {
  if (r.headersSent) return true;
  if (r.outWait) return false;
  if (r.status === 0) r.status = 200;
  moreHeaders(r, r.status);
  const f = r.filters?.header;
  if (!f) {
    buildHead(r);
    return true;
  }
  return headerFilter(r, f);
}

// The closures of a filtered or waiting step live in these helpers, so that the common path
// (no filter, nothing waiting) allocates none: a function whose inner closures capture its
// variables allocates their context on every call.
function headerFilter(r: RequestCtx, f: NonNullable<NonNullable<RequestCtx['filters']>['header']>): boolean {
  return throughFilter<[boolean, number | null]>(r, (done) => f(r, (ok, exit) => done([ok, exit])), ([ok, exit]) => {
    if (!ok) r.filterFailed = true;
    // 201 and 204 too: nginx finalizes with them as special responses (an empty body)
    if (ok && exit !== null && (exit >= 300 || exit === 201 || exit === 204)) return replaceWithStatus(r, exit);
    buildHead(r);
  });
}

/** Queue body bytes, sending the head first. */
export function output(r: RequestCtx, b: Buffer): void {
  if (r.outWait || !sendHeaders(r)) return outputLater(r, b);
  if (r.bodyReplaced) return;
  b = around(r, b, false);
  const bf = r.filters?.body;
  if (!bf || r.filterFailed) return queueOrCut(r, b);
  bodyFilter(r, bf, b);
}

function outputLater(r: RequestCtx, b: Buffer): void {
  waitBehind(r, () => output(r, b));
}

type BodyFilter = NonNullable<NonNullable<RequestCtx['filters']>['body']>;

function bodyFilter(r: RequestCtx, bf: BodyFilter, b: Buffer): void {
  throughFilter<{ data: Buffer } | null>(r, (done) => bf(r, b, false, done), (res) => {
    if (!res) r.filterFailed = true;
    queueOrCut(r, res ? res.data : b);
  });
}

function queueOrCut(r: RequestCtx, b: Buffer): void {
  if (r.filterFailed) return r.terminate();
  r.queue(b);
}

/** Finish the response: flush, last chunk. */
export function sendEof(r: RequestCtx): void {
  if (r.eofSent) return;
  if (r.outWait || !sendHeaders(r)) return sendEofLater(r);
  const last = r.bodyReplaced ? EMPTY : around(r, EMPTY, true);
  const bf = r.filters?.body;
  if (!bf || r.filterFailed) {
    if (last.length) r.queue(last);
    return finishEof(r);
  }
  lastBodyFilter(r, bf, last);
}

function sendEofLater(r: RequestCtx): void {
  waitBehind(r, () => sendEof(r));
}

function lastBodyFilter(r: RequestCtx, bf: BodyFilter, last: Buffer): void {
  throughFilter<{ data: Buffer } | null>(r, (done) => bf(r, last, true, done), (res) => {
    if (!res) r.filterFailed = true;
    else r.queue(res.data);
    finishEof(r);
  });
}

function finishEof(r: RequestCtx): void {
  if (r.eofSent) return;
  if (r.filterFailed) return r.terminate();
  r.flushOutput(true);
  r.eofSent = true;
  r.ex.end();
}

/** nginx's special response for `status` (error page, redirect page, or bare head). */
export function sendSpecial(r: RequestCtx, status: number): void {
  if (r.eofSent) return;
  if (waitBehind(r, () => sendSpecial(r, status))) return;
  r.status = status;
  moreHeaders(r, status);
  const finish = () => {
    if (r.filterFailed) return r.terminate();
    const st = r.status;
    if ((r.filters?.body || st !== status) && status !== 444 && status !== 499 && status >= 300) {
      // the page goes through Lua's body filter, and keeps the status it was made for when
      // the header filter changed ngx.status (nginx's err_status)
      const page = errorPageBody(status, serverTokenOf(r));
      const h = r.headersOut;
      h.contentType = page ? 'text/html' : '';
      h.contentLength = page ? page.length : 0;
      buildHead(r);
      // the page's own length stays, body filter or not (as on the reference)
      if (r.pendingHead) r.pendingHead.contentLength = h.contentLength;
      if (page) output(r, page);
      return sendEof(r);
    }
    r.finalStatus = st;
    r.headersSent = true;
    r.eofSent = true;
    applyHeaders(r, st);
    const extra: Array<[string, string]> = [];
    for (const [n, v] of r.headersOut.list) extra.push([n, v]);
    const pageFilter = charsetPageFilter(r, gzipPageFilter(r));
    r.ex.sendErrorPage(st, extra, r.serverHeader === undefined && r.dateHeader === undefined ? pageFilter : (head, page) => {
      if (r.serverHeader !== undefined) head.server = r.serverHeader;
      if (r.dateHeader !== undefined) head.date = r.dateHeader;
      return pageFilter ? pageFilter(head, page) : page;
    }, serverTokenOf(r));
  };
  const f = r.filters?.header;
  if (!f) return finish();
  throughFilter<boolean>(r, (done) => f(r, done), (ok) => {
    if (!ok) r.filterFailed = true;
    finish();
  });
}

/** Run `step` once the output steps queued so far are done (the log phase waits this way). */
export function afterOutput(r: RequestCtx, step: () => void): void {
  if (!waitBehind(r, step)) step();
}
