// Capability codecs (RFC 5492 and one RFC per capability). Test bytes are written out by hand, field by
// field, independently of the encoder.

import { describe, expect, it } from 'vitest';
import {
  type Capability,
  capabilityCode,
  decodeCapabilities,
  encodeCapability,
} from '../../src/bgp/messages/capabilities/index.js';
import { type BgpError, OpenMessageError } from '../../src/bgp/messages/errors.js';
import { ByteReader } from '../../src/bgp/messages/reader.js';
import { ByteWriter } from '../../src/bgp/messages/writer.js';
import { deepFreeze, encodeAfterJunk, hex as h, toHex } from '../helpers/bytes.js';
import { thrownBgpError } from '../helpers/stream.js';

const overrun = (detail: string, at: number): BgpError => new OpenMessageError(0, detail, undefined, at);

const LEAD = h('dead beef 99'); // bytes before the capabilities: offsets in errors must count them
const TAIL = h('02 00 02 00'); // plausible bytes after them that the reader must never reach

/** Decodes `value` placed at offset 5 of a larger buffer, with the reader ending where `value` ends. */
function decodeAt(value: Uint8Array): Capability[] {
  const buf = new Uint8Array(LEAD.length + value.length + TAIL.length);
  buf.set(LEAD, 0);
  buf.set(value, LEAD.length);
  buf.set(TAIL, LEAD.length + value.length);
  return decodeCapabilities(new ByteReader(buf, overrun, LEAD.length, LEAD.length + value.length));
}

function encode(cap: Capability): Uint8Array {
  const w = new ByteWriter(4);
  encodeCapability(cap, w);
  return w.slice();
}

function decodeError(value: Uint8Array): BgpError {
  return thrownBgpError(() => decodeAt(value));
}

interface Case {
  name: string;
  bytes: string;
  cap: Capability;
}

