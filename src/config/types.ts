// The resolved configuration the daemon runs on: defaults applied, every per-peer setting filled in (so the
// speaker never looks at the globals), addresses and prefixes canonical, everything frozen.
// The file format it comes from is declared in schema.ts (`ConfigDocument`, inferred from the schema, which
// takes its enumerations from here and gives PoolConfig and the families lists in these types) and
// described field by field in docs/config.md; validate.ts builds a TernConfig from it.

export type { ConfigDocument } from './schema.js';

export type FamilyName = 'ipv4-unicast' | 'ipv6-unicast';
export type AddPathMode = 'off' | 'receive' | 'send' | 'both';
export type NextHopMode = 'auto' | 'self' | 'keep';
export const NEXT_HOP_MODES: readonly NextHopMode[] = ['auto', 'self', 'keep'];
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Families in their canonical order; resolved `families` lists follow it. */
export const FAMILY_NAMES: readonly FamilyName[] = ['ipv4-unicast', 'ipv6-unicast'];
export const ADD_PATH_MODES: readonly AddPathMode[] = ['off', 'receive', 'send', 'both'];
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];
export type Encapsulation = 'none' | 'ipip' | 'vxlan';
export const ENCAPSULATIONS: readonly Encapsulation[] = ['none', 'ipip', 'vxlan'];

/** A prefix tern announces. */
export interface OriginateRoute {
  /** Canonical text: "10.244.1.0/26", "fd00:10:244:1::/122" (RFC 5952). */
  readonly prefix: string;
  readonly family: FamilyName;
  /** RFC 1997 communities as uint32 (high 16 bits the AS), in the order given. */
  readonly communities: readonly number[];
  readonly localPref?: number;
  readonly med?: number;
  /**
   * Also written to the kernel as a blackhole route (with `kernel.write`), as BIRD's static
   * `route <block> blackhole` in Calico: traffic to unused addresses of a local block stops here.
   */
  readonly blackhole?: boolean;
}

export type ExportMatch = 'orLonger' | 'exact' | 'longer';
export const EXPORT_MATCHES: readonly ExportMatch[] = ['orLonger', 'exact', 'longer'];
export type ExportAction = 'accept' | 'reject' | 'addCommunities';
export const EXPORT_ACTIONS: readonly ExportAction[] = ['accept', 'reject', 'addCommunities'];

/**
 * One rule of the export filter, which every route sent to a BGP peer passes (originated, learned and
 * reflected alike), as BIRD's `export filter` does. Rules are tried in order: the first `accept` or
 * `reject` whose prefix matches decides; `addCommunities` adds its communities and goes on. A route
 * that no deciding rule matches is sent.
 */
export interface ExportRule {
  /** Canonical prefix text; absent: every prefix of both families. */
  readonly prefix?: string;
  readonly family?: FamilyName;
  /** `orLonger`: the prefix and everything inside it (BIRD's `net ~ p`); `exact`: `net = p`; `longer`: inside only. */
  readonly match: ExportMatch;
  readonly action: ExportAction;
  /** RFC 1997 communities as uint32 (`addCommunities` only). */
  readonly communities: readonly number[];
}

/** A Calico IP pool: where pod addresses come from, and how traffic to them crosses between nodes. */
export interface PoolConfig {
  /** Canonical prefix text. */
  readonly cidr: string;
  readonly family: FamilyName;
  /** `ipip`: routes to other nodes' blocks go `via <node> dev tunl0 onlink`; `vxlan`: Felix owns them. */
  readonly encapsulation: Encapsulation;
  /** Calico's CrossSubnet mode: encapsulate only towards nodes outside this node's subnet. */
  readonly crossSubnet: boolean;
  /** Prefix length of the pool's IPAM blocks (Calico default 26 for IPv4, 122 for IPv6). */
  readonly blockSize: number;
  /** Calico's `disableBGPExport`: nothing inside the pool is learned from the kernel or announced. */
  readonly disableBgpExport: boolean;
  /**
   * Whether tern writes the routes to other nodes' blocks in this pool (kernel.write), or leaves them
   * to Felix (Calico's programClusterRoutes). Default: true, false for vxlan (always Felix's).
   */
  readonly programRoutes: boolean;
}

