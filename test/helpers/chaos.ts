// The session chaos engine, shared by test/chaos/session-chaos.test.ts (a few hundred connections, in
// `npm test`) and bench/soak.ts (`npm run soak`, ten thousand and more). It opens connections to a
// running tern from the source addresses of configured (passive) peers and of strangers, and on each
// does one scenario, chosen with a seeded random source: garbage, a valid header with a garbage body,
// truncated and mutated OPENs, a valid OPEN and then mutated UPDATEs (fuzz-mutate.ts), resets at random
// points (FIN, destroy, or RST with socket.resetAndDestroy()), silence, and a second connection from the
// well-behaved peer's address while its session is Established (tern must answer Cease 6/7 and close;
// the engine closes that connection with RST after about 300 ms, the case that once crashed tern).
//
// What each connection sends is a function of (seed, connection index); what tern answers depends on
// timing too, so outcome counts vary a little from run to run.

import type { Capability } from '../../src/bgp/messages/capabilities/index.js';
import { makeContext } from '../../src/bgp/messages/context.js';
import { Afi, CeaseSubcode, ErrorCode, Safi } from '../../src/bgp/messages/iana.js';
import { KEEPALIVE } from '../../src/bgp/messages/keepalive.js';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import { message } from './bytes.js';
import { announcement, BgpConn, type Finish, goodCapabilities } from './chaos-peer.js';
import type { Seed } from './fuzz.js';
import {
  chance,
  mutateMessage,
  pick,
  type Rand,
  randomBytes,
  splitUpdate,
  type UpdateParts,
} from './fuzz-mutate.js';
import { prng, randInt } from './stream.js';

export interface ChaosTarget {
  readonly host: string;
  readonly port: number;
  /** The well-behaved peer: its address (for collisions), AS and BGP Identifier. */
  readonly good: { readonly address: string; readonly asn: number; readonly bgpId: string };
  /** Configured passive peers that only ever see chaos. */
  readonly chaos: readonly { readonly address: string; readonly asn: number }[];
  /** Addresses no peer is configured for (tern must refuse them). */
  readonly strangers: readonly string[];
}

export interface ChaosOptions {
  readonly target: ChaosTarget;
  readonly connections: number;
  readonly concurrency: number;
  readonly seed: number;
  /** Messages to mutate (the fuzz seeds). */
  readonly seeds: readonly Seed[];
  /** Called after every `progressEvery` connections. */
  readonly progressEvery?: number;
  readonly onProgress?: (r: ChaosReport) => void | Promise<void>;
  /** Stop early (the daemon died, say); checked before each connection. */
  readonly shouldStop?: () => boolean;
}

export interface ChaosReport {
  connections: number;
  elapsedMs: number;
  /** Connections by scenario. */
  scenarios: Record<string, number>;
  /** What tern did, by kind: "notification 1/1", "closed by tern", "established", "connect failed ...". */
  outcomes: Record<string, number>;
  /** Second connections from the good peer's address, and how many got Cease 6/7 and a close. */
  collisions: { tried: number; answered: number };
  /** Things tern must not do (a collision left unanswered, bytes the codec cannot decode), first 50. */
  findings: string[];
  findingCount: number;
  /** The last connections started ("index scenario address at <ms>"), to tell what a crash followed. */
  recent: string[];
}

type Scenario =
  | 'garbage'
  | 'header-garbage'
  | 'open-mutated'
  | 'open-truncated'
  | 'session-updates'
  | 'reset-early'
  | 'silent'
  | 'partial-message'
  | 'open-then-notification'
  | 'update-before-open'
  | 'stranger'
  | 'collision';

