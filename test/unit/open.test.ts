// OPEN message (RFC 4271 4.2, RFC 5492, RFC 9072) and its JSON form. Test bytes are written out by hand,
// field by field, independently of the encoder; the BIRD ones were captured from BIRD 2.0.12.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openFromJson, openToJson } from '../../src/bgp/json/open.js';
import { JsonShapeError } from '../../src/bgp/json/read.js';
import type { Capability } from '../../src/bgp/messages/capabilities/index.js';
import { type BgpError, OpenMessageError } from '../../src/bgp/messages/errors.js';
import { AS_TRANS } from '../../src/bgp/messages/iana.js';
import { decodeMessage, encodeMessage, writeMessage } from '../../src/bgp/messages/message.js';
import { decodeOpen, encodeOpen, makeOpen, type OpenMessage, openAs } from '../../src/bgp/messages/open.js';
import { ByteReader } from '../../src/bgp/messages/reader.js';
import { ByteWriter } from '../../src/bgp/messages/writer.js';
import { deepFreeze, encodeAfterJunk, hex as h, message, toHex } from '../helpers/bytes.js';
import {
  expectFixtureRoundTrip,
  loadHexFixtures,
  loadJsonFixture,
  thrownBgpError,
} from '../helpers/stream.js';

const MARKER = 'ffffffffffffffffffffffffffffffff';

/** A whole OPEN message around `body`: marker, length, type 1. */
function openMessage(body: string): Uint8Array {
  return message(1, body);
}

const overrun = (detail: string, at: number): BgpError => new OpenMessageError(0, detail, undefined, at);

/** decodeOpen over the body of a whole message, as message.ts calls it. */
function decodeBody(msg: Uint8Array): OpenMessage {
  return decodeOpen(new ByteReader(msg, overrun, 19, msg.length));
}

function encodeBody(msg: OpenMessage): Uint8Array {
  const w = new ByteWriter(16);
  encodeOpen(msg, w);
  return w.slice();
}

/** Checks decode(bytes) == msg, encode(msg) == bytes and decode(encode(msg)) == msg, whole and body. */
function checkBothWays(bytes: Uint8Array, msg: OpenMessage): void {
  expect(decodeMessage(bytes)).toEqual(msg);
  expect(decodeBody(bytes)).toEqual(msg);
  expect(toHex(encodeMessage(msg))).toBe(toHex(bytes));
  expect(toHex(encodeBody(msg))).toBe(toHex(bytes.subarray(19)));
  expect(decodeMessage(encodeMessage(msg))).toEqual(msg);
}

// ---- messages ----

// BIRD 2.0.12, AS 4200000001, ipv4 and ipv6 channels, graceful restart and LLGR on, ADD-PATH (ipv4 both
// ways, ipv6 receive), extended messages, hostname "node-1". Captured from a real BIRD, and the same
// bytes as fixtures/messages/open-bird.hex.
const BIRD_FULL_HEX = `
  ${MARKER}                          # marker
  0067 01                            # length 103, OPEN
  04                                 # version 4
  5ba0                               # my AS 23456 (AS_TRANS)
  00f0                               # hold time 240
  0a000001                           # BGP identifier 10.0.0.1
  4a                                 # optional parameters: 74 octets
  02 48                              # one capabilities parameter, 72 octets
    01 04 0001 00 01                 # multiprotocol ipv4 unicast
    01 04 0002 00 01                 # multiprotocol ipv6 unicast
    02 00                            # route refresh
    06 00                            # extended message
    40 0a 0078                       # graceful restart: no flags, restart time 120
          0001 01 00  0002 01 00     #   ipv4 unicast, ipv6 unicast, no forwarding state
    41 04 fa56ea01                   # four-octet AS 4200000001
    45 08 0001 01 03  0002 01 01     # ADD-PATH: ipv4 unicast send+receive, ipv6 unicast receive
    46 00                            # enhanced route refresh
    47 0e 0001 01 00 000e10          # long-lived graceful restart: ipv4 unicast, stale time 3600
          0002 01 00 000e10          #   ipv6 unicast, stale time 3600
    49 08 06 6e6f64652d31 00         # FQDN: host "node-1", no domain`;

