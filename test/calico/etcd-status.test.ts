// The etcd source's `status().revision` against a real etcd on loopback: the revision of the state tern
// runs on follows every watch event, also one that changes nothing (a value written again), as `tern
// show status` promises ("the last read, event or progress notice"). A test
// that waits for tern to have seen a write (test/e2e/etcd.netns.test.ts) relies on it. Before the fix in
// src/config/calico/etcd.ts (update), such an event left the revision behind.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { EtcdCalicoSource } from '../../src/config/calico/index.js';
import { calicoEntries, describeEtcd, EtcdServer, twoNodes } from './etcd-helpers.js';

const until = async (what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describeEtcd('the etcd source: status().revision (a real etcd on 127.0.0.1)', () => {
  let etcd: EtcdServer;
  let source: EtcdCalicoSource | undefined;

  beforeAll(async () => {
    etcd = await EtcdServer.create();
    await etcd.start();
  });
  afterAll(async () => {
    await source?.close();
    await etcd?.destroy();
  });

  it('follows every event, also a value written again unchanged', async () => {
    const entries = calicoEntries(twoNodes('listenPort: 1179'));
    await etcd.put(entries);
    const s = new EtcdCalicoSource({ endpoints: [etcd.endpoint], node: 'a' });
    source = s;
    let changes = 0;
    s.watch(() => changes++);
    const first = await s.load();
    const read = s.status().revision ?? 0;
    expect(read).toBe(await etcd.revision());

    // a changed value: the revision follows, one change
    const writer = etcd.writer();
    const [poolKey, poolValue] = entries.find(([k]) => k.includes('/ippools/')) ?? ['', ''];
    const changed = poolValue.replace('10.244.0.0/16', '10.245.0.0/16');
    const r1 = Number((await writer.put(poolKey).value(changed).exec()).header.revision);
    await until(`revision ${r1}`, () => (s.status().revision ?? 0) >= r1);
    await until('the change', () => changes === 1);
    expect(s.current()).not.toBe(first);

    // the same value again: etcd makes a new revision, the state is that of it too; no change
    const same = s.current();
    const r2 = Number((await writer.put(poolKey).value(changed).exec()).header.revision);
    expect(r2).toBeGreaterThan(r1);
    await until(`revision ${r2} (an unchanged value)`, () => (s.status().revision ?? 0) >= r2);
    expect(s.status().revision).toBe(r2);
    await new Promise((r) => setTimeout(r, 50));
    expect(changes).toBe(1);
    expect(s.current()).toBe(same);
  });
});
