// UPDATE <-> JSON, the shape `tern decode` prints (docs/decode.md). Kept out of the codec types:
// the codecs know bytes and data, this module knows text.

import type {
  AsPathSegment,
  Ipv6ExtendedCommunity,
  LargeCommunity,
  MpReach,
  MpUnreach,
  PathAttributes,
  RawAttribute,
} from '../messages/attributes/types.js';
import {
  Afi,
  AsPathSegmentType,
  errorCodeName,
  errorSubcodeName,
  familyName,
  type Origin,
} from '../messages/iana.js';
import type { Ipv4Prefixes, PrefixList } from '../messages/nlri.js';
import {
  formatIpv4Key,
  formatIpv6Key,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
} from '../messages/prefix.js';
import { type AttributeProblem, endOfRibFamily, type UpdateMessage } from '../messages/update.js';
import { fromHex, toHex } from './hex.js';
import { arr, fail, type Json, obj, str, uint } from './read.js';

const ORIGIN_NAMES = ['igp', 'egp', 'incomplete'] as const;
const SEGMENT_NAMES: Readonly<Record<number, string>> = {
  [AsPathSegmentType.AS_SET]: 'set',
  [AsPathSegmentType.AS_SEQUENCE]: 'sequence',
  [AsPathSegmentType.AS_CONFED_SEQUENCE]: 'confed-sequence',
  [AsPathSegmentType.AS_CONFED_SET]: 'confed-set',
};

// ---- to JSON ----

type PrefixJson = string | { prefix: string; pathId: number };

export function prefixesToJson(list: PrefixList): PrefixJson[] {
  const ids = list.pathIds;
  const out: PrefixJson[] = [];
  for (let i = 0; i < list.prefixes.length; i++) {
    const text = list.afi === Afi.IPV4 ? formatIpv4Key(list.prefixes[i]!) : formatIpv6Key(list.prefixes[i]!);
    out.push(ids ? { prefix: text, pathId: ids[i]! } : text);
  }
  return out;
}

