// @ts-check
// What the page knows: the people, the registered commands, the messages, the chaos switches, and the draft's
// picked files. One object, filled by the server's hello and kept up to date by its events.

/** @typedef {import('../protocol.js').Person} Person */
/** @typedef {import('../protocol.js').Place} Place */
/** @typedef {import('../protocol.js').ViewMessage} ViewMessage */
/** @typedef {import('../protocol.js').RegisteredCommand} RegisteredCommand */
/** @typedef {import('../protocol.js').ChaosState} ChaosState */
/** @typedef {import('../protocol.js').StoreState} StoreState */
/** @typedef {import('../protocol.js').ModalEvent} ModalEvent */
/** @typedef {import('../protocol.js').UploadResult} Upload */
/** @typedef {{ label: string; desc?: string; required?: boolean; apply: () => void }} PickerItem */

/** Discord's application command option types the page understands. */
export const OPTION_TYPES = Object.freeze({ SUB_COMMAND: 1, SUB_COMMAND_GROUP: 2, STRING: 3, INTEGER: 4, BOOLEAN: 5, USER: 6, CHANNEL: 7, ROLE: 8, NUMBER: 10, ATTACHMENT: 11 });

export const state = {
  /** @type {Person[]} */
  people: [],
  /** @type {Person['key']} */
  me: 'member',
  /** @type {Place} */
  place: 'general',
  bot: { id: '', name: 'Luma Bot' },
  server: { id: '', name: 'Playground', channelId: '', channelName: 'general' },
  /** @type {RegisteredCommand[]} */
  commands: [],
  /** @type {{ id: string; name: string }[]} */
  roles: [],
  /** @type {Map<string, ViewMessage>} */
  messages: new Map(),
  /** @type {ChaosState} */
  chaos: { moderation: 0, rateLimit: 0, slow: 0, expireToken: 0, downloadFailure: 0, luma: 'fake' },
  /** What the bot sells, and what each person holds. @type {StoreState} */
  store: { items: [], owned: { member: [], admin: [] } },
  /** Modals the bot opened for someone the page is not showing right now, by user id. @type {Map<string, ModalEvent>} */
  pendingModals: new Map(),
  /** Files picked for attachment options of the draft command, by option name. @type {Map<string, Upload>} */
  optionFiles: new Map(),
  /** Files in the tray for a plain message. @type {Upload[]} */
  trayFiles: [],
  /** @type {{ items: PickerItem[]; active: number }} */
  picker: { items: [], active: -1 },
};

/** The person the page acts as (or another, by key). @param {Person['key']} [key] @returns {Person} */
export function person(key = state.me) {
  const found = state.people.find((p) => p.key === key) ?? state.people[0];
  if (!found) throw new Error('the page has not heard from the playground yet');
  return found;
}

/** The name shown for a user id. @param {string} id */
export function userName(id) {
  if (id === state.bot.id) return state.bot.name;
  return state.people.find((p) => p.id === id)?.displayName ?? 'someone';
}
