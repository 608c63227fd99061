// The native config's one declared schema (zod 4): every field of the document that `tern run -c` reads,
// `tern calico render` prints and `tern check` validates, with its type, range, canonical form and the
// message tern prints when a value is wrong ("expected ..., got ...", "unknown field (did you mean
// holdTime?)"). Field by field: docs/config.md. `ConfigDocument` (what a file or the Calico translator
// holds) is inferred from it. validate.ts reads a document field by field with these schemas and adds
// what spans fields (inherited session settings, duplicate peers, overlapping pools, passive peers and
// the listener) and the defaults, into the resolved TernConfig of types.ts.
//
// Addresses and prefixes are parsed by bgp/messages/prefix.ts, so that their canonical text is the RIB's;
// ip-address (a second, independent parser) only explains text that prefix.ts refused (a zone index, a
// prefix where an address belongs).

import { Address4, Address6 } from 'ip-address';
import * as z from 'zod';
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
import {
  ADD_PATH_MODES,
  DEFAULTS,
  ENCAPSULATIONS,
  EXPORT_ACTIONS,
  EXPORT_MATCHES,
  type ExportRule,
  FAMILY_NAMES,
  type FamilyName,
  LOG_LEVELS,
  NEXT_HOP_MODES,
  type PoolConfig,
} from './types.js';

/** One problem: `path` is the field (`peers[2].asn`, '' for the document itself). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** 1-based position in the file, for YAML syntax errors. */
  readonly line?: number;
  readonly col?: number;
}

export const UINT32_MAX = 4294967295;
const AS_TRANS = 23456;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
/** The largest gid: (gid_t)-1 means "no change" to chown. */
const MAX_GID = 4294967294;
/** A POSIX portable group name (letters, digits, '.', '_', '-'; not starting with '-'), '$' allowed last. */
const GROUP_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,255}\$?$/;
/** An interface name (IFNAMSIZ: at most 15 bytes) with `*` and `?` wildcards. */
const INTERFACE_PATTERN = /^[A-Za-z0-9_.@:+*?-]{1,15}$/;
const YAML11_BOOLEAN = /^(yes|no|on|off|y|n|true|false)$/i;

/** RFC 1997, RFC 3765, RFC 7999, RFC 8326 well-known communities by the names used in config. */
export const WELL_KNOWN_COMMUNITIES: Readonly<Record<string, number>> = {
  'graceful-shutdown': 0xffff0000,
  blackhole: 0xffff029a,
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'no-peer': 0xffffff04,
};

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

// ---- messages ----

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

