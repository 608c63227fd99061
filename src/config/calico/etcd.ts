// Calico resources from Calico's etcd v3 datastore (the `etcdv3` datastore type of calico/node), read the
// way calico/node's BGP syncer reads them (etcd-model.ts has the keys and values), with the etcd3 client.
//
// One consistent read: a single transaction of range requests over the prefixes (every kind tern reads,
// and this host's block affinities), so that everything is at one revision R. Then one watch per prefix
// from R + 1, multiplexed on one gRPC stream; each event updates the copy of the entries, and `onChange`
// is called once per burst of events (`coalesceMs`). A lost watch (the stream broke, etcd went away) or a
// cancelled one (etcd compacted past the revision the watch needed) is followed by a fresh consistent
// read and a diff against the copy, never by an empty state: until the read succeeds the last state
// stays, so the daemon keeps its sessions and routes. Reads are retried with exponential backoff (with
// jitter, `retry`), each attempt bounded by `callTimeoutMs`; `status()` says where it stands and every
// change of state is told through `say`.
//
// The etcd3 client's own watch resumption is not used: it restarts a watch from the revision in the last
// response header, which can skip events that were still on their way; a fresh read cannot.

import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { handleAll, noop, retry } from 'cockatiel';
import type { Etcd3, IKeyValue, IOptions, Watcher } from 'etcd3';
import { DEFAULT_ETCD_PREFIX, etcdEntryReader, etcdPrefixes, normalizePrefix } from './etcd-model.js';
import { CalicoError, type CalicoIssue } from './issues.js';
import { type CalicoResource, type CalicoResources, collectResources, type ReadResult } from './resources.js';
import type { CalicoSource, DatastoreStatus } from './source.js';

/** Client certificates, as calico/node's ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE give them. */
export interface EtcdTls {
  /** PEM file of the CA that signed etcd's certificate; absent: the system's roots. */
  readonly ca?: string;
  /** PEM files of the client certificate and its key (both or neither). */
  readonly cert?: string;
  readonly key?: string;
}

export interface EtcdSourceOptions {
  /** `http://127.0.0.1:2379`, `https://etcd-1:2379`, ... (ETCD_ENDPOINTS, split at commas). */
  readonly endpoints: readonly string[];
  /** This node: its block affinities are read (calico/node reads only its own). */
  readonly node: string;
  /** Key prefix; default `/calico` (Calico's). */
  readonly prefix?: string;
  readonly tls?: EtcdTls;
  /** One line for each change of state (unreachable, retrying, connected, the watch lost, re-read). */
  readonly say?: (line: string) => void;
  /** Backoff between read attempts (ms): from `initialMs`, doubling, at most `maxMs`; default 250..10000. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Bound on each read (ms); default 5000. */
  readonly callTimeoutMs?: number;
  /** Quiet time after a watch event before `onChange` (ms), so one transaction is one change; default 2. */
  readonly coalesceMs?: number;
}

interface Entry {
  readonly value: string;
  /** What the entry holds; undefined: a key outside the layout. */
  readonly read: ReadResult | undefined;
}

type State = 'idle' | 'reading' | 'watching' | 'retrying' | 'closed';

/** Calico resources from etcd: a consistent read, then a watch; see the top of this file. */
export class EtcdCalicoSource implements CalicoSource {
  readonly description: string;
  private readonly prefix: string;
  private readonly prefixes: readonly string[];
  private readonly readEntry: (key: string, value: string) => ReadResult | undefined;
  private readonly say: (line: string) => void;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly callTimeoutMs: number;
  private readonly coalesceMs: number;
  private readonly clientOptions: IOptions;
  /** The etcd3 library, loaded by the first read (it and gRPC under it cost ~25 MB of RSS at load). */
  private lib: typeof import('etcd3') | undefined;
  private client: Etcd3 | undefined;
  private entries: Map<string, Entry> | undefined;
  private built: { resources: CalicoResources } | { error: CalicoError } | undefined;
  private state: State = 'idle';
  private connected = false;
  private revision: number | null = null;
  private lastError: string | null = null;
  private since = Date.now();
  private reads = 0;
  /** Bumped at every read: events of older watchers are ignored. */
  private generation = 0;
  private watchers: Watcher[] = [];
  /** Watchers etcd cancelled itself: not to be cancelled again (etcd would never answer). */
  private readonly dead = new Set<Watcher>();
  private watchingSince = 0;
  /** Wait before reading again after a lost watch; grows while watches are lost soon after they start. */
  private lossDelay = 0;
  private readonly listeners = new Set<() => void>();
  private notifyTimer: NodeJS.Timeout | undefined;
  private retryTimer: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private first: Promise<void> | undefined;

