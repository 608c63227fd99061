// A namespace standing for a node, for the FIB writer's netns tests: `eth0` (10.0.0.1/24) on a veth
// whose other end `eth0p` stays in the same namespace, both up, no IPv6 link-local addresses.

import type { InteropHarness, Netns } from '../interop/harness/index.js';

export async function vethNode(h: InteropHarness, label: string): Promise<Netns> {
  const ns = await h.createNetns(label);
  await h.ip(ns, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
  for (const dev of ['eth0', 'eth0p']) {
    await h.ip(ns, ['link', 'set', dev, 'addrgenmode', 'none']);
    await h.ip(ns, ['link', 'set', dev, 'up']);
  }
  await h.ip(ns, ['addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
  return ns;
}
