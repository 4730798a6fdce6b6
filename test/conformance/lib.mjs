// Small helpers shared by the case files (not a case file itself).

// A location /t (or `loc`) whose content handler is the given Lua code.
export const lua = (code, loc = '/t') => `location ${loc} { content_by_lua_block { ${code}\n} }`;

// nginx's built-in error page for a status, any server token in the footer.
const REASONS = {
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect',
  308: 'Permanent Redirect', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found',
  405: 'Not Allowed', 413: 'Request Entity Too Large', 414: 'Request-URI Too Large',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out',
};
export const reason = (status) => REASONS[status];
export function errorPage(status) {
  const t = `${status} ${REASONS[status]}`;
  return new RegExp(`^<html>\\r\\n<head><title>${t}</title></head>\\r\\n<body>\\r\\n` +
    `<center><h1>${t}</h1></center>\\r\\n<hr><center>[^<]*</center>\\r\\n</body>\\r\\n</html>\\r\\n$`);
}

// Lua error raised by a handler: chunk name with any conf line, given Lua line.
export const luaErr = (phase, line, msg) =>
  new RegExp(`lua entry thread aborted: runtime error: ${phase}\\(nginx\\.conf:\\d+\\):${line}: ${msg}`);

// One-line Lua prelude (keeps the case's code on Lua line 1): out(...) says every argument,
// tostring'd, separated by spaces, nils included: out(nil, "closed") says "nil closed".
export const OUT = 'local function out(...) local t = {} for i = 1, select("#", ...) do ' +
  't[i] = tostring((select(i, ...))) end ngx.say(table.concat(t, " ")) end ';
// lua() with the out() prelude.
export const luaOut = (code, loc = '/t') => lua(OUT + code, loc);
