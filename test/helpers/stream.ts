// Helpers for byte-stream tests: fixture loading, a seeded PRNG, chunking and feeding a Framer.
// Byte building (hex, message, join) lives in bytes.ts.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { messageFromJson, messageToJson } from '../../src/bgp/json/index.js';
import { BgpError } from '../../src/bgp/messages/errors.js';
import type { Framer } from '../../src/bgp/messages/framer.js';
import { decodeMessage, encodeMessage } from '../../src/bgp/messages/message.js';
import { hex, thrown, toHex } from './bytes.js';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'messages');

/** 16 marker bytes, the length and the type: a bare message header, built without the encoder. */
export function header(length: number, type: number): Uint8Array {
  const h = new Uint8Array(19).fill(0xff);
  h[16] = length >> 8;
  h[17] = length & 255;
  h[18] = type;
  return h;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

export interface HexFixture {
  /** File name without extension, e.g. "notification-hold-timer-expired". */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Every fixtures/messages/*.hex (optionally only those starting with `prefix`), sorted by name. */
export function loadHexFixtures(prefix = ''): HexFixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.hex') && f.startsWith(prefix))
    .sort()
    .map((f) => ({ name: f.slice(0, -4), bytes: hex(readFileSync(join(FIXTURE_DIR, f), 'utf8')) }));
}

/** The parsed <name>.json beside <name>.hex. */
export function loadJsonFixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8'));
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** Cuts `bytes` into consecutive views at the given (increasing) positions. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Random chunks of 0..maxChunk bytes (empty chunks included on purpose). */
export function randomChunks(bytes: Uint8Array, rand: () => number, maxChunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const n = randInt(rand, maxChunk + 1);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Pushes every chunk and returns all messages the framer produced, in order. */
export function feed(framer: Framer, chunks: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  return out;
}

/** The BgpError `fn` throws (fails the test when it throws something else or returns normally). */
export function thrownBgpError(fn: () => unknown): BgpError {
  const e = thrown(fn);
  if (!(e instanceof BgpError)) throw new Error(`expected a BgpError, got ${String(e)}`);
  return e;
}

/**
 * The fixture checks (mqtt-packet parse/generate/mirror): decode(hex) == json, encode(json) == hex,
 * decode(encode(decoded)) == decoded.
 */
export function expectFixtureRoundTrip(fixture: HexFixture): void {
  const json = loadJsonFixture(fixture.name);
  const decoded = decodeMessage(fixture.bytes);
  expect(JSON.parse(JSON.stringify(messageToJson(decoded)))).toEqual(json);
  expect(toHex(encodeMessage(messageFromJson(json)))).toBe(toHex(fixture.bytes));
  expect(decodeMessage(encodeMessage(decoded))).toEqual(decoded);
}

/**
 * Registers the fixture tests for fixtures/messages/<prefix>*: the `required` ones exist, and each one
 * passes expectFixtureRoundTrip. Returns the fixtures for further checks.
 */
export function itRoundTripsFixtures(prefix: string, required: readonly string[]): HexFixture[] {
  const fixtures = loadHexFixtures(prefix);
  it(`has the hand-written fixtures ${required.join(', ')}`, () => {
    expect(fixtures.map((f) => f.name)).toEqual(expect.arrayContaining([...required]));
  });
  for (const f of fixtures) {
    it(`${f.name}: decode(hex) == json, encode(json) == hex, decode(encode(x)) == x`, () => {
      expectFixtureRoundTrip(f);
    });
  }
  return fixtures;
}
