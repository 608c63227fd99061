// Export rules: what a route looks like when sent to one peer (RFC 4271 5.1, 9.1.3; RFC 1997; RFC 4456;
// RFC 5065), or why it is not sent. Every input is deep-frozen: exportRoute must not modify it, and
// every accepted case checks the exact attribute set sent.

import { describe, expect, it } from 'vitest';
import type { AsPathSegment } from '../../src/bgp/messages/attributes/types.js';
import { AsPathSegmentType, IPV4_UNICAST, IPV6_UNICAST, Origin } from '../../src/bgp/messages/iana.js';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import {
  type ExportContext,
  exportKey,
  exportRoute,
  exportSourceKey,
  prependAs,
  WellKnownCommunity,
} from '../../src/bgp/rib/export.js';
import type { PeerInfo, Route } from '../../src/bgp/rib/types.js';
import { reflectorConfig } from '../../src/reflector/index.js';
import { deepFreeze } from '../helpers/bytes.js';
import { AS, clientA, clientB, ebgpE, ebgpF, local, nonClientM, nonClientN } from '../helpers/peers.js';

const { AS_SEQUENCE: SEQ, AS_SET: SET, AS_CONFED_SEQUENCE: CSEQ, AS_CONFED_SET: CSET } = AsPathSegmentType;

const RR = reflectorConfig('10.0.0.100', '1.1.1.1');
const SELF4 = '10.0.0.100';
const SELF6 = '2001:db8::100';

function ctx(to: PeerInfo, over: Partial<ExportContext> = {}): ExportContext {
  return deepFreeze({
    to,
    nextHopSelf: 'auto',
    localNextHop: { ipv4: SELF4, ipv6: SELF6 },
    addPathSend: false,
    ...over,
  });
}

function route(from: PeerInfo, attributes: RouteAttributes, family = IPV4_UNICAST): Route {
  return deepFreeze({
    family,
    prefix: family === IPV4_UNICAST ? 42 : '2001:db8:1::/64',
    peer: from,
    attributes,
  });
}

/** exportRoute, checking that the route is left exactly as it was. */
function run(r: Route, c: ExportContext) {
  const before = structuredClone(r);
  const out = exportRoute(r, c);
  expect(r).toStrictEqual(before);
  return out;
}

function sent(r: Route, c: ExportContext): RouteAttributes {
  const out = run(r, c);
  if (!out.send) throw new Error(`expected the route to be sent, got ${out.reason}`);
  expect(out.attributes).not.toBe(r.attributes);
  return out.attributes;
}

/** A route as learned from an iBGP peer. */
const ibgpAttrs: RouteAttributes = deepFreeze({
  origin: Origin.IGP,
  asPath: [],
  nextHop: '10.0.0.1',
  localPref: 100,
  med: 5,
});

/** A route as learned from an eBGP peer. */
const ebgpAttrs: RouteAttributes = deepFreeze({
  origin: Origin.IGP,
  asPath: [{ type: SEQ, asns: [65001, 65010] }],
  nextHop: '192.0.2.1',
  med: 7,
  communities: [0xfde80001],
});

/** Our own route, as origination builds it. */
const localAttrs: RouteAttributes = deepFreeze({
  origin: Origin.IGP,
  asPath: [],
  nextHop: '0.0.0.0',
  med: 3,
  localPref: 200,
});

