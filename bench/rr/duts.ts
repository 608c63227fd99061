// The daemons bench:rr compares, each as a dedicated iBGP route reflector on 127.0.0.1:<port>: an
// adapter writes its config (a pure function of the setup), starts it pinned with `taskset -c`, waits
// until every client can connect, and stops it by PID. Every client (and the monitor) is declared by
// its own address, passive, as a route-reflector client; no daemon programs the kernel.
//
//   tern     dist/cli/main.js run (`npx tsc -p tsconfig.build.json` first), bench/loadgen/daemon.ts
//   bird2    /usr/sbin/bird, one `protocol bgp` per client from a template
//   bird1    BIRD 1.6 unpacked under /opt/tern-interop/bird1 (test/interop/harness/env.ts), the same
//   frr      /usr/lib/frr/bgpd -Z (no zebra), neighbors in one peer-group
//   gobgp    /usr/bin/gobgpd, one [[neighbors]] per client
//
// What the interop harness learned applies here too (test/interop/harness/, ../shared/DESIGN.md): iBGP
// next hops resolve recursively in BIRD, so a static blackhole route covers the clients' next hops in
// 100.64.0.0/10 (and is never exported); FRR needs bgpd -Z -S and its own vty socket directory; GoBGP
// gets its own API port.

import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../test/helpers/root.js';
import { binaryVersion, interopPaths } from '../../test/interop/harness/env.js';
import { FatalWaitError, ManagedProcess, runCommand, waitFor } from '../../test/interop/harness/process.js';
import { daemonConfig, TernDaemon } from '../loadgen/daemon.js';
import type { Plan } from '../loadgen/plan.js';
import { freePort } from './proc.js';

export const DUT_IDS = ['tern', 'bird2', 'bird1', 'frr', 'gobgp'] as const;
export type DutId = (typeof DUT_IDS)[number];

export interface DutSetup {
  /** A directory of its own: config, sockets, PID file, logs. */
  readonly dir: string;
  readonly port: number;
  readonly asn: number;
  readonly routerId: string;
  readonly clusterId: string;
  /** Hold time offered (s); keepalive a third of it. */
  readonly holdTime: number;
  /** The clients of the scenario; the monitor is the address after the last client. */
  readonly plan: Plan;
  /** `taskset -c` CPU list for the daemon (undefined: not pinned). */
  readonly cpus: string | undefined;
  /** FRR `coalesce-time` (ms). */
  readonly frrCoalesceMs: number;
  /** Bound for start-up (config read, every neighbor configured). */
  readonly startTimeoutMs: number;
  /** Called with every process as soon as it is spawned, so that Ctrl-C during start-up kills it too. */
  readonly adopt: (p: { kill(): void }) => void;
}

export interface RunningDut {
  readonly pid: number;
  readonly running: boolean;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL now (exit handlers, Ctrl-C). */
  kill(): void;
  /** The end of what the daemon logged. */
  logTail(): string;
}

export interface DutAdapter {
  readonly id: DutId;
  readonly name: string;
  /** How the clients are declared and which timers are set, for the report. */
  readonly notes: string;
  /** Why it cannot run on this machine, or undefined when it can. */
  missing(): string | undefined;
  version(): string;
  config(s: DutSetup): string;
  start(s: DutSetup): Promise<RunningDut>;
}

/** Every address the DUT accepts a session from: the clients, then the monitor. */
export function clientAddresses(plan: Plan): string[] {
  const out: string[] = [];
  for (let i = 0; i <= plan.clients; i++) out.push(plan.client(i).localAddress);
  return out;
}

const LISTEN = '127.0.0.1';
/** Covers every client's next hop (bench/loadgen/plan.ts): BIRD resolves iBGP next hops through it. */
const NEXT_HOP_NET = '100.64.0.0/10';
const RESTART_TIME = 120;

function keepalive(s: DutSetup): number {
  return Math.max(1, Math.floor(s.holdTime / 3));
}

function tail(text: string, max = 4000): string {
  return text.length <= max ? text : text.slice(-max);
}

function pinned(s: DutSetup, cmd: string, args: readonly string[]): [string, string[]] {
  return s.cpus === undefined ? [cmd, [...args]] : ['taskset', ['-c', s.cpus, cmd, ...args]];
}

