// What the FIB writer is asked to program for a prefix's selected routes (src/fib-sync/policy.ts), and
// what the Loc-RIB tells its subscribers: every change of a prefix's selected set, including a second
// equal-cost path that appears or goes while the best stays the same.

import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT } from '../../src/bgp/messages/context.js';
import { IPV4_UNICAST, Origin } from '../../src/bgp/messages/iana.js';
import { parseIpv4Prefix } from '../../src/bgp/messages/prefix.js';
import { AdjRibIn } from '../../src/bgp/rib/adj-rib-in.js';
import { type RibPeer, Router, type SelectedChange } from '../../src/bgp/rib/router.js';
import { LOCAL_PEER_ID, type PeerInfo, type Route } from '../../src/bgp/rib/types.js';
import type { PoolConfig } from '../../src/config/types.js';
import { fibRouteFor } from '../../src/fib-sync/policy.js';
import { silentLogger } from '../../src/log.js';
import { peer } from '../helpers/peers.js';

function pool(cidr: string, encapsulation: PoolConfig['encapsulation'], crossSubnet = false): PoolConfig {
  return {
    cidr,
    family: 'ipv4-unicast',
    encapsulation,
    crossSubnet,
    blockSize: 26,
    disableBgpExport: false,
    programRoutes: encapsulation !== 'vxlan',
  };
}

const POOLS = [
  pool('10.244.0.0/16', 'none'),
  pool('10.245.0.0/16', 'ipip'),
  pool('10.246.0.0/16', 'vxlan'),
  pool('10.247.0.0/16', 'ipip', true),
];
const policy = { pools: POOLS, onLocalSubnet: (a: string) => a.startsWith('10.0.0.') };

function route(prefix: string, nextHop: string, from = peer('n2', '10.0.0.2')): Route {
  return {
    family: IPV4_UNICAST,
    prefix: parseIpv4Prefix(prefix)!,
    peer: from,
    attributes: { origin: Origin.IGP, asPath: [], nextHop, localPref: 100 },
  };
}

const fib = (prefix: string, selected: Route[], blackholes = new Set<string>()) =>
  fibRouteFor(IPV4_UNICAST, parseIpv4Prefix(prefix)!, selected, policy, blackholes);

describe("fibRouteFor (Calico's kernel programming)", () => {
  it('writes plain routes outside pools and in pools without encapsulation', () => {
    expect(fib('10.244.1.0/26', [route('10.244.1.0/26', '10.0.0.2')])).toEqual({
      prefix: '10.244.1.0/26',
      family: 'ipv4-unicast',
      nextHops: [{ address: '10.0.0.2' }],
    });
    expect(fib('192.168.0.0/24', [route('192.168.0.0/24', '10.9.0.2')])).toMatchObject({
      nextHops: [{ address: '10.9.0.2' }],
    });
  });

  it('sends IP-in-IP pools through tunl0 onlink, CrossSubnet only off the local subnet', () => {
    expect(fib('10.245.1.0/26', [route('10.245.1.0/26', '10.0.0.2')])).toMatchObject({
      nextHops: [{ address: '10.0.0.2', device: 'tunl0', onlink: true }],
    });
    expect(fib('10.247.1.0/26', [route('10.247.1.0/26', '10.0.0.2')])).toMatchObject({
      nextHops: [{ address: '10.0.0.2' }],
    });
    expect(fib('10.247.1.0/26', [route('10.247.1.0/26', '10.9.0.2')])).toMatchObject({
      nextHops: [{ address: '10.9.0.2', device: 'tunl0', onlink: true }],
    });
  });

  it('leaves VXLAN pools and pools Felix programs alone, and our own routes; writes blackholes asked for', () => {
    expect(fib('10.246.1.0/26', [route('10.246.1.0/26', '10.0.0.2')])).toBeUndefined();
    const felix = { ...policy, pools: [{ ...pool('10.245.0.0/16', 'ipip'), programRoutes: false }] };
    const p = parseIpv4Prefix('10.245.1.0/26')!;
    expect(
      fibRouteFor(IPV4_UNICAST, p, [route('10.245.1.0/26', '10.0.0.2')], felix, new Set()),
    ).toBeUndefined();
    const own = route('10.244.9.0/26', '0.0.0.0', peer(LOCAL_PEER_ID, '10.0.0.1'));
    expect(fib('10.244.9.0/26', [own])).toBeUndefined();
    expect(fib('10.244.9.0/26', [own], new Set(['10.244.9.0/26']))).toEqual({
      prefix: '10.244.9.0/26',
      family: 'ipv4-unicast',
      type: 'blackhole',
    });
    expect(fib('10.244.9.0/26', [])).toBeUndefined();
  });

  it('merges equal-cost paths into one route, each next hop once', () => {
    const r = fib('10.244.5.0/26', [
      route('10.244.5.0/26', '10.0.0.2'),
      route('10.244.5.0/26', '10.0.0.3', peer('n3', '10.0.0.3')),
      route('10.244.5.0/26', '10.0.0.3', peer('n4', '10.0.0.4')),
    ]);
    expect(r).toMatchObject({ nextHops: [{ address: '10.0.0.2' }, { address: '10.0.0.3' }] });
  });
});

describe('Router subscribers (the selected set)', () => {
  it('hear a second equal-cost path appear and go while the best stays', () => {
    const router = new Router('10.0.0.1', 64512, undefined, silentLogger(), new Set(), undefined, () => {});
    const heard: SelectedChange[][] = [];
    router.subscribe((c) => heard.push([...c]));
    const p = parseIpv4Prefix('10.244.5.0/26')!;
    const a = peer('n2', '10.0.0.2');
    const b = peer('n3', '10.0.0.3');
    const update = (nextHop: string, withdraw = false) => ({
      type: 'update' as const,
      withdrawn: { afi: 1 as const, prefixes: withdraw ? [p] : [] },
      attributes: withdraw ? {} : { origin: Origin.IGP, asPath: [], nextHop, localPref: 100 },
      nlri: { afi: 1 as const, prefixes: withdraw ? [] : [p] },
    });
    const session = (info: PeerInfo): RibPeer => ({
      info,
      adjRibIn: new AdjRibIn(),
      exportContext: { to: info, nextHopSelf: 'auto', localNextHop: {}, addPathSend: false },
      families: [IPV4_UNICAST],
      addPathSend: new Set(),
      sendContext: DEFAULT_CONTEXT,
      receiveChunk() {},
      initialTableSent() {},
    });
    const [sa, sb] = [session(a), session(b)];
    router.receive(sa, update('10.0.0.2'));
    router.receive(sb, update('10.0.0.3'));
    router.receive(sb, update('', true));
    const sizes = heard.map((h) => h.find((c) => c.prefix === p)?.selected.length);
    expect(sizes).toEqual([1, 2, 1]);
  });
});
