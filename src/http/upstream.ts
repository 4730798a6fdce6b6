// nginx's upstream module at run time: the peers of an upstream block chosen by smooth weighted
// round robin with max_fails / fail_timeout and backup servers, as ngx_http_upstream_round_robin
// does per request (tries, the tried set, failure accounting), and the `keepalive` cache of idle
// upstream connections (LIFO, the oldest closed when full, closed when the peer speaks or
// closes, or after keepalive_timeout / keepalive_requests).
import type { Conn } from './streamconn.js';
import type { UpstreamConf, UpstreamServer } from '../conf/model.js';

export interface Peer {
  readonly srv: UpstreamServer;
  currentWeight: number;
  effectiveWeight: number;
  fails: number;
  /** ms of the last failure */
  accessed: number;
  /** ms since when the fail_timeout window runs */
  checked: number;
}

/** Who an upstream connection's events go to: the request using it, or the idle cache. */
export interface UpstreamOwner {
  upData(d: Buffer): void;
  upEnd(): void;
  upError(e: NodeJS.ErrnoException): void;
}

const OWNER: unique symbol = Symbol('upstream owner');
type OwnedSocket = Conn & { [OWNER]?: UpstreamOwner | null };

// one set of listeners per connection for its whole life, dispatching to its owner of the moment:
// a request taking a cached connection adds and removes no listeners
function ownedData(this: OwnedSocket, d: Buffer): void {
  this[OWNER]?.upData(d);
}
function ownedEnd(this: OwnedSocket): void {
  this[OWNER]?.upEnd();
}
function ownedError(this: OwnedSocket, e: NodeJS.ErrnoException): void {
  this[OWNER]?.upError(e);
}

/** Route sock's data, end, close and error events to owner from now on (null: to nobody). */
export function setOwner(sock: Conn, owner: UpstreamOwner | null): void {
  const s = sock as OwnedSocket;
  if (!(OWNER in s)) {
    s.on('data', ownedData);
    s.on('end', ownedEnd);
    s.on('close', ownedEnd);
    s.on('error', ownedError);
  }
  s[OWNER] = owner;
}

/** A cached connection: anything it says or does ends its use. */
class IdleConn implements UpstreamOwner {
  constructor(readonly state: UpstreamState, readonly sock: Conn, readonly peer: string, readonly requests: number,
    /** when keepalive_timeout closes it (ms) */
    readonly expires: number) {}
  upData(): void {
    this.state.drop(this);
  }
  upEnd(): void {
    this.state.drop(this);
  }
  upError(): void {
    this.state.drop(this);
  }
}

/** One upstream's state in this worker: its peers and its cache of idle connections. */
export class UpstreamState {
  readonly primary: Peer[];
  readonly backup: Peer[];
  /** oldest first: connections are taken from the end, so the first one expires first */
  private readonly idle: IdleConn[] = [];
  /**
   * One timer for the whole cache, due when its oldest connection expires: a request that takes
   * and gives back a connection sets and clears no timer of its own.
   */
  private timer: NodeJS.Timeout | null = null;
  private timerDue = 0;
  private readonly expire = (): void => {
    this.timer = null;
    const now = Date.now();
    while (this.idle.length > 0 && this.idle[0].expires <= now) this.drop(this.idle[0]);
    this.schedule();
  };

  constructor(readonly conf: UpstreamConf) {
    const mk = (srv: UpstreamServer): Peer => ({ srv, currentWeight: 0, effectiveWeight: srv.weight, fails: 0, accessed: 0, checked: 0 });
    this.primary = conf.servers.filter((s) => !s.backup).map(mk);
    this.backup = conf.servers.filter((s) => s.backup).map(mk);
  }

  /** The timer follows the oldest connection: none when the cache is empty. */
  private schedule(): void {
    if (this.idle.length === 0) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    const due = this.idle[0].expires;
    // early is harmless (it re-arms), late is not: a timer due later than the oldest is replaced
    if (this.timer !== null && this.timerDue <= due) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(this.expire, Math.max(1, due - Date.now()));
    this.timer.unref();
  }