/** A daemon run in the foreground; `taskset` execs it, so the PID is the daemon's. */
function spawnDaemon(s: DutSetup, name: string, cmd: string, args: readonly string[]): ManagedProcess {
  const [file, argv] = pinned(s, cmd, args);
  const p = new ManagedProcess(undefined, file, argv, { name, logDir: s.dir });
  s.adopt({ kill: () => p.killNow() });
  return p;
}

function running(p: ManagedProcess): RunningDut {
  return {
    pid: p.pid,
    get running() {
      return p.running;
    },
    stop: async () => {
      await p.stop(5000);
    },
    kill: () => p.killNow(),
    logTail: () => tail(p.log()),
  };
}

/** Waits until `count()` reaches `want` (or fails early when the daemon exits). */
async function waitCount(
  p: ManagedProcess,
  what: string,
  count: () => Promise<number>,
  want: number,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    async () => {
      if (!p.running)
        throw new FatalWaitError(`${p.opts.name} exited (${JSON.stringify(p.exit)}): ${tail(p.log(), 1500)}`);
      return count();
    },
    { what, until: (n) => n >= want, timeoutMs, intervalMs: 200 },
  );
}

/** Starts the process and stops it again if it never gets ready. */
async function startChecked(p: ManagedProcess, ready: () => Promise<void>): Promise<RunningDut> {
  try {
    await ready();
    return running(p);
  } catch (e) {
    await p.stop(2000).catch(() => p.killNow());
    throw e;
  }
}

// --- tern -------------------------------------------------------------------------------------------

export function ternConfig(s: DutSetup): string {
  return daemonConfig({
    routerId: s.routerId,
    asn: s.asn,
    listen: { address: LISTEN, port: s.port },
    holdTime: s.holdTime,
    socket: join(s.dir, 'tern.ctl'),
    plan: s.plan,
    monitorAsn: s.asn,
    extra: {
      families: ['ipv4-unicast'],
      reflector: { clusterId: s.clusterId },
      gracefulRestart: { enabled: true, restartTime: RESTART_TIME },
      // a dedicated reflector: nothing read from or written to the kernel's routing table
      kernel: { learn: false, write: false, scanTime: 0 },
    },
    peerExtra: { rrClient: true },
  });
}

