// Every path attribute (RFC 4271 4.3, RFC 1997, RFC 4360, RFC 4456, RFC 4760, RFC 5701, RFC 6793,
// RFC 8092, RFC 8950): decoding of hand-written bytes, encoding (also at an offset), round trips, the
// canonical order and Extended Length rule of the encoder, and that encoders never mutate their input.
//
// Each case is the attribute bytes as commented hex; a whole UPDATE around them is built by the test
// helpers (no NLRI, so no well-known attribute is mandatory) and decoded through decodeMessage.

import { describe, expect, it } from 'vitest';
import { encodeAttributes } from '../../src/bgp/messages/attributes/table.js';
import type { PathAttributes } from '../../src/bgp/messages/attributes/types.js';
import { type CodecContext, makeContext } from '../../src/bgp/messages/context.js';
import { familyKey } from '../../src/bgp/messages/iana.js';
import type { UpdateMessage } from '../../src/bgp/messages/update.js';
import {
  attr,
  decodeUpdateBytes,
  deepFreeze,
  encodeAfterJunk,
  hex,
  join,
  toHex,
  updateBody,
  updateMessage,
  v4Prefix,
  v6Prefix,
} from '../helpers/bytes.js';

const AS4 = makeContext();
const AS2 = makeContext({ as4: false });

/** Decodes an UPDATE whose path attributes are `attrs` (and NLRI `nlri`). */
function decodeWith(attrs: string | Uint8Array, ctx: CodecContext = AS4, nlri = ''): UpdateMessage {
  return decodeUpdateBytes(updateMessage(updateBody('', attrs, nlri)), ctx);
}

/** The attribute bytes `encodeAttributes` writes, written after 11 junk bytes. */
function encodeAttrs(a: PathAttributes, ctx: CodecContext = AS4): Uint8Array {
  const out = encodeAfterJunk(11, (w) => encodeAttributes(a, w, ctx));
  expect(out.junkIntact).toBe(true);
  return out.written;
}

/** The type codes of the attributes in `bytes`, in order (a tiny independent walker). */
function attributeCodes(bytes: Uint8Array): number[] {
  const codes: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const ext = (bytes[i]! & 0x10) !== 0;
    codes.push(bytes[i + 1]!);
    const len = ext ? (bytes[i + 2]! << 8) | bytes[i + 3]! : bytes[i + 2]!;
    i += (ext ? 4 : 3) + len;
  }
  return codes;
}

const NH6 = '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01'; // 2001:db8::1
const LL6 = 'fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01'; // fe80::1

interface Case {
  readonly name: string;
  readonly bytes: string;
  readonly attrs: PathAttributes;
  readonly ctx?: CodecContext;
}

