// @ts-check
// The channel's messages, drawn as Discord draws them: author, time, "↪ used /imagine", content, embeds, images,
// components (Components V2 layouts, buttons, selects: components.js), the "Only you can see this" line, and the
// ⋯ menu.
import { actions } from './api.js';
import { IS_COMPONENTS_V2, renderRows, renderV2, v2Text } from './components.js';
import { $, el } from './dom.js';
import { markdown } from './markdown.js';
import { fileLink, media, mediaEvents } from './media.js';
import { openMenu } from './menu.js';
import { person, state, userName } from './state.js';

/** @typedef {import('../protocol.js').ViewMessage} ViewMessage */
/** @typedef {import('discord-api-types/v10').APIEmbed} APIEmbed */

const LOADING = 128;
const EPHEMERAL = 64;
/** A reader this close to the bottom is reading the newest messages: the list follows them. */
const PINNED_WITHIN = 120;

/** Was the reader at the newest message when the list last scrolled? */
let pinned = true;

/**
 * Follows the reader's scrolling: the list keeps the newest message in view while they are at the bottom — and
 * after they did something (a command, a button, a form), whose answer appears there.
 */
export function followScrolling() {
  const list = $('#messages');
  list.addEventListener('scroll', () => {
    pinned = list.scrollHeight - list.scrollTop - list.clientHeight < PINNED_WITHIN;
  });
  actions.addEventListener('acted', () => {
    pinned = true;
    list.scrollTop = list.scrollHeight;
  });
  mediaEvents.addEventListener('loaded', keepNewestInView);
}

/** Is the reader at the newest message? */
export function atNewest() {
  return pinned;
}

/** After something in the list grew (an image loaded): the newest message back in view, if the reader was there. */
function keepNewestInView() {
  if (!pinned) return;
  const list = $('#messages');
  list.scrollTop = list.scrollHeight;
}

/** Is the message shown to the person the page acts as, where the page is? @param {ViewMessage} m */
function visible(m) {
  if (m.place !== state.place) return false;
  return !m.visibleTo || m.visibleTo === person().id;
}

/** Nodes drawn for each message, with what they were drawn from. @type {Map<string, { key: string; node: HTMLElement }>} */
let drawn = new Map();

/** Draws the messages the person sees here; with `scroll`, shows the newest. */
export function renderMessages(scroll = true) {
  const list = $('#messages');
  const shown = [...state.messages.values()].filter(visible);
  // Unchanged messages keep their nodes (and loaded images); changed ones are drawn again.
  /** @type {typeof drawn} */
  const next = new Map();
  const nodes = shown.map((m) => {
    const key = `${state.me}|${JSON.stringify(m)}`;
    const cached = drawn.get(m.id);
    const node = cached?.key === key ? cached.node : renderMessage(m);
    next.set(m.id, { key, node });
    return node;
  });
  drawn = next;
  list.replaceChildren(...(nodes.length > 0 ? nodes : [welcome()]));
  if (scroll) {
    pinned = true;
    list.scrollTop = list.scrollHeight;
  }
}

function welcome() {
  const dm = state.place === 'dm';
  return el(
    'li',
    { class: 'empty' },
    el('h3', { text: dm ? state.bot.name : `Welcome to #${state.server.channelName}!` }),
    el('p', {
      text: dm
        ? 'Your direct messages with the bot. Results land here when the bot cannot post in the channel.'
        : 'Type /imagine and a prompt below. Everything here is local: a fake Discord, the real bot, and a fake (or your real) Luma.',
    }),
  );
}

/** @param {ViewMessage} m */
function renderMessage(m) {
  const isBot = m.author.id === state.bot.id;
  const authorPerson = state.people.find((p) => p.id === m.author.id);
  const name = isBot ? state.bot.name : (authorPerson?.displayName ?? m.author.global_name ?? m.author.username);
  const loading = ((m.flags ?? 0) & LOADING) !== 0;
  const ephemeral = ((m.flags ?? 0) & EPHEMERAL) !== 0;
  const li = el('li', { class: `message${ephemeral ? ' ephemeral' : ''}`, id: `m-${m.id}`, 'data-id': m.id, 'aria-label': `${name}: ${summary(m)}` });
  const replyLine = interactionLine(m);
  if (replyLine) li.append(replyLine);
  li.append(el('span', { class: `avatar ${isBot ? 'bot' : authorPerson?.key === 'admin' ? 'admin' : ''}`, 'aria-hidden': 'true', text: name[0] ?? '?' }));
  const body = el('div', { class: 'body' }, head(m, name, isBot));
  if (loading && m.interactionFailed) body.append(el('div', { class: 'interaction-failed' }, el('span', { class: 'failed-icon', 'aria-hidden': 'true', text: '!' }), 'The application did not respond'));
  else if (loading) body.append(el('div', { class: 'thinking' }, `${state.bot.name} is thinking`, el('span', { class: 'dots', 'aria-hidden': 'true' })));
  if (((m.flags ?? 0) & IS_COMPONENTS_V2) !== 0) body.append(renderV2(m));
  else renderClassic(m, body);
  if (ephemeral) body.append(ephemeralNote(m));
  li.append(body);
  if (!loading) addMenu(li, m, name);
  return li;
}

