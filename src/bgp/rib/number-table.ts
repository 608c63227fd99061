// Hash tables keyed by prefix keys: IPv4 keys are integers below 2^38, which a Map hashes and compares
// as heap numbers; NumberTable holds them in typed arrays instead (the Loc-RIB's tables, an update
// group's Adj-RIB-Out).

/** Index buckets hold a value's position + 1, so that a new (zeroed) Int32Array is all EMPTY. */
const EMPTY = 0;
const DELETED = -1;
const MIN_BUCKETS = 16;

/**
 * A hash table from IPv4 prefix keys (integers below 2^38) to values. The values sit in an array in
 * the order they were inserted (a freed position is reused first), their keys beside them in a
 * Float64Array, so a value need not carry its key (a number beyond the small integers that an object
 * field would hold as a 16-byte heap number).
 * The hash index is open addressing with linear probing over an Int32Array of positions (plus one, so
 * that 0 is an empty bucket), a probe comparing the key at that position: 8 bytes per key at the
 * index's load of at most half (the keys are not stored twice); a key that is not there costs about
 * one random read. Keeping the values in insertion order also keeps what they point to in that
 * order in memory (the garbage collector moves objects in the order it finds them), so prefixes that
 * arrive in the same order again, as a peer's table does, are read in memory order, and `get`
 * follows them with a cursor without reading the index at all. Twice as fast as a Map with such
 * keys, which are not small integers and so hash and compare as heap numbers. Deleting marks the
 * bucket and frees the position, moving nothing, so `forEach` can delete as it goes; `compact`
 * closes the gaps.
 */
export class NumberTable<V> {
  private index: Int32Array;
  private mask: number;
  /** Values by position, `count` of them; undefined: a free position. */
  private values: (V | undefined)[] = new Array<V | undefined>(MIN_BUCKETS).fill(undefined);
  /** The key of the value at each position. */
  private keys = new Float64Array(MIN_BUCKETS);
  private count = 0;
  private free: number[] = [];
  /** Live keys. */
  size = 0;
  /** Buckets holding a key or a deletion marker: at most half of them. */
  private used = 0;
  /**
   * The position `get` found last, and whether the one before it was just before it: keys asked for
   * in the order they were inserted (a peer's table arriving in the order another's did, or its own
   * did before) are then found at the next position, without a probe of the index.
   */
  private last = -1;
  private inOrder = false;
  /** The key `get` did not find and the bucket it would go to (-1: none), for the `set` after it. */
  private missed = -1;
  private missedAt = 0;

  constructor(buckets = MIN_BUCKETS) {
    this.index = new Int32Array(buckets);
    this.mask = buckets - 1;
  }