describe('who gets the route', () => {
  it('never the peer it came from', () => {
    expect(run(route(ebgpE, ebgpAttrs), ctx(ebgpE))).toStrictEqual({ send: false, reason: 'same-peer' });
    expect(run(route(clientA, ibgpAttrs), ctx(clientA, { reflector: RR }))).toStrictEqual({
      send: false,
      reason: 'same-peer',
    });
  });

  it('iBGP-learned routes do not go to iBGP peers without reflection (RFC 4271 9.1.3)', () => {
    expect(run(route(nonClientM, ibgpAttrs), ctx(nonClientN))).toStrictEqual({
      send: false,
      reason: 'ibgp-split-horizon',
    });
    // rrClient flags without a reflector config: still not reflected
    expect(run(route(clientA, ibgpAttrs), ctx(clientB))).toStrictEqual({
      send: false,
      reason: 'ibgp-split-horizon',
    });
  });

  it('as a reflector: non-client to non-client is still split horizon (RFC 4456 6)', () => {
    expect(run(route(nonClientM, ibgpAttrs), ctx(nonClientN, { reflector: RR }))).toStrictEqual({
      send: false,
      reason: 'ibgp-split-horizon',
    });
  });

  it.each([
    ['client -> client', clientA, clientB],
    ['client -> non-client', clientA, nonClientM],
    ['non-client -> client', nonClientM, clientA],
  ])('as a reflector: %s is reflected', (_name, from, to) => {
    expect(sent(route(from, ibgpAttrs), ctx(to, { reflector: RR }))).toStrictEqual({
      origin: Origin.IGP,
      asPath: [],
      nextHop: '10.0.0.1',
      localPref: 100,
      med: 5,
      originatorId: from.routerId,
      clusterList: ['1.1.1.1'],
    });
  });

  it('iBGP-learned routes go to eBGP peers, eBGP-learned and local ones to iBGP peers, unreflected', () => {
    expect(sent(route(nonClientM, ibgpAttrs), ctx(ebgpE)).originatorId).toBeUndefined();
    const a = sent(route(ebgpE, ebgpAttrs), ctx(nonClientM, { reflector: RR }));
    expect(a.originatorId).toBeUndefined();
    expect(a.clusterList).toBeUndefined();
    expect(sent(route(local, localAttrs), ctx(clientA, { reflector: RR })).clusterList).toBeUndefined();
  });

  it('not to the peer whose router id is the ORIGINATOR_ID', () => {
    const fromM = route(clientA, { ...ibgpAttrs, originatorId: nonClientM.routerId });
    expect(run(fromM, ctx(nonClientM, { reflector: RR }))).toStrictEqual({
      send: false,
      reason: 'originator-is-peer',
    });
    // a second session (other family, other address) to the router the route came from
    const clientA6: PeerInfo = { ...clientA, id: 'A6', address: '2001:db8::1' };
    expect(run(route(clientA, ibgpAttrs), ctx(clientA6, { reflector: RR }))).toStrictEqual({
      send: false,
      reason: 'originator-is-peer',
    });
  });

  it('NO_ADVERTISE: to no peer (RFC 1997)', () => {
    const attrs = { ...ebgpAttrs, communities: [WellKnownCommunity.NO_ADVERTISE] };
    for (const to of [nonClientM, clientA, ebgpF]) {
      expect(run(route(ebgpE, attrs), ctx(to, { reflector: RR }))).toStrictEqual({
        send: false,
        reason: 'no-advertise',
      });
    }
    expect(run(route(local, { ...localAttrs, communities: [1, 0xffffff02] }), ctx(nonClientM))).toStrictEqual(
      {
        send: false,
        reason: 'no-advertise',
      },
    );
  });

  it('NO_EXPORT and NO_EXPORT_SUBCONFED: to iBGP peers only (RFC 1997)', () => {
    for (const c of [WellKnownCommunity.NO_EXPORT, WellKnownCommunity.NO_EXPORT_SUBCONFED]) {
      const attrs = { ...ebgpAttrs, communities: [0xfde80001, c] };
      expect(run(route(ebgpE, attrs), ctx(ebgpF))).toStrictEqual({ send: false, reason: 'no-export' });
      expect(run(route(local, { ...localAttrs, communities: [c] }), ctx(ebgpF))).toStrictEqual({
        send: false,
        reason: 'no-export',
      });
      expect(sent(route(ebgpE, attrs), ctx(nonClientM)).communities).toStrictEqual([0xfde80001, c]);
    }
  });

  it('split horizon is reported before communities', () => {
    const attrs = { ...ibgpAttrs, communities: [WellKnownCommunity.NO_ADVERTISE] };
    expect(run(route(nonClientM, attrs), ctx(nonClientN))).toStrictEqual({
      send: false,
      reason: 'ibgp-split-horizon',
    });
  });
});

