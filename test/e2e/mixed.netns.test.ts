// End to end, topology 2: a mixed node-to-node mesh, IPv4: two nodes run tern (`tern run --calico <dir>
// --node <name>`), two run BIRD 1.6 configured as Calico's confd configures it (bird.cfg, bird_aggr.cfg,
// bird_ipam.cfg: test/e2e/confd-bird.ts), all four from the same cluster (the same Calico resources for
// the tern nodes). Every pair of nodes has its session up, each side deciding who waits by Calico's rule
// (the greater address as a string is passive), and pods on different nodes reach each other (TCP
// echo) through the routes tern and BIRD wrote into the kernel.
//
// Needs root, `ip netns` and BIRD 1.6; otherwise prints `SKIPPED interop (...)`, or fails under
// TERN_REQUIRE_INTEROP=1.

import { expect, it } from 'vitest';
import { describeInterop, useInteropHarness } from '../interop/harness/index.js';
import { Cluster, learnedPrefixes } from './cluster.js';
import { ConfdBird } from './confd-bird.js';

const AS = 64512;
const POOL = '10.244.0.0/16';
const addr = (i: number): string => `10.77.30.${i}`;
const mesh = (i: number): string => `Mesh_${addr(i).replace(/\./g, '_')}`;

describeInterop('e2e: a mixed mesh of 2 tern nodes and 2 BIRD 1.6 nodes configured as confd does', () => {
  const harness = useInteropHarness('e2e-mixed');

  it('every session comes up and pods on different nodes reach each other', async () => {
    const h = harness();
    const c = new Cluster(h, {
      bgp: { asNumber: AS, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Info' },
      pools: [{ cidr: POOL, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }],
    });
    const specs = [1, 2, 3, 4].map((i) => ({
      name: i <= 2 ? `tern-${i}` : `bird-${i}`,
      v4: addr(i),
      blocks: [`10.244.${i}.0/26`],
    }));
    await c.addNodes(specs);
    await Promise.all(c.nodes.map((n, i) => c.addPod(n, { name: `pod-${i + 1}`, v4: `10.244.${i + 1}.5` })));
    await c.writeResources();
    const birds = c.nodes
      .filter((n) => n.name.startsWith('bird-'))
      .map(
        (node) =>
          new ConfdBird(h, {
            node,
            nodes: specs.map((s) => ({ address: s.v4, asn: AS })),
            asn: AS,
            pools: [POOL],
          }),
      );
    const terns = c.nodes.filter((n) => n.name.startsWith('tern-')).map((n) => c.calicoTern(n));
    await Promise.all([...birds.map((b) => b.start()), ...terns.map((t) => t.start())]);

    for (const [k, t] of terns.entries()) {
      const i = k + 1;
      await t.waitEstablished([1, 2, 3, 4].filter((j) => j !== i).map(mesh));
    }
    for (const b of birds) await b.waitEstablished();
    await c.waitTraffic([4]);
    // each node's kernel: a route to every other node's block, written by tern or by BIRD
    for (const n of c.nodes) {
      const others = c.nodes.filter((m) => m !== n).flatMap((m) => m.spec.blocks);
      const have = await learnedPrefixes(h, n.ns);
      for (const b of others) expect(have.has(b), `${n.name} routes ${b}`).toBe(true);
    }
    // and BIRD learned the tern nodes' blocks over BGP
    for (const b of birds) {
      const got = await b.bgpPrefixes();
      expect(got).toContain('10.244.1.0/26');
      expect(got).toContain('10.244.2.0/26');
    }
  });
});
