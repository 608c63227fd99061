// Peer: one configured neighbor, the imperative shell around its decisions. Owns the Link (state machine
// + connection) that connects out or waits, the incoming Links racing it (RFC 4271 6.8), the Adj-RIB-In,
// and the session's output stream. What to do with a connection, a collision, a graceful restart, a
// ROUTE-REFRESH or too many prefixes is decided by pure functions (src/bgp/fsm/connections.ts,
// graceful-restart.ts, route-refresh.ts); this class carries their answers out.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  type ConnectionsView,
  type ConnectionView,
  decideAccept,
  decideOnEstablished,
  decideOnOpen,
} from '../bgp/fsm/connections.js';
import { initialSession } from '../bgp/fsm/fsm.js';
import {
  type RestartState,
  type RestartStep,
  restartOnEndOfRib,
  restartOnSessionDown,
  restartOnSessionUp,
  restartOver,
} from '../bgp/fsm/graceful-restart.js';
import type { Negotiated } from '../bgp/fsm/negotiate.js';
import { answerRouteRefresh, checkMaxPrefixes } from '../bgp/fsm/route-refresh.js';
import type { FsmAction, FsmConfig, FsmState } from '../bgp/fsm/types.js';
import { messageToJson } from '../bgp/json/index.js';
import { type Capability, GracefulRestartFlag } from '../bgp/messages/capabilities/index.js';
import { type CodecContext, DEFAULT_CONTEXT } from '../bgp/messages/context.js';
import { BgpError } from '../bgp/messages/errors.js';
import { Framer } from '../bgp/messages/framer.js';
import { CeaseSubcode, ErrorCode, familyName } from '../bgp/messages/iana.js';
import { type BgpMessage, decodeMessage, encodeMessage } from '../bgp/messages/message.js';
import { type NotificationMessage, shutdownMessage } from '../bgp/messages/notification.js';
import { makeOpen, openAs } from '../bgp/messages/open.js';
import type { RouteRefreshMessage } from '../bgp/messages/route-refresh.js';
import { endOfRib, endOfRibFamily, type UpdateMessage } from '../bgp/messages/update.js';
import { AdjRibIn } from '../bgp/rib/adj-rib-in.js';
import type { ExportContext } from '../bgp/rib/export.js';
import type { RibPeer, Router } from '../bgp/rib/router.js';
import type { PeerInfo } from '../bgp/rib/types.js';
import { type Chunk, slicesFor, type UpdateGroup } from '../bgp/rib/update-group.js';
import type { PeerConfig, TernConfig } from '../config/types.js';
import { peerKey } from '../config/types.js';
import type { Logger } from '../log.js';
import { FAMILIES } from './families.js';
import { errorName, Link, type LinkOwner } from './link.js';
import { localNextHops } from './next-hop.js';
import { catchUpBudget, flushScheduler } from './turn-budget.js';

/** What a Peer needs from the speaker. */
export interface PeerContext {
  readonly routerId: string;
  readonly log: Logger;
  /** The Loc-RIB our routes come from and received routes go to. */
  readonly router: Router;
  /** Next hops for our routes of the family the session's own address is not (they change on reload). */
  readonly nextHop: () => TernConfig['nextHop'];
  /** tern restarted gracefully (RFC 4724 restarting speaker): announce the Restart bit. */
  readonly restarting: boolean;
}

export interface MessageCounters {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
}

function counters(): MessageCounters {
  return { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };
}

/** NOTIFICATIONs by code and subcode, key `code << 8 | subcode` (for the metrics). */
export interface NotificationCounters {
  readonly received: Map<number, number>;
  readonly sent: Map<number, number>;
}

const STATE_RANK: Readonly<Record<FsmState, number>> = {
  Idle: 0,
  Connect: 1,
  Active: 1,
  OpenSent: 2,
  OpenConfirm: 3,
  Established: 4,
};

export { maxPrefixesCease } from '../bgp/fsm/route-refresh.js';

/**
 * One item of a session's output stream: a message of its own (End-of-RIB, BoRR, EoRR), a chunk of its
 * update group's stream, or a catch-up from the group's table, encoded when its turn comes.
 */
