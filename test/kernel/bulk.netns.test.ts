// FibWriter's bulk mode against a real kernel, in a network namespace this file creates (and deletes,
// also on failure, through the interop harness): a large plan is carried out with the follower's
// `ip monitor` paused, then the follower resumes (a new monitor, a full read) and the copy holds what the
// kernel holds, including what another program changed meanwhile.
//
// Needs root and `ip netns`; otherwise prints `SKIPPED kernel-bulk (...)`, or fails under
// TERN_REQUIRE_INTEROP=1.

import { afterEach, expect, it } from 'vitest';
import { KernelRouteFollower } from '../../src/kernel/follower.js';
import type { FibRoute } from '../../src/kernel/plan.js';
import type { RouteChange } from '../../src/kernel/table.js';
import { type FibError, FibWriter } from '../../src/kernel/writer.js';
import { describeNetns, type Netns, useInteropHarness, waitFor } from '../interop/harness/index.js';
import { vethNode } from './netns-node.js';

const WAIT = { timeoutMs: 20_000, intervalMs: 20 };

interface Stoppable {
  stop(): Promise<void>;
}

interface ShownRoute {
  dst: string;
  gateway?: string;
  /** With `-N`: numbers as strings. */
  protocol?: string;
  type?: string;
}

describeNetns('FIB writer: bulk mode (the monitor paused while a large plan is written)', () => {
  const harness = useInteropHarness('kernel-bulk');
  const running: Stoppable[] = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  function own<T extends Stoppable>(s: T): T {
    running.push(s);
    return s;
  }

  const node = (label: string): Promise<Netns> => vethNode(harness(), label);

  /** Route i: a /26 in 10.100.0.0 upwards, via 10.0.0.(2 + i % 200). */
  function route26(i: number): FibRoute {
    return {
      prefix: `10.${100 + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`,
      family: 'ipv4-unicast',
      nextHops: [{ address: `10.0.0.${2 + (i % 200)}` }],
    };
  }

  async function shown(ns: Netns): Promise<ShownRoute[]> {
    return JSON.parse((await harness().ip(ns, ['-N', '-json', 'route', 'show'])).stdout) as ShownRoute[];
  }

  function ours(f: KernelRouteFollower): number {
    let n = 0;
    for (const r of f.table.routes()) if (r.protocol === 12) n++;
    return n;
  }

  it('a large apply ends with the kernel exactly as wanted; a route added by hand meanwhile is in the copy', async () => {
    const h = harness();
    const ns = await node('bulk');
    // other protocols' routes, one where a wanted route would go: left alone
    await h.ip(ns, ['route', 'add', 'blackhole', '10.244.1.0/26', 'proto', '80']);
    await h.ip(ns, ['route', 'add', '10.200.0.0/24', 'via', '10.0.0.9', 'proto', 'static']);
    // a stale route of tern's protocol: removed in the bulk piece
    await h.ip(ns, ['route', 'add', '10.201.0.0/24', 'via', '10.0.0.9', 'proto', '12']);
    const f = own(new KernelRouteFollower({ netns: ns.name, scanIntervalMs: 0, confirmDelayMs: 50 }));
    const errors: FibError[] = [];
    const w = own(
      // small rounds one at a time: the piece lasts long enough for a route added by hand
      new FibWriter(f, {
        netns: ns.name,
        maxBatch: 200,
        maxRounds: 1,
        bulkMin: 1000,
        onError: (e) => errors.push(e),
      }),
    );
    const heard: { change: RouteChange; cause: string }[] = [];
    f.onChange((changes, cause) => {
      for (const c of changes) if (c.key.includes('10.250.0.0')) heard.push({ change: c, cause });
    });
    await f.start();
    await waitFor(() => f.stats.resyncs >= 2, { what: 'the confirming read', ...WAIT });
    const monitorBefore = f.monitorPid;
    const n = 8000;
    const routes: FibRoute[] = Array.from({ length: n }, (_, i) => route26(i));
    // wanted where Felix's blackhole is: a conflict, reported, the blackhole left alone
    routes.push({ prefix: '10.244.1.0/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.2' }] });
    // a gateway on no connected subnet: the kernel refuses that line, reported per route
    routes.push({ prefix: '10.202.0.0/24', family: 'ipv4-unicast', nextHops: [{ address: '10.9.9.9' }] });
    w.apply(routes);
    // while the piece runs (the monitor paused), another program adds a route
    await waitFor(() => f.isPaused, { what: 'following paused', timeoutMs: 10_000, intervalMs: 1 });
    await h.ip(ns, ['route', 'add', 'blackhole', '10.250.0.0/26', 'proto', '80']);
    expect(f.table.lookup('10.250.0.1')).toBeUndefined(); // the copy is stale meanwhile
    await waitFor(() => !f.isPaused && ours(f) === n, { what: 'the copy holding every route', ...WAIT });
    await w.settled();

    expect(w.stats.bulks).toBeGreaterThanOrEqual(1);
    expect(f.stats.pauses).toBe(w.stats.bulks);
    expect(w.stats.added).toBe(n);
    expect(w.stats.deleted).toBe(1);
    expect(f.monitorPid).toBeDefined();
    expect(f.monitorPid).not.toBe(monitorBefore);
    // the kernel: exactly the wanted routes of protocol 12, and the others as they were
    const kernel = await shown(ns);
    const mine = kernel.filter((r) => r.protocol === '12');
    expect(mine.length).toBe(n);
    const byDst = new Map(mine.map((r) => [r.dst, r.gateway]));
    for (const r of routes.slice(0, n)) {
      expect(byDst.get(r.prefix)).toBe('nextHops' in r ? r.nextHops[0]!.address : undefined);
    }
    const others = kernel
      .filter((r) => r.protocol !== '12' && r.dst !== '10.0.0.0/24')
      .map((r) => [r.dst, r.protocol, r.type ?? 'unicast']);
    expect(others).toEqual([
      ['10.200.0.0/24', '4', 'unicast'],
      ['10.244.1.0/26', '80', '6'], // RTN_BLACKHOLE
      ['10.250.0.0/26', '80', '6'],
    ]);
    // the copy holds what the kernel holds, the hand-made route included, and listeners heard of it
    // from the read that resumed following (a resync), as learning and next-hop resolution do
    expect(f.table.lookup('10.250.0.1')?.type).toBe('blackhole');
    expect(heard.map((x) => [x.cause, x.change.before === undefined, x.change.after?.protocol])).toEqual([
      ['resync', true, 80],
    ]);
    expect(f.table.size).toBe(kernel.length);
    // per-route errors as without the bulk mode: the conflict, and the refused line
    expect(errors.map((e) => [e.op, e.prefix]).sort()).toEqual([
      ['add', '10.202.0.0/24'],
      ['conflict', '10.244.1.0/26'],
    ]);

    // following works again: a change by hand reaches the copy through the monitor alone
    const reads = f.stats.resyncs;
    await h.ip(ns, ['route', 'add', 'blackhole', '10.251.0.0/26', 'proto', '80']);
    await waitFor(() => f.table.lookup('10.251.0.1') !== undefined, { what: 'the monitor event', ...WAIT });
    expect(f.stats.resyncs).toBe(reads);

    // a small change is written the ordinary way (no pause)
    const bulks = w.stats.bulks;
    const fewer = routes.slice(10);
    w.apply(fewer);
    await waitFor(() => ours(f) === n - 10, { what: 'ten routes gone', ...WAIT });
    await w.settled();
    expect(w.stats.bulks).toBe(bulks);

    // and all of them go in bulk
    w.apply([]);
    await waitFor(() => ours(f) === 0, { what: 'the copy holding none', ...WAIT });
    await w.settled();
    expect(w.stats.bulks).toBe(bulks + 1);
    expect((await shown(ns)).filter((r) => r.protocol === '12')).toEqual([]);
    expect((await shown(ns)).filter((r) => r.protocol === '80').length).toBe(3);
  });

  it('a bulk write is cut into pieces of at most bulkMaxMs, following resumed between them', async () => {
    const ns = await node('pieces');
    const f = own(new KernelRouteFollower({ netns: ns.name, scanIntervalMs: 0, confirmDelayMs: 50 }));
    const errors: FibError[] = [];
    const w = own(
      new FibWriter(f, {
        netns: ns.name,
        maxBatch: 200,
        maxRounds: 1,
        bulkMin: 500,
        bulkMaxMs: 1, // every round its own piece
        onError: (e) => errors.push(e),
      }),
    );
    await f.start();
    const n = 3000;
    w.apply(Array.from({ length: n }, (_, i) => route26(i)));
    await waitFor(() => ours(f) === n, { what: 'the copy holding every route', ...WAIT });
    await w.settled();
    expect(errors).toEqual([]);
    expect(w.stats.added).toBe(n);
    // a piece per round until fewer than bulkMin keys were left, then ordinary rounds
    expect(w.stats.bulks).toBeGreaterThanOrEqual(Math.floor((n - 500) / 200));
    expect(f.stats.pauses).toBe(w.stats.bulks);
    expect(f.isPaused).toBe(false);
    const kernel = (await shown(ns)).filter((r) => r.protocol === '12');
    expect(kernel.length).toBe(n);
  });

  it('stopping the writer during a bulk piece leaves the follower following', async () => {
    const ns = await node('stop');
    const f = own(new KernelRouteFollower({ netns: ns.name, scanIntervalMs: 0, confirmDelayMs: 50 }));
    const w = new FibWriter(f, { netns: ns.name, maxBatch: 200, bulkMin: 500 });
    await f.start();
    w.apply(Array.from({ length: 4000 }, (_, i) => route26(i)));
    await waitFor(() => f.isPaused, { what: 'following paused', timeoutMs: 10_000, intervalMs: 1 });
    await w.stop();
    expect(f.isPaused).toBe(false);
    expect(f.monitorPid).toBeDefined();
    const inKernel = (await shown(ns)).filter((r) => r.protocol === '12').length;
    await waitFor(() => ours(f) === inKernel, { what: 'the copy holding what the kernel holds', ...WAIT });
  });
});
