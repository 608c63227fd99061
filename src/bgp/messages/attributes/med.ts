// RFC 4271 4.3 and 5.1.4: MULTI_EXIT_DISC, optional non-transitive, 4 octets.
// RFC 7606 7.4: wrong length: treat-as-withdraw.

import { AttrFlag, AttrType } from '../iana.js';
import { expectLength } from './common.js';
import type { AttrEntry } from './types.js';

export const med: AttrEntry = {
  code: AttrType.MULTI_EXIT_DISC,
  name: 'MULTI_EXIT_DISC',
  flags: AttrFlag.OPTIONAL,
  onError: 'withdraw',
  decode(r, out) {
    expectLength(r, r.remaining === 4, 'MULTI_EXIT_DISC', '4');
    out.med = r.u32();
  },
  present: (a) => a.med !== undefined,
  encode(a, w) {
    w.u32(a.med!);
  },
};
