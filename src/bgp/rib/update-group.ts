// Update group: the Adj-RIB-Out (RFC 4271 3.2) shared by every session whose export result is the
// same (same kind of session, same policy, same negotiated encoding), and the one encoded stream of
// UPDATEs they all receive (FRR's update groups). Pure data: the Router tells the group what its members
// should hold, the group coalesces changes per prefix and encodes them once into chunks; the speaker
// writes each chunk's bytes to every member's socket.
//
// Per-member rules. Two export rules depend on the receiving peer and not on its group: a route is not
// sent back to the peer it came from, and not to the peer whose BGP identifier is its ORIGINATOR_ID
// (RFC 4456 8). FRR sends those routes anyway and lets the receiver drop them; tern keeps BIRD's
// behaviour, without giving up the shared bytes: announcements are packed per (attributes, source), and
// each packed run of messages carries who must not get it (its source peer, its ORIGINATOR_ID). A member
// writes a chunk as its bytes minus the runs meant for someone else (`slicesFor`): a few subarrays of
// one buffer. When a prefix's route moves to a source whose exclusion now covers a member that held the
// old route, that member alone gets a withdrawal (an "extra" run at the end of the chunk).
//
// Sequence numbers. Every drained batch has a number (`seq`), and every table entry the number of the
// batch that last changed it. A member that lags too far behind, joins, or asks for a ROUTE-REFRESH is
// served by `syncFor`: the entries changed since the last batch it got, encoded for it alone, from the
// table (withdrawn entries are kept as tombstones while such a member needs them). So a slow member
// costs its own socket buffer and a position, never a copy of the table or a growing queue.

import type { PathAttributes } from '../messages/attributes/types.js';
import { type CodecContext, hasAddPath, maxMessageLength } from '../messages/context.js';
import { Afi, Safi } from '../messages/iana.js';
import type { PrefixList } from '../messages/nlri.js';
import { appendAnnouncements, appendWithdrawals, attributeBytes } from '../messages/update-packer.js';
import { ByteWriter } from '../messages/writer.js';
import type { RouteAttributes } from './adj-rib-in.js';
import { PrefixTable } from './number-table.js';

/** Who a member is, for the per-member rules. */
export interface MemberIdentity {
  /** The peer id (PeerInfo.id). */
  readonly id: string;
  /** The peer's BGP identifier. */
  readonly routerId: string;
}

/** The peers a route must not go to: the one it came from, the one that originated it (RFC 4456). */
interface Exclusion {
  readonly source: string | undefined;
  readonly originatorId: string | undefined;
}

const NOBODY: Exclusion = { source: undefined, originatorId: undefined };

function excludes(x: Exclusion, m: MemberIdentity): boolean {
  return m.id === x.source || (x.originatorId !== undefined && m.routerId === x.originatorId);
}

/** One run of consecutive messages of a chunk with one audience. */
export interface ChunkRun {
  readonly start: number;
  readonly end: number;
  readonly messages: number;
  /** The run is not for members this excludes. */
  readonly exclusion: Exclusion;
  /**
   * An extra run (after every shared one): withdrawals only for the members `exclusion` covers and
   * `before` did not (they held the prefix's previous route, which came from someone else).
   */
  readonly before?: Exclusion;
}

/** One batch of encoded UPDATEs, the same bytes for every member. */
export interface Chunk {
  readonly seq: number;
  readonly bytes: Uint8Array;
  /** Where the shared runs end and the extra runs begin. */
  readonly sharedEnd: number;
  readonly runs: readonly ChunkRun[];
  /** Messages in the shared runs. */
  readonly messages: number;
}

/**
 * What the members hold at one key (its prefix and path id are the table's key): the attributes, their
 * source and the batch that set them. Immutable and shared by every key one batch set alike (a drained
 * UPDATE's prefixes share one), so that the table costs a reference per prefix, not an object.
 */
interface Held {
  /** undefined: withdrawn, kept as a tombstone for a member that is catching up. */
  readonly attributes: RouteAttributes | undefined;
  readonly source: string | undefined;
  readonly seq: number;
}

interface Pending {
  readonly prefix: number | string;
  readonly pathId: number | undefined;
  attributes: RouteAttributes | undefined;
  source: string | undefined;
  /** false once drained, or cancelled (back to what the members hold): the queue skips it. */
  live: boolean;
}

