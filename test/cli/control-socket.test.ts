// `tern run` and its control socket as a user meets them: the mode whatever the umask, the group, a
// second tern on the same socket, a file in the way, a stale socket left by a killed daemon, and what
// `tern show status` says about the process. Daemons run with `listen: false` (no port to share) and
// are killed by PID at the end whatever happens.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/client.js';
import { CLI, ROOT, spawnTern } from '../helpers/cli-daemons.js';

const dir = mkdtempSync(join(tmpdir(), 'tern-sock-'));
const children: ChildProcess[] = [];
let n = 0;

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A config file for a daemon with no BGP listener and its control socket at `socket`. */
function configFile(socket: string, extra = ''): string {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, `routerId: 10.0.0.1\nlisten: false\ncontrol: { socket: ${socket}${extra} }\n`);
  return file;
}

interface Daemon {
  readonly child: ChildProcess;
  readonly stderr: () => string;
}

/** `tern run -c file` in the background, under `umask` when given. */
function daemon(file: string, umask?: string): Daemon {
  return spawnTern(
    ['-c', file, '--watch', '0'],
    children,
    umask === undefined ? undefined : `umask ${umask}`,
  );
}

/** Waits until the daemon's socket answers `show status`; its result. */
async function up(socket: string, d: Daemon): Promise<Record<string, unknown>> {
  const end = Date.now() + 20_000;
  for (;;) {
    if (d.child.exitCode !== null) throw new Error(`tern exited ${d.child.exitCode}: ${d.stderr()}`);
    try {
      return (await controlCall(socket, 'show status', {}, 1000)) as Record<string, unknown>;
    } catch {
      if (Date.now() > end) throw new Error(`timed out waiting for tern on ${socket}: ${d.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function tern(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const mode = (p: string): number => statSync(p).mode & 0o777;

/** A group this process may give a file to, other than its own: any group for root, else a supplementary one. */
function otherGroup(): { name: string; gid: number } | undefined {
  const own = process.getegid?.() ?? 0;
  const allowed = process.geteuid?.() === 0 ? undefined : new Set(process.getgroups?.() ?? []);
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const [name, , gidText] = line.split(':');
    const gid = Number(gidText);
    if (!name || !Number.isInteger(gid) || gid === own) continue;
    if (allowed === undefined || allowed.has(gid)) return { name, gid };
  }
  return undefined;
}

describe('tern run: the control socket', () => {
  it.each([
    '000',
    '022',
    '077',
  ])('socket 0660 and its missing directories 0750 under umask %s', async (umask) => {
    const parent = join(dir, `umask-${umask}`);
    const socket = join(parent, 'run', 'tern.ctl');
    const d = daemon(configFile(socket), umask);
    await up(socket, d);
    expect(lstatSync(socket).isSocket()).toBe(true);
    expect(mode(socket)).toBe(0o660);
    expect(mode(join(parent, 'run'))).toBe(0o750);
    expect(mode(parent)).toBe(0o750);
    d.child.kill('SIGTERM');
  });

  it('leaves an existing directory as it is', async () => {
    const parent = join(dir, 'existing');
    mkdirSync(parent, { mode: 0o755 });
    const socket = join(parent, 'tern.ctl');
    const d = daemon(configFile(socket), '022');
    await up(socket, d);
    expect(mode(parent)).toBe(0o755);
    d.child.kill('SIGTERM');
  });

  const group = otherGroup();
  it.skipIf(group === undefined)(
    'gives the socket and its new directory to control.group (a name)',
    async () => {
      const socket = join(dir, 'group-name', 'tern.ctl');
      const d = daemon(configFile(socket, `, group: ${group!.name}`));
      await up(socket, d);
      expect(statSync(socket).gid).toBe(group!.gid);
      expect(statSync(join(dir, 'group-name')).gid).toBe(group!.gid);
      expect(mode(socket)).toBe(0o660);
      d.child.kill('SIGTERM');
    },
  );

  it.skipIf(group === undefined)('gives the socket to control.group (a numeric gid)', async () => {
    const socket = join(dir, `g${group!.gid}.ctl`);
    const d = daemon(configFile(socket, `, group: ${group!.gid}`));
    await up(socket, d);
    expect(statSync(socket).gid).toBe(group!.gid);
    d.child.kill('SIGTERM');
  });

  it('refuses to start when control.group does not exist', () => {
    const socket = join(dir, 'nogroup.ctl');
    const r = tern(['run', '-c', configFile(socket, ', group: no-such-group-tern')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('control.group: there is no group named "no-such-group-tern"');
    expect(() => lstatSync(socket)).toThrow(/ENOENT/);
  });

  it('a second tern on the same socket is refused and the first keeps answering', async () => {
    const socket = join(dir, 'shared.ctl');
    const file = configFile(socket);
    const first = daemon(file);
    await up(socket, first);
    const before = lstatSync(socket).ino;

    const second = tern(['run', '-c', file]);
    expect(second.status).not.toBe(0);
    expect(second.stderr).toContain(`another tern (pid ${first.child.pid}) is running on ${socket}`);

    expect(lstatSync(socket).isSocket()).toBe(true);
    expect(lstatSync(socket).ino).toBe(before);
    const status = tern(['show', 'status', '--json', '-s', socket]);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ pid: first.child.pid });
    first.child.kill('SIGTERM');
  });

  it('refuses a regular file at the socket path and leaves it with its content', () => {
    const socket = join(dir, 'file.ctl');
    writeFileSync(socket, 'important\n');
    const r = tern(['run', '-c', configFile(socket)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `${socket} is a regular file (10 bytes), not a socket: tern does not remove it`,
    );
    expect(readFileSync(socket, 'utf8')).toBe('important\n');
  });

  it('removes a stale socket left by a killed daemon and starts', async () => {
    const socket = join(dir, 'stale.ctl');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        "require('node:net').createServer().listen(process.argv[1], () => process.stdout.write('up\\n'))",
        socket,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(holder);
    await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
    const died = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
    holder.kill('SIGKILL');
    await died;
    expect(lstatSync(socket).isSocket()).toBe(true); // SIGKILL: nobody unlinked it
    const stale = lstatSync(socket, { bigint: true });

    const d = daemon(configFile(socket));
    const status = await up(socket, d);
    expect(status.pid).toBe(d.child.pid);
    // another socket: the file system may give it the freed inode number again (ext4 does), so the
    // change time tells them apart
    const now = lstatSync(socket, { bigint: true });
    expect(now.ino !== stale.ino || now.ctimeNs > stale.ctimeNs).toBe(true);
    expect(d.stderr()).toContain('removed a stale control socket');
    d.child.kill('SIGTERM');
  });

  it('removes its socket on SIGTERM', async () => {
    const socket = join(dir, 'term.ctl');
    const d = daemon(configFile(socket));
    await up(socket, d);
    const exited = new Promise<number | null>((resolve) => d.child.once('exit', (code) => resolve(code)));
    d.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(() => lstatSync(socket)).toThrow(/ENOENT/);
  });
});

describe('tern show status: the process', () => {
  it('--json reports pid and eventLoop {p50Ms, p99Ms, maxMs}', async () => {
    const socket = join(dir, 'status.ctl');
    const d = daemon(configFile(socket));
    await up(socket, d);
    const r = tern(['show', 'status', '--json', '-s', socket]);
    expect(r.status).toBe(0);
    const status = JSON.parse(r.stdout) as { pid: unknown; eventLoop: Record<string, unknown> };
    expect(status.pid).toBe(d.child.pid);
    for (const k of ['p50Ms', 'p99Ms', 'maxMs']) {
      expect(typeof status.eventLoop[k]).toBe('number');
      expect(status.eventLoop[k]).toBeGreaterThanOrEqual(0);
    }
    expect(status.eventLoop.maxMs).toBeGreaterThanOrEqual(status.eventLoop.p99Ms as number);
    const max = status.eventLoop.maxMs as number;
    expect(Number(max.toFixed(1))).toBe(max); // rounded to 0.1 ms
    d.child.kill('SIGTERM');
  });

  it('the table shows the pid and the event-loop delay', async () => {
    const socket = join(dir, 'table.ctl');
    const d = daemon(configFile(socket));
    await up(socket, d);
    const r = tern(['show', 'status', '-s', socket]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`pid: ${d.child.pid}\n`);
    expect(r.stdout).toMatch(/^eventLoop: delay p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms$/m);
    d.child.kill('SIGTERM');
  });
});

describe('tern reload', () => {
  it('applies the file and says what changed; a broken file is refused and the running config stays', async () => {
    const socket = join(dir, 'reload.ctl');
    const file = join(dir, 'reload.yaml');
    const peer = (name: string, host: number, asn: number): string =>
      `  - { name: ${name}, address: 127.0.0.${host}, asn: ${asn} }\n`; // connects are refused (loopback)
    const write = (peers: string): void =>
      writeFileSync(
        file,
        `routerId: 10.0.0.1\nlisten: false\ncontrol: { socket: ${socket} }\npeers:\n${peers}`,
      );
    write(peer('P1', 71, 65001));
    const d = daemon(file); // --watch 0: only the command reloads
    await up(socket, d);
    const names = (): string[] => {
      const r = tern(['show', 'protocols', '--json', '-s', socket]);
      return (JSON.parse(r.stdout) as { name: string }[]).map((p) => p.name).sort();
    };

    write(peer('P1', 71, 65001) + peer('P2', 72, 65002));
    const added = tern(['reload', '-s', socket]);
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(added.stdout).toBe(
      'reloaded: 1 peer(s) added, 0 removed, 0 reset with new settings, 1 unchanged\n',
    );
    expect(names()).toEqual(['P1', 'P2']);

    write(peer('P1', 71, 65001) + peer('P2', 72, 0));
    const refused = tern(['reload', '-s', socket]);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `tern reload: reload refused, the running configuration stays:\n${file}: peers[1].asn: expected an AS number 1..4294967295, got 0\n`,
    );
    expect(names()).toEqual(['P1', 'P2']);

    write(peer('P1', 71, 65009));
    const json = tern(['reload', '--json', '-s', socket]);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      reloaded: true,
      added: 0,
      removed: 1,
      changed: 1,
      unchanged: 0,
    });
    expect(names()).toEqual(['P1']);
    // the daemon's log names the command as the reason (its lines are written asynchronously)
    for (let i = 0; i < 50 && !d.stderr().includes('"why":"tern reload"'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(d.stderr()).toContain('"why":"tern reload"');
    d.child.kill('SIGTERM');
  });

  it('says so when no daemon answers', () => {
    const r = tern(['reload', '-s', join(dir, 'nobody.ctl')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tern reload: cannot reach the daemon at .*nobody\.ctl: .*is tern running\?/);
  });
});
