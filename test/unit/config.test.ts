import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCheck, runCheckJson } from '../../src/cli/check.js';
import {
  ConfigError,
  type ConfigIssue,
  loadConfig,
  type PeerConfig,
  parseConfig,
  peerKey,
  samePeerSettings,
  type TernConfig,
} from '../../src/config/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string => `${ROOT}fixtures/configs/${name}`;

/** The errors a config text produces (none: []). */
function errorsOf(text: string): readonly ConfigIssue[] {
  try {
    parseConfig(text, 'test.yaml');
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.errors;
    throw e;
  }
}

/** A config with a valid routerId and `rest` appended. */
function withId(rest: string): string {
  return `routerId: 10.0.0.1\n${rest}`;
}

function run(path: string, json = false): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = json
    ? runCheckJson(
        path,
        (s) => out.push(s),
        (s) => err.push(s),
      )
    : runCheck(
        path,
        (s) => out.push(s),
        (s) => err.push(s),
      );
  return { code, out, err };
}

describe('defaults', () => {
  it('fills in every default from a config with only routerId', () => {
    const c = loadConfig(fixture('minimal.yaml'));
    expect(c).toEqual({
      routerId: '10.0.0.1',
      asn: 64512,
      listen: { address: '0.0.0.0', port: 179 },
      control: { socket: '/var/run/tern/tern.ctl' },
      log: { level: 'info' },
      metrics: null,
      nextHop: {},
      originate: [],
      exportFilter: [],
      multipath: true,
      nextHopResolution: 'kernel',
      reflector: null,
      pools: [],
      kernel: {
        table: 254,
        scanTime: 30,
        learn: { blocks: true, hostRoutes: true, interfaces: ['cali*'] },
        write: false,
        protocol: 12,
      },
      peers: [],
    } satisfies TernConfig);
  });

  it('resolves every per-peer setting from the globals', () => {
    const c = parseConfig(withId('peers:\n  - { address: 10.0.0.2, asn: 64512 }\n'), 't.yaml');
    expect(c.peers[0]).toEqual({
      name: 'peer_10_0_0_2',
      address: '10.0.0.2',
      port: 179,
      asn: 64512,
      routerId: '10.0.0.1',
      localAsn: 64512,
      passive: false,
      holdTime: 90,
      connectRetryTime: 5,
      errorWaitTime: [5, 30],
      families: ['ipv4-unicast', 'ipv6-unicast'],
      addPath: 'off',
      extendedMessage: true,
      gracefulRestart: { enabled: true, restartTime: 120 },
      rrClient: false,
      allowOwnAs: 0,
      maxPrefixes: null,
      addPathLimit: null,
      nextHopSelf: 'auto',
      ibgp: true,
    } satisfies PeerConfig);
    expect('keepaliveTime' in c.peers[0]!).toBe(false);
    expect('localAddress' in c.peers[0]!).toBe(false);
  });

  it('returns a deeply frozen config', () => {
    const c = parseConfig(
      withId('originate: [10.0.0.0/8]\npeers:\n  - { address: 10.0.0.2, asn: 1 }\n'),
      't.yaml',
    );
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.peers)).toBe(true);
    expect(Object.isFrozen(c.peers[0])).toBe(true);
    expect(Object.isFrozen(c.peers[0]!.families)).toBe(true);
    expect(Object.isFrozen(c.peers[0]!.gracefulRestart)).toBe(true);
    expect(Object.isFrozen(c.originate[0]!.communities)).toBe(true);
    expect(Object.isFrozen(c.listen)).toBe(true);
  });

  it('listen: false means no listener; listen: true the default one', () => {
    expect(parseConfig(withId('listen: false\n'), 't').listen).toBeNull();
    expect(parseConfig(withId('listen: true\n'), 't').listen).toEqual({ address: '0.0.0.0', port: 179 });
    expect(parseConfig(withId('listen: { port: 1179 }\n'), 't').listen).toEqual({
      address: '0.0.0.0',
      port: 1179,
    });
  });
});

