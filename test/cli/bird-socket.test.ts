// The BIRD-compatible socket as Calico's tools meet it: two `tern run` daemons peer on loopback, and the
// real `birdc` / `birdcl` (Debian's bird2) and Calico's own parsing (test/helpers/calico-bird.ts,
// re-implemented from calicoctl's node status and calico-node's health checks) read tern's
// control.birdSocket and control.bird6Socket. Without birdc this prints a loud SKIPPED line, and fails
// under TERN_REQUIRE_INTEROP=1. Traffic stays on 127.0.0.0/8 (the IPv6 peer is passive: tern listens on
// "::" for it, and no IPv6 packet is sent); the daemons are stopped by PID.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { accessSync, constants, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  birdLive,
  type CalicoPeer,
  calicoctlRows,
  checkBIRDReady,
  grInProgress,
  scanBIRDPeers,
} from '../helpers/calico-bird.js';
import { spawnTern } from '../helpers/cli-daemons.js';
import { interopRequired } from '../interop/harness/env.js';

const BIRDC = '/usr/sbin/birdc';
const BIRDCL = '/usr/sbin/birdcl';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const missing = [BIRDC, BIRDCL].filter((p) => !executable(p));
const NAME = 'BIRD-compatible socket: birdc, birdcl and Calico read tern';

