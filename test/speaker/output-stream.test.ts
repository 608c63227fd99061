// One output stream per session, through a real socket on loopback. A ROUTE-REFRESH answered while the
// socket is congested still goes BoRR, the routes, EoRR (RFC 7313: a peer sweeps at EoRR whatever it
// was not sent again, so routes after EoRR would be lost there). And in an update group, a member that
// stops reading holds back neither the others nor memory, then catches up to exactly the same table.

import { afterEach, describe, expect, it } from 'vitest';
import type { Capability } from '../../src/bgp/messages/capabilities/index.js';
import { Afi, Safi } from '../../src/bgp/messages/iana.js';
import { KEEPALIVE } from '../../src/bgp/messages/keepalive.js';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import { formatIpv4Key } from '../../src/bgp/messages/prefix.js';
import { RouteRefreshSubtype } from '../../src/bgp/messages/route-refresh.js';
import type { OriginateRoute } from '../../src/config/types.js';
import { MAX_QUEUED_CHUNK_BYTES, type Peer } from '../../src/speaker/peer.js';
import { BgpConn, type Received } from '../helpers/chaos-peer.js';
import { useSpeakers, waitFor } from '../helpers/speakers.js';

const TERN = '127.0.0.1';
const speakers = useSpeakers();
const conns: BgpConn[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.finish('destroy');
});

function table(n: number, variant: number): OriginateRoute[] {
  return Array.from({ length: n }, (_, i) => ({
    prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
    family: 'ipv4-unicast' as const,
    communities: [variant],
  }));
}

const CAPS: Capability[] = [
  { kind: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST },
  { kind: 'route-refresh' },
  { kind: 'enhanced-route-refresh' },
  { kind: 'four-octet-as', as: 64512 },
];

/** What a raw peer saw: the messages in order (reduced to what the test checks) and its table. */
class Watcher {
  readonly events: string[] = [];
  readonly routes = new Map<string, number | undefined>();
  onMessage(r: Received): void {
    if (r.kind !== 'message') return;
    const m = r.msg;
    if (m.type === 'route-refresh') this.events.push(`rr${m.subtype}`);
    if (m.type !== 'update') return;
    if (m.nlri.prefixes.length === 0 && m.withdrawn.prefixes.length === 0) {
      this.events.push('eor');
      return;
    }
    for (const p of m.withdrawn.prefixes) this.routes.delete(formatIpv4Key(p as number));
    for (const p of m.nlri.prefixes)
      this.routes.set(formatIpv4Key(p as number), m.attributes.communities?.[0]);
    if (this.events[this.events.length - 1] !== 'update') this.events.push('update');
  }
}

async function peerUp(port: number, address: string, bgpId: string): Promise<{ conn: BgpConn; w: Watcher }> {
  const conn = await BgpConn.open(TERN, port, address);
  conns.push(conn);
  conn.send(encodeMessage(makeOpen({ as: 64512, holdTime: 0, bgpId, capabilities: CAPS })));
  const open = await conn.expect('open', 5000);
  expect(open?.type).toBe('open');
  conn.send(encodeMessage(KEEPALIVE));
  expect((await conn.expect('keepalive', 5000))?.type).toBe('keepalive');
  const w = new Watcher();
  // what arrived with the KEEPALIVE is waiting in the connection's inbox
  for (let r = await conn.next(1); r.kind !== 'timeout'; r = await conn.next(1)) w.onMessage(r);
  conn.onMessage = (r) => w.onMessage(r);
  return { conn, w };
}

const config = (port: number, peers: string[]): string => `
routerId: 10.0.0.1
listen: { address: ${TERN}, port: ${port} }
holdTime: 0
families: [ipv4-unicast]
peers:
${peers.map((a) => `  - { address: ${a}, asn: 64512, passive: true }`).join('\n')}
`;

const established = (p: Peer | undefined): boolean => p?.state === 'Established';

describe('the output stream of a session', () => {
  it('answers a ROUTE-REFRESH on a congested socket with BoRR, the routes, EoRR, in that order', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const sp = await speakers.start(config(port, ['127.0.0.2']));
    const N = 60_000;
    sp.router.setOriginated(table(N, 1));
    const { conn, w } = await peerUp(port, '127.0.0.2', '10.0.0.2');
    // stop reading at once: the initial table fills the socket, and the refresh is asked meanwhile
    conn.socket.pause();
    const peer = [...sp.peers.values()][0];
    await waitFor('Established', () => established(peer));
    await new Promise((r) => setTimeout(r, 200));
    conn.send(
      encodeMessage({
        type: 'route-refresh',
        afi: Afi.IPV4,
        safi: Safi.UNICAST,
        subtype: RouteRefreshSubtype.NORMAL,
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    conn.socket.resume();
    await waitFor('EoRR', () => w.events.includes('rr2'), 20_000);
    await new Promise((r) => setTimeout(r, 200));
    // the table, End-of-RIB, then the refresh: nothing after EoRR
    expect(w.events).toEqual(['update', 'eor', 'rr1', 'update', 'rr2']);
    expect(w.routes.size).toBe(N);
  });

  it('lets a member that stops reading fall behind without holding back the others, then catches it up', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const sp = await speakers.start(config(port, ['127.0.0.2', '127.0.0.3']));
    const N = 20_000;
    sp.router.setOriginated(table(N, 0));
    const fast = await peerUp(port, '127.0.0.2', '10.0.0.2');
    const slow = await peerUp(port, '127.0.0.3', '10.0.0.3');
    await waitFor('both Established', () => [...sp.peers.values()].every(established));
    await waitFor('the table at both', () => fast.w.routes.size === N && slow.w.routes.size === N, 20_000);
    slow.conn.socket.pause();
    const slowPeer = [...sp.peers.values()].find((p) => p.config.address === '127.0.0.3');
    let worst = 0;
    // 100 tables of 80 kB: more than the kernel's socket buffers and MAX_QUEUED_CHUNK_BYTES together
    const ROUNDS = 100;
    for (let round = 1; round <= ROUNDS; round++) {
      sp.router.setOriginated(table(N, round));
      await new Promise((r) => setImmediate(r));
      worst = Math.max(worst, slowPeer?.queuedBytes ?? 0);
    }
    // the reading member has the last table while the other one still reads nothing
    const last = (w: Watcher): boolean =>
      w.routes.size === N && [...w.routes.values()].every((c) => c === ROUNDS);
    await waitFor('the fast member converged', () => last(fast.w), 20_000);
    expect(last(slow.w)).toBe(false);
    expect(worst).toBeLessThanOrEqual(MAX_QUEUED_CHUNK_BYTES);
    slow.conn.socket.resume();
    await waitFor('the slow member caught up', () => last(slow.w), 20_000);
    expect(slow.w.routes).toEqual(fast.w.routes);
  });
});
