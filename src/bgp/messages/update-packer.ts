// Packs many prefixes that share one attribute set into as few UPDATEs as the negotiated message size
// allows (BIRD's bgp_create_update): the attributes are encoded once, then each message takes prefixes
// until the next one would not fit. IPv4 unicast goes in the NLRI / Withdrawn Routes fields, IPv6
// unicast in MP_REACH_NLRI / MP_UNREACH_NLRI (first attribute, RFC 7606 5.1).
//
// `appendAnnouncements` / `appendWithdrawals` write the messages one after another into a writer the
// caller owns (an update group's output chunk), so that nothing is allocated per message; the
// `pack*` forms return one array per message for callers that want them apart.

import { writeMpReach } from './attributes/mp-reach.js';
import { writeMpUnreach } from './attributes/mp-unreach.js';
import { encodeAttributes, mpReach, mpUnreach, writeAttribute } from './attributes/table.js';
import type { MpReachUnicast, PathAttributes } from './attributes/types.js';
import { type CodecContext, DEFAULT_CONTEXT, hasAddPath, maxMessageLength } from './context.js';
import { finishHeader, HEADER_LENGTH, startHeader } from './header.js';
import { Afi, MessageType, Safi } from './iana.js';
import { ipv4PrefixSize, ipv6PrefixSize, type PrefixList, writeIpv4Prefix, writeIpv6Prefix } from './nlri.js';
import { parseIpv4 } from './prefix.js';
import { ByteWriter } from './writer.js';

/** Withdrawn Routes Length + Total Path Attribute Length. */
const UPDATE_FIXED = HEADER_LENGTH + 4;

function prefixSize(list: PrefixList, i: number, addPath: boolean): number {
  return list.afi === Afi.IPV4
    ? ipv4PrefixSize(list.prefixes[i]!, addPath)
    : ipv6PrefixSize(list.prefixes[i]!, addPath);
}

/** How many prefixes from `from` fit in `room` bytes (at least one, or a RangeError). */
function fitting(list: PrefixList, from: number, room: number, addPath: boolean): number {
  let used = 0;
  let i = from;
  const n = list.prefixes.length;
  while (i < n) {
    const s = prefixSize(list, i, addPath);
    if (used + s > room) break;
    used += s;
    i++;
  }
  if (i === from)
    throw new RangeError(`attributes leave ${room} bytes: not even one prefix fits in an UPDATE`);
  return i;
}

function writeSlice(w: ByteWriter, list: PrefixList, from: number, to: number, addPath: boolean): void {
  const ids = list.pathIds;
  if (list.afi === Afi.IPV4) {
    for (let i = from; i < to; i++)
      writeIpv4Prefix(w, list.prefixes[i]!, addPath ? (ids?.[i] ?? 0) : undefined);
  } else {
    for (let i = from; i < to; i++)
      writeIpv6Prefix(w, list.prefixes[i]!, addPath ? (ids?.[i] ?? 0) : undefined);
  }
}

/** Scratch space for the encoded attributes (reused: packing is never re-entered). */
const attrScratch = new ByteWriter(512);

/**
 * Appends to `w` the UPDATEs announcing `prefixes` with `attrs`; returns how many. IPv4 prefixes use
 * `attrs.nextHop` (NLRI field) unless `attrs.mpReach` is given as a template; IPv6 prefixes need
 * `attrs.mpReach` as a template (its next hops are used, its own NLRI ignored). Never modifies its
 * arguments.
 */
