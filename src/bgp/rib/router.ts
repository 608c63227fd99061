// Router: the Loc-RIB and what flows in and out of it. Routes received from peers (after the import
// checks) and our own originated prefixes go into the Loc-RIB; every change of a best route is exported
// once per update group (the sessions that get the same UPDATEs, update-group.ts) through the export
// rules (RFC 4271 9.1.3, RFC 4456) into the group's Adj-RIB-Out. The group's changes are encoded once,
// in batches, a turn of the event loop at a time, and each member queues the same bytes.

import { performance } from 'node:perf_hooks';
import type { ExportRule, OriginateRoute } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { isReflectionLoop, type ReflectorConfig } from '../../reflector/rules.js';
import type { CodecContext } from '../messages/context.js';
import { familyKey, IPV4_UNICAST, IPV6_UNICAST, Origin } from '../messages/iana.js';
import type { PrefixList } from '../messages/nlri.js';
import { parseIpv4Prefix, parseIpv6Prefix } from '../messages/prefix.js';
import { treatAsWithdraw, type UpdateMessage } from '../messages/update.js';
import type { AdjRibIn, RouteAttributes } from './adj-rib-in.js';
import { type DecisionOptions, explainRanking, multipathSet } from './decision.js';
import { type ExportContext, exportRoute } from './export.js';
import { ExportFilter, withCommunities } from './export-filter.js';
import { type Change, LocRib } from './loc-rib.js';
import { usableNextHop } from './next-hop.js';
import { LOCAL_PEER_ID, type PeerInfo, type Route } from './types.js';
import { type Chunk, DRAIN_BATCH, UpdateGroup } from './update-group.js';

/** What the Router needs from an established peer. */
export interface RibPeer {
  readonly info: PeerInfo;
  /** What the peer announced: filled by `receive` with the Loc-RIB's attribute objects. */
  readonly adjRibIn: AdjRibIn;
  readonly exportContext: ExportContext;
  /** Negotiated families (familyKey). */
  readonly families: readonly number[];
  /** Families for which the peer receives path identifiers (ADD-PATH send). */
  readonly addPathSend: ReadonlySet<number>;
  /** How UPDATEs to the peer are encoded. */
  readonly sendContext: CodecContext;
  /** ADD-PATH send: at most this many paths per prefix, best first (undefined: all). */
  readonly addPathLimit?: number;
  /** A new chunk of the peer's group stream: the peer puts it in its output. */
  receiveChunk(chunk: Chunk): void;
  /** The group's table is there for the peer: send it, then End-of-RIB per family. */
  initialTableSent(): void;
}

/** Export results by attribute object, source peer (its PeerInfo object: one per session) and family. */
export type ExportCache = WeakMap<RouteAttributes, Map<PeerInfo, Map<number, RouteAttributes | null>>>;

/** One update group and what the Router keeps for it. */
export interface GroupState {
  readonly group: UpdateGroup;
  readonly members: Set<RibPeer>;
  /** The export context of every member, with no peer's own identity in it. */
  readonly context: ExportContext;
  readonly families: readonly number[];
  readonly addPathSend: ReadonlySet<number>;
  readonly addPathLimit: number | undefined;
  readonly exportCache: ExportCache;
  /** ADD-PATH send: the path ids the members hold per "family|prefix". */
  readonly sentPaths: Map<string, Set<number>>;
}

/** The peer id no session has: a group's export context is nobody's in particular. */
const GROUP_PEER_ID = '\0group';

/**
 * Everything that makes two sessions get the same UPDATEs: the export context without the peer's own
 * identity (exportKey), the families, ADD-PATH and the encoding.
 */
export function groupKey(p: RibPeer): string {
  const c = p.exportContext;
  const t = c.to;
  const r = c.reflector;
  const s = p.sendContext;
  return [
    t.ibgp ? 'i' : 'e',
    t.localAsn,
    t.rrClient ? 'c' : '',
    r === undefined ? '' : `${r.clusterId}/${r.routerId}`,
    c.nextHopSelf,
    c.localNextHop.ipv4 ?? '',
    c.localNextHop.ipv6 ?? '',
    p.families.join(','),
    [...p.addPathSend].sort().join(','),
    p.addPathLimit ?? '',
    s.as4 ? '4' : '2',
    [...s.addPath].sort().join(','),
    s.extendedMessage ? 'x' : '',
  ].join('|');
}

