// The job scheduler: one timer for every job, not a timer per job; polls no sooner than asked after the POST and
// between polls; a Retry-After on a poll waited out. The bot runs in-process here (the same startBot the entry point
// calls) because counting its timers needs to see inside the process.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, opt, type Harness } from '../helpers/harness.js';

describe('the job scheduler', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const imagineAs = (p: Harness, n: number, prompt: string) =>
    p.discord.slashCommand({ name: 'imagine', user: { id: `7000000000000${String(n).padStart(5, '0')}`, username: `u${n}` }, options: [opt.string('prompt', prompt)] });

  /** Fewest active timers seen over a short while: the idle count, without timers of requests that happen to be in flight. */
  const idleTimers = async (): Promise<number> => {
    let min = Infinity;
    for (let n = 0; n < 30; n++) {
      min = Math.min(min, process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length);
      await new Promise((r) => setTimeout(r, 25));
    }
    return min - 1; // the sampling timer itself
  };

  it('keeps one timer for the whole queue however many jobs wait, poll or queue', async () => {
    h = await startHarness({ env: { POLL_INTERVAL_MS: '1000', LUMA_MAX_CONCURRENT_JOBS: '20', QUOTA_DEFAULT_LIMIT: '100' } });
    const p = h;
    for (let n = 0; n < 40; n++) p.luma.planNext({ hold: true });
    await imagineAs(p, 0, 'one timer: first');
    await p.discord.waitFor(() => p.luma.generations()[0]?.state === 'processing', 10_000, 'the first job at Luma');
    await new Promise((r) => setTimeout(r, 1500));
    const withOne = await idleTimers();

    // 39 more: 19 at Luma (polling), 20 waiting in the local queue.
    for (let n = 1; n < 40; n++) await imagineAs(p, n, `one timer: ${n}`);
    await p.discord.waitFor(() => p.luma.generations().length === 20, 15_000, 'twenty jobs at Luma');
    await new Promise((r) => setTimeout(r, 1500));
    const withForty = await idleTimers();

    expect(p.bot.parts.engine.jobStats().total).toBe(40);
    // A timer per job would add 39; the one scheduler adds none (a little slack for connection keep-alives).
    expect(withForty - withOne).toBeLessThan(5);
  });

  it('polls no sooner than a second after the POST, then no more often than POLL_INTERVAL_MS', async () => {
    h = await startHarness({ env: { POLL_INTERVAL_MS: '2500' }, luma: { queuedMs: 500, processingMs: 7500 } });
    const p = h;
    const { token } = await imagineAs(p, 100, 'cadence: a clock tower');
    await p.discord.waitFor(() => (p.discord.original(token)?.attachments.length ?? 0) > 0, 20_000, 'the result');

    const id = p.luma.generations()[0]?.id ?? '';
    const post = p.luma.posts()[0]?.at ?? 0;
    const polls = p.luma.requests.filter((r) => r.method === 'GET' && r.path === `/v1/generations/${id}`).map((r) => r.at);
    const gaps = polls.map((at, n) => at - (n === 0 ? post : (polls[n - 1] ?? 0)));
    expect(polls.length).toBeGreaterThanOrEqual(3);
    // The first poll comes soon (to show "generating" early) but not at once; then the regular cadence, never faster
    // than asked. How late a poll may come is a timing goal, measured by the bench: a loaded machine only delays.
    // (The last GET is the download's fresh-URL check, if any.)
    expect(gaps[0]).toBeGreaterThanOrEqual(950);
    for (const gap of gaps.slice(1)) expect(gap).toBeGreaterThanOrEqual(2450);
  });

  it('waits out a Retry-After on a poll that is longer than the client waits by itself', async () => {
    h = await startHarness({ env: { POLL_INTERVAL_MS: '200' } });
    const p = h;
    p.luma.planNext({ hold: true });
    const { token } = await imagineAs(p, 200, 'retry-after: a lantern');
    await p.discord.waitFor(() => p.luma.generations()[0]?.state === 'processing', 10_000, 'the job at Luma');
    const id = p.luma.generations()[0]?.id ?? '';
    const path = `/v1/generations/${id}`;
    p.luma.fault({ method: 'GET', path, exact: true }, { status: 429, body: { detail: 'Rate limit exceeded' }, headers: { 'Retry-After': '10', 'X-RateLimit-Limit': '60', 'X-RateLimit-Remaining': '0' } });
    const limited = await p.discord.waitFor(() => p.luma.requests.find((r) => r.path === path && r.fault), 5000, 'the 429');
    const next = await p.discord.waitFor(() => p.luma.requests.find((r) => r.path === path && r.at > limited.at), 15_000, 'the next poll');
    expect(next.at - limited.at).toBeGreaterThanOrEqual(9_900);

    p.luma.release(id);
    await p.discord.waitFor(() => (p.discord.original(token)?.attachments.length ?? 0) > 0, 10_000, 'the result');
  });
});
