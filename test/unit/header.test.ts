import { describe, expect, it } from 'vitest';
import { makeContext } from '../../src/bgp/messages/context.js';
import { MessageHeaderError } from '../../src/bgp/messages/errors.js';
import {
  checkHeader,
  finishHeader,
  HEADER_LENGTH,
  MARKER_LENGTH,
  MIN_LENGTH,
  startHeader,
} from '../../src/bgp/messages/header.js';
import { MessageType } from '../../src/bgp/messages/iana.js';
import { decodeMessage } from '../../src/bgp/messages/message.js';
import { ByteWriter } from '../../src/bgp/messages/writer.js';
import { join, message } from '../helpers/bytes.js';
import { header, thrownBgpError } from '../helpers/stream.js';

describe('checkHeader', () => {
  it('returns length and type of a good header at an offset', () => {
    const bytes = join(new Uint8Array([1, 2, 3]), header(23, MessageType.ROUTE_REFRESH));
    expect(checkHeader(bytes, 3, 4096)).toEqual({ length: 23, type: 5 });
  });

  it('has the RFC 4271 constants and per-type minimum lengths', () => {
    expect(HEADER_LENGTH).toBe(19);
    expect(MARKER_LENGTH).toBe(16);
    // ROUTE-REFRESH: any length but 23 is 7/1 from its decoder (RFC 7313 5), not a header error
    expect(MIN_LENGTH).toEqual({ 1: 29, 2: 23, 3: 21, 4: 19, 5: 19 });
  });

  it('reports offsets relative to the header start (the framer adds the stream offset)', () => {
    const bad = header(19, 4);
    bad[7] = 0;
    const e1 = thrownBgpError(() => checkHeader(join(new Uint8Array(10), bad), 10, 4096));
    expect([e1.code, e1.subcode, e1.offset]).toEqual([1, 1, 7]);
    const e2 = thrownBgpError(() => checkHeader(header(5000, 2), 0, 4096));
    expect([e2.code, e2.subcode, e2.offset, Array.from(e2.data)]).toEqual([1, 2, 16, [0x13, 0x88]]);
    const e3 = thrownBgpError(() => checkHeader(header(19, 9), 0, 4096));
    expect([e3.code, e3.subcode, e3.offset, Array.from(e3.data)]).toEqual([1, 3, 18, [9]]);
  });

  it('checks the marker before the length and the length before the type', () => {
    const h = header(3, 99);
    expect(thrownBgpError(() => checkHeader(h, 0, 4096)).subcode).toBe(2);
    h[0] = 0;
    expect(thrownBgpError(() => checkHeader(h, 0, 4096)).subcode).toBe(1);
  });

  it('honours the maximum it is given', () => {
    expect(checkHeader(header(65535, 2), 0, 65535)).toEqual({ length: 65535, type: 2 });
    expect(thrownBgpError(() => checkHeader(header(4097, 2), 0, 4096)).subcode).toBe(2);
  });
});

describe('startHeader / finishHeader', () => {
  it('writes marker, length and type at the writer position', () => {
    const w = new ByteWriter(8);
    w.u8(0xaa);
    const start = startHeader(w, MessageType.NOTIFICATION);
    expect(start).toBe(1);
    w.u8(6);
    w.u8(2);
    expect(finishHeader(w, start)).toBe(21);
    expect(Array.from(w.slice())).toEqual([0xaa, ...Array(16).fill(0xff), 0, 21, 3, 6, 2]);
  });
});

describe('decodeMessage framing errors', () => {
  for (const n of [0, 1, 18]) {
    it(`rejects ${n} bytes (shorter than a header) as 1/2`, () => {
      const err = thrownBgpError(() => decodeMessage(header(19, 4).subarray(0, n)));
      expect(err).toBeInstanceOf(MessageHeaderError);
      expect([err.code, err.subcode, err.offset]).toEqual([1, 2, 0]);
    });
  }

  it('rejects a header length shorter than the bytes as 1/2 with the length as data', () => {
    const notif = join(message(MessageType.NOTIFICATION, '0600'), 'ee');
    const err = thrownBgpError(() => decodeMessage(notif));
    expect([err.code, err.subcode, err.offset]).toEqual([1, 2, 16]);
    expect(Array.from(err.data)).toEqual([0, 21]);
    const keepalive = thrownBgpError(() => decodeMessage(join(message(MessageType.KEEPALIVE, ''), '00')));
    expect([keepalive.code, keepalive.subcode, Array.from(keepalive.data)]).toEqual([1, 2, [0, 19]]);
  });

  it('rejects a header length longer than the bytes as 1/2 with the length as data', () => {
    const rr = message(MessageType.ROUTE_REFRESH, '00010001');
    const err = thrownBgpError(() => decodeMessage(rr.subarray(0, 22)));
    expect([err.code, err.subcode, err.offset]).toEqual([1, 2, 16]);
    expect(Array.from(err.data)).toEqual([0, 23]);
  });

  it('applies the header checks (marker, length bounds, type) to a whole message', () => {
    const bad = message(MessageType.KEEPALIVE, '');
    bad[3] = 0;
    expect(thrownBgpError(() => decodeMessage(bad)).subcode).toBe(1);
    expect(thrownBgpError(() => decodeMessage(header(19, 8))).subcode).toBe(3);
  });

  it('accepts more than 4096 bytes only with extended messages in the context', () => {
    const notif = join(header(5000, MessageType.NOTIFICATION), '0600', new Uint8Array(5000 - 21));
    const err = thrownBgpError(() => decodeMessage(notif));
    expect([err.code, err.subcode]).toEqual([1, 2]);
    const m = decodeMessage(notif, makeContext({ extendedMessage: true }));
    expect(m.type).toBe('notification');
    expect(m.type === 'notification' && m.data.length).toBe(5000 - 21);
  });
});
