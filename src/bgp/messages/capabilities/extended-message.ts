// RFC 8654 3: BGP Extended Message capability (code 6). The value is empty; when both sides send it,
// messages other than OPEN and KEEPALIVE may be up to 65535 octets.
//
//   +------------------------------+
//   | Capability Code = 6          |
//   +------------------------------+
//   | Capability Length = 0        |
//   +------------------------------+

import { CapabilityCode } from '../iana.js';
import { type CapabilityCodec, emptyCodec } from './codec.js';

export interface ExtendedMessageCapability {
  readonly kind: 'extended-message';
}

export const extendedMessage: CapabilityCodec<ExtendedMessageCapability> = emptyCodec(
  CapabilityCode.EXTENDED_MESSAGE,
  'extended-message',
);
