// Quotas end to end: /quota, /quota-admin, refusals at the limit, refunds and the spend cap, through the real bot.
import { InteractionResponseType, MessageFlags, PermissionFlagsBits } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { periodEnd } from '../../src/quota/periods.js';
import type { DispatchedInteraction, FakeUserInput } from '../../dev/fakes/discord/server.js';
import { privateAnswer as privateAnswerOf } from '../helpers/private-answer.js';
import { opt, startHarness, type Harness, type HarnessOptions } from '../helpers/harness.js';
import { messageText } from '../helpers/message-text.js';

const GUILD = '1200000000000000001';
const SUPPORTER = '1250000000000000001';
const admin: FakeUserInput = { id: '500000000000000100', username: 'admin' };
const ADMIN_PERMISSIONS = String(PermissionFlagsBits.ManageGuild | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ViewChannel);

let nextUser = 1;
const newMember = (): FakeUserInput => ({ id: `5000000000000${String(nextUser++).padStart(5, '0')}`, username: `member${nextUser}` });
const nextMidnight = (): number => Math.floor(periodEnd('day', Date.now()) / 1000);

describe('quotas end to end', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const start = async (env: Record<string, string> = {}, extra: HarnessOptions = {}): Promise<Harness> => {
    h = await startHarness({
      env: { QUOTA_DEFAULT_LIMIT: '5', ...env },
      discord: { guilds: [{ id: GUILD, name: 'Quota Guild', roles: [{ id: SUPPORTER, name: 'Supporter', permissions: '0' }] }] },
      ...extra,
    });
    return h;
  };

  const privateAnswer = (i: DispatchedInteraction): string | undefined => privateAnswerOf(h.discord, i);
  const answer = (i: DispatchedInteraction, what: string): Promise<string> => h.discord.waitFor(() => privateAnswer(i), 10_000, what);

  const imagine = (user: FakeUserInput, extra: { roles?: string[]; guildId?: string | null; model?: string } = {}) =>
    h.discord.slashCommand({
      name: 'imagine',
      user,
      ...(extra.roles ? { roles: extra.roles } : {}),
      ...(extra.guildId !== undefined ? { guildId: extra.guildId } : {}),
      options: [opt.string('prompt', 'a lighthouse at dusk'), ...(extra.model ? [opt.string('model', extra.model)] : [])],
    });
  const delivered = (i: DispatchedInteraction) =>
    h.discord.waitFor(() => ((h.discord.original(i.token)?.attachments.length ?? 0) > 0 ? true : undefined), 15_000, 'the result');
  const quotaAdmin = (subcommand: string, options: ReturnType<(typeof opt)[keyof typeof opt]>[] = [], user = admin, permissions = ADMIN_PERMISSIONS) =>
    h.discord.slashCommand({ name: 'quota-admin', subcommand, options, user, permissions });

  it('/quota tells a member their allowance, use, remaining units, reset time and model costs, privately', async () => {
    await start();
    const member = newMember();
    await delivered(await imagine(member));
    const q = await h.discord.slashCommand({ name: 'quota', user: member });
    const text = await answer(q, 'the /quota answer');
    expect(h.discord.callbacks(q.id)[0]).toMatchObject({ type: 5 });
    expect(text).toContain('on this server');
    expect(text).toContain('5 units per day');
    expect(text).toContain("the bot's default");
    expect(text).toMatch(/Used today: \*\*1\*\* · Remaining: \*\*4\*\*/);
    expect(text).toContain(`<t:${nextMidnight()}:R>`);
    expect(text).toContain('uni-1 costs 1 unit, uni-1-max costs 3 units');
  });

  it('/quota works in DMs and shows the DM allowance', async () => {
    await start({ QUOTA_DM_LIMIT: '2', QUOTA_DM_PERIOD: 'week' });
    const q = await h.discord.slashCommand({ name: 'quota', user: newMember(), guildId: null });
    const text = await answer(q, 'the /quota answer in DMs');
    expect(text).toContain('in DMs and user-installed use');
    expect(text).toContain('2 units per week');
    expect(text).toContain(`<t:${Math.floor(periodEnd('week', Date.now()) / 1000)}:R>`);
  });

  it('an admin lowers the default with /quota-admin and a member is refused privately after it', async () => {
    await start();
    const set = await quotaAdmin('set-default', [opt.int('limit', 1), opt.string('period', 'day')]);
    expect(await answer(set, 'the admin reply')).toContain('1 unit per day');
    // The change waits for the server's settings lock, so the command defers (privately) before it.
    expect(h.discord.callbacks(set.id)[0]).toMatchObject({ type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: MessageFlags.Ephemeral } });
    const member = newMember();
    await delivered(await imagine(member));
    const second = await imagine(member);
    const refusal = await answer(second, 'the refusal');
    expect(refusal).toContain('1 of 1 units today');
    expect(refusal).toContain(`<t:${nextMidnight()}:R>`);
    expect(h.luma.posts()).toHaveLength(1);
    // The public "thinking…" deferral is removed, so the refusal leaves nothing in the channel.
    expect(h.discord.original(second.token)).toBeUndefined();

    const show = await quotaAdmin('show');
    const shown = await answer(show, 'the show reply');
    expect(shown).toContain('Default: **1 unit per day**');
  });

  it('gives a member with a role limit the role limit, set by an admin', async () => {
    await start({ QUOTA_DEFAULT_LIMIT: '0' });
    await answer(await quotaAdmin('set-role', [opt.role('role', SUPPORTER), opt.int('limit', 2)]), 'the admin reply');
    const supporter = newMember();
    await delivered(await imagine(supporter, { roles: [SUPPORTER] }));
    await delivered(await imagine(supporter, { roles: [SUPPORTER] }));
    expect(await answer(await imagine(supporter, { roles: [SUPPORTER] }), 'the refusal')).toContain('2 units per day');
    expect(await answer(await imagine(newMember()), 'the refusal without the role')).toContain('your limit is 0');
    expect(h.luma.posts()).toHaveLength(2);
  });

  it('refuses a member without Manage Server and changes nothing, even when the server opened the command to them', async () => {
    await start();
    const member = newMember();
    // Discord would hide the command (default_member_permissions), but a server may override that.
    const attempt = await quotaAdmin('set-default', [opt.int('limit', 0)], member, String(PermissionFlagsBits.SendMessages));
    expect(await answer(attempt, 'the refusal')).toMatch(/Manage Server.*Nothing was changed/);
    const show = await answer(await quotaAdmin('show'), 'the show reply');
    expect(show).toContain("5 units per day** (the bot's default");
    await delivered(await imagine(member));
  });

  it('rejects out-of-range values with a clear message and keeps the setting', async () => {
    await start();
    const tooBig = await quotaAdmin('set-default', [opt.int('limit', 100_001)]);
    expect(await answer(tooBig, 'the refusal')).toContain('whole number from 0 to 100,000');
    const both = await quotaAdmin('set-user', [opt.user('user', admin.id ?? ''), opt.int('limit', 3), opt.bool('unlimited', true)]);
    expect(await answer(both, 'the refusal')).toContain('either a limit or unlimited');
    expect(await answer(await quotaAdmin('show'), 'the show reply')).toContain("(the bot's default");
  });

  it('lets exactly 3 of 20 simultaneous /imagine through at a limit of 3 and refuses 17 privately', async () => {
    await start({ QUOTA_DEFAULT_LIMIT: '3' });
    const member = newMember();
    const all = await Promise.all(Array.from({ length: 20 }, () => imagine(member)));
    await h.discord.waitFor(() => all.filter((i) => privateAnswer(i) !== undefined).length === 17, 20_000, '17 refusals');
    await h.discord.waitFor(() => (h.luma.posts().length === 3 ? true : undefined), 15_000, '3 POSTs');
    const refusals = all.map(privateAnswer).filter((t): t is string => t !== undefined);
    for (const r of refusals) expect(r).toContain(`<t:${nextMidnight()}:R>`);
    // Every command has reached its end (17 refused, 3 delivered): none of them sent a fourth job.
    for (const i of all.filter((i) => privateAnswer(i) === undefined)) await delivered(i);
    expect(h.luma.posts()).toHaveLength(3);
  });

  it('gives the unit back after generation_failed, but not after content moderation', async () => {
    await start({ QUOTA_DEFAULT_LIMIT: '1' });
    const member = newMember();
    h.luma.planNext({ failWith: 'generation_failed' });
    const failed = await imagine(member);
    await h.discord.waitFor(() => (messageText(h.discord.original(failed.token)).includes('did not count') ? true : undefined), 15_000, 'the failure');
    await h.discord.waitFor(() => h.logs.find((l) => l.msg === 'quota refunded' && l.reason === 'generation_failed'), 5000, 'the refund');
    expect(await answer(await h.discord.slashCommand({ name: 'quota', user: member }), '/quota')).toContain('Remaining: **1**');

    h.luma.planNext({ failWith: 'content_moderated' });
    const moderated = await imagine(member);
    await h.discord.waitFor(() => (messageText(h.discord.original(moderated.token)).includes('safety filter') ? true : undefined), 15_000, 'the moderation');
    expect(await answer(await imagine(member), 'the refusal')).toContain('1 of 1 units today');
    expect(h.luma.posts()).toHaveLength(2);
  });

  it('refuses everyone past the daily spend cap and warns the operator once', async () => {
    await start({ QUOTA_DEFAULT_LIMIT: '100', SPEND_CAP_USD_PER_DAY: '0.05' });
    await delivered(await imagine(newMember()));
    const first = await answer(await imagine(newMember()), 'the spend cap refusal');
    expect(first).toContain('daily spending limit');
    expect(first).toContain(`<t:${nextMidnight()}:R>`);
    await answer(await imagine(newMember()), 'the second refusal');
    expect(h.logs.filter((l) => l.level === 40 && l.msg.includes('spend cap'))).toHaveLength(1);
    expect(h.luma.posts()).toHaveLength(1);
  });

  it("stops an admin's unlimited at the operator's ceiling with no POST past it, and /quota-admin show says so with today's spend", async () => {
    await start({ SERVER_CAP_USD_PER_DAY: '0.05' });
    const member = newMember();
    await answer(await quotaAdmin('set-user', [opt.user('user', member.id ?? ''), opt.bool('unlimited', true)]), 'the admin reply');
    await delivered(await imagine(member));
    const refusal = await answer(await imagine(member), 'the ceiling refusal');
    expect(refusal).toContain("daily spending limit the bot's operator set for it");
    expect(h.luma.posts()).toHaveLength(1);
    const shown = await answer(await quotaAdmin('show'), 'the show reply');
    expect(shown).toContain("Operator's ceiling: **$0.05** of spend per day (UTC), $0.0404 spent today");
    expect(shown).toContain('unlimited means up to it');
  });

  it("holds each server to its share of the daily cap, with two servers", async () => {
    const OTHER = '1200000000000000002';
    h = await startHarness({
      env: { QUOTA_DEFAULT_LIMIT: '100', SPEND_CAP_USD_PER_DAY: '0.2', SPEND_CAP_SERVER_SHARE: '50' },
      discord: { guilds: [{ id: GUILD, name: 'Busy' }, { id: OTHER, name: 'Quiet' }] },
    });
    const busy = newMember();
    await delivered(await imagine(busy));
    await delivered(await imagine(busy));
    expect(await answer(await imagine(busy), 'the share refusal')).toContain("used its share of the bot's daily budget");
    // The quiet server still gets its half of the day.
    const quiet = newMember();
    await delivered(await imagine(quiet, { guildId: OTHER }));
    await delivered(await imagine(quiet, { guildId: OTHER }));
    expect(h.luma.posts()).toHaveLength(4);
  });
});

