// What a member sees for each Luma failure (codes and HTTP statuses), the operator's log line, the reference id,
// the in-client retry of a rate-limited POST, and the delivery paths that need the whole bot: a result no route
// reached handed over at the member's next command, a fresh output URL after a 403, and Retry after a failed download
// (the deliverer's own routes are tested directly: test/discord/deliverer.test.ts). Each test has its own bot, fakes and log, so an assertion on the
// log or on the fake's requests can only pass on what that test caused.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { APIMessage } from 'discord.js';
import { startHarness, opt, type Harness } from '../helpers/harness.js';
import { delivered, deliveriesOf, imagine, newMember, quotaUsed } from '../helpers/process.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';

/** Runs one /imagine and returns the failure message the member ends up with. */
async function failureOf(h: Harness, prompt: string): Promise<APIMessage> {
  const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', prompt)] });
  return h.discord.waitFor(() => {
    const m = h.discord.original(token);
    return m && messageText(m).includes('could not be made') ? m : undefined;
  }, 15_000, `the failure message for "${prompt}"`);
}

const text = (m: APIMessage) => messageText(m);
const hasRetry = (m: APIMessage) => customIdsOf(m).some((id) => id.startsWith('job:retry:'));

describe('every failure ends in a message a member understands', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: 'unlimited' } });
  });
  afterEach(async () => {
    await h.close();
  });

  it.each([
    ['content_moderated', /safety filter/, false],
    ['generation_failed', /model failed/, true],
    ['output_not_found', /could not store it/, true],
    ['budget_exhausted', /run out of credit/, false],
    ['image_too_large', /too large/, false],
    ['unsupported_format', /format Luma does not take/, false],
    ['corrupt_input', /could not be read/, false],
    ['invalid_request', /bug on our side/, true],
  ] as const)('Luma failure %s', async (code, pattern, retry) => {
    h.luma.planNext({ failWith: code });
    const m = await failureOf(h, `fails with ${code}`);
    expect(text(m)).toMatch(pattern);
    expect(hasRetry(m)).toBe(retry);
    if (code !== 'content_moderated') expect(text(m)).toMatch(/did not count against your quota/);
  });

  it.each([
    [400, /did not accept the request/],
    [401, /API key was rejected/],
    [402, /run out of credit/],
    [403, /suspended/],
    [413, /too large/],
    [422, /could not read one of the images/],
    [500, /did not answer properly/],
  ] as const)('Luma HTTP %i on submit', async (status, pattern) => {
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status, body: { detail: `scripted ${status}` } });
    const m = await failureOf(h, `http ${status}`);
    expect(text(m)).toMatch(pattern);
    expect(text(m)).toMatch(/did not count against your quota/);
  });

  it('tells the operator in the logs when Luma is out of credit', async () => {
    h.luma.planNext({ failWith: 'budget_exhausted' });
    await failureOf(h, 'budget again');
    expect(h.logs.find((l) => l.msg.startsWith('OPERATOR:') && l.msg.includes('budget'))).toBeDefined();
  });

  it('shows a reference id for failures on our side that matches a log line', async () => {
    h.luma.planNext({ failWith: 'invalid_request' });
    const m = await failureOf(h, 'needs a reference');
    const ref = /Reference: `([0-9A-F]{8})`/.exec(text(m))?.[1];
    expect(ref).toBeDefined();
    expect(h.logs.find((l) => l.ref === ref)).toBeDefined();
  });

  it('waits and retries by itself when Luma rate-limits a POST, instead of failing', async () => {
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status: 429, body: { detail: 'Rate limit exceeded' }, headers: { 'Retry-After': '1' } });
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'after a 429')] });
    const m = await h.discord.waitFor(() => {
      const o = h.discord.original(token);
      return o && o.attachments.length > 0 ? o : undefined;
    }, 15_000, 'the result after the 429');
    expect(m.attachments).toHaveLength(1);
    // The fake served the 429, and the same request came again (no earlier than Retry-After) and was accepted.
    const posts = h.luma.posts();
    expect(posts.map((p) => p.status)).toEqual([429, 201]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
    // Meanwhile the member was told why it waited.
    expect(h.discord.edits(token).some((e) => JSON.stringify(e.json).includes('Luma is busy right now'))).toBe(true);
  });

  /** Runs /imagine with a held generation and resolves once Luma is processing it and the reply shows progress. */
  const heldJob = async (member: ReturnType<typeof newMember>, prompt: string) => {
    h.luma.planNext({ hold: true });
    const i = await imagine(h.discord, member, prompt);
    await h.discord.waitFor(() => h.luma.generations().at(-1)?.state === 'processing' && h.discord.edits(i.token).length > 0, 10_000, 'the job at Luma');
    const id = h.luma.generations().at(-1)?.id ?? '';
    return { i, release: () => h.luma.release(id), generationId: id };
  };

  it('keeps the result when neither the channel nor a DM works, and hands it over at the member’s next command', async () => {
    const member = newMember();
    const job = await heldJob(member, 'kept: a glacier');
    h.discord.expireToken(job.i.token);
    h.discord.markChannelMissingPermissions(h.discord.channelId ?? '');
    h.discord.markUserCannotDm(member.id);
    job.release();
    await h.discord.waitFor(() => h.logs.find((l) => String(l.msg).startsWith('result kept')), 20_000, 'the result being kept');
    expect(deliveriesOf(h.discord, job.i, 'kept: a glacier', member)).toHaveLength(0);

    // Any command of theirs will do: the kept image follows their answer.
    const q = await h.discord.slashCommand({ name: 'quota', user: member });
    const handed = await h.discord.waitFor(() => h.discord.followups(q.token).find((m) => m.attachments.length > 0), 15_000, 'the handed-over image');
    expect(messageText(handed)).toContain(`<@${member.id}>, here is an image the bot could not deliver earlier.`);
    expect(messageText(handed)).toContain('kept: a glacier');
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });
  it('fetches the generation again for a fresh URL when the first download answers 403', async () => {
    const member = newMember();
    h.luma.fault({ method: 'GET', path: '/files/' }, { status: 403, body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>' });
    const i = await imagine(h.discord, member, 'fresh url: a bridge');

    const d = await delivered(h.discord, i, 'fresh url: a bridge', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    const files = h.luma.requests.filter((r) => r.path.startsWith('/files/'));
    expect(files).toHaveLength(2);
    expect(files[0]?.fault).toBeDefined();
    expect(files[0]?.path).not.toBe(files[1]?.path);
    // Between the two downloads the bot asked Luma for the generation again (that is where the new URL came from).
    const between = h.luma.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/generations/') && r.at >= (files[0]?.at ?? 0) && r.at <= (files[1]?.at ?? 0));
    expect(between.length).toBeGreaterThan(0);
    const generation = h.luma.generations()[0]!;
    expect(h.discord.edits(i.token).at(-1)?.files[0]?.data.equals(h.luma.outputBytes(generation.id))).toBe(true);
  });
  it('tells the member with the job id and a Retry button when the image cannot be fetched, and Retry delivers it', async () => {
    const member = newMember();
    h.luma.fault({ method: 'GET', path: '/files/' }, ...Array.from({ length: 4 }, () => ({ status: 500 })));
    const i = await imagine(h.discord, member, 'retry: a volcano');

    const failed = await h.discord.waitFor(() => {
      const m = h.discord.original(i.token);
      return m && messageText(m).includes('could not fetch it') ? m : undefined;
    }, 30_000, 'the failure message');
    const jobId = /-# job (\S+)/.exec(messageText(failed))?.[1] ?? '';
    expect(jobId).not.toBe('');
    expect(customIdsOf(failed)).toEqual([`job:retry:${jobId}`]);
    expect(await quotaUsed(h.discord, member)).toBe(0);

    const click = await h.discord.button({ customId: `job:retry:${jobId}`, user: member, message: { id: failed.id } });
    const d = await delivered(h.discord, click, 'retry: a volcano', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    // Made once at Luma: the retry fetched the same generation again.
    expect(h.luma.posts()).toHaveLength(1);
  });
});
