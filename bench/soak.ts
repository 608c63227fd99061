// The long session chaos run: `npm run soak` (10,000 connections), `npm run soak -- --connections 50000
// --seed 7`. The same engine and setup as test/chaos/session-chaos.test.ts (test/helpers/chaos.ts,
// chaos-rig.ts): a real `tern run` daemon, one well-behaved peer that must stay Established with its
// routes, and chaotic connections from the other configured addresses. Prints the figures: connections,
// duration, the daemon's RSS (start, end, and peak: VmHWM from /proc/<pid>/status), its event-loop
// delay, whether the good session survived; exit status 1 when anything the test asserts failed.
//
// Options: --connections N (10000), --seed N (1), --concurrency N (6), --chaos-peers N (19),
// --log-level L (info), --keep (keep the temp dir with the daemon's full stderr, daemon.log), --json.

import { parseArgs } from 'node:util';
import { formatChaos, runChaos } from '../test/helpers/chaos.js';
import { ChaosRig } from '../test/helpers/chaos-rig.js';
import { loadSeeds } from '../test/helpers/fuzz.js';
import { projectRoot } from '../test/helpers/root.js';
import { machine } from './lib.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '6' },
    'chaos-peers': { type: 'string', default: '19' },
    'log-level': { type: 'string', default: 'info' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const int = (name: string, text: string, min: number): number => {
  const v = Number.parseInt(text, 10);
  if (!Number.isSafeInteger(v) || v < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${text}`);
  return v;
};
const connections = int('connections', values.connections, 1);
const seed = int('seed', values.seed, 0);
const concurrency = int('concurrency', values.concurrency, 1);
const chaosPeers = int('chaos-peers', values['chaos-peers'], 1);
const log = (line: string): void => {
  if (!values.json) console.log(line);
};

const root = projectRoot(import.meta.url);
const rig = new ChaosRig(root, chaosPeers, values['log-level']);
const mb = (kb: number | undefined): string => (kb === undefined ? '?' : `${(kb / 1024).toFixed(1)} MiB`);

let exitCode = 1;
try {
  const target = await rig.start();
  log(
    `soak: seed ${seed}, ${connections} connections, concurrency ${concurrency}, ${chaosPeers} chaos peers; ` +
      `tern pid ${rig.daemon.pid}, port ${target.port}, RSS at start ${mb(rig.startRssKb)}`,
  );
  const { seeds } = loadSeeds(root);
  let lastHealthy = true;
  const report = await runChaos({
    target,
    connections,
    concurrency,
    seed,
    seeds,
    progressEvery: 1000,
    shouldStop: () => !rig.daemon.alive,
    onProgress: async (r) => {
      lastHealthy = await rig.healthy();
      log(
        `  ${r.connections} connections, ${(r.elapsedMs / 1000).toFixed(0)} s, RSS ${mb(rig.daemon.memoryKb('VmRSS'))}, ` +
          `good session ${lastHealthy ? 'up' : 'DISTURBED'}`,
      );
    },
  });
  await new Promise((r) => setTimeout(r, 1500));
  const c = await rig.check();
  const ok =
    c.alive &&
    c.statusAnswers &&
    c.good?.state === 'Established' &&
    c.sinceUnchanged &&
    c.routesPresent &&
    c.goodProblems.length === 0 &&
    c.stderr.notJson.length === 0 &&
    c.stderr.stacks.length === 0 &&
    report.findingCount === 0 &&
    report.connections === connections;
  const survived =
    c.alive && c.good?.state === 'Established' && c.sinceUnchanged && c.goodProblems.length === 0;
  const status = (c.status ?? {}) as { eventLoop?: unknown };
  const figures = {
    connections: report.connections,
    durationSeconds: Number((report.elapsedMs / 1000).toFixed(1)),
    connectionsPerSecond: Math.round(report.connections / (report.elapsedMs / 1000)),
    daemonAlive: c.alive,
    daemonExit: c.exit ?? null,
    goodSessionSurvived: survived,
    goodRoutesPresent: c.routesPresent,
    rssStartKb: rig.startRssKb ?? null,
    rssEndKb: c.rssKb ?? null,
    peakRssKb: c.peakRssKb ?? null,
    eventLoop: status.eventLoop ?? null,
    stderrLines: c.stderr.lines,
    stderrErrorLines: c.stderr.errors.length,
  };
  if (values.json) {
    console.log(
      JSON.stringify(
        { seed, ok, figures, report, check: { ...c, routes: c.routes.length }, machine: machine() },
        null,
        2,
      ),
    );
  } else {
    console.log(formatChaos(report));
    console.log(
      [
        `duration: ${figures.durationSeconds} s (${figures.connectionsPerSecond} connections/s)`,
        `daemon: ${c.alive ? 'alive' : `DEAD (${c.exit})`}, RSS start ${mb(rig.startRssKb)}, end ${mb(c.rssKb)}, peak (VmHWM) ${mb(c.peakRssKb)}`,
        `event loop: ${JSON.stringify(status.eventLoop ?? null)}`,
        `good session survived: ${survived ? 'yes' : 'NO'} (state ${c.good?.state ?? '?'}, since unchanged: ${c.sinceUnchanged}, routes present: ${c.routesPresent})`,
        ...c.goodProblems.map((p) => `  good peer saw: ${p}`),
        `daemon stderr: ${c.stderr.lines} lines, ${c.stderr.errors.length} at level error, ${c.stderr.stacks.length} with a stack trace, ${c.stderr.notJson.length} not JSON`,
        ...[...c.stderr.notJson, ...c.stderr.stacks].slice(0, 20).map((l) => `  ${l.slice(0, 400)}`),
      ].join('\n'),
    );
    if (!c.alive) {
      console.log(`the connections last started before the daemon died:\n  ${report.recent.join('\n  ')}`);
      console.log(`daemon stderr, last lines:\n${c.stderr.tail.slice(-30).join('\n')}`);
    }
    console.log(ok ? 'soak: OK' : 'soak: FAILED');
  }
  exitCode = ok ? 0 : 1;
} finally {
  await rig.stop(values.keep);
  if (values.keep) console.error(`kept ${rig.daemon.dir} (daemon.log: the daemon's whole stderr)`);
}
process.exitCode = exitCode;
