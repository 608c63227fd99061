// Calico resources + the name of this node -> a native config document (the same schema `tern run -c`
// reads), as confd's templates would configure BIRD and BIRD6 on that node. Pure: data in, data out; the
// document is then checked by the native validator like any config file (index.ts).
//
// Sources (projectcalico/calico): confd/pkg/backends/calico/bgp_processor.go (populateNodeConfig,
// processMeshPeers, buildPeerFromData, processCommunityRules, processIPPools), client.go (peerings, see
// peerings.ts; service ranges: updateGlobalRoutes), and node/filesystem/etc/calico/confd/templates/
// bird{,6}.cfg.template, bird{,6}_aggr.cfg.template, bird{,6}_ipam.cfg.template. docs/calico.md says what
// each field becomes. Every field that changes what BGP does is carried over, or refused with an error
// naming the resource and the field, or (where the result is the same network) explained in a warning.

import { createHash } from 'node:crypto';
import { prefixCovers } from '../../kernel/address.js';
import { parseIp } from './go.js';
import type { CalicoIssue, Origin } from './issues.js';
import { Cluster, type Peering, peeringsOf } from './peerings.js';
import type {
  BgpConfigurationSpec,
  CalicoBgpConfiguration,
  CalicoIpPool,
  CalicoNode,
  CalicoResources,
  Prefix,
  ProgramClusterRoutes,
} from './resources.js';

/** BIRD's default hold time, which Calico's template keeps (RFC 4271 suggests 90, tern's own default). */
export const BIRD_HOLD_TIME = 240;
/** BirdIntMaxValue in confd: LOCAL_PREF = this - the route's priority (krt_metric). */
const BIRD_INT_MAX = 2147483647;
const DEFAULT_ROUTE_PRIORITY = 1024;
const SERVICE_EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface TranslateOptions {
  /** The name of this node (calico-node's NODENAME). */
  readonly node: string;
  /** CALICO_ROUTER_ID: an IPv4 address, or `hash` (from the node name); default the node's IPv4 address. */
  readonly routerId?: string;
  /** Native settings Calico has no resource for. */
  readonly control?: {
    readonly socket?: string;
    readonly group?: string | number;
    readonly birdSocket?: string;
    readonly bird6Socket?: string;
  };
  /** Write learned routes to the kernel as Calico's BIRD does (default true). */
  readonly kernelWrite?: boolean;
  /** The Prometheus endpoint (native `metrics`); absent: off. */
  readonly metrics?: { readonly address?: string; readonly port?: number };
}

export interface NativePeer {
  name: string;
  address: string;
  port?: number;
  asn: number;
  localAsn?: number;
  localAddress?: string;
  passive?: boolean;
  rrClient?: boolean;
  allowOwnAs?: number;
  nextHopSelf?: 'self' | 'keep';
  keepaliveTime?: number;
  gracefulRestart?: { restartTime: number };
  families: ('ipv4-unicast' | 'ipv6-unicast')[];
}

export interface NativeOriginate {
  prefix: string;
  communities?: string[];
  localPref?: number;
  /** Written to the kernel as a blackhole route, as BIRD's static `route <block> blackhole`. */
  blackhole?: boolean;
}

/** One rule of the native export filter (docs/config.md exportFilter). */
export interface NativeExportRule {
  prefix?: string;
  match?: 'exact' | 'longer';
  action: 'accept' | 'reject' | 'addCommunities';
  communities?: string[];
}

export interface NativePool {
  cidr: string;
  encapsulation: 'none' | 'ipip' | 'vxlan';
  crossSubnet?: boolean;
  blockSize: number;
  disableBgpExport?: boolean;
  /** false: Felix writes the pool's routes (programClusterRoutes); absent: tern's default. */
  programRoutes?: boolean;
}

/** A native config document (docs/config.md), as plain data. */
export interface NativeDocument {
  routerId: string;
  asn: number;
  listen: { address: string; port: number };
  holdTime: number;
  connectRetryTime: number;
  errorWaitTime: [number, number];
  addPath: 'both';
  gracefulRestart: { enabled: boolean; restartTime: number };
  multipath: boolean;
  nextHopResolution: 'kernel';
  nextHop?: { ipv4?: string; ipv6?: string };
  reflector?: { clusterId: string };
  control?: { socket?: string; group?: string | number; birdSocket?: string; bird6Socket?: string };
  log?: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' };
  metrics?: { address?: string; port?: number };
  kernel: { write: boolean };
  pools: NativePool[];
  originate: NativeOriginate[];
  exportFilter: NativeExportRule[];
  peers: NativePeer[];
}

/** Where a part of the document came from: the resource and its field. */
export interface Provenance {
  readonly origin?: Origin;
  readonly resource?: string;
  readonly path: string;
}

