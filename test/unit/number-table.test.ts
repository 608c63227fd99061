// NumberTable against a Map: random sets, gets, deletes and compactions (deletes inside forEach too)
// over prefix-like keys (integers below 2^38, many of them beyond the small integers), in insertion
// order and out of it; after every step the two agree on size, on each key asked for, and on forEach.

import { describe, expect, it } from 'vitest';
import { NumberTable } from '../../src/bgp/rib/number-table.js';
import { prng } from '../helpers/stream.js';

function same(t: NumberTable<string>, m: Map<number, string>): void {
  expect(t.size).toBe(m.size);
  const seen = new Map<number, string>();
  t.forEach((v, k) => {
    seen.set(k, v);
  });
  expect(seen).toEqual(m);
}

describe('NumberTable', () => {
  for (const seed of [1, 2, 3, 42]) {
    it(`behaves as a Map under random operations (seed ${seed})`, () => {
      const rnd = prng(seed);
      const t = new NumberTable<string>();
      const m = new Map<number, string>();
      // a pool of keys: /32-style keys far beyond 2^31, small ones, 0
      const pool = Array.from({ length: 3000 }, (_, i) =>
        i === 0 ? 0 : i % 3 === 0 ? i : Math.floor(rnd() * 2 ** 38),
      );
      for (let step = 0; step < 40_000; step++) {
        const k = pool[Math.floor(rnd() * pool.length)]!;
        const op = rnd();
        if (op < 0.45) {
          const v = `v${step}`;
          t.set(k, v);
          m.set(k, v);
        } else if (op < 0.7) {
          expect(t.get(k)).toBe(m.get(k));
        } else if (op < 0.72) {
          // get then set: the path that reuses the bucket `get` found (or did not find)
          expect(t.get(k)).toBe(m.get(k));
          t.set(k, `g${step}`);
          m.set(k, `g${step}`);
        } else if (op < 0.95) {
          expect(t.delete(k)).toBe(m.delete(k));
        } else if (op < 0.951) {
          t.compact(Math.floor(rnd() * 100));
          same(t, m);
        } else if (op < 0.952) {
          // every other key deleted from inside forEach
          let i = 0;
          t.forEach((_, key) => {
            if (i++ % 2 === 0) {
              t.delete(key);
              m.delete(key);
            }
          });
          same(t, m);
        } else {
          // keys asked for in insertion order (the cursor path)
          const keys: number[] = [];
          t.forEach((_, key) => {
            keys.push(key);
          });
          for (const key of keys.slice(0, 50)) expect(t.get(key)).toBe(m.get(key));
        }
      }
      same(t, m);
      for (const k of pool) expect(t.get(k)).toBe(m.get(k));
    });
  }

  it('grows to 300,000 keys and finds each, then empties and shrinks', () => {
    const t = new NumberTable<number>();
    const n = 300_000;
    const base = 2 ** 37;
    for (let i = 0; i < n; i++) t.set(base + i * 64, i);
    expect(t.size).toBe(n);
    let wrong = 0;
    for (let i = n - 1; i >= 0; i--) if (t.get(base + i * 64) !== i) wrong++;
    expect(wrong).toBe(0);
    expect(t.get(base + 1)).toBeUndefined();
    for (let i = 0; i < n; i++) if (!t.delete(base + i * 64)) wrong++;
    expect(wrong).toBe(0);
    t.compact();
    expect(t.size).toBe(0);
    t.set(5, 5);
    expect(t.get(5)).toBe(5);
  });
});
