// RFC 4271 4.3 and 5.1.3: NEXT_HOP, well-known (mandatory when the UPDATE carries IPv4 NLRI in its
// NLRI field), 4 octets. RFC 7606 7.3: wrong length: treat-as-withdraw. Whether the address is
// acceptable (not ours, not a martian) is the session's call, not the codec's.

import { AttrFlag, AttrType } from '../iana.js';
import { expectLength, readIpv4, writeIpv4 } from './common.js';
import type { AttrEntry } from './types.js';

export const nextHop: AttrEntry = {
  code: AttrType.NEXT_HOP,
  name: 'NEXT_HOP',
  flags: AttrFlag.TRANSITIVE,
  onError: 'withdraw',
  decode(r, out) {
    expectLength(r, r.remaining === 4, 'NEXT_HOP', '4');
    out.nextHop = readIpv4(r, 'NEXT_HOP');
  },
  present: (a) => a.nextHop !== undefined,
  encode(a, w) {
    writeIpv4(w, a.nextHop!, 'NEXT_HOP');
  },
};
