// Interned path-attribute sets (BIRD's rta cache, holo's AttrSets): thousands of routes share one
// deep-frozen attribute object, so equal sets compare by identity (===) and are stored once.
//
// An equal set is found by a canonical key string built from the fields (faster than encoding the
// attributes to wire bytes, see docs/performance.md "RIB"). Owners count their references: `intern`
// and `retain` each take one, `release` gives one back, and a set nobody holds is forgotten.
//
// Identity shortcuts: the interned object itself, and the last object that was interned into it
// (an UPDATE's routes share one attribute object), are found by identity without building a key.
// Objects passed to `intern` must therefore not be changed afterwards; RouteAttributes is immutable
// by contract everywhere in the RIB.
//
// The Loc-RIB keeps the set itself (`internSet`, `releaseSet`): beside the frozen object it carries
// what the decision steps read of it (decision.ts `AttributeRank`), worked out once per set.

import type {
  Aggregator,
  AsPathSegment,
  Ipv6ExtendedCommunity,
  LargeCommunity,
  RawAttribute,
} from '../messages/attributes/types.js';
import type { RouteAttributes } from './adj-rib-in.js';
import { AttributeRank } from './decision.js';

/** An interned set as `internSet` hands it out: the frozen object and its decision ranks. */
export interface InternedSet {
  readonly attrs: RouteAttributes;
  /** What the decision steps read of the set (decision.ts), worked out when first asked for. */
  readonly rank: AttributeRank;
}

class Slot implements InternedSet {
  count = 1;
  /** The last non-interned object that was interned into this set, found by identity. */
  alias: RouteAttributes | undefined = undefined;
  private ranked: AttributeRank | undefined = undefined;
  constructor(
    readonly attrs: RouteAttributes,
    readonly key: string,
    readonly owner: AttributeInterner,
  ) {}

