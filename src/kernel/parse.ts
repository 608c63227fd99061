// Parsing what iproute2 prints about routes. Pure: text in, KernelRoutes (or a reason) out.
//
// - `ip -N -json route show table T` (and `ip -6 ...`): the full table, as JSON. `-N` prints protocols,
//   scopes, types and tables as numbers, so the answer does not depend on /etc/iproute2/rt_protos.
// - `ip -N monitor label route link address`: one event per netlink message, as text. (iproute2 6.1
//   prints text even with -json for `monitor`.) A message is a header line (`[ROUTE]...`, `[LINK]...`,
//   `[ADDR]...`) and indented continuation lines (`\tnexthop via ...`). The route text is the one
//   `ip route show` prints: `[Deleted ][type ]dst [key value | flag]... [nexthop ...]...`, with fields
//   left out at their defaults (type unicast, proto boot, table main, scope universe, metric 0).
// Anything not understood is reported (`unparsed`), never guessed: the follower answers it with a full
// read of the table.

import type { FamilyName } from '../config/types.js';
import { canonicalAddress, canonicalPrefix, familyOf } from './address.js';
import {
  type KernelNextHop,
  type KernelRoute,
  MAIN_TABLE,
  PROTOCOL_NUMBERS,
  ROUTE_TYPES,
  type RouteType,
  RTPROT_BOOT,
  TABLE_NUMBERS,
} from './route.js';

const SCOPE_NUMBERS: Readonly<Record<string, number>> = {
  global: 0,
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};

/** `v` when it is decimal digits without a leading zero, at most 10 of them; else undefined. */
function shortDecimal(v: string): number | undefined {
  const n = v.length;
  if (n === 0 || n > 10 || (n > 1 && v.charCodeAt(0) === 48)) return undefined;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    x = x * 10 + c;
  }
  return x;
}

function numberOrName(v: unknown, names: Readonly<Record<string, number>>, max: number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= max ? v : undefined;
  if (typeof v !== 'string') return undefined;
  // `-N` prints numbers: the common case without the regular expression below
  const d = shortDecimal(v);
  if (d !== undefined) return d <= max ? d : undefined;
  if (/^(0|[1-9]\d*|0x[0-9a-fA-F]+)$/.test(v)) {
    const n = Number(v);
    return n <= max ? n : undefined;
  }
  return names[v];
}

export function parseType(v: unknown): RouteType | undefined {
  if (typeof v === 'string' && (ROUTE_TYPES as readonly string[]).includes(v)) return v as RouteType;
  const n = numberOrName(v, {}, ROUTE_TYPES.length - 1);
  return n === undefined ? undefined : ROUTE_TYPES[n];
}

export function parseProtocol(v: unknown): number | undefined {
  return numberOrName(v, PROTOCOL_NUMBERS, 255);
}

export function parseTable(v: unknown): number | undefined {
  return numberOrName(v, TABLE_NUMBERS, 0xffffffff);
}

function parseScope(v: unknown): number | undefined {
  return numberOrName(v, SCOPE_NUMBERS, 255);
}

// ---- `ip -json route show` ----

type Json = Readonly<Record<string, unknown>>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether `o`'s `flags` list holds `flag`. */
function hasFlag(o: Json, flag: string): boolean {
  const f = o['flags'];
  return Array.isArray(f) && f.includes(flag);
}

