// fast-check arbitraries for valid BGP messages, in the exact form decoding produces them, so that
// decodeMessage(encodeMessage(m, ctx), ctx) can be compared with m by deep equality.
//
// What "the form decoding produces" means, field by field (each rule below is one the generators obey):
// - addresses are canonical text: dotted quads, IPv6 in RFC 5952 form as formatIpv6 writes it;
// - prefixes are keys with host bits zero (prefix.ts), path identifiers present exactly when ADD-PATH
//   applies to the family, except that an empty IPv4 Withdrawn Routes / NLRI field decodes as
//   NO_IPV4_PREFIXES (no `pathIds`) even with ADD-PATH;
// - list attributes are non-empty (an empty one is not written), ATOMIC_AGGREGATE is `true` or absent;
// - AS_PATH segments hold 1..255 ASes (longer ones are split on the wire);
// - unknown attributes are optional transitive with Partial set (0xe0), unique codes, ascending;
// - an UPDATE that announces routes carries ORIGIN and AS_PATH, and NEXT_HOP when it has IPv4 NLRI
//   (otherwise decoding reports them missing);
// - on a 2-octet AS context (as4: false) AS_PATH is mergeable (RFC 6793 4.2.3): AS_SET / AS_SEQUENCE
//   segments, confederation segments only in front and with 2-octet ASes, and when it needs AS4_PATH
//   an AGGREGATOR carries a 4-octet AS or AS_TRANS (AS4_PATH is ignored beside a 2-octet AGGREGATOR);
// - capabilities are ones whose value encodes and decodes as themselves (ADD-PATH families send or
//   receive, UTF-8 strings within 255 octets, unknown codes only for codes tern does not know).

import fc from 'fast-check';
import { expect } from 'vitest';
import type {
  Aggregator,
  AsPathSegment,
  Capability,
  CodecContext,
  Ipv4Prefixes,
  Ipv6ExtendedCommunity,
  Ipv6Prefixes,
  KeepaliveMessage,
  LargeCommunity,
  MpReach,
  MpUnreach,
  NotificationMessage,
  OpenMessage,
  PathAttributes,
  RawAttribute,
  RouteRefreshMessage,
  UpdateMessage,
} from '../../src/bgp/messages/index.js';
import {
  Afi,
  AS_TRANS,
  AsPathSegmentType,
  AttrType,
  BgpError,
  CapabilityCode,
  decodeMessage,
  ERROR_SUBCODE_NAMES,
  encodeMessage,
  formatIpv6,
  IPV4_UNICAST,
  IPV6_UNICAST,
  makeContext,
  NO_IPV4_PREFIXES,
  Safi,
} from '../../src/bgp/messages/index.js';

/** fc.record making ordinary objects, as applications build them (fast-check also makes null-prototype ones). */
export function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

type Model<T> = { [K in keyof T]?: fc.Arbitrary<NonNullable<T[K]>> };

/**
 * A record with each key present or absent (about half the time each; absent keys are left out, not
 * undefined). Cheaper than fc.record's optional keys, which are present five times out of six.
 */
export function someOf<T extends object>(model: Model<T>): fc.Arbitrary<T> {
  const entries = Object.entries(model) as [string, fc.Arbitrary<unknown>][];
  return fc.tuple(...entries.map(([, arb]) => fc.option(arb, { freq: 2, nil: undefined }))).map((values) => {
    const out: Record<string, unknown> = {};
    values.forEach((v, i) => {
      if (v !== undefined) out[entries[i]![0]] = v;
    });
    return out as T;
  });
}

// ---- numbers and addresses ----

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
/** fast-check biases integers towards small values and the extremes already. */
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** AS numbers: 2-octet ones, 4-octet ones, and the values around the boundary (RFC 6793). */
export const asNumber = fc.oneof(
  { weight: 2, arbitrary: u16 },
  { weight: 2, arbitrary: u32 },
  { weight: 1, arbitrary: fc.constantFrom(0, 0xffff, 0x10000, AS_TRANS, 0xffffffff) },
);

export function bytes(maxLength: number, minLength = 0): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength, maxLength });
}

/**
 * Pseudo-random bytes from a seed (xorshift32): big values without drawing them byte by byte, which
 * would cost fast-check more than the whole property. They shrink through their length and seed.
 */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

export function bigBytes(minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.integer({ min: minLength, max: maxLength }), fc.nat())
    .map(([n, seed]) => seededBytes(n, seed));
}

/**
 * Arrays mostly of up to 4 items, now and then of up to `maxLength`: long lists are worth a few runs,
 * not the cost of making them on every run.
 */
export function list<T>(item: fc.Arbitrary<T>, maxLength: number, minLength = 0): fc.Arbitrary<T[]> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.array(item, { minLength, maxLength: Math.max(minLength, Math.min(4, maxLength)) }),
    },
    { weight: 1, arbitrary: fc.array(item, { minLength, maxLength }) },
  );
}

