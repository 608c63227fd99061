// Follows one kernel routing table (IPv4 and IPv6) into a RouteTable: a full read at start
// (`ip -N -json route show table T`, both families), then every change from a long-lived
// `ip -N monitor label route link address` child, applied as it arrives and published to listeners.
//
// A full read again ("resync": read, diff against the copy, publish the differences) whenever the copy
// may be wrong:
//   - the monitor child died (it is started again, with backoff), or printed something the parser does not understand, or an IPv6 delete that does not fit the copy;
//   - the monitor wrote to stderr (netlink overruns are reported there: "netlink receive error ... No
//     buffer space available"): once it has been quiet for `overrunQuietMs` (at most `overrunMaxWaitMs`
//     later). The kernel reports ENOBUFS once per congestion (until the socket's queue empties), so
//     messages dropped after the report, while the burst goes on, are lost without a word: a read at
//     once could come before them, and would slow the draining of the monitor further;
//   - a link went down or away, or an IPv4 address was removed, on a device that IPv4 routes use: the
//     kernel then flushes those IPv4 routes without telling anyone (no RTM_DELROUTE);
//   - once more `confirmDelayMs` after each start of the monitor, for changes made while the child was
//     still subscribing (nothing tells when its netlink socket is bound);
//   - every `scanIntervalMs` (BIRD's `scan time`), as a safety net only.
// A writer with a large batch to carry out may `pause()` the following (the monitor child is stopped,
// not treated as a crash; no read is done meanwhile) and `resume()` it: a new monitor child, then a full
// read whose differences are published as every resync's are. While paused the copy is stale.
// Events that arrive while a full read is under way are held and applied after it, in order: a route
// message sets the state of its route, so replaying one that the read already saw changes nothing.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type Logger, silentLogger } from '../log.js';
import { type IpOptions, ipArgv, readRoutes } from './ip.js';
import { type MonitorEvent, MonitorParser } from './parse.js';
import { MAIN_TABLE } from './route.js';
import { type RouteChange, RouteTable } from './table.js';

export interface FollowerOptions extends IpOptions {
  /** Kernel table number; default 254 (main). */
  readonly table?: number;
  /** A full read every this many ms as a safety net (BIRD's `scan time`); 0: never. Default 30,000. */
  readonly scanIntervalMs?: number;
  /** The second full read after each start of the monitor. Default 1,000 ms. */
  readonly confirmDelayMs?: number;
  /** Delay before the full read that a link-down or a suspicious message asks for. Default 10 ms. */
  readonly resyncDelayMs?: number;
  /** After an overrun, a full read once the monitor has printed nothing for this long. Default 200 ms. */
  readonly overrunQuietMs?: number;
  /** ...or this long after the overrun if the monitor is never quiet that long. Default 5,000 ms. */
  readonly overrunMaxWaitMs?: number;
  /** The monitor's netlink receive buffer, bytes (`ip -rcvbuf`; capped by net.core.rmem_max). Default 8 MiB. */
  readonly monitorRcvbuf?: number;
  /** resume(): how long to wait for the new monitor's subscription before reading. Default 500 ms. */
  readonly subscribeWaitMs?: number;
  readonly log?: Logger;
}

/** `event`: from an `ip monitor` message; `resync`: the difference a full read found. */
export type ChangeCause = 'event' | 'resync';
export type RouteListener = (changes: readonly RouteChange[], cause: ChangeCause) => void;

export interface FollowerStats {
  /** Monitor messages handled. */
  events: number;
  /** Full reads done (the first one included). */
  resyncs: number;
  /** Times the monitor child was started (1 + restarts). */
  monitorStarts: number;
  lastResyncReason: string;
  /** Times following was paused (`pause()`, a bulk write). */
  pauses: number;
}

const MAX_BACKOFF_MS = 5000;