  private bucket(k: number): number {
    const lo = k >>> 0;
    const hi = (k / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  get(k: number): V | undefined {
    if (this.inOrder) {
      const next = this.last + 1 < this.count ? this.values[this.last + 1] : undefined;
      if (next !== undefined && this.keys[this.last + 1] === k) {
        this.last++;
        return next;
      }
      this.inOrder = false;
    }
    const index = this.index;
    const keys = this.keys;
    let free = -1;
    for (let b = this.bucket(k); ; b = (b + 1) & this.mask) {
      const x = index[b]!;
      if (x > 0 && keys[x - 1] === k) {
        const pos = x - 1;
        this.inOrder = pos === this.last + 1;
        this.last = pos;
        return this.values[pos];
      }
      if (x === EMPTY) {
        this.missed = k;
        this.missedAt = free >= 0 ? free : b;
        return undefined;
      }
      if (x === DELETED && free < 0) free = b;
    }
  }

  /**
   * Inserts or overwrites (k >= 0, k the value's own key). Overwriting an existing key never moves
   * anything (safe inside `forEach`).
   */
  set(k: number, v: V): void {
    const found = this.last >= 0 ? this.values[this.last] : undefined;
    if (found !== undefined && this.keys[this.last] === k) {
      // what `get` just found (the usual overwrite)
      this.values[this.last] = v;
      return;
    }
    const index = this.index;
    let free = -1;
    let b: number;
    if (k === this.missed) {
      // what `get` just did not find: its bucket is known
      b = this.missedAt;
      if (index[b] === DELETED) free = b;
    } else {
      const keys = this.keys;
      for (b = this.bucket(k); ; b = (b + 1) & this.mask) {
        const x = index[b]!;
        if (x > 0 && keys[x - 1] === k) {
          this.values[x - 1] = v;
          return;
        }
        if (x === EMPTY) break;
        if (x === DELETED && free < 0) free = b;
      }
    }
    this.missed = -1;
    let pos: number;
    if (this.free.length > 0) {
      pos = this.free.pop()!;
    } else {
      if (this.count === this.values.length) this.grow(this.count * 2);
      pos = this.count++;
    }
    this.values[pos] = v;
    this.keys[pos] = k;
    this.size++;
    if (free >= 0) {
      index[free] = pos + 1;
      return;
    }
    index[b] = pos + 1;
    const buckets = this.mask + 1;
    if (++this.used * 2 > buckets) this.rehash(this.size * 4 > buckets ? buckets * 2 : buckets);
  }

  delete(k: number): boolean {
    const index = this.index;
    const keys = this.keys;
    for (let b = this.bucket(k); ; b = (b + 1) & this.mask) {
      const x = index[b]!;
      if (x > 0 && keys[x - 1] === k) {
        const pos = x - 1;
        this.missed = -1;
        index[b] = DELETED;
        this.values[pos] = undefined;
        this.free.push(pos);
        this.size--;
        return true;
      }
      if (x === EMPTY) return false;
    }
  }

  /** Calls fn for every entry, in position order; fn may delete that key or overwrite any existing one. */
  forEach(fn: (v: V, k: number) => void): void {
    const values = this.values;
    const n = this.count;
    for (let p = 0; p < n; p++) {
      const v = values[p];
      if (v !== undefined) fn(v, this.keys[p]!);
    }
  }

  /**
   * Closes the gaps and shrinks after many deletions, keeping room for `room` keys (a table that
   * fills and empties again and again keeps what it needs instead of growing each time); never call
   * it from inside `forEach`.
   */
  compact(room = 0): void {
    const minBuckets = Math.max(MIN_BUCKETS, room * 2);
    let moved = false;
    if (this.free.length > MIN_BUCKETS && this.free.length * 2 > this.count) {
      moved = true;
      let n = 0;
      for (let p = 0; p < this.count; p++) {
        const v = this.values[p];
        if (v === undefined) continue;
        this.keys[n] = this.keys[p]!;
        this.values[n++] = v;
      }
      this.count = n;
      this.free = [];
      let cap = MIN_BUCKETS;
      while (cap < n || cap < room) cap *= 2;
      if (cap !== this.values.length) this.grow(cap);
      else for (let p = n; p < this.values.length; p++) this.values[p] = undefined;
    }
    let buckets = this.mask + 1;
    while (buckets > minBuckets && this.size * 8 < buckets) buckets >>= 1;
    if (moved || buckets <= this.mask) this.rehash(buckets, moved);
  }

  /**
   * A new index of `buckets` buckets. Without `fromPositions` the old index is read in bucket order:
   * its keys then land in the new one nearly in order (bucket i goes to i or i + old size when it
   * doubles), which keeps the writes sequential; after `compact` moved the positions, from those.
   */
  private rehash(buckets: number, fromPositions = false): void {
    this.missed = -1;
    const old = this.index;
    this.index = new Int32Array(buckets);
    this.mask = buckets - 1;
    this.used = this.size;
    if (fromPositions) {
      const values = this.values;
      for (let p = 0; p < this.count; p++) {
        const v = values[p];
        if (v !== undefined) this.place(this.keys[p]!, p);
      }
      return;
    }
    for (let i = 0; i < old.length; i++) {
      const x = old[i]!;
      if (x > 0) this.place(this.keys[x - 1]!, x - 1);
    }
  }

  /** The positions array with room for `cap` (doubling: fewer large arrays than push growth makes). */
  private grow(cap: number): void {
    const values = new Array<V | undefined>(cap).fill(undefined);
    for (let p = 0; p < this.count; p++) values[p] = this.values[p];
    this.values = values;
    const keys = new Float64Array(cap);
    keys.set(this.keys.subarray(0, Math.min(this.count, cap)));
    this.keys = keys;
  }

  private place(k: number, pos: number): void {
    const index = this.index;
    let b = this.bucket(k);
    while (index[b] !== EMPTY) b = (b + 1) & this.mask;
    index[b] = pos + 1;
  }
}

/** Prefix keys to values: number keys (IPv4) in a NumberTable, string keys (IPv6, ADD-PATH) in a Map. */
export class PrefixTable<V> {
  private strings: Map<string, V> | undefined;

  private readonly numbers = new NumberTable<V>();

  get size(): number {
    return this.numbers.size + (this.strings?.size ?? 0);
  }

  get(k: number | string): V | undefined {
    return typeof k === 'number' ? this.numbers.get(k) : this.strings?.get(k);
  }

  set(k: number | string, v: V): void {
    if (typeof k === 'number') {
      this.numbers.set(k, v);
      return;
    }
    if (this.strings === undefined) this.strings = new Map();
    this.strings.set(k, v);
  }

  delete(k: number | string): boolean {
    return typeof k === 'number' ? this.numbers.delete(k) : (this.strings?.delete(k) ?? false);
  }

  /** Numbers first, then strings; fn may delete the key it is given or overwrite any existing one. */
  forEach(fn: (v: V, prefix: number | string) => void): void {
    this.numbers.forEach(fn);
    this.strings?.forEach(fn);
  }

  /** See NumberTable.compact. */
  compact(room = 0): void {
    this.numbers.compact(room);
  }
}
