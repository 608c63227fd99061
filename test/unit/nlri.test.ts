// NLRI fields (RFC 4271 4.3, RFC 4760 5) with and without RFC 7911 path identifiers: decoding of
// hand-written bytes, encoding (also at an offset), sizes, and the 3/10 errors of RFC 7606 5.3.

import { describe, expect, it } from 'vitest';
import { UpdateMessageError } from '../../src/bgp/messages/errors.js';
import {
  decodeIpv4Prefixes,
  decodeIpv6Prefixes,
  type Ipv4Prefixes,
  type Ipv6Prefixes,
  ipv4PrefixSize,
  ipv6PrefixSize,
  prefixesSize,
  writePrefixes,
} from '../../src/bgp/messages/nlri.js';
import { formatIpv4Key, formatIpv6Key } from '../../src/bgp/messages/prefix.js';
import { encodeAfterJunk, hex, thrown, toHex, v4Prefix, v6Prefix } from '../helpers/bytes.js';

function v4(...texts: string[]): number[] {
  return texts.map(v4Prefix);
}

function v6(...texts: string[]): string[] {
  return texts.map(v6Prefix);
}

function decode4(text: string, addPath = false): Ipv4Prefixes {
  const b = hex(text);
  return decodeIpv4Prefixes(b, 0, b.length, addPath);
}

function decode6(text: string, addPath = false): Ipv6Prefixes {
  const b = hex(text);
  return decodeIpv6Prefixes(b, 0, b.length, addPath);
}

const V4_FIELD = `
  00                # 0.0.0.0/0: no address bytes
  08 0a             # 10.0.0.0/8
  18 c0 a8 01       # 192.168.1.0/24
  1a 0a 00 00 40    # 10.0.0.64/26
  20 0a 01 02 03    # 10.1.2.3/32
`;
const V4_TEXT = ['0.0.0.0/0', '10.0.0.0/8', '192.168.1.0/24', '10.0.0.64/26', '10.1.2.3/32'];

const V6_FIELD = `
  00                                          # ::/0
  20 20 01 0d b8                              # 2001:db8::/32
  40 20 01 0d b8 00 00 00 01                  # 2001:db8:0:1::/64
  7a 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 40   # 2001:db8::40/122
  80 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01   # ::1/128
`;
const V6_TEXT = ['::/0', '2001:db8::/32', '2001:db8:0:1::/64', '2001:db8::40/122', '::1/128'];

describe('IPv4 NLRI', () => {
  it('decodes prefixes of every length class', () => {
    const got = decode4(V4_FIELD);
    expect(got.afi).toBe(1);
    expect(got.prefixes.map(formatIpv4Key)).toEqual(V4_TEXT);
    expect(got.prefixes).toEqual(v4(...V4_TEXT));
    expect(got.pathIds).toBeUndefined();
  });

  it('decodes an empty field as no prefixes', () => {
    expect(decode4('').prefixes).toEqual([]);
  });

  it('ignores trailing host bits (RFC 4271 4.3)', () => {
    // 0x0aff with 15 significant bits is 10.254.0.0/15; 0xc0a801ff/24 is 192.168.1.0/24
    expect(decode4('0f 0a ff  18 c0 a8 01').prefixes.map(formatIpv4Key)).toEqual([
      '10.254.0.0/15',
      '192.168.1.0/24',
    ]);
    expect(decode4('1a 0a 00 00 7f').prefixes.map(formatIpv4Key)).toEqual(['10.0.0.64/26']);
  });

  it('reads only the bytes between pos and end', () => {
    const b = hex('ff ff  08 0a  10 ac 10  ff');
    expect(decodeIpv4Prefixes(b, 2, 7, false).prefixes.map(formatIpv4Key)).toEqual([
      '10.0.0.0/8',
      '172.16.0.0/16',
    ]);
  });

  it('encodes to the same bytes, also after junk, with prefixesSize telling the length', () => {
    const list: Ipv4Prefixes = { afi: 1, prefixes: v4(...V4_TEXT) };
    const out = encodeAfterJunk(5, (w) => writePrefixes(w, list, false));
    expect(out.junkIntact).toBe(true);
    expect(toHex(out.written)).toBe(toHex(hex(V4_FIELD)));
    expect(prefixesSize(list, false)).toBe(hex(V4_FIELD).length);
  });

  it('writes only the slice [from, to)', () => {
    const list: Ipv4Prefixes = { afi: 1, prefixes: v4(...V4_TEXT) };
    const out = encodeAfterJunk(3, (w) => writePrefixes(w, list, false, 1, 3));
    expect(toHex(out.written)).toBe('080a18c0a801');
    expect(prefixesSize(list, false, 1, 3)).toBe(6);
  });

  it('sizes one prefix as 1 + ceil(len / 8) bytes, 4 more with ADD-PATH', () => {
    expect(
      v4('0.0.0.0/0', '10.0.0.0/8', '10.0.0.0/9', '10.0.0.64/26', '10.1.2.3/32').map((k) =>
        ipv4PrefixSize(k, false),
      ),
    ).toEqual([1, 2, 3, 5, 5]);
    expect(ipv4PrefixSize(v4('10.0.0.64/26')[0]!, true)).toBe(9);
  });

  it('rejects a prefix length over 32 with 3/10 Invalid Network Field at the length byte', () => {
    const b = hex('08 0a  21 0a 00 00 00 00');
    const e = thrown(() => decodeIpv4Prefixes(b, 0, b.length, false));
    expect(e).toBeInstanceOf(UpdateMessageError);
    expect(e).toMatchObject({ code: 3, subcode: 10, offset: 2, action: 'reset' });
  });

  it('rejects a prefix that overruns the field with 3/10', () => {
    const b = hex('08 0a  18 0a 00   ff ff'); // a /24 needs 3 address bytes, the field ends after 2
    const e = thrown(() => decodeIpv4Prefixes(b, 0, 5, false));
    expect(e).toMatchObject({ code: 3, subcode: 10, offset: 2, action: 'reset' });
  });
});

