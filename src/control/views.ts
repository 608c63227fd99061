// What `tern show ...` reports, built from the running Speaker as plain JSON data.

import { performance } from 'node:perf_hooks';
import { attributesToJson } from '../bgp/json/update.js';
import { familyName } from '../bgp/messages/iana.js';
import { formatIpv4Key, formatIpv6Key, parseIpv4Prefix, parseIpv6Prefix } from '../bgp/messages/prefix.js';
import { LOCAL_PEER_ID } from '../bgp/rib/types.js';
import type { PeerConfig } from '../config/types.js';
import type { Peer } from '../speaker/peer.js';
import { keepsRoutesThroughRestart, type Speaker } from '../speaker/speaker.js';
import type { ReloadOutcome } from './bird/server.js';
import type { EventLoopDelay } from './event-loop.js';
import type { ControlRequest } from './server.js';

const familyText = (key: number): string => familyName(key >> 8, key & 255);

function protocolView(peer: Peer): Record<string, unknown> {
  const state = peer.state;
  return {
    name: peer.name,
    address: peer.config.address,
    port: peer.config.port,
    asn: peer.config.asn,
    localAsn: peer.config.localAsn,
    type: peer.config.ibgp ? 'ibgp' : 'ebgp',
    state,
    since: new Date(peer.sinceWall).toISOString(),
    sinceSeconds: Math.round((performance.now() - peer.since) / 1000),
    info: state === 'Established' ? 'Established' : (peer.lastError ?? ''),
    prefixesReceived: peer.adjRibIn.count(),
    prefixesAdvertised: peer.prefixesAdvertised,
  };
}

function neighborView(peer: Peer): Record<string, unknown> {
  const n = peer.negotiated;
  return {
    ...protocolView(peer),
    passive: peer.config.passive,
    localAddress: peer.config.localAddress ?? null,
    lastError: peer.lastError ?? null,
    capabilitiesSent: peer.fsmConfig.localOpen.capabilities.map((c) => c.kind),
    capabilitiesReceived: peer.capabilitiesReceived.map((c) => c.kind),
    negotiated: n
      ? {
          peerId: n.peerId,
          peerAs: n.peerAs,
          holdTime: n.holdTime,
          keepaliveTime: n.keepaliveTime,
          as4: n.as4,
          families: n.families.map(familyText),
          routeRefresh: n.routeRefresh,
          enhancedRouteRefresh: n.enhancedRouteRefresh,
          extendedMessage: n.extendedMessage,
          addPathReceive: [...n.addPathReceive].map(familyText),
          addPathSend: [...n.addPathSend].map(familyText),
          gracefulRestart: n.peerGracefulRestart
            ? {
                restartTime: n.peerGracefulRestart.restartTime,
                restarting: n.peerGracefulRestart.restarting,
                families: n.peerGracefulRestart.families.map((f) => ({
                  family: familyText(f.family),
                  forwardingState: f.forwardingState,
                })),
              }
            : null,
        }
      : null,
    messagesReceived: { ...peer.received },
    messagesSent: { ...peer.sent },
  };
}

function findPeer(speaker: Speaker, which: string): Peer {
  for (const p of speaker.peers.values()) if (p.name === which || p.config.address === which) return p;
  throw new Error(`no peer named or addressed "${which}" (see tern show protocols)`);
}

const prefixText = (key: number | string): string =>
  typeof key === 'number' ? formatIpv4Key(key) : formatIpv6Key(key);

/**
 * `show routes <prefix>`: the prefix in the form the views print it (host bits cleared, IPv6 compressed),
 * so `10.244.2.1/26` and `fd00:0::/64` find their routes; undefined: every prefix.
 */
function prefixArg(args: Readonly<Record<string, unknown>>): string | undefined {
  if (args.prefix === undefined) return undefined;
  const text = String(args.prefix);
  const v4 = parseIpv4Prefix(text, true);
  if (v4 !== undefined) return formatIpv4Key(v4);
  const v6 = parseIpv6Prefix(text, true);
  if (v6 !== undefined) return formatIpv6Key(v6);
  throw new Error(`"${text}" is not a prefix (expected address/length, e.g. 10.244.1.0/26 or fd00::/64)`);
}

