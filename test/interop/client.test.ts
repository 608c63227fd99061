// tern as a route-reflector client of BIRD 2 (a Calico node behind a global peer that reflects): tern and
// GoBGP each peer only with BIRD; each gets the other's route reflected, with the original next hop,
// ORIGINATOR_ID and CLUSTER_LIST.

import { expect, it } from 'vitest';
import { controlRequest } from '../../src/cli/show.js';
import {
  describeInterop,
  startBird2,
  startGoBgp,
  useInteropHarness,
  waitEstablished,
  waitFor,
  waitRoute,
} from './harness/index.js';
import { TernDaemon } from './tern-daemon.js';

const AS = 64512;
const LAN = '10.77.50';

describeInterop('tern as a client of a BIRD 2 route reflector', () => {
  const harness = useInteropHarness('tern-client');

  it('sends its routes through BIRD and learns the other client’s, reflected', async () => {
    const h = harness();
    const [rrNs, ternNs, gobgpNs] = await Promise.all([
      h.createNetns('rr'),
      h.createNetns('tern'),
      h.createNetns('gobgp'),
    ]);
    await h.lan('lan', [
      { ns: rrNs!, addr: `${LAN}.1` },
      { ns: ternNs!, addr: `${LAN}.2` },
      { ns: gobgpNs!, addr: `${LAN}.3` },
    ]);
    const rr = await startBird2(h, rrNs!, {
      name: 'bird-rr',
      routerId: `${LAN}.1`,
      localAs: AS,
      clusterId: '10.77.50.250',
      neighbors: [
        { address: `${LAN}.2`, as: AS, rrClient: true, name: 'tern' },
        { address: `${LAN}.3`, as: AS, rrClient: true, name: 'gobgp' },
      ],
    });
    const tern = await new TernDaemon(h, ternNs!, 'tern').start(`
routerId: ${LAN}.2
asn: ${AS}
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
families: [ipv4-unicast]
originate: [10.244.2.0/26]
peers:
  - { name: Global_10_77_50_1, address: ${LAN}.1, asn: ${AS} }
`);
    const gobgp = await startGoBgp(h, gobgpNs!, {
      name: 'gobgp',
      routerId: `${LAN}.3`,
      localAs: AS,
      neighbors: [{ address: `${LAN}.1`, as: AS }],
      routes: [{ prefix: '10.244.3.0/26' }],
    });
    await waitEstablished(rr, `${LAN}.2`, 40_000);
    await waitEstablished(gobgp, `${LAN}.1`, 40_000);
    expect(await waitRoute(gobgp, 'ipv4', '10.244.2.0/26')).toMatchObject({
      nextHop: `${LAN}.2`,
      originatorId: `${LAN}.2`,
      clusterList: ['10.77.50.250'],
    });
    const routes = await waitFor(
      () =>
        controlRequest(tern.socket, 'show routes', { peer: 'Global_10_77_50_1' }) as Promise<
          Record<string, unknown>[]
        >,
      {
        what: 'tern: the reflected route',
        until: (rs) => rs.some((r) => r.prefix === '10.244.3.0/26'),
        describe: (rs) => JSON.stringify(rs),
        timeoutMs: 30_000,
      },
    );
    expect(routes.find((r) => r.prefix === '10.244.3.0/26')).toMatchObject({
      nextHop: `${LAN}.3`,
      originatorId: `${LAN}.3`,
      clusterList: ['10.77.50.250'],
    });
  });
});
