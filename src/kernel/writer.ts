// The FIB writer (BGP -> kernel): keeps one kernel table holding exactly the routes it is given, through
// the copy a KernelRouteFollower keeps. The caller hands it the whole wanted set (`apply`), as often as
// it likes; the writer plans the keys that changed against the copy (plan.ts: planKey) and carries the
// plan out with one `ip -force -batch -` per round of at most `maxBatch` lines: every line runs even
// when one fails, the exit marks the end of the round, and each failure names its line (`Command failed
// -:N`), so every error is reported with its route. The lines reach `ip` through a file (unlinked before
// `ip` starts), so that `ip` never waits for this thread to feed a pipe. At most `maxRounds` (2) rounds
// run at once, always on different keys (a key in a running round waits for it), and the next one starts
// only once the follower has reported most of the running round's keys: the kernel never waits while
// this process plans and spawns, and `ip monitor` is never left so far behind that netlink drops its
// messages.
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
// - Bulk mode: when at least `bulkMin` keys are due (20,000 by default: a start-up on a large table, a
//   lost peer's routes), the follower's `ip monitor` is paused while the rounds run back to back (up to
//   `maxRounds` at once, without waiting for the monitor), as a listening monitor slows the kernel's
//   batch and cannot follow it at full rate. Then the follower resumes (a new monitor, a full read that
//   reports what changed meanwhile, ours and others'), the keys written are checked against the fresh
//   copy, and normal planning takes over. A piece lasts at most `bulkMaxMs` (then the follower resumes,
//   and the next piece starts), so the copy is never stale for long.
// Errors never leave as exceptions: each goes to `onError` (and the log) with the route and `ip`'s text.

import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { KernelRouteFollower } from './follower.js';
import { type IpOptions, runIpFromFile } from './ip.js';
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
  /**
   * Rounds running at once, on different keys (default 2): the next round's `ip` starts while the last
   * one's is still at work, so the kernel does not wait while this process plans, spawns and reads results.
   */
  readonly maxRounds?: number;
  /**
   * Keys due at once from which the plan is carried out in bulk mode (the follower's monitor paused,
   * rounds back to back, then a full read); default 20,000; 0: never.
   */
  readonly bulkMin?: number;
  /** A bulk piece starts no new round after this long (the copy is stale meanwhile); default 2,000 ms. */
  readonly bulkMaxMs?: number;
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
  /** Changes the follower reported that left a key as wanted (the confirmations of lines written): not planned. */
  confirmed: number;
  /** The most rounds that were running at once (at most maxRounds). */
  mostRunning: number;
  /** Bulk pieces carried out (each: the follower paused, rounds back to back, the follower resumed). */
  bulks: number;
}

/** A bulk piece under way: since when (the copy stale), and the keys written in it. */
interface Bulk {
  since: number;
  readonly written: Set<string>;
}

/** Whether the writer should carry out what is due in bulk mode (pure: the numbers only). */
export function wantsBulk(due: number, bulkMin: number): boolean {
  return bulkMin > 0 && due >= bulkMin;
}

/** Whether a bulk piece may start another round: time left, and work left. */
export function bulkGoesOn(bulk: { readonly since: number }, now: number, bulkMaxMs: number): boolean {
  return now - bulk.since < bulkMaxMs;
}

