// bench:rr's figures from its runs: per DUT and scenario the median of each metric over the runs that
// passed, with min and max, and the failures by kind; the plain-text table for stdout; the results
// file's JSON, laid out as biome lays it out. Pure: runs in, data and text out.

import { median, table } from '../lib.js';
import type { DutId } from './duts.js';
import type { PhaseName, RunResult } from './run.js';
import type { ScenarioId } from './scenarios.js';

export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export interface PhaseSummary {
  readonly p50: Stat;
  readonly p99: Stat;
  readonly max: Stat;
  readonly monitorMs?: Stat;
  readonly extra: Readonly<Record<string, Stat>>;
}

export interface CellSummary {
  readonly dut: DutId;
  readonly scenario: ScenarioId;
  readonly runs: number;
  readonly passed: number;
  /** `kind: message` of every failed run, in run order. */
  readonly failures: readonly string[];
  /** Why the DUT was not run at all (missing binary, tern's build failed). */
  readonly skipped?: string;
  readonly establishMs?: Stat;
  readonly dutCpuS?: Stat;
  readonly dutPeakRssMb?: Stat;
  readonly ownReflected?: Stat;
  /** Connections that failed before Established and were tried again (listen backlog overflow). */
  readonly failedConnects?: Stat;
  readonly phases: Readonly<Partial<Record<PhaseName, PhaseSummary>>>;
}

export function stat(values: readonly number[]): Stat | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return undefined;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

function opt<K extends string>(key: K, s: Stat | undefined): { [P in K]?: Stat } {
  return (s === undefined ? {} : { [key]: s }) as { [P in K]?: Stat };
}

export function summarize(
  dut: DutId,
  scenario: ScenarioId,
  runs: readonly RunResult[],
  skipped?: string,
): CellSummary {
  const ok = runs.filter((r) => r.ok);
  const phases: Partial<Record<PhaseName, PhaseSummary>> = {};
  const names = [...new Set(ok.flatMap((r) => r.phases.map((p) => p.name)))];
  for (const name of names) {
    const ps = ok.flatMap((r) => r.phases.filter((p) => p.name === name));
    const extraKeys = [...new Set(ps.flatMap((p) => Object.keys(p.extra)))];
    const extra: Record<string, Stat> = {};
    for (const k of extraKeys) {
      const s = stat(ps.map((p) => p.extra[k] ?? Number.NaN));
      if (s !== undefined) extra[k] = s;
    }
    const p50 = stat(ps.map((p) => p.clients.p50));
    const p99 = stat(ps.map((p) => p.clients.p99));
    const max = stat(ps.map((p) => p.clients.max));
    if (p50 === undefined || p99 === undefined || max === undefined) continue;
    phases[name] = {
      p50,
      p99,
      max,
      ...opt('monitorMs', stat(ps.map((p) => p.monitorMs ?? Number.NaN))),
      extra,
    };
  }
  return {
    dut,
    scenario,
    runs: runs.length,
    passed: ok.length,
    failures: runs.filter((r) => !r.ok).map((r) => `${r.failure?.kind ?? '?'}: ${r.failure?.message ?? '?'}`),
    ...(skipped !== undefined ? { skipped } : {}),
    ...opt('establishMs', stat(ok.map((r) => r.establishMs ?? Number.NaN))),
    ...opt('dutCpuS', stat(ok.map((r) => r.dutCpuS ?? Number.NaN))),
    ...opt('dutPeakRssMb', stat(ok.map((r) => r.dutPeakRssMb ?? Number.NaN))),
    ...opt('ownReflected', stat(ok.map((r) => r.routes?.ownReflected ?? Number.NaN))),
    ...opt('failedConnects', stat(ok.map((r) => r.sessions?.failedConnects ?? Number.NaN))),
    phases,
  };
}

