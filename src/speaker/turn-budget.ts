// TurnBudget: how much of one turn of the event loop the sessions may spend encoding catch-ups (a new
// session's table, a ROUTE-REFRESH, a member that fell behind). A thousand sessions coming up in one
// burst of reads would otherwise encode a thousand tables before any timer runs; with the budget spent,
// the rest wait for the next turn (setImmediate), and KEEPALIVEs and hold timers run in between.

import { performance } from 'node:perf_hooks';

export class TurnBudget {
  private spent = 0;
  private resetBooked = false;

  constructor(readonly perTurnMs: number) {}

  /** Whether there is budget left in this turn. */
  get available(): boolean {
    return this.spent < this.perTurnMs;
  }

  /** Runs `work` and charges its time to this turn. */
  spend<T>(work: () => T): T {
    const t = performance.now();
    try {
      return work();
    } finally {
      this.spent += performance.now() - t;
      if (!this.resetBooked) {
        this.resetBooked = true;
        setImmediate(() => {
          this.spent = 0;
          this.resetBooked = false;
        });
      }
    }
  }
}

/** The budget every session of the process shares. */
export const catchUpBudget = new TurnBudget(20);

/**
 * Flushes sessions' output a slice at a time: a group chunk handed to a thousand sessions is written to
 * their sockets over several turns (at most `perTurnMs` of writing per turn), not in the one turn that
 * encoded it, so timers run in between.
 */
export class FlushScheduler {
  private readonly queue = new Set<{ flush(): void }>();
  private booked = false;

  constructor(readonly perTurnMs: number) {}

  /** `s.flush()` runs on a later turn (once, however often it is asked for before then). */
  add(s: { flush(): void }): void {
    this.queue.add(s);
    if (this.booked) return;
    this.booked = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.booked = false;
    const deadline = performance.now() + this.perTurnMs;
    for (const s of this.queue) {
      this.queue.delete(s);
      s.flush();
      if (performance.now() >= deadline) break;
    }
    if (this.queue.size > 0 && !this.booked) {
      this.booked = true;
      // a timer, not setImmediate: the timers phase (KEEPALIVEs, hold timers) comes first
      setTimeout(() => this.run(), 0);
    }
  }
}

/** The scheduler every session of the process shares. */
export const flushScheduler = new FlushScheduler(10);

/** Work that a SliceScheduler runs a piece at a time. */
export interface Pumped {
  /** Does some of the work, stopping once `performance.now()` passes `deadline`; true if some is left. */
  pump(deadline: number): boolean;
}

/**
 * Runs queued work in slices of at most `perTurnMs` per turn, round robin: one busy source cannot
 * starve the others, and timers (KEEPALIVEs, hold timers) run between slices.
 */
export class SliceScheduler {
  private readonly queue = new Set<Pumped>();
  private booked = false;

  constructor(readonly perTurnMs: number) {}

  /** `w.pump()` runs on a later turn until it says it is done. */
  add(w: Pumped): void {
    this.queue.add(w);
    if (this.booked) return;
    this.booked = true;
    setImmediate(() => this.run());
  }

  /** `w` has nothing left (done elsewhere, or its source is gone). */
  delete(w: Pumped): void {
    this.queue.delete(w);
  }

  private run(): void {
    this.booked = false;
    const deadline = performance.now() + this.perTurnMs;
    for (const w of this.queue) {
      this.queue.delete(w);
      // one piece each: if time is left after a pass, the next pass gives each another
      if (w.pump(deadline)) this.queue.add(w);
      if (performance.now() >= deadline) break;
    }
    if (this.queue.size > 0 && !this.booked) {
      this.booked = true;
      setTimeout(() => this.run(), 0);
    }
  }
}

/**
 * Received bytes: a burst of reads (a thousand sessions each sending an UPDATE in the same poll phase)
 * is handled as it comes only while this turn's budget lasts; the rest waits in each link's inbox and
 * is handled in slices.
 */
export const inputBudget = new TurnBudget(8);
export const inputScheduler = new SliceScheduler(8);
