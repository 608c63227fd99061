// The metrics of `tern run`: off unless the config has `metrics:`; then a SpeakerMetrics served by a
// MetricsServer, started beside the control socket and stopped with it.

import type { TernConfig } from '../config/types.js';
import type { EventLoopDelay } from '../control/event-loop.js';
import type { Logger } from '../log.js';
import type { Speaker } from '../speaker/speaker.js';
import type { SpeakerMetrics } from './metrics.js';
import type { MetricsServer } from './server.js';

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
  let running: { readonly metrics: SpeakerMetrics; readonly server: MetricsServer } | undefined;
  return {
    start: async () => {
      // prom-client is loaded only when metrics are on (about 10 MB of RSS a node without them keeps)
      const [m, s] = await Promise.all([import('./metrics.js'), import('./server.js')]);
      const metrics = new m.SpeakerMetrics(speaker, opts);
      const server = new s.MetricsServer(listen, metrics, log.child({ component: 'metrics' }));
      running = { metrics, server };
      await server.start();
    },
    stop: async () => {
      if (!running) return;
      await running.server.stop();
      running.metrics.close();
    },
  };
}