describe('full config', () => {
  const c = loadConfig(fixture('full.yaml'));

  it('reads every global field, canonicalising addresses, prefixes and family order', () => {
    expect(c.routerId).toBe('10.0.0.1');
    expect(c.asn).toBe(65001);
    expect(c.listen).toEqual({ address: '::', port: 1179 });
    expect(c.nextHop).toEqual({ ipv4: '100.64.0.1', ipv6: 'fd00::1' });
    expect(c.control).toEqual({ socket: '/tmp/tern-test.ctl' });
    expect(c.log).toEqual({ level: 'debug' });
    expect(c.originate).toEqual([
      { prefix: '10.244.1.0/26', family: 'ipv4-unicast', communities: [] },
      {
        prefix: 'fd00:10:244:1::/122',
        family: 'ipv6-unicast',
        communities: [65001 * 65536 + 100, 0xffffff01, 65000 * 65536 + 100],
        localPref: 200,
        med: 10,
      },
    ]);
  });

  it('applies global session settings to peers that do not override them', () => {
    const p = c.peers[0]!;
    expect(p).toMatchObject({
      name: 'Mesh_10_0_0_2',
      holdTime: 60,
      keepaliveTime: 20,
      connectRetryTime: 10,
      errorWaitTime: [2, 60],
      families: ['ipv4-unicast', 'ipv6-unicast'],
      addPath: 'both',
      extendedMessage: false,
      gracefulRestart: { enabled: false, restartTime: 300 },
      localAsn: 65001,
      ibgp: true,
    });
  });

  it('applies per-peer overrides field by field', () => {
    const p = c.peers[1]!;
    expect(p).toEqual({
      name: 'peer_fd00__3',
      address: 'fd00::3',
      port: 1790,
      asn: 65002,
      routerId: '10.0.0.1',
      localAddress: 'fd00::1',
      localAsn: 65003,
      passive: true,
      holdTime: 0,
      keepaliveTime: 50,
      connectRetryTime: 1,
      errorWaitTime: [1, 1],
      families: ['ipv6-unicast'],
      addPath: 'receive',
      extendedMessage: true,
      // `gracefulRestart: false` turns it off and keeps the global restartTime
      gracefulRestart: { enabled: false, restartTime: 300 },
      rrClient: false,
      allowOwnAs: 0,
      maxPrefixes: null,
      addPathLimit: null,
      nextHopSelf: 'auto',
      ibgp: false,
    } satisfies PeerConfig);
  });

  it('merges gracefulRestart per field', () => {
    const cfg = parseConfig(
      withId(
        'gracefulRestart: { restartTime: 200 }\npeers:\n  - { address: 10.0.0.2, asn: 1, gracefulRestart: { enabled: false } }\n',
      ),
      't',
    );
    expect(cfg.peers[0]!.gracefulRestart).toEqual({ enabled: false, restartTime: 200 });
  });

  it('accepts YAML merge keys for shared peer settings', () => {
    const cfg = parseConfig(
      withId(
        [
          'peers:',
          '  - &mesh { address: 10.0.0.2, asn: 64512, holdTime: 30 }',
          '  - { <<: *mesh, address: 10.0.0.3 }',
          '',
        ].join('\n'),
      ),
      't',
    );
    expect(cfg.peers.map((p) => [p.address, p.holdTime])).toEqual([
      ['10.0.0.2', 30],
      ['10.0.0.3', 30],
    ]);
  });
});

describe('JSON input', () => {
  it('loads a .json file', () => {
    const c = loadConfig(fixture('config.json'));
    expect(c.peers.map((p) => [p.name, p.ibgp, p.passive])).toEqual([
      ['peer_10_0_0_2', true, false],
      ['peer_10_0_0_3', false, true],
    ]);
    expect(c.originate.map((r) => r.prefix)).toEqual(['10.244.1.0/26']);
  });

  it('reports JSON mistakes with their paths like YAML ones', () => {
    expect(errorsOf('{"routerId": "10.0.0.1", "peers": [{"address": "10.0.0.2", "asn": "64512"}]}')).toEqual([
      { path: 'peers[0].asn', message: 'expected an AS number 1..4294967295, got "64512"' },
    ]);
  });

  it('gives the line and column of a JSON syntax error', () => {
    const e = errorsOf('{"routerId": "10.0.0.1",\n  "asn": 1,,\n}');
    expect(e.length).toBeGreaterThan(0);
    expect(e[0]!.line).toBe(2);
  });
});

describe('examples', () => {
  it('examples/node.yaml is valid: two mesh peers, an IPv4 /26 and an IPv6 /122', () => {
    const c = loadConfig(`${ROOT}examples/node.yaml`);
    expect(c.peers.map((p) => p.name)).toEqual(['Mesh_10_0_0_2', 'Mesh_10_0_0_3']);
    expect(c.originate.map((r) => r.prefix)).toEqual(['10.244.1.0/26', 'fd00:10:244:1::/122']);
    expect(run(`${ROOT}examples/node.yaml`).err).toEqual([]);
  });
});

