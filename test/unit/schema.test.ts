// The native config's declared schema (src/config/schema.ts): the Calico translator's documents are
// documents of this schema (by type, and every fixture's by value), the whole-document check and the
// field-by-field validator say the same thing about each field, and the resolved types come from it.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as z from 'zod';
import {
  type CalicoResources,
  collectResources,
  type NativeDocument,
  readCalicoText,
  renderCalico,
  translateCalico,
} from '../../src/config/calico/index.js';
import { validateConfig } from '../../src/config/index.js';
import {
  type ConfigDocument,
  type ConfigIssue,
  checkDocument,
  configSchema,
  poolSchema,
} from '../../src/config/schema.js';
import type { FamilyName, PoolConfig } from '../../src/config/types.js';

const CALICO = fileURLToPath(new URL('../../fixtures/calico/', import.meta.url));

function resourcesOf(files: readonly string[]): CalicoResources {
  const read = files.map((f) => readCalicoText(readFileSync(f, 'utf8'), f));
  expect(read.flatMap((r) => r.errors)).toEqual([]);
  const c = collectResources(
    read.flatMap((r) => r.resources),
    read.flatMap((r) => r.warnings),
  );
  expect(c.errors).toEqual([]);
  return c.resources;
}

/** [label, resources, node] for every node of every topology, and Calico's confd cases for kube-master. */
function fixtureCases(): [string, CalicoResources, string][] {
  const out: [string, CalicoResources, string][] = [];
  for (const topology of ['mesh', 'per-rack', 'reflector']) {
    const dir = `${CALICO}${topology}/`;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `${dir}${f}`);
    const res = resourcesOf(files);
    for (const n of res.nodes) out.push([`${topology} ${n.name}`, res, n.name]);
  }
  const confd = `${CALICO}confd/`;
  for (const d of readdirSync(confd, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    const res = resourcesOf([`${confd}${d.name}/input.yaml`, `${confd}block-affinities.yaml`]);
    out.push([`confd ${d.name}`, res, 'kube-master']);
  }
  return out;
}

const CASES = fixtureCases();

describe('the Calico translator produces documents of the schema', () => {
  it('by type: a NativeDocument is a ConfigDocument', () => {
    expectTypeOf<NativeDocument>().toExtend<ConfigDocument>();
  });

  it('has fixtures to check: three topologies of several nodes, and the confd cases', () => {
    expect(CASES.filter(([l]) => !l.startsWith('confd')).length).toBeGreaterThanOrEqual(6);
    expect(CASES.filter(([l]) => l.startsWith('confd')).length).toBeGreaterThanOrEqual(20);
  });

  it.each(
    CASES,
  )('%s: the document is accepted by the schema, and resolves as its rendered YAML does', (_, res, node) => {
    const t = translateCalico(res, { node });
    if (!t.document) {
      // refused cases (TTL security, large communities, ...) say why; there is no document to check
      expect(t.errors.length).toBeGreaterThan(0);
      return;
    }
    const parsed = configSchema.safeParse(t.document);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(checkDocument(t.document)).toEqual([]);
    const direct = validateConfig(t.document);
    expect(direct.errors).toEqual([]);
    // the same document through YAML text and the loader (what `tern calico render` prints and runs)
    expect(direct.config).toEqual(renderCalico(res, { node }).config);
  });

  it('refuses a translated document that breaks the schema, naming the field', () => {
    const [, res, node] = CASES.find(([l]) => l === 'mesh node-2')!;
    const d = translateCalico(res, { node }).document!;
    expect(d.peers.length).toBeGreaterThan(0);
    const broken = { ...d, peers: [{ ...d.peers[0]!, keepaliveTime: 0 }, ...d.peers.slice(1)] };
    expect(checkDocument(broken)).toEqual([
      { path: 'peers[0].keepaliveTime', message: 'expected an integer 1..65535, got 0' },
    ]);
  });
});

