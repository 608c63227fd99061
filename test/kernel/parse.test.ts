// Parsing iproute2's output, on text captured from `ip` (iproute2 6.1, Linux 6.x) in a namespace.

import { describe, expect, it } from 'vitest';
import { canonicalAddress, canonicalPrefix } from '../../src/kernel/address.js';
import {
  MonitorParser,
  parseProtocol,
  parseRouteDump,
  parseRouteText,
  parseTable,
  parseType,
  words,
} from '../../src/kernel/parse.js';
import { type KernelRoute, routeKey } from '../../src/kernel/route.js';

// `ip -N -j route show table main`
const V4_DUMP =
  '[{"dst":"default","gateway":"10.0.0.254","dev":"veth0","flags":[]},{"dst":"10.0.0.0/24","dev":"veth0","protocol":"2","scope":"253","prefsrc":"10.0.0.1","flags":[]},{"dst":"10.50.0.0/16","protocol":"12","flags":[],"nexthops":[{"gateway":"10.0.0.2","dev":"veth0","weight":1,"flags":[]},{"gateway":"10.0.0.3","dev":"veth0","weight":2,"flags":[]}]},{"dst":"10.51.0.0/16","gateway":"10.0.0.9","dev":"tunl0","protocol":"12","flags":["onlink"]},{"dst":"10.52.0.0/16","via":{"family":"inet6","host":"fd00::2"},"dev":"veth0","protocol":"12","flags":[]},{"dst":"10.98.0.0/16","tos":"0x10","gateway":"10.0.0.2","dev":"veth0","flags":[]},{"type":"7","dst":"10.99.0.0/16","metric":10,"flags":[]},{"type":"6","dst":"10.244.1.0/26","protocol":"80","flags":[]},{"dst":"10.244.1.5","dev":"cali1","scope":"253","flags":[]},{"dst":"10.53.0.0/16","gateway":"10.0.0.2","dev":"veth0","flags":["linkdown"],"metrics":[{"mtu":1400}]}]';

// `ip -N -j -6 route show table main`
const V6_DUMP =
  '[{"dst":"fd00::/64","dev":"veth0","protocol":"2","metric":256,"flags":[],"pref":"medium"},{"type":"6","dst":"fd00:10:244:1::/122","dev":"lo","protocol":"80","metric":1024,"flags":[],"pref":"medium"},{"dst":"fd00:50::/64","protocol":"12","metric":1024,"flags":[],"pref":"medium","nexthops":[{"gateway":"fd00::2","dev":"veth0","weight":1,"flags":[]},{"gateway":"fd00::3","dev":"veth0","weight":1,"flags":[]}]},{"dst":"fe80::/64","dev":"cali1","protocol":"2","metric":256,"flags":[],"pref":"medium"},{"dst":"default","gateway":"fd00::fe","dev":"veth0","metric":1024,"flags":[],"pref":"medium"},{"dst":"fd00:60::/64","from":"fd00:1::/64","gateway":"fd00::2","dev":"veth0","metric":1024,"flags":["linkdown"],"pref":"medium"},{"type":"7","dst":"default","dev":"lo","metric":7,"flags":[],"pref":"medium"}]';

const base = { scope: 0, table: 254, metric: 0, tos: 0 } as const;

function byPrefix(routes: readonly KernelRoute[], prefix: string): KernelRoute[] {
  return routes.filter((r) => r.prefix === prefix);
}