export interface Translation {
  /** Present when there are no errors. */
  readonly document: NativeDocument | undefined;
  readonly errors: readonly CalicoIssue[];
  readonly warnings: readonly CalicoIssue[];
  /** Native paths ("peers[2]", "pools[0]", "originate[1]", "routerId") -> the resource they came from. */
  readonly provenance: ReadonlyMap<string, Provenance>;
}

type Resource = { readonly kind: string; readonly name: string; readonly origin: Origin };

const label = (r: Resource): string => `${r.kind} ${r.name}`;

class Issues {
  readonly errors: CalicoIssue[] = [];
  readonly warnings: CalicoIssue[] = [];
  private readonly seen = new Set<string>();

  private add(list: CalicoIssue[], r: Resource | undefined, path: string, message: string): void {
    const k = `${list === this.errors ? 'E' : 'W'}|${r ? label(r) : ''}|${path}|${message}`;
    if (this.seen.has(k)) return;
    this.seen.add(k);
    list.push({ ...(r ? { origin: r.origin, resource: label(r) } : {}), path, message });
  }

  error(r: Resource | undefined, path: string, message: string): void {
    this.add(this.errors, r, path, message);
  }

  warn(r: Resource | undefined, path: string, message: string): void {
    this.add(this.warnings, r, path, message);
  }

  private readonly refused = new Map<
    string,
    { r: Resource; path: string; what: string; details: string[] }
  >();

  /** A field tern cannot carry out, for one peering; `flush` makes one error per resource and field. */
  refuse(r: Resource, path: string, what: string, detail: string): void {
    const k = `${label(r)}|${path}|${what}`;
    const entry = this.refused.get(k) ?? { r, path, what, details: [] };
    if (!entry.details.includes(detail)) entry.details.push(detail);
    this.refused.set(k, entry);
  }

  flush(): void {
    for (const { r, path, what, details } of this.refused.values()) {
      const names = details.every((d) => !d.includes(' ') || d.endsWith(' (reverse)'));
      const list = names
        ? `peering${details.length === 1 ? '' : 's'} ${details.join(', ')}`
        : details.join('; ');
      this.error(
        r,
        path,
        `${what} (${list}); remove the field, or keep BIRD on this node (tern does not silently ignore it)`,
      );
    }
    this.refused.clear();
  }
}

/** Go's net.IP String() of an address, `.`/`:` -> `_` (confd's protocol names). */
function nameOf(prefix: string, ip: string, port: number): string {
  const base = `${prefix}_${ip.replace(/[.:]/g, '_')}`;
  return port > 0 ? `${base}_port_${port}` : base;
}

/** template.HashToIPv4: the first 4 bytes of SHA-256(node name), first octet kept out of 224..255. */
export function hashRouterId(node: string): string {
  const b = createHash('sha256').update(node).digest();
  const first = b[0]! > 223 ? b[0]! - 32 : b[0]!;
  return `${first}.${b[1]}.${b[2]}.${b[3]}`;
}

const LOG_LEVELS: Readonly<Record<string, NonNullable<NativeDocument['log']>['level']>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  error: 'error',
  fatal: 'error',
};

