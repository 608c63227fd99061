// Router: the Loc-RIB and what flows in and out of it. Routes received from peers (after the import
// checks) and our own originated prefixes go into the Loc-RIB; every change of a best route is exported
// to each established peer through its export rules (RFC 4271 9.1.3, RFC 4456) into that peer's
// Adj-RIB-Out, which the peer drains to its socket.

import { familyKey, IPV4_UNICAST, IPV6_UNICAST, Origin } from '../bgp/messages/iana.js';
import type { PrefixList } from '../bgp/messages/nlri.js';
import { parseIpv4Prefix, parseIpv6Prefix } from '../bgp/messages/prefix.js';
import { treatAsWithdraw, type UpdateMessage } from '../bgp/messages/update.js';
import type { RouteAttributes } from '../bgp/rib/adj-rib-in.js';
import type { AdjRibOut } from '../bgp/rib/adj-rib-out.js';
import { type DecisionOptions, explainRanking, multipathSet } from '../bgp/rib/decision.js';
import { type ExportContext, exportRoute } from '../bgp/rib/export.js';
import { type Change, LocRib } from '../bgp/rib/loc-rib.js';
import { usableNextHop } from '../bgp/rib/next-hop.js';
import { LOCAL_PEER_ID, type PeerInfo, type Route } from '../bgp/rib/types.js';
import type { OriginateRoute } from '../config/types.js';
import type { Logger } from '../log.js';
import { isReflectionLoop, type ReflectorConfig } from '../reflector/rules.js';

/** What the Router needs from an established peer. */
export interface RibPeer {
  readonly info: PeerInfo;
  readonly exportContext: ExportContext;
  /** Negotiated families (familyKey). */
  readonly families: readonly number[];
  /** Families for which the peer receives path identifiers (ADD-PATH send). */
  readonly addPathSend: ReadonlySet<number>;
  readonly adjRibOut: AdjRibOut;
  /**
   * Export results by attribute object, source peer (its PeerInfo object: one per session) and family;
   * everything exportRoute depends on besides the peer's own context. Cleared per session.
   */
  readonly exportCache: ExportCache;
  /** ADD-PATH send: at most this many paths per prefix, best first (undefined: all). */
  readonly addPathLimit?: number;
  /** ADD-PATH send: the path ids the peer holds per "family|prefix" (cleared per session). */
  readonly sentPaths: Map<string, Set<number>>;
  /** Asks the peer to drain its Adj-RIB-Out to the socket soon. */
  scheduleFlush(): void;
  /** The whole table is queued: send it, then End-of-RIB per family. */
  initialTableSent(): void;
}

export type ExportCache = WeakMap<RouteAttributes, Map<PeerInfo, Map<number, RouteAttributes | null>>>;

interface Touched {
  readonly family: number;
  readonly prefix: number | string;
}

export interface ReceiveResult {
  readonly announced: number;
  readonly withdrawn: number;
  /** Announced routes dropped by import checks (AS path or reflection loop). */
  readonly rejected: number;
}

function originKey(r: OriginateRoute): string {
  return JSON.stringify([r.communities, r.localPref, r.med]);
}

export class Router {
  readonly locRib: LocRib;
  private readonly decision: DecisionOptions;
  private readonly peers = new Set<RibPeer>();
  private readonly local: PeerInfo;
  /** ADD-PATH send: a stable path identifier per source path (peer and its own path id). */
  private readonly pathIds = new Map<string, number>();
  private nextPathId = 1;
  /** Our originated routes by family and prefix key, with what they were built from. */
  private originated = new Map<string, { family: number; prefix: number | string; key: string }>();

  constructor(
    readonly routerId: string,
    readonly asn: number,
    readonly reflector: ReflectorConfig | undefined,
    private readonly log: Logger,
    /** tern's own addresses: a route whose next hop is one of them is unusable (it points at us). */
    localAddresses: ReadonlySet<string> = new Set(),
    /** Whether the kernel can reach a next hop (see NextHopResolver); absent: not checked. */
    reachable?: (nextHop: string) => boolean,
  ) {
    const usable = usableNextHop(localAddresses);
    this.decision = {
      alwaysCompareMed: false,
      defaultLocalPref: 100,
      nextHopResolvable: reachable
        ? (r) => usable(r) && (r.peer.id === LOCAL_PEER_ID || reachable(r.attributes.nextHop))
        : usable,
    };
    this.locRib = new LocRib(this.decision);
    this.local = {
      id: LOCAL_PEER_ID,
      address: '0.0.0.0',
      asn,
      localAsn: asn,
      ibgp: false,
      routerId,
      rrClient: false,
    };
  }

