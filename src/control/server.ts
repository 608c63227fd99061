// The control socket: a Unix socket speaking JSON lines. A client writes one request per line,
// {"command": "show protocols", "args": {...}}, and gets one reply line, {"ok": true, "result": ...} or
// {"ok": false, "error": "..."}. `tern show` is its client.

import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';

export interface ControlRequest {
  readonly command: string;
  readonly args?: Readonly<Record<string, unknown>>;
}

export type ControlHandler = (req: ControlRequest) => unknown;

/** Requests longer than this are refused (a client that never sends a newline cannot grow us). */
const MAX_REQUEST = 64 * 1024;

export class ControlServer {
  private server: Server | undefined;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    if (existsSync(this.path)) unlinkSync(this.path); // a stale socket of a previous run
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err: err.message }, 'control socket error'));
    this.server = server;
    this.log.info({ socket: this.path }, 'control socket listening');
  }

  private serve(socket: Socket): void {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST && !buf.includes('\n')) {
        socket.end(`${JSON.stringify({ ok: false, error: 'request too long' })}\n`);
        return;
      }
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) socket.write(`${JSON.stringify(this.answer(line))}\n`);
      }
    });
  }

  private answer(line: string): { ok: true; result: unknown } | { ok: false; error: string } {
    let req: ControlRequest;
    try {
      const parsed: unknown = JSON.parse(line);
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        typeof (parsed as { command?: unknown }).command !== 'string'
      ) {
        return { ok: false, error: 'expected {"command": "...", "args": {...}}' };
      }
      req = parsed as ControlRequest;
    } catch {
      return { ok: false, error: 'request is not JSON' };
    }
    try {
      return { ok: true, result: this.handler(req) };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