type OutputItem =
  | { readonly kind: 'message'; readonly bytes: Uint8Array }
  | { readonly kind: 'chunk'; readonly chunk: Chunk }
  | {
      readonly kind: 'sync';
      /** The last batch of the group the session had (0: nothing). */
      readonly since: number;
      /** Families sent whole (ROUTE-REFRESH). */
      readonly full: ReadonlySet<number>;
      /** The group the session moved from (its routes not in the new group are withdrawn). */
      readonly previous?: UpdateGroup;
    };

/**
 * Bytes of group chunks a session may have waiting: beyond this it stops taking chunks and catches
 * up from the group's table once its socket drains (memory bounded by the table, not by the churn).
 */
export const MAX_QUEUED_CHUNK_BYTES = 2 * 1024 * 1024;

/**
 * The capabilities we announce to this peer (RFC 5492). `restarting`: tern came back with --graceful,
 * so the graceful-restart capability carries the Restart bit and, per family, Forwarding State
 * (RFC 4724 3): the peer keeps our routes until our End-of-RIB.
 */
export function localCapabilities(cfg: PeerConfig, restarting = false): Capability[] {
  const caps: Capability[] = [];
  const families = cfg.families.map((name) => FAMILIES[name]);
  for (const f of families) caps.push({ kind: 'multiprotocol', afi: f.afi, safi: f.safi });
  caps.push({ kind: 'route-refresh' }, { kind: 'enhanced-route-refresh' });
  if (cfg.extendedMessage) caps.push({ kind: 'extended-message' });
  if (cfg.gracefulRestart.enabled) {
    caps.push({
      kind: 'graceful-restart',
      restartFlags: restarting ? GracefulRestartFlag.RESTART : 0,
      restartTime: cfg.gracefulRestart.restartTime,
      families: families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingState: restarting })),
    });
  }
  caps.push({ kind: 'four-octet-as', as: cfg.localAsn });
  if (cfg.addPath !== 'off') {
    const send = cfg.addPath === 'send' || cfg.addPath === 'both';
    const receive = cfg.addPath === 'receive' || cfg.addPath === 'both';
    caps.push({
      kind: 'add-path',
      families: families.map((f) => ({ afi: f.afi, safi: f.safi, send, receive })),
    });
  }
  return caps;
}

export function fsmConfigFor(cfg: PeerConfig, routerId: string, restarting = false): FsmConfig {
  return {
    passive: cfg.passive,
    connectRetryTime: cfg.connectRetryTime,
    holdTime: cfg.holdTime,
    ...(cfg.keepaliveTime !== undefined ? { keepaliveTime: cfg.keepaliveTime } : {}),
    largeHoldTime: 240,
    idleHoldMin: cfg.errorWaitTime[0],
    idleHoldMax: cfg.errorWaitTime[1],
    stableTime: 60,
    localOpen: makeOpen({
      as: cfg.localAsn,
      holdTime: cfg.holdTime,
      bgpId: routerId,
      capabilities: localCapabilities(cfg, restarting),
    }),
    peerAs: cfg.asn,
    localId: routerId,
    requiredCapabilities: [],
  };
}

export class Peer implements LinkOwner, RibPeer {
  readonly fsmConfig: FsmConfig;
  readonly log: Logger;
  readonly remote: { readonly address: string; readonly port: number; readonly localAddress?: string };
  readonly adjRibIn = new AdjRibIn();
  /** The link that connects out (or waits, when passive) and restarts itself after failures. */
  private primary: Link;
  /** Incoming connections racing the primary one (RFC 4271 6.8), oldest first. */
  private pending: Link[] = [];
  private established: Link | undefined;
  negotiated: Negotiated | undefined;
  /** performance.now() of the last change of the reported state. */
  since = performance.now();
  /** Wall-clock time of the same, for display. */
  sinceWall = Date.now();
  lastError: string | undefined;
  readonly received = counters();
  readonly sent = counters();
  /** Every NOTIFICATION received and sent, by code and subcode (key `code << 8 | subcode`). */
  readonly notifications: NotificationCounters = { received: new Map(), sent: new Map() };
  /** The update group of the established session (its shared Adj-RIB-Out). */
  private group: UpdateGroup | undefined;
  get addPathLimit(): number | undefined {
    return this.config.addPathLimit ?? undefined;
  }
  /** Set while Established (RibPeer). */
  info: PeerInfo;
  exportContext: ExportContext;
  families: readonly number[] = [];
  addPathSend: ReadonlySet<number> = new Set();
  /**
   * The session's output stream, in the order it was decided: group chunks, catch-ups and markers
   * (End-of-RIB, BoRR, EoRR), written while the socket has room.
   */
  private output: OutputItem[] = [];
  /** Bytes of the chunks in `output`. */
  private queuedChunkBytes = 0;
  /** The last group batch this session has taken. */
  private lastSeq = 0;
  /** A catch-up is queued: group chunks are not taken until it is encoded (it covers them). */
  private syncing = false;
  /** RFC 4724 receiving speaker: the families whose stale routes wait for the restarting peer. */
  private restart: RestartState | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** After a maximum-prefix Cease: the timer that starts the session again. */
  private holdDown: NodeJS.Timeout | undefined;

