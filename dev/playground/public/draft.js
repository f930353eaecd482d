// @ts-check
// Reading the composer's draft as Discord's client does: `/name [subcommand] option: value option: value…`, which
// commands the person may use here, and each typed value converted to what Discord would send.
import { OPTION_TYPES, person, state } from './state.js';

/** @typedef {import('../protocol.js').RegisteredCommand} RegisteredCommand */
/** @typedef {import('../protocol.js').CommandOption} CommandOption */
/** @typedef {{ def: CommandOption; raw: string; start: number }} DraftOption */
/** A subcommand as Discord's picker lists it: `add`, or `channels add` inside a group. @typedef {{ path: string; group: CommandOption | undefined; sub: CommandOption }} Subcommand */
/**
 * @typedef {object} Draft
 * @property {string} name what follows the slash
 * @property {boolean} complete a space follows the name
 * @property {RegisteredCommand | undefined} command
 * @property {string | undefined} subName the subcommand (path) typed so far, when the command has subcommands
 * @property {Subcommand | undefined} sub the subcommand, once its path and a space are typed
 * @property {DraftOption[]} options
 * @property {string} rest the text after the command (and subcommand)
 * @property {number} restStart where `rest` starts in the text
 * @property {CommandOption[] | undefined} defs the options the command (or subcommand) takes
 * @property {string} leading text before the first option name (a value without its name)
 */

/** Discord's Administrator permission: every command shows, whatever it asks for. */
const ADMINISTRATOR = 1n << 3n;

/**
 * May the person use this command here? Discord's default_member_permissions in a server ("0": administrators only),
 * and the DM context.
 * @param {RegisteredCommand} command
 */
export function allowed(command) {
  const needed = command.default_member_permissions;
  if (needed === undefined || needed === null) return true;
  if (state.place === 'dm') return Array.isArray(command.contexts) ? command.contexts.includes(1) : true;
  const has = BigInt(person().permissions);
  const bits = BigInt(needed);
  if ((has & ADMINISTRATOR) !== 0n) return true;
  return bits !== 0n && (has & bits) === bits;
}

/** The slash commands the picker offers here. */
export function slashCommands() {
  return state.commands.filter((c) => (c.type ?? 1) === 1 && allowed(c) && (state.place !== 'dm' || !Array.isArray(c.contexts) || c.contexts.includes(1)));
}

/** A command's subcommands, those in groups included, as paths. @param {RegisteredCommand} command @returns {Subcommand[]} */
export function subcommandsOf(command) {
  /** @type {Subcommand[]} */
  const out = [];
  for (const o of command.options ?? []) {
    if (o.type === OPTION_TYPES.SUB_COMMAND) out.push({ path: o.name, group: undefined, sub: o });
    if (o.type !== OPTION_TYPES.SUB_COMMAND_GROUP) continue;
    for (const s of o.options ?? []) if (s.type === OPTION_TYPES.SUB_COMMAND) out.push({ path: `${o.name} ${s.name}`, group: o, sub: s });
  }
  return out;
}

/** Reads the draft; values run to the next known option name followed by a colon, so prompts may hold spaces. @param {string} text @returns {Draft | null} */
export function parseDraft(text) {
  const head = /^\/(\S*)(\s?)/.exec(text);
  if (!head) return null;
  const name = head[1] ?? '';
  const command = slashCommands().find((c) => c.name === name);
  /** @type {Draft} */
  const draft = { name, complete: head[2] === ' ', command, subName: undefined, sub: undefined, options: [], rest: text.slice(head[0].length), restStart: head[0].length, defs: undefined, leading: '' };
  if (!command || !draft.complete) return draft;
  const subs = subcommandsOf(command);
  let defs = command.options ?? [];
  if (subs.length > 0) {
    // The longest path followed by a space: `channels add ` within a group, `show ` without one.
    const sub = subs.filter((s) => draft.rest.startsWith(`${s.path} `)).sort((a, b) => b.path.length - a.path.length)[0];
    if (!sub) {
      draft.subName = draft.rest;
      return draft;
    }
    draft.subName = sub.path;
    draft.sub = sub;
    draft.restStart += sub.path.length + 1;
    draft.rest = draft.rest.slice(sub.path.length + 1);
    defs = sub.sub.options ?? [];
  }
  draft.defs = defs;
  readOptions(draft, defs);
  return draft;
}

/** Splits the draft's rest at `name:` markers of the options it takes. @param {Draft} draft @param {CommandOption[]} defs */
function readOptions(draft, defs) {
  const names = defs.map((o) => o.name.replace(/[-]/g, '\\-'));
  if (names.length === 0) return;
  const marker = new RegExp(`(^|\\s)(${names.join('|')}):`, 'g');
  const marks = [...draft.rest.matchAll(marker)];
  draft.leading = marks[0] ? draft.rest.slice(0, marks[0].index).trim() : draft.rest.trim();
  marks.forEach((mark, i) => {
    const start = mark.index + mark[0].length;
    const end = marks[i + 1]?.index ?? draft.rest.length;
    const def = defs.find((o) => o.name === mark[2]);
    if (def) draft.options.push({ def, raw: draft.rest.slice(start, end), start: draft.restStart + start });
  });
}

/** Converts a typed value to what Discord would send, or throws a message saying what is wrong. @param {CommandOption} def @param {string} raw @returns {string | number | boolean} */
export function optionValue(def, raw) {
  const text = raw.trim();
  if (def.choices?.length) return choiceValue(def, def.choices, text);
  switch (def.type) {
    case OPTION_TYPES.INTEGER:
    case OPTION_TYPES.NUMBER:
      return numberValue(def, text);
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
    case OPTION_TYPES.CHANNEL: {
      const name = text.replace(/^#/, '').toLowerCase();
      if (name !== state.server.channelName) throw new Error(`${def.name}: pick a channel (#${state.server.channelName})`);
      return state.server.channelId;
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

/** @param {CommandOption} def @param {NonNullable<CommandOption['choices']>} choices @param {string} text */
function choiceValue(def, choices, text) {
  const lower = text.toLowerCase();
  const choice = choices.find((c) => String(c.value).toLowerCase() === lower || c.name.toLowerCase() === lower) ?? choices.find((c) => c.name.toLowerCase().startsWith(lower));
  if (!choice || text === '') throw new Error(`${def.name}: pick one of ${choices.map((c) => c.value).join(', ')}`);
  return choice.value;
}

/** @param {CommandOption} def @param {string} text */
function numberValue(def, text) {
  const n = Number(text);
  const whole = def.type === OPTION_TYPES.INTEGER;
  if (text === '' || !Number.isFinite(n) || (whole && !Number.isInteger(n))) throw new Error(`${def.name} must be a ${whole ? 'whole ' : ''}number`);
  if (def.min_value !== undefined && n < def.min_value) throw new Error(`${def.name} must be at least ${def.min_value}`);
  if (def.max_value !== undefined && n > def.max_value) throw new Error(`${def.name} must be at most ${def.max_value}`);
  return n;
}
