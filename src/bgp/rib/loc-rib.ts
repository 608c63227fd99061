// Loc-RIB (RFC 4271 3.2): every candidate route per prefix, from every peer and our own, and the best
// of them by the decision process (decision.ts). Pure data: each call reports the prefixes whose
// best route changed, and the caller (speaker, reflector, FIB sync) acts on those changes.
//
// Memory layout: per family a table (IPv4 keys in a NumberTable, below; IPv6 keys in a Map) from the
// prefix key to either
//   - a Route: the only candidate, and it is eligible, so it is the best ('only-route'); this is the
//     common case (a Calico block is announced by one node), and costs nothing besides the Route;
//   - an Entry: two or more candidates, or a single one whose next hop is unresolvable.
// Attribute sets are interned (intern.ts): one reference per stored route, given back on removal.
//
// Selection. Where the decision steps order a prefix's candidates totally (alwaysCompareMed, or all
// of them from one neighbour AS: the usual case, and the Entry keeps track), a change needs at most
// one comparison: a new or replaced candidate against the best. The best being replaced by a worse
// route or withdrawn, and candidates from several neighbour ASes (the MED rule, see decision.ts),
// run `bestRoute` over all of them again. The result is always what `bestRoute` over the candidates
// gives (test/prop/decision.prop.test.ts checks it). The reason the best won is kept as long as one
// comparison tells it; otherwise it is worked out when asked for (`entries`, a Change).

import type { RouteAttributes } from './adj-rib-in.js';
import {
  bestRoute,
  compareDepth,
  type DecisionOptions,
  type DecisionReason,
  neighbourAs,
  reasonAtDepth,
  reasonDepth,
} from './decision.js';
import { AttributeInterner } from './intern.js';
import type { Route } from './types.js';

/** A prefix whose best route changed: a new best, a different one, or none left. */
export interface Change {
  readonly family: number;
  readonly prefix: number | string;
  /** The best route before (absent: there was none). */
  readonly before?: Route;
  /** The best route now (absent: none is left, or none is eligible). */
  readonly after?: Route;
  /** Why `after` is best (beat the runner-up at this step); absent with `after`. */
  readonly reason?: DecisionReason;
}

/** One prefix as `entries` reports it. */
export interface LocRibEntry {
  readonly prefix: number | string;
  /** Every candidate, in arrival order (a replaced route keeps its place). */
  readonly routes: readonly Route[];
  readonly best?: Route;
  readonly reason?: DecisionReason;
}

/** Several candidates, or a lone one that is not eligible. */
class Entry {
  constructor(
    readonly routes: Route[],
    /** The path key (see `LocRib.pathKey`) of each route, so that finding one reads no route. */
    readonly keys: number[],
    public best: Route | undefined,
    /** Why best won; undefined while best is, or while it is not known (see reasonOf). */
    public reason: DecisionReason | undefined,
    /** The neighbour AS of every candidate, or -1 when they differ (or did, before removals). */
    public nas: number,
  ) {}
}

type Slot = Route | Entry;

// ---- prefix tables ----

const EMPTY = -1;
const DELETED = -2;
const MIN_CAPACITY = 16;

/**
 * A hash table from number keys (IPv4 prefix keys: integers below 2^38) to values: open addressing
 * with linear probing, keys in a Float64Array, values in an array beside it. Twice as fast as a Map
 * with such keys, which are not small integers and so hash and compare as heap numbers; and smaller
 * (no boxed key, no chain link). Deleting leaves a marker and moves nothing, so `forEach` can delete
 * as it goes; markers are cleared when an insertion rehashes, and by `compact`.
 */
class NumberTable<V> {
  private keys: Float64Array;
  private values: (V | undefined)[];
  private mask: number;
  /** Live keys. */
  size = 0;
  /** Slots holding a key or a deletion marker: at most half of them. */
  private used = 0;

  constructor(capacity = MIN_CAPACITY) {
    this.keys = new Float64Array(capacity).fill(EMPTY);
    this.values = filled(capacity);
    this.mask = capacity - 1;
  }