export function translateCalico(res: CalicoResources, opts: TranslateOptions): Translation {
  const issues = new Issues();
  const provenance = new Map<string, Provenance>();
  const cluster = new Cluster(res);
  const self = cluster.nodes.get(opts.node);
  const global = cluster.global;
  const mine = cluster.perNode.get(opts.node);

  checkConfigurations(res.bgpConfigurations, issues);
  if (!self) {
    const names = cluster.names;
    issues.error(
      undefined,
      '',
      `no Node named ${JSON.stringify(opts.node)} among the resources` +
        (names.length === 0
          ? ' (there are no Node resources: add `calicoctl get nodes -o yaml`)'
          : ` (nodes: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''})`),
    );
    return { document: undefined, errors: issues.errors, warnings: issues.warnings, provenance };
  }
  const v4 = self.bgp?.ipv4Address;
  const v6 = self.bgp?.ipv6Address;
  const asn = self.bgp?.asNumber ?? cluster.globalAS;
  provenance.set(
    'asn',
    self.bgp?.asNumber !== undefined || !global
      ? where(self, 'spec.bgp.asNumber')
      : where(global, 'spec.asNumber'),
  );

  // router id (populateNodeConfig): CALICO_ROUTER_ID, `hash`, else the node's IPv4 address
  let routerId = v4?.address ?? '';
  if (opts.routerId === 'hash') routerId = hashRouterId(opts.node);
  else if (opts.routerId !== undefined && opts.routerId !== '') {
    routerId = opts.routerId;
    if (parseIp(routerId)?.family !== 4) {
      issues.error(
        undefined,
        '',
        `the router id (--router-id, CALICO_ROUTER_ID) must be an IPv4 address or "hash", got ${JSON.stringify(routerId)}`,
      );
    }
  }
  if (routerId === '') {
    issues.error(
      self,
      'spec.bgp.ipv4Address',
      'this node has no IPv4 address, which Calico takes as the BGP router id: set one, or give the router id ' +
        '(`--router-id <IPv4 address>` or `--router-id hash`, as CALICO_ROUTER_ID does for calico-node)',
    );
  }
  provenance.set('routerId', where(self, 'spec.bgp.ipv4Address'));

  // peers, one list per family as bird.cfg and bird6.cfg have them
  const peerings = peeringsOf(cluster, opts.node);
  for (const w of peerings.warnings) issues.warnings.push(w);
  const peers: { peer: NativePeer; from: Provenance }[] = [];
  for (const family of [4, 6] as const) {
    const currentIP = family === 4 ? (v4?.address ?? '') : (v6?.address ?? '');
    if (currentIP === '') continue; // "IPv4 disabled on this node" / "IPv6 disabled on this node"
    const r = new FamilyRender(cluster, res, self, family, currentIP, asn, issues);
    const list = [
      ...r.mesh(),
      ...r.explicit(peerings.global, 'Global'),
      ...r.explicit(peerings.node, 'Node'),
    ];
    list.sort((a, b) => (a.peer.name < b.peer.name ? -1 : a.peer.name > b.peer.name ? 1 : 0));
    peers.push(...list);
  }
  issues.flush();
  for (const e of localWorkloadRefusals(cluster, opts.node)) issues.errors.push(e);
  checkDuplicates(peers, issues);
  peers.forEach((p, i) => {
    provenance.set(`peers[${i}]`, p.from);
  });

  // listen (populateNodeConfig: bindMode NodeIP, listenPort per node or global)
  const port = mine?.spec.listenPort ?? global?.spec.listenPort ?? 179;
  let address = v6 ? '::' : '0.0.0.0';
  if (global?.spec.bindMode === 'NodeIP') {
    if (v4 && v6) {
      issues.error(
        global,
        'spec.bindMode',
        `NodeIP makes BIRD listen on ${v4.address} and BIRD6 on ${v6.address}; tern listens on one address ` +
          '(native `listen: {address}`) and cannot bind both: remove bindMode, or give the node one family',
      );
    } else if (v4) address = v4.address;
    else if (v6) address = v6.address;
  }
  provenance.set(
    'listen',
    mine?.spec.listenPort !== undefined ? where(mine, 'spec.listenPort') : where(global, 'spec'),
  );

  const clusterId = cluster.rrClusterID(opts.node);
  if (clusterId !== '') provenance.set('reflector', where(self, 'spec.bgp.routeReflectorClusterID'));
  const severity = mine?.spec.logSeverityScreen ?? global?.spec.logSeverityScreen;
  const ads = advertisements(cluster, self, issues);
  const originated = originate(cluster, res, self, issues, provenance);
  res.ipPools.forEach((p, i) => {
    provenance.set(`pools[${i}]`, where(p, 'spec'));
  });
  const doc: NativeDocument = {
    routerId,
    asn,
    listen: { address, port },
    holdTime: BIRD_HOLD_TIME,
    connectRetryTime: 5,
    errorWaitTime: [5, 30],
    addPath: 'both',
    gracefulRestart: { enabled: true, restartTime: 120 },
    multipath: true,
    nextHopResolution: 'kernel',
    ...(v4 || v6
      ? { nextHop: { ...(v4 ? { ipv4: v4.address } : {}), ...(v6 ? { ipv6: v6.address } : {}) } }
      : {}),
    ...(clusterId !== '' ? { reflector: { clusterId } } : {}),
    ...(opts.control && Object.keys(opts.control).length > 0 ? { control: { ...opts.control } } : {}),
    ...(severity !== undefined ? { log: { level: LOG_LEVELS[severity.toLowerCase()] ?? 'info' } } : {}),
    ...(opts.metrics ? { metrics: { ...opts.metrics } } : {}),
    kernel: { write: opts.kernelWrite ?? true },
    pools: res.ipPools.map((p) => nativePool(p, cluster.global?.spec.programClusterRoutes)),
    originate: originated,
    exportFilter: exportFilter(cluster, res, self, ads),
    peers: peers.map((p) => p.peer),
  };
  kernelNotes(cluster, res, self, issues, opts.kernelWrite ?? true);
  bgpConfigurationNotes(global, issues);

  return {
    document: issues.errors.length === 0 ? doc : undefined,
    errors: issues.errors,
    warnings: issues.warnings,
    provenance,
  };
}