export function communityToText(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

export function largeCommunityToText(c: LargeCommunity): string {
  return `${c.globalAdmin}:${c.localData1}:${c.localData2}`;
}

export function extendedCommunityToText(c: bigint): string {
  return c.toString(16).padStart(16, '0');
}

function mpReachToJson(m: MpReach): Json {
  const base = { afi: m.afi, safi: m.safi, family: familyName(m.afi, m.safi) };
  if (m.kind === 'opaque') return { ...base, nextHop: toHex(m.nextHop), nlri: toHex(m.nlri) };
  return {
    ...base,
    nextHop: m.nextHop,
    ...(m.linkLocalNextHop !== undefined ? { linkLocalNextHop: m.linkLocalNextHop } : {}),
    nlri: prefixesToJson(m.nlri),
  };
}

function mpUnreachToJson(m: MpUnreach): Json {
  const base = { afi: m.afi, safi: m.safi, family: familyName(m.afi, m.safi) };
  return m.kind === 'opaque'
    ? { ...base, withdrawn: toHex(m.withdrawn) }
    : { ...base, withdrawn: prefixesToJson(m.withdrawn) };
}

export function attributesToJson(a: PathAttributes): Json {
  const j: Json = {};
  if (a.mpReach) j.mpReach = mpReachToJson(a.mpReach);
  if (a.mpUnreach) j.mpUnreach = mpUnreachToJson(a.mpUnreach);
  if (a.origin !== undefined) j.origin = ORIGIN_NAMES[a.origin];
  if (a.asPath) j.asPath = a.asPath.map((s) => ({ type: SEGMENT_NAMES[s.type], asns: [...s.asns] }));
  if (a.nextHop !== undefined) j.nextHop = a.nextHop;
  if (a.med !== undefined) j.med = a.med;
  if (a.localPref !== undefined) j.localPref = a.localPref;
  if (a.atomicAggregate) j.atomicAggregate = true;
  if (a.aggregator) j.aggregator = { as: a.aggregator.as, address: a.aggregator.address };
  if (a.communities) j.communities = a.communities.map(communityToText);
  if (a.originatorId !== undefined) j.originatorId = a.originatorId;
  if (a.clusterList) j.clusterList = [...a.clusterList];
  if (a.extendedCommunities) j.extendedCommunities = a.extendedCommunities.map(extendedCommunityToText);
  if (a.ipv6ExtendedCommunities) j.ipv6ExtendedCommunities = a.ipv6ExtendedCommunities.map((c) => ({ ...c }));
  if (a.largeCommunities) j.largeCommunities = a.largeCommunities.map(largeCommunityToText);
  if (a.unknown) j.unknown = a.unknown.map((u) => ({ code: u.code, flags: u.flags, value: toHex(u.value) }));
  return j;
}

export function problemToJson(p: AttributeProblem): Json {
  const e = p.error;
  return {
    action: p.action,
    code: e.code,
    subcode: e.subcode,
    name: `${errorCodeName(e.code)} / ${errorSubcodeName(e.code, e.subcode)}`,
    message: e.message,
    ...(e.offset !== undefined ? { offset: e.offset } : {}),
  };
}

export function updateToJson(msg: UpdateMessage): Json {
  const j: Json = {
    type: 'update',
    withdrawn: prefixesToJson(msg.withdrawn),
    attributes: attributesToJson(msg.attributes),
    nlri: prefixesToJson(msg.nlri),
  };
  const eor = endOfRibFamily(msg);
  if (eor !== undefined) j.endOfRib = familyName(eor >> 8, eor & 255);
  if (msg.problems) j.problems = msg.problems.map(problemToJson);
  if (msg.ignoredAttributes) j.ignoredAttributes = [...msg.ignoredAttributes];
  return j;
}

// ---- from JSON ----

function prefixesFromJson(v: unknown, afi: number, path: string): PrefixList {
  const items = arr(v, path);
  const prefixes: (number | string)[] = [];
  let pathIds: number[] | undefined;
  items.forEach((item, i) => {
    const p = `${path}[${i}]`;
    let text: string;
    if (typeof item === 'string') {
      text = item;
      if (pathIds) fail(p, 'an object with pathId like the others', item);
    } else {
      const o = obj(item, p);
      text = str(o.prefix, `${p}.prefix`);
      if (i === 0) pathIds = [];
      if (!pathIds) fail(p, 'a prefix string like the others', item);
      pathIds.push(uint(o.pathId, `${p}.pathId`));
    }
    const key = afi === Afi.IPV4 ? parseIpv4Prefix(text) : parseIpv6Prefix(text);
    if (key === undefined) fail(p, `an ${afi === Afi.IPV4 ? 'IPv4' : 'IPv6'} prefix without host bits`, text);
    prefixes.push(key);
  });
  if (afi === Afi.IPV4) {
    const list = prefixes as number[];
    return pathIds ? { afi: Afi.IPV4, prefixes: list, pathIds } : { afi: Afi.IPV4, prefixes: list };
  }
  const list = prefixes as string[];
  return pathIds ? { afi: Afi.IPV6, prefixes: list, pathIds } : { afi: Afi.IPV6, prefixes: list };
}

function ipv4Prefixes(v: unknown, path: string): Ipv4Prefixes {
  return prefixesFromJson(v, Afi.IPV4, path) as Ipv4Prefixes;
}

function ipv4Text(v: unknown, path: string): string {
  const s = str(v, path);
  if (parseIpv4(s) === undefined) fail(path, 'an IPv4 address', s);
  return s;
}

function addressText(v: unknown, path: string): string {
  const s = str(v, path);
  if (parseIpv4(s) === undefined && parseIpv6(s) === undefined) fail(path, 'an IP address', s);
  return s;
}

function hexBytes(v: unknown, path: string): Uint8Array {
  const b = fromHex(str(v, path));
  if (!b) fail(path, 'hex bytes', v);
  return b;
}

function isUnicastFamily(afi: number, safi: number): boolean {
  return (afi === Afi.IPV4 || afi === Afi.IPV6) && safi === 1;
}

function mpReachFromJson(v: unknown, path: string): MpReach {
  const o = obj(v, path);
  const afi = uint(o.afi, `${path}.afi`, 0xffff);
  const safi = uint(o.safi, `${path}.safi`, 0xff);
  if (!isUnicastFamily(afi, safi)) {
    return {
      kind: 'opaque',
      afi,
      safi,
      nextHop: hexBytes(o.nextHop, `${path}.nextHop`),
      nlri: hexBytes(o.nlri, `${path}.nlri`),
    };
  }
  const nextHop = addressText(o.nextHop, `${path}.nextHop`);
  const nlri = prefixesFromJson(o.nlri, afi, `${path}.nlri`);
  if (o.linkLocalNextHop === undefined) return { kind: 'unicast', afi, safi, nextHop, nlri };
  const ll = addressText(o.linkLocalNextHop, `${path}.linkLocalNextHop`);
  return { kind: 'unicast', afi, safi, nextHop, linkLocalNextHop: ll, nlri };
}

function mpUnreachFromJson(v: unknown, path: string): MpUnreach {
  const o = obj(v, path);
  const afi = uint(o.afi, `${path}.afi`, 0xffff);
  const safi = uint(o.safi, `${path}.safi`, 0xff);
  if (!isUnicastFamily(afi, safi))
    return { kind: 'opaque', afi, safi, withdrawn: hexBytes(o.withdrawn, `${path}.withdrawn`) };
  return { kind: 'unicast', afi, safi, withdrawn: prefixesFromJson(o.withdrawn, afi, `${path}.withdrawn`) };
}

function splitNumbers(v: unknown, path: string, parts: number): number[] {
  const s = str(v, path);
  const nums = s.split(':');
  const max = parts === 2 ? 0xffff : 0xffffffff;
  if (nums.length !== parts || nums.some((n) => !/^\d+$/.test(n) || Number(n) > max)) {
    fail(
      path,
      parts === 2 ? '"high:low" with 16-bit numbers' : '"global:local1:local2" with 32-bit numbers',
      s,
    );
  }
  return nums.map(Number);
}

export function attributesFromJson(v: unknown, path = 'attributes'): PathAttributes {
  const o = obj(v, path);
  const a: PathAttributes = {};
  for (const key of Object.keys(o)) {
    const p = `${path}.${key}`;
    const val = o[key];
    switch (key) {
      case 'mpReach':
        a.mpReach = mpReachFromJson(val, p);
        break;
      case 'mpUnreach':
        a.mpUnreach = mpUnreachFromJson(val, p);
        break;
      case 'origin': {
        const i = ORIGIN_NAMES.indexOf(str(val, p) as (typeof ORIGIN_NAMES)[number]);
        if (i < 0) fail(p, 'igp, egp or incomplete', val);
        a.origin = i as Origin;
        break;
      }
      case 'asPath':
        a.asPath = arr(val, p).map((s, i): AsPathSegment => {
          const so = obj(s, `${p}[${i}]`);
          const name = str(so.type, `${p}[${i}].type`);
          const type = Number(Object.keys(SEGMENT_NAMES).find((k) => SEGMENT_NAMES[Number(k)] === name));
          if (!type) fail(`${p}[${i}].type`, 'set, sequence, confed-sequence or confed-set', name);
          const asns = arr(so.asns, `${p}[${i}].asns`).map((n, j) => uint(n, `${p}[${i}].asns[${j}]`));
          return { type: type as AsPathSegment['type'], asns };
        });
        break;
      case 'nextHop':
        a.nextHop = ipv4Text(val, p);
        break;
      case 'med':
        a.med = uint(val, p);
        break;
      case 'localPref':
        a.localPref = uint(val, p);
        break;
      case 'atomicAggregate':
        if (val !== true) fail(p, 'true', val);
        a.atomicAggregate = true;
        break;
      case 'aggregator': {
        const ag = obj(val, p);
        a.aggregator = { as: uint(ag.as, `${p}.as`), address: ipv4Text(ag.address, `${p}.address`) };
        break;
      }
      case 'communities':
        a.communities = arr(val, p).map((c, i) => {
          const [hi, lo] = splitNumbers(c, `${p}[${i}]`, 2);
          return ((hi! << 16) | lo!) >>> 0;
        });
        break;
      case 'originatorId':
        a.originatorId = ipv4Text(val, p);
        break;
      case 'clusterList':
        a.clusterList = arr(val, p).map((c, i) => ipv4Text(c, `${p}[${i}]`));
        break;
      case 'extendedCommunities':
        a.extendedCommunities = arr(val, p).map((c, i) => {
          const b = hexBytes(c, `${p}[${i}]`);
          if (b.length !== 8) fail(`${p}[${i}]`, '8 bytes of hex', c);
          return new DataView(b.buffer, b.byteOffset).getBigUint64(0);
        });
        break;
      case 'ipv6ExtendedCommunities':
        a.ipv6ExtendedCommunities = arr(val, p).map((c, i): Ipv6ExtendedCommunity => {
          const co = obj(c, `${p}[${i}]`);
          const address = str(co.address, `${p}[${i}].address`);
          if (!parseIpv6(address)) fail(`${p}[${i}].address`, 'an IPv6 address', address);
          return {
            type: uint(co.type, `${p}[${i}].type`, 0xff),
            subtype: uint(co.subtype, `${p}[${i}].subtype`, 0xff),
            address,
            localAdmin: uint(co.localAdmin, `${p}[${i}].localAdmin`, 0xffff),
          };
        });
        break;
      case 'largeCommunities':
        a.largeCommunities = arr(val, p).map((c, i) => {
          const [g, l1, l2] = splitNumbers(c, `${p}[${i}]`, 3);
          return { globalAdmin: g!, localData1: l1!, localData2: l2! };
        });
        break;
      case 'unknown':
        a.unknown = arr(val, p).map((u, i): RawAttribute => {
          const uo = obj(u, `${p}[${i}]`);
          return {
            code: uint(uo.code, `${p}[${i}].code`, 0xff),
            flags: uint(uo.flags, `${p}[${i}].flags`, 0xff),
            value: hexBytes(uo.value, `${p}[${i}].value`),
          };
        });
        break;
      default:
        fail(p, 'a known attribute name', key);
    }
  }
  return a;
}

export function updateFromJson(v: unknown): UpdateMessage {
  const o = obj(v, 'update');
  return {
    type: 'update',
    withdrawn: ipv4Prefixes(o.withdrawn ?? [], 'withdrawn'),
    attributes: attributesFromJson(o.attributes ?? {}),
    nlri: ipv4Prefixes(o.nlri ?? [], 'nlri'),
  };
}