// [case, config text, path, message]
const ERRORS: readonly (readonly [string, string, string, string | RegExp])[] = [
  // the document
  ['empty document', '', '', 'expected a mapping of settings (routerId, peers, ...), got an empty document'],
  ['a list at the top', '- 1\n', '', /^expected a mapping of settings .*, got a list \[1\]$/],
  // routerId
  [
    'routerId missing',
    'asn: 1\n',
    'routerId',
    'expected an IPv4 address (dotted quad) other than 0.0.0.0, got nothing (the field is required)',
  ],
  [
    'routerId 0.0.0.0',
    'routerId: 0.0.0.0\n',
    'routerId',
    'expected an IPv4 address other than 0.0.0.0, got "0.0.0.0"',
  ],
  [
    'routerId IPv6',
    'routerId: "fd00::1"\n',
    'routerId',
    'expected an IPv4 address (dotted quad) other than 0.0.0.0, got "fd00::1" (an IPv6 address)',
  ],
  ['routerId as a number', 'routerId: 167772161\n', 'routerId', /got 167772161$/],
  ['routerId with a leading zero', 'routerId: 10.0.0.01\n', 'routerId', /got "10.0.0.01"$/],
  // asn
  ['asn 0', withId('asn: 0\n'), 'asn', 'expected an AS number 1..4294967295, got 0'],
  ['asn too big', withId('asn: 4294967296\n'), 'asn', 'expected an AS number 1..4294967295, got 4294967296'],
  ['asn as a string', withId('asn: "64512"\n'), 'asn', 'expected an AS number 1..4294967295, got "64512"'],
  ['asn AS_TRANS', withId('asn: 23456\n'), 'asn', /got 23456 \(AS_TRANS, RFC 6793/],
  // unknown fields
  [
    'unknown field, other case',
    withId('holdtime: 90\n'),
    'holdtime',
    'unknown field (did you mean holdTime?)',
  ],
  [
    'unknown field, snake case',
    withId('hold_time: 90\n'),
    'hold_time',
    'unknown field (did you mean holdTime?)',
  ],
  [
    'unknown field, typo',
    withId('keepalivTime: 9\n'),
    'keepalivTime',
    'unknown field (did you mean keepaliveTime?)',
  ],
  ['unknown field, BIRD name', withId('neighbors: []\n'), 'neighbors', 'unknown field (did you mean peers?)'],
  [
    'unknown field, nothing close',
    withId('zzz: 1\n'),
    'zzz',
    /^unknown field \(known fields: routerId, asn, /,
  ],
  [
    'unknown peer field',
    withId('peers:\n  - { address: 10.0.0.2, asn: 1 }\n  - { address: 10.0.0.3, asn: 1, holdtime: 9 }\n'),
    'peers[1].holdtime',
    'unknown field (did you mean holdTime?)',
  ],
  [
    'unknown peer field, GoBGP name',
    withId('peers:\n  - { address: 10.0.0.2, peerAs: 1 }\n'),
    'peers[0].peerAs',
    'unknown field (did you mean asn?)',
  ],
  ['unknown nested field', withId('log: { lvl: info }\n'), 'log.lvl', 'unknown field (did you mean level?)'],
  // listen
  [
    'listen as a string',
    withId('listen: "yes"\n'),
    'listen',
    'expected false or a mapping {address, port}, got "yes"',
  ],
  ['listen port 0', withId('listen: { port: 0 }\n'), 'listen.port', 'expected an integer 1..65535, got 0'],
  [
    'listen port 65536',
    withId('listen: { port: 65536 }\n'),
    'listen.port',
    'expected an integer 1..65535, got 65536',
  ],
  [
    'listen address bad',
    withId('listen: { address: localhost }\n'),
    'listen.address',
    'expected an IPv4 or IPv6 address, got "localhost"',
  ],
  // holdTime, keepaliveTime, connectRetryTime, errorWaitTime
  ['holdTime 2', withId('holdTime: 2\n'), 'holdTime', 'expected 0 or an integer 3..65535 (seconds), got 2'],
  [
    'holdTime 65536',
    withId('holdTime: 65536\n'),
    'holdTime',
    'expected 0 or an integer 3..65535 (seconds), got 65536',
  ],
  [
    'holdTime fractional',
    withId('holdTime: 4.5\n'),
    'holdTime',
    'expected 0 or an integer 3..65535 (seconds), got 4.5',
  ],
  [
    'holdTime with a unit',
    withId('holdTime: 90s\n'),
    'holdTime',
    'expected 0 or an integer 3..65535 (seconds), got "90s"',
  ],
  [
    'keepaliveTime above holdTime / 3',
    withId('holdTime: 90\nkeepaliveTime: 31\n'),
    'keepaliveTime',
    'expected at most holdTime / 3 (30 for holdTime 90), got 31',
  ],
  ['keepaliveTime 0', withId('keepaliveTime: 0\n'), 'keepaliveTime', 'expected an integer 1..65535, got 0'],
  [
    'peer keepaliveTime above its holdTime / 3',
    withId('peers:\n  - { address: 10.0.0.2, asn: 1, holdTime: 9, keepaliveTime: 4 }\n'),
    'peers[0].keepaliveTime',
    'expected at most holdTime / 3 (3 for holdTime 9), got 4',
  ],
  [
    'peer holdTime below an inherited keepaliveTime',
    withId('keepaliveTime: 20\npeers:\n  - { address: 10.0.0.2, asn: 1, holdTime: 30 }\n'),
    'peers[0].holdTime',
    'expected 0 or at least 3 × keepaliveTime (60; keepaliveTime 20 is inherited: set it here too), got 30',
  ],
  [
    'connectRetryTime 0',
    withId('connectRetryTime: 0\n'),
    'connectRetryTime',
    'expected an integer 1..65535, got 0',
  ],
  [
    'errorWaitTime not a pair',
    withId('errorWaitTime: 5\n'),
    'errorWaitTime',
    'expected [min, max]: two integers 1..65535 (seconds), min <= max, got 5',
  ],
  [
    'errorWaitTime min > max',
    withId('errorWaitTime: [30, 5]\n'),
    'errorWaitTime',
    'expected min <= max, got a list [30,5]',
  ],
  [
    'errorWaitTime 0',
    withId('errorWaitTime: [0, 5]\n'),
    'errorWaitTime[0]',
    'expected an integer 1..65535, got 0',
  ],
  // families, addPath, extendedMessage, gracefulRestart
  [
    'families empty',
    withId('families: []\n'),
    'families',
    'expected a non-empty list of ipv4-unicast, ipv6-unicast, got a list []',
  ],
  [
    'families unknown',
    withId('families: [ipv4-multicast]\n'),
    'families[0]',
    'expected one of ipv4-unicast, ipv6-unicast, got "ipv4-multicast"',
  ],
  [
    'families duplicate',
    withId('families: [ipv4-unicast, ipv4-unicast]\n'),
    'families[1]',
    'duplicate family ipv4-unicast (also families[0])',
  ],
  ['addPath bad', withId('addPath: on\n'), 'addPath', 'expected one of off, receive, send, both, got "on"'],
  [
    'extendedMessage yes',
    withId('extendedMessage: yes\n'),
    'extendedMessage',
    'expected true or false, got "yes" (YAML 1.2 reads yes/no/on/off as strings: write true or false)',
  ],
  [
    'gracefulRestart restartTime 4096',
    withId('gracefulRestart: { restartTime: 4096 }\n'),
    'gracefulRestart.restartTime',
    'expected an integer 1..4095 (seconds; RFC 4724), got 4096',
  ],
  [
    'gracefulRestart a number',
    withId('gracefulRestart: 120\n'),
    'gracefulRestart',
    'expected true, false or a mapping {enabled, restartTime}, got 120',
  ],
  // nextHop
  [
    'nextHop.ipv4 IPv6',
    withId('nextHop: { ipv4: "fd00::1" }\n'),
    'nextHop.ipv4',
    'expected an IPv4 address, got "fd00::1" (an IPv6 address)',
  ],
  [
    'nextHop.ipv6 IPv4',
    withId('nextHop: { ipv6: 10.0.0.1 }\n'),
    'nextHop.ipv6',
    'expected an IPv6 address, got "10.0.0.1" (an IPv4 address)',
  ],
  [
    'nextHop unspecified',
    withId('nextHop: { ipv6: "::" }\n'),
    'nextHop.ipv6',
    'expected a unicast address, got "::" (the unspecified address)',
  ],
  // originate
  [
    'originate IPv4 host bits',
    withId('originate: [10.244.1.5/26]\n'),
    'originate[0]',
    'expected a prefix with no host bits set, got "10.244.1.5/26" (the last 6 bits must be zero, but 0.0.0.5 is set: did you mean 10.244.1.0/26?)',
  ],
  [
    'originate IPv6 host bits',
    withId('originate: ["fd00:10:244:1::41/122"]\n'),
    'originate[0]',
    'expected a prefix with no host bits set, got "fd00:10:244:1::41/122" (the last 6 bits must be zero, but ::1 is set: did you mean fd00:10:244:1::40/122?)',
  ],
  [
    'originate length 33',
    withId('originate: [10.0.0.0/33]\n'),
    'originate[0]',
    'expected an IPv4 or IPv6 prefix (address/length), got "10.0.0.0/33" (IPv4 prefix lengths are 0..32)',
  ],
  [
    'originate without a length',
    withId('originate: [10.0.0.0]\n'),
    'originate[0]',
    'expected an IPv4 or IPv6 prefix (address/length), got "10.0.0.0"',
  ],
  [
    'originate of a disabled family',
    withId('families: [ipv4-unicast]\noriginate: ["fd00::/64"]\n'),
    'originate[0]',
    'expected a prefix of an enabled family (ipv4-unicast), got "fd00::/64" (ipv6-unicast)',
  ],
  [
    'originate duplicate after canonicalisation',
    withId('originate: ["fd00::/64", "FD00:0::/64"]\n'),
    'originate[1]',
    'duplicate prefix fd00::/64 (also originate[0])',
  ],
  [
    'originate object without prefix',
    withId('originate: [{ med: 1 }]\n'),
    'originate[0].prefix',
    'expected an IPv4 or IPv6 prefix (address/length), got nothing (the field is required)',
  ],
  [
    'originate community out of range',
    withId('originate: [{ prefix: 10.0.0.0/8, communities: ["70000:1"] }]\n'),
    'originate[0].communities[0]',
    /^expected a community "AS:value" \(each 0..65535\), a uint32, or one of .*no-export.*, got "70000:1"$/,
  ],
  [
    'originate duplicate community',
    withId('originate: [{ prefix: 10.0.0.0/8, communities: [no-export, "65535:65281"] }]\n'),
    'originate[0].communities[1]',
    'duplicate community "65535:65281" (also originate[0].communities[0])',
  ],
  [
    'originate localPref negative',
    withId('originate: [{ prefix: 10.0.0.0/8, localPref: -1 }]\n'),
    'originate[0].localPref',
    'expected an integer 0..4294967295, got -1',
  ],
  [
    'originate unknown key',
    withId('originate: [{ prefix: 10.0.0.0/8, localPreference: 1 }]\n'),
    'originate[0].localPreference',
    'unknown field (did you mean localPref?)',
  ],
  // control, log
  [
    'control.socket too long',
    withId(`control: { socket: /${'x'.repeat(107)} }\n`),
    'control.socket',
    /^expected a path of at most 107 bytes \(the limit of a Unix socket address\), got ".*" \(108 bytes\)$/,
  ],
  [
    'control.socket empty',
    withId('control: { socket: "" }\n'),
    'control.socket',
    'expected a file path, got ""',
  ],
  [
    'log.level bad',
    withId('log: { level: verbose }\n'),
    'log.level',
    'expected one of trace, debug, info, warn, error, got "verbose"',
  ],
  // metrics
  [
    'metrics not a mapping',
    withId('metrics: 9473\n'),
    'metrics',
    'expected true, false or a mapping {address, port}, got 9473',
  ],
  [
    'metrics.port out of range',
    withId('metrics: { port: 70000 }\n'),
    'metrics.port',
    'expected an integer 1..65535, got 70000',
  ],
  [
    'metrics.address not an address',
    withId('metrics: { address: localhost }\n'),
    'metrics.address',
    'expected an IPv4 or IPv6 address, got "localhost"',
  ],
  [
    'metrics.port taken by listen',
    withId('listen: { port: 9473 }\nmetrics: true\n'),
    'metrics.port',
    "expected a port other than listen's (9473 on 0.0.0.0), got 9473",
  ],
  [
    'metrics unknown key',
    withId('metrics: { listen: "127.0.0.1:9473" }\n'),
    'metrics.listen',
    'unknown field (known fields: address, port)',
  ],
  // peers
  [
    'peers not a list',
    withId('peers: { a: 1 }\n'),
    'peers',
    'expected a list of peers, got a mapping {"a":1}',
  ],
  [
    'peer not a mapping',
    withId('peers: [10.0.0.2]\n'),
    'peers[0]',
    'expected a mapping {address, asn, ...}, got "10.0.0.2"',
  ],
  [
    'peer address missing',
    withId('peers: [{ asn: 1 }]\n'),
    'peers[0].address',
    'expected an IPv4 or IPv6 address, got nothing (the field is required)',
  ],
  [
    'peer asn missing',
    withId('peers: [{ address: 10.0.0.2 }]\n'),
    'peers[0].asn',
    'expected an AS number 1..4294967295, got nothing (the field is required)',
  ],
  [
    'peer address unspecified',
    withId('peers: [{ address: 0.0.0.0, asn: 1 }]\n'),
    'peers[0].address',
    'expected a unicast address, got "0.0.0.0" (the unspecified address)',
  ],
  [
    'peer address with a zone',
    withId('peers: [{ address: "fe80::1%eth0", asn: 1 }]\n'),
    'peers[0].address',
    'expected an IPv4 or IPv6 address, got "fe80::1%eth0" (zone indexes such as %eth0 are not supported)',
  ],
  [
    'peer address null',
    withId('peers:\n  - address:\n    asn: 1\n'),
    'peers[0].address',
    'expected an IPv4 or IPv6 address, got an empty value (null)',
  ],
  [
    'peer name with a dash',
    withId('peers: [{ address: 10.0.0.2, asn: 1, name: Mesh-1 }]\n'),
    'peers[0].name',
    'expected a name of letters, digits and _ ([A-Za-z0-9_]+), got "Mesh-1"',
  ],
  [
    'peer port 0',
    withId('peers: [{ address: 10.0.0.2, asn: 1, port: 0 }]\n'),
    'peers[0].port',
    'expected an integer 1..65535, got 0',
  ],
  [
    'peer localAddress of the other family',
    withId('peers: [{ address: 10.0.0.2, asn: 1, localAddress: "fd00::1" }]\n'),
    'peers[0].localAddress',
    'expected an IPv4 address like the peer address 10.0.0.2, got "fd00::1"',
  ],
  [
    'peer localAddress equal to its address',
    withId('peers: [{ address: "fd00::2", asn: 1, localAddress: "FD00:0::2" }]\n'),
    'peers[0].localAddress',
    `expected an address other than the peer's own (fd00::2), got "FD00:0::2"`,
  ],
  [
    'peer localAsn 0',
    withId('peers: [{ address: 10.0.0.2, asn: 1, localAsn: 0 }]\n'),
    'peers[0].localAsn',
    'expected an AS number 1..4294967295, got 0',
  ],
  [
    'peer passive as a string',
    withId('peers: [{ address: 10.0.0.2, asn: 1, passive: "true" }]\n'),
    'peers[0].passive',
    'expected true or false, got "true" (YAML 1.2 reads yes/no/on/off as strings: write true or false)',
  ],
  [
    'peer holdTime override',
    withId('peers: [{ address: 10.0.0.2, asn: 1, holdTime: 1 }]\n'),
    'peers[0].holdTime',
    'expected 0 or an integer 3..65535 (seconds), got 1',
  ],
  [
    'peer families override',
    withId('peers: [{ address: 10.0.0.2, asn: 1, families: ipv4-unicast }]\n'),
    'peers[0].families',
    'expected a non-empty list of ipv4-unicast, ipv6-unicast, got "ipv4-unicast"',
  ],
  [
    'peer password',
    withId('peers: [{ address: 10.0.0.2, asn: 1, password: secret }]\n'),
    'peers[0].password',
    'TCP MD5 signatures (RFC 2385) cannot be set from Node.js; remove the field (tern does not silently ignore it)',
  ],
  [
    'duplicate peer address and port',
    withId(
      'peers:\n  - { address: "fd00::2", asn: 1, name: a }\n  - { address: "FD00:0::2", asn: 1, name: b }\n',
    ),
    'peers[1].address',
    'duplicate peer [fd00::2]:179 (also peers[0])',
  ],
  [
    'duplicate names',
    withId(
      'peers:\n  - { address: 10.0.0.2, asn: 1, name: x }\n  - { address: 10.0.0.3, asn: 1, name: x }\n',
    ),
    'peers[1].name',
    'duplicate name x (also peers[0])',
  ],
  [
    'duplicate default names (same address, other port)',
    withId('peers:\n  - { address: 10.0.0.2, asn: 1 }\n  - { address: 10.0.0.2, asn: 1, port: 1179 }\n'),
    'peers[1].name',
    'duplicate name peer_10_0_0_2 (also peers[0]; it is the default name for 10.0.0.2: set name to tell them apart)',
  ],
  [
    'passive peer without a listener',
    withId('listen: false\npeers: [{ address: 10.0.0.2, asn: 1, passive: true }]\n'),
    'peers[0].passive',
    'a passive peer waits for a connection, but listen is false: tern does not listen',
  ],
  [
    'passive IPv6 peer, IPv4 listener',
    withId('peers: [{ address: "fd00::2", asn: 1, passive: true }]\n'),
    'peers[0].passive',
    'a passive IPv6 peer can never connect: listen.address 0.0.0.0 accepts IPv4 connections only (listen on "::" for both)',
  ],
  [
    'two passive peers that an incoming connection cannot tell apart',
    withId(
      'peers:\n  - { address: 10.0.0.2, asn: 1, passive: true }\n  - { address: 10.0.0.2, port: 1179, name: b, asn: 1, passive: true }\n',
    ),
    'peers[1].passive',
    'peers[0] is also passive with address 10.0.0.2: an incoming connection cannot tell them apart (make one of them active, or give them different localAddress)',
  ],
];

describe('metrics', () => {
  it('is off by default; true is 127.0.0.1:9473; address and port may be given', () => {
    expect(parseConfig(withId(''), 'm.yaml').metrics).toBeNull();
    expect(parseConfig(withId('metrics: false\n'), 'm.yaml').metrics).toBeNull();
    expect(parseConfig(withId('metrics: true\n'), 'm.yaml').metrics).toEqual({
      address: '127.0.0.1',
      port: 9473,
    });
    expect(parseConfig(withId('metrics: { address: "::", port: 9100 }\n'), 'm.yaml').metrics).toEqual({
      address: '::',
      port: 9100,
    });
    // the same port on another address than listen's is fine
    expect(
      parseConfig(withId('listen: { address: 127.0.0.2, port: 9473 }\nmetrics: true\n'), 'm.yaml').metrics,
    ).toEqual({ address: '127.0.0.1', port: 9473 });
  });
});

describe('maxPrefixes', () => {
  it('takes a number or {limit, restartTime}', () => {
    const c = parseConfig(
      withId(
        'peers:\n  - { address: 10.0.0.2, asn: 1, maxPrefixes: 100 }\n  - { address: 10.0.0.3, asn: 1, maxPrefixes: { limit: 5, restartTime: 10 } }\n',
      ),
      'mp.yaml',
    );
    expect(c.peers.map((p) => p.maxPrefixes)).toEqual([
      { limit: 100, restartTime: 60 },
      { limit: 5, restartTime: 10 },
    ]);
    expect(errorsOf(withId('peers:\n  - { address: 10.0.0.2, asn: 1, maxPrefixes: 0 }\n'))).toContainEqual(
      expect.objectContaining({ path: 'peers[0].maxPrefixes' }),
    );
  });
});

describe('route reflection settings', () => {
  it('reads reflector and rrClient, cluster id defaulting to the router id', () => {
    const c = parseConfig(
      withId(
        'reflector: true\npeers:\n  - { address: 10.0.0.2, asn: 64512, rrClient: true, nextHopSelf: self }\n',
      ),
      'rr.yaml',
    );
    expect(c.reflector).toEqual({ clusterId: c.routerId });
    expect(c.peers[0]).toMatchObject({ rrClient: true, nextHopSelf: 'self' });
    expect(parseConfig(withId('reflector: { clusterId: 1.1.1.1 }\n'), 'rr.yaml').reflector).toEqual({
      clusterId: '1.1.1.1',
    });
  });

  it('refuses rrClient on an eBGP peer or without reflector', () => {
    expect(
      errorsOf(withId('reflector: true\npeers:\n  - { address: 10.0.0.2, asn: 65001, rrClient: true }\n')),
    ).toContainEqual(
      expect.objectContaining({
        path: 'peers[0].rrClient',
        message: expect.stringMatching(/only an iBGP peer/),
      }),
    );
    expect(
      errorsOf(withId('peers:\n  - { address: 10.0.0.2, asn: 64512, rrClient: true }\n')),
    ).toContainEqual(
      expect.objectContaining({
        path: 'peers[0].rrClient',
        message: expect.stringMatching(/needs `reflector:`/),
      }),
    );
  });
});

describe('peers sharing an address', () => {
  it('are two peers when their local addresses differ (also both passive)', () => {
    const cfg = parseConfig(
      withId(
        'peers:\n  - { address: 10.0.0.2, asn: 1, passive: true, localAddress: 10.0.0.1 }\n  - { address: 10.0.0.2, name: b, asn: 1, passive: true, localAddress: 10.0.0.11 }\n',
      ),
      'shared.yaml',
    );
    expect(cfg.peers.map(peerKey)).toEqual(['10.0.0.2:179 from 10.0.0.1', '10.0.0.2:179 from 10.0.0.11']);
  });
});

describe('validation errors', () => {
  it.each(ERRORS)('%s', (_name, text, path, message) => {
    const errors = errorsOf(text);
    const hit = errors.find((e) => e.path === path);
    expect(hit, `no error at "${path}"; got ${JSON.stringify(errors)}`).toBeDefined();
    if (typeof message === 'string') expect(hit!.message).toBe(message);
    else expect(hit!.message).toMatch(message);
  });

  it('reports the problem once, where it is (a bad global is not repeated for every peer)', () => {
    const errors = errorsOf(
      withId(
        'holdTime: 9\nkeepaliveTime: 4\npeers:\n  - { address: 10.0.0.2, asn: 1 }\n  - { address: 10.0.0.3, asn: 1 }\n',
      ),
    );
    expect(errors.map((e) => e.path)).toEqual(['keepaliveTime']);
    // a document that is not a mapping says only that
    expect(errorsOf('')).toHaveLength(1);
    expect(errorsOf('[1, 2]')).toHaveLength(1);
  });

  it('allows what looks odd but is legal', () => {
    const ok = [
      // a peer address equal to routerId or listen.address
      'listen: { address: 10.0.0.2 }\npeers:\n  - { address: 10.0.0.1, asn: 1 }\n  - { address: 10.0.0.2, asn: 1 }\n',
      // the same address on two ports, with names
      'peers:\n  - { address: 127.0.0.1, port: 1790, asn: 1, name: a }\n  - { address: 127.0.0.1, port: 1791, asn: 1, name: b }\n',
      // holdTime 0 with any keepaliveTime; keepaliveTime exactly holdTime / 3
      'holdTime: 0\nkeepaliveTime: 100\npeers: [{ address: 10.0.0.2, asn: 1, holdTime: 30, keepaliveTime: 10 }]\n',
      // a passive IPv6 peer behind a "::" listener; one passive and one active peer at one address
      'listen: { address: "::" }\npeers:\n  - { address: "fd00::2", asn: 1, passive: true }\n',
      'peers:\n  - { address: 10.0.0.2, asn: 1, passive: true }\n  - { address: 10.0.0.2, port: 1179, name: b, asn: 1 }\n',
      // an IPv6 prefix enabled only on one peer
      'families: [ipv4-unicast]\noriginate: ["fd00::/64"]\npeers: [{ address: "fd00::2", asn: 1, families: [ipv6-unicast] }]\n',
      // communities in every form
      'originate: [{ prefix: 0.0.0.0/0, communities: ["0:0", "65535:65535", 7, no_export, BLACKHOLE] }]\n',
      // empty lists
      'peers: []\noriginate: []\n',
    ];
    for (const text of ok) expect(errorsOf(withId(text)), text).toEqual([]);
  });
});

describe('several errors at once', () => {
  it('collects every error, with file and path on each line', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig(fixture('bad-many.yaml'));
    } catch (e) {
      if (e instanceof ConfigError) error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.name).toBe('ConfigError');
    expect(error!.file).toBe(fixture('bad-many.yaml'));
    expect(error!.path).toBe('routerId');
    expect(error!.errors.map((e) => e.path)).toEqual([
      'routerId',
      'asn',
      'holdTime',
      'addPath',
      'peers[0].holdtime',
      'peers[1].password',
      'peers[1].address',
      'peers[2].address',
      'peers[2].asn',
      'originate[0]',
    ]);
    const lines = error!.message.split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(
      `${fixture('bad-many.yaml')}: routerId: expected an IPv4 address (dotted quad) other than 0.0.0.0, got "10.0.0.256"`,
    );
    expect(lines[4]).toBe(
      `${fixture('bad-many.yaml')}: peers[0].holdtime: unknown field (did you mean holdTime?)`,
    );
  });
});

