// Next-hop resolution through the kernel's routing table (BIRD's `gateway recursive`, as Calico's
// template sets it): a BGP route is eligible only if the kernel has a route to its next hop. Each
// distinct next hop is looked up once (`ip route get`), kept, and looked up again periodically; until
// its first answer a next hop counts as unresolved, and every answer that changes something makes the
// Loc-RIB run selection again (`onChange`), so routes appear without first flapping.

import { execFile } from 'node:child_process';

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

export class NextHopResolver {
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
