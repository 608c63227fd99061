// draft-walton-bgp-hostname-capability 3: FQDN capability (code 73): the sender's host and domain
// names, for display. Both are UTF-8 with 1-octet lengths; the domain name may be empty.
//
//   +--------------------------------+
//   | Host Name Length (1 octet)     |
//   +--------------------------------+
//   | Host Name (variable)           |
//   +--------------------------------+
//   | Domain Name Length (1 octet)   |
//   +--------------------------------+
//   | Domain Name (variable)         |
//   +--------------------------------+
//
// Names that are not UTF-8 make the capability unknown (kept as bytes), not a session error.

import { CapabilityCode } from '../iana.js';
import { type CapabilityCodec, readShortString, writeShortString } from './codec.js';

export interface FqdnCapability {
  readonly kind: 'fqdn';
  readonly hostname: string;
  readonly domainName: string;
}

export const fqdn: CapabilityCodec<FqdnCapability> = {
  code: CapabilityCode.FQDN,
  length: { min: 2, step: 1 },
  decode(r) {
    const hostname = readShortString(r, 'host name');
    const domainName = readShortString(r, 'domain name');
    if (hostname === undefined || domainName === undefined) return undefined;
    return { kind: 'fqdn', hostname, domainName };
  },
  encode(cap, w) {
    writeShortString(w, cap.hostname, 'FQDN host name');
    writeShortString(w, cap.domainName, 'FQDN domain name');
  },
};
