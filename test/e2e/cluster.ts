// Small Calico clusters in network namespaces, for the end-to-end tests (test/e2e/*.netns.test.ts).
//
//   fabric  : a bridge in its own namespace (the harness's `lan`), the nodes' L2 segment
//   node    : a namespace with eth0 on the fabric (IPv4 /24 and IPv6 /64), IP forwarding on, a default
//             route towards the fabric (Calico's proxy ARP answers only for addresses the node routes
//             elsewhere), `tunl0` (a veth: this kernel has no ipip module), and the block blackhole
//             routes Felix writes (`blackhole <block> proto 80`)
//   pod     : a namespace behind a `cali*` veth, written as Calico's CNI plugin and Felix write it: the
//             pod's eth0 with its /32 (and /128), a default route via 169.254.1.1 (IPv4) and via
//             fe80::ecee:eeff:feee:eeee (IPv6); on the node, proxy ARP on the cali device, the
//             link-local fe80::ecee:eeff:feee:eeee on it, and `<pod>/32 dev cali... scope link`
//   tern    : `tern run --calico <dir> --node <name>` (or `tern run -c` of what `tern calico render`
//             printed, when a test needs a setting Calico has no field for), from dist/ as the kernel
//             tests run it, one process per node, inside the node's namespace; in etcd mode
//             (ClusterOptions.datastore 'etcd') `tern run --calico-etcd <endpoint> --node <name>`
//   etcd    : in etcd mode, the resources go to Calico's etcd datastore instead of files, in the layout
//             calicoctl writes (test/calico/etcd-helpers.ts calicoEntries). Debian's etcd runs in a
//             namespace of its own, `etcd`, a member of the fabric like a node (`<fabric>.250`, the
//             first segment addNodes makes): the daemons reach it the way calico-node reaches a
//             cluster's etcd, over the node network, without a route, a veth or an address in the
//             host's namespace. This process reaches it on a unix socket in the harness's directory
//             (a file, not bound to a network namespace): the writes the tests time go straight
//             from an etcd3 client here to etcd, as calicoctl's would.
//   traffic : test/e2e/echo.mjs, a TCP echo server in every pod and clients run in other pods
//
// The harness owns every namespace and process (stopped and deleted in afterAll, also on failure).

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runCalicoRender } from '../../src/cli/calico.js';
import { controlRequest } from '../../src/cli/show.js';
import { calicoEntries, EtcdServer } from '../calico/etcd-helpers.js';
import {
  FatalWaitError,
  type InteropHarness,
  type LinkEnd,
  type ManagedProcess,
  type Netns,
  runCommand,
  sleep,
  waitFor,
} from '../interop/harness/index.js';
import { ternArgv } from '../kernel/tern-netns.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST_MAIN = join(ROOT, 'dist/cli/main.js');
export const ECHO = fileURLToPath(new URL('./echo.mjs', import.meta.url));
/** The port every pod's echo server listens on. */
export const ECHO_PORT = 7007;
/** The link-local address Calico gives every cali* device (its MAC is ee:ee:ee:ee:ee:ee). */
const CALI_LL = 'fe80::ecee:eeff:feee:eeee';

export interface NodeSpec {
  readonly name: string;
  /** The node's fabric address (no length; the fabric is a /24). */
  readonly v4: string;
  /** Its IPv6 fabric address (a /64); absent: IPv4 only in Calico's resources (the link still has one). */
  readonly v6?: string;
  /** Node.spec.bgp.asNumber. */
  readonly asn?: number;
  readonly labels?: Readonly<Record<string, string>>;
  /** Node.spec.bgp.routeReflectorClusterID. */
  readonly rrClusterId?: string;
  /** The node's IPAM blocks (confirmed block affinities): IPv4 /26, IPv6 /122. */
  readonly blocks: readonly string[];
}

export interface PodSpec {
  readonly name: string;
  readonly v4?: string;
  readonly v6?: string;
}

export interface Pod {
  readonly name: string;
  readonly ns: Netns;
  readonly node: ClusterNode;
  readonly v4?: string;
  readonly v6?: string;
  readonly ifname: string;
}

/** A route as `ip -json route show` prints it. */
export interface ShownRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags?: string[];
  nexthops?: { gateway?: string; dev?: string }[];
}

export interface TernProtocol {
  readonly name: string;
  readonly address: string;
  readonly state: string;
}

