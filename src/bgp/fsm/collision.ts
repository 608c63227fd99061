// RFC 4271 6.8: connection collision detection. Two BGP speakers may connect to each other at the same
// time, leaving two connections for one peering; one of them must go.
//
// When the speaker calls resolveCollision: an OPEN arrives on one connection to a peer (so the peer's BGP
// identifier is known) while another connection to the same peer (same remote address) is
//   - in OpenConfirm, or
//   - in OpenSent with the peer's OPEN already known by other means (RFC 4271 6.8 allows this; a speaker
//     that does not know it waits until that connection's OPEN arrives).
// A connection still in Connect or Active has no session to compare; one in Established wins without a
// comparison (CollisionDetectEstablishedState is off): the new connection is closed with a Cease 6/7.
//
// The loser is given an OpenCollisionDump event (the FSM sends Cease / Connection Collision Resolution,
// 6/7, and closes it without an automatic restart); the winner goes on.

import { parseIpv4 } from '../messages/prefix.js';

export type CollisionOutcome = 'keep-incoming' | 'keep-outgoing';

/**
 * Which connection survives, comparing BGP identifiers as 32-bit unsigned integers: the one initiated
 * by the speaker with the higher identifier. So when ours is lower, our outgoing connection is closed
 * (`keep-incoming`); otherwise the incoming one (`keep-outgoing`).
 *
 * Equal identifiers can only happen on eBGP (RFC 6286 2.2; checkOpen rejects them on iBGP). Then RFC 6286
 * 2.3 keeps the connection initiated by the speaker with the larger AS number: pass `ases` for that;
 * without it, equal identifiers keep the outgoing connection, as RFC 4271's "otherwise" does.
 */
export function resolveCollision(
  localId: string,
  remoteId: string,
  ases?: { readonly local: number; readonly remote: number },
): CollisionOutcome {
  const local = parseIpv4(localId);
  const remote = parseIpv4(remoteId);
  if (local === undefined || remote === undefined) {
    throw new RangeError(`BGP identifiers must be dotted quads: ${localId}, ${remoteId}`);
  }
  if (local !== remote) return local < remote ? 'keep-incoming' : 'keep-outgoing';
  return ases && ases.local < ases.remote ? 'keep-incoming' : 'keep-outgoing';
}