describe('to an eBGP peer (RFC 4271 5.1)', () => {
  it('prepends our AS, drops LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST and a learned MED; next hop self', () => {
    const attrs: RouteAttributes = {
      origin: Origin.EGP,
      asPath: [{ type: SEQ, asns: [65100] }],
      nextHop: '10.0.0.1',
      localPref: 300,
      med: 5,
      originatorId: '10.0.0.9',
      clusterList: ['2.2.2.2'],
      communities: [0xfde80001],
      largeCommunities: [{ globalAdmin: 64512, localData1: 1, localData2: 2 }],
      atomicAggregate: true,
      aggregator: { as: 65100, address: '10.1.1.1' },
    };
    expect(sent(route(clientA, attrs), ctx(ebgpE, { reflector: RR }))).toStrictEqual({
      origin: Origin.EGP,
      asPath: [{ type: SEQ, asns: [AS, 65100] }],
      nextHop: SELF4,
      communities: [0xfde80001],
      largeCommunities: [{ globalAdmin: 64512, localData1: 1, localData2: 2 }],
      atomicAggregate: true,
      aggregator: { as: 65100, address: '10.1.1.1' },
    });
  });

  it('an eBGP-learned route to another eBGP peer: MED dropped (RFC 4271 5.1.4)', () => {
    expect(sent(route(ebgpE, ebgpAttrs), ctx(ebgpF))).toStrictEqual({
      origin: Origin.IGP,
      asPath: [{ type: SEQ, asns: [AS, 65001, 65010] }],
      nextHop: SELF4,
      communities: [0xfde80001],
    });
  });

  it('our own route keeps its MED and gets AS_PATH = our AS', () => {
    expect(sent(route(local, localAttrs), ctx(ebgpE))).toStrictEqual({
      origin: Origin.IGP,
      asPath: [{ type: SEQ, asns: [AS] }],
      nextHop: SELF4,
      med: 3,
    });
  });

  it('the AS presented to the peer is the one prepended (local as override)', () => {
    const to: PeerInfo = { ...ebgpE, localAsn: 65300 };
    expect(sent(route(local, localAttrs), ctx(to)).asPath).toStrictEqual([{ type: SEQ, asns: [65300] }]);
  });

  it('a missing AS_PATH becomes our AS alone', () => {
    const { asPath: _drop, ...noPath } = ebgpAttrs;
    expect(sent(route(nonClientM, noPath), ctx(ebgpF)).asPath).toStrictEqual([{ type: SEQ, asns: [AS] }]);
  });

  it("next hop 'keep' keeps the next hop and its link-local address; 'self' sets ours", () => {
    const v6: RouteAttributes = {
      origin: Origin.IGP,
      asPath: [],
      nextHop: '2001:db8::1',
      linkLocalNextHop: 'fe80::1',
    };
    expect(sent(route(nonClientM, v6, IPV6_UNICAST), ctx(ebgpE, { nextHopSelf: 'keep' }))).toStrictEqual({
      origin: Origin.IGP,
      asPath: [{ type: SEQ, asns: [AS] }],
      nextHop: '2001:db8::1',
      linkLocalNextHop: 'fe80::1',
    });
    for (const nextHopSelf of ['self', 'auto'] as const) {
      expect(sent(route(nonClientM, v6, IPV6_UNICAST), ctx(ebgpE, { nextHopSelf }))).toStrictEqual({
        origin: Origin.IGP,
        asPath: [{ type: SEQ, asns: [AS] }],
        nextHop: SELF6,
      });
    }
  });

  it('our own routes get next hop self even with keep', () => {
    expect(sent(route(local, localAttrs), ctx(ebgpE, { nextHopSelf: 'keep' })).nextHop).toBe(SELF4);
  });

  it('no address of the route family for next hop self: not sent', () => {
    expect(run(route(ebgpE, ebgpAttrs), ctx(ebgpF, { localNextHop: { ipv6: SELF6 } }))).toStrictEqual({
      send: false,
      reason: 'no-next-hop',
    });
    const v6: RouteAttributes = { origin: Origin.IGP, asPath: [], nextHop: '2001:db8::1' };
    expect(
      run(route(nonClientM, v6, IPV6_UNICAST), ctx(ebgpF, { localNextHop: { ipv4: SELF4 } })),
    ).toStrictEqual({ send: false, reason: 'no-next-hop' });
    // keep needs no address of ours
    expect(sent(route(ebgpE, ebgpAttrs), ctx(ebgpF, { nextHopSelf: 'keep', localNextHop: {} })).nextHop).toBe(
      '192.0.2.1',
    );
  });
});

