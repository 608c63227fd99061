// RFC 4271 section 8.2.2: the BGP finite state machine of one connection, as a pure function.
//
//   transition(session, event, config) -> { session, actions }
//
// Time (`now`, ms) and randomness (`random`, for jitter) arrive in the event; everything to be done
// comes back as actions (types.ts). The optional session attributes of RFC 4271 8.1.1 are fixed:
// AllowAutomaticStart on (the idle hold timer below), PassiveTcpEstablishment from config.passive,
// DelayOpen, DampPeerOscillations, SendNOTIFICATIONwithoutOPEN, CollisionDetectEstablishedState and
// AutomaticStop off. So:
//
//   Idle --ManualStart / IdleHoldTimerExpires--> Connect (Active when passive: never `connect`)
//   Connect --ConnectRetryTimerExpires--> Connect (drop the attempt, connect again)
//   Active --ConnectRetryTimerExpires--> Connect (passive: stays Active)
//   Connect, Active --TcpConnectionFails--> Active (as BIRD does; the RFC's Idle would add idle hold
//     backoff to every refused connection)
//   Connect, Active --TcpConnectionUp / TcpConnectionConfirmed--> OpenSent (send OPEN, large hold timer)
//   OpenSent --OpenMsg--> OpenConfirm (checkOpen, negotiate, send KEEPALIVE), or Idle with its error
//   OpenSent --TcpConnectionFails--> Active
//   OpenConfirm --KeepaliveMsg--> Established (sessionUp)
//   any --error--> Idle
//
// Going to Idle after a failure (every way except ManualStop and OpenCollisionDump) starts the idle hold
// timer, whose expiry restarts the peer (automatic start); the idle hold time doubles from idleHoldMin
// to idleHoldMax with each failure, and starts over after a session that stayed Established for
// stableTime seconds (BIRD's `error wait time`). ManualStop and OpenCollisionDump go to Idle for good.
//
// Unexpected events: in Connect and Active the connection is dropped without a NOTIFICATION (no OPEN
// was sent); from OpenSent on, a Finite State Machine Error NOTIFICATION is sent, with the RFC 6608
// subcode for an unexpected message and Unspecified Error (0) for an unexpected timer event. Events the
// RFC says to ignore (ManualStart outside Idle, a second TCP connection from OpenSent on, which the
// speaker tracks for collision detection, RFC 4271 6.8) produce no actions.
//
// The speaker must deliver timer events only for running timers (a stopped timer never fires): a stale
// ConnectRetryTimerExpires in OpenSent is an FSM error, a stale IdleHoldTimerExpires in Idle a restart.

import { type BgpError, Cease, FsmError, HoldTimerExpired } from '../messages/errors.js';
import { CeaseSubcode, ErrorCode, errorCodeName, errorSubcodeName, FsmSubcode } from '../messages/iana.js';
import { KEEPALIVE } from '../messages/keepalive.js';
import { type NotificationMessage, shutdownMessage } from '../messages/notification.js';
import { checkOpen, negotiate } from './negotiate.js';
import type { FsmAction, FsmConfig, FsmEvent, FsmSession, FsmState, TimerName, Transition } from './types.js';

export function initialSession(config: FsmConfig): FsmSession {
  return { state: 'Idle', connectRetryCounter: 0, idleHoldTime: config.idleHoldMin };
}

/** RFC 4271 10: ConnectRetryTime jittered to [0.75, 1] of itself; `random` in [0, 1]. */
export function connectRetrySeconds(config: FsmConfig, random: number): number {
  const r = random >= 0 && random <= 1 ? random : random > 1 ? 1 : 0;
  return config.connectRetryTime * (0.75 + 0.25 * r);
}

/** The idle hold time after `current`: doubled, within [idleHoldMin, idleHoldMax]. */
export function nextIdleHoldTime(current: number, config: FsmConfig): number {
  return Math.max(config.idleHoldMin, Math.min(current * 2, config.idleHoldMax));
}

/** The text of a NOTIFICATION for logs: code and subcode names, and an RFC 8203 shutdown message. */
export function describeNotification(n: NotificationMessage): string {
  const names = `${errorCodeName(n.code)} / ${errorSubcodeName(n.code, n.subcode)}`;
  const text = shutdownMessage(n);
  return text === undefined ? names : `${names}: ${JSON.stringify(text)}`;
}

/** Cease / Administrative Shutdown without data: what ManualStop sends unless told otherwise. */
export const ADMINISTRATIVE_SHUTDOWN: NotificationMessage = Object.freeze({
  type: 'notification',
  code: ErrorCode.CEASE,
  subcode: CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
  data: new Uint8Array(0),
});

