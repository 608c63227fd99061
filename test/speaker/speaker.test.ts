// Two tern speakers in one process, talking BGP over loopback (127.0.0.1 <-> 127.0.0.2): sessions,
// routes both ways, errors, reload and shutdown, and the control socket.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIpv4Key, formatIpv6Key } from '../../src/bgp/messages/prefix.js';
import { controlRequest } from '../../src/cli/show.js';
import { parseConfig } from '../../src/config/load.js';
import type { TernConfig } from '../../src/config/types.js';
import { ControlServer } from '../../src/control/server.js';
import { controlHandler } from '../../src/control/views.js';
import { silentLogger } from '../../src/log.js';
import type { Peer } from '../../src/speaker/peer.js';
import { Speaker } from '../../src/speaker/speaker.js';
import { waitFor } from '../helpers/speakers.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const A = '127.0.0.1';
const B = '127.0.0.2';

interface Side {
  readonly addr: string;
  readonly asn: number;
  readonly peerAsn: number;
  readonly originate?: readonly string[];
  readonly passive?: boolean;
  readonly extraPeers?: string;
}

function yamlFor(s: Side, other: string): string {
  return `
routerId: ${s.addr === A ? '10.0.0.1' : '10.0.0.2'}
asn: ${s.asn}
listen: { address: ${s.addr}, port: ${PORT} }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
nextHop: { ipv6: "fd00::${s.addr === A ? 1 : 2}" }
originate: [${(s.originate ?? []).map((p) => `"${p}"`).join(', ')}]
control: { socket: /tmp/unused-${s.addr}.ctl }
peers:
  - name: peer_${other.replace(/\./g, '_')}
    address: ${other}
    port: ${PORT}
    asn: ${s.peerAsn}
    localAddress: ${s.addr}
    passive: ${s.passive === true}
${s.extraPeers ?? ''}`;
}

const running: Speaker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('test over')));
});

async function speaker(s: Side, other: string): Promise<Speaker> {
  const sp = new Speaker(parseConfig(yamlFor(s, other), `${s.addr}.yaml`), silentLogger());
  running.push(sp);
  await sp.start();
  return sp;
}

function onlyPeer(sp: Speaker): Peer {
  return [...sp.peers.values()][0]!;
}

function routeTexts(p: Peer): string[] {
  return p.adjRibIn
    .routes()
    .map(
      (r) =>
        `${typeof r.prefix === 'number' ? formatIpv4Key(r.prefix) : formatIpv6Key(r.prefix)} via ${r.attributes.nextHop}`,
    )
    .sort();
}