/** "expected <what>, got <value>[ <note>]". */
export function expectedText(what: string, got: unknown, note = ''): string {
  return `expected ${what}, got ${describe(got)}${note === '' ? '' : ` ${note}`}`;
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

export function unknownFieldText(key: string, known: readonly string[]): string {
  const hint = suggestKey(key, known);
  return hint ? `unknown field (did you mean ${hint}?)` : `unknown field (known fields: ${known.join(', ')})`;
}

/**
 * Stands for the path of the list or mapping that holds the field an issue is about ("families" for an
 * issue at families[1]); `toIssues` replaces it, as a schema does not know where it is used.
 */
const HERE = '\u0000';

type Note = (input: unknown) => string;

/** The error map of one field: every way its value can be wrong gives the same "expected" sentence. */
function msg(what: string, opts: { note?: Note; missing?: string } = {}) {
  return (iss: { readonly input?: unknown }): string =>
    iss.input === undefined
      ? `expected ${opts.missing ?? what}, got nothing (the field is required)`
      : expectedText(what, iss.input, opts.note?.(iss.input) ?? '');
}

interface IssueSink {
  readonly issues: z.core.$ZodRawIssue[];
}

/** Reports a problem from inside a transform (at `path` below the value) and gives up on the value. */
function fail(ctx: IssueSink, input: unknown, message: string, path: PropertyKey[] = []): never {
  ctx.issues.push({ code: 'custom', input, message, path });
  return z.NEVER;
}

// ---- values ----

/** An integer min..max. */
export function integer(min: number, max: number, what = `an integer ${min}..${max}`, missing?: string) {
  const error = msg(what, missing === undefined ? {} : { missing });
  return z.int({ error }).min(min, { error, abort: true }).max(max, { error });
}

const AS_WHAT = `an AS number 1..${UINT32_MAX}`;
export const asnSchema = integer(1, UINT32_MAX, AS_WHAT).refine((n) => n !== AS_TRANS, {
  error: `expected ${AS_WHAT}, got 23456 (AS_TRANS, RFC 6793: a placeholder, never a real AS)`,
});

const port = integer(1, 65535);
const seconds = integer(1, 65535);

export const booleanSchema = z.boolean({
  error: msg('true or false', {
    note: (v) =>
      typeof v === 'string' && YAML11_BOOLEAN.test(v)
        ? '(YAML 1.2 reads yes/no/on/off as strings: write true or false)'
        : '',
  }),
});

function choice<const T extends readonly string[]>(options: T) {
  return z.enum(options, { error: msg(`one of ${options.join(', ')}`) });
}

export type IpFamily = 'ipv4' | 'ipv6';

export interface Ip {
  readonly address: string;
  readonly family: IpFamily;
}

export function ipLabel(f: IpFamily): string {
  return f === 'ipv4' ? 'IPv4' : 'IPv6';
}

/** An IPv4 or IPv6 address in canonical text (dotted quad, RFC 5952), or undefined. */
export function readIp(s: string): Ip | undefined {
  const v6 = s.includes(':') ? canonicalIpv6(s) : undefined;
  if (v6 !== undefined) return { address: v6, family: 'ipv6' };
  const v4 = parseIpv4(s);
  return v4 === undefined ? undefined : { address: formatIpv4(v4), family: 'ipv4' };
}

/** Why text that is not an address (as prefix.ts reads them) was refused, asked of ip-address. */
function addressNote(s: string): string {
  if (Address6.isValid(s)) {
    const a = new Address6(s);
    if (a.zone !== '') return '(zone indexes such as %eth0 are not supported)';
    if (s.includes('/')) return `(a prefix: write the address without /${a.subnetMask})`;
  }
  if (Address4.isValid(s) && s.includes('/')) {
    return `(a prefix: write the address without /${new Address4(s).subnetMask})`;
  }
  return '';
}

/**
 * An IPv4 or IPv6 address, canonical; not the unspecified address unless `unspecifiedOk`; of `family`
 * when given.
 */
export function addressSchema(opts: { unspecifiedOk?: boolean; family?: IpFamily } = {}) {
  const what = 'an IPv4 or IPv6 address';
  return z.string({ error: msg(what) }).transform((s, ctx): Ip => {
    const ip = readIp(s);
    if (!ip) return fail(ctx, s, expectedText(what, s, addressNote(s)));
    if (!opts.unspecifiedOk && (ip.address === '0.0.0.0' || ip.address === '::')) {
      return fail(ctx, s, expectedText('a unicast address', s, '(the unspecified address)'));
    }
    if (opts.family !== undefined && ip.family !== opts.family) {
      return fail(
        ctx,
        s,
        expectedText(`an ${ipLabel(opts.family)} address`, s, `(an ${ipLabel(ip.family)} address)`),
      );
    }
    return ip;
  });
}

/** An IPv4 address as a dotted quad (router id, cluster id); `nonZero`: not 0.0.0.0. */
function ipv4Schema(what: string, nonZero = false) {
  return z.string({ error: msg(what) }).transform((s, ctx): string => {
    const n = parseIpv4(s);
    if (n === undefined) {
      const note = canonicalIpv6(s) !== undefined ? '(an IPv6 address)' : addressNote(s);
      return fail(ctx, s, expectedText(what, s, note));
    }
    if (nonZero && n === 0) return fail(ctx, s, expectedText('an IPv4 address other than 0.0.0.0', s));
    return formatIpv4(n);
  });
}

export interface PrefixText {
  readonly family: FamilyName;
  /** With host bits cleared, RFC 5952 for IPv6. */
  readonly canonical: string;
  /** Bits after the prefix length: 32 or 128 minus the length. */
  readonly hostLength: number;
  /** The host bits that are set, as an address ("0.0.0.5", "::1"); absent when none are. */
  readonly hostBits?: string;
}

/** "10.244.1.0/26" or "fd00::/122", host bits allowed (and reported); undefined when not a prefix. */
export function readPrefix(s: string): PrefixText | undefined {
  if (!s.includes('/')) return undefined;
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

const PREFIX_WHAT = 'an IPv4 or IPv6 prefix (address/length)';

/** A prefix with a length and no host bits set. */
export const prefixSchema = z.string({ error: msg(PREFIX_WHAT) }).transform((s, ctx): PrefixText => {
  const p = readPrefix(s);
  if (!p) {
    const note = !s.includes('/')
      ? ''
      : s.includes(':')
        ? '(IPv6 prefix lengths are 0..128)'
        : '(IPv4 prefix lengths are 0..32)';
    return fail(ctx, s, expectedText(PREFIX_WHAT, s, note));
  }
  if (p.hostBits !== undefined) {
    return fail(
      ctx,
      s,
      expectedText(
        'a prefix with no host bits set',
        s,
        `(the last ${p.hostLength} bits must be zero, but ${p.hostBits} is set: did you mean ${p.canonical}?)`,
      ),
    );
  }
  return p;
});

const COMMUNITY_WHAT = `a community "AS:value" (each 0..65535), a uint32, or one of ${Object.keys(WELL_KNOWN_COMMUNITIES).join(', ')}`;

/** A community as uint32, or undefined. */
function readCommunity(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= UINT32_MAX ? v : undefined;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(v);
  if (m) {
    const hi = Number(m[1]);
    const lo = Number(m[2]);
    if (hi <= 65535 && lo <= 65535) return (hi * 65536 + lo) >>> 0;
  }
  return WELL_KNOWN_COMMUNITIES[v.toLowerCase().replace(/_/g, '-')];
}

/** RFC 1997 communities ("64512:100", a uint32 or a well-known name) as uint32, no duplicates. */
const communitiesSchema = z
  .array(z.union([z.string(), z.number()], { error: msg(COMMUNITY_WHAT) }), {
    error: msg('a list of communities ("64512:100", no-export, ...)'),
  })
  .transform((items, ctx): number[] => {
    const out: number[] = [];
    items.forEach((item, i) => {
      const c = readCommunity(item);
      if (c === undefined) ctx.issues.push(issue(item, expectedText(COMMUNITY_WHAT, item), [i]));
      else if (out.includes(c)) {
        const first = items.findIndex((x) => readCommunity(x) === c);
        ctx.issues.push(issue(item, `duplicate community ${describe(item)} (also ${HERE}[${first}])`, [i]));
      } else out.push(c);
    });
    return out;
  });

function issue(input: unknown, message: string, path: PropertyKey[]): z.core.$ZodRawIssue {
  return { code: 'custom', input, message, path };
}

// ---- mappings ----

/**
 * A mapping of exactly these fields; an unknown one is reported at its own path with the known field it
 * most likely meant. `what` says what was expected when the value is not a mapping at all.
 */
function mapping<S extends z.ZodRawShape>(shape: S, what: string) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? iss.keys.map((k) => unknownFieldText(k, known)).join('\n')
        : msg(what)(iss),
  });
}