function where(r: Resource | undefined, path: string): Provenance {
  return r ? { origin: r.origin, resource: label(r), path } : { path: '' };
}

/** Names confd understands: `default` and `node.<name>`; what a per-node one may set. */
function checkConfigurations(configs: readonly CalicoBgpConfiguration[], issues: Issues): void {
  const perNodeFields = ['listenPort', 'prefixAdvertisements', 'communities', 'logSeverityScreen'];
  for (const c of configs) {
    if (c.name === 'default') continue;
    if (!c.name.startsWith('node.')) {
      issues.warn(
        c,
        'metadata.name',
        'Calico ignores it (a BGPConfiguration is named `default` or `node.<node name>`), and so does tern',
      );
      continue;
    }
    for (const f of c.spec.present) {
      if (perNodeFields.includes(f)) continue;
      issues.warn(
        c,
        `spec.${f}`,
        `Calico reads ${f} only from the \`default\` BGPConfiguration (per node: ${perNodeFields.join(', ')}); ` +
          'tern ignores it here too',
      );
    }
  }
}

/** One family's peers for this node: processMeshPeers and buildPeerFromData. */
class FamilyRender {
  private readonly clusterId: string;
  private readonly familyName: 'ipv4-unicast' | 'ipv6-unicast';

  constructor(
    private readonly cluster: Cluster,
    private readonly res: CalicoResources,
    self: CalicoNode,
    private readonly family: 4 | 6,
    private readonly currentIP: string,
    /** config.ASNumber: this node's AS. */
    private readonly asn: number,
    private readonly issues: Issues,
  ) {
    this.clusterId = cluster.rrClusterID(self.name);
    this.familyName = family === 4 ? 'ipv4-unicast' : 'ipv6-unicast';
  }

  mesh(): { peer: NativePeer; from: Provenance }[] {
    const global = this.cluster.global;
    if (this.clusterId !== '') return []; // a route reflector takes no part in the mesh
    if (global?.spec.nodeToNodeMeshEnabled === false) return [];
    const out: { peer: NativePeer; from: Provenance }[] = [];
    const restart = global?.spec.nodeMeshMaxRestartTime;
    for (const host of this.cluster.names) {
      const ip = this.cluster.ip(host, this.family);
      if (ip === '' || ip === this.currentIP) continue;
      if (this.cluster.rrClusterID(host) !== '') continue; // reflectors are reached by BGPPeers
      const node = this.cluster.nodes.get(host)!;
      const port = this.cluster.listenPortOf(host);
      // confd: the peer node's AS, else config.ASNumber (this node's, not the global one)
      const peer: NativePeer = {
        name: nameOf('Mesh', ip, 0),
        address: ip,
        ...(port > 0 ? { port } : {}),
        asn: this.cluster.nodeAS(host) ?? this.asn,
        localAddress: this.currentIP,
        // "Make mesh unidirectional": the side whose address is smaller *as a string* waits
        ...(ip > this.currentIP ? { passive: true } : {}),
        families: [this.familyName],
      };
      if (global?.spec.nodeMeshPassword) {
        this.issues.error(
          global,
          'spec.nodeMeshPassword',
          'TCP MD5 signatures (RFC 2385) for the node-to-node mesh cannot be set from Node.js (no TCP_MD5SIG ' +
            'socket option); remove nodeMeshPassword or keep BIRD (tern does not silently ignore it)',
        );
      }
      if (restart !== undefined) this.restartTime(peer, restart, global!, 'spec.nodeMeshMaxRestartTime');
      out.push({ peer: familiesLast(peer), from: where(node, 'spec.bgp') });
    }
    return out;
  }

