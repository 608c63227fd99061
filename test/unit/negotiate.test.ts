// OPEN checks (RFC 4271 6.2, RFC 6793, RFC 6286, RFC 5492) and capability negotiation.

import { describe, expect, it } from 'vitest';
import { checkOpen, keepaliveTimeFor, negotiate } from '../../src/bgp/fsm/negotiate.js';
import type { Capability } from '../../src/bgp/messages/capabilities/index.js';
import { OpenMessageError } from '../../src/bgp/messages/errors.js';
import {
  AS_TRANS,
  CapabilityCode,
  familyKey,
  IPV4_UNICAST,
  IPV6_UNICAST,
} from '../../src/bgp/messages/iana.js';
import type { OpenMessage } from '../../src/bgp/messages/open.js';
import { toHex } from '../helpers/bytes.js';
import {
  as4,
  fsmConfig,
  LOCAL_AS,
  LOCAL_ID,
  LOCAL_OPEN,
  MP_IPV4,
  MP_IPV6,
  openFrom,
  PEER_AS,
  PEER_ID,
  PEER_OPEN,
  ROUTE_REFRESH,
} from '../helpers/fsm.js';

const config = fsmConfig();

/** checkOpen's verdict as code/subcode/hex data, or 'ok'. */
function verdict(open: OpenMessage, cfg = config): string {
  const err = checkOpen(open, cfg);
  if (err === undefined) return 'ok';
  expect(err).toBeInstanceOf(OpenMessageError);
  const n = err.toNotification();
  return `${n.code}/${n.subcode} ${toHex(n.data)}`.trim();
}

