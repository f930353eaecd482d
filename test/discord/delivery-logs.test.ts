// When Discord refuses a delivery, the logs say which route failed and why, and never carry an interaction token,
// a key or the image; a result Discord refuses with a 400 is sent once more in a plain form instead of being
// dropped. The real bot (in process, with a capturing logger) against the fakes.
import { afterEach, describe, expect, it } from 'vitest';
import { noisePng } from '../../dev/fakes/png.js';
import { opt, startHarness, type Harness } from '../helpers/harness.js';
import { newMember } from '../helpers/process.js';

const ORIGINAL = /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/;
const FOLLOWUP = /^\/webhooks\/\d+\/[^/]+$/;
const INVALID_FORM = {
  status: 400,
  body: { message: 'Invalid Form Body', code: 50035, errors: { embeds: { 0: { description: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 4096 or fewer in length.' }] } } } } },
};
const MAX_LINE = 64 * 1024;

describe('logs of refused deliveries', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('carry route, status and Discord code, but no token, no key, no bytes, on every delivery failure path', async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'debug' } });
    const { discord, luma, logs } = h;
    const member = newMember();
    const tokens: string[] = [];
    // Every route refuses: the reply (400, also for every progress edit), the channel (no permission), the DM.
    discord.fault({ method: 'PATCH', path: ORIGINAL }, ...Array.from({ length: 60 }, () => INVALID_FORM));
    discord.markChannelMissingPermissions(discord.channelId ?? '');
    discord.markUserCannotDm(member.id);
    // A big, incompressible result: written as a JSON array of numbers it would be megabytes on one line.
    luma.planNext({ output: noisePng(400, 400) });
    const first = await discord.slashCommand({ name: 'imagine', user: member, options: [opt.string('prompt', 'logs: a quarry')] });
    tokens.push(first.token);
    await discord.waitFor(() => logs.find((l) => String(l.msg).startsWith('result kept')), 30_000, 'the result being kept');

    // Handing it over fails too (the follow-up is refused, in full and in plain form).
    discord.fault({ method: 'POST', path: FOLLOWUP }, INVALID_FORM, INVALID_FORM);
    const second = await discord.slashCommand({ name: 'quota', user: member });
    tokens.push(second.token);
    await discord.waitFor(() => logs.find((l) => String(l.msg).startsWith('kept result could not be handed over')), 15_000, 'the failed hand-over');

    // And a failure notice that reaches nobody.
    luma.planNext({ failWith: 'generation_failed' });
    const third = await discord.slashCommand({ name: 'imagine', user: member, options: [opt.string('prompt', 'logs: a failing quarry')] });
    tokens.push(third.token);
    await discord.waitFor(() => logs.find((l) => l.msg === 'could not tell the member about the failure on any route'), 30_000, 'the undeliverable failure notice');

    for (const secret of [discord.token, luma.apiKey, ...tokens]) expect(logs.raw).not.toContain(secret);
    expect(logs.raw).not.toContain('requestBody');
    expect(logs.raw).not.toContain('"type":"Buffer"');
    const longest = Math.max(...logs.raw.split('\n').map((l) => Buffer.byteLength(l)));
    expect(longest).toBeLessThanOrEqual(MAX_LINE);
    const refused = logs.filter((l) => l.msg === 'Discord delivery route failed');
    expect(refused.map((l) => l.route)).toEqual(expect.arrayContaining(['original', 'channel', 'dm']));
    const err = refused.find((l) => l.route === 'original')?.err as Record<string, unknown>;
    expect(err).toMatchObject({ method: 'PATCH', status: 400, code: 50035, discordMessage: 'Invalid Form Body' });
    expect(err.route).toMatch(/^\/webhooks\/\d+\/:token\/messages\/@original$/);
    expect(logs.find((l) => l.msg === 'progress edit failed')).toBeDefined();

  });
});

describe('a result Discord refuses with a 400', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('is sent once more without embed or buttons, in the same reply', async () => {
    // One progress edit at the start, then none: the next edit of the reply is the result.
    h = await startHarness({ env: { PROGRESS_INTERVAL_MS: '60000' } });
    const { discord, luma } = h;
    luma.planNext({ hold: true });
    const i = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'plain: a windmill')] });
    await discord.waitFor(() => luma.generations().at(-1)?.state === 'processing' && discord.edits(i.token).length > 0, 15_000, 'the job at Luma');
    discord.fault({ method: 'PATCH', path: ORIGINAL }, INVALID_FORM);
    luma.release(luma.generations().at(-1)?.id ?? '');

    const m = await discord.waitFor(() => {
      const o = discord.original(i.token);
      return o && o.attachments.length > 0 ? o : undefined;
    }, 20_000, 'the result in the reply');
    expect(discord.pendingFaults).toBe(0);
    expect(m.embeds).toEqual([]);
    expect(m.components ?? []).toEqual([]);
    expect(m.content).toContain('plain: a windmill');
    expect(discord.requestsTo('POST', /^\/channels\/\d+\/messages$/)).toHaveLength(0);
  });
});
