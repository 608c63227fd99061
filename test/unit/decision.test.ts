// The decision process (src/bgp/rib/decision.ts): every step in isolation, with the reason asserted;
// the MED rule per neighbour AS; AS_PATH length with AS_SET and confederation segments; ORIGINATOR_ID
// in place of the router id; IPv4 and IPv6 peer addresses; compareRanked (the Loc-RIB's comparison
// over precomputed ranks) against compareRoutes; bestRoute, multipathSet, explainRanking.
//
// Step isolation: for step k the winner has the better value at k and the worse one at every later
// step, the loser the other way round, and both tie on every earlier step. So step k decides, and
// it decides before everything after it.

import { describe, expect, it } from 'vitest';
import { AsPathSegmentType, IPV4_UNICAST, Origin } from '../../src/bgp/messages/iana.js';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import {
  AttributeRank,
  bestRoute,
  compareAddresses,
  compareRanked,
  compareRoutes,
  type DecisionOptions,
  type DecisionReason,
  explainRanking,
  multipathSet,
  neighbourAs,
  PeerRank,
} from '../../src/bgp/rib/decision.js';
import { LOCAL_PEER_ID, type PeerInfo, type Route } from '../../src/bgp/rib/types.js';

const UNRESOLVABLE = '198.51.100.99';
const OPTS: DecisionOptions = {
  alwaysCompareMed: false,
  defaultLocalPref: 100,
  nextHopResolvable: (r) => r.attributes.nextHop !== UNRESOLVABLE,
};
const ALWAYS_MED: DecisionOptions = { ...OPTS, alwaysCompareMed: true };

const SEQ = AsPathSegmentType.AS_SEQUENCE;
const SET = AsPathSegmentType.AS_SET;
const CONFED_SEQ = AsPathSegmentType.AS_CONFED_SEQUENCE;
const CONFED_SET = AsPathSegmentType.AS_CONFED_SET;

function peer(p: Partial<PeerInfo> = {}): PeerInfo {
  const address = p.address ?? '192.0.2.1';
  return {
    id: p.id ?? `peer-${address}`,
    address,
    asn: p.asn ?? 65001,
    localAsn: p.localAsn ?? 65000,
    ibgp: p.ibgp ?? false,
    routerId: p.routerId ?? '10.0.0.1',
    rrClient: p.rrClient ?? false,
  };
}

function route(attrs: Partial<RouteAttributes>, p: PeerInfo = peer(), pathId?: number): Route {
  const attributes: RouteAttributes = { origin: Origin.IGP, nextHop: '192.0.2.1', ...attrs };
  const r: Route = { family: IPV4_UNICAST, prefix: 64, peer: p, attributes };
  return pathId === undefined ? r : { ...r, pathId };
}

// ---- step isolation ----

/** The better (true) or worse (false) value of each step, applied to one route. */
interface Spec {
  nextHop: boolean;
  localPref: boolean;
  asPath: boolean;
  origin: boolean;
  med: boolean;
  ebgp: boolean;
  clusterList: boolean;
  routerId: boolean;
  address: boolean;
  pathId: boolean;
}
type Step = keyof Spec;
const STEPS: readonly [Step, DecisionReason][] = [
  ['nextHop', 'next-hop-unresolvable'],
  ['localPref', 'local-pref'],
  ['asPath', 'as-path-length'],
  ['origin', 'origin'],
  ['med', 'med'],
  ['ebgp', 'ebgp-over-ibgp'],
  ['clusterList', 'cluster-list-length'],
  ['routerId', 'router-id'],
  ['address', 'peer-address'],
  ['pathId', 'path-id'],
];

function fromSpec(s: Spec): Route {
  const address = s.address ? '192.0.2.1' : '192.0.2.2';
  const routerId = s.routerId ? '10.0.0.1' : '10.0.0.2';
  const p = peer({
    id: `${address}/${routerId}/${s.ebgp}`,
    address,
    routerId,
    ibgp: !s.ebgp,
    asn: s.ebgp ? 65001 : 65000,
  });
  return route(
    {
      nextHop: s.nextHop ? '192.0.2.7' : UNRESOLVABLE,
      localPref: s.localPref ? 200 : 100,
      // both paths start with AS 65001, so MED is compared
      asPath: [{ type: SEQ, asns: s.asPath ? [65001] : [65001, 65002] }],
      origin: s.origin ? Origin.IGP : Origin.INCOMPLETE,
      med: s.med ? 10 : 20,
      clusterList: s.clusterList ? [] : ['10.9.9.9'],
    },
    p,
    s.pathId ? 1 : 2,
  );
}

