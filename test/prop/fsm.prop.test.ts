// Property tests of the state machine (STYLE.md, Tests): random event sequences keep its invariants.
//
// Two kinds of sequences: "any" delivers every event at any time, spurious timer events included (the
// FSM must still never throw and keep its invariants); "faithful" delivers timer events only for timers
// the FSM has started and not stopped, as the speaker does, and checks what then must never happen.
// Beside the events, a model of the running timers is kept from the startTimer / stopTimer actions.
//
// Runs: TERN_PROP_RUNS, else 100,000 in CI and 10,000 locally, for each property. The seed
// is not fixed; fast-check prints seed and path of a failure, and `fc.assert(..., { seed, path })`
// replays it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialSession, transition } from '../../src/bgp/fsm/fsm.js';
import type {
  FsmAction,
  FsmConfig,
  FsmEvent,
  FsmSession,
  FsmState,
  TimerName,
} from '../../src/bgp/fsm/types.js';
import {
  MessageHeaderError,
  OpenMessageError,
  RouteRefreshError,
  UpdateMessageError,
} from '../../src/bgp/messages/errors.js';
import { shutdownNotification } from '../../src/bgp/messages/notification.js';
import { endOfRib } from '../../src/bgp/messages/update.js';
import { fsmConfig, LOCAL_ID, openFrom, PEER_AS, PEER_ID, PEER_OPEN } from '../helpers/fsm.js';

const RUNS = Number(process.env.TERN_PROP_RUNS ?? (process.env.CI ? 100_000 : 10_000));
const MAX_EVENTS = 32;

const STATES: ReadonlySet<FsmState> = new Set([
  'Idle',
  'Connect',
  'Active',
  'OpenSent',
  'OpenConfirm',
  'Established',
]);

/** Timers that may be running in each state (and so must have been stopped on leaving it). */
const MAY_RUN: Readonly<Record<FsmState, readonly TimerName[]>> = {
  Idle: ['idleHold'],
  Connect: ['connectRetry'],
  Active: ['connectRetry'],
  OpenSent: ['hold'],
  OpenConfirm: ['hold', 'keepalive'],
  Established: ['hold', 'keepalive'],
};

const TIMER_EVENTS = {
  connectRetry: 'ConnectRetryTimerExpires',
  hold: 'HoldTimerExpires',
  keepalive: 'KeepaliveTimerExpires',
  idleHold: 'IdleHoldTimerExpires',
} as const satisfies Record<TimerName, FsmEvent['type']>;

const TIMER_OF_EVENT: ReadonlyMap<FsmEvent['type'], TimerName> = new Map(
  Object.entries(TIMER_EVENTS).map(([timer, type]) => [type, timer as TimerName]),
);

const CONFIGS: readonly FsmConfig[] = [
  fsmConfig(),
  fsmConfig({ passive: true }),
  fsmConfig({ localOpen: openFrom(65001, LOCAL_ID, { holdTime: 0 }), holdTime: 0, connectRetryTime: 5 }),
  fsmConfig({ passive: true, keepaliveTime: 7, idleHoldMin: 1, idleHoldMax: 64, stableTime: 0 }),
  fsmConfig({ requiredCapabilities: [65], connectRetryTime: 0, idleHoldMin: 0, idleHoldMax: 0 }),
];

type EventBody = FsmEvent extends infer E ? (E extends FsmEvent ? Omit<E, 'now' | 'random'> : never) : never;

/** Event bodies; the ones that move a session forward are repeated so that Established is often reached. */
const EVENTS: readonly EventBody[] = [
  ...repeat(3, { type: 'ManualStart' }),
  { type: 'ManualStop' },
  { type: 'ManualStop', notification: shutdownNotification(4, 'reset') },
  { type: 'ConnectRetryTimerExpires' },
  { type: 'HoldTimerExpires' },
  { type: 'KeepaliveTimerExpires' },
  ...repeat(2, { type: 'IdleHoldTimerExpires' }),
  ...repeat(3, { type: 'TcpConnectionUp' }),
  ...repeat(2, { type: 'TcpConnectionConfirmed' }),
  { type: 'TcpConnectionFails', reason: 'ECONNRESET' },
  ...repeat(3, { type: 'OpenMsg', open: PEER_OPEN }),
  { type: 'OpenMsg', open: openFrom(PEER_AS, PEER_ID, { holdTime: 3 }) },
  { type: 'OpenMsg', open: openFrom(PEER_AS, PEER_ID, { holdTime: 0 }) },
  { type: 'OpenMsg', open: openFrom(PEER_AS + 1, PEER_ID) },
  { type: 'OpenMsg', open: { ...PEER_OPEN, version: 3 } },
  ...repeat(5, { type: 'KeepaliveMsg' }),
  ...repeat(2, { type: 'UpdateMsg', update: endOfRib(1, 1) }),
  { type: 'RouteRefreshMsg', refresh: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 } },
  { type: 'NotifMsg', notification: shutdownNotification(2, 'bye') },
  { type: 'MessageError', error: new MessageHeaderError(2, 'bad length') },
  { type: 'MessageError', error: new OpenMessageError(6, 'hold time 1') },
  { type: 'MessageError', error: new UpdateMessageError(11, 'bad AS_PATH') },
  { type: 'MessageError', error: new RouteRefreshError(1, 'short') },
  { type: 'OpenCollisionDump' },
];

