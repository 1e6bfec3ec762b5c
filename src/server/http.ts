/**
 * The server's HTTP endpoint (--metrics ADDR): GET /metrics (Prometheus text format),
 * GET /health/live (200 while the process serves HTTP at all) and GET /health/ready (200
 * when readiness() says so, else 503; both with a JSON body). Anything else is 404; a
 * failure while answering is a 500 with the message, never a crash.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { ServerMetrics } from './metrics.js';
import type { ReadyVerdict } from './health.js';

export interface HttpEndpointOptions {
  host: string;
  port: number;
  metrics: ServerMetrics;
  ready(): Promise<ReadyVerdict>;
  /** Extra fields of the live and ready bodies (e.g. { id }). */
  identity?: Record<string, unknown>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export class HttpEndpoint {
  readonly #server: HttpServer;
  readonly #options: HttpEndpointOptions;
  #closing: Promise<void> | undefined;

  constructor(options: HttpEndpointOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) json(res, 500, { error: (error as Error).message });
        else res.destroy();
      });
    });
    this.#server.keepAliveTimeout = 5000;
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: `method ${req.method ?? '?'} not allowed` });
      return;
    }
    const identity = this.#options.identity ?? {};
    switch (path) {
      case '/metrics': {
        const text = await this.#options.metrics.render();
        res.writeHead(200, { 'content-type': this.#options.metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      case '/health/live':
        json(res, 200, { live: true, ...identity });
        return;
      case '/health/ready': {
        const verdict = await this.#options.ready();
        json(res, verdict.ready ? 200 : 503, { ...verdict, ...identity });
        return;
      }
      default:
        json(res, 404, { error: `no such path ${path ?? ''}; try /metrics, /health/live, /health/ready` });
    }
  }

  /** Resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : this.#options.port);
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}
