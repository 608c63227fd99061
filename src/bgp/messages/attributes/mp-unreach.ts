// RFC 4760 4: MP_UNREACH_NLRI, optional non-transitive.
//
//  | AFI (2) | SAFI (1) | Withdrawn Routes (variable) |
//
// An MP_UNREACH_NLRI with no withdrawn routes and nothing else in the UPDATE is the End-of-RIB marker
// of its family (RFC 4724 2). Malformed: session reset, 3/9 (RFC 4760 7, RFC 7606 7.12).

import { type CodecContext, hasAddPath } from '../context.js';
import { AttrFlag, AttrType, UpdateMessageSubcode } from '../iana.js';
import { writePrefixes } from '../nlri.js';
import type { ByteWriter } from '../writer.js';
import { malformed } from './common.js';
import { decodeMpPrefixes, isUnicast } from './mp-reach.js';
import type { AttrEntry, MpUnreach } from './types.js';

/** Writes the MP_UNREACH_NLRI value with withdrawn prefixes [from, to). */
export function writeMpUnreach(
  w: ByteWriter,
  unreach: MpUnreach,
  ctx: CodecContext,
  from?: number,
  to?: number,
): void {
  w.u16(unreach.afi);
  w.u8(unreach.safi);
  if (unreach.kind === 'opaque') w.raw(unreach.withdrawn);
  else writePrefixes(w, unreach.withdrawn, hasAddPath(ctx, unreach.afi, unreach.safi), from, to);
}

export const mpUnreach: AttrEntry = {
  code: AttrType.MP_UNREACH_NLRI,
  name: 'MP_UNREACH_NLRI',
  flags: AttrFlag.OPTIONAL,
  onError: 'reset',
  decode(r, out, ctx) {
    if (r.remaining < 3) {
      throw malformed(
        UpdateMessageSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        `MP_UNREACH_NLRI of ${r.remaining} bytes is truncated`,
        r.end,
      );
    }
    const afi = r.u16('AFI');
    const safi = r.u8('SAFI');
    out.mpUnreach = isUnicast(afi, safi)
      ? { kind: 'unicast', afi, safi, withdrawn: decodeMpPrefixes(r, afi, safi, ctx, 'MP_UNREACH_NLRI') }
      : { kind: 'opaque', afi, safi, withdrawn: r.copy(r.remaining) };
  },
  present: (a) => a.mpUnreach !== undefined,
  encode(a, w, ctx) {
    writeMpUnreach(w, a.mpUnreach!, ctx);
  },
};
