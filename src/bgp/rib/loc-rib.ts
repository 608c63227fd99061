// Loc-RIB (RFC 4271 3.2): every candidate route per prefix, from every peer and our own, and the best
// of them by the decision process (decision.ts). Pure data: each call reports the prefixes whose
// best route changed, and the caller (speaker, reflector, FIB sync) acts on those changes.
//
// Memory layout: per family a table (IPv4 keys in a NumberTable, below; IPv6 keys in a Map) from the
// prefix key to either
//   - a Path (a Route without its prefix): the only candidate, and it is eligible, so it is the best
//     ('only-route'); this is the common case (a Calico block is announced by one node). Consecutive
//     updates with the same peer, attributes and path id (an UPDATE's prefixes) share one Path, so
//     such a prefix costs its table slot and nothing else; the Route is built when asked for;
//   - an Entry: two or more candidates, or a single one whose next hop is unresolvable. An Entry is
//     one array: a header (the best as a Route object, where its cells start, why it won, the common
//     neighbour AS), then four cells per candidate: its interned attribute set (with the set's
//     decision ranks), its peer's ranks (with the PeerInfo), its path key and its flags (stale,
//     eligible). The Route objects of the other candidates are not kept: they die young, which
//     spares the garbage collector copying them, and `candidates` builds them again when asked.
// Attribute sets are interned (intern.ts): one reference per stored route, given back on removal.
//
// Selection. Where the decision steps order a prefix's candidates totally (alwaysCompareMed, or all
// of them from one neighbour AS: the usual case, and the Entry keeps track), a change needs at most
// one comparison: a new or replaced candidate against the best, over the ranks (`compareRanked`: no
// route read, no text parsed). The best being replaced by a worse route or withdrawn, and candidates
// from several neighbour ASes (the MED rule, see decision.ts), run the selection over all of them
// again (`selectFrom`, the code `bestRoute` runs). The result is always what `bestRoute` over the
// candidates gives (test/prop/decision.prop.test.ts checks it). The reason the best won is kept as
// long as one comparison tells it; otherwise it is worked out when asked for (`entries`, a Change).
// Whether a candidate is eligible (`nextHopResolvable`) is asked when it arrives (about the route as
// given to `update`) and again by `reevaluate`, which the owner calls when the answers may have
// changed; selection in between uses the answers kept in the flags.

import type { RouteAttributes } from './adj-rib-in.js';
import {
  type CandidateList,
  compareRanked,
  type DecisionOptions,
  type DecisionReason,
  EQUAL_DEPTH,
  type IndexSelection,
  PeerRank,
  reasonAtDepth,
  reasonDepth,
  selectFrom,
} from './decision.js';
import { AttributeInterner, type InternedSet } from './intern.js';
import { PrefixTable } from './number-table.js';
import type { PeerInfo, Route } from './types.js';

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

// ---- Entries ----

type Cell = Route | InternedSet | PeerRank | number | string | undefined;

/**
 * Several candidates, or a lone one that is not eligible: HEAD cells, then CELLS per candidate, in
 * arrival order. An array rather than an object holding one, so that reading an Entry is one object
 * less to fetch from memory.
 */
type Entry = Cell[];

// the header
/** The best as a Route object (the one Changes report); undefined when none is eligible. */
const BEST = 0;
/** Where best's cells start; -1 without best. */
const BI = 1;
/** Why best won, as the depth of its step (reasonDepth in decision.ts), or UNKNOWN. */
const DEPTH = 2;
/** The neighbour AS of every candidate, or -1 when they differ (or did, before removals). */
const NAS = 3;
// cell 4: the prefix key (the tables keep their keys themselves now; the cell stays in the layout)
const HEAD = 5;

// a candidate's cells: the interned set, the peer's ranks, the path key (see keyOf), the flags
const CELLS = 4;
const STALE = 1;
const ELIGIBLE = 2;

/** The depth when the reason is not known (or there is no best). */
const UNKNOWN = -1;

/**
 * A route without its prefix (the table's key): what a prefix with one eligible candidate holds, shared
 * by the prefixes updated one after the other alike (see LocRib.share). A Route is a Path too.
 */
