// Who the load generator's clients are: for client i of N, its loopback source address, its AS, its
// BGP identifier, its next hop and the K prefixes it announces. Pure arithmetic, the same in the parent
// (which writes the daemon's config from it) and in the child (which connects and checks from it), so a
// received prefix tells by itself which client originated it.
//
//   source address   127.a.b.c: 254 clients per /24 (c = 1..254), starting at 127.1.0.1; Linux routes
//                    all of 127/8 to lo, so binding one as a local address needs no setup
//   next hop         100.64.0.0/10 + i + 1 (never 127/8: a next hop the daemon must not mistake for
//                    itself or for the session address)
//   BGP identifier   the next hop (unique, never the daemon's)
//   prefixes         prefixBase + (i * K + j) * 2^(32 - prefixLength), j = 0..K-1
//   borrowed         with `borrowed`, a Calico node: the last of the K prefixes is a /32 instead, an
//                    address "borrowed" from the next client's first block (its last address), as when
//                    Calico's IPAM gives a pod an address from another node's block; the blocks are then
//                    prefixBase + (i * (K - 1) + j) * 2^(32 - prefixLength), j = 0..K-2

import { AS_TRANS } from '../../src/bgp/messages/iana.js';
import { formatIpv4, ipv4Key, parseIpv4 } from '../../src/bgp/messages/prefix.js';

export interface PlanOptions {
  /** Number of clients that announce (the monitor is extra). */
  readonly clients: number;
  /** Prefixes each client announces (with `borrowed`, the last of them is the borrowed /32). */
  readonly prefixesPerClient: number;
  /** Length of every announced prefix, 8..32. Default 32. */
  readonly prefixLength?: number;
  /** The first prefix's address, dotted quad. Default 10.0.0.0. */
  readonly prefixBase?: string;
  /** The AS of client 0; client i has firstAsn + i (unless `sameAsn`). Default 4200000001. */
  readonly firstAsn?: number;
  /** Every client in this one AS (iBGP towards a daemon of that AS, for the reflector benchmark). */
  readonly sameAsn?: number;
  /**
   * The last prefix of each client is a /32 inside the next client's first block (Calico: a /26 block
   * and an address borrowed from another node's block). Needs prefixLength < 32 and at least 2 prefixes.
   */
  readonly borrowed?: boolean;
}

export interface ClientPlan {
  readonly index: number;
  readonly localAddress: string;
  readonly asn: number;
  readonly bgpId: string;
  readonly nextHop: string;
}

const LOOPBACK_BASE = 0x7f010000; // 127.1.0.0
const NEXT_HOP_BASE = 0x64400000; // 100.64.0.0
const NEXT_HOP_LIMIT = 1 << 22; // a /10
const PER_24 = 254;
const PRIVATE_4_OCTET_FIRST = 4_200_000_000;

/** The source address of client `index` (the monitor uses index `clients`). */
export function clientAddress(index: number): string {
  const net = Math.floor(index / PER_24);
  const host = (index % PER_24) + 1;
  const addr = LOOPBACK_BASE + net * 256 + host;
  if (addr > 0x7fffffff) throw new RangeError(`client ${index}: no loopback address left`);
  return formatIpv4(addr);
}

/** The next hop client `index` announces, as a uint32. */
export function clientNextHopNumber(index: number): number {
  if (index + 1 >= NEXT_HOP_LIMIT - 1) throw new RangeError(`client ${index}: no next hop left in 100.64/10`);
  return NEXT_HOP_BASE + index + 1;
}

/** The next hop client `index` announces (and the one the daemon should keep when it does not set itself). */
export function clientNextHop(index: number): string {
  return formatIpv4(clientNextHopNumber(index));
}

export class Plan {
  readonly clients: number;
  readonly prefixesPerClient: number;
  readonly prefixLength: number;
  readonly borrowed: boolean;
  /** Blocks (prefixes of `prefixLength`) per client: all its prefixes, or all but the borrowed /32. */
  private readonly blocks: number;
  private readonly base: number;
  private readonly step: number;
  private readonly firstAsn: number;
  private readonly sameAsn: number | undefined;

