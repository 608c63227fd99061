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
  parseIpv4,
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

/** Sorts as `aggregate` does (IPv4 first, then by address and length), each prefix parsed once. */
function sortLearned(list: LearnedPrefix[]): LearnedPrefix[] {
  if (list.length < 2) return list;
  const keyed = list.map((p) => ({
    p,
    v4: p.family === 'ipv4-unicast',
    k4: p.family === 'ipv4-unicast' ? (parseIpv4Prefix(p.prefix) ?? 0) : 0,
    k6: p.family === 'ipv6-unicast' ? (parseIpv6Prefix(p.prefix) ?? '') : '',
  }));
  keyed.sort((a, b) => {
    if (a.v4 !== b.v4) return a.v4 ? -1 : 1;
    if (a.k4 !== b.k4) return a.k4 - b.k4;
    if (a.k6 !== b.k6) return a.k6 < b.k6 ? -1 : 1;
    return 0;
  });
  return keyed.map((x) => x.p);
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
  return sortLearned([...out.values()]);
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

interface HostEntry {
  readonly prefix: string;
  readonly family: FamilyName;
  /** The address (IPv4), or its 16 bytes (IPv6). */
  readonly v4: number;
  readonly bytes: Uint8Array | undefined;
  /** Candidate kernel routes with this prefix (they differ in metric). */
  count: number;
}

interface Candidate {
  readonly prefix: string;
  readonly family: FamilyName;
  readonly kind: LearnedKind;
}

/** Host bits up to which the addresses of a block are enumerated rather than every host scanned. */
const ENUMERATE_BITS = 16;

/**
 * The learned set kept up to date from a table's changes, one change at a time: a pod's route costs
 * its classification, one longest-prefix match in the block index and a map update (O(1)); a block
 * that comes or goes costs the host routes inside it (its addresses enumerated, or the hosts scanned
 * when there are fewer of them). Each `update` returns the difference it made, so that its consumer
 * can apply it in O(changes) as well; `set` sorts the whole set only when asked.
 */
export class Learner {
  private classifier: RouteClassifier;
  private staticBlocks = new Set<string>();
  /** Candidates by kernel key. */
  private readonly candidates = new Map<string, Candidate>();
  /** Host candidates by address (IPv4) and by IPv6 key (ipv6KeyFromBytes, /128). */
  private readonly hostsV4 = new Map<number, HostEntry>();
  private readonly hostsV6 = new Map<string, HostEntry>();
  /** Learned block candidates per prefix. */
  private readonly blocks = new Map<string, number>();
  /** Learned and static blocks: what covers a host route. */
  private readonly blockIndex = new PrefixIndex<true>();
  private readonly advertised = new Map<string, LearnedPrefix>();
  private sorted: LearnedPrefix[] | undefined = [];
  /** While an update runs: each prefix touched, with what was advertised there before it. */
  private before: Map<string, LearnedPrefix | undefined> | undefined;

  constructor(rules: LearnRules) {
    this.classifier = new RouteClassifier(rules);
    this.setStatic(rules.staticBlocks ?? []);
  }

  /** The learned set, sorted as `aggregate` sorts it (built when asked, then kept until a change). */
  get set(): readonly LearnedPrefix[] {
    this.sorted ??= sortLearned([...this.advertised.values()]);
    return this.sorted;
  }

  /** How many prefixes the set holds. */
  get size(): number {
    return this.advertised.size;
  }

  /** New rules (a reload): classifies `routes` (the whole table) again. Returns the difference. */
  reconfigure(rules: LearnRules, routes: Iterable<KernelRoute>): LearnedDiff {
    const old = new Map(this.advertised);
    this.classifier = new RouteClassifier(rules);
    this.candidates.clear();
    this.hostsV4.clear();
    this.hostsV6.clear();
    this.blocks.clear();
    this.blockIndex.clear();
    this.advertised.clear();
    this.sorted = undefined;
    this.setStatic(rules.staticBlocks ?? []);
    for (const r of routes) this.consider(routeKey(r), r);
    const added: LearnedPrefix[] = [];
    const removed: LearnedPrefix[] = [];
    for (const [prefix, was] of old) {
      if (this.advertised.get(prefix)?.kind !== was.kind) removed.push(was);
    }
    for (const [prefix, now] of this.advertised) if (old.get(prefix)?.kind !== now.kind) added.push(now);
    return { added: sortLearned(added), removed: sortLearned(removed) };
  }

  /** Applies one batch of table changes; returns the difference (empty lists: nothing changed). */
  update(changes: readonly RouteChange[]): LearnedDiff {
    const before = new Map<string, LearnedPrefix | undefined>();
    this.before = before;
    try {
      for (const c of changes) this.consider(c.key, c.after);
    } finally {
      this.before = undefined;
    }
    if (before.size === 0) return { added: [], removed: [] };
    const added: LearnedPrefix[] = [];
    const removed: LearnedPrefix[] = [];
    for (const [prefix, was] of before) {
      const now = this.advertised.get(prefix);
      if (was?.kind === now?.kind) continue;
      if (was !== undefined) removed.push(was);
      if (now !== undefined) added.push(now);
    }
    return { added: sortLearned(added), removed: sortLearned(removed) };
  }

  private setStatic(blocks: readonly string[]): void {
    this.staticBlocks = new Set();
    for (const b of blocks) {
      try {
        this.blockIndex.set(b, true);
        this.staticBlocks.add(b);
      } catch {
        // not a prefix: the config loader refuses these; nothing to cover with it
      }
    }
  }

  /** The kernel route at `key` is now `route` (undefined: gone). */
  private consider(key: string, route: KernelRoute | undefined): void {
    const old = this.candidates.get(key);
    const kind = route === undefined ? undefined : this.classifier.classify(route);
    if (old !== undefined && old.kind === kind) return; // the key holds the prefix: nothing moves
    if (old !== undefined) {
      this.candidates.delete(key);
      if (old.kind === 'block') this.removeBlock(old.prefix);
      else this.removeHost(old);
    }
    if (kind === undefined || route === undefined) return;
    const c: Candidate = { prefix: route.prefix, family: route.family, kind };
    this.candidates.set(key, c);
    if (kind === 'block') this.addBlock(c);
    else this.addHost(c);
  }

  private note(prefix: string): void {
    this.sorted = undefined;
    if (this.before !== undefined && !this.before.has(prefix)) {
      this.before.set(prefix, this.advertised.get(prefix));
    }
  }

  private advertise(p: LearnedPrefix): void {
    this.note(p.prefix);
    this.advertised.set(p.prefix, p);
  }

  private unadvertise(prefix: string): void {
    this.note(prefix);
    this.advertised.delete(prefix);
  }

  private covered(h: HostEntry): boolean {
    return (
      (h.bytes === undefined ? this.blockIndex.lookupIpv4(h.v4) : this.blockIndex.lookupIpv6(h.bytes)) !==
      undefined
    );
  }

  private addBlock(c: Candidate): void {
    const n = this.blocks.get(c.prefix) ?? 0;
    this.blocks.set(c.prefix, n + 1);
    if (n > 0) return;
    if (!this.staticBlocks.has(c.prefix)) this.blockIndex.set(c.prefix, true);
    this.advertise({ prefix: c.prefix, family: c.family, kind: 'block' });
    for (const h of this.hostsIn(c.prefix)) {
      if (this.advertised.get(h.prefix)?.kind === 'host') this.unadvertise(h.prefix);
    }
  }

  private removeBlock(prefix: string): void {
    const n = this.blocks.get(prefix) ?? 0;
    if (n > 1) {
      this.blocks.set(prefix, n - 1);
      return;
    }
    this.blocks.delete(prefix);
    if (!this.staticBlocks.has(prefix)) this.blockIndex.delete(prefix);
    this.unadvertise(prefix);
    for (const h of this.hostsIn(prefix)) {
      if (!this.covered(h)) this.advertise({ prefix: h.prefix, family: h.family, kind: 'host' });
    }
  }

  private addHost(c: Candidate): void {
    const address = c.prefix.slice(0, c.prefix.indexOf('/'));
    let h: HostEntry | undefined;
    if (c.family === 'ipv4-unicast') {
      const v4 = parseIpv4(address);
      if (v4 === undefined) return;
      h = this.hostsV4.get(v4);
      if (h === undefined) {
        h = { prefix: c.prefix, family: c.family, v4, bytes: undefined, count: 0 };
        this.hostsV4.set(v4, h);
      }
    } else {
      const bytes = parseIpv6(address);
      if (bytes === undefined) return;
      const k = ipv6KeyFromBytes(bytes, 0, 128);
      h = this.hostsV6.get(k);
      if (h === undefined) {
        h = { prefix: c.prefix, family: c.family, v4: 0, bytes, count: 0 };
        this.hostsV6.set(k, h);
      }
    }
    if (h.count++ > 0) return;
    if (!this.covered(h)) this.advertise({ prefix: h.prefix, family: h.family, kind: 'host' });
  }

  private removeHost(c: Candidate): void {
    const address = c.prefix.slice(0, c.prefix.indexOf('/'));
    let h: HostEntry | undefined;
    let drop: () => void;
    if (c.family === 'ipv4-unicast') {
      const v4 = parseIpv4(address);
      if (v4 === undefined) return;
      h = this.hostsV4.get(v4);
      drop = () => this.hostsV4.delete(v4);
    } else {
      const bytes = parseIpv6(address);
      if (bytes === undefined) return;
      const k = ipv6KeyFromBytes(bytes, 0, 128);
      h = this.hostsV6.get(k);
      drop = () => this.hostsV6.delete(k);
    }
    if (h === undefined || --h.count > 0) return;
    drop();
    if (this.advertised.get(h.prefix)?.kind === 'host') this.unadvertise(h.prefix);
  }

  /**
   * The host candidates inside `block`: its addresses looked up one by one when it has fewer than
   * there are hosts (a /26 block: 64 lookups), else every host tested.
   */
  private hostsIn(block: string): HostEntry[] {
    const out: HostEntry[] = [];
    if (!block.includes(':')) {
      const k = parseIpv4Prefix(block);
      if (k === undefined) return out;
      const len = k & 63;
      const net = (k - len) / 64;
      const bits = 32 - len;
      if (bits <= ENUMERATE_BITS && 2 ** bits <= this.hostsV4.size) {
        for (let i = 0; i < 2 ** bits; i++) {
          const h = this.hostsV4.get(net + i);
          if (h !== undefined) out.push(h);
        }
      } else {
        for (const h of this.hostsV4.values()) if (ipv4Key(h.v4, len) === k) out.push(h);
      }
      return out;
    }
    const k = parseIpv6Prefix(block);
    const bytes = parseIpv6(block.slice(0, block.indexOf('/')));
    if (k === undefined || bytes === undefined) return out;
    const len = k.charCodeAt(8);
    const bits = 128 - len;
    if (bits <= ENUMERATE_BITS && 2 ** bits <= this.hostsV6.size) {
      const b = new Uint8Array(bytes);
      for (let i = 0; i < 2 ** bits; i++) {
        b[14] = bytes[14]! | (i >> 8);
        b[15] = bytes[15]! | (i & 255);
        const h = this.hostsV6.get(ipv6KeyFromBytes(b, 0, 128));
        if (h !== undefined) out.push(h);
      }
    } else {
      for (const h of this.hostsV6.values()) if (ipv6KeyFromBytes(h.bytes!, 0, len) === k) out.push(h);
    }
    return out;
  }
}
