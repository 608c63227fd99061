// The decoder fuzz engine, shared by test/fuzz/decode-fuzz.test.ts (bounded, in `npm test`) and
// bench/fuzz.ts (`npm run fuzz`, a million messages and more). Seeds are real messages:
// fixtures/messages/*.hex, fixtures/malformed/*.hex and the ExaBGP corpus in ../shared/conformance/
// (each with the codec context it was written for). Each run mutates one seed (fuzz-mutate.ts), decodes
// it in a context that is the seed's own half of the time and any other the rest (2-/4-octet AS, ADD-PATH
// for no family, IPv4, IPv6 or both, Extended Message on or off), and sorts the outcome:
// - decoded: then re-encoded (`encode(decode(x))`), and on a 4-octet AS context decoded again and
//   compared with the first decoding; on a 2-octet one only encoded, within the size limit (see
//   checkReencode in test/prop/arbitraries.ts, whose comparison helpers this uses);
// - a BgpError with a real code/subcode and an offset inside the message (counted by code/subcode);
// - anything else is a finding: a non-BgpError exception, a BgpError that would make an invalid
//   NOTIFICATION, an UPDATE "problem" that is no valid RFC 7606 error, or a re-encoding that throws,
//   cannot be decoded again, or decodes to something else.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CodecContext, makeContext } from '../../src/bgp/messages/context.js';
import { BgpError } from '../../src/bgp/messages/errors.js';
import { familyKey } from '../../src/bgp/messages/iana.js';
import { type BgpMessage, decodeMessage, encodeMessage } from '../../src/bgp/messages/message.js';
import {
  listFiles,
  neighborForStep,
  parseCi,
  parseDecoding,
  parseExaConf,
} from '../conformance/exabgp-corpus.js';
import { errorProblem, normalized, sameData } from '../prop/arbitraries.js';
import { message } from './bytes.js';
import { mutateMessage, pick, splitUpdate, type UpdateParts } from './fuzz-mutate.js';
import { prng } from './stream.js';

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The context the message was written for. */
  readonly ctx: CodecContext;
}

const V4 = familyKey(1, 1);
const V6 = familyKey(2, 1);

/** Every context the fuzz varies over: 2 x 4 x 2. */
export const FUZZ_CONTEXTS: readonly CodecContext[] = [true, false].flatMap((as4) =>
  [[], [V4], [V6], [V4, V6]].flatMap((families) =>
    [false, true].map((extendedMessage) => makeContext({ as4, addPath: new Set(families), extendedMessage })),
  ),
);

