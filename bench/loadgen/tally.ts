// What one client has received, counted exactly: a bitmap of the plan's prefixes (each counted once),
// duplicates and withdrawals on their own, and checks that each route names the client that originated
// it (origin AS, next hop). Pure: time arrives as an argument.

import { Afi } from '../../src/bgp/messages/iana.js';
import { formatIpv4Key, parseIpv4 } from '../../src/bgp/messages/prefix.js';
import type { UpdateMessage } from '../../src/bgp/messages/update.js';
import type { Plan } from './plan.js';

/**
 * The next hop a received route must carry: `originator` the one the originating client announced
 * (a daemon that keeps next hops: iBGP reflection, `nextHopSelf: keep`), `fixed` one address (an eBGP
 * daemon that sets itself), `any` no check.
 */
export type NextHopRule =
  | { readonly kind: 'any' }
  | { readonly kind: 'originator' }
  | { readonly kind: 'fixed'; readonly address: string };

export interface TallyCounts {
  /** Distinct plan prefixes held now (announced, not withdrawn since). */
  readonly held: number;
  /** What `held` should reach: every plan prefix but this client's own. */
  readonly expected: number;
  /** Prefixes in UPDATEs received, duplicates included. */
  readonly announcements: number;
  /** Announcements of a prefix already held. */
  readonly duplicates: number;
  /** Withdrawn prefixes received, and those among them that were not held. */
  readonly withdrawals: number;
  readonly withdrawnUnknown: number;
  /** This client's own prefixes sent back to it (not counted in `held`). */
  readonly own: number;
  /** Prefixes outside the plan. */
  readonly foreign: number;
  /** Routes whose next hop / origin AS is not the expected one; the first as an example. */
  readonly badNextHop: number;
  readonly badOriginAs: number;
  readonly firstProblem?: string;
  /** UPDATEs RFC 7606 made treat-as-withdraw or stripped of attributes. */
  readonly malformed: number;
  readonly updates: number;
  readonly endOfRib: number;
  /** Times (ms, the caller's clock) of the first and last announcement, and when `held` reached `expected`. */
  readonly firstAt?: number;
  readonly lastAt?: number;
  readonly fullAt?: number;
  /** Time of the last UPDATE that changed `held` (an announcement of a new prefix or a withdrawal). */
  readonly changedAt?: number;
}

export class Tally {
  private readonly seen: Uint8Array;
  private readonly fixedNextHop: number | undefined;
  private readonly ownFirst: number;
  private readonly ownEnd: number;
  private counts: {
    -readonly [K in keyof TallyCounts]: TallyCounts[K];
  };

  /** `self`: the client's index in the plan, or undefined for a monitor that announces nothing. */
  constructor(
    private readonly plan: Plan,
    self: number | undefined,
    private readonly rule: NextHopRule,
  ) {
    this.seen = new Uint8Array(Math.ceil(plan.total / 8));
    this.ownFirst = self === undefined ? -1 : self * plan.prefixesPerClient;
    this.ownEnd = self === undefined ? -1 : this.ownFirst + plan.prefixesPerClient;
    this.fixedNextHop = rule.kind === 'fixed' ? parseIpv4(rule.address) : undefined;
    if (rule.kind === 'fixed' && this.fixedNextHop === undefined)
      throw new RangeError(`next hop rule: not an IPv4 address: ${rule.address}`);
    this.counts = {
      held: 0,
      expected: plan.total - (self === undefined ? 0 : plan.prefixesPerClient),
      announcements: 0,
      duplicates: 0,
      withdrawals: 0,
      withdrawnUnknown: 0,
      own: 0,
      foreign: 0,
      badNextHop: 0,
      badOriginAs: 0,
      malformed: 0,
      updates: 0,
      endOfRib: 0,
    };
  }

  get snapshot(): TallyCounts {
    return { ...this.counts };
  }

  get complete(): boolean {
    const c = this.counts;
    return c.held === c.expected && c.duplicates === 0 && c.foreign === 0 && c.own === 0;
  }

