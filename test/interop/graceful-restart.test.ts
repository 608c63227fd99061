// Graceful restart against BIRD 2 (RFC 4724, tern as receiving speaker and reflector): BIRD is killed
// (no NOTIFICATION) and started again with -R (graceful-restart recovery, as Calico runs it) within its
// restart time. Its routes must stay at another client (GoBGP, polled through its CLI) the whole time,
// and the route BIRD no longer announces must go once BIRD has sent End-of-RIB.

import { expect, it } from 'vitest';
import {
  type BgpDaemon,
  describeInterop,
  sleep,
  startBird2,
  startGoBgp,
  useInteropHarness,
  waitEstablished,
  waitRoute,
} from './harness/index.js';
import { TernDaemon } from './tern-daemon.js';

const AS = 64512;
const LAN = '10.77.40';
const RR = `${LAN}.1`;
const BIRD = `${LAN}.2`;
const GOBGP = `${LAN}.3`;
const KEPT = '10.140.2.0/24';
const DROPPED = '10.140.3.0/24';

describeInterop('graceful restart: tern keeps a restarting BIRD’s routes', () => {
  const harness = useInteropHarness('tern-gr');

  it('keeps them through the restart and sweeps what End-of-RIB did not renew', async () => {
    const h = harness();
    const [ternNs, birdNs, gobgpNs] = await Promise.all([
      h.createNetns('tern'),
      h.createNetns('bird'),
      h.createNetns('gobgp'),
    ]);
    await h.lan('lan', [
      { ns: ternNs!, addr: RR },
      { ns: birdNs!, addr: BIRD },
      { ns: gobgpNs!, addr: GOBGP },
    ]);
    const tern = await new TernDaemon(h, ternNs!, 'tern-gr').start(`
routerId: ${RR}
asn: ${AS}
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
families: [ipv4-unicast]
reflector: true
peers:
  - { name: bird, address: ${BIRD}, asn: ${AS}, rrClient: true }
  - { name: gobgp, address: ${GOBGP}, asn: ${AS}, rrClient: true }
`);
    const birdOptions = (name: string, routes: string[], args: string[] = []) => ({
      name,
      routerId: BIRD,
      localAs: AS,
      gracefulRestart: true,
      neighbors: [{ address: RR, as: AS }],
      routes: routes.map((prefix) => ({ prefix })),
      args,
    });
    const bird: BgpDaemon = await startBird2(h, birdNs!, birdOptions('bird', [KEPT, DROPPED]));
    const gobgp = await startGoBgp(h, gobgpNs!, {
      name: 'gobgp',
      routerId: GOBGP,
      localAs: AS,
      neighbors: [{ address: RR, as: AS }],
    });
    await waitEstablished(bird, RR, 40_000);
    await waitEstablished(gobgp, RR, 40_000);
    await waitRoute(gobgp, 'ipv4', KEPT, { nextHop: BIRD });
    await waitRoute(gobgp, 'ipv4', DROPPED, { nextHop: BIRD });

    // BIRD crashes (SIGKILL: the kernel closes the connection, no NOTIFICATION) and comes back in
    // graceful-restart recovery, no longer announcing DROPPED
    bird.kill('SIGKILL');
    await sleep(300);
    const again = await startBird2(h, birdNs!, birdOptions('bird-again', [KEPT], ['-R']));

    const deadline = Date.now() + 60_000;
    let polls = 0;
    for (;;) {
      const routes = await gobgp.routes('ipv4');
      polls++;
      expect(
        routes.some((r) => r.prefix === KEPT),
        `${KEPT} present at GoBGP throughout the restart (poll ${polls})`,
      ).toBe(true);
      const established = (await again.neighborState(RR)) === 'Established';
      if (established && !routes.some((r) => r.prefix === DROPPED)) break;
      if (Date.now() > deadline)
        throw new Error(`${DROPPED} was not swept within 60 s: ${JSON.stringify(routes)}`);
      await sleep(200);
    }
    expect(polls).toBeGreaterThan(1);
    const held = await tern.routes('bird');
    expect(held.map((r) => r.prefix)).toEqual([KEPT]);
  });

  it('tern restarting gracefully: BIRD 2 and GoBGP keep tern’s routes throughout', async () => {
    const h = harness();
    const [ternNs, birdNs, gobgpNs] = await Promise.all([
      h.createNetns('tern2'),
      h.createNetns('bird2'),
      h.createNetns('gobgp2'),
    ]);
    const lan = '10.77.41';
    await h.lan('lan2', [
      { ns: ternNs!, addr: `${lan}.1` },
      { ns: birdNs!, addr: `${lan}.2` },
      { ns: gobgpNs!, addr: `${lan}.3` },
    ]);
    const config = `
routerId: ${lan}.1
asn: ${AS}
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
families: [ipv4-unicast]
gracefulRestart: { enabled: true, restartTime: 60 }
originate: [10.244.9.0/24]
peers:
  - { name: bird, address: ${lan}.2, asn: ${AS} }
  - { name: gobgp, address: ${lan}.3, asn: ${AS} }
`;
    const first = await new TernDaemon(h, ternNs!, 'tern-first').start(config);
    const helper = (name: string, host: number) => ({
      name,
      routerId: `${lan}.${host}`,
      localAs: AS,
      gracefulRestart: true,
      neighbors: [{ address: `${lan}.1`, as: AS }],
    });
    const bird = await startBird2(h, birdNs!, helper('bird-helper', 2));
    const gobgp = await startGoBgp(h, gobgpNs!, helper('gobgp-helper', 3));
    for (const d of [bird, gobgp])
      await waitRoute(d, 'ipv4', '10.244.9.0/24', { nextHop: `${lan}.1` }, 40_000);

    await first.gracefulStop();
    const second = await new TernDaemon(h, ternNs!, 'tern-second').start(config, ['--graceful']);
    // poll both helpers until tern is back, has sent its table and a little longer
    const until = Date.now() + 60_000;
    let backSince: number | undefined;
    let polls = 0;
    for (;;) {
      for (const d of [bird, gobgp]) {
        const routes = await d.routes('ipv4');
        expect(
          routes.some((r) => r.prefix === '10.244.9.0/24'),
          `${d.kind} still has tern's route (poll ${polls})`,
        ).toBe(true);
      }
      polls++;
      const protocols = await second.protocols().catch(() => []);
      const up =
        protocols.length === 2 &&
        protocols.every((p) => p.state === 'Established' && p.prefixesAdvertised === 1);
      if (up && backSince === undefined) backSince = Date.now();
      if (backSince !== undefined && Date.now() - backSince > 2000) break;
      if (Date.now() > until) throw new Error(`tern did not come back: ${JSON.stringify(protocols)}`);
      await sleep(200);
    }
    expect(polls).toBeGreaterThan(3);
    // the second run really was a restarting speaker (`--graceful` reached it): it deferred its routes
    expect(second.log()).toContain("graceful restart: waiting for the peers' End-of-RIB");
    expect(first.log()).not.toContain("graceful restart: waiting for the peers' End-of-RIB");
  });
});