const BIRD_FULL: OpenMessage = {
  type: 'open',
  version: 4,
  myAs: 23456,
  holdTime: 240,
  bgpId: '10.0.0.1',
  capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
    { kind: 'route-refresh' },
    { kind: 'extended-message' },
    {
      kind: 'graceful-restart',
      restartFlags: 0,
      restartTime: 120,
      families: [
        { afi: 1, safi: 1, forwardingState: false },
        { afi: 2, safi: 1, forwardingState: false },
      ],
    },
    { kind: 'four-octet-as', as: 4200000001 },
    {
      kind: 'add-path',
      families: [
        { afi: 1, safi: 1, send: true, receive: true },
        { afi: 2, safi: 1, send: false, receive: true },
      ],
    },
    { kind: 'enhanced-route-refresh' },
    {
      kind: 'long-lived-graceful-restart',
      families: [
        { afi: 1, safi: 1, forwardingState: false, staleTime: 3600 },
        { afi: 2, safi: 1, forwardingState: false, staleTime: 3600 },
      ],
    },
    { kind: 'fqdn', hostname: 'node-1', domainName: '' },
  ],
};

// BIRD 2.0.12 with defaults, as in a Calico mesh: AS 64512, ipv4 only, graceful restart and LLGR
// "aware" (capabilities without families). Captured from a real BIRD.
const BIRD_DEFAULT_HEX = `
  ${MARKER} 0035 01                  # length 53, OPEN
  04 fc00 00f0 0a000002              # version 4, AS 64512, hold time 240, id 10.0.0.2
  18 02 16                           # 24 octets of parameters: capabilities, 22 octets
    01 04 0001 00 01                 # multiprotocol ipv4 unicast
    02 00                            # route refresh
    40 02 0078                       # graceful restart, restart time 120, no families
    41 04 0000fc00                   # four-octet AS 64512
    46 00                            # enhanced route refresh
    47 00                            # long-lived graceful restart, no families`;

const BIRD_DEFAULT: OpenMessage = {
  type: 'open',
  version: 4,
  myAs: 64512,
  holdTime: 240,
  bgpId: '10.0.0.2',
  capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'route-refresh' },
    { kind: 'graceful-restart', restartFlags: 0, restartTime: 120, families: [] },
    { kind: 'four-octet-as', as: 64512 },
    { kind: 'enhanced-route-refresh' },
    { kind: 'long-lived-graceful-restart', families: [] },
  ],
};

// In the layout FRR (and GoBGP, ExaBGP) use: one optional parameter per capability, including the
// pre-standard route refresh code 128. Written by hand, not captured.
const FRR_STYLE_HEX = `
  ${MARKER} 0066 01                  # length 102, OPEN
  04 fde9 00b4 0a000003              # version 4, AS 65001, hold time 180, id 10.0.0.3
  49                                 # 73 octets of parameters
  02 06 01 04 0001 00 01             # multiprotocol ipv4 unicast
  02 06 01 04 0002 00 01             # multiprotocol ipv6 unicast
  02 02 80 00                        # route refresh, pre-standard code 128
  02 02 02 00                        # route refresh
  02 02 46 00                        # enhanced route refresh
  02 06 41 04 0000fde9               # four-octet AS 65001
  02 02 06 00                        # extended message
  02 0a 45 08 0001 01 01 0002 01 01  # ADD-PATH receive, ipv4 and ipv6 unicast
  02 09 49 07 05 6672722d31 00       # FQDN "frr-1", no domain
  02 04 40 02 4078                   # graceful restart, N bit, restart time 120
  02 02 47 00                        # long-lived graceful restart, no families`;

const FRR_STYLE: OpenMessage = {
  type: 'open',
  version: 4,
  myAs: 65001,
  holdTime: 180,
  bgpId: '10.0.0.3',
  capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
    { kind: 'unknown', code: 128, value: new Uint8Array(0) },
    { kind: 'route-refresh' },
    { kind: 'enhanced-route-refresh' },
    { kind: 'four-octet-as', as: 65001 },
    { kind: 'extended-message' },
    {
      kind: 'add-path',
      families: [
        { afi: 1, safi: 1, send: false, receive: true },
        { afi: 2, safi: 1, send: false, receive: true },
      ],
    },
    { kind: 'fqdn', hostname: 'frr-1', domainName: '' },
    { kind: 'graceful-restart', restartFlags: 0x4, restartTime: 120, families: [] },
    { kind: 'long-lived-graceful-restart', families: [] },
  ],
};