  constructor(private readonly opts: EtcdSourceOptions) {
    if (opts.endpoints.length === 0) throw new Error('etcd: no endpoints (give --calico-etcd <endpoints>)');
    this.prefix = normalizePrefix(opts.prefix ?? DEFAULT_ETCD_PREFIX);
    this.prefixes = etcdPrefixes(this.prefix, opts.node);
    this.readEntry = etcdEntryReader(this.prefix);
    this.description = `etcd ${opts.endpoints.join(',')}`;
    this.say = opts.say ?? (() => {});
    this.initialMs = opts.retry?.initialMs ?? 250;
    this.maxMs = opts.retry?.maxMs ?? 10_000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.coalesceMs = opts.coalesceMs ?? 2;
    this.clientOptions = clientOptions(opts); // reads the TLS files now: a missing one is an error at start
  }

  /**
   * The first call reads etcd, retrying until it answers, and starts watching; later calls return the
   * state the watch keeps. Throws CalicoError when the resources are broken.
   */
  async load(): Promise<CalicoResources> {
    if (this.isClosed()) throw new Error(`${this.description}: closed`);
    this.first ??= this.sync('start');
    await this.first;
    return this.current();
  }

  /** One consistent read, no retries and no watch (`tern calico render`); throws an Error naming etcd. */
  async readOnce(): Promise<CalicoResources> {
    try {
      this.apply(await this.readAll());
    } catch (e) {
      throw new Error(`${this.description}: cannot read the Calico resources: ${errorText(e)}`);
    }
    return this.current();
  }

