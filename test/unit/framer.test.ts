import { describe, expect, it } from 'vitest';
import { type BgpError, MessageHeaderError } from '../../src/bgp/messages/errors.js';
import { Framer } from '../../src/bgp/messages/framer.js';
import { MessageType } from '../../src/bgp/messages/iana.js';
import { join, message, toHex } from '../helpers/bytes.js';
import {
  bytesEqual,
  feed,
  header,
  loadHexFixtures,
  prng,
  randomChunks,
  splitAt,
  thrownBgpError,
} from '../helpers/stream.js';

const KEEPALIVE = message(MessageType.KEEPALIVE, '');

// Every fixture message, globbed at test time so fixtures added later are framed too.
const fixtures = loadHexFixtures();
const messages = fixtures.map((f) => f.bytes);
const stream = join(...messages);
const needsExtended = messages.some((m) => m.length > 4096);

function framer(): Framer {
  return new Framer({ extendedMessage: needsExtended });
}

/** Asserts `got` is exactly the fixture messages, byte for byte and in order. */
function expectMessages(got: readonly Uint8Array[], label: string): void {
  expect(got.length, `${label}: message count`).toBe(messages.length);
  for (let i = 0; i < messages.length; i++) {
    if (!bytesEqual(got[i]!, messages[i]!)) {
      expect(toHex(got[i]!), `${label}: message ${i} (${fixtures[i]!.name})`).toBe(toHex(messages[i]!));
    }
  }
}

/**
 * The header error these chunks (fed in order) stop the framer with: thrown by push(), or, when whole
 * messages came before it in the same chunk, kept in `error` and thrown by the next push.
 */
function pushError(f: Framer, ...chunks: Uint8Array[]): BgpError {
  return thrownBgpError(() => {
    for (const c of chunks) f.push(c);
    if (f.error) f.push(new Uint8Array(0));
  });
}

describe('fixture stream', () => {
  it('has fixtures whose headers are well formed (one message per .hex file)', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(5);
    const names = fixtures.map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'keepalive-basic',
        'notification-cease-admin-shutdown',
        'notification-hold-timer-expired',
        'route-refresh-borr-ipv6',
        'route-refresh-normal-ipv4',
      ]),
    );
    for (const f of fixtures) {
      expect(f.bytes.length, f.name).toBeGreaterThanOrEqual(19);
      expect(
        f.bytes.subarray(0, 16).every((b) => b === 0xff),
        `${f.name}: marker`,
      ).toBe(true);
      expect((f.bytes[16]! << 8) | f.bytes[17]!, `${f.name}: header length = file length`).toBe(
        f.bytes.length,
      );
    }
  });

  it('frames the whole stream pushed at once, every message a view of the chunk', () => {
    const f = framer();
    const chunk = stream.slice();
    const got = f.push(chunk);
    expectMessages(got, 'whole');
    for (const m of got) expect(m.buffer).toBe(chunk.buffer);
    expect(f.buffered).toBe(0);
  });

  it('frames the stream split into two chunks at every byte position', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = framer();
      expectMessages(feed(f, splitAt(stream, [cut])), `cut at ${cut}`);
      expect(f.buffered, `cut at ${cut}`).toBe(0);
    }
  });

  it('frames every message split at every byte position on its own', () => {
    for (const [i, m] of messages.entries()) {
      for (let cut = 0; cut <= m.length; cut++) {
        const f = framer();
        const first = f.push(m.subarray(0, cut));
        const second = f.push(m.subarray(cut));
        const got = [...first, ...second];
        expect(got.length, `${fixtures[i]!.name} cut at ${cut}`).toBe(1);
        expect(bytesEqual(got[0]!, m), `${fixtures[i]!.name} cut at ${cut}`).toBe(true);
        expect(f.buffered).toBe(0);
      }
    }
  });

  it('frames the stream pushed one byte at a time, reporting what it buffers', () => {
    const f = framer();
    const got: Uint8Array[] = [];
    let inMessage = 0;
    let next = 0;
    for (let i = 0; i < stream.length; i++) {
      const out = f.push(stream.subarray(i, i + 1));
      got.push(...out);
      inMessage++;
      if (inMessage === messages[next]!.length) {
        expect(out.length, `byte ${i} ends message ${next}`).toBe(1);
        expect(f.buffered).toBe(0);
        inMessage = 0;
        next++;
      } else {
        expect(out.length, `byte ${i}`).toBe(0);
        expect(f.buffered).toBe(inMessage);
      }
    }
    // messages returned earlier are not overwritten by later pushes
    expectMessages(got, 'byte by byte');
    expect(f.buffered).toBe(0);
  });

  it('frames random chunkings (seeded), including empty chunks', () => {
    const rand = prng(0x5eed);
    for (let round = 0; round < 300; round++) {
      const maxChunk = [1, 7, 19, 20, 64, 300, 5000][round % 7]!;
      const chunks = randomChunks(stream, rand, maxChunk);
      const f = framer();
      expectMessages(feed(f, chunks), `round ${round}, chunks ${chunks.map((c) => c.length).join(',')}`);
      expect(f.buffered).toBe(0);
    }
  });

  it('returns a message lying wholly in a chunk as a view and one spanning chunks as a copy', () => {
    const f = new Framer();
    const buf = join(KEEPALIVE, KEEPALIVE, KEEPALIVE.subarray(0, 10));
    const first = f.push(buf);
    expect(first).toHaveLength(2);
    expect(first[0]!.buffer).toBe(buf.buffer);
    expect(first[0]!.byteOffset).toBe(0);
    expect(first[1]!.buffer).toBe(buf.buffer);
    expect(first[1]!.byteOffset).toBe(19);
    expect(f.buffered).toBe(10);

    const rest = join(KEEPALIVE.subarray(10), KEEPALIVE);
    const second = f.push(rest);
    expect(second).toHaveLength(2);
    expect(second[0]!.buffer).not.toBe(rest.buffer);
    expect(second[0]!.buffer).not.toBe(buf.buffer);
    expect(bytesEqual(second[0]!, KEEPALIVE)).toBe(true);
    expect(second[1]!.buffer).toBe(rest.buffer);
    expect(second[1]!.byteOffset).toBe(9);
    expect(f.buffered).toBe(0);
  });

  it('accepts chunks that are views into a larger buffer', () => {
    const backing = join(new Uint8Array([1, 2, 3]), stream, new Uint8Array([4, 5]));
    const f = framer();
    expectMessages(f.push(backing.subarray(3, 3 + stream.length)), 'offset view');
    expect(f.buffered).toBe(0);
  });

  it('returns nothing for an empty chunk', () => {
    const f = new Framer();
    expect(f.push(new Uint8Array(0))).toEqual([]);
    f.push(KEEPALIVE.subarray(0, 5));
    expect(f.push(new Uint8Array(0))).toEqual([]);
    expect(f.buffered).toBe(5);
  });
});

