// The peer's decisions about its TCP connections, as pure functions of what it knows (no sockets).
//
// A peer has one primary connection, the one that connects out (or waits, when passive) and restarts
// itself after failures, and a few pending incoming connections that race it. Every incoming
// connection starts as a pending one, so the direction of each connection is what it really is, and
// a connection that never sends an OPEN cannot take the place of the primary.
//
// RFC 4271 6.8, connection collision detection: when an OPEN arrives on a connection, every other
// connection of the peer in OpenConfirm (its OPEN known) whose peer has the same BGP Identifier is
// compared with it; connections in OpenSent are not examined (their identifier is not known: RFC 4271
// allows the comparison only when it is known by other means). A connection in Established wins
// without a comparison (CollisionDetectEstablishedState off): the new one is closed with Cease 6/7,
// except for a peer that does graceful restart, whose new OPEN means that it restarted (RFC 4724 4.2).
// Two incoming connections are no collision in the RFC's sense (each side initiated one): both go on
// and the first to reach Established wins.

import { resolveCollision } from './collision.js';
import type { FsmState } from './types.js';

export type Direction = 'out' | 'in';

/** What the decisions need to know about one connection. */
export interface ConnectionView {
  /** Stable for the life of the connection. */
  readonly id: number;
  readonly state: FsmState;
  readonly direction: Direction;
  /** The BGP Identifier of the peer's OPEN, once accepted (OpenConfirm on). */
  readonly peerBgpId?: string;
  /** The peer's OPEN carried the graceful-restart capability. */
  readonly peerGracefulRestart?: boolean;
}

export interface ConnectionsView {
  /** The peer was stopped (ManualStop, a maximum-prefix hold-down, de-configured). */
  readonly stopped: boolean;
  readonly primary: ConnectionView;
  /** Incoming connections not (yet) promoted, oldest first. */
  readonly pending: readonly ConnectionView[];
  /** The connection whose session is Established, if any, and whether graceful restart was negotiated. */
  readonly established?: { readonly id: number; readonly gracefulRestart: boolean };
}

export interface Identity {
  readonly localId: string;
  readonly localAs: number;
  readonly peerAs: number;
}

/** At most this many pending incoming connections per peer. */
export const MAX_PENDING_CONNECTIONS = 4;

export type AcceptDecision =
  /** Close at once, without a word. */
  | { readonly action: 'refuse'; readonly reason: string }
  /** Send Cease / Connection Collision Resolution (6/7), then close. */
  | { readonly action: 'cease'; readonly reason: string }
  /** Run it as a pending connection (send our OPEN); `evict`: first close this older pending one. */
  | { readonly action: 'pending'; readonly evict?: number };

/** An incoming TCP connection from the peer's address. */
export function decideAccept(
  view: ConnectionsView,
  maxPending: number = MAX_PENDING_CONNECTIONS,
): AcceptDecision {
  if (view.stopped || view.primary.state === 'Idle') {
    return { action: 'refuse', reason: 'the peer is idle' };
  }
  if (view.established && !view.established.gracefulRestart) {
    return { action: 'cease', reason: 'a session is established (collision)' };
  }
  if (view.pending.length < maxPending) return { action: 'pending' };
  // full: a connection that has not sent its OPEN yet gives way (oldest first), so silent connections
  // cannot lock the real peer out; connections whose OPEN we have keep their place
  const silent = view.pending.find((c) => c.state === 'OpenSent' || c.state === 'Active');
  if (silent) return { action: 'pending', evict: silent.id };
  return { action: 'cease', reason: 'too many connections from the peer are being opened' };
}

export interface OpenDecision {
  /** Connections to close with Cease 6/7 (OpenCollisionDump). */
  readonly dump: readonly number[];
  /** The Established connection whose peer restarted: end its session as a graceful restart. */
  readonly restarted?: number;
}

/** The OPEN of connection `id` was accepted (it is now in OpenConfirm). */
export function decideOnOpen(view: ConnectionsView, id: number, identity: Identity): OpenDecision {
  const all = [view.primary, ...view.pending];
  const link = all.find((c) => c.id === id);
  if (!link || link.peerBgpId === undefined) return { dump: [] };
  const est = view.established;
  if (est && est.id !== id) {
    // RFC 4724 4.2: a graceful-restart peer that opens a new session has restarted
    if (est.gracefulRestart && link.peerGracefulRestart) return { dump: [], restarted: est.id };
    return { dump: [id] };
  }
  const dump: number[] = [];
  for (const other of all) {
    if (other.id === id || other.state !== 'OpenConfirm' || other.peerBgpId !== link.peerBgpId) continue;
    if (other.direction === link.direction) continue; // two incoming: the first Established wins
    const keep = resolveCollision(identity.localId, link.peerBgpId, {
      local: identity.localAs,
      remote: identity.peerAs,
    });
    const loser = keep === 'keep-incoming' ? 'out' : 'in';
    dump.push(link.direction === loser ? link.id : other.id);
  }
  return { dump: [...new Set(dump)] };
}

/** Connection `id` reached Established: every other live connection of the peer goes (6/7). */
export function decideOnEstablished(view: ConnectionsView, id: number): OpenDecision {
  const dump = [view.primary, ...view.pending]
    .filter((c) => c.id !== id && c.state !== 'Idle')
    .map((c) => c.id);
  return { dump };
}
