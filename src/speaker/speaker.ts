// Speaker: the daemon's core object. One TCP listener, one Peer per configured neighbor, reload that
// keeps unchanged peers up, and a clean stop. Sockets and timers live here and in Peer/Link only.

import { createServer, type Server, type Socket } from 'node:net';
import { CeaseSubcode } from '../bgp/messages/iana.js';
import { shutdownNotification } from '../bgp/messages/notification.js';
import { Router } from '../bgp/rib/router.js';
import type { OriginateRoute, PeerConfig, TernConfig } from '../config/types.js';
import { peerKey, samePeerSettings } from '../config/types.js';
import { FibSync } from '../fib-sync/fib-sync.js';
import type { NextHopReachability } from '../fib-sync/next-hop-resolver.js';
import type { FibPolicy } from '../fib-sync/policy.js';
import {
  type FibRoute,
  type KernelRoute,
  KernelSync,
  type LearnedDiff,
  type LearnedPrefix,
} from '../kernel/index.js';
import type { Logger } from '../log.js';
import { reflectorConfig } from '../reflector/rules.js';
import { Peer } from './peer.js';

/** Node reports IPv4 peers on a dual-stack socket as ::ffff:a.b.c.d. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** What a reload did to the peers: started, stopped, reset with new settings, left alone. */
export interface ReloadCounts {
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly unchanged: number;
}

export class Speaker {
  config: TernConfig;
  readonly peers = new Map<string, Peer>();
  private server: Server | undefined;
  readonly startedAt = Date.now();
  private stopping = false;

  /** RFC 4724 restarting speaker: set by `tern run --graceful` for the peers of the first start. */
  private restarting: boolean;

  constructor(
    config: TernConfig,
    readonly log: Logger,
    opts: {
      readonly restarting?: boolean /** Network namespace of the kernel tables (tests). */;
      readonly netns?: string;
    } = {},
  ) {
    this.config = config;
    this.kernel = usesKernel(config)
      ? new KernelSync({
          kernel: config.kernel,
          pools: config.pools,
          staticBlocks: config.originate.map((r) => r.prefix),
          log: log.child({ component: 'kernel' }),
          ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
        })
      : undefined;
    this.resolver =
      config.nextHopResolution === 'kernel' && this.kernel
        ? this.kernel.nextHopResolver(() => this.router.reevaluate())
        : undefined;
    this.router = Speaker.makeRouter(config, log, this.resolver);
    this.restarting = opts.restarting === true;
    this.fib = this.kernel?.writer
      ? new FibSync(this.kernel.writer, this.fibPolicy(config), blackholes(config), {
          ready: () => !this.router.deferring,
        })
      : undefined;
    this.wireRouter();
  }

  router: Router;
  /** The decision counts of Routers a change of identity replaced, so the totals never go back. */
  private retiredDecisions = { runs: 0, bestChanges: 0 };
  /** Kernel sync (src/kernel): the kernel table followed, learned routes, the FIB writer. */
  readonly kernel: KernelSync | undefined;
  /** BGP -> kernel (kernel.write): a subscriber of the Loc-RIB. */
  readonly fib: FibSync | undefined;
  /** Next-hop reachability from the kernel table (nextHopResolution: kernel). */
  private readonly resolver: NextHopReachability | undefined;
  /** Prefixes learned from the kernel (Calico's blocks and borrowed addresses). */
  private readonly learned = new Map<string, LearnedPrefix>();
  private unsubscribe: (() => void) | undefined;

  /** The FIB writer follows the (new) Router; it hears the whole Loc-RIB at once. */
  private wireRouter(): void {
    this.unsubscribe?.();
    this.router.multipathEnabled = this.config.multipath;
    const fib = this.fib;
    if (!fib) return;
    this.unsubscribe = this.router.subscribe((changes) => fib.onSelected(changes));
    this.router.republish();
    fib.schedule();
  }

  private fibPolicy(config: TernConfig): FibPolicy {
    return {
      pools: config.pools,
      onLocalSubnet: (address) => {
        const r = this.kernel?.follower.table.lookup(address);
        return (
          r !== undefined &&
          r.type === 'unicast' &&
          r.nextHops.length > 0 &&
          r.nextHops.every((h) => h.gateway === undefined)
        );
      },
    };
  }

