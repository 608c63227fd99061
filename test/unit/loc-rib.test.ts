// The Loc-RIB (src/bgp/rib/loc-rib.ts): updates and implicit replacement, withdrawals, a peer going
// down, graceful-restart stale routes, the Change reports, candidates kept as cells and built again,
// the IPv4 table, and the reference counts it keeps on interned attribute sets.

import { describe, expect, it } from 'vitest';
import { IPV4_UNICAST, IPV6_UNICAST, Origin } from '../../src/bgp/messages/iana.js';
import { ipv4Key, parseIpv6Prefix } from '../../src/bgp/messages/prefix.js';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import type { DecisionOptions } from '../../src/bgp/rib/decision.js';
import { AttributeInterner } from '../../src/bgp/rib/intern.js';
import { type Change, LocRib } from '../../src/bgp/rib/loc-rib.js';
import type { PeerInfo, Route } from '../../src/bgp/rib/types.js';

const UNRESOLVABLE = '198.51.100.99';
let resolvable = (r: Route): boolean => r.attributes.nextHop !== UNRESOLVABLE;
const OPTS: DecisionOptions = {
  alwaysCompareMed: false,
  defaultLocalPref: 100,
  nextHopResolvable: (r) => resolvable(r),
};

function peer(n: number): PeerInfo {
  return {
    id: `p${n}`,
    address: `192.0.2.${n}`,
    asn: 65000,
    localAsn: 65000,
    ibgp: true,
    routerId: `10.0.0.${n}`,
    rrClient: false,
  };
}
const P1 = peer(1);
const P2 = peer(2);
const P3 = peer(3);

const PFX = ipv4Key(0x0a000000, 26);
const PFX2 = ipv4Key(0x0a000040, 26);

function attrs(localPref: number, nextHop = '192.0.2.100'): RouteAttributes {
  return { origin: Origin.IGP, asPath: [], nextHop, localPref };
}

function route(p: PeerInfo, a: RouteAttributes, prefix: number | string = PFX, pathId?: number): Route {
  const family = typeof prefix === 'number' ? IPV4_UNICAST : IPV6_UNICAST;
  const r: Route = { family, prefix, peer: p, attributes: a };
  return pathId === undefined ? r : { ...r, pathId };
}

