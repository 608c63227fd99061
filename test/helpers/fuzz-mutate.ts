// Mutations of real BGP messages for the decoder fuzz (test/fuzz, bench/fuzz.ts) and the session chaos
// test (test/chaos, bench/soak.ts). Every mutation is a pure function of the message and a seeded random
// source, so a run is repeated exactly by its seed.
//
// Random byte changes mostly die at the header check (marker, length, type). So besides raw byte
// mutations, each message is taken apart by its structure where it has one (UPDATE: withdrawn routes,
// path attributes, NLRI; OPEN: the fixed part and the capabilities) and mutated field by field, then put
// back together with every length field (attribute lengths, total path attribute length, optional
// parameter lengths, the header's length) made to match, except where a mutation lies about one length
// on purpose. That is how mutated bytes reach the attribute decoders instead of the header check.

import { concat, message } from './bytes.js';
import { randInt } from './stream.js';

export type Rand = () => number;

const HEADER = 19;
const OPEN = 1;
const UPDATE = 2;

/** Byte values worth trying in any field (RFC-relevant extremes and sign boundaries). */
const INTERESTING = [0, 1, 2, 4, 0x0f, 0x10, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xfe, 0xff];
/** Attribute flag octets seen on real sessions and the odd ones: well-known, optional, transitive, partial, extended. */
const FLAGS = [0x40, 0x50, 0x80, 0x90, 0xc0, 0xd0, 0xe0, 0xf0, 0x00, 0x10, 0x20, 0x60, 0xa0];
/** Attribute codes tern decodes (RFC 4271, 1997, 4360, 4456, 4760, 5701, 6793, 8092) and a few it does not. */
const CODES = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 25, 32, 0, 11, 13, 22, 26, 29, 35, 40, 128, 255,
];
/** Capability codes tern knows (RFC 5492 registry) and a few it does not. */
const CAPABILITY_CODES = [1, 2, 5, 6, 64, 65, 69, 70, 71, 73, 75, 0, 3, 128, 255];

export function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[randInt(rand, items.length)]!;
}

export function chance(rand: Rand, p: number): boolean {
  return rand() < p;
}

export function randomBytes(rand: Rand, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = randInt(rand, 256);
  return out;
}

/** A length, mostly small, now and then large: `max` bounds it. */
function someLength(rand: Rand, max: number): number {
  const r = rand();
  if (r < 0.7) return Math.min(max, randInt(rand, 16));
  if (r < 0.95) return Math.min(max, randInt(rand, 300));
  return randInt(rand, max + 1);
}

// ---- byte-level mutations of one buffer (a body, an attribute value, a capability value) ----

export type ByteOp = 'flip' | 'set' | 'add' | 'add16' | 'truncate' | 'extend' | 'insert' | 'delete' | 'copy';
const BYTE_OPS: readonly ByteOp[] = [
  'flip',
  'set',
  'add',
  'add16',
  'truncate',
  'extend',
  'insert',
  'delete',
  'copy',
];

/**
 * One byte-level mutation of `b`, from offset `from` on (bytes before it are left alone): a bit flip, a
 * byte set to an interesting value, a byte or 16-bit field plus or minus one (a length off by one),
 * truncation, extension with random bytes, insertion, deletion, or a run copied over another place.
 * `maxLength` bounds growth.
 */
export function mutateBytes(rand: Rand, b: Uint8Array, maxLength: number, from = 0): Uint8Array {
  const span = b.length - from;
  const at = from + (span > 0 ? randInt(rand, span) : 0);
  const op = span > 0 ? pick(rand, BYTE_OPS) : pick(rand, ['extend', 'insert'] as const);
  switch (op) {
    case 'flip': {
      const out = b.slice();
      out[at] = out[at]! ^ (1 << randInt(rand, 8));
      return out;
    }
    case 'set': {
      const out = b.slice();
      out[at] = pick(rand, INTERESTING);
      return out;
    }
    case 'add': {
      const out = b.slice();
      out[at] = (out[at]! + (chance(rand, 0.5) ? 1 : 255)) & 255;
      return out;
    }
    case 'add16': {
      if (at + 1 >= b.length) return b;
      const out = b.slice();
      const v = (((out[at]! << 8) | out[at + 1]!) + (chance(rand, 0.5) ? 1 : 0xffff)) & 0xffff;
      out[at] = v >> 8;
      out[at + 1] = v & 255;
      return out;
    }
    case 'truncate':
      return b.slice(0, at);
    case 'extend': {
      const n = Math.min(someLength(rand, 1000), maxLength - b.length);
      return n > 0 ? concat([b, randomBytes(rand, n)]) : b;
    }
    case 'insert': {
      const n = Math.min(1 + randInt(rand, 8), maxLength - b.length);
      if (n <= 0) return b;
      const fill = chance(rand, 0.5) ? randomBytes(rand, n) : new Uint8Array(n).fill(pick(rand, INTERESTING));
      return concat([b.subarray(0, at), fill, b.subarray(at)]);
    }
    case 'delete': {
      const n = 1 + randInt(rand, Math.min(8, b.length - at));
      return concat([b.subarray(0, at), b.subarray(at + n)]);
    }
    case 'copy': {
      const src = from + randInt(rand, span);
      const n = 1 + randInt(rand, Math.min(16, b.length - src));
      const out = b.slice();
      out.set(b.subarray(src, src + Math.min(n, b.length - at)), at);
      return out;
    }
  }
}