  /**
   * A change of what the kernel taught us, applied to the Loc-RIB prefix by prefix (a pod's route costs
   * that prefix, not the set). Prefixes the config originates itself are left to the config.
   */
  private applyLearned(diff: LearnedDiff): void {
    const own = new Set(this.config.originate.map((r) => r.prefix));
    const readded = new Set(diff.added.map((p) => p.prefix));
    const withdraw: LearnedPrefix[] = [];
    for (const p of diff.removed) {
      if (this.learned.get(p.prefix)?.kind === p.kind) this.learned.delete(p.prefix);
      // a prefix that changes kind (a host route becomes a block) stays announced as it was
      if (!own.has(p.prefix) && !readded.has(p.prefix) && !this.learned.has(p.prefix)) withdraw.push(p);
    }
    const add: OriginateRoute[] = [];
    for (const p of diff.added) {
      this.learned.set(p.prefix, p);
      if (!own.has(p.prefix)) add.push({ prefix: p.prefix, family: p.family, communities: [] });
    }
    if (add.length > 0 || withdraw.length > 0) this.router.updateOriginated(add, withdraw);
  }

  /** What the Loc-RIB originates: the config's routes, then what the kernel taught us. */
  private originated(): OriginateRoute[] {
    const out = [...this.config.originate];
    const own = new Set(out.map((r) => r.prefix));
    for (const l of this.learned.values()) {
      if (!own.has(l.prefix)) out.push({ prefix: l.prefix, family: l.family, communities: [] });
    }
    return out;
  }

  private static makeRouter(config: TernConfig, log: Logger, resolver?: NextHopReachability): Router {
    const reflector = config.reflector
      ? reflectorConfig(config.routerId, config.reflector.clusterId)
      : undefined;
    const router = new Router(
      config.routerId,
      config.asn,
      reflector,
      log,
      ownAddresses(config),
      resolver ? (nh) => resolver.resolvable(nh) : undefined,
    );
    router.drainGapMs = DRAIN_GAP_MS;
    router.setExportFilter(config.exportFilter);
    router.setOriginated(config.originate);
    return router;
  }

  /** The port actually listened on (useful with port 0 in tests). */
  /** Decision runs and best-route changes since start, over every Router this speaker has had. */
  decisionStats(): { readonly runs: number; readonly bestChanges: number } {
    const now = this.router.decisionStats();
    return {
      runs: this.retiredDecisions.runs + now.runs,
      bestChanges: this.retiredDecisions.bestChanges + now.bestChanges,
    };
  }

  get listenPort(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  async start(): Promise<void> {
    // the deferral first: `show status` (and calico-node's readiness check) may ask at once
    if (this.restarting) {
      const wait = Math.max(120, ...this.config.peers.map((p) => p.gracefulRestart.restartTime));
      this.router.deferUntilEndOfRib(this.config.peers.length, wait);
    }
    this.resolver?.start();
    if (this.kernel) {
      this.kernel.onOriginate((diff) => this.applyLearned(diff));
      // the first read of the kernel table, before sessions come up (bounded: `ip` may hang or fail,
      // and the follower keeps trying in the background)
      const first = this.kernel.start();
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref());
      if ((await Promise.race([first, timeout])) === 'timeout')
        this.log.warn('the kernel routing table could not be read within 5 s; going on without it');
      // the previous run's routes stay until the new table is complete (initial convergence)
      const fib = this.fib;
      if (fib) {
        const k = this.config.kernel;
        const adopted: FibRoute[] = [];
        for (const r of this.kernel.follower.table.routes()) {
          if (r.protocol !== k.protocol || r.table !== k.table) continue;
          const f = fibRouteOf(r);
          if (f) adopted.push(f);
        }
        fib.adopt(adopted);
        const wait = Math.max(120, ...this.config.peers.map((p) => p.gracefulRestart.restartTime));
        this.router.awaitConvergence(this.config.peers.length, wait, () => fib.converged());
        if (adopted.length > 0)
          this.log.info({ routes: adopted.length, maxWait: wait }, 'kernel routes of a previous run adopted');
      }
    }
    await this.listen(this.config.listen);
    for (const pc of this.config.peers) this.addPeer(pc);
    this.restarting = false;
    this.log.info(
      {
        routerId: this.config.routerId,
        asn: this.config.asn,
        peers: this.config.peers.length,
        listen: this.config.listen,
      },
      'tern started',
    );
  }

