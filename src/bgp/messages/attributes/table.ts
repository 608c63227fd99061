// The attribute table and the one loop that reads and writes every path attribute (RFC 4271 4.3):
//
//  | Attr. Flags (1) | Attr. Type Code (1) | Length (1, or 2 with Extended Length) | Value |
//
// The loop owns everything that is the same for all attributes, quoting RFC 7606 at each branch:
// framing, duplicates, flag checks, unknown and partial attributes, and what a malformed value costs.

import type { CodecContext } from '../context.js';
import { type UpdateErrorAction, UpdateMessageError } from '../errors.js';
import { AttrFlag, AttrType, UpdateMessageSubcode } from '../iana.js';
import { ByteReader } from '../reader.js';
import type { ByteWriter } from '../writer.js';
import { aggregator, as4Aggregator } from './aggregator.js';
import { as4Path, asPath } from './as-path.js';
import { atomicAggregate } from './atomic-aggregate.js';
import { clusterList } from './cluster-list.js';
import { communities } from './communities.js';
import { extendedCommunities } from './extended-communities.js';
import { ipv6ExtendedCommunities } from './ipv6-extended-communities.js';
import { largeCommunities } from './large-communities.js';
import { localPref } from './local-pref.js';
import { med } from './med.js';
import { mpReach } from './mp-reach.js';
import { mpUnreach } from './mp-unreach.js';
import { nextHop } from './next-hop.js';
import { origin } from './origin.js';
import { originatorId } from './originator-id.js';
import type { AttrEntry, DecodingAttributes, PathAttributes, RawAttribute } from './types.js';

/**
 * Write order: RFC 7606 5.1 says MP_REACH_NLRI / MP_UNREACH_NLRI SHALL come first (so a receiver can
 * find the NLRI even when a later attribute is malformed); every other attribute follows in ascending
 * type code, unknown ones in their place.
 */
const ENTRIES: readonly AttrEntry[] = [
  mpReach,
  mpUnreach,
  origin,
  asPath,
  nextHop,
  med,
  localPref,
  atomicAggregate,
  aggregator,
  communities,
  originatorId,
  clusterList,
  extendedCommunities,
  as4Path,
  as4Aggregator,
  ipv6ExtendedCommunities,
  largeCommunities,
];

const BY_CODE: readonly (AttrEntry | undefined)[] = (() => {
  const t: (AttrEntry | undefined)[] = new Array(256).fill(undefined);
  for (const e of ENTRIES) t[e.code] = e;
  return t;
})();

export function attributeName(code: number): string {
  return BY_CODE[code]?.name ?? `attribute ${code}`;
}

/** An UPDATE error that did not reset the session (RFC 7606 treat-as-withdraw or attribute-discard). */
export interface AttributeProblem {
  readonly action: Exclude<UpdateErrorAction, 'reset'>;
  readonly error: UpdateMessageError;
}

export interface DecodedAttributes {
  readonly attributes: DecodingAttributes;
  readonly problems: AttributeProblem[] | undefined;
  /** Codes of unrecognized optional non-transitive attributes, quietly ignored (RFC 4271 9). */
  readonly ignored: number[] | undefined;
}

const OT = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;

function valueOverrun(detail: string, offset: number): UpdateMessageError {
  return new UpdateMessageError(UpdateMessageSubcode.ATTRIBUTE_LENGTH_ERROR, detail, undefined, offset);
}

/**
 * Records an error that does not reset the session, with the attribute as data; throws the one that
 * does (the session resets with this NOTIFICATION).
 */
function addProblem(
  problems: AttributeProblem[] | undefined,
  bytes: Uint8Array,
  action: UpdateErrorAction,
  err: UpdateMessageError,
  attrStart: number,
  attrEnd: number,
): AttributeProblem[] {
  const e = new UpdateMessageError(
    err.subcode,
    err.detail,
    bytes.slice(attrStart, attrEnd),
    err.offset,
    action,
  );
  if (action === 'reset') throw e;
  const list = problems ?? [];
  list.push({ action, error: e });
  return list;
}

/**
 * Decodes the path attributes in r[pos, end). Throws the UpdateMessageError of a session reset;
 * anything milder is returned as a problem with the attributes that survived.
 */