  constructor(
    readonly config: PeerConfig,
    private readonly ctx: PeerContext,
  ) {
    this.log = ctx.log.child({ peer: config.name, address: config.address });
    this.fsmConfig = fsmConfigFor(config, ctx.routerId, ctx.restarting);
    this.remote = {
      address: config.address,
      port: config.port,
      ...(config.localAddress ? { localAddress: config.localAddress } : {}),
    };
    this.primary = new Link(this, initialSession(this.fsmConfig), 'out');
    this.info = this.peerInfo('0.0.0.0');
    this.exportContext = this.makeExportContext(undefined);
  }

  get prefixesAdvertised(): number {
    return this.group?.advertisedTo(this.info) ?? 0;
  }

  /** Bytes of group chunks waiting for the socket (bounded by MAX_QUEUED_CHUNK_BYTES). */
  get queuedBytes(): number {
    return this.queuedChunkBytes;
  }

  /** RibPeer: how UPDATEs to the established session are encoded. */
  get sendContext(): CodecContext {
    return this.established?.sendCtx ?? DEFAULT_CONTEXT;
  }

  private peerInfo(routerId: string): PeerInfo {
    const c = this.config;
    return {
      id: peerKey(c),
      address: c.address,
      asn: c.asn,
      localAsn: c.localAsn,
      ibgp: c.ibgp,
      routerId,
      rrClient: c.rrClient,
      ...(c.allowOwnAs > 0 ? { allowOwnAs: c.allowOwnAs } : {}),
    };
  }

  private makeExportContext(localAddress: string | undefined): ExportContext {
    const hops = localNextHops(localAddress, this.ctx.nextHop());
    const reflector = this.ctx.router.reflector;
    return {
      to: this.info,
      ...(reflector ? { reflector } : {}),
      nextHopSelf: this.config.nextHopSelf,
      localNextHop: hops,
      addPathSend: this.addPathSend.size > 0,
    };
  }

  get name(): string {
    return this.config.name;
  }

  /** The most advanced state of this peer's links. */
  get state(): FsmState {
    let best = this.primary.state;
    for (const l of this.pending) if (STATE_RANK[l.state] > STATE_RANK[best]) best = l.state;
    return best;
  }

  start(): void {
    this.stopped = false;
    this.primary.dispatch({ type: 'ManualStart' });
  }

  /** Stops the peer (ManualStop): sends `notification` on a live connection, closes, stays down. */
  stop(notification: NotificationMessage): void {
    this.stopped = true;
    if (this.holdDown) clearTimeout(this.holdDown);
    this.applyRestart(restartOver(this.restart, 'peer stopped'));
    for (const link of [...this.pending, this.primary]) link.dispatch({ type: 'ManualStop', notification });
    for (const link of this.pending) link.dispose();
    this.pending = [];
    this.primary.dispose();
  }

  private view(): ConnectionsView {
    const v = (l: Link): ConnectionView => {
      const open = l.session.peerOpen;
      return {
        id: l.id,
        state: l.state,
        direction: l.direction,
        ...(open
          ? {
              peerBgpId: open.bgpId,
              peerGracefulRestart: open.capabilities.some((c) => c.kind === 'graceful-restart'),
            }
          : {}),
      };
    };
    const est = this.established;
    return {
      stopped: this.stopped,
      primary: v(this.primary),
      pending: this.pending.map(v),
      ...(est
        ? { established: { id: est.id, gracefulRestart: this.negotiated?.peerGracefulRestart !== undefined } }
        : {}),
    };
  }

