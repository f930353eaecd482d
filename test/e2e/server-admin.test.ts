// Server admins and members end to end: /bot-admin channels and blocked terms, the /quota-admin usage chart and
// CSV, /history, and replies in the member's language.
import { InteractionResponseType, PermissionFlagsBits } from 'discord-api-types/v10';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import type { DispatchedInteraction, FakeUserInput } from '../../dev/fakes/discord/server.js';
import { CHART_HEIGHT, CHART_WIDTH } from '../../src/quota/chart.js';
import { privateAnswer as privateAnswerOf } from '../helpers/private-answer.js';
import { opt, startHarness, type Harness } from '../helpers/harness.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';

const GUILD = '1200000000000000001';
const ART = '1300000000000000001';
const GENERAL = '1300000000000000002';
const admin: FakeUserInput = { id: '500000000000000100', username: 'admin' };
const ADMIN_PERMISSIONS = String(PermissionFlagsBits.ManageGuild | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ViewChannel);
const EPHEMERAL = 64;

let nextUser = 1;
const newMember = (): FakeUserInput => ({ id: `5100000000000${String(nextUser++).padStart(5, '0')}`, username: `member${nextUser}` });

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