  get rank(): AttributeRank {
    let r = this.ranked;
    if (r === undefined) {
      r = new AttributeRank(this.attrs);
      this.ranked = r;
    }
    return r;
  }
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

const TAG_LINK_LOCAL = 1;
const TAG_ORIGIN = 2;
const TAG_AS_PATH = 3;
const TAG_MED = 4;
const TAG_LOCAL_PREF = 5;
const TAG_ATOMIC = 6;
const TAG_AGGREGATOR = 7;
const TAG_COMMUNITIES = 8;
const TAG_ORIGINATOR = 9;
const TAG_CLUSTER_LIST = 10;
const TAG_EXTENDED = 11;
const TAG_IPV6_EXTENDED = 12;
const TAG_LARGE = 13;
const TAG_UNKNOWN = 14;
/** String.fromCharCode takes its codes as arguments: at most this many per call. */
const CHUNK = 8192;

/**
 * The canonical key of an attribute set, as one flat string of UTF-16 code units: the next hop, then
 * each field present as a tag and its value; numbers (uint32) as two code units, strings and lists
 * length-prefixed, so that no two different sets give the same key. `codes` is scratch space.
 */
export function attributeKey(a: RouteAttributes, codes: number[] = []): string {
  codes.length = 0;
  pushString(codes, a.nextHop);
  if (a.linkLocalNextHop !== undefined) {
    codes.push(TAG_LINK_LOCAL);
    pushString(codes, a.linkLocalNextHop);
  }
  if (a.origin !== undefined) codes.push(TAG_ORIGIN, a.origin);
  const path = a.asPath;
  if (path !== undefined) {
    codes.push(TAG_AS_PATH, path.length);
    for (let i = 0; i < path.length; i++) {
      const s = path[i]!;
      codes.push(s.type);
      pushNumbers(codes, s.asns);
    }
  }
  if (a.med !== undefined) codes.push(TAG_MED, a.med >>> 16, a.med & 0xffff);
  if (a.localPref !== undefined) codes.push(TAG_LOCAL_PREF, a.localPref >>> 16, a.localPref & 0xffff);
  if (a.atomicAggregate !== undefined) codes.push(TAG_ATOMIC, a.atomicAggregate ? 1 : 0);
  if (a.aggregator !== undefined) {
    codes.push(TAG_AGGREGATOR);
    pushNumber(codes, a.aggregator.as);
    pushString(codes, a.aggregator.address);
  }
  if (a.communities !== undefined) {
    codes.push(TAG_COMMUNITIES);
    pushNumbers(codes, a.communities);
  }
  if (a.originatorId !== undefined) {
    codes.push(TAG_ORIGINATOR);
    pushString(codes, a.originatorId);
  }
  if (a.clusterList !== undefined) {
    codes.push(TAG_CLUSTER_LIST, a.clusterList.length);
    for (const id of a.clusterList) pushString(codes, id);
  }
  if (a.extendedCommunities !== undefined) {
    codes.push(TAG_EXTENDED, a.extendedCommunities.length);
    for (const c of a.extendedCommunities) pushString(codes, c.toString(16));
  }
  if (a.ipv6ExtendedCommunities !== undefined) {
    codes.push(TAG_IPV6_EXTENDED, a.ipv6ExtendedCommunities.length);
    for (const c of a.ipv6ExtendedCommunities) {
      codes.push(c.type, c.subtype);
      pushNumber(codes, c.localAdmin);
      pushString(codes, c.address);
    }
  }
  if (a.largeCommunities !== undefined) {
    codes.push(TAG_LARGE, a.largeCommunities.length);
    for (const c of a.largeCommunities) {
      pushNumber(codes, c.globalAdmin);
      pushNumber(codes, c.localData1);
      pushNumber(codes, c.localData2);
    }
  }
  if (a.unknown !== undefined) {
    codes.push(TAG_UNKNOWN, a.unknown.length);
    for (const u of a.unknown) {
      codes.push(u.flags, u.code);
      pushNumber(codes, u.value.length);
      for (let i = 0; i < u.value.length; i++) codes.push(u.value[i]!);
    }
  }
  if (codes.length <= CHUNK) return String.fromCharCode.apply(null, codes);
  let k = '';
  for (let i = 0; i < codes.length; i += CHUNK)
    k += String.fromCharCode.apply(null, codes.slice(i, i + CHUNK));
  return k;
}

/** A uint32 (or any number below 2^32) as two code units. */
function pushNumber(codes: number[], n: number): void {
  codes.push(n >>> 16, n & 0xffff);
}

function pushNumbers(codes: number[], ns: readonly number[]): void {
  codes.push(ns.length);
  for (let i = 0; i < ns.length; i++) codes.push(ns[i]! >>> 16, ns[i]! & 0xffff);
}

function pushString(codes: number[], s: string): void {
  codes.push(s.length);
  for (let i = 0; i < s.length; i++) codes.push(s.charCodeAt(i));
}

function frozenArray<T>(a: readonly T[]): readonly T[] {
  return Object.freeze([...a]);
}

/**
 * A deep-frozen copy with the fields in one fixed order (so interned sets share few hidden classes).
 * The bytes of unknown attributes are copied but cannot be frozen (a typed array can't be).
 */
function frozenCopy(a: RouteAttributes): RouteAttributes {
  const o: Writable<RouteAttributes> = { nextHop: a.nextHop };
  if (a.origin !== undefined) o.origin = a.origin;
  if (a.asPath !== undefined) {
    o.asPath = Object.freeze(
      a.asPath.map((s): AsPathSegment => Object.freeze({ type: s.type, asns: frozenArray(s.asns) })),
    );
  }
  if (a.med !== undefined) o.med = a.med;
  if (a.localPref !== undefined) o.localPref = a.localPref;
  if (a.atomicAggregate !== undefined) o.atomicAggregate = a.atomicAggregate;
  if (a.aggregator !== undefined) {
    o.aggregator = Object.freeze<Aggregator>({ as: a.aggregator.as, address: a.aggregator.address });
  }
  if (a.communities !== undefined) o.communities = frozenArray(a.communities);
  if (a.originatorId !== undefined) o.originatorId = a.originatorId;
  if (a.clusterList !== undefined) o.clusterList = frozenArray(a.clusterList);
  if (a.extendedCommunities !== undefined) o.extendedCommunities = frozenArray(a.extendedCommunities);
  if (a.ipv6ExtendedCommunities !== undefined) {
    o.ipv6ExtendedCommunities = Object.freeze(
      a.ipv6ExtendedCommunities.map((c): Ipv6ExtendedCommunity => Object.freeze({ ...c })),
    );
  }
  if (a.largeCommunities !== undefined) {
    o.largeCommunities = Object.freeze(
      a.largeCommunities.map((c): LargeCommunity => Object.freeze({ ...c })),
    );
  }
  if (a.unknown !== undefined) {
    o.unknown = Object.freeze(
      a.unknown.map(
        (u): RawAttribute => Object.freeze({ flags: u.flags, code: u.code, value: u.value.slice() }),
      ),
    );
  }
  if (a.linkLocalNextHop !== undefined) o.linkLocalNextHop = a.linkLocalNextHop;
  return Object.freeze(o);
}

export class AttributeInterner {
  private readonly byKey = new Map<string, Slot>();
  /** Interned objects and their aliases, by identity. */
  private readonly byObject = new Map<RouteAttributes, Slot>();
  /** Scratch space for attributeKey. */
  private readonly codes: number[] = [];

