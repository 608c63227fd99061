// NLRI encoding of unicast prefixes (RFC 4271 4.3 for IPv4, RFC 4760 5 for MP families), with the
// RFC 7911 path identifier in front of each prefix when ADD-PATH is negotiated for the family.
//
//  +---------------------------+
//  | Path Identifier (4 octets)|   only with ADD-PATH
//  +---------------------------+
//  |   Length (1 octet)        |   prefix length in bits
//  +---------------------------+
//  |   Prefix (variable)       |   ceil(length / 8) octets, trailing bits ignored
//  +---------------------------+
//
// Decoding produces compact keys (see prefix.ts), one number or short string per prefix, and a parallel
// array of path identifiers when ADD-PATH is on. A malformed field (a length beyond the address size, or
// a prefix that overruns the field) cannot be skipped, so it resets the session: 3/10 Invalid Network
// Field (RFC 7606 5.3).

import { UpdateMessageError } from './errors.js';
import { Afi, UpdateMessageSubcode } from './iana.js';
import { type Ipv4Key, type Ipv6Key, ipv4KeyAddr, ipv6KeyFromBytes } from './prefix.js';
import type { ByteWriter } from './writer.js';

export interface Ipv4Prefixes {
  readonly afi: typeof Afi.IPV4;
  readonly prefixes: readonly Ipv4Key[];
  /** Path identifiers, index-aligned with `prefixes`; present exactly when ADD-PATH applies. */
  readonly pathIds?: readonly number[];
}

export interface Ipv6Prefixes {
  readonly afi: typeof Afi.IPV6;
  readonly prefixes: readonly Ipv6Key[];
  readonly pathIds?: readonly number[];
}

export type PrefixList = Ipv4Prefixes | Ipv6Prefixes;

export const NO_IPV4_PREFIXES: Ipv4Prefixes = Object.freeze({ afi: Afi.IPV4, prefixes: Object.freeze([]) });

function invalidNetwork(detail: string, offset: number): UpdateMessageError {
  return new UpdateMessageError(UpdateMessageSubcode.INVALID_NETWORK_FIELD, detail, undefined, offset);
}

/** Masks for prefix lengths 0..32, as unsigned numbers. */
const V4_MASK: readonly number[] = Array.from({ length: 33 }, (_, len) =>
  len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0,
);

/** Decodes bytes[pos, end) as IPv4 prefixes. */
export function decodeIpv4Prefixes(
  bytes: Uint8Array,
  pos: number,
  end: number,
  addPath: boolean,
): Ipv4Prefixes {
  const prefixes: number[] = [];
  const pathIds: number[] | undefined = addPath ? [] : undefined;
  while (pos < end) {
    if (pathIds) {
      if (pos + 4 > end) throw invalidNetwork('path identifier overruns the field', pos);
      pathIds.push(
        ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0,
      );
      pos += 4;
      if (pos >= end) throw invalidNetwork('path identifier without a prefix', pos);
    }
    const len = bytes[pos]!;
    if (len > 32) throw invalidNetwork(`IPv4 prefix length ${len} exceeds 32`, pos);
    const n = (len + 7) >> 3;
    if (pos + 1 + n > end) throw invalidNetwork(`IPv4 prefix /${len} overruns the field`, pos);
    let addr = 0;
    switch (n) {
      case 4:
        addr = (bytes[pos + 1]! << 24) | (bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 8) | bytes[pos + 4]!;
        break;
      case 3:
        addr = (bytes[pos + 1]! << 24) | (bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 8);
        break;
      case 2:
        addr = (bytes[pos + 1]! << 24) | (bytes[pos + 2]! << 16);
        break;
      case 1:
        addr = bytes[pos + 1]! << 24;
        break;
    }
    prefixes.push(((addr & V4_MASK[len]!) >>> 0) * 64 + len);
    pos += 1 + n;
  }
  return pathIds ? { afi: Afi.IPV4, prefixes, pathIds } : { afi: Afi.IPV4, prefixes };
}

