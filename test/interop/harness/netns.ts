// Network namespaces, veth links and a bridge "LAN" for interop tests, and the owner of every
// namespace and process a test run starts: `teardown()` stops them all (SIGTERM, then SIGKILL after a
// bound) and deletes the namespaces. It runs from afterAll, and synchronously on process exit and on
// SIGINT/SIGTERM/SIGHUP, so a failed or interrupted test leaves nothing behind. Namespaces are named
// `tern-it-<pid>-<n>-<label>`; namespaces of that form whose PID is dead (a run that was SIGKILLed) are
// swept when the next harness starts. Nothing outside the namespaces the harness created is touched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CommandResult,
  ManagedProcess,
  type RunOptions,
  runCommand,
  type SpawnOptions,
} from './process.js';

export interface Netns {
  /** The real namespace name (`tern-it-<pid>-<n>-<label>`), for `ip netns exec`. */
  readonly name: string;
  /** What the test called it. */
  readonly label: string;
}

/** An address without prefix length, or with one (`10.77.1.1/24`, `fd77:1::1/64`). */
export type AddressSpec = string | { v4: string; v6?: string };

export interface LinkEnd {
  ns: Netns;
  ifname: string;
  /** Addresses without prefix length. */
  v4: string;
  v6: string;
  v4Prefix: number;
  v6Prefix: number;
}

export interface Link {
  a: LinkEnd;
  b: LinkEnd;
}

export interface LinkOptions {
  ifA?: string;
  ifB?: string;
  /**
   * Keep IPv6 link-local addresses on the link (default false). Without them BIRD sends only the
   * global IPv6 next hop; with them BIRD adds its link-local one, which FRR run without zebra rejects
   * ("sent a v6 LL next-hop and there's no peer interface information") and withdraws the route.
   */
  linkLocal?: boolean;
}

const NS_PREFIX = 'tern-it-';

/** 10.77.X.Y -> fd77:X::Y (the decimal digits read as hex digits: readable and one-to-one). */
export function deriveV6(v4: string): string {
  const m = /^10\.77\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  if (m === null)
    throw new Error(`cannot derive an IPv6 address from ${v4}: give {v4, v6} (only 10.77.x.y maps)`);
  return `fd77:${m[1]}::${m[2]}`;
}