function mutateSome(rand: Rand, b: Uint8Array, maxLength: number, from = 0): Uint8Array {
  let out = b;
  const n = 1 + randInt(rand, 3);
  for (let i = 0; i < n; i++) out = mutateBytes(rand, out, maxLength, from);
  return out;
}

// ---- whole messages ----

/** Sets the header's length field to the message's size (the size modulo 65536 past the largest). */
function fixLength(m: Uint8Array): Uint8Array {
  if (m.length >= HEADER) {
    m[16] = (m.length >> 8) & 255;
    m[17] = m.length & 255;
  }
  return m;
}

// ---- UPDATE structure ----

export interface RawAttr {
  readonly flags: number;
  readonly code: number;
  readonly value: Uint8Array;
}

export interface UpdateParts {
  readonly withdrawn: Uint8Array;
  readonly attrs: readonly RawAttr[];
  readonly nlri: Uint8Array;
}

/** Splits an UPDATE (whole message) into its fields, or undefined when its lengths do not add up. */
export function splitUpdate(m: Uint8Array): UpdateParts | undefined {
  if (m.length < HEADER + 4 || m[18] !== UPDATE) return undefined;
  const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
  let at = HEADER;
  const wl = v.getUint16(at);
  at += 2;
  if (at + wl + 2 > m.length) return undefined;
  const withdrawn = m.slice(at, at + wl);
  at += wl;
  const al = v.getUint16(at);
  at += 2;
  const end = at + al;
  if (end > m.length) return undefined;
  const attrs: RawAttr[] = [];
  while (at < end) {
    if (at + 3 > end) return undefined;
    const flags = m[at]!;
    const code = m[at + 1]!;
    const ext = (flags & 0x10) !== 0;
    if (ext && at + 4 > end) return undefined;
    const len = ext ? v.getUint16(at + 2) : m[at + 2]!;
    const start = at + (ext ? 4 : 3);
    if (start + len > end) return undefined;
    attrs.push({ flags, code, value: m.slice(start, start + len) });
    at = start + len;
  }
  return { withdrawn, attrs, nlri: m.slice(end) };
}

/**
 * Puts an UPDATE together with every length right; `lie` makes the length field of attribute
 * `lie.index` (or, with index -1, the total path attribute length) off by `lie.delta`.
 */
export function joinUpdate(
  p: UpdateParts,
  lie?: { readonly index: number; readonly delta: number },
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < p.attrs.length; i++) {
    const a = p.attrs[i]!;
    const d = lie && lie.index === i ? lie.delta : 0;
    // a value past 255 octets needs the Extended Length flag; a shorter one may have it anyway
    const flags = a.value.length > 255 ? a.flags | 0x10 : a.flags;
    const len = (a.value.length + d) & (flags & 0x10 ? 0xffff : 0xff);
    parts.push(
      flags & 0x10 ? Uint8Array.of(flags, a.code, len >> 8, len & 255) : Uint8Array.of(flags, a.code, len),
      a.value,
    );
  }
  const attrs = concat(parts);
  const total = (attrs.length + (lie?.index === -1 ? lie.delta : 0)) & 0xffff;
  const wl = p.withdrawn.length;
  const body = concat([
    Uint8Array.of(wl >> 8, wl & 255),
    p.withdrawn,
    Uint8Array.of(total >> 8, total & 255),
    attrs,
    p.nlri,
  ]);
  return message(UPDATE, body);
}

function randomAttr(rand: Rand): RawAttr {
  return {
    flags: pick(rand, FLAGS),
    code: pick(rand, CODES),
    value: randomBytes(rand, someLength(rand, 600)),
  };
}

