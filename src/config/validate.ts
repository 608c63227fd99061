// Checks a parsed config document (plain JS values from YAML or JSON) against the schema (schema.ts) and
// resolves it into a TernConfig. Pure: no file access. Every problem is collected, not just the first;
// the resolved config is returned only when there are none.
//
// schema.ts declares every field (type, range, canonical form, message). Here the document is read field
// by field with it, so that one bad field does not hide the others' problems, and what spans fields is
// added: the session settings each peer inherits, defaults, duplicate peers and prefixes, overlapping
// pools, passive peers and the listener, route-reflector clients and the reflector.

import { prefixCovers } from '../kernel/address.js';
import {
  type ConfigIssue,
  configSchema,
  describe,
  expectedText,
  type IpFamily,
  ipLabel,
  type ParsedDocument,
  peerSchema,
  poolSchema,
  readFields,
  readValue,
  routeSchema,
  type sessionShape,
  suggestKey,
  WELL_KNOWN_COMMUNITIES,
} from './schema.js';
import {
  type AddPathMode,
  DEFAULTS,
  type FamilyName,
  type GracefulRestartConfig,
  type KernelConfig,
  type OriginateRoute,
  type PeerConfig,
  type PoolConfig,
  peerKey,
  type TernConfig,
} from './types.js';

export { type ConfigIssue, describe, suggestKey, WELL_KNOWN_COMMUNITIES };

export interface ValidationResult {
  /** Present only when `errors` is empty. */
  readonly config: TernConfig | undefined;
  readonly errors: readonly ConfigIssue[];
  /** Legal but probably not what was meant; `tern check` prints them. */
  readonly warnings: readonly ConfigIssue[];
}

type Raw = Readonly<Record<string, unknown>>;
/** The session fields of a mapping (the document or a peer), each as the schema gives it. */
type SessionFields = { [K in keyof typeof sessionShape]?: NonNullable<ParsedDocument[K]> };

interface Session {
  holdTime: number;
  keepaliveTime: number | undefined;
  connectRetryTime: number;
  errorWaitTime: readonly [number, number];
  families: readonly FamilyName[];
  addPath: AddPathMode;
  extendedMessage: boolean;
  gracefulRestart: GracefulRestartConfig;
}

const DEFAULT_SESSION: Session = {
  holdTime: DEFAULTS.holdTime,
  keepaliveTime: undefined,
  connectRetryTime: DEFAULTS.connectRetryTime,
  errorWaitTime: DEFAULTS.errorWaitTime,
  families: DEFAULTS.families,
  addPath: DEFAULTS.addPath,
  extendedMessage: DEFAULTS.extendedMessage,
  gracefulRestart: DEFAULTS.gracefulRestart,
};

/** What `top` returns when the document is not a mapping at all (never handed out: there are errors). */
const UNUSABLE: TernConfig = {
  routerId: '0.0.0.0',
  asn: DEFAULTS.asn,
  listen: null,
  control: { socket: DEFAULTS.controlSocket },
  log: { level: DEFAULTS.logLevel },
  metrics: null,
  nextHop: {},
  originate: [],
  exportFilter: [],
  multipath: true,
  nextHopResolution: 'kernel',
  reflector: null,
  pools: [],
  kernel: DEFAULTS.kernel,
  peers: [],
};