/** Decodes bytes[pos, end) as IPv6 prefixes. */
export function decodeIpv6Prefixes(
  bytes: Uint8Array,
  pos: number,
  end: number,
  addPath: boolean,
): Ipv6Prefixes {
  const prefixes: string[] = [];
  const pathIds: number[] | undefined = addPath ? [] : undefined;
  while (pos < end) {
    if (pathIds) {
      if (pos + 4 > end) throw invalidNetwork('path identifier overruns the field', pos);
      pathIds.push(
        ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0,
      );
      pos += 4;
      if (pos >= end) throw invalidNetwork('path identifier without a prefix', pos);
    }
    const len = bytes[pos]!;
    if (len > 128) throw invalidNetwork(`IPv6 prefix length ${len} exceeds 128`, pos);
    const n = (len + 7) >> 3;
    if (pos + 1 + n > end) throw invalidNetwork(`IPv6 prefix /${len} overruns the field`, pos);
    prefixes.push(ipv6KeyFromBytes(bytes, pos + 1, len));
    pos += 1 + n;
  }
  return pathIds ? { afi: Afi.IPV6, prefixes, pathIds } : { afi: Afi.IPV6, prefixes };
}

/** Bytes one IPv4 prefix takes on the wire. */
export function ipv4PrefixSize(key: Ipv4Key, addPath: boolean): number {
  return (addPath ? 5 : 1) + (((key & 63) + 7) >> 3);
}

export function ipv6PrefixSize(key: Ipv6Key, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((key.charCodeAt(8) + 7) >> 3);
}

export function writeIpv4Prefix(w: ByteWriter, key: Ipv4Key, pathId: number | undefined): void {
  w.ensure(9);
  const b = w.bytes;
  let p = w.pos;
  if (pathId !== undefined) {
    w.view.setUint32(p, pathId >>> 0);
    p += 4;
  }
  const len = key & 63;
  const addr = ipv4KeyAddr(key);
  b[p++] = len;
  if (len > 0) b[p++] = addr >>> 24;
  if (len > 8) b[p++] = (addr >>> 16) & 255;
  if (len > 16) b[p++] = (addr >>> 8) & 255;
  if (len > 24) b[p++] = addr & 255;
  w.pos = p;
}

export function writeIpv6Prefix(w: ByteWriter, key: Ipv6Key, pathId: number | undefined): void {
  w.ensure(21);
  const b = w.bytes;
  let p = w.pos;
  if (pathId !== undefined) {
    w.view.setUint32(p, pathId >>> 0);
    p += 4;
  }
  const len = key.charCodeAt(8);
  b[p++] = len;
  const n = (len + 7) >> 3;
  for (let i = 0; i < n; i++) {
    const g = key.charCodeAt(i >> 1);
    b[p++] = i & 1 ? g & 255 : g >> 8;
  }
  w.pos = p;
}

/**
 * Writes prefixes [from, to) of `list`. `addPath` says whether the receiver expects path identifiers; a
 * list without them then gets identifier 0 (RFC 7911 leaves the value to the sender).
 */
export function writePrefixes(
  w: ByteWriter,
  list: PrefixList,
  addPath: boolean,
  from = 0,
  to = list.prefixes.length,
): void {
  const ids = list.pathIds;
  if (list.afi === Afi.IPV4) {
    const ps = list.prefixes;
    for (let i = from; i < to; i++) writeIpv4Prefix(w, ps[i]!, addPath ? (ids?.[i] ?? 0) : undefined);
  } else {
    const ps = list.prefixes;
    for (let i = from; i < to; i++) writeIpv6Prefix(w, ps[i]!, addPath ? (ids?.[i] ?? 0) : undefined);
  }
}

/** Bytes prefixes [from, to) take on the wire. */
export function prefixesSize(
  list: PrefixList,
  addPath: boolean,
  from = 0,
  to = list.prefixes.length,
): number {
  let n = 0;
  if (list.afi === Afi.IPV4) {
    for (let i = from; i < to; i++) n += ipv4PrefixSize(list.prefixes[i]!, addPath);
  } else {
    for (let i = from; i < to; i++) n += ipv6PrefixSize(list.prefixes[i]!, addPath);
  }
  return n;
}
