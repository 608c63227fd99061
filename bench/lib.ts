import os from 'node:os';
import { parseArgs } from 'node:util';
// A tiny timing harness for the benchmarks in bench/: warm up, then time repetitions with
// process.hrtime.bigint() and report the median. Each run returns a number computed from the work it
// did (a count or a checksum); the harness compares it with the expected value on every run, so the
// JIT cannot drop the work and a run that did less than it should fails loudly.

export interface MeasureOptions {
  /** Untimed runs first, so the JIT has compiled the hot paths. */
  readonly warmup: number;
  /** Timed runs; the median is reported. */
  readonly reps: number;
}

export interface Measurement {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Every timed run, in order. */
  readonly samplesMs: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `run` warmup + reps times; every run must return `expect`. */
export function measure(name: string, run: () => number, expect: number, opts: MeasureOptions): Measurement {
  const check = (got: number): void => {
    if (got !== expect) throw new Error(`${name}: a run returned ${got}, expected ${expect}`);
  };
  for (let i = 0; i < opts.warmup; i++) check(run());
  const samplesMs: number[] = [];
  for (let i = 0; i < opts.reps; i++) {
    const t0 = process.hrtime.bigint();
    const got = run();
    const t1 = process.hrtime.bigint();
    check(got);
    samplesMs.push(Number(t1 - t0) / 1e6);
  }
  return {
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    maxMs: Math.max(...samplesMs),
    samplesMs,
  };
}

/** 12345678 -> "12.35 M". */
export function si(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)} k`;
  return v.toFixed(2);
}

/** A plain-text table; numbers right-aligned, text left-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = (i: number): boolean => rows.length > 0 && rows.every((r) => /^[\d.,-]/.test(r[i] ?? ''));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The options every benchmark takes: --json, --only <case>, --reps, --warmup, --scale. */
export interface BenchOptions {
  readonly json: boolean;
  readonly only: readonly string[];
  readonly reps: number;
  readonly warmup: number;
  readonly scale: number;
}

export function benchOptions(defaults: { reps: number; warmup: number }): BenchOptions {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      reps: { type: 'string', default: String(defaults.reps) },
      warmup: { type: 'string', default: String(defaults.warmup) },
      scale: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const reps = Number.parseInt(values.reps, 10);
  const warmup = Number.parseInt(values.warmup, 10);
  const scale = Number(values.scale);
  if (!(reps > 0)) throw new Error(`--reps must be a positive integer, got ${values.reps}`);
  if (!(warmup >= 0)) throw new Error(`--warmup must be a non-negative integer, got ${values.warmup}`);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got ${values.scale}`);
  const only = (values.only ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '');
  return { json: values.json, only, reps, warmup, scale };
}

/** The machine a benchmark ran on (figures from a shared machine need this beside them). */
export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    logicalCpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    loadavg1m: Number(os.loadavg()[0]!.toFixed(2)),
    code: import.meta.url.endsWith('.ts')
      ? 'TypeScript source through tsx (esbuild, keepNames on: every closure created per call pays an Object.defineProperty)'
      : 'compiled JavaScript (tsc), as in production',
    note: 'shared 2-core machine: other jobs may run at the same time; compare medians, not single runs',
  };
}
