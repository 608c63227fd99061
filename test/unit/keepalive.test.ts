import { describe, expect, it } from 'vitest';
import { MessageHeaderError } from '../../src/bgp/messages/errors.js';
import { Framer } from '../../src/bgp/messages/framer.js';
import { MessageType } from '../../src/bgp/messages/iana.js';
import { KEEPALIVE } from '../../src/bgp/messages/keepalive.js';
import { decodeMessage, encodeMessage, writeMessage } from '../../src/bgp/messages/message.js';
import { encodeAfterJunk, message, toHex } from '../helpers/bytes.js';
import { header, itRoundTripsFixtures, thrownBgpError } from '../helpers/stream.js';

const WIRE = `${'ff'.repeat(16)}001304`;

describe('KEEPALIVE', () => {
  it('encodes to exactly the 19-byte header', () => {
    const bytes = encodeMessage(KEEPALIVE);
    expect(bytes.length).toBe(19);
    expect(toHex(bytes)).toBe(WIRE);
    expect(toHex(message(MessageType.KEEPALIVE, ''))).toBe(WIRE);
  });

  it('encodes at an offset and reports 19', () => {
    const { written, reported, junkIntact } = encodeAfterJunk(7, (w) => writeMessage(KEEPALIVE, w));
    expect(junkIntact).toBe(true);
    expect(reported).toBe(19);
    expect(toHex(written)).toBe(WIRE);
  });

  it('decodes 19 bytes to the one frozen KEEPALIVE value', () => {
    const m = decodeMessage(message(MessageType.KEEPALIVE, ''));
    expect(m).toEqual({ type: 'keepalive' });
    expect(m).toBe(KEEPALIVE);
    expect(Object.isFrozen(KEEPALIVE)).toBe(true);
  });

  it('encodes a plain { type: "keepalive" } object the same way', () => {
    expect(toHex(encodeMessage({ type: 'keepalive' }))).toBe(WIRE);
  });

  for (const length of [20, 21, 29]) {
    it(`rejects a KEEPALIVE of length ${length} as 1/2 with the length as data`, () => {
      const bytes = message(MessageType.KEEPALIVE, new Uint8Array(length - 19));
      for (const err of [
        thrownBgpError(() => decodeMessage(bytes)),
        thrownBgpError(() => new Framer().push(bytes)),
      ]) {
        expect(err).toBeInstanceOf(MessageHeaderError);
        expect([err.code, err.subcode, err.offset]).toEqual([1, 2, 16]);
        expect(Array.from(err.data)).toEqual([0, length]);
      }
    });
  }

  it('rejects a header claiming 18 bytes', () => {
    const err = thrownBgpError(() => decodeMessage(header(18, MessageType.KEEPALIVE)));
    expect([err.code, err.subcode, Array.from(err.data)]).toEqual([1, 2, [0, 18]]);
  });
});

describe('KEEPALIVE fixtures', () => {
  const fixtures = itRoundTripsFixtures('keepalive-', ['keepalive-basic']);
  it('decodes every KEEPALIVE fixture to the KEEPALIVE value', () => {
    for (const f of fixtures) expect(decodeMessage(f.bytes)).toBe(KEEPALIVE);
  });
});
