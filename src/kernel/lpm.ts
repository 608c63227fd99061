// Longest-prefix match over IPv4 and IPv6 prefixes: one hash map per family, keyed by the codecs'
// compact prefix keys (src/bgp/messages/prefix.ts), probed from the longest prefix length present down
// to the shortest. A lookup costs one map probe per distinct length in the table (a Calico node's main
// table holds a handful: /0, the host subnet, /26 blocks, /32 pods), never a walk over the routes.

import {
  ipv4Key,
  ipv6KeyFromBytes,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
} from '../bgp/messages/prefix.js';

/** The prefix lengths present, longest first, with a count each so removal knows when one goes. */
class Lengths {
  private readonly counts: Uint32Array;
  desc: number[] = [];

  constructor(max: number) {
    this.counts = new Uint32Array(max + 1);
  }

  add(len: number): void {
    if (this.counts[len]!++ === 0) this.desc = [...this.desc, len].sort((a, b) => b - a);
  }

  remove(len: number): void {
    if (--this.counts[len]! === 0) this.desc = this.desc.filter((l) => l !== len);
  }

  reset(): void {
    this.counts.fill(0);
    this.desc = [];
  }
}

export class PrefixIndex<V> {
  private readonly v4 = new Map<number, V>();
  private readonly v6 = new Map<string, V>();
  private readonly v4Lengths = new Lengths(32);
  private readonly v6Lengths = new Lengths(128);

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** The value stored at exactly `prefix` (canonical or not; host bits must be zero). */
  get(prefix: string): V | undefined {
    if (prefix.includes(':')) {
      const k = parseIpv6Prefix(prefix);
      return k === undefined ? undefined : this.v6.get(k);
    }
    const k = parseIpv4Prefix(prefix);
    return k === undefined ? undefined : this.v4.get(k);
  }

  set(prefix: string, value: V): void {
    if (prefix.includes(':')) {
      const k = parseIpv6Prefix(prefix);
      if (k === undefined) throw new RangeError(`PrefixIndex: not a prefix: ${prefix}`);
      if (!this.v6.has(k)) this.v6Lengths.add(k.charCodeAt(8));
      this.v6.set(k, value);
      return;
    }
    const k = parseIpv4Prefix(prefix);
    if (k === undefined) throw new RangeError(`PrefixIndex: not a prefix: ${prefix}`);
    if (!this.v4.has(k)) this.v4Lengths.add(k & 63);
    this.v4.set(k, value);
  }

  delete(prefix: string): boolean {
    if (prefix.includes(':')) {
      const k = parseIpv6Prefix(prefix);
      if (k === undefined || !this.v6.delete(k)) return false;
      this.v6Lengths.remove(k.charCodeAt(8));
      return true;
    }
    const k = parseIpv4Prefix(prefix);
    if (k === undefined || !this.v4.delete(k)) return false;
    this.v4Lengths.remove(k & 63);
    return true;
  }

  /**
   * Reads and changes the value at `prefix` with one parse of the prefix: `fn` gets the current value
   * (undefined: none) and returns the new one (undefined: none, the entry goes). False when `prefix` is
   * not a prefix (then `fn` is not called).
   */
  update(prefix: string, fn: (v: V | undefined) => V | undefined): boolean {
    if (prefix.includes(':')) {
      const k = parseIpv6Prefix(prefix);
      if (k === undefined) return false;
      const before = this.v6.get(k);
      const after = fn(before);
      if (after === undefined) {
        if (before !== undefined && this.v6.delete(k)) this.v6Lengths.remove(k.charCodeAt(8));
      } else {
        if (before === undefined) this.v6Lengths.add(k.charCodeAt(8));
        this.v6.set(k, after);
      }
      return true;
    }
    const k = parseIpv4Prefix(prefix);
    if (k === undefined) return false;
    const before = this.v4.get(k);
    const after = fn(before);
    if (after === undefined) {
      if (before !== undefined && this.v4.delete(k)) this.v4Lengths.remove(k & 63);
    } else {
      if (before === undefined) this.v4Lengths.add(k & 63);
      this.v4.set(k, after);
    }
    return true;
  }

  /** The value of the longest prefix that contains `address`; undefined when none does (or no address). */
  lookup(address: string): V | undefined {
    if (address.includes(':')) {
      const bytes = parseIpv6(address);
      return bytes === undefined ? undefined : this.lookupIpv6(bytes);
    }
    const a = parseIpv4(address);
    return a === undefined ? undefined : this.lookupIpv4(a);
  }

  lookupIpv4(addr: number): V | undefined {
    for (const len of this.v4Lengths.desc) {
      const v = this.v4.get(ipv4Key(addr, len));
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** `bytes`: the 16 bytes of an IPv6 address. */
  lookupIpv6(bytes: Uint8Array): V | undefined {
    for (const len of this.v6Lengths.desc) {
      const v = this.v6.get(ipv6KeyFromBytes(bytes, 0, len));
      if (v !== undefined) return v;
    }
    return undefined;
  }

  clear(): void {
    this.v4.clear();
    this.v6.clear();
    this.v4Lengths.reset();
    this.v6Lengths.reset();
  }
}
