// Which kernel route a selected BGP route set becomes (BGP -> kernel), as Calico's BIRD kernel export
// filter (calico_kernel_programming) decides it. Pure.
//
//   - our own routes (originated, learned from the kernel) are not written back; an originated prefix
//     marked `blackhole` is written as a blackhole route (BIRD's static `route <block> blackhole`);
//   - a route inside a VXLAN pool, or a pool with `programRoutes: false`, is not written: Felix
//     programs those (Calico's programClusterRoutes);
//   - inside an IP-in-IP pool: `via <node> dev tunl0 onlink`; with crossSubnet, a plain `via <node>`
//     when the node is on a subnet this host is directly connected to;
//   - anything else (no encapsulation, outside every pool): a plain `via <next hop>`;
//   - several selected routes (multipath): one route with a next hop each (ECMP), duplicates merged.

import { Afi } from '../bgp/messages/iana.js';
import { formatIpv4Key, formatIpv6Key } from '../bgp/messages/prefix.js';
import { LOCAL_PEER_ID, type Route } from '../bgp/rib/types.js';
import type { FamilyName, PoolConfig } from '../config/types.js';
import { type CanonicalPrefix, canonicalPrefix, prefixCovers } from '../kernel/address.js';
import type { FibNextHop, FibRoute } from '../kernel/plan.js';

export interface FibPolicy {
  readonly pools: readonly PoolConfig[];
  /** Whether `address` is on a subnet this host is directly connected to (for crossSubnet). */
  readonly onLocalSubnet: (address: string) => boolean;
}

/** The IP-in-IP device (Calico's tunl0). */
export const IPIP_DEVICE = 'tunl0';

export function prefixText(family: number, prefix: number | string): string {
  return family >> 8 === Afi.IPV4 ? formatIpv4Key(prefix as number) : formatIpv6Key(prefix as string);
}

export function familyName(family: number): FamilyName {
  return family >> 8 === Afi.IPV4 ? 'ipv4-unicast' : 'ipv6-unicast';
}

const poolPrefixes = new WeakMap<PoolConfig, CanonicalPrefix | null>();

function poolPrefix(p: PoolConfig): CanonicalPrefix | null {
  let c = poolPrefixes.get(p);
  if (c === undefined) {
    c = canonicalPrefix(p.cidr, p.family) ?? null;
    poolPrefixes.set(p, c);
  }
  return c;
}

/** The pool a prefix lies in, if any (pools do not overlap: the config refuses it). */
export function poolOf(pools: readonly PoolConfig[], prefix: CanonicalPrefix): PoolConfig | undefined {
  for (const p of pools) {
    const c = poolPrefix(p);
    if (c !== null && prefixCovers(c, prefix)) return p;
  }
  return undefined;
}

/**
 * The kernel route for a prefix's selected set, or undefined when none is to be written.
 * `blackholes`: originated prefixes to be written as blackhole routes.
 */
export function fibRouteFor(
  family: number,
  prefix: number | string,
  selected: readonly Route[],
  policy: FibPolicy,
  blackholes: ReadonlySet<string>,
): FibRoute | undefined {
  const text = prefixText(family, prefix);
  const fam = familyName(family);
  if (blackholes.has(text)) return { prefix: text, family: fam, type: 'blackhole' };
  const learned = selected.filter((r) => r.peer.id !== LOCAL_PEER_ID);
  // our own route is selected (or nothing is): nothing of BGP's to write
  if (learned.length === 0 || selected[0]?.peer.id === LOCAL_PEER_ID) return undefined;
  const canonical = canonicalPrefix(text, fam);
  const pool = canonical === undefined ? undefined : poolOf(policy.pools, canonical);
  // VXLAN pools, and pools whose routes Felix programs (Calico's programClusterRoutes)
  if (pool !== undefined && (pool.encapsulation === 'vxlan' || !pool.programRoutes)) return undefined;
  const hops: FibNextHop[] = [];
  const seen = new Set<string>();
  for (const r of learned) {
    const address = r.attributes.nextHop;
    if (seen.has(address)) continue;
    seen.add(address);
    const tunnel =
      pool?.encapsulation === 'ipip' &&
      fam === 'ipv4-unicast' &&
      !(pool.crossSubnet && policy.onLocalSubnet(address));
    hops.push(tunnel ? { address, device: IPIP_DEVICE, onlink: true } : { address });
  }
  return { prefix: text, family: fam, nextHops: hops };
}
