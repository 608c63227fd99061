// What the BIRD-compatible socket shows, read from the running Speaker (the same objects the JSON socket's
// views.ts reads): its peers as BGP protocols, its own routes as the static protocol `static1`, and the
// Loc-RIB as BIRD's master table. One socket shows one address family, as Calico's two daemons do: the
// `bird` socket the peers with an IPv4 address and the IPv4 routes, the `bird6` socket the IPv6 ones.

import type { Capability } from '../../bgp/messages/capabilities/index.js';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../bgp/messages/iana.js';
import {
  formatIpv4Key,
  formatIpv6Key,
  ipv4KeyAddr,
  ipv4KeyLen,
  ipv4Mask,
  ipv6KeyBytes,
  ipv6KeyFromBytes,
  ipv6KeyLen,
} from '../../bgp/messages/prefix.js';
import { LOCAL_PEER_ID, type Route, samePathOf } from '../../bgp/rib/types.js';
import type { Peer } from '../../speaker/peer.js';
import type { Speaker } from '../../speaker/speaker.js';
import type { RoutePrefix } from './commands.js';
import {
  type BgpDetails,
  type BirdMemory,
  type BirdNet,
  type BirdProtocol,
  type BirdRoute,
  type BirdStatus,
  birdError,
} from './format.js';

export type BirdFamily = 'ipv4' | 'ipv6';

/** The protocol that stands for tern's own (originated) routes, as Calico's BIRD names its statics. */
export const STATIC_PROTOCOL = 'static1';

/** What the socket's answers are built from. */
export interface BirdSource {
  /** Every protocol in order; `counts`: with their route counts (a walk over the table). */
  protocols(counts: boolean): BirdProtocol[];
  /** Whether `name` is a protocol (of either family: `show route protocol` accepts any). */
  isProtocol(name: string): boolean;
  /** The table's prefixes, in address order, or the one that `prefix` selects (none: empty). */
  nets(prefix?: RoutePrefix): Iterable<BirdNet>;
  status(now: number): BirdStatus;
  memory(): BirdMemory;
}

export interface SpeakerSourceOptions {
  readonly family: BirdFamily;
  /** The version after "BIRD " in the greeting and `show status`. */
  readonly version: string;
  /** When the configuration was last loaded (ms since the epoch); default: the speaker's start. */
  readonly configuredAt?: () => number;
  /** A reload is under way. */
  readonly reconfiguring?: () => boolean;
}

/** A BirdSource over a running Speaker (read at each call: a reload may replace its router and peers). */
export function speakerSource(speaker: Speaker, o: SpeakerSourceOptions): BirdSource {
  const familyKey = o.family === 'ipv4' ? IPV4_UNICAST : IPV6_UNICAST;
  const ofFamily = (p: Peer): boolean => p.config.address.includes(':') === (o.family === 'ipv6');
  return {
    protocols(counts) {
      const tally = counts ? tallyRoutes(speaker, familyKey) : undefined;
      const staticRoutes = tally?.get(LOCAL_PEER_ID);
      const out: BirdProtocol[] = [
        {
          name: STATIC_PROTOCOL,
          proto: 'Static',
          state: 'up',
          since: speaker.startedAt,
          routes: {
            imported: staticRoutes?.imported ?? 0,
            exported: 0,
            preferred: staticRoutes?.preferred ?? 0,
          },
        },
      ];
      for (const [key, p] of speaker.peers) {
        if (ofFamily(p)) out.push(peerProtocol(p, familyKey, tally?.get(key)));
      }
      return out;
    },
    isProtocol(name) {
      if (name === STATIC_PROTOCOL) return true;
      for (const p of speaker.peers.values()) if (p.name === name) return true;
      return false;
    },
    nets(prefix) {
      return nets(speaker, familyKey, prefix);
    },
    status(now) {
      return {
        version: o.version,
        routerId: speaker.config.routerId,
        now,
        bootTime: speaker.startedAt,
        configuredAt: o.configuredAt?.() ?? speaker.startedAt,
        gracefulRestart: speaker.router.deferring,
        reconfiguring: o.reconfiguring?.() ?? false,
      };
    },
    memory() {
      const m = process.memoryUsage();
      return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, rss: m.rss };
    },
  };
}

