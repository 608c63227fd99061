// What we tell a peer about our own (originated) prefixes: the attributes per RFC 4271 5.1 for iBGP and
// eBGP, next hop self, packed UPDATEs per attribute set, withdrawals for what is no longer originated,
// and End-of-RIB per family (RFC 4724 2). Pure: the Peer writes the bytes.

import type { PathAttributes } from '../bgp/messages/attributes/types.js';
import type { CodecContext } from '../bgp/messages/context.js';
import { hasAddPath } from '../bgp/messages/context.js';
import {
  Afi,
  AsPathSegmentType,
  familyName,
  IPV4_UNICAST,
  IPV6_UNICAST,
  Origin,
  Safi,
} from '../bgp/messages/iana.js';
import { encodeMessage } from '../bgp/messages/message.js';
import type { Ipv4Prefixes, Ipv6Prefixes, PrefixList } from '../bgp/messages/nlri.js';
import { canonicalIpv6, parseIpv4, parseIpv4Prefix, parseIpv6Prefix } from '../bgp/messages/prefix.js';
import { endOfRib } from '../bgp/messages/update.js';
import { packAnnouncements, packWithdrawals } from '../bgp/messages/update-packer.js';
import type { OriginateRoute, TernConfig } from '../config/types.js';
import type { Logger } from '../log.js';

export interface AdvertiseInput {
  readonly originate: readonly OriginateRoute[];
  /** Negotiated families (familyKey) to advertise. */
  readonly families: readonly number[];
  readonly ibgp: boolean;
  readonly localAsn: number;
  /** The session's local socket address (next hop self), possibly IPv4-mapped IPv6. */
  readonly localAddress: string | undefined;
  readonly nextHop: TernConfig['nextHop'];
  readonly sendContext: CodecContext;
  /** What the peer was told before, per family; prefixes no longer originated are withdrawn. */
  readonly previously: ReadonlyMap<number, ReadonlySet<number | string>>;
  readonly endOfRib: boolean;
  readonly log: Logger;
}

export interface Advertisement {
  readonly messages: Uint8Array[];
  /** Per family, the prefix keys the peer now holds from us. */
  readonly advertised: Map<number, Set<number | string>>;
}

/** The session's own address of each family, for next hop self. */
function localNextHops(
  local: string | undefined,
  configured: TernConfig['nextHop'],
): { v4?: string; v6?: string } {
  let v4 = configured.ipv4;
  let v6 = configured.ipv6;
  if (local !== undefined) {
    const mapped = local.startsWith('::ffff:') ? local.slice(7) : undefined;
    if (mapped !== undefined && parseIpv4(mapped) !== undefined) v4 = mapped;
    else if (parseIpv4(local) !== undefined) v4 = local;
    else v6 = canonicalIpv6(local) ?? v6;
  }
  return { ...(v4 !== undefined ? { v4 } : {}), ...(v6 !== undefined ? { v6 } : {}) };
}

function attributeKey(r: OriginateRoute): string {
  return `${r.communities.join(',')}|${r.localPref ?? ''}|${r.med ?? ''}`;
}

export function advertisement(input: AdvertiseInput): Advertisement {
  const messages: Uint8Array[] = [];
  const advertised = new Map<number, Set<number | string>>();
  const hops = localNextHops(input.localAddress, input.nextHop);
  const ctx = input.sendContext;

  for (const family of input.families) {
    if (family !== IPV4_UNICAST && family !== IPV6_UNICAST) continue;
    const v4 = family === IPV4_UNICAST;
    const nextHop = v4 ? hops.v4 : hops.v6;
    const routes = input.originate.filter((r) => r.family === familyName(family >> 8, family & 255));
    const keys = new Set<number | string>();
    if (nextHop === undefined) {
      if (routes.length > 0) {
        input.log.warn(
          { family: familyName(family >> 8, family & 255), routes: routes.length },
          `no ${v4 ? 'IPv4' : 'IPv6'} next hop for this session (set nextHop.${v4 ? 'ipv4' : 'ipv6'}): routes not advertised`,
        );
      }
    } else {
      const addPath = hasAddPath(ctx, v4 ? Afi.IPV4 : Afi.IPV6, Safi.UNICAST);
      const groups = new Map<string, OriginateRoute[]>();
      for (const r of routes) {
        const k = attributeKey(r);
        const g = groups.get(k);
        if (g) g.push(r);
        else groups.set(k, [r]);
      }
      for (const group of groups.values()) {
        const first = group[0]!;
        const attrs: PathAttributes = {
          origin: Origin.IGP,
          asPath: input.ibgp ? [] : [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [input.localAsn] }],
          ...(v4 ? { nextHop } : {}),
          ...(first.med !== undefined ? { med: first.med } : {}),
          ...(input.ibgp ? { localPref: first.localPref ?? 100 } : {}),
          ...(first.communities.length > 0 ? { communities: first.communities } : {}),
          ...(v4
            ? {}
            : {
                mpReach: {
                  kind: 'unicast' as const,
                  afi: Afi.IPV6,
                  safi: Safi.UNICAST,
                  nextHop,
                  nlri: { afi: Afi.IPV6, prefixes: [] },
                },
              }),
        };
        const list = prefixList(
          group.map((r) => r.prefix),
          v4,
          addPath,
        );
        for (const p of list.prefixes) keys.add(p);
        packAnnouncements(attrs, list, ctx, messages);
      }
    }
    // withdraw what was advertised before and is no longer originated
    const before = input.previously.get(family);
    if (before) {
      const gone = [...before].filter((k) => !keys.has(k));
      if (gone.length > 0)
        packWithdrawals(
          withdrawList(gone, v4, hasAddPath(ctx, v4 ? Afi.IPV4 : Afi.IPV6, Safi.UNICAST)),
          ctx,
          messages,
        );
    }
    advertised.set(family, keys);
    if (input.endOfRib) messages.push(encodeMessage(endOfRib(family >> 8, family & 255), ctx));
  }
  return { messages, advertised };
}

/** Our routes carry path identifier 1 where ADD-PATH is negotiated (one path per prefix). */
function prefixList(prefixes: readonly string[], v4: boolean, addPath: boolean): PrefixList {
  if (v4) {
    const keys = prefixes.map((p) => parseIpv4Prefix(p)!);
    const list: Ipv4Prefixes = addPath
      ? { afi: Afi.IPV4, prefixes: keys, pathIds: keys.map(() => 1) }
      : { afi: Afi.IPV4, prefixes: keys };
    return list;
  }
  const keys = prefixes.map((p) => parseIpv6Prefix(p)!);
  const list: Ipv6Prefixes = addPath
    ? { afi: Afi.IPV6, prefixes: keys, pathIds: keys.map(() => 1) }
    : { afi: Afi.IPV6, prefixes: keys };
  return list;
}

function withdrawList(keys: readonly (number | string)[], v4: boolean, addPath: boolean): PrefixList {
  if (v4) {
    const k = keys as number[];
    return addPath ? { afi: Afi.IPV4, prefixes: k, pathIds: k.map(() => 1) } : { afi: Afi.IPV4, prefixes: k };
  }
  const k = keys as string[];
  return addPath ? { afi: Afi.IPV6, prefixes: k, pathIds: k.map(() => 1) } : { afi: Afi.IPV6, prefixes: k };
}
