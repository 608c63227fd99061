// Path attributes as data, and the shape of one entry of the attribute table (see table.ts).

import type { CodecContext } from '../context.js';
import type { UpdateErrorAction } from '../errors.js';
import type { AsPathSegmentType, Origin } from '../iana.js';
import type { PrefixList } from '../nlri.js';
import type { ByteReader } from '../reader.js';
import type { ByteWriter } from '../writer.js';

export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  readonly asns: readonly number[];
}

export interface Aggregator {
  readonly as: number;
  readonly address: string;
}

export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

/** RFC 5701: 20 octets; `address` is the IPv6 global administrator. */
export interface Ipv6ExtendedCommunity {
  readonly type: number;
  readonly subtype: number;
  readonly address: string;
  readonly localAdmin: number;
}

/** MP_REACH_NLRI of IPv4/IPv6 unicast (RFC 4760; RFC 8950 for an IPv6 next hop on IPv4 NLRI). */
export interface MpReachUnicast {
  readonly kind: 'unicast';
  readonly afi: number;
  readonly safi: number;
  readonly nextHop: string;
  /** RFC 2545 3: the link-local address of a 32-octet IPv6 next hop. */
  readonly linkLocalNextHop?: string;
  readonly nlri: PrefixList;
}

/** Any other family: kept as bytes, passed through, never an error. */
export interface MpReachOpaque {
  readonly kind: 'opaque';
  readonly afi: number;
  readonly safi: number;
  readonly nextHop: Uint8Array;
  readonly nlri: Uint8Array;
}

export type MpReach = MpReachUnicast | MpReachOpaque;

export interface MpUnreachUnicast {
  readonly kind: 'unicast';
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: PrefixList;
}

export interface MpUnreachOpaque {
  readonly kind: 'opaque';
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: Uint8Array;
}

export type MpUnreach = MpUnreachUnicast | MpUnreachOpaque;

/** An attribute tern does not interpret: its flags (Extended Length cleared) and value. */
export interface RawAttribute {
  readonly flags: number;
  readonly code: number;
  readonly value: Uint8Array;
}

/**
 * The path attributes of an UPDATE. On a 2-octet AS session AS4_PATH / AS4_AGGREGATOR exist only on
 * the wire: decoding merges them into `asPath` / `aggregator` (RFC 6793 4.2.3) and encoding writes them
 * from there (4.2.2), so these fields always hold real 4-octet AS numbers.
 */
export interface PathAttributes {
  origin?: Origin;
  asPath?: readonly AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  communities?: readonly number[];
  originatorId?: string;
  clusterList?: readonly string[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  extendedCommunities?: readonly bigint[];
  ipv6ExtendedCommunities?: readonly Ipv6ExtendedCommunity[];
  largeCommunities?: readonly LargeCommunity[];
  /** Unrecognised optional transitive attributes, Partial bit set (RFC 4271 5). */
  unknown?: readonly RawAttribute[];
}

/** What decoding collects before the RFC 6793 merge. */
export interface DecodingAttributes extends PathAttributes {
  as4Path?: readonly AsPathSegment[];
  as4Aggregator?: Aggregator;
}

/**
 * One entry of the attribute table (BIRD's bgp_attr_table). `decode` reads the value from a reader
 * bounded to it and throws an UpdateMessageError when it is malformed; the shared loop applies
 * `onError` (RFC 7606 7) and the entry never needs to know about the rest of the message.
 */
export interface AttrEntry {
  readonly code: number;
  readonly name: string;
  /** The Optional and Transitive bits the attribute must carry. */
  readonly flags: number;
  readonly onError: UpdateErrorAction;
  decode(r: ByteReader, out: DecodingAttributes, ctx: CodecContext): void;
  /** Whether `encode` has anything to write for these attributes. */
  present(a: PathAttributes, ctx: CodecContext): boolean;
  /** Writes the value only; the table writes flags, type and length. */
  encode(a: PathAttributes, w: ByteWriter, ctx: CodecContext): void;
}
