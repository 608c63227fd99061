// tern against real routers (BIRD 2, BIRD 1.6, GoBGP, FRR), each in its own network namespace on one
// bridged LAN with tern. Every daemon has an iBGP and an eBGP session with tern (tern presents AS 65000
// from a second address on the eBGP one), tern connecting on one and waiting on the other, so every
// daemon and both directions are covered. Assertions read the daemons' own CLIs and `tern show`.

import { expect, it } from 'vitest';
import { controlRequest } from '../../src/cli/show.js';
import {
  type AnnouncedRoute,
  type BgpDaemon,
  describeInterop,
  type NeighborOptions,
  sleep,
  startBird1,
  startBird2,
  startFrr,
  startGoBgp,
  useInteropHarness,
  waitEstablished,
  waitFor,
  waitRoute,
} from './harness/index.js';
import { TernDaemon, type TernProtocol } from './tern-daemon.js';

const AS = 64512;
const TERN_EBGP_AS = 65000;
const LAN = '10.77.20';
const T1 = `${LAN}.1`; // tern, iBGP sessions
const T2 = `${LAN}.101`; // tern, eBGP sessions (local AS 65000)
const T3 = `${LAN}.201`; // tern, the session with a wrong AS
const T1_V6 = 'fd77:20::1';
const HOLD = 9;

interface Spec {
  readonly key: 'bird2' | 'gobgp' | 'frr' | 'bird1';
  readonly host: number;
  /** Who connects: 'tern' = tern connects, the daemon is passive. */
  readonly ibgpConnect: 'tern' | 'peer';
  readonly ebgpConnect: 'tern' | 'peer';
}

const SPECS: readonly Spec[] = [
  { key: 'bird2', host: 2, ibgpConnect: 'tern', ebgpConnect: 'peer' },
  { key: 'gobgp', host: 3, ibgpConnect: 'tern', ebgpConnect: 'peer' },
  { key: 'frr', host: 4, ibgpConnect: 'peer', ebgpConnect: 'tern' },
  { key: 'bird1', host: 5, ibgpConnect: 'peer', ebgpConnect: 'tern' },
];

const addr = (s: Spec): string => `${LAN}.${s.host}`;
const v6 = (s: Spec): string => `fd77:20::${s.host}`;
const v4Route = (s: Spec): string => `10.120.${s.host}.0/24`;
const v6Route = (s: Spec): string => `fd00:120:${s.host}::/48`;

function ternConfig(): string {
  const peers: string[] = [];
  for (const s of SPECS) {
    peers.push(
      `  - { name: ${s.key}_ibgp, address: ${addr(s)}, asn: ${AS}, localAddress: ${T1}, passive: ${s.ibgpConnect === 'peer'} }`,
      `  - { name: ${s.key}_ebgp, address: ${addr(s)}, asn: ${AS}, localAsn: ${TERN_EBGP_AS}, localAddress: ${T2}, passive: ${s.ebgpConnect === 'peer'} }`,
    );
  }
  // BIRD 1.6 runs IPv6 in a second daemon (bird6): one more session, over IPv6
  peers.push(
    `  - { name: bird6_ibgp, address: "fd77:20::5", asn: ${AS}, localAddress: "${T1_V6}", families: [ipv6-unicast] }`,
  );
  // FRR is AS 64512, but this peer says 65099: tern must refuse it with 2/2
  peers.push(`  - { name: frr_wrong_as, address: ${LAN}.4, asn: 65099, localAddress: ${T3} }`);
  return `
routerId: ${T1}
asn: ${AS}
listen: { address: "::", port: 179 }
holdTime: ${HOLD}
connectRetryTime: 1
errorWaitTime: [1, 2]
gracefulRestart: { enabled: false }
nextHop: { ipv6: "${T1_V6}" }
originate: [10.244.1.0/26, "fd00:10:244:1::/122"]
peers:
${peers.join('\n')}
`;
}

