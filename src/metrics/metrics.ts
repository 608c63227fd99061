// The Prometheus metrics of a running Speaker (prom-client). Everything is read from the Speaker at
// scrape time, the way `tern show` reads it (src/control/views.ts): the counters are the ones each Peer
// keeps (messages by type, NOTIFICATIONs by code and subcode), nothing is added to the session or
// routing paths. docs/metrics.md lists every metric.

import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { FsmState } from '../bgp/fsm/types.js';
import { ERROR_CODE_NAMES, ERROR_SUBCODE_NAMES, familyName } from '../bgp/messages/iana.js';
import type { EventLoopDelay } from '../control/event-loop.js';
import type { FibWriterStats } from '../kernel/writer.js';
import type { MessageCounters, NotificationCounters, Peer } from '../speaker/peer.js';
import type { Speaker } from '../speaker/speaker.js';

export const SESSION_STATES: readonly FsmState[] = [
  'Idle',
  'Connect',
  'Active',
  'OpenSent',
  'OpenConfirm',
  'Established',
];

/** Message kinds as Peer counts them, and their label values. */
const MESSAGE_TYPES: readonly (readonly [keyof MessageCounters, string])[] = [
  ['open', 'open'],
  ['update', 'update'],
  ['notification', 'notification'],
  ['keepalive', 'keepalive'],
  ['routeRefresh', 'route_refresh'],
];

const zero = (): MessageCounters => ({ open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 });

function addInto(into: MessageCounters, c: Readonly<MessageCounters>): void {
  for (const [k] of MESSAGE_TYPES) into[k] += c[k];
}

/** The code and subcode of a NOTIFICATION as label values; codes tern does not know are `unknown`. */
export function notificationLabels(code: number, subcode: number): { code: string; subcode: string } {
  const c = ERROR_CODE_NAMES[code];
  if (c === undefined) return { code: 'unknown', subcode: 'unknown' };
  return { code: c, subcode: ERROR_SUBCODE_NAMES[code]?.[subcode] ?? 'unknown' };
}

export interface SpeakerMetricsOptions {
  /** tern's version, for `tern_info`. */
  readonly version: string;
  /** The daemon's event-loop monitor (the one `tern show status` reports). */
  readonly eventLoop?: () => EventLoopDelay;
  /** prom-client's process and Node.js metrics (process_*, nodejs_*); default on. */
  readonly processMetrics?: boolean;
}

/**
 * Message totals that never go down: peers are replaced on reload (a new Peer, its counters from 0),
 * so the counts of a peer that is gone are kept. The peers seen at the previous scrape are held until
 * this one, so what a removed peer sent last (its Cease) is counted too.
 */
class MessageTotals {
  private seen = new Set<Peer>();
  private readonly gone = { received: zero(), sent: zero() };

  read(peers: Iterable<Peer>): { received: MessageCounters; sent: MessageCounters } {
    const now = new Set(peers);
    for (const p of this.seen) {
      if (now.has(p)) continue;
      addInto(this.gone.received, p.received);
      addInto(this.gone.sent, p.sent);
    }
    this.seen = now;
    const received = { ...this.gone.received };
    const sent = { ...this.gone.sent };
    for (const p of now) {
      addInto(received, p.received);
      addInto(sent, p.sent);
    }
    return { received, sent };
  }
}

function addCodes(into: Map<number, number>, from: ReadonlyMap<number, number>): void {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
}

/** NOTIFICATION totals by code and subcode, kept over peers replaced or removed as MessageTotals. */
class NotificationTotals {
  private seen = new Set<Peer>();
  private readonly gone: NotificationCounters = { received: new Map(), sent: new Map() };

  read(peers: Iterable<Peer>): NotificationCounters {
    const now = new Set(peers);
    for (const p of this.seen) {
      if (now.has(p)) continue;
      addCodes(this.gone.received, p.notifications.received);
      addCodes(this.gone.sent, p.notifications.sent);
    }
    this.seen = now;
    const out: NotificationCounters = {
      received: new Map(this.gone.received),
      sent: new Map(this.gone.sent),
    };
    for (const p of now) {
      addCodes(out.received, p.notifications.received);
      addCodes(out.sent, p.notifications.sent);
    }
    return out;
  }
}

/** The registry of one Speaker's metrics. */
export class SpeakerMetrics {
  readonly registry = new Registry();

  constructor(
    private readonly speaker: Speaker,
    opts: SpeakerMetricsOptions,
  ) {
    const r = this.registry;
    const sp = this.speaker;
    const peers = (): Peer[] => [...sp.peers.values()];

    new Gauge({
      name: 'tern_info',
      help: 'Always 1; the labels say which tern this is',
      labelNames: ['version', 'router_id', 'asn'],
      registers: [r],
      collect() {
        this.reset();
        this.set({ version: opts.version, router_id: sp.config.routerId, asn: String(sp.config.asn) }, 1);
      },
    });

    new Gauge({
      name: 'tern_bgp_sessions',
      help: 'Configured peers by the state of their session (the most advanced of their connections)',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const n = new Map<FsmState, number>(SESSION_STATES.map((s) => [s, 0]));
        for (const p of peers()) n.set(p.state, (n.get(p.state) ?? 0) + 1);
        for (const [state, count] of n) this.set({ state }, count);
      },
    });

    new Gauge({
      name: 'tern_bgp_peer_established',
      help: 'Per peer: 1 while its session is Established, else 0',
      labelNames: ['peer'],
      registers: [r],
      collect() {
        this.reset();
        for (const p of peers()) this.set({ peer: p.name }, p.state === 'Established' ? 1 : 0);
      },
    });

