// Stored records end to end, on the real bot: a job record cut short at start (quarantined, the bot still serves),
// storage that fails under a command ("try again shortly", nothing sent or charged), and records that no longer
// parse — a server's policy and quota settings, a member's quota counter, the day's spend, a member's history: each
// is moved aside with one OPERATOR line, the member is told in their language without being charged, and the
// admins' commands start again from the defaults and say so.
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import type { DispatchedInteraction, FakeUserInput } from '../../dev/fakes/discord/server.js';
import { opt, startHarness, type Harness } from '../helpers/harness.js';
import { privateAnswer } from '../helpers/private-answer.js';
import * as processes from '../helpers/process.js';
import { lockSqliteFile, sqliteAll, sqliteExec, startPrivateRedis, type PrivateRedis, type SqliteLock } from '../helpers/storage-faults.js';

const EPHEMERAL = 64;
let nextUser = 1;
const newMember = (): FakeUserInput => ({ id: `5100000000000${String(nextUser++).padStart(5, '0')}`, username: `member${nextUser}` });
const sqliteFile = (harness: Harness) => harness.env.STORAGE_URL?.slice('sqlite://'.length) ?? '';

describe('a corrupt job record at start', () => {
  let h: processes.ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await processes.killLeftoverBots();
  });

  it('is quarantined with one OPERATOR line, and the bot still resumes and serves the other jobs', async () => {
    h = await processes.startBotProcess();
    const member = processes.newMember();
    h.luma.planNext({ hold: true });
    const held = await processes.imagine(h.discord, member, 'corrupt: the good job');
    await h.discord.waitFor(() => h?.luma.generations().length === 1, 10_000, 'the good job at Luma');
    // Its POST's answer saved (a job killed before that is never sent again: it would end refunded instead).
    await h.bot.waitForLog((l) => l.msg === 'submitted to Luma', 10_000, 'the POST’s answer saved');
    await h.kill('SIGKILL');

    // A second unfinished job whose record was cut in the middle of a write, listed in the active-job index.
    const file = h.env.STORAGE_URL?.slice('sqlite://'.length) ?? '';
    await sqliteExec(
      file,
      `INSERT INTO keyv(key, value) VALUES('bot:job:cutInHalf', '{"value":{"id":"cutInHalf","kind":"imagine","step":"polling","disc');
       UPDATE keyv SET value = json_set(value, '$.value[#]', 'cutInHalf') WHERE key = 'bot:jobs:active';`,
    );

    const bot = await h.start();
    const operator = await bot.waitForLog((l) => l.msg.startsWith('OPERATOR: a stored job record was bad'), 20_000, 'the OPERATOR line');
    expect(operator.quarantineKey).toBe('jobs:quarantine:cutInHalf');
    expect(bot.running).toBe(true);
    await bot.waitForLog((l) => l.msg === 'resumed unfinished jobs' && l.count === 1, 20_000, 'the good job resumed');

    h.luma.release(h.luma.generations()[0]?.id ?? '');
    expect(await processes.delivered(h.discord, held, 'corrupt: the good job', member)).toHaveLength(1);
    const fresh = processes.newMember();
    const i = await processes.imagine(h.discord, fresh, 'corrupt: a new job after the start');
    expect(await processes.delivered(h.discord, i, 'corrupt: a new job after the start', fresh)).toHaveLength(1);
    expect(bot.lines.filter((l) => l.msg.startsWith('OPERATOR:'))).toHaveLength(1);
  });
});

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

  it('Redis down: /quota and /history say storage is unavailable and to try again shortly, not the generic apology', async () => {
    redis = await startPrivateRedis();
    const harness = await start({ STORAGE_URL: redis.url });
    const member = newMember();
    const before = await harness.discord.slashCommand({ name: 'quota', user: member });
    expect(await harness.discord.waitFor(() => privateAnswer(harness.discord, before), 20_000, 'the /quota answer')).toContain('Your image quota');
    await redis.stop();
    for (const name of ['quota', 'history']) {
      const i = await harness.discord.slashCommand({ name, user: member });
      const text = await harness.discord.waitFor(() => privateAnswer(harness.discord, i), 20_000, `the /${name} answer`);
      expect(text).toContain('storage is unavailable right now');
      expect(text).toContain('try again shortly');
      expect(text).not.toContain('Something went wrong');
    }
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

describe('a stored record that no longer parses', () => {
  const GUILD = '1200000000000000077';
  const GENERAL = '1300000000000000077';
  const admin: FakeUserInput = { id: '500000000000000177', username: 'admin' };
  const ADMIN_PERMISSIONS = String(PermissionFlagsBits.ManageGuild | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ViewChannel);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const start = async (env: Record<string, string> = {}): Promise<Harness> => {
    h = await startHarness({
      env: { QUOTA_DEFAULT_LIMIT: '5', ...env },
      discord: { guilds: [{ id: GUILD, name: 'Records Guild', channels: [{ id: GENERAL, name: 'general' }] }] },
    });
    return h;
  };
  const harness = (): Harness => {
    if (!h) throw new Error('no bot');
    return h;
  };
  const answer = (i: DispatchedInteraction, what: string): Promise<string> => harness().discord.waitFor(() => privateAnswer(harness().discord, i), 20_000, what);
  const imagine = (user: FakeUserInput, prompt: string, locale?: string) =>
    harness().discord.slashCommand({ name: 'imagine', user, channelId: GENERAL, ...(locale ? { locale } : {}), options: [opt.string('prompt', prompt)] });
  const delivered = (i: DispatchedInteraction) =>
    harness().discord.waitFor(() => ((harness().discord.original(i.token)?.attachments.length ?? 0) > 0 ? true : undefined), 20_000, 'the result');
  const adminCommand = (name: string, subcommand: string) => harness().discord.slashCommand({ name, subcommand, user: admin, permissions: ADMIN_PERMISSIONS, channelId: GENERAL });
  /** Writes a record's stored text as a write cut short would leave it (`bot:` is the key namespace). */
  const corrupt = (key: string, text: string) => sqliteExec(sqliteFile(harness()), `INSERT OR REPLACE INTO keyv(key, value) VALUES('bot:${key}', '${text}')`);
  const movedAside = (key: string) => harness().logs.filter((l) => l.msg.startsWith(`OPERATOR: a stored record could not be read and was moved aside (${key} → quarantine:${key}:`));
  /** The raw texts kept aside for a record. */
  const quarantined = async (key: string) =>
    (await sqliteAll<{ value: string }>(sqliteFile(harness()), 'SELECT value FROM keyv WHERE key LIKE ?', `bot:quarantine:${key}:%`)).map((r) => (JSON.parse(r.value) as { value: { raw: string } }).value.raw);
  const today = () => new Date().toISOString().slice(0, 10);

  it("a server's policy: members are refused in their language, nothing charged; /bot-admin show starts again from the defaults and says so", async () => {
    await start();
    const key = `guild:policy:${GUILD}`;
    const text = '{"value":{"v":1,"channels":[],"threadsInherit":true,"blockedTerms":["drag';
    await corrupt(key, text);
    const member = newMember();
    const refused = await answer(await imagine(member, 'a dragon over the sea'), 'the refusal');
    expect(refused).toContain("This server's settings could not be read");
    expect(refused).toContain('Its admins have been told');
    expect(refused).toContain('nothing was charged');
    expect(harness().luma.posts()).toHaveLength(0);
    const german = await answer(await imagine(newMember(), 'ein Drache', 'de'), 'the German refusal');
    expect(german).toContain('Die Einstellungen dieses Servers konnten nicht gelesen werden');
    expect(movedAside(key)).toHaveLength(1);
    expect(await quarantined(key)).toEqual([text]);

    const shown = await answer(await adminCommand('bot-admin', 'show'), 'the admin reply');
    expect(shown).toContain("This server's stored channel and blocked-term rules could not be read");
    expect(shown).toContain('the defaults apply from now on');
    await delivered(await imagine(member, 'a dragon over the sea'));
    expect((await harness().bot.ctx.quota.status({ userId: member.id, guildId: GUILD, roleIds: [], userInstalled: false })).used).toBe(1);
    expect(movedAside(key)).toHaveLength(1);
  });

  it("a server's quota settings: members are refused (also /quota), /quota-admin show names what was reset, then members are served", async () => {
    await start();
    const key = `quota:guild:${GUILD}`;
    await corrupt(key, '{"value":{"v":1,"defaultLimit":1,"serverTotal":3,"ro');
    const member = newMember();
    expect(await answer(await imagine(member, 'a quiet harbour'), 'the refusal')).toContain("This server's settings could not be read");
    const quota = await answer(await harness().discord.slashCommand({ name: 'quota', user: member, channelId: GENERAL }), 'the /quota answer');
    expect(quota).toContain("This server's settings could not be read");
    expect(harness().luma.posts()).toHaveLength(0);
    expect(movedAside(key)).toHaveLength(1);
    expect(await quarantined(key)).toHaveLength(1);

    const shown = await answer(await adminCommand('quota-admin', 'show'), 'the admin reply');
    expect(shown).toContain("This server's stored quota settings could not be read");
    await delivered(await imagine(member, 'a quiet harbour'));
    expect((await harness().bot.ctx.quota.status({ userId: member.id, guildId: GUILD, roleIds: [], userInstalled: false })).used).toBe(1);
  });

  it("a member's quota counter: the request that finds it is refused without charge, the counter is moved aside and starts again", async () => {
    await start();
    const member = newMember();
    const key = `quota:use:guild:${GUILD}:${member.id}:day:${today()}`;
    await corrupt(key, '{"value":3,"expi');
    const refused = await answer(await imagine(member, 'a paper boat'), 'the refusal');
    expect(refused).toContain("could not read this server's usage figures");
    expect(refused).toContain('nothing was charged');
    expect(harness().luma.posts()).toHaveLength(0);
    expect(movedAside(key)).toHaveLength(1);
    expect(await quarantined(key)).toEqual(['{"value":3,"expi']);
    await delivered(await imagine(member, 'a paper boat'));
    expect((await harness().bot.ctx.quota.status({ userId: member.id, guildId: GUILD, roleIds: [], userInstalled: false })).used).toBe(1);
  });

  it("the day's spend with a spend cap: refused once without charge, rebuilt from the servers' spends — not every server blocked until midnight", async () => {
    await start({ SPEND_CAP_USD_PER_DAY: '50' });
    const first = newMember();
    await delivered(await imagine(first, 'before the damage'));
    const key = `quota:spend:${today()}`;
    await corrupt(key, '{"value":23');
    const member = newMember();
    const refused = await answer(await imagine(member, 'a lantern'), 'the refusal');
    expect(refused).toContain("could not read this server's usage figures");
    expect(movedAside(key)).toHaveLength(1);
    const line = movedAside(key)[0];
    // One image so far today: the day's spend starts again from what the servers spent, not from zero.
    expect(line?.msg).toMatch(/it starts again from [1-9]\d*;/);
    await delivered(await imagine(member, 'a lantern'));
    expect(harness().luma.posts()).toHaveLength(2);
    expect(await harness().bot.ctx.quota.spendToday()).toMatchObject({ usd: expect.any(Number) as number });
    expect((await harness().bot.ctx.quota.spendToday()).usd).toBeGreaterThan(0);
  });

  it("a member's history: /history says it could not be read and starts again, the next image is listed", async () => {
    await start();
    const member = newMember();
    const key = `jobs:history:${GUILD}:${member.id}`;
    await corrupt(key, '["job-one","job-tw');
    const history = () => harness().discord.slashCommand({ name: 'history', user: member, channelId: GENERAL });
    expect(await answer(await history(), 'the /history answer')).toContain('Your history here could not be read');
    expect(movedAside(key)).toHaveLength(1);
    await delivered(await imagine(member, 'a kite in the wind'));
    expect(await answer(await history(), 'the /history answer')).toContain('a kite in the wind');
    expect(movedAside(key)).toHaveLength(1);
  });
});
