import { describe, expect, it } from 'vitest';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../src/bgp/messages/iana.js';
import { parseIpv4Prefix, parseIpv6Prefix } from '../../src/bgp/messages/prefix.js';
import { LocRib } from '../../src/bgp/rib/loc-rib.js';
import { usableNextHop } from '../../src/bgp/rib/next-hop.js';
import type { Route } from '../../src/bgp/rib/types.js';
import { local, nonClientM } from '../helpers/peers.js';

const OWN = new Set(['10.0.0.100', 'fd00::100']);
const usable = usableNextHop(OWN);

function route(nextHop: string, v6 = false, peer = nonClientM): Route {
  return v6
    ? {
        family: IPV6_UNICAST,
        prefix: parseIpv6Prefix('fd00:1::/64')!,
        peer,
        attributes: { nextHop, origin: 0, asPath: [] },
      }
    : {
        family: IPV4_UNICAST,
        prefix: parseIpv4Prefix('10.1.0.0/24')!,
        peer,
        attributes: { nextHop, origin: 0, asPath: [] },
      };
}

describe('usable next hops (until kernel resolution)', () => {
  it.each([
    ['10.0.0.3', false, true],
    ['127.0.0.2', false, true],
    ['0.0.0.0', false, false],
    ['224.0.0.5', false, false],
    ['255.255.255.255', false, false],
    ['10.0.0.100', false, false],
    ['fd00::3', true, true],
    ['::', true, false],
    ['ff02::1', true, false],
    ['fd00::100', true, false],
  ])('%s -> %s', (nh, v6, ok) => {
    expect(usable(route(nh, v6))).toBe(ok);
  });

  it('never rejects our own routes', () => {
    expect(usable(route('0.0.0.0', false, local))).toBe(true);
  });

  it('makes a route with an unusable next hop ineligible in the Loc-RIB', () => {
    const rib = new LocRib({ alwaysCompareMed: false, defaultLocalPref: 100, nextHopResolvable: usable });
    expect(rib.update(route('10.0.0.100'))).toBeUndefined();
    expect(rib.best(IPV4_UNICAST, parseIpv4Prefix('10.1.0.0/24')!)).toBeUndefined();
    expect(rib.update(route('10.0.0.3'))?.after?.attributes.nextHop).toBe('10.0.0.3');
  });
});
