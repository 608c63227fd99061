// Property tests of the message codecs (STYLE.md, Tests): valid messages of every type survive
// encode -> decode, and encoders never mutate what they encode (every message is deep-frozen first).
// Arbitrary and mutated bytes: malformed.prop.test.ts. Framing: framer.prop.test.ts.
//
// Runs: TERN_PROP_RUNS, else 100,000 in CI and 10,000 locally. The seed is not fixed; fast-check
// prints seed and path of a failure, and `fc.assert(..., { seed, path })` replays it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AS_TRANS,
  type AsPathSegment,
  AsPathSegmentType,
  ByteWriter,
  type CodecContext,
  DEFAULT_CONTEXT,
  decodeMessage,
  encodeMessage,
  makeContext,
  type UpdateMessage,
  writeMessage,
} from '../../src/bgp/messages/index.js';
import {
  type AnyMessage,
  bigNotification,
  bigUpdate,
  decodeOrBgpError,
  deepFreeze,
  expectEqual,
  expectUnchanged,
  frame,
  keepaliveMessage,
  notificationMessage,
  openMessage,
  record,
  routeRefreshMessage,
  u16,
  updateMessage,
  updateWireSize,
  withContext,
} from './arbitraries.js';

const RUNS = Number(process.env.TERN_PROP_RUNS ?? (process.env.CI ? 100_000 : 10_000));
const params = { numRuns: RUNS };

/**
 * Encodes the deep-frozen `msg` (so an encoder that writes to it throws), checks it left the typed
 * arrays as they were, that writing at an offset gives the same bytes and reports their length
 * (dns-packet's testEncoder), and that decoding gives `msg` back. It decodes the copy written at an
 * offset (as the Framer hands out views into a chunk) and then wipes that buffer: what decoding
 * returns must not share bytes with its input (STYLE.md: copy what outlives the chunk).
 */
function roundTrip(msg: AnyMessage, ctx: CodecContext): Uint8Array {
  const views = deepFreeze(msg);
  const wire = encodeMessage(msg, ctx);
  expectUnchanged(views);

  const w = new ByteWriter(16);
  w.raw(PAD);
  const length = writeMessage(msg, w, ctx);
  expectUnchanged(views);
  if (length !== wire.length || w.pos !== PAD.length + wire.length) {
    expect({ length, pos: w.pos }).toEqual({ length: wire.length, pos: PAD.length + wire.length });
  }
  const view = w.bytes.subarray(PAD.length, w.pos);
  expectEqual(view, wire);

  const decoded = decodeMessage(view, ctx);
  w.bytes.fill(0xa5);
  expectEqual(decoded, msg);
  return wire;
}

const PAD = new Uint8Array([1, 2, 3]);

/** The encoded UPDATE has the size RFC 4271 gives it (computed independently in arbitraries.ts). */
function expectWireSize(wire: Uint8Array, m: UpdateMessage, ctx: CodecContext): void {
  const size = updateWireSize(m, ctx);
  if (wire.length !== size) expect(wire.length).toBe(size);
}

describe('valid messages survive encode -> decode; encoders never mutate them (deep-frozen)', () => {
  it('OPEN with capabilities', () => {
    fc.assert(
      fc.property(openMessage, (m) => {
        roundTrip(m, DEFAULT_CONTEXT);
      }),
      params,
    );
  });

  it('UPDATE, in every context: 4- or 2-octet AS (AS4_PATH, AS4_AGGREGATOR), ADD-PATH off or on', () => {
    // a third of the runs on the default context (4-octet AS, no ADD-PATH), the rest spread evenly
    // over the other seven: 2-octet AS, and ADD-PATH for IPv4, IPv6 or both
    const arb = fc.oneof(
      { weight: 7, arbitrary: withContext({ as4: true, addPath: false }, updateMessage) },
      { weight: 8, arbitrary: withContext({ as4: false }, updateMessage) },
      { weight: 6, arbitrary: withContext({ as4: true, addPath: true }, updateMessage) },
    );
    fc.assert(
      fc.property(arb, ({ ctx, value: m }) => {
        expectWireSize(roundTrip(m, ctx), m, ctx);
      }),
      params,
    );
  });

  it('Extended Message (RFC 8654): UPDATE and NOTIFICATION up to 65535 octets, only when negotiated', () => {
    const ext = makeContext({ extendedMessage: true });
    const arb = fc.oneof(
      withContext({ extendedMessage: true }, bigUpdate),
      bigNotification.map((value) => ({ ctx: ext, value })),
    );
    fc.assert(
      fc.property(arb, ({ ctx, value: m }) => {
        const wire = roundTrip(m, ctx);
        if (m.type === 'update') expectWireSize(wire, m, ctx);
        if (wire.length > 4096) {
          let err: unknown;
          try {
            encodeMessage(m, { ...ctx, extendedMessage: false });
          } catch (e) {
            err = e;
          }
          if (!(err instanceof RangeError))
            expect.fail(`a ${wire.length}-octet ${m.type} encoded without RFC 8654`);
          const decoded = decodeOrBgpError(wire, { ...ctx, extendedMessage: false });
          if (decoded !== undefined) expect.fail(`a ${wire.length}-octet ${m.type} decoded without RFC 8654`);
        }
      }),
      params,
    );
  });

  it('NOTIFICATION, KEEPALIVE, ROUTE-REFRESH', () => {
    fc.assert(
      fc.property(fc.oneof(notificationMessage, keepaliveMessage, routeRefreshMessage), (m) => {
        roundTrip(m, DEFAULT_CONTEXT);
      }),
      params,
    );
  });

  it('RFC 6793 4.2.3: AS4_PATH and AS4_AGGREGATOR carried through a 2-octet-only speaker merge back', () => {
    const ctx = makeContext({ as4: false });
    fc.assert(
      fc.property(as4Journey, (j) => {
        const decoded = decodeMessage(j.wire, ctx);
        if (decoded.type !== 'update') return expect.fail('not an UPDATE');
        expectEqual(
          {
            asPath: decoded.attributes.asPath,
            aggregator: decoded.attributes.aggregator,
            problems: decoded.problems,
          },
          { asPath: j.asPath, aggregator: j.aggregator, problems: undefined },
        );
      }),
      params,
    );
  });
});

