// Text helpers that any layer may use (the core's messages and charts, the Discord side's rendering).

/** Whole user-perceived characters: an emoji (a surrogate pair, or several joined by ZWJ) is one. */
const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Shortens text to at most `max` UTF-16 units (Discord's limits: embed descriptions hold 4096, prompts hold 6000),
 * ending in "…". It cuts between whole characters only: half an emoji is a lone surrogate, which Discord shows as
 * a broken glyph or refuses with a 400.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = 0;
  for (const { segment } of GRAPHEMES.segment(text)) {
    if (end + segment.length > max - 1) break;
    end += segment.length;
  }
  return `${text.slice(0, end).trimEnd()}…`;
}

/**
 * Text without the code points XML 1.0 does not allow (control characters other than tab and line breaks, lone
 * surrogates, U+FFFE and U+FFFF): one of them anywhere makes a whole SVG unreadable.
 */
export function xmlSafe(text: string): string {
  return text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');
}
