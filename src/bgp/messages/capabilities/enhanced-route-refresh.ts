// RFC 7313 3.2: Enhanced Route Refresh capability (code 70). The value is empty.
//
//   +------------------------------+
//   | Capability Code = 70         |
//   +------------------------------+
//   | Capability Length = 0        |
//   +------------------------------+

import { CapabilityCode } from '../iana.js';
import { type CapabilityCodec, emptyCodec } from './codec.js';

export interface EnhancedRouteRefreshCapability {
  readonly kind: 'enhanced-route-refresh';
}

export const enhancedRouteRefresh: CapabilityCodec<EnhancedRouteRefreshCapability> = emptyCodec(
  CapabilityCode.ENHANCED_ROUTE_REFRESH,
  'enhanced-route-refresh',
);
