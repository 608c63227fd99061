// Kernel routes as plain data: what `ip -json route show` and `ip monitor route` describe, reduced to the
// fields tern decides on, in canonical text (prefixes and addresses as the rest of tern writes them:
// dotted quads, RFC 5952). Pure: no I/O.

import type { FamilyName } from '../config/types.js';

/** rtm_type (linux/rtnetlink.h RTN_*), by the names iproute2 prints. */
export type RouteType =
  | 'unspec'
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'nat'
  | 'xresolve';

/** RTN_* numbers, as `ip -N` prints them. */
export const ROUTE_TYPES: readonly RouteType[] = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
];

/** Types that forward nothing: a next hop whose longest match is one of these is unreachable. */
export const UNUSABLE_TYPES: ReadonlySet<RouteType> = new Set([
  'unreachable',
  'blackhole',
  'prohibit',
  'throw',
]);

/** Types that drop traffic on purpose (BIRD's `blackhole`/`unreachable`/`prohibit` static routes). */
export const REJECT_TYPES: ReadonlySet<RouteType> = new Set(['blackhole', 'unreachable', 'prohibit']);

/** RTPROT_* (linux/rtnetlink.h): the names iproute2 prints when run without -N. */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  unspec: 0,
  redirect: 1,
  kernel: 2,
  boot: 3,
  static: 4,
  gated: 8,
  ra: 9,
  mrt: 10,
  zebra: 11,
  bird: 12,
  dnrouted: 13,
  xorp: 14,
  ntk: 15,
  dhcp: 16,
  mrouted: 17,
  keepalived: 18,
  babel: 42,
  openr: 99,
  bgp: 186,
  isis: 187,
  ospf: 188,
  rip: 189,
  eigrp: 192,
};

/** RTPROT_BOOT: what `ip route add` writes without `proto`, and what iproute2 leaves unprinted. */
export const RTPROT_BOOT = 3;
/** RT_TABLE_MAIN. */
export const MAIN_TABLE = 254;
export const TABLE_NUMBERS: Readonly<Record<string, number>> = {
  unspec: 0,
  default: 253,
  main: 254,
  local: 255,
};

export interface KernelNextHop {
  /** Canonical address; absent for a device route (`dev cali123`). */
  readonly gateway?: string;
  readonly dev?: string;
  readonly onlink: boolean;
  /** 1 unless set (`weight` of a multipath hop). */
  readonly weight: number;
}

export interface KernelRoute {
  readonly family: FamilyName;
  /** Canonical prefix text: "10.244.1.0/26", "10.244.1.5/32", "fd00::/64", "0.0.0.0/0". */
  readonly prefix: string;
  readonly length: number;
  readonly type: RouteType;
  /** RTPROT_* number: 2 kernel, 3 boot, 4 static, 12 bird, 80 Felix... */
  readonly protocol: number;
  /** RT_SCOPE_*: 0 universe, 253 link, 254 host. */
  readonly scope: number;
  readonly table: number;
  /** The route priority (`metric`); IPv6 routes always have one (1024 by default), IPv4 ones 0. */
  readonly metric: number;
  /** IPv4 TOS selector; 0 for every ordinary route. */
  readonly tos: number;
  /** Source prefix of an IPv6 source-specific route (`from`); absent for ordinary routes. */
  readonly from?: string;
  /** Preferred source address (`src`). */
  readonly prefsrc?: string;
  /** Empty for blackhole/unreachable/prohibit/throw routes. */
  readonly nextHops: readonly KernelNextHop[];
}

/**
 * What identifies a route in one kernel table: destination, TOS (IPv4) or source prefix (IPv6) and
 * priority. `ip route replace` overwrites the route with the same key, whatever its protocol.
 */
export function routeKey(r: Pick<KernelRoute, 'table' | 'prefix' | 'metric' | 'tos' | 'from'>): string {
  // joined, not a template literal: `join` makes a flat string, a template of this length a rope (a
  // cons string), which each map it is looked up in, and each comparison with another key object of
  // the same text, must walk first (~0.4 us per key and map for the first look-up of 100,000 keys)
  return r.from === undefined
    ? [r.table, r.prefix, r.metric, r.tos].join(' ')
    : [r.table, r.prefix, r.metric, r.tos, r.from].join(' ');
}

export function sameNextHops(a: readonly KernelNextHop[], b: readonly KernelNextHop[]): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 1) {
    const x = a[0]!;
    const y = b[0]!;
    return x.gateway === y.gateway && x.dev === y.dev && x.onlink === y.onlink && x.weight === y.weight;
  }
  const used = new Array<boolean>(b.length).fill(false);
  outer: for (const x of a) {
    for (let i = 0; i < b.length; i++) {
      const y = b[i]!;
      if (
        !used[i] &&
        x.gateway === y.gateway &&
        x.dev === y.dev &&
        x.onlink === y.onlink &&
        x.weight === y.weight
      ) {
        used[i] = true;
        continue outer;
      }
    }
    return false;
  }
  return true;
}

/** Every field equal (next hops as a set). */
export function sameRoute(a: KernelRoute, b: KernelRoute): boolean {
  return (
    a.family === b.family &&
    a.prefix === b.prefix &&
    a.type === b.type &&
    a.protocol === b.protocol &&
    a.scope === b.scope &&
    a.table === b.table &&
    a.metric === b.metric &&
    a.tos === b.tos &&
    a.from === b.from &&
    a.prefsrc === b.prefsrc &&
    sameNextHops(a.nextHops, b.nextHops)
  );
}

/** The IPv4/IPv6 default metric the kernel gives a route written without one. */
export function defaultMetric(family: FamilyName): number {
  return family === 'ipv4-unicast' ? 0 : 1024;
}

/** "10.0.0.2 dev eth0", "blackhole", for logs and errors. */
export function describeRoute(r: KernelRoute): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(r.prefix);
  for (const nh of r.nextHops) {
    if (r.nextHops.length > 1) parts.push('nexthop');
    if (nh.gateway !== undefined) parts.push('via', nh.gateway);
    if (nh.dev !== undefined) parts.push('dev', nh.dev);
    if (nh.onlink) parts.push('onlink');
  }
  parts.push('proto', String(r.protocol));
  if (r.metric !== 0) parts.push('metric', String(r.metric));
  if (r.table !== MAIN_TABLE) parts.push('table', String(r.table));
  return parts.join(' ');
}