// The same capabilities as tern writes them: one parameter holding all of them.
const FRR_STYLE_CANONICAL_HEX = `
  ${MARKER} 0052 01                  # length 82, OPEN
  04 fde9 00b4 0a000003
  35 02 33                           # 53 octets of parameters: capabilities, 51 octets
    01 04 0001 00 01  01 04 0002 00 01  80 00  02 00  46 00  41 04 0000fde9  06 00
    45 08 0001 01 01 0002 01 01  49 07 05 6672722d31 00  40 02 4078  47 00`;

describe('OPEN decode and encode', () => {
  it('an OPEN without optional parameters', () => {
    const bytes = openMessage('04 fde8 00b4 c0000201 00 # version 4, AS 65000, hold 180, id 192.0.2.1, none');
    checkBothWays(bytes, {
      type: 'open',
      version: 4,
      myAs: 65000,
      holdTime: 180,
      bgpId: '192.0.2.1',
      capabilities: [],
    });
  });

  it('BIRD 2 with every capability it has', () => {
    const bytes = h(BIRD_FULL_HEX);
    expect(bytes.length).toBe(103);
    checkBothWays(bytes, BIRD_FULL);
    expect(openAs(BIRD_FULL)).toBe(4200000001);
  });

  it('BIRD 2 with defaults (Calico mesh)', () => {
    checkBothWays(h(BIRD_DEFAULT_HEX), BIRD_DEFAULT);
  });

  it('one parameter per capability decodes to one list, and encodes as one parameter', () => {
    const bytes = h(FRR_STYLE_HEX);
    expect(bytes.length).toBe(102);
    expect(decodeMessage(bytes)).toEqual(FRR_STYLE);
    const canonical = h(FRR_STYLE_CANONICAL_HEX);
    expect(toHex(encodeMessage(FRR_STYLE))).toBe(toHex(canonical));
    expect(decodeMessage(canonical)).toEqual(FRR_STYLE);
  });

  it('keeps an empty capabilities parameter out of the list, and writes none', () => {
    const bytes = openMessage('04 fde8 00b4 c0000201 02 02 00 # capabilities parameter of length 0');
    const msg = decodeMessage(bytes);
    expect(msg).toEqual({
      type: 'open',
      version: 4,
      myAs: 65000,
      holdTime: 180,
      bgpId: '192.0.2.1',
      capabilities: [],
    });
    expect(toHex(encodeMessage(msg))).toBe(toHex(openMessage('04 fde8 00b4 c0000201 00')));
  });

  it('decodes what the FSM checks, as it is: version, BGP identifier 0, hold time 0 and 3', () => {
    expect(decodeMessage(openMessage('03 fde8 0000 00000000 00'))).toEqual({
      type: 'open',
      version: 3,
      myAs: 65000,
      holdTime: 0,
      bgpId: '0.0.0.0',
      capabilities: [],
    });
    expect(decodeMessage(openMessage('04 fde8 0003 ffffffff 00'))).toMatchObject({
      holdTime: 3,
      bgpId: '255.255.255.255',
    });
  });

  it('writes parameters other than capabilities after the capabilities', () => {
    const msg: OpenMessage = {
      ...makeOpen({ as: 65000, holdTime: 90, bgpId: '10.1.2.3', capabilities: [{ kind: 'route-refresh' }] }),
      parameters: [{ type: 1, value: h('aabb') }],
    };
    const body = `04 fde8 005a 0a010203
                  08            # 8 octets of parameters
                  02 02 02 00   # capabilities: route refresh
                  01 02 aabb    # parameter type 1 (authentication, deprecated), 2 octets`;
    expect(toHex(encodeMessage(msg))).toBe(toHex(openMessage(body)));
  });

  it('encodes at an offset and reports the length', () => {
    const whole = encodeAfterJunk(5, (w) => writeMessage(BIRD_FULL, w));
    expect(whole.junkIntact).toBe(true);
    expect(whole.reported).toBe(103);
    expect(toHex(whole.written)).toBe(toHex(h(BIRD_FULL_HEX)));

    const body = encodeAfterJunk(3, (w) => encodeOpen(BIRD_DEFAULT, w));
    expect(body.junkIntact).toBe(true);
    expect(toHex(body.written)).toBe(toHex(h(BIRD_DEFAULT_HEX).subarray(19)));
  });

  it('does not mutate what it encodes', () => {
    const frozen = deepFreeze(structuredClone(FRR_STYLE));
    expect(toHex(encodeMessage(frozen))).toBe(toHex(h(FRR_STYLE_CANONICAL_HEX)));
    expect(frozen).toEqual(FRR_STYLE);
  });

  it('rejects a BGP identifier that is not a dotted quad (a caller bug)', () => {
    expect(() => encodeMessage({ ...BIRD_DEFAULT, bgpId: '10.0.0' })).toThrow(RangeError);
  });
});

