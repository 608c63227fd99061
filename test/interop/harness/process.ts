// Running commands for interop tests: long-lived daemons inside a network namespace (logs go straight
// to files, so they survive a crash of the test process), short CLI queries with a time bound, and
// `waitFor`, the one polling loop every wait in the harness goes through.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WaitOptions<T> {
  /** What is awaited, for the error message ("BIRD session to 10.77.1.2 Established"). */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** When the probe's value counts as done; default: truthy. */
  until?: (value: T) => boolean;
  /** How the last observed value is shown in the timeout error; default: JSON, cut at 2,000 chars. */
  describe?: (value: T) => string;
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/** Thrown by a probe when waiting longer is pointless (the daemon exited): waitFor rethrows it at once. */
export class FatalWaitError extends Error {
  override readonly name = 'FatalWaitError';
}

/**
 * Polls `probe` until `until(value)` holds and returns that value. A probe that throws counts as a
 * failed poll (its message is the last observed state). On timeout it throws a WaitTimeoutError naming
 * what was awaited and the last observed value or error.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, opts: WaitOptions<T>): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const intervalMs = opts.intervalMs ?? 250;
  const until = opts.until ?? ((v: T) => Boolean(v));
  const show = opts.describe ?? ((v: T) => clip(safeJson(v), 2000));
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing observed yet';
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await probe();
      if (until(value)) return value;
      last = show(value);
    } catch (err) {
      if (err instanceof FatalWaitError)
        throw new FatalWaitError(`while waiting for ${opts.what}: ${err.message}`);
      last = `error: ${errorMessage(err)}`;
    }
    if (Date.now() + intervalMs > deadline) {
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms (${attempt + 1} polls) waiting for ${opts.what}; last observed: ${last}`,
      );
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more chars)`;
}

/** The argv that runs `cmd args` inside network namespace `ns` (or directly when ns is undefined). */
export function nsArgv(ns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return ns === undefined ? [cmd, [...args]] : ['ip', ['netns', 'exec', ns, cmd, ...args]];
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly result: CommandResult,
  ) {
    super(message);
  }
}

export interface RunOptions {
  timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of throwing. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a short command (a CLI query, an `ip` call) to completion, bounded in time: past `timeoutMs`
 * (default 10 s) it is SIGKILLed and the call fails naming the command.
 */
export function runCommand(
  ns: string | undefined,
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  const [file, argv] = nsArgv(ns, cmd, args);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const shown = [file, ...argv].join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      file,
      argv,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ?? process.env,
      },
      (err, stdout, stderr) => {
        const out = String(stdout);
        const errText = String(stderr);
        if (err === null) {
          resolve({ stdout: out, stderr: errText, code: 0 });
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        if (e.killed === true) {
          reject(
            new CommandError(`command timed out after ${timeoutMs} ms: ${shown}`, {
              stdout: out,
              stderr: errText,
              code: -1,
            }),
          );
          return;
        }
        const code = typeof e.code === 'number' ? e.code : -1;
        const result = { stdout: out, stderr: errText, code };
        if (opts.allowFailure === true && code !== -1) {
          resolve(result);
          return;
        }
        reject(
          new CommandError(
            `command failed (${typeof e.code === 'string' ? e.code : `exit ${code}`}): ${shown}\n${clip(errText || out, 2000)}`,
            result,
          ),
        );
      },
    );
  });
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Short label used in file names and messages ("bird2-a"). */
  name: string;
  /** Directory for `<name>.stdout.log` and `<name>.stderr.log`. */
  logDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * A long-lived process started by the harness. `ip netns exec` execs the command in place, so `pid` is
 * the daemon's own PID (daemons are always run in the foreground).
 */
export class ManagedProcess {
  readonly pid: number;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly child: ChildProcess;

  constructor(
    readonly ns: string | undefined,
    readonly cmd: string,
    readonly args: readonly string[],
    readonly opts: SpawnOptions,
  ) {
    this.stdoutPath = join(opts.logDir, `${opts.name}.stdout.log`);
    this.stderrPath = join(opts.logDir, `${opts.name}.stderr.log`);
    const out = openSync(this.stdoutPath, 'a');
    const err = openSync(this.stderrPath, 'a');
    const [file, argv] = nsArgv(ns, cmd, args);
    try {
      this.child = spawn(file, argv, {
        stdio: ['ignore', out, err],
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    if (this.child.pid === undefined) {
      throw new Error(`could not spawn ${[file, ...argv].join(' ')} (see ${this.stderrPath})`);
    }
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.once('error', (e) => {
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
        process.stderr.write(`[interop] ${opts.name}: spawn error ${e.message}\n`);
      });
    });
  }

  get commandLine(): string {
    return nsArgv(this.ns, this.cmd, this.args).flat().join(' ');
  }

  /** Undefined while running. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Sends a signal (SIGSTOP/SIGCONT/SIGHUP/...) to the process; false if it is gone. */
  kill(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * `signal` (SIGTERM; after a SIGCONT, in case it was stopped), then SIGKILL if still alive after
   * `graceMs`.
   */
  async stop(graceMs = 3000, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (!this.running) return this.exitInfo as ExitInfo;
    this.kill('SIGCONT');
    this.kill(signal);
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      this.kill('SIGKILL');
      const bound = sleep(2000).then(() => 'timeout' as const);
      if ((await Promise.race([this.exited, bound])) === 'timeout') {
        throw new Error(`${this.opts.name} (pid ${this.pid}) survived SIGKILL for 2 s`);
      }
    }
    return this.exitInfo as ExitInfo;
  }

  /** Synchronous last resort (process exit handlers): SIGKILL without waiting. */
  killNow(): void {
    this.kill('SIGCONT');
    this.kill('SIGKILL');
  }

  /** stdout and stderr as written so far. */
  log(): string {
    return [this.stdoutPath, this.stderrPath]
      .filter((p) => existsSync(p))
      .map((p) => readFileSync(p, 'utf8'))
      .filter((t) => t.length > 0)
      .join('\n');
  }
}
