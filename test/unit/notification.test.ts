import { describe, expect, it } from 'vitest';
import { messageToJson } from '../../src/bgp/json/index.js';
import {
  BgpError,
  Cease,
  FsmError,
  HoldTimerExpired,
  MessageHeaderError,
  OpenMessageError,
  RouteRefreshError,
  UpdateMessageError,
} from '../../src/bgp/messages/errors.js';
import {
  CeaseSubcode,
  ERROR_SUBCODE_NAMES,
  ErrorCode,
  errorCodeName,
  errorSubcodeName,
  MessageType,
} from '../../src/bgp/messages/iana.js';
import { decodeMessage, encodeMessage, writeMessage } from '../../src/bgp/messages/message.js';
import {
  decodeNotification,
  encodeNotification,
  MAX_SHUTDOWN_MESSAGE_BYTES,
  type NotificationMessage,
  shutdownData,
  shutdownMessage,
  shutdownNotification,
} from '../../src/bgp/messages/notification.js';
import { ByteReader } from '../../src/bgp/messages/reader.js';
import { encodeAfterJunk, join, message, toHex } from '../helpers/bytes.js';
import { itRoundTripsFixtures, prng, randInt, thrownBgpError } from '../helpers/stream.js';

const utf8 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'utf8'));

function notification(code: number, subcode: number, data: Uint8Array | string = ''): NotificationMessage {
  return { type: 'notification', code, subcode, data: typeof data === 'string' ? utf8(data) : data };
}

/** Cease data built by hand: a length octet, then the bytes. */
function communication(bytes: Uint8Array, len = bytes.length): Uint8Array {
  return join(new Uint8Array([len]), bytes);
}

describe('NOTIFICATION codec', () => {
  it('decodes code, subcode and data from hand-built bytes', () => {
    const m = decodeMessage(message(MessageType.NOTIFICATION, '0302 0004 deadbeef'));
    expect(m).toEqual(notification(3, 2, new Uint8Array([0, 4, 0xde, 0xad, 0xbe, 0xef])));
  });

  it('decodes a NOTIFICATION without data', () => {
    expect(decodeMessage(message(MessageType.NOTIFICATION, '0400'))).toEqual(notification(4, 0));
  });

  it('copies the data out of the message buffer', () => {
    const bytes = message(MessageType.NOTIFICATION, '0602 03616263');
    const m = decodeMessage(bytes);
    bytes.fill(0);
    expect(m).toEqual(notification(6, 2, communication(utf8('abc'))));
    expect(m.type === 'notification' && m.data.buffer).not.toBe(bytes.buffer);
  });

  it('decodes with a reader whose bounds lie inside a larger buffer', () => {
    const bytes = join('aaaa', '0601 ff', 'bbbb');
    const r = new ByteReader(bytes, (d, o) => new MessageHeaderError(2, d, undefined, o), 2, 5);
    expect(decodeNotification(r)).toEqual(notification(6, 1, new Uint8Array([0xff])));
    expect(r.pos).toBe(5);
  });

  it('encodes to the hand-built bytes', () => {
    const m = notification(2, 2, new Uint8Array([0xfd, 0xe9]));
    expect(toHex(encodeMessage(m))).toBe(toHex(message(MessageType.NOTIFICATION, '0202 fde9')));
  });

  it('encodes at an offset and reports its length', () => {
    const m = notification(6, 4, communication(utf8('reboot')));
    const { written, reported, junkIntact } = encodeAfterJunk(13, (w) => writeMessage(m, w));
    expect(junkIntact).toBe(true);
    expect(reported).toBe(19 + 2 + 7);
    expect(toHex(written)).toBe(
      toHex(message(MessageType.NOTIFICATION, join('0604', communication(utf8('reboot'))))),
    );
    const body = encodeAfterJunk(3, (w) => encodeNotification(m, w));
    expect(toHex(body.written)).toBe(toHex(join('0604', communication(utf8('reboot')))));
  });

  it('does not change the message it encodes', () => {
    const data = new Uint8Array([1, 2, 3]);
    const m = Object.freeze(notification(3, 1, data));
    encodeMessage(m);
    expect(m).toEqual(notification(3, 1, new Uint8Array([1, 2, 3])));
  });

  it('survives encode -> decode for many codes, subcodes and data lengths (seeded)', () => {
    const rand = prng(8203);
    for (let i = 0; i < 200; i++) {
      const data = new Uint8Array(randInt(rand, 300));
      for (let j = 0; j < data.length; j++) data[j] = randInt(rand, 256);
      const m = notification(randInt(rand, 256), randInt(rand, 256), data);
      const bytes = encodeMessage(m);
      expect(bytes.length).toBe(21 + data.length);
      const back = decodeMessage(bytes);
      expect(back.type === 'notification' && [back.code, back.subcode, toHex(back.data)]).toEqual([
        m.code,
        m.subcode,
        toHex(data),
      ]);
    }
  });

  it('rejects a data field that does not fit the message length', () => {
    const big = notification(6, 0, new Uint8Array(4096 - 20));
    expect(() => encodeMessage(big)).toThrow(RangeError);
    expect(encodeMessage(notification(6, 0, new Uint8Array(4096 - 21))).length).toBe(4096);
  });
});

