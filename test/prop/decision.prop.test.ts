// Property tests of the decision process and the Loc-RIB (STYLE.md, Tests).
//
// Routes are drawn from small pools (peers, AS paths, attribute values) whose ranks are written down
// beside them, so an independent reference, RFC 4271 9.1.2.2 done literally (remove from
// consideration step by step; MED per neighbour AS), can say which route must win without using
// anything from decision.ts. Checked:
//   - compareRoutes is antisymmetric, and on a pair agrees with the reference on winner and step;
//     compareRanked (the Loc-RIB's comparison over ranks worked out once) answers as compareRoutes;
//   - bestRoute picks the reference's route whatever the order, its reason is the step at which it
//     beats the runner-up (the reference's best of the others), and with alwaysCompareMed no eligible
//     route beats it (a total order); multipathSet and explainRanking agree with compareRoutes;
//   - after random update / withdraw / withdrawPeer / markStale / sweepStale sequences, the Loc-RIB's
//     best is bestRoute over its candidates and the reference's route; the Changes it reported replay
//     to its state; and the interner holds exactly the sets of the stored routes, counted once each.
//
// Runs: TERN_PROP_RUNS, else 100,000 in CI and 10,000 locally, for each property (a Loc-RIB run is a
// sequence of up to 24 operations, each checked); the file takes about 7 s at 100,000. The seed is not
// fixed; fast-check prints seed and path of a failure, and `fc.assert(..., { seed, path })` replays it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AsPathSegment } from '../../src/bgp/messages/attributes/types.js';
import { AsPathSegmentType, IPV4_UNICAST, type Origin } from '../../src/bgp/messages/iana.js';
import { ipv4Key } from '../../src/bgp/messages/prefix.js';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import {
  AttributeRank,
  bestRoute,
  compareRanked,
  compareRoutes,
  type DecisionOptions,
  type DecisionReason,
  explainRanking,
  multipathSet,
  PeerRank,
} from '../../src/bgp/rib/decision.js';
import { type Change, LocRib } from '../../src/bgp/rib/loc-rib.js';
import { LOCAL_PEER_ID, type PeerInfo, type Route } from '../../src/bgp/rib/types.js';

const RUNS = Number(process.env.TERN_PROP_RUNS ?? (process.env.CI ? 100_000 : 10_000));
const MAX_OPS = 24;

// ---- pools, each value with its rank for the reference (lower is preferred) ----

interface PeerEntry {
  readonly info: PeerInfo;
  /** The router id as a number. */
  readonly rid: number;
  /** Rank of the address: IPv4 numerically, then IPv6 by bytes. */
  readonly addr: number;
  /** 0 local, 1 eBGP, 2 iBGP. */
  readonly session: number;
}

function peerEntry(
  id: string,
  address: string,
  addr: number,
  routerId: string,
  rid: number,
  session: number,
): PeerEntry {
  const asn = session === 1 ? 65001 : 65000;
  return {
    info: { id, address, asn, localAsn: 65000, ibgp: session === 2, routerId, rrClient: false },
    rid,
    addr,
    session,
  };
}

// two peers share a router id (10.0.0.2), so the address decides between them
const PEERS: readonly PeerEntry[] = [
  peerEntry(LOCAL_PEER_ID, '192.0.2.254', 4, '10.0.0.3', 0x0a000003, 0),
  peerEntry('e1', '192.0.2.10', 1, '10.0.0.10', 0x0a00000a, 1),
  peerEntry('e2', '192.0.2.9', 0, '10.0.0.2', 0x0a000002, 1),
  peerEntry('i1', '2001:db8::a', 6, '10.0.0.2', 0x0a000002, 2),
  peerEntry('i2', '2001:db8::9', 5, '9.255.255.255', 0x09ffffff, 2),
  peerEntry('i3', '192.0.2.100', 2, '10.0.0.1', 0x0a000001, 2),
  peerEntry('i4', '192.0.2.101', 3, '10.0.0.20', 0x0a000014, 2),
];

