// The storage sweep: keyv deletes an expired record only when it is read, so on SQLite the sweep deletes expired
// rows (and only those); kept results have a lifetime and a size cap. The running bot's sweep every
// STORAGE_SWEEP_INTERVAL_MS: test/e2e/operations.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noisePng } from '../../dev/fakes/png.js';
import { sniffImageType } from '../../src/images/sniff.js';
import { JobRecords } from '../../src/jobs/records.js';
import { KeptResults } from '../../src/jobs/kept-results.js';
import { createStorage, type Storage } from '../../src/storage/index.js';
import { insertExpiredRows, sqliteAll, sqliteExec, sqliteKeys } from '../helpers/storage-faults.js';
import { capturingLogger } from '../helpers/logs.js';

describe('the storage sweep on SQLite', () => {
  let dir: string;
  let file: string;
  let storage: Storage;
  const { logger } = capturingLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sweep-'));
    file = join(dir, 'bot.sqlite');
    storage = await createStorage(`sqlite://${file}`, logger);
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('deletes every expired row, in batches, and keeps live ones, ones without a lifetime and unreadable ones', async () => {
    await storage.set('live', 1, 3_600_000);
    await storage.set('forever', 2);
    await insertExpiredRows(file, Array.from({ length: 1234 }, (_, i) => `result:old${i}`));
    await sqliteExec(file, `INSERT INTO keyv(key, value) VALUES ('bot:job:cut', '{"value":{"id":"cut","expi')`);
    expect(await sqliteKeys(file)).toHaveLength(1234 + 3);

    expect(await storage.sweepExpired()).toBe(1234);
    expect(await sqliteKeys(file)).toEqual(['bot:forever', 'bot:job:cut', 'bot:live']);
    expect(await storage.sweepExpired()).toBe(0);
  });

  it('keeps a result at most the size cap and for the kept-result lifetime, and its hand-over list as long', async () => {
    const ttl = 2 * 86_400_000;
    const store = new KeptResults(new JobRecords(storage, { logger }).env, { ttlMs: ttl, maxBytes: 200_000 });
    const big = noisePng(700, 700);
    expect(big.length).toBeGreaterThan(200_000);
    const before = Date.now();
    await store.putResult('job1', big);
    await store.add('user1', 'job1');
    const kept = await store.getResult('job1');
    expect(kept?.length).toBeLessThanOrEqual(200_000);
    expect(sniffImageType(kept ?? Buffer.alloc(0))).toBe('image/webp');

    const rows = await sqliteAll<{ key: string; expires: number }>(file, "SELECT key, json_extract(value, '$.expires') AS expires FROM keyv WHERE key IN ('bot:result:job1', 'bot:jobs:undelivered:user1')");
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.expires).toBeGreaterThanOrEqual(before + ttl);
      expect(r.expires).toBeLessThanOrEqual(Date.now() + ttl);
    }
  });

  it('keeps a result under the cap as it is', async () => {
    const store = new KeptResults(new JobRecords(storage, { logger }).env, { maxBytes: 10 * 1024 * 1024 });
    const small = noisePng(64, 64);
    await store.putResult('job2', small);
    expect((await store.getResult('job2'))?.equals(small)).toBe(true);
  });
});
