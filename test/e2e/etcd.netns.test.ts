// End to end from Calico's etcd datastore: two tern nodes in a node-to-node mesh, each in its network
// namespace, started with `tern run --calico-etcd <endpoint> --node <name>` (cluster.ts, etcd mode: etcd
// in a namespace of its own on the fabric, at 10.77.30.250; this process writes to it over a unix
// socket, with an etcd3 client, as calicoctl and Calico's IPAM would). Kernel changes are timed with
// `ip -tshort monitor route` in the nodes' namespaces, so the figures do not depend on a poll.
//   - a new block affinity for node-1, written the way Calico's IPAM claims a block (the affinity
//     `pending`, the block, the affinity `confirmed`; etcd keys and values as libcalico-go writes them):
//     nothing while pending; once confirmed, node-1's kernel gets `blackhole <block> proto bird` (BIRD's
//     static protocol's form, docs/fib.md) and node-2, the BGP peer, `<block> via node-1 proto bird`;
//     released as Calico releases it (`pendingDeletion`, the block deleted, the affinity deleted): both
//     go. Prints the time from each etcd write to each kernel.
//   - a removed pool's routes: an IPPool with a block of node-1, taken out of BGP (`disableBGPExport`,
//     one write), and deleted the way calicoctl deletes a pool (libcalico-go clientv3 ippools.Delete: the
//     pool disabled, its blocks' affinities released, the pool deleted): the time from the first etcd
//     write to the route leaving node-2's kernel and the blackhole leaving node-1's, printed and bounded.
//     (tern, as Calico's BIRD, originates a confirmed block whether or not a pool covers it: what takes
//     a deleted pool's block away is the affinity's release, the second step of the deletion.)
//
// Needs root, `ip netns` and etcd; otherwise prints `SKIPPED kernel (...)` / `SKIPPED etcd (...)`, or
// fails under TERN_REQUIRE_INTEROP=1.

import { expect, it } from 'vitest';
import { stringify } from 'yaml';
import { describeEtcdAnd } from '../calico/etcd-helpers.js';
import {
  type InteropHarness,
  type Netns,
  netnsAvailable,
  sleep,
  useInteropHarness,
  waitFor,
} from '../interop/harness/index.js';
import { Cluster, type ClusterNode, type RouteEvent, RouteMonitor, type ShownRoute } from './cluster.js';

const v4 = (i: number): string => `10.77.30.${i}`;
const mesh = (i: number): string => `Mesh_${v4(i).replace(/\./g, '_')}`;
/** What a test may take from an etcd write to a kernel on a loaded 2-core machine. */
const BOUND_MS = 3000;

/** Calico's keys (libcalico-go model: block_affinity.go, block.go, resource.go). */
const affinityKey = (node: string, block: string): string =>
  `/calico/ipam/v2/host/${node}/ipv4/block/${block.replace('/', '-')}`;
const blockKey = (block: string): string =>
  `/calico/ipam/v2/assignment/ipv4/block/${block.replace('/', '-')}`;
const poolKey = (name: string): string => `/calico/resources/v3/projectcalico.org/ippools/${name}`;
/** model.BlockAffinity as IPAM stores it. */
const affinity = (state: 'pending' | 'confirmed' | 'pendingDeletion'): string =>
  JSON.stringify({ state, deleted: false });
/** model.AllocationBlock of an empty /26 affine to `node` (tern does not read it; IPAM writes it). */
const allocationBlock = (block: string, node: string): string =>
  JSON.stringify({
    cidr: block,
    affinity: `host:${node}`,
    strictAffinity: false,
    allocations: Array.from({ length: 64 }, () => null),
    unallocated: Array.from({ length: 64 }, (_, i) => i),
    attributes: [],
    deleted: false,
  });

/** The route to exactly `prefix` in a namespace's main table, if any. */
async function route(h: InteropHarness, ns: Netns, prefix: string): Promise<ShownRoute | undefined> {
  const r = await h.ip(ns, ['-json', 'route', 'show', 'table', 'main', 'to', 'exact', prefix]);
  return (JSON.parse(r.stdout) as ShownRoute[])[0];
}

const isBlackhole = (e: RouteEvent): boolean =>
  !e.deleted && e.type === 'blackhole' && /proto bird\b/.test(e.line);
const isVia =
  (gw: string) =>
  (e: RouteEvent): boolean =>
    !e.deleted && e.line.includes(`via ${gw} `) && /proto bird\b/.test(e.line);
const isDeleted = (e: RouteEvent): boolean => e.deleted;