interface Touched {
  readonly family: number;
  readonly prefix: number | string;
}

/**
 * A prefix whose selected set may have changed: the routes used for forwarding now, best first, then
 * the other equal-cost paths when multipath is on (empty: none is left). What a Loc-RIB subscriber (the
 * FIB writer) hears; `stale` on a route tells it is kept for a restarting peer (RFC 4724).
 */
export interface SelectedChange {
  readonly family: number;
  readonly prefix: number | string;
  readonly selected: readonly Route[];
}

export type SelectedListener = (changes: readonly SelectedChange[]) => void;

export interface ReceiveResult {
  readonly announced: number;
  readonly withdrawn: number;
  /** Announced routes dropped by import checks (AS path or reflection loop). */
  readonly rejected: number;
}

function originKey(r: OriginateRoute): string {
  return JSON.stringify([r.communities, r.localPref, r.med]);
}

/** An originated route's family, prefix key and id in `originated`; undefined when it does not parse. */
function originPrefix(
  r: Pick<OriginateRoute, 'prefix' | 'family'>,
): { family: number; prefix: number | string; id: string } | undefined {
  const v4 = r.family === 'ipv4-unicast';
  const family = v4 ? IPV4_UNICAST : IPV6_UNICAST;
  const prefix = v4 ? parseIpv4Prefix(r.prefix) : parseIpv6Prefix(r.prefix);
  return prefix === undefined ? undefined : { family, prefix, id: `${family}|${prefix}` };
}

/** The attributes of a route we originate. */
function originAttributes(r: OriginateRoute): RouteAttributes {
  return {
    origin: Origin.IGP,
    asPath: [],
    // the next hop of our own routes is set per session on export (next hop self)
    nextHop: r.family === 'ipv4-unicast' ? '0.0.0.0' : '::',
    ...(r.localPref !== undefined ? { localPref: r.localPref } : {}),
    ...(r.med !== undefined ? { med: r.med } : {}),
    ...(r.communities.length > 0 ? { communities: r.communities } : {}),
  };
}

export class Router {
  readonly locRib: LocRib;
  /** Best-route changes the decision process made (each told to the subscribers and update groups). */
  private bestChanges = 0;
  private readonly decision: DecisionOptions;
  private readonly peers = new Set<RibPeer>();
  /** Update groups by groupKey; a group lives while it has members. */
  private readonly groups = new Map<string, GroupState>();
  private readonly groupOf = new Map<RibPeer, GroupState>();
  /** Groups with changes to encode, and whether a turn is booked for them. */
  private readonly dirty = new Set<GroupState>();
  private drainBooked = false;
  /**
   * Pacing of the drains (a token bucket): at most `drainBurst` drains at once, then one per
   * `drainGapMs` (0: a drain on every turn with changes). A few changes after a quiet spell go out on
   * the next turn all the same; under a stream of changes (sessions coming up one after the other, a
   * cold start) each group sends one larger chunk per gap instead of one per turn, and every member's
   * socket takes a write per chunk.
   */
  drainGapMs = 0;
  drainBurst = 4;
  private drainTokens = Number.POSITIVE_INFINITY;
  private tokensAt = 0;
  private readonly subscribers = new Set<SelectedListener>();
  /** ECMP for subscribers: equal-cost paths beside the best (BIRD's merge paths). */
  multipathEnabled = true;
  /** Which prefixes go to peers at all, and the communities added (config exportFilter). */
  private filter = new ExportFilter([]);
  /** Exported attributes with the filter's communities added: one object per (attributes, additions). */
  private withAdded = new WeakMap<RouteAttributes, Map<readonly number[], RouteAttributes>>();
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
    /** Runs the group drains on a later turn (tests pass their own). */
    private readonly later: (fn: () => void) => void = setImmediate,
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

