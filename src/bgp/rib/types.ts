// The data the RIBs hold: who a route came from and the route itself. Pure data, shared by the
// decision process (decision.ts), the Loc-RIB, export rules and reflection (src/reflector).

import type { RouteAttributes } from './adj-rib-in.js';

/** What the RIB needs to know about the peer a route came from (or that it is our own). */
export interface PeerInfo {
  /** Stable id of the peer within this process (the config's peer key), or 'local' for our routes. */
  readonly id: string;
  /** The peer's address (for the last tie-break, RFC 4271 9.1.2.2 g). */
  readonly address: string;
  /** The peer's AS. */
  readonly asn: number;
  /** The AS we present to it. */
  readonly localAsn: number;
  /** asn === localAsn */
  readonly ibgp: boolean;
  /** The peer's BGP identifier (from its OPEN), dotted quad. */
  readonly routerId: string;
  /** RFC 4456: this peer is a route-reflector client of ours. */
  readonly rrClient: boolean;
  /** How often our AS may be in the AS_PATH of a route from this eBGP peer (absent: 0, none). */
  readonly allowOwnAs?: number;
}

/** Our own routes (originated) come from this pseudo-peer. */
export const LOCAL_PEER_ID = 'local';

export interface Route {
  readonly family: number;
  /** Ipv4Key (number) or Ipv6Key (string), see messages/prefix.ts. */
  readonly prefix: number | string;
  /** RFC 7911 path identifier as received (undefined without ADD-PATH). */
  readonly pathId?: number;
  readonly peer: PeerInfo;
  /** Interned: routes with equal attributes share one frozen object (compare by identity). */
  readonly attributes: RouteAttributes;
  /** RFC 4724: kept from a restarting peer until End-of-RIB or the restart time runs out. */
  readonly stale?: boolean;
}

/**
 * Whether two routes of one prefix are the same path: the same peer and path id (the Loc-RIB builds a
 * route's object when asked for it, so two answers about one route are equal, not always identical).
 */
export function samePathOf(a: Route, b: Route): boolean {
  return a === b || (a.peer.id === b.peer.id && a.pathId === b.pathId);
}