describeEtcdAnd(
  [{ kind: 'kernel', availability: netnsAvailable() }],
  'e2e: 2 tern nodes from Calico resources in etcd: block affinities and pools',
  () => {
    const harness = useInteropHarness('e2e-etcd');
    let cluster: Cluster | undefined;
    const get = (): Cluster => {
      if (cluster === undefined) throw new Error('the cluster is not up (the first test failed)');
      return cluster;
    };
    /** Waits until the node's tern has the etcd state up to `revision` (its watch delivered the write). */
    const caughtUp = async (n: ClusterNode, revision: number): Promise<void> => {
      await waitFor(() => n.daemon.status(), {
        what: `${n.name}: the datastore at revision ${revision}`,
        until: (s) => (s.datastore?.revision ?? 0) >= revision,
        timeoutMs: 5000,
        intervalMs: 20,
      });
    };
    const timed = (from: number, e: RouteEvent): number => e.at - from;

    it('two nodes peer and route pods from --calico-etcd', async () => {
      const h = harness();
      const c = new Cluster(h, {
        bgp: { asNumber: 64512, logSeverityScreen: 'Info' },
        pools: [{ cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }],
        datastore: 'etcd',
      });
      await c.addNodes([1, 2].map((i) => ({ name: `node-${i}`, v4: v4(i), blocks: [`10.244.${i}.0/26`] })));
      await Promise.all(
        c.nodes.map((n, i) => c.addPod(n, { name: `pod-${i + 1}`, v4: `10.244.${i + 1}.5` })),
      );
      await c.writeResources();
      for (const n of c.nodes) c.calicoTern(n);
      cluster = c;
      await Promise.all(c.nodes.map((n) => n.daemon.start()));
      await c.node('node-1').daemon.waitEstablished([mesh(2)]);
      await c.node('node-2').daemon.waitEstablished([mesh(1)]);
      await c.waitTraffic([4]);
      for (const n of c.nodes) {
        expect((await n.daemon.status()).datastore, n.name).toMatchObject({
          connected: true,
          state: 'watching',
        });
      }
    });

    it("a node's new block affinity is originated and written to its kernel as a blackhole; released, both go", async () => {
      const h = harness();
      const c = get();
      const [n1, n2] = [c.node('node-1'), c.node('node-2')];
      const block = '10.244.9.0/26';
      const etcd = c.etcd.writer();
      const m1 = new RouteMonitor(h, n1);
      const m2 = new RouteMonitor(h, n2);
      await Promise.all([m1.ready(), m2.ready()]);
      const since = Date.now();
      const rev = async (p: Promise<{ header: { revision: string } }>): Promise<number> =>
        Number((await p).header.revision);

      // IPAM claims it: the affinity pending, then the block, then the affinity confirmed
      await caughtUp(n1, await rev(etcd.put(affinityKey('node-1', block)).value(affinity('pending')).exec()));
      await etcd.put(blockKey(block)).value(allocationBlock(block, 'node-1'));
      await sleep(200);
      expect(await route(h, n1.ns, block), 'pending: no route at node-1').toBeUndefined();
      expect(await route(h, n2.ns, block), 'pending: no route at node-2').toBeUndefined();
      expect([...m1.events(), ...m2.events()].filter((e) => e.dst === block)).toEqual([]);

      const t0 = Date.now();
      await etcd.put(affinityKey('node-1', block)).value(affinity('confirmed'));
      const hole = await m1.waitEvent(block, isBlackhole, t0, `blackhole ${block} proto bird written`);
      const learned = await m2.waitEvent(block, isVia(v4(1)), t0, `${block} via node-1 written`);
      process.stderr.write(
        `[e2e-etcd] block affinity confirmed (etcd put) -> blackhole in node-1's kernel: ${timed(t0, hole)} ms; -> ${block} via node-1 in node-2's kernel (the BGP peer): ${timed(t0, learned)} ms\n`,
      );
      expect(await route(h, n1.ns, block)).toMatchObject({ dst: block, type: 'blackhole', protocol: 'bird' });
      expect(await route(h, n2.ns, block)).toMatchObject({ dst: block, gateway: v4(1), protocol: 'bird' });
      expect(timed(t0, hole)).toBeLessThan(BOUND_MS);
      expect(timed(t0, learned)).toBeLessThan(BOUND_MS);

      // IPAM releases it: pendingDeletion (inside a pool: still announced), the block, the affinity
      await caughtUp(
        n1,
        await rev(etcd.put(affinityKey('node-1', block)).value(affinity('pendingDeletion')).exec()),
      );
      await etcd.delete().key(blockKey(block));
      await sleep(200);
      expect(await route(h, n1.ns, block), 'pendingDeletion: the blackhole stays').toMatchObject({
        type: 'blackhole',
      });
      expect(await route(h, n2.ns, block), 'pendingDeletion: still announced').toMatchObject({
        gateway: v4(1),
      });
      const t1 = Date.now();
      await etcd.delete().key(affinityKey('node-1', block));
      const holeGone = await m1.waitEvent(block, isDeleted, t1, `blackhole ${block} removed`);
      const routeGone = await m2.waitEvent(block, isDeleted, t1, `${block} withdrawn`);
      process.stderr.write(
        `[e2e-etcd] block affinity deleted (etcd delete) -> blackhole gone from node-1's kernel: ${timed(t1, holeGone)} ms; -> ${block} gone from node-2's kernel: ${timed(t1, routeGone)} ms\n`,
      );
      expect(timed(t1, holeGone)).toBeLessThan(BOUND_MS);
      expect(timed(t1, routeGone)).toBeLessThan(BOUND_MS);
      expect(await route(h, n1.ns, block)).toBeUndefined();
      expect(await route(h, n2.ns, block)).toBeUndefined();
      // between the confirm and the delete: one route each, added once; nothing else of the nodes moved
      for (const m of [m1, m2]) {
        expect(
          m
            .events()
            .filter((e) => e.dst === block && e.at >= since)
            .map((e) => e.deleted),
        ).toEqual([false, true]);
        expect(m.deletions(['10.244.1.0/26', '10.244.2.0/26'])).toEqual([]);
        await m.stop();
      }
      expect(await c.echoAll([4])).toEqual([]);
    });

    it("a removed pool's routes are withdrawn: the time from the etcd write", async () => {
      const h = harness();
      const c = get();
      const [n1, n2] = [c.node('node-1'), c.node('node-2')];
      const etcd = c.etcd.writer();
      const block = '10.245.1.0/26';
      const pool = (spec: Readonly<Record<string, unknown>>): string =>
        stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'pool-b' }, spec });
      const spec = { cidr: '10.245.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' };
      const m1 = new RouteMonitor(h, n1);
      const m2 = new RouteMonitor(h, n2);
      await Promise.all([m1.ready(), m2.ready()]);
      const announced = async (from: number): Promise<void> => {
        await m1.waitEvent(block, isBlackhole, from, `blackhole ${block} proto bird written`);
        await m2.waitEvent(block, isVia(v4(1)), from, `${block} via node-1 written`);
      };
      const withdrawn = async (from: number): Promise<{ hole: RouteEvent; peer: RouteEvent }> => ({
        hole: await m1.waitEvent(block, isDeleted, from, `blackhole ${block} removed`),
        peer: await m2.waitEvent(block, isDeleted, from, `${block} withdrawn`),
      });

      // a second pool, and a block of it for node-1 (no Felix blackhole: tern writes the only one)
      const added = Date.now();
      await c.putResources(pool(spec));
      await etcd.put(blockKey(block)).value(allocationBlock(block, 'node-1'));
      await etcd.put(affinityKey('node-1', block)).value(affinity('confirmed'));
      await announced(added);

      // the pool out of BGP: one write
      const t0 = Date.now();
      await c.putResources(pool({ ...spec, disableBGPExport: true }));
      const off = await withdrawn(t0);
      process.stderr.write(
        `[e2e-etcd] IPPool disableBGPExport: true (etcd put) -> ${block} gone from node-2's kernel (withdrawn): ${timed(t0, off.peer)} ms; -> blackhole gone from node-1's kernel: ${timed(t0, off.hole)} ms\n`,
      );
      expect(timed(t0, off.peer)).toBeLessThan(BOUND_MS);
      expect(timed(t0, off.hole)).toBeLessThan(BOUND_MS);
      const back = Date.now();
      await c.putResources(pool(spec));
      await announced(back);

      // deleted as calicoctl deletes a pool: disabled, its affinities released (pendingDeletion, the
      // empty block deleted, the affinity deleted), the pool deleted
      const t1 = Date.now();
      await c.putResources(pool({ ...spec, disabled: true }));
      await etcd.put(affinityKey('node-1', block)).value(affinity('pendingDeletion'));
      await etcd.delete().key(blockKey(block));
      const t2 = Date.now();
      await etcd.delete().key(affinityKey('node-1', block));
      await etcd.delete().key(poolKey('pool-b'));
      const tEnd = Date.now();
      const gone = await withdrawn(t1);
      process.stderr.write(
        `[e2e-etcd] IPPool deleted as calicoctl does (4 etcd writes in ${tEnd - t1} ms) -> ${block} gone from node-2's kernel: ${timed(t1, gone.peer)} ms after the first write (${timed(t2, gone.peer)} ms after the affinity's delete); -> blackhole gone from node-1's kernel: ${timed(t1, gone.hole)} ms\n`,
      );
      expect(timed(t1, gone.peer)).toBeLessThan(BOUND_MS);
      expect(timed(t1, gone.hole)).toBeLessThan(BOUND_MS);
      // the disabled pool still announced the block until its affinity went
      expect(gone.peer.at).toBeGreaterThanOrEqual(t2);
      // nothing of the pool is left in either kernel; the other blocks never moved; traffic flows
      await sleep(200);
      for (const [n, m] of [
        [n1, m1],
        [n2, m2],
      ] as const) {
        const left = (await h.ip(n.ns, ['-json', 'route', 'show', 'table', 'main', 'root', '10.245.0.0/16']))
          .stdout;
        expect(JSON.parse(left), `${n.name}: routes in the deleted pool`).toEqual([]);
        expect(m.deletions(['10.244.1.0/26', '10.244.2.0/26'])).toEqual([]);
        await m.stop();
      }
      expect(await c.echoAll([4])).toEqual([]);
    });
  },
);