  /** A cached connection to `peer` (most recently used first), or null. */
  takeIdle(peer: string): { sock: Conn; requests: number } | null {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i];
      if (c.peer !== peer) continue;
      this.idle.splice(i, 1);
      setOwner(c.sock, null);
      if (this.idle.length === 0) this.schedule();
      return { sock: c.sock, requests: c.requests };
    }
    return null;
  }

  /** Keep a connection whose response ended cleanly for the next request to this peer. */
  keepIdle(sock: Conn, peer: string, requests: number): void {
    const { conf } = this;
    if (conf.keepalive <= 0 || requests >= conf.keepaliveRequests || sock.destroyed) {
      sock.destroy();
      return;
    }
    if (this.idle.length >= conf.keepalive) this.drop(this.idle[0]);
    const c = new IdleConn(this, sock, peer, requests, Date.now() + conf.keepaliveTimeout);
    // an idle upstream connection that speaks or closes is of no further use
    setOwner(sock, c);
    this.idle.push(c);
    if (this.timer === null) this.schedule();
  }

  drop(c: IdleConn): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    setOwner(c.sock, null);
    c.sock.destroy();
    if (this.idle.length === 0) this.schedule();
  }

  /** Close every idle connection (the worker is stopping). */
  closeIdle(): void {
    while (this.idle.length) this.drop(this.idle[0]);
  }
}

const states = new WeakMap<UpstreamConf, UpstreamState>();

export function upstreamState(conf: UpstreamConf): UpstreamState {
  let s = states.get(conf);
  if (!s) states.set(conf, (s = new UpstreamState(conf)));
  return s;
}

/**
 * One request's walk over an upstream's peers: nginx's ngx_http_upstream_rr_peer_data_t. The
 * request may try as many peers as are not down (primary and backup); a single-server upstream
 * is tried once and never marked failed.
 */
export class PeerPicker {
  private readonly tried = new Set<Peer>();
  private peers: Peer[];
  private onBackup = false;
  tries: number;
  current: Peer | null = null;
  readonly single: boolean;

  constructor(readonly state: UpstreamState) {
    this.peers = state.primary;
    this.single = state.primary.length === 1 && state.backup.length === 0;
    this.tries = state.primary.filter((p) => !p.srv.down).length + state.backup.filter((p) => !p.srv.down).length;
  }

  /** The next peer, or null when none is live ("no live upstreams"). */
  pick(now: number): Peer | null {
    if (this.single) {
      const p = this.peers[0];
      if (p.srv.down) return null;
      this.current = p;
      return p;
    }
    for (;;) {
      let best: Peer | null = null;
      let total = 0;
      for (const p of this.peers) {
        if (this.tried.has(p) || p.srv.down) continue;
        if (p.srv.maxFails && p.fails >= p.srv.maxFails && now - p.checked <= p.srv.failTimeout) continue;
        p.currentWeight += p.effectiveWeight;
        total += p.effectiveWeight;
        if (p.effectiveWeight < p.srv.weight) p.effectiveWeight++;
        if (best === null || p.currentWeight > best.currentWeight) best = p;
      }
      if (best) {
        this.tried.add(best);
        best.currentWeight -= total;
        if (now - best.checked > best.srv.failTimeout) best.checked = now;
        this.current = best;
        return best;
      }
      if (this.onBackup || this.state.backup.length === 0) return null;
      // every primary peer failed or was tried: the backup servers take over
      this.onBackup = true;
      this.peers = this.state.backup;
      this.tried.clear();
    }
  }

  /**
   * The current peer is done with: `failed` counts against it (max_fails within fail_timeout);
   * returns true when that failure disabled it for fail_timeout.
   */
  free(failed: boolean, now: number): boolean {
    const p = this.current;
    this.current = null;
    if (!p) return false;
    if (this.single) {
      this.tries = 0;
      return false;
    }
    let disabled = false;
    if (failed) {
      p.fails++;
      p.accessed = now;
      p.checked = now;
      if (p.srv.maxFails) {
        p.effectiveWeight -= Math.floor(p.srv.weight / p.srv.maxFails);
        if (p.fails >= p.srv.maxFails) disabled = true;
      }
      if (p.effectiveWeight < 0) p.effectiveWeight = 0;
    } else if (p.accessed < p.checked) {
      p.fails = 0;
    }
    if (this.tries > 0) this.tries--;
    return disabled;
  }
}
