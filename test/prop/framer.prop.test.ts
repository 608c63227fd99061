// Property tests of the Framer (STYLE.md, Tests): any sequence of valid messages, cut into chunks
// anyhow, comes back as the same messages; a stream with garbage in it gives the messages before the
// garbage and then a MessageHeaderError, exactly as a simple reference reading of RFC 4271 4.1 / 6.1
// over the whole stream says, whatever the chunking; and it never throws anything else.
//
// Runs: TERN_PROP_RUNS, else 100,000 in CI and 10,000 locally (see codec.prop.test.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  ERROR_SUBCODE_NAMES,
  encodeMessage,
  Framer,
  MessageHeaderError,
} from '../../src/bgp/messages/index.js';
import { concat } from '../helpers/bytes.js';
import { splitAt } from '../helpers/stream.js';
import {
  type AnyMessage,
  bytes,
  expectEqual,
  ipv4Field,
  keepaliveMessage,
  notificationMessage,
  openMessage,
  record,
  routeRefreshMessage,
  u8,
} from './arbitraries.js';

const RUNS = Number(process.env.TERN_PROP_RUNS ?? (process.env.CI ? 100_000 : 10_000));
const params = { numRuns: RUNS };

// ---- streams ----

/** UPDATEs cheap to make: IPv4 routes only (the codec properties cover the attributes). */
const simpleUpdate: fc.Arbitrary<AnyMessage> = record({
  withdrawn: ipv4Field(false),
  nlri: ipv4Field(false),
}).map(
  ({ withdrawn, nlri }): AnyMessage => ({
    type: 'update',
    withdrawn,
    attributes:
      nlri.prefixes.length > 0
        ? { origin: 0, asPath: [{ type: 2, asns: [65001, 4200000000] }], nextHop: '192.0.2.1' }
        : {},
    nlri,
  }),
);

/** Messages of every type and of every size up to 4096 octets (a big NOTIFICATION for the big ones). */
const message: fc.Arbitrary<AnyMessage> = fc.oneof(
  { weight: 2, arbitrary: keepaliveMessage },
  { weight: 2, arbitrary: routeRefreshMessage },
  { weight: 2, arbitrary: notificationMessage },
  { weight: 1, arbitrary: openMessage },
  { weight: 3, arbitrary: simpleUpdate },
);

