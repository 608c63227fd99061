import { describe, expect, it } from 'vitest';
import {
  KernelNextHopResolver,
  type KernelRoutes,
  NextHopResolver,
} from '../../src/fib-sync/next-hop-resolver.js';
import type { RouteListener } from '../../src/kernel/follower.js';
import { parseRouteText } from '../../src/kernel/parse.js';
import type { KernelRoute } from '../../src/kernel/route.js';
import { RouteTable } from '../../src/kernel/table.js';

function fakeKernel(routes: Map<string, boolean>) {
  const asked: string[] = [];
  return {
    asked,
    lookup: async (a: string): Promise<boolean> => {
      asked.push(a);
      return routes.get(a) ?? false;
    },
  };
}

describe('NextHopResolver', () => {
  it('answers false until the kernel has answered, then asks for a new selection once', async () => {
    const kernel = fakeKernel(new Map([['10.0.0.2', true]]));
    let changes = 0;
    const r = new NextHopResolver(kernel.lookup, () => changes++);
    expect(r.resolvable('10.0.0.2')).toBe(false);
    expect(r.resolvable('10.0.0.2')).toBe(false); // one lookup in flight, not two
    await r.settled();
    expect(kernel.asked).toEqual(['10.0.0.2']);
    expect(r.resolvable('10.0.0.2')).toBe(true);
    expect(changes).toBe(1);
  });

  it('a first answer of "unreachable" changes nothing; a later change does', async () => {
    const routes = new Map([['10.0.0.9', false]]);
    const kernel = fakeKernel(routes);
    let changes = 0;
    const r = new NextHopResolver(kernel.lookup, () => changes++);
    r.resolvable('10.0.0.9');
    await r.settled();
    expect(changes).toBe(0);
    routes.set('10.0.0.9', true);
    r.refresh();
    await r.settled();
    expect(r.resolvable('10.0.0.9')).toBe(true);
    expect(changes).toBe(1);
    routes.set('10.0.0.9', false);
    r.refresh();
    await r.settled();
    expect(r.resolvable('10.0.0.9')).toBe(false);
    expect(changes).toBe(2);
  });

  it('coalesces a burst of answers into one re-selection', async () => {
    const kernel = fakeKernel(
      new Map([...Array.from({ length: 50 }, (_, i) => [`10.0.1.${i}`, true] as const)]),
    );
    let changes = 0;
    const r = new NextHopResolver(kernel.lookup, () => changes++);
    for (let i = 0; i < 50; i++) r.resolvable(`10.0.1.${i}`);
    await r.settled();
    expect(changes).toBe(1);
  });
});

/** A kernel copy driven by hand: `set` replaces the IPv4 table and tells the listeners. */
function fakeCopy() {
  const table = new RouteTable();
  const listeners = new Set<RouteListener>();
  const copy: KernelRoutes & { ready: boolean; set(...lines: string[]): void } = {
    ready: false,
    table,
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    set(...lines) {
      const routes = lines.map((t) => {
        const e = parseRouteText(t);
        if (e.kind !== 'route') throw new Error(t);
        return e.route;
      }) as KernelRoute[];
      const changes = table.replaceFamily('ipv4-unicast', routes);
      this.ready = true;
      for (const l of listeners) l(changes, 'resync');
    },
  };
  return copy;
}

describe('KernelNextHopResolver', () => {
  it('unresolved until the copy is in; then answers at once, and says when an answer turns', async () => {
    const copy = fakeCopy();
    let changes = 0;
    const r = new KernelNextHopResolver(copy, () => changes++);
    r.start();
    expect(r.resolvable('10.0.0.2')).toBe(false);
    copy.set('10.0.0.0/24 dev eth0 proto 2 scope 253', 'blackhole 10.99.0.0/16');
    await r.settled();
    expect(changes).toBe(1); // 10.0.0.2 turned reachable
    expect(r.resolvable('10.0.0.2')).toBe(true);
    expect(r.resolvable('10.99.0.1')).toBe(false); // blackhole
    expect(r.resolvable('10.5.0.1')).toBe(false); // no route
    // a change that turns no answer calls nothing
    copy.set(
      '10.0.0.0/24 dev eth0 proto 2 scope 253',
      'blackhole 10.99.0.0/16',
      '10.7.0.0/16 via 10.0.0.1 dev eth0',
    );
    await r.settled();
    expect(changes).toBe(1);
    // one that turns two answers calls once
    copy.set('default via 10.0.0.254 dev eth0', '10.0.0.0/24 dev eth0 proto 2 scope 253');
    await r.settled();
    expect(changes).toBe(2);
    expect([r.resolvable('10.99.0.1'), r.resolvable('10.5.0.1')]).toEqual([true, true]);
    r.stop();
    copy.set();
    await r.settled();
    expect(changes).toBe(2); // stopped: no longer follows
  });

  it('re-asks every known next hop on each change (1,000 here; timings: bench/kernel.bench.ts)', async () => {
    const copy = fakeCopy();
    let changes = 0;
    const r = new KernelNextHopResolver(copy, () => changes++);
    r.start();
    const lines = Array.from({ length: 200 }, (_, i) => `10.${i}.0.0/16 via 10.255.0.1 dev eth0`);
    copy.set('10.255.0.0/24 dev eth0 scope 253', ...lines);
    for (let i = 0; i < 1000; i++) expect(r.resolvable(`10.${i % 200}.${Math.floor(i / 200)}.1`)).toBe(true);
    expect(r.size).toBe(1000);
    copy.set('10.255.0.0/24 dev eth0 scope 253', ...lines.slice(1)); // 10.0.0.0/16 goes
    await r.settled();
    expect(changes).toBe(1);
    for (let j = 0; j < 5; j++) expect(r.resolvable(`10.0.${j}.1`)).toBe(false);
    expect(r.resolvable('10.1.0.1')).toBe(true);
  });
});
