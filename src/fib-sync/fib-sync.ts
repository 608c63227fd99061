// FibSync: the Loc-RIB subscriber that keeps the kernel's copy of tern's routes (BGP -> kernel). It
// hears every change of a prefix's selected set (best + equal-cost paths), turns it into the kernel
// route policy.ts says, and hands the FIB writer the whole wanted set, at most every `delayMs` (changes
// in between coalesce). The first hand-over also removes stale routes of tern's protocol, so it waits
// until the Router no longer defers for a graceful restart: the routes of the previous run stay in the
// kernel (BIRD's `persist`) until the new table is complete.

import type { Route } from '../bgp/rib/types.js';
import type { FibRoute } from '../kernel/plan.js';
import { type FibPolicy, fibRouteFor, prefixText } from './policy.js';

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

  constructor(
    private readonly writer: FibTarget,
    private policy: FibPolicy,
    /** Originated prefixes written as blackhole routes (canonical text). */
    private blackholes: ReadonlySet<string>,
    private readonly opts: FibSyncOptions = {},
  ) {
    this.delayMs = opts.delayMs ?? 50;
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

  /** The routes wanted now (for `tern show` and tests). */
  routes(): FibRoute[] {
    return [...this.wanted.values()];
  }

  /** Hands the writer the wanted set soon (also when nothing changed: the first round). */
  schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.opts.ready && !this.opts.ready()) {
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
