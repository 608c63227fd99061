// Property tests of decoding what a peer may send (STYLE.md, Tests): arbitrary bytes either decode or
// fail with a BgpError whose code (1..7) and subcode are real NOTIFICATION values (named in
// ERROR_SUBCODE_NAMES) and whose offset lies inside the message, never any other exception. Whatever
// decodes must re-encode and decode to the same message. Shrunk failures are kept as regressions in
// fixtures/malformed/ (malformed.test.ts replays them).
//
// Runs: TERN_PROP_RUNS, else 100,000 in CI and 10,000 locally (see codec.prop.test.ts).

import fc from 'fast-check';
import { describe, it } from 'vitest';
import { encodeMessage } from '../../src/bgp/messages/index.js';
import {
  bigBytes,
  bytes,
  CONTEXTS,
  checkReencode,
  decodeOrBgpError,
  EXTENDED_CONTEXTS,
  frame,
  HEADER,
  messageWithContext,
  record,
  u8,
} from './arbitraries.js';

const RUNS = Number(process.env.TERN_PROP_RUNS ?? (process.env.CI ? 100_000 : 10_000));
const params = { numRuns: RUNS };

interface Mutation {
  readonly op: 'flip' | 'set' | 'insert' | 'delete';
  readonly at: number;
  readonly value: number;
}

const mutation: fc.Arbitrary<Mutation> = record({
  op: fc.constantFrom('flip' as const, 'set' as const, 'insert' as const, 'delete' as const),
  at: fc.nat(),
  value: fc.oneof(u8, fc.constantFrom(0, 1, 0x7f, 0x80, 0xff)),
});

/** Applies mutations to the body of `wire` and sets the header length to the new size. */
function mutate(wire: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  const body = Array.from(wire.subarray(HEADER));
  for (const m of mutations) {
    const at = m.at % (body.length + 1);
    switch (m.op) {
      case 'flip':
        if (at < body.length) body[at]! ^= 1 << (m.value & 7);
        break;
      case 'set':
        if (at < body.length) body[at] = m.value;
        break;
      case 'insert':
        body.splice(at, 0, m.value);
        break;
      case 'delete':
        body.splice(at, 1 + (m.value & 3));
        break;
    }
  }
  return frame(wire[18]!, Uint8Array.from(body));
}

/** UPDATE bodies whose framing is right and whose attribute contents are random, to reach the decoders. */
const attributeCodes = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 25, 32) },
  { weight: 1, arbitrary: u8 },
);
const randomAttribute = record({
  flags: fc.oneof(fc.constantFrom(0x40, 0x80, 0xc0, 0xe0, 0x50, 0x90, 0xd0), u8),
  code: attributeCodes,
  value: fc.oneof({ weight: 4, arbitrary: bytes(12) }, { weight: 1, arbitrary: bytes(80) }),
}).map(({ flags, code, value }) =>
  flags & 0x10
    ? [flags, code, value.length >> 8, value.length & 255, ...value]
    : [flags, code, value.length & 255, ...value.subarray(0, 255)],
);
const structuredUpdateBody: fc.Arbitrary<Uint8Array> = record({
  withdrawn: bytes(20),
  attrs: fc.array(randomAttribute, { maxLength: 6 }),
  nlri: bytes(20),
}).map(({ withdrawn, attrs, nlri }) => {
  const a = attrs.flat();
  return Uint8Array.from([
    withdrawn.length >> 8,
    withdrawn.length & 255,
    ...withdrawn,
    a.length >> 8,
    a.length & 255,
    ...a,
    ...nlri,
  ]);
});

describe('arbitrary bytes decode or fail with a BgpError of a real code and subcode', () => {
  it('random bodies in a valid header of type 1..5, in every context (2/4-octet AS, ADD-PATH off/on)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.oneof(
          { weight: 16, arbitrary: bytes(48) },
          { weight: 1, arbitrary: bigBytes(0, 4096 - HEADER) },
          // RFC 8654: past 4096 octets only with the Extended Message capability
          { weight: 1, arbitrary: bigBytes(4096 - HEADER, 65535 - HEADER) },
        ),
        (type, body) => {
          const bytes = frame(type, body);
          for (const ctx of CONTEXTS) checkReencode(decodeOrBgpError(bytes, ctx), ctx);
          if (bytes.length > 4096)
            for (const ctx of EXTENDED_CONTEXTS) checkReencode(decodeOrBgpError(bytes, ctx), ctx);
        },
      ),
      params,
    );
  });

  it('valid messages with a few bytes flipped, replaced, inserted or deleted', () => {
    fc.assert(
      fc.property(
        messageWithContext(),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        ({ ctx, value: msg }, mutations) => {
          const bytes = mutate(encodeMessage(msg, ctx), mutations);
          checkReencode(decodeOrBgpError(bytes, ctx), ctx);
        },
      ),
      params,
    );
  });

  it('random UPDATE attributes, in every context (4- or 2-octet AS, ADD-PATH on or off)', () => {
    fc.assert(
      fc.property(structuredUpdateBody, (body) => {
        const bytes = frame(2, body);
        for (const ctx of CONTEXTS) checkReencode(decodeOrBgpError(bytes, ctx), ctx);
      }),
      params,
    );
  });
});
