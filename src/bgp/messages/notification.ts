// RFC 4271 4.5: NOTIFICATION message, with the RFC 8203/9003 shutdown communication.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | Error code    | Error subcode |   Data (variable)             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Cease / Administrative Shutdown (6/2) and Administrative Reset (6/4) may carry a shutdown
// communication as data: one length octet, then that many octets of UTF-8 (at most 255, RFC 9003).

import { CeaseSubcode, ErrorCode } from './iana.js';
import type { ByteReader } from './reader.js';
import type { ByteWriter } from './writer.js';

export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export function decodeNotification(r: ByteReader): NotificationMessage {
  const code = r.u8('error code');
  const subcode = r.u8('error subcode');
  const data = r.copy(r.remaining, 'data');
  return { type: 'notification', code, subcode, data };
}

export function encodeNotification(msg: NotificationMessage, w: ByteWriter): void {
  w.u8(msg.code);
  w.u8(msg.subcode);
  w.raw(msg.data);
}

export const MAX_SHUTDOWN_MESSAGE_BYTES = 255;

function carriesShutdownMessage(code: number, subcode: number): boolean {
  return (
    code === ErrorCode.CEASE &&
    (subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET)
  );
}

/**
 * The shutdown communication in a Cease 6/2 or 6/4 NOTIFICATION, or undefined when there is none or
 * its length octet disagrees with the data (RFC 9003 5: then it is not a shutdown communication).
 */
export function shutdownMessage(msg: NotificationMessage): string | undefined {
  if (!carriesShutdownMessage(msg.code, msg.subcode) || msg.data.length === 0) return undefined;
  const len = msg.data[0]!;
  if (len === 0 || len + 1 !== msg.data.length) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(msg.data.subarray(1));
  } catch {
    return undefined;
  }
}

/** Cease data carrying `text`, cut to 255 bytes on a character boundary. */
export function shutdownData(text: string): Uint8Array {
  let bytes = new TextEncoder().encode(text);
  if (bytes.length > MAX_SHUTDOWN_MESSAGE_BYTES) {
    let cut = MAX_SHUTDOWN_MESSAGE_BYTES;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  const out = new Uint8Array(bytes.length + 1);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/** A Cease NOTIFICATION with a shutdown communication. */
export function shutdownNotification(subcode: number, text: string): NotificationMessage {
  return {
    type: 'notification',
    code: ErrorCode.CEASE,
    subcode,
    data: text ? shutdownData(text) : new Uint8Array(0),
  };
}