/** `true`, `false` or a mapping (listen, metrics, gracefulRestart, kernel.learn). */
function switchOr<T extends z.ZodType>(object: T, what: string) {
  return z.union([booleanSchema, object], { error: msg(what) });
}

const HOLD_WHAT = '0 or an integer 3..65535 (seconds)';
const holdTimeSchema = z
  .int({ error: msg(HOLD_WHAT) })
  .min(0, { error: msg(HOLD_WHAT), abort: true })
  .max(65535, { error: msg(HOLD_WHAT), abort: true })
  .refine((h) => h === 0 || h >= 3, { error: msg(HOLD_WHAT) });

const ERROR_WAIT_WHAT = '[min, max]: two integers 1..65535 (seconds), min <= max';
const FAMILIES_WHAT = `a non-empty list of ${FAMILY_NAMES.join(', ')}`;
const GR_WHAT = 'true, false or a mapping {enabled, restartTime}';

/** The settings of a BGP session: at the top (every peer's default) and on each peer (its own). */
export const sessionShape = {
  holdTime: holdTimeSchema.optional(),
  keepaliveTime: seconds.optional(),
  connectRetryTime: seconds.optional(),
  errorWaitTime: z
    .tuple([seconds, seconds], { error: msg(ERROR_WAIT_WHAT) })
    .refine(([lo, hi]) => lo <= hi, { error: (iss) => expectedText('min <= max', iss.input) })
    .optional(),
  families: z
    .array(choice(FAMILY_NAMES), { error: msg(FAMILIES_WHAT) })
    .min(1, { error: msg(FAMILIES_WHAT) })
    .transform((list, ctx): readonly FamilyName[] => {
      list.forEach((f, i) => {
        const first = list.indexOf(f);
        if (first !== i) ctx.issues.push(issue(f, `duplicate family ${f} (also ${HERE}[${first}])`, [i]));
      });
      return FAMILY_NAMES.filter((f) => list.includes(f));
    })
    .optional(),
  addPath: choice(ADD_PATH_MODES).optional(),
  extendedMessage: booleanSchema.optional(),
  gracefulRestart: switchOr(
    mapping(
      {
        enabled: booleanSchema.optional(),
        restartTime: integer(1, 4095, 'an integer 1..4095 (seconds; RFC 4724)').optional(),
      },
      GR_WHAT,
    ),
    GR_WHAT,
  ).optional(),
};

