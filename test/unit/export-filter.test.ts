// The export filter with plain data: rule order, the three matches, both families, added communities,
// and the config fields that declare it (messages for what is wrong).

import { describe, expect, it } from 'vitest';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../src/bgp/messages/iana.js';
import { parseIpv4Prefix, parseIpv6Prefix } from '../../src/bgp/messages/prefix.js';
import { ExportFilter, withCommunities } from '../../src/bgp/rib/export-filter.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { ExportRule } from '../../src/config/types.js';

const c = (a: number, b: number): number => ((a << 16) + b) >>> 0;

function rule(r: Partial<ExportRule> & Pick<ExportRule, 'action'>): ExportRule {
  const family =
    r.prefix === undefined ? undefined : r.prefix.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
  return { match: 'orLonger', communities: [], ...(family ? { family } : {}), ...r };
}

const v4 = (f: ExportFilter, p: string) => f.check(IPV4_UNICAST, parseIpv4Prefix(p)!);
const v6 = (f: ExportFilter, p: string) => f.check(IPV6_UNICAST, parseIpv6Prefix(p)!);

describe('ExportFilter', () => {
  const calico = new ExportFilter([
    rule({ prefix: '10.245.0.0/16', action: 'reject' }),
    rule({ prefix: '10.244.0.0/16', action: 'addCommunities', communities: [c(64512, 100)] }),
    rule({ prefix: '10.0.0.0/8', action: 'addCommunities', communities: [c(64512, 100), c(64512, 8)] }),
    rule({ prefix: '10.244.1.0/26', match: 'exact', action: 'accept' }),
    rule({ prefix: '10.244.1.0/26', match: 'longer', action: 'reject' }),
    rule({ prefix: 'fd00:10:244::/48', action: 'accept' }),
    rule({ prefix: '10.244.0.0/16', action: 'accept' }),
    rule({ action: 'reject' }),
  ]);

  it("decides by the first accept or reject that matches, in Calico's order", () => {
    expect(v4(calico, '10.245.3.0/26')).toBeUndefined(); // a pool with disableBGPExport
    expect(v4(calico, '10.245.0.0/16')).toBeUndefined(); // orLonger includes the prefix itself
    expect(v4(calico, '10.244.1.0/26')).toEqual([c(64512, 100), c(64512, 8)]); // the block
    expect(v4(calico, '10.244.1.7/32')).toBeUndefined(); // beneath the block
    expect(v4(calico, '10.244.1.0/25')).toEqual([c(64512, 100), c(64512, 8)]); // covers it: in the pool
    expect(v4(calico, '10.244.9.3/32')).toEqual([c(64512, 100), c(64512, 8)]); // a borrowed address
    expect(v4(calico, '0.0.0.0/0')).toBeUndefined();
    expect(v4(calico, '10.0.0.0/8')).toBeUndefined(); // communities added, then rejected at the end
    expect(v4(calico, '192.0.2.0/24')).toBeUndefined();
    expect(v6(calico, 'fd00:10:244:0:1::/122')).toEqual([]);
    expect(v6(calico, 'fd00:10:245::/122')).toBeUndefined();
    expect(v6(calico, '::/0')).toBeUndefined();
  });

  it('gives one array per combination of added communities', () => {
    expect(v4(calico, '10.244.5.0/26')).toBe(v4(calico, '10.244.6.0/26'));
    expect(v6(calico, 'fd00:10:244:1::/122')).toBe(v6(calico, 'fd00:10:244:2::/122'));
  });

  it('matches IPv6 prefixes bit by bit, also inside a 16-bit group', () => {
    const f = new ExportFilter([
      rule({ prefix: 'fd00:10:244:100::/56', action: 'accept' }),
      rule({ action: 'reject' }),
    ]);
    expect(v6(f, 'fd00:10:244:100::/64')).toEqual([]);
    expect(v6(f, 'fd00:10:244:1ff::/64')).toEqual([]);
    expect(v6(f, 'fd00:10:244:200::/64')).toBeUndefined();
    expect(v6(f, 'fd00:10:244::/54')).toBeUndefined(); // shorter than the rule
    expect(v4(f, '10.0.0.0/8')).toBeUndefined(); // an IPv6 rule never matches IPv4
    const odd = new ExportFilter([rule({ prefix: 'fd00:10:244:200::/55', action: 'reject' })]);
    expect(v6(odd, 'fd00:10:244:3ff::/64')).toBeUndefined();
    expect(v6(odd, 'fd00:10:244:200::/55')).toBeUndefined();
    expect(v6(odd, 'fd00:10:244:400::/64')).toEqual([]);
    expect(v6(odd, 'fd00:10:244:1ff::/64')).toEqual([]);
  });

  it('sends everything unchanged without rules, and after rules that do not decide', () => {
    const none = new ExportFilter([]);
    expect(none.empty).toBe(true);
    expect(v4(none, '0.0.0.0/0')).toEqual([]);
    const adds = new ExportFilter([
      rule({ prefix: '10.0.0.0/8', action: 'addCommunities', communities: [5] }),
    ]);
    expect(v4(adds, '10.1.0.0/16')).toEqual([5]);
    expect(v4(adds, '11.0.0.0/8')).toEqual([]);
  });

  it('appends only the communities a route lacks', () => {
    expect(withCommunities(undefined, [1, 2])).toEqual([1, 2]);
    const own = [2, 3];
    expect(withCommunities(own, [2])).toBe(own);
    expect(withCommunities(own, [1, 3])).toEqual([2, 3, 1]);
    expect(withCommunities(own, [])).toBe(own);
  });
});

