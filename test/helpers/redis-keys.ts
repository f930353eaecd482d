// Keys under a test's own prefix on the shared local Redis: a fresh prefix per test, deleted afterwards (never
// FLUSHDB: other test runs use the same server).
import { randomBytes } from 'node:crypto';
import { createClient } from '@keyv/redis';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A STORAGE_NAMESPACE no other test uses. */
export function testNamespace(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

/** Deletes every key of the namespace (`<ns>:…`). */
export async function deleteNamespace(ns: string): Promise<void> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${ns}:*`, COUNT: 500 })) keys.push(...(Array.isArray(batch) ? batch : [batch]));
    if (keys.length > 0) await client.del(keys);
  } finally {
    client.destroy();
  }
}
