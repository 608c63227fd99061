// The load generator's process: every client of the plan (and the monitor) on one event loop, driven by
// the parent over IPC (protocol.ts). Started by index.ts; exits when the parent goes away.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BgpClient } from './client.js';
import { type ClientWire, type EncodeOptions, encodeClient, encodeWithdrawals } from './encode.js';
import { Plan } from './plan.js';
import {
  type ChildMessage,
  type ChurnAction,
  type ClientState,
  type LoadOptions,
  now,
  type ParentMessage,
  type Summary,
} from './protocol.js';
import { Tally } from './tally.js';

function send(msg: ChildMessage, then?: () => void): void {
  process.send?.(msg, undefined, undefined, () => then?.());
}

class Generator {
  private readonly clients: BgpClient[] = [];
  private readonly monitor: BgpClient | undefined;
  private readonly inState = new Map<ClientState, number>();
  private readonly loop = monitorEventLoopDelay({ resolution: 10 });
  private readonly cpuStart = process.cpuUsage();
  private allEstablishedAt: number | undefined;
  private progress: NodeJS.Timeout | undefined;
  private readonly plan: Plan;
  private readonly encode: Omit<EncodeOptions, 'announce'>;

  constructor(private readonly options: LoadOptions) {
    this.loop.enable();
    const t0 = now();
    const plan = new Plan(options.plan);
    this.plan = plan;
    const encode = {
      holdTime: options.holdTime,
      ibgp: options.ibgp,
      endOfRib: options.endOfRib ?? true,
      ...(options.gracefulRestart !== undefined ? { gracefulRestart: options.gracefulRestart } : {}),
    };
    this.encode = encode;
    const onState = (c: BgpClient, from: ClientState): void => this.onState(c, from);
    let updateMessages = 0;
    let updateBytes = 0;
    const make = (index: number, wire: ClientWire, tally: Tally): BgpClient => {
      updateMessages += wire.updateCount;
      updateBytes += wire.updates.length;
      return new BgpClient(
        {
          index,
          localAddress: plan.client(index < 0 ? plan.clients : index).localAddress,
          target: options.target,
          holdTime: options.holdTime,
          announceOnEstablished: options.announce === 'established',
          ...(options.connectRetryMs !== undefined ? { connectRetryMs: options.connectRetryMs } : {}),
        },
        wire,
        tally,
        onState,
      );
    };
    for (let i = 0; i < plan.clients; i++) {
      const c = plan.client(i);
      this.clients.push(
        make(i, encodeClient(plan, c, { ...encode, announce: true }), new Tally(plan, i, options.nextHop)),
      );
    }
    if (options.monitor !== undefined) {
      const c = { ...plan.client(plan.clients), asn: options.monitor.asn };
      this.monitor = make(
        -1,
        encodeClient(plan, c, { ...encode, announce: false }),
        new Tally(plan, undefined, options.nextHop),
      );
    }
    this.inState.set('idle', plan.clients);
    send({ type: 'ready', encodeMs: Math.round(now() - t0), updateMessages, updateBytes });
  }

  private onState(c: BgpClient, from: ClientState): void {
    if (c === this.monitor) return;
    this.inState.set(from, (this.inState.get(from) ?? 0) - 1);
    this.inState.set(c.state, (this.inState.get(c.state) ?? 0) + 1);
    if (this.allEstablishedAt === undefined && this.inState.get('established') === this.clients.length)
      this.allEstablishedAt = now();
  }

  connect(): void {
    this.monitor?.connect();
    const rate = this.options.connectPerSecond ?? 0;
    if (rate <= 0) {
      for (const c of this.clients) c.connect();
    } else {
      const perTick = Math.max(1, Math.ceil(rate / 100));
      let next = 0;
      const tick = setInterval(() => {
        for (let k = 0; k < perTick && next < this.clients.length; k++) this.clients[next++]!.connect();
        if (next >= this.clients.length) clearInterval(tick);
      }, 10);
    }
    const every = this.options.progressMs ?? 200;
    this.progress = setInterval(() => send({ type: 'progress', summary: this.summary() }), every);
  }

  go(): void {
    for (const c of this.clients) c.announce();
  }

  /**
   * One client's churn (protocol.ts ChurnAction); replies with the time it wrote or dropped, or without
   * one when it could not (no such client, session not Established).
   */
  churn(id: number, index: number, action: ChurnAction): void {
    const c = this.clients[index];
    if (c === undefined) {
      send({ type: 'reply', id, summary: this.summary() });
      return;
    }
    const p = this.plan.client(index);
    let at: number | undefined;
    switch (action.kind) {
      case 'withdraw':
        at = c.send(encodeWithdrawals(this.plan, p));
        break;
      case 'announce':
        at = c.send(encodeClient(this.plan, p, { ...this.encode, endOfRib: false, announce: true }).updates);
        break;
      case 'restart':
        at = c.restart(
          encodeClient(this.plan, p, { ...this.encode, announce: true, count: action.keep, restarted: true }),
          new Tally(this.plan, index, this.options.nextHop),
        );
        break;
    }
    send({ type: 'reply', id, summary: this.summary(), ...(at !== undefined ? { at } : {}) });
  }

