import Keyv from 'keyv';
import KeyvRedis, { createClient, defaultReconnectStrategy } from '@keyv/redis';
import type { Backend } from './backend.js';
import type { RedisLike } from './locks.js';

export async function openRedis(url: string, namespace: string): Promise<Backend> {
  // No offline queue: while Redis is unreachable a command fails at once instead of waiting for a reconnect
  // that may never come (a reservation would hang the member's command for ever).
  const client = createClient({ url, disableOfflineQueue: true, socket: { connectTimeout: 5000, reconnectStrategy: defaultReconnectStrategy } });
  const store = new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true });
  const keyv = new Keyv({ store, namespace, useKeyPrefix: false, throwOnErrors: true });
  const redis = (await store.getClient()) as unknown as RedisLike;
  // Redis expires keys by itself.
  return { kind: 'redis', keyv, redis, sweep: async () => 0 };
}
