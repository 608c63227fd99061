// RFC 7606 (revised UPDATE error handling), through decodeMessage on whole hand-written messages.
// A session reset is a thrown UpdateMessageError carrying the NOTIFICATION (code 3, subcode, data) and
// the offset of the problem in the message; treat-as-withdraw and attribute-discard come back as
// `problems` on the decoded UPDATE.

import { describe, expect, it } from 'vitest';
import { type CodecContext, makeContext } from '../../src/bgp/messages/context.js';
import { UpdateMessageError } from '../../src/bgp/messages/errors.js';
import { treatAsWithdraw, type UpdateMessage } from '../../src/bgp/messages/update.js';
import { decodeUpdateBytes, hex, thrown, toHex, updateBody, updateMessage } from '../helpers/bytes.js';

const AS4 = makeContext();
const AS2 = makeContext({ as4: false });

const ORIGIN = '40 01 01 00';
const AS_PATH = '40 02 06 02 01 0000fde8'; // AS_SEQUENCE 65000
const AS_PATH2 = '40 02 04 02 01 fde8'; // the same on a 2-octet session
const NEXT_HOP = '40 03 04 c0000201'; // 192.0.2.1
const MANDATORY = `${ORIGIN} ${AS_PATH} ${NEXT_HOP}`; // 20 bytes
const NLRI = '18 c0a801'; // 192.168.1.0/24
const NH6 = '20010db8000000000000000000000001'; // 2001:db8::1

/** Where the path attributes start in a message without withdrawn routes. */
const ATTRS_AT = 19 + 2 + 2;

function decode(
  attrs: string | Uint8Array,
  nlri = NLRI,
  ctx: CodecContext = AS4,
  withdrawn = '',
): UpdateMessage {
  return decodeUpdateBytes(updateMessage(updateBody(withdrawn, attrs, nlri)), ctx);
}

/** The problems of an UPDATE as [action, subcode] pairs. */
function problems(m: UpdateMessage): [string, number][] {
  return (m.problems ?? []).map((p) => [p.action, p.error.subcode]);
}

interface Reset {
  readonly subcode: number;
  readonly data?: string;
  readonly offset?: number;
}

/** Decoding `bytes` must throw the UpdateMessageError of a session reset. */
function expectReset(bytes: Uint8Array, want: Reset, ctx: CodecContext = AS4): void {
  const e = thrown(() => decodeUpdateBytes(bytes, ctx));
  expect(e).toBeInstanceOf(UpdateMessageError);
  if (!(e instanceof UpdateMessageError)) return;
  expect({ code: e.code, subcode: e.subcode, action: e.action }).toEqual({
    code: 3,
    subcode: want.subcode,
    action: 'reset',
  });
  if (want.data !== undefined) expect(toHex(e.data)).toBe(toHex(hex(want.data)));
  if (want.offset !== undefined) expect(e.offset).toBe(want.offset);
  // the NOTIFICATION it turns into
  expect(e.toNotification()).toEqual({ type: 'notification', code: 3, subcode: want.subcode, data: e.data });
}

describe('missing well-known attributes (RFC 7606 3.d): treat-as-withdraw, 3/3', () => {
  const cases: [string, string, number][] = [
    ['ORIGIN', `${AS_PATH} ${NEXT_HOP}`, 1],
    ['AS_PATH', `${ORIGIN} ${NEXT_HOP}`, 2],
    ['NEXT_HOP', `${ORIGIN} ${AS_PATH}`, 3],
  ];
  for (const [name, attrs, code] of cases) {
    it(`missing ${name}`, () => {
      const m = decode(attrs);
      expect(problems(m)).toEqual([['withdraw', 3]]);
      expect(m.problems![0]!.error.data).toEqual(new Uint8Array([code])); // RFC 4271 6.3: the missing type code
      expect(m.problems![0]!.error.offset).toBe(ATTRS_AT - 2);
      expect(treatAsWithdraw(m)).toBe(true);
      expect(m.nlri.prefixes.length).toBe(1); // the routes are still known, to be withdrawn
    });
  }

  it('all three missing', () => {
    const m = decode('');
    expect(m.problems?.map((p) => p.error.data[0])).toEqual([1, 2, 3]);
    expect(treatAsWithdraw(m)).toBe(true);
  });

  it('nothing is missing when the UPDATE announces nothing', () => {
    expect(decode('', '', AS4, '18 c0a801').problems).toBeUndefined();
    expect(decode(ORIGIN, '').problems).toBeUndefined();
    expect(decode('80 0f 08 0002 01 20 20010db8', '').problems).toBeUndefined(); // MP_UNREACH only
  });

  it('NEXT_HOP is not needed when routes come in MP_REACH_NLRI only (RFC 4760 3)', () => {
    const reach = `80 0e 1a 0002 01 10 ${NH6} 00 20 20010db8`;
    expect(decode(`${reach} ${ORIGIN} ${AS_PATH}`, '').problems).toBeUndefined();
    const m = decode(reach, '');
    expect(m.problems?.map((p) => p.error.data[0])).toEqual([1, 2]);
    expect(treatAsWithdraw(m)).toBe(true);
  });

  it('a present but malformed attribute is reported once, not also as missing', () => {
    const m = decode(`40 01 01 07 ${AS_PATH} ${NEXT_HOP}`); // ORIGIN 7
    expect(problems(m)).toEqual([['withdraw', 6]]);
  });
});

