// A scripted HTTP server on 127.0.0.1:0 for tests of code that speaks HTTP (the Luma client, downloads, egress
// rules): the test answers each request itself (drop the socket, 500, then 200; 429 with Retry-After; hold the
// response) and asserts on what arrived.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers one request, called once its body has been read; `n` counts requests from 1. */
export type Script<S = ScriptedServer> = (req: IncomingMessage, res: ServerResponse, n: number, server: S) => void;

export interface ScriptedServer {
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  readonly port: number;
  /** Every request, in order of arrival (recorded before the script answers it). */
  readonly seen: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Responses the client stopped reading before the script finished them. */
  closedEarly(): number;
  close(): Promise<void>;
}

const open = new Set<ScriptedServer>();

/** Starts a server that answers with `script`, on `port` (default: any free one). */
export async function startScriptedServer(script: Script, port = 0): Promise<ScriptedServer> {
  const seen: SeenRequest[] = [];
  let connections = 0;
  let closedEarly = 0;
  const server = createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) closedEarly++;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      script(req, res, seen.length, scripted);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  const scripted: ScriptedServer = {
    origin: `http://127.0.0.1:${actual}`,
    port: actual,
    seen,
    connections: () => connections,
    closedEarly: () => closedEarly,
    close: () =>
      new Promise<void>((resolve) => {
        open.delete(scripted);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  open.add(scripted);
  return scripted;
}

/** Closes every scripted server still open: for a test file's afterEach. */
export async function closeScriptedServers(): Promise<void> {
  await Promise.all([...open].map((s) => s.close()));
}

/** Ends `res` with a JSON body. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
