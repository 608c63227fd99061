// The FIB writer at scale: program, then remove, 100,000 routes in a network namespace this benchmark
// makes (root needed; deleted at the end, also on failure or Ctrl-C), through tern's FibWriter driven
// directly (a KernelRouteFollower for the copy, `apply(routes)`, then `settled()` and the copy holding
// them), against a bare `ip -batch` of the same lines in the same run: the practical limit, one `ip`
// process reading every line with no copy to keep and no monitor to follow.
// Run: npm run bench:fib    (options: --routes N, --reps N, --max-batch N, --max-rounds N,
//                            --bulk-min N (0: no bulk mode), --bulk-max-ms MS, --scan S, --log LEVEL,
//                            --timeout S, --json)
//
// Per repetition, on an empty table each time:
//   bare add     `ip -n <ns> -batch -` of the 100,000 `route add` lines, to its exit
//   bare del     the same for the `route del` lines
//   tern add     FibWriter.apply(100,000 routes) until settled and the follower's copy holds them all
//                (also noted: when the kernel held them all, the writer having carried out every line)
//   tern del     FibWriter.apply([]) until settled and the copy holds none (likewise)
// The follower does its safety-net full read every --scan seconds (default 30, kernel.scanTime's
// default): when netlink drops monitor messages (ENOBUFS) the copy can stay wrong until then.
// The ratio is tern's rate over the bare rate (1.0: as fast as `ip -batch` alone); the target is >= 0.8.
// tern's time includes everything that happens in its process: planning each round against the copy,
// the `ip -force -batch` children, and following the kernel's 100,000 monitor messages into the copy.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KernelRouteFollower } from '../src/kernel/follower.js';
import { runIp } from '../src/kernel/ip.js';
import type { FibRoute } from '../src/kernel/plan.js';
import { FibWriter } from '../src/kernel/writer.js';
import { createLogger, type LogLevel } from '../src/log.js';
import { InteropHarness, type Netns } from '../test/interop/harness/netns.js';
import { machine, median, table } from './lib.js';

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '100000' },
    reps: { type: 'string', default: '3' },
    'max-batch': { type: 'string' },
    /** FibWriter's maxRounds (rounds running at once); default the writer's (2). */
    'max-rounds': { type: 'string' },
    /** FibWriter's bulkMin (keys due from which the monitor is paused); 0: never. Default the writer's. */
    'bulk-min': { type: 'string' },
    /** FibWriter's bulkMaxMs (the longest bulk piece). Default the writer's. */
    'bulk-max-ms': { type: 'string' },
    /** Log level of the follower and writer (to stderr); default silent. */
    log: { type: 'string', default: 'silent' },
    /** The follower's safety-net full read (kernel.scanTime), seconds; 0: none. */
    scan: { type: 'string', default: '30' },
    /** Give up on a phase after this many seconds. */
    timeout: { type: 'string', default: '300' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const ROUTES = Number(values.routes);
const REPS = Number(values.reps);
const MAX_BATCH = values['max-batch'] === undefined ? undefined : Number(values['max-batch']);
const MAX_ROUNDS = values['max-rounds'] === undefined ? undefined : Number(values['max-rounds']);
const BULK_MIN = values['bulk-min'] === undefined ? undefined : Number(values['bulk-min']);
const BULK_MAX_MS = values['bulk-max-ms'] === undefined ? undefined : Number(values['bulk-max-ms']);
const LOG = createLogger(values.log as LogLevel);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const SCAN_MS = Number(values.scan) * 1000;
const PROTOCOL = 12;
const TABLE = 254;

/** Route i: a /26 in 10.1.0.0-10.255.255.255 (the node's own /16 is 10.0.0.0/16), via one of 1,000 nodes. */
function route(i: number): { prefix: string; gateway: string } {
  const n = i * 64;
  const prefix = `10.${1 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}/26`;
  const g = i % 1000;
  return { prefix, gateway: `10.0.${1 + Math.floor(g / 250)}.${1 + (g % 250)}` };
}

const routes: FibRoute[] = [];
const addLines: string[] = [];
const delLines: string[] = [];

function prepare(): void {
  if (ROUTES > 255 * 1024) throw new Error(`--routes at most ${255 * 1024}`);
  for (let i = 0; i < ROUTES; i++) {
    const { prefix, gateway } = route(i);
    routes.push({ prefix, family: 'ipv4-unicast', nextHops: [{ address: gateway }] });
    // exactly the lines FibWriter writes (fibCommand)
    addLines.push(`route add ${prefix} proto ${PROTOCOL} table ${TABLE} metric 0 via ${gateway}`);
    delLines.push(`route del ${prefix} proto ${PROTOCOL} table ${TABLE} metric 0`);
  }
}

async function countOurs(ns: Netns): Promise<number> {
  const r = await runIp(
    { netns: ns.name },
    ['-4', 'route', 'show', 'proto', String(PROTOCOL)],
    undefined,
    120_000,
  );
  if (r.code !== 0) throw new Error(`ip route show: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

async function bare(ns: Netns, lines: readonly string[], expectAfter: number): Promise<number> {
  const t0 = performance.now();
  const r = await runIp({ netns: ns.name }, ['-batch', '-'], `${lines.join('\n')}\n`, 600_000);
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`ip -batch: exit ${r.code}: ${r.stderr.slice(0, 500)}`);
  const n = await countOurs(ns);
  if (n !== expectAfter)
    throw new Error(`after ip -batch: ${n} routes of proto ${PROTOCOL}, expected ${expectAfter}`);
  return ms;
}

interface TernRun {
  /** Until the follower's copy holds the routes (the brief's "done"). */
  addMs: number;
  delMs: number;
  /** Until the writer had carried out every line and the kernel held them (the copy may lag). */
  addKernelMs: number;
  delKernelMs: number;
  rounds: number;
  /** The most rounds running at once. */
  mostRunning: number;
  /** Kernel changes that only confirmed a line as written (not planned again). */
  confirmed: number;
  /** Keys the writer planned (incremental planning: about two per route). */
  planned: number;
  /** Lines answered `File exists` / `No such process` (the copy behind), and the reads asked for. */
  behind: number;
  readsAsked: number;
  resyncs: number;
  monitorEvents: number;
  /** Bulk pieces (the monitor paused) and monitor starts. */
  bulks: number;
  monitorStarts: number;
  /** The copy was wrong after the kernel was right, and only a later full read put it right. */
  copyHealedByScan: boolean;
  /** Lines `ip` refused (FibWriter's onError), by message. */
  errors: Record<string, number>;
  cpuMs: number;
}

async function tern(ns: Netns): Promise<TernRun> {
  const follower = new KernelRouteFollower({ netns: ns.name, scanIntervalMs: SCAN_MS, log: LOG });
  await follower.start();
  let ours = 0;
  for (const r of follower.table.routes()) if (r.protocol === PROTOCOL) ours++;
  const unsubscribe = follower.onChange((changes) => {
    for (const c of changes) {
      if (c.before?.protocol === PROTOCOL) ours--;
      if (c.after?.protocol === PROTOCOL) ours++;
    }
  });
  const errors: Record<string, number> = {};
  const writer = new FibWriter(follower, {
    netns: ns.name,
    protocol: PROTOCOL,
    log: LOG,
    ...(MAX_BATCH !== undefined ? { maxBatch: MAX_BATCH } : {}),
    ...(MAX_ROUNDS !== undefined ? { maxRounds: MAX_ROUNDS } : {}),
    ...(BULK_MIN !== undefined ? { bulkMin: BULK_MIN } : {}),
    ...(BULK_MAX_MS !== undefined ? { bulkMaxMs: BULK_MAX_MS } : {}),
    onError: (e) => {
      const k = `${e.op}: ${e.message}`;
      errors[k] = (errors[k] ?? 0) + 1;
    },
  });
  let healed = false;
  /** Waits until the copy holds `want` routes of ours; returns [copy ms, kernel ms] from t0. */
  const done = async (
    want: number,
    what: string,
    t0: number,
    lines: () => number,
  ): Promise<[number, number]> => {
    const deadline = Date.now() + TIMEOUT_MS;
    let kernelMs: number | undefined;
    for (;;) {
      await writer.settled();
      const at = performance.now() - t0;
      if (kernelMs === undefined && lines() >= ROUTES && (await countOurs(ns)) === want) kernelMs = at;
      if (ours === want) {
        if (kernelMs !== undefined && at - kernelMs > 2500) healed = true;
        return [at, kernelMs ?? at];
      }
      if (Date.now() > deadline) {
        const inKernel = await countOurs(ns);
        throw new Error(
          `${what}: after ${TIMEOUT_MS / 1000} s the copy holds ${ours} routes of ours, the kernel ${inKernel}, ` +
            `want ${want} (follower ${JSON.stringify(follower.stats)}, writer ${JSON.stringify(writer.stats)})`,
        );
      }
      await new Promise((r) => setTimeout(r, kernelMs === undefined ? 2 : 50));
    }
  };
  try {
    const cpu0 = process.cpuUsage();
    const a0 = writer.stats.added;
    const t0 = performance.now();
    writer.apply(routes);
    const [addMs, addKernelMs] = await done(ROUTES, 'programming', t0, () => writer.stats.added - a0);
    const d0 = writer.stats.deleted;
    const t1 = performance.now();
    writer.apply([]);
    const [delMs, delKernelMs] = await done(0, 'removing', t1, () => writer.stats.deleted - d0);
    const cpu = process.cpuUsage(cpu0);
    if ((await countOurs(ns)) !== 0) throw new Error('routes of ours left in the kernel after removing');
    return {
      addMs,
      delMs,
      addKernelMs,
      delKernelMs,
      rounds: writer.stats.rounds,
      mostRunning: writer.stats.mostRunning,
      confirmed: writer.stats.confirmed,
      planned: writer.stats.planned,
      behind: writer.stats.behind,
      readsAsked: writer.stats.readsAsked,
      resyncs: follower.stats.resyncs,
      monitorEvents: follower.stats.events,
      bulks: writer.stats.bulks,
      monitorStarts: follower.stats.monitorStarts,
      copyHealedByScan: healed,
      errors,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  } finally {
    unsubscribe();
    await writer.stop();
    await follower.stop();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('SKIPPED bench:fib (not root: it needs a network namespace)');
    process.exit(1);
  }
  prepare();
  const h = new InteropHarness({ label: 'bench-fib' });
  try {
    const ns = await h.createNetns('fib');
    await h.ip(ns, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    await h.ip(ns, ['link', 'set', 'eth0', 'up']);
    await h.ip(ns, ['link', 'set', 'eth0p', 'up']);
    await h.ip(ns, ['addr', 'add', '10.0.0.1/16', 'dev', 'eth0']);
    const reps: { bareAddMs: number; bareDelMs: number; tern: TernRun }[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const bareAddMs = await bare(ns, addLines, ROUTES);
      const bareDelMs = await bare(ns, delLines, 0);
      reps.push({ bareAddMs, bareDelMs, tern: await tern(ns) });
      if (!values.json) {
        const r = reps[rep]!;
        console.error(
          `rep ${rep + 1}/${REPS}: bare ${r.bareAddMs.toFixed(0)} + ${r.bareDelMs.toFixed(0)} ms, ` +
            `tern ${r.tern.addMs.toFixed(0)} + ${r.tern.delMs.toFixed(0)} ms ` +
            `(kernel done at ${r.tern.addKernelMs.toFixed(0)} + ${r.tern.delKernelMs.toFixed(0)} ms` +
            `${r.tern.copyHealedByScan ? ', copy put right by a safety-net read' : ''})`,
        );
      }
    }
    const rate = (ms: number): number => (ROUTES / ms) * 1000;
    const ratios = {
      add: reps.map((r) => r.bareAddMs / r.tern.addMs),
      del: reps.map((r) => r.bareDelMs / r.tern.delMs),
      both: reps.map((r) => (r.bareAddMs + r.bareDelMs) / (r.tern.addMs + r.tern.delMs)),
      bothKernel: reps.map((r) => (r.bareAddMs + r.bareDelMs) / (r.tern.addKernelMs + r.tern.delKernelMs)),
    };
    const result = {
      machine: machine(),
      routes: ROUTES,
      reps: REPS,
      maxBatch: MAX_BATCH ?? 'default (10,000)',
      maxRounds: MAX_ROUNDS ?? 'default (2)',
      bulkMin: BULK_MIN ?? 'default (20,000)',
      scanSeconds: SCAN_MS / 1000,
      median: {
        bareAddMs: median(reps.map((r) => r.bareAddMs)),
        bareDelMs: median(reps.map((r) => r.bareDelMs)),
        ternAddMs: median(reps.map((r) => r.tern.addMs)),
        ternDelMs: median(reps.map((r) => r.tern.delMs)),
        ternAddKernelMs: median(reps.map((r) => r.tern.addKernelMs)),
        ternDelKernelMs: median(reps.map((r) => r.tern.delKernelMs)),
        ratioAdd: median(ratios.add),
        ratioDel: median(ratios.del),
        ratioBoth: median(ratios.both),
        ratioBothKernel: median(ratios.bothKernel),
        ternCpuMs: median(reps.map((r) => r.tern.cpuMs)),
      },
      runs: reps,
    };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const m = result.median;
    const t = reps[reps.length - 1]!.tern;
    console.log(
      `tern fib bench: ${ROUTES.toLocaleString('en')} routes, median of ${REPS}, maxBatch ${String(result.maxBatch)}, ` +
        `maxRounds ${String(result.maxRounds)}, bulkMin ${String(result.bulkMin)}, ` +
        `safety-net read every ${SCAN_MS / 1000} s`,
    );
    console.log(
      `node ${process.version}, ${String(result.machine.cpu)}, ${result.machine.logicalCpus} CPUs (shared), load ${String(result.machine.loadavg1m)}`,
    );
    const row = (name: string, ms: number): string[] => [
      name,
      ms.toFixed(0),
      Math.round(rate(ms)).toLocaleString('en'),
    ];
    console.log(
      table(
        ['case', 'ms', 'routes/s'],
        [
          row('bare ip -batch: add', m.bareAddMs),
          row('bare ip -batch: del', m.bareDelMs),
          row('FibWriter: add (copy holds them)', m.ternAddMs),
          row('FibWriter: del (copy holds none)', m.ternDelMs),
          row('FibWriter: add, until the kernel holds them', m.ternAddKernelMs),
          row('FibWriter: del, until the kernel holds none', m.ternDelKernelMs),
        ],
      ),
    );
    console.log(
      `ratio (tern rate / bare rate, median of ${REPS}): add ${m.ratioAdd.toFixed(2)}, del ${m.ratioDel.toFixed(2)}, ` +
        `add+del ${m.ratioBoth.toFixed(2)} (target >= 0.80); kernel done, add+del ${m.ratioBothKernel.toFixed(2)}`,
    );
    for (const [i, r] of reps.entries()) {
      for (const [what, n] of Object.entries(r.tern.errors)) {
        console.log(`run ${i + 1}: ${n} lines refused by the kernel (${what})`);
      }
    }
    const healed = reps.filter((r) => r.tern.copyHealedByScan).length;
    if (healed > 0) {
      console.log(
        `${healed} of ${REPS} runs: the copy stayed wrong after the kernel was right (netlink messages lost), ` +
          `until a safety-net read (--scan ${SCAN_MS / 1000})`,
      );
    }
    console.log(
      `last run: ${t.rounds} ip rounds (at most ${t.mostRunning} at once), ${t.planned.toLocaleString('en')} keys planned ` +
        `(${t.confirmed.toLocaleString('en')} kernel changes only confirmed a line), ${t.behind} lines answered ` +
        `"copy behind" (${t.readsAsked} reads asked), ${t.monitorEvents.toLocaleString('en')} monitor events, ${t.resyncs} full reads, ` +
        `${t.bulks} bulk pieces, ${t.monitorStarts} monitor starts, ` +
        `tern CPU ${m.ternCpuMs.toFixed(0)} ms (median, this process only)`,
    );
  } finally {
    await h.teardown();
  }
}

await main();
