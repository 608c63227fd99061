// Event-loop delay as `show status` reports it.

import { describe, expect, it } from 'vitest';
import { delayMs, EventLoopMonitor } from '../../src/control/event-loop.js';

describe('event-loop delay', () => {
  it('takes the sampling interval off and rounds to 0.1 ms', () => {
    expect(delayMs(10_000_000, 10)).toBe(0);
    expect(delayMs(10_260_000, 10)).toBe(0.3);
    expect(delayMs(125_440_000, 10)).toBe(115.4);
  });

  it('never reports less than 0', () => {
    expect(delayMs(9_000_000, 10)).toBe(0);
  });

  it('sees a blocked loop in maxMs', async () => {
    const m = new EventLoopMonitor(10);
    try {
      await new Promise((r) => setTimeout(r, 50));
      const t = Date.now();
      while (Date.now() - t < 80) {
        // hold the loop
      }
      await new Promise((r) => setTimeout(r, 30));
      const d = m.delay();
      expect(d.maxMs).toBeGreaterThanOrEqual(50);
      expect(d.p50Ms).toBeLessThanOrEqual(d.p99Ms);
      expect(d.p99Ms).toBeLessThanOrEqual(d.maxMs);
    } finally {
      m.stop();
    }
  });
});