/** One structural change to an UPDATE; `donors` lend attributes (splicing at attribute level). */
function mutateUpdateParts(
  rand: Rand,
  p: UpdateParts,
  donors: readonly UpdateParts[],
  maxLength: number,
): UpdateParts {
  const attrs = [...p.attrs];
  const idx = attrs.length > 0 ? randInt(rand, attrs.length) : -1;
  const r = rand();
  if (idx >= 0 && r < 0.4) {
    // the value of one attribute: where most decoders live
    const a = attrs[idx]!;
    attrs[idx] = { ...a, value: mutateSome(rand, a.value, maxLength) };
  } else if (idx >= 0 && r < 0.5) {
    const a = attrs[idx]!;
    attrs[idx] = {
      ...a,
      flags: chance(rand, 0.5) ? pick(rand, FLAGS) : a.flags ^ (1 << (4 + randInt(rand, 4))),
    };
  } else if (idx >= 0 && r < 0.56) {
    attrs[idx] = { ...attrs[idx]!, code: pick(rand, CODES) };
  } else if (idx >= 0 && r < 0.62) {
    attrs.splice(idx, 0, attrs[idx]!); // a duplicate (RFC 7606 3.g)
  } else if (idx >= 0 && r < 0.68) {
    attrs.splice(idx, 1);
  } else if (attrs.length > 1 && r < 0.72) {
    const j = randInt(rand, attrs.length);
    [attrs[idx], attrs[j]] = [attrs[j]!, attrs[idx]!];
  } else if (r < 0.82) {
    const donor = donors.length > 0 ? pick(rand, donors) : undefined;
    const given = donor && donor.attrs.length > 0 ? pick(rand, donor.attrs) : randomAttr(rand);
    attrs.splice(randInt(rand, attrs.length + 1), 0, given);
  } else if (r < 0.86) {
    attrs.splice(randInt(rand, attrs.length + 1), 0, randomAttr(rand));
  } else if (r < 0.93) {
    return { ...p, attrs, nlri: mutateSome(rand, p.nlri, maxLength) };
  } else {
    return { ...p, attrs, withdrawn: mutateSome(rand, p.withdrawn, maxLength) };
  }
  return { ...p, attrs };
}

// ---- OPEN structure ----

export interface OpenParts {
  /** Version, My AS, Hold Time, BGP Identifier: 9 octets. */
  readonly fixed: Uint8Array;
  /** Optional parameters; the capabilities of type-2 parameters split out, one per parameter. */
  readonly params: readonly { readonly type: number; readonly value: Uint8Array }[];
}

/** Splits an OPEN whose optional parameters use the 1-octet lengths (RFC 4271); undefined otherwise. */
export function splitOpen(m: Uint8Array): OpenParts | undefined {
  if (m.length < HEADER + 10 || m[18] !== OPEN) return undefined;
  const fixed = m.slice(HEADER, HEADER + 9);
  const len = m[HEADER + 9]!;
  if (len === 255 || HEADER + 10 + len !== m.length) return undefined;
  const params: { type: number; value: Uint8Array }[] = [];
  let at = HEADER + 10;
  while (at < m.length) {
    if (at + 2 > m.length) return undefined;
    const n = m[at + 1]!;
    if (at + 2 + n > m.length) return undefined;
    params.push({ type: m[at]!, value: m.slice(at + 2, at + 2 + n) });
    at += 2 + n;
  }
  return { fixed, params };
}

/** Puts an OPEN together; parameters past 255 octets in all use RFC 9072's extended form. */
export function joinOpen(p: OpenParts): Uint8Array {
  const total = p.params.reduce((n, x) => n + 2 + x.value.length, 0);
  const extended = total > 255 || p.params.some((x) => x.value.length > 255);
  const parts: Uint8Array[] = [p.fixed];
  if (extended) {
    const xl = p.params.reduce((n, x) => n + 3 + x.value.length, 0);
    parts.push(Uint8Array.of(255, 255, xl >> 8, xl & 255));
    for (const x of p.params)
      parts.push(Uint8Array.of(x.type, x.value.length >> 8, x.value.length & 255), x.value);
  } else {
    parts.push(Uint8Array.of(total));
    for (const x of p.params) parts.push(Uint8Array.of(x.type, x.value.length), x.value);
  }
  return message(OPEN, concat(parts));
}

