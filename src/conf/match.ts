// Choosing the virtual server for a Host and the location for a URI, as nginx does.

import type { LocationConf, ServerConf } from './model.js';

// ---- servers ------------------------------------------------------------------------

const regexCache = new WeakMap<ServerConf, Array<RegExp | null>>();

function serverRegexes(s: ServerConf): Array<RegExp | null> {
  let r = regexCache.get(s);
  if (!r) {
    r = s.serverNames.map((n) => {
      if (!n.startsWith('~')) return null;
      try {
        return new RegExp(n.slice(1).replace(/\(\?P</g, '(?<'), 'i');
      } catch {
        return null;
      }
    });
    regexCache.set(s, r);
  }
  return r;
}

/** Normalize a Host header value: lower case, no port, no trailing dot. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end >= 0) h = h.slice(0, end + 1);
  } else {
    const c = h.indexOf(':');
    if (c >= 0) h = h.slice(0, c);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * Pick the server for `host` among the servers listening on one address:port: an exact name,
 * then the longest wildcard starting with `*` (or `.name`), then the longest wildcard ending
 * with `*`, then the first matching regex name in conf order; else the default server (of
 * `listen` if given, else any default_server), else the first.
 */
export function selectServer(servers: ServerConf[], host: string, listen?: { host: string; port: number }): ServerConf {
  // one server on the address: every rule below ends at it
  if (servers.length === 1) return servers[0];
  const h = normalizeHost(host);
  for (const s of servers) if (s.serverNames.includes(h)) return s;
  if (h !== '') {
    let best: ServerConf | null = null;
    let bestLen = -1;
    for (const s of servers) {
      for (const n of s.serverNames) {
        let len = -1;
        if (n.startsWith('*.')) {
          if (h.endsWith(n.slice(1))) len = n.length;
        } else if (n.startsWith('.')) {
          if (h === n.slice(1) || h.endsWith(n)) len = n.length;
        }
        if (len > bestLen) {
          best = s;
          bestLen = len;
        }
      }
    }
    if (best) return best;
    for (const s of servers) {
      for (const n of s.serverNames) {
        if (n.endsWith('.*') && h.startsWith(n.slice(0, -1)) && n.length > bestLen) {
          best = s;
          bestLen = n.length;
        }
      }
    }
    if (best) return best;
    for (const s of servers) {
      for (const re of serverRegexes(s)) if (re && re.test(h)) return s;
    }
  }
  for (const s of servers) {
    for (const l of s.listens) {
      if (!l.defaultServer) continue;
      if (!listen || (l.port === listen.port && l.host === listen.host)) return s;
    }
  }
  if (listen) {
    // a default_server on the wildcard address of the same port also counts
    for (const s of servers) {
      for (const l of s.listens) {
        if (l.defaultServer && l.port === listen.port && (l.host === '0.0.0.0' || l.host === '::')) return s;
      }
    }
  }
  return servers[0];
}

// ---- locations ----------------------------------------------------------------------

export interface LocationMatch {
  loc: LocationConf;
  /** for regex locations: the whole match then the numbered captures ('' when unset) */
  captures?: string[];
  /** named captures of the matching regex */
  named?: Record<string, string>;
  /** nginx's auto_redirect: the URI lacks only the trailing slash of a proxied location's name */
  redirect?: boolean;
}

type Rc = 'ok' | 'done' | 'again' | 'declined' | 'redirect';

interface Step {
  rc: Rc;
  loc?: LocationConf;
  m?: RegExpExecArray;
}

/** Locations at one level with a pattern, in conf order: the static ones and the regexes. */
function staticFind(level: LocationConf[], uri: string): { exact: boolean; redirect?: boolean; loc: LocationConf } | null {
  for (const l of level) {
    if (l.modifier === '=' && l.pattern === uri) return { exact: true, loc: l };
  }
  // a location whose content is proxied and whose name is the URI plus a slash: nginx answers
  // with a redirect to that name (auto_redirect), ahead of any shorter prefix or regex
  for (const l of level) {
    if (l.modifier !== '@' && l.modifier !== '~' && l.modifier !== '~*' && l.settings?.proxyPass &&
        l.pattern.length === uri.length + 1 && l.pattern.endsWith('/') && l.pattern.startsWith(uri)) {
      return { exact: false, redirect: true, loc: l };
    }
  }
  let best: LocationConf | null = null;
  for (const l of level) {
    if (l.modifier !== '' && l.modifier !== '^~') continue;
    if (uri.startsWith(l.pattern) && (!best || l.pattern.length > best.pattern.length)) best = l;
  }
  return best ? { exact: false, loc: best } : null;
}

function find(level: LocationConf[], uri: string): Step {
  let rc: Rc = 'declined';
  let found: LocationConf | undefined;
  let noregex = false;
  const st = staticFind(level, uri);
  if (st) {
    if (st.exact) return { rc: 'ok', loc: st.loc };
    if (st.redirect) return { rc: 'redirect', loc: st.loc };
    found = st.loc;
    noregex = st.loc.modifier === '^~';
    rc = 'again';
    if (st.loc.locations.length) {
      const inner = find(st.loc.locations, uri);
      if (inner.rc === 'ok' || inner.rc === 'done' || inner.rc === 'redirect') return inner;
      if (inner.rc === 'again') found = inner.loc;
    }
  }
  if (!noregex) {
    for (const l of level) {
      if ((l.modifier !== '~' && l.modifier !== '~*') || !l.regex) continue;
      l.regex.lastIndex = 0;
      const m = l.regex.exec(uri);
      if (!m) continue;
      if (l.locations.length) {
        const inner = find(l.locations, uri);
        if (inner.rc === 'ok' || inner.rc === 'done' || inner.rc === 'redirect') return inner;
        if (inner.rc === 'again') return { rc: 'done', loc: inner.loc, m };
      }
      return { rc: 'done', loc: l, m };
    }
  }
  return { rc, loc: found };
}

/**
 * nginx's location choice: an exact `=` match wins at once; otherwise the longest matching
 * prefix (descending into its nested locations); unless that prefix is `^~`, regex locations
 * are tried in conf order (the nested ones of the chosen prefix first) and the first match
 * wins; else the longest prefix. `@name` locations are never chosen here.
 */
export function findLocation(server: ServerConf, uri: string): LocationMatch | null {
  const cache = (server.locCache ??= new Map());
  const hit = cache.get(uri);
  if (hit !== undefined) return hit;
  const r = find(server.locations, uri);
  if (!r.loc) {
    remember(cache, uri, null);
    return null;
  }
  const out: LocationMatch = { loc: r.loc };
  if (r.rc === 'redirect') out.redirect = true;
  if (r.m) {
    out.captures = Array.from(r.m, (x) => x ?? '');
    if (r.m.groups) {
      const named: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.m.groups)) named[k] = v ?? '';
      out.named = named;
    }
  } else {
    remember(cache, uri, out);
  }
  return out;
}

/** how many URIs a server remembers the location of (then it starts over) */
const LOC_CACHE_MAX = 1024;

/**
 * A choice made without a regex depends on the URI alone, and its match has no captures for a
 * caller to change: later requests for the URI take it as it is. (A regex's match is made anew
 * each time: its captures are the request's own.)
 */
function remember(cache: Map<string, LocationMatch | null>, uri: string, m: LocationMatch | null): void {
  if (cache.size >= LOC_CACHE_MAX) cache.clear();
  cache.set(uri, m);
}

/** The `location @name` of a server (`name` with or without the `@`). */
export function findNamedLocation(server: ServerConf, name: string): LocationConf | null {
  const want = name.startsWith('@') ? name : '@' + name;
  for (const l of server.locations) if (l.modifier === '@' && l.pattern === want) return l;
  return null;
}
