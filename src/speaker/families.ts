// The families tern routes, by their config names.

import { Afi, familyKey, Safi } from '../bgp/messages/iana.js';
import type { FamilyName } from '../config/types.js';

export interface FamilyInfo {
  readonly afi: number;
  readonly safi: number;
  readonly key: number;
}

export const FAMILIES: Readonly<Record<FamilyName, FamilyInfo>> = {
  'ipv4-unicast': { afi: Afi.IPV4, safi: Safi.UNICAST, key: familyKey(Afi.IPV4, Safi.UNICAST) },
  'ipv6-unicast': { afi: Afi.IPV6, safi: Safi.UNICAST, key: familyKey(Afi.IPV6, Safi.UNICAST) },
};
