// RFC 4360: EXTENDED_COMMUNITIES, optional transitive, a list of 8-octet values (type, subtype, value),
// each held as one unsigned 64-bit bigint. RFC 7606 7.14: a length that is not a non-zero multiple
// of 8: treat-as-withdraw.

import { AttrFlag, AttrType } from '../iana.js';
import { expectMultiple } from './common.js';
import type { AttrEntry } from './types.js';

export const extendedCommunities: AttrEntry = {
  code: AttrType.EXTENDED_COMMUNITIES,
  name: 'EXTENDED_COMMUNITIES',
  flags: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  onError: 'withdraw',
  decode(r, out) {
    const n = expectMultiple(r, 8, 'EXTENDED_COMMUNITIES');
    const list: bigint[] = new Array(n);
    for (let i = 0; i < n; i++) list[i] = r.u64();
    out.extendedCommunities = list;
  },
  present: (a) => a.extendedCommunities !== undefined && a.extendedCommunities.length > 0,
  encode(a, w) {
    for (const c of a.extendedCommunities!) w.u64(c);
  },
};