export function transition(session: FsmSession, event: FsmEvent, config: FsmConfig): Transition {
  if (session.state === 'Idle') return idle(session, event, config);
  const s = session;
  const state = s.state;
  switch (event.type) {
    case 'ManualStart':
      return stay(s);
    case 'ManualStop': {
      const n = event.notification ?? ADMINISTRATIVE_SHUTDOWN;
      const reason = connected(state)
        ? `manual stop, sent NOTIFICATION ${describeNotification(n)}`
        : 'manual stop';
      return toIdle(s, event, config, 'stop', reason, n);
    }
    case 'OpenCollisionDump':
      return fail(
        s,
        event,
        config,
        new Cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION, 'the other connection to the peer won'),
        'dump',
      );
    case 'TcpConnectionUp':
    case 'TcpConnectionConfirmed':
      return connected(state) ? stay(s) : toOpenSent(s, config);
    case 'TcpConnectionFails':
      return tcpFails(s, event, config);
    case 'ConnectRetryTimerExpires':
      return connected(state) ? unexpected(s, event, config) : retryConnect(s, event, config);
    case 'HoldTimerExpires':
      return connected(state)
        ? fail(s, event, config, new HoldTimerExpired(`hold timer expired in ${state}`))
        : unexpected(s, event, config);
    case 'KeepaliveTimerExpires':
      return state === 'OpenConfirm' || state === 'Established'
        ? sendKeepalive(s)
        : unexpected(s, event, config);
    case 'IdleHoldTimerExpires':
      return unexpected(s, event, config);
    case 'OpenMsg':
      return state === 'OpenSent' ? receiveOpen(s, event.open, event, config) : unexpected(s, event, config);
    case 'KeepaliveMsg':
      if (state === 'OpenConfirm') return toEstablished(s, event, config);
      return state === 'Established' ? { session: s, actions: restartHold(s) } : unexpected(s, event, config);
    case 'UpdateMsg':
      return state === 'Established' ? deliver(s, event.update) : unexpected(s, event, config);
    case 'RouteRefreshMsg':
      return state === 'Established' ? deliver(s, event.refresh) : unexpected(s, event, config);
    case 'NotifMsg':
      return toIdle(
        s,
        event,
        config,
        'failure',
        `received NOTIFICATION ${describeNotification(event.notification)}`,
      );
    case 'MessageError':
      if (!connected(state)) return toIdle(s, event, config, 'failure', event.error.message);
      return namesUnexpectedMessage(state, event.error.code)
        ? unexpected(s, event, config)
        : fail(s, event, config, event.error);
  }
}

// ---- Idle ----

function idle(s: FsmSession, event: FsmEvent, config: FsmConfig): Transition {
  switch (event.type) {
    case 'ManualStart':
      return start(s, event, config, true);
    case 'IdleHoldTimerExpires':
      return start(s, event, config, false);
    case 'ManualStop':
      // RFC 4271 ignores ManualStop in Idle; here it also cancels a pending automatic restart.
      return { session: { ...s, connectRetryCounter: 0 }, actions: [stopTimer('idleHold')] };
    case 'TcpConnectionUp':
    case 'TcpConnectionConfirmed':
      // Idle refuses connections.
      return { session: s, actions: [CLOSE] };
    default:
      return stay(s);
  }
}

/**
 * ManualStart (RFC 4271 Event 1/4): the counter and the idle hold time start over. Automatic start
 * (Event 3/5, the idle hold timer) keeps both, so they go on counting failures.
 */
function start(s: FsmSession, event: FsmEvent, config: FsmConfig, manual: boolean): Transition {
  const actions: FsmAction[] = [];
  if (manual) actions.push(stopTimer('idleHold'));
  actions.push(startTimer('connectRetry', connectRetrySeconds(config, event.random)));
  if (!config.passive) actions.push(CONNECT);
  const session: FsmSession = {
    ...s,
    state: config.passive ? 'Active' : 'Connect',
    connectRetryCounter: manual ? 0 : s.connectRetryCounter,
    idleHoldTime: manual ? config.idleHoldMin : s.idleHoldTime,
  };
  return { session, actions };
}

// ---- Connect and Active ----

/** Connect / Active + ConnectRetryTimerExpires: drop the attempt and connect again (passive: wait on). */
function retryConnect(s: FsmSession, event: FsmEvent, config: FsmConfig): Transition {
  const actions: FsmAction[] = [];
  if (s.state === 'Connect') actions.push(CLOSE);
  actions.push(startTimer('connectRetry', connectRetrySeconds(config, event.random)));
  if (config.passive) return { session: { ...s, state: 'Active' }, actions };
  actions.push(CONNECT);
  return { session: { ...s, state: 'Connect' }, actions };
}

