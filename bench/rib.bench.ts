// Loc-RIB benchmark: `npm run bench:rib`; `npm run -s bench:rib -- --json` for machine-readable output.
//
// Three tables of 1,000,000 IPv4 routes (/26 to /32) from 10 peers, every route interned against 40
// attribute sets (4 per peer: its next hop, MED 0/10/20/30):
//   disjoint  1,000,000 prefixes, 100,000 per peer: one candidate per prefix (a Calico cluster: each
//             node announces its own blocks)
//   shared    100,000 prefixes, each from all 10 peers: ten candidates per prefix (a reflector hearing
//             every prefix from many clients), every peer sending them in the same order
//   shuffled  the same, every peer in its own random order (no locality from one table to the next)
// Cases per table:
//   insert        update() of every route into an empty Loc-RIB (the Route objects are created in the
//                 timed loop, as the speaker would); routes/s
//   memory        heapUsed after a forced GC with the table held, minus before it was built, per route
//   withdraw-peer withdrawPeer() of one peer, then of the other nine, on the full table; routes/s
//   churn         (shared only) 1,000,000 re-announcements of a random (prefix, peer) with LOCAL_PREF
//                 100 or 200 (about a quarter of them move the best path); updates/s
// Every run checks its result (route counts, changes, a sample of bests against bestRoute), so the JIT
// cannot drop the work. Median of --reps runs (default 5) after --warmup runs (default 1).
//
//   intern        (apart) AttributeInterner: 200,000 distinct sets interned (key built, set frozen and
//                 stored), then an equal copy of each (key built, found), then each interned object
//                 again (found by identity); all released at the end; sets/s
//
// Options: --json, --only <case>[,<case>] (disjoint, shared, shuffled, intern), --reps N, --warmup N,
// --scale F.

import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AsPathSegmentType, IPV4_UNICAST, Origin } from '../src/bgp/messages/iana.js';
import { ipv4Key } from '../src/bgp/messages/prefix.js';
import type { RouteAttributes } from '../src/bgp/rib/adj-rib-in.js';
import { bestRoute, type DecisionOptions } from '../src/bgp/rib/decision.js';
import { AttributeInterner } from '../src/bgp/rib/intern.js';
import { LocRib } from '../src/bgp/rib/loc-rib.js';
import type { PeerInfo, Route } from '../src/bgp/rib/types.js';
import { benchOptions, machine, median, si, table } from './lib.js';

const opts = benchOptions({ reps: 5, warmup: 1 });
const REPS = opts.reps;
const WARMUP = opts.warmup;
const SCALE = opts.scale;
const ONLY = opts.only;
const CASES = ['disjoint', 'shared', 'shuffled', 'intern'];
for (const o of ONLY) if (!CASES.includes(o)) throw new Error(`--only: no case ${o} (${CASES.join(', ')})`);

/** A forced full GC: --expose-gc when node was started with it, else turned on here. */
const gc: () => void = (() => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

// ---- data ----

const PEERS = 10;
const SETS_PER_PEER = 4;
const ROUTES = Math.round(1_000_000 * SCALE);

const DECISION: DecisionOptions = { alwaysCompareMed: false, defaultLocalPref: 100 };

const peers: PeerInfo[] = Array.from({ length: PEERS }, (_, i) => ({
  id: `node-${i}`,
  address: `10.96.0.${i + 1}`,
  asn: 64512,
  localAsn: 64512,
  ibgp: true,
  routerId: `10.96.0.${i + 1}`,
  rrClient: true,
}));

function attributeSets(localPref: number): RouteAttributes[][] {
  return peers.map((p) =>
    Array.from({ length: SETS_PER_PEER }, (_, j) => ({
      origin: Origin.IGP,
      asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [64512] }],
      nextHop: p.address,
      med: j * 10,
      localPref,
      communities: [0xfc000000 + j],
    })),
  );
}

/** IPv4 /26 to /32 keys from 100.64.0.0 up, one /26-aligned block each (so all distinct). */
function prefixes(n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = ipv4Key(0x64400000 + i * 64, 26 + (i % 7));
  return out;
}

/** xorshift32, so every run churns the same way. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

interface Layout {
  readonly id: 'disjoint' | 'shared' | 'shuffled';
  readonly label: string;
  readonly prefixes: number[];
  /** Route i goes to prefixes[prefixOf(i)] from peers[peerOf(i)]. */
  prefixOf(i: number): number;
  peerOf(i: number): number;
}

