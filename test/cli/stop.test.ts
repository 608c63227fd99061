// Stopping `tern run` as an operator does: `tern stop` (a graceful restart), `tern stop --withdraw` (a
// real shutdown), SIGTERM and SIGINT. Two daemons peered on loopback; B is the peer that watches A go:
// after a graceful stop A sends no NOTIFICATION and B keeps A's route, marked stale (B is a receiving
// speaker, RFC 4724); after a withdrawing stop B gets Cease / Administrative Shutdown and drops it.
// Each stop exits 0. Processes are ours, killed by PID when the file is done.

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/client.js';
import { CLI, cliDaemons, type Daemon, ROOT, waitLong } from '../helpers/cli-daemons.js';

const rig = cliDaemons('tern-stop-');
const A_ROUTE = '10.244.1.0/26';

/** `tern ...` without blocking this process (the daemons' stderr keeps flowing meanwhile). */
function ternAsync(
  args: readonly string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => c.kill('SIGKILL'), 40_000);
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

// observations go straight to the control socket (no process per poll); the stops go through the CLI

/** B's Loc-RIB rows for A's route. */
async function routeAtB(b: Daemon): Promise<Record<string, unknown>[]> {
  try {
    const rows = (await controlCall(b.socket, 'show routes', { all: true }, 2000)) as Record<
      string,
      unknown
    >[];
    return rows.filter((x) => x.prefix === A_ROUTE);
  } catch {
    return [];
  }
}

const established = (d: Daemon): Promise<true> =>
  waitLong('Established', async () => {
    try {
      const p = (await controlCall(d.socket, 'show protocols', {}, 2000)) as Record<string, unknown>[];
      return p[0]?.state === 'Established';
    } catch {
      return false;
    }
  });