/** Attributes whose canonical encoding is exactly the bytes they decode from. */
const CASES: readonly Case[] = [
  { name: 'ORIGIN IGP', bytes: '40 01 01 00', attrs: { origin: 0 } },
  { name: 'ORIGIN EGP', bytes: '40 01 01 01', attrs: { origin: 1 } },
  { name: 'ORIGIN INCOMPLETE', bytes: '40 01 01 02', attrs: { origin: 2 } },
  {
    name: 'AS_PATH, 4-octet: AS_SEQUENCE and AS_SET',
    bytes: `
      40 02 18                              # well-known transitive, type 2, 24 bytes
      02 03 0000fde8 0000fde9 fa56ea01      # AS_SEQUENCE 65000 65001 4200000001
      01 02 0000fdea 0000fdeb               # AS_SET {65002 65003}
    `,
    attrs: {
      asPath: [
        { type: 2, asns: [65000, 65001, 4200000001] },
        { type: 1, asns: [65002, 65003] },
      ],
    },
  },
  {
    name: 'AS_PATH, 4-octet: confederation segments (RFC 5065)',
    bytes: `
      40 02 24
      03 02 0000fc00 0000fc01               # AS_CONFED_SEQUENCE 64512 64513
      04 01 0000fc02                        # AS_CONFED_SET {64514}
      02 02 0000fde8 fa56ea01               # AS_SEQUENCE 65000 4200000001
      01 02 0000fdea 0000fdeb               # AS_SET {65002 65003}
    `,
    attrs: {
      asPath: [
        { type: 3, asns: [64512, 64513] },
        { type: 4, asns: [64514] },
        { type: 2, asns: [65000, 4200000001] },
        { type: 1, asns: [65002, 65003] },
      ],
    },
  },
  {
    name: 'AS_PATH, 2-octet session',
    ctx: AS2,
    bytes: `
      40 02 0c
      02 02 fde8 fde9                       # AS_SEQUENCE 65000 65001
      01 02 fdea fdeb                       # AS_SET {65002 65003}
    `,
    attrs: {
      asPath: [
        { type: 2, asns: [65000, 65001] },
        { type: 1, asns: [65002, 65003] },
      ],
    },
  },
  {
    name: 'AS_PATH, 2-octet session: confederation segments',
    ctx: AS2,
    bytes: `
      40 02 0e
      03 01 fc00                            # AS_CONFED_SEQUENCE 64512
      04 02 fc01 fc02                       # AS_CONFED_SET {64513 64514}
      02 01 fde8                            # AS_SEQUENCE 65000
    `,
    attrs: {
      asPath: [
        { type: 3, asns: [64512] },
        { type: 4, asns: [64513, 64514] },
        { type: 2, asns: [65000] },
      ],
    },
  },
  { name: 'AS_PATH empty (iBGP)', bytes: '40 02 00', attrs: { asPath: [] } },
  { name: 'NEXT_HOP', bytes: '40 03 04 c0 00 02 01', attrs: { nextHop: '192.0.2.1' } },
  { name: 'MULTI_EXIT_DISC', bytes: '80 04 04 00 00 00 64', attrs: { med: 100 } },
  { name: 'MULTI_EXIT_DISC max', bytes: '80 04 04 ff ff ff ff', attrs: { med: 0xffffffff } },
  { name: 'LOCAL_PREF', bytes: '40 05 04 00 00 00 c8', attrs: { localPref: 200 } },
  { name: 'ATOMIC_AGGREGATE', bytes: '40 06 00', attrs: { atomicAggregate: true } },
  {
    name: 'AGGREGATOR, 4-octet',
    bytes: 'c0 07 08  fa56ea01  c0 00 02 01', // AS 4200000001, 192.0.2.1
    attrs: { aggregator: { as: 4200000001, address: '192.0.2.1' } },
  },
  {
    name: 'AGGREGATOR, 2-octet session',
    ctx: AS2,
    bytes: 'c0 07 06  fde8  c0 00 02 01', // AS 65000, 192.0.2.1
    attrs: { aggregator: { as: 65000, address: '192.0.2.1' } },
  },
  {
    name: 'COMMUNITIES',
    bytes: 'c0 08 0c  fde80064  ffffff01  00000000', // 65000:100, NO_EXPORT, 0:0
    attrs: { communities: [0xfde80064, 0xffffff01, 0] },
  },
  { name: 'ORIGINATOR_ID', bytes: '80 09 04 0a 00 00 01', attrs: { originatorId: '10.0.0.1' } },
  {
    name: 'CLUSTER_LIST',
    bytes: '80 0a 08  0a 00 00 01  ac 10 00 01',
    attrs: { clusterList: ['10.0.0.1', '172.16.0.1'] },
  },
  {
    name: 'MP_REACH_NLRI IPv4 unicast',
    bytes: `
      80 0e 0f                              # optional non-transitive, type 14, 15 bytes
      0001 01                               # AFI 1, SAFI 1
      04 c0000201                           # next hop 192.0.2.1
      00                                    # reserved
      18 c0a801  08 0a                      # 192.168.1.0/24, 10.0.0.0/8
    `,
    attrs: {
      mpReach: {
        kind: 'unicast',
        afi: 1,
        safi: 1,
        nextHop: '192.0.2.1',
        nlri: { afi: 1, prefixes: [v4Prefix('192.168.1.0/24'), v4Prefix('10.0.0.0/8')] },
      },
    },
  },
  {
    name: 'MP_REACH_NLRI IPv6 unicast',
    bytes: `
      80 0e 1a
      0002 01                               # AFI 2, SAFI 1
      10 ${NH6}                             # next hop 2001:db8::1
      00
      20 20010db8                           # 2001:db8::/32
    `,
    attrs: {
      mpReach: {
        kind: 'unicast',
        afi: 2,
        safi: 1,
        nextHop: '2001:db8::1',
        nlri: { afi: 2, prefixes: [v6Prefix('2001:db8::/32')] },
      },
    },
  },
  {
    name: 'MP_REACH_NLRI IPv6 with global + link-local next hop (RFC 2545 3)',
    bytes: `
      80 0e 2e
      0002 01
      20 ${NH6} ${LL6}                      # 32 bytes: 2001:db8::1 and fe80::1
      00
      40 20010db8 00000001                  # 2001:db8:0:1::/64
    `,
    attrs: {
      mpReach: {
        kind: 'unicast',
        afi: 2,
        safi: 1,
        nextHop: '2001:db8::1',
        linkLocalNextHop: 'fe80::1',
        nlri: { afi: 2, prefixes: [v6Prefix('2001:db8:0:1::/64')] },
      },
    },
  },
  {
    name: 'MP_REACH_NLRI IPv4 NLRI with an IPv6 next hop (RFC 8950)',
    bytes: `
      80 0e 19
      0001 01                               # AFI 1, SAFI 1
      10 ${NH6}                             # 16-byte next hop 2001:db8::1
      00
      18 c0a801                             # 192.168.1.0/24
    `,
    attrs: {
      mpReach: {
        kind: 'unicast',
        afi: 1,
        safi: 1,
        nextHop: '2001:db8::1',
        nlri: { afi: 1, prefixes: [v4Prefix('192.168.1.0/24')] },
      },
    },
  },
  {
    name: 'MP_REACH_NLRI flowspec 1/133 kept opaque',
    bytes: `
      80 0e 0b
      0001 85                               # AFI 1, SAFI 133
      00                                    # no next hop
      00
      05 01 18 c0a801                       # NLRI: length 5, destination prefix 192.168.1.0/24
    `,
    attrs: {
      mpReach: {
        kind: 'opaque',
        afi: 1,
        safi: 133,
        nextHop: new Uint8Array(0),
        nlri: hex('05 01 18 c0a801'),
      },
    },
  },
  {
    name: 'MP_REACH_NLRI VPNv4 1/128 kept opaque',
    bytes: `
      80 0e 20
      0001 80                               # AFI 1, SAFI 128
      0c 0000000000000000 c0000201          # next hop: RD 0, 192.0.2.1
      00
      70 000641 0000fde800000064 c0a801     # /112: label 100 BoS, RD 65000:100, 192.168.1.0/24
    `,
    attrs: {
      mpReach: {
        kind: 'opaque',
        afi: 1,
        safi: 128,
        nextHop: hex('0000000000000000 c0000201'),
        nlri: hex('70 000641 0000fde800000064 c0a801'),
      },
    },
  },
  {
    name: 'MP_UNREACH_NLRI IPv4 unicast',
    bytes: '80 0f 07  0001 01  18 c0a801',
    attrs: {
      mpUnreach: {
        kind: 'unicast',
        afi: 1,
        safi: 1,
        withdrawn: { afi: 1, prefixes: [v4Prefix('192.168.1.0/24')] },
      },
    },
  },
  {
    name: 'MP_UNREACH_NLRI IPv6 unicast',
    bytes: '80 0f 08  0002 01  20 20010db8',
    attrs: {
      mpUnreach: {
        kind: 'unicast',
        afi: 2,
        safi: 1,
        withdrawn: { afi: 2, prefixes: [v6Prefix('2001:db8::/32')] },
      },
    },
  },
  {
    name: 'MP_UNREACH_NLRI flowspec kept opaque',
    bytes: '80 0f 09  0001 85  05 01 18 c0a801',
    attrs: { mpUnreach: { kind: 'opaque', afi: 1, safi: 133, withdrawn: hex('05 01 18 c0a801') } },
  },
  {
    name: 'EXTENDED_COMMUNITIES',
    bytes: `
      c0 10 10
      0002 fde8 00000064                    # route target 65000:100
      0102 c0000201 0064                    # route target 192.0.2.1:100
    `,
    attrs: { extendedCommunities: [0x0002fde800000064n, 0x0102c00002010064n] },
  },
  {
    name: 'IPv6 Address Specific Extended Community (RFC 5701)',
    bytes: `
      c0 19 28
      00 02 ${NH6} 0064                     # type 0, subtype 2, 2001:db8::1, 100
      40 03 ${LL6} ffff                     # type 0x40, subtype 3, fe80::1, 65535
    `,
    attrs: {
      ipv6ExtendedCommunities: [
        { type: 0, subtype: 2, address: '2001:db8::1', localAdmin: 100 },
        { type: 0x40, subtype: 3, address: 'fe80::1', localAdmin: 65535 },
      ],
    },
  },
  {
    name: 'LARGE_COMMUNITY',
    bytes: `
      c0 20 18
      fa56ea01 00000001 00000002            # 4200000001:1:2
      0000fde8 ffffffff 00000000            # 65000:4294967295:0
    `,
    attrs: {
      largeCommunities: [
        { globalAdmin: 4200000001, localData1: 1, localData2: 2 },
        { globalAdmin: 65000, localData1: 0xffffffff, localData2: 0 },
      ],
    },
  },
  {
    name: 'unknown optional transitive with Partial already set',
    bytes: 'e0 63 03 010203',
    attrs: { unknown: [{ flags: 0xe0, code: 99, value: hex('010203') }] },
  },
  {
    name: 'AS4_PATH and AS4_AGGREGATOR on a 2-octet session (RFC 6793 4.2.2)',
    ctx: AS2,
    bytes: `
      40 02 08  02 03 fde8 5ba0 5ba0                      # AS_PATH 65000 23456 23456
      c0 07 06  5ba0 c0000201                             # AGGREGATOR AS_TRANS, 192.0.2.1
      c0 11 0e  02 03 0000fde8 fa56ea01 fa56ea02          # AS4_PATH 65000 4200000001 4200000002
      c0 12 08  fa56ea01 c0000201                         # AS4_AGGREGATOR 4200000001, 192.0.2.1
    `,
    attrs: {
      asPath: [{ type: 2, asns: [65000, 4200000001, 4200000002] }],
      aggregator: { as: 4200000001, address: '192.0.2.1' },
    },
  },
  {
    name: 'AS4_PATH on a 2-octet session leaves out confederation segments',
    ctx: AS2,
    bytes: `
      40 02 0a  03 01 fc00  02 02 fde8 5ba0               # AS_PATH (64512) 65000 23456
      c0 11 0a  02 02 0000fde8 fa56ea01                   # AS4_PATH 65000 4200000001
    `,
    attrs: {
      asPath: [
        { type: 3, asns: [64512] },
        { type: 2, asns: [65000, 4200000001] },
      ],
    },
  },
];

