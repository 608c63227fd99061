// npm run bench:rr: tern as a dedicated route reflector, head to head with BIRD 2, BIRD 1.6, FRR bgpd
// and GoBGP on this machine. Each DUT runs pinned to one CPU, the load generator (bench/loadgen) to
// another; the scenarios are in scenarios.ts, one run in run.ts, the daemons in duts.ts. Runs are
// interleaved (scenario, then run number, then DUT) so that a change in the machine's load spreads over
// every DUT. Prints the table, writes the JSON to bench/results/rr-<date>.json and the chart to
// docs/rr-bench.svg (--quick: both under bench/results/, marked quick). See docs/performance.md.
//
//   npm run bench:rr -- [--dut tern,bird2,bird1,frr,gobgp] [--scenario S1,S2,S3,S4,S5,cold] [--runs 3]
//                       [--quick] [--timeout 120] [--hold-time 30] [--no-build] [--no-pin]
//   npm run -s bench:rr -- --from bench/results/rr-<date>.json     (table and chart again, no runs)
//
// Every DUT and generator process is ours and is killed by PID at the end of its run, and on Ctrl-C.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../test/helpers/root.js';
import { machine } from '../lib.js';
import { canPin } from '../loadgen/index.js';
import { renderChart } from './chart.js';
import { ADAPTERS, DUT_IDS, type DutId } from './duts.js';
import { type CellSummary, formatJson, formatTable, summarize } from './report.js';
import { type Killable, type Registry, type RunOptions, type RunResult, runOnce } from './run.js';
import { SCENARIO_IDS, type Scenario, type ScenarioId, scenarioFor } from './scenarios.js';

const USAGE = `usage: npm run bench:rr -- [options]
  --dut <list>          DUTs, comma-separated: ${DUT_IDS.join(',')} (default all)
  --scenario <list>     ${SCENARIO_IDS.join(',')} (default all)
  --runs <n>            runs per DUT and scenario (default 3; --quick: 1)
  --quick               small sizes, for development
  --timeout <s>         bound for one run (default 120)
  --hold-time <s>       hold time offered by the clients and set on the DUTs (default 30)
  --settle-ms <ms>      quiet time after each phase, to catch late duplicates (default 1000)
  --connect-rate <n>    new client connections per second, 0: all at once (default 1000)
  --go-delay-ms <ms>    quiet time between every session up and the announcements (default 2000)
  --frr-coalesce-ms <ms> FRR coalesce-time (default 1000)
  --no-build            do not run tsc -p tsconfig.build.json for tern (use dist/ as it is)
  --no-pin              do not pin with taskset (default: DUT on CPU 1, generator on CPU 0)
  --out <file>          JSON file (default bench/results/rr-<date>.json)
  --chart <file>        SVG file (default docs/rr-bench.svg)
  --from <file>         run nothing: print the table and write the chart from a results JSON`;

interface Cli {
  readonly duts: readonly DutId[];
  readonly scenarios: readonly ScenarioId[];
  readonly runs: number;
  readonly quick: boolean;
  readonly build: boolean;
  readonly pin: boolean;
  readonly out: string | undefined;
  readonly chart: string | undefined;
  readonly from: string | undefined;
  readonly run: Omit<RunOptions, 'dutCpus' | 'generatorCpus'>;
}

function list<T extends string>(what: string, text: string | undefined, all: readonly T[]): T[] {
  if (text === undefined) return [...all];
  const items = text.split(',').filter((s) => s !== '');
  for (const i of items)
    if (!(all as readonly string[]).includes(i))
      throw new Error(`--${what}: unknown ${i} (one of ${all.join(', ')})`);
  return items as T[];
}

function positive(what: string, text: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new Error(`--${what}: expected a positive number, got ${text}`);
  return n;
}

function parseCli(argv: readonly string[]): Cli | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      dut: { type: 'string' },
      scenario: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '120' },
      'hold-time': { type: 'string', default: '30' },
      'settle-ms': { type: 'string', default: '1000' },
      'go-delay-ms': { type: 'string', default: '2000' },
      'connect-rate': { type: 'string', default: '1000' },
      'frr-coalesce-ms': { type: 'string', default: '1000' },
      'no-build': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      chart: { type: 'string' },
      from: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const holdTime = positive('hold-time', values['hold-time']);
  if (!Number.isInteger(holdTime) || holdTime < 3) throw new Error('--hold-time: an integer >= 3');
  return {
    duts: list('dut', values.dut, DUT_IDS),
    scenarios: list('scenario', values.scenario, SCENARIO_IDS),
    runs: Math.round(positive('runs', values.runs ?? (values.quick ? '1' : '3'))),
    quick: values.quick,
    build: !values['no-build'],
    pin: !values['no-pin'],
    out: values.out,
    chart: values.chart,
    from: values.from,
    run: {
      timeoutMs: positive('timeout', values.timeout) * 1000,
      holdTime,
      settleMs: Number(values['settle-ms']),
      goDelayMs: Number(values['go-delay-ms']),
      connectPerSecond: Number(values['connect-rate']),
      connectRetryMs: 1000,
      frrCoalesceMs: positive('frr-coalesce-ms', values['frr-coalesce-ms']),
    },
  };
}

