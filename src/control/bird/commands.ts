// The commands of BIRD's CLI that tern answers, parsed from one request line (BIRD 1.6 nest/config.Y,
// the grammar of Calico's BIRD; BIRD 2 accepts the same lines). Keywords are exact and case-sensitive,
// as in BIRD: `birdc` expands abbreviations (`sh pro`) before it sends a line, BIRD itself does not.
// Commands BIRD has and tern does not emulate get a 9001 reply that says so.

import { parseIpv4, parseIpv4Prefix, parseIpv6Prefix } from '../../bgp/messages/prefix.js';
import { Code } from './reply.js';

/** A prefix or address of `show route`: exact match (`show route <prefix>`) or longest match (`for`). */
export type RoutePrefix =
  | { readonly family: 'ipv4'; readonly key: number; readonly match: 'exact' | 'longest' }
  | { readonly family: 'ipv6'; readonly key: string; readonly match: 'exact' | 'longest' };

export interface RouteQuery {
  readonly prefix?: RoutePrefix;
  /** Only the routes of this protocol (a peer name, or `static1` for tern's own routes). */
  readonly protocol?: string;
  /** The attributes of each route (`show route all`). */
  readonly all: boolean;
  /** Only the best route of each prefix. */
  readonly primary: boolean;
  /** Routes rejected by import filters: tern keeps none, so the list is empty. */
  readonly filtered: boolean;
  /** `count` / `stats`: only the `0014 N of M routes for K networks` line. */
  readonly count: boolean;
}

export type ConfigureMode = 'apply' | 'check' | 'confirm' | 'undo';

export type BirdCommand =
  | { readonly kind: 'show status' }
  | {
      readonly kind: 'show protocols';
      readonly all: boolean;
      /** A protocol name (BIRD: a symbol). */
      readonly name?: string;
      /** A quoted shell-like pattern (`*`, `?`). */
      readonly pattern?: string;
    }
  | { readonly kind: 'show route'; readonly query: RouteQuery }
  | { readonly kind: 'show memory' }
  | { readonly kind: 'configure'; readonly mode: ConfigureMode }
  | { readonly kind: 'restrict' };

export type ParseResult =
  | { readonly ok: true; readonly command: BirdCommand }
  | { readonly ok: false; readonly code: number; readonly message: string };

interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

/** BIRD's commands that tern knows of and does not answer (first words). */
const NOT_EMULATED = new Set([
  'disable',
  'enable',
  'restart',
  'reload',
  'down',
  'debug',
  'dump',
  'eval',
  'echo',
  'mrtdump',
  'graceful',
]);

const syntaxError = (detail?: string): ParseResult => ({
  ok: false,
  code: Code.PARSE_ERROR,
  message: detail === undefined ? 'syntax error' : `syntax error, ${detail}`,
});

const notEmulated = (what: string): ParseResult =>
  syntaxError(`tern does not emulate '${what}' (see docs/cli.md, BIRD-compatible socket)`);

/** Splits a line into words and "quoted strings"; undefined when a quote is not closed. */
export function tokenize(line: string): Token[] | undefined {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) return undefined;
      out.push({ text: line.slice(i + 1, end), quoted: true });
      i = end + 1;
    } else {
      let j = i;
      while (j < line.length && !' \t\r"'.includes(line[j]!)) j++;
      out.push({ text: line.slice(i, j), quoted: false });
      i = j;
    }
  }
  return out;
}

/** Parses one request line. */
export function parseCommand(line: string): ParseResult {
  const tokens = tokenize(line);
  if (tokens === undefined) return syntaxError('unterminated string');
  const [first, second] = tokens;
  if (first === undefined || first.quoted) return syntaxError();
  switch (first.text) {
    case 'show':
      if (second === undefined || second.quoted) return syntaxError();
      return parseShow(second.text, tokens.slice(2));
    case 'configure':
      return parseConfigure(tokens.slice(1));
    case 'restrict':
      return tokens.length === 1 ? { ok: true, command: { kind: 'restrict' } } : syntaxError();
    default:
      return NOT_EMULATED.has(first.text) ? notEmulated(first.text) : syntaxError();
  }
}

function parseShow(what: string, rest: Token[]): ParseResult {
  switch (what) {
    case 'status':
    case 'memory':
      if (rest.length > 0) return syntaxError();
      return { ok: true, command: { kind: what === 'status' ? 'show status' : 'show memory' } };
    case 'protocols':
      return parseShowProtocols(rest);
    case 'route':
      return parseShowRoute(rest);
    case 'interfaces':
    case 'symbols':
    case 'static':
    case 'ospf':
    case 'rip':
    case 'babel':
    case 'bfd':
    case 'roa':
    case 'devices':
      return notEmulated(`show ${what}`);
    default:
      return syntaxError();
  }
}