describe('YAML syntax errors', () => {
  it('give <file>:<line>:<col>: <message>', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig(fixture('bad-syntax.yaml'));
    } catch (e) {
      if (e instanceof ConfigError) error = e;
    }
    expect(error!.errors[0]).toMatchObject({ path: '', line: 5, col: 3 });
    expect(error!.message.split('\n')[0]).toMatch(
      new RegExp(`^${fixture('bad-syntax.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:3: .*\\]`),
    );
  });

  it('refuse duplicate keys, tabs, several documents and unknown tags, with their locations', () => {
    expect(errorsOf('routerId: 10.0.0.1\nasn: 1\nasn: 2\n')[0]).toMatchObject({
      line: 3,
      col: 1,
      message: 'Map keys must be unique',
    });
    expect(errorsOf('routerId: 10.0.0.1\npeers:\n\t- {}\n')[0]).toMatchObject({ line: 3 });
    expect(errorsOf('routerId: 10.0.0.1\n---\nasn: 1\n')[0]).toMatchObject({
      line: 2,
      message: 'the file holds more than one YAML document; tern reads exactly one',
    });
    expect(errorsOf('routerId: !ip 10.0.0.1\n')[0]).toMatchObject({
      line: 1,
      message: 'Unresolved tag: !ip',
    });
  });

  it('say to quote an IPv6 address that ends with ":"', () => {
    expect(errorsOf('routerId: 10.0.0.1\nlisten:\n  address: ::\n')[0]).toMatchObject({
      line: 3,
      message: expect.stringMatching(
        /\(an IPv6 address that ends with ":", such as "::" or "fd00::", must be quoted\)$/,
      ),
    });
    expect(errorsOf('routerId: 10.0.0.1\nlisten:\n  address: "::"\n')).toEqual([]);
  });

  it('reads YAML 1.2: 64512:100 is a string, not a base-60 number', () => {
    const c = parseConfig(withId('originate: [{ prefix: 10.0.0.0/8, communities: [64512:100] }]\n'), 't');
    expect(c.originate[0]!.communities).toEqual([64512 * 65536 + 100]);
  });
});

