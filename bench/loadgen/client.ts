// One load-generator client: a raw TCP connection from its own loopback address to the daemon, the
// least of a BGP speaker that keeps a session up (OPEN, KEEPALIVE answer, KEEPALIVE every hold time / 3),
// its pre-encoded UPDATEs written in one go, and everything it receives counted (tally.ts). It never
// reconnects and never enforces a hold timer of its own: it records what the daemon does (the longest
// silence, every NOTIFICATION, every close) instead of reacting to it.

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

export interface ClientOptions {
  readonly index: number;
  readonly localAddress: string;
  readonly target: { readonly host: string; readonly port: number };
  readonly holdTime: number;
  /** Send the UPDATEs as soon as the session is Established (otherwise on `announce()`). */
  readonly announceOnEstablished: boolean;
}

export class BgpClient {
  private socket: Socket | undefined;
  private framer = new Framer();
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
    private readonly wire: ClientWire,
    readonly tally: Tally,
    /** Called on every state change (the child sums states from it). */
    private readonly onState: (c: BgpClient, from: ClientState) => void,
  ) {
    this.wantAnnounce = opts.announceOnEstablished;
  }

  get state(): ClientState {
    return this.stateNow;
  }

  private setState(to: ClientState): void {
    const from = this.stateNow;
    if (from === to) return;
    this.stateNow = to;
    this.onState(this, from);
  }

  connect(): void {
    if (this.socket !== undefined) return;
    this.connectAt = now();
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

  /** Cease / Administrative Shutdown on an open session, then closes. */
  stop(): void {
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
    this.closes.push({
      at: now(),
      state: this.stateNow,
      ...(this.lastError !== undefined ? { error: this.lastError } : {}),
    });
    this.setState('closed');
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
