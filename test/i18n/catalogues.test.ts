// The message catalogues: every language has exactly the English keys and placeholders; Discord locales map to
// catalogues; plural forms follow each language's rules.
import { describe, expect, it } from 'vitest';
import { catalogueProblems } from '../../src/i18n/check.js';
import { catalogues, LANGUAGES, languageOf, t, tn } from '../../src/i18n/index.js';

describe('message catalogues', () => {
  it('has one catalogue per language, each with exactly the English keys and placeholders', () => {
    expect(Object.keys(catalogues).sort()).toEqual([...LANGUAGES].sort());
    expect(catalogueProblems(catalogues)).toEqual([]);
  });

  it('reports a key missing in a language', () => {
    const { 'quota.used': _dropped, ...withoutKey } = catalogues.de;
    const problems = catalogueProblems({ en: catalogues.en, de: withoutKey });
    expect(problems).toEqual(['de: missing key quota.used']);
  });

  it('reports a placeholder that differs from English, dropped or renamed', () => {
    const problems = catalogueProblems({
      en: catalogues.en,
      ja: { ...catalogues.ja, 'quota.allowance': '上限：**{limit}**', 'qa.reset.done': '{member} を 0 に戻しました（以前は {was}）' },
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('ja: quota.allowance has placeholders {limit} but English has {limit,source}');
    expect(problems[1]).toContain('qa.reset.done');
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
