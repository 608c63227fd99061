// Learning one change at a time: the Learner's diffs, applied one after another, give exactly the set
// a whole-table aggregation gives (random tables and changes), and the Router takes such a diff prefix by
// prefix (updateOriginated) with the same Loc-RIB result as replacing the whole originated set.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../src/bgp/messages/iana.js';
import { parseIpv4Prefix, parseIpv6Prefix } from '../../src/bgp/messages/prefix.js';
import { Router } from '../../src/bgp/rib/router.js';
import type { OriginateRoute } from '../../src/config/types.js';
import { type LearnedPrefix, Learner, type LearnRules, learnRoutes } from '../../src/kernel/learn.js';
import { parseRouteText } from '../../src/kernel/parse.js';
import { type KernelRoute, routeKey } from '../../src/kernel/route.js';
import type { RouteChange } from '../../src/kernel/table.js';
import { silentLogger } from '../../src/log.js';

function r(text: string): KernelRoute {
  const e = parseRouteText(text);
  if (e.kind !== 'route') throw new Error(`not a route: ${text}`);
  return e.route;
}

const RULES: LearnRules = {
  blocks: true,
  hostRoutes: true,
  interfaces: ['cali*'],
  pools: [{ cidr: '10.244.0.0/16' }, { cidr: 'fd00:10:244::/48' }],
  ownProtocol: 12,
  staticBlocks: ['10.244.3.0/26'],
};

/** Routes from a small space, so that blocks, pods inside them and duplicates (metrics) all occur. */
const routeArb: fc.Arbitrary<KernelRoute> = fc.oneof(
  fc
    .record({ b: fc.integer({ min: 0, max: 4 }), len: fc.constantFrom(24, 26, 27), m: fc.constantFrom(0, 5) })
    .map(({ b, len, m }) => r(`blackhole 10.244.${b}.0/${len} proto 80 metric ${m}`)),
  fc
    .record({
      b: fc.integer({ min: 0, max: 4 }),
      h: fc.integer({ min: 0, max: 127 }),
      m: fc.constantFrom(0, 5),
    })
    .map(({ b, h, m }) => r(`10.244.${b}.${h} dev cali${b} scope 253 metric ${m}`)),
  fc.integer({ min: 0, max: 127 }).map((h) => r(`10.244.${h}.9 dev eth0 scope 253`)), // not a candidate
  fc.constantFrom(122, 120).map((len) => r(`blackhole fd00:10:244:1::/${len} proto 80 metric 1024`)),
  fc.integer({ min: 0, max: 300 }).map((h) => r(`fd00:10:244:1::${h.toString(16)} dev cali1 metric 1024`)),
  fc.integer({ min: 0, max: 9 }).map((h) => r(`blackhole 10.244.3.${h * 4}/30 proto 80`)), // under a static block
);

type Step = { add: true; route: KernelRoute } | { add: false; index: number };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: routeArb.map((route) => ({ add: true as const, route })) },
  { weight: 2, arbitrary: fc.nat().map((index) => ({ add: false as const, index })) },
);

const id = (p: LearnedPrefix): string => `${p.prefix} ${p.kind}`;

