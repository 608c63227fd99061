// RFC 4724 3: Graceful Restart capability (code 64), with the N bit of RFC 8538 2.
//
//   +--------------------------------------------------+
//   | Restart Flags (4 bits)                           |
//   +--------------------------------------------------+
//   | Restart Time in seconds (12 bits)                |
//   +--------------------------------------------------+
//   | Address Family Identifier (16 bits)              |
//   +--------------------------------------------------+
//   | Subsequent Address Family Identifier (8 bits)    |
//   +--------------------------------------------------+
//   | Flags for Address Family (8 bits)                |
//   +--------------------------------------------------+
//   | ...                                              |
//   +--------------------------------------------------+
//
// Restart Flags: R (0x8) the sender has restarted; N (0x4) it supports Graceful Restart for
// NOTIFICATION messages. The other two bits are kept as received. Flags for Address Family: F (0x80)
// forwarding state was preserved; the reserved bits are ignored on receipt and sent as 0.

import { CapabilityCode } from '../iana.js';
import type { CapabilityCodec } from './codec.js';

export const GracefulRestartFlag = {
  RESTART: 0x8,
  NOTIFICATION: 0x4, // RFC 8538
} as const;

/** Flags for Address Family: forwarding state preserved (also used by long-lived graceful restart). */
export const FORWARDING_STATE_FLAG = 0x80;

export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  readonly forwardingState: boolean;
}

export interface GracefulRestartCapability {
  readonly kind: 'graceful-restart';
  /** The 4-bit Restart Flags field (`GracefulRestartFlag`). */
  readonly restartFlags: number;
  /** Seconds, 12 bits. */
  readonly restartTime: number;
  readonly families: readonly GracefulRestartFamily[];
}

export const gracefulRestart: CapabilityCodec<GracefulRestartCapability> = {
  code: CapabilityCode.GRACEFUL_RESTART,
  length: { min: 2, step: 4 },
  decode(r) {
    const head = r.u16('restart flags and time');
    const families: GracefulRestartFamily[] = [];
    while (r.remaining > 0) {
      const afi = r.u16('AFI');
      const safi = r.u8('SAFI');
      const forwardingState = (r.u8('address family flags') & FORWARDING_STATE_FLAG) !== 0;
      families.push({ afi, safi, forwardingState });
    }
    return { kind: 'graceful-restart', restartFlags: head >> 12, restartTime: head & 0xfff, families };
  },
  encode(cap, w) {
    if (cap.restartFlags > 0xf || cap.restartTime > 0xfff) {
      throw new RangeError(
        `graceful restart flags ${cap.restartFlags} or time ${cap.restartTime} out of range`,
      );
    }
    w.u16((cap.restartFlags << 12) | cap.restartTime);
    for (const f of cap.families) {
      w.u16(f.afi);
      w.u8(f.safi);
      w.u8(f.forwardingState ? FORWARDING_STATE_FLAG : 0);
    }
  },
};
