// Structured logging (pino). One root logger per process; components take a child with their context.

import { type Logger, pino } from 'pino';

export type { Logger };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** A logger writing JSON lines to `fd` (stderr by default, so stdout stays for command output). */
export function createLogger(level: LogLevel = 'info', fd = 2): Logger {
  return pino({ level, base: { name: 'tern' } }, pino.destination({ fd, sync: true }));
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