const PEER_NAME_WHAT = 'a name of letters, digits and _ ([A-Za-z0-9_]+)';
const MAX_PREFIXES_WHAT = 'a number, or a mapping {limit, restartTime}';

export const peerSchema = mapping(
  {
    address: addressSchema(),
    asn: asnSchema,
    name: z
      .string({ error: msg(PEER_NAME_WHAT) })
      .regex(/^[A-Za-z0-9_]+$/, { error: msg(PEER_NAME_WHAT) })
      .optional(),
    port: port.optional(),
    localAddress: addressSchema().optional(),
    localAsn: asnSchema.optional(),
    passive: booleanSchema.optional(),
    rrClient: booleanSchema.optional(),
    allowOwnAs: integer(
      0,
      255,
      'an integer 0..255: how often our own AS may be in a received AS_PATH',
    ).optional(),
    nextHopSelf: choice(NEXT_HOP_MODES).optional(),
    maxPrefixes: z
      .union(
        [
          integer(1, UINT32_MAX),
          mapping(
            {
              limit: integer(1, UINT32_MAX, undefined, 'the most routes accepted per family'),
              restartTime: integer(1, 86400).optional(),
            },
            MAX_PREFIXES_WHAT,
          ),
        ],
        { error: msg(MAX_PREFIXES_WHAT) },
      )
      .transform((v) =>
        typeof v === 'number'
          ? { limit: v, restartTime: 60 }
          : { limit: v.limit, restartTime: v.restartTime ?? 60 },
      )
      .optional(),
    addPathLimit: integer(1, 255).optional(),
    ...sessionShape,
    password: z
      .never({
        error:
          'TCP MD5 signatures (RFC 2385) cannot be set from Node.js; remove the field (tern does not silently ignore it)',
      })
      .optional(),
  },
  'a mapping {address, asn, ...}',
);

