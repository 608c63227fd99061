// RFC 5492 4: the Capabilities Optional Parameter (type 2) holds a list of capabilities, each a code,
// a 1-octet length and a value. One file per capability codes its value; this file is the shared loop.
//
//   +------------------------------+
//   | Capability Code (1 octet)    |
//   +------------------------------+
//   | Capability Length (1 octet)  |
//   +------------------------------+
//   | Capability Value (variable)  |
//   ~                              ~
//   +------------------------------+
//
// Unknown codes are kept as bytes (RFC 5492 5: "a BGP speaker ... MUST ignore that capability").
// A known capability whose length does not fit its value format is malformed: the reader's overrun
// error (OPEN Message Error / Unspecific), naming the capability and the offset.

import type { ByteReader } from '../reader.js';
import type { ByteWriter } from '../writer.js';
import { type AddPathCapability, addPath } from './add-path.js';
import { type CapabilityCodec, describeLength, lengthOk } from './codec.js';
import { type EnhancedRouteRefreshCapability, enhancedRouteRefresh } from './enhanced-route-refresh.js';
import { type ExtendedMessageCapability, extendedMessage } from './extended-message.js';
import { type ExtendedNextHopCapability, extendedNextHop } from './extended-next-hop.js';
import { type FourOctetAsCapability, fourOctetAs } from './four-octet-as.js';
import { type FqdnCapability, fqdn } from './fqdn.js';
import { type GracefulRestartCapability, gracefulRestart } from './graceful-restart.js';
import {
  type LongLivedGracefulRestartCapability,
  longLivedGracefulRestart,
} from './long-lived-graceful-restart.js';
import { type MultiprotocolCapability, multiprotocol } from './multiprotocol.js';
import { type RouteRefreshCapability, routeRefresh } from './route-refresh.js';
import { type SoftwareVersionCapability, softwareVersion } from './software-version.js';

export type { AddPathCapability, AddPathFamily } from './add-path.js';
export type { EnhancedRouteRefreshCapability } from './enhanced-route-refresh.js';
export type { ExtendedMessageCapability } from './extended-message.js';
export type { ExtendedNextHopCapability, ExtendedNextHopFamily } from './extended-next-hop.js';
export type { FourOctetAsCapability } from './four-octet-as.js';
export type { FqdnCapability } from './fqdn.js';
export {
  FORWARDING_STATE_FLAG,
  type GracefulRestartCapability,
  type GracefulRestartFamily,
  GracefulRestartFlag,
} from './graceful-restart.js';
export type {
  LongLivedGracefulRestartCapability,
  LongLivedGracefulRestartFamily,
} from './long-lived-graceful-restart.js';
export type { MultiprotocolCapability } from './multiprotocol.js';
export type { RouteRefreshCapability } from './route-refresh.js';
export type { SoftwareVersionCapability } from './software-version.js';

/** A capability tern does not know, or one the RFC says to treat as not understood: kept as bytes. */
export interface UnknownCapability {
  readonly kind: 'unknown';
  readonly code: number;
  readonly value: Uint8Array;
}

export type KnownCapability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | ExtendedNextHopCapability
  | ExtendedMessageCapability
  | GracefulRestartCapability
  | FourOctetAsCapability
  | AddPathCapability
  | EnhancedRouteRefreshCapability
  | LongLivedGracefulRestartCapability
  | FqdnCapability
  | SoftwareVersionCapability;

export type Capability = KnownCapability | UnknownCapability;

type KnownKind = KnownCapability['kind'];

/** One codec per kind; the mapped type makes the table complete and each entry match its kind. */
const CODECS: { readonly [K in KnownKind]: CapabilityCodec<Extract<KnownCapability, { kind: K }>> } = {
  multiprotocol,
  'route-refresh': routeRefresh,
  'extended-next-hop': extendedNextHop,
  'extended-message': extendedMessage,
  'graceful-restart': gracefulRestart,
  'four-octet-as': fourOctetAs,
  'add-path': addPath,
  'enhanced-route-refresh': enhancedRouteRefresh,
  'long-lived-graceful-restart': longLivedGracefulRestart,
  fqdn,
  'software-version': softwareVersion,
};

interface Entry {
  readonly kind: string;
  readonly codec: CapabilityCodec<KnownCapability>;
}

const BY_CODE: ReadonlyMap<number, Entry> = new Map(
  Object.entries(CODECS).map(([kind, codec]): [number, Entry] => [codec.code, { kind, codec }]),
);

/** The capability code of `cap` on the wire. */
export function capabilityCode(cap: Capability): number {
  return cap.kind === 'unknown' ? cap.code : CODECS[cap.kind].code;
}

/**
 * Reads capabilities until the end of `r` (the value of one Capabilities Optional Parameter) and
 * appends them to `out`. Offsets in errors are those of `r`, so of the whole message.
 */
export function decodeCapabilities(r: ByteReader, out: Capability[] = []): Capability[] {
  while (r.remaining > 0) {
    const code = r.u8('capability code');
    const entry = BY_CODE.get(code);
    const name = entry ? `${entry.kind} capability (code ${code})` : `capability ${code}`;
    const lenAt = r.pos;
    const len = r.u8(`${name} length`);
    if (len > r.remaining) throw r.fail(`${name}: length ${len}, but ${r.remaining} bytes left`, lenAt);
    if (!entry) {
      out.push({ kind: 'unknown', code, value: r.copy(len) });
      continue;
    }
    if (!lengthOk(entry.codec.length, len)) {
      throw r.fail(`${name}: length ${len}, expected ${describeLength(entry.codec.length)}`, lenAt);
    }
    const start = r.pos;
    const v = r.sub(len, name, (detail, at) => r.overrun(`${name}: ${detail}`, at));
    const cap = entry.codec.decode(v);
    if (v.remaining > 0) throw v.fail(`${v.remaining} bytes after the value`);
    out.push(cap ?? { kind: 'unknown', code, value: r.bytes.slice(start, v.end) });
  }
  return out;
}

/** Writes one capability: code, length, value. A value over 255 octets is a caller bug (RangeError). */
export function encodeCapability(cap: Capability, w: ByteWriter): void {
  if (cap.kind === 'unknown') {
    if (cap.value.length > 255)
      throw new RangeError(`capability ${cap.code} value is ${cap.value.length} octets`);
    w.u8(cap.code);
    w.u8(cap.value.length);
    w.raw(cap.value);
    return;
  }
  const codec: CapabilityCodec<KnownCapability> = CODECS[cap.kind];
  w.u8(codec.code);
  const at = w.reserve8();
  codec.encode(cap, w);
  const len = w.pos - at - 1;
  if (len > 255) throw new RangeError(`${cap.kind} capability value is ${len} octets, at most 255 fit`);
  w.fill8(at);
}
