// `tern calico render` and `tern run --calico` as a user runs them (the way test/cli/run.test.ts runs the
// CLI): the fixtures render to configs `tern check` accepts, broken resources exit 1 with the file, document
// and field, and two daemons configured from one directory of Calico resources peer, and follow the
// directory when a Node is added. Processes are ours, killed by PID at the end whatever happens.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/speakers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PORT = 20000 + Math.floor(Math.random() * 20000);
const dir = mkdtempSync(join(tmpdir(), 'tern-calico-cli-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function tern(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NODENAME: '', CALICO_ROUTER_ID: '', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('tern calico render', () => {
  const cases: [string, string, RegExp[]][] = [
    [
      'mesh',
      'node-2',
      [
        /^Mesh_10_0_0_9 10\.0\.0\.9:179 AS 64512 ibgp passive ipv4-unicast holdTime 240$/m,
        /^Mesh_fd00_0_0_1__b \[fd00:0:0:1::b\]:179 AS 64512 ibgp passive ipv6-unicast holdTime 240$/m,
        /^originate 10\.244\.0\.64\/26 localPref 2147482623$/m,
        // Calico's export filter, one line per rule, in its order
        /^export accept 10\.244\.0\.64\/26 exact\nexport reject 10\.244\.0\.64\/26 longer\n(.*\n)*export accept 10\.244\.0\.0\/16\n(.*\n)*export reject any$/m,
      ],
    ],
    [
      'reflector',
      'rr-1',
      [/^Node_10_0_0_11 10\.0\.0\.11:179 AS 64512 ibgp ipv4-unicast holdTime 240$/m, /^Node_10_0_0_251 /m],
    ],
    [
      'reflector',
      'node-1',
      [
        /^Node_10_0_0_250 10\.0\.0\.250:179 AS 64512 ibgp ipv4-unicast holdTime 240$/m,
        /^originate 10\.244\.1\.0\/26/m,
      ],
    ],
    ['per-rack', 'rack2-node1', [/^Node_10_2_0_1 10\.2\.0\.1:179 AS 65102 ebgp ipv4-unicast holdTime 240$/m]],
  ];
  for (const [topology, node, lines] of cases) {
    it(`renders fixtures/calico/${topology} for ${node}, and tern check accepts the result`, () => {
      const r = tern(['calico', 'render', '--calico', `fixtures/calico/${topology}`, '--node', node]);
      expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning: '))).toEqual([]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(
          `^# tern native config for node ${node}, from the Calico resources in fixtures/calico/${topology}`,
        ),
      );
      const file = join(dir, `${topology}-${node}.yaml`);
      writeFileSync(file, r.stdout);
      const check = tern(['check', '-c', file]);
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
      expect(check.stdout).toMatch(/: OK$/m);
      for (const l of lines) expect(check.stdout).toMatch(l);
    });
  }

  it('--metrics puts the Prometheus endpoint in the rendered config; a malformed one is refused', () => {
    const args = ['calico', 'render', '--calico', 'fixtures/calico/mesh', '--node', 'node-1'];
    const r = tern([...args, '--metrics', '127.0.0.1:9999']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^metrics: \{ address: 127\.0\.0\.1, port: 9999 \}$/m);
    expect(tern([...args, '--metrics', '[::1]:9998']).stdout).toMatch(
      /^metrics: \{ address: "?::1"?, port: 9998 \}$/m,
    );
    expect(tern(args).stdout).not.toMatch(/^metrics:/m);
    const bad = tern([...args, '--metrics', 'localhost']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(
      '--metrics: expected [address:]port (9473, 0.0.0.0:9473, [::]:9473), got "localhost"',
    );
    const port = tern([...args, '--metrics', '127.0.0.1:70000']);
    expect(port.status).toBe(1);
    expect(port.stderr).toContain('metrics.port: expected an integer 1..65535, got 70000');
  });

  it('takes the node from NODENAME and the router id from CALICO_ROUTER_ID, as calico-node does', () => {
    const r = tern(['calico', 'render', '--calico', 'fixtures/calico/per-rack'], {
      NODENAME: 'rack1-node2',
      CALICO_ROUTER_ID: '192.0.2.7',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^routerId: 192\.0\.2\.7$/m);
    expect(r.stdout).toMatch(/^asn: 65001$/m);
  });

  it('exits 1 with the file, document, resource and field of a broken resource', () => {
    const broken = join(dir, 'broken');
    rmSync(broken, { recursive: true, force: true });
    spawnSync('cp', ['-r', join(ROOT, 'fixtures/calico/per-rack'), broken]);
    writeFileSync(
      join(broken, 'peer.yaml'),
      'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: bad\nspec:\n  nodeSelector: "rack == rack-1"\n  peerIP: 10.1.0.2\n  asNumber: 65101\n  passwd: x\n',
    );
    const r = tern(['calico', 'render', '--calico', broken, '--node', 'rack1-node1']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${join(broken, 'peer.yaml')}: document 1 (BGPPeer bad): spec.passwd: unknown field (did you mean password?)\n` +
        `${join(broken, 'peer.yaml')}: document 1 (BGPPeer bad): spec.nodeSelector: bad selector "rack == rack-1" at character 9: expected a quoted string after ==, got label "rack-1"\n`,
    );
  });

  it('exits 1 on what tern refuses, and on a missing node', () => {
    const ttl = join(dir, 'ttl.yaml');
    writeFileSync(
      ttl,
      'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: a}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 10.0.0.254, asNumber: 65000, ttlSecurity: 1}\n',
    );
    const r = tern(['calico', 'render', '--calico', ttl, '--node', 'a']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ttl\.yaml: document 2 \(BGPPeer tor\): spec\.ttlSecurity: TTL security/);
    const none = tern(['calico', 'render', '--calico', ttl, '--node', 'zz']);
    expect(none.status).toBe(1);
    expect(none.stderr).toBe('no Node named "zz" among the resources (nodes: a)\n');
    const noNode = tern(['calico', 'render', '--calico', ttl]);
    expect(noNode.status).toBe(1);
    expect(noNode.stderr).toMatch(/--node <name> is required \(or set NODENAME/);
  });

  it('tern run wants either -c or --calico', () => {
    const r = tern(['run']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/give either -c <config> or --calico <path>/);
  });
});

describe('tern run --calico', () => {
  const calico = join(dir, 'cluster');

  const node = (name: string, ip: string): string =>
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}}\nspec: {bgp: {ipv4Address: ${ip}/8}}\n`;

  function daemon(name: string): ChildProcess {
    const c = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'run',
        '--calico',
        calico,
        '--node',
        name,
        '--control-socket',
        join(dir, `${name}.ctl`),
        '--no-kernel-write',
        '--watch',
        '1',
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(c);
    return c;
  }

  function protocols(name: string): Record<string, unknown>[] {
    const r = tern(['show', 'protocols', '--json', '-s', join(dir, `${name}.ctl`)]);
    return r.status === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>[]) : [];
  }

  const waitLong = <T>(what: string, fn: () => T | undefined | false): Promise<T> =>
    waitFor(what, fn, 30_000, 250);

  it('peers two nodes configured from one directory, and follows it when a Node is added', async () => {
    rmSync(calico, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', calico]);
    writeFileSync(
      join(calico, 'bgp.yaml'),
      `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {listenPort: ${PORT}, bindMode: NodeIP}\n` +
        '---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool}\nspec: {cidr: 10.244.0.0/16}\n' +
        '---\napiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata: {name: a-block}\nspec: {node: a, cidr: 10.244.1.0/26, state: confirmed}\n',
    );
    writeFileSync(join(calico, 'nodes.yaml'), `${node('a', '127.0.0.1')}---\n${node('b', '127.0.0.2')}`);
    const a = daemon('a');
    const b = daemon('b');
    let bStderr = '';
    b.stderr?.on('data', (d: Buffer) => {
      bStderr += d.toString();
    });

    // a is passive towards b ("127.0.0.2" > "127.0.0.1"); b connects, and learns a's block
    const up = await waitLong('Established at b', () => {
      const p = protocols('b').find((x) => x.name === 'Mesh_127_0_0_1');
      return p?.state === 'Established' && p.prefixesReceived === 1 ? p : undefined;
    });
    expect(up).toMatchObject({ name: 'Mesh_127_0_0_1', type: 'ibgp' });
    expect(protocols('a').map((p) => p.name)).toEqual(['Mesh_127_0_0_2']);

    // a third Node in the directory: both pick it up, the a-b session stays up
    writeFileSync(join(calico, 'node-c.yaml'), node('c', '127.0.0.3'));
    await waitLong('b has Mesh_127_0_0_3', () => protocols('b').some((p) => p.name === 'Mesh_127_0_0_3'));
    await waitLong('a has Mesh_127_0_0_3', () => protocols('a').some((p) => p.name === 'Mesh_127_0_0_3'));
    expect(protocols('b').find((p) => p.name === 'Mesh_127_0_0_1')?.state).toBe('Established');

    // a broken resource is refused, the running config stays
    writeFileSync(join(calico, 'node-c.yaml'), node('c', '127.0.0.300'));
    await waitLong('b logs the refusal', () => bStderr.includes('reload refused'));
    expect(bStderr).toMatch(/node-c\.yaml: document 1 \(Node c\): spec\.bgp\.ipv4Address/);
    expect(protocols('b').map((p) => p.name)).toEqual(['Mesh_127_0_0_1', 'Mesh_127_0_0_3']);

    const exited = new Promise<number | null>((resolve) => a.once('exit', (code) => resolve(code)));
    a.kill('SIGTERM');
    expect(await exited).toBe(0);
    b.kill('SIGTERM');
    expect(readdirSync(calico).sort()).toEqual(['bgp.yaml', 'node-c.yaml', 'nodes.yaml']);
  });
});