/** A next hop of a JSON route (the route itself for a single-path route), or the reason it is bad. */
function jsonNextHop(o: Json): KernelNextHop | string | undefined {
  let gatewayText: unknown = o['gateway'];
  const via = o['via'];
  if (gatewayText === undefined && isObject(via)) gatewayText = via['host']; // `via inet6 fe80::1` (RFC 5549)
  const dev = o['dev'];
  if (gatewayText === undefined && dev === undefined) return undefined;
  let gateway: string | undefined;
  if (gatewayText !== undefined) {
    gateway = typeof gatewayText === 'string' ? canonicalAddress(gatewayText) : undefined;
    if (gateway === undefined) return `bad gateway ${JSON.stringify(gatewayText)}`;
  }
  if (dev !== undefined && typeof dev !== 'string') return `bad dev ${JSON.stringify(dev)}`;
  const weight = o['weight'] ?? 1;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1) {
    return `bad weight ${JSON.stringify(weight)}`;
  }
  const onlink = hasFlag(o, 'onlink');
  if (gateway === undefined) return { dev: dev as string, onlink, weight };
  if (dev === undefined) return { gateway, onlink, weight };
  return { gateway, dev, onlink, weight };
}

/** One element of `ip -json route show` as a KernelRoute, or the reason it is not one. */
export function routeFromJson(o: unknown, family: FamilyName, table: number): KernelRoute | string {
  if (!isObject(o)) return `not an object: ${JSON.stringify(o)}`;
  const dst = o['dst'];
  const p = typeof dst === 'string' ? canonicalPrefix(dst, family) : undefined;
  if (p === undefined || p.family !== family) return `bad dst ${JSON.stringify(dst)}`;
  const type = o['type'] === undefined ? 'unicast' : parseType(o['type']);
  if (type === undefined) return `bad type ${JSON.stringify(o['type'])}`;
  const protocol = o['protocol'] === undefined ? RTPROT_BOOT : parseProtocol(o['protocol']);
  if (protocol === undefined) return `bad protocol ${JSON.stringify(o['protocol'])}`;
  const scope = o['scope'] === undefined ? 0 : parseScope(o['scope']);
  if (scope === undefined) return `bad scope ${JSON.stringify(o['scope'])}`;
  const t = o['table'] === undefined ? table : parseTable(o['table']);
  if (t === undefined) return `bad table ${JSON.stringify(o['table'])}`;
  const metric = o['metric'] ?? 0;
  if (typeof metric !== 'number' || !Number.isInteger(metric) || metric < 0) {
    return `bad metric ${JSON.stringify(metric)}`;
  }
  const tos = o['tos'] === undefined ? 0 : numberOrName(o['tos'], {}, 255);
  if (tos === undefined) return `bad tos ${JSON.stringify(o['tos'])}`;
  let from: string | undefined;
  if (o['from'] !== undefined) {
    const f = typeof o['from'] === 'string' ? canonicalPrefix(o['from'], family) : undefined;
    if (f === undefined) return `bad from ${JSON.stringify(o['from'])}`;
    if (f.length > 0) from = f.prefix;
  }
  let prefsrc: string | undefined;
  if (o['prefsrc'] !== undefined) {
    prefsrc = typeof o['prefsrc'] === 'string' ? canonicalAddress(o['prefsrc']) : undefined;
    if (prefsrc === undefined) return `bad prefsrc ${JSON.stringify(o['prefsrc'])}`;
  }
  const nextHops: KernelNextHop[] = [];
  const hops = o['nexthops'];
  if (Array.isArray(hops)) {
    for (const h of hops) {
      const nh = isObject(h) ? jsonNextHop(h) : 'a nexthop that is not an object';
      if (typeof nh === 'string') return nh;
      if (nh !== undefined) nextHops.push(nh);
    }
  } else if (type === 'unicast' || type === 'local' || type === 'broadcast' || type === 'anycast') {
    const nh = jsonNextHop(o);
    if (typeof nh === 'string') return nh;
    if (nh !== undefined) nextHops.push(nh);
  }
  const route: KernelRoute = {
    family,
    prefix: p.prefix,
    length: p.length,
    type,
    protocol,
    scope,
    table: t,
    metric,
    tos,
    nextHops,
  };
  if (from === undefined && prefsrc === undefined) return route;
  return {
    ...route,
    ...(from !== undefined ? { from } : {}),
    ...(prefsrc !== undefined ? { prefsrc } : {}),
  };
}

