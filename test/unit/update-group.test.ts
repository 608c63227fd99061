// The update group as plain data: what each member would receive, decoded from the bytes the group
// encodes, follows the per-member rules (not back to the source, not to the originator), a route that
// moves between sources is withdrawn from the member that can no longer have it, and a member catching
// up from the table ends up holding exactly what a member that took every chunk holds.

import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT } from '../../src/bgp/messages/context.js';
import { IPV4_UNICAST, IPV6_UNICAST, Origin } from '../../src/bgp/messages/iana.js';
import { decodeMessage } from '../../src/bgp/messages/message.js';
import { formatIpv4Key, parseIpv4Prefix, parseIpv6Prefix } from '../../src/bgp/messages/prefix.js';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import {
  type Chunk,
  entryOf,
  keyOf,
  type MemberIdentity,
  slicesFor,
  UpdateGroup,
} from '../../src/bgp/rib/update-group.js';

const A: MemberIdentity = { id: 'A', routerId: '10.0.0.1' };
const B: MemberIdentity = { id: 'B', routerId: '10.0.0.2' };
const C: MemberIdentity = { id: 'C', routerId: '10.0.0.3' };

function attrs(nextHop: string, originatorId?: string): RouteAttributes {
  return Object.freeze({
    origin: Origin.IGP,
    asPath: [],
    nextHop,
    localPref: 100,
    ...(originatorId ? { originatorId } : {}),
  });
}

const key = (p: string): number => {
  const k = parseIpv4Prefix(p);
  if (k === undefined) throw new Error(p);
  return k;
};

/** A member's view: the routes it holds (prefix -> next hop), applying the messages in order. */
class View {
  readonly routes = new Map<string, string>();
  messages = 0;
  apply(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) {
      const length = (bytes[at + 16]! << 8) | bytes[at + 17]!;
      const m = decodeMessage(bytes.subarray(at, at + length));
      at += length;
      if (m.type !== 'update') throw new Error(`not an UPDATE: ${m.type}`);
      this.messages++;
      for (const p of m.withdrawn.prefixes) this.routes.delete(formatIpv4Key(p as number));
      for (const p of m.nlri.prefixes)
        this.routes.set(formatIpv4Key(p as number), m.attributes.nextHop ?? '?');
    }
  }
  take(chunk: Chunk | undefined, m: MemberIdentity): void {
    if (!chunk) return;
    const { parts, messages } = slicesFor(chunk, m);
    const before = this.messages;
    for (const p of parts) this.apply(p);
    expect(this.messages - before).toBe(messages);
  }
}

function group(): UpdateGroup {
  return new UpdateGroup('test', DEFAULT_CONTEXT);
}

