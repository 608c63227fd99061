// RFC 7911 4: ADD-PATH capability (code 69), one tuple per address family.
//
//   +------------------------------------------------+
//   | Address Family Identifier (2 octets)           |
//   +------------------------------------------------+
//   | Subsequent Address Family Identifier (1 octet) |
//   +------------------------------------------------+
//   | Send/Receive (1 octet)                         |
//   +------------------------------------------------+
//   | ...                                            |
//   +------------------------------------------------+
//
// Send/Receive: 1 the sender can receive multiple paths, 2 it can send them, 3 both. "If any other
// value is received, then the capability SHOULD be treated as not understood and ignored": such a
// capability decodes as unknown.

import { CapabilityCode } from '../iana.js';
import type { CapabilityCodec } from './codec.js';

const RECEIVE = 1;
const SEND = 2;

export interface AddPathFamily {
  readonly afi: number;
  readonly safi: number;
  readonly send: boolean;
  readonly receive: boolean;
}

export interface AddPathCapability {
  readonly kind: 'add-path';
  readonly families: readonly AddPathFamily[];
}

export const addPath: CapabilityCodec<AddPathCapability> = {
  code: CapabilityCode.ADD_PATH,
  length: { min: 0, step: 4 },
  decode(r) {
    const families: AddPathFamily[] = [];
    let understood = true;
    while (r.remaining > 0) {
      const afi = r.u16('AFI');
      const safi = r.u8('SAFI');
      const mode = r.u8('send/receive');
      if (mode < 1 || mode > 3) understood = false;
      families.push({ afi, safi, send: (mode & SEND) !== 0, receive: (mode & RECEIVE) !== 0 });
    }
    return understood ? { kind: 'add-path', families } : undefined;
  },
  encode(cap, w) {
    for (const f of cap.families) {
      if (!f.send && !f.receive)
        throw new RangeError(`ADD-PATH family ${f.afi}/${f.safi} neither sends nor receives`);
      w.u16(f.afi);
      w.u8(f.safi);
      w.u8((f.send ? SEND : 0) | (f.receive ? RECEIVE : 0));
    }
  },
};
