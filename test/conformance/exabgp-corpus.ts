// Reading the ExaBGP conformance corpus (../shared/conformance/exabgp/, see its README): the
// encoding/*.ci test cases, the etc/*.conf speaker configurations that set their codec context, the
// decoding/<name> files, and ExaBGP's JSON reading of an UPDATE, turned into one normal form that
// tern's decoded UpdateMessage is turned into too (`UpdateReading`), so the two compare with toEqual.
//
// Nothing here decodes BGP: the test decodes with tern's codec and compares.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AsPathSegment, Ipv6ExtendedCommunity } from '../../src/bgp/messages/attributes/types.js';
import { type CodecContext, makeContext } from '../../src/bgp/messages/context.js';
import { Afi, AsPathSegmentType, familyKey, Safi } from '../../src/bgp/messages/iana.js';
import type { PrefixList } from '../../src/bgp/messages/nlri.js';
import { formatIpv4Key, formatIpv6Key, parseIpv6 } from '../../src/bgp/messages/prefix.js';
import type { UpdateMessage } from '../../src/bgp/messages/update.js';

// ---------------------------------------------------------------------------------------------
// The corpus directory

/** The corpus root, `<project>/../shared/conformance/exabgp/`. Throws when it is missing. */
export function corpusDir(): string {
  const dir = fileURLToPath(new URL('../../../shared/conformance/exabgp/', import.meta.url));
  for (const sub of ['', 'encoding', 'decoding', 'etc']) {
    const path = dir + sub;
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new Error(
        `ExaBGP conformance corpus not found: ${path} is not a directory. The corpus lives beside the ` +
          'project in ../shared/conformance/exabgp/ (see ../shared/conformance/README.md).',
      );
    }
  }
  return dir;
}

export function listFiles(dir: string, suffix = ''): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix) && statSync(dir + f).isFile())
    .sort();
}

/** Counts the `raw` capture lines of a .ci text with a pattern of its own (a check on the parser). */
export function countRawLines(text: string): number {
  return text.split('\n').filter((l) => /^\s*[A-Za-z0-9]+:raw:/.test(l)).length;
}

// ---------------------------------------------------------------------------------------------
// encoding/*.ci

export type ReadingKind = 'json' | 'jsv4' | 'jsv6';

/** One ExaBGP JSON line (`json`, or `jsv4` / `jsv6`: the reading of ExaBGP 4 / 6 where they differ). */
export interface CiReading {
  readonly kind: ReadingKind;
  readonly line: number;
  readonly text: string;
}

export interface CiMessage {
  /** 1-based line of the `raw` line in its file. */
  readonly line: number;
  /** The step label in front of `:raw:` ("1", "2"; ExaBGP also uses "A1", "B1": letter = connection). */
  readonly step: string;
  /** The `cmd` line of the same step just before, when there is one (informative). */
  readonly cmd: string | undefined;
  readonly hex: string;
  readonly bytes: Uint8Array;
  /** The JSON lines that follow this raw line before the next raw line of the same step. */
  readonly readings: readonly CiReading[];
}

export interface CiFile {
  readonly name: string;
  /** The `option:file:` configuration (a file name in etc/). */
  readonly conf: string;
  /** Every `option:` line, as its fields after `option:`. */
  readonly options: readonly string[];
  readonly messages: readonly CiMessage[];
}

const CI_LINE = /^([^:\s]+):([a-z0-9]+):(.*)$/;

export function hexToBytes(hex: string, where: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`${where}: not an even number of hex digits: ${hex.slice(0, 80)}`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex').toUpperCase();
}

