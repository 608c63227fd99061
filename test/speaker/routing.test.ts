// Three tern speakers on loopback (127.0.0.1 - 127.0.0.2 - 127.0.0.3, A and C not peered): routes
// pass through B by its Loc-RIB and export rules: eBGP transit, iBGP split horizon, route reflection.

import { describe, expect, it } from 'vitest';
import { IPV6_UNICAST } from '../../src/bgp/messages/iana.js';
import { formatIpv4Key } from '../../src/bgp/messages/prefix.js';
import { parseConfig } from '../../src/config/load.js';
import { controlHandler } from '../../src/control/views.js';
import { maxPrefixesCease, type Peer } from '../../src/speaker/peer.js';
import type { Speaker } from '../../src/speaker/speaker.js';
import { useSpeakers, waitFor } from '../helpers/speakers.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const A = '127.0.0.1';
const B = '127.0.0.2';
const C = '127.0.0.3';
const D = '127.0.0.4';
const ID = { [A]: '10.0.0.1', [B]: '10.0.0.2', [C]: '10.0.0.3', [D]: '10.0.0.4' } as const;

interface PeerSpec {
  readonly address: string;
  readonly asn: number;
  readonly rrClient?: boolean;
  readonly addPath?: 'receive' | 'send' | 'both';
  readonly extra?: string;
}

function config(self: string, asn: number, peers: PeerSpec[], extra = ''): string {
  return `
routerId: ${ID[self as keyof typeof ID]}
asn: ${asn}
listen: { address: ${self}, port: ${PORT} }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
families: [ipv4-unicast]
${extra}
peers:
${peers
  .map(
    (p) =>
      `  - { address: ${p.address}, port: ${PORT}, asn: ${p.asn}, localAddress: ${self}${p.rrClient ? ', rrClient: true' : ''}${p.addPath ? `, addPath: ${p.addPath}` : ''}${p.extra ? `, ${p.extra}` : ''} }`,
  )
  .join('\n')}
`;
}

const speakers = useSpeakers();
const speaker = speakers.start;
const running = speakers.running;

function peerOf(sp: Speaker, address: string): Peer {
  const p = [...sp.peers.values()].find((x) => x.config.address === address);
  if (!p) throw new Error(`no peer ${address}`);
  return p;
}

function routesFrom(p: Peer): string[] {
  return p.adjRibIn.routes().map((r) => formatIpv4Key(r.prefix as number));
}

