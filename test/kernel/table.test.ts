// The in-process table copy and its longest-prefix match, on plain data.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, ipv4Mask } from '../../src/bgp/messages/prefix.js';
import { PrefixIndex } from '../../src/kernel/lpm.js';
import { parseRouteText } from '../../src/kernel/parse.js';
import type { KernelRoute } from '../../src/kernel/route.js';
import { RouteTable } from '../../src/kernel/table.js';

/** A route from `ip monitor` text (the parser is tested on its own). */
function r(text: string): KernelRoute {
  const e = parseRouteText(text);
  if (e.kind !== 'route') throw new Error(`not a route: ${text}`);
  return e.route;
}

function ev(text: string): [boolean, KernelRoute] {
  const e = parseRouteText(text);
  if (e.kind !== 'route') throw new Error(`not a route: ${text}`);
  return [e.deleted, e.route];
}

describe('PrefixIndex', () => {
  it('finds the longest prefix holding an address, IPv4 and IPv6', () => {
    const ix = new PrefixIndex<string>();
    for (const p of [
      '0.0.0.0/0',
      '10.0.0.0/8',
      '10.244.0.0/16',
      '10.244.1.0/26',
      '10.244.1.5/32',
      '::/0',
      'fd00::/8',
      'fd00:10:244:1::/122',
    ]) {
      ix.set(p, p);
    }
    expect(ix.lookup('10.244.1.5')).toBe('10.244.1.5/32');
    expect(ix.lookup('10.244.1.6')).toBe('10.244.1.0/26');
    expect(ix.lookup('10.244.2.1')).toBe('10.244.0.0/16');
    expect(ix.lookup('10.9.9.9')).toBe('10.0.0.0/8');
    expect(ix.lookup('192.0.2.1')).toBe('0.0.0.0/0');
    expect(ix.lookup('fd00:10:244:1::3f')).toBe('fd00:10:244:1::/122');
    expect(ix.lookup('fd00:10:244:1::40')).toBe('fd00::/8');
    expect(ix.lookup('2001:db8::1')).toBe('::/0');
    expect(ix.lookup('not an address')).toBeUndefined();
    expect(ix.delete('10.244.1.0/26')).toBe(true);
    expect(ix.delete('10.244.1.0/26')).toBe(false);
    expect(ix.lookup('10.244.1.6')).toBe('10.244.0.0/16');
    ix.delete('0.0.0.0/0');
    expect(ix.lookup('192.0.2.1')).toBeUndefined();
    expect(ix.size).toBe(6);
    ix.clear();
    expect(ix.lookup('10.244.1.5')).toBeUndefined();
  });

  it('agrees with a linear scan (IPv4, random tables and addresses)', () => {
    const prefix = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }));
    fc.assert(
      fc.property(
        fc.array(prefix, { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 30 }),
        (ps, addrs) => {
          const ix = new PrefixIndex<number>();
          const table = new Map<string, [number, number]>();
          for (const [a, len] of ps) {
            const net = (a & ipv4Mask(len)) >>> 0;
            const text = `${formatIpv4(net)}/${len}`;
            ix.set(text, len);
            table.set(text, [net, len]);
          }
          for (const a of addrs) {
            let best: number | undefined;
            for (const [net, len] of table.values()) {
              if ((a & ipv4Mask(len)) >>> 0 === net && (best === undefined || len > best)) best = len;
            }
            expect(ix.lookup(formatIpv4(a))).toBe(best);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('update: one parse reads and changes an entry; undefined removes it and its length', () => {
    const ix = new PrefixIndex<string[]>();
    expect(ix.update('10.1.0.0/16', (v) => (v === undefined ? ['a'] : v))).toBe(true);
    expect(ix.update('10.1.2.0/24', () => ['b'])).toBe(true);
    expect(ix.lookup('10.1.2.3')).toEqual(['b']);
    ix.update('10.1.2.0/24', (v) => [...(v ?? []), 'c']);
    expect(ix.get('10.1.2.0/24')).toEqual(['b', 'c']);
    ix.update('10.1.2.0/24', () => undefined);
    expect(ix.get('10.1.2.0/24')).toBeUndefined();
    expect(ix.lookup('10.1.2.3')).toEqual(['a']); // the /24 length is gone: the /16 answers
    expect(ix.size).toBe(1);
    ix.update('fd00::/64', () => ['v6']);
    expect(ix.lookup('fd00::1')).toEqual(['v6']);
    ix.update('fd00::/64', () => undefined);
    expect(ix.lookup('fd00::1')).toBeUndefined();
    let called = false;
    expect(
      ix.update('10.1.2.3/24', () => {
        called = true;
        return ['x'];
      }),
    ).toBe(false); // host bits: not a prefix
    expect(called).toBe(false);
    ix.update('10.9.0.0/16', () => undefined); // nothing there, nothing added
    expect(ix.size).toBe(1);
  });
});

describe('RouteTable', () => {
  it('keys routes like the kernel: a new message replaces, another metric is another route', () => {
    const t = new RouteTable();
    expect(t.applyEvent(...ev('10.1.0.0/16 via 10.0.0.2 dev eth0')).changes).toHaveLength(1);
    expect(t.applyEvent(...ev('10.1.0.0/16 via 10.0.0.2 dev eth0')).changes).toEqual([]); // the same again
    const c = t.applyEvent(...ev('10.1.0.0/16 via 10.0.0.3 dev eth0')).changes;
    expect(c).toHaveLength(1);
    expect(c[0]!.before?.nextHops[0]?.gateway).toBe('10.0.0.2');
    expect(c[0]!.after?.nextHops[0]?.gateway).toBe('10.0.0.3');
    t.applyEvent(...ev('unreachable 10.1.0.0/16 metric 100'));
    expect(t.size).toBe(2);
    expect(t.lookup('10.1.2.3')?.type).toBe('unicast'); // the lower metric wins
    t.applyEvent(...ev('Deleted 10.1.0.0/16 via 10.0.0.3 dev eth0'));
    expect(t.lookup('10.1.2.3')?.type).toBe('unreachable');
    expect(t.reachable('10.1.2.3')).toBe(false);
    expect(t.applyEvent(...ev('Deleted 10.7.0.0/16 dev eth0')).changes).toEqual([]); // not there: nothing
  });

  it('ignores other tables', () => {
    const t = new RouteTable(254);
    expect(t.applyEvent(...ev('10.60.0.0/16 via 10.0.0.5 dev veth0 table 100')).changes).toEqual([]);
    expect(
      t.applyEvent(...ev('2 10.1.1.1 dev cali1 table 255 proto 2 scope 254 src 10.1.1.1')).changes,
    ).toEqual([]);
    expect(t.size).toBe(0);
  });

  it('reachability: the longest match decides; blackhole, unreachable, prohibit and throw do not forward', () => {
    const t = new RouteTable();
    t.replaceFamily('ipv4-unicast', [
      r('default via 10.0.0.254 dev eth0'),
      r('blackhole 10.244.1.0/26 proto 80'),
      r('10.244.1.5 dev cali1 scope 253'),
      r('prohibit 10.98.0.0/16'),
      r('throw 10.97.0.0/16'),
      r('10.96.0.0/16 tos 0x10 via 10.0.0.2 dev eth0'),
    ]);
    expect(t.reachable('10.244.1.5')).toBe(true); // the host route inside the block
    expect(t.reachable('10.244.1.6')).toBe(false); // the block's blackhole
    expect(t.reachable('10.98.1.1')).toBe(false);
    expect(t.reachable('10.97.1.1')).toBe(false);
    expect(t.reachable('10.96.1.1')).toBe(true); // a TOS route is not for ordinary packets: the default is
    expect(t.lookup('10.96.1.1')?.prefix).toBe('0.0.0.0/0');
    expect(t.reachable('fd00::1')).toBe(false); // no IPv6 route at all
    expect(t.reachable('nonsense')).toBe(false);
  });

  it('IPv6 deletes take next hops out of a multipath route, then the route', () => {
    const t = new RouteTable();
    t.applyEvent(
      ...ev(
        'fd00:60::/64 metric 5 pref medium\n\tnexthop via fd00::6 dev veth0 weight 1 \n\tnexthop via fd00::5 dev veth0 weight 1 ',
      ),
    );
    const one = t.applyEvent(...ev('Deleted fd00:60::/64 via fd00::5 dev veth0 metric 5 pref medium'));
    expect(one.changes[0]!.after?.nextHops.map((h) => h.gateway)).toEqual(['fd00::6']);
    expect(t.reachable('fd00:60::1')).toBe(true);
    const two = t.applyEvent(...ev('Deleted fd00:60::/64 via fd00::6 dev veth0 metric 5 pref medium'));
    expect(two.changes[0]!.after).toBeUndefined();
    expect(t.size).toBe(0);
    // one message with every next hop deletes the whole route
    t.applyEvent(
      ...ev(
        'fd00:61::/64 proto 12 metric 1024 pref medium\n\tnexthop via fd00::2 dev veth0\n\tnexthop via fd00::3 dev veth0',
      ),
    );
    t.applyEvent(
      ...ev(
        'Deleted fd00:61::/64 proto 12 metric 1024 pref medium\n\tnexthop via fd00::2 dev veth0\n\tnexthop via fd00::3 dev veth0',
      ),
    );
    expect(t.size).toBe(0);
  });

  it('an IPv6 delete that does not fit the copy is a doubt (the follower reads again)', () => {
    const t = new RouteTable();
    t.applyEvent(...ev('fd00:60::/64 via fd00::6 dev veth0 metric 5 pref medium'));
    const r1 = t.applyEvent(...ev('Deleted fd00:60::/64 via fd00::9 dev veth0 metric 5 pref medium'));
    expect(r1.changes).toEqual([]);
    expect(r1.doubt).toMatch(/fd00:60::\/64/);
  });

  it('replaceFamily reports exactly the differences and leaves the other family alone', () => {
    const t = new RouteTable();
    t.replaceFamily('ipv4-unicast', [
      r('10.1.0.0/16 via 10.0.0.2 dev eth0'),
      r('10.2.0.0/16 via 10.0.0.2 dev eth0'),
    ]);
    t.replaceFamily('ipv6-unicast', [r('fd00::/64 dev eth0 proto 2 metric 256 pref medium')]);
    const changes = t.replaceFamily('ipv4-unicast', [
      r('10.2.0.0/16 via 10.0.0.3 dev eth0'),
      r('10.3.0.0/16 via 10.0.0.2 dev eth0'),
    ]);
    const summary = changes.map((c) => [c.before?.prefix ?? '-', c.after?.prefix ?? '-']).sort();
    expect(summary).toEqual([
      ['-', '10.3.0.0/16'],
      ['10.1.0.0/16', '-'],
      ['10.2.0.0/16', '10.2.0.0/16'],
    ]);
    expect(t.size).toBe(3);
    expect(t.reachable('fd00::9')).toBe(true);
    expect(t.reachable('10.1.0.1')).toBe(false);
    expect(t.hasRoutesVia('eth0', 'ipv4-unicast')).toBe(true);
    expect(t.hasRoutesVia('cali1', 'ipv4-unicast')).toBe(false);
  });
});