/** Parses one .ci file. Anything it does not understand is an error naming the line. */
export function parseCi(name: string, text: string): CiFile {
  let conf: string | undefined;
  const options: string[] = [];
  const messages: {
    line: number;
    step: string;
    cmd: string | undefined;
    hex: string;
    bytes: Uint8Array;
    readings: CiReading[];
  }[] = [];
  const lastRaw = new Map<string, (typeof messages)[number]>();
  const lastCmd = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const where = `${name}:${i + 1}`;
    if (line === '' || line.startsWith('#')) continue;
    const m = CI_LINE.exec(line);
    if (!m) throw new Error(`${where}: not <step>:<kind>:<payload>: ${line.slice(0, 80)}`);
    const [, step, kind, payload] = m as unknown as [string, string, string, string];
    if (step === 'option') {
      options.push(`${kind}:${payload}`);
      if (kind === 'file') conf = payload.trim();
      continue;
    }
    switch (kind) {
      case 'cmd':
        lastCmd.set(step, payload);
        break;
      case 'raw': {
        // The colons are only a reading aid (marker:length:type:body, or length and type run together).
        const hex = payload.replace(/[:\s]/g, '');
        const msg = {
          line: i + 1,
          step,
          cmd: lastCmd.get(step),
          hex,
          bytes: hexToBytes(hex, where),
          readings: [],
        };
        lastCmd.delete(step);
        messages.push(msg);
        lastRaw.set(step, msg);
        break;
      }
      case 'json':
      case 'jsv4':
      case 'jsv6': {
        const raw = lastRaw.get(step);
        if (!raw) throw new Error(`${where}: ${kind} line with no raw line of step ${step} before it`);
        raw.readings.push({ kind, line: i + 1, text: payload });
        break;
      }
      default:
        throw new Error(`${where}: unknown line kind "${kind}"`);
    }
  }
  if (conf === undefined) throw new Error(`${name}: no option:file: line naming the configuration`);
  return { name, conf, options, messages };
}

// ---------------------------------------------------------------------------------------------
// etc/*.conf -> codec context
//
// How ExaBGP's configuration decides what its messages look like (from ExaBGP's configuration code,
// `_post_capa_addpath` and the capability defaults):
// - `capability { asn4 disable; }` turns the 4-octet AS capability off: AS numbers are 2 octets.
//   Default: enabled.
// - `capability { add-path send|receive|send/receive|disable; }` turns ADD-PATH on; it then applies to
//   the families of the `add-path { ... }` block that are also in `family { ... }`, or, without an
//   `add-path` block, to every family of `family { ... }`. Without a `family` block a neighbor has all
//   families ExaBGP knows (so IPv4 and IPv6 unicast). The messages are what ExaBGP sends; ExaBGP only
//   writes path identifiers when it negotiated to send them, so `send` and `send/receive` count and
//   `receive` does not. (Only `send/receive` occurs in the corpus.)
// - `capability { extended-message ...; }`: ExaBGP advertises it by default and the corpus' test peer
//   echoes the OPEN, so it is on unless disabled. It only raises the length limit.
// - `inherit <template>;` pulls in a `template { neighbor <template> { ... } }` block first; the
//   neighbor's own settings override it.
// Only IPv4 and IPv6 unicast end up in `addPath` (tern keeps every other family opaque).
//
// Which neighbor a message belongs to: every conf in the corpus has exactly one neighbor, so every step
// of its .ci file uses that neighbor's context (the step number counts messages or connections to the
// same peer: conf-path-information.ci sends its EOR as step 2 on the second connection). When a conf
// has several neighbors, a step label with a letter (ExaBGP's A1, B1, ...) selects the neighbor by its
// position in the file (A = first); a step without one is accepted only if all neighbors agree on the
// context, and is otherwise an error rather than a guess.

interface ConfStatement {
  readonly kind: 'statement';
  readonly words: readonly string[];
}

interface ConfBlock {
  readonly kind: 'block';
  readonly words: readonly string[];
  readonly body: readonly ConfItem[];
}

type ConfItem = ConfStatement | ConfBlock;

