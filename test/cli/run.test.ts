// `tern run` as a user runs it: two daemons on loopback (127.0.0.1 <-> 127.0.0.2), checked with
// `tern show`, reloaded by SIGHUP and by editing the file, stopped by SIGTERM. Processes are ours, killed
// by PID at the end whatever happens.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/speakers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PORT = 20000 + Math.floor(Math.random() * 20000);
const dir = mkdtempSync(join(tmpdir(), 'tern-run-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function config(self: string, other: string, originate: string[], peers = true): string {
  return `
routerId: ${self === '127.0.0.1' ? '10.0.0.1' : '10.0.0.2'}
listen: { address: ${self}, port: ${PORT} }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
originate: [${originate.join(', ')}]
control: { socket: ${join(dir, `${self}.ctl`)} }
peers:${
    peers
      ? `
  - { name: Mesh_${other.replace(/\./g, '_')}, address: ${other}, port: ${PORT}, asn: 64512, localAddress: ${self} }`
      : ' []'
  }
`;
}

function tern(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function daemon(file: string): ChildProcess {
  const c = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'run', '-c', file, '--watch', '1'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(c);
  return c;
}

function protocols(self: string): Record<string, unknown>[] {
  const r = tern(['show', 'protocols', '--json', '-s', join(dir, `${self}.ctl`)]);
  return r.status === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>[]) : [];
}

/** Each poll runs `tern show` as a process: poll slowly, wait long. */
function waitLong<T>(what: string, fn: () => T | undefined | false): Promise<T> {
  return waitFor(what, fn, 30_000, 250);
}

describe('tern run / show / check', () => {
  it('tern check names the field of a broken config and exits 1', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'routerId: 10.0.0.1\npeers:\n  - { address: 10.0.0.2, asn: 70000000000 }\n');
    const r = tern(['check', '-c', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml: peers\[0\]\.asn: expected/);
  });

  it('runs two daemons that peer, reload on SIGHUP and on file change, and stop on SIGTERM', async () => {
    const fileA = join(dir, 'a.yaml');
    const fileB = join(dir, 'b.yaml');
    writeFileSync(fileA, config('127.0.0.1', '127.0.0.2', ['10.244.1.0/26']));
    writeFileSync(fileB, config('127.0.0.2', '127.0.0.1', ['10.244.2.0/26']));
    const a = daemon(fileA);
    const b = daemon(fileB);
    let bStderr = '';
    b.stderr?.on('data', (d: Buffer) => {
      bStderr += d.toString();
    });
    let aStderr = '';
    a.stderr?.on('data', (d: Buffer) => {
      aStderr += d.toString();
    });

    const up = await waitLong('Established at A', () => {
      const p = protocols('127.0.0.1')[0];
      return p?.state === 'Established' && p.prefixesReceived === 1 ? p : undefined;
    });
    expect(up).toMatchObject({ name: 'Mesh_127_0_0_2', type: 'ibgp', prefixesAdvertised: 1 });
    const routes = tern(['show', 'routes', '--peer', '127.0.0.2', '-s', join(dir, '127.0.0.1.ctl')]);
    expect(routes.stdout).toMatch(/10\.244\.2\.0\/26\s+Mesh_127_0_0_2\s+127\.0\.0\.2/);
    // --all: the Loc-RIB, the best marked with the step that chose it
    const rib = tern(['show', 'routes', '--all', '-s', join(dir, '127.0.0.1.ctl')]);
    expect(rib.stdout).toMatch(/^\s*Prefix\s+From\s+Next hop/);
    expect(rib.stdout).toMatch(/^\*\s+10\.244\.2\.0\/26\s+Mesh_127_0_0_2\s/m);
    // a prefix (host bits cleared as the views print it): only its candidates
    const one = tern([
      'show',
      'routes',
      '10.244.2.7/26',
      '--all',
      '--json',
      '-s',
      join(dir, '127.0.0.1.ctl'),
    ]);
    expect(one.status).toBe(0);
    expect(
      (JSON.parse(one.stdout) as { prefix: string; best: boolean }[]).map((r) => [r.prefix, r.best]),
    ).toEqual([['10.244.2.0/26', true]]);
    // --export: what A sent to B, next hop set to A's address; B's own route is not sent back to it
    const sent = tern(['show', 'routes', '--export', 'Mesh_127_0_0_2', '-s', join(dir, '127.0.0.1.ctl')]);
    expect(sent.status).toBe(0);
    expect(sent.stdout).toMatch(/^\s*Prefix\s+To\s+Next hop/);
    expect(sent.stdout).toMatch(/^10\.244\.1\.0\/26\s+Mesh_127_0_0_2\s+127\.0\.0\.1\s/m);
    expect(sent.stdout).not.toContain('10.244.2.0/26');
    // mistakes are named: an unknown peer, a view option on the wrong view, a word that is not a prefix
    const nobody = tern(['show', 'routes', '--export', '192.0.2.9', '-s', join(dir, '127.0.0.1.ctl')]);
    expect([nobody.status, nobody.stderr]).toEqual([
      1,
      'tern show: no peer named or addressed "192.0.2.9" (see tern show protocols)\n',
    ]);
    const wrongView = tern([
      'show',
      'status',
      '--export',
      'Mesh_127_0_0_2',
      '-s',
      join(dir, '127.0.0.1.ctl'),
    ]);
    expect([wrongView.status, wrongView.stderr]).toEqual([2, 'tern show: --export: only for show routes\n']);
    const notPrefix = tern(['show', 'routes', 'ten-dot', '-s', join(dir, '127.0.0.1.ctl')]);
    expect(notPrefix.status).toBe(1);
    expect(notPrefix.stderr).toMatch(/"ten-dot" is not a prefix/);

    // SIGHUP after an edit: B announces one more prefix, the session stays up
    writeFileSync(fileB, config('127.0.0.2', '127.0.0.1', ['10.244.2.0/26', '10.244.3.0/26']));
    b.kill('SIGHUP');
    await waitLong('2 routes at A', () => protocols('127.0.0.1')[0]?.prefixesReceived === 2);
    expect(protocols('127.0.0.1')[0]?.state).toBe('Established');

    // an edit alone (the file is watched): B removes the peer, A hears Cease 6/3 (A's log says so;
    // its `info` shows it only until A's next connect attempt is refused, too short a window to poll)
    writeFileSync(fileB, config('127.0.0.2', '127.0.0.1', [], false));
    await waitLong('A sees de-configuration', () =>
      aStderr.includes('"codeName":"Cease / Peer De-configured"'),
    );

    // a broken config is refused and the daemon keeps running
    writeFileSync(fileB, 'routerId: nonsense\n');
    b.kill('SIGHUP');
    await waitLong('B logs the refusal', () => bStderr.includes('reload refused'));
    expect(b.exitCode).toBeNull();

    // SIGTERM: exit 0
    const exited = new Promise<number | null>((resolve) => a.once('exit', (code) => resolve(code)));
    a.kill('SIGTERM');
    expect(await exited).toBe(0);
    b.kill('SIGTERM');
  });
});
