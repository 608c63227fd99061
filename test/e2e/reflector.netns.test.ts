// End to end, topology 3: route reflectors. Two tern reflectors (Node.spec.bgp.routeReflectorClusterID,
// the same on both, label route-reflector: 'true') and four tern nodes, mesh off, Calico's documented
// BGPPeer `nodeSelector: all()`, `peerSelector: route-reflector == 'true'`: every node peers with both
// reflectors (the reflectors get their clients from the reverse peerings), the reflectors with each
// other. Every daemon runs `tern run --calico <dir> --node <name>`, re-reading the directory.
//   - pods on different nodes reach each other (TCP echo) through the routes the reflectors pass on;
//   - stopping one reflector (SIGTERM) keeps traffic flowing: long-lived connections see no drop, and no
//     node's kernel loses a route (polled every 100 ms, and `ip monitor route` for what falls between);
//   - a BGPPeer written into the resource directory (an external BIRD 2 router for node-1) comes up
//     without a restart: same PID, the reflector sessions untouched, BIRD receives the cluster's blocks.
//
// Needs root, `ip netns` and BIRD 2; otherwise prints `SKIPPED interop (...)`, or fails under
// TERN_REQUIRE_INTEROP=1.

import { expect, it } from 'vitest';
import {
  type Bird2,
  describeInterop,
  type Netns,
  sleep,
  startBird2,
  useInteropHarness,
  waitEstablished,
  waitRoute,
} from '../interop/harness/index.js';
import { Cluster, type ClusterNode, learnedPrefixes, pollWhile, RouteMonitor } from './cluster.js';

const CLUSTER_ID = '244.0.0.1';
const NODES = [1, 2, 3, 4];
const addr = (host: number): string => `10.77.20.${host}`;
const RR = [11, 12];
const EXT = addr(100);
const peerName = (host: number): string => `Node_${addr(host).replace(/\./g, '_')}`;

