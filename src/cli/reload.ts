// `tern reload`: asks the running daemon to read its configuration again and apply it, as SIGHUP does,
// and says what happened (like `birdc configure`): the peers added, removed, reset and left alone, or
// why the new configuration was refused (the running one stays). docs/cli.md#reloading.

import { controlRequest } from './show.js';

export interface ReloadOptions {
  readonly socket: string;
  readonly json: boolean;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** A reload waits behind one under way, and a datastore read may be slow: wait longer than a `show`. */
const RELOAD_TIMEOUT_MS = 60_000;

const count = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** `reloaded: 1 peer(s) added, 0 removed, 1 reset with new settings, 3 unchanged` */
export function reloadText(a: Readonly<Record<string, unknown>>): string {
  return (
    `reloaded: ${count(a.added)} peer(s) added, ${count(a.removed)} removed, ` +
    `${count(a.changed)} reset with new settings, ${count(a.unchanged)} unchanged`
  );
}

/** Runs `tern reload`; resolves with the exit status (0 applied, 1 refused or no daemon). */
export async function runReload(o: ReloadOptions): Promise<number> {
  let answer: unknown;
  try {
    answer = await controlRequest(o.socket, 'reload', {}, RELOAD_TIMEOUT_MS);
  } catch (e) {
    o.err(`tern reload: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const a = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : {};
  o.out(o.json ? JSON.stringify(a, null, 2) : reloadText(a));
  return 0;
}
