// `tern run` daemons as a user starts them (`tern run -c <file>`, through tsx), for the CLI tests: two
// that peer on loopback (127.0.0.1 <-> 127.0.0.2), their stderr collected, killed by PID when the
// test file is done whatever happens.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/**
 * `tern run <args>` in the background, through tsx from the repository (as `npm test` runs it; `sh`, when
 * given, execs node: the same pid), its stderr collected; pushed onto `children` for the caller's cleanup.
 */
export function spawnTern(
  args: readonly string[],
  children: ChildProcess[],
  sh?: string,
): { readonly child: ChildProcess; stderr(): string } {
  const argv = [...CLI, 'run', ...args];
  const child =
    sh === undefined
      ? spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('sh', ['-c', `${sh} && exec "$@"`, 'sh', process.execPath, ...argv], {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, stderr: () => err };
}

export interface Daemon {
  readonly child: ChildProcess;
  readonly socket: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** A signal (SIGTERM: a graceful stop; SIGINT: Cease and withdraw), then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** The exit code once the process is gone (whoever stopped it). */
  exited(): Promise<number | null>;
}

export interface PeeredOptions {
  /** Extra top-level YAML for A (e.g. `metrics: {...}`). */
  readonly extraA?: string;
  /** Extra `tern run` arguments for A and for B. */
  readonly argsA?: readonly string[];
  readonly argsB?: readonly string[];
  /** What each originates. */
  readonly originateA?: readonly string[];
  readonly originateB?: readonly string[];
}

/** Registers the cleanup (afterAll) and returns a starter of two peered daemons. */
export function cliDaemons(prefix: string): {
  readonly dir: string;
  readonly port: number;
  peered(opts?: PeeredOptions): { a: Daemon; b: Daemon };
  /** One of the pair alone (A: 127.0.0.1, B: 127.0.0.2), e.g. to start A again while B runs on. */
  one(which: 'a' | 'b', opts?: PeeredOptions): Daemon;
  tern(args: readonly string[]): { status: number | null; stdout: string; stderr: string };
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (self: string, other: string, originate: readonly string[], extra: string): string => `
routerId: ${self === '127.0.0.1' ? '10.0.0.1' : '10.0.0.2'}
listen: { address: ${self}, port: ${port} }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
nextHopResolution: none
originate: [${originate.join(', ')}]
control: { socket: ${join(dir, `${self}.ctl`)} }
${extra}
peers:
  - { name: Mesh_${other.replace(/\./g, '_')}, address: ${other}, port: ${port}, asn: 64512, localAddress: ${self} }
`;

  const start = (
    self: string,
    other: string,
    originate: readonly string[],
    extra: string,
    args: readonly string[],
  ): Daemon => {
    const file = join(dir, `${self}.yaml`);
    writeFileSync(file, config(self, other, originate, extra));
    const { child, stderr } = spawnTern(['-c', file, '--watch', '0', ...args], children);
    return {
      child,
      socket: join(dir, `${self}.ctl`),
      stderr,
      stop: (signal = 'SIGTERM') =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            resolve(child.exitCode);
            return;
          }
          child.once('exit', (code) => resolve(code));
          child.kill(signal);
        }),
      exited: () =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
          else child.once('exit', (code) => resolve(code));
        }),
    };
  };

  return {
    dir,
    port,
    peered(opts = {}) {
      const a = start('127.0.0.1', '127.0.0.2', opts.originateA ?? [], opts.extraA ?? '', opts.argsA ?? []);
      const b = start('127.0.0.2', '127.0.0.1', opts.originateB ?? [], '', opts.argsB ?? []);
      return { a, b };
    },
    one(which, opts = {}) {
      return which === 'a'
        ? start('127.0.0.1', '127.0.0.2', opts.originateA ?? [], opts.extraA ?? '', opts.argsA ?? [])
        : start('127.0.0.2', '127.0.0.1', opts.originateB ?? [], '', opts.argsB ?? []);
    },
    tern(args) {
      const r = spawnSync(process.execPath, [...CLI, ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 20_000,
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

/** `tern show protocols --json` of a daemon ([] while it does not answer). */
export function protocolsOf(
  tern: (args: readonly string[]) => { status: number | null; stdout: string },
  socket: string,
): Record<string, unknown>[] {
  const r = tern(['show', 'protocols', '--json', '-s', socket]);
  return r.status === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>[]) : [];
}

/** Each poll may run a process: poll slowly, wait long. */
export function waitLong<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  const end = Date.now() + 30_000;
  return (async () => {
    for (;;) {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
}

/** One HTTP request with node's client: status, headers and body. */
export function httpRequest(
  url: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
