// Learning (kernel -> BGP): how long a workload route takes from the kernel to a peer, and what tern
// costs while nothing changes. A Speaker in this process whose kernel side is a network namespace this
// benchmark makes (root needed; deleted at the end, also on failure or Ctrl-C), its BGP session on
// loopback with a raw peer (tern's own codecs) that timestamps every UPDATE as it is decoded.
// Run: npm run bench:learn    (options: --changes N, --routes N, --idle S, --no-bird, --log LEVEL, --json)
//
// Cases, in this order:
//   small table       1,000 times: one more /32 written with `ip route add` (a line to a long-lived
//                     `ip -batch` child, the way Felix writes over netlink, without a process start)
//                     until the peer has decoded the UPDATE announcing it; then the same 1,000 deleted one
//                     by one, until the withdrawal is decoded; p50/p99/max. The table holds the node's
//                     block, a pod inside it and the changes themselves (at most 1,000 pods)
//   bulk learn        10,000 pod /32s (to a cali* veth, inside the pool, outside every local block: each
//                     announced on its own) added with one `ip -batch`, until the peer holds all of them
//   idle              30 s with those 10,000 routes unchanged (kernel.scanTime 0, so no safety-net
//                     reads): CPU of this process (tern and the idle peer) and of the `ip monitor` child
//   BIRD (reference)  BIRD 2's kernel protocol (`learn; scan time 2`, Calico's setting) in the same
//                     namespace during the idle window: its CPU over the same 30 s
//   safety-net read   one full read of the table (what each kernel.scanTime, default 30 s, costs)
//   with pods         the 1,000 adds and deletes again, with the 10,000 pods in the table

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KEEPALIVE } from '../src/bgp/messages/keepalive.js';
import { encodeMessage } from '../src/bgp/messages/message.js';
import { makeOpen } from '../src/bgp/messages/open.js';
import { parseIpv4Prefix } from '../src/bgp/messages/prefix.js';
import { parseConfig } from '../src/config/load.js';
import { runIp } from '../src/kernel/ip.js';
import { createLogger, type LogLevel } from '../src/log.js';
import { Speaker } from '../src/speaker/speaker.js';
import { BgpConn, goodCapabilities, type Received } from '../test/helpers/chaos-peer.js';
import { InteropHarness, type Netns } from '../test/interop/harness/netns.js';
import { machine, table } from './lib.js';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '1000' },
    routes: { type: 'string', default: '10000' },
    idle: { type: 'string', default: '30' },
    'no-bird': { type: 'boolean', default: false },
    /** tern's log level (stderr); `warn` shows the full reads that netlink overruns cause. */
    log: { type: 'string', default: 'error' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const CHANGES = Number(values.changes);
const ROUTES = Number(values.routes);
const IDLE_S = Number(values.idle);
const TERN = '127.0.0.1';
const PEER = '127.0.0.2';
const BIRD = '/usr/sbin/bird';

/** Pod i of the bulk set: 10.244.64.0 upwards (no local block covers them: borrowed addresses). */
const bulkPod = (i: number): string => `10.244.${64 + (i >> 8)}.${i & 255}/32`;
/** Pod i of the changes: 10.244.32.0 upwards. */
const changePod = (i: number): string => `10.244.${32 + (i >> 8)}.${i & 255}/32`;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** utime + stime of another process, ms (USER_HZ 100). */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** The raw iBGP peer: records when each prefix was last announced or withdrawn. */
class Peer {
  readonly held = new Set<number>();
  private readonly waiters = new Map<number, { announced: boolean; resolve: (t: number) => void }>();
  private countWaiter: { n: number; resolve: () => void } | undefined;
  updates = 0;

  constructor(readonly conn: BgpConn) {}

  static async connect(port: number): Promise<Peer> {
    const conn = await BgpConn.open(TERN, port, PEER);
    conn.send(
      encodeMessage(
        makeOpen({ as: 64512, holdTime: 0, bgpId: '10.0.0.2', capabilities: goodCapabilities(64512) }),
      ),
    );
    if ((await conn.expect('open', 5000))?.type !== 'open') throw new Error('no OPEN from tern');
    conn.send(encodeMessage(KEEPALIVE));
    if ((await conn.expect('keepalive', 5000))?.type !== 'keepalive')
      throw new Error('no KEEPALIVE from tern');
    const peer = new Peer(conn);
    const take = (r: Received): void => {
      if (r.kind === 'closed') process.stderr.write('learn bench: the session closed\n');
      if (r.kind !== 'message' || r.msg.type !== 'update') return;
      const at = performance.now();
      peer.updates++;
      for (const p of r.msg.withdrawn.prefixes) peer.seen(p as number, false, at);
      for (const p of r.msg.nlri.prefixes) peer.seen(p as number, true, at);
      const w = peer.countWaiter;
      if (w !== undefined && peer.held.size >= w.n) {
        peer.countWaiter = undefined;
        w.resolve();
      }
    };
    // what came with the KEEPALIVE is queued in the connection; then every message as it is decoded
    for (let r = await conn.next(50); r.kind !== 'timeout'; r = await conn.next(50)) {
      take(r);
      if (r.kind !== 'message') break;
    }
    conn.onMessage = take;
    return peer;
  }

  private seen(key: number, announced: boolean, at: number): void {
    if (announced) this.held.add(key);
    else this.held.delete(key);
    const w = this.waiters.get(key);
    if (w !== undefined && w.announced === announced) {
      this.waiters.delete(key);
      w.resolve(at);
    }
  }

  /** Resolves with the time the UPDATE announcing (or withdrawing) `prefix` was decoded. */
  next(prefix: string, announced: boolean): Promise<number> {
    const key = parseIpv4Prefix(prefix) as number;
    return new Promise((resolve) => this.waiters.set(key, { announced, resolve }));
  }

  holding(n: number, timeoutMs: number): Promise<void> {
    if (this.held.size >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the peer holds ${this.held.size}, want ${n}`)), timeoutMs);
      this.countWaiter = {
        n,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
    });
  }
}

/** A long-lived `ip -n <ns> -batch -`: each line runs as soon as it is written. */
class IpBatch {
  private readonly child: ChildProcess;
  constructor(ns: Netns) {
    this.child = spawn('ip', ['-n', ns.name, '-batch', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
  }
  write(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('close', () => resolve());
      this.child.stdin?.end();
    });
  }
}

async function timeChanges(
  peer: Peer,
  batch: IpBatch,
  line: (i: number) => string,
  prefix: (i: number) => string,
  announced: boolean,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const seen = peer.next(prefix(i), announced);
    const t0 = performance.now();
    batch.write(line(i));
    const bound = new Promise<number>((_, reject) =>
      setTimeout(() => reject(new Error(`${prefix(i)}: no UPDATE within 5 s`)), 5000).unref(),
    );
    out.push((await Promise.race([seen, bound])) - t0);
  }
  return out;
}

function stats(ms: readonly number[]): { p50: number; p99: number; max: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  return {
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    max: s[s.length - 1]!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('SKIPPED bench:learn (not root: it needs a network namespace)');
    process.exit(1);
  }
  const h = new InteropHarness({ label: 'bench-learn' });
  let speaker: Speaker | undefined;
  let peer: Peer | undefined;
  try {
    const ns = await h.createNetns('learn');
    for (const [a, b] of [
      ['eth0', 'eth0p'],
      ['cali1', 'cali1p'],
    ] as const) {
      await h.ip(ns, ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      await h.ip(ns, ['link', 'set', a, 'up']);
      await h.ip(ns, ['link', 'set', b, 'up']);
    }
    await h.ip(ns, ['addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
    // the node's own block (Felix's blackhole) and a pod in it: covered, not announced on its own
    await h.ip(ns, ['route', 'add', 'blackhole', '10.244.1.0/26', 'proto', '80']);
    await h.ip(ns, ['route', 'add', '10.244.1.5/32', 'dev', 'cali1', 'scope', 'link']);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = parseConfig(
      `routerId: 10.0.0.1
listen: { address: ${TERN}, port: ${port} }
holdTime: 0
families: [ipv4-unicast]
pools: [{ cidr: 10.244.0.0/16 }]
kernel: { scanTime: 0 }
peers: [{ address: ${PEER}, asn: 64512, passive: true }]
`,
      'learn-bench.yaml',
    );
    speaker = new Speaker(config, createLogger(values.log as LogLevel), { netns: ns.name });
    await speaker.start();
    peer = await Peer.connect(port);
    await peer.holding(1, 5000); // the block

    // add -> UPDATE and del -> UPDATE on a small table (the node's block, one pod, the changes)
    const batch = new IpBatch(ns);
    const addLine = (i: number): string => `route add ${changePod(i)} dev cali1 scope link`;
    const delLine = (i: number): string => `route del ${changePod(i)} dev cali1`;
    const smallAdds = await timeChanges(peer, batch, addLine, changePod, true);
    const smallDels = await timeChanges(peer, batch, delLine, changePod, false);

    // bulk: 10,000 pods at once
    const lines = Array.from({ length: ROUTES }, (_, i) => `route add ${bulkPod(i)} dev cali1 scope link`);
    const b0 = performance.now();
    const r = await runIp({ netns: ns.name }, ['-batch', '-'], `${lines.join('\n')}\n`, 120_000);
    if (r.code !== 0) throw new Error(`ip -batch: ${r.stderr.slice(0, 300)}`);
    await peer.holding(ROUTES + 1, 120_000);
    const bulkMs = performance.now() - b0;
    await new Promise((res) => setTimeout(res, 3000)); // the reads that follow a burst

    // idle: nothing changes for IDLE_S seconds
    const monitorPid = speaker.kernel?.follower.monitorPid;
    if (monitorPid === undefined) throw new Error('no ip monitor child');
    let bird: { pid: number; cpu0: number } | undefined;
    if (!values['no-bird']) {
      const dir = h.daemonDir('bird');
      const conf = join(dir, 'bird.conf');
      writeFileSync(
        conf,
        [
          'router id 10.0.0.1;',
          'protocol device { scan time 2; }',
          'protocol kernel { ipv4 { import all; export none; }; learn; scan time 2; }',
          '',
        ].join('\n'),
      );
      const p = h.spawn(ns, BIRD, ['-f', '-c', conf, '-s', join(dir, 'bird.ctl')], { name: 'bird' });
      await new Promise((res) => setTimeout(res, 3000)); // its first scans
      if (!p.running) throw new Error(`BIRD exited: ${p.log()}`);
      bird = { pid: p.pid, cpu0: procCpuMs(p.pid) };
    }
    const updatesBefore = peer.updates;
    const c0 = cpuMs();
    const m0 = procCpuMs(monitorPid);
    const i0 = performance.now();
    await new Promise((res) => setTimeout(res, IDLE_S * 1000));
    const idleWallMs = performance.now() - i0;
    const idle = {
      seconds: idleWallMs / 1000,
      ternCpuMs: cpuMs() - c0,
      monitorCpuMs: procCpuMs(monitorPid) - m0,
      birdCpuMs: bird === undefined ? undefined : procCpuMs(bird.pid) - bird.cpu0,
      updatesSent: peer.updates - updatesBefore,
    };

    // one safety-net read of the table
    const follower = speaker.kernel!.follower;
    const s0 = cpuMs();
    const t0 = performance.now();
    await follower.resync('bench');
    const scan = { wallMs: performance.now() - t0, ternCpuMs: cpuMs() - s0, routes: follower.table.size };

    // the same changes with 10,000 pods in the table
    const bigAdds = await timeChanges(peer, batch, addLine, changePod, true);
    const bigDels = await timeChanges(peer, batch, delLine, changePod, false);
    await batch.close();

    const result = {
      machine: machine(),
      routes: ROUTES,
      changes: CHANGES,
      bulkLearnMs: bulkMs,
      idle,
      scan,
      smallTable: { addToUpdateMs: stats(smallAdds), delToUpdateMs: stats(smallDels) },
      withPods: { addToUpdateMs: stats(bigAdds), delToUpdateMs: stats(bigDels) },
    };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const f = (v: number): string => v.toFixed(v < 10 ? 2 : 1);
    console.log(
      `tern learn bench: ${ROUTES.toLocaleString('en')} pods in the table, ${CHANGES.toLocaleString('en')} changes`,
    );
    console.log(
      `node ${process.version}, ${String(result.machine.cpu)}, ${result.machine.logicalCpus} CPUs (shared), load ${String(result.machine.loadavg1m)}`,
    );
    const row = (name: string, x: ReturnType<typeof stats>): string[] => [
      name,
      f(x.p50),
      f(x.p99),
      f(x.max),
      f(x.mean),
    ];
    const pods = ROUTES.toLocaleString('en');
    console.log(
      table(
        ['case', 'p50 ms', 'p99 ms', 'max ms', 'mean ms'],
        [
          row('small table: ip route add -> UPDATE', result.smallTable.addToUpdateMs),
          row('small table: ip route del -> withdrawal', result.smallTable.delToUpdateMs),
          row(`${pods} pods: ip route add -> UPDATE`, result.withPods.addToUpdateMs),
          row(`${pods} pods: ip route del -> withdrawal`, result.withPods.delToUpdateMs),
        ],
      ),
    );
    console.log(
      `bulk: ${ROUTES.toLocaleString('en')} pods added with one ip -batch, all at the peer in ${f(bulkMs)} ms`,
    );
    console.log(
      `idle ${f(idle.seconds)} s, ${ROUTES.toLocaleString('en')} routes unchanged: tern CPU ${f(idle.ternCpuMs)} ms ` +
        `(this process, peer included), ip monitor CPU ${f(idle.monitorCpuMs)} ms, ${idle.updatesSent} UPDATEs` +
        (idle.birdCpuMs === undefined ? '' : `; BIRD 2 (scan time 2) CPU ${f(idle.birdCpuMs)} ms`),
    );
    console.log(
      `one safety-net read (kernel.scanTime) of ${scan.routes.toLocaleString('en')} routes: ${f(scan.wallMs)} ms wall, ${f(scan.ternCpuMs)} ms tern CPU`,
    );
  } finally {
    if (peer) peer.conn.onMessage = undefined;
    await speaker?.stop('bench over');
    peer?.conn.finish('destroy');
    await h.teardown();
  }
}

await main();
