// A server's admins and members end to end, through the real bot (in process) against the fakes: /bot-admin channels
// and blocked terms, the /quota-admin usage chart and CSV, /history, /settings; quotas (/quota, /quota-admin,
// refusals at the limit, refunds, the spend cap and the operator's ceilings) and premium tiers; and languages — what a
// member sees of a job is in their language, what the channel sees is in the server's.
import { InteractionResponseType, MessageFlags, PermissionFlagsBits } from 'discord-api-types/v10';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import type { DispatchedInteraction, FakeUserInput } from '../../dev/fakes/discord/server.js';
import { CHART_HEIGHT, CHART_WIDTH } from '../../src/quota/chart.js';
import { periodEnd } from '../../src/quota/periods.js';
import { privateAnswer as privateAnswerOf } from '../helpers/private-answer.js';
import { opt, privateAnswer as privateAnswerIn, startHarness, type Harness, type HarnessOptions } from '../helpers/harness.js';
import { buttonLabels, customIdsOf, messageText } from '../helpers/message-text.js';

const GUILD = '1200000000000000001';
const ART = '1300000000000000001';
const GENERAL = '1300000000000000002';
const SUPPORTER = '1250000000000000001';
const admin: FakeUserInput = { id: '500000000000000100', username: 'admin' };
const ADMIN_PERMISSIONS = String(PermissionFlagsBits.ManageGuild | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ViewChannel);
const EPHEMERAL = 64;

let nextUser = 1;
const newMember = (): FakeUserInput => ({ id: `5100000000000${String(nextUser++).padStart(5, '0')}`, username: `member${nextUser}` });
const nextMidnight = (): number => Math.floor(periodEnd('day', Date.now()) / 1000);
const labels = buttonLabels;

