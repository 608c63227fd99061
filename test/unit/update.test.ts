// Whole UPDATE messages (RFC 4271 4.3): decoding of hand-written bytes, encoding (also at an offset),
// round trips, frozen inputs, ADD-PATH in the IPv4 fields (RFC 7911), End-of-RIB (RFC 4724 2), and the
// fixtures in fixtures/messages/update-*.hex beside update-*.json.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { messageFromJson, messageToJson } from '../../src/bgp/json/index.js';
import { type CodecContext, makeContext } from '../../src/bgp/messages/context.js';
import { MessageHeaderError } from '../../src/bgp/messages/errors.js';
import { familyKey, IPV4_UNICAST, IPV6_UNICAST } from '../../src/bgp/messages/iana.js';
import { encodeMessage, writeMessage } from '../../src/bgp/messages/message.js';
import { formatIpv4Key } from '../../src/bgp/messages/prefix.js';
import {
  endOfRib,
  endOfRibFamily,
  treatAsWithdraw,
  type UpdateMessage,
} from '../../src/bgp/messages/update.js';
import {
  decodeUpdateBytes,
  deepFreeze,
  encodeAfterJunk,
  hex,
  thrown,
  toHex,
  updateBody,
  updateMessage,
  v4Prefix,
  v6Prefix,
} from '../helpers/bytes.js';

/** Encodes after 13 junk bytes with writeMessage; checks the junk and the reported length. */
function encodeAt(msg: UpdateMessage, ctx?: CodecContext): Uint8Array {
  const out = encodeAfterJunk(13, (w) => writeMessage(msg, w, ctx));
  expect(out.junkIntact).toBe(true);
  expect(out.reported).toBe(out.written.length);
  return out.written;
}

const MARKER = 'ffffffff ffffffff ffffffff ffffffff';

const IPV4_UPDATE = `
  ${MARKER}
  0040 02                               # length 64, type UPDATE
  0004                                  # withdrawn routes length
  18 c0a802                             #   192.168.2.0/24
  001f                                  # total path attribute length 31
  40 01 01 00                           #   ORIGIN IGP
  40 02 0a 02 02 0000fde8 0000fde9      #   AS_PATH 65000 65001
  40 03 04 c0000201                     #   NEXT_HOP 192.0.2.1
  80 04 04 00000064                     #   MED 100
  18 c0a801                             # NLRI 192.168.1.0/24
  08 0a                                 #      10.0.0.0/8
`;

const IPV4_MESSAGE: UpdateMessage = {
  type: 'update',
  withdrawn: { afi: 1, prefixes: [v4Prefix('192.168.2.0/24')] },
  attributes: {
    origin: 0,
    asPath: [{ type: 2, asns: [65000, 65001] }],
    nextHop: '192.0.2.1',
    med: 100,
  },
  nlri: { afi: 1, prefixes: [v4Prefix('192.168.1.0/24'), v4Prefix('10.0.0.0/8')] },
};

const IPV6_UPDATE = `
  ${MARKER}
  0058 02                               # length 88
  0000                                  # no withdrawn routes
  0041                                  # total path attribute length 65
  80 0e 1a                              #   MP_REACH_NLRI, 26 bytes
  0002 01 10 20010db8000000000000000000000001 00   # IPv6 unicast, next hop 2001:db8::1
  20 20010db8                           #     2001:db8::/32
  80 0f 08 0002 01 20 20010db9          #   MP_UNREACH_NLRI 2001:db9::/32
  40 01 01 02                           #   ORIGIN INCOMPLETE
  40 02 06 02 01 0000fde8               #   AS_PATH 65000
  40 05 04 00000064                     #   LOCAL_PREF 100
  e0 63 02 abcd                         #   unknown optional transitive 99, Partial
`;

const IPV6_MESSAGE: UpdateMessage = {
  type: 'update',
  withdrawn: { afi: 1, prefixes: [] },
  attributes: {
    mpReach: {
      kind: 'unicast',
      afi: 2,
      safi: 1,
      nextHop: '2001:db8::1',
      nlri: { afi: 2, prefixes: [v6Prefix('2001:db8::/32')] },
    },
    mpUnreach: {
      kind: 'unicast',
      afi: 2,
      safi: 1,
      withdrawn: { afi: 2, prefixes: [v6Prefix('2001:db9::/32')] },
    },
    origin: 2,
    asPath: [{ type: 2, asns: [65000] }],
    localPref: 100,
    unknown: [{ flags: 0xe0, code: 99, value: hex('abcd') }],
  },
  nlri: { afi: 1, prefixes: [] },
};

