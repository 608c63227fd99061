// Small parts of Go's and Calico's value syntax that Calico resources use, so that tern reads a value the
// way calicoctl / confd read it: time.ParseDuration (metav1.Duration fields), numorstring.ASNumber
// (api/pkg/lib/numorstring/asnumber.go: "64512" or dotted "1.10"), net.SplitHostPort as confd's
// parseIPPort uses it, and Go's net.IP.String() text of addresses.

import { canonicalIpv6, formatIpv4, parseIpv4 } from '../../bgp/messages/prefix.js';

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6, // U+00B5
  μs: 1e-6, // U+03BC
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/**
 * Go's time.ParseDuration ("120s", "1m30s", "1.5h", "300ms", "0"), in seconds; undefined when it is not
 * one. Negative durations parse (the caller refuses them).
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) return undefined;
    const value = Number(`${m[1] === '' ? '0' : m[1]}.${m[2] ?? ''}0`);
    total += value * UNIT_SECONDS[m[3]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Go's math.Round (half away from zero). */
export function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** numorstring.ASNumberFromString: a decimal uint32, or "high.low" (asdot, each 0..65535). */
export function parseAsNumberText(s: string): number | undefined {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n <= 0xffffffff ? n : undefined;
  }
  const m = /^(\d+)\.(\d+)$/.exec(s);
  if (!m) return undefined;
  const hi = Number(m[1]);
  const lo = Number(m[2]);
  return hi <= 0xffff && lo <= 0xffff ? hi * 65536 + lo : undefined;
}

export interface IpText {
  /** Go's net.IP.String(): dotted quad, or RFC 5952 for IPv6 (as confd writes it). */
  readonly address: string;
  readonly family: 4 | 6;
}

/** An IPv4 or IPv6 address in Go's canonical text, or undefined. IPv4-mapped IPv6 is refused. */
export function parseIp(s: string): IpText | undefined {
  if (s.includes(':')) {
    const c = canonicalIpv6(s);
    if (c === undefined || (c.startsWith('::ffff:') && c.includes('.'))) return undefined;
    return { address: c, family: 6 };
  }
  const v4 = parseIpv4(s);
  return v4 === undefined ? undefined : { address: formatIpv4(v4), family: 4 };
}

/**
 * confd's parseIPPort: net.SplitHostPort, and the text itself when that fails (a bare IPv6 address).
 * `port` is undefined when there is none; NaN when the port is not a number.
 */
export function splitHostPort(s: string): { host: string; port?: number } {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':' || s.slice(end + 2).includes(':')) return { host: s };
    return { host: s.slice(1, end), port: portNumber(s.slice(end + 2)) };
  }
  const colon = s.indexOf(':');
  if (colon < 0 || s.indexOf(':', colon + 1) >= 0) return { host: s };
  return { host: s.slice(0, colon), port: portNumber(s.slice(colon + 1)) };
}

function portNumber(s: string): number {
  return /^\d{1,5}$/.test(s) ? Number(s) : Number.NaN;
}
