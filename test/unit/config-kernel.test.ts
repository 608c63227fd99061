// `pools:` and `kernel:` in the native config (docs/config.md): defaults, resolution, and every error.

import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue, checkConfigText, parseConfig } from '../../src/config/index.js';

function withId(rest: string): string {
  return `routerId: 10.0.0.1\n${rest}`;
}

/** Every error of a config text, as `path: message` (none: []). */
function errors(text: string): string[] {
  try {
    parseConfig(text, 't.yaml');
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.errors.map((x: ConfigIssue) => `${x.path}: ${x.message}`);
    throw e;
  }
}

function warnings(text: string): string[] {
  return checkConfigText(text, 't.yaml').warnings.map((w) => `${w.path}: ${w.message}`);
}

describe('pools', () => {
  it('resolves each pool with its defaults, canonical', () => {
    const c = parseConfig(
      withId(
        'pools:\n  - { cidr: 10.244.0.0/16 }\n' +
          '  - { cidr: "FD00:10:244:0::/48", encapsulation: vxlan, crossSubnet: true }\n' +
          '  - { cidr: 10.250.0.0/16, encapsulation: ipip, blockSize: 28, disableBgpExport: true }\n' +
          '  - { cidr: 10.251.0.0/30 }\n',
      ),
      't.yaml',
    );
    expect(c.pools).toEqual([
      {
        cidr: '10.244.0.0/16',
        family: 'ipv4-unicast',
        encapsulation: 'none',
        crossSubnet: false,
        blockSize: 26,
        disableBgpExport: false,
        programRoutes: true,
      },
      {
        cidr: 'fd00:10:244::/48',
        family: 'ipv6-unicast',
        encapsulation: 'vxlan',
        crossSubnet: true,
        blockSize: 122,
        disableBgpExport: false,
        programRoutes: false,
      },
      {
        cidr: '10.250.0.0/16',
        family: 'ipv4-unicast',
        encapsulation: 'ipip',
        crossSubnet: false,
        blockSize: 28,
        disableBgpExport: true,
        programRoutes: true,
      },
      // a pool smaller than a default block: its blocks are the pool's size
      {
        cidr: '10.251.0.0/30',
        family: 'ipv4-unicast',
        encapsulation: 'none',
        crossSubnet: false,
        blockSize: 30,
        disableBgpExport: false,
        programRoutes: true,
      },
    ]);
    expect(parseConfig(withId(''), 't').pools).toEqual([]);
  });

  it.each([
    [
      'not a list',
      'pools: 10.244.0.0/16\n',
      'pools: expected a list of IP pools ({cidr, encapsulation, ...}), got "10.244.0.0/16"',
    ],
    [
      'a bare prefix',
      'pools: [10.244.0.0/16]\n',
      'pools[0]: expected a mapping {cidr, encapsulation, crossSubnet, blockSize, disableBgpExport, programRoutes}, got "10.244.0.0/16"',
    ],
    [
      'no cidr',
      'pools: [{ encapsulation: ipip }]\n',
      'pools[0].cidr: expected an IPv4 or IPv6 prefix (address/length), got nothing (the field is required)',
    ],
    [
      'host bits',
      'pools: [{ cidr: 10.244.1.5/16 }]\n',
      'pools[0].cidr: expected a prefix with no host bits set, got "10.244.1.5/16" (the last 16 bits must be zero, but 0.0.1.5 is set: did you mean 10.244.0.0/16?)',
    ],
    [
      'Calico field name',
      'pools: [{ cidr: 10.244.0.0/16, ipipMode: Always }]\n',
      'pools[0].ipipMode: unknown field (did you mean encapsulation?)',
    ],
    [
      "Calico's spelling",
      'pools: [{ cidr: 10.244.0.0/16, disableBGPExport: true }]\n',
      'pools[0].disableBGPExport: unknown field (did you mean disableBgpExport?)',
    ],
    [
      'unknown encapsulation',
      'pools: [{ cidr: 10.244.0.0/16, encapsulation: Always }]\n',
      'pools[0].encapsulation: expected one of none, ipip, vxlan, got "Always"',
    ],
    [
      'IPIP on IPv6',
      'pools: [{ cidr: "fd00::/48", encapsulation: ipip }]\n',
      'pools[0].encapsulation: expected none or vxlan for an IPv6 pool, got "ipip" (IP-in-IP carries IPv4 only)',
    ],
    [
      'crossSubnet without encapsulation',
      'pools: [{ cidr: 10.244.0.0/16, crossSubnet: true }]\n',
      'pools[0].crossSubnet: crossSubnet needs encapsulation ipip or vxlan (there is nothing to leave out)',
    ],
    [
      'crossSubnet, YAML 1.1 boolean',
      'pools: [{ cidr: 10.244.0.0/16, encapsulation: ipip, crossSubnet: yes }]\n',
      'pools[0].crossSubnet: expected true or false, got "yes" (YAML 1.2 reads yes/no/on/off as strings: write true or false)',
    ],
    [
      'block larger than the pool',
      'pools: [{ cidr: 10.244.0.0/24, blockSize: 22 }]\n',
      "pools[0].blockSize: expected an integer 24..32 (a prefix length: 20..32 as Calico allows, and at least the pool's /24), got 22",
    ],
    [
      'IPv6 block size',
      'pools: [{ cidr: "fd00::/48", blockSize: 64 }]\n',
      "pools[0].blockSize: expected an integer 116..128 (a prefix length: 116..128 as Calico allows, and at least the pool's /48), got 64",
    ],
    [
      'overlapping pools',
      'pools: [{ cidr: 10.244.0.0/16 }, { cidr: 10.244.128.0/17 }]\n',
      'pools[1].cidr: 10.244.128.0/17 overlaps pools[0] (10.244.0.0/16); IP pools must not overlap',
    ],
  ])('%s', (_, text, message) => {
    expect(errors(withId(text))).toEqual([message]);
  });
});

