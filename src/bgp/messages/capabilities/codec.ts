// What every capability codec provides, and the helpers several of them share. The shared loop in
// index.ts (RFC 5492 4) reads a capability's code and length, checks the length against the codec's
// `length` rule, and hands the codec a reader over exactly the value, so no codec can read past it.

import type { ByteReader } from '../reader.js';
import type { ByteWriter } from '../writer.js';

/** Value lengths a capability accepts: `min + k * step` for k >= 0; a `step` of 0 means exactly `min`. */
export interface LengthRule {
  readonly min: number;
  readonly step: number;
}

export interface CapabilityCodec<C> {
  readonly code: number;
  readonly length: LengthRule;
  /**
   * Reads the value; `r` spans exactly it, and the caller rejects bytes left unread. Returns undefined
   * for a value that is well formed but carries something the RFC says to treat as "not understood"
   * (RFC 5492 3: ignored); the caller then keeps it as an unknown capability.
   */
  decode(r: ByteReader): C | undefined;
  encode(cap: C, w: ByteWriter): void;
}

export function lengthOk(rule: LengthRule, len: number): boolean {
  if (len < rule.min) return false;
  return rule.step === 0 ? len === rule.min : (len - rule.min) % rule.step === 0;
}

export function describeLength(rule: LengthRule): string {
  if (rule.step === 0) return `${rule.min}`;
  const unit = rule.step === 1 ? 'any length' : `a multiple of ${rule.step}`;
  return rule.min === 0 ? unit : `${rule.min} + ${unit}`;
}

/** A capability whose value is empty: its presence is all it says. */
export function emptyCodec<K extends string>(code: number, kind: K): CapabilityCodec<{ readonly kind: K }> {
  return {
    code,
    length: { min: 0, step: 0 },
    decode: () => ({ kind }),
    encode: () => {},
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** A 1-octet length and that many octets of UTF-8; undefined when the octets are not UTF-8. */
export function readShortString(r: ByteReader, what: string): string | undefined {
  const bytes = r.view8(r.u8(`${what} length`), what);
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Writes `s` as a 1-octet length and UTF-8; a string over 255 octets is a caller bug. */
export function writeShortString(w: ByteWriter, s: string, what: string): void {
  const bytes = utf8Encoder.encode(s);
  if (bytes.length > 255) throw new RangeError(`${what} is ${bytes.length} octets, at most 255 fit`);
  w.u8(bytes.length);
  w.raw(bytes);
}
