// Where `tern run` gets its config: a native file (`-c`), or Calico resources (`--calico`, `--calico-etcd`,
// calico.ts).
// Both are read the same way by the daemon: load at start and on every reload, check for BIRD's
// `configure check`, and watch for changes.

import { unwatchFile, watchFile } from 'node:fs';
import type { DatastoreStatus } from '../config/calico/index.js';
import { loadConfig } from '../config/load.js';
import type { TernConfig } from '../config/types.js';
import { ControlServer } from '../control/server.js';
import type { Logger } from '../log.js';
import { ternVersion } from '../version.js';

export interface ConfigFeed {
  /** Names the source in messages and in BIRD's `configure` reply. */
  readonly file: string;
  /** Reads and validates the config. Throws (ConfigError, CalicoError) with every problem. */
  load(): Promise<TernConfig>;
  /** Reads and validates without applying: for `configure check` on the BIRD-compatible socket. */
  check(): { readonly ok: true } | { readonly ok: false; readonly error: string };
  /** Calls `onChange` when the config may have changed; returns the function that stops watching. */
  watch(onChange: (why: string) => void): () => void;
  /** A datastore feed (Calico's etcd): where its connection stands, for `tern show status`. */
  status?(): DatastoreStatus;
  /**
   * A datastore feed: the control socket to answer `tern show status` on while the first `load` waits
   * for the datastore (the config, which names the socket, is not known yet).
   */
  readonly controlSocket?: string;
  /** Closes what the feed holds open (a datastore connection). */
  close?(): Promise<void>;
}

/** A native config file, polled every `watchSeconds` (0: never). */
export function fileFeed(path: string, watchSeconds: number): ConfigFeed {
  return {
    file: path,
    load: async () => loadConfig(path),
    check: () => {
      try {
        loadConfig(path);
        return { ok: true };
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
    watch: (onChange) => {
      if (watchSeconds <= 0) return () => {};
      watchFile(path, { interval: watchSeconds * 1000, persistent: false }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) onChange('config file changed');
      });
      return () => unwatchFile(path);
    },
  };
}

/**
 * The first load of the config. A datastore feed may wait long (etcd unreachable): meanwhile its control
 * socket answers `tern show status` with the datastore's state (anything else: "starting"), and SIGTERM or
 * SIGINT or `tern stop` ends the wait (undefined: exit quietly). Throws what `load` throws, and when the socket is taken.
 */
export async function firstLoad(feed: ConfigFeed, log: Logger): Promise<TernConfig | undefined> {
  const status = feed.status?.bind(feed);
  if (!status || feed.controlSocket === undefined) return feed.load();
  const server = new ControlServer(
    feed.controlSocket,
    (req) => {
      if (req.command === 'stop') {
        // nothing is up yet: either mode just ends the wait
        setImmediate(() => stop());
        const mode = req.args?.withdraw === true ? 'withdraw' : 'graceful';
        return { version: 1, pid: process.pid, mode, state: 'waiting for the datastore', established: 0 };
      }
      if (req.command === 'show status') {
        return {
          version: ternVersion(),
          pid: process.pid,
          state: 'waiting for the datastore',
          datastore: status(),
        };
      }
      throw new Error('tern is starting: waiting for the Calico datastore (see tern show status)');
    },
    log,
  );
  // The signal listeners go in before anything is awaited: a SIGTERM that comes while the socket is being
  // bound ends the wait as one that comes later does, instead of killing the process with the default action.
  let stop: () => void = () => {};
  const stopped = new Promise<undefined>((resolve) => {
    stop = () => resolve(undefined);
  });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await server.start(); // a second tern on the same socket stops here
    return await Promise.race([feed.load(), stopped]);
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await server.stop();
  }
}