/** Changes of bulk operations come in table order; sort them by prefix key. */
function byPrefix(changes: Change[]): Change[] {
  return changes.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

function rib(): LocRib {
  return new LocRib(OPTS);
}

describe('LocRib.update', () => {
  it('a first route is best (only-route); the stored route holds the interned attributes', () => {
    const l = rib();
    const r = route(P1, attrs(100));
    const c = l.update(r);
    const stored = l.best(IPV4_UNICAST, PFX)!;
    expect(c).toEqual({ family: IPV4_UNICAST, prefix: PFX, after: stored, reason: 'only-route' });
    expect(stored).toEqual(r);
    expect(l.interner.isInterned(stored.attributes)).toBe(true);
    expect(l.size).toBe(1);
    expect(l.prefixCount()).toBe(1);
    // already interned attributes: they are stored as given
    const again = route(P2, stored.attributes, PFX2);
    l.update(again);
    expect(l.best(IPV4_UNICAST, PFX2)).toEqual(again);
    expect(l.best(IPV4_UNICAST, PFX2)?.attributes).toBe(again.attributes);
    expect(l.interner.refCount(stored.attributes)).toBe(2);
  });

  it('a better candidate takes over, a worse one changes nothing', () => {
    const l = rib();
    l.update(route(P1, attrs(100)));
    const before = l.best(IPV4_UNICAST, PFX);
    const c = l.update(route(P2, attrs(200)));
    const after = l.best(IPV4_UNICAST, PFX);
    expect(after?.peer).toBe(P2);
    expect(c).toEqual({ family: IPV4_UNICAST, prefix: PFX, before, after, reason: 'local-pref' });
    expect(l.update(route(P3, attrs(50)))).toBeUndefined();
    expect(l.size).toBe(3);
    expect(l.candidates(IPV4_UNICAST, PFX).map((r) => r.peer.id)).toEqual(['p1', 'p2', 'p3']);
    expect([...l.entries(IPV4_UNICAST)]).toEqual([
      { prefix: PFX, routes: l.candidates(IPV4_UNICAST, PFX), best: after, reason: 'local-pref' },
    ]);
  });

  it('implicit replacement: same peer and path id; a change only when the best path or set changes', () => {
    const l = rib();
    l.update(route(P1, attrs(100)));
    l.update(route(P2, attrs(200)));
    // re-announcing the same attributes: nothing visible
    expect(l.update(route(P2, attrs(200)))).toBeUndefined();
    expect(l.size).toBe(2);
    // best's attributes change: a change to the same path
    const c = l.update(route(P2, attrs(300)));
    expect(c?.before?.attributes.localPref).toBe(200);
    expect(c?.after?.attributes.localPref).toBe(300);
    expect(c?.reason).toBe('local-pref');
    // best gets worse than the other candidate: the other takes over
    const c2 = l.update(route(P2, attrs(10)));
    expect(c2?.after?.peer).toBe(P1);
    expect(l.size).toBe(2);
    // the replaced set was released
    expect(l.interner.size).toBe(2);
  });

  it('implicit replacement of a lone route', () => {
    const l = rib();
    l.update(route(P1, attrs(100)));
    expect(l.update(route(P1, attrs(100)))).toBeUndefined();
    const c = l.update(route(P1, attrs(150)));
    expect(c).toMatchObject({
      before: { attributes: { localPref: 100 } },
      after: { attributes: { localPref: 150 } },
    });
    expect(l.size).toBe(1);
    expect(l.interner.size).toBe(1);
  });

  it('ADD-PATH: path ids from one peer are separate candidates', () => {
    const l = rib();
    l.update(route(P1, attrs(100), PFX, 1));
    l.update(route(P1, attrs(200), PFX, 2));
    expect(l.size).toBe(2);
    expect(l.best(IPV4_UNICAST, PFX)?.pathId).toBe(2);
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p1')).toBeUndefined();
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p1', 2)?.after?.pathId).toBe(1);
  });

  it('unresolvable next hops: held as candidates, never best', () => {
    const l = rib();
    expect(l.update(route(P1, attrs(500, UNRESOLVABLE)))).toBeUndefined();
    expect(l.best(IPV4_UNICAST, PFX)).toBeUndefined();
    expect(l.size).toBe(1);
    const c = l.update(route(P2, attrs(100)));
    expect(c).toMatchObject({ after: { peer: P2 }, reason: 'only-route' }); // the only eligible one
    // the lone best becomes unresolvable by replacement
    const l2 = rib();
    l2.update(route(P1, attrs(100)));
    const c2 = l2.update(route(P1, attrs(100, UNRESOLVABLE)));
    expect(c2?.before?.peer).toBe(P1);
    expect(c2?.after).toBeUndefined();
    expect(l2.candidates(IPV4_UNICAST, PFX)).toHaveLength(1);
    expect([...l2.entries(IPV4_UNICAST)]).toEqual([
      { prefix: PFX, routes: l2.candidates(IPV4_UNICAST, PFX) },
    ]);
  });

  it('families are separate tables', () => {
    const l = rib();
    const v6 = parseIpv6Prefix('2001:db8::/64')!;
    l.update(route(P1, attrs(100), v6));
    l.update(route(P1, attrs(100)));
    expect(l.prefixCount(IPV6_UNICAST)).toBe(1);
    expect(l.prefixCount(IPV4_UNICAST)).toBe(1);
    expect(l.families().sort()).toEqual([IPV4_UNICAST, IPV6_UNICAST].sort());
    expect(l.best(IPV6_UNICAST, v6)?.peer).toBe(P1);
    expect(l.best(IPV6_UNICAST, PFX)).toBeUndefined();
  });
});

describe('LocRib.withdraw', () => {
  it('withdrawing best promotes the runner-up; withdrawing others changes nothing', () => {
    const l = rib();
    l.update(route(P1, attrs(100)));
    l.update(route(P2, attrs(200)));
    l.update(route(P3, attrs(150)));
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p1')).toBeUndefined();
    const c = l.withdraw(IPV4_UNICAST, PFX, 'p2');
    expect(c).toMatchObject({ before: { peer: P2 }, after: { peer: P3 }, reason: 'only-route' });
    const c2 = l.withdraw(IPV4_UNICAST, PFX, 'p3');
    expect(c2).toEqual({ family: IPV4_UNICAST, prefix: PFX, before: c?.after });
    expect(l.size).toBe(0);
    expect(l.prefixCount()).toBe(0);
    expect(l.interner.size).toBe(0);
  });

  it('unknown prefix, peer, path id or family: undefined', () => {
    const l = rib();
    l.update(route(P1, attrs(100)));
    expect(l.withdraw(IPV4_UNICAST, PFX2, 'p1')).toBeUndefined();
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p2')).toBeUndefined();
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p1', 5)).toBeUndefined();
    expect(l.withdraw(IPV6_UNICAST, PFX, 'p1')).toBeUndefined();
    expect(l.size).toBe(1);
  });

  it('withdrawing the only eligible candidate leaves no best', () => {
    const l = rib();
    l.update(route(P1, attrs(100, UNRESOLVABLE)));
    l.update(route(P2, attrs(100)));
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p2')).toMatchObject({ before: { peer: P2 } });
    expect(l.best(IPV4_UNICAST, PFX)).toBeUndefined();
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p1')).toBeUndefined();
    expect(l.prefixCount()).toBe(0);
  });
});

describe('LocRib.withdrawPeer', () => {
  it('removes every route of the peer and reports the prefixes whose best changed', () => {
    const l = rib();
    l.update(route(P1, attrs(200), PFX));
    l.update(route(P2, attrs(100), PFX));
    l.update(route(P1, attrs(200), PFX2));
    l.update(route(P1, attrs(200), PFX2, 9));
    l.update(route(P2, attrs(300), ipv4Key(0x0a000080, 26)));
    const v6 = parseIpv6Prefix('2001:db8::/64')!;
    l.update(route(P1, attrs(100), v6));
    const changes = byPrefix(l.withdrawPeer('p1', [IPV4_UNICAST]));
    expect(changes).toEqual([
      {
        family: IPV4_UNICAST,
        prefix: PFX,
        before: expect.objectContaining({ peer: P1 }),
        after: l.best(IPV4_UNICAST, PFX),
        reason: 'only-route',
      },
      { family: IPV4_UNICAST, prefix: PFX2, before: expect.objectContaining({ peer: P1 }) },
    ]);
    expect(l.size).toBe(3);
    expect(l.best(IPV6_UNICAST, v6)?.peer).toBe(P1);
    expect(l.withdrawPeer('p1')).toHaveLength(1);
    expect(l.size).toBe(2);
    expect(l.withdrawPeer('p1')).toEqual([]);
  });
});

describe('graceful restart: markStale and sweepStale', () => {
  it('stale routes keep their rank; fresh ones replace them; the sweep removes the rest', () => {
    const l = rib();
    l.update(route(P1, attrs(200), PFX));
    l.update(route(P2, attrs(100), PFX));
    l.update(route(P1, attrs(100), PFX2));
    l.update(route(P1, attrs(100), PFX2, 1));
    const bestBefore = l.best(IPV4_UNICAST, PFX);
    expect(l.markStale('p1', [IPV4_UNICAST, IPV6_UNICAST])).toBe(3);
    expect(l.markStale('p1', [IPV4_UNICAST])).toBe(0);
    const stale = l.best(IPV4_UNICAST, PFX)!;
    expect(stale.stale).toBe(true);
    expect(stale.attributes).toBe(bestBefore?.attributes);
    expect(l.candidates(IPV4_UNICAST, PFX2).every((r) => r.stale)).toBe(true);
    // PFX2 without path id comes back fresh, with the same attributes: no change
    expect(l.update(route(P1, attrs(100), PFX2))).toBeUndefined();
    const changes = l.sweepStale('p1');
    expect(changes).toEqual([
      {
        family: IPV4_UNICAST,
        prefix: PFX,
        before: stale,
        after: l.best(IPV4_UNICAST, PFX),
        reason: 'only-route',
      },
    ]);
    expect(l.best(IPV4_UNICAST, PFX)?.peer).toBe(P2);
    expect(l.candidates(IPV4_UNICAST, PFX2)).toEqual([route(P1, attrs(100), PFX2)]);
    expect(l.size).toBe(2);
    expect(l.sweepStale('p1')).toEqual([]);
  });

  it('a lone stale route is swept with a change to no route', () => {
    const l = rib();
    l.update(route(P1, attrs(100)));
    l.markStale('p1', [IPV4_UNICAST]);
    expect(l.sweepStale('p1', [IPV4_UNICAST])).toEqual([
      { family: IPV4_UNICAST, prefix: PFX, before: { ...route(P1, attrs(100)), stale: true } },
    ]);
    expect(l.interner.size).toBe(0);
  });
});

describe('LocRib.reevaluate', () => {
  it('selects again when next-hop resolvability changes', () => {
    const l = rib();
    l.update(route(P1, attrs(200, '192.0.2.50')));
    l.update(route(P2, attrs(100)));
    l.update(route(P3, attrs(100, '192.0.2.50'), PFX2));
    const old = resolvable;
    try {
      resolvable = (r) => r.attributes.nextHop !== '192.0.2.50';
      const changes = byPrefix(l.reevaluate());
      expect(changes).toHaveLength(2);
      expect(changes[0]).toMatchObject({ prefix: PFX, before: { peer: P1 }, after: { peer: P2 } });
      expect(changes[1]).toEqual({
        family: IPV4_UNICAST,
        prefix: PFX2,
        before: expect.objectContaining({ peer: P3 }),
      });
      expect(l.best(IPV4_UNICAST, PFX2)).toBeUndefined();
      resolvable = () => true;
      expect(l.reevaluate([IPV4_UNICAST])).toHaveLength(2);
      expect(l.best(IPV4_UNICAST, PFX)?.peer).toBe(P1);
      expect(l.reevaluate()).toEqual([]);
    } finally {
      resolvable = old;
    }
  });
});

describe('the reason follows the runner-up', () => {
  const reasonOf = (l: LocRib) => l.entries(IPV4_UNICAST).find((e) => e.prefix === PFX)?.reason;

  it('when the runner-up is withdrawn, replaced or its peer goes down', () => {
    const l = rib();
    l.update(route(P1, attrs(300)));
    l.update(route(P2, attrs(300)));
    l.update(route(P3, attrs(100)));
    expect(reasonOf(l)).toBe('router-id');
    // a loser that is not the runner-up replaced by a worse one: the runner-up stays
    l.update(route(P3, attrs(50)));
    expect(reasonOf(l)).toBe('router-id');
    l.withdraw(IPV4_UNICAST, PFX, 'p2');
    expect(reasonOf(l)).toBe('local-pref');
    l.update(route(P2, attrs(300)));
    expect(reasonOf(l)).toBe('router-id');
    l.update(route(P2, attrs(50)));
    expect(reasonOf(l)).toBe('local-pref');
    l.update(route(P2, attrs(300)));
    l.withdrawPeer('p2');
    expect(reasonOf(l)).toBe('local-pref');
    // the best replaced by a better route of its own: the runner-up is still P3
    expect(l.update(route(P1, attrs(400)))).toMatchObject({ reason: 'local-pref' });
    // ... by a worse one that still wins, and by one that loses
    expect(l.update(route(P1, attrs(200)))?.after?.attributes.localPref).toBe(200);
    expect(reasonOf(l)).toBe('local-pref');
    expect(l.update(route(P1, attrs(10)))).toMatchObject({ after: { peer: P3 }, reason: 'local-pref' });
  });
});

describe('neighbour ASes and MED through the Loc-RIB', () => {
  const path = (as: number, med: number, nextHop = '192.0.2.100'): RouteAttributes => ({
    origin: Origin.IGP,
    asPath: [{ type: 2, asns: [as] }],
    nextHop,
    med,
  });

  it('selects as bestRoute does (per neighbour AS), in any arrival order', () => {
    // x (AS 1, MED 10) loses to y (AS 1, MED 5); z (AS 2) has a lower router id than y, higher than x
    const x = route(peer(1), path(65001, 10));
    const y = route(peer(3), path(65001, 5));
    const z = route(peer(2), path(65002, 7));
    for (const order of [
      [x, y, z],
      [z, y, x],
      [y, z, x],
      [x, z, y],
    ]) {
      const l = rib();
      for (const r of order) l.update(r);
      expect(l.best(IPV4_UNICAST, PFX)?.peer.id).toBe('p2');
      // y withdrawn: x is no longer removed by MED and wins on the router id
      expect(l.withdraw(IPV4_UNICAST, PFX, 'p3')).toMatchObject({
        after: { peer: { id: 'p1' } },
        reason: 'router-id',
      });
    }
  });
});

describe('many prefixes', () => {
  it('grow, shrink and reuse the IPv4 table', () => {
    const l = rib();
    const n = 20_000;
    const a = attrs(100);
    for (let i = 0; i < n; i++) l.update(route(peer(1 + (i % 2)), a, ipv4Key(0x0a000000 + i * 64, 26)));
    expect(l.prefixCount(IPV4_UNICAST)).toBe(n);
    for (let i = 0; i < n; i += 2) l.withdraw(IPV4_UNICAST, ipv4Key(0x0a000000 + i * 64, 26), 'p1');
    expect(l.prefixCount()).toBe(n / 2);
    for (let i = 0; i < n; i++) {
      const best = l.best(IPV4_UNICAST, ipv4Key(0x0a000000 + i * 64, 26));
      expect(best?.peer.id).toBe(i % 2 === 0 ? undefined : 'p2');
    }
    // deleted slots are reused; withdrawing a whole peer compacts the table
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < n; i += 2) l.update(route(P1, a, ipv4Key(0x0a000000 + i * 64, 26)));
      expect(l.withdrawPeer('p1')).toHaveLength(n / 2);
    }
    expect(l.withdrawPeer('p2')).toHaveLength(n / 2);
    expect(l.size).toBe(0);
    l.update(route(P1, a));
    expect(l.best(IPV4_UNICAST, PFX)?.peer).toBe(P1);
    expect(l.entries(IPV4_UNICAST)).toHaveLength(1);
  });

  it('rejects keys the table cannot hold', () => {
    expect(() => rib().update(route(P1, attrs(100), -1))).toThrow(RangeError);
  });
});

