// KernelSync: the one entry point of kernel sync for the daemon. It owns the follower (tern's copy of
// the kernel table), and on top of it the learner (kernel -> BGP: the prefixes to originate), next-hop
// resolvers, and the FIB writer (BGP -> kernel) when writing is on. docs/fib.md describes the design.
//
//   const kernel = new KernelSync({ kernel: config.kernel, pools: config.pools, log });
//   kernel.onOriginate((diff) => router.updateOriginated(diff.added, diff.removed)); // start, each change
//   const resolver = kernel.nextHopResolver(() => router.reevaluate());
//   await kernel.start();
//   kernel.writer?.apply(routes);                                     // the whole wanted set, any time
//   await kernel.stop();

import type { KernelConfig, PoolConfig } from '../config/types.js';
import { KernelNextHopResolver } from '../fib-sync/next-hop-resolver.js';
import { type Logger, silentLogger } from '../log.js';
import { KernelRouteFollower } from './follower.js';
import { type LearnedDiff, type LearnedPrefix, Learner, type LearnRules } from './learn.js';
import { type FibError, FibWriter } from './writer.js';

export interface KernelSyncOptions {
  readonly kernel: KernelConfig;
  readonly pools: readonly PoolConfig[];
  /** Prefixes the config originates: host routes inside them are not learned as borrowed addresses. */
  readonly staticBlocks?: readonly string[];
  /** Network namespace (`ip -n`); absent: tern's own. */
  readonly netns?: string;
  readonly ipPath?: string;
  readonly log?: Logger;
  /** Every route the writer could not write, with `ip`'s error text (also logged). */
  readonly onWriteError?: (e: FibError) => void;
  /** Follower tuning (tests): see FollowerOptions. */
  readonly confirmDelayMs?: number;
  readonly resyncDelayMs?: number;
}

/** What changed in the learned set (`KernelSync.originated` is the whole set, sorted, when needed). */
export type OriginateListener = (diff: LearnedDiff) => void;

function learnRules(
  opts: Pick<KernelSyncOptions, 'kernel' | 'pools' | 'staticBlocks'>,
): LearnRules | undefined {
  const l = opts.kernel.learn;
  if (l === null) return undefined;
  return {
    blocks: l.blocks,
    hostRoutes: l.hostRoutes,
    interfaces: l.interfaces,
    pools: opts.pools,
    ownProtocol: opts.kernel.protocol,
    staticBlocks: opts.staticBlocks ?? [],
  };
}

export class KernelSync {
  readonly follower: KernelRouteFollower;
  /** Present when `kernel.write` is on. */
  readonly writer: FibWriter | undefined;
  private learner: Learner | undefined;
  private readonly listeners = new Set<OriginateListener>();
  private announced = false;
  private readonly log: Logger;

  constructor(private opts: KernelSyncOptions) {
    this.log = opts.log ?? silentLogger();
    this.follower = new KernelRouteFollower({
      table: opts.kernel.table,
      scanIntervalMs: opts.kernel.scanTime * 1000,
      log: this.log,
      ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
      ...(opts.ipPath !== undefined ? { ipPath: opts.ipPath } : {}),
      ...(opts.confirmDelayMs !== undefined ? { confirmDelayMs: opts.confirmDelayMs } : {}),
      ...(opts.resyncDelayMs !== undefined ? { resyncDelayMs: opts.resyncDelayMs } : {}),
    });
    const rules = learnRules(opts);
    this.learner = rules === undefined ? undefined : new Learner(rules);
    this.follower.onChange((changes) => {
      const diff = this.learner?.update(changes);
      if (diff !== undefined && this.announced && (diff.added.length > 0 || diff.removed.length > 0)) {
        this.emit(diff);
      }
    });
    this.writer = opts.kernel.write
      ? new FibWriter(this.follower, {
          protocol: opts.kernel.protocol,
          table: opts.kernel.table,
          log: this.log,
          ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
          ...(opts.ipPath !== undefined ? { ipPath: opts.ipPath } : {}),
          ...(opts.onWriteError !== undefined ? { onError: opts.onWriteError } : {}),
        })
      : undefined;
  }

  /** Reads the table and starts following it; resolves once the copy is in and the set announced. */
  async start(): Promise<void> {
    await this.follower.start();
    if (!this.follower.ready || this.announced) return;
    this.announced = true;
    this.emit({ added: this.originated, removed: [] });
  }

  /** Stops following and writing; routes written stay in the kernel (BIRD's `persist`). */
  async stop(): Promise<void> {
    await this.writer?.stop();
    await this.follower.stop();
  }

  /** The prefixes learned from the kernel, after aggregation (sorted, IPv4 first). */
  get originated(): readonly LearnedPrefix[] {
    return this.learner?.set ?? [];
  }

  /**
   * Calls `listener` with what changed in the learned set: once when the copy is first in (the whole
   * set as added; at once, if that is already so), then on every change, costing that change only. A learned route that leaves the kernel is
   * withdrawn in the same turn of the event loop as its `ip monitor` message.
   */
  onOriginate(listener: OriginateListener): () => void {
    this.listeners.add(listener);
    if (this.announced) this.call(listener, { added: this.originated, removed: [] });
    return () => this.listeners.delete(listener);
  }

  /** A next-hop resolver on the copy (NextHopReachability); start() it to follow changes. */
  nextHopResolver(onChange: () => void): KernelNextHopResolver {
    return new KernelNextHopResolver(this.follower, onChange);
  }

  /**
   * New pools, learning rules or static blocks (a reload): the learned set is worked out again and the
   * difference announced. A new table, protocol or `write` needs a new KernelSync.
   */
  reconfigure(opts: Pick<KernelSyncOptions, 'kernel' | 'pools' | 'staticBlocks'>): void {
    this.opts = { ...this.opts, ...opts };
    const rules = learnRules(this.opts);
    let diff: LearnedDiff;
    if (rules === undefined) {
      diff = { added: [], removed: this.originated };
      this.learner = undefined;
    } else {
      this.learner ??= new Learner(rules);
      diff = this.learner.reconfigure(rules, this.follower.table.routes());
    }
    if (this.announced && (diff.added.length > 0 || diff.removed.length > 0)) this.emit(diff);
  }

  private emit(diff: LearnedDiff): void {
    for (const l of [...this.listeners]) this.call(l, diff);
  }

  private call(l: OriginateListener, diff: LearnedDiff): void {
    try {
      l(diff);
    } catch (err) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'originate listener failed');
    }
  }
}