  private linkById(id: number): Link | undefined {
    return this.primary.id === id ? this.primary : this.pending.find((l) => l.id === id);
  }

  /** An incoming TCP connection from this peer's address (its 'error' listener is already set). */
  accept(socket: Socket): void {
    const d = decideAccept(this.view());
    switch (d.action) {
      case 'refuse':
        this.log.info({ state: this.primary.state }, `incoming connection refused: ${d.reason}`);
        socket.destroy();
        return;
      case 'cease':
        // RFC 4271 6.8: the new connection is closed with Cease / Connection Collision Resolution
        this.log.info({ state: this.state }, `incoming connection closed with Cease 6/7: ${d.reason}`);
        socket.end(encodeMessage(COLLISION_CEASE));
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      case 'pending': {
        if (d.evict !== undefined) {
          const old = this.linkById(d.evict);
          if (old) {
            this.log.info(
              { state: old.state },
              'a pending connection that sent no OPEN gives way to a new one',
            );
            this.dropPending(old);
          }
        }
        const link = new Link(this, { ...initialSession(this.fsmConfig), state: 'Active' }, 'in');
        this.pending.push(link);
        link.attach(socket);
        link.dispatch({ type: 'TcpConnectionConfirmed' });
      }
    }
  }

  /** Closes a pending link with Cease 6/7 and forgets it. */
  private dropPending(link: Link): void {
    this.pending = this.pending.filter((l) => l !== link);
    if (link.state !== 'Idle') link.dispatch({ type: 'OpenCollisionDump' });
    link.dispose();
  }

  onStateChange(link: Link, from: FsmState, to: FsmState): void {
    // `since` is when the session came up or went down (BIRD's protocol state), not every retry
    if (to === 'Established' || from === 'Established') {
      this.since = performance.now();
      this.sinceWall = Date.now();
    }
    // the reason of a fall back: to Idle (an error, a NOTIFICATION), or to Active (a connect that
    // failed, a connection lost before the OPENs were exchanged)
    const fellBack = to === 'Idle' || (to === 'Active' && (from === 'Connect' || from === 'OpenSent'));
    this.log.info(
      { from, to, direction: link.direction, error: fellBack ? link.session.lastError : undefined },
      'session state',
    );
    // a failed connect goes to Active, not Idle: its error ("connect: ... ECONNREFUSED") is the news
    if ((to === 'Idle' || (to === 'Active' && link === this.primary)) && link.session.lastError)
      this.lastError = link.session.lastError;
    if (to === 'OpenConfirm') this.openReceived(link);
    // a pending (incoming) connection lives only to race the primary: once it falls back, it is done
    if (this.pending.includes(link) && STATE_RANK[to] < STATE_RANK[from]) {
      this.pending = this.pending.filter((l) => l !== link);
      link.dispose();
    }
  }

  /** The peer's OPEN arrived on `link`: collisions (RFC 4271 6.8) and restarts (RFC 4724 4.2). */
  private openReceived(link: Link): void {
    const d = decideOnOpen(this.view(), link.id, {
      localId: this.ctx.routerId,
      localAs: this.config.localAsn,
      peerAs: this.config.asn,
    });
    if (d.dump.length > 0)
      this.log.info(
        { localId: this.ctx.routerId, remoteId: link.session.peerOpen?.bgpId },
        'connection collision resolved',
      );
    for (const id of d.dump) this.dump(id);
    if (d.restarted !== undefined) {
      const old = this.linkById(d.restarted);
      if (!old || !this.pending.includes(link)) return;
      this.log.info('the peer opened a new session while Established: it restarted (graceful restart)');
      old.dispatch({ type: 'TcpConnectionFails', reason: 'the peer opened a new session (it restarted)' });
      this.promote(link);
      old.dispose();
    }
  }

  /** Ends link `id` with Cease 6/7 (it lost a collision). */
  private dump(id: number): void {
    const l = this.linkById(id);
    if (!l) return;
    if (l === this.primary) {
      // the primary lost: the oldest pending connection still alive carries on as the primary
      const next = this.pending.find((p) => p.state !== 'Idle');
      if (next) this.promote(next);
      l.dispatch({ type: 'OpenCollisionDump' });
      l.dispose();
      return;
    }
    this.dropPending(l);
  }

