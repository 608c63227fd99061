// RFC 4271 4.3 and 5.1.6: ATOMIC_AGGREGATE, well-known discretionary, no value.
// RFC 7606 7.6: a non-zero length: attribute-discard.

import { AttrFlag, AttrType } from '../iana.js';
import { expectLength } from './common.js';
import type { AttrEntry } from './types.js';

export const atomicAggregate: AttrEntry = {
  code: AttrType.ATOMIC_AGGREGATE,
  name: 'ATOMIC_AGGREGATE',
  flags: AttrFlag.TRANSITIVE,
  onError: 'discard',
  decode(r, out) {
    expectLength(r, r.remaining === 0, 'ATOMIC_AGGREGATE', '0');
    out.atomicAggregate = true;
  },
  present: (a) => a.atomicAggregate === true,
  encode() {},
};
