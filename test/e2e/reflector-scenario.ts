// Topology 3, route reflectors, shared by reflector.netns.test.ts (the resources in files) and
// reflector-etcd.netns.test.ts (the same resources in Calico's etcd datastore): two tern reflectors
// (Node.spec.bgp.routeReflectorClusterID, the same on both, label route-reflector: 'true') and four tern
// nodes, mesh off, Calico's documented BGPPeer `nodeSelector: all()`, `peerSelector: route-reflector ==
// 'true'`: every node peers with both reflectors (the reflectors get their clients from the reverse
// peerings), the reflectors with each other; a pod on each node; an external router's namespace on the
// fabric for the BGPPeer that a test adds later.

import { expect } from 'vitest';
import {
  type Bird2,
  type InteropHarness,
  type Netns,
  startBird2,
  waitEstablished,
  waitRoute,
} from '../interop/harness/index.js';
import { Cluster, type ClusterNode, learnedPrefixes, type TernProtocol } from './cluster.js';

export const CLUSTER_ID = '244.0.0.1';
export const NODES = [1, 2, 3, 4];
export const RR = [11, 12];
export const addr = (host: number): string => `10.77.20.${host}`;
export const EXT = addr(100);
export const peerName = (host: number): string => `Node_${addr(host).replace(/\./g, '_')}`;

export interface ReflectorCluster {
  readonly cluster: Cluster;
  /** The external router's namespace (no Calico node), on the fabric at EXT. */
  readonly extRouter: Netns;
}

export const workers = (c: Cluster): ClusterNode[] => c.nodes.filter((n) => n.spec.rrClusterId === undefined);

/** The blocks of the other worker nodes: what `n`'s kernel routes. */
export const othersBlocks = (c: Cluster, n: ClusterNode): string[] =>
  workers(c)
    .filter((m) => m !== n)
    .flatMap((m) => m.spec.blocks);

/** The sessions each daemon must have: nodes with both reflectors, reflectors with everyone. */
export function reflectorSessions(n: ClusterNode, without: readonly number[] = []): string[] {
  const host = Number(n.spec.v4.split('.')[3]);
  const peers = n.spec.rrClusterId === undefined ? RR : [...RR, ...NODES].filter((h) => h !== host);
  return peers.filter((h) => !without.includes(h)).map(peerName);
}

/**
 * Builds the cluster with its resources in `datastore`, starts every tern, and checks that every session
 * is up, pods on different nodes reach each other, and each worker's kernel routes exactly the other
 * workers' blocks.
 */
export async function startReflectorCluster(
  h: InteropHarness,
  datastore: 'files' | 'etcd',
): Promise<ReflectorCluster> {
  const c = new Cluster(h, {
    bgp: { asNumber: 64512, nodeToNodeMeshEnabled: false, logSeverityScreen: 'Info' },
    pools: [{ cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }],
    datastore,
  });
  // an external router on the fabric, not a Calico node: the BGPPeer of a later test points at it
  const extRouter = await h.createNetns('ext');
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
    { others: [{ ns: extRouter, addr: EXT }] },
  );
  await Promise.all(
    workers(c).map((n) => c.addPod(n, { name: `pod-${n.name.slice(5)}`, v4: `10.244.${n.name.slice(5)}.5` })),
  );
  await c.writeResources();
  await c.writePeer('peer-with-route-reflectors', {
    nodeSelector: 'all()',
    peerSelector: "route-reflector == 'true'",
  });
  for (const n of c.nodes) c.calicoTern(n);
  await Promise.all(c.nodes.map((n) => n.daemon.start()));
  for (const n of c.nodes) await n.daemon.waitEstablished(reflectorSessions(n));
  await c.waitTraffic([4]);
  for (const n of workers(c)) {
    expect([...(await learnedPrefixes(h, n.ns))].sort()).toEqual(othersBlocks(c, n).sort());
  }
  return { cluster: c, extRouter };
}

/**
 * A BGPPeer for node-1 to an external BIRD 2 (AS 65100) written where the cluster keeps its resources:
 * it comes up without a restart (same PID), node-1's other sessions (`reflectorSessions(n1, without)`)
 * keep their `since`, BIRD receives the cluster's blocks. Prints the time from the write to BIRD's
 * Established.
 */
export async function bgpPeerComesUp(
  h: InteropHarness,
  r: ReflectorCluster,
  label: string,
  without: readonly number[] = [],
): Promise<void> {
  const c = r.cluster;
  const n1 = c.node('node-1');
  const bird: Bird2 = await startBird2(h, r.extRouter, {
    name: 'ext-bird',
    routerId: EXT,
    localAs: 65100,
    neighbors: [{ address: addr(1), as: 64512 }],
  });
  const pid = n1.daemon.pid;
  const since = (ps: readonly TernProtocol[], name: string): unknown =>
    (ps.find((p) => p.name === name) as unknown as Record<string, unknown> | undefined)?.['since'];
  // every Established session of every daemon (a session to a stopped reflector retries, changing its
  // `since`), with its `since`
  const snapshot = async (): Promise<Map<string, unknown>> => {
    const all = await Promise.all(
      c.nodes.filter((n) => n.daemon.running).map(async (n) => ({ n, ps: await n.daemon.protocols() })),
    );
    return new Map(
      all.flatMap(({ n, ps }) =>
        ps
          .filter((p) => p.state === 'Established')
          .map((p) => [`${n.name} ${p.name}`, since(ps, p.name)] as const),
      ),
    );
  };
  const before = await snapshot();
  expect([...before.keys()].filter((k) => k.startsWith('node-1 ')).sort()).toEqual(
    reflectorSessions(n1, without)
      .map((s) => `node-1 ${s}`)
      .sort(),
  );
  if (c.datastore === 'etcd') await c.etcd.writer().get('/warm-up'); // the connection is up before t0
  const t0 = Date.now();
  await c.writePeer('ext-router', {
    nodeSelector: "kubernetes.io/hostname == 'node-1'",
    peerIP: EXT,
    asNumber: 65100,
  });
  await waitEstablished(bird, addr(1), 20_000);
  process.stderr.write(`[${label}] the new BGPPeer Established ${Date.now() - t0} ms after the write\n`);
  expect(n1.daemon.pid).toBe(pid);
  expect(n1.daemon.running).toBe(true);
  await n1.daemon.waitEstablished([...reflectorSessions(n1, without), peerName(100)], 30_000, false);
  // no other session was reset by the reload, on any daemon; the new one is node-1's only
  const after = await snapshot();
  for (const [k, v] of before) {
    expect(v, `${k}: since`).not.toBe(undefined);
    expect(after.get(k), `${k}: since`).toBe(v);
  }
  expect([...after.keys()].filter((k) => !before.has(k))).toEqual([`node-1 ${peerName(100)}`]);
  // BIRD gets the cluster's blocks from node-1 (eBGP, AS path 64512; node-1's own with next hop node-1)
  for (const i of NODES) {
    const want = i === 1 ? { nextHop: addr(1), asPath: [64512] } : { asPath: [64512] };
    await waitRoute(bird, 'ipv4', `10.244.${i}.0/26`, want, 20_000);
  }
}
