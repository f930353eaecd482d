// @ts-check
// The message box: Enter sends a command (checked as Discord's client checks it) or a plain message with the files
// in the tray; the picker's keys (arrows, Tab, Enter, Escape); files by the + button or dropped on the box.
import { call, upload } from './api.js';
import { $, el, messageOf, toast } from './dom.js';
import { optionValue, parseDraft, subcommandsOf } from './draft.js';
import { autosize, hidePicker, hint, input, moveActive, setDraft, updatePicker } from './picker.js';
import { state } from './state.js';

/** @typedef {import('../protocol.js').OptionValue} OptionValue */

async function send() {
  const text = input().value;
  if (text.trim() === '' && state.trayFiles.length === 0) return;
  if (!text.startsWith('/')) return sendMessage(text);
  const draft = parseDraft(text);
  const command = draft?.command;
  if (!draft || !command) return hint(`/${draft?.name ?? ''} is not a command of this server. Type / to see them.`, true);
  const subs = subcommandsOf(command);
  if (subs.length > 0 && !draft.sub) return hint(`/${command.name} needs a subcommand: ${subs.map((s) => s.path).join(', ')}`, true);
  /** @type {OptionValue[]} */
  const options = [];
  try {
    if (draft.leading) throw new Error(`Start each value with its option name, e.g. ${(draft.defs ?? [])[0]?.name ?? 'prompt'}: …`);
    for (const o of draft.options) options.push({ name: o.def.name, type: o.def.type, value: optionValue(o.def, o.raw) });
    const missing = (draft.defs ?? []).filter((o) => o.required && !options.some((x) => x.name === o.name));
    if (missing.length) throw new Error(`Missing ${missing.map((o) => o.name).join(', ')}`);
  } catch (err) {
    return hint(messageOf(err), true);
  }
  try {
    const sub = draft.sub;
    await call('command', { name: command.name, ...(sub?.group ? { subcommandGroup: sub.group.name } : {}), ...(sub ? { subcommand: sub.sub.name } : {}), options });
    state.optionFiles.clear();
    setDraft('');
    hidePicker();
  } catch (err) {
    hint(messageOf(err), true);
  }
}

/** A plain message (with the tray's files) in the channel. @param {string} text */
async function sendMessage(text) {
  if (state.place === 'dm') return hint('The bot reads commands only: type / to pick one.', true);
  try {
    await call('message', { content: text, attachments: state.trayFiles.map((f) => f.id) });
    state.trayFiles = [];
    renderTray();
    setDraft('');
  } catch (err) {
    hint(messageOf(err), true);
  }
}

function renderTray() {
  const tray = $('#tray');
  tray.hidden = state.trayFiles.length === 0;
  tray.replaceChildren(
    ...state.trayFiles.map((f) => {
      const remove = () => {
        state.trayFiles = state.trayFiles.filter((x) => x.id !== f.id);
        renderTray();
      };
      return el(
        'li',
        {},
        (f.content_type ?? '').startsWith('image/') ? el('img', { src: f.url, alt: '' }) : null,
        el('span', { text: f.filename }),
        el('button', { type: 'button', 'aria-label': `Remove ${f.filename}`, text: '✕', onclick: remove }),
      );
    }),
  );
}

/** @param {Iterable<File>} files */
async function addTrayFiles(files) {
  for (const file of files) {
    try {
      state.trayFiles.push(await upload(file));
    } catch (err) {
      toast(messageOf(err));
    }
  }
  renderTray();
}

/** The picker's keys; Enter sends when no suggestion is selected. @param {KeyboardEvent} event */
function onKey(event) {
  const { items, active } = state.picker;
  const open = !$('#picker').hidden && items.length > 0;
  if (open && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
    event.preventDefault();
    const step = event.key === 'ArrowDown' ? 1 : -1;
    moveActive((active + step + items.length) % items.length);
    return;
  }
  if (open && event.key === 'Escape') {
    event.preventDefault();
    hidePicker();
    return;
  }
  if (open && (event.key === 'Tab' || event.key === 'Enter') && !event.shiftKey && (active >= 0 || event.key === 'Tab')) {
    event.preventDefault();
    items[Math.max(active, 0)]?.apply();
    return;
  }
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    void send();
  }
}

export function wireComposer() {
  const box = input();
  box.addEventListener('input', () => {
    autosize();
    updatePicker();
  });
  // Hidden a moment after the box loses focus, unless it has it again by then: a hide left over from an earlier blur
  // (switching person, then typing at once) must not close the picker the new focus opened.
  box.addEventListener('blur', () =>
    setTimeout(() => {
      if (document.activeElement !== box) hidePicker();
    }, 100),
  );
  box.addEventListener('focus', updatePicker);
  box.addEventListener('keydown', onKey);
  const composer = $('#composer', HTMLFormElement);
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });
  const files = $('#file-input', HTMLInputElement);
  $('#attach').addEventListener('click', () => files.click());
  files.addEventListener('change', () => {
    void addTrayFiles([...(files.files ?? [])]);
    files.value = '';
  });
  composer.addEventListener('dragover', (event) => event.preventDefault());
  composer.addEventListener('drop', (event) => {
    event.preventDefault();
    void addTrayFiles([...(event.dataTransfer?.files ?? [])]);
  });
  hint('');
}
