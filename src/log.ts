// Structured logging (pino). One root logger per process; components take a child with their context.
// Records are JSON lines on stderr by default; `pretty` turns each into one line for a terminal
// (log-pretty.ts). docs/logging.md lists the lines an operator should know.

import { type DestinationStream, type Logger, pino } from 'pino';
import { prettyLine } from './log-pretty.js';

export type { Logger };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export interface LoggerOptions {
  /** `json` (default): one JSON object per line; `pretty`: one readable line per record. */
  readonly format?: LogFormat;
  /** Where records go (stderr by default, so stdout stays for command output). */
  readonly fd?: number;
  /** Colour the level in `pretty` lines. */
  readonly color?: boolean;
}

/** The format `tern run` logs in: the one asked for, else `pretty` on a terminal and JSON elsewhere. */
export function chooseLogFormat(asked: LogFormat | undefined, isTty: boolean): LogFormat {
  return asked ?? (isTty ? 'pretty' : 'json');
}

/** A logger writing records to `fd` (stderr by default), synchronously, as JSON lines or pretty lines. */
export function createLogger(level: LogLevel = 'info', opts: LoggerOptions = {}): Logger {
  const out = pino.destination({ fd: opts.fd ?? 2, sync: true });
  const color = opts.color === true;
  const dest: DestinationStream =
    opts.format === 'pretty' ? { write: (line: string) => out.write(prettyLine(line, { color })) } : out;
  return pino(
    {
      level,
      base: { name: 'tern' },
    },
    dest,
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
