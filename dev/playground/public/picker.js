// @ts-check
// Discord's command picker above the message box: commands, then subcommands, options and choices as the draft
// grows, and the hint line below it that says what the command still needs.
import { upload } from './api.js';
import { $, el, messageOf, toast } from './dom.js';
import { parseDraft, slashCommands, subcommandsOf } from './draft.js';
import { OPTION_TYPES, state } from './state.js';

/** @typedef {import('./state.js').PickerItem} PickerItem */
/** @typedef {import('../protocol.js').CommandOption} CommandOption */
/** @typedef {import('../protocol.js').RegisteredCommand} RegisteredCommand */
/** @typedef {import('./draft.js').Draft} Draft */
/** @typedef {{ title: string; items: PickerItem[]; highlight: boolean }} Suggestions */

export const input = () => $('#composer-input', HTMLTextAreaElement);

/** What the picker offers at the caret: commands, subcommands, options, or an option's choices. @param {string} text @returns {Suggestions | null} */
function suggestions(text) {
  const draft = parseDraft(text);
  if (!draft) return null;
  const command = draft.command;
  if (!draft.complete) {
    const items = slashCommands()
      .filter((c) => c.name.startsWith(draft.name))
      .map((c) => ({ label: `/${c.name}`, desc: c.description ?? '', apply: () => chooseCommand(c) }));
    return { title: 'Commands', items, highlight: true };
  }
  if (!command) return { title: 'No command by that name', items: [], highlight: false };
  if (draft.subName !== undefined && !draft.sub) {
    const typed = draft.subName;
    const subs = subcommandsOf(command).filter((s) => s.path.startsWith(typed));
    const items = subs.map((s) => ({ label: s.path, desc: s.sub.description, apply: () => setDraft(`/${command.name} ${s.path} ${firstRequired(s.sub.options)}`) }));
    return { title: `/${command.name}`, items, highlight: true };
  }
  const last = draft.options[draft.options.length - 1];
  if (last && last.raw.trim() === '') return valueSuggestions(last.def, text.slice(0, last.start));
  return optionSuggestions(draft, text);
}

/** The values an option takes (choices, True/False, people, roles, a file), for an option whose value is empty. @param {CommandOption} def @param {string} before @returns {Suggestions | null} */
function valueSuggestions(def, before) {
  /** @param {string | number} value */
  const put = (value) => () => setDraft(`${before} ${value} `);
  /** @param {PickerItem[]} items */
  const offer = (items) => ({ title: def.name, items, highlight: true });
  if (def.choices?.length) return offer(def.choices.map((c) => ({ label: c.name, desc: String(c.value), apply: put(c.value) })));
  if (def.type === OPTION_TYPES.BOOLEAN) return offer(['True', 'False'].map((v) => ({ label: v, desc: '', apply: put(v) })));
  if (def.type === OPTION_TYPES.USER) return offer(state.people.map((p) => ({ label: `@${p.displayName}`, desc: p.key === 'admin' ? 'server admin' : 'member', apply: put(`@${p.displayName}`) })));
  if (def.type === OPTION_TYPES.CHANNEL) return offer([{ label: `#${state.server.channelName}`, desc: 'text channel', apply: put(`#${state.server.channelName}`) }]);
  if (def.type === OPTION_TYPES.ROLE) return offer(state.roles.map((r) => ({ label: `@${r.name}`, desc: '', apply: put(`@${r.name}`) })));
  if (def.type === OPTION_TYPES.ATTACHMENT) return offer([{ label: 'Choose a file from your disk…', desc: def.description, apply: () => pickFileFor(def, before) }]);
  return null;
}

/** Option names still free that start with the word at the caret. @param {Draft} draft @param {string} text @returns {Suggestions | null} */
function optionSuggestions(draft, text) {
  const defs = draft.defs ?? [];
  const used = new Set(draft.options.map((o) => o.def.name));
  const last = draft.options[draft.options.length - 1];
  const word = /(?:^|\s)([\w-]*)$/.exec(text)?.[1] ?? '';
  // While a value is being typed, only a word that starts an option's name brings the list back (the hint line
  // names what is left), so writing a prompt is not covered by suggestions at every space.
  const typingValue = Boolean(last && last.raw.trim() !== '');
  if (typingValue && word === '') return null;
  // In free text (a prompt) such a word may be part of it: the list shows unselected and Enter sends. After any other
  // value (a member, a number, a choice) the word can only start the next option: Enter completes it, as in Discord.
  const inFreeText = Boolean(typingValue && last && last.def.type === OPTION_TYPES.STRING && !last.def.choices?.length);
  const free = defs.filter((o) => !used.has(o.name) && o.name.startsWith(word));
  if (free.length === 0) return null;
  const base = text.slice(0, text.length - word.length);
  const spacer = base.endsWith(' ') || base === '' ? '' : ' ';
  const items = free
    .sort((a, b) => Number(b.required === true) - Number(a.required === true))
    .map((o) => ({
      label: o.name,
      desc: o.description,
      required: o.required === true,
      apply: () => (o.type === OPTION_TYPES.ATTACHMENT ? pickFileFor(o, `${base}${spacer}${o.name}:`) : setDraft(`${base}${spacer}${o.name}: `)),
    }));
  return { title: 'Options', items, highlight: word !== '' && !inFreeText };
}