  /** How many distinct attribute sets are held. */
  get size(): number {
    return this.byKey.size;
  }

  /**
   * The shared frozen object equal to `attrs` (the same object for every equal set), with one more
   * reference counted on it. `attrs` must not be changed afterwards.
   */
  intern(attrs: RouteAttributes): RouteAttributes {
    return this.internSet(attrs).attrs;
  }

  /** As `intern`, but hands out the set with its ranks (what the Loc-RIB keeps). */
  internSet(attrs: RouteAttributes): InternedSet {
    const known = this.byObject.get(attrs);
    if (known !== undefined) {
      known.count++;
      return known;
    }
    const key = attributeKey(attrs, this.codes);
    let slot = this.byKey.get(key);
    if (slot === undefined) {
      slot = new Slot(frozenCopy(attrs), key, this);
      this.byKey.set(key, slot);
      this.byObject.set(slot.attrs, slot);
    } else {
      slot.count++;
    }
    if (slot.alias !== undefined) this.byObject.delete(slot.alias);
    slot.alias = attrs;
    this.byObject.set(attrs, slot);
    return slot;
  }

  /** The interned object of a set equal to `attrs` that was interned through this very object. */
  lookup(attrs: RouteAttributes): RouteAttributes | undefined {
    return this.byObject.get(attrs)?.attrs;
  }

  /** One more reference to an interned set (an object `intern` returned and still held). */
  retain(attrs: RouteAttributes): void {
    this.slotOf(attrs, 'retain').count++;
  }

  /** Gives back one reference; the set is forgotten when none are left. */
  release(attrs: RouteAttributes): void {
    this.drop(this.slotOf(attrs, 'release'));
  }

  /** `release` of a set that `internSet` handed out (no lookup). */
  releaseSet(set: InternedSet): void {
    if (!(set instanceof Slot) || set.owner !== this || set.count <= 0) {
      throw new Error('AttributeInterner.releaseSet: not a set held by this interner');
    }
    this.drop(set);
  }

  /** The set of an interned object (no reference is taken). */
  setOf(attrs: RouteAttributes): InternedSet {
    return this.slotOf(attrs, 'setOf');
  }

  private drop(slot: Slot): void {
    if (--slot.count > 0) return;
    this.byKey.delete(slot.key);
    this.byObject.delete(slot.attrs);
    if (slot.alias !== undefined) this.byObject.delete(slot.alias);
  }

  /** References held on the set of `attrs` (0 when it is not interned). */
  refCount(attrs: RouteAttributes): number {
    return this.byObject.get(attrs)?.count ?? 0;
  }

  /** Whether `attrs` is the interned object of a set still held. */
  isInterned(attrs: RouteAttributes): boolean {
    return this.byObject.get(attrs)?.attrs === attrs;
  }

  private slotOf(attrs: RouteAttributes, what: string): Slot {
    const slot = this.byObject.get(attrs);
    if (slot === undefined || slot.attrs !== attrs) {
      throw new Error(`AttributeInterner.${what}: the attributes are not an interned set`);
    }
    return slot;
  }
}
