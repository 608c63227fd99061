// Calico's etcd key layout and values (src/config/calico/etcd-model.ts), without an etcd: which keys are
// read, how a v3 resource value and a block affinity become resources, and what is said of broken ones.

import { describe, expect, it } from 'vitest';
import {
  etcdEntryReader,
  etcdPrefixes,
  normalizePrefix,
  resourceKey,
} from '../../src/config/calico/etcd-model.js';
import { formatCalicoIssue } from '../../src/config/calico/index.js';

const read = etcdEntryReader('/calico');
const errors = (key: string, value: string): string[] =>
  (read(key, value)?.errors ?? []).map(formatCalicoIssue);

describe('the etcd key layout', () => {
  it("reads the kinds the BGP syncer lists, and this host's block affinities only", () => {
    expect(etcdPrefixes('/calico', 'node-1')).toEqual([
      '/calico/resources/v3/projectcalico.org/bgpconfigurations/',
      '/calico/resources/v3/projectcalico.org/bgppeers/',
      '/calico/resources/v3/projectcalico.org/nodes/',
      '/calico/resources/v3/projectcalico.org/ippools/',
      '/calico/resources/v3/projectcalico.org/bgpfilters/',
      '/calico/ipam/v2/host/node-1/',
    ]);
    expect(normalizePrefix('calico/')).toBe('/calico');
    expect(resourceKey('/x/calico/', 'bgppeers', 'tor')).toBe(
      '/x/calico/resources/v3/projectcalico.org/bgppeers/tor',
    );
  });

  it('a v3 resource value is read as the same resource in a file', () => {
    const r = read(
      '/calico/resources/v3/projectcalico.org/bgppeers/rack1-tor',
      JSON.stringify({
        kind: 'BGPPeer',
        apiVersion: 'projectcalico.org/v3',
        metadata: { name: 'rack1-tor', uid: 'u', creationTimestamp: '2025-03-04T09:12:41Z' },
        spec: {
          nodeSelector: "rack == 'rack-1'",
          peerIP: '10.1.0.2',
          asNumber: 65101,
          maxRestartTime: '2m0s',
        },
      }),
    );
    expect(r?.errors).toEqual([]);
    expect(r?.resources).toMatchObject([
      {
        kind: 'BGPPeer',
        name: 'rack1-tor',
        origin: { file: '/calico/resources/v3/projectcalico.org/bgppeers/rack1-tor', document: 0 },
        spec: { asNumber: 65101, maxRestartTime: 120, peerIP: { host: '10.1.0.2' } },
      },
    ]);
  });

  it('a block affinity: host and block from the key, state and deleted from the value', () => {
    const r = read(
      '/calico/ipam/v2/host/node-1/ipv6/block/fd00:10:244::-122',
      '{"state":"pendingDeletion","deleted":false}',
    );
    expect(r?.errors).toEqual([]);
    expect(r?.resources).toMatchObject([
      {
        kind: 'BlockAffinity',
        node: 'node-1',
        type: 'host',
        state: 'pendingDeletion',
        deleted: false,
        cidr: { prefix: 'fd00:10:244::/122', family: 6, length: 122 },
      },
    ]);
    // an empty value is {} (older IPAM wrote none): implicitly confirmed
    expect(read('/calico/ipam/v2/host/node-1/ipv4/block/10.244.0.0-26', '')?.resources).toMatchObject([
      { kind: 'BlockAffinity', state: '', deleted: false, cidr: { prefix: '10.244.0.0/26' } },
    ]);
    // fields Go's json.Unmarshal ignores are ignored
    expect(
      read('/calico/ipam/v2/host/n/ipv4/block/10.244.0.0-26', '{"state":"confirmed","x":1}')?.errors,
    ).toEqual([]);
  });

  it('skips keys outside the layout, as Calico does', () => {
    expect(read('/calico/resources/v3/projectcalico.org/felixconfigurations/default', '{}')).toBeUndefined();
    expect(read('/calico/ipam/v2/host/node-1/ipv4/block', '{}')).toBeUndefined();
    expect(read('/calico/ipam/v2/virtual/node-1/ipv4/block/10.0.0.0-26', '{}')).toBeUndefined();
    expect(read('/other/resources/v3/projectcalico.org/nodes/a', '{}')).toBeUndefined();
  });

  it('names the key of a broken value', () => {
    const k = '/calico/resources/v3/projectcalico.org/nodes/a';
    expect(errors(k, '{')).toEqual([expect.stringMatching(new RegExp(`^${k}: the value is not JSON: `))]);
    expect(
      errors(k, '{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"a"}}'),
    ).toEqual([`${k}: the value is a "BGPPeer", but the key is one of Nodes`]);
    expect(
      errors(
        k,
        '{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"a"},"spec":{"bgp":{"ipv4Address":"10.0.0.300/24"}}}',
      ),
    ).toEqual([
      `${k} (Node a): spec.bgp.ipv4Address: expected an IPv4 address, with its subnet length (10.0.0.1/24) or without, got "10.0.0.300/24"`,
    ]);
    const b = '/calico/ipam/v2/host/a/ipv4/block/10.244.0.0-26';
    expect(errors(b, '{"deleted":"no"}')).toEqual([`${b}: deleted: expected true or false, got "no"`]);
    expect(errors(b, '[]')).toEqual([`${b}: expected a block affinity, {"state": ..., "deleted": ...}`]);
    expect(errors('/calico/ipam/v2/host/a/ipv6/block/10.244.0.0-26', '{}')).toEqual([
      '/calico/ipam/v2/host/a/ipv6/block/10.244.0.0-26: an IPv4 block under ipv6',
    ]);
    expect(errors('/calico/ipam/v2/host/a/ipv4/block/10.244.0.1-26', '{}')).toEqual([
      expect.stringMatching(/spec\.cidr: expected the block CIDR .* with no host bits set/),
    ]);
  });
});
