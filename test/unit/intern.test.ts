// Attribute interning (src/bgp/rib/intern.ts): equal sets give the identical frozen object, distinct
// sets stay distinct, references are counted and a set nobody holds is dropped; the set handed out
// with its decision ranks (internSet, for the Loc-RIB).

import { describe, expect, it } from 'vitest';
import { AsPathSegmentType, Origin } from '../../src/bgp/messages/iana.js';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import { AttributeInterner, attributeKey } from '../../src/bgp/rib/intern.js';

function full(): RouteAttributes {
  return {
    origin: Origin.IGP,
    asPath: [
      { type: AsPathSegmentType.AS_SEQUENCE, asns: [65001, 4200000001] },
      { type: AsPathSegmentType.AS_SET, asns: [1, 2] },
    ],
    nextHop: '2001:db8::1',
    linkLocalNextHop: 'fe80::1',
    med: 10,
    localPref: 200,
    atomicAggregate: true,
    aggregator: { as: 65001, address: '192.0.2.1' },
    communities: [0xfde80001, 0xffffff01],
    originatorId: '10.0.0.1',
    clusterList: ['10.0.0.2', '10.0.0.3'],
    extendedCommunities: [0x0002fde800000001n],
    ipv6ExtendedCommunities: [{ type: 0, subtype: 2, address: '2001:db8::2', localAdmin: 7 }],
    largeCommunities: [{ globalAdmin: 65001, localData1: 1, localData2: 2 }],
    unknown: [{ flags: 0xe0, code: 99, value: new Uint8Array([0x7c, 0, 255]) }],
  };
}