describe('UPDATE with IPv4 NLRI', () => {
  it('decodes a hand-written message', () => {
    const m = decodeUpdateBytes(hex(IPV4_UPDATE));
    expect(m).toEqual(IPV4_MESSAGE);
    expect(m.problems).toBeUndefined();
    expect(treatAsWithdraw(m)).toBe(false);
    expect(endOfRibFamily(m)).toBeUndefined();
  });

  it('encodes to the same bytes', () => {
    expect(toHex(encodeMessage(IPV4_MESSAGE))).toBe(toHex(hex(IPV4_UPDATE)));
  });

  it('encodes after junk and reports its length', () => {
    expect(toHex(encodeAt(IPV4_MESSAGE))).toBe(toHex(hex(IPV4_UPDATE)));
  });

  it('encodes a deep-frozen message without changing it', () => {
    const frozen = deepFreeze(structuredClone(IPV4_MESSAGE));
    expect(toHex(encodeMessage(frozen))).toBe(toHex(hex(IPV4_UPDATE)));
    expect(frozen).toEqual(IPV4_MESSAGE);
  });

  it('agrees with the test helper that builds the same message from its parts', () => {
    const built = updateMessage(
      updateBody(
        '18 c0a802',
        '40 01 01 00  40 02 0a 02 02 0000fde8 0000fde9  40 03 04 c0000201  80 04 04 00000064',
        '18 c0a801 08 0a',
      ),
    );
    expect(toHex(built)).toBe(toHex(hex(IPV4_UPDATE)));
  });
});

describe('UPDATE with MP attributes', () => {
  it('decodes a hand-written message', () => {
    const m = decodeUpdateBytes(hex(IPV6_UPDATE));
    expect(m).toEqual(IPV6_MESSAGE);
    expect(treatAsWithdraw(m)).toBe(false);
  });

  it('encodes to the same bytes, also after junk', () => {
    expect(toHex(encodeMessage(IPV6_MESSAGE))).toBe(toHex(hex(IPV6_UPDATE)));
    expect(toHex(encodeAt(IPV6_MESSAGE))).toBe(toHex(hex(IPV6_UPDATE)));
  });

  it('round-trips a message with every kind of field', () => {
    const msg: UpdateMessage = {
      type: 'update',
      withdrawn: { afi: 1, prefixes: [v4Prefix('172.16.0.0/12'), v4Prefix('0.0.0.0/0')] },
      attributes: {
        ...IPV6_MESSAGE.attributes,
        nextHop: '10.0.0.1',
        atomicAggregate: true,
        aggregator: { as: 4200000001, address: '10.0.0.2' },
        communities: [0xfde80001],
        originatorId: '10.0.0.3',
        clusterList: ['10.0.0.4', '10.0.0.5'],
        extendedCommunities: [0x0002fde800000001n],
        largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }],
      },
      nlri: { afi: 1, prefixes: [v4Prefix('10.9.8.0/24')] },
    };
    const frozen = deepFreeze(structuredClone(msg));
    expect(decodeUpdateBytes(encodeMessage(frozen))).toEqual(msg);
    expect(decodeUpdateBytes(encodeAt(frozen))).toEqual(msg);
  });
});

describe('UPDATE that only withdraws', () => {
  const WITHDRAW = `
    ${MARKER} 001e 02
    0007 10 ac10  18 c0a801               # withdrawn 172.16.0.0/16, 192.168.1.0/24
    0000                                  # no attributes, no NLRI
  `;

  it('needs no attributes and is not End-of-RIB', () => {
    const m = decodeUpdateBytes(hex(WITHDRAW));
    expect(m.withdrawn.prefixes.map(formatIpv4Key)).toEqual(['172.16.0.0/16', '192.168.1.0/24']);
    expect(m.attributes).toEqual({});
    expect(m.nlri.prefixes).toEqual([]);
    expect(m.problems).toBeUndefined();
    expect(endOfRibFamily(m)).toBeUndefined();
    expect(toHex(encodeMessage(m))).toBe(toHex(hex(WITHDRAW)));
  });
});

