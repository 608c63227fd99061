// The BGP decision process: RFC 4271 9.1.2 (phase 2, route selection) with the route-reflection tie
// breaks of RFC 4456 9, in the order BIRD's bgp_rte_better uses. Pure functions over Routes.
//
//   step                     prefer                               reason
//   9.1.2.1 resolvability    a resolvable next hop                'next-hop-unresolvable'
//   (tern) origin            our own route over a learned one     'local-route'
//   9.1.2.1 degree of pref.  highest LOCAL_PREF (default 100)     'local-pref'
//   9.1.2.2 a                shortest AS_PATH (asPathLength)      'as-path-length'
//   9.1.2.2 b                lowest ORIGIN                        'origin'
//   9.1.2.2 c                lowest MED (missing = 0), only       'med'
//                            between routes from one neighbour
//                            AS unless alwaysCompareMed
//   9.1.2.2 d                local, then eBGP, then iBGP          'ebgp-over-ibgp'
//   (9.1.2.2 e, IGP cost to the next hop: not used, tern has no IGP)
//   RFC 4456 9 b             shortest CLUSTER_LIST                'cluster-list-length'
//   9.1.2.2 f, RFC 4456 9 a  lowest ORIGINATOR_ID, else the       'router-id'
//                            peer's BGP identifier
//   9.1.2.2 g                lowest peer address (IPv4 < IPv6)    'peer-address'
//   RFC 7911                 lowest path identifier (missing = 0) 'path-id'
//                            none of the above                    'equal'
//
// CLUSTER_LIST before the identifier is BIRD's order (RFC 4456 9 puts it between f and g).
// A route tern originates (an IPAM block, a learned kernel route, a configured prefix) beats every
// learned route for the same prefix before LOCAL_PREF is looked at, as BIRD's static protocol does by
// its preference (200 over BGP's 100) and FRR by the weight 32768 of local routes: a peer announcing
// this node's own block cannot take its traffic. 9.1.2.2 d still ranks local first among equals.
//
// The MED rule makes pairwise comparison non-transitive across neighbour ASes (RFC 4271 9.1.2.2 c
// removes routes from consideration per neighbour AS; three routes can beat each other in a cycle).
// `bestRoute` therefore follows the RFC's elimination, as BIRD's `deterministic med` does: the best
// route of each neighbour AS first, then the best of those. The result does not depend on the order
// of the candidates. Within one neighbour AS, or with alwaysCompareMed, the steps form a total order
// and a single pairwise scan gives the same answer.

import { asPathLength } from '../messages/attributes/as-path.js';
import type { AsPathSegment } from '../messages/attributes/types.js';
import { AsPathSegmentType } from '../messages/iana.js';
import { parseIpv4, parseIpv6 } from '../messages/prefix.js';
import type { RouteAttributes } from './adj-rib-in.js';
import { LOCAL_PEER_ID, type PeerInfo, type Route, samePathOf } from './types.js';

export type DecisionReason =
  | 'only-route'
  | 'next-hop-unresolvable'
  | 'local-route'
  | 'local-pref'
  | 'as-path-length'
  | 'origin'
  | 'med'
  | 'ebgp-over-ibgp'
  | 'cluster-list-length'
  | 'router-id'
  | 'peer-address'
  | 'path-id'
  | 'equal';

export interface DecisionOptions {
  /** Compare MED between routes from different neighbour ASes too (BIRD `med metric`). */
  readonly alwaysCompareMed: boolean;
  /** RFC 4271 9.1.2.1: routes whose next hop this rejects are not eligible. Default: all resolvable. */
  readonly nextHopResolvable?: (route: Route) => boolean;
  /** LOCAL_PREF of routes that carry none (eBGP-learned); usually 100. */
  readonly defaultLocalPref: number;
}

export interface Comparison {
  readonly winner: Route;
  readonly loser: Route;
  readonly reason: DecisionReason;
}

