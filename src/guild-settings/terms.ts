/*
 * Blocked terms: matched case- and accent-insensitively, as whole words. "Whole word" means the term is not
 * part of a longer word ("ass" blocks "ass" but not "class"); a term may be a phrase ("real person") and
 * then matches across any run of spaces. Scripts written without spaces (Japanese, Chinese, Thai…) have no word
 * boundaries to look for, so a term in such a script matches wherever it appears.
 */

/** At most this many terms per server, each at most this many characters. */
export const MAX_TERMS = 200;
export const MAX_TERM_LENGTH = 60;

/** Case folded, accents removed, compatibility forms unified (ｆｕｌｌ → full, ß → ss), spaces collapsed. */
export function foldText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/\s+/gu, ' ')
    .trim();
}

const UNSPACED_SCRIPT = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}]/u;
const WORD_CHAR = '[\\p{L}\\p{N}\\p{M}_]';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One compiled term: its folded form and a matcher against folded text. */
export interface CompiledTerm {
  term: string;
  folded: string;
  pattern: RegExp;
}

export function compileTerm(term: string): CompiledTerm {
  const folded = foldText(term);
  const body = folded.split(' ').map(escapeRegExp).join('\\s+');
  const pattern = UNSPACED_SCRIPT.test(folded) ? new RegExp(body, 'u') : new RegExp(`(?<!${WORD_CHAR})${body}(?!${WORD_CHAR})`, 'u');
  return { term, folded, pattern };
}

/** The first blocked term the text contains (as the admin wrote it), or undefined. */
export function findBlockedTerm(text: string, terms: readonly string[]): string | undefined {
  if (terms.length === 0) return undefined;
  const folded = foldText(text);
  for (const term of terms) if (compileTerm(term).pattern.test(folded)) return term;
  return undefined;
}

export type TermProblem = { kind: 'empty' } | { kind: 'tooLong'; term: string };

/** Splits an admin's comma-separated input into clean terms, or says what is wrong with one. */
export function parseTerms(input: string): { terms: string[] } | { problem: TermProblem } {
  const terms: string[] = [];
  for (const raw of input.split(/[,\n、，]/u)) {
    const term = raw.replace(/\s+/gu, ' ').trim();
    if (term === '') continue;
    if (term.length > MAX_TERM_LENGTH) return { problem: { kind: 'tooLong', term: term.slice(0, 20) } };
    if (!/[\p{L}\p{N}]/u.test(term)) return { problem: { kind: 'empty' } };
    if (!terms.some((t) => foldText(t) === foldText(term))) terms.push(term);
  }
  return { terms };
}