/**
 * One family's changes not drained yet: in the order they were first made (a change to a pending
 * prefix updates it in place), with an index by key for coalescing.
 */
/** Keys a pending index keeps room for when it empties: two drains' worth. */
const PENDING_ROOM = 2 * 20_000;

class PendingQueue {
  readonly index = new PrefixTable<Pending>();
  queue: Pending[] = [];
  head = 0;

  /** The next live change, taken out of the queue and the index; undefined: none left. */
  take(): Pending | undefined {
    const q = this.queue;
    while (this.head < q.length) {
      const p = q[this.head++]!;
      if (!p.live) continue;
      p.live = false;
      this.index.delete(keyOf(p.prefix, p.pathId));
      return p;
    }
    return undefined;
  }

  /**
   * Drops what was taken: all of it once the queue is empty (or `nothingLive`: every change left was
   * cancelled), else when it is most of the array.
   */
  trim(nothingLive = false): void {
    if (nothingLive || this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.index.compact(PENDING_ROOM);
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

/** Key within a family: the prefix key itself (a number for IPv4), or prefix and path id. */
export function keyOf(prefix: number | string, pathId: number | undefined): number | string {
  return pathId === undefined ? prefix : `${prefix}#${pathId}`;
}

/** The prefix and path id of a key made by keyOf (IPv6 prefix keys are 9 characters, see prefix.ts). */
export function entryOf(family: number, k: number | string): Entry {
  if (typeof k === 'number') return { prefix: k, pathId: undefined };
  if (family >> 8 === Afi.IPV4) {
    const i = k.indexOf('#');
    return { prefix: Number(k.slice(0, i)), pathId: Number(k.slice(i + 1)) };
  }
  if (k.length === IPV6_KEY_LENGTH) return { prefix: k, pathId: undefined };
  return { prefix: k.slice(0, IPV6_KEY_LENGTH), pathId: Number(k.slice(IPV6_KEY_LENGTH + 1)) };
}

/** An Ipv6Key: eight address groups and the length, one character each. */
const IPV6_KEY_LENGTH = 9;

function heldTable(tables: Map<number, PrefixTable<Held>>, family: number): PrefixTable<Held> {
  let t = tables.get(family);
  if (!t) {
    t = new PrefixTable<Held>();
    tables.set(family, t);
  }
  return t;
}

/** The wire attributes of a route: the NEXT_HOP attribute for IPv4, an MP_REACH template for IPv6. */
export function wireAttributes(family: number, a: RouteAttributes): PathAttributes {
  const { nextHop, linkLocalNextHop, ...rest } = a;
  if (family >> 8 === Afi.IPV4) return { ...rest, nextHop };
  return {
    ...rest,
    mpReach: {
      kind: 'unicast',
      afi: Afi.IPV6,
      safi: Safi.UNICAST,
      nextHop,
      ...(linkLocalNextHop !== undefined ? { linkLocalNextHop } : {}),
      nlri: { afi: Afi.IPV6, prefixes: [] },
    },
  };
}

interface Entry {
  readonly prefix: number | string;
  readonly pathId: number | undefined;
}

function prefixList(family: number, entries: readonly Entry[], addPath: boolean): PrefixList {
  const ids = addPath ? entries.map((e) => e.pathId ?? 0) : undefined;
  if (family >> 8 === Afi.IPV4) {
    const prefixes = entries.map((e) => e.prefix as number);
    return ids ? { afi: Afi.IPV4, prefixes, pathIds: ids } : { afi: Afi.IPV4, prefixes };
  }
  const prefixes = entries.map((e) => e.prefix as string);
  return ids ? { afi: Afi.IPV6, prefixes, pathIds: ids } : { afi: Afi.IPV6, prefixes };
}

/** Entries with one audience, to be packed together. */
class Batch {
  readonly announce = new Map<RouteAttributes, Map<string | undefined, Entry[]>>();
  readonly withdraw = new Map<string, { exclusion: Exclusion; entries: Entry[] }>();
  readonly extra = new Map<string, { exclusion: Exclusion; before: Exclusion; entries: Entry[] }>();
}

function exclusionKey(x: Exclusion): string {
  return `${x.source ?? ''}|${x.originatorId ?? ''}`;
}

/** Encodes runs into one buffer (chunk), recording each run's bytes and audience. */
class ChunkWriter {
  private readonly w: ByteWriter;
  readonly runs: ChunkRun[] = [];
  messages = 0;
  constructor(capacity: number) {
    this.w = new ByteWriter(capacity);
  }
  get size(): number {
    return this.w.pos;
  }
  run(exclusion: Exclusion, write: (w: ByteWriter) => number, before?: Exclusion): void {
    const start = this.w.pos;
    const messages = write(this.w);
    if (messages === 0) return;
    const last = this.runs[this.runs.length - 1];
    // runs for the same audience merge (the common case: routes of our own, eBGP-learned ones)
    if (
      before === undefined &&
      last !== undefined &&
      last.before === undefined &&
      last.end === start &&
      exclusionKey(last.exclusion) === exclusionKey(exclusion)
    ) {
      this.runs[this.runs.length - 1] = { ...last, end: this.w.pos, messages: last.messages + messages };
    } else {
      this.runs.push({ start, end: this.w.pos, messages, exclusion, ...(before ? { before } : {}) });
    }
    if (before === undefined) this.messages += messages;
  }
  finish(seq: number, sharedEnd: number): Chunk {
    return { seq, bytes: this.w.slice(), sharedEnd, runs: this.runs, messages: this.messages };
  }
}

/** The Held values of one batch: one per (attributes, source) set in it. */
class Forms {
  private readonly byAttributes = new Map<RouteAttributes | undefined, Map<string | undefined, Held>>();
  /** The last one asked for (an UPDATE's prefixes come in a row). */
  private last: Held | undefined;

  constructor(private readonly seq: number) {}

  of(attributes: RouteAttributes | undefined, source: string | undefined): Held {
    const last = this.last;
    if (last !== undefined && last.attributes === attributes && last.source === source) return last;
    let bySource = this.byAttributes.get(attributes);
    if (bySource === undefined) {
      bySource = new Map();
      this.byAttributes.set(attributes, bySource);
    }
    let h = bySource.get(source);
    if (h === undefined) {
      h = { attributes, source, seq: this.seq };
      bySource.set(source, h);
    }
    this.last = h;
    return h;
  }
}

/** Most pending changes encoded per `drain` call (the caller slices the work over turns). */
export const DRAIN_BATCH = 20_000;

export class UpdateGroup {
  /** What the members hold from us (or are being sent), per family. */
  private readonly held = new Map<number, PrefixTable<Held>>();
  private readonly pending = new Map<number, PendingQueue>();
  private pendingSize = 0;
  /** The family of the last `set`, its held table and its queue (an UPDATE's routes share one). */
  private lastFamily = -1;
  private lastHeld: PrefixTable<Held> | undefined;
  private lastPending: PendingQueue | undefined;
  /** Number of the last drained batch. */
  seq = 0;
  /** Members catching up from a batch number > 0: withdrawn entries are kept for them. */
  private readonly catchingUp = new Map<string, number>();
  private tombstones: [number, number | string][] = [];
  /** Routes held (not tombstones), and of them by exclusion, for `advertisedTo`. */
  private live = 0;
  private readonly bySource = new Map<string, number>();
  private readonly byOriginator = new Map<string, number>();
  /** Per source, per ORIGINATOR_ID. */
  private readonly byBoth = new Map<string, Map<string, number>>();

  /** The wire form of each attribute set, per family, encoded once (new sessions get it many times). */
  private readonly wire = new WeakMap<
    RouteAttributes,
    Map<number, { attrs: PathAttributes; bytes: Uint8Array }>
  >();

  constructor(
    /** Everything that makes the export result and the encoding the same for its members. */
    readonly key: string,
    readonly ctx: CodecContext,
  ) {}

  /** Appends the announcements of `entries` with `a` (encoded attributes cached per object). */
  private announce(w: ByteWriter, family: number, a: RouteAttributes, entries: readonly Entry[]): number {
    let byFamily = this.wire.get(a);
    if (!byFamily) {
      byFamily = new Map();
      this.wire.set(a, byFamily);
    }
    let form = byFamily.get(family);
    if (!form) {
      const attrs = wireAttributes(family, a);
      form = { attrs, bytes: attributeBytes(attrs, this.ctx) };
      byFamily.set(family, form);
    }
    const addPath = hasAddPath(this.ctx, family >> 8, family & 255);
    return appendAnnouncements(w, form.attrs, prefixList(family, entries, addPath), this.ctx, form.bytes);
  }

  get pendingCount(): number {
    return this.pendingSize;
  }

  /**
   * The members should hold `attributes` for this prefix (undefined: nothing), as exported from the
   * peer `source` (undefined: our own route, or one that no member can have sent). Coalesces.
   */
  set(
    family: number,
    prefix: number | string,
    pathId: number | undefined,
    attributes: RouteAttributes | undefined,
    source: string | undefined,
  ): void {
    const k = keyOf(prefix, pathId);
    if (family !== this.lastFamily) {
      this.lastFamily = family;
      this.lastHeld = heldTable(this.held, family);
      let q = this.pending.get(family);
      if (!q) {
        q = new PendingQueue();
        this.pending.set(family, q);
      }
      this.lastPending = q;
    }
    const h = this.lastHeld!.get(k);
    const q = this.lastPending!;
    const p = q.index.get(k);
    const same =
      h === undefined || h.attributes === undefined
        ? attributes === undefined
        : h.attributes === attributes && h.source === source;
    if (same) {
      // back to what the members already have: nothing to send
      if (p) {
        p.live = false;
        q.index.delete(k);
        this.pendingSize--;
      }
      return;
    }
    if (p) {
      p.attributes = attributes;
      p.source = source;
      return;
    }
    const n: Pending = { prefix, pathId, attributes, source, live: true };
    q.index.set(k, n);
    q.queue.push(n);
    this.pendingSize++;
  }

  /** Every route held, of one family or all, is to be announced again. */
  forEachHeld(
    fn: (family: number, prefix: number | string, pathId: number | undefined, a: RouteAttributes) => void,
  ): void {
    for (const [family, t] of this.held)
      t.forEach((h, k) => {
        if (h.attributes === undefined) return;
        const e = entryOf(family, k);
        fn(family, e.prefix, e.pathId, h.attributes);
      });
  }

  /**
   * Every route the group has sent (or queued) to member `m`, the per-member rules applied: what `m`
   * holds from tern once its queue is written (`tern show routes --export`).
   */
  forEachHeldBy(
    m: MemberIdentity,
    fn: (family: number, prefix: number | string, pathId: number | undefined, a: RouteAttributes) => void,
  ): void {
    for (const [family, t] of this.held)
      t.forEach((h, k) => {
        if (!UpdateGroup.isFor(h, m)) return;
        const e = entryOf(family, k);
        fn(family, e.prefix, e.pathId, h.attributes!);
      });
  }

  /** How many routes `m` holds from this group once it is in sync. */
  advertisedTo(m: MemberIdentity): number {
    return (
      this.live -
      (this.bySource.get(m.id) ?? 0) -
      (this.byOriginator.get(m.routerId) ?? 0) +
      (this.byBoth.get(m.id)?.get(m.routerId) ?? 0)
    );
  }

  /** Counts a route held (delta 1) or no longer held (-1) with its exclusion, for advertisedTo. */
  private count(source: string | undefined, originatorId: string | undefined, delta: number): void {
    this.live += delta;
    if (source !== undefined) tally(this.bySource, source, delta);
    if (originatorId !== undefined) tally(this.byOriginator, originatorId, delta);
    if (source !== undefined && originatorId !== undefined) {
      let m = this.byBoth.get(source);
      if (!m) {
        m = new Map();
        this.byBoth.set(source, m);
      }
      tally(m, originatorId, delta);
      if (m.size === 0) this.byBoth.delete(source);
    }
  }

  /**
   * Encodes up to `limit` pending changes into a chunk (announcements first, then withdrawals, then
   * the extra withdrawals) and records them as held. Returns undefined when nothing was pending. With
   * `encode` false (no member is listening) the table is updated and nothing is encoded.
   */
  drain(limit = DRAIN_BATCH, encode = true): Chunk | undefined {
    if (this.pendingSize === 0) return undefined;
    const seq = ++this.seq;
    const keepTombstones = this.catchingUp.size > 0;
    const batches = new Map<number, Batch>();
    const forms = new Forms(seq);
    let taken = 0;
    for (const [family, pending] of this.pending) {
      if (taken >= limit) break;
      if (pending.index.size === 0) {
        pending.trim(true);
        continue;
      }
      const held = heldTable(this.held, family);
      let batch = batches.get(family);
      if (!batch) {
        batch = new Batch();
        batches.set(family, batch);
      }
      while (taken < limit) {
        const p = pending.take();
        if (p === undefined) break;
        taken++;
        const k = keyOf(p.prefix, p.pathId);
        const h = held.get(k);
        const had = h?.attributes !== undefined;
        const before: Exclusion = had
          ? { source: h!.source, originatorId: h!.attributes!.originatorId }
          : NOBODY;
        if (p.attributes === undefined) {
          // withdrawn: only members that held it are told
          if (!had) continue;
          this.count(before.source, before.originatorId, -1);
          const wk = exclusionKey(before);
          const w = batch.withdraw.get(wk);
          if (w) w.entries.push(p);
          else batch.withdraw.set(wk, { exclusion: before, entries: [p] });
          if (keepTombstones) {
            held.set(k, forms.of(undefined, undefined));
            this.tombstones.push([family, k]);
          } else {
            held.delete(k);
          }
          continue;
        }
        const now: Exclusion = { source: p.source, originatorId: p.attributes.originatorId };
        const sameAudience = had && before.source === now.source && before.originatorId === now.originatorId;
        let bySource = batch.announce.get(p.attributes);
        if (!bySource) {
          bySource = new Map();
          batch.announce.set(p.attributes, bySource);
        }
        const list = bySource.get(p.source);
        if (list) list.push(p);
        else bySource.set(p.source, [p]);
        // a member newly excluded that held the old route gets a withdrawal of its own
        if (had && !sameAudience) {
          const xk = `${exclusionKey(now)}>${exclusionKey(before)}`;
          const x = batch.extra.get(xk);
          if (x) x.entries.push(p);
          else batch.extra.set(xk, { exclusion: now, before, entries: [p] });
        }
        if (!sameAudience) {
          if (had) this.count(before.source, before.originatorId, -1);
          this.count(now.source, now.originatorId, 1);
        }
        held.set(k, forms.of(p.attributes, p.source));
      }
      pending.trim();
    }
    this.pendingSize -= taken;
    if (!encode) return { seq, bytes: new Uint8Array(0), sharedEnd: 0, runs: [], messages: 0 };
    return this.encode(seq, batches);
  }

  private encode(seq: number, batches: Map<number, Batch>): Chunk {
    const ctx = this.ctx;
    const out = new ChunkWriter(64 * 1024);
    const addPathOf = (family: number): boolean => hasAddPath(ctx, family >> 8, family & 255);
    for (const [family, b] of batches) {
      for (const [attrs, bySource] of b.announce) {
        for (const [source, entries] of bySource) {
          out.run({ source, originatorId: attrs.originatorId }, (w) =>
            this.announce(w, family, attrs, entries),
          );
        }
      }
    }
    for (const [family, b] of batches) {
      const addPath = addPathOf(family);
      for (const { exclusion, entries } of b.withdraw.values())
        out.run(exclusion, (w) => appendWithdrawals(w, prefixList(family, entries, addPath), ctx));
    }
    const sharedEnd = out.size;
    for (const [family, b] of batches) {
      const addPath = addPathOf(family);
      for (const { exclusion, before, entries } of b.extra.values())
        out.run(exclusion, (w) => appendWithdrawals(w, prefixList(family, entries, addPath), ctx), before);
    }
    return out.finish(seq, sharedEnd);
  }

  /** A member will catch up from batch `since` (0: from nothing, a new session): see syncFor. */
  beginSync(m: MemberIdentity, since: number): void {
    if (since > 0) this.catchingUp.set(m.id, since);
  }

  /** The member left, or caught up. */
  endSync(m: MemberIdentity): void {
    if (!this.catchingUp.delete(m.id) || this.catchingUp.size > 0) return;
    const held = this.held;
    for (const [family, k] of this.tombstones) {
      const t = held.get(family);
      if (t?.get(k)?.attributes === undefined) t?.delete(k);
    }
    this.tombstones = [];
  }

  /** Whether `m` gets the route held in `h`. */
  private static isFor(h: Held, m: MemberIdentity): boolean {
    const a = h.attributes;
    return a !== undefined && !excludes({ source: h.source, originatorId: a.originatorId }, m);
  }

  /**
   * The UPDATEs that bring `m` from batch `since` to the last drained one: every entry changed after
   * `since` (all of them when 0, or for a family in `full`), announced when it is for `m`, withdrawn
   * when it is not (m may hold an older route). With `previous` (m moved here from that group) the
   * routes m got from it and does not get from this one are withdrawn. Ends the member's catching up.
   */
  syncFor(
    m: MemberIdentity,
    since: number,
    full: ReadonlySet<number> = new Set(),
    previous?: UpdateGroup,
  ): { bytes: Uint8Array; messages: number } {
    const w = new ChunkWriter(4096);
    const ctx = this.ctx;
    const families = new Set([...this.held.keys(), ...(previous?.held.keys() ?? [])]);
    for (const family of families) {
      const t = this.held.get(family) ?? new PrefixTable<Held>();
      const all = since === 0 || full.has(family);
      const announce = new Map<RouteAttributes, Entry[]>();
      const withdraw: Entry[] = [];
      t.forEach((h, k) => {
        if (!all && h.seq <= since) return;
        const a = h.attributes;
        if (a !== undefined && UpdateGroup.isFor(h, m)) {
          const list = announce.get(a);
          if (list) list.push(entryOf(family, k));
          else announce.set(a, [entryOf(family, k)]);
        } else if (since > 0) {
          withdraw.push(entryOf(family, k));
        }
      });
      previous?.held.get(family)?.forEach((h, k) => {
        const here = t.get(k);
        if (UpdateGroup.isFor(h, m) && (here === undefined || !UpdateGroup.isFor(here, m)))
          withdraw.push(entryOf(family, k));
      });
      const addPath = hasAddPath(ctx, family >> 8, family & 255);
      for (const [a, entries] of announce) w.run(NOBODY, (bw) => this.announce(bw, family, a, entries));
      if (withdraw.length > 0)
        w.run(NOBODY, (bw) => appendWithdrawals(bw, prefixList(family, withdraw, addPath), ctx));
    }
    this.endSync(m);
    const chunk = w.finish(this.seq, w.size);
    return { bytes: chunk.bytes, messages: chunk.messages };
  }

  /** The size limit of one message for this group's members. */
  get maxMessage(): number {
    return maxMessageLength(this.ctx);
  }
}

/** Adds delta to the count of k, keeping no zero counts. */
function tally(m: Map<string, number>, k: string, delta: number): void {
  const n = (m.get(k) ?? 0) + delta;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

function wants(r: ChunkRun, m: MemberIdentity): boolean {
  if (r.before === undefined) return !excludes(r.exclusion, m);
  return excludes(r.exclusion, m) && !excludes(r.before, m);
}

/** Runs of a chunk by the ids and router ids they name, built on first use. */
const indexes = new WeakMap<Chunk, Map<string, number[]>>();

function runIndex(chunk: Chunk): Map<string, number[]> {
  let index = indexes.get(chunk);
  if (index) return index;
  index = new Map();
  const add = (k: string, i: number): void => {
    const list = index!.get(k);
    if (list) {
      if (list[list.length - 1] !== i) list.push(i);
    } else index!.set(k, [i]);
  };
  chunk.runs.forEach((r, i) => {
    if (r.exclusion.source !== undefined) add(`s${r.exclusion.source}`, i);
    if (r.exclusion.originatorId !== undefined) add(`o${r.exclusion.originatorId}`, i);
  });
  indexes.set(chunk, index);
  return index;
}

/**
 * The parts of `chunk` that member `m` is sent, as subarrays of the chunk's bytes (no copy): usually
 * the whole chunk, or the chunk around the runs of routes that came from `m`. Costs the runs that name
 * `m`, not all of them.
 */
export function slicesFor(chunk: Chunk, m: MemberIdentity): { parts: Uint8Array[]; messages: number } {
  const index = runIndex(chunk);
  const bySource = index.get(`s${m.id}`);
  const byOriginator = index.get(`o${m.routerId}`);
  const named =
    bySource && byOriginator
      ? [...new Set([...bySource, ...byOriginator])].sort((a, b) => a - b)
      : (bySource ?? byOriginator ?? []);
  const out: Uint8Array[] = [];
  let messages = chunk.messages;
  let from = 0;
  for (const i of named) {
    const r = chunk.runs[i]!;
    if (r.before !== undefined) continue;
    // a shared run for someone else: the bytes before it go, the run does not
    if (r.start > from) out.push(chunk.bytes.subarray(from, r.start));
    from = r.end;
    messages -= r.messages;
  }
  if (chunk.sharedEnd > from) out.push(chunk.bytes.subarray(from, chunk.sharedEnd));
  for (const i of named) {
    const r = chunk.runs[i]!;
    if (r.before !== undefined && wants(r, m)) {
      out.push(chunk.bytes.subarray(r.start, r.end));
      messages += r.messages;
    }
  }
  return { parts: out, messages };
}