describe('Learner, one change at a time', () => {
  it('its diffs, applied in order, always give the set learnRoutes gives for the whole table', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(stepArb, { minLength: 1, maxLength: 4 }), { maxLength: 60 }),
        (batches) => {
          const table = new Map<string, KernelRoute>();
          const l = new Learner(RULES);
          const applied = new Map<string, LearnedPrefix>();
          for (const batch of batches) {
            const changes: RouteChange[] = [];
            for (const s of batch) {
              if (s.add) {
                const key = routeKey(s.route);
                const before = table.get(key);
                table.set(key, s.route);
                changes.push(before ? { key, before, after: s.route } : { key, after: s.route });
              } else if (table.size > 0) {
                const key = [...table.keys()][s.index % table.size]!;
                changes.push({ key, before: table.get(key)! });
                table.delete(key);
              }
            }
            const d = l.update(changes);
            for (const p of d.removed) {
              expect(applied.get(p.prefix)?.kind).toBe(p.kind);
              applied.delete(p.prefix);
            }
            for (const p of d.added) {
              expect(applied.has(p.prefix)).toBe(false);
              applied.set(p.prefix, p);
            }
            const want = learnRoutes(table.values(), RULES);
            expect([...applied.values()].map(id).sort()).toEqual(want.map(id).sort());
            expect(l.set).toEqual(want);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a block over many pods: withdrawn pods appear, a pod inside a block changes nothing', () => {
    const l = new Learner(RULES);
    const pods = Array.from({ length: 300 }, (_, i) =>
      r(`10.244.${[1, 2, 4][i >> 7]}.${i & 127} dev cali1 scope 253`),
    );
    const d0 = l.update(pods.map((p) => ({ key: routeKey(p), after: p })));
    expect(d0.added).toHaveLength(300);
    const block = r('blackhole 10.244.1.0/26 proto 80');
    const d1 = l.update([{ key: routeKey(block), after: block }]);
    expect(d1.added).toEqual([{ prefix: '10.244.1.0/26', family: 'ipv4-unicast', kind: 'block' }]);
    expect(d1.removed.map((p) => p.prefix)).toEqual(Array.from({ length: 64 }, (_, i) => `10.244.1.${i}/32`));
    const pod = r('10.244.1.200 dev cali9 scope 253');
    expect(l.update([{ key: routeKey(pod), after: pod }]).added.map((p) => p.prefix)).toEqual([
      '10.244.1.200/32',
    ]);
    const inside = r('10.244.1.63 dev cali9 scope 253 metric 7');
    expect(l.update([{ key: routeKey(inside), after: inside }])).toEqual({ added: [], removed: [] });
    const d2 = l.update([{ key: routeKey(block), before: block }]);
    expect(d2.removed.map((p) => p.prefix)).toEqual(['10.244.1.0/26']);
    expect(d2.added).toHaveLength(64);
    expect(l.size).toBe(301);

    // IPv6: a /122 over 100 pods (its 64 addresses enumerated), and a /120 (every pod scanned)
    const v6 = Array.from({ length: 100 }, (_, i) =>
      r(`fd00:10:244:1::${i.toString(16)} dev cali1 metric 1024`),
    );
    l.update(v6.map((p) => ({ key: routeKey(p), after: p })));
    const b122 = r('blackhole fd00:10:244:1::/122 proto 80 metric 1024');
    expect(l.update([{ key: routeKey(b122), after: b122 }]).removed).toHaveLength(64);
    const b120 = r('blackhole fd00:10:244:1::/120 proto 80 metric 1024');
    expect(l.update([{ key: routeKey(b120), after: b120 }]).removed).toHaveLength(36);
    const d3 = l.update([{ key: routeKey(b122), before: b122 }]);
    expect(d3).toEqual({
      added: [],
      removed: [{ prefix: 'fd00:10:244:1::/122', family: 'ipv6-unicast', kind: 'block' }],
    });
    expect(l.update([{ key: routeKey(b120), before: b120 }]).added).toHaveLength(100);
  });
});

describe('Router.updateOriginated', () => {
  function snapshot(router: Router, prefixes: readonly OriginateRoute[]): string[] {
    return prefixes
      .map((p) => {
        const v4 = p.family === 'ipv4-unicast';
        const key = v4 ? parseIpv4Prefix(p.prefix)! : parseIpv6Prefix(p.prefix)!;
        const best = router.locRib.best(v4 ? IPV4_UNICAST : IPV6_UNICAST, key);
        return best === undefined ? '' : `${p.prefix} ${JSON.stringify(best.attributes)}`;
      })
      .filter((s) => s !== '');
  }

  it('adds and withdraws single prefixes, with the result setOriginated gives for the whole set', () => {
    const fixed: OriginateRoute = { prefix: '10.0.0.0/24', family: 'ipv4-unicast', communities: [], med: 5 };
    const a: OriginateRoute = { prefix: '10.244.1.0/26', family: 'ipv4-unicast', communities: [] };
    const b: OriginateRoute = { prefix: '10.244.9.7/32', family: 'ipv4-unicast', communities: [] };
    const c: OriginateRoute = { prefix: 'fd00:10:244:1::/122', family: 'ipv6-unicast', communities: [] };
    const all = [fixed, a, b, c];
    const inc = new Router('192.0.2.1', 65000, undefined, silentLogger(), new Set(), undefined, () => {});
    const whole = new Router('192.0.2.1', 65000, undefined, silentLogger(), new Set(), undefined, () => {});
    const heard: string[] = [];
    inc.subscribe((changes) => {
      for (const ch of changes) heard.push(`${String(ch.prefix)}:${ch.selected.length}`);
    });
    inc.setOriginated([fixed]);
    inc.updateOriginated([a, b, c], []);
    whole.setOriginated([fixed, a, b, c]);
    expect(snapshot(inc, all)).toEqual(snapshot(whole, all));
    expect(inc.locRib.size).toBe(4);
    heard.length = 0;
    inc.updateOriginated([], [b]);
    whole.setOriginated([fixed, a, c]);
    expect(snapshot(inc, all)).toEqual(snapshot(whole, all));
    expect(inc.locRib.size).toBe(3);
    expect(heard).toEqual([`${parseIpv4Prefix(b.prefix)}:0`]); // only the prefix that changed
    // adding what is there already changes nothing; withdrawing what is not there neither
    heard.length = 0;
    inc.updateOriginated([a], [b]);
    expect(heard).toEqual([]);
    // and setOriginated afterwards still knows the prefixes added one by one
    inc.setOriginated([fixed]);
    expect(inc.locRib.size).toBe(1);
  });
});