  private addPeer(pc: PeerConfig): void {
    const peer = new Peer(pc, {
      routerId: this.config.routerId,
      log: this.log,
      router: this.router,
      nextHop: () => this.config.nextHop,
      restarting: this.restarting,
    });
    this.peers.set(peerKey(pc), peer);
    peer.start();
  }

  private async listen(want: TernConfig['listen']): Promise<void> {
    if (this.server) {
      const old = this.server;
      this.server = undefined;
      await new Promise<void>((resolve) => old.close(() => resolve()));
    }
    if (!want) return;
    const server = createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: want.address, port: want.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err: err.message }, 'listener error'));
    this.server = server;
    this.log.info({ address: want.address, port: this.listenPort }, 'listening');
  }

  /** Connections refused because they came from no configured peer (for status and metrics). */
  refusedConnections = 0;
  private refusedLog = { windowStart: 0, logged: 0, suppressed: 0 };

  /**
   * One warn line per refused connection, at most REFUSED_LOG_BURST per REFUSED_LOG_WINDOW_MS; the
   * lines suppressed in a window are counted in the next line.
   */
  private logRefused(remote: string, remotePort: number | undefined): void {
    const now = Date.now();
    const r = this.refusedLog;
    if (now - r.windowStart >= REFUSED_LOG_WINDOW_MS) {
      r.windowStart = now;
      r.logged = 0;
    }
    if (r.logged >= REFUSED_LOG_BURST) {
      r.suppressed++;
      return;
    }
    r.logged++;
    this.log.warn(
      {
        remote,
        remotePort,
        refusedTotal: this.refusedConnections,
        ...(r.suppressed > 0 ? { notLogged: r.suppressed } : {}),
      },
      'connection from an address that is no configured peer: refused',
    );
    r.suppressed = 0;
  }

  private onConnection(socket: Socket): void {
    // an error on this connection (a reset, say) ends this connection and nothing else
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'incoming connection error'));
    const remote = normalizeAddress(socket.remoteAddress);
    const local = normalizeAddress(socket.localAddress);
    // several peers may share an address (sessions from different local addresses): the one whose
    // localAddress is the address the connection came in on wins, then one without localAddress
    const candidates = [...this.peers.values()].filter((p) => p.config.address === remote);
    const peer =
      candidates.find((p) => p.config.localAddress === local) ??
      candidates.find((p) => p.config.localAddress === undefined);
    if (!peer || this.stopping) {
      // not a configured neighbor: refuse without touching any session
      this.refusedConnections++;
      this.logRefused(remote, socket.remotePort);
      socket.destroy();
      return;
    }
    peer.accept(socket);
  }

  /**
   * Applies a new config: removed peers get Cease 6/3 (peer de-configured), changed peers are reset
   * (Cease 6/6, other configuration change, then started anew), added peers start, unchanged peers
   * stay up. A new router id, AS or reflector setting resets every peer; a new listen address re-listens.
   */
  async reload(next: TernConfig): Promise<ReloadCounts> {
    const prev = this.config;
    this.config = next;
    const globalChange =
      prev.routerId !== next.routerId ||
      prev.asn !== next.asn ||
      JSON.stringify(prev.reflector) !== JSON.stringify(next.reflector);
    if (globalChange) {
      // a new identity or role: every session restarts against a fresh Loc-RIB
      for (const peer of this.peers.values()) {
        peer.stop(shutdownNotification(CeaseSubcode.OTHER_CONFIGURATION_CHANGE, 'configuration changed'));
      }
      this.peers.clear();
      const retired = this.router.decisionStats();
      this.retiredDecisions = {
        runs: this.retiredDecisions.runs + retired.runs,
        bestChanges: this.retiredDecisions.bestChanges + retired.bestChanges,
      };
      this.router = Speaker.makeRouter(next, this.log, this.resolver);
      this.router.setOriginated(this.originated());
      this.wireRouter();
      // every session restarts: what the kernel holds of the old table is replaced as routes come
      this.fib?.converged();
    }
    const wanted = new Map(next.peers.map((pc) => [peerKey(pc), pc]));
    let removed = 0;
    let changed = 0;
    let added = 0;
    for (const [key, peer] of this.peers) {
      const pc = wanted.get(key);
      if (!pc) {
        peer.stop(
          shutdownNotification(CeaseSubcode.PEER_DECONFIGURED, 'peer removed from the configuration'),
        );
        this.peers.delete(key);
        removed++;
      } else if (globalChange || !samePeerSettings(peer.config, pc)) {
        peer.stop(shutdownNotification(CeaseSubcode.OTHER_CONFIGURATION_CHANGE, 'configuration changed'));
        this.peers.delete(key);
        this.addPeer(pc);
        changed++;
      }
    }
    for (const [key, pc] of wanted) {
      if (!this.peers.has(key)) {
        this.addPeer(pc);
        added++;
      }
    }
    if (JSON.stringify(prev.listen) !== JSON.stringify(next.listen)) await this.listen(next.listen);
    this.reloadKernel(prev, next);
    if (!globalChange && JSON.stringify(prev.originate) !== JSON.stringify(next.originate)) {
      this.router.setOriginated(this.originated());
    }
    // a new export filter: the groups' tables follow it (withdrawals, new routes), no session resets
    if (!globalChange) this.router.setExportFilter(next.exportFilter);
    if (!sameNextHop(prev, next)) for (const peer of this.peers.values()) peer.refreshExports();
    const counts = { added, removed, changed, unchanged: this.peers.size - added - changed };
    this.log.info(counts, 'configuration reloaded');
    return counts;
  }

  /** Kernel sync on reload: new pools, learning rules and blackholes apply; a new table, protocol or
   * `write` needs a restart (the routes written belong to the running one). */
  private reloadKernel(prev: TernConfig, next: TernConfig): void {
    const k = this.kernel;
    if (!k) {
      if (usesKernel(next)) this.log.warn('kernel sync was off at start: turning it on needs a restart');
      return;
    }
    const [a, b] = [prev.kernel, next.kernel];
    if (a.table !== b.table || a.protocol !== b.protocol || a.write !== b.write) {
      this.log.warn('kernel.table, kernel.protocol and kernel.write changes need a restart');
    }
    k.reconfigure({
      kernel: { ...a, learn: b.learn, scanTime: b.scanTime },
      pools: next.pools,
      staticBlocks: next.originate.map((r) => r.prefix),
    });
    if (this.fib) {
      this.fib.reconfigure(this.fibPolicy(next), blackholes(next));
      this.router.multipathEnabled = next.multipath;
      this.router.republish();
    }
  }

  /**
   * Stops for a graceful restart (RFC 4724): a session that negotiated graceful restart is closed
   * without a NOTIFICATION, so the peer keeps our routes until tern is back (`tern run --graceful`). A
   * peer that did not will drop them when the connection closes anyway: it is told why, with Cease /
   * Administrative Reset (6/4) and the RFC 9003 message "tern is restarting", as BIRD's `graceful
   * restart` shuts such sessions down normally.
   */
  async stopGraceful(): Promise<void> {
    this.stopping = true;
    this.resolver?.stop();
    // the routes written stay in the kernel for the restarted tern (BIRD's `persist`)
    this.fib?.stop();
    await this.kernel?.stop();
    let told = 0;
    for (const peer of this.peers.values()) {
      if (peer.state === 'Established' && !keepsRoutesThroughRestart(peer)) {
        peer.stop(shutdownNotification(CeaseSubcode.ADMINISTRATIVE_RESET, 'tern is restarting'));
        told++;
      } else {
        peer.abort();
      }
    }
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    // give the NOTIFICATIONs a moment to leave before the process exits
    if (told > 0) await new Promise((r) => setTimeout(r, 200));
    // ceaseSent: the established peers without graceful restart, told with Cease 6/4
    this.log.info({ ceaseSent: told }, 'tern stopped for a graceful restart');
  }

  /**
   * Cease 6/2 (administrative shutdown, RFC 9003 message) to every peer, then close everything. The
   * routes written to the kernel stay (BIRD's `persist`) unless `withdrawRoutes`.
   */
  async stop(
    message = 'tern is shutting down',
    opts: { readonly withdrawRoutes?: boolean } = {},
  ): Promise<void> {
    this.stopping = true;
    this.resolver?.stop();
    if (opts.withdrawRoutes && this.fib && this.kernel?.writer) {
      this.fib.withdrawAll();
      await Promise.race([this.kernel.writer.settled(), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    this.fib?.stop();
    await this.kernel?.stop();
    for (const peer of this.peers.values()) {
      peer.stop(shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message));
    }
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    // give the NOTIFICATIONs a moment to leave before the process exits
    await new Promise((r) => setTimeout(r, 200));
    this.log.info('tern stopped');
  }
}

/** Whether a peer keeps tern's routes as stale when the session closes without a NOTIFICATION. */
export function keepsRoutesThroughRestart(peer: Peer): boolean {
  return peer.config.gracefulRestart.enabled && peer.negotiated?.peerGracefulRestart !== undefined;
}

/**
 * Router.drainGapMs: under a stream of changes, one chunk per update group every 25 ms at most (after a
 * quiet spell, a burst of Router.drainBurst drains goes out at once). bench:rr, 1,500 sessions coming up
 * and announcing (cold): 10-11 s with a drain on every turn, 3.2 s with 25 ms (docs/performance.md).
 */
const DRAIN_GAP_MS = 25;
const REFUSED_LOG_WINDOW_MS = 10_000;
const REFUSED_LOG_BURST = 10;

/** Addresses tern speaks from (listen, sessions, next hop self): a next hop equal to one is a loop. */
function ownAddresses(config: TernConfig): Set<string> {
  const out = new Set<string>();
  const l = config.listen?.address;
  if (l && l !== '0.0.0.0' && l !== '::') out.add(l);
  for (const p of config.peers) if (p.localAddress) out.add(p.localAddress);
  if (config.nextHop.ipv4) out.add(config.nextHop.ipv4);
  if (config.nextHop.ipv6) out.add(config.nextHop.ipv6);
  return out;
}

/** Kernel sync runs when something needs the kernel table: next-hop resolution, learning, writing. */
function usesKernel(c: TernConfig): boolean {
  return (
    c.nextHopResolution === 'kernel' || c.kernel.write || (c.kernel.learn !== null && c.pools.length > 0)
  );
}

/** A kernel route of ours as the writer's input (adopted at start). */
function fibRouteOf(r: KernelRoute): FibRoute | undefined {
  if (r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit')
    return { prefix: r.prefix, family: r.family, type: r.type };
  if (r.type !== 'unicast') return undefined;
  const hops = r.nextHops.flatMap((h) =>
    h.gateway === undefined
      ? []
      : [
          {
            address: h.gateway,
            ...(h.dev !== undefined ? { device: h.dev } : {}),
            ...(h.onlink ? { onlink: true } : {}),
            ...(h.weight !== 1 ? { weight: h.weight } : {}),
          },
        ],
  );
  return hops.length === 0 ? undefined : { prefix: r.prefix, family: r.family, nextHops: hops };
}

/** Originated prefixes to be written as blackhole routes. */
function blackholes(c: TernConfig): ReadonlySet<string> {
  return new Set(c.originate.filter((r) => r.blackhole === true).map((r) => r.prefix));
}

function sameNextHop(a: TernConfig, b: TernConfig): boolean {
  return a.nextHop.ipv4 === b.nextHop.ipv4 && a.nextHop.ipv6 === b.nextHop.ipv6;
}