function dottedQuad(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export const ipv4Address: fc.Arbitrary<string> = u32.map(dottedQuad);

/**
 * 16 address bytes, biased towards runs of zero groups so that `::` compression shows up: bit i of
 * the mask zeroes group i. Masks past 255 give IPv4-mapped addresses (RFC 5952 5: ::ffff:a.b.c.d).
 */
export const ipv6Bytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.integer({ min: 0, max: 300 }), fc.uint8Array({ minLength: 16, maxLength: 16 }))
  .map(([mask, b]) => {
    const out = b.slice();
    if (mask > 255) {
      out.fill(0, 0, 10);
      out[10] = 0xff;
      out[11] = 0xff;
      return out;
    }
    for (let g = 0; g < 8; g++) if (mask & (1 << g)) out.fill(0, g * 2, g * 2 + 2);
    return out;
  });

/** RFC 5952 text, as decoding writes it. */
export const ipv6Address: fc.Arbitrary<string> = ipv6Bytes.map((b) => formatIpv6(b));

// ---- prefixes (keys built here, independently of prefix.ts) ----

function v4Mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export const ipv4PrefixKey: fc.Arbitrary<number> = fc
  .tuple(u32, fc.integer({ min: 0, max: 32 }))
  .map(([addr, len]) => ((addr & v4Mask(len)) >>> 0) * 64 + len);

export const ipv6PrefixKey: fc.Arbitrary<string> = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
  .map(([b, len]) => {
    const g: number[] = [];
    for (let i = 0; i < 8; i++) {
      const v = (b[i * 2]! << 8) | b[i * 2 + 1]!;
      const bits = len - i * 16;
      g.push(bits >= 16 ? v : bits <= 0 ? 0 : v & ((0xffff << (16 - bits)) & 0xffff));
    }
    return String.fromCharCode(...g, len);
  });

const MAX_PREFIXES = 16;

/** The IPv4 Withdrawn Routes / NLRI field. */
export function ipv4Field(addPath: boolean): fc.Arbitrary<Ipv4Prefixes> {
  return list(ipv4PrefixKey, MAX_PREFIXES).chain((prefixes) => {
    if (prefixes.length === 0) return fc.constant(NO_IPV4_PREFIXES);
    if (!addPath) return fc.constant<Ipv4Prefixes>({ afi: Afi.IPV4, prefixes });
    return fc
      .array(u32, { minLength: prefixes.length, maxLength: prefixes.length })
      .map((pathIds): Ipv4Prefixes => ({ afi: Afi.IPV4, prefixes, pathIds }));
  });
}

/** An IPv4 or IPv6 list inside MP_REACH_NLRI / MP_UNREACH_NLRI (empty lists keep `pathIds: []`). */
export function mpPrefixList(afi: 1, addPath: boolean): fc.Arbitrary<Ipv4Prefixes>;
export function mpPrefixList(afi: 2, addPath: boolean): fc.Arbitrary<Ipv6Prefixes>;
export function mpPrefixList(afi: 1 | 2, addPath: boolean): fc.Arbitrary<Ipv4Prefixes | Ipv6Prefixes> {
  const withIds = <P>(prefixes: P[]): fc.Arbitrary<{ prefixes: P[]; pathIds?: number[] }> =>
    addPath
      ? fc
          .array(u32, { minLength: prefixes.length, maxLength: prefixes.length })
          .map((pathIds) => ({ prefixes, pathIds }))
      : fc.constant({ prefixes });
  if (afi === Afi.IPV4) {
    return list(ipv4PrefixKey, MAX_PREFIXES)
      .chain(withIds)
      .map((l): Ipv4Prefixes => ({ afi: Afi.IPV4, ...l }));
  }
  return list(ipv6PrefixKey, MAX_PREFIXES)
    .chain(withIds)
    .map((l): Ipv6Prefixes => ({ afi: Afi.IPV6, ...l }));
}

// ---- contexts ----

export interface ContextOptions {
  readonly as4?: boolean;
  readonly addPath?: boolean;
  /** RFC 8654 (default off). */
  readonly extendedMessage?: boolean;
}

/** Every context the properties use: 4- or 2-octet AS, ADD-PATH for no family, IPv4, IPv6 or both. */
export function contexts(opts: ContextOptions = {}): CodecContext[] {
  const out: CodecContext[] = [];
  for (const as4 of [true, false]) {
    if (opts.as4 !== undefined && opts.as4 !== as4) continue;
    for (const families of [[], [IPV4_UNICAST], [IPV6_UNICAST], [IPV4_UNICAST, IPV6_UNICAST]]) {
      if (opts.addPath !== undefined && opts.addPath !== families.length > 0) continue;
      out.push({ as4, addPath: new Set(families), extendedMessage: opts.extendedMessage ?? false });
    }
  }
  return out;
}

