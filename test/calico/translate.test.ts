// The topology rules, as Calico's confd applies them (confd/pkg/backends/calico/bgp_processor.go and
// client.go), on plain resources: the mesh and its passive side, global and node-scoped BGPPeers,
// peerSelector, route reflectors and their clients, per-node AS, dual stack, names, timers, blocks, and
// what is refused.

import { describe, expect, it } from 'vitest';
import { hashRouterId } from '../../src/config/calico/index.js';
import {
  affinity,
  bgpConfig,
  doc,
  errorsOf,
  names,
  node,
  peer,
  pool,
  render,
  warningsOf,
} from './helpers.js';

const meshOff = bgpConfig('nodeToNodeMeshEnabled: false');

describe('node-to-node mesh', () => {
  const cluster = [
    node('n9', { v4: '10.0.0.9/24' }),
    node('n10', { v4: '10.0.0.10/24' }),
    node('n2', { v4: '10.0.0.2/24' }),
  ].join('');

  it('peers with every other node that has an address of the family, by default', () => {
    const d = doc(cluster, 'n9');
    expect(names(d)).toEqual(['Mesh_10_0_0_10', 'Mesh_10_0_0_2']);
    expect(d.asn).toBe(64512);
    expect(d.routerId).toBe('10.0.0.9');
    expect(d.peers[0]).toMatchObject({ address: '10.0.0.10', asn: 64512, localAddress: '10.0.0.9' });
  });

  it('makes passive the peer whose address is greater as a string, not as a number', () => {
    // "10.0.0.10" < "10.0.0.9" as strings although 10 > 9
    const on9 = doc(cluster, 'n9').peers.find((p) => p.address === '10.0.0.10')!;
    const on10 = doc(cluster, 'n10').peers.find((p) => p.address === '10.0.0.9')!;
    expect(on9.passive).toBeUndefined(); // n9 connects to n10 ...
    expect(on10.passive).toBe(true); // ... and n10 waits for it
    // "10.0.0.2" > "10.0.0.10" as strings: n10 waits for n2 too
    expect(doc(cluster, 'n10').peers.find((p) => p.address === '10.0.0.2')!.passive).toBe(true);
    expect(doc(cluster, 'n2').peers.find((p) => p.address === '10.0.0.10')!.passive).toBeUndefined();
  });

  it('exactly one side of every pair is passive', () => {
    const all = ['n9', 'n10', 'n2'].map((n) => ({ self: n, d: doc(cluster, n) }));
    for (const a of all) {
      for (const p of a.d.peers) {
        const other = all.find((x) => x.d.routerId === p.address)!;
        const back = other.d.peers.find((q) => q.address === a.d.routerId)!;
        expect((p.passive === true) !== (back.passive === true), `${a.self} <-> ${other.self}`).toBe(true);
      }
    }
  });

  it('is off with nodeToNodeMeshEnabled: false', () => {
    expect(doc([meshOff, cluster], 'n9').peers).toEqual([]);
  });

  it('takes the peer node AS, else this node AS (confd uses config.ASNumber, not the global one)', () => {
    const d = doc([node('a', { v4: '10.0.0.1/24', as: 65001 }), node('b', { v4: '10.0.0.2/24' })], 'a');
    expect(d.asn).toBe(65001);
    expect(d.peers[0]).toMatchObject({ name: 'Mesh_10_0_0_2', asn: 65001 });
    const e = doc(
      [
        node('a', { v4: '10.0.0.1/24' }),
        node('b', { v4: '10.0.0.2/24', as: 65002 }),
        bgpConfig('asNumber: 64600'),
      ],
      'a',
    );
    expect(e.asn).toBe(64600);
    expect(e.peers[0]!.asn).toBe(65002);
  });

  it('reaches a node at its listenPort (node.<name> BGPConfiguration, else the global one)', () => {
    const d = doc(
      [
        node('a', { v4: '10.0.0.1/24' }),
        node('b', { v4: '10.0.0.2/24' }),
        node('c', { v4: '10.0.0.3/24' }),
        bgpConfig('listenPort: 1179'),
        bgpConfig('listenPort: 2179', 'node.b'),
      ],
      'a',
    );
    expect(d.listen).toEqual({ address: '0.0.0.0', port: 1179 });
    expect(d.peers.map((p) => [p.name, p.port])).toEqual([
      ['Mesh_10_0_0_2', 2179],
      ['Mesh_10_0_0_3', 1179],
    ]);
    expect(
      doc([node('a', { v4: '10.0.0.1/24' }), bgpConfig('listenPort: 2179', 'node.a')], 'a').listen.port,
    ).toBe(2179);
  });

  it('sets the graceful restart time from nodeMeshMaxRestartTime (a Go duration, rounded)', () => {
    const d = doc([cluster, bgpConfig('nodeMeshMaxRestartTime: 1m30.4s')], 'n9');
    expect(d.peers.every((p) => p.gracefulRestart?.restartTime === 90)).toBe(true);
    expect(errorsOf([cluster, bgpConfig('nodeMeshMaxRestartTime: 2h')], 'n9')).toEqual([
      'a.yaml: document 4 (BGPConfiguration default): spec.nodeMeshMaxRestartTime: 7200 s for Mesh_10_0_0_10: the graceful restart time is 1..4095 s (the 12-bit Restart Time of RFC 4724)',
      'a.yaml: document 4 (BGPConfiguration default): spec.nodeMeshMaxRestartTime: 7200 s for Mesh_10_0_0_2: the graceful restart time is 1..4095 s (the 12-bit Restart Time of RFC 4724)',
    ]);
  });

  it('keeps BIRD defaults that Calico keeps: hold time 240, connect retry 5, error wait 5,30, graceful restart', () => {
    const d = doc(cluster, 'n9');
    expect(d).toMatchObject({
      holdTime: 240,
      connectRetryTime: 5,
      errorWaitTime: [5, 30],
      addPath: 'both',
      gracefulRestart: { enabled: true, restartTime: 120 },
      multipath: true,
      nextHopResolution: 'kernel',
    });
    expect(render(cluster, 'n9').config.peers[0]).toMatchObject({ holdTime: 240, connectRetryTime: 5 });
  });

  it('refuses nodeMeshPassword', () => {
    const e = errorsOf([cluster, bgpConfig('nodeMeshPassword: {secretKeyRef: {name: bgp, key: pw}}')], 'n9');
    expect(e).toEqual([
      'a.yaml: document 4 (BGPConfiguration default): spec.nodeMeshPassword: TCP MD5 signatures (RFC 2385) for the node-to-node mesh cannot be set from Node.js (no TCP_MD5SIG socket option); remove nodeMeshPassword or keep BIRD (tern does not silently ignore it)',
    ]);
  });
});

