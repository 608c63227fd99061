// RFC 4271 4.3: UPDATE message.
//
//  +-----------------------------------------------------+
//  |   Withdrawn Routes Length (2 octets)                |
//  +-----------------------------------------------------+
//  |   Withdrawn Routes (variable)                       |
//  +-----------------------------------------------------+
//  |   Total Path Attribute Length (2 octets)            |
//  +-----------------------------------------------------+
//  |   Path Attributes (variable)                        |
//  +-----------------------------------------------------+
//  |   Network Layer Reachability Information (variable) |
//  +-----------------------------------------------------+
//
// Errors follow RFC 7606: what cannot be parsed past resets the session (thrown); a malformed attribute
// that leaves the NLRI readable marks the UPDATE treat-as-withdraw or drops the attribute (returned in
// `problems`). IPv4 unicast routes travel in the withdrawn/NLRI fields, other families in
// MP_REACH_NLRI / MP_UNREACH_NLRI (attributes/mp-reach.ts).

import { mergeAs4Path } from './attributes/as-path.js';
import {
  type AttributeProblem,
  attributeName,
  decodeAttributes,
  encodeAttributes,
} from './attributes/table.js';
import type { DecodingAttributes, MpUnreach, PathAttributes } from './attributes/types.js';
import { type CodecContext, DEFAULT_CONTEXT, hasAddPath } from './context.js';
import { UpdateMessageError } from './errors.js';
import { Afi, AS_TRANS, AttrType, IPV4_UNICAST, Safi, UpdateMessageSubcode } from './iana.js';
import { decodeIpv4Prefixes, type Ipv4Prefixes, NO_IPV4_PREFIXES, writePrefixes } from './nlri.js';
import type { ByteReader } from './reader.js';
import type { ByteWriter } from './writer.js';

export interface UpdateMessage {
  readonly type: 'update';
  /** IPv4 unicast routes withdrawn (other families: `attributes.mpUnreach`). */
  readonly withdrawn: Ipv4Prefixes;
  readonly attributes: PathAttributes;
  /** IPv4 unicast routes announced (other families: `attributes.mpReach`). */
  readonly nlri: Ipv4Prefixes;
  /**
   * Set by decoding when RFC 7606 applied: `treat-as-withdraw` problems mean every route announced in
   * this UPDATE must be handled as withdrawn; `discard` problems name attributes that were dropped.
   */
  readonly problems?: readonly AttributeProblem[];
  /** Set by decoding: codes of unrecognized optional non-transitive attributes, quietly ignored. */
  readonly ignoredAttributes?: readonly number[];
}

export type { AttributeProblem };

/** True when RFC 7606 treat-as-withdraw applies to this UPDATE. */
export function treatAsWithdraw(msg: UpdateMessage): boolean {
  return msg.problems?.some((p) => p.action === 'withdraw') ?? false;
}

function listTooLong(what: string, len: number, left: number, offset: number): UpdateMessageError {
  // RFC 4271 6.3: a Withdrawn Routes Length or Total Attribute Length too large for the message.
  return new UpdateMessageError(
    UpdateMessageSubcode.MALFORMED_ATTRIBUTE_LIST,
    `${what} ${len} exceeds the ${left} bytes left in the message`,
    undefined,
    offset,
  );
}

/** Decodes an UPDATE body; `r` spans the body, with offsets relative to the whole message. */
export function decodeUpdate(r: ByteReader, ctx: CodecContext = DEFAULT_CONTEXT): UpdateMessage {
  const bytes = r.bytes;
  const v4AddPath = hasAddPath(ctx, Afi.IPV4, Safi.UNICAST);

  const withdrawnLen = r.u16('withdrawn routes length');
  if (withdrawnLen > r.remaining - 2)
    throw listTooLong('withdrawn routes length', withdrawnLen, r.remaining - 2, r.pos - 2);
  const withdrawnStart = r.pos;
  r.pos += withdrawnLen;
  const attrLen = r.u16('total path attribute length');
  if (attrLen > r.remaining)
    throw listTooLong('total path attribute length', attrLen, r.remaining, r.pos - 2);
  const attrStart = r.pos;
  const nlriStart = attrStart + attrLen;

  // The NLRI fields are parsed first: if they cannot be, nothing can be withdrawn safely (RFC 7606 5.3).
  const withdrawn =
    withdrawnLen === 0
      ? NO_IPV4_PREFIXES
      : decodeIpv4Prefixes(bytes, withdrawnStart, withdrawnStart + withdrawnLen, v4AddPath);
  const nlri =
    nlriStart === r.end ? NO_IPV4_PREFIXES : decodeIpv4Prefixes(bytes, nlriStart, r.end, v4AddPath);

  const saveEnd = r.end;
  r.end = nlriStart;
  const decoded = attrLen === 0 ? undefined : decodeAttributes(r, ctx);
  const attributes: DecodingAttributes = decoded?.attributes ?? {};
  const ignored = decoded?.ignored;
  r.end = saveEnd;
  r.pos = saveEnd;
  let problems = decoded?.problems;

  // RFC 6793 4.2.3: from a 2-octet speaker, AS4_AGGREGATOR and AS4_PATH count only when AGGREGATOR
  // (if any) carries AS_TRANS; then they replace what the 2-octet attributes could not hold.
  if (attributes.as4Path !== undefined || attributes.as4Aggregator !== undefined) {
    const { as4Path, as4Aggregator } = attributes;
    delete attributes.as4Path;
    delete attributes.as4Aggregator;
    if (attributes.aggregator === undefined || attributes.aggregator.as === AS_TRANS) {
      if (as4Aggregator) attributes.aggregator = as4Aggregator;
      if (as4Path && attributes.asPath) attributes.asPath = mergeAs4Path(attributes.asPath, as4Path);
    }
  }

  // RFC 7606 3.d: a missing well-known mandatory attribute: treat-as-withdraw. They are mandatory only
  // when the UPDATE announces something; NEXT_HOP only for the IPv4 NLRI field (RFC 4760 3).
  const mp = attributes.mpReach;
  const announces =
    nlri.prefixes.length > 0 ||
    (mp !== undefined && (mp.kind === 'opaque' ? mp.nlri.length > 0 : mp.nlri.prefixes.length > 0));
  if (announces) {
    if (attributes.origin === undefined && !hasProblem(problems, AttrType.ORIGIN))
      problems = missing(problems, AttrType.ORIGIN, attrStart);
    if (attributes.asPath === undefined && !hasProblem(problems, AttrType.AS_PATH))
      problems = missing(problems, AttrType.AS_PATH, attrStart);
    if (
      nlri.prefixes.length > 0 &&
      attributes.nextHop === undefined &&
      !hasProblem(problems, AttrType.NEXT_HOP)
    ) {
      problems = missing(problems, AttrType.NEXT_HOP, attrStart);
    }
  }

  const msg: UpdateMessage = { type: 'update', withdrawn, attributes, nlri };
  if (problems === undefined && ignored === undefined) return msg;
  return {
    ...msg,
    ...(problems !== undefined ? { problems } : {}),
    ...(ignored !== undefined ? { ignoredAttributes: ignored } : {}),
  };
}

