/* global document, window, fetch, WebSocket, localStorage, FormData, setTimeout */
// The playground page: a Discord-like channel. Actions go to the playground server (which turns them into real
// interactions through the fake Discord); what the bot sends comes back over a WebSocket and is drawn as Discord
// draws it. No framework, no external requests.

const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
};

const OPTION_TYPES = { SUB_COMMAND: 1, STRING: 3, INTEGER: 4, BOOLEAN: 5, USER: 6, ROLE: 8, NUMBER: 10, ATTACHMENT: 11 };
const state = {
  people: [],
  me: 'member',
  place: 'general',
  bot: { id: '', name: 'Luma Bot' },
  server: { id: '', name: 'Playground', channelId: '' },
  commands: [],
  roles: [],
  messages: new Map(),
  chaos: {},
  pendingModals: new Map(),
  /** Files picked for attachment options of the draft command, by option name. */
  optionFiles: new Map(),
  /** Files in the tray for a plain message. */
  trayFiles: [],
  picker: { items: [], active: -1 },
};

const person = (key = state.me) => state.people.find((p) => p.key === key) ?? state.people[0];
const userName = (id) => {
  if (id === state.bot.id) return state.bot.name;
  return state.people.find((p) => p.id === id)?.displayName ?? 'someone';
};

// ── Server calls ────────────────────────────────────────────────────────────────────────────────────

async function call(action, body) {
  const response = await fetch(`/api/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ as: state.me, place: state.place, ...body }),
  });
  const result = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(result.error ?? `${action} failed (${response.status})`);
  return result;
}

async function upload(file) {
  const response = await fetch(`/api/upload?filename=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'content-type': file.type || 'application/octet-stream' },
    body: file,
  });
  const result = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(result.error ?? `upload failed (${response.status})`);
  return result;
}

function toast(text) {
  const node = el('div', { class: 'toast', text });
  $('#toasts').append(node);
  setTimeout(() => node.remove(), 6000);
}

// ── Live updates ────────────────────────────────────────────────────────────────────────────────────

function connect() {
  const socket = new WebSocket(`ws://${window.location.host}/ws`);
  const status = $('#connection');
  socket.addEventListener('open', () => {
    status.textContent = 'live';
    status.classList.add('live');
  });
  socket.addEventListener('close', () => {
    status.textContent = 'reconnecting…';
    status.classList.remove('live');
    setTimeout(connect, 1000);
  });
  socket.addEventListener('message', (event) => onEvent(JSON.parse(event.data)));
}

function onEvent(event) {
  switch (event.type) {
    case 'hello':
      state.people = event.people;
      state.bot = event.bot;
      state.server = event.server;
      state.commands = event.commands;
      state.roles = [
        { id: event.server.id, name: 'everyone' },
        { id: event.people.find((p) => p.key === 'admin')?.roles[0] ?? '', name: 'Server admin' },
      ];
      state.messages = new Map(event.messages.map((m) => [m.id, m]));
      state.chaos = event.chaos;
      $('#log').replaceChildren();
      for (const line of event.logs) addLog(line);
      renderPeople();
      renderChaos();
      renderMessages();
      break;
    case 'messages': {
      const list = $('#messages');
      const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
      for (const m of event.upsert) state.messages.set(m.id, m);
      for (const id of event.remove) state.messages.delete(id);
      renderMessages(nearBottom);
      break;
    }
    case 'modal':
      if (event.userId === person().id) openModal(event);
      else state.pendingModals.set(event.userId, event);
      break;
    case 'chaos':
      state.chaos = event.chaos;
      renderChaos();
      break;
    case 'notice':
      if (!event.userId || event.userId === person().id) toast(event.text);
      break;
    case 'log':
      addLog(event.line);
      break;
    default:
      break;
  }
}

