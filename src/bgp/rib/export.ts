// Export rules: what a route of the Loc-RIB looks like when sent to one peer, or why it is not sent.
// RFC 4271 5.1 (attribute handling per session type), 9.1.3 (what goes to which peer), RFC 1997
// (well-known communities), RFC 4456 (reflection, src/reflector), RFC 5065 (confederation segments
// never leave the AS). Pure; BIRD's bgp_preexport + bgp_update_attrs are the model.
//
// Order of the checks (the first that applies is the reason): same-peer, ibgp-split-horizon,
// no-advertise, no-export, originator-is-peer, no-next-hop.

import {
  canReflect,
  needsReflection,
  type ReflectorConfig,
  reflectAttributes,
} from '../../reflector/rules.js';
import type { AsPathSegment } from '../messages/attributes/types.js';
import { Afi, AsPathSegmentType } from '../messages/iana.js';
import type { RouteAttributes } from './adj-rib-in.js';
import { LOCAL_PEER_ID, type PeerInfo, type Route } from './types.js';

/** RFC 1997 well-known communities. */
export const WellKnownCommunity = {
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
} as const;

/** RFC 4271 5.1.5: what an iBGP speaker sends when the route has no LOCAL_PREF (BIRD's default). */
export const DEFAULT_LOCAL_PREF = 100;

/** An AS_PATH segment holds at most 255 AS numbers (its length is one octet). */
const MAX_SEGMENT_ASNS = 255;

export interface ExportContext {
  /** The peer the route would go to. */
  readonly to: PeerInfo;
  /** Set when we reflect (some peer is an rrClient, or reflector mode). */
  readonly reflector?: ReflectorConfig;
  /** Per peer: auto = self on eBGP, keep on iBGP (BIRD's default). Our own routes always get self. */
  readonly nextHopSelf: 'auto' | 'self' | 'keep';
  /** The session's own addresses, used for next hop self. */
  readonly localNextHop: { readonly ipv4?: string; readonly ipv6?: string };
  /** ADD-PATH send negotiated; carried for the caller, it changes nothing here. */
  readonly addPathSend: boolean;
}

export type ExportRejection =
  | 'same-peer'
  | 'ibgp-split-horizon'
  /** Reserved: never produced. AS_PATH loops are the receiver's check; BIRD does not filter on send. */
  | 'as-loop'
  | 'no-next-hop'
  | 'no-export'
  | 'no-advertise'
  | 'originator-is-peer';

export type ExportDecision =
  | { readonly send: true; readonly attributes: RouteAttributes }
  | { readonly send: false; readonly reason: ExportRejection };

function reject(reason: ExportRejection): ExportDecision {
  return { send: false, reason };
}

/** RFC 5065 5.3: confederation segments are removed before the route leaves the AS. */
function withoutConfed(path: readonly AsPathSegment[]): readonly AsPathSegment[] {
  const plain = (s: AsPathSegment): boolean =>
    s.type === AsPathSegmentType.AS_SEQUENCE || s.type === AsPathSegmentType.AS_SET;
  return path.every(plain) ? path : path.filter(plain);
}

/** RFC 4271 5.1.2 b: prepend to a leading AS_SEQUENCE with room, else start a new segment. */
export function prependAs(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const first = path[0];
  if (
    first !== undefined &&
    first.type === AsPathSegmentType.AS_SEQUENCE &&
    first.asns.length < MAX_SEGMENT_ASNS
  ) {
    return [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn, ...first.asns] }, ...path.slice(1)];
  }
  return [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn] }, ...path];
}

/**
 * What `route` looks like when sent to `ctx.to`, or why it is not sent. Never modifies the route; the
 * attributes returned are a new object.
 */