describe('error code names', () => {
  const codes: [number, string][] = [
    [1, 'Message Header Error'],
    [2, 'OPEN Message Error'],
    [3, 'UPDATE Message Error'],
    [4, 'Hold Timer Expired'],
    [5, 'Finite State Machine Error'],
    [6, 'Cease'],
    [7, 'ROUTE-REFRESH Message Error'],
  ];

  it('names every error code (RFC 4271 4.5, RFC 7313)', () => {
    for (const [code, name] of codes) expect(errorCodeName(code)).toBe(name);
    expect(errorCodeName(0)).toBe('Unknown error code 0');
    expect(errorCodeName(99)).toBe('Unknown error code 99');
  });

  it('names subcodes of each code', () => {
    const cases: [number, number, string][] = [
      [1, 1, 'Connection Not Synchronized'],
      [1, 2, 'Bad Message Length'],
      [1, 3, 'Bad Message Type'],
      [2, 1, 'Unsupported Version Number'],
      [2, 2, 'Bad Peer AS'],
      [2, 3, 'Bad BGP Identifier'],
      [2, 4, 'Unsupported Optional Parameter'],
      [2, 6, 'Unacceptable Hold Time'],
      [2, 7, 'Unsupported Capability'],
      [3, 1, 'Malformed Attribute List'],
      [3, 3, 'Missing Well-known Attribute'],
      [3, 11, 'Malformed AS_PATH'],
      [4, 0, 'Unspecific'],
      [5, 1, 'Receive Unexpected Message in OpenSent State'],
      [5, 3, 'Receive Unexpected Message in Established State'],
      [6, 2, 'Administrative Shutdown'],
      [6, 4, 'Administrative Reset'],
      [6, 7, 'Connection Collision Resolution'],
      [6, 9, 'Hard Reset'],
      [7, 1, 'Invalid Message Length'],
    ];
    for (const [code, subcode, name] of cases)
      expect(errorSubcodeName(code, subcode), `${code}/${subcode}`).toBe(name);
  });

  it('has a subcode table for every code and says which subcodes it does not know', () => {
    for (const [code] of codes) expect(ERROR_SUBCODE_NAMES[code], `code ${code}`).toBeDefined();
    expect(errorSubcodeName(6, 200)).toBe('Unknown subcode 200');
    expect(errorSubcodeName(99, 1)).toBe('Unknown subcode 1');
  });
});

