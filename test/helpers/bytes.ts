// Byte helpers for codec tests. They build wire bytes by hand, independently of the encoders under test
// (pg-protocol's test-buffers): hex text with comments, and the framing of whole messages.

import { type CodecContext, DEFAULT_CONTEXT } from '../../src/bgp/messages/context.js';
import { decodeMessage } from '../../src/bgp/messages/message.js';
import {
  type Ipv4Key,
  type Ipv6Key,
  parseIpv4Prefix,
  parseIpv6Prefix,
} from '../../src/bgp/messages/prefix.js';
import type { UpdateMessage } from '../../src/bgp/messages/update.js';
import { ByteWriter } from '../../src/bgp/messages/writer.js';

/**
 * Hex text to bytes. Whitespace is ignored, and so is everything from `#` to the end of a line, so a
 * message can be written one commented field a line.
 */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error(`not hex: "${clean}"`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes as lower-case hex without separators (for readable comparisons). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function bytesOf(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? hex(v) : v;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A whole message (RFC 4271 4.1): 16 bytes of 0xff, the 2-octet length of it all, the type, the body. */
export function message(type: number, body: string | Uint8Array): Uint8Array {
  const b = bytesOf(body);
  const length = 19 + b.length;
  const head = new Uint8Array(19).fill(0xff);
  head[16] = length >> 8;
  head[17] = length & 255;
  head[18] = type;
  return concat([head, b]);
}

/** A whole UPDATE message (type 2) around a body given as (commented) hex. */
export function updateMessage(body: string | Uint8Array): Uint8Array {
  return message(2, body);
}

/**
 * An UPDATE body from its parts (RFC 4271 4.3), with Withdrawn Routes Length and Total Path Attribute
 * Length computed here: | withdrawn len | withdrawn | attribute len | attributes | NLRI |.
 */
export function updateBody(
  withdrawn: string | Uint8Array,
  attributes: string | Uint8Array,
  nlri: string | Uint8Array = '',
): Uint8Array {
  const w = bytesOf(withdrawn);
  const a = bytesOf(attributes);
  return concat([u16(w.length), w, u16(a.length), a, bytesOf(nlri)]);
}

function u16(v: number): Uint8Array {
  return new Uint8Array([v >> 8, v & 255]);
}

/**
 * One path attribute (RFC 4271 4.3): flags, type code, length (2 octets when flags carry Extended
 * Length 0x10, else 1), value. The length is the value's real length.
 */
export function attr(flags: number, code: number, value: string | Uint8Array): Uint8Array {
  const v = bytesOf(value);
  const len = flags & 0x10 ? u16(v.length) : new Uint8Array([v.length]);
  return concat([new Uint8Array([flags, code]), len, v]);
}

/** Joins byte strings (hex or bytes). */
export function join(...parts: (string | Uint8Array)[]): Uint8Array {
  return concat(parts.map(bytesOf));
}

/**
 * Freezes `v` and everything reachable from it (typed arrays cannot be frozen, so they are left as
 * they are; compare them by value afterwards).
 */
export function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || Object.isFrozen(v)) return v;
  if (v instanceof Set || v instanceof Map) {
    for (const x of v.values()) deepFreeze(x);
  } else {
    for (const key of Reflect.ownKeys(v)) deepFreeze((v as Record<PropertyKey, unknown>)[key]);
  }
  return Object.freeze(v);
}

const JUNK = 0xa5;

export interface OffsetWrite {
  /** What the encoder wrote after the junk. */
  readonly written: Uint8Array;
  /** What the encoder returned (a length, for those that report one). */
  readonly reported: number | undefined;
  /** Whether the junk in front is still there, byte for byte. */
  readonly junkIntact: boolean;
}

/**
 * Encodes at an offset (dns-packet `testEncoder`): writes `junk` bytes into a small ByteWriter first
 * (so it must grow while encoding), then runs `encode`, and returns what followed the junk.
 */
export function encodeAfterJunk(junk: number, encode: (w: ByteWriter) => unknown): OffsetWrite {
  const w = new ByteWriter(8);
  for (let i = 0; i < junk; i++) w.u8(JUNK ^ i);
  const reported = encode(w);
  const all = w.slice();
  let junkIntact = all.length >= junk;
  for (let i = 0; i < junk && junkIntact; i++) junkIntact = all[i] === (JUNK ^ i);
  return {
    written: all.slice(junk),
    reported: typeof reported === 'number' ? reported : undefined,
    junkIntact,
  };
}

/** The error `fn` throws (fails the test when it returns normally). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception, none was thrown');
}

/**
 * Decodes whole UPDATE bytes through `decodeMessage` and checks it is an UPDATE. (Kept here so every
 * UPDATE test reads messages the way the session does.)
 */
export function decodeUpdateBytes(bytes: Uint8Array, ctx: CodecContext = DEFAULT_CONTEXT): UpdateMessage {
  const m = decodeMessage(bytes, ctx);
  if (m.type !== 'update') throw new Error(`decoded a ${m.type}, not an update`);
  return m;
}

/** The key of an IPv4 prefix written as text ("10.0.0.0/8"); a typo in a test throws. */
export function v4Prefix(text: string): Ipv4Key {
  const k = parseIpv4Prefix(text);
  if (k === undefined) throw new Error(`bad test prefix ${text}`);
  return k;
}

/** The key of an IPv6 prefix written as text ("2001:db8::/32"); a typo in a test throws. */
export function v6Prefix(text: string): Ipv6Key {
  const k = parseIpv6Prefix(text);
  if (k === undefined) throw new Error(`bad test prefix ${text}`);
  return k;
}