  private slot(k: number): number {
    const lo = k >>> 0;
    const hi = (k / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  get(k: number): V | undefined {
    const keys = this.keys;
    for (let i = this.slot(k); ; i = (i + 1) & this.mask) {
      const x = keys[i]!;
      if (x === k) return this.values[i];
      if (x === EMPTY) return undefined;
    }
  }

  /** Inserts or overwrites (k >= 0). Overwriting an existing key never rehashes (safe inside `forEach`). */
  set(k: number, v: V): void {
    const keys = this.keys;
    let free = -1;
    let i = this.slot(k);
    for (; ; i = (i + 1) & this.mask) {
      const x = keys[i]!;
      if (x === k) {
        this.values[i] = v;
        return;
      }
      if (x === EMPTY) break;
      if (x === DELETED && free < 0) free = i;
    }
    this.size++;
    if (free >= 0) {
      keys[free] = k;
      this.values[free] = v;
      return;
    }
    keys[i] = k;
    this.values[i] = v;
    if (++this.used * 2 > keys.length)
      this.rehash(this.size * 4 > keys.length ? keys.length * 2 : keys.length);
  }

  delete(k: number): boolean {
    const keys = this.keys;
    for (let i = this.slot(k); ; i = (i + 1) & this.mask) {
      const x = keys[i]!;
      if (x === k) {
        keys[i] = DELETED;
        this.values[i] = undefined;
        this.size--;
        return true;
      }
      if (x === EMPTY) return false;
    }
  }

  /** Calls fn for every entry; fn may delete that key or overwrite any existing one. */
  forEach(fn: (v: V, k: number) => void): void {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k >= 0) fn(this.values[i]!, k);
    }
  }

  /** Shrinks after many deletions; never call it from inside `forEach`. */
  compact(): void {
    let cap = this.keys.length;
    while (cap > MIN_CAPACITY && this.size * 8 < cap) cap >>= 1;
    if (cap < this.keys.length) this.rehash(cap);
  }

  private rehash(capacity: number): void {
    const keys = this.keys;
    const values = this.values;
    this.keys = new Float64Array(capacity).fill(EMPTY);
    this.values = filled(capacity);
    this.mask = capacity - 1;
    this.used = this.size;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j]!;
      if (k < 0) continue;
      let i = this.slot(k);
      while (this.keys[i] !== EMPTY) i = (i + 1) & this.mask;
      this.keys[i] = k;
      this.values[i] = values[j];
    }
  }
}

/** An array of n undefined. */
function filled<V>(n: number): (V | undefined)[] {
  return new Array<V | undefined>(n).fill(undefined);
}

/** One family's prefixes: number keys (IPv4) in a NumberTable, string keys (IPv6) in a Map. */
class Table {
  private readonly numbers = new NumberTable<Slot>();
  private strings: Map<string, Slot> | undefined;

  get size(): number {
    return this.numbers.size + (this.strings?.size ?? 0);
  }

  get(k: number | string): Slot | undefined {
    return typeof k === 'number' ? this.numbers.get(k) : this.strings?.get(k);
  }

  set(k: number | string, v: Slot): void {
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

  /** fn may delete the prefix it is given or overwrite any existing one, nothing else. */
  forEach(fn: (slot: Slot, prefix: number | string) => void): void {
    this.numbers.forEach(fn);
    this.strings?.forEach(fn);
  }

  compact(): void {
    this.numbers.compact();
  }
}

function samePath(a: Route, peerId: string, pathId: number | undefined): boolean {
  return a.peer.id === peerId && a.pathId === pathId;
}

/** Whether a change of best would be visible: another path or another attribute set. */
function sameBest(a: Route | undefined, b: Route | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return a.attributes === b.attributes && a.peer.id === b.peer.id && a.pathId === b.pathId;
}

function change(
  family: number,
  prefix: number | string,
  before: Route | undefined,
  after: Route | undefined,
  reason: DecisionReason | undefined,
): Change {
  if (after === undefined) return before === undefined ? { family, prefix } : { family, prefix, before };
  if (before === undefined) return { family, prefix, after, reason };
  return { family, prefix, before, after, reason };
}

function commonNeighbourAs(routes: readonly Route[]): number {
  if (routes.length === 0) return -1;
  const nas = neighbourAs(routes[0]!.attributes);
  for (let i = 1; i < routes.length; i++) if (neighbourAs(routes[i]!.attributes) !== nas) return -1;
  return nas;
}

/** Path keys: peer number * 2^33 + path id (2^32 without one); exact doubles below 2^53. */
const NO_PATH_ID = 4294967296;
const PEER_STRIDE = 8589934592;

export class LocRib {
  private readonly tables = new Map<number, Table>();
  /** A small number per peer id ever seen, for path keys. */
  private readonly peerNumbers = new Map<string, number>();
  private routeCount = 0;
  readonly interner: AttributeInterner;

