// A real `tern run` daemon for the chaos test (test/chaos) and the soak (bench/soak.ts): started as a
// child process from the source tree (node with the tsx loader, as test/cli/run.test.ts does), watched
// through its stderr (pino JSON lines) and /proc/<pid>/status, asked through the `tern show` CLI, and
// killed by its PID when done. Nothing here is shared between daemons: each has its own temp dir.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  type WriteStream,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on `host` (the kernel's choice; free when this returns). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `fn` until it returns something other than undefined/false, or throws naming `what`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface ChaosPeerConfig {
  readonly name: string;
  readonly address: string;
  readonly asn: number;
  readonly holdTime?: number;
}

/** The daemon's config: passive peers only (tern never dials the chaos addresses), fast error waits. */
export function chaosConfigYaml(opts: {
  readonly port: number;
  readonly socket: string;
  readonly peers: readonly ChaosPeerConfig[];
  readonly logLevel?: string;
}): string {
  const peers = opts.peers
    .map(
      (p) =>
        `  - { name: ${p.name}, address: ${p.address}, asn: ${p.asn}, passive: true${p.holdTime !== undefined ? `, holdTime: ${p.holdTime}` : ''} }`,
    )
    .join('\n');
  return `routerId: 10.255.0.1
asn: 64512
listen: { address: 127.0.0.1, port: ${opts.port} }
holdTime: 30
errorWaitTime: [1, 1]
nextHopResolution: none
control: { socket: ${opts.socket} }
log: { level: ${opts.logLevel ?? 'info'} }
peers:
${peers}
`;
}

/** What the daemon's stderr said that it should not have: crash output, stacks, uncaught exceptions. */
export interface StderrReport {
  readonly lines: number;
  /** Lines that are not pino JSON (node's own crash output goes there), up to 50. */
  readonly notJson: readonly string[];
  /** JSON lines with a stack trace or an "uncaught" message, up to 50. */
  readonly stacks: readonly string[];
  /** Lines at level error (50) or fatal (60), up to 50. */
  readonly errors: readonly string[];
  /** The last lines, for a failure message. */
  readonly tail: readonly string[];
}

const KEEP = 50;
const TAIL = 60;
/** A stack in a JSON string ("Error: x\n    at f (file:1:2)") or an uncaught-exception message. */
const STACK = /(Error|Exception)\b[^"]*?\\n\s+at |uncaught|unhandled/i;

export class TernDaemonProcess {
  readonly dir: string;
  readonly socket: string;
  readonly configPath: string;
  /** Everything the daemon wrote to stderr (in the temp dir, removed by stop() unless `keep`). */
  readonly logPath: string;
  private log: WriteStream | undefined;
  private child: ChildProcess | undefined;
  private buf = '';
  private lineCount = 0;
  private readonly notJson: string[] = [];
  private readonly stacks: string[] = [];
  private readonly errors: string[] = [];
  private readonly tail: string[] = [];
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<string> = Promise.resolve('not started');

  constructor(
    readonly root: string,
    prefix = 'tern-chaos-',
  ) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.socket = join(this.dir, 'tern.ctl');
    this.configPath = join(this.dir, 'tern.yaml');
    this.logPath = join(this.dir, 'daemon.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Null while the process runs. */
  get exitCode(): number | null {
    return this.child?.exitCode ?? null;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Writes the config and starts `tern run -c`; resolves once `tern show status` answers. */
  async start(yaml: string): Promise<void> {
    writeFileSync(this.configPath, yaml);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'run', '-c', this.configPath, '--watch', '0'],
      { cwd: this.root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`)),
    );
    const log = createWriteStream(this.logPath);
    this.log = log;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      log.write(d);
      this.onStderr(d);
    });
    await until(
      'the daemon to answer `tern show status`',
      async () => {
        if (!this.alive)
          throw new Error(`tern run ended at start (${await this.exited}):\n${this.tail.join('\n')}`);
        return (await this.cli(['show', 'status', '--json'])).status === 0;
      },
      30_000,
      200,
    );
  }

  private onStderr(d: string): void {
    this.buf += d;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      this.line(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
    }
  }

  private line(text: string): void {
    if (text.trim() === '') return;
    this.lineCount++;
    this.tail.push(text);
    if (this.tail.length > TAIL) this.tail.shift();
    let level = 0;
    try {
      const v = JSON.parse(text) as { level?: unknown };
      level = typeof v.level === 'number' ? v.level : 0;
    } catch {
      if (this.notJson.length < KEEP) this.notJson.push(text);
      return;
    }
    if (STACK.test(text) && this.stacks.length < KEEP) this.stacks.push(text);
    if (level >= 50 && this.errors.length < KEEP) this.errors.push(text);
  }

  stderr(): StderrReport {
    if (this.buf !== '') {
      this.line(this.buf);
      this.buf = '';
    }
    return {
      lines: this.lineCount,
      notJson: [...this.notJson],
      stacks: [...this.stacks],
      errors: [...this.errors],
      tail: [...this.tail],
    };
  }

  /** `tern <args> -s <socket>` as a process (asynchronous: the caller's sessions keep running). */
  cli(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', ...args, '-s', this.socket],
        { cwd: this.root, encoding: 'utf8', timeout: 20_000 },
        (err, stdout, stderr) => {
          const code = err && typeof err.code === 'number' ? err.code : err ? 1 : 0;
          resolve({ status: code, stdout, stderr });
        },
      );
    });
  }

  /** `tern show <what> --json`, parsed; throws with the CLI's stderr when it fails. */
  async show(what: string, extra: readonly string[] = []): Promise<unknown> {
    const r = await this.cli(['show', what, '--json', ...extra]);
    if (r.status !== 0) throw new Error(`tern show ${what} failed (${r.status}): ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as unknown;
  }

  /** A line of /proc/<pid>/status in kB (VmHWM: peak RSS, VmRSS: now); undefined once gone. */
  memoryKb(field: 'VmHWM' | 'VmRSS'): number | undefined {
    if (this.pid === undefined) return undefined;
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
        readFileSync(`/proc/${this.pid}/status`, 'utf8'),
      );
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; removes the temp dir unless `keep`. */
  async stop(graceMs = 5000, keep = false): Promise<void> {
    const child = this.child;
    if (child && this.alive && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (this.alive && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}