function tokenizeConf(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '\\' || /\s/.test(c)) {
      i++; // a backslash continues the line: a statement ends with ';' anyway
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push(c);
      i++;
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated string at offset ${i}`);
      tokens.push(text.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};#\\]/.test(text[j]!)) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

function parseConfItems(tokens: readonly string[], name: string): ConfItem[] {
  let pos = 0;
  const block = (depth: number): ConfItem[] => {
    const items: ConfItem[] = [];
    let words: string[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t === ';') {
        if (words.length > 0) items.push({ kind: 'statement', words });
        words = [];
      } else if (t === '{') {
        const header = words;
        words = [];
        items.push({ kind: 'block', words: header, body: block(depth + 1) });
      } else if (t === '}') {
        if (depth === 0) throw new Error(`${name}: unbalanced '}'`);
        if (words.length > 0) items.push({ kind: 'statement', words });
        return items;
      } else {
        words.push(t);
      }
    }
    if (depth > 0) throw new Error(`${name}: a '{' is never closed`);
    if (words.length > 0) items.push({ kind: 'statement', words });
    return items;
  };
  return block(0);
}

export interface NeighborConf {
  /** The neighbor's address as written. */
  readonly address: string;
  readonly context: CodecContext;
  /** How the context was derived, for messages. */
  readonly describe: string;
}

export interface ExaConf {
  readonly name: string;
  readonly neighbors: readonly NeighborConf[];
}

const UNICAST_FAMILY_KEYS: Readonly<Record<string, number>> = {
  'ipv4 unicast': familyKey(Afi.IPV4, Safi.UNICAST),
  'ipv6 unicast': familyKey(Afi.IPV6, Safi.UNICAST),
};

interface NeighborSettings {
  asn4?: boolean;
  addPath?: string;
  extendedMessage?: boolean;
  families?: string[];
  addPathFamilies?: string[];
}

function enabled(word: string | undefined, where: string): boolean {
  if (word === undefined || word === 'enable' || word === 'enabled' || word === 'true') return true;
  if (word === 'disable' || word === 'disabled' || word === 'false') return false;
  throw new Error(`${where}: expected enable or disable, found "${word}"`);
}

function familyStatements(body: readonly ConfItem[]): string[] {
  const out: string[] = [];
  // "ipv4 unicast;" (anything after AFI and SAFI, like a per-family direction, does not matter here)
  for (const item of body) if (item.kind === 'statement') out.push(item.words.slice(0, 2).join(' '));
  return out;
}

/** The settings one neighbor (or template) block sets itself, later ones overriding earlier ones. */
function blockSettings(
  body: readonly ConfItem[],
  where: string,
): { settings: NeighborSettings; inherit: string[] } {
  const settings: NeighborSettings = {};
  const inherit: string[] = [];
  const capability = (words: readonly string[]): void => {
    const [key, value] = words;
    if (key === 'asn4') settings.asn4 = enabled(value, where);
    else if (key === 'add-path') settings.addPath = value ?? 'send/receive';
    else if (key === 'extended-message') settings.extendedMessage = enabled(value, where);
  };
  for (const item of body) {
    if (item.kind === 'statement') {
      if (item.words[0] === 'inherit') inherit.push(...item.words.slice(1));
      else capability(item.words); // older syntax: capabilities directly in the neighbor
      continue;
    }
    const head = item.words[0];
    if (head === 'capability') {
      for (const c of item.body) if (c.kind === 'statement') capability(c.words);
    } else if (head === 'family') {
      settings.families = familyStatements(item.body);
    } else if (head === 'add-path') {
      settings.addPathFamilies = familyStatements(item.body);
    }
  }
  return { settings, inherit };
}

function contextOf(s: NeighborSettings): { context: CodecContext; describe: string } {
  const as4 = s.asn4 ?? true;
  const addPathOn = s.addPath === 'send' || s.addPath === 'send/receive';
  // "all" in a family list stands for every family (here: the unicast ones that matter to tern)
  const expand = (list: readonly string[]): string[] =>
    list.includes('all') ? [...list, ...Object.keys(UNICAST_FAMILY_KEYS)] : [...list];
  const families = expand(s.families ?? Object.keys(UNICAST_FAMILY_KEYS));
  const addPathFamilies = expand(s.addPathFamilies ?? families).filter((f) => families.includes(f));
  const addPath = new Set<number>();
  if (addPathOn) {
    for (const [name, key] of Object.entries(UNICAST_FAMILY_KEYS))
      if (addPathFamilies.includes(name)) addPath.add(key);
  }
  const extendedMessage = s.extendedMessage ?? true;
  const apText = addPath.size === 0 ? 'none' : [...addPath].map((k) => `${k >> 8}/${k & 255}`).join(',');
  return {
    context: makeContext({ as4, addPath, extendedMessage }),
    describe: `as4=${as4} addPath=${apText} extendedMessage=${extendedMessage}`,
  };
}

/** Parses an ExaBGP configuration into its neighbors and their codec contexts. */
export function parseExaConf(name: string, text: string): ExaConf {
  const items = parseConfItems(tokenizeConf(text), name);
  const templates = new Map<string, readonly ConfItem[]>();
  const peers: ConfBlock[] = [];
  const walk = (list: readonly ConfItem[], inTemplate: boolean): void => {
    for (const item of list) {
      if (item.kind !== 'block') continue;
      if (item.words[0] === 'neighbor') {
        const id = item.words[1];
        if (id === undefined) throw new Error(`${name}: a neighbor block without an address`);
        if (inTemplate) templates.set(id, item.body);
        else peers.push(item);
      } else {
        walk(item.body, inTemplate || item.words[0] === 'template');
      }
    }
  };
  walk(items, false);
  if (peers.length === 0) throw new Error(`${name}: no neighbor block`);

  const resolve = (body: readonly ConfItem[], where: string, seen: readonly string[]): NeighborSettings => {
    const own = blockSettings(body, where);
    let merged: NeighborSettings = {};
    for (const t of own.inherit) {
      const tb = templates.get(t);
      if (!tb) throw new Error(`${where}: inherits unknown template "${t}"`);
      if (seen.includes(t)) throw new Error(`${where}: template inheritance loop through "${t}"`);
      merged = { ...merged, ...resolve(tb, `${name} template ${t}`, [...seen, t]) };
    }
    const defined = Object.fromEntries(Object.entries(own.settings).filter(([, v]) => v !== undefined));
    return { ...merged, ...defined };
  };

  const neighbors = peers.map((p) => {
    const address = p.words[1]!;
    const { context, describe } = contextOf(resolve(p.body, `${name} neighbor ${address}`, []));
    return { address, context, describe };
  });
  return { name, neighbors };
}

function sameContext(a: CodecContext, b: CodecContext): boolean {
  return (
    a.as4 === b.as4 &&
    a.extendedMessage === b.extendedMessage &&
    a.addPath.size === b.addPath.size &&
    [...a.addPath].every((k) => b.addPath.has(k))
  );
}

/** The neighbor whose context applies to a step of a .ci file (see the comment above). */
export function neighborForStep(conf: ExaConf, step: string, where: string): NeighborConf {
  const ns = conf.neighbors;
  if (ns.length === 1) return ns[0]!;
  const letter = /^([A-Za-z])\d*$/.exec(step)?.[1];
  if (letter !== undefined) {
    const n = ns[letter.toUpperCase().charCodeAt(0) - 65];
    if (!n)
      throw new Error(
        `${where}: step ${step} names connection ${letter}, ${conf.name} has ${ns.length} neighbors`,
      );
    return n;
  }
  if (ns.every((n) => sameContext(n.context, ns[0]!.context))) return ns[0]!;
  throw new Error(
    `${where}: ${conf.name} has ${ns.length} neighbors with different contexts and step "${step}" does not say which`,
  );
}

// ---------------------------------------------------------------------------------------------
// decoding/<name>

export interface DecodingCase {
  readonly name: string;
  /** Line 1: the message type ("update", "open", or "nlri" for a bare NLRI). */
  readonly type: string;
  /** Line 1 after the type, e.g. "ipv4 unicast"; may be empty. */
  readonly family: string;
  readonly hex: string;
  readonly json: string;
}

export function parseDecoding(name: string, text: string): DecodingCase {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 3)
    throw new Error(`decoding/${name}: expected 3 lines (type, hex, json), found ${lines.length}`);
  const [type, ...family] = lines[0]!.trim().split(/\s+/);
  return {
    name,
    type: type!,
    family: family.join(' '),
    hex: lines[1]!.replace(/[\s:]/g, ''),
    json: lines.slice(2).join('\n'),
  };
}

// ---------------------------------------------------------------------------------------------
// The normal form both readings are turned into

export interface AttributeReading {
  origin?: string;
  /** Segments in order, e.g. "sequence(65533 1) set(3 4)". */
  asPath?: string;
  med?: number;
  localPref?: number;
  /** "hi:lo", sorted (a set). */
  communities?: string[];
  /** "a:b:c", sorted. */
  largeCommunities?: string[];
  /** The 64-bit values in decimal, sorted. */
  extendedCommunities?: string[];
  /** The 160-bit values (RFC 5701) in decimal, sorted. */
  ipv6ExtendedCommunities?: string[];
  originatorId?: string;
  /** In order (the order is the reflection path). */
  clusterList?: string[];
  /** "as:address". */
  aggregator?: string;
  atomicAggregate?: boolean;
}

export interface UpdateReading {
  attributes: AttributeReading;
  /** IPv4/IPv6 unicast routes announced, "<family> <next hop> <prefix>[ path <id>]", sorted (a multiset). */
  announce: string[];
  /** IPv4/IPv6 unicast routes withdrawn, "<family> <prefix>[ path <id>]", sorted. */
  withdraw: string[];
  /** Every family with something announced ("afi/safi"), sorted. */
  announceFamilies: string[];
  /** Every family with something withdrawn, sorted. */
  withdrawFamilies: string[];
}

/** ExaBGP's family names, as AFI/SAFI. */
const FAMILIES: Readonly<Record<string, readonly [number, number]>> = {
  'ipv4 unicast': [1, 1],
  'ipv6 unicast': [2, 1],
  'ipv4 multicast': [1, 2],
  'ipv6 multicast': [2, 2],
  'ipv4 nlri-mpls': [1, 4],
  'ipv6 nlri-mpls': [2, 4],
  'ipv4 mcast-vpn': [1, 5],
  'ipv6 mcast-vpn': [2, 5],
  'ipv4 sr-policy': [1, 73],
  'ipv6 sr-policy': [2, 73],
  'ipv4 mup': [1, 85],
  'ipv6 mup': [2, 85],
  'ipv4 mpls-vpn': [1, 128],
  'ipv6 mpls-vpn': [2, 128],
  'ipv4 rtc': [1, 132],
  'ipv4 flow': [1, 133],
  'ipv6 flow': [2, 133],
  'ipv4 flow-vpn': [1, 134],
  'ipv6 flow-vpn': [2, 134],
  'l2vpn vpls': [25, 65],
  'l2vpn evpn': [25, 70],
  'bgp-ls bgp-ls': [16388, 71],
  'bgp-ls bgp-ls-vpn': [16388, 72],
};

function familyCode(name: string, where: string): string {
  const [afi, safi] = exaFamily(name, where);
  return `${afi}/${safi}`;
}

const IPV4_TEXT = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * One text form for an address, independent of tern's formatter: dotted quads as they are, IPv6 as
 * the WHATWG URL serializer writes it (lower case, longest zero run compressed, no dotted tail).
 */
export function canonicalAddress(text: string, where: string): string {
  if (IPV4_TEXT.test(text)) return text;
  let host: string;
  try {
    host = new URL(`http://[${text}]/`).hostname;
  } catch {
    throw new Error(`${where}: "${text}" is not an IPv4 or IPv6 address`);
  }
  return host.slice(1, -1);
}