describe('lone routes stored without their prefix', () => {
  it("an UPDATE's prefixes share one stored path, and each answers with its own prefix", () => {
    const l = rib();
    const a = attrs(100);
    const keys = [0, 1, 2, 3].map((i) => ipv4Key(0x0a010000 + i * 64, 26));
    for (const k of keys) l.update(route(P1, a, k));
    l.update(route(P2, attrs(200), ipv4Key(0x0a020000, 26)));
    for (const k of keys) expect(l.best(IPV4_UNICAST, k)).toEqual(route(P1, l.interned(a)!, k));
    // one of them marked stale, another replaced, a third withdrawn: the rest are untouched
    expect(l.markStale('p1', [IPV4_UNICAST])).toBe(4);
    expect(l.update(route(P1, attrs(300), keys[1]))?.after?.prefix).toBe(keys[1]);
    expect(l.withdraw(IPV4_UNICAST, keys[2]!, 'p1')).toMatchObject({
      prefix: keys[2],
      before: { prefix: keys[2], stale: true },
    });
    expect(l.best(IPV4_UNICAST, keys[0]!)).toMatchObject({
      prefix: keys[0],
      stale: true,
      attributes: { localPref: 100 },
    });
    expect(l.best(IPV4_UNICAST, keys[1]!)).toMatchObject({ prefix: keys[1], attributes: { localPref: 300 } });
    expect(l.best(IPV4_UNICAST, keys[1]!)?.stale).toBeUndefined();
    expect(l.best(IPV4_UNICAST, keys[2]!)).toBeUndefined();
    expect(l.best(IPV4_UNICAST, keys[3]!)).toMatchObject({ prefix: keys[3], stale: true });
    expect(
      l
        .sweepStale('p1')
        .map((c) => c.prefix)
        .sort(),
    ).toEqual([keys[0], keys[3]].sort());
    const seen: (number | string)[] = [];
    l.forEachBest(IPV4_UNICAST, (prefix, best) => {
      expect(best.prefix).toBe(prefix);
      seen.push(prefix);
    });
    expect(seen).toHaveLength(2);
  });
});