/** Connect / Active + TcpConnectionUp / TcpConnectionConfirmed (DelayOpen off). */
function toOpenSent(s: FsmSession, config: FsmConfig): Transition {
  return {
    session: { ...s, state: 'OpenSent' },
    actions: [
      stopTimer('connectRetry'),
      { type: 'send', message: config.localOpen },
      startTimer('hold', config.largeHoldTime),
    ],
  };
}

function tcpFails(
  s: FsmSession,
  event: Extract<FsmEvent, { type: 'TcpConnectionFails' }>,
  config: FsmConfig,
): Transition {
  const reason = `TCP connection failed: ${event.reason}`;
  if (s.state === 'OpenConfirm' || s.state === 'Established') {
    return toIdle(s, event, config, 'failure', reason);
  }
  // Connect / Active (counted as a failed attempt) and OpenSent (RFC 4271: not counted): wait in Active
  // for the connect retry timer, listening meanwhile.
  const actions: FsmAction[] = [CLOSE];
  if (s.state === 'OpenSent') actions.push(stopTimer('hold'));
  actions.push(startTimer('connectRetry', connectRetrySeconds(config, event.random)));
  const counter = s.state === 'OpenSent' ? s.connectRetryCounter : s.connectRetryCounter + 1;
  return { session: { ...s, state: 'Active', connectRetryCounter: counter, lastError: reason }, actions };
}

// ---- OpenSent, OpenConfirm, Established ----

function receiveOpen(
  s: FsmSession,
  open: Extract<FsmEvent, { type: 'OpenMsg' }>['open'],
  event: FsmEvent,
  config: FsmConfig,
): Transition {
  const error = checkOpen(open, config);
  if (error) return fail(s, event, config, error);
  const negotiated = negotiate(config.localOpen, open, config);
  const actions: FsmAction[] = [{ type: 'send', message: KEEPALIVE }];
  if (negotiated.holdTime > 0) {
    actions.push(startTimer('hold', negotiated.holdTime));
    actions.push(startTimer('keepalive', negotiated.keepaliveTime));
  } else {
    // RFC 4271 4.2: a hold time of 0 means neither timer runs (the large one of OpenSent stops).
    actions.push(stopTimer('hold'));
  }
  return { session: { ...s, state: 'OpenConfirm', peerOpen: open, negotiated }, actions };
}

function toEstablished(s: FsmSession, event: FsmEvent, config: FsmConfig): Transition {
  const { negotiated, peerOpen } = s;
  if (!negotiated || !peerOpen) return unexpected(s, event, config); // OpenConfirm always has them
  const session: FsmSession = { ...s, state: 'Established', establishedAt: event.now };
  return { session, actions: [...restartHold(s), { type: 'sessionUp', negotiated, peerOpen }] };
}

function restartHold(s: FsmSession): FsmAction[] {
  const hold = s.negotiated?.holdTime ?? 0;
  return hold > 0 ? [startTimer('hold', hold)] : [];
}

function sendKeepalive(s: FsmSession): Transition {
  const actions: FsmAction[] = [{ type: 'send', message: KEEPALIVE }];
  const every = s.negotiated?.keepaliveTime ?? 0;
  if (every > 0) actions.push(startTimer('keepalive', every));
  return { session: s, actions };
}

function deliver(s: FsmSession, message: Extract<FsmAction, { type: 'deliver' }>['message']): Transition {
  return { session: s, actions: [...restartHold(s), { type: 'deliver', message }] };
}

// ---- errors and the way back to Idle ----

/** From OpenSent on the connection carries BGP messages, so errors are reported with a NOTIFICATION. */
function connected(state: FsmState): boolean {
  return state !== 'Connect' && state !== 'Active';
}

const MESSAGE_EVENTS: ReadonlySet<FsmEvent['type']> = new Set([
  'OpenMsg',
  'KeepaliveMsg',
  'UpdateMsg',
  'RouteRefreshMsg',
  'NotifMsg',
  'MessageError',
]);

const UNEXPECTED_MESSAGE_SUBCODE: Partial<Record<FsmState, number>> = {
  OpenSent: FsmSubcode.UNEXPECTED_IN_OPEN_SENT,
  OpenConfirm: FsmSubcode.UNEXPECTED_IN_OPEN_CONFIRM,
  Established: FsmSubcode.UNEXPECTED_IN_ESTABLISHED,
};

