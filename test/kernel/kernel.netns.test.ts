// Kernel sync against a real kernel, in network namespaces this file creates (and deletes, also on
// failure: the interop harness tears them down in afterAll, on exit and on signals): the follower sees
// each change through `ip monitor`, recovers from a killed monitor, notices the IPv4 routes the kernel
// flushes silently; the learner originates and withdraws; the writer programs, replaces and removes
// routes (ECMP, blackholes, IPIP onlink), cleans up stale routes of its protocol at start and never
// touches another protocol's; next hops resolve from the copy.
//
// Needs root and `ip netns`; otherwise prints `SKIPPED kernel (...)`, or fails under TERN_REQUIRE_INTEROP=1.
// The namespaces have no dummy devices (this kernel has none): veth pairs stand in for eth0, the pods'
// cali* interfaces and tunl0.

import { afterEach, expect, it } from 'vitest';
import type { KernelConfig, PoolConfig } from '../../src/config/types.js';
import { KernelNextHopResolver } from '../../src/fib-sync/next-hop-resolver.js';
import { KernelRouteFollower } from '../../src/kernel/follower.js';
import { readRoutes, runIp } from '../../src/kernel/ip.js';
import type { LearnedDiff, LearnedPrefix } from '../../src/kernel/learn.js';
import type { FibRoute } from '../../src/kernel/plan.js';
import { type KernelRoute, routeKey, sameRoute } from '../../src/kernel/route.js';
import { KernelSync } from '../../src/kernel/sync.js';
import { type FibError, FibWriter } from '../../src/kernel/writer.js';
import {
  describeNetns,
  type InteropHarness,
  type Netns,
  useInteropHarness,
  waitFor,
} from '../interop/harness/index.js';

const WAIT = { timeoutMs: 5000, intervalMs: 20 };

interface Stoppable {
  stop(): Promise<void>;
}

