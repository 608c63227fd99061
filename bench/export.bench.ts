// How long it takes to export a full Loc-RIB to one peer: 1,000,000 IPv4 routes from 10 peers in the
// Router's Loc-RIB, then one new eBGP session: the Router fills the session's new update group with its
// best routes through the export rules, and the group encodes its table for the session into packed
// UPDATEs (what a session coming up costs).
// Run: npm run bench:export

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_CONTEXT } from '../src/bgp/messages/context.js';
import { IPV4_UNICAST, Origin } from '../src/bgp/messages/iana.js';
import { ipv4Key } from '../src/bgp/messages/prefix.js';
import { AdjRibIn, type RouteAttributes } from '../src/bgp/rib/adj-rib-in.js';
import type { ExportContext } from '../src/bgp/rib/export.js';
import { type RibPeer, Router } from '../src/bgp/rib/router.js';
import type { PeerInfo } from '../src/bgp/rib/types.js';
import { silentLogger } from '../src/log.js';

const ROUTES = Number(process.env.TERN_BENCH_ROUTES ?? 1_000_000);
const PEERS = 10;

function peerInfo(i: number, asn: number): PeerInfo {
  return {
    id: `10.96.0.${i}:179`,
    address: `10.96.0.${i}`,
    asn,
    localAsn: 64512,
    ibgp: asn === 64512,
    routerId: `10.96.0.${i}`,
    rrClient: false,
  };
}

function collector(info: PeerInfo): RibPeer & { messages: number; bytes: number } {
  const exportContext: ExportContext = {
    to: info,
    nextHopSelf: 'auto',
    localNextHop: { ipv4: '10.96.1.1' },
    addPathSend: false,
  };
  const p = {
    info,
    adjRibIn: new AdjRibIn(),
    exportContext,
    families: [IPV4_UNICAST],
    addPathSend: new Set<number>(),
    sendContext: DEFAULT_CONTEXT,
    messages: 0,
    bytes: 0,
    receiveChunk(): void {},
    initialTableSent(): void {},
  };
  return p;
}

const info = (p: RibPeer): PeerInfo => p.info;

function main(): void {
  const router = new Router('10.96.1.1', 64512, undefined, silentLogger());
  const sources = Array.from({ length: PEERS }, (_, i) => peerInfo(i + 1, 64512));
  const attrs: RouteAttributes[] = sources.map((s, i) => ({
    origin: Origin.IGP,
    asPath: [],
    nextHop: s.address,
    localPref: 100,
    med: i,
  }));
  const t0 = performance.now();
  for (let i = 0; i < ROUTES; i++) {
    const peer = i % PEERS;
    // distinct /26 prefixes from 100.64.0.0
    const prefix = ipv4Key((0x64400000 + i * 64) >>> 0, 26);
    router.locRib.update({ family: IPV4_UNICAST, prefix, peer: sources[peer]!, attributes: attrs[peer]! });
  }
  const tInsert = performance.now() - t0;

  const runs: number[] = [];
  let last = collector(peerInfo(200, 65001));
  for (let r = 0; r < 5; r++) {
    const p = collector(peerInfo(200 + r, 65001));
    const t = performance.now();
    const { group } = router.attach(p);
    const { bytes, messages } = group.syncFor(info(p), 0);
    p.messages = messages;
    p.bytes = bytes.length;
    runs.push(performance.now() - t);
    router.detach(p);
    last = p;
  }
  runs.sort((a, b) => a - b);
  const median = runs[2]!;
  console.log('tern-bgp export benchmark');
  console.log(
    `node ${process.version}, ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} CPUs (shared machine)`,
  );
  console.log(
    `Loc-RIB: ${ROUTES.toLocaleString()} IPv4 routes from ${PEERS} iBGP peers, inserted in ${tInsert.toFixed(0)} ms`,
  );
  console.log(
    `export to one new eBGP peer (export rules, Adj-RIB-Out, packed UPDATEs): median ${median.toFixed(0)} ms of 5 ` +
      `(${runs.map((x) => x.toFixed(0)).join(', ')}), ${(ROUTES / (median / 1000) / 1e6).toFixed(2)} M routes/s, ` +
      `${last.messages.toLocaleString()} UPDATEs, ${(last.bytes / 1e6).toFixed(1)} MB`,
  );
  if (last.messages === 0) process.exit(1);
}

main();
