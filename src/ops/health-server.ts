// The operator's HTTP endpoint (HTTP_PORT): GET /healthz for orchestrators and GET /metrics for Prometheus.
// Plain node:http: two read-only routes do not need a framework. It binds loopback unless told otherwise, because
// /metrics says how busy the bot is and what it spends.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { HealthReport } from './health.js';

export interface HealthServerOptions {
  host: string;
  /** 0 = any free port (see `port` on the result). */
  port: number;
  health(): Promise<HealthReport>;
  metrics(): Promise<{ contentType: string; body: string }>;
  logger: Logger;
  /** The bounds below, smaller in tests. */
  limits?: Partial<typeof LIMITS>;
}

/**
 * An orchestrator's probes and a Prometheus scrape need a handful of connections. Past `maxConnections` a new one is
 * closed at once; a connection that has not sent its request headers within `headersTimeoutMs` is answered 408 and
 * closed (checked every `checkEveryMs`; node's own default is every 30 s), so idle or trickling sockets cannot pile up.
 */
const LIMITS = { maxConnections: 32, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, checkEveryMs: 1_000 };

export interface HealthServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, for logs and tests. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const log = opts.logger.child({ component: 'http' });
  const limits = { ...LIMITS, ...opts.limits };
  const server = createServer({ connectionsCheckingInterval: limits.checkEveryMs }, (req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      log.error({ err, path: req.url }, 'health server request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', req.method === 'HEAD');
      else res.destroy();
    });
  });
  // A scrape or probe that stalls must not hold a socket forever, nor many sockets the process's file descriptors.
  server.maxConnections = limits.maxConnections;
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'health server error'));
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  log.info({ host: opts.host, port }, 'serving /healthz and /metrics');
  return {
    host: opts.host,
    port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: HealthServerOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
  }
  if (path === '/healthz') {
    const report = await opts.health();
    return send(res, report.ok ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify({ status: report.ok ? 'ok' : 'unavailable', ...report })}\n`, head);
  }
  if (path === '/metrics') {
    const { contentType, body } = await opts.metrics();
    return send(res, 200, contentType, body, head);
  }
  return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz or /metrics\n', head);
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}
