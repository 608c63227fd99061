// The shapes every daemon wrapper shares: typed options in, parsed CLI data out.
import { isIPv6 } from 'node:net';
import type { Netns } from './netns.js';

export type Family = 'ipv4' | 'ipv6';

export interface NeighborOptions {
  address: string;
  as: number;
  /** Wait for the peer to connect, never connect out. */
  passive?: boolean;
  /** The peer's TCP port to connect to (default 179). */
  port?: number;
  /** ADD-PATH (RFC 7911): true = send and receive. */
  addPath?: boolean | 'rx' | 'tx';
  /** Route-reflector client (iBGP only); the cluster id is the daemon's `clusterId` or router id. */
  rrClient?: boolean;
  /** Source address for the session. */
  localAddress?: string;
  /** Families carried on the session; default: the neighbor address's own family. */
  families?: Family[];
  /** Protocol/peer name in the daemon's config; default derived from the address. */
  name?: string;
  /** Extra config lines for this neighbor, in the daemon's own syntax (escape hatch). */
  extra?: string[];
}

export interface AnnouncedRoute {
  /** `10.100.1.0/24` or `fd00:100:1::/48`. */
  prefix: string;
  /** Next hop to announce; default: the daemon's own (next-hop-self). Keep it outside 127/8. */
  nextHop?: string;
  /** `65000:1` style. */
  communities?: string[];
  med?: number;
  /** Only meaningful towards iBGP peers. */
  localPref?: number;
}

export interface DaemonOptions {
  /** Unique name within the harness (directory, log file names, messages). */
  name: string;
  routerId: string;
  localAs: number;
  neighbors: NeighborOptions[];
  routes?: AnnouncedRoute[];
  /** Seconds; defaults 9 / 3 / 1 so that sessions converge fast in tests. */
  holdTime?: number;
  keepalive?: number;
  connectRetry?: number;
  /** Default false, so that restarts in tests are plain withdraws unless a test asks for GR. */
  gracefulRestart?: boolean;
  /** Route-reflector cluster id (dotted quad); default the router id. */
  clusterId?: string;
  /** TCP port to listen on (default 179; each daemon normally has its own namespace). */
  listenPort?: number;
  /** Extra global config, in the daemon's own syntax (escape hatch). */
  extraConfig?: string[];
  /** Extra command-line arguments (e.g. BIRD's `-R`: start in graceful-restart recovery). */
  args?: string[];
}

/** One path as the daemon's CLI shows it. */
export interface RibRoute {
  prefix: string;
  /** First (global) next hop; `0.0.0.0`/`::` or '' for routes the daemon originates itself. */
  nextHop: string;
  /** AS numbers in order (AS_SET members flattened in place); [] for local/iBGP-originated. */
  asPath: number[];
  localPref?: number;
  med?: number;
  /** `65000:1` style, as the daemon lists them. */
  communities?: string[];
  originatorId?: string;
  clusterList?: string[];
  /** The daemon selected this path as best. */
  best: boolean;
  /** Neighbor address the path was learned from; undefined for local routes. */
  peer?: string;
}

export type DaemonKind = 'bird2' | 'bird1' | 'gobgp' | 'frr' | 'exabgp';

/** What every daemon wrapper offers. */
export interface BgpDaemon {
  readonly kind: DaemonKind;
  readonly name: string;
  readonly ns: Netns;
  /** Directory with its config, sockets, PID file and logs. */
  readonly dir: string;
  /** PIDs of its processes (BIRD 1.6 may run bird and bird6). */
  readonly pids: number[];
  /** Version string the daemon reported at start. */
  readonly version: string;
  /** BGP FSM state of the session to `address`: 'Established', 'Active', 'Connect', 'Idle', ... */
  neighborState(address: string): Promise<string>;
  /** Every path in the daemon's table for `family` (BGP-learned and its own announced routes). */
  routes(family: Family): Promise<RibRoute[]>;
  /** Starts announcing more routes (runtime change through the daemon's CLI or a reload). */
  announce(routes: AnnouncedRoute[]): Promise<void>;
  /** Stops announcing these prefixes. */
  withdraw(prefixes: string[]): Promise<void>;
  /** SIGTERM, then SIGKILL after a bound; idempotent. */
  stop(): Promise<void>;
  /** Signals every process of the daemon (SIGSTOP/SIGCONT for hold-timer tests, SIGKILL for crashes). */
  kill(signal: NodeJS.Signals): void;
  /** stdout + stderr so far. */
  log(): string;
}

export function familyOf(address: string): Family {
  return isIPv6(address.split('/')[0] ?? '') ? 'ipv6' : 'ipv4';
}

export function neighborFamilies(n: NeighborOptions): Family[] {
  return n.families ?? [familyOf(n.address)];
}

/** A config-safe identifier for a neighbor: `peer_10_77_1_2`, `peer_fd77_1__2`. */
export function peerName(n: NeighborOptions): string {
  return n.name ?? `peer_${n.address.replace(/[.:]/g, '_')}`;
}

export const DEFAULT_TIMERS = { holdTime: 9, keepalive: 3, connectRetry: 1 } as const;

export function timers(o: DaemonOptions): { holdTime: number; keepalive: number; connectRetry: number } {
  return {
    holdTime: o.holdTime ?? DEFAULT_TIMERS.holdTime,
    keepalive: o.keepalive ?? DEFAULT_TIMERS.keepalive,
    connectRetry: o.connectRetry ?? DEFAULT_TIMERS.connectRetry,
  };
}

/** `65000:1` -> [65000, 1], or an error naming the bad value. */
export function parseCommunity(c: string): [number, number] {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(c);
  if (m === null) throw new Error(`bad community ${JSON.stringify(c)} (want ASN:VALUE)`);
  return [Number(m[1]), Number(m[2])];
}

/** Narrowing helpers for JSON from CLIs (no `any`). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function isObj(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function field(v: unknown, key: string): Json | undefined {
  return isObj(v) ? v[key] : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
}

export function arr(v: unknown): Json[] {
  return Array.isArray(v) ? v : [];
}

export function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new Error(`${what}: not JSON: ${text.slice(0, 500)}`);
  }
}
