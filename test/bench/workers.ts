// `npm run bench -- --workers N`: N bot processes in HTTP interactions mode on one Redis, the fake Discord POSTing
// each command to the next of them (round-robin, as a load balancer would). `--kill-worker` kills the first one
// with -9 halfway through firing and takes it out of the rotation (as a load balancer's health check would): every
// job it had accepted must still be delivered, once, by the others.
import { randomBytes } from 'node:crypto';
import type { FakeDiscord } from '../../dev/fakes/discord/server.js';
import type { BotChild } from '../../dev/fakes/world.js';

/** The bot environment of a worker: HTTP interactions, a free port, one Redis namespace for all of them. */
export function workerEnv(discord: FakeDiscord, namespace: string): Record<string, string> {
  return {
    INTERACTIONS: 'http',
    DISCORD_PUBLIC_KEY: discord.publicKey,
    HTTP_PORT: '0',
    STORAGE_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    STORAGE_NAMESPACE: namespace,
    // A killed worker's jobs move on within about 1⅓ × this.
    JOB_LEASE_MS: '3000',
  };
}

export const benchNamespace = (): string => `bench${randomBytes(5).toString('hex')}`;

/** The worker's /interactions URL, from the line it logs when its HTTP server is up. */
export function endpointOf(bot: BotChild): string {
  const line = bot.lines.find((l) => l.msg === 'serving /interactions, /healthz and /metrics');
  if (typeof line?.port !== 'number') throw new Error('a worker did not say where it serves /interactions');
  return `http://127.0.0.1:${line.port}/interactions`;
}

/** Deletes the bench's keys from Redis. */
export async function dropNamespace(namespace: string): Promise<void> {
  const { createClient } = await import('@keyv/redis');
  const client = createClient({ url: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await client.connect();
  try {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${namespace}:*`, COUNT: 500 })) keys.push(...(Array.isArray(batch) ? batch : [batch]));
    if (keys.length > 0) await client.del(keys);
  } finally {
    client.destroy();
  }
}

export interface WorkerFigures {
  worker: number;
  endpoint: string;
  commands: number;
  ackP99Ms: number | null;
  peakRssMB: number | null;
  killed: boolean;
}