const ROUTE_WHAT = 'a prefix or a mapping {prefix, communities, localPref, med, blackhole}';

/** A prefix tern announces: the prefix alone, or with its attributes. */
export const routeSchema = z
  .union(
    [
      prefixSchema,
      mapping(
        {
          prefix: prefixSchema,
          communities: communitiesSchema.optional(),
          localPref: integer(0, UINT32_MAX).optional(),
          med: integer(0, UINT32_MAX).optional(),
          blackhole: booleanSchema.optional(),
        },
        ROUTE_WHAT,
      ),
    ],
    { error: msg(ROUTE_WHAT) },
  )
  .transform((v) =>
    'canonical' in v ? { prefix: v, communities: [] } : { ...v, communities: v.communities ?? [] },
  );

const EXPORT_RULE_WHAT = 'a mapping {prefix, match, action, communities}';

/** One rule of the export filter (types.ts ExportRule). */
export const exportRuleSchema = mapping(
  {
    prefix: prefixSchema.optional(),
    match: choice(EXPORT_MATCHES).optional(),
    action: choice(EXPORT_ACTIONS),
    communities: communitiesSchema.optional(),
  },
  EXPORT_RULE_WHAT,
).transform((o, ctx): ExportRule => {
  if (o.action === 'addCommunities' && (o.communities ?? []).length === 0) {
    return fail(ctx, o.communities, 'action addCommunities needs a non-empty list of communities', [
      'communities',
    ]);
  }
  if (o.action !== 'addCommunities' && o.communities !== undefined) {
    return fail(
      ctx,
      o.communities,
      `communities go with action addCommunities (an ${o.action} rule adds none)`,
      ['communities'],
    );
  }
  if (o.prefix === undefined && o.match !== undefined) {
    return fail(ctx, o.match, 'match needs a prefix (a rule without one matches every route)', ['match']);
  }
  return {
    ...(o.prefix !== undefined ? { prefix: o.prefix.canonical, family: o.prefix.family } : {}),
    match: o.match ?? 'orLonger',
    action: o.action,
    communities: o.communities ?? [],
  };
});

const POOL_WHAT = 'a mapping {cidr, encapsulation, crossSubnet, blockSize, disableBgpExport, programRoutes}';
const BLOCK_SIZE_WHAT = 'an integer 20..32 (IPv4) or 116..128 (IPv6): a prefix length, as Calico allows';

/** A Calico IP pool, resolved: its defaults depend on its other fields. */
export const poolSchema = mapping(
  {
    cidr: prefixSchema,
    encapsulation: choice(ENCAPSULATIONS).optional(),
    crossSubnet: booleanSchema.optional(),
    blockSize: integer(0, 128, BLOCK_SIZE_WHAT).optional(),
    disableBgpExport: booleanSchema.optional(),
    programRoutes: booleanSchema.optional(),
  },
  POOL_WHAT,
).transform((o, ctx): PoolConfig => {
  const encapsulation = o.encapsulation ?? 'none';
  const programRoutes = o.programRoutes ?? encapsulation !== 'vxlan';
  if (programRoutes && encapsulation === 'vxlan') {
    return fail(
      ctx,
      o.programRoutes,
      'tern cannot program VXLAN routes (Felix does): leave it false for a vxlan pool',
      ['programRoutes'],
    );
  }
  const v6 = o.cidr.family === 'ipv6-unicast';
  const length = (v6 ? 128 : 32) - o.cidr.hostLength;
  if (v6 && encapsulation === 'ipip') {
    return fail(
      ctx,
      o.encapsulation,
      expectedText('none or vxlan for an IPv6 pool', o.encapsulation, '(IP-in-IP carries IPv4 only)'),
      ['encapsulation'],
    );
  }
  const crossSubnet = o.crossSubnet ?? false;
  if (crossSubnet && encapsulation === 'none') {
    return fail(
      ctx,
      crossSubnet,
      'crossSubnet needs encapsulation ipip or vxlan (there is nothing to leave out)',
      ['crossSubnet'],
    );
  }
  let blockSize = Math.max(v6 ? 122 : 26, length);
  if (o.blockSize !== undefined) {
    const lo = Math.max(length, v6 ? 116 : 20);
    const hi = v6 ? 128 : 32;
    if (o.blockSize < lo || o.blockSize > hi) {
      const what = `an integer ${lo}..${hi} (a prefix length: ${v6 ? '116..128' : '20..32'} as Calico allows, and at least the pool's /${length})`;
      return fail(ctx, o.blockSize, expectedText(what, o.blockSize), ['blockSize']);
    }
    blockSize = o.blockSize;
  }
  return {
    cidr: o.cidr.canonical,
    family: o.cidr.family,
    encapsulation,
    crossSubnet,
    blockSize,
    disableBgpExport: o.disableBgpExport ?? false,
    programRoutes,
  };
});

