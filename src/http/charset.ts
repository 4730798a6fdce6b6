// nginx's charset module, as far as it shows in the response head: `charset name` adds
// `; charset=name` to a Content-Type of one of charset_types that names no charset yet.
// (Recoding between source_charset and charset is not done: the bytes pass as they are.)
import type { RequestCtx } from '../core/request.js';
import type { ResponseHead } from './types.js';

export const DEFAULT_CHARSET_TYPES: ReadonlySet<string> = new Set(['text/html', 'text/xml', 'text/plain', 'text/vnd.wap.wml', 'application/javascript', 'application/rss+xml']);

/** The Content-Type with the location's charset added where nginx adds it. */
export function withCharset(r: RequestCtx, type: string | null | undefined): string | null | undefined {
  const s = r.loc?.settings ?? r.server.settings;
  const cs = s.charset;
  if (!cs || !type) return type;
  const semi = type.indexOf(';');
  if (semi >= 0 && /;\s*charset\s*=/i.test(type)) return type;
  const base = (semi >= 0 ? type.slice(0, semi) : type).trim().toLowerCase();
  // text/html always takes it; the other types only when charset_types names them
  const types = s.charsetTypes ?? DEFAULT_CHARSET_TYPES;
  if (base !== 'text/html' && !types.has(base) && !types.has('*')) return type;
  return `${type}; charset=${cs}`;
}

/** The same for an error page's head (sendErrorPage's filter), before any other such filter. */
export function charsetPageFilter(r: RequestCtx, next?: (head: ResponseHead, page: Buffer | null) => Buffer | null):
  ((head: ResponseHead, page: Buffer | null) => Buffer | null) | undefined {
  if (!(r.loc?.settings ?? r.server.settings).charset) return next;
  return (head, page) => {
    head.contentType = withCharset(r, head.contentType) ?? null;
    return next ? next(head, page) : page;
  };
}