describe('exportFilter in the config', () => {
  const base = 'routerId: 10.0.0.1\n';
  const errors = (yaml: string): string[] => {
    try {
      parseConfig(base + yaml, 't.yaml');
      return [];
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return e.errors.map((x) => `${x.path}: ${x.message}`);
    }
  };

  it('reads the rules with their defaults', () => {
    const cfg = parseConfig(
      `${base}exportFilter:\n  - { prefix: 10.244.0.0/16, action: addCommunities, communities: ["64512:100", no-export] }\n  - { prefix: "fd00::/48", match: exact, action: accept }\n  - { action: reject }\n`,
      't.yaml',
    );
    expect(cfg.exportFilter).toEqual([
      {
        prefix: '10.244.0.0/16',
        family: 'ipv4-unicast',
        match: 'orLonger',
        action: 'addCommunities',
        communities: [c(64512, 100), 0xffffff01],
      },
      { prefix: 'fd00::/48', family: 'ipv6-unicast', match: 'exact', action: 'accept', communities: [] },
      { match: 'orLonger', action: 'reject', communities: [] },
    ]);
  });

  it('names what is wrong in a rule', () => {
    expect(errors('exportFilter:\n  - { prefix: 10.244.0.0/16, action: addCommunities }\n')).toEqual([
      'exportFilter[0].communities: action addCommunities needs a non-empty list of communities',
    ]);
    expect(
      errors('exportFilter:\n  - { prefix: 10.244.0.0/16, action: accept, communities: ["1:1"] }\n'),
    ).toEqual([
      'exportFilter[0].communities: communities go with action addCommunities (an accept rule adds none)',
    ]);
    expect(errors('exportFilter:\n  - { match: exact, action: reject }\n')).toEqual([
      'exportFilter[0].match: match needs a prefix (a rule without one matches every route)',
    ]);
    expect(errors('exportFilter:\n  - { prefix: 10.244.0.0/16, action: deny }\n')).toEqual([
      'exportFilter[0].action: expected one of accept, reject, addCommunities, got "deny"',
    ]);
    expect(errors('exportFilter:\n  - { prefix: 10.244.0.1/16, action: accept }\n')[0]).toMatch(
      /^exportFilter\[0\]\.prefix: expected a prefix with no host bits set, got "10\.244\.0\.1\/16"/,
    );
    expect(errors('exportFilter:\n  - { prefx: 10.244.0.0/16, action: accept }\n')[0]).toMatch(
      /^exportFilter\[0\]\.prefx: unknown field.*prefix/,
    );
  });
});