function specFor(k: number, winner: boolean): Spec {
  const s = {} as Spec;
  STEPS.forEach(([step], i) => {
    s[step] = i < k ? true : i === k ? winner : !winner;
  });
  return s;
}

describe('compareRoutes: each step decides when every earlier one ties', () => {
  for (const [k, [step, reason]] of STEPS.entries()) {
    it(`${step} -> ${reason}`, () => {
      const w = fromSpec(specFor(k, true));
      const l = fromSpec(specFor(k, false));
      expect(compareRoutes(w, l, OPTS)).toEqual({ winner: w, loser: l, reason });
      expect(compareRoutes(l, w, OPTS)).toEqual({ winner: w, loser: l, reason });
    });
  }

  it('equal: nothing tells them apart, the first argument wins', () => {
    const a = fromSpec(specFor(STEPS.length, true));
    const b: Route = { ...a, attributes: { ...a.attributes } };
    expect(compareRoutes(a, b, OPTS)).toEqual({ winner: a, loser: b, reason: 'equal' });
    expect(compareRoutes(b, a, OPTS)).toEqual({ winner: b, loser: a, reason: 'equal' });
  });

  it('interned (identical) attribute sets skip to the session step', () => {
    const attributes: RouteAttributes = { origin: Origin.IGP, nextHop: '192.0.2.1', localPref: 100 };
    const a: Route = { family: IPV4_UNICAST, prefix: 64, peer: peer({ ibgp: true }), attributes };
    const b: Route = { ...a, peer: peer({ address: '192.0.2.2', ibgp: false }) };
    expect(compareRoutes(a, b, OPTS)).toMatchObject({ winner: b, reason: 'ebgp-over-ibgp' });
  });
});

describe('compareRoutes: details of the steps', () => {
  it('two unresolvable next hops: the remaining steps still order them', () => {
    const a = route({ nextHop: UNRESOLVABLE, localPref: 200 });
    const b = route({ nextHop: UNRESOLVABLE, localPref: 100 }, peer({ address: '192.0.2.2' }));
    expect(compareRoutes(b, a, OPTS)).toMatchObject({ winner: a, reason: 'local-pref' });
  });

  it('without a resolver every next hop is resolvable', () => {
    const a = route({ nextHop: UNRESOLVABLE });
    const b = route({ med: 5 });
    expect(compareRoutes(a, b, { alwaysCompareMed: false, defaultLocalPref: 100 })).toMatchObject({
      winner: a,
      reason: 'med',
    });
  });

  it('a route without LOCAL_PREF counts as defaultLocalPref', () => {
    const none = route({});
    const p2 = peer({ address: '192.0.2.2', routerId: '10.0.0.2' });
    expect(compareRoutes(none, route({ localPref: 100 }, p2), OPTS).reason).toBe('router-id');
    const higher = route({ localPref: 150 }, p2);
    expect(compareRoutes(none, higher, OPTS)).toMatchObject({ winner: higher, reason: 'local-pref' });
    expect(
      compareRoutes(route({ localPref: 150 }, p2), none, { ...OPTS, defaultLocalPref: 200 }),
    ).toMatchObject({ winner: none, reason: 'local-pref' });
  });

  it('AS_PATH: an AS_SET counts 1, confederation segments 0, a missing path 0', () => {
    const withSet = route({
      asPath: [
        { type: SEQ, asns: [65001, 65002] },
        { type: SET, asns: [1, 2, 3, 4] },
      ],
    });
    const three = route(
      { asPath: [{ type: SEQ, asns: [65001, 65002, 65003] }] },
      peer({ address: '192.0.2.2' }),
    );
    const four = route({ asPath: [{ type: SEQ, asns: [65001, 65002, 65003, 65004] }] });
    // 3 == 3: decided later
    expect(compareRoutes(withSet, three, OPTS).reason).toBe('peer-address');
    expect(compareRoutes(four, withSet, OPTS)).toMatchObject({ winner: withSet, reason: 'as-path-length' });

    const confed = route({
      asPath: [
        { type: CONFED_SEQ, asns: [64512, 64513, 64514] },
        { type: CONFED_SET, asns: [64515, 64516] },
        { type: SEQ, asns: [65001] },
      ],
    });
    const two = route({ asPath: [{ type: SEQ, asns: [65001, 65002] }] }, peer({ address: '192.0.2.2' }));
    expect(compareRoutes(two, confed, OPTS)).toMatchObject({ winner: confed, reason: 'as-path-length' });

    const missing = route({ asPath: undefined });
    const empty = route({ asPath: [] }, peer({ address: '192.0.2.2' }));
    expect(compareRoutes(empty, missing, OPTS)).toMatchObject({ winner: missing, reason: 'peer-address' });
    expect(compareRoutes(two, missing, OPTS)).toMatchObject({ winner: missing, reason: 'as-path-length' });
  });

  it('ORIGIN: IGP < EGP < INCOMPLETE; a missing ORIGIN counts as INCOMPLETE', () => {
    const p2 = peer({ address: '192.0.2.2', routerId: '10.0.0.2' });
    expect(
      compareRoutes(route({ origin: Origin.EGP }, p2), route({ origin: Origin.IGP }), OPTS),
    ).toMatchObject({
      reason: 'origin',
      winner: { attributes: { origin: Origin.IGP } },
    });
    expect(
      compareRoutes(route({ origin: Origin.EGP }), route({ origin: Origin.INCOMPLETE }, p2), OPTS),
    ).toMatchObject({ reason: 'origin', winner: { attributes: { origin: Origin.EGP } } });
    expect(
      compareRoutes(route({ origin: undefined }), route({ origin: Origin.INCOMPLETE }, p2), OPTS).reason,
    ).toBe('router-id');
  });
});