    new Gauge({
      name: 'tern_bgp_peer_prefixes_received',
      help: "Per peer: routes held in its Adj-RIB-In (what it sent and import kept), as tern show's Rcvd",
      labelNames: ['peer'],
      registers: [r],
      collect() {
        this.reset();
        for (const p of peers()) this.set({ peer: p.name }, p.adjRibIn.count());
      },
    });

    new Gauge({
      name: 'tern_bgp_peer_prefixes_advertised',
      help: "Per peer: routes advertised to it (its update group's Adj-RIB-Out), as tern show's Sent",
      labelNames: ['peer'],
      registers: [r],
      collect() {
        this.reset();
        for (const p of peers()) this.set({ peer: p.name }, p.prefixesAdvertised);
      },
    });

    const totals = new MessageTotals();
    new Counter({
      name: 'tern_bgp_messages_total',
      help: 'BGP messages received and sent, by type, over all peers (also those since removed)',
      labelNames: ['direction', 'type'],
      registers: [r],
      collect() {
        const t = totals.read(sp.peers.values());
        this.reset();
        for (const [k, type] of MESSAGE_TYPES) {
          this.inc({ direction: 'received', type }, t.received[k]);
          this.inc({ direction: 'sent', type }, t.sent[k]);
        }
      },
    });

    const notificationTotals = new NotificationTotals();
    new Counter({
      name: 'tern_bgp_notifications_total',
      help: 'NOTIFICATIONs received and sent, by error code and subcode name, over all peers (also those since removed)',
      labelNames: ['direction', 'code', 'subcode'],
      registers: [r],
      collect() {
        const t = notificationTotals.read(sp.peers.values());
        this.reset();
        // codes without a name share the `unknown` labels: their counts add up
        for (const [direction, byCode] of [
          ['received', t.received],
          ['sent', t.sent],
        ] as const) {
          for (const [key, n] of byCode)
            this.inc({ direction, ...notificationLabels(key >> 8, key & 255) }, n);
        }
      },
    });

    new Counter({
      name: 'tern_refused_connections_total',
      help: 'Incoming TCP connections refused because they came from no configured peer',
      registers: [r],
      collect() {
        this.reset();
        this.inc(sp.refusedConnections);
      },
    });

    new Gauge({
      name: 'tern_rib_prefixes',
      help: 'Prefixes in the Loc-RIB, by family',
      labelNames: ['family'],
      registers: [r],
      collect() {
        this.reset();
        const rib = sp.router.locRib;
        for (const f of rib.families()) this.set({ family: familyName(f >> 8, f & 255) }, rib.prefixCount(f));
      },
    });

    new Gauge({
      name: 'tern_rib_routes',
      help: 'Candidate routes in the Loc-RIB (every path of every prefix, originated ones included)',
      registers: [r],
      collect() {
        this.set(sp.router.locRib.size);
      },
    });

    new Counter({
      name: 'tern_decision_runs_total',
      help: 'Times the decision process ran for a prefix (a candidate added, replaced or removed)',
      registers: [r],
      collect() {
        this.reset();
        this.inc(sp.decisionStats().runs);
      },
    });
    new Counter({
      name: 'tern_decision_best_changes_total',
      help: 'Times the decision process chose a different best route for a prefix (or none)',
      registers: [r],
      collect() {
        this.reset();
        this.inc(sp.decisionStats().bestChanges);
      },
    });

    const noWriter: FibWriterStats = { rounds: 0, added: 0, replaced: 0, deleted: 0, errors: 0 };
    const writer = (): Readonly<FibWriterStats> => sp.kernel?.writer?.stats ?? noWriter;
    new Counter({
      name: 'tern_fib_write_rounds_total',
      help: 'Rounds of kernel route writes (one `ip -batch` each); 0 without kernel.write',
      registers: [r],
      collect() {
        this.reset();
        this.inc(writer().rounds);
      },
    });
    new Counter({
      name: 'tern_fib_routes_written_total',
      help: 'Kernel routes written successfully, by operation (add, replace, delete)',
      labelNames: ['op'],
      registers: [r],
      collect() {
        const w = writer();
        this.reset();
        this.inc({ op: 'add' }, w.added);
        this.inc({ op: 'replace' }, w.replaced);
        this.inc({ op: 'delete' }, w.deleted);
      },
    });
    new Counter({
      name: 'tern_fib_write_errors_total',
      help: 'Kernel route writes that failed (each also logged: "kernel route not written")',
      registers: [r],
      collect() {
        this.reset();
        this.inc(writer().errors);
      },
    });

    const eventLoop = opts.eventLoop;
    if (eventLoop) {
      const delayGauge = (name: string, help: string, pick: (d: EventLoopDelay) => number): void => {
        new Gauge({
          name,
          help,
          registers: [r],
          collect() {
            this.set(Math.round(pick(eventLoop()) * 10) / 10_000); // ms to 0.1 ms, as seconds
          },
        });
      };
      delayGauge(
        'tern_event_loop_delay_p50_seconds',
        'Event-loop delay since start, median (as tern show status: sampled every 10 ms)',
        (d) => d.p50Ms,
      );
      delayGauge(
        'tern_event_loop_delay_p99_seconds',
        'Event-loop delay since start, 99th percentile',
        (d) => d.p99Ms,
      );
      delayGauge(
        'tern_event_loop_delay_max_seconds',
        'Event-loop delay since start, the largest',
        (d) => d.maxMs,
      );
    }

    if (opts.processMetrics !== false) collectDefaultMetrics({ register: r });
  }

  /** The text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.registry.clear();
  }
}
