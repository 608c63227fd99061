// `tern stop [--withdraw]`: asks the running daemon to stop over its control socket, then waits until
// it is gone. By default a graceful restart (no NOTIFICATION: peers keep tern's routes as stale for
// the restart time, the kernel keeps its routes); `--withdraw` a real shutdown (Cease 6/2 to every
// peer, tern's kernel routes removed). docs/cli.md#stopping-tern.

import { connect } from 'node:net';
import { controlRequest } from './show.js';

export interface StopOptions {
  readonly socket: string;
  readonly withdraw: boolean;
  readonly json: boolean;
  /** Seconds to wait for the daemon to be gone; 0: do not wait. */
  readonly wait: number;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

type Answer = Readonly<Record<string, unknown>>;

const names = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** The sentence for people: what the daemon said it is about to do. */
export function stopText(a: Answer): string {
  const who = `tern (pid ${String(a.pid)})`;
  const established = typeof a.established === 'number' ? a.established : 0;
  if (typeof a.state === 'string') return `${who} was ${a.state}: it stops before any session came up`;
  if (a.mode === 'withdraw') {
    const kernel = a.kernelRoutesRemoved === true ? '; its kernel routes are removed' : '';
    return `${who} is shutting down: Cease / Administrative Shutdown to ${established} established peer(s)${kernel}`;
  }
  const keep = names(a.peersKeepingRoutes);
  const drop = names(a.peersDroppingRoutes);
  const parts = [`${who} is stopping for a graceful restart`];
  if (keep.length > 0)
    parts.push(
      `${keep.length} peer(s) keep its routes as stale for up to ${String(a.restartTime)} s, closed without a NOTIFICATION (${keep.join(', ')})`,
    );
  if (drop.length > 0)
    parts.push(
      `${drop.length} without graceful restart get Cease / Administrative Reset and drop them (${drop.join(', ')})`,
    );
  parts.push('kernel routes stay; start it again with `tern run --graceful`');
  return parts.join('; ');
}

/** True while something answers on the socket. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** True while the process exists (a process we may not signal counts as existing). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until the socket no longer answers and the process is gone; false after `seconds`. */
async function gone(path: string, pid: number | undefined, seconds: number): Promise<boolean> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const up = (await answers(path)) || (pid !== undefined && alive(pid));
    if (!up) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `tern stop`; resolves with the exit status (0 stopped, 1 an error or still running). */
export async function runStop(o: StopOptions): Promise<number> {
  let answer: Answer;
  try {
    const r = await controlRequest(o.socket, 'stop', o.withdraw ? { withdraw: true } : {});
    answer = typeof r === 'object' && r !== null ? (r as Answer) : {};
  } catch (e) {
    o.err(`tern stop: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  o.out(o.json ? JSON.stringify(answer, null, 2) : stopText(answer));
  if (o.wait <= 0) return 0;
  const pid = typeof answer.pid === 'number' && answer.pid !== process.pid ? answer.pid : undefined;
  if (await gone(o.socket, pid, o.wait)) {
    if (!o.json) o.out('stopped');
    return 0;
  }
  o.err(
    `tern stop: the daemon${pid !== undefined ? ` (pid ${pid})` : ''} is still running after ${o.wait} s`,
  );
  return 1;
}