describe('candidates kept as cells', () => {
  it('the best is the object stored; the others are built again, equal to what was given', () => {
    const l = rib();
    const a = route(P1, attrs(200));
    const b = route(P2, attrs(100));
    const c = route(P3, attrs(100), PFX, 7);
    for (const r of [a, b, c]) l.update(r);
    const best = l.best(IPV4_UNICAST, PFX)!;
    const first = l.candidates(IPV4_UNICAST, PFX);
    expect(first).toEqual([a, b, c]);
    expect(first[0]).toBe(best);
    const again = l.candidates(IPV4_UNICAST, PFX);
    expect(again).not.toBe(first);
    expect(again[0]).toBe(best);
    expect(again[1]).toEqual(first[1]);
    expect(again[2]?.pathId).toBe(7);
    expect(again[1]?.attributes).toBe(first[1]?.attributes);
    expect(l.interner.isInterned(again[2]!.attributes)).toBe(true);
  });

  it('the best keeps its object while candidates before it come and go', () => {
    const l = rib();
    l.update(route(P1, attrs(100)));
    l.update(route(P2, attrs(100)));
    l.update(route(P3, attrs(300)));
    const best = l.best(IPV4_UNICAST, PFX);
    expect(best?.peer).toBe(P3);
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p1')).toBeUndefined();
    expect(l.best(IPV4_UNICAST, PFX)).toBe(best);
    expect(l.update(route(P1, attrs(50)))).toBeUndefined();
    expect(l.withdrawPeer('p2')).toEqual([]);
    expect(l.best(IPV4_UNICAST, PFX)).toBe(best);
    expect(l.candidates(IPV4_UNICAST, PFX).map((r) => r.peer.id)).toEqual(['p3', 'p1']);
    // the best withdrawn: the one left is built again and becomes the stored route
    const c = l.withdraw(IPV4_UNICAST, PFX, 'p3');
    expect(c).toMatchObject({ before: best, after: { peer: P1 }, reason: 'only-route' });
    expect(l.best(IPV4_UNICAST, PFX)).toEqual(c?.after);
    expect(l.candidates(IPV4_UNICAST, PFX)).toEqual([c?.after]);
  });

  it('ADD-PATH: path id 0, none and the largest are distinct candidates', () => {
    const l = rib();
    l.update(route(P1, attrs(100), PFX, 0));
    l.update(route(P1, attrs(100), PFX));
    l.update(route(P1, attrs(300), PFX, 0xffffffff));
    expect(l.size).toBe(3);
    expect(l.best(IPV4_UNICAST, PFX)?.pathId).toBe(0xffffffff);
    expect(l.candidates(IPV4_UNICAST, PFX).map((r) => r.pathId)).toEqual([0, undefined, 0xffffffff]);
    // replaced, not added
    expect(l.update(route(P1, attrs(50), PFX, 0xffffffff))?.after?.pathId).toBe(0);
    expect(l.size).toBe(3);
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p1', 0xffffffff)).toBeUndefined();
    expect(l.withdraw(IPV4_UNICAST, PFX, 'p1', 0)?.after?.pathId).toBeUndefined();
    expect(l.size).toBe(1);
  });

  it('stale marks in an Entry; a new session (another PeerInfo, same id) replaces its routes', () => {
    const l = rib();
    l.update(route(P1, attrs(200)));
    l.update(route(P2, attrs(100)));
    const best = l.best(IPV4_UNICAST, PFX)!;
    expect(l.markStale('p1', [IPV4_UNICAST])).toBe(1);
    expect(l.markStale('p2', [IPV4_UNICAST])).toBe(1);
    const stale = l.best(IPV4_UNICAST, PFX)!;
    expect(stale).not.toBe(best);
    expect(stale).toEqual({ ...best, stale: true });
    expect(l.candidates(IPV4_UNICAST, PFX).map((r) => r.stale)).toEqual([true, true]);
    const p2again: PeerInfo = { ...P2 };
    expect(l.update(route(p2again, attrs(100)))).toBeUndefined();
    expect(l.candidates(IPV4_UNICAST, PFX)[1]).toEqual(route(p2again, attrs(100)));
    expect(l.candidates(IPV4_UNICAST, PFX)[1]?.peer).toBe(p2again);
    expect(l.sweepStale('p2')).toEqual([]);
    const changes = l.sweepStale('p1');
    expect(changes).toMatchObject([{ before: stale, after: { peer: p2again }, reason: 'only-route' }]);
    expect(l.size).toBe(1);
  });

  it('reevaluate asks about the candidates that are not best too', () => {
    const l = rib();
    l.update(route(P1, attrs(200)));
    l.update(route(P2, attrs(100, '192.0.2.50')));
    l.update(route(P3, attrs(50)));
    const old = resolvable;
    try {
      resolvable = (r) => r.peer !== P1 && r.attributes.nextHop !== UNRESOLVABLE;
      expect(l.reevaluate()).toMatchObject([{ before: { peer: P1 }, after: { peer: P2 } }]);
      resolvable = (r) => r.attributes.nextHop !== '192.0.2.50';
      expect(l.reevaluate()).toMatchObject([{ before: { peer: P2 }, after: { peer: P1 } }]);
    } finally {
      resolvable = old;
    }
  });
});

