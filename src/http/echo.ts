// The echo module's content handler (openresty/echo-nginx-module): the location's `echo*`
// commands run in order, each one's output going to the client as it is made. Subrequests
// (echo_location, echo_subrequest) insert their response body; the _async forms start at
// once and their bodies come out in command order.

import type { RequestCtx } from '../core/request.js';
import type { Runtime } from '../core/runtime.js';
import type { EchoCmd, Template } from '../conf/model.js';
import { expandTemplate } from '../conf/template.js';
import { getVar } from '../core/vars.js';
import { output, sendEof, sendHeaders } from '../core/output.js';
import { readRequestBody } from '../api/req.js';
import type { CaptureResult } from './subrequest.js';

export interface EchoHost {
  finalize(r: RequestCtx, status: number): void;
  internalRedirect(r: RequestCtx, uri: string, args?: string): void;
  logPhase(r: RequestCtx): void;
}

const NL = Buffer.from('\n');

/** The text of echo commands (echo_before_body / echo_after_body), variables expanded. */
export function echoText(r: RequestCtx, cmds: Array<Extract<EchoCmd, { op: 'echo' }>>): Buffer {
  let out = '';
  for (const c of cmds) out += c.args.map((t) => expandTemplate(t, (n) => getVar(r, n))).join(' ') + (c.nl ? '\n' : '');
  return Buffer.from(out, 'latin1');
}

export function runEcho(rt: Runtime, host: EchoHost, r: RequestCtx, cmds: EchoCmd[]): void {
  const expand = (t: Template) => expandTemplate(t, (n) => getVar(r, n));
  // what is still to be written, in command order: bytes, or a subrequest still running
  const pending: Array<Buffer | Promise<Buffer>> = [];
  let i = 0;

  const emit = (b: Buffer | Promise<Buffer>) => pending.push(b);
  /** Write what is ready, in order; calls `then` once nothing is left waiting. */
  const drain = (then: () => void): void => {
    while (pending.length > 0) {
      const head = pending[0];
      if (head instanceof Promise) {
        head.then((b) => {
          pending[0] = b;
          drain(then);
        });
        return;
      }
      pending.shift();
      if (head.length > 0) output(r, head);
    }
    then();
  };

  const subrequest = (method: string, uri: string, args: string, body: string | null): Promise<Buffer> =>
    new Promise((resolve) => {
      const sub = rt.subrequest;
      if (!sub) return resolve(Buffer.alloc(0));
      const q = uri.indexOf('?');
      sub(r, {
        method,
        uri: q < 0 ? uri : uri.slice(0, q),
        args: q < 0 ? args : uri.slice(q + 1) + (args ? `&${args}` : ''),
        body: body !== null ? Buffer.from(body, 'latin1') : null,
        vars: null,
        copyAllVars: false,
        shareAllVars: false,
        ctxRef: 0,
      }, (res: CaptureResult) => resolve(res.body));
    });

  const step = (): void => {
    while (i < cmds.length) {
      if (r.ex.aborted) return;
      const c = cmds[i++];
      switch (c.op) {
        case 'echo': {
          const text = c.args.map(expand).join(' ');
          emit(c.nl ? Buffer.concat([Buffer.from(text, 'latin1'), NL]) : Buffer.from(text, 'latin1'));
          break;
        }
        case 'duplicate': {
          const n = Number.parseInt(expand(c.count), 10);
          emit(Buffer.from(expand(c.text).repeat(Number.isFinite(n) && n > 0 ? n : 0), 'latin1'));
          break;
        }
        case 'status':
          if (!r.headersSent) r.status = c.code;
          break;
        case 'reset_timer':
          break;
        case 'flush':
          return drain(() => {
            sendHeaders(r);
            r.flushOutput();
            step();
          });
        case 'sleep': {
          const sec = Number.parseFloat(expand(c.seconds));
          return drain(() => {
            setTimeout(step, Number.isFinite(sec) && sec > 0 ? sec * 1000 : 0);
          });
        }
        case 'exec': {
          if (pending.length > 0 || r.headersSent) {
            rt.logReq('error', 'echo_exec: cannot redirect after output has been sent', r);
            return drain(() => finish());
          }
          const uri = expand(c.uri);
          const q = uri.indexOf('?');
          const args = c.args ? expand(c.args) : q < 0 ? undefined : uri.slice(q + 1);
          return host.internalRedirect(r, q < 0 ? uri : uri.slice(0, q), args);
        }
        case 'location': {
          const p = subrequest(c.method, expand(c.uri), c.args ? expand(c.args) : '', c.body ? expand(c.body) : null);
          emit(p);
          // the blocking form waits for its subrequest before the next command runs
          if (!c.async) return drain(step);
          break;
        }
        case 'read_body':
          return drain(() =>
            readRequestBody(rt, r, (err) => {
              if (err !== null) return host.finalize(r, err);
              step();
            }),
          );
        case 'request_body':
          if (r.body) emit(r.body);
          break;
      }
    }
    drain(finish);
  };

  const finish = (): void => {
    if (r.ex.aborted) return;
    sendHeaders(r);
    sendEof(r);
    host.logPhase(r);
  };

  step();
}
