// The chaos setup that test/chaos and bench/soak.ts share: a tern daemon with one well-behaved peer
// (127.3.0.1, AS 4200000001, three routes with next hops in 100.64.0.0/10) and passive chaos peers at
// 127.3.0.2 .. 127.3.0.<n+1>; `check()` gathers what the end of a run must show: the daemon alive and
// answering, the good session Established since the same moment with its routes, no problem seen by the
// good peer, and no crash output or stack trace on the daemon's stderr.

import type { ChaosTarget } from './chaos.js';
import { chaosConfigYaml, freePort, type StderrReport, TernDaemonProcess, until } from './chaos-daemon.js';
import { GoodPeer } from './chaos-peer.js';

export const GOOD = { name: 'good', address: '127.3.0.1', asn: 4200000001, bgpId: '10.255.0.2' } as const;
export const GOOD_ROUTES = ['10.77.1.0/24', '10.77.2.0/24', '10.77.3.0/26'] as const;
export const GOOD_NEXT_HOP = '100.64.0.1';

interface Protocol {
  readonly name: string;
  readonly state: string;
  readonly since: string;
  readonly prefixesReceived: number;
}

interface Route {
  readonly peer: string;
  readonly prefix: string;
  readonly nextHop: string;
}

export interface RigCheck {
  readonly alive: boolean;
  /** How the daemon ended, when it did. */
  readonly exit: string | undefined;
  readonly statusAnswers: boolean;
  readonly status: unknown;
  /** The good peer's `show protocols` entry now (undefined: not listed or no answer). */
  readonly good: Protocol | undefined;
  readonly sinceUnchanged: boolean;
  readonly routes: readonly Route[];
  readonly routesPresent: boolean;
  readonly goodProblems: readonly string[];
  readonly stderr: StderrReport;
  readonly peakRssKb: number | undefined;
  readonly rssKb: number | undefined;
}

export class ChaosRig {
  readonly daemon: TernDaemonProcess;
  target: ChaosTarget | undefined;
  goodPeer: GoodPeer | undefined;
  /** The good peer's protocol entry once Established, before any chaos. */
  before: Protocol | undefined;
  /** VmRSS once the good session is up. */
  startRssKb: number | undefined;

  constructor(
    readonly root: string,
    readonly chaosPeers = 19,
    readonly logLevel = 'info',
  ) {
    this.daemon = new TernDaemonProcess(root);
  }

  async start(): Promise<ChaosTarget> {
    const port = await freePort('127.0.0.1');
    const chaos = Array.from({ length: this.chaosPeers }, (_, i) => ({
      name: `chaos_${i + 2}`,
      address: `127.3.${(i + 2) >> 8}.${(i + 2) & 255}`,
      asn: 65000 + i + 2,
    }));
    await this.daemon.start(
      chaosConfigYaml({ port, socket: this.daemon.socket, peers: [GOOD, ...chaos], logLevel: this.logLevel }),
    );
    this.goodPeer = new GoodPeer({
      host: '127.0.0.1',
      port,
      localAddress: GOOD.address,
      asn: GOOD.asn,
      bgpId: GOOD.bgpId,
      holdTime: 30,
      routes: GOOD_ROUTES,
      nextHop: GOOD_NEXT_HOP,
      keepaliveMs: 5000,
    });
    await this.goodPeer.start();
    this.before = await until(
      'tern to show the good peer Established with its routes',
      async () => {
        const g = await this.goodProtocol();
        return g?.state === 'Established' && g.prefixesReceived === GOOD_ROUTES.length ? g : undefined;
      },
      20_000,
    );
    this.startRssKb = this.daemon.memoryKb('VmRSS');
    this.target = {
      host: '127.0.0.1',
      port,
      good: GOOD,
      chaos,
      // no peer is configured here: tern must refuse them
      strangers: ['127.3.200.1', '127.3.200.2', '127.3.200.3'],
    };
    return this.target;
  }

  async goodProtocol(): Promise<Protocol | undefined> {
    const list = (await this.daemon.show('protocols')) as Protocol[];
    return list.find((p) => p.name === GOOD.name);
  }

  /** A quick look during a run: the daemon alive and the good session untouched. */
  async healthy(): Promise<boolean> {
    if (!this.daemon.alive) return false;
    try {
      const g = await this.goodProtocol();
      return (
        g?.state === 'Established' && g.since === this.before?.since && this.goodPeer?.problems.length === 0
      );
    } catch {
      return false;
    }
  }

  async check(): Promise<RigCheck> {
    const alive = this.daemon.alive;
    let status: unknown;
    let statusAnswers = false;
    let good: Protocol | undefined;
    let routes: Route[] = [];
    if (alive) {
      try {
        status = await this.daemon.show('status');
        statusAnswers = true;
      } catch (e) {
        status = String(e);
      }
      try {
        good = await this.goodProtocol();
        routes = (await this.daemon.show('routes', ['--peer', GOOD.name])) as Route[];
      } catch {
        // reported as missing
      }
    }
    const peakRssKb = this.daemon.memoryKb('VmHWM');
    const rssKb = this.daemon.memoryKb('VmRSS');
    const present = new Set(routes.filter((r) => r.nextHop === GOOD_NEXT_HOP).map((r) => r.prefix));
    return {
      alive,
      exit: alive ? undefined : await this.daemon.exited,
      statusAnswers,
      status,
      good,
      sinceUnchanged: good !== undefined && good.since === this.before?.since,
      routes,
      routesPresent: GOOD_ROUTES.every((p) => present.has(p)),
      goodProblems: [...(this.goodPeer?.problems ?? [])],
      stderr: this.daemon.stderr(),
      peakRssKb,
      rssKb,
    };
  }

  /** Ends the good session and the daemon (by its PID), and removes the temp dir. */
  async stop(keep = false): Promise<void> {
    this.goodPeer?.stop();
    await this.daemon.stop(5000, keep);
  }
}
