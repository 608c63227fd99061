// RFC 4456 8: ORIGINATOR_ID, optional non-transitive, the 4-octet router id of the route's originator.
// RFC 7606 7.9: wrong length: treat-as-withdraw.

import { AttrFlag, AttrType } from '../iana.js';
import { expectLength, readIpv4, writeIpv4 } from './common.js';
import type { AttrEntry } from './types.js';

export const originatorId: AttrEntry = {
  code: AttrType.ORIGINATOR_ID,
  name: 'ORIGINATOR_ID',
  flags: AttrFlag.OPTIONAL,
  onError: 'withdraw',
  decode(r, out) {
    expectLength(r, r.remaining === 4, 'ORIGINATOR_ID', '4');
    out.originatorId = readIpv4(r, 'ORIGINATOR_ID');
  },
  present: (a) => a.originatorId !== undefined,
  encode(a, w) {
    writeIpv4(w, a.originatorId!, 'ORIGINATOR_ID');
  },
};
