// Next-hop resolution against a real kernel routing table, in a network namespace this test makes:
// connected, local and blackholed destinations, and one with no route at all.

import { expect, it } from 'vitest';
import { ipRouteGet } from '../../src/fib-sync/next-hop-resolver.js';
import { describeInterop, useInteropHarness } from './harness/index.js';

describeInterop('next-hop resolution through the kernel (ip route get)', () => {
  const harness = useInteropHarness('next-hop');

  it('tells reachable next hops from unreachable ones', async () => {
    const h = harness();
    const a = await h.createNetns('a');
    const b = await h.createNetns('b');
    await h.link(a, '10.77.60.1', b, '10.77.60.2');
    await h.ip(a, ['route', 'add', 'blackhole', '10.99.0.0/16']);
    const lookup = ipRouteGet(a.name);
    expect(await lookup('10.77.60.2')).toBe(true); // connected
    expect(await lookup('127.0.0.5')).toBe(true); // local
    expect(await lookup('fd77:60::2')).toBe(true); // connected, IPv6
    expect(await lookup('10.1.2.3')).toBe(false); // no route (no default in the namespace)
    expect(await lookup('10.99.1.1')).toBe(false); // blackhole
    expect(await lookup('fd99::1')).toBe(false);
  });
});