  /** `interner` may be shared with other RIBs; by default the Loc-RIB has its own. */
  constructor(
    private readonly opts: DecisionOptions,
    interner?: AttributeInterner,
  ) {
    this.interner = interner ?? new AttributeInterner();
  }

  /** Candidate routes held, over all families. */
  get size(): number {
    return this.routeCount;
  }

  /** Prefixes held in one family, or in all. */
  prefixCount(family?: number): number {
    if (family !== undefined) return this.tables.get(family)?.size ?? 0;
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }

  families(): number[] {
    return [...this.tables.keys()];
  }

  /**
   * Adds a candidate, or replaces the one from the same peer with the same path id (implicit
   * withdrawal, RFC 4271 3.1). Its attributes are interned; the stored route may be a copy holding
   * the interned set.
   */
  update(route: Route): Change | undefined {
    if (typeof route.prefix === 'number' && !(route.prefix >= 0)) {
      throw new RangeError(`prefix key ${route.prefix} is not a non-negative number`);
    }
    const attrs = this.interner.intern(route.attributes);
    const r: Route = attrs === route.attributes ? route : { ...route, attributes: attrs };
    const family = r.family;
    const prefix = r.prefix;
    const table = this.table(family);
    const slot = table.get(prefix);
    if (slot === undefined) {
      this.routeCount++;
      if (this.resolvable(r)) {
        table.set(prefix, r);
        return { family, prefix, after: r, reason: 'only-route' };
      }
      table.set(prefix, this.loneEntry(r));
      return undefined;
    }
    if (!(slot instanceof Entry)) {
      if (samePath(slot, r.peer.id, r.pathId)) {
        this.interner.release(slot.attributes);
        if (this.resolvable(r)) {
          table.set(prefix, r);
          return sameBest(slot, r) ? undefined : change(family, prefix, slot, r, 'only-route');
        }
        table.set(prefix, this.loneEntry(r));
        return change(family, prefix, slot, undefined, undefined);
      }
      this.routeCount++;
      const keys = [this.pathKey(slot.peer.id, slot.pathId), this.pathKey(r.peer.id, r.pathId)];
      const e = new Entry([slot, r], keys, slot, 'only-route', neighbourAs(slot.attributes));
      table.set(prefix, e);
      return this.added(family, prefix, table, e, r);
    }
    const key = this.pathKey(r.peer.id, r.pathId);
    const i = slot.keys.indexOf(key);
    if (i >= 0) return this.replaced(family, prefix, table, slot, i, r);
    slot.routes.push(r);
    slot.keys.push(key);
    this.routeCount++;
    return this.added(family, prefix, table, slot, r);
  }

  /** The interned set equal to `attrs`, when the Loc-RIB holds one (no reference is taken). */
  interned(attrs: RouteAttributes): RouteAttributes | undefined {
    return this.interner.lookup(attrs);
  }