describe('tern <-> tern over loopback', () => {
  it('iBGP: reaches Established and exchanges IPv4 and IPv6 routes with End-of-RIB', async () => {
    const a = await speaker(
      { addr: A, asn: 64512, peerAsn: 64512, originate: ['10.244.1.0/26', 'fd00:10:244:1::/122'] },
      B,
    );
    const b = await speaker({ addr: B, asn: 64512, peerAsn: 64512, originate: ['10.244.2.0/26'] }, A);
    await waitFor(
      'Established',
      () => onlyPeer(a).state === 'Established' && onlyPeer(b).state === 'Established',
    );
    await waitFor('routes at B', () => onlyPeer(b).adjRibIn.count() === 2);
    expect(routeTexts(onlyPeer(b))).toEqual([
      '10.244.1.0/26 via 127.0.0.1',
      'fd00:10:244:1::/122 via fd00::1',
    ]);
    await waitFor('routes at A', () => onlyPeer(a).adjRibIn.count() === 1);
    const r = onlyPeer(a).adjRibIn.routes()[0]!;
    expect(r.attributes.asPath).toEqual([]); // iBGP: no AS prepended
    expect(r.attributes.localPref).toBe(100);
    expect(onlyPeer(a).negotiated?.families.length).toBe(2);
    expect(onlyPeer(a).prefixesAdvertised).toBe(2);
  });

  it('eBGP, one side passive: AS path prepended, LOCAL_PREF dropped', async () => {
    const a = await speaker(
      { addr: A, asn: 65001, peerAsn: 65002, originate: ['10.244.1.0/26'], passive: true },
      B,
    );
    const b = await speaker({ addr: B, asn: 65002, peerAsn: 65001 }, A);
    await waitFor('routes at B', () => onlyPeer(b).adjRibIn.count() === 1);
    const r = onlyPeer(b).adjRibIn.routes()[0]!;
    expect(r.attributes.asPath).toEqual([{ type: 2, asns: [65001] }]);
    expect(r.attributes.localPref).toBeUndefined();
    expect(onlyPeer(a).state).toBe('Established');
  });

  it('a peer with the wrong AS is refused with 2/2 (Bad Peer AS)', async () => {
    const a = await speaker({ addr: A, asn: 64512, peerAsn: 65099 }, B);
    await speaker({ addr: B, asn: 64512, peerAsn: 64512 }, A);
    // (a connect refused before B listens is an error too: wait for the OPEN's)
    await waitFor('Bad Peer AS at A', () => /Bad Peer AS/.test(onlyPeer(a).lastError ?? ''));
    expect(onlyPeer(a).state).not.toBe('Established');
  });

  it('refuses a connection from an unknown address and leaves the other sessions alone', async () => {
    const a = await speaker({ addr: A, asn: 64512, peerAsn: 64512 }, B);
    await speaker({ addr: B, asn: 64512, peerAsn: 64512 }, A);
    await waitFor('Established', () => onlyPeer(a).state === 'Established');
    const since = onlyPeer(a).since;
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect({ host: A, port: PORT, localAddress: '127.0.0.3' });
      s.on('close', () => resolve(true));
      s.on('error', () => {});
      setTimeout(() => resolve(false), 5000).unref();
    });
    expect(closed).toBe(true);
    expect(onlyPeer(a).state).toBe('Established');
    expect(onlyPeer(a).since).toBe(since);
  });

  it('shutdown sends Cease / Administrative Shutdown with its message', async () => {
    const a = await speaker({ addr: A, asn: 64512, peerAsn: 64512 }, B);
    const b = await speaker({ addr: B, asn: 64512, peerAsn: 64512 }, A);
    await waitFor('Established', () => onlyPeer(b).state === 'Established');
    await a.stop('maintenance window');
    await waitFor('B sees the shutdown', () => onlyPeer(b).lastError);
    expect(onlyPeer(b).lastError).toMatch(/Cease \/ Administrative Shutdown/);
    expect(onlyPeer(b).lastError).toMatch(/maintenance window/);
  });

  it('reload: an unchanged peer stays up, a removed one gets Cease 6/3, an added one starts', async () => {
    const a = await speaker({ addr: A, asn: 64512, peerAsn: 64512 }, B);
    const b = await speaker({ addr: B, asn: 64512, peerAsn: 64512, originate: ['10.244.2.0/26'] }, A);
    await waitFor('Established', () => onlyPeer(a).state === 'Established');
    const since = onlyPeer(a).since;
    // B originates one more prefix: A keeps its session and learns it
    await b.reload(
      parseConfig(
        yamlFor({ addr: B, asn: 64512, peerAsn: 64512, originate: ['10.244.2.0/26', '10.244.3.0/26'] }, A),
        'b.yaml',
      ),
    );
    await waitFor('new route at A', () => onlyPeer(a).adjRibIn.count() === 2);
    expect(onlyPeer(a).since).toBe(since);
    // ... and withdraws one
    await b.reload(
      parseConfig(
        yamlFor({ addr: B, asn: 64512, peerAsn: 64512, originate: ['10.244.3.0/26'] }, A),
        'b.yaml',
      ),
    );
    await waitFor('withdrawal at A', () => onlyPeer(a).adjRibIn.count() === 1);
    expect(routeTexts(onlyPeer(a))).toEqual(['10.244.3.0/26 via 127.0.0.2']);
    // A's config loses B and gains 127.0.0.3: B sees Peer De-configured
    const cfg: TernConfig = parseConfig(
      yamlFor({ addr: A, asn: 64512, peerAsn: 64512 }, '127.0.0.3'),
      'a.yaml',
    );
    await a.reload(cfg);
    await waitFor('B sees de-configuration', () => onlyPeer(b).lastError?.includes('Peer De-configured'));
    expect([...a.peers.values()].map((p) => p.config.address)).toEqual(['127.0.0.3']);
  });

  it('answers show protocols / neighbors / routes / status on the control socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-ctl-'));
    try {
      const a = await speaker({ addr: A, asn: 64512, peerAsn: 64512 }, B);
      await speaker({ addr: B, asn: 64512, peerAsn: 64512, originate: ['10.244.2.0/26'] }, A);
      const sock = join(dir, 'a.ctl');
      const ctl = new ControlServer(sock, controlHandler(a, 'test'), silentLogger());
      await ctl.start();
      try {
        await waitFor('route at A', () => onlyPeer(a).adjRibIn.count() === 1);
        const protocols = (await controlRequest(sock, 'show protocols')) as Record<string, unknown>[];
        expect(protocols).toMatchObject([
          { name: 'peer_127_0_0_2', state: 'Established', prefixesReceived: 1 },
        ]);
        const neighbors = (await controlRequest(sock, 'show neighbors', { peer: B })) as Record<
          string,
          unknown
        >[];
        expect(neighbors[0]).toMatchObject({
          negotiated: {
            holdTime: 9,
            keepaliveTime: 3,
            as4: true,
            families: ['ipv4-unicast', 'ipv6-unicast'],
          },
        });
        const routes = await controlRequest(sock, 'show routes', { peer: 'peer_127_0_0_2' });
        expect(routes).toMatchObject([
          { prefix: '10.244.2.0/26', nextHop: '127.0.0.2', origin: 'igp', localPref: 100 },
        ]);
        expect(await controlRequest(sock, 'show status')).toMatchObject({
          routerId: '10.0.0.1',
          peers: 1,
          established: 1,
        });
        await expect(controlRequest(sock, 'show routes', { peer: 'nobody' })).rejects.toThrow(
          /no peer named/,
        );
      } finally {
        await ctl.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