  explicit(
    peerings: readonly Peering[],
    prefix: 'Global' | 'Node',
  ): { peer: NativePeer; from: Provenance }[] {
    const out: { peer: NativePeer; from: Provenance }[] = [];
    for (const p of peerings) {
      if (p.family !== this.family || p.ip === this.currentIP) continue;
      const r = p.from;
      const name = nameOf(prefix, p.ip, p.port);
      this.refusals(p, name);
      const effectiveAS = p.localASNum !== 0 ? p.localASNum : this.asn;
      let nextHopSelf: NativePeer['nextHopSelf'];
      if (p.nextHopMode === 'Self') nextHopSelf = 'self';
      else if (p.nextHopMode === 'Keep') nextHopSelf = 'keep';
      if (p.keepNextHop && p.asNum !== effectiveAS) nextHopSelf = 'keep'; // the legacy field: eBGP only
      const peer: NativePeer = {
        name,
        address: p.ip,
        ...(p.port > 0 ? { port: p.port } : {}),
        asn: p.asNum,
        ...(p.localASNum !== 0 ? { localAsn: p.localASNum } : {}),
        ...(p.sourceAddr === 'UseNodeIP' ? { localAddress: this.currentIP } : {}),
        // global peerings with a Calico node follow the mesh's passive rule
        ...(prefix === 'Global' && p.calicoNode && p.ip > this.currentIP ? { passive: true } : {}),
        // reflector: same-AS peers with no or another cluster id are its clients
        ...(p.asNum === effectiveAS && this.clusterId !== '' && p.rrClusterID !== this.clusterId
          ? { rrClient: true }
          : {}),
        // BIRD's `allow local as N`
        ...(p.numAllowLocalAS > 0 ? { allowOwnAs: p.numAllowLocalAS } : {}),
        ...(nextHopSelf ? { nextHopSelf } : {}),
        families: [this.familyName],
      };
      if (p.restartTime !== undefined) this.restartTime(peer, p.restartTime, r, 'spec.maxRestartTime');
      if (p.keepaliveTime !== undefined) {
        const max = Math.floor(BIRD_HOLD_TIME / 3);
        if (p.keepaliveTime < 1 || p.keepaliveTime > max) {
          this.issues.error(
            r,
            'spec.keepaliveTime',
            `${p.keepaliveTime} s for ${name}: expected 1..${max} s (at most a third of the hold time, ` +
              `${BIRD_HOLD_TIME} s, BIRD's default that Calico keeps; RFC 4271 4.4)`,
          );
        } else peer.keepaliveTime = p.keepaliveTime;
      }
      out.push({ peer: familiesLast(peer), from: where(r, 'spec') });
    }
    return out;
  }

  private restartTime(peer: NativePeer, seconds: number, r: Resource, path: string): void {
    if (seconds < 1 || seconds > 4095) {
      this.issues.error(
        r,
        path,
        `${seconds} s for ${peer.name}: the graceful restart time is 1..4095 s (the 12-bit Restart Time of RFC 4724)`,
      );
    } else peer.gracefulRestart = { restartTime: seconds };
  }

  /** What a peering asks for that tern cannot do: an error naming the BGPPeer and the field. */
  private refusals(p: Peering, name: string): void {
    const r = p.from;
    const peering = `${name}${p.reverse ? ' (reverse)' : ''}`;
    const refuse = (path: string, what: string, detail = peering): void =>
      this.issues.refuse(r, path, what, detail);
    if (p.password) {
      refuse(
        'spec.password',
        'TCP MD5 signatures (RFC 2385) cannot be set from Node.js (no TCP_MD5SIG socket option)',
      );
    }
    if (p.ttlSecurity > 0) {
      refuse(
        'spec.ttlSecurity',
        'TTL security (GTSM, RFC 5082) needs the IP_MINTTL socket option, which Node.js cannot set',
      );
    }
    if (p.reachableBy !== '') {
      refuse(
        'spec.reachableBy',
        "BIRD's static route towards the peer cannot be expressed in tern's config yet (add it to the host yourself)",
        `${p.ip}/${this.family === 4 ? 32 : 128} via ${p.reachableBy} for ${peering}`,
      );
    }
    if (p.asNum === 0) {
      refuse('spec.asNumber', 'the peer needs an AS number (confd would write `as 0`, which BIRD refuses)');
    }
    const suffix = this.family === 4 ? 'V4' : 'V6';
    for (const f of p.filters) {
      const filter = this.res.bgpFilters.find((x) => x.name === f);
      if (!filter) {
        this.issues.warn(
          r,
          'spec.filters',
          `there is no BGPFilter named ${JSON.stringify(f)}: Calico leaves it out, and so does tern`,
        );
        continue;
      }
      if (filter.rules[`import${suffix}`] + filter.rules[`export${suffix}`] > 0) {
        refuse(
          'spec.filters',
          `BGPFilter ${f} has IPv${this.family} rules; tern's export filter is one for all peers and it has no ` +
            'per-peer import or export filters yet, so it cannot filter as BIRD would',
        );
      }
    }
  }
}

function familiesLast({ families, ...rest }: NativePeer): NativePeer {
  return { ...rest, families };
}