  private problem(text: string): void {
    if (this.counts.firstProblem === undefined) this.counts.firstProblem = text;
  }

  onUpdate(msg: UpdateMessage, now: number): void {
    const c = this.counts;
    c.updates++;
    if (msg.problems !== undefined && msg.problems.length > 0) c.malformed++;
    const a = msg.attributes;
    let announced: readonly number[] = msg.nlri.prefixes;
    let withdrawn: readonly number[] = msg.withdrawn.prefixes;
    let nextHopText = a.nextHop;
    if (a.mpReach?.kind === 'unicast' && a.mpReach.nlri.afi === Afi.IPV4) {
      announced =
        announced.length === 0 ? a.mpReach.nlri.prefixes : [...announced, ...a.mpReach.nlri.prefixes];
      nextHopText ??= a.mpReach.nextHop;
    }
    if (a.mpUnreach?.kind === 'unicast' && a.mpUnreach.withdrawn.afi === Afi.IPV4)
      withdrawn = [...withdrawn, ...a.mpUnreach.withdrawn.prefixes];
    if (announced.length === 0 && withdrawn.length === 0) {
      c.endOfRib++;
      return;
    }
    const heldBefore = c.held;
    for (const key of withdrawn) this.withdraw(key);
    if (announced.length === 0) {
      if (c.held !== heldBefore) c.changedAt = now;
      return;
    }

    c.firstAt ??= now;
    c.lastAt = now;
    const nextHop = nextHopText === undefined ? undefined : parseIpv4(nextHopText);
    const originAs = lastAs(a.asPath);
    for (const key of announced) {
      c.announcements++;
      const slot = this.plan.slot(key);
      if (slot < 0) {
        c.foreign++;
        this.problem(`foreign prefix ${formatIpv4Key(key)}`);
        continue;
      }
      if (slot >= this.ownFirst && slot < this.ownEnd) {
        c.own++;
        continue;
      }
      const bit = 1 << (slot & 7);
      const byte = slot >> 3;
      if ((this.seen[byte]! & bit) !== 0) c.duplicates++;
      else {
        this.seen[byte]! |= bit;
        c.held++;
      }
      const origin = this.plan.originOf(slot);
      if (!this.nextHopOk(nextHop, origin)) {
        c.badNextHop++;
        this.problem(`${formatIpv4Key(key)} next hop ${nextHopText ?? 'none'}`);
      }
      const wantAs = this.plan.asnOf(origin);
      // an empty AS_PATH is right only for iBGP (every client in the daemon's AS)
      if (originAs !== wantAs && !(originAs === undefined && this.plan.sameAsnSet)) {
        c.badOriginAs++;
        this.problem(`${formatIpv4Key(key)} origin AS ${originAs ?? 'none'}, expected ${wantAs}`);
      }
    }
    if (c.held !== heldBefore) c.changedAt = now;
    if (c.fullAt === undefined && c.held === c.expected) c.fullAt = now;
  }

  private withdraw(key: number): void {
    const c = this.counts;
    c.withdrawals++;
    const slot = this.plan.slot(key);
    if (slot < 0 || (slot >= this.ownFirst && slot < this.ownEnd)) {
      c.withdrawnUnknown++;
      return;
    }
    const bit = 1 << (slot & 7);
    const byte = slot >> 3;
    if ((this.seen[byte]! & bit) === 0) c.withdrawnUnknown++;
    else {
      this.seen[byte]! &= ~bit;
      c.held--;
    }
  }

  private nextHopOk(nextHop: number | undefined, origin: number): boolean {
    switch (this.rule.kind) {
      case 'any':
        return true;
      case 'fixed':
        return nextHop === this.fixedNextHop;
      case 'originator':
        return nextHop !== undefined && nextHop === this.plan.nextHopNumber(origin);
    }
  }
}

function lastAs(path: UpdateMessage['attributes']['asPath']): number | undefined {
  if (path === undefined || path.length === 0) return undefined;
  const asns = path[path.length - 1]!.asns;
  return asns[asns.length - 1];
}