/** The JSON log records of a daemon written after `from` characters of its stderr. */
function records(d: Daemon, from = 0): Record<string, unknown>[] {
  return d
    .stderr()
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const notifications = (d: Daemon, from: number, msg: string): Record<string, unknown>[] =>
  records(d, from).filter((r) => r.msg === msg);

describe('tern stop, SIGTERM, SIGINT', () => {
  it('graceful by default (peers keep the routes as stale); --withdraw and SIGINT send Cease', {
    timeout: 240_000,
  }, async () => {
    const { a, b } = rig.peered({ originateA: [A_ROUTE] });
    await established(a);
    await waitLong("A's route at B", async () => (await routeAtB(b)).length === 1);

    // 1. `tern stop`: a graceful restart
    let bFrom = b.stderr().length;
    let aFrom = a.stderr().length;
    const stop = await ternAsync(['stop', '-s', a.socket]);
    expect(stop.stderr).toBe('');
    expect(stop.status).toBe(0);
    expect(stop.stdout).toContain(
      'is stopping for a graceful restart; 1 peer(s) keep its routes as stale for up to 120 s, closed without a NOTIFICATION (Mesh_127_0_0_2); kernel routes stay',
    );
    expect(stop.stdout.trimEnd().split('\n').at(-1)).toBe('stopped');
    expect(await a.exited()).toBe(0);
    expect(notifications(a, aFrom, 'NOTIFICATION sent')).toEqual([]);
    expect(records(a)).toContainEqual(
      expect.objectContaining({ msg: 'stopping for a graceful restart', why: 'tern stop', restartTime: 120 }),
    );
    const down = await waitLong('B sees the session down', () =>
      records(b, bFrom).find((r) => r.msg === 'session down'),
    );
    expect(down).toMatchObject({ gracefulRestart: true, routesDropped: 0 });
    expect(notifications(b, bFrom, 'NOTIFICATION received')).toEqual([]);
    expect(await routeAtB(b)).toEqual([expect.objectContaining({ from: 'Mesh_127_0_0_1', stale: true })]);

    // A comes back: the route is fresh again
    let a2 = rig.one('a', { originateA: [A_ROUTE] });
    await established(a2);
    const fresh = async (): Promise<boolean> => {
      const r = await routeAtB(b);
      return r.length === 1 && r[0]?.stale === undefined;
    };
    await waitLong('fresh route at B', fresh);

    // 2. `tern stop --withdraw --json`: Cease to B, which drops the route at once
    bFrom = b.stderr().length;
    const w = await ternAsync(['stop', '--withdraw', '--json', '-s', a2.socket]);
    expect(w.status).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({ version: 1, mode: 'withdraw', established: 1 });
    expect(await a2.exited()).toBe(0);
    // (a collision of the two sides' connections may have had its own Cease 6/7 earlier)
    expect(notifications(a2, 0, 'NOTIFICATION sent').filter((n) => n.subcode === 2)).toEqual([
      expect.objectContaining({ code: 6, subcode: 2, shutdownMessage: 'tern is shutting down' }),
    ]);
    const shutdown = (n: Record<string, unknown>): boolean =>
      n.codeName === 'Cease / Administrative Shutdown';
    await waitLong('B gets the Cease', () => notifications(b, bFrom, 'NOTIFICATION received').some(shutdown));
    await waitLong('the route gone from B', async () => (await routeAtB(b)).length === 0);

    // 3. SIGTERM: graceful, as `tern stop`
    a2 = rig.one('a', { originateA: [A_ROUTE] });
    await established(a2);
    await waitLong("A's route at B", async () => (await routeAtB(b)).length === 1);
    bFrom = b.stderr().length;
    aFrom = a2.stderr().length;
    expect(await a2.stop('SIGTERM')).toBe(0);
    expect(notifications(a2, aFrom, 'NOTIFICATION sent')).toEqual([]);
    await waitLong('stale at B', async () => (await routeAtB(b))[0]?.stale === true);
    expect(notifications(b, bFrom, 'NOTIFICATION received')).toEqual([]);

    // 4. SIGINT (Ctrl-C): a real shutdown, as `tern stop --withdraw`
    a2 = rig.one('a', { originateA: [A_ROUTE] });
    await established(a2);
    await waitLong('fresh route at B', fresh);
    bFrom = b.stderr().length;
    expect(await a2.stop('SIGINT')).toBe(0);
    expect(records(a2)).toContainEqual(
      expect.objectContaining({ msg: 'stopping', why: 'SIGINT', mode: 'withdraw' }),
    );
    await waitLong('B gets the Cease', () => notifications(b, bFrom, 'NOTIFICATION received').some(shutdown));
    await waitLong('the route gone from B', async () => (await routeAtB(b)).length === 0);

    expect(await b.stop('SIGINT')).toBe(0);
  });

  it('graceful stop: a peer without graceful restart is told, with Cease / Administrative Reset', {
    timeout: 120_000,
  }, async () => {
    // A does not offer graceful restart, so nothing is negotiated and B would drop A's route anyway
    const { a, b } = rig.peered({ originateA: [A_ROUTE], extraA: 'gracefulRestart: false' });
    await established(a);
    await waitLong("A's route at B", async () => (await routeAtB(b)).length === 1);
    const bFrom = b.stderr().length;
    const stop = await ternAsync(['stop', '-s', a.socket]);
    expect(stop.status).toBe(0);
    expect(stop.stdout).toContain(
      'is stopping for a graceful restart; 1 without graceful restart get Cease / Administrative Reset and drop them (Mesh_127_0_0_2); kernel routes stay',
    );
    expect(await a.exited()).toBe(0);
    const cease = await waitLong('B gets the Cease', () =>
      notifications(b, bFrom, 'NOTIFICATION received').find((n) => n.code === 6),
    );
    expect(cease).toMatchObject({ subcode: 4, shutdownMessage: 'tern is restarting' });
    await waitLong('the route gone from B', async () => (await routeAtB(b)).length === 0);
    expect(await b.stop('SIGINT')).toBe(0);
  });

  it('stops a tern still waiting for its datastore (etcd that does not answer)', async () => {
    const socket = `${rig.dir}/waiting.ctl`;
    // port 9 (discard) on loopback: nothing listens, the connection is refused, tern waits and retries
    const c = spawn(
      process.execPath,
      [...CLI, 'run', '--calico-etcd', 'http://127.0.0.1:9', '--node', 'n1', '--control-socket', socket],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    try {
      await waitLong('waiting for the datastore', async () => {
        try {
          const s = (await controlCall(socket, 'show status', {}, 2000)) as Record<string, unknown>;
          return s.state === 'waiting for the datastore';
        } catch {
          return false;
        }
      });
      const r = await ternAsync(['stop', '-s', socket]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(
        `tern (pid ${c.pid}) was waiting for the datastore: it stops before any session came up\nstopped\n`,
      );
      expect(await exited).toBe(0);
    } finally {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  });

  it('tern stop without a daemon: exit 1 and where it looked', async () => {
    const r = await ternAsync(['stop', '-s', `${rig.dir}/nobody.ctl`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tern stop: cannot reach the daemon at .*nobody\.ctl: .*is tern running\?/);
  });
});
