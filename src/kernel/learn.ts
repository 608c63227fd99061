// What tern learns from the kernel (kernel -> BGP), as Calico's BIRD does it. Pure.
//
// Candidates, inside an IP pool whose routes are exported (not `disableBgpExport`), of any protocol but
// tern's own (tern does not learn back what it wrote):
//   - blocks: blackhole, unreachable or prohibit routes (Felix writes `blackhole <block> proto 80` for
//     each IPAM block the node owns);
//   - host routes: /32 and /128 unicast routes whose every next hop leaves through an interface that
//     matches the patterns (`cali*`: Felix's route to each local pod's veth).
// Aggregation (Calico's `calico_aggr`: "export the block, nothing beneath it"): every block present is
// originated, and a host route is originated only when no local block covers it (a borrowed address,
// from a block another node owns). Blocks configured statically (`originate:` in the config) count as
// local blocks here too; they are announced by the config, not by this set.

import {
  ipv4Key,
  ipv6KeyFromBytes,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
} from '../bgp/messages/prefix.js';
import type { FamilyName } from '../config/types.js';
import { PrefixIndex } from './lpm.js';
import { type KernelRoute, REJECT_TYPES, routeKey } from './route.js';
import type { RouteChange } from './table.js';

export interface LearnPool {
  /** Canonical prefix. */
  readonly cidr: string;
  /** Calico's `disableBGPExport`: nothing inside the pool is learned. */
  readonly disableBgpExport?: boolean;
}

export interface LearnRules {
  /** Learn blackhole/unreachable/prohibit routes inside the pools (IPAM blocks). */
  readonly blocks: boolean;
  /** Learn /32 and /128 routes to `interfaces` inside the pools (pods). */
  readonly hostRoutes: boolean;
  /** Interface name patterns; `*` matches any run of characters, `?` one character. */
  readonly interfaces: readonly string[];
  readonly pools: readonly LearnPool[];
  /** Routes of this protocol (tern's own) are never learned. */
  readonly ownProtocol: number;
  /** Local blocks from the config: host routes inside them are not originated either. */
  readonly staticBlocks?: readonly string[];
}

export type LearnedKind = 'block' | 'host';

export interface LearnedPrefix {
  /** Canonical: "10.244.1.0/26", "10.244.7.9/32", "fd00:10:244:1::/122". */
  readonly prefix: string;
  readonly family: FamilyName;
  readonly kind: LearnedKind;
}

export interface LearnedDiff {
  readonly added: readonly LearnedPrefix[];
  readonly removed: readonly LearnedPrefix[];
}

/** `cali*` as a RegExp anchored at both ends. */
export function interfacePattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

interface CompiledPool {
  readonly v6: boolean;
  readonly length: number;
  /** ipv4Key or ipv6 key of the pool. */
  readonly key: number | string;
}

function compilePool(cidr: string): CompiledPool | undefined {
  if (cidr.includes(':')) {
    const key = parseIpv6Prefix(cidr);
    return key === undefined ? undefined : { v6: true, length: key.charCodeAt(8), key };
  }
  const key = parseIpv4Prefix(cidr);
  return key === undefined ? undefined : { v6: false, length: key & 63, key };
}

/** Decides, one route at a time, whether a kernel route is a candidate. */
export class RouteClassifier {
  private readonly pools: CompiledPool[];
  private readonly patterns: RegExp[];

  constructor(private readonly rules: LearnRules) {
    this.pools = rules.pools
      .filter((p) => p.disableBgpExport !== true)
      .map((p) => compilePool(p.cidr))
      .filter((p): p is CompiledPool => p !== undefined);
    this.patterns = rules.interfaces.map(interfacePattern);
  }

  classify(r: KernelRoute): LearnedKind | undefined {
    if (r.protocol === this.rules.ownProtocol || r.tos !== 0 || r.from !== undefined) return undefined;
    let kind: LearnedKind;
    if (REJECT_TYPES.has(r.type)) {
      if (!this.rules.blocks) return undefined;
      kind = 'block';
    } else if (r.type === 'unicast') {
      const host = r.family === 'ipv4-unicast' ? 32 : 128;
      if (!this.rules.hostRoutes || r.length !== host || r.nextHops.length === 0) return undefined;
      if (!r.nextHops.every((h) => h.dev !== undefined && this.patterns.some((p) => p.test(h.dev!)))) {
        return undefined;
      }
      kind = 'host';
    } else return undefined;
    return this.inPool(r) ? kind : undefined;
  }

  private inPool(r: KernelRoute): boolean {
    const v6 = r.family === 'ipv6-unicast';
    const address = r.prefix.slice(0, r.prefix.indexOf('/'));
    let bytes: Uint8Array | undefined;
    let v4 = 0;
    if (v6) {
      bytes = parseIpv6(address);
      if (bytes === undefined) return false;
    } else {
      const k = parseIpv4Prefix(r.prefix);
      if (k === undefined) return false;
      v4 = (k - (k & 63)) / 64;
    }
    return this.pools.some(
      (p) =>
        p.v6 === v6 &&
        p.length <= r.length &&
        (v6 ? ipv6KeyFromBytes(bytes!, 0, p.length) === p.key : ipv4Key(v4, p.length) === p.key),
    );
  }
}

