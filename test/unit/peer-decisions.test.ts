// The peer's decisions as plain data: accepting connections and collisions (RFC 4271 6.8), graceful
// restart as the receiving speaker (RFC 4724 4.2), ROUTE-REFRESH answers (RFC 7313), maximum prefixes.

import { describe, expect, it } from 'vitest';
import {
  type ConnectionsView,
  decideAccept,
  decideOnEstablished,
  decideOnOpen,
} from '../../src/bgp/fsm/connections.js';
import {
  restartOnEndOfRib,
  restartOnSessionDown,
  restartOnSessionUp,
  restartOver,
} from '../../src/bgp/fsm/graceful-restart.js';
import { answerRouteRefresh, checkMaxPrefixes } from '../../src/bgp/fsm/route-refresh.js';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../src/bgp/messages/iana.js';

const ID = { localId: '10.0.0.50', localAs: 64512, peerAs: 64512 };

function view(partial: Partial<ConnectionsView>): ConnectionsView {
  return { stopped: false, primary: { id: 1, state: 'Active', direction: 'out' }, pending: [], ...partial };
}

describe('decideAccept', () => {
  it('refuses when the peer is stopped or idle', () => {
    expect(decideAccept(view({ stopped: true })).action).toBe('refuse');
    expect(decideAccept(view({ primary: { id: 1, state: 'Idle', direction: 'out' } })).action).toBe('refuse');
  });
  it('answers 6/7 while a session without graceful restart is Established', () => {
    const v = view({
      primary: { id: 1, state: 'Established', direction: 'in' },
      established: { id: 1, gracefulRestart: false },
    });
    expect(decideAccept(v).action).toBe('cease');
  });
  it('lets a graceful-restart peer open a new session (it may have restarted)', () => {
    const v = view({
      primary: { id: 1, state: 'Established', direction: 'in' },
      established: { id: 1, gracefulRestart: true },
    });
    expect(decideAccept(v)).toEqual({ action: 'pending' });
  });
  it('when full, evicts the oldest connection that sent no OPEN, never one that did', () => {
    const v = view({
      pending: [
        { id: 2, state: 'OpenConfirm', direction: 'in', peerBgpId: '10.0.0.9' },
        { id: 3, state: 'OpenSent', direction: 'in' },
        { id: 4, state: 'OpenSent', direction: 'in' },
      ],
    });
    expect(decideAccept(v, 3)).toEqual({ action: 'pending', evict: 3 });
    const full = view({
      pending: [2, 3, 4].map((id) => ({
        id,
        state: 'OpenConfirm' as const,
        direction: 'in' as const,
        peerBgpId: '10.0.0.9',
      })),
    });
    expect(decideAccept(full, 3).action).toBe('cease');
  });
});

describe('decideOnOpen (RFC 4271 6.8)', () => {
  const out = (state: 'OpenSent' | 'OpenConfirm', peerBgpId?: string) => ({
    id: 1,
    state,
    direction: 'out' as const,
    ...(peerBgpId ? { peerBgpId } : {}),
  });
  it('does not compare with a connection in OpenSent (its identifier is unknown)', () => {
    const v = view({
      primary: out('OpenSent'),
      pending: [{ id: 2, state: 'OpenConfirm', direction: 'in', peerBgpId: '10.0.0.99' }],
    });
    expect(decideOnOpen(v, 2, ID)).toEqual({ dump: [] });
  });
  it('higher peer id: the outgoing connection goes; lower: the incoming one', () => {
    const hi = view({
      primary: out('OpenConfirm', '10.0.0.99'),
      pending: [{ id: 2, state: 'OpenConfirm', direction: 'in', peerBgpId: '10.0.0.99' }],
    });
    expect(decideOnOpen(hi, 2, ID)).toEqual({ dump: [1] });
    const lo = view({
      primary: out('OpenConfirm', '10.0.0.7'),
      pending: [{ id: 2, state: 'OpenConfirm', direction: 'in', peerBgpId: '10.0.0.7' }],
    });
    expect(decideOnOpen(lo, 2, ID)).toEqual({ dump: [2] });
    expect(decideOnOpen(lo, 1, ID)).toEqual({ dump: [2] });
  });
  it('two incoming connections are no collision; different identifiers are not compared', () => {
    const two = view({
      pending: [
        { id: 2, state: 'OpenConfirm', direction: 'in', peerBgpId: '10.0.0.99' },
        { id: 3, state: 'OpenConfirm', direction: 'in', peerBgpId: '10.0.0.99' },
      ],
    });
    expect(decideOnOpen(two, 3, ID)).toEqual({ dump: [] });
    const other = view({
      primary: out('OpenConfirm', '10.0.0.98'),
      pending: [{ id: 2, state: 'OpenConfirm', direction: 'in', peerBgpId: '10.0.0.99' }],
    });
    expect(decideOnOpen(other, 2, ID)).toEqual({ dump: [] });
  });
  it('with an Established session: the new one goes, unless both sides do graceful restart', () => {
    const base = {
      primary: { id: 1, state: 'Established' as const, direction: 'in' as const, peerBgpId: '10.0.0.99' },
      pending: [
        {
          id: 2,
          state: 'OpenConfirm' as const,
          direction: 'in' as const,
          peerBgpId: '10.0.0.99',
          peerGracefulRestart: true,
        },
      ],
    };
    expect(decideOnOpen(view({ ...base, established: { id: 1, gracefulRestart: false } }), 2, ID)).toEqual({
      dump: [2],
    });
    expect(decideOnOpen(view({ ...base, established: { id: 1, gracefulRestart: true } }), 2, ID)).toEqual({
      dump: [],
      restarted: 1,
    });
  });
  it('Established: every other live connection goes', () => {
    const v = view({
      primary: { id: 1, state: 'OpenSent', direction: 'out' },
      pending: [
        { id: 2, state: 'Established', direction: 'in' },
        { id: 3, state: 'OpenSent', direction: 'in' },
        { id: 4, state: 'Idle', direction: 'in' },
      ],
    });
    expect(decideOnEstablished(v, 2)).toEqual({ dump: [1, 3] });
  });
});

