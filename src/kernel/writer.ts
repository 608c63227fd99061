// The FIB writer (BGP -> kernel): keeps one kernel table holding exactly the routes it is given, through
// the copy a KernelRouteFollower keeps. The caller hands it the whole wanted set (`apply`), as often as
// it likes; the writer plans the keys that changed against the copy (plan.ts: planKey) and carries the
// plan out with one `ip -force -batch -` per round of at most `maxBatch` lines: every line runs even
// when one fails, the exit marks the end of the round, and each failure names its line (`Command failed
// -:N`), so every error is reported with its route. A round in flight is never overlapped: changes that
// come meanwhile are planned in the next.
//
// Planning is incremental, so a round costs its own lines, not the size of the table: a key is planned
// when its wanted route changed (compared by identity, then by key), when the follower reported a
// change at it, or when an answer of `ip` says the copy was behind; the first `apply` plans every wanted
// key and every route of tern's protocol in the copy.
//
// - The first `apply` is the start-up resync: routes of tern's protocol that are not wanted (left by an
//   earlier run, or by BIRD when tern takes its protocol number) are removed then. Nothing is touched
//   before it, so that a restarting node keeps forwarding until its RIB is ready.
// - The kernel changes on its own too (a route deleted by hand, a device gone): every change to a route
//   of tern's protocol, or at the place of a wanted route, plans that key again, so the table heals itself.
// - What a round wrote is assumed done until the follower reports the kernel's own word on that route
//   (or for 2 s at most), so that a plan made before the monitor
//   caught up does not write it twice.
// - `File exists` (an add) and `No such process` (a delete) mean the copy is behind the kernel, not that
//   the kernel refused: the writer asks the follower for a fresh read and plans those keys again after
//   it. They are counted in `stats.behind`, never as errors.
// - A route that failed is not retried on every round: only when its wanted state or its kernel route
//   changes, or every `retryMs`.
// Errors never leave as exceptions: each goes to `onError` (and the log) with the route and `ip`'s text.

import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { KernelRouteFollower } from './follower.js';
import { type IpOptions, runIp } from './ip.js';
import {
  type FibOp,
  type FibRoute,
  type FibTarget,
  fibCommand,
  isConflict,
  normalizeFibRoute,
  planKey,
  type WantedRoute,
} from './plan.js';
import { describeRoute, type KernelRoute, MAIN_TABLE, routeKey, sameRoute } from './route.js';
import type { RouteChange } from './table.js';

export interface FibError {
  /** `invalid`: refused before reaching the kernel; `conflict`: another protocol's route is in place. */
  readonly op: 'add' | 'replace' | 'delete' | 'invalid' | 'conflict';
  readonly prefix: string;
  /** The wanted route (absent for a delete of a stale route). */
  readonly route?: FibRoute;
  /** What `ip` said, or why the route was refused. */
  readonly message: string;
  /** The `ip -batch` line that failed. */
  readonly command?: string;
}

export interface FibWriterOptions extends IpOptions {
  /** tern's protocol number; default 12 (`bird`, as Calico's BIRD writes). */
  readonly protocol?: number;
  /** Kernel table; default 254 (main). Must be the follower's table. */
  readonly table?: number;
  readonly metric?: FibTarget['metric'];
  readonly log?: Logger;
  readonly onError?: (e: FibError) => void;
  /** Failed routes are tried again after this long (default 30 s). */
  readonly retryMs?: number;
  /** At most this many `ip` lines per round (default 10,000: each round costs a process start). */
  readonly maxBatch?: number;
}

export interface FibWriterStats {
  rounds: number;
  /** Lines carried out successfully, by operation. */
  added: number;
  replaced: number;
  deleted: number;
  errors: number;
}

/** FibWriterStats and what the writer's own work costs (tests, benchmarks). */
export interface FibWriterCounters extends FibWriterStats {
  /** Keys planned (one look at the copy each): about the lines written, never rounds x table size. */
  planned: number;
  /** Lines `ip` answered `File exists` / `No such process`: the copy was behind; planned again after a read. */
  behind: number;
  /** Full reads of the table the writer asked the follower for. */
  readsAsked: number;
}

interface Assumed {
  /** What the round wrote; undefined: deleted. */
  readonly route: KernelRoute | undefined;
  readonly at: number;
}