describe('unrecognized well-known attribute: reset 3/2 with the attribute as data', () => {
  it('a well-known flag on an unknown type code', () => {
    const bytes = updateMessage(updateBody('', `${MANDATORY} 40 63 02 abcd`, NLRI));
    expectReset(bytes, { subcode: 2, data: '40 63 02 abcd', offset: ATTRS_AT + 20 });
  });

  it('with Extended Length, the data is the whole attribute as received', () => {
    const bytes = updateMessage(updateBody('', `50 63 00 01 ff ${MANDATORY}`, NLRI));
    expectReset(bytes, { subcode: 2, data: '50 63 00 01 ff', offset: ATTRS_AT });
  });
});

describe('invalid NLRI fields: reset 3/10 (RFC 7606 5.3)', () => {
  it('a prefix length of 33 in the NLRI field', () => {
    const bytes = updateMessage(updateBody('', MANDATORY, '18 c0a801  21 0a000000 00'));
    expectReset(bytes, { subcode: 10, offset: ATTRS_AT + 20 + 4 });
  });

  it('a prefix that overruns the NLRI field', () => {
    const bytes = updateMessage(updateBody('', MANDATORY, '18 c0a801  18 0a00'));
    expectReset(bytes, { subcode: 10, offset: ATTRS_AT + 20 + 4 });
  });

  it('a prefix length of 33 in the withdrawn routes field', () => {
    expectReset(updateMessage(updateBody('21 0a000000 00', '')), { subcode: 10, offset: 21 });
  });

  it('a prefix that overruns the withdrawn routes field', () => {
    expectReset(updateMessage(updateBody('08 0a  10 ac', '')), { subcode: 10, offset: 23 });
  });

  it('even when the attributes are malformed too: the NLRI cannot be withdrawn safely', () => {
    const bytes = updateMessage(updateBody('', '40 01 02 0000', '21 0a000000 00'));
    expectReset(bytes, { subcode: 10 });
  });
});

describe('attribute appearing more than once (RFC 7606 3.g)', () => {
  it('MP_REACH_NLRI twice: reset 3/1', () => {
    const reach = `80 0e 15 0002 01 10 ${NH6} 00`; // 24 bytes, announcing nothing
    const bytes = updateMessage(updateBody('', `${reach} ${reach} ${ORIGIN} ${AS_PATH}`, ''));
    expectReset(bytes, { subcode: 1, data: '', offset: ATTRS_AT + 24 });
  });

  it('MP_UNREACH_NLRI twice: reset 3/1', () => {
    const bytes = updateMessage(updateBody('', '80 0f 03 0002 01  80 0f 03 0001 01', ''));
    expectReset(bytes, { subcode: 1, data: '', offset: ATTRS_AT + 6 });
  });

  it('any other attribute twice: the first is kept, the rest discarded', () => {
    const m = decode(`${ORIGIN} ${AS_PATH} 40 01 01 02 ${NEXT_HOP} 40 01 01 01`);
    expect(m.attributes.origin).toBe(0);
    expect(problems(m)).toEqual([
      ['discard', 1],
      ['discard', 1],
    ]);
    expect(treatAsWithdraw(m)).toBe(false);
  });

  it('an unknown optional attribute twice: the first is kept', () => {
    const m = decode(`${MANDATORY} c0 63 01 01  c0 63 01 02`);
    expect(m.attributes.unknown).toEqual([{ flags: 0xe0, code: 99, value: hex('01') }]);
    expect(problems(m)).toEqual([['discard', 1]]);
  });
});