describe('ip -json route show', () => {
  it('reads every IPv4 route form: defaults left out, numeric fields, multipath, onlink, RFC 5549', () => {
    const { routes, problems } = parseRouteDump(V4_DUMP, 'ipv4-unicast', 254);
    expect(problems).toEqual([]);
    expect(routes).toHaveLength(10);
    expect(byPrefix(routes, '0.0.0.0/0')).toEqual([
      {
        ...base,
        family: 'ipv4-unicast',
        prefix: '0.0.0.0/0',
        length: 0,
        type: 'unicast',
        protocol: 3, // boot: iproute2 leaves it out
        nextHops: [{ gateway: '10.0.0.254', dev: 'veth0', onlink: false, weight: 1 }],
      },
    ]);
    expect(byPrefix(routes, '10.0.0.0/24')[0]).toMatchObject({
      protocol: 2,
      scope: 253,
      prefsrc: '10.0.0.1',
    });
    expect(byPrefix(routes, '10.50.0.0/16')[0]!.nextHops).toEqual([
      { gateway: '10.0.0.2', dev: 'veth0', onlink: false, weight: 1 },
      { gateway: '10.0.0.3', dev: 'veth0', onlink: false, weight: 2 },
    ]);
    expect(byPrefix(routes, '10.51.0.0/16')[0]!.nextHops).toEqual([
      { gateway: '10.0.0.9', dev: 'tunl0', onlink: true, weight: 1 },
    ]);
    expect(byPrefix(routes, '10.52.0.0/16')[0]!.nextHops[0]!.gateway).toBe('fd00::2');
    expect(byPrefix(routes, '10.98.0.0/16')[0]!.tos).toBe(16);
    expect(byPrefix(routes, '10.99.0.0/16')[0]).toMatchObject({
      type: 'unreachable',
      metric: 10,
      nextHops: [],
    });
    expect(byPrefix(routes, '10.244.1.0/26')[0]).toMatchObject({
      type: 'blackhole',
      protocol: 80,
      nextHops: [],
    });
    expect(byPrefix(routes, '10.244.1.5/32')[0]).toMatchObject({
      length: 32,
      type: 'unicast',
      nextHops: [{ dev: 'cali1', onlink: false, weight: 1 }],
    });
    expect(byPrefix(routes, '10.244.1.5/32')[0]!.nextHops[0]!.gateway).toBeUndefined();
  });

  it('reads IPv6: metrics, blackholes (their dev lo ignored), multipath, default, source routes', () => {
    const { routes, problems } = parseRouteDump(V6_DUMP, 'ipv6-unicast', 254);
    expect(problems).toEqual([]);
    expect(byPrefix(routes, 'fd00:10:244:1::/122')[0]).toMatchObject({
      family: 'ipv6-unicast',
      length: 122,
      type: 'blackhole',
      protocol: 80,
      metric: 1024,
      nextHops: [],
    });
    expect(byPrefix(routes, 'fd00:50::/64')[0]!.nextHops.map((h) => h.gateway)).toEqual([
      'fd00::2',
      'fd00::3',
    ]);
    const defaults = byPrefix(routes, '::/0');
    expect(defaults.map((r) => [r.type, r.metric])).toEqual([
      ['unicast', 1024],
      ['unreachable', 7],
    ]);
    expect(byPrefix(routes, 'fd00:60::/64')[0]!.from).toBe('fd00:1::/64');
  });

  it('reports elements it cannot read and keeps the rest; refuses output that is not a JSON list', () => {
    const { routes, problems } = parseRouteDump(
      '[{"dst":"10.1.0.0/16","dev":"x"},{"dst":"10.1.0.5/16"},{"dst":"10.2.0.0/16","type":"warp"}]',
      'ipv4-unicast',
      254,
    );
    expect(routes.map((r) => r.prefix)).toEqual(['10.1.0.0/16']);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^bad dst "10.1.0.5\/16"/);
    expect(problems[1]).toMatch(/^bad type "warp"/);
    expect(parseRouteDump('', 'ipv4-unicast', 254).routes).toEqual([]);
    expect(() => parseRouteDump('{"dst":"x"}', 'ipv4-unicast', 254)).toThrow(/JSON list/);
    expect(() => parseRouteDump('Error: ...', 'ipv4-unicast', 254)).toThrow();
  });

  it('accepts names where -N was not given (rt_protos names, type names)', () => {
    const { routes } = parseRouteDump(
      '[{"type":"blackhole","dst":"10.3.0.0/26","protocol":"bird","scope":"link","table":"main"}]',
      'ipv4-unicast',
      254,
    );
    expect(routes[0]).toMatchObject({ type: 'blackhole', protocol: 12, scope: 253, table: 254 });
  });
});

