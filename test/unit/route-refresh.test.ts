import { describe, expect, it } from 'vitest';
import { messageFromJson, messageToJson } from '../../src/bgp/json/index.js';
import { RouteRefreshError } from '../../src/bgp/messages/errors.js';
import { Framer } from '../../src/bgp/messages/framer.js';
import { Afi, MessageType, Safi } from '../../src/bgp/messages/iana.js';
import { decodeMessage, encodeMessage, writeMessage } from '../../src/bgp/messages/message.js';
import { ByteReader } from '../../src/bgp/messages/reader.js';
import {
  decodeRouteRefresh,
  encodeRouteRefresh,
  type RouteRefreshMessage,
  RouteRefreshSubtype,
} from '../../src/bgp/messages/route-refresh.js';
import { encodeAfterJunk, join, message, toHex } from '../helpers/bytes.js';
import { itRoundTripsFixtures, thrownBgpError } from '../helpers/stream.js';

function rr(afi: number, safi: number, subtype: number): RouteRefreshMessage {
  return { type: 'route-refresh', afi, safi, subtype };
}

/** A ROUTE-REFRESH built by hand: AFI (2), subtype (1), SAFI (1). */
function wire(afi: number, subtype: number, safi: number): Uint8Array {
  return message(MessageType.ROUTE_REFRESH, new Uint8Array([afi >> 8, afi & 255, subtype, safi]));
}

describe('ROUTE-REFRESH codec', () => {
  const kinds: [string, number][] = [
    ['normal', RouteRefreshSubtype.NORMAL],
    ['BoRR', RouteRefreshSubtype.BORR],
    ['EoRR', RouteRefreshSubtype.EORR],
  ];
  const families: [string, number, number][] = [
    ['ipv4 unicast', Afi.IPV4, Safi.UNICAST],
    ['ipv6 unicast', Afi.IPV6, Safi.UNICAST],
  ];

  it('has the RFC 7313 subtype numbers', () => {
    expect(RouteRefreshSubtype).toEqual({ NORMAL: 0, BORR: 1, EORR: 2 });
  });

  for (const [kind, subtype] of kinds) {
    for (const [family, afi, safi] of families) {
      it(`decodes and encodes a ${kind} request for ${family}`, () => {
        const bytes = wire(afi, subtype, safi);
        expect(bytes.length).toBe(23);
        expect(decodeMessage(bytes)).toEqual(rr(afi, safi, subtype));
        expect(toHex(encodeMessage(rr(afi, safi, subtype)))).toBe(toHex(bytes));
      });
    }
  }

  it('puts the subtype between AFI and SAFI on the wire', () => {
    expect(toHex(encodeMessage(rr(0x1234, 0x56, 0x78)))).toBe(`${'ff'.repeat(16)}0017051234${'78'}${'56'}`);
    expect(decodeMessage(wire(0x1234, 0x78, 0x56))).toEqual(rr(0x1234, 0x56, 0x78));
  });

  for (const subtype of [3, 128, 254, 255]) {
    it(`decodes unknown subtype ${subtype} (the session ignores it, RFC 7313 4)`, () => {
      expect(decodeMessage(wire(Afi.IPV4, subtype, Safi.UNICAST))).toEqual(rr(1, 1, subtype));
    });
  }

  it('decodes families it does not route', () => {
    expect(decodeMessage(wire(25, 0, 70))).toEqual(rr(25, 70, 0));
  });

  it('encodes at an offset and reports 23', () => {
    const m = rr(Afi.IPV6, Safi.UNICAST, RouteRefreshSubtype.EORR);
    const { written, reported, junkIntact } = encodeAfterJunk(11, (w) => writeMessage(m, w));
    expect(junkIntact).toBe(true);
    expect(reported).toBe(23);
    expect(toHex(written)).toBe(toHex(wire(2, 2, 1)));
    expect(toHex(encodeAfterJunk(5, (w) => encodeRouteRefresh(m, w)).written)).toBe('00020201');
  });

  it('does not change the message it encodes', () => {
    const m = Object.freeze(rr(2, 1, 1));
    encodeMessage(m);
    expect(m).toEqual(rr(2, 1, 1));
  });

  for (const extra of [1, 4, 100]) {
    it(`rejects a message of ${23 + extra} bytes as 7/1 with the whole message as data`, () => {
      const bytes = message(MessageType.ROUTE_REFRESH, join('00010101', new Uint8Array(extra).fill(0xab)));
      const err = thrownBgpError(() => decodeMessage(bytes));
      expect(err).toBeInstanceOf(RouteRefreshError);
      expect(err.name).toBe('RouteRefreshError');
      expect([err.code, err.subcode]).toEqual([7, 1]);
      expect(toHex(err.data)).toBe(toHex(bytes));
      expect(err.toNotification()).toEqual({ type: 'notification', code: 7, subcode: 1, data: bytes });
    });
  }

  it('puts exactly the message in the error data when the message is a view into a larger chunk', () => {
    const bad = message(MessageType.ROUTE_REFRESH, '0002020100');
    const chunk = join(message(MessageType.KEEPALIVE, ''), bad, message(MessageType.KEEPALIVE, ''));
    const framed = new Framer().push(chunk);
    expect(framed).toHaveLength(3);
    const err = thrownBgpError(() => decodeMessage(framed[1]!));
    expect([err.code, err.subcode]).toEqual([7, 1]);
    expect(toHex(err.data)).toBe(toHex(bad));
  });

  // RFC 7313 5: "If the length, excluding the fixed-size message header, of the received ROUTE-REFRESH
  // message with Message Subtype 1 and 2 is not 4, then the BGP speaker MUST send a NOTIFICATION message
  // with the Error Code of "ROUTE-REFRESH Message Error" and the subcode of "Invalid Message Length".
  // The Data field of the NOTIFICATION message MUST contain the complete ROUTE-REFRESH message."
  // A short BoRR/EoRR (here 22 bytes, body AFI + subtype) must be 7/1 too, not a header error 1/2.
  for (const [subtype, name] of [
    [RouteRefreshSubtype.BORR, 'BoRR'],
    [RouteRefreshSubtype.EORR, 'EoRR'],
  ] as const) {
    it(`rejects a 22-byte ${name} as 7/1 with the whole message as data (RFC 7313 5)`, () => {
      const bytes = message(MessageType.ROUTE_REFRESH, new Uint8Array([0, 1, subtype]));
      const fromDecode = thrownBgpError(() => decodeMessage(bytes));
      expect([fromDecode.code, fromDecode.subcode, toHex(fromDecode.data)]).toEqual([7, 1, toHex(bytes)]);
      // the framer passes it on whole (its length is no header error), and decoding rejects it
      const framed = new Framer().push(bytes);
      expect(framed.map(toHex)).toEqual([toHex(bytes)]);
      const fromFramed = thrownBgpError(() => decodeMessage(framed[0]!));
      expect([fromFramed.code, fromFramed.subcode, toHex(fromFramed.data)]).toEqual([7, 1, toHex(bytes)]);
    });
  }

  it('decodes the body through a reader and checks the body length itself', () => {
    const overrun = (d: string, o: number) => new RouteRefreshError(1, d, undefined, o);
    const bytes = wire(2, 1, 1);
    const r = new ByteReader(bytes, overrun, 19, 23);
    expect(decodeRouteRefresh(r)).toEqual(rr(2, 1, 1));
    expect(r.remaining).toBe(0);
    const long = message(MessageType.ROUTE_REFRESH, '0002010100');
    const err = thrownBgpError(() => decodeRouteRefresh(new ByteReader(long, overrun, 19, 24)));
    expect([err.code, err.subcode, err.offset, toHex(err.data)]).toEqual([7, 1, 16, toHex(long)]);
  });
});