describe('AS_PATH on leaving the AS', () => {
  const cases: [string, AsPathSegment[], AsPathSegment[]][] = [
    ['empty', [], [{ type: SEQ, asns: [AS] }]],
    ['empty leading sequence', [{ type: SEQ, asns: [] }], [{ type: SEQ, asns: [AS] }]],
    [
      'leading sequence',
      [
        { type: SEQ, asns: [1, 2] },
        { type: SET, asns: [3, 4] },
      ],
      [
        { type: SEQ, asns: [AS, 1, 2] },
        { type: SET, asns: [3, 4] },
      ],
    ],
    [
      'leading set',
      [{ type: SET, asns: [3, 4] }],
      [
        { type: SEQ, asns: [AS] },
        { type: SET, asns: [3, 4] },
      ],
    ],
    [
      'confederation segments stripped (RFC 5065)',
      [
        { type: CSEQ, asns: [65501, 65502] },
        { type: CSET, asns: [65503] },
        { type: SEQ, asns: [1] },
      ],
      [{ type: SEQ, asns: [AS, 1] }],
    ],
    [
      'a sequence of 254 still has room',
      [{ type: SEQ, asns: Array.from({ length: 254 }, (_, i) => i + 1) }],
      [{ type: SEQ, asns: [AS, ...Array.from({ length: 254 }, (_, i) => i + 1)] }],
    ],
    [
      'a full sequence of 255: a new segment',
      [{ type: SEQ, asns: Array.from({ length: 255 }, (_, i) => i + 1) }],
      [
        { type: SEQ, asns: [AS] },
        { type: SEQ, asns: Array.from({ length: 255 }, (_, i) => i + 1) },
      ],
    ],
  ];
  it.each(cases)('%s', (_name, path, expected) => {
    const attrs: RouteAttributes = { origin: Origin.IGP, asPath: path, nextHop: '10.0.0.1' };
    expect(sent(route(nonClientM, attrs), ctx(ebgpE)).asPath).toStrictEqual(expected);
  });

  it('prependAs does not modify its input', () => {
    const path = deepFreeze([{ type: SEQ, asns: [1] }]);
    expect(prependAs(path, 2)).toStrictEqual([{ type: SEQ, asns: [2, 1] }]);
    expect(path).toStrictEqual([{ type: SEQ, asns: [1] }]);
  });
});