export function decodeAttributes(r: ByteReader, ctx: CodecContext): DecodedAttributes {
  const bytes = r.bytes;
  const end = r.end;
  const out: DecodingAttributes = {};
  let problems: AttributeProblem[] | undefined;
  let unknown: RawAttribute[] | undefined;
  let ignored: number[] | undefined;
  let seen0 = 0; // codes 0..31
  let seen1 = 0; // codes 32..63
  let seenHigh: Set<number> | undefined;
  const value = new ByteReader(bytes, valueOverrun, 0, 0, r.view);
  let pos = r.pos;
  while (pos < end) {
    const start = pos;
    // RFC 7606 4: fewer than 3 octets (4 with Extended Length) left, or a length that runs past the
    // path attribute field: treat-as-withdraw, relying on Total Path Attribute Length to find the NLRI.
    const flags = bytes[pos]!;
    const headerLen = flags & AttrFlag.EXTENDED_LENGTH ? 4 : 3;
    if (end - pos < headerLen) {
      problems = addProblem(
        problems,
        bytes,

        'withdraw',
        new UpdateMessageError(
          UpdateMessageSubcode.MALFORMED_ATTRIBUTE_LIST,
          `attribute header truncated: ${end - pos} bytes left`,
          undefined,
          pos,
        ),
        start,
        end,
      );
      break;
    }
    const code = bytes[pos + 1]!;
    const len = headerLen === 4 ? (bytes[pos + 2]! << 8) | bytes[pos + 3]! : bytes[pos + 2]!;
    const valueStart = pos + headerLen;
    const valueEnd = valueStart + len;
    if (valueEnd > end) {
      problems = addProblem(
        problems,
        bytes,

        'withdraw',
        new UpdateMessageError(
          UpdateMessageSubcode.ATTRIBUTE_LENGTH_ERROR,
          `${attributeName(code)} length ${len} runs past the path attributes`,
          undefined,
          pos + 2,
        ),
        start,
        end,
      );
      break;
    }
    pos = valueEnd;

    // RFC 7606 3.g: MP_REACH_NLRI or MP_UNREACH_NLRI more than once: Malformed Attribute List (reset);
    // any other attribute more than once: all but the first discarded.
    let dup: boolean;
    if (code < 32) {
      dup = (seen0 & (1 << code)) !== 0;
      seen0 |= 1 << code;
    } else if (code < 64) {
      dup = (seen1 & (1 << (code - 32))) !== 0;
      seen1 |= 1 << (code - 32);
    } else {
      seenHigh ??= new Set();
      dup = seenHigh.has(code);
      seenHigh.add(code);
    }
    if (dup) {
      const err = new UpdateMessageError(
        UpdateMessageSubcode.MALFORMED_ATTRIBUTE_LIST,
        `${attributeName(code)} appears more than once`,
        undefined,
        start,
      );
      if (code === AttrType.MP_REACH_NLRI || code === AttrType.MP_UNREACH_NLRI) {
        throw new UpdateMessageError(err.subcode, err.detail, undefined, start, 'reset');
      }
      problems = addProblem(problems, bytes, 'discard', err, start, valueEnd);
      continue;
    }

    const entry = BY_CODE[code];
    if (!entry) {
      // RFC 4271 6.3: an unrecognized well-known attribute: 3/2 with the attribute as data.
      if (!(flags & AttrFlag.OPTIONAL)) {
        throw new UpdateMessageError(
          UpdateMessageSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
          `unrecognized well-known attribute ${code}`,
          bytes.slice(start, valueEnd),
          start,
          'reset',
        );
      }
      // RFC 4271 5 / 9: an unrecognized optional transitive attribute is passed on with Partial set;
      // an optional non-transitive one is quietly ignored.
      if (flags & AttrFlag.TRANSITIVE) {
        unknown ??= [];
        unknown.push({
          flags: (flags | AttrFlag.PARTIAL) & ~AttrFlag.EXTENDED_LENGTH,
          code,
          value: bytes.slice(valueStart, valueEnd),
        });
      } else {
        ignored ??= [];
        ignored.push(code);
      }
      continue;
    }

    // RFC 7606 3.c: Optional or Transitive bits in conflict with the attribute's definition: the
    // attribute is malformed, and handled as that attribute's errors are.
    if ((flags & OT) !== entry.flags) {
      problems = addProblem(
        problems,
        bytes,

        entry.onError,
        new UpdateMessageError(
          UpdateMessageSubcode.ATTRIBUTE_FLAGS_ERROR,
          `${entry.name} flags 0x${flags.toString(16)} conflict with its type`,
          undefined,
          start,
        ),
        start,
        valueEnd,
      );
      continue;
    }

    value.pos = valueStart;
    value.end = valueEnd;
    try {
      entry.decode(value, out, ctx);
    } catch (e) {
      if (!(e instanceof UpdateMessageError)) throw e;
      problems = addProblem(problems, bytes, entry.onError, e, start, valueEnd);
      continue;
    }
    // A decoder that leaves bytes unread has found a length that disagrees with its content.
    if (value.pos !== valueEnd) {
      problems = addProblem(
        problems,
        bytes,

        entry.onError,
        new UpdateMessageError(
          UpdateMessageSubcode.ATTRIBUTE_LENGTH_ERROR,
          `${entry.name} has trailing bytes`,
          undefined,
          value.pos,
        ),
        start,
        valueEnd,
      );
    }
  }
  r.pos = end;
  if (unknown) out.unknown = unknown;
  return { attributes: out, problems, ignored };
}

