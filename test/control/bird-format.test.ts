// The BIRD-compatible socket's replies as plain data: the reply framing, the command parser, and the
// layout of each table checked against lines that a real BIRD 1.6.8 (Debian's `bird`, Calico's BIRD
// generation) wrote on its socket for the same situations (captured with a raw client, quoted below).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsPathSegmentType, Origin } from '../../src/bgp/messages/iana.js';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import { parseCommand, parsePrefix, patternMatches, tokenize } from '../../src/control/bird/commands.js';
import {
  type BirdNet,
  type BirdProtocol,
  type BirdRoute,
  birdError,
  dateTime,
  formatAsPath,
  formatExtendedCommunity,
  memoryReply,
  memorySize,
  PROTOCOL_HEADING,
  protocolDetails,
  protocolRow,
  protocolsReply,
  type Reply,
  routeAttributeLines,
  routeLine,
  routesReply,
  shortTime,
  statusReply,
} from '../../src/control/bird/format.js';
import { Code, encodeReply, greeting, ReplyEncoder, type ReplyLine } from '../../src/control/bird/reply.js';

const tz = process.env['TZ'];
beforeAll(() => {
  // times below are written in UTC; BIRD (and tern) print local time
  process.env['TZ'] = 'UTC';
});
afterAll(() => {
  if (tz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = tz;
});

/** A reply as the text a client reads. */
function text(r: Reply): string {
  const lines: ReplyLine[] = [];
  for (;;) {
    const step = r.next();
    if (step.done) return encodeReply(lines, step.value);
    lines.push(step.value);
  }
}

const T0 = Date.UTC(2026, 11, 2, 14, 29, 38);
const NOW = T0 + 21_000;

const established: BirdProtocol = {
  name: 'Mesh_127_0_0_2',
  proto: 'BGP',
  state: 'up',
  since: Date.UTC(2026, 11, 2, 14, 29, 48),
  routes: { imported: 1, exported: 1, preferred: 1 },
  bgp: {
    state: 'Established',
    neighborAddress: '127.0.0.2',
    neighborAs: 64512,
    established: {
      neighborId: '10.0.0.2',
      neighborCaps: ['refresh', 'enhanced-refresh', 'restart-able', 'AS4'],
      session: ['internal', 'AS4'],
      sourceAddress: '127.0.0.1',
      holdTime: 90,
      keepaliveTime: 30,
    },
  },
};
const refused: BirdProtocol = {
  name: 'Mesh_127_0_0_9',
  proto: 'BGP',
  state: 'start',
  since: T0,
  routes: { imported: 0, exported: 0, preferred: 0 },
  bgp: {
    state: 'Active',
    lastError: 'Socket: Connection refused',
    neighborAddress: '127.0.0.9',
    neighborAs: 64512,
  },
};
const passive: BirdProtocol = {
  name: 'Node_127_0_0_8',
  proto: 'BGP',
  state: 'start',
  since: Date.UTC(2026, 11, 2, 14, 29, 47),
  routes: { imported: 0, exported: 0, preferred: 0 },
  bgp: { state: 'Passive', neighborAddress: '127.0.0.8', neighborAs: 64513 },
};
const static1: BirdProtocol = {
  name: 'static1',
  proto: 'Static',
  state: 'up',
  since: T0,
  routes: { imported: 1, exported: 0, preferred: 1 },
};

describe('BIRD reply framing (nest/cli.c cli_printf)', () => {
  it('writes "<code>-" for a new code, a space for the same code again, "<code> " last', () => {
    expect(
      encodeReply(
        [
          { code: 2002, text: 'heading' },
          { code: 1002, text: 'a' },
          { code: 1002, text: 'b' },
          { code: 1006, text: '  details' },
          { code: 1002, text: 'c' },
        ],
        { code: 0, text: '' },
      ),
    ).toBe('2002-heading\n1002-a\n b\n1006-  details\n1002-c\n0000 \n');
  });

  it('a one-line reply is its final line; the encoder starts afresh after it', () => {
    const enc = new ReplyEncoder();
    expect(enc.line({ code: 1011, text: 'x' })).toBe('1011-x\n');
    expect(enc.end({ code: 13, text: 'Daemon is up and running' })).toBe('0013 Daemon is up and running\n');
    expect(enc.line({ code: 1011, text: 'y' })).toBe('1011-y\n');
  });

  it('keeps each reply line one line', () => {
    expect(encodeReply([], { code: 8002, text: 'a\nb' })).toBe('8002 a b\n');
  });

  it('greets as BIRD does', () => {
    expect(greeting('1.6.8')).toBe('0001 BIRD 1.6.8 ready.\n');
  });
});

describe('show protocols (BIRD 1.6 proto_cmd_show, bgp_get_status)', () => {
  it('writes the heading and rows as BIRD 1.6.8 did on its socket', () => {
    // BIRD 1.6.8's own lines for the same three peers (2002-, 1002-/space rows, 0000):
    //   "2002-name     proto    table    state  since       info"
    //   " Mesh_127_0_0_2 BGP      master   up     14:29:48    Established   "
    //   " Mesh_127_0_0_9 BGP      master   start  14:29:38    Active        Socket: Connection refused"
    //   " Node_127_0_0_8 BGP      master   start  14:29:47    Passive       "
    //   " static1  Static   master   up     14:29:38    "
    expect(text(protocolsReply([static1, established, refused, passive], false, NOW))).toBe(
      [
        '2002-name     proto    table    state  since       info',
        '1002-static1  Static   master   up     14:29:38    ',
        ' Mesh_127_0_0_2 BGP      master   up     14:29:48    Established   ',
        ' Mesh_127_0_0_9 BGP      master   start  14:29:38    Active        Socket: Connection refused',
        ' Node_127_0_0_8 BGP      master   start  14:29:47    Passive       ',
        '0000 ',
        '',
      ].join('\n'),
    );
  });

  it('heads the table in lower case, the words calicoctl compares', () => {
    expect(PROTOCOL_HEADING.split(/\s+/)).toEqual(['name', 'proto', 'table', 'state', 'since', 'info']);
  });

  it('writes a date instead of the time once the change is 20 hours old', () => {
    expect(protocolRow({ ...static1, since: NOW - 20 * 3600_000 }, NOW)).toBe(
      'static1  Static   master   up     2026-12-01  ',
    );
    expect(shortTime(NOW - 20 * 3600_000 + 1000, NOW)).toBe('18:30:00');
  });

  it('details (1006) the way BIRD does, ending with an empty line', () => {
    const r = text(protocolsReply([refused], true, NOW));
    // BIRD 1.6.8: "1006-  Preference:     100" ... "   BGP state:          Active",
    // "     Neighbor address: 127.0.0.9", "     Neighbor AS:      64512",
    // "     Last error:       Socket: Connection refused", " ", "0000 "
    expect(r).toBe(
      [
        '2002-name     proto    table    state  since       info',
        '1002-Mesh_127_0_0_9 BGP      master   start  14:29:38    Active        Socket: Connection refused',
        '1006-  Routes:         0 imported, 0 exported, 0 preferred',
        '   BGP state:          Active',
        '     Neighbor address: 127.0.0.9',
        '     Neighbor AS:      64512',
        '     Last error:       Socket: Connection refused',
        ' ',
        '0000 ',
        '',
      ].join('\n'),
    );
    expect(protocolDetails(established)).toEqual([
      '  Routes:         1 imported, 1 exported, 1 preferred',
      '  BGP state:          Established',
      '    Neighbor address: 127.0.0.2',
      '    Neighbor AS:      64512',
      '    Neighbor ID:      10.0.0.2',
      '    Neighbor caps:    refresh enhanced-refresh restart-able AS4',
      '    Session:          internal AS4',
      '    Source address:   127.0.0.1',
      '    Hold time:        90',
      '    Keepalive time:   30',
      '',
    ]);
  });

  it('answers 8003 when nothing matches', () => {
    expect(text(protocolsReply([], false, NOW))).toBe('8003 No protocols match\n');
  });
});

describe("session errors in BIRD's words (bgp_err_classes)", () => {
  it.each([
    ['TCP connection failed: connect: connect ECONNREFUSED 127.0.0.9:179', 'Socket: Connection refused'],
    ['TCP connection failed: connect: connect ETIMEDOUT 10.0.0.9:179', 'Socket: Connection timed out'],
    ['TCP connection failed: connect: connect EHOSTUNREACH 10.0.0.9:179', 'Socket: No route to host'],
    ['TCP connection failed: connection closed', 'Socket: Connection closed'],
    ['TCP connection failed: read ECONNRESET', 'Socket: Connection reset by peer'],
    [
      'TCP connection failed: the peer opened a new session (it restarted)',
      'Socket: the peer opened a new session (it restarted)',
    ],
    [
      'received NOTIFICATION Cease / Administrative Shutdown: "maintenance"',
      'Received: Administrative Shutdown',
    ],
    ['received NOTIFICATION Hold Timer Expired / Unspecific', 'Received: Hold Timer Expired'],
    ['received NOTIFICATION OPEN Message Error / Bad Peer AS', 'Received: Bad Peer AS'],
    ['sent NOTIFICATION hold timer expired in OpenConfirm', 'BGP Error: hold timer expired in OpenConfirm'],
    ['manual stop, sent NOTIFICATION Cease / Peer De-configured', 'BGP Error: Cease / Peer De-configured'],
    ['something else', 'Error: something else'],
  ])('%s -> %s', (tern, bird) => {
    expect(birdError(tern)).toBe(bird);
  });
});

const attrs = (a: Partial<RouteAttributes>): RouteAttributes => ({ nextHop: '127.0.0.2', ...a });

describe('show route (BIRD 1.6 rt_show_rte, bgp_get_route_info, ea_show)', () => {
  const bgp: BirdRoute = {
    protocol: 'Mesh_127_0_0_2',
    kind: 'bgp',
    primary: true,
    reachable: true,
    since: Date.UTC(2026, 11, 2, 14, 29, 48),
    from: '127.0.0.2',
    attributes: attrs({ origin: Origin.IGP, asPath: [], localPref: 100 }),
  };
  const own: BirdRoute = {
    protocol: 'static1',
    kind: 'static',
    primary: true,
    reachable: true,
    since: T0,
    attributes: attrs({ origin: Origin.IGP, asPath: [] }),
  };

  it('writes route lines as BIRD 1.6.8 did (its blackhole static, a BGP route)', () => {
    // BIRD 1.6.8: " 10.244.1.0/26      blackhole [static1 14:29:38] * (200)"
    expect(routeLine('10.244.1.0/26', own, NOW)).toBe(
      '10.244.1.0/26      blackhole [static1 14:29:38] * (200)',
    );
    // BIRD 1.6.8 with a next hop it could not resolve:
    // "10.244.2.0/26      unreachable [Mesh_127_0_0_2 14:29:48 from 127.0.0.2] * (100/-) [i]"
    expect(routeLine('10.244.2.0/26', { ...bgp, reachable: false, from: '127.0.0.3' }, NOW)).toBe(
      '10.244.2.0/26      unreachable [Mesh_127_0_0_2 14:29:48 from 127.0.0.3] * (100/-) [i]',
    );
    expect(routeLine('10.244.2.0/26', bgp, NOW)).toBe(
      '10.244.2.0/26      via 127.0.0.2 [Mesh_127_0_0_2 14:29:48] * (100/?) [i]',
    );
  });

  it('names the origin AS, marks stale routes, leaves the prefix of further routes blank', () => {
    const ebgp: BirdRoute = {
      ...bgp,
      protocol: 'Node_127_0_0_8',
      primary: false,
      stale: true,
      attributes: attrs({
        origin: Origin.INCOMPLETE,
        asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [64513, 65001] }],
      }),
    };
    const nets: BirdNet[] = [{ prefix: '10.244.2.0/26', routes: [bgp, ebgp] }];
    expect(text(routesReply(nets, { all: false, primary: false, count: false, single: false }, NOW))).toBe(
      [
        '1007-10.244.2.0/26      via 127.0.0.2 [Mesh_127_0_0_2 14:29:48] * (100/?) [i]',
        '                    via 127.0.0.2 [Node_127_0_0_8 14:29:48] (100s/?) [AS65001?]',
        '0000 ',
        '',
      ].join('\n'),
    );
  });

  it('`all` adds the Type line (1008) and the attributes (1012) with BIRD names', () => {
    // BIRD 1.6.8: "1008-\tType: BGP unicast univ", "1012-\tBGP.origin: IGP", " \tBGP.as_path: ",
    // " \tBGP.next_hop: 127.0.0.2", " \tBGP.local_pref: 100"
    const nets: BirdNet[] = [{ prefix: '10.244.2.0/26', routes: [bgp] }];
    expect(text(routesReply(nets, { all: true, primary: false, count: false, single: true }, NOW))).toBe(
      [
        '1007-10.244.2.0/26      via 127.0.0.2 [Mesh_127_0_0_2 14:29:48] * (100/?) [i]',
        '1008-\tType: BGP unicast univ',
        '1012-\tBGP.origin: IGP',
        ' \tBGP.as_path: ',
        ' \tBGP.next_hop: 127.0.0.2',
        ' \tBGP.local_pref: 100',
        '0000 ',
        '',
      ].join('\n'),
    );
    // BIRD 1.6.8: "1008-\tType: static unicast univ" and nothing more for its blackhole static
    expect(routeAttributeLines(own)).toEqual([{ code: 1008, text: '\tType: static unicast univ' }]);
  });

  it('formats every attribute as ea_show does', () => {
    const lines = routeAttributeLines({
      ...bgp,
      attributes: attrs({
        origin: Origin.EGP,
        asPath: [
          { type: AsPathSegmentType.AS_SEQUENCE, asns: [64513] },
          { type: AsPathSegmentType.AS_SET, asns: [1, 2] },
        ],
        linkLocalNextHop: 'fe80::1',
        med: 10,
        localPref: 200,
        atomicAggregate: true,
        aggregator: { as: 65000, address: '10.0.0.9' },
        communities: [(64512 << 16) + 100, (65535 << 16) + 1],
        originatorId: '10.0.0.7',
        clusterList: ['10.0.0.1', '10.0.0.2'],
        extendedCommunities: [0x0002fc0000000001n],
        largeCommunities: [{ globalAdmin: 64512, localData1: 1, localData2: 2 }],
      }),
    }).map((l) => l.text);
    expect(lines).toEqual([
      '\tType: BGP unicast univ',
      '\tBGP.origin: EGP',
      '\tBGP.as_path: 64513 { 1 2 }',
      '\tBGP.next_hop: 127.0.0.2 fe80::1',
      '\tBGP.med: 10',
      '\tBGP.local_pref: 200',
      '\tBGP.atomic_aggr: ',
      '\tBGP.aggregator: 10.0.0.9 AS65000',
      '\tBGP.community: (64512,100) (65535,1)',
      '\tBGP.originator_id: 10.0.0.7',
      '\tBGP.cluster_list: 10.0.0.1 10.0.0.2',
      '\tBGP.ext_community: (rt, 64512, 1)',
      '\tBGP.large_community: (64512, 1, 2)',
    ]);
  });

  it('ext communities as ec_format', () => {
    expect(formatExtendedCommunity(0x0002fc0000000001n)).toBe('(rt, 64512, 1)');
    expect(formatExtendedCommunity(0x01030a0000010005n)).toBe('(ro, 10.0.0.1, 5)');
    expect(formatExtendedCommunity(0x0202000100000007n)).toBe('(rt, 65536, 7)');
    expect(formatExtendedCommunity(0x0300000000000001n)).toBe('(generic, 0x3000000, 0x1)');
    expect(formatAsPath([])).toBe('');
  });

  it('counts (0014), filters by protocol, keeps the first route with primary', () => {
    const other = { ...bgp, protocol: 'Node_127_0_0_8', primary: false };
    const nets: BirdNet[] = [
      { prefix: '10.244.1.0/26', routes: [own] },
      { prefix: '10.244.2.0/26', routes: [bgp, other] },
    ];
    const base = { all: false, primary: false, count: true, single: false };
    // BIRD 1.6.8: "0014 2 of 2 routes for 2 networks"
    expect(text(routesReply(nets, base, NOW))).toBe('0014 3 of 3 routes for 2 networks\n');
    expect(text(routesReply(nets, { ...base, protocol: 'Node_127_0_0_8' }, NOW))).toBe(
      '0014 1 of 3 routes for 2 networks\n',
    );
    expect(text(routesReply(nets, { ...base, primary: true }, NOW))).toBe(
      '0014 2 of 2 routes for 2 networks\n',
    );
    expect(text(routesReply(nets, { ...base, count: false, protocol: 'Node_127_0_0_8' }, NOW))).toBe(
      '1007-10.244.2.0/26      via 127.0.0.2 [Node_127_0_0_8 14:29:48] (100/?) [i]\n0000 \n',
    );
  });

  it('answers 8001 when a prefix finds nothing, 0000 for an empty table', () => {
    const o = { all: false, primary: false, count: false };
    // BIRD 1.6.8: "8001 Network not in table"
    expect(text(routesReply([], { ...o, single: true }, NOW))).toBe('8001 Network not in table\n');
    expect(text(routesReply([], { ...o, single: false }, NOW))).toBe('0000 \n');
  });
});