/** Two peers with one neighbor and port: BIRD would run two sessions, tern refuses (so does its validator). */
function checkDuplicates(peers: readonly { peer: NativePeer; from: Provenance }[], issues: Issues): void {
  const seen = new Map<string, { peer: NativePeer; from: Provenance }>();
  for (const p of peers) {
    const k = `${p.peer.address}|${p.peer.port ?? 179}`;
    const first = seen.get(k);
    if (!first) {
      seen.set(k, p);
      continue;
    }
    const r = p.from.resource?.startsWith('BGPPeer') ? p.from : first.from;
    issues.errors.push({
      ...(r.origin ? { origin: r.origin } : {}),
      ...(r.resource ? { resource: r.resource } : {}),
      path: 'spec',
      message:
        `${p.peer.name} and ${first.peer.name} are both sessions with ${p.peer.address} port ${p.peer.port ?? 179}: ` +
        'one neighbor, two sessions (disable the node-to-node mesh with nodeToNodeMeshEnabled: false when ' +
        'nodes peer through BGPPeers, or remove one of them)',
    });
  }
}

/** The prefixes this node announces: its blocks (bird_aggr's static routes) and the service ranges. */
function originate(
  cluster: Cluster,
  res: CalicoResources,
  self: CalicoNode,
  issues: Issues,
  provenance: Map<string, Provenance>,
): NativeOriginate[] {
  const global = cluster.global;
  const routes: { prefix: Prefix; from: Provenance; block?: true }[] = [];
  const poolOf = (p: Prefix): CalicoIpPool | undefined => res.ipPools.find((pool) => covers(pool.cidr, p));
  for (const b of res.blockAffinities) {
    if (b.node !== self.name || b.deleted || b.type !== 'host') continue;
    if (b.state === 'pending') continue; // confd treats a pending affinity as absent
    if (b.cidr.length === (b.cidr.family === 4 ? 32 : 128)) continue; // no static route for /32 blocks
    const pool = poolOf(b.cidr);
    if (pool?.disableBGPExport) continue; // rejected before calico_aggr()
    // a block being deleted has its blackhole route but no calico_aggr() rule: exported only inside a pool
    if (b.state === 'pendingDeletion' && !pool) continue;
    routes.push({ prefix: b.cidr, from: where(b, 'spec.cidr'), block: true });
  }
  routes.sort((a, b) => a.prefix.family - b.prefix.family || cmp(a.prefix.prefix, b.prefix.prefix));

  // service ranges (client.go updateGlobalRoutes): static blackhole routes on every node not excluded
  if (global) {
    const s = global.spec;
    const excluded = self.labels[SERVICE_EXCLUDE_LABEL] === 'true';
    const single = (p: Prefix): boolean => p.length === (p.family === 4 ? 32 : 128);
    const add = (list: readonly Prefix[], field: string, filter: (p: Prefix) => boolean): void => {
      list.forEach((p, i) => {
        if (!excluded && filter(p))
          routes.push({ prefix: p, from: where(global, `spec.${field}[${i}].cidr`) });
      });
    };
    add(s.serviceClusterIPs, 'serviceClusterIPs', () => true);
    add(s.serviceExternalIPs, 'serviceExternalIPs', (p) => !single(p));
    if (s.serviceLoadBalancerAggregation !== 'Disabled') {
      add(s.serviceLoadBalancerIPs, 'serviceLoadBalancerIPs', (p) => !single(p));
    }
    for (const field of ['serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs'] as const) {
      if (s[field].length === 0) continue;
      issues.warn(
        global,
        `spec.${field}`,
        "tern announces the configured ranges (as Calico's static blackhole routes); the /32 and /128 routes " +
          'Calico adds per Service (externalTrafficPolicy: Local, single addresses, ' +
          'serviceLoadBalancerAggregation: Disabled) come from the Kubernetes API, which tern does not read',
      );
    }
  }

  const out: NativeOriginate[] = [];
  const seen = new Set<string>();
  for (const r of routes) {
    if (seen.has(r.prefix.prefix)) continue;
    seen.add(r.prefix.prefix);
    const priority =
      (r.prefix.family === 4 ? global?.spec.ipv4NormalRoutePriority : global?.spec.ipv6NormalRoutePriority) ??
      DEFAULT_ROUTE_PRIORITY;
    provenance.set(`originate[${out.length}]`, r.from);
    out.push({
      prefix: r.prefix.prefix,
      // confd's export filter: bgp_local_pref = BirdIntMaxValue - krt_metric (the normal route priority)
      localPref: BIRD_INT_MAX - priority,
      // bird_aggr.cfg: a block is a static blackhole route that BIRD writes to the kernel too (service
      // ranges are blackholes in BIRD's static protocol but are not written: calico_kernel_programming)
      ...(r.block ? { blackhole: true } : {}),
    });
  }
  return out;
}

interface Advertisement {
  readonly prefix: Prefix;
  readonly communities: readonly string[];
}

/**
 * The communities Calico adds per prefix (processCommunityRules): the node's own prefixAdvertisements
 * (BGPConfiguration node.<name>), else the global ones; each community "aa:nn", or the name of one in
 * that resource's `communities`.
 */
