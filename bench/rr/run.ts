// One bench:rr run: a DUT started fresh with the scenario's clients, the load generator
// (bench/loadgen) in its own process, the phases of the scenario one after the other, and what they
// measured. Every wait is bounded by the run's deadline; a run that times out, loses or duplicates a
// route, or sees a session go down is a failure with a reason, never a number.
//
//   converge     every client (and the monitor) holds every other client's routes. Per client: the
//                time from the first announcement ('go') or from the first connection attempt (cold
//                start) until it held the last of them (its tally's fullAt).
//   withdraw     S4: client 0 withdraws its K prefixes; per other client: the time until it no longer
//                held any of them.
//   reannounce   S4: client 0 announces them again; per other client: until it held all again.
//   gr-restart   S4: client 1 drops its connection without a NOTIFICATION (it offered graceful restart),
//                reconnects with the Restart bit and announces the first K/2 prefixes, then End-of-RIB;
//                per other client: from that End-of-RIB until the other K/2 (stale) were withdrawn.
//                Also: how long the DUT took to accept the new session, how many routes it withdrew
//                that it should have kept (flapped) and how many it sent again (resent).
//
// Times are the generator's receive times minus the trigger's send time, both `now()` (protocol.ts),
// one clock on one host. The DUT's CPU is counted from the first connection to the end of the last
// phase; its peak RSS is VmHWM at the end.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClientStats,
  LoadGenerator,
  type LoadOptions,
  now,
  Plan,
  type PlanOptions,
  type Summary,
} from '../loadgen/index.js';
import type { TallyCounts } from '../loadgen/tally.js';
import type { DutAdapter, RunningDut } from './duts.js';
import { clockTicks, cpuSeconds, freePort, peakRssMb } from './proc.js';
import type { Scenario } from './scenarios.js';

export interface RunOptions {
  readonly timeoutMs: number;
  readonly holdTime: number;
  readonly dutCpus: string | undefined;
  readonly generatorCpus: string | undefined;
  readonly frrCoalesceMs: number;
  /** New connections per second (0: all at once). */
  readonly connectPerSecond: number;
  /** A connection that fails before Established is tried again after this long. */
  readonly connectRetryMs: number;
  /** Quiet time after each phase's goal, so late duplicates still count. */
  readonly settleMs: number;
  /**
   * 'go' scenarios: quiet time between the last session Established and the announcements, so that
   * start-up timers (FRR's coalesce-time, End-of-RIB exchange) are over, as on a reflector in service.
   */
  readonly goDelayMs: number;
}

/** Anything a run starts that must die with it (the DUT, the generator): killed by PID on Ctrl-C. */
export interface Killable {
  kill(): void;
}

export interface Registry {
  add(k: Killable): void;
  delete(k: Killable): void;
}

