// The follower after a netlink overrun. The kernel reports ENOBUFS once per congestion, so messages
// dropped after the report, while the burst goes on, are lost without a word, and the read the report
// asked for may have run before them. The kernel cannot be made to drop a given message on demand, so
// `ip` is played here by a small shell script (the follower's only tie to the kernel is that program):
// its `route show` prints a state file, its `monitor` reports an overrun, then, during the burst that
// follows (and after any read made at once), changes the state without a message (the dropped one).

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { KernelRouteFollower } from '../../src/kernel/follower.js';

const dirs: string[] = [];
const followers: KernelRouteFollower[] = [];

async function waitFor(ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

afterEach(async () => {
  await Promise.all(followers.splice(0).map((f) => f.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BEFORE = [{ dst: '10.244.1.5', dev: 'cali1', protocol: 3, scope: 253, flags: [] }];
const AFTER = [...BEFORE, { dst: '10.244.1.6', dev: 'cali2', protocol: 3, scope: 253, flags: [] }];

function fakeIp(): { dir: string; ipPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tern-overrun-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'v4.json'), JSON.stringify(BEFORE));
  writeFileSync(join(dir, 'after.json'), JSON.stringify(AFTER));
  writeFileSync(join(dir, 'reads'), '');
  const script = `#!/bin/sh
D='${dir}'
case "$*" in
  *monitor*)
    sleep 0.2
    echo 'netlink receive error No buffer space available (105)' >&2
    # the burst goes on; a change whose message is dropped comes in it, after any read made at once
    i=0
    while [ $i -lt 15 ]; do
      if [ $i -ge 8 ] || [ -f "$D/read2" ]; then cp "$D/after.json" "$D/v4.json"; fi
      echo '[NSID]current 0 nsid 1'; sleep 0.02; i=$((i+1))
    done
    date +%s%N > "$D/burst-end"
    exec sleep 30 ;;
  *-6*) echo '[]' ;;
  *route*show*)
    echo r >> "$D/reads"
    cat "$D/v4.json"
    date +%s%N >> "$D/read-times"
    n=$(wc -l < "$D/reads")
    if [ "$n" -ge 2 ]; then touch "$D/read2"; fi ;;
  *) echo "fake ip: $*" >&2; exit 1 ;;
esac
`;
  const ipPath = join(dir, 'ip');
  writeFileSync(ipPath, script);
  chmodSync(ipPath, 0o755);
  return { dir, ipPath };
}

it('after an overrun, reads the table again once the monitor is quiet, so a dropped message is caught', async () => {
  const { dir, ipPath } = fakeIp();
  const f = new KernelRouteFollower({
    ipPath,
    scanIntervalMs: 0,
    confirmDelayMs: 60_000,
    overrunQuietMs: 150,
  });
  followers.push(f);
  await f.start();
  expect([...f.table.routes()].map((r) => r.prefix)).toEqual(['10.244.1.5/32']);
  await waitFor(() => f.table.size >= 2);
  // the copy holds what the kernel holds, with no scan and no confirming read to help
  expect([...f.table.routes()].map((r) => r.prefix).sort()).toEqual(['10.244.1.5/32', '10.244.1.6/32']);
  // the start, and the one that caught it, after the burst (more only if a loaded machine paused the
  // burst for longer than overrunQuietMs)
  await waitFor(() => existsSync(join(dir, 'burst-end')));
  await new Promise((r) => setTimeout(r, 400));
  const reads = readFileSync(join(dir, 'read-times'), 'utf8').trim().split('\n').map(Number);
  const burstEnd = Number(readFileSync(join(dir, 'burst-end'), 'utf8'));
  expect(reads.length).toBeGreaterThanOrEqual(2);
  expect(reads.at(-1)!).toBeGreaterThan(burstEnd);
});

async function monitorOutlives(how: 'exit' | 'SIGKILL'): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'tern-exit-'));
  dirs.push(dir);
  // an `ip` whose monitor never writes (an idle table): it would never meet its closed pipe
  const ipPath = join(dir, 'ip');
  writeFileSync(ipPath, `#!/bin/sh\ncase "$*" in\n  *monitor*) exec sleep 600 ;;\n  *) echo '[]' ;;\nesac\n`);
  chmodSync(ipPath, 0o755);
  const follower = new URL('../../src/kernel/follower.ts', import.meta.url).href;
  const script = `import { KernelRouteFollower } from ${JSON.stringify(follower)};
const f = new KernelRouteFollower({ ipPath: ${JSON.stringify(ipPath)}, scanIntervalMs: 0 });
await f.start();
console.log(f.monitorPid);
${how === 'exit' ? 'process.exit(0);' : "process.kill(process.pid, 'SIGKILL');"}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (how === 'exit') expect(code).toBe(0);
  const pid = Number(out.trim());
  expect(pid).toBeGreaterThan(0);
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(() => !alive(), 5000);
  const survived = alive();
  if (survived) process.kill(pid, 'SIGKILL'); // our own test's child: do not leave it behind
  return survived;
}

it('kills its ip monitor child when the process exits without stop()', async () => {
  expect(await monitorOutlives('exit')).toBe(false);
}, 30_000);

it('its ip monitor child dies with the process, also one killed by SIGKILL (setpriv --pdeathsig)', async () => {
  expect(await monitorOutlives('SIGKILL')).toBe(false);
}, 30_000);
