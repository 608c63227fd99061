// Which BGP peerings Calico gives a node: confd's computation, rewritten from projectcalico/calico
// confd/pkg/backends/calico/client.go (updatePeersV1, nodeAsBGPPeers, nodesWithIPPortAndAS,
// setPeerConfigFieldsFromV3Resource, getNextHopMode). Pure.
//
// BGPPeers are read in three passes, and the first peering emitted for a key wins:
//   1. global BGPPeers (no node, no nodeSelector): a global peering per peer address and port, on every node;
//   2. node-scoped BGPPeers (node or nodeSelector): a peering on each selected node, unless a global one
//      with the same address and port exists (the global one wins: confd's `emit` skips the other);
//   3. reverse peerings (reversePeering not Manual): the nodes a BGPPeer points at (by peerSelector, or
//      a peerIP and asNumber that are a Calico node's) peer back with the nodes it applies to.
// A peering's key is (node, peer address, port) or (peer address, port) for global ones. Calico walks
// BGPPeers in Go map order (random); tern walks them by name, and warns when two BGPPeers give one key
// different settings.
// Only the keys of `self` are computed: a key of another node never decides one of ours.

import type { CalicoIssue } from './issues.js';
import type { CalicoBgpConfiguration, CalicoBgpPeer, CalicoNode, CalicoResources } from './resources.js';
import { matches, type Selector } from './selector.js';

export const DEFAULT_AS = 64512;

/** confd's backends.BGPPeer: one peering before it is rendered for a family. */
export interface Peering {
  /** Canonical address (Go's net.IP.String()). */
  readonly ip: string;
  readonly family: 4 | 6;
  /** 0: none given (BIRD's default, 179). */
  readonly port: number;
  readonly asNum: number;
  /** 0: none. */
  readonly localASNum: number;
  /** 'UseNodeIP' | 'None' | '' */
  readonly sourceAddr: string;
  readonly keepNextHop: boolean;
  /** '' | 'Auto' | 'Self' | 'Keep' */
  readonly nextHopMode: string;
  /** The peer address is a Calico node's (then global peerings get the passive rule). */
  readonly calicoNode: boolean;
  readonly ttlSecurity: number;
  readonly filters: readonly string[];
  readonly numAllowLocalAS: number;
  readonly reachableBy: string;
  /** The peer node's route reflector cluster id ('' when none or not a node). */
  readonly rrClusterID: string;
  readonly password: boolean;
  /** Seconds. */
  readonly restartTime?: number;
  readonly keepaliveTime?: number;
  /** The BGPPeer that made it. */
  readonly from: CalicoBgpPeer;
  /** Made by pass 3. */
  readonly reverse: boolean;
  /** The selected node, for peerSelector and reverse peerings. */
  readonly node?: string;
}

/** What confd keeps in its cache, looked up by node name. */
export class Cluster {
  readonly nodes: ReadonlyMap<string, CalicoNode>;
  readonly names: readonly string[];
  readonly global: CalicoBgpConfiguration | undefined;
  /** `node.<name>` BGPConfigurations by node name. */
  readonly perNode: ReadonlyMap<string, CalicoBgpConfiguration>;
  readonly globalAS: number;
  readonly globalListenPort: number;
  private readonly nodeIPs: ReadonlySet<string>;

  constructor(readonly resources: CalicoResources) {
    this.nodes = new Map(resources.nodes.map((n) => [n.name, n]));
    this.names = resources.nodes.map((n) => n.name).sort();
    this.global = resources.bgpConfigurations.find((c) => c.name === 'default');
    this.perNode = new Map(
      resources.bgpConfigurations
        .filter((c) => c.name.startsWith('node.'))
        .map((c) => [c.name.slice('node.'.length), c]),
    );
    this.globalAS = this.global?.spec.asNumber ?? DEFAULT_AS;
    this.globalListenPort = this.global?.spec.listenPort ?? 0;
    const ips = new Set<string>();
    for (const n of resources.nodes) {
      if (n.bgp?.ipv4Address) ips.add(n.bgp.ipv4Address.address);
      if (n.bgp?.ipv6Address) ips.add(n.bgp.ipv6Address.address);
    }
    this.nodeIPs = ips;
  }

  ip(node: string, family: 4 | 6): string {
    const b = this.nodes.get(node)?.bgp;
    return (family === 4 ? b?.ipv4Address?.address : b?.ipv6Address?.address) ?? '';
  }

  /** The node's own `spec.bgp.asNumber` (undefined: it has none). */
  nodeAS(node: string): number | undefined {
    return this.nodes.get(node)?.bgp?.asNumber;
  }