function routesView(speaker: Speaker, args: Readonly<Record<string, unknown>>): Record<string, unknown>[] {
  const which = typeof args.peer === 'string' ? args.peer : undefined;
  const peers = which ? [findPeer(speaker, which)] : [...speaker.peers.values()];
  const only = prefixArg(args);
  const out: Record<string, unknown>[] = [];
  for (const peer of peers) {
    for (const r of peer.adjRibIn.routes()) {
      const prefix = prefixText(r.prefix);
      if (only !== undefined && prefix !== only) continue;
      const { nextHop, linkLocalNextHop, ...rest } = r.attributes;
      out.push({
        peer: peer.name,
        family: familyText(r.family),
        prefix,
        ...(r.pathId !== undefined ? { pathId: r.pathId } : {}),
        nextHop,
        ...(linkLocalNextHop !== undefined ? { linkLocalNextHop } : {}),
        ...attributesToJson(rest),
      });
    }
  }
  out.sort(
    (a, b) =>
      String(a.prefix).localeCompare(String(b.prefix)) || String(a.peer).localeCompare(String(b.peer)),
  );
  return out;
}

/** The Loc-RIB: every candidate of every prefix, the best marked with the decision step that chose it. */
function ribView(speaker: Speaker, args: Readonly<Record<string, unknown>>): Record<string, unknown>[] {
  const rib = speaker.router.locRib;
  const names = new Map([...speaker.peers].map(([key, p]) => [key, p.name]));
  const only = prefixArg(args);
  const out: Record<string, unknown>[] = [];
  for (const family of rib.families()) {
    for (const e of rib.entries(family)) {
      const prefix = prefixText(e.prefix);
      if (only !== undefined && prefix !== only) continue;
      const ecmp =
        speaker.config.multipath && e.best && e.routes.length > 1
          ? new Set(speaker.router.multipath(e.routes, e.best))
          : undefined;
      for (const r of e.routes) {
        const { nextHop, linkLocalNextHop, ...rest } = r.attributes;
        const best = r === e.best;
        out.push({
          family: familyText(family),
          prefix,
          from: r.peer.id === LOCAL_PEER_ID ? 'local' : (names.get(r.peer.id) ?? r.peer.id),
          best,
          ...(best && e.reason !== undefined ? { reason: e.reason } : {}),
          ...(ecmp !== undefined && ecmp.size > 1 && ecmp.has(r) ? { multipath: true } : {}),
          ...(r.pathId !== undefined ? { pathId: r.pathId } : {}),
          ...(r.stale ? { stale: true } : {}),
          nextHop: r.peer.id === LOCAL_PEER_ID ? 'self' : nextHop,
          ...(linkLocalNextHop !== undefined ? { linkLocalNextHop } : {}),
          ...attributesToJson(rest),
        });
      }
    }
  }
  out.sort((a, b) => String(a.prefix).localeCompare(String(b.prefix)) || Number(b.best) - Number(a.best));
  return out;
}

/**
 * `show routes --export <peer>`: what tern has sent to that peer and not withdrawn, with the attributes as
 * they went on the wire (next hop, reflection attributes, AS path for eBGP).
 */
function exportView(speaker: Speaker, args: Readonly<Record<string, unknown>>): Record<string, unknown>[] {
  const peer = findPeer(speaker, String(args.export));
  const only = prefixArg(args);
  const out: Record<string, unknown>[] = [];
  const held = speaker.router.exportedTo(peer, (family, key, pathId, attributes) => {
    const prefix = prefixText(key);
    if (only !== undefined && prefix !== only) return;
    const { nextHop, linkLocalNextHop, ...rest } = attributes;
    out.push({
      peer: peer.name,
      family: familyText(family),
      prefix,
      ...(pathId !== undefined ? { pathId } : {}),
      nextHop,
      ...(linkLocalNextHop !== undefined ? { linkLocalNextHop } : {}),
      ...attributesToJson(rest),
    });
  });
  if (!held) {
    throw new Error(
      `nothing is sent to ${peer.name}: its session is ${peer.state}${peer.lastError ? ` (${peer.lastError})` : ''}`,
    );
  }
  out.sort(
    (a, b) =>
      String(a.prefix).localeCompare(String(b.prefix)) || Number(a.pathId ?? 0) - Number(b.pathId ?? 0),
  );
  return out;
}

/** How the daemon stops: a graceful restart (peers keep its routes), or a real shutdown. */
export type StopMode = 'graceful' | 'withdraw';