  constructor(opts: PlanOptions) {
    this.clients = opts.clients;
    this.prefixesPerClient = opts.prefixesPerClient;
    this.prefixLength = opts.prefixLength ?? 32;
    this.firstAsn = opts.firstAsn ?? PRIVATE_4_OCTET_FIRST + 1;
    this.sameAsn = opts.sameAsn;
    this.borrowed = opts.borrowed ?? false;
    this.blocks = this.prefixesPerClient - (this.borrowed ? 1 : 0);
    const base = parseIpv4(opts.prefixBase ?? '10.0.0.0');
    if (base === undefined) throw new RangeError(`prefixBase: not a dotted quad: ${opts.prefixBase}`);
    if (!Number.isInteger(this.prefixLength) || this.prefixLength < 8 || this.prefixLength > 32)
      throw new RangeError(`prefixLength: expected 8..32, got ${this.prefixLength}`);
    this.step = 2 ** (32 - this.prefixLength);
    if (base % this.step !== 0) throw new RangeError(`prefixBase ${opts.prefixBase} has host bits set`);
    this.base = base;
    if (!Number.isInteger(this.clients) || this.clients < 1) throw new RangeError('clients: at least 1');
    if (!Number.isInteger(this.prefixesPerClient) || this.prefixesPerClient < 0)
      throw new RangeError('prefixesPerClient: 0 or more');
    if (this.borrowed && (this.prefixLength === 32 || this.prefixesPerClient < 2))
      throw new RangeError('borrowed: needs prefixLength < 32 and prefixesPerClient >= 2');
    const last = base + this.clients * this.blocks * this.step;
    if (last > 2 ** 32) throw new RangeError(`${this.total} prefixes from ${opts.prefixBase} overrun 2^32`);
    const lastAsn = this.firstAsn + this.clients;
    if (this.sameAsn === undefined) {
      const hits = (asn: number): boolean => this.firstAsn <= asn && asn < lastAsn;
      if (this.firstAsn < 1 || lastAsn > 4_294_967_295 || hits(AS_TRANS) || hits(65535))
        throw new RangeError(`ASNs ${this.firstAsn}..${lastAsn - 1}: out of range or across 23456/65535`);
    }
  }

  /** Prefixes announced by all clients together. */
  get total(): number {
    return this.clients * this.prefixesPerClient;
  }

  client(index: number): ClientPlan {
    return {
      index,
      localAddress: clientAddress(index),
      asn: this.asnOf(index),
      bgpId: clientNextHop(index),
      nextHop: clientNextHop(index),
    };
  }

  /** Every client in one AS (iBGP). */
  get sameAsnSet(): boolean {
    return this.sameAsn !== undefined;
  }

  nextHopNumber(index: number): number {
    return clientNextHopNumber(index);
  }

  asnOf(index: number): number {
    return this.sameAsn ?? this.firstAsn + index;
  }

  /** The prefix keys (see prefix.ts) client `index` announces. */
  prefixesOf(index: number): number[] {
    const out: number[] = new Array(this.prefixesPerClient);
    const first = index * this.blocks;
    for (let j = 0; j < this.blocks; j++)
      out[j] = ipv4Key(this.base + (first + j) * this.step, this.prefixLength);
    if (this.borrowed) {
      const lender = ((index + 1) % this.clients) * this.blocks;
      out[this.blocks] = ipv4Key(this.base + lender * this.step + this.step - 1, 32);
    }
    return out;
  }

  /** Position of a prefix key in the plan, 0..total-1, or -1 when it is not one of the plan's. */
  slot(key: number): number {
    const len = key & 63;
    const addr = (key - len) / 64;
    const off = addr - this.base;
    if (off < 0) return -1;
    if (len === this.prefixLength) {
      if (off % this.step !== 0) return -1;
      const block = off / this.step;
      if (block >= this.clients * this.blocks) return -1;
      const client = Math.floor(block / this.blocks);
      return client * this.prefixesPerClient + (block % this.blocks);
    }
    if (!this.borrowed || len !== 32 || off % this.step !== this.step - 1) return -1;
    const block = (off - (this.step - 1)) / this.step;
    if (block % this.blocks !== 0 || block >= this.clients * this.blocks) return -1;
    const borrower = (block / this.blocks - 1 + this.clients) % this.clients;
    return borrower * this.prefixesPerClient + this.blocks;
  }

  /** The client that announces the prefix in `slot`. */
  originOf(slot: number): number {
    return Math.floor(slot / this.prefixesPerClient);
  }
}
