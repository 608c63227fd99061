// What the BIRD-compatible socket shows, as plain data, and its text in the layout of BIRD 1.6.8 (the
// BIRD of Calico; calicoctl and calico-node parse it): the protocol table (BIRD nest/proto.c
// proto_cmd_show; proto/bgp/bgp.c bgp_get_status, bgp_show_proto_info), routes (nest/rt-table.c
// rt_show_rte, nest/rt-attr.c ea_show; proto/bgp/attrs.c bgp_get_route_info), `show status` and
// `show memory` (nest/cmds.c). Pure: the time of day arrives as an argument.

import type { AsPathSegment } from '../../bgp/messages/attributes/types.js';
import { AsPathSegmentType } from '../../bgp/messages/iana.js';
import type { RouteAttributes } from '../../bgp/rib/adj-rib-in.js';
import { Code, type ReplyLine } from './reply.js';

/** A reply produced line by line (a long route list is written in slices); returns its last line. */
export type Reply = Generator<ReplyLine, ReplyLine, undefined>;

/** A reply known in full. */
export function* fixedReply(lines: readonly ReplyLine[], end: ReplyLine): Reply {
  yield* lines;
  return end;
}

export function errorReply(code: number, message: string): Reply {
  return fixedReply([], { code, text: message });
}

// ---- time ----

const two = (n: number): string => String(n).padStart(2, '0');

