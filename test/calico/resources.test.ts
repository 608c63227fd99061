// Reading Calico resources: List documents, kubectl's crd.projectcalico.org/v1 shape, YAML read as
// calicoctl reads it, directories, and the messages that name file, document, resource and field.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CalicoError,
  FileCalicoSource,
  formatCalicoIssue,
  readCalicoText,
} from '../../src/config/calico/index.js';
import { resources } from './helpers.js';

const errors = (text: string): string[] => readCalicoText(text, 'r.yaml').errors.map(formatCalicoIssue);

describe('reading resources', () => {
  it('reads List documents (calicoctl and kubectl) and single ones', () => {
    const r = resources(`
apiVersion: projectcalico.org/v3
kind: NodeList
items:
- apiVersion: projectcalico.org/v3
  kind: Node
  metadata: {name: a}
  spec: {bgp: {ipv4Address: 10.0.0.1/24}}
- apiVersion: projectcalico.org/v3
  kind: Node
  metadata: {name: b}
  spec: {bgp: {ipv4Address: 10.0.0.2}}
metadata: {resourceVersion: "12"}
---
apiVersion: v1
kind: List
items:
- apiVersion: crd.projectcalico.org/v1
  kind: BlockAffinity
  metadata: {name: a-10-244-1-0-26}
  spec: {cidr: 10.244.1.0/26, deleted: "false", node: a, state: confirmed}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec: {peerIP: "[fd00::1]:1179", asNumber: "1.10"}
`);
    expect(r.nodes.map((n) => [n.name, n.bgp?.ipv4Address])).toEqual([
      ['a', { address: '10.0.0.1', family: 4, network: '10.0.0.0/24' }],
      ['b', { address: '10.0.0.2', family: 4 }],
    ]);
    expect(r.blockAffinities[0]).toMatchObject({
      node: 'a',
      state: 'confirmed',
      deleted: false,
      type: 'host',
    });
    expect(r.bgpPeers[0]!.spec).toMatchObject({
      peerIP: { host: 'fd00::1', address: 'fd00::1', family: 6, port: 1179 },
      asNumber: 65546, // asdot 1.10
    });
  });

  it('reads YAML as calicoctl does: yes is true, and a boolean label value is its text', () => {
    const r = resources(`
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: rr
  labels: {route-reflector: yes, rack: 7, zone: '07'}
spec: {}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  nodeToNodeMeshEnabled: off
  prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [64512:100]}]
`);
    expect(r.nodes[0]!.labels).toEqual({ 'route-reflector': 'true', rack: '7', zone: '07' });
    expect(r.bgpConfigurations[0]!.spec.nodeToNodeMeshEnabled).toBe(false);
    // no base-60 numbers (go-yaml v2 has none): 64512:100 stays a community
    expect(r.bgpConfigurations[0]!.spec.prefixAdvertisements![0]!.communities).toEqual(['64512:100']);
  });

  it('names file, document, item, resource and field in every error', () => {
    expect(
      errors(`
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec: {peerIP: 10.0.0, asNumber: 65000, nodeSelecter: all()}
---
apiVersion: projectcalico.org/v3
kind: NodeList
items:
- apiVersion: projectcalico.org/v3
  kind: Node
  metadata: {name: ok}
  spec: {}
- apiVersion: projectcalico.org/v3
  kind: Node
  metadata: {name: n2}
  spec: {bgp: {ipv4Address: 10.0.0.300/24, asNumber: 99999999999}}
`),
    ).toEqual([
      'r.yaml: document 1 (BGPPeer tor): spec.nodeSelecter: unknown field (did you mean nodeSelector?)',
      'r.yaml: document 1 (BGPPeer tor): spec.peerIP: expected an IP address, optionally with a port (10.0.0.1, 10.0.0.1:179, fd00::1, [fd00::1]:179), got "10.0.0"',
      'r.yaml: document 2, items[1] (Node n2): spec.bgp.asNumber: expected an AS number 0..4294967295 (or "high.low"), got 99999999999',
      'r.yaml: document 2, items[1] (Node n2): spec.bgp.ipv4Address: expected an IPv4 address, with its subnet length (10.0.0.1/24) or without, got "10.0.0.300/24"',
    ]);
  });

  it('reports a bad selector with its position', () => {
    expect(
      errors(`
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: p}
spec: {nodeSelector: "rack = 'r1'", peerIP: 10.0.0.9, asNumber: 65000}
`),
    ).toEqual([
      `r.yaml: document 1 (BGPPeer p): spec.nodeSelector: bad selector "rack = 'r1'" at character 6: expected == (a single = is not an operator)`,
    ]);
  });

  it("checks the CRD's rules between fields", () => {
    const e = errors(`
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: p}
spec: {node: a, nodeSelector: all(), peerSelector: all(), asNumber: 1, keepOriginalNextHop: true, nextHopMode: Self}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: q}
spec: {asNumber: 65000}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: v6}
spec: {cidr: "fd00::/48", ipipMode: Always, blockSize: 100}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: hostbits}
spec: {cidr: 10.244.1.5/16}
`);
    expect(e).toEqual([
      'r.yaml: document 1 (BGPPeer p): spec.nodeSelector: node and nodeSelector cannot both be set',
      "r.yaml: document 1 (BGPPeer p): spec.asNumber: asNumber must be empty when peerSelector is set (the selected nodes' AS numbers are used)",
      'r.yaml: document 1 (BGPPeer p): spec.keepOriginalNextHop: keepOriginalNextHop and nextHopMode cannot both be set (keepOriginalNextHop is deprecated: use nextHopMode)',
      'r.yaml: document 2 (BGPPeer q): spec: a BGPPeer needs peerIP (an address) or peerSelector (Calico nodes) to say whom to peer with',
      'r.yaml: document 3 (IPPool v6): spec.ipipMode: IPIP is not supported on IPv6 pools (IP-in-IP carries IPv4)',
      'r.yaml: document 3 (IPPool v6): spec.blockSize: expected a block size 116..128 for an IPv6 pool, got 100',
      'r.yaml: document 4 (IPPool hostbits): spec.cidr: expected the pool CIDR (address/length) with no host bits set, got "10.244.1.5/16" (did you mean 10.244.0.0/16?)',
    ]);
  });

  it('reads durations as Go does', () => {
    const r = resources(`
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: p}
spec: {peerIP: 10.0.0.9, asNumber: 65000, keepaliveTime: 1m0.6s, maxRestartTime: 1h}
`);
    expect(r.bgpPeers[0]!.spec).toMatchObject({ keepaliveTime: 61, maxRestartTime: 3600 });
    expect(
      errors(`
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: p}
spec: {peerIP: 10.0.0.9, asNumber: 65000, keepaliveTime: 30}
`),
    ).toEqual([
      'r.yaml: document 1 (BGPPeer p): spec.keepaliveTime: expected a duration such as "120s", "2m" or "1m30s" (Go syntax, quoted or not), got 30 (a bare number has no unit: write "120s")',
    ]);
  });

  it('gives YAML syntax errors with their position', () => {
    expect(errors('apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: a\n')).toEqual([
      expect.stringMatching(/^r\.yaml:4:1: /),
    ]);
  });

  it('skips kinds that do not change BGP, with a warning; refuses a Kubernetes Node', () => {
    const r = readCalicoText(
      `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: v1
kind: Node
metadata: {name: k8s-node}
`,
      'r.yaml',
    );
    expect(r.warnings.map(formatCalicoIssue)).toEqual([
      'r.yaml: document 1 (FelixConfiguration default): skipped: tern reads BGPConfiguration, BGPPeer, Node, IPPool, BlockAffinity, BGPFilter; FelixConfiguration does not change what BGP does',
      "r.yaml: document 2 (ConfigMap x): skipped: apiVersion v1 is not Calico's (projectcalico.org/v3, crd.projectcalico.org/v1)",
    ]);
    expect(r.errors.map(formatCalicoIssue)).toEqual([
      'r.yaml: document 3 (Node k8s-node): apiVersion: a Kubernetes Node (apiVersion v1), not a Calico Node: give tern `calicoctl get nodes -o yaml` (apiVersion projectcalico.org/v3)',
    ]);
  });

  it('refuses the same resource twice, naming both places', () => {
    const node = 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: a}\nspec: {}\n';
    expect(() => resources(node, node)).toThrow(
      'b.yaml: document 1 (Node a): metadata.name: duplicate Node "a" (also a.yaml, document 1)',
    );
  });
});

