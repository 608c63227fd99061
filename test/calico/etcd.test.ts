// The etcd datastore source (src/config/calico/etcd.ts) against a real etcd on loopback: the resources of
// fixtures/calico/* and of Calico's confd cases, written in Calico's key layout and value format, give the
// same native config as the same resources read from files; puts and deletes come through the watch; a
// compaction that overtakes the watch is recovered by a re-read; etcd absent at start is waited for with
// backoff; etcd stopped under a running source leaves the last state in place, says so, and recovers.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { calicoFeed } from '../../src/cli/calico.js';
import {
  CalicoError,
  type CalicoResources,
  collectResources,
  EtcdCalicoSource,
  type EtcdSourceOptions,
  FileCalicoSource,
  readCalicoText,
  renderCalico,
} from '../../src/config/calico/index.js';
import { waitFor } from '../helpers/speakers.js';
import {
  calicoEntries,
  describeEtcd,
  EtcdServer,
  fixtureEntries,
  opensslAvailable,
  twoNodes,
} from './etcd-helpers.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/calico/', import.meta.url));
const yamlFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => readFileSync(`${dir}/${f}`, 'utf8'));

/** What a render gives, without where it came from: the document, or the problems. */
function outcome(resources: CalicoResources, node: string): unknown {
  try {
    const r = renderCalico(resources, { node });
    return { document: r.document, config: r.config };
  } catch (e) {
    if (!(e instanceof CalicoError)) throw e;
    return { errors: e.issues.map((i) => ({ resource: i.resource, path: i.path, message: i.message })) };
  }
}

