// RFC 4456 8: CLUSTER_LIST, optional non-transitive, a sequence of 4-octet cluster ids.
// RFC 7606 7.10: a length that is not a non-zero multiple of 4: treat-as-withdraw.

import { AttrFlag, AttrType } from '../iana.js';
import { expectMultiple, readIpv4, writeIpv4 } from './common.js';
import type { AttrEntry } from './types.js';

export const clusterList: AttrEntry = {
  code: AttrType.CLUSTER_LIST,
  name: 'CLUSTER_LIST',
  flags: AttrFlag.OPTIONAL,
  onError: 'withdraw',
  decode(r, out) {
    const n = expectMultiple(r, 4, 'CLUSTER_LIST');
    const list: string[] = new Array(n);
    for (let i = 0; i < n; i++) list[i] = readIpv4(r, 'CLUSTER_LIST');
    out.clusterList = list;
  },
  present: (a) => a.clusterList !== undefined && a.clusterList.length > 0,
  encode(a, w) {
    for (const id of a.clusterList!) writeIpv4(w, id, 'CLUSTER_LIST');
  },
};