describe('checkOpen', () => {
  it('accepts a good OPEN', () => {
    expect(verdict(PEER_OPEN)).toBe('ok');
  });

  it('2/1 with the version we support (2 octets) for any other version', () => {
    expect(verdict({ ...PEER_OPEN, version: 3 })).toBe('2/1 0004');
    expect(verdict({ ...PEER_OPEN, version: 5 })).toBe('2/1 0004');
    expect(checkOpen({ ...PEER_OPEN, version: 3 }, config)?.message).toContain('version 3');
  });

  describe('peer AS (2/2, no data)', () => {
    it('compares the 2-octet field without the 4-octet AS capability', () => {
      const cfg = fsmConfig({ peerAs: 65002 });
      expect(verdict(openFrom(65002, PEER_ID, { capabilities: [MP_IPV4] }), cfg)).toBe('ok');
      expect(verdict(openFrom(65003, PEER_ID, { capabilities: [MP_IPV4] }), cfg)).toBe('2/2');
    });

    it('compares the 4-octet AS capability when present, not the 2-octet field', () => {
      const cfg = fsmConfig({ peerAs: 4200000001 });
      const big = openFrom(4200000001, PEER_ID);
      expect(big.myAs).toBe(AS_TRANS);
      expect(verdict(big, cfg)).toBe('ok');
      expect(verdict(openFrom(4200000002, PEER_ID), cfg)).toBe('2/2');
      // the capability wins over a 2-octet field that disagrees
      expect(verdict({ ...PEER_OPEN, myAs: 65002, capabilities: [as4(4200000001)] }, cfg)).toBe('ok');
      expect(verdict({ ...PEER_OPEN, myAs: 65002, capabilities: [as4(65009)] })).toBe('2/2');
    });

    it('rejects AS_TRANS without the capability, even when configured as the peer AS', () => {
      const open = { ...PEER_OPEN, myAs: AS_TRANS, capabilities: [MP_IPV4] };
      expect(verdict(open)).toBe('2/2');
      expect(verdict(open, fsmConfig({ peerAs: AS_TRANS }))).toBe('2/2');
      expect(checkOpen(open, config)?.message).toContain('AS_TRANS');
    });

    it('names the AS it got and the one expected', () => {
      expect(checkOpen(openFrom(65003, PEER_ID), config)?.message).toContain('peer AS 65003, expected 65002');
    });
  });

  describe('BGP identifier (2/3, no data)', () => {
    it('rejects 0.0.0.0', () => {
      expect(verdict({ ...PEER_OPEN, bgpId: '0.0.0.0' })).toBe('2/3');
    });

    it('rejects our own identifier on iBGP', () => {
      const ibgp = fsmConfig({ peerAs: LOCAL_AS });
      expect(verdict(openFrom(LOCAL_AS, LOCAL_ID), ibgp)).toBe('2/3');
      expect(verdict(openFrom(LOCAL_AS, PEER_ID), ibgp)).toBe('ok');
    });

    it('accepts our own identifier on eBGP (RFC 6286)', () => {
      expect(verdict(openFrom(PEER_AS, LOCAL_ID))).toBe('ok');
    });

    it('uses the 4-octet AS of both OPENs to tell iBGP', () => {
      const local = openFrom(4200000001, LOCAL_ID);
      const cfg = fsmConfig({ localOpen: local, peerAs: 4200000001 });
      expect(verdict(openFrom(4200000001, LOCAL_ID), cfg)).toBe('2/3');
    });

    it('rejects a malformed identifier (never produced by decoding)', () => {
      expect(verdict({ ...PEER_OPEN, bgpId: 'nonsense' })).toBe('2/3');
    });
  });

  it('2/6 for hold time 1 or 2; 0 and 3 are fine', () => {
    expect(verdict(openFrom(PEER_AS, PEER_ID, { holdTime: 1 }))).toBe('2/6');
    expect(verdict(openFrom(PEER_AS, PEER_ID, { holdTime: 2 }))).toBe('2/6');
    expect(verdict(openFrom(PEER_AS, PEER_ID, { holdTime: 0 }))).toBe('ok');
    expect(verdict(openFrom(PEER_AS, PEER_ID, { holdTime: 3 }))).toBe('ok');
  });

  describe('required capabilities (2/7)', () => {
    const requiring = (...codes: number[]) => fsmConfig({ requiredCapabilities: codes });

    it('accepts when every required capability is present', () => {
      expect(verdict(PEER_OPEN, requiring(CapabilityCode.FOUR_OCTET_AS, CapabilityCode.ROUTE_REFRESH))).toBe(
        'ok',
      );
    });

    it('lists the missing capability as code and length 0', () => {
      expect(verdict(PEER_OPEN, requiring(CapabilityCode.ADD_PATH))).toBe('2/7 4500');
    });

    it('lists every missing capability once, in the configured order', () => {
      const cfg = requiring(
        CapabilityCode.GRACEFUL_RESTART,
        CapabilityCode.ROUTE_REFRESH,
        CapabilityCode.EXTENDED_MESSAGE,
        CapabilityCode.GRACEFUL_RESTART,
      );
      expect(verdict(PEER_OPEN, cfg)).toBe('2/7 40000600');
    });

    it('counts a capability kept as unknown bytes by its code', () => {
      const open = { ...PEER_OPEN, capabilities: [...PEER_OPEN.capabilities, unknown(73)] };
      expect(verdict(open, requiring(73))).toBe('ok');
    });
  });

  it('checks in order: version, AS, identifier, hold time, capabilities', () => {
    const bad: OpenMessage = {
      type: 'open',
      version: 3,
      myAs: 1,
      holdTime: 1,
      bgpId: '0.0.0.0',
      capabilities: [],
    };
    const cfg = fsmConfig({ requiredCapabilities: [CapabilityCode.ADD_PATH] });
    expect(verdict(bad, cfg)).toBe('2/1 0004');
    expect(verdict({ ...bad, version: 4 }, cfg)).toBe('2/2');
    expect(verdict({ ...bad, version: 4, myAs: PEER_AS }, cfg)).toBe('2/3');
    expect(verdict({ ...bad, version: 4, myAs: PEER_AS, bgpId: PEER_ID }, cfg)).toBe('2/6');
    expect(verdict({ ...bad, version: 4, myAs: PEER_AS, bgpId: PEER_ID, holdTime: 0 }, cfg)).toBe('2/7 4500');
  });
});

function unknown(code: number): Capability {
  return { kind: 'unknown', code, value: new Uint8Array(0) };
}

function addPath(...families: [afi: number, safi: number, mode: 'send' | 'receive' | 'both'][]): Capability {
  return {
    kind: 'add-path',
    families: families.map(([afi, safi, mode]) => ({
      afi,
      safi,
      send: mode !== 'receive',
      receive: mode !== 'send',
    })),
  };
}

/** Negotiates our OPEN with `localCaps` against the peer's with `peerCaps`. */
function withCaps(localCaps: readonly Capability[], peerCaps: readonly Capability[]) {
  const local = openFrom(LOCAL_AS, LOCAL_ID, { capabilities: localCaps });
  const peer = openFrom(PEER_AS, PEER_ID, { capabilities: peerCaps });
  return negotiate(local, peer, fsmConfig({ localOpen: local }));
}

