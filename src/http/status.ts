// Reason phrases as the reference server prints them in the status line. Codes that have no
// entry go out as "HTTP/1.1 299 " (code, one space, empty reason), which is what nginx does.

const REASONS: Record<number, string> = {
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  206: 'Partial Content',

  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',

  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Time-out',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  421: 'Misdirected Request',
  429: 'Too Many Requests',

  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
  505: 'HTTP Version Not Supported',
  507: 'Insufficient Storage',
};

/** nginx's reason phrase for a status code, '' when it has none. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? '';
}

const lineCache = new Map<number, string>();

/**
 * The status line without CRLF, e.g. `HTTP/1.1 404 Not Found`. The nginx-internal codes
 * 494..497 are reported to the client as 400.
 */
export function statusLine(status: number, reason?: string): string {
  if (reason !== undefined) return `HTTP/1.1 ${pad3(status)} ${reason}`;
  let line = lineCache.get(status);
  if (line === undefined) {
    const wire = status >= 494 && status <= 497 ? 400 : status;
    line = `HTTP/1.1 ${pad3(wire)} ${reasonPhrase(wire)}`;
    if (lineCache.size < 1000) lineCache.set(status, line);
  }
  return line;
}

function pad3(n: number): string {
  const s = String(n);
  return s.length >= 3 ? s : '000'.slice(s.length) + s;
}
