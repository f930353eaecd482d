/** The languages the bot speaks; English is the source and the fallback. */
export const LANGUAGES = ['en', 'de', 'fr', 'es', 'pt-BR', 'ja'] as const;
export type Language = (typeof LANGUAGES)[number];
/** The languages a translator's JSON file gives (`catalogues/<language>.json`). */
export type Translated = Exclude<Language, 'en'>;
export const TRANSLATED = LANGUAGES.filter((l): l is Translated => l !== 'en');