/** util-linux's setpriv, where the machine has it (Debian's util-linux is essential: always). */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export class KernelRouteFollower {
  readonly table: RouteTable;
  readonly stats: FollowerStats = {
    events: 0,
    resyncs: 0,
    monitorStarts: 0,
    lastResyncReason: '',
    pauses: 0,
  };
  private readonly log: Logger;
  private readonly listeners = new Set<RouteListener>();
  private readonly parser = new MonitorParser();
  private readonly scanIntervalMs: number;
  private readonly confirmDelayMs: number;
  private readonly resyncDelayMs: number;
  private monitor: ChildProcess | undefined;
  private monitorStartedAt = 0;
  private monitorBackoffMs = 100;
  private resyncBackoffMs = 100;
  private started = false;
  /** Set by stop(); a follower is started once. */
  private stopped = false;
  private isReady = false;
  /** Set by pause(): no monitor child, no reads asked for, until resume(). */
  private paused = false;
  private readyWaiters: (() => void)[] = [];
  /** Events held while a full read is under way (and before the first one is done). */
  private held: MonitorEvent[] | undefined = [];
  private running: Promise<boolean> | undefined;
  private queuedReason: string | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private resyncDue = Number.POSITIVE_INFINITY;
  private pendingReason = '';
  private confirmTimer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly overrunQuietMs: number;
  /** Set by an overrun (anything on the monitor's stderr): a read is due once the monitor is quiet. */
  private quietTimer: NodeJS.Timeout | undefined;
  private overrunAt = 0;
  private overrunReason = '';
  private readonly overrunMaxWaitMs: number;
  private readonly monitorRcvbuf: number;
  private readonly subscribeWaitMs: number;
  private lastDataAt = 0;
  /**
   * Kills the monitor child when this process exits without stop() (process.exit, the end of a test
   * worker): nothing else would, and an idle `ip monitor` that never writes never meets its closed pipe.
   */
  private readonly killOnExit = (): void => {
    this.monitor?.kill('SIGKILL');
  };

  constructor(private readonly opts: FollowerOptions = {}) {
    this.table = new RouteTable(opts.table ?? MAIN_TABLE);
    this.log = opts.log ?? silentLogger();
    this.scanIntervalMs = opts.scanIntervalMs ?? 30_000;
    this.confirmDelayMs = opts.confirmDelayMs ?? 1000;
    this.resyncDelayMs = opts.resyncDelayMs ?? 10;
    this.overrunQuietMs = opts.overrunQuietMs ?? 200;
    this.overrunMaxWaitMs = opts.overrunMaxWaitMs ?? 5000;
    this.monitorRcvbuf = opts.monitorRcvbuf ?? 8 * 1024 * 1024;
    this.subscribeWaitMs = opts.subscribeWaitMs ?? 500;
  }

  /** True once the first full read is in the copy. */
  get ready(): boolean {
    return this.isReady;
  }

  /** The monitor child's pid (tests kill it to check the recovery). */
  get monitorPid(): number | undefined {
    return this.monitor?.pid;
  }

  /** Calls `listener` with every batch of changes, in order; returns the function that unsubscribes. */
  onChange(listener: RouteListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts the monitor, then reads both tables; resolves once the copy holds them (a failed read is
   * logged and tried again with backoff until it succeeds or `stop()` is called).
   */
  async start(): Promise<void> {
    if (this.started) return this.whenReady();
    this.started = true;
    process.on('exit', this.killOnExit);
    this.spawnMonitor();
    if (this.scanIntervalMs > 0) {
      this.scanTimer = setInterval(() => this.requestResync('scan', 0), this.scanIntervalMs);
      this.scanTimer.unref();
    }
    this.requestResync('start', 0);
    this.scheduleConfirm();
    return this.whenReady();
  }

  /** Resolves when the first full read is in the copy, waiting for start() if need be (at once after stop()). */
  whenReady(): Promise<void> {
    if (this.isReady || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Stops the monitor child and every timer; the copy stays as it was. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.off('exit', this.killOnExit);
    if (!this.started) {
      for (const w of this.readyWaiters.splice(0)) w();
      return;
    }
    for (const t of [this.resyncTimer, this.confirmTimer, this.restartTimer, this.quietTimer]) {
      if (t) clearTimeout(t);
    }
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.resyncTimer = this.confirmTimer = this.restartTimer = this.scanTimer = this.quietTimer = undefined;
    this.resyncDue = Number.POSITIVE_INFINITY;
    for (const w of this.readyWaiters.splice(0)) w();
    const child = this.monitor;
    this.monitor = undefined;
    if (child !== undefined) await stopChild(child);
    await this.running;
  }

  /** True between pause() and resume(): the copy is not followed (stale). */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Stops following for a while (a bulk write, whose messages the monitor could not follow at the
   * kernel's rate and whose delivery to it slows the kernel): the monitor child is stopped without
   * counting as a crash, and no read is done (timers that ask for one are dropped; resume() reads).
   * Resolves once the child is gone. The copy is stale until resume(); a read under way finishes.
   */
  async pause(): Promise<void> {
    if (!this.started || this.stopped || this.paused || !this.isReady) return;
    this.paused = true;
    this.stats.pauses++;
    for (const t of [this.resyncTimer, this.confirmTimer, this.restartTimer, this.quietTimer]) {
      if (t) clearTimeout(t);
    }
    this.resyncTimer = this.confirmTimer = this.restartTimer = this.quietTimer = undefined;
    this.resyncDue = Number.POSITIVE_INFINITY;
    const child = this.monitor;
    this.monitor = undefined; // its exit is not a crash: monitorGone() ignores a child not current
    this.log.debug({}, 'following the kernel table paused');
    if (child !== undefined) await stopChild(child);
  }

  /**
   * Follows again after pause(): a new monitor child first, then a full read (its differences published
   * as a resync's, so listeners hear what changed meanwhile). The read starts once the child's netlink
   * socket is subscribed (seen in /proc/<pid>/net/netlink), so nothing falls between the two; when that
   * cannot be seen within `subscribeWaitMs`, the confirming read after the monitor's start follows, as on
   * every start. Resolves with the read's success (a failed one is tried again as always).
   */
  async resume(reason = 'resume after pause'): Promise<boolean> {
    if (!this.paused) return true;
    this.paused = false;
    if (this.stopped) return false;
    this.spawnMonitor();
    const child = this.monitor;
    const subscribed = child !== undefined && (await this.monitorSubscribed(child));
    if (!subscribed) this.scheduleConfirm();
    this.log.debug({ subscribed }, 'following the kernel table again');
    if (this.stopped) return false;
    return this.resync(reason);
  }

  /** Waits (polling every 2 ms, at most `subscribeWaitMs`) until `child`'s netlink socket is subscribed. */
  private async monitorSubscribed(child: ChildProcess): Promise<boolean> {
    const pid = child.pid;
    if (pid === undefined) return false;
    const deadline = Date.now() + this.subscribeWaitMs;
    for (;;) {
      if (this.monitor !== child || this.stopped) return false;
      let text: string;
      try {
        text = await readFile(`/proc/${pid}/net/netlink`, 'utf8');
      } catch {
        return false;
      }
      if (netlinkSubscribed(text, pid)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** A full read now (or right after the one under way); true when it succeeded. */
  resync(reason: string): Promise<boolean> {
    if (this.running !== undefined) {
      this.queuedReason = reason;
      return this.running.then(() => this.running ?? Promise.resolve(true));
    }
    const run = this.runResync(reason);
    this.running = run;
    return run;
  }

  /** Asks for a full read `delayMs` from now, merged with any other request due earlier. */
  requestResync(reason: string, delayMs = this.resyncDelayMs): void {
    // while paused: resume() reads anyway
    if (!this.started || this.stopped || this.paused) return;
    const due = Date.now() + delayMs;
    if (due >= this.resyncDue) return;
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncDue = due;
    this.pendingReason = reason;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.resyncDue = Number.POSITIVE_INFINITY;
      void this.resync(this.pendingReason);
    }, delayMs);
  }

  private async runResync(reason: string): Promise<boolean> {
    this.held ??= [];
    let ok = false;
    try {
      const [v4, v6] = await Promise.all([
        readRoutes(this.opts, 'ipv4-unicast', this.table.table),
        readRoutes(this.opts, 'ipv6-unicast', this.table.table),
      ]);
      if (this.stopped) return false;
      for (const p of [...v4.problems, ...v6.problems])
        this.log.warn({ problem: p }, 'kernel route not understood');
      const changes = [
        ...this.table.replaceFamily('ipv4-unicast', v4.routes),
        ...this.table.replaceFamily('ipv6-unicast', v6.routes),
      ];
      changes.push(...this.applyEvents(this.takeHeld(), true));
      this.stats.resyncs++;
      this.stats.lastResyncReason = reason;
      this.resyncBackoffMs = 100;
      this.log.debug({ reason, changes: changes.length, routes: this.table.size }, 'kernel table read');
      const first = !this.isReady;
      this.isReady = true;
      if (changes.length > 0 || first) this.emit(changes, 'resync');
      if (first) for (const w of this.readyWaiters.splice(0)) w();
      ok = true;
    } catch (err) {
      if (this.stopped) return false;
      const message = err instanceof Error ? err.message : String(err);
      this.log.error({ err: message, reason }, 'reading the kernel routing table failed; trying again');
      // the held events still describe real changes: apply them (the next read corrects the rest);
      // before the first read is in they stay held for it
      if (this.isReady) {
        const changes = this.applyEvents(this.takeHeld(), true);
        if (changes.length > 0) this.emit(changes, 'event');
      }
      this.requestResync(`retry after failure (${reason})`, this.resyncBackoffMs);
      this.resyncBackoffMs = Math.min(this.resyncBackoffMs * 2, MAX_BACKOFF_MS);
    } finally {
      this.running = undefined;
      const queued = this.queuedReason;
      this.queuedReason = undefined;
      if (queued !== undefined && !this.stopped) this.running = this.runResync(queued);
    }
    return ok;
  }

  /** The held events, and no more holding. */
  private takeHeld(): MonitorEvent[] {
    const h = this.held ?? [];
    this.held = undefined;
    return h;
  }

  private spawnMonitor(): void {
    // a larger netlink receive buffer than iproute2's 1 MiB (the kernel caps it at net.core.rmem_max):
    // room for the messages of a burst while this thread is busy, instead of dropping them (ENOBUFS)
    const args = ipArgv(this.opts, [
      '-rcvbuf',
      String(this.monitorRcvbuf),
      '-N',
      'monitor',
      'label',
      'route',
      'link',
      'address',
    ]);
    const ip = this.opts.ipPath ?? 'ip';
    // with util-linux's setpriv, the kernel kills the monitor when tern dies, also by SIGKILL (an idle
    // `ip monitor` never writes, so it would never meet its closed pipe); setpriv execs ip: same pid
    const child = SETPRIV
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', ip, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(ip, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.monitor = child;
    this.monitorStartedAt = Date.now();
    this.stats.monitorStarts++;
    this.parser.reset();
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (this.monitor === child) this.onMonitorData(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (this.monitor !== child) return;
      this.log.warn(
        { stderr: chunk.trim() },
        'ip monitor reported a problem; reading the table again once it is quiet',
      );
      this.afterOverrun(`ip monitor: ${chunk.trim()}`);
    });
    child.on('error', (err) => this.monitorGone(child, err.message));
    child.on('close', (code, signal) => this.monitorGone(child, `exit ${signal ?? code}`));
  }

  private monitorGone(child: ChildProcess, why: string): void {
    if (this.monitor !== child) return;
    this.monitor = undefined;
    if (this.stopped) return;
    const lived = Date.now() - this.monitorStartedAt;
    this.monitorBackoffMs = lived > 10_000 ? 100 : Math.min(this.monitorBackoffMs * 2, MAX_BACKOFF_MS);
    const delay = lived > 10_000 ? 0 : this.monitorBackoffMs;
    this.log.warn({ why, restartInMs: delay }, 'ip monitor ended; starting it again and reading the table');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped || this.paused) return;
      this.spawnMonitor();
      this.requestResync(`monitor restarted (${why})`, 0);
      this.scheduleConfirm();
    }, delay);
  }

  /** The read that catches what changed while the new monitor was subscribing. */
  private scheduleConfirm(): void {
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      this.requestResync('confirm after monitor start', 0);
    }, this.confirmDelayMs);
    this.confirmTimer.unref();
  }

  /**
   * An overrun (anything on the monitor's stderr): messages may go on being dropped, unreported, while
   * the burst lasts, so a read during it would be wrong again at once, and its cost (parsing the whole
   * table on the thread that should be draining the monitor) makes the overrun worse. The table is read
   * once the monitor has been quiet for `overrunQuietMs`, or `overrunMaxWaitMs` after the first
   * unanswered overrun if it never is; every overrun after that read asks for another.
   */
  private afterOverrun(reason: string): void {
    this.overrunReason = reason;
    this.overrunAt = Date.now();
    if (this.quietTimer !== undefined || this.stopped || this.paused) return;
    const first = this.overrunAt;
    const check = (): void => {
      this.quietTimer = undefined;
      if (this.stopped) return;
      const now = Date.now();
      const quietFor = now - Math.max(this.lastDataAt, this.overrunAt);
      if (quietFor < this.overrunQuietMs && now - first < this.overrunMaxWaitMs) {
        this.quietTimer = setTimeout(check, this.overrunQuietMs - quietFor);
        this.quietTimer.unref();
        return;
      }
      this.requestResync(`${this.overrunReason} (read once the monitor was quiet)`, 0);
    };
    this.quietTimer = setTimeout(check, this.overrunQuietMs);
    this.quietTimer.unref();
  }

  private onMonitorData(chunk: string): void {
    this.lastDataAt = Date.now();
    const events = this.parser.push(chunk);
    if (!this.parser.midLine) events.push(...this.parser.flush());
    if (events.length === 0) return;
    if (this.held !== undefined) {
      this.held.push(...events);
      return;
    }
    const changes = this.applyEvents(events, false);
    if (changes.length > 0) this.emit(changes, 'event');
  }

  /** Applies monitor events to the copy; asks for a full read where an event calls for one. */
  private applyEvents(events: readonly MonitorEvent[], replay: boolean): RouteChange[] {
    const changes: RouteChange[] = [];
    for (const e of events) {
      this.stats.events++;
      switch (e.kind) {
        case 'route': {
          const r = this.table.applyEvent(e.deleted, e.route);
          changes.push(...r.changes);
          if (r.doubt !== undefined && !replay) this.requestResync(r.doubt);
          break;
        }
        case 'link':
          // IPv4 routes through a device that goes down or away are flushed without a message
          if ((e.deleted || !e.up) && this.table.hasRoutesVia(e.name, 'ipv4-unicast')) {
            this.requestResync(`link ${e.name} ${e.deleted ? 'deleted' : 'down'}`);
          }
          break;
        case 'address':
          if (e.deleted && e.family === 'ipv4-unicast' && this.table.hasRoutesVia(e.dev, 'ipv4-unicast')) {
            this.requestResync(`IPv4 address removed from ${e.dev}`);
          }
          break;
        case 'ignored':
          break;
        case 'unparsed':
          this.log.warn({ text: e.text.slice(0, 300), reason: e.reason }, 'ip monitor output not understood');
          this.requestResync(`monitor output not understood: ${e.reason}`);
          break;
      }
    }
    return changes;
  }

  private emit(changes: readonly RouteChange[], cause: ChangeCause): void {
    for (const l of [...this.listeners]) {
      try {
        l(changes, cause);
      } catch (err) {
        this.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'kernel route listener failed',
        );
      }
    }
  }
}

/**
 * Whether `/proc/<pid>/net/netlink` (columns: sk Eth Pid Groups ...) shows a NETLINK_ROUTE socket of port
 * `pid` subscribed to some multicast group: `ip monitor`'s socket, bound (the first netlink socket of a
 * process takes its pid as port id; when that is taken the port differs and this says false).
 */
export function netlinkSubscribed(text: string, pid: number): boolean {
  const port = String(pid);
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[1] !== '0' || f[2] !== port) continue;
    const groups = Number.parseInt(f[3] ?? '', 16);
    if (Number.isFinite(groups) && groups !== 0) return true;
  }
  return false;
}

/** SIGTERM, then SIGKILL after 2 s; resolves when the child is gone. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('close', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
