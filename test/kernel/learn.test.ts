// What is learned from the kernel, and Calico's aggregation, on plain data.

import { describe, expect, it } from 'vitest';
import {
  diffLearned,
  interfacePattern,
  Learner,
  type LearnRules,
  learnRoutes,
} from '../../src/kernel/learn.js';
import { parseRouteText } from '../../src/kernel/parse.js';
import { type KernelRoute, routeKey } from '../../src/kernel/route.js';

function r(text: string): KernelRoute {
  const e = parseRouteText(text);
  if (e.kind !== 'route') throw new Error(`not a route: ${text}`);
  return e.route;
}

const CALICO: LearnRules = {
  blocks: true,
  hostRoutes: true,
  interfaces: ['cali*'],
  pools: [
    { cidr: '10.244.0.0/16' },
    { cidr: 'fd00:10:244::/48' },
    { cidr: '10.250.0.0/16', disableBgpExport: true },
  ],
  ownProtocol: 12,
};

/** A Calico node: two local blocks with pods, a borrowed pod address, and what must not be learned. */
const NODE = [
  r('default via 192.0.2.1 dev eth0'),
  r('192.0.2.0/24 dev eth0 proto 2 scope 253 src 192.0.2.2'),
  r('blackhole 10.244.1.0/26 proto 80'),
  r('10.244.1.5 dev cali1a scope 253'),
  r('10.244.1.6 dev cali1b scope 253'),
  r('unreachable 10.244.2.0/26 proto 80'),
  r('10.244.9.7 dev cali9 scope 253'), // borrowed: outside every local block
  r('10.244.3.0/26 via 192.0.2.3 dev eth0 proto 12'), // another node's block, written by tern: never learned
  r('blackhole 10.244.4.0/26 proto 12'), // tern's own blackhole: not learned back
  r('10.244.5.5 dev eth0'), // a host route, but not to a cali* interface
  r('10.244.5.6 via 192.0.2.9 dev cali5'), // to cali5 through a gateway: still a route to a cali interface
  r('10.9.9.9 dev cali7 scope 253'), // outside every pool
  r('blackhole 10.9.0.0/26 proto 80'), // outside every pool
  r('blackhole 10.250.1.0/26 proto 80'), // inside a pool with disableBgpExport
  r('10.244.6.0/28 dev cali6'), // not a host route
  r('blackhole fd00:10:244:1::/122 proto 80 metric 1024 pref medium'),
  r('fd00:10:244:1::5 dev cali1a metric 1024 pref medium'),
  r('fd00:10:244:2::9 dev cali9 metric 1024 pref medium'), // borrowed IPv6
];

describe('learning (Calico default rules)', () => {
  it('learns blocks and borrowed host routes, nothing beneath a local block, nothing outside a pool', () => {
    expect(learnRoutes(NODE, CALICO)).toEqual([
      { prefix: '10.244.1.0/26', family: 'ipv4-unicast', kind: 'block' },
      { prefix: '10.244.2.0/26', family: 'ipv4-unicast', kind: 'block' },
      { prefix: '10.244.5.6/32', family: 'ipv4-unicast', kind: 'host' },
      { prefix: '10.244.9.7/32', family: 'ipv4-unicast', kind: 'host' },
      { prefix: 'fd00:10:244:1::/122', family: 'ipv6-unicast', kind: 'block' },
      { prefix: 'fd00:10:244:2::9/128', family: 'ipv6-unicast', kind: 'host' },
    ]);
  });

  it('rules switch blocks and host routes off, and choose the interfaces', () => {
    expect(learnRoutes(NODE, { ...CALICO, hostRoutes: false }).map((p) => p.prefix)).toEqual([
      '10.244.1.0/26',
      '10.244.2.0/26',
      'fd00:10:244:1::/122',
    ]);
    // without blocks, every pod address is borrowed as far as aggregation can tell
    expect(learnRoutes(NODE, { ...CALICO, blocks: false }).map((p) => p.prefix)).toEqual([
      '10.244.1.5/32',
      '10.244.1.6/32',
      '10.244.5.6/32',
      '10.244.9.7/32',
      'fd00:10:244:1::5/128',
      'fd00:10:244:2::9/128',
    ]);
    expect(
      learnRoutes(NODE, { ...CALICO, blocks: false, interfaces: ['eth?'] }).map((p) => p.prefix),
    ).toEqual(['10.244.5.5/32']);
    expect(learnRoutes(NODE, { ...CALICO, pools: [] })).toEqual([]);
  });

  it('static blocks from the config hide host routes inside them, and are not in the set', () => {
    const set = learnRoutes(NODE, { ...CALICO, staticBlocks: ['10.244.9.0/26'] });
    expect(set.map((p) => p.prefix)).not.toContain('10.244.9.7/32');
    expect(set.map((p) => p.prefix)).not.toContain('10.244.9.0/26');
  });

  it('interface patterns: * and ? anchored, other characters literal', () => {
    expect(interfacePattern('cali*').test('cali12ab')).toBe(true);
    expect(interfacePattern('cali*').test('xcali1')).toBe(false);
    expect(interfacePattern('tap?').test('tap1')).toBe(true);
    expect(interfacePattern('tap?').test('tap12')).toBe(false);
    expect(interfacePattern('a.b').test('axb')).toBe(false);
  });
});

