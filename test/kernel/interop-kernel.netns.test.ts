// Kernel sync end to end, with the real kernel and real daemons in network namespaces this file creates
// (the interop harness deletes them and stops every process it started, also on failure):
//
//   netns node  : tern (the node under test, `tern run` as the real daemon, kernel.write on), eth0 on
//                 the LAN, veths standing in for the pods' cali1/cali2 and for tunl0 (no ipip module)
//   netns bird  : BIRD 2, an iBGP peer (another node of the mesh)
//   netns other : another tern, an iBGP peer announcing its own blocks
//   LAN 10.77.60.0/24 (a bridge in its own namespace): node .1, BIRD .2, other tern .3
//
// What the issue asks, each checked in the kernel (`ip -json route`) or in BIRD's table (birdc):
//   1. Felix's routes written by hand (a blackhole block `proto 80`, /32s to cali* veths inside and
//      outside the block) are learned, aggregated and advertised to BIRD, and withdrawn when deleted;
//   2. routes from BIRD and from the other tern are written with the right next hop, device, `onlink`
//      and `proto bird` (plain pool; IP-in-IP pool via tunl0 onlink; VXLAN pool not at all), one
//      multipath route for the prefix both announce; withdrawn routes leave the kernel;
//   3. the writer survives a route the kernel refuses (a next hop on no connected subnet): logged, the
//      others written, tern still running;
//   4. a graceful restart (SIGUSR2, then `tern run --graceful`) leaves tern's kernel routes in place
//      throughout (polled every 100 ms), and a route BIRD withdrew while tern was down is removed once
//      tern has converged;
//   5. routes of other protocols present before, during and after the run are untouched.
// The tests share one set of namespaces and daemons and run in order.
//
// Needs root, `ip netns` and the interop daemons; otherwise prints `SKIPPED interop (...)`, or fails
// under TERN_REQUIRE_INTEROP=1.

import { expect, it } from 'vitest';
import {
  type Bird2,
  describeInterop,
  type InteropHarness,
  type Netns,
  sleep,
  startBird2,
  useInteropHarness,
  waitFor,
  waitNoRoute,
  waitRoute,
} from '../interop/harness/index.js';
import { TernNode } from './tern-netns.js';

const AS = 64512;
const NODE = '10.77.60.1';
const BIRD = '10.77.60.2';
const OTHER = '10.77.60.3';
/** On the LAN, but no host: routes of other protocols point there. */
const NOBODY = '10.77.60.9';
const WAIT = { timeoutMs: 10_000, intervalMs: 100 };

// what BIRD announces (iBGP, next hop itself unless said otherwise)
const BIRD_PLAIN = '10.244.20.0/26'; // pool without encapsulation
const BIRD_GONE_IN_RESTART = '10.244.21.0/26'; // withdrawn while tern is down
const BIRD_IPIP = '10.245.20.0/26'; // IP-in-IP pool
const BIRD_VXLAN = '10.246.20.0/26'; // VXLAN pool: Felix's, never written
const SHARED = '10.250.0.0/24'; // announced by BIRD and the other tern alike: ECMP
const CONFLICT = '10.245.40.0/26'; // a `proto static` route holds this place in the node's kernel
// what the other tern originates
const OTHER_PLAIN = '10.244.30.0/26';
const OTHER_IPIP = '10.245.30.0/26';
// the node's own (Felix's) routes
const BLOCK = '10.244.1.0/26';
const POD_IN_BLOCK = '10.244.1.7/32';
const POD_BORROWED = '10.244.9.5/32';
const POD_NO_POOL = '10.50.0.5/32';

/** A route as `ip -json route show` prints it. */
interface ShownRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
  flags?: string[];
  nexthops?: { gateway?: string; dev?: string; weight?: number; flags?: string[] }[];
}