describe('global and node-scoped BGPPeers', () => {
  const nodes = [
    node('a', { v4: '10.0.0.1/24' }, { rack: 'r1' }),
    node('b', { v4: '10.0.0.2/24' }, { rack: 'r2' }),
  ].join('');

  it('gives a global BGPPeer to every node (Global_<ip>)', () => {
    const r = [meshOff, nodes, peer('tor', 'peerIP: 10.0.0.9\nasNumber: 65000')];
    for (const n of ['a', 'b']) {
      expect(doc(r, n).peers).toEqual([
        {
          name: 'Global_10_0_0_9',
          address: '10.0.0.9',
          asn: 65000,
          localAddress: n === 'a' ? '10.0.0.1' : '10.0.0.2',
          families: ['ipv4-unicast'],
        },
      ]);
    }
  });

  it('gives a node-scoped BGPPeer to the nodes it names or selects (Node_<ip>, with _port_<p>)', () => {
    const r = [
      meshOff,
      nodes,
      peer('one', 'node: a\npeerIP: 10.0.0.9:1179\nasNumber: 65000'),
      peer('rack2', "nodeSelector: rack == 'r2'\npeerIP: '[fd00::9]:1179'\nasNumber: 65000"),
    ];
    expect(names(doc(r, 'a'))).toEqual(['Node_10_0_0_9_port_1179']);
    expect(doc(r, 'a').peers[0]).toMatchObject({ address: '10.0.0.9', port: 1179 });
    // b has no IPv6 address: no IPv6 peers (bird6: "IPv6 disabled on this node")
    expect(names(doc(r, 'b'))).toEqual([]);
    const v6 = [meshOff, node('b', { v4: '10.0.0.2/24', v6: 'fd00::2/64' }, { rack: 'r2' }), r[3]!];
    expect(doc(v6, 'b').peers).toEqual([
      {
        name: 'Node_fd00__9_port_1179',
        address: 'fd00::9',
        port: 1179,
        asn: 65000,
        localAddress: 'fd00::2',
        families: ['ipv6-unicast'],
      },
    ]);
  });

  it('lets the global peering win over a node-specific one to the same address and port', () => {
    const r = [
      meshOff,
      nodes,
      peer('global-tor', 'peerIP: 10.0.0.9\nasNumber: 65000'),
      peer('node-tor', 'node: a\npeerIP: 10.0.0.9\nasNumber: 65001'),
    ];
    const out = render(r, 'a');
    expect(out.document.peers.map((p) => [p.name, p.asn])).toEqual([['Global_10_0_0_9', 65000]]);
    expect(out.warnings.map((w) => w.message)).toContainEqual(
      'its peering with 10.0.0.9 is dropped: the global peering with the same address and port (BGPPeer global-tor) wins, as in Calico',
    );
    // another port is another peering
    const other = [...r.slice(0, 3), peer('node-tor', 'node: a\npeerIP: 10.0.0.9:1179\nasNumber: 65001')];
    expect(names(doc(other, 'a'))).toEqual(['Global_10_0_0_9', 'Node_10_0_0_9_port_1179']);
  });

  it('sets localAsn, next hop, source address and timers as confd does', () => {
    const r = [
      meshOff,
      nodes,
      peer(
        'tor',
        'node: a\npeerIP: 10.0.0.9\nasNumber: 65000\nlocalASNumber: 64999\nnextHopMode: Self\nsourceAddress: None\nkeepaliveTime: 10s\nmaxRestartTime: 300s',
      ),
      peer('ebgp-keep', 'node: a\npeerIP: 10.0.0.8\nasNumber: 65000\nkeepOriginalNextHop: true'),
      peer('ibgp-keep', 'node: a\npeerIP: 10.0.0.7\nasNumber: 64512\nkeepOriginalNextHop: true'),
      peer('keep', 'node: a\npeerIP: 10.0.0.6\nasNumber: 64512\nnextHopMode: Keep'),
    ];
    const d = doc(r, 'a');
    expect(d.peers).toEqual([
      {
        name: 'Node_10_0_0_6',
        address: '10.0.0.6',
        asn: 64512,
        localAddress: '10.0.0.1',
        nextHopSelf: 'keep',
        families: ['ipv4-unicast'],
      },
      // keepOriginalNextHop applies to eBGP peers only
      {
        name: 'Node_10_0_0_7',
        address: '10.0.0.7',
        asn: 64512,
        localAddress: '10.0.0.1',
        families: ['ipv4-unicast'],
      },
      {
        name: 'Node_10_0_0_8',
        address: '10.0.0.8',
        asn: 65000,
        localAddress: '10.0.0.1',
        nextHopSelf: 'keep',
        families: ['ipv4-unicast'],
      },
      {
        name: 'Node_10_0_0_9',
        address: '10.0.0.9',
        asn: 65000,
        localAsn: 64999,
        nextHopSelf: 'self',
        gracefulRestart: { restartTime: 300 },
        keepaliveTime: 10,
        families: ['ipv4-unicast'],
      },
    ]);
  });

  it('refuses a keepalive time above a third of the hold time (240 s)', () => {
    const e = errorsOf(
      [meshOff, nodes, peer('tor', 'peerIP: 10.0.0.9\nasNumber: 65000\nkeepaliveTime: 2m')],
      'a',
    );
    expect(e).toEqual([
      "a.yaml: document 4 (BGPPeer tor): spec.keepaliveTime: 120 s for Global_10_0_0_9: expected 1..80 s (at most a third of the hold time, 240 s, BIRD's default that Calico keeps; RFC 4271 4.4)",
    ]);
  });

  it('makes a global peering with a Calico node passive by the mesh rule', () => {
    const r = [meshOff, nodes, peer('to-b', 'peerIP: 10.0.0.2\nasNumber: 64512')];
    expect(doc(r, 'a').peers[0]).toMatchObject({ name: 'Global_10_0_0_2', passive: true });
    // b itself: the peering is with its own address, left out
    expect(names(doc(r, 'b'))).toEqual(['Node_10_0_0_1']);
  });

  it('adds reverse peerings: a node a BGPPeer points at peers back, unless reversePeering: Manual', () => {
    const r = [meshOff, nodes, peer('a-to-b', 'node: a\npeerIP: 10.0.0.2\nasNumber: 64512')];
    expect(names(doc(r, 'a'))).toEqual(['Node_10_0_0_2']);
    expect(names(doc(r, 'b'))).toEqual(['Node_10_0_0_1']);
    const manual = [
      meshOff,
      nodes,
      peer('a-to-b', 'node: a\npeerIP: 10.0.0.2\nasNumber: 64512\nreversePeering: Manual'),
    ];
    expect(names(doc(manual, 'b'))).toEqual([]);
    // the AS must match the node's for the reverse peering
    const other = [meshOff, nodes, peer('a-to-b', 'node: a\npeerIP: 10.0.0.2\nasNumber: 65000')];
    expect(names(doc(other, 'b'))).toEqual([]);
  });
});

