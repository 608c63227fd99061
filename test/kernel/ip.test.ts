// Running `ip` with its output in a file (runIpToFile, what the full reads use) against the pipe
// (runIp): the same stdout, stderr and exit code; and readRoutes reading again through the pipe when the
// file was cut short. `ip` is played by /bin/sh here (`ipPath`), so this needs neither root nor iproute2.

import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRoutes, runIp, runIpToFile } from '../../src/kernel/ip.js';

const sh = { ipPath: '/bin/sh' };

/** Files of this process that runIpToFile / runIpFromFile left in /dev/shm (there should be none). */
function leftBehind(): string[] {
  try {
    return readdirSync('/dev/shm').filter((f) => f.startsWith(`tern-ip-${process.pid}-`));
  } catch {
    return [];
  }
}

describe('runIpToFile', () => {
  it('gives what the pipe gives: a long output in many writes, stderr and the exit code', async () => {
    // ~3.5 MB in 100,000 lines, written one by one (as iproute2 writes a route dump), and a failure
    const script =
      'i=0; while [ $i -lt 100000 ]; do echo "{\\"dst\\":\\"10.$i.0.0/26\\",\\"flags\\":[]},"; i=$((i+1)); done; ' +
      'printf "é\\n"; echo oops >&2; exit 3';
    const [file, pipe] = await Promise.all([
      runIpToFile(sh, ['-c', script], 60_000),
      runIp(sh, ['-c', script], undefined, 60_000),
    ]);
    expect(file.code).toBe(3);
    expect(file.stderr).toBe('oops\n');
    expect(file.stdout.length).toBeGreaterThan(3_000_000);
    expect(file.stdout.endsWith('é\n')).toBe(true);
    expect(file).toEqual(pipe);
    expect(leftBehind()).toEqual([]);
  });

  it('an empty output, and a program that cannot be started', async () => {
    expect(await runIpToFile(sh, ['-c', 'exit 0'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const missing = await runIpToFile({ ipPath: '/nonexistent/ip' }, ['route', 'show']);
    expect(missing.code).toBe(-1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('cannot run /nonexistent/ip');
    expect(leftBehind()).toEqual([]);
  });

  it('bounded in time: killed after the timeout, with what it wrote so far', async () => {
    const r = await runIpToFile(sh, ['-c', 'echo partial; exec sleep 5'], 200);
    expect(r.code).toBe(-1);
    expect(r.stdout).toBe('partial\n');
    expect(r.stderr).toContain('timed out after 200 ms');
  });
});

describe('readRoutes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-ip-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A fake `ip` whose output to a regular file is `toFile` (what a full /dev/shm leaves), to a pipe whole. */
  function fakeIp(name: string, toFile: string): string {
    const path = join(dir, name);
    const whole = '[{"dst":"10.1.0.0/26","gateway":"10.0.0.2","dev":"eth0","protocol":"12","flags":[]}]';
    writeFileSync(
      path,
      `#!/bin/sh\nif [ -f /proc/self/fd/1 ]; then printf '%s' '${toFile}'; else echo '${whole}'; fi\n`,
    );
    chmodSync(path, 0o755);
    return path;
  }

  it('an output cut short in the file, or empty, is read again through the pipe', async () => {
    for (const [name, toFile] of [
      ['cut', '[{"dst":"10.1.0.0/26","gate'],
      ['empty', ''],
    ] as const) {
      const dump = await readRoutes({ ipPath: fakeIp(name, toFile) }, 'ipv4-unicast', 254);
      expect(dump.problems, name).toEqual([]);
      expect(
        dump.routes.map((r) => [r.prefix, r.protocol, r.nextHops]),
        name,
      ).toEqual([['10.1.0.0/26', 12, [{ gateway: '10.0.0.2', dev: 'eth0', onlink: false, weight: 1 }]]]);
    }
  });

  it('a whole output in the file is taken as it is', async () => {
    const dump = await readRoutes(
      { ipPath: fakeIp('whole', '[{"dst":"10.9.0.0/16","dev":"eth1","flags":[]}]') },
      'ipv4-unicast',
      254,
    );
    expect(dump.routes.map((r) => r.prefix)).toEqual(['10.9.0.0/16']);
  });
});