/** RFC 7606 3.d: records a missing well-known attribute (data: its type code). */
function missing(
  problems: AttributeProblem[] | undefined,
  code: number,
  attrStart: number,
): AttributeProblem[] {
  const list = problems ?? [];
  list.push({
    action: 'withdraw',
    error: new UpdateMessageError(
      UpdateMessageSubcode.MISSING_WELL_KNOWN_ATTRIBUTE,
      `missing well-known attribute ${attributeName(code)}`,
      new Uint8Array([code]),
      attrStart - 2,
      'withdraw',
    ),
  });
  return list;
}

/** Whether a problem was already recorded for the attribute `code` (so it is not also "missing"). */
function hasProblem(problems: readonly AttributeProblem[] | undefined, code: number): boolean {
  return problems?.some((p) => p.error.data.length >= 2 && p.error.data[1] === code) ?? false;
}

/** Writes an UPDATE body. The caller keeps it within the negotiated size (see update-packer.ts). */
export function encodeUpdate(msg: UpdateMessage, w: ByteWriter, ctx: CodecContext = DEFAULT_CONTEXT): void {
  const v4AddPath = hasAddPath(ctx, Afi.IPV4, Safi.UNICAST);
  const wl = w.reserve16();
  writePrefixes(w, msg.withdrawn, v4AddPath);
  w.fill16(wl);
  const al = w.reserve16();
  encodeAttributes(msg.attributes, w, ctx);
  w.fill16(al);
  writePrefixes(w, msg.nlri, v4AddPath);
}

/**
 * RFC 4724 2: the End-of-RIB marker. IPv4 unicast: an UPDATE with nothing in it. Other families: an
 * UPDATE whose only attribute is an empty MP_UNREACH_NLRI. Returns the family key, or undefined.
 */
export function endOfRibFamily(msg: UpdateMessage): number | undefined {
  // an UPDATE whose attributes were dropped on the way in is no End-of-RIB, however empty it looks
  if (msg.problems !== undefined || msg.ignoredAttributes !== undefined) return undefined;
  if (msg.withdrawn.prefixes.length > 0 || msg.nlri.prefixes.length > 0) return undefined;
  const a = msg.attributes;
  const keys = Object.keys(a);
  if (keys.length === 0) return IPV4_UNICAST;
  const un = a.mpUnreach;
  if (keys.length === 1 && un !== undefined) {
    const empty = un.kind === 'opaque' ? un.withdrawn.length === 0 : un.withdrawn.prefixes.length === 0;
    if (empty) return (un.afi << 8) | un.safi;
  }
  return undefined;
}

/** The End-of-RIB marker of a family. */
export function endOfRib(afi: number, safi: number): UpdateMessage {
  if (afi === Afi.IPV4 && safi === Safi.UNICAST) {
    return { type: 'update', withdrawn: NO_IPV4_PREFIXES, attributes: {}, nlri: NO_IPV4_PREFIXES };
  }
  const mpUnreach: MpUnreach =
    afi === Afi.IPV6 && safi === Safi.UNICAST
      ? { kind: 'unicast', afi, safi, withdrawn: { afi: Afi.IPV6, prefixes: [] } }
      : { kind: 'opaque', afi, safi, withdrawn: new Uint8Array(0) };
  return { type: 'update', withdrawn: NO_IPV4_PREFIXES, attributes: { mpUnreach }, nlri: NO_IPV4_PREFIXES };
}
