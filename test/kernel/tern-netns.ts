// tern as the real daemon inside a network namespace, for the kernel interop tests: one process
// (`node dist/cli/main.js run -c <config>` when dist/ is newer than every source file, else
// `node --import tsx src/cli/main.ts run -c <config>`: never through a wrapper, so the PID the harness
// holds is tern's own), started again with `--graceful` after a SIGUSR2, queried over its control
// socket. Its processes belong to the harness (stopped at teardown, also on failure).

import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../src/cli/show.js';
import type { InteropHarness, ManagedProcess, Netns } from '../interop/harness/index.js';
import { FatalWaitError, waitFor } from '../interop/harness/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST_MAIN = join(ROOT, 'dist/cli/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The argv that runs `tern <args>` as one process: the build in dist/ when it is newer than every
 * file in src/ (`npx tsc -p tsconfig.build.json`), else the sources through tsx's loader (slower to
 * start, always current).
 */
export function ternArgv(args: readonly string[]): { argv: string[]; built: boolean } {
  const built = existsSync(DIST_MAIN) && statSync(DIST_MAIN).mtimeMs >= newestMtime(join(ROOT, 'src'));
  return built
    ? { argv: [DIST_MAIN, ...args], built }
    : { argv: ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], built };
}

export interface TernProtocol {
  readonly name: string;
  readonly address: string;
  readonly state: string;
  readonly prefixesReceived: number;
  readonly prefixesAdvertised: number;
}

export class TernNode {
  readonly dir: string;
  readonly socket: string;
  readonly configPath: string;
  private proc: ManagedProcess | undefined;
  private readonly procs: ManagedProcess[] = [];

  constructor(
    private readonly h: InteropHarness,
    readonly ns: Netns,
    readonly name: string,
  ) {
    this.dir = h.daemonDir(name);
    this.socket = join(this.dir, 'tern.ctl');
    this.configPath = join(this.dir, 'tern.yaml');
  }

  /** Writes the config (`control.socket` is added); a running tern reads it on reload(). */
  writeConfig(yaml: string): void {
    writeFileSync(this.configPath, `${yaml.trimEnd()}\ncontrol: { socket: ${this.socket} }\n`);
  }

  /** Starts `tern run -c <config> [args]` and waits until its control socket answers. */
  async start(args: readonly string[] = []): Promise<this> {
    if (this.proc?.running) throw new Error(`${this.name}: already running (pid ${this.proc.pid})`);
    const { argv } = ternArgv(['run', '-c', this.configPath, '--watch', '0', ...args]);
    const proc = this.h.spawn(this.ns, process.execPath, argv, {
      name: `tern-${this.procs.length + 1}`,
      logDir: this.dir,
      cwd: ROOT,
    });
    this.proc = proc;
    this.procs.push(proc);
    await waitFor(
      async () => {
        if (!proc.running) {
          throw new FatalWaitError(`${this.name} exited (${JSON.stringify(proc.exit)}):\n${proc.log()}`);
        }
        return this.status();
      },
      { what: `${this.name}: control socket answers`, timeoutMs: 20_000, intervalMs: 100 },
    );
    return this;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.proc?.running === true;
  }

  status(): Promise<unknown> {
    return controlRequest(this.socket, 'show status', {}, 2000);
  }

  protocols(): Promise<TernProtocol[]> {
    return controlRequest(this.socket, 'show protocols', {}, 2000) as Promise<TernProtocol[]>;
  }

  /** The prefixes a peer (name or address) sent, as `tern show routes --peer` lists them. */
  async received(peer: string): Promise<string[]> {
    const rs = (await controlRequest(this.socket, 'show routes', { peer }, 2000)) as { prefix: string }[];
    return rs.map((r) => r.prefix);
  }

  /** Waits until every configured session is Established. */
  async waitEstablished(count: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.protocols(), {
      what: `${this.name}: ${count} sessions Established`,
      until: (ps) => ps.length === count && ps.every((p) => p.state === 'Established'),
      describe: (ps) => ps.map((p) => `${p.name} ${p.state}`).join(', '),
      timeoutMs,
      intervalMs: 200,
    });
  }

  /** SIGHUP: reads the config file again. */
  reload(): void {
    this.proc?.kill('SIGHUP');
  }

  /** SIGUSR2 (a stop for a graceful restart: no NOTIFICATION, routes left in the kernel); waits for the exit. */
  async gracefulStop(timeoutMs = 10_000): Promise<void> {
    const p = this.proc;
    if (!p?.running) return;
    p.kill('SIGUSR2');
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([p.exited, bound]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      throw new Error(`${this.name} (pid ${p.pid}) did not exit within ${timeoutMs} ms of SIGUSR2`);
    }
    if (outcome.code !== 0) {
      throw new Error(`${this.name} exited with ${JSON.stringify(outcome)} after SIGUSR2:\n${p.log()}`);
    }
  }

  /** SIGTERM (a graceful stop: no NOTIFICATION, tern's kernel routes stay), SIGKILL after a bound. */
  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** stdout and stderr of every run so far. */
  log(): string {
    return this.procs.map((p) => p.log()).join('\n');
  }
}