// ---- RFC 6793 4.2.3, with bytes built by hand (independently of the encoder) ----

const SET = AsPathSegmentType.AS_SET;
const SEQ = AsPathSegmentType.AS_SEQUENCE;

function attribute(flags: number, code: number, value: readonly number[]): number[] {
  return value.length > 255
    ? [flags | 0x10, code, value.length >> 8, value.length & 255, ...value]
    : [flags, code, value.length, ...value];
}

function segmentBytes(segs: readonly AsPathSegment[], size: 2 | 4): number[] {
  return segs.flatMap((s) => [
    s.type,
    s.asns.length,
    ...s.asns.flatMap((as) =>
      size === 4 ? [as >>> 24, (as >>> 16) & 255, (as >>> 8) & 255, as & 255] : [as >> 8, as & 255],
    ),
  ]);
}

const u16be = (v: number): number[] => [v >> 8, v & 255];
const u32be = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

/** What RFC 6793 4.2.2 has a 2-octet session carry in AS_PATH: AS_TRANS for every 4-octet AS. */
function twoOctet(segs: readonly AsPathSegment[]): AsPathSegment[] {
  return segs.map((s) => ({ type: s.type, asns: s.asns.map((as) => (as > 0xffff ? AS_TRANS : as)) }));
}

/**
 * A route's journey: a 4-octet speaker sends AS path `path4` over a 2-octet session (AS_PATH with
 * AS_TRANS, AS4_PATH with the real path); a 2-octet-only speaker prepends its ASes to AS_PATH and passes
 * AS4_PATH on; tern receives it on a 2-octet session. With it, what RFC 6793 4.2.3 says tern must see.
 * Variants: an AGGREGATOR with AS_TRANS and an AS4_AGGREGATOR (take the latter); a 2-octet AGGREGATOR
 * (ignore AS4_PATH and AS4_AGGREGATOR); an AS_PATH that counts fewer ASes than AS4_PATH (ignore it).
 */
const as4Journey = record({
  path4: fc.array(
    record({
      type: fc.constantFrom(SET, SEQ),
      asns: fc.array(fc.oneof(u16, fc.integer({ min: 0x10000, max: 0xffffffff })), {
        minLength: 1,
        maxLength: 8,
      }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  prepends: fc.array(u16, { maxLength: 5 }),
  variant: fc.constantFrom('none', 'as-trans', 'two-octet', 'short'),
  aggregatorAs: fc.integer({ min: 0x10000, max: 0xffffffff }),
  oldAs: u16.filter((as) => as !== AS_TRANS),
}).map(({ path4, prepends, variant, aggregatorAs, oldAs }) => {
  const first = path4[0]!;
  // what the 2-octet-only speaker sends on: its ASes in front of AS_PATH (joined to a leading
  // AS_SEQUENCE), or, for 'short', AS_PATH without its last segment (so it counts fewer ASes)
  let asPath2: AsPathSegment[];
  if (variant === 'short') asPath2 = twoOctet(path4.slice(0, -1));
  else if (prepends.length === 0) asPath2 = twoOctet(path4);
  else if (first.type === SEQ)
    asPath2 = twoOctet([{ type: SEQ, asns: [...prepends, ...first.asns] }, ...path4.slice(1)]);
  else asPath2 = [{ type: SEQ, asns: prepends }, ...twoOctet(path4)];
  // what tern must make of it
  let asPath: readonly AsPathSegment[];
  if (variant === 'short' || variant === 'two-octet') asPath = asPath2;
  else if (prepends.length === 0) asPath = path4;
  else if (first.type === SEQ)
    asPath = [{ type: SEQ, asns: [...prepends, ...first.asns] }, ...path4.slice(1)];
  else asPath = [{ type: SEQ, asns: prepends }, ...path4];
  const address = [192, 0, 2, 7];
  const attrs = [
    ...attribute(0x40, 1, [0]),
    ...attribute(0x40, 2, segmentBytes(asPath2, 2)),
    ...attribute(0x40, 3, [192, 0, 2, 1]),
    ...(variant === 'as-trans' ? attribute(0xc0, 7, [...u16be(AS_TRANS), ...address]) : []),
    ...(variant === 'two-octet' ? attribute(0xc0, 7, [...u16be(oldAs), ...address]) : []),
    ...attribute(0xc0, 17, segmentBytes(path4, 4)),
    ...(variant === 'as-trans' || variant === 'two-octet'
      ? attribute(0xc0, 18, [...u32be(aggregatorAs), ...address])
      : []),
  ];
  const body = [0, 0, ...u16be(attrs.length), ...attrs, 8, 10];
  const wire = frame(2, Uint8Array.from(body));
  const aggregator =
    variant === 'as-trans'
      ? { as: aggregatorAs, address: '192.0.2.7' }
      : variant === 'two-octet'
        ? { as: oldAs, address: '192.0.2.7' }
        : undefined;
  return { wire, asPath, aggregator };
});