function compareLearned(a: LearnedPrefix, b: LearnedPrefix): number {
  if (a.family !== b.family) return a.family === 'ipv4-unicast' ? -1 : 1;
  const ka = a.family === 'ipv4-unicast' ? parseIpv4Prefix(a.prefix)! : 0;
  const kb = b.family === 'ipv4-unicast' ? parseIpv4Prefix(b.prefix)! : 0;
  if (ka !== kb) return ka - kb;
  if (a.family === 'ipv6-unicast') {
    const sa = parseIpv6Prefix(a.prefix)!;
    const sb = parseIpv6Prefix(b.prefix)!;
    if (sa !== sb) return sa < sb ? -1 : 1;
  }
  return 0;
}

/**
 * The prefixes to originate from the candidates (kernel routes already classified): every block, and
 * every host route that no block (learned, or in `staticBlocks`) covers. Sorted (IPv4 first, then by
 * address and length), each prefix once.
 */
export function aggregate(
  candidates: Iterable<{ readonly route: KernelRoute; readonly kind: LearnedKind }>,
  staticBlocks: readonly string[] = [],
): LearnedPrefix[] {
  const blocks = new PrefixIndex<true>();
  for (const b of staticBlocks) blocks.set(b, true);
  const out = new Map<string, LearnedPrefix>();
  const hosts: KernelRoute[] = [];
  for (const { route, kind } of candidates) {
    if (kind === 'host') {
      hosts.push(route);
      continue;
    }
    blocks.set(route.prefix, true);
    out.set(route.prefix, { prefix: route.prefix, family: route.family, kind });
  }
  for (const h of hosts) {
    if (out.has(h.prefix) || blocks.lookup(h.prefix.slice(0, h.prefix.indexOf('/'))) !== undefined) continue;
    out.set(h.prefix, { prefix: h.prefix, family: h.family, kind: 'host' });
  }
  return [...out.values()].sort(compareLearned);
}

/** Classifies and aggregates a whole table at once. */
export function learnRoutes(routes: Iterable<KernelRoute>, rules: LearnRules): LearnedPrefix[] {
  const c = new RouteClassifier(rules);
  const candidates: { route: KernelRoute; kind: LearnedKind }[] = [];
  for (const route of routes) {
    const kind = c.classify(route);
    if (kind !== undefined) candidates.push({ route, kind });
  }
  return aggregate(candidates, rules.staticBlocks);
}

/** What `after` adds to and removes from `before` (both sorted as `aggregate` sorts). */
export function diffLearned(before: readonly LearnedPrefix[], after: readonly LearnedPrefix[]): LearnedDiff {
  const id = (p: LearnedPrefix): string => `${p.prefix} ${p.kind}`;
  const was = new Set(before.map(id));
  const now = new Set(after.map(id));
  return { added: after.filter((p) => !was.has(id(p))), removed: before.filter((p) => !now.has(id(p))) };
}

/**
 * The learned set kept up to date from a table's changes: candidates by kernel key, so a change costs
 * its own classification plus one aggregation over the candidates (a node's blocks and pods), never a
 * pass over the whole table.
 */
export class Learner {
  private classifier: RouteClassifier;
  private readonly candidates = new Map<string, { route: KernelRoute; kind: LearnedKind }>();
  private current: LearnedPrefix[] = [];

  constructor(private rules: LearnRules) {
    this.classifier = new RouteClassifier(rules);
  }

  get set(): readonly LearnedPrefix[] {
    return this.current;
  }

  /** New rules (a reload): classifies `routes` (the whole table) again. Returns the difference. */
  reconfigure(rules: LearnRules, routes: Iterable<KernelRoute>): LearnedDiff {
    this.rules = rules;
    this.classifier = new RouteClassifier(rules);
    this.candidates.clear();
    for (const r of routes) this.consider(routeKey(r), r);
    return this.recompute();
  }

  /** Applies one batch of table changes; returns the difference (empty lists: nothing changed). */
  update(changes: readonly RouteChange[]): LearnedDiff {
    let touched = false;
    for (const c of changes) {
      const had = this.candidates.delete(c.key);
      const has = c.after !== undefined && this.consider(c.key, c.after);
      touched ||= had || has;
    }
    return touched ? this.recompute() : { added: [], removed: [] };
  }

  private consider(key: string, route: KernelRoute): boolean {
    const kind = this.classifier.classify(route);
    if (kind === undefined) return false;
    this.candidates.set(key, { route, kind });
    return true;
  }

  private recompute(): LearnedDiff {
    const next = aggregate(this.candidates.values(), this.rules.staticBlocks);
    const diff = diffLearned(this.current, next);
    if (diff.added.length > 0 || diff.removed.length > 0) this.current = next;
    return diff;
  }
}