type Path = Omit<Route, 'prefix'>;

/** The Route of a Path at `prefix` (the shape `build` gives). */
function routeOf(path: Path, prefix: number | string): Route {
  const { family, peer, attributes } = path;
  const r: Route =
    path.pathId === undefined
      ? { family, prefix, peer, attributes }
      : { family, prefix, pathId: path.pathId, peer, attributes };
  return path.stale === true ? { ...r, stale: true } : r;
}

function isEntry(slot: Path | Entry): slot is Entry {
  return Array.isArray(slot);
}

function bestOf(e: Entry): Route | undefined {
  return e[BEST] as Route | undefined;
}

function biOf(e: Entry): number {
  return e[BI] as number;
}

function depthOf(e: Entry): number {
  return e[DEPTH] as number;
}

function nasOf(e: Entry): number {
  return e[NAS] as number;
}

function setBest(e: Entry, best: Route | undefined, bi: number, depth: number): void {
  e[BEST] = best;
  e[BI] = bi;
  e[DEPTH] = depth;
}

/** How many candidates. */
function countOf(e: Entry): number {
  return (e.length - HEAD) / CELLS;
}

function setAt(e: Entry, j: number): InternedSet {
  return e[j] as InternedSet;
}

function rankAt(e: Entry, j: number): PeerRank {
  return e[j + 1] as PeerRank;
}

function keyAt(e: Entry, j: number): number {
  return e[j + 2] as number;
}

function flagsAt(e: Entry, j: number): number {
  return e[j + 3] as number;
}

/**
 * Path keys: peer number + PEER_LIMIT * (path id + 1), or the peer number alone without a path id, so
 * that they are small integers without ADD-PATH (and exact doubles below 2^53 with it).
 */
const PEER_LIMIT = 1048576;

function keyOf(peerNumber: number, pathId: number | undefined): number {
  return pathId === undefined ? peerNumber : peerNumber + PEER_LIMIT * (pathId + 1);
}

/** The path id of a key as the decision steps read it (missing = 0). */
function pathIdOf(key: number): number {
  return key < PEER_LIMIT ? 0 : Math.floor(key / PEER_LIMIT) - 1;
}

/** Where the cells of the candidate with this path key start, or -1. */
function find(e: Entry, key: number): number {
  for (let j = HEAD + 2; j < e.length; j += CELLS) if (e[j] === key) return j - 2;
  return -1;
}

/** compareRanked of the candidates whose cells start at a and b. */
function compareAt(e: Entry, a: number, b: number, opts: DecisionOptions): number {
  return compareRanked(
    setAt(e, a).rank,
    rankAt(e, a),
    pathIdOf(keyAt(e, a)),
    setAt(e, b).rank,
    rankAt(e, b),
    pathIdOf(keyAt(e, b)),
    opts,
  );
}

function commonNeighbourAs(e: Entry): number {
  if (e.length === HEAD) return -1;
  const nas = setAt(e, HEAD).rank.neighbourAs;
  for (let j = HEAD + CELLS; j < e.length; j += CELLS) if (setAt(e, j).rank.neighbourAs !== nas) return -1;
  return nas;
}

const NO_ENTRY: Entry = [undefined, -1, UNKNOWN, -1, 0];

/** An Entry's candidates as decision.ts's CandidateList (one per LocRib, pointed at an Entry). */
class Cells implements CandidateList {
  e: Entry = NO_ENTRY;

  constructor(private readonly opts: DecisionOptions) {}

  get size(): number {
    return countOf(this.e);
  }

  eligible(i: number): boolean {
    return (flagsAt(this.e, HEAD + i * CELLS) & ELIGIBLE) !== 0;
  }

  neighbourAs(i: number): number {
    return setAt(this.e, HEAD + i * CELLS).rank.neighbourAs;
  }

  compare(i: number, j: number): number {
    return compareAt(this.e, HEAD + i * CELLS, HEAD + j * CELLS, this.opts);
  }
}

/** The route as stored: `route` itself when its attributes are the interned set, else a copy. */
function stored(route: Route, set: InternedSet): Route {
  return set.attrs === route.attributes ? route : { ...route, attributes: set.attrs };
}

