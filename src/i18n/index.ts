import { de } from './catalogues/de.js';
import { en } from './catalogues/en.js';
import { es } from './catalogues/es.js';
import { fr } from './catalogues/fr.js';
import { ja } from './catalogues/ja.js';
import { ptBR } from './catalogues/pt-BR.js';
import type { Catalogue, MessageKey } from './types.js';

export type { Catalogue, MessageKey } from './types.js';

/** The languages the bot speaks; English is the source and the fallback. */
export const LANGUAGES = ['en', 'de', 'fr', 'es', 'pt-BR', 'ja'] as const;
export type Language = (typeof LANGUAGES)[number];

export const catalogues: Readonly<Record<Language, Catalogue>> = { en, de, fr, es, 'pt-BR': ptBR, ja };

/**
 * Discord locales → our catalogues. Discord sends `interaction.locale` (the member's client language) and
 * `guild_locale` (the server's community language); anything not listed here falls back to English.
 */
const BY_DISCORD_LOCALE: Readonly<Record<string, Language>> = {
  'en-US': 'en',
  'en-GB': 'en',
  de: 'de',
  fr: 'fr',
  'es-ES': 'es',
  'es-419': 'es',
  'pt-BR': 'pt-BR',
  ja: 'ja',
};

/** Discord locales each non-English catalogue is registered under (command localizations). */
export const DISCORD_LOCALES: Readonly<Record<Exclude<Language, 'en'>, readonly string[]>> = {
  de: ['de'],
  fr: ['fr'],
  es: ['es-ES', 'es-419'],
  'pt-BR': ['pt-BR'],
  ja: ['ja'],
};

export function languageOf(locale: string | null | undefined): Language {
  if (!locale) return 'en';
  return BY_DISCORD_LOCALE[locale] ?? BY_DISCORD_LOCALE[locale.split('-')[0] ?? ''] ?? 'en';
}

/** The `{name}` placeholders of an English message, as a union of names. */
type Placeholders<S extends string> = S extends `${string}{${infer V}}${infer Rest}` ? V | Placeholders<Rest> : never;
export type VarsOf<K extends MessageKey> = Record<Placeholders<(typeof en)[K]>, string | number>;
type VarsArg<K extends MessageKey> = [Placeholders<(typeof en)[K]>] extends [never] ? [] : [vars: VarsOf<K>];

export function format(template: string, vars: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/**
 * A message in the language of a Discord locale (the member's `interaction.locale`, or a server's locale for
 * public messages), English where the catalogue has no such language. The compiler checks the key and that
 * every placeholder of the English text is given.
 */
export function t<K extends MessageKey>(locale: string | null | undefined, key: K, ...vars: VarsArg<K>): string {
  const template = catalogues[languageOf(locale)][key] ?? en[key];
  return format(template, vars[0] ?? {});
}

/** Keys with a plural form: `<key>.one` and `<key>.other` both exist. */
type PluralBase<K> = K extends `${infer B}.one` ? (`${B}.other` extends MessageKey ? B : never) : never;
export type PluralKey = PluralBase<MessageKey>;

/** A message whose wording depends on a count `n` (“1 unit” / “3 units”), by the language's plural rules. */
export function tn<B extends PluralKey>(
  locale: string | null | undefined,
  base: B,
  n: number,
  vars: Omit<VarsOf<`${B}.other` & MessageKey>, 'n'> = {} as Omit<VarsOf<`${B}.other` & MessageKey>, 'n'>,
): string {
  const lang = languageOf(locale);
  const form = new Intl.PluralRules(lang).select(n) === 'one' ? 'one' : 'other';
  const key = `${base}.${form}` as MessageKey;
  const template = catalogues[lang][key] ?? en[key];
  return format(template, { ...(vars as Record<string, string | number>), n });
}

/** Whether the catalogue has a key (for command localizations, where some texts are looked up by path). */
export function hasKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** The text of a key in every non-English Discord locale, for `*_localizations` fields of command definitions. */
export function discordLocalizations(key: MessageKey, vars: Readonly<Record<string, string | number>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [lang, locales] of Object.entries(DISCORD_LOCALES) as [Exclude<Language, 'en'>, readonly string[]][]) {
    const text = catalogues[lang][key];
    if (text === undefined) continue;
    for (const l of locales) out[l] = format(text, vars);
  }
  return out;
}