interface Tally {
  imported: number;
  preferred: number;
  stale: boolean;
}

/** Per peer id: routes held in the Loc-RIB, how many are the best of their prefix, any stale. */
function tallyRoutes(speaker: Speaker, family: number): Map<string, Tally> {
  const rib = speaker.router.locRib;
  const out = new Map<string, Tally>();
  const of = (id: string): Tally => {
    let t = out.get(id);
    if (!t) {
      t = { imported: 0, preferred: 0, stale: false };
      out.set(id, t);
    }
    return t;
  };
  rib.forEachPrefix(family, (prefix) => {
    for (const r of rib.candidates(family, prefix)) {
      const t = of(r.peer.id);
      t.imported++;
      if (r.stale) t.stale = true;
    }
  });
  rib.forEachBest(family, (_prefix, best) => {
    of(best.peer.id).preferred++;
  });
  return out;
}

function peerProtocol(p: Peer, family: number, t: Tally | undefined): BirdProtocol {
  const state = p.state;
  const established = state === 'Established';
  const n = p.negotiated;
  const bgp: BgpDetails = {
    state: p.config.passive && (state === 'Active' || state === 'Idle') ? 'Passive' : state,
    ...(!established && p.lastError !== undefined ? { lastError: birdError(p.lastError) } : {}),
    neighborAddress: p.config.address,
    neighborAs: p.config.asn,
    ...(t?.stale ? { neighborRestarting: true } : {}),
    ...(established && n
      ? {
          established: {
            neighborId: n.peerId,
            neighborCaps: neighborCaps(p.capabilitiesReceived),
            session: [
              p.config.ibgp ? 'internal' : 'external',
              ...(p.config.rrClient ? ['route-reflector'] : []),
              ...(n.as4 ? ['AS4'] : []),
              ...(n.addPathReceive.size > 0 ? ['add-path-rx'] : []),
              ...(n.addPathSend.size > 0 ? ['add-path-tx'] : []),
              ...(n.extendedMessage ? ['ext-messages'] : []),
            ],
            ...(p.config.localAddress !== undefined ? { sourceAddress: p.config.localAddress } : {}),
            holdTime: n.holdTime,
            keepaliveTime: n.keepaliveTime,
          },
        }
      : {}),
  };
  return {
    name: p.name,
    proto: 'BGP',
    state: established ? 'up' : 'start',
    since: p.sinceWall,
    routes: {
      imported: t?.imported ?? p.adjRibIn.count(family),
      exported: p.prefixesAdvertised,
      preferred: t?.preferred ?? 0,
    },
    bgp,
  };
}

/** The peer's capabilities in BIRD's words (bgp_show_proto_info, "Neighbor caps"). */
export function neighborCaps(caps: readonly Capability[]): string[] {
  const has = (kind: Capability['kind']): Capability | undefined => caps.find((c) => c.kind === kind);
  const out: string[] = [];
  if (has('route-refresh')) out.push('refresh');
  if (has('enhanced-route-refresh')) out.push('enhanced-refresh');
  const gr = has('graceful-restart');
  if (gr?.kind === 'graceful-restart') out.push(gr.families.length > 0 ? 'restart-able' : 'restart-aware');
  const llgr = has('long-lived-graceful-restart');
  if (llgr?.kind === 'long-lived-graceful-restart') {
    out.push(llgr.families.length > 0 ? 'llgr-able' : 'llgr-aware');
  }
  if (has('four-octet-as')) out.push('AS4');
  const ap = has('add-path');
  if (ap?.kind === 'add-path') {
    if (ap.families.some((f) => f.receive)) out.push('add-path-rx');
    if (ap.families.some((f) => f.send)) out.push('add-path-tx');
  }
  if (has('extended-message')) out.push('ext-messages');
  return out;
}

