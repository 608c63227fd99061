// Addresses and prefixes in the compact forms the codecs and RIBs use.
//
// IPv4 prefix key: a number, addr * 64 + len (addr a uint32 with host bits zero; up to 2^38, exact in a
//   double). Keys order like (address, length) and hash as numbers.
// IPv6 prefix key: a 9-character string, the eight 16-bit groups (host bits zero) then the length, each
//   as one UTF-16 code unit. Compact, hashable, and built without formatting.
// Formatting to text (dotted quad, RFC 5952) happens only for display and JSON.

export type Ipv4Key = number;
export type Ipv6Key = string;

export function ipv4Mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function ipv4Key(addr: number, len: number): Ipv4Key {
  return ((addr & ipv4Mask(len)) >>> 0) * 64 + len;
}

export function ipv4KeyLen(key: Ipv4Key): number {
  return key & 63;
}

export function ipv4KeyAddr(key: Ipv4Key): number {
  return (key - (key & 63)) / 64;
}

export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** A dotted quad as a uint32, or undefined when it is not one (no leading zeros, no spaces). */
export function parseIpv4(s: string): number | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let v = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      v = v * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return undefined;
      digits++;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return v * 256 + octet;
}

export function formatIpv4Key(key: Ipv4Key): string {
  return `${formatIpv4(ipv4KeyAddr(key))}/${key & 63}`;
}

/** "10.0.0.0/26" as a key; host bits must be zero unless `lenient`. */
export function parseIpv4Prefix(s: string, lenient = false): Ipv4Key | undefined {
  const slash = s.indexOf('/');
  const addr = parseIpv4(slash < 0 ? s : s.slice(0, slash));
  if (addr === undefined) return undefined;
  const lenText = slash < 0 ? '32' : s.slice(slash + 1);
  if (!/^(0|[1-9]\d?)$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > 32) return undefined;
  if (!lenient && (addr & ~ipv4Mask(len)) >>> 0 !== 0) return undefined;
  return ipv4Key(addr, len);
}

// ---- IPv6 ----

/** Group masks: V6_GROUP_MASK[len * 8 + g] keeps the network bits of 16-bit group g of a /len. */
const V6_GROUP_MASK: Uint16Array = (() => {
  const t = new Uint16Array(129 * 8);
  for (let len = 0; len <= 128; len++) {
    for (let g = 0; g < 8; g++) {
      const bits = Math.max(0, Math.min(16, len - g * 16));
      t[len * 8 + g] = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    }
  }
  return t;
})();

/** Builds the key of the prefix whose first ceil(len/8) bytes start at `bytes[off]`. */
export function ipv6KeyFromBytes(bytes: Uint8Array, off: number, len: number): Ipv6Key {
  const m = len * 8;
  if (off + 16 <= bytes.length) {
    // bytes past the prefix belong to whatever follows; the masks zero them
    return String.fromCharCode(
      ((bytes[off]! << 8) | bytes[off + 1]!) & V6_GROUP_MASK[m]!,
      ((bytes[off + 2]! << 8) | bytes[off + 3]!) & V6_GROUP_MASK[m + 1]!,
      ((bytes[off + 4]! << 8) | bytes[off + 5]!) & V6_GROUP_MASK[m + 2]!,
      ((bytes[off + 6]! << 8) | bytes[off + 7]!) & V6_GROUP_MASK[m + 3]!,
      ((bytes[off + 8]! << 8) | bytes[off + 9]!) & V6_GROUP_MASK[m + 4]!,
      ((bytes[off + 10]! << 8) | bytes[off + 11]!) & V6_GROUP_MASK[m + 5]!,
      ((bytes[off + 12]! << 8) | bytes[off + 13]!) & V6_GROUP_MASK[m + 6]!,
      ((bytes[off + 14]! << 8) | bytes[off + 15]!) & V6_GROUP_MASK[m + 7]!,
      len,
    );
  }
  // near the end of the buffer: read only the prefix's own bytes
  const nbytes = (len + 7) >> 3;
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < nbytes; i++) {
    const b = bytes[off + i]!;
    g[i >> 1] |= i & 1 ? b : b << 8;
  }
  for (let i = 0; i < 8; i++) g[i] &= V6_GROUP_MASK[m + i]!;
  return String.fromCharCode(g[0]!, g[1]!, g[2]!, g[3]!, g[4]!, g[5]!, g[6]!, g[7]!, len);
}

export function ipv6KeyLen(key: Ipv6Key): number {
  return key.charCodeAt(8);
}

/** The 16 address bytes of a key. */
export function ipv6KeyBytes(key: Ipv6Key): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const v = key.charCodeAt(i);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 255;
  }
  return out;
}

/** RFC 5952 text of 16 address bytes starting at `off`. */
export function formatIpv6(bytes: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[off + i * 2]! << 8) | bytes[off + i * 2 + 1]!);
  return formatIpv6Groups(g);
}

function formatIpv6Groups(g: readonly number[]): string {
  // RFC 5952 4.2: compress the longest run (first if tied) of two or more zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // RFC 5952 5: IPv4-mapped addresses keep the dotted quad.
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((v) => v.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

export function formatIpv6Key(key: Ipv6Key): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(key.charCodeAt(i));
  return `${formatIpv6Groups(g)}/${key.charCodeAt(8)}`;
}

/** An IPv6 address in text form (RFC 4291 2.2, including an embedded dotted quad) as 16 bytes. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail.push(v4 >>> 16, v4 & 0xffff);
    // keep "::" before the dotted quad, drop a single separating colon
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const h of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
      out.push(Number.parseInt(h, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  if (!head) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const rest = parse(halves[1]!);
    if (!rest) return undefined;
    const fill = 8 - head.length - rest.length - tail.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  } else {
    groups = [...head, ...tail];
    if (groups.length !== 8) return undefined;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 255;
  }
  return out;
}

/** "2001:db8::/64" as a key; host bits must be zero unless `lenient`. */
export function parseIpv6Prefix(s: string, lenient = false): Ipv6Key | undefined {
  const slash = s.indexOf('/');
  const bytes = parseIpv6(slash < 0 ? s : s.slice(0, slash));
  if (!bytes) return undefined;
  const lenText = slash < 0 ? '128' : s.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > 128) return undefined;
  const key = ipv6KeyFromBytes(bytes, 0, len);
  if (!lenient && key !== ipv6KeyFromBytes(bytes, 0, 128).slice(0, 8) + String.fromCharCode(len)) {
    return undefined;
  }
  return key;
}

/** Normalises an IPv6 address text to RFC 5952 form, or undefined when it is not an address. */
export function canonicalIpv6(s: string): string | undefined {
  const b = parseIpv6(s);
  return b ? formatIpv6(b) : undefined;
}
