// FibSync: the Loc-RIB subscriber that keeps the kernel's copy of tern's routes (BGP -> kernel). It
// hears every change of a prefix's selected set (best + equal-cost paths), turns it into the kernel
// route policy.ts says, and hands the FIB writer the whole wanted set, at most every `delayMs` (changes
// in between coalesce). Until initial convergence (End-of-RIB from every peer, or a timeout) the routes
// of tern's protocol already in the kernel (a previous run's) are adopted: handed over as wanted unless
// a route of this run replaces them, so nothing is flushed while the table fills; after it, those still
// unwanted are removed. While a graceful restart defers sending, nothing is handed over at all.

import type { Route } from '../bgp/rib/types.js';
import type { FibRoute } from '../kernel/plan.js';
import { type FibPolicy, fibRouteFor, prefixText } from './policy.js';

const familyKeyOf = (f: FibRoute['family']): number => (f === 'ipv4-unicast' ? 0x101 : 0x201);

export interface FibTarget {
  apply(routes: readonly FibRoute[]): void;
}

export interface FibSyncOptions {
  /** Coalescing window between writer rounds (ms). */
  readonly delayMs?: number;
  /** False while nothing may be written yet (a graceful restart waits for End-of-RIB). */
  readonly ready?: () => boolean;
}

export class FibSync {
  /** The wanted route per "family|prefix". */
  private readonly wanted = new Map<string, FibRoute>();
  private timer: NodeJS.Timeout | undefined;
  private readonly delayMs: number;
  private stopped = false;
  /** Adopted routes by "family|prefix", until converged. */
  private adopted: Map<string, FibRoute> | undefined;
  /** Set by adopt(): the kernel's routes have been read. */
  private begun = false;

  constructor(
    private readonly writer: FibTarget,
    private policy: FibPolicy,
    /** Originated prefixes written as blackhole routes (canonical text). */
    private blackholes: ReadonlySet<string>,
    private readonly opts: FibSyncOptions = {},
  ) {
    this.delayMs = opts.delayMs ?? 50;
  }

  /**
   * Adopts these routes (of a previous run, read from the kernel) until `converged`. Nothing is handed
   * to the writer before this call: the first hand-over must not remove what was not adopted yet.
   */
  adopt(routes: readonly FibRoute[]): void {
    this.begun = true;
    this.schedule();
    if (routes.length === 0) return;
    this.adopted = new Map(routes.map((r) => [`${familyKeyOf(r.family)}|${r.prefix}`, r]));
  }

  /** Initial convergence: adopted routes no longer wanted go at the next hand-over. */
  converged(): void {
    if (this.adopted === undefined) return;
    this.adopted = undefined;
    this.schedule();
  }

  /** How many routes of a previous run are still adopted. */
  get adoptedCount(): number {
    return this.adopted?.size ?? 0;
  }

  /** The Router's subscriber callback. */
  onSelected(
    changes: readonly { family: number; prefix: number | string; selected: readonly Route[] }[],
  ): void {
    for (const c of changes) {
      const key = `${c.family}|${prefixText(c.family, c.prefix)}`;
      const r = fibRouteFor(c.family, c.prefix, c.selected, this.policy, this.blackholes);
      if (r === undefined) this.wanted.delete(key);
      else this.wanted.set(key, r);
    }
    this.schedule();
  }

  /** New pools or blackhole set (a reload); the caller re-publishes the affected prefixes. */
  reconfigure(policy: FibPolicy, blackholes: ReadonlySet<string>): void {
    this.policy = policy;
    this.blackholes = blackholes;
  }

  /** The routes wanted now (for `tern show` and tests), adopted ones included. */
  routes(): FibRoute[] {
    const out = [...this.wanted.values()];
    if (this.adopted) for (const [k, r] of this.adopted) if (!this.wanted.has(k)) out.push(r);
    return out;
  }

  /** Removes every route of tern's protocol (a withdrawing stop); resolves when handed over. */
  withdrawAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wanted.clear();
    this.adopted = undefined;
    this.writer.apply([]);
    this.stopped = true;
  }

  /** Hands the writer the wanted set soon (also when nothing changed: the first round). */
  schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.begun || (this.opts.ready && !this.opts.ready())) {
        this.schedule();
        return;
      }
      this.writer.apply(this.routes());
    }, this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