describeEtcd('the etcd datastore source (a real etcd on 127.0.0.1)', () => {
  let etcd: EtcdServer;
  const sources: EtcdCalicoSource[] = [];
  const source = (opts: Omit<EtcdSourceOptions, 'endpoints'>, endpoint?: string): EtcdCalicoSource => {
    const s = new EtcdCalicoSource({ endpoints: [endpoint ?? etcd.endpoint], ...opts });
    sources.push(s);
    return s;
  };

  let writer: Etcd3 | undefined;
  /** Puts in one transaction, with the etcd3 client (quicker than one etcdctl per key). */
  const putAll = async (entries: readonly (readonly [string, string])[]): Promise<void> => {
    writer ??= new Etcd3({ hosts: [etcd.endpoint] });
    await writer.kv.txn({
      success: entries.map(([k, v]) => ({ request_put: { key: Buffer.from(k), value: Buffer.from(v) } })),
    });
  };

  beforeAll(async () => {
    etcd = await EtcdServer.create();
    await etcd.start();
  });
  afterAll(async () => {
    for (const s of sources) await s.close();
    writer?.close();
    await etcd?.destroy();
  });

  for (const [topology, prefix] of [
    ['mesh', '/calico'],
    ['reflector', '/reflector/calico'],
    ['per-rack', '/per-rack/calico'],
  ] as const) {
    it(`fixtures/calico/${topology} written with etcdctl renders as the files do, for every node`, async () => {
      const files = new FileCalicoSource(`${FIXTURES}${topology}`).current();
      await etcd.put(fixtureEntries(yamlFiles(`${FIXTURES}${topology}`), prefix));
      expect(files.nodes.length).toBeGreaterThan(2);
      for (const node of files.nodes.map((n) => n.name)) {
        const s = source({ node: node, prefix });
        const fromEtcd = await s.readOnce();
        await s.close();
        const want = outcome(files, node);
        expect(want).toHaveProperty('document');
        expect(outcome(fromEtcd, node), `${topology}, node ${node}`).toEqual(want);
        // the block affinities read are this host's only, as calico/node's BGP syncer reads them
        expect(fromEtcd.blockAffinities.every((b) => b.node === node)).toBe(true);
      }
    });
  }

  it("Calico's confd cases give the same peers (or the same refusal) from etcd as from files", async () => {
    const dir = `${FIXTURES}confd/`;
    const affinities = readFileSync(`${dir}block-affinities.yaml`, 'utf8');
    const cases = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect(cases.length).toBeGreaterThan(30);
    for (const name of cases) {
      const input = readFileSync(`${dir}${name}/input.yaml`, 'utf8');
      const read = [readCalicoText(input, 'input.yaml'), readCalicoText(affinities, 'block-affinities.yaml')];
      const files = collectResources(read.flatMap((r) => r.resources)).resources;
      const prefix = `/confd/${name}/calico`;
      await putAll([...calicoEntries(input, prefix), ...calicoEntries(affinities, prefix)]);
      const s = source({ node: 'kube-master', prefix });
      const fromEtcd = await s.readOnce();
      await s.close();
      expect(outcome(fromEtcd, 'kube-master'), name).toEqual(outcome(files, 'kube-master'));
    }
  });

  it('tells a broken value by its key, and skips keys outside the layout', async () => {
    const prefix = '/broken/calico';
    await etcd.put([
      [
        `${prefix}/resources/v3/projectcalico.org/nodes/a`,
        '{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"a"},"spec":{"bgp":{"ipv4Address":"127.0.0.1/8"}}}',
      ],
      [
        `${prefix}/resources/v3/projectcalico.org/bgppeers/tor`,
        '{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"tor"},"spec":{"peerIP":"127.0.0.9","asNumber":65000,"passwd":"x"}}',
      ],
      [`${prefix}/resources/v3/projectcalico.org/bgppeers/junk`, 'not json'],
      [`${prefix}/ipam/v2/host/a/ipv4/block/10.244.1.0-26`, '{"state":7}'],
      [`${prefix}/ipam/v2/host/a/ipv4/nonsense`, 'x'],
    ]);
    const s = source({ node: 'a', prefix });
    await expect(s.readOnce()).rejects.toThrow(CalicoError);
    let message = '';
    try {
      s.current();
    } catch (e) {
      message = e instanceof CalicoError ? e.message : String(e);
    }
    expect(message.split('\n')).toEqual([
      `${prefix}/ipam/v2/host/a/ipv4/block/10.244.1.0-26: state: expected a string, got 7`,
      expect.stringMatching(
        new RegExp(`^${prefix}/resources/v3/projectcalico.org/bgppeers/junk: the value is not JSON: `),
      ),
      `${prefix}/resources/v3/projectcalico.org/bgppeers/tor (BGPPeer tor): spec.passwd: unknown field (did you mean password?)`,
    ]);
  });

  const cluster = (prefix: string): [string, string][] => calicoEntries(twoNodes('listenPort: 1179'), prefix);
  const peer = (prefix: string, name: string, ip: string, asn: number): [string, string] => [
    `${prefix}/resources/v3/projectcalico.org/bgppeers/${name}`,
    JSON.stringify({
      kind: 'BGPPeer',
      apiVersion: 'projectcalico.org/v3',
      metadata: { name, uid: `uid-${name}`, creationTimestamp: '2025-03-04T09:12:41Z' },
      spec: { node: 'a', peerIP: ip, asNumber: asn },
    }),
  ];
  const peersOf = (r: CalicoResources, node = 'a'): string[] =>
    renderCalico(r, { node }).document.peers.map((p) => p.name);

  it('follows puts and deletes through the watch, one change per burst, in milliseconds', async () => {
    const prefix = '/watch/calico';
    await etcd.put(cluster(prefix));
    const s = source({ node: 'a', prefix });
    expect(peersOf(await s.load())).toEqual(['Mesh_127_0_0_2']);
    const at = s.status();
    expect(at).toMatchObject({ datastore: 'etcdv3', state: 'watching', connected: true, reads: 1 });
    let changes = 0;
    let changedAt = 0;
    s.watch(() => {
      changes++;
      changedAt = performance.now();
    });

    // a BGPPeer put: seen through the watch
    // warm up: the writer's connection is up, and the watch is synced (etcd delivers the events of a watch
    // created behind the store's revision from a loop that runs every 100 ms, until it has caught up)
    await putAll([
      [
        `${prefix}/resources/v3/projectcalico.org/bgpconfigurations/node.zz`,
        '{"kind":"BGPConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"node.zz"},"spec":{}}',
      ],
    ]);
    await waitFor('the warm-up', () => changes === 1, 10_000, 2);
    changes = 0;
    const t0 = performance.now();
    await putAll([peer(prefix, 'tor', '127.0.0.9', 65000)]);
    const committed = performance.now() - t0;
    await waitFor('the new peer', () => changes === 1, 10_000, 2);
    const latency = changedAt - t0;
    expect(peersOf(s.current())).toEqual(['Mesh_127_0_0_2', 'Node_127_0_0_9']);
    expect(s.status().revision).toBeGreaterThan(at.revision ?? 0);

    // a new block affinity of this host: originated; one of another host: not even watched
    await etcd.put([
      [`${prefix}/ipam/v2/host/a/ipv4/block/10.244.7.0-26`, '{"state":"confirmed","deleted":false}'],
      [`${prefix}/ipam/v2/host/b/ipv4/block/10.244.8.0-26`, '{"state":"confirmed","deleted":false}'],
    ]);
    await waitFor('the block', () => changes === 2, 10_000, 2);
    expect(renderCalico(s.current(), { node: 'a' }).document.originate.map((o) => o.prefix)).toEqual([
      '10.244.1.0/26',
      '10.244.7.0/26',
    ]);

    // a delete
    await etcd.etcdctl(['del', peer(prefix, 'tor', '', 0)[0]]);
    await waitFor('the peer gone', () => changes === 3, 10_000, 2);
    expect(peersOf(s.current())).toEqual(['Mesh_127_0_0_2']);

    // a transaction over several kinds (a peer and a block) is one change
    const [k1, v1] = peer(prefix, 'p1', '127.0.0.11', 65001);
    const k2 = `${prefix}/ipam/v2/host/a/ipv4/block/10.244.9.0-26`;
    await putAll([
      [k1, v1],
      [k2, '{"state":"confirmed","deleted":false}'],
    ]);
    await waitFor('the transaction', () => changes === 4, 10_000, 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(changes).toBe(4);
    expect(peersOf(s.current())).toEqual(['Mesh_127_0_0_2', 'Node_127_0_0_11']);
    process.stderr.write(
      `etcd put -> source onChange: ${latency.toFixed(1)} ms (the put itself: ${committed.toFixed(1)} ms; 2 ms of coalescing)\n`,
    );
    expect(latency).toBeLessThan(1000);
  });

  it('the Calico feed reloads only when the rendered config changes', async () => {
    const prefix = '/feed/calico';
    await etcd.put(cluster(prefix));
    const lines: string[] = [];
    const feed = calicoFeed({ etcd: { endpoints: etcd.endpoint, prefix }, node: 'a' }, (l) => lines.push(l));
    try {
      const config = await feed.load();
      expect(config.peers.map((p) => p.name)).toEqual(['Mesh_127_0_0_2']);
      expect(feed.status?.()).toMatchObject({ connected: true, state: 'watching' });
      const why: string[] = [];
      feed.watch((w) => why.push(w));
      // a label on a Node that no selector reads: the rendered config is the same, no reload
      const [key, value] = cluster(prefix).find(([k]) => k.endsWith('/nodes/b')) ?? ['', ''];
      const b = JSON.parse(value) as { metadata: Record<string, unknown> };
      b.metadata.labels = { zone: 'z1' };
      await etcd.put([[key, JSON.stringify(b)]]);
      // a FelixConfiguration: not a key tern reads
      await etcd.put([[`${prefix}/resources/v3/projectcalico.org/felixconfigurations/default`, '{}']]);
      await new Promise((r) => setTimeout(r, 300));
      expect(why).toEqual([]);
      // a new peer: one reload, with the new config
      await etcd.put([peer(prefix, 'tor', '127.0.0.9', 65000)]);
      await waitFor('the reload', () => why.length === 1, 10_000, 5);
      expect((await feed.load()).peers.map((p) => p.name)).toEqual(['Mesh_127_0_0_2', 'Node_127_0_0_9']);
      expect(feed.check()).toEqual({ ok: true });
      // broken: the feed says so (the daemon refuses the reload and keeps the running config)
      await etcd.put([peer(prefix, 'tor', '127.0.0.300', 65000)]);
      await waitFor('the second reload', () => why.length === 2, 10_000, 5);
      await expect(feed.load()).rejects.toThrow(/bgppeers\/tor \(BGPPeer tor\): spec\.peerIP/);
    } finally {
      await feed.close?.();
    }
  });

  it('re-reads when a compaction overtakes the watch, and ends in the right state', async () => {
    const prefix = '/compact/calico';
    await etcd.put(cluster(prefix));
    let reached: () => void = () => {};
    const atGate = new Promise<void>((r) => {
      reached = r;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    class Slow extends EtcdCalicoSource {
      private held = false;
      protected override async beforeWatch(): Promise<void> {
        if (this.held) return;
        this.held = true; // only the first watch is held back
        reached();
        await gate;
      }
    }
    const lines: string[] = [];
    const s = new Slow({ endpoints: [etcd.endpoint], node: 'a', prefix, say: (l) => lines.push(l) });
    sources.push(s);
    const loaded = s.load();
    await atGate; // read at revision R; the watch from R + 1 is not created yet
    const r = s.status().revision ?? 0;
    await etcd.put([peer(prefix, 'tor', '127.0.0.9', 65000)]);
    await etcd.etcdctl(['del', `${prefix}/resources/v3/projectcalico.org/nodes/b`]);
    const compacted = await etcd.compact();
    expect(compacted).toBeGreaterThan(r + 1);
    let changes = 0;
    s.watch(() => changes++);
    release();
    expect(peersOf(await loaded)).toEqual(['Mesh_127_0_0_2']); // the state of revision R
    await waitFor('the re-read', () => changes > 0, 15_000, 5);
    expect(peersOf(s.current())).toEqual(['Node_127_0_0_9']);
    expect(s.status()).toMatchObject({ reads: 2, connected: true, state: 'watching' });
    expect(s.status().revision).toBeGreaterThanOrEqual(compacted);
    expect(lines.join('\n')).toMatch(/etcd cancelled the watch .*compaction/);
    expect(lines.join('\n')).toMatch(/\(since the last state: 1 added, 0 changed, 1 removed\)/);
    // and the new watch works
    await etcd.put([peer(prefix, 'tor2', '127.0.0.10', 65000)]);
    await waitFor('the next change', () => peersOf(s.current()).length === 2, 10_000, 5);
  });

  it('waits for an etcd that is not there at start, with backoff, and comes up when it starts', async () => {
    const later = await EtcdServer.create();
    try {
      await later.start();
      await later.put(cluster('/calico'));
      await later.stop();
      const lines: string[] = [];
      const s = source(
        { node: 'a', say: (l) => lines.push(l), retry: { initialMs: 100, maxMs: 800 } },
        later.endpoint,
      );
      let done = false;
      const loaded = s.load().then((r) => {
        done = true;
        return r;
      });
      await waitFor('four retries', () => lines.length >= 4, 15_000, 10);
      expect(done).toBe(false);
      expect(s.status()).toMatchObject({ state: 'retrying', connected: false, revision: null, reads: 0 });
      expect(s.status().lastError).toMatch(/UNAVAILABLE|ECONNREFUSED/);
      expect(() => s.current()).toThrow(/not read yet/);
      const waits = lines.map((l) => Number(/retrying in ([\d.]+) s/.exec(l)?.[1]));
      expect(lines[0]).toMatch(/cannot read the Calico resources \(.*\); waiting for etcd, retrying in/);
      // exponential, with jitter of +-20%: 0.1, 0.2, 0.4, 0.8 (at most), ...
      expect(waits[1]!).toBeGreaterThan(waits[0]!);
      expect(waits[2]!).toBeGreaterThan(waits[1]!);
      expect(Math.max(...waits)).toBeLessThanOrEqual(1.0);
      await later.start();
      expect(peersOf(await loaded)).toEqual(['Mesh_127_0_0_2']);
      expect(s.status()).toMatchObject({ state: 'watching', connected: true, reads: 1 });
      expect(lines.at(-1)).toMatch(/read \d+ keys at revision \d+; watching from \d+/);
    } finally {
      await later.destroy();
    }
  });

  it.skipIf(!opensslAvailable())('reads over TLS with a client certificate', async () => {
    const secure = await EtcdServer.create({ tls: true });
    try {
      await secure.start();
      await secure.put(cluster('/calico'));
      const tls = secure.tls ?? { ca: '', cert: '', key: '' };
      const s = source({ node: 'a', tls }, secure.endpoint);
      expect(peersOf(await s.readOnce())).toEqual(['Mesh_127_0_0_2']);
      // without the client certificate etcd refuses, and the error says so
      const anonymous = source({ node: 'a', tls: { ca: tls.ca } }, secure.endpoint);
      await expect(anonymous.readOnce()).rejects.toThrow(
        /cannot read the Calico resources: .*(certificate|handshake)/i,
      );
    } finally {
      await secure.destroy();
    }
  });

  it('keeps the last state while etcd is away, says so, and recovers when it is back', async () => {
    const own = await EtcdServer.create();
    try {
      await own.start();
      await own.put(cluster('/calico'));
      const lines: string[] = [];
      const s = source(
        { node: 'a', say: (l) => lines.push(l), retry: { initialMs: 100, maxMs: 500 } },
        own.endpoint,
      );
      const before = await s.load();
      let changes = 0;
      s.watch(() => changes++);
      await own.stop();
      await waitFor('the loss noticed', () => !s.status().connected, 15_000, 10);
      await waitFor(
        'a failed re-read',
        () => s.status().state === 'retrying' && lines.length >= 3,
        15_000,
        10,
      );
      expect(s.current()).toBe(before); // the last state, unchanged
      expect(changes).toBe(0);
      expect(lines.join('\n')).toMatch(
        /the watch was lost .*running on the last state read \(revision \d+\)/,
      );
      expect(lines.join('\n')).toMatch(/cannot read the Calico resources .*running on the last state read/);
      await own.start();
      await waitFor('connected again', () => s.status().connected, 15_000, 10);
      expect(s.status()).toMatchObject({ state: 'watching', reads: 2 });
      expect(lines.at(-1)).toMatch(/\(since the last state: 0 added, 0 changed, 0 removed\); watching from/);
      expect(peersOf(s.current())).toEqual(peersOf(before));
      await own.put([peer('/calico', 'tor', '127.0.0.9', 65000)]);
      await waitFor(
        'a change after the recovery',
        () => changes > 0 && peersOf(s.current()).length === 2,
        10_000,
        5,
      );
    } finally {
      await own.destroy();
    }
  });
});
