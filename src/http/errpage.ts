// The built-in error pages, byte for byte as the reference server produces them, with the
// server token (e.g. `ngxlua/0.1.0`) in place of nginx's version string.

/** Title/heading text of the page for each status that has one. */
const TITLES: Record<number, string> = {
  301: '301 Moved Permanently',
  302: '302 Found',
  303: '303 See Other',
  307: '307 Temporary Redirect',
  308: '308 Permanent Redirect',

  400: '400 Bad Request',
  401: '401 Authorization Required',
  402: '402 Payment Required',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Not Allowed',
  406: '406 Not Acceptable',
  408: '408 Request Time-out',
  409: '409 Conflict',
  410: '410 Gone',
  411: '411 Length Required',
  412: '412 Precondition Failed',
  413: '413 Request Entity Too Large',
  414: '414 Request-URI Too Large',
  415: '415 Unsupported Media Type',
  416: '416 Requested Range Not Satisfiable',
  421: '421 Misdirected Request',
  429: '429 Too Many Requests',

  500: '500 Internal Server Error',
  501: '501 Not Implemented',
  502: '502 Bad Gateway',
  503: '503 Service Temporarily Unavailable',
  504: '504 Gateway Time-out',
  507: '507 Insufficient Storage',
};

/** nginx-internal 4xx codes that go out as 400 with an explanatory second line. */
const SPECIAL_400: Record<number, string> = {
  494: 'Request Header Or Cookie Too Large',
  495: 'The SSL certificate error',
  496: 'No required SSL certificate was sent',
  497: 'The plain HTTP request was sent to HTTPS port',
};

const MSIE_PADDING_LINE = '<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n';
export const MSIE_PADDING = MSIE_PADDING_LINE.repeat(6);

const cache = new Map<string, Buffer | null>();

/** Whether the reference has a built-in page for this status. */
export function hasErrorPage(status: number): boolean {
  return status in TITLES || status in SPECIAL_400 || status === 505;
}

/** The status a page is sent with on the wire (494..497 → 400). */
export function wireStatus(status: number): number {
  return status >= 494 && status <= 497 ? 400 : status;
}

/** Statuses after which nginx does not keep the connection alive. */
export function errorClosesConnection(status: number): boolean {
  switch (status) {
    case 400: case 413: case 414: case 494: case 495: case 496: case 497: case 500: case 501:
      return true;
    default:
      return false;
  }
}

/** Statuses for which nginx closes the connection without any response. */
export function errorSendsNothing(status: number): boolean {
  return status === 408 || status === 444 || status === 499;
}

/**
 * The page body for `status`, or null when nginx has no page (it then sends an empty body).
 * `serverToken` replaces `nginx/1.22.1` in the page footer.
 */
export function errorPageBody(status: number, serverToken: string): Buffer | null {
  const key = `${status} ${serverToken}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let html: string | null = null;
  const tail = `<hr><center>${serverToken}</center>\r\n</body>\r\n</html>\r\n`;
  if (status in SPECIAL_400) {
    const why = SPECIAL_400[status];
    html = `<html>\r\n<head><title>400 ${why}</title></head>\r\n<body>\r\n` +
      `<center><h1>400 Bad Request</h1></center>\r\n<center>${why}</center>\r\n` + tail;
  } else {
    const title = status === 505 ? '505 HTTP Version Not Supported' : TITLES[status];
    if (title !== undefined) {
      html = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n` +
        `<center><h1>${title}</h1></center>\r\n` + tail;
    }
  }
  const buf = html === null ? null : Buffer.from(html, 'latin1');
  if (cache.size < 512) cache.set(key, buf);
  return buf;
}

/** nginx's MSIE detection: a User-Agent containing "MSIE " and not "Opera". */
export function isMsie(userAgent: string | undefined): boolean {
  if (!userAgent) return false;
  return userAgent.includes('MSIE ') && !userAgent.includes('Opera');
}
