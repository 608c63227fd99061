// Adj-RIB-In: the routes one peer announced to us (RFC 4271 3.2), per family. Pure data. In the speaker
// the Router fills it while it walks an UPDATE once (`set` / `delete`), with the attribute object the
// Loc-RIB holds (interned, normalised: the next hop of the family, MP_* removed, an eBGP LOCAL_PREF
// dropped), so a received route is stored once. `apply` takes a whole decoded UPDATE, for tools and
// tests that keep a table of what a peer sent.

import type { MpReachUnicast, PathAttributes } from '../messages/attributes/types.js';
import { familyKey, IPV4_UNICAST } from '../messages/iana.js';
import type { PrefixList } from '../messages/nlri.js';
import { treatAsWithdraw, type UpdateMessage } from '../messages/update.js';
import { NumberTable } from './number-table.js';

/** Attributes of a stored route: no MP_REACH/MP_UNREACH; `nextHop` is that of the route's family. */
export interface RouteAttributes extends Omit<PathAttributes, 'mpReach' | 'mpUnreach' | 'nextHop'> {
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
}

export interface AdjRibInRoute {
  readonly family: number;
  /** Ipv4Key (number) or Ipv6Key (string), see prefix.ts. */
  readonly prefix: number | string;
  readonly pathId?: number;
  readonly attributes: RouteAttributes;
}

export interface ApplyResult {
  readonly announced: number;
  readonly withdrawn: number;
  /** RFC 7606 treat-as-withdraw: the UPDATE's announcements were taken as withdrawals. */
  readonly treatedAsWithdraw: boolean;
}

/**
 * One family's routes: IPv4 ones without a path id as their attributes alone, under their prefix key
 * in a NumberTable (no object per route: the table holds the key, the Loc-RIB the attributes); the others
 * (IPv6, ADD-PATH) as route objects in a Map.
 */
/** The Map key of a route that is not in `plain`: an IPv6 prefix key alone, or prefix and path id. */
function otherKey(prefix: number | string, pathId: number | undefined): string {
  return pathId === undefined ? (prefix as string) : `${prefix}#${pathId}`;
}

class FamilyRoutes {
  readonly plain = new NumberTable<RouteAttributes>();
  others: Map<string, AdjRibInRoute> | undefined;

  get size(): number {
    return this.plain.size + (this.others?.size ?? 0);
  }

  set(
    family: number,
    prefix: number | string,
    pathId: number | undefined,
    attributes: RouteAttributes,
  ): void {
    if (typeof prefix === 'number' && pathId === undefined) {
      this.plain.set(prefix, attributes);
      return;
    }
    this.others ??= new Map();
    this.others.set(
      otherKey(prefix, pathId),
      pathId === undefined ? { family, prefix, attributes } : { family, prefix, pathId, attributes },
    );
  }

  delete(prefix: number | string, pathId: number | undefined): boolean {
    if (typeof prefix === 'number' && pathId === undefined) return this.plain.delete(prefix);
    return this.others?.delete(otherKey(prefix, pathId)) ?? false;
  }

  forEach(family: number, fn: (r: AdjRibInRoute) => void): void {
    this.plain.forEach((attributes, prefix) => {
      fn({ family, prefix, attributes });
    });
    for (const r of this.others?.values() ?? []) fn(r);
  }
}

function withoutMp(a: PathAttributes, nextHop: string, linkLocal?: string): RouteAttributes {
  const { mpReach: _r, mpUnreach: _u, nextHop: _n, ...rest } = a;
  return linkLocal === undefined ? { ...rest, nextHop } : { ...rest, nextHop, linkLocalNextHop: linkLocal };
}

export class AdjRibIn {
  private readonly tables = new Map<number, FamilyRoutes>();
  /** The table of the last family asked for (a peer's UPDATEs are mostly of one family). */
  private lastFamily = -1;
  private lastTable: FamilyRoutes | undefined;

  private table(family: number): FamilyRoutes {
    if (family === this.lastFamily) return this.lastTable!;
    let t = this.tables.get(family);
    if (!t) {
      t = new FamilyRoutes();
      this.tables.set(family, t);
    }
    this.lastFamily = family;
    this.lastTable = t;
    return t;
  }

  /** The routes held, of one family or all. */
  routes(family?: number): AdjRibInRoute[] {
    const out: AdjRibInRoute[] = [];
    const add = (r: AdjRibInRoute): void => {
      out.push(r);
    };
    if (family !== undefined) this.tables.get(family)?.forEach(family, add);
    else for (const [f, t] of this.tables) t.forEach(f, add);
    return out;
  }

  count(family?: number): number {
    if (family !== undefined) return this.tables.get(family)?.size ?? 0;
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }

  clear(): void {
    this.tables.clear();
    this.lastFamily = -1;
    this.lastTable = undefined;
  }

  /** The peer announced this route (replacing its earlier one for the prefix and path id). */
  set(
    family: number,
    prefix: number | string,
    pathId: number | undefined,
    attributes: RouteAttributes,
  ): void {
    this.table(family).set(family, prefix, pathId, attributes);
  }

  /** The peer withdrew this route; false when it held none. */
  delete(family: number, prefix: number | string, pathId: number | undefined): boolean {
    const t = this.tables.get(family);
    if (t === undefined) return false;
    const gone = t.delete(prefix, pathId);
    if (gone && t.size === 0) t.plain.compact();
    return gone;
  }

  private withdraw(family: number, list: PrefixList): number {
    const t = this.tables.get(family);
    if (!t) return 0;
    let n = 0;
    const ids = list.pathIds;
    for (let i = 0; i < list.prefixes.length; i++) {
      if (t.delete(list.prefixes[i]!, ids?.[i])) n++;
    }
    if (n > 0) t.plain.compact();
    return n;
  }

  private announce(family: number, list: PrefixList, attributes: RouteAttributes): number {
    const t = this.table(family);
    const ids = list.pathIds;
    for (let i = 0; i < list.prefixes.length; i++) t.set(family, list.prefixes[i]!, ids?.[i], attributes);
    return list.prefixes.length;
  }

  /** Applies one UPDATE (withdrawals first, then announcements; replacement is implicit). */
  apply(update: UpdateMessage): ApplyResult {
    const a = update.attributes;
    let withdrawn = this.withdraw(IPV4_UNICAST, update.withdrawn);
    if (a.mpUnreach?.kind === 'unicast') {
      withdrawn += this.withdraw(familyKey(a.mpUnreach.afi, a.mpUnreach.safi), a.mpUnreach.withdrawn);
    }
    const reach: MpReachUnicast | undefined = a.mpReach?.kind === 'unicast' ? a.mpReach : undefined;
    if (treatAsWithdraw(update)) {
      withdrawn += this.withdraw(IPV4_UNICAST, update.nlri);
      if (reach) withdrawn += this.withdraw(familyKey(reach.afi, reach.safi), reach.nlri);
      return { announced: 0, withdrawn, treatedAsWithdraw: true };
    }
    let announced = 0;
    if (update.nlri.prefixes.length > 0 && a.nextHop !== undefined) {
      announced += this.announce(IPV4_UNICAST, update.nlri, withoutMp(a, a.nextHop));
    }
    if (reach && reach.nlri.prefixes.length > 0) {
      // the family is that of the NLRI (RFC 8950 lets IPv4 NLRI carry an IPv6 next hop)
      announced += this.announce(
        familyKey(reach.afi, reach.safi),
        reach.nlri,
        withoutMp(a, reach.nextHop, reach.linkLocalNextHop),
      );
    }
    return { announced, withdrawn, treatedAsWithdraw: false };
  }
}
