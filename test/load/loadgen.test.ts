// The load generator's pure parts: who the clients are (plan.ts), what they send (encode.ts), and the
// exact count of what they receive (tally.ts), fed with UPDATEs decoded from tern's own encoder.

import { describe, expect, it } from 'vitest';
import { encodeClient } from '../../bench/loadgen/encode.js';
import { Plan } from '../../bench/loadgen/plan.js';
import { Tally } from '../../bench/loadgen/tally.js';
import { Framer } from '../../src/bgp/messages/framer.js';
import { AsPathSegmentType, Origin } from '../../src/bgp/messages/iana.js';
import { decodeMessage } from '../../src/bgp/messages/message.js';
import { formatIpv4Key, ipv4Key, parseIpv4 } from '../../src/bgp/messages/prefix.js';
import type { UpdateMessage } from '../../src/bgp/messages/update.js';

const plan = new Plan({ clients: 300, prefixesPerClient: 3, prefixLength: 30, prefixBase: '10.1.0.0' });

function update(keys: number[], nextHop: string, asns: number[], withdrawn: number[] = []): UpdateMessage {
  return {
    type: 'update',
    withdrawn: { afi: 1, prefixes: withdrawn },
    attributes: { origin: Origin.IGP, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns }], nextHop },
    nlri: { afi: 1, prefixes: keys },
  };
}

describe('load generator plan', () => {
  it('gives each client its own address, AS, next hop and prefixes', () => {
    expect(plan.client(0)).toEqual({
      index: 0,
      localAddress: '127.1.0.1',
      asn: 4200000001,
      bgpId: '100.64.0.1',
      nextHop: '100.64.0.1',
    });
    // 254 clients per /24: no .0, no .255
    expect(plan.client(253).localAddress).toBe('127.1.0.254');
    expect(plan.client(254).localAddress).toBe('127.1.1.1');
    expect(plan.prefixesOf(1).map(formatIpv4Key)).toEqual(['10.1.0.12/30', '10.1.0.16/30', '10.1.0.20/30']);
    const all = new Set<number>();
    for (let i = 0; i < plan.clients; i++) {
      for (const k of plan.prefixesOf(i)) {
        all.add(k);
        expect(plan.originOf(plan.slot(k))).toBe(i);
      }
    }
    expect(all.size).toBe(plan.total);
    expect(plan.slot(ipv4Key(parseIpv4('10.1.0.12')!, 32))).toBe(-1);
    expect(plan.slot(ipv4Key(parseIpv4('10.0.255.252')!, 30))).toBe(-1);
    expect(plan.slot(ipv4Key(parseIpv4('10.1.0.0')!, 30) + 64 * 4 * plan.total)).toBe(-1);
  });

  it('refuses AS ranges across AS_TRANS or 65535', () => {
    expect(() => new Plan({ clients: 1000, prefixesPerClient: 1, firstAsn: 65001 })).toThrow(/65535/);
    expect(() => new Plan({ clients: 10, prefixesPerClient: 1, firstAsn: 23450 })).toThrow(/23456/);
  });

  it('pre-encodes OPEN and packed UPDATEs that decode to the plan', () => {
    const big = new Plan({ clients: 2, prefixesPerClient: 2000, prefixLength: 32 });
    const wire = encodeClient(big, big.client(1), {
      holdTime: 9,
      ibgp: false,
      announce: true,
      endOfRib: true,
    });
    const open = decodeMessage(wire.open);
    expect(open).toMatchObject({ type: 'open', myAs: 23456, holdTime: 9, bgpId: '100.64.0.2' });
    const msgs = new Framer().push(wire.updates);
    expect(msgs.length).toBe(wire.updateCount + 1); // End-of-RIB last
    expect(wire.updateCount).toBe(3); // 2000 /32s, 5 bytes each, at most 4096 bytes a message
    const tally = new Tally(big, 0, { kind: 'originator' });
    for (const m of msgs) tally.onUpdate(decodeMessage(m) as UpdateMessage, 1);
    expect(tally.snapshot).toMatchObject({
      held: 2000,
      expected: 2000,
      endOfRib: 1,
      badNextHop: 0,
      badOriginAs: 0,
    });
    expect(tally.complete).toBe(true);
  });
});

describe('load generator tally', () => {
  const a = plan.prefixesOf(1);
  const b = plan.prefixesOf(2);

  it('counts each prefix once, duplicates, withdrawals, own and foreign prefixes apart', () => {
    const t = new Tally(plan, 0, { kind: 'fixed', address: '127.0.0.1' });
    t.onUpdate(update(a, '127.0.0.1', [64512, plan.asnOf(1)]), 10);
    t.onUpdate(update([a[0]!], '127.0.0.1', [64512, plan.asnOf(1)]), 11);
    t.onUpdate(update(plan.prefixesOf(0), '127.0.0.1', [64512, plan.asnOf(0)]), 12);
    t.onUpdate(update([ipv4Key(parseIpv4('192.0.2.0')!, 24)], '127.0.0.1', [64512]), 13);
    t.onUpdate(update([], '127.0.0.1', [64512], [a[1]!, b[0]!]), 14);
    expect(t.snapshot).toMatchObject({
      held: 2,
      expected: plan.total - 3,
      announcements: 8,
      duplicates: 1,
      own: 3,
      foreign: 1,
      withdrawals: 2,
      withdrawnUnknown: 1,
      firstAt: 10,
      lastAt: 13,
    });
    expect(t.snapshot.fullAt).toBeUndefined();
    expect(t.snapshot.firstProblem).toBe('foreign prefix 192.0.2.0/24');
  });

  it('checks the next hop and the origin AS against the originating client', () => {
    const t = new Tally(plan, 0, { kind: 'originator' });
    t.onUpdate(update(a, plan.client(1).nextHop, [64512, plan.asnOf(1)]), 1);
    t.onUpdate(update(b, plan.client(1).nextHop, [64512, plan.asnOf(1)]), 2);
    expect(t.snapshot).toMatchObject({ held: 6, badNextHop: 3, badOriginAs: 3 });
    expect(t.snapshot.firstProblem).toBe(`${formatIpv4Key(b[0]!)} next hop 100.64.0.2`);
  });

  it('marks the time the last expected prefix arrived; a monitor expects every prefix', () => {
    const small = new Plan({ clients: 3, prefixesPerClient: 1 });
    const t = new Tally(small, 1, { kind: 'any' });
    t.onUpdate(update(small.prefixesOf(0), '127.0.0.1', [64512, small.asnOf(0)]), 5);
    t.onUpdate(update(small.prefixesOf(2), '127.0.0.1', [64512, small.asnOf(2)]), 7);
    expect(t.snapshot).toMatchObject({ held: 2, expected: 2, fullAt: 7 });
    expect(t.complete).toBe(true);
    const m = new Tally(small, undefined, { kind: 'any' });
    expect(m.snapshot.expected).toBe(3);
  });
});