function addLog(line) {
  const list = $('#log');
  const level = line.level >= 50 ? 'error' : line.level >= 40 ? 'warn' : 'info';
  const time = new Date(line.time).toLocaleTimeString([], { hour12: false });
  list.append(el('li', { class: level, text: `${time} ${line.msg}` }));
  while (list.children.length > 300) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

// ── People, places, chaos, theme ────────────────────────────────────────────────────────────────────

function renderPeople() {
  const box = $('#people');
  box.querySelectorAll('label').forEach((n) => n.remove());
  for (const p of state.people) {
    const input = el('input', { type: 'radio', name: 'person', value: p.key, checked: p.key === state.me });
    input.addEventListener('change', () => switchPerson(p.key));
    box.append(
      el(
        'label',
        { class: 'person' },
        input,
        el('span', { class: `avatar small ${p.key === 'admin' ? 'admin' : ''}`, 'aria-hidden': 'true', text: p.displayName[0] }),
        el('span', {}, el('strong', { text: p.displayName }), el('small', { text: p.key === 'admin' ? 'server admin (Manage Server)' : 'member' })),
      ),
    );
  }
  const me = person();
  $('#me-name').textContent = me.displayName;
  $('#me-role').textContent = me.key === 'admin' ? 'server admin' : 'member';
  const avatar = $('#me-avatar');
  avatar.textContent = me.displayName[0];
  avatar.classList.toggle('admin', me.key === 'admin');
}

function switchPerson(key) {
  state.me = key;
  renderPeople();
  renderMessages();
  updatePicker();
  const pending = state.pendingModals.get(person().id);
  if (pending) {
    state.pendingModals.delete(person().id);
    openModal(pending);
  }
}

function switchPlace(place) {
  state.place = place;
  for (const button of document.querySelectorAll('.channel')) {
    button.toggleAttribute('aria-current', button.dataset.place === place);
    if (button.dataset.place === place) button.setAttribute('aria-current', 'page');
  }
  const dm = place === 'dm';
  $('#channel-glyph').textContent = dm ? '@' : '#';
  $('#channel-name').textContent = dm ? state.bot.name : 'general';
  const label = dm ? `Message @${state.bot.name}` : 'Message #general';
  $('label[for="composer-input"]').textContent = label;
  $('#composer-input').placeholder = `${label} — type / for commands`;
  document.title = `${dm ? '@' + state.bot.name : '#general'} · Playground — Luma bot`;
  $('#channel-topic').textContent = dm
    ? 'Your DMs with the bot: commands work here too, and results land here when the bot cannot post in the channel.'
    : 'Try the bot: type / for its commands, or right-click an image for Apps → Edit image.';
  renderMessages(true);
}

function renderChaos() {
  const fake = state.chaos.luma === 'fake';
  for (const badge of document.querySelectorAll('[data-armed]')) {
    const n = state.chaos[badge.dataset.armed] ?? 0;
    badge.textContent = n > 0 ? `armed ×${n}` : '';
  }
  for (const button of document.querySelectorAll('[data-chaos]')) {
    if (button.dataset.chaos !== 'expire-token') {
      button.disabled = !fake;
      if (!fake) button.title = 'The playground uses the real Luma API: its failures cannot be staged.';
    }
  }
  $('#chaos-mode').textContent = fake
    ? 'Make the next request go wrong and watch the bot’s fallback.'
    : 'The bot uses the REAL Luma API (images cost credits); only Discord’s failures can be staged.';
}

function setTheme(choice) {
  if (choice === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
  try {
    localStorage.setItem('playground-theme', choice);
  } catch {
    // not saved: fine
  }
  for (const b of document.querySelectorAll('[data-theme-choice]')) b.setAttribute('aria-pressed', String(b.dataset.themeChoice === choice));
}

// ── Messages ────────────────────────────────────────────────────────────────────────────────────────

function visible(m) {
  if (m.place !== state.place) return false;
  return !m.visibleTo || m.visibleTo === person().id;
}

let drawn = new Map();

function renderMessages(scroll = true) {
  const list = $('#messages');
  const shown = [...state.messages.values()].filter(visible);
  // Unchanged messages keep their nodes (and loaded images); changed ones are drawn again.
  const next = new Map();
  const nodes = shown.map((m) => {
    const key = `${state.me}|${JSON.stringify(m)}`;
    const cached = drawn.get(m.id);
    const node = cached?.key === key ? cached.node : renderMessage(m);
    next.set(m.id, { key, node });
    return node;
  });
  drawn = next;
  if (nodes.length === 0) {
    const dm = state.place === 'dm';
    nodes.push(
      el(
        'li',
        { class: 'empty' },
        el('h3', { text: dm ? state.bot.name : 'Welcome to #general!' }),
        el('p', {
          text: dm
            ? 'Your direct messages with the bot. Results land here when the bot cannot post in the channel.'
            : 'Type /imagine and a prompt below. Everything here is local: a fake Discord, the real bot, and a fake (or your real) Luma.',
        }),
      ),
    );
  }
  list.replaceChildren(...nodes);
  if (scroll) list.scrollTop = list.scrollHeight;
}

function renderMessage(m) {
  const isBot = m.author.id === state.bot.id;
  const authorPerson = state.people.find((p) => p.id === m.author.id);
  const name = isBot ? state.bot.name : (authorPerson?.displayName ?? m.author.global_name ?? m.author.username);
  const loading = (m.flags & 128) !== 0;
  const ephemeral = (m.flags & 64) !== 0;
  const li = el('li', { class: `message${ephemeral ? ' ephemeral' : ''}`, id: `m-${m.id}`, 'data-id': m.id, 'aria-label': `${name}: ${summary(m)}` });

  const meta = m.interaction_metadata;
  if (meta) {
    const who = el('strong', { text: userName(meta.user.id) });
    const what =
      meta.type === 2
        ? [' used ', el('span', { class: 'command', text: meta.command_type === 1 ? `/${meta.name}` : meta.name })]
        : meta.type === 5
          ? [' submitted a form']
          : [' pressed a button'];
    li.append(el('div', { class: 'reply-line' }, '↪ ', who, ...what));
  }
  li.append(el('span', { class: `avatar ${isBot ? 'bot' : authorPerson?.key === 'admin' ? 'admin' : ''}`, 'aria-hidden': 'true', text: name[0] ?? '?' }));
  const body = el('div', { class: 'body' });
  const time = new Date(m.timestamp);
  body.append(
    el(
      'div',
      { class: 'message-head' },
      el('span', { class: 'author', text: name }),
      isBot ? el('span', { class: 'tag', text: 'APP' }) : null,
      el('time', { class: 'time', datetime: m.timestamp, text: time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }),
      m.edited_timestamp ? el('span', { class: 'edited', text: '(edited)' }) : null,
    ),
  );
  if (loading) body.append(el('div', { class: 'thinking' }, `${state.bot.name} is thinking`, el('span', { class: 'dots', 'aria-hidden': 'true' })));
  if (m.content) body.append(el('div', { class: 'content' }, ...markdown(m.content)));
  const embedImages = new Set(m.embeds.flatMap((e) => [e.image?.url, e.thumbnail?.url]).filter(Boolean));
  for (const e of m.embeds) body.append(renderEmbed(e));
  for (const a of m.attachments) {
    if (embedImages.has(a.url)) continue;
    if ((a.content_type ?? '').startsWith('image/')) {
      body.append(el('img', { class: 'media', src: a.proxy_url ?? a.url, alt: a.description ?? a.filename, width: a.width, height: a.height, loading: 'lazy' }));
    } else {
      body.append(el('div', { class: 'file' }, '📄 ', el('span', { text: `${a.filename} (${Math.ceil(a.size / 1024)} KB)` })));
    }
  }
  if (Array.isArray(m.components) && m.components.length > 0) body.append(renderComponents(m));
  if (ephemeral) {
    body.append(
      el(
        'div',
        { class: 'ephemeral-note' },
        '👁 Only you can see this · ',
        el('button', {
          type: 'button',
          text: 'Dismiss message',
          onclick: () => {
            state.messages.delete(m.id);
            renderMessages(false);
          },
        }),
      ),
    );
  }
  li.append(body);
  if (!loading) {
    li.append(
      el('button', {
        type: 'button',
        class: 'more',
        'aria-label': `More options for ${name}'s message`,
        'aria-haspopup': 'menu',
        'aria-expanded': 'false',
        text: '⋯',
        onclick: (event) => {
          const rect = event.currentTarget.getBoundingClientRect();
          openMenu(m, rect.right - 200, rect.bottom + 4, event.currentTarget);
        },
      }),
    );
    li.addEventListener('contextmenu', (event) => {
      event.preventDefault();
      openMenu(m, event.clientX, event.clientY, li.querySelector('.more'));
    });
  }
  return li;
}

function summary(m) {
  if ((m.flags & 128) !== 0) return 'is thinking';
  const embed = m.embeds[0];
  return [m.content, embed?.title, embed?.description].filter(Boolean).join(' — ').slice(0, 160) || (m.attachments.length ? 'an image' : '');
}


function renderEmbed(e) {
  const box = el('article', { class: 'embed' });
  if (typeof e.color === 'number') box.style.borderLeftColor = `#${e.color.toString(16).padStart(6, '0')}`;
  if (e.author?.name) box.append(el('div', { class: 'embed-footer', text: e.author.name }));
  if (e.title) box.append(el('h3', { class: 'embed-title', text: e.title }));
  if (e.description) box.append(el('div', { class: 'embed-description' }, ...markdown(e.description)));
  if (e.fields?.length) {
    box.append(
      el(
        'dl',
        { class: 'embed-fields' },
        e.fields.map((f) => el('div', { class: `embed-field${f.inline ? ' inline' : ''}` }, el('dt', {}, ...markdown(f.name)), el('dd', {}, ...markdown(f.value)))),
      ),
    );
  }
  const image = e.image ?? e.thumbnail;
  if (image?.url) {
    box.append(el('img', { class: 'media', src: image.proxy_url ?? image.url, alt: e.description ? `Image: ${e.description.slice(0, 120)}` : 'Embedded image', width: image.width, height: image.height }));
  }
  if (e.footer?.text) box.append(el('div', { class: 'embed-footer', text: e.footer.text }));
  return box;
}

const BUTTON_STYLES = { 1: 'primary', 2: 'secondary', 3: 'success', 4: 'danger', 5: 'secondary' };

function renderComponents(m) {
  const box = el('div', { class: 'components' });
  for (const row of m.components) {
    if (row.type !== 1) continue;
    const rowNode = el('div', { class: 'action-row', role: 'group', 'aria-label': 'Message actions' });
    for (const c of row.components ?? []) {
      if (c.type !== 2) continue;
      const label = `${c.emoji?.name ? `${c.emoji.name} ` : ''}${c.label ?? ''}`.trim();
      if (c.style === 5 && c.url) {
        rowNode.append(el('a', { class: 'dbutton secondary', href: jumpTarget(c.url), text: `${label} ↗` }));
        continue;
      }
      const button = el('button', { type: 'button', class: `dbutton ${BUTTON_STYLES[c.style] ?? 'secondary'}`, disabled: c.disabled === true, text: label });
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await call('button', { messageId: m.id, customId: c.custom_id });
        } catch (err) {
          toast(err.message);
        } finally {
          setTimeout(() => {
            button.disabled = c.disabled === true;
          }, 1500);
        }
      });
      rowNode.append(button);
    }
    box.append(rowNode);
  }
  return box;
}

