// @ts-check
// The WebSocket from the playground server: hello (everything), then messages, modals, chaos, notices, log lines and
// the Store as they happen. It reconnects by itself.
import { $, toast } from './dom.js';
import { atNewest, renderMessages } from './messages.js';
import { openModal } from './modal.js';
import { addLog, renderChaos, renderPeople, renderStore } from './panels.js';
import { person, state } from './state.js';

/** @typedef {import('../protocol.js').ServerEvent} ServerEvent */
/** @typedef {import('../protocol.js').HelloEvent} HelloEvent */

export function connect() {
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
  socket.addEventListener('message', (event) => onEvent(/** @type {ServerEvent} */ (JSON.parse(String(event.data)))));
}

/** @param {ServerEvent} event */
function onEvent(event) {
  switch (event.type) {
    case 'hello':
      return hello(event);
    case 'messages':
      for (const m of event.upsert) state.messages.set(m.id, m);
      for (const id of event.remove) state.messages.delete(id);
      return renderMessages(atNewest());
    case 'modal':
      if (event.userId === person().id) openModal(event);
      else state.pendingModals.set(event.userId, event);
      return;
    case 'chaos':
      state.chaos = event.chaos;
      return renderChaos();
    case 'notice':
      if (!event.userId || event.userId === person().id) toast(event.text);
      return;
    case 'log':
      return addLog(event.line);
    case 'store':
      state.store = event.store;
      return renderStore();
  }
}

/** @param {HelloEvent} event */
function hello(event) {
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
  state.store = event.store;
  $('#log').replaceChildren();
  for (const line of event.logs) addLog(line);
  renderPeople();
  renderChaos();
  renderStore();
  renderMessages();
}