/** Starts an attribute with a 2-octet length; `endAttribute` shrinks it to 1 octet when it fits. */
function beginAttribute(w: ByteWriter, flags: number, code: number): number {
  w.ensure(4);
  const start = w.pos;
  w.bytes[start] = flags | AttrFlag.EXTENDED_LENGTH;
  w.bytes[start + 1] = code;
  w.pos += 4;
  return start;
}

function endAttribute(w: ByteWriter, start: number): void {
  const len = w.pos - start - 4;
  if (len > 0xffff)
    throw new RangeError(`attribute ${w.bytes[start + 1]} value of ${len} bytes exceeds 65535`);
  if (len <= 255) {
    w.bytes.copyWithin(start + 3, start + 4, w.pos);
    w.bytes[start] = w.bytes[start]! & ~AttrFlag.EXTENDED_LENGTH;
    w.bytes[start + 2] = len;
    w.pos -= 1;
  } else {
    w.view.setUint16(start + 2, len);
  }
}

/** Writes one attribute whose value `write` produces; used for the packer's MP_REACH slices. */
export function writeAttribute(w: ByteWriter, entry: AttrEntry, write: () => void): void {
  const start = beginAttribute(w, entry.flags, entry.code);
  write();
  endAttribute(w, start);
}

export interface EncodeOptions {
  /** Leave MP_REACH_NLRI / MP_UNREACH_NLRI out (the packer writes them itself). */
  readonly skipMp?: boolean;
}

/** Writes the path attributes in canonical order (see ENTRIES); never modifies `a`. */
export function encodeAttributes(
  a: PathAttributes,
  w: ByteWriter,
  ctx: CodecContext,
  opts?: EncodeOptions,
): void {
  const unknown =
    a.unknown && a.unknown.length > 1 ? [...a.unknown].sort((x, y) => x.code - y.code) : a.unknown;
  let u = 0;
  for (const entry of ENTRIES) {
    if (opts?.skipMp && (entry === mpReach || entry === mpUnreach)) continue;
    if (unknown && entry !== mpReach && entry !== mpUnreach) {
      while (u < unknown.length && unknown[u]!.code < entry.code) writeRaw(w, unknown[u++]!);
    }
    if (!entry.present(a, ctx)) continue;
    const start = beginAttribute(w, entry.flags, entry.code);
    entry.encode(a, w, ctx);
    endAttribute(w, start);
  }
  if (unknown) while (u < unknown.length) writeRaw(w, unknown[u++]!);
}

function writeRaw(w: ByteWriter, attr: RawAttribute): void {
  const start = beginAttribute(w, attr.flags & ~AttrFlag.EXTENDED_LENGTH, attr.code);
  w.raw(attr.value);
  endAttribute(w, start);
}

export { mpReach, mpUnreach };