/** A message of the older kind: content, embeds, attachments, then action rows. @param {ViewMessage} m @param {HTMLElement} body */
function renderClassic(m, body) {
  if (m.content) body.append(el('div', { class: 'content' }, ...markdown(m.content)));
  const embedImages = new Set(m.embeds.flatMap((e) => [e.image?.url, e.thumbnail?.url]).filter(Boolean));
  for (const e of m.embeds) body.append(renderEmbed(e));
  for (const a of m.attachments) {
    if (embedImages.has(a.url)) continue;
    if ((a.content_type ?? '').startsWith('image/')) body.append(media(a.proxy_url ?? a.url, a.description ?? a.filename, a.width, a.height));
    else body.append(fileLink(a.url, a.filename, a.size));
  }
  if (Array.isArray(m.components) && m.components.length > 0) body.append(renderRows(m));
}

/** "↪ Alex used /imagine" above a reply to an interaction. @param {ViewMessage} m */
function interactionLine(m) {
  const meta = m.interaction_metadata;
  if (!meta) return null;
  const who = el('strong', { text: userName(meta.user.id) });
  const what =
    meta.type === 2
      ? [' used ', el('span', { class: 'command', text: 'command_type' in meta && meta.command_type === 1 ? `/${'name' in meta ? meta.name : ''}` : 'name' in meta ? (meta.name ?? '') : '' })]
      : meta.type === 5
        ? [' submitted a form']
        : [' pressed a button'];
  return el('div', { class: 'reply-line' }, '↪ ', who, ...what);
}

/** @param {ViewMessage} m @param {string} name @param {boolean} isBot */
function head(m, name, isBot) {
  const time = new Date(m.timestamp);
  return el(
    'div',
    { class: 'message-head' },
    el('span', { class: 'author', text: name }),
    isBot ? el('span', { class: 'tag', text: 'APP' }) : null,
    el('time', { class: 'time', datetime: m.timestamp, text: time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }),
    m.edited_timestamp ? el('span', { class: 'edited', text: '(edited)' }) : null,
  );
}

/** @param {ViewMessage} m */
function ephemeralNote(m) {
  const dismiss = el('button', {
    type: 'button',
    text: 'Dismiss message',
    onclick: () => {
      state.messages.delete(m.id);
      renderMessages(false);
    },
  });
  return el('div', { class: 'ephemeral-note' }, el('span', { class: 'icon eye', 'aria-hidden': 'true' }), 'Only you can see this · ', dismiss);
}

/** The ⋯ button and the right-click menu. @param {HTMLElement} li @param {ViewMessage} m @param {string} name */
function addMenu(li, m, name) {
  const more = el('button', {
    type: 'button',
    class: 'more',
    'aria-label': `More options for ${name}'s message`,
    'aria-haspopup': 'menu',
    'aria-expanded': 'false',
    text: '⋯',
  });
  more.addEventListener('click', () => {
    const rect = more.getBoundingClientRect();
    openMenu(m, rect.right - 200, rect.bottom + 4, more);
  });
  li.append(more);
  li.addEventListener('contextmenu', (event) => {
    event.preventDefault();
    openMenu(m, event.clientX, event.clientY, more);
  });
}

/** @param {ViewMessage} m */
function summary(m) {
  if (((m.flags ?? 0) & LOADING) !== 0) return 'is thinking';
  if (((m.flags ?? 0) & IS_COMPONENTS_V2) !== 0) return v2Text(m).replace(/^#+ |^-# /gm, '').replace(/\s+/g, ' ').slice(0, 160);
  const embed = m.embeds[0];
  return [m.content, embed?.title, embed?.description].filter(Boolean).join(' — ').slice(0, 160) || (m.attachments.length ? 'an image' : '');
}

/** @param {APIEmbed} e */
function renderEmbed(e) {
  const box = el('article', { class: 'embed' });
  if (typeof e.color === 'number') box.style.borderLeftColor = `#${e.color.toString(16).padStart(6, '0')}`;
  if (e.author?.name) box.append(el('div', { class: 'embed-footer', text: e.author.name }));
  if (e.title) box.append(el('h3', { class: 'embed-title', text: e.title }));
  if (e.description) box.append(el('div', { class: 'embed-description' }, ...markdown(e.description)));
  if (e.fields?.length) {
    const fields = e.fields.map((f) => el('div', { class: `embed-field${f.inline ? ' inline' : ''}` }, el('dt', {}, ...markdown(f.name)), el('dd', {}, ...markdown(f.value))));
    box.append(el('dl', { class: 'embed-fields' }, fields));
  }
  const image = e.image ?? e.thumbnail;
  if (image?.url) {
    box.append(media(image.proxy_url ?? image.url, e.description ? `Image: ${e.description.slice(0, 120)}` : 'Embedded image', image.width, image.height));
  }
  if (e.footer?.text) box.append(el('div', { class: 'embed-footer', text: e.footer.text }));
  return box;
}