describe('RFC 9072 extended optional parameters length', () => {
  // 43 multiprotocol capabilities (SAFI 1..43) are 258 octets: 260 with the parameter header.
  const many: Capability[] = Array.from({ length: 43 }, (_, i) => ({
    kind: 'multiprotocol',
    afi: 1,
    safi: i + 1,
  }));
  const manyHex = Array.from(
    { length: 43 },
    (_, i) => `01 04 0001 00 ${(i + 1).toString(16).padStart(2, '0')}`,
  ).join(' ');

  // AS 65000, hold time 90, id 10.0.0.1: body `04 fde8 005a 0a000001`.
  const openWith = (capabilities: Capability[]): OpenMessage =>
    makeOpen({ as: 65000, holdTime: 90, bgpId: '10.0.0.1', capabilities });

  it('uses the extended form when the parameters exceed 255 octets', () => {
    const msg = openWith(many);
    const bytes = openMessage(`04 fde8 005a 0a000001
      ff ff 0105     # Non-Ext OP Len 255, Non-Ext OP Type 255, 261 octets of parameters
      02 0102        # capabilities, 2-octet length 258
      ${manyHex}`);
    checkBothWays(bytes, msg);
  });

  it('fits 255 octets of parameters in the old form', () => {
    const value = new Uint8Array(251).fill(0x5a);
    const msg = openWith([{ kind: 'unknown', code: 200, value }]);
    // Opt Parm Len 255 followed by parameter type 2 (not 255): the old form.
    const bytes = openMessage(`04 fde8 005a 0a000001 ff 02 fd c8 fb ${toHex(value)}`);
    checkBothWays(bytes, msg);
  });

  it('switches to the extended form at 256 octets', () => {
    const value = new Uint8Array(252).fill(0x5a);
    const msg = openWith([{ kind: 'unknown', code: 200, value }]);
    const bytes = openMessage(`04 fde8 005a 0a000001 ff ff 0101 02 00fe c8 fc ${toHex(value)}`);
    checkBothWays(bytes, msg);
  });

  it('uses the extended form for a non-capability parameter over 255 octets', () => {
    const value = new Uint8Array(300).fill(1);
    const msg: OpenMessage = {
      ...makeOpen({ as: 1, holdTime: 0, bgpId: '1.1.1.1', capabilities: [] }),
      parameters: [{ type: 9, value }],
    };
    const body = `04 0001 0000 01010101 ff ff 012f 09 012c ${toHex(value)}`;
    expect(toHex(encodeMessage(msg))).toBe(toHex(openMessage(body)));
  });

  it('accepts the extended form for short parameters, whatever the Non-Ext OP Len', () => {
    const expected = openWith([{ kind: 'multiprotocol', afi: 1, safi: 1 }]);
    for (const nonExtLen of ['ff', '01', '09']) {
      const bytes = openMessage(`04 fde8 005a 0a000001 ${nonExtLen} ff 0009  02 0006 01 04 0001 00 01`);
      expect(decodeMessage(bytes)).toEqual(expected);
    }
  });

  it('decodes several parameters in the extended form', () => {
    const bytes = openMessage(`04 fde8 005a 0a000001 ff ff 000a  02 0002 02 00  02 0002 46 00`);
    expect(decodeMessage(bytes)).toMatchObject({
      capabilities: [{ kind: 'route-refresh' }, { kind: 'enhanced-route-refresh' }],
    });
  });
});

