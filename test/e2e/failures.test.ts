// What a member sees for each Luma failure (codes and HTTP statuses), the operator's log line, the reference id,
// and the in-client retry of a rate-limited POST. Each test has its own bot, fakes and log, so an assertion on the
// log or on the fake's requests can only pass on what that test caused.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { APIMessage } from 'discord.js';
import { startHarness, opt, type Harness } from '../helpers/harness.js';

/** Runs one /imagine and returns the failure message the member ends up with. */
async function failureOf(h: Harness, prompt: string): Promise<APIMessage> {
  const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', prompt)] });
  return h.discord.waitFor(() => {
    const m = h.discord.original(token);
    return m && m.embeds.some((e) => e.title?.includes('could not be made')) ? m : undefined;
  }, 15_000, `the failure message for "${prompt}"`);
}

const text = (m: APIMessage) => m.embeds.map((e) => e.description ?? '').join('\n');
const hasRetry = (m: APIMessage) => JSON.stringify(m.components).includes('job:retry:');

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
});