export interface Distribution {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export type PhaseName = 'converge' | 'withdraw' | 'reannounce' | 'gr-restart';

export interface PhaseResult {
  readonly name: PhaseName;
  /** ms per observing client (the monitor apart). */
  readonly clients: Distribution;
  readonly monitorMs?: number;
  /** Phase-specific figures (gr-restart: reconnectMs, flapped, resent, restartedClientMs). */
  readonly extra: Readonly<Record<string, number>>;
}

export type FailureKind = 'timeout' | 'routes' | 'session' | 'dut' | 'error';

export interface RunResult {
  readonly ok: boolean;
  readonly failure?: { readonly kind: FailureKind; readonly message: string };
  readonly startMs?: number;
  /** First connection attempt to the last client Established. */
  readonly establishMs?: number;
  readonly phases: readonly PhaseResult[];
  readonly dutCpuS?: number;
  readonly dutStartCpuS?: number;
  readonly dutPeakRssMb?: number;
  readonly sessions?: {
    readonly notifications: Readonly<Record<string, number>>;
    readonly holdTimerExpiries: number;
    readonly silencesOverHoldTime: number;
    readonly maxSilenceMs: number;
    readonly sessionDrops: number;
    /** Connections that closed before Established and were tried again (BIRD's listen backlog). */
    readonly failedConnects: number;
  };
  readonly routes?: {
    readonly expectedPerClient: number;
    /** Own routes reflected back to their originator, summed over clients (reported, not a failure). */
    readonly ownReflected: number;
    readonly duplicates: number;
  };
  readonly generator?: Summary['generator'];
  readonly durationMs: number;
  readonly dutLog?: string;
}

class RunFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

const ASN = 64512;
const ROUTER_ID = '10.255.0.1';
const CLUSTER_ID = '10.255.0.1';
const PREFIX_BASE = '10.0.0.0';
const CHURN_CLIENT = 0;
const RESTART_CLIENT = 1;
const RESTART_TIME = 120;

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { n: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const s = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { n: s.length, p50: rank(0.5), p99: rank(0.99), max: s[s.length - 1]! };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What a failed wait saw, for its message. */
function describe(s: Summary | undefined): string {
  if (s === undefined) return 'no progress from the load generator';
  const m = s.monitor;
  return [
    `established ${s.established}/${s.clients}`,
    `held min ${s.held.min} max ${s.held.max} of ${s.held.expected}`,
    `monitor ${m?.held ?? '?'}/${m?.expected ?? '?'} (${s.monitorState ?? '?'})`,
    `session drops ${s.sessionDrops}, failed connects ${s.failedConnects}`,
    `NOTIFICATIONs ${JSON.stringify(s.notifications)}`,
  ].join(', ');
}

/** The problems with what one client holds at a phase's end, given what it should hold. */
function routeProblems(who: string, t: TallyCounts, held: number, allowDuplicates: boolean): string[] {
  const out: string[] = [];
  if (t.held !== held) out.push(`${who} holds ${t.held} routes, expected ${held}`);
  if (!allowDuplicates && t.duplicates > 0) out.push(`${who} got ${t.duplicates} duplicate announcements`);
  if (t.foreign > 0) out.push(`${who} got ${t.foreign} prefixes outside the plan`);
  if (t.badNextHop > 0) out.push(`${who} got ${t.badNextHop} routes with a wrong next hop`);
  if (t.badOriginAs > 0) out.push(`${who} got ${t.badOriginAs} routes with a wrong origin AS`);
  if (t.malformed > 0) out.push(`${who} got ${t.malformed} malformed UPDATEs`);
  if (t.firstProblem !== undefined && out.length > 0) out.push(`first: ${t.firstProblem}`);
  return out;
}

function assertRoutes(problems: string[]): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 6).join('; ');
  throw new RunFailure('routes', problems.length > 6 ? `${shown}; and ${problems.length - 6} more` : shown);
}