function mutateOpenParts(rand: Rand, p: OpenParts): OpenParts {
  const params = [...p.params];
  const r = rand();
  const idx = params.length > 0 ? randInt(rand, params.length) : -1;
  if (r < 0.25) return { ...p, fixed: mutateSome(rand, p.fixed, 9).slice(0, 9) };
  if (idx >= 0 && r < 0.65) {
    const x = params[idx]!;
    // a type-2 parameter holds capabilities: code, length, value
    if (x.type === 2 && x.value.length >= 2 && chance(rand, 0.7)) {
      const code = chance(rand, 0.2) ? pick(rand, CAPABILITY_CODES) : x.value[0]!;
      const value = mutateSome(rand, x.value.slice(2), 300);
      const n = chance(rand, 0.9) ? value.length : (value.length + (chance(rand, 0.5) ? 1 : 255)) & 255;
      params[idx] = { type: 2, value: concat([Uint8Array.of(code, n & 255), value.subarray(0, 255)]) };
    } else {
      params[idx] = { ...x, value: mutateSome(rand, x.value, 300) };
    }
  } else if (idx >= 0 && r < 0.75) {
    params.splice(idx, 0, params[idx]!);
  } else if (idx >= 0 && r < 0.85) {
    params.splice(idx, 1);
  } else {
    const value = randomBytes(rand, someLength(rand, 40));
    params.push({
      type: chance(rand, 0.8) ? 2 : pick(rand, INTERESTING),
      value: concat([Uint8Array.of(pick(rand, CAPABILITY_CODES), value.length), value]),
    });
  }
  return { ...p, params };
}

// ---- the mutator ----

export interface Mutated {
  readonly bytes: Uint8Array;
  /** How it was made (for reports): the operations in order. */
  readonly how: string;
}

/**
 * A mutation of `seed`: structural (UPDATE and OPEN fields, lengths kept right or one of them lied
 * about), raw bytes with the header's length and marker fixed afterwards (most of the time), a splice
 * with `other`, or a raw mutation left unfixed. `maxLength` bounds the size (65535, or 4096 to stay
 * within one ordinary message).
 */
export function mutateMessage(
  rand: Rand,
  seed: Uint8Array,
  other: Uint8Array,
  donors: readonly UpdateParts[],
  maxLength = 65535,
): Mutated {
  const how: string[] = [];
  let m: Uint8Array = seed;
  const r = rand();
  if (r < 0.55 && m[18] === UPDATE) {
    let p = splitUpdate(m);
    if (p) {
      const n = 1 + randInt(rand, 3);
      for (let i = 0; i < n; i++) p = mutateUpdateParts(rand, p, donors, maxLength);
      const lie = chance(rand, 0.1)
        ? { index: randInt(rand, p.attrs.length + 1) - 1, delta: chance(rand, 0.5) ? 1 : -1 }
        : undefined;
      m = joinUpdate(p, lie);
      how.push(`update-fields x${n}${lie ? ` lie ${lie.index}${lie.delta > 0 ? '+1' : '-1'}` : ''}`);
    }
  } else if (r < 0.7 && m[18] === OPEN) {
    let p = splitOpen(m);
    if (p) {
      const n = 1 + randInt(rand, 2);
      for (let i = 0; i < n; i++) p = mutateOpenParts(rand, p);
      m = joinOpen(p);
      how.push(`open-fields x${n}`);
    }
  } else if (r < 0.78) {
    // a splice: the start of one message's body and the rest of another's
    const cutA = HEADER + randInt(rand, Math.max(1, seed.length - HEADER + 1));
    const cutB = HEADER + randInt(rand, Math.max(1, other.length - HEADER + 1));
    m = concat([seed.subarray(0, cutA), other.subarray(Math.min(cutB, other.length))]);
    how.push('splice');
  }
  if (how.length === 0 || chance(rand, 0.15)) {
    // raw bytes: the body mostly, the header now and then
    const from = chance(rand, 0.9) ? HEADER : 0;
    const n = 1 + randInt(rand, 4);
    for (let i = 0; i < n; i++) m = mutateBytes(rand, m, maxLength, Math.min(from, m.length));
    how.push(`bytes x${n}${from === 0 ? ' (header too)' : ''}`);
  }
  if (m === seed) m = seed.slice();
  if (m.length > maxLength) m = m.slice(0, maxLength);
  if (chance(rand, 0.92)) {
    fixLength(m);
    if (m.length >= 16 && chance(rand, 0.97)) m.fill(0xff, 0, 16);
  } else how.push('header unfixed');
  return { bytes: m, how: how.join(', ') };
}