describe('malformed attribute values', () => {
  it('ORIGIN value 3: treat-as-withdraw, 3/6, data the attribute', () => {
    const m = decode(`40 01 01 03 ${AS_PATH} ${NEXT_HOP}`);
    expect(problems(m)).toEqual([['withdraw', 6]]);
    expect(toHex(m.problems![0]!.error.data)).toBe('40010103');
    expect(m.attributes.origin).toBeUndefined();
    expect(treatAsWithdraw(m)).toBe(true);
  });

  // [name, attribute bytes, expected action, expected subcode, session]
  const LENGTH_CASES: [string, string, 'withdraw' | 'discard', number, CodecContext][] = [
    ['ORIGIN of 2 bytes', '40 01 02 00 00', 'withdraw', 5, AS4],
    ['ORIGIN of 0 bytes', '40 01 00', 'withdraw', 5, AS4],
    ['AS_PATH whose segment overruns it', '40 02 05 02 01 0000fd', 'withdraw', 11, AS4],
    ['AS_PATH with a truncated segment header', '40 02 07 02 01 0000fde8 02', 'withdraw', 11, AS4],
    ['AS_PATH of odd length on a 2-octet session', '40 02 05 02 01 fde8 00', 'withdraw', 11, AS2],
    ['NEXT_HOP of 5 bytes', '40 03 05 c0000201 00', 'withdraw', 5, AS4],
    ['NEXT_HOP of 3 bytes', '40 03 03 c00002', 'withdraw', 5, AS4],
    ['MULTI_EXIT_DISC of 3 bytes', '80 04 03 000064', 'withdraw', 5, AS4],
    ['LOCAL_PREF of 2 bytes', '40 05 02 0064', 'withdraw', 5, AS4],
    ['COMMUNITIES of 5 bytes', 'c0 08 05 fde80064 00', 'withdraw', 5, AS4],
    ['COMMUNITIES of 0 bytes', 'c0 08 00', 'withdraw', 5, AS4],
    ['ORIGINATOR_ID of 3 bytes', '80 09 03 0a0000', 'withdraw', 5, AS4],
    ['CLUSTER_LIST of 6 bytes', '80 0a 06 0a000001 0a00', 'withdraw', 5, AS4],
    ['CLUSTER_LIST of 0 bytes', '80 0a 00', 'withdraw', 5, AS4],
    ['EXTENDED_COMMUNITIES of 12 bytes', 'c0 10 0c 0002fde800000064 00000000', 'withdraw', 5, AS4],
    ['IPV6_EXTENDED_COMMUNITIES of 21 bytes', `c0 19 15 0002 ${NH6} 0064 00`, 'withdraw', 5, AS4],
    ['LARGE_COMMUNITY of 13 bytes', 'c0 20 0d 00000001 00000002 00000003 00', 'withdraw', 5, AS4],
    ['ATOMIC_AGGREGATE of 1 byte', '40 06 01 00', 'discard', 5, AS4],
    ['AGGREGATOR of 6 bytes on a 4-octet session', 'c0 07 06 fde8 0a000001', 'discard', 5, AS4],
    ['AGGREGATOR of 8 bytes on a 2-octet session', 'c0 07 08 0000fde8 0a000001', 'discard', 5, AS2],
    ['AS4_AGGREGATOR of 7 bytes', 'c0 12 07 fa56ea01 0a0000', 'discard', 5, AS2],
    ['AS4_PATH whose segment overruns it', 'c0 11 05 02 01 fa56ea', 'discard', 11, AS2],
    ['AS4_PATH with an unknown segment type', 'c0 11 06 07 01 fa56ea01', 'discard', 11, AS2],
    ['AS4_PATH with a confederation segment', 'c0 11 06 03 01 fa56ea01', 'discard', 11, AS2],
  ];
  for (const [name, bytes, action, subcode, ctx] of LENGTH_CASES) {
    it(`${name}: ${action}, 3/${subcode}`, () => {
      const base = ctx.as4 ? MANDATORY : `${ORIGIN} ${AS_PATH2} ${NEXT_HOP}`;
      const code = hex(bytes)[1]!;
      // put the bad attribute in its canonical place after the mandatory ones unless it is one of them
      const attrs =
        code <= 3
          ? base.replace([ORIGIN, ctx.as4 ? AS_PATH : AS_PATH2, NEXT_HOP][code - 1]!, bytes)
          : `${base} ${bytes}`;
      const m = decode(attrs, NLRI, ctx);
      expect(problems(m)).toEqual([[action, subcode]]);
      expect(toHex(m.problems![0]!.error.data)).toBe(toHex(hex(bytes)));
      expect(treatAsWithdraw(m)).toBe(action === 'withdraw');
      expect(m.nlri.prefixes.length).toBe(1);
      if (action === 'discard') {
        // the rest of the UPDATE stands
        expect(m.attributes.origin).toBe(0);
        expect(m.attributes.asPath).toEqual([{ type: 2, asns: [65000] }]);
        expect(m.attributes.nextHop).toBe('192.0.2.1');
        expect(m.attributes.atomicAggregate).toBeUndefined();
        expect(m.attributes.aggregator).toBeUndefined();
      }
    });
  }

  it('AS_PATH with an unknown segment type: treat-as-withdraw, 3/11', () => {
    const m = decode(`${ORIGIN} 40 02 06 05 01 0000fde8 ${NEXT_HOP}`);
    expect(problems(m)).toEqual([['withdraw', 11]]);
    expect(m.attributes.asPath).toBeUndefined();
    expect(treatAsWithdraw(m)).toBe(true);
  });

  it('AS_PATH with a zero-length segment: treat-as-withdraw, 3/11', () => {
    const m = decode(`${ORIGIN} 40 02 08 02 00 02 01 0000fde8 ${NEXT_HOP}`);
    expect(problems(m)).toEqual([['withdraw', 11]]);
    expect(treatAsWithdraw(m)).toBe(true);
  });

  it('AS4_PATH on a 4-octet session: discarded, the AS_PATH stands', () => {
    const m = decode(`${MANDATORY} c0 11 06 02 01 fa56ea01`);
    expect(problems(m)).toEqual([['discard', 9]]);
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [65000] }]);
    expect(treatAsWithdraw(m)).toBe(false);
  });

  it('AS4_AGGREGATOR on a 4-octet session: discarded', () => {
    const m = decode(`${MANDATORY} c0 07 08 0000fde8 0a000001  c0 12 08 fa56ea01 0a000001`);
    expect(problems(m)).toEqual([['discard', 9]]);
    expect(m.attributes.aggregator).toEqual({ as: 65000, address: '10.0.0.1' });
  });
});