/** One run of `scenario` against `adapter`. Never throws: failures are part of the result. */
export async function runOnce(
  adapter: DutAdapter,
  scenario: Scenario,
  o: RunOptions,
  registry: Registry,
): Promise<RunResult> {
  const t0 = now();
  const deadline = t0 + o.timeoutMs;
  const remaining = (): number => Math.max(1, deadline - now());
  const dir = mkdtempSync(join(tmpdir(), `tern-rr-${adapter.id}-`));
  const removeDir: Killable = { kill: () => rmSync(dir, { recursive: true, force: true }) };
  registry.add(removeDir);
  const ticks = clockTicks();
  const planOptions: PlanOptions = {
    clients: scenario.clients,
    prefixesPerClient: scenario.prefixesPerClient,
    prefixLength: scenario.prefixLength,
    prefixBase: PREFIX_BASE,
    sameAsn: ASN,
    borrowed: scenario.borrowed,
  };
  const plan = new Plan(planOptions);
  let dut: RunningDut | undefined;
  let gen: LoadGenerator | undefined;
  /** The DUT's processes as they are spawned (before `dut` exists). */
  const adopted: Killable[] = [];
  const phases: PhaseResult[] = [];
  const partial: {
    startMs?: number;
    establishMs?: number;
    dutStartCpuS?: number;
    cpuAtConnect?: number;
    last?: Summary;
  } = {};

  /** Waits for `goal`; a session going down or the deadline ends the wait as a failure. */
  const waitFor = async (what: string, goal: (s: Summary) => boolean): Promise<Summary> => {
    const g = gen!;
    const r = await g.waitUntil((s) => goal(s) || s.sessionDrops > 0 || s.decodeErrors > 0, remaining());
    const s = r.summary;
    if (s !== undefined) partial.last = s;
    if (dut !== undefined && !dut.running) throw new RunFailure('dut', `the DUT exited while ${what}`);
    if (r.timedOut || s === undefined)
      throw new RunFailure('timeout', `timed out after ${o.timeoutMs / 1000} s ${what}: ${describe(s)}`);
    if (!goal(s)) {
      const why = s.decodeErrors > 0 ? `${s.decodeErrors} undecodable messages` : 'a session went down';
      throw new RunFailure('session', `${why} while ${what}: ${describe(s)}`);
    }
    return s;
  };

  const detail = async (): Promise<{ summary: Summary; clients: readonly ClientStats[] }> => {
    const r = await gen!.stats(true);
    if (r.clients === undefined) throw new RunFailure('error', 'no client detail from the generator');
    return { summary: r.summary, clients: r.clients };
  };

  try {
    const port = await freePort();
    dut = await adapter.start({
      dir,
      port,
      asn: ASN,
      routerId: ROUTER_ID,
      clusterId: CLUSTER_ID,
      holdTime: o.holdTime,
      plan,
      cpus: o.dutCpus,
      frrCoalesceMs: o.frrCoalesceMs,
      startTimeoutMs: Math.min(60_000, remaining()),
      adopt: (p) => {
        adopted.push(p);
        registry.add(p);
      },
    });
    registry.add(dut);
    partial.startMs = now() - t0;
    partial.dutStartCpuS = cpuSeconds(dut.pid, ticks);

    const load: LoadOptions = {
      target: { host: '127.0.0.1', port },
      plan: planOptions,
      holdTime: o.holdTime,
      announce: scenario.announce,
      ibgp: true,
      nextHop: { kind: 'originator' },
      monitor: { asn: ASN },
      connectPerSecond: o.connectPerSecond,
      connectRetryMs: o.connectRetryMs,
      ...(scenario.churn ? { gracefulRestart: { restartTime: RESTART_TIME } } : {}),
    };
    gen = await LoadGenerator.start(load, o.generatorCpus !== undefined ? { cpus: o.generatorCpus } : {});
    registry.add(gen);

    partial.cpuAtConnect = cpuSeconds(dut.pid, ticks);
    gen.connect();
    const allUp = (s: Summary): boolean => s.established === s.clients && s.monitorState === 'established';
    const full = (s: Summary): boolean =>
      allUp(s) && s.held.min === s.held.expected && s.monitor?.held === s.monitor?.expected;
    if (scenario.announce === 'go') {
      await waitFor('establishing every session', allUp);
      await sleep(o.goDelayMs);
      gen.go();
    }
    const converged = await waitFor('waiting for every client to hold every other client’s routes', full);
    if (converged.allEstablishedAt !== undefined && converged.firstConnectAt !== undefined)
      partial.establishMs = converged.allEstablishedAt - converged.firstConnectAt;
    await sleep(o.settleMs);
    let before = await detail();
    const expected = before.summary.held.expected;
    const total = plan.total;
    {
      const clients = before.clients.filter((c) => c.index >= 0);
      const monitor = before.clients.find((c) => c.index < 0);
      const problems: string[] = [];
      for (const c of clients) problems.push(...routeProblems(`client ${c.index}`, c.tally, expected, false));
      if (monitor !== undefined) problems.push(...routeProblems('the monitor', monitor.tally, total, false));
      assertRoutes(problems);
      const start =
        scenario.announce === 'go'
          ? Math.min(...clients.map((c) => c.announcedAt ?? Number.POSITIVE_INFINITY))
          : (before.summary.firstConnectAt ?? t0);
      phases.push({
        name: 'converge',
        clients: distribution(clients.map((c) => (c.tally.fullAt ?? Number.NaN) - start)),
        ...(monitor?.tally.fullAt !== undefined ? { monitorMs: monitor.tally.fullAt - start } : {}),
        extra: {},
      });
    }

    if (scenario.churn) {
      const k = plan.prefixesPerClient;
      const n = plan.clients;
      // --- withdraw, then announce again
      for (const step of ['withdraw', 'reannounce'] as const) {
        const at = await gen.churn(CHURN_CLIENT, { kind: step === 'withdraw' ? 'withdraw' : 'announce' });
        const others = step === 'withdraw' ? expected - k : expected;
        const monitorHeld = step === 'withdraw' ? total - k : total;
        await waitFor(`waiting for client ${CHURN_CLIENT}'s ${step} to reach every other client`, (s) =>
          step === 'withdraw'
            ? s.heldCounts[others] === n - 1 &&
              s.heldCounts[expected] === 1 &&
              s.monitor?.held === monitorHeld
            : s.heldCounts[expected] === n && s.monitor?.held === monitorHeld,
        );
        await sleep(o.settleMs);
        const after = await detail();
        phases.push(churnPhase(step, before, after, at, CHURN_CLIENT, others, monitorHeld));
        before = after;
      }
      // --- graceful restart of another client, back with half of its prefixes
      const keep = Math.floor(k / 2);
      const stale = k - keep;
      const dropAt = await gen.churn(RESTART_CLIENT, { kind: 'restart', keep });
      const others = expected - stale;
      await waitFor(
        `waiting for client ${RESTART_CLIENT}'s graceful restart to reach every other client`,
        (s) =>
          s.heldCounts[others] === n - 1 &&
          s.heldCounts[expected] === 1 &&
          s.monitor?.held === total - stale &&
          s.established === n,
      );
      await sleep(o.settleMs);
      const after = await detail();
      phases.push(restartPhase(before, after, dropAt, RESTART_CLIENT, others, total - stale, stale));
      before = after;
    }

    const final = before;
    const cpuEnd = cpuSeconds(dut.pid, ticks);
    const rss = peakRssMb(dut.pid);
    if (!dut.running) throw new RunFailure('dut', 'the DUT exited');
    const s = final.summary;
    // NOTIFICATIONs to a client that was restarting are its refused reconnections (reported only)
    const notified = final.clients.filter((c) => c.restarts === 0 && c.notifications.length > 0);
    const holdTimerExpiries = final.clients.reduce(
      (a, c) => a + c.notifications.filter((x) => x.code === 4).length,
      0,
    );
    const result: RunResult = {
      ok: true,
      ...(partial.startMs !== undefined ? { startMs: partial.startMs } : {}),
      ...(partial.establishMs !== undefined ? { establishMs: partial.establishMs } : {}),
      phases,
      ...(cpuEnd !== undefined && partial.cpuAtConnect !== undefined
        ? { dutCpuS: cpuEnd - partial.cpuAtConnect }
        : {}),
      ...(partial.dutStartCpuS !== undefined ? { dutStartCpuS: partial.dutStartCpuS } : {}),
      ...(rss !== undefined ? { dutPeakRssMb: rss } : {}),
      sessions: {
        notifications: s.notifications,
        holdTimerExpiries,
        silencesOverHoldTime: s.silencesOverHoldTime,
        maxSilenceMs: s.maxSilenceMs,
        sessionDrops: s.sessionDrops,
        // not those of a client refused while it came back from its restart (reconnectAttempts)
        failedConnects: final.clients
          .filter((c) => c.restarts === 0)
          .reduce((a, c) => a + c.closes.filter((x) => x.state !== 'established').length, 0),
      },
      routes: {
        expectedPerClient: expected,
        ownReflected: s.own + (s.monitor?.own ?? 0),
        duplicates: s.duplicates,
      },
      generator: s.generator,
      durationMs: now() - t0,
    };
    if (notified.length > 0 || s.silencesOverHoldTime > 0) {
      const why =
        notified.length > 0
          ? `the DUT sent NOTIFICATIONs to ${notified.length} clients: ${JSON.stringify(s.notifications)}`
          : `${s.silencesOverHoldTime} sessions were silent longer than the hold time`;
      return { ...result, ok: false, failure: { kind: 'session', message: why }, dutLog: dut.logTail() };
    }
    return result;
  } catch (e) {
    const failure =
      e instanceof RunFailure
        ? { kind: e.kind, message: e.message }
        : { kind: 'error' as const, message: e instanceof Error ? e.message : String(e) };
    const cpu = dut === undefined ? undefined : cpuSeconds(dut.pid, ticks);
    const rss = dut === undefined ? undefined : peakRssMb(dut.pid);
    const up = partial.last;
    if (
      partial.establishMs === undefined &&
      up?.allEstablishedAt !== undefined &&
      up.firstConnectAt !== undefined
    )
      partial.establishMs = up.allEstablishedAt - up.firstConnectAt;
    return {
      ok: false,
      failure,
      ...(partial.startMs !== undefined ? { startMs: partial.startMs } : {}),
      ...(partial.establishMs !== undefined ? { establishMs: partial.establishMs } : {}),
      phases,
      ...(cpu !== undefined && partial.cpuAtConnect !== undefined
        ? { dutCpuS: cpu - partial.cpuAtConnect }
        : {}),
      ...(rss !== undefined ? { dutPeakRssMb: rss } : {}),
      ...(partial.last !== undefined ? { generator: partial.last.generator } : {}),
      durationMs: now() - t0,
      ...(dut !== undefined ? { dutLog: dut.logTail() } : {}),
    };
  } finally {
    if (gen !== undefined) {
      await gen.stop().catch(() => gen?.kill());
      registry.delete(gen);
    }
    if (dut !== undefined) {
      await dut.stop().catch(() => dut?.kill());
      registry.delete(dut);
    }
    // a DUT that never got ready was stopped by its adapter; SIGKILL is a no-op on what has exited
    for (const p of adopted) {
      p.kill();
      registry.delete(p);
    }
    removeDir.kill();
    registry.delete(removeDir);
  }
}

