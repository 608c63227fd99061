// The update packer: many prefixes sharing one attribute set go into as few UPDATEs as the negotiated
// size allows, every message within it, and decoding them all gives back exactly what went in.
// Expected message counts are worked out here from the wire sizes of RFC 4271 4.3 / RFC 4760, not
// from the packer's own arithmetic.

import { describe, expect, it } from 'vitest';
import type { MpReachUnicast, PathAttributes } from '../../src/bgp/messages/attributes/types.js';
import { type CodecContext, makeContext } from '../../src/bgp/messages/context.js';
import { familyKey } from '../../src/bgp/messages/iana.js';
import type { Ipv4Prefixes, Ipv6Prefixes, PrefixList } from '../../src/bgp/messages/nlri.js';
import { ipv4Key, ipv6KeyFromBytes } from '../../src/bgp/messages/prefix.js';
import { endOfRibFamily, type UpdateMessage } from '../../src/bgp/messages/update.js';
import { packAnnouncements, packWithdrawals } from '../../src/bgp/messages/update-packer.js';
import { decodeUpdateBytes, deepFreeze, hex, toHex, v4Prefix } from '../helpers/bytes.js';

const N = 10_000;
const HEADER = 19;
const UPDATE_FIXED = HEADER + 2 + 2; // header, Withdrawn Routes Length, Total Path Attribute Length

/** N consecutive /26s from 10.0.0.0 (10.0.0.0/26, 10.0.0.64/26, ...). */
function v4Prefixes(n: number, pathIds?: (i: number) => number): Ipv4Prefixes {
  const prefixes = Array.from({ length: n }, (_, i) => ipv4Key(0x0a000000 + i * 64, 26));
  return pathIds ? { afi: 1, prefixes, pathIds: prefixes.map((_, i) => pathIds(i)) } : { afi: 1, prefixes };
}

/** N consecutive /122s from 2001:db8::. */
function v6Prefixes(n: number, pathIds?: (i: number) => number): Ipv6Prefixes {
  const bytes = hex('20010db8 00000000 00000000 00000000');
  const prefixes = Array.from({ length: n }, (_, i) => {
    const v = i * 64;
    bytes[12] = (v >>> 24) & 255;
    bytes[13] = (v >>> 16) & 255;
    bytes[14] = (v >>> 8) & 255;
    bytes[15] = v & 255;
    return ipv6KeyFromBytes(bytes, 0, 122);
  });
  return pathIds ? { afi: 2, prefixes, pathIds: prefixes.map((_, i) => pathIds(i)) } : { afi: 2, prefixes };
}

/**
 * The fewest messages that carry items of `sizes` in order when each message has `room` bytes for
 * them: filling each message as far as it goes is optimal for an ordered sequence.
 */
function fewestMessages(sizes: readonly number[], room: number): number {
  let count = 0;
  let used = room;
  for (const s of sizes) {
    if (used + s > room) {
      count++;
      used = 0;
    }
    used += s;
  }
  return count;
}

const ATTRS: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [65000] }],
  nextHop: '192.0.2.1',
  localPref: 100,
  communities: [0xfde80064],
};
/** ATTRS on the wire: 4 + 9 + 7 + 7 + 7 = 34 bytes. */
const ATTRS_HEX = '40010100 4002060201 0000fde8 400304c0000201 40050400000064 c00804fde80064';

const NH6 = '2001:db8::1';
const TEMPLATE: MpReachUnicast = {
  kind: 'unicast',
  afi: 2,
  safi: 1,
  nextHop: NH6,
  nlri: { afi: 2, prefixes: [] },
};
const ATTRS6: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [65000] }],
  localPref: 100,
  mpReach: TEMPLATE,
};
/** ATTRS6 without MP_REACH_NLRI: 4 + 9 + 7 = 20 bytes. */
const ATTRS6_REST = 20;
/** MP_REACH_NLRI without NLRI, Extended Length: header 4 + AFI 2 + SAFI 1 + next hop length 1 + 16 + reserved 1. */
const MP_REACH_FIXED = 4 + 2 + 1 + 1 + 16 + 1;

interface Packed {
  readonly messages: readonly UpdateMessage[];
}