/** 1234.5 -> "1,235"; 12.34 -> "12.3"; 0.456 -> "0.46". */
export function num(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** "median (min-max)", or the median alone when every run gave the same or there was one run. */
export function cell(s: Stat | undefined): string {
  if (s === undefined) return '-';
  if (s.n === 1 || num(s.min) === num(s.max)) return num(s.median);
  return `${num(s.median)} (${num(s.min)}-${num(s.max)})`;
}

const PHASE_LABEL: Readonly<Record<PhaseName, string>> = {
  converge: 'converge',
  withdraw: 'withdraw',
  reannounce: 're-announce',
  'gr-restart': 'GR restart',
};

function failureKinds(c: CellSummary): string {
  const kinds = new Map<string, number>();
  for (const f of c.failures) {
    const k = f.slice(0, f.indexOf(':'));
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return [...kinds].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(', ');
}

/** The stdout table: one line per DUT, scenario and phase; FAIL where no run passed. */
export function formatTable(
  cells: readonly CellSummary[],
  dutNames: Readonly<Record<DutId, string>>,
): string {
  const header = [
    'scenario',
    'DUT',
    'phase',
    'passed',
    'p50 ms',
    'p99 ms',
    'max ms',
    'monitor ms',
    'establish ms',
    'CPU s',
    'peak RSS MB',
    'own back',
    'notes',
  ];
  const rows: string[][] = [];
  for (const c of cells) {
    const name = dutNames[c.dut];
    const passed = `${c.passed}/${c.runs}`;
    // a cell with no figures: what it is in the p50 column, why in the next one and in the notes
    const empty = (what: string, kinds: string, notes: string): string[] => [
      c.scenario,
      name,
      '-',
      passed,
      what,
      kinds,
      ...header.slice(6, -1).map(() => ''),
      notes,
    ];
    if (c.skipped !== undefined) {
      rows.push(empty('SKIPPED', '', c.skipped.slice(0, 90)));
      continue;
    }
    if (c.passed === 0) {
      rows.push(empty('FAIL', failureKinds(c), (c.failures[0] ?? '').slice(0, 120)));
      continue;
    }
    const names = Object.keys(c.phases) as PhaseName[];
    names.forEach((p, i) => {
      const ph = c.phases[p]!;
      const notes: string[] = [];
      if (i === 0 && c.failures.length > 0) notes.push(`FAILED ${c.failures.length}: ${failureKinds(c)}`);
      if (i === 0 && c.failedConnects !== undefined && c.failedConnects.max > 0)
        notes.push(`connects retried ${cell(c.failedConnects)}`);
      for (const [k, s] of Object.entries(ph.extra)) notes.push(`${k} ${cell(s)}`);
      rows.push([
        c.scenario,
        name,
        PHASE_LABEL[p],
        passed,
        cell(ph.p50),
        cell(ph.p99),
        cell(ph.max),
        cell(ph.monitorMs),
        i === 0 ? cell(c.establishMs) : '',
        i === 0 ? cell(c.dutCpuS) : '',
        i === 0 ? cell(c.dutPeakRssMb) : '',
        i === 0 ? cell(c.ownReflected) : '',
        notes.join('; '),
      ]);
    });
  }
  return table(header, rows);
}

type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };

/**
 * JSON laid out the way biome formats it (biome.json: indent 2, lineWidth 110), so that the results
 * files pass `biome check` as written: objects one key per line; arrays without objects on one line
 * when they fit, otherwise one item per line (numbers: as many per line as fit).
 */
export function formatJson(value: unknown, width = 110): string {
  const v = JSON.parse(JSON.stringify(value)) as Json;
  return `${layout(v, 0, 0, 0, width)}\n`;
}

function isObject(v: Json): v is { readonly [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One line, or undefined when the value holds an object (objects are always expanded). */
function inline(v: Json): string | undefined {
  if (isObject(v)) return Object.keys(v).length === 0 ? '{}' : undefined;
  if (!Array.isArray(v)) return JSON.stringify(v);
  const items: string[] = [];
  for (const x of v) {
    const s = inline(x);
    if (s === undefined) return undefined;
    items.push(s);
  }
  return `[${items.join(', ')}]`;
}

/** `v` at `indent`, starting after `prefix` characters of its line, followed by `suffix` characters. */
function layout(v: Json, indent: number, prefix: number, suffix: number, width: number): string {
  const pad = ' '.repeat(indent + 2);
  const end = ' '.repeat(indent);
  if (isObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) return '{}';
    const lines = keys.map((k, i) => {
      const head = `${pad}${JSON.stringify(k)}: `;
      const last = i === keys.length - 1;
      return `${head}${layout(v[k]!, indent + 2, head.length, last ? 0 : 1, width)}${last ? '' : ','}`;
    });
    return `{\n${lines.join('\n')}\n${end}}`;
  }
  if (!Array.isArray(v)) return JSON.stringify(v);
  if (v.length === 0) return '[]';
  const one = inline(v);
  if (one !== undefined && prefix + one.length + suffix <= width) return one;
  if (v.every((x) => typeof x === 'number')) {
    // fill: as many numbers per line as fit, each line ending with a comma but the last
    const lines: string[] = [];
    let line = '';
    v.forEach((x, i) => {
      const item = `${JSON.stringify(x)}${i === v.length - 1 ? '' : ','}`;
      if (line !== '' && pad.length + line.length + 1 + item.length > width) {
        lines.push(line);
        line = item;
      } else line = line === '' ? item : `${line} ${item}`;
    });
    lines.push(line);
    return `[\n${lines.map((l) => `${pad}${l}`).join('\n')}\n${end}]`;
  }
  const lines = v.map((x, i) => {
    const last = i === v.length - 1;
    return `${pad}${layout(x, indent + 2, pad.length, last ? 0 : 1, width)}${last ? '' : ','}`;
  });
  return `[\n${lines.join('\n')}\n${end}]`;
}
