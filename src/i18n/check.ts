/*
 * Checks of the catalogues (run by test/i18n/catalogues.test.ts): the English source, and each translator's JSON
 * file against it. Every problem is one line a translator can act on, naming the file, the key and its line.
 */

/** The `{name}` placeholders of a message, sorted and deduplicated. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string))].sort();
}

/** The English catalogue's own problems: an empty text, a plural `.one` without its `.other`. */
export function englishProblems(english: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [key, text] of Object.entries(english)) {
    if (key.endsWith('.one') && !Object.hasOwn(english, key.replace(/\.one$/, '.other'))) problems.push(`en.ts: ${key} has no .other form`);
    if (text.trim() === '') problems.push(`en.ts: empty text for ${key}`);
  }
  return problems;
}

const braces = (names: readonly string[]): string => names.map((n) => `{${n}}`).join(' ');

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list [ … ]';
  if (typeof value === 'object') return 'an object { … }';
  if (typeof value === 'boolean') return `${String(value)} (a yes/no value)`;
  return `a ${typeof value} (${String(value)})`;
}

/** Line and column (from 1) of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/**
 * The line of every key in a JSON file's text, in order (a key written twice appears twice). Strings are matched
 * one after another from the start, so a quote escaped inside a text (`\"`) does not start a key.
 */
function keyLines(text: string): Array<{ key: string; line: number }> {
  const out: Array<{ key: string; line: number }> = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"(\s*:)?/g)) {
    if (!m[2]) continue;
    const key = JSON.parse(`"${m[1] ?? ''}"`) as string;
    out.push({ key, line: lineAndColumn(text, m.index).line });
  }
  return out;
}

/**
 * The problems of one translation, already parsed: not one object of texts, a key English does not have (a typo,
 * or a key English dropped), a key missing, a value that is not text, an empty text, placeholders that are not
 * exactly English's (one dropped would leave a message without its value; one added or translated would show as
 * "{foo}"). `lines` gives each key's line in the file, for the messages.
 */
export function translationProblems(
  file: string,
  translation: unknown,
  english: Readonly<Record<string, string>>,
  lines: ReadonlyMap<string, number> = new Map(),
): string[] {
  if (typeof translation !== 'object' || translation === null || Array.isArray(translation)) {
    return [`${file} must be one object of "key": "text" pairs between { and }.`];
  }
  const at = (key: string): string => (lines.has(key) ? ` (line ${lines.get(key)})` : '');
  const problems: string[] = [];
  const texts = translation as Record<string, unknown>;
  for (const [key, value] of Object.entries(texts)) {
    if (!Object.hasOwn(english, key)) {
      problems.push(`${file}: "${key}"${at(key)} is not a key of the English catalogue (src/i18n/catalogues/en.ts): a typo, or a key English no longer has. Correct its name or remove it.`);
      continue;
    }
    if (typeof value !== 'string') {
      problems.push(`${file}: "${key}"${at(key)} must be a text in double quotes, not ${kindOf(value)}.`);
      continue;
    }
    const source = english[key] as string;
    if (value.trim() === '') {
      problems.push(`${file}: "${key}"${at(key)} is empty. Translate: ${JSON.stringify(source)}`);
      continue;
    }
    const want = placeholdersOf(source);
    const got = placeholdersOf(value);
    const lacks = want.filter((n) => !got.includes(n));
    const extra = got.filter((n) => !want.includes(n));
    if (lacks.length > 0 || extra.length > 0) {
      const what = [
        ...(lacks.length > 0 ? [`it lacks ${braces(lacks)}`] : []),
        ...(extra.length > 0 ? [`it has ${braces(extra)}, which English does not`] : []),
      ].join(' and ');
      const expected = want.length > 0 ? `the placeholders ${braces(want)}, as English does` : 'no placeholders in braces, as English has none';
      problems.push(`${file}: "${key}"${at(key)} must keep ${expected} (copy them untranslated; the bot fills them in): ${what}.`);
    }
  }
  for (const [key, source] of Object.entries(english)) {
    if (!Object.hasOwn(texts, key)) problems.push(`${file}: "${key}" is missing. Add it with the translation of: ${JSON.stringify(source)}`);
  }
  return problems;
}

/** The problems of one translation file, from its text: not valid JSON, a key written twice, then translationProblems. */
export function translationFileProblems(file: string, text: string, english: Readonly<Record<string, string>>): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /at position (\d+)/.exec(message);
    const where = position ? lineAndColumn(text, Number(position[1])) : undefined;
    const reason = message.replace(/ in JSON at position \d+.*$/s, '');
    return [
      `${file} is not valid JSON${where ? ` at line ${where.line}, column ${where.column}` : ''}: ${reason}. ` +
        'Look there and on the line before for a missing comma at a line end, a missing or extra " (a quote inside a text is written \\"), or a comma after the last text.',
    ];
  }
  const problems: string[] = [];
  const lines = new Map<string, number>();
  for (const { key, line } of keyLines(text)) {
    const first = lines.get(key);
    if (first === undefined) lines.set(key, line);
    else problems.push(`${file}: "${key}" is there twice (lines ${first} and ${line}); only the last one counts. Keep one.`);
  }
  return [...problems, ...translationProblems(file, parsed, english, lines)];
}