describe('MED', () => {
  const p2 = peer({ address: '192.0.2.2', routerId: '10.0.0.2' });
  const path = (...asns: number[]) => [{ type: SEQ, asns }];

  it('is compared between routes from the same neighbour AS; a missing MED is 0', () => {
    const low = route({ asPath: path(65002, 65010), med: 5 }, p2);
    const high = route({ asPath: path(65002, 65011), med: 50 });
    expect(compareRoutes(high, low, OPTS)).toMatchObject({ winner: low, reason: 'med' });
    const missing = route({ asPath: path(65002, 65011) }, p2);
    expect(compareRoutes(low, missing, OPTS)).toMatchObject({ winner: missing, reason: 'med' });
  });

  it('is skipped between different neighbour ASes, unless alwaysCompareMed', () => {
    const low = route({ asPath: path(65003, 65010), med: 5 }, p2);
    const high = route({ asPath: path(65002, 65010), med: 50 });
    expect(compareRoutes(high, low, OPTS)).toMatchObject({ winner: high, reason: 'router-id' });
    expect(compareRoutes(high, low, ALWAYS_MED)).toMatchObject({ winner: low, reason: 'med' });
  });

  it('empty and missing paths share the neighbour AS 0 (local); so does a path starting with AS_SET', () => {
    expect(compareRoutes(route({ asPath: [], med: 5 }, p2), route({ med: 50 }), OPTS).reason).toBe('med');
    expect(neighbourAs({ nextHop: '192.0.2.1', asPath: [{ type: SET, asns: [65001] }] })).toBe(0);
    const setFirst = [
      { type: SET, asns: [65001] },
      { type: SEQ, asns: [65002] },
    ];
    expect(neighbourAs({ nextHop: '192.0.2.1', asPath: setFirst })).toBe(0);
    const set = route({ asPath: [{ type: SET, asns: [65001, 65002] }], med: 5 }, p2);
    const set2 = route({ asPath: [{ type: SET, asns: [65003] }], med: 50 });
    expect(compareRoutes(set2, set, OPTS)).toMatchObject({ winner: set, reason: 'med' });
  });

  it('the neighbour AS skips confederation segments', () => {
    const confed = [
      { type: CONFED_SEQ, asns: [64512] },
      { type: SEQ, asns: [65002] },
    ];
    expect(neighbourAs({ nextHop: '192.0.2.1', asPath: confed })).toBe(65002);
    expect(neighbourAs({ nextHop: '192.0.2.1', asPath: [{ type: CONFED_SET, asns: [1] }] })).toBe(0);
    expect(neighbourAs({ nextHop: '192.0.2.1' })).toBe(0);
    const a = route({ asPath: confed, med: 5 }, p2);
    const b = route({ asPath: path(65002), med: 50 });
    expect(compareRoutes(b, a, OPTS)).toMatchObject({ winner: a, reason: 'med' });
  });
});

