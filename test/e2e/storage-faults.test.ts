// Storage faults end to end: when storage cannot record a request, the member is told to try again shortly,
// nothing goes to Luma and nothing is charged; once storage is back, the same member is served normally.
import { afterEach, describe, expect, it } from 'vitest';
import type { DispatchedInteraction, FakeUserInput } from '../../dev/fakes/discord/server.js';
import { opt, startHarness, type Harness } from '../helpers/harness.js';
import { lockSqliteFile, sqliteExec, startPrivateRedis, type PrivateRedis, type SqliteLock } from '../helpers/storage-faults.js';

const EPHEMERAL = 64;
let nextUser = 1;
const newMember = (): FakeUserInput => ({ id: `5100000000000${String(nextUser++).padStart(5, '0')}`, username: `member${nextUser}` });

describe('a command meets failing storage', () => {
  let h: Harness | undefined;
  let lock: SqliteLock | undefined;
  let redis: PrivateRedis | undefined;
  afterEach(async () => {
    await lock?.release();
    await h?.close();
    await redis?.stop();
    lock = undefined;
    h = undefined;
    redis = undefined;
  });

  const start = async (env: Record<string, string> = {}): Promise<Harness> => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: '1', STORAGE_BUSY_TIMEOUT_MS: '100', ...env } });
    return h;
  };
  const sqliteFile = (harness: Harness) => harness.env.STORAGE_URL?.slice('sqlite://'.length) ?? '';
  const imagine = (harness: Harness, user: FakeUserInput, prompt: string) =>
    harness.discord.slashCommand({ name: 'imagine', user, options: [opt.string('prompt', prompt)] });
  /** The text of an ephemeral followup (a refusal after the public deferral). */
  const refusal = (harness: Harness, i: DispatchedInteraction) =>
    harness.discord.waitFor(() => harness.discord.followups(i.token).find((m) => ((m.flags ?? 0) & EPHEMERAL) !== 0)?.content, 20_000, 'the refusal');
  const delivered = (harness: Harness, i: DispatchedInteraction) =>
    harness.discord.waitFor(() => ((harness.discord.original(i.token)?.attachments.length ?? 0) > 0 ? true : undefined), 20_000, 'the result');
  const operatorLines = (harness: Harness) => harness.logs.filter((l) => l.msg.startsWith('OPERATOR: storage is failing'));

  /** After the fault: the member's unit is still there (limit 1), so one image goes through and is charged. */
  async function servedAfterwards(harness: Harness, member: FakeUserInput): Promise<void> {
    await delivered(harness, await imagine(harness, member, 'after the fault'));
    expect(harness.luma.posts()).toHaveLength(1);
    const again = await imagine(harness, member, 'over the limit');
    expect(await refusal(harness, again)).toContain('1 of 1 units today');
  }

  it('SQLite locked by another process: refused with "try again shortly", nothing sent or charged', async () => {
    const harness = await start();
    const member = newMember();
    lock = await lockSqliteFile(sqliteFile(harness));
    const i = await imagine(harness, member, 'while the file is locked');
    expect(await refusal(harness, i)).toContain('try again shortly');
    expect(harness.luma.posts()).toHaveLength(0);
    expect(operatorLines(harness)).toHaveLength(1);
    await lock.release();
    await servedAfterwards(harness, member);
  });

  it('SQLite refusing job saves after the reservation landed: refused, and the reserved unit is given back', async () => {
    const harness = await start();
    const member = newMember();
    // A real write error from SQLite for job records only (as a full disk would give), so the reservation lands
    // and the job's first save fails.
    await sqliteExec(sqliteFile(harness), "CREATE TRIGGER refuse_jobs BEFORE INSERT ON keyv WHEN NEW.key LIKE 'bot:job:%' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");
    const i = await imagine(harness, member, 'while job saves fail');
    expect(await refusal(harness, i)).toContain('nothing was charged');
    expect(harness.luma.posts()).toHaveLength(0);
    await harness.discord.waitFor(() => harness.logs.find((l) => l.msg === 'quota refunded'), 10_000, 'the refund');
    await sqliteExec(sqliteFile(harness), 'DROP TRIGGER refuse_jobs;');
    await servedAfterwards(harness, member);
  });

  it('Redis refusing writes: refused with "try again shortly", nothing sent or charged', async () => {
    redis = await startPrivateRedis();
    const harness = await start({ STORAGE_URL: redis.url });
    const member = newMember();
    await redis.refuseWrites(true);
    const i = await imagine(harness, member, 'while Redis refuses writes');
    expect(await refusal(harness, i)).toContain('try again shortly');
    expect(harness.luma.posts()).toHaveLength(0);
    expect(operatorLines(harness)).toHaveLength(1);
    await redis.refuseWrites(false);
    await servedAfterwards(harness, member);
  });
});
