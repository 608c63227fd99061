// Adj-RIB-In: the routes one peer announced to us (RFC 4271 3.2), per family. Pure data. In the speaker
// the Router fills it while it walks an UPDATE once (`set` / `delete`), with the attribute object the
// Loc-RIB holds (interned, normalised: the next hop of the family, MP_* removed, an eBGP LOCAL_PREF
// dropped), so a received route is stored once. `apply` takes a whole decoded UPDATE, for tools and
// tests that keep a table of what a peer sent.

import type { MpReachUnicast, PathAttributes } from '../messages/attributes/types.js';
import { familyKey, IPV4_UNICAST } from '../messages/iana.js';
import type { PrefixList } from '../messages/nlri.js';
import { treatAsWithdraw, type UpdateMessage } from '../messages/update.js';
import { PrefixTable } from './number-table.js';

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

function routeKey(prefix: number | string, pathId: number | undefined): number | string {
  return pathId === undefined ? prefix : `${prefix}#${pathId}`;
}

const routeNumber = (r: AdjRibInRoute): number => r.prefix as number;

function withoutMp(a: PathAttributes, nextHop: string, linkLocal?: string): RouteAttributes {
  const { mpReach: _r, mpUnreach: _u, nextHop: _n, ...rest } = a;
  return linkLocal === undefined ? { ...rest, nextHop } : { ...rest, nextHop, linkLocalNextHop: linkLocal };
}

export class AdjRibIn {
  private readonly tables = new Map<number, PrefixTable<AdjRibInRoute>>();
  /** The table of the last family asked for (a peer's UPDATEs are mostly of one family). */
  private lastFamily = -1;
  private lastTable: PrefixTable<AdjRibInRoute> | undefined;

  private table(family: number): PrefixTable<AdjRibInRoute> {
    if (family === this.lastFamily) return this.lastTable!;
    let t = this.tables.get(family);
    if (!t) {
      t = new PrefixTable(routeNumber);
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
    if (family !== undefined) this.tables.get(family)?.forEach(add);
    else for (const t of this.tables.values()) t.forEach(add);
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
    const route: AdjRibInRoute =
      pathId === undefined ? { family, prefix, attributes } : { family, prefix, pathId, attributes };
    this.table(family).set(routeKey(prefix, pathId), route);
  }

  /** The peer withdrew this route; false when it held none. */
  delete(family: number, prefix: number | string, pathId: number | undefined): boolean {
    const t = this.tables.get(family);
    if (t === undefined) return false;
    const gone = t.delete(routeKey(prefix, pathId));
    if (gone && t.size === 0) t.compact();
    return gone;
  }

  private withdraw(family: number, list: PrefixList): number {
    const t = this.tables.get(family);
    if (!t) return 0;
    let n = 0;
    const ids = list.pathIds;
    for (let i = 0; i < list.prefixes.length; i++) {
      if (t.delete(routeKey(list.prefixes[i]!, ids?.[i]))) n++;
    }
    if (n > 0) t.compact();
    return n;
  }

  private announce(family: number, list: PrefixList, attributes: RouteAttributes): number {
    const t = this.table(family);
    const ids = list.pathIds;
    for (let i = 0; i < list.prefixes.length; i++) {
      const prefix = list.prefixes[i]!;
      const pathId = ids?.[i];
      const route: AdjRibInRoute =
        pathId === undefined ? { family, prefix, attributes } : { family, prefix, pathId, attributes };
      t.set(routeKey(prefix, pathId), route);
    }
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
