// RFC 4271 4.3 and 5.1.5: LOCAL_PREF, well-known (iBGP only), 4 octets.
// RFC 7606 7.5: wrong length: treat-as-withdraw. (Received from an external peer it is discarded:
// that is the session's rule, since the codec does not know the peer.)

import { AttrFlag, AttrType } from '../iana.js';
import { expectLength } from './common.js';
import type { AttrEntry } from './types.js';

export const localPref: AttrEntry = {
  code: AttrType.LOCAL_PREF,
  name: 'LOCAL_PREF',
  flags: AttrFlag.TRANSITIVE,
  onError: 'withdraw',
  decode(r, out) {
    expectLength(r, r.remaining === 4, 'LOCAL_PREF', '4');
    out.localPref = r.u32();
  },
  present: (a) => a.localPref !== undefined,
  encode(a, w) {
    w.u32(a.localPref!);
  },
};