/**
 * A context (as `contexts(opts)`) and a value made for it. The arbitraries are built once per context
 * (fc.chain would rebuild them on every run, which costs more than the run).
 */
export function withContext<T>(
  opts: ContextOptions,
  make: (ctx: CodecContext) => fc.Arbitrary<T>,
): fc.Arbitrary<{ ctx: CodecContext; value: T }> {
  return fc.oneof(...contexts(opts).map((ctx) => make(ctx).map((value) => ({ ctx, value }))));
}

function addPathFor(ctx: CodecContext, afi: number, safi: number): boolean {
  return ctx.addPath.has((afi << 8) | safi);
}

// ---- path attributes ----

export const origin = fc.constantFrom(0 as const, 1 as const, 2 as const);

const ALL_SEGMENT_TYPES = [
  AsPathSegmentType.AS_SET,
  AsPathSegmentType.AS_SEQUENCE,
  AsPathSegmentType.AS_CONFED_SEQUENCE,
  AsPathSegmentType.AS_CONFED_SET,
] as const;

export function asPath(as4: boolean): fc.Arbitrary<AsPathSegment[]> {
  const types = as4
    ? ALL_SEGMENT_TYPES
    : ([AsPathSegmentType.AS_SET, AsPathSegmentType.AS_SEQUENCE] as const);
  const asn = as4 ? asNumber : fc.oneof({ weight: 2, arbitrary: u16 }, { weight: 1, arbitrary: asNumber });
  // the 255-AS limit of one segment and one just under it, made from a seed
  const long = fc.tuple(fc.constantFrom(254, 255), fc.nat()).map(([n, seed]) => {
    const b = seededBytes(n * 4, seed);
    const v = new DataView(b.buffer);
    return Array.from({ length: n }, (_, i) => (as4 ? v.getUint32(i * 4) : v.getUint16(i * 4)));
  });
  const segment = record({
    type: fc.constantFrom(...types),
    asns: fc.oneof({ weight: 20, arbitrary: list(asn, 12, 1) }, { weight: 1, arbitrary: long }),
  });
  const path = fc.array(segment, { maxLength: 4 });
  if (as4) return path.filter((segs) => segs.reduce((n, s) => n + s.asns.length, 0) <= 300);
  // 2-octet AS: confederation segments only in front and with 2-octet ASes (AS4_PATH carries none,
  // RFC 6793 3, so a 4-octet member AS could not come back); the merge keeps leading ones (4.2.3)
  const confed = record({
    type: fc.constantFrom(AsPathSegmentType.AS_CONFED_SEQUENCE, AsPathSegmentType.AS_CONFED_SET),
    asns: list(u16, 4, 1),
  });
  return fc
    .tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: list(confed, 2, 1) }),
      path,
    )
    .map(([front, rest]) => [...front, ...rest])
    .filter((segs) => segs.reduce((n, s) => n + s.asns.length, 0) <= 300);
}

export const aggregator: fc.Arbitrary<Aggregator> = record({ as: asNumber, address: ipv4Address });

const largeCommunity: fc.Arbitrary<LargeCommunity> = record({
  globalAdmin: u32,
  localData1: u32,
  localData2: u32,
});

const ipv6ExtendedCommunity: fc.Arbitrary<Ipv6ExtendedCommunity> = record({
  type: u8,
  subtype: u8,
  address: ipv6Address,
  localAdmin: u16,
});

const u64 = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n) },
);

const KNOWN_ATTRIBUTE_CODES: ReadonlySet<number> = new Set(Object.values(AttrType));

/** Flags decoding gives an unknown optional transitive attribute: Optional, Transitive, Partial. */
export const UNKNOWN_ATTRIBUTE_FLAGS = 0xe0;

const unknownAttributes: fc.Arbitrary<RawAttribute[]> = fc
  .uniqueArray(
    record({
      flags: fc.constant(UNKNOWN_ATTRIBUTE_FLAGS),
      code: u8.filter((c) => !KNOWN_ATTRIBUTE_CODES.has(c)),
      value: fc.oneof(
        { weight: 6, arbitrary: bytes(16) },
        // around the 1-octet / 2-octet (Extended Length) boundary, and beyond
        { weight: 1, arbitrary: bigBytes(254, 300) },
        { weight: 1, arbitrary: bigBytes(300, 1000) },
      ),
    }),
    { minLength: 1, maxLength: 3, selector: (a) => a.code },
  )
  .map((attrs) => [...attrs].sort((x, y) => x.code - y.code));

function isUnicastFamily(afi: number, safi: number): boolean {
  return (afi === Afi.IPV4 || afi === Afi.IPV6) && safi === Safi.UNICAST;
}

