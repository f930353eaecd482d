// The translators' check: each language's JSON file has exactly the English keys, as texts with English's
// placeholders, and every problem is one line that names the file, the key, its line and what to do. Imports no
// catalogue file, so a file that is not even JSON is reported here in words rather than as a failed import.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { en } from '../../src/i18n/catalogues/en.js';
import { englishProblems, translationFileProblems, translationProblems } from '../../src/i18n/check.js';
import { TRANSLATED } from '../../src/i18n/languages.js';

const DIR = new URL('../../src/i18n/catalogues/', import.meta.url);
const fileText = (lang: string): string => readFileSync(new URL(`${lang}.json`, DIR), 'utf8');

describe('translation files', () => {
  it('has a JSON file per translated language, each with exactly the English keys, as texts with English’s placeholders', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
    const known = TRANSLATED.map((l) => `${l}.json`);
    const problems = [
      ...englishProblems(en),
      ...known.filter((f) => !files.includes(f)).map((f) => `${f} is missing: the bot loads it (src/i18n/index.ts).`),
      ...files.filter((f) => !known.includes(f)).map((f) => `${f} is a language the bot does not load yet: see "A new language" in docs/translating.md.`),
      ...files.flatMap((f) => translationFileProblems(f, readFileSync(new URL(f, DIR), 'utf8'), en)),
    ];
    expect(problems.join('\n')).toBe('');
  });

  describe('tells a translator what is wrong with a file', () => {
    // Each case breaks a copy of the real German file.
    const de = (): Record<string, unknown> => JSON.parse(fileText('de')) as Record<string, unknown>;
    const check = (texts: Record<string, unknown>): string[] => translationFileProblems('de.json', `${JSON.stringify(texts, null, 2)}\n`, en);
    const lineOf = (key: string): number => Object.keys(de()).indexOf(key) + 2;

    it('a key missing, with the English to translate', () => {
      const { 'quota.used': _dropped, ...withoutKey } = de();
      expect(check(withoutKey)).toEqual(['de.json: "quota.used" is missing. Add it with the translation of: "Used {when}: **{used}** · Remaining: **{remaining}** units"']);
    });

    it('a key English does not have (a typo)', () => {
      const { 'quota.used': text, ...rest } = de();
      const problems = check({ ...rest, 'quota.usd': text });
      expect(problems).toEqual([
        `de.json: "quota.usd" (line ${Object.keys(de()).length + 1}) is not a key of the English catalogue (src/i18n/catalogues/en.ts): a typo, or a key English no longer has. Correct its name or remove it.`,
        'de.json: "quota.used" is missing. Add it with the translation of: "Used {when}: **{used}** · Remaining: **{remaining}** units"',
      ]);
    });

    it('a placeholder dropped, renamed or translated', () => {
      const problems = check({ ...de(), 'quota.allowance': 'Kontingent: **{limit}**', 'qa.reset.done': '{mitglied}: zurück auf 0 (vorher {was}).', 'period.day': 'Tag {n}' });
      expect(problems).toEqual([
        `de.json: "period.day" (line ${lineOf('period.day')}) must keep no placeholders in braces, as English has none (copy them untranslated; the bot fills them in): it has {n}, which English does not.`,
        `de.json: "quota.allowance" (line ${lineOf('quota.allowance')}) must keep the placeholders {limit} {source}, as English does (copy them untranslated; the bot fills them in): it lacks {source}.`,
        `de.json: "qa.reset.done" (line ${lineOf('qa.reset.done')}) must keep the placeholders {user} {was}, as English does (copy them untranslated; the bot fills them in): it lacks {user} and it has {mitglied}, which English does not.`,
      ]);
    });

    it('a value that is not a text, or an empty text', () => {
      const problems = check({ ...de(), 'units.one': 1, 'units.other': ['{n} Einheiten'], 'period.week': null, 'period.month': ' ' });
      expect(problems).toEqual([
        `de.json: "period.week" (line ${lineOf('period.week')}) must be a text in double quotes, not null.`,
        `de.json: "period.month" (line ${lineOf('period.month')}) is empty. Translate: "month"`,
        `de.json: "units.one" (line ${lineOf('units.one')}) must be a text in double quotes, not a number (1).`,
        `de.json: "units.other" (line ${lineOf('units.other')}) must be a text in double quotes, not a list [ … ].`,
      ]);
    });

    it('a key written twice', () => {
      const text = fileText('de').replace('\n}', `,\n  "period.day": "Tag"\n}`);
      expect(translationFileProblems('de.json', text, en)).toEqual([
        `de.json: "period.day" is there twice (lines ${lineOf('period.day')} and ${Object.keys(de()).length + 2}); only the last one counts. Keep one.`,
      ]);
    });

    it('a file that is not JSON, with where to look', () => {
      const lines = fileText('de').split('\n');
      lines[4] = lines[4]?.replace(/,$/, '') ?? ''; // a comma missing at the end of line 5
      const [problem, ...more] = translationFileProblems('de.json', lines.join('\n'), en);
      expect(more).toEqual([]);
      expect(problem).toMatch(/^de\.json is not valid JSON at line 6, column 3: .+\. Look there and on the line before for a missing comma/);
      expect(translationProblems('de.json', ['a list'], en)).toEqual(['de.json must be one object of "key": "text" pairs between { and }.']);
    });
  });
});