const CASES: Case[] = [
  {
    name: 'multiprotocol ipv4 unicast',
    bytes: `01 04      # code 1, length 4
            0001 00 01 # AFI 1, reserved, SAFI 1`,
    cap: { kind: 'multiprotocol', afi: 1, safi: 1 },
  },
  {
    name: 'multiprotocol ipv6 multicast',
    bytes: '01 04 0002 00 02',
    cap: { kind: 'multiprotocol', afi: 2, safi: 2 },
  },
  { name: 'route refresh', bytes: '02 00', cap: { kind: 'route-refresh' } },
  {
    name: 'extended next hop',
    bytes: `05 0c           # code 5, length 12
            0001 0001 0002  # ipv4 unicast over IPv6 next hops (SAFI is 2 octets here)
            0001 0080 0002  # ipv4 SAFI 128 over IPv6`,
    cap: {
      kind: 'extended-next-hop',
      families: [
        { afi: 1, safi: 1, nextHopAfi: 2 },
        { afi: 1, safi: 128, nextHopAfi: 2 },
      ],
    },
  },
  { name: 'extended message', bytes: '06 00', cap: { kind: 'extended-message' } },
  {
    name: 'graceful restart, no families',
    bytes: '40 02 0078 # flags 0, restart time 120',
    cap: { kind: 'graceful-restart', restartFlags: 0, restartTime: 120, families: [] },
  },
  {
    name: 'graceful restart with R and N bits and families',
    bytes: `40 0a            # code 64, length 10
            cfff             # flags R|N (0xc), restart time 4095
            0001 01 80       # ipv4 unicast, forwarding state preserved
            0002 01 00       # ipv6 unicast, not preserved`,
    cap: {
      kind: 'graceful-restart',
      restartFlags: 0xc,
      restartTime: 4095,
      families: [
        { afi: 1, safi: 1, forwardingState: true },
        { afi: 2, safi: 1, forwardingState: false },
      ],
    },
  },
  {
    name: 'four-octet AS',
    bytes: '41 04 fa56ea01 # AS 4200000001',
    cap: { kind: 'four-octet-as', as: 4200000001 },
  },
  {
    name: 'add-path',
    bytes: `45 0c       # code 69, length 12
            0001 01 01  # ipv4 unicast: receive
            0002 01 02  # ipv6 unicast: send
            0001 02 03  # ipv4 multicast: both`,
    cap: {
      kind: 'add-path',
      families: [
        { afi: 1, safi: 1, send: false, receive: true },
        { afi: 2, safi: 1, send: true, receive: false },
        { afi: 1, safi: 2, send: true, receive: true },
      ],
    },
  },
  { name: 'enhanced route refresh', bytes: '46 00', cap: { kind: 'enhanced-route-refresh' } },
  {
    name: 'long-lived graceful restart',
    bytes: `47 0e               # code 71, length 14
            0001 01 80 000e10   # ipv4 unicast, F bit, stale time 3600
            0002 01 00 ffffff   # ipv6 unicast, stale time 2^24 - 1`,
    cap: {
      kind: 'long-lived-graceful-restart',
      families: [
        { afi: 1, safi: 1, forwardingState: true, staleTime: 3600 },
        { afi: 2, safi: 1, forwardingState: false, staleTime: 0xffffff },
      ],
    },
  },
  {
    name: 'long-lived graceful restart, empty',
    bytes: '47 00',
    cap: { kind: 'long-lived-graceful-restart', families: [] },
  },
  {
    name: 'fqdn',
    bytes: `49 13                       # code 73, length 19
            06 6e6f64652d31             # "node-1"
            0b 6578616d706c652e636f6d   # "example.com"`,
    cap: { kind: 'fqdn', hostname: 'node-1', domainName: 'example.com' },
  },
  {
    name: 'fqdn, UTF-8, empty domain',
    bytes: `49 07               # code 73, length 7
            05 6ec3b66465       # "nöde" (o with diaeresis is 2 octets)
            00                  # no domain name`,
    cap: { kind: 'fqdn', hostname: 'nöde', domainName: '' },
  },
  {
    name: 'software version',
    bytes: `4b 0b                       # code 75, length 11
            0a 7465726e2f302e312e30     # "tern/0.1.0" (10 octets)`,
    cap: { kind: 'software-version', version: 'tern/0.1.0' },
  },
  {
    name: 'unknown code kept as bytes',
    bytes: '80 00 # code 128 (pre-standard route refresh), empty',
    cap: { kind: 'unknown', code: 128, value: new Uint8Array(0) },
  },
  {
    name: 'unknown code with a value',
    bytes: '4a 03 010203 # code 74, three octets',
    cap: { kind: 'unknown', code: 74, value: h('010203') },
  },
];

describe('capability codecs', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      const bytes = h(c.bytes);

      it('decodes the bytes', () => {
        expect(decodeAt(bytes)).toEqual([c.cap]);
      });

      it('encodes to the bytes', () => {
        expect(toHex(encode(c.cap))).toBe(toHex(bytes));
      });

      it('survives encode then decode', () => {
        expect(decodeAt(encode(c.cap))).toEqual([c.cap]);
      });

      it('encodes at an offset', () => {
        const out = encodeAfterJunk(3, (w) => encodeCapability(c.cap, w));
        expect(out.junkIntact).toBe(true);
        expect(toHex(out.written)).toBe(toHex(bytes));
      });

      it('does not mutate what it encodes', () => {
        const frozen = deepFreeze(structuredClone(c.cap));
        expect(toHex(encode(frozen))).toBe(toHex(bytes));
        expect(frozen).toEqual(c.cap);
      });

      it('reports its code', () => {
        expect(capabilityCode(c.cap)).toBe(bytes[0]);
      });
    });
  }

  it('decodes a list of capabilities in order', () => {
    const bytes = h(`01 04 0001 00 01    # multiprotocol ipv4 unicast
                     02 00               # route refresh
                     41 04 0000fde8      # four-octet AS 65000
                     ff 01 07            # unknown 255`);
    expect(decodeAt(bytes)).toEqual([
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'four-octet-as', as: 65000 },
      { kind: 'unknown', code: 255, value: h('07') },
    ]);
  });

  it('decodes an empty list', () => {
    expect(decodeAt(new Uint8Array(0))).toEqual([]);
  });

  it('copies unknown values out of the message buffer', () => {
    const buf = h('4a 02 0102');
    const [cap] = decodeCapabilities(new ByteReader(buf, overrun));
    buf[2] = 0xff;
    expect(cap).toEqual({ kind: 'unknown', code: 74, value: h('0102') });
  });
});

