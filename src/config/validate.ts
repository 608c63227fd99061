// Checks a parsed config document (plain JS values from YAML or JSON) against the schema in docs/config.md
// and resolves it into a TernConfig. Pure: no file access. Every problem is collected, not just the first;
// the resolved config is returned only when there are none.

import {
  canonicalIpv6,
  formatIpv4,
  formatIpv4Key,
  formatIpv6,
  formatIpv6Key,
  ipv4KeyLen,
  ipv4Mask,
  ipv6KeyLen,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
} from '../bgp/messages/prefix.js';
import { prefixCovers } from '../kernel/address.js';
import {
  ADD_PATH_MODES,
  type AddPathMode,
  DEFAULTS,
  ENCAPSULATIONS,
  FAMILY_NAMES,
  type FamilyName,
  type GracefulRestartConfig,
  type KernelConfig,
  type KernelLearnConfig,
  LOG_LEVELS,
  type LogLevel,
  NEXT_HOP_MODES,
  type OriginateRoute,
  type PeerConfig,
  type PoolConfig,
  peerKey,
  type TernConfig,
} from './types.js';

/** One problem: `path` is the field (`peers[2].asn`, '' for the document itself). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** 1-based position in the file, for YAML syntax errors. */
  readonly line?: number;
  readonly col?: number;
}

export interface ValidationResult {
  /** Present only when `errors` is empty. */
  readonly config: TernConfig | undefined;
  readonly errors: readonly ConfigIssue[];
  /** Legal but probably not what was meant; `tern check` prints them. */
  readonly warnings: readonly ConfigIssue[];
}

const SESSION_KEYS = [
  'holdTime',
  'keepaliveTime',
  'connectRetryTime',
  'errorWaitTime',
  'families',
  'addPath',
  'extendedMessage',
  'gracefulRestart',
] as const;
const TOP_KEYS = [
  'routerId',
  'asn',
  'listen',
  ...SESSION_KEYS,
  'nextHop',
  'originate',
  'multipath',
  'nextHopResolution',
  'reflector',
  'pools',
  'kernel',
  'control',
  'log',
  'metrics',
  'peers',
] as const;
const PEER_KEYS = [
  'address',
  'asn',
  'name',
  'port',
  'localAddress',
  'localAsn',
  'passive',
  'rrClient',
  'nextHopSelf',
  'maxPrefixes',
  'addPathLimit',
  ...SESSION_KEYS,
  'password',
] as const;

/** Names people bring from BIRD, GoBGP, FRR or Calico, for "did you mean". */
const ALIASES: Readonly<Record<string, string>> = {
  routerid: 'routerId',
  id: 'routerId',
  as: 'asn',
  asnumber: 'asn',
  localas: 'localAsn',
  remoteas: 'asn',
  remoteasn: 'asn',
  peeras: 'asn',
  peerasn: 'asn',
  neighbors: 'peers',
  neighbours: 'peers',
  neighbor: 'peers',
  ip: 'address',
  peerip: 'address',
  peeraddress: 'address',
  neighboraddress: 'address',
  sourceaddress: 'localAddress',
  source: 'localAddress',
  keepalive: 'keepaliveTime',
  hold: 'holdTime',
  connectretry: 'connectRetryTime',
  errorwait: 'errorWaitTime',
  addpaths: 'addPath',
  extendedmessages: 'extendedMessage',
  gr: 'gracefulRestart',
  networks: 'originate',
  network: 'originate',
  prefixes: 'originate',
  announce: 'originate',
  listenport: 'listen',
  loglevel: 'log',
  prometheus: 'metrics',
  metricsport: 'metrics',
  socket: 'control',
  afisafis: 'families',
  afisafi: 'families',
  localpreference: 'localPref',
  multiexitdisc: 'med',
  ippools: 'pools',
  ippool: 'pools',
  ipipmode: 'encapsulation',
  vxlanmode: 'encapsulation',
  encap: 'encapsulation',
  scan: 'scanTime',
  proto: 'protocol',
  krtproto: 'protocol',
};
const POOL_KEYS = [
  'cidr',
  'encapsulation',
  'crossSubnet',
  'blockSize',
  'disableBgpExport',
  'programRoutes',
] as const;
const KERNEL_KEYS = ['table', 'scanTime', 'learn', 'write', 'protocol'] as const;
const LEARN_KEYS = ['blocks', 'hostRoutes', 'interfaces'] as const;
/** An interface name (IFNAMSIZ: at most 15 bytes) with `*` and `?` wildcards. */
const INTERFACE_PATTERN = /^[A-Za-z0-9_.@:+*?-]{1,15}$/;

/** RFC 1997, RFC 3765, RFC 7999, RFC 8326 well-known communities by the names used in config. */
export const WELL_KNOWN_COMMUNITIES: Readonly<Record<string, number>> = {
  'graceful-shutdown': 0xffff0000,
  blackhole: 0xffff029a,
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'no-peer': 0xffffff04,
};

const UINT32_MAX = 4294967295;
const AS_TRANS = 23456;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
/** The largest gid: (gid_t)-1 means "no change" to chown. */
const MAX_GID = 4294967294;
/** A POSIX portable group name (letters, digits, '.', '_', '-'; not starting with '-'), '$' allowed last. */
const GROUP_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,255}\$?$/;