/** The Route of the candidate whose cells start at j, built again (for one that is not best). */
function build(family: number, prefix: number | string, e: Entry, j: number): Route {
  const attributes = setAt(e, j).attrs;
  const peer = rankAt(e, j).peer;
  const key = keyAt(e, j);
  const r: Route =
    key < PEER_LIMIT
      ? { family, prefix, peer, attributes }
      : { family, prefix, pathId: Math.floor(key / PEER_LIMIT) - 1, peer, attributes };
  return (flagsAt(e, j) & STALE) !== 0 ? { ...r, stale: true } : r;
}

/** The Route of the candidate at j: the best object kept, or one built again. */
function routeAt(family: number, prefix: number | string, e: Entry, j: number): Route {
  const best = bestOf(e);
  return j === biOf(e) && best !== undefined ? best : build(family, prefix, e, j);
}

/** Every candidate of an Entry as a Route. */
function routesOf(family: number, prefix: number | string, e: Entry): Route[] {
  const out = new Array<Route>(countOf(e));
  for (let j = HEAD; j < e.length; j += CELLS) out[(j - HEAD) / CELLS] = routeAt(family, prefix, e, j);
  return out;
}

// Room for candidates. An Entry starts with two candidates in one literal (paired), and when it is
// full moves into a literal with room for 6, then 14; beyond that, push grows it. Literals on
// purpose: V8 allocates the arrays of an array literal whose arrays survive in old space directly
// (allocation-site pretenuring), while a backing store grown by push or made by `new Array(n)` is
// allocated young, and the scavenger copies each of them on its way to old space (usually twice). A
// table of Entries that all survive paid a third of its insertion time for that (docs/performance.md).
// The room kept is what push growth would keep (29 and 61 cells).

/** Full with 2 and with 6 candidates. */
const ROOM_2 = HEAD + 2 * CELLS;
const ROOM_6 = HEAD + 6 * CELLS;