/** Discord message links point into this page; anything else is shown but not followed off the machine. */
function jumpTarget(url) {
  const jump = /^https:\/\/discord\.com\/channels\/[^/]+\/\d+\/(\d+)$/.exec(url);
  return jump ? `#m-${jump[1]}` : url;
}

/** The subset of Discord markdown the bot uses: **bold**, *italic*, `code`, mentions, links. */
function markdown(text) {
  const out = [];
  const pattern = /\*\*(.+?)\*\*|\*(.+?)\*|`([^`]+)`|<@!?(\d+)>|<#(\d+)>|<@&(\d+)>|\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)|(https?:\/\/[^\s<]+)|<t:(-?\d+)(?::([tTdDfFR]))?>/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) out.push(text.slice(last, match.index));
    const [, bold, italic, code, user, channel, role, linkText, linkUrl, bare, seconds, style] = match;
    if (bold !== undefined) out.push(el('strong', {}, ...markdown(bold)));
    else if (italic !== undefined) out.push(el('em', {}, ...markdown(italic)));
    else if (code !== undefined) out.push(el('code', { text: code }));
    else if (user !== undefined) out.push(el('span', { class: 'mention', text: `@${userName(user)}` }));
    else if (channel !== undefined) out.push(el('span', { class: 'mention', text: '#general' }));
    else if (role !== undefined) out.push(el('span', { class: 'mention', text: `@${state.roles.find((r) => r.id === role)?.name ?? 'role'}` }));
    else if (linkUrl !== undefined) out.push(link(linkText, linkUrl));
    else if (bare !== undefined) out.push(link(/discord\.com\/channels\//.test(bare) ? 'jump to message' : bare, bare));
    else if (seconds !== undefined) out.push(timestamp(Number(seconds) * 1000, style ?? 'f'));
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Discord's <t:seconds:style> markup, shown in the reader's locale and time zone. */
function timestamp(ms, style) {
  const date = new Date(ms);
  const formats = {
    t: { timeStyle: 'short' },
    T: { timeStyle: 'medium' },
    d: { dateStyle: 'short' },
    D: { dateStyle: 'long' },
    f: { dateStyle: 'long', timeStyle: 'short' },
    F: { dateStyle: 'full', timeStyle: 'short' },
  };
  let text;
  if (style === 'R') {
    const diff = (ms - Date.now()) / 1000;
    const units = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]];
    const [unit, size] = units.find(([, n]) => Math.abs(diff) >= n) ?? ['second', 1];
    text = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }).format(Math.round(diff / size), unit);
  } else text = new Intl.DateTimeFormat(undefined, formats[style] ?? formats.f).format(date);
  return el('time', { class: 'stamp', datetime: date.toISOString(), title: date.toString(), text });
}

function link(text, url) {
  const target = jumpTarget(url);
  return target.startsWith('#') ? el('a', { href: target, text }) : el('a', { href: url, text, rel: 'noreferrer noopener', target: '_blank' });
}

// ── Message menu (⋯ / right-click → Apps) ───────────────────────────────────────────────────────────

let menuOpener = null;

function openMenu(m, x, y, opener) {
  const menu = $('#menu');
  const apps = state.commands.filter((c) => c.type === 3 && allowed(c));
  const items = apps.map((c) =>
    el('button', {
      type: 'button',
      role: 'menuitem',
      text: c.name,
      onclick: async () => {
        closeMenu();
        try {
          await call('app', { name: c.name, messageId: m.id });
        } catch (err) {
          toast(err.message);
        }
      },
    }),
  );
  menu.replaceChildren(el('div', { class: 'menu-title', id: 'menu-title', text: 'Apps' }), ...(items.length ? items : [el('div', { class: 'menu-title', text: 'No apps' })]));
  menu.setAttribute('aria-labelledby', 'menu-title');
  menu.hidden = false;
  const width = 200;
  menu.style.left = `${Math.max(8, Math.min(x, window.innerWidth - width - 8))}px`;
  menu.style.top = `${Math.max(8, Math.min(y, window.innerHeight - menu.offsetHeight - 8))}px`;
  menuOpener = opener ?? null;
  menuOpener?.setAttribute('aria-expanded', 'true');
  menu.querySelector('[role="menuitem"]')?.focus();
}

function closeMenu() {
  const menu = $('#menu');
  if (menu.hidden) return;
  menu.hidden = true;
  menuOpener?.setAttribute('aria-expanded', 'false');
  menuOpener?.focus();
  menuOpener = null;
}

// ── Modals ──────────────────────────────────────────────────────────────────────────────────────────

let openModalEvent = null;

function openModal(event) {
  const dialog = $('#modal');
  const modal = event.modal;
  openModalEvent = event;
  $('#modal-title').textContent = modal.title;
  const fields = $('#modal-fields');
  fields.replaceChildren();
  const inputs = [];
  for (const row of modal.components ?? []) {
    // Classic action rows hold one text input; the newer Label (type 18) wraps one component with its label.
    const input = row.type === 18 ? row.component : row.components?.[0];
    if (!input || input.type !== 4) continue;
    const label = row.type === 18 ? row.label : input.label;
    const id = `modal-${input.custom_id}`;
    const control = el(input.style === 2 ? 'textarea' : 'input', {
      id,
      name: input.custom_id,
      required: input.required !== false,
      minlength: input.min_length,
      maxlength: input.max_length,
      placeholder: input.placeholder,
    });
    if (input.value) control.value = input.value;
    inputs.push(control);
    fields.append(el('div', {}, el('label', { for: id }, label, input.required !== false ? el('span', { class: 'required', text: ' *' }) : null), control));
  }
  dialog.showModal();
  inputs[0]?.focus();
}

async function submitModal(event) {
  event.preventDefault();
  const form = $('#modal-form');
  if (!form.reportValidity() || !openModalEvent) return;
  const fields = Object.fromEntries(new FormData(form).entries());
  const current = openModalEvent;
  $('#modal').close();
  openModalEvent = null;
  try {
    await call('modal', { customId: current.modal.custom_id, fields, sourceMessageId: current.sourceMessageId });
  } catch (err) {
    toast(err.message);
  }
}

// ── Composer: slash commands with Discord's picker ──────────────────────────────────────────────────

const input = () => $('#composer-input');

function allowed(command) {
  const needed = command.default_member_permissions;
  if (needed === undefined || needed === null) return true;
  if (state.place === 'dm') return Array.isArray(command.contexts) ? command.contexts.includes(1) : true;
  return (BigInt(person().permissions) & BigInt(needed)) === BigInt(needed);
}

function slashCommands() {
  return state.commands.filter((c) => (c.type ?? 1) === 1 && allowed(c) && (state.place !== 'dm' || !Array.isArray(c.contexts) || c.contexts.includes(1)));
}

/**
 * Reads the draft: `/name [subcommand] option: value option: value…`. Values run to the next known option name
 * followed by a colon, so prompts may hold spaces.
 */
function parseDraft(text) {
  const head = /^\/(\S*)(\s?)/.exec(text);
  if (!head) return null;
  const command = slashCommands().find((c) => c.name === head[1]);
  const draft = { name: head[1], complete: head[2] === ' ', command, sub: undefined, subName: undefined, options: [], rest: text.slice(head[0].length), restStart: head[0].length };
  if (!command || !draft.complete) return draft;
  const subs = (command.options ?? []).filter((o) => o.type === OPTION_TYPES.SUB_COMMAND);
  let defs = command.options ?? [];
  if (subs.length > 0) {
    const sub = /^(\S*)(\s?)/.exec(draft.rest);
    draft.subName = sub[1];
    draft.sub = subs.find((s) => s.name === sub[1]);
    draft.subComplete = sub[2] === ' ';
    if (!draft.sub || !draft.subComplete) return draft;
    draft.restStart += sub[0].length;
    draft.rest = draft.rest.slice(sub[0].length);
    defs = draft.sub.options ?? [];
  }
  draft.defs = defs;
  const names = defs.map((o) => o.name.replace(/[-]/g, '\\-'));
  if (names.length === 0) return draft;
  const marker = new RegExp(`(^|\\s)(${names.join('|')}):`, 'g');
  const marks = [...draft.rest.matchAll(marker)];
  draft.leading = marks.length ? draft.rest.slice(0, marks[0].index).trim() : draft.rest.trim();
  marks.forEach((mark, i) => {
    const start = mark.index + mark[0].length;
    const end = i + 1 < marks.length ? marks[i + 1].index : draft.rest.length;
    const def = defs.find((o) => o.name === mark[2]);
    draft.options.push({ def, raw: draft.rest.slice(start, end), start: draft.restStart + start });
  });
  return draft;
}

/** Converts a typed value to what Discord would send, or throws a message saying what is wrong. */
function optionValue(def, raw) {
  const text = raw.trim();
  if (def.choices?.length) {
    const lower = text.toLowerCase();
    const choice = def.choices.find((c) => String(c.value).toLowerCase() === lower || c.name.toLowerCase() === lower) ?? def.choices.find((c) => c.name.toLowerCase().startsWith(lower));
    if (!choice || text === '') throw new Error(`${def.name}: pick one of ${def.choices.map((c) => c.value).join(', ')}`);
    return choice.value;
  }
  switch (def.type) {
    case OPTION_TYPES.INTEGER:
    case OPTION_TYPES.NUMBER: {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n) || (def.type === OPTION_TYPES.INTEGER && !Number.isInteger(n))) throw new Error(`${def.name} must be a ${def.type === OPTION_TYPES.INTEGER ? 'whole ' : ''}number`);
      if (def.min_value !== undefined && n < def.min_value) throw new Error(`${def.name} must be at least ${def.min_value}`);
      if (def.max_value !== undefined && n > def.max_value) throw new Error(`${def.name} must be at most ${def.max_value}`);
      return n;
    }
    case OPTION_TYPES.BOOLEAN:
      if (/^(true|yes|on)$/i.test(text)) return true;
      if (/^(false|no|off)$/i.test(text)) return false;
      throw new Error(`${def.name}: True or False`);
    case OPTION_TYPES.USER: {
      const name = text.replace(/^@/, '').toLowerCase();
      const p = state.people.find((x) => x.displayName.toLowerCase() === name || x.username === name);
      if (!p) throw new Error(`${def.name}: pick a member (@${state.people.map((x) => x.displayName).join(', @')})`);
      return p.id;
    }
    case OPTION_TYPES.ROLE: {
      const name = text.replace(/^@/, '').toLowerCase();
      const role = state.roles.find((r) => r.name.toLowerCase() === name);
      if (!role) throw new Error(`${def.name}: pick a role (${state.roles.map((r) => `@${r.name}`).join(', ')})`);
      return role.id;
    }
    case OPTION_TYPES.ATTACHMENT: {
      const file = state.optionFiles.get(def.name);
      if (!file) throw new Error(`${def.name}: choose a file (pick “${def.name}” in the list and a file from your disk)`);
      return file.id;
    }
    default:
      if (text === '') throw new Error(`${def.name} cannot be empty`);
      if (def.min_length !== undefined && text.length < def.min_length) throw new Error(`${def.name} needs at least ${def.min_length} characters`);
      if (def.max_length !== undefined && text.length > def.max_length) throw new Error(`${def.name} holds at most ${def.max_length} characters`);
      return text;
  }
}

/** What the picker offers at the caret: commands, subcommands, options, or an option's choices. */
function suggestions(text) {
  const draft = parseDraft(text);
  if (!draft) return null;
  if (!draft.complete) {
    const items = slashCommands()
      .filter((c) => c.name.startsWith(draft.name))
      .map((c) => ({ label: `/${c.name}`, desc: c.description, apply: () => chooseCommand(c) }));
    return { title: 'Commands', items, highlight: true };
  }
  if (!draft.command) return { title: 'No command by that name', items: [], highlight: false };
  if (draft.subName !== undefined && (!draft.sub || !draft.subComplete)) {
    const subs = (draft.command.options ?? []).filter((o) => o.type === OPTION_TYPES.SUB_COMMAND && o.name.startsWith(draft.subName));
    return {
      title: `/${draft.command.name}`,
      items: subs.map((s) => ({ label: s.name, desc: s.description, apply: () => setDraft(`/${draft.command.name} ${s.name} ${firstRequired(s.options)}`) })),
      highlight: true,
    };
  }
  const defs = draft.defs ?? [];
  const used = new Set(draft.options.map((o) => o.def.name));
  const last = draft.options[draft.options.length - 1];
  if (last && last.raw.trim() === '') {
    const def = last.def;
    const before = text.slice(0, last.start);
    const put = (value) => () => setDraft(`${before} ${value} `);
    if (def.choices?.length) return { title: def.name, items: def.choices.map((c) => ({ label: c.name, desc: String(c.value), apply: put(c.value) })), highlight: true };
    if (def.type === OPTION_TYPES.BOOLEAN) return { title: def.name, items: ['True', 'False'].map((v) => ({ label: v, desc: '', apply: put(v) })), highlight: true };
    if (def.type === OPTION_TYPES.USER) return { title: def.name, items: state.people.map((p) => ({ label: `@${p.displayName}`, desc: p.key === 'admin' ? 'server admin' : 'member', apply: put(`@${p.displayName}`) })), highlight: true };
    if (def.type === OPTION_TYPES.ROLE) return { title: def.name, items: state.roles.map((r) => ({ label: `@${r.name}`, desc: '', apply: put(`@${r.name}`) })), highlight: true };
    if (def.type === OPTION_TYPES.ATTACHMENT) return { title: def.name, items: [{ label: '📎 Choose a file from your disk…', desc: def.description, apply: () => pickFileFor(def, before) }], highlight: true };
    return null;
  }
  const word = /(?:^|\s)([\w-]*)$/.exec(text)?.[1] ?? '';
  // While a value is being typed, only a word that starts an option's name brings the list back (the hint line
  // names what is left), so writing a prompt is not covered by suggestions at every space.
  const typingValue = Boolean(last && last.raw.trim() !== '');
  if (typingValue && word === '') return null;
  const free = defs.filter((o) => !used.has(o.name) && o.name.startsWith(word));
  if (free.length === 0) return null;
  const base = text.slice(0, text.length - word.length);
  const spacer = base.endsWith(' ') || base === '' ? '' : ' ';
  const items = free
    .sort((a, b) => Number(b.required === true) - Number(a.required === true))
    .map((o) => ({ label: o.name, desc: o.description, required: o.required === true, apply: () => (o.type === OPTION_TYPES.ATTACHMENT ? pickFileFor(o, `${base}${spacer}${o.name}:`) : setDraft(`${base}${spacer}${o.name}: `)) }));
  // Mid-value, suggestions stay unselected so Enter still sends (arrow keys or Tab pick one).
  return { title: 'Options', items, highlight: !typingValue && word !== '' };
}

function firstRequired(options = []) {
  const first = options.find((o) => o.required);
  return first && first.type !== OPTION_TYPES.ATTACHMENT ? `${first.name}: ` : '';
}

function chooseCommand(command) {
  const subs = (command.options ?? []).some((o) => o.type === OPTION_TYPES.SUB_COMMAND);
  state.optionFiles.clear();
  const first = (command.options ?? []).find((o) => o.required);
  if (!subs && first?.type === OPTION_TYPES.ATTACHMENT) {
    setDraft(`/${command.name} `);
    pickFileFor(first, `/${command.name} ${first.name}:`);
    return;
  }
  setDraft(`/${command.name} ${subs ? '' : firstRequired(command.options)}`);
}

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
      const next = (draft?.defs ?? []).find((o) => o.required && !draft.options.some((x) => x.def.name === o.name));
      if (next && next.type !== OPTION_TYPES.ATTACHMENT) setDraft(`${input().value}${next.name}: `);
    } catch (err) {
      toast(err.message);
    }
  });
  document.body.append(picker);
  picker.click();
}

function setDraft(text) {
  const box = input();
  box.value = text;
  box.focus();
  box.setSelectionRange(text.length, text.length);
  autosize();
  updatePicker();
}

function autosize() {
  const box = input();
  box.style.height = 'auto';
  box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
}

function updatePicker() {
  const box = input();
  const found = box.value.startsWith('/') ? suggestions(box.value) : null;
  hint(box.value);
  if (!found || (found.items.length === 0 && !box.value.match(/^\/\S+ /))) {
    if (found && found.items.length === 0) return showPicker(found.title, [], -1);
    return hidePicker();
  }
  if (found.items.length === 0) return hidePicker();
  showPicker(found.title, found.items, found.highlight ? 0 : -1);
}

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
        onmousedown: (event) => {
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

function hidePicker() {
  $('#picker').hidden = true;
  state.picker = { items: [], active: -1 };
  input().setAttribute('aria-expanded', 'false');
  input().removeAttribute('aria-activedescendant');
}

function moveActive(index) {
  const { items } = state.picker;
  if (items.length === 0) return;
  state.picker.active = index;
  document.querySelectorAll('#picker [role="option"]').forEach((node, i) => node.setAttribute('aria-selected', String(i === index)));
  if (index >= 0) {
    input().setAttribute('aria-activedescendant', `pick-${index}`);
    document.getElementById(`pick-${index}`)?.scrollIntoView({ block: 'nearest' });
  } else input().removeAttribute('aria-activedescendant');
}

function hint(text, error = false) {
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
  const optional = defs.filter((o) => !o.required && !used.has(o.name)).length;
  node.textContent = [
    current ? `${current.name}: ${current.description}` : draft.command.description,
    missing.length ? `required: ${missing.join(', ')}` : 'Enter sends',
    optional ? `${optional} more option${optional === 1 ? '' : 's'}: type a name, e.g. ${defs.find((o) => !o.required && !used.has(o.name))?.name}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