type Raw = Readonly<Record<string, unknown>>;
type IpFamily = 'ipv4' | 'ipv6';
interface Ip {
  readonly address: string;
  readonly family: IpFamily;
}

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

/** A value as the user wrote it, for "got ...". */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value (null)';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let json: string;
  try {
    json = JSON.stringify(v);
  } catch {
    json = '';
  }
  if (json.length > 60) json = `${json.slice(0, 57)}...`;
  return `${Array.isArray(v) ? 'a list' : 'a mapping'} ${json}`;
}

function normalizeKey(k: string): string {
  return k.toLowerCase().replace(/[-_\s]/g, '');
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known key an unknown one most likely meant, if any. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const n = normalizeKey(key);
  const same = known.find((k) => normalizeKey(k) === n);
  if (same) return same;
  const alias = ALIASES[n];
  if (alias && known.includes(alias)) return alias;
  let best: string | undefined;
  // edits allowed: 1 for short keys, 2 from three characters, 3 from eight
  let bestDistance = (n.length >= 8 ? 3 : n.length >= 3 ? 2 : 1) + 1;
  for (const k of known) {
    const d = editDistance(n, normalizeKey(k));
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function ipFamilyOf(f: FamilyName): IpFamily {
  return f === 'ipv4-unicast' ? 'ipv4' : 'ipv6';
}

function ipLabel(f: IpFamily): string {
  return f === 'ipv4' ? 'IPv4' : 'IPv6';
}

/** Two listening addresses that would take the same port: equal, `::` (dual-stack), or 0.0.0.0 and IPv4. */
function overlaps(a: string, b: string): boolean {
  if (a === b || a === '::' || b === '::') return true;
  const v4 = (x: string): boolean => !x.includes(':');
  return (a === '0.0.0.0' && v4(b)) || (b === '0.0.0.0' && v4(a));
}

class Validator {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  expected(path: string, what: string, got: unknown, note = ''): void {
    this.error(path, `expected ${what}, got ${describe(got)}${note === '' ? '' : ` ${note}`}`);
  }

  missing(path: string, what: string): void {
    this.error(path, `expected ${what}, got nothing (the field is required)`);
  }

  /** A mapping with only `known` keys; unknown keys are reported, the mapping is still returned. */
  mapping(path: string, v: unknown, what: string, known: readonly string[]): Raw | undefined {
    if (!isMapping(v)) {
      this.expected(path, what, v);
      return undefined;
    }
    for (const key of Object.keys(v)) {
      if (known.includes(key)) continue;
      const hint = suggestKey(key, known);
      this.error(
        at(path, key),
        hint ? `unknown field (did you mean ${hint}?)` : `unknown field (known fields: ${known.join(', ')})`,
      );
    }
    return v;
  }

  // ---- scalar readers: the value, or undefined after reporting why not ----

  integer(path: string, v: unknown, min: number, max: number, what = `an integer ${min}..${max}`) {
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    this.expected(path, what, v);
    return undefined;
  }

  asn(path: string, v: unknown): number | undefined {
    if (v === AS_TRANS) {
      this.error(
        path,
        `expected an AS number 1..${UINT32_MAX}, got 23456 (AS_TRANS, RFC 6793: a placeholder, never a real AS)`,
      );
      return undefined;
    }
    return this.integer(path, v, 1, UINT32_MAX, `an AS number 1..${UINT32_MAX}`);
  }

  boolean(path: string, v: unknown): boolean | undefined {
    if (typeof v === 'boolean') return v;
    const yamlish = typeof v === 'string' && /^(yes|no|on|off|y|n|true|false)$/i.test(v);
    this.expected(
      path,
      'true or false',
      v,
      yamlish ? '(YAML 1.2 reads yes/no/on/off as strings: write true or false)' : '',
    );
    return undefined;
  }

  choice<T extends string>(path: string, v: unknown, options: readonly T[]): T | undefined {
    if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
    this.expected(path, `one of ${options.join(', ')}`, v);
    return undefined;
  }

  ipv4(path: string, v: unknown, what = 'an IPv4 address (dotted quad)'): string | undefined {
    const n = typeof v === 'string' ? parseIpv4(v) : undefined;
    if (n !== undefined) return formatIpv4(n);
    const note = typeof v === 'string' && canonicalIpv6(v) !== undefined ? '(an IPv6 address)' : '';
    this.expected(path, what, v, note);
    return undefined;
  }

  /** An IPv4 or IPv6 address in canonical text; the unspecified address only when `unspecifiedOk`. */
  ip(path: string, v: unknown, unspecifiedOk = false): Ip | undefined {
    let ip: Ip | undefined;
    if (typeof v === 'string') {
      const v6 = v.includes(':') ? canonicalIpv6(v) : undefined;
      const v4 = v6 === undefined ? parseIpv4(v) : undefined;
      if (v6 !== undefined) ip = { address: v6, family: 'ipv6' };
      else if (v4 !== undefined) ip = { address: formatIpv4(v4), family: 'ipv4' };
    }
    if (!ip) {
      const note =
        typeof v === 'string' && v.includes('%') ? '(zone indexes such as %eth0 are not supported)' : '';
      this.expected(path, 'an IPv4 or IPv6 address', v, note);
      return undefined;
    }
    if (!unspecifiedOk && (ip.address === '0.0.0.0' || ip.address === '::')) {
      this.expected(path, 'a unicast address', v, '(the unspecified address)');
      return undefined;
    }
    return ip;
  }

  // ---- the document ----

  top(raw: unknown): TernConfig {
    const what = 'a mapping of settings (routerId, peers, ...)';
    if (raw === null || raw === undefined) {
      this.error('', `expected ${what}, got an empty document`);
      return UNUSABLE;
    }
    const o = this.mapping('', raw, what, TOP_KEYS);
    if (!o) return UNUSABLE;

    let routerId = '0.0.0.0';
    if (!has(o, 'routerId')) this.missing('routerId', 'an IPv4 address (dotted quad) other than 0.0.0.0');
    else {
      const id = this.ipv4('routerId', o.routerId, 'an IPv4 address (dotted quad) other than 0.0.0.0');
      if (id === '0.0.0.0') this.expected('routerId', 'an IPv4 address other than 0.0.0.0', o.routerId);
      else if (id !== undefined) routerId = id;
    }
    const asn = has(o, 'asn') ? (this.asn('asn', o.asn) ?? DEFAULTS.asn) : DEFAULTS.asn;
    const listen = this.listen(o.listen);
    const session = this.session('', o, DEFAULT_SESSION);
    const nextHop = this.nextHop(o.nextHop);
    const control = this.control(o.control);
    const log = this.log(o.log);
    const metrics = this.metrics(o.metrics);
    if (metrics && listen && metrics.port === listen.port && overlaps(metrics.address, listen.address)) {
      this.expected(
        'metrics.port',
        `a port other than listen's (${listen.port} on ${listen.address})`,
        metrics.port,
      );
    }
    const peers = this.peers(o.peers, { routerId, asn, listen, session });
    const enabled = new Set<FamilyName>(session.families);
    for (const p of peers) for (const f of p.families) enabled.add(f);
    const originate = this.originate(o.originate, enabled);
    this.nextHopWarnings(peers, originate, nextHop);
    const reflector = this.reflector(o.reflector, routerId);
    const pools = this.pools(o.pools);
    const kernel = this.kernel(o.kernel, pools);
    const multipath = has(o, 'multipath') ? (this.boolean('multipath', o.multipath) ?? true) : true;
    const nextHopResolution = has(o, 'nextHopResolution')
      ? (this.choice('nextHopResolution', o.nextHopResolution, ['kernel', 'none'] as const) ?? 'kernel')
      : 'kernel';
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
      multipath,
      nextHopResolution,
      reflector,
      pools,
      kernel,
      peers,
    };
  }

  /** `maxPrefixes: 1000` or `{limit: 1000, restartTime: 60}` (seconds before the session restarts). */
  maxPrefixes(path: string, v: unknown): PeerConfig['maxPrefixes'] {
    if (typeof v === 'number') {
      const limit = this.integer(path, v, 1, 0xffffffff);
      return limit === undefined ? null : { limit, restartTime: 60 };
    }
    const o = this.mapping(path, v, 'a number, or a mapping {limit, restartTime}', ['limit', 'restartTime']);
    if (!o) return null;
    const limit = has(o, 'limit') ? this.integer(`${path}.limit`, o.limit, 1, 0xffffffff) : undefined;
    if (!has(o, 'limit')) this.missing(`${path}.limit`, 'the most routes accepted per family');
    const restartTime = has(o, 'restartTime')
      ? this.integer(`${path}.restartTime`, o.restartTime, 1, 86400)
      : 60;
    return limit === undefined || restartTime === undefined ? null : { limit, restartTime };
  }

  /** `reflector: {clusterId}` (or `reflector: true`): tern reflects between its iBGP peers. */
  reflector(v: unknown, routerId: string): TernConfig['reflector'] {
    if (v === undefined || v === false || v === null) return null;
    if (v === true) return { clusterId: routerId };
    const o = this.mapping('reflector', v, 'true, or a mapping {clusterId}', ['clusterId']);
    if (!o) return null;
    const clusterId = has(o, 'clusterId')
      ? this.ipv4('reflector.clusterId', o.clusterId, 'a cluster id (dotted quad)')
      : routerId;
    return { clusterId: clusterId ?? routerId };
  }

  listen(v: unknown): TernConfig['listen'] {
    const dflt = { address: DEFAULTS.listenAddress, port: DEFAULTS.port };
    if (v === undefined || v === true) return dflt;
    if (v === false) return null;
    const o = this.mapping('listen', v, 'false or a mapping {address, port}', ['address', 'port']);
    if (!o) return dflt;
    const address = has(o, 'address') ? this.ip('listen.address', o.address, true)?.address : undefined;
    const port = has(o, 'port') ? this.integer('listen.port', o.port, 1, 65535) : undefined;
    return { address: address ?? dflt.address, port: port ?? dflt.port };
  }

  /** `metrics: {address, port}` (or `true`): the Prometheus endpoint; absent or `false`: off. */
  metrics(v: unknown): TernConfig['metrics'] {
    const dflt = { address: DEFAULTS.metricsAddress, port: DEFAULTS.metricsPort };
    if (v === undefined || v === false) return null;
    if (v === true) return dflt;
    const o = this.mapping('metrics', v, 'true, false or a mapping {address, port}', ['address', 'port']);
    if (!o) return null;
    const address = has(o, 'address') ? this.ip('metrics.address', o.address, true)?.address : undefined;
    const port = has(o, 'port') ? this.integer('metrics.port', o.port, 1, 65535) : undefined;
    return { address: address ?? dflt.address, port: port ?? dflt.port };
  }

  /** The session settings at `path` (the document or one peer) over `base`. */
  session(path: string, o: Raw, base: Session): Session {
    const s: Session = { ...base };
    const p = (k: string): string => at(path, k);
    if (has(o, 'holdTime')) {
      const h = o.holdTime;
      if (typeof h === 'number' && (h === 0 || (Number.isInteger(h) && h >= 3 && h <= 65535))) s.holdTime = h;
      else this.expected(p('holdTime'), '0 or an integer 3..65535 (seconds)', h);
    }
    if (has(o, 'keepaliveTime')) {
      s.keepaliveTime = this.integer(p('keepaliveTime'), o.keepaliveTime, 1, 65535) ?? base.keepaliveTime;
    }
    if (has(o, 'connectRetryTime')) {
      s.connectRetryTime =
        this.integer(p('connectRetryTime'), o.connectRetryTime, 1, 65535) ?? s.connectRetryTime;
    }
    if (has(o, 'errorWaitTime'))
      s.errorWaitTime = this.errorWait(p('errorWaitTime'), o.errorWaitTime) ?? s.errorWaitTime;
    if (has(o, 'families')) s.families = this.families(p('families'), o.families) ?? s.families;
    if (has(o, 'addPath')) s.addPath = this.choice(p('addPath'), o.addPath, ADD_PATH_MODES) ?? s.addPath;
    if (has(o, 'extendedMessage')) {
      s.extendedMessage = this.boolean(p('extendedMessage'), o.extendedMessage) ?? s.extendedMessage;
    }
    if (has(o, 'gracefulRestart'))
      s.gracefulRestart = this.gracefulRestart(p('gracefulRestart'), o.gracefulRestart, s.gracefulRestart);

    // RFC 4271 4.4: keepalives at most every hold time / 3. Checked where the hold time or the keepalive
    // time is set, so an inherited pair that was already reported is not reported again.
    const k = s.keepaliveTime;
    if (
      k !== undefined &&
      s.holdTime !== 0 &&
      k * 3 > s.holdTime &&
      (has(o, 'holdTime') || has(o, 'keepaliveTime'))
    ) {
      if (has(o, 'keepaliveTime')) {
        this.expected(
          p('keepaliveTime'),
          `at most holdTime / 3 (${Math.floor(s.holdTime / 3)} for holdTime ${s.holdTime})`,
          k,
        );
      } else {
        this.expected(
          p('holdTime'),
          `0 or at least 3 × keepaliveTime (${k * 3}; keepaliveTime ${k} is inherited: set it here too)`,
          s.holdTime,
        );
      }
    }
    return s;
  }

  errorWait(path: string, v: unknown): readonly [number, number] | undefined {
    const what = '[min, max]: two integers 1..65535 (seconds), min <= max';
    if (!Array.isArray(v) || v.length !== 2) {
      this.expected(path, what, v);
      return undefined;
    }
    const lo = this.integer(`${path}[0]`, v[0], 1, 65535);
    const hi = this.integer(`${path}[1]`, v[1], 1, 65535);
    if (lo === undefined || hi === undefined) return undefined;
    if (lo > hi) {
      this.expected(path, 'min <= max', v);
      return undefined;
    }
    return [lo, hi];
  }

  families(path: string, v: unknown): readonly FamilyName[] | undefined {
    const what = `a non-empty list of ${FAMILY_NAMES.join(', ')}`;
    if (!Array.isArray(v) || v.length === 0) {
      this.expected(path, what, v);
      return undefined;
    }
    const seen = new Map<FamilyName, number>();
    let ok = true;
    v.forEach((item, i) => {
      const f = this.choice(`${path}[${i}]`, item, FAMILY_NAMES);
      if (f === undefined) ok = false;
      else if (seen.has(f)) {
        this.error(`${path}[${i}]`, `duplicate family ${f} (also ${path}[${seen.get(f)}])`);
        ok = false;
      } else seen.set(f, i);
    });
    return ok ? FAMILY_NAMES.filter((f) => seen.has(f)) : undefined;
  }

  gracefulRestart(path: string, v: unknown, base: GracefulRestartConfig): GracefulRestartConfig {
    if (typeof v === 'boolean') return { enabled: v, restartTime: base.restartTime };
    const o = this.mapping(path, v, 'true, false or a mapping {enabled, restartTime}', [
      'enabled',
      'restartTime',
    ]);
    if (!o) return base;
    const enabled = has(o, 'enabled') ? this.boolean(at(path, 'enabled'), o.enabled) : undefined;
    const restartTime = has(o, 'restartTime')
      ? this.integer(
          at(path, 'restartTime'),
          o.restartTime,
          1,
          4095,
          'an integer 1..4095 (seconds; RFC 4724)',
        )
      : undefined;
    return { enabled: enabled ?? base.enabled, restartTime: restartTime ?? base.restartTime };
  }

  nextHop(v: unknown): TernConfig['nextHop'] {
    if (v === undefined) return {};
    const o = this.mapping('nextHop', v, 'a mapping {ipv4, ipv6}', ['ipv4', 'ipv6']);
    if (!o) return {};
    const out: { ipv4?: string; ipv6?: string } = {};
    for (const fam of ['ipv4', 'ipv6'] as const) {
      if (!has(o, fam)) continue;
      const path = `nextHop.${fam}`;
      const ip = this.ip(path, o[fam]);
      if (!ip) continue;
      if (ip.family !== fam) {
        this.expected(path, `an ${ipLabel(fam)} address`, o[fam], `(an ${ipLabel(ip.family)} address)`);
      } else out[fam] = ip.address;
    }
    return out;
  }

  control(v: unknown): TernConfig['control'] {
    const dflt = { socket: DEFAULTS.controlSocket };
    if (v === undefined) return dflt;
    const o = this.mapping('control', v, 'a mapping {socket, group, birdSocket, bird6Socket}', [
      'socket',
      'group',
      'birdSocket',
      'bird6Socket',
    ]);
    if (!o) return dflt;
    const socket = has(o, 'socket')
      ? (this.socketPath('control.socket', o.socket) ?? dflt.socket)
      : dflt.socket;
    const group = has(o, 'group') ? this.group('control.group', o.group) : undefined;
    const out: { socket: string; group?: string | number; birdSocket?: string; bird6Socket?: string } = {
      socket,
    };
    if (group !== undefined) out.group = group;
    const taken = new Map([[socket, 'control.socket']]);
    for (const field of ['birdSocket', 'bird6Socket'] as const) {
      if (!has(o, field)) continue;
      const path = `control.${field}`;
      const p = this.socketPath(path, o[field]);
      if (p === undefined) continue;
      const other = taken.get(p);
      if (other !== undefined) this.expected(path, `a path other than ${other}'s`, p);
      else {
        taken.set(p, path);
        out[field] = p;
      }
    }
    return out;
  }

  socketPath(path: string, s: unknown): string | undefined {
    if (typeof s !== 'string' || s === '') {
      this.expected(path, 'a file path', s);
      return undefined;
    }
    const bytes = Buffer.byteLength(s);
    if (bytes > MAX_SOCKET_PATH) {
      this.expected(
        path,
        `a path of at most ${MAX_SOCKET_PATH} bytes (the limit of a Unix socket address)`,
        s,
        `(${bytes} bytes)`,
      );
      return undefined;
    }
    return s;
  }

  /** A group name, or a numeric gid (a number, or a string of digits). Whether it exists is checked at start. */
  group(path: string, v: unknown): string | number | undefined {
    const what = `a group name or a numeric gid 0..${MAX_GID}`;
    if (typeof v === 'number') return this.integer(path, v, 0, MAX_GID, what);
    if (typeof v === 'string' && /^\d+$/.test(v)) {
      const gid = Number(v);
      if (gid <= MAX_GID) return gid;
    } else if (typeof v === 'string' && GROUP_NAME.test(v)) return v;
    this.expected(path, what, v);
    return undefined;
  }

  log(v: unknown): TernConfig['log'] {
    const dflt = { level: DEFAULTS.logLevel };
    if (v === undefined) return dflt;
    const o = this.mapping('log', v, 'a mapping {level}', ['level']);
    if (!o || !has(o, 'level')) return dflt;
    return { level: this.choice<LogLevel>('log.level', o.level, LOG_LEVELS) ?? dflt.level };
  }

  // ---- peers ----

  peers(
    v: unknown,
    g: { routerId: string; asn: number; listen: TernConfig['listen']; session: Session },
  ): PeerConfig[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.expected('peers', 'a list of peers', v);
      return [];
    }
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

  peer(
    path: string,
    item: unknown,
    g: { routerId: string; asn: number; listen: TernConfig['listen']; session: Session },
  ): PeerConfig | undefined {
    const o = this.mapping(path, item, 'a mapping {address, asn, ...}', PEER_KEYS);
    if (!o) return undefined;
    const p = (k: string): string => at(path, k);

    if (has(o, 'password')) {
      this.error(
        p('password'),
        'TCP MD5 signatures (RFC 2385) cannot be set from Node.js; remove the field (tern does not silently ignore it)',
      );
    }
    let address: Ip | undefined;
    if (!has(o, 'address')) this.missing(p('address'), 'an IPv4 or IPv6 address');
    else address = this.ip(p('address'), o.address);
    let asn: number | undefined;
    if (!has(o, 'asn')) this.missing(p('asn'), `an AS number 1..${UINT32_MAX}`);
    else asn = this.asn(p('asn'), o.asn);

    let name: string | undefined;
    if (has(o, 'name')) {
      if (typeof o.name === 'string' && /^[A-Za-z0-9_]+$/.test(o.name)) name = o.name;
      else this.expected(p('name'), 'a name of letters, digits and _ ([A-Za-z0-9_]+)', o.name);
    }
    const port = has(o, 'port') ? this.integer(p('port'), o.port, 1, 65535) : DEFAULTS.port;
    let localAddress: string | undefined;
    if (has(o, 'localAddress')) {
      const la = this.ip(p('localAddress'), o.localAddress);
      if (la && address) {
        if (la.family !== address.family) {
          this.expected(
            p('localAddress'),
            `an ${ipLabel(address.family)} address like the peer address ${address.address}`,
            o.localAddress,
          );
        } else if (la.address === address.address) {
          this.expected(
            p('localAddress'),
            `an address other than the peer's own (${address.address})`,
            o.localAddress,
          );
        } else localAddress = la.address;
      }
    }
    const localAsn = has(o, 'localAsn') ? this.asn(p('localAsn'), o.localAsn) : g.asn;
    const passive = has(o, 'passive') ? this.boolean(p('passive'), o.passive) : false;
    const rrClient = has(o, 'rrClient') ? (this.boolean(p('rrClient'), o.rrClient) ?? false) : false;
    const nextHopSelf = has(o, 'nextHopSelf')
      ? (this.choice(p('nextHopSelf'), o.nextHopSelf, NEXT_HOP_MODES) ?? 'auto')
      : 'auto';
    const maxPrefixes = has(o, 'maxPrefixes') ? this.maxPrefixes(p('maxPrefixes'), o.maxPrefixes) : null;
    const addPathLimit = has(o, 'addPathLimit')
      ? (this.integer(p('addPathLimit'), o.addPathLimit, 1, 255) ?? null)
      : null;
    const session = this.session(path, o, g.session);

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

    if (
      !address ||
      asn === undefined ||
      port === undefined ||
      localAsn === undefined ||
      passive === undefined
    ) {
      return undefined;
    }
    const peer: PeerConfig = {
      name: name ?? `peer_${address.address.replace(/[.:]/g, '_')}`,
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
      rrClient,
      nextHopSelf,
      maxPrefixes,
      addPathLimit,
      ibgp: asn === localAsn,
    };
    return peer;
  }

  // ---- IP pools and kernel sync ----

  pools(v: unknown): PoolConfig[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.expected('pools', 'a list of IP pools ({cidr, encapsulation, ...})', v);
      return [];
    }
    const out: { pool: PoolConfig; at: number }[] = [];
    v.forEach((item, i) => {
      const pool = this.pool(`pools[${i}]`, item);
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

  pool(path: string, item: unknown): PoolConfig | undefined {
    const o = this.mapping(
      path,
      item,
      'a mapping {cidr, encapsulation, crossSubnet, blockSize, disableBgpExport, programRoutes}',
      POOL_KEYS,
    );
    if (!o) return undefined;
    const p = (k: string): string => at(path, k);
    let cidr: PrefixText | undefined;
    if (!has(o, 'cidr')) this.missing(p('cidr'), 'an IPv4 or IPv6 prefix (address/length)');
    else cidr = this.prefixText(p('cidr'), o.cidr);
    const encapsulation = has(o, 'encapsulation')
      ? this.choice(p('encapsulation'), o.encapsulation, ENCAPSULATIONS)
      : 'none';
    const crossSubnet = has(o, 'crossSubnet') ? this.boolean(p('crossSubnet'), o.crossSubnet) : false;
    const disableBgpExport = has(o, 'disableBgpExport')
      ? this.boolean(p('disableBgpExport'), o.disableBgpExport)
      : false;
    const programRoutes = has(o, 'programRoutes')
      ? this.boolean(p('programRoutes'), o.programRoutes)
      : encapsulation !== 'vxlan';
    if (
      !cidr ||
      encapsulation === undefined ||
      crossSubnet === undefined ||
      disableBgpExport === undefined ||
      programRoutes === undefined
    ) {
      return undefined;
    }
    if (programRoutes && encapsulation === 'vxlan') {
      this.error(
        p('programRoutes'),
        'tern cannot program VXLAN routes (Felix does): leave it false for a vxlan pool',
      );
      return undefined;
    }
    const v6 = cidr.family === 'ipv6-unicast';
    const length = (v6 ? 128 : 32) - cidr.hostLength;
    if (v6 && encapsulation === 'ipip') {
      this.expected(
        p('encapsulation'),
        'none or vxlan for an IPv6 pool',
        o.encapsulation,
        '(IP-in-IP carries IPv4 only)',
      );
      return undefined;
    }
    if (crossSubnet && encapsulation === 'none') {
      this.error(
        p('crossSubnet'),
        'crossSubnet needs encapsulation ipip or vxlan (there is nothing to leave out)',
      );
      return undefined;
    }
    let blockSize = v6 ? 122 : 26;
    if (has(o, 'blockSize')) {
      const lo = Math.max(length, v6 ? 116 : 20);
      const hi = v6 ? 128 : 32;
      const b = this.integer(
        p('blockSize'),
        o.blockSize,
        lo,
        hi,
        `an integer ${lo}..${hi} (a prefix length: ${v6 ? '116..128' : '20..32'} as Calico allows, and at least the pool's /${length})`,
      );
      if (b === undefined) return undefined;
      blockSize = b;
    } else if (blockSize < length) blockSize = length;
    return {
      cidr: cidr.canonical,
      family: cidr.family,
      encapsulation,
      crossSubnet,
      blockSize,
      disableBgpExport,
      programRoutes,
    };
  }

  kernel(v: unknown, pools: readonly PoolConfig[]): KernelConfig {
    const dflt = DEFAULTS.kernel;
    if (v === undefined) return dflt;
    const o = this.mapping('kernel', v, 'a mapping {table, scanTime, learn, write, protocol}', KERNEL_KEYS);
    if (!o) return dflt;
    let table = dflt.table;
    if (has(o, 'table')) {
      const t = o.table;
      if (t === 'main') table = 254;
      else if (typeof t === 'number' && Number.isInteger(t) && t >= 1 && t <= UINT32_MAX && t !== 255)
        table = t;
      else this.expected('kernel.table', `main or a table number 1..${UINT32_MAX} other than 255 (local)`, t);
    }
    const scanTime = has(o, 'scanTime')
      ? (this.integer('kernel.scanTime', o.scanTime, 0, 86400, 'an integer 0..86400 (seconds; 0: never)') ??
        dflt.scanTime)
      : dflt.scanTime;
    const learn = has(o, 'learn') ? this.learn('kernel.learn', o.learn) : dflt.learn;
    const write = has(o, 'write') ? (this.boolean('kernel.write', o.write) ?? dflt.write) : dflt.write;
    let protocol = dflt.protocol;
    if (has(o, 'protocol')) {
      const n = o.protocol;
      const what = 'a protocol number 5..255 other than 80';
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 4) {
        this.expected(
          'kernel.protocol',
          what,
          n,
          "(0..4 are the kernel's, iproute2's and the administrator's: unspec, redirect, kernel, boot, static)",
        );
      } else if (n === 80) {
        this.expected(
          'kernel.protocol',
          what,
          n,
          "(Felix's: tern would take Felix's routes for its own stale ones and delete them)",
        );
      } else protocol = this.integer('kernel.protocol', n, 5, 255, what) ?? protocol;
    }
    if (learn !== null && pools.length === 0) {
      this.warnings.push({
        path: 'kernel.learn',
        message:
          'no pools are configured: nothing is learned from the kernel (learning is limited to IP pools)',
      });
    }
    return { table, scanTime, learn, write, protocol };
  }

  learn(path: string, v: unknown): KernelLearnConfig | null {
    const dflt = DEFAULTS.kernel.learn;
    if (v === false) return null;
    if (v === true) return dflt;
    const o = this.mapping(path, v, 'true, false or a mapping {blocks, hostRoutes, interfaces}', LEARN_KEYS);
    if (!o || dflt === null) return dflt;
    const blocks = has(o, 'blocks')
      ? (this.boolean(at(path, 'blocks'), o.blocks) ?? dflt.blocks)
      : dflt.blocks;
    const hostRoutes = has(o, 'hostRoutes')
      ? (this.boolean(at(path, 'hostRoutes'), o.hostRoutes) ?? dflt.hostRoutes)
      : dflt.hostRoutes;
    let interfaces = dflt.interfaces;
    if (has(o, 'interfaces')) {
      const list = o.interfaces;
      const what = 'a non-empty list of interface names or patterns (cali*, tap?)';
      if (!Array.isArray(list) || list.length === 0) this.expected(at(path, 'interfaces'), what, list);
      else {
        const ok: string[] = [];
        list.forEach((item, i) => {
          if (typeof item === 'string' && INTERFACE_PATTERN.test(item)) ok.push(item);
          else {
            this.expected(
              `${path}.interfaces[${i}]`,
              'an interface name or pattern of at most 15 characters (letters, digits, _ . @ : + - and the wildcards * ?)',
              item,
            );
          }
        });
        if (ok.length === list.length) interfaces = ok;
      }
    }
    return { blocks, hostRoutes, interfaces };
  }

  // ---- originated routes ----

  originate(v: unknown, enabled: ReadonlySet<FamilyName>): OriginateRoute[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.expected('originate', 'a list of prefixes', v);
      return [];
    }
    const out: OriginateRoute[] = [];
    const seen = new Map<string, number>();
    v.forEach((item, i) => {
      const path = `originate[${i}]`;
      const r = this.route(path, item, enabled);
      if (!r) return;
      const first = seen.get(r.prefix);
      if (first !== undefined) {
        this.error(path, `duplicate prefix ${r.prefix} (also originate[${first}])`);
        return;
      }
      seen.set(r.prefix, i);
      out.push(r);
    });
    return out;
  }

  route(path: string, item: unknown, enabled: ReadonlySet<FamilyName>): OriginateRoute | undefined {
    if (typeof item === 'string') return this.prefix(path, item, enabled);
    const o = this.mapping(
      path,
      item,
      'a prefix or a mapping {prefix, communities, localPref, med, blackhole}',
      ['prefix', 'communities', 'localPref', 'med', 'blackhole'],
    );
    if (!o) return undefined;
    let base: OriginateRoute | undefined;
    if (!has(o, 'prefix')) this.missing(at(path, 'prefix'), 'an IPv4 or IPv6 prefix (address/length)');
    else base = this.prefix(at(path, 'prefix'), o.prefix, enabled);
    const communities = has(o, 'communities') ? this.communities(at(path, 'communities'), o.communities) : [];
    const localPref = has(o, 'localPref')
      ? this.integer(at(path, 'localPref'), o.localPref, 0, UINT32_MAX)
      : undefined;
    const med = has(o, 'med') ? this.integer(at(path, 'med'), o.med, 0, UINT32_MAX) : undefined;
    const blackhole = has(o, 'blackhole') ? this.boolean(at(path, 'blackhole'), o.blackhole) : undefined;
    if (!base || !communities) return undefined;
    return {
      ...base,
      communities,
      ...(localPref !== undefined ? { localPref } : {}),
      ...(med !== undefined ? { med } : {}),
      ...(blackhole === true ? { blackhole } : {}),
    };
  }

  prefix(path: string, v: unknown, enabled: ReadonlySet<FamilyName>): OriginateRoute | undefined {
    const p = this.prefixText(path, v);
    if (!p) return undefined;
    if (!enabled.has(p.family)) {
      const on = [...enabled].join(', ') || 'none';
      this.expected(path, `a prefix of an enabled family (${on})`, v, `(${p.family})`);
      return undefined;
    }
    return { prefix: p.canonical, family: p.family, communities: [] };
  }

  /** A prefix with a length and no host bits set, or undefined after saying what is wrong. */
  prefixText(path: string, v: unknown): PrefixText | undefined {
    const what = 'an IPv4 or IPv6 prefix (address/length)';
    const p = typeof v === 'string' && v.includes('/') ? readPrefix(v) : undefined;
    if (!p) {
      const note =
        typeof v !== 'string' || !v.includes('/')
          ? ''
          : v.includes(':')
            ? '(IPv6 prefix lengths are 0..128)'
            : '(IPv4 prefix lengths are 0..32)';
      this.expected(path, what, v, note);
      return undefined;
    }
    if (p.hostBits !== undefined) {
      this.expected(
        path,
        'a prefix with no host bits set',
        v,
        `(the last ${p.hostLength} bits must be zero, but ${p.hostBits} is set: did you mean ${p.canonical}?)`,
      );
      return undefined;
    }
    return p;
  }

  communities(path: string, v: unknown): number[] | undefined {
    if (!Array.isArray(v)) {
      this.expected(path, 'a list of communities ("64512:100", no-export, ...)', v);
      return undefined;
    }
    const out: number[] = [];
    let ok = true;
    v.forEach((item, i) => {
      const c = this.community(`${path}[${i}]`, item);
      if (c === undefined) ok = false;
      else if (out.includes(c)) {
        this.error(
          `${path}[${i}]`,
          `duplicate community ${describe(item)} (also ${path}[${out.indexOf(c)}])`,
        );
        ok = false;
      } else out.push(c);
    });
    return ok ? out : undefined;
  }

  community(path: string, v: unknown): number | undefined {
    if (typeof v === 'string') {
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(v);
      if (m) {
        const hi = Number(m[1]);
        const lo = Number(m[2]);
        if (hi <= 65535 && lo <= 65535) return (hi * 65536 + lo) >>> 0;
      }
      const wk = WELL_KNOWN_COMMUNITIES[v.toLowerCase().replace(/_/g, '-')];
      if (wk !== undefined) return wk;
    } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX) {
      return v;
    }
    this.expected(
      path,
      `a community "AS:value" (each 0..65535), a uint32, or one of ${Object.keys(WELL_KNOWN_COMMUNITIES).join(', ')}`,
      v,
    );
    return undefined;
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

interface PrefixText {
  readonly family: FamilyName;
  /** With host bits cleared, RFC 5952 for IPv6. */
  readonly canonical: string;
  /** Bits after the prefix length: 32 or 128 minus the length. */
  readonly hostLength: number;
  /** The host bits that are set, as an address ("0.0.0.5", "::1"); absent when none are. */
  readonly hostBits?: string;
}

function ipLength(cidr: string): number {
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}

/** "10.244.1.0/26" or "fd00::/122", host bits allowed (and reported); undefined when not a prefix. */
function readPrefix(s: string): PrefixText | undefined {
  const address = s.slice(0, s.indexOf('/'));
  if (s.includes(':')) {
    const key = parseIpv6Prefix(s, true);
    if (key === undefined) return undefined;
    const len = ipv6KeyLen(key);
    const host = parseIpv6(address)!.map((b, i) => b & (0xff >> Math.max(0, Math.min(8, len - i * 8))));
    return {
      family: 'ipv6-unicast',
      canonical: formatIpv6Key(key),
      hostLength: 128 - len,
      ...(host.some((b) => b !== 0) ? { hostBits: formatIpv6(host) } : {}),
    };
  }
  const key = parseIpv4Prefix(s, true);
  if (key === undefined) return undefined;
  const len = ipv4KeyLen(key);
  const host = (parseIpv4(address)! & ~ipv4Mask(len)) >>> 0;
  return {
    family: 'ipv4-unicast',
    canonical: formatIpv4Key(key),
    hostLength: 32 - len,
    ...(host !== 0 ? { hostBits: formatIpv4(host) } : {}),
  };
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
