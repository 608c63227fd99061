// RFC 2918 2: Route Refresh capability (code 2). The value is empty.
//
//   +------------------------------+
//   | Capability Code = 2          |
//   +------------------------------+
//   | Capability Length = 0        |
//   +------------------------------+

import { CapabilityCode } from '../iana.js';
import { type CapabilityCodec, emptyCodec } from './codec.js';

export interface RouteRefreshCapability {
  readonly kind: 'route-refresh';
}

export const routeRefresh: CapabilityCodec<RouteRefreshCapability> = emptyCodec(
  CapabilityCode.ROUTE_REFRESH,
  'route-refresh',
);
