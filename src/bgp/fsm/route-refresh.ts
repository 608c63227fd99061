// The peer's answers to ROUTE-REFRESH (RFC 2918, enhanced: RFC 7313) and its maximum-prefix limit
// (RFC 4486), as pure functions: message and counts in, actions out.

import { CeaseSubcode, ErrorCode, familyKey } from '../messages/iana.js';
import type { NotificationMessage } from '../messages/notification.js';
import { type RouteRefreshMessage, RouteRefreshSubtype } from '../messages/route-refresh.js';

export type RefreshAction =
  /** Send the message (BoRR / EoRR) in order with the routes around it. */
  | { readonly type: 'send'; readonly message: RouteRefreshMessage }
  /** Queue every route of the family again. */
  | { readonly type: 'resend'; readonly family: number }
  /** The peer's BoRR: mark its routes of the family stale. */
  | { readonly type: 'markStale'; readonly family: number }
  /** The peer's EoRR: drop its routes of the family still stale. */
  | { readonly type: 'sweepStale'; readonly family: number };

/**
 * A ROUTE-REFRESH from the peer. NORMAL: our routes of the family again, between BoRR and EoRR when
 * enhanced route refresh was negotiated. BoRR/EoRR from the peer mark and sweep its routes. Families
 * not negotiated and unknown subtypes are ignored (RFC 7313 4).
 */
export function answerRouteRefresh(
  m: RouteRefreshMessage,
  session: { readonly families: readonly number[]; readonly enhanced: boolean },
): RefreshAction[] {
  const family = familyKey(m.afi, m.safi);
  if (!session.families.includes(family)) return [];
  const mark = (subtype: number): RefreshAction => ({
    type: 'send',
    message: { type: 'route-refresh', afi: m.afi, safi: m.safi, subtype },
  });
  switch (m.subtype) {
    case RouteRefreshSubtype.NORMAL:
      return session.enhanced
        ? [mark(RouteRefreshSubtype.BORR), { type: 'resend', family }, mark(RouteRefreshSubtype.EORR)]
        : [{ type: 'resend', family }];
    case RouteRefreshSubtype.BORR:
      return [{ type: 'markStale', family }];
    case RouteRefreshSubtype.EORR:
      return [{ type: 'sweepStale', family }];
    default:
      return [];
  }
}

/** RFC 4486 4: Cease / Maximum Number of Prefixes Reached, data AFI (2), SAFI (1), the limit (4). */
export function maxPrefixesCease(family: number, limit: number): NotificationMessage {
  const data = new Uint8Array(7);
  const view = new DataView(data.buffer);
  view.setUint16(0, family >> 8);
  data[2] = family & 255;
  view.setUint32(3, limit);
  return {
    type: 'notification',
    code: ErrorCode.CEASE,
    subcode: CeaseSubcode.MAXIMUM_PREFIXES_REACHED,
    data,
  };
}

export interface MaxPrefixesExceeded {
  readonly family: number;
  readonly routes: number;
  readonly notification: NotificationMessage;
  /** Seconds before the session may start again. */
  readonly restartAfter: number;
}

/** The first family with more routes than the limit, with the Cease to send; undefined: within it. */
export function checkMaxPrefixes(
  families: readonly number[],
  count: (family: number) => number,
  max: { readonly limit: number; readonly restartTime: number } | undefined,
): MaxPrefixesExceeded | undefined {
  if (!max) return undefined;
  for (const family of families) {
    const routes = count(family);
    if (routes <= max.limit) continue;
    return {
      family,
      routes,
      notification: maxPrefixesCease(family, max.limit),
      restartAfter: max.restartTime,
    };
  }
  return undefined;
}
