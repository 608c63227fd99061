// Kernel sync through the speaker, against a real kernel table in a namespace this file creates: a
// Speaker whose kernel side lives in the namespace (its BGP sessions on loopback, with a raw peer). What
// Felix would write (a block's blackhole, pod host routes) is learned and advertised with Calico's
// aggregation, a pod route that goes is withdrawn at once; routes the peer announces are written to the
// kernel as `proto bird` routes (plain, or via tunl0 onlink in an IP-in-IP pool, ECMP across peers),
// an originated block marked `blackhole` is written as a blackhole, and a withdrawal removes the route.
// A previous run's route is adopted until every peer's End-of-RIB, then removed; a withdrawing stop
// removes tern's routes; another protocol's route is never touched.
// Next hops resolve through the copy of the namespace's table (nextHopResolution: kernel, the default).
//
// Needs root and `ip netns`; otherwise prints `SKIPPED kernel (...)`, or fails under TERN_REQUIRE_INTEROP=1.

import { afterEach, expect, it } from 'vitest';
import { Afi, Safi } from '../../src/bgp/messages/iana.js';
import { KEEPALIVE } from '../../src/bgp/messages/keepalive.js';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import { formatIpv4Key } from '../../src/bgp/messages/prefix.js';
import { endOfRib, type UpdateMessage } from '../../src/bgp/messages/update.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { Speaker } from '../../src/speaker/speaker.js';
import { announcement, BgpConn, goodCapabilities } from '../helpers/chaos-peer.js';
import {
  describeNetns,
  type InteropHarness,
  type Netns,
  useInteropHarness,
  waitFor,
} from '../interop/harness/index.js';

const TERN = '127.0.0.1';
const WAIT = { timeoutMs: 5000, intervalMs: 20 };

interface ShownRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags?: string[];
  nexthops?: { gateway?: string; dev?: string; flags?: string[] }[];
}