const TABLE_WHAT = `main or a table number 1..${UINT32_MAX} other than 255 (local)`;
const PROTOCOL_WHAT = 'a protocol number 5..255 other than 80';
const INTERFACE_WHAT =
  'an interface name or pattern of at most 15 characters (letters, digits, _ . @ : + - and the wildcards * ?)';
const INTERFACES_WHAT = 'a non-empty list of interface names or patterns (cali*, tap?)';
const LEARN_WHAT = 'true, false or a mapping {blocks, hostRoutes, interfaces}';

export const kernelSchema = mapping(
  {
    table: z
      .union(
        [
          z.literal('main').transform(() => 254),
          integer(1, UINT32_MAX, TABLE_WHAT).refine((n) => n !== 255, { error: msg(TABLE_WHAT) }),
        ],
        { error: msg(TABLE_WHAT) },
      )
      .optional(),
    scanTime: integer(0, 86400, 'an integer 0..86400 (seconds; 0: never)').optional(),
    learn: switchOr(
      mapping(
        {
          blocks: booleanSchema.optional(),
          hostRoutes: booleanSchema.optional(),
          interfaces: z
            .array(
              z
                .string({ error: msg(INTERFACE_WHAT) })
                .regex(INTERFACE_PATTERN, { error: msg(INTERFACE_WHAT) }),
              { error: msg(INTERFACES_WHAT) },
            )
            .min(1, { error: msg(INTERFACES_WHAT) })
            .optional(),
        },
        LEARN_WHAT,
      ),
      LEARN_WHAT,
    ).optional(),
    write: booleanSchema.optional(),
    protocol: z
      .int({ error: msg(PROTOCOL_WHAT) })
      .transform((n, ctx): number => {
        if (n >= 0 && n <= 4) {
          const note =
            "(0..4 are the kernel's, iproute2's and the administrator's: unspec, redirect, kernel, boot, static)";
          return fail(ctx, n, expectedText(PROTOCOL_WHAT, n, note));
        }
        if (n === 80) {
          const note = "(Felix's: tern would take Felix's routes for its own stale ones and delete them)";
          return fail(ctx, n, expectedText(PROTOCOL_WHAT, n, note));
        }
        if (n < 5 || n > 255) return fail(ctx, n, expectedText(PROTOCOL_WHAT, n));
        return n;
      })
      .optional(),
  },
  'a mapping {table, scanTime, learn, write, protocol}',
);

const socketPathSchema = z
  .string({ error: msg('a file path') })
  .min(1, { error: msg('a file path') })
  .transform((s, ctx): string => {
    const bytes = Buffer.byteLength(s);
    if (bytes <= MAX_SOCKET_PATH) return s;
    const what = `a path of at most ${MAX_SOCKET_PATH} bytes (the limit of a Unix socket address)`;
    return fail(ctx, s, expectedText(what, s, `(${bytes} bytes)`));
  });

const GROUP_WHAT = `a group name or a numeric gid 0..${MAX_GID}`;