describe('show status and show memory (nest/cmds.c)', () => {
  const status = {
    version: '1.6.8',
    routerId: '10.0.0.1',
    now: Date.UTC(2026, 11, 2, 14, 29, 59),
    bootTime: T0,
    configuredAt: Date.UTC(2026, 11, 2, 14, 29, 47),
    gracefulRestart: false,
    reconfiguring: false,
  };

  it('writes the status as BIRD 1.6.8 did', () => {
    expect(text(statusReply(status))).toBe(
      [
        '1000-BIRD 1.6.8',
        '1011-Router ID is 10.0.0.1',
        ' Current server time is 2026-12-02 14:29:59',
        ' Last reboot on 2026-12-02 14:29:38',
        ' Last reconfiguration on 2026-12-02 14:29:47',
        '0013 Daemon is up and running',
        '',
      ].join('\n'),
    );
    expect(dateTime(T0)).toBe('2026-12-02 14:29:38');
  });

  it('reports a graceful restart with 0024 lines (what calico-node readiness looks for)', () => {
    const r = text(statusReply({ ...status, gracefulRestart: true, reconfiguring: true }));
    expect(r).toContain('\n0024-Graceful restart recovery in progress\n');
    expect(r.endsWith('0013 Reconfiguration in progress\n')).toBe(true);
  });

  it('sizes as print_size', () => {
    // BIRD 1.6.8: " Route attributes: 9772  B", " Routing tables:     35 kB"
    expect(memorySize('Route attributes:', 9772)).toBe('Route attributes: 9772  B');
    expect(memorySize('Routing tables:', 35 * 1024)).toBe('Routing tables:     35 kB');
    expect(memorySize('Total:', 300 * 1024 * 1024)).toBe('Total:             300 MB');
    expect(text(memoryReply({ heapUsed: 1, heapTotal: 2, external: 3, rss: 4 })).split('\n')[0]).toBe(
      '1018-BIRD memory usage',
    );
  });
});

