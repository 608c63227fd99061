// The interop harness proven on real daemons alone (no tern): BIRD 2 <-> GoBGP and FRR <-> BIRD 1.6
// over veth pairs between network namespaces, and route reflection on a bridged LAN (BIRD 2 reflecting
// between GoBGP, FRR and BIRD 1.6), every assertion read through each daemon's own CLI.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  type BgpDaemon,
  deriveV6,
  describeInterop,
  InteropHarness,
  parseBirdRoutes,
  startBird1,
  startBird2,
  startExaBgp,
  startFrr,
  startGoBgp,
  useInteropHarness,
  WaitTimeoutError,
  waitEstablished,
  waitFor,
  waitNoRoute,
  waitRoute,
} from './harness/index.js';

describe('interop harness helpers (no daemons)', () => {
  it('waitFor names what it awaited and the last observed state', async () => {
    let n = 0;
    const err = await waitFor(() => `state ${++n}`, {
      what: 'the impossible',
      until: (s) => s === 'never',
      timeoutMs: 200,
      intervalMs: 50,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(String(err)).toMatch(/waiting for the impossible; last observed: "state \d+"/);
    await expect(waitFor(() => 42, { what: 'x' })).resolves.toBe(42);
  });

  it('derives fd77:x::y from 10.77.x.y', () => {
    expect(deriveV6('10.77.12.200')).toBe('fd77:12::200');
    expect(() => deriveV6('192.0.2.1')).toThrow(/cannot derive/);
  });

  it('parses BIRD 2 and BIRD 1.6 `show route all`', () => {
    const bird2 = [
      'BIRD 2.0.12 ready.',
      'Table master4:',
      '10.200.1.0/24        unicast [peer_a 01:29:11.943] * (100) [AS65002?]',
      '\tvia 10.77.1.2 on eth0',
      '\tType: BGP univ',
      '\tBGP.as_path: 65002 {65003 65004}',
      '\tBGP.next_hop: 10.77.1.2',
      '\tBGP.community: (65000,1) (65000,2)',
      '                     unicast [peer_b 01:29:12.000 from 10.77.1.9] (100) [AS65005i]',
      '\tvia 10.77.1.3 on eth0',
      '\tBGP.as_path: ',
      '\tBGP.next_hop: 10.77.1.3 fe80::1',
      '\tBGP.originator_id: 10.77.1.3',
      '\tBGP.cluster_list: 10.77.1.9 10.77.1.8',
    ].join('\n');
    const r2 = parseBirdRoutes(bird2);
    expect(r2.map((r) => [r.prefix, r.protocol, r.best, r.from])).toEqual([
      ['10.200.1.0/24', 'peer_a', true, undefined],
      ['10.200.1.0/24', 'peer_b', false, '10.77.1.9'],
    ]);
    expect(r2[1]?.attrs.get('BGP.cluster_list')).toBe('10.77.1.9 10.77.1.8');
    const bird1 = [
      'BIRD 1.6.8 ready.',
      '10.201.1.0/24      via 10.77.1.2 on eth0 [peer_frr 01:29:21] * (100) [AS65002i]',
      '\tType: BGP unicast univ',
      '\tBGP.as_path: 65002',
      '10.101.1.0/24      blackhole [announce 01:29:21] * (200)',
      '\tType: static unicast univ',
    ].join('\n');
    expect(parseBirdRoutes(bird1).map((r) => [r.prefix, r.protocol, r.via, r.best])).toEqual([
      ['10.201.1.0/24', 'peer_frr', '10.77.1.2', true],
      ['10.101.1.0/24', 'announce', undefined, true],
    ]);
  });
});

describeInterop('interop harness on real daemons', () => {
  const harness = useInteropHarness('harness');

  it('BIRD 2 <-> GoBGP: eBGP, IPv4 and IPv6 over one IPv4 session', async () => {
    const h = harness();
    const nsBird = await h.createNetns('bird2');
    const nsGo = await h.createNetns('gobgp');
    await h.link(nsBird, '10.77.1.1', nsGo, '10.77.1.2');
    const both = ['ipv4', 'ipv6'] as ('ipv4' | 'ipv6')[];
    const [bird, gobgp] = await Promise.all([
      startBird2(h, nsBird, {
        name: 'bird2',
        routerId: '10.77.1.1',
        localAs: 65001,
        neighbors: [{ address: '10.77.1.2', as: 65002, families: both }],
        routes: [
          { prefix: '10.100.1.0/24', communities: ['65001:100'], med: 10 },
          { prefix: 'fd00:100:1::/48', nextHop: 'fd77:1::1' },
        ],
      }),
      startGoBgp(h, nsGo, {
        name: 'gobgp',
        routerId: '10.77.1.2',
        localAs: 65002,
        neighbors: [{ address: '10.77.1.1', as: 65001, families: both }],
        routes: [
          { prefix: '10.200.1.0/24', nextHop: '10.77.1.2', communities: ['65002:200'] },
          { prefix: 'fd00:200:1::/48', nextHop: 'fd77:1::2' },
        ],
      }),
    ]);
    expect(bird.version).toMatch(/^2\./);
    expect(gobgp.version).toMatch(/^\d/);
    await waitEstablished(bird, '10.77.1.2');
    await waitEstablished(gobgp, '10.77.1.1');

    expect(await waitRoute(gobgp, 'ipv4', '10.100.1.0/24')).toMatchObject({
      nextHop: '10.77.1.1',
      asPath: [65001],
      communities: ['65001:100'],
      med: 10,
      peer: '10.77.1.1',
      best: true,
    });
    expect(await waitRoute(gobgp, 'ipv6', 'fd00:100:1::/48')).toMatchObject({
      nextHop: 'fd77:1::1',
      asPath: [65001],
    });
    expect(await waitRoute(bird, 'ipv4', '10.200.1.0/24')).toMatchObject({
      nextHop: '10.77.1.2',
      asPath: [65002],
      communities: ['65002:200'],
      peer: '10.77.1.2',
      best: true,
    });
    expect(await waitRoute(bird, 'ipv6', 'fd00:200:1::/48')).toMatchObject({
      nextHop: 'fd77:1::2',
      asPath: [65002],
    });

    // runtime changes through each daemon's own mechanism (birdc configure, gobgp global rib add/del)
    await bird.announce([{ prefix: '10.100.2.0/24' }]);
    await gobgp.withdraw(['10.200.1.0/24']);
    await waitRoute(gobgp, 'ipv4', '10.100.2.0/24', { asPath: [65001] });
    await waitNoRoute(bird, 'ipv4', '10.200.1.0/24');
  });

  it('FRR <-> BIRD 1.6: eBGP, one session per family', async () => {
    const h = harness();
    const nsFrr = await h.createNetns('frr');
    const nsBird = await h.createNetns('bird1');
    await h.link(nsFrr, '10.77.2.1', nsBird, '10.77.2.2');
    const [frr, bird1] = await Promise.all([
      startFrr(h, nsFrr, {
        name: 'frr',
        routerId: '10.77.2.1',
        localAs: 65003,
        neighbors: [
          { address: '10.77.2.2', as: 65004 },
          { address: 'fd77:2::2', as: 65004 },
        ],
        routes: [
          { prefix: '10.103.1.0/24', med: 30, communities: ['65003:1', '65003:2'] },
          { prefix: 'fd00:103:1::/48' },
        ],
      }),
      startBird1(h, nsBird, {
        name: 'bird1',
        routerId: '10.77.2.2',
        localAs: 65004,
        neighbors: [
          { address: '10.77.2.1', as: 65003 },
          { address: 'fd77:2::1', as: 65003 },
        ],
        routes: [{ prefix: '10.104.1.0/24', communities: ['65004:7'] }, { prefix: 'fd00:104:1::/48' }],
      }),
    ]);
    expect(bird1.version).toMatch(/^1\.6/);
    expect(bird1.pids).toHaveLength(2); // bird and bird6
    expect(frr.version).toMatch(/^\d/);
    for (const a of ['10.77.2.2', 'fd77:2::2']) await waitEstablished(frr, a);
    for (const a of ['10.77.2.1', 'fd77:2::1']) await waitEstablished(bird1, a);

    expect(await waitRoute(bird1, 'ipv4', '10.103.1.0/24')).toMatchObject({
      nextHop: '10.77.2.1',
      asPath: [65003],
      med: 30,
      communities: ['65003:1', '65003:2'],
      peer: '10.77.2.1',
      best: true,
    });
    expect(await waitRoute(bird1, 'ipv6', 'fd00:103:1::/48')).toMatchObject({
      nextHop: 'fd77:2::1',
      asPath: [65003],
    });
    expect(await waitRoute(frr, 'ipv4', '10.104.1.0/24')).toMatchObject({
      nextHop: '10.77.2.2',
      asPath: [65004],
      communities: ['65004:7'],
      peer: '10.77.2.2',
      best: true,
    });
    expect(await waitRoute(frr, 'ipv6', 'fd00:104:1::/48')).toMatchObject({
      nextHop: 'fd77:2::2',
      asPath: [65004],
    });

    await frr.withdraw(['10.103.1.0/24']);
    await bird1.announce([{ prefix: 'fd00:104:2::/48' }]);
    await waitNoRoute(bird1, 'ipv4', '10.103.1.0/24');
    await waitRoute(frr, 'ipv6', 'fd00:104:2::/48', { asPath: [65004] });
  });

  it('route reflection on one LAN: BIRD 2 reflects between GoBGP, FRR, BIRD 1.6 and ExaBGP', async () => {
    const h = harness();
    const names = ['rr', 'gobgp', 'frr', 'bird1', 'exabgp'] as const;
    const ns = await Promise.all(names.map((n) => h.createNetns(n)));
    const addr = (i: number): string => `10.77.10.${i + 1}`;
    await h.lan(
      'lan',
      ns.map((n, i) => ({ ns: n, addr: addr(i) })),
    );
    const AS = 65010;
    const client = (i: number) => ({
      name: `${names[i]}-client`,
      routerId: addr(i),
      localAs: AS,
      neighbors: [{ address: addr(0), as: AS }],
      routes: [{ prefix: `10.110.${i}.0/24`, communities: [`${AS}:${i}`] }],
    });
    const daemons: BgpDaemon[] = await Promise.all([
      startBird2(h, ns[0]!, {
        name: 'bird2-rr',
        routerId: addr(0),
        localAs: AS,
        clusterId: '10.77.10.100',
        neighbors: [1, 2, 3, 4].map((i) => ({
          address: addr(i),
          as: AS,
          rrClient: true,
          name: `client${i}`,
        })),
      }),
      startGoBgp(h, ns[1]!, client(1)),
      startFrr(h, ns[2]!, client(2)),
      startBird1(h, ns[3]!, client(3)),
      startExaBgp(h, ns[4]!, client(4)),
    ]);
    const [rr, ...clients] = daemons as [BgpDaemon, ...BgpDaemon[]];
    for (const i of [1, 2, 3, 4]) await waitEstablished(rr, addr(i));
    for (const c of clients) await waitEstablished(c, addr(0));

    for (const [ci, c] of clients.entries()) {
      for (const from of [1, 2, 3, 4]) {
        if (from === ci + 1) continue;
        const r = await waitRoute(c, 'ipv4', `10.110.${from}.0/24`);
        expect(r, `${c.name} sees the route of ${names[from]}`).toMatchObject({
          nextHop: addr(from),
          asPath: [],
          localPref: 100,
          communities: [`${AS}:${from}`],
          originatorId: addr(from),
          clusterList: ['10.77.10.100'],
          peer: addr(0),
        });
      }
    }
    expect(await waitRoute(rr, 'ipv4', '10.110.2.0/24')).toMatchObject({ nextHop: addr(2), peer: addr(2) });
  });

  it('teardown stops every process and deletes every namespace', async () => {
    const h = new InteropHarness({ label: 'teardown-check' });
    const a = await h.createNetns('a');
    const b = await h.createNetns('b');
    await h.link(a, '10.77.3.1', b, '10.77.3.2');
    const bird = await startBird2(h, a, {
      name: 'bird2',
      routerId: '10.77.3.1',
      localAs: 65020,
      neighbors: [{ address: '10.77.3.2', as: 65021 }],
    });
    const stray = h.spawn(b, 'sleep', ['600'], { name: 'sleep' });
    bird.kill('SIGSTOP'); // a stopped process must still go away
    const pids = [...bird.pids, stray.pid];
    const names = h.netnsNames;
    expect(names).toHaveLength(2);
    await h.teardown();
    const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const n of names) expect(listed).not.toContain(n);
    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid} gone`).toThrow();
  });
});
