// Command localizations: names and descriptions in every language, and what is registered with Discord.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../commands/index.js';
import { loadConfig } from '../../src/config.js';
import { deployCommands } from '../../src/deploy-commands.js';
import { definitionTexts, englishOf, localizeCommand } from '../../src/i18n/commands.js';
import { startFakeDiscord, type FakeDiscord } from '../../dev/fakes/discord/server.js';

/** Every non-English Discord locale the bot registers translations under. */
const LOCALES = ['de', 'fr', 'es-ES', 'es-419', 'pt-BR', 'ja'];
/** Discord's rule for chat-input command and option names (lower case where the script has case). */
const CHAT_INPUT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

type Localized = { name: string; description?: string; name_localizations?: Record<string, string>; description_localizations?: Record<string, string>; options?: Localized[]; choices?: Array<{ name: string; value: unknown; name_localizations?: Record<string, string> }>; type?: number };

describe('command localizations', () => {
  // Definitions take their English from the catalogue (english(), choice()); localizeCommand finds the translations
  // by where a text sits. The two must name the same key, or a command would carry another text's translations.
  it('translate every description and choice of every command, found at the key the definition took its English from', () => {
    const gaps: string[] = [];
    const drift: string[] = [];
    for (const c of commands) {
      for (const text of definitionTexts(c.data)) {
        if (!text.key) {
          if (!text.optional) gaps.push(text.where);
          continue;
        }
        if (englishOf(text) !== text.english) drift.push(`${text.where}: the definition says "${text.english}", but ${text.key} (found by its place) says "${englishOf(text)}"`);
      }
    }
    expect(gaps).toEqual([]);
    expect(drift).toEqual([]);
  });

  it('keep within Discord’s limits in every locale', () => {
    const problems: string[] = [];
    const checkOption = (o: Localized, where: string): void => {
      for (const [l, d] of Object.entries(o.description_localizations ?? {})) if (d.length < 1 || d.length > 100) problems.push(`${where} description [${l}] is ${d.length} characters`);
      for (const ch of o.choices ?? []) for (const [l, n] of Object.entries(ch.name_localizations ?? {})) if (n.length < 1 || n.length > 100) problems.push(`${where}=${String(ch.value)} [${l}] is ${n.length} characters`);
      for (const sub of o.options ?? []) checkOption(sub, `${where} ${sub.name}`);
    };
    for (const c of commands) {
      const data = localizeCommand(c.data) as Localized;
      for (const [l, n] of Object.entries(data.name_localizations ?? {})) {
        if (c.kind === 'slash' && (!CHAT_INPUT_NAME.test(n) || n !== n.toLowerCase())) problems.push(`/${data.name} name [${l}] "${n}" is not a valid command name`);
        if (n.length > 32) problems.push(`${data.name} name [${l}] is too long`);
      }
      checkOption(data, data.name);
    }
    expect(problems).toEqual([]);
  });

  describe('registered with Discord', () => {
    let discord: FakeDiscord;
    beforeAll(async () => {
      discord = await startFakeDiscord();
    });
    afterAll(async () => {
      await discord.close();
    });

    it('deploy-commands sends names, descriptions, option descriptions and choices in every language', async () => {
      const config = loadConfig({ DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl }, { purpose: 'deploy' });
      await deployCommands(config);
      const registered = discord.registeredCommands() as unknown as Localized[];
      const byName = new Map(registered.map((c) => [c.name, c]));

      const imagine = byName.get('imagine');
      expect(Object.keys(imagine?.description_localizations ?? {}).sort()).toEqual([...LOCALES].sort());
      expect(imagine?.description_localizations?.ja).toBe('テキストのプロンプトから Luma で画像を作ります');
      const model = imagine?.options?.find((o) => o.name === 'model');
      expect(model?.description_localizations?.de).toBe('Welches Modell das Bild erstellt (Standard uni-1)');
      expect(model?.choices?.find((ch) => ch.value === 'uni-1-max')?.name_localizations?.['pt-BR']).toBe('uni-1-max · mais qualidade, custa ~2,5× mais');
      const reference = imagine?.options?.find((o) => o.name === 'reference3');
      expect(reference?.description_localizations?.fr).toContain('Image de référence 3');

      expect(byName.get('history')?.name_localizations).toMatchObject({ de: 'verlauf', ja: '履歴', 'es-419': 'historial' });
      expect(byName.get('Edit image')?.name_localizations?.de).toBe('Bild bearbeiten');

      const usage = byName.get('quota-admin')?.options?.find((o) => o.name === 'usage');
      expect(usage?.description_localizations?.['es-ES']).toBe('Gráfico y CSV del uso diario del servidor, por modelo y miembro');
      expect(usage?.options?.[0]?.choices?.find((ch) => ch.value === '7d')?.name_localizations?.ja).toBe('過去 7 日');

      const termsAdd = byName.get('bot-admin')?.options?.find((o) => o.name === 'terms')?.options?.find((o) => o.name === 'add');
      expect(termsAdd?.description_localizations?.de).toBe('Wörter oder Ausdrücke sperren (mehrere durch Kommas getrennt)');
    });
  });
});