/** Decodes every message, checking each against the maximum length. */
function decodeAll(out: readonly Uint8Array[], ctx: CodecContext, max: number): Packed {
  for (const b of out) {
    expect(b.length).toBeLessThanOrEqual(max);
    expect((b[16]! << 8) | b[17]!).toBe(b.length);
  }
  return { messages: out.map((b) => decodeUpdateBytes(b, ctx)) };
}

function concatPrefixes(lists: readonly PrefixList[]): {
  prefixes: (number | string)[];
  pathIds: number[] | undefined;
} {
  const prefixes: (number | string)[] = [];
  let pathIds: number[] | undefined;
  for (const l of lists) {
    prefixes.push(...l.prefixes);
    if (l.pathIds) {
      pathIds ??= [];
      pathIds.push(...l.pathIds);
    }
  }
  return { prefixes, pathIds };
}

/** Every message but the last is full: the next prefix would not have fitted. */
function expectFull(out: readonly Uint8Array[], nextSizes: readonly number[], max: number): void {
  for (let i = 0; i < out.length - 1; i++) expect(out[i]!.length + nextSizes[i]!).toBeGreaterThan(max);
}

describe('packAnnouncements, IPv4 in the NLRI field', () => {
  const prefixes = v4Prefixes(N);

  it(`packs ${N} /26s into the fewest messages of at most 4096 bytes`, () => {
    const ctx = makeContext();
    const out = packAnnouncements(ATTRS, prefixes, ctx);
    // each /26 takes 1 + 4 bytes; a message has 4096 - 23 - 34 = 4039 bytes for them: 807 a message
    const expected = fewestMessages(new Array(N).fill(5), 4096 - UPDATE_FIXED - hex(ATTRS_HEX).length);
    expect(expected).toBe(13);
    expect(out.length).toBe(expected);
    const { messages } = decodeAll(out, ctx, 4096);
    for (const [i, b] of out.entries()) {
      // the attributes on the wire are exactly the hand-written ones
      expect(toHex(b.subarray(UPDATE_FIXED, UPDATE_FIXED + 34))).toBe(toHex(hex(ATTRS_HEX)));
      expect(messages[i]!.attributes).toEqual(ATTRS);
      expect(messages[i]!.withdrawn.prefixes).toEqual([]);
      expect(messages[i]!.problems).toBeUndefined();
    }
    expect(concatPrefixes(messages.map((m) => m.nlri))).toEqual({
      prefixes: prefixes.prefixes,
      pathIds: undefined,
    });
    expectFull(out, new Array(out.length).fill(5), 4096);
  });

  it('uses up to 65535 bytes with the Extended Message capability', () => {
    const ctx = makeContext({ extendedMessage: true });
    expect(packAnnouncements(ATTRS, prefixes, ctx).length).toBe(1); // 23 + 34 + 50000 bytes
    const many = v4Prefixes(30_000);
    const out = packAnnouncements(ATTRS, many, ctx);
    expect(out.length).toBe(fewestMessages(new Array(30_000).fill(5), 65535 - UPDATE_FIXED - 34));
    expect(out.length).toBe(3);
    const { messages } = decodeAll(out, ctx, 65535);
    expect(concatPrefixes(messages.map((m) => m.nlri)).prefixes).toEqual(many.prefixes);
    for (const m of messages) expect(m.attributes).toEqual(ATTRS);
    expectFull(out, [5, 5], 65535);
  });

  it('carries ADD-PATH path identifiers', () => {
    const ctx = makeContext({ addPath: new Set([familyKey(1, 1), familyKey(2, 1)]) });
    const withIds = v4Prefixes(N, (i) => (i % 3) + 1);
    const out = packAnnouncements(ATTRS, withIds, ctx);
    // 4 + 1 + 4 bytes each: 448 a message
    expect(out.length).toBe(fewestMessages(new Array(N).fill(9), 4096 - UPDATE_FIXED - 34));
    const { messages } = decodeAll(out, ctx, 4096);
    expect(concatPrefixes(messages.map((m) => m.nlri))).toEqual({
      prefixes: withIds.prefixes,
      pathIds: withIds.pathIds,
    });
    for (const m of messages) expect(m.attributes).toEqual(ATTRS);
  });

  it('writes path identifier 0 when ADD-PATH is on but the list has none', () => {
    const ctx = makeContext({ addPath: new Set([familyKey(1, 1)]) });
    const out = packAnnouncements(ATTRS, v4Prefixes(3), ctx);
    expect(decodeUpdateBytes(out[0]!, ctx).nlri.pathIds).toEqual([0, 0, 0]);
  });

  it('packs prefixes of mixed lengths in order, each message as full as it can be', () => {
    const ctx = makeContext();
    const lens = [0, 8, 16, 24, 25, 32];
    const prefixes: Ipv4Prefixes = {
      afi: 1,
      prefixes: Array.from({ length: 3000 }, (_, i) => ipv4Key((i * 0x01010100) >>> 0, lens[i % 6]!)),
    };
    const sizes = prefixes.prefixes.map((k) => 1 + Math.ceil((k % 64) / 8));
    const out = packAnnouncements(ATTRS, prefixes, ctx);
    expect(out.length).toBe(fewestMessages(sizes, 4096 - UPDATE_FIXED - 34));
    const { messages } = decodeAll(out, ctx, 4096);
    expect(concatPrefixes(messages.map((m) => m.nlri)).prefixes).toEqual(prefixes.prefixes);
    let at = 0;
    const next: number[] = [];
    for (const m of messages) {
      at += m.nlri.prefixes.length;
      next.push(sizes[at] ?? 0);
    }
    expectFull(out, next, 4096);
  });

  it('writes the exact bytes of a small announcement', () => {
    const out = packAnnouncements(ATTRS, {
      afi: 1,
      prefixes: [v4Prefix('10.0.0.0/26'), v4Prefix('10.1.0.0/16')],
    });
    expect(out.map(toHex)).toEqual([
      toHex(hex(`ffffffffffffffffffffffffffffffff 0041 02  0000 0022 ${ATTRS_HEX}  1a 0a000000  10 0a01`)),
    ]);
  });

  it('returns nothing for no prefixes, and appends to the given array', () => {
    expect(packAnnouncements(ATTRS, { afi: 1, prefixes: [] })).toEqual([]);
    const out: Uint8Array[] = [new Uint8Array([1])];
    expect(packAnnouncements(ATTRS, v4Prefixes(2), makeContext(), out)).toBe(out);
    expect(out.length).toBe(2);
  });

  it('never modifies its arguments', () => {
    const attrs = deepFreeze(structuredClone(ATTRS));
    const frozen = deepFreeze(v4Prefixes(2000, (i) => i));
    const ctx = makeContext({ addPath: new Set([familyKey(1, 1)]) });
    const out = packAnnouncements(attrs, frozen, ctx);
    expect(attrs).toEqual(ATTRS);
    expect(frozen).toEqual(v4Prefixes(2000, (i) => i));
    expect(concatPrefixes(out.map((b) => decodeUpdateBytes(b, ctx).nlri)).prefixes).toEqual(frozen.prefixes);
  });

  it('refuses attributes that leave no room for one prefix', () => {
    const big: PathAttributes = {
      ...ATTRS,
      unknown: [{ flags: 0xe0, code: 99, value: new Uint8Array(4096 - 23 - 34 - 4) }],
    };
    expect(() => packAnnouncements(big, v4Prefixes(1))).toThrow(RangeError);
  });
});