describe('each attribute', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      const ctx = c.ctx ?? AS4;

      it('decodes from hand-written bytes', () => {
        const m = decodeWith(c.bytes, ctx);
        if (c.attrs.mpReach === undefined) {
          expect(m.problems).toBeUndefined();
        } else {
          // it announces routes without ORIGIN and AS_PATH: RFC 7606 3.d treat-as-withdraw
          expect(m.problems?.map((p) => [p.action, p.error.subcode, p.error.data[0]])).toEqual([
            ['withdraw', 3, 1],
            ['withdraw', 3, 2],
          ]);
        }
        expect(m.attributes).toEqual(c.attrs);
      });

      it('encodes to the same bytes, after junk', () => {
        expect(toHex(encodeAttrs(c.attrs, ctx))).toBe(toHex(hex(c.bytes)));
      });

      it('survives encode -> decode', () => {
        expect(decodeWith(encodeAttrs(c.attrs, ctx), ctx).attributes).toEqual(c.attrs);
      });

      it('encodes a deep-frozen input without changing it', () => {
        const frozen = deepFreeze(structuredClone(c.attrs));
        expect(toHex(encodeAttrs(frozen, ctx))).toBe(toHex(hex(c.bytes)));
        expect(frozen).toEqual(c.attrs);
      });
    });
  }
});

