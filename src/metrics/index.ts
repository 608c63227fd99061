// Prometheus metrics: the registry of a Speaker's metrics and the HTTP endpoint that serves it.

export { type DaemonMetrics, daemonMetrics } from './daemon.js';
export { notificationLabels, SESSION_STATES, SpeakerMetrics, type SpeakerMetricsOptions } from './metrics.js';
export { MetricsServer, type MetricsServerOptions, type MetricsSource } from './server.js';