describe('packAnnouncements, IPv6 in MP_REACH_NLRI', () => {
  const prefixes = v6Prefixes(N);

  it(`packs ${N} /122s into the fewest messages of at most 4096 bytes`, () => {
    const ctx = makeContext();
    const out = packAnnouncements(ATTRS6, prefixes, ctx);
    // each /122 takes 1 + 16 bytes; 4096 - 23 - 20 - 25 = 4028 bytes for them: 236 a message
    const expected = fewestMessages(
      new Array(N).fill(17),
      4096 - UPDATE_FIXED - ATTRS6_REST - MP_REACH_FIXED,
    );
    expect(expected).toBe(43);
    expect(out.length).toBe(expected);
    const { messages } = decodeAll(out, ctx, 4096);
    const lists: PrefixList[] = [];
    for (const m of messages) {
      const { mpReach, ...rest } = m.attributes;
      expect(rest).toEqual({ origin: 0, asPath: [{ type: 2, asns: [65000] }], localPref: 100 });
      if (mpReach?.kind !== 'unicast') throw new Error('no unicast MP_REACH_NLRI');
      expect({ afi: mpReach.afi, safi: mpReach.safi, nextHop: mpReach.nextHop }).toEqual({
        afi: 2,
        safi: 1,
        nextHop: NH6,
      });
      expect(m.nlri.prefixes).toEqual([]);
      expect(m.problems).toBeUndefined();
      lists.push(mpReach.nlri);
    }
    expect(concatPrefixes(lists)).toEqual({ prefixes: prefixes.prefixes, pathIds: undefined });
    expectFull(out, new Array(out.length).fill(17), 4096);
  });

  it('writes MP_REACH_NLRI first', () => {
    const out = packAnnouncements(ATTRS6, v6Prefixes(2));
    expect(out[0]![UPDATE_FIXED + 1]).toBe(14);
  });

  it('carries a link-local next hop and ADD-PATH path identifiers', () => {
    const ctx = makeContext({ addPath: new Set([familyKey(1, 1), familyKey(2, 1)]) });
    const template: MpReachUnicast = { ...TEMPLATE, linkLocalNextHop: 'fe80::1' };
    const withIds = v6Prefixes(N, (i) => 1000 + i);
    const out = packAnnouncements({ ...ATTRS6, mpReach: template }, withIds, ctx);
    expect(out.length).toBe(
      fewestMessages(new Array(N).fill(21), 4096 - UPDATE_FIXED - ATTRS6_REST - MP_REACH_FIXED - 16),
    );
    const { messages } = decodeAll(out, ctx, 4096);
    const lists: PrefixList[] = [];
    for (const m of messages) {
      const r = m.attributes.mpReach;
      if (r?.kind !== 'unicast') throw new Error('no unicast MP_REACH_NLRI');
      expect(r.linkLocalNextHop).toBe('fe80::1');
      lists.push(r.nlri);
    }
    expect(concatPrefixes(lists)).toEqual({ prefixes: withIds.prefixes, pathIds: withIds.pathIds });
  });

  it('uses up to 65535 bytes with the Extended Message capability', () => {
    const ctx = makeContext({ extendedMessage: true });
    const out = packAnnouncements(ATTRS6, prefixes, ctx);
    expect(out.length).toBe(
      fewestMessages(new Array(N).fill(17), 65535 - UPDATE_FIXED - ATTRS6_REST - MP_REACH_FIXED),
    );
    expect(out.length).toBe(3);
    decodeAll(out, ctx, 65535);
  });

  it('puts IPv4 prefixes in MP_REACH_NLRI with an IPv6 next hop when given a template (RFC 8950)', () => {
    const out = packAnnouncements({ ...ATTRS6, mpReach: TEMPLATE }, v4Prefixes(3));
    const m = decodeUpdateBytes(out[0]!);
    expect(m.nlri.prefixes).toEqual([]);
    expect(m.attributes.mpReach).toEqual({
      kind: 'unicast',
      afi: 1,
      safi: 1,
      nextHop: NH6,
      nlri: v4Prefixes(3),
    });
  });

  it('refuses IPv6 prefixes without an MP_REACH_NLRI template', () => {
    expect(() => packAnnouncements(ATTRS, v6Prefixes(1))).toThrow(TypeError);
  });

  it('never modifies its arguments', () => {
    const attrs = deepFreeze(structuredClone(ATTRS6));
    const frozen = deepFreeze(v6Prefixes(500));
    const out = packAnnouncements(attrs, frozen);
    expect(attrs).toEqual(ATTRS6);
    expect(out.length).toBe(3);
  });
});