describe('routing through a tern in the middle', () => {
  it('show routes --all: every candidate, the best marked with the decision step that chose it', async () => {
    await speaker(config(A, 65001, [{ address: B, asn: 65002 }], 'originate: [10.9.0.0/24]'));
    const b = await speaker(
      config(B, 65002, [
        { address: A, asn: 65001 },
        { address: C, asn: 65003 },
      ]),
    );
    // A (65001) and C (65003) both originate 10.9.0.0/24: at B equal LOCAL_PREF, AS path length and
    // ORIGIN, MED not compared (other neighbour AS), both eBGP, no CLUSTER_LIST: A's lower id wins
    await speaker(config(C, 65003, [{ address: B, asn: 65002 }], 'originate: [10.9.0.0/24]'));
    const show = controlHandler(b, 'test');
    const rows = await waitFor('two candidates at B', () => {
      const r = show({ command: 'show routes', args: { all: true } }) as Record<string, unknown>[];
      // (a route is eligible once the kernel has answered for its next hop)
      return r.length === 2 && r.some((x) => x.best === true) ? r : undefined;
    });
    expect(rows.map((r) => [r.prefix, r.from, r.best])).toEqual([
      ['10.9.0.0/24', `peer_${A.replace(/\./g, '_')}`, true],
      ['10.9.0.0/24', `peer_${C.replace(/\./g, '_')}`, false],
    ]);
    expect(rows[0]!.reason).toBe('router-id');
    // equal down to the router-id step: both are ECMP paths (multipath is on by default, as in Calico)
    expect(rows.map((r) => r.multipath)).toEqual([true, true]);
  });

  it('eBGP transit: AS path prepended hop by hop, next hop self; a withdrawal travels too', async () => {
    const a = await speaker(config(A, 65001, [{ address: B, asn: 65002 }], 'originate: [10.1.0.0/24]'));
    await speaker(
      config(B, 65002, [
        { address: A, asn: 65001 },
        { address: C, asn: 65003 },
      ]),
    );
    const c = await speaker(config(C, 65003, [{ address: B, asn: 65002 }]));
    const atC = peerOf(c, B);
    await waitFor('route at C', () => atC.adjRibIn.count() === 1);
    const r = atC.adjRibIn.routes()[0]!;
    expect(formatIpv4Key(r.prefix as number)).toBe('10.1.0.0/24');
    expect(r.attributes.asPath).toEqual([{ type: 2, asns: [65002, 65001] }]);
    expect(r.attributes.nextHop).toBe(B);
    // C's own table also came back to B, but not to C again (not sent back to its source)
    await a.reload(parseConfig(config(A, 65001, [{ address: B, asn: 65002 }], 'originate: []'), 'a.yaml'));
    await waitFor('withdrawal at C', () => atC.adjRibIn.count() === 0);
  });

  it('iBGP: B does not pass routes between its iBGP peers (split horizon)', async () => {
    await speaker(config(A, 64512, [{ address: B, asn: 64512 }], 'originate: [10.1.0.0/24]'));
    const b = await speaker(
      config(B, 64512, [
        { address: A, asn: 64512 },
        { address: C, asn: 64512 },
      ]),
    );
    const c = await speaker(config(C, 64512, [{ address: B, asn: 64512 }], 'originate: [10.3.0.0/24]'));
    await waitFor(
      'B learns both',
      () => peerOf(b, A).adjRibIn.count() === 1 && peerOf(b, C).adjRibIn.count() === 1,
    );
    await waitFor('C Established', () => peerOf(c, B).state === 'Established');
    // give B time to (wrongly) forward; nothing may arrive
    await new Promise((r) => setTimeout(r, 500));
    expect(routesFrom(peerOf(c, B))).toEqual([]);
  });

  it('route reflector: B reflects between its clients with ORIGINATOR_ID and CLUSTER_LIST, next hop kept', async () => {
    await speaker(config(A, 64512, [{ address: B, asn: 64512 }], 'originate: [10.1.0.0/24]'));
    await speaker(
      config(
        B,
        64512,
        [
          { address: A, asn: 64512, rrClient: true },
          { address: C, asn: 64512, rrClient: true },
        ],
        'reflector: { clusterId: 1.1.1.1 }',
      ),
    );
    const c = await speaker(config(C, 64512, [{ address: B, asn: 64512 }]));
    const atC = peerOf(c, B);
    await waitFor('reflected route at C', () => atC.adjRibIn.count() === 1);
    const r = atC.adjRibIn.routes()[0]!;
    expect(r.attributes).toMatchObject({
      nextHop: A,
      asPath: [],
      localPref: 100,
      originatorId: ID[A],
      clusterList: ['1.1.1.1'],
    });
  });

  it('ADD-PATH: a reflector sends every path to a client that receives several', async () => {
    await speaker(config(A, 64512, [{ address: B, asn: 64512 }], 'originate: [10.9.0.0/24]'));
    await speaker(config(C, 64512, [{ address: B, asn: 64512 }], 'originate: [10.9.0.0/24]'));
    await speaker(
      config(
        B,
        64512,
        [
          { address: A, asn: 64512, rrClient: true },
          { address: C, asn: 64512, rrClient: true },
          { address: D, asn: 64512, rrClient: true, addPath: 'send' },
        ],
        'reflector: true',
      ),
    );
    const d = await speaker(config(D, 64512, [{ address: B, asn: 64512, addPath: 'receive' }]));
    const atD = peerOf(d, B);
    await waitFor('two paths at D', () => atD.adjRibIn.count() === 2);
    const paths = atD.adjRibIn.routes();
    expect(paths.map((r) => formatIpv4Key(r.prefix as number))).toEqual(['10.9.0.0/24', '10.9.0.0/24']);
    expect(new Set(paths.map((r) => r.pathId)).size).toBe(2);
    expect(paths.map((r) => r.attributes.nextHop).sort()).toEqual([A, C]);
    // A stops originating: D keeps only C's path
    await running[0]!.reload(
      parseConfig(config(A, 64512, [{ address: B, asn: 64512 }], 'originate: []'), 'a.yaml'),
    );
    await waitFor('one path left at D', () => atD.adjRibIn.count() === 1);
    expect(atD.adjRibIn.routes()[0]!.attributes.nextHop).toBe(C);
  });

  it('maximum prefixes: the Cease carries AFI, SAFI and the limit (RFC 4486 4)', () => {
    const n = maxPrefixesCease(IPV6_UNICAST, 70000);
    expect([n.code, n.subcode, [...n.data]]).toEqual([6, 1, [0, 2, 1, 0, 1, 0x11, 0x70]]);
  });

  it('maximum prefixes: Cease 6/1 with AFI/SAFI and the limit, routes dropped, restart after the delay', async () => {
    const a = await speaker(
      config(A, 65001, [{ address: B, asn: 65002 }], 'originate: [10.1.0.0/24, 10.1.1.0/24, 10.1.2.0/24]'),
    );
    const b = await speaker(
      config(B, 65002, [{ address: A, asn: 65001, extra: 'maxPrefixes: { limit: 2, restartTime: 1 }' }]),
    );
    const atB = peerOf(b, A);
    await waitFor('B refuses', () => /Maximum Number of Prefixes Reached/.test(atB.lastError ?? ''));
    const atA = peerOf(a, B);
    await waitFor('A hears it', () =>
      /received NOTIFICATION Cease \/ Maximum Number of Prefixes Reached/.test(atA.lastError ?? ''),
    );
    expect(b.router.locRib.size).toBe(0);
    // after the restart delay B tries again (and refuses again)
    await waitFor('second attempt', () => atA.received.notification >= 2, 10_000);
  });

  it('ADD-PATH with addPathLimit 1: only the best path goes out', async () => {
    await speaker(config(A, 64512, [{ address: B, asn: 64512 }], 'originate: [10.9.0.0/24]'));
    await speaker(config(C, 64512, [{ address: B, asn: 64512 }], 'originate: [10.9.0.0/24]'));
    const b = await speaker(
      config(
        B,
        64512,
        [
          { address: A, asn: 64512, rrClient: true },
          { address: C, asn: 64512, rrClient: true },
          { address: D, asn: 64512, rrClient: true, addPath: 'send', extra: 'addPathLimit: 1' },
        ],
        'reflector: true',
      ),
    );
    const d = await speaker(config(D, 64512, [{ address: B, asn: 64512, addPath: 'receive' }]));
    await waitFor('B has both', () => b.router.locRib.size === 2);
    const atD = peerOf(d, B);
    await waitFor('a path at D', () => atD.adjRibIn.count() === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(atD.adjRibIn.routes().map((r) => r.attributes.nextHop)).toEqual([A]); // A's lower router id
  });
});
