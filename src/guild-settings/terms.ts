/*
 * Blocked terms: matched case- and accent-insensitively, as whole words. "Whole word" means the term is not
 * part of a longer word ("ass" blocks "ass" but not "class"); a term may be a phrase ("real person") and
 * then matches across any run of spaces. Scripts written without spaces (Japanese, Chinese, Thai…) have no word
 * boundaries to look for, so a term in such a script matches wherever it appears.
 *
 * Both the terms and the prompt are compared in one canonical form (`foldText`, see `confusables.ts`): invisible
 * characters gone, then Unicode's confusables skeleton of the case-folded text, so "drаgon" with a Cyrillic "а",
 * "ᴅʀᴀɢᴏɴ" in small capitals or "dra\u200Bgon" with a zero-width space are the term "dragon".
 */
import { foldText } from './confusables.js';

export { foldText };

/** At most this many terms per server, each at most this many characters. */
export const MAX_TERMS = 200;
export const MAX_TERM_LENGTH = 60;

const UNSPACED_SCRIPT = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}]/u;
const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u;
const ONE_WORD = /^[\p{L}\p{N}\p{M}_]+$/u;
const WORDS = /[\p{L}\p{N}\p{M}_]+/gu;

/** Whether the code point that ends just before `at` is a word character. */
function wordBefore(text: string, at: number): boolean {
  if (at === 0) return false;
  const low = text.charCodeAt(at - 1);
  const start = low >= 0xdc00 && low <= 0xdfff && at >= 2 ? at - 2 : at - 1;
  return WORD_CHAR.test(String.fromCodePoint(text.codePointAt(start) ?? 0));
}

/** Whether the code point at `at` is a word character. */
function wordAt(text: string, at: number): boolean {
  return at < text.length && WORD_CHAR.test(String.fromCodePoint(text.codePointAt(at) ?? 0));
}

/**
 * A server's blocked terms, compiled once (per change of the list) and checked against any number of prompts:
 * one pass over the prompt's words for the terms that are one word, a search of the canonical text for the rest
 * (phrases, terms with signs, terms in scripts without spaces), with the whole-word check at each place found.
 * No regular expression is built per term: compiling Unicode classes for 200 terms took tens of milliseconds.
 */
export class TermMatcher {
  private readonly words = new Map<string, number>();
  private readonly others: { index: number; folded: string; anywhere: boolean }[] = [];

  constructor(readonly terms: readonly string[]) {
    terms.forEach((term, index) => {
      const folded = foldText(term);
      if (folded === '') return;
      const anywhere = UNSPACED_SCRIPT.test(folded);
      if (ONE_WORD.test(folded) && !anywhere) {
        if (!this.words.has(folded)) this.words.set(folded, index);
      } else {
        this.others.push({ index, folded, anywhere });
      }
    });
  }

  /** The first of the terms (in the admin's order, as the admin wrote it) that the text contains, or undefined. */
  find(text: string): string | undefined {
    if (this.terms.length === 0) return undefined;
    const folded = foldText(text);
    let first = Infinity;
    if (this.words.size > 0) {
      for (const [word] of folded.matchAll(WORDS)) {
        const index = this.words.get(word);
        if (index !== undefined && index < first) first = index;
      }
    }
    for (const { index, folded: term, anywhere } of this.others) {
      if (index >= first) continue;
      for (let at = folded.indexOf(term); at >= 0; at = folded.indexOf(term, at + 1)) {
        if (anywhere || (!wordBefore(folded, at) && !wordAt(folded, at + term.length))) {
          first = index;
          break;
        }
      }
    }
    return first === Infinity ? undefined : this.terms[first];
  }
}

/** The first blocked term the text contains (as the admin wrote it), or undefined. Compiles the terms each call. */
export function findBlockedTerm(text: string, terms: readonly string[]): string | undefined {
  return new TermMatcher(terms).find(text);
}

/**
 * The compiled matchers of the term lists in use, so a check costs one pass over the prompt, not a compilation of
 * every term. Keyed by the list's content: a policy change makes a new entry, and the least recently used go first.
 */
export class TermMatchers {
  private readonly cache = new Map<string, TermMatcher>();
  /** How many lists were compiled so far. */
  builds = 0;

  constructor(private readonly capacity = 256) {}

  for(terms: readonly string[]): TermMatcher {
    const key = terms.join('\n');
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const matcher = new TermMatcher(terms);
    this.builds++;
    this.cache.set(key, matcher);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value as string);
    return matcher;
  }
}

export type TermProblem = { kind: 'empty' } | { kind: 'tooLong'; term: string };

/** Splits an admin's comma-separated input into clean terms, or says what is wrong with one. */
export function parseTerms(input: string): { terms: string[] } | { problem: TermProblem } {
  const terms: string[] = [];
  for (const raw of input.split(/[,\n、，]/u)) {
    const term = raw
      .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
      .replace(/\s+/gu, ' ')
      .trim();
    if (term === '') continue;
    if (term.length > MAX_TERM_LENGTH) return { problem: { kind: 'tooLong', term: term.slice(0, 20) } };
    if (!/[\p{L}\p{N}]/u.test(term)) return { problem: { kind: 'empty' } };
    if (!terms.some((t) => foldText(t) === foldText(term))) terms.push(term);
  }
  return { terms };
}