const SEQ = AsPathSegmentType.AS_SEQUENCE;
const SET = AsPathSegmentType.AS_SET;

interface PathEntry {
  readonly segments: readonly AsPathSegment[] | undefined;
  readonly len: number;
  /** The neighbour AS for MED (0: local). */
  readonly nas: number;
}

const PATHS: readonly PathEntry[] = [
  { segments: undefined, len: 0, nas: 0 },
  { segments: [], len: 0, nas: 0 },
  { segments: [{ type: SEQ, asns: [65001] }], len: 1, nas: 65001 },
  { segments: [{ type: SEQ, asns: [65002] }], len: 1, nas: 65002 },
  { segments: [{ type: SEQ, asns: [65001, 65003] }], len: 2, nas: 65001 },
  { segments: [{ type: SEQ, asns: [65002, 65001] }], len: 2, nas: 65002 },
  { segments: [{ type: SET, asns: [65001, 65002] }], len: 1, nas: 0 },
  {
    segments: [
      { type: AsPathSegmentType.AS_CONFED_SEQUENCE, asns: [64512, 64513] },
      { type: SEQ, asns: [65001] },
    ],
    len: 1,
    nas: 65001,
  },
  {
    segments: [
      { type: SEQ, asns: [65002] },
      { type: SET, asns: [1, 2, 3] },
    ],
    len: 2,
    nas: 65002,
  },
  { segments: [{ type: AsPathSegmentType.AS_CONFED_SET, asns: [64512] }], len: 0, nas: 0 },
  // BIRD: no neighbour AS when the first regular segment is an AS_SET
  {
    segments: [
      { type: SET, asns: [65001] },
      { type: SEQ, asns: [65002] },
    ],
    len: 2,
    nas: 0,
  },
];

const ORIGINATORS: readonly (readonly [string, number])[] = [
  ['10.0.0.1', 0x0a000001],
  ['10.0.0.2', 0x0a000002],
  ['10.0.0.10', 0x0a00000a],
  ['9.255.255.255', 0x09ffffff],
];
const CLUSTERS: readonly (readonly string[] | undefined)[] = [
  undefined,
  [],
  ['1.1.1.1'],
  ['1.1.1.1', '2.2.2.2'],
];

const UNRESOLVABLE = '198.51.100.99';
const DEFAULT_LP = 100;

/** A route as generated: indexes into the pools and plain values. */
interface Spec {
  readonly peer: number;
  readonly pathId: number | undefined;
  readonly resolvable: boolean;
  readonly localPref: number | undefined;
  readonly path: number;
  readonly origin: Origin | undefined;
  readonly med: number | undefined;
  readonly cluster: number;
  readonly originator: number | undefined;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  peer: fc.nat(PEERS.length - 1),
  pathId: fc.constantFrom(undefined, 1, 2),
  resolvable: fc.nat(4).map((n) => n > 0),
  localPref: fc.constantFrom(undefined, 50, 100, 200),
  path: fc.nat(PATHS.length - 1),
  origin: fc.constantFrom<Origin | undefined>(undefined, 0, 1, 2),
  med: fc.constantFrom(undefined, 0, 10, 20),
  cluster: fc.nat(CLUSTERS.length - 1),
  originator: fc.option(fc.nat(ORIGINATORS.length - 1), { nil: undefined }),
});

interface Gen {
  readonly route: Route;
  readonly spec: Spec;
  /** ranks(spec), computed once */
  readonly ranks: readonly number[];
}

function gen(spec: Spec, route: Route = build(spec)): Gen {
  return { spec, route, ranks: ranks(spec) };
}

