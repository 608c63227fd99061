// One load-generator client: a raw TCP connection from its own loopback address to the daemon, the
// least of a BGP speaker that keeps a session up (OPEN, KEEPALIVE answer, KEEPALIVE every hold time / 3),
// its pre-encoded UPDATEs written in one go, and everything it receives counted (tally.ts). It never
// enforces a hold timer of its own and never reconnects a session that was Established: it records what
// the daemon does (the longest silence, every NOTIFICATION, every close) instead of reacting to it. Two
// exceptions: with `connectRetryMs`, a connection that fails before Established is tried again after
// that long (a BGP speaker's ConnectRetry timer); and a restart the parent asks for (bench/rr's churn)
// drops the connection without a NOTIFICATION, then opens a new one, tried again every
// RESTART_RETRY_MS until it is Established (a daemon that has not yet seen the old connection go
// refuses the new one).

import { connect, type Socket } from 'node:net';
import { Framer } from '../../src/bgp/messages/framer.js';
import { CeaseSubcode, MessageType } from '../../src/bgp/messages/iana.js';
import { decodeMessage, encodeMessage } from '../../src/bgp/messages/message.js';
import { shutdownNotification } from '../../src/bgp/messages/notification.js';
import { type ClientWire, KEEPALIVE_BYTES } from './encode.js';
import {
  type ClientState,
  type ClientStats,
  type CloseRecord,
  type NotificationRecord,
  notificationText,
  now,
} from './protocol.js';
import type { Tally } from './tally.js';

const CEASE_BYTES = Buffer.from(
  encodeMessage(shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'load generator done')),
);

/** Byte 18 of a message: its type. */
const TYPE_AT = 18;

/** After a restart, the next connection attempt this long after a refused one. */
const RESTART_RETRY_MS = 100;

export interface ClientOptions {
  readonly index: number;
  readonly localAddress: string;
  readonly target: { readonly host: string; readonly port: number };
  readonly holdTime: number;
  /** Send the UPDATEs as soon as the session is Established (otherwise on `announce()`). */
  readonly announceOnEstablished: boolean;
  /** Try a connection that failed before Established again after this long; undefined: never. */
  readonly connectRetryMs?: number;
}

export class BgpClient {
  private socket: Socket | undefined;
  private framer = new Framer();
  /** A restart was asked for: reconnect on close until the new session is Established. */
  private restarting = false;
  private restarts = 0;
  private stopping = false;
  /** Established sessions the daemon ended (the drop of a restart asked for is not one). */
  private drops = 0;
  /** Connections that closed before Established. */
  private failedConnects = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private stateNow: ClientState = 'idle';
  private wantAnnounce: boolean;
  private announced = false;
  private connectAt: number | undefined;
  private establishedAt: number | undefined;
  private announcedAt: number | undefined;
  private sessions = 0;
  private peerHoldTime: number | undefined;
  private keepalivesReceived = 0;
  private lastRxAt = 0;
  private maxSilence = 0;
  private lastError: string | undefined;
  private decodeError: string | undefined;
  private readonly notifications: NotificationRecord[] = [];
  private readonly closes: CloseRecord[] = [];

  constructor(
    private readonly opts: ClientOptions,
    private wire: ClientWire,
    private counts: Tally,
    /** Called on every state change (the child sums states from it). */
    private readonly onState: (c: BgpClient, from: ClientState) => void,
  ) {
    this.wantAnnounce = opts.announceOnEstablished;
  }

  get state(): ClientState {
    return this.stateNow;
  }

  /** What the client holds; a restart starts a new one. */
  get tally(): Tally {
    return this.counts;
  }

  private setState(to: ClientState): void {
    const from = this.stateNow;
    if (from === to) return;
    this.stateNow = to;
    this.onState(this, from);
  }

