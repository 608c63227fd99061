// What session negotiation decided, and so how bytes are read and written (one context per direction:
// ADD-PATH can be negotiated for receiving only, or sending only).

import { familyKey } from './iana.js';

export interface CodecContext {
  /** RFC 6793: both sides announced the 4-octet AS capability. */
  readonly as4: boolean;
  /** RFC 7911: families (`familyKey(afi, safi)`) whose NLRI carry a path identifier in this direction. */
  readonly addPath: ReadonlySet<number>;
  /** RFC 8654: messages up to 65535 bytes. */
  readonly extendedMessage: boolean;
}

export const DEFAULT_CONTEXT: CodecContext = Object.freeze({
  as4: true,
  addPath: new Set<number>(),
  extendedMessage: false,
});

export function makeContext(opts: Partial<CodecContext> = {}): CodecContext {
  return {
    as4: opts.as4 ?? true,
    addPath: opts.addPath ?? new Set<number>(),
    extendedMessage: opts.extendedMessage ?? false,
  };
}

export function hasAddPath(ctx: CodecContext, afi: number, safi: number): boolean {
  return ctx.addPath.size > 0 && ctx.addPath.has(familyKey(afi, safi));
}

/** RFC 4271 4.1 and RFC 8654. */
export const MAX_MESSAGE_LENGTH = 4096;
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

export function maxMessageLength(ctx: CodecContext): number {
  return ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}
