import { Address6 } from 'ip-address';
import { describe, expect, it } from 'vitest';
import {
  canonicalIpv6,
  formatIpv4,
  formatIpv4Key,
  formatIpv6,
  formatIpv6Key,
  type Ipv6Key,
  ipv4Key,
  ipv4KeyAddr,
  ipv4KeyLen,
  ipv4Mask,
  ipv6KeyBytes,
  ipv6KeyFromBytes,
  ipv6KeyLen,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
} from '../../src/bgp/messages/prefix.js';
import { toHex } from '../helpers/bytes.js';
import { prng, randInt } from '../helpers/stream.js';

// Independent arithmetic for the oracles: addresses as bigints.
function bigOf(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bytesOf(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  return out;
}

function networkOf(v: bigint, len: number, bits: number): bigint {
  const host = BigInt(bits - len);
  return (v >> host) << host;
}

function randomU32(rand: () => number): number {
  return randInt(rand, 0x10000) * 0x10000 + randInt(rand, 0x10000);
}

/** Random 16 bytes whose groups are often zero, so runs of zeros of every length occur. */
function randomIpv6(rand: () => number): Uint8Array {
  const out = new Uint8Array(16);
  const zeroBias = rand();
  for (let g = 0; g < 8; g++) {
    const r = rand();
    const v =
      r < zeroBias ? 0 : r < zeroBias + (1 - zeroBias) / 3 ? randInt(rand, 16) : randInt(rand, 0x10000);
    out[g * 2] = v >> 8;
    out[g * 2 + 1] = v & 255;
  }
  return out;
}

function longestZeroRun(bytes: Uint8Array): number {
  let best = 0;
  let run = 0;
  for (let g = 0; g < 8; g++) {
    run = bytes[g * 2] === 0 && bytes[g * 2 + 1] === 0 ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

function compare<T>(a: readonly T[], b: readonly T[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return 0;
}

describe('IPv4 keys', () => {
  it('packs address and length as addr * 64 + len', () => {
    expect(ipv4Key(0x0a000000, 8)).toBe(0x0a000000 * 64 + 8);
    expect(ipv4Key(0, 0)).toBe(0);
    expect(ipv4Key(0xffffffff, 32)).toBe(0xffffffff * 64 + 32);
    expect(Number.isSafeInteger(ipv4Key(0xffffffff, 32))).toBe(true);
    expect(ipv4KeyAddr(ipv4Key(0xc0a80100, 24))).toBe(0xc0a80100);
    expect(ipv4KeyLen(ipv4Key(0xc0a80100, 24))).toBe(24);
    expect(ipv4KeyAddr(ipv4Key(0xffffffff, 32))).toBe(0xffffffff);
    expect(ipv4KeyLen(ipv4Key(0xffffffff, 32))).toBe(32);
  });

  it('zeroes host bits', () => {
    expect(ipv4Key(0x0a0000ff, 24)).toBe(ipv4Key(0x0a000000, 24));
    expect(ipv4Key(0xffffffff, 0)).toBe(0);
    expect(ipv4Key(0xffffffff, 1)).toBe(ipv4Key(0x80000000, 1));
    expect(ipv4Key(0xffffffff, 31)).toBe(ipv4Key(0xfffffffe, 31));
    expect(ipv4Mask(0)).toBe(0);
    expect(ipv4Mask(1)).toBe(0x80000000);
    expect(ipv4Mask(24)).toBe(0xffffff00);
    expect(ipv4Mask(32)).toBe(0xffffffff);
  });

  it('round-trips random prefixes through addr and len (seeded, bigint oracle)', () => {
    const rand = prng(4271);
    for (let i = 0; i < 5000; i++) {
      const addr = randomU32(rand);
      const len = randInt(rand, 33);
      const key = ipv4Key(addr, len);
      expect(ipv4KeyLen(key)).toBe(len);
      expect(ipv4KeyAddr(key)).toBe(Number(networkOf(BigInt(addr), len, 32)));
      expect(parseIpv4Prefix(formatIpv4Key(key))).toBe(key);
    }
  });

  it('orders keys like (address, length) and gives one key per prefix (seeded)', () => {
    const rand = prng(64);
    for (let i = 0; i < 5000; i++) {
      // close addresses and lengths, so ties on the address are common
      const base = randomU32(rand) & 0xffffff00;
      const a: [number, number] = [(base | randInt(rand, 4)) >>> 0, randInt(rand, 33)];
      const b: [number, number] = [(base | randInt(rand, 4)) >>> 0, randInt(rand, 33)];
      const ka = ipv4Key(a[0], a[1]);
      const kb = ipv4Key(b[0], b[1]);
      const na: [number, number] = [Number(networkOf(BigInt(a[0]), a[1], 32)), a[1]];
      const nb: [number, number] = [Number(networkOf(BigInt(b[0]), b[1], 32)), b[1]];
      expect(Math.sign(ka - kb)).toBe(compare(na, nb));
      expect(ka === kb).toBe(compare(na, nb) === 0);
    }
  });

  it('formats keys and addresses', () => {
    expect(formatIpv4Key(ipv4Key(0x0a000000, 8))).toBe('10.0.0.0/8');
    expect(formatIpv4Key(0)).toBe('0.0.0.0/0');
    expect(formatIpv4Key(ipv4Key(0xffffffff, 32))).toBe('255.255.255.255/32');
    expect(formatIpv4Key(ipv4Key(0x64400040, 26))).toBe('100.64.0.64/26');
    expect(formatIpv4(0x01020304)).toBe('1.2.3.4');
    expect(formatIpv4(0x80000000)).toBe('128.0.0.0');
  });

  it('parses dotted quads', () => {
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('1.2.3.4')).toBe(0x01020304);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('192.168.100.200')).toBe(0xc0a864c8);
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.256',
      '01.2.3.4',
      '1.2.3.04',
      '00.0.0.0',
      '1.2.3.-4',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '1..3.4',
      'a.b.c.d',
      '1.2.3.4/8',
      '1234.1.1.1',
      '١.٢.٣.٤',
    ]) {
      expect(parseIpv4(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('parses prefixes: host bits rejected unless lenient, lengths above 32 rejected', () => {
    expect(parseIpv4Prefix('10.0.0.0/8')).toBe(ipv4Key(0x0a000000, 8));
    expect(parseIpv4Prefix('0.0.0.0/0')).toBe(0);
    expect(parseIpv4Prefix('10.1.2.3')).toBe(ipv4Key(0x0a010203, 32));
    expect(parseIpv4Prefix('10.1.2.3/32')).toBe(ipv4Key(0x0a010203, 32));
    expect(parseIpv4Prefix('10.0.0.1/8')).toBeUndefined();
    expect(parseIpv4Prefix('10.0.0.1/8', true)).toBe(ipv4Key(0x0a000000, 8));
    expect(parseIpv4Prefix('10.0.0.128/25')).toBe(ipv4Key(0x0a000080, 25));
    expect(parseIpv4Prefix('10.0.0.64/25')).toBeUndefined();
    expect(parseIpv4Prefix('255.255.255.255/0')).toBeUndefined();
    expect(parseIpv4Prefix('255.255.255.255/0', true)).toBe(0);
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0.0/99',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '10.0.0/8',
      '010.0.0.0/8',
      '10.00.0.0/8',
      '300.0.0.0/8',
      '10.0.0.0/ 8',
      '/8',
      '10.0.0.0/x',
    ]) {
      expect(parseIpv4Prefix(bad), bad).toBeUndefined();
      expect(parseIpv4Prefix(bad, true), `${bad} lenient`).toBeUndefined();
    }
  });
});

describe('IPv6 keys', () => {
  it('builds keys from the ceil(len/8) NLRI bytes at an offset', () => {
    const nlri = Uint8Array.from([0xaa, 0xbb, 0xcc, 0x20, 0x01, 0x0d, 0xb8]);
    const key = ipv6KeyFromBytes(nlri, 3, 32);
    expect(formatIpv6Key(key)).toBe('2001:db8::/32');
    expect(ipv6KeyLen(key)).toBe(32);
    expect(key.length).toBe(9);
    expect(formatIpv6Key(ipv6KeyFromBytes(new Uint8Array(0), 0, 0))).toBe('::/0');
    expect(
      formatIpv6Key(ipv6KeyFromBytes(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xff]), 0, 56)),
    ).toBe('2001:db8:1:ff00::/56');
  });

  it('zeroes host bits', () => {
    expect(formatIpv6Key(ipv6KeyFromBytes(Uint8Array.from([0x20, 0x01, 0x0d, 0xbf]), 0, 29))).toBe(
      '2001:db8::/29',
    );
    expect(formatIpv6Key(ipv6KeyFromBytes(Uint8Array.from([0xff, 0xff]), 0, 1))).toBe('8000::/1');
    expect(formatIpv6Key(ipv6KeyFromBytes(Uint8Array.from([0xff, 0xff, 0xff]), 0, 16))).toBe('ffff::/16');
    const all = new Uint8Array(16).fill(0xff);
    expect(formatIpv6Key(ipv6KeyFromBytes(all, 0, 127))).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127');
    expect(formatIpv6Key(ipv6KeyFromBytes(all, 0, 128))).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128');
    expect(ipv6KeyFromBytes(all, 0, 48)).toBe(
      ipv6KeyFromBytes(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0, 48),
    );
  });

  it('matches a bigint oracle on random prefixes (seeded)', () => {
    const rand = prng(2460);
    for (let i = 0; i < 3000; i++) {
      const bytes = randomIpv6(rand);
      for (let j = 0; j < 16; j++) if (rand() < 0.3) bytes[j] = randInt(rand, 256);
      const len = randInt(rand, 129);
      const nbytes = Math.ceil(len / 8);
      // only the NLRI bytes, at an offset, as in an UPDATE
      const nlri = new Uint8Array(5 + nbytes);
      nlri.set(bytes.subarray(0, nbytes), 5);
      const key = ipv6KeyFromBytes(nlri, 5, len);
      expect(ipv6KeyLen(key)).toBe(len);
      expect(toHex(ipv6KeyBytes(key))).toBe(toHex(bytesOf(networkOf(bigOf(bytes), len, 128), 16)));
      expect(key).toBe(ipv6KeyFromBytes(bytes, 0, len));
      expect(parseIpv6Prefix(formatIpv6Key(key))).toBe(key);
    }
  });

  it('orders keys like (address, length) and gives one key per prefix (seeded)', () => {
    const rand = prng(6);
    const keys: Ipv6Key[] = [];
    const oracle: [bigint, number][] = [];
    for (let i = 0; i < 3000; i++) {
      const bytes = randomIpv6(rand);
      const len = randInt(rand, 129);
      keys.push(ipv6KeyFromBytes(bytes, 0, len));
      oracle.push([networkOf(bigOf(bytes), len, 128), len]);
    }
    for (let i = 1; i < keys.length; i++) {
      const a = keys[i - 1]!;
      const b = keys[i]!;
      const expected = compare(oracle[i - 1]!, oracle[i]!);
      expect(a < b ? -1 : a > b ? 1 : 0).toBe(expected);
      expect(a === b).toBe(expected === 0);
    }
    // a plain sort (UTF-16 code unit order) sorts by (address, length)
    const sorted = keys
      .map((k, i) => [k, i] as const)
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    for (let i = 1; i < sorted.length; i++) {
      expect(compare(oracle[sorted[i - 1]![1]]!, oracle[sorted[i]![1]]!)).toBeLessThanOrEqual(0);
    }
    expect([...keys].sort()).toEqual(sorted.map((s) => s[0]));
  });

  it('keys the same prefix equally whatever the host bits and works as a Map key', () => {
    const a = ipv6KeyFromBytes(parseIpv6('2001:db8:1:2::')!, 0, 48);
    const b = ipv6KeyFromBytes(parseIpv6('2001:db8:1:ffff:ffff::1')!, 0, 48);
    expect(a).toBe(b);
    const m = new Map<Ipv6Key, number>([[a, 1]]);
    expect(m.get(b)).toBe(1);
    expect(ipv6KeyFromBytes(parseIpv6('2001:db8:1::')!, 0, 49)).not.toBe(a);
  });
});

describe('formatIpv6 (RFC 5952)', () => {
  const cases: [string, string][] = [
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00010000000000000000000000000000', '1::'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // 4.2.2: one zero group is not compressed
    ['20010000000000010000000000000001', '2001:0:0:1::1'], // 4.2.3: the longest run
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // 4.2.3: the first of equal runs
    ['20010db8aaaabbbbccccddddeeeeffff', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'], // 4.3: lower case
    ['000a000b000c000d000e000f00000000', 'a:b:c:d:e:f::'],
    ['00010002000300040005000600070000', '1:2:3:4:5:6:7:0'],
    ['00000001000200030004000500060007', '0:1:2:3:4:5:6:7'],
    ['fe800000000000000000000000000001', 'fe80::1'],
    ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'], // 5: IPv4-mapped keeps the dotted quad
    ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
    ['00000000000000000000ffffffffffff', '::ffff:255.255.255.255'],
    ['00000000000000000000000001020304', '::102:304'], // IPv4-compatible (deprecated): hex
    ['00000000000000000001ffff01020304', '::1:ffff:102:304'],
  ];

  for (const [hexText, text] of cases) {
    it(`formats ${text}`, () => {
      const bytes = Uint8Array.from(Buffer.from(hexText, 'hex'));
      expect(formatIpv6(bytes)).toBe(text);
      expect(toHex(parseIpv6(text)!)).toBe(hexText);
    });
  }

  it('formats 16 bytes at an offset', () => {
    const bytes = new Uint8Array(20);
    bytes.set([0x20, 0x01, 0x0d, 0xb8], 3);
    bytes[18] = 1;
    expect(formatIpv6(bytes, 3)).toBe('2001:db8::1');
  });

  it('agrees with ip-address correctForm() on random addresses (seeded), except IPv4-mapped ones', () => {
    const rand = prng(5952);
    const longestRuns = new Set<number>();
    for (let i = 0; i < 20000; i++) {
      const bytes = randomIpv6(rand);
      const oracle = Address6.fromUnsignedByteArray(Array.from(bytes));
      const text = formatIpv6(bytes);
      const mapped = bigOf(bytes) >> 32n === 0xffffn;
      if (!mapped) expect(text, toHex(bytes)).toBe(oracle.correctForm());
      expect(toHex(parseIpv6(text)!)).toBe(toHex(bytes));
      longestRuns.add(longestZeroRun(bytes));
    }
    // every length of zero run, from none to all eight groups, was tried
    for (let n = 0; n <= 8; n++) expect(longestRuns.has(n), `longest run of ${n}`).toBe(true);
  });

  it('keeps the dotted quad for IPv4-mapped addresses, where ip-address correctForm() does not', () => {
    // RFC 5952 5 recommends ::ffff:192.0.2.1 for IPv4-mapped addresses. ip-address prints the hex form
    // (::ffff:c000:201) from correctForm() and the mixed one from to4in6().
    const rand = prng(4291);
    for (let i = 0; i < 2000; i++) {
      const v4 = randomU32(rand);
      const bytes = bytesOf((0xffffn << 32n) | BigInt(v4), 16);
      const oracle = Address6.fromUnsignedByteArray(Array.from(bytes));
      expect(formatIpv6(bytes)).toBe(oracle.to4in6());
      expect(formatIpv6(bytes)).toBe(`::ffff:${formatIpv4(v4)}`);
    }
    const example = Address6.fromUnsignedByteArray(Array.from(parseIpv6('::ffff:192.0.2.1')!));
    expect(example.correctForm()).toBe('::ffff:c000:201');
    expect(formatIpv6(parseIpv6('::ffff:192.0.2.1')!)).toBe('::ffff:192.0.2.1');
  });
});

describe('parseIpv6', () => {
  const valid = [
    '::',
    '::1',
    '1::',
    '1::1',
    '2001:db8::',
    '2001:DB8::ABCD',
    '2001:0db8:0000:0000:0000:0000:0000:0001',
    '0:0:0:0:0:0:0:0',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '1::8',
    '1:2:3::6:7:8',
    'a:b:c:d:e:f:1.2.3.4',
    '::ffff:1.2.3.4',
    '::1.2.3.4',
    '64:ff9b::192.0.2.33',
    '1::1.2.3.4',
    '1:2:3:4:5::1.2.3.4',
    'fe80::abcd:ef01',
    'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
    '0000:0000:0000:0000:0000:ffff:255.255.255.255',
  ];
  for (const text of valid) {
    it(`parses ${text} like ip-address does`, () => {
      const bytes = parseIpv6(text);
      expect(bytes).toBeDefined();
      expect(bytes!.length).toBe(16);
      expect(bigOf(bytes!)).toBe(new Address6(text).bigInt());
      expect(canonicalIpv6(text)).toBe(formatIpv6(bytes!));
    });
  }

  it('parses embedded dotted quads into the last 32 bits', () => {
    expect(toHex(parseIpv6('a:b:c:d:e:f:1.2.3.4')!)).toBe('000a000b000c000d000e000f01020304');
    expect(toHex(parseIpv6('::ffff:1.2.3.4')!)).toBe('00000000000000000000ffff01020304');
  });

  const invalid = [
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'g::',
    '::g',
    '1::2::3',
    '1:::2',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    '::1:',
    ':1::',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6::1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::1.2.3',
    '::1.2.3.256',
    '::01.2.3.4',
    '::1.2.3.4:5',
    '::1.2.3.4.5',
    '1.2.3.4',
    ':1.2.3.4',
    'fe80::1%eth0',
    ' ::1',
    '::1 ',
    '2001:db8::/32',
    '0x1::',
    '-1::',
    '1:2:3:4:5:6:7:8:1.2.3.4',
    '0000:0000:0000:0000:0000:0000:ffff:255.255.255.255',
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(parseIpv6(text)).toBeUndefined();
      expect(canonicalIpv6(text)).toBeUndefined();
    });
  }

  it('parses what formatIpv6 prints, and uncompressed, upper-case and zero-padded forms (seeded)', () => {
    const rand = prng(2373);
    for (let i = 0; i < 3000; i++) {
      const bytes = randomIpv6(rand);
      const hexGroups: string[] = [];
      for (let g = 0; g < 8; g++) hexGroups.push(toHex(bytes.subarray(g * 2, g * 2 + 2)));
      const forms = [
        formatIpv6(bytes),
        hexGroups.join(':'),
        hexGroups.join(':').toUpperCase(),
        hexGroups.map((h) => h.replace(/^0+(?=.)/, '')).join(':'),
        new Address6(formatIpv6(bytes)).to4in6(),
      ];
      for (const f of forms) expect(toHex(parseIpv6(f) ?? new Uint8Array(0)), f).toBe(toHex(bytes));
    }
  });
});