describe('peerSelector', () => {
  it('peers with the selected nodes at their addresses, AS numbers and listen ports', () => {
    const r = [
      meshOff,
      node('a', { v4: '10.0.0.1/24', v6: 'fd00::1/64' }, { group: 'one' }),
      node('b', { v4: '10.0.0.2/24', v6: 'fd00::2/64', as: 65002 }, { group: 'two' }),
      node('c', { v4: '10.0.0.3/24' }, { group: 'two' }),
      bgpConfig('listenPort: 500', 'node.c'),
      peer('one-to-two', "nodeSelector: group == 'one'\npeerSelector: group == 'two'"),
    ];
    expect(doc(r, 'a').peers.map((p) => [p.name, p.address, p.port, p.asn, p.families[0]])).toEqual([
      ['Node_10_0_0_2', '10.0.0.2', undefined, 65002, 'ipv4-unicast'],
      ['Node_10_0_0_3_port_500', '10.0.0.3', 500, 64512, 'ipv4-unicast'],
      ['Node_fd00__2', 'fd00::2', undefined, 65002, 'ipv6-unicast'],
    ]);
    // and the selected nodes peer back (reverse peering), at a's address and AS
    expect(doc(r, 'b').peers.map((p) => [p.name, p.asn])).toEqual([
      ['Node_10_0_0_1', 64512],
      ['Node_fd00__1', 64512],
    ]);
  });
});

