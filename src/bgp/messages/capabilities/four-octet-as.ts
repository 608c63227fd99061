// RFC 6793 3: Support for 4-octet AS Number capability (code 65).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                  Autonomous System number (4 octets)          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import { CapabilityCode } from '../iana.js';
import type { CapabilityCodec } from './codec.js';

export interface FourOctetAsCapability {
  readonly kind: 'four-octet-as';
  readonly as: number;
}

export const fourOctetAs: CapabilityCodec<FourOctetAsCapability> = {
  code: CapabilityCode.FOUR_OCTET_AS,
  length: { min: 4, step: 0 },
  decode: (r) => ({ kind: 'four-octet-as', as: r.u32('AS number') }),
  encode(cap, w) {
    w.u32(cap.as);
  },
};
