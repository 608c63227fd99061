// Raw BGP clients for the chaos test, built on tern's own codecs (src/bgp/messages): `BgpConn`, one TCP
// connection from a chosen source address that sends bytes and reads whole messages back, and
// `GoodPeer`, a well-behaved speaker that brings a session up, announces a few routes, sends KEEPALIVEs
// and records anything that would mean its session was disturbed (a NOTIFICATION, the connection
// closing, an undecodable message from tern, tern going silent past the hold time).

import { connect, type Socket } from 'node:net';
import type { Capability } from '../../src/bgp/messages/capabilities/index.js';
import { type CodecContext, makeContext } from '../../src/bgp/messages/context.js';
import { BgpError } from '../../src/bgp/messages/errors.js';
import { Framer } from '../../src/bgp/messages/framer.js';
import {
  Afi,
  AsPathSegmentType,
  CeaseSubcode,
  ErrorCode,
  Origin,
  Safi,
} from '../../src/bgp/messages/iana.js';
import { KEEPALIVE } from '../../src/bgp/messages/keepalive.js';
import { type BgpMessage, decodeMessage, encodeMessage } from '../../src/bgp/messages/message.js';
import { NO_IPV4_PREFIXES } from '../../src/bgp/messages/nlri.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import { parseIpv4Prefix } from '../../src/bgp/messages/prefix.js';
import { endOfRib, type UpdateMessage } from '../../src/bgp/messages/update.js';

export type Finish = 'end' | 'destroy' | 'rst';

export type Received =
  | { readonly kind: 'message'; readonly msg: BgpMessage }
  | { readonly kind: 'closed' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'undecodable'; readonly error: string; readonly hex: string };

/** What tern may send: 4-octet AS, messages up to 65535 bytes (the most lenient reading). */
const LENIENT: CodecContext = makeContext({ as4: true, extendedMessage: true });