/** Where to cut a stream: a few random places, or after every byte (as pg-protocol's tests do). */
const cuts: fc.Arbitrary<number[] | 'every-byte'> = fc.oneof(
  { weight: 20, arbitrary: fc.array(fc.nat(), { maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant('every-byte' as const) },
);

/** `stream` cut at `where` (positions taken modulo the length; empty chunks included). */
function chunks(stream: Uint8Array, where: number[] | 'every-byte'): Uint8Array[] {
  if (where === 'every-byte')
    return Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
  return splitAt(
    stream,
    where.map((p) => p % (stream.length + 1)).sort((a, b) => a - b),
  );
}

// ---- a reference reading of the stream, independent of header.ts ----

/**
 * Smallest length of each type (RFC 4271 4.1). ROUTE-REFRESH of a wrong length is its own error, 7/1
 * from its decoder (RFC 7313 5), not a header error.
 */
const MIN_LENGTH: Readonly<Record<number, number>> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 19 };

interface Expected {
  readonly messages: Uint8Array[];
  /** The header error, if the stream holds a bad header: subcode and stream offset of the field. */
  readonly error?: { readonly subcode: number; readonly offset: number };
  /** Bytes of an incomplete message at the end. */
  readonly rest: number;
}

/** RFC 4271 4.1 and 6.1 over the whole stream at once. */
function reference(stream: Uint8Array, maxLength: number): Expected {
  const messages: Uint8Array[] = [];
  let pos = 0;
  while (stream.length - pos >= 19) {
    for (let i = 0; i < 16; i++) {
      if (stream[pos + i] !== 0xff) return { messages, error: { subcode: 1, offset: pos + i }, rest: 0 };
    }
    const length = (stream[pos + 16]! << 8) | stream[pos + 17]!;
    const type = stream[pos + 18]!;
    if (length < 19 || length > maxLength)
      return { messages, error: { subcode: 2, offset: pos + 16 }, rest: 0 };
    const min = MIN_LENGTH[type];
    if (min === undefined) return { messages, error: { subcode: 3, offset: pos + 18 }, rest: 0 };
    // RFC 8654 4: OPEN (and KEEPALIVE) keep the 4096-octet limit even with extended messages
    if (length < min || (type === 4 && length !== 19) || (type === 1 && length > 4096)) {
      return { messages, error: { subcode: 2, offset: pos + 16 }, rest: 0 };
    }
    if (stream.length - pos < length) break;
    messages.push(stream.subarray(pos, pos + length));
    pos += length;
  }
  return { messages, rest: stream.length - pos };
}

interface Outcome {
  readonly messages: Uint8Array[];
  readonly error?: MessageHeaderError;
}

/**
 * Pushes every chunk, collecting messages, until one throws. Checks on the way that `buffered` is what
 * was pushed less what came out, that anything thrown is a MessageHeaderError with a named subcode,
 * and that a failed framer keeps failing with the same error.
 */
function run(framer: Framer, parts: readonly Uint8Array[]): Outcome {
  const messages: Uint8Array[] = [];
  let pushed = 0;
  let returned = 0;
  for (let i = 0; i < parts.length; i++) {
    let out: Uint8Array[];
    try {
      out = framer.push(parts[i]!);
    } catch (e) {
      if (!(e instanceof MessageHeaderError)) throw e;
      if (e.code !== 1 || ERROR_SUBCODE_NAMES[1]?.[e.subcode] === undefined) {
        expect.fail(`bad code/subcode ${e.code}/${e.subcode}: ${e.message}`);
      }
      let again: unknown;
      try {
        framer.push(new Uint8Array([0xff]));
      } catch (e2) {
        again = e2;
      }
      if (again !== e) expect.fail('a failed framer accepted more bytes or threw another error');
      return { messages, error: e };
    }
    pushed += parts[i]!.length;
    for (const m of out) {
      returned += m.length;
      messages.push(m);
    }
    // a bad header after whole messages in the same chunk: they come out, the error waits in `error`
    const failed = framer.error;
    if (failed) {
      if (!(failed instanceof MessageHeaderError)) throw failed;
      let again: unknown;
      try {
        framer.push(new Uint8Array([0xff]));
      } catch (e2) {
        again = e2;
      }
      if (again !== failed) expect.fail('a failed framer accepted more bytes or threw another error');
      return { messages, error: failed };
    }
    if (framer.buffered !== pushed - returned) expect(framer.buffered).toBe(pushed - returned);
  }
  return { messages };
}

describe('Framer', () => {
  it('any sequence of valid messages, cut anyhow, comes back message by message', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 6 }),
        cuts,
        fc.boolean(),
        (msgs, where, extended) => {
          const wires = msgs.map((m) => encodeMessage(m));
          const framer = new Framer({ extendedMessage: extended });
          const { messages, error } = run(framer, chunks(concat(wires), where));
          if (error) throw error;
          if (messages.length !== wires.length) expect(messages.length).toBe(wires.length);
          for (let i = 0; i < wires.length; i++) {
            expectEqual(messages[i], wires[i]);
            expectEqual(decodeMessage(messages[i]!), msgs[i]);
          }
          if (framer.buffered !== 0) expect(framer.buffered).toBe(0);
        },
      ),
      params,
    );
  });

  /** Pieces of a stream: valid messages, headers with a good marker and random fields, random bytes. */
  const piece: fc.Arbitrary<Uint8Array> = fc.oneof(
    { weight: 3, arbitrary: message.map((m) => encodeMessage(m)) },
    {
      weight: 3,
      arbitrary: record({
        length: fc.oneof(
          fc.integer({ min: 0, max: 80 }),
          fc.constantFrom(4096, 4097, 65535),
          fc.integer({ min: 0, max: 0xffff }),
        ),
        type: fc.oneof(fc.integer({ min: 0, max: 6 }), u8),
        body: bytes(64),
      }).map(({ length, type, body }) => {
        const h = new Uint8Array(19 + body.length).fill(0xff, 0, 16);
        h[16] = length >> 8;
        h[17] = length & 255;
        h[18] = type;
        h.set(body, 19);
        return h;
      }),
    },
    { weight: 1, arbitrary: bytes(24) },
    // one marker byte off
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 254 }))
        .map(([i, v]) => encodeMessage({ type: 'keepalive' }).map((b, j) => (j === i ? v : b))),
    },
  );

  it('garbage: the messages before it, then a MessageHeaderError, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), cuts, fc.boolean(), (pieces, where, extended) => {
        const stream = concat(pieces);
        const want = reference(stream, extended ? 65535 : 4096);
        const framer = new Framer({ extendedMessage: extended });
        const got = run(framer, chunks(stream, where));
        if (want.error) {
          if (!got.error)
            expect.fail(`no error; expected subcode ${want.error.subcode} at ${want.error.offset}`);
          expect({ subcode: got.error.subcode, offset: got.error.offset }).toEqual(want.error);
          // every message before the bad header comes out, also those sharing its chunk
          if (got.messages.length !== want.messages.length)
            expect(got.messages.length).toBe(want.messages.length);
          for (const [i, m] of got.messages.entries()) expectEqual(m, want.messages[i]);
        } else {
          if (got.error) throw got.error;
          if (got.messages.length !== want.messages.length)
            expect(got.messages.length).toBe(want.messages.length);
          for (const [i, m] of got.messages.entries()) expectEqual(m, want.messages[i]);
          if (framer.buffered !== want.rest) expect(framer.buffered).toBe(want.rest);
        }
      }),
      params,
    );
  });

  // BIRD's bgp_rx hands on the messages before a bad header; so does the Framer.
  it('returns the messages before a bad header in the same chunk, then fails', () => {
    const keepalive = encodeMessage({ type: 'keepalive' });
    const bad = new Uint8Array(19).fill(0xff);
    bad[0] = 0; // Connection Not Synchronized
    const framer = new Framer();
    const out = framer.push(concat([keepalive, bad]));
    expect(out).toHaveLength(1);
    expect(framer.error).toBeInstanceOf(MessageHeaderError);
    expect([framer.error?.code, framer.error?.subcode, framer.error?.offset]).toEqual([1, 1, 19]);
    expect(() => framer.push(keepalive)).toThrow(framer.error);
  });
});