  /** Removes the candidate from `peerId` with `pathId` (undefined without ADD-PATH). */
  withdraw(family: number, prefix: number | string, peerId: string, pathId?: number): Change | undefined {
    const table = this.tables.get(family);
    const slot = table?.get(prefix);
    if (table === undefined || slot === undefined) return undefined;
    if (!(slot instanceof Entry)) {
      if (!samePath(slot, peerId, pathId)) return undefined;
      table.delete(prefix);
      this.routeCount--;
      this.interner.release(slot.attributes);
      return { family, prefix, before: slot };
    }
    const n = this.peerNumbers.get(peerId);
    const i = n === undefined ? -1 : slot.keys.indexOf(n * PEER_STRIDE + (pathId ?? NO_PATH_ID));
    if (i < 0) return undefined;
    const old = slot.routes[i]!;
    this.interner.release(old.attributes);
    slot.routes.splice(i, 1);
    slot.keys.splice(i, 1);
    this.routeCount--;
    if (old === slot.best || !this.ordered(slot)) return this.reselect(family, prefix, table, slot);
    // a loser left: the best stays; the runner-up may have been the one
    if (slot.best !== undefined && this.resolvable(old)) slot.reason = undefined;
    this.settle(prefix, table, slot);
    return undefined;
  }

  /** Removes every candidate from `peerId` (session down), in the given families or all. */
  withdrawPeer(peerId: string, families?: readonly number[]): Change[] {
    return this.removeWhere(peerId, families, false);
  }

  /**
   * RFC 4724 4.2: marks the routes from a restarting peer stale. They stay candidates, ranked as
   * before, until replaced or swept; the stored routes become copies with `stale: true` (the best
   * route too, without a Change: nothing visible changed). Returns how many were marked.
   */
  markStale(peerId: string, families: readonly number[]): number {
    const [lo, hi] = this.keyRange(peerId);
    let marked = 0;
    for (const family of families) {
      const table = this.tables.get(family);
      if (table === undefined) continue;
      table.forEach((slot, prefix) => {
        if (!(slot instanceof Entry)) {
          if (slot.peer.id === peerId && slot.stale !== true) {
            table.set(prefix, { ...slot, stale: true });
            marked++;
          }
          return;
        }
        const keys = slot.keys;
        for (let i = 0; i < keys.length; i++) {
          const r = slot.routes[i]!;
          if (keys[i]! < lo || keys[i]! >= hi || r.stale === true) continue;
          const s: Route = { ...r, stale: true };
          slot.routes[i] = s;
          if (slot.best === r) slot.best = s;
          marked++;
        }
      });
    }
    return marked;
  }

  /** Removes the routes from `peerId` still stale (End-of-RIB received, or the restart timer ran out). */
  sweepStale(peerId: string, families?: readonly number[]): Change[] {
    return this.removeWhere(peerId, families, true);
  }

  /**
   * Runs selection again on every prefix (in the given families or all), for when what
   * `nextHopResolvable` answers has changed.
   */
  reevaluate(families?: readonly number[]): Change[] {
    const out: Change[] = [];
    for (const family of families ?? [...this.tables.keys()]) {
      const table = this.tables.get(family);
      if (table === undefined) continue;
      table.forEach((slot, prefix) => {
        if (!(slot instanceof Entry)) {
          if (!this.resolvable(slot)) {
            table.set(prefix, this.loneEntry(slot));
            out.push({ family, prefix, before: slot });
          }
          return;
        }
        const c = this.reselect(family, prefix, table, slot);
        if (c !== undefined) out.push(c);
      });
    }
    return out;
  }

  /** The best route to a prefix, if any is eligible. */
  best(family: number, prefix: number | string): Route | undefined {
    const slot = this.tables.get(family)?.get(prefix);
    return slot instanceof Entry ? slot.best : slot;
  }

  /** Every candidate for a prefix, in arrival order: a live view, copy it to keep it. */
  candidates(family: number, prefix: number | string): readonly Route[] {
    const slot = this.tables.get(family)?.get(prefix);
    if (slot === undefined) return [];
    return slot instanceof Entry ? slot.routes : [slot];
  }

  /**
   * Every prefix of a family with its candidates (live views) and best route, in no particular order.
   * Works out the reasons not known yet (see the top of the file).
   */
  entries(family: number): LocRibEntry[] {
    const out: LocRibEntry[] = [];
    this.tables.get(family)?.forEach((slot, prefix) => {
      if (!(slot instanceof Entry)) out.push({ prefix, routes: [slot], best: slot, reason: 'only-route' });
      else if (slot.best === undefined) out.push({ prefix, routes: slot.routes });
      else out.push({ prefix, routes: slot.routes, best: slot.best, reason: this.reasonOf(slot) });
    });
    return out;
  }