describeInterop('e2e: 2 tern route reflectors and 4 tern nodes from Calico resources', () => {
  const harness = useInteropHarness('e2e-reflector');
  let extRouter: Netns | undefined;
  let cluster: Cluster | undefined;
  const get = (): Cluster => {
    if (cluster === undefined) throw new Error('the cluster is not up (the first test failed)');
    return cluster;
  };
  const workers = (): ClusterNode[] => get().nodes.filter((n) => n.spec.rrClusterId === undefined);
  const othersBlocks = (n: ClusterNode): string[] =>
    workers()
      .filter((m) => m !== n)
      .flatMap((m) => m.spec.blocks);
  /** The sessions each daemon must have: nodes with both reflectors, reflectors with everyone. */
  const sessions = (n: ClusterNode, without: readonly number[] = []): string[] => {
    const host = Number(n.spec.v4.split('.')[3]);
    const peers = n.spec.rrClusterId === undefined ? RR : [...RR, ...NODES].filter((h) => h !== host);
    return peers.filter((h) => !without.includes(h)).map(peerName);
  };

  it('pods on different nodes reach each other through the reflectors', async () => {
    const h = harness();
    const c = new Cluster(h, {
      bgp: { asNumber: 64512, nodeToNodeMeshEnabled: false, logSeverityScreen: 'Info' },
      pools: [{ cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }],
    });
    // an external router on the fabric, not a Calico node: the BGPPeer of the last test points at it
    const extNs = await h.createNetns('ext');
    extRouter = extNs;
    await c.addNodes(
      [
        ...NODES.map((i) => ({ name: `node-${i}`, v4: addr(i), blocks: [`10.244.${i}.0/26`] })),
        ...RR.map((i) => ({
          name: `rr-${i}`,
          v4: addr(i),
          labels: { 'route-reflector': 'true' },
          rrClusterId: CLUSTER_ID,
          blocks: [],
        })),
      ],
      { others: [{ ns: extNs, addr: EXT }] },
    );
    await Promise.all(
      c.nodes
        .filter((n) => n.spec.rrClusterId === undefined)
        .map((n) => c.addPod(n, { name: `pod-${n.name.slice(5)}`, v4: `10.244.${n.name.slice(5)}.5` })),
    );
    c.writeResources();
    c.writePeer('peer-with-route-reflectors', {
      nodeSelector: 'all()',
      peerSelector: "route-reflector == 'true'",
    });
    for (const n of c.nodes) c.calicoTern(n);
    cluster = c;
    await Promise.all(c.nodes.map((n) => n.daemon.start()));
    for (const n of c.nodes) await n.daemon.waitEstablished(sessions(n));
    await c.waitTraffic([4]);
    for (const n of workers()) {
      expect([...(await learnedPrefixes(h, n.ns))].sort()).toEqual(othersBlocks(n).sort());
    }
  });

  it('stopping one reflector keeps traffic flowing and every route in place', async () => {
    const h = harness();
    const c = get();
    const [n1, n2, n3] = [c.node('node-1'), c.node('node-2'), c.node('node-3')];
    const [p1, p2, p3] = [n1.pods[0], n2.pods[0], n3.pods[0]];
    if (p1 === undefined || p2 === undefined || p3 === undefined) throw new Error('pods missing');
    const streams = [c.stream(p1, p2.v4 ?? ''), c.stream(p3, p1.v4 ?? '')];
    for (const s of streams) await s.connected();
    const monitors = workers().map((n) => new RouteMonitor(h, n));
    await sleep(300);
    const rr1 = c.node('rr-11');
    const stop = (async () => {
      await rr1.daemon.shutdown();
      for (const n of c.nodes)
        if (n !== rr1) await n.daemon.waitEstablished(sessions(n, [11]), 30_000, false);
      await sleep(1500);
    })();
    const t0 = Date.now();
    const { polls, misses } = await pollWhile(
      stop,
      async () => {
        const ws = workers();
        const tables = await Promise.all(ws.map((n) => learnedPrefixes(h, n.ns)));
        const missing = ws.flatMap((n, i) =>
          othersBlocks(n)
            .filter((b) => !tables[i]?.has(b))
            .map((b) => `${n.name} lacks ${b}`),
        );
        return missing.length > 0 ? missing.join(', ') : undefined;
      },
      100,
    );
    const took = Date.now() - t0;
    process.stderr.write(
      `[e2e-reflector] rr-11 stopped: ${polls} polls in ${took} ms, ${misses.length} misses\n`,
    );
    expect(misses).toEqual([]);
    expect(polls).toBeGreaterThan(took / 1000);
    for (const [i, m] of monitors.entries()) {
      const n = workers()[i] as ClusterNode;
      expect(m.deletions(othersBlocks(n)), `${n.name}: routes deleted`).toEqual([]);
      await m.stop();
    }
    for (const s of streams) {
      const r = await s.finish();
      process.stderr.write(`[e2e-reflector] ${s.label}: ${JSON.stringify(r)}\n`);
      expect(r.echoed).toBeGreaterThanOrEqual(r.sent - 2);
      expect(r.maxGapMs).toBeLessThan(1000);
    }
    expect(await c.echoAll([4])).toEqual([]);
  });

  it('a BGPPeer added to the resource directory comes up without a restart', async () => {
    const h = harness();
    const c = get();
    const n1 = c.node('node-1');
    if (extRouter === undefined) throw new Error('no external router');
    const bird: Bird2 = await startBird2(h, extRouter, {
      name: 'ext-bird',
      routerId: EXT,
      localAs: 65100,
      neighbors: [{ address: addr(1), as: 64512 }],
    });
    const pid = n1.daemon.pid;
    const before = await n1.daemon.protocols();
    c.writePeer('ext-router', {
      nodeSelector: "kubernetes.io/hostname == 'node-1'",
      peerIP: EXT,
      asNumber: 65100,
    });
    const t0 = Date.now();
    await waitEstablished(bird, addr(1), 20_000);
    process.stderr.write(
      `[e2e-reflector] the new BGPPeer Established ${Date.now() - t0} ms after the write\n`,
    );
    expect(n1.daemon.pid).toBe(pid);
    expect(n1.daemon.running).toBe(true);
    await n1.daemon.waitEstablished([...sessions(n1, [11]), peerName(100)], 30_000, false);
    // the reflector sessions were not reset by the reload
    const after = await n1.daemon.protocols();
    const since = (ps: typeof before, name: string) =>
      JSON.stringify((ps.find((p) => p.name === name) as unknown as Record<string, unknown>)?.['since']);
    expect(since(after, peerName(12))).toBe(since(before, peerName(12)));
    // BIRD gets the cluster's blocks from node-1 (eBGP, AS path 64512; node-1's own with next hop node-1)
    for (const i of NODES) {
      const want = i === 1 ? { nextHop: addr(1), asPath: [64512] } : { asPath: [64512] };
      await waitRoute(bird, 'ipv4', `10.244.${i}.0/26`, want, 20_000);
    }
  });
});