describe('server admins and members end to end', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const start = async (env: Record<string, string> = {}): Promise<Harness> => {
    h = await startHarness({
      env: { QUOTA_DEFAULT_LIMIT: '100', ...env },
      discord: { guilds: [{ id: GUILD, name: 'Admin Guild', channels: [{ id: GENERAL, name: 'general' }, { id: ART, name: 'art' }] }] },
    });
    return h;
  };

  const privateAnswer = (i: DispatchedInteraction): string | undefined => privateAnswerOf(h.discord, i);
  const answer = (i: DispatchedInteraction, what: string): Promise<string> => h.discord.waitFor(() => privateAnswer(i), 15_000, what);
  const delivered = (i: DispatchedInteraction) =>
    h.discord.waitFor(() => ((h.discord.original(i.token)?.attachments.length ?? 0) > 0 ? true : undefined), 20_000, 'the result');

  const imagine = (user: FakeUserInput, prompt: string, extra: { channelId?: string; model?: string; locale?: string } = {}) =>
    h.discord.slashCommand({
      name: 'imagine',
      user,
      channelId: extra.channelId ?? GENERAL,
      ...(extra.locale ? { locale: extra.locale } : {}),
      options: [opt.string('prompt', prompt), ...(extra.model ? [opt.string('model', extra.model)] : [])],
    });
  const botAdmin = (group: string | undefined, subcommand: string, options: Array<Record<string, unknown> & { name: string; type: number }> = [], locale?: string) =>
    h.discord.slashCommand({
      name: 'bot-admin',
      ...(group ? { subcommandGroup: group } : {}),
      subcommand,
      options: options as never,
      user: admin,
      permissions: ADMIN_PERMISSIONS,
      ...(locale ? { locale } : {}),
    });
  const usedToday = async (userId: string): Promise<number> =>
    (await h.bot.ctx.quota.status({ userId, guildId: GUILD, roleIds: [], userInstalled: false })).used;

  it('refuses privately outside the allowed channels, naming them, with no POST and no charge', async () => {
    await start();
    const added = await answer(await botAdmin('channels', 'add', [{ name: 'channel', type: 7, value: ART }]), 'the admin reply');
    expect(added).toContain(`<#${ART}>`);

    const member = newMember();
    const refused = await imagine(member, 'a lighthouse', { channelId: GENERAL });
    const text = await answer(refused, 'the refusal');
    expect(text).toContain('does not make images in this channel');
    expect(text).toContain(`<#${ART}>`);
    // The public "thinking…" deferral is removed, so nothing is left in the channel.
    expect(h.discord.original(refused.token)).toBeUndefined();
    expect(h.luma.posts()).toHaveLength(0);
    expect(await usedToday(member.id)).toBe(0);

    await delivered(await imagine(member, 'a lighthouse', { channelId: ART }));
    expect(h.luma.posts()).toHaveLength(1);
    expect(await usedToday(member.id)).toBe(1);

    // Cleared: everywhere again.
    await answer(await botAdmin('channels', 'clear'), 'the clear reply');
    await delivered(await imagine(member, 'a harbour', { channelId: GENERAL }));
    expect(h.luma.posts()).toHaveLength(2);

    // Age-restricted channels only: the fake's channels are not, so the bot refuses everywhere.
    expect(await answer(await botAdmin('channels', 'age-restricted', [opt.bool('required', true)]), 'the age reply')).toContain('only in age-restricted channels');
    expect(await answer(await imagine(member, 'a harbour', { channelId: GENERAL }), 'the age refusal')).toContain('only in age-restricted channels');
    expect(h.luma.posts()).toHaveLength(2);
    expect(await usedToday(member.id)).toBe(2);
  });

  it('refuses a prompt with a blocked term privately, whatever its case or accents, and lets longer words through', async () => {
    await start();
    const add = await botAdmin('terms', 'add', [opt.string('terms', 'dragon, crème brûlée')]);
    expect(await answer(add, 'the admin reply')).toContain('2 on the list');
    // A change waits for the server's policy lock, so the command defers (privately) before it.
    expect(h.discord.callbacks(add.id)[0]).toMatchObject({ type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: EPHEMERAL } });

    const member = newMember();
    for (const prompt of ['A DRAGON at dusk', 'a Creme  Brulee on a plate']) {
      const i = await imagine(member, prompt);
      const text = await answer(i, `the refusal of "${prompt}"`);
      expect(text).toContain('which this server does not allow');
      expect(text).toContain('nothing was charged');
      expect(h.discord.original(i.token)).toBeUndefined();
      expect(h.discord.followups(i.token).every((m) => ((m.flags ?? 0) & EPHEMERAL) !== 0)).toBe(true);
    }
    expect(h.luma.posts()).toHaveLength(0);
    expect(await usedToday(member.id)).toBe(0);

    await delivered(await imagine(member, 'a dragonfly over water'));
    expect(h.luma.posts()).toHaveLength(1);
    expect(await usedToday(member.id)).toBe(1);

    const shown = await answer(await botAdmin(undefined, 'show'), 'the show reply');
    expect(shown).toContain('Blocked terms (2)');
  });

  it('/quota-admin usage sends a PNG chart of the expected size and a CSV whose sums match the quota counters', async () => {
    await start();
    const [a, b, c] = [newMember(), newMember(), newMember()];
    await delivered(await imagine(a, 'one'));
    await delivered(await imagine(a, 'two'));
    await delivered(await imagine(b, 'three', { model: 'uni-1-max' }));
    h.luma.planNext({ failWith: 'generation_failed' });
    await imagine(c, 'four');
    await h.discord.waitFor(() => h.logs.find((l) => l.msg === 'quota refunded' && l.reason === 'generation_failed'), 15_000, 'the refund');

    const i = await h.discord.slashCommand({ name: 'quota-admin', subcommand: 'usage', options: [opt.string('period', '7d')], user: admin, permissions: ADMIN_PERMISSIONS });
    const files = await h.discord.waitFor(() => {
      const edit = h.discord.edits(i.token).find((e) => e.files.length === 2);
      return edit?.files;
    }, 20_000, 'the chart and the CSV');
    expect(h.discord.callbacks(i.id)[0]).toMatchObject({ type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: EPHEMERAL } });
    expect(privateAnswer(i)).toContain('5 units, 3 images');

    const png = files.find((f) => f.filename?.endsWith('.png'));
    const csv = files.find((f) => f.filename?.endsWith('.csv'));
    expect(png && csv).toBeTruthy();
    const meta = await sharp(png!.data).metadata();
    expect(meta).toMatchObject({ format: 'png', width: CHART_WIDTH, height: CHART_HEIGHT });

    const [header, ...lines] = csv!.data.toString('utf8').trim().split('\r\n');
    expect(header).toBe('day,member_id,member,model,units,usd,requests');
    const rows = lines.map((l) => l.split(','));
    const unitsOf = (id: string) => rows.filter((r) => r[1] === id).reduce((s, r) => s + Number(r[4]), 0);
    for (const m of [a, b, c]) expect(unitsOf(m.id)).toBe(await usedToday(m.id));
    expect(unitsOf(a.id)).toBe(2);
    expect(unitsOf(b.id)).toBe(3);
    expect(rows.find((r) => r[1] === b.id)).toEqual([expect.any(String), b.id, b.username, 'uni-1-max', '3', '0.1000', '1']);
    expect(rows.find((r) => r[1] === a.id)?.slice(3)).toEqual(['uni-1', '2', '0.0808', '2']);
  });

  it('/history pages a member’s requests with buttons that work after a restart, and sends one again as a new, charged job', async () => {
    await start();
    const member = newMember();
    for (let n = 1; n <= 6; n++) await delivered(await imagine(member, `prompt number ${n}`));
    const first = await h.discord.slashCommand({ name: 'history', user: member });
    const page1 = await answer(first, 'the first page');
    expect(page1).toContain('page 1 of 2');
    expect(page1).toContain('prompt number 6');
    expect(page1).not.toContain('prompt number 1');
    expect(page1).toMatch(/\[result\]\(https:\/\/discord\.com\/channels\/1200000000000000001\/\d+\/\d+\)/);
    expect(page1).toContain('✅ done');

    await h.restart();
    const message = h.discord.original(first.token);
    if (!message) throw new Error('no history message');
    const older = await h.discord.button({ customId: 'history:page:1', user: member, channelId: GENERAL, message });
    const update = await h.discord.waitFor(() => h.discord.callbacks(older.id)[0], 15_000, 'the page update');
    const data = update.data as { content: string; components: Array<{ components: Array<{ custom_id: string; label: string; disabled?: boolean }> }> };
    expect(update.type).toBe(7);
    expect(data.content).toContain('page 2 of 2');
    expect(data.content).toContain('prompt number 1');
    const again = data.components[0]?.components[0];
    expect(again?.label).toBe('Send 6 again');
    const nav = data.components[1]?.components ?? [];
    expect(nav.map((b) => b.disabled ?? false)).toEqual([false, true]);

    const resend = await h.discord.button({ customId: again?.custom_id ?? '', user: member, channelId: GENERAL, message });
    await delivered(resend);
    expect(h.luma.posts()).toHaveLength(7);
    expect(h.luma.posts().at(-1)?.body).toMatchObject({ prompt: 'prompt number 1', user_id: member.id });
    expect(await usedToday(member.id)).toBe(7);

    // Someone else cannot send another member's request again.
    const stranger = await h.discord.button({ customId: again?.custom_id ?? '', user: newMember(), channelId: GENERAL, message });
    expect(await answer(stranger, 'the refusal')).toContain("someone else's history");
    expect(h.luma.posts()).toHaveLength(7);
  });

  it('answers in the member’s language: /quota and a blocked-term refusal in de and ja, admin replies too', async () => {
    await start({ QUOTA_DEFAULT_LIMIT: '10' });
    const member = newMember();
    const de = await answer(await h.discord.slashCommand({ name: 'quota', user: member, locale: 'de' }), 'the German /quota');
    expect(de).toContain('**Dein Bild-Kontingent auf diesem Server**');
    expect(de).toContain('10 Einheiten pro Tag');
    expect(de).toContain('uni-1 kostet 1 Einheit, uni-1-max kostet 3 Einheiten pro Bild');
    const ja = await answer(await h.discord.slashCommand({ name: 'quota', user: member, locale: 'ja' }), 'the Japanese /quota');
    expect(ja).toContain('**このサーバーでのあなたの画像クォータ**');
    expect(ja).toContain('1日あたり 10 ユニット');

    expect(await answer(await botAdmin('terms', 'add', [opt.string('terms', 'gore')], 'de'), 'the German admin reply')).toContain('Jetzt gesperrt (1 auf der Liste)');
    const refusalJa = await answer(await imagine(member, 'Gore', { locale: 'ja' }), 'the Japanese refusal');
    expect(refusalJa).toContain('このサーバーで許可されていない「gore」');
    const refusalDe = await answer(await imagine(member, 'gore', { locale: 'de' }), 'the German refusal');
    expect(refusalDe).toContain('was dieser Server nicht erlaubt');

    // A quota refusal is in the member's language too.
    const setUser = await h.discord.slashCommand({ name: 'quota-admin', subcommand: 'set-user', options: [opt.user('user', member.id), opt.int('limit', 0)], user: admin, permissions: ADMIN_PERMISSIONS, locale: 'de' });
    expect(await answer(setUser, 'the German admin reply')).toContain('bekommt jetzt **0 Einheiten pro Tag**');
    expect(await answer(await imagine(member, 'a lighthouse', { locale: 'ja' }), 'the Japanese quota refusal')).toContain('このサーバーでは画像を作れません：上限は 1日あたり 0 ユニットです。');

    const notAdmin = await h.discord.slashCommand({ name: 'bot-admin', subcommand: 'show', user: member, locale: 'ja', permissions: String(PermissionFlagsBits.SendMessages) });
    expect(await answer(notAdmin, 'the refusal')).toContain('「サーバー管理」権限');
    expect(h.luma.posts()).toHaveLength(0);
  });

  /** A member's /settings, then each `field: value` picked in its selects; returns the view as it ends. */
  const setDefaults = async (user: FakeUserInput, picks: Record<string, string>) => {
    const i = await h.discord.slashCommand({ name: 'settings', user, channelId: GENERAL });
    let view = await h.discord.waitFor(() => (customIdsOf(h.discord.original(i.token)).length > 0 ? h.discord.original(i.token) : undefined), 15_000, 'the settings');
    expect((view.flags ?? 0) & EPHEMERAL).toBe(EPHEMERAL);
    for (const [field, value] of Object.entries(picks)) {
      const pick = await h.discord.select({ customId: `set:member:${field}`, values: [value], message: { id: view.id }, user, channelId: GENERAL });
      await h.discord.waitFor(() => h.discord.callbacks(pick.id)[0], 10_000, 'the pick answered');
      view = await h.discord.waitFor(() => {
        const m = h.discord.message(view.id);
        return m && JSON.stringify(m.components).includes(`"value":"${value}","default":true`) ? m : undefined;
      }, 10_000, `${field} shown as ${value}`);
    }
    return view;
  };

  it('/settings: a member’s defaults fill in what /imagine leaves out, a typed option wins, and the result line names them', async () => {
    await start();
    const member = newMember();
    await setDefaults(member, { model: 'uni-1-max', aspectRatio: '16:9', count: '2' });
    const defaulted = await imagine(member, 'settings: a kite');
    await h.discord.waitFor(() => ((h.discord.original(defaulted.token)?.attachments.length ?? 0) === 2 ? true : undefined), 30_000, 'the two images');
    expect(h.luma.posts().map((p) => p.body)).toEqual([0, 1].map(() => expect.objectContaining({ prompt: 'settings: a kite', model: 'uni-1-max', aspect_ratio: '16:9' })));
    expect(messageText(h.discord.original(defaulted.token))).toContain('From your /settings: Model, Aspect ratio, Images');
    expect(await usedToday(member.id ?? '')).toBe(6);

    const typed = await h.discord.slashCommand({ name: 'imagine', user: member, channelId: GENERAL, options: [opt.string('prompt', 'settings: typed'), opt.string('model', 'uni-1'), opt.int('count', 1)] });
    await delivered(typed);
    expect(h.luma.posts()).toHaveLength(3);
    expect(h.luma.posts()[2]?.body).toMatchObject({ model: 'uni-1', aspect_ratio: '16:9' });
    expect(messageText(h.discord.original(typed.token))).toContain('From your /settings: Aspect ratio');
  });

  it('/settings: private results are deferred privately and never shown in the channel', async () => {
    await start();
    const member = newMember();
    await setDefaults(member, { visibility: 'private' });
    const i = await imagine(member, 'settings: a secret garden');
    await delivered(i);
    expect(h.discord.callbacks(i.id)[0]).toMatchObject({ type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: EPHEMERAL } });
    expect((h.discord.original(i.token)?.flags ?? 0) & EPHEMERAL).toBe(EPHEMERAL);
  });

  it('lets admins forbid uni-1-max and several images, refusing both with nothing charged, and set the server’s defaults', async () => {
    await start();
    const limits = await botAdmin(undefined, 'limits', [opt.bool('allow_max', false), opt.int('max_images', 2)]);
    expect(await answer(limits, 'the limits')).toContain('uni-1-max not allowed; at most 2 image(s) per request');
    const member = newMember();

    const max = await imagine(member, 'limits: a diamond', { model: 'uni-1-max' });
    expect(await answer(max, 'the uni-1-max refusal')).toMatch(/does not allow uni-1-max/);
    const many = await h.discord.slashCommand({ name: 'imagine', user: member, channelId: GENERAL, options: [opt.string('prompt', 'limits: three'), opt.int('count', 3)] });
    expect(await answer(many, 'the count refusal')).toMatch(/at most 2 image\(s\) per request, and this one asked for 3/);
    expect(h.luma.posts()).toHaveLength(0);
    expect(await usedToday(member.id ?? '')).toBe(0);

    // The server's defaults, set in the same select menus, fill in what members leave out.
    const defaults = await botAdmin(undefined, 'defaults');
    const view = await h.discord.waitFor(() => (customIdsOf(h.discord.original(defaults.token)).length > 0 ? h.discord.original(defaults.token) : undefined), 15_000, 'the server defaults');
    expect(messageText(view)).toContain('uni-1-max not allowed');
    const pick = await h.discord.select({ customId: 'set:server:aspectRatio', values: ['9:16'], message: { id: view.id }, user: admin, permissions: ADMIN_PERMISSIONS, channelId: GENERAL });
    await h.discord.waitFor(() => h.discord.callbacks(pick.id)[0], 10_000, 'the pick answered');
    // A member without Manage Server cannot change them, whatever custom_id they send.
    const forged = await h.discord.select({ customId: 'set:server:model', values: ['uni-1-max'], message: { id: view.id }, user: member, channelId: GENERAL });
    expect(await answer(forged, 'the refusal')).toMatch(/Manage Server/);

    const i = await imagine(member, 'defaults: a tower');
    await delivered(i);
    expect(h.luma.posts()[0]?.body).toMatchObject({ aspect_ratio: '9:16', model: 'uni-1' });
    expect(messageText(h.discord.original(i.token))).toContain('From the server’s defaults: Aspect ratio');

    // Enhance would use uni-1-max: refused at the click, before any price is shown.
    const jobId = customIdsOf(h.discord.original(i.token)).find((id) => id.startsWith('job:enhance:'))?.split(':')[2] ?? '';
    const enhance = await h.discord.button({ customId: `job:enhance:${jobId}`, user: member, channelId: GENERAL });
    expect(await answer(enhance, 'the enhance refusal')).toMatch(/does not allow uni-1-max/);
    expect(h.luma.posts()).toHaveLength(1);
  });
});