describe('ADD-PATH in the IPv4 fields (RFC 7911)', () => {
  const ctx = makeContext({ addPath: new Set([familyKey(1, 1), familyKey(2, 1)]) });
  const ADDPATH = `
    ${MARKER} 0043 02                     # length 67
    0008                                  # withdrawn routes length 8
    00000003 18 c0a802                    #   path 3: 192.168.2.0/24
    000e                                  # total path attribute length 14
    40 01 01 00  40 02 00  40 03 04 c0000201   # ORIGIN IGP, empty AS_PATH, NEXT_HOP 192.0.2.1
    00000001 18 c0a801                    # NLRI path 1: 192.168.1.0/24
    00000002 18 c0a801                    #      path 2: 192.168.1.0/24
    ffffffff 08 0a                        #      path 4294967295: 10.0.0.0/8
  `;
  const MSG: UpdateMessage = {
    type: 'update',
    withdrawn: { afi: 1, prefixes: [v4Prefix('192.168.2.0/24')], pathIds: [3] },
    attributes: { origin: 0, asPath: [], nextHop: '192.0.2.1' },
    nlri: {
      afi: 1,
      prefixes: [v4Prefix('192.168.1.0/24'), v4Prefix('192.168.1.0/24'), v4Prefix('10.0.0.0/8')],
      pathIds: [1, 2, 0xffffffff],
    },
  };

  it('decodes path identifiers in the withdrawn and NLRI fields', () => {
    expect(decodeUpdateBytes(hex(ADDPATH), ctx)).toEqual(MSG);
  });

  it('encodes them back to the same bytes, also after junk', () => {
    expect(toHex(encodeMessage(MSG, ctx))).toBe(toHex(hex(ADDPATH)));
    expect(toHex(encodeAt(MSG, ctx))).toBe(toHex(hex(ADDPATH)));
  });

  it('leaves path identifiers out when ADD-PATH is not negotiated for IPv4', () => {
    const v6only = makeContext({ addPath: new Set([familyKey(2, 1)]) });
    const bytes = encodeMessage(MSG, v6only);
    const m = decodeUpdateBytes(bytes, v6only);
    expect(m.nlri).toEqual({ afi: 1, prefixes: MSG.nlri.prefixes });
    expect(m.withdrawn).toEqual({ afi: 1, prefixes: MSG.withdrawn.prefixes });
  });

  it('cannot read ADD-PATH bytes without ADD-PATH: the withdrawn field is then invalid (3/10)', () => {
    // 00 00 00 03 18 c0 a8 02 read as prefixes: /0 /0 /0 /3 (one byte 0x18), then /192
    expect(thrown(() => decodeUpdateBytes(hex(ADDPATH)))).toMatchObject({ code: 3, subcode: 10, offset: 26 });
  });
});

describe('End-of-RIB (RFC 4724 2)', () => {
  const EOR4 = `${MARKER} 0017 02  0000 0000`;
  const EOR6 = `
    ${MARKER} 001d 02
    0000 0006
    80 0f 03 0002 01                      # MP_UNREACH_NLRI, AFI 2, SAFI 1, nothing withdrawn
  `;

  it('IPv4 unicast: an empty UPDATE of 23 bytes', () => {
    const bytes = encodeMessage(endOfRib(1, 1));
    expect(bytes.length).toBe(23);
    expect(toHex(bytes)).toBe(toHex(hex(EOR4)));
    expect(endOfRibFamily(decodeUpdateBytes(hex(EOR4)))).toBe(IPV4_UNICAST);
  });

  it('IPv6 unicast: an UPDATE holding only an empty MP_UNREACH_NLRI', () => {
    expect(toHex(encodeMessage(endOfRib(2, 1)))).toBe(toHex(hex(EOR6)));
    const m = decodeUpdateBytes(hex(EOR6));
    expect(endOfRibFamily(m)).toBe(IPV6_UNICAST);
    expect(m.problems).toBeUndefined();
  });

  it('another family: an empty opaque MP_UNREACH_NLRI', () => {
    const eor = endOfRib(1, 133);
    expect(toHex(encodeMessage(eor))).toBe(toHex(hex(`${MARKER} 001d 02 0000 0006 80 0f 03 0001 85`)));
    expect(endOfRibFamily(decodeUpdateBytes(encodeMessage(eor)))).toBe(familyKey(1, 133));
  });

  it('is not an UPDATE that withdraws, announces or carries another attribute', () => {
    const notEor = [
      updateBody('08 0a', ''), // withdraws 10.0.0.0/8
      updateBody('', '80 0f 04 0002 01 00'), // MP_UNREACH withdrawing ::/0
      updateBody('', '80 0f 03 0002 01  40 01 01 00'), // MP_UNREACH plus ORIGIN
      updateBody('', '40 01 01 00'), // ORIGIN alone
    ];
    for (const body of notEor) expect(endOfRibFamily(decodeUpdateBytes(updateMessage(body)))).toBeUndefined();
  });

  it('is not an UPDATE longer than the minimum whose only attribute was discarded (RFC 4724 2: "minimum length")', () => {
    // AGGREGATOR of 7 bytes on a 4-octet session: malformed, attribute-discard (RFC 7606 7.7). What is
    // left looks like an empty UPDATE, but the message was 33 bytes, not 23: not an End-of-RIB marker.
    const m = decodeUpdateBytes(updateMessage(updateBody('', 'c0 07 07 0000fde8 0a0000')));
    expect(m.problems?.map((p) => p.action)).toEqual(['discard']);
    expect(endOfRibFamily(m)).toBeUndefined();
  });

  it('is not an UPDATE longer than the minimum holding only an unknown non-transitive attribute', () => {
    // attribute 100, optional non-transitive, is dropped quietly (RFC 4271 5): 28 bytes, not 23
    const m = decodeUpdateBytes(updateMessage(updateBody('', '80 64 02 abcd')));
    expect(m.problems).toBeUndefined();
    expect(endOfRibFamily(m)).toBeUndefined();
  });
});