/** Builds a new Route (with new attribute objects) from a spec. */
function build(spec: Spec, prefix: number = ipv4Key(0x0a000000, 26)): Route {
  const a: { -readonly [K in keyof RouteAttributes]: RouteAttributes[K] } = {
    nextHop: spec.resolvable ? '192.0.2.1' : UNRESOLVABLE,
  };
  if (spec.localPref !== undefined) a.localPref = spec.localPref;
  const path = PATHS[spec.path]!.segments;
  if (path !== undefined) a.asPath = path;
  if (spec.origin !== undefined) a.origin = spec.origin;
  if (spec.med !== undefined) a.med = spec.med;
  const cl = CLUSTERS[spec.cluster];
  if (cl !== undefined) a.clusterList = cl;
  if (spec.originator !== undefined) a.originatorId = ORIGINATORS[spec.originator]![0];
  const r: Route = { family: IPV4_UNICAST, prefix, peer: PEERS[spec.peer]!.info, attributes: a };
  return spec.pathId === undefined ? r : { ...r, pathId: spec.pathId };
}

/** Sets of routes with distinct (peer, path id), as the Loc-RIB holds them. */
const routeSetArb: fc.Arbitrary<Gen[]> = fc
  .uniqueArray(specArb, { maxLength: 8, selector: (s) => `${s.peer}/${s.pathId}` })
  .map((specs) => specs.map((spec) => gen(spec)));

const optsArb: fc.Arbitrary<DecisionOptions> = fc.boolean().map((alwaysCompareMed) => ({
  alwaysCompareMed,
  defaultLocalPref: DEFAULT_LP,
  nextHopResolvable: (r: Route) => r.attributes.nextHop !== UNRESOLVABLE,
}));

// ---- the reference: RFC 4271 9.1.2.2, removing routes from consideration step by step ----

/** The ranks of one route at each step after resolvability, MED apart (lower is preferred). */
function ranks(s: Spec): number[] {
  const p = PEERS[s.peer]!;
  return [
    p.session === 0 ? 0 : 1, // our own route before any learned one
    -(s.localPref ?? DEFAULT_LP),
    PATHS[s.path]!.len,
    s.origin ?? 2,
    0, // MED: see below
    p.session,
    CLUSTERS[s.cluster]?.length ?? 0,
    s.originator === undefined ? p.rid : ORIGINATORS[s.originator]![1],
    p.addr,
    s.pathId ?? 0,
  ];
}

