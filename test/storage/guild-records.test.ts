// A per-server record that no longer parses: moved aside once (its text kept, one OPERATOR line); members' reads are
// refused until an admin reads or changes it, which starts again from the defaults and says so. The same through
// SQLite's real stored text as through memory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuildPolicyStore } from '../../src/guild-settings/store.js';
import { createStorage, LostRecordError, type Storage } from '../../src/storage/index.js';
import { capturingLogger } from '../helpers/logs.js';
import { sqliteAll, sqliteExec } from '../helpers/storage-faults.js';

describe('a per-server record that no longer parses', () => {
  let dir: string;
  let file: string;
  let storage: Storage;
  const { logger, lines } = capturingLogger();
  const GUILD = '1200000000000000099';
  const KEY = `guild:policy:${GUILD}`;
  const operatorLines = () => lines.filter((l) => l.msg.startsWith('OPERATOR: a stored record could not be read'));

  beforeEach(async () => {
    lines.length = 0;
    dir = await mkdtemp(join(tmpdir(), 'guild-records-'));
    file = join(dir, 'bot.sqlite');
    storage = await createStorage(`sqlite://${file}`, logger);
    await storage.set('probe', 1); // the table exists
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  const corrupt = (text: string) => sqliteExec(file, `INSERT OR REPLACE INTO keyv(key, value) VALUES('bot:${KEY}', '${text}')`);

  it('refuses members until an admin reads it, moving it aside once with its text; the admin starts from the defaults', async () => {
    const store = new GuildPolicyStore(storage);
    await store.update(GUILD, (p) => p.blockedTerms.push('dragon'));
    await corrupt('{"value":{"v":1,"blockedTerms":["drag');

    for (let i = 0; i < 3; i++) await expect(store.get(GUILD)).rejects.toBeInstanceOf(LostRecordError);
    expect(operatorLines()).toHaveLength(1);
    expect(operatorLines()[0]?.quarantineKey).toMatch(new RegExp(`^quarantine:${KEY}:\\d+$`));
    const kept = await sqliteAll<{ value: string }>(file, "SELECT value FROM keyv WHERE key LIKE 'bot:quarantine:%'");
    expect(kept.map((r) => (JSON.parse(r.value) as { value: { raw: string } }).value.raw)).toEqual(['{"value":{"v":1,"blockedTerms":["drag']);

    expect(await store.forAdmin(GUILD)).toMatchObject({ reset: true, policy: { blockedTerms: [] } });
    expect((await store.get(GUILD)).blockedTerms).toEqual([]);
    expect((await store.forAdmin(GUILD)).reset).toBe(false);
    expect(operatorLines()).toHaveLength(1);
  });

  it("an admin's change of a record that was never read starts from the defaults, says so, and moves the text aside", async () => {
    const store = new GuildPolicyStore(storage);
    await corrupt('{"value":"not a record"}');
    const changed = await store.update(GUILD, (p) => p.blockedTerms.push('castle'));
    expect(changed).toMatchObject({ reset: true, policy: { blockedTerms: ['castle'] } });
    expect(operatorLines()).toHaveLength(1);
    expect((await store.get(GUILD)).blockedTerms).toEqual(['castle']);
  });

  it('a change that throws leaves the record (and its text) where it was', async () => {
    const store = new GuildPolicyStore(storage);
    await corrupt('{"value":{"v":1,');
    await expect(store.update(GUILD, () => {
      throw new Error('refused by the admin command');
    })).rejects.toThrow('refused by the admin command');
    expect(operatorLines()).toHaveLength(0);
    await expect(store.get(GUILD)).rejects.toBeInstanceOf(LostRecordError);
    expect(operatorLines()).toHaveLength(1);
  });
});