export function appendAnnouncements(
  w: ByteWriter,
  attrs: PathAttributes,
  prefixes: PrefixList,
  ctx: CodecContext = DEFAULT_CONTEXT,
  /** `attributeBytes(attrs, ctx)`, when the caller keeps them. */
  encoded?: Uint8Array,
): number {
  const max = maxMessageLength(ctx);
  const n = prefixes.prefixes.length;
  if (n === 0) return 0;
  const addPath = hasAddPath(ctx, prefixes.afi, Safi.UNICAST);
  let attrBytes = encoded;
  if (attrBytes === undefined) {
    const aw = attrScratch;
    aw.pos = 0;
    encodeAttributes(attrs, aw, ctx, { skipMp: true });
    attrBytes = aw.bytes.subarray(0, aw.pos);
  }
  const template = attrs.mpReach;
  let count = 0;

  if (prefixes.afi === Afi.IPV4 && template === undefined) {
    const room = max - UPDATE_FIXED - attrBytes.length;
    for (let i = 0; i < n; count++) {
      const to = fitting(prefixes, i, room, addPath);
      const start = startHeader(w, MessageType.UPDATE);
      w.u16(0);
      w.u16(attrBytes.length);
      w.raw(attrBytes);
      writeSlice(w, prefixes, i, to, addPath);
      finishHeader(w, start);
      i = to;
    }
    return count;
  }

  if (template === undefined || template.kind !== 'unicast') {
    throw new TypeError(
      `announcing ${prefixes.afi === Afi.IPV6 ? 'IPv6' : 'IPv4'} prefixes needs an MP_REACH_NLRI template with a next hop`,
    );
  }
  const reach: MpReachUnicast = { ...template, afi: prefixes.afi, safi: Safi.UNICAST, nlri: prefixes };
  const nhLen = reach.linkLocalNextHop !== undefined ? 32 : parseIpv4(reach.nextHop) !== undefined ? 4 : 16;
  // attribute header (4, extended) + AFI, SAFI, next hop length, next hop, reserved
  const room = max - UPDATE_FIXED - attrBytes.length - 4 - (5 + nhLen);
  for (let i = 0; i < n; count++) {
    const from = i;
    const to = fitting(prefixes, i, room, addPath);
    const start = startHeader(w, MessageType.UPDATE);
    w.u16(0);
    const al = w.reserve16();
    writeAttribute(w, mpReach, () => writeMpReach(w, reach, ctx, from, to));
    w.raw(attrBytes);
    w.fill16(al);
    finishHeader(w, start);
    i = to;
  }
  return count;
}

/**
 * The path attributes of `attrs` as appendAnnouncements writes them (all but MP_REACH_NLRI, which is
 * written per message): encode once, pack many times.
 */
export function attributeBytes(attrs: PathAttributes, ctx: CodecContext = DEFAULT_CONTEXT): Uint8Array {
  const aw = attrScratch;
  aw.pos = 0;
  encodeAttributes(attrs, aw, ctx, { skipMp: true });
  return aw.slice();
}

/** The messages of `bytes` (whole BGP messages back to back) as separate copies. */
function split(bytes: Uint8Array, out: Uint8Array[]): Uint8Array[] {
  for (let at = 0; at < bytes.length; ) {
    const length = (bytes[at + 16]! << 8) | bytes[at + 17]!;
    out.push(bytes.slice(at, at + length));
    at += length;
  }
  return out;
}

/** UPDATEs announcing `prefixes` with `attrs`, one array each (see appendAnnouncements). */
export function packAnnouncements(
  attrs: PathAttributes,
  prefixes: PrefixList,
  ctx: CodecContext = DEFAULT_CONTEXT,
  out: Uint8Array[] = [],
): Uint8Array[] {
  const w = new ByteWriter(maxMessageLength(ctx));
  appendAnnouncements(w, attrs, prefixes, ctx);
  return split(w.bytes.subarray(0, w.pos), out);
}

/** Appends to `w` the UPDATEs withdrawing `prefixes` (Withdrawn Routes for IPv4, MP_UNREACH_NLRI for IPv6). */
export function appendWithdrawals(
  w: ByteWriter,
  prefixes: PrefixList,
  ctx: CodecContext = DEFAULT_CONTEXT,
): number {
  const max = maxMessageLength(ctx);
  const n = prefixes.prefixes.length;
  if (n === 0) return 0;
  const addPath = hasAddPath(ctx, prefixes.afi, Safi.UNICAST);
  const v4 = prefixes.afi === Afi.IPV4;
  // IPv6: attribute header (4) + AFI (2) + SAFI (1)
  const room = max - UPDATE_FIXED - (v4 ? 0 : 7);
  const unreach = { kind: 'unicast', afi: prefixes.afi, safi: Safi.UNICAST, withdrawn: prefixes } as const;
  let count = 0;
  for (let i = 0; i < n; count++) {
    const from = i;
    const to = fitting(prefixes, i, room, addPath);
    const start = startHeader(w, MessageType.UPDATE);
    if (v4) {
      const wl = w.reserve16();
      writeSlice(w, prefixes, from, to, addPath);
      w.fill16(wl);
      w.u16(0);
    } else {
      w.u16(0);
      const al = w.reserve16();
      writeAttribute(w, mpUnreach, () => writeMpUnreach(w, unreach, ctx, from, to));
      w.fill16(al);
    }
    finishHeader(w, start);
    i = to;
  }
  return count;
}

/** UPDATEs withdrawing `prefixes`, one array each (see appendWithdrawals). */
export function packWithdrawals(
  prefixes: PrefixList,
  ctx: CodecContext = DEFAULT_CONTEXT,
  out: Uint8Array[] = [],
): Uint8Array[] {
  const w = new ByteWriter(maxMessageLength(ctx));
  appendWithdrawals(w, prefixes, ctx);
  return split(w.bytes.subarray(0, w.pos), out);
}