/**
 * Prefixes several daemons announce with different attributes, for the decision process: LOCAL_PREF
 * (BIRD 2 200, GoBGP 100), MED (BIRD 2 50, BIRD 1.6 10: same neighbour AS, same ORIGIN — GoBGP's
 * injected routes are INCOMPLETE, BIRD's IGP, which would decide first), AS path length (FRR alone:
 * its iBGP path is empty, its eBGP path has its AS).
 */
const BY_LOCAL_PREF = '10.150.1.0/24';
const BY_MED = '10.150.2.0/24';
const BY_PATH_LENGTH = '10.150.3.0/24';
const UNREACHABLE = '10.150.9.0/24';
const DECISION: Partial<Record<Spec['key'], AnnouncedRoute[]>> = {
  bird2: [
    { prefix: BY_LOCAL_PREF, localPref: 200 },
    { prefix: BY_MED, med: 50 },
  ],
  gobgp: [
    { prefix: BY_LOCAL_PREF, localPref: 100 },
    // a next hop the kernel in tern's namespace has no route to
    { prefix: UNREACHABLE, nextHop: '10.200.0.1' },
  ],
  bird1: [{ prefix: BY_MED, med: 10 }],
  frr: [{ prefix: BY_PATH_LENGTH }],
};

function daemonOptions(s: Spec) {
  const families: NeighborOptions['families'] = s.key === 'bird1' ? ['ipv4'] : ['ipv4', 'ipv6'];
  const neighbors: NeighborOptions[] = [
    {
      address: T1,
      as: AS,
      localAddress: addr(s),
      passive: s.ibgpConnect === 'tern',
      families,
      name: 'tern_ibgp',
    },
    {
      address: T2,
      as: TERN_EBGP_AS,
      localAddress: addr(s),
      passive: s.ebgpConnect === 'tern',
      families,
      name: 'tern_ebgp',
    },
  ];
  if (s.key === 'frr')
    neighbors.push({
      address: T3,
      as: AS,
      localAddress: addr(s),
      passive: true,
      families: ['ipv4'],
      name: 'tern_wrong',
    });
  if (s.key === 'bird1')
    neighbors.push({
      address: T1_V6,
      as: AS,
      localAddress: v6(s),
      passive: true,
      families: ['ipv6'],
      name: 'tern_v6',
    });
  return {
    name: s.key,
    routerId: addr(s),
    localAs: AS,
    neighbors,
    routes: [{ prefix: v4Route(s) }, { prefix: v6Route(s) }, ...(DECISION[s.key] ?? [])],
    holdTime: HOLD,
    keepalive: 3,
  };
}