/** What tern learns from the kernel (kernel -> BGP); only inside `pools`. */
export interface KernelLearnConfig {
  /** Blackhole/unreachable/prohibit routes (IPAM blocks, any protocol). */
  readonly blocks: boolean;
  /** /32 and /128 routes to `interfaces` (pods), unless inside a local block. */
  readonly hostRoutes: boolean;
  /** Interface name patterns (`*`, `?`), default `cali*`. */
  readonly interfaces: readonly string[];
}

/** Kernel sync: the routing table tern follows, learns from and writes to. */
export interface KernelConfig {
  /** Kernel table number (254: main). */
  readonly table: number;
  /** Seconds between full reads of the table, the safety net behind `ip monitor` (0: never). */
  readonly scanTime: number;
  /** null: learn nothing. */
  readonly learn: KernelLearnConfig | null;
  /** Whether tern writes routes (BGP -> kernel). */
  readonly write: boolean;
  /** The protocol number of the routes tern writes (RTPROT_*; 12 = `bird`, as Calico's BIRD). */
  readonly protocol: number;
}

export interface GracefulRestartConfig {
  readonly enabled: boolean;
  /** Seconds, 1..4095 (the 12-bit Restart Time of RFC 4724). */
  readonly restartTime: number;
}

export interface PeerConfig {
  /** [A-Za-z0-9_]+, unique; the protocol name in `show protocols` (Calico: Mesh_10_0_0_2). */
  readonly name: string;
  /** Canonical: dotted quad or RFC 5952. */
  readonly address: string;
  readonly port: number;
  /** The peer's AS. */
  readonly asn: number;
  /** The BGP Identifier sent in OPEN (the global routerId); here so that a change resets the session. */
  readonly routerId: string;
  /** Source address of the TCP connection; same family as `address`. */
  readonly localAddress?: string;
  /** The AS tern presents to this peer (peer `localAsn`, else the global `asn`). */
  readonly localAsn: number;
  readonly passive: boolean;
  /** Seconds; 0 (no keepalives, no hold timer) or 3..65535. */
  readonly holdTime: number;
  /** Seconds; absent: one third of the negotiated hold time. */
  readonly keepaliveTime?: number;
  readonly connectRetryTime: number;
  /** Idle hold time after an error: starts at [0], doubles on each further error, capped at [1]. */
  readonly errorWaitTime: readonly [number, number];
  /** Non-empty, canonical order, no duplicates. */
  readonly families: readonly FamilyName[];
  readonly addPath: AddPathMode;
  readonly extendedMessage: boolean;
  readonly gracefulRestart: GracefulRestartConfig;
  /** RFC 4456: this iBGP peer is a route-reflector client of ours. */
  readonly rrClient: boolean;
  /**
   * Routes from this eBGP peer whose AS_PATH holds our AS (`localAsn`) up to this many times are
   * accepted (BIRD's `allow local as N`, Calico's numAllowedLocalASNumbers); 0: any is a loop (RFC 4271).
   */
  readonly allowOwnAs: number;
  /** ADD-PATH send: at most this many paths per prefix, best first (null: all). */
  readonly addPathLimit: number | null;
  /**
   * Most routes accepted from the peer per family: beyond it the session ends with Cease 6/1 (RFC 4486)
   * and restarts after `restartTime` seconds. null: no limit.
   */
  readonly maxPrefixes: { readonly limit: number; readonly restartTime: number } | null;
  /** Next hop of routes sent to it: auto = self on eBGP, unchanged on iBGP (BIRD's default). */
  readonly nextHopSelf: NextHopMode;
  /** asn === localAsn */
  readonly ibgp: boolean;
}

