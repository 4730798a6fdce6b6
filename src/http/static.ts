// The content of a location without a content handler, as nginx's core, index, try_files and
// static modules give it: the file under `root` (or `alias`), an index file for a directory,
// 301 to the directory's URI with a slash, nginx's 403/404/405 and their error-log lines, the
// MIME type by extension (`types`), Last-Modified/ETag with If-Modified-Since/If-None-Match
// (304), and a single byte range (206/416).

import { promises as fsp, type Stats } from 'node:fs';
import type { RequestCtx } from '../core/request.js';
import type { LocSettings } from '../conf/model.js';
import { absoluteRedirect } from './rewrite.js';
import { gzipWanted } from './gzip.js';

/** What the static module needs of the pipeline. */
export interface StaticHost {
  finalize(r: RequestCtx, status: number): void;
  internalRedirect(r: RequestCtx, uri: string, args?: string): void;
  /** send r's headers and `body` (null: none, e.g. HEAD or 304), then run the log phase */
  respond(r: RequestCtx, body: Buffer | null): void;
  logError(r: RequestCtx, msg: string): void;
  prefix: string;
}

function settingsOf(r: RequestCtx): LocSettings {
  return r.loc?.settings ?? r.server.settings;
}

/** The file system path of `uri` in r's location: `alias` replaces the location's prefix, `root` is prepended. */
export function mapUri(r: RequestCtx, uri: string, prefix: string): string {
  const s = settingsOf(r);
  const loc = r.loc;
  if (s.alias !== undefined && loc) {
    // in a regex location the alias names the whole path (captures are not expanded here)
    if (loc.regex) return absolute(s.alias, prefix);
    if (uri.startsWith(loc.pattern)) return absolute(s.alias, prefix) + uri.slice(loc.pattern.length);
  }
  return absolute(s.root ?? 'html', prefix).replace(/\/$/, '') + uri;
}

function absolute(p: string, prefix: string): string {
  return p.startsWith('/') ? p : prefix + p;
}

function errnoText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return '2: No such file or directory';
    case 'EACCES': return '13: Permission denied';
    case 'ENOTDIR': return '20: Not a directory';
    case 'ENAMETOOLONG': return '36: File name too long';
    default: return `${e.errno ?? 0}: ${e.message}`;
  }
}

function statusOf(e: NodeJS.ErrnoException): number {
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR' || e.code === 'ENAMETOOLONG') return 404;
  if (e.code === 'EACCES') return 403;
  return 500;
}

async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.stat(p);
  } catch {
    return null;
  }
}

/** `try_files file ... uri|=code`: the first file (or directory, written with a slash) that exists wins. */
async function tryFiles(host: StaticHost, r: RequestCtx, list: string[]): Promise<void> {
  const expand = (t: string) => t.replace(/\$uri\b|\$\{uri\}/g, r.uri).replace(/\$args\b/g, r.args);
  for (let i = 0; i < list.length - 1; i++) {
    const name = expand(list[i]);
    const dir = name.endsWith('/');
    const st = await statOrNull(mapUri(r, dir ? name.slice(0, -1) : name, host.prefix));
    if (r.ex.aborted) return;
    if (st && (dir ? st.isDirectory() : st.isFile())) {
      // the request goes on with the URI of what was found
      r.uri = name;
      return serveFile(host, r);
    }
  }
  const last = list[list.length - 1];
  if (/^=\d{3}$/.test(last)) return host.finalize(r, Number(last.slice(1)));
  const q = expand(last).indexOf('?');
  const target = expand(last);
  host.internalRedirect(r, q < 0 ? target : target.slice(0, q), q < 0 ? undefined : target.slice(q + 1));
}

/** Serve r's URI from the file system. */
export function serveStatic(host: StaticHost, r: RequestCtx): void {
  const tf = settingsOf(r).tryFiles;
  const run = tf && !r.triedFiles ? ((r.triedFiles = true), tryFiles(host, r, tf)) : serveFile(host, r);
  run.catch((e: unknown) => {
    host.logError(r, `static file handler failed: ${(e as Error)?.message ?? String(e)}`);
    if (!r.ex.aborted && !r.headersSent) host.finalize(r, 500);
  });
}