function splitPrefix(addr: string, defaultLen: number): [string, number] {
  const i = addr.indexOf('/');
  return i < 0 ? [addr, defaultLen] : [addr.slice(0, i), Number(addr.slice(i + 1))];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function syncRun(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout : '';
}

function killPidsInNetnsSync(ns: string): void {
  for (const line of syncRun(['netns', 'pids', ns]).split('\n')) {
    const pid = Number(line.trim());
    if (pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Deletes `tern-it-<pid>-*` namespaces (and the processes in them) whose creating process is dead. */
export function sweepStaleNamespaces(): string[] {
  const swept: string[] = [];
  for (const line of syncRun(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^tern-it-(\d+)-/.exec(name);
    if (m === null || pidAlive(Number(m[1]))) continue;
    killPidsInNetnsSync(name);
    syncRun(['netns', 'del', name]);
    swept.push(name);
  }
  return swept;
}

export interface HarnessOptions {
  /** Label for the temp dir and messages (the test file's name). */
  label: string;
  /** Keep the temp dir (configs and logs) even when everything passed; also TERN_INTEROP_KEEP=1. */
  keepLogs?: boolean;
  /** SIGTERM -> SIGKILL bound per process on teardown (default 3 s). */
  stopGraceMs?: number;
}

interface Stoppable {
  readonly label: string;
  stop(): Promise<void>;
}

export class InteropHarness {
  /** Per-run temp dir: one subdirectory per daemon with its config, socket, PID file and logs. */
  readonly dir: string;
  readonly label: string;
  private readonly namespaces: Netns[] = [];
  private readonly processes: ManagedProcess[] = [];
  private readonly daemons: Stoppable[] = [];
  private readonly ifCount = new Map<string, number>();
  private nsCount = 0;
  private portCount = 0;
  private failed = false;
  private readonly failSnapshot = new Map<string, number>();
  /** No new namespaces or processes once teardown has begun. */
  private closing = false;
  private finished = false;
  private readonly keepLogs: boolean;
  private readonly stopGraceMs: number;
  private readonly onExit = (): void => this.teardownSync();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.failed = true;
    this.teardownSync();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  constructor(opts: HarnessOptions) {
    this.label = opts.label;
    this.keepLogs = opts.keepLogs === true || process.env['TERN_INTEROP_KEEP'] === '1';
    this.stopGraceMs = opts.stopGraceMs ?? 3000;
    const swept = sweepStaleNamespaces();
    if (swept.length > 0) process.stderr.write(`[interop] swept stale namespaces: ${swept.join(', ')}\n`);
    this.dir = mkdtempSync(join(tmpdir(), `tern-interop-${opts.label.replace(/[^\w.-]/g, '_')}-`));
    process.once('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, this.onSignal);
    // a test worker whose parent (the test runner) died: clean up now, nobody will run afterAll
    if (process.send !== undefined) process.once('disconnect', this.onExit);
  }

  /**
   * Records that a test failed: teardown then keeps the logs and prints their paths and the lines
   * written up to this moment (not the shutdown noise that teardown adds).
   */
  markFailed(): void {
    if (this.failed) return;
    this.failed = true;
    for (const f of this.logFiles()) this.failSnapshot.set(f, statSync(f).size);
  }

  /** A fresh directory for one daemon, under `dir`. */
  daemonDir(name: string): string {
    const d = join(this.dir, name);
    if (existsSync(d)) throw new Error(`daemon name ${name} used twice in this harness`);
    mkdirSync(d, { recursive: true, mode: 0o755 });
    return d;
  }

  /** A TCP port for a daemon's loopback API, unique within this run (50100, 50101, ...). */
  allocatePort(): number {
    return 50100 + this.portCount++;
  }

  async createNetns(label: string): Promise<Netns> {
    this.assertLive();
    if (!/^[\w.-]{1,40}$/.test(label)) throw new Error(`bad netns label ${JSON.stringify(label)}`);
    const name = `${NS_PREFIX}${process.pid}-${++this.nsCount}-${label}`;
    await runCommand(undefined, 'ip', ['netns', 'add', name]);
    const ns: Netns = { name, label };
    this.namespaces.push(ns);
    await this.ip(ns, ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * A veth pair between two namespaces, IPv4 /24 and IPv6 /64 on both ends (IPv6 derived from
   * 10.77.x.y as fd77:x::y unless given), both ends up, IPv6 without DAD and without link-local
   * addresses unless `linkLocal`.
   */
  async link(
    nsA: Netns,
    addrA: AddressSpec,
    nsB: Netns,
    addrB: AddressSpec,
    opts: LinkOptions = {},
  ): Promise<Link> {
    this.assertLive();
    const ifA = opts.ifA ?? this.nextIfname(nsA);
    const ifB = opts.ifB ?? this.nextIfname(nsB);
    await runCommand(undefined, 'ip', [
      'link',
      'add',
      ifA,
      'netns',
      nsA.name,
      'type',
      'veth',
      'peer',
      'name',
      ifB,
      'netns',
      nsB.name,
    ]);
    const a = await this.configureEnd(nsA, ifA, addrA, opts.linkLocal === true);
    const b = await this.configureEnd(nsB, ifB, addrB, opts.linkLocal === true);
    return { a, b };
  }

  /**
   * One L2 segment: a bridge in its own namespace (`<label>`), a veth from each member to it. Every
   * member is directly connected to every other, like nodes on one subnet.
   */
  async lan(label: string, members: { ns: Netns; addr: AddressSpec; ifname?: string }[]): Promise<LinkEnd[]> {
    const sw = await this.createNetns(label);
    await this.ip(sw, ['link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    await this.ip(sw, ['link', 'set', 'br0', 'up']);
    const ends: LinkEnd[] = [];
    for (const [i, m] of members.entries()) {
      const ifname = m.ifname ?? this.nextIfname(m.ns);
      const port = `p${i}`;
      await runCommand(undefined, 'ip', [
        'link',
        'add',
        ifname,
        'netns',
        m.ns.name,
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        sw.name,
      ]);
      await this.ip(sw, ['link', 'set', port, 'master', 'br0']);
      await this.ip(sw, ['link', 'set', port, 'up']);
      ends.push(await this.configureEnd(m.ns, ifname, m.addr, false));
    }
    return ends;
  }

  /** `ip -n <ns> ...` */
  ip(ns: Netns, args: string[]): Promise<CommandResult> {
    return runCommand(undefined, 'ip', ['-n', ns.name, ...args]);
  }

  /** Runs a short command inside `ns` (bounded, see runCommand). */
  exec(ns: Netns, cmd: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    return runCommand(ns.name, cmd, args, opts);
  }

  /**
   * Starts a long-lived process inside `ns`, owned by this harness (stopped on teardown). Run it in
   * the foreground and as one process (`node dist/cli/main.js`, not `npx tsx`, whose extra parent
   * would receive the signals). Logs go to `<logDir ?? dir>/<name>.stdout.log` and `.stderr.log`.
   */
  spawn(
    ns: Netns,
    cmd: string,
    args: readonly string[],
    opts: Omit<SpawnOptions, 'logDir'> & { logDir?: string },
  ): ManagedProcess {
    this.assertLive();
    const p = new ManagedProcess(ns.name, cmd, args, { ...opts, logDir: opts.logDir ?? this.dir });
    this.processes.push(p);
    return p;
  }

  /** Registers a daemon wrapper so teardown stops it through its own stop() first. */
  adopt(daemon: Stoppable): void {
    this.daemons.push(daemon);
  }

  /** Stops every daemon and process, deletes every namespace, keeps or removes the logs. Idempotent. */
  async teardown(): Promise<void> {
    if (this.finished) return;
    this.closing = true;
    const problems: string[] = [];
    await Promise.all(
      this.daemons.map((d) =>
        d.stop().catch((e: unknown) => {
          problems.push(`${d.label}: ${e instanceof Error ? e.message : String(e)}`);
        }),
      ),
    );
    await Promise.all(
      this.processes.map((p) =>
        p.stop(this.stopGraceMs).catch((e: unknown) => {
          problems.push(e instanceof Error ? e.message : String(e));
        }),
      ),
    );
    this.deleteNamespacesSync();
    this.finish();
    if (problems.length > 0) throw new Error(`interop teardown: ${problems.join('; ')}`);
  }

  /**
   * For exit/signal/disconnect handlers: SIGKILL every process, delete the namespaces, keep the logs.
   * Also completes an async teardown that was interrupted half-way.
   */
  teardownSync(): void {
    if (this.finished) return;
    this.closing = true;
    this.failed = true;
    for (const p of this.processes) p.killNow();
    this.deleteNamespacesSync();
    this.finish();
  }

  /** Namespaces this harness created and has not deleted yet. */
  get netnsNames(): string[] {
    return this.namespaces.map((n) => n.name);
  }

  private deleteNamespacesSync(): void {
    while (this.namespaces.length > 0) {
      const ns = this.namespaces[0] as Netns;
      killPidsInNetnsSync(ns.name);
      syncRun(['netns', 'del', ns.name]);
      this.namespaces.shift();
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.detach();
    this.finishLogs();
  }

  /** Every log file written so far. */
  logFiles(): string[] {
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.log')) out.push(p);
      }
    };
    if (existsSync(this.dir)) walk(this.dir);
    return out.sort();
  }

  private finishLogs(): void {
    if (!this.failed && !this.keepLogs) {
      rmSync(this.dir, { recursive: true, force: true });
      return;
    }
    const lines = [`[interop] ${this.label}: configs and logs kept in ${this.dir}`];
    if (this.failed) {
      for (const f of this.logFiles()) {
        const text = readFileSync(f).subarray(0, this.failSnapshot.get(f)).toString('utf8').trimEnd();
        if (text.length === 0) continue;
        const tail = text.split('\n').slice(-20);
        lines.push(`---- ${f} (last ${tail.length} lines)`, ...tail.map((l) => `  ${l}`));
      }
    }
    process.stderr.write(`${lines.join('\n')}\n`);
  }

  private detach(): void {
    process.removeListener('exit', this.onExit);
    process.removeListener('disconnect', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, this.onSignal);
  }

  private assertLive(): void {
    if (this.closing) throw new Error(`interop harness ${this.label} is torn down`);
  }

  private nextIfname(ns: Netns): string {
    const n = this.ifCount.get(ns.name) ?? 0;
    this.ifCount.set(ns.name, n + 1);
    return `eth${n}`;
  }

  private async configureEnd(
    ns: Netns,
    ifname: string,
    spec: AddressSpec,
    linkLocal: boolean,
  ): Promise<LinkEnd> {
    const [v4, v4Prefix] = splitPrefix(typeof spec === 'string' ? spec : spec.v4, 24);
    const [v6, v6Prefix] = splitPrefix(
      typeof spec === 'string' || spec.v6 === undefined ? deriveV6(v4) : spec.v6,
      64,
    );
    if (!linkLocal) await this.ip(ns, ['link', 'set', ifname, 'addrgenmode', 'none']);
    await this.ip(ns, ['addr', 'add', `${v4}/${v4Prefix}`, 'dev', ifname]);
    await this.ip(ns, ['addr', 'add', `${v6}/${v6Prefix}`, 'dev', ifname, 'nodad']);
    await this.ip(ns, ['link', 'set', ifname, 'up']);
    return { ns, ifname, v4, v6, v4Prefix, v6Prefix };
  }
}
