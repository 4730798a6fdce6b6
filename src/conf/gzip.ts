// The directives of nginx's gzip filter module (gzip, gzip_types, gzip_min_length,
// gzip_comp_level, gzip_buffers and the tuning ones) and the gzip_* directives nginx keeps in
// its core module (gzip_vary, gzip_http_version, gzip_proxied, gzip_disable). What they
// record, src/http/gzip.ts applies.

import type { Directive } from './parser.js';
import type { LocSettings } from './model.js';
import { compileRegex } from './regex.js';
import { parseNumber, parseSize } from './units.js';
import { HTTP, SRV, LOC, LIF, type ModuleConfHelpers, type ModuleDirective } from './modspec.js';

export interface GzipConfHelpers extends ModuleConfHelpers {
  flag: (d: Directive) => boolean;
  /** a [warn] the configuration gives at start-up */
  warn: (st: unknown, msg: string) => void;
}

/** gzip_proxied's words, as bits (nginx's ngx_http_gzip_proxied_mask) */
export const GZIP_PROXIED = {
  off: 0x0002,
  expired: 0x0004,
  'no-cache': 0x0008,
  'no-store': 0x0010,
  private: 0x0020,
  no_last_modified: 0x0040,
  no_etag: 0x0080,
  auth: 0x0100,
  any: 0x0200,
} as const;

const SL = HTTP | SRV | LOC;

export function gzipDirectives(h: GzipConfHelpers): ModuleDirective[] {
  const { once } = h;
  const set = <K extends keyof LocSettings>(c: unknown, key: K, v: LocSettings[K]) => {
    h.settingsOf(c)[key] = v;
  };
  const size = (d: Directive, v: string): number => {
    const n = parseSize(v);
    if (n === null) h.fail(d, `"${d.name}" directive invalid value`);
    return n;
  };
  // sizes nginx turns into zlib's window bits / memory level, with its own wording
  const log2 = (d: Directive, c: unknown, key: 'gzipWindowBits' | 'gzipMemLevel', top: number, bits: number, msg: string) => {
    once(c, d);
    const n = size(d, d.args[0]);
    for (let s = top, b = bits; s > 256; s >>= 1, b--) {
      if (s === n) return set(c, key, b);
    }
    h.fail(d, msg);
  };
  const flag = (name: string, key: 'gzip' | 'gzipVary', ctx: number): ModuleDirective => ({
    name,
    ctx,
    args: [1, 1],
    handler: (d, _b, c) => {
      once(c, d);
      set(c, key, h.flag(d));
    },
  });
  const accepted = (name: string, kind: 'flag' | 'size'): ModuleDirective => ({
    name,
    ctx: SL,
    args: [1, 1],
    // ngxlua compresses what a flush or the response's end hands it, so these change nothing
    handler: (d, _b, c) => {
      once(c, d);
      if (kind === 'flag') h.flag(d);
      else size(d, d.args[0]);
    },
  });

  return [
    flag('gzip', 'gzip', SL | LIF),
    {
      name: 'gzip_types',
      ctx: SL,
      args: [1, Infinity],
      handler: (d, _b, c, st) => {
        const s = h.settingsOf(c);
        if (s.gzipTypes === '*') return;
        // the level's list starts with text/html, which is always compressed
        const types = s.gzipTypes instanceof Set ? s.gzipTypes : new Set(['text/html']);
        for (const a of d.args) {
          if (a === '*') return set(c, 'gzipTypes', '*');
          const t = a.toLowerCase();
          if (types.has(t)) h.warn(st, `duplicate MIME type "${t}" in ${d.file}:${d.line}`);
          types.add(t);
        }
        set(c, 'gzipTypes', types);
      },
    },
    {
      name: 'gzip_min_length',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        set(c, 'gzipMinLength', size(d, d.args[0]));
      },
    },
    {
      name: 'gzip_comp_level',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        const n = parseNumber(d.args[0]);
        if (n === null) h.fail(d, `"${d.name}" directive invalid number`);
        if (n < 1 || n > 9) h.fail(d, 'value must be between 1 and 9');
        set(c, 'gzipCompLevel', n);
      },
    },
    {
      name: 'gzip_buffers',
      ctx: SL,
      args: [2, 2],
      handler: (d, _b, c) => {
        once(c, d);
        const num = parseNumber(d.args[0]);
        const sz = parseSize(d.args[1]);
        if (num === null || num === 0 || sz === null || sz === 0) h.fail(d, `"${d.name}" directive invalid value`);
      },
    },
    {
      name: 'gzip_window',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => log2(d, c, 'gzipWindowBits', 32 * 1024, 15, 'must be 512, 1k, 2k, 4k, 8k, 16k, or 32k'),
    },
    {
      name: 'gzip_hash',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => log2(d, c, 'gzipMemLevel', 128 * 1024, 9, 'must be 512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k'),
    },
    accepted('postpone_gzipping', 'size'),
    accepted('gzip_no_buffer', 'flag'),
    flag('gzip_vary', 'gzipVary', SL),
    {
      name: 'gzip_http_version',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        const v = d.args[0];
        if (v !== '1.0' && v !== '1.1') h.fail(d, `invalid value "${v}"`);
        set(c, 'gzipHttpVersion', v === '1.0' ? 10 : 11);
      },
    },
    {
      name: 'gzip_proxied',
      ctx: SL,
      args: [1, Infinity],
      handler: (d, _b, c, st) => {
        // a bitmask: repeated directives add up, a repeated word only warns
        let mask = h.settingsOf(c).gzipProxied ?? 0;
        for (const a of d.args) {
          const bit = GZIP_PROXIED[a.toLowerCase() as keyof typeof GZIP_PROXIED];
          if (bit === undefined) h.fail(d, `invalid value "${a}"`);
          if (mask & bit) h.warn(st, `duplicate value "${a}" in ${d.file}:${d.line}`);
          mask |= bit;
        }
        set(c, 'gzipProxied', mask);
      },
    },
    {
      name: 'gzip_disable',
      ctx: SL,
      args: [1, Infinity],
      handler: (d, _b, c) => {
        const s = h.settingsOf(c);
        const list = s.gzipDisable ? [...s.gzipDisable] : [];
        for (const a of d.args) {
          if (a === 'msie6') s.gzipDisableMsie6 = true;
          else list.push(compileRegex(a, true, { file: d.file, line: d.line }));
        }
        s.gzipDisable = list;
      },
    },
  ];
}