/** The part of `tern show status` the tests read. */
export interface TernStatus {
  readonly pid: number;
  readonly datastore?: {
    readonly connected: boolean;
    readonly state: string;
    readonly revision: number | null;
  };
}

let sourcesNoted = false;

/**
 * The argv of `tern <args>`: dist/cli/main.js whenever it exists (`npx tsc -p tsconfig.build.json`), as
 * the brief for these tests asks: four to six daemons started through tsx's loader at once take tens of
 * seconds on two cores. When src/ is newer than the build a note says so (the run tests the last build);
 * without a build, the sources through tsx.
 */
function ternCommand(args: readonly string[]): string[] {
  const { argv, built } = ternArgv(args);
  if (built) return argv;
  if (existsSync(DIST_MAIN)) {
    if (!sourcesNoted) {
      sourcesNoted = true;
      process.stderr.write(
        '[e2e] NOTE: src/ is newer than dist/: tern runs from the last build (npx tsc -p tsconfig.build.json)\n',
      );
    }
    return [DIST_MAIN, ...args];
  }
  if (!sourcesNoted) {
    sourcesNoted = true;
    process.stderr.write('[e2e] no dist/ build: tern runs from the sources through tsx (slower)\n');
  }
  return argv;
}

/** One node's tern: a process at a time, started again (gracefully) as a test asks. */
export class TernDaemon {
  readonly dir: string;
  readonly socket: string;
  private proc: ManagedProcess | undefined;
  private runs = 0;

  constructor(
    private readonly h: InteropHarness,
    readonly node: ClusterNode,
    /**
     * What comes after `tern run`: `--calico <dir> --node <name>`, `--calico-etcd <endpoint> --node
     * <name>`, or `-c <file>`.
     */
    private readonly source: readonly string[],
  ) {
    this.dir = h.daemonDir(`tern-${node.name}`);
    this.socket = join(this.dir, 'tern.ctl');
  }