describe('AS_PATH segments', () => {
  const many = Array.from({ length: 300 }, (_, i) => 100000 + i);
  const as4Hex = (asns: readonly number[]): string =>
    asns.map((a) => a.toString(16).padStart(8, '0')).join('');
  const as2Hex = (asns: readonly number[]): string =>
    asns.map((a) => a.toString(16).padStart(4, '0')).join('');

  it('splits a segment of more than 255 ASes into segments of at most 255 (4-octet)', () => {
    const value = `02 ff ${as4Hex(many.slice(0, 255))}  02 2d ${as4Hex(many.slice(255))}`;
    const expected = join('50 02 04 b4', value); // 2 + 1020 + 2 + 180 = 1204 bytes: Extended Length
    const out = encodeAttrs({ asPath: [{ type: 2, asns: many }] });
    expect(toHex(out)).toBe(toHex(expected));
    expect(decodeWith(out).attributes.asPath).toEqual([
      { type: 2, asns: many.slice(0, 255) },
      { type: 2, asns: many.slice(255) },
    ]);
  });

  it('splits long AS_SETs too, and on a 2-octet session', () => {
    const small = many.map((a) => a - 100000 + 1000);
    const value = `01 ff ${as2Hex(small.slice(0, 255))}  01 2d ${as2Hex(small.slice(255))}`;
    const out = encodeAttrs({ asPath: [{ type: 1, asns: small }] }, AS2);
    expect(toHex(out)).toBe(toHex(join('50 02 02 5c', value))); // 2 + 510 + 2 + 90 = 604
  });

  it('keeps a segment of exactly 255 ASes whole', () => {
    const asns = many.slice(0, 255);
    const out = encodeAttrs({ asPath: [{ type: 2, asns }] });
    expect(toHex(out)).toBe(toHex(join('50 02 03 fe 02 ff', as4Hex(asns))));
  });
});