/** Any family but IPv4/IPv6 unicast: carried as opaque bytes. */
const opaqueFamily = record({
  afi: fc.oneof(fc.constantFrom(Afi.IPV4, Afi.IPV6, 25), u16),
  safi: fc.oneof(fc.constantFrom(Safi.UNICAST, Safi.MULTICAST, 4, 70, 128), u8),
}).filter(({ afi, safi }) => !isUnicastFamily(afi, safi));

export function mpReach(ctx: CodecContext): fc.Arbitrary<MpReach> {
  const v6NextHop = fc.oneof(
    ipv6Address.map((nextHop) => ({ nextHop })),
    record({ nextHop: ipv6Address, linkLocalNextHop: ipv6Address }),
  );
  return fc.oneof(
    record({ hop: v6NextHop, nlri: mpPrefixList(Afi.IPV6, addPathFor(ctx, Afi.IPV6, Safi.UNICAST)) }).map(
      ({ hop, nlri }): MpReach => ({ kind: 'unicast', afi: Afi.IPV6, safi: Safi.UNICAST, ...hop, nlri }),
    ),
    record({
      // RFC 8950: IPv4 NLRI with an IPv6 next hop, as well as the plain IPv4 one
      hop: fc.oneof(
        ipv4Address.map((nextHop) => ({ nextHop })),
        v6NextHop,
      ),
      nlri: mpPrefixList(Afi.IPV4, addPathFor(ctx, Afi.IPV4, Safi.UNICAST)),
    }).map(
      ({ hop, nlri }): MpReach => ({ kind: 'unicast', afi: Afi.IPV4, safi: Safi.UNICAST, ...hop, nlri }),
    ),
    record({ family: opaqueFamily, nextHop: bytes(32), nlri: bytes(64) }).map(
      ({ family, nextHop, nlri }): MpReach => ({ kind: 'opaque', ...family, nextHop, nlri }),
    ),
  );
}

export function mpUnreach(ctx: CodecContext): fc.Arbitrary<MpUnreach> {
  return fc.oneof(
    mpPrefixList(Afi.IPV6, addPathFor(ctx, Afi.IPV6, Safi.UNICAST)).map(
      (withdrawn): MpUnreach => ({ kind: 'unicast', afi: Afi.IPV6, safi: Safi.UNICAST, withdrawn }),
    ),
    mpPrefixList(Afi.IPV4, addPathFor(ctx, Afi.IPV4, Safi.UNICAST)).map(
      (withdrawn): MpUnreach => ({ kind: 'unicast', afi: Afi.IPV4, safi: Safi.UNICAST, withdrawn }),
    ),
    record({ family: opaqueFamily, withdrawn: bytes(64) }).map(
      ({ family, withdrawn }): MpUnreach => ({ kind: 'opaque', ...family, withdrawn }),
    ),
  );
}

function needsAs4Path(path: readonly AsPathSegment[] | undefined): boolean {
  return path?.some((s) => s.asns.some((as) => as > 0xffff)) ?? false;
}

export function pathAttributes(ctx: CodecContext): fc.Arbitrary<PathAttributes> {
  return someOf({
    origin,
    asPath: asPath(ctx.as4),
    nextHop: ipv4Address,
    med: u32,
    localPref: u32,
    atomicAggregate: fc.constant(true),
    aggregator,
    communities: list(u32, 16, 1),
    originatorId: ipv4Address,
    clusterList: list(ipv4Address, 8, 1),
    mpReach: mpReach(ctx),
    mpUnreach: mpUnreach(ctx),
    extendedCommunities: list(u64, 8, 1),
    ipv6ExtendedCommunities: list(ipv6ExtendedCommunity, 4, 1),
    largeCommunities: list(largeCommunity, 8, 1),
    unknown: unknownAttributes,
  }).map((a): PathAttributes => {
    // RFC 6793 4.2.3: beside an AGGREGATOR with a 2-octet AS other than AS_TRANS, AS4_PATH is ignored.
    if (
      !ctx.as4 &&
      a.aggregator &&
      a.aggregator.as <= 0xffff &&
      a.aggregator.as !== AS_TRANS &&
      needsAs4Path(a.asPath)
    ) {
      return { ...a, aggregator: { ...a.aggregator, as: AS_TRANS } };
    }
    return a;
  });
}

/** What an announcing UPDATE that lacks them gets (2-octet ASes, so no AS4_PATH rules come in). */
const DEFAULT_ORIGIN = 0;
const DEFAULT_AS_PATH: readonly AsPathSegment[] = [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001] }];
const DEFAULT_NEXT_HOP = '192.0.2.1';

/** Messages are at most 4096 octets without the Extended Message capability (RFC 4271 4.1). */
export const MAX_MESSAGE = 4096;

export function updateMessage(ctx: CodecContext): fc.Arbitrary<UpdateMessage> {
  return unsizedUpdate(ctx).filter((m) => updateWireSize(m, ctx) <= MAX_MESSAGE);
}