  current(): CalicoResources {
    if (!this.entries) throw new Error(`${this.description}: not read yet`);
    this.built ??= build(this.entries);
    if ('error' in this.built) throw this.built.error;
    return this.built.resources;
  }

  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  status(): DatastoreStatus {
    return {
      datastore: 'etcdv3',
      endpoints: [...this.opts.endpoints],
      prefix: this.prefix,
      state: this.state,
      connected: this.connected,
      revision: this.revision,
      lastError: this.lastError,
      since: new Date(this.since).toISOString(),
      reads: this.reads,
    };
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.generation++;
    clearTimeout(this.notifyTimer);
    if (this.retryTimer) {
      clearTimeout(this.retryTimer.timer);
      this.retryTimer.wake();
    }
    this.listeners.clear();
    this.dropWatchers();
    this.client?.close();
    this.client = undefined;
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Called between a read and its watch; a test holds it to let a compaction overtake the watch. */
  protected async beforeWatch(): Promise<void> {}

  // ---- the loop: read (retrying), watch, and on any loss read again ----

  private async sync(why: 'start' | 'lost'): Promise<void> {
    let delay = this.initialMs;
    for (;;) {
      if (this.isClosed()) throw new Error(`${this.description}: closed`);
      this.state = 'reading';
      let read: { revision: number; kvs: IKeyValue[] };
      try {
        read = await this.readAll();
      } catch (e) {
        if (this.isClosed()) throw new Error(`${this.description}: closed`);
        const error = errorText(e);
        const wait = Math.round(delay * (0.8 + 0.4 * Math.random()));
        this.setConnected(false, error);
        this.state = 'retrying';
        this.say(
          `${this.description}: cannot read the Calico resources (${error}); ${
            this.entries
              ? `running on the last state read (revision ${this.revision ?? '?'}), `
              : 'waiting for etcd, '
          }retrying in ${(wait / 1000).toFixed(1)} s`,
        );
        await this.sleep(wait);
        delay = Math.min(delay * 2, this.maxMs);
        continue;
      }
      if (this.isClosed()) throw new Error(`${this.description}: closed`);
      const had = this.entries;
      const diff = this.apply(read);
      this.setConnected(true, null);
      this.say(
        `${this.description}: read ${read.kvs.length} keys at revision ${read.revision}${
          had && why === 'lost'
            ? ` (since the last state: ${diff.added} added, ${diff.changed} changed, ${diff.removed} removed)`
            : ''
        }; watching from ${read.revision + 1}`,
      );
      const generation = ++this.generation;
      await this.beforeWatch();
      if (generation !== this.generation) return;
      this.startWatchers(read.revision + 1, generation);
      this.state = 'watching';
      this.watchingSince = Date.now();
      // a re-read that found changes: the feed renders again, and reloads if the config differs
      if (had && diff.added + diff.changed + diff.removed > 0) this.changed();
      return;
    }
  }

  private async readAll(): Promise<{ revision: number; kvs: IKeyValue[] }> {
    this.lib ??= await import('etcd3');
    const { Range } = this.lib;
    const client = this.connect();
    const res = await client.kv.txn(
      {
        success: this.prefixes.map((p) => {
          const r = Range.prefix(p);
          return { request_range: { key: r.start, range_end: r.end } };
        }),
      },
      { deadline: Date.now() + this.callTimeoutMs },
    );
    this.reads++;
    return {
      revision: Number(res.header.revision),
      kvs: res.responses.flatMap((r) => r.response_range?.kvs ?? []),
    };
  }

  /** Replaces the copy with a read; counts what changed. */
  private apply(read: { revision: number; kvs: IKeyValue[] }): {
    added: number;
    changed: number;
    removed: number;
  } {
    const old = this.entries;
    const next = new Map<string, Entry>();
    let added = 0;
    let changed = 0;
    for (const kv of read.kvs) {
      const key = kv.key.toString();
      const value = kv.value.toString();
      const before = old?.get(key);
      if (before && before.value === value) next.set(key, before);
      else {
        if (before) changed++;
        else added++;
        next.set(key, { value, read: this.readEntry(key, value) });
      }
    }
    let removed = 0;
    for (const key of old?.keys() ?? []) if (!next.has(key)) removed++;
    this.entries = next;
    this.built = undefined;
    this.revision = read.revision;
    return { added, changed, removed };
  }

  private startWatchers(from: number, generation: number): void {
    const client = this.connect();
    const lost = (why: string): void => {
      if (generation !== this.generation || this.isClosed()) return;
      this.generation++;
      this.setConnected(false, why);
      this.dropWatchers();
      // and the client with them: the next read and watch use a new one. etcd3's watch manager throws
      // (an unhandled rejection, which would end the process) on a response for a watcher it has
      // already let go, as etcd can still send after a compaction cancelled the watch
      const old = this.client;
      this.client = undefined;
      old?.close();
      // a watch lost soon after it started (etcd refuses it, or keeps compacting past it): back off
      const soon = Date.now() - this.watchingSince < 5000;
      this.lossDelay = soon ? Math.min(Math.max(this.lossDelay * 2, this.initialMs), this.maxMs) : 0;
      this.state = 'retrying';
      this.say(
        `${this.description}: ${why}; running on the last state read (revision ${this.revision ?? '?'}), reading again${
          this.lossDelay > 0 ? ` in ${(this.lossDelay / 1000).toFixed(1)} s` : ''
        }`,
      );
      void this.sleep(this.lossDelay).then(() => {
        if (!this.isClosed()) this.sync('lost').catch(() => {});
      });
    };
    for (const prefix of this.prefixes) {
      // watcher() attaches the listeners before any response can arrive (create() would resolve a tick
      // late, after events of the same read had been emitted)
      const w = client.watch().prefix(prefix).startRevision(String(from)).watcher();
      w.on('put', (kv) => {
        if (generation !== this.generation) return;
        this.update(kv, kv.value.toString());
      });
      w.on('delete', (kv) => {
        if (generation !== this.generation) return;
        this.update(kv, undefined);
      });
      w.on('data', (res) => {
        if (generation !== this.generation || res.events.length > 0) return;
        const r = Number(res.header.revision); // a progress notification: this watch is synced up to r
        if (this.revision === null || r > this.revision) this.revision = r;
      });
      w.on('disconnected', (e) => lost(`the watch was lost (${errorText(e)})`));
      w.on('error', (e) => {
        this.dead.add(w);
        lost(
          `etcd cancelled the watch (${errorText(e)}; a compaction past revision ${this.revision ?? '?'} does this)`,
        );
      });
      this.watchers.push(w);
    }
  }

  private update(kv: IKeyValue, value: string | undefined): void {
    if (!this.entries) return;
    // every event advances the revision, also one that changes nothing (a value written again): the
    // state tern runs on is then that of this revision too
    const r = Number(kv.mod_revision);
    if (this.revision === null || r > this.revision) this.revision = r;
    const key = kv.key.toString();
    if (value === undefined) this.entries.delete(key);
    else if (this.entries.get(key)?.value !== value) {
      this.entries.set(key, { value, read: this.readEntry(key, value) });
    } else return;
    this.built = undefined;
    this.changed();
  }

  /** `onChange` once per burst. */
  private changed(): void {
    clearTimeout(this.notifyTimer);
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      for (const l of [...this.listeners]) l();
    }, this.coalesceMs);
  }

  /** Cancels the watchers without waiting for etcd to confirm (it may be gone). */
  private dropWatchers(): void {
    for (const w of this.watchers.splice(0)) if (!this.dead.has(w)) void w.cancel().catch(() => {});
    this.dead.clear();
  }

  private setConnected(connected: boolean, error: string | null): void {
    if (connected !== this.connected) this.since = Date.now();
    this.connected = connected;
    if (error !== null) this.lastError = error;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.retryTimer = undefined;
        resolve();
      }, ms);
      this.retryTimer = { timer, wake: resolve };
    });
  }

  /** The client; only after readAll has loaded the library (the watchers start after a read). */
  private connect(): Etcd3 {
    if (this.isClosed()) throw new Error(`${this.description}: closed`);
    if (!this.lib) throw new Error(`${this.description}: not read yet`);
    this.client ??= new this.lib.Etcd3(this.clientOptions);
    return this.client;
  }
}

