// What a session agrees on once both OPENs are known (RFC 4271 4.2 and 6.2, RFC 5492 capabilities).
//
// checkOpen: the peer's OPEN against our configuration (RFC 4271 6.2, RFC 6793, RFC 6286, RFC 5492),
// returning the NOTIFICATION-carrying error or undefined. The decoder has already rejected what the
// bytes alone decide (lengths, parameter types, hold time 1 or 2).
//
// negotiate: what both sides announced, and so the codec context for each direction:
// - hold time: the smaller of the two (RFC 4271 4.2); 0 means no hold timer and no keepalives;
// - families: those both announced (RFC 4760 8); a speaker with no Multiprotocol capability at all
//   supports IPv4 unicast only;
// - 4-octet AS (RFC 6793), route refresh (RFC 2918), enhanced route refresh (RFC 7313): both sides;
// - extended messages (RFC 8654 3): we may receive them once we announced the capability, and send them
//   when both did;
// - ADD-PATH (RFC 7911 5), per family: we receive path identifiers where we announced "receive" and the
//   peer "send", we send them where we announced "send" and the peer "receive".

import type { Capability } from '../messages/capabilities/index.js';
import { capabilityCode, GracefulRestartFlag } from '../messages/capabilities/index.js';
import type { CodecContext } from '../messages/context.js';
import { type BgpError, OpenMessageError } from '../messages/errors.js';
import { AS_TRANS, familyKey, IPV4_UNICAST, OpenMessageSubcode } from '../messages/iana.js';
import { BGP_VERSION, type OpenMessage, openAs } from '../messages/open.js';
import { parseIpv4 } from '../messages/prefix.js';
import type { FsmConfig } from './types.js';

export interface PeerGracefulRestart {
  readonly restartTime: number;
  /** The R bit: the peer has just restarted. */
  readonly restarting: boolean;
  readonly families: readonly { readonly family: number; readonly forwardingState: boolean }[];
}