describe('AS4_PATH / AS4_AGGREGATOR on a 2-octet session (RFC 6793)', () => {
  it('writes no AS4 attributes when every AS fits 2 octets', () => {
    const a: PathAttributes = {
      asPath: [{ type: 2, asns: [65000, 65001] }],
      aggregator: { as: 65001, address: '10.0.0.1' },
    };
    expect(toHex(encodeAttrs(a, AS2))).toBe(toHex(hex('40 02 06 02 02 fde8 fde9   c0 07 06 fde9 0a000001')));
  });

  it('writes AS4_AGGREGATOR alone when only the aggregator needs 4 octets', () => {
    const a: PathAttributes = {
      asPath: [{ type: 2, asns: [65000] }],
      aggregator: { as: 70000, address: '10.0.0.1' },
    };
    expect(toHex(encodeAttrs(a, AS2))).toBe(
      toHex(hex('40 02 04 02 01 fde8   c0 07 06 5ba0 0a000001   c0 12 08 00011170 0a000001')),
    );
  });

  it('writes the real ASes and no AS4 attributes on a 4-octet session', () => {
    const a: PathAttributes = {
      asPath: [{ type: 2, asns: [4200000001] }],
      aggregator: { as: 4200000001, address: '10.0.0.1' },
    };
    expect(attributeCodes(encodeAttrs(a, AS4))).toEqual([2, 7]);
  });

  it('merges a shorter AS4_PATH behind the leading ASes of AS_PATH (4.2.3)', () => {
    const m = decodeWith(
      `
      40 02 08  02 03 fdf2 fde8 5ba0          # AS_PATH 65010 65000 23456
      c0 11 0a  02 02 0000fde8 fa56ea01       # AS4_PATH 65000 4200000001
    `,
      AS2,
    );
    expect(m.problems).toBeUndefined();
    expect(m.attributes).toEqual({ asPath: [{ type: 2, asns: [65010, 65000, 4200000001] }] });
  });

  it('counts an AS_SET as one AS when merging', () => {
    const m = decodeWith(
      `
      40 02 0c  01 02 fdf2 fdf3  02 02 fde8 5ba0   # AS_PATH {65010 65011} 65000 23456
      c0 11 0a  02 02 0000fde8 fa56ea01            # AS4_PATH 65000 4200000001
    `,
      AS2,
    );
    expect(m.attributes.asPath).toEqual([
      { type: 1, asns: [65010, 65011] },
      { type: 2, asns: [65000, 4200000001] },
    ]);
  });

  it('ignores AS4_PATH when AS_PATH holds fewer ASes', () => {
    const m = decodeWith(
      `
      40 02 04  02 01 5ba0                    # AS_PATH 23456
      c0 11 0a  02 02 0000fde8 fa56ea01       # AS4_PATH 65000 4200000001
    `,
      AS2,
    );
    expect(m.attributes).toEqual({ asPath: [{ type: 2, asns: [23456] }] });
  });

  it('ignores AS4_PATH and AS4_AGGREGATOR when AGGREGATOR is not AS_TRANS', () => {
    const m = decodeWith(
      `
      40 02 04  02 01 5ba0                    # AS_PATH 23456
      c0 07 06  fde9 c0000201                 # AGGREGATOR 65001, 192.0.2.1
      c0 11 06  02 01 fa56ea01                # AS4_PATH 4200000001
      c0 12 08  fa56ea01 0a000001             # AS4_AGGREGATOR 4200000001, 10.0.0.1
    `,
      AS2,
    );
    expect(m.attributes).toEqual({
      asPath: [{ type: 2, asns: [23456] }],
      aggregator: { as: 65001, address: '192.0.2.1' },
    });
  });

  it('uses AS4_PATH when there is no AGGREGATOR', () => {
    const m = decodeWith('40 02 04 02 01 5ba0   c0 11 06 02 01 fa56ea01', AS2);
    expect(m.attributes).toEqual({ asPath: [{ type: 2, asns: [4200000001] }] });
  });
});

