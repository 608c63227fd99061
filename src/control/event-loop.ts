// Event-loop delay as `tern show status` reports it: a perf_hooks histogram sampling every 10 ms from the
// daemon's start. Node records the whole time between two samples, so an idle loop reads ~10 ms; the
// resolution is taken off to report the delay itself (an idle loop reads ~0).

import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The largest delay since the monitor started. */
  readonly maxMs: number;
}

/** Delay in ms, rounded to 0.1, from a histogram value in ns that includes the sampling interval. */
export function delayMs(ns: number, resolutionMs: number): number {
  return Math.round(Math.max(0, ns / 1e6 - resolutionMs) * 10) / 10;
}

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram;

  constructor(private readonly resolutionMs = 10) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
  }

  delay(): EventLoopDelay {
    const h = this.histogram;
    if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return {
      p50Ms: delayMs(h.percentile(50), this.resolutionMs),
      p99Ms: delayMs(h.percentile(99), this.resolutionMs),
      maxMs: delayMs(h.max, this.resolutionMs),
    };
  }

  stop(): void {
    this.histogram.disable();
  }
}