describe('packWithdrawals', () => {
  it(`withdraws ${N} IPv4 /26s in the Withdrawn Routes field, fewest messages`, () => {
    const ctx = makeContext();
    const prefixes = v4Prefixes(N);
    const out = packWithdrawals(prefixes, ctx);
    // 4096 - 23 = 4073 bytes for 5-byte prefixes: 814 a message
    expect(out.length).toBe(fewestMessages(new Array(N).fill(5), 4096 - UPDATE_FIXED));
    expect(out.length).toBe(13);
    const { messages } = decodeAll(out, ctx, 4096);
    for (const m of messages) {
      expect(m.attributes).toEqual({});
      expect(m.nlri.prefixes).toEqual([]);
      expect(endOfRibFamily(m)).toBeUndefined();
    }
    expect(concatPrefixes(messages.map((m) => m.withdrawn))).toEqual({
      prefixes: prefixes.prefixes,
      pathIds: undefined,
    });
    expectFull(out, new Array(out.length).fill(5), 4096);
  });

  it(`withdraws ${N} IPv6 /122s in MP_UNREACH_NLRI, fewest messages`, () => {
    const ctx = makeContext();
    const prefixes = v6Prefixes(N);
    const out = packWithdrawals(prefixes, ctx);
    // MP_UNREACH_NLRI header 4 (Extended Length) + AFI 2 + SAFI 1: 4066 bytes for 17-byte prefixes
    expect(out.length).toBe(fewestMessages(new Array(N).fill(17), 4096 - UPDATE_FIXED - 7));
    expect(out.length).toBe(42);
    const { messages } = decodeAll(out, ctx, 4096);
    const lists: PrefixList[] = [];
    for (const m of messages) {
      const u = m.attributes.mpUnreach;
      if (u?.kind !== 'unicast') throw new Error('no unicast MP_UNREACH_NLRI');
      expect(Object.keys(m.attributes)).toEqual(['mpUnreach']);
      expect(m.withdrawn.prefixes).toEqual([]);
      lists.push(u.withdrawn);
    }
    expect(concatPrefixes(lists)).toEqual({ prefixes: prefixes.prefixes, pathIds: undefined });
    expectFull(out, new Array(out.length).fill(17), 4096);
  });

  it('carries ADD-PATH path identifiers in both families', () => {
    const ctx = makeContext({ addPath: new Set([familyKey(1, 1), familyKey(2, 1)]) });
    const v4 = v4Prefixes(N, (i) => i);
    const out4 = packWithdrawals(v4, ctx);
    expect(out4.length).toBe(fewestMessages(new Array(N).fill(9), 4096 - UPDATE_FIXED));
    expect(concatPrefixes(decodeAll(out4, ctx, 4096).messages.map((m) => m.withdrawn))).toEqual({
      prefixes: v4.prefixes,
      pathIds: v4.pathIds,
    });
    const v6 = v6Prefixes(N, (i) => N - i);
    const out6 = packWithdrawals(v6, ctx);
    expect(out6.length).toBe(fewestMessages(new Array(N).fill(21), 4096 - UPDATE_FIXED - 7));
    const lists = decodeAll(out6, ctx, 4096).messages.map((m) => {
      const u = m.attributes.mpUnreach;
      if (u?.kind !== 'unicast') throw new Error('no unicast MP_UNREACH_NLRI');
      return u.withdrawn;
    });
    expect(concatPrefixes(lists)).toEqual({ prefixes: v6.prefixes, pathIds: v6.pathIds });
  });

  it('uses up to 65535 bytes with the Extended Message capability', () => {
    const ctx = makeContext({ extendedMessage: true });
    const v4 = v4Prefixes(30_000);
    const out = packWithdrawals(v4, ctx);
    expect(out.length).toBe(fewestMessages(new Array(30_000).fill(5), 65535 - UPDATE_FIXED));
    expect(concatPrefixes(decodeAll(out, ctx, 65535).messages.map((m) => m.withdrawn)).prefixes).toEqual(
      v4.prefixes,
    );
  });

  it('writes the exact bytes of a small withdrawal', () => {
    expect(packWithdrawals({ afi: 1, prefixes: [v4Prefix('10.0.0.0/26')] }).map(toHex)).toEqual([
      toHex(hex('ffffffffffffffffffffffffffffffff 001c 02  0005 1a 0a000000  0000')),
    ]);
    expect(packWithdrawals(v6Prefixes(1)).map(toHex)).toEqual([
      toHex(
        hex(
          'ffffffffffffffffffffffffffffffff 002e 02  0000 0017  80 0f 14 0002 01  7a 20010db8 00000000 00000000 00000000',
        ),
      ),
    ]);
  });

  it('never modifies its argument', () => {
    const frozen = deepFreeze(v6Prefixes(300, (i) => i));
    const ctx = makeContext({ addPath: new Set([familyKey(2, 1)]) });
    expect(packWithdrawals(frozen, ctx).length).toBe(2);
    expect(frozen).toEqual(v6Prefixes(300, (i) => i));
  });
});
