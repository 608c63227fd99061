// Link: one RFC 4271 state machine and the TCP connection it drives. The imperative shell around the
// pure `transition`: it owns the socket, the Framer and the timers, turns socket and timer happenings
// into FSM events (one at a time, queued), and carries out the FSM's I/O actions. Session-level actions
// (sessionUp, sessionDown, deliver) go to the owning Peer.

import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Direction } from '../bgp/fsm/connections.js';
import { transition } from '../bgp/fsm/fsm.js';
import type { FsmAction, FsmConfig, FsmEvent, FsmSession, FsmState, TimerName } from '../bgp/fsm/types.js';
import { type CodecContext, DEFAULT_CONTEXT } from '../bgp/messages/context.js';
import { BgpError } from '../bgp/messages/errors.js';
import { Framer } from '../bgp/messages/framer.js';
import { errorCodeName, errorSubcodeName } from '../bgp/messages/iana.js';
import { type BgpMessage, decodeMessage, encodeMessage } from '../bgp/messages/message.js';
import type { Logger } from '../log.js';
import { inputBudget, inputScheduler, type Pumped } from './turn-budget.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An FSM event before the link stamps it with the time and a random number. */
export type LinkEvent = DistributiveOmit<FsmEvent, 'now' | 'random'>;

export type { Direction };

let nextLinkId = 1;

/** The name of an error code and subcode: `Cease / Administrative Shutdown`. */
export function errorName(code: number, subcode: number): string {
  return `${errorCodeName(code)} / ${errorSubcodeName(code, subcode)}`;
}

/** The fields of a log line about a BGP error: numbers, names, message. */
function errorFields(e: BgpError): Record<string, unknown> {
  return { code: e.code, subcode: e.subcode, codeName: errorName(e.code, e.subcode), error: e.message };
}

/** What a Link needs from its Peer. */
export interface LinkOwner {
  readonly fsmConfig: FsmConfig;
  readonly log: Logger;
  /** Where and how to connect out. */
  readonly remote: { readonly address: string; readonly port: number; readonly localAddress?: string };
  /** Session-level actions: sessionUp, sessionDown, deliver. */
  onSessionAction(link: Link, action: FsmAction): void;
  onStateChange(link: Link, from: FsmState, to: FsmState): void;
  onMessage(link: Link, direction: 'in' | 'out', message: BgpMessage): void;
}

/** Queued input beyond this stops reading the socket (TCP pushes back on the peer) until handled. */
const INBOX_PAUSE_BYTES = 256 * 1024;

export class Link implements Pumped {
  /** Stable for the life of the link (the connection decisions name links by it). */
  readonly id = nextLinkId++;
  session: FsmSession;
  /** Who opened the current connection (the last one, once it is gone). */
  direction: Direction;
  socket: Socket | undefined;
  /** Contexts negotiated for this connection (defaults until the OPENs are exchanged). */
  recvCtx: CodecContext = DEFAULT_CONTEXT;
  sendCtx: CodecContext = DEFAULT_CONTEXT;
  private framer: Framer;
  /** RFC 8654: we offered Extended Message, so we accept messages (but OPEN) up to 65535 bytes. */
  private readonly extendedMessage: boolean;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private readonly queue: LinkEvent[] = [];
  private busy = false;
  private closed = false;
  /** Received chunks not yet handled (the turn's input budget was spent), for `inboxSocket`. */
  private inbox: Buffer[] = [];
  private inboxBytes = 0;
  private inboxSocket: Socket | undefined;

  constructor(
    private readonly owner: LinkOwner,
    session: FsmSession,
    direction: Direction,
  ) {
    this.session = session;
    this.direction = direction;
    this.extendedMessage = owner.fsmConfig.localOpen.capabilities.some((c) => c.kind === 'extended-message');
    this.framer = new Framer({ extendedMessage: this.extendedMessage });
  }

  get state(): FsmState {
    return this.session.state;
  }

