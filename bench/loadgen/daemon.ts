// A real `tern run` as a child process, for load tests and benchmarks: its config written from a plan,
// started (through tsx from the sources, or compiled: .bench-build/ or dist/), asked over its control
// socket, measured from /proc, and stopped by PID (SIGTERM, then SIGKILL).

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { controlCall } from '../../src/control/client.js';
import { projectRoot } from '../../test/helpers/root.js';
import { nodeCommand } from './index.js';
import type { Plan } from './plan.js';

export interface DaemonConfigOptions {
  readonly routerId: string;
  readonly asn: number;
  readonly listen: { readonly address: string; readonly port: number };
  readonly holdTime: number;
  readonly socket: string;
  /** Every client of the plan becomes a passive peer; plus the monitor when given. */
  readonly plan: Plan;
  readonly monitorAsn?: number;
  /** More top-level fields (reflector, rrClient via peerExtra...). */
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly peerExtra?: Readonly<Record<string, unknown>>;
}

/** The daemon's config as JSON (which is YAML): one passive peer per client. */
export function daemonConfig(o: DaemonConfigOptions): string {
  const peers: Record<string, unknown>[] = [];
  const n = o.plan.clients + (o.monitorAsn === undefined ? 0 : 1);
  for (let i = 0; i < n; i++) {
    const c = o.plan.client(i);
    const asn = i === o.plan.clients ? o.monitorAsn : c.asn;
    peers.push({
      name: `${i === o.plan.clients ? 'monitor' : 'load'}_${c.localAddress.replace(/\./g, '_')}`,
      address: c.localAddress,
      asn,
      passive: true,
      ...o.peerExtra,
    });
  }
  return JSON.stringify({
    routerId: o.routerId,
    asn: o.asn,
    listen: o.listen,
    holdTime: o.holdTime,
    nextHopResolution: 'none',
    control: { socket: o.socket },
    ...o.extra,
    peers,
  });
}

export interface DaemonOptions {
  /** Directory for the config file. */
  readonly dir: string;
  readonly config: string;
  readonly socket: string;
  readonly logLevel?: string;
  readonly nodeArgs?: readonly string[];
  readonly cpus?: string;
  /**
   * `source`: src/cli/main.ts through tsx (default); `built`: .bench-build/src/cli/main.js; `dist`:
   * dist/cli/main.js, what `npm run build` (tsconfig.build.json) ships.
   */
  readonly entry?: 'source' | 'built' | 'dist';
}

export class TernDaemon {
  private stderrTail = '';
  private readonly exit: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly socket: string,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-16_384);
    });
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(o: DaemonOptions): TernDaemon {
    const root = projectRoot(import.meta.url);
    const file = join(o.dir, 'tern.json');
    writeFileSync(file, o.config);
    const entry = {
      source: 'src/cli/main.ts',
      built: '.bench-build/src/cli/main.js',
      dist: 'dist/cli/main.js',
    };
    const main = pathToFileURL(join(root, entry[o.entry ?? 'source']));
    const [cmd, ...args] = nodeCommand(main, o.nodeArgs, o.cpus);
    const child = spawn(
      cmd!,
      [...args, 'run', '-c', file, '--watch', '0', '--log-level', o.logLevel ?? 'warn'],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return new TernDaemon(child, o.socket);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last 16 KiB the daemon wrote to standard error. */
  get stderr(): string {
    return this.stderrTail;
  }

  request(command: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<unknown> {
    return controlCall(this.socket, command, args, timeoutMs);
  }

  /** Waits until the control socket answers `show status`. */
  async waitReady(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running)
        throw new Error(`tern exited (${this.child.exitCode}) before answering:\n${this.stderr}`);
      try {
        await this.request('show status', {}, 1000);
        return;
      } catch (e) {
        if (Date.now() > end)
          throw new Error(`tern did not answer on ${this.socket} within ${timeoutMs} ms: ${e}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** VmHWM and VmRSS from /proc/<pid>/status, in MiB (undefined when not on Linux or exited). */
  memory(): { hwmMb: number; rssMb: number } | undefined {
    try {
      const text = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = (field: string): number =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
      return { hwmMb: Math.round(kb('VmHWM') / 1024), rssMb: Math.round(kb('VmRSS') / 1024) };
    } catch {
      return undefined;
    }
  }

  /** SIGTERM (tern's graceful stop: sessions closed, no NOTIFICATION; --cpu-prof writes its profile), then SIGKILL. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}