const ASSUME_MS = 2000;
const CIRCLE_WRITES = 5;
const CIRCLE_WINDOW_MS = 10_000;
/** `ip route del` of a route that is already gone. */
const GONE = /No such process|No such file or directory/;
/** `ip route add` of a route that is already there. */
const EXISTS = /File exists/;
/** Keys planned per round at most when they lead to no line (the event loop is never held long). */
const MAX_PLANNED = 20_000;

/** Whether `ip`'s answer to `op` says the copy was behind the kernel (not a refusal). */
export function copyWasBehind(op: FibOp['op'], error: string): boolean {
  return op === 'add' ? EXISTS.test(error) : GONE.test(error);
}

export class FibWriter {
  readonly stats: FibWriterCounters = {
    rounds: 0,
    added: 0,
    replaced: 0,
    deleted: 0,
    errors: 0,
    planned: 0,
    behind: 0,
    readsAsked: 0,
  };
  private readonly target: FibTarget;
  private readonly log: Logger;
  private readonly retryMs: number;
  private readonly maxBatch: number;
  private wanted: Map<string, WantedRoute> | undefined;
  /** The last `apply`'s routes, so that an unchanged route object is not checked again. */
  private bySource = new Map<FibRoute, WantedRoute>();
  /** Keys to plan, in the order they became due. */
  private readonly dirty = new Set<string>();
  /** The first round also plans every route of tern's protocol in the copy (stale ones go). */
  private planOwn = true;
  /** Keys `ip` said the copy was wrong about: planned again after the read asked for (`reading`). */
  private recheck = new Set<string>();
  /** Such keys from lines answered while that read was already under way: they wait for the next. */
  private recheckNext = new Set<string>();
  private reading = false;
  /** In write order (a key written again moves to the end), so expiry looks at the oldest first. */
  private readonly assumed = new Map<string, Assumed>();
  /**
   * Keys whose last attempt failed, with the wanted route it was for (undefined: a delete). Conflicts
   * wait for the other protocol's route to change; other failures are also tried again every retryMs.
   */
  private readonly failed = new Map<string, { route: KernelRoute | undefined; conflict: boolean }>();
  /** Writes per key in the current window, to stop a route the kernel keeps showing otherwise. */
  private readonly writes = new Map<
    string,
    { count: number; since: number; route: KernelRoute | undefined }
  >();
  private round: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly follower: KernelRouteFollower,
    private readonly opts: FibWriterOptions = {},
  ) {
    this.target = {
      protocol: opts.protocol ?? 12,
      table: opts.table ?? MAIN_TABLE,
      ...(opts.metric !== undefined ? { metric: opts.metric } : {}),
    };
    if (this.target.table !== follower.table.table) {
      throw new RangeError(
        `FibWriter: table ${this.target.table} is not the follower's ${follower.table.table}`,
      );
    }
    this.log = opts.log ?? silentLogger();
    this.retryMs = opts.retryMs ?? 30_000;
    this.maxBatch = opts.maxBatch ?? 10_000;
    this.unsubscribe = follower.onChange((changes) => this.onKernelChange(changes));
  }

  get protocol(): number {
    return this.target.protocol;
  }

  /**
   * The complete set of routes tern wants in the table (replacing the previous set). Invalid routes are
   * reported through `onError` and left out. The first call also removes stale routes of tern's protocol.
   */
  apply(routes: readonly FibRoute[]): void {
    if (this.stopped) return;
    const next = new Map<string, WantedRoute>();
    const bySource = new Map<FibRoute, WantedRoute>();
    for (const r of routes) {
      let w: WantedRoute | string | undefined = this.bySource.get(r);
      w ??= normalizeFibRoute(r, this.target);
      if (typeof w === 'string') {
        this.report({ op: 'invalid', prefix: String(r.prefix), route: r, message: w });
        continue;
      }
      if (next.has(w.key)) {
        this.report({ op: 'invalid', prefix: w.route.prefix, route: r, message: 'the same prefix twice' });
        continue;
      }
      next.set(w.key, w);
      bySource.set(r, w);
    }
    const prev = this.wanted;
    for (const [key, w] of next) {
      const p = prev?.get(key);
      if (p === w || (p !== undefined && sameRoute(p.route, w.route))) continue;
      this.changedWanted(key);
    }
    if (prev !== undefined) for (const key of prev.keys()) if (!next.has(key)) this.changedWanted(key);
    this.wanted = next;
    this.bySource = bySource;
    this.schedule();
  }

  private changedWanted(key: string): void {
    this.dirty.add(key);
    this.failed.delete(key);
  }

  /** Resolves when no round is under way or due (tests, shutdown). */
  settled(): Promise<void> {
    if (this.round === undefined && !this.again && !this.reading) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The routes the last `apply` asked for, in kernel form (`tern show`, tests). */
  wantedRoutes(): KernelRoute[] {
    return [...(this.wanted?.values() ?? [])].map((w) => w.route);
  }

  /** Stops planning (routes written stay in the kernel, like BIRD's `persist`). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.round;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private onKernelChange(changes: readonly RouteChange[]): void {
    if (this.wanted === undefined) return;
    let relevant = false;
    for (const c of changes) {
      const ours = c.before?.protocol === this.target.protocol || c.after?.protocol === this.target.protocol;
      if (!ours && !this.wanted.has(c.key)) continue;
      relevant = true;
      // the kernel's own word on this route: stop assuming, and try a failed route again
      this.assumed.delete(c.key);
      this.failed.delete(c.key);
      this.dirty.add(c.key);
    }
    if (relevant) this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.wanted === undefined) return;
    if (this.round !== undefined) {
      this.again = true;
      return;
    }
    this.round = this.follower
      .whenReady()
      .then(() => this.runRound())
      .catch((err: unknown) => {
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'FIB write round failed');
      })
      .finally(() => {
        this.round = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.schedule();
        } else {
          this.again = false;
          if (!this.reading) for (const w of this.idleWaiters.splice(0)) w();
        }
      });
  }

  /** The route at `key` as this writer believes it is: what a recent round wrote, else the copy's. */
  private current(key: string, now: number): KernelRoute | undefined {
    const a = this.assumed.get(key);
    if (a !== undefined && now - a.at <= ASSUME_MS) return a.route;
    return this.follower.table.get(key);
  }

  /**
   * Writes the kernel has not confirmed within ASSUME_MS: no longer assumed (should the confirmation
   * have been lost, the follower's read after the overrun reports the key, and it is planned then).
   */
  private expireAssumed(now: number): void {
    for (const [key, a] of this.assumed) {
      if (now - a.at <= ASSUME_MS) break;
      this.assumed.delete(key);
    }
  }

  private async runRound(): Promise<void> {
    const wanted = this.wanted;
    if (this.stopped || wanted === undefined || !this.follower.ready) return;
    if (this.planOwn) {
      this.planOwn = false;
      for (const [key] of wanted) this.dirty.add(key);
      for (const r of this.follower.table.routes()) {
        if (r.protocol === this.target.protocol && r.table === this.target.table) this.dirty.add(routeKey(r));
      }
    }
    const now = Date.now();
    this.expireAssumed(now);
    const batch: FibOp[] = [];
    let planned = 0;
    for (const key of this.dirty) {
      if (batch.length === this.maxBatch || planned === MAX_PLANNED) break;
      this.dirty.delete(key);
      if (this.failed.has(key)) continue;
      planned++;
      const r = planKey(key, wanted.get(key), this.current(key, now), this.target);
      if (r === undefined) continue;
      if (isConflict(r)) {
        this.failed.set(key, { route: r.wanted.route, conflict: true });
        this.report({
          op: 'conflict',
          prefix: r.wanted.route.prefix,
          route: r.wanted.source,
          message: `a route of protocol ${r.existing.protocol} is in place (${describeRoute(r.existing)}); left alone`,
        });
        continue;
      }
      if (!this.writingInCircles(r, now)) batch.push(r);
    }
    this.stats.planned += planned;
    if (this.dirty.size > 0) this.again = true; // the rest in the next round
    if (batch.length > 0) await this.carryOut(batch);
    // a round that wrote nothing did no I/O: let the event loop run before the next one
    else if (this.again) await new Promise<void>((resolve) => setImmediate(resolve));
    this.armRetry();
  }

  private async carryOut(batch: readonly FibOp[]): Promise<void> {
    const lines = batch.map(fibCommand);
    const r = await runIp(this.opts, ['-force', '-batch', '-'], `${lines.join('\n')}\n`, 60_000);
    this.stats.rounds++;
    const failures = batchFailures(r.stderr);
    if (r.code !== 0 && failures.size === 0) {
      // `ip` did not run the lines at all (not found, killed): every line failed with its text
      const message = r.stderr.trim() || `ip exited with ${r.code}`;
      for (let i = 1; i <= batch.length; i++) failures.set(i, message);
    }
    const now = Date.now();
    let behind = 0;
    batch.forEach((op, i) => {
      const error = failures.get(i + 1);
      if (error !== undefined && copyWasBehind(op.op, error)) {
        // the kernel already had (or no longer had) this route: the copy is behind; look again after a read
        behind++;
        this.assumed.delete(op.key);
        (this.reading ? this.recheckNext : this.recheck).add(op.key);
        return;
      }
      if (error !== undefined) {
        this.failed.set(op.key, { route: op.op === 'delete' ? undefined : op.wanted.route, conflict: false });
        this.report({
          op: op.op,
          prefix: op.op === 'delete' ? op.existing.prefix : op.wanted.route.prefix,
          ...(op.op === 'delete' ? {} : { route: op.wanted.source }),
          message: error,
          command: lines[i]!,
        });
        return;
      }
      this.failed.delete(op.key);
      this.assumed.delete(op.key);
      this.assumed.set(op.key, { route: op.op === 'delete' ? undefined : op.wanted.route, at: now });
      if (op.op === 'add') this.stats.added++;
      else if (op.op === 'replace') this.stats.replaced++;
      else this.stats.deleted++;
    });
    if (behind > 0) {
      this.stats.behind += behind;
      this.log.debug({ lines: behind }, 'the kernel copy was behind; reading the table again');
      this.readAgain();
    }
    this.log.debug({ lines: lines.length, failed: failures.size }, 'FIB write round');
  }

  /**
   * True (and the route reported and set aside) when `op` has been carried out over and over for the
   * same wanted state: the kernel keeps showing something else (or another daemon keeps writing tern's
   * protocol), and writing again would never end.
   */
  private writingInCircles(op: FibOp, now: number): boolean {
    const route = op.op === 'delete' ? undefined : op.wanted.route;
    const w = this.writes.get(op.key);
    const same =
      w !== undefined &&
      (w.route === undefined ? route === undefined : route !== undefined && sameRoute(w.route, route));
    if (w === undefined || !same || now - w.since > CIRCLE_WINDOW_MS) {
      this.writes.set(op.key, { count: 1, since: now, route });
      return false;
    }
    if (++w.count <= CIRCLE_WRITES) return false;
    this.failed.set(op.key, { route, conflict: false });
    this.report({
      op: op.op,
      prefix: op.op === 'delete' ? op.existing.prefix : op.wanted.route.prefix,
      ...(op.op === 'delete' ? {} : { route: op.wanted.source }),
      message: `written ${CIRCLE_WRITES} times in ${CIRCLE_WINDOW_MS / 1000} s, and the kernel still shows something else; set aside until the next retry`,
      command: fibCommand(op),
    });
    return true;
  }

  /** A fresh read of the table; then the keys `ip` said the copy was wrong about are planned again. */
  private readAgain(): void {
    if (this.reading || this.stopped || this.recheck.size === 0) return;
    this.reading = true;
    this.stats.readsAsked++;
    const done = (): void => {
      this.reading = false;
      if (this.stopped) return;
      for (const key of this.recheck) this.dirty.add(key);
      this.recheck = this.recheckNext;
      this.recheckNext = new Set();
      this.readAgain();
      this.schedule();
    };
    this.follower.resync('the FIB writer found the copy behind the kernel').then(done, done);
  }

  private armRetry(): void {
    if (this.failed.size === 0 || this.retryTimer !== undefined || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const [key, f] of this.failed) {
        if (f.conflict) continue;
        this.failed.delete(key);
        this.dirty.add(key);
      }
      this.writes.clear();
      this.schedule();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private report(e: FibError): void {
    this.stats.errors++;
    this.log.warn(
      { op: e.op, prefix: e.prefix, error: e.message, ...(e.command ? { command: e.command } : {}) },
      'kernel route not written',
    );
    try {
      this.opts.onError?.(e);
    } catch (err) {
      this.log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'FIB onError callback failed',
      );
    }
  }
}

/** `ip -force -batch` stderr: each failing line's 1-based number -> the error lines printed before it. */
export function batchFailures(stderr: string): Map<number, string> {
  const out = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed .*:(\d+)\s*$/.exec(line);
    if (m !== null) {
      out.set(Number(m[1]), pending.join('; ') || 'failed');
      pending = [];
    } else if (line.trim() !== '') pending.push(line.trim());
  }
  return out;
}