  /** Feeds one event to the FSM; events raised while one is handled wait their turn. */
  dispatch(event: LinkEvent): void {
    this.queue.push(event);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
        const full = { ...e, now: performance.now(), random: Math.random() } as FsmEvent;
        const from = this.session.state;
        const { session, actions } = transition(this.session, full, this.owner.fsmConfig);
        this.session = session;
        for (const a of actions) this.act(a);
        if (session.state !== from) this.owner.onStateChange(this, from, session.state);
      }
    } finally {
      this.busy = false;
    }
    if (this.disposeWhenIdle) this.dispose();
  }

  /** dispose() was called while an event was being handled: done once the queued events are. */
  private disposeWhenIdle = false;

  private act(a: FsmAction): void {
    switch (a.type) {
      case 'send':
        this.send(a.message);
        break;
      case 'startTimer':
        this.startTimer(a.timer, a.seconds);
        break;
      case 'stopTimer':
        this.stopTimer(a.timer);
        break;
      case 'connect':
        this.connect();
        break;
      case 'close':
        this.closeSocket();
        break;
      default:
        this.owner.onSessionAction(this, a);
    }
  }

  send(message: BgpMessage): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    socket.write(encodeMessage(message, this.sendCtx));
    this.owner.onMessage(this, 'out', message);
  }

  /**
   * If the socket's buffer is over its high-water mark, calls `then` once it has drained and returns
   * true (the caller waits); returns false when the caller may write now.
   */
  whenWritable(then: () => void): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed || !socket.writableNeedDrain) return false;
    if (this.drainWaiters?.socket !== socket) {
      const waiters = { socket, list: [] as (() => void)[] };
      this.drainWaiters = waiters;
      socket.once('drain', () => {
        if (this.drainWaiters === waiters) this.drainWaiters = undefined;
        for (const w of waiters.list) w();
      });
    }
    this.drainWaiters.list.push(then);
    return true;
  }

  private drainWaiters: { readonly socket: Socket; readonly list: (() => void)[] } | undefined;

  /** Writes bytes already encoded (UPDATEs from the packer). */
  write(bytes: Uint8Array): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed) return false;
    return socket.write(bytes);
  }

  /**
   * Runs `fn` with the socket corked: what it writes leaves in one writev when it returns (one system
   * call, one TCP segment train, instead of one per write).
   */
  corked(fn: () => void): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) {
      fn();
      return;
    }
    socket.cork();
    try {
      fn();
    } finally {
      socket.uncork();
    }
  }

  /** Writes several parts as one (a writev); false when the socket's buffer is over its mark. */
  writeAll(parts: readonly Uint8Array[]): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed) return false;
    if (parts.length === 1) return socket.write(parts[0]!);
    socket.cork();
    let ok = true;
    for (const p of parts) ok = socket.write(p);
    socket.uncork();
    return ok;
  }

  private timerEvent(timer: TimerName): LinkEvent {
    switch (timer) {
      case 'connectRetry':
        return { type: 'ConnectRetryTimerExpires' };
      case 'hold':
        return { type: 'HoldTimerExpires' };
      case 'keepalive':
        return { type: 'KeepaliveTimerExpires' };
      case 'idleHold':
        return { type: 'IdleHoldTimerExpires' };
    }
  }

  private startTimer(timer: TimerName, seconds: number): void {
    this.stopTimer(timer);
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(timer);
      this.dispatch(this.timerEvent(timer));
    }, seconds * 1000);
    t.unref?.();
    this.timers.set(timer, t);
  }

  /** A running timer fires now instead of at its time; nothing when it is not running. */
  hurry(timer: TimerName): void {
    if (!this.timers.has(timer) || this.closed) return;
    this.stopTimer(timer);
    this.dispatch(this.timerEvent(timer));
  }

  private stopTimer(timer: TimerName): void {
    const t = this.timers.get(timer);
    if (t) {
      clearTimeout(t);
      this.timers.delete(timer);
    }
  }

  /** Takes an accepted incoming connection (the caller then dispatches TcpConnectionConfirmed). */
  attach(socket: Socket): void {
    this.closeSocket();
    this.socket = socket;
    this.direction = 'in';
    this.framer = new Framer({ extendedMessage: this.extendedMessage });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err) => this.owner.log.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.onClose(socket));
  }

  private connect(): void {
    if (this.closed) return;
    this.closeSocket();
    const { address, port, localAddress } = this.owner.remote;
    const socket = netConnect({ host: address, port, ...(localAddress ? { localAddress } : {}) });
    this.socket = socket;
    let up = false;
    socket.once('connect', () => {
      if (this.socket !== socket) return;
      up = true;
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      this.socket = undefined;
      this.attach(socket);
      this.direction = 'out';
      this.dispatch({ type: 'TcpConnectionUp' });
    });
    socket.on('error', (err) => {
      if (up || this.socket !== socket) return;
      this.socket = undefined;
      socket.destroy();
      this.dispatch({ type: 'TcpConnectionFails', reason: `connect: ${err.message}` });
    });
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (this.socket !== socket) return;
    if (this.inbox.length === 0 && inputBudget.available) {
      inputBudget.spend(() => this.handle(socket, chunk));
      return;
    }
    if (this.inboxSocket !== socket) this.dropInbox();
    this.inboxSocket = socket;
    this.inbox.push(chunk);
    this.inboxBytes += chunk.length;
    if (this.inboxBytes > INBOX_PAUSE_BYTES) socket.pause();
    inputScheduler.add(this);
  }

  /** The connection is gone: handled after what arrived before it (a NOTIFICATION, say). */
  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    if (this.inbox.length === 0 && inputBudget.available) {
      inputBudget.spend(() => this.socketClosed(socket));
      return;
    }
    // a thousand connections closing in one poll phase are handled in slices too
    if (this.inboxSocket !== socket) this.dropInbox();
    this.inboxSocket = socket;
    this.closing = socket;
    inputScheduler.add(this);
  }

  private socketClosed(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.dispatch({ type: 'TcpConnectionFails', reason: 'connection closed' });
  }

  /** The socket whose close waits behind its queued input. */
  private closing: Socket | undefined;

  /** For the input scheduler: handles queued chunks until `deadline`; true when some are left. */
  pump(deadline: number): boolean {
    const socket = this.inboxSocket;
    if (socket === undefined || this.socket !== socket) {
      this.dropInbox();
      return false;
    }
    while (this.inbox.length > 0) {
      const chunk = this.inbox.shift()!;
      this.inboxBytes -= chunk.length;
      this.handle(socket, chunk);
      if (this.socket !== socket) {
        this.dropInbox();
        return false;
      }
      if (performance.now() >= deadline && this.inbox.length > 0) return true;
    }
    this.inboxSocket = undefined;
    if (this.closing === socket) {
      this.closing = undefined;
      this.socketClosed(socket);
    } else if (socket.isPaused()) socket.resume();
    return false;
  }

  private dropInbox(): void {
    this.inbox = [];
    this.inboxBytes = 0;
    this.inboxSocket = undefined;
    this.closing = undefined;
    inputScheduler.delete(this);
  }

  private handle(socket: Socket, chunk: Buffer): void {
    let messages: Uint8Array[];
    try {
      messages = this.framer.push(chunk);
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      this.framingError(e);
      return;
    }
    for (const bytes of messages) {
      if (this.socket !== socket) return;
      this.receive(bytes);
    }
    const failed = this.framer.error;
    if (failed && this.socket === socket) this.framingError(failed);
  }

  /** A broken header (marker, length) found while framing: logged by name, then the session ends. */
  private framingError(e: BgpError): void {
    this.owner.log.warn(errorFields(e), 'malformed message header (framing)');
    this.dispatch({ type: 'MessageError', error: e });
  }

  private receive(bytes: Uint8Array): void {
    let msg: BgpMessage;
    try {
      msg = decodeMessage(bytes, this.recvCtx);
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      this.owner.log.warn(errorFields(e), 'malformed message');
      this.dispatch({ type: 'MessageError', error: e });
      return;
    }
    this.owner.onMessage(this, 'in', msg);
    switch (msg.type) {
      case 'open':
        this.dispatch({ type: 'OpenMsg', open: msg });
        break;
      case 'keepalive':
        this.dispatch({ type: 'KeepaliveMsg' });
        break;
      case 'update':
        this.dispatch({ type: 'UpdateMsg', update: msg });
        break;
      case 'notification':
        this.dispatch({ type: 'NotifMsg', notification: msg });
        break;
      case 'route-refresh':
        this.dispatch({ type: 'RouteRefreshMsg', refresh: msg });
        break;
    }
  }

  /** Ends the TCP connection after what was written is flushed. */
  private closeSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    socket.removeAllListeners('data');
    socket.removeAllListeners('close');
    socket.on('error', () => {});
    socket.end();
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  /** Stops everything for good: timers, socket, and any further events. */
  dispose(): void {
    if (this.busy) {
      // called from inside this link's own event handling: let the queued events (a NOTIFICATION
      // to send, say) run first
      this.disposeWhenIdle = true;
      return;
    }
    this.disposeWhenIdle = false;
    this.closed = true;
    this.dropInbox();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.closeSocket();
  }
}
