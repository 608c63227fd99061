// Peer: one configured neighbor. Owns the Link (state machine + connection) that connects out or waits,
// a second Link while a connection collision is being resolved (RFC 4271 6.8), the Adj-RIB-In, and what
// we advertise once the session is up (originated prefixes, then End-of-RIB per family).

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { resolveCollision } from '../bgp/fsm/collision.js';
import { initialSession } from '../bgp/fsm/fsm.js';
import type { Negotiated } from '../bgp/fsm/negotiate.js';
import type { FsmAction, FsmConfig, FsmState } from '../bgp/fsm/types.js';
import { type Capability, GracefulRestartFlag } from '../bgp/messages/capabilities/index.js';
import {
  CeaseSubcode,
  ErrorCode,
  errorCodeName,
  errorSubcodeName,
  familyKey,
  familyName,
} from '../bgp/messages/iana.js';
import { type BgpMessage, encodeMessage } from '../bgp/messages/message.js';
import { type NotificationMessage, shutdownMessage } from '../bgp/messages/notification.js';
import { makeOpen, openAs } from '../bgp/messages/open.js';
import { type RouteRefreshMessage, RouteRefreshSubtype } from '../bgp/messages/route-refresh.js';
import { endOfRib, endOfRibFamily } from '../bgp/messages/update.js';
import { AdjRibIn } from '../bgp/rib/adj-rib-in.js';
import { AdjRibOut } from '../bgp/rib/adj-rib-out.js';
import type { ExportContext } from '../bgp/rib/export.js';
import type { PeerInfo } from '../bgp/rib/types.js';
import type { PeerConfig, TernConfig } from '../config/types.js';
import { peerKey } from '../config/types.js';
import type { Logger } from '../log.js';
import { FAMILIES } from './families.js';
import { Link, type LinkOwner } from './link.js';
import { localNextHops } from './next-hop.js';
import type { ExportCache, RibPeer, Router } from './router.js';

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

const STATE_RANK: Readonly<Record<FsmState, number>> = {
  Idle: 0,
  Connect: 1,
  Active: 1,
  OpenSent: 2,
  OpenConfirm: 3,
  Established: 4,
};