describe('commands', () => {
  const ok = (line: string): unknown => {
    const r = parseCommand(line);
    if (!r.ok) throw new Error(`${line}: ${r.code} ${r.message}`);
    return r.command;
  };
  const err = (line: string): string => {
    const r = parseCommand(line);
    if (r.ok) throw new Error(`${line}: parsed`);
    return `${r.code} ${r.message}`;
  };

  it('parses what birdc, calicoctl and calico-node send', () => {
    expect(ok('show protocols')).toEqual({ kind: 'show protocols', all: false });
    expect(ok('show status')).toEqual({ kind: 'show status' });
    expect(ok('show protocols all Mesh_10_0_0_2')).toEqual({
      kind: 'show protocols',
      all: true,
      name: 'Mesh_10_0_0_2',
    });
    expect(ok('show protocols "Mesh_*"')).toEqual({ kind: 'show protocols', all: false, pattern: 'Mesh_*' });
    expect(ok('show memory')).toEqual({ kind: 'show memory' });
    expect(ok('configure')).toEqual({ kind: 'configure', mode: 'apply' });
    expect(ok('configure soft')).toEqual({ kind: 'configure', mode: 'apply' });
    expect(ok('configure check')).toEqual({ kind: 'configure', mode: 'check' });
    expect(ok('restrict')).toEqual({ kind: 'restrict' });
  });

  it('parses show route options in any order', () => {
    expect(ok('show route')).toEqual({
      kind: 'show route',
      query: { all: false, primary: false, filtered: false, count: false },
    });
    expect(ok('show route all protocol Mesh_10_0_0_2 for 10.244.1.7')).toEqual({
      kind: 'show route',
      query: {
        prefix: parsePrefix('10.244.1.7', 'longest'),
        protocol: 'Mesh_10_0_0_2',
        all: true,
        primary: false,
        filtered: false,
        count: false,
      },
    });
    expect(ok('show route 10.244.1.0/26 count table master')).toMatchObject({
      query: { prefix: { family: 'ipv4', match: 'exact' }, count: true },
    });
    expect(ok('show route for fd00:10:244::1 stats')).toMatchObject({
      query: { prefix: { family: 'ipv6', match: 'longest' }, count: true },
    });
  });

  it('answers like BIRD to what it does not parse', () => {
    // BIRD 1.6.8: "9001 syntax error" for "foo", "show", "show proto" (no abbreviations), ""
    expect(err('foo')).toBe('9001 syntax error');
    expect(err('show')).toBe('9001 syntax error');
    expect(err('show proto')).toBe('9001 syntax error');
    expect(err('')).toBe('9001 syntax error');
    expect(err('SHOW STATUS')).toBe('9001 syntax error');
    expect(err('show route 10.244.1.1/26')).toBe('9001 syntax error, invalid prefix 10.244.1.1/26');
    expect(err('show route 10.0.0.0/8 10.1.0.0/16')).toBe('9001 syntax error, only one prefix expected');
    expect(err('show route filter f')).toMatch(
      /^9001 syntax error, tern does not emulate 'show route filter'/,
    );
    expect(err('disable Mesh_10_0_0_2')).toMatch(/^9001 syntax error, tern does not emulate 'disable'/);
    expect(err('configure "other.conf"')).toMatch(/does not emulate/);
    expect(err('show protocols "unterminated')).toBe('9001 syntax error, unterminated string');
  });

  it('tokenizes quoted strings and matches BIRD patterns', () => {
    expect(tokenize('show protocols  "a b"')).toEqual([
      { text: 'show', quoted: false },
      { text: 'protocols', quoted: false },
      { text: 'a b', quoted: true },
    ]);
    expect(patternMatches('Mesh_*', 'Mesh_10_0_0_2')).toBe(true);
    expect(patternMatches('Mesh_10_0_0_?', 'Mesh_10_0_0_2')).toBe(true);
    expect(patternMatches('Mesh_10.*', 'Mesh_10_0')).toBe(false);
    expect(patternMatches('Node*', 'Mesh_1')).toBe(false);
  });

  it('reply codes are BIRD doc/reply_codes', () => {
    expect([
      Code.PROTOCOL_HEADING,
      Code.PROTOCOL_LIST,
      Code.ROUTE_LIST,
      Code.GRACEFUL_RESTART_STATUS,
    ]).toEqual([2002, 1002, 1007, 24]);
  });
});
