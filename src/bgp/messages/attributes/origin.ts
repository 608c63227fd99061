// RFC 4271 4.3 and 5.1.1: ORIGIN, well-known mandatory, 1 octet: 0 IGP, 1 EGP, 2 INCOMPLETE.
// RFC 7606 7.1: wrong length or an undefined value: treat-as-withdraw.

import { AttrFlag, AttrType, UpdateMessageSubcode } from '../iana.js';
import { expectLength, malformed } from './common.js';
import type { AttrEntry } from './types.js';

export const origin: AttrEntry = {
  code: AttrType.ORIGIN,
  name: 'ORIGIN',
  flags: AttrFlag.TRANSITIVE,
  onError: 'withdraw',
  decode(r, out) {
    expectLength(r, r.remaining === 1, 'ORIGIN', '1');
    const v = r.u8();
    if (v > 2)
      throw malformed(
        UpdateMessageSubcode.INVALID_ORIGIN_ATTRIBUTE,
        `ORIGIN value ${v} is undefined`,
        r.pos - 1,
      );
    out.origin = v as 0 | 1 | 2;
  },
  present: (a) => a.origin !== undefined,
  encode(a, w) {
    w.u8(a.origin!);
  },
};
