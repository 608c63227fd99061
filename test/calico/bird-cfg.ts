// Reads what the golden tests compare in a BIRD 1.6 config that Calico's confd rendered: the router id, the
// listener, the template's local AS, every `protocol bgp` block, and the static blackhole routes of the
// node's blocks (bird_aggr.cfg). Only the statements Calico's templates write, one per line.

export interface BirdPeer {
  name: string;
  address: string;
  port?: number;
  asn: number;
  localAsn?: number;
  sourceAddress?: string;
  passive: boolean;
  restartTime?: number;
  keepaliveTime?: number;
  rrClient: boolean;
  rrClusterId?: string;
  nextHop?: 'self' | 'keep';
  allowLocalAs?: number;
  ttlSecurity: boolean;
  password: boolean;
}

export interface BirdConfig {
  readonly routerId?: string;
  readonly listen?: { readonly address?: string; readonly port?: number };
  /** The bgp_template's `local as`; absent when the family is disabled on the node. */
  readonly asn?: number;
  readonly peers: readonly BirdPeer[];
}

/** The statements of a protocol block: a pattern and what a match sets. */
const PEER_STATEMENTS: readonly [RegExp, (p: BirdPeer, m: RegExpExecArray) => void][] = [
  [
    /^neighbor (\S+)(?: port (\d+))? as (\d+);$/,
    (p, m) => {
      p.address = m[1]!;
      if (m[2]) p.port = Number(m[2]);
      p.asn = Number(m[3]);
    },
  ],
  [/^local as (\d+);$/, (p, m) => (p.localAsn = Number(m[1]))],
  [/^source address (\S+);$/, (p, m) => (p.sourceAddress = m[1]!)],
  [/^passive on;$/, (p) => (p.passive = true)],
  [/^graceful restart time (\d+);$/, (p, m) => (p.restartTime = Number(m[1]))],
  [/^keepalive time (\d+);$/, (p, m) => (p.keepaliveTime = Number(m[1]))],
  [/^rr client;$/, (p) => (p.rrClient = true)],
  [/^rr cluster id (\S+);$/, (p, m) => (p.rrClusterId = m[1]!)],
  [/^next hop (self|keep);$/, (p, m) => (p.nextHop = m[1] as 'self' | 'keep')],
  [/^allow local as (\d+);$/, (p, m) => (p.allowLocalAs = Number(m[1]))],
  [/^ttl security on;$/, (p) => (p.ttlSecurity = true)],
  [/^password /, (p) => (p.password = true)],
];

export function parseBirdConfig(text: string): BirdConfig {
  let routerId: string | undefined;
  let listen: BirdConfig['listen'];
  let asn: number | undefined;
  const peers: BirdPeer[] = [];
  let peer: BirdPeer | undefined;
  let inTemplate = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (peer) {
      if (raw.startsWith('}')) {
        peers.push(peer);
        peer = undefined;
        continue;
      }
      for (const [re, set] of PEER_STATEMENTS) {
        const m = re.exec(line);
        if (m) set(peer, m);
      }
      continue;
    }
    const id = /^router id (\S+);$/.exec(line);
    const bgpListen = /^listen bgp(?: address (\S+))?(?: port (\d+))?;$/.exec(line);
    const localAs = /^local as (\d+);$/.exec(line);
    const protocol = /^protocol bgp (\S+) from bgp_template \{$/.exec(line);
    if (id) routerId = id[1];
    else if (bgpListen) {
      listen = {
        ...(bgpListen[1] ? { address: bgpListen[1] } : {}),
        ...(bgpListen[2] ? { port: Number(bgpListen[2]) } : {}),
      };
    } else if (line.startsWith('template bgp bgp_template')) inTemplate = true;
    else if (inTemplate && localAs) asn = Number(localAs[1]);
    else if (inTemplate && raw.startsWith('}')) inTemplate = false;
    else if (protocol) {
      peer = {
        name: protocol[1]!,
        address: '',
        asn: 0,
        passive: false,
        rrClient: false,
        ttlSecurity: false,
        password: false,
      };
    }
  }
  return {
    ...(routerId ? { routerId } : {}),
    ...(listen ? { listen } : {}),
    ...(asn !== undefined ? { asn } : {}),
    peers,
  };
}

/** The `route <block> blackhole;` lines under "IP blocks for this host" in bird_aggr.cfg. */
export function parseBlockRoutes(text: string): string[] {
  const out: string[] = [];
  let inBlocks = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '# IP blocks for this host.') inBlocks = true;
    else if (line.startsWith('#') || line === '}') inBlocks = false;
    else if (inBlocks) {
      const m = /^route (\S+) blackhole;$/.exec(line);
      if (m) out.push(m[1]!);
    }
  }
  return out;
}
