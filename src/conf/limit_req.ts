// The directives of nginx's limit_req module: limit_req_zone (http), limit_req,
// limit_req_status, limit_req_log_level and limit_req_dry_run. A limit_req may name a zone
// declared later in the conf (nginx adds a zero-size zone then), so zones are checked once the
// whole conf is read. src/http/limit_req.ts runs them.

import type { Directive } from './parser.js';
import type { HttpConf, LimitReqZone, LocSettings, Template } from './model.js';
import { ConfError, type ConfPos } from './errors.js';
import { parseSize } from './units.js';
import { HTTP, SRV, LOC, type ModuleConfHelpers, type ModuleDirective } from './modspec.js';

export interface LimitReqConfHelpers extends ModuleConfHelpers {
  flag: (d: Directive) => boolean;
  http: (st: unknown) => HttpConf;
}

/** nginx's smallest zone: 8 pages */
const MIN_ZONE = 8 * 4096;

const LEVELS: ReadonlyArray<LocSettings['limitReqLogLevel']> = ['info', 'notice', 'warn', 'error'];

/** a zone by name, added with no size when a limit_req names it first */
function zoneOf(http: HttpConf, name: string): LimitReqZone {
  let z = http.limitReqZones.get(name);
  if (!z) {
    z = { name, key: null, rate: 0, size: 0 };
    http.limitReqZones.set(name, z);
  }
  return z;
}

/** ngx_atoi: digits only, else -1 */
function atoi(s: string): number {
  return /^\d+$/.test(s) ? Number(s) : -1;
}

/** Every zone a limit_req names must be declared by a limit_req_zone. */
export function checkLimitReqZones(http: HttpConf): void {
  for (const z of http.limitReqZones.values()) {
    if (z.size === 0) throw new ConfError(`zero size shared memory zone "${z.name}"`);
  }
}

export function limitReqDirectives(h: LimitReqConfHelpers): ModuleDirective[] {
  const { once } = h;
  const SL = HTTP | SRV | LOC;
  return [
    {
      name: 'limit_req_zone',
      ctx: HTTP,
      args: [3, 3],
      handler: (d, _b, _c, st) => {
        const at: ConfPos = { file: d.file, line: d.line };
        const key: Template = h.template(d.args[0], at);
        let name = '';
        let size = 0;
        let rate = 1;
        let scale = 1;
        for (const a of d.args.slice(1)) {
          if (a.startsWith('zone=')) {
            const colon = a.indexOf(':');
            if (colon < 0) h.fail(d, `invalid zone size "${a}"`);
            name = a.slice(5, colon);
            const n = parseSize(a.slice(colon + 1));
            if (n === null) h.fail(d, `invalid zone size "${a}"`);
            if (n < MIN_ZONE) h.fail(d, `zone "${a}" is too small`);
            size = n;
          } else if (a.startsWith('rate=')) {
            let v = a.slice(5);
            if (v.endsWith('r/s')) {
              scale = 1;
              v = v.slice(0, -3);
            } else if (v.endsWith('r/m')) {
              scale = 60;
              v = v.slice(0, -3);
            }
            rate = atoi(v);
            if (rate <= 0) h.fail(d, `invalid rate "${a}"`);
          } else {
            h.fail(d, `invalid parameter "${a}"`);
          }
        }
        if (name === '') h.fail(d, `"${d.name}" must have "zone" parameter`);
        const z = zoneOf(h.http(st), name);
        if (z.key) h.fail(d, `${d.name} "${name}" is already bound to key "${z.key.raw}"`);
        z.key = key;
        // requests per 1000 s, in integers as nginx keeps it
        z.rate = Math.trunc((rate * 1000) / scale);
        z.size = size;
      },
    },
    {
      name: 'limit_req',
      ctx: SL,
      args: [1, 3],
      handler: (d, _b, c, st) => {
        let zone: LimitReqZone | null = null;
        let burst = 0;
        let delay = 0;
        for (const a of d.args) {
          if (a.startsWith('zone=')) {
            zone = zoneOf(h.http(st), a.slice(5));
          } else if (a.startsWith('burst=')) {
            burst = atoi(a.slice(6));
            if (burst <= 0) h.fail(d, `invalid burst value "${a}"`);
          } else if (a.startsWith('delay=')) {
            delay = atoi(a.slice(6));
            if (delay <= 0) h.fail(d, `invalid delay value "${a}"`);
          } else if (a === 'nodelay') {
            delay = Infinity;
          } else {
            h.fail(d, `invalid parameter "${a}"`);
          }
        }
        if (!zone) h.fail(d, `"${d.name}" must have "zone" parameter`);
        const s = h.settingsOf(c);
        const own = s.limitReq ?? [];
        if (own.some((l) => l.zone === zone)) h.fail(d, `"${d.name}" directive is duplicate`);
        // burst and delay in thousandths of a request, as the zone's excess is kept
        s.limitReq = [...own, { zone, burst: burst * 1000, delay: delay * 1000 }];
      },
    },
    {
      name: 'limit_req_status',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        const n = atoi(d.args[0]);
        if (n < 0) h.fail(d, `"${d.name}" directive invalid number`);
        if (n < 400 || n > 599) h.fail(d, 'value must be between 400 and 599');
        h.settingsOf(c).limitReqStatus = n;
      },
    },
    {
      name: 'limit_req_log_level',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        const v = d.args[0].toLowerCase() as LocSettings['limitReqLogLevel'];
        if (!LEVELS.includes(v)) h.fail(d, `invalid value "${d.args[0]}"`);
        h.settingsOf(c).limitReqLogLevel = v;
      },
    },
    {
      name: 'limit_req_dry_run',
      ctx: SL,
      args: [1, 1],
      handler: (d, _b, c) => {
        once(c, d);
        h.settingsOf(c).limitReqDryRun = h.flag(d);
      },
    },
  ];
}