describe('route reflectors', () => {
  const r = [
    meshOff,
    node('rr1', { v4: '10.0.0.250/24', rr: '244.0.0.1' }, { 'route-reflector': 'true' }),
    node('rr2', { v4: '10.0.0.251/24', rr: '244.0.0.1' }, { 'route-reflector': 'true' }),
    node('rr3', { v4: '10.0.0.252/24', rr: '244.0.0.2' }, { 'route-reflector': 'true' }),
    node('n1', { v4: '10.0.0.11/24' }),
    node('n2', { v4: '10.0.0.12/24', as: 65001 }),
    peer('to-rrs', "nodeSelector: all()\npeerSelector: route-reflector == 'true'"),
    peer('upstream', "nodeSelector: route-reflector == 'true'\npeerIP: 10.0.0.1\nasNumber: 64512"),
  ];

  it('makes same-AS peers without the cluster id clients, and sets reflector.clusterId', () => {
    const d = doc(r, 'rr1');
    expect(d.reflector).toEqual({ clusterId: '244.0.0.1' });
    expect(d.peers.map((p) => [p.name, p.asn, p.rrClient === true])).toEqual([
      ['Node_10_0_0_1', 64512, true], // a same-AS peer at an address: no cluster id, so a client (as confd)
      ['Node_10_0_0_11', 64512, true],
      ['Node_10_0_0_12', 65001, false], // another AS: eBGP, never a client
      ['Node_10_0_0_251', 64512, false], // same cluster id: a fellow reflector
      ['Node_10_0_0_252', 64512, true], // another cluster id: a client
    ]);
    expect(render(r, 'rr1').config.reflector).toEqual({ clusterId: '244.0.0.1' });
  });

  it('keeps reflectors out of the mesh, on both sides', () => {
    const mesh = [
      node('rr1', { v4: '10.0.0.250/24', rr: '244.0.0.1' }),
      node('n1', { v4: '10.0.0.11/24' }),
      node('n2', { v4: '10.0.0.12/24' }),
    ];
    expect(names(doc(mesh, 'rr1'))).toEqual([]);
    expect(names(doc(mesh, 'n1'))).toEqual(['Mesh_10_0_0_12']);
  });

  it('a client peers with every reflector, not as a reflector itself', () => {
    const d = doc(r, 'n1');
    expect(d.reflector).toBeUndefined();
    expect(names(d)).toEqual(['Node_10_0_0_250', 'Node_10_0_0_251', 'Node_10_0_0_252']);
    expect(d.peers.every((p) => p.rrClient === undefined)).toBe(true);
  });
});

describe('per-rack AS', () => {
  it('runs each node in its rack AS, eBGP to its ToR', () => {
    const r = [
      meshOff,
      node('r1n1', { v4: '10.1.0.11/24', as: 65001 }, { rack: 'rack-1' }),
      node('r2n1', { v4: '10.2.0.11/24', as: 65002 }, { rack: 'rack-2' }),
      peer('tor1', "nodeSelector: rack == 'rack-1'\npeerIP: 10.1.0.1\nasNumber: 65101"),
      peer('tor2', "nodeSelector: rack == 'rack-2'\npeerIP: 10.2.0.1\nasNumber: 65102"),
    ];
    const a = render(r, 'r1n1');
    expect(a.document.asn).toBe(65001);
    expect(a.document.peers.map((p) => [p.name, p.asn])).toEqual([['Node_10_1_0_1', 65101]]);
    expect(a.config.peers[0]).toMatchObject({ ibgp: false, localAsn: 65001 });
    expect(doc(r, 'r2n1').peers.map((p) => [p.name, p.asn])).toEqual([['Node_10_2_0_1', 65102]]);
  });
});

