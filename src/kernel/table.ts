// The in-process copy of one kernel routing table (IPv4 and IPv6): every route by its kernel key, and a
// longest-prefix-match index for next-hop resolution. Pure: it changes only through `applyEvent` (one
// `ip monitor` message) and `replaceFamily` (a full read), each returning what changed.

import type { FamilyName } from '../config/types.js';
import { PrefixIndex } from './lpm.js';
import {
  type KernelNextHop,
  type KernelRoute,
  MAIN_TABLE,
  routeKey,
  sameRoute,
  UNUSABLE_TYPES,
} from './route.js';

/** One route that appeared (no `before`), went (no `after`) or changed. */
export interface RouteChange {
  readonly key: string;
  readonly before?: KernelRoute;
  readonly after?: KernelRoute;
}

export interface ApplyResult {
  readonly changes: RouteChange[];
  /** The event did not fit the copy (an IPv6 next hop deleted that the copy does not have): read again. */
  readonly doubt?: string;
}

function sameHop(a: KernelNextHop, b: KernelNextHop): boolean {
  return a.gateway === b.gateway && a.dev === b.dev;
}

/** Routes an ordinary packet can take (TOS 0, no source prefix), as the LPM index holds them. */
function ordinary(r: KernelRoute): boolean {
  return r.tos === 0 && r.from === undefined;
}

export class RouteTable {
  private readonly byKey = new Map<string, KernelRoute>();
  /** Ordinary routes per prefix, lowest metric first. */
  private readonly index = new PrefixIndex<KernelRoute[]>();

  /** `table`: the kernel table this copy follows; events of other tables are ignored. */
  constructor(readonly table: number = MAIN_TABLE) {}

  get size(): number {
    return this.byKey.size;
  }

  routes(): IterableIterator<KernelRoute> {
    return this.byKey.values();
  }

  get(key: string): KernelRoute | undefined {
    return this.byKey.get(key);
  }

  /**
   * The route the kernel would pick for a packet to `address` in this table: the longest prefix that
   * holds an ordinary route, its lowest metric. Undefined: no route (or not an address).
   */
  lookup(address: string): KernelRoute | undefined {
    return this.index.lookup(address)?.[0];
  }

  /** True when the longest match is a route that forwards (not blackhole/unreachable/prohibit/throw). */
  reachable(address: string): boolean {
    const r = this.lookup(address);
    return r !== undefined && !UNUSABLE_TYPES.has(r.type);
  }

  /** Whether some route of `family` leaves through `dev`. */
  hasRoutesVia(dev: string, family: FamilyName): boolean {
    for (const r of this.byKey.values()) {
      if (r.family === family && r.nextHops.some((h) => h.dev === dev)) return true;
    }
    return false;
  }

  /**
   * One message of `ip monitor route`. A new route replaces the one with its key. A deleted IPv4 route
   * goes whole; a deleted IPv6 route names the next hops that went (the kernel sends one message per
   * hop removed from a multipath route, or one with all of them), and the route goes with its last hop.
   */
  applyEvent(deleted: boolean, route: KernelRoute): ApplyResult {
    if (route.table !== this.table) return { changes: [] };
    const key = routeKey(route);
    const before = this.byKey.get(key);
    if (!deleted) {
      if (before !== undefined && sameRoute(before, route)) return { changes: [] };
      this.put(key, route, before);
      return { changes: [before === undefined ? { key, after: route } : { key, before, after: route }] };
    }
    if (before === undefined) return { changes: [] };
    if (route.family === 'ipv6-unicast' && route.nextHops.length > 0 && before.nextHops.length > 0) {
      const left = before.nextHops.filter((h) => !route.nextHops.some((d) => sameHop(h, d)));
      if (left.length === before.nextHops.length) {
        return { changes: [], doubt: `deleted next hops of ${route.prefix} that the copy does not have` };
      }
      if (left.length > 0) {
        const after: KernelRoute = { ...before, nextHops: left };
        this.put(key, after, before);
        return { changes: [{ key, before, after }] };
      }
    }
    this.remove(key, before);
    return { changes: [{ key, before }] };
  }

  /** Makes the copy of one family exactly `routes` (a full read); returns the differences. */
  replaceFamily(family: FamilyName, routes: readonly KernelRoute[]): RouteChange[] {
    const next = new Map<string, KernelRoute>();
    for (const r of routes) if (r.family === family && r.table === this.table) next.set(routeKey(r), r);
    const changes: RouteChange[] = [];
    for (const [key, before] of this.byKey) {
      // (deleting the entry being visited is safe in a Map iteration)
      if (before.family !== family || next.has(key)) continue;
      this.remove(key, before);
      changes.push({ key, before });
    }
    for (const [key, after] of next) {
      const before = this.byKey.get(key);
      if (before !== undefined && sameRoute(before, after)) continue;
      this.put(key, after, before);
      changes.push(before === undefined ? { key, after } : { key, before, after });
    }
    return changes;
  }

  private put(key: string, route: KernelRoute, before: KernelRoute | undefined): void {
    if (before !== undefined) this.unindex(before);
    this.byKey.set(key, route);
    if (!ordinary(route)) return;
    this.index.update(route.prefix, (at) => {
      if (at === undefined) return [route];
      at.push(route);
      at.sort((a, b) => a.metric - b.metric);
      return at;
    });
  }

  private remove(key: string, before: KernelRoute): void {
    this.byKey.delete(key);
    this.unindex(before);
  }

  private unindex(route: KernelRoute): void {
    if (!ordinary(route)) return;
    this.index.update(route.prefix, (at) => {
      if (at === undefined) return undefined;
      const i = at.indexOf(route);
      if (i >= 0) at.splice(i, 1);
      return at.length === 0 ? undefined : at;
    });
  }
}