describe('kernel', () => {
  it('resolves every field; learn true/false and partial learning rules', () => {
    const k = parseConfig(
      withId(
        'kernel: { table: 100, scanTime: 0, write: true, protocol: 201, learn: { hostRoutes: false } }\n',
      ),
      't',
    ).kernel;
    expect(k).toEqual({
      table: 100,
      scanTime: 0,
      learn: { blocks: true, hostRoutes: false, interfaces: ['cali*'] },
      write: true,
      protocol: 201,
    });
    expect(parseConfig(withId('kernel: { table: main, learn: false }\n'), 't').kernel).toMatchObject({
      table: 254,
      learn: null,
    });
    expect(parseConfig(withId('kernel: { learn: true }\n'), 't').kernel.learn).toEqual({
      blocks: true,
      hostRoutes: true,
      interfaces: ['cali*'],
    });
    expect(
      parseConfig(withId('kernel: { learn: { interfaces: [cali*, "tap?", eth0.100] } }\n'), 't').kernel.learn
        ?.interfaces,
    ).toEqual(['cali*', 'tap?', 'eth0.100']);
  });

  it.each([
    [
      'not a mapping',
      'kernel: true\n',
      'kernel: expected a mapping {table, scanTime, learn, write, protocol}, got true',
    ],
    ['a typo', 'kernel: { scantime: 2 }\n', 'kernel.scantime: unknown field (did you mean scanTime?)'],
    ["BIRD's word", 'kernel: { scan: 2 }\n', 'kernel.scan: unknown field (did you mean scanTime?)'],
    ['krt proto', 'kernel: { proto: 12 }\n', 'kernel.proto: unknown field (did you mean protocol?)'],
    [
      'the local table',
      'kernel: { table: 255 }\n',
      'kernel.table: expected main or a table number 1..4294967295 other than 255 (local), got 255',
    ],
    [
      'a table name',
      'kernel: { table: local }\n',
      'kernel.table: expected main or a table number 1..4294967295 other than 255 (local), got "local"',
    ],
    [
      'scan time',
      'kernel: { scanTime: -1 }\n',
      'kernel.scanTime: expected an integer 0..86400 (seconds; 0: never), got -1',
    ],
    [
      'write',
      'kernel: { write: on }\n',
      'kernel.write: expected true or false, got "on" (YAML 1.2 reads yes/no/on/off as strings: write true or false)',
    ],
    [
      "the kernel's protocol",
      'kernel: { protocol: 2 }\n',
      "kernel.protocol: expected a protocol number 5..255 other than 80, got 2 (0..4 are the kernel's, iproute2's and the administrator's: unspec, redirect, kernel, boot, static)",
    ],
    [
      "Felix's protocol",
      'kernel: { protocol: 80 }\n',
      "kernel.protocol: expected a protocol number 5..255 other than 80, got 80 (Felix's: tern would take Felix's routes for its own stale ones and delete them)",
    ],
    [
      'too large',
      'kernel: { protocol: 256 }\n',
      'kernel.protocol: expected a protocol number 5..255 other than 80, got 256',
    ],
    [
      'a name',
      'kernel: { protocol: bird }\n',
      'kernel.protocol: expected a protocol number 5..255 other than 80, got "bird"',
    ],
    [
      'learn, not a mapping',
      'kernel: { learn: all }\n',
      'kernel.learn: expected true, false or a mapping {blocks, hostRoutes, interfaces}, got "all"',
    ],
    [
      'learn, a typo',
      'kernel: { learn: { block: true } }\n',
      'kernel.learn.block: unknown field (did you mean blocks?)',
    ],
    [
      'no interfaces',
      'kernel: { learn: { interfaces: [] } }\n',
      'kernel.learn.interfaces: expected a non-empty list of interface names or patterns (cali*, tap?), got a list []',
    ],
    [
      'a bad interface',
      'kernel: { learn: { interfaces: [cali*, "two words"] } }\n',
      'kernel.learn.interfaces[1]: expected an interface name or pattern of at most 15 characters (letters, digits, _ . @ : + - and the wildcards * ?), got "two words"',
    ],
  ])('%s', (_, text, message) => {
    expect(errors(withId(text))).toEqual([message]);
  });

  it('warns when learning is asked for but no pool limits it', () => {
    expect(warnings(withId('kernel: { write: true }\n'))).toEqual([
      'kernel.learn: no pools are configured: nothing is learned from the kernel (learning is limited to IP pools)',
    ]);
    expect(warnings(withId('kernel: { learn: false }\n'))).toEqual([]);
    expect(warnings(withId('pools: [{ cidr: 10.244.0.0/16 }]\nkernel: { write: true }\n'))).toEqual([]);
    expect(warnings(withId(''))).toEqual([]); // no kernel section: the defaults say nothing
  });
});