  /** Makes a pending link the primary one (the old primary is the caller's to end). */
  private promote(link: Link): void {
    this.pending = this.pending.filter((l) => l !== link);
    this.primary = link;
  }

  onSessionAction(link: Link, action: FsmAction): void {
    switch (action.type) {
      case 'sessionUp':
        this.sessionUp(link, action.negotiated);
        break;
      case 'sessionDown':
        this.sessionDown(link, action.reason, action.graceful);
        break;
      case 'deliver':
        if (action.message.type === 'update') this.updateReceived(link, action.message);
        else this.routeRefresh(link, action.message);
        break;
      default:
        break;
    }
  }

  private updateReceived(link: Link, update: UpdateMessage): void {
    const r = this.ctx.router.receive(this, update);
    const eor = endOfRibFamily(update);
    if (eor !== undefined) this.endOfRibReceived(eor);
    this.enforceMaxPrefixes(link);
    for (const p of update.problems ?? []) {
      this.log.warn(
        {
          action: p.action,
          code: p.error.code,
          subcode: p.error.subcode,
          codeName: errorName(p.error.code, p.error.subcode),
          error: p.error.message,
        },
        'malformed UPDATE (RFC 7606)',
      );
    }
    this.log.debug({ announced: r.announced, withdrawn: r.withdrawn, rejected: r.rejected }, 'update');
  }

  onMessage(_link: Link, direction: 'in' | 'out', message: BgpMessage): void {
    if (this.log.isLevelEnabled('debug')) this.logMessage(direction, message);
    const c = direction === 'in' ? this.received : this.sent;
    switch (message.type) {
      case 'open':
        c.open++;
        break;
      case 'update':
        c.update++;
        break;
      case 'notification': {
        c.notification++;
        const byCode = direction === 'in' ? this.notifications.received : this.notifications.sent;
        const key = (message.code << 8) | message.subcode;
        byCode.set(key, (byCode.get(key) ?? 0) + 1);
        this.logNotification(direction, message);
        break;
      }
      case 'keepalive':
        c.keepalive++;
        break;
      case 'route-refresh':
        c.routeRefresh++;
        break;
    }
  }

  /** Debug: one line per message received or sent, in its JSON form (as `tern decode` prints it). */
  private logMessage(direction: 'in' | 'out', message: BgpMessage): void {
    this.log.debug(
      { message: messageToJson(message) },
      direction === 'in' ? 'message received' : 'message sent',
    );
  }

  /**
   * Debug: the UPDATEs of group chunks and catch-ups leave as bytes encoded for the whole group; they
   * are decoded again here, only for this log line, with the session's context.
   */
  private logSentBytes(parts: readonly Uint8Array[], ctx: CodecContext): void {
    if (!this.log.isLevelEnabled('debug')) return;
    const framer = new Framer({ extendedMessage: true });
    try {
      for (const part of parts) {
        for (const bytes of framer.push(part)) this.logMessage('out', decodeMessage(bytes, ctx));
      }
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      this.log.debug({ error: e.message }, 'message sent (not decodable for the log)');
    }
  }

  private logNotification(direction: 'in' | 'out', n: NotificationMessage): void {
    const text = shutdownMessage(n);
    this.log.warn(
      {
        code: n.code,
        subcode: n.subcode,
        codeName: errorName(n.code, n.subcode),
        ...(text !== undefined ? { shutdownMessage: text } : {}),
      },
      direction === 'in' ? 'NOTIFICATION received' : 'NOTIFICATION sent',
    );
  }