describeNetns('kernel sync against a real kernel (ip monitor, ip -batch)', () => {
  const harness = useInteropHarness('kernel');
  const running: Stoppable[] = [];

  afterEach(async () => {
    // stop what the test started (its `ip monitor` children) before anything else
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  function own<T extends Stoppable>(s: T): T {
    running.push(s);
    return s;
  }

  /** A namespace like a node: eth0 10.0.0.1/24 + fd00::1/64, pod interfaces cali1 and cali2, tunl0. */
  async function node(h: InteropHarness, label: string): Promise<Netns> {
    const ns = await h.createNetns(label);
    for (const [a, b] of [
      ['eth0', 'eth0p'],
      ['cali1', 'cali1p'],
      ['cali2', 'cali2p'],
      ['tunl0', 'tunl0p'],
    ] as const) {
      await h.ip(ns, ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      await h.ip(ns, ['link', 'set', a, 'addrgenmode', 'none']);
      await h.ip(ns, ['link', 'set', b, 'addrgenmode', 'none']);
      await h.ip(ns, ['link', 'set', a, 'up']);
      await h.ip(ns, ['link', 'set', b, 'up']);
    }
    await h.ip(ns, ['addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
    await h.ip(ns, ['addr', 'add', 'fd00::1/64', 'dev', 'eth0', 'nodad']);
    return ns;
  }

  function pool(cidr: string): PoolConfig {
    const v6 = cidr.includes(':');
    return {
      cidr,
      family: v6 ? 'ipv6-unicast' : 'ipv4-unicast',
      encapsulation: 'none',
      crossSubnet: false,
      blockSize: v6 ? 122 : 26,
      disableBgpExport: false,
      programRoutes: true,
    };
  }

  function kernelConfig(write: boolean): KernelConfig {
    return {
      table: 254,
      scanTime: 0,
      learn: { blocks: true, hostRoutes: true, interfaces: ['cali*'] },
      write,
      protocol: 12,
    };
  }

  function follower(ns: Netns): KernelRouteFollower {
    return own(new KernelRouteFollower({ netns: ns.name, scanIntervalMs: 0, confirmDelayMs: 50 }));
  }

  /** Waits for the second full read, the one that confirms the first after the monitor started. */
  function confirmed(f: KernelRouteFollower): Promise<boolean> {
    return waitFor(() => f.stats.resyncs >= 2, { what: 'the confirming read', ...WAIT });
  }

  interface ShownRoute {
    dst: string;
    type?: string;
    gateway?: string;
    dev?: string;
    protocol?: string;
    flags?: string[];
    nexthops?: { gateway?: string; dev?: string; weight?: number; flags?: string[] }[];
  }

  /** `ip -n <ns> -N -json [-6] route show [args]`. */
  async function shown(h: InteropHarness, ns: Netns, v6: boolean, ...args: string[]): Promise<ShownRoute[]> {
    const r = await h.ip(ns, ['-N', '-json', ...(v6 ? ['-6'] : []), 'route', 'show', ...args]);
    return JSON.parse(r.stdout) as ShownRoute[];
  }

  it('reads both tables at start, then sees every change through the monitor alone', async () => {
    const h = harness();
    const ns = await node(h, 'follow');
    await h.ip(ns, ['route', 'add', 'blackhole', '10.99.0.0/16', 'proto', '80']);
    const f = follower(ns);
    const causes: string[] = [];
    f.onChange((_, cause) => causes.push(cause));
    await f.start();
    expect(f.ready).toBe(true);
    expect(f.table.lookup('10.0.0.7')?.prefix).toBe('10.0.0.0/24');
    expect(f.table.lookup('fd00::7')?.prefix).toBe('fd00::/64');
    expect(f.table.lookup('10.99.3.4')).toMatchObject({ type: 'blackhole', protocol: 80 });
    await confirmed(f);
    const reads = f.stats.resyncs;

    const until = (what: string, probe: () => boolean) => waitFor(probe, { what, ...WAIT });
    await h.ip(ns, ['route', 'add', '10.70.0.0/16', 'via', '10.0.0.2']);
    await until('IPv4 add', () => f.table.lookup('10.70.1.1')?.nextHops[0]?.gateway === '10.0.0.2');
    await h.ip(ns, ['route', 'replace', '10.70.0.0/16', 'via', '10.0.0.3', 'proto', '12']);
    await until('IPv4 replace', () => f.table.lookup('10.70.1.1')?.nextHops[0]?.gateway === '10.0.0.3');
    await h.ip(ns, ['route', 'replace', 'unreachable', '10.70.0.0/16', 'proto', '12']);
    await until('IPv4 replace by unreachable', () => f.table.lookup('10.70.1.1')?.type === 'unreachable');
    await h.ip(ns, ['route', 'del', '10.70.0.0/16']);
    await until('IPv4 delete', () => f.table.lookup('10.70.1.1') === undefined);

    await h.ip(ns, ['-6', 'route', 'add', 'fd00:70::/64', 'via', 'fd00::2', 'metric', '5']);
    await until('IPv6 add', () => f.table.lookup('fd00:70::1')?.metric === 5);
    await h.ip(ns, ['-6', 'route', 'append', 'fd00:70::/64', 'via', 'fd00::3', 'metric', '5']);
    await until('IPv6 ECMP append', () => f.table.lookup('fd00:70::1')?.nextHops.length === 2);
    await h.ip(ns, ['-6', 'route', 'del', 'fd00:70::/64', 'via', 'fd00::2', 'metric', '5']);
    await until(
      'IPv6 one next hop deleted',
      () =>
        f.table
          .lookup('fd00:70::1')
          ?.nextHops.map((n) => n.gateway)
          .join() === 'fd00::3',
    );
    await h.ip(ns, ['-6', 'route', 'del', 'fd00:70::/64', 'metric', '5']);
    await until('IPv6 delete', () => f.table.lookup('fd00:70::1')?.prefix !== 'fd00:70::/64');

    // all of it came through `ip monitor`: no full read was needed
    expect(f.stats.resyncs).toBe(reads);
    expect(causes.filter((c) => c === 'event').length).toBeGreaterThanOrEqual(8);

    // a burst: 2,000 routes of both families (multipath among them) in one `ip -batch`, then half of
    // them deleted; the copy ends equal to a fresh read of the kernel, still without a full read
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++) {
      lines.push(`route add 10.${100 + (i >> 8)}.${i & 255}.0/24 via 10.0.0.${2 + (i % 3)} proto 12`);
      lines.push(
        `route add fd00:${(1000 + i).toString(16)}::/64 proto 12 nexthop via fd00::2 nexthop via fd00::3`,
      );
    }
    for (let i = 0; i < 1000; i += 2) lines.push(`route del 10.${100 + (i >> 8)}.${i & 255}.0/24 proto 12`);
    await runIp({ netns: ns.name }, ['-batch', '-'], `${lines.join('\n')}\n`);
    const fresh = async (): Promise<Map<string, KernelRoute>> => {
      const out = new Map<string, KernelRoute>();
      for (const family of ['ipv4-unicast', 'ipv6-unicast'] as const) {
        for (const r of (await readRoutes({ netns: ns.name }, family, 254)).routes) out.set(routeKey(r), r);
      }
      return out;
    };
    const kernelNow = await fresh();
    await waitFor(() => f.table.size === kernelNow.size, {
      what: `${kernelNow.size} routes in the copy`,
      ...WAIT,
    });
    for (const [key, r] of kernelNow) expect(sameRoute(f.table.get(key)!, r)).toBe(true);
    expect(f.stats.resyncs).toBe(reads);
  });

  it('notices the IPv4 routes the kernel flushes without a message when a device goes down', async () => {
    const h = harness();
    const ns = await node(h, 'flush');
    const f = follower(ns);
    await f.start();
    await confirmed(f);
    await h.ip(ns, ['route', 'add', '10.244.1.5/32', 'dev', 'cali1']);
    await h.ip(ns, ['route', 'add', '10.60.0.0/16', 'via', '10.0.0.9', 'dev', 'cali1', 'onlink']);
    await waitFor(() => f.table.lookup('10.60.0.1')?.prefix === '10.60.0.0/16', {
      what: 'routes via cali1',
      ...WAIT,
    });
    await h.ip(ns, ['link', 'set', 'cali1', 'down']);
    await waitFor(() => !f.table.hasRoutesVia('cali1', 'ipv4-unicast'), {
      what: 'the flushed routes gone',
      ...WAIT,
    });
    expect(await shown(h, ns, false, 'dev', 'cali1')).toEqual([]); // the kernel agrees
    expect(f.stats.lastResyncReason).toMatch(/link cali1 down/);
  });

  it('a killed monitor child is started again, and a full read catches what it missed', async () => {
    const h = harness();
    const ns = await node(h, 'kill');
    const f = follower(ns);
    await f.start();
    await confirmed(f); // so that only the recovery can find what follows
    const seenBy: string[] = [];
    f.onChange((changes, cause) => {
      if (changes.some((c) => c.after?.prefix === '10.71.0.0/16')) seenBy.push(cause);
    });
    const pid = f.monitorPid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL'); // the monitor child this test's follower started
    await h.ip(ns, ['route', 'add', '10.71.0.0/16', 'via', '10.0.0.2']); // while no monitor runs
    await waitFor(() => f.table.lookup('10.71.0.1')?.prefix === '10.71.0.0/16', {
      what: 'the route added while the monitor was down',
      ...WAIT,
    });
    expect(f.stats.monitorStarts).toBe(2);
    expect(f.monitorPid).not.toBe(pid);
    expect(seenBy).toEqual(['resync']); // found by the full read after the restart, not by a message
    // and the new monitor follows changes again
    await h.ip(ns, ['route', 'del', '10.71.0.0/16']);
    await waitFor(() => f.table.lookup('10.71.0.1') === undefined, { what: 'delete seen', ...WAIT });
  });

  it('learns blocks and borrowed pod routes inside the pools; withdraws a route that goes at once', async () => {
    const h = harness();
    const ns = await node(h, 'learn');
    await h.ip(ns, ['route', 'add', 'blackhole', '10.244.1.0/26', 'proto', '80']);
    await h.ip(ns, ['route', 'add', '10.244.1.5/32', 'dev', 'cali1']); // a pod in the local block
    await h.ip(ns, ['route', 'add', '10.244.9.7/32', 'dev', 'cali2']); // a borrowed address
    await h.ip(ns, ['route', 'add', '10.9.0.5/32', 'dev', 'cali2']); // outside every pool
    await h.ip(ns, ['-6', 'route', 'add', 'blackhole', 'fd00:10:244:1::/122', 'proto', '80']);
    const pools = [{ ...pool('10.244.0.0/16'), encapsulation: 'ipip' as const }, pool('fd00:10:244::/48')];
    const kernel = kernelConfig(false);
    const sync = own(new KernelSync({ kernel, pools, netns: ns.name, confirmDelayMs: 50 }));
    const calls: { set: readonly LearnedPrefix[]; diff: LearnedDiff; at: number }[] = [];
    sync.onOriginate((diff) => calls.push({ set: sync.originated, diff, at: Date.now() }));
    await sync.start();
    const prefixes = (s: readonly LearnedPrefix[]) => s.map((p) => p.prefix);
    expect(calls).toHaveLength(1); // the start
    expect(prefixes(calls[0]!.set)).toEqual(['10.244.1.0/26', '10.244.9.7/32', 'fd00:10:244:1::/122']);
    expect(sync.writer).toBeUndefined();
    await confirmed(sync.follower);

    const reads = sync.follower.stats.resyncs;
    const t0 = Date.now();
    await h.ip(ns, ['route', 'del', '10.244.9.7/32']);
    await waitFor(() => calls.length === 2, { what: 'the withdrawal', ...WAIT });
    expect(calls[1]!.diff).toEqual({
      added: [],
      removed: [{ prefix: '10.244.9.7/32', family: 'ipv4-unicast', kind: 'host' }],
    });
    expect(calls[1]!.at - t0).toBeLessThan(1000);
    expect(sync.follower.stats.resyncs).toBe(reads); // from the monitor message itself, not a scan

    // the block goes: it is withdrawn, and its pod becomes a route of its own
    await h.ip(ns, ['route', 'del', '10.244.1.0/26']);
    await waitFor(() => calls.length === 3, { what: 'the block withdrawn', ...WAIT });
    expect(calls[2]!.diff.removed.map((p) => p.prefix)).toEqual(['10.244.1.0/26']);
    expect(calls[2]!.diff.added.map((p) => p.prefix)).toEqual(['10.244.1.5/32']);

    // a pod whose veth goes away: IPv4 flushes the route silently, the withdrawal still comes
    await h.ip(ns, ['link', 'del', 'cali1']);
    await waitFor(() => calls.length === 4, { what: 'the pod route withdrawn after its veth went', ...WAIT });
    expect(calls[3]!.diff.removed.map((p) => p.prefix)).toEqual(['10.244.1.5/32']);
    expect(prefixes(sync.originated)).toEqual(['fd00:10:244:1::/122']);
  });

  it('writes routes as Calico BIRD does (plain, IPIP onlink, ECMP, blackhole), replaces and removes them', async () => {
    const h = harness();
    const ns = await node(h, 'write');
    const f = follower(ns);
    const errors: FibError[] = [];
    const w = own(new FibWriter(f, { netns: ns.name, onError: (e) => errors.push(e) }));
    const first: FibRoute[] = [
      { prefix: '10.244.2.0/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.2' }] },
      {
        prefix: '10.244.3.0/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '192.0.2.3', device: 'tunl0', onlink: true }],
      },
      {
        prefix: '10.244.4.0/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '10.0.0.5' }, { address: '10.0.0.6' }],
      },
      { prefix: '10.244.1.0/26', family: 'ipv4-unicast', type: 'blackhole' },
      {
        prefix: 'fd00:10:244:2::/122',
        family: 'ipv6-unicast',
        nextHops: [{ address: 'fd00::2' }, { address: 'fd00::3' }],
      },
      { prefix: 'fd00:10:244:1::/122', family: 'ipv6-unicast', type: 'blackhole' },
    ];
    w.apply(first); // asked before the copy is in: written once it is
    await f.start();
    await w.settled();
    expect(errors).toEqual([]);
    const v4 = await shown(h, ns, false, 'proto', '12');
    expect(v4).toEqual([
      { dst: '10.244.1.0/26', type: '6', flags: [] },
      { dst: '10.244.2.0/26', gateway: '10.0.0.2', dev: 'eth0', flags: [] },
      { dst: '10.244.3.0/26', gateway: '192.0.2.3', dev: 'tunl0', flags: ['onlink'] },
      {
        dst: '10.244.4.0/26',
        flags: [],
        nexthops: [
          { gateway: '10.0.0.5', dev: 'eth0', weight: 1, flags: [] },
          { gateway: '10.0.0.6', dev: 'eth0', weight: 1, flags: [] },
        ],
      },
    ]);
    const v6 = await shown(h, ns, true, 'proto', '12');
    expect(
      v6.map((r) => [r.dst, r.type ?? 'unicast', (r.nexthops ?? []).map((n) => n.gateway).join()]),
    ).toEqual([
      ['fd00:10:244:1::/122', '6', ''],
      ['fd00:10:244:2::/122', 'unicast', 'fd00::2,fd00::3'],
    ]);
    const rounds = w.stats.rounds;

    // the same set again, next hops in another order (the same ECMP set): nothing to do
    w.apply(first.map((r) => ('nextHops' in r ? { ...r, nextHops: [...r.nextHops].reverse() } : r)));
    await w.settled();
    expect(w.stats.rounds).toBe(rounds);

    // a new next hop, ECMP down to one path, one route no longer wanted
    w.apply([
      { prefix: '10.244.2.0/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.7' }] },
      { prefix: '10.244.4.0/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.6' }] },
      { prefix: '10.244.1.0/26', family: 'ipv4-unicast', type: 'blackhole' },
      { prefix: 'fd00:10:244:2::/122', family: 'ipv6-unicast', nextHops: [{ address: 'fd00::3' }] },
    ]);
    await w.settled();
    expect(errors).toEqual([]);
    expect((await shown(h, ns, false, 'proto', '12')).map((r) => [r.dst, r.gateway ?? r.type])).toEqual([
      ['10.244.1.0/26', '6'],
      ['10.244.2.0/26', '10.0.0.7'],
      ['10.244.4.0/26', '10.0.0.6'],
    ]);
    expect((await shown(h, ns, true, 'proto', '12')).map((r) => [r.dst, r.gateway])).toEqual([
      ['fd00:10:244:2::/122', 'fd00::3'],
    ]);

    // a route of ours deleted by hand comes back; one deleted again and again (another daemon fighting
    // over protocol 12) is set aside after 5 writes in 10 s, with an error, not written forever
    const present = async (): Promise<boolean> =>
      (await shown(h, ns, false, 'proto', '12')).some((r) => r.dst === '10.244.2.0/26');
    for (let i = 0; i < 4; i++) {
      await h.ip(ns, ['route', 'del', '10.244.2.0/26', 'proto', '12']);
      await waitFor(present, { what: `the route deleted by hand written again (${i + 1})`, ...WAIT });
    }
    expect(errors).toEqual([]);
    await h.ip(ns, ['route', 'del', '10.244.2.0/26', 'proto', '12']);
    await waitFor(() => errors.length > 0, { what: 'the writer giving up', ...WAIT });
    expect(errors[0]).toMatchObject({
      op: 'add',
      prefix: '10.244.2.0/26',
      message: expect.stringMatching(/written 5 times/),
    });
    expect(await present()).toBe(false);
    errors.length = 0;

    // nothing wanted: everything of ours goes
    w.apply([]);
    await w.settled();
    expect(await shown(h, ns, false, 'proto', '12')).toEqual([]);
    expect(await shown(h, ns, true, 'proto', '12')).toEqual([]);
  });

  it('at start removes its stale routes, never touches another protocol, and reports each error with its route', async () => {
    const h = harness();
    const ns = await node(h, 'stale');
    // left by an earlier run (or by BIRD): tern's protocol
    await h.ip(ns, ['route', 'add', '10.244.8.0/26', 'via', '10.0.0.8', 'proto', '12']);
    await h.ip(ns, ['-6', 'route', 'add', 'fd00:10:244:8::/122', 'via', 'fd00::8', 'proto', '12']);
    await h.ip(ns, ['route', 'add', '10.244.2.0/26', 'via', '10.0.0.9', 'proto', '12']); // wanted, but different
    // someone else's
    await h.ip(ns, ['route', 'add', 'blackhole', '10.244.1.0/26', 'proto', '80']);
    await h.ip(ns, ['route', 'add', '10.244.5.0/26', 'via', '10.0.0.5', 'proto', '80']);
    await h.ip(ns, ['route', 'add', '10.244.6.0/26', 'via', '10.0.0.6', 'proto', 'static']);
    const before80 = await shown(h, ns, false, 'proto', '80');

    const f = follower(ns);
    const errors: FibError[] = [];
    const w = own(new FibWriter(f, { netns: ns.name, onError: (e) => errors.push(e) }));
    await f.start();
    await new Promise((r) => setTimeout(r, 100));
    // nothing is touched before the first apply
    expect((await shown(h, ns, false, 'proto', '12')).map((r) => r.dst)).toEqual([
      '10.244.2.0/26',
      '10.244.8.0/26',
    ]);

    const wanted: FibRoute[] = [
      { prefix: '10.244.2.0/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.2' }] },
      { prefix: '10.244.1.0/26', family: 'ipv4-unicast', type: 'blackhole' }, // Felix's is there: fine
      { prefix: '10.244.5.0/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.2' }] }, // a conflict
      { prefix: '10.244.7.0/26', family: 'ipv4-unicast', nextHops: [{ address: '10.9.9.9' }] }, // no such gateway
      {
        prefix: '10.244.7.64/26',
        family: 'ipv4-unicast',
        nextHops: [{ address: '10.0.0.2', device: 'nope0' }],
      },
      { prefix: '10.244.7.128/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.3' }] }, // fine
      { prefix: '10.244.7.5/26', family: 'ipv4-unicast', nextHops: [{ address: '10.0.0.3' }] }, // invalid
    ];
    w.apply(wanted);
    await w.settled();
    expect((await shown(h, ns, false, 'proto', '12')).map((r) => [r.dst, r.gateway])).toEqual([
      ['10.244.2.0/26', '10.0.0.2'],
      ['10.244.7.128/26', '10.0.0.3'],
    ]);
    expect(await shown(h, ns, true, 'proto', '12')).toEqual([]);
    expect(await shown(h, ns, false, 'proto', '80')).toEqual(before80);
    expect((await shown(h, ns, false, 'proto', '4')).map((r) => r.dst)).toEqual(['10.244.6.0/26']);
    const byPrefix = new Map(errors.map((e) => [e.prefix, e]));
    expect([...byPrefix.keys()].sort()).toEqual([
      '10.244.5.0/26',
      '10.244.7.0/26',
      '10.244.7.5/26',
      '10.244.7.64/26',
    ]);
    expect(byPrefix.get('10.244.5.0/26')).toMatchObject({
      op: 'conflict',
      message: expect.stringMatching(/protocol 80/),
    });
    expect(byPrefix.get('10.244.7.0/26')).toMatchObject({
      op: 'add',
      message: expect.stringMatching(/gateway|unreachable/i),
      command: 'route add 10.244.7.0/26 proto 12 table 254 metric 0 via 10.9.9.9',
    });
    expect(byPrefix.get('10.244.7.64/26')).toMatchObject({
      op: 'add',
      message: expect.stringMatching(/nope0/),
    });
    expect(byPrefix.get('10.244.7.5/26')).toMatchObject({
      op: 'invalid',
      message: expect.stringMatching(/host bits/),
    });
    // a failed route is not tried again on every round (only the invalid one is refused again)
    const failedErrors = errors.length;
    const rounds = w.stats.rounds;
    w.apply(wanted);
    await w.settled();
    expect(errors.slice(failedErrors).map((e) => e.op)).toEqual(['invalid']);
    expect(w.stats.rounds).toBe(rounds);
  });

  it('KernelSync with writing on: its own blackholes are not learned back, Felix-style ones are', async () => {
    const h = harness();
    const ns = await node(h, 'own');
    const pools = [pool('10.244.0.0/16')];
    const kernel = kernelConfig(true);
    const sync = own(new KernelSync({ kernel, pools, netns: ns.name, confirmDelayMs: 50 }));
    const sets: string[][] = [];
    sync.onOriginate(() => sets.push(sync.originated.map((p) => p.prefix)));
    await sync.start();
    sync.writer?.apply([{ prefix: '10.244.7.0/26', family: 'ipv4-unicast', type: 'blackhole' }]);
    await sync.writer?.settled();
    await h.ip(ns, ['route', 'add', 'blackhole', '10.244.8.0/26', 'proto', '80']);
    await waitFor(() => sets.length === 2, { what: 'the proto 80 block learned', ...WAIT });
    expect(sets).toEqual([[], ['10.244.8.0/26']]);
    expect((await shown(h, ns, false, 'proto', '12')).map((r) => r.dst)).toEqual(['10.244.7.0/26']);
  });

  it('resolves next hops from the copy and says when an answer turns', async () => {
    const h = harness();
    const ns = await node(h, 'resolve');
    await h.ip(ns, ['route', 'add', 'blackhole', '10.99.0.0/16']);
    const f = follower(ns);
    let changes = 0;
    const r = new KernelNextHopResolver(f, () => changes++);
    r.start();
    expect(r.resolvable('10.0.0.2')).toBe(false); // the copy is not in yet
    await f.start();
    await waitFor(() => changes === 1, { what: 'the first answers', ...WAIT });
    expect(r.resolvable('10.0.0.2')).toBe(true); // connected
    expect(r.resolvable('fd00::2')).toBe(true);
    expect(r.resolvable('10.99.1.1')).toBe(false); // blackhole
    expect(r.resolvable('10.55.0.1')).toBe(false); // no route (no default in the namespace)
    await h.ip(ns, ['route', 'add', '10.55.0.0/16', 'via', '10.0.0.2']);
    await waitFor(() => r.resolvable('10.55.0.1'), { what: '10.55.0.1 reachable', ...WAIT });
    await waitFor(() => changes === 2, { what: 'onChange', ...WAIT });
    await h.ip(ns, ['route', 'add', '10.99.1.0/24', 'via', '10.0.0.2']); // more specific than the blackhole
    await waitFor(() => r.resolvable('10.99.1.1'), { what: '10.99.1.1 reachable', ...WAIT });
    await h.ip(ns, ['route', 'add', '10.56.0.0/16', 'via', '10.0.0.2']); // no known next hop inside
    await new Promise((res) => setTimeout(res, 100));
    expect(changes).toBe(3); // a change that turns no answer calls nothing
    r.stop();
  });
});