  rrClusterID(node: string): string {
    return this.nodes.get(node)?.bgp?.routeReflectorClusterID ?? '';
  }

  /** A `node.<name>` BGPConfiguration's listenPort (c.nodeListenPorts). */
  nodeListenPort(node: string): number | undefined {
    return this.perNode.get(node)?.spec.listenPort;
  }

  /** The port other nodes use to reach `node`: its own listenPort, else the global one (0: none). */
  listenPortOf(node: string): number {
    return this.nodeListenPort(node) ?? this.globalListenPort;
  }

  isNodeIP(host: string): boolean {
    return this.nodeIPs.has(host);
  }

  nodesMatching(selector: Selector): string[] {
    return this.names.filter((n) => matches(selector, this.nodes.get(n)!.labels));
  }

  /** nodesWithIPPortAndAS: the nodes with this address (as text), AS and (when given) listen port. */
  nodesWithIPPortAndAS(ip: string, asNum: number, port: number): string[] {
    const want = asNum === 0 ? this.globalAS : asNum;
    return this.names.filter((n) => {
      if (this.ip(n, 4) !== ip && this.ip(n, 6) !== ip) return false;
      if ((this.nodeAS(n) ?? this.globalAS) !== want) return false;
      if (port !== 0) {
        // confd: `if nodePort, ok := ...; ok && port != nodePort { skip } else if global != 0 && global != port { skip }`
        const nodePort = this.nodeListenPort(n);
        if (nodePort !== undefined && port !== nodePort) return false;
        if (this.globalListenPort !== 0 && this.globalListenPort !== port) return false;
      }
      return true;
    });
  }
}

export interface NodePeerings {
  /** Global peerings (they apply to every node), by key. */
  readonly global: readonly Peering[];
  /** This node's node-specific peerings. */
  readonly node: readonly Peering[];
  readonly warnings: readonly CalicoIssue[];
}

const key = (p: Peering): string => `${p.ip}|${p.port}`;

/** The peerings confd computes that concern node `self`. */
export function peeringsOf(cluster: Cluster, self: string): NodePeerings {
  const peers = cluster.resources.bgpPeers;
  const global = new Map<string, Peering>();
  const node = new Map<string, Peering>();
  const warnings: CalicoIssue[] = [];
  const clash = (kept: Peering, other: Peering, globalWins: boolean): void => {
    if (kept.from === other.from || samePeering(kept, other)) return;
    const peer = `${other.ip}${other.port ? ` port ${other.port}` : ''}`;
    warnings.push({
      origin: other.from.origin,
      resource: `BGPPeer ${other.from.name}`,
      path: 'spec',
      message: globalWins
        ? `its peering with ${peer} is dropped: the global peering with the same address and port (BGPPeer ` +
          `${kept.from.name}) wins, as in Calico`
        : `gives the peering with ${peer} other settings than BGPPeer ${kept.from.name}; Calico takes one of ` +
          `them at random (Go map order), tern the first by name (${kept.from.name})`,
    });
  };
  const emitGlobal = (p: Peering): void => {
    const first = global.get(key(p));
    if (first) clash(first, p, false);
    else global.set(key(p), p);
  };
  const emitNode = (p: Peering): void => {
    const mine = node.get(key(p));
    const theirs = global.get(key(p));
    if (mine) clash(mine, p, false);
    else if (theirs) clash(theirs, p, true);
    else node.set(key(p), p);
  };
  const isGlobal = (r: CalicoBgpPeer): boolean =>
    r.spec.node === undefined && r.spec.nodeSelector === undefined;
  const localNodes = (r: CalicoBgpPeer): string[] =>
    r.spec.nodeSelector
      ? cluster.nodesMatching(r.spec.nodeSelector)
      : r.spec.node !== undefined
        ? [r.spec.node]
        : [];

  // passes 1 and 2: global peerings first, so that a node-specific one to the same address yields to it
  for (const globalPass of [true, false]) {
    for (const r of peers) {
      if (isGlobal(r) !== globalPass) continue;
      if (!globalPass && !localNodes(r).includes(self)) continue;
      for (const p of forwardPeerings(cluster, r)) (globalPass ? emitGlobal : emitNode)(p);
    }
  }

  // pass 3: reverse peerings
  for (const r of peers) {
    if (r.spec.reversePeering === 'Manual' || r.spec.localWorkloadSelector) continue;
    let targets: string[];
    let v4 = false;
    let v6 = false;
    if (r.spec.peerSelector) {
      targets = cluster.nodesMatching(r.spec.peerSelector);
      v4 = true;
      v6 = true;
    } else if (r.spec.peerIP) {
      targets = cluster.nodesWithIPPortAndAS(r.spec.peerIP.host, r.spec.asNumber, r.spec.peerIP.port ?? 0);
      if (r.spec.peerIP.host.includes(':')) v6 = true;
      else v4 = true;
    } else continue;
    if (!targets.includes(self)) continue;
    const sources = isGlobal(r) ? cluster.names : localNodes(r);
    for (const n of sources) {
      for (const p of nodeAsPeerings(cluster, n, v4, v6, r, true)) emitNode(p);
    }
  }
  return { global: [...global.values()], node: [...node.values()], warnings };
}

