// Graceful shutdown: SIGTERM stops taking work, lets running steps finish (cutting any that hang), closes
// connections and exits 0; the next start resumes what was left. The real entry point.
import { afterEach, describe, expect, it } from 'vitest';
import { delivered, imagine, killLeftoverBots, newMember, quotaUsed, startBotProcess, type ProcessHarness } from '../helpers/process.js';

describe('graceful shutdown', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  const generationIds = (p: ProcessHarness) => p.luma.generations().map((g) => g.id);

  it('exits 0 on SIGTERM with jobs at Luma, and delivers them all after a restart', async () => {
    h = await startBotProcess();
    const members = [newMember(), newMember(), newMember()];
    const prompts = members.map((_, n) => `sigterm: picture ${n}`);
    for (const _ of members) h.luma.planNext({ hold: true });
    const interactions = [];
    for (const [n, m] of members.entries()) interactions.push(await imagine(h.discord, m, prompts[n] ?? ''));
    await h.discord.waitFor(() => h?.luma.generations().length === 3, 10_000, 'three jobs at Luma');

    const exit = await h.kill('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(h.bot.lines.some((l) => l.msg === 'bot stopped')).toBe(true);

    await h.start();
    for (const id of generationIds(h)) h.luma.release(id);
    for (const [n, m] of members.entries()) {
      expect(await delivered(h.discord, interactions[n]!, prompts[n] ?? '', m)).toHaveLength(1);
    }
    expect(h.luma.posts()).toHaveLength(3);
    for (const m of members) expect(await quotaUsed(h.discord, m)).toBe(1);
  });

  it('exits 0 on SIGTERM while a poll hangs, and resumes the job', async () => {
    h = await startBotProcess();
    const member = newMember();
    h.luma.planNext({ hold: true });
    const i = await imagine(h.discord, member, 'hung poll: a tower');
    await h.discord.waitFor(() => h?.luma.generations()[0]?.state === 'processing', 10_000, 'the job at Luma');
    const gets = h.luma.requests.filter((r) => r.method === 'GET').length;
    h.luma.fault({ method: 'GET', path: '/v1/generations/' }, { hang: true });
    await h.discord.waitFor(() => h?.luma.requests.filter((r) => r.method === 'GET').length === gets + 1, 5000, 'the hanging poll');

    const exit = await h.kill('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(h.bot.lines.some((l) => l.msg === 'bot stopped')).toBe(true);
    // The hanging poll was cut after the grace period — and, cut short by the shutdown, did not turn into a failure.
    expect(h.bot.lines.some((l) => String(l.msg).startsWith('cutting running job steps short'))).toBe(true);
    expect(h.bot.lines.some((l) => l.msg === 'job failed')).toBe(false);

    await h.start();
    h.luma.release(generationIds(h)[0] ?? '');
    expect(await delivered(h.discord, i, 'hung poll: a tower', member)).toHaveLength(1);
  });

  it('exits 0 on SIGTERM that arrives while the bot is still starting, and starts cleanly afterwards', async () => {
    h = await startBotProcess();
    await h.kill('SIGTERM');
    await h.start({ waitReady: false });
    // The first thing the bot does is check the Luma key: it is starting, not ready.
    await h.bot.waitForLog((l) => String(l.msg).startsWith('luma request'), 20_000, 'the start-up Luma check');
    const exit = await h.kill('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });

    await h.start();
    const member = newMember();
    const i = await imagine(h.discord, member, 'after an early SIGTERM: a kite');
    expect(await delivered(h.discord, i, 'after an early SIGTERM: a kite', member)).toHaveLength(1);
  });
});
