// Running iproute2's `ip`: short commands to completion (bounded in time, output collected, never a
// thrown error: the exit code and stderr come back as data), in a network namespace when asked
// (`ip -n <ns> ...`, which the tests use).

import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FamilyName } from '../config/types.js';
import { parseRouteDump, type RouteDump } from './parse.js';

export interface IpOptions {
  /** Network namespace name (`ip -n <netns>`); absent: tern's own. */
  readonly netns?: string;
  /** The `ip` binary; default `ip` from PATH. */
  readonly ipPath?: string;
}

export interface IpResult {
  /** Exit code; -1 when `ip` could not be started or was killed. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The argv for `ip [-n netns] args...`. */
export function ipArgv(opts: IpOptions, args: readonly string[]): string[] {
  return opts.netns === undefined ? [...args] : ['-n', opts.netns, ...args];
}

/** Runs `ip args...` to completion, `input` on its stdin; SIGKILLed after `timeoutMs`. */
export function runIp(
  opts: IpOptions,
  args: readonly string[],
  input?: string,
  timeoutMs = 10_000,
): Promise<IpResult> {
  return run(opts, args, input === undefined ? 'ignore' : 'pipe', input, timeoutMs, 'pipe');
}

/** Where runIpFromFile puts its input: memory (tmpfs) where there is one. */
const INPUT_DIR = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
let inputFiles = 0;

/**
 * Like runIp, but `input` reaches `ip`'s stdin from a file (written first, and unlinked before `ip`
 * starts: nothing is left behind), not through a pipe: `ip -batch -` then reads at its own pace and
 * never waits for this process's event loop to feed it (a busy loop would stall the kernel writes).
 * Falls back to the pipe should the file not be writable.
 */
export function runIpFromFile(
  opts: IpOptions,
  args: readonly string[],
  input: string,
  timeoutMs = 10_000,
): Promise<IpResult> {
  let fd: number;
  try {
    const path = join(INPUT_DIR, `tern-ip-${process.pid}-${++inputFiles}`);
    const w = openSync(path, 'wx', 0o600);
    try {
      writeSync(w, input);
      fd = openSync(path, 'r');
    } finally {
      closeSync(w);
      unlinkSync(path);
    }
  } catch {
    return runIp(opts, args, input, timeoutMs);
  }
  try {
    return run(opts, args, fd, undefined, timeoutMs, 'pipe');
  } finally {
    closeSync(fd); // the child has its own copy
  }
}

/**
 * Like runIp without input, but `ip`'s stdout is a file (created in INPUT_DIR and unlinked at once),
 * read back when `ip` has exited. For long outputs: iproute2 flushes a route dump after every route, and
 * through a pipe each of those writes wakes this process for a read of its own (30,000-50,000 reads of
 * ~250 bytes for 100,000 routes, 0.25-0.4 s until all is in); into a file they cost this process
 * nothing (0.17-0.22 s). Falls back to the pipe should the file not be writable.
 */
export async function runIpToFile(
  opts: IpOptions,
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<IpResult> {
  let file: Awaited<ReturnType<typeof open>>;
  const path = join(INPUT_DIR, `tern-ip-${process.pid}-${++inputFiles}`);
  try {
    file = await open(path, 'wx+', 0o600);
  } catch {
    return runIp(opts, args, undefined, timeoutMs);
  }
  try {
    unlinkSync(path);
  } catch {
    await file.close();
    return runIp(opts, args, undefined, timeoutMs);
  }
  try {
    const r = await run(opts, args, 'ignore', undefined, timeoutMs, file.fd);
    // `ip` wrote through its own descriptor of the file: read it from the start
    const { size } = await file.stat();
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await file.read(buf, got, size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return { ...r, stdout: buf.toString('utf8', 0, got) };
  } finally {
    await file.close();
  }
}

function run(
  opts: IpOptions,
  args: readonly string[],
  stdin: 'ignore' | 'pipe' | number,
  input: string | undefined,
  timeoutMs: number,
  stdout: 'pipe' | number,
): Promise<IpResult> {
  return new Promise((resolve) => {
    const child = spawn(opts.ipPath ?? 'ip', ipArgv(opts, args), {
      stdio: [stdin, stdout, 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      spawnError = `ip ${args.join(' ')}: timed out after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      spawnError = `cannot run ${opts.ipPath ?? 'ip'}: ${e.message}`;
    });
    if (input !== undefined && child.stdin) {
      child.stdin.on('error', () => {
        // the child exited before reading everything: its exit status tells why
      });
      child.stdin.end(input);
    }
    child.on('close', (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        code: spawnError !== undefined ? -1 : (code ?? -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: spawnError !== undefined ? `${spawnError}\n${stderr}` : stderr,
      });
    });
  });
}

/**
 * `ip -N -json [-6] route show table <table>`, parsed. Throws when `ip` fails or prints no JSON. The
 * output comes through a file (runIpToFile); a file can be cut short without `ip` knowing (a full
 * /dev/shm: its writes fail and it still exits 0), so an output that is empty (iproute2 prints at least
 * `[`) or not one whole JSON list is read again through a pipe, as before.
 */
export async function readRoutes(opts: IpOptions, family: FamilyName, table: number): Promise<RouteDump> {
  const args = ['-N', '-json', ...(family === 'ipv6-unicast' ? ['-6'] : ['-4'])];
  const argv = [...args, 'route', 'show', 'table', String(table)];
  const failed = (r: IpResult): Error =>
    new Error(`ip ${args.join(' ')} route show table ${table}: ${r.stderr.trim() || `exit ${r.code}`}`);
  const r = await runIpToFile(opts, argv);
  if (r.code !== 0) throw failed(r);
  if (r.stdout.trim() !== '') {
    try {
      return parseRouteDump(r.stdout, family, table);
    } catch {
      // read again below
    }
  }
  const p = await runIp(opts, argv);
  if (p.code !== 0) throw failed(p);
  return parseRouteDump(p.stdout, family, table);
}
