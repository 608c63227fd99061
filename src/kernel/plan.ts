// The FIB plan (BGP -> kernel), pure: the routes tern wants in one kernel table, against the routes the
// table holds, as operations (`planFibChanges(wanted, actual) -> FibOp[]`), and each operation as one
// line of `ip -batch` (`fibCommand`). The writer (writer.ts) carries them out.
//
// Rules:
//   - tern owns exactly the routes of its protocol number (`proto 12`, as Calico's BIRD) in its table;
//     it never replaces, deletes or rewrites a route of another protocol;
//   - a wanted route is identified like a kernel route: prefix and metric (a fixed metric per family);
//   - missing: `add` (NLM_F_EXCL: should another daemon's route appear in the meantime, the kernel
//     refuses instead of overwriting it); present and ours but different: `replace`; present and ours and
//     equal: nothing; present and not ours: a conflict, reported and left alone (unless it already does
//     what is wanted: a foreign blackhole where a blackhole is wanted);
//   - a route of ours that is not wanted: `del ... proto <ours>` (the kernel matches the protocol too).

import type { FamilyName } from '../config/types.js';
import { canonicalAddress, canonicalPrefix, familyOf } from './address.js';
import { defaultMetric, type KernelNextHop, type KernelRoute, type RouteType, routeKey } from './route.js';

export interface FibNextHop {
  /** The gateway. An IPv4 route may have an IPv6 gateway (RFC 5549: `via inet6 ...`). */
  readonly address: string;
  /** The output device: `tunl0` for IP-in-IP (with `onlink`), absent: the kernel picks it. */
  readonly device?: string;
  /** The gateway need not be on a connected subnet of `device` (Calico's IPIP routes). Needs `device`. */
  readonly onlink?: boolean;
  /** Multipath weight 1..256, default 1. */
  readonly weight?: number;
}

export type RejectType = 'blackhole' | 'unreachable' | 'prohibit';

/** A route tern wants in the kernel: unicast through next hops (several: ECMP), or a reject route. */
export type FibRoute =
  | {
      readonly prefix: string;
      readonly family: FamilyName;
      readonly nextHops: readonly FibNextHop[];
    }
  | {
      readonly prefix: string;
      readonly family: FamilyName;
      /** BIRD's static `route <block> blackhole`. */
      readonly type: RejectType;
    };

export interface FibTarget {
  /** tern's protocol number (RTPROT_*), 12 (`bird`) unless configured. */
  readonly protocol: number;
  readonly table: number;
  /** The metric of every route tern writes, per family; default 0 (IPv4) and 1024 (IPv6). */
  readonly metric?: { readonly ipv4?: number; readonly ipv6?: number };
}

/** A wanted route, checked and canonical, as it would stand in the kernel. */
export interface WantedRoute {
  readonly key: string;
  readonly route: KernelRoute;
  readonly source: FibRoute;
}

export type FibOp =
  | { readonly op: 'add' | 'replace'; readonly key: string; readonly wanted: WantedRoute }
  | { readonly op: 'delete'; readonly key: string; readonly existing: KernelRoute };

export interface FibConflict {
  readonly wanted: WantedRoute;
  readonly existing: KernelRoute;
}

export interface FibPlan {
  readonly ops: FibOp[];
  /** Wanted routes whose place is taken by another protocol's route: left alone. */
  readonly conflicts: FibConflict[];
}

const DEVICE_NAME = /^[A-Za-z0-9_.@:+-]{1,15}$/;

/** The metric tern's routes of `family` have in the kernel (IPv6 turns 0 into 1024, so 0 means 1024). */
export function metricFor(family: FamilyName, target: FibTarget): number {
  const m = (family === 'ipv4-unicast' ? target.metric?.ipv4 : target.metric?.ipv6) ?? defaultMetric(family);
  return family === 'ipv6-unicast' && m === 0 ? 1024 : m;
}

function isReject(r: FibRoute): r is Extract<FibRoute, { type: RejectType }> {
  return 'type' in r;
}

/** Checks one wanted route and puts it in kernel form; a string says what is wrong with it. */
export function normalizeFibRoute(r: FibRoute, target: FibTarget): WantedRoute | string {
  const p = typeof r.prefix === 'string' ? canonicalPrefix(r.prefix, r.family) : undefined;
  if (p === undefined) return `not a prefix (or host bits set): ${String(r.prefix)}`;
  if (p.family !== r.family) return `${p.prefix} is not of family ${r.family}`;
  const metric = metricFor(p.family, target);
  let type: RouteType;
  const nextHops: KernelNextHop[] = [];
  if (isReject(r)) {
    if (r.type !== 'blackhole' && r.type !== 'unreachable' && r.type !== 'prohibit') {
      return `unknown route type ${String(r.type)}`;
    }
    type = r.type;
  } else {
    type = 'unicast';
    if (!Array.isArray(r.nextHops) || r.nextHops.length === 0) return 'a unicast route needs a next hop';
    for (const nh of r.nextHops) {
      const gateway = typeof nh.address === 'string' ? canonicalAddress(nh.address) : undefined;
      if (gateway === undefined) return `next hop ${String(nh.address)} is not an address`;
      if (p.family === 'ipv6-unicast' && familyOf(gateway) === 'ipv4-unicast') {
        return `an IPv6 route cannot have the IPv4 next hop ${gateway}`;
      }
      if (nh.device !== undefined && !DEVICE_NAME.test(nh.device)) {
        return `next hop ${gateway}: bad device name ${JSON.stringify(nh.device)}`;
      }
      if (nh.onlink === true && nh.device === undefined) return `next hop ${gateway}: onlink needs a device`;
      const weight = nh.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1 || weight > 256) {
        return `next hop ${gateway}: weight must be 1..256, got ${weight}`;
      }
      const hop: KernelNextHop =
        nh.device === undefined
          ? { gateway, onlink: nh.onlink === true, weight }
          : { gateway, dev: nh.device, onlink: nh.onlink === true, weight };
      if (!nextHops.some((h) => h.gateway === hop.gateway && h.dev === hop.dev)) nextHops.push(hop);
    }
  }
  // one object literal, no spreads: this runs for every wanted route of every `apply`
  const route: KernelRoute = {
    family: p.family,
    prefix: p.prefix,
    length: p.length,
    type,
    protocol: target.protocol,
    scope: 0,
    table: target.table,
    metric,
    tos: 0,
    nextHops,
  };
  return { key: routeKey(route), route, source: r };
}

