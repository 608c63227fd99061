// `tern run --calico-etcd` end to end, as a user runs it (`node dist/cli/main.js`, built by `npm ci` or
// `npx tsc -p tsconfig.build.json`): two nodes in a real etcd on loopback peer over the mesh; a BGPPeer put
// into etcd brings up a new session (to a raw BGP speaker of the test) without resetting the mesh one, and
// the time from the put to the reload and to the new session's first OPEN is measured; the BGPPeer
// deleted takes that session away; etcd stopped and started under the running terns resets nothing and
// `tern show status` says what happened. `tern calico render --calico-etcd` prints the same config as
// `--calico` on the same resources. Processes are ours, killed by PID; traffic stays on 127.0.0.0/8.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Framer } from '../../src/bgp/messages/framer.js';
import { KEEPALIVE } from '../../src/bgp/messages/keepalive.js';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import { freePort } from '../helpers/chaos-daemon.js';
import { goodCapabilities } from '../helpers/chaos-peer.js';
import { calicoEntries, describeEtcd, EtcdServer, twoNodes } from './etcd-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist/cli/main.js');

/**
 * `node dist/cli/main.js`, or, when dist is missing or older than the sources this test is about (a
 * change not built yet), the same CLI through tsx, said loudly.
 */
function ternCommand(): string[] {
  const sources = [
    'config/calico/etcd.ts',
    'config/calico/etcd-model.ts',
    'config/calico/source.ts',
    'cli/calico.ts',
    'cli/feed.ts',
    'cli/run.ts',
    'cli/main.ts',
  ];
  const stale = sources.filter((f) => {
    const built = join(ROOT, 'dist', f.replace(/\.ts$/, '.js'));
    return !existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, 'src', f)).mtimeMs;
  });
  if (stale.length === 0) return [DIST];
  process.stderr.write(
    `\nNOTE etcd-cli: dist/ is missing or older than src/ (${stale.join(', ')}): running src/cli/main.ts through tsx; \`npx tsc -p tsconfig.build.json\` to test dist/\n\n`,
  );
  return ['--import', 'tsx', 'src/cli/main.ts'];
}

