// 1,000 eBGP peers on one `tern run`: a real daemon as a child process, and the load generator
// (bench/loadgen) in another process with 1,000 raw BGP clients, each from its own loopback address
// (127.1.x.y), its own AS, hold time 9, one /32 to announce. Every session comes up first (checked at the
// generator and in `tern show protocols`); then every client announces at once ('go'), and each must end
// up with exactly the other 999 prefixes (next hop tern's address, origin AS the originator's); then
// nothing goes down for two hold times: no NOTIFICATION (Hold Timer Expired 4/0 above all), no close, no
// silence from tern longer than the hold time. Prints one line of figures: time to all Established, time
// to convergence, tern's peak RSS, its event-loop delay, the worst control-request latency.
//
// Processes are ours and killed by PID in afterAll; the temporary directory is removed. Hooks (unset in
// `npm test`):
//   TERN_LOAD_PEERS=n            other than 1000
//   TERN_LOAD_ANNOUNCE=established  each client announces as soon as its own session is Established
//   TERN_LOAD_PHASE_MS=ms        budget for reaching Established, and again for converging (25000)
//   TERN_LOAD_CPU_PROF=<dir>     run tern with --cpu-prof into <dir> and print the top self-time functions
//   TERN_LOAD_NODE_ARGS="..."    more node arguments for tern
//   TERN_LOAD_DAEMON=built       run .bench-build/src/cli/main.js (`npx tsc -p tsconfig.bench.json`) instead
//                                of src/ through tsx: exact line numbers in the profile
//   TERN_LOAD_PIN=0              do not pin with taskset (default: the generator on the last CPU, tern on
//                                the others)
//   TERN_LOAD_VERBOSE=1          print the control-socket poll timeline and the end of tern's stderr

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CpuProfile, formatSummary, summarizeProfile } from '../../bench/loadgen/cpuprofile.js';
import { daemonConfig, TernDaemon } from '../../bench/loadgen/daemon.js';
import { canPin, LoadGenerator, now, Plan, type Summary } from '../../bench/loadgen/index.js';
import { projectRoot } from '../helpers/root.js';

const PEERS = Number(process.env.TERN_LOAD_PEERS ?? 1000);
const HOLD_TIME = 9;
const TERN_ASN = 64512;
const LISTEN = '127.0.0.1';
const PORT = 20000 + Math.floor(Math.random() * 20000);
const ANNOUNCE = process.env.TERN_LOAD_ANNOUNCE === 'established' ? 'established' : 'go';
const PROFILE_DIR = process.env.TERN_LOAD_CPU_PROF;
const CPUS = availableParallelism();
const PIN = process.env.TERN_LOAD_PIN !== '0' && CPUS >= 2 && canPin();
const TERN_CPUS = CPUS > 2 ? `0-${CPUS - 2}` : '0';
const GENERATOR_CPU = String(CPUS - 1);
const VERBOSE = process.env.TERN_LOAD_VERBOSE === '1';

/** Phase budgets: together with start and stop, under ~90 s. */
const ESTABLISH_MS = Number(process.env.TERN_LOAD_PHASE_MS ?? 25_000);
const CONVERGE_MS = ESTABLISH_MS;
/** Two hold times and a margin. */
const STABLE_MS = 2 * HOLD_TIME * 1000 + 2000;

const ROOT = projectRoot(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'tern-load-'));
const socket = join(dir, 'tern.ctl');
const plan = new Plan({ clients: PEERS, prefixesPerClient: 1, prefixLength: 32, prefixBase: '10.0.0.0' });

let daemon: TernDaemon | undefined;
let gen: LoadGenerator | undefined;

/** What the test saw, for the summary line. */
const seen: {
  established?: Summary;
  converged?: Summary;
  final?: Summary;
  goAt?: number;
  cliEstablished?: number;
  hwmMb?: number;
  eventLoop?: { p50Ms: number; p99Ms: number; maxMs: number } | null;
  worstControlMs: number;
  worstControlAt?: number;
  controlErrors: number;
  timeline: string[];
} = { worstControlMs: 0, controlErrors: 0, timeline: [] };

