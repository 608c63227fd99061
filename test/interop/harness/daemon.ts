// What every daemon wrapper does the same way: own its processes, stop/kill/log, notice early exits.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InteropHarness, Netns } from './netns.js';
import {
  type CommandResult,
  clip,
  FatalWaitError,
  type ManagedProcess,
  type RunOptions,
  waitFor,
} from './process.js';
import type { AnnouncedRoute, DaemonKind, DaemonOptions } from './types.js';

export abstract class DaemonBase {
  abstract readonly kind: DaemonKind;
  readonly name: string;
  readonly dir: string;
  version = '';
  protected readonly procs: ManagedProcess[] = [];
  protected announced: AnnouncedRoute[];
  private stopped = false;

  constructor(
    protected readonly h: InteropHarness,
    readonly ns: Netns,
    protected readonly opts: DaemonOptions,
  ) {
    this.name = opts.name;
    this.dir = h.daemonDir(opts.name);
    this.announced = [...(opts.routes ?? [])];
    h.adopt({ label: opts.name, stop: () => this.stop() });
  }

  get label(): string {
    return `${this.kind} ${this.name} (netns ${this.ns.label})`;
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  /** Writes a file into the daemon's directory and returns its path. */
  protected writeFile(file: string, text: string): string {
    const p = join(this.dir, file);
    writeFileSync(p, text);
    return p;
  }

  protected spawn(cmd: string, args: string[], logName: string): ManagedProcess {
    const p = this.h.spawn(this.ns, cmd, args, { name: logName, logDir: this.dir });
    this.procs.push(p);
    return p;
  }

  /** Runs a CLI inside the daemon's namespace; first checks that the daemon is still running. */
  protected cli(cmd: string, args: string[], opts?: RunOptions): Promise<CommandResult> {
    this.assertRunning();
    return this.h.exec(this.ns, cmd, args, opts);
  }

  /** Throws FatalWaitError (so waits end at once) if a process of the daemon has exited. */
  protected assertRunning(): void {
    for (const p of this.procs) {
      if (!p.running) {
        const e = p.exit;
        throw new FatalWaitError(
          `${this.label}: ${p.opts.name} exited (code ${e?.code ?? '?'}, signal ${e?.signal ?? 'none'}); ` +
            `log ${p.stderrPath}:\n${clip(p.log().split('\n').slice(-20).join('\n'), 4000)}`,
        );
      }
    }
  }

  /** Waits until `probe` succeeds (the control socket or API answers), failing early if it exits. */
  protected async waitReady(probe: () => Promise<unknown>, what: string, timeoutMs = 15_000): Promise<void> {
    await waitFor(
      async () => {
        this.assertRunning();
        await probe();
        return true;
      },
      { what: `${this.label}: ${what}`, timeoutMs, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.procs.map((p) => p.stop()));
  }

  kill(signal: NodeJS.Signals): void {
    for (const p of this.procs) p.kill(signal);
  }

  log(): string {
    return this.procs.map((p) => p.log()).join('\n');
  }

  protected mergeAnnounced(routes: AnnouncedRoute[]): void {
    const byPrefix = new Map(this.announced.map((r) => [r.prefix, r]));
    for (const r of routes) byPrefix.set(r.prefix, r);
    this.announced = [...byPrefix.values()];
  }

  protected dropAnnounced(prefixes: string[]): void {
    const gone = new Set(prefixes);
    this.announced = this.announced.filter((r) => !gone.has(r.prefix));
  }
}
