// Next-hop resolution through the kernel's routing table (BIRD's `gateway recursive`, as Calico's
// template sets it): a BGP route is eligible only if the kernel has a route to its next hop.
//
// Two resolvers with one shape (`NextHopReachability`):
//   - KernelNextHopResolver answers from tern's in-process copy of the kernel table (src/kernel/: a full
//     read, then `ip monitor`): a longest-prefix match per next hop, at once, and `onChange` as soon as a
//     kernel change turns an answer (the copy is re-asked for every known next hop on each change).
//   - NextHopResolver, the older one, asks `ip route get` per next hop: each distinct next hop is looked
//     up once, kept, and looked up again periodically; until its first answer a next hop counts as
//     unresolved, and every answer that changes something makes the Loc-RIB run selection again
//     (`onChange`), so routes appear without first flapping.

import { execFile } from 'node:child_process';
import type { RouteListener } from '../kernel/follower.js';

/** Whether the kernel would forward to `address` (any route but unreachable/blackhole/prohibit/throw). */
export type RouteLookup = (address: string) => Promise<boolean>;

const UNUSABLE_TYPES = new Set(['unreachable', 'blackhole', 'prohibit', 'throw']);

/** `ip -j route get <address>` (in network namespace `netns`, for tests), bounded to 2 s. */
export function ipRouteGet(netns?: string): RouteLookup {
  return (address) =>
    new Promise((resolve) => {
      const args = [
        ...(netns ? ['-n', netns] : []),
        '-j',
        ...(address.includes(':') ? ['-6'] : []),
        'route',
        'get',
        address,
      ];
      execFile('ip', args, { timeout: 2000 }, (err, stdout) => {
        if (err) {
          resolve(false); // "Network is unreachable" and friends exit non-zero
          return;
        }
        try {
          const routes = JSON.parse(stdout) as { type?: string }[];
          resolve(routes.length > 0 && !UNUSABLE_TYPES.has(routes[0]?.type ?? 'unicast'));
        } catch {
          resolve(false);
        }
      });
    });
}

/** What the Loc-RIB's owner needs from a resolver. */
export interface NextHopReachability {
  /** The current answer for `address`; false while it is not known yet (an answer then follows). */
  resolvable(address: string): boolean;
  start(): void;
  stop(): void;
}

export class NextHopResolver implements NextHopReachability {
  private readonly known = new Map<string, boolean>();
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private changeScheduled = false;

  constructor(
    private readonly lookup: RouteLookup,
    private readonly onChange: () => void,
    private readonly refreshSeconds = 10,
  ) {}

  /** The last answer for `address`; unknown: false, and a lookup starts. */
  resolvable(address: string): boolean {
    const v = this.known.get(address);
    if (v !== undefined) return v;
    this.check(address);
    return false;
  }

  /** Looks every known next hop up again now (also runs every `refreshSeconds`). */
  refresh(): void {
    for (const address of this.known.keys()) this.check(address);
  }

  start(): void {
    this.timer = setInterval(() => this.refresh(), this.refreshSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves once no lookup is under way (tests). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.changeScheduled) await new Promise((r) => setTimeout(r, 5));
  }

  private check(address: string): void {
    if (this.inFlight.has(address)) return;
    this.inFlight.add(address);
    void this.lookup(address).then((ok) => {
      this.inFlight.delete(address);
      const before = this.known.get(address);
      this.known.set(address, ok);
      // a first answer of "resolvable" or any change of answer: selection must run again
      if (before !== ok && (before !== undefined || ok)) this.changed();
    });
  }

  /** Coalesces the answers of one burst of lookups into one re-selection. */
  private changed(): void {
    if (this.changeScheduled) return;
    this.changeScheduled = true;
    setTimeout(() => {
      this.changeScheduled = false;
      this.onChange();
    }, 20).unref();
  }
}

/** The part of a KernelRouteFollower that next-hop resolution reads. */
export interface KernelRoutes {
  readonly ready: boolean;
  readonly table: { reachable(address: string): boolean };
  onChange(listener: RouteListener): () => void;
}

/**
 * Next hops resolved on tern's copy of the kernel table: reachable when the longest match is a route
 * that forwards (not blackhole, unreachable, prohibit or throw). Until the copy holds its first full
 * read every next hop is unresolved; then answers are immediate. Each change of the copy re-asks every
 * next hop asked so far and calls `onChange` once (coalesced per turn of the event loop) when some
 * answer turned.
 */
export class KernelNextHopResolver implements NextHopReachability {
  private readonly known = new Map<string, boolean>();
  private unsubscribe: (() => void) | undefined;
  private changeScheduled = false;

  constructor(
    private readonly routes: KernelRoutes,
    private readonly onChange: () => void,
  ) {}

  resolvable(address: string): boolean {
    const v = this.known.get(address);
    if (v !== undefined) return v;
    const ok = this.routes.ready && this.routes.table.reachable(address);
    this.known.set(address, ok);
    return ok;
  }

  /** Follows the copy's changes (until `stop`), after catching up with them. */
  start(): void {
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.routes.onChange(() => this.refresh());
    this.refresh();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Asks the copy again for every known next hop; true when some answer turned (onChange follows). */
  refresh(): boolean {
    if (!this.routes.ready) return false;
    let turned = false;
    for (const [address, before] of this.known) {
      const now = this.routes.table.reachable(address);
      if (now === before) continue;
      this.known.set(address, now);
      turned = true;
    }
    if (turned) this.changed();
    return turned;
  }

  /** Resolves once a pending onChange has run (tests). */
  async settled(): Promise<void> {
    while (this.changeScheduled) await new Promise((r) => setImmediate(r));
  }

  /** Next hops asked about so far. */
  get size(): number {
    return this.known.size;
  }

  private changed(): void {
    if (this.changeScheduled) return;
    this.changeScheduled = true;
    setImmediate(() => {
      this.changeScheduled = false;
      this.onChange();
    });
  }
}