describe('unknown attributes', () => {
  it('keeps an unknown optional transitive attribute and sets Partial', () => {
    const m = decodeWith('c0 63 03 010203');
    expect(m.problems).toBeUndefined();
    expect(m.attributes).toEqual({ unknown: [{ flags: 0xe0, code: 99, value: hex('010203') }] });
    expect(toHex(encodeAttrs(m.attributes))).toBe('e06303010203');
  });

  it('clears Extended Length of a kept attribute and writes the short form when it fits', () => {
    const m = decodeWith('d0 63 00 03 010203');
    expect(m.attributes.unknown).toEqual([{ flags: 0xe0, code: 99, value: hex('010203') }]);
    expect(toHex(encodeAttrs(m.attributes))).toBe('e06303010203');
  });

  it('drops an unknown optional non-transitive attribute quietly', () => {
    const m = decodeWith('80 64 02 abcd  40 01 01 00');
    expect(m.problems).toBeUndefined();
    expect(m.attributes).toEqual({ origin: 0 });
  });

  it('accepts a known attribute written with Extended Length and re-encodes it short', () => {
    const m = decodeWith('50 01 00 01 02');
    expect(m.attributes).toEqual({ origin: 2 });
    expect(toHex(encodeAttrs(m.attributes))).toBe('40010102');
  });
});

describe('canonical encoding', () => {
  const ALL: PathAttributes = {
    largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }],
    unknown: [
      { flags: 0xe0, code: 99, value: hex('63') },
      { flags: 0xe0, code: 11, value: hex('0b') },
      { flags: 0xc0, code: 21, value: hex('15') },
    ],
    ipv6ExtendedCommunities: [{ type: 0, subtype: 2, address: '2001:db8::1', localAdmin: 1 }],
    extendedCommunities: [0x0002fde800000064n],
    clusterList: ['10.0.0.1'],
    originatorId: '10.0.0.2',
    communities: [1],
    aggregator: { as: 65000, address: '10.0.0.3' },
    atomicAggregate: true,
    localPref: 100,
    med: 5,
    nextHop: '192.0.2.1',
    asPath: [{ type: 2, asns: [65000] }],
    origin: 0,
    mpUnreach: {
      kind: 'unicast',
      afi: 2,
      safi: 1,
      withdrawn: { afi: 2, prefixes: [v6Prefix('2001:db8:1::/48')] },
    },
    mpReach: {
      kind: 'unicast',
      afi: 2,
      safi: 1,
      nextHop: '2001:db8::1',
      nlri: { afi: 2, prefixes: [v6Prefix('2001:db8::/32')] },
    },
  };

  it('writes MP_REACH_NLRI and MP_UNREACH_NLRI first, then ascending type codes, unknown ones in place', () => {
    expect(attributeCodes(encodeAttrs(ALL))).toEqual([
      14, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 21, 25, 32, 99,
    ]);
  });

  it('writes AS4 attributes in their place on a 2-octet session', () => {
    const a: PathAttributes = {
      ...ALL,
      asPath: [{ type: 2, asns: [4200000001] }],
      aggregator: { as: 4200000001, address: '10.0.0.3' },
    };
    expect(attributeCodes(encodeAttrs(a, AS2))).toEqual([
      14, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 21, 25, 32, 99,
    ]);
  });

  it('round-trips the whole set and does not touch a frozen input', () => {
    const frozen = deepFreeze(structuredClone(ALL));
    const bytes = encodeAttrs(frozen);
    expect(frozen).toEqual(ALL);
    // decoding sorts the unknown attributes by code and gives them Partial
    const back = decodeWith(bytes).attributes;
    expect(back).toEqual({
      ...ALL,
      unknown: [
        { flags: 0xe0, code: 11, value: hex('0b') },
        { flags: 0xe0, code: 21, value: hex('15') },
        { flags: 0xe0, code: 99, value: hex('63') },
      ],
    });
  });

  it('uses a 1-octet length for a 255-byte value and Extended Length for 256 bytes', () => {
    const v255 = new Uint8Array(255).fill(7);
    const v256 = new Uint8Array(256).fill(7);
    expect(toHex(encodeAttrs({ unknown: [{ flags: 0xe0, code: 99, value: v255 }] }))).toBe(
      toHex(join('e0 63 ff', v255)),
    );
    expect(toHex(encodeAttrs({ unknown: [{ flags: 0xe0, code: 99, value: v256 }] }))).toBe(
      toHex(join('f0 63 01 00', v256)),
    );
  });

  it('applies the same rule to a known attribute (MP_REACH_NLRI of 255 and 256 bytes)', () => {
    // value: AFI, SAFI, next hop length, next hop (4), reserved = 9 bytes, then 49 /32s (245 bytes) and
    // one /0 (1 byte) = 255, or one /8 (2 bytes) = 256
    const hosts = Array.from({ length: 49 }, (_, i) => `10.0.1.${i}/32`);
    const hostHex = Array.from(
      { length: 49 },
      (_, i) => `20 0a 00 01 ${i.toString(16).padStart(2, '0')}`,
    ).join(' ');
    const reach = (last: string): PathAttributes => ({
      mpReach: {
        kind: 'unicast',
        afi: 1,
        safi: 1,
        nextHop: '192.0.2.1',
        nlri: { afi: 1, prefixes: [...hosts, last].map(v4Prefix) },
      },
    });
    const head = '0001 01 04 c0000201 00';
    const short = encodeAttrs(reach('0.0.0.0/0'));
    expect(toHex(short)).toBe(toHex(join('80 0e ff', head, hostHex, '00')));
    const long = encodeAttrs(reach('10.0.0.0/8'));
    expect(toHex(long)).toBe(toHex(join('90 0e 01 00', head, hostHex, '08 0a')));
    expect(decodeWith(long).attributes).toEqual(reach('10.0.0.0/8'));
    // a 255-byte value written with Extended Length decodes the same as the short form
    expect(decodeWith(attr(0x90, 14, short.subarray(3))).attributes).toEqual(reach('0.0.0.0/0'));
  });

  it('leaves out empty lists and a false ATOMIC_AGGREGATE', () => {
    expect(
      encodeAttrs({ communities: [], clusterList: [], largeCommunities: [], atomicAggregate: false }).length,
    ).toBe(0);
  });
});