/** What `show status` reports about the process itself (run.ts supplies it). */
export interface ProcessInfo {
  readonly pid?: number;
  /** Event-loop delay since start; absent: reported as null. */
  readonly eventLoop?: () => EventLoopDelay;
  /** A datastore the config comes from (Calico's etcd): its connection; absent: no `datastore` field. */
  readonly datastore?: () => unknown;
  /** `stop`: starts the daemon's stop once the answer is on its way; absent: `stop` is refused. */
  readonly stop?: (mode: StopMode) => void;
  /** `reload`: reads the config again and applies it (SIGHUP's reload); absent: `reload` is refused. */
  readonly reload?: () => Promise<ReloadOutcome>;
}

/** How long peers keep tern's routes after a graceful stop: the longest restart time it announces. */
export function gracefulRestartTime(peers: readonly PeerConfig[]): number {
  let t = 0;
  for (const p of peers) if (p.gracefulRestart.enabled) t = Math.max(t, p.gracefulRestart.restartTime);
  return t;
}

/** The answer to `stop`: what the daemon is about to do. */
function stopView(speaker: Speaker, mode: StopMode, info: ProcessInfo): Record<string, unknown> {
  const peers = [...speaker.peers.values()];
  const established = peers.filter((p) => p.state === 'Established');
  const keeping = established.filter(keepsRoutesThroughRestart);
  return {
    version: 1,
    pid: info.pid ?? process.pid,
    mode,
    established: established.length,
    ...(mode === 'graceful'
      ? {
          // peers that negotiated graceful restart keep tern's routes as stale for the restart time
          restartTime: gracefulRestartTime(speaker.config.peers),
          peersKeepingRoutes: keeping.map((p) => p.name),
          peersDroppingRoutes: established.filter((p) => !keeping.includes(p)).map((p) => p.name),
        }
      : { kernelRoutesRemoved: speaker.fib !== undefined }),
  };
}

function statusView(speaker: Speaker, version: string, info: ProcessInfo): Record<string, unknown> {
  const peers = [...speaker.peers.values()];
  return {
    version,
    pid: info.pid ?? process.pid,
    routerId: speaker.config.routerId,
    asn: speaker.config.asn,
    startedAt: new Date(speaker.startedAt).toISOString(),
    uptimeSeconds: Math.round((Date.now() - speaker.startedAt) / 1000),
    listen: speaker.config.listen ? { ...speaker.config.listen, port: speaker.listenPort } : null,
    peers: peers.length,
    established: peers.filter((p) => p.state === 'Established').length,
    eventLoop: info.eventLoop ? info.eventLoop() : null,
    ...(info.datastore ? { datastore: info.datastore() } : {}),
  };
}

/** Answers one control request (throws an Error whose message goes back to the client). */
export function controlHandler(
  speaker: Speaker,
  version: string,
  info: ProcessInfo = {},
): (req: ControlRequest) => unknown {
  return (req) => {
    const args = req.args ?? {};
    switch (req.command) {
      case 'show protocols':
        return [...speaker.peers.values()].map(protocolView);
      case 'show neighbors': {
        const which = typeof args.peer === 'string' ? args.peer : undefined;
        return (which ? [findPeer(speaker, which)] : [...speaker.peers.values()]).map(neighborView);
      }
      case 'show routes':
        if (args.export !== undefined) return exportView(speaker, args);
        return args.all === true ? ribView(speaker, args) : routesView(speaker, args);
      case 'show status':
        return statusView(speaker, version, info);
      case 'stop': {
        const stop = info.stop;
        if (!stop) throw new Error('this tern cannot be stopped over its control socket');
        const mode: StopMode = args.withdraw === true ? 'withdraw' : 'graceful';
        const answer = stopView(speaker, mode, info);
        stop(mode);
        return answer;
      }
      case 'reload': {
        const reload = info.reload;
        if (!reload) throw new Error('this tern cannot be reloaded over its control socket');
        // a config that does not validate is the request's error; the running one stays
        return reload().then((r) => {
          if (!r.ok) throw new Error(`reload refused, the running configuration stays:\n${r.error}`);
          return { reloaded: true, ...(r.peers ?? {}) };
        });
      }
      default:
        throw new Error(
          `unknown command "${req.command}" (show protocols|neighbors|routes|status, reload, stop)`,
        );
    }
  };
}