function unsizedUpdate(
  ctx: CodecContext,
  attributes: fc.Arbitrary<PathAttributes> = pathAttributes(ctx),
): fc.Arbitrary<UpdateMessage> {
  const v4AddPath = addPathFor(ctx, Afi.IPV4, Safi.UNICAST);
  return record({
    withdrawn: ipv4Field(v4AddPath),
    attributes,
    nlri: ipv4Field(v4AddPath),
  }).map(({ withdrawn, attributes, nlri }): UpdateMessage => {
    const mp = attributes.mpReach;
    const announces =
      nlri.prefixes.length > 0 ||
      (mp !== undefined && (mp.kind === 'opaque' ? mp.nlri.length > 0 : mp.nlri.prefixes.length > 0));
    if (!announces) return { type: 'update', withdrawn, attributes, nlri };
    const a: PathAttributes = { ...attributes };
    a.origin ??= DEFAULT_ORIGIN;
    a.asPath ??= DEFAULT_AS_PATH;
    if (nlri.prefixes.length > 0) a.nextHop ??= DEFAULT_NEXT_HOP;
    return { type: 'update', withdrawn, attributes: a, nlri };
  });
}

/**
 * The size of the encoded UPDATE, computed here from RFC 4271 4.3 independently of the encoder (so a
 * property can check the encoder's length too, as dns-packet's encodingLength tests do).
 */
export function updateWireSize(m: UpdateMessage, ctx: CodecContext): number {
  const v4AddPath = addPathFor(ctx, Afi.IPV4, Safi.UNICAST);
  const v4 = (l: Ipv4Prefixes, addPath: boolean): number =>
    l.prefixes.reduce((n, k) => n + (addPath ? 5 : 1) + (((k % 64) + 7) >> 3), 0);
  const v6 = (l: Ipv6Prefixes, addPath: boolean): number =>
    l.prefixes.reduce((n, k) => n + (addPath ? 5 : 1) + ((k.charCodeAt(8) + 7) >> 3), 0);
  const list = (l: Ipv4Prefixes | Ipv6Prefixes, afi: number, safi: number): number =>
    l.afi === Afi.IPV4 ? v4(l, addPathFor(ctx, afi, safi)) : v6(l, addPathFor(ctx, afi, safi));
  const attr = (valueLength: number): number => (valueLength > 255 ? 4 : 3) + valueLength;
  const segments = (segs: readonly AsPathSegment[], asSize: number): number =>
    segs.reduce((n, s) => n + 2 + s.asns.length * asSize, 0);

  const a = m.attributes;
  let attrs = 0;
  if (a.origin !== undefined) attrs += attr(1);
  if (a.asPath !== undefined) {
    attrs += attr(segments(a.asPath, ctx.as4 ? 4 : 2));
    if (!ctx.as4 && needsAs4Path(a.asPath)) {
      attrs += attr(
        segments(
          a.asPath.filter((s) => s.type <= AsPathSegmentType.AS_SEQUENCE),
          4,
        ),
      );
    }
  }
  if (a.nextHop !== undefined) attrs += attr(4);
  if (a.med !== undefined) attrs += attr(4);
  if (a.localPref !== undefined) attrs += attr(4);
  if (a.atomicAggregate) attrs += attr(0);
  if (a.aggregator !== undefined) {
    attrs += attr(ctx.as4 ? 8 : 6);
    if (!ctx.as4 && a.aggregator.as > 0xffff) attrs += attr(8);
  }
  if (a.communities?.length) attrs += attr(4 * a.communities.length);
  if (a.originatorId !== undefined) attrs += attr(4);
  if (a.clusterList?.length) attrs += attr(4 * a.clusterList.length);
  if (a.extendedCommunities?.length) attrs += attr(8 * a.extendedCommunities.length);
  if (a.ipv6ExtendedCommunities?.length) attrs += attr(20 * a.ipv6ExtendedCommunities.length);
  if (a.largeCommunities?.length) attrs += attr(12 * a.largeCommunities.length);
  for (const u of a.unknown ?? []) attrs += attr(u.value.length);
  const r = a.mpReach;
  if (r !== undefined) {
    if (r.kind === 'opaque') attrs += attr(5 + r.nextHop.length + r.nlri.length);
    else {
      const hop = r.linkLocalNextHop !== undefined ? 32 : r.nextHop.includes(':') ? 16 : 4;
      attrs += attr(5 + hop + list(r.nlri, r.afi, r.safi));
    }
  }
  const u = a.mpUnreach;
  if (u !== undefined)
    attrs += attr(3 + (u.kind === 'opaque' ? u.withdrawn.length : list(u.withdrawn, u.afi, u.safi)));
  return 19 + 2 + v4(m.withdrawn, v4AddPath) + 2 + attrs + v4(m.nlri, v4AddPath);
}

// ---- big messages (RFC 8654 Extended Message) ----

export const MAX_EXTENDED_MESSAGE = 65535;

