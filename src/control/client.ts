// One request over the control socket (see server.ts for the protocol): `tern show` and the daemon's own
// check for another tern on its socket both use it.

import { connect } from 'node:net';

/** Why a request failed: `connected` tells a daemon that answered badly from one that was not reached. */
export class ControlClientError extends Error {
  override readonly name = 'ControlClientError';
  constructor(
    message: string,
    /** The errno code of a connection error (ENOENT, ECONNREFUSED, EACCES...). */
    readonly code: string | undefined,
    readonly connected: boolean,
  ) {
    super(message);
  }
}

/** Sends one request; resolves with the daemon's result or rejects with a ControlClientError. */
export function controlCall(
  socketPath: string,
  command: string,
  args: Readonly<Record<string, unknown>> = {},
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let connected = false;
    let buf = '';
    const fail = (message: string, code?: string): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ControlClientError(message, code, connected));
    };
    const timer = setTimeout(() => fail(`no answer from ${socketPath} within ${timeoutMs} ms`), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify({ command, args })}\n`);
    });
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      let reply: { ok?: unknown; result?: unknown; error?: unknown };
      try {
        reply = JSON.parse(buf.slice(0, nl)) as typeof reply;
      } catch {
        fail('the daemon answered something that is not JSON');
        return;
      }
      if (reply.ok === true) resolve(reply.result);
      else fail(typeof reply.error === 'string' ? reply.error : 'request failed');
    });
    socket.on('end', () => {
      if (buf.indexOf('\n') < 0) fail(`${socketPath} closed the connection without an answer`);
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      fail(`cannot reach the daemon at ${socketPath}: ${err.message}`, err.code),
    );
  });
}
