// What a control server needs to know about the file system before it listens: the group that will own
// the socket, its directory, and what (if anything) is already at the socket path; SocketFile, which
// puts a listening socket at its path safely and takes it away again; and ControlListener, the server
// with its clients around it (the JSON control socket and the BIRD-compatible ones share both).
//
// Safe to start next to another daemon: an existing socket that accepts connections is left alone (the
// start fails), one that refuses them (its daemon died) is removed, and anything that is not a socket is
// never touched. The socket is bound in a private directory beside its path, given mode 0660 and its
// group there, then linked into place: nobody can connect before the mode is right, link() fails if
// something appeared at the path meanwhile, and closing the server never unlinks the path by name.
// release() removes the path only if it is still the socket this SocketFile made.

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  type Stats,
  unlinkSync,
} from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import { ControlClientError, controlCall } from './client.js';

/** A control socket that cannot be set up; the message says why and names the path. */
export class ControlSocketError extends Error {
  override readonly name = 'ControlSocketError';
}

/** Mode of a directory tern creates for the socket: the owner writes, the group reaches the socket. */
export const DIRECTORY_MODE = 0o750;
/** Mode of the socket: owner and group may connect. */
export const SOCKET_MODE = 0o660;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

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

/** The refusal for an occupant that tern must leave in place; `field` is the config field of the path. */
export function refusal(path: string, o: Occupant, field = 'control.socket'): ControlSocketError {
  switch (o.kind) {
    case 'live':
      return new ControlSocketError(
        o.pid !== undefined
          ? `another tern (pid ${o.pid}) is running on ${path}: stop it, or give this one another ${field}`
          : `another process is listening on ${path}: stop it, or give this tern another ${field}`,
      );
    case 'other':
      return new ControlSocketError(
        `${path} is ${o.what}, not a socket: tern does not remove it; move it away or choose another ${field}`,
      );
    case 'unknown':
      return new ControlSocketError(`cannot tell whether ${path} is in use, so not touching it: ${o.why}`);
    default:
      return new ControlSocketError(`${path} appeared while tern was starting; try again`);
  }
}

export interface SocketFileOptions {
  /** The group owning the socket (a name or a gid); default: the process's group. */
  readonly group?: string | number;
  /** The config field that names the path, for messages (default `control.socket`). */
  readonly field?: string;
}

