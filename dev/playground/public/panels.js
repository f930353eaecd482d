// @ts-check
// The side panels and the channel list: who the page acts as, which place it shows, the chaos switches, the Store, the
// colour theme, and the bot's log.
import { $, el } from './dom.js';
import { renderMessages } from './messages.js';
import { openModal } from './modal.js';
import { updatePicker } from './picker.js';
import { person, state } from './state.js';
import { renderStore } from './store.js';

export { renderStore } from './store.js';

/** @typedef {import('../protocol.js').LogEntry} LogEntry */
/** @typedef {import('../protocol.js').Place} Place */

const LOG_LINES = 300;

export function renderPeople() {
  const box = $('#people');
  box.querySelectorAll('label').forEach((n) => n.remove());
  for (const p of state.people) {
    const input = el('input', { type: 'radio', name: 'person', value: p.key, checked: p.key === state.me });
    input.addEventListener('change', () => switchPerson(p.key));
    const role = p.key === 'admin' ? 'server admin (Manage Server)' : 'member';
    box.append(
      el(
        'label',
        { class: 'person' },
        input,
        el('span', { class: `avatar small ${p.key === 'admin' ? 'admin' : ''}`, 'aria-hidden': 'true', text: p.displayName[0] }),
        el('span', {}, el('strong', { text: p.displayName }), el('small', { text: role })),
      ),
    );
  }
  const me = person();
  $('#me-name').textContent = me.displayName;
  $('#me-role').textContent = me.key === 'admin' ? 'server admin' : 'member';
  const avatar = $('#me-avatar');
  avatar.textContent = me.displayName[0] ?? '';
  avatar.classList.toggle('admin', me.key === 'admin');
}

/** Acts as another person: their view of the messages, their commands, a modal the bot opened for them. @param {import('../protocol.js').PersonKey} key */
function switchPerson(key) {
  state.me = key;
  renderPeople();
  renderStore();
  renderMessages();
  updatePicker();
  const pending = state.pendingModals.get(person().id);
  if (pending) {
    state.pendingModals.delete(person().id);
    openModal(pending);
  }
}

/** Shows #general or the DM with the bot. @param {Place} place */
export function switchPlace(place) {
  state.place = place;
  for (const button of document.querySelectorAll('.channel')) {
    if (!(button instanceof HTMLElement)) continue;
    button.toggleAttribute('aria-current', button.dataset.place === place);
    if (button.dataset.place === place) button.setAttribute('aria-current', 'page');
  }
  const dm = place === 'dm';
  const channel = `#${state.server.channelName}`;
  $('#channel-glyph').textContent = dm ? '@' : '#';
  $('#channel-name').textContent = dm ? state.bot.name : state.server.channelName;
  const label = dm ? `Message @${state.bot.name}` : `Message ${channel}`;
  $('label[for="composer-input"]').textContent = label;
  $('#composer-input', HTMLTextAreaElement).placeholder = `${label} — type / for commands`;
  document.title = `${dm ? '@' + state.bot.name : channel} · Playground — Luma bot`;
  $('#channel-topic').textContent = dm
    ? 'Your DMs with the bot: commands work here too, and results land here when the bot cannot post in the channel.'
    : 'Try the bot: type / for its commands, or right-click an image for Apps → Edit image.';
  renderMessages(true);
}

export function renderChaos() {
  const fake = state.chaos.luma === 'fake';
  for (const badge of document.querySelectorAll('[data-armed]')) {
    if (!(badge instanceof HTMLElement)) continue;
    const key = /** @type {keyof import('../protocol.js').ChaosState} */ (badge.dataset.armed);
    const n = Number(state.chaos[key] ?? 0);
    badge.textContent = n > 0 ? `armed ×${n}` : '';
  }
  for (const button of document.querySelectorAll('[data-chaos]')) {
    if (!(button instanceof HTMLButtonElement) || button.dataset.chaos === 'expire-token') continue;
    button.disabled = !fake;
    if (!fake) button.title = 'The playground uses the real Luma API: its failures cannot be staged.';
  }
  $('#chaos-mode').textContent = fake
    ? 'Make the next request go wrong and watch the bot’s fallback.'
    : 'The bot uses the REAL Luma API (images cost credits); only Discord’s failures can be staged.';
}

/** @param {string} choice 'auto', 'light' or 'dark' */
export function setTheme(choice) {
  if (choice === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
  try {
    localStorage.setItem('playground-theme', choice);
  } catch {
    // not saved: fine
  }
  for (const b of document.querySelectorAll('[data-theme-choice]')) {
    if (b instanceof HTMLElement) b.setAttribute('aria-pressed', String(b.dataset.themeChoice === choice));
  }
}

/** The theme chosen last time, if storage allows. */
export function savedTheme() {
  try {
    return localStorage.getItem('playground-theme') ?? 'auto';
  } catch {
    return 'auto';
  }
}

/** @param {LogEntry} line */
export function addLog(line) {
  const list = $('#log');
  const level = line.level >= 50 ? 'error' : line.level >= 40 ? 'warn' : 'info';
  const time = new Date(line.time).toLocaleTimeString([], { hour12: false });
  list.append(el('li', { class: level, text: `${time} ${line.msg}` }));
  while (list.children.length > LOG_LINES) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
}
