// FRR bgpd (Debian `frr`) without zebra: `bgpd -Z -S -f bgpd.conf -i bgpd.pid -z zserv.api -P 0
// --vty_socket <dir>` in a namespace (-Z: no zebra, -S: no user switch, -P 0: no vty TCP port),
// queried with `vtysh -d bgpd --vty_socket <dir> -c 'show bgp neighbors <a> json'` and
// `-c 'show bgp ipv4 unicast json detail'`. Needs `no bgp ebgp-requires-policy` for eBGP without
// route-maps; refuses next hops in 127/8; without zebra it has no interface list, so an IPv6 route
// whose next hop is link-local is withdrawn (the harness's links carry no link-local addresses).
import { join } from 'node:path';
import { DaemonBase } from './daemon.js';
import { interopPaths } from './env.js';
import type { InteropHarness, Netns } from './netns.js';
import {
  type AnnouncedRoute,
  arr,
  type BgpDaemon,
  type DaemonOptions,
  type Family,
  familyOf,
  field,
  isObj,
  type Json,
  type NeighborOptions,
  neighborFamilies,
  num,
  parseCommunity,
  parseJson,
  type RibRoute,
  str,
  timers,
} from './types.js';

function routeMapName(r: AnnouncedRoute): string {
  return `ANN_${r.prefix.replace(/[.:/]/g, '_')}`;
}

function hasAttributes(r: AnnouncedRoute): boolean {
  return (
    r.nextHop !== undefined ||
    (r.communities?.length ?? 0) > 0 ||
    r.med !== undefined ||
    r.localPref !== undefined
  );
}

/** A route-map that sets the announced attributes of one route (config lines). */
export function frrRouteMap(r: AnnouncedRoute): string[] {
  const lines = [`route-map ${routeMapName(r)} permit 10`];
  if (r.nextHop !== undefined) {
    lines.push(
      familyOf(r.nextHop) === 'ipv4'
        ? ` set ip next-hop ${r.nextHop}`
        : ` set ipv6 next-hop global ${r.nextHop}`,
    );
  }
  if (r.communities !== undefined && r.communities.length > 0) {
    for (const c of r.communities) parseCommunity(c);
    lines.push(` set community ${r.communities.join(' ')}`);
  }
  if (r.med !== undefined) lines.push(` set metric ${r.med}`);
  if (r.localPref !== undefined) lines.push(` set local-preference ${r.localPref}`);
  lines.push('exit');
  return lines;
}

function networkLine(r: AnnouncedRoute): string {
  return `network ${r.prefix}${hasAttributes(r) ? ` route-map ${routeMapName(r)}` : ''}`;
}

