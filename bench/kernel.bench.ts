// Next-hop resolution for 1,000 next hops: `ip route get` per next hop (NextHopResolver, before) against
// tern's copy of the kernel table (KernelRouteFollower + KernelNextHopResolver, after), in a network
// namespace this benchmark makes (root needed) with a node-sized table: a connected /16, 1,000 routes of
// other nodes' blocks, 50 blackholed /24s.
// Run: npm run bench:kernel    (options: --reps N, --json)
//
// Cases:
//   before: first answers   1,000 x `ip route get`, all in flight at once as NextHopResolver starts them
//                           (wall time to the last answer; CPU of this process and of the `ip` children)
//   before: refresh         the same again: what NextHopResolver pays every 10 s for as long as it runs
//   after: initial read     KernelRouteFollower.start(): `ip monitor` started, both tables read
//   after: first answers    1,000 resolvable() on the copy
//   after: per change       refresh(): all 1,000 next hops asked again, what one kernel change costs
//   after: change -> answer a route added with `ip route add` until onChange (monitor, copy, re-evaluation)

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ipRouteGet, KernelNextHopResolver, NextHopResolver } from '../src/fib-sync/next-hop-resolver.js';
import { KernelRouteFollower } from '../src/kernel/follower.js';
import { runIp } from '../src/kernel/ip.js';
import { machine, median, table } from './lib.js';

const { values } = parseArgs({
  options: { reps: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } },
});
const REPS = Number(values.reps);
const NEXT_HOPS = 1000;
const NS = `tern-k-bench-${process.pid}`;

function ip(...args: string[]): void {
  execFileSync('ip', ['-n', NS, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** CPU time of reaped children (cutime + cstime of /proc/self/stat), ms. */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]); // fields 16 and 17 of proc(5)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const nextHops = Array.from({ length: NEXT_HOPS }, (_, i) =>
  i < 950 ? `10.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}` : `10.1.${i - 950}.1`,
);

async function setup(): Promise<void> {
  execFileSync('ip', ['netns', 'add', NS]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ip('link', 'set', 'eth0', 'up');
  ip('link', 'set', 'eth0p', 'up');
  ip('addr', 'add', '10.0.0.1/16', 'dev', 'eth0');
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    lines.push(
      `route add 10.244.${i >> 2}.${(i & 3) * 64}/26 via 10.0.${1 + (i % 4)}.${1 + (i % 250)} proto 12`,
    );
  }
  for (let i = 0; i < 50; i++) lines.push(`route add blackhole 10.1.${i}.0/24`);
  const r = await runIp({ netns: NS }, ['-batch', '-'], `${lines.join('\n')}\n`);
  if (r.code !== 0) throw new Error(`setting up the table: ${r.stderr}`);
}

interface Before {
  wallMs: number;
  selfMs: number;
  childMs: number;
  /** Right answers out of 1,000 (950 next hops are reachable, 50 blackholed). */
  right: number;
}

async function before(): Promise<Before[]> {
  const out: Before[] = [];
  const r = new NextHopResolver(ipRouteGet(NS), () => undefined);
  for (let rep = 0; rep <= REPS; rep++) {
    const c0 = childCpuMs();
    const s0 = selfCpuMs();
    const t0 = performance.now();
    if (rep === 0) for (const nh of nextHops) r.resolvable(nh);
    else r.refresh();
    await r.settled();
    const wallMs = performance.now() - t0;
    // each `ip route get` has a 2 s bound: with 1,000 in flight on a small machine many miss it and the
    // next hop is taken as unreachable, so count the answers that came back right
    const right = nextHops.filter((nh, i) => r.resolvable(nh) === i < 950).length;
    out.push({ wallMs, selfMs: selfCpuMs() - s0, childMs: childCpuMs() - c0, right });
  }
  return out;
}

interface After {
  initialReadMs: number;
  firstAnswersMs: number;
  perChangeMs: number[];
  changeToAnswerMs: number[];
  routes: number;
}