/**
 * An UPDATE of up to 65535 octets: a valid UPDATE plus up to 1500 IPv4 prefixes and/or an unknown
 * attribute of up to 60,000 octets (Extended Length), both made from seeds.
 */
export function bigUpdate(ctx: CodecContext): fc.Arbitrary<UpdateMessage> {
  const v4AddPath = addPathFor(ctx, Afi.IPV4, Safi.UNICAST);
  // a few attributes only: the size is what this is about, and all of them cost time on every run
  const attributes = someOf<PathAttributes>({
    origin,
    asPath: asPath(ctx.as4),
    nextHop: ipv4Address,
    communities: list(u32, 16, 1),
    mpReach: mpReach(ctx),
    unknown: unknownAttributes,
  });
  return record({
    base: unsizedUpdate(ctx, attributes),
    // mostly just past 4096 octets, now and then up to the 65535 limit
    value: fc.oneof(
      { weight: 4, arbitrary: bigBytes(0, 6000) },
      { weight: 1, arbitrary: bigBytes(0, 60_000) },
    ),
    code: fc.constantFrom(0, 99, 128, 255),
    count: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 1500 }) },
    ),
    seed: fc.nat(),
  })
    .map(({ base, value, code, count, seed }): UpdateMessage => {
      const a: PathAttributes = { ...base.attributes };
      if (value.length > 0 && !a.unknown?.some((u) => u.code === code)) {
        a.unknown = [...(a.unknown ?? []), { flags: UNKNOWN_ATTRIBUTE_FLAGS, code, value }].sort(
          (x, y) => x.code - y.code,
        );
      }
      if (count === 0) return { ...base, attributes: a };
      // per prefix 12 seeded bytes: length, address, path identifier
      const view = new DataView(seededBytes(count * 12, seed).buffer);
      const prefixes = [...base.nlri.prefixes];
      const pathIds = [...(base.nlri.pathIds ?? [])];
      for (let i = 0; i < count; i++) {
        const len = view.getUint8(i * 12) % 33;
        prefixes.push(((view.getUint32(i * 12 + 4) & v4Mask(len)) >>> 0) * 64 + len);
        if (v4AddPath) pathIds.push(view.getUint32(i * 12 + 8));
      }
      a.origin ??= DEFAULT_ORIGIN;
      a.asPath ??= DEFAULT_AS_PATH;
      a.nextHop ??= DEFAULT_NEXT_HOP;
      const nlri: Ipv4Prefixes = v4AddPath
        ? { afi: Afi.IPV4, prefixes, pathIds }
        : { afi: Afi.IPV4, prefixes };
      return { type: 'update', withdrawn: base.withdrawn, attributes: a, nlri };
    })
    .filter((m) => updateWireSize(m, ctx) <= MAX_EXTENDED_MESSAGE);
}

export const bigNotification: fc.Arbitrary<NotificationMessage> = record({
  type: fc.constant('notification' as const),
  code: u8,
  subcode: u8,
  data: fc.oneof(
    { weight: 4, arbitrary: bigBytes(4000, 6000) },
    { weight: 1, arbitrary: bigBytes(0, MAX_EXTENDED_MESSAGE - 21) },
  ),
});

// ---- OPEN and capabilities ----

const utf8 = new TextEncoder();

/** Text that fits a 1-octet length as UTF-8 (no lone surrogates: those do not survive UTF-8). */
function shortString(maxBytes: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    )
    .filter((s) => utf8.encode(s).length <= maxBytes);
}

const family = record({
  afi: fc.oneof(fc.constantFrom(Afi.IPV4, Afi.IPV6), u16),
  safi: fc.oneof(fc.constantFrom(1, 2), u8),
});

const KNOWN_CAPABILITY_CODES: ReadonlySet<number> = new Set(Object.values(CapabilityCode));

export const capability: fc.Arbitrary<Capability> = fc.oneof(
  family.map((f): Capability => ({ kind: 'multiprotocol', ...f })),
  fc.constant<Capability>({ kind: 'route-refresh' }),
  fc.constant<Capability>({ kind: 'enhanced-route-refresh' }),
  fc.constant<Capability>({ kind: 'extended-message' }),
  list(record({ afi: u16, safi: u16, nextHopAfi: u16 }), 42).map(
    (families): Capability => ({ kind: 'extended-next-hop', families }),
  ),
  record({
    restartFlags: fc.integer({ min: 0, max: 15 }),
    restartTime: fc.integer({ min: 0, max: 0xfff }),
    families: list(record({ afi: u16, safi: u8, forwardingState: fc.boolean() }), 63),
  }).map((c): Capability => ({ kind: 'graceful-restart', ...c })),
  asNumber.map((as): Capability => ({ kind: 'four-octet-as', as })),
  list(
    record({ afi: u16, safi: u8, send: fc.boolean(), receive: fc.boolean() }).filter(
      (f) => f.send || f.receive,
    ),
    63,
  ).map((families): Capability => ({ kind: 'add-path', families })),
  list(
    record({
      afi: u16,
      safi: u8,
      forwardingState: fc.boolean(),
      staleTime: fc.integer({ min: 0, max: 0xffffff }),
    }),
    36,
  ).map((families): Capability => ({ kind: 'long-lived-graceful-restart', families })),
  record({ hostname: shortString(200), domainName: shortString(53) }).map(
    (c): Capability => ({ kind: 'fqdn', ...c }),
  ),
  shortString(254).map((version): Capability => ({ kind: 'software-version', version })),
  record({
    code: u8.filter((c) => !KNOWN_CAPABILITY_CODES.has(c)),
    value: fc.oneof(bytes(16), bigBytes(0, 255)),
  }).map((c): Capability => ({ kind: 'unknown', ...c })),
);