describeNetns('kernel sync through the speaker (learn, advertise, write)', () => {
  const harness = useInteropHarness('speaker-kernel');
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  /** A node: eth0 10.0.0.1/24, pod interfaces cali1 and cali2, tunl0 (veth pairs stand in for them). */
  async function node(h: InteropHarness): Promise<Netns> {
    const ns = await h.createNetns('node');
    for (const [a, b] of [
      ['eth0', 'eth0p'],
      ['cali1', 'cali1p'],
      ['cali2', 'cali2p'],
      ['tunl0', 'tunl0p'],
    ] as const) {
      await h.ip(ns, ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      await h.ip(ns, ['link', 'set', a, 'up']);
      await h.ip(ns, ['link', 'set', b, 'up']);
    }
    await h.ip(ns, ['addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
    return ns;
  }

  /** tern's routes: `proto 12` (bird), the only ones the filter lets through. */
  async function shown(h: InteropHarness, ns: Netns): Promise<ShownRoute[]> {
    const r = await h.ip(ns, ['-json', 'route', 'show', 'proto', '12']);
    return JSON.parse(r.stdout) as ShownRoute[];
  }

  /** A raw iBGP peer from `address` that keeps the table tern sends it. */
  async function peer(
    port: number,
    address: string,
    bgpId: string,
  ): Promise<{ conn: BgpConn; routes: Set<string> }> {
    const conn = await BgpConn.open(TERN, port, address);
    cleanup.push(() => conn.finish('destroy'));
    conn.send(
      encodeMessage(makeOpen({ as: 64512, holdTime: 0, bgpId, capabilities: goodCapabilities(64512) })),
    );
    expect((await conn.expect('open', 5000))?.type).toBe('open');
    conn.send(encodeMessage(KEEPALIVE));
    expect((await conn.expect('keepalive', 5000))?.type).toBe('keepalive');
    const routes = new Set<string>();
    const take = (m: UpdateMessage): void => {
      for (const p of m.withdrawn.prefixes) routes.delete(formatIpv4Key(p as number));
      for (const p of m.nlri.prefixes) routes.add(formatIpv4Key(p as number));
    };
    for (let r = await conn.next(1); r.kind !== 'timeout'; r = await conn.next(1))
      if (r.kind === 'message' && r.msg.type === 'update') take(r.msg);
    conn.onMessage = (r) => {
      if (r.kind === 'message' && r.msg.type === 'update') take(r.msg);
    };
    return { conn, routes };
  }

  it('learns what Felix writes, advertises it aggregated, writes what it learns over BGP', async () => {
    const h = harness();
    const ns = await node(h);
    // Felix: the node's block as a blackhole, a pod inside it, a borrowed address outside it
    await h.ip(ns, ['route', 'add', 'blackhole', '10.244.1.0/26', 'proto', '80']);
    await h.ip(ns, ['route', 'add', '10.244.1.7/32', 'dev', 'cali1', 'scope', 'link']);
    await h.ip(ns, ['route', 'add', '10.244.9.5/32', 'dev', 'cali2', 'scope', 'link']);
    // a previous run's route, and another protocol's
    await h.ip(ns, ['route', 'add', '10.99.9.0/24', 'via', '10.0.0.9', 'proto', '12']);
    await h.ip(ns, ['route', 'add', '10.98.0.0/24', 'via', '10.0.0.8', 'proto', 'static']);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = parseConfig(
      `routerId: 10.0.0.1
listen: { address: ${TERN}, port: ${port} }
holdTime: 0
families: [ipv4-unicast]
pools:
  - { cidr: 10.244.0.0/16 }
  - { cidr: 10.245.0.0/16, encapsulation: ipip }
kernel: { write: true, scanTime: 0 }
originate:
  - { prefix: 10.244.2.0/26, blackhole: true }
peers:
  - { address: 127.0.0.2, asn: 64512, passive: true }
  - { address: 127.0.0.3, asn: 64512, passive: true }
`,
      'kernel.yaml',
    );
    const sp = new Speaker(config, silentLogger(), { netns: ns.name });
    cleanup.push(() => sp.stop('test over'));
    await sp.start();
    const a = await peer(port, '127.0.0.2', '10.0.0.2');
    const b = await peer(port, '127.0.0.3', '10.0.0.3');
    const until = (what: string, probe: () => boolean | Promise<boolean>) =>
      waitFor(probe, { what, ...WAIT });

    // kernel -> BGP: the block and the borrowed address, not the pod inside the block
    await until(
      'the learned routes at the peer',
      () => a.routes.has('10.244.9.5/32') && a.routes.has('10.244.1.0/26'),
    );
    expect([...a.routes].sort()).toEqual(['10.244.1.0/26', '10.244.2.0/26', '10.244.9.5/32']);
    // the borrowed pod goes: withdrawn at once, not at a scan
    const t0 = Date.now();
    await h.ip(ns, ['route', 'del', '10.244.9.5/32', 'dev', 'cali2']);
    await until('the withdrawal at the peer', () => !a.routes.has('10.244.9.5/32'));
    expect(Date.now() - t0).toBeLessThan(2000);

    // BGP -> kernel: A's block (plain pool), B's block in the IP-in-IP pool, a prefix from both (ECMP)
    a.conn.send(encodeMessage(announcement(64512, '10.0.0.2', ['10.244.3.0/26', '10.250.0.0/24'])));
    b.conn.send(encodeMessage(announcement(64512, '10.0.0.3', ['10.245.4.0/26', '10.250.0.0/24'])));
    const route = async (dst: string): Promise<ShownRoute | undefined> =>
      (await shown(h, ns)).find((r) => r.dst === dst);
    await until('A block in the kernel', async () => (await route('10.244.3.0/26')) !== undefined);
    expect(await route('10.244.3.0/26')).toMatchObject({
      gateway: '10.0.0.2',
      dev: 'eth0',
    });
    await until('B block in the kernel', async () => (await route('10.245.4.0/26')) !== undefined);
    const ipip = await route('10.245.4.0/26');
    expect(ipip).toMatchObject({ gateway: '10.0.0.3', dev: 'tunl0' });
    expect(ipip?.flags).toContain('onlink');
    await until('ECMP', async () => ((await route('10.250.0.0/24'))?.nexthops?.length ?? 0) === 2);
    expect((await route('10.250.0.0/24'))?.nexthops?.map((n) => n.gateway).sort()).toEqual([
      '10.0.0.2',
      '10.0.0.3',
    ]);
    // our own block as a blackhole; the learned ones are not written back
    expect(await route('10.244.2.0/26')).toMatchObject({ type: 'blackhole' });
    expect(await route('10.244.1.0/26')).toBeUndefined();

    // the previous run's route is adopted until every peer's End-of-RIB, then removed
    expect(await route('10.99.9.0/24')).toMatchObject({ gateway: '10.0.0.9' });
    a.conn.send(encodeMessage(endOfRib(Afi.IPV4, Safi.UNICAST)));
    await new Promise((r) => setTimeout(r, 300));
    expect(await route('10.99.9.0/24')).toBeDefined();
    b.conn.send(encodeMessage(endOfRib(Afi.IPV4, Safi.UNICAST)));
    await until('the stale route removed', async () => (await route('10.99.9.0/24')) === undefined);

    // a withdrawal removes the route; one path of two leaves ECMP
    a.conn.send(
      encodeMessage({
        type: 'update',
        withdrawn: {
          afi: 1,
          prefixes: announcement(64512, '10.0.0.2', ['10.244.3.0/26', '10.250.0.0/24']).nlri.prefixes,
        },
        attributes: {},
        nlri: { afi: 1, prefixes: [] },
      }),
    );
    await until('A block gone', async () => (await route('10.244.3.0/26')) === undefined);
    await until('one path left', async () => (await route('10.250.0.0/24'))?.gateway === '10.0.0.3');

    // a withdrawing stop removes tern's routes, and only tern's
    await sp.stop('test over', { withdrawRoutes: true });
    expect(await shown(h, ns)).toEqual([]);
    const statics = await h.ip(ns, ['-json', 'route', 'show', 'proto', 'static']);
    expect(JSON.parse(statics.stdout)).toMatchObject([{ dst: '10.98.0.0/24' }]);
  });
});