describeInterop('tern sessions with BIRD 2, BIRD 1.6, GoBGP and FRR', () => {
  const harness = useInteropHarness('tern-sessions');
  let tern: TernDaemon;
  const daemons = new Map<Spec['key'], BgpDaemon>();
  let sinceAtStart: Map<string, string>;

  async function established(name: string): Promise<TernProtocol> {
    return waitFor(() => tern.protocol(name), {
      what: `tern: ${name} Established`,
      until: (p) => p.state === 'Established',
      describe: (p) => `${p.state} (${p.info})`,
      timeoutMs: 40_000,
      intervalMs: 250,
    });
  }

  it('reaches Established with every daemon, tern connecting and tern waiting, iBGP and eBGP', async () => {
    const h = harness();
    const ternNs = await h.createNetns('tern');
    const nss = await Promise.all(SPECS.map((s) => h.createNetns(s.key)));
    const ends = await h.lan('lan', [
      { ns: ternNs, addr: { v4: T1, v6: T1_V6 } },
      ...SPECS.map((s, i) => ({ ns: nss[i]!, addr: { v4: addr(s), v6: v6(s) } })),
    ]);
    for (const extra of [T2, T3]) await h.ip(ternNs, ['addr', 'add', `${extra}/24`, 'dev', ends[0]!.ifname]);

    tern = await new TernDaemon(h, ternNs, 'tern').start(ternConfig());
    const starters = { bird2: startBird2, gobgp: startGoBgp, frr: startFrr, bird1: startBird1 } as const;
    await Promise.all(
      SPECS.map(async (s, i) => {
        daemons.set(s.key, await starters[s.key](h, nss[i]!, daemonOptions(s)));
      }),
    );
    for (const s of SPECS) {
      await established(`${s.key}_ibgp`);
      await established(`${s.key}_ebgp`);
      await waitEstablished(daemons.get(s.key)!, T1, 40_000);
      await waitEstablished(daemons.get(s.key)!, T2, 40_000);
    }
    await established('bird6_ibgp');
    sinceAtStart = new Map((await tern.protocols()).map((p) => [p.name, p.since]));
  });

  it('refuses the peer with the wrong AS with 2/2 and leaves the other sessions alone', async () => {
    const p = await waitFor(() => tern.protocol('frr_wrong_as'), {
      what: 'tern: frr_wrong_as refused',
      until: (x) => /Bad Peer AS/.test(x.info),
      describe: (x) => `${x.state} (${x.info})`,
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(p.state).not.toBe('Established');
    expect(p.info).toMatch(/sent NOTIFICATION OPEN Message Error \/ Bad Peer AS/);
    for (const q of await tern.protocols()) {
      if (q.name === 'frr_wrong_as') continue;
      expect(q.state, q.name).toBe('Established');
      expect(q.since, `${q.name} did not flap`).toBe(sinceAtStart.get(q.name));
    }
  });

  it("puts tern's IPv4 and IPv6 prefixes in every daemon's RIB with the right next hop and AS path", async () => {
    for (const s of SPECS) {
      const d = daemons.get(s.key)!;
      await waitRoute(d, 'ipv4', '10.244.1.0/26', { nextHop: T1, asPath: [], localPref: 100 });
      await waitRoute(d, 'ipv4', '10.244.1.0/26', { nextHop: T2, asPath: [TERN_EBGP_AS] });
      if (s.key !== 'bird1') {
        await waitRoute(d, 'ipv6', 'fd00:10:244:1::/122', { nextHop: T1_V6, asPath: [TERN_EBGP_AS] });
      }
    }
    // BIRD 1.6 learns IPv6 from bird6 over the IPv6 session
    await waitRoute(daemons.get('bird1')!, 'ipv6', 'fd00:10:244:1::/122', { nextHop: T1_V6, asPath: [] });
  });

  it("keeps every daemon's prefixes in tern's Adj-RIB-In, per session", async () => {
    for (const s of SPECS) {
      const ibgp = await waitFor(() => tern.routes(`${s.key}_ibgp`), {
        what: `tern: routes from ${s.key}_ibgp`,
        until: (rs) => rs.some((r) => r.prefix === v4Route(s)),
        describe: (rs) => JSON.stringify(rs),
        timeoutMs: 20_000,
      });
      expect(ibgp.find((r) => r.prefix === v4Route(s))).toMatchObject({
        nextHop: addr(s),
        asPath: [],
        localPref: 100,
      });
      const ebgp = await waitFor(() => tern.routes(`${s.key}_ebgp`), {
        what: `tern: routes from ${s.key}_ebgp`,
        until: (rs) => rs.some((r) => r.prefix === v4Route(s)),
        describe: (rs) => JSON.stringify(rs),
        timeoutMs: 20_000,
      });
      expect(ebgp.find((r) => r.prefix === v4Route(s))).toMatchObject({
        nextHop: addr(s),
        asPath: [{ type: 'sequence', asns: [AS] }],
      });
      if (s.key !== 'bird1') {
        expect(ebgp.find((r) => r.prefix === v6Route(s))).toMatchObject({ family: 'ipv6-unicast' });
      }
    }
    const v6Routes = await tern.routes('bird6_ibgp');
    expect(v6Routes.find((r) => r.prefix === 'fd00:120:5::/48')).toMatchObject({ nextHop: 'fd77:20::5' });
  });

  it('chooses among real peers’ routes by LOCAL_PREF, AS path length and MED, and says why', async () => {
    const rib = async (): Promise<Record<string, unknown>[]> =>
      (await controlRequest(tern.socket, 'show routes', { all: true })) as Record<string, unknown>[];
    const best = async (prefix: string, candidates: number): Promise<Record<string, unknown>> => {
      const rows = await waitFor(rib, {
        what: `tern: ${candidates} candidates for ${prefix}`,
        until: (rs) => rs.filter((r) => r.prefix === prefix).length >= candidates,
        describe: (rs) => JSON.stringify(rs.filter((r) => r.prefix === prefix)),
        timeoutMs: 20_000,
      });
      return rows.find((r) => r.prefix === prefix && r.best === true)!;
    };
    expect(await best(BY_LOCAL_PREF, 4)).toMatchObject({
      from: 'bird2_ibgp',
      localPref: 200,
      reason: 'local-pref',
    });
    expect(await best(BY_PATH_LENGTH, 2)).toMatchObject({
      from: 'frr_ibgp',
      asPath: [],
      reason: 'as-path-length',
    });
    expect(await best(BY_MED, 4)).toMatchObject({ from: 'bird1_ibgp', med: 10, reason: 'med' });
    // GoBGP's route via 10.200.0.1: tern's kernel has no route there, so it is no candidate for best
    // (BIRD's `gateway recursive`): held, never chosen, never sent on
    const unreachable = (await rib()).filter((r) => r.prefix === UNREACHABLE);
    expect(unreachable.length).toBeGreaterThan(0);
    expect(unreachable.some((r) => r.best === true)).toBe(false);
    expect(
      (await daemons.get('bird2')!.routes('ipv4')).some((r) => r.prefix === UNREACHABLE && r.peer === T1),
    ).toBe(false);
  });

  it('drops a frozen peer (SIGSTOP) with Hold Timer Expired within hold time + 1 s, and recovers after SIGCONT', async () => {
    const gobgp = daemons.get('gobgp')!;
    // the freeze lands just after a KEEPALIVE at the latest: the hold timer runs out within HOLD s
    gobgp.kill('SIGSTOP');
    const frozenAt = Date.now();
    try {
      const down = await waitFor(() => tern.protocol('gobgp_ibgp'), {
        what: 'tern: gobgp_ibgp down',
        until: (p) => p.state !== 'Established',
        describe: (p) => p.state,
        timeoutMs: (HOLD + 5) * 1000,
        intervalMs: 100,
      });
      const after = (Date.now() - frozenAt) / 1000;
      expect(after).toBeLessThanOrEqual(HOLD + 1);
      expect(down.info).toMatch(/Hold Timer Expired/);
      const other = await tern.protocol('bird2_ibgp');
      expect(other.state).toBe('Established');
    } finally {
      gobgp.kill('SIGCONT');
    }
    await established('gobgp_ibgp');
    await established('gobgp_ebgp');
  });

  it('on shutdown, every daemon sees Cease / Administrative Shutdown', async () => {
    await tern.stop();
    const bird2 = daemons.get('bird2') as BgpDaemon & { birdc(args: string[]): Promise<string> };
    await waitFor(() => bird2.birdc(['show', 'protocols', 'all', 'tern_ibgp']), {
      what: 'BIRD 2 saw the shutdown',
      until: (t) => /Administrative shutdown/i.test(t),
      describe: (t) => t.split('\n').slice(0, 8).join(' | '),
      timeoutMs: 10_000,
    });
    const frr = daemons.get('frr') as BgpDaemon & { vtysh(commands: string[]): Promise<string> };
    await waitFor(() => frr.vtysh([`show bgp neighbors ${T1} json`]), {
      what: 'FRR saw the shutdown',
      until: (t) => /Administrative Shutdown/i.test(t),
      describe: (t) => t.slice(0, 400),
      timeoutMs: 10_000,
    });
    await sleep(100);
  });
});