export function validateConfig(raw: unknown): ValidationResult {
  const v = new Validator();
  const config = v.top(raw);
  const errors = v.errors;
  return { config: errors.length === 0 ? deepFreeze(config) : undefined, errors, warnings: v.warnings };
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function isMapping(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(o: Raw, key: string): boolean {
  return o[key] !== undefined;
}

function ipFamilyOf(f: FamilyName): IpFamily {
  return f === 'ipv4-unicast' ? 'ipv4' : 'ipv6';
}

/** Two listening addresses that would take the same port: equal, `::` (dual-stack), or 0.0.0.0 and IPv4. */
function overlaps(a: string, b: string): boolean {
  if (a === b || a === '::' || b === '::') return true;
  const v4 = (x: string): boolean => !x.includes(':');
  return (a === '0.0.0.0' && v4(b)) || (b === '0.0.0.0' && v4(a));
}

/** `true`, `false` or `{address, port}` (listen, metrics) with the defaults filled in. */
function endpoint(
  v: boolean | { address?: { address: string } | undefined; port?: number | undefined },
  dflt: { address: string; port: number },
): { address: string; port: number } | null {
  if (v === false) return null;
  if (v === true) return dflt;
  return { address: v.address?.address ?? dflt.address, port: v.port ?? dflt.port };
}

interface Globals {
  routerId: string;
  asn: number;
  listen: TernConfig['listen'];
  session: Session;
}

class Validator {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  expected(path: string, what: string, got: unknown, note = ''): void {
    this.error(path, expectedText(what, got, note));
  }

  // ---- the document ----

  top(raw: unknown): TernConfig {
    if (raw === null || raw === undefined) {
      this.error('', 'expected a mapping of settings (routerId, peers, ...), got an empty document');
      return UNUSABLE;
    }
    const o = readFields(configSchema, raw, '', this.errors, ['peers', 'originate', 'pools']);
    if (!o || !isMapping(raw)) return UNUSABLE;

    const routerId = o.routerId ?? '0.0.0.0';
    const asn = o.asn ?? DEFAULTS.asn;
    // absent, or refused (reported): the default listener
    const listen =
      o.listen === undefined
        ? { address: DEFAULTS.listenAddress, port: DEFAULTS.port }
        : endpoint(o.listen, { address: DEFAULTS.listenAddress, port: DEFAULTS.port });
    const session = this.session('', raw, o, DEFAULT_SESSION);
    const nextHop = o.nextHop ?? {};
    const c = o.control;
    const control: TernConfig['control'] = {
      socket: c?.socket ?? DEFAULTS.controlSocket,
      ...(c?.group !== undefined ? { group: c.group } : {}),
      ...(c?.birdSocket !== undefined ? { birdSocket: c.birdSocket } : {}),
      ...(c?.bird6Socket !== undefined ? { bird6Socket: c.bird6Socket } : {}),
    };
    const log = { level: o.log?.level ?? DEFAULTS.logLevel };
    const metrics =
      o.metrics === undefined
        ? null
        : endpoint(o.metrics, { address: DEFAULTS.metricsAddress, port: DEFAULTS.metricsPort });
    if (metrics && listen && metrics.port === listen.port && overlaps(metrics.address, listen.address)) {
      this.expected(
        'metrics.port',
        `a port other than listen's (${listen.port} on ${listen.address})`,
        metrics.port,
      );
    }
    const peers = this.peers(raw.peers, { routerId, asn, listen, session });
    const enabled = new Set<FamilyName>(session.families);
    for (const p of peers) for (const f of p.families) enabled.add(f);
    const originate = this.originate(raw.originate, enabled);
    this.nextHopWarnings(peers, originate, nextHop);
    const r = o.reflector;
    const reflector =
      r === undefined || r === false || r === null
        ? null
        : { clusterId: r === true ? routerId : (r.clusterId ?? routerId) };
    const pools = this.pools(raw.pools);
    const kernel = this.kernel(o.kernel, pools);
    const multipath = o.multipath ?? true;
    const nextHopResolution = o.nextHopResolution ?? 'kernel';
    peers.forEach((p, i) => {
      if (p.rrClient && !p.ibgp)
        this.error(
          `peers[${i}].rrClient`,
          'only an iBGP peer (asn equal to the local AS) can be a route-reflector client',
        );
      if (p.rrClient && !reflector)
        this.error(
          `peers[${i}].rrClient`,
          'a route-reflector client needs `reflector:` (e.g. `reflector: { clusterId: 10.0.0.1 }`)',
        );
    });
    return {
      routerId,
      asn,
      listen,
      control,
      log,
      metrics,
      nextHop,
      originate,
      exportFilter: o.exportFilter ?? [],
      multipath,
      nextHopResolution,
      reflector,
      pools,
      kernel,
      peers,
    };
  }

  /**
   * The session settings at `path` (the document or one peer) over `base`: `o` holds the fields the
   * schema accepted, `raw` tells which were written at all.
   */
  session(path: string, raw: Raw, o: SessionFields, base: Session): Session {
    const s: Session = { ...base };
    if (o.holdTime !== undefined) s.holdTime = o.holdTime;
    if (o.keepaliveTime !== undefined) s.keepaliveTime = o.keepaliveTime;
    if (o.connectRetryTime !== undefined) s.connectRetryTime = o.connectRetryTime;
    if (o.errorWaitTime !== undefined) s.errorWaitTime = o.errorWaitTime;
    if (o.families !== undefined) s.families = o.families;
    if (o.addPath !== undefined) s.addPath = o.addPath;
    if (o.extendedMessage !== undefined) s.extendedMessage = o.extendedMessage;
    const gr = o.gracefulRestart;
    if (typeof gr === 'boolean')
      s.gracefulRestart = { enabled: gr, restartTime: base.gracefulRestart.restartTime };
    else if (gr !== undefined) {
      s.gracefulRestart = {
        enabled: gr.enabled ?? base.gracefulRestart.enabled,
        restartTime: gr.restartTime ?? base.gracefulRestart.restartTime,
      };
    }

    // RFC 4271 4.4: keepalives at most every hold time / 3. Checked where the hold time or the keepalive
    // time is set, so an inherited pair that was already reported is not reported again.
    const k = s.keepaliveTime;
    if (
      k !== undefined &&
      s.holdTime !== 0 &&
      k * 3 > s.holdTime &&
      (has(raw, 'holdTime') || has(raw, 'keepaliveTime'))
    ) {
      if (has(raw, 'keepaliveTime')) {
        this.expected(
          at(path, 'keepaliveTime'),
          `at most holdTime / 3 (${Math.floor(s.holdTime / 3)} for holdTime ${s.holdTime})`,
          k,
        );
      } else {
        this.expected(
          at(path, 'holdTime'),
          `0 or at least 3 × keepaliveTime (${k * 3}; keepaliveTime ${k} is inherited: set it here too)`,
          s.holdTime,
        );
      }
    }
    return s;
  }

  // ---- peers ----

  peers(v: unknown, g: Globals): PeerConfig[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) return []; // reported by readFields
    const out: PeerConfig[] = [];
    const named = new Map<string, number>();
    const keyed = new Map<string, number>();
    const passiveAt = new Map<string, number>();
    v.forEach((item, i) => {
      const path = `peers[${i}]`;
      const p = this.peer(path, item, g);
      if (!p) return;
      out.push(p);
      const key = peerKey(p);
      const firstKey = keyed.get(key);
      if (firstKey !== undefined)
        this.error(at(path, 'address'), `duplicate peer ${key} (also peers[${firstKey}])`);
      else keyed.set(key, i);
      const explicitName = isMapping(item) && has(item, 'name');
      const firstName = named.get(p.name);
      if (firstName === undefined) named.set(p.name, i);
      else if (explicitName)
        this.error(at(path, 'name'), `duplicate name ${p.name} (also peers[${firstName}])`);
      else if (firstKey === undefined) {
        // a default name repeats only when the address does: with a duplicate peer that is said already
        this.error(
          at(path, 'name'),
          `duplicate name ${p.name} (also peers[${firstName}]; it is the default name for ${p.address}: set name to tell them apart)`,
        );
      }
      if (p.passive) {
        // an incoming connection is matched to a peer by its source address and the local address it
        // arrived on (a peer's localAddress; a peer without one takes what no other peer claims)
        const passiveKey = `${p.address} ${p.localAddress ?? ''}`;
        const twin = passiveAt.get(passiveKey);
        if (twin !== undefined) {
          this.error(
            at(path, 'passive'),
            `peers[${twin}] is also passive with address ${p.address}${p.localAddress ? ` and localAddress ${p.localAddress}` : ''}: ` +
              'an incoming connection cannot tell them apart (make one of them active, or give them different localAddress)',
          );
        } else passiveAt.set(passiveKey, i);
      }
    });
    return out;
  }

  peer(path: string, item: unknown, g: Globals): PeerConfig | undefined {
    const o = readFields(peerSchema, item, path, this.errors);
    if (!o || !isMapping(item)) return undefined;
    const p = (k: string): string => at(path, k);
    const address = o.address;
    let localAddress: string | undefined;
    const la = o.localAddress;
    if (la && address) {
      if (la.family !== address.family) {
        this.expected(
          p('localAddress'),
          `an ${ipLabel(address.family)} address like the peer address ${address.address}`,
          item.localAddress,
        );
      } else if (la.address === address.address) {
        this.expected(
          p('localAddress'),
          `an address other than the peer's own (${address.address})`,
          item.localAddress,
        );
      } else localAddress = la.address;
    }
    // a field that was written but refused leaves the peer unusable (it is reported)
    const port = has(item, 'port') ? o.port : DEFAULTS.port;
    const localAsn = has(item, 'localAsn') ? o.localAsn : g.asn;
    const passive = has(item, 'passive') ? o.passive : false;
    const session = this.session(path, item, o, g.session);

    if (passive && address) {
      if (g.listen === null) {
        this.error(
          p('passive'),
          'a passive peer waits for a connection, but listen is false: tern does not listen',
        );
      } else {
        const l = g.listen.address;
        const lf: IpFamily = l.includes(':') ? 'ipv6' : 'ipv4';
        if (l !== '::' && lf !== address.family) {
          this.error(
            p('passive'),
            `a passive ${ipLabel(address.family)} peer can never connect: listen.address ${l} accepts ` +
              `${ipLabel(lf)} connections only (listen on "::" for both)`,
          );
        }
      }
    }

    const asn = o.asn;
    if (
      !address ||
      asn === undefined ||
      port === undefined ||
      localAsn === undefined ||
      passive === undefined
    ) {
      return undefined;
    }
    return {
      name: o.name ?? `peer_${address.address.replace(/[.:]/g, '_')}`,
      address: address.address,
      port,
      asn,
      routerId: g.routerId,
      ...(localAddress !== undefined ? { localAddress } : {}),
      localAsn,
      passive,
      holdTime: session.holdTime,
      ...(session.keepaliveTime !== undefined ? { keepaliveTime: session.keepaliveTime } : {}),
      connectRetryTime: session.connectRetryTime,
      errorWaitTime: session.errorWaitTime,
      families: session.families,
      addPath: session.addPath,
      extendedMessage: session.extendedMessage,
      gracefulRestart: session.gracefulRestart,
      rrClient: o.rrClient ?? false,
      allowOwnAs: o.allowOwnAs ?? 0,
      nextHopSelf: o.nextHopSelf ?? 'auto',
      maxPrefixes: o.maxPrefixes ?? null,
      addPathLimit: o.addPathLimit ?? null,
      ibgp: asn === localAsn,
    };
  }

  // ---- IP pools and kernel sync ----

  pools(v: unknown): PoolConfig[] {
    if (!Array.isArray(v)) return []; // absent, or reported by readFields
    const out: { pool: PoolConfig; at: number }[] = [];
    v.forEach((item, i) => {
      const pool = readValue(poolSchema, item, `pools[${i}]`, this.errors);
      if (!pool) return;
      const cover = (a: PoolConfig, b: PoolConfig): boolean =>
        prefixCovers(
          { family: a.family, prefix: a.cidr, length: ipLength(a.cidr) },
          { family: b.family, prefix: b.cidr, length: ipLength(b.cidr) },
        );
      const other = out.find((o) => cover(o.pool, pool) || cover(pool, o.pool));
      if (other !== undefined) {
        this.error(
          `pools[${i}].cidr`,
          `${pool.cidr} overlaps pools[${other.at}] (${other.pool.cidr}); IP pools must not overlap`,
        );
        return;
      }
      out.push({ pool, at: i });
    });
    return out.map((o) => o.pool);
  }

  kernel(k: ParsedDocument['kernel'], pools: readonly PoolConfig[]): KernelConfig {
    const dflt = DEFAULTS.kernel;
    if (k === undefined) return dflt; // absent, or refused (reported)
    const l = k.learn;
    const dl = dflt.learn ?? { blocks: true, hostRoutes: true, interfaces: ['cali*'] };
    const learn =
      l === undefined || l === true
        ? dflt.learn
        : l === false
          ? null
          : {
              blocks: l.blocks ?? dl.blocks,
              hostRoutes: l.hostRoutes ?? dl.hostRoutes,
              interfaces: l.interfaces ?? dl.interfaces,
            };
    if (learn !== null && pools.length === 0) {
      this.warnings.push({
        path: 'kernel.learn',
        message:
          'no pools are configured: nothing is learned from the kernel (learning is limited to IP pools)',
      });
    }
    return {
      table: k.table ?? dflt.table,
      scanTime: k.scanTime ?? dflt.scanTime,
      learn,
      write: k.write ?? dflt.write,
      protocol: k.protocol ?? dflt.protocol,
    };
  }

  // ---- originated routes ----

  originate(v: unknown, enabled: ReadonlySet<FamilyName>): OriginateRoute[] {
    if (!Array.isArray(v)) return []; // absent, or reported by readFields
    const out: OriginateRoute[] = [];
    const seen = new Map<string, number>();
    v.forEach((item, i) => {
      const path = `originate[${i}]`;
      const r = readValue(routeSchema, item, path, this.errors);
      if (!r) return;
      if (!enabled.has(r.prefix.family)) {
        const on = [...enabled].join(', ') || 'none';
        const written = isMapping(item) ? item.prefix : item;
        this.expected(
          isMapping(item) ? at(path, 'prefix') : path,
          `a prefix of an enabled family (${on})`,
          written,
          `(${r.prefix.family})`,
        );
        return;
      }
      const prefix = r.prefix.canonical;
      const first = seen.get(prefix);
      if (first !== undefined) {
        this.error(path, `duplicate prefix ${prefix} (also originate[${first}])`);
        return;
      }
      seen.set(prefix, i);
      out.push({
        prefix,
        family: r.prefix.family,
        communities: r.communities,
        ...('localPref' in r && r.localPref !== undefined ? { localPref: r.localPref } : {}),
        ...('med' in r && r.med !== undefined ? { med: r.med } : {}),
        ...('blackhole' in r && r.blackhole === true ? { blackhole: true } : {}),
      });
    });
    return out;
  }

  /** Warns where a session carries a family it has no next hop of its own for. */
  nextHopWarnings(
    peers: readonly PeerConfig[],
    originate: readonly OriginateRoute[],
    nextHop: TernConfig['nextHop'],
  ) {
    peers.forEach((p, i) => {
      const own: IpFamily = p.address.includes(':') ? 'ipv6' : 'ipv4';
      for (const f of p.families) {
        const fam = ipFamilyOf(f);
        if (fam === own || nextHop[fam] !== undefined || !originate.some((r) => r.family === f)) continue;
        this.warnings.push({
          path: `peers[${i}].families`,
          message:
            `${f} over an ${ipLabel(own)} session, but nextHop.${fam} is not set: originated ${ipLabel(fam)} ` +
            `prefixes have no ${ipLabel(fam)} next hop for this peer`,
        });
      }
    });
  }
}

function ipLength(cidr: string): number {
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