/** A group name, or a numeric gid (a number, or a string of digits). Whether it exists is checked at start. */
const groupSchema = z
  .union([z.number(), z.string()], { error: msg(GROUP_WHAT) })
  .transform((v, ctx): string | number => {
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v <= MAX_GID) return v;
    } else if (/^\d+$/.test(v)) {
      if (Number(v) <= MAX_GID) return Number(v);
    } else if (GROUP_NAME.test(v)) return v;
    return fail(ctx, v, expectedText(GROUP_WHAT, v));
  });

const CONTROL_WHAT = 'a mapping {socket, group, birdSocket, bird6Socket}';

export const controlSchema = mapping(
  {
    socket: socketPathSchema.optional(),
    group: groupSchema.optional(),
    birdSocket: socketPathSchema.optional(),
    bird6Socket: socketPathSchema.optional(),
  },
  CONTROL_WHAT,
).transform((o, ctx) => {
  // a BIRD-compatible socket must not take the path of another socket (the default one included)
  const taken = new Map([[o.socket ?? DEFAULTS.controlSocket, 'socket']]);
  for (const field of ['birdSocket', 'bird6Socket'] as const) {
    const p = o[field];
    if (p === undefined) continue;
    const other = taken.get(p);
    if (other !== undefined)
      ctx.issues.push(issue(p, expectedText(`a path other than ${HERE}.${other}'s`, p), [field]));
    else taken.set(p, field);
  }
  return o;
});

const LISTEN_WHAT = 'false or a mapping {address, port}';
const METRICS_WHAT = 'true, false or a mapping {address, port}';
const REFLECTOR_WHAT = 'true, or a mapping {clusterId}';
const ROUTER_ID_WHAT = 'an IPv4 address (dotted quad) other than 0.0.0.0';
const endpointShape = { address: addressSchema({ unspecifiedOk: true }).optional(), port: port.optional() };

/** The document: every field, in the order `known fields:` lists them. */
export const configShape = {
  routerId: ipv4Schema(ROUTER_ID_WHAT, true),
  asn: asnSchema.optional(),
  listen: switchOr(mapping(endpointShape, LISTEN_WHAT), LISTEN_WHAT).optional(),
  ...sessionShape,
  nextHop: mapping(
    {
      ipv4: addressSchema({ family: 'ipv4' }).optional(),
      ipv6: addressSchema({ family: 'ipv6' }).optional(),
    },
    'a mapping {ipv4, ipv6}',
  )
    .transform((o): { ipv4?: string; ipv6?: string } => ({
      ...(o.ipv4 ? { ipv4: o.ipv4.address } : {}),
      ...(o.ipv6 ? { ipv6: o.ipv6.address } : {}),
    }))
    .optional(),
  originate: z.array(routeSchema, { error: msg('a list of prefixes') }).optional(),
  exportFilter: z
    .array(exportRuleSchema, { error: msg('a list of export rules ({prefix, match, action})') })
    .optional(),
  multipath: booleanSchema.optional(),
  nextHopResolution: choice(['kernel', 'none'] as const).optional(),
  reflector: z
    .union(
      [
        booleanSchema,
        z.null(),
        mapping({ clusterId: ipv4Schema('a cluster id (dotted quad)').optional() }, REFLECTOR_WHAT),
      ],
      { error: msg(REFLECTOR_WHAT) },
    )
    .optional(),
  pools: z.array(poolSchema, { error: msg('a list of IP pools ({cidr, encapsulation, ...})') }).optional(),
  kernel: kernelSchema.optional(),
  control: controlSchema.optional(),
  log: mapping({ level: choice(LOG_LEVELS).optional() }, 'a mapping {level}').optional(),
  metrics: switchOr(mapping(endpointShape, METRICS_WHAT), METRICS_WHAT).optional(),
  peers: z.array(peerSchema, { error: msg('a list of peers') }).optional(),
};

