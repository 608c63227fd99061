// RFC 4271 4.3 and 5.1.7: AGGREGATOR, optional transitive: | AS (2 or 4) | IPv4 address (4) |.
// RFC 6793: AS4_AGGREGATOR, optional transitive, | AS (4) | IPv4 address (4) |, sent beside an
// AGGREGATOR holding AS_TRANS when the AS does not fit 2 octets.
// RFC 7606 7.7 and RFC 6793 6: a malformed AGGREGATOR or AS4_AGGREGATOR is discarded.

import { AS_TRANS, AttrFlag, AttrType, UpdateMessageSubcode } from '../iana.js';
import { expectLength, malformed, readIpv4, writeIpv4 } from './common.js';
import type { AttrEntry } from './types.js';

export const aggregator: AttrEntry = {
  code: AttrType.AGGREGATOR,
  name: 'AGGREGATOR',
  flags: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  onError: 'discard',
  decode(r, out, ctx) {
    const size = ctx.as4 ? 8 : 6;
    expectLength(r, r.remaining === size, 'AGGREGATOR', String(size));
    const as = ctx.as4 ? r.u32() : r.u16();
    out.aggregator = { as, address: readIpv4(r, 'AGGREGATOR') };
  },
  present: (a) => a.aggregator !== undefined,
  encode(a, w, ctx) {
    const { as, address } = a.aggregator!;
    if (ctx.as4) w.u32(as);
    else w.u16(as > 0xffff ? AS_TRANS : as);
    writeIpv4(w, address, 'AGGREGATOR');
  },
};

export const as4Aggregator: AttrEntry = {
  code: AttrType.AS4_AGGREGATOR,
  name: 'AS4_AGGREGATOR',
  flags: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  onError: 'discard',
  decode(r, out, ctx) {
    if (ctx.as4) {
      throw malformed(
        UpdateMessageSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        'AS4_AGGREGATOR from a 4-octet AS speaker',
        r.pos,
      );
    }
    expectLength(r, r.remaining === 8, 'AS4_AGGREGATOR', '8');
    const as = r.u32();
    out.as4Aggregator = { as, address: readIpv4(r, 'AS4_AGGREGATOR') };
  },
  present: (a, ctx) => !ctx.as4 && a.aggregator !== undefined && a.aggregator.as > 0xffff,
  encode(a, w) {
    w.u32(a.aggregator!.as);
    writeIpv4(w, a.aggregator!.address, 'AS4_AGGREGATOR');
  },
};
