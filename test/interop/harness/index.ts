// The interop harness: network namespaces, real BGP daemons, and waits on what their CLIs show.
//
//   describeInterop('tern <-> BIRD', () => {
//     const harness = useInteropHarness('tern-bird');
//     it('exchanges routes', async () => {
//       const h = harness();
//       const a = await h.createNetns('tern'); const b = await h.createNetns('bird');
//       await h.link(a, '10.77.1.1', b, '10.77.1.2');
//       const bird = await startBird2(h, b, { name: 'bird', routerId: '10.77.1.2', localAs: 65002,
//         neighbors: [{ address: '10.77.1.1', as: 64512 }] });
//       await waitEstablished(bird, '10.77.1.1');
//       await waitRoute(bird, 'ipv4', '10.10.0.0/26', { nextHop: '10.77.1.1', asPath: [64512] });
//     });
//   });
import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { InteropHarness } from './netns.js';
import { waitFor } from './process.js';
import type { BgpDaemon, Family, RibRoute } from './types.js';

export { Bird2, bird2Config, startBird2 } from './bird.js';
export { parseBirdRoutes } from './bird-common.js';
export { Bird1, bird1Config, startBird1 } from './bird1.js';
export {
  type Availability,
  daemonVersions,
  describeInterop,
  describeNetns,
  type InteropPaths,
  interopAvailable,
  interopPaths,
  interopRequired,
  netnsAvailable,
} from './env.js';
export { ExaBgp, exabgpConfig, replayExabgpEvents, startExaBgp } from './exabgp.js';
export { Frr, frrConfig, startFrr } from './frr.js';
export { GoBgp, gobgpConfig, startGoBgp } from './gobgp.js';
export {
  type AddressSpec,
  deriveV6,
  type HarnessOptions,
  InteropHarness,
  type Link,
  type LinkEnd,
  type LinkOptions,
  type Netns,
  sweepStaleNamespaces,
} from './netns.js';
export {
  type CommandResult,
  FatalWaitError,
  ManagedProcess,
  runCommand,
  sleep,
  type WaitOptions,
  WaitTimeoutError,
  waitFor,
} from './process.js';
export type {
  AnnouncedRoute,
  BgpDaemon,
  DaemonKind,
  DaemonOptions,
  Family,
  NeighborOptions,
  RibRoute,
} from './types.js';

/**
 * One harness per describe block: created in beforeAll, marked failed by any failing test (its logs
 * are then kept and their tails printed), torn down in afterAll (and on exit/signals regardless).
 */
export function useInteropHarness(label: string, opts: { keepLogs?: boolean } = {}): () => InteropHarness {
  let h: InteropHarness | undefined;
  beforeAll(() => {
    h = new InteropHarness({ label, ...opts });
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') h?.markFailed();
  });
  afterAll(async () => {
    await h?.teardown();
  });
  return () => {
    if (h === undefined) throw new Error('useInteropHarness: harness used outside a test');
    return h;
  };
}

function daemonLabel(d: BgpDaemon): string {
  return `${d.kind} ${d.name}`;
}

/** Waits until the daemon shows the session to `address` Established. */
export function waitEstablished(d: BgpDaemon, address: string, timeoutMs = 30_000): Promise<string> {
  return waitFor(() => d.neighborState(address), {
    what: `${daemonLabel(d)}: session to ${address} Established`,
    until: (s) => s === 'Established',
    describe: (s) => `state ${s}`,
    timeoutMs,
    intervalMs: 300,
  });
}

/** Fields of a route to match; arrays and values compare exactly, absent fields are not checked. */
export type RouteMatch = Partial<RibRoute>;

export function routeMatches(r: RibRoute, m: RouteMatch): boolean {
  for (const [k, v] of Object.entries(m) as [keyof RibRoute, RibRoute[keyof RibRoute]][]) {
    if (!isDeepStrictEqual(r[k], v)) return false;
  }
  return true;
}

function summarize(routes: RibRoute[]): string {
  return routes.length === 0
    ? 'no routes'
    : routes
        .map((r) => `${r.prefix} via ${r.nextHop || '-'} [${r.asPath.join(' ')}]${r.best ? ' best' : ''}`)
        .join('; ');
}

/** Waits until some path for `prefix` matches `m` and returns it. */
export async function waitRoute(
  d: BgpDaemon,
  family: Family,
  prefix: string,
  m: RouteMatch = {},
  timeoutMs = 30_000,
): Promise<RibRoute> {
  const routes = await waitFor(() => d.routes(family), {
    what: `${daemonLabel(d)}: ${family} route ${prefix} matching ${JSON.stringify(m)}`,
    until: (rs) => rs.some((r) => r.prefix === prefix && routeMatches(r, m)),
    describe: (rs) => {
      const same = rs.filter((r) => r.prefix === prefix);
      return same.length > 0 ? `paths for ${prefix}: ${JSON.stringify(same)}` : `table: ${summarize(rs)}`;
    },
    timeoutMs,
    intervalMs: 300,
  });
  return routes.find((r) => r.prefix === prefix && routeMatches(r, m)) as RibRoute;
}

/** Waits until no path for `prefix` is left. */
export async function waitNoRoute(
  d: BgpDaemon,
  family: Family,
  prefix: string,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(() => d.routes(family), {
    what: `${daemonLabel(d)}: ${family} route ${prefix} gone`,
    until: (rs) => !rs.some((r) => r.prefix === prefix),
    describe: (rs) => JSON.stringify(rs.filter((r) => r.prefix === prefix)),
    timeoutMs,
    intervalMs: 300,
  });
}