describe('negotiate', () => {
  it('takes peer AS and identifier from the OPEN', () => {
    const n = negotiate(LOCAL_OPEN, openFrom(4200000001, PEER_ID), config);
    expect(n.peerAs).toBe(4200000001);
    expect(n.peerId).toBe(PEER_ID);
  });

  describe('hold and keepalive time', () => {
    const times = (ours: number, theirs: number, keepaliveTime?: number) => {
      const local = openFrom(LOCAL_AS, LOCAL_ID, { holdTime: ours });
      const n = negotiate(
        local,
        openFrom(PEER_AS, PEER_ID, { holdTime: theirs }),
        fsmConfig({ keepaliveTime }),
      );
      return [n.holdTime, n.keepaliveTime];
    };

    it('uses the smaller hold time and a third of it', () => {
      expect(times(90, 90)).toEqual([90, 30]);
      expect(times(90, 30)).toEqual([30, 10]);
      expect(times(9, 240)).toEqual([9, 3]);
      expect(times(10, 240)).toEqual([10, 3]);
      expect(times(3, 3)).toEqual([3, 1]);
    });

    it('hold time 0 on either side: no hold timer, no keepalives', () => {
      expect(times(0, 90)).toEqual([0, 0]);
      expect(times(90, 0)).toEqual([0, 0]);
      expect(times(0, 0, 10)).toEqual([0, 0]);
    });

    it('uses the configured keepalive time, but never more than a third of the hold time', () => {
      expect(times(90, 90, 5)).toEqual([90, 5]);
      expect(times(90, 90, 30)).toEqual([90, 30]);
      expect(times(90, 90, 60)).toEqual([90, 30]);
      expect(times(90, 9, 10)).toEqual([9, 3]);
    });

    it('treats a configured keepalive time of 0 as unset', () => {
      expect(times(90, 90, 0)).toEqual([90, 30]);
      expect(keepaliveTimeFor(90, 0)).toBe(30);
      expect(keepaliveTimeFor(0, undefined)).toBe(0);
    });
  });

  describe('families (RFC 4760)', () => {
    it('IPv4 unicast when neither side announces Multiprotocol', () => {
      expect(withCaps([], []).families).toEqual([IPV4_UNICAST]);
    });

    it('those both announced, in the order of our OPEN, without repeats', () => {
      expect(withCaps([MP_IPV6, MP_IPV4, MP_IPV6], [MP_IPV4, MP_IPV6]).families).toEqual([
        IPV6_UNICAST,
        IPV4_UNICAST,
      ]);
      expect(withCaps([MP_IPV4, MP_IPV6], [MP_IPV6]).families).toEqual([IPV6_UNICAST]);
    });

    it('a side without Multiprotocol counts as IPv4 unicast only', () => {
      expect(withCaps([MP_IPV4, MP_IPV6], []).families).toEqual([IPV4_UNICAST]);
      expect(withCaps([], [MP_IPV4, MP_IPV6]).families).toEqual([IPV4_UNICAST]);
      expect(withCaps([], [MP_IPV6]).families).toEqual([]);
      expect(withCaps([MP_IPV6], []).families).toEqual([]);
    });
  });

  describe('ADD-PATH (RFC 7911)', () => {
    const v4 = IPV4_UNICAST;
    const v6 = IPV6_UNICAST;
    const directions = (
      ours: 'send' | 'receive' | 'both' | null,
      theirs: 'send' | 'receive' | 'both' | null,
    ) => {
      const n = withCaps(
        ours ? [MP_IPV4, addPath([1, 1, ours])] : [MP_IPV4],
        theirs ? [addPath([1, 1, theirs])] : [],
      );
      return { receive: [...n.addPathReceive], send: [...n.addPathSend] };
    };

    it('we receive where we offered receive and the peer send', () => {
      expect(directions('receive', 'send')).toEqual({ receive: [v4], send: [] });
      expect(directions('both', 'send')).toEqual({ receive: [v4], send: [] });
    });

    it('we send where we offered send and the peer receive', () => {
      expect(directions('send', 'receive')).toEqual({ receive: [], send: [v4] });
      expect(directions('send', 'both')).toEqual({ receive: [], send: [v4] });
    });

    it('both ways when both offered both', () => {
      expect(directions('both', 'both')).toEqual({ receive: [v4], send: [v4] });
    });

    it('nothing when the directions do not meet or a side did not offer', () => {
      expect(directions('receive', 'receive')).toEqual({ receive: [], send: [] });
      expect(directions('send', 'send')).toEqual({ receive: [], send: [] });
      expect(directions('both', null)).toEqual({ receive: [], send: [] });
      expect(directions(null, 'both')).toEqual({ receive: [], send: [] });
    });

    it('per family, only for negotiated families', () => {
      const n = withCaps(
        [MP_IPV4, MP_IPV6, addPath([1, 1, 'receive'], [2, 1, 'both'], [1, 2, 'both'])],
        [MP_IPV4, MP_IPV6, addPath([1, 1, 'both'], [2, 1, 'receive'], [1, 2, 'both'])],
      );
      expect([...n.addPathReceive]).toEqual([v4]);
      expect([...n.addPathSend]).toEqual([v6]);
      expect(n.receiveContext.addPath).toBe(n.addPathReceive);
      expect(n.sendContext.addPath).toBe(n.addPathSend);
    });

    it('merges several entries for one family', () => {
      const n = withCaps(
        [MP_IPV4, addPath([1, 1, 'send']), addPath([1, 1, 'receive'])],
        [addPath([1, 1, 'both'])],
      );
      expect([...n.addPathReceive]).toEqual([v4]);
      expect([...n.addPathSend]).toEqual([v4]);
    });
  });

  describe('4-octet AS (RFC 6793)', () => {
    it('both sides', () => {
      const n = withCaps([as4(LOCAL_AS)], [as4(PEER_AS)]);
      expect(n.as4).toBe(true);
      expect(n.receiveContext.as4).toBe(true);
      expect(n.sendContext.as4).toBe(true);
    });

    it('one side only: 2-octet AS both ways', () => {
      for (const n of [withCaps([as4(LOCAL_AS)], []), withCaps([], [as4(PEER_AS)])]) {
        expect(n.as4).toBe(false);
        expect(n.receiveContext.as4).toBe(false);
        expect(n.sendContext.as4).toBe(false);
      }
    });
  });

  it('route refresh and enhanced route refresh need both sides', () => {
    const err: Capability = { kind: 'enhanced-route-refresh' };
    expect(withCaps([ROUTE_REFRESH, err], [ROUTE_REFRESH, err])).toMatchObject({
      routeRefresh: true,
      enhancedRouteRefresh: true,
    });
    expect(withCaps([ROUTE_REFRESH, err], [])).toMatchObject({
      routeRefresh: false,
      enhancedRouteRefresh: false,
    });
    expect(withCaps([], [ROUTE_REFRESH, err])).toMatchObject({
      routeRefresh: false,
      enhancedRouteRefresh: false,
    });
  });

  describe('extended messages (RFC 8654)', () => {
    const ext: Capability = { kind: 'extended-message' };
    const sizes = (local: Capability[], peer: Capability[]) => {
      const n = withCaps(local, peer);
      return [n.extendedMessage, n.receiveContext.extendedMessage, n.sendContext.extendedMessage];
    };

    it('both sides: both directions', () => {
      expect(sizes([ext], [ext])).toEqual([true, true, true]);
    });

    it('we announced it: the peer may send them to us, we send none', () => {
      expect(sizes([ext], [])).toEqual([false, true, false]);
    });

    it('only the peer announced it: neither direction', () => {
      expect(sizes([], [ext])).toEqual([false, false, false]);
    });
  });

  describe('graceful restart (RFC 4724)', () => {
    it('reads the peer capability: time, R bit, families with the F bit', () => {
      const gr: Capability = {
        kind: 'graceful-restart',
        restartFlags: 0x8 | 0x4,
        restartTime: 120,
        families: [
          { afi: 1, safi: 1, forwardingState: true },
          { afi: 2, safi: 1, forwardingState: false },
        ],
      };
      expect(withCaps([], [gr]).peerGracefulRestart).toEqual({
        restartTime: 120,
        restarting: true,
        families: [
          { family: IPV4_UNICAST, forwardingState: true },
          { family: IPV6_UNICAST, forwardingState: false },
        ],
      });
    });

    it('keeps the last of several, and the R bit off', () => {
      const first: Capability = { kind: 'graceful-restart', restartFlags: 8, restartTime: 1, families: [] };
      const last: Capability = { kind: 'graceful-restart', restartFlags: 0, restartTime: 90, families: [] };
      expect(withCaps([], [first, last]).peerGracefulRestart).toEqual({
        restartTime: 90,
        restarting: false,
        families: [],
      });
    });

    it('absent when the peer sent none (whatever we sent)', () => {
      const ours: Capability = { kind: 'graceful-restart', restartFlags: 0, restartTime: 90, families: [] };
      const n = withCaps([ours], []);
      expect(n.peerGracefulRestart).toBeUndefined();
      expect('peerGracefulRestart' in n).toBe(false);
    });
  });

  it('builds both codec contexts from a full BIRD-like pair of OPENs', () => {
    const ext: Capability = { kind: 'extended-message' };
    const n = withCaps(
      [MP_IPV4, MP_IPV6, as4(LOCAL_AS), ext, addPath([1, 1, 'both'], [2, 1, 'receive'])],
      [MP_IPV4, MP_IPV6, as4(PEER_AS), ext, addPath([1, 1, 'both'], [2, 1, 'send'])],
    );
    expect(n.receiveContext).toEqual({
      as4: true,
      addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]),
      extendedMessage: true,
    });
    expect(n.sendContext).toEqual({ as4: true, addPath: new Set([IPV4_UNICAST]), extendedMessage: true });
    expect(familyKey(2, 1)).toBe(IPV6_UNICAST);
  });
});
