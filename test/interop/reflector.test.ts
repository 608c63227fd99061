// tern as a route reflector (RFC 4456) for real clients: BIRD 2, BIRD 1.6, GoBGP and FRR on one LAN, all
// AS 64512, each peering only with tern. Every client must see every other client's route with the
// original next hop, ORIGINATOR_ID and CLUSTER_LIST, read through its own CLI; a withdrawal at one
// client must disappear everywhere.

import { expect, it } from 'vitest';
import {
  type BgpDaemon,
  describeInterop,
  startBird1,
  startBird2,
  startFrr,
  startGoBgp,
  useInteropHarness,
  waitEstablished,
  waitFor,
  waitNoRoute,
  waitRoute,
} from './harness/index.js';
import { TernDaemon } from './tern-daemon.js';

const AS = 64512;
const LAN = '10.77.30';
const RR = `${LAN}.1`;
const CLUSTER = '10.77.30.250';
const CLIENTS = [
  { key: 'bird2', host: 2, start: startBird2 },
  { key: 'gobgp', host: 3, start: startGoBgp },
  { key: 'frr', host: 4, start: startFrr },
  { key: 'bird1', host: 5, start: startBird1 },
] as const;

const addr = (host: number): string => `${LAN}.${host}`;
const SHARED = '10.131.0.0/24';
const route = (host: number): string => `10.130.${host}.0/24`;

describeInterop('tern as route reflector for BIRD 2, BIRD 1.6, GoBGP and FRR', () => {
  const harness = useInteropHarness('tern-rr');
  let tern: TernDaemon;
  const clients = new Map<string, BgpDaemon>();

  it('every client gets every other client’s route, reflected with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const h = harness();
    const ternNs = await h.createNetns('tern');
    const nss = await Promise.all(CLIENTS.map((c) => h.createNetns(c.key)));
    await h.lan('lan', [
      { ns: ternNs, addr: RR },
      ...CLIENTS.map((c, i) => ({ ns: nss[i]!, addr: addr(c.host) })),
    ]);
    tern = await new TernDaemon(h, ternNs, 'tern-rr').start(`
routerId: ${RR}
asn: ${AS}
listen: { address: 0.0.0.0, port: 179 }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
families: [ipv4-unicast]
gracefulRestart: { enabled: false }
reflector: { clusterId: ${CLUSTER} }
peers:
${CLIENTS.map((c) => `  - { name: ${c.key}, address: ${addr(c.host)}, asn: ${AS}, rrClient: true${c.key === 'bird2' ? ', addPath: send' : ''} }`).join('\n')}
`);
    await Promise.all(
      CLIENTS.map(async (c, i) => {
        clients.set(
          c.key,
          await c.start(h, nss[i]!, {
            name: c.key,
            routerId: addr(c.host),
            localAs: AS,
            // BIRD 2 takes several paths per prefix (ADD-PATH receive, RFC 7911)
            neighbors: [{ address: RR, as: AS, ...(c.key === 'bird2' ? { addPath: 'rx' as const } : {}) }],
            routes: [
              { prefix: route(c.host), communities: [`${AS}:${c.host}`] },
              // GoBGP and FRR both announce one more prefix
              ...(c.key === 'gobgp' || c.key === 'frr' ? [{ prefix: SHARED }] : []),
            ],
          }),
        );
      }),
    );
    for (const c of CLIENTS) await waitEstablished(clients.get(c.key)!, RR, 40_000);

    for (const to of CLIENTS) {
      const d = clients.get(to.key)!;
      for (const from of CLIENTS) {
        if (from === to) continue;
        const r = await waitRoute(d, 'ipv4', route(from.host), {}, 30_000);
        expect(r, `${to.key} sees ${from.key}'s route`).toMatchObject({
          nextHop: addr(from.host),
          asPath: [],
          localPref: 100,
          communities: [`${AS}:${from.host}`],
          originatorId: addr(from.host),
          clusterList: [CLUSTER],
          peer: RR,
        });
      }
    }
  });

  it('with ADD-PATH, both paths of a prefix announced by two clients reach a third (BIRD 2)', async () => {
    const bird2 = clients.get('bird2')!;
    const paths = await waitFor(() => bird2.routes('ipv4'), {
      what: `BIRD 2: two paths for ${SHARED}`,
      until: (rs) => rs.filter((r) => r.prefix === SHARED).length === 2,
      describe: (rs) => JSON.stringify(rs.filter((r) => r.prefix === SHARED)),
      timeoutMs: 30_000,
    });
    const shared = paths.filter((r) => r.prefix === SHARED);
    expect(shared.map((r) => r.nextHop).sort()).toEqual([addr(3), addr(4)]);
    for (const r of shared) expect(r).toMatchObject({ originatorId: r.nextHop, clusterList: [CLUSTER] });
    // a client without ADD-PATH (BIRD 1.6) sees one path
    const bird1 = await waitRoute(clients.get('bird1')!, 'ipv4', SHARED);
    expect([addr(3), addr(4)]).toContain(bird1.nextHop);
    expect((await clients.get('bird1')!.routes('ipv4')).filter((r) => r.prefix === SHARED)).toHaveLength(1);
  });

  it('a withdrawal at one client disappears at every other', async () => {
    const gobgp = clients.get('gobgp')!;
    await gobgp.withdraw([route(3)]);
    for (const c of CLIENTS) {
      if (c.key === 'gobgp') continue;
      await waitNoRoute(clients.get(c.key)!, 'ipv4', route(3), 30_000);
    }
    // and tern no longer holds it from anyone
    const held = await waitFor(() => tern.routes('gobgp'), {
      what: 'tern: gobgp route gone',
      until: (rs) => !rs.some((r) => r.prefix === route(3)),
      describe: (rs) => JSON.stringify(rs),
      timeoutMs: 10_000,
    });
    expect(held.map((r) => r.prefix)).not.toContain(route(3));
  });
});
