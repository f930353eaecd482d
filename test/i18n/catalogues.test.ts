// The message catalogues as the bot reads them: the translators' JSON files (checked in translation-files.test.ts),
// English where one lacks a text; Discord locales map to catalogues; plural forms follow each language's rules.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { en } from '../../src/i18n/catalogues/en.js';
import { catalogues, LANGUAGES, languageOf, t, TRANSLATED, tn } from '../../src/i18n/index.js';

const DIR = new URL('../../src/i18n/catalogues/', import.meta.url);
const fileText = (lang: string): string => readFileSync(new URL(`${lang}.json`, DIR), 'utf8');

describe('message catalogues', () => {
  it('gives the bot the texts of the files, and English for any text a file lacks', () => {
    expect(Object.keys(catalogues).sort()).toEqual([...LANGUAGES].sort());
    expect(catalogues.en).toBe(en);
    for (const lang of TRANSLATED) {
      const file = JSON.parse(fileText(lang)) as Record<string, unknown>;
      const text = (key: keyof typeof en): string => {
        const given = file[key];
        return typeof given === 'string' && given.trim() !== '' ? given : en[key];
      };
      expect(catalogues[lang], lang).toEqual(Object.fromEntries(Object.keys(en).map((k) => [k, text(k as keyof typeof en)])));
    }
  });

  it('maps Discord locales to catalogues and falls back to English', () => {
    expect(languageOf('de')).toBe('de');
    expect(languageOf('es-419')).toBe('es');
    expect(languageOf('es-ES')).toBe('es');
    expect(languageOf('pt-BR')).toBe('pt-BR');
    expect(languageOf('ja')).toBe('ja');
    expect(languageOf('en-GB')).toBe('en');
    expect(languageOf('ko')).toBe('en');
    expect(languageOf(undefined)).toBe('en');
    expect(t('ko', 'history.again', { n: 3 })).toBe('Send 3 again');
    expect(t('fr', 'history.again', { n: 3 })).toBe('Renvoyer 3');
  });

  it('chooses plural forms by the language’s rules', () => {
    expect(tn('en-US', 'units', 1)).toBe('1 unit');
    expect(tn('en-US', 'units', 0)).toBe('0 units');
    expect(tn('fr', 'units', 0)).toBe('0 unité');
    expect(tn('de', 'limit.per', 3, { period: t('de', 'period.week') })).toBe('3 Einheiten pro Woche');
  });
});