let polling = true;
let poller: Promise<void> = Promise.resolve();
let t0 = 0;

/** `show status` every 250 ms, one at a time: the worst latency is how long tern left a client waiting. */
async function pollControl(d: TernDaemon): Promise<void> {
  while (polling && d.running) {
    const start = now();
    let status: Record<string, unknown> | undefined;
    try {
      status = (await d.request('show status', {}, 30_000)) as Record<string, unknown>;
    } catch {
      seen.controlErrors++;
    }
    const ms = now() - start;
    if (ms > seen.worstControlMs) {
      seen.worstControlMs = ms;
      seen.worstControlAt = start - t0;
    }
    if (status !== undefined) seen.eventLoop = eventLoopOf(status);
    if (VERBOSE)
      seen.timeline.push(
        `t=${((start - t0) / 1000).toFixed(1)}s control ${ms.toFixed(0)}ms established ${status?.established ?? '?'} loop ${JSON.stringify(status?.eventLoop ?? null)}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

function eventLoopOf(
  status: Record<string, unknown>,
): { p50Ms: number; p99Ms: number; maxMs: number } | null {
  const e = status.eventLoop;
  if (typeof e !== 'object' || e === null) return null;
  const { p50Ms, p99Ms, maxMs } = e as Record<string, unknown>;
  return typeof maxMs === 'number' ? { p50Ms: Number(p50Ms), p99Ms: Number(p99Ms), maxMs } : null;
}

const secs = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

/** Everything a failure message needs to say why. */
function diag(s: Summary | undefined): string {
  if (s === undefined) return 'no progress from the load generator';
  return [
    `NOTIFICATIONs from tern ${JSON.stringify(s.notifications)}`,
    `longest silence from tern ${s.maxSilenceMs} ms (${s.silencesOverHoldTime} sessions over the ${HOLD_TIME} s hold time)`,
    `established ${s.established}/${s.clients} (ever ${s.everEstablished}), closed ${s.closed}, states ${JSON.stringify(s.states)}`,
    `complete ${s.complete}/${s.clients}, held min ${s.held.min} max ${s.held.max} of ${s.held.expected}`,
    `duplicates ${s.duplicates}, own echoed ${s.own}, foreign ${s.foreign}, withdrawals ${s.withdrawals}`,
    `bad next hop ${s.badNextHop}, bad origin AS ${s.badOriginAs}, malformed ${s.malformed}, decode errors ${s.decodeErrors}`,
    `worst control latency ${seen.worstControlMs.toFixed(0)} ms, event loop ${JSON.stringify(seen.eventLoop ?? 'n/a')}`,
    ...(s.firstProblem !== undefined ? [`first problem: ${s.firstProblem}`] : []),
  ].join('; ');
}

async function cliProtocols(): Promise<Record<string, unknown>[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'show', 'protocols', '--json', '-s', socket],
    { cwd: ROOT, timeout: 30_000, maxBuffer: 64 * 2 ** 20 },
  );
  return JSON.parse(stdout) as Record<string, unknown>[];
}

beforeAll(async () => {
  const nodeArgs = [
    ...(PROFILE_DIR !== undefined ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
    ...(process.env.TERN_LOAD_NODE_ARGS?.split(/\s+/).filter((a) => a !== '') ?? []),
  ];
  if (PROFILE_DIR !== undefined) mkdirSync(PROFILE_DIR, { recursive: true });
  daemon = TernDaemon.start({
    dir,
    socket,
    config: daemonConfig({
      routerId: '10.255.0.1',
      asn: TERN_ASN,
      listen: { address: LISTEN, port: PORT },
      holdTime: HOLD_TIME,
      socket,
      plan,
    }),
    nodeArgs,
    ...(PIN ? { cpus: TERN_CPUS } : {}),
    ...(process.env.TERN_LOAD_DAEMON === 'built' ? { entry: 'built' as const } : {}),
  });
  gen = await LoadGenerator.start(
    {
      target: { host: LISTEN, port: PORT },
      plan: {
        clients: plan.clients,
        prefixesPerClient: plan.prefixesPerClient,
        prefixLength: plan.prefixLength,
        prefixBase: '10.0.0.0',
      },
      holdTime: HOLD_TIME,
      announce: ANNOUNCE,
      ibgp: false,
      // eBGP: tern sets itself as next hop (nextHopSelf auto), its address on these sessions
      nextHop: { kind: 'fixed', address: LISTEN },
    },
    PIN ? { cpus: GENERATOR_CPU } : {},
  );
  await daemon.waitReady(30_000);
  t0 = now();
  poller = pollControl(daemon);
  gen.connect();
}, 60_000);

afterAll(async () => {
  polling = false;
  if (daemon?.running) seen.hwmMb = daemon.memory()?.hwmMb;
  // the figures before the generator says Cease to everyone
  seen.final = (await gen?.stats().catch(() => undefined))?.summary ?? gen?.latest;
  await gen?.stop().catch(() => undefined);
  const code = await daemon?.stop(PROFILE_DIR !== undefined ? 30_000 : 10_000);
  await poller;
  const s = seen.final;
  const start = s?.firstConnectAt;
  const est = seen.established?.allEstablishedAt;
  const full = seen.converged?.allFullAt;
  const loop = seen.eventLoop;
  console.log(
    [
      `load: ${PEERS} eBGP peers, hold ${HOLD_TIME} s, announce ${ANNOUNCE}${PIN ? `, tern on CPU ${TERN_CPUS}, generator on CPU ${GENERATOR_CPU}` : ', not pinned'}:`,
      `all Established ${est !== undefined && start !== undefined ? secs(est - start) : `never (${seen.established?.established ?? s?.established ?? 0}/${PEERS})`}`,
      `(CLI ${seen.cliEstablished ?? 'n/a'}),`,
      `converged ${full !== undefined && start !== undefined ? secs(full - start) : `never (complete ${s?.complete ?? 0}/${PEERS})`}`,
      ...(seen.goAt !== undefined && full !== undefined ? [`(${secs(full - seen.goAt)} after go)`] : []),
      `| tern VmHWM ${seen.hwmMb ?? 'n/a'} MB,`,
      `event loop ${loop ? `p50 ${loop.p50Ms} p99 ${loop.p99Ms} max ${loop.maxMs} ms` : 'n/a'},`,
      `worst control latency ${seen.worstControlMs.toFixed(0)} ms at t=${secs(seen.worstControlAt)} (${seen.controlErrors} failed),`,
      `longest silence ${s?.maxSilenceMs ?? 'n/a'} ms,`,
      `NOTIFICATIONs ${JSON.stringify(s?.notifications ?? {})}, closes ${s?.closes ?? 'n/a'}`,
      `| generator cpu ${s ? `${s.generator.cpuUserMs + s.generator.cpuSystemMs} ms, loop max ${s.generator.loopDelayMaxMs} ms` : 'n/a'}`,
      `| tern exit ${code}`,
    ].join(' '),
  );
  if (VERBOSE)
    console.log(`${seen.timeline.join('\n')}\ntern stderr (tail):\n${daemon?.stderr.slice(-4000)}`);
  if (PROFILE_DIR !== undefined) {
    // this daemon's main-thread profile: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, thread 0
    // (tsx adds a loader thread)
    const mine = new RegExp(`^CPU\\.\\d+\\.\\d+\\.${daemon?.pid}\\.0\\.\\d+\\.cpuprofile$`);
    for (const f of readdirSync(PROFILE_DIR).filter((n) => mine.test(n))) {
      const profile = JSON.parse(readFileSync(join(PROFILE_DIR, f), 'utf8')) as CpuProfile;
      console.log(`${f}\n${formatSummary(summarizeProfile(profile, 15, `${ROOT}/`))}`);
    }
  }
  gen?.kill();
  daemon?.kill();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe(`${PEERS} eBGP peers on one tern run`, () => {
  it(`brings every session to Established (the generator and tern show protocols agree)`, async () => {
    const g = gen!;
    const r = await g.waitUntil((s) => s.allEstablishedAt !== undefined || s.closed > 0, ESTABLISH_MS);
    seen.established = r.summary;
    expect(r.summary?.closed, `a session closed before all were up: ${diag(r.summary)}`).toBe(0);
    expect(
      r.summary?.allEstablishedAt,
      `not all Established within ${ESTABLISH_MS} ms: ${diag(r.summary)}`,
    ).toBeDefined();
    let rows: Record<string, unknown>[];
    try {
      rows = await cliProtocols();
    } catch (e) {
      throw new Error(
        `tern show protocols --json failed: ${e instanceof Error ? e.message : e}; ${diag(g.latest)}`,
      );
    }
    seen.cliEstablished = rows.filter((p) => p.state === 'Established').length;
    expect(seen.cliEstablished, `tern show protocols: ${diag(g.latest)}`).toBe(PEERS);
    if (ANNOUNCE === 'go') {
      seen.goAt = now();
      g.go();
    }
  });

  it(`gives every client exactly the other ${PEERS - 1} prefixes, with tern as next hop and the originator's AS`, async (ctx) => {
    if (seen.established?.allEstablishedAt === undefined) ctx.skip('sessions did not all come up');
    const g = gen!;
    const r = await g.waitUntil((s) => s.allFullAt !== undefined || s.closed > 0, CONVERGE_MS);
    seen.converged = r.summary;
    const s = r.summary;
    expect(s?.closed, `a session closed before convergence: ${diag(s)}`).toBe(0);
    expect(
      s?.silencesOverHoldTime,
      `tern sent nothing for ${s?.maxSilenceMs} ms, longer than the ${HOLD_TIME} s hold time, on ${s?.silencesOverHoldTime} sessions (a peer drops them: Hold Timer Expired): ${diag(s)}`,
    ).toBe(0);
    expect(s?.allFullAt, `not converged within ${CONVERGE_MS} ms: ${diag(s)}`).toBeDefined();
    // exact: no duplicate, no own prefix echoed back, nothing foreign, every route checked
    const { clients } = await g.stats(true);
    const wrong = (clients ?? []).filter(
      (c) =>
        c.index >= 0 &&
        (c.tally.held !== PEERS - 1 ||
          c.tally.duplicates !== 0 ||
          c.tally.own !== 0 ||
          c.tally.foreign !== 0 ||
          c.tally.badNextHop !== 0 ||
          c.tally.badOriginAs !== 0),
    );
    expect(
      wrong.slice(0, 3).map((c) => ({ client: c.localAddress, ...c.tally })),
      `${wrong.length} clients do not hold exactly the other ${PEERS - 1}: ${diag(s)}`,
    ).toEqual([]);
    expect(s?.complete).toBe(PEERS);
  });

  it(`keeps every session up for two hold times (${STABLE_MS / 1000} s): no NOTIFICATION, no close, no silence over the hold time`, async (ctx) => {
    if (seen.converged?.allFullAt === undefined) ctx.skip('did not converge');
    const g = gen!;
    const r = await g.waitUntil((s) => s.closed > 0 || s.notificationCount > 0, STABLE_MS);
    const { summary: s } = await g.stats();
    expect(s.notifications, `NOTIFICATIONs from tern: ${diag(s)}`).toEqual({});
    expect(s.closes, `sessions closed: ${diag(s)}`).toBe(0);
    expect(r.timedOut).toBe(true);
    expect(s.established).toBe(PEERS);
    // a real peer enforcing its hold timer would have dropped the session
    expect(s.silencesOverHoldTime, `tern sent nothing for ${s.maxSilenceMs} ms: ${diag(s)}`).toBe(0);
    expect(s.complete, diag(s)).toBe(PEERS);
  });

  it('keeps its event loop under 1 s of delay (show status eventLoop.maxMs, when reported)', async (ctx) => {
    const status = (await daemon!.request('show status', {}, 30_000)) as Record<string, unknown>;
    const loop = eventLoopOf(status);
    seen.eventLoop = loop;
    if (loop === null) ctx.skip('show status has no eventLoop field');
    expect(loop!.maxMs, `event-loop delay: ${JSON.stringify(loop)}`).toBeLessThan(1000);
  });
});