describe('MP_REACH_NLRI / MP_UNREACH_NLRI malformed: reset 3/9 with the attribute as data (RFC 7606 7.11)', () => {
  it('IPv6 next hop of 5 bytes', () => {
    const reach = '80 0e 0b 0002 01 05 20010db800 00 00';
    expectReset(updateMessage(updateBody('', `${reach} ${ORIGIN} ${AS_PATH}`, '')), {
      subcode: 9,
      data: reach,
      offset: ATTRS_AT + 6,
    });
  });

  it('IPv4 next hop of 8 bytes', () => {
    const reach = '80 0e 0e 0001 01 08 c0000201c0000202 00 00';
    expectReset(updateMessage(updateBody('', reach, '')), { subcode: 9, data: reach, offset: ATTRS_AT + 6 });
  });

  it('a next hop length that overruns the attribute', () => {
    const reach = `80 0e 14 0002 01 20 ${NH6}`; // 32 announced, 16 there
    expectReset(updateMessage(updateBody('', reach, '')), { subcode: 9, data: reach });
  });

  it('an invalid prefix in its NLRI', () => {
    const reach = `80 0e 17 0002 01 10 ${NH6} 00 81 00`; // /129
    expectReset(updateMessage(updateBody('', reach, '')), { subcode: 9, data: reach });
  });

  it('a prefix overrunning its NLRI', () => {
    const reach = `80 0e 18 0002 01 10 ${NH6} 00 40 2001`;
    expectReset(updateMessage(updateBody('', reach, '')), { subcode: 9, data: reach });
  });

  it('MP_UNREACH_NLRI with an invalid prefix', () => {
    const unreach = '80 0f 05 0001 01 21 0a';
    expectReset(updateMessage(updateBody('', unreach, '')), { subcode: 9, data: unreach });
  });

  it('MP_REACH_NLRI too short for AFI and SAFI', () => {
    const reach = '80 0e 02 0002';
    expectReset(updateMessage(updateBody('', `${reach} ${MANDATORY}`, '')), {
      subcode: 9,
      data: reach,
      offset: ATTRS_AT + 5,
    });
  });

  it('MP_REACH_NLRI too short for the next hop length field', () => {
    const reach = '80 0e 03 0002 01';
    expectReset(updateMessage(updateBody('', reach, '')), { subcode: 9, data: reach });
  });

  it('MP_UNREACH_NLRI too short for AFI and SAFI', () => {
    const unreach = '80 0f 02 0002';
    expectReset(updateMessage(updateBody('', unreach, '')), { subcode: 9, data: unreach });
  });

  it('an opaque family is not an error, even with odd content', () => {
    const m = decode('80 0e 08 0001 85 00 00 01 02 03', '');
    expect(m.attributes.mpReach).toEqual({
      kind: 'opaque',
      afi: 1,
      safi: 133,
      nextHop: new Uint8Array(0),
      nlri: hex('010203'),
    });
  });
});