describe('unreadable files', () => {
  it('name the file and the reason', () => {
    expect(() => loadConfig(fixture('no-such-file.yaml'))).toThrow(
      `${fixture('no-such-file.yaml')}: cannot read the file: no such file`,
    );
    expect(() => loadConfig(fixture(''))).toThrow(/cannot read the file: it is a directory$/);
  });
});

describe('samePeerSettings and peerKey', () => {
  const base =
    'peers:\n  - { address: 10.0.0.2, asn: 64512 }\n  - { address: "fd00::2", asn: 64512, port: 1179 }\n';
  const peersOf = (text: string): readonly PeerConfig[] => parseConfig(withId(text), 't').peers;

  it('keys peers by address and port', () => {
    expect(peersOf(base).map(peerKey)).toEqual(['10.0.0.2:179', '[fd00::2]:1179']);
  });

  it('is true for the same settings parsed twice, however they were written', () => {
    const a = peersOf(base)[1]!;
    const b = peersOf(
      'holdTime: 90\npeers:\n  - { address: "FD00:0:0::2", asn: 64512, port: 1179, families: [ipv6-unicast, ipv4-unicast] }\n',
    )[0]!;
    expect(a).not.toBe(b);
    expect(samePeerSettings(a, b)).toBe(true);
  });

  it('is false when any setting differs, including inherited ones', () => {
    const a = peersOf(base)[0]!;
    const variants = [
      'peers: [{ address: 10.0.0.2, asn: 64512, holdTime: 30 }]\n',
      'peers: [{ address: 10.0.0.2, asn: 64512, keepaliveTime: 30 }]\n',
      'peers: [{ address: 10.0.0.2, asn: 64512, localAddress: 10.0.0.1 }]\n',
      'peers: [{ address: 10.0.0.2, asn: 64512, name: Mesh_10_0_0_2 }]\n',
      'peers: [{ address: 10.0.0.2, asn: 64512, families: [ipv4-unicast] }]\n',
      'peers: [{ address: 10.0.0.2, asn: 64512, gracefulRestart: { restartTime: 121 } }]\n',
      'peers: [{ address: 10.0.0.2, asn: 64512, errorWaitTime: [5, 31] }]\n',
      'asn: 64513\npeers: [{ address: 10.0.0.2, asn: 64512 }]\n',
      'addPath: both\npeers: [{ address: 10.0.0.2, asn: 64512 }]\n',
    ];
    for (const v of variants) expect(samePeerSettings(a, peersOf(v)[0]!), v).toBe(false);
    const otherId = parseConfig(`routerId: 10.0.0.9\n${base}`, 't').peers[0]!;
    expect(samePeerSettings(a, otherId)).toBe(false);
  });
});

