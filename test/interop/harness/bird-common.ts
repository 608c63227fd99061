// What BIRD 2 and BIRD 1.6 share: the export filter that announces our static routes, the session
// timer lines, and the parsers for `show route all` and `show protocols all` (both versions).
import {
  type AnnouncedRoute,
  type DaemonOptions,
  familyOf,
  parseCommunity,
  type RibRoute,
  timers,
} from './types.js';

/**
 * Export filter: our static routes (with their attributes) and everything learned over BGP; never
 * device/direct routes. RFC 8212: BIRD 2 needs an explicit filter on eBGP sessions.
 */
export function birdExportFilter(name: string, routes: AnnouncedRoute[]): string {
  const lines = [`filter ${name} {`, '  if source = RTS_STATIC then {'];
  for (const r of routes) {
    const sets: string[] = [];
    if (r.nextHop !== undefined) sets.push(`bgp_next_hop = ${r.nextHop};`);
    for (const c of r.communities ?? []) {
      const [a, b] = parseCommunity(c);
      sets.push(`bgp_community.add((${a},${b}));`);
    }
    if (r.med !== undefined) sets.push(`bgp_med = ${r.med};`);
    if (r.localPref !== undefined) sets.push(`bgp_local_pref = ${r.localPref};`);
    if (sets.length > 0) lines.push(`    if net = ${r.prefix} then { ${sets.join(' ')} }`);
  }
  lines.push('    accept;', '  }', '  if source = RTS_BGP then accept;', '  reject;', '}');
  return lines.join('\n');
}

/** Static routes to announce: blackholes (BIRD needs no reachable gateway; the filter sets next hops). */
export function birdStaticRoutes(routes: AnnouncedRoute[], family: 'ipv4' | 'ipv6'): string[] {
  return routes.filter((r) => familyOf(r.prefix) === family).map((r) => `  route ${r.prefix} blackhole;`);
}

/**
 * Timers: hold/keepalive/connect retry from the options; `connect delay` (default 5 s before the first
 * connect) and `error wait` (default 60-300 s before reconnecting after an error!) shortened so that
 * restarts in tests reconnect within seconds.
 */
export function birdSessionTimers(o: DaemonOptions): string[] {
  const t = timers(o);
  return [
    `hold time ${t.holdTime};`,
    `keepalive time ${t.keepalive};`,
    `connect retry time ${t.connectRetry};`,
    'connect delay time 1;',
    'error wait time 1, 5;',
    `graceful restart ${o.gracefulRestart === true ? 'on' : 'off'};`,
  ];
}

export interface BirdRouteLine {
  prefix: string;
  protocol: string;
  from?: string;
  best: boolean;
  via?: string;
  attrs: Map<string, string>;
}

/**
 * Parses `show route all` of BIRD 2 or 1.6. A line that does not start with a tab begins a path; it
 * starts with the prefix unless it is another path for the previous prefix (then it starts with spaces):
 *   BIRD 2:   `10.200.1.0/24        unicast [peer_x 01:29:11.943 from 10.77.1.2] * (100) [AS65002i]`
 *             `\tvia 10.77.1.2 on eth0`
 *   BIRD 1.6: `10.201.1.0/24      via 10.77.1.2 on eth0 [peer_x 01:29:21] * (100) [AS65002i]`
 * Attribute lines: `\tBGP.as_path: 65002 65003`.
 */
export function parseBirdRoutes(text: string): BirdRouteLine[] {
  const out: BirdRouteLine[] = [];
  let prefix = '';
  let cur: BirdRouteLine | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.length === 0 || /^BIRD .* ready\.$/.test(line) || /^Table \S+:$/.test(line)) continue;
    if (line.startsWith('\t')) {
      if (cur === undefined) continue;
      const body = line.slice(1);
      const via = /^via (\S+)/.exec(body);
      if (via !== null) {
        cur.via ??= via[1];
        continue;
      }
      const kv = /^([\w.]+):\s?(.*)$/.exec(body);
      if (kv !== null) cur.attrs.set(kv[1] as string, (kv[2] as string).trim());
      continue;
    }
    const bracket = /\[(\S+) [^\]]*?(?: from (\S+))?\]/.exec(line);
    if (bracket === null) continue;
    if (!/^\s/.test(line)) prefix = line.split(/\s+/)[0] as string;
    const head = line.slice(0, bracket.index);
    const via = /\bvia (\S+)/.exec(head);
    cur = {
      prefix,
      protocol: bracket[1] as string,
      best: /^\s*\*/.test(line.slice(bracket.index + bracket[0].length)),
      attrs: new Map(),
    };
    if (bracket[2] !== undefined) cur.from = bracket[2];
    if (via !== null) cur.via = via[1];
    out.push(cur);
  }
  return out;
}

export function birdRouteToRib(
  r: BirdRouteLine,
  peerOfProtocol: (protocol: string) => string | undefined,
): RibRoute {
  const a = r.attrs;
  const nextHop = (a.get('BGP.next_hop') ?? '').split(/\s+/)[0] || r.via || '';
  const route: RibRoute = {
    prefix: r.prefix,
    nextHop,
    asPath: (a.get('BGP.as_path') ?? '').match(/\d+/g)?.map(Number) ?? [],
    best: r.best,
  };
  const peer = r.from ?? peerOfProtocol(r.protocol);
  if (peer !== undefined) route.peer = peer;
  const lp = a.get('BGP.local_pref');
  if (lp !== undefined) route.localPref = Number(lp);
  const med = a.get('BGP.med');
  if (med !== undefined) route.med = Number(med);
  const comm = a.get('BGP.community');
  if (comm !== undefined) {
    route.communities = [...comm.matchAll(/\((\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
  }
  const orig = a.get('BGP.originator_id');
  if (orig !== undefined) route.originatorId = orig;
  const cl = a.get('BGP.cluster_list');
  if (cl !== undefined) route.clusterList = cl.split(/\s+/).filter((x) => x.length > 0);
  return route;
}

/** `show protocols all <name>` -> the BGP state ("Established", "Active", ...) or the protocol state. */
export function parseBirdBgpState(text: string, protocol: string): string {
  const m = /BGP state:\s+(\S+)/.exec(text);
  if (m !== null) return m[1] as string;
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === protocol && cols[1] === 'BGP')
      return cols[3] === 'up' ? 'Established' : `protocol ${cols[3]}`;
  }
  throw new Error(`no protocol ${protocol} in birdc output: ${text.slice(0, 300)}`);
}
