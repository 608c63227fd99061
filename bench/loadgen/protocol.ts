// The load generator's IPC: JSON messages between the parent (index.ts) and the child process
// (child.ts), and the per-client and summed statistics the child reports.
//
//   parent                         child
//   start {options}          ->    encodes every client's messages
//                            <-    ready {encodeMs, ...}
//   connect                  ->    connects every client (paced by connectPerSecond)
//                            <-    progress {summary}         every progressMs while something changes
//   go                       ->    clients in announce: 'go' send their UPDATEs (now or once Established)
//   churn {id, client, action} ->  one client withdraws its prefixes, announces them again, or restarts
//                            <-    reply {id, summary, at}    at: when the bytes were written / it dropped
//   stats {id, detail}       ->
//                            <-    reply {id, summary, clients?}
//   stop {id}                ->    Cease 6/2 on every session, then
//                            <-    reply {id, summary}, and the child exits

import { errorCodeName, errorSubcodeName } from '../../src/bgp/messages/iana.js';
import type { ClientGracefulRestart } from './encode.js';
import type { PlanOptions } from './plan.js';
import type { NextHopRule, TallyCounts } from './tally.js';

export interface LoadOptions {
  /** The daemon under test. */
  readonly target: { readonly host: string; readonly port: number };
  readonly plan: PlanOptions;
  /** Hold time in every OPEN, seconds (0 or 3..65535). */
  readonly holdTime: number;
  /** When clients send their UPDATEs: as soon as their session is Established, or on `go`. */
  readonly announce: 'established' | 'go';
  /** Clients in the daemon's AS (the plan's `sameAsn`). */
  readonly ibgp: boolean;
  /** Send End-of-RIB after the announcements. Default true. */
  readonly endOfRib?: boolean;
  /** What next hop received routes must carry. */
  readonly nextHop: NextHopRule;
  /** An extra client that announces nothing and counts everything (address: the next after the plan's). */
  readonly monitor?: { readonly asn: number };
  /** Connections started per second; 0 or absent: all at once. */
  readonly connectPerSecond?: number;
  /** How often the child pushes a progress summary (ms). Default 200. */
  readonly progressMs?: number;
  /**
   * A connection that fails before Established is tried again after this long (ms); absent: never (a
   * client then stays closed, and the test sees it).
   */
  readonly connectRetryMs?: number;
  /** Clients (not the monitor) offer graceful restart (RFC 4724) in their OPEN. */
  readonly gracefulRestart?: ClientGracefulRestart;
}

/**
 * A change one client makes on its Established session: `withdraw` all its prefixes, `announce` them
 * again, or `restart` gracefully (the connection dropped, a new one with the Restart bit that announces
 * only the first `keep` prefixes, then End-of-RIB).
 */
export type ChurnAction =
  | { readonly kind: 'withdraw' }
  | { readonly kind: 'announce' }
  | { readonly kind: 'restart'; readonly keep: number };

export type ClientState = 'idle' | 'connecting' | 'open-sent' | 'open-confirm' | 'established' | 'closed';

export interface NotificationRecord {
  readonly code: number;
  readonly subcode: number;
  /** "4/0 Hold Timer Expired" */
  readonly text: string;
  readonly at: number;
}

export interface CloseRecord {
  readonly at: number;
  /** The state the session was in when the connection closed. */
  readonly state: ClientState;
  readonly error?: string;
}

export interface ClientStats {
  /** The client's index in the plan; -1 for the monitor. */
  readonly index: number;
  readonly localAddress: string;
  readonly state: ClientState;
  readonly connectAt?: number;
  readonly establishedAt?: number;
  /** Times the session reached Established. */
  readonly sessions: number;
  /** Graceful restarts asked for by the parent (each one also counts a close). */
  readonly restarts: number;
  /** When the UPDATEs were written. */
  readonly announcedAt?: number;
  /** The hold time in the daemon's OPEN. */
  readonly peerHoldTime?: number;
  readonly keepalivesReceived: number;
  /** Longest time the daemon sent nothing while the session was Established (ms), up to now. */
  readonly maxSilenceMs: number;
  readonly tally: TallyCounts;
  /** NOTIFICATIONs received from the daemon. */
  readonly notifications: readonly NotificationRecord[];
  readonly closes: readonly CloseRecord[];
  /** Messages the client could not frame or decode (it closes the connection). */
  readonly decodeError?: string;
}

