// Replays every fixtures/malformed/*.hex (one line of hex: a whole message, header included), the
// hand-made malformed messages and the shrunk counterexamples of malformed.prop.test.ts (GoBGP's
// testdata/bad-len). In every context each must decode, or throw a BgpError with a code 1..7, a named
// subcode and an offset inside the message, never anything else; whatever decodes must re-encode to
// the same message. Fixtures whose error is known are checked for exactly that error.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BgpError, DEFAULT_CONTEXT, decodeMessage } from '../../src/bgp/messages/index.js';
import { CONTEXTS, checkReencode, decodeOrBgpError } from './arbitraries.js';

const DIR = new URL('../../fixtures/malformed/', import.meta.url);

function readHex(name: string): Uint8Array {
  const text = readFileSync(new URL(`${name}.hex`, DIR), 'utf8').trim();
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error(`${name}: not one line of hex`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** The error a fixture gets on a default (4-octet AS, no ADD-PATH) session: code, subcode, offset. */
const KNOWN: Readonly<Record<string, { code: number; subcode: number; offset?: number }>> = {
  'header-bad-marker': { code: 1, subcode: 1, offset: 15 }, // Connection Not Synchronized
  'keepalive-length-20': { code: 1, subcode: 2, offset: 16 }, // Bad Message Length
  'header-unknown-type': { code: 1, subcode: 3, offset: 18 }, // Bad Message Type
  'open-hold-time-1': { code: 2, subcode: 6, offset: 22 }, // Unacceptable Hold Time
  'open-unsupported-parameter': { code: 2, subcode: 4, offset: 29 }, // Unsupported Optional Parameter
  'update-withdrawn-overrun': { code: 3, subcode: 1, offset: 19 }, // Malformed Attribute List
  'update-mp-unreach-twice': { code: 3, subcode: 1 }, // MP_UNREACH_NLRI twice (RFC 7606 3.g)
  'update-unrecognized-well-known': { code: 3, subcode: 2 }, // Unrecognized Well-known Attribute
  'update-nlri-prefix-33': { code: 3, subcode: 10 }, // Invalid Network Field (RFC 7606 5.3)
  'route-refresh-short': { code: 7, subcode: 1 }, // Invalid Message Length (RFC 7313 5)
};

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.hex'))
  .map((f) => f.slice(0, -'.hex'.length))
  .sort();

describe('fixtures/malformed', () => {
  it('has every fixture whose error is listed here', () => {
    expect(fixtures).toEqual(expect.arrayContaining(Object.keys(KNOWN)));
  });

  it.each(fixtures)('%s: decodes or throws a valid BgpError, in every context', (name) => {
    const bytes = readHex(name);
    for (const ctx of CONTEXTS) checkReencode(decodeOrBgpError(bytes, ctx), ctx);
  });

  it.each(Object.entries(KNOWN))('%s: is the expected error', (name, want) => {
    let err: unknown;
    try {
      decodeMessage(readHex(name), DEFAULT_CONTEXT);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BgpError);
    const e = err as BgpError;
    expect({ code: e.code, subcode: e.subcode }).toEqual({ code: want.code, subcode: want.subcode });
    if (want.offset !== undefined) expect(e.offset).toBe(want.offset);
  });
});