describe('header errors', () => {
  it('rejects a bad marker once the 19th byte is in (1/1), offset the stream offset of the bad byte', () => {
    const bad = KEEPALIVE.slice();
    bad[5] = 0xfe;
    const f = new Framer();
    expect(f.push(KEEPALIVE)).toHaveLength(1);
    expect(f.push(bad.subarray(0, 18))).toEqual([]);
    const err = pushError(f, bad.subarray(18));
    expect(err).toBeInstanceOf(MessageHeaderError);
    expect(err.name).toBe('MessageHeaderError');
    expect([err.code, err.subcode]).toEqual([1, 1]);
    expect(err.data).toEqual(new Uint8Array(0));
    expect(err.offset).toBe(19 + 5);
  });

  it('rejects a bad marker inside one chunk with the same offset', () => {
    const bad = KEEPALIVE.slice();
    bad[0] = 0;
    const err = pushError(new Framer(), join(KEEPALIVE, KEEPALIVE, bad));
    expect([err.code, err.subcode, err.offset]).toEqual([1, 1, 38]);
  });

  it('reports the first bad marker byte', () => {
    const bad = KEEPALIVE.slice();
    bad[15] = 0;
    bad[9] = 0x7f;
    expect(pushError(new Framer(), bad).offset).toBe(9);
  });

  for (const length of [0, 18, 4097, 65535]) {
    it(`rejects length ${length} as 1/2 with the length bytes as data`, () => {
      const h = header(length, MessageType.UPDATE);
      const err = pushError(new Framer(), join(KEEPALIVE, h));
      expect(err).toBeInstanceOf(MessageHeaderError);
      expect([err.code, err.subcode]).toEqual([1, 2]);
      expect(Array.from(err.data)).toEqual([length >> 8, length & 255]);
      expect(err.offset).toBe(19 + 16);
    });
  }

  it('checks the header at once instead of waiting for the bytes a length promises', () => {
    const f = new Framer();
    const err = pushError(f, header(4000, 6));
    expect([err.code, err.subcode]).toEqual([1, 3]);
    expect(Array.from(err.data)).toEqual([6]);
    expect(err.offset).toBe(18);
    // the same header delivered in pieces fails on its 19th byte
    const g = new Framer();
    const h = header(4000, 6);
    expect(g.push(h.subarray(0, 18))).toEqual([]);
    expect(pushError(g, h.subarray(18)).subcode).toBe(3);
  });

  it('waits for the body of a good header of length 4000', () => {
    const f = new Framer();
    const m = join(header(4000, MessageType.UPDATE), new Uint8Array(4000 - 19));
    expect(f.push(m.subarray(0, 19))).toEqual([]);
    expect(f.buffered).toBe(19);
    expect(f.push(m.subarray(19, 3000))).toEqual([]);
    expect(f.buffered).toBe(3000);
    const got = f.push(m.subarray(3000));
    expect(got).toHaveLength(1);
    expect(bytesEqual(got[0]!, m)).toBe(true);
  });

  it('accepts 4096 bytes and rejects 4097 without extended messages', () => {
    const ok = join(header(4096, MessageType.UPDATE), new Uint8Array(4096 - 19));
    expect(new Framer().push(ok)).toHaveLength(1);
    expect(pushError(new Framer(), header(4097, MessageType.UPDATE)).subcode).toBe(2);
  });

  for (const length of [4097, 30000, 65535]) {
    const m = join(header(length, MessageType.UPDATE), new Uint8Array(length - 19));
    it(`accepts length ${length} with the extended message option in the constructor`, () => {
      const f = new Framer({ extendedMessage: true });
      expect(f.maxLength).toBe(65535);
      const got = feed(f, [m.subarray(0, 100), m.subarray(100)]);
      expect(got).toHaveLength(1);
      expect(bytesEqual(got[0]!, m)).toBe(true);
    });

    it(`accepts length ${length} after setExtendedMessage(true)`, () => {
      const f = new Framer();
      expect(f.push(KEEPALIVE)).toHaveLength(1);
      f.setExtendedMessage(true);
      const got = f.push(m);
      expect(got).toHaveLength(1);
      expect(bytesEqual(got[0]!, m)).toBe(true);
    });
  }

  it('rejects 4097 again after setExtendedMessage(false)', () => {
    const f = new Framer({ extendedMessage: true });
    f.setExtendedMessage(false);
    expect(f.maxLength).toBe(4096);
    expect(pushError(f, header(4097, MessageType.UPDATE)).subcode).toBe(2);
  });

  for (const type of [0, 6, 7, 255]) {
    it(`rejects unknown type ${type} as 1/3 with the type byte as data`, () => {
      const err = pushError(new Framer(), join(KEEPALIVE, header(23, type)));
      expect(err).toBeInstanceOf(MessageHeaderError);
      expect([err.code, err.subcode]).toEqual([1, 3]);
      expect(Array.from(err.data)).toEqual([type]);
      expect(err.offset).toBe(19 + 18);
    });
  }

  for (const length of [20, 23, 4096]) {
    it(`rejects a KEEPALIVE of length ${length} as 1/2`, () => {
      const err = pushError(new Framer(), header(length, MessageType.KEEPALIVE));
      expect([err.code, err.subcode]).toEqual([1, 2]);
      expect(Array.from(err.data)).toEqual([length >> 8, length & 255]);
      expect(err.offset).toBe(16);
    });
  }

  const tooShort: [string, number, number][] = [
    ['OPEN', MessageType.OPEN, 28],
    ['OPEN', MessageType.OPEN, 19],
    ['UPDATE', MessageType.UPDATE, 22],
    ['NOTIFICATION', MessageType.NOTIFICATION, 20],
  ];
  for (const [name, type, length] of tooShort) {
    it(`rejects ${name} of length ${length} (below its minimum) as 1/2`, () => {
      const err = pushError(new Framer(), header(length, type));
      expect([err.code, err.subcode]).toEqual([1, 2]);
      expect(Array.from(err.data)).toEqual([0, length]);
    });
  }

  it('accepts each type at its minimum length', () => {
    const mins: [number, number][] = [
      [MessageType.OPEN, 29],
      [MessageType.UPDATE, 23],
      [MessageType.NOTIFICATION, 21],
      [MessageType.KEEPALIVE, 19],
      [MessageType.ROUTE_REFRESH, 23],
    ];
    for (const [type, length] of mins) {
      const m = join(header(length, type), new Uint8Array(length - 19));
      expect(new Framer().push(m), `type ${type}`).toHaveLength(1);
    }
  });

  it('stays failed: every later push rethrows the same error', () => {
    const f = new Framer();
    const err = pushError(f, header(3, MessageType.UPDATE));
    expect(() => f.push(KEEPALIVE)).toThrow(err);
    expect(() => f.push(new Uint8Array(0))).toThrow(err);
    let again: unknown;
    try {
      f.push(KEEPALIVE);
    } catch (e) {
      again = e;
    }
    expect(again).toBe(err);
  });
});