describe('tern check (runCheck)', () => {
  it('prints OK, the effective peers and the originated prefixes; exit 0', () => {
    const file = fixture('full.yaml');
    const r = run(file);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out).toEqual([
      `${file}: OK`,
      'Mesh_10_0_0_2 10.0.0.2:179 AS 65001 ibgp ipv4-unicast ipv6-unicast holdTime 60',
      'peer_fd00__3 [fd00::3]:1790 AS 65002 ebgp passive ipv6-unicast holdTime 0',
      'originate 10.244.1.0/26',
      'originate fd00:10:244:1::/122 communities 65001:100,no-export,65000:100 localPref 200 med 10',
    ]);
  });

  it('prints each error to err and exits 1', () => {
    const file = fixture('bad-password.yaml');
    const r = run(file);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `${file}: peers[0].password: TCP MD5 signatures (RFC 2385) cannot be set from Node.js; remove the field (tern does not silently ignore it)`,
    ]);
    expect(run(fixture('bad-many.yaml')).err).toHaveLength(10);
    const syntax = run(fixture('bad-syntax.yaml'));
    expect(syntax.code).toBe(1);
    expect(syntax.err[0]).toMatch(/bad-syntax\.yaml:5:3: /);
    expect(run(fixture('missing.yaml'))).toEqual({
      code: 1,
      out: [],
      err: [`${fixture('missing.yaml')}: cannot read the file: no such file`],
    });
  });

  it('prints warnings to err and still exits 0', () => {
    const file = fixture('warn-next-hop.yaml');
    const r = run(file);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe(`${file}: OK`);
    expect(r.err).toEqual([
      `warning: ${file}: peers[0].families: ipv6-unicast over an IPv4 session, but nextHop.ipv6 is not set: originated IPv6 prefixes have no IPv6 next hop for this peer`,
    ]);
  });

  it('--json prints the resolved config, which parses back to the same config', () => {
    const file = fixture('full.yaml');
    const r = run(file, true);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    const json = JSON.parse(r.out[0]!) as TernConfig;
    expect(json).toEqual(loadConfig(file));
    expect(run(fixture('bad-password.yaml'), true)).toMatchObject({ code: 1, out: [] });
  });
});

describe('examples/', () => {
  const dir = fileURLToPath(new URL('../../examples/', import.meta.url));
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    it(`${name} is a valid config`, () => {
      const cfg = loadConfig(`${dir}${name}`);
      expect(cfg.peers.length).toBeGreaterThan(0);
    });
  }
  it('reflector.yaml reflects to its node clients', () => {
    const cfg = loadConfig(`${dir}reflector.yaml`);
    expect(cfg.reflector).toEqual({ clusterId: '244.0.0.1' });
    expect(cfg.peers.filter((p) => p.rrClient).map((p) => p.name)).toEqual([
      'Node_10_0_0_1',
      'Node_10_0_0_2',
      'Node_10_0_0_3',
    ]);
  });
});