describe('shutdown communication (RFC 8203 / RFC 9003)', () => {
  it('reads the message of Administrative Shutdown (6/2) and Administrative Reset (6/4)', () => {
    expect(shutdownMessage(notification(6, 2, communication(utf8('maintenance'))))).toBe('maintenance');
    expect(shutdownMessage(notification(6, 4, communication(utf8('upgrade to 2.1'))))).toBe('upgrade to 2.1');
  });

  it('reads multibyte UTF-8', () => {
    for (const text of ['Wartung – bis 18:00', '維護中', 'réinitialisation 🚧🔧', 'Ω']) {
      expect(shutdownMessage(notification(6, 2, communication(utf8(text)))), text).toBe(text);
      expect(shutdownMessage(notification(6, 4, communication(utf8(text)))), text).toBe(text);
    }
  });

  it('reads a message of the full 255 bytes', () => {
    const text = `${'x'.repeat(251)}🚧`;
    expect(utf8(text).length).toBe(255);
    expect(shutdownMessage(notification(6, 2, communication(utf8(text))))).toBe(text);
  });

  it('is undefined when the length octet disagrees with the data', () => {
    const text = utf8('maintenance');
    expect(shutdownMessage(notification(6, 2, communication(text, 5)))).toBeUndefined();
    expect(shutdownMessage(notification(6, 2, communication(text, 12)))).toBeUndefined();
    expect(shutdownMessage(notification(6, 2, communication(text, 0)))).toBeUndefined();
    expect(shutdownMessage(notification(6, 2, text))).toBeUndefined();
  });

  it('is undefined without a message (no data, or a zero length octet alone)', () => {
    expect(shutdownMessage(notification(6, 2))).toBeUndefined();
    expect(shutdownMessage(notification(6, 2, new Uint8Array([0])))).toBeUndefined();
  });

  it('is undefined for invalid UTF-8', () => {
    const bad = [
      [0xc3, 0x28], // bad continuation
      [0xc0, 0xaf], // overlong '/'
      [0x61, 0xe2, 0x82], // truncated 3-byte sequence
      [0xed, 0xa0, 0x80], // UTF-16 surrogate
      [0xff],
      [0x80],
    ];
    for (const b of bad) {
      expect(
        shutdownMessage(notification(6, 2, communication(Uint8Array.from(b)))),
        toHex(Uint8Array.from(b)),
      ).toBe(undefined);
    }
  });

  it('is undefined for codes and subcodes that carry no shutdown communication', () => {
    const data = communication(utf8('maintenance'));
    for (const [code, subcode] of [
      [6, 0],
      [6, 1],
      [6, 3],
      [6, 5],
      [6, 9],
      [1, 2],
      [2, 2],
      [4, 0],
    ] as const) {
      expect(shutdownMessage(notification(code, subcode, data)), `${code}/${subcode}`).toBeUndefined();
    }
  });

  it('builds data with a length octet', () => {
    expect(toHex(shutdownData('maintenance'))).toBe(`0b${toHex(utf8('maintenance'))}`);
    expect(toHex(shutdownData('維護'))).toBe(`06${toHex(utf8('維護'))}`);
    expect(toHex(shutdownData(''))).toBe('00');
  });

  it('cuts data to 255 bytes, on a UTF-8 character boundary', () => {
    expect(MAX_SHUTDOWN_MESSAGE_BYTES).toBe(255);
    const cases: [string, number][] = [
      ['a'.repeat(255), 255],
      ['a'.repeat(256), 255],
      ['a'.repeat(1000), 255],
      [`${'a'.repeat(252)}€`, 255], // exactly 255
      [`${'a'.repeat(253)}€`, 253], // € would end at byte 256
      [`${'a'.repeat(254)}€`, 254],
      [`${'a'.repeat(253)}é`, 255],
      [`${'a'.repeat(254)}é`, 254],
      [`${'a'.repeat(251)}🚧`, 255],
      [`${'a'.repeat(252)}🚧`, 252],
      [`${'a'.repeat(254)}🚧`, 254],
      ['🚧'.repeat(70), 252],
    ];
    for (const [text, bytes] of cases) {
      const data = shutdownData(text);
      expect(data[0], `${text.length} chars`).toBe(bytes);
      expect(data.length).toBe(bytes + 1);
      const back = shutdownMessage(notification(6, 2, data));
      expect(back).toBeDefined();
      expect(text.startsWith(back!)).toBe(true);
    }
  });

  it('keeps the longest whole-character prefix of random multibyte text (seeded)', () => {
    const alphabet = ['a', 'é', '€', '維', '🚧', ' ', 'ß', '𝄞'];
    const rand = prng(9003);
    for (let i = 0; i < 300; i++) {
      const chars: string[] = [];
      const n = randInt(rand, 200);
      for (let j = 0; j < n; j++) chars.push(alphabet[randInt(rand, alphabet.length)]!);
      const text = chars.join('');
      const data = shutdownData(text);
      const back = shutdownMessage(notification(6, 4, data)) ?? '';
      expect(data[0]).toBe(data.length - 1);
      expect(data.length - 1).toBeLessThanOrEqual(255);
      expect(toHex(data.subarray(1))).toBe(toHex(utf8(back)));
      // the kept text is a prefix of whole characters, and the next character would not have fitted
      const kept = Array.from(back).length;
      expect(chars.slice(0, kept).join('')).toBe(back);
      if (kept < chars.length) expect(utf8(back).length + utf8(chars[kept]!).length).toBeGreaterThan(255);
    }
  });

  it('builds Cease NOTIFICATIONs with a shutdown communication', () => {
    const m = shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'maintenance');
    expect(m).toEqual(notification(6, 2, communication(utf8('maintenance'))));
    expect(shutdownMessage(m)).toBe('maintenance');
    expect(shutdownNotification(CeaseSubcode.ADMINISTRATIVE_RESET, '')).toEqual(notification(6, 4));
    expect(toHex(encodeMessage(m))).toBe(toHex(message(3, join('0602', communication(utf8('maintenance'))))));
  });

  it('shows the shutdown communication in JSON only when there is a valid one', () => {
    expect(messageToJson(notification(6, 2, communication(utf8('bye'))))).toMatchObject({
      shutdownMessage: 'bye',
    });
    expect(messageToJson(notification(6, 3, communication(utf8('bye'))))).not.toHaveProperty(
      'shutdownMessage',
    );
    expect(messageToJson(notification(6, 2, communication(utf8('bye'), 9)))).not.toHaveProperty(
      'shutdownMessage',
    );
  });
});

