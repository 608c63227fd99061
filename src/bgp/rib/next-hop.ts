// Whether a route's next hop can be used at all. Until routes are resolved through the kernel table
// (kernel sync), a next hop is usable unless it can never be a gateway: unspecified, multicast or
// broadcast, or one of tern's own addresses (a route pointing back at us). Loopback stays usable, for
// speakers that share one host (tests) and for peers that set it deliberately.

import { parseIpv4, parseIpv6 } from '../messages/prefix.js';
import type { Route } from './types.js';
import { LOCAL_PEER_ID } from './types.js';

function usableIpv4(a: number): boolean {
  const first = a >>> 24;
  if (first === 0) return false; // "this network"
  if (first >= 224) return false; // multicast, reserved, broadcast
  return true;
}

function usableIpv6(b: Uint8Array): boolean {
  if (b[0] === 0xff) return false; // multicast
  if (b.every((x) => x === 0)) return false; // ::
  return true;
}

/** A next-hop check for the decision process (`DecisionOptions.nextHopResolvable`). */
export function usableNextHop(localAddresses: ReadonlySet<string>): (route: Route) => boolean {
  return (route) => {
    if (route.peer.id === LOCAL_PEER_ID) return true;
    const nh = route.attributes.nextHop;
    if (localAddresses.has(nh)) return false;
    const v4 = parseIpv4(nh);
    if (v4 !== undefined) return usableIpv4(v4);
    const v6 = parseIpv6(nh);
    return v6 !== undefined && usableIpv6(v6);
  };
}
