// `tern run -c <config>`: the daemon. SIGHUP or a changed config file reloads (unchanged peers stay
// up); SIGTERM/SIGINT stop cleanly with Cease 6/2 and a shutdown message to every peer; SIGUSR2 stops
// for a graceful restart (no NOTIFICATION: peers keep tern's routes), to be followed by
// `tern run --graceful`, which announces the Restart bit and sends its routes after the peers' End-of-RIB.

import { unwatchFile, watchFile } from 'node:fs';
import { ConfigError, loadConfig } from '../config/load.js';
import type { TernConfig } from '../config/types.js';
import { EventLoopMonitor } from '../control/event-loop.js';
import { ControlServer } from '../control/server.js';
import { controlHandler } from '../control/views.js';
import { createLogger, type LogLevel } from '../log.js';
import { Speaker } from '../speaker/speaker.js';
import { ternVersion } from '../version.js';

export interface RunOptions {
  readonly config: string;
  readonly logLevel?: LogLevel;
  /** Poll the config file for changes (seconds; 0 = only SIGHUP). */
  readonly watch?: number;
  /** Start as a restarting speaker (RFC 4724): after a graceful stop (SIGUSR2). */
  readonly graceful?: boolean;
}

/** Runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function runDaemon(opts: RunOptions): Promise<number> {
  let config: TernConfig;
  try {
    config = loadConfig(opts.config);
  } catch (e) {
    process.stderr.write(`tern run: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const log = createLogger(opts.logLevel ?? config.log.level);
  const eventLoop = new EventLoopMonitor();
  const speaker = new Speaker(config, log, { restarting: opts.graceful === true });
  const control = new ControlServer(
    config.control.socket,
    controlHandler(speaker, ternVersion(), { pid: process.pid, eventLoop: () => eventLoop.delay() }),
    log,
    config.control.group === undefined ? {} : { group: config.control.group },
  );
  try {
    // the control socket first: a second tern on the same socket stops here, before it binds port 179
    await control.start();
    await speaker.start();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.fatal({ err: message }, 'cannot start');
    process.stderr.write(`tern run: cannot start: ${message}\n`);
    await control.stop(); // removes the socket only if this tern made it
    await speaker.stop('tern failed to start');
    eventLoop.stop();
    return 1;
  }

  let reloading = Promise.resolve();
  const reload = (why: string): void => {
    reloading = reloading.then(async () => {
      let next: TernConfig;
      try {
        next = loadConfig(opts.config);
      } catch (e) {
        // a broken config never takes the running one down
        log.error(
          { why, error: e instanceof ConfigError || e instanceof Error ? e.message : String(e) },
          'reload refused: config invalid, keeping the running one',
        );
        return;
      }
      log.info({ why }, 'reloading configuration');
      if (
        next.control.socket !== speaker.config.control.socket ||
        next.control.group !== speaker.config.control.group
      ) {
        log.warn('control.socket and control.group changes need a restart; keeping the old socket');
      }
      await speaker.reload(next);
    });
  };

  const watchSeconds = opts.watch ?? 2;
  if (watchSeconds > 0) {
    watchFile(opts.config, { interval: watchSeconds * 1000, persistent: false }, (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) reload('config file changed');
    });
  }
  process.on('SIGHUP', () => reload('SIGHUP'));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      unwatchFile(opts.config);
      void reloading
        .then(() => speaker.stop())
        .then(() => control.stop())
        .then(() => {
          eventLoop.stop();
          resolve(0);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // a graceful restart: close the sessions without NOTIFICATION; start again with --graceful
    process.on('SIGUSR2', () => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: 'SIGUSR2' }, 'stopping for a graceful restart');
      unwatchFile(opts.config);
      void reloading
        .then(() => speaker.stopGraceful())
        .then(() => control.stop())
        .then(() => {
          eventLoop.stop();
          resolve(0);
        });
    });
  });
}