const tern: DutAdapter = {
  id: 'tern',
  name: 'tern',
  notes:
    'node --max-semi-space-size=4 dist/cli/main.js run (the V8 option of the tern bin; tsconfig.build.json); ' +
    'one peer per client address (passive, rrClient); ' +
    'nextHopResolution none; kernel learn/write off, scanTime 0; gracefulRestart on (restartTime 120); ' +
    'no timers beyond holdTime (errorWaitTime default [5, 30])',
  missing: () => undefined,
  version: () => {
    try {
      const root = projectRoot(import.meta.url);
      return (
        (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '?'
      );
    } catch {
      return '?';
    }
  },
  config: ternConfig,
  async start(s) {
    const d = TernDaemon.start({
      dir: s.dir,
      config: ternConfig(s),
      socket: join(s.dir, 'tern.ctl'),
      entry: 'dist',
      logLevel: 'warn',
      ...(s.cpus !== undefined ? { cpus: s.cpus } : {}),
      // TERN_RR_NODE_ARGS="--cpu-prof --cpu-prof-dir /tmp/p": node arguments for tern (profiling)
      nodeArgs: process.env.TERN_RR_NODE_ARGS?.split(/\s+/).filter((a) => a !== '') ?? [],
    });
    s.adopt({ kill: () => d.kill() });
    const dut: RunningDut = {
      get pid() {
        return d.pid ?? -1;
      },
      get running() {
        return d.running;
      },
      stop: async () => {
        await d.stop(5000);
      },
      kill: () => d.kill(),
      logTail: () => tail(d.stderr),
    };
    try {
      await d.waitReady(s.startTimeoutMs);
    } catch (e) {
      d.kill();
      throw e;
    }
    return dut;
  },
};

// --- BIRD 2 and BIRD 1.6 ------------------------------------------------------------------------------

function birdName(address: string): string {
  return `c_${address.replace(/\./g, '_')}`;
}

/** BIRD 2: a template for the clients, one protocol per client address. */
export function bird2Config(s: DutSetup): string {
  const lines = [
    '# bench:rr, BIRD 2 as a dedicated route reflector',
    `router id ${s.routerId};`,
    'log stderr { warning, error, remote, fatal, bug };',
    'protocol device { scan time 60; }',
    // iBGP next hops resolve recursively (gateway recursive, igp table master4): cover the clients'
    'protocol static nexthops {',
    '  ipv4;',
    `  route ${NEXT_HOP_NET} blackhole;`,
    '}',
    'template bgp rrclient {',
    `  local ${LISTEN} port ${s.port} as ${s.asn};`,
    // listen on 127.0.0.1 only, not on every address
    '  strict bind on;',
    ...birdClientSession(s),
    '  ipv4 {',
    '    import all;',
    '    export where source = RTS_BGP;',
    '  };',
    '}',
    ...birdProtocols(s),
  ];
  return `${lines.join('\n')}\n`;
}

/** The session settings BIRD 2 and BIRD 1.6 share, in the clients' template. */
function birdClientSession(s: DutSetup): string[] {
  return [
    '  passive on;',
    '  rr client;',
    `  rr cluster id ${s.clusterId};`,
    `  hold time ${s.holdTime};`,
    `  keepalive time ${keepalive(s)};`,
    '  graceful restart aware;',
  ];
}

/** One protocol per client address, from the template. */
function birdProtocols(s: DutSetup): string[] {
  return clientAddresses(s.plan).map(
    (a) => `protocol bgp ${birdName(a)} from rrclient { neighbor ${a} as ${s.asn}; }`,
  );
}

/** BIRD 1.6: the same, with `listen bgp` for the port and no channels. */
export function bird1Config(s: DutSetup): string {
  const lines = [
    '# bench:rr, BIRD 1.6 as a dedicated route reflector',
    `router id ${s.routerId};`,
    'log stderr { warning, error, remote, fatal, bug };',
    `listen bgp address ${LISTEN} port ${s.port};`,
    'protocol device { scan time 60; }',
    'protocol static nexthops {',
    `  route ${NEXT_HOP_NET} blackhole;`,
    '}',
    'template bgp rrclient {',
    `  local ${LISTEN} as ${s.asn};`,
    ...birdClientSession(s),
    '  import all;',
    '  export where source = RTS_BGP;',
    '}',
    ...birdProtocols(s),
  ];
  return `${lines.join('\n')}\n`;
}

/** `birdc show protocols`: the BGP protocols that are up or waiting for their peer (not down). */
async function birdProtocolsReady(birdc: string, socket: string): Promise<number> {
  const r = await runCommand(undefined, birdc, ['-s', socket, 'show', 'protocols'], { timeoutMs: 10_000 });
  let n = 0;
  for (const line of r.stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0]?.startsWith('c_') && cols[1] === 'BGP' && (cols[3] === 'start' || cols[3] === 'up')) n++;
  }
  return n;
}

function birdAdapter(id: 'bird2' | 'bird1'): DutAdapter {
  const v2 = id === 'bird2';
  const paths = (): { bird: string; birdc: string } => {
    const p = interopPaths();
    return v2 ? { bird: p.bird2, birdc: p.birdc2 } : { bird: p.bird1, birdc: p.birdc1 };
  };
  return {
    id,
    name: v2 ? 'BIRD 2' : 'BIRD 1.6',
    notes:
      `${v2 ? 'bird' : 'BIRD 1.6 bird (unpacked)'} -f; one protocol bgp per client address from a template ` +
      '(passive on, rr client, graceful restart aware); a static blackhole 100.64.0.0/10 for recursive ' +
      'next-hop resolution, not exported; BIRD sends updates as soon as they are ready (no MRAI)',
    missing: () => missingBinary(paths().bird) ?? missingBinary(paths().birdc),
    version: () => binaryVersion(paths().bird) ?? '?',
    config: v2 ? bird2Config : bird1Config,
    async start(s) {
      const { bird, birdc } = paths();
      const conf = join(s.dir, 'bird.conf');
      writeFileSync(conf, (v2 ? bird2Config : bird1Config)(s));
      const check = await runCommand(undefined, bird, ['-p', '-c', conf], { allowFailure: true });
      if (check.code !== 0) throw new Error(`${id}: config rejected: ${check.stderr.trim()} (${conf})`);
      const socket = join(s.dir, 'bird.ctl');
      const p = spawnDaemon(s, 'bird', bird, ['-f', '-c', conf, '-s', socket, '-P', join(s.dir, 'bird.pid')]);
      const want = s.plan.clients + 1;
      return startChecked(p, () =>
        waitCount(
          p,
          `${id}: ${want} BGP protocols started`,
          () => birdProtocolsReady(birdc, socket),
          want,
          s.startTimeoutMs,
        ),
      );
    },
  };
}