export interface Summary {
  readonly at: number;
  /** Announcing clients (the monitor is reported apart). */
  readonly clients: number;
  readonly established: number;
  readonly everEstablished: number;
  readonly closed: number;
  /** Announcing clients in each state. */
  readonly states: Readonly<Partial<Record<ClientState, number>>>;
  readonly firstConnectAt?: number;
  /** When every announcing client was first Established at once. */
  readonly allEstablishedAt?: number;
  readonly lastEstablishedAt?: number;
  /** Clients that hold exactly every other client's prefixes, with no duplicate, own or foreign prefix. */
  readonly complete: number;
  /** When the last client reached its expected count, once every client has (the convergence time). */
  readonly allFullAt?: number;
  readonly held: { readonly min: number; readonly max: number; readonly expected: number };
  /** How many announcing clients hold exactly n prefixes, by n (a churn's target is a count of these). */
  readonly heldCounts: Readonly<Record<number, number>>;
  readonly duplicates: number;
  readonly own: number;
  readonly foreign: number;
  readonly withdrawals: number;
  readonly badNextHop: number;
  readonly badOriginAs: number;
  readonly malformed: number;
  readonly decodeErrors: number;
  readonly firstProblem?: string;
  /** NOTIFICATIONs received, by "code/subcode name". */
  readonly notifications: Readonly<Record<string, number>>;
  readonly notificationCount: number;
  /** Connection closes (any cause), and those of them that were restarts asked for. */
  readonly closes: number;
  readonly restarts: number;
  /** Established sessions the daemon ended (restarts asked for, and `stop`, are not counted). */
  readonly sessionDrops: number;
  /** Connections closed before Established (refused, reset, closed during the OPEN exchange). */
  readonly failedConnects: number;
  /** The longest silence from the daemon on any Established session, and how many exceeded the hold time. */
  readonly maxSilenceMs: number;
  readonly silencesOverHoldTime: number;
  readonly monitor?: TallyCounts;
  readonly monitorState?: ClientState;
  /** The generator's own cost: to show it is not the bottleneck. */
  readonly generator: {
    readonly cpuUserMs: number;
    readonly cpuSystemMs: number;
    readonly loopDelayMaxMs: number;
    readonly rssMb: number;
  };
}

export type ParentMessage =
  | { readonly type: 'start'; readonly options: LoadOptions }
  | { readonly type: 'connect' }
  | { readonly type: 'go' }
  | { readonly type: 'churn'; readonly id: number; readonly client: number; readonly action: ChurnAction }
  | { readonly type: 'stats'; readonly id: number; readonly detail: boolean }
  | { readonly type: 'stop'; readonly id: number };

export type ChildMessage =
  | {
      readonly type: 'ready';
      readonly encodeMs: number;
      readonly updateMessages: number;
      readonly updateBytes: number;
    }
  | { readonly type: 'progress'; readonly summary: Summary }
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly summary: Summary;
      readonly clients?: readonly ClientStats[];
      /** churn: when the client wrote its UPDATEs or dropped its connection. */
      readonly at?: number;
    }
  | { readonly type: 'error'; readonly message: string };

export function notificationText(code: number, subcode: number): string {
  return `${code}/${subcode} ${errorCodeName(code)}${subcode === 0 ? '' : ` / ${errorSubcodeName(code, subcode)}`}`;
}

/** A clock comparable across processes on one host, with sub-millisecond resolution (ms since the epoch). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