  /**
   * RFC 4724 4.1, restarting speaker: after `tern run --graceful`, nothing is sent until every expected
   * peer has sent End-of-RIB for each of its families (or the deferral time runs out), so that our
   * peers, which keep our old routes meanwhile, get the table the full decision process chose.
   */
  private deferral:
    | { readonly expected: number; readonly done: Map<RibPeer, Set<number>>; readonly timer: NodeJS.Timeout }
    | undefined;

  /** Starts deferring: `expected` peers, for at most `seconds`. */
  deferUntilEndOfRib(expected: number, seconds: number): void {
    const timer = setTimeout(() => this.endDeferral(`deferral time of ${seconds} s ran out`), seconds * 1000);
    timer.unref();
    this.deferral = { expected, done: new Map(), timer };
    this.log.info(
      { expected, seconds },
      "graceful restart: waiting for the peers' End-of-RIB before sending routes",
    );
  }

  get deferring(): boolean {
    return this.deferral !== undefined;
  }

  /** A peer's End-of-RIB for a family (counts towards ending the deferral). */
  endOfRibFrom(p: RibPeer, family: number): void {
    const d = this.deferral;
    if (!d) return;
    let fams = d.done.get(p);
    if (!fams) {
      fams = new Set();
      d.done.set(p, fams);
    }
    fams.add(family);
    let complete = 0;
    for (const [peer, got] of d.done)
      if (this.peers.has(peer) && peer.families.every((f) => got.has(f))) complete++;
    if (complete >= d.expected) this.endDeferral('End-of-RIB from every peer');
  }

  private endDeferral(why: string): void {
    const d = this.deferral;
    if (!d) return;
    clearTimeout(d.timer);
    this.deferral = undefined;
    this.log.info({ why, peers: this.peers.size }, 'graceful restart: sending routes');
    for (const p of this.peers) {
      this.dump(p);
      p.initialTableSent();
    }
  }

  /**
   * A session came up: the peer gets every best route of its families. Returns false while deferring
   * (the table follows when the deferral ends); true: the caller sends it and End-of-RIB now.
   */
  attach(p: RibPeer): boolean {
    this.peers.add(p);
    if (this.deferral) return false;
    this.dump(p);
    return true;
  }

  private dump(p: RibPeer): void {
    for (const family of p.families) {
      if (p.addPathSend.has(family))
        this.locRib.forEachPrefix(family, (prefix) => this.exportPaths(p, family, prefix));
      else this.locRib.forEachBest(family, (prefix, best) => this.exportTo(p, family, prefix, best));
    }
  }

  /**
   * A session went down: its routes leave the Loc-RIB and the other peers hear what changed, except in
   * `staleFamilies` (a graceful restart, RFC 4724 4.2), where they stay, marked stale, until
   * `sweepStale`.
   */
  detach(p: RibPeer, staleFamilies: readonly number[] = []): void {
    this.peers.delete(p);
    const id = p.info.id;
    if (staleFamilies.length === 0) {
      const touched = this.prefixesOf(id);
      this.propagate(this.locRib.withdrawPeer(id), touched);
      return;
    }
    const kept = this.locRib.markStale(id, staleFamilies);
    const others = this.locRib.families().filter((f) => !staleFamilies.includes(f));
    const touched = this.prefixesOf(id, others);
    this.propagate(others.length > 0 ? this.locRib.withdrawPeer(id, others) : [], touched);
    this.log.info({ peer: id, staleRoutes: kept }, 'graceful restart: routes kept as stale');
  }

  /** Drops the routes of `peerId` still stale (End-of-RIB came, or the restart time ran out). */
  sweepStale(peerId: string, families?: readonly number[]): number {
    const touched = this.prefixesOf(peerId, families, true);
    const changes = this.locRib.sweepStale(peerId, families);
    this.propagate(changes, touched);
    return changes.length;
  }

  private anyAddPathPeer(): boolean {
    for (const p of this.peers) if (p.addPathSend.size > 0) return true;
    return false;
  }

  /**
   * Prefixes where `peerId` has a candidate (stale ones only, if asked), for ADD-PATH peers, which hear
   * about every path and not only best changes. Empty when no peer receives several paths.
   */
  private prefixesOf(peerId: string, families?: readonly number[], staleOnly = false): Touched[] {
    if (!this.anyAddPathPeer()) return [];
    const out: Touched[] = [];
    for (const family of families ?? this.locRib.families()) {
      for (const e of this.locRib.entries(family)) {
        if (e.routes.some((r) => r.peer.id === peerId && (!staleOnly || r.stale)))
          out.push({ family, prefix: e.prefix });
      }
    }
    return out;
  }