  private sessionUp(link: Link, negotiated: Negotiated): void {
    // RFC 4271 6.8: one session per peer; every other connection goes with Cease 6/7
    const others = decideOnEstablished(this.view(), link.id);
    if (link !== this.primary) {
      const old = this.primary;
      this.promote(link);
      if (others.dump.includes(old.id)) old.dispatch({ type: 'OpenCollisionDump' });
      old.dispose();
    }
    for (const id of others.dump) if (this.pending.some((l) => l.id === id)) this.dump(id);
    this.established = link;
    this.negotiated = negotiated;
    link.recvCtx = negotiated.receiveContext;
    link.sendCtx = negotiated.sendContext;
    this.lastError = undefined;
    this.log.info(
      {
        direction: link.direction,
        peerAs: negotiated.peerAs,
        peerId: negotiated.peerId,
        holdTime: negotiated.holdTime,
        keepaliveTime: negotiated.keepaliveTime,
        as4: negotiated.as4,
        families: negotiated.families.map(familyKeyName),
        addPathReceive: [...negotiated.addPathReceive].map(familyKeyName),
        addPathSend: [...negotiated.addPathSend].map(familyKeyName),
        extendedMessage: negotiated.extendedMessage,
        gracefulRestart: negotiated.peerGracefulRestart !== undefined,
        peerOpenAs: link.session.peerOpen ? openAs(link.session.peerOpen) : undefined,
      },
      'session established',
    );
    this.info = this.peerInfo(negotiated.peerId);
    this.families = negotiated.families;
    this.addPathSend = negotiated.addPathSend;
    this.exportContext = this.makeExportContext(link.socket?.localAddress);
    this.clearOutput();
    this.applyRestart(restartOnSessionUp(this.restart, negotiated.peerGracefulRestart));
    // the whole table, then End-of-RIB for each family (RFC 4724 2); a restarting tern defers this
    // until its peers' End-of-RIB (RFC 4724 4.1), and the Router calls initialTableSent then
    const { group, now } = this.ctx.router.attach(this);
    this.group = group;
    if (now) this.initialTableSent();
  }