export function exportRoute(route: Route, ctx: ExportContext): ExportDecision {
  const from = route.peer;
  const to = ctx.to;
  const local = from.id === LOCAL_PEER_ID;
  if (from.id === to.id) return reject('same-peer');

  // RFC 4271 9.1.3 / RFC 4456 6: iBGP-learned routes reach iBGP peers only by reflection
  const reflected = needsReflection(from, to);
  const reflector = reflected ? ctx.reflector : undefined;
  if (reflected && (reflector === undefined || !canReflect(from, to))) return reject('ibgp-split-horizon');

  // RFC 1997
  const communities = route.attributes.communities;
  if (communities !== undefined && communities.length > 0) {
    if (communities.includes(WellKnownCommunity.NO_ADVERTISE)) return reject('no-advertise');
    if (
      !to.ibgp &&
      (communities.includes(WellKnownCommunity.NO_EXPORT) ||
        communities.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED))
    ) {
      return reject('no-export');
    }
  }

  const attrs =
    reflector !== undefined ? reflectAttributes(route.attributes, from, reflector) : route.attributes;
  // RFC 4456 8: the originator would drop it anyway (a second session to the same router, another RR)
  if (to.ibgp && attrs.originatorId !== undefined && attrs.originatorId === to.routerId) {
    return reject('originator-is-peer');
  }

  // RFC 4271 5.1.3: next hop self, or the one the route carries
  const self = local || (to.ibgp ? ctx.nextHopSelf === 'self' : ctx.nextHopSelf !== 'keep');
  let nextHop = attrs.nextHop;
  if (self) {
    const own = route.family >> 8 === Afi.IPV4 ? ctx.localNextHop.ipv4 : ctx.localNextHop.ipv6;
    if (own === undefined) return reject('no-next-hop');
    nextHop = own;
  }
  // a link-local next hop belongs to the router that set it: it goes when the next hop changes
  const { linkLocalNextHop, ...rest } = attrs;
  const hop = self || linkLocalNextHop === undefined ? { nextHop } : { nextHop, linkLocalNextHop };

  if (to.ibgp) {
    // RFC 4271 5.1.2 a, 5.1.5: AS_PATH as is; LOCAL_PREF always present
    return {
      send: true,
      attributes: {
        ...rest,
        asPath: attrs.asPath ?? [],
        localPref: attrs.localPref ?? DEFAULT_LOCAL_PREF,
        ...hop,
      },
    };
  }

  // eBGP. RFC 4271 5.1.5: no LOCAL_PREF; RFC 4456 8: ORIGINATOR_ID and CLUSTER_LIST stay in the AS;
  // RFC 4271 5.1.4: a MED received from a neighbouring AS is not passed on (ours is).
  const { localPref: _lp, originatorId: _oid, clusterList: _cl, med, asPath, ...ebgp } = rest;
  return {
    send: true,
    attributes: {
      ...ebgp,
      asPath: prependAs(withoutConfed(asPath ?? []), to.localAsn),
      ...(local && med !== undefined ? { med } : {}),
      ...hop,
    },
  };
}

/**
 * Everything of `ctx` that can change what exportRoute returns (not addPathSend). The result also
 * depends on the route's source and family, so a cache keyed by attribute object must use
 * `exportSourceKey(route)` too: interned attributes are shared by routes from different peers.
 */
export function exportKey(ctx: ExportContext): string {
  const t = ctx.to;
  const r = ctx.reflector;
  return [
    t.id,
    t.ibgp ? 'i' : 'e',
    t.localAsn,
    t.rrClient ? 'c' : '',
    t.routerId,
    r === undefined ? '' : `${r.clusterId}/${r.routerId}`,
    ctx.nextHopSelf,
    ctx.localNextHop.ipv4 ?? '',
    ctx.localNextHop.ipv6 ?? '',
  ].join('|');
}

/** Everything of the route besides its attributes that can change what exportRoute returns. */
export function exportSourceKey(route: Route): string {
  const p = route.peer;
  return [route.family, p.id, p.ibgp ? 'i' : 'e', p.localAsn, p.rrClient ? 'c' : '', p.routerId].join('|');
}