/** Routes of other protocols in the node's table, and the moment they are checked again. */
const FOREIGN_BEFORE: readonly string[][] = [
  ['route', 'add', '10.98.0.0/24', 'via', NOBODY, 'proto', 'static'],
  ['route', 'add', '10.97.0.0/24', 'via', NOBODY, 'metric', '100'], // proto boot
  ['route', 'add', CONFLICT, 'via', NOBODY, 'proto', 'static'],
  // makes 10.99.99.99 resolvable for tern, but not a gateway the kernel accepts (no connected subnet)
  ['route', 'add', '10.99.0.0/16', 'via', NOBODY, 'proto', 'static'],
  ['route', 'add', 'blackhole', '10.244.60.0/26', 'proto', '80'], // another Felix block
  ['route', 'add', 'fd00:97::/64', 'via', 'fd77:60::9', 'proto', 'static'],
  ['route', 'add', 'unreachable', '10.96.0.0/24', 'proto', '99'],
];
const FOREIGN_DURING: readonly string[][] = [
  ['route', 'add', '10.95.0.0/24', 'via', NOBODY, 'proto', 'static'],
  ['route', 'add', '10.94.0.0/24', 'via', NOBODY, 'proto', '13'], // `proto gated`: close to ours
];
/** Prefixes the tests themselves add and delete (Felix's routes): not part of the foreign snapshot. */
const MANAGED = new Set([BLOCK, POD_IN_BLOCK, POD_BORROWED, POD_NO_POOL].map((p) => p.replace(/\/32$/, '')));

interface World {
  h: InteropHarness;
  node: Netns;
  tern: TernNode;
  other: TernNode;
  bird: Bird2;
  foreignBefore: string[];
}

function nodeConfig(): string {
  return `
routerId: ${NODE}
asn: ${AS}
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
families: [ipv4-unicast]
gracefulRestart: { enabled: true, restartTime: 30 }
pools:
  - { cidr: 10.244.0.0/16 }
  - { cidr: 10.245.0.0/16, encapsulation: ipip }
  - { cidr: 10.246.0.0/16, encapsulation: vxlan }
kernel: { write: true }
peers:
  - { name: Mesh_10_77_60_2, address: ${BIRD}, asn: ${AS} }
  - { name: Mesh_10_77_60_3, address: ${OTHER}, asn: ${AS} }
`;
}

function otherConfig(originate: readonly string[]): string {
  return `
routerId: ${OTHER}
asn: ${AS}
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
families: [ipv4-unicast]
gracefulRestart: { enabled: true, restartTime: 30 }
nextHopResolution: none
originate: [${originate.join(', ')}]
peers:
  - { name: Mesh_10_77_60_1, address: ${NODE}, asn: ${AS} }
`;
}

/**
 * tern's routes in the node's table (`proto bird`, number 12). Read unfiltered: `ip route show proto
 * bird` leaves the protocol out of what it prints.
 */
async function ternRoutes(h: InteropHarness, ns: Netns): Promise<ShownRoute[]> {
  const r = await h.ip(ns, ['-json', 'route', 'show', 'table', 'main']);
  return (JSON.parse(r.stdout) as ShownRoute[]).filter((x) => x.protocol === 'bird');
}

async function ternRoute(h: InteropHarness, ns: Netns, dst: string): Promise<ShownRoute | undefined> {
  return (await ternRoutes(h, ns)).find((r) => r.dst === dst);
}

/** Every IPv4 and IPv6 route of the main table that is not tern's and not one the tests manage. */
async function foreignRoutes(h: InteropHarness, ns: Netns): Promise<string[]> {
  const out: string[] = [];
  for (const fam of ['-4', '-6']) {
    const r = await h.ip(ns, ['-json', fam, 'route', 'show', 'table', 'main']);
    for (const route of JSON.parse(r.stdout) as ShownRoute[]) {
      if (route.protocol === 'bird' || MANAGED.has(route.dst)) continue;
      out.push(JSON.stringify(route));
    }
  }
  return out.sort();
}