/** `name: ` of the first required option, when it is typed (not a file). @param {CommandOption[]} [options] */
function firstRequired(options = []) {
  const first = options.find((o) => o.required);
  return first && first.type !== OPTION_TYPES.ATTACHMENT ? `${first.name}: ` : '';
}

/** @param {RegisteredCommand} command */
function chooseCommand(command) {
  const subs = subcommandsOf(command).length > 0;
  state.optionFiles.clear();
  const first = (command.options ?? []).find((o) => o.required);
  if (!subs && first?.type === OPTION_TYPES.ATTACHMENT) {
    setDraft(`/${command.name} `);
    pickFileFor(first, `/${command.name} ${first.name}:`);
    return;
  }
  setDraft(`/${command.name} ${subs ? '' : firstRequired(command.options)}`);
}

/** Asks for a file from the disk for an attachment option, uploads it, and names it in the draft. @param {CommandOption} def @param {string} before */
function pickFileFor(def, before) {
  const picker = el('input', { type: 'file', accept: 'image/*', hidden: true });
  picker.addEventListener('change', async () => {
    const file = picker.files?.[0];
    picker.remove();
    if (!file) return;
    try {
      const uploaded = await upload(file);
      state.optionFiles.set(def.name, uploaded);
      setDraft(`${before.trimEnd()} ${uploaded.filename} `);
      const draft = parseDraft(input().value);
      const next = (draft?.defs ?? []).find((o) => o.required && !draft?.options.some((x) => x.def.name === o.name));
      if (next && next.type !== OPTION_TYPES.ATTACHMENT) setDraft(`${input().value}${next.name}: `);
    } catch (err) {
      toast(messageOf(err));
    }
  });
  document.body.append(picker);
  picker.click();
}

/** Replaces the draft and puts the caret at its end. @param {string} text */
export function setDraft(text) {
  const box = input();
  box.value = text;
  box.focus();
  box.setSelectionRange(text.length, text.length);
  autosize();
  updatePicker();
}

export function autosize() {
  const box = input();
  box.style.height = 'auto';
  box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
}

/** Shows what fits the draft, or hides the picker. */
export function updatePicker() {
  const box = input();
  const found = box.value.startsWith('/') ? suggestions(box.value) : null;
  hint(box.value);
  if (!found || (found.items.length === 0 && !/^\/\S+ /.test(box.value))) {
    if (found && found.items.length === 0) return showPicker(found.title, [], -1);
    return hidePicker();
  }
  if (found.items.length === 0) return hidePicker();
  showPicker(found.title, found.items, found.highlight ? 0 : -1);
}

/** @param {string} title @param {PickerItem[]} items @param {number} active */
function showPicker(title, items, active) {
  const picker = $('#picker');
  state.picker = { items, active };
  const nodes = items.map((item, i) =>
    el(
      'div',
      {
        class: 'option',
        role: 'option',
        id: `pick-${i}`,
        'aria-selected': String(i === active),
        onmousedown: (/** @type {MouseEvent} */ event) => {
          event.preventDefault();
          item.apply();
        },
      },
      el('span', { class: 'name', text: item.label }),
      item.required ? el('span', { class: 'req', text: 'required' }) : null,
      el('span', { class: 'desc', text: item.desc ?? '' }),
    ),
  );
  picker.replaceChildren(el('div', { class: 'picker-title', text: title, 'aria-hidden': 'true' }), ...nodes);
  if (items.length === 0) picker.append(el('div', { class: 'option', text: 'Nothing matches.' }));
  picker.hidden = false;
  input().setAttribute('aria-expanded', 'true');
  moveActive(active);
}

export function hidePicker() {
  $('#picker').hidden = true;
  state.picker = { items: [], active: -1 };
  input().setAttribute('aria-expanded', 'false');
  input().removeAttribute('aria-activedescendant');
}

/** Selects the suggestion at `index` (-1: none). @param {number} index */
export function moveActive(index) {
  const { items } = state.picker;
  if (items.length === 0) return;
  state.picker.active = index;
  document.querySelectorAll('#picker [role="option"]').forEach((node, i) => node.setAttribute('aria-selected', String(i === index)));
  if (index >= 0) {
    input().setAttribute('aria-activedescendant', `pick-${index}`);
    document.getElementById(`pick-${index}`)?.scrollIntoView({ block: 'nearest' });
  } else input().removeAttribute('aria-activedescendant');
}

/** The line under the box: what the current option is for and what is still needed, or an error. @param {string} text */
export function hint(text, error = false) {
  const node = $('#composer-hint');
  node.classList.toggle('error', error);
  if (error) {
    node.textContent = text;
    return;
  }
  const draft = text.startsWith('/') ? parseDraft(text) : null;
  const defs = draft?.defs;
  if (!draft?.command || !defs) {
    node.textContent = text.startsWith('/') ? '' : 'Enter sends · Shift+Enter for a new line · type / for commands';
    return;
  }
  const used = new Set(draft.options.map((o) => o.def.name));
  const current = draft.options[draft.options.length - 1]?.def;
  const missing = defs.filter((o) => o.required && !used.has(o.name)).map((o) => o.name);
  const optional = defs.filter((o) => !o.required && !used.has(o.name));
  node.textContent = [
    current ? `${current.name}: ${current.description}` : draft.command.description,
    missing.length ? `required: ${missing.join(', ')}` : 'Enter sends',
    optional.length ? `${optional.length} more option${optional.length === 1 ? '' : 's'}: type a name, e.g. ${optional[0]?.name}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}