  summary(): Summary {
    const t = now();
    const notifications: Record<string, number> = {};
    let notificationCount = 0;
    let everEstablished = 0;
    let complete = 0;
    let allFullAt: number | undefined = 0;
    let firstConnectAt: number | undefined;
    let lastEstablishedAt: number | undefined;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let expected = 0;
    let duplicates = 0;
    let own = 0;
    let foreign = 0;
    let withdrawals = 0;
    let badNextHop = 0;
    let badOriginAs = 0;
    let malformed = 0;
    let decodeErrors = 0;
    let closes = 0;
    let restarts = 0;
    let sessionDrops = 0;
    let failedConnects = 0;
    const heldCounts: Record<number, number> = {};
    let maxSilenceMs = 0;
    let silencesOverHoldTime = 0;
    let firstProblem: string | undefined;
    const holdMs = this.options.holdTime * 1000;
    const all = this.monitor === undefined ? this.clients : [...this.clients, this.monitor];
    for (const c of all) {
      for (const n of c.notificationList) {
        notifications[n.text] = (notifications[n.text] ?? 0) + 1;
        notificationCount++;
      }
      closes += c.closeCount;
      restarts += c.restartCount;
      sessionDrops += c.dropCount;
      failedConnects += c.failedConnectCount;
      if (c.decodeFailed) decodeErrors++;
      const silence = c.silenceMs(t);
      if (silence > maxSilenceMs) maxSilenceMs = silence;
      if (holdMs > 0 && silence > holdMs) silencesOverHoldTime++;
      if (c === this.monitor) continue;
      if (c.everEstablished) everEstablished++;
      const ca = c.firstConnectAt;
      if (ca !== undefined && (firstConnectAt === undefined || ca < firstConnectAt)) firstConnectAt = ca;
      const ea = c.lastEstablishedAt;
      if (ea !== undefined && (lastEstablishedAt === undefined || ea > lastEstablishedAt))
        lastEstablishedAt = ea;
      const s = c.tally.snapshot;
      if (c.tally.complete) complete++;
      if (s.held < min) min = s.held;
      if (s.held > max) max = s.held;
      heldCounts[s.held] = (heldCounts[s.held] ?? 0) + 1;
      expected = s.expected;
      duplicates += s.duplicates;
      own += s.own;
      foreign += s.foreign;
      withdrawals += s.withdrawals;
      badNextHop += s.badNextHop;
      badOriginAs += s.badOriginAs;
      malformed += s.malformed;
      firstProblem ??= s.firstProblem;
      if (allFullAt !== undefined)
        allFullAt = s.fullAt === undefined ? undefined : Math.max(allFullAt, s.fullAt);
    }
    const cpu = process.cpuUsage(this.cpuStart);
    return {
      at: t,
      clients: this.clients.length,
      established: this.inState.get('established') ?? 0,
      everEstablished,
      closed: this.inState.get('closed') ?? 0,
      states: Object.fromEntries([...this.inState].filter(([, n]) => n > 0)),
      ...(firstConnectAt !== undefined ? { firstConnectAt } : {}),
      ...(this.allEstablishedAt !== undefined ? { allEstablishedAt: this.allEstablishedAt } : {}),
      ...(lastEstablishedAt !== undefined ? { lastEstablishedAt } : {}),
      complete,
      ...(allFullAt !== undefined && complete === this.clients.length ? { allFullAt } : {}),
      held: { min: Number.isFinite(min) ? min : 0, max, expected },
      heldCounts,
      duplicates,
      own,
      foreign,
      withdrawals,
      badNextHop,
      badOriginAs,
      malformed,
      decodeErrors,
      ...(firstProblem !== undefined ? { firstProblem } : {}),
      notifications,
      notificationCount,
      closes,
      restarts,
      sessionDrops,
      failedConnects,
      maxSilenceMs: Math.round(maxSilenceMs),
      silencesOverHoldTime,
      ...(this.monitor !== undefined
        ? { monitor: this.monitor.tally.snapshot, monitorState: this.monitor.state }
        : {}),
      generator: {
        cpuUserMs: Math.round(cpu.user / 1000),
        cpuSystemMs: Math.round(cpu.system / 1000),
        loopDelayMaxMs: Math.round(this.loop.max / 1e6),
        rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
      },
    };
  }

  stats(id: number, detail: boolean): void {
    const t = now();
    const summary = this.summary();
    if (!detail) {
      send({ type: 'reply', id, summary });
      return;
    }
    const all = this.monitor === undefined ? this.clients : [...this.clients, this.monitor];
    send({ type: 'reply', id, summary, clients: all.map((c) => c.stats(t)) });
  }

  /** Ends every session, replies, then drops the IPC channel (and so exits). */
  async stop(id: number): Promise<void> {
    clearInterval(this.progress);
    const all = this.monitor === undefined ? this.clients : [...this.clients, this.monitor];
    for (const c of all) c.stop();
    const end = Date.now() + 2000;
    while (Date.now() < end && all.some((c) => c.state !== 'closed' && c.state !== 'idle'))
      await new Promise((r) => setTimeout(r, 20));
    send({ type: 'reply', id, summary: this.summary() }, () => process.disconnect?.());
  }
}

let gen: Generator | undefined;

function handle(msg: ParentMessage): void {
  switch (msg.type) {
    case 'start':
      if (gen !== undefined) throw new Error('started twice');
      gen = new Generator(msg.options);
      return;
    case 'connect':
      need(gen).connect();
      return;
    case 'go':
      need(gen).go();
      return;
    case 'churn':
      need(gen).churn(msg.id, msg.client, msg.action);
      return;
    case 'stats':
      need(gen).stats(msg.id, msg.detail);
      return;
    case 'stop':
      void need(gen).stop(msg.id);
      return;
  }
}

function need(g: Generator | undefined): Generator {
  if (g === undefined) throw new Error('not started');
  return g;
}

process.on('message', (msg: ParentMessage) => {
  try {
    handle(msg);
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
// the parent went away (or said stop): nothing to do without it
process.on('disconnect', () => process.exit(0));