describe('AttributeInterner', () => {
  it('equal sets from different objects give one identical, deep-frozen copy', () => {
    const i = new AttributeInterner();
    const a = full();
    const b = full();
    const x = i.intern(a);
    const y = i.intern(b);
    expect(y).toBe(x);
    expect(x).not.toBe(a);
    expect(x).toEqual(a);
    expect(i.size).toBe(1);
    expect(i.refCount(x)).toBe(2);
    expect(Object.isFrozen(x)).toBe(true);
    expect(Object.isFrozen(x.asPath)).toBe(true);
    expect(Object.isFrozen(x.asPath![0])).toBe(true);
    expect(Object.isFrozen(x.asPath![0]!.asns)).toBe(true);
    expect(Object.isFrozen(x.aggregator)).toBe(true);
    expect(Object.isFrozen(x.communities)).toBe(true);
    expect(Object.isFrozen(x.clusterList)).toBe(true);
    expect(Object.isFrozen(x.ipv6ExtendedCommunities![0])).toBe(true);
    expect(Object.isFrozen(x.largeCommunities![0])).toBe(true);
    expect(Object.isFrozen(x.unknown![0])).toBe(true);
    // the bytes are a copy: the caller's buffer may be reused
    expect(x.unknown![0]!.value).not.toBe(a.unknown![0]!.value);
    expect(a.asPath![0]!.asns).not.toBe(x.asPath![0]!.asns);
    expect(Object.isFrozen(a)).toBe(false);
  });

  it('interning the interned object, or the same input again, finds it by identity', () => {
    const i = new AttributeInterner();
    const a = full();
    const x = i.intern(a);
    expect(i.intern(x)).toBe(x);
    expect(i.intern(a)).toBe(x);
    expect(i.refCount(x)).toBe(3);
    expect(i.isInterned(x)).toBe(true);
    expect(i.isInterned(a)).toBe(false);
  });

  it('every field takes part in equality', () => {
    const base = full();
    const variants: RouteAttributes[] = [
      { ...base, origin: Origin.EGP },
      { ...base, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001, 4200000001, 1, 2] }] },
      { ...base, asPath: [{ type: AsPathSegmentType.AS_SET, asns: [65001, 4200000001] }, base.asPath![1]!] },
      { ...base, nextHop: '2001:db8::2' },
      { ...base, linkLocalNextHop: undefined },
      { ...base, med: 11 },
      { ...base, localPref: 100 },
      { ...base, atomicAggregate: false },
      { ...base, aggregator: { as: 65002, address: '192.0.2.1' } },
      { ...base, communities: [0xfde80001] },
      { ...base, originatorId: '10.0.0.9' },
      { ...base, clusterList: ['10.0.0.2'] },
      { ...base, extendedCommunities: [1n] },
      { ...base, ipv6ExtendedCommunities: [] },
      { ...base, largeCommunities: [{ globalAdmin: 65001, localData1: 1, localData2: 3 }] },
      { ...base, unknown: [{ flags: 0xe0, code: 99, value: new Uint8Array([0x7c, 0, 254]) }] },
      { ...base, unknown: undefined },
    ];
    const i = new AttributeInterner();
    const seen = new Set([i.intern(base), ...variants.map((v) => i.intern(v))]);
    expect(seen.size).toBe(variants.length + 1);
    expect(i.size).toBe(variants.length + 1);
  });

  it('absent, undefined and zero-valued fields are told apart correctly', () => {
    const i = new AttributeInterner();
    const plain = i.intern({ nextHop: '192.0.2.1' });
    expect(i.intern({ nextHop: '192.0.2.1', med: undefined })).toBe(plain);
    expect(i.intern({ nextHop: '192.0.2.1', med: 0 })).not.toBe(plain);
    expect(i.intern({ nextHop: '192.0.2.1', asPath: [] })).not.toBe(plain);
    expect(i.intern({ nextHop: '192.0.2.1', communities: [] })).not.toBe(plain);
    expect(Object.keys(plain)).toEqual(['nextHop']);
    // no field can run into the next one
    expect(attributeKey({ nextHop: '1', med: 12 })).not.toBe(
      attributeKey({ nextHop: '1', med: 1, localPref: 2 }),
    );
    expect(
      attributeKey({
        nextHop: '1',
        unknown: [{ flags: 0xc0, code: 1, value: new TextEncoder().encode('|m5') }],
      }),
    ).not.toBe(
      attributeKey({ nextHop: '1', unknown: [{ flags: 0xc0, code: 1, value: new Uint8Array() }], med: 5 }),
    );
  });

  it('large sets: a long unknown attribute, many communities', () => {
    const i = new AttributeInterner();
    const big = (last: number): RouteAttributes => {
      const value = new Uint8Array(40_000).fill(7);
      value[value.length - 1] = last;
      return {
        nextHop: '192.0.2.1',
        communities: Array.from({ length: 5000 }, (_, n) => n),
        unknown: [{ flags: 0xe0, code: 200, value }],
      };
    };
    const a = i.intern(big(1));
    expect(i.intern(big(1))).toBe(a);
    expect(i.intern(big(2))).not.toBe(a);
    expect(attributeKey(big(1)).length).toBeGreaterThan(40_000);
  });

  it('counts references; the last release drops the set and its alias', () => {
    const i = new AttributeInterner();
    const a = full();
    const x = i.intern(a);
    i.retain(x);
    expect(i.refCount(x)).toBe(2);
    i.release(x);
    expect(i.size).toBe(1);
    i.release(x);
    expect(i.size).toBe(0);
    expect(i.refCount(x)).toBe(0);
    expect(i.refCount(a)).toBe(0);
    expect(i.isInterned(x)).toBe(false);
    // interned again: a new object
    const y = i.intern(full());
    expect(y).not.toBe(x);
    expect(y).toEqual(x);
    // the old input object is no longer an alias of anything
    expect(i.intern(a)).toBe(y);
    expect(i.refCount(y)).toBe(2);
  });

  it('only the last input object is kept as an alias', () => {
    const i = new AttributeInterner();
    const a = full();
    const b = full();
    const x = i.intern(a);
    i.intern(b);
    expect(i.refCount(a)).toBe(0);
    expect(i.refCount(b)).toBe(2);
    expect(i.intern(a)).toBe(x);
  });

  it('internSet hands out the set with its decision ranks; releaseSet gives it back', () => {
    const i = new AttributeInterner();
    const a = full();
    const set = i.internSet(a);
    expect(set.attrs).toBe(i.intern(a));
    expect(i.refCount(set.attrs)).toBe(2);
    expect(i.setOf(set.attrs)).toBe(set);
    // worked out once, when first asked for
    expect(set.rank).toBe(set.rank);
    expect(set.rank).toMatchObject({
      localPref: 200,
      pathLength: 3,
      origin: Origin.IGP,
      med: 10,
      neighbourAs: 65001,
      clusterLength: 2,
      originator: 0x0a000001,
    });
    expect(new AttributeInterner().internSet({ nextHop: '192.0.2.1' }).rank).toMatchObject({
      localPref: -1,
      pathLength: 0,
      origin: Origin.INCOMPLETE,
      med: 0,
      neighbourAs: 0,
      clusterLength: 0,
      originator: -1,
    });
    i.releaseSet(set);
    i.releaseSet(set);
    expect(i.size).toBe(0);
    expect(() => i.releaseSet(set)).toThrow(/not a set held/);
    expect(() => i.setOf(set.attrs)).toThrow(/not an interned set/);
    expect(() => new AttributeInterner().releaseSet(i.internSet(full()))).toThrow(/not a set held/);
  });

  it('retain and release of objects that are not interned sets are bugs', () => {
    const i = new AttributeInterner();
    const a = full();
    const x = i.intern(a);
    expect(() => i.release(a)).toThrow(/not an interned set/);
    expect(() => i.retain(full())).toThrow(/not an interned set/);
    i.release(x);
    expect(() => i.release(x)).toThrow(/not an interned set/);
  });
});