export const openMessage: fc.Arbitrary<OpenMessage> = record({
  type: fc.constant('open' as const),
  version: fc.oneof({ weight: 4, arbitrary: fc.constant(4) }, { weight: 1, arbitrary: u8 }),
  myAs: fc.oneof(u16, fc.constant(AS_TRANS)),
  // RFC 4271 4.2: 0 or at least 3
  holdTime: fc.oneof(fc.constantFrom(0, 3, 90, 180, 0xffff), fc.integer({ min: 3, max: 0xffff })),
  bgpId: ipv4Address,
  // up to 12 capabilities of at most 257 octets each: past 255 octets of parameters (RFC 9072's
  // extended form) often, past the 4096-octet message never
  capabilities: fc.array(capability, { maxLength: 12 }),
});

// ---- the other messages ----

export const notificationMessage: fc.Arbitrary<NotificationMessage> = record({
  type: fc.constant('notification' as const),
  code: fc.oneof(fc.integer({ min: 1, max: 7 }), u8),
  subcode: u8,
  data: fc.oneof({ weight: 8, arbitrary: bytes(64) }, { weight: 1, arbitrary: bigBytes(0, 4096 - 21) }),
});

export const keepaliveMessage: fc.Arbitrary<KeepaliveMessage> = fc.constant<KeepaliveMessage>({
  type: 'keepalive',
});

export const routeRefreshMessage: fc.Arbitrary<RouteRefreshMessage> = record({
  type: fc.constant('route-refresh' as const),
  afi: u16,
  safi: u8,
  subtype: u8,
});

export type AnyMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

/** A valid message of any type for `ctx`. */
export function bgpMessage(ctx: CodecContext): fc.Arbitrary<AnyMessage> {
  return fc.oneof(
    { weight: 2, arbitrary: openMessage },
    { weight: 4, arbitrary: updateMessage(ctx) },
    { weight: 1, arbitrary: notificationMessage },
    { weight: 1, arbitrary: keepaliveMessage },
    { weight: 1, arbitrary: routeRefreshMessage },
  );
}

/** A context and a valid message for it. */
export function messageWithContext(
  opts: ContextOptions = {},
): fc.Arbitrary<{ ctx: CodecContext; value: AnyMessage }> {
  return withContext(opts, bgpMessage);
}

// ---- helpers for the properties ----

/**
 * Freezes `v` and everything reachable from it, so that an encoder writing to it throws (ES modules are
 * strict code). Typed arrays cannot be frozen: their copies are returned, to compare after encoding.
 */
export function deepFreeze(v: unknown, views: [Uint8Array, Uint8Array][] = []): [Uint8Array, Uint8Array][] {
  if (typeof v !== 'object' || v === null) return views;
  if (v instanceof Uint8Array) {
    views.push([v, v.slice()]);
    return views;
  }
  if (Array.isArray(v)) {
    for (const item of v) if (typeof item === 'object') deepFreeze(item, views);
    Object.freeze(v);
    return views;
  }
  for (const k of Reflect.ownKeys(v)) deepFreeze((v as Record<PropertyKey, unknown>)[k], views);
  Object.freeze(v);
  return views;
}

/** Fails when one of the typed arrays `deepFreeze` found was written to. */
export function expectUnchanged(views: readonly [Uint8Array, Uint8Array][]): void {
  for (const [now, before] of views) {
    if (!Buffer.from(now.buffer, now.byteOffset, now.byteLength).equals(before)) expect(now).toEqual(before);
  }
}

// ---- checks shared by the properties and the malformed-fixture regression test ----

/** Four contexts a session can end up with: 2- or 4-octet AS, ADD-PATH off or on (both families). */
export const CONTEXTS: readonly CodecContext[] = [
  makeContext({ as4: true }),
  makeContext({ as4: false }),
  makeContext({ as4: true, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) }),
  makeContext({ as4: false, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) }),
];