/** RFC 4486 4: Cease / Maximum Number of Prefixes Reached, data AFI (2), SAFI (1), the limit (4). */
export function maxPrefixesCease(family: number, limit: number): NotificationMessage {
  const data = new Uint8Array(7);
  const view = new DataView(data.buffer);
  view.setUint16(0, family >> 8);
  data[2] = family & 255;
  view.setUint32(3, limit);
  return {
    type: 'notification',
    code: ErrorCode.CEASE,
    subcode: CeaseSubcode.MAXIMUM_PREFIXES_REACHED,
    data,
  };
}

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
  /** The link that connects out (or waits, when passive); it restarts itself after failures. */
  private primary: Link;
  /** An incoming connection racing the primary one (connection collision, RFC 4271 6.8). */
  private secondary: Link | undefined;
  private established: Link | undefined;
  negotiated: Negotiated | undefined;
  /** performance.now() of the last change of the reported state. */
  since = performance.now();
  /** Wall-clock time of the same, for display. */
  sinceWall = Date.now();
  lastError: string | undefined;
  readonly received = counters();
  readonly sent = counters();
  /** What the established session has been told and has yet to be told. */
  readonly adjRibOut = new AdjRibOut();
  exportCache: ExportCache = new WeakMap();
  readonly sentPaths = new Map<string, Set<number>>();
  get addPathLimit(): number | undefined {
    return this.config.addPathLimit ?? undefined;
  }
  /** Set while Established (RibPeer). */
  info: PeerInfo;
  exportContext: ExportContext;
  families: readonly number[] = [];
  addPathSend: ReadonlySet<number> = new Set();
  private flushScheduled = false;
  /** RFC 4724 receiving speaker: the peer is restarting; its stale routes wait for it until the timer. */
  private restarting: { readonly timer: NodeJS.Timeout; readonly families: Set<number> } | undefined;
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
    return this.adjRibOut.size;
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
    const s = this.secondary?.state;
    const p = this.primary.state;
    return s !== undefined && STATE_RANK[s] > STATE_RANK[p] ? s : p;
  }

  start(): void {
    this.stopped = false;
    this.primary.dispatch({ type: 'ManualStart' });
  }

  /** Stops the peer (ManualStop): sends `notification` on a live connection, closes, stays down. */
  stop(notification: NotificationMessage): void {
    this.stopped = true;
    if (this.holdDown) clearTimeout(this.holdDown);
    this.endRestart('peer stopped');
    for (const link of [this.secondary, this.primary]) link?.dispatch({ type: 'ManualStop', notification });
    this.secondary?.dispose();
    this.secondary = undefined;
    this.primary.dispose();
  }

  /** An incoming TCP connection from this peer's address. */
  accept(socket: Socket): void {
    const p = this.primary;
    if (this.stopped || p.state === 'Idle') {
      this.log.info({ state: p.state }, 'incoming connection refused: peer is idle');
      socket.destroy();
      return;
    }
    if (p.state === 'Connect' || p.state === 'Active') {
      // no session on the wire yet: the incoming connection becomes the primary's
      p.attach(socket);
      p.dispatch({ type: 'TcpConnectionConfirmed' });
      return;
    }
    if (p.state === 'Established' && this.negotiated?.peerGracefulRestart) {
      // RFC 4724 4.2: a new connection from a graceful-restart peer whose session we still think is up
      // means it restarted: the old session ends as a graceful restart, the new connection carries on
      this.log.info('the peer reconnected while Established: treating it as restarted (graceful restart)');
      p.dispatch({ type: 'TcpConnectionFails', reason: 'the peer opened a new connection (it restarted)' });
      p.dispose();
      const link = new Link(this, { ...initialSession(this.fsmConfig), state: 'Active' }, 'in');
      this.primary = link;
      link.attach(socket);
      link.dispatch({ type: 'TcpConnectionConfirmed' });
      return;
    }
    if (p.state === 'Established' || this.secondary) {
      // RFC 4271 6.8: a collision with an Established session closes the new connection
      this.log.info({ state: p.state }, 'incoming connection closed: a session exists (collision)');
      socket.end(
        encodeMessage({
          type: 'notification',
          code: ErrorCode.CEASE,
          subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
          data: new Uint8Array(0),
        }),
      );
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    // OpenSent / OpenConfirm: let both run until the identifiers decide (on the next OPEN)
    const link = new Link(this, { ...initialSession(this.fsmConfig), state: 'Active' }, 'in');
    this.secondary = link;
    link.attach(socket);
    link.dispatch({ type: 'TcpConnectionConfirmed' });
  }

  onStateChange(link: Link, from: FsmState, to: FsmState): void {
    if (link === this.primary || to === 'Established') {
      this.since = performance.now();
      this.sinceWall = Date.now();
    }
    this.log.info(
      { from, to, direction: link.direction, error: to === 'Idle' ? link.session.lastError : undefined },
      'session state',
    );
    if (to === 'Idle' && link === this.primary && link.session.lastError)
      this.lastError = link.session.lastError;
    if (to === 'OpenConfirm') this.checkCollision(link);
    // a second (incoming) connection lives only to race the first: once it falls back, it is done
    if (link === this.secondary && STATE_RANK[to] < STATE_RANK[from]) {
      link.dispose();
      this.secondary = undefined;
    }
  }

  /** RFC 4271 6.8: two connections with the peer's OPEN known on both: keep one by BGP identifier. */
  private checkCollision(link: Link): void {
    const other = link === this.primary ? this.secondary : this.primary;
    if (!other || (other.state !== 'OpenConfirm' && other.state !== 'OpenSent')) return;
    const remoteId = link.session.peerOpen?.bgpId;
    if (remoteId === undefined) return;
    const keep = resolveCollision(this.ctx.routerId, remoteId);
    const loser = [link, other].find((l) =>
      keep === 'keep-incoming' ? l.direction === 'out' : l.direction === 'in',
    )!;
    this.log.info({ keep, localId: this.ctx.routerId, remoteId }, 'connection collision resolved');
    if (loser === this.primary && this.secondary) {
      // the incoming connection carries on as the primary; the loser, now the secondary, is disposed
      // once its state machine has sent Cease 6/7 and dropped to Idle (see onStateChange)
      this.primary = this.secondary;
      this.secondary = loser;
    }
    loser.dispatch({ type: 'OpenCollisionDump' });
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
        if (action.message.type === 'update') {
          this.adjRibIn.apply(action.message);
          const r = this.ctx.router.receive(this, action.message);
          const eor = endOfRibFamily(action.message);
          if (eor !== undefined) this.endOfRibReceived(eor);
          this.checkMaxPrefixes(link);
          if (action.message.problems) {
            for (const p of action.message.problems) {
              this.log.warn(
                { action: p.action, code: p.error.code, subcode: p.error.subcode, error: p.error.message },
                'malformed UPDATE (RFC 7606)',
              );
            }
          }
          this.log.debug({ announced: r.announced, withdrawn: r.withdrawn, rejected: r.rejected }, 'update');
        } else {
          this.routeRefresh(link, action.message);
        }
        break;
      default:
        break;
    }
  }

  onMessage(_link: Link, direction: 'in' | 'out', message: BgpMessage): void {
    const c = direction === 'in' ? this.received : this.sent;
    switch (message.type) {
      case 'open':
        c.open++;
        break;
      case 'update':
        c.update++;
        break;
      case 'notification':
        c.notification++;
        this.logNotification(direction, message);
        break;
      case 'keepalive':
        c.keepalive++;
        break;
      case 'route-refresh':
        c.routeRefresh++;
        break;
    }
  }

  private logNotification(direction: 'in' | 'out', n: NotificationMessage): void {
    const text = shutdownMessage(n);
    this.log.warn(
      {
        code: n.code,
        subcode: n.subcode,
        name: `${errorCodeName(n.code)} / ${errorSubcodeName(n.code, n.subcode)}`,
        ...(text !== undefined ? { shutdownMessage: text } : {}),
      },
      direction === 'in' ? 'NOTIFICATION received' : 'NOTIFICATION sent',
    );
  }

  private sessionUp(link: Link, negotiated: Negotiated): void {
    // the other connection, if any, loses (RFC 4271 6.8: only one session per peer)
    if (link === this.secondary) {
      this.secondary = this.primary;
      this.primary = link;
    }
    // the other connection, now the secondary, sends Cease 6/7 and is disposed when it drops to Idle
    const other = this.secondary;
    if (other && other.state !== 'Idle') other.dispatch({ type: 'OpenCollisionDump' });
    else if (other) {
      other.dispose();
      this.secondary = undefined;
    }
    this.established = link;
    this.negotiated = negotiated;
    link.recvCtx = negotiated.receiveContext;
    link.sendCtx = negotiated.sendContext;
    this.lastError = undefined;
    this.log.info(
      {
        peerAs: negotiated.peerAs,
        peerId: negotiated.peerId,
        holdTime: negotiated.holdTime,
        keepaliveTime: negotiated.keepaliveTime,
        as4: negotiated.as4,
        families: negotiated.families,
        addPathReceive: [...negotiated.addPathReceive],
        addPathSend: [...negotiated.addPathSend],
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
    this.exportCache = new WeakMap();
    this.adjRibOut.clear();
    this.sentPaths.clear();
    this.restartSessionUp(negotiated);
    // the whole table, then End-of-RIB for each family (RFC 4724 2); a restarting tern defers this
    // until its peers' End-of-RIB (RFC 4724 4.1), and the Router calls initialTableSent then
    if (this.ctx.router.attach(this)) this.initialTableSent();
  }

  /**
   * ROUTE-REFRESH (RFC 2918): the peer wants our routes of a family again; with enhanced route refresh
   * (RFC 7313) they come between BoRR and EoRR. A BoRR from the peer marks its routes of the family
   * stale, its EoRR sweeps those it did not send again.
   */
  private routeRefresh(link: Link, m: RouteRefreshMessage): void {
    if (link !== this.established) return;
    const family = familyKey(m.afi, m.safi);
    this.log.info({ family: familyName(m.afi, m.safi), subtype: m.subtype }, 'ROUTE-REFRESH received');
    if (!this.families.includes(family)) return;
    switch (m.subtype) {
      case RouteRefreshSubtype.NORMAL: {
        const enhanced = this.negotiated?.enhancedRouteRefresh === true;
        if (enhanced)
          link.send({ type: 'route-refresh', afi: m.afi, safi: m.safi, subtype: RouteRefreshSubtype.BORR });
        this.adjRibOut.resendAll(family);
        this.flush();
        if (enhanced)
          link.send({ type: 'route-refresh', afi: m.afi, safi: m.safi, subtype: RouteRefreshSubtype.EORR });
        break;
      }
      case RouteRefreshSubtype.BORR:
        this.ctx.router.locRib.markStale(this.info.id, [family]);
        break;
      case RouteRefreshSubtype.EORR:
        this.ctx.router.sweepStale(this.info.id, [family]);
        break;
      default:
        break; // RFC 7313 4: other subtypes are ignored
    }
  }

  /** RibPeer: the Router has queued the whole table; send it and End-of-RIB for each family. */
  initialTableSent(): void {
    const link = this.established;
    if (!link) return;
    this.flush();
    for (const family of this.families) link.send(endOfRib(family >> 8, family & 255));
  }

  /** Closes every connection without a NOTIFICATION (a graceful restart of tern: peers keep our routes). */
  abort(): void {
    this.stopped = true;
    if (this.holdDown) clearTimeout(this.holdDown);
    if (this.restarting) clearTimeout(this.restarting.timer);
    this.secondary?.dispose();
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
    // RFC 4724 4.2: a peer that announced graceful restart and lost the connection (no NOTIFICATION)
    // keeps its routes, stale, for the families it listed, until it is back or its restart time ends
    const gr = negotiated?.peerGracefulRestart;
    const staleFamilies =
      graceful && gr && gr.restartTime > 0
        ? gr.families.map((f) => f.family).filter((f) => negotiated!.families.includes(f))
        : [];
    this.ctx.router.detach(this, staleFamilies);
    this.adjRibOut.clear();
    if (staleFamilies.length > 0 && gr) this.startRestartTimer(gr.restartTime, staleFamilies);
    else this.endRestart('session down without graceful restart');
    this.log.warn(
      {
        reason,
        routesDropped: staleFamilies.length > 0 ? 0 : dropped,
        gracefulRestart: staleFamilies.length > 0,
      },
      'session down',
    );
  }

  private startRestartTimer(seconds: number, families: readonly number[]): void {
    if (this.restarting) clearTimeout(this.restarting.timer);
    const timer = setTimeout(() => this.endRestart(`restart time of ${seconds} s ran out`), seconds * 1000);
    timer.unref();
    const pending = new Set(families);
    // a second drop during the restart keeps the families still waiting (RFC 4724 4.2)
    for (const f of this.restarting?.families ?? []) pending.add(f);
    this.restarting = { timer, families: pending };
  }

  /** Sweeps every stale route of this peer and forgets the restart. */
  private endRestart(why: string): void {
    const r = this.restarting;
    if (!r) return;
    clearTimeout(r.timer);
    this.restarting = undefined;
    const n = this.ctx.router.sweepStale(this.info.id);
    this.log.info({ why, staleRoutesRemoved: n }, 'graceful restart over');
  }

  /** The restarted peer is back: families it no longer preserves (F bit clear) are swept now. */
  private restartSessionUp(negotiated: Negotiated): void {
    const r = this.restarting;
    if (!r) return;
    const gr = negotiated.peerGracefulRestart;
    if (!gr) {
      this.endRestart('the peer came back without graceful restart');
      return;
    }
    const kept = new Set(gr.families.filter((f) => f.forwardingState).map((f) => f.family));
    const drop = [...r.families].filter((f) => !kept.has(f));
    if (drop.length > 0) {
      for (const f of drop) r.families.delete(f);
      this.ctx.router.sweepStale(this.info.id, drop);
    }
    if (r.families.size === 0) this.endRestart('no family kept forwarding state');
  }

  /** RFC 4724 4.2: End-of-RIB from a restarted peer ends the wait for that family. */
  private endOfRibReceived(family: number): void {
    this.ctx.router.endOfRibFrom(this, family);
    const r = this.restarting;
    if (!r?.families.has(family)) return;
    r.families.delete(family);
    const n = this.ctx.router.sweepStale(this.info.id, [family]);
    this.log.info({ family, staleRoutesRemoved: n }, 'End-of-RIB: stale routes swept');
    if (r.families.size === 0) {
      clearTimeout(r.timer);
      this.restarting = undefined;
    }
  }

  /**
   * RFC 4486: more routes from the peer in one family than `maxPrefixes.limit`: Cease 6/1 (data: AFI,
   * SAFI, the limit), the session ends and restarts after `restartTime` seconds.
   */
  private checkMaxPrefixes(link: Link): void {
    const max = this.config.maxPrefixes;
    if (!max || link !== this.established) return;
    for (const family of this.families) {
      const n = this.adjRibIn.count(family);
      if (n <= max.limit) continue;
      this.log.warn(
        {
          family: familyName(family >> 8, family & 255),
          routes: n,
          limit: max.limit,
          restartIn: max.restartTime,
        },
        'maximum prefix limit exceeded',
      );
      link.dispatch({ type: 'ManualStop', notification: maxPrefixesCease(family, max.limit) });
      this.holdDown = setTimeout(() => {
        this.holdDown = undefined;
        if (!this.stopped) this.primary.dispatch({ type: 'ManualStart' });
      }, max.restartTime * 1000);
      this.holdDown.unref();
      return;
    }
  }

  /** RibPeer: drain the Adj-RIB-Out soon (changes arriving meanwhile coalesce). */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Drains the Adj-RIB-Out to the socket, unless the socket is still busy with what was written before:
   * then changes keep coalescing per prefix in the Adj-RIB-Out (bounded by the table) and the drain
   * happens when the socket has room again, so a slow peer never grows a queue of UPDATEs.
   */
  private flush(): void {
    const link = this.established;
    if (!link) return;
    if (link.whenWritable(() => this.flush())) return;
    const messages = this.adjRibOut.drain(link.sendCtx);
    for (const m of messages) link.write(m);
    this.sent.update += messages.length;
  }

  /** The next hops for our routes changed (reload): export everything again. */
  refreshExports(): void {
    const link = this.established;
    if (!link) return;
    this.exportContext = this.makeExportContext(link.socket?.localAddress);
    this.exportCache = new WeakMap();
    this.ctx.router.attach(this);
    this.scheduleFlush();
  }

  /** For `show protocols` / `show neighbors`. */
  get capabilitiesReceived(): readonly Capability[] {
    return this.established?.session.peerOpen?.capabilities ?? [];
  }
}
