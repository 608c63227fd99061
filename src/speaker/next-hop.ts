// Next hop self: the session's own address of each family, else the configured one.

import { canonicalIpv6, parseIpv4 } from '../bgp/messages/prefix.js';
import type { TernConfig } from '../config/types.js';

/** Our next hops for a session whose local socket address is `local` (possibly IPv4-mapped IPv6). */
export function localNextHops(
  local: string | undefined,
  configured: TernConfig['nextHop'],
): { ipv4?: string; ipv6?: string } {
  let ipv4 = configured.ipv4;
  let ipv6 = configured.ipv6;
  if (local !== undefined) {
    const mapped = local.startsWith('::ffff:') ? local.slice(7) : undefined;
    if (mapped !== undefined && parseIpv4(mapped) !== undefined) ipv4 = mapped;
    else if (parseIpv4(local) !== undefined) ipv4 = local;
    else ipv6 = canonicalIpv6(local) ?? ipv6;
  }
  return { ...(ipv4 !== undefined ? { ipv4 } : {}), ...(ipv6 !== undefined ? { ipv6 } : {}) };
}
