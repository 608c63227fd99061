// Kernel sync: tern's copy of the kernel routing table, what is learned from it (kernel -> BGP), the
// routes written to it (BGP -> kernel). The daemon's entry point is KernelSync; docs/fib.md.

export { type CanonicalPrefix, canonicalAddress, canonicalPrefix, prefixCovers } from './address.js';
export {
  type ChangeCause,
  type FollowerOptions,
  type FollowerStats,
  KernelRouteFollower,
  type RouteListener,
} from './follower.js';
export { type IpOptions, type IpResult, readRoutes, runIp } from './ip.js';
export {
  aggregate,
  diffLearned,
  interfacePattern,
  type LearnedDiff,
  type LearnedKind,
  type LearnedPrefix,
  Learner,
  type LearnPool,
  type LearnRules,
  learnRoutes,
  RouteClassifier,
} from './learn.js';
export { PrefixIndex } from './lpm.js';
export { type MonitorEvent, MonitorParser, parseRouteDump, parseRouteText, routeFromJson } from './parse.js';
export {
  type FibConflict,
  type FibNextHop,
  type FibOp,
  type FibPlan,
  type FibRoute,
  type FibTarget,
  fibCommand,
  normalizeFibRoute,
  planFibChanges,
  type RejectType,
  satisfies,
  type WantedRoute,
} from './plan.js';
export {
  type KernelNextHop,
  type KernelRoute,
  MAIN_TABLE,
  type RouteType,
  routeKey,
  sameRoute,
} from './route.js';
export { KernelSync, type KernelSyncOptions, type OriginateListener } from './sync.js';
export { type ApplyResult, type RouteChange, RouteTable } from './table.js';
export {
  batchFailures,
  type FibError,
  FibWriter,
  type FibWriterOptions,
  type FibWriterStats,
} from './writer.js';
