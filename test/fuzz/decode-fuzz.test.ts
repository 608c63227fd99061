// The decoder fuzz, bounded (the long run is `npm run fuzz`, bench/fuzz.ts, same engine): real messages
// (fixtures and the ExaBGP corpus) mutated with a fixed seed and decoded in varied contexts; every
// outcome must be a decoded message that re-encodes, or a BgpError that makes a valid NOTIFICATION.
// Runs: TERN_FUZZ_RUNS, else 400,000 in CI and 100,000 locally.

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CodecContext } from '../../src/bgp/messages/context.js';
import { type BgpMessage, decodeMessage } from '../../src/bgp/messages/message.js';
import { formatFinding, formatStats, loadSeeds, runFuzz } from '../helpers/fuzz.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNS = Number(process.env.TERN_FUZZ_RUNS ?? (process.env.CI ? 400_000 : 100_000));
const SEED = 20240601;

describe('decoder fuzz (mutated real messages)', () => {
  const { seeds, corpusMissing } = loadSeeds(ROOT);

  it('has seeds from the fixtures and the ExaBGP corpus', () => {
    expect(corpusMissing).toBeUndefined();
    expect(seeds.some((s) => s.name.startsWith('messages/'))).toBe(true);
    expect(seeds.filter((s) => s.name.startsWith('exabgp/')).length).toBeGreaterThan(50);
  });

  it('reports an exception that is not a BgpError, once per place, with the message that caused it', () => {
    const broken = (bytes: Uint8Array, ctx: CodecContext): BgpMessage => {
      if (bytes.length > 100 && bytes[18] === 2) throw new TypeError('a bug');
      return decodeMessage(bytes, ctx);
    };
    const stats = runFuzz({ iterations: 2000, seed: 1, seeds, decode: broken });
    expect(stats.findings['decode-threw']).toBeGreaterThan(1);
    expect(stats.distinct).toHaveLength(1);
    const f = stats.distinct[0]!;
    expect(f.kind).toBe('decode-threw');
    expect(f.bytes.length).toBeGreaterThan(100);
    expect(formatFinding(f)).toMatch(/TypeError: a bug/);
  });

  it('is deterministic for a seed', () => {
    const a = runFuzz({ iterations: 2000, seed: 7, seeds });
    const b = runFuzz({ iterations: 2000, seed: 7, seeds });
    expect({ ...a, elapsedMs: 0 }).toEqual({ ...b, elapsedMs: 0 });
  });

  it(`${RUNS} mutated messages: each decodes and re-encodes, or throws a valid BgpError`, () => {
    const stats = runFuzz({ iterations: RUNS, seed: SEED, seeds });
    const report = `${formatStats(stats)}\n${stats.distinct.map(formatFinding).join('\n')}`;
    console.log(`decoder fuzz, seed ${SEED}:\n${report}`);
    expect(stats.distinct, report).toEqual([]);
    // the mutations get past the header: most errors are UPDATE errors, and RFC 7606 cases are reached
    const updateErrors = Object.entries(stats.bgpErrors)
      .filter(([k]) => k.startsWith('3/'))
      .reduce((n, [, v]) => n + v, 0);
    expect(updateErrors).toBeGreaterThan(RUNS / 4);
    expect(Object.keys(stats.problems).length).toBeGreaterThanOrEqual(5);
    expect(stats.decoded).toBeGreaterThan(RUNS / 10);
  });
});