describe('session type, cluster list, identifiers, addresses', () => {
  it('local routes beat eBGP and iBGP; eBGP beats iBGP', () => {
    const local = route(
      {},
      peer({ id: LOCAL_PEER_ID, address: '192.0.2.200', routerId: '10.0.0.200', ibgp: false }),
    );
    const ebgp = route({}, peer({ address: '192.0.2.2', ibgp: false }));
    const ibgp = route({}, peer({ address: '192.0.2.3', ibgp: true, asn: 65000 }));
    expect(compareRoutes(ebgp, local, OPTS)).toMatchObject({ winner: local, reason: 'local-route' });
    expect(compareRoutes(ibgp, local, OPTS)).toMatchObject({ winner: local, reason: 'local-route' });
    expect(compareRoutes(ibgp, ebgp, OPTS)).toMatchObject({ winner: ebgp, reason: 'ebgp-over-ibgp' });
  });

  it('our own route beats a learned one before LOCAL_PREF (BIRD static preference, FRR weight)', () => {
    const local = route({}, peer({ id: LOCAL_PEER_ID, address: '192.0.2.200', routerId: '10.0.0.200' }));
    const learned = route(
      { localPref: 300, origin: Origin.IGP, asPath: [] },
      peer({ address: '192.0.2.3', ibgp: true, asn: 65000 }),
    );
    expect(compareRoutes(learned, local, OPTS)).toMatchObject({ winner: local, reason: 'local-route' });
    expect(bestRoute([learned, local], OPTS)).toMatchObject({ best: local, reason: 'local-route' });
    // an unresolvable next hop still comes first: our route must be usable to win
    const unresolvable = { ...OPTS, nextHopResolvable: (r: Route) => r !== local };
    expect(bestRoute([learned, local], unresolvable)).toMatchObject({ best: learned });
  });

  it('a missing CLUSTER_LIST has length 0', () => {
    const none = route({}, peer({ routerId: '10.0.0.9' }));
    const one = route({ clusterList: ['10.0.0.1'] }, peer({ address: '192.0.2.2' }));
    expect(compareRoutes(one, none, OPTS)).toMatchObject({ winner: none, reason: 'cluster-list-length' });
  });

  it('ORIGINATOR_ID takes the place of the peer router id (RFC 4456 9)', () => {
    // the peer with the lower router id loses: its route carries a higher ORIGINATOR_ID
    const viaRr = route({ originatorId: '10.0.0.9' }, peer({ routerId: '10.0.0.1' }));
    const direct = route({}, peer({ address: '192.0.2.2', routerId: '10.0.0.5' }));
    expect(compareRoutes(viaRr, direct, OPTS)).toMatchObject({ winner: direct, reason: 'router-id' });
    // the same originator through two reflectors: the peer address decides
    const rr2 = route({ originatorId: '10.0.0.9' }, peer({ address: '192.0.2.2', routerId: '10.0.0.2' }));
    expect(compareRoutes(rr2, viaRr, OPTS)).toMatchObject({ winner: viaRr, reason: 'peer-address' });
  });

  it('router ids compare as numbers, not text', () => {
    const nine = route({}, peer({ routerId: '10.0.0.9', address: '192.0.2.2' }));
    const ten = route({}, peer({ routerId: '10.0.0.10' }));
    expect(compareRoutes(ten, nine, OPTS)).toMatchObject({ winner: nine, reason: 'router-id' });
  });

  it('peer addresses: IPv4 numerically, IPv6 by bytes, IPv4 before IPv6', () => {
    const at = (address: string) => route({}, peer({ address }));
    expect(compareRoutes(at('192.0.2.10'), at('192.0.2.9'), OPTS)).toMatchObject({
      winner: { peer: { address: '192.0.2.9' } },
      reason: 'peer-address',
    });
    expect(compareRoutes(at('2001:db8::10'), at('2001:db8::9'), OPTS).winner.peer.address).toBe(
      '2001:db8::9',
    );
    expect(compareRoutes(at('2001:db8::a'), at('2001:db8:0::b'), OPTS).winner.peer.address).toBe(
      '2001:db8::a',
    );
    expect(compareRoutes(at('fe80::1'), at('255.255.255.255'), OPTS).winner.peer.address).toBe(
      '255.255.255.255',
    );
    expect(compareAddresses('2001:db8::1', '2001:0db8:0:0::1')).toBe(0);
    expect(compareAddresses('not-an-address', '2001:db8::1')).toBeGreaterThan(0);
  });

  it('path ids: a missing one counts as 0', () => {
    const p = peer();
    const none = route({}, p);
    expect(compareRoutes(route({}, p, 1), none, OPTS)).toMatchObject({ winner: none, reason: 'path-id' });
  });
});