describe('values the RFCs say to ignore or treat as not understood', () => {
  it('ignores the multiprotocol reserved octet', () => {
    expect(decodeAt(h('01 04 0001 ff 01'))).toEqual([{ kind: 'multiprotocol', afi: 1, safi: 1 }]);
  });

  it('ignores reserved bits of graceful restart family flags, keeps the restart flags', () => {
    expect(decodeAt(h('40 06 3078 0001 01 7f'))).toEqual([
      {
        kind: 'graceful-restart',
        restartFlags: 3,
        restartTime: 120,
        families: [{ afi: 1, safi: 1, forwardingState: false }],
      },
    ]);
  });

  it('ignores reserved bits of long-lived graceful restart flags', () => {
    expect(decodeAt(h('47 07 0001 01 ff 000001'))).toEqual([
      {
        kind: 'long-lived-graceful-restart',
        families: [{ afi: 1, safi: 1, forwardingState: true, staleTime: 1 }],
      },
    ]);
  });

  it('keeps an ADD-PATH capability with a send/receive value other than 1-3 as unknown (RFC 7911 4)', () => {
    for (const mode of ['00', '04', 'ff']) {
      const value = h(`0001 01 01  0002 01 ${mode}`);
      expect(decodeAt(h(`45 08 ${toHex(value)}`))).toEqual([{ kind: 'unknown', code: 69, value }]);
    }
  });

  it('keeps an FQDN or software version that is not UTF-8 as unknown, byte for byte', () => {
    const fqdnValue = h('02 c328 00'); // 0xc3 0x28 is not UTF-8
    expect(decodeAt(h(`49 04 ${toHex(fqdnValue)}`))).toEqual([
      { kind: 'unknown', code: 73, value: fqdnValue },
    ]);
    const versionValue = h('01 ff');
    expect(decodeAt(h(`4b 02 ${toHex(versionValue)}`))).toEqual([
      { kind: 'unknown', code: 75, value: versionValue },
    ]);
    const unknown: Capability = { kind: 'unknown', code: 73, value: fqdnValue };
    expect(toHex(encode(unknown))).toBe(`4904${toHex(fqdnValue)}`);
  });

  it('keeps a byte order mark in a host name', () => {
    const bytes = h('49 09 07 efbbbf686f7374 00'); // U+FEFF "host"
    const [cap] = decodeAt(bytes);
    expect(cap).toEqual({ kind: 'fqdn', hostname: '\ufeffhost', domainName: '' });
    expect(toHex(encode(cap!))).toBe(toHex(bytes));
  });
});