describe('BgpError.toNotification', () => {
  const data = new Uint8Array([0, 33]);
  const cases: [string, BgpError, number, number, Uint8Array][] = [
    ['MessageHeaderError', new MessageHeaderError(2, 'length 33', data, 16), 1, 2, data],
    [
      'OpenMessageError',
      new OpenMessageError(2, 'bad peer AS', new Uint8Array([0xfd, 0xe9])),
      2,
      2,
      new Uint8Array([0xfd, 0xe9]),
    ],
    [
      'UpdateMessageError',
      new UpdateMessageError(11, 'segment overrun', undefined, 30),
      3,
      11,
      new Uint8Array(0),
    ],
    ['HoldTimerExpired', new HoldTimerExpired(), 4, 0, new Uint8Array(0)],
    ['FsmError', new FsmError(2, 'UPDATE in OpenConfirm'), 5, 2, new Uint8Array(0)],
    ['Cease', new Cease(2, 'shutdown', shutdownData('maintenance')), 6, 2, shutdownData('maintenance')],
    ['RouteRefreshError', new RouteRefreshError(1, 'length 24', data), 7, 1, data],
  ];

  for (const [name, err, code, subcode, expected] of cases) {
    it(`${name} carries ${code}/${subcode}, its data and a stable name`, () => {
      expect(err).toBeInstanceOf(BgpError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(name);
      expect(err.constructor.name).toBe(name);
      expect(String(err).startsWith(`${name}: `)).toBe(true);
      expect(err.codeName).toBe(`${errorCodeName(code)} / ${errorSubcodeName(code, subcode)}`);
      expect(err.message.startsWith(`${err.codeName}: `)).toBe(true);
      expect(err.toNotification()).toEqual(notification(code, subcode, expected));
      // the NOTIFICATION encodes to exactly these fields
      expect(toHex(encodeMessage(err.toNotification()))).toBe(
        toHex(message(3, join(new Uint8Array([code, subcode]), expected))),
      );
    });
  }

  it('keeps the offset and the UPDATE error action', () => {
    expect(new MessageHeaderError(2, 'x', data, 16).offset).toBe(16);
    expect(new HoldTimerExpired().offset).toBeUndefined();
    expect(new UpdateMessageError(1, 'x').action).toBe('reset');
    expect(new UpdateMessageError(1, 'x', undefined, 3, 'withdraw').action).toBe('withdraw');
    expect(new HoldTimerExpired().message).toBe('Hold Timer Expired / Unspecific: hold timer expired');
  });

  it('decodes a header error caught from the wire into the NOTIFICATION the peer deserves', () => {
    const err = thrownBgpError(() => decodeMessage(message(9, '')));
    expect(err.toNotification()).toEqual(notification(ErrorCode.MESSAGE_HEADER, 3, new Uint8Array([9])));
  });
});

describe('NOTIFICATION fixtures', () => {
  const fixtures = itRoundTripsFixtures('notification-', [
    'notification-cease-admin-shutdown',
    'notification-hold-timer-expired',
  ]);

  it('decodes the fixtures to the expected messages', () => {
    const byName = new Map(fixtures.map((f) => [f.name, decodeMessage(f.bytes)]));
    const shutdown = byName.get('notification-cease-admin-shutdown')!;
    expect(shutdown).toEqual(notification(6, 2, communication(utf8('maintenance'))));
    expect(shutdown.type === 'notification' && shutdownMessage(shutdown)).toBe('maintenance');
    expect(byName.get('notification-hold-timer-expired')).toEqual(new HoldTimerExpired().toNotification());
  });
});