describe('OPEN errors', () => {
  // Offsets count from the first marker octet: version 19, my AS 20, hold time 22, BGP identifier 24,
  // Opt Parm Len 28, first parameter type 29, its length 30, its first capability code 31.

  for (const hold of ['0001', '0002']) {
    it(`hold time ${Number.parseInt(hold, 16)}: 2/6 Unacceptable Hold Time`, () => {
      const bytes = openMessage(`04 fde8 ${hold} 0a000001 00`);
      for (const e of [thrownBgpError(() => decodeMessage(bytes)), thrownBgpError(() => decodeBody(bytes))]) {
        expect(e).toBeInstanceOf(OpenMessageError);
        expect([e.code, e.subcode, e.offset]).toEqual([2, 6, 22]);
        expect(e.codeName).toBe('OPEN Message Error / Unacceptable Hold Time');
        expect(e.data.length).toBe(0);
      }
    });
  }

  it('an unknown optional parameter type: 2/4 Unsupported Optional Parameter', () => {
    const e = thrownBgpError(() => decodeMessage(openMessage('04 fde8 005a 0a000001 04 01 02 aabb')));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 4, 29]);
    expect(e.message).toContain('optional parameter type 1');
  });

  it('an unknown optional parameter type after a capabilities parameter', () => {
    const e = thrownBgpError(() => decodeMessage(openMessage('04 fde8 005a 0a000001 06 02 02 02 00 03 00')));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 4, 33]);
  });

  it('an unknown optional parameter type in the extended form', () => {
    const e = thrownBgpError(() =>
      decodeMessage(openMessage('04 fde8 005a 0a000001 ff ff 0005 01 0002 aabb')),
    );
    expect([e.code, e.subcode, e.offset]).toEqual([2, 4, 32]);
  });

  const lengthErrors: [string, string, number, string][] = [
    [
      'Opt Parm Len past the end',
      '04 fde8 005a 0a000001 0a 02 06 01 04 0001 00 01',
      28,
      'optional parameters length 10',
    ],
    [
      'Opt Parm Len short of the end',
      '04 fde8 005a 0a000001 04 02 06 01 04 0001 00 01',
      28,
      'optional parameters length 4',
    ],
    [
      'Opt Parm Len 0 with a parameter after it',
      '04 fde8 005a 0a000001 00 02 02 02 00',
      28,
      'length 0, but 4',
    ],
    [
      'a parameter length past the end',
      '04 fde8 005a 0a000001 08 02 07 01 04 0001 00 01',
      30,
      'parameter length 7',
    ],
    ['a parameter type without a length', '04 fde8 005a 0a000001 05 02 02 02 00 02', 34, 'parameter length'],
    [
      'a capability longer than its parameter',
      '04 fde8 005a 0a000001 0a 02 04 41 04 0000 02 02 02 00',
      32,
      'four-octet-as capability (code 65): length 4, but 2 bytes left',
    ],
    [
      'a capability with the wrong length',
      '04 fde8 005a 0a000001 07 02 05 01 03 0001 00',
      32,
      'multiprotocol',
    ],
    [
      'an extended length past the end',
      '04 fde8 005a 0a000001 ff ff 0010 02 0002 02 00',
      30,
      'length 16, but 5',
    ],
    [
      'an extended length short of the end',
      '04 fde8 005a 0a000001 ff ff 0001 02 0002 02 00',
      30,
      'length 1, but 5',
    ],
    [
      'an extended parameter length past the end',
      '04 fde8 005a 0a000001 ff ff 0005 02 0003 02 00',
      33,
      'parameter length 3',
    ],
  ];
  for (const [what, body, offset, detail] of lengthErrors) {
    it(`${what}: 2/0 at offset ${offset}`, () => {
      const bytes = openMessage(body);
      for (const e of [thrownBgpError(() => decodeMessage(bytes)), thrownBgpError(() => decodeBody(bytes))]) {
        expect(e).toBeInstanceOf(OpenMessageError);
        expect([e.code, e.subcode, e.offset]).toEqual([2, 0, offset]);
        expect(e.message).toContain(detail);
      }
    });
  }

  it('an extended length cut short by the end of the message', () => {
    // Opt Parm Len 2, then 255: the extended form, but only one octet of its 2-octet length is there.
    const bytes = openMessage('04 fde8 005a 0a000001 02 ff 00');
    const e = thrownBgpError(() => decodeMessage(bytes));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 30]);
  });

  it('a body cut short in the fixed fields (through decodeOpen: the header checks stop it earlier)', () => {
    const bytes = openMessage('04 fde8 00');
    const e = thrownBgpError(() => decodeBody(bytes));
    expect(e).toBeInstanceOf(OpenMessageError);
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 22]);
    expect(e.message).toContain('hold time');
    const noLength = openMessage('04 fde8 005a 0a000001');
    expect(thrownBgpError(() => decodeBody(noLength)).offset).toBe(28);
  });
});