describe('attribute flags in conflict with the type (RFC 7606 3.c): the attribute action, 3/4', () => {
  const cases: [string, string, string, 'withdraw' | 'discard'][] = [
    ['ORIGIN with the Optional bit', ORIGIN, 'c0 01 01 00', 'withdraw'],
    ['AS_PATH without the Transitive bit', AS_PATH, '00 02 06 02 01 0000fde8', 'withdraw'],
    ['NEXT_HOP marked optional non-transitive', NEXT_HOP, '80 03 04 c0000201', 'withdraw'],
    ['MULTI_EXIT_DISC marked transitive', '', 'c0 04 04 00000064', 'withdraw'],
    ['LOCAL_PREF marked optional', '', 'c0 05 04 00000064', 'withdraw'],
    ['COMMUNITIES marked non-transitive', '', '80 08 04 fde80064', 'withdraw'],
    ['ATOMIC_AGGREGATE marked optional', '', 'c0 06 00', 'discard'],
    ['AGGREGATOR marked well-known', '', '40 07 08 0000fde8 0a000001', 'discard'],
    ['LARGE_COMMUNITY marked well-known', '', '40 20 0c 00000001 00000002 00000003', 'withdraw'],
  ];
  for (const [name, replaces, bytes, action] of cases) {
    it(`${name}: ${action}`, () => {
      const attrs = replaces ? MANDATORY.replace(replaces, bytes) : `${MANDATORY} ${bytes}`;
      const m = decode(attrs);
      expect(problems(m)).toEqual([[action, 4]]);
      expect(toHex(m.problems![0]!.error.data)).toBe(toHex(hex(bytes)));
      expect(treatAsWithdraw(m)).toBe(action === 'withdraw');
    });
  }

  it('MP_REACH_NLRI marked transitive: reset 3/4', () => {
    const reach = 'c0 0e 09 0001 01 04 c0000201 00';
    expectReset(updateMessage(updateBody('', reach, '')), { subcode: 4, data: reach, offset: ATTRS_AT });
  });
});

describe('attribute framing (RFC 7606 4): treat-as-withdraw, the NLRI still found', () => {
  it('an attribute length that runs past the path attribute field', () => {
    const m = decode(`${ORIGIN} ${AS_PATH} 40 03 09 c0000201`);
    expect(m.problems?.map((p) => p.action)).toEqual(['withdraw']);
    expect(m.problems![0]!.error.subcode).toBe(5);
    expect(toHex(m.problems![0]!.error.data)).toBe('400309c0000201'); // the rest of the field
    expect(m.nlri.prefixes.length).toBe(1);
    expect(treatAsWithdraw(m)).toBe(true);
  });

  it('fewer than 3 bytes left for an attribute header', () => {
    const m = decode(`${MANDATORY} 40 05`);
    expect(problems(m)).toEqual([['withdraw', 1]]);
    expect(m.attributes.nextHop).toBe('192.0.2.1');
    expect(m.nlri.prefixes.length).toBe(1);
  });

  it('fewer than 4 bytes left for an Extended Length header', () => {
    const m = decode(`${MANDATORY} 50 05 00`);
    expect(problems(m)).toEqual([['withdraw', 1]]);
    expect(treatAsWithdraw(m)).toBe(true);
  });

  it('an Extended Length attribute whose 2-octet length runs past the field', () => {
    const m = decode(`${MANDATORY} d0 08 00 ff fde80064`);
    expect(m.problems?.map((p) => p.action)).toEqual(['withdraw']);
  });
});

describe('length fields larger than the message: reset 3/1', () => {
  it('Withdrawn Routes Length', () => {
    // 5 bytes of withdrawn routes announced, 4 in the message, then no room for the attribute length
    expectReset(updateMessage('0005 18 c0a801 0000'), { subcode: 1, offset: 19 });
  });

  it('Withdrawn Routes Length leaving no room for Total Path Attribute Length', () => {
    expectReset(updateMessage('0004 18 c0a801 00'), { subcode: 1, offset: 19 });
  });

  it('Total Path Attribute Length', () => {
    expectReset(updateMessage(`0000 0015 ${MANDATORY}`), { subcode: 1, offset: 21 });
  });

  it('Total Path Attribute Length after some withdrawn routes', () => {
    expectReset(updateMessage(`0004 18 c0a801 0100 ${MANDATORY}`), { subcode: 1, offset: 25 });
  });
});
