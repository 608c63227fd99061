// End to end, topology 3: route reflectors (reflector-scenario.ts). Two tern reflectors
// (Node.spec.bgp.routeReflectorClusterID, the same on both, label route-reflector: 'true') and four tern
// nodes, mesh off, Calico's documented BGPPeer `nodeSelector: all()`, `peerSelector: route-reflector ==
// 'true'`: every node peers with both reflectors (the reflectors get their clients from the reverse
// peerings), the reflectors with each other. Every daemon runs `tern run --calico <dir> --node <name>`,
// re-reading the directory (reflector-etcd.netns.test.ts: the same from Calico's etcd datastore).
//   - pods on different nodes reach each other (TCP echo) through the routes the reflectors pass on;
//   - stopping one reflector (SIGTERM) keeps traffic flowing: long-lived connections see no drop, and no
//     node's kernel loses a route (polled every 100 ms, and `ip monitor route` for what falls between);
//   - a BGPPeer written into the resource directory (an external BIRD 2 router for node-1) comes up
//     without a restart: same PID, the reflector sessions untouched, BIRD receives the cluster's blocks.
//
// Needs root, `ip netns` and BIRD 2; otherwise prints `SKIPPED interop (...)`, or fails under
// TERN_REQUIRE_INTEROP=1.

import { expect, it } from 'vitest';
import { describeInterop, sleep, useInteropHarness } from '../interop/harness/index.js';
import { type ClusterNode, learnedPrefixes, pollWhile, RouteMonitor } from './cluster.js';
import {
  bgpPeerComesUp,
  othersBlocks,
  type ReflectorCluster,
  reflectorSessions,
  startReflectorCluster,
  workers,
} from './reflector-scenario.js';

describeInterop('e2e: 2 tern route reflectors and 4 tern nodes from Calico resources', () => {
  const harness = useInteropHarness('e2e-reflector');
  let cluster: ReflectorCluster | undefined;
  const get = (): ReflectorCluster => {
    if (cluster === undefined) throw new Error('the cluster is not up (the first test failed)');
    return cluster;
  };

  it('pods on different nodes reach each other through the reflectors', async () => {
    cluster = await startReflectorCluster(harness(), 'files');
  });

  it('stopping one reflector keeps traffic flowing and every route in place', async () => {
    const h = harness();
    const c = get().cluster;
    const [n1, n2, n3] = [c.node('node-1'), c.node('node-2'), c.node('node-3')];
    const [p1, p2, p3] = [n1.pods[0], n2.pods[0], n3.pods[0]];
    if (p1 === undefined || p2 === undefined || p3 === undefined) throw new Error('pods missing');
    const streams = [c.stream(p1, p2.v4 ?? ''), c.stream(p3, p1.v4 ?? '')];
    for (const s of streams) await s.connected();
    const monitors = workers(c).map((n) => new RouteMonitor(h, n));
    await sleep(300);
    const rr1 = c.node('rr-11');
    const stop = (async () => {
      await rr1.daemon.shutdown();
      for (const n of c.nodes)
        if (n !== rr1) await n.daemon.waitEstablished(reflectorSessions(n, [11]), 30_000, false);
      await sleep(1500);
    })();
    const t0 = Date.now();
    const { polls, misses } = await pollWhile(
      stop,
      async () => {
        const ws = workers(c);
        const tables = await Promise.all(ws.map((n) => learnedPrefixes(h, n.ns)));
        const missing = ws.flatMap((n, i) =>
          othersBlocks(c, n)
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
      const n = workers(c)[i] as ClusterNode;
      expect(m.deletions(othersBlocks(c, n)), `${n.name}: routes deleted`).toEqual([]);
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
    await bgpPeerComesUp(harness(), get(), 'e2e-reflector', [11]);
  });
});