describe('IPv6 prefixes', () => {
  it('parses prefixes: host bits rejected unless lenient, lengths above 128 rejected', () => {
    expect(formatIpv6Key(parseIpv6Prefix('2001:db8::/32')!)).toBe('2001:db8::/32');
    expect(formatIpv6Key(parseIpv6Prefix('::/0')!)).toBe('::/0');
    expect(formatIpv6Key(parseIpv6Prefix('2001:db8::1')!)).toBe('2001:db8::1/128');
    expect(formatIpv6Key(parseIpv6Prefix('::ffff:10.0.0.0/104')!)).toBe('::ffff:10.0.0.0/104');
    expect(parseIpv6Prefix('2001:db8::1/64')).toBeUndefined();
    expect(formatIpv6Key(parseIpv6Prefix('2001:db8::1/64', true)!)).toBe('2001:db8::/64');
    expect(parseIpv6Prefix('2001:db8::8000/113')).toBeDefined();
    expect(parseIpv6Prefix('2001:db8::4000/113')).toBeUndefined();
    expect(parseIpv6Prefix('::1/0')).toBeUndefined();
    expect(parseIpv6Prefix('::1/0', true)).toBe(parseIpv6Prefix('::/0'));
    for (const bad of [
      '::/129',
      '::/200',
      '::/',
      '::/-1',
      '::/1/2',
      '1::2::/64',
      '2001:db8::/6x',
      '/64',
      '10.0.0.0/8',
    ]) {
      expect(parseIpv6Prefix(bad), bad).toBeUndefined();
      expect(parseIpv6Prefix(bad, true), `${bad} lenient`).toBeUndefined();
    }
  });

  it('round-trips formatIpv6Key -> parseIpv6Prefix for random keys (seeded)', () => {
    const rand = prng(128);
    for (let i = 0; i < 3000; i++) {
      const len = randInt(rand, 129);
      const key = ipv6KeyFromBytes(randomIpv6(rand), 0, len);
      const text = formatIpv6Key(key);
      expect(text.endsWith(`/${len}`)).toBe(true);
      expect(parseIpv6Prefix(text)).toBe(key);
      expect(ipv6KeyFromBytes(ipv6KeyBytes(key), 0, len)).toBe(key);
    }
  });

  it('formats keys against ip-address for non-mapped prefixes (seeded)', () => {
    const rand = prng(7);
    for (let i = 0; i < 2000; i++) {
      const len = randInt(rand, 129);
      const key = ipv6KeyFromBytes(randomIpv6(rand), 0, len);
      const bytes = ipv6KeyBytes(key);
      if (bigOf(bytes) >> 32n === 0xffffn) continue;
      expect(formatIpv6Key(key)).toBe(
        `${Address6.fromUnsignedByteArray(Array.from(bytes)).correctForm()}/${len}`,
      );
    }
  });
});
