// RFC 4760 8: Multiprotocol Extensions capability (code 1), one per address family.
//
//   0       7      15      23      31
//   +-------+-------+-------+-------+
//   |      AFI      | Res.  | SAFI  |
//   +-------+-------+-------+-------+
//
// The reserved octet is sent as 0 and ignored on receipt.

import { CapabilityCode } from '../iana.js';
import type { CapabilityCodec } from './codec.js';

export interface MultiprotocolCapability {
  readonly kind: 'multiprotocol';
  readonly afi: number;
  readonly safi: number;
}

export const multiprotocol: CapabilityCodec<MultiprotocolCapability> = {
  code: CapabilityCode.MULTIPROTOCOL,
  length: { min: 4, step: 0 },
  decode(r) {
    const afi = r.u16('AFI');
    r.skip(1, 'reserved');
    const safi = r.u8('SAFI');
    return { kind: 'multiprotocol', afi, safi };
  },
  encode(cap, w) {
    w.u16(cap.afi);
    w.u8(0);
    w.u8(cap.safi);
  },
};
