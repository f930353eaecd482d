import { en } from './catalogues/en.js';
import de from './catalogues/de.json' with { type: 'json' };
import es from './catalogues/es.json' with { type: 'json' };
import fr from './catalogues/fr.json' with { type: 'json' };
import ja from './catalogues/ja.json' with { type: 'json' };
import ptBR from './catalogues/pt-BR.json' with { type: 'json' };
import { TRANSLATED, type Language, type Translated } from './languages.js';
import type { Catalogue, MessageKey } from './types.js';

export { LANGUAGES, TRANSLATED, type Language, type Translated } from './languages.js';
export type { Catalogue, MessageKey } from './types.js';

/**
 * The translations as their JSON files give them (`catalogues/<language>.json`, edited by translators: docs/translating.md).
 * Read as data, not trusted as types: test/i18n checks every file against en.ts (src/i18n/check.ts).
 */
const FILES: Readonly<Record<Translated, unknown>> = { de, fr, es, 'pt-BR': ptBR, ja };

/** A language's texts for the English keys: the strings of its file; anything else there is left out. */
function textsOf(file: unknown): Partial<Catalogue> {
  const out: Partial<Record<MessageKey, string>> = {};
  if (typeof file !== 'object' || file === null) return out;
  for (const key of Object.keys(en) as MessageKey[]) {
    const text: unknown = (file as Record<string, unknown>)[key];
    if (typeof text === 'string' && text.trim() !== '') out[key] = text;
  }
  return out;
}

const translations = Object.fromEntries(TRANSLATED.map((l) => [l, textsOf(FILES[l])])) as Readonly<Record<Translated, Partial<Catalogue>>>;

/** Every language with every key: where a translation lacks a text, the English one. */
export const catalogues = {
  en,
  ...Object.fromEntries(TRANSLATED.map((l) => [l, { ...en, ...translations[l] }])),
} as Readonly<Record<Language, Catalogue>>;

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
export const DISCORD_LOCALES: Readonly<Record<Translated, readonly string[]>> = {
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
/** The values `t()` takes for a key: none when its English has no placeholder, else one for each. */
export type VarsArg<K extends MessageKey> = [Placeholders<(typeof en)[K]>] extends [never] ? [] : [vars: VarsOf<K>];
/** The English text of a key as a type: the literal text when it has no placeholder. */
export type EnglishOf<K extends MessageKey> = [Placeholders<(typeof en)[K]>] extends [never] ? (typeof en)[K] : string;

export function format(template: string, vars: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/**
 * A message in the language of a Discord locale (the member's `interaction.locale`, or a server's locale for
 * public messages), English where the catalogue has no such language. The compiler checks the key and that
 * every placeholder of the English text is given.
 */
export function t<K extends MessageKey>(locale: string | null | undefined, key: K, ...vars: VarsArg<K>): string {
  return format(catalogues[languageOf(locale)][key], vars[0] ?? {});
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
  return format(catalogues[lang][key], { ...(vars as Record<string, string | number>), n });
}

/** Whether the catalogue has a key (for command localizations, where some texts are looked up by path). */
export function hasKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** The text of a key in every non-English Discord locale, for `*_localizations` fields of command definitions. */
export function discordLocalizations(key: MessageKey, vars: Readonly<Record<string, string | number>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [lang, locales] of Object.entries(DISCORD_LOCALES) as [Translated, readonly string[]][]) {
    const text = translations[lang][key];
    if (text === undefined) continue;
    for (const l of locales) out[l] = format(text, vars);
  }
  return out;
}
