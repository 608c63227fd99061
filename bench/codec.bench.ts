// Wire codec throughput: `npm run bench:codec`; `npm run -s bench:codec -- --json` for machine-readable
// output. npm runs this TypeScript through tsx (esbuild with keepNames), which makes closures created
// per call dearer than in the tsc build; docs/performance.md shows how to time the compiled code too.
//
// Cases (see docs/performance.md for the method and the figures measured):
//   v4-packed-*     1,000,000 distinct IPv4 /26 prefixes sharing one attribute set, packed into 4096-byte
//                   UPDATEs by packAnnouncements; decoded with decodeMessage (header check included).
//   single-*        200,000 UPDATEs of one /26 each (16 attribute sets differing in MED), decoded with
//                   decodeMessage and encoded with encodeMessage, one message at a time.
//   v6-packed-*     IPv6 /122 prefixes (Calico's IPv6 block size) in MP_REACH_NLRI, packed and decoded.
//   framer          the packed IPv4 stream pushed through a Framer in 64 KiB chunks, 25 passes per run;
//   framer-decode   one pass, each message then decoded with decodeMessage.
// Every case is checked for correctness once before it is timed (decoded prefixes == encoded prefixes),
// and every timed run must return the expected count, so the JIT cannot drop the work.
//
// Options: --json, --only <id>[,<id>...] (a case id, or a prefix such as `v6`), --reps N,
// --warmup N, --scale F (multiplies every size; for quick runs and profiling).

import os from 'node:os';
import type { PathAttributes } from '../src/bgp/messages/attributes/types.js';
import { Framer } from '../src/bgp/messages/framer.js';
import { Afi, AsPathSegmentType, Origin, Safi } from '../src/bgp/messages/iana.js';
import { type BgpMessage, decodeMessage, encodeMessage } from '../src/bgp/messages/message.js';
import {
  type Ipv4Prefixes,
  type Ipv6Prefixes,
  NO_IPV4_PREFIXES,
  type PrefixList,
} from '../src/bgp/messages/nlri.js';
import { type Ipv4Key, type Ipv6Key, ipv4Key, ipv6KeyFromBytes } from '../src/bgp/messages/prefix.js';
import type { UpdateMessage } from '../src/bgp/messages/update.js';
import { packAnnouncements } from '../src/bgp/messages/update-packer.js';
import { benchOptions, type Measurement, machine, measure, si, table } from './lib.js';

// ---- options ----

const opts = benchOptions({ reps: 7, warmup: 3 });
const REPS = opts.reps;
const WARMUP = opts.warmup;
const SCALE = opts.scale;
const ONLY = opts.only;

const V4_PREFIXES = Math.round(1_000_000 * SCALE);
const SINGLE_MESSAGES = Math.round(200_000 * SCALE);
const V6_PREFIXES = Math.round(1_000_000 * SCALE);
const CHUNK = 64 * 1024;
/** The framer alone takes well under a millisecond per stream: time this many passes per run. */
const FRAMER_PASSES = 25;
const SINGLE_ATTR_SETS = 16;

// ---- data ----

const AS_PATH = [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [64512, 65001, 4200000001] }] as const;

const V4_ATTRS: PathAttributes = Object.freeze<PathAttributes>({
  origin: Origin.IGP,
  asPath: AS_PATH,
  nextHop: '192.0.2.1',
  med: 0,
  localPref: 100,
});

const V6_NEXT_HOP = 'fd00:10:96::1';
const V6_ATTRS: PathAttributes = Object.freeze<PathAttributes>({
  origin: Origin.IGP,
  asPath: AS_PATH,
  med: 0,
  localPref: 100,
  mpReach: {
    kind: 'unicast',
    afi: Afi.IPV6,
    safi: Safi.UNICAST,
    nextHop: V6_NEXT_HOP,
    nlri: { afi: Afi.IPV6, prefixes: [] },
  },
});

/** n distinct /26 prefixes from 64.0.0.0 upwards (n <= 2^26). */
function v4Keys(n: number): Ipv4Key[] {
  if (n > 2 ** 26) throw new RangeError(`${n} /26 prefixes do not fit in 64.0.0.0/6`);
  const keys: Ipv4Key[] = new Array(n);
  const base = 64 * 2 ** 24;
  for (let i = 0; i < n; i++) keys[i] = ipv4Key(base + i * 64, 26);
  return keys;
}