// Steps as numbers: `compareCore` returns -step when `a` wins, +step when `b` wins, 0 when equal.
const STEP_NEXT_HOP = 1;
const STEP_LOCAL = 2;
const STEP_LOCAL_PREF = 3;
const STEP_AS_PATH = 4;
const STEP_ORIGIN = 5;
const STEP_MED = 6;
const STEP_EBGP = 7;
const STEP_CLUSTER_LIST = 8;
const STEP_ROUTER_ID = 9;
const STEP_PEER_ADDRESS = 10;
const STEP_PATH_ID = 11;

const STEP_REASON: readonly DecisionReason[] = [
  'equal',
  'next-hop-unresolvable',
  'local-route',
  'local-pref',
  'as-path-length',
  'origin',
  'med',
  'ebgp-over-ibgp',
  'cluster-list-length',
  'router-id',
  'peer-address',
  'path-id',
];

const ORIGIN_INCOMPLETE = 2;
/** The depth of 'equal' (see "for incremental selection" below): after every step. */
export const EQUAL_DEPTH = STEP_PATH_ID + 1;

/**
 * The neighbouring AS for the MED rule (BIRD `bgp_get_neighbor`): the first AS of the first regular
 * segment when that is an AS_SEQUENCE, confederation segments skipped; 0 (our own AS) for an empty
 * or missing path, or one that starts with an AS_SET.
 */
export function neighbourAs(attrs: RouteAttributes): number {
  const path = attrs.asPath;
  if (path === undefined) return 0;
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    if (s.type === AsPathSegmentType.AS_SEQUENCE) return s.asns.length > 0 ? s.asns[0]! : 0;
    if (s.type === AsPathSegmentType.AS_SET) return 0;
  }
  return 0;
}

function pathLength(path: readonly AsPathSegment[] | undefined): number {
  if (path === undefined) return 0;
  // the common case, one AS_SEQUENCE, without the loop
  if (path.length === 1 && path[0]!.type === AsPathSegmentType.AS_SEQUENCE) return path[0]!.asns.length;
  return asPathLength(path);
}

function sessionRank(r: Route): number {
  if (r.peer.id === LOCAL_PEER_ID) return 0;
  return r.peer.ibgp ? 2 : 1;
}

