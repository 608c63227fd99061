// examples/lab.sh as a user runs it: `up` builds two namespaces (tern and a real BIRD 2), `restart` is
// `tern stop` (a graceful restart: BIRD keeps tern's route, its restart timer running) and `tern run
// --graceful`, `down` is `tern stop --withdraw` and removes everything. Namespaces are named for this
// run (TERNLAB_NAME) and removed by `down` in afterAll whatever happened, then checked gone.
// Needs root, `ip netns` and the interop daemons: otherwise `SKIPPED interop (...)`, or a failure under
// TERN_REQUIRE_INTEROP=1.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli-daemons.js';
import { describeInterop } from '../interop/harness/index.js';

const NAME = `ternlab${process.pid}`;
const DIR = join(mkdtempSync(join(tmpdir(), 'tern-lab-')), 'lab');

function lab(cmd: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('bash', [join(ROOT, 'examples/lab.sh'), cmd], {
      cwd: ROOT,
      env: {
        ...process.env,
        TERNLAB_NAME: NAME,
        TERNLAB_DIR: DIR,
        TERN_CMD: `${process.execPath} --import tsx ${join(ROOT, 'src/cli/main.ts')}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => c.kill('SIGKILL'), 90_000);
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
}

function namespaces(): Promise<string> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'list'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.on('close', () => resolve(out));
  });
}

describeInterop('examples/lab.sh: tern next to a real BIRD 2', () => {
  afterAll(async () => {
    await lab('down');
    rmSync(join(DIR, '..'), { recursive: true, force: true });
  }, 60_000);

  it('up, restart (graceful: BIRD keeps the route), down', { timeout: 240_000 }, async () => {
    const up = await lab('up');
    expect(up.status, up.out).toBe(0);
    expect(up.out).toMatch(/^Mesh_10_99_0_2 +10\.99\.0\.2 +64512 +ibgp +Established /m);
    // BIRD learnt tern's block (learnt from the kernel's blackhole), tern wrote BIRD's into its table
    expect(up.out).toMatch(/^10\.244\.1\.0\/26 +unicast \[Mesh_10_99_0_1 /m);
    expect(up.out).toMatch(/^10\.244\.2\.0\/26 via 10\.99\.0\.2 dev veth-t proto bird/m);
    // calicoctl's view, on tern's BIRD-compatible socket
    expect(up.out).toMatch(/^Mesh_10_99_0_2 BGP +master +up .* Established/m);

    const restart = await lab('restart');
    expect(restart.status, restart.out).toBe(0);
    expect(restart.out).toContain('is stopping for a graceful restart');
    const away = restart.out.slice(
      restart.out.indexOf('BIRD keeps'),
      restart.out.indexOf('== tern run --graceful'),
    );
    expect(away).toMatch(/^10\.244\.1\.0\/26 +unicast \[Mesh_10_99_0_1 /m);
    expect(away).toContain('Neighbor graceful restart active');
    expect(restart.out.slice(restart.out.indexOf('== tern run --graceful'))).toMatch(
      /^Mesh_10_99_0_2 +10\.99\.0\.2 +64512 +ibgp +Established /m,
    );

    const down = await lab('down');
    expect(down.status, down.out).toBe(0);
    expect(down.out).toContain('is shutting down: Cease / Administrative Shutdown to 1 established peer(s)');
    expect(await namespaces()).not.toContain(NAME);
  });
});