function layouts(): Layout[] {
  const disjoint = prefixes(ROUTES);
  const per = ROUTES / PEERS;
  const shared = prefixes(Math.round(ROUTES / PEERS));
  const orders = permutations(shared.length);
  return [
    {
      id: 'disjoint',
      label: `${disjoint.length.toLocaleString('en-US')} prefixes x 1 peer`,
      prefixes: disjoint,
      prefixOf: (i) => i,
      peerOf: (i) => Math.floor(i / per),
    },
    {
      id: 'shared',
      label: `${shared.length.toLocaleString('en-US')} prefixes x ${PEERS} peers`,
      prefixes: shared,
      // peer by peer, as full tables arrive session by session
      prefixOf: (i) => i % shared.length,
      peerOf: (i) => Math.floor(i / shared.length),
    },
    {
      id: 'shuffled',
      label: `${shared.length.toLocaleString('en-US')} x ${PEERS}, random orders`,
      prefixes: shared,
      prefixOf: (i) => orders[Math.floor(i / shared.length)]![i % shared.length]!,
      peerOf: (i) => Math.floor(i / shared.length),
    },
  ];
}

/** A random permutation of 0 .. n-1 per peer (Fisher-Yates with the xorshift below). */
function permutations(n: number): number[][] {
  return peers.map((_, p) => {
    const next = rng(1000 + p);
    const o = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = next() % (i + 1);
      const t = o[i]!;
      o[i] = o[j]!;
      o[j] = t;
    }
    return o;
  });
}

// ---- cases ----

function fill(rib: LocRib, l: Layout, sets: RouteAttributes[][]): number {
  let changes = 0;
  const n = l.prefixes.length === ROUTES ? ROUTES : l.prefixes.length * PEERS;
  for (let i = 0; i < n; i++) {
    const p = l.peerOf(i);
    const prefix = l.prefixes[l.prefixOf(i)]!;
    const route: Route = {
      family: IPV4_UNICAST,
      prefix,
      peer: peers[p]!,
      attributes: sets[p]![prefix & 3]!,
    };
    if (rib.update(route) !== undefined) changes++;
  }
  return changes;
}

/** Bests of every 997th prefix against bestRoute over its candidates. */
function verify(rib: LocRib, l: Layout, expectRoutes: number): void {
  if (rib.size !== expectRoutes)
    throw new Error(`${l.id}: ${rib.size} routes held, expected ${expectRoutes}`);
  for (let i = 0; i < l.prefixes.length; i += 997) {
    const prefix = l.prefixes[i]!;
    const want = bestRoute(rib.candidates(IPV4_UNICAST, prefix), DECISION)?.best;
    if (rib.best(IPV4_UNICAST, prefix) !== want) throw new Error(`${l.id}: wrong best for prefix #${i}`);
  }
}

interface Figures {
  readonly table: Layout['id'];
  readonly label: string;
  readonly routes: number;
  readonly insertRoutesPerSecond: number;
  readonly insertMs: readonly number[];
  readonly bytesPerRoute: number;
  readonly bytesPerRouteRuns: readonly number[];
  readonly withdrawOnePeerMs: number;
  readonly withdrawOnePeerRoutesPerSecond: number;
  readonly withdrawRestRoutesPerSecond: number;
  readonly churnUpdatesPerSecond: number | null;
  readonly churnBestChanges: number | null;
  readonly attributeSets: number;
}

