// Adj-RIB-Out: what one peer has been told (RFC 4271 3.2) and what it still has to be told. Changes are
// coalesced per prefix: a prefix that changes ten times before the socket drains is sent once, with its
// latest state, so a slow peer costs at most one pending entry per prefix, never a growing queue.
// `drain` packs every pending announcement that shares an attribute object (interned: compared by
// identity) into as few UPDATEs as fit (BIRD's bgp_fire_tx), then the withdrawals.

import type { PathAttributes } from '../messages/attributes/types.js';
import { type CodecContext, hasAddPath } from '../messages/context.js';
import { Afi, Safi } from '../messages/iana.js';
import type { PrefixList } from '../messages/nlri.js';
import { packAnnouncements, packWithdrawals } from '../messages/update-packer.js';
import type { RouteAttributes } from './adj-rib-in.js';

interface Entry {
  readonly prefix: number | string;
  readonly pathId: number | undefined;
}

interface Pending extends Entry {
  /** undefined: withdraw. */
  readonly attributes: RouteAttributes | undefined;
}

/** Key within a family: the prefix key itself (a number for IPv4), or prefix and path id. */
function key(prefix: number | string, pathId: number | undefined): number | string {
  return pathId === undefined ? prefix : `${prefix}#${pathId}`;
}

function table<V>(tables: Map<number, Map<number | string, V>>, family: number): Map<number | string, V> {
  let t = tables.get(family);
  if (!t) {
    t = new Map();
    tables.set(family, t);
  }
  return t;
}

/** The wire attributes of a route: the NEXT_HOP attribute for IPv4, an MP_REACH template for IPv6. */
function wireAttributes(family: number, a: RouteAttributes): PathAttributes {
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

function prefixList(family: number, entries: readonly Entry[], addPath: boolean): PrefixList {
  const ids = addPath ? entries.map((e) => e.pathId ?? 0) : undefined;
  if (family >> 8 === Afi.IPV4) {
    const prefixes = entries.map((e) => e.prefix as number);
    return ids ? { afi: Afi.IPV4, prefixes, pathIds: ids } : { afi: Afi.IPV4, prefixes };
  }
  const prefixes = entries.map((e) => e.prefix as string);
  return ids ? { afi: Afi.IPV6, prefixes, pathIds: ids } : { afi: Afi.IPV6, prefixes };
}

export class AdjRibOut {
  /** What the peer holds from us now, per family. */
  private readonly advertised = new Map<
    number,
    Map<number | string, Entry & { attributes: RouteAttributes }>
  >();
  private readonly pending = new Map<number, Map<number | string, Pending>>();

  /** Routes the peer holds from us. */
  get size(): number {
    let n = 0;
    for (const t of this.advertised.values()) n += t.size;
    return n;
  }

  get pendingCount(): number {
    let n = 0;
    for (const t of this.pending.values()) n += t.size;
    return n;
  }

  /** The peer should hold `attributes` for this prefix (undefined: nothing). Coalesces. */
  set(
    family: number,
    prefix: number | string,
    pathId: number | undefined,
    attributes: RouteAttributes | undefined,
  ): void {
    const k = key(prefix, pathId);
    if (this.advertised.get(family)?.get(k)?.attributes === attributes) {
      // back to what the peer already has: nothing to send
      this.pending.get(family)?.delete(k);
      return;
    }
    table(this.pending, family).set(k, { prefix, pathId, attributes });
  }

  /** Forgets everything (the session went down). */
  clear(): void {
    this.advertised.clear();
    this.pending.clear();
  }

  /** Everything advertised (of one family, or all) is to be sent again (ROUTE-REFRESH). */
  resendAll(onlyFamily?: number): void {
    for (const [family, t] of this.advertised) {
      if (onlyFamily !== undefined && family !== onlyFamily) continue;
      const pending = table(this.pending, family);
      for (const [k, e] of t) pending.set(k, e);
      t.clear();
    }
  }

  /** Encodes every pending change into UPDATEs (announcements first, then withdrawals). */
  drain(ctx: CodecContext): Uint8Array[] {
    const out: Uint8Array[] = [];
    const withdrawals: [number, Entry[]][] = [];
    for (const [family, pending] of this.pending) {
      if (pending.size === 0) continue;
      const advertised = table(this.advertised, family);
      // group announcements by attribute object identity (interned: equal sets are one object)
      const byAttrs = new Map<RouteAttributes, Entry[]>();
      const gone: Entry[] = [];
      for (const [k, p] of pending) {
        if (p.attributes === undefined) {
          if (advertised.delete(k)) gone.push(p);
          continue;
        }
        advertised.set(k, p as Entry & { attributes: RouteAttributes });
        const list = byAttrs.get(p.attributes);
        if (list) list.push(p);
        else byAttrs.set(p.attributes, [p]);
      }
      pending.clear();
      const addPath = hasAddPath(ctx, family >> 8, family & 255);
      for (const [attrs, entries] of byAttrs) {
        packAnnouncements(wireAttributes(family, attrs), prefixList(family, entries, addPath), ctx, out);
      }
      if (gone.length > 0) withdrawals.push([family, gone]);
    }
    for (const [family, entries] of withdrawals) {
      packWithdrawals(prefixList(family, entries, hasAddPath(ctx, family >> 8, family & 255)), ctx, out);
    }
    return out;
  }
}