/** One TCP connection to tern from `localAddress`, reading whole messages back. */
export class BgpConn {
  readonly socket: Socket;
  private readonly framer = new Framer({ extendedMessage: true });
  private readonly inbox: Received[] = [];
  private waiter: ((r: Received) => void) | undefined;
  private ended = false;
  /** Messages received (decoded or not). */
  messages = 0;
  /** KEEPALIVEs received: tern accepted an OPEN on this connection. */
  keepalives = 0;
  /** Set when the connection's 'error' fired (ECONNRESET and the like: expected under chaos). */
  error: string | undefined;
  ctx: CodecContext = LENIENT;
  onMessage: ((r: Received) => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.error = e.code ?? e.message;
    });
    socket.on('close', () => this.push({ kind: 'closed' }));
    // tern's FIN: the connection is over for reading; our side may still write a little
    socket.on('end', () => this.push({ kind: 'closed' }));
  }

  /** Connects; rejects when the connection cannot be made within `timeoutMs`. */
  static open(host: string, port: number, localAddress: string, timeoutMs = 3000): Promise<BgpConn> {
    return new Promise((resolve, reject) => {
      // half-open allowed: after tern's FIN this side stays open until finish(), so a reset sent
      // then reaches a socket tern still holds (the Cease 6/7 case)
      const socket = connect({ host, port, localAddress, allowHalfOpen: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect ${localAddress} -> ${host}:${port}: timeout`));
      }, timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new BgpConn(socket));
      });
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  private push(r: Received): void {
    if (this.ended) return;
    if (r.kind === 'closed' || r.kind === 'undecodable') this.ended = true;
    if (r.kind === 'message' || r.kind === 'undecodable') this.messages++;
    if (r.kind === 'message' && r.msg.type === 'keepalive') this.keepalives++;
    if (this.onMessage) {
      this.onMessage(r);
      return;
    }
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(r);
    } else this.inbox.push(r);
  }

  private onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.framer.push(chunk);
    } catch (e) {
      this.push({ kind: 'undecodable', error: String(e), hex: chunk.toString('hex').slice(0, 200) });
      return;
    }
    for (const f of frames) {
      try {
        this.push({ kind: 'message', msg: decodeMessage(f, this.ctx) });
      } catch (e) {
        const error = e instanceof BgpError ? `${e.name} ${e.code}/${e.subcode}: ${e.message}` : String(e);
        this.push({ kind: 'undecodable', error, hex: Buffer.from(f).toString('hex') });
      }
    }
  }

  /** The next thing that happens: a message, the close, or nothing within `timeoutMs`. */
  next(timeoutMs: number): Promise<Received> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve({ kind: 'closed' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** The next message of `type`, skipping others; undefined when the connection ends or time runs out. */
  async expect(type: BgpMessage['type'], timeoutMs: number): Promise<BgpMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      const r = await this.next(left);
      if (r.kind !== 'message') return undefined;
      if (r.msg.type === type) return r.msg;
      if (r.msg.type === 'notification') return r.msg;
    }
  }

  send(bytes: Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /**
   * Ends the connection: FIN (`end`, destroyed a second later), `destroy`, or RST. Node 20 cannot reset
   * a socket whose writing side was already ended (resetAndDestroy fails with EINVAL and leaves a
   * handle that keeps the process busy), so after `end` an RST becomes a plain destroy.
   */
  finish(how: Finish): void {
    const s = this.socket;
    if (s.destroyed) return;
    if (how === 'rst' && !s.writableEnded) s.resetAndDestroy();
    else if (how === 'end' && !s.writableEnded) {
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    } else s.destroy();
  }
}

export interface GoodPeerOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress: string;
  readonly asn: number;
  readonly bgpId: string;
  readonly holdTime: number;
  /** IPv4 prefixes to announce. */
  readonly routes: readonly string[];
  readonly nextHop: string;
  readonly keepaliveMs: number;
}

/** The capabilities of a plain, well-behaved speaker (no graceful restart: a second OPEN is a collision). */
export function goodCapabilities(asn: number): Capability[] {
  return [
    { kind: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST },
    { kind: 'multiprotocol', afi: Afi.IPV6, safi: Safi.UNICAST },
    { kind: 'route-refresh' },
    { kind: 'four-octet-as', as: asn },
  ];
}

/** An UPDATE announcing `prefixes` (IPv4) from `asn` with `nextHop`. */
export function announcement(asn: number, nextHop: string, prefixes: readonly string[]): UpdateMessage {
  return {
    type: 'update',
    withdrawn: NO_IPV4_PREFIXES,
    attributes: {
      origin: Origin.IGP,
      asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn] }],
      nextHop,
    },
    nlri: {
      afi: Afi.IPV4,
      prefixes: prefixes.map((p) => {
        const key = parseIpv4Prefix(p);
        if (key === undefined) throw new Error(`not an IPv4 prefix: ${p}`);
        return key;
      }),
    },
  };
}

export class GoodPeer {
  /** Everything that went wrong with the session, in order, with the time. */
  readonly problems: string[] = [];
  readonly received = { open: 0, update: 0, keepalive: 0, notification: 0, 'route-refresh': 0 };
  private conn: BgpConn | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();
  private stopping = false;
  established = false;

  constructor(readonly opts: GoodPeerOptions) {}

  private problem(text: string): void {
    this.problems.push(`${new Date().toISOString()} ${text}`);
  }

  /** Connects, exchanges OPEN and KEEPALIVE, announces the routes and End-of-RIB. */
  async start(timeoutMs = 20_000): Promise<void> {
    const o = this.opts;
    const conn = await BgpConn.open(o.host, o.port, o.localAddress);
    this.conn = conn;
    conn.ctx = makeContext({ as4: true });
    conn.send(
      encodeMessage(
        makeOpen({ as: o.asn, holdTime: o.holdTime, bgpId: o.bgpId, capabilities: goodCapabilities(o.asn) }),
      ),
    );
    const open = await conn.expect('open', timeoutMs);
    if (open?.type !== 'open') throw new Error(`good peer: no OPEN from tern (${JSON.stringify(open)})`);
    conn.send(encodeMessage(KEEPALIVE));
    const ka = await conn.expect('keepalive', timeoutMs);
    if (ka?.type !== 'keepalive')
      throw new Error(`good peer: no KEEPALIVE from tern (${JSON.stringify(ka)})`);
    this.established = true;
    this.lastHeard = Date.now();
    conn.onMessage = (r) => this.onReceived(r);
    conn.send(encodeMessage(announcement(o.asn, o.nextHop, o.routes)));
    conn.send(encodeMessage(endOfRib(Afi.IPV4, Safi.UNICAST)));
    conn.send(encodeMessage(endOfRib(Afi.IPV6, Safi.UNICAST)));
    this.timer = setInterval(() => this.tick(), o.keepaliveMs);
  }

  private tick(): void {
    const conn = this.conn;
    if (!conn || conn.closed) return;
    conn.send(encodeMessage(KEEPALIVE));
    const silent = Date.now() - this.lastHeard;
    if (silent > this.opts.holdTime * 1000)
      this.problem(`tern sent nothing for ${silent} ms (hold time ${this.opts.holdTime} s)`);
  }

  private onReceived(r: Received): void {
    this.lastHeard = Date.now();
    switch (r.kind) {
      case 'message': {
        const t = r.msg.type;
        this.received[t]++;
        if (r.msg.type === 'notification') {
          this.problem(`NOTIFICATION ${r.msg.code}/${r.msg.subcode} received from tern`);
        } else if (t === 'open') this.problem('a second OPEN on an established session');
        break;
      }
      case 'closed':
        if (!this.stopping) this.problem(`the connection closed (${this.conn?.error ?? 'FIN'})`);
        this.established = false;
        break;
      case 'undecodable':
        this.problem(`tern sent a message the codec cannot decode: ${r.error} hex ${r.hex}`);
        break;
      case 'timeout':
        break;
    }
  }

  /** Ends the session: Cease / Administrative Shutdown, then close. */
  stop(): void {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    const conn = this.conn;
    if (!conn) return;
    conn.send(
      encodeMessage({
        type: 'notification',
        code: ErrorCode.CEASE,
        subcode: CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
        data: new Uint8Array(0),
      }),
    );
    conn.finish('end');
  }
}
