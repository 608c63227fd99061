// The data the RFC 4271 section 8 state machine works on: states, events in, actions out. The
// transition function (fsm.ts) is pure: time and randomness arrive inside events, and everything it
// wants done (send, timers, connect, close, report) comes back as actions for the speaker to carry out.

import type { BgpError } from '../messages/errors.js';
import type { NotificationMessage } from '../messages/notification.js';
import type { OpenMessage } from '../messages/open.js';
import type { RouteRefreshMessage } from '../messages/route-refresh.js';
import type { UpdateMessage } from '../messages/update.js';
import type { Negotiated } from './negotiate.js';

export type FsmState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'idleHold';

/** What the FSM needs to know about this peering (from config). */
export interface FsmConfig {
  /** Only wait for the peer to connect (RFC 4271 8.1.1 PassiveTcpEstablishment). */
  readonly passive: boolean;
  /** Seconds; ConnectRetryTime. */
  readonly connectRetryTime: number;
  /** Seconds we propose in our OPEN (0, or >= 3). */
  readonly holdTime: number;
  /** Seconds; when unset, a third of the negotiated hold time. */
  readonly keepaliveTime?: number;
  /** Hold time while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes). */
  readonly largeHoldTime: number;
  /** Idle hold time after a failure grows from min to max, doubling (BIRD's `error wait time`). */
  readonly idleHoldMin: number;
  readonly idleHoldMax: number;
  /** A session Established this long resets the idle hold time to its minimum. */
  readonly stableTime: number;
  /** The OPEN we send. */
  readonly localOpen: OpenMessage;
  /** The AS we expect the peer to announce (2/2 otherwise). */
  readonly peerAs: number;
  /** Our BGP identifier as a dotted quad (the peer must not use it: 2/3 on iBGP). */
  readonly localId: string;
  /** Capabilities the peer must announce, by code (2/7 otherwise), e.g. none by default. */
  readonly requiredCapabilities: readonly number[];
}

export interface FsmSession {
  readonly state: FsmState;
  readonly connectRetryCounter: number;
  /** The idle hold time to use next time the session falls back to Idle (seconds). */
  readonly idleHoldTime: number;
  /** Set once the peer's OPEN was accepted. */
  readonly peerOpen?: OpenMessage;
  readonly negotiated?: Negotiated;
  /** `now` (ms) of the event that made the session Established. */
  readonly establishedAt?: number;
  /** Why the session last went down, for `show protocols`. */
  readonly lastError?: string;
}

/** Every event carries the time (ms, monotonic) and a random number in [0, 1) for timer jitter. */
interface EventBase {
  readonly now: number;
  readonly random: number;
}

export type FsmEvent = EventBase &
  (
    | { readonly type: 'ManualStart' }
    | { readonly type: 'ManualStop'; readonly notification?: NotificationMessage }
    | { readonly type: 'ConnectRetryTimerExpires' }
    | { readonly type: 'HoldTimerExpires' }
    | { readonly type: 'KeepaliveTimerExpires' }
    | { readonly type: 'IdleHoldTimerExpires' }
    /** Our outgoing connection is up (RFC 4271 Event 16, Tcp_CR_Acked). */
    | { readonly type: 'TcpConnectionUp' }
    /** An incoming connection from this peer was accepted (Event 17, TcpConnectionConfirmed). */
    | { readonly type: 'TcpConnectionConfirmed' }
    /** Connecting failed, or the connection closed (Event 18). */
    | { readonly type: 'TcpConnectionFails'; readonly reason: string }
    | { readonly type: 'OpenMsg'; readonly open: OpenMessage }
    | { readonly type: 'KeepaliveMsg' }
    | { readonly type: 'UpdateMsg'; readonly update: UpdateMessage }
    | { readonly type: 'RouteRefreshMsg'; readonly refresh: RouteRefreshMessage }
    | { readonly type: 'NotifMsg'; readonly notification: NotificationMessage }
    /** A header, OPEN or UPDATE error found while decoding (Events 21, 22, 28): send its NOTIFICATION. */
    | { readonly type: 'MessageError'; readonly error: BgpError }
    /** The speaker resolved a connection collision against this connection (Event 23). */
    | { readonly type: 'OpenCollisionDump' }
  );

export type FsmAction =
  | { readonly type: 'send'; readonly message: import('../messages/message.js').BgpMessage }
  | { readonly type: 'startTimer'; readonly timer: TimerName; readonly seconds: number }
  | { readonly type: 'stopTimer'; readonly timer: TimerName }
  /** Open the outgoing TCP connection. */
  | { readonly type: 'connect' }
  /** Close the TCP connection (after sending whatever `send` actions came before). */
  | { readonly type: 'close' }
  | { readonly type: 'sessionUp'; readonly negotiated: Negotiated; readonly peerOpen: OpenMessage }
  /**
   * The Established session ended. `graceful`: the TCP connection failed with no NOTIFICATION either
   * way, the case in which a graceful-restart peer's routes are kept as stale (RFC 4724 4.2).
   */
  | { readonly type: 'sessionDown'; readonly reason: string; readonly graceful: boolean }
  /** An UPDATE or ROUTE-REFRESH received while Established, for the RIB. */
  | { readonly type: 'deliver'; readonly message: UpdateMessage | RouteRefreshMessage };

export interface Transition {
  readonly session: FsmSession;
  readonly actions: readonly FsmAction[];
}