function runLayout(l: Layout): Figures {
  const routes = l.prefixes.length === ROUTES ? ROUTES : l.prefixes.length * PEERS;
  const interner = new AttributeInterner();
  // the speaker hands the Loc-RIB interned sets; these references are held for the whole run
  const sets = attributeSets(100).map((s) => s.map((a) => interner.intern(a)));
  const churnSets = attributeSets(200).map((s) => s.map((a) => interner.intern(a)));
  const insertMs: number[] = [];
  const bytes: number[] = [];
  const withdrawOne: number[] = [];
  const withdrawRest: number[] = [];
  const churn: number[] = [];
  let churnChanges = 0;
  let attributeSetsHeld = 0;
  for (let run = 0; run < WARMUP + REPS; run++) {
    const timed = run >= WARMUP;
    const before = heapUsed();
    const rib = new LocRib(DECISION, interner);
    const t0 = process.hrtime.bigint();
    const changes = fill(rib, l, sets);
    const t1 = process.hrtime.bigint();
    verify(rib, l, routes);
    // every prefix got a best when its first route arrived; in `shared` later peers may take over
    if (changes < l.prefixes.length) throw new Error(`${l.id}: only ${changes} changes on insert`);
    const after = heapUsed();
    attributeSetsHeld = interner.size;
    if (timed) {
      insertMs.push(Number(t1 - t0) / 1e6);
      bytes.push((after - before) / routes);
    }

    if (l.id === 'shared') {
      const next = rng(run + 1);
      const n = ROUTES;
      let moved = 0;
      const t2 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const r = next();
        const p = r % PEERS;
        const prefix = l.prefixes[(r >>> 4) % l.prefixes.length]!;
        const useChurn = ((r >>> 28) & 1) === 1;
        const attributes = (useChurn ? churnSets : sets)[p]![prefix & 3]!;
        if (rib.update({ family: IPV4_UNICAST, prefix, peer: peers[p]!, attributes }) !== undefined) moved++;
      }
      const t3 = process.hrtime.bigint();
      verify(rib, l, routes);
      if (moved === 0) throw new Error('churn moved no best path');
      if (timed) {
        churn.push(Number(t3 - t2) / 1e6);
        churnChanges = moved;
      }
    }

    const t4 = process.hrtime.bigint();
    const first = rib.withdrawPeer(peers[0]!.id);
    const t5 = process.hrtime.bigint();
    let rest = 0;
    for (let p = 1; p < PEERS; p++) rest += rib.withdrawPeer(peers[p]!.id).length;
    const t6 = process.hrtime.bigint();
    if (rib.size !== 0 || rib.prefixCount() !== 0) throw new Error(`${l.id}: routes left after withdrawPeer`);
    if (first.length === 0 || rest === 0) throw new Error(`${l.id}: withdrawPeer reported no changes`);
    if (timed) {
      withdrawOne.push(Number(t5 - t4) / 1e6);
      withdrawRest.push(Number(t6 - t5) / 1e6);
    }
  }
  const perPeer = routes / PEERS;
  return {
    table: l.id,
    label: l.label,
    routes,
    insertRoutesPerSecond: routes / (median(insertMs) / 1e3),
    insertMs,
    bytesPerRoute: median(bytes),
    bytesPerRouteRuns: bytes,
    withdrawOnePeerMs: median(withdrawOne),
    withdrawOnePeerRoutesPerSecond: perPeer / (median(withdrawOne) / 1e3),
    withdrawRestRoutesPerSecond: (routes - perPeer) / (median(withdrawRest) / 1e3),
    churnUpdatesPerSecond: churn.length > 0 ? ROUTES / (median(churn) / 1e3) : null,
    churnBestChanges: churn.length > 0 ? churnChanges : null,
    attributeSets: attributeSetsHeld,
  };
}

// ---- interning ----

const INTERN_SETS = Math.round(200_000 * SCALE);

interface InternFigures {
  readonly sets: number;
  readonly newPerSecond: number;
  readonly equalPerSecond: number;
  readonly identityPerSecond: number;
}

function runIntern(): InternFigures {
  const make = (i: number): RouteAttributes => ({
    origin: Origin.IGP,
    asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [64512, 65001 + (i % 7)] }],
    nextHop: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    med: i % 16,
    localPref: 100,
    communities: [0xfc000000 + (i % 5), 0xfc010000],
    originatorId: '10.96.0.1',
    clusterList: ['10.0.0.1'],
  });
  const firsts = Array.from({ length: INTERN_SETS }, (_, i) => make(i));
  const copies = Array.from({ length: INTERN_SETS }, (_, i) => make(i));
  const ms: [number, number, number][] = [];
  for (let run = 0; run < WARMUP + REPS; run++) {
    const interner = new AttributeInterner();
    const held: RouteAttributes[] = new Array(INTERN_SETS);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < INTERN_SETS; i++) held[i] = interner.intern(firsts[i]!);
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < INTERN_SETS; i++)
      if (interner.intern(copies[i]!) !== held[i]) throw new Error('intern: not shared');
    const t2 = process.hrtime.bigint();
    for (let i = 0; i < INTERN_SETS; i++)
      if (interner.intern(held[i]!) !== held[i]) throw new Error('intern: not found');
    const t3 = process.hrtime.bigint();
    if (interner.size !== INTERN_SETS) throw new Error(`intern: ${interner.size} sets`);
    for (let i = 0; i < INTERN_SETS; i++) for (let k = 0; k < 3; k++) interner.release(held[i]!);
    if (interner.size !== 0) throw new Error('intern: sets left after release');
    if (run >= WARMUP) ms.push([Number(t1 - t0) / 1e6, Number(t2 - t1) / 1e6, Number(t3 - t2) / 1e6]);
  }
  const rate = (k: 0 | 1 | 2): number => INTERN_SETS / (median(ms.map((m) => m[k])) / 1e3);
  return { sets: INTERN_SETS, newPerSecond: rate(0), equalPerSecond: rate(1), identityPerSecond: rate(2) };
}

