// The FIB plan (wanted vs actual) and its `ip -batch` lines, on plain data.

import { describe, expect, it } from 'vitest';
import { parseRouteText } from '../../src/kernel/parse.js';
import {
  type FibRoute,
  type FibTarget,
  fibCommand,
  normalizeFibRoute,
  planFibChanges,
  type WantedRoute,
} from '../../src/kernel/plan.js';
import type { KernelRoute } from '../../src/kernel/route.js';
import { batchFailures } from '../../src/kernel/writer.js';

const TARGET: FibTarget = { protocol: 12, table: 254 };

function r(text: string): KernelRoute {
  const e = parseRouteText(text);
  if (e.kind !== 'route') throw new Error(`not a route: ${text}`);
  return e.route;
}

function wanted(...routes: FibRoute[]): WantedRoute[] {
  return routes.map((x) => {
    const w = normalizeFibRoute(x, TARGET);
    if (typeof w === 'string') throw new Error(w);
    return w;
  });
}

function lines(want: WantedRoute[], actual: KernelRoute[]): string[] {
  return planFibChanges(want, actual, TARGET).ops.map(fibCommand);
}

describe('normalizeFibRoute', () => {
  it('canonicalises and refuses what the kernel would refuse', () => {
    const w = normalizeFibRoute(
      { prefix: 'FD00:10:244:2:0::/122', family: 'ipv6-unicast', nextHops: [{ address: 'FD00::2' }] },
      TARGET,
    );
    expect(w).toMatchObject({ route: { prefix: 'fd00:10:244:2::/122', metric: 1024, protocol: 12 } });
    const bad = (x: FibRoute): unknown => normalizeFibRoute(x, TARGET);
    expect(
      bad({ prefix: '10.244.1.5/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.2' }] }),
    ).toMatch(/host bits/);
    expect(
      bad({ prefix: '10.244.1.0/26', family: 'ipv6-unicast', nextHops: [{ address: '10.0.0.2' }] }),
    ).toMatch(/not of family/);
    expect(bad({ prefix: '10.244.1.0/26', family: 'ipv4-unicast', nextHops: [] })).toMatch(
      /needs a next hop/,
    );
    expect(bad({ prefix: 'fd00::/64', family: 'ipv6-unicast', nextHops: [{ address: '10.0.0.2' }] })).toMatch(
      /IPv4 next hop/,
    );
    expect(
      bad({
        prefix: '10.244.1.0/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '10.0.0.2', onlink: true }],
      }),
    ).toMatch(/onlink needs a device/);
    expect(
      bad({
        prefix: '10.244.1.0/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '10.0.0.2', device: 'a b' }],
      }),
    ).toMatch(/bad device name/);
  });
});