export interface Negotiated {
  /** Seconds; 0: no hold timer, no keepalives. */
  readonly holdTime: number;
  /** Seconds between our KEEPALIVEs; 0 when the hold time is 0. */
  readonly keepaliveTime: number;
  /** The peer's AS (its 4-octet AS capability when present). */
  readonly peerAs: number;
  readonly peerId: string;
  readonly as4: boolean;
  /** familyKey(afi, safi) announced by both, in the order of our OPEN. */
  readonly families: readonly number[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** Both announced extended messages. */
  readonly extendedMessage: boolean;
  /** Families whose NLRI we receive with path identifiers (we offered receive, the peer send). */
  readonly addPathReceive: ReadonlySet<number>;
  /** Families whose NLRI we send with path identifiers (we offered send, the peer receive). */
  readonly addPathSend: ReadonlySet<number>;
  /** The peer's Graceful Restart capability (RFC 4724), when it sent one. */
  readonly peerGracefulRestart?: PeerGracefulRestart;
  /** How to decode what the peer sends. */
  readonly receiveContext: CodecContext;
  /** How to encode what we send. */
  readonly sendContext: CodecContext;
}

/** RFC 4271 6.2: the Data of Unsupported Version Number is the version we support, 2 octets. */
const SUPPORTED_VERSION_DATA = new Uint8Array([BGP_VERSION >> 8, BGP_VERSION & 0xff]);

/**
 * Checks the peer's OPEN (RFC 4271 6.2, in the order of the brief: version, AS, identifier, hold time,
 * required capabilities). Returns the error whose NOTIFICATION to send, or undefined when acceptable.
 */
export function checkOpen(peerOpen: OpenMessage, config: FsmConfig): BgpError | undefined {
  if (peerOpen.version !== BGP_VERSION) {
    return new OpenMessageError(
      OpenMessageSubcode.UNSUPPORTED_VERSION_NUMBER,
      `version ${peerOpen.version}, only ${BGP_VERSION} is supported`,
      SUPPORTED_VERSION_DATA,
    );
  }
  const hasAs4 = peerOpen.capabilities.some((c) => c.kind === 'four-octet-as');
  if (!hasAs4 && peerOpen.myAs === AS_TRANS) {
    return new OpenMessageError(
      OpenMessageSubcode.BAD_PEER_AS,
      `AS_TRANS (${AS_TRANS}) as My AS without the 4-octet AS capability`,
    );
  }
  const peerAs = openAs(peerOpen);
  if (peerAs !== config.peerAs) {
    return new OpenMessageError(
      OpenMessageSubcode.BAD_PEER_AS,
      `peer AS ${peerAs}, expected ${config.peerAs}`,
    );
  }
  const peerId = parseIpv4(peerOpen.bgpId);
  if (peerId === undefined || peerId === 0) {
    return new OpenMessageError(OpenMessageSubcode.BAD_BGP_IDENTIFIER, `BGP identifier ${peerOpen.bgpId}`);
  }
  // RFC 6286 2.2: identifiers need only be unique within an AS, so an equal one is an error on iBGP only.
  if (peerAs === openAs(config.localOpen) && peerId === parseIpv4(config.localId)) {
    return new OpenMessageError(
      OpenMessageSubcode.BAD_BGP_IDENTIFIER,
      `BGP identifier ${peerOpen.bgpId} is our own (iBGP)`,
    );
  }
  if (peerOpen.holdTime === 1 || peerOpen.holdTime === 2) {
    return new OpenMessageError(
      OpenMessageSubcode.UNACCEPTABLE_HOLD_TIME,
      `hold time ${peerOpen.holdTime} s (must be 0 or at least 3)`,
    );
  }
  const announced = new Set(peerOpen.capabilities.map(capabilityCode));
  const missing = config.requiredCapabilities.filter(
    (code, i, all) => !announced.has(code) && all.indexOf(code) === i,
  );
  if (missing.length > 0) {
    // RFC 5492 5: the Data lists each capability as it would appear in an OPEN: code, length (0 here).
    const data = new Uint8Array(missing.length * 2);
    missing.forEach((code, i) => {
      data[2 * i] = code;
    });
    return new OpenMessageError(
      OpenMessageSubcode.UNSUPPORTED_CAPABILITY,
      `required capabilities not announced: ${missing.join(', ')}`,
      data,
    );
  }
  return undefined;
}

/** What both OPENs agree on. Call after checkOpen accepted `peerOpen`. */
export function negotiate(localOpen: OpenMessage, peerOpen: OpenMessage, config: FsmConfig): Negotiated {
  const holdTime = Math.min(localOpen.holdTime, peerOpen.holdTime);
  const local = localOpen.capabilities;
  const peer = peerOpen.capabilities;
  const both = (kind: Capability['kind']): boolean => has(local, kind) && has(peer, kind);

  const peerFamilies = new Set(announcedFamilies(peer));
  const families = announcedFamilies(local).filter((f) => peerFamilies.has(f));
  const negotiatedFamilies = new Set(families);

  const localAddPath = addPathModes(local);
  const peerAddPath = addPathModes(peer);
  const addPathReceive = new Set<number>();
  const addPathSend = new Set<number>();
  for (const [family, ours] of localAddPath) {
    const theirs = peerAddPath.get(family);
    if (!theirs || !negotiatedFamilies.has(family)) continue;
    if (ours.receive && theirs.send) addPathReceive.add(family);
    if (ours.send && theirs.receive) addPathSend.add(family);
  }

  const as4 = both('four-octet-as');
  const extendedMessage = both('extended-message');
  const peerGracefulRestart = gracefulRestartOf(peer);
  return {
    holdTime,
    keepaliveTime: keepaliveTimeFor(holdTime, config.keepaliveTime),
    peerAs: openAs(peerOpen),
    peerId: peerOpen.bgpId,
    as4,
    families,
    routeRefresh: both('route-refresh'),
    enhancedRouteRefresh: both('enhanced-route-refresh'),
    extendedMessage,
    addPathReceive,
    addPathSend,
    ...(peerGracefulRestart && { peerGracefulRestart }),
    receiveContext: { as4, addPath: addPathReceive, extendedMessage: has(local, 'extended-message') },
    sendContext: { as4, addPath: addPathSend, extendedMessage },
  };
}

/**
 * Seconds between KEEPALIVEs: the configured value (when set and positive) but at most a third of the
 * hold time (RFC 4271 4.4), else a third of the hold time, rounded down; 0 when the hold time is 0.
 */
export function keepaliveTimeFor(holdTime: number, configured: number | undefined): number {
  if (holdTime <= 0) return 0;
  const third = Math.floor(holdTime / 3);
  return configured !== undefined && configured > 0 ? Math.min(configured, third) : third;
}

function has(caps: readonly Capability[], kind: Capability['kind']): boolean {
  return caps.some((c) => c.kind === kind);
}

/** Families of the Multiprotocol capabilities, without repeats; IPv4 unicast when there are none. */
function announcedFamilies(caps: readonly Capability[]): number[] {
  const out: number[] = [];
  let any = false;
  for (const c of caps) {
    if (c.kind !== 'multiprotocol') continue;
    any = true;
    const key = familyKey(c.afi, c.safi);
    if (!out.includes(key)) out.push(key);
  }
  return any ? out : [IPV4_UNICAST];
}

/** Per family, what the ADD-PATH capabilities say (several entries for one family are merged). */
function addPathModes(caps: readonly Capability[]): Map<number, { send: boolean; receive: boolean }> {
  const modes = new Map<number, { send: boolean; receive: boolean }>();
  for (const c of caps) {
    if (c.kind !== 'add-path') continue;
    for (const f of c.families) {
      const key = familyKey(f.afi, f.safi);
      const prev = modes.get(key);
      modes.set(key, {
        send: f.send || (prev?.send ?? false),
        receive: f.receive || (prev?.receive ?? false),
      });
    }
  }
  return modes;
}

/** RFC 4724 3: of several Graceful Restart capabilities, only the last counts. */
function gracefulRestartOf(caps: readonly Capability[]): PeerGracefulRestart | undefined {
  let gr: PeerGracefulRestart | undefined;
  for (const c of caps) {
    if (c.kind !== 'graceful-restart') continue;
    gr = {
      restartTime: c.restartTime,
      restarting: (c.restartFlags & GracefulRestartFlag.RESTART) !== 0,
      families: c.families.map((f) => ({
        family: familyKey(f.afi, f.safi),
        forwardingState: f.forwardingState,
      })),
    };
  }
  return gr;
}