if (missing.length > 0 && interopRequired()) {
  describe(NAME, () => {
    it('has birdc and birdcl (TERN_REQUIRE_INTEROP=1)', () => {
      throw new Error(`missing ${missing.join(', ')}: apt-get install bird2 (.ci/install-interop.sh)`);
    });
  });
} else {
  if (missing.length > 0) {
    process.stderr.write(
      `\nSKIPPED interop (missing ${missing.join(', ')}: apt-get install bird2): ${NAME}\n\n`,
    );
  }
  describe.skipIf(missing.length > 0)(NAME, suite);
}

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: string[]): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A port nobody listens on at `host` now. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function suite(): void {
  // made in beforeAll: a skipped suite runs no hook, so it leaves nothing behind
  let dir = '';
  const children: ChildProcess[] = [];
  const sock = (name: string): string => join(dir, name);
  let birdSocket = '';
  let bird6Socket = '';
  let aConfig = '';
  let a: ChildProcess;
  let b: ChildProcess;

  /** `tern run -c file` in the background; its stderr collected. */
  const daemon = (file: string, extra: string[] = []) =>
    spawnTern(['-c', file, '--watch', '0', ...extra], children);

  let ports: { a: number; b: number; refused: number };
  const aYaml = (peers: string): string => `routerId: 10.0.0.1
listen: { address: "::", port: ${ports.a} }
nextHopResolution: none
nextHop: { ipv6: "fd00::1" }
control: { socket: ${sock('a.ctl')}, birdSocket: ${birdSocket}, bird6Socket: ${bird6Socket} }
originate: [10.244.1.0/26, "fd00:10:244:1::/122"]
peers:
  - { name: Mesh_127_0_0_2, address: 127.0.0.2, port: ${ports.b}, asn: 64512, localAddress: 127.0.0.1 }
${peers}`;
  const extraPeers =
    (): string => `  - { name: Mesh_127_0_0_9, address: 127.0.0.9, port: ${ports.refused}, asn: 64512 }
  - { name: Node_127_0_0_8, address: 127.0.0.8, asn: 64513, passive: true }
  - { name: Mesh_fd00__9, address: "fd00::9", asn: 64512, passive: true }
`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tern-birdc-'));
    birdSocket = sock('bird.ctl');
    bird6Socket = sock('bird6.ctl');
    aConfig = join(dir, 'a.yaml');
    ports = {
      a: await freePort('127.0.0.1'),
      b: await freePort('127.0.0.2'),
      refused: await freePort('127.0.0.9'),
    };
    writeFileSync(aConfig, aYaml(extraPeers()));
    const bConfig = join(dir, 'b.yaml');
    writeFileSync(
      bConfig,
      `routerId: 10.0.0.2
listen: { address: 127.0.0.2, port: ${ports.b} }
nextHopResolution: none
nextHop: { ipv6: "fd00::2" }
control: { socket: ${sock('b.ctl')} }
originate:
  - 10.244.2.0/26
  - { prefix: 10.244.3.0/26, communities: ["64512:100"] }
  - "fd00:10:244:2::/122"
peers:
  - { name: Mesh_127_0_0_1, address: 127.0.0.1, port: ${ports.a}, asn: 64512, localAddress: 127.0.0.2 }
`,
    );
    const da = daemon(aConfig);
    a = da.child;
    b = daemon(bConfig).child;
    await eventually(
      'Mesh_127_0_0_2 Established on the BIRD socket',
      async () => {
        if (a.exitCode !== null) throw new Error(`tern exited ${a.exitCode}: ${da.stderr()}`);
        const peers = await scanBIRDPeers(birdSocket, '4');
        return peers.find((p) => p.PeerIP === '127.0.0.2' && p.BGPState === 'Established');
      },
      30_000,
    );
    // and B's three IPv4 routes and one IPv6 route arrived
    await eventually('the routes from B', async () => {
      const r = run(BIRDC, ['-s', birdSocket, 'show', 'route', 'count']);
      return r.stdout.includes('3 of 3 routes') ? r : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('the socket has mode 0660', () => {
    expect(lstatSync(birdSocket).isSocket()).toBe(true);
    expect(statSync(birdSocket).mode & 0o777).toBe(0o660);
    expect(statSync(bird6Socket).mode & 0o777).toBe(0o660);
  });

  it('birdc show protocols: the table with Calico names, Established or the BGP state', () => {
    const r = run(BIRDC, ['-s', birdSocket, 'show', 'protocols']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^BIRD tern-\S+ ready\.$/);
    expect(lines[1]).toBe('name     proto    table    state  since       info');
    expect(r.stdout).toMatch(/^static1 {2}Static {3}master {3}up {5}\d\d:\d\d:\d\d {4}$/m);
    expect(r.stdout).toMatch(/^Mesh_127_0_0_2 BGP {6}master {3}up {5}\d\d:\d\d:\d\d {4}Established {3}$/m);
    // the refused connect is the news, as BIRD shows it
    expect(r.stdout).toMatch(
      /^Mesh_127_0_0_9 BGP {6}master {3}start {2}\d\d:\d\d:\d\d {4}(Active|Connect) +Socket: Connection refused$/m,
    );
    expect(r.stdout).toMatch(/^Node_127_0_0_8 BGP {6}master {3}start {2}\d\d:\d\d:\d\d {4}Passive {7}$/m);
    expect(r.stdout).not.toContain('Mesh_fd00__9'); // an IPv6 peer: on the bird6 socket
  });

  it("calicoctl node status's parser reads it (status.go scanBIRDPeers)", async () => {
    const peers = await scanBIRDPeers(birdSocket, '4');
    const rows = calicoctlRows(peers).map(([ip, type, state, , info]) => [ip, type, state, info]);
    expect(rows).toEqual([
      ['127.0.0.2', 'node-to-node mesh', 'up', 'Established'],
      [
        '127.0.0.9',
        'node-to-node mesh',
        'start',
        expect.stringMatching(/^(Active|Connect) +Socket: Connection refused$/),
      ],
      ['127.0.0.8', 'node specific', 'start', 'Passive'],
    ]);
    for (const p of peers) expect(p.Since).toMatch(/^\d\d:\d\d:\d\d$/);
  });

  it('birdc show protocols all <name>: the session details', () => {
    const r = run(BIRDC, ['-s', birdSocket, 'show', 'protocols', 'all', 'Mesh_127_0_0_2']);
    expect(r.status).toBe(0);
    for (const line of [
      '  BGP state:          Established',
      '    Neighbor address: 127.0.0.2',
      '    Neighbor AS:      64512',
      '    Neighbor ID:      10.0.0.2',
      '    Session:          internal AS4 ext-messages',
      '    Source address:   127.0.0.1',
      '    Hold time:        90',
    ]) {
      expect(r.stdout).toContain(`\n${line}\n`);
    }
    expect(r.stdout).toMatch(/\n {2}Routes: {9}2 imported, \d+ exported, 2 preferred\n/);
    expect(r.stdout).toMatch(
      /\n {4}Neighbor caps: {4}refresh enhanced-refresh restart-able AS4 ext-messages\n/,
    );
    const unknown = run(BIRDC, ['-s', birdSocket, 'show', 'protocols', 'all', 'Mesh_10_9_9_9']);
    expect(unknown.status).toBe(1); // birdc: a reply code >= 8000
    expect(unknown.stdout).toContain('Mesh_10_9_9_9 is not a protocol');
  });

  it('birdc show route: the master table, best marked', () => {
    const r = run(BIRDC, ['-s', birdSocket, 'show', 'route']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(1, -1)).toEqual([
      expect.stringMatching(/^10\.244\.1\.0\/26 {6}blackhole \[static1 \d\d:\d\d:\d\d\] \* \(200\)$/),
      expect.stringMatching(
        /^10\.244\.2\.0\/26 {6}via 127\.0\.0\.2 \[Mesh_127_0_0_2 \d\d:\d\d:\d\d\] \* \(100\/\?\) \[i\]$/,
      ),
      expect.stringMatching(
        /^10\.244\.3\.0\/26 {6}via 127\.0\.0\.2 \[Mesh_127_0_0_2 \d\d:\d\d:\d\d\] \* \(100\/\?\) \[i\]$/,
      ),
    ]);
    const one = run(BIRDC, ['-s', birdSocket, 'show', 'route', 'for', '10.244.3.7', 'all']);
    expect(one.status).toBe(0);
    expect(one.stdout).toContain('\n\tType: BGP unicast univ\n\tBGP.origin: IGP\n\tBGP.as_path: \n');
    expect(one.stdout).toContain(
      '\tBGP.next_hop: 127.0.0.2\n\tBGP.local_pref: 100\n\tBGP.community: (64512,100)\n',
    );
    expect(one.stdout).not.toContain('10.244.2.0/26');
    const mine = run(BIRDC, ['-s', birdSocket, 'show', 'route', 'protocol', 'static1']);
    expect(mine.stdout.split('\n').filter((l) => l.includes('/26'))).toHaveLength(1);
    expect(run(BIRDC, ['-s', birdSocket, 'show', 'route', 'count']).stdout).toContain(
      '3 of 3 routes for 3 networks',
    );
    const none = run(BIRDC, ['-s', birdSocket, 'show', 'route', 'for', '192.0.2.1']);
    expect(none.status).toBe(1);
    expect(none.stdout).toContain('Network not in table');
  });

  it('the bird6 socket: the IPv6 peers and routes (calicoctl reads it with ipv 6)', async () => {
    const r = run(BIRDC, ['-s', bird6Socket, 'show', 'protocols']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Mesh_fd00__9 BGP {6}master {3}start {2}\d\d:\d\d:\d\d {4}Passive {7}$/m);
    expect(r.stdout).not.toContain('Mesh_127_0_0_2');
    expect(await scanBIRDPeers(bird6Socket, '6')).toEqual([
      expect.objectContaining({ PeerIP: 'fd00::9', PeerType: 'node-to-node mesh', BGPState: 'Passive' }),
    ]);
    const routes = run(BIRDC, ['-s', bird6Socket, 'show', 'route']);
    expect(routes.stdout).toMatch(/^fd00:10:244:1::\/122 blackhole \[static1 \d\d:\d\d:\d\d\] \* \(200\)$/m);
    expect(routes.stdout).toMatch(
      /^fd00:10:244:2::\/122 via fd00::2 \[Mesh_127_0_0_2 \d\d:\d\d:\d\d from 127\.0\.0\.2\] \* \(100\/\?\) \[i\]$/m,
    );
  });

  it('birdcl show status: liveness (output starts with BIRD), no graceful restart', async () => {
    const r = run(BIRDCL, ['-s', birdSocket, 'show', 'status']);
    expect(r.status).toBe(0);
    expect(birdLive(r.stdout)).toBe(true);
    expect(r.stdout).toMatch(
      /^BIRD tern-\S+ ready\.\nBIRD tern-\S+\nRouter ID is 10\.0\.0\.1\nCurrent server time is \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n/,
    );
    expect(r.stdout).toMatch(/\nDaemon is up and running\n$/);
    expect(await grInProgress(birdSocket)).toBe(false);
    expect(run(BIRDC, ['-s', birdSocket, 'show', 'memory']).stdout).toContain('BIRD memory usage\n');
  });

  it('readiness (health.go checkBIRDReady): every peer at start-up, one later', async () => {
    await expect(checkBIRDReady(birdSocket, '4', true)).rejects.toThrow(
      'BGP not established with 127.0.0.9,127.0.0.8',
    );
    await expect(checkBIRDReady(birdSocket, '4', false)).resolves.toBeUndefined();
    await expect(checkBIRDReady(bird6Socket, '6', false)).rejects.toThrow('BGP not established with fd00::9');
  });

  it('birdc configure: reloads (unchanged peers stay up), refuses a broken file', async () => {
    const before = (await scanBIRDPeers(birdSocket, '4')).find((p) => p.PeerIP === '127.0.0.2');
    writeFileSync(aConfig, aYaml(''));
    const r = run(BIRDC, ['-s', birdSocket, 'configure']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(1).join('\n')).toBe(
      `Reading configuration from ${aConfig}\nReconfigured\n`,
    );
    const peers = await scanBIRDPeers(birdSocket, '4');
    expect(peers.map((p: CalicoPeer) => p.PeerIP)).toEqual(['127.0.0.2']);
    expect(peers[0]).toEqual(before); // same since: the session was not reset
    await expect(checkBIRDReady(birdSocket, '4', true)).resolves.toBeUndefined();
    expect(run(BIRDC, ['-s', bird6Socket, 'show', 'protocols']).stdout).not.toContain('Mesh_fd00__9');

    writeFileSync(aConfig, aYaml('  - { name: Mesh_127_0_0_7, address: 127.0.0.7, asn: "x" }\n'));
    const bad = run(BIRDC, ['-s', birdSocket, 'configure']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain(`Reading configuration from ${aConfig}\n`);
    expect(bad.stdout).toMatch(/peers\[1\]\.asn/);
    const check = run(BIRDC, ['-s', birdSocket, 'configure', 'check']);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/peers\[1\]\.asn/);
    // the running configuration is kept
    expect((await scanBIRDPeers(birdSocket, '4')).map((p) => p.PeerIP)).toEqual(['127.0.0.2']);
    expect(a.exitCode).toBe(null);
  });

  it("a peer that went away: start, its last error in BIRD's words, Calico's parser still reads it", async () => {
    process.kill(b.pid!, 'SIGINT'); // a real shutdown: tern B sends Cease / Administrative Shutdown
    await new Promise<void>((resolve) => b.once('exit', () => resolve()));
    const peer = await eventually('Mesh_127_0_0_2 down', async () => {
      const p = (await scanBIRDPeers(birdSocket, '4')).find((x) => x.PeerIP === '127.0.0.2');
      return p && p.BGPState !== 'Established' ? p : undefined;
    });
    expect(peer).toMatchObject({ State: 'start', Info: 'Received: Administrative Shutdown' });
    expect(run(BIRDC, ['-s', birdSocket, 'show', 'protocols']).stdout).toMatch(
      /^Mesh_127_0_0_2 BGP {6}master {3}start {2}\d\d:\d\d:\d\d {4}(Idle|Connect|Active) +Received: Administrative Shutdown$/m,
    );
    await expect(checkBIRDReady(birdSocket, '4', false)).rejects.toThrow(
      'BGP not established with 127.0.0.2',
    );
  });

  it('a graceful restart in progress shows as 0024 in show status (calico-node GRInProgress)', async () => {
    const cSocket = sock('c-bird.ctl');
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      `routerId: 10.0.0.3
listen: false
control: { socket: ${sock('c.ctl')}, birdSocket: ${cSocket} }
peers:
  - { name: Mesh_127_0_0_9, address: 127.0.0.9, port: ${ports.refused}, asn: 64512 }
`,
    );
    const c = daemon(file, ['--graceful']);
    const status = await eventually('the restarting tern answers', async () => {
      if (c.child.exitCode !== null) throw new Error(`tern exited: ${c.stderr()}`);
      const r = run(BIRDCL, ['-s', cSocket, 'show', 'status']);
      return r.status === 0 ? r : undefined;
    });
    expect(birdLive(status.stdout)).toBe(true);
    expect(status.stdout).toContain('\nGraceful restart recovery in progress\n');
    expect(await grInProgress(cSocket)).toBe(true);
    process.kill(c.child.pid!, 'SIGTERM');
    await new Promise<void>((resolve) => c.child.once('exit', () => resolve()));
    expect(() => lstatSync(cSocket)).toThrow(/ENOENT/); // removed on stop
  });
}
