// RFC 4760 3: MP_REACH_NLRI, optional non-transitive.
//
//  +---------------------------------------------------------+
//  | Address Family Identifier (2 octets)                    |
//  | Subsequent Address Family Identifier (1 octet)          |
//  | Length of Next Hop Network Address (1 octet)            |
//  | Network Address of Next Hop (variable)                  |
//  | Reserved (1 octet)                                      |
//  | Network Layer Reachability Information (variable)       |
//  +---------------------------------------------------------+
//
// IPv4 and IPv6 unicast are decoded: next hop 4 octets (IPv4), 16 (IPv6 global; RFC 8950 for IPv4
// NLRI) or 32 (global + link-local, RFC 2545 3). Any other family is kept as opaque bytes.
// RFC 7606 7.11 and RFC 4760 7: a malformed MP_REACH_NLRI leaves its NLRI unknowable, so the session
// resets with 3/9 Optional Attribute Error.

import { type CodecContext, hasAddPath } from '../context.js';
import { BgpError } from '../errors.js';
import { Afi, AttrFlag, AttrType, Safi, UpdateMessageSubcode } from '../iana.js';
import { decodeIpv4Prefixes, decodeIpv6Prefixes, type PrefixList, writePrefixes } from '../nlri.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../prefix.js';
import type { ByteReader } from '../reader.js';
import type { ByteWriter } from '../writer.js';
import { malformed } from './common.js';
import type { AttrEntry, MpReach } from './types.js';

export function isUnicast(afi: number, safi: number): boolean {
  return (afi === Afi.IPV4 || afi === Afi.IPV6) && safi === Safi.UNICAST;
}

/** Decodes an NLRI field of a unicast family, turning any error into 3/9 (RFC 4760 7). */
export function decodeMpPrefixes(
  r: ByteReader,
  afi: number,
  safi: number,
  ctx: CodecContext,
  name: string,
): PrefixList {
  const addPath = hasAddPath(ctx, afi, safi);
  try {
    return afi === Afi.IPV4
      ? decodeIpv4Prefixes(r.bytes, r.pos, r.end, addPath)
      : decodeIpv6Prefixes(r.bytes, r.pos, r.end, addPath);
  } catch (e) {
    if (e instanceof BgpError)
      throw malformed(UpdateMessageSubcode.OPTIONAL_ATTRIBUTE_ERROR, `${name}: ${e.detail}`, e.offset);
    throw e;
  } finally {
    r.pos = r.end;
  }
}

function decodeNextHop(
  r: ByteReader,
  afi: number,
  len: number,
): { nextHop: string; linkLocalNextHop?: string } {
  const at = r.pos;
  if (len === 4 && afi === Afi.IPV4) return { nextHop: formatIpv4(r.u32()) };
  if (len === 16) return { nextHop: formatIpv6(r.view8(16)) };
  if (len === 32) {
    const nextHop = formatIpv6(r.view8(16));
    return { nextHop, linkLocalNextHop: formatIpv6(r.view8(16)) };
  }
  throw malformed(
    UpdateMessageSubcode.OPTIONAL_ATTRIBUTE_ERROR,
    `MP_REACH_NLRI: next hop length ${len} is invalid for AFI ${afi}`,
    at - 1,
  );
}

function writeNextHop(w: ByteWriter, reach: Extract<MpReach, { kind: 'unicast' }>): void {
  const lenAt = w.reserve8();
  const v4 = parseIpv4(reach.nextHop);
  if (v4 !== undefined && reach.linkLocalNextHop === undefined) {
    w.u32(v4);
  } else {
    const v6 = parseIpv6(reach.nextHop);
    if (!v6) throw new TypeError(`MP_REACH_NLRI: next hop "${reach.nextHop}" is not an address`);
    w.raw(v6);
    if (reach.linkLocalNextHop !== undefined) {
      const ll = parseIpv6(reach.linkLocalNextHop);
      if (!ll)
        throw new TypeError(
          `MP_REACH_NLRI: link-local next hop "${reach.linkLocalNextHop}" is not an IPv6 address`,
        );
      w.raw(ll);
    }
  }
  w.fill8(lenAt);
}

/** Writes the MP_REACH_NLRI value with prefixes [from, to) of its NLRI (the update packer's slices). */
export function writeMpReach(
  w: ByteWriter,
  reach: MpReach,
  ctx: CodecContext,
  from?: number,
  to?: number,
): void {
  w.u16(reach.afi);
  w.u8(reach.safi);
  if (reach.kind === 'opaque') {
    w.u8(reach.nextHop.length);
    w.raw(reach.nextHop);
    w.u8(0);
    w.raw(reach.nlri);
    return;
  }
  writeNextHop(w, reach);
  w.u8(0);
  writePrefixes(w, reach.nlri, hasAddPath(ctx, reach.afi, reach.safi), from, to);
}

export const mpReach: AttrEntry = {
  code: AttrType.MP_REACH_NLRI,
  name: 'MP_REACH_NLRI',
  flags: AttrFlag.OPTIONAL,
  onError: 'reset',
  decode(r, out, ctx) {
    if (r.remaining < 4) {
      throw malformed(
        UpdateMessageSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        `MP_REACH_NLRI of ${r.remaining} bytes is truncated`,
        r.end,
      );
    }
    const afi = r.u16('AFI');
    const safi = r.u8('SAFI');
    const nhLen = r.u8('next hop length');
    if (r.remaining < nhLen + 1) {
      throw malformed(
        UpdateMessageSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        `MP_REACH_NLRI: next hop of ${nhLen} bytes overruns the attribute`,
        r.pos - 1,
      );
    }
    if (!isUnicast(afi, safi)) {
      const nextHop = r.copy(nhLen);
      r.skip(1);
      out.mpReach = { kind: 'opaque', afi, safi, nextHop, nlri: r.copy(r.remaining) };
      return;
    }
    const nh = decodeNextHop(r, afi, nhLen);
    r.skip(1); // reserved
    const nlri = decodeMpPrefixes(r, afi, safi, ctx, 'MP_REACH_NLRI');
    out.mpReach = nh.linkLocalNextHop
      ? { kind: 'unicast', afi, safi, nextHop: nh.nextHop, linkLocalNextHop: nh.linkLocalNextHop, nlri }
      : { kind: 'unicast', afi, safi, nextHop: nh.nextHop, nlri };
  },
  present: (a) => a.mpReach !== undefined,
  encode(a, w, ctx) {
    writeMpReach(w, a.mpReach!, ctx);
  },
};