/** A round whose `ip` is running: its lines, and how many of its keys the follower reported since. */
interface Running {
  readonly lines: number;
  reported: number;
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
/** The share of a running round's keys the follower must have reported before the next round starts. */
const ROUND_CAUGHT_UP = 0.9;
/** Work per turn of the event loop when checking the keys a bulk piece wrote against the fresh copy. */
const SLICE_MS = 10;

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
    confirmed: 0,
    mostRunning: 0,
    bulks: 0,
  };
  private readonly target: FibTarget;
  private readonly log: Logger;
  private readonly retryMs: number;
  private readonly maxBatch: number;
  private readonly maxRounds: number;
  private readonly bulkMin: number;
  private readonly bulkMaxMs: number;
  /** The bulk piece under way (the follower paused), if any. */
  private bulk: Bulk | undefined;
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
  /** Planning the next round (waiting for the copy, then choosing its lines). */
  private planning: Promise<void> | undefined;
  /** Rounds whose `ip` is running (at most maxRounds), and the keys they write. */
  private readonly rounds = new Map<Promise<void>, Running>();
  private readonly busy = new Map<string, Running>();
  /** Work is due that could not start yet (a round was being planned, or maxRounds were running). */
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
    this.maxRounds = Math.max(1, opts.maxRounds ?? 2);
    this.bulkMin = opts.bulkMin ?? 20_000;
    this.bulkMaxMs = opts.bulkMaxMs ?? 2000;
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
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private idle(): boolean {
    return (
      this.planning === undefined &&
      this.rounds.size === 0 &&
      !this.again &&
      !this.reading &&
      this.bulk === undefined
    );
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
    await this.planning;
    await Promise.all([...this.rounds.keys()]);
    if (this.bulk !== undefined) {
      // never leave the follower paused
      this.bulk = undefined;
      await this.follower.resume('the FIB writer stopped during a bulk write');
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private onKernelChange(changes: readonly RouteChange[]): void {
    if (this.wanted === undefined) return;
    let relevant = false;
    for (const c of changes) {
      const ours = c.before?.protocol === this.target.protocol || c.after?.protocol === this.target.protocol;
      if (!ours && !this.wanted.has(c.key)) continue;
      const running = this.busy.get(c.key);
      if (running !== undefined && ++running.reported === Math.ceil(running.lines * ROUND_CAUGHT_UP)) {
        relevant ||= this.again; // room for the next round now
      }
      // the kernel's own word on this route: stop assuming, and try a failed route again
      this.assumed.delete(c.key);
      this.bulk?.written.delete(c.key); // (the read that ends a bulk piece: nothing more to check there)
      this.failed.delete(c.key);
      // the route now is as wanted (mostly the confirmation of a line just written): nothing to plan
      if (planKey(c.key, this.wanted.get(c.key), c.after, this.target) === undefined) {
        this.stats.confirmed++;
        continue;
      }
      relevant = true;
      this.dirty.add(c.key);
    }
    if (relevant) this.schedule();
  }

  /**
   * Plans a round now, unless one is being planned or maxRounds are running (then `again`: it is
   * planned as soon as that is over). Rounds write different keys: a key in a running round waits for it.
   */
  private schedule(): void {
    if (this.stopped || this.wanted === undefined) return;
    if (this.planning !== undefined || !this.roomForRound()) {
      this.again = true;
      return;
    }
    this.again = false;
    this.planning = this.follower
      .whenReady()
      .then(() => this.planRound())
      .catch((err: unknown) => this.roundFailed(err))
      .finally(() => {
        this.planning = undefined;
        this.next();
      });
  }

  /**
   * Whether another round may start: none is running, or fewer than maxRounds and the copy has caught up
   * with most of each running round (the follower reported ROUND_CAUGHT_UP of its keys). The next round
   * thus starts while the last one's `ip` finishes, but never so far ahead of `ip monitor` that the
   * kernel drops its messages (ENOBUFS, and a full read to put the copy right).
   */
  private roomForRound(): boolean {
    if (this.rounds.size === 0) return true;
    if (this.rounds.size >= this.maxRounds) return false;
    if (this.bulk !== undefined) return true; // no monitor to wait for
    for (const r of this.rounds.values()) if (r.reported < r.lines * ROUND_CAUGHT_UP) return false;
    return true;
  }

  /** After planning or a round: the next one if due, else wake whoever waits for the writer to settle. */
  private next(): void {
    if (this.again && !this.stopped) this.schedule();
    else if (this.stopped) this.again = false;
    if (this.idle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private roundFailed(err: unknown): void {
    this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'FIB write round failed');
  }

  /** The route at `key` as this writer believes it is: what a recent round wrote, else the copy's. */
  private current(key: string, now: number): KernelRoute | undefined {
    const a = this.assumed.get(key);
    // in a bulk piece nothing confirms a write until the follower resumes: what was written stands
    if (a !== undefined && (this.bulk !== undefined || now - a.at <= ASSUME_MS)) return a.route;
    return this.follower.table.get(key);
  }

  /**
   * Writes the kernel has not confirmed within ASSUME_MS: no longer assumed (should the confirmation
   * have been lost, the follower's read after the overrun reports the key, and it is planned then).
   */
  private expireAssumed(now: number): void {
    if (this.bulk !== undefined) return;
    for (const [key, a] of this.assumed) {
      if (now - a.at <= ASSUME_MS) break;
      this.assumed.delete(key);
    }
  }

  /** Chooses the next round's lines and starts it (without waiting for its `ip`). */
  private async planRound(): Promise<void> {
    const wanted = this.wanted;
    if (this.stopped || wanted === undefined || !this.follower.ready) return;
    if (this.planOwn) {
      this.planOwn = false;
      for (const [key] of wanted) this.dirty.add(key);
      for (const r of this.follower.table.routes()) {
        if (r.protocol === this.target.protocol && r.table === this.target.table) this.dirty.add(routeKey(r));
      }
    }
    if (this.bulk !== undefined) {
      const goesOn = bulkGoesOn(this.bulk, Date.now(), this.bulkMaxMs);
      if (this.rounds.size === 0 && (this.dirty.size === 0 || !goesOn)) {
        // the piece is over: follow again, then plan what is left (maybe the next piece). Not while its
        // last rounds run: a listening monitor slows them, and the read competes with them for the CPUs
        await this.endBulk();
        this.again = true;
        return;
      }
      // time is up: the last running round's end comes back here and ends the piece
      if (!goesOn) return;
    } else if (wantsBulk(this.dirty.size, this.bulkMin)) {
      // the running rounds' ends (or the read's) plan again: the piece starts once they are over
      if (this.rounds.size > 0 || this.reading) return;
      await this.startBulk();
      if (this.stopped) return;
    }
    const now = Date.now();
    this.expireAssumed(now);
    const batch: FibOp[] = [];
    let planned = 0;
    let left = false;
    for (const key of this.dirty) {
      if (batch.length === this.maxBatch || planned === MAX_PLANNED) {
        left = true;
        break;
      }
      if (this.busy.has(key)) continue; // planned again when its round is over
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
    if (left) this.again = true; // the rest in the next round
    if (this.bulk !== undefined && batch.length === 0 && this.rounds.size === 0 && !left) {
      await this.endBulk(); // nothing was left to write
      this.again = true;
      this.armRetry();
      return;
    }
    if (batch.length > 0) {
      const running: Running = { lines: batch.length, reported: 0 };
      for (const op of batch) this.busy.set(op.key, running);
      const round: Promise<void> = this.carryOut(batch)
        .catch((err: unknown) => this.roundFailed(err))
        .finally(() => {
          for (const op of batch) this.busy.delete(op.key);
          this.rounds.delete(round);
          this.armRetry();
          // keys that changed while they were being written; in a bulk piece, its end
          if (this.dirty.size > 0 || this.bulk !== undefined) this.again = true;
          this.next();
        });
      this.rounds.set(round, running);
      this.stats.mostRunning = Math.max(this.stats.mostRunning, this.rounds.size);
    } else if (this.again) {
      // a round that wrote nothing did no I/O: let the event loop run before the next one
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.armRetry();
  }

  private async carryOut(batch: readonly FibOp[]): Promise<void> {
    const lines = batch.map(fibCommand);
    const started = Date.now();
    const r = await runIpFromFile(this.opts, ['-force', '-batch', '-'], `${lines.join('\n')}\n`, 60_000);
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
        // in a bulk piece, the read when the follower resumes is the one
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
      this.bulk?.written.add(op.key);
      this.assumed.set(op.key, { route: op.op === 'delete' ? undefined : op.wanted.route, at: now });
      if (op.op === 'add') this.stats.added++;
      else if (op.op === 'replace') this.stats.replaced++;
      else this.stats.deleted++;
    });
    if (behind > 0) {
      this.stats.behind += behind;
      this.log.debug({ lines: behind }, 'the kernel copy was behind; reading the table again');
      if (this.bulk === undefined) this.readAgain();
    }
    this.log.debug({ lines: lines.length, failed: failures.size, ms: now - started }, 'FIB write round');
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

  /** Pauses the follower: the rounds of the piece run back to back, with no monitor to wait for. */
  private async startBulk(): Promise<void> {
    // what earlier rounds wrote and the kernel never confirmed is not assumed any longer (in a piece,
    // assumptions do not expire)
    this.expireAssumed(Date.now());
    this.bulk = { since: Date.now(), written: new Set() };
    this.stats.bulks++;
    this.log.info({ keys: this.dirty.size }, 'large FIB write: following the kernel paused while it runs');
    await this.follower.pause();
    this.bulk.since = Date.now();
  }

  /**
   * Ends a bulk piece: the follower resumes (a new monitor, then a full read whose differences every
   * listener hears, this writer too, which takes each change reported as the kernel's word on its key);
   * the keys the piece wrote that the read did not report (the stale copy already showed what the kernel
   * holds: another program undid the line meanwhile), and those `ip` said the copy was behind on, are
   * then planned again where the copy is not as wanted, in slices of SLICE_MS.
   */
  private async endBulk(): Promise<void> {
    const bulk = this.bulk;
    if (bulk === undefined) return;
    const resumedAt = Date.now();
    const ms = resumedAt - bulk.since;
    let ok = await this.follower.resume('after a bulk FIB write');
    if (!ok && !this.stopped) ok = await this.follower.resync('after a bulk FIB write (again)');
    this.bulk = undefined;
    this.log.info(
      { written: bulk.written.size, ms, read: ok },
      'large FIB write done; following the kernel again',
    );
    for (const key of this.recheck) this.dirty.add(key);
    for (const key of this.recheckNext) this.dirty.add(key);
    this.recheck = new Set();
    this.recheckNext = new Set();
    let sliceStart = Date.now();
    let n = 0;
    for (const key of bulk.written) {
      if (this.stopped) return;
      const a = this.assumed.get(key);
      // written by a round that ended while the monitor was back: its messages confirm it
      if (a !== undefined && a.at >= resumedAt) continue;
      this.assumed.delete(key);
      const wanted = this.wanted?.get(key);
      if (
        planKey(key, wanted, ok || a === undefined ? this.follower.table.get(key) : a.route, this.target) !==
        undefined
      ) {
        this.dirty.add(key);
      }
      if (++n % 1024 === 0 && Date.now() - sliceStart >= SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = Date.now();
      }
    }
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