const wait = async <T>(what: string, fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> => {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** A BGP speaker that answers OPEN with OPEN + KEEPALIVE and notes when the first OPEN arrived. */
class RawPeer {
  firstOpenAt: number | undefined;
  established = false;
  closedAt: number | undefined;
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(readonly asn: number) {
    this.server = createServer((sock) => {
      this.connections++;
      this.sockets.add(sock);
      const framer = new Framer({ extendedMessage: true });
      const open = makeOpen({
        as: asn,
        holdTime: 90,
        bgpId: '10.255.0.5',
        capabilities: goodCapabilities(asn),
      });
      const ka = setInterval(() => sock.write(encodeMessage(KEEPALIVE)), 5000);
      sock.on('data', (chunk: Buffer) => {
        for (const f of framer.push(chunk)) {
          if (f[18] === 1) {
            this.firstOpenAt ??= Date.now();
            sock.write(encodeMessage(open));
            sock.write(encodeMessage(KEEPALIVE));
          } else if (f[18] === 4) this.established = true;
        }
      });
      sock.on('error', () => {});
      sock.on('close', () => {
        clearInterval(ka);
        this.sockets.delete(sock);
        this.established = false;
        this.closedAt = Date.now();
      });
    });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

describeEtcd('tern run --calico-etcd (two terns and a real etcd on 127.0.0.1)', () => {
  let dir = '';
  const children: ChildProcess[] = [];
  const tern = ternCommand();
  let etcd: EtcdServer;
  let writer: Etcd3;
  let raw: RawPeer | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tern-etcd-cli-'));
    etcd = await EtcdServer.create();
    await etcd.start();
    writer = new Etcd3({ hosts: [etcd.endpoint] });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    raw?.close();
    writer?.close();
    await etcd?.destroy();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [...tern, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, NODENAME: '', CALICO_ROUTER_ID: '', ETCD_ENDPOINTS: '' },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  function daemon(name: string): { proc: ChildProcess; stderr: () => string } {
    const proc = spawn(
      process.execPath,
      [
        ...tern,
        'run',
        '--calico-etcd',
        etcd.endpoint,
        '--node',
        name,
        '--control-socket',
        join(dir, `${name}.ctl`),
        '--no-kernel-write',
        '--log-format',
        'json',
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODENAME: '' } },
    );
    children.push(proc);
    let text = '';
    proc.stderr?.on('data', (d: Buffer) => {
      text += d.toString();
    });
    return { proc, stderr: () => text };
  }

  const show = (name: string, what: string): unknown => {
    const r = cli(['show', what, '--json', '-s', join(dir, `${name}.ctl`)]);
    return r.status === 0 ? JSON.parse(r.stdout) : undefined;
  };
  type Protocol = { name: string; state: string; since: string; prefixesReceived: number };
  const protocols = (name: string): Protocol[] => (show(name, 'protocols') as Protocol[] | undefined) ?? [];
  const proto = (name: string, peer: string): Protocol | undefined =>
    protocols(name).find((p) => p.name === peer);
  type Status = { datastore?: { connected: boolean; state: string; reads: number; revision: number } };
  const status = (name: string): Status | undefined => show(name, 'status') as Status | undefined;

  it('peers over the mesh from etcd, and a BGPPeer put brings up one more session and resets none', async () => {
    const port = await freePort('127.0.0.1');
    const rawPort = await freePort('127.0.0.1');
    const resources = twoNodes(`listenPort: ${port}, bindMode: NodeIP, logSeverityScreen: Info`);
    await etcd.put(calicoEntries(resources)); // with etcdctl, in Calico's layout

    // render: the same config from etcd as from the same resources in a file
    const file = join(dir, 'resources.yaml');
    writeFileSync(file, resources);
    const fromEtcd = cli(['calico', 'render', '--calico-etcd', etcd.endpoint, '--node', 'a']);
    const fromFile = cli(['calico', 'render', '--calico', file, '--node', 'a']);
    expect(fromEtcd.status).toBe(0);
    expect(fromEtcd.stdout.split('\n').slice(2)).toEqual(fromFile.stdout.split('\n').slice(2)); // past the comment
    expect(fromEtcd.stdout).toMatch(/from the Calico resources in etcd http:\/\/127\.0\.0\.1:\d+\n/);

    const a = daemon('a');
    const b = daemon('b');
    // a is passive towards b ("127.0.0.2" > "127.0.0.1"); b connects and learns a's block
    const mesh = await wait('the mesh Established at b', () => {
      const p = proto('b', 'Mesh_127_0_0_1');
      return p?.state === 'Established' && p.prefixesReceived === 1 ? p : undefined;
    });
    const meshAtA = await wait('the mesh at a', () => proto('a', 'Mesh_127_0_0_2'));
    expect(status('a')?.datastore).toMatchObject({ connected: true, state: 'watching', reads: 1 });

    // a BGPPeer for node a only, to the raw speaker at 127.0.0.5
    raw = new RawPeer(65010);
    await raw.listen('127.0.0.5', rawPort);
    const peer = {
      kind: 'BGPPeer',
      apiVersion: 'projectcalico.org/v3',
      metadata: {
        name: 'tor',
        uid: 'b3b9d3a4-0000-4000-8000-000000000001',
        creationTimestamp: '2025-03-04T09:12:41Z',
      },
      spec: { node: 'a', peerIP: `127.0.0.5:${rawPort}`, asNumber: 65010 },
    };
    const key = '/calico/resources/v3/projectcalico.org/bgppeers/tor';
    await writer.get('/warm-up'); // the writer's connection is up before the clock starts
    const t0 = Date.now();
    await writer.put(key).value(JSON.stringify(peer));
    await wait('the OPEN at the raw speaker', () => raw?.firstOpenAt);
    const name = `Node_127_0_0_5_port_${rawPort}`;
    await wait('the new session Established', () => proto('a', name)?.state === 'Established');
    // (the daemon's stderr reaches this process between polls: wait for what is looked for)
    const reloadLines = (): { time: number; added: number; changed: number; removed: number }[] =>
      a
        .stderr()
        .split('\n')
        .filter((l) => l.includes('"configuration reloaded"'))
        .map((l) => JSON.parse(l) as { time: number; added: number; changed: number; removed: number });
    const reloaded = await wait('the reload logged', () =>
      reloadLines().length > 0 ? reloadLines() : undefined,
    );
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]).toMatchObject({ added: 1, changed: 0, removed: 0 });
    const toReload = reloaded[0]!.time - t0;
    const toOpen = (raw.firstOpenAt ?? 0) - t0;
    process.stderr.write(
      `etcd put -> reload applied: ${toReload} ms; -> first OPEN at the new peer: ${toOpen} ms\n`,
    );
    expect(toOpen).toBeLessThan(2000);
    // the mesh session was not touched, on either side
    expect(proto('b', 'Mesh_127_0_0_1')).toMatchObject({ state: 'Established', since: mesh.since });
    expect(proto('a', 'Mesh_127_0_0_2')).toMatchObject({ state: 'Established', since: meshAtA.since });
    expect(protocols('b').map((p) => p.name)).toEqual(['Mesh_127_0_0_1']); // the BGPPeer is a's only

    // deleted: that session goes, the mesh stays
    await writer.delete().key(key);
    await wait('the session gone', () => proto('a', name) === undefined);
    await wait('the raw connection closed', () => raw?.closedAt);
    expect(proto('b', 'Mesh_127_0_0_1')).toMatchObject({ state: 'Established', since: mesh.since });

    // etcd stopped under the running terns: nothing is reset, status says so; back: re-read, no change
    await etcd.stop();
    await wait('a disconnected', () => status('a')?.datastore?.connected === false);
    const down = cli(['show', 'status', '-s', join(dir, 'a.ctl')]);
    expect(down.stdout).toMatch(
      /^datastore: etcdv3 http:\/\/127\.0\.0\.1:\d+ \(\/calico\): (retrying|reading), revision \d+, NOT connected since /m,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(proto('b', 'Mesh_127_0_0_1')).toMatchObject({
      state: 'Established',
      since: mesh.since,
      prefixesReceived: 1,
    });
    await etcd.start();
    await wait('a connected again', () => status('a')?.datastore?.connected === true);
    await wait('b connected again', () => status('b')?.datastore?.connected === true);
    expect(status('a')?.datastore).toMatchObject({ state: 'watching', reads: 2 });
    expect(proto('b', 'Mesh_127_0_0_1')).toMatchObject({
      state: 'Established',
      since: mesh.since,
      prefixesReceived: 1,
    });
    expect(proto('a', 'Mesh_127_0_0_2')).toMatchObject({ state: 'Established', since: meshAtA.since });
    await wait('the loss and the re-read logged', () =>
      /\(since the last state: 0 added, 0 changed, 0 removed\); watching from/.test(a.stderr()),
    );
    expect(a.stderr()).toMatch(/tern run: etcd http:\/\/127\.0\.0\.1:\d+: the watch was lost/);
    expect(reloadLines()).toHaveLength(2); // the BGPPeer put and its delete: the re-read changed nothing

    for (const d of [a, b]) {
      const exited = new Promise<number | null>((resolve) => d.proc.once('exit', (code) => resolve(code)));
      d.proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('waits for etcd at start, says so in tern show status, and starts when etcd answers', async () => {
    const later = await EtcdServer.create();
    const port = await freePort('127.0.0.1');
    try {
      await later.start();
      await later.put(
        calicoEntries(
          `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: c}\nspec: {bgp: {ipv4Address: 127.0.0.3/8}}\n---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {listenPort: ${port}, bindMode: NodeIP}\n`,
        ),
      );
      await later.stop();
      const proc = spawn(
        process.execPath,
        [
          ...tern,
          'run',
          '--calico-etcd',
          later.endpoint,
          '--node',
          'c',
          '--control-socket',
          join(dir, 'c.ctl'),
          '--no-kernel-write',
        ],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.push(proc);
      let text = '';
      proc.stderr?.on('data', (d: Buffer) => {
        text += d.toString();
      });
      await wait('retry lines', () => (text.match(/waiting for etcd, retrying in/g) ?? []).length >= 2);
      const waiting = await wait('the waiting status', () => {
        const r = cli(['show', 'status', '-s', join(dir, 'c.ctl')]);
        return r.status === 0 ? r.stdout : undefined;
      });
      expect(waiting).toMatch(/^state: waiting for the datastore$/m);
      expect(waiting).toMatch(
        /^datastore: etcdv3 .*: retrying, no state read yet, NOT connected since .*; last error: .*(UNAVAILABLE|ECONNREFUSED)/m,
      );
      const refused = cli(['show', 'protocols', '-s', join(dir, 'c.ctl')]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/waiting for the Calico datastore/);
      await later.start();
      await wait(
        'started',
        () => (show('c', 'status') as { routerId?: string } | undefined)?.routerId === '127.0.0.3',
      );
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await later.destroy();
    }
  });

  it('render: exit 1 naming etcd when it does not answer; one source only', () => {
    const r = cli(['calico', 'render', '--calico-etcd', 'http://127.0.0.1:1', '--node', 'a']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^tern calico render: etcd http:\/\/127\.0\.0\.1:1: cannot read the Calico resources: /,
    );
    const both = cli([
      'calico',
      'render',
      '--calico',
      'x',
      '--calico-etcd',
      'http://127.0.0.1:1',
      '--node',
      'a',
    ]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give either --calico <path> or --calico-etcd <endpoints>/);
    const none = cli(['calico', 'render', '--calico-etcd', '--node', 'a']);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/--calico-etcd needs the etcd endpoints .*ETCD_ENDPOINTS/);
  });
});
