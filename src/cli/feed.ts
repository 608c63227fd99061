// Where `tern run` gets its config: a native file (`-c`), or Calico resources (`--calico`, calico.ts).
// Both are read the same way by the daemon: load at start and on every reload, check for BIRD's
// `configure check`, and watch for changes.

import { unwatchFile, watchFile } from 'node:fs';
import { loadConfig } from '../config/load.js';
import type { TernConfig } from '../config/types.js';

export interface ConfigFeed {
  /** Names the source in messages and in BIRD's `configure` reply. */
  readonly file: string;
  /** Reads and validates the config. Throws (ConfigError, CalicoError) with every problem. */
  load(): Promise<TernConfig>;
  /** Reads and validates without applying: for `configure check` on the BIRD-compatible socket. */
  check(): { readonly ok: true } | { readonly ok: false; readonly error: string };
  /** Calls `onChange` when the config may have changed; returns the function that stops watching. */
  watch(onChange: (why: string) => void): () => void;
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