/** BIRD's "%F %T" in local time: 2026-12-02 14:29:59. */
export function dateTime(t: number): string {
  const d = new Date(t);
  return `${date(d)} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function date(d: Date): string {
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/**
 * BIRD 1.6's default time of protocols and routes (conf.c: `{"%T", "%F", 20*3600}`): the time of day
 * when less than 20 hours ago, the date otherwise. Always one word (Calico splits rows on spaces).
 */
export function shortTime(t: number, now: number): string {
  const d = new Date(t);
  if (now - t < 20 * 3600 * 1000) return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return date(d);
}

// ---- protocols ----

/** BIRD's protocol states (proto_state_name): tern's peers are `up` when Established, else `start`. */
export type ProtocolState = 'up' | 'start' | 'down';

export interface BgpSessionDetails {
  readonly neighborId: string;
  /** The peer's capabilities, BIRD's words: refresh, enhanced-refresh, restart-able, AS4, ... */
  readonly neighborCaps: readonly string[];
  /** internal|external, then route-reflector, AS4, add-path-rx, add-path-tx, ext-messages. */
  readonly session: readonly string[];
  readonly sourceAddress?: string;
  readonly holdTime: number;
  readonly keepaliveTime: number;
}

export interface BgpDetails {
  /** BIRD's BGP state words: Idle, Connect, Active, Passive, OpenSent, OpenConfirm, Established. */
  readonly state: string;
  /** In BIRD's words: `Socket: Connection refused`, `Received: Hold timer expired`... */
  readonly lastError?: string;
  readonly neighborAddress: string;
  readonly neighborAs: number;
  /** While Established. */
  readonly established?: BgpSessionDetails;
  /** The peer restarted and its routes are kept as stale (RFC 4724 receiving speaker). */
  readonly neighborRestarting?: boolean;
}

export interface BirdProtocol {
  readonly name: string;
  readonly proto: 'BGP' | 'Static';
  readonly state: ProtocolState;
  /** When the state last changed (ms since the epoch). */
  readonly since: number;
  readonly routes: { readonly imported: number; readonly exported: number; readonly preferred: number };
  /** BGP protocols only. */
  readonly bgp?: BgpDetails;
}

/** The heading BIRD 1.6 writes and calicoctl and calico-node require, word for word, in lower case. */
export const PROTOCOL_HEADING = 'name     proto    table    state  since       info';

/** The info column (bgp_get_status): the BGP state padded to 14, then the last error. */
export function protocolInfo(p: BirdProtocol): string {
  if (!p.bgp) return '';
  const err = p.bgp.lastError ?? '';
  return p.state === 'down' ? err : `${p.bgp.state.padEnd(14)}${err}`;
}

/** One row of the table: BIRD's "%-8s %-8s %-8s %-5s  %-10s  %s". */
export function protocolRow(p: BirdProtocol, now: number): string {
  return [
    p.name.padEnd(8),
    p.proto.padEnd(8),
    'master'.padEnd(8),
    `${p.state.padEnd(5)} `,
    `${shortTime(p.since, now).padEnd(10)} `,
    protocolInfo(p),
  ].join(' ');
}

/** The detail lines of `show protocols all` (code 1006), ending with an empty line as BIRD's do. */
export function protocolDetails(p: BirdProtocol): string[] {
  const out: string[] = [];
  if (p.state !== 'down') {
    const r = p.routes;
    out.push(`  Routes:         ${r.imported} imported, ${r.exported} exported, ${r.preferred} preferred`);
  }
  const b = p.bgp;
  if (b) {
    out.push(`  BGP state:          ${b.state}`);
    out.push(`    Neighbor address: ${b.neighborAddress}`);
    out.push(`    Neighbor AS:      ${b.neighborAs}`);
    if (b.neighborRestarting) out.push('    Neighbor graceful restart active');
    const e = b.established;
    if (e) {
      out.push(`    Neighbor ID:      ${e.neighborId}`);
      out.push(`    Neighbor caps:   ${e.neighborCaps.map((c) => ` ${c}`).join('')}`);
      out.push(`    Session:          ${e.session.join(' ')}`);
      if (e.sourceAddress !== undefined) out.push(`    Source address:   ${e.sourceAddress}`);
      out.push(`    Hold time:        ${e.holdTime}`);
      out.push(`    Keepalive time:   ${e.keepaliveTime}`);
    }
    if (b.lastError !== undefined) out.push(`    Last error:       ${b.lastError}`);
  }
  out.push('');
  return out;
}

/** `show protocols [all]`: the heading, a row per protocol (and its details), `0000`. */
export function protocolsReply(protocols: readonly BirdProtocol[], verbose: boolean, now: number): Reply {
  if (protocols.length === 0) return errorReply(Code.NO_PROTOCOLS_MATCH, 'No protocols match');
  const lines: ReplyLine[] = [{ code: Code.PROTOCOL_HEADING, text: PROTOCOL_HEADING }];
  for (const p of protocols) {
    lines.push({ code: Code.PROTOCOL_LIST, text: protocolRow(p, now) });
    if (verbose) for (const text of protocolDetails(p)) lines.push({ code: Code.PROTOCOL_DETAILS, text });
  }
  return fixedReply(lines, { code: Code.OK, text: '' });
}

// ---- BGP errors in BIRD's words ----

/** strerror() of the errno codes a connect reports. */
const STRERROR: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EPIPE: 'Broken pipe',
  EINVAL: 'Invalid argument',
};

/** Subcodes that add nothing to the code's name. */
const UNSPECIFIC = new Set(['Unspecific', 'Unspecified Error']);

/**
 * The last error of a session (tern's `lastError`, the text `tern show neighbors` reports) in BIRD's
 * classes (bgp_err_classes): `Socket: ` for TCP, `Received: ` for a NOTIFICATION received, `BGP Error: `
 * for one sent, `Error: ` for the rest.
 */
export function birdError(lastError: string): string {
  const tcp = /^TCP connection failed: (.*)$/s.exec(lastError);
  if (tcp) {
    const what = tcp[1]!;
    if (what === 'connection closed') return 'Socket: Connection closed';
    const errno = /\b(E[A-Z]+)\b/.exec(what)?.[1];
    if (errno !== undefined) return `Socket: ${STRERROR[errno] ?? errno}`;
    return `Socket: ${what.replace(/^connect: /, '')}`;
  }
  const received = /^received NOTIFICATION ([^/]+?) \/ ([^:]+?)(?:: .*)?$/s.exec(lastError);
  if (received) {
    const [, code, subcode] = received;
    return `Received: ${UNSPECIFIC.has(subcode!) || subcode!.startsWith('Unknown') ? code : subcode}`;
  }
  const sent = /^(?:manual stop, )?sent NOTIFICATION (.*)$/s.exec(lastError);
  if (sent) return `BGP Error: ${sent[1]}`;
  return `Error: ${lastError}`;
}

// ---- routes ----

export interface BirdRoute {
  /** The protocol it came from: a peer name, or `static1` for tern's own routes. */
  readonly protocol: string;
  readonly kind: 'bgp' | 'static';
  /** The best route of its prefix (BIRD's `*`). */
  readonly primary: boolean;
  /** Its next hop is usable (BIRD shows a recursive next hop it cannot resolve as `unreachable`). */
  readonly reachable: boolean;
  /** When it arrived, as far as tern knows: the time its session came up (ms since the epoch). */
  readonly since: number;
  /** The peer's address (BIRD's `from`), shown when it is not the next hop. */
  readonly from?: string;
  /** Kept from a restarting peer (RFC 4724). */
  readonly stale?: boolean;
  readonly attributes: RouteAttributes;
}

/** One prefix of the table: its routes, the best first. */
export interface BirdNet {
  readonly prefix: string;
  readonly routes: readonly BirdRoute[];
}

/** BIRD's preference of routes: 100 for BGP, 200 for static (DEF_PREF_BGP, DEF_PREF_STATIC). */
const PREFERENCE = { bgp: 100, static: 200 } as const;

/** The route line (rt_show_rte): "%-18s %s [%s %s%s]%s%s", prefix, via, protocol, time, from, *, info. */
export function routeLine(prefix: string, r: BirdRoute, now: number): string {
  const via = r.kind === 'static' ? 'blackhole' : r.reachable ? `via ${r.attributes.nextHop}` : 'unreachable';
  const from = r.from !== undefined && r.from !== r.attributes.nextHop ? ` from ${r.from}` : '';
  const star = r.primary ? ' *' : '';
  return `${prefix.padEnd(18)} ${via} [${r.protocol} ${shortTime(r.since, now)}${from}]${star}${routeInfo(r)}`;
}

/** bgp_get_route_info: " (100/?) [AS64513i]"; static: " (200)". */
function routeInfo(r: BirdRoute): string {
  if (r.kind === 'static') return ` (${PREFERENCE.static})`;
  const a = r.attributes;
  // the IGP metric of the next hop is not known to tern: "?" (BIRD: "-" when it cannot resolve it)
  const pref = `${PREFERENCE.bgp}${r.stale ? 's' : ''}/${r.reachable ? '?' : '-'}`;
  const last = lastAs(a.asPath);
  const origin = a.origin === undefined ? '' : ('ie?'[a.origin] ?? '?');
  return ` (${pref}) [${last === undefined ? '' : `AS${last}`}${origin}]`;
}

/** The origin AS: the last AS of the last AS_SEQUENCE segment (as_path_get_last). */
function lastAs(path: readonly AsPathSegment[] | undefined): number | undefined {
  const seg = path?.[path.length - 1];
  if (!seg || seg.type !== AsPathSegmentType.AS_SEQUENCE) return undefined;
  return seg.asns[seg.asns.length - 1];
}

const ORIGIN_TEXT = ['IGP', 'EGP', 'Incomplete'] as const;

/** `show route all`: the Type line (1008) and the attribute lines (1012), BIRD's names and forms. */
export function routeAttributeLines(r: BirdRoute): ReplyLine[] {
  const out: ReplyLine[] = [
    { code: Code.ROUTE_DETAILS, text: `\tType: ${r.kind === 'bgp' ? 'BGP' : 'static'} unicast univ` },
  ];
  const a = r.attributes;
  const attr = (name: string, value: string): void => {
    out.push({ code: Code.ROUTE_ATTRIBUTES, text: `\tBGP.${name}: ${value}` });
  };
  if (r.kind === 'bgp') {
    // tern's own routes get origin, AS path and next hop only on export, as BIRD's statics do
    if (a.origin !== undefined) attr('origin', ORIGIN_TEXT[a.origin] ?? String(a.origin));
    if (a.asPath !== undefined) attr('as_path', formatAsPath(a.asPath));
    attr('next_hop', a.linkLocalNextHop === undefined ? a.nextHop : `${a.nextHop} ${a.linkLocalNextHop}`);
  }
  if (a.med !== undefined) attr('med', String(a.med));
  if (a.localPref !== undefined) attr('local_pref', String(a.localPref));
  if (a.atomicAggregate) attr('atomic_aggr', '');
  if (a.aggregator !== undefined) attr('aggregator', `${a.aggregator.address} AS${a.aggregator.as}`);
  if (a.communities !== undefined && a.communities.length > 0) {
    attr('community', a.communities.map((c) => `(${c >>> 16},${c & 0xffff})`).join(' '));
  }
  if (a.originatorId !== undefined) attr('originator_id', a.originatorId);
  if (a.clusterList !== undefined && a.clusterList.length > 0) attr('cluster_list', a.clusterList.join(' '));
  if (a.extendedCommunities !== undefined && a.extendedCommunities.length > 0) {
    attr('ext_community', a.extendedCommunities.map(formatExtendedCommunity).join(' '));
  }
  if (a.largeCommunities !== undefined && a.largeCommunities.length > 0) {
    attr(
      'large_community',
      a.largeCommunities.map((c) => `(${c.globalAdmin}, ${c.localData1}, ${c.localData2})`).join(' '),
    );
  }
  for (const u of a.unknown ?? []) {
    attr(
      u.code.toString(16).padStart(2, '0'),
      [...u.value].map((b) => b.toString(16).padStart(2, '0')).join(':'),
    );
  }
  return out;
}

/** as_path_format: ASNs separated by spaces, an AS_SET in braces: "64513 { 1 2 }". */
export function formatAsPath(path: readonly AsPathSegment[]): string {
  const parts: string[] = [];
  for (const seg of path) {
    const set = seg.type === AsPathSegmentType.AS_SET || seg.type === AsPathSegmentType.AS_CONFED_SET;
    if (set) parts.push('{', ...seg.asns.map(String), '}');
    else parts.push(...seg.asns.map(String));
  }
  return parts.join(' ');
}

/** ec_format: (rt, 64512, 1), (ro, 10.0.0.1, 5), else (generic, 0x..., 0x...). */
export function formatExtendedCommunity(ec: bigint): string {
  const type = Number(ec >> 48n);
  const high = type >> 8;
  const kind =
    (type & 0xf0ff) === 0x0002 ? 'rt' : (type & 0xf0ff) === 0x0003 ? 'ro' : `unknown 0x${type.toString(16)}`;
  const low32 = Number(ec & 0xffffffffn);
  switch (high) {
    case 0x00:
    case 0x40:
      return `(${kind}, ${Number((ec >> 32n) & 0xffffn)}, ${low32})`;
    case 0x01:
    case 0x41: {
      const ip = Number((ec >> 16n) & 0xffffffffn);
      const dotted = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
      return `(${kind}, ${dotted}, ${Number(ec & 0xffffn)})`;
    }
    case 0x02:
    case 0x42:
      return `(${kind}, ${Number((ec >> 16n) & 0xffffffffn)}, ${Number(ec & 0xffffn)})`;
    default:
      return `(generic, 0x${Number((ec >> 32n) & 0xffffffffn).toString(16)}, 0x${low32.toString(16)})`;
  }
}

export interface RouteListOptions {
  readonly protocol?: string;
  readonly all: boolean;
  readonly primary: boolean;
  readonly count: boolean;
  /** The list is one prefix's (`show route <prefix>` / `for`): nothing found is 8001. */
  readonly single: boolean;
}

/**
 * `show route ...` over `nets` (rt_show_net, rt_show_cont): each prefix's routes, the prefix written on
 * its first line only; `count`: only `0014 N of M routes for K networks`.
 */
export function* routesReply(nets: Iterable<BirdNet>, o: RouteListOptions, now: number): Reply {
  let shown = 0;
  let seen = 0;
  let networks = 0;
  for (const net of nets) {
    let first = true;
    let prefix = net.prefix;
    for (const r of net.routes) {
      seen++;
      if (first) networks++;
      first = false;
      if (o.protocol === undefined || r.protocol === o.protocol) {
        shown++;
        if (!o.count) {
          yield { code: Code.ROUTE_LIST, text: routeLine(prefix, r, now) };
          if (o.all) yield* routeAttributeLines(r);
          prefix = '';
        }
      }
      if (o.primary) break;
    }
  }
  if (o.count) return { code: Code.ROUTE_COUNT, text: `${shown} of ${seen} routes for ${networks} networks` };
  if (o.single && seen === 0) return { code: Code.ROUTE_NOT_FOUND, text: 'Network not in table' };
  return { code: Code.OK, text: '' };
}

// ---- status and memory ----

export interface BirdStatus {
  readonly version: string;
  readonly routerId: string;
  readonly now: number;
  readonly bootTime: number;
  readonly configuredAt: number;
  /** tern restarted gracefully and waits for its peers' End-of-RIB before it sends routes. */
  readonly gracefulRestart: boolean;
  readonly reconfiguring: boolean;
}

/** cmd_show_status; the graceful-restart block is the `0024` lines calico-node's readiness looks for. */
export function statusReply(s: BirdStatus): Reply {
  const lines: ReplyLine[] = [
    { code: Code.VERSION, text: `BIRD ${s.version}` },
    { code: Code.UPTIME, text: `Router ID is ${s.routerId}` },
    { code: Code.UPTIME, text: `Current server time is ${dateTime(s.now)}` },
    { code: Code.UPTIME, text: `Last reboot on ${dateTime(s.bootTime)}` },
    { code: Code.UPTIME, text: `Last reconfiguration on ${dateTime(s.configuredAt)}` },
  ];
  if (s.gracefulRestart) {
    lines.push(
      { code: Code.GRACEFUL_RESTART_STATUS, text: 'Graceful restart recovery in progress' },
      { code: Code.GRACEFUL_RESTART_STATUS, text: "  Waiting for the peers' End-of-RIB" },
    );
  }
  const end = s.reconfiguring ? 'Reconfiguration in progress' : 'Daemon is up and running';
  return fixedReply(lines, { code: Code.STATUS, text: end });
}

export interface BirdMemory {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly rss: number;
}

/** print_size: "%-17s %4u %cB", kB/MB/GB once the value reaches 10000. */
export function memorySize(label: string, bytes: number): string {
  const units = ' kMG';
  let v = bytes;
  let i = 0;
  while (v >= 10000 && i < 3) {
    v = Math.floor((v + 512) / 1024);
    i++;
  }
  return `${label.padEnd(17)} ${String(v).padStart(4)} ${units[i]}B`;
}

/** cmd_show_memory, with Node's figures (tern has no per-table pools to measure). */
export function memoryReply(m: BirdMemory): Reply {
  return fixedReply(
    [
      { code: Code.MEMORY, text: 'BIRD memory usage' },
      { code: Code.MEMORY, text: memorySize('JS heap used:', m.heapUsed) },
      { code: Code.MEMORY, text: memorySize('JS heap total:', m.heapTotal) },
      { code: Code.MEMORY, text: memorySize('External:', m.external) },
      { code: Code.MEMORY, text: memorySize('Total:', m.rss) },
    ],
    { code: Code.OK, text: '' },
  );
}