function hexBytes(text: string, where: string): Uint8Array {
  const clean = text.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error(`${where}: not hex`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** The context a fixtures/messages file is written for, by its name (as test/unit/update.test.ts reads it). */
function fixtureContext(name: string): CodecContext {
  if (name.endsWith('-as2')) return makeContext({ as4: false });
  if (name.endsWith('-addpath')) return makeContext({ addPath: new Set([V4, V6]) });
  return makeContext();
}

const TYPE_CODES: Readonly<Record<string, number>> = { open: 1, update: 2, notification: 3, keepalive: 4 };

/**
 * The seed messages: `root` is the project directory (fixtures/ in it), `corpus` the ExaBGP corpus
 * (default `<root>/../shared/conformance/exabgp/`; missing, it is left out and `corpusMissing` says so).
 */
export function loadSeeds(
  root: string,
  corpus = join(root, '..', 'shared', 'conformance', 'exabgp'),
): {
  seeds: Seed[];
  corpusMissing?: string;
} {
  const seeds: Seed[] = [];
  for (const sub of ['messages', 'malformed']) {
    const dir = join(root, 'fixtures', sub);
    for (const f of readdirSync(dir)
      .filter((x) => x.endsWith('.hex'))
      .sort()) {
      const name = f.slice(0, -4);
      const bytes = hexBytes(readFileSync(join(dir, f), 'utf8'), `fixtures/${sub}/${f}`);
      if (bytes.length >= 19) seeds.push({ name: `${sub}/${name}`, bytes, ctx: fixtureContext(name) });
    }
  }
  let corpusMissing: string | undefined;
  try {
    const enc = join(corpus, 'encoding/');
    for (const f of listFiles(enc, '.ci')) {
      const ci = parseCi(`encoding/${f}`, readFileSync(enc + f, 'utf8'));
      const conf = parseExaConf(ci.conf, readFileSync(join(corpus, 'etc', ci.conf), 'utf8'));
      for (const m of ci.messages) {
        const where = `exabgp/encoding/${f}:${m.line}`;
        seeds.push({ name: where, bytes: m.bytes, ctx: neighborForStep(conf, m.step, where).context });
      }
    }
    const dec = join(corpus, 'decoding/');
    for (const f of listFiles(dec)) {
      const c = parseDecoding(f, readFileSync(dec + f, 'utf8'));
      const type = TYPE_CODES[c.type];
      if (type === undefined) continue; // a bare NLRI
      const raw = hexBytes(c.hex, `decoding/${f}`);
      const bytes = /^f{32}/i.test(c.hex) ? raw : message(type, raw);
      seeds.push({ name: `exabgp/decoding/${f}`, bytes, ctx: makeContext({ extendedMessage: true }) });
    }
  } catch (e) {
    corpusMissing = `${corpus}: ${e instanceof Error ? e.message : String(e)}`;
  }
  return { seeds, ...(corpusMissing !== undefined ? { corpusMissing } : {}) };
}

export type FindingKind =
  | 'decode-threw'
  | 'invalid-error'
  | 'invalid-problem'
  | 'reencode-threw'
  | 'reencode-undecodable'
  | 'reencode-differs';

export interface Finding {
  readonly kind: FindingKind;
  /** Kind, exception name and first stack frame: one of each is reported and saved. */
  readonly signature: string;
  readonly bytes: Uint8Array;
  readonly ctx: CodecContext;
  readonly seed: string;
  readonly how: string;
  readonly detail: string;
  readonly iteration: number;
}

export interface FuzzStats {
  messages: number;
  decoded: number;
  /** Decoded, by message type. */
  decodedByType: Record<string, number>;
  /** Decoded UPDATEs carrying RFC 7606 problems (treat-as-withdraw or attribute discard). */
  updatesWithProblems: number;
  /** The problems of those, by "action code/subcode". */
  problems: Record<string, number>;
  /** BgpErrors by "code/subcode". */
  bgpErrors: Record<string, number>;
  reencoded: number;
  /** 2-octet AS re-encodings past the size limit (the AS4_PATH merge may need more room: accepted). */
  reencodeTooBigAs2: number;
  /** Every finding, by kind. */
  findings: Record<string, number>;
  /** The first finding of each signature. */
  distinct: Finding[];
  elapsedMs: number;
}

export interface FuzzOptions {
  readonly iterations: number;
  readonly seed: number;
  readonly seeds: readonly Seed[];
  /** The decoder under test (decodeMessage; the engine's own test swaps in a broken one). */
  readonly decode?: (bytes: Uint8Array, ctx: CodecContext) => BgpMessage;
  /** Called with the first finding of each signature. */
  readonly onFinding?: (f: Finding) => void;
  /** Called every `progressEvery` messages with the counts so far. */
  readonly progressEvery?: number;
  readonly onProgress?: (s: FuzzStats) => void;
}

function describeError(e: unknown): { name: string; detail: string; frame: string } {
  if (e instanceof Error) {
    const frame = (e.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
    return { name: e.name, detail: e.stack ?? e.message, frame: frame.trim().replace(/:\d+:\d+\)?$/, '') };
  }
  return { name: typeof e, detail: String(e), frame: '' };
}

function contextText(ctx: CodecContext): string {
  const ap = [...ctx.addPath].map((k) => `${k >> 8}/${k & 255}`).join(',') || 'none';
  return `as4=${ctx.as4} addPath=${ap} extendedMessage=${ctx.extendedMessage}`;
}

/** A finding as text: what, where from, the context, the hex and the stack. */
export function formatFinding(f: Finding): string {
  return [
    `${f.kind} (iteration ${f.iteration}, seed message ${f.seed}, mutation: ${f.how})`,
    `  context: ${contextText(f.ctx)}`,
    `  hex: ${Buffer.from(f.bytes).toString('hex')}`,
    `  ${f.detail.split('\n').join('\n  ')}`,
  ].join('\n');
}

/** Saves a finding as fixtures/malformed/fuzz-<kind>-<hash>.hex (one line of hex); returns the path. */
export function saveFinding(root: string, f: Finding): string {
  let h = 0x811c9dc5;
  for (const b of f.bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const path = join(root, 'fixtures', 'malformed', `fuzz-${f.kind}-${h.toString(16).padStart(8, '0')}.hex`);
  writeFileSync(path, `${Buffer.from(f.bytes).toString('hex')}\n`);
  return path;
}

/** Runs the fuzz: deterministic for a given `seed`, `iterations` and seed list. */
export function runFuzz(opts: FuzzOptions): FuzzStats {
  const rand = prng(opts.seed);
  const seeds = opts.seeds;
  if (seeds.length === 0) throw new Error('no seed messages');
  const donors: UpdateParts[] = seeds.map((s) => splitUpdate(s.bytes)).filter((p) => p !== undefined);
  const stats: FuzzStats = {
    messages: 0,
    decoded: 0,
    decodedByType: {},
    updatesWithProblems: 0,
    problems: {},
    bgpErrors: {},
    reencoded: 0,
    reencodeTooBigAs2: 0,
    findings: {},
    distinct: [],
    elapsedMs: 0,
  };
  const seen = new Set<string>();
  const decode = opts.decode ?? decodeMessage;
  const t0 = performance.now();
  for (let i = 0; i < opts.iterations; i++) {
    if (opts.progressEvery !== undefined && i > 0 && i % opts.progressEvery === 0) {
      stats.elapsedMs = performance.now() - t0;
      opts.onProgress?.(stats);
    }
    const seed = pick(rand, seeds);
    const ctx = rand() < 0.5 ? seed.ctx : pick(rand, FUZZ_CONTEXTS);
    const mutated = mutateMessage(
      rand,
      seed.bytes,
      pick(rand, seeds).bytes,
      donors,
      ctx.extendedMessage ? 65535 : 4096 + 64,
    );
    const bytes = mutated.bytes;
    stats.messages++;
    const find = (kind: FindingKind, e: unknown, extra = ''): void => {
      stats.findings[kind] = (stats.findings[kind] ?? 0) + 1;
      const d = describeError(e);
      const signature = `${kind} ${d.name} ${d.frame}`;
      if (seen.has(signature)) return;
      seen.add(signature);
      const f: Finding = {
        kind,
        signature,
        bytes,
        ctx,
        seed: seed.name,
        how: mutated.how,
        detail: extra === '' ? d.detail : `${extra}\n${d.detail}`,
        iteration: i,
      };
      stats.distinct.push(f);
      opts.onFinding?.(f);
    };
    let msg: BgpMessage;
    try {
      msg = decode(bytes, ctx);
    } catch (e) {
      if (!(e instanceof BgpError)) {
        find('decode-threw', e);
        continue;
      }
      const problem = errorProblem(e, bytes);
      if (problem !== undefined) {
        find('invalid-error', e, problem);
        continue;
      }
      const key = `${e.code}/${e.subcode}`;
      stats.bgpErrors[key] = (stats.bgpErrors[key] ?? 0) + 1;
      continue;
    }
    stats.decoded++;
    stats.decodedByType[msg.type] = (stats.decodedByType[msg.type] ?? 0) + 1;
    if (msg.type === 'update' && msg.problems !== undefined) {
      stats.updatesWithProblems++;
      for (const p of msg.problems) {
        const key = `${p.action} ${p.error.code}/${p.error.subcode}`;
        stats.problems[key] = (stats.problems[key] ?? 0) + 1;
      }
      const bad = msg.problems.find(
        (p) =>
          errorProblem(p.error, bytes) !== undefined ||
          p.error.code !== 3 ||
          (p.action !== 'withdraw' && p.action !== 'discard'),
      );
      if (bad)
        find('invalid-problem', bad.error, `problem ${bad.action} ${errorProblem(bad.error, bytes) ?? ''}`);
    }
    reencode(msg, ctx, stats, find);
  }
  stats.elapsedMs = performance.now() - t0;
  return stats;
}

function reencode(
  msg: BgpMessage,
  ctx: CodecContext,
  stats: FuzzStats,
  find: (kind: FindingKind, e: unknown, extra?: string) => void,
): void {
  const want = normalized(msg);
  let again: Uint8Array;
  try {
    again = encodeMessage(want, ctx);
  } catch (e) {
    if (!ctx.as4 && e instanceof RangeError && /exceeds the maximum/.test(e.message)) {
      stats.reencodeTooBigAs2++;
      return;
    }
    find('reencode-threw', e);
    return;
  }
  stats.reencoded++;
  // 2-octet AS: RFC 6793's AS4_PATH merge is not idempotent for a peer's inconsistent paths
  if (!ctx.as4) return;
  let back: BgpMessage;
  try {
    back = decodeMessage(again, ctx);
  } catch (e) {
    find('reencode-undecodable', e, `re-encoded: ${Buffer.from(again).toString('hex')}`);
    return;
  }
  if (!sameData(normalized(back), want)) {
    find(
      'reencode-differs',
      new Error('decode(encode(decode(x))) differs from decode(x)'),
      `re-encoded: ${Buffer.from(again).toString('hex')}`,
    );
  }
}

/** The counts as text lines (for the bench and for failing-test messages). */
export function formatStats(s: FuzzStats): string {
  const rate = s.messages / (s.elapsedMs / 1000);
  const sorted = (r: Record<string, number>): string =>
    Object.entries(r)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
  const findings = Object.values(s.findings).reduce((a, b) => a + b, 0);
  return [
    `messages: ${s.messages} in ${(s.elapsedMs / 1000).toFixed(1)} s (${Math.round(rate)} msgs/s)`,
    `decoded: ${s.decoded} (${sorted(s.decodedByType)}); UPDATEs with RFC 7606 problems: ${s.updatesWithProblems}`,
    `RFC 7606 problems: ${sorted(s.problems)}`,
    `re-encoded: ${s.reencoded}; 2-octet AS re-encodings over the size limit (accepted): ${s.reencodeTooBigAs2}`,
    `BgpError: ${Object.values(s.bgpErrors).reduce((a, b) => a + b, 0)} (code/subcode ${sorted(s.bgpErrors)})`,
    `findings: ${findings}${findings > 0 ? ` (${sorted(s.findings)}; ${s.distinct.length} distinct)` : ''}`,
  ].join('\n');
}
