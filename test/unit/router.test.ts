// The Router as plain data: UPDATEs in, update groups and their chunks out, with the turns of the event
// loop in the test's hands. Sessions with the same export result share one group and one chunk; a burst
// of UPDATEs is encoded once; a received route is stored once (the Adj-RIB-In and the Loc-RIB share its
// attributes, with an eBGP LOCAL_PREF dropped); a restarting speaker sends nothing until End-of-RIB.

import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONTEXT } from '../../src/bgp/messages/context.js';
import { AsPathSegmentType, IPV4_UNICAST, Origin } from '../../src/bgp/messages/iana.js';
import { decodeMessage } from '../../src/bgp/messages/message.js';
import { NO_IPV4_PREFIXES } from '../../src/bgp/messages/nlri.js';
import { formatIpv4Key, parseIpv4Prefix } from '../../src/bgp/messages/prefix.js';
import type { UpdateMessage } from '../../src/bgp/messages/update.js';
import { AdjRibIn } from '../../src/bgp/rib/adj-rib-in.js';
import type { ExportContext } from '../../src/bgp/rib/export.js';
import { type RibPeer, Router } from '../../src/bgp/rib/router.js';
import type { PeerInfo } from '../../src/bgp/rib/types.js';
import { type Chunk, slicesFor } from '../../src/bgp/rib/update-group.js';
import { silentLogger } from '../../src/log.js';
import { reflectorConfig } from '../../src/reflector/rules.js';
import { peer } from '../helpers/peers.js';

const REFLECTOR = reflectorConfig('10.0.0.100');

class FakePeer implements RibPeer {
  readonly adjRibIn = new AdjRibIn();
  readonly families = [IPV4_UNICAST];
  readonly addPathSend = new Set<number>();
  readonly sendContext = DEFAULT_CONTEXT;
  readonly chunks: Chunk[] = [];
  readonly routes = new Map<string, string>();
  tableSent = 0;
  constructor(readonly info: PeerInfo) {}
  get exportContext(): ExportContext {
    return {
      to: this.info,
      reflector: REFLECTOR,
      nextHopSelf: 'auto',
      localNextHop: { ipv4: '10.0.0.100' },
      addPathSend: false,
    };
  }
  receiveChunk(chunk: Chunk): void {
    this.chunks.push(chunk);
    for (const part of slicesFor(chunk, this.info).parts) this.apply(part);
  }
  initialTableSent(): void {
    this.tableSent++;
  }
  apply(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) {
      const length = (bytes[at + 16]! << 8) | bytes[at + 17]!;
      const m = decodeMessage(bytes.subarray(at, at + length));
      at += length;
      if (m.type !== 'update') continue;
      for (const p of m.withdrawn.prefixes) this.routes.delete(formatIpv4Key(p as number));
      for (const p of m.nlri.prefixes)
        this.routes.set(formatIpv4Key(p as number), m.attributes.nextHop ?? '?');
    }
  }
}

function announce(
  prefixes: string[],
  nextHop: string,
  opts: { asn?: number; localPref?: number } = {},
): UpdateMessage {
  return {
    type: 'update',
    withdrawn: NO_IPV4_PREFIXES,
    attributes: {
      origin: Origin.IGP,
      asPath: opts.asn ? [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [opts.asn] }] : [],
      nextHop,
      ...(opts.localPref !== undefined ? { localPref: opts.localPref } : {}),
    },
    nlri: { afi: 1, prefixes: prefixes.map((p) => parseIpv4Prefix(p)!) },
  };
}

function reflector(): { router: Router; turns: (() => void)[]; run: () => void } {
  const turns: (() => void)[] = [];
  const router = new Router('10.0.0.100', 64512, REFLECTOR, silentLogger(), new Set(), undefined, (fn) =>
    turns.push(fn),
  );
  // Runs the deferred turns until none is left: a drain is sliced by time, so on a loaded machine the
  // work of one burst may take more than one turn.
  const run = (): void => {
    for (let round = 0; turns.length > 0 && round < 1_000; round++) {
      for (const fn of turns.splice(0)) fn();
    }
  };
  return { router, turns, run };
}

/** A reflector whose drains are paced (25 ms, `burst` at once) with two clients attached. */
function paced(burst: number): ReturnType<typeof reflector> & { a: FakePeer; b: FakePeer } {
  const r = reflector();
  r.router.drainGapMs = 25;
  r.router.drainBurst = burst;
  const [a, b] = [1, 2].map((i) => new FakePeer(peer(`c${i}`, `10.0.0.${i}`, { rrClient: true })));
  r.router.attach(a!);
  r.router.attach(b!);
  return { ...r, a: a!, b: b! };
}

