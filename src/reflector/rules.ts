// RFC 4456 route reflection as pure functions over data (BIRD bgp_preexport / bgp_update_attrs).
//
// Section 6: a route from a client is reflected to every other iBGP peer (clients and non-clients); a
// route from a non-client only to clients. Routes from eBGP peers and our own go to everyone (that is
// not reflection). Section 8: the reflector sets ORIGINATOR_ID (if absent) to the BGP identifier of the
// peer the route came from and prepends its CLUSTER_ID to CLUSTER_LIST; on receipt a route carrying our
// BGP identifier as ORIGINATOR_ID, or our CLUSTER_ID in CLUSTER_LIST, is a loop and is dropped.

import type { RouteAttributes } from '../bgp/rib/adj-rib-in.js';
import { LOCAL_PEER_ID, type PeerInfo } from '../bgp/rib/types.js';

export interface ReflectorConfig {
  /** RFC 4456 7: the CLUSTER_ID, dotted quad; defaults to the router id (see reflectorConfig). */
  readonly clusterId: string;
  /** Our BGP identifier, dotted quad. */
  readonly routerId: string;
}

/** The configuration with the RFC 4456 default: a reflector alone in its cluster uses its router id. */
export function reflectorConfig(routerId: string, clusterId?: string): ReflectorConfig {
  return { routerId, clusterId: clusterId ?? routerId };
}

/**
 * Whether a route learned from `from` reaches `to` only by reflection: both are iBGP sessions of the
 * same local AS and the route is not our own (BIRD: `p->is_internal && src->is_internal &&
 * p->local_as == src->local_as`).
 */
export function needsReflection(from: PeerInfo, to: PeerInfo): boolean {
  return from.id !== LOCAL_PEER_ID && from.ibgp && to.ibgp && from.localAsn === to.localAsn;
}

/**
 * RFC 4456 6: may a route learned from `from` be advertised to `to`? Never back to the peer it came
 * from. iBGP to iBGP only when one side is a client; anything else (eBGP-learned, local, towards eBGP)
 * is not reflection and is allowed.
 */
export function canReflect(from: PeerInfo, to: PeerInfo): boolean {
  if (from.id === to.id) return false;
  if (!needsReflection(from, to)) return true;
  return from.rrClient || to.rrClient;
}

/**
 * RFC 4456 8: the attributes of a reflected route. ORIGINATOR_ID is set to the router id of the peer
 * the route came from unless already present; our CLUSTER_ID is prepended to CLUSTER_LIST. Returns a
 * new object; `attrs` is not modified.
 */
export function reflectAttributes(
  attrs: RouteAttributes,
  from: PeerInfo,
  cfg: ReflectorConfig,
): RouteAttributes {
  return {
    ...attrs,
    originatorId: attrs.originatorId ?? from.routerId,
    clusterList: [cfg.clusterId, ...(attrs.clusterList ?? [])],
  };
}

export type ReflectionLoop = 'originator-id' | 'cluster-list';

/**
 * RFC 4456 8, on receipt: a route whose ORIGINATOR_ID is our router id, or whose CLUSTER_LIST holds our
 * CLUSTER_ID, has looped and must be ignored (treated as withdrawn). Undefined when it has not.
 */
export function isReflectionLoop(attrs: RouteAttributes, cfg: ReflectorConfig): ReflectionLoop | undefined {
  if (attrs.originatorId !== undefined && attrs.originatorId === cfg.routerId) return 'originator-id';
  if (attrs.clusterList?.includes(cfg.clusterId)) return 'cluster-list';
  return undefined;
}
