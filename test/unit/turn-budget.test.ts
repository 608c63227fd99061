// The schedulers that cut long work into slices (src/speaker/turn-budget.ts): the work gets done, no
// turn runs much past its slice, one busy source does not starve another, and timers run in between.

import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { type Pumped, SliceScheduler, TurnBudget } from '../../src/speaker/turn-budget.js';

/** Work of `pieces` pieces of about `pieceMs` each (busy waiting: the time is what is tested). */
class Work implements Pumped {
  done = 0;
  pumps = 0;
  constructor(
    readonly pieces: number,
    readonly pieceMs: number,
  ) {}
  pump(deadline: number): boolean {
    this.pumps++;
    while (this.done < this.pieces) {
      const until = performance.now() + this.pieceMs;
      while (performance.now() < until) {
        // busy
      }
      this.done++;
      if (performance.now() >= deadline) break;
    }
    return this.done < this.pieces;
  }
}

describe('SliceScheduler', () => {
  it('finishes the work in slices, with timers running between them', async () => {
    const s = new SliceScheduler(5);
    const big = new Work(60, 1); // ~60 ms of work
    const small = new Work(3, 1);
    // a timer that counts the turns it got while the work was in progress
    let ticks = 0;
    const timer = setInterval(() => {
      if (big.done < big.pieces) ticks++;
    }, 1);
    s.add(big);
    s.add(small);
    let bigWhenSmallDone = -1;
    while (big.done < big.pieces || small.done < small.pieces) {
      await new Promise((r) => setTimeout(r, 1));
      if (bigWhenSmallDone < 0 && small.done === small.pieces) bigWhenSmallDone = big.done;
    }
    clearInterval(timer);
    expect(big.done).toBe(60);
    expect(small.done).toBe(3);
    // many slices, with the timer firing between them
    expect(big.pumps).toBeGreaterThan(5);
    expect(ticks).toBeGreaterThan(5);
    // the small one was not kept waiting behind the big one: it was done long before
    expect(small.pumps).toBeLessThanOrEqual(2);
    expect(bigWhenSmallDone).toBeGreaterThanOrEqual(0);
    expect(bigWhenSmallDone).toBeLessThan(30);
  });

  it('forgets work that is deleted before its turn', async () => {
    const s = new SliceScheduler(5);
    const w = new Work(1, 0);
    s.add(w);
    s.delete(w);
    await new Promise((r) => setTimeout(r, 10));
    expect(w.pumps).toBe(0);
  });
});

describe('TurnBudget', () => {
  it('is spent within a turn and given back on the next', async () => {
    const b = new TurnBudget(2);
    expect(b.available).toBe(true);
    b.spend(() => {
      const until = performance.now() + 3;
      while (performance.now() < until) {
        // busy
      }
    });
    expect(b.available).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(b.available).toBe(true);
  });
});
