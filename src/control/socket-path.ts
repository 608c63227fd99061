// What the control server needs to know about the file system before it listens: the group that will own
// the socket, its directory, and what (if anything) is already at the socket path.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ControlClientError, controlCall } from './client.js';

/** A control socket that cannot be set up; the message says why and names the path. */
export class ControlSocketError extends Error {
  override readonly name = 'ControlSocketError';
}

/** Mode of a directory tern creates for the socket: the owner writes, the group reaches the socket. */
export const DIRECTORY_MODE = 0o750;

/** The gid of `group` (a gid is taken as is); throws a ControlSocketError when there is no such group. */
export function resolveGroup(group: string | number): number {
  if (typeof group === 'number') return group;
  const line = groupEntry(group);
  const gid = line === undefined ? Number.NaN : Number(line.split(':')[2]);
  if (!Number.isInteger(gid) || gid < 0) {
    throw new ControlSocketError(`control.group: there is no group named "${group}" on this system`);
  }
  return gid;
}

/** `name:x:gid:members` for a group name: getent (NSS, so LDAP groups too), else /etc/group. */
function groupEntry(name: string): string | undefined {
  try {
    return execFileSync('getent', ['group', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).split('\n')[0];
  } catch (e) {
    // exit status 2: no such group; anything else (no getent): read the file
    if ((e as { status?: unknown }).status === 2) return undefined;
  }
  try {
    return readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[0] === name);
  } catch {
    return undefined;
  }
}

/**
 * Creates the socket's directory (and missing parents) with mode 0750 whatever the umask, owned by
 * `gid` when given so that the group can reach the socket. An existing directory is left alone.
 */
export function makeDirectory(dir: string, gid: number | undefined): void {
  const target = resolve(dir);
  let first: string | undefined;
  try {
    first = mkdirSync(target, { recursive: true, mode: DIRECTORY_MODE });
  } catch (e) {
    throw new ControlSocketError(`cannot create the directory ${target}: ${(e as Error).message}`);
  }
  if (first === undefined) return;
  for (let d = target; ; d = dirname(d)) {
    try {
      chmodSync(d, DIRECTORY_MODE);
      if (gid !== undefined) chownSync(d, -1, gid);
    } catch (e) {
      throw new ControlSocketError(`cannot set up the directory ${d}: ${(e as Error).message}`);
    }
    if (d === resolve(first) || d === dirname(d)) break;
  }
}

/** What is at the socket path. */
export type Occupant =
  | { readonly kind: 'nothing' }
  /** A socket nobody listens on (its daemon died): safe to remove. */
  | { readonly kind: 'stale'; readonly stats: Stats }
  /** A socket that accepts connections; `pid` when it answered `show status` as tern does. */
  | { readonly kind: 'live'; readonly pid?: number }
  /** Not a socket: a file, a directory... never removed. */
  | { readonly kind: 'other'; readonly what: string }
  /** A socket tern cannot tell about (connect failed otherwise than refused). */
  | { readonly kind: 'unknown'; readonly why: string };

export function describeNode(st: Stats): string {
  if (st.isFile()) return `a regular file (${st.size} bytes)`;
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'something that is not a socket';
}

/** Looks at `path` without following a symbolic link; a socket is probed with one `show status`. */
export async function inspect(path: string, probeMs = 1000): Promise<Occupant> {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'nothing' };
    return { kind: 'unknown', why: (e as Error).message };
  }
  if (!st.isSocket()) return { kind: 'other', what: describeNode(st) };
  try {
    const status = await controlCall(path, 'show status', {}, probeMs);
    const pid = (status as { pid?: unknown } | null)?.pid;
    return typeof pid === 'number' ? { kind: 'live', pid } : { kind: 'live' };
  } catch (e) {
    if (!(e instanceof ControlClientError) || e.connected) return { kind: 'live' };
    if (e.code === 'ECONNREFUSED') return { kind: 'stale', stats: st };
    if (e.code === 'ENOENT') return { kind: 'nothing' };
    // no code: the connect timed out; someone holds it, busy
    return e.code === undefined ? { kind: 'live' } : { kind: 'unknown', why: e.message };
  }
}

/** The refusal for an occupant that tern must leave in place. */
export function refusal(path: string, o: Occupant): ControlSocketError {
  switch (o.kind) {
    case 'live':
      return new ControlSocketError(
        o.pid !== undefined
          ? `another tern (pid ${o.pid}) is running on ${path}: stop it, or give this one another control.socket`
          : `another process is listening on ${path}: stop it, or give this tern another control.socket`,
      );
    case 'other':
      return new ControlSocketError(
        `${path} is ${o.what}, not a socket: tern does not remove it; move it away or choose another control.socket`,
      );
    case 'unknown':
      return new ControlSocketError(`cannot tell whether ${path} is in use, so not touching it: ${o.why}`);
    default:
      return new ControlSocketError(`${path} appeared while tern was starting; try again`);
  }
}
