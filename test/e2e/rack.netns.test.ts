// End to end, topology 4: per-rack AS ("AS per rack" in Calico's BGP guide), IPv4. Two racks, each its
// own L2 segment and its own AS for the nodes (Node.spec.bgp.asNumber 65001 / 65002), each with a
// top-of-rack router (BIRD 2, AS 65101 / 65102, in its own namespace, writing what it learns into its
// kernel and forwarding); the two ToRs peer eBGP over a link of their own. Calico's resources, mesh off:
//   - BGPPeer rack-N-tor: `nodeSelector: rack == 'rack-N'`, `peerIP` the ToR, its AS: eBGP to the ToR;
//   - BGPPeer rack-N-internal: `nodeSelector` and `peerSelector` `rack == 'rack-N'`: the nodes of a rack
//     peer with each other (iBGP; a rack mate's routes through the ToR carry the rack's own AS and are
//     dropped by the loop check).
// Every node runs `tern run --calico <dir> --node <name>`. Pods on different nodes, in the same rack and
// across racks, reach each other (TCP echo); each node routes the other rack's blocks via its ToR.
// Calico's export filter holds: ToR 1 also announces a prefix outside every IP pool (TEST-NET-2), which
// its nodes take but do not pass on to their rack mate, while they do pass on the other rack's blocks
// (inside the pool), as calico-node's BIRD does.
//
// Needs root, `ip netns` and BIRD 2; otherwise prints `SKIPPED interop (...)`, or fails under
// TERN_REQUIRE_INTEROP=1.

import { expect, it } from 'vitest';
import { controlRequest } from '../../src/cli/show.js';
import {
  type Bird2,
  describeInterop,
  startBird2,
  useInteropHarness,
  waitEstablished,
  waitFor,
  waitRoute,
} from '../interop/harness/index.js';
import { birdRoutes, Cluster, type ClusterNode } from './cluster.js';

const RACKS = [1, 2] as const;
const NODE_AS = (r: number): number => 65000 + r;
const TOR_AS = (r: number): number => 65100 + r;
const lan = (r: number, host: number): string => `10.77.4${r}.${host}`;
/** The ToR-to-ToR link. */
const TOR_LINK = (r: number): string => `10.77.40.${r}`;
const HOSTS = [11, 12];
const block = (r: number, host: number): string => `10.244.${r * 16 + host - 10}.0/26`;
const pod = (r: number, host: number): string => `10.244.${r * 16 + host - 10}.5`;
const peer = (a: string): string => `Node_${a.replace(/\./g, '_')}`;
/** Announced by ToR 1: inside no IP pool. */
const FOREIGN = '198.51.100.0/24';