/** Compares two dotted quads numerically; text that is not one sorts after every address. */
function compareIpv4Text(a: string, b: string): number {
  if (a === b) return 0;
  const x = parseIpv4(a);
  const y = parseIpv4(b);
  if (x !== undefined && y !== undefined) return x - y;
  if (x !== undefined) return -1;
  if (y !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Peer addresses: IPv4 numerically, then IPv6 by bytes, then anything else as text. */
export function compareAddresses(a: string, b: string): number {
  if (a === b) return 0;
  const x4 = parseIpv4(a);
  const y4 = parseIpv4(b);
  if (x4 !== undefined || y4 !== undefined) {
    if (x4 === undefined) return 1;
    if (y4 === undefined) return -1;
    return x4 - y4;
  }
  const x6 = parseIpv6(a);
  const y6 = parseIpv6(b);
  if (x6 !== undefined && y6 !== undefined) {
    for (let i = 0; i < 16; i++) if (x6[i] !== y6[i]) return x6[i]! - y6[i]!;
    return 0;
  }
  if (x6 !== undefined) return -1;
  if (y6 !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function resolvable(r: Route, opts: DecisionOptions): boolean {
  return opts.nextHopResolvable === undefined || opts.nextHopResolvable(r);
}

/**
 * The comparison without the resolvability step: -step when `a` is preferred, +step when `b` is, 0
 * when no step tells them apart.
 */
function compareEligible(a: Route, b: Route, opts: DecisionOptions): number {
  const x = a.attributes;
  const y = b.attributes;
  // Interned attribute sets: the same object means every attribute step ties.
  const localA = a.peer.id === LOCAL_PEER_ID;
  if (localA !== (b.peer.id === LOCAL_PEER_ID)) return localA ? -STEP_LOCAL : STEP_LOCAL;
  if (x !== y) {
    const lpA = x.localPref ?? opts.defaultLocalPref;
    const lpB = y.localPref ?? opts.defaultLocalPref;
    if (lpA !== lpB) return lpA > lpB ? -STEP_LOCAL_PREF : STEP_LOCAL_PREF;

    if (x.asPath !== y.asPath) {
      const lenA = pathLength(x.asPath);
      const lenB = pathLength(y.asPath);
      if (lenA !== lenB) return lenA < lenB ? -STEP_AS_PATH : STEP_AS_PATH;
    }

    const oA = x.origin ?? ORIGIN_INCOMPLETE;
    const oB = y.origin ?? ORIGIN_INCOMPLETE;
    if (oA !== oB) return oA < oB ? -STEP_ORIGIN : STEP_ORIGIN;

    const medA = x.med ?? 0;
    const medB = y.med ?? 0;
    if (medA !== medB && (opts.alwaysCompareMed || neighbourAs(x) === neighbourAs(y))) {
      return medA < medB ? -STEP_MED : STEP_MED;
    }
  }

  const sA = sessionRank(a);
  const sB = sessionRank(b);
  if (sA !== sB) return sA < sB ? -STEP_EBGP : STEP_EBGP;

  if (x !== y) {
    const clA = x.clusterList?.length ?? 0;
    const clB = y.clusterList?.length ?? 0;
    if (clA !== clB) return clA < clB ? -STEP_CLUSTER_LIST : STEP_CLUSTER_LIST;
  }

  const idA = x.originatorId ?? a.peer.routerId;
  const idB = y.originatorId ?? b.peer.routerId;
  const id = compareIpv4Text(idA, idB);
  if (id !== 0) return id < 0 ? -STEP_ROUTER_ID : STEP_ROUTER_ID;

  const addr = compareAddresses(a.peer.address, b.peer.address);
  if (addr !== 0) return addr < 0 ? -STEP_PEER_ADDRESS : STEP_PEER_ADDRESS;

  const pA = a.pathId ?? 0;
  const pB = b.pathId ?? 0;
  if (pA !== pB) return pA < pB ? -STEP_PATH_ID : STEP_PATH_ID;
  return 0;
}

function compareCore(a: Route, b: Route, opts: DecisionOptions): number {
  if (opts.nextHopResolvable !== undefined) {
    const rA = opts.nextHopResolvable(a);
    const rB = opts.nextHopResolvable(b);
    if (rA !== rB) return rA ? -STEP_NEXT_HOP : STEP_NEXT_HOP;
  }
  return compareEligible(a, b, opts);
}

// ---- ranks: what the steps read, worked out once (for the Loc-RIB) ----
//
// The Loc-RIB compares a new route with the best of its prefix on every update. `compareRanked` is
// compareEligible over numbers worked out once per interned attribute set (the interner keeps an
// AttributeRank beside each set) and once per peer (PeerRank), so that a comparison parses no address
// text and reads no route. It must answer exactly as compareEligible does; the property test
// (test/prop/decision.prop.test.ts) checks the two against each other.

/** Absent (ORIGINATOR_ID, LOCAL_PREF). */
const ABSENT = -1;
/** Present, but not a dotted quad: compared as text, as compareIpv4Text does. */
const NOT_IPV4 = -2;

function ipv4Rank(s: string): number {
  return parseIpv4(s) ?? NOT_IPV4;
}

/** The attribute steps of one attribute set. */
export class AttributeRank {
  /** LOCAL_PREF as carried, ABSENT without one (the default applies when comparing). */
  readonly localPref: number;
  readonly pathLength: number;
  readonly origin: number;
  readonly med: number;
  readonly neighbourAs: number;
  readonly clusterLength: number;
  /** ORIGINATOR_ID as a number; ABSENT, or NOT_IPV4. */
  readonly originator: number;

  constructor(readonly attrs: RouteAttributes) {
    this.localPref = attrs.localPref ?? ABSENT;
    this.pathLength = pathLength(attrs.asPath);
    this.origin = attrs.origin ?? ORIGIN_INCOMPLETE;
    this.med = attrs.med ?? 0;
    this.neighbourAs = neighbourAs(attrs);
    this.clusterLength = attrs.clusterList?.length ?? 0;
    this.originator = attrs.originatorId === undefined ? ABSENT : ipv4Rank(attrs.originatorId);
  }
}

/** The peer steps of one peer (a PeerInfo object). */
export class PeerRank {
  /** 0 local, 1 eBGP, 2 iBGP. */
  readonly session: number;
  /** The BGP identifier as a number, or NOT_IPV4. */
  readonly routerId: number;
  /** The address as a number when it is IPv4, else NOT_IPV4 (compareAddresses decides). */
  readonly address: number;

  constructor(readonly peer: PeerInfo) {
    this.session = peer.id === LOCAL_PEER_ID ? 0 : peer.ibgp ? 2 : 1;
    this.routerId = ipv4Rank(peer.routerId);
    this.address = ipv4Rank(peer.address);
  }
}

/**
 * compareEligible of a route with attribute set `x` from peer `p` and path id `i` (0 without one)
 * against one with `y`, `q`, `j`: -step when the first is preferred, +step when the second is, 0
 * when no step tells them apart.
 */
export function compareRanked(
  x: AttributeRank,
  p: PeerRank,
  i: number,
  y: AttributeRank,
  q: PeerRank,
  j: number,
  opts: DecisionOptions,
): number {
  if (p.session !== q.session && (p.session === 0 || q.session === 0)) {
    return p.session === 0 ? -STEP_LOCAL : STEP_LOCAL;
  }
  // Interned attribute sets: the same rank means every attribute step ties.
  if (x !== y) {
    const lpA = x.localPref === ABSENT ? opts.defaultLocalPref : x.localPref;
    const lpB = y.localPref === ABSENT ? opts.defaultLocalPref : y.localPref;
    if (lpA !== lpB) return lpA > lpB ? -STEP_LOCAL_PREF : STEP_LOCAL_PREF;
    if (x.pathLength !== y.pathLength) return x.pathLength < y.pathLength ? -STEP_AS_PATH : STEP_AS_PATH;
    if (x.origin !== y.origin) return x.origin < y.origin ? -STEP_ORIGIN : STEP_ORIGIN;
    if (x.med !== y.med && (opts.alwaysCompareMed || x.neighbourAs === y.neighbourAs)) {
      return x.med < y.med ? -STEP_MED : STEP_MED;
    }
  }

  if (p.session !== q.session) return p.session < q.session ? -STEP_EBGP : STEP_EBGP;

  if (x !== y && x.clusterLength !== y.clusterLength) {
    return x.clusterLength < y.clusterLength ? -STEP_CLUSTER_LIST : STEP_CLUSTER_LIST;
  }

  const idA = x.originator === ABSENT ? p.routerId : x.originator;
  const idB = y.originator === ABSENT ? q.routerId : y.originator;
  if (idA !== NOT_IPV4 && idB !== NOT_IPV4) {
    if (idA !== idB) return idA < idB ? -STEP_ROUTER_ID : STEP_ROUTER_ID;
  } else {
    const id = compareIpv4Text(
      x.attrs.originatorId ?? p.peer.routerId,
      y.attrs.originatorId ?? q.peer.routerId,
    );
    if (id !== 0) return id < 0 ? -STEP_ROUTER_ID : STEP_ROUTER_ID;
  }

  if (p !== q) {
    const addr =
      p.address !== NOT_IPV4 && q.address !== NOT_IPV4
        ? p.address - q.address
        : compareAddresses(p.peer.address, q.peer.address);
    if (addr !== 0) return addr < 0 ? -STEP_PEER_ADDRESS : STEP_PEER_ADDRESS;
  }

  if (i !== j) return i < j ? -STEP_PATH_ID : STEP_PATH_ID;
  return 0;
}

/**
 * Which of two routes to the same prefix is preferred, and the first step that told them apart.
 * When both next hops are unresolvable the remaining steps still order them. On 'equal', `a` is
 * returned as the winner.
 */
export function compareRoutes(a: Route, b: Route, opts: DecisionOptions): Comparison {
  const c = compareCore(a, b, opts);
  const reason = STEP_REASON[c < 0 ? -c : c]!;
  return c <= 0 ? { winner: a, loser: b, reason } : { winner: b, loser: a, reason };
}

/**
 * Candidates by position, for `selectFrom`: a Route[] (`bestRoute`), or the Loc-RIB's own storage,
 * which keeps ranks (below) instead of routes. `compare` is compareEligible's answer for the two.
 */
export interface CandidateList {
  readonly size: number;
  /** Whether candidate i takes part (its next hop is resolvable, where that is asked). */
  eligible(i: number): boolean;
  neighbourAs(i: number): number;
  /** -step when i is preferred, +step when j is, 0 when no step tells them apart. */
  compare(i: number, j: number): number;
}

/** A Route[] as a CandidateList. */
class RouteList implements CandidateList {
  constructor(
    private readonly routes: readonly Route[],
    private readonly opts: DecisionOptions,
    private readonly checkNextHop: boolean,
  ) {}

  get size(): number {
    return this.routes.length;
  }

  eligible(i: number): boolean {
    return !this.checkNextHop || resolvable(this.routes[i]!, this.opts);
  }

  neighbourAs(i: number): number {
    return neighbourAs(this.routes[i]!.attributes);
  }

  compare(i: number, j: number): number {
    return compareEligible(this.routes[i]!, this.routes[j]!, this.opts);
  }
}

/**
 * The best of the eligible candidates of one neighbour AS each, then the best of those (see the top);
 * -1 when none is eligible.
 */
function selectDeterministicMed(list: CandidateList, skip: number): number {
  const groupAs: number[] = [];
  const groupBest: number[] = [];
  for (let i = 0; i < list.size; i++) {
    if (i === skip || !list.eligible(i)) continue;
    const as = list.neighbourAs(i);
    const g = groupAs.indexOf(as);
    if (g < 0) {
      groupAs.push(as);
      groupBest.push(i);
    } else if (list.compare(i, groupBest[g]!) < 0) {
      groupBest[g] = i;
    }
  }
  let best = -1;
  for (let g = 0; g < groupBest.length; g++) {
    const i = groupBest[g]!;
    if (best < 0 || list.compare(i, best) < 0) best = i;
  }
  return best;
}

export interface Selection {
  readonly best: Route;
  readonly reason: DecisionReason;
}

/** What `selectFrom` found: the position of the best candidate and why it won. */
export interface IndexSelection {
  readonly index: number;
  readonly reason: DecisionReason;
}

/**
 * The selection over the eligible candidates of `list`. One pass finds the best under pairwise
 * comparison, the latest step at which another candidate lost (that of the runner-up, as the steps
 * are lexicographic), and whether more than one neighbour AS takes part; only then (without
 * alwaysCompareMed) is the per-AS elimination needed. Undefined when none is eligible.
 */
export function selectFrom(list: CandidateList, alwaysCompareMed: boolean): IndexSelection | undefined {
  let best = -1;
  let depth = 0;
  let firstAs = -1;
  let mixed = false;
  for (let i = 0; i < list.size; i++) {
    if (!list.eligible(i)) continue;
    if (!alwaysCompareMed && !mixed) {
      const as = list.neighbourAs(i);
      if (firstAs < 0) firstAs = as;
      else if (as !== firstAs) mixed = true;
    }
    if (best < 0) {
      best = i;
      continue;
    }
    const c = list.compare(i, best);
    if (c < 0) {
      // an earlier loser lost to the old best at some step s; it loses to i at min(s, -c), so the
      // old best, beaten at -c, is the runner-up
      best = i;
      depth = -c;
    } else {
      // in a total order the runner-up is the loser that held out longest
      const k = c === 0 ? EQUAL_DEPTH : c;
      if (k > depth) depth = k;
    }
  }
  if (best < 0) return undefined;
  if (depth === 0) return { index: best, reason: 'only-route' };
  if (!mixed) return { index: best, reason: STEP_REASON[depth === EQUAL_DEPTH ? 0 : depth]! };
  const b = selectDeterministicMed(list, -1);
  const runnerUp = selectDeterministicMed(list, b);
  const c = list.compare(b, runnerUp);
  return { index: b, reason: STEP_REASON[c < 0 ? -c : c]! };
}

function select(
  routes: readonly Route[],
  opts: DecisionOptions,
  checkNextHop: boolean,
): Selection | undefined {
  const s = selectFrom(new RouteList(routes, opts, checkNextHop), opts.alwaysCompareMed);
  return s === undefined ? undefined : { best: routes[s.index]!, reason: s.reason };
}

/**
 * The best eligible route and why it beat the runner-up (the route that would be best without it);
 * 'only-route' when it is the only eligible one; undefined when none is eligible.
 */
export function bestRoute(routes: readonly Route[], opts: DecisionOptions): Selection | undefined {
  if (routes.length === 1) {
    const r = routes[0]!;
    return resolvable(r, opts) ? { best: r, reason: 'only-route' } : undefined;
  }
  return select(routes, opts, true);
}

// ---- for incremental selection (the Loc-RIB) ----
//
// The depth of a reason is how late in the process it comes: 'only-route' 0, then the steps in
// order ('next-hop-unresolvable' 1 ... 'path-id' 11), 'equal' 12. Where the steps order the
// candidates totally (alwaysCompareMed, or one neighbour AS), a best route's reason is the deepest
// step at which any other eligible candidate loses to it, and that is what the Loc-RIB maintains
// without looking at every candidate again. The step numbers compareRanked returns are these depths
// (0, a tie, stands for EQUAL_DEPTH).

export function reasonDepth(reason: DecisionReason): number {
  if (reason === 'only-route') return 0;
  return reason === 'equal' ? EQUAL_DEPTH : STEP_REASON.indexOf(reason);
}

export function reasonAtDepth(depth: number): DecisionReason {
  if (depth === 0) return 'only-route';
  return depth === EQUAL_DEPTH ? 'equal' : STEP_REASON[depth]!;
}

/**
 * BIRD's `merge paths` (ECMP): the eligible routes that tie with `best` on every step before the
 * router id (LOCAL_PREF, AS_PATH length, ORIGIN, MED, eBGP/iBGP, CLUSTER_LIST length), best first.
 */
export function multipathSet(routes: readonly Route[], best: Route, opts: DecisionOptions): Route[] {
  const out: Route[] = [best];
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    if (samePathOf(r, best) || !resolvable(r, opts)) continue;
    const c = compareEligible(best, r, opts);
    if (c === 0 || c >= STEP_ROUTER_ID || c <= -STEP_ROUTER_ID) out.push(r);
  }
  return out;
}

export interface RankedRoute {
  readonly route: Route;
  /** 1 for the best route. Routes whose next hop is unresolvable come after every eligible one. */
  readonly rank: number;
  /** The step at which this route beat the next one in the ranking; absent on the last. */
  readonly reasonAgainstNext?: DecisionReason;
}

/**
 * All candidates in order of preference, for `show routes --all`: the best, then the best of the
 * rest, and so on (so each route beats the next one at `reasonAgainstNext`). O(n^2); n is small.
 */
export function explainRanking(routes: readonly Route[], opts: DecisionOptions): RankedRoute[] {
  const eligible: Route[] = [];
  const ineligible: Route[] = [];
  for (const r of routes) (resolvable(r, opts) ? eligible : ineligible).push(r);
  const order: Route[] = [];
  for (const pool of [eligible, ineligible]) {
    const rest = [...pool];
    while (rest.length > 0) {
      const s = rest.length === 1 ? rest[0]! : select(rest, opts, false)!.best;
      order.push(s);
      rest.splice(rest.indexOf(s), 1);
    }
  }
  return order.map((route, i) => {
    const next = order[i + 1];
    if (next === undefined) return { route, rank: i + 1 };
    const c = compareCore(route, next, opts);
    return { route, rank: i + 1, reasonAgainstNext: STEP_REASON[c < 0 ? -c : c]! };
  });
}