describe('the IPv4 table', () => {
  it('finds keys asked for in insertion order, before and after deletions and compaction', () => {
    const l = rib();
    const n = 5_000;
    const key = (i: number): number => ipv4Key(0x0b000000 + i * 64, 26);
    for (let i = 0; i < n; i++) l.update(route(i % 3 === 0 ? P1 : P2, attrs(100), key(i)));
    const check = (order: number[]): void => {
      for (const i of order) {
        const want = i % 3 === 0 ? undefined : P2;
        expect(l.best(IPV4_UNICAST, key(i))?.peer).toBe(want);
      }
    };
    const up = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < n; i++) expect(l.best(IPV4_UNICAST, key(i))?.peer).toBe(i % 3 === 0 ? P1 : P2);
    expect(l.withdrawPeer('p1')).toHaveLength(Math.ceil(n / 3));
    check(up);
    check([...up].reverse());
    // the freed positions are reused; in order again, then a second peer on the same keys
    for (let i = 0; i < n; i += 3) l.update(route(P1, attrs(100), key(i)));
    for (let i = 0; i < n; i++) l.update(route(P3, attrs(300), key(i)));
    for (let i = 0; i < n; i++) expect(l.best(IPV4_UNICAST, key(i))?.peer).toBe(P3);
    expect(l.withdrawPeer('p2')).toEqual([]);
    expect(l.withdrawPeer('p3')).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      expect(l.best(IPV4_UNICAST, key(i))?.peer).toBe(i % 3 === 0 ? P1 : undefined);
    }
    expect(l.prefixCount()).toBe(Math.ceil(n / 3));
  });
});

describe('reference counts on the interner', () => {
  it('one reference per stored route; a shared interner sees them all', () => {
    const interner = new AttributeInterner();
    const l = new LocRib(OPTS, interner);
    const shared = attrs(100);
    for (let i = 0; i < 10; i++) l.update(route(peer(i), shared, ipv4Key(0x0a000000 + i * 64, 26)));
    const set = l.best(IPV4_UNICAST, PFX)!.attributes;
    expect(interner.size).toBe(1);
    expect(interner.refCount(set)).toBe(10);
    for (let i = 0; i < 10; i++) l.update(route(peer(i), attrs(100), ipv4Key(0x0a000000 + i * 64, 26)));
    expect(interner.refCount(set)).toBe(10);
    for (let i = 0; i < 5; i++) l.withdrawPeer(`p${i}`);
    expect(interner.refCount(set)).toBe(5);
    for (let i = 5; i < 10; i++) l.withdraw(IPV4_UNICAST, ipv4Key(0x0a000000 + i * 64, 26), `p${i}`);
    expect(interner.size).toBe(0);
  });
});