export interface RouteDump {
  readonly routes: KernelRoute[];
  /** Elements that could not be read, with the reason (the rest is still returned). */
  readonly problems: string[];
}

/** The whole output of `ip -N -json [-6] route show table <table>`. Throws when it is not JSON at all. */
export function parseRouteDump(text: string, family: FamilyName, table: number): RouteDump {
  const trimmed = text.trim();
  const v: unknown = trimmed === '' ? [] : JSON.parse(trimmed);
  if (!Array.isArray(v)) throw new Error(`expected a JSON list of routes, got ${trimmed.slice(0, 80)}`);
  const routes: KernelRoute[] = [];
  const problems: string[] = [];
  for (const item of v) {
    if (isObject(item) && (item['cache'] !== undefined || hasFlag(item, 'cache'))) continue;
    const r = routeFromJson(item, family, table);
    if (typeof r === 'string') problems.push(`${r} in ${JSON.stringify(item).slice(0, 200)}`);
    else if (r.table === table) routes.push(r);
  }
  return { routes, problems };
}

// ---- `ip monitor` ----

export type MonitorEvent =
  | { readonly kind: 'route'; readonly deleted: boolean; readonly route: KernelRoute }
  | { readonly kind: 'link'; readonly deleted: boolean; readonly name: string; readonly up: boolean }
  | { readonly kind: 'address'; readonly deleted: boolean; readonly dev: string; readonly family: FamilyName }
  /** Understood and of no interest (a cached route, another kind of object). */
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'unparsed'; readonly text: string; readonly reason: string };

/** Route flags iproute2 prints as bare words. */
const FLAG_WORDS = new Set([
  'onlink',
  'pervasive',
  'linkdown',
  'dead',
  'offload',
  'trap',
  'notify',
  'unresolved',
  'rt_offload',
  'rt_trap',
  'rt_offload_failed',
]);

/** Keywords followed by one value that tern does not need. */
const VALUE_WORDS = new Set([
  'pref',
  'expires',
  'nhid',
  'realm',
  'realms',
  'error',
  'ttl-propagate',
  'fastopen_no_cookie',
]);

/** Route metrics (RTAX_*): `mtu 1400`, `mtu lock 1400`. */
const METRIC_WORDS = new Set([
  'mtu',
  'advmss',
  'rtt',
  'rttvar',
  'reordering',
  'window',
  'cwnd',
  'initcwnd',
  'initrwnd',
  'ssthresh',
  'hoplimit',
  'features',
  'quickack',
  'congctl',
  'rto_min',
]);

