// Where Calico resources come from. One interface, so that the daemon and `tern calico render` do not care:
// files and directories here (`calicoctl get -o yaml` / `kubectl get -o yaml` output), Calico's etcd
// datastore (etcd.ts), the Kubernetes API later.
//
// The file source reads one file, or every *.yaml, *.yml and *.json file under a directory (recursively,
// in name order; names starting with "." are skipped, which also skips the `..data` links of a mounted
// ConfigMap). It watches with fs.watch (debounced) and, as a safety net for what fs.watch misses (network
// filesystems, atomic renames of a ConfigMap update), compares the files' stat every `pollSeconds`.

import { type FSWatcher, readdirSync, readFileSync, type Stats, statSync, watch } from 'node:fs';
import { join, relative } from 'node:path';
import { CalicoError, type CalicoIssue } from './issues.js';
import { type CalicoResource, type CalicoResources, collectResources, readCalicoText } from './resources.js';

export interface CalicoSource {
  /** Says where the resources come from (a path, `etcd <endpoints>`), for messages. */
  readonly description: string;
  /**
   * Reads every resource. Throws CalicoError listing every problem. A datastore source waits (retrying)
   * until the datastore answers, then keeps its copy current.
   */
  load(): Promise<CalicoResources>;
  /**
   * The resources as they are now, without waiting: the files read now, or the copy a datastore source
   * keeps (an Error before its first read). Throws CalicoError listing every problem.
   */
  current(): CalicoResources;
  /**
   * Calls `onChange` (at most once per debounce interval) when the resources may have changed; the
   * returned function stops watching.
   */
  watch(onChange: () => void): () => void;
  /** A datastore source: where its connection stands, for `tern show status`. */
  status?(): DatastoreStatus;
  /** A datastore source: stops watching and closes its connections. */
  close?(): Promise<void>;
}

/** What `tern show status` reports of a datastore source (`datastore` in its JSON). */
export interface DatastoreStatus {
  readonly datastore: 'etcdv3';
  readonly endpoints: readonly string[];
  readonly prefix: string;
  /** idle (not started), reading, watching (following changes), retrying (etcd unreachable), closed. */
  readonly state: 'idle' | 'reading' | 'watching' | 'retrying' | 'closed';
  /** The last read succeeded and its watch is running. */
  readonly connected: boolean;
  /** The etcd revision of the state tern runs on (the last read, event or progress notice); null: none. */
  readonly revision: number | null;
  /** The last failure (read or watch); it stays after a recovery, `since` tells when that was. */
  readonly lastError: string | null;
  /** When `connected` last changed (ISO 8601). */
  readonly since: string;
  /** Consistent reads done: 1 at start, one more after each lost or compacted watch. */
  readonly reads: number;
}

export interface FileSourceOptions {
  /** Quiet time after a file system event before `onChange` (ms); default 200. */
  readonly debounceMs?: number;
  /** Seconds between stat comparisons (the safety net); default 2; 0: none. */
  readonly pollSeconds?: number;
}

const EXTENSIONS = /\.(ya?ml|json)$/i;

/** Calico resources from a YAML/JSON file or a directory of them. */
export class FileCalicoSource implements CalicoSource {
  readonly description: string;
  private readonly debounceMs: number;
  private readonly pollSeconds: number;

  constructor(
    readonly path: string,
    opts: FileSourceOptions = {},
  ) {
    this.description = path;
    this.debounceMs = opts.debounceMs ?? 200;
    this.pollSeconds = opts.pollSeconds ?? 2;
  }

  async load(): Promise<CalicoResources> {
    return this.loadSync();
  }

  current(): CalicoResources {
    return this.loadSync();
  }

  /** `load` without the promise (the files are local). Throws CalicoError. */
  loadSync(): CalicoResources {
    const { files, errors } = this.files();
    const resources: CalicoResource[] = [];
    const warnings: CalicoIssue[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (e) {
        errors.push({
          origin: { file: f, document: 1 },
          path: '',
          message: `cannot read the file: ${readError(e)}`,
        });
        continue;
      }
      const r = readCalicoText(text, f);
      resources.push(...r.resources);
      errors.push(...r.errors);
      warnings.push(...r.warnings);
    }
    const collected = collectResources(resources, warnings);
    errors.push(...collected.errors);
    if (errors.length > 0) throw new CalicoError(errors);
    return collected.resources;
  }

  /** The files to read, in name order, or why there are none. */
  files(): { files: string[]; errors: CalicoIssue[] } {
    const errors: CalicoIssue[] = [];
    let st: Stats;
    try {
      st = statSync(this.path);
    } catch (e) {
      errors.push({ path: '', message: `${this.path}: cannot read Calico resources: ${readError(e)}` });
      return { files: [], errors };
    }
    if (!st.isDirectory()) return { files: [this.path], errors };
    const files: string[] = [];
    const walk = (dir: string): void => {
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch (e) {
        errors.push({ path: '', message: `${dir}: cannot list the directory: ${readError(e)}` });
        return;
      }
      for (const name of names) {
        if (name.startsWith('.')) continue;
        const p = join(dir, name);
        let s: Stats;
        try {
          s = statSync(p);
        } catch {
          continue; // a dangling link, or removed meanwhile
        }
        if (s.isDirectory()) walk(p);
        else if (s.isFile() && EXTENSIONS.test(name)) files.push(p);
      }
    };
    walk(this.path);
    if (files.length === 0 && errors.length === 0) {
      errors.push({
        path: '',
        message: `${this.path}: no Calico resources (no *.yaml, *.yml or *.json files in the directory)`,
      });
    }
    return { files, errors };
  }

  /** What the stat safety net compares: every file's path, size, mtime and inode. */
  signature(): string {
    const { files } = this.files();
    return files
      .map((f) => {
        try {
          const s = statSync(f);
          return `${relative(this.path, f)}:${s.size}:${s.mtimeMs}:${s.ino}`;
        } catch {
          return `${f}:gone`;
        }
      })
      .join('\n');
  }

  watch(onChange: () => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const fire = (): void => {
      if (stopped) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        last = this.signature();
        if (!stopped) onChange();
      }, this.debounceMs);
    };
    let last = this.signature();
    const watchers: FSWatcher[] = [];
    const watchAll = (): void => {
      for (const w of watchers.splice(0)) w.close();
      const dirs = new Set<string>([this.path]);
      try {
        if (statSync(this.path).isDirectory()) {
          const walk = (dir: string): void => {
            for (const name of readdirSync(dir)) {
              if (name.startsWith('.')) continue;
              const p = join(dir, name);
              try {
                if (statSync(p).isDirectory()) {
                  dirs.add(p);
                  walk(p);
                }
              } catch {}
            }
          };
          walk(this.path);
        }
      } catch {}
      for (const d of dirs) {
        try {
          const w = watch(d, { persistent: false }, fire);
          w.on('error', () => {});
          watchers.push(w);
        } catch {
          // gone, or not watchable: the stat poll still sees changes
        }
      }
    };
    watchAll();
    const poll =
      this.pollSeconds > 0
        ? setInterval(() => {
            const now = this.signature();
            if (now !== last) {
              watchAll(); // new directories, or a replaced file
              fire();
            }
          }, this.pollSeconds * 1000)
        : undefined;
    poll?.unref();
    return () => {
      stopped = true;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      for (const w of watchers.splice(0)) w.close();
    };
  }
}

function readError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}
