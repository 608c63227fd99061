// The FIB writer's own work against a real kernel, in a network namespace this file creates (and
// deletes, also on failure, through the interop harness): planning costs the keys that changed, not
// the table once per round; `File exists` / `No such process` are taken as the copy being behind (a
// fresh read, those keys planned again), never as refusals.
//
// Needs root and `ip netns`; otherwise prints `SKIPPED kernel-writer (...)`, or fails under
// TERN_REQUIRE_INTEROP=1.

import { readdirSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { KernelRouteFollower } from '../../src/kernel/follower.js';
import type { FibRoute } from '../../src/kernel/plan.js';
import { type FibError, FibWriter } from '../../src/kernel/writer.js';
import { describeNetns, type Netns, useInteropHarness, waitFor } from '../interop/harness/index.js';
import { vethNode } from './netns-node.js';

const WAIT = { timeoutMs: 10_000, intervalMs: 20 };

interface Stoppable {
  stop(): Promise<void>;
}

describeNetns('FIB writer: incremental planning, a copy behind the kernel', () => {
  const harness = useInteropHarness('kernel-writer');
  const running: Stoppable[] = [];
  const stoppedPids: number[] = [];

  afterEach(async () => {
    for (const pid of stoppedPids.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  function own<T extends Stoppable>(s: T): T {
    running.push(s);
    return s;
  }

  const node = (label: string): Promise<Netns> => vethNode(harness(), label);

  function ours(f: KernelRouteFollower): number {
    let n = 0;
    for (const r of f.table.routes()) if (r.protocol === 12) n++;
    return n;
  }

  /** Route i: a /26 in 10.100.0.0 upwards, via 10.0.0.(2 + gw) (gw default: i % 200). */
  function route26(i: number, gw = i % 200): FibRoute {
    return {
      prefix: `10.${100 + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`,
      family: 'ipv4-unicast',
      nextHops: [{ address: `10.0.0.${2 + gw}` }],
    };
  }

  async function kernelCount(ns: Netns): Promise<number> {
    const r = await harness().ip(ns, ['-N', '-json', 'route', 'show', 'proto', '12']);
    return (JSON.parse(r.stdout) as unknown[]).length;
  }

  it('plans each key about once however many rounds the writing takes (a round costs its own lines)', async () => {
    const ns = await node('plan');
    const f = own(new KernelRouteFollower({ netns: ns.name, scanIntervalMs: 0, confirmDelayMs: 50 }));
    const errors: FibError[] = [];
    const w = own(new FibWriter(f, { netns: ns.name, maxBatch: 200, onError: (e) => errors.push(e) }));
    await f.start();
    const n = 4000;
    const routes: FibRoute[] = Array.from({ length: n }, (_, i) => route26(i));
    w.apply(routes);
    await waitFor(() => ours(f) === n, { what: 'the copy holding every route', ...WAIT });
    await w.settled();
    expect(errors).toEqual([]);
    expect(await kernelCount(ns)).toBe(n);
    expect(w.stats.added).toBe(n);
    expect(w.stats.rounds).toBeGreaterThanOrEqual(n / 200);
    // each route planned once, when wanted (the kernel's report of it, as written, is only counted):
    // about n in all, where planning everything every round would be n / 200 rounds x n keys (80,000)
    expect(w.stats.planned).toBeLessThanOrEqual(1.5 * n);
    expect(w.stats.confirmed).toBeGreaterThanOrEqual(n / 2);
    const planned = w.stats.planned;

    // one route changes: one key planned, one line written
    const rounds = w.stats.rounds;
    const changed = [...routes];
    changed[7] = { ...routes[7]!, nextHops: [{ address: '10.0.0.250' }] } as FibRoute;
    w.apply(changed);
    await w.settled();
    await waitFor(() => f.table.lookup('10.100.1.192')?.nextHops[0]?.gateway === '10.0.0.250', {
      what: 'the replaced route in the copy',
      ...WAIT,
    });
    await w.settled();
    expect(w.stats.rounds).toBe(rounds + 1);
    expect(w.stats.replaced).toBe(1);
    expect(w.stats.planned - planned).toBeLessThanOrEqual(3); // the change, and the kernel's echo of it

    w.apply([]);
    await waitFor(() => ours(f) === 0, { what: 'the copy holding none', ...WAIT });
    await w.settled();
    expect(await kernelCount(ns)).toBe(0);
    expect(w.stats.deleted).toBe(n);
    expect(w.stats.planned - planned).toBeLessThanOrEqual(1.5 * n + 3);
    expect(errors).toEqual([]);
  });

  it('`File exists` and `No such process` mean the copy is behind: a fresh read, no error, the key put right', async () => {
    const h = harness();
    const ns = await node('behind');
    const f = own(new KernelRouteFollower({ netns: ns.name, scanIntervalMs: 0, confirmDelayMs: 50 }));
    const errors: FibError[] = [];
    const w = own(new FibWriter(f, { netns: ns.name, onError: (e) => errors.push(e) }));
    await f.start();
    await waitFor(() => f.stats.resyncs >= 2, { what: 'the confirming read', ...WAIT });
    const x: FibRoute = {
      prefix: '10.244.1.0/26',
      family: 'ipv4-unicast',
      nextHops: [{ address: '10.0.0.2' }],
    };
    const y: FibRoute = {
      prefix: '10.244.2.0/26',
      family: 'ipv4-unicast',
      nextHops: [{ address: '10.0.0.3' }],
    };
    const z: FibRoute = {
      prefix: '10.244.3.0/26',
      family: 'ipv4-unicast',
      nextHops: [{ address: '10.0.0.4' }],
    };
    w.apply([x, y]);
    await waitFor(() => ours(f) === 2, { what: 'x and y in the copy', ...WAIT });
    await w.settled();

    // the copy falls behind: its monitor stops reading (the follower's own child, continued after)
    const pid = f.monitorPid!;
    process.kill(pid, 'SIGSTOP');
    stoppedPids.push(pid);
    await h.ip(ns, ['route', 'del', '10.244.1.0/26', 'proto', '12']); // x gone behind the copy's back
    await h.ip(ns, ['route', 'add', '10.244.3.0/26', 'proto', '12', 'via', '10.0.0.9']); // z there, not as wanted
    const reads = f.stats.resyncs;
    w.apply([y, z]); // plans: delete x (No such process), add z (File exists)
    await waitFor(() => w.stats.behind === 2, { what: 'both answers seen', ...WAIT });
    await w.settled();
    expect(errors).toEqual([]); // not refused routes
    expect(w.stats.errors).toBe(0);
    expect(w.stats.deleted).toBe(0); // x was not deleted by tern: not counted as done
    expect(w.stats.readsAsked).toBeGreaterThanOrEqual(1);
    expect(f.stats.resyncs).toBeGreaterThan(reads);
    // after the read, z was planned again and replaced with the wanted next hop; the copy knows x is gone
    const shown = JSON.parse((await h.ip(ns, ['-N', '-json', 'route', 'show', 'proto', '12'])).stdout) as {
      dst: string;
      gateway?: string;
    }[];
    expect(shown.map((r) => [r.dst, r.gateway])).toEqual([
      ['10.244.2.0/26', '10.0.0.3'],
      ['10.244.3.0/26', '10.0.0.4'],
    ]);
    expect(w.stats.replaced).toBe(1);
    expect(f.table.lookup('10.244.1.1')).toBeUndefined();
  });

  it('runs two rounds at once on different keys, and a key changed while its round runs ends as wanted', async () => {
    const ns = await node('pipeline');
    const f = own(new KernelRouteFollower({ netns: ns.name, scanIntervalMs: 0, confirmDelayMs: 50 }));
    const errors: FibError[] = [];
    const w = own(new FibWriter(f, { netns: ns.name, maxBatch: 500, onError: (e) => errors.push(e) }));
    await f.start();
    const n = 6000;
    const first = Array.from({ length: n }, (_, i) => route26(i));
    w.apply(first);
    await waitFor(() => w.stats.rounds >= 1, { what: 'the first round done', ...WAIT });
    // while rounds are running: every third route gets another next hop, every seventh goes
    const second = first.flatMap((r, i) => (i % 7 === 0 ? [] : i % 3 === 0 ? [route26(i, 250)] : [r]));
    w.apply(second);
    const wantOurs = second.length;
    await waitFor(() => ours(f) === wantOurs, { what: 'the copy holding the second set', ...WAIT });
    await w.settled();
    expect(errors).toEqual([]);
    expect(w.stats.mostRunning).toBeGreaterThanOrEqual(1);
    expect(w.stats.mostRunning).toBeLessThanOrEqual(2);
    const shown = JSON.parse(
      (await harness().ip(ns, ['-N', '-json', 'route', 'show', 'proto', '12'])).stdout,
    ) as { dst: string; gateway?: string }[];
    const got = new Map(shown.map((r) => [r.dst, r.gateway]));
    expect(got.size).toBe(second.length);
    for (const r of second) {
      expect('nextHops' in r && got.get(r.prefix)).toBe('nextHops' in r && r.nextHops[0]!.address);
    }
    // the kernel's confirmation of a line as written is not planned again
    expect(w.stats.confirmed).toBeGreaterThan(n / 2);
    expect(w.stats.planned).toBeLessThan(2 * n);
    // the lines reached `ip` through files that are gone once it started
    const left = readdirSync('/dev/shm').filter((name) => name.startsWith(`tern-ip-${process.pid}-`));
    expect(left).toEqual([]);
  });

  it('with maxRounds 1, rounds never overlap', async () => {
    const ns = await node('serial');
    const f = own(new KernelRouteFollower({ netns: ns.name, scanIntervalMs: 0, confirmDelayMs: 50 }));
    const w = own(new FibWriter(f, { netns: ns.name, maxBatch: 300, maxRounds: 1 }));
    await f.start();
    const n = 3000;
    w.apply(Array.from({ length: n }, (_, i) => route26(i)));
    await waitFor(() => ours(f) === n, { what: 'the copy holding every route', ...WAIT });
    await w.settled();
    expect(w.stats.rounds).toBeGreaterThanOrEqual(n / 300);
    expect(w.stats.mostRunning).toBe(1);
    expect(await kernelCount(ns)).toBe(n);
  });
});