/** `tsc -p tsconfig.build.json` into dist/; others may be editing src/, so a failure is retried. */
async function buildTern(root: string): Promise<string | undefined> {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  let last = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    process.stderr.write(`bench:rr: building tern (tsc -p tsconfig.build.json), attempt ${attempt}\n`);
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
      cwd: root,
      encoding: 'utf8',
    });
    if (r.status === 0) return undefined;
    last = `${r.stdout}${r.stderr}`.trim().split('\n').slice(0, 5).join(' | ');
    if (attempt < 3) await new Promise((res) => setTimeout(res, 30_000));
  }
  return `tsc -p tsconfig.build.json failed: ${last}`;
}

function git(root: string, args: string[]): string {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '?';
}

/** The processes and directories of the run in progress, killed or removed on Ctrl-C. */
class Live implements Registry {
  private readonly items = new Set<Killable>();
  add(k: Killable): void {
    this.items.add(k);
  }
  delete(k: Killable): void {
    this.items.delete(k);
  }
  /** Newest first: the generator and the DUT before the run's directory. */
  killAll(): void {
    for (const k of [...this.items].reverse()) {
      try {
        k.kill();
      } catch {
        // already gone
      }
    }
    this.items.clear();
  }
}

/** What bench/results/rr-<date>.json holds (the parts --from reads back). */
interface Report {
  readonly benchmark: 'bench:rr';
  readonly started: string;
  readonly finished: string;
  readonly machine: Record<string, string | number>;
  readonly git: { readonly commit: string; readonly srcChanges: number };
  readonly options: Cli & { readonly pinned: boolean };
  readonly duts: Readonly<
    Partial<Record<DutId, { name: string; version: string; notes: string; skipped?: string | undefined }>>
  >;
  readonly scenarios: Readonly<Partial<Record<ScenarioId, Scenario>>>;
  readonly cells: readonly CellSummary[];
  readonly runs: readonly { dut: string | undefined; scenario: string | undefined; results: RunResult[] }[];
}

function dutNamesOf(report: Report): Record<DutId, string> {
  return Object.fromEntries(
    DUT_IDS.map((d) => {
      const x = report.duts[d];
      return [d, x === undefined ? ADAPTERS[d].name : `${x.name} ${x.version}`];
    }),
  ) as Record<DutId, string>;
}

function writeChart(report: Report, file: string): void {
  const o = report.options;
  const m = report.machine;
  const duts = DUT_IDS.filter((d) => report.duts[d] !== undefined);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(
    file,
    renderChart({
      title: `Route reflector benchmark (npm run bench:rr${o.quick ? ' --quick' : ''}), ${report.started.slice(0, 10)}`,
      subtitle: [
        'iBGP route-reflector clients on loopback; the DUT pinned to one CPU, the load generator to the other; ' +
          `${o.runs} run${o.runs === 1 ? '' : 's'} each.`,
        `${String(m.cpu)}, ${String(m.logicalCpus)} logical CPUs, shared with other work; ` +
          duts.map((d) => dutNamesOf(report)[d]).join(', '),
      ],
      duts,
      dutNames: dutNamesOf(report),
      scenarios: SCENARIO_IDS.filter((s) => report.scenarios[s] !== undefined),
      cells: report.cells,
    }),
  );
}

/** --from <json>: the table and the chart again from a results file, without running anything. */
function fromFile(file: string, chart: string | undefined, root: string): number {
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  if (report.benchmark !== 'bench:rr' || !Array.isArray(report.cells))
    throw new Error(`${file}: not a bench:rr results file`);
  process.stdout.write(`${formatTable(report.cells, dutNamesOf(report))}\n`);
  const out = chart ?? join(root, 'docs', 'rr-bench.svg');
  writeChart(report, out);
  process.stderr.write(`bench:rr: wrote ${out}\n`);
  return 0;
}