describe('dual stack', () => {
  it('gives IPv6 mesh peers, IPv6 blocks and a listener for both families', () => {
    const r = [
      node('a', { v4: '10.0.0.1/24', v6: 'fd00::1/64' }),
      node('b', { v4: '10.0.0.2/24', v6: 'FD00:0::2/64' }),
      node('c', { v4: '10.0.0.3/24' }),
      pool('v6', 'cidr: fd00:10:244::/48\nblockSize: 122'),
      affinity('a-v6', 'a', 'fd00:10:244::/122'),
      affinity('a-v4', 'a', '10.244.1.0/26'),
    ];
    const d = doc(r, 'a');
    expect(d.listen).toEqual({ address: '::', port: 179 });
    expect(d.nextHop).toEqual({ ipv4: '10.0.0.1', ipv6: 'fd00::1' });
    expect(d.peers.map((p) => [p.name, p.address, p.localAddress, p.families])).toEqual([
      ['Mesh_10_0_0_2', '10.0.0.2', '10.0.0.1', ['ipv4-unicast']],
      ['Mesh_10_0_0_3', '10.0.0.3', '10.0.0.1', ['ipv4-unicast']],
      ['Mesh_fd00__2', 'fd00::2', 'fd00::1', ['ipv6-unicast']],
    ]);
    expect(d.originate.map((o) => o.prefix)).toEqual(['10.244.1.0/26', 'fd00:10:244::/122']);
    expect(d.pools).toEqual([{ cidr: 'fd00:10:244::/48', encapsulation: 'none', blockSize: 122 }]);
  });

  it('an IPv6-only node needs a router id', () => {
    const r = [node('a', { v6: 'fd00::1/64' }), node('b', { v6: 'fd00::2/64' })];
    expect(errorsOf(r, 'a')).toEqual([
      'a.yaml: document 1 (Node a): spec.bgp.ipv4Address: this node has no IPv4 address, which Calico takes as the BGP router id: set one, or give the router id (`--router-id <IPv4 address>` or `--router-id hash`, as CALICO_ROUTER_ID does for calico-node)',
    ]);
    expect(doc(r, { node: 'a', routerId: '192.0.2.1' })).toMatchObject({
      routerId: '192.0.2.1',
      listen: { address: '::' },
    });
    expect(doc(r, { node: 'a', routerId: 'hash' }).routerId).toBe(hashRouterId('a'));
  });
});

describe('router id and listener', () => {
  it("hashes the node name as confd's template.HashToIPv4 does", () => {
    // the router id of Calico's mesh/hash golden case (CALICO_ROUTER_ID=hash, node kube-master)
    expect(hashRouterId('kube-master')).toBe('25.79.212.8');
  });

  it('binds the node address with bindMode NodeIP, and refuses it on a dual-stack node', () => {
    const one = [bgpConfig('bindMode: NodeIP\nlistenPort: 1179'), node('a', { v4: '10.0.0.1/24' })];
    expect(doc(one, 'a').listen).toEqual({ address: '10.0.0.1', port: 1179 });
    const two = [bgpConfig('bindMode: NodeIP'), node('a', { v4: '10.0.0.1/24', v6: 'fd00::1/64' })];
    expect(errorsOf(two, 'a')).toEqual([
      'a.yaml: document 1 (BGPConfiguration default): spec.bindMode: NodeIP makes BIRD listen on 10.0.0.1 and BIRD6 on fd00::1; tern listens on one address (native `listen: {address}`) and cannot bind both: remove bindMode, or give the node one family',
    ]);
  });

  it('names the node that is missing', () => {
    expect(errorsOf([node('a', { v4: '10.0.0.1/24' })], 'b')).toEqual([
      'no Node named "b" among the resources (nodes: a)',
    ]);
  });
});

describe('blocks and pools', () => {
  const base = [
    node('a', { v4: '10.0.0.1/24' }),
    pool('p1', 'cidr: 10.244.0.0/16\nipipMode: Always'),
    pool('p2', 'cidr: 10.245.0.0/16\nvxlanMode: CrossSubnet'),
    pool('p3', 'cidr: 10.246.0.0/16\ndisableBGPExport: true\nblockSize: 28'),
    pool('p4', 'cidr: 10.247.0.0/16\nipipMode: CrossSubnet\ndisabled: true'),
  ];

  it("originates the node's confirmed blocks, as bird_aggr.cfg's static routes and calico_aggr", () => {
    const d = doc(
      [
        ...base,
        affinity('confirmed', 'a', '10.244.1.0/26'),
        affinity('implicit', 'a', '10.244.2.0/26', '""'),
        affinity('pending', 'a', '10.244.3.0/26', 'pending'),
        affinity('deleting-in-pool', 'a', '10.244.4.0/26', 'pendingDeletion'),
        affinity('deleting-outside', 'a', '10.99.0.0/26', 'pendingDeletion'),
        affinity('deleted', 'a', '10.244.5.0/26', 'confirmed', 'deleted: true'),
        affinity('slash32', 'a', '10.244.6.1/32'),
        affinity('no-export', 'a', '10.246.0.0/28'),
        affinity('other-node', 'b', '10.244.7.0/26'),
        affinity('outside-pools', 'a', '10.98.0.0/26'),
      ],
      'a',
    );
    expect(d.originate.map((o) => o.prefix)).toEqual([
      '10.244.1.0/26',
      '10.244.2.0/26',
      '10.244.4.0/26',
      '10.98.0.0/26',
    ]);
    // confd's export filter: LOCAL_PREF = 2147483647 - the normal route priority (1024)
    // and, as BIRD's static route, written to the kernel as a blackhole
    expect(d.originate[0]).toEqual({ prefix: '10.244.1.0/26', localPref: 2147482623, blackhole: true });
  });

  it('carries the pools over: encapsulation, CrossSubnet, block size, BGP export', () => {
    expect(doc(base, 'a').pools).toEqual([
      { cidr: '10.244.0.0/16', encapsulation: 'ipip', blockSize: 26, programRoutes: false },
      { cidr: '10.245.0.0/16', encapsulation: 'vxlan', crossSubnet: true, blockSize: 26 },
      { cidr: '10.246.0.0/16', encapsulation: 'none', blockSize: 28, disableBgpExport: true },
      {
        cidr: '10.247.0.0/16',
        encapsulation: 'ipip',
        crossSubnet: true,
        blockSize: 26,
        programRoutes: false,
      },
    ]);
    expect(render(base, 'a').config.pools.map((p) => p.cidr)).toHaveLength(4);
  });

  it('leaves the pools Calico leaves to Felix to Felix (programClusterRoutes)', () => {
    // the default, EnabledNoEncapOnly: BIRD writes only the routes of pools without encapsulation
    const pools = (extra: string[]) =>
      doc([...base, ...extra], 'a').pools.map((p) => [p.cidr, p.programRoutes]);
    expect(pools([])).toEqual([
      ['10.244.0.0/16', false],
      ['10.245.0.0/16', undefined],
      ['10.246.0.0/16', undefined],
      ['10.247.0.0/16', false],
    ]);
    expect(pools([bgpConfig('programClusterRoutes: Enabled')]).every(([, w]) => w === undefined)).toBe(true);
    expect(doc(base, { node: 'a', kernelWrite: false }).kernel).toEqual({ write: false });
  });

  it('refuses overlapping pools, naming the IPPool', () => {
    const e = errorsOf(
      [
        node('a', { v4: '10.0.0.1/24' }),
        pool('big', 'cidr: 10.244.0.0/16'),
        pool('small', 'cidr: 10.244.0.0/24'),
      ],
      'a',
    );
    expect(e).toEqual([
      'a.yaml: document 3 (IPPool small): spec: translated to pools[1].cidr: 10.244.0.0/24 overlaps pools[0] (10.244.0.0/16); IP pools must not overlap',
    ]);
  });
});

