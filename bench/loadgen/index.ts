// The load generator, parent side: starts child.ts as its own Node process (optionally pinned to CPUs
// with `taskset -c`, so that it and the daemon under test run on different cores), hands it the options,
// and follows its progress over IPC. See protocol.ts for the messages and plan.ts for who the clients are.
//
//   const gen = await LoadGenerator.start(options, { cpus: '1' });
//   gen.connect();
//   await gen.waitUntil('all Established', (s) => s.established === s.clients, 30_000);
//   const { summary, clients } = await gen.stats(true);
//   await gen.stop();

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../test/helpers/root.js';
import type {
  ChildMessage,
  ChurnAction,
  ClientStats,
  LoadOptions,
  ParentMessage,
  Summary,
} from './protocol.js';

export { Plan, type PlanOptions } from './plan.js';
export * from './protocol.js';
export type { NextHopRule, TallyCounts } from './tally.js';

export interface SpawnOptions {
  /** `taskset -c` CPU list for the generator ("1", "2-3"); ignored when taskset is missing. */
  readonly cpus?: string;
  /** Extra node arguments (--cpu-prof, ...). */
  readonly nodeArgs?: readonly string[];
}

/** True when `taskset` can pin a process here. */
export function canPin(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

/** The node command line for a module of this project: compiled .js runs as is, .ts through tsx. */
export function nodeCommand(moduleUrl: URL, nodeArgs: readonly string[] = [], cpus?: string): string[] {
  const viaTsx = moduleUrl.pathname.endsWith('.ts');
  const node = [
    process.execPath,
    // what running the file as a command adds (the `tern` bin's V8 options)
    ...shebangNodeArgs(fileURLToPath(moduleUrl)),
    ...nodeArgs,
    ...(viaTsx ? ['--import', 'tsx'] : []),
    fileURLToPath(moduleUrl),
  ];
  return cpus !== undefined && canPin() ? ['taskset', '-c', cpus, ...node] : node;
}

/** The node options of a script's `#!/usr/bin/env -S node ...` line (none for a plain `node` line). */
export function shebangNodeArgs(file: string): string[] {
  let first: string;
  try {
    first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  } catch {
    return [];
  }
  const m = /^#!\/usr\/bin\/env -S node((?:\s+\S+)*)\s*$/.exec(first);
  return m === null
    ? []
    : m[1]!
        .trim()
        .split(/\s+/)
        .filter((a) => a !== '');
}

interface Waiter {
  readonly test: (s: Summary) => boolean;
  readonly resolve: (s: Summary) => void;
}

type Reply = {
  readonly summary: Summary;
  readonly clients?: readonly ClientStats[];
  readonly at?: number;
};

export class LoadGenerator {
  private latestSummary: Summary | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private readonly waiters = new Set<Waiter>();
  private exited: Error | undefined;
  private readonly exitPromise: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: Extract<ChildMessage, { type: 'ready' }>,
  ) {
    child.on('message', (m: ChildMessage) => this.onMessage(m));
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = new Error(`load generator exited (${signal ?? code})`);
        for (const p of this.pending.values()) p.reject(this.exited);
        this.pending.clear();
        resolve();
      });
    });
  }

  /** Starts the child and waits until every client's messages are encoded. */
  static async start(options: LoadOptions, spawnOptions: SpawnOptions = {}): Promise<LoadGenerator> {
    const [cmd, ...args] = nodeCommand(
      new URL(import.meta.url.endsWith('.ts') ? './child.ts' : './child.js', import.meta.url),
      spawnOptions.nodeArgs,
      spawnOptions.cpus,
    );
    const child = spawn(cmd!, args, {
      cwd: projectRoot(import.meta.url),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<Extract<ChildMessage, { type: 'ready' }>>((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`load generator exited (${code}) before ready`));
      child.once('exit', onExit);
      child.once('error', reject);
      child.on('message', function first(m: ChildMessage) {
        if (m.type === 'ready') {
          child.off('message', first);
          child.off('exit', onExit);
          resolve(m);
        } else if (m.type === 'error') reject(new Error(`load generator: ${m.message}`));
      });
      child.send({ type: 'start', options } satisfies ParentMessage);
    }).catch((e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    });
    return new LoadGenerator(child, ready);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last progress summary (undefined before `connect`). */
  get latest(): Summary | undefined {
    return this.latestSummary;
  }

  private post(msg: ParentMessage): void {
    if (this.exited) throw this.exited;
    this.child.send(msg);
  }

  private onMessage(m: ChildMessage): void {
    switch (m.type) {
      case 'progress':
        this.latestSummary = m.summary;
        for (const w of this.waiters) {
          if (w.test(m.summary)) {
            this.waiters.delete(w);
            w.resolve(m.summary);
          }
        }
        return;
      case 'reply': {
        this.latestSummary = m.summary;
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve({
          summary: m.summary,
          ...(m.clients !== undefined ? { clients: m.clients } : {}),
          ...(m.at !== undefined ? { at: m.at } : {}),
        });
        return;
      }
      case 'error':
        process.stderr.write(`load generator: ${m.message}\n`);
        return;
      case 'ready':
        return;
    }
  }

  connect(): void {
    this.post({ type: 'connect' });
  }

  /** Clients started with announce: 'go' send their UPDATEs. */
  go(): void {
    this.post({ type: 'go' });
  }

  stats(detail = false): Promise<Reply> {
    return this.request((id) => ({ type: 'stats', id, detail }));
  }

  /** Client `client` withdraws, announces again or restarts (ChurnAction); resolves with when it did. */
  async churn(client: number, action: ChurnAction): Promise<number> {
    const r = await this.request((id) => ({ type: 'churn', id, client, action }));
    if (r.at === undefined)
      throw new Error(`churn ${action.kind}: client ${client} does not exist or is not Established`);
    return r.at;
  }

  private request(msg: (id: number) => ParentMessage): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.post(msg(id));
      } catch (e) {
        this.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  /**
   * Resolves with the first progress summary that passes `test`; on timeout resolves with the latest
   * one anyway and `timedOut` set, so the caller can say what was missing.
   */
  waitUntil(
    test: (s: Summary) => boolean,
    timeoutMs: number,
  ): Promise<{ summary: Summary | undefined; timedOut: boolean }> {
    if (this.latestSummary !== undefined && test(this.latestSummary))
      return Promise.resolve({ summary: this.latestSummary, timedOut: false });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve({ summary: this.latestSummary, timedOut: true });
      }, timeoutMs);
      const w: Waiter = {
        test,
        resolve: (s) => {
          clearTimeout(timer);
          resolve({ summary: s, timedOut: false });
        },
      };
      this.waiters.add(w);
      void this.exitPromise.then(() => {
        if (!this.waiters.delete(w)) return;
        clearTimeout(timer);
        resolve({ summary: this.latestSummary, timedOut: true });
      });
    });
  }

  /** Cease 6/2 on every session and the child exits; killed if it has not within `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<Summary | undefined> {
    if (this.exited) return this.latestSummary;
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.post({ type: 'stop', id });
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      const r = await reply;
      await this.exitPromise;
      return r.summary;
    } catch {
      return this.latestSummary;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL, by PID. */
  kill(): void {
    if (this.exited === undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
