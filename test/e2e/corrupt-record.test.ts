// Start-up on a SQLite file whose job index holds a truncated record: the real bot process logs one OPERATOR line,
// quarantines the record, resumes the good job and serves new commands (instead of exiting into a restart loop).
import { afterEach, describe, expect, it } from 'vitest';
import { delivered, imagine, killLeftoverBots, newMember, startBotProcess, type ProcessHarness } from '../helpers/process.js';
import { sqliteExec } from '../helpers/storage-faults.js';

describe('a corrupt job record at start', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  it('is quarantined with one OPERATOR line, and the bot still resumes and serves the other jobs', async () => {
    h = await startBotProcess();
    const member = newMember();
    h.luma.planNext({ hold: true });
    const held = await imagine(h.discord, member, 'corrupt: the good job');
    await h.discord.waitFor(() => h?.luma.generations().length === 1, 10_000, 'the good job at Luma');
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
    expect(await delivered(h.discord, held, 'corrupt: the good job', member)).toHaveLength(1);
    const fresh = newMember();
    const i = await imagine(h.discord, fresh, 'corrupt: a new job after the start');
    expect(await delivered(h.discord, i, 'corrupt: a new job after the start', fresh)).toHaveLength(1);
    expect(bot.lines.filter((l) => l.msg.startsWith('OPERATOR:'))).toHaveLength(1);
  });
});