/** What the clients other than `actor` (the monitor included) saw of a change made at `since`. */
interface Observed {
  /** Per client, the time from `since` until its last change (the monitor apart). */
  readonly times: number[];
  readonly monitorMs: number | undefined;
  /** Each observer's counts now, and before the change. */
  readonly counts: readonly { readonly now: TallyCounts; readonly was: TallyCounts | undefined }[];
}

/** Checks that every observer holds what it should (a routes failure if not) and reads their times. */
function observe(
  before: { clients: readonly ClientStats[] },
  after: { clients: readonly ClientStats[] },
  actor: number,
  since: number,
  othersHeld: number,
  monitorHeld: number,
  problems: string[] = [],
): Observed {
  const times: number[] = [];
  const counts: { now: TallyCounts; was: TallyCounts | undefined }[] = [];
  let monitorMs: number | undefined;
  for (const c of after.clients) {
    if (c.index === actor) continue;
    const who = c.index < 0 ? 'the monitor' : `client ${c.index}`;
    problems.push(...routeProblems(who, c.tally, c.index < 0 ? monitorHeld : othersHeld, true));
    counts.push({ now: c.tally, was: before.clients.find((b) => b.index === c.index)?.tally });
    const ms = (c.tally.changedAt ?? Number.NaN) - since;
    if (c.index < 0) monitorMs = ms;
    else times.push(ms);
  }
  assertRoutes(problems);
  return { times, monitorMs, counts };
}