describe('malformed capabilities: OPEN Message Error / Unspecific, naming the capability and the offset', () => {
  // LEAD is 5 octets, so the first capability's code is at offset 5 and its length at offset 6.
  const wrongLengths: [string, string, string][] = [
    ['multiprotocol', '01 05 0001 00 01 00', 'expected 4'],
    ['multiprotocol', '01 03 0001 00', 'expected 4'],
    ['route-refresh', '02 01 00', 'expected 0'],
    ['extended-next-hop', '05 04 0001 0001', 'a multiple of 6'],
    ['extended-message', '06 01 00', 'expected 0'],
    ['graceful-restart', '40 01 00', '2 + a multiple of 4'],
    ['graceful-restart', '40 04 0078 0001', '2 + a multiple of 4'],
    ['four-octet-as', '41 02 fde8', 'expected 4'],
    ['add-path', '45 03 0001 01', 'a multiple of 4'],
    ['enhanced-route-refresh', '46 02 0000', 'expected 0'],
    ['long-lived-graceful-restart', '47 04 0001 0100', 'a multiple of 7'],
    ['fqdn', '49 01 00', 'expected 2 + any length'],
    ['software-version', '4b 00', 'expected 1 + any length'],
  ];
  for (const [kind, bytes, expected] of wrongLengths) {
    it(`${kind} with the wrong length: ${bytes}`, () => {
      const e = decodeError(h(bytes));
      expect(e).toBeInstanceOf(OpenMessageError);
      expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 6]);
      expect(e.message).toContain(`${kind} capability (code ${h(bytes)[0]})`);
      expect(e.message).toContain(expected);
    });
  }

  it('a wrong length after a good capability reports its own offset', () => {
    const e = decodeError(h('02 00  41 05 0000fde8 00'));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 8]);
    expect(e.message).toContain('four-octet-as');
  });

  it('a capability longer than the parameter holding it', () => {
    // The TAIL bytes after the reader's end would satisfy the length: the reader must not look there.
    const e = decodeError(h('02 00  41 04 0000'));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 8]);
    expect(e.message).toContain('four-octet-as capability (code 65): length 4, but 2 bytes left');
  });

  it('an unknown capability longer than the parameter holding it', () => {
    const e = decodeError(h('c8 03 0102'));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 6]);
    expect(e.message).toContain('capability 200: length 3');
  });

  it('a capability code with no length octet', () => {
    const e = decodeError(h('02 00  41'));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 8]);
  });

  it('an FQDN host name longer than the capability, though the parameter goes on', () => {
    // Capability length 3: host name length 5 points past the capability into the next one.
    const e = decodeError(h('49 03 05 6162  02 00 02 00'));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 8]);
    expect(e.message).toContain('fqdn capability (code 73): host name');
  });

  it('an FQDN without its domain name length', () => {
    const e = decodeError(h('49 03 02 6162'));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 10]);
    expect(e.message).toContain('fqdn capability (code 73): domain name length');
  });

  it('an FQDN with octets after the domain name', () => {
    const e = decodeError(h('49 05 01 61 00 ffff'));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 10]);
    expect(e.message).toContain('fqdn capability (code 73): 2 bytes after the value');
  });

  it('a software version with octets after the version', () => {
    const e = decodeError(h('4b 03 01 61 62'));
    expect([e.code, e.subcode, e.offset]).toEqual([2, 0, 9]);
    expect(e.message).toContain('software-version capability (code 75)');
  });
});

describe('encoding what cannot be encoded is a caller bug (RangeError)', () => {
  it('rejects a value over 255 octets', () => {
    expect(() => encode({ kind: 'unknown', code: 200, value: new Uint8Array(256) })).toThrow(RangeError);
    expect(() => encode({ kind: 'fqdn', hostname: 'a'.repeat(256), domainName: '' })).toThrow(RangeError);
    expect(() => encode({ kind: 'software-version', version: 'é'.repeat(128) })).toThrow(RangeError);
    const families = Array.from({ length: 64 }, () => ({ afi: 1, safi: 1, send: true, receive: true }));
    expect(() => encode({ kind: 'add-path', families })).toThrow(RangeError);
  });

  it('accepts exactly 255 octets', () => {
    const value = new Uint8Array(255).fill(7);
    const bytes = encode({ kind: 'unknown', code: 200, value });
    expect(bytes.length).toBe(257);
    expect(bytes[1]).toBe(255);
    // host name length + 253 + domain name length = 255
    const fqdnBytes = encode({ kind: 'fqdn', hostname: 'a'.repeat(253), domainName: '' });
    expect(fqdnBytes.length).toBe(2 + 255);
    expect(decodeAt(fqdnBytes)).toEqual([{ kind: 'fqdn', hostname: 'a'.repeat(253), domainName: '' }]);
    expect(() => encode({ kind: 'fqdn', hostname: 'a'.repeat(254), domainName: '' })).toThrow(RangeError);
  });

  it('rejects fields that overflow their bits', () => {
    expect(() =>
      encode({ kind: 'graceful-restart', restartFlags: 16, restartTime: 0, families: [] }),
    ).toThrow(RangeError);
    expect(() =>
      encode({ kind: 'graceful-restart', restartFlags: 0, restartTime: 4096, families: [] }),
    ).toThrow(RangeError);
    expect(() =>
      encode({
        kind: 'long-lived-graceful-restart',
        families: [{ afi: 1, safi: 1, forwardingState: false, staleTime: 2 ** 24 }],
      }),
    ).toThrow(RangeError);
    expect(() =>
      encode({ kind: 'add-path', families: [{ afi: 1, safi: 1, send: false, receive: false }] }),
    ).toThrow(RangeError);
  });
});
