// @ts-check
// The subset of Discord's markdown the bot writes — **bold**, *italic*, `code`, mentions, links, <t:…> timestamps,
// and in text displays the line marks (# headings, -# small print, > quotes, - lists) — drawn as DOM nodes (never as
// HTML: the text is the bot's and the members').
import { el } from './dom.js';
import { state, userName } from './state.js';

const PATTERN = /\*\*(.+?)\*\*|\*(.+?)\*|`([^`]+)`|<@!?(\d+)>|<#(\d+)>|<@&(\d+)>|\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)|(https?:\/\/[^\s<]+)|<t:(-?\d+)(?::([tTdDfFR]))?>/g;

/** @param {string} text @returns {Array<Node | string>} */
export function markdown(text) {
  /** @type {Array<Node | string>} */
  const out = [];
  let last = 0;
  for (const match of text.matchAll(PATTERN)) {
    if (match.index > last) out.push(text.slice(last, match.index));
    out.push(node(match));
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Line marks of Discord's markdown: a heading (#, ##, ###), small print (-#), a quote (>), a list item (- or *). */
const LINE = /^(#{1,3}|-#|>|[-*]) (.*)$/;

/**
 * A text display's markdown, line by line: headings, small print, quotes and list items as blocks, other lines as
 * text (the node keeps white-space: pre-wrap for the line breaks between them).
 * @param {string} text
 * @returns {Array<Node | string>}
 */
export function markdownBlocks(text) {
  /** @type {Array<Node | string>} */
  const out = [];
  /** @type {string[]} */
  let plain = [];
  const flush = () => {
    if (plain.length > 0) out.push(el('div', { class: 'md-text' }, ...markdown(plain.join('\n'))));
    plain = [];
  };
  for (const line of text.split('\n')) {
    const mark = LINE.exec(line);
    if (!mark) {
      plain.push(line);
      continue;
    }
    flush();
    const [, kind = '', rest = ''] = mark;
    if (kind.startsWith('#') && kind !== '-#') out.push(el(/** @type {'h3' | 'h4' | 'h5'} */ (`h${kind.length + 2}`), { class: `md-h${kind.length}` }, ...markdown(rest)));
    else if (kind === '-#') out.push(el('small', { class: 'md-subtext' }, ...markdown(rest)));
    else if (kind === '>') out.push(el('blockquote', { class: 'md-quote' }, ...markdown(rest)));
    else out.push(el('div', { class: 'md-item' }, '• ', ...markdown(rest)));
  }
  flush();
  return out;
}

/** @param {RegExpExecArray | RegExpMatchArray} match @returns {Node} */
function node(match) {
  const [, bold, italic, code, user, channel, role, linkText, linkUrl, bare, seconds, style] = match;
  if (bold !== undefined) return el('strong', {}, ...markdown(bold));
  if (italic !== undefined) return el('em', {}, ...markdown(italic));
  if (code !== undefined) return el('code', { text: code });
  if (user !== undefined) return el('span', { class: 'mention', text: `@${userName(user)}` });
  if (channel !== undefined) return el('span', { class: 'mention', text: `#${state.server.channelName}` });
  if (role !== undefined) return el('span', { class: 'mention', text: `@${state.roles.find((r) => r.id === role)?.name ?? 'role'}` });
  if (linkUrl !== undefined) return link(linkText ?? linkUrl, linkUrl);
  if (bare !== undefined) return link(/discord\.com\/channels\//.test(bare) ? 'jump to message' : bare, bare);
  return timestamp(Number(seconds) * 1000, style ?? 'f');
}

/** @type {Record<string, Intl.DateTimeFormatOptions>} */
const FORMATS = {
  t: { timeStyle: 'short' },
  T: { timeStyle: 'medium' },
  d: { dateStyle: 'short' },
  D: { dateStyle: 'long' },
  f: { dateStyle: 'long', timeStyle: 'short' },
  F: { dateStyle: 'full', timeStyle: 'short' },
};

/** @type {Array<[Intl.RelativeTimeFormatUnit, number]>} */
const UNITS = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]];

/** Discord's <t:seconds:style> markup, shown in the reader's locale and time zone. @param {number} ms @param {string} style */
function timestamp(ms, style) {
  const date = new Date(ms);
  let text;
  if (style === 'R') {
    const diff = (ms - Date.now()) / 1000;
    const [unit, size] = UNITS.find(([, n]) => Math.abs(diff) >= n) ?? ['second', 1];
    text = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }).format(Math.round(diff / size), unit);
  } else text = new Intl.DateTimeFormat(undefined, FORMATS[style] ?? FORMATS.f).format(date);
  return el('time', { class: 'stamp', datetime: date.toISOString(), title: date.toString(), text });
}

/** Discord message links point into this page; anything else is shown but not followed off the machine. @param {string} url */
export function jumpTarget(url) {
  const jump = /^https:\/\/discord\.com\/channels\/[^/]+\/\d+\/(\d+)$/.exec(url);
  return jump ? `#m-${jump[1]}` : url;
}

/** @param {string} text @param {string} url */
function link(text, url) {
  const target = jumpTarget(url);
  return target.startsWith('#') ? el('a', { href: target, text }) : el('a', { href: url, text, rel: 'noreferrer noopener', target: '_blank' });
}