  /**
   * Initial convergence: every expected peer has sent End-of-RIB for each of its families, or `seconds`
   * ran out. The FIB writer waits for it before it removes the routes of a previous run it does not want
   * (until then it adopts them). Calls `then` once.
   */
  awaitConvergence(expected: number, seconds: number, then: (why: string) => void): void {
    const done = (why: string): void => {
      if (this.convergence !== c) return;
      clearTimeout(c.timer);
      this.convergence = undefined;
      this.log.info({ why }, 'initial convergence');
      then(why);
    };
    const timer = setTimeout(() => done(`${seconds} s passed`), seconds * 1000);
    timer.unref();
    const c = { expected, got: new Map<RibPeer, Set<number>>(), timer, done };
    this.convergence = c;
    if (expected === 0) done('no peers');
  }

  private convergence:
    | {
        readonly expected: number;
        readonly got: Map<RibPeer, Set<number>>;
        readonly timer: NodeJS.Timeout;
        readonly done: (why: string) => void;
      }
    | undefined;

  /** A peer's End-of-RIB for a family (counts towards ending the deferral and initial convergence). */
  endOfRibFrom(p: RibPeer, family: number): void {
    const c = this.convergence;
    if (c && this.complete(c.got, p, family) >= c.expected) c.done('End-of-RIB from every peer');
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

  /** Records an End-of-RIB in `got`; returns how many attached peers have sent all theirs. */
  private complete(got: Map<RibPeer, Set<number>>, p: RibPeer, family: number): number {
    let fams = got.get(p);
    if (!fams) {
      fams = new Set();
      got.set(p, fams);
    }
    fams.add(family);
    let n = 0;
    for (const [peer, f] of got) if (this.peers.has(peer) && peer.families.every((x) => f.has(x))) n++;
    return n;
  }

  private endDeferral(why: string): void {
    const d = this.deferral;
    if (!d) return;
    clearTimeout(d.timer);
    this.deferral = undefined;
    this.log.info({ why, peers: this.peers.size }, 'graceful restart: sending routes');
    for (const gs of this.groups.values()) this.fill(gs);
    for (const p of this.peers) p.initialTableSent();
  }

  /**
   * A session came up: the peer joins its update group (a new group is filled with every best route of
   * its families). Returns the group; false while deferring (the table follows when the deferral ends,
   * through initialTableSent); true: the caller sends the group's table and End-of-RIB now.
   */
  attach(p: RibPeer): { readonly group: UpdateGroup; readonly now: boolean } {
    this.peers.add(p);
    const key = groupKey(p);
    let gs = this.groups.get(key);
    if (!gs) {
      gs = this.newGroup(key, p);
      this.groups.set(key, gs);
      if (!this.deferral) this.fill(gs);
    }
    gs.members.add(p);
    this.groupOf.set(p, gs);
    return { group: gs.group, now: !this.deferral };
  }

  private newGroup(key: string, p: RibPeer): GroupState {
    const c = p.exportContext;
    return {
      group: new UpdateGroup(key, p.sendContext),
      members: new Set(),
      context: { ...c, to: { ...c.to, id: GROUP_PEER_ID, address: '', routerId: '' } },
      families: p.families,
      addPathSend: p.addPathSend,
      addPathLimit: p.addPathLimit,
      exportCache: new WeakMap(),
      sentPaths: new Map(),
    };
  }

  /** Puts every best route (every path, with ADD-PATH) of the group's families in its table. */
  private fill(gs: GroupState): void {
    this.exportTable(gs);
    // nobody listens yet: the table is settled without encoding anything
    while (gs.group.pendingCount > 0) gs.group.drain(Number.MAX_SAFE_INTEGER, false);
  }

  /** Exports every prefix of the group's families to it again (what changed becomes pending). */
  private exportTable(gs: GroupState): void {
    for (const family of gs.families) {
      if (gs.addPathSend.has(family))
        this.locRib.forEachPrefix(family, (prefix) => this.exportPaths(gs, family, prefix));
      else this.locRib.forEachBest(family, (prefix, best) => this.exportTo(gs, family, prefix, best));
    }
  }

  /** The update group of an established peer. */
  groupFor(p: RibPeer): UpdateGroup | undefined {
    return this.groupOf.get(p)?.group;
  }

  /**
   * The routes tern has sent or queued to an established peer (its group's table with the per-member
   * rules applied; a member still catching up gets them shortly). False when the peer has no group.
   */
  /** How often the decision process ran for a prefix, and how often it chose a different best route. */
  decisionStats(): { readonly runs: number; readonly bestChanges: number } {
    return { runs: this.locRib.decisionRuns, bestChanges: this.bestChanges };
  }

  exportedTo(
    p: RibPeer,
    fn: (family: number, prefix: number | string, pathId: number | undefined, a: RouteAttributes) => void,
  ): boolean {
    const gs = this.groupOf.get(p);
    if (!gs) return false;
    gs.group.forEachHeldBy(p.info, fn);
    return true;
  }

  /** The peer leaves its group (the group goes with its last member). */
  private leave(p: RibPeer): void {
    const gs = this.groupOf.get(p);
    if (!gs) return;
    this.groupOf.delete(p);
    gs.members.delete(p);
    gs.group.endSync(p.info);
    if (gs.members.size === 0) {
      this.groups.delete(gs.group.key);
      this.dirty.delete(gs);
    }
  }

  /**
   * A session went down: its routes leave the Loc-RIB and the other peers hear what changed, except in
   * `staleFamilies` (a graceful restart, RFC 4724 4.2), where they stay, marked stale, until
   * `sweepStale`.
   */
  detach(p: RibPeer, staleFamilies: readonly number[] = []): void {
    this.peers.delete(p);
    this.leave(p);
    const id = p.info.id;
    if (staleFamilies.length === 0) {
      const touched = this.prefixesOf(id);
      this.propagate(this.locRib.withdrawPeer(id), touched);
      return;
    }
    // subscribers hear of the routes turned stale too (they stay selected)
    const touched = this.prefixesOf(id);
    const kept = this.locRib.markStale(id, staleFamilies);
    const others = this.locRib.families().filter((f) => !staleFamilies.includes(f));
    this.propagate(others.length > 0 ? this.locRib.withdrawPeer(id, others) : [], touched);
    this.log.info({ peer: id, staleRoutes: kept }, 'graceful restart: routes kept as stale');
  }

  /**
   * The peer's export context changed (a reload changed our next hops): it moves to the group it now
   * belongs to. Returns the old group and the new one (the same when nothing changed).
   */
  regroup(p: RibPeer): { readonly from: UpdateGroup | undefined; readonly to: UpdateGroup } {
    const from = this.groupOf.get(p);
    if (from && from.group.key === groupKey(p)) return { from: from.group, to: from.group };
    this.leave(p);
    const to = this.attach(p).group;
    return { from: from?.group, to };
  }

  /** Drops the routes of `peerId` still stale (End-of-RIB came, or the restart time ran out). */
  sweepStale(peerId: string, families?: readonly number[]): number {
    const touched = this.prefixesOf(peerId, families, true);
    const changes = this.locRib.sweepStale(peerId, families);
    this.propagate(changes, touched);
    return changes.length;
  }

  /**
   * Whether changes are followed per prefix (not only per best route): some group receives every path
   * (ADD-PATH), or a subscriber wants the equal-cost set.
   */
  private tracksPrefixes(): boolean {
    if (this.subscribers.size > 0) return true;
    for (const gs of this.groups.values()) if (gs.addPathSend.size > 0) return true;
    return false;
  }

  /**
   * Calls `fn` with every prefix whose selected set (best + equal-cost paths) may have changed, in the
   * same turn as the change, also while a graceful restart defers sending. Returns the unsubscribe.
   */
  subscribe(fn: SelectedListener): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** The selected set of a prefix now (see SelectedChange). */
  selected(family: number, prefix: number | string): Route[] {
    const best = this.locRib.best(family, prefix);
    if (best === undefined) return [];
    if (!this.multipathEnabled) return [best];
    return multipathSet(this.locRib.candidates(family, prefix), best, this.decision);
  }

  /** Tells the subscribers the selected set of every prefix (a new subscriber, new policy). */
  republish(): void {
    if (this.subscribers.size === 0) return;
    const touched: Touched[] = [];
    for (const family of this.locRib.families())
      this.locRib.forEachPrefix(family, (prefix) => touched.push({ family, prefix }));
    this.publish([], touched);
  }

  private publish(changes: readonly Change[], touched: readonly Touched[]): void {
    if (this.subscribers.size === 0) return;
    const seen = new Set<string>();
    const out: SelectedChange[] = [];
    const add = (family: number, prefix: number | string): void => {
      const k = `${family}|${prefix}`;
      if (seen.has(k)) return;
      seen.add(k);
      out.push({ family, prefix, selected: this.selected(family, prefix) });
    };
    for (const c of changes) add(c.family, c.prefix);
    for (const t of touched) add(t.family, t.prefix);
    if (out.length === 0) return;
    for (const fn of [...this.subscribers]) {
      try {
        fn(out);
      } catch (err) {
        this.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'Loc-RIB subscriber failed',
        );
      }
    }
  }