describe('planFibChanges', () => {
  it('adds what is missing, as Calico BIRD writes it: plain, IPIP onlink, ECMP, blackhole', () => {
    const want = wanted(
      { prefix: '10.244.2.0/26', family: 'ipv4-unicast', nextHops: [{ address: '192.0.2.3' }] },
      {
        prefix: '10.244.3.0/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '192.0.2.4', device: 'tunl0', onlink: true }],
      },
      {
        prefix: '10.244.4.0/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '192.0.2.5' }, { address: '192.0.2.6', weight: 2 }],
      },
      { prefix: '10.244.1.0/26', family: 'ipv4-unicast', type: 'blackhole' },
      { prefix: 'fd00:10:244:2::/122', family: 'ipv6-unicast', nextHops: [{ address: 'fd00::3' }] },
      { prefix: '10.244.5.0/26', family: 'ipv4-unicast', nextHops: [{ address: 'fe80::1', device: 'eth0' }] },
    );
    expect(lines(want, [])).toEqual([
      'route add 10.244.2.0/26 proto 12 table 254 metric 0 via 192.0.2.3',
      'route add 10.244.3.0/26 proto 12 table 254 metric 0 via 192.0.2.4 dev tunl0 onlink',
      'route add 10.244.4.0/26 proto 12 table 254 metric 0 nexthop via 192.0.2.5 weight 1 nexthop via 192.0.2.6 weight 2',
      'route add blackhole 10.244.1.0/26 proto 12 table 254 metric 0',
      'route add fd00:10:244:2::/122 proto 12 table 254 metric 1024 via fd00::3',
      'route add 10.244.5.0/26 proto 12 table 254 metric 0 via inet6 fe80::1 dev eth0',
    ]);
  });

  it('leaves equal routes alone, replaces its own different ones, deletes its own stale ones', () => {
    const want = wanted(
      { prefix: '10.244.2.0/26', family: 'ipv4-unicast', nextHops: [{ address: '192.0.2.3' }] },
      {
        prefix: '10.244.4.0/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '192.0.2.6' }, { address: '192.0.2.5' }],
      },
      {
        prefix: '10.244.3.0/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '192.0.2.4', device: 'tunl0', onlink: true }],
      },
    );
    const actual = [
      r('10.244.2.0/26 via 192.0.2.3 dev eth0 proto 12'), // equal (the kernel added the device)
      r(
        '10.244.4.0/26 proto 12\n\tnexthop via 192.0.2.5 dev eth0 weight 1\n\tnexthop via 192.0.2.6 dev eth0 weight 1',
      ), // same set
      r('10.244.3.0/26 via 192.0.2.4 dev eth0 proto 12'), // now wanted via tunl0 onlink
      r('10.244.8.0/26 via 192.0.2.8 dev eth0 proto 12'), // stale
      r('10.244.9.0/26 via 192.0.2.9 dev eth0 proto 80'), // someone else's: untouched
      r('blackhole 10.244.1.0/26 proto 80'), // someone else's: untouched
    ];
    expect(lines(want, actual)).toEqual([
      'route replace 10.244.3.0/26 proto 12 table 254 metric 0 via 192.0.2.4 dev tunl0 onlink',
      'route del 10.244.8.0/26 proto 12 table 254 metric 0',
    ]);
  });

  it('never writes over another protocol: a conflict, unless it already does what is wanted', () => {
    const want = wanted(
      { prefix: '10.244.9.0/26', family: 'ipv4-unicast', nextHops: [{ address: '192.0.2.3' }] },
      { prefix: '10.244.1.0/26', family: 'ipv4-unicast', type: 'blackhole' },
      { prefix: '10.244.7.0/26', family: 'ipv4-unicast', type: 'blackhole' },
    );
    const actual = [
      r('10.244.9.0/26 via 192.0.2.9 dev eth0 proto 80'),
      r('blackhole 10.244.1.0/26 proto 80'), // Felix's blackhole for the same block: fine as it is
      r('unreachable 10.244.7.0/26 proto 80'),
    ];
    const plan = planFibChanges(want, actual, TARGET);
    expect(plan.ops).toEqual([]);
    expect(plan.conflicts.map((c) => [c.wanted.route.prefix, c.existing.protocol])).toEqual([
      ['10.244.9.0/26', 80],
      ['10.244.7.0/26', 80],
    ]);
  });

  it('a route of ours at another metric or in another table is not the wanted one', () => {
    const want = wanted({
      prefix: '10.244.2.0/26',
      family: 'ipv4-unicast',
      nextHops: [{ address: '192.0.2.3' }],
    });
    expect(
      lines(want, [
        r('10.244.2.0/26 via 192.0.2.3 dev eth0 proto 12 metric 50'),
        r('10.1.0.0/16 via 192.0.2.3 dev eth0 proto 12 table 7'),
      ]),
    ).toEqual([
      'route add 10.244.2.0/26 proto 12 table 254 metric 0 via 192.0.2.3',
      'route del 10.244.2.0/26 proto 12 table 254 metric 50',
    ]);
  });

  it('ECMP: a different set of next hops, or weights, is a replace', () => {
    const want = wanted({
      prefix: 'fd00:50::/64',
      family: 'ipv6-unicast',
      nextHops: [{ address: 'fd00::2' }, { address: 'fd00::3' }],
    });
    const one = r('fd00:50::/64 via fd00::2 dev veth0 proto 12 metric 1024 pref medium');
    expect(lines(want, [one])).toEqual([
      'route replace fd00:50::/64 proto 12 table 254 metric 1024 nexthop via fd00::2 weight 1 nexthop via fd00::3 weight 1',
    ]);
    const both = r(
      'fd00:50::/64 proto 12 metric 1024 pref medium\n\tnexthop via fd00::3 dev veth0 weight 1\n\tnexthop via fd00::2 dev veth0 weight 1',
    );
    expect(lines(want, [both])).toEqual([]);
  });
});

describe('batchFailures', () => {
  it('maps `ip -force -batch` errors to their lines', () => {
    const stderr =
      'Error: Nexthop has invalid gateway.\nCommand failed -:2\nRTNETLINK answers: No such process\nCommand failed -:3\nError: Nexthop device is not up.\nCommand failed -:6\n';
    expect([...batchFailures(stderr)]).toEqual([
      [2, 'Error: Nexthop has invalid gateway.'],
      [3, 'RTNETLINK answers: No such process'],
      [6, 'Error: Nexthop device is not up.'],
    ]);
  });
});