describe('the file source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-calico-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const node = (name: string, ip: string): string =>
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}}\nspec: {bgp: {ipv4Address: ${ip}/24}}\n`;

  it('reads every YAML and JSON file of a directory tree in name order, skipping dot files', async () => {
    const d = join(dir, 'tree');
    mkdirSync(join(d, 'sub'), { recursive: true });
    mkdirSync(join(d, '..2025_01_01'), { recursive: true });
    writeFileSync(join(d, 'b.yaml'), node('b', '10.0.0.2'));
    writeFileSync(join(d, 'sub', 'a.yml'), node('a', '10.0.0.1'));
    writeFileSync(
      join(d, 'c.json'),
      JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'c' }, spec: {} }),
    );
    writeFileSync(join(d, 'notes.txt'), 'not yaml: [');
    // a ConfigMap mount: ..data links to a timestamped directory, the files link through it
    writeFileSync(join(d, '..2025_01_01', 'd.yaml'), node('d', '10.0.0.4'));
    symlinkSync('..2025_01_01', join(d, '..data'));
    symlinkSync(join('..data', 'd.yaml'), join(d, 'd.yaml'));
    const r = await new FileCalicoSource(d).load();
    expect(r.nodes.map((n) => n.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('reports what it cannot read, with the file', async () => {
    const d = join(dir, 'bad');
    mkdirSync(d);
    writeFileSync(join(d, 'nodes.yaml'), node('a', '10.0.0.300'));
    await expect(new FileCalicoSource(d).load()).rejects.toThrow(
      `${join(d, 'nodes.yaml')}: document 1 (Node a): spec.bgp.ipv4Address: expected an IPv4 address`,
    );
    await expect(new FileCalicoSource(join(dir, 'none')).load()).rejects.toThrow(
      `${join(dir, 'none')}: cannot read Calico resources: no such file or directory`,
    );
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(new FileCalicoSource(empty).load()).rejects.toBeInstanceOf(CalicoError);
  });

  it('calls back when a file changes, is added or removed (fs.watch, and the stat poll)', async () => {
    const d = join(dir, 'watch');
    mkdirSync(d);
    writeFileSync(join(d, 'a.yaml'), node('a', '10.0.0.1'));
    for (const pollSeconds of [0, 0.2]) {
      const source = new FileCalicoSource(d, { debounceMs: 50, pollSeconds });
      let calls = 0;
      const stop = source.watch(() => {
        calls++;
      });
      const changed = async (f: () => void): Promise<void> => {
        const before = calls;
        f();
        for (let i = 0; i < 100 && calls === before; i++) await new Promise((r) => setTimeout(r, 20));
        expect(calls, `pollSeconds ${pollSeconds}`).toBeGreaterThan(before);
      };
      await changed(() => writeFileSync(join(d, 'b.yaml'), node('b', '10.0.0.2')));
      await changed(() => writeFileSync(join(d, 'b.yaml'), node('b', '10.0.0.22')));
      await changed(() => rmSync(join(d, 'b.yaml')));
      stop();
    }
  });
});