// --- FRR bgpd -----------------------------------------------------------------------------------------

/** FRR: every client in one peer-group (update groups form from identical outbound policy anyway). */
export function frrConfig(s: DutSetup): string {
  const lines = [
    'frr defaults traditional',
    'hostname bench-rr',
    'log stdout critical',
    `router bgp ${s.asn}`,
    ` bgp router-id ${s.routerId}`,
    ` bgp cluster-id ${s.clusterId}`,
    ' no bgp default ipv4-unicast',
    ' no bgp network import-check',
    // graceful restart: FRR's default, helper mode (the receiving side of RFC 4724), is what is tested
    ` timers bgp ${keepalive(s)} ${s.holdTime}`,
    // a fixed coalesce time: FRR's heuristic makes it 1 s + 50 ms per configured peer, up to 10 s
    ` coalesce-time ${s.frrCoalesceMs}`,
    ' neighbor RRC peer-group',
    ` neighbor RRC remote-as ${s.asn}`,
    ' neighbor RRC passive',
    ' neighbor RRC advertisement-interval 0',
  ];
  for (const a of clientAddresses(s.plan)) lines.push(` neighbor ${a} peer-group RRC`);
  lines.push(
    ' address-family ipv4 unicast',
    '  neighbor RRC activate',
    '  neighbor RRC route-reflector-client',
    ' exit-address-family',
    'exit',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * `show bgp ipv4 unicast summary json`: the peers in state Active, waiting for their client. A peer
 * still Idle at start-up has its start timer to come, and when it fires it resets a session that a
 * client opened in the meantime (seen with 1,500 peers: "TCP_connection_open_failed
 * (Established->Clearing)" right after the incoming session came up).
 */
async function frrActivePeers(vtysh: string, vtyDir: string): Promise<number> {
  const r = await runCommand(
    undefined,
    vtysh,
    ['-d', 'bgpd', '--vty_socket', vtyDir, '-c', 'show bgp ipv4 unicast summary json'],
    { timeoutMs: 10_000 },
  );
  return r.stdout.match(/"state":\s*"Active"/g)?.length ?? 0;
}

const frr: DutAdapter = {
  id: 'frr',
  name: 'FRR bgpd',
  notes:
    'bgpd -Z (no zebra, no kernel) -S -P 0 -l 127.0.0.1; every client address a neighbor in one ' +
    'peer-group (passive, route-reflector-client); timers bgp <hold/3> <hold>, advertisement-interval 0, ' +
    'coalesce-time fixed (default 1000 ms, instead of the heuristic 1 s + 50 ms per peer up to 10 s); ' +
    'graceful restart: helper mode (FRR default)',
  missing: () => missingBinary(interopPaths().frrBgpd) ?? missingBinary(interopPaths().vtysh),
  version: () => binaryVersion(interopPaths().frrBgpd) ?? '?',
  config: frrConfig,
  async start(s) {
    const paths = interopPaths();
    const conf = join(s.dir, 'bgpd.conf');
    writeFileSync(conf, frrConfig(s));
    const args = [
      '-Z',
      '-S',
      '-f',
      conf,
      '-i',
      join(s.dir, 'bgpd.pid'),
      '-z',
      join(s.dir, 'zserv.api'),
      '-P',
      '0',
      '--vty_socket',
      s.dir,
      '-p',
      String(s.port),
      '-l',
      LISTEN,
    ];
    const p = spawnDaemon(s, 'bgpd', paths.frrBgpd, args);
    const want = s.plan.clients + 1;
    return startChecked(p, () =>
      waitCount(
        p,
        `frr: ${want} peers Active`,
        () => frrActivePeers(paths.vtysh, s.dir),
        want,
        s.startTimeoutMs,
      ),
    );
  },
};

// --- GoBGP --------------------------------------------------------------------------------------------

export function gobgpConfig(s: DutSetup): string {
  const lines = [
    '# bench:rr, GoBGP as a dedicated route reflector',
    '[global.config]',
    `  as = ${s.asn}`,
    `  router-id = "${s.routerId}"`,
    `  port = ${s.port}`,
    `  local-address-list = ["${LISTEN}"]`,
  ];
  for (const a of clientAddresses(s.plan)) {
    lines.push(
      '',
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${a}"`,
      `    peer-as = ${s.asn}`,
      '  [neighbors.timers.config]',
      `    hold-time = ${s.holdTime}`,
      `    keepalive-interval = ${keepalive(s)}`,
      // GoBGP idles a peer 30 s after a session reset by default (test/interop/harness/gobgp.ts); a
      // restarted client reconnects within one
      '    idle-hold-time-after-reset = 1',
      '  [neighbors.transport.config]',
      '    passive-mode = true',
      '  [neighbors.route-reflector.config]',
      '    route-reflector-client = true',
      `    route-reflector-cluster-id = "${s.clusterId}"`,
      '  [neighbors.graceful-restart.config]',
      '    enabled = true',
      '    helper-only = true',
      `    restart-time = ${RESTART_TIME}`,
      '  [[neighbors.afi-safis]]',
      '    [neighbors.afi-safis.config]',
      '      afi-safi-name = "ipv4-unicast"',
      '    [neighbors.afi-safis.mp-graceful-restart.config]',
      '      enabled = true',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `gobgp neighbor`: one line per configured neighbor after the header. */
async function gobgpNeighborCount(gobgp: string, apiPort: number): Promise<number> {
  const r = await runCommand(undefined, gobgp, ['-p', String(apiPort), 'neighbor'], { timeoutMs: 10_000 });
  return r.stdout.split('\n').filter((l) => /^\s*127\.\d+\.\d+\.\d+\s/.test(l)).length;
}

const gobgp: DutAdapter = {
  id: 'gobgp',
  name: 'GoBGP',
  notes:
    'gobgpd -f gobgpd.toml; one [[neighbors]] per client address (passive-mode, route-reflector-client, ' +
    'graceful-restart helper-only); hold-time/keepalive-interval set; GoBGP has no MRAI for iBGP',
  missing: () => missingBinary(interopPaths().gobgpd) ?? missingBinary(interopPaths().gobgp),
  version: () => binaryVersion(interopPaths().gobgpd) ?? '?',
  config: gobgpConfig,
  async start(s) {
    const paths = interopPaths();
    const conf = join(s.dir, 'gobgpd.toml');
    writeFileSync(conf, gobgpConfig(s));
    const apiPort = await freePort();
    const p = spawnDaemon(s, 'gobgpd', paths.gobgpd, [
      '-f',
      conf,
      '--api-hosts',
      `127.0.0.1:${apiPort}`,
      '--pprof-disable',
      '-l',
      'warn',
    ]);
    const want = s.plan.clients + 1;
    return startChecked(p, () =>
      waitCount(
        p,
        `gobgp: ${want} neighbors configured`,
        () => gobgpNeighborCount(paths.gobgp, apiPort),
        want,
        s.startTimeoutMs,
      ),
    );
  },
};

// --- the table -----------------------------------------------------------------------------------------

export const ADAPTERS: Readonly<Record<DutId, DutAdapter>> = {
  tern,
  bird2: birdAdapter('bird2'),
  bird1: birdAdapter('bird1'),
  frr,
  gobgp,
};

function missingBinary(path: string): string | undefined {
  try {
    accessSync(path, constants.X_OK);
    return undefined;
  } catch {
    return `${path} not found or not executable`;
  }
}