  /**
   * Prefixes where `peerId` has a candidate (stale ones only, if asked), for ADD-PATH peers, which hear
   * about every path and not only best changes. Empty when no peer receives several paths.
   */
  private prefixesOf(peerId: string, families?: readonly number[], staleOnly = false): Touched[] {
    if (!this.tracksPrefixes()) return [];
    const out: Touched[] = [];
    for (const family of families ?? this.locRib.families()) {
      for (const e of this.locRib.entries(family)) {
        if (e.routes.some((r) => r.peer.id === peerId && (!staleOnly || r.stale)))
          out.push({ family, prefix: e.prefix });
      }
    }
    return out;
  }

  /**
   * One UPDATE from an established peer, walked once: each route goes into the Loc-RIB and the peer's
   * Adj-RIB-In, which share the attribute object.
   */
  receive(p: RibPeer, update: UpdateMessage): ReceiveResult {
    const rib = p.adjRibIn;
    const changes: Change[] = [];
    const touched: Touched[] = [];
    // per-prefix bookkeeping only when some peer receives every path (ADD-PATH): not on the hot path
    const track = this.tracksPrefixes();
    const id = p.info.id;
    let withdrawn = 0;
    const withdraw = (family: number, list: PrefixList): void => {
      const ids = list.pathIds;
      for (let i = 0; i < list.prefixes.length; i++) {
        withdrawn++;
        rib.delete(family, list.prefixes[i]!, ids?.[i]);
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
        // received all the same: the Adj-RIB-In holds what the peer sent (RFC 4271 3.2)
        for (let i = 0; i < list.prefixes.length; i++)
          rib.set(family, list.prefixes[i]!, list.pathIds?.[i], attrs);
        return;
      }
      const ids = list.pathIds;
      let stored: RouteAttributes | undefined;
      for (let i = 0; i < list.prefixes.length; i++) {
        announced++;
        const route: Route = ids
          ? { family, prefix: list.prefixes[i]!, pathId: ids[i]!, peer: p.info, attributes: attrs }
          : { family, prefix: list.prefixes[i]!, peer: p.info, attributes: attrs };
        const c = this.locRib.update(route);
        stored ??= this.locRib.interned(attrs) ?? attrs;
        rib.set(family, route.prefix, ids?.[i], stored);
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
    if (!from.ibgp && ownAsCount(attrs, from.localAsn) > (from.allowOwnAs ?? 0)) return 'as-path-loop';
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

  /**
   * The export filter (config exportFilter). A new one is applied to what every group holds: prefixes it
   * now rejects are withdrawn, those it now accepts are sent, changed communities announced again.
   */
  setExportFilter(rules: readonly ExportRule[]): void {
    if (JSON.stringify(rules) === JSON.stringify(this.filter.rules)) return;
    this.filter = new ExportFilter(rules);
    this.withAdded = new WeakMap();
    if (this.deferral) return; // the full table goes out when the deferral ends
    for (const gs of this.groups.values()) {
      this.exportTable(gs);
      if (gs.group.pendingCount > 0) this.dirty.add(gs);
    }
    this.bookDrain();
  }

  /** Makes the Loc-RIB hold exactly these originated routes (start and reload). */
  setOriginated(routes: readonly OriginateRoute[]): void {
    const changes: Change[] = [];
    const touched: Touched[] = [];
    const next = new Map<string, { family: number; prefix: number | string; key: string }>();
    for (const r of routes) {
      const at = originPrefix(r);
      if (at === undefined) continue; // validated by the config loader
      const { family, prefix, id } = at;
      const key = originKey(r);
      next.set(id, { family, prefix, key });
      if (this.originated.get(id)?.key === key) continue;
      const c = this.locRib.update({ family, prefix, peer: this.local, attributes: originAttributes(r) });
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
   * Withdraws and adds individual originated routes (kernel learning), in that order, costing only
   * them; the rest of the originated set stays as it is (setOriginated still replaces it whole).
   */
  updateOriginated(
    add: readonly OriginateRoute[],
    withdraw: readonly Pick<OriginateRoute, 'prefix' | 'family'>[],
  ): void {
    const changes: Change[] = [];
    const touched: Touched[] = [];
    for (const r of withdraw) {
      const at = originPrefix(r);
      if (at === undefined) continue;
      const { family, prefix, id } = at;
      if (!this.originated.delete(id)) continue;
      const c = this.locRib.withdraw(family, prefix, LOCAL_PEER_ID);
      if (c) changes.push(c);
      touched.push({ family, prefix });
    }
    for (const r of add) {
      const at = originPrefix(r);
      if (at === undefined) continue;
      const { family, prefix, id } = at;
      const key = originKey(r);
      if (this.originated.get(id)?.key === key) continue;
      this.originated.set(id, { family, prefix, key });
      const c = this.locRib.update({ family, prefix, peer: this.local, attributes: originAttributes(r) });
      if (c) changes.push(c);
      touched.push({ family, prefix });
    }
    this.propagate(changes, touched);
  }

  /**
   * Tells every update group what changed: best-route changes to ordinary groups, every path of every
   * touched prefix to groups that receive several paths (ADD-PATH, RFC 7911). The groups encode their
   * changes on a later turn (drainGroups), so a burst of UPDATEs coalesces and is encoded once.
   */
  private propagate(changes: readonly Change[], touched: readonly Touched[] = []): void {
    this.bestChanges += changes.length;
    if (changes.length === 0 && touched.length === 0) return;
    this.publish(changes, touched);
    if (this.deferral) return; // the full table goes out when the deferral ends
    for (const gs of this.groups.values()) {
      let any = false;
      for (const c of changes) {
        if (!gs.families.includes(c.family) || gs.addPathSend.has(c.family)) continue;
        this.exportTo(gs, c.family, c.prefix, c.after);
        any = true;
      }
      if (gs.addPathSend.size > 0) {
        const seen = new Set<string>();
        for (const t of touched) {
          if (!gs.addPathSend.has(t.family) || !gs.families.includes(t.family)) continue;
          const k = `${t.family}|${t.prefix}`;
          if (seen.has(k)) continue;
          seen.add(k);
          this.exportPaths(gs, t.family, t.prefix);
          any = true;
        }
      }
      if (any && gs.group.pendingCount > 0) this.dirty.add(gs);
    }
    this.bookDrain();
  }

  /** Books a drain: on a later turn, or once drainGapMs have passed since the last one began. */
  private bookDrain(goOn = false): void {
    if (this.drainBooked || this.dirty.size === 0) return;
    this.drainBooked = true;
    const run = (): void => {
      this.drainBooked = false;
      this.drainGroups();
    };
    // a drain that goes on from the last one (its budget ran out) takes no token
    const wait = goOn ? 0 : this.takeDrainToken();
    if (wait > 0) setTimeout(run, wait);
    else this.later(run);
  }

  /** Takes a drain token; returns how long to wait for it, ms (0: there was one). */
  private takeDrainToken(): number {
    if (this.drainGapMs <= 0) return 0;
    const now = Date.now();
    const refill = (now - this.tokensAt) / this.drainGapMs;
    this.drainTokens = Math.min(this.drainBurst, this.drainTokens + refill) - 1;
    this.tokensAt = now;
    // in debt: wait until the bucket is back at zero
    return this.drainTokens >= 0 ? 0 : -this.drainTokens * this.drainGapMs;
  }

  /**
   * Encodes the groups' pending changes and hands each chunk to every member, for at most `budgetMs`
   * per turn: what is left waits for the next turn, so timers (KEEPALIVEs) and sockets run in between.
   */
  drainGroups(budgetMs = 10): void {
    const deadline = performance.now() + budgetMs;
    for (const gs of this.dirty) {
      while (gs.group.pendingCount > 0) {
        const chunk = gs.group.drain(DRAIN_BATCH, gs.members.size > 0);
        if (chunk && chunk.bytes.length > 0) for (const m of gs.members) m.receiveChunk(chunk);
        if (performance.now() >= deadline) break;
      }
      if (gs.group.pendingCount === 0) this.dirty.delete(gs);
      if (performance.now() >= deadline) break;
    }
    // what the budget left goes on at once
    this.bookDrain(true);
  }

  /** ADD-PATH: the group gets every path of the prefix it may receive, each under its own path id. */
  private exportPaths(gs: GroupState, family: number, prefix: number | string): void {
    const k = `${family}|${prefix}`;
    const before = gs.sentPaths.get(k);
    const now = new Set<number>();
    const added = this.filter.check(family, prefix);
    const candidates = added === undefined ? [] : this.locRib.candidates(family, prefix);
    const limit = gs.addPathLimit;
    // with a limit, the best paths in decision order (ineligible ones rank last and are skipped)
    const ordered =
      limit !== undefined && candidates.length > limit
        ? explainRanking(candidates, this.decision).map((x) => x.route)
        : candidates;
    for (const r of ordered) {
      if (limit !== undefined && now.size >= limit) break;
      if (this.decision.nextHopResolvable && !this.decision.nextHopResolvable(r)) continue;
      const attrs = added && this.exported(gs, r, added);
      if (attrs === undefined) continue;
      const id = this.pathIdOf(r);
      now.add(id);
      gs.group.set(family, prefix, id, attrs, sourceOf(gs, r));
    }
    for (const id of before ?? []) if (!now.has(id)) gs.group.set(family, prefix, id, undefined, undefined);
    if (now.size > 0) gs.sentPaths.set(k, now);
    else gs.sentPaths.delete(k);
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

  private exportTo(gs: GroupState, family: number, prefix: number | string, route: Route | undefined): void {
    const pathId = gs.addPathSend.has(family) ? 1 : undefined;
    const added = route ? this.filter.check(family, prefix) : undefined;
    const attrs = route && added ? this.exported(gs, route, added) : undefined;
    gs.group.set(family, prefix, pathId, attrs, attrs && route ? sourceOf(gs, route) : undefined);
  }

  /**
   * The attributes `route` is sent to the group with (undefined: not sent), one object per result, with
   * the export filter's communities `added` to it.
   */
  private exported(gs: GroupState, route: Route, added: readonly number[]): RouteAttributes | undefined {
    const attrs = this.exportedBare(gs, route);
    if (attrs === undefined || added.length === 0) return attrs;
    let byAdded = this.withAdded.get(attrs);
    if (!byAdded) {
      byAdded = new Map();
      this.withAdded.set(attrs, byAdded);
    }
    let out = byAdded.get(added);
    if (out === undefined) {
      const communities = withCommunities(attrs.communities, added);
      out = communities === attrs.communities ? attrs : { ...attrs, communities };
      byAdded.set(added, out);
    }
    return out;
  }

  /** exported() before the filter's communities. */
  private exportedBare(gs: GroupState, route: Route): RouteAttributes | undefined {
    let bySource = gs.exportCache.get(route.attributes);
    if (!bySource) {
      bySource = new Map();
      gs.exportCache.set(route.attributes, bySource);
    }
    let byFamily = bySource.get(route.peer);
    if (!byFamily) {
      byFamily = new Map();
      bySource.set(route.peer, byFamily);
    }
    let result = byFamily.get(route.family);
    if (result === undefined) {
      const d = exportRoute(route, gs.context);
      result = d.send ? d.attributes : null;
      byFamily.set(route.family, result);
    }
    return result ?? undefined;
  }
}

/** How often `asn` is in the route's AS_PATH (every segment type). */
function ownAsCount(attrs: RouteAttributes, asn: number): number {
  let n = 0;
  for (const s of attrs.asPath ?? []) for (const a of s.asns) if (a === asn) n++;
  return n;
}

/**
 * The peer a group's route must not go back to: its source, when that peer could be a member of the
 * group (same kind of session); undefined otherwise, so that routes from several sources pack together.
 */
function sourceOf(gs: GroupState, route: Route): string | undefined {
  const from = route.peer;
  if (from.id === LOCAL_PEER_ID) return undefined;
  const to = gs.context.to;
  return from.ibgp === to.ibgp && from.localAsn === to.localAsn ? from.id : undefined;
}
