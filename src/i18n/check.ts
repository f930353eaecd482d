/** The `{name}` placeholders of a message, sorted and deduplicated. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string))].sort();
}

/**
 * Every way the catalogues differ from the English one: a key missing or extra in a language, an empty text, or
 * placeholders that are not exactly English's (a translation that drops `{limit}` would show a message without
 * the limit; one that adds `{foo}` would show "{foo}").
 */
export function catalogueProblems(catalogues: Readonly<Record<string, Readonly<Record<string, string>>>>, source = 'en'): string[] {
  const base = catalogues[source];
  if (!base) return [`no "${source}" catalogue`];
  const problems: string[] = [];
  for (const [lang, cat] of Object.entries(catalogues)) {
    if (lang === source) continue;
    for (const [key, english] of Object.entries(base)) {
      const text = cat[key];
      if (text === undefined) {
        problems.push(`${lang}: missing key ${key}`);
        continue;
      }
      if (text.trim() === '') problems.push(`${lang}: empty text for ${key}`);
      const want = placeholdersOf(english).join(',');
      const got = placeholdersOf(text).join(',');
      if (want !== got) problems.push(`${lang}: ${key} has placeholders {${got}} but English has {${want}}`);
    }
    for (const key of Object.keys(cat)) if (!(key in base)) problems.push(`${lang}: extra key ${key} (not in ${source})`);
  }
  for (const [key, english] of Object.entries(base)) {
    if (key.endsWith('.one') && !Object.hasOwn(base, key.replace(/\.one$/, '.other'))) problems.push(`${source}: ${key} has no .other form`);
    if (english.trim() === '') problems.push(`${source}: empty text for ${key}`);
  }
  return problems;
}
