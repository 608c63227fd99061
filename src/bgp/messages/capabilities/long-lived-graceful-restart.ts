// RFC 9494 3: Long-Lived Graceful Restart capability (code 71), one tuple per address family.
//
//   +--------------------------------------------------+
//   | Address Family Identifier (16 bits)              |
//   +--------------------------------------------------+
//   | Subsequent Address Family Identifier (8 bits)    |
//   +--------------------------------------------------+
//   | Flags for Address Family (8 bits)                |
//   +--------------------------------------------------+
//   | Long-lived Stale Time (24 bits)                  |
//   +--------------------------------------------------+
//   | ...                                              |
//   +--------------------------------------------------+
//
// Flags: F (0x80) forwarding state preserved, as in RFC 4724; the reserved bits are ignored on
// receipt and sent as 0. Long-lived Stale Time: seconds.

import { CapabilityCode } from '../iana.js';
import type { CapabilityCodec } from './codec.js';
import { FORWARDING_STATE_FLAG } from './graceful-restart.js';

export interface LongLivedGracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  readonly forwardingState: boolean;
  /** Seconds, 24 bits. */
  readonly staleTime: number;
}

export interface LongLivedGracefulRestartCapability {
  readonly kind: 'long-lived-graceful-restart';
  readonly families: readonly LongLivedGracefulRestartFamily[];
}

export const longLivedGracefulRestart: CapabilityCodec<LongLivedGracefulRestartCapability> = {
  code: CapabilityCode.LONG_LIVED_GRACEFUL_RESTART,
  length: { min: 0, step: 7 },
  decode(r) {
    const families: LongLivedGracefulRestartFamily[] = [];
    while (r.remaining > 0) {
      const afi = r.u16('AFI');
      const safi = r.u8('SAFI');
      const forwardingState = (r.u8('address family flags') & FORWARDING_STATE_FLAG) !== 0;
      const staleTime = r.u8('stale time') * 0x10000 + r.u16('stale time');
      families.push({ afi, safi, forwardingState, staleTime });
    }
    return { kind: 'long-lived-graceful-restart', families };
  },
  encode(cap, w) {
    for (const f of cap.families) {
      if (f.staleTime > 0xffffff) throw new RangeError(`LLGR stale time ${f.staleTime} exceeds 24 bits`);
      w.u16(f.afi);
      w.u8(f.safi);
      w.u8(f.forwardingState ? FORWARDING_STATE_FLAG : 0);
      w.u8(f.staleTime >>> 16);
      w.u16(f.staleTime & 0xffff);
    }
  },
};
