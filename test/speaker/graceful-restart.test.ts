// RFC 4724 receiving speaker, between two tern speakers on loopback: when B's connection breaks without
// a NOTIFICATION, A keeps B's routes (stale) while B restarts; B (tern) comes back without forwarding
// state (F bit clear), so its stale routes are swept as it returns and what it announces again stays;
// if B does not come back within its restart time, everything of B's is swept.

import { describe, expect, it } from 'vitest';
import { IPV4_UNICAST } from '../../src/bgp/messages/iana.js';
import { parseIpv4Prefix } from '../../src/bgp/messages/prefix.js';
import { parseConfig } from '../../src/config/load.js';
import type { Link } from '../../src/speaker/link.js';
import type { Peer } from '../../src/speaker/peer.js';
import type { Speaker } from '../../src/speaker/speaker.js';
import { useSpeakers, waitFor } from '../helpers/speakers.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const A = '127.0.0.1';
const B = '127.0.0.2';

function config(self: string, other: string | undefined, originate: string[], restartTime = 30): string {
  return `
routerId: ${self === A ? '10.0.0.1' : '10.0.0.2'}
listen: { address: ${self}, port: ${PORT} }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 1]
families: [ipv4-unicast]
gracefulRestart: { enabled: true, restartTime: ${restartTime} }
originate: [${originate.join(', ')}]
peers: ${other ? `\n  - { address: ${other}, port: ${PORT}, asn: 64512, localAddress: ${self} }` : '[]'}
`;
}

const speakers = useSpeakers();
const speaker = speakers.start;
const _running = speakers.running;

const only = (sp: Speaker): Peer => [...sp.peers.values()][0]!;

/** Breaks B's established connection the way a crash does: the socket goes, no NOTIFICATION. */
function crash(peer: Peer): void {
  const link = (peer as unknown as { established: Link | undefined }).established;
  if (!link?.socket) throw new Error('no established connection to break');
  link.socket.destroy();
}

const P = parseIpv4Prefix('10.2.0.0/24')!;
const Q = parseIpv4Prefix('10.2.1.0/24')!;

describe('graceful restart, receiving speaker (RFC 4724 4.2)', () => {
  it('keeps the routes through a restart; back without forwarding state, stale routes are swept', async () => {
    const a = await speaker(config(A, B, []));
    const b = await speaker(config(B, A, ['10.2.0.0/24', '10.2.1.0/24']));
    const rib = a.router.locRib;
    await waitFor('both routes at A', () => rib.best(IPV4_UNICAST, P) && rib.best(IPV4_UNICAST, Q));
    await waitFor('B Established', () => only(b).state === 'Established');

    // B "restarts": its connection breaks, and it comes back announcing only 10.2.0.0/24
    await b.reload(parseConfig(config(B, A, ['10.2.0.0/24']), 'gr.yaml'));
    crash(only(b));
    await waitFor('A notices', () => only(a).state !== 'Established');
    // throughout the restart A still routes both prefixes, as stale
    expect(rib.best(IPV4_UNICAST, P)?.stale).toBe(true);
    expect(rib.best(IPV4_UNICAST, Q)?.stale).toBe(true);
    const end = Date.now() + 10_000;
    while (only(a).state !== 'Established' && Date.now() < end) {
      expect(rib.best(IPV4_UNICAST, P), 'the route stays during the restart').toBeDefined();
      await new Promise((r) => setTimeout(r, 10));
    }
    // back: 10.2.1.0/24 (no longer announced) swept, 10.2.0.0/24 announced again, not stale
    await waitFor('Q swept', () => rib.best(IPV4_UNICAST, Q) === undefined);
    await waitFor(
      'P renewed',
      () => rib.best(IPV4_UNICAST, P)?.stale === undefined && rib.best(IPV4_UNICAST, P),
    );
  });

  it('sweeps the stale routes when the peer does not come back within its restart time', async () => {
    const a = await speaker(config(A, B, []));
    const b = await speaker(config(B, A, ['10.2.0.0/24'], 2));
    const rib = a.router.locRib;
    await waitFor('route at A', () => rib.best(IPV4_UNICAST, P));
    await waitFor('B Established', () => only(b).state === 'Established');
    // B forgets A (a session that is down ends without a NOTIFICATION) and breaks the connection
    crash(only(b));
    await b.reload(parseConfig(config(B, undefined, ['10.2.0.0/24'], 2), 'gr.yaml'));
    await waitFor('A notices', () => only(a).state !== 'Established');
    expect(rib.best(IPV4_UNICAST, P)?.stale).toBe(true);
    const t0 = Date.now();
    await waitFor(
      'stale route swept after the restart time',
      () => rib.best(IPV4_UNICAST, P) === undefined,
      10_000,
    );
    expect(Date.now() - t0).toBeGreaterThan(1000);
  });

  it('a NOTIFICATION ends the session without graceful restart: routes go at once', async () => {
    const a = await speaker(config(A, B, []));
    const b = await speaker(config(B, A, ['10.2.0.0/24']));
    const rib = a.router.locRib;
    await waitFor('route at A', () => rib.best(IPV4_UNICAST, P));
    await b.stop('maintenance');
    await waitFor('route gone at A', () => rib.best(IPV4_UNICAST, P) === undefined, 3000);
  });
});

describe('route refresh (RFC 2918, enhanced: RFC 7313)', () => {
  it('answers with BoRR, the routes again and EoRR; the asker keeps the routes it got again', async () => {
    const a = await speaker(config(A, B, []));
    const b = await speaker(config(B, A, ['10.2.0.0/24', '10.2.1.0/24']));
    const atA = only(a);
    await waitFor('routes at A', () => a.router.locRib.size === 2);
    await waitFor('B Established', () => only(b).state === 'Established');
    const updatesBefore = atA.received.update;
    const link = (atA as unknown as { established: Link | undefined }).established!;
    link.send({ type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    await waitFor('BoRR and EoRR at A', () => atA.received.routeRefresh === 2);
    expect(atA.received.update).toBeGreaterThan(updatesBefore);
    // BoRR marked B's routes stale at A, the routes sent again renewed them, EoRR swept none
    expect(a.router.locRib.size).toBe(2);
    expect(a.router.locRib.best(IPV4_UNICAST, P)?.stale).toBeUndefined();
  });
});
