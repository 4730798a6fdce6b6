// nginx's access module: `allow` / `deny` rules and checking a client address against them.
// Rules are tried in conf order; the first that matches decides. No rule matching means allowed.
import { isIP } from 'node:net';
import type { AccessRule } from './model.js';

function ipv4Bytes(s: string): number[] | null {
  if (isIP(s) !== 4) return null;
  return s.split('.').map(Number);
}

function ipv6Bytes(s: string): number[] | null {
  if (isIP(s) !== 6) return null;
  let text = s;
  // a trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups
  const dq = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dq) {
    const [a, b, c, d] = dq.slice(1).map(Number);
    text = text.slice(0, dq.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const dbl = text.indexOf('::');
  const head = dbl < 0 ? text : text.slice(0, dbl);
  const rest = dbl < 0 ? null : text.slice(dbl + 2);
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups = rest === null ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  if (groups.length !== 8) return null;
  const out: number[] = [];
  for (const g of groups) {
    const n = Number.parseInt(g, 16);
    out.push(n >> 8, n & 255);
  }
  return out;
}

/** Parse the argument of `allow` / `deny`; null when nginx would say `invalid parameter`. */
export function parseAccessRule(arg: string, deny: boolean): AccessRule | null {
  if (arg === 'all') return { deny, all: true, text: arg };
  if (arg.startsWith('unix:')) return { deny, all: false, unix: true, text: arg };
  const slash = arg.indexOf('/');
  const addr = slash < 0 ? arg : arg.slice(0, slash);
  const v4 = ipv4Bytes(addr);
  const bytes = v4 ?? ipv6Bytes(addr);
  if (!bytes) return null;
  const max = bytes.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = arg.slice(slash + 1);
    if (!/^\d+$/.test(p) || Number(p) > max) return null;
    prefix = Number(p);
  }
  // nginx keeps only the masked address ("low address bits ... are meaningless" is a warning)
  const masked = bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  return { deny, all: false, family: v4 ? 4 : 6, addr: masked, prefix, text: arg };
}

/** Whether `remoteAddr` may pass the rules (nginx's access phase). */
export function accessAllowed(rules: readonly AccessRule[] | undefined, remoteAddr: string): boolean {
  if (!rules || rules.length === 0) return true;
  let bytes = ipv4Bytes(remoteAddr);
  let family: 4 | 6 = 4;
  if (!bytes) {
    bytes = ipv6Bytes(remoteAddr);
    family = 6;
    // IPv4-mapped IPv6 clients are checked against IPv4 rules, as nginx does
    if (bytes && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) {
      bytes = bytes.slice(12);
      family = 4;
    }
  }
  const isUnix = !bytes;
  for (const rule of rules) {
    if (rule.all) return !rule.deny;
    if (rule.unix) {
      if (isUnix) return !rule.deny;
      continue;
    }
    if (!bytes || rule.family !== family) continue;
    let ok = true;
    for (let i = 0; i < bytes.length && ok; i++) {
      const bits = Math.max(0, Math.min(8, rule.prefix! - i * 8));
      const mask = (0xff << (8 - bits)) & 0xff;
      if ((bytes[i] & mask) !== rule.addr![i]) ok = false;
    }
    if (ok) return !rule.deny;
  }
  return true;
}
