// RFC 4271 4.2: OPEN message, with the Capabilities Optional Parameter (RFC 5492 4) and the extended
// Optional Parameters length of RFC 9072 2.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+
//   |    Version    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     My Autonomous System      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Hold Time           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         BGP Identifier                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Opt Parm Len  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |             Optional Parameters (variable)                    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Each optional parameter: Parm. Type (1 octet), Parm. Length (1 octet), Parameter Value. Type 2 holds
// capabilities (several in one parameter, several parameters allowed). RFC 9072: when Opt Parm Len is
// non-zero and the next octet (what would be the first Parm. Type) is 255, a 2-octet length of the
// optional parameters follows, and each parameter has a 2-octet Parm. Length:
//
//   |Non-Ext OP Len.|Non-Ext OP Type|  Extended Opt. Parm. Length   |
//   |  Parm. Type   |        Parameter Length       |  Value ...
//
// Decoding checks what the bytes alone decide: hold time 1 or 2 (2/6), lengths (2/0), parameter types
// other than capabilities (2/4). Version, peer AS and BGP identifier are the FSM's to check.

import { type Capability, decodeCapabilities, encodeCapability } from './capabilities/index.js';
import { OpenMessageError } from './errors.js';
import { AS_TRANS, OpenMessageSubcode } from './iana.js';
import { formatIpv4, parseIpv4 } from './prefix.js';
import type { ByteReader } from './reader.js';
import { ByteWriter } from './writer.js';

export const BGP_VERSION = 4;

export const OptionalParameterType = {
  CAPABILITIES: 2, // RFC 5492
  EXTENDED_LENGTH: 255, // RFC 9072
} as const;

/** An optional parameter other than capabilities, as bytes (only ever sent: decoding rejects them). */
export interface RawParameter {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet field as on the wire (AS_TRANS when the AS needs 4 octets). */
  readonly myAs: number;
  readonly holdTime: number;
  /** Dotted quad. */
  readonly bgpId: string;
  /** Every capability of every Capabilities parameter, in order. */
  readonly capabilities: readonly Capability[];
  /** Non-capability optional parameters, written after the capabilities. */
  readonly parameters?: readonly RawParameter[];
}

export function decodeOpen(r: ByteReader): OpenMessage {
  const version = r.u8('version');
  const myAs = r.u16('my AS');
  const holdAt = r.pos;
  const holdTime = r.u16('hold time');
  if (holdTime === 1 || holdTime === 2) {
    throw new OpenMessageError(
      OpenMessageSubcode.UNACCEPTABLE_HOLD_TIME,
      `hold time ${holdTime} s (must be 0 or at least 3)`,
      undefined,
      holdAt,
    );
  }
  const bgpId = formatIpv4(r.u32('BGP identifier'));
  let lenAt = r.pos;
  let len = r.u8('optional parameters length');
  const extended = len !== 0 && r.remaining > 0 && r.bytes[r.pos] === OptionalParameterType.EXTENDED_LENGTH;
  if (extended) {
    r.skip(1);
    lenAt = r.pos;
    len = r.u16('extended optional parameters length');
  }
  if (len !== r.remaining) {
    throw r.fail(`optional parameters length ${len}, but ${r.remaining} bytes follow`, lenAt);
  }
  const capabilities: Capability[] = [];
  while (r.remaining > 0) {
    const typeAt = r.pos;
    const type = r.u8('parameter type');
    const paramLenAt = r.pos;
    const paramLen = extended ? r.u16('parameter length') : r.u8('parameter length');
    if (paramLen > r.remaining) {
      throw r.fail(`parameter length ${paramLen}, but ${r.remaining} bytes left`, paramLenAt);
    }
    if (type !== OptionalParameterType.CAPABILITIES) {
      throw new OpenMessageError(
        OpenMessageSubcode.UNSUPPORTED_OPTIONAL_PARAMETER,
        `optional parameter type ${type}`,
        undefined,
        typeAt,
      );
    }
    decodeCapabilities(r.sub(paramLen, 'capabilities'), capabilities);
  }
  return { type: 'open', version, myAs, holdTime, bgpId, capabilities };
}

/**
 * Writes the body: one Capabilities parameter holding every capability (none when there are none),
 * then `parameters`. The RFC 9072 form is used only when the parameters exceed 255 octets.
 */
export function encodeOpen(msg: OpenMessage, w: ByteWriter): void {
  const id = parseIpv4(msg.bgpId);
  if (id === undefined)
    throw new RangeError(`BGP identifier ${JSON.stringify(msg.bgpId)} is not a dotted quad`);
  const params = optionalParameters(msg);
  w.u8(msg.version);
  w.u16(msg.myAs);
  w.u16(msg.holdTime);
  w.u32(id);
  const length = params.reduce((n, p) => n + 2 + p.value.length, 0);
  if (length <= 255) {
    w.u8(length);
    for (const p of params) {
      w.u8(p.type);
      w.u8(p.value.length);
      w.raw(p.value);
    }
    return;
  }
  const extendedLength = length + params.length;
  if (extendedLength > 0xffff) throw new RangeError(`optional parameters of ${extendedLength} octets`);
  w.u8(255);
  w.u8(OptionalParameterType.EXTENDED_LENGTH);
  w.u16(extendedLength);
  for (const p of params) {
    w.u8(p.type);
    w.u16(p.value.length);
    w.raw(p.value);
  }
}

function optionalParameters(msg: OpenMessage): RawParameter[] {
  const params: RawParameter[] = [];
  if (msg.capabilities.length > 0) {
    const cw = new ByteWriter(256);
    for (const cap of msg.capabilities) encodeCapability(cap, cw);
    params.push({ type: OptionalParameterType.CAPABILITIES, value: cw.bytes.subarray(0, cw.pos) });
  }
  if (msg.parameters) params.push(...msg.parameters);
  return params;
}

/** The sender's AS: the 4-octet AS capability (RFC 6793) when present, else the 2-octet field. */
export function openAs(msg: OpenMessage): number {
  for (const cap of msg.capabilities) if (cap.kind === 'four-octet-as') return cap.as;
  return msg.myAs;
}

/** An OPEN for `as`: AS_TRANS in the 2-octet field when `as` needs 4 octets; nothing added. */
export function makeOpen(opts: {
  as: number;
  holdTime: number;
  bgpId: string;
  capabilities: readonly Capability[];
}): OpenMessage {
  return {
    type: 'open',
    version: BGP_VERSION,
    myAs: opts.as > 0xffff ? AS_TRANS : opts.as,
    holdTime: opts.holdTime,
    bgpId: opts.bgpId,
    capabilities: opts.capabilities,
  };
}
