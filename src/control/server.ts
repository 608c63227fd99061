// The control socket: a Unix socket speaking JSON lines. A client writes one request per line,
// {"command": "show protocols", "args": {...}}, and gets one reply line, {"version": 1, "ok": true,
// "result": ...} or {"version": 1, "ok": false, "error": "..."}. `tern show` is its client.
//
// The socket file itself (mode 0660 and its group, a second tern refused, a stale socket removed, never
// anything else) and the bounds on clients are socket-path.ts's ControlListener.

import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { ControlListener } from './socket-path.js';

export { ControlSocketError, SOCKET_MODE } from './socket-path.js';

/**
 * The version of the request and reply format and of the views' JSON (docs/cli.md): it goes up when a
 * field is removed or changes meaning; added fields keep it.
 */
export const CONTROL_PROTOCOL_VERSION = 1;

export interface ControlRequest {
  readonly command: string;
  readonly args?: Readonly<Record<string, unknown>>;
}

/** The result of a request, or a promise of it (`reload` waits for the reload); a throw is the error. */
export type ControlHandler = (req: ControlRequest) => unknown;

export interface ControlServerOptions {
  /** The group owning the socket (a name or a gid); default: the process's group. */
  readonly group?: string | number;
  /** A client that sends nothing and reads nothing for this long is closed (ms). */
  readonly idleTimeoutMs?: number;
  /** Clients at once; more are closed as they connect. */
  readonly maxClients?: number;
}

/** Requests longer than this are refused (a client that never sends a newline cannot grow us). */
const MAX_REQUEST = 64 * 1024;
/** Replies waiting for a client that does not read: past this, its requests are no longer read. */
const MAX_PENDING_OUTPUT = 1024 * 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_CLIENTS = 64;

export class ControlServer extends ControlListener {
  constructor(
    path: string,
    private readonly handler: ControlHandler,
    log: Logger,
    opts: ControlServerOptions = {},
  ) {
    super(path, log, {
      ...(opts.group !== undefined ? { group: opts.group } : {}),
      maxClients: opts.maxClients ?? DEFAULT_MAX_CLIENTS,
      idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      label: 'control',
    });
  }

  protected onClient(socket: Socket): void {
    socket.setEncoding('utf8');
    let buf = '';
    /** A request whose answer is a promise (reload): the next waits for it, so replies keep their order. */
    let waiting = false;
    // Answers the buffered requests while the client reads its replies; when it does not, stops
    // reading until they drain.
    const pump = (): void => {
      while (!waiting && !socket.writableEnded && !socket.destroyed) {
        if (socket.writableLength >= MAX_PENDING_OUTPUT) {
          socket.pause();
          return;
        }
        const nl = buf.indexOf('\n');
        if (nl < 0) {
          if (buf.length > MAX_REQUEST) {
            buf = '';
            const reply = `${JSON.stringify({ version: CONTROL_PROTOCOL_VERSION, ok: false, error: 'request too long' })}\n`;
            socket.end(reply, () => socket.destroy());
            return;
          }
          socket.resume();
          return;
        }
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const reply = this.answer(line);
        if (typeof reply === 'string') {
          socket.write(`${reply}\n`);
          continue;
        }
        waiting = true;
        socket.pause();
        void reply.then((text) => {
          waiting = false;
          if (socket.destroyed || socket.writableEnded) return;
          socket.write(`${text}\n`);
          pump();
        });
        return;
      }
    };
    socket.on('data', (chunk: string) => {
      if (socket.writableEnded) return;
      buf += chunk;
      pump();
    });
    socket.on('drain', pump);
  }

  /** The reply line to one request line (later, when the handler's result is a promise). */
  private answer(line: string): string | Promise<string> {
    let req: ControlRequest;
    try {
      const parsed: unknown = JSON.parse(line);
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        typeof (parsed as { command?: unknown }).command !== 'string'
      ) {
        return JSON.stringify({
          version: CONTROL_PROTOCOL_VERSION,
          ok: false,
          error: 'expected {"command": "...", "args": {...}}',
        });
      }
      req = parsed as ControlRequest;
    } catch {
      return JSON.stringify({ version: CONTROL_PROTOCOL_VERSION, ok: false, error: 'request is not JSON' });
    }
    const failed = (e: unknown): string =>
      JSON.stringify({
        version: CONTROL_PROTOCOL_VERSION,
        ok: false,
        error: e instanceof Error ? e.message : String(e),
      });
    const done = (result: unknown): string =>
      JSON.stringify({ version: CONTROL_PROTOCOL_VERSION, ok: true, result });
    try {
      const result = this.handler(req);
      return result instanceof Promise ? result.then(done, failed) : done(result);
    } catch (e) {
      return failed(e);
    }
  }
}