function nonNegativeInteger(v: unknown): number | undefined {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

type NumericField = 'protocol' | 'scope' | 'table' | 'metric' | 'tos';

/** Keywords with a number (or a name for one) as value, and where it goes. */
const NUMERIC_WORDS: Readonly<Record<string, readonly [NumericField, (v: unknown) => number | undefined]>> = {
  proto: ['protocol', parseProtocol],
  scope: ['scope', parseScope],
  table: ['table', parseTable],
  metric: ['metric', nonNegativeInteger],
  tos: ['tos', (v) => numberOrName(v, {}, 255)],
  dsfield: ['tos', (v) => numberOrName(v, {}, 255)],
};

interface HopDraft {
  gateway?: string;
  dev?: string;
  onlink: boolean;
  weight: number;
}

/** `text` split at runs of blanks (space, tab, newline, CR); no empty words. */
export function words(text: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      if (start >= 0) out.push(text.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(text.slice(start));
  return out;
}

/** Whether `line` holds only blanks. */
function blank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/**
 * One route message of `ip -N monitor route` (its header line without the label, then its continuation
 * lines), as an event.
 */
export function parseRouteText(text: string): MonitorEvent {
  const unparsed = (reason: string): MonitorEvent => ({ kind: 'unparsed', text, reason });
  const tokens = words(text);
  let i = 0;
  const deleted = tokens[0] === 'Deleted';
  if (deleted) i++;
  let type: RouteType = 'unicast';
  const maybeType = tokens[i];
  if (maybeType !== undefined && maybeType !== 'default' && !/[.:]/.test(maybeType)) {
    const t = parseType(maybeType);
    if (t === undefined) return unparsed(`unknown route type ${maybeType}`);
    type = t;
    i++;
  }
  const dst = tokens[i++];
  if (dst === undefined) return unparsed('no destination');
  const numbers = { protocol: RTPROT_BOOT, scope: 0, table: MAIN_TABLE, metric: 0, tos: 0 };
  let from: string | undefined;
  let prefsrc: string | undefined;
  let isV6 = false;
  let gatewayFamily: 'inet' | 'inet6' | undefined;
  const top: HopDraft = { onlink: false, weight: 1 };
  const hops: HopDraft[] = [];
  let hop = top;
  const value = (): string | undefined => tokens[i++];
  while (i < tokens.length) {
    const word = tokens[i++]!;
    if (FLAG_WORDS.has(word)) {
      if (word === 'onlink') hop.onlink = true;
      continue;
    }
    if (word === 'cache') return { kind: 'ignored', reason: 'a cached route' };
    if (word === 'nexthop') {
      hop = { onlink: false, weight: 1 };
      hops.push(hop);
      continue;
    }
    const v = value();
    if (v === undefined) return unparsed(`${word} without a value`);
    switch (word) {
      case 'via': {
        let addr = v;
        if (v === 'inet' || v === 'inet6') {
          gatewayFamily = v;
          const a = value();
          if (a === undefined) return unparsed('via without an address');
          addr = a;
        }
        const gw = canonicalAddress(addr);
        if (gw === undefined) return unparsed(`bad gateway ${addr}`);
        hop.gateway = gw;
        break;
      }
      case 'dev':
        hop.dev = v;
        break;
      case 'weight': {
        const w = Number(v);
        if (!Number.isInteger(w) || w < 1) return unparsed(`bad weight ${v}`);
        hop.weight = w;
        break;
      }
      case 'proto':
      case 'scope':
      case 'table':
      case 'metric':
      case 'tos':
      case 'dsfield': {
        const [field, read] = NUMERIC_WORDS[word];
        const n = read(v);
        if (n === undefined) return unparsed(`bad ${word} ${v}`);
        numbers[field] = n;
        break;
      }
      case 'from':
        from = v;
        break;
      case 'src': {
        prefsrc = canonicalAddress(v);
        if (prefsrc === undefined) return unparsed(`bad src ${v}`);
        break;
      }
      default:
        if (word === 'pref') isV6 = true;
        if (VALUE_WORDS.has(word)) break;
        if (METRIC_WORDS.has(word)) {
          if (v === 'lock' && value() === undefined) return unparsed(`${word} lock without a value`);
          break;
        }
        return unparsed(`unknown keyword ${word}`);
    }
  }
  // `default` says nothing of its family: IPv6 routes always carry a preference (RTA_PREF), and a
  // gateway without `inet`/`inet6` is of the route's own family
  let family: FamilyName;
  if (dst !== 'default') family = familyOf(dst);
  else if (isV6) family = 'ipv6-unicast';
  else {
    const gw = (hops[0] ?? top).gateway;
    family = gw !== undefined && gatewayFamily === undefined ? familyOf(gw) : 'ipv4-unicast';
  }
  const p = canonicalPrefix(dst, family);
  if (p === undefined) return unparsed(`bad destination ${dst}`);
  let fromPrefix: string | undefined;
  if (from !== undefined) {
    const f = canonicalPrefix(from, family);
    if (f === undefined) return unparsed(`bad from ${from}`);
    if (f.length > 0) fromPrefix = f.prefix;
  }
  const forwards = type === 'unicast' || type === 'local' || type === 'broadcast' || type === 'anycast';
  const nextHops: KernelNextHop[] = [];
  if (forwards) {
    if (hops.length === 0) {
      if (top.gateway !== undefined || top.dev !== undefined) nextHops.push(hopOf(top));
    } else for (const h of hops) if (h.gateway !== undefined || h.dev !== undefined) nextHops.push(hopOf(h));
  }
  // object literals without spreads: this runs for every monitor message
  const route: KernelRoute = {
    family,
    prefix: p.prefix,
    length: p.length,
    type,
    protocol: numbers.protocol,
    scope: numbers.scope,
    table: numbers.table,
    metric: numbers.metric,
    tos: numbers.tos,
    nextHops,
  };
  if (fromPrefix === undefined && prefsrc === undefined) return { kind: 'route', deleted, route };
  return {
    kind: 'route',
    deleted,
    route: {
      ...route,
      ...(fromPrefix !== undefined ? { from: fromPrefix } : {}),
      ...(prefsrc !== undefined ? { prefsrc } : {}),
    },
  };
}

function hopOf(h: HopDraft): KernelNextHop {
  if (h.gateway === undefined) return { dev: h.dev!, onlink: h.onlink, weight: h.weight };
  if (h.dev === undefined) return { gateway: h.gateway, onlink: h.onlink, weight: h.weight };
  return { gateway: h.gateway, dev: h.dev, onlink: h.onlink, weight: h.weight };
}

const LINK_LINE = /^(Deleted )?(\d+): ([^:@\s]+)(?:@[^:\s]*)?: <([^>]*)>/;
const ADDR_LINE = /^(Deleted )?(\d+): (\S+)\s+(inet6?)\s/;

function parseMessage(text: string): MonitorEvent {
  if (text.startsWith('[ROUTE]')) return parseRouteText(text.slice(7));
  if (text.startsWith('[LINK]')) {
    const m = LINK_LINE.exec(text.slice(6));
    if (m === null) return { kind: 'unparsed', text, reason: 'a link line of an unknown form' };
    return { kind: 'link', deleted: m[1] !== undefined, name: m[3]!, up: m[4]!.split(',').includes('UP') };
  }
  if (text.startsWith('[ADDR]')) {
    const m = ADDR_LINE.exec(text.slice(6));
    if (m === null) return { kind: 'unparsed', text, reason: 'an address line of an unknown form' };
    return {
      kind: 'address',
      deleted: m[1] !== undefined,
      dev: m[3]!,
      family: m[4] === 'inet' ? 'ipv4-unicast' : 'ipv6-unicast',
    };
  }
  const label = /^\[([A-Z]+)\]/.exec(text);
  if (label !== null) return { kind: 'ignored', reason: `a ${label[1]} message` };
  // without `label`: a route
  return parseRouteText(text);
}

/**
 * Splits the output stream of `ip monitor label ...` into messages. `push` returns the messages that
 * a later line proved complete; `flush` returns the one still open (call it when a chunk ends at a
 * line end: iproute2 writes each message in one go, so a pause means the message is whole).
 */
export class MonitorParser {
  private partial = '';
  private open: string[] | undefined;

  push(chunk: string): MonitorEvent[] {
    const out: MonitorEvent[] = [];
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (blank(line)) continue;
      const c = line.charCodeAt(0);
      if (c === 32 || c === 9) {
        if (this.open === undefined) {
          out.push({ kind: 'unparsed', text: line, reason: 'a continuation line without its message' });
        } else this.open.push(line);
        continue;
      }
      if (this.open !== undefined) out.push(parseMessage(this.open.join('\n')));
      this.open = [line];
    }
    return out;
  }

  flush(): MonitorEvent[] {
    if (this.open === undefined) return [];
    const e = parseMessage(this.open.join('\n'));
    this.open = undefined;
    return [e];
  }

  /** Whether the last chunk ended inside a line. */
  get midLine(): boolean {
    return this.partial !== '';
  }

  reset(): void {
    this.partial = '';
    this.open = undefined;
  }
}
