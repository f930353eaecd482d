import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import type { Backend } from './backend.js';
import { sqliteFindKeys } from './find.js';

export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
/** Expired rows deleted per statement, so a sweep never holds SQLite's write lock for long. */
const SWEEP_BATCH = 500;

/**
 * Runs the store's statements one after another. node-sqlite3 runs a statement on libuv's pool, but creates and
 * finalizes statements on the main thread, under the connection's mutex — which the pool thread holds for a whole
 * statement. With hundreds of statements in flight (a burst of commands, each reserving quota and saving its job)
 * the event loop waited on that mutex: 4,000 saves at once stalled it by up to 0.4 s at a time (p99 344 ms), and
 * commands behind it missed Discord's 3 s. Queued here they wait in JavaScript instead (p99 11 ms), for about the
 * same total time: the file takes one writer at a time anyway. All of @keyv/sqlite's calls go through `query`.
 */
function oneStatementAtATime(store: KeyvSqlite): void {
  const query = store.query.bind(store);
  let last: Promise<unknown> = Promise.resolve();
  store.query = (...args: Parameters<typeof query>) => {
    const run = last.then(() => query(...args));
    last = run.catch(() => undefined);
    return run;
  };
}

export async function openSqlite(url: string, namespace: string, busyTimeoutMs: number): Promise<Backend> {
  const file = resolve(url.slice('sqlite://'.length));
  await mkdir(dirname(file), { recursive: true });
  // busyTimeout: two processes on one file (e.g. deploy-commands while the bot runs) wait instead of failing.
  const store = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: busyTimeoutMs });
  // WAL with synchronous=NORMAL: a save is an append to the log, synced only at checkpoints, instead of a
  // rollback-journal transaction with several fsyncs (about ten saves a job: a burst's CPU went from ~22 s to
  // ~14 s for 600 jobs). Durability: a committed save survives the process dying (kill -9, a crash, OOM);
  // only an OS crash or power loss can lose the last transactions before a checkpoint. The file stays
  // consistent either way. WAL also lets a reader (deploy-commands, a backup) read while the bot writes.
  await store.query('PRAGMA journal_mode=WAL');
  await store.query('PRAGMA synchronous=NORMAL');
  oneStatementAtATime(store);
  const keyv = new Keyv({ store, namespace, throwOnErrors: true });
  return { kind: 'sqlite', keyv, redis: undefined, sweep: sqliteSweep(store, namespace), findKeys: sqliteFindKeys((sql, ...params) => store.query(sql, ...params), namespace) };
}

/** Deletes the namespace's expired rows in batches of SWEEP_BATCH; returns how many went. */
function sqliteSweep(store: KeyvSqlite, namespace: string): () => Promise<number> {
  // keyv stores `{"value":…,"expires":<ms>}` as text; a row that is not valid JSON is left for its reader to find.
  const expired = `DELETE FROM keyv WHERE rowid IN (SELECT rowid FROM keyv WHERE key LIKE '${namespace}:%' AND
    (CASE WHEN json_valid(value) THEN json_extract(value, '$.expires') END) < ? LIMIT ${SWEEP_BATCH}) RETURNING 1 AS gone`;
  return async () => {
    let total = 0;
    for (;;) {
      const rows = (await store.query(expired, Date.now())) as unknown[];
      total += rows.length;
      if (rows.length < SWEEP_BATCH) return total;
    }
  };
}
