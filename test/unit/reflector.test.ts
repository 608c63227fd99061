// RFC 4456 reflection rules: who may receive a route learned from whom (section 6), the attributes a
// reflected route carries (section 8), and the loop checks on receipt (section 8).

import { describe, expect, it } from 'vitest';
import { Origin } from '../../src/bgp/messages/iana.js';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import type { PeerInfo } from '../../src/bgp/rib/types.js';
import {
  canReflect,
  isReflectionLoop,
  needsReflection,
  type ReflectorConfig,
  reflectAttributes,
  reflectorConfig,
} from '../../src/reflector/index.js';
import { deepFreeze } from '../helpers/bytes.js';
import { clientA, clientB, ebgpE, ebgpF, local, nonClientM, nonClientN } from '../helpers/peers.js';

const cfg: ReflectorConfig = deepFreeze({ routerId: '10.0.0.100', clusterId: '1.1.1.1' });

describe('canReflect (RFC 4456 6)', () => {
  const cases: [string, PeerInfo, PeerInfo, boolean][] = [
    ['client -> other client', clientA, clientB, true],
    ['client -> non-client', clientA, nonClientM, true],
    ['client -> eBGP', clientA, ebgpE, true],
    ['client -> itself', clientA, clientA, false],
    ['non-client -> client', nonClientM, clientA, true],
    ['non-client -> other non-client', nonClientM, nonClientN, false],
    ['non-client -> eBGP', nonClientM, ebgpE, true],
    ['non-client -> itself', nonClientM, nonClientM, false],
    ['eBGP -> client', ebgpE, clientA, true],
    ['eBGP -> non-client', ebgpE, nonClientM, true],
    ['eBGP -> other eBGP', ebgpE, ebgpF, true],
    ['eBGP -> itself', ebgpE, ebgpE, false],
    ['local -> client', local, clientA, true],
    ['local -> non-client', local, nonClientM, true],
    ['local -> eBGP', local, ebgpE, true],
  ];
  it.each(cases)('%s: %s', (_name, from, to, expected) => {
    expect(canReflect(from, to)).toBe(expected);
  });

  it('iBGP sessions presenting different local ASes are not reflection', () => {
    const otherAs: PeerInfo = { ...nonClientN, asn: 65100, localAsn: 65100 };
    expect(needsReflection(nonClientM, otherAs)).toBe(false);
    expect(canReflect(nonClientM, otherAs)).toBe(true);
  });

  it('needsReflection only for iBGP-learned routes towards iBGP peers', () => {
    expect(needsReflection(nonClientM, nonClientN)).toBe(true);
    expect(needsReflection(clientA, clientB)).toBe(true);
    expect(needsReflection(ebgpE, clientA)).toBe(false);
    expect(needsReflection(clientA, ebgpE)).toBe(false);
    // our own routes, even if the pseudo-peer were marked iBGP
    expect(needsReflection({ ...local, ibgp: true }, clientA)).toBe(false);
  });
});

const base: RouteAttributes = deepFreeze({
  origin: Origin.IGP,
  asPath: [],
  nextHop: '10.0.0.1',
  localPref: 100,
});

describe('reflectAttributes (RFC 4456 8)', () => {
  it('sets ORIGINATOR_ID to the router id of the peer the route came from and starts CLUSTER_LIST', () => {
    expect(reflectAttributes(base, clientA, cfg)).toStrictEqual({
      origin: Origin.IGP,
      asPath: [],
      nextHop: '10.0.0.1',
      localPref: 100,
      originatorId: '10.0.0.1',
      clusterList: ['1.1.1.1'],
    });
  });

  it('keeps an ORIGINATOR_ID already present and prepends to CLUSTER_LIST', () => {
    const attrs: RouteAttributes = deepFreeze({
      ...base,
      originatorId: '10.9.9.9',
      clusterList: ['2.2.2.2', '3.3.3.3'],
    });
    const snapshot = structuredClone(attrs);
    const out = reflectAttributes(attrs, nonClientM, cfg);
    expect(out).toStrictEqual({
      ...snapshot,
      originatorId: '10.9.9.9',
      clusterList: ['1.1.1.1', '2.2.2.2', '3.3.3.3'],
    });
    expect(attrs).toStrictEqual(snapshot);
    expect(out).not.toBe(attrs);
    expect(out.clusterList).not.toBe(attrs.clusterList);
  });

  it('uses the configured cluster id, which defaults to the router id', () => {
    expect(reflectorConfig('10.0.0.100')).toStrictEqual({ routerId: '10.0.0.100', clusterId: '10.0.0.100' });
    expect(reflectorConfig('10.0.0.100', '5.5.5.5')).toStrictEqual({
      routerId: '10.0.0.100',
      clusterId: '5.5.5.5',
    });
    expect(reflectAttributes(base, clientA, reflectorConfig('10.0.0.100')).clusterList).toStrictEqual([
      '10.0.0.100',
    ]);
  });
});

describe('isReflectionLoop (RFC 4456 8)', () => {
  it('our router id as ORIGINATOR_ID', () => {
    expect(isReflectionLoop({ ...base, originatorId: '10.0.0.100' }, cfg)).toBe('originator-id');
  });

  it('our cluster id anywhere in CLUSTER_LIST', () => {
    expect(isReflectionLoop({ ...base, clusterList: ['1.1.1.1'] }, cfg)).toBe('cluster-list');
    expect(isReflectionLoop({ ...base, clusterList: ['2.2.2.2', '1.1.1.1'] }, cfg)).toBe('cluster-list');
  });

  it('ORIGINATOR_ID is checked first', () => {
    expect(isReflectionLoop({ ...base, originatorId: '10.0.0.100', clusterList: ['1.1.1.1'] }, cfg)).toBe(
      'originator-id',
    );
  });

  it('no loop: other ids, or none', () => {
    expect(isReflectionLoop(base, cfg)).toBeUndefined();
    expect(
      isReflectionLoop({ ...base, originatorId: '10.0.0.1', clusterList: ['2.2.2.2', '3.3.3.3'] }, cfg),
    ).toBeUndefined();
    // the router id in CLUSTER_LIST is no loop when the cluster id differs
    expect(isReflectionLoop({ ...base, clusterList: ['10.0.0.100'] }, cfg)).toBeUndefined();
  });
});