/** The prefixes of `family` (all, or the one `prefix` selects), read as they are when reached. */
function* nets(speaker: Speaker, family: number, prefix: RoutePrefix | undefined): Generator<BirdNet> {
  const rib = speaker.router.locRib;
  const wanted = (prefix?.family === 'ipv6' ? IPV6_UNICAST : IPV4_UNICAST) === family;
  let keys: (number | string)[];
  if (prefix === undefined) {
    keys = [];
    rib.forEachPrefix(family, (k) => {
      keys.push(k);
    });
    keys.sort(compareKeys);
  } else if (!wanted) {
    keys = [];
  } else if (prefix.match === 'exact') {
    keys = rib.candidates(family, prefix.key).length > 0 ? [prefix.key] : [];
  } else {
    const k = longestMatch(speaker, family, prefix);
    keys = k === undefined ? [] : [k];
  }
  const names = new Map([...speaker.peers].map(([key, p]) => [key, { name: p.name, since: p.sinceWall }]));
  for (const key of keys) {
    const candidates = rib.candidates(family, key);
    if (candidates.length === 0) continue; // withdrawn meanwhile
    const best = rib.best(family, key);
    const ordered =
      best === undefined ? [...candidates] : [best, ...candidates.filter((r) => !samePathOf(r, best))];
    yield {
      prefix: typeof key === 'number' ? formatIpv4Key(key) : formatIpv6Key(key),
      routes: ordered.map((r) => birdRoute(r, r === best, best !== undefined, speaker, names)),
    };
  }
}

function birdRoute(
  r: Route,
  primary: boolean,
  reachable: boolean,
  speaker: Speaker,
  names: ReadonlyMap<string, { readonly name: string; readonly since: number }>,
): BirdRoute {
  if (r.peer.id === LOCAL_PEER_ID) {
    return {
      protocol: STATIC_PROTOCOL,
      kind: 'static',
      primary,
      reachable: true,
      since: speaker.startedAt,
      attributes: r.attributes,
    };
  }
  const from = names.get(r.peer.id);
  return {
    protocol: from?.name ?? r.peer.id,
    kind: 'bgp',
    primary,
    reachable,
    since: from?.since ?? speaker.startedAt,
    from: r.peer.address,
    ...(r.stale ? { stale: true } : {}),
    attributes: r.attributes,
  };
}

/** IPv4 keys as numbers (address, then length), IPv6 keys as their code units (the same order). */
function compareKeys(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** The most specific prefix of the table that covers `prefix` (BIRD net_route). */
function longestMatch(speaker: Speaker, family: number, prefix: RoutePrefix): number | string | undefined {
  const rib = speaker.router.locRib;
  let found: number | string | undefined;
  let foundLen = -1;
  if (prefix.family === 'ipv4') {
    const addr = ipv4KeyAddr(prefix.key);
    const qlen = ipv4KeyLen(prefix.key);
    rib.forEachPrefix(family, (k) => {
      const len = ipv4KeyLen(k as number);
      if (len > qlen || len <= foundLen) return;
      if ((addr & ipv4Mask(len)) >>> 0 === ipv4KeyAddr(k as number)) {
        found = k;
        foundLen = len;
      }
    });
  } else {
    const bytes = ipv6KeyBytes(prefix.key);
    const qlen = ipv6KeyLen(prefix.key);
    rib.forEachPrefix(family, (k) => {
      const len = ipv6KeyLen(k as string);
      if (len > qlen || len <= foundLen) return;
      if (ipv6KeyFromBytes(bytes, 0, len) === k) {
        found = k;
        foundLen = len;
      }
    });
  }
  return found;
}
