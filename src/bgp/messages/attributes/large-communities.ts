// RFC 8092: LARGE_COMMUNITY, optional transitive, a list of 12-octet values:
//  | Global Administrator (4) | Local Data Part 1 (4) | Local Data Part 2 (4) |
// RFC 8092 5: a length that is not a non-zero multiple of 12: treat-as-withdraw.

import { AttrFlag, AttrType } from '../iana.js';
import { expectMultiple } from './common.js';
import type { AttrEntry, LargeCommunity } from './types.js';

export const largeCommunities: AttrEntry = {
  code: AttrType.LARGE_COMMUNITY,
  name: 'LARGE_COMMUNITY',
  flags: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  onError: 'withdraw',
  decode(r, out) {
    const n = expectMultiple(r, 12, 'LARGE_COMMUNITY');
    const list: LargeCommunity[] = new Array(n);
    for (let i = 0; i < n; i++) list[i] = { globalAdmin: r.u32(), localData1: r.u32(), localData2: r.u32() };
    out.largeCommunities = list;
  },
  present: (a) => a.largeCommunities !== undefined && a.largeCommunities.length > 0,
  encode(a, w) {
    for (const c of a.largeCommunities!) {
      w.u32(c.globalAdmin);
      w.u32(c.localData1);
      w.u32(c.localData2);
    }
  },
};