async function send() {
  const text = input().value;
  if (text.trim() === '' && state.trayFiles.length === 0) return;
  if (!text.startsWith('/')) {
    if (state.place === 'dm') return hint('The bot reads commands only: type / to pick one.', true);
    try {
      await call('message', { content: text, attachments: state.trayFiles.map((f) => f.id) });
      state.trayFiles = [];
      renderTray();
      setDraft('');
    } catch (err) {
      hint(err.message, true);
    }
    return;
  }
  const draft = parseDraft(text);
  if (!draft?.command) return hint(`/${draft?.name ?? ''} is not a command of this server. Type / to see them.`, true);
  const subs = (draft.command.options ?? []).some((o) => o.type === OPTION_TYPES.SUB_COMMAND);
  if (subs && !draft.sub) return hint(`/${draft.command.name} needs a subcommand: ${draft.command.options.map((o) => o.name).join(', ')}`, true);
  const options = [];
  try {
    if (draft.leading) throw new Error(`Start each value with its option name, e.g. ${(draft.defs ?? [])[0]?.name ?? 'prompt'}: …`);
    for (const o of draft.options) options.push({ name: o.def.name, type: o.def.type, value: optionValue(o.def, o.raw) });
    const missing = (draft.defs ?? []).filter((o) => o.required && !options.some((x) => x.name === o.name));
    if (missing.length) throw new Error(`Missing ${missing.map((o) => o.name).join(', ')}`);
  } catch (err) {
    return hint(err.message, true);
  }
  try {
    await call('command', { name: draft.command.name, ...(draft.sub ? { subcommand: draft.sub.name } : {}), options });
    state.optionFiles.clear();
    setDraft('');
    hidePicker();
  } catch (err) {
    hint(err.message, true);
  }
}