/** Whether `existing` already does what `wanted` asks (devices compared only where `wanted` names one). */
export function satisfies(existing: KernelRoute, wanted: KernelRoute): boolean {
  if (existing.type !== wanted.type) return false;
  if (wanted.type !== 'unicast') return true;
  if (existing.nextHops.length !== wanted.nextHops.length) return false;
  const single = wanted.nextHops.length === 1;
  if (single) {
    // the common case, without the bookkeeping below (this runs for every kernel change of a wanted key)
    const e = existing.nextHops[0]!;
    const w = wanted.nextHops[0]!;
    return e.gateway === w.gateway && (w.dev === undefined || e.dev === w.dev) && e.onlink === w.onlink;
  }
  const used = new Array<boolean>(existing.nextHops.length).fill(false);
  return wanted.nextHops.every((w) => {
    const i = existing.nextHops.findIndex(
      (e, j) =>
        !used[j] &&
        e.gateway === w.gateway &&
        (w.dev === undefined || e.dev === w.dev) &&
        e.onlink === w.onlink &&
        (single || e.weight === w.weight),
    );
    if (i < 0) return false;
    used[i] = true;
    return true;
  });
}

/**
 * What to do about one key: `wanted` (undefined: tern wants nothing there) against `existing` (what the
 * table holds at that key, undefined: nothing). An op, a conflict (another protocol's route is in the
 * way), or undefined: nothing to do.
 */
export function planKey(
  key: string,
  wanted: WantedRoute | undefined,
  existing: KernelRoute | undefined,
  target: FibTarget,
): FibOp | FibConflict | undefined {
  if (existing !== undefined && existing.table !== target.table) existing = undefined;
  if (wanted === undefined) {
    return existing?.protocol === target.protocol ? { op: 'delete', key, existing } : undefined;
  }
  if (existing === undefined) return { op: 'add', key, wanted };
  if (existing.protocol !== target.protocol) {
    return wanted.route.type === 'unicast' || !satisfies(existing, wanted.route)
      ? { wanted, existing }
      : undefined;
  }
  return satisfies(existing, wanted.route) ? undefined : { op: 'replace', key, wanted };
}

/** Whether a planKey result is a conflict rather than an op. */
export function isConflict(r: FibOp | FibConflict): r is FibConflict {
  return !('op' in r);
}

/**
 * What to do so that `actual` (the routes of one kernel table) holds `wanted`, touching only routes of
 * `target.protocol` in `target.table`.
 */
export function planFibChanges(
  wanted: Iterable<WantedRoute>,
  actual: Iterable<KernelRoute>,
  target: FibTarget,
): FibPlan {
  const have = new Map<string, KernelRoute>();
  for (const r of actual) if (r.table === target.table) have.set(routeKey(r), r);
  const ops: FibOp[] = [];
  const conflicts: FibConflict[] = [];
  const wantedKeys = new Set<string>();
  const take = (r: FibOp | FibConflict | undefined): void => {
    if (r === undefined) return;
    if (isConflict(r)) conflicts.push(r);
    else ops.push(r);
  };
  for (const w of wanted) {
    wantedKeys.add(w.key);
    take(planKey(w.key, w, have.get(w.key), target));
  }
  for (const [key, r] of have) if (!wantedKeys.has(key)) take(planKey(key, undefined, r, target));
  return { ops, conflicts };
}

function hopWords(h: KernelNextHop, family: FamilyName, multipath: boolean): string[] {
  const words = ['via'];
  if (family === 'ipv4-unicast' && familyOf(h.gateway!) === 'ipv6-unicast') words.push('inet6');
  words.push(h.gateway!);
  if (h.dev !== undefined) words.push('dev', h.dev);
  if (h.onlink) words.push('onlink');
  if (multipath) words.push('weight', String(h.weight));
  return words;
}

/** The `ip -batch` line (without `ip`) that carries out `op`. */
export function fibCommand(op: FibOp): string {
  if (op.op === 'delete') {
    const r = op.existing;
    const words = ['route', 'del', r.prefix, 'proto', String(r.protocol), 'table', String(r.table)];
    words.push('metric', String(r.metric));
    if (r.tos !== 0) words.push('tos', String(r.tos));
    if (r.from !== undefined) words.push('from', r.from);
    return words.join(' ');
  }
  const r = op.wanted.route;
  const words = ['route', op.op];
  if (r.type !== 'unicast') words.push(r.type);
  words.push(r.prefix, 'proto', String(r.protocol), 'table', String(r.table), 'metric', String(r.metric));
  if (r.nextHops.length === 1) words.push(...hopWords(r.nextHops[0]!, r.family, false));
  else for (const h of r.nextHops) words.push('nexthop', ...hopWords(h, r.family, true));
  return words.join(' ');
}
