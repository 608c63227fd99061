// Small helpers the attribute entries share.

import { UpdateMessageError } from '../errors.js';
import { UpdateMessageSubcode } from '../iana.js';
import { formatIpv4, parseIpv4 } from '../prefix.js';
import type { ByteReader } from '../reader.js';
import type { ByteWriter } from '../writer.js';

export function malformed(subcode: number, detail: string, offset?: number): UpdateMessageError {
  return new UpdateMessageError(subcode, detail, undefined, offset);
}

/** RFC 7606: a value whose length is wrong for its type is an Attribute Length Error. */
export function expectLength(r: ByteReader, ok: boolean, name: string, expected: string): void {
  if (!ok) {
    throw malformed(
      UpdateMessageSubcode.ATTRIBUTE_LENGTH_ERROR,
      `${name} length ${r.remaining}, expected ${expected}`,
      r.pos,
    );
  }
}

export function readIpv4(r: ByteReader, what: string): string {
  return formatIpv4(r.u32(what));
}

/** Writes a dotted quad; the caller has validated it (an invalid one is a bug). */
export function writeIpv4(w: ByteWriter, addr: string, what: string): void {
  const v = parseIpv4(addr);
  if (v === undefined) throw new TypeError(`${what}: "${addr}" is not an IPv4 address`);
  w.u32(v);
}

/** Reads a value made of `size`-byte items: its length must be a non-zero multiple of `size`. */
export function expectMultiple(r: ByteReader, size: number, name: string): number {
  expectLength(r, r.remaining > 0 && r.remaining % size === 0, name, `a non-zero multiple of ${size}`);
  return r.remaining / size;
}