describe('ROUTE-REFRESH JSON', () => {
  it('names known subtypes and families and keeps unknown subtypes as numbers', () => {
    expect(messageToJson(rr(1, 1, 0))).toEqual({
      type: 'route-refresh',
      afi: 1,
      safi: 1,
      family: 'ipv4-unicast',
      subtype: 'normal',
    });
    expect(messageToJson(rr(2, 1, 2))).toMatchObject({ family: 'ipv6-unicast', subtype: 'eorr' });
    expect(messageToJson(rr(2, 1, 77))).toMatchObject({ subtype: 77 });
    expect(messageFromJson({ type: 'route-refresh', afi: 2, safi: 1, subtype: 77 })).toEqual(rr(2, 1, 77));
    expect(messageFromJson({ type: 'route-refresh', afi: 2, safi: 1, subtype: 'borr' })).toEqual(rr(2, 1, 1));
    expect(messageFromJson({ type: 'route-refresh', afi: 1, safi: 1 })).toEqual(rr(1, 1, 0));
    expect(() => messageFromJson({ type: 'route-refresh', afi: 1, safi: 1, subtype: 'sometimes' })).toThrow(
      /subtype/,
    );
  });
});

describe('ROUTE-REFRESH fixtures', () => {
  const fixtures = itRoundTripsFixtures('route-refresh-', [
    'route-refresh-borr-ipv6',
    'route-refresh-normal-ipv4',
  ]);
  it('decodes the fixtures to the expected messages', () => {
    const byName = new Map(fixtures.map((f) => [f.name, decodeMessage(f.bytes)]));
    expect(byName.get('route-refresh-normal-ipv4')).toEqual(rr(1, 1, 0));
    expect(byName.get('route-refresh-borr-ipv6')).toEqual(rr(2, 1, 1));
  });
});
