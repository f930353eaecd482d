// The HTTP_PORT server bounds what idle or slow clients can hold: at most `maxConnections` sockets, and a
// connection that never sends its request headers is answered 408 and closed.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer } from '../../src/ops/health-server.js';
import { capturingLogger } from '../helpers/logs.js';
import { waitUntil } from '../helpers/wait.js';

const opened: Socket[] = [];
let server: HealthServer | undefined;

afterEach(async () => {
  for (const s of opened.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

function open(port: number): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    opened.push(socket);
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    const closed = new Promise<string>((done) => socket.on('close', () => done(data)));
    socket.once('error', reject);
    socket.once('connect', () => resolve({ socket, closed }));
  });
}

const start = (limits: NonNullable<Parameters<typeof startHealthServer>[0]['limits']>) =>
  startHealthServer({
    host: '127.0.0.1',
    port: 0,
    health: async () => ({ ok: true, checks: {} }) as never,
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    logger: capturingLogger().logger,
    limits,
  });

describe('the health server', () => {
  it('closes a connection past maxConnections at once, and serves again when one is freed', async () => {
    server = await start({ maxConnections: 3 });
    const idle = await Promise.all([open(server.port), open(server.port), open(server.port)]);
    const extra = await open(server.port);
    expect(await extra.closed).toBe('');
    idle[0]?.socket.destroy();
    await idle[0]?.closed;
    const url = `${server.url}/healthz`;
    const status = await waitUntil(() => fetch(url, { headers: { connection: 'close' } }).then((r) => r.status === 200 && r.status, () => false), 'a probe served');
    expect(status).toBe(200);
  });

  it('answers 408 and closes a connection that does not send its request headers in time', async () => {
    server = await start({ headersTimeoutMs: 150, requestTimeoutMs: 150, checkEveryMs: 50 });
    const slow = await open(server.port);
    slow.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n'); // and never the blank line
    expect(await slow.closed).toMatch(/^HTTP\/1\.1 408/);
  });
});
