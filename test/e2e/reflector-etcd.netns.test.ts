// End to end, topology 3 from Calico's etcd datastore: the route-reflector cluster of
// reflector.netns.test.ts (reflector-scenario.ts: 2 tern reflectors with one routeReflectorClusterID,
// 4 tern nodes, mesh off, a pod on each node) with its resources in etcd, as calicoctl writes them
// (cluster.ts, etcd mode), and every daemon started with `tern run --calico-etcd <endpoint> --node
// <name>`.
//   - every session comes up, pods on different nodes reach each other (TCP echo) through the reflected
//     routes, and each kernel routes exactly the other nodes' blocks;
//   - a BGPPeer put into etcd (an external BIRD 2 router for node-1) comes up without a restart: same
//     PID, no Established session of any daemon reset, BIRD receives the cluster's blocks.
//
// Where etcd runs: in a namespace of its own on the fabric, at 10.77.20.250, like a cluster's etcd on
// the node network (cluster.ts says why); the daemons reach it over their eth0, this process over a
// unix socket. Needs root, `ip netns`, BIRD 2 (the interop set) and etcd; otherwise prints `SKIPPED
// interop (...)` / `SKIPPED etcd (...)`, or fails under TERN_REQUIRE_INTEROP=1.

import { readdirSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeEtcdAnd } from '../calico/etcd-helpers.js';
import { interopAvailable, useInteropHarness } from '../interop/harness/index.js';
import { bgpPeerComesUp, type ReflectorCluster, startReflectorCluster } from './reflector-scenario.js';

describeEtcdAnd(
  [{ kind: 'interop', availability: interopAvailable() }],
  'e2e: 2 tern route reflectors and 4 tern nodes from Calico resources in etcd',
  () => {
    const harness = useInteropHarness('e2e-reflector-etcd');
    let cluster: ReflectorCluster | undefined;

    it('pods on different nodes reach each other through the reflectors, every tern on --calico-etcd', async () => {
      cluster = await startReflectorCluster(harness(), 'etcd');
      // every tern runs on etcd's state; no resource was written as a file
      expect(readdirSync(cluster.cluster.dir)).toEqual([]);
      for (const n of cluster.cluster.nodes) {
        expect((await n.daemon.status()).datastore, n.name).toMatchObject({
          connected: true,
          state: 'watching',
        });
      }
    });

    it('a BGPPeer put into etcd comes up without a restart, the other sessions untouched', async () => {
      if (cluster === undefined) throw new Error('the cluster is not up (the first test failed)');
      await bgpPeerComesUp(harness(), cluster, 'e2e-reflector-etcd');
    });
  },
);