function repeat(n: number, x: EventBody): EventBody[] {
  return Array.from({ length: n }, () => x);
}

/** Per state, the events that move a session forward; a guided step takes one of them. */
const FORWARD: Readonly<Record<FsmState, readonly EventBody[]>> = {
  Idle: [{ type: 'ManualStart' }, { type: 'IdleHoldTimerExpires' }],
  Connect: [{ type: 'TcpConnectionUp' }],
  Active: [{ type: 'TcpConnectionConfirmed' }, { type: 'TcpConnectionUp' }],
  OpenSent: [{ type: 'OpenMsg', open: PEER_OPEN }],
  OpenConfirm: [{ type: 'KeepaliveMsg' }],
  Established: [
    { type: 'KeepaliveMsg' },
    { type: 'UpdateMsg', update: endOfRib(1, 1) },
    { type: 'KeepaliveTimerExpires' },
  ],
};

interface Step {
  /** Take a FORWARD event of the current state rather than EVENTS[pick]. */
  readonly guided: boolean;
  readonly pick: number;
  /** ms since the previous event (up to 2 minutes, so stable sessions happen). */
  readonly dt: number;
  readonly random: number;
}

const step: fc.Arbitrary<Step> = fc.record({
  guided: fc.nat({ max: 9 }).map((n) => n < 4),
  pick: fc.nat({ max: EVENTS.length - 1 }),
  dt: fc.nat({ max: 120_000 }),
  random: fc.nat({ max: 0xffff }).map((n) => n / 0x10000),
});

const scenario = fc.record({
  config: fc.constantFrom(...CONFIGS),
  steps: fc.array(step, { maxLength: MAX_EVENTS, size: 'max' }),
});

/** The event of `s`, or in faithful mode undefined for a timer event of a timer that is not running. */
function eventOf(
  s: Step,
  state: FsmState,
  now: number,
  running: ReadonlySet<TimerName>,
  faithful: boolean,
): FsmEvent | undefined {
  const forward = FORWARD[state];
  let body = s.guided ? forward[s.pick % forward.length]! : EVENTS[s.pick]!;
  if (faithful && body.type.endsWith('TimerExpires')) {
    const timers = [...running];
    if (timers.length === 0) return undefined;
    body = { type: TIMER_EVENTS[timers[s.pick % timers.length]!] };
  }
  return { ...body, now, random: s.random } as FsmEvent;
}

/** What one run saw, for the coverage check. */
interface Seen {
  established: boolean;
  restarted: boolean;
}

/** Fails the property with `what` unless `ok` (plain code: expect() is too slow for millions of calls). */
function holds(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(what());
}

