// The export filter: which prefixes may be sent to BGP peers at all, and the communities added to them
// on the way, whoever the peer is (config `exportFilter`, types.ts ExportRule). It is BIRD's `export
// filter` of Calico's generated config (reject the pools with disableBGPExport, add the communities of
// prefixAdvertisements, export a local block and nothing beneath it, accept the service ranges and
// anything inside an IP pool, reject the rest), in a form that works on the RIBs' prefix keys.
//
// Rules are tried in order; the first `accept` or `reject` that matches decides, `addCommunities` adds
// and goes on, and a prefix no deciding rule matches is sent. Pure; the Router applies it before the
// per-peer export rules (export.ts) and adds the communities after them.

import type { ExportMatch, ExportRule } from '../../config/types.js';
import { IPV4_UNICAST } from '../messages/iana.js';
import {
  ipv4KeyAddr,
  ipv4KeyLen,
  ipv4Mask,
  ipv6KeyLen,
  parseIpv4Prefix,
  parseIpv6Prefix,
} from '../messages/prefix.js';

const ACCEPT = 0;
const REJECT = 1;
const ADD = 2;

/** A rule of one family: `prefix` is its key (prefix.ts; IPv4 a number, IPv6 a string), undefined: any. */
interface Rule {
  readonly prefix?: number | string;
  readonly len: number;
  readonly match: ExportMatch;
  readonly action: number;
  readonly index: number;
}

const NONE: readonly number[] = Object.freeze([]);

function actionOf(r: ExportRule): number {
  return r.action === 'accept' ? ACCEPT : r.action === 'reject' ? REJECT : ADD;
}

function lengthMatches(match: ExportMatch, ruleLen: number, len: number): boolean {
  return match === 'orLonger' ? len >= ruleLen : match === 'exact' ? len === ruleLen : len > ruleLen;
}

/** Whether the first `len` bits of two IPv6 keys are the same. */
function sameV6Bits(a: string, b: string, len: number): boolean {
  const whole = len >> 4;
  for (let g = 0; g < whole; g++) if (a.charCodeAt(g) !== b.charCodeAt(g)) return false;
  const rest = len & 15;
  if (rest === 0) return true;
  const mask = (0xffff << (16 - rest)) & 0xffff;
  return (a.charCodeAt(whole) & mask) === (b.charCodeAt(whole) & mask);
}

/** Whether a prefix key of the rule's family is the rule's prefix or inside it, as `match` asks. */
function matches(r: Rule, prefix: number | string): boolean {
  if (r.prefix === undefined) return true;
  if (typeof prefix === 'number') {
    const len = ipv4KeyLen(prefix);
    if (!lengthMatches(r.match, r.len, len)) return false;
    return ((ipv4KeyAddr(prefix) & ipv4Mask(r.len)) >>> 0) * 64 + r.len === r.prefix;
  }
  if (!lengthMatches(r.match, r.len, ipv6KeyLen(prefix))) return false;
  return typeof r.prefix === 'string' && sameV6Bits(prefix, r.prefix, r.len);
}

export class ExportFilter {
  private readonly v4: readonly Rule[];
  private readonly v6: readonly Rule[];
  private readonly communities: readonly (readonly number[])[];
  /** The communities added by each combination of addCommunities rules (one array per combination). */
  private readonly added = new Map<string, readonly number[]>();

  constructor(readonly rules: readonly ExportRule[]) {
    const v4: Rule[] = [];
    const v6: Rule[] = [];
    rules.forEach((r, index) => {
      const base = { match: r.match, action: actionOf(r), index };
      if (r.prefix === undefined) {
        v4.push({ ...base, len: 0 });
        v6.push({ ...base, len: 0 });
      } else if (r.family === 'ipv6-unicast') {
        const key = parseIpv6Prefix(r.prefix);
        if (key !== undefined) v6.push({ ...base, prefix: key, len: ipv6KeyLen(key) });
      } else {
        const key = parseIpv4Prefix(r.prefix);
        if (key !== undefined) v4.push({ ...base, prefix: key, len: ipv4KeyLen(key) });
      }
    });
    this.v4 = v4;
    this.v6 = v6;
    this.communities = rules.map((r) => r.communities);
  }

  /** True when the filter sends everything unchanged (no rules). */
  get empty(): boolean {
    return this.rules.length === 0;
  }

  /**
   * undefined: the prefix is not sent to any peer; else the communities to add (often none: an empty
   * array). The same combination of added communities is always the same array.
   */
  check(family: number, prefix: number | string): readonly number[] | undefined {
    const rules = family === IPV4_UNICAST && typeof prefix === 'number' ? this.v4 : this.v6;
    let adds: number[] | undefined;
    for (const r of rules) {
      if (!matches(r, prefix)) continue;
      if (r.action !== ADD) return r.action === REJECT ? undefined : this.addedBy(adds);
      adds = adds ?? [];
      adds.push(r.index);
    }
    return this.addedBy(adds);
  }

  private addedBy(indices: readonly number[] | undefined): readonly number[] {
    if (indices === undefined) return NONE;
    const k = indices.join(',');
    let out = this.added.get(k);
    if (out === undefined) {
      out = [...new Set(indices.flatMap((i) => this.communities[i] ?? []))];
      this.added.set(k, out);
    }
    return out;
  }
}

/** The route's communities with `extra` appended (those it lacks), or the same list when it has them all. */
export function withCommunities(
  own: readonly number[] | undefined,
  extra: readonly number[],
): readonly number[] | undefined {
  if (extra.length === 0) return own;
  const have = new Set(own ?? []);
  const missing = extra.filter((c) => !have.has(c));
  return missing.length === 0 ? own : [...(own ?? []), ...missing];
}