/** The same with the Extended Message capability (RFC 8654) negotiated. */
export const EXTENDED_CONTEXTS: readonly CodecContext[] = CONTEXTS.map((c) => ({
  ...c,
  extendedMessage: true,
}));

/**
 * Deep equality of the data messages are made of (plain objects, arrays, Uint8Array, Set, primitives
 * and bigint); prototypes are not compared. A fast path: node's isDeepStrictEqual costs more than
 * encoding and decoding together.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array) {
    return (
      b instanceof Uint8Array &&
      a.length === b.length &&
      Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)
    );
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Set) return b instanceof Set && a.size === b.size && [...a].every((v) => b.has(v));
  if (Array.isArray(b) || b instanceof Uint8Array || b instanceof Set) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka) if (!Object.hasOwn(rb, k) || !sameData(ra[k], rb[k])) return false;
  return true;
}

/** Deep equality with vitest's toEqual (and its diff) whenever the fast check says they differ. */
export function expectEqual(actual: unknown, expected: unknown): void {
  if (!sameData(actual, expected)) expect(actual).toEqual(expected);
}

export const HEADER = 19;

/** A message of `type` with `body`, its header's length set to match. */
export function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + body.length);
  out.fill(0xff, 0, 16);
  out[16] = out.length >> 8;
  out[17] = out.length & 255;
  out[18] = type;
  out.set(body, HEADER);
  return out;
}

/** Why `e` is not a valid decoding error for `bytes`, or undefined when it is. */
export function errorProblem(e: BgpError, bytes: Uint8Array): string | undefined {
  if (!Number.isInteger(e.code) || e.code < 1 || e.code > 7) return `code ${e.code} is not 1..7`;
  if (ERROR_SUBCODE_NAMES[e.code]?.[e.subcode] === undefined)
    return `subcode ${e.code}/${e.subcode} has no name`;
  if (!(e.data instanceof Uint8Array)) return 'data is not a Uint8Array';
  if (e.offset !== undefined && !(e.offset >= 0 && e.offset <= bytes.length)) {
    return `offset ${e.offset} is outside the ${bytes.length} bytes`;
  }
  return undefined;
}

/**
 * `e` must be a BgpError with a code 1..7, a subcode that has a name, and an offset inside `bytes`.
 * (Plain checks first: vitest's expect is too slow for the hot path of 100,000 runs.)
 */
export function expectValidError(e: unknown, bytes: Uint8Array): asserts e is BgpError {
  if (!(e instanceof BgpError)) throw e; // fails the property with the original exception
  const problem = errorProblem(e, bytes);
  if (problem !== undefined) expect.fail(`${e.name}: ${problem} (${e.message})`);
}

/**
 * Decodes `bytes`: it must either give a message or throw a valid BgpError. A decoded UPDATE's RFC 7606
 * problems must be valid UPDATE errors too. Returns the message, if any.
 */
export function decodeOrBgpError(bytes: Uint8Array, ctx: CodecContext): AnyMessage | undefined {
  try {
    const msg = decodeMessage(bytes, ctx);
    if (msg.type === 'update') {
      for (const p of msg.problems ?? []) {
        expectValidError(p.error, bytes);
        if (p.error.code !== 3 || (p.action !== 'withdraw' && p.action !== 'discard')) {
          expect.fail(`UPDATE problem ${p.action} ${p.error.message}`);
        }
      }
    }
    return msg;
  } catch (e) {
    expectValidError(e, bytes);
    return undefined;
  }
}

/** The message as a re-encoding carries it: decoding's reports dropped, unknown attributes sorted. */
export function normalized(msg: AnyMessage): AnyMessage {
  if (msg.type !== 'update') return msg;
  // only what encoding writes: not what decoding reports (problems, ignored attributes)
  const { withdrawn, attributes, nlri } = msg;
  const u = attributes.unknown;
  if (!u || u.length < 2) return { type: 'update', withdrawn, attributes, nlri };
  const sorted = [...u].sort((a, b) => a.code - b.code);
  return { type: 'update', withdrawn, attributes: { ...attributes, unknown: sorted }, nlri };
}

/**
 * Whatever decodes re-encodes; on a 4-octet AS context it decodes again to the same message (encoding
 * never makes it longer, so it still fits). On a 2-octet context a peer's AS4_PATH may disagree with
 * its AS_PATH and RFC 6793's merge is not idempotent for such input: there it only has to encode
 * (within the size limit, as the merged path may need an AS4_PATH the peer did not send).
 */
export function checkReencode(msg: AnyMessage | undefined, ctx: CodecContext): void {
  if (msg === undefined) return;
  const want = normalized(msg);
  if (!ctx.as4) {
    try {
      encodeMessage(want, ctx);
    } catch (e) {
      if (!(e instanceof RangeError && /exceeds the maximum/.test(e.message))) throw e;
    }
    return;
  }
  expectEqual(normalized(decodeMessage(encodeMessage(want, ctx), ctx)), want);
}
