// The CLI when its reader goes away early (`tern ... | head -1`): a quiet exit, no EPIPE stack trace;
// and an unknown --log-level refused with the valid ones listed.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const dir = mkdtempSync(join(tmpdir(), 'tern-pipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEEPALIVE = 'ffffffffffffffffffffffffffffffff001304';

/** A valid config whose `tern check` summary is far larger than a pipe's buffer (3000 peer lines). */
function bigConfig(): string {
  const file = join(dir, 'big.yaml');
  const peers = Array.from(
    { length: 3000 },
    (_, i) => `  - { address: 10.1.${i >> 7}.${(i & 127) + 1}, asn: 64512 }`,
  );
  writeFileSync(file, `routerId: 10.0.0.1\npeers:\n${peers.join('\n')}\n`);
  return file;
}

/**
 * Runs the CLI with stdout to a pipe that is closed after the first chunk arrives (stdin: `input`
 * when given); resolves with the exit status, the signal and stderr.
 */
function closeAfterFirstChunk(
  args: string[],
  input?: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; first: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tern ${args[0]} did not exit`));
    }, 30_000);
    let stderr = '';
    let first = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString().split('\n')[0]!;
      child.stdout.destroy();
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, first });
    });
  });
}

function expectQuiet(r: { code: number | null; signal: NodeJS.Signals | null; stderr: string }): void {
  expect(r.stderr).not.toMatch(/EPIPE/);
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
}

describe('tern with its stdout closed early', () => {
  it('tern check -c <big config>: exits 0 quietly', async () => {
    const r = await closeAfterFirstChunk(['check', '-c', bigConfig()]);
    expect(r.first).toMatch(/big\.yaml: OK$/);
    expectQuiet(r);
  });

  it('tern check --json: exits 0 quietly', async () => {
    const r = await closeAfterFirstChunk(['check', '--json', '-c', bigConfig()]);
    expect(r.first).toBe('{');
    expectQuiet(r);
  });

  it('tern decode <hex...>: exits 0 quietly', async () => {
    const r = await closeAfterFirstChunk(['decode', ...Array.from({ length: 20_000 }, () => KEEPALIVE)]);
    expect(JSON.parse(r.first)).toMatchObject({ type: 'keepalive' });
    expectQuiet(r);
  });

  it('tern decode from stdin: exits 0 quietly', async () => {
    const r = await closeAfterFirstChunk(['decode'], `${Array(20_000).fill(KEEPALIVE).join('\n')}\n`);
    expect(JSON.parse(r.first)).toMatchObject({ type: 'keepalive' });
    expectQuiet(r);
  });

  it('sh -c "tern check ... | head -1": one line, nothing on stderr', () => {
    const r = spawnSync(
      'sh',
      ['-c', `"$0" ${CLI.join(' ')} check -c "$1" | head -1`, process.execPath, bigConfig()],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\S+big\.yaml: OK\n$/);
    expect(r.stderr).toBe('');
  });
});

describe('tern run --log-level', () => {
  it('refuses an unknown level, listing the valid ones, without a pino error', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'routerId: 10.0.0.1\nlisten: false\n');
    const r = spawnSync(process.execPath, [...CLI, 'run', '-c', file, '--log-level', 'verbose'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("argument 'verbose' is invalid");
    expect(r.stderr).toContain('trace, debug, info, warn, error');
    expect(r.stderr).not.toMatch(/pino|^\s+at /im);
  });
});