export function canonicalPrefix(text: string, where: string): string {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`${where}: "${text}" is not a prefix`);
  return `${canonicalAddress(text.slice(0, slash), where)}/${text.slice(slash + 1)}`;
}

/** One route of UpdateReading: "<family>[ <next hop>] <prefix>[ path <id>]". */
function routeText(
  family: string,
  nextHop: string | undefined,
  prefix: string,
  path: string | undefined,
): string {
  return `${family}${nextHop === undefined ? '' : ` ${nextHop}`} ${prefix}${path === undefined ? '' : ` path ${path}`}`;
}

function dottedQuad(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const SEGMENT_TEXT: Readonly<Record<number, string>> = {
  [AsPathSegmentType.AS_SET]: 'set',
  [AsPathSegmentType.AS_SEQUENCE]: 'sequence',
  [AsPathSegmentType.AS_CONFED_SEQUENCE]: 'confed-sequence',
  [AsPathSegmentType.AS_CONFED_SET]: 'confed-set',
};

function segmentsText(segments: readonly { type: string; asns: readonly number[] }[]): string | undefined {
  if (segments.length === 0) return undefined;
  return segments.map((s) => `${s.type}(${s.asns.join(' ')})`).join(' ');
}

// ---- ExaBGP's JSON ----

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function need<T>(v: T | undefined, what: string, where: string): T {
  if (v === undefined) throw new Error(`${where}: unexpected ExaBGP JSON shape at ${what}`);
  return v;
}

function asObject(v: JsonValue | undefined, what: string, where: string): JsonObject {
  return need(isObject(v) ? v : undefined, what, where);
}

function asArray(v: JsonValue | undefined, what: string, where: string): JsonValue[] {
  return need(Array.isArray(v) ? v : undefined, what, where);
}

function asNumber(v: JsonValue | undefined, what: string, where: string): number {
  return need(typeof v === 'number' ? v : undefined, what, where);
}

function asString(v: JsonValue | undefined, what: string, where: string): string {
  return need(typeof v === 'string' ? v : undefined, what, where);
}

/**
 * JSON.parse loses integers beyond 2^53 (ExaBGP writes extended communities as one 64-bit number, and
 * IPv6 extended communities as one 160-bit number). Integers of 16 digits or more that stand as a
 * whole JSON value are turned into strings first, so the reader can make BigInts of them.
 */
export function parseExaJson(text: string): JsonValue {
  const quoted = text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"');
  return JSON.parse(quoted) as JsonValue;
}

function bigValue(v: JsonValue | undefined, what: string, where: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  throw new Error(`${where}: ${what} is not an integer: ${JSON.stringify(v)}`);
}

function exaAsPathSegmentType(element: string, where: string): string {
  switch (element) {
    case 'as-sequence':
      return 'sequence';
    case 'as-set':
      return 'set';
    case 'confed-sequence':
    case 'as-confed-sequence':
      return 'confed-sequence';
    case 'confed-set':
    case 'as-confed-set':
      return 'confed-set';
    default:
      throw new Error(`${where}: unknown as-path element "${element}"`);
  }
}

/**
 * ExaBGP's as-path, in any of its forms: {"0": {"element": "as-sequence", "value": [..]}, ...} (5.x,
 * 6.x), a list of numbers with nested lists as AS_SETs, or a string "[ 1 2 ( 3 4 ) ]" where
 * parentheses hold an AS_SET.
 */
function exaAsPath(v: JsonValue, where: string): string | undefined {
  const segments: { type: string; asns: number[] }[] = [];
  const pushSeq = (as: number): void => {
    const last = segments[segments.length - 1];
    if (last && last.type === 'sequence') last.asns.push(as);
    else segments.push({ type: 'sequence', asns: [as] });
  };
  if (isObject(v)) {
    const keys = Object.keys(v).sort((a, b) => Number(a) - Number(b));
    for (const k of keys) {
      const seg = asObject(v[k], `as-path.${k}`, where);
      const asns = asArray(seg.value, `as-path.${k}.value`, where).map((a) =>
        asNumber(a, 'as-path AS', where),
      );
      segments.push({
        type: exaAsPathSegmentType(asString(seg.element, `as-path.${k}.element`, where), where),
        asns,
      });
    }
  } else if (Array.isArray(v)) {
    for (const e of v) {
      if (Array.isArray(e))
        segments.push({ type: 'set', asns: e.map((a) => asNumber(a, 'as-path AS', where)) });
      else pushSeq(asNumber(e, 'as-path AS', where));
    }
  } else if (typeof v === 'string') {
    let set: number[] | undefined;
    for (const tok of v.replace(/[()[\]]/g, ' $& ').split(/\s+/)) {
      if (tok === '' || tok === '[' || tok === ']') continue;
      if (tok === '(') set = [];
      else if (tok === ')') {
        segments.push({ type: 'set', asns: need(set, 'as-path set', where) });
        set = undefined;
      } else if (/^\d+$/.test(tok)) {
        if (set) set.push(Number(tok));
        else pushSeq(Number(tok));
      } else throw new Error(`${where}: as-path token "${tok}"`);
    }
  } else {
    throw new Error(`${where}: as-path ${JSON.stringify(v)}`);
  }
  return segmentsText(segments);
}

function exaAttributes(a: JsonObject, where: string): AttributeReading {
  const out: AttributeReading = {};
  for (const [key, v] of Object.entries(a)) {
    const w = `${where} attribute ${key}`;
    switch (key) {
      case 'origin':
        out.origin = asString(v, key, w);
        break;
      case 'as-path': {
        const p = exaAsPath(v, w);
        if (p !== undefined) out.asPath = p;
        break;
      }
      case 'med':
        out.med = asNumber(v, key, w);
        break;
      case 'local-preference':
        out.localPref = asNumber(v, key, w);
        break;
      case 'community':
        out.communities = asArray(v, key, w)
          .map((c) => {
            const [hi, lo] = asArray(c, key, w).map((x) => asNumber(x, key, w));
            return `${hi}:${lo}`;
          })
          .sort();
        break;
      case 'large-community':
        out.largeCommunities = asArray(v, key, w)
          .map((c) =>
            asArray(c, key, w)
              .map((x) => asNumber(x, key, w))
              .join(':'),
          )
          .sort();
        break;
      case 'extended-community':
        out.extendedCommunities = asArray(v, key, w)
          .map((c) => bigValue(asObject(c, key, w).value, `${key} value`, w).toString())
          .sort();
        break;
      case 'extended-community-ipv6':
        out.ipv6ExtendedCommunities = asArray(v, key, w)
          .map((c) => bigValue(asObject(c, key, w).value, `${key} value`, w).toString())
          .sort();
        break;
      case 'originator-id':
        out.originatorId = asString(v, key, w);
        break;
      case 'cluster-list':
        out.clusterList = asArray(v, key, w).map((x) => asString(x, key, w));
        break;
      case 'aggregator': {
        // "as:address" (older versions: "( as:address )")
        const text = asString(v, key, w).replace(/[()\s]/g, '');
        out.aggregator = text;
        break;
      }
      case 'atomic-aggregate':
        if (v !== true && v !== false) throw new Error(`${w}: ${JSON.stringify(v)}`);
        if (v) out.atomicAggregate = true;
        break;
      default:
        // bgp-prefix-sid, bgp-ls, tunnel-encap, aigp, ...: attributes tern does not interpret.
        break;
    }
  }
  return out;
}

function exaUnicastEntry(
  e: JsonValue,
  family: string,
  where: string,
): { prefix: string; path: string | undefined } {
  if (typeof e === 'string') return { prefix: canonicalPrefix(e, where), path: undefined };
  const o = asObject(e, `${family} entry`, where);
  const path = o['path-information'];
  return {
    prefix: canonicalPrefix(asString(o.nlri, `${family} nlri`, where), where),
    path: path === undefined ? undefined : asString(path, 'path-information', where),
  };
}

/**
 * ExaBGP's reading of an UPDATE, from one JSON line (`neighbor.message.update`). Returns undefined
 * when the JSON is not about an UPDATE.
 */
export function exaUpdateReading(text: string, where: string): UpdateReading | undefined {
  const root = asObject(parseExaJson(text), 'root', where);
  const neighbor = root.neighbor;
  if (!isObject(neighbor)) return undefined;
  const message = neighbor.message;
  if (!isObject(message) || !isObject(message.update)) return undefined;
  const update = message.update;

  const reading: UpdateReading = {
    attributes: isObject(update.attribute) ? exaAttributes(update.attribute, where) : {},
    announce: [],
    withdraw: [],
    announceFamilies: [],
    withdrawFamilies: [],
  };
  if (update.announce !== undefined) {
    for (const [family, byNextHop] of Object.entries(asObject(update.announce, 'announce', where))) {
      reading.announceFamilies.push(familyCode(family, where));
      if (!(family in UNICAST_FAMILY_KEYS)) continue;
      for (const [nh, entries] of Object.entries(asObject(byNextHop, `announce.${family}`, where))) {
        const nextHop = canonicalAddress(nh, where);
        for (const e of asArray(entries, `announce.${family}.${nh}`, where)) {
          const { prefix, path } = exaUnicastEntry(e, family, where);
          reading.announce.push(routeText(family, nextHop, prefix, path));
        }
      }
    }
  }
  if (update.withdraw !== undefined) {
    for (const [family, entries] of Object.entries(asObject(update.withdraw, 'withdraw', where))) {
      reading.withdrawFamilies.push(familyCode(family, where));
      if (!(family in UNICAST_FAMILY_KEYS)) continue;
      for (const e of asArray(entries, `withdraw.${family}`, where)) {
        const { prefix, path } = exaUnicastEntry(e, family, where);
        reading.withdraw.push(routeText(family, undefined, prefix, path));
      }
    }
  }
  reading.announce.sort();
  reading.withdraw.sort();
  reading.announceFamilies.sort();
  reading.withdrawFamilies.sort();
  return reading;
}

// ---- tern's decoded UPDATE ----

const ORIGIN_TEXT = ['igp', 'egp', 'incomplete'];

function ipv6ExtendedValue(c: Ipv6ExtendedCommunity, where: string): bigint {
  const addr = parseIpv6(c.address);
  if (!addr) throw new Error(`${where}: IPv6 extended community address "${c.address}"`);
  let v = (BigInt(c.type) << 8n) | BigInt(c.subtype);
  for (const b of addr) v = (v << 8n) | BigInt(b);
  return (v << 16n) | BigInt(c.localAdmin);
}

function prefixTexts(list: PrefixList, where: string): { prefix: string; path: string | undefined }[] {
  const out: { prefix: string; path: string | undefined }[] = [];
  for (let i = 0; i < list.prefixes.length; i++) {
    const text = list.afi === Afi.IPV4 ? formatIpv4Key(list.prefixes[i]!) : formatIpv6Key(list.prefixes[i]!);
    const id = list.pathIds?.[i];
    out.push({ prefix: canonicalPrefix(text, where), path: id === undefined ? undefined : dottedQuad(id) });
  }
  return out;
}

/** tern's decoded UPDATE in the same normal form. */
export function ternUpdateReading(msg: UpdateMessage, where: string): UpdateReading {
  const a = msg.attributes;
  const attributes: AttributeReading = {};
  if (a.origin !== undefined) attributes.origin = ORIGIN_TEXT[a.origin] ?? String(a.origin);
  if (a.asPath !== undefined) {
    const p = segmentsText(
      a.asPath.map((s: AsPathSegment) => ({ type: SEGMENT_TEXT[s.type] ?? String(s.type), asns: s.asns })),
    );
    if (p !== undefined) attributes.asPath = p;
  }
  if (a.med !== undefined) attributes.med = a.med;
  if (a.localPref !== undefined) attributes.localPref = a.localPref;
  if (a.communities !== undefined)
    attributes.communities = a.communities.map((c) => `${c >>> 16}:${c & 0xffff}`).sort();
  if (a.largeCommunities !== undefined) {
    attributes.largeCommunities = a.largeCommunities
      .map((c) => `${c.globalAdmin}:${c.localData1}:${c.localData2}`)
      .sort();
  }
  if (a.extendedCommunities !== undefined)
    attributes.extendedCommunities = a.extendedCommunities.map(String).sort();
  if (a.ipv6ExtendedCommunities !== undefined) {
    attributes.ipv6ExtendedCommunities = a.ipv6ExtendedCommunities
      .map((c) => ipv6ExtendedValue(c, where).toString())
      .sort();
  }
  if (a.originatorId !== undefined) attributes.originatorId = a.originatorId;
  if (a.clusterList !== undefined) attributes.clusterList = [...a.clusterList];
  if (a.aggregator !== undefined) attributes.aggregator = `${a.aggregator.as}:${a.aggregator.address}`;
  if (a.atomicAggregate) attributes.atomicAggregate = true;

  const announce: string[] = [];
  const withdraw: string[] = [];
  const announceFamilies = new Set<string>();
  const withdrawFamilies = new Set<string>();
  const add = (out: string[], list: PrefixList, nextHop: string | undefined): void => {
    const family = list.afi === Afi.IPV4 ? 'ipv4 unicast' : 'ipv6 unicast';
    for (const p of prefixTexts(list, where)) out.push(routeText(family, nextHop, p.prefix, p.path));
  };

  if (msg.nlri.prefixes.length > 0) {
    announceFamilies.add('1/1');
    add(announce, msg.nlri, a.nextHop === undefined ? '(no NEXT_HOP)' : canonicalAddress(a.nextHop, where));
  }
  if (msg.withdrawn.prefixes.length > 0) {
    withdrawFamilies.add('1/1');
    add(withdraw, msg.withdrawn, undefined);
  }
  // an opaque family counts when it carries any NLRI bytes; a unicast one when it carries prefixes
  const reach = a.mpReach;
  if (reach !== undefined && (reach.kind === 'opaque' ? reach.nlri.length : reach.nlri.prefixes.length) > 0) {
    announceFamilies.add(`${reach.afi}/${reach.safi}`);
    if (reach.kind === 'unicast') add(announce, reach.nlri, canonicalAddress(reach.nextHop, where));
  }
  const unreach = a.mpUnreach;
  if (
    unreach !== undefined &&
    (unreach.kind === 'opaque' ? unreach.withdrawn.length : unreach.withdrawn.prefixes.length) > 0
  ) {
    withdrawFamilies.add(`${unreach.afi}/${unreach.safi}`);
    if (unreach.kind === 'unicast') add(withdraw, unreach.withdrawn, undefined);
  }
  return {
    attributes,
    announce: announce.sort(),
    withdraw: withdraw.sort(),
    announceFamilies: [...announceFamilies].sort(),
    withdrawFamilies: [...withdrawFamilies].sort(),
  };
}

/** The AFI/SAFI an ExaBGP family name stands for ("l2vpn evpn" -> [25, 70]). */
export function exaFamily(name: string, where: string): readonly [number, number] {
  const f = FAMILIES[name];
  if (!f) throw new Error(`${where}: ExaBGP family "${name}" is not in the test's family table`);
  return f;
}