describe('ADD-PATH in MP attributes (RFC 7911)', () => {
  const ctx = makeContext({ addPath: new Set([familyKey(1, 1), familyKey(2, 1)]) });

  it('decodes and encodes path identifiers in MP_REACH_NLRI and MP_UNREACH_NLRI', () => {
    const bytes = `
      80 0e 27
      0002 01 10 ${NH6} 00
      00000005 20 20010db8                  # path 5: 2001:db8::/32
      00000006 20 20010db8                  # path 6: 2001:db8::/32
      80 0f 0b
      0001 01
      00000007 18 c0a801                    # path 7: 192.168.1.0/24
    `;
    const attrs: PathAttributes = {
      mpReach: {
        kind: 'unicast',
        afi: 2,
        safi: 1,
        nextHop: '2001:db8::1',
        nlri: { afi: 2, prefixes: [v6Prefix('2001:db8::/32'), v6Prefix('2001:db8::/32')], pathIds: [5, 6] },
      },
      mpUnreach: {
        kind: 'unicast',
        afi: 1,
        safi: 1,
        withdrawn: { afi: 1, prefixes: [v4Prefix('192.168.1.0/24')], pathIds: [7] },
      },
    };
    expect(decodeWith(bytes, ctx).attributes).toEqual(attrs);
    expect(toHex(encodeAttrs(attrs, ctx))).toBe(toHex(hex(bytes)));
  });

  it('reads no path identifiers for a family without ADD-PATH', () => {
    const only6 = makeContext({ addPath: new Set([familyKey(2, 1)]) });
    const m = decodeWith('80 0f 07 0001 01 18 c0a801', only6);
    expect(m.attributes.mpUnreach).toEqual({
      kind: 'unicast',
      afi: 1,
      safi: 1,
      withdrawn: { afi: 1, prefixes: [v4Prefix('192.168.1.0/24')] },
    });
  });
});