describe('service ranges and communities', () => {
  const nodes = node('a', { v4: '10.0.0.1/24' });

  it('originates the service ranges from every node not excluded; the export filter adds their communities', () => {
    const cfg = bgpConfig(`
serviceClusterIPs: [{cidr: 10.96.0.0/12}]
serviceExternalIPs: [{cidr: 192.0.2.0/24}, {cidr: 192.0.2.77/32}]
serviceLoadBalancerIPs: [{cidr: 198.51.100.0/24}]
communities: [{name: svc, value: "64512:300"}]
prefixAdvertisements:
  - {cidr: 192.0.2.0/24, communities: [svc, "64512:301", no-such]}
ipv4NormalRoutePriority: 512`);
    const out = render([nodes, cfg], 'a');
    expect(out.document.originate).toEqual([
      { prefix: '10.96.0.0/12', localPref: 2147483135 },
      { prefix: '192.0.2.0/24', localPref: 2147483135 },
      { prefix: '198.51.100.0/24', localPref: 2147483135 },
    ]);
    // Calico's order: communities, then the static routes (every configured range, the /32 included)
    expect(out.document.exportFilter).toEqual([
      { prefix: '192.0.2.0/24', action: 'addCommunities', communities: ['64512:300', '64512:301'] },
      { prefix: '10.96.0.0/12', action: 'accept' },
      { prefix: '192.0.2.0/24', action: 'accept' },
      { prefix: '192.0.2.77/32', action: 'accept' },
      { prefix: '198.51.100.0/24', action: 'accept' },
      { action: 'reject' },
    ]);
    expect(out.config.exportFilter[0]!.communities).toEqual(
      [(64512 << 16) + 300, (64512 << 16) + 301].map((c) => c >>> 0),
    );
    const w = out.warnings.map((x) => `${x.path}: ${x.message}`).join('\n');
    expect(w).toMatch(
      /spec\.prefixAdvertisements\[0\]\.communities\[2\]: there is no community named "no-such"/,
    );
    expect(w).toMatch(/spec\.serviceExternalIPs: tern announces the configured ranges/);
    const excluded = node(
      'a',
      { v4: '10.0.0.1/24' },
      { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' },
    );
    expect(doc([excluded, cfg], 'a').originate).toEqual([]);
    expect(doc([excluded, cfg], 'a').exportFilter.filter((r) => r.action === 'accept')).toEqual([]);
    const noAggregation = bgpConfig(
      'serviceLoadBalancerIPs: [{cidr: 198.51.100.0/24}]\nserviceLoadBalancerAggregation: Disabled',
    );
    expect(doc([nodes, noAggregation], 'a').originate).toEqual([]);
  });

  it('adds the communities of a prefixAdvertisement to every route exported inside it; node.<name> overrides', () => {
    const r = [
      nodes,
      affinity('b1', 'a', '10.244.1.0/26'),
      bgpConfig('prefixAdvertisements: [{cidr: 10.244.0.0/16, communities: ["64512:100"]}]'),
    ];
    const adds = (d: ReturnType<typeof doc>) => d.exportFilter.filter((x) => x.action === 'addCommunities');
    expect(doc(r, 'a').originate[0]!.communities).toBeUndefined();
    expect(adds(doc(r, 'a'))).toEqual([
      { prefix: '10.244.0.0/16', action: 'addCommunities', communities: ['64512:100'] },
    ]);
    const own = bgpConfig(
      'prefixAdvertisements: [{cidr: 10.244.1.0/24, communities: ["64512:200"]}]',
      'node.a',
    );
    expect(adds(doc([...r, own], 'a'))).toEqual([
      { prefix: '10.244.1.0/24', action: 'addCommunities', communities: ['64512:200'] },
    ]);
    expect(adds(doc([...r, bgpConfig('prefixAdvertisements: []', 'node.a')], 'a'))).toEqual([]);
  });

  it("gives Calico's export filter in its order: disabled pools, communities, blocks, services, pools, reject", () => {
    const r = [
      nodes,
      pool('p1', 'cidr: 10.244.0.0/16'),
      pool('off', 'cidr: 10.245.0.0/16\ndisableBGPExport: true'),
      affinity('b1', 'a', '10.244.1.0/26'),
      affinity('b2', 'a', '10.244.2.0/26', 'pendingDeletion'),
      affinity('b3', 'b', '10.244.3.0/26'),
      bgpConfig(
        'serviceClusterIPs: [{cidr: 10.96.0.0/12}]\nprefixAdvertisements: [{cidr: 10.244.0.0/16, communities: ["64512:100"]}]',
      ),
    ];
    expect(doc(r, 'a').exportFilter).toEqual([
      { prefix: '10.245.0.0/16', action: 'reject' },
      { prefix: '10.244.0.0/16', action: 'addCommunities', communities: ['64512:100'] },
      // calico_aggr has no rule for a block being deleted, nor for another node's
      { prefix: '10.244.1.0/26', match: 'exact', action: 'accept' },
      { prefix: '10.244.1.0/26', match: 'longer', action: 'reject' },
      { prefix: '10.96.0.0/12', action: 'accept' },
      { prefix: '10.244.0.0/16', action: 'accept' },
      { action: 'reject' },
    ]);
  });

  it('refuses large communities and communities out of range', () => {
    const cfg = bgpConfig(
      'prefixAdvertisements: [{cidr: 10.244.0.0/16, communities: ["64512:1:2", "70000:1"]}]',
    );
    expect(errorsOf([nodes, cfg], 'a')).toEqual([
      "a.yaml: document 2 (BGPConfiguration default): spec.prefixAdvertisements[0].communities[0]: 64512:1:2 is a large community (RFC 8092); tern's export filter adds RFC 1997 communities only, so it cannot add it as BIRD would",
      'a.yaml: document 2 (BGPConfiguration default): spec.prefixAdvertisements[0].communities[1]: 70000:1: each half of a community is 0..65535',
    ]);
  });
});

describe('numAllowedLocalASNumbers', () => {
  it("becomes the peer's allowOwnAs (BIRD's `allow local as N`); 0 or absent: none", () => {
    const nodes = [meshOff, node('a', { v4: '10.0.0.1/24' })];
    const peerOf = (spec: string) =>
      doc([...nodes, peer('p', `node: a\npeerIP: 10.0.0.9\nasNumber: 65000\n${spec}`)], 'a').peers[0]!;
    expect(peerOf('numAllowedLocalASNumbers: 2').allowOwnAs).toBe(2);
    expect(peerOf('numAllowedLocalASNumbers: 0').allowOwnAs).toBeUndefined();
    expect(peerOf('').allowOwnAs).toBeUndefined();
    const out = render(
      [...nodes, peer('p', 'node: a\npeerIP: 10.0.0.9\nasNumber: 65000\nnumAllowedLocalASNumbers: 3')],
      'a',
    );
    expect(out.config.peers[0]!.allowOwnAs).toBe(3);
  });
});

describe('refused fields', () => {
  const nodes = [meshOff, node('a', { v4: '10.0.0.1/24' }), node('b', { v4: '10.0.0.2/24' })];
  const refusal = (spec: string): string[] =>
    errorsOf([...nodes, peer('p', `node: a\npeerIP: 10.0.0.9\nasNumber: 65000\n${spec}`)], 'a');

  it('password, TTL security, reachableBy, BGPFilter', () => {
    expect(refusal('password: {secretKeyRef: {name: bgp, key: pw}}')).toEqual([
      'a.yaml: document 4 (BGPPeer p): spec.password: TCP MD5 signatures (RFC 2385) cannot be set from Node.js (no TCP_MD5SIG socket option) (peering Node_10_0_0_9); remove the field, or keep BIRD on this node (tern does not silently ignore it)',
    ]);
    expect(refusal('ttlSecurity: 1')[0]).toMatch(
      /spec\.ttlSecurity: TTL security \(GTSM, RFC 5082\) needs the IP_MINTTL socket option/,
    );
    expect(refusal('reachableBy: 10.0.0.254')[0]).toMatch(
      /spec\.reachableBy: .*\(10\.0\.0\.9\/32 via 10\.0\.0\.254 for Node_10_0_0_9\)/,
    );
    const filter = `---
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: {name: f}
spec:
  exportV4: [{action: Reject, matchOperator: In, cidr: 10.0.0.0/8}]
`;
    const withFilter = errorsOf(
      [...nodes, filter, peer('p', 'node: a\npeerIP: 10.0.0.9\nasNumber: 65000\nfilters: [f]')],
      'a',
    );
    expect(withFilter[0]).toMatch(
      /\(BGPPeer p\): spec\.filters: BGPFilter f has IPv4 rules; tern's export filter is one for all peers and it has no per-peer import or export filters yet/,
    );
    // a filter without rules for the family, or one that does not exist, changes nothing in Calico either
    const v6filter = filter.replace('exportV4', 'exportV6');
    expect(
      errorsOf(
        [...nodes, v6filter, peer('p', 'node: a\npeerIP: 10.0.0.9\nasNumber: 65000\nfilters: [f]')],
        'a',
      ),
    ).toEqual([]);
    expect(
      warningsOf([...nodes, peer('p', 'node: a\npeerIP: 10.0.0.9\nasNumber: 65000\nfilters: [g]')], 'a'),
    ).toContain(
      'a.yaml: document 4 (BGPPeer p): spec.filters: there is no BGPFilter named "g": Calico leaves it out, and so does tern',
    );
  });

  it('only where the BGPPeer applies to this node', () => {
    const elsewhere = errorsOf(
      [...nodes, peer('p', 'node: b\npeerIP: 10.0.0.9\nasNumber: 65000\nttlSecurity: 1')],
      'a',
    );
    expect(elsewhere).toEqual([]);
  });

  it('localWorkloadSelector', () => {
    const e = errorsOf([...nodes, peer('lw', "localWorkloadSelector: app == 'vr'\nasNumber: 65000")], 'a');
    expect(e).toEqual([
      'a.yaml: document 4 (BGPPeer lw): spec.localWorkloadSelector: peering with local workloads (Local_Workload_ peers) needs the workload endpoints, which tern does not read; remove the BGPPeer, or keep BIRD on this node (tern does not silently ignore it)',
    ]);
  });

  it('a BGPPeer that duplicates a mesh session', () => {
    const e = errorsOf(
      [
        node('a', { v4: '10.0.0.1/24' }),
        node('b', { v4: '10.0.0.2/24' }),
        peer('to-b', 'node: a\npeerIP: 10.0.0.2\nasNumber: 64512'),
      ],
      'a',
    );
    expect(e).toEqual([
      'a.yaml: document 3 (BGPPeer to-b): spec: Node_10_0_0_2 and Mesh_10_0_0_2 are both sessions with 10.0.0.2 port 179: one neighbor, two sessions (disable the node-to-node mesh with nodeToNodeMeshEnabled: false when nodes peer through BGPPeers, or remove one of them)',
    ]);
  });
});

describe('notes', () => {
  it('explains fields whose effect tern reaches another way', () => {
    const w = warningsOf(
      [
        node('a', { v4: '10.0.0.1/24' }),
        bgpConfig('ignoredInterfaces: [eth9]\nlocalWorkloadPeeringIPV4: 169.254.0.1'),
        bgpConfig('asNumber: 65000', 'node.a'),
        bgpConfig('listenPort: 1', 'nodes.a'),
      ],
      'a',
    );
    expect(w).toEqual([
      'a.yaml: document 3 (BGPConfiguration node.a): spec.asNumber: Calico reads asNumber only from the `default` BGPConfiguration (per node: listenPort, prefixAdvertisements, communities, logSeverityScreen); tern ignores it here too',
      'a.yaml: document 4 (BGPConfiguration nodes.a): metadata.name: Calico ignores it (a BGPConfiguration is named `default` or `node.<node name>`), and so does tern',
      "a.yaml: document 2 (BGPConfiguration default): spec.ignoredInterfaces: it keeps interfaces out of BIRD's `protocol direct`; tern reads no interface (direct) routes at all, so there is nothing to leave out",
      'a.yaml: document 2 (BGPConfiguration default): spec.localWorkloadPeeringIPV4: used only by BGPPeers with localWorkloadSelector, which tern does not support: it changes nothing here',
      // the native validator's own warning, told against the translated field
      'translated to kernel.learn: no pools are configured: nothing is learned from the kernel (learning is limited to IP pools)',
    ]);
  });

  it('maps logSeverityScreen to log.level (per node first)', () => {
    expect(doc([node('a', { v4: '10.0.0.1/24' }), bgpConfig('logSeverityScreen: Warning')], 'a').log).toEqual(
      { level: 'warn' },
    );
    expect(
      doc(
        [
          node('a', { v4: '10.0.0.1/24' }),
          bgpConfig('logSeverityScreen: Warning'),
          bgpConfig('logSeverityScreen: Debug', 'node.a'),
        ],
        'a',
      ).log,
    ).toEqual({ level: 'debug' });
  });
});