  /** One UPDATE from an established peer. */
  receive(p: RibPeer, update: UpdateMessage): ReceiveResult {
    const changes: Change[] = [];
    const touched: Touched[] = [];
    // per-prefix bookkeeping only when some peer receives every path (ADD-PATH): not on the hot path
    const track = this.anyAddPathPeer();
    const id = p.info.id;
    let withdrawn = 0;
    const withdraw = (family: number, list: PrefixList): void => {
      const ids = list.pathIds;
      for (let i = 0; i < list.prefixes.length; i++) {
        withdrawn++;
        const c = this.locRib.withdraw(family, list.prefixes[i]!, id, ids?.[i]);
        if (c) changes.push(c);
        if (track) touched.push({ family, prefix: list.prefixes[i]! });
      }
    };
    const a = update.attributes;
    withdraw(IPV4_UNICAST, update.withdrawn);
    if (a.mpUnreach?.kind === 'unicast')
      withdraw(familyKey(a.mpUnreach.afi, a.mpUnreach.safi), a.mpUnreach.withdrawn);
    const reach = a.mpReach?.kind === 'unicast' ? a.mpReach : undefined;

    let announced = 0;
    let rejected = 0;
    const announce = (family: number, list: PrefixList, attrs: RouteAttributes): void => {
      const reason = this.importRejection(p.info, attrs);
      if (reason !== undefined) {
        // RFC 4271 9.1.2 / RFC 4456 8: the route is unusable, and replaces (withdraws) an earlier one
        rejected += list.prefixes.length;
        this.log.debug({ peer: id, reason, routes: list.prefixes.length }, 'routes rejected on import');
        withdraw(family, list);
        return;
      }
      const ids = list.pathIds;
      for (let i = 0; i < list.prefixes.length; i++) {
        announced++;
        const route: Route = ids
          ? { family, prefix: list.prefixes[i]!, pathId: ids[i]!, peer: p.info, attributes: attrs }
          : { family, prefix: list.prefixes[i]!, peer: p.info, attributes: attrs };
        const c = this.locRib.update(route);
        if (c) changes.push(c);
        if (track) touched.push({ family, prefix: route.prefix });
      }
    };
    if (treatAsWithdraw(update)) {
      withdraw(IPV4_UNICAST, update.nlri);
      if (reach) withdraw(familyKey(reach.afi, reach.safi), reach.nlri);
    } else {
      const { mpReach: _r, mpUnreach: _u, nextHop, localPref, ...rest } = a;
      // RFC 4271 5.1.5 / RFC 7606 7.5: LOCAL_PREF from an external peer is ignored
      const common = p.info.ibgp && localPref !== undefined ? { ...rest, localPref } : rest;
      if (update.nlri.prefixes.length > 0 && nextHop !== undefined) {
        announce(IPV4_UNICAST, update.nlri, { ...common, nextHop });
      }
      if (reach && reach.nlri.prefixes.length > 0) {
        const attrs: RouteAttributes =
          reach.linkLocalNextHop === undefined
            ? { ...common, nextHop: reach.nextHop }
            : { ...common, nextHop: reach.nextHop, linkLocalNextHop: reach.linkLocalNextHop };
        announce(familyKey(reach.afi, reach.safi), reach.nlri, attrs);
      }
    }
    this.propagate(changes, touched);
    return { announced, withdrawn, rejected };
  }

  /** Why a received route must not be used, or undefined. */
  private importRejection(from: PeerInfo, attrs: RouteAttributes): string | undefined {
    if (!from.ibgp && attrs.asPath?.some((s) => s.asns.includes(from.localAsn))) return 'as-path-loop';
    if (this.reflector) {
      const loop = isReflectionLoop(attrs, this.reflector);
      if (loop) return loop;
    } else if (from.ibgp && attrs.originatorId === this.routerId) {
      return 'originator-id';
    }
    return undefined;
  }

  /** Next-hop reachability changed: selection runs again over the whole Loc-RIB. */
  reevaluate(): void {
    const changes = this.locRib.reevaluate();
    // peers that receive every path hear about every prefix whose best changed
    this.propagate(
      changes,
      changes.map((c) => ({ family: c.family, prefix: c.prefix })),
    );
  }

  /** ECMP: the routes equal to `best` down to the router-id step (BIRD's merge paths). */
  multipath(routes: readonly Route[], best: Route): Route[] {
    return multipathSet(routes, best, this.decision);
  }