function advertisements(cluster: Cluster, self: CalicoNode, issues: Issues): Advertisement[] {
  const global = cluster.global;
  const mine = cluster.perNode.get(self.name);
  const adsFrom = mine?.spec.prefixAdvertisements !== undefined ? mine : global;
  const ads: Advertisement[] = [];
  (adsFrom?.spec.prefixAdvertisements ?? []).forEach((ad, i) => {
    const path = `spec.prefixAdvertisements[${i}]`;
    const values = new Set<string>();
    ad.communities.forEach((c, j) => {
      const value = /^\d+:\d+(:\d+)?$/.test(c)
        ? c
        : adsFrom!.spec.communities.find((d) => d.name === c)?.value;
      if (value === undefined) {
        issues.warn(
          adsFrom,
          `${path}.communities[${j}]`,
          `there is no community named ${JSON.stringify(c)} in spec.communities: Calico leaves it out, and so does tern`,
        );
        return;
      }
      const parts = value.split(':').map(Number);
      if (parts.length === 3) {
        issues.error(
          adsFrom,
          `${path}.communities[${j}]`,
          `${value} is a large community (RFC 8092); tern's export filter adds RFC 1997 communities only, so it ` +
            'cannot add it as BIRD would',
        );
      } else if (parts[0]! > 65535 || parts[1]! > 65535) {
        issues.error(adsFrom, `${path}.communities[${j}]`, `${value}: each half of a community is 0..65535`);
      } else values.add(value);
    });
    if (values.size > 0) ads.push({ prefix: ad.cidr, communities: [...values].sort() });
  });
  return ads;
}

/**
 * Calico's export filter for BGP peers (bird_ipam.cfg calico_export_to_bgp_peers, bird_aggr.cfg
 * calico_aggr), in its order, as native export rules: every route sent to any peer passes it, whether
 * originated, learned from the kernel, reflected or passed on from another peer.
 *   1. reject_disabled_pools: nothing inside a pool with disableBGPExport;
 *   2. (iBGP: nothing on Felix's tunnel devices `*.cali`, `*.calico`: tern learns only host routes to
 *      `kernel.learn.interfaces` (cali*) and blocks, so no such route reaches the filter);
 *   3. apply_communities: the prefixAdvertisements' communities;
 *   4. calico_aggr: each confirmed block of this node (no state: confirmed), and nothing beneath it;
 *   5. the static routes (the service ranges, unless the node is excluded);
 *   6. anything inside a pool (without disableBGPExport);
 *   7. reject everything else: a default route or a foreign prefix from a ToR is not passed on.
 * (The route-reflector allowlist, /allowlist, holds per-Service routes from the Kubernetes API, which
 * tern does not read.)
 */
function exportFilter(
  cluster: Cluster,
  res: CalicoResources,
  self: CalicoNode,
  ads: readonly Advertisement[],
): NativeExportRule[] {
  const rules: NativeExportRule[] = [];
  for (const p of res.ipPools) {
    if (p.disableBGPExport) rules.push({ prefix: p.cidr.prefix, action: 'reject' });
  }
  for (const a of ads)
    rules.push({ prefix: a.prefix.prefix, action: 'addCommunities', communities: [...a.communities] });
  const blocks = res.blockAffinities
    .filter(
      (b) =>
        b.node === self.name &&
        !b.deleted &&
        b.type === 'host' &&
        (b.state === 'confirmed' || b.state === ''),
    )
    .map((b) => b.cidr)
    .sort((a, b) => a.family - b.family || cmp(a.prefix, b.prefix));
  for (const b of blocks) {
    rules.push({ prefix: b.prefix, match: 'exact', action: 'accept' });
    rules.push({ prefix: b.prefix, match: 'longer', action: 'reject' });
  }
  const global = cluster.global;
  if (global && self.labels[SERVICE_EXCLUDE_LABEL] !== 'true') {
    const s = global.spec;
    for (const p of [...s.serviceClusterIPs, ...s.serviceExternalIPs, ...s.serviceLoadBalancerIPs]) {
      rules.push({ prefix: p.prefix, action: 'accept' });
    }
  }
  for (const p of res.ipPools) {
    if (!p.disableBGPExport) rules.push({ prefix: p.cidr.prefix, action: 'accept' });
  }
  rules.push({ action: 'reject' });
  return rules;
}

