// The metrics of `tern run`: off unless the config has `metrics:`; then a SpeakerMetrics served by a
// MetricsServer, started beside the control socket and stopped with it.

import type { TernConfig } from '../config/types.js';
import type { EventLoopDelay } from '../control/event-loop.js';
import type { Logger } from '../log.js';
import type { Speaker } from '../speaker/speaker.js';
import { SpeakerMetrics } from './metrics.js';
import { MetricsServer } from './server.js';

export interface DaemonMetrics {
  /** Listens (nothing when metrics are off); rejects naming `metrics` and the address. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function daemonMetrics(
  listen: TernConfig['metrics'],
  speaker: Speaker,
  log: Logger,
  opts: { readonly version: string; readonly eventLoop?: () => EventLoopDelay },
): DaemonMetrics {
  if (!listen) return { start: async () => {}, stop: async () => {} };
  const metrics = new SpeakerMetrics(speaker, opts);
  const server = new MetricsServer(listen, metrics, log.child({ component: 'metrics' }));
  return {
    start: () => server.start(),
    stop: async () => {
      await server.stop();
      metrics.close();
    },
  };
}