function renderTray() {
  const tray = $('#tray');
  tray.hidden = state.trayFiles.length === 0;
  tray.replaceChildren(
    ...state.trayFiles.map((f) =>
      el(
        'li',
        {},
        (f.content_type ?? '').startsWith('image/') ? el('img', { src: f.url, alt: '' }) : null,
        el('span', { text: f.filename }),
        el('button', {
          type: 'button',
          'aria-label': `Remove ${f.filename}`,
          text: '✕',
          onclick: () => {
            state.trayFiles = state.trayFiles.filter((x) => x.id !== f.id);
            renderTray();
          },
        }),
      ),
    ),
  );
}

async function addTrayFiles(files) {
  for (const file of files) {
    try {
      state.trayFiles.push(await upload(file));
    } catch (err) {
      toast(err.message);
    }
  }
  renderTray();
}

// ── Wiring ──────────────────────────────────────────────────────────────────────────────────────────

function wire() {
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
  box.addEventListener('keydown', (event) => {
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
      items[Math.max(active, 0)].apply();
      return;
    }
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void send();
    }
  });
  $('#composer').addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });
  $('#attach').addEventListener('click', () => $('#file-input').click());
  $('#file-input').addEventListener('change', (event) => {
    void addTrayFiles([...event.target.files]);
    event.target.value = '';
  });
  $('#composer').addEventListener('dragover', (event) => event.preventDefault());
  $('#composer').addEventListener('drop', (event) => {
    event.preventDefault();
    void addTrayFiles([...(event.dataTransfer?.files ?? [])]);
  });
  for (const button of document.querySelectorAll('.channel')) button.addEventListener('click', () => switchPlace(button.dataset.place));
  for (const button of document.querySelectorAll('[data-chaos]')) {
    button.addEventListener('click', async () => {
      try {
        await call('chaos', { kind: button.dataset.chaos });
      } catch (err) {
        toast(err.message);
      }
    });
  }
  for (const button of document.querySelectorAll('[data-theme-choice]')) button.addEventListener('click', () => setTheme(button.dataset.themeChoice));
  let saved = 'auto';
  try {
    saved = localStorage.getItem('playground-theme') ?? 'auto';
  } catch {
    // default
  }
  setTheme(saved);

  $('#modal-form').addEventListener('submit', submitModal);
  $('#modal-cancel').addEventListener('click', () => {
    $('#modal').close();
    openModalEvent = null;
  });
  document.addEventListener('click', (event) => {
    if (!$('#menu').contains(event.target) && !event.target.closest?.('.more')) closeMenu();
  });
  document.addEventListener('keydown', (event) => {
    const menu = $('#menu');
    if (menu.hidden) return;
    const items = [...menu.querySelectorAll('[role="menuitem"]')];
    const at = items.indexOf(document.activeElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      closeMenu();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      items[(at + (event.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length]?.focus();
    }
  });
  hint('');
}

wire();
connect();