function parseShowProtocols(rest: Token[]): ParseResult {
  let all = false;
  let i = 0;
  if (rest[0] !== undefined && !rest[0].quoted && rest[0].text === 'all') {
    all = true;
    i = 1;
  }
  const which = rest[i];
  if (rest.length > i + 1) return syntaxError();
  if (which === undefined) return { ok: true, command: { kind: 'show protocols', all } };
  if (which.quoted) return { ok: true, command: { kind: 'show protocols', all, pattern: which.text } };
  if (!SYMBOL.test(which.text)) return syntaxError();
  return { ok: true, command: { kind: 'show protocols', all, name: which.text } };
}

/** A BIRD symbol: a protocol name. */
const SYMBOL = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parseShowRoute(rest: Token[]): ParseResult {
  let prefix: RoutePrefix | undefined;
  let protocol: string | undefined;
  const flags = { all: false, primary: false, filtered: false, count: false };
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i]!;
    if (t.quoted) return syntaxError();
    switch (t.text) {
      case 'all':
      case 'primary':
      case 'filtered':
      case 'count':
        flags[t.text] = true;
        break;
      case 'stats':
        flags.count = true;
        break;
      case 'for':
      case 'protocol':
      case 'table': {
        const arg = rest[++i];
        if (arg === undefined || arg.quoted) return syntaxError();
        if (t.text === 'for') {
          if (prefix !== undefined) return syntaxError('only one prefix expected');
          const p = parsePrefix(arg.text, 'longest');
          if (p === undefined) return syntaxError(`'${arg.text}' is not an address or a prefix`);
          prefix = p;
        } else if (t.text === 'protocol') {
          if (!SYMBOL.test(arg.text)) return syntaxError();
          protocol = arg.text;
        } else if (arg.text !== 'master') {
          return { ok: false, code: Code.PARSE_ERROR, message: `${arg.text} is not a table` };
        }
        break;
      }
      case 'filter':
      case 'where':
      case 'export':
      case 'preexport':
      case 'noexport':
        return notEmulated(`show route ${t.text}`);
      default: {
        const p = parsePrefix(t.text, 'exact');
        if (p === undefined) {
          return /^[0-9a-fA-F:.]+(\/\d+)?$/.test(t.text) && /[.:]/.test(t.text)
            ? syntaxError(`invalid prefix ${t.text}`)
            : syntaxError();
        }
        if (prefix !== undefined) return syntaxError('only one prefix expected');
        prefix = p;
      }
    }
  }
  const query: RouteQuery = {
    ...(prefix !== undefined ? { prefix } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
    ...flags,
  };
  return { ok: true, command: { kind: 'show route', query } };
}

/**
 * An IPv4 or IPv6 prefix or address (an address is a /32 or /128). For an exact match the host bits
 * must be zero (BIRD: "Invalid prefix"); `for` takes any address in the prefix.
 */
export function parsePrefix(text: string, match: 'exact' | 'longest'): RoutePrefix | undefined {
  const lenient = match === 'longest';
  if (text.includes(':')) {
    const key = parseIpv6Prefix(text, lenient);
    return key === undefined ? undefined : { family: 'ipv6', key, match };
  }
  if (!text.includes('/') && parseIpv4(text) === undefined) return undefined;
  const key = parseIpv4Prefix(text, lenient);
  return key === undefined ? undefined : { family: 'ipv4', key, match };
}

function parseConfigure(rest: Token[]): ParseResult {
  const [arg, extra] = rest;
  if (extra !== undefined) return notEmulated(`configure ${rest.map((t) => t.text).join(' ')}`);
  if (arg === undefined) return { ok: true, command: { kind: 'configure', mode: 'apply' } };
  if (arg.quoted) return notEmulated('configure "<file>"');
  switch (arg.text) {
    case 'soft':
      // tern's reload never restarts a peer whose settings did not change: soft is what it always does
      return { ok: true, command: { kind: 'configure', mode: 'apply' } };
    case 'check':
    case 'confirm':
    case 'undo':
      return { ok: true, command: { kind: 'configure', mode: arg.text } };
    case 'timeout':
      return notEmulated('configure timeout');
    default:
      return syntaxError();
  }
}

/** Whether `name` matches a BIRD pattern (`*` any run, `?` one character; BIRD lib/patmatch.c). */
export function patternMatches(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(name);
}
