// Address and prefix text as the kernel tools print it, made canonical (dotted quad, RFC 5952, always
// with a length), on top of the codecs' compact keys (src/bgp/messages/prefix.ts).

import {
  canonicalIpv6,
  formatIpv4Key,
  formatIpv6Key,
  ipv4KeyLen,
  ipv6KeyLen,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6Prefix,
} from '../bgp/messages/prefix.js';
import type { FamilyName } from '../config/types.js';

export interface CanonicalPrefix {
  readonly family: FamilyName;
  /** "10.244.1.5/32", "fd00::/64". */
  readonly prefix: string;
  readonly length: number;
}

/** The family of an address or prefix text, by its syntax. */
export function familyOf(text: string): FamilyName {
  return text.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
}

/**
 * A destination as iproute2 prints it ("default", "10.244.1.5", "10.244.1.0/26", "fd00::/64") as a
 * canonical prefix; `family` decides what "default" means. Undefined when it is no prefix, or has host
 * bits set (the kernel never stores one).
 */
export function canonicalPrefix(dst: string, family: FamilyName): CanonicalPrefix | undefined {
  if (dst === 'default') {
    return family === 'ipv4-unicast'
      ? { family, prefix: '0.0.0.0/0', length: 0 }
      : { family, prefix: '::/0', length: 0 };
  }
  if (dst.includes(':')) {
    const key = parseIpv6Prefix(dst);
    return key === undefined
      ? undefined
      : { family: 'ipv6-unicast', prefix: formatIpv6Key(key), length: ipv6KeyLen(key) };
  }
  const key = parseIpv4Prefix(dst);
  if (key === undefined) return undefined;
  // parseIpv4Prefix takes only canonical text (no leading zeros, a plain length): reuse it as it is
  // (a hot path: every monitor message and every wanted route)
  const length = ipv4KeyLen(key);
  return { family: 'ipv4-unicast', prefix: dst.includes('/') ? dst : `${dst}/32`, length };
}

/** An address in canonical text, or undefined when the text is not one. */
export function canonicalAddress(text: string): string | undefined {
  if (text.includes(':')) return canonicalIpv6(text);
  // parseIpv4 takes only canonical dotted quads (no leading zeros): the text is its own canonical form
  return parseIpv4(text) === undefined ? undefined : text;
}

/** Whether prefix `inner` lies inside (or equals) `outer`; both canonical. */
export function prefixCovers(outer: CanonicalPrefix, inner: CanonicalPrefix): boolean {
  return (
    outer.family === inner.family &&
    outer.length <= inner.length &&
    truncated(inner, outer.length) === outer.prefix
  );
}

/** `p`'s address cut to `length` bits, as canonical prefix text. */
export function truncated(p: CanonicalPrefix, length: number): string {
  const address = p.prefix.slice(0, p.prefix.indexOf('/'));
  if (p.family === 'ipv4-unicast') return formatIpv4Key(parseIpv4Prefix(`${address}/${length}`, true)!);
  return formatIpv6Key(parseIpv6Prefix(`${address}/${length}`, true)!);
}
