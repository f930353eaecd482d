// /bot-status: who may run it (the owner, the owning team, OPERATOR_USER_IDS), and the status line in the log.
import { afterEach, describe, expect, it } from 'vitest';
import type { DispatchedInteraction, FakeUserInput } from '../../dev/fakes/discord/server.js';
import { opt, startHarness, type Harness } from '../helpers/harness.js';
import { messageText } from '../helpers/message-text.js';
import { privateAnswer } from '../helpers/private-answer.js';

/** The owner of the fake Discord's application (GET /applications/@me). */
const OWNER: FakeUserInput = { id: '100000000000000001', username: 'owner' };
const LISTED: FakeUserInput = { id: '700000000000000077', username: 'listed-operator' };
const MEMBER: FakeUserInput = { id: '700000000000000078', username: 'member' };
const EPHEMERAL = 64;

describe('/bot-status', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** The private answer to an interaction (the deferred ephemeral reply, edited). */
  const answer = (i: DispatchedInteraction): Promise<string> =>
    h!.discord.waitFor(() => {
      const m = h!.discord.original(i.token);
      return m && ((m.flags ?? 0) & EPHEMERAL) !== 0 && m.content !== '' ? m.content : undefined;
    }, 10_000, 'the /bot-status answer');
  const status = (user: FakeUserInput, guildId?: string | null) =>
    h!.discord.slashCommand({ name: 'bot-status', user, ...(guildId !== undefined ? { guildId } : {}) });

  it("shows the application owner today's spend against the cap, the queue, Luma's limits and the last hour's failures", async () => {
    h = await startHarness({ env: { SPEND_CAP_USD_PER_DAY: '2', LUMA_MAX_CONCURRENT_JOBS: '6', LUMA_MAX_REQUESTS_PER_MINUTE: '25', QUOTA_DEFAULT_LIMIT: 'unlimited' } });
    const made = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'status: one image')] });
    await h.discord.waitFor(() => (h!.discord.original(made.token)?.attachments.length ?? 0) > 0 || undefined, 20_000, 'the image');
    h.luma.planNext({ failWith: 'content_moderated' });
    const failed = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'status: one failure')] });
    await h.discord.waitFor(() => messageText(h!.discord.original(failed.token)).includes('could not be made') || undefined, 20_000, 'the failure');

    const text = await answer(await status(OWNER));
    // Only the delivered job is spent: Luma refunds content_moderated, so the operator's spend takes it back. $0.0404 of a $2 cap.
    expect(text).toMatch(/Spend today \(UTC\):\*\* \$0\.0404 of \$2\.00 cap \(2 %\)/);
    expect(text).toMatch(/Queue:\*\* 0 waiting · 0 at Luma · 0 being delivered/);
    expect(text).toMatch(/Luma limits:\*\* 6 jobs at once \(LUMA_MAX_CONCURRENT_JOBS\) · \d+ of 25 requests in the last minute \(LUMA_MAX_REQUESTS_PER_MINUTE: Luma has not reported/);
    expect(text).toMatch(/Failures in the last hour:\*\* 1 — `content_moderated` ×1/);
    expect(text).toMatch(/Discord gateway:\*\* connected/);
  });

  it('works in a DM with the bot and for users in OPERATOR_USER_IDS', async () => {
    h = await startHarness({ env: { OPERATOR_USER_IDS: `800000000000000001, ${LISTED.id}` } });
    expect(await answer(await status(LISTED))).toMatch(/Spend today \(UTC\):\*\* \$0\.00 \(no cap set/);
    expect(await answer(await status(OWNER, null))).toMatch(/Failures in the last hour:\*\* none/);
  });

  it('refuses everyone else, privately, without showing a figure', async () => {
    h = await startHarness({ env: { OPERATOR_USER_IDS: LISTED.id } });
    const text = await answer(await status(MEMBER));
    expect(text).toMatch(/Only the bot's operator can use \/bot-status/);
    expect(text).not.toMatch(/Spend|Queue|\$/);
    // Nothing else was said in the channel.
    expect(h.discord.channelMessages(h.discord.channelId ?? '')).toHaveLength(0);
  });

  it('lets the accepted members of the team that owns the application in, and no one merely invited', async () => {
    h = await startHarness();
    const teamMember: FakeUserInput = { id: '700000000000000091', username: 'team-dev' };
    const invited: FakeUserInput = { id: '700000000000000092', username: 'team-invited' };
    // Discord's answer for an application a team owns (the fake's own application, with a team added).
    const res = await fetch(`${h.discord.apiUrl}/v10/applications/@me`, { headers: { authorization: `Bot ${h.discord.token}` } });
    const application = (await res.json()) as Record<string, unknown>;
    const member = (user: FakeUserInput, membership_state: number) => ({
      membership_state,
      team_id: '900000000000000001',
      permissions: ['*'],
      role: 'developer',
      user: { id: user.id, username: user.username, discriminator: '0', global_name: null, avatar: null },
    });
    const teamOwned = {
      ...application,
      owner: { id: '900000000000000001', username: 'team900000000000000001', discriminator: '0', global_name: null, avatar: null, flags: 1024 },
      team: { id: '900000000000000001', name: 'Ops', icon: null, owner_user_id: teamMember.id, members: [member(teamMember, 2), member(invited, 1)] },
    };
    h.discord.fault({ method: 'GET', path: '/applications/@me' }, { status: 200, body: teamOwned }, { status: 200, body: teamOwned }, { status: 200, body: teamOwned });

    expect(await answer(await status(teamMember))).toMatch(/Spend today \(UTC\)/);
    expect(await answer(await status(invited))).toMatch(/Only the bot's operator can use/);
    // The application's former owner is no longer its owner once a team holds it.
    expect(await answer(await status(OWNER))).toMatch(/Only the bot's operator can use/);
    expect(h.discord.pendingFaults).toBe(0);
  });

  it('writes the same figures to the log every STATUS_LOG_INTERVAL_MS', async () => {
    h = await startHarness({ env: { STATUS_LOG_INTERVAL_MS: '1000', SPEND_CAP_USD_PER_DAY: '3', LUMA_MAX_CONCURRENT_JOBS: '4' } });
    h.luma.planNext({ failWith: 'generation_failed' });
    const failed = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'status log: one failure')] });
    await h.discord.waitFor(() => messageText(h!.discord.original(failed.token)).includes('could not be made') || undefined, 20_000, 'the failure');
    // A line written after the member was told: by then the unit and the spend have been given back.
    const from = h.logs.lines.length;
    const line = await h.discord.waitFor(
      () => h!.logs.lines.slice(from).find((l) => l.msg === 'operator status'),
      20_000,
      'an operator status line counting the failure',
    );
    expect(line).toMatchObject({ spendUsd: 0, spendCapUsd: 3, queued: 0, lumaConcurrency: 4, failuresLastHour: 1, failuresByCode: { generation_failed: 1 }, gatewayConnected: true });
  });

  it('logs no status line when STATUS_LOG_INTERVAL_MS is 0', async () => {
    h = await startHarness({ env: { STATUS_LOG_INTERVAL_MS: '0', HTTP_PORT: '0' } });
    expect(h.config.statusLogIntervalMs).toBe(0);
    expect(h.logs.find((l) => l.msg === 'operator status')).toBeUndefined();
  });

  it("shows today's and this month's spend by server with what is left of each ceiling, and premium sold by SKU", async () => {
    h = await startHarness({
      env: { QUOTA_DEFAULT_LIMIT: 'unlimited', SERVER_CAP_USD_PER_DAY: '1', PREMIUM_USER_SKU_ID: '1300000000000000001' },
      discord: { skus: [{ id: '1300000000000000001', name: 'Plus', kind: 'user-subscription' }] },
    });
    for (const prompt of ['money: one', 'money: two']) {
      const made = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', prompt)] });
      await h.discord.waitFor(() => (h!.discord.original(made.token)?.attachments.length ?? 0) > 0 || undefined, 20_000, 'the image');
    }
    h.discord.purchase({ skuId: '1300000000000000001', userId: MEMBER.id ?? '' });
    await h.discord.waitFor(() => h!.logs.find((l) => l.msg === "premium: a member's tier started"), 10_000, 'the tier');
    const text = await answer(await status(OWNER));
    expect(text).toContain('**Spend by server today (top 10):**');
    expect(text).toContain('1. Fake Guild: $0.0808 · 2 units · $0.9192 of its ceiling left');
    expect(text).toMatch(/\*\*Spend by server in \d{4}-\d{2} \(top 10\):\*\*\n1\. Fake Guild: \$0\.0808 · 2 units/);
    expect(text).toContain('**Premium:** member tier (SKU 1300000000000000001): 1 running');
  });
});

