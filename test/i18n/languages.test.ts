// Languages end to end: what a member sees of a job is in their language; what the channel sees is in the server's.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, opt, privateAnswer, type Harness } from '../helpers/harness.js';
import { buttonLabels, customIdsOf, messageText } from '../helpers/message-text.js';

const GUILD = '1200000000000000001';

const labels = buttonLabels;

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
    expect(await privateAnswer(harness, blank)).toBe('プロンプトが空です。作りたい画像を説明してください。');
    const gone = await harness.discord.button({ customId: 'job:reroll:nosuchjob', locale: 'de' });
    expect(await privateAnswer(harness, gone)).toMatch(/^Dieses Ergebnis ist zu alt/);
    const unknown = await harness.discord.button({ customId: 'job:nothing:x', locale: 'fr' });
    expect(await privateAnswer(harness, unknown)).toMatch(/^Cette version du bot ne connaît pas/);
    expect(harness.luma.posts()).toHaveLength(0);
  });
});