async function after(): Promise<After> {
  const f = new KernelRouteFollower({ netns: NS, scanIntervalMs: 0 });
  try {
    const t0 = performance.now();
    await f.start();
    const initialReadMs = performance.now() - t0;
    let changed: (() => void) | undefined;
    const r = new KernelNextHopResolver(f, () => changed?.());
    r.start();
    const t1 = performance.now();
    let ok = 0;
    for (const nh of nextHops) if (r.resolvable(nh)) ok++;
    const firstAnswersMs = performance.now() - t1;
    if (ok !== 950) throw new Error(`copy: ${ok} of 1,000 resolvable, expected 950`);
    const perChangeMs: number[] = [];
    for (let rep = 0; rep < 200; rep++) {
      const t = performance.now();
      r.refresh();
      perChangeMs.push(performance.now() - t);
    }
    const changeToAnswerMs: number[] = [];
    for (let rep = 0; rep < Math.max(REPS, 10); rep++) {
      const target = `10.1.${rep}.1`; // blackholed: a more specific route makes it reachable
      const seen = new Promise<void>((resolve) => {
        changed = resolve;
      });
      const t = performance.now();
      const add = runIp({ netns: NS }, ['route', 'add', `10.1.${rep}.0/25`, 'via', '10.0.0.2']);
      await seen;
      changeToAnswerMs.push(performance.now() - t);
      await add;
      if (!r.resolvable(target)) throw new Error(`${target} still unresolvable`);
    }
    return { initialReadMs, firstAnswersMs, perChangeMs, changeToAnswerMs, routes: f.table.size };
  } finally {
    await f.stop();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('SKIPPED bench:kernel (not root: it needs a network namespace)');
    process.exit(1);
  }
  const cleanup = (): void => {
    spawnSync('ip', ['netns', 'del', NS]);
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    await setup();
    const b = await before();
    const a = await after();
    const first = b[0]!;
    const refresh = b.slice(1);
    const result = {
      machine: machine(),
      nextHops: NEXT_HOPS,
      kernelRoutes: a.routes,
      before: {
        firstAnswers: first,
        refreshMedian: {
          wallMs: median(refresh.map((x) => x.wallMs)),
          selfMs: median(refresh.map((x) => x.selfMs)),
          childMs: median(refresh.map((x) => x.childMs)),
          right: median(refresh.map((x) => x.right)),
        },
      },
      after: {
        initialReadMs: a.initialReadMs,
        firstAnswersMs: a.firstAnswersMs,
        perChangeMedianMs: median(a.perChangeMs),
        changeToAnswerMedianMs: median(a.changeToAnswerMs),
        changeToAnswerMaxMs: Math.max(...a.changeToAnswerMs),
      },
    };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const ms = (v: number): string => v.toFixed(v < 1 ? 3 : 1);
    const rb = result.before.refreshMedian;
    const rows: string[][] = [
      [
        'before: first answers, 1,000 x ip route get',
        ms(first.wallMs),
        ms(first.selfMs),
        ms(first.childMs),
        `${first.right}`,
      ],
      [
        `before: refresh every 10 s (median of ${refresh.length})`,
        ms(rb.wallMs),
        ms(rb.selfMs),
        ms(rb.childMs),
        `${rb.right}`,
      ],
      ['after: initial read (ip monitor, 2 dumps)', ms(a.initialReadMs), '', '', ''],
      ['after: first answers, 1,000 LPM lookups', ms(a.firstAnswersMs), '', '', '1000'],
      ['after: per kernel change, 1,000 re-asked (median)', ms(result.after.perChangeMedianMs), '', '', ''],
      [
        `after: ip route add -> onChange (median of ${a.changeToAnswerMs.length})`,
        ms(result.after.changeToAnswerMedianMs),
        '',
        '',
        '',
      ],
    ];
    console.log(`tern kernel bench: ${NEXT_HOPS} next hops, ${a.routes} kernel routes in the table`);
    console.log(
      `node ${process.version}, ${String(result.machine.cpu)}, ${result.machine.logicalCpus} CPUs (shared)`,
    );
    console.log(table(['case', 'wall ms', 'tern CPU ms', 'ip CPU ms', 'right of 1000'], rows));
  } finally {
    cleanup();
  }
}

await main();