/** Feeds the steps, checking every invariant after every transition. */
function check(config: FsmConfig, steps: readonly Step[], faithful: boolean): Seen {
  const seen: Seen = { established: false, restarted: false };
  const running = new Set<TimerName>();
  let session: FsmSession = initialSession(config);
  let up = false;
  let now = 0;
  let stopped = true; // no ManualStart yet, or a ManualStop since
  for (const s of steps) {
    now += s.dt;
    const event = eventOf(s, session.state, now, running, faithful);
    if (!event) continue;
    const fired = TIMER_OF_EVENT.get(event.type);
    if (fired) running.delete(fired);
    const t = transition(session, event, config);
    const from = session.state;
    const to = t.session.state;
    session = t.session;
    const where = () => `${from} + ${event.type} -> ${to}: ${JSON.stringify(t.actions)}`;

    holds(STATES.has(to), () => `invalid state: ${where()}`);
    if (to === 'Established' && from !== 'Established') {
      holds(from === 'OpenConfirm' && event.type === 'KeepaliveMsg', () => `Established via ${where()}`);
      seen.established = true;
    }
    holds(
      session.idleHoldTime >= config.idleHoldMin && session.idleHoldTime <= config.idleHoldMax,
      () => `idle hold time ${session.idleHoldTime}: ${where()}`,
    );
    holds(to !== 'Idle' || session.negotiated === undefined, () => `Idle keeps the negotiation: ${where()}`);

    let sentOpen = false;
    let closed = false;
    for (const a of t.actions) {
      applyTimer(a, running, config, where);
      if (a.type === 'close') closed = true;
      if (a.type === 'send' && a.message.type === 'open') sentOpen = true;
      if (a.type === 'send' && a.message.type === 'notification') {
        holds(from !== 'Connect' && from !== 'Active' && to === 'Idle', () => `NOTIFICATION: ${where()}`);
        // what only a spurious timer event can cause
        holds(!faithful || a.message.code !== 5 || a.message.subcode !== 0, () => `stale timer: ${where()}`);
      }
      holds(a.type !== 'connect' || !config.passive, () => `passive connects: ${where()}`);
      if (a.type === 'sessionUp') {
        holds(!up, () => `two sessionUp: ${where()}`);
        up = true;
      }
      if (a.type === 'sessionDown') {
        holds(up, () => `sessionDown without sessionUp: ${where()}`);
        up = false;
      }
    }
    holds(up === (to === 'Established'), () => `up ${up}: ${where()}`);
    holds(sentOpen === (to === 'OpenSent' && from !== 'OpenSent'), () => `OPEN sent ${sentOpen}: ${where()}`);
    // no timer outlives the state that started it: on entering Idle, hold and keepalive are stopped
    for (const timer of running) {
      holds(MAY_RUN[to].includes(timer), () => `${timer} still running: ${where()}`);
    }
    holds(to !== 'Idle' || from === 'Idle' || closed, () => `Idle without close: ${where()}`);

    if (event.type === 'ManualStop') {
      holds(
        to === 'Idle' && session.connectRetryCounter === 0 && !running.has('idleHold'),
        () => `ManualStop: ${where()}`,
      );
      stopped = true;
    }
    if (event.type === 'ManualStart') stopped = false;
    if (from === 'Idle' && to !== 'Idle' && event.type === 'IdleHoldTimerExpires') seen.restarted = true;
    // with honest timers, a stopped peer stays down until the next ManualStart
    holds(!faithful || !stopped || to === 'Idle', () => `restarted after ManualStop: ${where()}`);
  }
  // whatever happened, an operator can always stop and start the peer again
  const stop = transition(session, { type: 'ManualStop', now, random: 0 }, config);
  holds(stop.session.state === 'Idle', () => `ManualStop in ${session.state}`);
  const start = transition(stop.session, { type: 'ManualStart', now, random: 0 }, config);
  holds(
    start.session.state === (config.passive ? 'Active' : 'Connect'),
    () => 'ManualStart after ManualStop',
  );
  return seen;
}

function applyTimer(a: FsmAction, running: Set<TimerName>, config: FsmConfig, where: () => string): void {
  if (a.type === 'stopTimer') running.delete(a.timer);
  if (a.type !== 'startTimer') return;
  holds(Number.isFinite(a.seconds) && a.seconds >= 0, () => `timer seconds: ${where()}`);
  if (a.timer === 'connectRetry') {
    holds(
      a.seconds >= 0.75 * config.connectRetryTime && a.seconds <= config.connectRetryTime,
      () => `connect retry jitter: ${where()}`,
    );
  }
  holds(a.seconds > 0 || (a.timer !== 'hold' && a.timer !== 'keepalive'), () => `0 s ${a.timer}: ${where()}`);
  running.add(a.timer);
}

describe('FSM invariants over random event sequences', () => {
  for (const faithful of [false, true]) {
    it(faithful ? 'timer events only for running timers' : 'any event at any time', () => {
      const tally = { runs: 0, established: 0, restarted: 0 };
      fc.assert(
        fc.property(scenario, ({ config, steps }) => {
          const seen = check(config, steps, faithful);
          tally.runs++;
          if (seen.established) tally.established++;
          if (seen.restarted) tally.restarted++;
        }),
        { numRuns: RUNS },
      );
      // the sequences do exercise whole sessions and automatic restarts
      expect(tally.established / tally.runs).toBeGreaterThan(0.2);
      expect(tally.restarted / tally.runs).toBeGreaterThan(0.2);
    });
  }
});
