// The two storage backends the quota tests run on, each behind a key namespace unique to this test run, so the
// tests share the local Redis with anything else (other test files, a developer's bot) without touching its keys.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/logger.js';
import { createStorage, type Storage } from '../../src/storage/index.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export const BACKENDS = [
  { name: 'SQLite', kind: 'sqlite' },
  { name: 'Redis', kind: 'redis' },
] as const;
export type BackendKind = (typeof BACKENDS)[number]['kind'];

/** Prefixes every key and lock name, and remembers the keys so `cleanup` deletes exactly those. */
export function namespaced(inner: Storage, ns: string): Storage & { readonly ns: string; cleanup(): Promise<void> } {
  const keys = new Set<string>();
  return {
    ns,
    kind: inner.kind,
    get: (key) => inner.get(ns + key),
    set: async (key, value, ttl) => {
      keys.add(ns + key);
      await inner.set(ns + key, value, ttl);
    },
    delete: (key) => inner.delete(ns + key),
    withLock: (name, fn) => inner.withLock(ns + name, fn),
    atomic: (names, decide) =>
      inner.atomic(
        names.map((k) => ns + k),
        async (values) => {
          const step = await decide(values);
          for (const w of step.writes) if (!('delete' in w)) keys.add(ns + w.key);
          return { ...step, writes: step.writes.map((w) => ({ ...w, key: ns + w.key })) };
        },
      ),
    sweepExpired: () => inner.sweepExpired(),
    findKeys: async (prefix, field, values) => (await inner.findKeys(ns + prefix, field, values)).map((k) => k.slice(ns.length)),
    alarm: inner.alarm,
    close: () => inner.close(),
    async cleanup() {
      for (const k of keys) await inner.delete(k);
      keys.clear();
    },
  };
}

export interface OpenBackend {
  storage: Storage & { readonly ns: string; cleanup(): Promise<void> };
  /** A second, independent connection to the same data (another process, as far as locks go). */
  second(): Promise<Storage>;
  close(): Promise<void>;
}

/**
 * Opens a backend. Redis must be running (`.ci/run` starts it): a missing Redis fails the tests rather than
 * skipping them, because a skipped backend would hide exactly the bugs these tests are for.
 */
export async function openBackend(kind: BackendKind, logger: Logger): Promise<OpenBackend> {
  const ns = `t${randomBytes(4).toString('hex')}:`;
  const extra: Storage[] = [];
  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'quota-test-'));
    const url = `sqlite://${join(dir, 'q.sqlite')}`;
    const inner = await createStorage(url, logger);
    return {
      storage: namespaced(inner, ns),
      second: async () => {
        const s = namespaced(await createStorage(url, logger), ns);
        extra.push(s);
        return s;
      },
      close: async () => {
        for (const s of extra) await s.close();
        await inner.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const inner = await withTimeout(createStorage(REDIS_URL, logger), `Redis at ${REDIS_URL} did not answer: start it (the Redis tests must not be skipped)`);
  // createStorage connects lazily on some paths: make sure the server really answers.
  await withTimeout(inner.get('quota:ping'), `Redis at ${REDIS_URL} did not answer a GET`);
  const storage = namespaced(inner, ns);
  const others: Array<Storage & { cleanup(): Promise<void> }> = [];
  return {
    storage,
    second: async () => {
      const s = namespaced(await createStorage(REDIS_URL, logger), ns);
      others.push(s);
      return s;
    },
    close: async () => {
      await storage.cleanup();
      for (const s of others) {
        await s.cleanup();
        await s.close();
      }
      await inner.close();
    },
  };
}

async function withTimeout<T>(p: Promise<T>, message: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A random 18-digit Discord id. */
export function snowflake(): string {
  return `${1 + Math.floor(Math.random() * 8)}${randomBytes(8).readBigUInt64BE().toString().padStart(17, '0').slice(0, 17)}`;
}
