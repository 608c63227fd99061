// Builders for state machine and negotiation tests: OPENs, a configuration, events, and a driver that
// feeds events one after another.

import { transition } from '../../src/bgp/fsm/fsm.js';
import type { FsmAction, FsmConfig, FsmEvent, FsmSession, Transition } from '../../src/bgp/fsm/types.js';
import type { Capability } from '../../src/bgp/messages/capabilities/index.js';
import { Afi, Safi } from '../../src/bgp/messages/iana.js';
import { makeOpen, type OpenMessage } from '../../src/bgp/messages/open.js';

export const LOCAL_AS = 65001;
export const PEER_AS = 65002;
export const LOCAL_ID = '10.0.0.1';
export const PEER_ID = '10.0.0.2';

export const MP_IPV4: Capability = { kind: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST };
export const MP_IPV6: Capability = { kind: 'multiprotocol', afi: Afi.IPV6, safi: Safi.UNICAST };
export const ROUTE_REFRESH: Capability = { kind: 'route-refresh' };

export function as4(as: number): Capability {
  return { kind: 'four-octet-as', as };
}

/** An OPEN from `as` with the usual capabilities (IPv4 unicast, 4-octet AS, route refresh) unless given. */
export function openFrom(
  as: number,
  bgpId: string,
  opts: { holdTime?: number; capabilities?: readonly Capability[] } = {},
): OpenMessage {
  return makeOpen({
    as,
    holdTime: opts.holdTime ?? 90,
    bgpId,
    capabilities: opts.capabilities ?? [MP_IPV4, as4(as), ROUTE_REFRESH],
  });
}

export const LOCAL_OPEN = openFrom(LOCAL_AS, LOCAL_ID);
export const PEER_OPEN = openFrom(PEER_AS, PEER_ID);

/** eBGP from 10.0.0.1 (AS 65001) to 10.0.0.2 (AS 65002); BIRD-like timers. */
export function fsmConfig(overrides: Partial<FsmConfig> = {}): FsmConfig {
  return {
    passive: false,
    connectRetryTime: 120,
    holdTime: 90,
    largeHoldTime: 240,
    idleHoldMin: 5,
    idleHoldMax: 30,
    stableTime: 60,
    localOpen: LOCAL_OPEN,
    peerAs: PEER_AS,
    localId: LOCAL_ID,
    requiredCapabilities: [],
    ...overrides,
  };
}

type EventType = FsmEvent['type'];
type EventOf<T extends EventType> = Extract<FsmEvent, { type: T }>;
type EventFields<T extends EventType> = Omit<EventOf<T>, 'type' | 'now' | 'random'> & {
  now?: number;
  random?: number;
};

/** An event at `now` 0 with `random` 0.5 unless given. */
export function ev<T extends EventType>(
  type: T,
  ...fields: Partial<EventFields<T>> extends EventFields<T> ? [EventFields<T>?] : [EventFields<T>]
): EventOf<T> {
  return { now: 0, random: 0.5, ...fields[0], type } as EventOf<T>;
}

/** Feeds `events` one after another; returns every transition and the last session. */
export function drive(
  session: FsmSession,
  events: readonly FsmEvent[],
  config: FsmConfig,
): { session: FsmSession; steps: Transition[] } {
  const steps: Transition[] = [];
  let s = session;
  for (const e of events) {
    const t = transition(s, e, config);
    steps.push(t);
    s = t.session;
  }
  return { session: s, steps };
}

/** The action types in order, for compact checks of long sequences. */
export function actionTypes(actions: readonly FsmAction[]): string[] {
  return actions.map((a) => a.type);
}