/** A listening Unix socket at `path`, put there and taken away safely (see the top of this file). */
export class SocketFile {
  /** dev/ino of the socket put at `path`, so that release() removes nothing else. */
  private mine: { readonly dev: number; readonly ino: number } | undefined;
  private readonly field: string;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly opts: SocketFileOptions = {},
  ) {
    this.field = opts.field ?? 'control.socket';
  }

  /**
   * Makes `server` (not yet listening) listen on `path`; throws a ControlSocketError (naming the path)
   * when it must not or cannot, and then leaves the server not listening.
   */
  async bind(server: Server): Promise<void> {
    const gid = this.opts.group === undefined ? undefined : resolveGroup(this.opts.group);
    makeDirectory(dirname(this.path), gid);
    await this.clear();
    const staging = this.stagingDir();
    try {
      if (staging !== undefined) {
        const staged = join(staging, 's');
        await listen(server, staged);
        this.prepare(staged, gid);
        try {
          linkSync(staged, this.path);
        } catch (e) {
          throw (e as NodeJS.ErrnoException).code === 'EEXIST'
            ? refusal(this.path, await inspect(this.path), this.field)
            : new ControlSocketError(`cannot create ${this.path}: ${(e as Error).message}`);
        }
      } else {
        // No room for a private directory beside the path (sun_path is 107 bytes): bind in place and set
        // the mode right after, a moment in which the umask decides. libuv unlinks this path by name
        // when the server closes; release() has already removed it if it was ours.
        await listen(server, this.path).catch(async (e: NodeJS.ErrnoException) => {
          throw e.code === 'EADDRINUSE' ? refusal(this.path, await inspect(this.path), this.field) : e;
        });
        this.prepare(this.path, gid);
      }
      const st = lstatSync(this.path);
      this.mine = { dev: st.dev, ino: st.ino };
    } catch (e) {
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      throw e;
    } finally {
      if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
    }
  }

  /** Removes the path if it is still the socket bind() made (call before closing the server). */
  release(): void {
    const mine = this.mine;
    this.mine = undefined;
    if (mine === undefined) return;
    try {
      const st = lstatSync(this.path);
      if (st.dev === mine.dev && st.ino === mine.ino) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  /** Makes `path` free: nothing there, or a stale socket removed; otherwise throws why not. */
  private async clear(): Promise<void> {
    const o: Occupant = await inspect(this.path);
    if (o.kind === 'nothing') return;
    if (o.kind !== 'stale') throw refusal(this.path, o, this.field);
    try {
      // the same stale socket still (not one a tern started meanwhile)
      const now = lstatSync(this.path);
      if (now.dev === o.stats.dev && now.ino === o.stats.ino) unlinkSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ControlSocketError(`cannot remove the stale socket ${this.path}: ${(e as Error).message}`);
      }
    }
    this.log.info({ socket: this.path }, 'removed a stale control socket (no daemon listening)');
  }

  /** A private directory beside `path` to bind in, or undefined if its socket path would be too long. */
  private stagingDir(): string | undefined {
    const prefix = join(dirname(this.path), '.tern-');
    if (Buffer.byteLength(`${prefix}XXXXXX/s`) > MAX_SOCKET_PATH) return undefined;
    try {
      return mkdtempSync(prefix); // mode 0700: nobody else can reach the socket inside
    } catch (e) {
      throw new ControlSocketError(`cannot create a directory beside ${this.path}: ${(e as Error).message}`);
    }
  }

  private prepare(socketPath: string, gid: number | undefined): void {
    try {
      chmodSync(socketPath, SOCKET_MODE);
    } catch (e) {
      throw new ControlSocketError(`cannot set the mode of ${this.path}: ${(e as Error).message}`);
    }
    if (gid === undefined) return;
    try {
      chownSync(socketPath, -1, gid);
    } catch (e) {
      throw new ControlSocketError(
        `cannot give ${this.path} to control.group ${String(this.opts.group)} (gid ${gid}): ${(e as Error).message}`,
      );
    }
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export interface ControlListenerOptions extends SocketFileOptions {
  /** Clients at once; more are closed as they connect. */
  readonly maxClients: number;
  /** A client that sends and reads nothing for this long is closed (ms). */
  readonly idleTimeoutMs: number;
  /** Names the socket in log lines: "<label> socket listening", "<label> client error"... */
  readonly label: string;
  /** A client's end of input leaves our side open (the subclass ends it once it has answered). */
  readonly allowHalfOpen?: boolean;
}

/**
 * A Unix socket server at a SocketFile: its clients counted, bounded, timed out and closed on stop.
 * A subclass speaks the protocol to each client (`onClient`).
 */
export abstract class ControlListener {
  private server: Server | undefined;
  private readonly file: SocketFile;
  private readonly clients = new Set<Socket>();

  constructor(
    readonly path: string,
    protected readonly log: Logger,
    private readonly listenerOpts: ControlListenerOptions,
  ) {
    this.file = new SocketFile(path, log, listenerOpts);
  }

  /** Takes each new client (already counted, with its error handler and idle timeout). */
  protected abstract onClient(socket: Socket): void;

  /** Clients connected now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Listens on `path`; throws a ControlSocketError (naming the path) when it must not or cannot. */
  async start(): Promise<void> {
    const { label, maxClients } = this.listenerOpts;
    const server = createServer({ allowHalfOpen: this.listenerOpts.allowHalfOpen ?? false }, (socket) =>
      this.serve(socket),
    );
    server.maxConnections = maxClients;
    await this.file.bind(server);
    server.on('error', (err) => this.log.error({ err: err.message }, `${label} socket error`));
    server.on('drop', () => this.log.warn({ max: maxClients }, `${label} client refused: too many`));
    this.server = server;
    this.log.info({ socket: this.path }, `${label} socket listening`);
  }

  /** Closes every client and the socket; removes the path only if it is still this listener's socket. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.file.release();
    if (!server) return;
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    // an error ends this client only
    socket.on('error', (err) =>
      this.log.debug({ err: err.message }, `${this.listenerOpts.label} client error`),
    );
    socket.setTimeout(this.listenerOpts.idleTimeoutMs, () => socket.destroy());
    this.onClient(socket);
  }
}
