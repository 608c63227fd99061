// draft-abraitis-bgp-version-capability 3: Software Version capability (code 75): the sender's
// software name and version as UTF-8 text, for display.
//
//   +--------------------------------+
//   | Version Length (1 octet)       |
//   +--------------------------------+
//   | Software Version (variable)    |
//   +--------------------------------+
//
// A version that is not UTF-8 makes the capability unknown (kept as bytes), not a session error.

import { CapabilityCode } from '../iana.js';
import { type CapabilityCodec, readShortString, writeShortString } from './codec.js';

export interface SoftwareVersionCapability {
  readonly kind: 'software-version';
  readonly version: string;
}

export const softwareVersion: CapabilityCodec<SoftwareVersionCapability> = {
  code: CapabilityCode.SOFTWARE_VERSION,
  length: { min: 1, step: 1 },
  decode(r) {
    const version = readShortString(r, 'software version');
    return version === undefined ? undefined : { kind: 'software-version', version };
  },
  encode(cap, w) {
    writeShortString(w, cap.version, 'software version');
  },
};
