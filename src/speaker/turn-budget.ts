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