describe('IPv6 NLRI', () => {
  it('decodes prefixes of every length class', () => {
    const got = decode6(V6_FIELD);
    expect(got.afi).toBe(2);
    expect(got.prefixes.map(formatIpv6Key)).toEqual(V6_TEXT);
    expect(got.prefixes).toEqual(v6(...V6_TEXT));
  });

  it('ignores trailing host bits', () => {
    // /122 keeps the top 2 bits of the last byte 0x7f; /33 keeps the top bit of the fifth byte 0xff
    const got = decode6('7a 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 7f   21 20 01 0d b8 ff');
    expect(got.prefixes.map(formatIpv6Key)).toEqual(['2001:db8::40/122', '2001:db8:8000::/33']);
  });

  it('encodes to the same bytes, also after junk', () => {
    const list: Ipv6Prefixes = { afi: 2, prefixes: v6(...V6_TEXT) };
    const out = encodeAfterJunk(7, (w) => writePrefixes(w, list, false));
    expect(out.junkIntact).toBe(true);
    expect(toHex(out.written)).toBe(toHex(hex(V6_FIELD)));
    expect(prefixesSize(list, false)).toBe(hex(V6_FIELD).length);
    expect(ipv6PrefixSize(v6('2001:db8::40/122')[0]!, false)).toBe(17);
    expect(ipv6PrefixSize(v6('2001:db8::40/122')[0]!, true)).toBe(21);
  });

  it('rejects a prefix length over 128 with 3/10', () => {
    const e = thrown(() => decode6('20 20 01 0d b8  81 00'));
    expect(e).toBeInstanceOf(UpdateMessageError);
    expect(e).toMatchObject({ code: 3, subcode: 10, offset: 5, action: 'reset' });
  });

  it('rejects a prefix that overruns the field with 3/10', () => {
    const e = thrown(() => decode6('40 20 01 0d b8'));
    expect(e).toMatchObject({ code: 3, subcode: 10, offset: 0 });
  });
});

describe('ADD-PATH (RFC 7911)', () => {
  const V4_ADDPATH = `
    00 00 00 01  18 c0 a8 01       # path 1: 192.168.1.0/24
    00 00 00 02  18 c0 a8 01       # path 2: the same prefix
    ff ff ff fe  08 0a             # path 4294967294: 10.0.0.0/8
  `;

  it('decodes a path identifier in front of each IPv4 prefix', () => {
    const got = decode4(V4_ADDPATH, true);
    expect(got.prefixes.map(formatIpv4Key)).toEqual(['192.168.1.0/24', '192.168.1.0/24', '10.0.0.0/8']);
    expect(got.pathIds).toEqual([1, 2, 0xfffffffe]);
  });

  it('encodes IPv4 path identifiers back to the same bytes', () => {
    const list: Ipv4Prefixes = {
      afi: 1,
      prefixes: v4('192.168.1.0/24', '192.168.1.0/24', '10.0.0.0/8'),
      pathIds: [1, 2, 0xfffffffe],
    };
    const out = encodeAfterJunk(2, (w) => writePrefixes(w, list, true));
    expect(toHex(out.written)).toBe(toHex(hex(V4_ADDPATH)));
    expect(prefixesSize(list, true)).toBe(hex(V4_ADDPATH).length);
  });

  it('decodes and encodes IPv6 path identifiers', () => {
    const field = `
      00 00 00 07  40 20 01 0d b8 00 00 00 01   # path 7: 2001:db8:0:1::/64
      00 00 00 00  00                            # path 0: ::/0
    `;
    const got = decode6(field, true);
    expect(got.prefixes.map(formatIpv6Key)).toEqual(['2001:db8:0:1::/64', '::/0']);
    expect(got.pathIds).toEqual([7, 0]);
    expect(toHex(encodeAfterJunk(1, (w) => writePrefixes(w, got, true)).written)).toBe(toHex(hex(field)));
  });

  it('writes path identifier 0 for a list without identifiers, and none when ADD-PATH is off', () => {
    const plain: Ipv4Prefixes = { afi: 1, prefixes: v4('10.0.0.0/8') };
    expect(toHex(encodeAfterJunk(0, (w) => writePrefixes(w, plain, true)).written)).toBe('00000000080a');
    const withIds: Ipv4Prefixes = { afi: 1, prefixes: v4('10.0.0.0/8'), pathIds: [9] };
    expect(toHex(encodeAfterJunk(0, (w) => writePrefixes(w, withIds, false)).written)).toBe('080a');
  });

  it('rejects a path identifier that overruns the field, or one without a prefix, with 3/10', () => {
    expect(thrown(() => decode4('00 00 01', true))).toMatchObject({ code: 3, subcode: 10, offset: 0 });
    expect(thrown(() => decode4('00 00 00 01', true))).toMatchObject({ code: 3, subcode: 10, offset: 4 });
    expect(thrown(() => decode6('00 00 00 01', true))).toMatchObject({ code: 3, subcode: 10, offset: 4 });
  });

  it('reads path identifiers as prefixes when ADD-PATH is off, so the same bytes fail', () => {
    // 00 00 00 01 18 c0 a8 01 without ADD-PATH: /0, /0, /0, then /1 with address byte 0x18, then /192
    expect(thrown(() => decode4('00 00 00 01  18 c0 a8 01', false))).toMatchObject({
      subcode: 10,
      offset: 5,
    });
  });
});