describe('premium tiers end to end', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });
  const PLUS = '1300000000000000001';
  const PACK = '1300000000000000003';
  const SKUS = [
    { id: PLUS, name: 'Plus', kind: 'user-subscription' as const },
    { id: '1300000000000000002', name: 'Server Plus', kind: 'guild-subscription' as const },
    { id: PACK, name: '3 images', kind: 'consumable' as const },
    { id: '1300000000000000009', name: 'Not sold here', kind: 'durable' as const },
  ];
  const start = (env: Record<string, string> = {}) =>
    startHarness({
      env: { QUOTA_DEFAULT_LIMIT: '1', PREMIUM_USER_SKU_ID: PLUS, PREMIUM_USER_UNITS: '2', PREMIUM_PACK_SKU_ID: PACK, PREMIUM_PACK_UNITS: '3', ...env },
      discord: { guilds: [{ id: GUILD, name: 'Store Guild' }], skus: SKUS },
    });
  const answer = (i: DispatchedInteraction, what: string): Promise<string> => h.discord.waitFor(() => privateAnswerOf(h.discord, i), 10_000, what);
  const imagine = (user: FakeUserInput) => h.discord.slashCommand({ name: 'imagine', user, options: [opt.string('prompt', 'a lighthouse at dusk')] });
  const delivered = (i: DispatchedInteraction) => h.discord.waitFor(() => ((h.discord.original(i.token)?.attachments.length ?? 0) > 0 ? true : undefined), 15_000, 'the result');
  /** What the core holds for the member without an interaction: only the purchase events feed it. */
  const storedLimit = async (user: FakeUserInput) => (await h.bot.parts.quota.status({ userId: user.id ?? '', guildId: GUILD, roleIds: [], userInstalled: false })).allowance.limit;

  it('refuses at the limit with Premium buttons carrying the right SKUs, raises the allowance on ENTITLEMENT_CREATE and drops it on DELETE', async () => {
    h = await start();
    const member = newMember();
    await delivered(await imagine(member));
    const refused = await imagine(member);
    expect(await answer(refused, 'the refusal')).toContain('Premium can give you more');
    const withButtons = h.discord.followups(refused.token).find((m) => (m.components ?? []).length > 0);
    const buttons = (withButtons?.components?.[0] as { components?: Array<{ style: number; sku_id?: string; custom_id?: string }> } | undefined)?.components ?? [];
    expect(buttons.map((b) => [b.style, b.sku_id])).toEqual([[6, PLUS], [6, PACK]]);
    expect(buttons.every((b) => b.custom_id === undefined)).toBe(true);

    const sub = h.discord.purchase({ skuId: PLUS, userId: member.id ?? '' });
    await h.discord.waitFor(() => h.logs.find((l) => l.msg === "premium: a member's tier started" && l.purchaseId === sub.id), 10_000, 'the tier from ENTITLEMENT_CREATE');
    expect(await storedLimit(member)).toBe(3);
    await delivered(await imagine(member));
    const q = await answer(await h.discord.slashCommand({ name: 'quota', user: member }), '/quota');
    expect(q).toContain('⭐ Your premium membership adds **2 units** per day');

    h.discord.refundPurchase(sub.id);
    await h.discord.waitFor(() => h.logs.find((l) => l.msg === "premium: a member's tier ended" && l.purchaseId === sub.id), 10_000, 'the end from ENTITLEMENT_DELETE');
    expect(await storedLimit(member)).toBe(1);
    expect(await answer(await imagine(member), 'the refusal after the refund')).toContain('2 of 1 units');
    expect(h.luma.posts()).toHaveLength(2);
  });

  it("gives every member of a subscribed server more, and ends it at once when Discord says the subscription ended", async () => {
    h = await start({ PREMIUM_GUILD_SKU_ID: '1300000000000000002', PREMIUM_GUILD_UNITS: '1' });
    const [a, b] = [newMember(), newMember()];
    const sub = h.discord.purchase({ skuId: '1300000000000000002', userId: a.id ?? '', guildId: GUILD });
    await h.discord.waitFor(() => h.logs.find((l) => l.msg === "premium: a server's tier started" && l.purchaseId === sub.id), 10_000, 'the server tier');
    for (const m of [a, b]) expect(await storedLimit(m)).toBe(2);
    h.discord.endSubscription(sub.id);
    await h.discord.waitFor(() => h.logs.find((l) => l.msg === "premium: a server's tier ended" && l.purchaseId === sub.id), 10_000, 'the end from ENTITLEMENT_UPDATE');
    for (const m of [a, b]) expect(await storedLimit(m)).toBe(1);
  });

  it('uses a credit pack after the free allowance and consumes it at Discord once spent', async () => {
    h = await start();
    const member = newMember();
    const pack = h.discord.purchase({ skuId: PACK, userId: member.id ?? '' });
    for (let i = 0; i < 4; i++) await delivered(await imagine(member)); // 1 free + 3 credits
    await h.discord.waitFor(() => h.discord.consumeCalls.length === 1, 10_000, 'the consumption');
    expect(h.discord.consumeCalls.map((c) => c.entitlementId)).toEqual([pack.id]);
    expect(h.discord.requestsTo('POST', `/applications/${h.discord.applicationId}/entitlements/${pack.id}/consume`)).toHaveLength(1);
    expect(await answer(await imagine(member), 'the refusal once the pack is spent')).toContain('Premium can give you more');
  });

  it('ignores, with a log line, a purchase of an SKU the bot does not sell', async () => {
    h = await start();
    const member = newMember();
    h.discord.purchase({ skuId: '1300000000000000009', userId: member.id ?? '' });
    await delivered(await imagine(member));
    await h.discord.waitFor(() => h.logs.find((l) => l.msg.startsWith('premium: ignored a purchase of an SKU') && l.skuId === '1300000000000000009'), 10_000, 'the log line');
    expect(await storedLimit(member)).toBe(1);
  });

  it('stops at start with one clear message when an SKU id in .env is not the application’s, or not of its kind', async () => {
    await expect(start({ PREMIUM_USER_SKU_ID: '1300000000000000777' })).rejects.toThrow(/PREMIUM_USER_SKU_ID 1300000000000000777 is not an SKU of this application\..*The application's SKUs: 1300000000000000001 "Plus" \(user subscription\)/);
    await expect(start({ PREMIUM_PACK_SKU_ID: '1300000000000000002' })).rejects.toThrow(/PREMIUM_PACK_SKU_ID 1300000000000000002 is 1300000000000000002 "Server Plus" \(guild subscription\), not a consumable/);
  });
});