  get running(): boolean {
    return this.proc?.running === true;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  /** Starts tern and waits until its control socket answers. */
  async start(opts: { graceful?: boolean } = {}): Promise<this> {
    if (this.proc?.running) throw new Error(`${this.node.name}: tern already running (pid ${this.proc.pid})`);
    const calico = this.source[0] === '--calico' || this.source[0] === '--calico-etcd';
    const argv = ternCommand([
      'run',
      ...this.source,
      ...(calico ? ['--control-socket', this.socket, '--watch', '1'] : ['--watch', '0']),
      ...(opts.graceful === true ? ['--graceful'] : []),
      '--log-format',
      'json',
    ]);
    const proc = this.h.spawn(this.node.ns, process.execPath, argv, {
      name: `tern-${++this.runs}`,
      logDir: this.dir,
      cwd: ROOT,
    });
    this.proc = proc;
    await waitFor(
      async () => {
        if (!proc.running) {
          throw new FatalWaitError(
            `${this.node.name}: tern exited (${JSON.stringify(proc.exit)}):\n${proc.log()}`,
          );
        }
        return controlRequest(this.socket, 'show status', {}, 2000);
      },
      { what: `${this.node.name}: tern's control socket answers`, timeoutMs: 60_000, intervalMs: 100 },
    );
    return this;
  }

  protocols(): Promise<TernProtocol[]> {
    return controlRequest(this.socket, 'show protocols', {}, 2000) as Promise<TernProtocol[]>;
  }

  /** `tern show status`: with --calico-etcd, `datastore` says where the etcd source stands. */
  status(): Promise<TernStatus> {
    return controlRequest(this.socket, 'show status', {}, 2000) as Promise<TernStatus>;
  }

  /**
   * Waits until these peers (by name) are Established; `exact` (default): and no other peer is
   * configured.
   */
  async waitEstablished(names: readonly string[], timeoutMs = 60_000, exact = true): Promise<void> {
    const want = [...names].sort().join(',');
    await waitFor(() => this.protocols(), {
      what: `${this.node.name}: sessions ${want} Established`,
      until: (ps) =>
        names.every((n) => ps.find((p) => p.name === n)?.state === 'Established') &&
        (!exact || ps.length === names.length),
      describe: (ps) => ps.map((p) => `${p.name} ${p.state}`).join(', '),
      timeoutMs,
      intervalMs: 200,
    });
  }

  /** SIGUSR2: stops for a graceful restart (no NOTIFICATION, routes left in the kernel); waits for the exit. */
  async gracefulStop(timeoutMs = 10_000): Promise<void> {
    const p = this.proc;
    if (!p?.running) throw new Error(`${this.node.name}: tern is not running`);
    p.kill('SIGUSR2');
    const outcome = await Promise.race([p.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
    if (outcome === 'timeout')
      throw new Error(`${this.node.name}: tern did not exit within ${timeoutMs} ms of SIGUSR2`);
    if (outcome.code !== 0)
      throw new Error(`${this.node.name}: tern exited ${JSON.stringify(outcome)}:\n${p.log()}`);
  }

  /** SIGKILL, as a crash: the kernel closes its sockets, nothing else is said. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p?.running) throw new Error(`${this.node.name}: tern is not running`);
    p.kill('SIGKILL');
    await p.exited;
  }

  /** SIGINT: a real shutdown (Cease to every peer, tern's routes withdrawn); waits for the exit. */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    const p = this.proc;
    if (!p?.running) throw new Error(`${this.node.name}: tern is not running`);
    p.kill('SIGINT');
    const outcome = await Promise.race([p.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
    if (outcome === 'timeout')
      throw new Error(`${this.node.name}: tern did not exit within ${timeoutMs} ms of SIGINT`);
  }

  log(): string {
    return this.proc?.log() ?? '';
  }
}

export class ClusterNode {
  readonly pods: Pod[] = [];
  tern: TernDaemon | undefined;

  constructor(
    readonly spec: NodeSpec,
    readonly ns: Netns,
    readonly fabric: LinkEnd,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** The daemon, which a test must have made. */
  get daemon(): TernDaemon {
    if (this.tern === undefined) throw new Error(`${this.name}: no tern`);
    return this.tern;
  }
}

/** `proto bird` routes (tern's and BIRD's) in a namespace's main table, both families. */
export async function birdRoutes(h: InteropHarness, ns: Netns): Promise<ShownRoute[]> {
  const tables = await Promise.all(
    ['-4', '-6'].map(async (fam) => {
      const r = await h.ip(ns, ['-json', fam, 'route', 'show', 'table', 'main']);
      return (JSON.parse(r.stdout) as ShownRoute[]).filter((x) => x.protocol === 'bird');
    }),
  );
  return tables.flat();
}

/** Prefixes of `proto bird` routes that go somewhere (not blackholes). */
export async function learnedPrefixes(h: InteropHarness, ns: Netns): Promise<Set<string>> {
  return new Set((await birdRoutes(h, ns)).filter((r) => r.type !== 'blackhole').map((r) => r.dst));
}

/** A line of `ip -tshort monitor route`. */
export interface RouteEvent {
  /** When `ip` read it from the kernel (ms since the epoch). */
  readonly at: number;
  readonly deleted: boolean;
  /** The route's type when it has one before the prefix (`blackhole`, `unreachable`, ...). */
  readonly type: string | undefined;
  readonly dst: string;
  readonly line: string;
}

const ROUTE_TYPES = new Set([
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'local',
  'broadcast',
  'anycast',
]);

/** `[2026-12-03T15:14:37.094877] Deleted blackhole 10.9.9.0/24 proto bird` -> a RouteEvent. */
export function parseRouteEvent(line: string): RouteEvent | undefined {
  // `ip -tshort` prints the local time with microseconds; Date reads a form without a zone as local
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?\]\s*(Deleted )?(.*)$/.exec(line);
  if (m === null) return undefined;
  const words = (m[4] ?? '').trim().split(/\s+/);
  const type = ROUTE_TYPES.has(words[0] ?? '') ? words.shift() : undefined;
  const shown = words[0];
  if (shown === undefined || shown === '') return undefined;
  // iproute2 prints a host route without its length
  const dst =
    shown.includes('/') || !/^[\d.]+$|:/.test(shown) ? shown : `${shown}/${shown.includes(':') ? 128 : 32}`;
  const at = new Date(`${m[1]}${(m[2] ?? '.0').slice(0, 4)}`).getTime();
  return { at, deleted: m[3] !== undefined, type, dst, line };
}

/**
 * `ip -tshort monitor route` in a namespace, from now on: between two polls a route could go and
 * come back unseen; the monitor sees every change, and when the kernel made it.
 */
export class RouteMonitor {
  private readonly proc: ManagedProcess;
  /** ready()'s route: TEST-NET-2, in no pool. */
  private readonly probe: string;

  constructor(
    private readonly h: InteropHarness,
    readonly node: ClusterNode,
  ) {
    this.proc = h.spawn(node.ns, 'ip', ['-tshort', 'monitor', 'route'], {
      name: `monitor-${node.name}-${++monitors}`,
    });
    this.probe = `198.51.100.${monitors % 250}/32`;
  }

  /** Every route change seen so far. */
  events(): RouteEvent[] {
    return this.proc
      .log()
      .split('\n')
      .flatMap((l) => parseRouteEvent(l) ?? []);
  }

  /** The `Deleted ...` lines about any of these prefixes so far. */
  deletions(prefixes: readonly string[]): string[] {
    return this.events()
      .filter((e) => e.deleted && prefixes.includes(e.dst))
      .map((e) => e.line);
  }

  /**
   * Waits for the first change of `dst` that `match` accepts, made at or after `since` (ms since the
   * epoch); returns it.
   */
  async waitEvent(
    dst: string,
    match: (e: RouteEvent) => boolean,
    since: number,
    what: string,
    timeoutMs = 10_000,
  ): Promise<RouteEvent> {
    const found = await waitFor(
      () => {
        if (!this.proc.running) throw new FatalWaitError(`ip monitor exited: ${this.proc.log()}`);
        return this.events().find((e) => e.dst === dst && e.at >= since && match(e));
      },
      {
        what: `${this.node.name}: ${what}`,
        describe: () =>
          `the changes of ${dst}: ${
            this.events()
              .filter((e) => e.dst === dst)
              .map((e) => e.line)
              .join('; ') || 'none'
          }`,
        timeoutMs,
        intervalMs: 10,
      },
    );
    return found as RouteEvent;
  }

  /**
   * Waits until the monitor listens (it prints nothing before the first change): a route of its own,
   * added and deleted until the monitor shows it.
   */
  async ready(timeoutMs = 5000): Promise<void> {
    const probe = this.probe;
    const end = Date.now() + timeoutMs;
    while (!this.events().some((e) => e.dst === probe)) {
      if (Date.now() > end) throw new Error(`${this.node.name}: ip monitor saw nothing in ${timeoutMs} ms`);
      await this.h.ip(this.node.ns, ['route', 'replace', 'unreachable', probe, 'proto', 'static']);
      await this.h.ip(this.node.ns, ['route', 'del', 'unreachable', probe, 'proto', 'static']);
      await sleep(30);
    }
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}
let monitors = 0;

/** Runs `sysctl -w` lines inside a namespace. */
async function sysctl(h: InteropHarness, ns: Netns, settings: readonly string[]): Promise<void> {
  await h.exec(ns, 'sysctl', ['-q', '-w', ...settings]);
}

export interface ClusterOptions {
  /** The fabric's first three octets (`10.77.10`); its IPv6 /64 is derived (`fd77:10::/64`). */
  readonly fabric?: string;
  /** The IP pools (Calico IPPool specs: cidr, blockSize, ipipMode, ...). */
  readonly pools: readonly Readonly<Record<string, unknown>>[];
  /** The `default` BGPConfiguration's spec. */
  readonly bgp: Readonly<Record<string, unknown>>;
  /**
   * Where the resources go and the terns read them: files in a directory (`tern run --calico`, the
   * default), or Calico's etcd datastore (`tern run --calico-etcd`; etcd on the fabric, see the top).
   */
  readonly datastore?: 'files' | 'etcd';
}

/** The fabric address etcd gets in etcd mode (`.254` is the nodes' gateway that nobody has). */
const ETCD_HOST = 250;

/** The nodes, their pods, the Calico resources that describe them, and their tern daemons. */
export class Cluster {
  readonly nodes: ClusterNode[] = [];
  /** The resource directory every node's tern reads (`tern run --calico`); unused in etcd mode. */
  readonly dir: string;
  private podCount = 0;
  private etcdServer: EtcdServer | undefined;

  constructor(
    readonly h: InteropHarness,
    readonly opts: ClusterOptions,
  ) {
    this.dir = join(h.dir, 'calico');
    mkdirSync(this.dir, { recursive: true });
  }

  get datastore(): 'files' | 'etcd' {
    return this.opts.datastore ?? 'files';
  }

  /** etcd mode: the etcd every tern reads (started by the first addNodes). */
  get etcd(): EtcdServer {
    if (this.etcdServer === undefined) {
      throw new Error(
        this.datastore === 'etcd'
          ? 'etcd starts with the first addNodes'
          : 'the cluster reads files, not etcd',
      );
    }
    return this.etcdServer;
  }

  /** etcd mode: puts the resources in this YAML text (documents, Lists) as calicoctl would. */
  async putResources(yaml: string): Promise<number> {
    let revision = 0;
    for (const [k, v] of calicoEntries(yaml)) {
      revision = Number((await this.etcd.writer().put(k).value(v).exec()).header.revision);
    }
    return revision;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** Makes the nodes' namespaces on one fabric (a bridge in its own namespace), with other routers on it. */
  async addNodes(
    specs: readonly NodeSpec[],
    opts: { fabric?: string; others?: readonly { ns: Netns; addr: string }[] } = {},
  ): Promise<ClusterNode[]> {
    const namespaces = await Promise.all(specs.map((s) => this.h.createNetns(s.name)));
    // etcd mode: etcd's namespace joins the first segment, at .250 of the first node's /24
    const first = this.datastore === 'etcd' && this.etcdServer === undefined;
    const etcdNs = first ? await this.h.createNetns('etcd') : undefined;
    const etcdAddr = first ? specs[0]?.v4.replace(/\.\d+$/, `.${ETCD_HOST}`) : undefined;
    if (this.datastore === 'etcd' && !first) {
      throw new Error(
        'etcd mode: one segment only (etcd is on the first; nodes elsewhere could not reach it)',
      );
    }
    const ends = await this.h.lan(opts.fabric ?? 'fabric', [
      ...specs.map((s, i) => ({
        ns: namespaces[i] as Netns,
        addr: s.v6 === undefined ? s.v4 : { v4: s.v4, v6: s.v6 },
        ifname: 'eth0',
      })),
      // routers that are no Calico nodes, on the same segment
      ...(opts.others ?? []).map((o) => ({ ns: o.ns, addr: o.addr, ifname: 'eth0' })),
      ...(etcdNs !== undefined && etcdAddr !== undefined
        ? [{ ns: etcdNs, addr: etcdAddr, ifname: 'eth0' }]
        : []),
    ]);
    if (etcdNs !== undefined && etcdAddr !== undefined) {
      const etcd = await EtcdServer.create({
        netns: { name: etcdNs.name, address: etcdAddr },
        dir: join(this.h.dir, 'etcd'),
      });
      this.etcdServer = etcd;
      // stopped (by its PID) before the harness deletes the namespace, which would SIGKILL it anyway
      this.h.adopt({ label: 'etcd', stop: () => etcd.destroy() });
      await etcd.start();
    }
    const made: ClusterNode[] = [];
    for (const [i, s] of specs.entries()) {
      const node = new ClusterNode(s, namespaces[i] as Netns, ends[i] as LinkEnd);
      await this.prepareNode(node);
      this.nodes.push(node);
      made.push(node);
    }
    return made;
  }

  /** Forwarding, the default route, tunl0, Felix's block blackholes. */
  async prepareNode(node: ClusterNode): Promise<void> {
    const { h } = this;
    await sysctl(h, node.ns, [
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
    ]);
    // `.254`: nobody has it; proxy ARP needs a route, and traffic must find no way but BGP's routes
    const gw = node.fabric.v4.replace(/\.\d+$/, '.254');
    await h.ip(node.ns, ['route', 'add', 'default', 'via', gw, 'dev', node.fabric.ifname]);
    await h.ip(node.ns, ['link', 'add', 'tunl0', 'type', 'veth', 'peer', 'name', 'tunl0p']);
    await h.ip(node.ns, ['link', 'set', 'tunl0', 'up']);
    await h.ip(node.ns, ['link', 'set', 'tunl0p', 'up']);
    for (const b of node.spec.blocks) {
      await h.ip(node.ns, [b.includes(':') ? '-6' : '-4', 'route', 'add', 'blackhole', b, 'proto', '80']);
    }
  }

  /** A pod on `node`, as Calico's CNI plugin and Felix make it, with an echo server listening. */
  async addPod(node: ClusterNode, spec: PodSpec): Promise<Pod> {
    const { h } = this;
    const ns = await h.createNetns(spec.name);
    const ifname = `cali${(++this.podCount).toString(16).padStart(11, '0')}`;
    await runCommand(undefined, 'ip', [
      'link',
      'add',
      ifname,
      'netns',
      node.ns.name,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns.name,
    ]);
    // the node's side
    await h.ip(node.ns, ['link', 'set', ifname, 'addrgenmode', 'none']);
    await h.ip(node.ns, ['link', 'set', ifname, 'address', 'ee:ee:ee:ee:ee:ee']);
    await h.ip(node.ns, ['link', 'set', ifname, 'up']);
    await sysctl(h, node.ns, [`net.ipv4.conf.${ifname}.proxy_arp=1`, `net.ipv4.conf.${ifname}.rp_filter=0`]);
    // the pod's side
    await h.ip(ns, ['link', 'set', 'eth0', 'addrgenmode', 'none']);
    await h.ip(ns, ['link', 'set', 'eth0', 'up']);
    if (spec.v4 !== undefined) {
      await h.ip(ns, ['addr', 'add', `${spec.v4}/32`, 'dev', 'eth0']);
      await h.ip(ns, ['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
      await h.ip(ns, ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
      await h.ip(node.ns, ['route', 'add', `${spec.v4}/32`, 'dev', ifname, 'scope', 'link']);
    }
    if (spec.v6 !== undefined) {
      await h.ip(node.ns, ['-6', 'addr', 'add', `${CALI_LL}/64`, 'dev', ifname, 'nodad']);
      await h.ip(ns, ['-6', 'addr', 'add', `${spec.v6}/128`, 'dev', 'eth0', 'nodad']);
      await h.ip(ns, ['-6', 'addr', 'add', 'fe80::1/64', 'dev', 'eth0', 'nodad']);
      await h.ip(ns, ['-6', 'route', 'add', 'default', 'via', CALI_LL, 'dev', 'eth0']);
      await h.ip(node.ns, ['-6', 'route', 'add', `${spec.v6}/128`, 'dev', ifname]);
    }
    const pod: Pod = { ...spec, ns, node, ifname };
    node.pods.push(pod);
    for (const addr of [spec.v4, spec.v6]) {
      if (addr === undefined) continue;
      const server = h.spawn(ns, process.execPath, [ECHO, 'server', addr, String(ECHO_PORT)], {
        name: `echo-${spec.name}-${addr.includes(':') ? 6 : 4}`,
      });
      await waitFor(() => server.log(), {
        what: `${spec.name}: echo server on ${addr}`,
        until: (l) => {
          if (!server.running) throw new FatalWaitError(`echo server exited: ${l}`);
          return l.includes('listening');
        },
        timeoutMs: 10_000,
        intervalMs: 50,
      });
    }
    return pod;
  }

  /** Writes a BGPPeer: into the resource directory (a file of its own), or into etcd. */
  async writePeer(name: string, spec: Readonly<Record<string, unknown>>): Promise<void> {
    const text = stringify({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec });
    if (this.datastore === 'etcd') await this.putResources(text);
    else writeFileSync(join(this.dir, `bgppeer-${name}.yaml`), text);
  }

  /**
   * Writes the cluster's Calico resources as calicoctl/kubectl print them (List documents): the
   * default BGPConfiguration, the IP pools, the nodes and their block affinities; in etcd mode the
   * same documents go to etcd, one key each, as calicoctl and Calico's IPAM store them.
   */
  async writeResources(): Promise<void> {
    const list = (kind: string, items: unknown[]) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: `${kind}List`,
      items,
      metadata: { resourceVersion: '1' },
    });
    const v3 = (kind: string, name: string, spec: unknown, labels?: Readonly<Record<string, string>>) => ({
      apiVersion: 'projectcalico.org/v3',
      kind,
      metadata: { name, ...(labels ? { labels: { ...labels } } : {}) },
      spec,
    });
    const files: Record<string, unknown> = {
      'bgpconfigurations.yaml': list('BGPConfiguration', [v3('BGPConfiguration', 'default', this.opts.bgp)]),
      'ippools.yaml': list(
        'IPPool',
        this.opts.pools.map((p, i) => v3('IPPool', `pool-${i}`, p)),
      ),
      'nodes.yaml': list(
        'Node',
        this.nodes.map((n) =>
          v3(
            'Node',
            n.name,
            {
              bgp: {
                ipv4Address: `${n.spec.v4}/24`,
                ...(n.spec.v6 !== undefined ? { ipv6Address: `${n.spec.v6}/64` } : {}),
                ...(n.spec.asn !== undefined ? { asNumber: n.spec.asn } : {}),
                ...(n.spec.rrClusterId !== undefined ? { routeReflectorClusterID: n.spec.rrClusterId } : {}),
              },
            },
            { 'kubernetes.io/hostname': n.name, ...n.spec.labels },
          ),
        ),
      ),
      'blockaffinities.yaml': {
        apiVersion: 'v1',
        kind: 'List',
        metadata: { resourceVersion: '' },
        items: this.nodes.flatMap((n) =>
          n.spec.blocks.map((b) => ({
            apiVersion: 'crd.projectcalico.org/v1',
            kind: 'BlockAffinity',
            metadata: { name: `${n.name}-${b.replace(/[.:/]/g, '-')}` },
            spec: { cidr: b, node: n.name, state: 'confirmed', type: 'host', deleted: 'false' },
          })),
        ),
      },
    };
    for (const [f, doc] of Object.entries(files)) {
      if (this.datastore === 'etcd') await this.putResources(stringify(doc));
      else writeFileSync(join(this.dir, f), stringify(doc));
    }
  }

  /** A tern for the node that runs `tern run --calico <dir> --node <name>` (`--calico-etcd <endpoint>`). */
  calicoTern(node: ClusterNode): TernDaemon {
    const source = this.datastore === 'etcd' ? ['--calico-etcd', this.etcd.endpoint] : ['--calico', this.dir];
    node.tern = new TernDaemon(this.h, node, [...source, '--node', node.name]);
    return node.tern;
  }

  /**
   * A tern for the node that runs the native config `tern calico render` prints for it (the command's
   * own function, called in this process), changed by
   * `edit` (for settings Calico has no field for, such as the hold time).
   */
  async renderedTern(node: ClusterNode, edit: (yaml: string) => string): Promise<TernDaemon> {
    if (this.datastore === 'etcd')
      throw new Error('renderedTern renders the resource directory: files mode only');
    let out = '';
    let err = '';
    const code = await runCalicoRender(
      { calico: this.dir, node: node.name },
      (s) => {
        out += s;
      },
      (s) => {
        err += `${s}\n`;
      },
    );
    if (code !== 0) throw new Error(`tern calico render --node ${node.name}: ${err}`);
    const file = join(this.h.dir, `${node.name}.tern.yaml`);
    const socket = join(this.h.dir, `tern-${node.name}`, 'tern.ctl');
    writeFileSync(file, `${edit(out).trimEnd()}\ncontrol: { socket: ${socket} }\n`);
    node.tern = new TernDaemon(this.h, node, ['-c', file]);
    return node.tern;
  }

  /** Every pod's addresses of a family, with the pod. */
  podAddresses(family: 4 | 6): { pod: Pod; addr: string }[] {
    return this.nodes.flatMap((n) =>
      n.pods.flatMap((p) => {
        const a = family === 4 ? p.v4 : p.v6;
        return a === undefined ? [] : [{ pod: p, addr: a }];
      }),
    );
  }

  /** Echo exchanges from `from` to each of `addrs`, at once; the failures, one line each. */
  async echoFrom(from: Pod, addrs: readonly string[], timeoutMs = 3000): Promise<string[]> {
    if (addrs.length === 0) return [];
    const r = await this.h.exec(
      from.ns,
      process.execPath,
      [ECHO, 'once', String(ECHO_PORT), String(timeoutMs), ...addrs],
      { allowFailure: true, timeoutMs: timeoutMs + 10_000 },
    );
    const fails = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('FAIL'))
      .map((l) => `${from.name} -> ${l.slice(5)}`);
    if (r.code !== 0 && fails.length === 0)
      fails.push(`${from.name}: echo client exited ${r.code}: ${r.stderr}`);
    return fails;
  }

  /** One echo exchange; the failure as text, or undefined. */
  async echoOnce(from: Pod, addr: string, timeoutMs = 3000): Promise<string | undefined> {
    return (await this.echoFrom(from, [addr], timeoutMs))[0];
  }

  /**
   * Echo from every pod to every pod of another node, in both families (where both pods have an
   * address of it); the failures, none when all went through.
   */
  async echoAll(families: readonly (4 | 6)[] = [4, 6]): Promise<string[]> {
    const pods = this.nodes.flatMap((n) => n.pods);
    const out: string[] = [];
    // two clients at a time: the machine has two cores
    for (let i = 0; i < pods.length; i += 2) {
      const batch = pods.slice(i, i + 2).map((pod) => {
        const addrs = families.flatMap((f) =>
          this.podAddresses(f)
            .filter((t) => t.pod.node !== pod.node && (f === 4 ? pod.v4 : pod.v6) !== undefined)
            .map((t) => t.addr),
        );
        return this.echoFrom(pod, addrs);
      });
      for (const r of await Promise.all(batch)) out.push(...r);
    }
    return out;
  }

  /** Waits until every pod reaches every pod of another node (routes converge first). */
  async waitTraffic(families: readonly (4 | 6)[] = [4, 6], timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        const fails = await this.echoAll(families);
        if (fails.length === 0) return { fails, routes: '' };
        // what the kernels held, for the message if this was the last try
        const tables = await Promise.all(this.nodes.map((n) => learnedPrefixes(this.h, n.ns)));
        const routes = this.nodes.map((n, i) => `${n.name}: ${[...(tables[i] ?? [])].sort().join(' ')}`);
        return { fails, routes: routes.join('; ') };
      },
      {
        what: 'pod-to-pod echo across nodes',
        until: (r) => r.fails.length === 0,
        describe: (r) => `${r.fails.join('; ')}; the nodes' proto bird routes: ${r.routes}`,
        timeoutMs,
        intervalMs: 500,
      },
    );
  }

  /** A long-lived echo connection from `from` to `addr`, a line every `everyMs`. */
  stream(from: Pod, addr: string, everyMs = 50): EchoStream {
    const p = this.h.spawn(
      from.ns,
      process.execPath,
      [ECHO, 'stream', addr, String(ECHO_PORT), String(everyMs)],
      {
        name: `stream-${from.name}-${addr.replace(/[.:]/g, '_')}`,
      },
    );
    return new EchoStream(p, `${from.name} -> ${addr}`);
  }
}

/** The outcome of a long-lived echo connection. */
export interface StreamResult {
  sent: number;
  echoed: number;
  maxGapMs: number;
}

export class EchoStream {
  constructor(
    private readonly proc: ManagedProcess,
    readonly label: string,
  ) {}

  async connected(): Promise<void> {
    await waitFor(() => this.proc.log(), {
      what: `${this.label}: connected`,
      until: (l) => {
        if (!this.proc.running) throw new FatalWaitError(`${this.label}: ${l}`);
        return l.includes('connected');
      },
      timeoutMs: 10_000,
      intervalMs: 50,
    });
  }

  /** Ends the stream; throws if it broke on the way. */
  async finish(): Promise<StreamResult> {
    if (!this.proc.running) throw new Error(`${this.label}: the connection broke: ${this.proc.log()}`);
    this.proc.kill('SIGTERM');
    await this.proc.exited;
    const last = this.proc.log().trim().split('\n').pop() ?? '';
    if (this.proc.exit?.code !== 0 || !last.startsWith('{'))
      throw new Error(`${this.label}: ${this.proc.log()}`);
    return JSON.parse(last) as StreamResult;
  }
}

/**
 * Polls `probe` every `everyMs` until `stop` resolves, and records every moment it failed (for "no
 * missing route while it restarts").
 */
export async function pollWhile(
  stop: Promise<unknown>,
  probe: () => Promise<string | undefined>,
  everyMs = 100,
): Promise<{ polls: number; misses: string[] }> {
  let done = false;
  let failure: { error: unknown } | undefined;
  stop.then(
    () => {
      done = true;
    },
    (error: unknown) => {
      failure = { error };
      done = true;
    },
  );
  const misses: string[] = [];
  let polls = 0;
  const t0 = Date.now();
  while (!done) {
    const t = Date.now();
    const miss = await probe();
    polls++;
    if (miss !== undefined) misses.push(`${t - t0} ms: ${miss}`);
    await sleep(Math.max(0, everyMs - (Date.now() - t)));
  }
  if (failure !== undefined) throw failure.error;
  return { polls, misses };
}