describeInterop('kernel sync with real peers (BIRD 2, another tern) and the real kernel', () => {
  const harness = useInteropHarness('interop-kernel');
  let world: Promise<World> | undefined;

  /** The namespaces and daemons, made once for the tests in order (each awaits it). */
  function setup(): Promise<World> {
    world ??= build(harness());
    return world;
  }

  async function build(h: InteropHarness): Promise<World> {
    const [node, birdNs, otherNs] = await Promise.all([
      h.createNetns('node'),
      h.createNetns('bird'),
      h.createNetns('other'),
    ]);
    await h.lan('lan', [
      { ns: node, addr: NODE },
      { ns: birdNs, addr: BIRD },
      { ns: otherNs, addr: OTHER },
    ]);
    for (const dev of ['cali1', 'cali2', 'tunl0']) {
      await h.ip(node, ['link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
      await h.ip(node, ['link', 'set', dev, 'up']);
      await h.ip(node, ['link', 'set', `${dev}p`, 'up']);
    }
    for (const r of FOREIGN_BEFORE) await h.ip(node, r);
    // Felix's block is there before tern starts; its pods come later (learned through `ip monitor`)
    await h.ip(node, ['route', 'add', 'blackhole', BLOCK, 'proto', '80']);
    const foreignBefore = await foreignRoutes(h, node);

    const bird = await startBird2(h, birdNs, {
      name: 'bird',
      routerId: BIRD,
      localAs: AS,
      gracefulRestart: true,
      neighbors: [{ address: NODE, as: AS }],
      routes: [BIRD_PLAIN, BIRD_GONE_IN_RESTART, BIRD_IPIP, BIRD_VXLAN, SHARED, CONFLICT].map((prefix) => ({
        prefix,
      })),
    });
    const other = new TernNode(h, otherNs, 'other');
    other.writeConfig(otherConfig([OTHER_PLAIN, OTHER_IPIP, SHARED]));
    const tern = new TernNode(h, node, 'node');
    tern.writeConfig(nodeConfig());
    await Promise.all([other.start(), tern.start()]);
    await tern.waitEstablished(2);
    return { h, node, tern, other, bird, foreignBefore };
  }

  it('learns what Felix writes, advertises it aggregated to BIRD, withdraws it when deleted', async () => {
    const { h, node, bird } = await setup();
    await h.ip(node, ['route', 'add', POD_IN_BLOCK, 'dev', 'cali1', 'scope', 'link']);
    await h.ip(node, ['route', 'add', POD_BORROWED, 'dev', 'cali2', 'scope', 'link']);
    await h.ip(node, ['route', 'add', POD_NO_POOL, 'dev', 'cali1', 'scope', 'link']);
    const fromNode = { nextHop: NODE, peer: NODE, asPath: [] };
    await waitRoute(bird, 'ipv4', BLOCK, fromNode, 10_000);
    await waitRoute(bird, 'ipv4', POD_BORROWED, fromNode, 10_000);
    await waitRoute(bird, 'ipv4', '10.244.60.0/26', fromNode, 10_000); // the other Felix block
    const learned = (await bird.routes('ipv4')).filter((r) => r.peer === NODE).map((r) => r.prefix);
    // the pod inside the block is covered by it; the one outside every pool is not Calico's
    expect(learned.sort()).toEqual(['10.244.1.0/26', '10.244.60.0/26', '10.244.9.5/32']);

    // the borrowed pod goes: withdrawn at once
    await h.ip(node, ['route', 'del', POD_BORROWED, 'dev', 'cali2']);
    await waitNoRoute(bird, 'ipv4', POD_BORROWED, 5000);
    // the block goes: withdrawn, and the pod inside it is now a borrowed address of its own
    await h.ip(node, ['route', 'del', 'blackhole', BLOCK]);
    await waitNoRoute(bird, 'ipv4', BLOCK, 5000);
    await waitRoute(bird, 'ipv4', POD_IN_BLOCK, fromNode, 5000);
    await h.ip(node, ['route', 'del', POD_IN_BLOCK, 'dev', 'cali1']);
    await waitNoRoute(bird, 'ipv4', POD_IN_BLOCK, 5000);
    await h.ip(node, ['route', 'del', POD_NO_POOL, 'dev', 'cali1']);
    // nothing of this was written back as tern's
    for (const r of await ternRoutes(h, node)) expect(r.dst).not.toMatch(/^10\.244\.(1|9|60)\./);
  });

  it('writes the routes of BIRD and the other tern: next hop, device, onlink, proto bird, ECMP', async () => {
    const { h, node, tern, other, bird } = await setup();
    for (const r of FOREIGN_DURING) await h.ip(node, r);
    const until = (what: string, probe: () => Promise<boolean>) => waitFor(probe, { what, ...WAIT });
    const present = (dst: string) => async () => (await ternRoute(h, node, dst)) !== undefined;
    await until('BIRD plain route', present(BIRD_PLAIN));
    await until('BIRD IP-in-IP route', present(BIRD_IPIP));
    await until('other tern plain route', present(OTHER_PLAIN));
    await until('other tern IP-in-IP route', present(OTHER_IPIP));
    await until('ECMP', async () => ((await ternRoute(h, node, SHARED))?.nexthops?.length ?? 0) === 2);
    const plain = await ternRoute(h, node, BIRD_PLAIN);
    expect(plain).toMatchObject({ gateway: BIRD, dev: 'eth0', protocol: 'bird' });
    expect(plain?.flags ?? []).not.toContain('onlink');
    expect(await ternRoute(h, node, OTHER_PLAIN)).toMatchObject({ gateway: OTHER, dev: 'eth0' });
    for (const [dst, gw] of [
      [BIRD_IPIP, BIRD],
      [OTHER_IPIP, OTHER],
    ] as const) {
      const r = await ternRoute(h, node, dst);
      expect(r).toMatchObject({ gateway: gw, dev: 'tunl0', protocol: 'bird' });
      expect(r?.flags).toContain('onlink');
    }
    const ecmp = await ternRoute(h, node, SHARED);
    expect(ecmp).toMatchObject({ protocol: 'bird' });
    expect(ecmp?.nexthops?.map((n) => `${n.gateway} ${n.dev}`).sort()).toEqual([
      `${BIRD} eth0`,
      `${OTHER} eth0`,
    ]);
    // the VXLAN pool is Felix's; the place another protocol holds is left alone (both were received)
    expect(await tern.received(BIRD)).toEqual(expect.arrayContaining([BIRD_VXLAN, CONFLICT]));
    expect(await ternRoute(h, node, BIRD_VXLAN)).toBeUndefined();
    expect(await ternRoute(h, node, CONFLICT)).toBeUndefined();
    // exactly these, nothing else written
    const expected = [BIRD_PLAIN, BIRD_GONE_IN_RESTART, BIRD_IPIP, OTHER_PLAIN, OTHER_IPIP, SHARED].sort();
    await waitFor(async () => (await ternRoutes(h, node)).map((r) => r.dst).sort(), {
      what: `tern's routes exactly ${expected.join(' ')}`,
      until: (dsts) => JSON.stringify(dsts) === JSON.stringify(expected),
      ...WAIT,
    });

    // withdrawals: BIRD stops announcing its IP-in-IP block and the shared prefix
    await bird.withdraw([BIRD_IPIP, SHARED]);
    await until('BIRD IP-in-IP route gone', async () => !(await present(BIRD_IPIP)()));
    await until(
      'ECMP down to the other tern',
      async () => (await ternRoute(h, node, SHARED))?.gateway === OTHER,
    );
    expect((await ternRoute(h, node, SHARED))?.nexthops).toBeUndefined();
    // the other tern stops originating its IP-in-IP block (a reload); then BIRD announces the shared
    // prefix again: multipath again
    other.writeConfig(otherConfig([OTHER_PLAIN, SHARED]));
    other.reload();
    await until('other tern IP-in-IP route gone', async () => !(await present(OTHER_IPIP)()));
    await bird.announce([{ prefix: BIRD_IPIP }, { prefix: SHARED }]);
    await until('BIRD IP-in-IP route back', present(BIRD_IPIP));
    await until('ECMP again', async () => ((await ternRoute(h, node, SHARED))?.nexthops?.length ?? 0) === 2);
    expect(tern.running).toBe(true);
  });

  it('survives a route the kernel refuses: reports it, writes the others, keeps running', async () => {
    const { h, node, tern, bird } = await setup();
    // 10.99.99.99 is reachable for tern (10.99.0.0/16 via a gateway), but on no connected subnet: the
    // kernel refuses it as a gateway
    await bird.announce([{ prefix: '10.244.50.0/26', nextHop: '10.99.99.99' }, { prefix: '10.244.51.0/26' }]);
    await waitFor(async () => (await ternRoute(h, node, '10.244.51.0/26')) !== undefined, {
      what: 'the good route written',
      ...WAIT,
    });
    const reported = await waitFor(
      () =>
        tern
          .log()
          .split('\n')
          .find((l) => l.includes('kernel route not written') && l.includes('10.244.50.0/26')),
      { what: 'the refused route reported in the log', ...WAIT },
    );
    expect(reported).toMatch(/invalid gateway|Network is unreachable|No route to host/i);
    expect(await ternRoute(h, node, '10.244.50.0/26')).toBeUndefined();
    // still running, still writing
    expect(tern.running).toBe(true);
    await tern.waitEstablished(2, 1000);
    await bird.announce([{ prefix: '10.244.52.0/26' }]);
    await waitFor(async () => (await ternRoute(h, node, '10.244.52.0/26')) !== undefined, {
      what: 'a later route written',
      ...WAIT,
    });
    await bird.withdraw(['10.244.50.0/26', '10.244.51.0/26', '10.244.52.0/26']);
    await waitFor(async () => (await ternRoute(h, node, '10.244.52.0/26')) === undefined, {
      what: 'the later route removed',
      ...WAIT,
    });
  });

  it('keeps its kernel routes through a graceful restart, and removes what was withdrawn meanwhile', async () => {
    const { h, node, tern, bird } = await setup();
    const kept = [BIRD_PLAIN, BIRD_IPIP, OTHER_PLAIN, SHARED];
    const before = await ternRoutes(h, node);
    expect(before.map((r) => r.dst)).toEqual(expect.arrayContaining([...kept, BIRD_GONE_IN_RESTART]));

    // every change to the table, however short, as the kernel reports it
    const monitor = h.spawn(node, 'ip', ['-o', 'monitor', 'route'], { name: 'restart-monitor' });
    // and the table itself, polled every 100 ms for the whole restart
    const samples: { at: number; dsts: Set<string> }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await h.ip(node, ['-json', 'route', 'show', 'proto', 'bird']);
        samples.push({
          at: Date.now(),
          dsts: new Set((JSON.parse(r.stdout) as ShownRoute[]).map((x) => x.dst)),
        });
        await sleep(100);
      }
    })();
    try {
      await sleep(300);
      await tern.gracefulStop();
      const stoppedAt = Date.now();
      // while tern is down, BIRD withdraws one of its routes
      await bird.withdraw([BIRD_GONE_IN_RESTART]);
      await sleep(500);
      await tern.start(['--graceful']);
      await tern.waitEstablished(2, 20_000);
      await waitFor(async () => (await ternRoute(h, node, BIRD_GONE_IN_RESTART)) === undefined, {
        what: 'the route withdrawn during the restart removed after convergence',
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      const removedAt = Date.now();
      await sleep(500);
      polling = false;
      await poller;
      await monitor.stop();
      // the monitor saw the stale route go (so it was listening) and nothing else of tern's change
      const events = monitor
        .log()
        .split('\n')
        .filter((l) => /proto bird/.test(l));
      expect(events.some((l) => l.startsWith('Deleted') && l.includes(BIRD_GONE_IN_RESTART))).toBe(true);
      expect(events.filter((l) => !l.includes(BIRD_GONE_IN_RESTART))).toEqual([]);
      expect(samples.length).toBeGreaterThan(10);
      const gaps = samples.slice(1).map((s, i) => s.at - (samples[i] as { at: number }).at);
      expect(Math.max(...gaps), 'the longest time between two polls (ms)').toBeLessThan(1500);
      for (const [i, s] of samples.entries()) {
        for (const dst of kept) expect(s.dsts.has(dst), `${dst} in the kernel at sample ${i}`).toBe(true);
        if (s.at < stoppedAt + 500) {
          expect(s.dsts.has(BIRD_GONE_IN_RESTART), `${BIRD_GONE_IN_RESTART} kept at sample ${i}`).toBe(true);
        }
        if (s.at > removedAt) expect(s.dsts.has(BIRD_GONE_IN_RESTART)).toBe(false);
      }
      // the routes are exactly as before (same form, nothing rewritten by the new run)
      const after = await ternRoutes(h, node);
      const strip = (rs: ShownRoute[]) =>
        rs.filter((r) => r.dst !== BIRD_GONE_IN_RESTART).sort((a, b) => a.dst.localeCompare(b.dst));
      expect(strip(after)).toEqual(strip(before));
    } finally {
      polling = false;
      await poller;
      await monitor.stop();
    }
  });

  it('leaves routes of other protocols alone before, during and after the run', async () => {
    const { h, node, tern, foreignBefore } = await setup();
    const during = await foreignRoutes(h, node);
    const added: string[] = [];
    for (const r of FOREIGN_DURING) {
      const shown = await h.ip(node, ['-json', 'route', 'show', r[2] as string]);
      added.push(...(JSON.parse(shown.stdout) as ShownRoute[]).map((x) => JSON.stringify(x)));
    }
    expect(added).toHaveLength(FOREIGN_DURING.length);
    expect(during).toEqual([...foreignBefore, ...added].sort());
    // the conflict was reported, not resolved by force
    expect(tern.log()).toMatch(new RegExp(`${CONFLICT.replace(/[./]/g, '\\$&')}.*(conflict|left alone)`));
    // after the run (SIGTERM): tern's routes stay (BIRD's `persist`), the others are as they were
    const ours = (await ternRoutes(h, node)).map((r) => r.dst).sort();
    await tern.stop();
    expect(await foreignRoutes(h, node)).toEqual(during);
    expect((await ternRoutes(h, node)).map((r) => r.dst).sort()).toEqual(ours);
  });
});