describe('UpdateGroup', () => {
  it('never sends a route back to the member it came from, and shares the bytes', () => {
    const g = group();
    const fromA = attrs('100.64.0.1');
    const fromB = attrs('100.64.0.2');
    g.set(IPV4_UNICAST, key('10.1.0.0/26'), undefined, fromA, 'A');
    g.set(IPV4_UNICAST, key('10.1.0.64/26'), undefined, fromA, 'A');
    g.set(IPV4_UNICAST, key('10.2.0.0/26'), undefined, fromB, 'B');
    g.set(IPV4_UNICAST, key('10.9.0.0/24'), undefined, attrs('100.64.0.9'), undefined);
    const chunk = g.drain();
    expect(chunk).toBeDefined();
    const [a, b, c] = [new View(), new View(), new View()];
    a.take(chunk, A);
    b.take(chunk, B);
    c.take(chunk, C);
    expect([...a.routes.keys()].sort()).toEqual(['10.2.0.0/26', '10.9.0.0/24']);
    expect([...b.routes.keys()].sort()).toEqual(['10.1.0.0/26', '10.1.0.64/26', '10.9.0.0/24']);
    expect(c.routes.size).toBe(4);
    // every part a member writes is a view of the one chunk, not a copy
    for (const p of slicesFor(chunk!, A).parts) expect(p.buffer).toBe(chunk!.bytes.buffer);
    expect(g.advertisedTo(A)).toBe(2);
    expect(g.advertisedTo(B)).toBe(3);
    expect(g.advertisedTo(C)).toBe(4);
  });

  it('keeps a reflected route from the member whose router id is its ORIGINATOR_ID', () => {
    const g = group();
    // reflected from C, originated by B (another reflector sent it to us)
    g.set(IPV4_UNICAST, key('10.3.0.0/26'), undefined, attrs('100.64.0.2', B.routerId), 'C');
    const chunk = g.drain();
    const [a, b, c] = [new View(), new View(), new View()];
    a.take(chunk, A);
    b.take(chunk, B);
    c.take(chunk, C);
    expect(a.routes.has('10.3.0.0/26')).toBe(true);
    expect(b.routes.size).toBe(0);
    expect(c.routes.size).toBe(0);
    expect(g.advertisedTo(B)).toBe(0);
    expect(g.advertisedTo(C)).toBe(0);
    expect(g.advertisedTo(A)).toBe(1);
  });

  it('lists what each member was sent (show routes --export): the decoded views, route for route', () => {
    const g = group();
    g.set(IPV4_UNICAST, key('10.1.0.0/26'), undefined, attrs('100.64.0.1'), 'A');
    g.set(IPV4_UNICAST, key('10.3.0.0/26'), undefined, attrs('100.64.0.2', B.routerId), 'C');
    g.set(IPV4_UNICAST, key('10.9.0.0/24'), undefined, attrs('100.64.0.9'), undefined);
    g.set(IPV4_UNICAST, key('10.8.0.0/24'), undefined, attrs('100.64.0.8'), undefined);
    const chunks = [g.drain()];
    g.set(IPV4_UNICAST, key('10.8.0.0/24'), undefined, undefined, undefined); // withdrawn since
    chunks.push(g.drain());
    g.set(IPV4_UNICAST, key('10.7.0.0/24'), undefined, attrs('100.64.0.7'), undefined); // not drained
    for (const m of [A, B, C]) {
      const listed = new Map<string, string>();
      g.forEachHeldBy(m, (family, prefix, _id, a) => {
        expect(family).toBe(IPV4_UNICAST);
        listed.set(formatIpv4Key(prefix as number), a.nextHop ?? '?');
      });
      const view = new View();
      for (const c of chunks) view.take(c, m);
      expect(listed).toEqual(view.routes);
      expect(listed.size).toBe(g.advertisedTo(m));
      expect(listed.has('10.8.0.0/24')).toBe(false);
      expect(listed.has('10.7.0.0/24')).toBe(false);
      expect(listed.has('10.9.0.0/24')).toBe(true);
      expect(listed.has('10.1.0.0/26')).toBe(m !== A);
      expect(listed.has('10.3.0.0/26')).toBe(m === A);
    }
  });

  it('withdraws a route from the member that becomes its source, and tells only the holders of a withdrawal', () => {
    const g = group();
    const p = key('10.5.0.0/26');
    const views = new Map([A, B, C].map((m) => [m, new View()]));
    const all = (chunk: Chunk | undefined): void => {
      for (const [m, v] of views) v.take(chunk, m);
    };
    g.set(IPV4_UNICAST, p, undefined, attrs('100.64.0.1'), 'A');
    all(g.drain());
    expect(views.get(B)!.routes.get('10.5.0.0/26')).toBe('100.64.0.1');
    // the best route now comes from B: B must drop A's, A gets B's
    g.set(IPV4_UNICAST, p, undefined, attrs('100.64.0.2'), 'B');
    all(g.drain());
    expect(views.get(A)!.routes.get('10.5.0.0/26')).toBe('100.64.0.2');
    expect(views.get(B)!.routes.has('10.5.0.0/26')).toBe(false);
    expect(views.get(C)!.routes.get('10.5.0.0/26')).toBe('100.64.0.2');
    const before = views.get(B)!.messages;
    g.set(IPV4_UNICAST, p, undefined, undefined, undefined);
    all(g.drain());
    for (const v of views.values()) expect(v.routes.size).toBe(0);
    // B held nothing: it is not sent the withdrawal
    expect(views.get(B)!.messages).toBe(before);
  });

  it('coalesces changes per prefix before a drain, and sends nothing for a change undone', () => {
    const g = group();
    const p = key('10.6.0.0/26');
    g.set(IPV4_UNICAST, p, undefined, attrs('100.64.0.1'), 'A');
    g.set(IPV4_UNICAST, p, undefined, attrs('100.64.0.3'), 'A');
    expect(g.pendingCount).toBe(1);
    g.set(IPV4_UNICAST, p, undefined, undefined, undefined);
    expect(g.pendingCount).toBe(0);
    expect(g.drain()).toBeUndefined();
    const held = attrs('100.64.0.4');
    g.set(IPV4_UNICAST, p, undefined, held, 'A');
    g.drain();
    g.set(IPV4_UNICAST, p, undefined, attrs('100.64.0.5'), 'A');
    g.set(IPV4_UNICAST, p, undefined, held, 'A');
    expect(g.pendingCount).toBe(0);
  });

  it('drains in batches in the order changes were first made; an undone and redone change goes last', () => {
    const g = group();
    const a = attrs('100.64.0.1');
    const b = attrs('100.64.0.2', '10.0.0.9');
    const n = 50_000;
    const prefixes = Array.from({ length: n }, (_, i) => (((10 << 24) | (i << 6)) >>> 0) * 64 + 26);
    for (const p of prefixes) g.set(IPV4_UNICAST, p, undefined, a, 'A');
    // the first prefix: undone (nothing held yet, so nothing to send), then set again: now the last
    g.set(IPV4_UNICAST, prefixes[0]!, undefined, undefined, undefined);
    g.set(IPV4_UNICAST, prefixes[0]!, undefined, b, 'B');
    expect(g.pendingCount).toBe(n);
    const view = new View();
    const order: number[] = [];
    for (let chunk = g.drain(7_000); chunk; chunk = g.drain(7_000)) {
      view.take(chunk, C);
      const m = decodeMessage(chunk.bytes.subarray(0, (chunk.bytes[16]! << 8) | chunk.bytes[17]!));
      if (m.type === 'update') order.push(m.nlri.prefixes[0] as number);
    }
    expect(g.pendingCount).toBe(0);
    expect(view.routes.size).toBe(n);
    expect(view.routes.get(formatIpv4Key(prefixes[0]!))).toBe('100.64.0.2');
    // each batch starts where the last stopped
    expect(order.slice(0, 3)).toEqual([prefixes[1], prefixes[7_001], prefixes[14_001]]);
    // held per exclusion: A gets none of its own, the member with router id 10.0.0.9 not the reflected one
    expect(g.advertisedTo(C)).toBe(n);
    expect(g.advertisedTo(A)).toBe(1);
    expect(g.advertisedTo({ id: 'B', routerId: '10.0.0.9' })).toBe(n - 1);
    // a second round over the same prefixes: changes coalesce in place, the counts follow
    for (const p of prefixes) g.set(IPV4_UNICAST, p, undefined, b, 'B');
    for (const p of prefixes.slice(0, 10)) g.set(IPV4_UNICAST, p, undefined, undefined, undefined);
    expect(g.pendingCount).toBe(n);
    for (let chunk = g.drain(); chunk; chunk = g.drain()) view.take(chunk, C);
    expect(view.routes.size).toBe(n - 10);
    expect(g.advertisedTo(C)).toBe(n - 10);
    expect(g.advertisedTo(A)).toBe(n - 10);
    expect(g.advertisedTo({ id: 'B', routerId: '10.0.0.9' })).toBe(0);
  });

  it('brings a member that fell behind to exactly what an in-sync member holds', () => {
    const g = group();
    const inSync = new View();
    const behind = new View();
    const prefixes = Array.from({ length: 50 }, (_, i) => key(`10.7.${i}.0/24`));
    const round = (r: number): Chunk | undefined => {
      prefixes.forEach((p, i) => {
        // every round changes some routes, withdraws others, brings some back
        if ((i + r) % 5 === 0) g.set(IPV4_UNICAST, p, undefined, undefined, undefined);
        else g.set(IPV4_UNICAST, p, undefined, attrs(`100.64.${r}.${i % 3}`), i % 2 === 0 ? 'A' : 'B');
      });
      return g.drain();
    };
    const first = round(0);
    inSync.take(first, C);
    behind.take(first, C);
    const since = g.seq;
    g.beginSync(C, since);
    // the last round withdraws routes the member took in the first: only tombstones can tell it
    for (let r = 1; r < 7; r++) inSync.take(round(r), C);
    const { bytes, messages } = g.syncFor(C, since);
    behind.apply(bytes);
    expect(messages).toBeGreaterThan(0);
    expect(behind.routes).toEqual(inSync.routes);
    expect(behind.routes.size).toBe(g.advertisedTo(C));
  });

  it('gives a new member the whole table for it, and a full family again for a ROUTE-REFRESH', () => {
    const g = group();
    for (let i = 0; i < 20; i++)
      g.set(IPV4_UNICAST, key(`10.8.${i}.0/24`), undefined, attrs('100.64.0.1'), i < 5 ? 'A' : undefined);
    g.drain();
    const fresh = new View();
    fresh.apply(g.syncFor(A, 0).bytes);
    expect(fresh.routes.size).toBe(15);
    // nothing changed since the last batch, but the family is asked for in full
    const again = new View();
    again.apply(g.syncFor(A, g.seq, new Set([IPV4_UNICAST])).bytes);
    expect(again.routes).toEqual(fresh.routes);
    expect(g.syncFor(A, g.seq).bytes.length).toBe(0);
  });

  it('moves a member between groups: what only the old group had is withdrawn', () => {
    const old = group();
    const next = group();
    old.set(IPV4_UNICAST, key('10.10.0.0/24'), undefined, attrs('100.64.0.1'), undefined);
    old.set(IPV4_UNICAST, key('10.10.1.0/24'), undefined, attrs('100.64.0.1'), undefined);
    old.drain();
    next.set(IPV4_UNICAST, key('10.10.1.0/24'), undefined, attrs('100.64.0.9'), undefined);
    next.drain();
    const v = new View();
    v.apply(old.syncFor(A, 0).bytes);
    v.apply(next.syncFor(A, 0, new Set(), old).bytes);
    expect([...v.routes]).toEqual([['10.10.1.0/24', '100.64.0.9']]);
  });

  it('settles a table without encoding when nobody listens', () => {
    const g = group();
    g.set(IPV4_UNICAST, key('10.11.0.0/24'), undefined, attrs('100.64.0.1'), undefined);
    const c = g.drain(100, false);
    expect(c?.bytes.length).toBe(0);
    expect(g.advertisedTo(A)).toBe(1);
    const v = new View();
    v.apply(g.syncFor(A, 0).bytes);
    expect(v.routes.size).toBe(1);
  });
});

describe('table keys', () => {
  it('give back the prefix and path id they were made of, in both families', () => {
    const v4 = key('10.1.2.0/24');
    expect(entryOf(IPV4_UNICAST, keyOf(v4, undefined))).toEqual({ prefix: v4, pathId: undefined });
    expect(entryOf(IPV4_UNICAST, keyOf(v4, 7))).toEqual({ prefix: v4, pathId: 7 });
    expect(entryOf(IPV4_UNICAST, keyOf(0, 0))).toEqual({ prefix: 0, pathId: 0 });
    // 2300:: has 0x23 ('#') in its first character: the key's length, not a search, splits it
    for (const text of ['2001:db8::/32', '2300:23::/64', '::/0', '23:23:23:23:23:23:23:23/128']) {
      const v6 = parseIpv6Prefix(text);
      if (v6 === undefined) throw new Error(text);
      expect(entryOf(IPV6_UNICAST, keyOf(v6, undefined))).toEqual({ prefix: v6, pathId: undefined });
      expect(entryOf(IPV6_UNICAST, keyOf(v6, 4294967295))).toEqual({ prefix: v6, pathId: 4294967295 });
    }
  });
});