/** The etcd3 client's options: tern does its own retries, so the client's policies only pass calls on. */
function clientOptions(opts: EtcdSourceOptions): IOptions {
  const tls = opts.tls;
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`etcd: cannot read the ${what} ${file}: ${errorText(e)}`);
    }
  };
  if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
    throw new Error(
      'etcd: a client certificate needs its key, and a key its certificate (--etcd-cert, --etcd-key)',
    );
  }
  const credentials =
    tls && (tls.ca !== undefined || tls.cert !== undefined)
      ? {
          rootCertificate:
            tls.ca !== undefined ? read('CA certificate', tls.ca) : Buffer.from(rootCertificates.join('\n')),
          ...(tls.key !== undefined ? { privateKey: read('client key', tls.key) } : {}),
          ...(tls.cert !== undefined ? { certChain: read('client certificate', tls.cert) } : {}),
        }
      : undefined;
  return {
    hosts: [...opts.endpoints],
    ...(credentials ? { credentials } : {}),
    faultHandling: {
      // each endpoint tried once per read (the next one after a failure); the backoff is tern's
      global: opts.endpoints.length > 1 ? retry(handleAll, { maxAttempts: opts.endpoints.length - 1 }) : noop,
      host: () => noop,
    },
    grpcOptions: {
      // Calico's nodes lists can be large (thousands of nodes); gRPC's default is 4 MiB
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      // a new connection attempt as soon as tern asks, not after grpc's own backoff of up to 2 minutes
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.use_local_subchannel_pool': 1,
      // a half-open connection (etcd's host gone without a FIN) is noticed within ~15 s
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5000,
    },
  };
}

/** Builds the resources from the entries; every problem at once. */
function build(entries: ReadonlyMap<string, Entry>): { resources: CalicoResources } | { error: CalicoError } {
  const resources: CalicoResource[] = [];
  const errors: CalicoIssue[] = [];
  const warnings: CalicoIssue[] = [];
  for (const key of [...entries.keys()].sort()) {
    const r = entries.get(key)?.read;
    if (!r) continue;
    resources.push(...r.resources);
    errors.push(...r.errors);
    warnings.push(...r.warnings);
  }
  const c = collectResources(resources, warnings);
  errors.push(...c.errors);
  return errors.length > 0 ? { error: new CalicoError(errors) } : { resources: c.resources };
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\.?\s*Resolution note:\s*$/, ''); // grpc-js ends some messages with an empty note
}
