// The playground's web server on 127.0.0.1: the page (static files from public/, served as they are — the page is
// native ES modules), its actions (POST /api/<action>, /api/upload), its state (GET /api/state) and the WebSocket
// (/ws) that pushes what happens. It listens before anything else starts, so a busy or forbidden port is known at
// once; until the playground is ready every API call answers 503.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Actions } from './actions.js';
import { HttpProblem } from './problem.js';
import type { HelloEvent, ServerEvent, UploadResult } from './protocol.js';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), 'public');
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
/** How many ports after a busy default the playground tries before taking any free one. */
const PORTS_TO_TRY = 10;

/** What the server serves once the playground is ready. */
export interface PlaygroundApp {
  actions: Actions;
  hello(): HelloEvent;
  upload(filename: string, contentType: string, data: Buffer): UploadResult;
}

/** A port that cannot be used, with a message that says what to do. */
export class PortProblem extends Error {}

export class PlaygroundWeb {
  readonly #server: Server;
  readonly #sockets = new Set<WebSocket>();
  #wss: WebSocketServer | undefined;
  #app: PlaygroundApp | undefined;

  constructor(private readonly log: (line: string) => void) {
    this.#server = createServer((req, res) => {
      this.#onRequest(req, res).catch((err: unknown) => {
        const status = err instanceof HttpProblem ? err.status : 500;
        if (status === 500) log(`playground error: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
        else res.destroy();
      });
    });
  }

  /**
   * Listens on 127.0.0.1:`port` (0: any free port). With `fallback`, a busy port gives way to the next ones, then to
   * any free port, and says so; otherwise a busy or forbidden port is a PortProblem naming the way out.
   */
  async listen(port: number, fallback: boolean): Promise<number> {
    for (let tried = 0; ; tried++) {
      const candidate = port === 0 ? 0 : tried < PORTS_TO_TRY ? port + tried : 0;
      try {
        await this.#listenOnce(candidate);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EACCES') throw new PortProblem(`Permission denied for port ${candidate}: ports below 1024 need root. Choose another with --port N (1024–65535), or leave --port out.`);
        if (code !== 'EADDRINUSE') throw err;
        if (!fallback) throw new PortProblem(`Port ${candidate} is busy (another playground, or a dev server such as Vite?). Choose another with --port N, or leave --port out to take a free one.`);
        continue;
      }
      const actual = (this.#server.address() as AddressInfo).port;
      if (tried > 0) this.log(`port ${port} is busy, using ${actual}`);
      return actual;
    }
  }

  /** Starts serving the page's API and WebSocket. */
  serve(app: PlaygroundApp): void {
    this.#app = app;
    this.#wss = new WebSocketServer({ server: this.#server, path: '/ws', verifyClient: ({ req }: { req: IncomingMessage }) => sameSite(req) });
    // The HTTP server's errors are its own (they are handled where it listens): never an unhandled 'error' here.
    this.#wss.on('error', (err) => this.log(`playground WebSocket error: ${err.message}`));
    this.#wss.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.send(JSON.stringify(app.hello()));
    });
  }

  broadcast(event: ServerEvent): void {
    const text = JSON.stringify(event);
    for (const socket of this.#sockets) if (socket.readyState === socket.OPEN) socket.send(text);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.terminate();
    this.#wss?.close();
    if (!this.#server.listening) return;
    await new Promise<void>((done) => {
      this.#server.close(() => done());
      this.#server.closeAllConnections();
    });
  }

  #listenOnce(port: number): Promise<void> {
    return new Promise<void>((listening, fail) => {
      this.#server.once('error', fail);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', fail);
        listening();
      });
    });
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Only this page may act: another site open in the same browser (or one rebinding its DNS name to 127.0.0.1)
    // must not start generations — with a real Luma key they cost money.
    if (!sameSite(req)) return sendJson(res, 403, { error: 'requests to the playground must come from its own page' });
    if (url.pathname.startsWith('/api/') && !this.#app) return sendJson(res, 503, { error: 'the playground is still starting' });
    const app = this.#app;
    if (app && req.method === 'POST' && url.pathname === '/api/upload') {
      const data = await readBody(req, MAX_UPLOAD_BYTES);
      const filename = (url.searchParams.get('filename') ?? 'upload').slice(0, 200);
      return sendJson(res, 200, app.upload(filename, req.headers['content-type'] ?? 'application/octet-stream', data));
    }
    if (app && req.method === 'POST' && url.pathname.startsWith('/api/')) {
      const name = url.pathname.slice('/api/'.length);
      if (!Object.hasOwn(app.actions, name)) return sendJson(res, 404, { error: 'no such action' });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, { error: 'the body is not JSON' });
      }
      return sendJson(res, 200, await app.actions[name as keyof Actions](body));
    }
    if (app && req.method === 'GET' && url.pathname === '/api/state') return sendJson(res, 200, app.hello());
    if (req.method === 'GET' || req.method === 'HEAD') return serveStatic(url.pathname, res);
    return sendJson(res, 405, { error: 'method not allowed' });
  }
}

/** The Host is this loopback server, and a browser's Origin (when sent) is the page itself. */
function sameSite(req: IncomingMessage): boolean {
  const port = (req.socket.localPort ?? 0).toString();
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  if (!hosts.has(req.headers.host ?? '')) return false;
  const origin = req.headers.origin;
  return origin === undefined || hosts.has(origin.replace(/^http:\/\//, ''));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

function serveStatic(pathname: string, res: ServerResponse): void {
  const name = pathname === '/' ? 'index.html' : pathname.slice(1);
  if (!/^[\w-]+\.(html|js|css|svg|png)$/.test(name)) return sendJson(res, 404, { error: 'not found' });
  let data: Buffer;
  try {
    data = readFileSync(join(PUBLIC, name));
  } catch {
    return sendJson(res, 404, { error: 'not found' });
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
    // Everything comes from this server and the fake Discord's CDN on loopback: nothing else may load.
    'content-security-policy':
      "default-src 'self'; img-src 'self' http://127.0.0.1:* blob: data:; connect-src 'self' ws://127.0.0.1:*; style-src 'self'; script-src 'self'",
    'x-content-type-options': 'nosniff',
  });
  res.end(data);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpProblem(413, `The file is larger than ${Math.round(limit / 1024 / 1024)} MB.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body ?? {}));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(payload.length), 'cache-control': 'no-store' });
  res.end(payload);
}