function covers(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family) return false;
  const f = outer.family === 4 ? 'ipv4-unicast' : 'ipv6-unicast';
  return prefixCovers(
    { family: f, prefix: outer.prefix, length: outer.length },
    { family: f, prefix: inner.prefix, length: inner.length },
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function nativePool(p: CalicoIpPool, policy: ProgramClusterRoutes | undefined): NativePool {
  const vxlan = p.vxlanMode !== 'Never';
  const ipip = p.ipipMode !== 'Never';
  const mode = vxlan ? p.vxlanMode : p.ipipMode;
  const dflt = p.cidr.family === 4 ? 26 : 122;
  return {
    cidr: p.cidr.prefix,
    encapsulation: vxlan ? 'vxlan' : ipip ? 'ipip' : 'none',
    ...(mode === 'CrossSubnet' ? { crossSubnet: true } : {}),
    // a disabled pool may be smaller than a block (Calico allows it; no block is ever taken from it)
    blockSize: Math.max(p.blockSize === 0 ? dflt : p.blockSize, p.cidr.length),
    ...(p.disableBGPExport ? { disableBgpExport: true } : {}),
    // whose job the pool's routes to other nodes are (a vxlan pool's are always Felix's)
    ...(!vxlan && !birdProgramsPool(policy, p) ? { programRoutes: false } : {}),
  };
}

/** clusterRoutePolicyFromBGPConfig / programsPool: whose job a pool's routes to other nodes are. */
function birdProgramsPool(policy: ProgramClusterRoutes | undefined, p: CalicoIpPool): boolean {
  if (p.vxlanMode !== 'Never') return false;
  const v = policy ?? 'EnabledNoEncapOnly';
  if (p.ipipMode !== 'Never') return v === 'Enabled' || v === 'EnabledIPIPOnly';
  return v === 'Enabled' || v === 'EnabledNoEncapOnly';
}

/** What the kernel side of BIRD does that the native config cannot say yet. */
function kernelNotes(
  cluster: Cluster,
  res: CalicoResources,
  self: CalicoNode,
  issues: Issues,
  write: boolean,
): void {
  if (!write) return;
  const global = cluster.global;
  const wg = (n: CalicoNode): boolean => n.wireguard?.ipv4 !== undefined || n.wireguard?.ipv6 !== undefined;
  if (wg(self) && res.nodes.some((n) => n !== self && wg(n))) {
    issues.warn(
      self,
      'spec.wireguard',
      "Calico's BIRD writes no kernel routes via nodes that run WireGuard when this node does (Felix routes " +
        'through the WireGuard device); tern cannot leave them out yet',
    );
  }
  const priority = global?.spec.ipv4NormalRoutePriority ?? global?.spec.ipv6NormalRoutePriority;
  if (priority !== undefined && global) {
    issues.warn(
      global,
      global.spec.ipv4NormalRoutePriority !== undefined
        ? 'spec.ipv4NormalRoutePriority'
        : 'spec.ipv6NormalRoutePriority',
      "tern sets LOCAL_PREF from it as Calico's export filter does; the kernel metric of routes tern writes " +
        'does not follow LOCAL_PREF yet (BIRD: krt_metric = 2147483647 - LOCAL_PREF)',
    );
  }
}

/** BGPConfiguration fields whose effect is the same with tern, said once so none passes in silence. */
function bgpConfigurationNotes(global: CalicoBgpConfiguration | undefined, issues: Issues): void {
  if (!global) return;
  const s: BgpConfigurationSpec = global.spec;
  if (s.ignoredInterfaces.length > 0) {
    issues.warn(
      global,
      'spec.ignoredInterfaces',
      "it keeps interfaces out of BIRD's `protocol direct`; tern reads no interface (direct) routes at all, so " +
        'there is nothing to leave out',
    );
  }
  for (const f of ['localWorkloadPeeringIPV4', 'localWorkloadPeeringIPV6'] as const) {
    if (s[f] !== undefined) {
      issues.warn(
        global,
        `spec.${f}`,
        'used only by BGPPeers with localWorkloadSelector, which tern does not support: it changes nothing here',
      );
    }
  }
}

/** BGPPeers with localWorkloadSelector that apply to this node: refused. */
function localWorkloadRefusals(cluster: Cluster, node: string): CalicoIssue[] {
  const out: CalicoIssue[] = [];
  for (const r of cluster.resources.bgpPeers) {
    if (!r.spec.localWorkloadSelector) continue;
    const applies =
      r.spec.nodeSelector !== undefined
        ? cluster.nodesMatching(r.spec.nodeSelector).includes(node)
        : r.spec.node === undefined || r.spec.node === node;
    if (!applies) continue;
    out.push({
      origin: r.origin,
      resource: label(r),
      path: 'spec.localWorkloadSelector',
      message:
        'peering with local workloads (Local_Workload_ peers) needs the workload endpoints, which tern does not ' +
        'read; remove the BGPPeer, or keep BIRD on this node (tern does not silently ignore it)',
    });
  }
  return out;
}