  /** Calls `fn` for the best route of every prefix of a family that has one (nothing allocated). */
  forEachBest(family: number, fn: (prefix: number | string, best: Route) => void): void {
    this.tables.get(family)?.forEach((slot, prefix) => {
      if (!(slot instanceof Entry)) fn(prefix, slot);
      else if (slot.best !== undefined) fn(prefix, slot.best);
    });
  }

  /** Calls `fn` for every prefix of a family. */
  forEachPrefix(family: number, fn: (prefix: number | string) => void): void {
    this.tables.get(family)?.forEach((_slot, prefix) => {
      fn(prefix);
    });
  }

  // ---- internals ----

  private table(family: number): Table {
    let t = this.tables.get(family);
    if (t === undefined) {
      t = new Table();
      this.tables.set(family, t);
    }
    return t;
  }

  private resolvable(r: Route): boolean {
    const f = this.opts.nextHopResolvable;
    return f === undefined || f(r);
  }

  /** Identifies a candidate within an Entry: (peer, path id) as one number. */
  private pathKey(peerId: string, pathId: number | undefined): number {
    let n = this.peerNumbers.get(peerId);
    if (n === undefined) {
      n = this.peerNumbers.size;
      this.peerNumbers.set(peerId, n);
    }
    return n * PEER_STRIDE + (pathId ?? NO_PATH_ID);
  }

  /** The path keys of a peer's routes: lo <= key < hi (empty when it has none in an Entry). */
  private keyRange(peerId: string): [number, number] {
    const n = this.peerNumbers.get(peerId);
    return n === undefined ? [0, 0] : [n * PEER_STRIDE, (n + 1) * PEER_STRIDE];
  }

  private loneEntry(r: Route): Entry {
    return new Entry(
      [r],
      [this.pathKey(r.peer.id, r.pathId)],
      undefined,
      undefined,
      neighbourAs(r.attributes),
    );
  }

  /** Whether the steps order the Entry's candidates totally (see the top of the file). */
  private ordered(e: Entry): boolean {
    return e.nas !== -1 || this.opts.alwaysCompareMed;
  }

  private track(e: Entry, r: Route): void {
    if (e.nas !== -1 && neighbourAs(r.attributes) !== e.nas) e.nas = -1;
  }

  /** Why the best won, worked out now if it was not known. */
  private reasonOf(e: Entry): DecisionReason | undefined {
    if (e.best !== undefined && e.reason === undefined) e.reason = bestRoute(e.routes, this.opts)?.reason;
    return e.reason;
  }

  /** `r` was appended to the Entry's candidates. */
  private added(
    family: number,
    prefix: number | string,
    table: Table,
    e: Entry,
    r: Route,
  ): Change | undefined {
    this.track(e, r);
    if (!this.ordered(e)) return this.reselect(family, prefix, table, e);
    return this.resolvable(r) ? this.challenge(family, prefix, e, r, undefined) : undefined;
  }

  /**
   * An eligible `r` has joined the candidates (of an ordered Entry) beside the best, or none. `known`:
   * the reason before a loser left, if e.reason was cleared for that (the loser may have been the
   * runner-up).
   */
  private challenge(
    family: number,
    prefix: number | string,
    e: Entry,
    r: Route,
    known: DecisionReason | undefined,
  ): Change | undefined {
    const best = e.best;
    if (best === undefined) {
      e.best = r;
      e.reason = 'only-route';
      return change(family, prefix, undefined, r, 'only-route');
    }
    const d = compareDepth(best, r, this.opts);
    if (d > 0) {
      // r beats best at step d; best is the runner-up (everything else lost to it at d or earlier)
      e.best = r;
      e.reason = reasonAtDepth(d);
      return change(family, prefix, best, r, e.reason);
    }
    // r lost at step -d: that is the reason when no other loser held out longer
    if (e.reason !== undefined) {
      if (-d > reasonDepth(e.reason)) e.reason = reasonAtDepth(-d);
    } else if (known !== undefined && -d >= reasonDepth(known)) {
      e.reason = reasonAtDepth(-d);
    }
    return undefined;
  }