  /** Makes the Loc-RIB hold exactly these originated routes (start and reload). */
  setOriginated(routes: readonly OriginateRoute[]): void {
    const changes: Change[] = [];
    const touched: Touched[] = [];
    const next = new Map<string, { family: number; prefix: number | string; key: string }>();
    for (const r of routes) {
      const v4 = r.family === 'ipv4-unicast';
      const family = v4 ? IPV4_UNICAST : IPV6_UNICAST;
      const prefix = v4 ? parseIpv4Prefix(r.prefix) : parseIpv6Prefix(r.prefix);
      if (prefix === undefined) continue; // validated by the config loader
      const id = `${family}|${prefix}`;
      const key = originKey(r);
      next.set(id, { family, prefix, key });
      if (this.originated.get(id)?.key === key) continue;
      const attributes: RouteAttributes = {
        origin: Origin.IGP,
        asPath: [],
        // the next hop of our own routes is set per session on export (next hop self)
        nextHop: v4 ? '0.0.0.0' : '::',
        ...(r.localPref !== undefined ? { localPref: r.localPref } : {}),
        ...(r.med !== undefined ? { med: r.med } : {}),
        ...(r.communities.length > 0 ? { communities: r.communities } : {}),
      };
      const c = this.locRib.update({ family, prefix, peer: this.local, attributes });
      if (c) changes.push(c);
      touched.push({ family, prefix });
    }
    for (const [id, old] of this.originated) {
      if (next.has(id)) continue;
      const c = this.locRib.withdraw(old.family, old.prefix, LOCAL_PEER_ID);
      if (c) changes.push(c);
      touched.push({ family: old.family, prefix: old.prefix });
    }
    this.originated = next;
    this.propagate(changes, touched);
  }

  /**
   * Tells every established peer what changed: best-route changes to ordinary peers, every path of every
   * touched prefix to peers that receive several paths (ADD-PATH, RFC 7911).
   */
  private propagate(changes: readonly Change[], touched: readonly Touched[] = []): void {
    if (changes.length === 0 && touched.length === 0) return;
    if (this.deferral) return; // the full table goes out when the deferral ends
    for (const p of this.peers) {
      let any = false;
      for (const c of changes) {
        if (!p.families.includes(c.family) || p.addPathSend.has(c.family)) continue;
        this.exportTo(p, c.family, c.prefix, c.after);
        any = true;
      }
      if (p.addPathSend.size > 0) {
        const seen = new Set<string>();
        for (const t of touched) {
          if (!p.addPathSend.has(t.family) || !p.families.includes(t.family)) continue;
          const k = `${t.family}|${t.prefix}`;
          if (seen.has(k)) continue;
          seen.add(k);
          this.exportPaths(p, t.family, t.prefix);
          any = true;
        }
      }
      if (any) p.scheduleFlush();
    }
  }

  /** ADD-PATH: the peer gets every path of the prefix it may receive, each under its own path id. */
  private exportPaths(p: RibPeer, family: number, prefix: number | string): void {
    const k = `${family}|${prefix}`;
    const before = p.sentPaths.get(k);
    const now = new Set<number>();
    const candidates = this.locRib.candidates(family, prefix);
    const limit = p.addPathLimit;
    // with a limit, the best paths in decision order (ineligible ones rank last and are skipped)
    const ordered =
      limit !== undefined && candidates.length > limit
        ? explainRanking(candidates, this.decision).map((x) => x.route)
        : candidates;
    for (const r of ordered) {
      if (limit !== undefined && now.size >= limit) break;
      if (this.decision.nextHopResolvable && !this.decision.nextHopResolvable(r)) continue;
      const attrs = this.exported(p, r);
      if (attrs === undefined) continue;
      const id = this.pathIdOf(r);
      now.add(id);
      p.adjRibOut.set(family, prefix, id, attrs);
    }
    for (const id of before ?? []) if (!now.has(id)) p.adjRibOut.set(family, prefix, id, undefined);
    if (now.size > 0) p.sentPaths.set(k, now);
    else p.sentPaths.delete(k);
  }

  private pathIdOf(r: Route): number {
    const k = `${r.peer.id}|${r.pathId ?? ''}`;
    let id = this.pathIds.get(k);
    if (id === undefined) {
      id = this.nextPathId++;
      this.pathIds.set(k, id);
    }
    return id;
  }

  private exportTo(p: RibPeer, family: number, prefix: number | string, route: Route | undefined): void {
    const pathId = p.addPathSend.has(family) ? 1 : undefined;
    p.adjRibOut.set(family, prefix, pathId, route ? this.exported(p, route) : undefined);
  }

  /** The attributes `route` is sent to `p` with (undefined: not sent), one object per distinct result. */
  private exported(p: RibPeer, route: Route): RouteAttributes | undefined {
    let bySource = p.exportCache.get(route.attributes);
    if (!bySource) {
      bySource = new Map();
      p.exportCache.set(route.attributes, bySource);
    }
    let byFamily = bySource.get(route.peer);
    if (!byFamily) {
      byFamily = new Map();
      bySource.set(route.peer, byFamily);
    }
    let result = byFamily.get(route.family);
    if (result === undefined) {
      const d = exportRoute(route, p.exportContext);
      result = d.send ? d.attributes : null;
      byFamily.set(route.family, result);
    }
    return result ?? undefined;
  }
}
