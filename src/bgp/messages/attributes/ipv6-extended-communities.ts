// RFC 5701: IPv6 Address Specific Extended Community, optional transitive, 20 octets each:
//
//  | Type (1) | Sub-Type (1) | Global Administrator: IPv6 address (16) | Local Administrator (2) |
//
// RFC 7606 7.15: a length that is not a non-zero multiple of 20: treat-as-withdraw.

import { AttrFlag, AttrType } from '../iana.js';
import { formatIpv6, parseIpv6 } from '../prefix.js';
import { expectMultiple } from './common.js';
import type { AttrEntry, Ipv6ExtendedCommunity } from './types.js';

export const ipv6ExtendedCommunities: AttrEntry = {
  code: AttrType.IPV6_EXTENDED_COMMUNITIES,
  name: 'IPV6_EXTENDED_COMMUNITIES',
  flags: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  onError: 'withdraw',
  decode(r, out) {
    const n = expectMultiple(r, 20, 'IPV6_EXTENDED_COMMUNITIES');
    const list: Ipv6ExtendedCommunity[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const type = r.u8();
      const subtype = r.u8();
      const address = formatIpv6(r.view8(16));
      const localAdmin = r.u16();
      list[i] = { type, subtype, address, localAdmin };
    }
    out.ipv6ExtendedCommunities = list;
  },
  present: (a) => a.ipv6ExtendedCommunities !== undefined && a.ipv6ExtendedCommunities.length > 0,
  encode(a, w) {
    for (const c of a.ipv6ExtendedCommunities!) {
      const addr = parseIpv6(c.address);
      if (!addr) throw new TypeError(`IPv6 extended community: "${c.address}" is not an IPv6 address`);
      w.u8(c.type);
      w.u8(c.subtype);
      w.raw(addr);
      w.u16(c.localAdmin);
    }
  },
};
