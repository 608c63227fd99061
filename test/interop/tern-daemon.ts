// tern as a daemon in a network namespace, for the interop tests: `tern run -c` started as one process
// (node with the tsx loader, from the source tree), queried over its control socket like `tern show`.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../src/cli/show.js';
import type { InteropHarness, ManagedProcess, Netns } from './harness/index.js';
import { waitFor } from './harness/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface TernProtocol {
  readonly name: string;
  readonly address: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
  readonly prefixesReceived: number;
  readonly prefixesAdvertised: number;
}

export interface TernRoute {
  readonly peer: string;
  readonly family: string;
  readonly prefix: string;
  readonly nextHop: string;
  readonly asPath?: readonly { type: string; asns: number[] }[];
  readonly localPref?: number;
}

export class TernDaemon {
  readonly dir: string;
  readonly socket: string;
  readonly configPath: string;
  private proc: ManagedProcess | undefined;

  constructor(
    private readonly h: InteropHarness,
    readonly ns: Netns,
    readonly name: string,
  ) {
    this.dir = h.daemonDir(name);
    this.socket = join(this.dir, 'tern.ctl');
    this.configPath = join(this.dir, 'tern.yaml');
  }

  /**
   * Writes the config (YAML; `control.socket` is added) and starts the daemon; `args` go after
   * `tern run -c <config>` (e.g. `--graceful`).
   */
  async start(yaml: string, args: readonly string[] = []): Promise<this> {
    writeFileSync(this.configPath, `${yaml}\ncontrol: { socket: ${this.socket} }\n`);
    this.proc = this.h.spawn(
      this.ns,
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli/main.ts'),
        'run',
        '-c',
        this.configPath,
        '--log-level',
        'debug',
        ...args,
      ],
      { name: this.name, cwd: ROOT },
    );
    this.h.adopt({ label: this.name, stop: () => this.stop() });
    await waitFor(() => this.status(), {
      what: `${this.name}: control socket answers`,
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    return this;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  status(): Promise<unknown> {
    return controlRequest(this.socket, 'show status');
  }

  protocols(): Promise<TernProtocol[]> {
    return controlRequest(this.socket, 'show protocols') as Promise<TernProtocol[]>;
  }

  async protocol(name: string): Promise<TernProtocol> {
    const p = (await this.protocols()).find((x) => x.name === name);
    if (!p) throw new Error(`${this.name}: no protocol ${name}`);
    return p;
  }

  routes(peer: string): Promise<TernRoute[]> {
    return controlRequest(this.socket, 'show routes', { peer }) as Promise<TernRoute[]>;
  }

  kill(signal: NodeJS.Signals): void {
    this.proc?.kill(signal);
  }

  /** SIGUSR2 (stop for a graceful restart: no NOTIFICATION) and wait for the exit. */
  async gracefulStop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.kill('SIGUSR2');
    await p.exited;
  }

  /** SIGINT (a withdrawing stop: Cease 6/2 to every peer first) and wait for the exit. */
  async stop(): Promise<void> {
    await this.proc?.stop(3000, 'SIGINT');
  }

  log(): string {
    return this.proc?.log() ?? '';
  }
}
