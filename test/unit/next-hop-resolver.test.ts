import { describe, expect, it } from 'vitest';
import { NextHopResolver } from '../../src/fib-sync/next-hop-resolver.js';

function fakeKernel(routes: Map<string, boolean>) {
  const asked: string[] = [];
  return {
    asked,
    lookup: async (a: string): Promise<boolean> => {
      asked.push(a);
      return routes.get(a) ?? false;
    },
  };
}

describe('NextHopResolver', () => {
  it('answers false until the kernel has answered, then asks for a new selection once', async () => {
    const kernel = fakeKernel(new Map([['10.0.0.2', true]]));
    let changes = 0;
    const r = new NextHopResolver(kernel.lookup, () => changes++);
    expect(r.resolvable('10.0.0.2')).toBe(false);
    expect(r.resolvable('10.0.0.2')).toBe(false); // one lookup in flight, not two
    await r.settled();
    expect(kernel.asked).toEqual(['10.0.0.2']);
    expect(r.resolvable('10.0.0.2')).toBe(true);
    expect(changes).toBe(1);
  });

  it('a first answer of "unreachable" changes nothing; a later change does', async () => {
    const routes = new Map([['10.0.0.9', false]]);
    const kernel = fakeKernel(routes);
    let changes = 0;
    const r = new NextHopResolver(kernel.lookup, () => changes++);
    r.resolvable('10.0.0.9');
    await r.settled();
    expect(changes).toBe(0);
    routes.set('10.0.0.9', true);
    r.refresh();
    await r.settled();
    expect(r.resolvable('10.0.0.9')).toBe(true);
    expect(changes).toBe(1);
    routes.set('10.0.0.9', false);
    r.refresh();
    await r.settled();
    expect(r.resolvable('10.0.0.9')).toBe(false);
    expect(changes).toBe(2);
  });

  it('coalesces a burst of answers into one re-selection', async () => {
    const kernel = fakeKernel(
      new Map([...Array.from({ length: 50 }, (_, i) => [`10.0.1.${i}`, true] as const)]),
    );
    let changes = 0;
    const r = new NextHopResolver(kernel.lookup, () => changes++);
    for (let i = 0; i < 50; i++) r.resolvable(`10.0.1.${i}`);
    await r.settled();
    expect(changes).toBe(1);
  });
});