/** `e` moved into an array with room for 6 candidates. */
function roomFor6(e: Entry): Entry {
  // biome-ignore format: the room, not the code, is the point
  const g: Entry = [e[0], e[1], e[2], e[3], e[4], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  return moved(e, g);
}

/** `e` moved into an array with room for 14 candidates. */
function roomFor14(e: Entry): Entry {
  // biome-ignore format: the room, not the code, is the point
  const g: Entry = [
    e[0], e[1], e[2], e[3], e[4], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  ];
  return moved(e, g);
}

/** Copies e's cells into g and gives g e's length (V8 keeps g's room: it trims only below half). */
function moved(e: Entry, g: Entry): Entry {
  for (let i = HEAD; i < e.length; i++) g[i] = e[i];
  g.length = e.length;
  return g;
}

/** What the Loc-RIB knows of a PeerInfo object: its ranks and the number of its id. */
class KnownPeer {
  constructor(
    readonly rank: PeerRank,
    readonly number: number,
  ) {}
}

type Slot = Path | Entry;

// ---- prefix tables ----

/** One family's prefixes: IPv4 keys in a NumberTable, IPv6 keys in a Map. */
class Table extends PrefixTable<Slot> {}

function samePath(a: Path, peerId: string, pathId: number | undefined): boolean {
  return a.peer.id === peerId && a.pathId === pathId;
}

/** Whether a change of best would be visible: another path or another attribute set. */
function sameBest(a: Path | undefined, b: Path | undefined): boolean {
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

export class LocRib {
  private readonly tables = new Map<number, Table>();
  /** The table of the last update's family (tables are never dropped). */
  private lastFamily = -1;
  private lastTable: Table | undefined;
  /** A small number per peer id ever seen, for path keys. */
  private readonly peerNumbers = new Map<string, number>();
  /** Ranks and numbers per PeerInfo object (one per session). */
  private readonly peers = new WeakMap<PeerInfo, KnownPeer>();
  /** The peer of the last update: an UPDATE's routes come from one peer. */
  private lastPeer: KnownPeer | undefined;
  /** Scratch CandidateList for selection over an Entry. */
  private readonly cells: Cells;
  private routeCount = 0;
  /** The Path `share` gave last. */
  private lastPath: Path | undefined;
  /**
   * Times the decision process ran for a prefix: once per candidate added, replaced or removed, and
   * once per prefix a session's end or a sweep touched or a re-evaluation visited.
   */
  decisionRuns = 0;
  readonly interner: AttributeInterner;

  /** `interner` may be shared with other RIBs; by default the Loc-RIB has its own. */
  constructor(
    private readonly opts: DecisionOptions,
    interner?: AttributeInterner,
  ) {
    this.interner = interner ?? new AttributeInterner();
    this.cells = new Cells(opts);
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
   * withdrawal, RFC 4271 3.1). Its attributes are interned. When the route is stored as a Route (it
   * is best, or alone), that is `route` itself if its attributes are an interned set already (as
   * `interned` returns), else a copy holding the interned set.
   */
  update(route: Route): Change | undefined {
    if (typeof route.prefix === 'number' && !(route.prefix >= 0)) {
      throw new RangeError(`prefix key ${route.prefix} is not a non-negative number`);
    }
    this.decisionRuns++;
    const set = this.interner.internSet(route.attributes);
    const family = route.family;
    const prefix = route.prefix;
    const table = this.table(family);
    const slot = table.get(prefix);
    if (slot === undefined) {
      this.routeCount++;
      const r = stored(route, set);
      if (this.resolvable(r)) {
        table.set(prefix, this.share(r));
        return { family, prefix, after: r, reason: 'only-route' };
      }
      table.set(prefix, this.loneEntry(r, set));
      return undefined;
    }
    if (!isEntry(slot)) {
      if (samePath(slot, route.peer.id, route.pathId)) {
        this.interner.release(slot.attributes);
        const r = stored(route, set);
        if (this.resolvable(r)) {
          table.set(prefix, this.share(r));
          return sameBest(slot, r)
            ? undefined
            : change(family, prefix, routeOf(slot, prefix), r, 'only-route');
        }
        table.set(prefix, this.loneEntry(r, set));
        return change(family, prefix, routeOf(slot, prefix), undefined, undefined);
      }
      return this.paired(family, prefix, table, slot, route, set);
    }
    const k = this.known(route.peer);
    const key = keyOf(k.number, route.pathId);
    const j = find(slot, key);
    if (j >= 0) return this.replaced(family, prefix, table, slot, j, route, set, k);
    const eligible = this.resolvable(route);
    let e = slot;
    if (e.length === ROOM_2 || e.length === ROOM_6) {
      e = e.length === ROOM_2 ? roomFor6(e) : roomFor14(e);
      table.set(prefix, e);
    }
    e.push(set, k.rank, key, eligible ? ELIGIBLE : 0);
    return this.added(family, prefix, table, e, e.length - CELLS, route, set, eligible);
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
    if (!isEntry(slot)) {
      if (!samePath(slot, peerId, pathId)) return undefined;
      this.decisionRuns++;
      table.delete(prefix);
      this.routeCount--;
      this.interner.release(slot.attributes);
      return { family, prefix, before: routeOf(slot, prefix) };
    }
    const n = this.peerNumbers.get(peerId);
    const j = n === undefined ? -1 : find(slot, keyOf(n, pathId));
    if (j < 0) return undefined;
    this.decisionRuns++;
    const flags = flagsAt(slot, j);
    this.interner.releaseSet(setAt(slot, j));
    slot.splice(j, CELLS);
    this.routeCount--;
    const before = bestOf(slot);
    const bi = biOf(slot);
    if (j === bi) {
      setBest(slot, undefined, -1, UNKNOWN);
      return this.reselect(family, prefix, table, slot, before);
    }
    if (j < bi) slot[BI] = bi - CELLS;
    if (!this.ordered(slot)) return this.reselect(family, prefix, table, slot, before);
    // a loser left: the best stays; the runner-up may have been the one
    if (before !== undefined && (flags & ELIGIBLE) !== 0) slot[DEPTH] = UNKNOWN;
    this.settle(prefix, table, slot);
    return undefined;
  }

  /** Removes every candidate from `peerId` (session down), in the given families or all. */
  withdrawPeer(peerId: string, families?: readonly number[]): Change[] {
    return this.removeWhere(peerId, families, false);
  }

  /**
   * RFC 4724 4.2: marks the routes from a restarting peer stale. They stay candidates, ranked as
   * before, until replaced or swept; the stored best route becomes a copy with `stale: true`
   * (without a Change: nothing visible changed). Returns how many were marked.
   */
  markStale(peerId: string, families: readonly number[]): number {
    const n = this.peerNumbers.get(peerId) ?? -1;
    let marked = 0;
    for (const family of families) {
      const table = this.tables.get(family);
      if (table === undefined) continue;
      table.forEach((slot, prefix) => {
        if (!isEntry(slot)) {
          if (slot.peer.id === peerId && slot.stale !== true) {
            table.set(prefix, this.share({ ...slot, stale: true }));
            marked++;
          }
          return;
        }
        for (let j = HEAD; j < slot.length; j += CELLS) {
          const flags = flagsAt(slot, j);
          if (keyAt(slot, j) % PEER_LIMIT !== n || (flags & STALE) !== 0) continue;
          slot[j + 3] = flags | STALE;
          const best = bestOf(slot);
          if (j === biOf(slot) && best !== undefined) slot[BEST] = { ...best, stale: true };
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
   * Asks `nextHopResolvable` again about every candidate (in the given families or all) and runs
   * selection again, for when what it answers has changed.
   */
  reevaluate(families?: readonly number[]): Change[] {
    const out: Change[] = [];
    for (const family of families ?? [...this.tables.keys()]) {
      const table = this.tables.get(family);
      if (table === undefined) continue;
      table.forEach((slot, prefix) => {
        this.decisionRuns++;
        if (!isEntry(slot)) {
          const r = routeOf(slot, prefix);
          if (!this.resolvable(r)) {
            table.set(prefix, this.loneEntry(r, this.interner.setOf(slot.attributes)));
            out.push({ family, prefix, before: r });
          }
          return;
        }
        for (let j = HEAD; j < slot.length; j += CELLS) {
          const flags = flagsAt(slot, j) & ~ELIGIBLE;
          slot[j + 3] = this.resolvable(routeAt(family, prefix, slot, j)) ? flags | ELIGIBLE : flags;
        }
        const ch = this.reselect(family, prefix, table, slot, bestOf(slot));
        if (ch !== undefined) out.push(ch);
      });
    }
    return out;
  }

  /** The best route to a prefix, if any is eligible. */
  best(family: number, prefix: number | string): Route | undefined {
    const slot = this.tables.get(family)?.get(prefix);
    if (slot === undefined) return undefined;
    return isEntry(slot) ? bestOf(slot) : routeOf(slot, prefix);
  }

  /**
   * Every candidate for a prefix, in arrival order. A new array; of several candidates the best is the
   * object `best` returns, the others are built anew on each call (equal, not identical), and so is a
   * prefix's only route: compare routes by peer id and path id, not by identity.
   */
  candidates(family: number, prefix: number | string): readonly Route[] {
    const slot = this.tables.get(family)?.get(prefix);
    if (slot === undefined) return [];
    return isEntry(slot) ? routesOf(family, prefix, slot) : [routeOf(slot, prefix)];
  }

  /**
   * Every prefix of a family with its candidates (as `candidates` gives them) and best route, in no
   * particular order. Works out the reasons not known yet (see the top of the file).
   */
  entries(family: number): LocRibEntry[] {
    const out: LocRibEntry[] = [];
    this.tables.get(family)?.forEach((slot, prefix) => {
      if (!isEntry(slot)) {
        const r = routeOf(slot, prefix);
        out.push({ prefix, routes: [r], best: r, reason: 'only-route' });
        return;
      }
      const routes = routesOf(family, prefix, slot);
      const best = bestOf(slot);
      if (best === undefined) out.push({ prefix, routes });
      else out.push({ prefix, routes, best, reason: this.reasonOf(slot) });
    });
    return out;
  }

  /** Calls `fn` for the best route of every prefix of a family that has one. */
  forEachBest(family: number, fn: (prefix: number | string, best: Route) => void): void {
    this.tables.get(family)?.forEach((slot, prefix) => {
      if (!isEntry(slot)) {
        fn(prefix, routeOf(slot, prefix));
        return;
      }
      const best = bestOf(slot);
      if (best !== undefined) fn(prefix, best);
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
    if (family === this.lastFamily && this.lastTable !== undefined) return this.lastTable;
    let t = this.tables.get(family);
    if (t === undefined) {
      t = new Table();
      this.tables.set(family, t);
    }
    this.lastFamily = family;
    this.lastTable = t;
    return t;
  }

  /**
   * The Path to store for `r`: the last one given when it has the same peer, attributes, path id and
   * staleness (the next prefix of the same UPDATE), else a new one.
   */
  private share(r: Path): Path {
    const last = this.lastPath;
    if (
      last !== undefined &&
      last.attributes === r.attributes &&
      last.peer === r.peer &&
      last.pathId === r.pathId &&
      last.stale === r.stale &&
      last.family === r.family
    ) {
      return last;
    }
    const { family, peer, attributes } = r;
    const p: Path =
      r.pathId === undefined ? { family, peer, attributes } : { family, pathId: r.pathId, peer, attributes };
    const path = r.stale === true ? { ...p, stale: true } : p;
    this.lastPath = path;
    return path;
  }

  private resolvable(r: Route): boolean {
    const f = this.opts.nextHopResolvable;
    return f === undefined || f(r);
  }

  /** The ranks and number of a peer (remembered: the next update is likely from the same peer). */
  private known(peer: PeerInfo): KnownPeer {
    const last = this.lastPeer;
    if (last !== undefined && last.rank.peer === peer) return last;
    let k = this.peers.get(peer);
    if (k === undefined) {
      let n = this.peerNumbers.get(peer.id);
      if (n === undefined) {
        n = this.peerNumbers.size;
        if (n >= PEER_LIMIT) throw new Error(`LocRib: more than ${PEER_LIMIT} peer ids`);
        this.peerNumbers.set(peer.id, n);
      }
      k = new KnownPeer(new PeerRank(peer), n);
      this.peers.set(peer, k);
    }
    this.lastPeer = k;
    return k;
  }

  /** An Entry for a lone route that is not eligible. */
  private loneEntry(r: Route, set: InternedSet): Entry {
    const k = this.known(r.peer);
    const flags = r.stale === true ? STALE : 0;
    const nas = set.rank.neighbourAs;
    return [undefined, -1, UNKNOWN, nas, r.prefix, set, k.rank, keyOf(k.number, r.pathId), flags];
  }

  /** `route` (its set interned) joins the lone route of a prefix, which is eligible, so best. */
  private paired(
    family: number,
    prefix: number | string,
    table: Table,
    lone: Path,
    route: Route,
    set: InternedSet,
  ): Change | undefined {
    const first = this.interner.setOf(lone.attributes);
    const f = this.known(lone.peer);
    const firstFlags = ELIGIBLE | (lone.stale === true ? STALE : 0);
    const k = this.known(route.peer);
    const eligible = this.resolvable(route);
    const flags = eligible ? ELIGIBLE : 0;
    // one literal (see roomFor6)
    const e: Entry = [
      routeOf(lone, prefix),
      HEAD,
      0,
      first.rank.neighbourAs,
      prefix,
      first,
      f.rank,
      keyOf(f.number, lone.pathId),
      firstFlags,
      set,
      k.rank,
      keyOf(k.number, route.pathId),
      flags,
    ];
    table.set(prefix, e);
    return this.added(family, prefix, table, e, HEAD + CELLS, route, set, eligible);
  }

  /** Whether the steps order the Entry's candidates totally (see the top of the file). */
  private ordered(e: Entry): boolean {
    return nasOf(e) !== -1 || this.opts.alwaysCompareMed;
  }

  /** Why the best won, worked out now if it was not known. */
  private reasonOf(e: Entry): DecisionReason | undefined {
    if (bestOf(e) === undefined) return undefined;
    let depth = depthOf(e);
    if (depth === UNKNOWN) {
      const sel = this.select(e);
      if (sel === undefined) return undefined;
      depth = reasonDepth(sel.reason);
      e[DEPTH] = depth;
    }
    return reasonAtDepth(depth);
  }

  private select(e: Entry): IndexSelection | undefined {
    this.cells.e = e;
    const s = selectFrom(this.cells, this.opts.alwaysCompareMed);
    this.cells.e = NO_ENTRY;
    return s;
  }

  /** `route` (its set interned) has joined the Entry's candidates: its cells are at j. */
  private added(
    family: number,
    prefix: number | string,
    table: Table,
    e: Entry,
    j: number,
    route: Route,
    set: InternedSet,
    eligible: boolean,
  ): Change | undefined {
    this.routeCount++;
    const nas = nasOf(e);
    if (nas !== -1 && set.rank.neighbourAs !== nas) e[NAS] = -1;
    if (!this.ordered(e)) return this.reselect(family, prefix, table, e, bestOf(e), j, route);
    return eligible ? this.challenge(family, prefix, e, j, route, UNKNOWN) : undefined;
  }

  /**
   * The eligible candidate at j (`route`) has joined the candidates (of an ordered Entry) beside the
   * best, or none. `known`: the depth of the reason before a loser left, if it was cleared for that
   * (the loser may have been the runner-up), else UNKNOWN.
   */
  private challenge(
    family: number,
    prefix: number | string,
    e: Entry,
    j: number,
    route: Route,
    known: number,
  ): Change | undefined {
    const best = bestOf(e);
    if (best === undefined) {
      const r = stored(route, setAt(e, j));
      setBest(e, r, j, 0);
      return change(family, prefix, undefined, r, 'only-route');
    }
    const c = compareAt(e, biOf(e), j, this.opts);
    if (c > 0) {
      // the new one beats best at step c; best is the runner-up (everything else lost to it at c or
      // earlier)
      const r = stored(route, setAt(e, j));
      setBest(e, r, j, c);
      return change(family, prefix, best, r, reasonAtDepth(c));
    }
    // it lost at step -c (or tied): that is the reason when no other loser held out longer
    const lost = c === 0 ? EQUAL_DEPTH : -c;
    const depth = depthOf(e);
    if (depth !== UNKNOWN) {
      if (lost > depth) e[DEPTH] = lost;
    } else if (known !== UNKNOWN && lost >= known) {
      e[DEPTH] = lost;
    }
    return undefined;
  }

  /** The candidate at j is replaced by `route` (same peer id, same path id). */
  private replaced(
    family: number,
    prefix: number | string,
    table: Table,
    e: Entry,
    j: number,
    route: Route,
    set: InternedSet,
    k: KnownPeer,
  ): Change | undefined {
    const oldSet = setAt(e, j);
    const oldRank = rankAt(e, j);
    const oldFlags = flagsAt(e, j);
    this.interner.releaseSet(oldSet);
    const eligible = this.resolvable(route);
    e[j] = set;
    e[j + 1] = k.rank;
    e[j + 3] = eligible ? ELIGIBLE : 0;
    const nas = nasOf(e);
    if (nas !== -1 && set.rank.neighbourAs !== nas) e[NAS] = -1;
    const best = bestOf(e);
    if (j !== biOf(e)) {
      if (!this.ordered(e)) return this.reselect(family, prefix, table, e, best, j, route);
      const known = depthOf(e);
      if (best !== undefined && (oldFlags & ELIGIBLE) !== 0) e[DEPTH] = UNKNOWN;
      return eligible ? this.challenge(family, prefix, e, j, route, known) : undefined;
    }
    // the best is replaced: its cells now hold the new route
    const depth = depthOf(e);
    setBest(e, undefined, -1, depth);
    if (!this.ordered(e)) return this.reselect(family, prefix, table, e, best, j, route);
    const pathId = pathIdOf(keyAt(e, j));
    const c = eligible ? compareRanked(set.rank, k.rank, pathId, oldSet.rank, oldRank, pathId, this.opts) : 1;
    if (c > 0) return this.reselect(family, prefix, table, e, best, j, route); // worse: look at all
    // at least as good as the old best (at step -c, or tied), so better than every other candidate;
    // against the runner-up (which lost to the old best at step k) it wins at min(-c, k)
    const r = stored(route, set);
    const won = c === 0 ? EQUAL_DEPTH : -c;
    setBest(e, r, j, depth > 0 ? Math.min(won, depth) : depth);
    return sameBest(best, r) ? undefined : change(family, prefix, best, r, this.reasonOf(e));
  }

  private removeWhere(peerId: string, families: readonly number[] | undefined, staleOnly: boolean): Change[] {
    const out: Change[] = [];
    const n = this.peerNumbers.get(peerId) ?? -1;
    for (const family of families ?? [...this.tables.keys()]) {
      const table = this.tables.get(family);
      if (table === undefined) continue;
      table.forEach((slot, prefix) => {
        if (!isEntry(slot)) {
          if (slot.peer.id !== peerId || (staleOnly && slot.stale !== true)) return;
          this.decisionRuns++;
          table.delete(prefix);
          this.routeCount--;
          this.interner.release(slot.attributes);
          out.push({ family, prefix, before: routeOf(slot, prefix) });
          return;
        }
        const oldBi = biOf(slot);
        let kept = HEAD;
        let bi = -1;
        let lostEligible = false;
        for (let j = HEAD; j < slot.length; j += CELLS) {
          const key = keyAt(slot, j);
          const flags = flagsAt(slot, j);
          if (key % PEER_LIMIT === n && (!staleOnly || (flags & STALE) !== 0)) {
            this.interner.releaseSet(setAt(slot, j));
            if (j !== oldBi && (flags & ELIGIBLE) !== 0) lostEligible = true;
            continue;
          }
          if (j === oldBi) bi = kept;
          if (kept !== j) {
            slot[kept] = setAt(slot, j);
            slot[kept + 1] = rankAt(slot, j);
            slot[kept + 2] = key;
            slot[kept + 3] = flags;
          }
          kept += CELLS;
        }
        if (kept === slot.length) return;
        this.decisionRuns++;
        this.routeCount -= (slot.length - kept) / CELLS;
        slot.length = kept;
        const before = bestOf(slot);
        const lostBest = before !== undefined && bi < 0;
        if (lostBest) setBest(slot, undefined, -1, UNKNOWN);
        else slot[BI] = bi;
        if (lostBest || !this.ordered(slot)) {
          const ch = this.reselect(family, prefix, table, slot, before);
          if (ch !== undefined) out.push(ch);
          return;
        }
        if (lostEligible && before !== undefined) slot[DEPTH] = UNKNOWN;
        this.settle(prefix, table, slot);
      });
      table.compact();
    }
    return out;
  }

  /**
   * Selects the best of all of an Entry's candidates again and reports a change from `before`. The
   * best kept (if its cells are still at BI) and `route`, whose cells are at j, are reused as Route
   * objects; another winner is built from its cells.
   */
  private reselect(
    family: number,
    prefix: number | string,
    table: Table,
    e: Entry,
    before: Route | undefined,
    j = -1,
    route?: Route,
  ): Change | undefined {
    if (nasOf(e) === -1) e[NAS] = commonNeighbourAs(e);
    const sel = e.length === HEAD ? undefined : this.select(e);
    if (sel === undefined) {
      setBest(e, undefined, -1, UNKNOWN);
    } else {
      const bi = HEAD + sel.index * CELLS;
      let best = bestOf(e);
      if (bi !== biOf(e) || best === undefined) {
        best = bi === j && route !== undefined ? stored(route, setAt(e, j)) : build(family, prefix, e, bi);
      }
      setBest(e, best, bi, reasonDepth(sel.reason));
    }
    this.settle(prefix, table, e);
    const after = bestOf(e);
    if (sameBest(before, after)) return undefined;
    return change(family, prefix, before, after, sel?.reason);
  }

  /** An Entry left with one eligible candidate goes back to holding just the Route; an empty one goes. */
  private settle(prefix: number | string, table: Table, e: Entry): void {
    if (e.length === HEAD) {
      table.delete(prefix);
      return;
    }
    const best = bestOf(e);
    if (e.length === HEAD + CELLS && best !== undefined) table.set(prefix, this.share(best));
  }
}