describe('one schema for the whole document and for each field', () => {
  // documents with problems that lie within one field: the whole-document check and the validator must
  // report each of them with the same path and message
  const BAD: readonly [string, unknown][] = [
    ['unknown top field', { routerId: '10.0.0.1', holdtime: 9 }],
    ['nested unknown field', { routerId: '10.0.0.1', gracefulRestart: { restarttime: 9 } }],
    [
      'two unknown fields in a peer',
      { routerId: '10.0.0.1', peers: [{ address: '10.0.0.2', asn: 1, peerAs: 2, hold: 3 }] },
    ],
    ['bad value inside a union', { routerId: '10.0.0.1', listen: { port: 0 } }],
    ['not a mapping where a union wants one', { routerId: '10.0.0.1', metrics: 'yes' }],
    [
      'duplicate family (the list is named)',
      { routerId: '10.0.0.1', families: ['ipv4-unicast', 'ipv4-unicast'] },
    ],
    [
      'duplicate community (the list is named)',
      { routerId: '10.0.0.1', originate: [{ prefix: '10.0.0.0/8', communities: ['1:1', 65537] }] },
    ],
    [
      'two sockets on one path',
      { routerId: '10.0.0.1', control: { socket: '/run/a', bird6Socket: '/run/a' } },
    ],
    ['pool rules', { routerId: '10.0.0.1', pools: [{ cidr: 'fd00::/48', encapsulation: 'ipip' }] }],
    ['missing required fields', { peers: [{}] }],
    [
      'a prefix where an address belongs',
      { routerId: '10.0.0.1/32', peers: [{ address: 'fd00::2/64', asn: 1 }] },
    ],
    ['errorWaitTime order', { routerId: '10.0.0.1', errorWaitTime: [9, 1] }],
    ['kernel table', { routerId: '10.0.0.1', kernel: { table: 255, protocol: 80 } }],
    [
      'maxPrefixes without limit',
      { routerId: '10.0.0.1', peers: [{ address: '10.0.0.2', asn: 1, maxPrefixes: {} }] },
    ],
  ];

  it.each(BAD)('%s', (_, doc) => {
    const whole = checkDocument(doc);
    expect(whole.length).toBeGreaterThan(0);
    const fieldwise = validateConfig(doc).errors;
    for (const issue of whole) expect(fieldwise).toContainEqual(issue);
  });

  it('names the list a duplicate is in, and the other socket', () => {
    const paths = (doc: unknown): ConfigIssue[] => checkDocument(doc);
    expect(paths({ routerId: '10.0.0.1', families: ['ipv6-unicast', 'ipv6-unicast'] })).toEqual([
      { path: 'families[1]', message: 'duplicate family ipv6-unicast (also families[0])' },
    ]);
    expect(
      paths({
        routerId: '10.0.0.1',
        peers: [{ address: '10.0.0.2', asn: 1, families: ['ipv4-unicast', 'ipv4-unicast'] }],
      }),
    ).toEqual([
      { path: 'peers[0].families[1]', message: 'duplicate family ipv4-unicast (also peers[0].families[0])' },
    ]);
    expect(paths({ routerId: '10.0.0.1', control: { birdSocket: '/run/b', bird6Socket: '/run/b' } })).toEqual(
      [
        {
          path: 'control.bird6Socket',
          message: `expected a path other than control.birdSocket's, got "/run/b"`,
        },
      ],
    );
  });

  it('reports every unknown key of a mapping at its own path, with its suggestion', () => {
    expect(checkDocument({ routerId: '10.0.0.1', log: { lvl: 'info', levle: 'info' } })).toEqual([
      { path: 'log.lvl', message: 'unknown field (did you mean level?)' },
      { path: 'log.levle', message: 'unknown field (did you mean level?)' },
    ]);
  });

  it('explains, with ip-address, a prefix written where an address belongs', () => {
    expect(validateConfig({ routerId: '10.0.0.1/32' }).errors).toEqual([
      {
        path: 'routerId',
        message:
          'expected an IPv4 address (dotted quad) other than 0.0.0.0, got "10.0.0.1/32" (a prefix: write the address without /32)',
      },
    ]);
    expect(
      validateConfig({ routerId: '10.0.0.1', peers: [{ address: 'fd00::2/64', asn: 1 }] }).errors,
    ).toEqual([
      {
        path: 'peers[0].address',
        message:
          'expected an IPv4 or IPv6 address, got "fd00::2/64" (a prefix: write the address without /64)',
      },
    ]);
    // what is no address at all gets no note
    expect(validateConfig({ routerId: '10.0.0.1', listen: { address: '10.0.0.256/8' } }).errors).toEqual([
      { path: 'listen.address', message: 'expected an IPv4 or IPv6 address, got "10.0.0.256/8"' },
    ]);
  });
});

describe('types from the schema', () => {
  it('the pool schema gives a PoolConfig; families are FamilyName', () => {
    expectTypeOf<z.output<typeof poolSchema>>().toEqualTypeOf<PoolConfig>();
    expectTypeOf<NonNullable<z.output<typeof configSchema>['families']>>().toEqualTypeOf<
      readonly FamilyName[]
    >();
    expect(poolSchema.parse({ cidr: '10.244.0.0/16', encapsulation: 'vxlan' })).toEqual({
      cidr: '10.244.0.0/16',
      family: 'ipv4-unicast',
      encapsulation: 'vxlan',
      crossSubnet: false,
      blockSize: 26,
      disableBgpExport: false,
      programRoutes: false,
    });
  });
});