describe('ip monitor route (text)', () => {
  it('reads adds, deletes and types', () => {
    expect(parseRouteText('10.244.1.6 dev cali1 scope 253 ')).toEqual({
      kind: 'route',
      deleted: false,
      route: {
        ...base,
        family: 'ipv4-unicast',
        prefix: '10.244.1.6/32',
        length: 32,
        type: 'unicast',
        protocol: 3,
        scope: 253,
        nextHops: [{ dev: 'cali1', onlink: false, weight: 1 }],
      },
    });
    const del = parseRouteText('Deleted 7 10.244.2.0/26 proto 80 ');
    expect(del).toMatchObject({ kind: 'route', deleted: true, route: { type: 'unreachable', protocol: 80 } });
    expect(parseRouteText('6 10.244.2.0/26 proto 80')).toMatchObject({ route: { type: 'blackhole' } });
    expect(parseRouteText('blackhole 10.244.2.0/26 proto bird')).toMatchObject({
      route: { type: 'blackhole', protocol: 12 },
    });
  });

  it('tells the family of `default` by IPv6 preference and gateway', () => {
    expect(parseRouteText('default via 10.0.0.253 dev veth0 metric 5 ')).toMatchObject({
      route: { family: 'ipv4-unicast', prefix: '0.0.0.0/0', metric: 5 },
    });
    expect(parseRouteText('default via fd00::fd dev veth0 metric 5 pref medium')).toMatchObject({
      route: { family: 'ipv6-unicast', prefix: '::/0' },
    });
    expect(parseRouteText('7 default dev lo metric 7 pref medium')).toMatchObject({
      route: { family: 'ipv6-unicast', type: 'unreachable', nextHops: [] },
    });
    expect(parseRouteText('default via inet6 fe80::1 dev eth0')).toMatchObject({
      route: { family: 'ipv4-unicast', nextHops: [{ gateway: 'fe80::1', dev: 'eth0' }] },
    });
  });

  it('reads tables, metrics with lock, source routes, onlink and flags', () => {
    expect(parseRouteText('10.60.0.0/16 via 10.0.0.5 dev veth0 table 100 ')).toMatchObject({
      route: { table: 100 },
    });
    expect(parseRouteText('10.53.0.0/16 via 10.0.0.2 dev veth0 mtu lock 1400 ')).toMatchObject({
      kind: 'route',
    });
    expect(
      parseRouteText('fd00:60::/64 from fd00:1::/64 via fd00::2 dev veth0 metric 1024 pref medium'),
    ).toMatchObject({ route: { from: 'fd00:1::/64', metric: 1024 } });
    expect(parseRouteText('10.51.0.0/16 via 10.0.0.9 dev tunl0 proto 12 onlink linkdown ')).toMatchObject({
      route: { protocol: 12, nextHops: [{ gateway: '10.0.0.9', dev: 'tunl0', onlink: true, weight: 1 }] },
    });
  });

  it('says what it does not understand, and ignores cached routes', () => {
    expect(parseRouteText('10.1.0.0/16 encap mpls 100 via 10.0.0.2 dev eth0')).toMatchObject({
      kind: 'unparsed',
      reason: 'unknown keyword encap',
    });
    expect(parseRouteText('10.1.0.0/16 dev')).toMatchObject({ kind: 'unparsed' });
    expect(
      parseRouteText('fd00::5 via fe80::1 dev eth0 metric 1024 cache expires 598sec mtu 1280 pref medium'),
    ).toEqual({ kind: 'ignored', reason: 'a cached route' });
  });
});

describe('MonitorParser', () => {
  // `ip -N monitor label route link address`, as captured
  const STREAM = [
    '[ROUTE]10.244.1.6 dev cali1 scope 253 ',
    '[ROUTE]10.50.0.0/16 proto 12 ',
    '\tnexthop via 10.0.0.2 dev veth0 weight 1 ',
    '\tnexthop via 10.0.0.4 dev veth0 weight 1 ',
    '[ROUTE]Deleted 5 ff00::/8 dev cali1 table 255 proto 2 metric 256 pref medium',
    '[LINK]2: cali1@veth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group 0 ',
    '    link/[1] a6:3b:f9:46:17:0d brd ff:ff:ff:ff:ff:ff',
    '[ADDR]Deleted 2: cali1    inet 10.1.1.1/24 scope 0 cali1',
    '       valid_lft forever preferred_lft forever',
    '[LINK]Deleted 7: cali9@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group 0 ',
    '[NSID]current 0 nsid 1',
    '',
  ].join('\n');

  function parseAll(chunks: string[]) {
    const p = new MonitorParser();
    const out = [];
    for (const c of chunks) {
      out.push(...p.push(c));
      if (!p.midLine) out.push(...p.flush());
    }
    return out;
  }

  it('splits the stream into messages, multipath continuation lines included', () => {
    const events = parseAll([STREAM]);
    expect(events.map((e) => e.kind)).toEqual([
      'route',
      'route',
      'route',
      'link',
      'address',
      'link',
      'ignored',
    ]);
    expect(events[1]).toMatchObject({
      route: { prefix: '10.50.0.0/16', nextHops: [{ gateway: '10.0.0.2' }, { gateway: '10.0.0.4' }] },
    });
    expect(events[2]).toMatchObject({ deleted: true, route: { table: 255, type: 'multicast' } });
    expect(events[3]).toEqual({ kind: 'link', deleted: false, name: 'cali1', up: false });
    expect(events[4]).toEqual({ kind: 'address', deleted: true, dev: 'cali1', family: 'ipv4-unicast' });
    expect(events[5]).toEqual({ kind: 'link', deleted: true, name: 'cali9', up: true });
  });

  it('gives the same messages whatever the chunking (split at every byte)', () => {
    const whole = parseAll([STREAM]);
    for (let i = 1; i < STREAM.length; i++) {
      // a split inside a line never completes a message early; one between lines may (iproute2 writes a
      // message in one go), so compare only splits that keep each message's lines together
      const cut = STREAM.slice(0, i);
      const nextIsContinuation = /^\s/.test(STREAM.slice(i)) && STREAM[i - 1] === '\n';
      if (nextIsContinuation) continue;
      expect(parseAll([cut, STREAM.slice(i)])).toEqual(whole);
    }
    // one character at a time, without flushing in between
    const p = new MonitorParser();
    const out = [];
    for (const ch of STREAM) out.push(...p.push(ch));
    out.push(...p.flush());
    expect(out).toEqual(whole);
  });

  it('reports a continuation line that has lost its message', () => {
    const events = parseAll(['\tnexthop via 10.0.0.2 dev veth0 weight 1 \n']);
    expect(events).toEqual([
      {
        kind: 'unparsed',
        text: '\tnexthop via 10.0.0.2 dev veth0 weight 1 ',
        reason: 'a continuation line without its message',
      },
    ]);
  });
});