/** The peerings a BGPPeer asks for (before the node it applies to is known). */
function forwardPeerings(cluster: Cluster, r: CalicoBgpPeer): Peering[] {
  const s = r.spec;
  if (s.localWorkloadSelector) return []; // refused by the translation where it applies
  if (s.peerSelector) {
    return cluster
      .nodesMatching(s.peerSelector)
      .flatMap((n) => nodeAsPeerings(cluster, n, true, true, r, false));
  }
  const ip = s.peerIP;
  if (!ip) return [];
  let port = ip.port ?? 0;
  if (port === 0) {
    // no port: a Calico node at this address and AS is reached at its listen port
    const nodes = cluster.nodesWithIPPortAndAS(ip.host, s.asNumber, 0);
    if (nodes.length > 0) port = cluster.listenPortOf(nodes[0]!);
  }
  const { keepNextHop, nextHopMode } = nextHop(r);
  return [
    withV3Fields(r, {
      ip: ip.address,
      family: ip.family,
      port,
      asNum: s.asNumber,
      localASNum: s.localASNumber ?? 0,
      sourceAddr: s.sourceAddress ?? '',
      keepNextHop,
      nextHopMode,
      calicoNode: cluster.isNodeIP(ip.host),
      ttlSecurity: s.ttlSecurity ?? 0,
      filters: s.filters,
      numAllowLocalAS: s.numAllowedLocalASNumbers ?? 0,
      reachableBy: s.reachableBy ?? '',
      rrClusterID: '',
      password: false,
      from: r,
      reverse: false,
    }),
  ];
}

/** nodeAsBGPPeers: peerings with a Calico node, per family it has an address of. */
function nodeAsPeerings(
  cluster: Cluster,
  n: string,
  v4: boolean,
  v6: boolean,
  r: CalicoBgpPeer,
  reverse: boolean,
): Peering[] {
  const out: Peering[] = [];
  const { keepNextHop, nextHopMode } = nextHop(r);
  for (const family of [4, 6] as const) {
    if (family === 4 ? !v4 : !v6) continue;
    const ip = cluster.ip(n, family);
    if (ip === '') continue;
    out.push(
      withV3Fields(r, {
        ip,
        family,
        port: cluster.listenPortOf(n),
        asNum: cluster.nodeAS(n) ?? cluster.globalAS,
        // confd sets neither localASNumber nor numAllowedLocalASNumbers for peerings with nodes
        localASNum: 0,
        sourceAddr: '',
        keepNextHop,
        nextHopMode,
        calicoNode: false,
        ttlSecurity: r.spec.ttlSecurity ?? 0,
        filters: r.spec.filters,
        numAllowLocalAS: 0,
        reachableBy: r.spec.reachableBy ?? '',
        rrClusterID: cluster.rrClusterID(n),
        password: false,
        from: r,
        reverse,
        node: n,
      }),
    );
  }
  return out;
}

/** getNextHopMode: nextHopMode when set, else the deprecated keepOriginalNextHop. */
function nextHop(r: CalicoBgpPeer): { keepNextHop: boolean; nextHopMode: string } {
  return r.spec.nextHopMode !== undefined
    ? { keepNextHop: false, nextHopMode: r.spec.nextHopMode }
    : { keepNextHop: r.spec.keepOriginalNextHop, nextHopMode: '' };
}

/** setPeerConfigFieldsFromV3Resource: password, source address (default UseNodeIP), timers. */
function withV3Fields(r: CalicoBgpPeer, p: Peering): Peering {
  return {
    ...p,
    password: r.spec.password,
    sourceAddr: r.spec.sourceAddress ?? 'UseNodeIP',
    ...(r.spec.maxRestartTime !== undefined ? { restartTime: r.spec.maxRestartTime } : {}),
    ...(r.spec.keepaliveTime !== undefined ? { keepaliveTime: r.spec.keepaliveTime } : {}),
  };
}

function samePeering(a: Peering, b: Peering): boolean {
  const strip = ({ from: _f, reverse: _r, node: _n, ...rest }: Peering): string => JSON.stringify(rest);
  return strip(a) === strip(b);
}