/** n distinct /122 prefixes (Calico's default IPv6 block size) inside the ULA pool fd00:10:244::/48. */
function v6Keys(n: number): Ipv6Key[] {
  const keys: Ipv6Key[] = new Array(n);
  const b = new Uint8Array(16);
  b.set([0xfd, 0x00, 0x00, 0x10, 0x02, 0x44]);
  for (let i = 0; i < n; i++) {
    // block number i in bits 88..121 (bytes 11..15; the low 6 bits of byte 15 are host bits)
    const hi = Math.floor(i / 2 ** 26);
    const lo = i % 2 ** 26;
    b[11] = hi & 255;
    b[12] = (lo >>> 18) & 255;
    b[13] = (lo >>> 10) & 255;
    b[14] = (lo >>> 2) & 255;
    b[15] = (lo & 3) << 6;
    keys[i] = ipv6KeyFromBytes(b, 0, 122);
  }
  return keys;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function byteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

function asUpdate(m: BgpMessage): UpdateMessage {
  if (m.type !== 'update') throw new Error(`decoded a ${m.type}, expected an update`);
  return m;
}

function fail(what: string): never {
  throw new Error(`verification failed: ${what}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkCommonAttrs(u: UpdateMessage, where: string, med: number): void {
  const a = u.attributes;
  if (u.problems !== undefined)
    fail(`${where}: problems ${u.problems.map((p) => p.error.message).join('; ')}`);
  if (a.origin !== Origin.IGP) fail(`${where}: origin ${a.origin}`);
  const seg = a.asPath?.[0];
  if (a.asPath?.length !== 1 || seg?.type !== AS_PATH[0].type || seg.asns.join() !== AS_PATH[0].asns.join()) {
    fail(`${where}: AS_PATH ${JSON.stringify(a.asPath)}`);
  }
  if (a.localPref !== 100) fail(`${where}: LOCAL_PREF ${a.localPref}`);
  if (a.med !== med) fail(`${where}: MED ${a.med}, expected ${med}`);
}

// ---- cases ----

interface Case {
  readonly label: string;
  readonly unit: 'prefixes' | 'messages';
  /** Prefixes or messages handled by one run. */
  readonly items: number;
  /** Bytes of wire data handled by one run (for MB/s). */
  readonly bytes: number;
  /** Minimum items per second, when there is a target. */
  readonly target?: number;
  readonly run: () => number;
  readonly expect: number;
}

/** Builds data lazily, so `--only` skips what it does not need. */
function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      v = make();
      made = true;
    }
    return v as T;
  };
}

interface PackedData {
  readonly list: PrefixList;
  readonly messages: readonly Uint8Array[];
  readonly bytes: number;
}

/**
 * Packs `list` with `attrs` and checks that every message is a well-formed UPDATE whose decoded
 * prefixes (`nlriOf`) are, in order, exactly the ones encoded.
 */
function packVerified(
  tag: string,
  attrs: PathAttributes,
  list: PrefixList,
  nlriOf: (u: UpdateMessage, where: string) => readonly (Ipv4Key | Ipv6Key)[],
): PackedData {
  const keys = list.prefixes;
  const messages = packAnnouncements(attrs, list);
  let at = 0;
  for (let m = 0; m < messages.length; m++) {
    const msg = messages[m]!;
    const where = `${tag} message ${m}`;
    if (msg.length > 4096) fail(`${where} is ${msg.length} bytes`);
    const u = asUpdate(decodeMessage(msg));
    checkCommonAttrs(u, where, 0);
    for (const k of nlriOf(u, where)) if (k !== keys[at++]) fail(`${tag} prefix ${at - 1} differs`);
  }
  if (at !== keys.length) fail(`${tag}: decoded ${at} prefixes, encoded ${keys.length}`);
  return { list, messages, bytes: byteLength(messages) };
}

const v4Data = lazy(() => {
  const list: Ipv4Prefixes = { afi: Afi.IPV4, prefixes: v4Keys(V4_PREFIXES) };
  const d = packVerified('v4', V4_ATTRS, list, (u, where) => {
    if (u.attributes.nextHop !== V4_ATTRS.nextHop) fail(`${where}: NEXT_HOP ${u.attributes.nextHop}`);
    if (u.withdrawn.prefixes.length !== 0) fail(`${where}: withdraws`);
    return u.nlri.prefixes;
  });
  return { ...d, stream: concat(d.messages) };
});

const singleData = lazy(() => {
  const keys = v4Keys(SINGLE_MESSAGES);
  const attrSets: PathAttributes[] = Array.from({ length: SINGLE_ATTR_SETS }, (_, i) =>
    Object.freeze({ ...V4_ATTRS, med: i * 10 }),
  );
  const updates: UpdateMessage[] = keys.map((k, i) => ({
    type: 'update',
    withdrawn: NO_IPV4_PREFIXES,
    attributes: attrSets[i % SINGLE_ATTR_SETS]!,
    nlri: { afi: Afi.IPV4, prefixes: [k] },
  }));
  const messages = updates.map((u) => encodeMessage(u));
  for (let i = 0; i < messages.length; i++) {
    const u = asUpdate(decodeMessage(messages[i]!));
    checkCommonAttrs(u, `single message ${i}`, (i % SINGLE_ATTR_SETS) * 10);
    if (u.nlri.prefixes.length !== 1 || u.nlri.prefixes[0] !== keys[i]) fail(`single message ${i}: NLRI`);
    // the packer must produce the same bytes for a one-prefix list
    if (i < SINGLE_ATTR_SETS) {
      const packed = packAnnouncements(updates[i]!.attributes, updates[i]!.nlri);
      if (packed.length !== 1 || !sameBytes(packed[0]!, messages[i]!))
        fail(`single message ${i}: packer differs`);
    }
  }
  return { updates, messages, bytes: byteLength(messages) };
});

const v6Data = lazy(() => {
  const list: Ipv6Prefixes = { afi: Afi.IPV6, prefixes: v6Keys(V6_PREFIXES) };
  return packVerified('v6', V6_ATTRS, list, (u, where) => {
    const mp = u.attributes.mpReach;
    if (mp?.kind !== 'unicast' || mp.afi !== Afi.IPV6 || mp.nlri.afi !== Afi.IPV6) fail(`${where}: MP_REACH`);
    if (mp.nextHop !== V6_NEXT_HOP) fail(`${where}: next hop ${mp.nextHop}`);
    if (u.nlri.prefixes.length !== 0) fail(`${where}: IPv4 NLRI`);
    return mp.nlri.prefixes;
  });
});

/** Sum of the IPv4 NLRI counts: the work of decoding, touched. */
function decodeV4(messages: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = decodeMessage(messages[i]!);
    if (m.type === 'update') n += m.nlri.prefixes.length;
  }
  return n;
}

function decodeV6(messages: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = decodeMessage(messages[i]!);
    if (m.type === 'update') {
      const mp = m.attributes.mpReach;
      if (mp !== undefined && mp.kind === 'unicast') n += mp.nlri.prefixes.length;
    }
  }
  return n;
}

/** Pushes `stream` through a fresh Framer `passes` times in 64 KiB chunks; sums `then` of every message. */
function frame(stream: Uint8Array, passes: number, then: (m: Uint8Array) => number): number {
  const f = new Framer();
  let n = 0;
  for (let p = 0; p < passes; p++) {
    for (let at = 0; at < stream.length; at += CHUNK) {
      const out = f.push(stream.subarray(at, Math.min(stream.length, at + CHUNK)));
      for (let i = 0; i < out.length; i++) n += then(out[i]!);
    }
  }
  if (f.buffered !== 0) fail(`framer holds ${f.buffered} bytes at the end of the stream`);
  return n;
}

const messageLength = (m: Uint8Array): number => m.length;

function nlriCount(bytes: Uint8Array): number {
  const m = decodeMessage(bytes);
  return m.type === 'update' ? m.nlri.prefixes.length : 0;
}

const PACKED_DECODE_TARGET = 30e6;
const SINGLE_DECODE_TARGET = 1e6;
const PACKED_ENCODE_TARGET = 10e6;

interface CaseSpec {
  readonly id: string;
  readonly make: () => Case;
}

/** Decode and encode cases of prefixes packed by packAnnouncements. */
function packedCases(
  tag: string,
  what: string,
  data: () => PackedData,
  attrs: PathAttributes,
  decode: (messages: readonly Uint8Array[]) => number,
): CaseSpec[] {
  const common = (d: PackedData) =>
    ({ unit: 'prefixes', items: d.list.prefixes.length, bytes: d.bytes }) as const;
  return [
    {
      id: `${tag}-packed-decode`,
      make: () => {
        const d = data();
        const label = `decode ${what}, packed (${d.messages.length} msgs)`;
        return {
          ...common(d),
          label,
          target: PACKED_DECODE_TARGET,
          run: () => decode(d.messages),
          expect: d.list.prefixes.length,
        };
      },
    },
    {
      id: `${tag}-packed-encode`,
      make: () => {
        const d = data();
        const run = (): number => byteLength(packAnnouncements(attrs, d.list));
        return {
          ...common(d),
          label: `encode ${what}, packAnnouncements`,
          target: PACKED_ENCODE_TARGET,
          run,
          expect: d.bytes,
        };
      },
    },
  ];
}

const SPECS: readonly CaseSpec[] = [
  ...packedCases('v4', 'IPv4 /26', v4Data, V4_ATTRS, decodeV4),
  {
    id: 'single-decode',
    make: () => {
      const d = singleData();
      return {
        label: 'decode 1-prefix UPDATEs, decodeMessage',
        unit: 'messages',
        items: d.messages.length,
        bytes: d.bytes,
        target: SINGLE_DECODE_TARGET,
        run: () => decodeV4(d.messages),
        expect: d.messages.length,
      };
    },
  },
  {
    id: 'single-encode',
    make: () => {
      const d = singleData();
      const run = (): number => {
        let n = 0;
        for (let i = 0; i < d.updates.length; i++) n += encodeMessage(d.updates[i]!).length;
        return n;
      };
      return {
        label: 'encode 1-prefix UPDATEs, encodeMessage',
        unit: 'messages',
        items: d.messages.length,
        bytes: d.bytes,
        run,
        expect: d.bytes,
      };
    },
  },
  ...packedCases('v6', 'IPv6 /122 MP_REACH', v6Data, V6_ATTRS, decodeV6),
  {
    id: 'framer',
    make: () => {
      const d = v4Data();
      return {
        label: `Framer, IPv4 packed stream x${FRAMER_PASSES}, 64 KiB chunks`,
        unit: 'messages',
        items: d.messages.length * FRAMER_PASSES,
        bytes: d.stream.length * FRAMER_PASSES,
        run: () => frame(d.stream, FRAMER_PASSES, messageLength),
        expect: d.stream.length * FRAMER_PASSES,
      };
    },
  },
  {
    id: 'framer-decode',
    make: () => {
      const d = v4Data();
      const items = d.list.prefixes.length;
      const run = (): number => frame(d.stream, 1, nlriCount);
      return {
        label: 'Framer + decodeMessage, same stream',
        unit: 'prefixes',
        items,
        bytes: d.stream.length,
        run,
        expect: items,
      };
    },
  },
];

// ---- run ----

interface Result {
  readonly id: string;
  readonly label: string;
  readonly unit: Case['unit'];
  readonly items: number;
  readonly bytes: number;
  readonly perSecond: number;
  readonly mbPerSecond: number;
  readonly target: number | null;
  readonly status: 'PASS' | 'BELOW' | null;
  readonly measurement: Measurement;
}

/** `--only x` selects the case x if there is one, else every case whose id starts with x. */
function selected(id: string): boolean {
  return ONLY.length === 0 || ONLY.some((o) => (SPECS.some((s) => s.id === o) ? id === o : id.startsWith(o)));
}

function main(): void {
  const started = process.hrtime.bigint();
  const info = machine();
  const log = (s: string): void => {
    if (!opts.json) process.stdout.write(`${s}\n`);
  };
  log(`tern-bgp codec benchmark`);
  log(`node ${info.node} (V8 ${info.v8}), ${info.platform}`);
  log(`CPU: ${info.cpu}, ${info.logicalCpus} logical CPUs; ${info.note}`);
  log(`code: ${info.code}`);
  log(`load average (1 min) at start: ${info.loadavg1m}; warmup ${WARMUP}, median of ${REPS} timed runs\n`);

  const results: Result[] = [];
  for (const spec of SPECS) {
    if (!selected(spec.id)) continue;
    const c = spec.make();
    const m = measure(spec.id, c.run, c.expect, { warmup: WARMUP, reps: REPS });
    const perSecond = c.items / (m.medianMs / 1e3);
    const status = c.target === undefined ? null : perSecond >= c.target ? 'PASS' : 'BELOW';
    results.push({
      id: spec.id,
      label: c.label,
      unit: c.unit,
      items: c.items,
      bytes: c.bytes,
      perSecond,
      mbPerSecond: c.bytes / 1e6 / (m.medianMs / 1e3),
      target: c.target ?? null,
      status,
      measurement: m,
    });
  }
  if (results.length === 0)
    throw new Error(`--only ${ONLY.join(',')} matches no case (${SPECS.map((s) => s.id).join(', ')})`);
  const totalS = Number(process.hrtime.bigint() - started) / 1e9;

  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ machine: info, warmup: WARMUP, reps: REPS, scale: SCALE, totalSeconds: totalS, results }, null, 2)}\n`,
    );
    return;
  }
  const rows = results.map((r) => [
    r.id,
    r.label,
    r.items.toLocaleString('en-US'),
    r.measurement.medianMs.toFixed(1),
    `${r.measurement.minMs.toFixed(1)}-${r.measurement.maxMs.toFixed(1)}`,
    `${si(r.perSecond)}${r.unit}/s`,
    `${r.mbPerSecond.toFixed(0)} MB/s`,
    r.target === null ? '-' : `>= ${si(r.target)}${r.unit}/s`,
    r.status ?? '-',
  ]);
  log(
    table(
      ['case', 'what', 'items', 'median ms', 'min-max ms', 'throughput', 'wire', 'target', 'result'],
      rows,
    ),
  );
  log(
    `\nall cases verified (decoded == encoded); load average (1 min) at end: ${os.loadavg()[0]!.toFixed(2)}`,
  );
  log(`total ${totalS.toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench:codec: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