export const configSchema = mapping(configShape, 'a mapping of settings (routerId, peers, ...)');

/** A native config document as a file or the Calico translator holds it (plain data). */
export type ConfigDocument = z.input<typeof configSchema>;
/** The same document with each field checked and canonical, before defaults and cross-field checks. */
export type ParsedDocument = z.output<typeof configSchema>;

// ---- zod issues -> ConfigIssue ----

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function pathOf(base: string, segments: readonly PropertyKey[]): string {
  let p = base;
  for (const s of segments) p = typeof s === 'number' ? `${p}[${s}]` : at(p, String(s));
  return p;
}

/** True when an option of a union refused the value for its kind (a string where a mapping belongs). */
function wrongKind(issues: readonly z.core.$ZodIssue[]): boolean {
  return issues.every(
    (i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'),
  );
}

/** zod's issues as tern's, under `base`: one per unknown key, and a union's issue as its matching option's. */
export function toIssues(issues: readonly z.core.$ZodIssue[], base: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const iss of issues) {
    const path = pathOf(base, iss.path);
    if (iss.code === 'unrecognized_keys') {
      const messages = iss.message.split('\n');
      iss.keys.forEach((k, i) => {
        out.push({ path: at(path, k), message: messages[i] ?? 'unknown field' });
      });
      continue;
    }
    if (iss.code === 'invalid_union') {
      // `true`, or a mapping with a bad field: the mapping's problem, not "expected true or a mapping"
      const matching = iss.errors.filter((e) => !wrongKind(e));
      if (matching.length === 1) {
        out.push(...toIssues(matching[0]!, path));
        continue;
      }
    }
    out.push({ path, message: iss.message.replaceAll(HERE, pathOf(base, iss.path.slice(0, -1))) });
  }
  return out;
}

/** Checks a whole document against the schema: every problem of every field (no cross-field checks). */
export function checkDocument(raw: unknown): ConfigIssue[] {
  const r = configSchema.safeParse(raw);
  return r.success ? [] : toIssues(r.error.issues, '');
}

function isMapping(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Parsed<S extends z.ZodRawShape> = { -readonly [K in keyof S]?: z.output<S[K]> };

/**
 * Reads a mapping field by field with its schema, so that one bad field leaves the others usable: the
 * valid fields' parsed values (a field left out or refused is absent), or undefined when `v` is not a
 * mapping. Problems go to `issues`: unknown keys first, then the fields in the schema's order. Fields in
 * `lists` are only checked to be lists; the caller reads their items (with their own schemas).
 */
export function readFields<S extends z.ZodRawShape>(
  schema: z.ZodObject<S, z.core.$strict>,
  v: unknown,
  path: string,
  issues: ConfigIssue[],
  lists: readonly (keyof S & string)[] = [],
): Parsed<S> | undefined {
  if (!isMapping(v)) {
    const r = schema.safeParse(v);
    if (!r.success) issues.push(...toIssues(r.error.issues, path));
    return undefined;
  }
  const shape = schema.shape;
  const known = Object.keys(shape);
  for (const key of Object.keys(v)) {
    if (!Object.hasOwn(shape, key))
      issues.push({ path: at(path, key), message: unknownFieldText(key, known) });
  }
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const value = Object.hasOwn(v, key) ? v[key] : undefined;
    if (lists.includes(key) && (value === undefined || Array.isArray(value))) continue;
    const r = (shape[key] as z.ZodType).safeParse(value);
    if (!r.success) issues.push(...toIssues(r.error.issues, at(path, key)));
    else if (r.data !== undefined) out[key] = r.data;
  }
  return out as Parsed<S>;
}

/** Parses one value (a list item) with its schema: the value, or undefined after reporting why not. */
export function readValue<T extends z.ZodType>(
  schema: T,
  v: unknown,
  path: string,
  issues: ConfigIssue[],
): z.output<T> | undefined {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  issues.push(...toIssues(r.error.issues, path));
  return undefined;
}