// ---- run ----

function main(): void {
  const info = machine();
  const log = (s: string): void => {
    if (!opts.json) process.stdout.write(`${s}\n`);
  };
  log('tern-bgp Loc-RIB benchmark');
  log(`node ${info.node} (V8 ${info.v8}), ${info.platform}`);
  log(`CPU: ${info.cpu}, ${info.logicalCpus} logical CPUs`);
  log(`load average (1 min) at start: ${info.loadavg1m}; warmup ${WARMUP}, median of ${REPS} runs\n`);
  const started = process.hrtime.bigint();
  const results = layouts()
    .filter((l) => ONLY.length === 0 || ONLY.includes(l.id))
    .map(runLayout);
  const intern = ONLY.length === 0 || ONLY.includes('intern') ? runIntern() : undefined;
  const totalS = Number(process.hrtime.bigint() - started) / 1e9;
  const loadEnd = Number(os.loadavg()[0]!.toFixed(2));
  if (opts.json) {
    const machineInfo = { ...info, loadavg1mEnd: loadEnd };
    const out = {
      machine: machineInfo,
      warmup: WARMUP,
      reps: REPS,
      scale: SCALE,
      totalSeconds: totalS,
      results,
      intern,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const pass = (ok: boolean): string => (ok ? 'PASS' : 'BELOW');
  const rows: string[][] = [];
  for (const r of results) {
    const ms = r.insertMs;
    rows.push([
      `${r.table} insert`,
      r.label,
      `${si(r.insertRoutesPerSecond)}routes/s`,
      `${Math.min(...ms).toFixed(0)}-${Math.max(...ms).toFixed(0)} ms`,
      '>= 2.00 M/s',
      pass(r.insertRoutesPerSecond >= 2e6),
    ]);
    rows.push([
      `${r.table} memory`,
      `${r.attributeSets} attribute sets`,
      `${r.bytesPerRoute.toFixed(0)} B/route`,
      r.bytesPerRouteRuns.map((b) => b.toFixed(0)).join(' '),
      '<= 200 B',
      pass(r.bytesPerRoute <= 200),
    ]);
    rows.push([
      `${r.table} withdrawPeer 1`,
      `${(r.routes / PEERS).toLocaleString('en-US')} of ${r.routes.toLocaleString('en-US')} routes`,
      `${si(r.withdrawOnePeerRoutesPerSecond)}routes/s`,
      `${r.withdrawOnePeerMs.toFixed(0)} ms`,
      '-',
      '-',
    ]);
    rows.push([
      `${r.table} withdrawPeer 9`,
      'the other peers, one by one',
      `${si(r.withdrawRestRoutesPerSecond)}routes/s`,
      '',
      '-',
      '-',
    ]);
    if (r.churnUpdatesPerSecond !== null) {
      const moved = (r.churnBestChanges ?? 0).toLocaleString('en-US');
      rows.push([
        `${r.table} churn`,
        `${ROUTES.toLocaleString('en-US')} updates, ${moved} best changes`,
        `${si(r.churnUpdatesPerSecond)}updates/s`,
        '',
        '-',
        '-',
      ]);
    }
  }
  if (intern !== undefined) {
    const n = intern.sets.toLocaleString('en-US');
    rows.push(['intern new', `${n} distinct sets`, `${si(intern.newPerSecond)}sets/s`, '', '-', '-']);
    rows.push(['intern equal', `${n} equal copies`, `${si(intern.equalPerSecond)}sets/s`, '', '-', '-']);
    rows.push([
      'intern identity',
      `${n} interned objects`,
      `${si(intern.identityPerSecond)}sets/s`,
      '',
      '-',
      '-',
    ]);
  }
  log(table(['case', 'what', 'median', 'range', 'target', 'result'], rows));
  log(`\nload average (1 min) at end: ${loadEnd}; total ${totalS.toFixed(1)} s`);
}

main();