export interface TernConfig {
  readonly routerId: string;
  readonly asn: number;
  /** null: do not listen (outgoing connections only). */
  readonly listen: { readonly address: string; readonly port: number } | null;
  /**
   * The control socket (`tern show`): its path and, when given, the group that owns it (name or gid);
   * optionally BIRD-compatible sockets (`birdc`, calicoctl, Calico's health checks) for the IPv4 peers
   * and routes (`birdSocket`, BIRD's bird.ctl) and the IPv6 ones (`bird6Socket`, bird6.ctl).
   */
  readonly control: {
    readonly socket: string;
    readonly group?: string | number;
    readonly birdSocket?: string;
    readonly bird6Socket?: string;
  };
  readonly log: { readonly level: LogLevel };
  /** The Prometheus endpoint (`GET /metrics`, docs/metrics.md); null: off (the default). */
  readonly metrics: { readonly address: string; readonly port: number } | null;
  /** Next hop for originated routes of a family when the session's own local address is of the other. */
  readonly nextHop: { readonly ipv4?: string; readonly ipv6?: string };
  readonly originate: readonly OriginateRoute[];
  /** What may be sent to peers, and the communities added on the way (empty: everything, unchanged). */
  readonly exportFilter: readonly ExportRule[];
  /**
   * ECMP: routes equal to the best down to the router-id step are installed together (BIRD's `merge
   * paths`, on in Calico's kernel protocol). Shown by `show routes --all`; used by the kernel writer.
   */
  readonly multipath: boolean;
  /**
   * `kernel`: a route is eligible only if the kernel has a route to its next hop (BIRD's `gateway
   * recursive`); `none`: every next hop that could be a gateway is taken as reachable.
   */
  readonly nextHopResolution: 'kernel' | 'none';
  /** RFC 4456: set when tern reflects routes between its iBGP peers (clients marked rrClient). */
  readonly reflector: { readonly clusterId: string } | null;
  /** Calico IP pools: the learning rules and (later) the encapsulation of written routes follow them. */
  readonly pools: readonly PoolConfig[];
  readonly kernel: KernelConfig;
  readonly peers: readonly PeerConfig[];
}

export const DEFAULTS = {
  asn: 64512,
  listenAddress: '0.0.0.0',
  port: 179,
  holdTime: 90,
  connectRetryTime: 5,
  errorWaitTime: [5, 30] as readonly [number, number],
  families: FAMILY_NAMES,
  addPath: 'off' as AddPathMode,
  extendedMessage: true,
  gracefulRestart: { enabled: true, restartTime: 120 } as GracefulRestartConfig,
  controlSocket: '/var/run/tern/tern.ctl',
  logLevel: 'info' as LogLevel,
  /** `metrics: true` (or a mapping without these fields): loopback only, the port given to tern. */
  metricsAddress: '127.0.0.1',
  metricsPort: 9473,
  kernel: {
    table: 254,
    scanTime: 30,
    learn: { blocks: true, hostRoutes: true, interfaces: ['cali*'] },
    write: false,
    protocol: 12,
  } as KernelConfig,
} as const;

/**
 * Identifies a peer across reloads: address and port, and the local address when one is set (two
 * sessions with one neighbor from two local addresses are two peers): "10.0.0.2:179",
 * "[fd00::2]:179", "10.0.0.2:179 from 10.0.0.11".
 */
export function peerKey(p: Pick<PeerConfig, 'address' | 'port' | 'localAddress'>): string {
  const endpoint = formatEndpoint(p.address, p.port);
  return p.localAddress === undefined ? endpoint : `${endpoint} from ${p.localAddress}`;
}

/** "10.0.0.2:179", "[fd00::2]:179". */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * True when every setting of the two peers is the same (deep equality). On reload, a peer whose settings
 * are the same keeps its session; any difference resets it.
 */
export function samePeerSettings(a: PeerConfig, b: PeerConfig): boolean {
  return deepEqual(a, b);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