describe('Router', () => {
  it('gives sessions with the same export result one group and one chunk, never a route back to its source', () => {
    const { router, turns, run } = reflector();
    const clients = [1, 2, 3].map((i) => new FakePeer(peer(`c${i}`, `10.0.0.${i}`, { rrClient: true })));
    const ebgp = new FakePeer(peer('e', '192.0.2.1', { asn: 65001 }));
    for (const c of [...clients, ebgp]) expect(router.attach(c).now).toBe(true);
    expect(router.groupFor(clients[0]!)).toBe(router.groupFor(clients[2]!));
    expect(router.groupFor(ebgp)).not.toBe(router.groupFor(clients[0]!));

    router.receive(clients[0]!, announce(['10.1.0.0/26', '10.1.0.64/26'], '100.64.0.1'));
    router.receive(clients[1]!, announce(['10.2.0.0/26'], '100.64.0.2'));
    // nothing is encoded in the read callback: one turn later, for the whole burst
    expect(clients[2]!.chunks.length).toBe(0);
    expect(turns.length).toBe(1);
    run();
    expect(clients[2]!.chunks.length).toBe(1);
    expect(clients[0]!.chunks[0]).toBe(clients[2]!.chunks[0]);
    expect([...clients[0]!.routes.keys()]).toEqual(['10.2.0.0/26']);
    expect([...clients[1]!.routes.keys()].sort()).toEqual(['10.1.0.0/26', '10.1.0.64/26']);
    expect(clients[2]!.routes.size).toBe(3);
    // eBGP: next hop self
    expect(ebgp.routes.get('10.2.0.0/26')).toBe('10.0.0.100');
    // one decision per route received, each a new best; a second path that loses changes no best
    expect(router.decisionStats()).toEqual({ runs: 3, bestChanges: 3 });
    router.receive(ebgp, announce(['10.2.0.0/26'], '192.0.2.1', { asn: 65001, localPref: 50 }));
    expect(router.decisionStats()).toEqual({ runs: 4, bestChanges: 3 });
    router.detach(clients[1]!);
    expect(router.decisionStats()).toEqual({ runs: 5, bestChanges: 4 });
  });

  it('drains a change after a quiet spell on the next turn, and a stream of changes once per drainGapMs', () => {
    vi.useFakeTimers();
    try {
      const { router, turns, run, a, b } = paced(1);
      // quiet until now: the next turn
      router.receive(a!, announce(['10.1.0.0/26'], '100.64.0.1'));
      expect(turns).toHaveLength(1);
      run();
      expect(b!.chunks).toHaveLength(1);
      // 10 ms later, two more UPDATEs: they wait for the gap, then leave in one chunk
      vi.advanceTimersByTime(10);
      router.receive(a!, announce(['10.1.0.64/26'], '100.64.0.1'));
      router.receive(a!, announce(['10.1.0.128/26'], '100.64.0.1'));
      expect(turns).toHaveLength(0);
      vi.advanceTimersByTime(14);
      expect(b!.chunks).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(b!.chunks).toHaveLength(2);
      expect([...b!.routes.keys()]).toEqual(['10.1.0.0/26', '10.1.0.64/26', '10.1.0.128/26']);
      // quiet again for longer than the gap: the next turn
      vi.advanceTimersByTime(100);
      router.receive(a!, announce(['10.1.0.192/26'], '100.64.0.1'));
      expect(turns).toHaveLength(1);
      run();
      expect(b!.chunks).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('drains a burst of drainBurst at once, then paces', () => {
    vi.useFakeTimers();
    try {
      const { router, turns, run, a, b } = paced(3);
      for (let i = 0; i < 3; i++) {
        router.receive(a!, announce([`10.1.${i}.0/26`], '100.64.0.1'));
        expect(turns).toHaveLength(1);
        run();
        expect(b!.chunks).toHaveLength(i + 1);
      }
      // the bucket is empty: the fourth waits a whole gap, the fifth comes with it
      router.receive(a!, announce(['10.1.3.0/26'], '100.64.0.1'));
      router.receive(a!, announce(['10.1.4.0/26'], '100.64.0.1'));
      expect(turns).toHaveLength(0);
      vi.advanceTimersByTime(24);
      expect(b!.chunks).toHaveLength(3);
      vi.advanceTimersByTime(1);
      expect(b!.chunks).toHaveLength(4);
      expect(b!.routes.size).toBe(5);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stores a received route once: the Adj-RIB-In holds the Loc-RIB object, without an eBGP LOCAL_PREF', () => {
    const { router } = reflector();
    const e = new FakePeer(peer('e', '192.0.2.1', { asn: 65001 }));
    router.attach(e);
    router.receive(e, announce(['10.3.0.0/24', '10.3.1.0/24'], '192.0.2.1', { asn: 65001, localPref: 900 }));
    const [a, b] = e.adjRibIn.routes();
    const best = router.locRib.best(IPV4_UNICAST, parseIpv4Prefix('10.3.0.0/24')!);
    expect(a!.attributes).toBe(best!.attributes);
    expect(b!.attributes).toBe(a!.attributes);
    expect(a!.attributes.localPref).toBeUndefined();
  });

  it('keeps a route rejected on import in the Adj-RIB-In, and out of the Loc-RIB', () => {
    const { router } = reflector();
    const e = new FakePeer(peer('e', '192.0.2.1', { asn: 65001 }));
    router.attach(e);
    // our own AS in the path: a loop
    const r = router.receive(e, announce(['10.4.0.0/24'], '192.0.2.1', { asn: 64512 }));
    expect(r.rejected).toBe(1);
    expect(e.adjRibIn.count()).toBe(1);
    expect(router.locRib.size).toBe(0);
  });

  it("accepts our own AS in a route's AS_PATH up to the peer's allowOwnAs times (BIRD's allow local as)", () => {
    const { router } = reflector();
    const e = new FakePeer({ ...peer('e', '192.0.2.1', { asn: 65001 }), allowOwnAs: 2 });
    router.attach(e);
    const path = (...asns: number[]): UpdateMessage => {
      const u = announce([`10.6.${asns.length}.0/24`], '192.0.2.1');
      return {
        ...u,
        attributes: { ...u.attributes, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns }] },
      };
    };
    expect(router.receive(e, path(65001, 64512)).rejected).toBe(0);
    expect(router.receive(e, path(65001, 64512, 65002, 64512)).rejected).toBe(0);
    expect(router.receive(e, path(65001, 64512, 64512, 65002, 64512)).rejected).toBe(1);
    expect(router.locRib.size).toBe(2);
  });

  it('sends nothing while deferring for End-of-RIB, then the table to every session', () => {
    const { router, run } = reflector();
    router.deferUntilEndOfRib(2, 60);
    const [a, b] = [1, 2].map((i) => new FakePeer(peer(`c${i}`, `10.0.0.${i}`, { rrClient: true })));
    expect(router.attach(a!).now).toBe(false);
    expect(router.attach(b!).now).toBe(false);
    router.receive(a!, announce(['10.5.0.0/24'], '100.64.0.1'));
    run();
    expect(b!.chunks.length).toBe(0);
    router.endOfRibFrom(a!, IPV4_UNICAST);
    expect(b!.tableSent).toBe(0);
    router.endOfRibFrom(b!, IPV4_UNICAST);
    expect(router.deferring).toBe(false);
    expect([a!.tableSent, b!.tableSent]).toEqual([1, 1]);
    const group = router.groupFor(b!);
    const sync = new FakePeer(b!.info);
    sync.apply(group!.syncFor(b!.info, 0).bytes);
    expect([...sync.routes.keys()]).toEqual(['10.5.0.0/24']);
  });

  it('drops a group with its last member, and fills a new one from the Loc-RIB', () => {
    const { router, run } = reflector();
    const a = new FakePeer(peer('c1', '10.0.0.1', { rrClient: true }));
    router.attach(a);
    router.receive(a, announce(['10.6.0.0/24'], '100.64.0.1'));
    run();
    const b = new FakePeer(peer('c2', '10.0.0.2', { rrClient: true }));
    const first = router.attach(b).group;
    router.detach(b);
    const c = new FakePeer(peer('c3', '10.0.0.3', { rrClient: true }));
    const again = router.attach(c).group;
    expect(again).toBe(first); // a still holds the group
    router.detach(a);
    router.detach(c);
    const d = new FakePeer(peer('c4', '10.0.0.4', { rrClient: true }));
    const fresh = router.attach(d).group;
    expect(fresh).not.toBe(first);
    // a's routes left with it: the new group is empty
    expect(fresh.advertisedTo(d.info)).toBe(0);
  });
});