describe('graceful restart, receiving speaker (RFC 4724 4.2)', () => {
  const peer = { restartTime: 120, families: [{ family: IPV4_UNICAST }, { family: IPV6_UNICAST }] };
  it('a TCP failure keeps the negotiated families stale and starts the timer', () => {
    const s = restartOnSessionDown(undefined, { graceful: true, families: [IPV4_UNICAST], peer });
    expect(s.staleFamilies).toEqual([IPV4_UNICAST]);
    expect(s.actions).toEqual([{ type: 'startTimer', seconds: 120 }]);
    expect([...(s.state?.families ?? [])]).toEqual([IPV4_UNICAST]);
  });
  it('a NOTIFICATION (not graceful) or no capability keeps nothing and ends a restart in progress', () => {
    const during = { families: new Set([IPV4_UNICAST]) };
    const s = restartOnSessionDown(during, { graceful: false, families: [IPV4_UNICAST], peer });
    expect(s.staleFamilies).toEqual([]);
    expect(s.state).toBeUndefined();
    expect(s.actions.map((a) => a.type)).toEqual(['stopTimer', 'sweep']);
  });
  it('back without forwarding state for a family: that family is swept; End-of-RIB sweeps the rest', () => {
    const st = { families: new Set([IPV4_UNICAST, IPV6_UNICAST]) };
    const up = restartOnSessionUp(st, { families: [{ family: IPV4_UNICAST, forwardingState: true }] });
    expect(up.actions).toEqual([
      { type: 'sweep', families: [IPV6_UNICAST], why: 'forwarding state not kept' },
    ]);
    const eor = restartOnEndOfRib(up.state, IPV4_UNICAST);
    expect(eor.state).toBeUndefined();
    expect(eor.actions).toEqual([
      { type: 'sweep', families: [IPV4_UNICAST], why: 'End-of-RIB' },
      { type: 'stopTimer' },
    ]);
  });
  it('back without the capability, or the timer: everything stale goes', () => {
    const st = { families: new Set([IPV4_UNICAST]) };
    expect(restartOnSessionUp(st, undefined).actions.map((a) => a.type)).toEqual(['stopTimer', 'sweep']);
    expect(restartOver(st, 'timer').state).toBeUndefined();
    expect(restartOver(undefined, 'timer').actions).toEqual([]);
  });
});

describe('ROUTE-REFRESH and maximum prefixes', () => {
  const rr = (subtype: number, afi = 1) => ({ type: 'route-refresh' as const, afi, safi: 1, subtype });
  it('enhanced: BoRR, the routes, EoRR in that order; plain: the routes', () => {
    expect(
      answerRouteRefresh(rr(0), { families: [IPV4_UNICAST], enhanced: true }).map((a) =>
        a.type === 'send' ? a.message.subtype : a.type,
      ),
    ).toEqual([1, 'resend', 2]);
    expect(answerRouteRefresh(rr(0), { families: [IPV4_UNICAST], enhanced: false })).toEqual([
      { type: 'resend', family: IPV4_UNICAST },
    ]);
  });
  it("the peer's BoRR marks, its EoRR sweeps; unknown subtypes and families are ignored", () => {
    const s = { families: [IPV4_UNICAST], enhanced: true };
    expect(answerRouteRefresh(rr(1), s)).toEqual([{ type: 'markStale', family: IPV4_UNICAST }]);
    expect(answerRouteRefresh(rr(2), s)).toEqual([{ type: 'sweepStale', family: IPV4_UNICAST }]);
    expect(answerRouteRefresh(rr(7), s)).toEqual([]);
    expect(answerRouteRefresh(rr(0, 2), s)).toEqual([]);
  });
  it('exceeding the limit in a family gives Cease 6/1 with AFI, SAFI and the limit', () => {
    const counts = new Map([
      [IPV4_UNICAST, 10],
      [IPV6_UNICAST, 11],
    ]);
    const over = checkMaxPrefixes([IPV4_UNICAST, IPV6_UNICAST], (f) => counts.get(f) ?? 0, {
      limit: 10,
      restartTime: 30,
    });
    expect(over?.family).toBe(IPV6_UNICAST);
    expect([...(over?.notification.data ?? [])]).toEqual([0, 2, 1, 0, 0, 0, 10]);
    expect(over?.restartAfter).toBe(30);
    expect(checkMaxPrefixes([IPV4_UNICAST], () => 10, { limit: 10, restartTime: 30 })).toBeUndefined();
    expect(checkMaxPrefixes([IPV4_UNICAST], () => 1e6, undefined)).toBeUndefined();
  });
});
