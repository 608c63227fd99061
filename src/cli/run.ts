// `tern run -c <config>`: the daemon. SIGHUP or a changed config file reloads (unchanged peers stay
// up). Stopping has two modes (docs/cli.md#stopping-tern):
// - graceful (SIGTERM, SIGUSR2, `tern stop`): a graceful restart, RFC 4724: the sessions close without a
//   NOTIFICATION, so peers keep tern's routes as stale for its restart time, and the routes written to
//   the kernel stay; `tern run --graceful` then announces the Restart bit and sends its routes after
//   the peers' End-of-RIB.
// - withdraw (SIGINT, `tern stop --withdraw`): a real shutdown, Cease 6/2 with a shutdown message to
//   every peer (they drop tern's routes at once) and tern's kernel routes removed.

import { ConfigError } from '../config/load.js';
import type { TernConfig } from '../config/types.js';
import { type BirdConfigure, birdServers, type ReloadOutcome } from '../control/bird/index.js';
import { EventLoopMonitor } from '../control/event-loop.js';
import { ControlServer } from '../control/server.js';
import { controlHandler, gracefulRestartTime, type StopMode } from '../control/views.js';
import { chooseLogFormat, createLogger, type LogFormat, type LogLevel } from '../log.js';
import { daemonMetrics } from '../metrics/daemon.js';
import { Speaker } from '../speaker/speaker.js';
import { ternVersion } from '../version.js';
import { type CalicoOptions, calicoFeed } from './calico.js';
import { fileFeed, firstLoad } from './feed.js';

/** The mode of each stopping signal. */
export const SIGNAL_STOP_MODE: Readonly<Record<string, StopMode>> = {
  SIGTERM: 'graceful',
  SIGUSR2: 'graceful',
  SIGINT: 'withdraw',
};

export interface RunOptions {
  /** The native config file; or, instead, `calico`: Calico resources (cli/calico.ts). */
  readonly config?: string;
  readonly calico?: CalicoOptions;
  readonly logLevel?: LogLevel;
  /** `json` or `pretty`; absent: `pretty` when stderr is a terminal, else `json`. */
  readonly logFormat?: LogFormat;
  /** Poll the config file for changes (seconds; 0 = only SIGHUP). */
  readonly watch?: number;
  /** Start as a restarting speaker (RFC 4724): after a graceful stop (SIGUSR2). */
  readonly graceful?: boolean;
}