async function main(): Promise<number> {
  let cli: Cli | undefined;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
    return 2;
  }
  if (cli === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const root = projectRoot(import.meta.url);
  if (cli.from !== undefined) return fromFile(cli.from, cli.chart, root);
  const live = new Live();
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\nbench:rr: ${sig}: killing the DUT and the generator\n`);
    live.killAll();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => live.killAll());

  const pin = cli.pin && availableParallelism() >= 2 && canPin();
  const options: RunOptions = {
    ...cli.run,
    dutCpus: pin ? '1' : undefined,
    generatorCpus: pin ? '0' : undefined,
  };
  const skipped = new Map<DutId, string>();
  for (const d of cli.duts) {
    const why = ADAPTERS[d].missing();
    if (why !== undefined) skipped.set(d, why);
  }
  if (cli.duts.includes('tern') && cli.build) {
    const why = await buildTern(root);
    if (why !== undefined) skipped.set('tern', why);
  }
  const versions = Object.fromEntries(cli.duts.map((d) => [d, ADAPTERS[d].version()])) as Record<
    DutId,
    string
  >;
  const dutNames = Object.fromEntries(
    DUT_IDS.map((d) => [d, `${ADAPTERS[d].name} ${versions[d] ?? ''}`.trim()]),
  ) as Record<DutId, string>;
  process.stderr.write(
    `bench:rr: ${cli.duts.map((d) => dutNames[d]).join(', ')}; ${cli.scenarios.join(', ')}; ${cli.runs} runs` +
      `${cli.quick ? ' (quick)' : ''}; ${pin ? 'DUT on CPU 1, generator on CPU 0' : 'not pinned'}\n`,
  );
  for (const [d, why] of skipped) process.stderr.write(`bench:rr: skipping ${d}: ${why}\n`);

  const runs = new Map<string, RunResult[]>();
  const key = (d: DutId, s: ScenarioId): string => `${d} ${s}`;
  const started = new Date();
  for (const sid of cli.scenarios) {
    const scenario = scenarioFor(sid, cli.quick);
    for (let r = 1; r <= cli.runs; r++) {
      for (const d of cli.duts) {
        if (skipped.has(d)) continue;
        const result = await runOnce(ADAPTERS[d], scenario, options, live);
        const list = runs.get(key(d, sid)) ?? [];
        list.push(result);
        runs.set(key(d, sid), list);
        const conv = result.phases.find((p) => p.name === 'converge');
        process.stderr.write(
          `bench:rr: ${sid} run ${r}/${cli.runs} ${d}: ` +
            (result.ok
              ? `ok, established in ${result.establishMs?.toFixed(0) ?? '?'} ms, convergence max ` +
                `${conv?.clients.max.toFixed(0) ?? '?'} ms, CPU ${result.dutCpuS?.toFixed(2) ?? '?'} s, ` +
                `RSS ${result.dutPeakRssMb?.toFixed(0) ?? '?'} MB`
              : `FAILED ${result.failure?.kind}: ${result.failure?.message}`) +
            ` (${(result.durationMs / 1000).toFixed(1)} s)\n`,
        );
      }
    }
  }

  const cells: CellSummary[] = [];
  for (const sid of cli.scenarios)
    for (const d of cli.duts) cells.push(summarize(d, sid, runs.get(key(d, sid)) ?? [], skipped.get(d)));
  process.stdout.write(`${formatTable(cells, dutNames)}\n`);

  const date = started.toISOString().slice(0, 10);
  const out = cli.out ?? join(root, 'bench', 'results', `rr-${date}${cli.quick ? '-quick' : ''}.json`);
  const chart =
    cli.chart ??
    (cli.quick ? join(root, 'bench', 'results', `rr-${date}-quick.svg`) : join(root, 'docs', 'rr-bench.svg'));
  const report: Report = {
    benchmark: 'bench:rr',
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine: machine(),
    git: {
      commit: git(root, ['rev-parse', 'HEAD']),
      srcChanges: git(root, ['status', '--porcelain', 'src'])
        .split('\n')
        .filter((l) => l !== '').length,
    },
    options: { ...cli, pinned: pin },
    duts: Object.fromEntries(
      cli.duts.map((d) => [
        d,
        {
          name: ADAPTERS[d].name,
          version: versions[d],
          notes: ADAPTERS[d].notes,
          ...(skipped.has(d) ? { skipped: skipped.get(d) } : {}),
        },
      ]),
    ),
    scenarios: Object.fromEntries(cli.scenarios.map((s) => [s, scenarioFor(s, cli.quick)])),
    cells,
    runs: [...runs].map(([k, rs]) => {
      const [dut, scenario] = k.split(' ');
      return { dut, scenario, results: rs };
    }),
  };
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, formatJson(report));
  writeChart(report, chart);
  process.stderr.write(`bench:rr: wrote ${out} and ${chart}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench:rr: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