// Quotas end to end: /quota, /quota-admin, refusals at the limit, refunds and the spend cap.
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

// Languages end to end: what a member sees of a job is in their language; what the channel sees is in the server's.
describe('a job in the member’s and the server’s language', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const start = (guildLocale: string) =>
    startHarness({ env: { PROGRESS_INTERVAL_MS: '0' }, discord: { guilds: [{ id: GUILD, name: 'Lokal', locale: guildLocale }] } });

  it('shows a German member on a German server German progress and a German result embed and buttons', async () => {
    const harness = (h = await start('de'));
    harness.luma.planNext({ hold: true });
    const user = { id: '500000000000001401', username: 'greta' };
    const { token } = await harness.discord.slashCommand({ name: 'imagine', user, locale: 'de', options: [opt.string('prompt', 'ein Leuchtturm')] });

    const generating = await harness.discord.waitFor(() => (messageText(harness.discord.original(token)).includes('🎨') ? harness.discord.original(token) : undefined), 15_000, 'the German progress');
    expect(messageText(generating)).toContain('**Wird erstellt:** ein Leuchtturm');
    expect(messageText(generating)).toMatch(/🎨 Wird generiert… \d+:\d\d vergangen/);
    for (const g of harness.luma.generations()) harness.luma.release(g.id);

    const result = await harness.discord.waitFor(() => {
      const m = harness.discord.original(token);
      return m && m.attachments.length > 0 ? m : undefined;
    }, 15_000, 'the result');
    const text = messageText(result);
    expect(text).toContain('Erstelltes Bild');
    for (const name of ['Modell', 'Seitenverhältnis: automatisch', 'Stil', 'Angefragt von', 'Dauer']) expect(text).toContain(name);
    expect(text).toMatch(/-# job [\w-]+$/m); // an identifier "Edit image" reads, in every language
    expect(labels(result)).toEqual(['Variieren', 'Bearbeiten', 'Verbessern', 'Neu würfeln']);
    expect(JSON.stringify(result.components)).not.toMatch(/Imagined image|Requested by|Reroll/);

    // Edit on the result opens the form in the German clicker's language.
    const editId = customIdsOf(result).find((id) => id.startsWith('job:edit:')) ?? '';
    type Modal = { type: number; data: { title: string; content?: string; components: Array<{ label: string }> } };
    // The upload shows before the job is recorded as done; until then Edit says (in German) it is not finished.
    await harness.discord.waitFor(() => harness.logs.find((l) => l.msg === 'result delivered'), 10_000, 'the delivery log');
    let modal: Modal | undefined;
    for (let i = 0; i < 50 && modal?.type !== 9; i++) {
      const click = await harness.discord.button({ customId: editId, message: { id: result.id }, user, locale: 'de' });
      modal = await harness.discord.waitFor(() => harness.discord.callbacks(click.id)[0] as Modal | undefined, 10_000, 'the answer to Edit');
      if (modal.type !== 9) expect(modal.data.content).toBe('Dieses Bild kann nicht bearbeitet werden: Es wurde nicht fertiggestellt.');
    }
    expect(modal?.type).toBe(9);
    expect(modal?.data.title).toBe('Dieses Bild bearbeiten');
    expect(modal?.data.components.map((c) => c.label)).toEqual(['Was soll sich ändern?', 'Weitere Referenzbilder (optional)', 'Modell']);
  });

  it('keeps the public result embed in the server’s language when a German member asks on an English server', async () => {
    const harness = (h = await start('en-US'));
    const { token } = await harness.discord.slashCommand({ name: 'imagine', user: { id: '500000000000001402', username: 'jonas' }, locale: 'de', options: [opt.string('prompt', 'a fox')] });
    const result = await harness.discord.waitFor(() => {
      const m = harness.discord.original(token);
      return m && m.attachments.length > 0 ? m : undefined;
    }, 15_000, 'the result');
    // Their own progress edits were German; the embed the channel reads is the server's English.
    expect(harness.discord.edits(token).some((e) => messageText(e.json as never).startsWith('**Wird erstellt:** a fox'))).toBe(true);
    expect(messageText(result)).toContain('Imagined image');
    expect(labels(result)).toEqual(['Vary', 'Edit', 'Enhance', 'Reroll']);
  });

  it('tells a Japanese member of a failure in Japanese, with a Japanese Retry button', async () => {
    const harness = (h = await start('en-US'));
    harness.luma.planNext({ failWith: 'generation_failed' });
    const { token } = await harness.discord.slashCommand({ name: 'imagine', user: { id: '500000000000001403', username: 'yuki' }, locale: 'ja', options: [opt.string('prompt', '夕暮れの灯台')] });
    const notice = await harness.discord.waitFor(() => {
      const m = harness.discord.original(token);
      return m && messageText(m).includes('⚠️') ? m : undefined;
    }, 15_000, 'the failure notice');
    const text = messageText(notice);
    expect(text).toContain('画像を作成できませんでした');
    expect(text).toContain('この画像の生成中にモデルが失敗しました。クォータは消費されていません。');
    expect(text).toContain('プロンプト');
    expect(labels(notice)).toEqual(['再試行']);
    // The log keeps the English text for the operator.
    expect(harness.logs.filter((l) => l.msg === 'job failed')).toHaveLength(1);
  });

  it('posts the result in the server’s language in the channel once the member’s token has expired', async () => {
    const harness = (h = await start('fr'));
    harness.luma.planNext({ hold: true });
    const user = { id: '500000000000001404', username: 'kenji' };
    const { token } = await harness.discord.slashCommand({ name: 'imagine', user, locale: 'ja', options: [opt.string('prompt', 'un phare')] });
    await harness.discord.waitFor(() => messageText(harness.discord.original(token)).includes('🎨') || undefined, 15_000, 'the job at Luma');
    // The member's own reply speaks Japanese.
    expect(messageText(harness.discord.original(token))).toContain('**生成中：** un phare');
    harness.discord.expireToken(token);
    for (const g of harness.luma.generations()) harness.luma.release(g.id);

    const post = await harness.discord.waitFor(() => harness.discord.channelMessages(harness.discord.channelId!).find((m) => m.attachments.length > 0), 20_000, 'the channel post');
    const text = messageText(post);
    expect(text.startsWith(`<@${user.id}>, ton image est prête.`)).toBe(true);
    expect(text).toContain('Image créée');
    expect(text).toContain('Demandé par');
    expect(labels(post)).toEqual(['Varier', 'Retoucher', 'Améliorer', 'Relancer']);
  });

  it('posts a failure notice in the server’s language in the channel once the token has expired', async () => {
    const harness = (h = await start('es-ES'));
    harness.luma.planNext({ hold: true, failWith: 'generation_failed' });
    const user = { id: '500000000000001405', username: 'lucia' };
    const { token } = await harness.discord.slashCommand({ name: 'imagine', user, locale: 'ja', options: [opt.string('prompt', 'un faro')] });
    await harness.discord.waitFor(() => messageText(harness.discord.original(token)).includes('🎨') || undefined, 15_000, 'the job at Luma');
    harness.discord.expireToken(token);
    for (const g of harness.luma.generations()) harness.luma.release(g.id);

    const post = await harness.discord.waitFor(() => harness.discord.channelMessages(harness.discord.channelId!).find((m) => messageText(m).includes('⚠️')), 20_000, 'the channel notice');
    const text = messageText(post);
    expect(text.startsWith(`<@${user.id}>`)).toBe(true);
    expect(text).toContain('No se pudo crear la imagen');
    expect(text).toContain('El modelo falló al crear esta imagen. No se descontó de tu cuota.');
    expect(labels(post)).toEqual(['Reintentar']);
  });

  it('refuses in the member’s language: a blank prompt in Japanese, a forged Reroll in German, an unknown button in French', async () => {
    const harness = (h = await start('en-US'));
    const blank = await harness.discord.slashCommand({ name: 'imagine', locale: 'ja', options: [opt.string('prompt', '   ')] });
    expect(await privateAnswerIn(harness, blank)).toBe('プロンプトが空です。作りたい画像を説明してください。');
    const gone = await harness.discord.button({ customId: 'job:reroll:nosuchjob', locale: 'de' });
    expect(await privateAnswerIn(harness, gone)).toMatch(/^Dieses Ergebnis ist zu alt/);
    const unknown = await harness.discord.button({ customId: 'job:nothing:x', locale: 'fr' });
    expect(await privateAnswerIn(harness, unknown)).toMatch(/^Cette version du bot ne connaît pas/);
    expect(harness.luma.posts()).toHaveLength(0);
  });
});