/** Runs until SIGTERM/SIGINT/SIGUSR2 or `tern stop`; resolves with the exit code. */
export async function runDaemon(opts: RunOptions): Promise<number> {
  const feed = opts.calico
    ? calicoFeed(opts.calico, (w) => process.stderr.write(`tern run: ${w}\n`))
    : fileFeed(opts.config ?? '', opts.watch ?? 2);
  // a SIGTERM while starting (a datastore feed may wait for etcd; the control socket may answer before
  // the first read of the kernel table is in) is kept and acted on once started, not left to kill the
  // process. One listener per signal for the whole run: removing the last one drops a signal that
  // arrived but was not yet dispatched (a SIGTERM just after start was lost that way).
  let early: { readonly mode: StopMode; readonly why: string } | undefined;
  let onStop = (mode: StopMode, why: string): void => {
    early ??= { mode, why };
  };
  const onSignal = (signal: string): void => onStop(SIGNAL_STOP_MODE[signal] ?? 'graceful', signal);
  const earlyTerm = (): void => onSignal('SIGTERM');
  const earlyInt = (): void => onSignal('SIGINT');
  const earlyUsr2 = (): void => onSignal('SIGUSR2');
  process.on('SIGTERM', earlyTerm);
  process.on('SIGINT', earlyInt);
  process.on('SIGUSR2', earlyUsr2);
  const offSignals = (): void => {
    process.off('SIGTERM', earlyTerm);
    process.off('SIGINT', earlyInt);
    process.off('SIGUSR2', earlyUsr2);
  };
  let config: TernConfig;
  try {
    // a datastore feed may wait for etcd here, answering `tern show status` meanwhile
    const startLog = createLogger(opts.logLevel ?? 'info', {
      format: chooseLogFormat(opts.logFormat, process.stderr.isTTY === true),
    });
    const first = await firstLoad(feed, startLog);
    if (first === undefined) {
      await feed.close?.();
      offSignals();
      return 0; // SIGTERM or `tern stop` while waiting
    }
    config = first;
  } catch (e) {
    process.stderr.write(`tern run: ${e instanceof Error ? e.message : String(e)}\n`);
    await feed.close?.();
    offSignals();
    return 1;
  }
  const tty = process.stderr.isTTY === true;
  const log = createLogger(opts.logLevel ?? config.log.level, {
    format: chooseLogFormat(opts.logFormat, tty),
    color: tty && process.env.NO_COLOR === undefined,
  });
  const eventLoop = new EventLoopMonitor();
  const speaker = new Speaker(config, log, { restarting: opts.graceful === true });
  const metrics = daemonMetrics(config.metrics, speaker, log, {
    version: ternVersion(),
    eventLoop: () => eventLoop.delay(),
  });
  const control = new ControlServer(
    config.control.socket,
    controlHandler(speaker, ternVersion(), {
      pid: process.pid,
      eventLoop: () => eventLoop.delay(),
      // `tern stop [--withdraw]`: answered first, then the daemon stops as on the matching signal
      stop: (mode) => setImmediate(() => onStop(mode, 'tern stop')),
      // `tern reload`: answered when the reload is done (or refused)
      reload: () => reload('tern reload'),
      ...(feed.status ? { datastore: feed.status.bind(feed) } : {}),
    }),
    log,
    config.control.group === undefined ? {} : { group: config.control.group },
  );
  let reloading: Promise<unknown> = Promise.resolve();
  let reloadsPending = 0;
  let configuredAt = Date.now();
  const reload = (why: string): Promise<ReloadOutcome> => {
    reloadsPending++;
    const step = reloading.then(async (): Promise<ReloadOutcome> => {
      let next: TernConfig;
      try {
        next = await feed.load();
      } catch (e) {
        // a broken config never takes the running one down
        const error = e instanceof ConfigError || e instanceof Error ? e.message : String(e);
        log.error({ why, error }, 'reload refused: config invalid, keeping the running one');
        return { ok: false, error };
      }
      log.info({ why }, 'reloading configuration');
      const [c, was] = [next.control, speaker.config.control];
      if (
        c.socket !== was.socket ||
        c.group !== was.group ||
        c.birdSocket !== was.birdSocket ||
        c.bird6Socket !== was.bird6Socket
      ) {
        log.warn(
          'control.socket, group, birdSocket and bird6Socket changes need a restart; keeping the old sockets',
        );
      }
      if (JSON.stringify(next.metrics) !== JSON.stringify(speaker.config.metrics))
        log.warn('metrics changes need a restart; keeping the old endpoint');
      const peers = await speaker.reload(next);
      configuredAt = Date.now();
      return { ok: true, peers };
    });
    const done = step.finally(() => {
      reloadsPending--;
    });
    reloading = done;
    return done;
  };
  // the BIRD-compatible sockets (control.birdSocket, bird6Socket): `configure` on them is a reload
  const configure: BirdConfigure = {
    file: feed.file,
    reload: () => reload('configure (BIRD socket)'),
    check: () => feed.check(),
    busy: () => reloadsPending > 0,
  };
  const birds = birdServers(config, speaker, log, {
    version: ternVersion(),
    configure,
    configuredAt: () => configuredAt,
  });
  const stopBirds = (): Promise<unknown> => Promise.all(birds.map((b) => b.stop()));
  try {
    // the control sockets first: a second tern on the same socket stops here, before it binds port 179
    await control.start();
    for (const b of birds) await b.start();
    await metrics.start();
    await speaker.start();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.fatal({ err: message }, 'cannot start');
    process.stderr.write(`tern run: cannot start: ${message}\n`);
    await control.stop(); // removes the socket only if this tern made it
    await stopBirds();
    await metrics.stop();
    await speaker.stop('tern failed to start');
    await feed.close?.();
    eventLoop.stop();
    offSignals();
    return 1;
  }

  const unwatch = (opts.watch ?? 2) > 0 ? feed.watch((why) => void reload(why)) : () => {};
  process.on('SIGHUP', () => void reload('SIGHUP'));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (mode: StopMode, why: string): void => {
      if (stopping) return;
      stopping = true;
      const graceful = mode === 'graceful';
      log.info(
        graceful ? { why, mode, restartTime: gracefulRestartTime(speaker.config.peers) } : { why, mode },
        graceful ? 'stopping for a graceful restart' : 'stopping',
      );
      unwatch();
      void reloading
        .then(() =>
          graceful ? speaker.stopGraceful() : speaker.stop('tern is shutting down', { withdrawRoutes: true }),
        )
        .then(() => control.stop())
        .then(stopBirds)
        .then(() => metrics.stop())
        .then(() => feed.close?.())
        .then(() => {
          eventLoop.stop();
          offSignals();
          resolve(0);
        });
    };
    onStop = stop;
    if (early !== undefined) stop(early.mode, early.why);
  });
}