describeInterop('e2e: per-rack AS, two racks with a BIRD 2 ToR each, tern nodes peering eBGP', () => {
  const harness = useInteropHarness('e2e-rack');

  it("pods reach each other within and across racks; the other rack's blocks go via the ToR", async () => {
    const h = harness();
    const c = new Cluster(h, {
      bgp: { asNumber: 64512, nodeToNodeMeshEnabled: false, logSeverityScreen: 'Info' },
      pools: [{ cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }],
    });
    const tors: Bird2[] = [];
    const torNs = await Promise.all(RACKS.map((r) => h.createNetns(`tor-${r}`)));
    await h.link(torNs[0]!, TOR_LINK(1), torNs[1]!, TOR_LINK(2), { ifA: 'tor0', ifB: 'tor0' });
    for (const r of RACKS) {
      await c.addNodes(
        HOSTS.map((host) => ({
          name: `r${r}-node-${host}`,
          v4: lan(r, host),
          asn: NODE_AS(r),
          labels: { rack: `rack-${r}` },
          blocks: [block(r, host)],
        })),
        { fabric: `rack-${r}`, others: [{ ns: torNs[r - 1]!, addr: lan(r, 1) }] },
      );
      await c.writePeer(`rack-${r}-tor`, {
        nodeSelector: `rack == 'rack-${r}'`,
        peerIP: lan(r, 1),
        asNumber: TOR_AS(r),
      });
      await c.writePeer(`rack-${r}-internal`, {
        nodeSelector: `rack == 'rack-${r}'`,
        peerSelector: `rack == 'rack-${r}'`,
      });
    }
    await Promise.all(
      c.nodes.map((n, i) => c.addPod(n, { name: `pod-${i + 1}`, v4: pod(rackOf(n), hostOf(n)) })),
    );
    await c.writeResources();

    for (const r of RACKS) {
      const ns = torNs[r - 1]!;
      await h.exec(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      tors.push(
        await startBird2(h, ns, {
          name: `tor-${r}`,
          routerId: lan(r, 1),
          localAs: TOR_AS(r),
          neighbors: [
            ...HOSTS.map((host) => ({ address: lan(r, host), as: NODE_AS(r) })),
            { address: TOR_LINK(3 - r), as: TOR_AS(3 - r) },
          ],
          ...(r === 1 ? { routes: [{ prefix: FOREIGN }] } : {}),
          // a router: what BGP brings goes into the kernel, for forwarding
          extraConfig: ['protocol kernel { ipv4 { export where source = RTS_BGP; }; }'],
        }),
      );
    }
    for (const n of c.nodes) c.calicoTern(n);
    await Promise.all(c.nodes.map((n) => n.daemon.start()));
    for (const n of c.nodes) {
      const mate = lan(rackOf(n), hostOf(n) === 11 ? 12 : 11);
      await n.daemon.waitEstablished([peer(lan(rackOf(n), 1)), peer(mate)]);
    }
    for (const [k, t] of tors.entries()) await waitEstablished(t, TOR_LINK(2 - k));

    // each ToR has every block: its rack's from the nodes (AS path: the rack), the other's via the other ToR
    for (const r of RACKS) {
      const tor = tors[r - 1]!;
      for (const host of HOSTS) {
        await waitRoute(tor, 'ipv4', block(r, host), { nextHop: lan(r, host), asPath: [NODE_AS(r)] });
        await waitRoute(tor, 'ipv4', block(3 - r, host), {
          nextHop: TOR_LINK(3 - r),
          asPath: [TOR_AS(3 - r), NODE_AS(3 - r)],
        });
      }
    }
    await c.waitTraffic([4]);

    // a node routes the other rack's blocks via its ToR, its rack mate's block directly
    for (const n of c.nodes) {
      const r = rackOf(n);
      const routes = await birdRoutes(h, n.ns);
      const via = (dst: string): string | undefined => routes.find((x) => x.dst === dst)?.gateway;
      for (const host of HOSTS) {
        expect(via(block(3 - r, host)), `${n.name}: ${block(3 - r, host)}`).toBe(lan(r, 1));
        if (host !== hostOf(n))
          expect(via(block(r, host)), `${n.name}: ${block(r, host)}`).toBe(lan(r, host));
      }
    }

    // the export filter: who sent each node what (its Adj-RIB-In, as `tern show routes <prefix>`)
    const sentBy = async (n: ClusterNode, prefix: string): Promise<string[]> => {
      const rows = (await controlRequest(n.daemon.socket, 'show routes', { prefix }, 2000)) as {
        peer: string;
      }[];
      return rows.map((x) => x.peer).sort();
    };
    for (const n of c.nodes) {
      const r = rackOf(n);
      const tor = peer(lan(r, 1));
      const mate = peer(lan(r, hostOf(n) === 11 ? 12 : 11));
      // a block of the other rack (inside the pool): from the ToR, and passed on by the rack mate
      const other = block(3 - r, 11);
      await waitFor(async () => (await sentBy(n, other)).length === 2, {
        what: `${n.name}: ${other} from the ToR and the rack mate`,
        timeoutMs: 20_000,
      });
      expect(await sentBy(n, other)).toEqual([tor, mate].sort());
      // outside every pool: rack 1's nodes have it from their ToR only (the mate rejects it on export,
      // Calico's final `reject`); rack 2's from their ToR, which has it from ToR 1
      await waitFor(async () => (await sentBy(n, FOREIGN)).length > 0, {
        what: `${n.name}: ${FOREIGN} from the ToR`,
        timeoutMs: 20_000,
      });
      expect(await sentBy(n, FOREIGN), `${n.name}: ${FOREIGN}`).toEqual([tor]);
    }
    // and ToR 2 has it only through ToR 1, not from rack 1's nodes through anyone
    await waitRoute(tors[1]!, 'ipv4', FOREIGN, { nextHop: TOR_LINK(1), asPath: [TOR_AS(1)] });
  });
});

function rackOf(n: ClusterNode): number {
  return Number(n.name[1]);
}

function hostOf(n: ClusterNode): number {
  return Number(n.name.split('-')[2]);
}
