// RFC 4271 4.1: message header.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                                                               |
//  +                           Marker (16 x 0xff)                  +
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Length               |      Type     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import { MessageHeaderError } from './errors.js';
import { MessageType, MessageHeaderSubcode as Sub } from './iana.js';
import type { ByteWriter } from './writer.js';

export const HEADER_LENGTH = 19;
export const MARKER_LENGTH = 16;
const MAX_OPEN_LENGTH = 4096;

/**
 * Smallest legal length of each message type (RFC 4271 4.1). ROUTE-REFRESH has none here: any length
 * other than 23 is its own error, 7/1 (RFC 7313 5), reported by its decoder.
 */
export const MIN_LENGTH: Readonly<Record<number, number>> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 19,
};

export interface Header {
  readonly length: number;
  readonly type: number;
}

function u16Data(v: number): Uint8Array {
  return new Uint8Array([v >> 8, v & 255]);
}

/**
 * Checks the header at `bytes[off]` (at least 19 bytes there) against RFC 4271 6.1: marker all ones
 * (1/1), length within [19, max] and at least the type's minimum, KEEPALIVE exactly 19 (1/2, data: the
 * length), known type (1/3, data: the type).
 */
export function checkHeader(bytes: Uint8Array, off: number, maxLength: number): Header {
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (bytes[off + i] !== 0xff) {
      throw new MessageHeaderError(Sub.CONNECTION_NOT_SYNCHRONIZED, 'marker is not all ones', undefined, i);
    }
  }
  const length = (bytes[off + 16]! << 8) | bytes[off + 17]!;
  const type = bytes[off + 18]!;
  if (length < HEADER_LENGTH || length > maxLength) {
    throw new MessageHeaderError(
      Sub.BAD_MESSAGE_LENGTH,
      `length ${length} is outside [${HEADER_LENGTH}, ${maxLength}]`,
      u16Data(length),
      16,
    );
  }
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    throw new MessageHeaderError(
      Sub.BAD_MESSAGE_TYPE,
      `unknown message type ${type}`,
      new Uint8Array([type]),
      18,
    );
  }
  // RFC 8654 4: OPEN and KEEPALIVE keep the 4096-octet limit even with extended messages.
  if (
    length < min ||
    (type === MessageType.KEEPALIVE && length !== HEADER_LENGTH) ||
    (type === MessageType.OPEN && length > MAX_OPEN_LENGTH)
  ) {
    throw new MessageHeaderError(
      Sub.BAD_MESSAGE_LENGTH,
      `length ${length} is invalid for message type ${type}`,
      u16Data(length),
      16,
    );
  }
  return { length, type };
}

/** Writes marker, a length placeholder and the type; returns the start for `finishHeader`. */
export function startHeader(w: ByteWriter, type: number): number {
  const start = w.pos;
  w.ensure(HEADER_LENGTH);
  w.bytes.fill(0xff, w.pos, w.pos + MARKER_LENGTH);
  w.pos += MARKER_LENGTH + 2;
  w.bytes[w.pos++] = type;
  return start;
}

/** Fills in the length of the message that began at `start`. */
export function finishHeader(w: ByteWriter, start: number): number {
  const length = w.pos - start;
  w.view.setUint16(start + MARKER_LENGTH, length);
  return length;
}