  connect(): void {
    if (this.socket !== undefined || this.stopping) return;
    this.connectAt ??= now();
    this.setState('connecting');
    const s = connect({
      host: this.opts.target.host,
      port: this.opts.target.port,
      localAddress: this.opts.localAddress,
      noDelay: true,
    });
    this.socket = s;
    s.on('connect', () => {
      this.setState('open-sent');
      s.write(this.wire.open);
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (err) => {
      this.lastError = err.message;
    });
    s.on('close', () => this.onClose());
  }

  /** Sends the UPDATEs now if Established, else as soon as it is. */
  announce(): void {
    this.wantAnnounce = true;
    if (this.stateNow === 'established') this.sendUpdates();
  }

  /** Writes more UPDATEs (churn) on an Established session; returns the time written, or undefined. */
  send(bytes: Buffer): number | undefined {
    if (this.stateNow !== 'established' || this.socket === undefined) return undefined;
    this.socket.write(bytes);
    return now();
  }

  /**
   * A graceful restart (RFC 4724) as a restarting speaker does it: the connection dropped at once
   * without a NOTIFICATION, then a new one that sends `wire` (its OPEN with the Restart bit, the routes
   * it still has, End-of-RIB) and counts into `tally` (what it held went with the old session).
   * Returns the time of the drop.
   */
  restart(wire: ClientWire, tally: Tally): number {
    this.wire = wire;
    this.counts = tally;
    this.announced = false;
    this.wantAnnounce = true;
    this.restarting = true;
    this.restarts++;
    const t = now();
    if (this.socket === undefined || this.socket.destroyed) this.onClose();
    else this.socket.destroy();
    return t;
  }

  /** Cease / Administrative Shutdown on an open session, then closes. */
  stop(): void {
    this.stopping = true;
    const s = this.socket;
    if (s === undefined || s.destroyed) return;
    if (this.stateNow !== 'connecting') s.end(CEASE_BYTES);
    else s.destroy();
  }

  private sendUpdates(): void {
    if (this.announced || !this.wantAnnounce) return;
    this.announced = true;
    this.announcedAt = now();
    if (this.wire.updates.length > 0) this.socket?.write(this.wire.updates);
  }

  private onData(chunk: Buffer): void {
    const t = now();
    if (this.stateNow === 'established') {
      const gap = t - this.lastRxAt;
      if (gap > this.maxSilence) this.maxSilence = gap;
    }
    this.lastRxAt = t;
    let msgs: Uint8Array[];
    try {
      msgs = this.framer.push(chunk);
    } catch (e) {
      this.failDecode(e);
      return;
    }
    for (const m of msgs) {
      if (m[TYPE_AT] === MessageType.KEEPALIVE) {
        this.keepalivesReceived++;
        if (this.stateNow === 'open-confirm') this.established(t);
        continue;
      }
      let msg: ReturnType<typeof decodeMessage>;
      try {
        msg = decodeMessage(m);
      } catch (e) {
        this.failDecode(e);
        return;
      }
      switch (msg.type) {
        case 'open':
          this.peerHoldTime = msg.holdTime;
          this.socket?.write(KEEPALIVE_BYTES);
          this.startKeepalives(Math.min(msg.holdTime, this.opts.holdTime));
          this.setState('open-confirm');
          break;
        case 'update':
          this.tally.onUpdate(msg, t);
          break;
        case 'notification':
          this.notifications.push({
            code: msg.code,
            subcode: msg.subcode,
            text: notificationText(msg.code, msg.subcode),
            at: t,
          });
          break;
        case 'route-refresh':
          break;
        case 'keepalive':
          break;
      }
    }
    if (this.framer.error !== undefined) this.failDecode(this.framer.error);
  }

  private established(t: number): void {
    this.restarting = false;
    this.establishedAt = t;
    this.sessions++;
    this.setState('established');
    this.sendUpdates();
  }

  private startKeepalives(holdTime: number): void {
    if (holdTime === 0) return;
    const every = (holdTime * 1000) / 3;
    this.keepaliveTimer = setInterval(() => this.socket?.write(KEEPALIVE_BYTES), every);
  }

  private failDecode(e: unknown): void {
    this.decodeError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.socket?.destroy();
  }

  private onClose(): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    const wasEstablished = this.stateNow === 'established';
    this.closes.push({
      at: now(),
      state: this.stateNow,
      ...(this.lastError !== undefined ? { error: this.lastError } : {}),
    });
    if (!wasEstablished) this.failedConnects++;
    else if (!this.restarting && !this.stopping) this.drops++;
    this.setState('closed');
    if (this.stopping) return;
    // the drop of a restart reconnects at once; a refused attempt after it waits a little
    const retryMs = this.restarting
      ? wasEstablished
        ? 0
        : RESTART_RETRY_MS
      : wasEstablished
        ? undefined
        : this.opts.connectRetryMs;
    if (retryMs === undefined) return;
    this.socket = undefined;
    this.framer = new Framer();
    this.lastError = undefined;
    if (retryMs === 0) this.connect();
    else setTimeout(() => this.connect(), retryMs);
  }

  /** The longest silence so far, counting the one going on now. */
  silenceMs(t: number): number {
    return this.stateNow === 'established' ? Math.max(this.maxSilence, t - this.lastRxAt) : this.maxSilence;
  }

  get everEstablished(): boolean {
    return this.sessions > 0;
  }

  get notificationList(): readonly NotificationRecord[] {
    return this.notifications;
  }

  get closeCount(): number {
    return this.closes.length;
  }

  /** Restarts asked for (each also counts one close). */
  get restartCount(): number {
    return this.restarts;
  }

  /** Established sessions the daemon ended (not counting restarts asked for, nor `stop`). */
  get dropCount(): number {
    return this.drops;
  }

  get failedConnectCount(): number {
    return this.failedConnects;
  }

  get decodeFailed(): boolean {
    return this.decodeError !== undefined;
  }

  get firstConnectAt(): number | undefined {
    return this.connectAt;
  }

  get lastEstablishedAt(): number | undefined {
    return this.establishedAt;
  }

  stats(t: number): ClientStats {
    const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } =>
      (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
    return {
      index: this.opts.index,
      localAddress: this.opts.localAddress,
      state: this.stateNow,
      ...opt('connectAt', this.connectAt),
      ...opt('establishedAt', this.establishedAt),
      sessions: this.sessions,
      restarts: this.restarts,
      ...opt('announcedAt', this.announcedAt),
      ...opt('peerHoldTime', this.peerHoldTime),
      keepalivesReceived: this.keepalivesReceived,
      maxSilenceMs: Math.round(this.silenceMs(t)),
      tally: this.tally.snapshot,
      notifications: [...this.notifications],
      closes: [...this.closes],
      ...opt('decodeError', this.decodeError),
    };
  }
}