describe('to an iBGP peer (RFC 4271 5.1)', () => {
  it('eBGP-learned: AS_PATH and MED kept, LOCAL_PREF 100 added, next hop kept (auto)', () => {
    expect(sent(route(ebgpE, ebgpAttrs), ctx(nonClientM))).toStrictEqual({
      origin: Origin.IGP,
      asPath: [{ type: SEQ, asns: [65001, 65010] }],
      nextHop: '192.0.2.1',
      med: 7,
      communities: [0xfde80001],
      localPref: 100,
    });
  });

  it('a LOCAL_PREF present is kept', () => {
    expect(sent(route(ebgpE, { ...ebgpAttrs, localPref: 250 }), ctx(nonClientM)).localPref).toBe(250);
  });

  it("'self' sets our address and drops the link-local next hop; 'keep' keeps both", () => {
    const v6: RouteAttributes = {
      origin: Origin.IGP,
      asPath: [{ type: SEQ, asns: [65001] }],
      nextHop: '2001:db8::1',
      linkLocalNextHop: 'fe80::1',
      localPref: 100,
    };
    expect(sent(route(ebgpE, v6, IPV6_UNICAST), ctx(nonClientM, { nextHopSelf: 'self' }))).toStrictEqual({
      origin: Origin.IGP,
      asPath: [{ type: SEQ, asns: [65001] }],
      nextHop: SELF6,
      localPref: 100,
    });
    for (const nextHopSelf of ['keep', 'auto'] as const) {
      expect(sent(route(ebgpE, v6, IPV6_UNICAST), ctx(nonClientM, { nextHopSelf }))).toStrictEqual(v6);
    }
  });

  it('our own routes: next hop self even with keep; AS_PATH empty; MED and LOCAL_PREF kept', () => {
    for (const nextHopSelf of ['auto', 'keep', 'self'] as const) {
      expect(sent(route(local, localAttrs), ctx(nonClientM, { nextHopSelf }))).toStrictEqual({
        origin: Origin.IGP,
        asPath: [],
        nextHop: SELF4,
        med: 3,
        localPref: 200,
      });
    }
  });

  it('a missing AS_PATH is sent empty, a missing LOCAL_PREF as 100', () => {
    const attrs: RouteAttributes = { origin: Origin.INCOMPLETE, nextHop: '0.0.0.0' };
    expect(sent(route(local, attrs), ctx(nonClientM))).toStrictEqual({
      origin: Origin.INCOMPLETE,
      asPath: [],
      nextHop: SELF4,
      localPref: 100,
    });
  });

  it('a reflected route: ORIGINATOR_ID kept if present, CLUSTER_LIST prepended, next hop self if asked', () => {
    const attrs: RouteAttributes = {
      ...ibgpAttrs,
      nextHop: '2001:db8::1',
      linkLocalNextHop: 'fe80::1',
      originatorId: '10.0.0.9',
      clusterList: ['2.2.2.2'],
    };
    expect(sent(route(clientA, attrs, IPV6_UNICAST), ctx(clientB, { reflector: RR }))).toStrictEqual({
      ...attrs,
      clusterList: ['1.1.1.1', '2.2.2.2'],
    });
    expect(
      sent(route(clientA, attrs, IPV6_UNICAST), ctx(clientB, { reflector: RR, nextHopSelf: 'self' })),
    ).toStrictEqual({
      origin: Origin.IGP,
      asPath: [],
      nextHop: SELF6,
      localPref: 100,
      med: 5,
      originatorId: '10.0.0.9',
      clusterList: ['1.1.1.1', '2.2.2.2'],
    });
  });
});

describe('cache keys', () => {
  const c = ctx(nonClientM, { reflector: RR });

  it('exportKey is the same for equal contexts and ignores addPathSend', () => {
    expect(exportKey(ctx(nonClientM, { reflector: RR }))).toBe(exportKey(c));
    expect(exportKey(ctx(nonClientM, { reflector: RR, addPathSend: true }))).toBe(exportKey(c));
  });

  it('exportKey changes with everything that changes the result', () => {
    const variants: ExportContext[] = [
      ctx(nonClientN, { reflector: RR }),
      ctx({ ...nonClientM, rrClient: true }, { reflector: RR }),
      ctx({ ...nonClientM, routerId: '10.0.0.99' }, { reflector: RR }),
      ctx({ ...nonClientM, ibgp: false, asn: 65001 }, { reflector: RR }),
      ctx({ ...nonClientM, localAsn: 65300 }, { reflector: RR }),
      ctx(nonClientM),
      ctx(nonClientM, { reflector: reflectorConfig('10.0.0.100', '3.3.3.3') }),
      ctx(nonClientM, { reflector: RR, nextHopSelf: 'self' }),
      ctx(nonClientM, { reflector: RR, nextHopSelf: 'keep' }),
      ctx(nonClientM, { reflector: RR, localNextHop: { ipv4: '10.0.0.101', ipv6: SELF6 } }),
      ctx(nonClientM, { reflector: RR, localNextHop: { ipv4: SELF4 } }),
    ];
    const keys = new Set([exportKey(c), ...variants.map(exportKey)]);
    expect(keys.size).toBe(variants.length + 1);
  });

  it('exportSourceKey tells apart routes with the same attributes from different sources', () => {
    const keys = new Set(
      [
        route(clientA, ibgpAttrs),
        route(clientA, ibgpAttrs, IPV6_UNICAST),
        route(clientB, ibgpAttrs),
        route({ ...clientA, rrClient: false }, ibgpAttrs),
        route(ebgpE, ibgpAttrs),
        route(local, ibgpAttrs),
      ].map(exportSourceKey),
    );
    expect(keys.size).toBe(6);
    expect(exportSourceKey(route(clientA, ebgpAttrs))).toBe(exportSourceKey(route(clientA, ibgpAttrs)));
  });
});