export function frrConfig(o: DaemonOptions, routes: AnnouncedRoute[]): string {
  const t = timers(o);
  const out = [
    'frr defaults traditional',
    `hostname ${o.name}`,
    'log stdout informational',
    ...(o.extraConfig ?? []),
  ];
  for (const r of routes) if (hasAttributes(r)) out.push(...frrRouteMap(r));
  out.push(
    `router bgp ${o.localAs}`,
    ` bgp router-id ${o.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' no bgp network import-check',
    o.gracefulRestart === true ? ' bgp graceful-restart' : ' bgp graceful-restart-disable',
    ` timers bgp ${t.keepalive} ${t.holdTime}`,
  );
  if (o.clusterId !== undefined || o.neighbors.some((n) => n.rrClient === true)) {
    out.push(` bgp cluster-id ${o.clusterId ?? o.routerId}`);
  }
  for (const n of o.neighbors) out.push(...frrNeighbor(n, t.connectRetry));
  for (const f of ['ipv4', 'ipv6'] as const) {
    out.push(` address-family ${f} unicast`);
    for (const r of routes) if (familyOf(r.prefix) === f) out.push(`  ${networkLine(r)}`);
    for (const n of o.neighbors) {
      if (!neighborFamilies(n).includes(f)) continue;
      out.push(`  neighbor ${n.address} activate`);
      if (n.rrClient === true) out.push(`  neighbor ${n.address} route-reflector-client`);
      if (n.addPath === true || n.addPath === 'tx') out.push(`  neighbor ${n.address} addpath-tx-all-paths`);
    }
    out.push(' exit-address-family');
  }
  out.push('exit');
  return `${out.join('\n')}\n`;
}

function frrNeighbor(n: NeighborOptions, connectRetry: number): string[] {
  const a = n.address;
  const lines = [` neighbor ${a} remote-as ${n.as}`, ` neighbor ${a} timers connect ${connectRetry}`];
  if (n.passive === true) lines.push(` neighbor ${a} passive`);
  if (n.port !== undefined) lines.push(` neighbor ${a} port ${n.port}`);
  if (n.localAddress !== undefined) lines.push(` neighbor ${a} update-source ${n.localAddress}`);
  for (const x of n.extra ?? []) lines.push(` ${x}`);
  return lines;
}

/** One path of `show bgp <afi> unicast json detail` as a RibRoute. */
export function frrPathToRib(prefix: string, p: Json): RibRoute {
  const nexthops = arr(field(p, 'nexthops'));
  const global = nexthops.find((n) => str(field(n, 'scope')) !== 'link-local') ?? nexthops[0];
  const route: RibRoute = {
    prefix,
    nextHop: str(field(global, 'ip')) ?? '',
    asPath: [],
    best: field(field(p, 'bestpath'), 'overall') === true,
  };
  for (const seg of arr(field(field(p, 'aspath'), 'segments'))) {
    for (const asn of arr(field(seg, 'list'))) route.asPath.push(num(asn) ?? 0);
  }
  const lp = num(field(p, 'locPrf'));
  if (lp !== undefined) route.localPref = lp;
  const med = num(field(p, 'med')) ?? num(field(p, 'metric'));
  if (med !== undefined) route.med = med;
  const comm = str(field(field(p, 'community'), 'string'));
  if (comm !== undefined) route.communities = comm.split(/\s+/).filter((c) => c.length > 0);
  const orig = str(field(p, 'originatorId'));
  if (orig !== undefined) route.originatorId = orig;
  const cl = field(p, 'clusterList');
  if (cl !== undefined) route.clusterList = arr(field(cl, 'list')).map((x) => str(x) ?? '');
  const peer = str(field(field(p, 'peer'), 'peerId'));
  if (peer !== undefined && field(p, 'local') !== true && peer !== '0.0.0.0' && peer !== '(unspec)')
    route.peer = peer;
  return route;
}

export class Frr extends DaemonBase implements BgpDaemon {
  readonly kind = 'frr' as const;
  readonly vtyDir: string;
  readonly configPath: string;

  constructor(h: InteropHarness, ns: Netns, opts: DaemonOptions) {
    super(h, ns, opts);
    this.vtyDir = this.dir;
    this.configPath = join(this.dir, 'bgpd.conf');
  }

  async start(): Promise<this> {
    const paths = interopPaths();
    this.writeFile('bgpd.conf', frrConfig(this.opts, this.announced));
    const args = [
      '-Z',
      '-S',
      '-f',
      this.configPath,
      '-i',
      join(this.dir, 'bgpd.pid'),
      '-z',
      join(this.dir, 'zserv.api'),
      '-P',
      '0',
      '--vty_socket',
      this.vtyDir,
    ];
    if (this.opts.listenPort !== undefined) args.push('-p', String(this.opts.listenPort));
    this.spawn(paths.frrBgpd, args, 'bgpd');
    await this.waitReady(() => this.vtysh(['show version']), 'vtysh answers');
    this.version = /FRRouting (\S+)/.exec(await this.vtysh(['show version']))?.[1] ?? '';
    return this;
  }

  /** Runs `vtysh -d bgpd --vty_socket <dir> -c <cmd> -c ...` and returns stdout. */
  async vtysh(commands: string[]): Promise<string> {
    const args = ['-d', 'bgpd', '--vty_socket', this.vtyDir];
    for (const c of commands) args.push('-c', c);
    const r = await this.cli(interopPaths().vtysh, args);
    if (/^% /m.test(r.stdout)) throw new Error(`vtysh ${commands.join(' / ')}: ${r.stdout.trim()}`);
    return r.stdout;
  }

  async neighborState(address: string): Promise<string> {
    const j = parseJson(
      await this.vtysh([`show bgp neighbors ${address} json`]),
      `show bgp neighbors ${address}`,
    );
    const st = str(field(field(j, address), 'bgpState'));
    if (st === undefined)
      throw new Error(`${this.label}: no neighbor ${address}: ${JSON.stringify(j).slice(0, 300)}`);
    return st;
  }

  async routes(family: Family): Promise<RibRoute[]> {
    const j = parseJson(await this.vtysh([`show bgp ${family} unicast json detail`]), `show bgp ${family}`);
    const out: RibRoute[] = [];
    const routes = field(j, 'routes');
    if (!isObj(routes)) return out;
    for (const [prefix, entries] of Object.entries(routes)) {
      for (const e of arr(entries)) if (field(e, 'aspath') !== undefined) out.push(frrPathToRib(prefix, e));
    }
    return out;
  }

  async announce(routes: AnnouncedRoute[]): Promise<void> {
    this.mergeAnnounced(routes);
    const cmds = ['configure terminal'];
    for (const r of routes) if (hasAttributes(r)) cmds.push(...frrRouteMap(r));
    for (const r of routes) {
      cmds.push(
        `router bgp ${this.opts.localAs}`,
        `address-family ${familyOf(r.prefix)} unicast`,
        networkLine(r),
        'exit',
        'exit',
      );
    }
    await this.vtysh(cmds);
  }

  async withdraw(prefixes: string[]): Promise<void> {
    this.dropAnnounced(prefixes);
    const cmds = ['configure terminal'];
    for (const p of prefixes) {
      cmds.push(
        `router bgp ${this.opts.localAs}`,
        `address-family ${familyOf(p)} unicast`,
        `no network ${p}`,
        'exit',
        'exit',
      );
    }
    await this.vtysh(cmds);
  }
}

/** Writes bgpd.conf, starts FRR bgpd (no zebra) in `ns` and waits until vtysh answers. */
export function startFrr(h: InteropHarness, ns: Netns, opts: DaemonOptions): Promise<Frr> {
  return new Frr(h, ns, opts).start();
}