  /** The candidate at `i` is replaced by `r` (same peer, same path id). */
  private replaced(
    family: number,
    prefix: number | string,
    table: Table,
    e: Entry,
    i: number,
    r: Route,
  ): Change | undefined {
    const old = e.routes[i]!;
    this.interner.release(old.attributes);
    e.routes[i] = r;
    this.track(e, r);
    if (!this.ordered(e)) return this.reselect(family, prefix, table, e);
    const best = e.best;
    if (old === best) {
      const d = this.resolvable(r) ? compareDepth(r, old, this.opts) : 1;
      if (d > 0) return this.reselect(family, prefix, table, e); // worse than before: look at all
      // at least as good as the old best at step -d, so better than every other candidate; against
      // the runner-up (which lost to the old best at step k) it wins at min(-d, k)
      e.best = r;
      if (e.reason !== undefined && e.reason !== 'only-route') {
        e.reason = reasonAtDepth(Math.min(-d, reasonDepth(e.reason)));
      }
      return sameBest(old, r) ? undefined : change(family, prefix, old, r, this.reasonOf(e));
    }
    const known = e.reason;
    if (best !== undefined && this.resolvable(old)) e.reason = undefined;
    return this.resolvable(r) ? this.challenge(family, prefix, e, r, known) : undefined;
  }

  private removeWhere(peerId: string, families: readonly number[] | undefined, staleOnly: boolean): Change[] {
    const out: Change[] = [];
    const [lo, hi] = this.keyRange(peerId);
    for (const family of families ?? [...this.tables.keys()]) {
      const table = this.tables.get(family);
      if (table === undefined) continue;
      table.forEach((slot, prefix) => {
        if (!(slot instanceof Entry)) {
          if (slot.peer.id !== peerId || (staleOnly && slot.stale !== true)) return;
          table.delete(prefix);
          this.routeCount--;
          this.interner.release(slot.attributes);
          out.push({ family, prefix, before: slot });
          return;
        }
        const { routes, keys } = slot;
        let kept = 0;
        let lostBest = false;
        let lostEligible = false;
        for (let i = 0; i < routes.length; i++) {
          const r = routes[i]!;
          const k = keys[i]!;
          if (k >= lo && k < hi && (!staleOnly || r.stale === true)) {
            this.interner.release(r.attributes);
            if (r === slot.best) lostBest = true;
            else if (!lostEligible && this.resolvable(r)) lostEligible = true;
          } else {
            routes[kept] = r;
            keys[kept++] = k;
          }
        }
        if (kept === routes.length) return;
        this.routeCount -= routes.length - kept;
        routes.length = kept;
        keys.length = kept;
        if (lostBest || !this.ordered(slot)) {
          const c = this.reselect(family, prefix, table, slot);
          if (c !== undefined) out.push(c);
          return;
        }
        if (lostEligible && slot.best !== undefined) slot.reason = undefined;
        this.settle(prefix, table, slot);
      });
      table.compact();
    }
    return out;
  }

  /** Selects the best of all of an Entry's candidates again and reports a change of best. */
  private reselect(family: number, prefix: number | string, table: Table, e: Entry): Change | undefined {
    const before = e.best;
    if (e.nas === -1) e.nas = commonNeighbourAs(e.routes);
    const sel = e.routes.length === 0 ? undefined : bestRoute(e.routes, this.opts);
    e.best = sel?.best;
    e.reason = sel?.reason;
    this.settle(prefix, table, e);
    if (sameBest(before, e.best)) return undefined;
    return change(family, prefix, before, e.best, e.reason);
  }

  /** An Entry left with one eligible candidate goes back to holding just the Route; an empty one goes. */
  private settle(prefix: number | string, table: Table, e: Entry): void {
    if (e.routes.length === 0) table.delete(prefix);
    else if (e.routes.length === 1 && e.best !== undefined) table.set(prefix, e.best);
  }
}