const REASONS: readonly DecisionReason[] = [
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
const MED_STEP = 4;
/** The reason of each step number compareRanked returns (1: resolvability, then REASONS). */
const STEP_REASONS: readonly DecisionReason[] = ['equal', 'next-hop-unresolvable', ...REASONS];

interface Reference {
  /** What is left after the last step (one route unless two are equal). */
  readonly winners: readonly Gen[];
  /** The step that removed the last competitor ('only-route' when there was just one). */
  readonly reason: DecisionReason | 'only-route';
}

/** The RFC's procedure over the eligible routes (or, with `all`, over every route). */
function reference(gens: readonly Gen[], alwaysMed: boolean, all = false): Reference | undefined {
  let c = all ? [...gens] : gens.filter((g) => g.spec.resolvable);
  if (c.length === 0) return undefined;
  if (c.length === 1) return { winners: c, reason: 'only-route' };
  for (let step = 0; step < REASONS.length; step++) {
    const before = c.length;
    if (step === MED_STEP) {
      const med = (g: Gen): number => g.spec.med ?? 0;
      const nas = (g: Gen): number => PATHS[g.spec.path]!.nas;
      c = c.filter((g) => !c.some((o) => (alwaysMed || nas(o) === nas(g)) && med(o) < med(g)));
    } else {
      let min = Number.POSITIVE_INFINITY;
      for (const g of c) min = Math.min(min, g.ranks[step]!);
      c = c.filter((g) => g.ranks[step] === min);
    }
    if (c.length === 1 && before > 1) return { winners: c, reason: REASONS[step]! };
  }
  return { winners: c, reason: 'equal' };
}

function eligible(gens: readonly Gen[]): Gen[] {
  return gens.filter((g) => g.spec.resolvable);
}

// ---- properties ----

/** `expect(actual).toBe(expected)` for the hot loops, where expect() costs more than the code tested. */
function is<T>(actual: T, expected: T): void {
  if (actual !== expected) {
    expect.fail(`expected ${describeValue(expected)}, got ${describeValue(actual)}`);
  }
}

/**
 * The same route: one prefix's route from the same peer object, path id, interned attributes and
 * staleness (the Loc-RIB builds a lone route's object when asked, so two answers are equal, not identical).
 */
function isRoute(actual: Route | undefined, expected: Route | undefined): void {
  const same =
    actual === expected ||
    (actual !== undefined &&
      expected !== undefined &&
      actual.family === expected.family &&
      actual.prefix === expected.prefix &&
      actual.peer === expected.peer &&
      actual.pathId === expected.pathId &&
      actual.attributes === expected.attributes &&
      actual.stale === expected.stale);
  if (!same) expect.fail(`expected ${describeValue(expected)}, got ${describeValue(actual)}`);
}

function describeValue(v: unknown): string {
  if (v !== null && typeof v === 'object' && 'peer' in v) {
    const r = v as Route;
    const path = r.pathId === undefined ? '' : `#${r.pathId}`;
    return `route from ${r.peer.id}${path} ${JSON.stringify(r.attributes)}`;
  }
  return JSON.stringify(v) ?? String(v);
}

describe('compareRoutes', () => {
  it('is antisymmetric and agrees with the reference on a pair', () => {
    fc.assert(
      fc.property(specArb, specArb, optsArb, (sa, sb, opts) => {
        const a = gen(sa);
        const b = gen(sb);
        const ab = compareRoutes(a.route, b.route, opts);
        const ba = compareRoutes(b.route, a.route, opts);
        is(ba.reason, ab.reason);
        if (ab.reason === 'equal') {
          is(ab.winner, a.route);
          is(ba.winner, b.route);
        } else {
          is(ba.winner, ab.winner);
          is(ba.loser, ab.loser);
        }
        // the reference: resolvability first, then the steps over both routes
        if (sa.resolvable !== sb.resolvable) {
          is(ab.winner, sa.resolvable ? a.route : b.route);
          is(ab.reason, 'next-hop-unresolvable');
          return;
        }
        const ref = reference([a, b], opts.alwaysCompareMed, true)!;
        is(ab.reason, ref.reason);
        if (ref.winners.length === 1) is(ab.winner, ref.winners[0]!.route);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('compareRanked', () => {
  // the Loc-RIB's comparison over ranks worked out once per attribute set and peer
  const ranked = (r: Route, set = new AttributeRank(r.attributes)) =>
    [set, new PeerRank(r.peer), r.pathId ?? 0] as const;

  /** Two specs that agree on most fields, so that every step gets to decide now and then. */
  const pairArb: fc.Arbitrary<[Spec, Spec]> = fc
    .tuple(specArb, specArb, fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }))
    .map(([sa, sb, k]): [Spec, Spec] => [
      sa,
      {
        peer: k[0] ? sa.peer : sb.peer,
        pathId: k[1] ? sa.pathId : sb.pathId,
        resolvable: k[2] ? sa.resolvable : sb.resolvable,
        localPref: k[3] ? sa.localPref : sb.localPref,
        path: k[4] ? sa.path : sb.path,
        origin: k[5] ? sa.origin : sb.origin,
        med: k[6] ? sa.med : sb.med,
        cluster: k[7] ? sa.cluster : sb.cluster,
        originator: k[8] ? sa.originator : sb.originator,
      },
    ]);

  it('answers as compareRoutes does on routes of equal resolvability', () => {
    fc.assert(
      fc.property(pairArb, optsArb, fc.boolean(), ([sa, sb], opts, sameSet) => {
        const a = build(sa);
        // the same attribute object: the attribute steps tie without being looked at
        const b = sameSet ? { ...build(sb), attributes: a.attributes } : build(sb);
        const x = ranked(a);
        const y = sameSet ? ranked(b, x[0]) : ranked(b);
        const c = compareRanked(x[0], x[1], x[2], y[0], y[1], y[2], opts);
        if (opts.nextHopResolvable!(a) !== opts.nextHopResolvable!(b)) return;
        const want = compareRoutes(a, b, opts);
        is(c === 0 ? 'equal' : STEP_REASONS[Math.abs(c)], want.reason);
        if (c !== 0) is(c < 0 ? a : b, want.winner);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('bestRoute', () => {
  it('finds the reference route whatever the order; the reason is against the runner-up', () => {
    fc.assert(
      fc.property(
        routeSetArb.chain((gens) =>
          fc.tuple(fc.constant(gens), fc.shuffledSubarray(gens, { minLength: gens.length })),
        ),
        optsArb,
        ([gens, shuffled], opts) => {
          const routes = gens.map((g) => g.route);
          const sel = bestRoute(routes, opts);
          const ref = reference(gens, opts.alwaysCompareMed);
          if (ref === undefined) {
            is(sel, undefined);
            return;
          }
          is(ref.winners.length, 1);
          const best = ref.winners[0]!.route;
          is(sel?.best, best);
          const again = bestRoute(
            shuffled.map((g) => g.route),
            opts,
          );
          is(again?.best, sel?.best);
          is(again?.reason, sel?.reason);

          const others = eligible(gens).filter((g) => g.route !== best);
          const runnerUp = reference(others, opts.alwaysCompareMed);
          if (runnerUp === undefined) {
            is(sel?.reason, 'only-route');
          } else {
            const vs = compareRoutes(best, runnerUp.winners[0]!.route, opts);
            is(vs.winner, best);
            is(sel?.reason, vs.reason);
          }
          if (opts.alwaysCompareMed) {
            // a total order: nothing eligible beats best
            for (const g of others) is(compareRoutes(g.route, best, opts).winner, best);
          }

          // multipath: exactly the eligible routes tying with best before the router id
          const late = new Set<DecisionReason>(['router-id', 'peer-address', 'path-id', 'equal']);
          const mp = new Set(multipathSet(routes, best, opts));
          is(mp.has(best), true);
          for (const g of others) is(mp.has(g.route), late.has(compareRoutes(best, g.route, opts).reason));
          is(mp.size, 1 + others.filter((g) => mp.has(g.route)).length);

          // the ranking starts with best and each route beats the next one at the reason given
          const ranking = explainRanking(routes, opts);
          for (let i = 0; i < ranking.length; i++) is(ranking[i]!.rank, i + 1);
          is(ranking.length, routes.length);
          is(ranking[0]!.route, best);
          for (let i = 0; i + 1 < ranking.length; i++) {
            const vs = compareRoutes(ranking[i]!.route, ranking[i + 1]!.route, opts);
            is(vs.winner, ranking[i]!.route);
            is(ranking[i]!.reasonAgainstNext, vs.reason);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

// ---- the Loc-RIB under random operations ----

const PREFIXES = [ipv4Key(0x0a000000, 26), ipv4Key(0x0a000040, 26), ipv4Key(0x0a000080, 32)];

type Op =
  | { readonly op: 'update'; readonly spec: Spec; readonly prefix: number }
  | {
      readonly op: 'withdraw';
      readonly prefix: number;
      readonly peer: number;
      readonly pathId: number | undefined;
    }
  | { readonly op: 'withdrawPeer' | 'markStale' | 'sweepStale'; readonly peer: number };

const prefixArb = fc.nat(PREFIXES.length - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('update' as const), spec: specArb, prefix: prefixArb }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('withdraw' as const),
      prefix: prefixArb,
      peer: fc.nat(PEERS.length - 1),
      pathId: fc.constantFrom(undefined, 1, 2),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom('withdrawPeer' as const, 'markStale' as const, 'sweepStale' as const),
      peer: fc.nat(PEERS.length - 1),
    }),
  },
);

/** Visible best: the same path with the same interned attribute set. */
function sameBest(a: Route | undefined, b: Route | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.peer === b.peer && a.pathId === b.pathId && a.attributes === b.attributes;
}

describe('LocRib', () => {
  it('keeps best = bestRoute(candidates) = reference, and its Changes replay to its state', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(opArb, fc.boolean()), { maxLength: MAX_OPS }), optsArb, (ops, opts) => {
        const rib = new LocRib(opts);
        /** Specs of the candidates held, per prefix and (peer, path id): the model. */
        const model = new Map<number, Map<string, Spec>>(PREFIXES.map((p) => [p, new Map()]));
        /** The best per prefix as the Changes told it. */
        const told = new Map<number | string, Route | undefined>();
        const apply = (changes: readonly (Change | undefined)[]): void => {
          for (const c of changes) {
            if (c === undefined) continue;
            is(sameBest(told.get(c.prefix), c.before), true);
            is(sameBest(c.before, c.after), false);
            told.set(c.prefix, c.after);
            const reason = bestRoute(rib.candidates(IPV4_UNICAST, c.prefix), opts)?.reason;
            is(c.reason, c.after === undefined ? undefined : reason);
          }
        };
        const families = [IPV4_UNICAST];
        for (const [o, inspect] of ops) {
          if (o.op === 'update') {
            const prefix = PREFIXES[o.prefix]!;
            model.get(prefix)!.set(`${o.spec.peer}/${o.spec.pathId}`, o.spec);
            apply([rib.update(build(o.spec, prefix))]);
          } else if (o.op === 'withdraw') {
            const prefix = PREFIXES[o.prefix]!;
            model.get(prefix)!.delete(`${o.peer}/${o.pathId}`);
            apply([rib.withdraw(IPV4_UNICAST, prefix, PEERS[o.peer]!.info.id, o.pathId)]);
          } else if (o.op === 'markStale') {
            rib.markStale(PEERS[o.peer]!.info.id, families);
          } else {
            const id = PEERS[o.peer]!.info.id;
            const staleOnly = o.op === 'sweepStale';
            for (const prefix of PREFIXES) {
              for (const [key, spec] of model.get(prefix)!) {
                const held = rib
                  .candidates(IPV4_UNICAST, prefix)
                  .find((r) => r.peer.id === id && r.pathId === spec.pathId);
                if (spec.peer === o.peer && (!staleOnly || held?.stale === true))
                  model.get(prefix)!.delete(key);
              }
            }
            apply(staleOnly ? rib.sweepStale(id) : rib.withdrawPeer(id, families));
          }

          // the state after each operation; the reasons through entries() only sometimes, as asking
          // works out the reasons the Loc-RIB left unknown
          const shown = inspect ? new Map(rib.entries(IPV4_UNICAST).map((e) => [e.prefix, e])) : undefined;
          let size = 0;
          const refs = new Map<RouteAttributes, number>();
          for (const prefix of PREFIXES) {
            const specs = [...model.get(prefix)!.values()];
            const candidates = rib.candidates(IPV4_UNICAST, prefix);
            size += candidates.length;
            is(candidates.length, specs.length);
            for (const r of candidates) refs.set(r.attributes, (refs.get(r.attributes) ?? 0) + 1);
            const best = rib.best(IPV4_UNICAST, prefix);
            if (shown !== undefined) {
              const e = shown.get(prefix);
              isRoute(e?.best, best);
              is(e?.reason, bestRoute(candidates, opts)?.reason);
              is(e?.routes.length ?? 0, candidates.length);
            }
            isRoute(best, bestRoute(candidates, opts)?.best);
            is(sameBest(told.get(prefix), best), true);
            // the reference, over the candidates held (matched to their specs by peer and path id)
            const gens = candidates.map((route) =>
              gen(specs.find((s) => PEERS[s.peer]!.info === route.peer && s.pathId === route.pathId)!, route),
            );
            const ref = reference(gens, opts.alwaysCompareMed);
            isRoute(best, ref === undefined ? undefined : ref.winners[0]!.route);
          }
          is(rib.size, size);
          is(rib.interner.size, refs.size);
          for (const [attrs, n] of refs) is(rib.interner.refCount(attrs), n);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
