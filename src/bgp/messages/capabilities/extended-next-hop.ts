// RFC 8950 4: Extended Next Hop Encoding capability (code 5): for each listed NLRI family, the next hop
// may be an address of the Next Hop AFI (IPv4 routes over IPv6 next hops). Note the 2-octet SAFI.
//
//   +-----------------------------------------------------+
//   | NLRI AFI - 1 (2 octets)                             |
//   +-----------------------------------------------------+
//   | NLRI SAFI - 1 (2 octets)                            |
//   +-----------------------------------------------------+
//   | Nexthop AFI - 1 (2 octets)                          |
//   +-----------------------------------------------------+
//   | .....                                               |
//   +-----------------------------------------------------+

import { CapabilityCode } from '../iana.js';
import type { CapabilityCodec } from './codec.js';

export interface ExtendedNextHopFamily {
  readonly afi: number;
  readonly safi: number;
  readonly nextHopAfi: number;
}

export interface ExtendedNextHopCapability {
  readonly kind: 'extended-next-hop';
  readonly families: readonly ExtendedNextHopFamily[];
}

export const extendedNextHop: CapabilityCodec<ExtendedNextHopCapability> = {
  code: CapabilityCode.EXTENDED_NEXT_HOP,
  length: { min: 0, step: 6 },
  decode(r) {
    const families: ExtendedNextHopFamily[] = [];
    while (r.remaining > 0) {
      const afi = r.u16('NLRI AFI');
      const safi = r.u16('NLRI SAFI');
      const nextHopAfi = r.u16('next hop AFI');
      families.push({ afi, safi, nextHopAfi });
    }
    return { kind: 'extended-next-hop', families };
  },
  encode(cap, w) {
    for (const f of cap.families) {
      w.u16(f.afi);
      w.u16(f.safi);
      w.u16(f.nextHopAfi);
    }
  },
};