function sumSince(o: Observed, f: (t: TallyCounts) => number, minus = 0): number {
  return o.counts.reduce(
    (a, c) => a + Math.max(0, f(c.now) - (c.was === undefined ? 0 : f(c.was)) - minus),
    0,
  );
}

/** S4 withdraw / reannounce: per other client, from the write until its last change. */
function churnPhase(
  name: 'withdraw' | 'reannounce',
  before: { clients: readonly ClientStats[] },
  after: { clients: readonly ClientStats[] },
  at: number,
  churned: number,
  othersHeld: number,
  monitorHeld: number,
): PhaseResult {
  const o = observe(before, after, churned, at, othersHeld, monitorHeld);
  return {
    name,
    clients: distribution(o.times),
    ...(o.monitorMs !== undefined ? { monitorMs: o.monitorMs } : {}),
    extra: { resent: sumSince(o, (t) => t.duplicates) },
  };
}

/** S4 graceful restart: per other client, from the restarted client's End-of-RIB until its last change. */
function restartPhase(
  before: { clients: readonly ClientStats[] },
  after: { clients: readonly ClientStats[] },
  dropAt: number,
  restarted: number,
  othersHeld: number,
  monitorHeld: number,
  stale: number,
): PhaseResult {
  const r = after.clients.find((c) => c.index === restarted);
  if (r?.announcedAt === undefined || r.establishedAt === undefined)
    throw new RunFailure('session', `client ${restarted} never came back after its restart`);
  const problems = routeProblems(`client ${restarted} (restarted)`, r.tally, othersHeld + stale, false);
  // from its End-of-RIB, written with its UPDATEs as the new session came up
  const o = observe(before, after, restarted, r.announcedAt, othersHeld, monitorHeld, problems);
  return {
    name: 'gr-restart',
    clients: distribution(o.times),
    ...(o.monitorMs !== undefined ? { monitorMs: o.monitorMs } : {}),
    extra: {
      reconnectMs: r.establishedAt - dropAt,
      reconnectAttempts: r.closes.length - 1,
      // the stale half must go; anything withdrawn beyond it was not kept through the restart
      flapped: sumSince(o, (t) => t.withdrawals, stale),
      resent: sumSince(o, (t) => t.announcements),
      restartedClientMs: (r.tally.fullAt ?? Number.NaN) - r.establishedAt,
    },
  };
}
