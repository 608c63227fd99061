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
  readonly family: number;
  readonly prefix: number | string;
  readonly pathId: number | undefined;
}

interface Pending extends Entry {
  /** undefined: withdraw. */
  readonly attributes: RouteAttributes | undefined;
}

function key(family: number, prefix: number | string, pathId: number | undefined): string {
  return `${family}|${prefix}|${pathId ?? ''}`;
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
  /** What the peer holds from us now. */
  private readonly advertised = new Map<string, RouteAttributes>();
  private readonly pending = new Map<string, Pending>();

  /** Routes the peer holds from us. */
  get size(): number {
    return this.advertised.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The peer should hold `attributes` for this prefix (undefined: nothing). Coalesces. */
  set(
    family: number,
    prefix: number | string,
    pathId: number | undefined,
    attributes: RouteAttributes | undefined,
  ): void {
    const k = key(family, prefix, pathId);
    if (this.advertised.get(k) === attributes) {
      // back to what the peer already has: nothing to send
      this.pending.delete(k);
      return;
    }
    this.pending.set(k, { family, prefix, pathId, attributes });
  }

  /** Forgets everything (the session went down). */
  clear(): void {
    this.advertised.clear();
    this.pending.clear();
  }

  /** Everything advertised (of one family, or all) is to be sent again (ROUTE-REFRESH). */
  resendAll(onlyFamily?: number): void {
    for (const [k, attributes] of this.advertised) {
      const [family, prefix, pathId] = k.split('|');
      const fam = Number(family);
      if (onlyFamily !== undefined && fam !== onlyFamily) continue;
      const p: number | string = fam >> 8 === Afi.IPV4 ? Number(prefix) : prefix!;
      this.pending.set(k, {
        family: fam,
        prefix: p,
        pathId: pathId === '' ? undefined : Number(pathId),
        attributes,
      });
    }
    this.advertised.clear();
  }

  /** Encodes every pending change into UPDATEs (announcements first, then withdrawals). */
  drain(ctx: CodecContext): Uint8Array[] {
    const out: Uint8Array[] = [];
    // group announcements by (family, attribute object identity)
    const groups = new Map<number, Map<RouteAttributes, Entry[]>>();
    const withdrawals = new Map<number, Entry[]>();
    for (const [k, p] of this.pending) {
      if (p.attributes === undefined) {
        if (this.advertised.delete(k)) {
          const w = withdrawals.get(p.family);
          if (w) w.push(p);
          else withdrawals.set(p.family, [p]);
        }
      } else {
        this.advertised.set(k, p.attributes);
        let byAttrs = groups.get(p.family);
        if (!byAttrs) {
          byAttrs = new Map();
          groups.set(p.family, byAttrs);
        }
        const list = byAttrs.get(p.attributes);
        if (list) list.push(p);
        else byAttrs.set(p.attributes, [p]);
      }
    }
    this.pending.clear();
    for (const [family, byAttrs] of groups) {
      const addPath = hasAddPath(ctx, family >> 8, family & 255);
      for (const [attrs, entries] of byAttrs) {
        packAnnouncements(wireAttributes(family, attrs), prefixList(family, entries, addPath), ctx, out);
      }
    }
    for (const [family, entries] of withdrawals) {
      packWithdrawals(prefixList(family, entries, hasAddPath(ctx, family >> 8, family & 255)), ctx, out);
    }
    return out;
  }
}