describe('the hot paths of parsing', () => {
  it('words: split at runs of spaces, tabs, newlines and CRs, no empty words', () => {
    expect(words('')).toEqual([]);
    expect(words('   ')).toEqual([]);
    expect(words('10.1.0.0/26 via 10.0.0.2')).toEqual(['10.1.0.0/26', 'via', '10.0.0.2']);
    expect(words(' a\t\tb \n\tnexthop  c\r\n')).toEqual(['a', 'b', 'nexthop', 'c']);
    const text = 'Deleted blackhole 10.244.1.0/26 proto 80\n\tnexthop via 10.0.0.2 dev eth0 weight 1 ';
    expect(words(text)).toEqual(text.split(/\s+/).filter((t) => t !== ''));
  });

  it('IPv4 text taken as it is only when canonical; anything else refused, as before', () => {
    expect(canonicalPrefix('10.1.2.0/24', 'ipv4-unicast')).toEqual({
      family: 'ipv4-unicast',
      prefix: '10.1.2.0/24',
      length: 24,
    });
    expect(canonicalPrefix('10.244.1.5', 'ipv4-unicast')).toEqual({
      family: 'ipv4-unicast',
      prefix: '10.244.1.5/32',
      length: 32,
    });
    expect(canonicalPrefix('default', 'ipv4-unicast')?.prefix).toBe('0.0.0.0/0');
    for (const bad of [
      '10.01.2.0/24',
      '10.1.2.0/024',
      '10.1.2.1/24',
      '10.1.2.0/33',
      '256.1.2.0/24',
      '10.1.2/24',
    ]) {
      expect(canonicalPrefix(bad, 'ipv4-unicast'), bad).toBeUndefined();
    }
    expect(canonicalAddress('10.0.0.2')).toBe('10.0.0.2');
    expect(canonicalAddress('10.0.0.02')).toBeUndefined();
    expect(canonicalAddress('10.0.0')).toBeUndefined();
    expect(canonicalAddress('FD00::0:2')).toBe('fd00::2');
  });

  it('a monitor message with a source prefix or a preferred source keeps them; without, the route has neither', () => {
    const plain = parseRouteText('10.1.0.0/26 via 10.0.0.2 dev eth0 proto 12');
    expect(plain.kind === 'route' && plain.route).toEqual({
      ...base,
      family: 'ipv4-unicast',
      prefix: '10.1.0.0/26',
      length: 26,
      type: 'unicast',
      protocol: 12,
      nextHops: [{ gateway: '10.0.0.2', dev: 'eth0', onlink: false, weight: 1 }],
    });
    expect(plain.kind === 'route' && Object.keys(plain.route)).not.toContain('from');
    const src = parseRouteText('10.0.0.0/24 dev eth0 proto 2 scope 253 src 10.0.0.1');
    expect(src.kind === 'route' && src.route.prefsrc).toBe('10.0.0.1');
    expect(src.kind === 'route' && src.route.nextHops).toEqual([{ dev: 'eth0', onlink: false, weight: 1 }]);
    const from = parseRouteText(
      'fd00:60::/64 from fd00:1::/64 via fd00::2 dev veth0 metric 1024 pref medium',
    );
    expect(from.kind === 'route' && from.route.from).toBe('fd00:1::/64');
    expect(from.kind === 'route' && from.route.metric).toBe(1024);
  });

  it('numeric fields: decimal text without the regular expression, the same answers as before', () => {
    // [text, protocol (<= 255), table (<= 2^32 - 1), type (RTN_* number or name)], as the parser
    // answered before its decimal fast path (a leading zero, a sign, blanks, an exponent: refused)
    const cases: [string | number, number | undefined, number | undefined, string | undefined][] = [
      ['0', 0, 0, 'unspec'],
      ['3', 3, 3, 'broadcast'],
      ['12', 12, 12, undefined],
      ['255', 255, 255, undefined],
      ['256', undefined, 256, undefined],
      ['012', undefined, undefined, undefined],
      ['00', undefined, undefined, undefined],
      ['', undefined, undefined, undefined],
      ['4294967295', undefined, 4294967295, undefined],
      ['4294967296', undefined, undefined, undefined],
      ['9999999999', undefined, undefined, undefined],
      ['12345678901', undefined, undefined, undefined],
      ['0x10', 16, 16, undefined],
      ['0xff', 255, 255, undefined],
      ['0x100', undefined, 256, undefined],
      ['bird', 12, undefined, undefined],
      ['kernel', 2, undefined, undefined],
      ['main', undefined, 254, undefined],
      ['local', undefined, 255, 'local'],
      ['1e3', undefined, undefined, undefined],
      [' 12', undefined, undefined, undefined],
      ['12 ', undefined, undefined, undefined],
      ['-1', undefined, undefined, undefined],
      ['+1', undefined, undefined, undefined],
      ['1.5', undefined, undefined, undefined],
      [7, 7, 7, 'unreachable'],
      [300, undefined, 300, undefined],
      [-1, undefined, undefined, undefined],
    ];
    for (const [v, protocol, table, type] of cases) {
      expect([parseProtocol(v), parseTable(v), parseType(v)], String(v)).toEqual([protocol, table, type]);
    }
  });

  it('flags: onlink and cache found among other entries, entries that are not strings ignored', () => {
    const dump = JSON.stringify([
      { dst: '10.1.0.0/26', gateway: '10.0.0.2', dev: 'tunl0', flags: [1, 'linkdown', 'onlink'] },
      { dst: '10.2.0.0/26', gateway: '10.0.0.2', dev: 'eth0', flags: [null, { onlink: true }] },
      { dst: '10.3.0.0/26', gateway: '10.0.0.2', dev: 'eth0', flags: 'onlink' },
      { dst: '10.4.0.0/26', gateway: '10.0.0.2', dev: 'eth0', flags: [2, 'cache'] },
      {
        dst: '10.5.0.0/26',
        protocol: '12',
        flags: ['onlink'],
        nexthops: [
          { gateway: '10.0.0.2', dev: 'tunl0', weight: 1, flags: ['onlink'] },
          { gateway: '10.0.0.3', dev: 'eth0', weight: 2, flags: ['dead', 7] },
        ],
      },
    ]);
    const { routes, problems } = parseRouteDump(dump, 'ipv4-unicast', 254);
    expect(problems).toEqual([]);
    expect(routes.map((r) => [r.prefix, r.nextHops.map((h) => h.onlink)])).toEqual([
      ['10.1.0.0/26', [true]],
      ['10.2.0.0/26', [false]],
      ['10.3.0.0/26', [false]],
      ['10.5.0.0/26', [true, false]],
    ]);
  });

  it('routeKey: table, prefix, metric, TOS and source prefix, as text', () => {
    const r = { table: 254, prefix: '10.1.0.0/26', metric: 0, tos: 0 };
    expect(routeKey(r)).toBe('254 10.1.0.0/26 0 0');
    expect(routeKey({ ...r, prefix: '10.98.0.0/16', tos: 16, table: 100 })).toBe('100 10.98.0.0/16 0 16');
    expect(routeKey({ table: 254, prefix: 'fd00:60::/64', metric: 1024, tos: 0, from: 'fd00:1::/64' })).toBe(
      '254 fd00:60::/64 1024 0 fd00:1::/64',
    );
  });
});
