// RFC 2918: ROUTE-REFRESH, with the RFC 7313 subtypes (enhanced route refresh).
//
//  0       7      15      23      31
//  +-------+-------+-------+-------+
//  |      AFI      | Subtyp| SAFI  |
//  +-------+-------+-------+-------+
//
// Subtype: 0 normal request, 1 Beginning of Route Refresh (BoRR), 2 End of Route Refresh (EoRR);
// 3-254 are unassigned and a receiver ignores such messages (RFC 7313 4); 255 reserved.
// Without ORF (RFC 5291, not supported) the message is exactly 23 octets; any other length is
// NOTIFICATION 7/1 with the whole message as data (RFC 7313 5).

import { RouteRefreshError } from './errors.js';
import { RouteRefreshSubcode } from './iana.js';
import type { ByteReader } from './reader.js';
import type { ByteWriter } from './writer.js';

export const RouteRefreshSubtype = {
  NORMAL: 0,
  BORR: 1,
  EORR: 2,
} as const;

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
}

export function decodeRouteRefresh(r: ByteReader): RouteRefreshMessage {
  if (r.remaining !== 4) {
    throw new RouteRefreshError(
      RouteRefreshSubcode.INVALID_MESSAGE_LENGTH,
      `body is ${r.remaining} bytes, expected 4`,
      r.bytes.slice(0, r.end),
      16,
    );
  }
  const afi = r.u16('AFI');
  const subtype = r.u8('subtype');
  const safi = r.u8('SAFI');
  return { type: 'route-refresh', afi, safi, subtype };
}

export function encodeRouteRefresh(msg: RouteRefreshMessage, w: ByteWriter): void {
  w.u16(msg.afi);
  w.u8(msg.subtype);
  w.u8(msg.safi);
}