describe('openAs and makeOpen', () => {
  it('openAs is the four-octet AS capability when present, else my AS', () => {
    expect(openAs(BIRD_FULL)).toBe(4200000001);
    expect(openAs(BIRD_DEFAULT)).toBe(64512);
    expect(openAs({ ...BIRD_DEFAULT, capabilities: [] })).toBe(64512);
  });

  it('makeOpen puts AS_TRANS in my AS for a 4-octet AS and adds nothing', () => {
    const caps: Capability[] = [{ kind: 'route-refresh' }];
    expect(makeOpen({ as: 4200000001, holdTime: 90, bgpId: '10.0.0.1', capabilities: caps })).toEqual({
      type: 'open',
      version: 4,
      myAs: AS_TRANS,
      holdTime: 90,
      bgpId: '10.0.0.1',
      capabilities: caps,
    });
    expect(makeOpen({ as: 65535, holdTime: 90, bgpId: '10.0.0.1', capabilities: [] }).myAs).toBe(65535);
    expect(makeOpen({ as: 65536, holdTime: 90, bgpId: '10.0.0.1', capabilities: [] }).myAs).toBe(AS_TRANS);
  });
});

// ---- JSON ----

describe('fixture open-bird', () => {
  const [fixture] = loadHexFixtures('open-bird');

  it('holds the annotated BIRD bytes', () => {
    expect(toHex(fixture!.bytes)).toBe(toHex(h(BIRD_FULL_HEX)));
  });

  it('decode(hex) == json, encode(json) == hex, decode(encode(x)) == x', () => {
    expectFixtureRoundTrip(fixture!);
  });

  it('goes through openToJson and openFromJson', () => {
    const json = loadJsonFixture('open-bird');
    expect(openToJson(BIRD_FULL)).toEqual(json);
    expect(openFromJson(json)).toEqual(BIRD_FULL);
  });
});

// Every kind of capability, parameters, and values at the edges of their ranges.
const EVERYTHING: OpenMessage = {
  type: 'open',
  version: 4,
  myAs: AS_TRANS,
  holdTime: 65535,
  bgpId: '255.0.0.1',
  capabilities: [
    { kind: 'multiprotocol', afi: 2, safi: 1 },
    { kind: 'route-refresh' },
    { kind: 'extended-next-hop', families: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
    { kind: 'extended-message' },
    {
      kind: 'graceful-restart',
      restartFlags: 0xf,
      restartTime: 0xfff,
      families: [{ afi: 1, safi: 1, forwardingState: true }],
    },
    { kind: 'four-octet-as', as: 0xffffffff },
    { kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: false }] },
    { kind: 'enhanced-route-refresh' },
    {
      kind: 'long-lived-graceful-restart',
      families: [{ afi: 25, safi: 70, forwardingState: true, staleTime: 0xffffff }],
    },
    { kind: 'fqdn', hostname: 'nöde-1', domainName: 'example.com' },
    { kind: 'software-version', version: 'tern/0.1.0' },
    { kind: 'unknown', code: 200, value: h('00ff10') },
  ],
  parameters: [{ type: 1, value: h('abcd') }],
};

