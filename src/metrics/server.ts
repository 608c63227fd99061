// The Prometheus endpoint (`metrics: {address, port}`): an HTTP server that answers `GET /metrics`
// (and HEAD) with the text exposition, 405 for another method there, 404 for any other path. Bounded:
// small headers, a request timeout, few connections at once; an error on it is logged, never thrown
// at the daemon.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { formatEndpoint } from '../config/types.js';
import type { Logger } from '../log.js';

/** What the server exposes: a SpeakerMetrics, or anything that renders the same way. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsServerOptions {
  /** A request must be complete (headers and body) within this (ms). */
  readonly requestTimeoutMs?: number;
  /** Connections at once; more are closed as they come. */
  readonly maxConnections?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_CONNECTIONS = 16;
const MAX_HEADER_BYTES = 8 * 1024;

export class MetricsServer {
  private server: Server | undefined;

  constructor(
    private readonly listen: { readonly address: string; readonly port: number },
    private readonly source: MetricsSource,
    private readonly log: Logger,
    private readonly opts: MetricsServerOptions = {},
  ) {}

  /** The port listened on (useful with port 0 in tests). */
  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Listens; rejects with an Error that names `metrics` and the address (EADDRINUSE, EACCES...). */
  async start(): Promise<void> {
    const timeout = this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const server = createServer(
      // the request timeouts are checked this often (Node's default, 30 s, would let them run long)
      { maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: Math.min(1000, timeout) },
      (req, res) => this.answer(req, res),
    );
    server.requestTimeout = timeout;
    server.headersTimeout = Math.min(timeout, 5000);
    server.keepAliveTimeout = 5000;
    server.setTimeout(timeout * 2); // an idle connection
    server.maxHeadersCount = 64;
    server.maxConnections = this.opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.log.debug({ err: err.message, code: err.code }, 'metrics client error');
      if (socket.writable && err.code !== 'ECONNRESET')
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    });
    const where = formatEndpoint(this.listen.address, this.listen.port);
    await new Promise<void>((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException): void =>
        reject(new Error(`metrics: cannot listen on ${where}: ${err.message}`));
      server.once('error', fail);
      server.listen({ host: this.listen.address, port: this.listen.port }, () => {
        server.off('error', fail);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err: err.message }, 'metrics server error'));
    this.server = server;
    this.log.info(
      { address: this.listen.address, port: this.port, path: '/metrics' },
      'metrics endpoint listening',
    );
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    try {
      res.on('error', (err) => this.log.debug({ err: err.message }, 'metrics response error'));
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics') {
        plain(res, 404, 'not found: tern serves GET /metrics only\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        plain(res, 405, 'method not allowed: GET /metrics\n');
        return;
      }
      this.source.metrics().then(
        (body) => {
          res.statusCode = 200;
          res.setHeader('Content-Type', this.source.contentType);
          res.setHeader('Content-Length', Buffer.byteLength(body));
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: unknown) => this.failed(res, err),
      );
    } catch (err) {
      this.failed(res, err);
    }
  }

  private failed(res: ServerResponse, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.log.warn({ err: message }, 'metrics could not be collected');
    if (!res.headersSent) plain(res, 500, `metrics could not be collected: ${message}\n`);
    else res.destroy();
  }

  /** Stops listening and closes every connection (a scrape under way is cut). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

function plain(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