  /**
   * ROUTE-REFRESH (RFC 2918): the peer wants our routes of a family again; with enhanced route refresh
   * (RFC 7313) they come between BoRR and EoRR, in that order on the wire whatever the socket's state.
   * A BoRR from the peer marks its routes of the family stale, its EoRR sweeps those it did not send again.
   */
  private routeRefresh(link: Link, m: RouteRefreshMessage): void {
    if (link !== this.established) return;
    this.log.info({ family: familyName(m.afi, m.safi), subtype: m.subtype }, 'ROUTE-REFRESH received');
    const actions = answerRouteRefresh(m, {
      families: this.families,
      enhanced: this.negotiated?.enhancedRouteRefresh === true,
    });
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.sendInOrder(a.message);
          break;
        case 'resend':
          this.queueSync(new Set([a.family]));
          break;
        case 'markStale':
          this.ctx.router.locRib.markStale(this.info.id, [a.family]);
          break;
        case 'sweepStale':
          this.ctx.router.sweepStale(this.info.id, [a.family]);
          break;
      }
    }
    this.flush();
  }

  /** RibPeer: the group's table is there; it goes out, then End-of-RIB for each family. */
  initialTableSent(): void {
    if (!this.established) return;
    this.lastSeq = 0;
    this.queueSync(new Set());
    for (const family of this.families) this.sendInOrder(endOfRib(family >> 8, family & 255));
    this.flush();
  }

  /**
   * Queues a catch-up from the group's table: what changed since the last batch this session took (and
   * the whole of `full`'s families; everything when it took none). Encoded when its turn comes, it
   * covers every chunk until then, so chunks are not taken meanwhile.
   */
  private queueSync(full: ReadonlySet<number>, previous?: UpdateGroup): void {
    if (!this.group) return;
    this.group.beginSync(this.info, this.lastSeq);
    this.output.push({ kind: 'sync', since: this.lastSeq, full, ...(previous ? { previous } : {}) });
    this.syncing = true;
  }

  /** Puts a message in the output stream after everything decided before it. */
  private sendInOrder(message: BgpMessage): void {
    const link = this.established;
    if (!link) return;
    this.output.push({ kind: 'message', bytes: encodeMessage(message, link.sendCtx) });
    this.onMessage(link, 'out', message);
  }

  /** RibPeer: a chunk of the group's stream. */
  receiveChunk(chunk: Chunk): void {
    if (!this.established || this.syncing) return;
    this.output.push({ kind: 'chunk', chunk });
    this.queuedChunkBytes += chunk.bytes.length;
    this.lastSeq = chunk.seq;
    if (this.queuedChunkBytes > MAX_QUEUED_CHUNK_BYTES) this.fallBehind();
    // written on a later turn, a slice of the sessions at a time
    flushScheduler.add(this);
  }

  /**
   * Too much of the group's stream waits for this session: its chunks are dropped for one catch-up
   * from the group's table, in the place of the first of them.
   */
  private fallBehind(): void {
    const first = this.output.findIndex((i) => i.kind === 'chunk');
    if (first < 0 || !this.group) return;
    const at = this.output[first];
    const since = at?.kind === 'chunk' ? at.chunk.seq - 1 : this.lastSeq;
    const rest = this.output.slice(first).filter((i) => i.kind !== 'chunk');
    this.output = this.output.slice(0, first);
    this.queuedChunkBytes = 0;
    this.lastSeq = since;
    this.group.beginSync(this.info, since);
    this.output.push({ kind: 'sync', since, full: new Set() }, ...rest);
    this.syncing = true;
    this.log.info({ since }, 'the session fell behind its update group: it catches up from the table');
  }

  private clearOutput(): void {
    if (this.group) this.group.endSync(this.info);
    this.output = [];
    this.queuedChunkBytes = 0;
    this.lastSeq = 0;
    this.syncing = false;
  }

  /** Closes every connection without a NOTIFICATION (a graceful restart of tern: peers keep our routes). */
  abort(): void {
    this.stopped = true;
    if (this.holdDown) clearTimeout(this.holdDown);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    for (const l of this.pending) l.dispose();
    this.pending = [];
    this.primary.dispose();
  }

  private sessionDown(link: Link, reason: string, graceful: boolean): void {
    if (link !== this.established) return;
    const negotiated = this.negotiated;
    this.established = undefined;
    this.negotiated = undefined;
    this.lastError = reason;
    const dropped = this.adjRibIn.count();
    this.adjRibIn.clear();
    const gr = negotiated?.peerGracefulRestart;
    const restartingAlready = this.restart !== undefined;
    const step = restartOnSessionDown(this.restart, {
      graceful,
      families: negotiated?.families ?? [],
      ...(gr ? { peer: gr } : {}),
    });
    // RFC 4724 4.2: the routes of the families kept stay, marked stale, until the peer is back
    this.ctx.router.detach(this, step.staleFamilies);
    this.clearOutput();
    this.group = undefined;
    this.applyRestart(step);
    // The peer is restarting (RFC 4724) and will connect again at once: the idle hold that damps a
    // flapping peer (errorWaitTime) is cut short, so that its new connection is taken instead of refused
    // in Idle for seconds while its routes are stale. Only for the first drop of a restart: a peer that
    // drops again before its End-of-RIB waits out the idle hold as any other.
    if (step.staleFamilies.length > 0 && !restartingAlready) queueMicrotask(() => link.hurry('idleHold'));
    this.log.warn(
      {
        reason,
        routesDropped: step.staleFamilies.length > 0 ? 0 : dropped,
        gracefulRestart: step.staleFamilies.length > 0,
      },
      'session down',
    );
  }

  /** Carries out a graceful-restart step: its new state, its sweeps and its timer. */
  private applyRestart(step: RestartStep): void {
    this.restart = step.state;
    for (const a of step.actions) {
      switch (a.type) {
        case 'sweep': {
          const n = this.ctx.router.sweepStale(this.info.id, a.families);
          const families = a.families?.map(familyKeyName);
          this.log.info(
            { why: a.why, families, staleRoutesRemoved: n },
            'graceful restart: stale routes swept',
          );
          break;
        }
        case 'startTimer': {
          if (this.restartTimer) clearTimeout(this.restartTimer);
          const seconds = a.seconds;
          this.restartTimer = setTimeout(() => {
            this.restartTimer = undefined;
            this.applyRestart(restartOver(this.restart, `restart time of ${seconds} s ran out`));
          }, seconds * 1000);
          this.restartTimer.unref();
          break;
        }
        case 'stopTimer':
          if (this.restartTimer) clearTimeout(this.restartTimer);
          this.restartTimer = undefined;
          break;
      }
    }
  }

  /** End-of-RIB from the peer: counts for a deferred start, and ends its restart for that family. */
  private endOfRibReceived(family: number): void {
    this.ctx.router.endOfRibFrom(this, family);
    this.applyRestart(restartOnEndOfRib(this.restart, family));
  }

  /**
   * RFC 4486: more routes from the peer in one family than `maxPrefixes.limit`: Cease 6/1 (data: AFI,
   * SAFI, the limit), the session ends and restarts after `restartTime` seconds.
   */
  private enforceMaxPrefixes(link: Link): void {
    if (link !== this.established) return;
    const over = checkMaxPrefixes(
      this.families,
      (f) => this.adjRibIn.count(f),
      this.config.maxPrefixes ?? undefined,
    );
    if (!over) return;
    this.log.warn(
      {
        family: familyKeyName(over.family),
        routes: over.routes,
        limit: this.config.maxPrefixes?.limit,
        restartIn: over.restartAfter,
      },
      'maximum prefix limit exceeded',
    );
    link.dispatch({ type: 'ManualStop', notification: over.notification });
    this.holdDown = setTimeout(() => {
      this.holdDown = undefined;
      if (!this.stopped) this.primary.dispatch({ type: 'ManualStart' });
    }, over.restartAfter * 1000);
    this.holdDown.unref();
  }

  /**
   * Writes the output stream to the socket while it has room. When the socket is full the stream
   * waits; group chunks beyond MAX_QUEUED_CHUNK_BYTES turn into one catch-up (see fallBehind).
   */
  flush(): void {
    const link = this.established;
    if (!link) return;
    if (link.whenWritable(() => this.flush())) return;
    // several items queued leave in one writev (one system call); a lone one is written as it is
    if (this.output.length > 1) link.corked(() => this.writeOutput(link));
    else this.writeOutput(link);
  }

  private writeOutput(link: Link): void {
    let i = 0;
    let ok = true;
    while (ok && i < this.output.length) {
      const item = this.output[i]!;
      i++;
      switch (item.kind) {
        case 'message':
          ok = link.write(item.bytes);
          break;
        case 'chunk': {
          this.queuedChunkBytes -= item.chunk.bytes.length;
          const { parts, messages } = slicesFor(item.chunk, this.info);
          this.sent.update += messages;
          this.logSentBytes(parts, link.sendCtx);
          if (parts.length > 0) ok = link.writeAll(parts);
          break;
        }
        case 'sync': {
          const group = this.group;
          if (!group) break;
          if (!catchUpBudget.available) {
            // this turn's share of encoding is spent: the catch-up waits for the next one
            i--;
            ok = false;
            this.flushLater();
            break;
          }
          const { bytes, messages } = catchUpBudget.spend(() =>
            group.syncFor(this.info, item.since, item.full, item.previous),
          );
          this.lastSeq = group.seq;
          this.syncing = this.output.slice(i).some((x) => x.kind === 'sync');
          this.sent.update += messages;
          this.logSentBytes([bytes], link.sendCtx);
          if (bytes.length > 0) ok = link.write(bytes);
          break;
        }
      }
    }
    this.output.splice(0, i);
    if (this.output.length > 0 && !this.flushBooked) link.whenWritable(() => this.flush());
  }

  private flushBooked = false;

  /** Flushes on the next turn (the catch-up budget of this one is spent). */
  private flushLater(): void {
    if (this.flushBooked) return;
    this.flushBooked = true;
    setImmediate(() => {
      this.flushBooked = false;
      this.flush();
    });
  }

  /** The next hops for our routes changed (reload): export everything again. */
  refreshExports(): void {
    const link = this.established;
    if (!link) return;
    this.exportContext = this.makeExportContext(link.socket?.localAddress);
    const { from, to } = this.ctx.router.regroup(this);
    if (from === to) return;
    // the new group's table replaces whatever was still to be caught up from the old one
    this.output = this.output.filter((i) => i.kind !== 'sync');
    this.group = to;
    this.lastSeq = 0;
    this.queueSync(new Set(), from);
    this.flush();
  }

  /** For `show protocols` / `show neighbors`. */
  get capabilitiesReceived(): readonly Capability[] {
    return this.established?.session.peerOpen?.capabilities ?? [];
  }
}

const COLLISION_CEASE: NotificationMessage = {
  type: 'notification',
  code: ErrorCode.CEASE,
  subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
  data: new Uint8Array(0),
};

function familyKeyName(family: number): string {
  return familyName(family >> 8, family & 255);
}
