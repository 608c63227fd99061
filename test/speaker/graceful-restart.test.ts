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

function config(
  self: string,
  other: string | undefined,
  originate: string[],
  restartTime = 30,
  opts: { errorWait?: number; passive?: boolean } = {},
): string {
  const wait = opts.errorWait ?? 1;
  return `
routerId: ${self === A ? '10.0.0.1' : '10.0.0.2'}
listen: { address: ${self}, port: ${PORT} }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [${wait}, ${wait}]
families: [ipv4-unicast]
gracefulRestart: { enabled: true, restartTime: ${restartTime} }
originate: [${originate.join(', ')}]
peers: ${other ? `\n  - { address: ${other}, port: ${PORT}, asn: 64512, localAddress: ${self}, passive: ${opts.passive === true} }` : '[]'}
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
    // what A selects for P, change by change, and whether B's session was up at the time
    const seen: string[] = [];
    a.router.subscribe((changes) => {
      const up = only(a).state === 'Established' ? 'up' : 'down';
      for (const c of changes) {
        if (c.prefix !== P) continue;
        seen.push(`${c.selected.length === 0 ? 'gone' : c.selected[0]!.stale ? 'stale' : 'fresh'} ${up}`);
      }
    });

    // B "restarts": its connection breaks, and it comes back announcing only 10.2.0.0/24
    await b.reload(parseConfig(config(B, A, ['10.2.0.0/24']), 'gr.yaml'));
    const since = only(a).since;
    crash(only(b));
    await waitFor('A down and up again', () => only(a).since !== since && only(a).state === 'Established');
    // back: 10.2.1.0/24 (no longer announced) swept, 10.2.0.0/24 announced again, not stale
    await waitFor('Q swept', () => rib.best(IPV4_UNICAST, Q) === undefined);
    await waitFor(
      'P renewed',
      () => rib.best(IPV4_UNICAST, P)?.stale === undefined && rib.best(IPV4_UNICAST, P),
    );
    // while B was away A routed P, stale; B came back without forwarding state (F bit clear), so the
    // stale P went as the session came up (RFC 4724 4.2) and came back fresh with B's UPDATE
    expect(seen[0]).toBe('stale down');
    expect(seen.filter((x) => x.endsWith('down'))).toEqual(['stale down']);
    expect(seen.at(-1)).toBe('fresh up');
  });

  it("takes the restarted peer's new connection at once, not after its errorWaitTime", async () => {
    // A is passive with a long errorWaitTime (a reflector); B connects again as soon as it can
    const a = await speaker(config(A, B, [], 30, { errorWait: 20, passive: true }));
    const b = await speaker(config(B, A, ['10.2.0.0/24']));
    const rib = a.router.locRib;
    await waitFor('route at A', () => rib.best(IPV4_UNICAST, P));
    await waitFor('B Established', () => only(b).state === 'Established');
    const since = only(a).since;
    const t0 = Date.now();
    crash(only(b));
    await waitFor(
      'A down and up again',
      () => only(a).since !== since && only(a).state === 'Established',
      10_000,
    );
    // without cutting A's idle hold short, A would refuse every connection for 20 s
    expect(Date.now() - t0).toBeLessThan(5000);
    await waitFor('the route renewed', () => rib.best(IPV4_UNICAST, P)?.stale === undefined);
  });

  it('sweeps the stale routes when the peer does not come back within its restart time', async () => {
    const a = await speaker(config(A, B, []));
    const b = await speaker(config(B, A, ['10.2.0.0/24'], 2));
    const rib = a.router.locRib;
    await waitFor('route at A', () => rib.best(IPV4_UNICAST, P));
    await waitFor('B Established', () => only(b).state === 'Established');
    // B stops for a graceful restart (its sessions close without a NOTIFICATION) and never comes back
    await b.stopGraceful();
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