describe('OPEN JSON', () => {
  it('has the project-wide shape', () => {
    expect(openToJson(EVERYTHING)).toEqual({
      type: 'open',
      version: 4,
      myAs: 23456,
      as: 4294967295,
      holdTime: 65535,
      bgpId: '255.0.0.1',
      capabilities: [
        { code: 1, name: 'multiprotocol', afi: 2, safi: 1, family: 'ipv6-unicast' },
        { code: 2, name: 'route-refresh' },
        {
          code: 5,
          name: 'extended-next-hop',
          families: [{ afi: 1, safi: 1, family: 'ipv4-unicast', nextHopAfi: 2 }],
        },
        { code: 6, name: 'extended-message' },
        {
          code: 64,
          name: 'graceful-restart',
          restartFlags: 15,
          restartTime: 4095,
          families: [{ afi: 1, safi: 1, family: 'ipv4-unicast', forwardingState: true }],
        },
        { code: 65, name: 'four-octet-as', as: 4294967295 },
        {
          code: 69,
          name: 'add-path',
          families: [{ afi: 1, safi: 1, family: 'ipv4-unicast', send: true, receive: false }],
        },
        { code: 70, name: 'enhanced-route-refresh' },
        {
          code: 71,
          name: 'long-lived-graceful-restart',
          families: [
            { afi: 25, safi: 70, family: 'afi25-safi70', forwardingState: true, staleTime: 16777215 },
          ],
        },
        { code: 73, name: 'fqdn', hostname: 'nöde-1', domainName: 'example.com' },
        { code: 75, name: 'software-version', version: 'tern/0.1.0' },
        { code: 200, name: 'unknown', value: '00ff10' },
      ],
      parameters: [{ type: 1, value: 'abcd' }],
    });
  });

  it('reads back what it writes, through text', () => {
    const text = JSON.stringify(openToJson(EVERYTHING));
    expect(openFromJson(JSON.parse(text))).toEqual(EVERYTHING);
  });

  it('every kind of capability survives encode then decode', () => {
    const { parameters, ...withoutParameters } = EVERYTHING;
    expect(parameters).toHaveLength(1); // decoding rejects them: see 'OPEN errors'
    expect(decodeMessage(encodeMessage(withoutParameters))).toEqual(withoutParameters);
  });

  it('leaves out parameters when there are none', () => {
    expect(openToJson(BIRD_DEFAULT)).not.toHaveProperty('parameters');
  });

  it('does not need the derived fields: as, family, known codes, empty domain name', () => {
    const msg = openFromJson({
      type: 'open',
      version: 4,
      myAs: 65000,
      holdTime: 90,
      bgpId: '10.0.0.1',
      capabilities: [
        { name: 'multiprotocol', afi: 1, safi: 1 },
        { name: 'fqdn', hostname: 'h' },
      ],
    });
    expect(msg).toEqual({
      type: 'open',
      version: 4,
      myAs: 65000,
      holdTime: 90,
      bgpId: '10.0.0.1',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'fqdn', hostname: 'h', domainName: '' },
      ],
    });
  });

  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(openToJson(EVERYTHING)));
  type Edit = (j: Record<string, unknown>, caps: Record<string, unknown>[]) => void;
  const badInputs: [string, Edit, string][] = [
    ['wrong type', (j) => (j.type = 'update'), 'type: expected "open"'],
    ['no BGP identifier', (j) => delete j.bgpId, 'bgpId: expected a string'],
    ['bad BGP identifier', (j) => (j.bgpId = '10.0.0'), 'bgpId: expected a dotted quad'],
    ['version out of range', (j) => (j.version = 256), 'version: expected an integer in [0, 255]'],
    ['my AS out of range', (j) => (j.myAs = 70000), 'myAs: expected an integer in [0, 65535]'],
    ['hold time not a number', (j) => (j.holdTime = '90'), 'holdTime: expected an integer'],
    ['as disagreeing', (j) => (j.as = 1), 'as: expected 4294967295'],
    ['capabilities not a list', (j) => (j.capabilities = {}), 'capabilities: expected an array'],
    ['a capability not an object', (j) => (j.capabilities = [1]), 'capabilities[0]: expected an object'],
    [
      'unknown capability name',
      (_, c) => (c[0]!.name = 'bogus'),
      'capabilities[0].name: expected a capability name',
    ],
    [
      'family disagreeing',
      (_, c) => (c[0]!.family = 'ipv4-unicast'),
      'capabilities[0].family: expected "ipv6-unicast"',
    ],
    ['code disagreeing', (_, c) => (c[1]!.code = 3), 'capabilities[1].code: expected 2 for route-refresh'],
    ['SAFI out of range', (_, c) => (c[0]!.safi = 256), 'capabilities[0].safi'],
    [
      'restart time over 12 bits',
      (_, c) => (c[4]!.restartTime = 4096),
      'capabilities[4].restartTime: expected an integer in [0, 4095]',
    ],
    ['families missing', (_, c) => delete c[4]!.families, 'capabilities[4].families: expected an array'],
    [
      'forwarding state not a boolean',
      (_, c) => ((c[4]!.families as Record<string, unknown>[])[0]!.forwardingState = 1),
      'capabilities[4].families[0].forwardingState: expected true or false',
    ],
    [
      'ADD-PATH neither sending nor receiving',
      (_, c) => ((c[6]!.families as Record<string, unknown>[])[0]!.send = false),
      'capabilities[6].families[0].receive',
    ],
    [
      'stale time over 24 bits',
      (_, c) => ((c[8]!.families as Record<string, unknown>[])[0]!.staleTime = 2 ** 24),
      'capabilities[8].families[0].staleTime',
    ],
    ['host name over 255 octets', (_, c) => (c[9]!.hostname = 'é'.repeat(128)), 'capabilities[9].hostname'],
    ['unknown without a code', (_, c) => delete c[11]!.code, 'capabilities[11].code'],
    ['unknown value not hex', (_, c) => (c[11]!.value = 'xyz'), 'capabilities[11].value: expected hex bytes'],
    ['parameter of type 2', (j) => (j.parameters = [{ type: 2, value: '' }]), 'parameters[0].type'],
    ['parameter of type 255', (j) => (j.parameters = [{ type: 255, value: '' }]), 'parameters[0].type'],
  ];
  for (const [what, edit, message] of badInputs) {
    it(`rejects ${what}, naming the field`, () => {
      const j = base();
      edit(j, j.capabilities as Record<string, unknown>[]);
      let error: unknown;
      try {
        openFromJson(j);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(JsonShapeError);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain(message);
    });
  }

  it('rejects what is not an object', () => {
    expect(() => openFromJson(null)).toThrow(JsonShapeError);
    expect(() => openFromJson([])).toThrow('open: expected an object');
  });
});