async function serveFile(host: StaticHost, r: RequestCtx): Promise<void> {
  const s = settingsOf(r);
  const path = mapUri(r, r.uri, host.prefix);
  if (r.uri.endsWith('/')) {
    for (const idx of s.index ?? ['index.html']) {
      const st = await statOrNull(path + idx);
      if (r.ex.aborted) return;
      // nginx's index module redirects internally to the index file's URI
      if (st && st.isFile()) return host.internalRedirect(r, r.uri + idx, r.args || undefined);
    }
    host.logError(r, `directory index of "${path}" is forbidden`);
    return host.finalize(r, 403);
  }
  const m = r.req.method;
  if (m !== 'GET' && m !== 'HEAD' && m !== 'POST') return host.finalize(r, 405);
  let st: Stats;
  try {
    st = await fsp.stat(path);
  } catch (e) {
    if (r.ex.aborted) return;
    const err = e as NodeJS.ErrnoException;
    const status = statusOf(err);
    // nginx does not log a missing file at error level twice for try_files; a plain 404 it does
    host.logError(r, `open() "${path}" failed (${errnoText(err)})`);
    return host.finalize(r, status);
  }
  if (r.ex.aborted) return;
  if (st.isDirectory()) {
    r.headersOut.set('Location', [absoluteRedirect(r, r.uri + '/' + (r.args ? `?${r.args}` : ''))]);
    return host.finalize(r, 301);
  }
  if (m === 'POST') return host.finalize(r, 405);
  const h = r.headersOut;
  const mtime = Math.floor(st.mtimeMs / 1000);
  const lastModified = new Date(mtime * 1000).toUTCString();
  const etag = `"${mtime.toString(16)}-${st.size.toString(16)}"`;
  h.set('Last-Modified', [lastModified]);
  if (s.etag) h.set('ETag', [etag]);
  if (h.contentType === null) h.contentType = mimeType(s, path);

  // conditional requests: an exact If-Modified-Since or a matching If-None-Match
  const inm = header(r, 'if-none-match');
  const ims = header(r, 'if-modified-since');
  if ((inm !== null && s.etag && (inm === '*' || inm.split(/\s*,\s*/).includes(etag))) || (inm === null && ims !== null && ims === lastModified)) {
    r.status = 304;
    h.contentLength = -1;
    return host.respond(r, null);
  }

  let start = 0;
  let end = st.size - 1;
  const range = header(r, 'range');
  if (range !== null && r.status === 0 && !gzipWanted(r, h.contentType, st.size) && (header(r, 'if-range') === null || header(r, 'if-range') === etag || header(r, 'if-range') === lastModified)) {
    const m1 = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (m1 && (m1[1] !== '' || m1[2] !== '')) {
      if (m1[1] === '') {
        start = Math.max(0, st.size - Number(m1[2]));
      } else {
        start = Number(m1[1]);
        if (m1[2] !== '') end = Math.min(end, Number(m1[2]));
      }
      if (start >= st.size || start > end || (m1[1] !== '' && m1[2] !== '' && Number(m1[2]) < start)) {
        h.set('Content-Range', [`bytes */${st.size}`]);
        return host.finalize(r, 416);
      }
      r.status = 206;
      h.set('Content-Range', [`bytes ${start}-${end}/${st.size}`]);
    }
  }
  if (r.status === 0) r.status = 200;
  h.set('Accept-Ranges', ['bytes']);
  const len = Math.max(0, end - start + 1);
  h.contentLength = len;
  if (m === 'HEAD' || len === 0) return host.respond(r, null);
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await fh.read(buf, got, len - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (r.ex.aborted) return;
    host.respond(r, got === len ? buf : buf.subarray(0, got));
  } finally {
    await fh.close();
  }
}

function header(r: RequestCtx, name: string): string | null {
  for (const [n, v] of r.req.headers) if (n.length === name.length && n.toLowerCase() === name) return v;
  return null;
}

/** nginx's types when the conf sets none */
const BUILTIN_TYPES = new Map([['html', 'text/html'], ['gif', 'image/gif'], ['jpg', 'image/jpeg']]);

/** The type for the file's extension in the location's `types`, else default_type. */
function mimeType(s: LocSettings, path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot > slash) {
    const t = (s.types ?? BUILTIN_TYPES).get(path.slice(dot + 1).toLowerCase());
    if (t !== undefined) return t;
  }
  return s.defaultType;
}
