// Reading the native config: YAML 1.2 (which also accepts JSON) -> plain values -> validateConfig.
// Errors name the file, the field path and what was expected; all of them are reported at once.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { TernConfig } from './types.js';
import { type ConfigIssue, validateConfig } from './validate.js';

/** One line per problem: `<file>:<line>:<col>: <message>` (syntax) or `<file>: <path>: <message>`. */
export function formatIssue(file: string, issue: ConfigIssue): string {
  if (issue.line !== undefined) return `${file}:${issue.line}:${issue.col ?? 1}: ${issue.message}`;
  if (issue.path === '') return `${file}: ${issue.message}`;
  return `${file}: ${issue.path}: ${issue.message}`;
}

/** A line whose unquoted value ends in ':' (`address: fd00::`), which YAML reads as a nested key. */
const BARE_IPV6_END = /:\s+[0-9A-Fa-f:]*::\s*(#.*)?$/;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  /** The field of the first problem (`peers[2].asn`; '' for the document itself or a syntax error). */
  readonly path: string;
  /** Every problem found, in the order found. */
  readonly errors: readonly ConfigIssue[];

  constructor(file: string, errors: readonly ConfigIssue[]) {
    super(errors.map((e) => formatIssue(file, e)).join('\n'));
    this.file = file;
    this.path = errors[0]?.path ?? '';
    this.errors = Object.freeze([...errors]);
  }
}

export interface CheckedConfig {
  readonly config: TernConfig;
  /** Legal settings that are probably mistakes (`tern check` prints them). */
  readonly warnings: readonly ConfigIssue[];
}

/** Parses and validates config text; `file` names it in messages. Throws ConfigError. */
export function checkConfigText(text: string, file: string): CheckedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.2',
    prettyErrors: false,
    lineCounter: lines,
    uniqueKeys: true,
    merge: true, // `<<: *defaults` in peer lists
  });
  // A YAML warning (an unknown tag, say) means the value is not what was written: refuse it too.
  const source = text.split('\n');
  const syntax: ConfigIssue[] = [...doc.errors, ...doc.warnings].map((e) => {
    const { line, col } = lines.linePos(e.pos[0]);
    let message =
      e.code === 'MULTIPLE_DOCS'
        ? 'the file holds more than one YAML document; tern reads exactly one'
        : e.message;
    if (BARE_IPV6_END.test(source[line - 1] ?? '')) {
      message += ' (an IPv6 address that ends with ":", such as "::" or "fd00::", must be quoted)';
    }
    return { path: '', message, line, col };
  });
  if (syntax.length > 0) throw new ConfigError(file, syntax);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ConfigError(file, [{ path: '', message: e instanceof Error ? e.message : String(e) }]);
  }
  const result = validateConfig(raw);
  if (!result.config) throw new ConfigError(file, result.errors);
  return { config: result.config, warnings: result.warnings };
}

/** The resolved config from text; `file` names it in messages. Throws ConfigError. */
export function parseConfig(text: string, file: string): TernConfig {
  return checkConfigText(text, file).config;
}

/** Reads and checks a config file. Throws ConfigError (also when the file cannot be read). */
export function checkConfigFile(path: string): CheckedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the file: ${readError(e)}` }]);
  }
  return checkConfigText(text, path);
}

/** The resolved config of a file. Throws ConfigError. */
export function loadConfig(path: string): TernConfig {
  return checkConfigFile(path).config;
}

function readError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return e instanceof Error ? e.message : String(e);
}
