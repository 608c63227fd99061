// The bulk mode's pure parts, with plain data: when a plan is carried out in bulk, when a piece ends,
// and how the follower sees that its new `ip monitor` is subscribed (/proc/<pid>/net/netlink).

import { describe, expect, it } from 'vitest';
import { netlinkSubscribed } from '../../src/kernel/follower.js';
import { bulkGoesOn, wantsBulk } from '../../src/kernel/writer.js';

// captured from `cat /proc/<pid>/net/netlink` of an `ip -n ns monitor label route link address`
const NETLINK = `sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
00000000230c5b7d 0   0          00000000 0        0        0     2        0        966274  
000000007aff027b 0   23478      04000551 0        0        0     2        0        967276  
0000000085dbce31 0   3762751291 00000000 0        0        0     2        0        967277  
0000000091dd4c8f 4   0          00000000 0        0        0     2        0        966280  
00000000b52b01ea 15  0          00000000 0        0        0     2        0        966277  
`;

describe('bulk mode', () => {
  it('is chosen from bulkMin keys due; 0 turns it off', () => {
    expect(wantsBulk(19_999, 20_000)).toBe(false);
    expect(wantsBulk(20_000, 20_000)).toBe(true);
    expect(wantsBulk(100_000, 0)).toBe(false);
    expect(wantsBulk(0, 1)).toBe(false);
  });

  it('starts no new round once a piece has lasted bulkMaxMs', () => {
    expect(bulkGoesOn({ since: 1000 }, 1000, 2000)).toBe(true);
    expect(bulkGoesOn({ since: 1000 }, 2999, 2000)).toBe(true);
    expect(bulkGoesOn({ since: 1000 }, 3000, 2000)).toBe(false);
  });

  it('sees the monitor subscribed: a NETLINK_ROUTE socket of its pid with groups', () => {
    expect(netlinkSubscribed(NETLINK, 23478)).toBe(true);
    // not yet bound with groups (ip's first socket, before `monitor` opens its own)
    expect(netlinkSubscribed(NETLINK.replace('04000551', '00000000'), 23478)).toBe(false);
    // another process, another protocol, nothing at all
    expect(netlinkSubscribed(NETLINK, 23479)).toBe(false);
    expect(netlinkSubscribed(NETLINK.replace(' 0   23478', ' 4   23478'), 23478)).toBe(false);
    expect(netlinkSubscribed('', 23478)).toBe(false);
  });
});