const WEIGHTS: readonly (readonly [Scenario, number])[] = [
  ['garbage', 8],
  ['header-garbage', 8],
  ['open-mutated', 12],
  ['open-truncated', 5],
  ['session-updates', 30],
  ['reset-early', 8],
  ['silent', 3],
  ['partial-message', 5],
  ['open-then-notification', 5],
  ['update-before-open', 4],
  ['stranger', 3],
  ['collision', 6],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((n, [, w]) => n + w, 0);

function pickScenario(rand: Rand): Scenario {
  let r = rand() * TOTAL_WEIGHT;
  for (const [s, w] of WEIGHTS) {
    r -= w;
    if (r < 0) return s;
  }
  return 'garbage';
}

/** How long an address rests after its session was Established: errorWaitTime (1 s) and a margin. */
const REST_MS = 1300;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What one connection does; a closure over its own random source and the shared counters. */
class Run {
  readonly conns: BgpConn[] = [];
  /** A session of this run reached Established: tern's peer now waits errorWaitTime before it listens again. */
  reachedEstablished = false;

  constructor(
    readonly index: number,
    readonly peer: { readonly address: string; readonly asn: number },
    readonly rand: Rand,
    readonly opts: ChaosOptions,
    readonly report: ChaosReport,
    readonly updates: readonly Seed[],
    readonly donors: readonly UpdateParts[],
  ) {}

  outcome(kind: string): void {
    this.report.outcomes[kind] = (this.report.outcomes[kind] ?? 0) + 1;
  }

  finding(text: string): void {
    this.report.findingCount++;
    if (this.report.findings.length < 50) this.report.findings.push(`connection ${this.index}: ${text}`);
  }

  async open(address: string): Promise<BgpConn | undefined> {
    const t = this.opts.target;
    try {
      const c = await BgpConn.open(t.host, t.port, address);
      this.conns.push(c);
      return c;
    } catch (e) {
      this.outcome(`connect failed ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return undefined;
    }
  }

  finishHow(): Finish {
    return pick(this.rand, ['end', 'destroy', 'rst', 'rst'] as const);
  }

  /** Sends `bytes` whole or in random pieces (the Framer reassembles), with short pauses between. */
  async sendSplit(c: BgpConn, bytes: Uint8Array): Promise<void> {
    if (bytes.length < 2 || chance(this.rand, 0.6)) {
      c.send(bytes);
      return;
    }
    let at = 0;
    while (at < bytes.length) {
      const n = 1 + randInt(this.rand, Math.min(bytes.length - at, 64));
      c.send(bytes.subarray(at, at + n));
      at += n;
      if (chance(this.rand, 0.3)) await sleep(randInt(this.rand, 20));
    }
  }

  /** Reads what tern says for up to `ms`: records its NOTIFICATION or its close; true if it closed. */
  async listen(c: BgpConn, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const r = await c.next(left);
      if (r.kind === 'timeout') return false;
      if (r.kind === 'closed') {
        this.outcome(c.messages === 0 ? 'closed by tern without a word' : 'closed by tern');
        return true;
      }
      if (r.kind === 'undecodable') {
        this.finding(`tern sent what its own codec cannot decode: ${r.error} (hex ${r.hex.slice(0, 120)})`);
        return true;
      }
      if (r.msg.type === 'notification') this.outcome(`notification ${r.msg.code}/${r.msg.subcode}`);
    }
  }

  /** A valid OPEN for a chaos peer, with a random set of capabilities; `as4`: it offers 4-octet AS. */
  chaosOpen(asn: number): { bytes: Uint8Array; as4: boolean } {
    const r = this.rand;
    const caps: Capability[] = [];
    if (chance(r, 0.9)) caps.push({ kind: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST });
    if (chance(r, 0.6)) caps.push({ kind: 'multiprotocol', afi: Afi.IPV6, safi: Safi.UNICAST });
    if (chance(r, 0.7)) caps.push({ kind: 'route-refresh' });
    if (chance(r, 0.3)) caps.push({ kind: 'enhanced-route-refresh' });
    if (chance(r, 0.4)) caps.push({ kind: 'extended-message' });
    if (chance(r, 0.2)) {
      caps.push({
        kind: 'graceful-restart',
        restartFlags: 0,
        restartTime: 1 + randInt(r, 5),
        families: [{ afi: Afi.IPV4, safi: Safi.UNICAST, forwardingState: chance(r, 0.5) }],
      });
    }
    if (chance(r, 0.2)) {
      caps.push({
        kind: 'add-path',
        families: [{ afi: Afi.IPV4, safi: Safi.UNICAST, send: true, receive: chance(r, 0.5) }],
      });
    }
    const as4 = chance(r, 0.8);
    if (as4) caps.push({ kind: 'four-octet-as', as: asn });
    const id = `10.9.${(this.index >> 8) & 255}.${(this.index & 255) | 1}`;
    const holdTime = pick(r, [0, 3, 9, 30, 90]);
    return { bytes: encodeMessage(makeOpen({ as: asn, holdTime, bgpId: id, capabilities: caps })), as4 };
  }

  mutatedUpdate(): Uint8Array {
    const s = pick(this.rand, this.updates);
    return mutateMessage(this.rand, s.bytes, pick(this.rand, this.opts.seeds).bytes, this.donors, 4096).bytes;
  }

  /** Connects from `address`, does `act`, listens to tern for `listenMs`, and closes one way or another. */
  private async simple(
    address: string,
    listenMs: number,
    act: (c: BgpConn) => Promise<void> | void,
  ): Promise<void> {
    const c = await this.open(address);
    if (!c) return;
    await act(c);
    await this.listen(c, listenMs);
    c.finish(this.finishHow());
  }

  async run(scenario: Scenario): Promise<void> {
    const r = this.rand;
    const peer = this.peer;
    switch (scenario) {
      case 'garbage':
        return this.simple(peer.address, randInt(r, 300), (c) =>
          this.sendSplit(c, randomBytes(r, 1 + randInt(r, 300))),
        );
      case 'header-garbage':
        return this.simple(peer.address, randInt(r, 300), async (c) => {
          const n = 1 + randInt(r, 3);
          for (let i = 0; i < n; i++) {
            const type = chance(r, 0.85) ? 1 + randInt(r, 5) : randInt(r, 256);
            await this.sendSplit(c, message(type, randomBytes(r, randInt(r, 200))));
          }
        });
      case 'open-mutated':
      case 'open-truncated':
        return this.simple(peer.address, randInt(r, 500), async (c) => {
          const open = this.chaosOpen(peer.asn).bytes;
          const bytes =
            scenario === 'open-mutated'
              ? mutateMessage(r, open, pick(r, this.opts.seeds).bytes, this.donors, 4096).bytes
              : open.subarray(0, randInt(r, open.length));
          await this.sendSplit(c, bytes);
          if (chance(r, 0.5)) c.send(encodeMessage(KEEPALIVE));
        });
      case 'session-updates':
        return this.session(peer);
      case 'reset-early': {
        const c = await this.open(peer.address);
        if (!c) return;
        const open = this.chaosOpen(peer.asn).bytes;
        const cut = randInt(r, open.length + 1);
        if (cut > 0) c.send(open.subarray(0, cut));
        if (chance(r, 0.5)) await sleep(randInt(r, 50));
        c.finish(chance(r, 0.7) ? 'rst' : 'destroy');
        return;
      }
      case 'silent':
        return this.simple(peer.address, randInt(r, 1500), () => undefined);
      case 'partial-message':
        // a header that promises more than ever comes, then a close
        return this.simple(peer.address, randInt(r, 400), (c) => {
          const bytes = message(pick(r, [1, 2, 5]), randomBytes(r, randInt(r, 4077)));
          c.send(bytes.subarray(0, randInt(r, bytes.length)));
        });
      case 'open-then-notification':
        return this.simple(peer.address, randInt(r, 300), async (c) => {
          c.send(this.chaosOpen(peer.asn).bytes);
          await c.expect('open', 1000);
          const code = 1 + randInt(r, 6);
          c.send(
            encodeMessage({
              type: 'notification',
              code,
              subcode: randInt(r, 12),
              data: randomBytes(r, randInt(r, 8)),
            }),
          );
        });
      case 'update-before-open':
        return this.simple(peer.address, randInt(r, 400), (c) => c.send(pick(r, this.updates).bytes));
      case 'stranger': {
        const strangers = this.opts.target.strangers;
        if (strangers.length === 0) return;
        return this.simple(pick(r, strangers), 500, (c) => c.send(this.chaosOpen(65999).bytes));
      }
      case 'collision':
        return this.collision();
    }
  }

  /** A valid OPEN, the handshake, then UPDATEs (mostly mutated), with a close at a random point. */
  private async session(peer: { address: string; asn: number }): Promise<void> {
    const r = this.rand;
    const c = await this.open(peer.address);
    if (!c) return;
    const open = this.chaosOpen(peer.asn);
    c.ctx = makeContext({ as4: open.as4, extendedMessage: true });
    c.send(open.bytes);
    const theirs = await c.expect('open', 2000);
    if (theirs?.type !== 'open') {
      if (theirs?.type === 'notification') this.outcome(`notification ${theirs.code}/${theirs.subcode}`);
      else
        this.outcome(
          c.closed
            ? `closed by tern ${c.messages === 0 ? 'without a word' : 'before its OPEN'}`
            : 'no OPEN from tern',
        );
      c.finish('rst');
      return;
    }
    // a reset in the middle of the handshake, now and then
    if (chance(r, 0.1)) {
      c.finish(this.finishHow());
      return;
    }
    c.send(encodeMessage(KEEPALIVE));
    const ka = await c.expect('keepalive', 2000);
    if (ka?.type !== 'keepalive') {
      if (ka?.type === 'notification') this.outcome(`notification ${ka.code}/${ka.subcode}`);
      else this.outcome(c.closed ? 'closed by tern before its KEEPALIVE' : 'no KEEPALIVE from tern');
      c.finish('rst');
      return;
    }
    this.outcome('established');
    this.reachedEstablished = true;
    const ctx = makeContext({ as4: open.as4 });
    const n = 1 + randInt(r, 12);
    for (let i = 0; i < n && !c.closed; i++) {
      const k = r();
      let bytes: Uint8Array;
      if (k < 0.6) bytes = this.mutatedUpdate();
      else if (k < 0.75) {
        const prefix = `10.${200 + randInt(r, 50)}.${randInt(r, 256)}.0/24`;
        bytes = encodeMessage(
          announcement(peer.asn, `100.64.${randInt(r, 256)}.${1 + randInt(r, 254)}`, [prefix]),
          ctx,
        );
      } else if (k < 0.85) bytes = encodeMessage(KEEPALIVE);
      else if (k < 0.9)
        bytes = encodeMessage({ type: 'route-refresh', afi: 1, safi: 1, subtype: randInt(r, 3) });
      else if (k < 0.95)
        bytes = mutateMessage(
          r,
          pick(r, this.opts.seeds).bytes,
          pick(r, this.opts.seeds).bytes,
          this.donors,
          4096,
        ).bytes;
      else bytes = randomBytes(r, 1 + randInt(r, 100));
      await this.sendSplit(c, bytes);
      if (chance(r, 0.5)) await sleep(randInt(r, 30));
      // a reset right in the middle of the stream
      if (chance(r, 0.05)) {
        c.finish('rst');
        return;
      }
    }
    const closed = await this.listen(c, randInt(r, 300));
    if (closed) return;
    if (chance(r, 0.2)) {
      c.send(
        encodeMessage({
          type: 'notification',
          code: ErrorCode.CEASE,
          subcode: CeaseSubcode.ADMINISTRATIVE_RESET,
          data: new Uint8Array(0),
        }),
      );
      c.finish('end');
    } else c.finish(this.finishHow());
  }

  /**
   * A second connection from the good peer's address while its session is up: tern must send Cease
   * 6/7 and close it. Mostly it is then reset about 300 ms after it was opened.
   */
  private async collision(): Promise<void> {
    const r = this.rand;
    const good = this.opts.target.good;
    this.report.collisions.tried++;
    const t0 = Date.now();
    const c = await this.open(good.address);
    if (!c) return;
    const variant = r();
    if (variant < 0.15) {
      // an OPEN of its own, as a peer that restarted without graceful restart would send
      c.send(
        encodeMessage(
          makeOpen({
            as: good.asn,
            holdTime: 30,
            bgpId: good.bgpId,
            capabilities: goodCapabilities(good.asn),
          }),
        ),
      );
    } else if (variant < 0.25) {
      c.finish('rst');
      this.outcome('collision reset at once');
      return;
    }
    const n = await c.expect('notification', 3000);
    const cease =
      n?.type === 'notification' &&
      n.code === ErrorCode.CEASE &&
      n.subcode === CeaseSubcode.CONNECTION_COLLISION_RESOLUTION;
    if (!cease) {
      this.finding(
        `a second connection from ${good.address} got ${n ? `${n.type}${n.type === 'notification' ? ` ${n.code}/${n.subcode}` : ''}` : 'nothing (or a close)'} instead of Cease 6/7`,
      );
    }
    const wait = Math.max(0, 300 + randInt(r, 60) - 30 - (Date.now() - t0));
    await sleep(wait);
    const closedByTern = c.closed;
    c.finish('rst');
    if (cease && closedByTern) this.report.collisions.answered++;
    else if (cease) this.outcome('collision: Cease 6/7 but no close within ~300 ms');
    this.outcome(cease ? 'collision Cease 6/7' : 'collision not answered');
  }
}

/** Runs the chaos; resolves with the counts once every connection is over. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const updates = opts.seeds.filter((s) => s.bytes[18] === 2 && s.bytes.length <= 4096);
  if (updates.length === 0) throw new Error('no UPDATE among the seeds');
  const donors = updates.map((s) => splitUpdate(s.bytes)).filter((p) => p !== undefined);
  const report: ChaosReport = {
    connections: 0,
    elapsedMs: 0,
    scenarios: {},
    outcomes: {},
    collisions: { tried: 0, answered: 0 },
    findings: [],
    findingCount: 0,
    recent: [],
  };
  const t0 = performance.now();
  // after a session of a chaos peer was Established and ended, tern's peer is Idle for errorWaitTime
  // (1 s in the chaos config) and refuses connections: those addresses rest meanwhile
  // (1 s in the chaos config) and refuses connections: those addresses rest meanwhile. An address in
  // use by one connection is not given to another (tern would answer Cease 6/7 to an Established one)
  const restUntil = new Map<string, number>();
  const busy = new Set<string>();
  const chaos = opts.target.chaos;
  const pickPeer = async (i: number): Promise<(typeof chaos)[number]> => {
    for (;;) {
      const now = Date.now();
      for (let k = 0; k < chaos.length; k++) {
        const p = chaos[(i + k) % chaos.length]!;
        if (!busy.has(p.address) && (restUntil.get(p.address) ?? 0) <= now) {
          busy.add(p.address);
          return p;
        }
      }
      await sleep(20);
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < opts.connections && !(opts.shouldStop?.() ?? false)) {
      const i = next++;
      const rand = prng((opts.seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
      const scenario = pickScenario(rand);
      report.scenarios[scenario] = (report.scenarios[scenario] ?? 0) + 1;
      const peer = await pickPeer(i);
      const run = new Run(i, peer, rand, opts, report, updates, donors);
      report.recent.push(
        `${i} ${scenario} ${scenario === 'collision' ? opts.target.good.address : scenario === 'stranger' ? 'a stranger' : peer.address} at ${Math.round(performance.now() - t0)} ms`,
      );
      if (report.recent.length > 20) report.recent.shift();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        run.run(scenario),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            run.outcome('connection timed out (engine)');
            resolve();
          }, 10_000);
        }),
      ]);
      clearTimeout(timer);
      for (const c of run.conns) if (!c.socket.destroyed) c.finish('rst');
      // tern's KEEPALIVE means it took our OPEN: the session may have come up (a mutated OPEN that stayed valid)
      if (run.reachedEstablished || run.conns.some((c) => c.keepalives > 0)) {
        restUntil.set(peer.address, Date.now() + REST_MS);
      }
      busy.delete(peer.address);
      report.connections++;
      report.elapsedMs = performance.now() - t0;
      if (opts.progressEvery !== undefined && report.connections % opts.progressEvery === 0)
        await opts.onProgress?.(report);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  report.elapsedMs = performance.now() - t0;
  return report;
}

/** The counts as text. */
export function formatChaos(r: ChaosReport): string {
  const sorted = (o: Record<string, number>): string =>
    Object.entries(o)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
  return [
    `connections: ${r.connections} in ${(r.elapsedMs / 1000).toFixed(1)} s`,
    `scenarios: ${sorted(r.scenarios)}`,
    `outcomes: ${sorted(r.outcomes)}`,
    `collisions: ${r.collisions.tried} tried, ${r.collisions.answered} answered with Cease 6/7 and a close`,
    `findings: ${r.findingCount}${r.findings.length > 0 ? `\n  ${r.findings.join('\n  ')}` : ''}`,
  ].join('\n');
}