describe('message size', () => {
  const many: UpdateMessage = {
    type: 'update',
    withdrawn: { afi: 1, prefixes: [] },
    attributes: { origin: 0, asPath: [], nextHop: '192.0.2.1' },
    // 1100 /24s: 4400 bytes of NLRI
    nlri: {
      afi: 1,
      prefixes: Array.from({ length: 1100 }, (_, i) => v4Prefix(`10.${i >> 8}.${i & 255}.0/24`)),
    },
  };

  it('refuses to write an UPDATE over 4096 bytes and leaves the writer where it was', () => {
    const out = encodeAfterJunk(3, (w) => {
      expect(() => writeMessage(many, w)).toThrow(RangeError);
      return w.pos;
    });
    expect(out.reported).toBe(3);
  });

  it('writes it with the Extended Message capability (RFC 8654), and only such a session reads it', () => {
    const ext = makeContext({ extendedMessage: true });
    const bytes = encodeMessage(many, ext);
    expect(bytes.length).toBe(19 + 4 + 14 + 4400);
    expect(decodeUpdateBytes(bytes, ext)).toEqual(many);
    const e = thrown(() => decodeUpdateBytes(bytes));
    expect(e).toBeInstanceOf(MessageHeaderError);
    expect(e).toMatchObject({ code: 1, subcode: 2 });
  });
});

// Fixtures: fixtures/messages/update-<name>.hex holds one whole message as hex on one line, written by
// hand from the RFC layout; update-<name>.json beside it is what messageToJson gives for it, pretty-
// printed with 2 spaces. The session context is in the name: `-as2` means a 2-octet AS session
// (as4: false), `-addpath` means ADD-PATH for IPv4 and IPv6 unicast; any other name, the default context.
describe('fixtures/messages/update-*', () => {
  const dir = new URL('../../fixtures/messages/', import.meta.url);
  const names = readdirSync(dir)
    .filter((f) => f.startsWith('update-') && f.endsWith('.hex'))
    .map((f) => f.slice(0, -'.hex'.length))
    .sort();

  function contextOf(name: string): CodecContext {
    if (name.endsWith('-as2')) return makeContext({ as4: false });
    if (name.endsWith('-addpath'))
      return makeContext({ addPath: new Set([familyKey(1, 1), familyKey(2, 1)]) });
    return makeContext();
  }

  it('are there, each with its JSON', () => {
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const n of names) expect(readdirSync(dir)).toContain(`${n}.json`);
  });

  for (const name of names) {
    describe(name, () => {
      const ctx = contextOf(name);
      const bytes = hex(readFileSync(new URL(`${name}.hex`, dir), 'utf8'));
      const json: unknown = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8'));

      it('decodes to its JSON', () => {
        expect(messageToJson(decodeUpdateBytes(bytes, ctx))).toEqual(json);
      });

      it('encodes from its JSON to its bytes', () => {
        const msg = messageFromJson(json);
        expect(toHex(encodeMessage(msg, ctx))).toBe(toHex(bytes));
        expect(toHex(encodeAfterJunk(5, (w) => writeMessage(msg, w, ctx)).written)).toBe(toHex(bytes));
      });

      it('survives decode -> encode -> decode', () => {
        const m = decodeUpdateBytes(bytes, ctx);
        expect(decodeUpdateBytes(encodeMessage(m, ctx), ctx)).toEqual(m);
      });
    });
  }
});