describe('/bot-operator', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const GUILD = '1200000000000000001';
  const answer = (i: DispatchedInteraction): Promise<string> =>
    h!.discord.waitFor(() => {
      const m = h!.discord.original(i.token);
      return m && ((m.flags ?? 0) & EPHEMERAL) !== 0 && m.content !== '' ? m.content : undefined;
    }, 10_000, 'the private answer');
  const operator = (subcommand: string, options: ReturnType<(typeof opt)[keyof typeof opt]>[], user = OWNER) =>
    h!.discord.slashCommand({ name: 'bot-operator', subcommand, options, user, guildId: null });
  const imagine = () => h!.discord.slashCommand({ name: 'imagine', user: MEMBER, options: [opt.string('prompt', 'ceiling')] });
  const made = (i: DispatchedInteraction) => h!.discord.waitFor(() => (h!.discord.original(i.token)?.attachments.length ?? 0) > 0 || undefined, 20_000, 'the image');

  it("sets one server's ceiling above or below the default, clears it back, and shows the server's figures", async () => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: 'unlimited', SERVER_CAP_USD_PER_DAY: '0.05' } });
    await made(await imagine());
    const usd = (n: number) => ({ name: 'usd', type: 10, value: n });
    const set = await answer(await operator('set-server-cap', [opt.string('server', GUILD), usd(0.1)]));
    expect(set).toContain(`Server ${GUILD} may now spend at most **$0.10** a day (UTC)`);
    expect(set).toContain('Today (UTC): $0.0404 spent · 1 unit · $0.0596 of its ceiling left');
    await made(await imagine());
    const shown = await answer(await operator('server', [opt.string('server', GUILD)]));
    expect(shown).toContain('Ceiling: $0.10 a day (set by the operator)');
    expect(shown).toMatch(/This month \(\d{4}-\d{2}\): \$0\.0808 · 2 units · 2 requests/);
    const cleared = await answer(await operator('clear-server-cap', [opt.string('server', GUILD)]));
    expect(cleared).toContain('the default applies, $0.05 a day');
    const refused = await imagine();
    expect(await h.discord.waitFor(() => privateAnswer(h!.discord, refused), 10_000, 'the refusal')).toContain("daily spending limit the bot's operator set for it");
    expect(h.luma.posts()).toHaveLength(2);
  });

  it('refuses everyone but the operators, and a server id that is not one', async () => {
    h = await startHarness();
    expect(await answer(await operator('set-server-cap', [opt.string('server', GUILD), { name: 'usd', type: 10, value: 5 }], MEMBER))).toMatch(/Only the bot's operator can use \/bot-operator/);
    expect(await h.bot.parts.quota.ceilings.override(GUILD)).toBeUndefined();
    expect(await answer(await operator('server', [opt.string('server', 'my server')]))).toContain('is not a server id');
  });
});
