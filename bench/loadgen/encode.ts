// Everything a client sends, encoded before it connects (the generator must never be the bottleneck):
// its OPEN, its announcements packed into as few UPDATEs as 4096 bytes allow (tern's update packer),
// End-of-RIB, and KEEPALIVE. A client's UPDATEs are one buffer, written with one socket.write. For churn
// (bench/rr): the withdrawal of all its prefixes, and the OPEN and UPDATEs of a graceful restart (Restart
// bit set, a subset of the prefixes announced again, End-of-RIB).

import { GracefulRestartFlag } from '../../src/bgp/messages/capabilities/graceful-restart.js';
import { Afi, AS_TRANS, AsPathSegmentType, Origin, Safi } from '../../src/bgp/messages/iana.js';
import { KEEPALIVE } from '../../src/bgp/messages/keepalive.js';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { NO_IPV4_PREFIXES } from '../../src/bgp/messages/nlri.js';
import { BGP_VERSION } from '../../src/bgp/messages/open.js';
import { packAnnouncements, packWithdrawals } from '../../src/bgp/messages/update-packer.js';
import type { ClientPlan, Plan } from './plan.js';

export interface ClientWire {
  readonly open: Buffer;
  /** Every UPDATE announcing the client's prefixes, back to back (empty for the monitor). */
  readonly updates: Buffer;
  readonly updateCount: number;
}

/** RFC 4724 graceful restart, as the client offers it. */
export interface ClientGracefulRestart {
  /** Seconds the daemon should keep the client's routes after the session drops (12 bits). */
  readonly restartTime: number;
}

export const KEEPALIVE_BYTES: Buffer = Buffer.from(encodeMessage(KEEPALIVE));

/** RFC 4724 2: End-of-RIB for IPv4 unicast is an UPDATE with nothing in it. */
export const END_OF_RIB_BYTES: Buffer = Buffer.from(
  encodeMessage({ type: 'update', withdrawn: NO_IPV4_PREFIXES, attributes: {}, nlri: NO_IPV4_PREFIXES }),
);

/**
 * OPEN: 4-octet AS, multiprotocol IPv4 unicast, route refresh; with `gr` also Graceful Restart for IPv4
 * unicast (forwarding state preserved), and the Restart bit when `restarted`.
 */
export function encodeOpenFor(
  c: ClientPlan,
  holdTime: number,
  gr?: ClientGracefulRestart,
  restarted = false,
): Buffer {
  const grCapability =
    gr === undefined
      ? []
      : [
          {
            kind: 'graceful-restart',
            restartFlags: restarted ? GracefulRestartFlag.RESTART : 0,
            restartTime: gr.restartTime,
            families: [{ afi: Afi.IPV4, safi: Safi.UNICAST, forwardingState: true }],
          } as const,
        ];
  return Buffer.from(
    encodeMessage({
      type: 'open',
      version: BGP_VERSION,
      myAs: c.asn > 0xffff ? AS_TRANS : c.asn,
      holdTime,
      bgpId: c.bgpId,
      capabilities: [
        { kind: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST },
        { kind: 'route-refresh' },
        { kind: 'four-octet-as', as: c.asn },
        ...grCapability,
      ],
    }),
  );
}

export interface EncodeOptions {
  readonly holdTime: number;
  /** Same AS as the daemon: no AS in AS_PATH, LOCAL_PREF 100. */
  readonly ibgp: boolean;
  /** Announce the plan's prefixes for this client (false: the monitor). */
  readonly announce: boolean;
  /** End-of-RIB after the announcements. */
  readonly endOfRib: boolean;
  /** Offer graceful restart in the OPEN. */
  readonly gracefulRestart?: ClientGracefulRestart;
  /** Only the first `count` of the client's prefixes (a client back from a restart with fewer routes). */
  readonly count?: number;
  /** The Restart bit in the OPEN (the session after a graceful restart). */
  readonly restarted?: boolean;
}

/** The client's OPEN, and its announcements: ORIGIN IGP, AS_PATH its own AS, NEXT_HOP its own. */
export function encodeClient(plan: Plan, c: ClientPlan, opts: EncodeOptions): ClientWire {
  const prefixes = opts.announce ? plan.prefixesOf(c.index).slice(0, opts.count) : [];
  const msgs =
    prefixes.length === 0
      ? []
      : packAnnouncements(
          {
            origin: Origin.IGP,
            asPath: opts.ibgp ? [] : [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [c.asn] }],
            nextHop: c.nextHop,
            ...(opts.ibgp ? { localPref: 100 } : {}),
          },
          { afi: Afi.IPV4, prefixes },
        );
  const parts = opts.endOfRib ? [...msgs, END_OF_RIB_BYTES] : msgs;
  return {
    open: encodeOpenFor(c, opts.holdTime, opts.gracefulRestart, opts.restarted),
    updates: Buffer.concat(parts),
    updateCount: msgs.length,
  };
}

/** UPDATEs withdrawing every prefix of the client, back to back. */
export function encodeWithdrawals(plan: Plan, c: ClientPlan): Buffer {
  return Buffer.concat(packWithdrawals({ afi: Afi.IPV4, prefixes: plan.prefixesOf(c.index) }));
}