/**
 * A decoding error of a message the state does not expect at all is an unexpected message (RFC 4271
 * 8.2.2 lists UpdateMsgErr before Established and BGPOpenMsgErr in Established under "any other
 * event"); header errors, and OPEN errors up to OpenConfirm, send their own NOTIFICATION (RFC 4271 6).
 */
function namesUnexpectedMessage(state: FsmState, code: number): boolean {
  if (state === 'Established') return code === ErrorCode.OPEN_MESSAGE;
  return code === ErrorCode.UPDATE_MESSAGE || code === ErrorCode.ROUTE_REFRESH;
}

/** The message a decoding error is about, by its NOTIFICATION error code. */
const MESSAGE_OF_ERROR: Readonly<Record<number, string>> = {
  [ErrorCode.OPEN_MESSAGE]: 'OPEN',
  [ErrorCode.UPDATE_MESSAGE]: 'UPDATE',
  [ErrorCode.ROUTE_REFRESH]: 'ROUTE-REFRESH',
};

/** An event the state has no use for: drop the connection (Connect, Active) or FSM error (RFC 6608). */
function unexpected(s: FsmSession, event: FsmEvent, config: FsmConfig): Transition {
  const what =
    event.type === 'MessageError'
      ? `unexpected ${MESSAGE_OF_ERROR[event.error.code] ?? 'message'} in ${s.state} (and it is malformed: ${event.error.message})`
      : `unexpected ${event.type} in ${s.state}`;
  const subcode = UNEXPECTED_MESSAGE_SUBCODE[s.state];
  if (subcode === undefined) return toIdle(s, event, config, 'failure', what);
  return fail(
    s,
    event,
    config,
    new FsmError(MESSAGE_EVENTS.has(event.type) ? subcode : FsmSubcode.UNSPECIFIED, what),
  );
}

/** To Idle because of `error`: its NOTIFICATION is sent when the state is past Connect/Active. */
function fail(
  s: FsmSession,
  event: FsmEvent,
  config: FsmConfig,
  error: BgpError,
  how: Down = 'failure',
): Transition {
  const reason = connected(s.state) ? `sent NOTIFICATION ${error.message}` : error.message;
  return toIdle(s, event, config, how, reason, error.toNotification());
}

/**
 * How a session goes down: `failure` counts and arms the automatic restart; `stop` (ManualStop) clears
 * the counter and stays down; `dump` (OpenCollisionDump) counts and stays down.
 */
type Down = 'failure' | 'stop' | 'dump';

/** Timers that may run in each state: the ones to stop on the way to Idle. */
const RUNNING: Readonly<Record<FsmState, readonly TimerName[]>> = {
  Idle: ['idleHold'],
  Connect: ['connectRetry'],
  Active: ['connectRetry'],
  OpenSent: ['hold'],
  OpenConfirm: ['hold', 'keepalive'],
  Established: ['hold', 'keepalive'],
};

function toIdle(
  s: FsmSession,
  event: FsmEvent,
  config: FsmConfig,
  how: Down,
  reason: string,
  notification?: NotificationMessage,
): Transition {
  const actions: FsmAction[] = [];
  if (notification && connected(s.state)) actions.push({ type: 'send', message: notification });
  actions.push(CLOSE);
  for (const timer of RUNNING[s.state]) actions.push(stopTimer(timer));
  if (s.state === 'Established') {
    actions.push({ type: 'sessionDown', reason, graceful: event.type === 'TcpConnectionFails' });
  }
  let idleHoldTime = s.idleHoldTime;
  if (how === 'failure') {
    const stable =
      s.state === 'Established' &&
      s.establishedAt !== undefined &&
      event.now - s.establishedAt >= config.stableTime * 1000;
    const wait = stable ? config.idleHoldMin : s.idleHoldTime;
    actions.push(startTimer('idleHold', wait));
    idleHoldTime = nextIdleHoldTime(wait, config);
  }
  const session: FsmSession = {
    state: 'Idle',
    connectRetryCounter: how === 'stop' ? 0 : s.connectRetryCounter + 1,
    idleHoldTime,
    lastError: reason,
  };
  return { session, actions };
}

// ---- actions ----

const CLOSE: FsmAction = Object.freeze({ type: 'close' });
const CONNECT: FsmAction = Object.freeze({ type: 'connect' });

function startTimer(timer: TimerName, seconds: number): FsmAction {
  return { type: 'startTimer', timer, seconds };
}

function stopTimer(timer: TimerName): FsmAction {
  return { type: 'stopTimer', timer };
}

function stay(s: FsmSession): Transition {
  return { session: s, actions: [] };
}
