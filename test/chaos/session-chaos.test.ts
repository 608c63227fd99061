// Session chaos against a real `tern run` daemon (a child process, loopback, a random free port): one
// well-behaved peer keeps its session Established and its routes while a few hundred connections from
// other configured peers' addresses (and from strangers) send garbage, broken OPENs, mutated UPDATEs,
// reset at random points, and open second connections from the good peer's own address (Cease 6/7, then
// RST after ~300 ms). At the end the daemon must be alive and answering, the good session must never
// have reset (no NOTIFICATION, no close, the same `since`), its routes must be there, and stderr must
// hold no crash output or stack trace. The long run is `npm run soak` (bench/soak.ts), same engine.
// Connections: TERN_CHAOS_CONNECTIONS, else 300.

import { afterAll, describe, expect, it } from 'vitest';
import { formatChaos, runChaos } from '../helpers/chaos.js';
import { ChaosRig } from '../helpers/chaos-rig.js';
import { loadSeeds } from '../helpers/fuzz.js';
import { projectRoot } from '../helpers/root.js';

const ROOT = projectRoot(import.meta.url);
const CONNECTIONS = Number(process.env.TERN_CHAOS_CONNECTIONS ?? 300);
const SEED = 4242;

const rig = new ChaosRig(ROOT);

afterAll(async () => {
  await rig.stop();
});

describe('session chaos against tern run', () => {
  it(`${CONNECTIONS} chaotic connections leave the daemon up and the good session untouched`, async () => {
    const target = await rig.start();
    const { seeds } = loadSeeds(ROOT);
    const report = await runChaos({
      target,
      connections: CONNECTIONS,
      concurrency: 6,
      seed: SEED,
      seeds,
      shouldStop: () => !rig.daemon.alive,
    });
    // let the last resets reach the daemon
    await new Promise((r) => setTimeout(r, 1500));
    const c = await rig.check();
    const text = `${formatChaos(report)}\ndaemon stderr, last lines:\n${c.stderr.tail.slice(-25).join('\n')}`;
    console.log(`session chaos, seed ${SEED}:\n${formatChaos(report)}`);

    expect(
      c.alive,
      `the daemon died during the chaos (${c.exit}): it must survive every connection\n${text}`,
    ).toBe(true);
    expect(c.statusAnswers, `tern show status: ${String(c.status)}`).toBe(true);
    expect(c.goodProblems, 'what the good peer saw happen to its session').toEqual([]);
    expect(c.good?.state).toBe('Established');
    expect(c.sinceUnchanged, `since before ${rig.before?.since}, after ${c.good?.since}`).toBe(true);
    expect(c.routesPresent, `routes of the good peer: ${JSON.stringify(c.routes)}`).toBe(true);
    expect(c.stderr.notJson, 'stderr lines that are not pino JSON (crash output)').toEqual([]);
    expect(c.stderr.stacks, 'stack traces or uncaught exceptions on stderr').toEqual([]);
    expect(report.findings, text).toEqual([]);
    expect(report.connections).toBe(CONNECTIONS);
    // the engine reached what it aims at
    expect(report.outcomes.established ?? 0, text).toBeGreaterThan(CONNECTIONS / 20);
    expect(report.collisions.answered, text).toBeGreaterThan(0);
  }, 120_000);
});