describe('compareRanked', () => {
  /** compareRanked's step numbers (-step: the first wins, +step: the second), as reasons. */
  const STEP_NAMES: readonly DecisionReason[] = [
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

  it('answers as compareRoutes on every pair, text router ids and addresses included', () => {
    const shared: Partial<RouteAttributes> = { localPref: 200, clusterList: ['10.9.9.9'] };
    const peers = [
      peer({ routerId: '10.0.0.9', address: '192.0.2.2' }),
      peer({ routerId: '10.0.0.10', address: '192.0.2.10' }),
      peer({ routerId: 'not-an-id', address: '2001:db8::1' }),
      peer({ routerId: 'zz', address: 'not-an-address' }),
      peer({ routerId: '10.0.0.9', address: 'fe80::1', ibgp: true }),
      peer({ id: LOCAL_PEER_ID, routerId: '10.0.0.9', address: '192.0.2.2' }),
    ];
    const sets: Partial<RouteAttributes>[] = [
      {},
      { originatorId: '10.0.0.1' },
      { originatorId: 'odd' },
      { localPref: 200, med: 5, asPath: [{ type: SEQ, asns: [65001, 65002] }] },
      { med: 5, asPath: [{ type: SEQ, asns: [65002] }] },
      { med: 5 },
      { clusterList: ['10.9.9.9'] },
      { origin: Origin.INCOMPLETE },
    ];
    // one attribute object per set, shared between routes as the interner makes them
    const objects = sets.map((a) => route(a).attributes);
    const routes: Route[] = [];
    for (const p of peers) {
      for (const attributes of objects) routes.push({ ...route({}, p), attributes });
      routes.push(route(shared, p, 1), route(shared, p, 2));
    }
    const setRanks = new Map<RouteAttributes, AttributeRank>();
    const peerRanks = new Map<PeerInfo, PeerRank>();
    const ranks = (r: Route) => {
      if (!setRanks.has(r.attributes)) setRanks.set(r.attributes, new AttributeRank(r.attributes));
      if (!peerRanks.has(r.peer)) peerRanks.set(r.peer, new PeerRank(r.peer));
      return [setRanks.get(r.attributes)!, peerRanks.get(r.peer)!, r.pathId ?? 0] as const;
    };
    const reasons = new Set<DecisionReason>();
    for (const a of routes) {
      for (const b of routes) {
        const [x, p, i] = ranks(a);
        const [y, q, j] = ranks(b);
        for (const opts of [OPTS, ALWAYS_MED]) {
          const c = compareRanked(x, p, i, y, q, j, opts);
          const want = compareRoutes(a, b, opts);
          reasons.add(want.reason);
          expect(STEP_NAMES[Math.abs(c)]).toBe(want.reason);
          if (c !== 0) expect(c < 0 ? a : b).toBe(want.winner);
        }
      }
    }
    // every step after resolvability took part
    expect([...reasons].sort()).toEqual(
      [
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
        'equal',
      ].sort(),
    );
  });
});

describe('bestRoute', () => {
  const a = route({ localPref: 300 }, peer({ address: '192.0.2.1' }));
  const b = route({ localPref: 200 }, peer({ address: '192.0.2.2' }));
  const c = route({ localPref: 200, med: 5 }, peer({ address: '192.0.2.3' }));
  const dead = route({ localPref: 900, nextHop: UNRESOLVABLE }, peer({ address: '192.0.2.4' }));

  it('only-route, none, and no eligible route', () => {
    expect(bestRoute([a], OPTS)).toEqual({ best: a, reason: 'only-route' });
    expect(bestRoute([], OPTS)).toBeUndefined();
    expect(bestRoute([dead], OPTS)).toBeUndefined();
    expect(bestRoute([dead, dead], OPTS)).toBeUndefined();
    expect(bestRoute([dead, b], OPTS)).toEqual({ best: b, reason: 'only-route' });
  });

  it('the reason is the step at which best beat the runner-up', () => {
    for (const order of [
      [a, b, c, dead],
      [dead, c, b, a],
      [b, dead, a, c],
    ]) {
      expect(bestRoute(order, OPTS)).toEqual({ best: a, reason: 'local-pref' });
    }
    expect(bestRoute([c, b, dead], OPTS)).toEqual({ best: b, reason: 'med' });
    // a route that ties best at a later step is the runner-up
    const a2 = route({ localPref: 300 }, peer({ address: '192.0.2.9' }));
    expect(bestRoute([b, a, c, a2], OPTS)).toEqual({ best: a, reason: 'peer-address' });
    expect(bestRoute([a2, b, c, a], OPTS)).toEqual({ best: a, reason: 'peer-address' });
  });

  it('MED across neighbour ASes: RFC 4271 elimination, whatever the order (no cycle)', () => {
    // pairwise: x beats y (MED, same AS 65001), y beats z (router id), z beats x (router id)
    const x = route({ asPath: [{ type: SEQ, asns: [65001] }], med: 10 }, peer({ routerId: '10.0.0.1' }));
    const y = route(
      { asPath: [{ type: SEQ, asns: [65001] }], med: 5 },
      peer({ address: '192.0.2.2', routerId: '10.0.0.3' }),
    );
    const z = route(
      { asPath: [{ type: SEQ, asns: [65002] }], med: 7 },
      peer({ address: '192.0.2.3', routerId: '10.0.0.2' }),
    );
    expect(compareRoutes(x, y, OPTS).winner).toBe(y);
    expect(compareRoutes(y, z, OPTS).winner).toBe(z);
    expect(compareRoutes(z, x, OPTS).winner).toBe(x);
    // RFC: x is removed by y (same AS, higher MED); of y and z, z has the lower router id
    for (const order of [
      [x, y, z],
      [x, z, y],
      [y, x, z],
      [y, z, x],
      [z, x, y],
      [z, y, x],
    ]) {
      expect(bestRoute(order, OPTS)).toEqual({ best: z, reason: 'router-id' });
    }
    // always-compare-med: a total order, y wins on MED
    expect(bestRoute([x, y, z], ALWAYS_MED)).toEqual({ best: y, reason: 'med' });
    // without z the runner-up of the AS 65001 group is x, beaten on MED
    expect(bestRoute([z, x], OPTS)).toEqual({ best: x, reason: 'router-id' });
  });
});

describe('multipathSet', () => {
  it('keeps the routes that tie with best down to the cluster list', () => {
    const best = route({}, peer({ routerId: '10.0.0.1' }));
    const sameButId = route({}, peer({ address: '192.0.2.2', routerId: '10.0.0.2' }));
    const sameButAddress = route({}, peer({ address: '192.0.2.3', routerId: '10.0.0.1' }));
    const addPath = route({}, peer({ routerId: '10.0.0.1' }), 7);
    const longerCluster = route({ clusterList: ['1.1.1.1'] }, peer({ address: '192.0.2.4' }));
    const higherMed = route({ med: 1 }, peer({ address: '192.0.2.5' }));
    const ibgp = route({}, peer({ address: '192.0.2.6', ibgp: true }));
    const dead = route({ nextHop: UNRESOLVABLE }, peer({ address: '192.0.2.7' }));
    const all = [dead, ibgp, sameButId, longerCluster, best, higherMed, addPath, sameButAddress];
    expect(bestRoute(all, OPTS)?.best).toBe(best);
    expect(multipathSet(all, best, OPTS)).toEqual([best, sameButId, addPath, sameButAddress]);
    expect(multipathSet([best], best, OPTS)).toEqual([best]);
  });
});

describe('explainRanking', () => {
  it('ranks every candidate; each beats the next at reasonAgainstNext; unresolvable ones last', () => {
    const a = route({ localPref: 300 });
    const b = route({ localPref: 200 }, peer({ address: '192.0.2.2' }));
    const c = route({ localPref: 200 }, peer({ address: '192.0.2.3' }));
    const d1 = route({ nextHop: UNRESOLVABLE, localPref: 900 }, peer({ address: '192.0.2.4' }));
    const d2 = route({ nextHop: UNRESOLVABLE, localPref: 100 }, peer({ address: '192.0.2.5' }));
    expect(explainRanking([d2, c, d1, b, a], OPTS)).toEqual([
      { route: a, rank: 1, reasonAgainstNext: 'local-pref' },
      { route: b, rank: 2, reasonAgainstNext: 'peer-address' },
      { route: c, rank: 3, reasonAgainstNext: 'next-hop-unresolvable' },
      { route: d1, rank: 4, reasonAgainstNext: 'local-pref' },
      { route: d2, rank: 5 },
    ]);
    expect(explainRanking([], OPTS)).toEqual([]);
  });
});
