// The control socket: a Unix socket speaking JSON lines. A client writes one request per line,
// {"command": "show protocols", "args": {...}}, and gets one reply line, {"ok": true, "result": ...} or
// {"ok": false, "error": "..."}. `tern show` is its client.
//
// Safe to start next to another tern: an existing socket that accepts connections is left alone (the
// start fails), one that refuses them (its daemon died) is removed, and anything that is not a socket is
// never touched. The socket is bound in a private directory beside its path, given mode 0660 and its
// group there, then linked into place: nobody can connect before the mode is right, link() fails if
// something appeared at the path meanwhile, and closing the server never unlinks the path by name.
// stop() removes the path only if it is still the socket this server made.

import { chmodSync, chownSync, linkSync, lstatSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import {
  ControlSocketError,
  inspect,
  makeDirectory,
  type Occupant,
  refusal,
  resolveGroup,
} from './socket-path.js';

export { ControlSocketError } from './socket-path.js';

export interface ControlRequest {
  readonly command: string;
  readonly args?: Readonly<Record<string, unknown>>;
}

export type ControlHandler = (req: ControlRequest) => unknown;

export interface ControlServerOptions {
  /** The group owning the socket (a name or a gid); default: the process's group. */
  readonly group?: string | number;
  /** A client that sends nothing and reads nothing for this long is closed (ms). */
  readonly idleTimeoutMs?: number;
  /** Clients at once; more are closed as they connect. */
  readonly maxClients?: number;
}

/** Mode of the socket: owner and group may connect. */
export const SOCKET_MODE = 0o660;
/** Requests longer than this are refused (a client that never sends a newline cannot grow us). */
const MAX_REQUEST = 64 * 1024;
/** Replies waiting for a client that does not read: past this, its requests are no longer read. */
const MAX_PENDING_OUTPUT = 1024 * 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_CLIENTS = 64;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export class ControlServer {
  private server: Server | undefined;
  /** dev/ino of the socket this server put at `path`, so that stop() removes nothing else. */
  private mine: { readonly dev: number; readonly ino: number } | undefined;
  private readonly clients = new Set<Socket>();
  private readonly idleTimeoutMs: number;
  private readonly maxClients: number;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly log: Logger,
    private readonly opts: ControlServerOptions = {},
  ) {
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxClients = opts.maxClients ?? DEFAULT_MAX_CLIENTS;
  }

  /** Clients connected now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Listens on `path`; throws a ControlSocketError (naming the path) when it must not or cannot. */
  async start(): Promise<void> {
    const gid = this.opts.group === undefined ? undefined : resolveGroup(this.opts.group);
    makeDirectory(dirname(this.path), gid);
    await this.clear();
    const server = createServer((socket) => this.serve(socket));
    server.maxConnections = this.maxClients;
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
            ? refusal(this.path, await inspect(this.path))
            : new ControlSocketError(`cannot create ${this.path}: ${(e as Error).message}`);
        }
      } else {
        // No room for a private directory beside the path (sun_path is 107 bytes): bind in place and set
        // the mode right after, a moment in which the umask decides. libuv unlinks this path by name
        // when the server closes; stop() has already removed it if it was ours.
        await listen(server, this.path).catch(async (e: NodeJS.ErrnoException) => {
          throw e.code === 'EADDRINUSE' ? refusal(this.path, await inspect(this.path)) : e;
        });
        this.prepare(this.path, gid);
      }
      const st = lstatSync(this.path);
      this.mine = { dev: st.dev, ino: st.ino };
    } catch (e) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw e;
    } finally {
      if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
    }
    server.on('error', (err) => this.log.error({ err: err.message }, 'control socket error'));
    server.on('drop', () => this.log.warn({ max: this.maxClients }, 'control client refused: too many'));
    this.server = server;
    this.log.info({ socket: this.path }, 'control socket listening');
  }

  /** Makes `path` free: nothing there, or a stale socket removed; otherwise throws why not. */
  private async clear(): Promise<void> {
    const o: Occupant = await inspect(this.path);
    if (o.kind === 'nothing') return;
    if (o.kind !== 'stale') throw refusal(this.path, o);
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

  private serve(socket: Socket): void {
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    // an error ends this client only
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'control client error'));
    socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
    socket.setEncoding('utf8');
    let buf = '';
    // Answers the buffered requests while the client reads its replies; when it does not, stops
    // reading until they drain.
    const pump = (): void => {
      while (!socket.writableEnded && !socket.destroyed) {
        if (socket.writableLength >= MAX_PENDING_OUTPUT) {
          socket.pause();
          return;
        }
        const nl = buf.indexOf('\n');
        if (nl < 0) {
          if (buf.length > MAX_REQUEST) {
            buf = '';
            const reply = `${JSON.stringify({ ok: false, error: 'request too long' })}\n`;
            socket.end(reply, () => socket.destroy());
            return;
          }
          socket.resume();
          return;
        }
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) socket.write(`${this.answer(line)}\n`);
      }
    };
    socket.on('data', (chunk: string) => {
      if (socket.writableEnded) return;
      buf += chunk;
      pump();
    });
    socket.on('drain', pump);
  }

  /** The reply line to one request line. */
  private answer(line: string): string {
    let req: ControlRequest;
    try {
      const parsed: unknown = JSON.parse(line);
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        typeof (parsed as { command?: unknown }).command !== 'string'
      ) {
        return JSON.stringify({ ok: false, error: 'expected {"command": "...", "args": {...}}' });
      }
      req = parsed as ControlRequest;
    } catch {
      return JSON.stringify({ ok: false, error: 'request is not JSON' });
    }
    try {
      return JSON.stringify({ ok: true, result: this.handler(req) });
    } catch (e) {
      return JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Closes every client and the socket; removes the path only if it is still this server's socket. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const mine = this.mine;
    this.mine = undefined;
    if (mine !== undefined) {
      try {
        const st = lstatSync(this.path);
        if (st.dev === mine.dev && st.ino === mine.ino) unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
    if (!server) return;
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
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
