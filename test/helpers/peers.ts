// PeerInfo fixtures for the RIB, export and reflection tests: an AS 64512 speaker with two
// route-reflector clients, two non-clients, two eBGP peers and its own (local) routes.

import { LOCAL_PEER_ID, type PeerInfo } from '../../src/bgp/rib/types.js';
import { deepFreeze } from './bytes.js';

export const AS = 64512;

export function peer(
  id: string,
  routerId: string,
  opts: { rrClient?: boolean; asn?: number } = {},
): PeerInfo {
  const asn = opts.asn ?? AS;
  return deepFreeze({
    id,
    address: routerId,
    asn,
    localAsn: AS,
    ibgp: asn === AS,
    routerId,
    rrClient: opts.rrClient ?? false,
  });
}

export const clientA = peer('A', '10.0.0.1', { rrClient: true });
export const clientB = peer('B', '10.0.0.2', { rrClient: true });
export const nonClientM = peer('M', '10.0.0.3');
export const nonClientN = peer('N', '10.0.0.4');
export const ebgpE = peer('E', '192.0.2.1', { asn: 65001 });
export const ebgpF = peer('F', '192.0.2.2', { asn: 65002 });
export const local = peer(LOCAL_PEER_ID, '10.0.0.100');