// ---- ExaBGP's messages (../shared/conformance) ----

const EXABGP = new URL('../../../shared/conformance/exabgp/', import.meta.url);

/** The OPEN messages (type 1) among the `N:raw:` lines of an ExaBGP encoding test. */
function exabgpOpens(file: string): Uint8Array[] {
  const text = readFileSync(new URL(`encoding/${file}`, EXABGP), 'utf8');
  return text
    .split('\n')
    .filter((l) => /^\d+:raw:/.test(l))
    .map((l) => h(l.replace(/^\d+:raw:/, '').replace(/:/g, '')))
    .filter((b) => b[18] === 1);
}

describe("ExaBGP's OPEN messages", () => {
  it('software version, with ExaBGP reading of it', () => {
    const [, hex, jsonLine] = readFileSync(
      new URL('decoding/bgp-open-sofware-version', EXABGP),
      'utf8',
    ).split('\n');
    const exa = JSON.parse(jsonLine!).neighbor.open;
    const msg = decodeMessage(h(hex!));
    if (msg.type !== 'open') throw new Error('not an OPEN');
    expect(msg.version).toBe(exa.version);
    expect(openAs(msg)).toBe(exa.asn);
    expect(msg.holdTime).toBe(exa.hold_time);
    expect(msg.bgpId).toBe(exa.router_id);
    expect(msg.capabilities).toEqual([
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'four-octet-as', as: exa.capabilities['65'].asn4 },
      { kind: 'software-version', version: exa.capabilities['75'].software },
    ]);
  });

  it('host name and software version, one parameter per capability', () => {
    const [hostname] = exabgpOpens('conf-hostname.ci');
    const [software] = exabgpOpens('conf-cap-software-version.ci');
    const fqdn = decodeMessage(hostname!);
    const version = decodeMessage(software!);
    expect(fqdn).toMatchObject({
      myAs: 65533,
      holdTime: 180,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'four-octet-as', as: 65533 },
        { kind: 'extended-message' },
        { kind: 'fqdn', hostname: 'my-host-name', domainName: 'my-domain-name.com' },
      ],
    });
    expect(version).toMatchObject({
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'four-octet-as', as: 65533 },
        { kind: 'extended-message' },
        { kind: 'software-version', version: 'ExaBGP/5.0.0-0+test' },
      ],
    });
    // Re-encoded as one parameter: the same meaning, 2 octets shorter per parameter saved.
    for (const [bytes, msg] of [
      [hostname!, fqdn],
      [software!, version],
    ] as const) {
      const again = encodeMessage(msg);
      expect(again.length).toBe(bytes.length - 2 * 3);
      expect(decodeMessage(again)).toEqual(msg);
    }
  });
});
