// RFC 1997: COMMUNITIES, optional transitive, a list of 4-octet values.
// RFC 7606 7.8: a length that is not a non-zero multiple of 4: treat-as-withdraw.

import { AttrFlag, AttrType } from '../iana.js';
import { expectMultiple } from './common.js';
import type { AttrEntry } from './types.js';

export const communities: AttrEntry = {
  code: AttrType.COMMUNITIES,
  name: 'COMMUNITIES',
  flags: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  onError: 'withdraw',
  decode(r, out) {
    const n = expectMultiple(r, 4, 'COMMUNITIES');
    const list: number[] = new Array(n);
    for (let i = 0; i < n; i++) list[i] = r.u32();
    out.communities = list;
  },
  present: (a) => a.communities !== undefined && a.communities.length > 0,
  encode(a, w) {
    for (const c of a.communities!) w.u32(c);
  },
};
