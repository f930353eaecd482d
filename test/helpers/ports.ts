import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on right now (bound on :0, then released), for a server the test must name in
 * advance: a Redis of its own, the bot's HTTP_PORT read by another process, or a port that must refuse.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