describe('Learner (incremental)', () => {
  it('follows changes: a pod inside a block changes nothing; the block going exposes its pods', () => {
    const l = new Learner(CALICO);
    const routes = new Map(NODE.map((x) => [routeKey(x), x]));
    const first = l.reconfigure(CALICO, routes.values());
    expect(first.removed).toEqual([]);
    expect(first.added).toHaveLength(6);

    const pod = r('10.244.1.9 dev cali1c scope 253');
    expect(l.update([{ key: routeKey(pod), after: pod }])).toEqual({ added: [], removed: [] });

    const block = r('blackhole 10.244.1.0/26 proto 80');
    const d = l.update([{ key: routeKey(block), before: block }]);
    expect(d.removed).toEqual([{ prefix: '10.244.1.0/26', family: 'ipv4-unicast', kind: 'block' }]);
    expect(d.added.map((p) => p.prefix)).toEqual(['10.244.1.5/32', '10.244.1.6/32', '10.244.1.9/32']);

    const borrowed = r('10.244.9.7 dev cali9 scope 253');
    expect(l.update([{ key: routeKey(borrowed), before: borrowed }]).removed).toEqual([
      { prefix: '10.244.9.7/32', family: 'ipv4-unicast', kind: 'host' },
    ]);
    // an unrelated route: nothing to do
    const other = r('10.1.0.0/16 via 192.0.2.1 dev eth0');
    expect(l.update([{ key: routeKey(other), after: other }])).toEqual({ added: [], removed: [] });
    expect(l.set.map((p) => p.prefix)).toEqual(
      learnRoutes(
        [...routes.values()]
          .filter((x) => x !== routes.get(routeKey(block)) && x !== routes.get(routeKey(borrowed)))
          .concat(pod),
        CALICO,
      ).map((p) => p.prefix),
    );
  });

  it('a replaced route that stops being a candidate leaves the set', () => {
    const l = new Learner(CALICO);
    const before = r('10.244.9.7 dev cali9 scope 253');
    l.update([{ key: routeKey(before), after: before }]);
    expect(l.set).toHaveLength(1);
    const after = r('10.244.9.7 dev eth0 scope 253');
    expect(l.update([{ key: routeKey(after), before, after }]).removed).toHaveLength(1);
    expect(l.set).toEqual([]);
  });

  it('diffLearned', () => {
    const a = { prefix: '10.0.0.0/26', family: 'ipv4-unicast', kind: 'block' } as const;
    const b = { prefix: '10.0.0.64/26', family: 'ipv4-unicast', kind: 'block' } as const;
    expect(diffLearned([a], [b])).toEqual({ added: [b], removed: [a] });
    expect(diffLearned([a, b], [a, b])).toEqual({ added: [], removed: [] });
  });
});
